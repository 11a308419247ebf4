// The health probe carries a Google ID token for the service, so it may only ever go to the
// service's (or its tag's) own origin (issue 18, finding 6). `health_check_path: //other-host:port/x`
// or `/\other-host` resolves to another host: the input is refused, and the probe itself asserts
// the origin before it sends anything, failing closed when it cannot. "Another host" here is a
// second real server on loopback, which must see no request at all.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Deadline } from '../../src/common/deadline.js';
import { HealthCheckFailed, probeOnce, waitHealthy, type HealthCheck } from '../../src/common/health.js';
import { InputError } from '../../src/errors.js';
import { readSettings } from '../../src/inputs/inputs.js';

interface Host {
  url: string;
  authorizations: Array<string | undefined>;
  close: () => Promise<void>;
}

async function host(): Promise<Host> {
  const authorizations: Host['authorizations'] = [];
  const server = http.createServer((req, res) => {
    authorizations.push(req.headers.authorization);
    res.writeHead(200).end('ok');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    authorizations,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

const check = (path: string): HealthCheck => ({
  path,
  expectedStatus: [[200, 299]],
  bodyPattern: undefined,
  timeoutSeconds: 5,
  successes: 1,
  intervalMs: 100,
});

let service: Host;
let other: Host;

beforeEach(async () => {
  service = await host();
  other = await host();
});

afterEach(async () => {
  await service.close();
  await other.close();
});

const otherHostPaths = (): string[] => {
  const authority = other.url.slice('http://'.length);
  return [
    `//${authority}/steal`,
    `/\\${authority}/steal`,
    `/\t/${authority}/steal`,
    `\\\\${authority}/steal`,
  ];
};

describe('the health probe sends its ID token only to the service', () => {
  it('refuses a path that leads to another host, sending nothing there', async () => {
    for (const path of otherHostPaths()) {
      await expect(probeOnce(service.url, check(path), 'id-token-for-the-service')).rejects.toBeInstanceOf(
        HealthCheckFailed,
      );
    }
    expect(other.authorizations).toEqual([]);
    expect(service.authorizations).toEqual([]);
  });

  it('fails the health check at once, closed, rather than probing until it times out', async () => {
    const path = otherHostPaths()[0]!;
    await expect(
      waitHealthy(service.url, check(path), 'id-token', () => undefined, Deadline.in(30)),
    ).rejects.toThrow(/not to the service at http:\/\/127\.0\.0\.1/);
    expect(other.authorizations).toEqual([]);
  });

  it('fails closed when the service URL is missing or not an http(s) URL', async () => {
    for (const base of ['', 'not a url', 'file:///etc']) {
      await expect(probeOnce(base, check('/healthz'), 'id-token')).rejects.toBeInstanceOf(HealthCheckFailed);
    }
  });

  it("still probes the service's own paths, with the token", async () => {
    for (const path of ['/', '/healthz', '/a/..//b', '/status?verbose=1']) {
      expect((await probeOnce(service.url, check(path), 'id-token')).ok).toBe(true);
    }
    expect(service.authorizations).toEqual(Array(4).fill('Bearer id-token'));
  });
});

describe('health_check_path must be a path on the service', () => {
  it.each([
    '//other-host:8443/x',
    '/\\other-host/x',
    '/\t/other-host/x',
    '/\n/other-host/x',
    'https://other-host/x',
    '/ok path',
  ])('refuses %j, naming the input', (path) => {
    let error: unknown;
    try {
      readSettings(
        (name) =>
          ({ service: 'hello', image: 'us-docker.pkg.dev/p/r/app:1', health_check_path: path })[name] ?? '',
      );
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).input).toBe('health_check_path');
  });

  it.each(['/', '/healthz', '/api/v1/health?deep=true', '/%2F%2Fescaped'])('accepts %j', (path) => {
    const s = readSettings(
      (name) =>
        ({ service: 'hello', image: 'us-docker.pkg.dev/p/r/app:1', health_check_path: path })[name] ?? '',
    );
    expect(s.healthCheck.path).toBe(path);
  });
});
