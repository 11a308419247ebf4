// The emulator's Docker Engine API client: the parts that need no daemon (the daemon's own calls
// run in every emulator and e2e test).
import { demultiplex, imageReference } from '../../emulator/run/docker-api.js';

it('splits an image into what /images/create takes; a digest wins over a tag', () => {
  expect(imageReference('127.0.0.1:5000/p/r/app:v1')).toEqual({
    fromImage: '127.0.0.1:5000/p/r/app',
    tag: 'v1',
  });
  expect(imageReference('127.0.0.1:5000/p/r/app')).toEqual({
    fromImage: '127.0.0.1:5000/p/r/app',
    tag: 'latest',
  });
  const digest = `sha256:${'a'.repeat(64)}`;
  expect(imageReference(`127.0.0.1:5000/p/r/app@${digest}`)).toEqual({
    fromImage: '127.0.0.1:5000/p/r/app',
    tag: digest,
  });
  expect(imageReference(`127.0.0.1:5000/p/r/app:v1@${digest}`)).toEqual({
    fromImage: '127.0.0.1:5000/p/r/app',
    tag: digest,
  });
});

it("reads a container's multiplexed output: stdout and stderr frames in order", () => {
  const frame = (stream: number, text: string): Buffer => {
    const body = Buffer.from(text);
    const header = Buffer.alloc(8);
    header[0] = stream;
    header.writeUInt32BE(body.length, 4);
    return Buffer.concat([header, body]);
  };
  expect(demultiplex(Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n'), frame(1, 'more')]))).toBe(
    'out\nerr\nmore',
  );
  expect(demultiplex(Buffer.alloc(0))).toBe('');
});
