// A registry's bearer token is minted for that registry: it goes only to the origin it was minted
// for. The registry's own answers name URLs (an upload's `Location`, a redirect), and an answer
// can name another host; that host must then see no credential at all. Two real servers on
// loopback: the registry, and the "other host" that records what reaches it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { provePushAccess, RepositoryClient } from '../../src/image/registry.js';

interface Server {
  host: string;
  url: string;
  seen: Array<{ method: string; path: string; authorization: string | undefined }>;
  close: () => Promise<void>;
}

async function serve(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<Server> {
  const seen: Server['seen'] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization });
    handler(req, res);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    url: `http://${host}`,
    seen,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

const TOKEN = 'registry-bearer-token';
let other: Server;
let registry: Server;
/** Where the registry points an upload or a redirect: set per test. */
let elsewhere = '';

beforeEach(async () => {
  other = await serve((_req, res) => res.writeHead(202).end());
  registry = await serve((req, res) => {
    if (req.url?.startsWith('/token')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: TOKEN }));
    } else if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="${registry.url}/token",service="${registry.host}"`,
        })
        .end();
    } else if (req.method === 'POST' && req.url?.endsWith('/blobs/uploads/')) {
      res.writeHead(202, { location: `${elsewhere}/upload/1` }).end();
    } else if (req.url?.includes('/manifests/')) {
      res.writeHead(307, { location: `${elsewhere}/manifest` }).end();
    } else {
      res.writeHead(404).end();
    }
  });
  process.env.RUNWAY_GOOGLE_REGISTRIES = registry.host;
});

afterEach(async () => {
  delete process.env.RUNWAY_GOOGLE_REGISTRIES;
  await registry.close();
  await other.close();
});

const image = () => ({ host: registry.host, path: 'proj/repo/app', tag: 'v1', digest: undefined });
const accessToken = () => Promise.resolve('google-access-token');

describe('a registry credential goes only to the host it was minted for', () => {
  it('an upload Location on another host gets no Authorization header', async () => {
    elsewhere = other.url;
    await provePushAccess(image(), accessToken, 'deployer@p.iam.gserviceaccount.com');
    // The registry itself got the bearer: the proof really ran with credentials.
    expect(registry.seen.some((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(other.seen.map((r) => r.method)).toEqual(['DELETE']);
    expect(other.seen.map((r) => r.authorization)).toEqual(other.seen.map(() => undefined));
  });

  it('an upload Location on the same registry still gets the bearer (the upload is cancelled there)', async () => {
    elsewhere = registry.url;
    await provePushAccess(image(), accessToken, 'deployer@p.iam.gserviceaccount.com');
    expect(registry.seen).toContainEqual({
      method: 'DELETE',
      path: '/upload/1',
      authorization: `Bearer ${TOKEN}`,
    });
  });

  it('a redirect to another host carries no credential', async () => {
    elsewhere = other.url;
    const client = new RepositoryClient(image(), { kind: 'google', accessToken }, 'pull');
    await client.send('GET', `${registry.url}/v2/proj/repo/app/manifests/v1`).catch(() => undefined);
    expect(other.seen.length).toBeGreaterThan(0);
    expect(other.seen.map((r) => r.authorization)).toEqual(other.seen.map(() => undefined));
  });
});
