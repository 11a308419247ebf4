// The job's OIDC token request: bounded attempts that time out, retries of server errors and
// silence with backoff, no retry of a refusal, and messages that name GitHub's endpoint.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { requestOidcToken } from '../../src/auth/oidc.js';

/** A token endpoint answering `answers` in turn (the last from then on); 'hang' never answers. */
async function endpoint(answers: Array<number | 'hang'>) {
  const seen: Array<{ url: string; authorization: string | undefined }> = [];
  const server = http.createServer((req, res) => {
    const answer = answers[Math.min(seen.length, answers.length - 1)]!;
    seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
    if (answer === 'hang') return;
    res.writeHead(answer, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer === 200 ? { value: 'jwt.token.value' } : { message: 'GitHub is down' }));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/_apis/actions/idtoken?api-version=2.0`;
  const close = (): Promise<void> =>
    new Promise((done) => {
      server.closeAllConnections();
      server.close(() => done());
    });
  return { url, seen, close };
}

const fast = { retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 2 }, timeoutMs: 300 };

describe('the OIDC token request', () => {
  it('asks for the audience with the request token, and retries a 503', async () => {
    const e = await endpoint([503, 200]);
    try {
      await expect(
        requestOidcToken(e.url, 'request-token', 'https://iam.googleapis.com/x', fast),
      ).resolves.toBe('jwt.token.value');
      expect(e.seen).toHaveLength(2);
      expect(e.seen[1]).toEqual({
        url: '/_apis/actions/idtoken?api-version=2.0&audience=https%3A%2F%2Fiam.googleapis.com%2Fx',
        authorization: 'Bearer request-token',
      });
    } finally {
      await e.close();
    }
  });

  it('gives up on server errors after its attempts, naming the endpoint and the status', async () => {
    const e = await endpoint([500]);
    try {
      await expect(requestOidcToken(e.url, 't', 'a', fast)).rejects.toThrow(
        "GitHub's OIDC token endpoint failed 3 attempts, the last with HTTP 500: GitHub is down",
      );
      expect(e.seen).toHaveLength(3);
    } finally {
      await e.close();
    }
  });

  it('times out an endpoint that does not answer, and tries again', async () => {
    const e = await endpoint(['hang', 200]);
    try {
      await expect(requestOidcToken(e.url, 't', 'a', fast)).resolves.toBe('jwt.token.value');
      expect(e.seen).toHaveLength(2);
    } finally {
      await e.close();
    }
  });

  it('says so when the endpoint never answers', async () => {
    const e = await endpoint(['hang']);
    try {
      await expect(requestOidcToken(e.url, 't', 'a', fast)).rejects.toThrow(
        /GitHub's OIDC token endpoint timed out: no answer within .* 3 times/,
      );
      expect(e.seen).toHaveLength(3);
    } finally {
      await e.close();
    }
  });

  it('does not retry a refused request token, and names the permission', async () => {
    const e = await endpoint([403]);
    try {
      await expect(requestOidcToken(e.url, 't', 'a', fast)).rejects.toMatchObject({
        message: "GitHub's OIDC token endpoint refused the job's request token: HTTP 403: GitHub is down.",
        fix: expect.stringContaining('id-token: write'),
      });
      expect(e.seen).toHaveLength(1);
    } finally {
      await e.close();
    }
  });
});
