// Conformance of the emulated registries: Artifact Registry's Bearer challenge and token endpoint
// (oauth2accesstoken logins), role checks per push and pull, repositories that must exist, expired
// tokens; the Docker-Hub-style public registry and the non-Google private one; the request log.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { admin, env } from '../helpers/emulator.js';
import { accessTokenFor, seedServiceAccount } from '../helpers/auth.js';
import { buildTestImage, pushImageAs, pushTestImage } from '../helpers/images.js';

const exec = promisify(execFile);
const host = (): string => env('RUNWAY_EMULATOR_REPOSITORY').split('/')[0]!;

let reader: string;

const basicFor = (token: string): string =>
  `Basic ${Buffer.from(`oauth2accesstoken:${token}`).toString('base64')}`;

beforeAll(async () => {
  reader = await seedServiceAccount('conf-registry-reader', ['roles/artifactregistry.reader']);
});

afterEach(async () => {
  await admin.clearFaults();
});

describe('Artifact Registry front', () => {
  it('challenges anonymous clients with a Bearer realm, as Artifact Registry does', async () => {
    const res = await fetch(`http://${host()}/v2/`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer realm="http://${host()}/v2/token",service="${host()}"`,
    );
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });

  it('exchanges oauth2accesstoken + an access token for a registry token at the realm', async () => {
    const scope = 'repository:runway-demo/runway/conf-token:pull';
    const res = await fetch(`http://${host()}/v2/token?service=${host()}&scope=${scope}`, {
      headers: { authorization: basicFor(await accessTokenFor()) },
    });
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    const tags = await fetch(`http://${host()}/v2/runway-demo/runway/conf-token/tags/list`, {
      headers: { authorization: `Bearer ${token}` },
    });
    // Authenticated and allowed: the backend answers (nothing pushed under that name yet).
    expect(tags.status).toBe(404);
    expect(((await tags.json()) as { errors: Array<{ code: string }> }).errors[0]?.code).toBe('NAME_UNKNOWN');
    const forged = await fetch(`http://${host()}/v2/token?service=${host()}&scope=${scope}`, {
      headers: { authorization: basicFor('ya29.forged') },
    });
    expect(forged.status).toBe(401);
  });

  it('refuses an expired access token with 401, at the realm and on requests', async () => {
    await admin.seed({ tokenLifetimeSeconds: 1 });
    let token: string;
    try {
      token = await accessTokenFor();
    } finally {
      await admin.seed({ tokenLifetimeSeconds: 3600 });
    }
    await new Promise((r) => setTimeout(r, 1500));
    const realm = await fetch(`http://${host()}/v2/token?service=${host()}`, {
      headers: { authorization: basicFor(token) },
    });
    expect(realm.status).toBe(401);
    const direct = await fetch(`http://${host()}/v2/`, { headers: { authorization: basicFor(token) } });
    expect(direct.status).toBe(401);
  });

  it('refuses a push to a repository that was never created', async () => {
    const res = await fetch(`http://${host()}/v2/runway-demo/never-created/app/blobs/uploads/`, {
      method: 'POST',
      headers: { authorization: basicFor(await accessTokenFor()) },
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      errors: [
        {
          code: 'NAME_UNKNOWN',
          message: 'Repository "never-created" not found in project "runway-demo"',
          detail: null,
        },
      ],
    });
  });

  it('accepts oauth2accesstoken with an emulator access token', async () => {
    const basic = Buffer.from(`oauth2accesstoken:${await accessTokenFor()}`).toString('base64');
    expect(
      (await fetch(`http://${host()}/v2/`, { headers: { authorization: `Basic ${basic}` } })).status,
    ).toBe(200);
    const wrong = Buffer.from('oauth2accesstoken:ya29.forged').toString('base64');
    expect(
      (await fetch(`http://${host()}/v2/`, { headers: { authorization: `Basic ${wrong}` } })).status,
    ).toBe(401);
  });

  it('pushes through docker login and pulls by digest; the log names the caller', async () => {
    const before = (await admin.requests()).length;
    const image = await pushTestImage('conf-registry', 'registry');
    expect(image).toMatch(/@sha256:[a-f0-9]{64}$/);
    const config = mkdtempSync(join(tmpdir(), 'runway-pull-'));
    const envWith = { ...process.env, DOCKER_CONFIG: config };
    const login = exec('docker', ['login', host(), '-u', 'oauth2accesstoken', '--password-stdin'], {
      env: envWith,
    });
    login.child.stdin?.end(await accessTokenFor(reader));
    await login;
    await exec('docker', ['pull', image], { env: envWith });
    const calls = (await admin.requests()).slice(before).filter((r) => r.api === 'registry');
    expect(calls.some((r) => r.method === 'PUT' && r.path.includes('/manifests/') && r.status === 201)).toBe(
      true,
    );
    expect(calls.some((r) => r.caller === `serviceAccount:${env('RUNWAY_EMULATOR_SERVICE_ACCOUNT')}`)).toBe(
      true,
    );
  });

  it('denies a push from an identity without artifactregistry.writer', async () => {
    // A reader may pull; its pushes are denied with Docker's error body.
    const basic = Buffer.from(`oauth2accesstoken:${await accessTokenFor(reader)}`).toString('base64');
    const res = await fetch(`http://${host()}/v2/runway-demo/runway/conf-denied/blobs/uploads/`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}` },
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      errors: [
        {
          code: 'DENIED',
          message:
            'Permission "artifactregistry.repositories.uploadArtifacts" denied on resource "projects/runway-demo/locations/-/repositories/runway" (or it may not exist)',
          detail: null,
        },
      ],
    });
  });

  it('takes the access token as a Bearer credential too', async () => {
    const res = await fetch(`http://${host()}/v2/`, {
      headers: { authorization: `Bearer ${await accessTokenFor()}` },
    });
    expect(res.status).toBe(200);
  });

  it('answers NAME_UNKNOWN for a project that does not exist', async () => {
    const res = await fetch(`http://${host()}/v2/no-such-project/runway/app/tags/list`, {
      headers: { authorization: basicFor(await accessTokenFor()) },
    });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { errors: Array<{ code: string }> }).errors[0]?.code).toBe('NAME_UNKNOWN');
  });

  it('honours a writer binding on the repository in a named location', async () => {
    const token = await accessTokenFor(reader);
    const upload = (repository: string): Promise<Response> =>
      fetch(`http://${host()}/v2/runway-demo/${repository}/conf-app/blobs/uploads/`, {
        method: 'POST',
        headers: { authorization: basicFor(token) },
      });
    expect((await upload('conf-located')).status).toBe(403);
    await admin.seed({
      repositories: [{ project: 'runway-demo', location: 'us-central1', name: 'conf-located' }],
      bindings: [
        {
          resource: 'projects/runway-demo/locations/us-central1/repositories/conf-located',
          role: 'roles/artifactregistry.writer',
          members: [`serviceAccount:${reader}`],
        },
      ],
    });
    const allowed = await upload('conf-located');
    expect(allowed.status).toBe(202);
    // The registry's Location points back at the front: the Host header went through unchanged.
    expect(allowed.headers.get('location')).toContain(`http://${host()}/v2/runway-demo/conf-located/`);
    expect((await upload('runway')).status).toBe(403);
  });

  it('serves a repository readable by allUsers to anonymous tokens, and nothing else', async () => {
    const image = await pushTestImage('conf-public-ar', 'public artifact registry');
    const path = image.replace(/^[^/]+\//, '').replace(/@.*$/, '');
    const digest = image.replace(/^.*@/, '');
    await admin.seed({
      repositories: [{ project: 'runway-demo', location: 'us-central1', name: 'conf-open' }],
      bindings: [
        {
          resource: 'projects/runway-demo/locations/us-central1/repositories/conf-open',
          role: 'roles/artifactregistry.reader',
          members: ['allUsers'],
        },
      ],
    });
    const anonymousToken = async (scope: string): Promise<string> =>
      ((await (await fetch(`http://${host()}/v2/token?scope=${scope}`)).json()) as { token: string }).token;
    // conf-open is public: the manifest list of a name never pushed is the backend's 404, not a 401.
    const open = await fetch(`http://${host()}/v2/runway-demo/conf-open/app/tags/list`, {
      headers: {
        authorization: `Bearer ${await anonymousToken('repository:runway-demo/conf-open/app:pull')}`,
      },
    });
    expect(open.status).toBe(404);
    // The default repository is private: anonymous tokens are challenged again.
    const closed = await fetch(`http://${host()}/v2/${path}/manifests/${digest}`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${await anonymousToken(`repository:${path}:pull`)}` },
    });
    expect(closed.status).toBe(401);
    expect(closed.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
  });

  it('records requests and honours injected faults', async () => {
    await admin.faults([{ api: 'registry', path: '^/v2/$', status: 503, count: 1 }]);
    const headers = { authorization: basicFor(await accessTokenFor()) };
    expect((await fetch(`http://${host()}/v2/`, { headers })).status).toBe(503);
    expect((await fetch(`http://${host()}/v2/`, { headers })).status).toBe(200);
    const calls = (await admin.requests()).filter((r) => r.api === 'registry' && r.path === '/v2/').slice(-2);
    expect(calls.map((r) => r.status)).toEqual([503, 200]);
    expect(calls[1]?.caller).toBe(`serviceAccount:${env('RUNWAY_EMULATOR_SERVICE_ACCOUNT')}`);
  });
});

describe('the other registries', () => {
  const publicHost = (): string => env('RUNWAY_EMULATOR_PUBLIC_REGISTRY');
  const privateHost = (): string => env('RUNWAY_EMULATOR_PRIVATE_REGISTRY');

  it('public: anyone pulls through an anonymous token; pushes need the publisher', async () => {
    const reference = `${publicHost()}/library/conf-public:1`;
    await buildTestImage({ tag: reference, body: 'public' });
    const digest = await pushImageAs(
      reference,
      env('RUNWAY_EMULATOR_PUBLIC_REGISTRY_USER'),
      env('RUNWAY_EMULATOR_PUBLIC_REGISTRY_PASSWORD'),
    );
    const manifest = `http://${publicHost()}/v2/library/conf-public/manifests/1`;
    const first = await fetch(manifest, { method: 'HEAD' });
    expect(first.status).toBe(401);
    const challenge = first.headers.get('www-authenticate') ?? '';
    expect(challenge).toContain(`realm="http://${publicHost()}/token"`);
    expect(challenge).toContain('scope="repository:library/conf-public:pull"');
    const anonymous = (await (
      await fetch(
        `http://${publicHost()}/token?service=${publicHost()}&scope=repository:library/conf-public:pull,push`,
      )
    ).json()) as { token: string };
    const head = await fetch(manifest, {
      method: 'HEAD',
      headers: {
        authorization: `Bearer ${anonymous.token}`,
        accept: 'application/vnd.docker.distribution.manifest.v2+json',
      },
    });
    expect(head.status).toBe(200);
    expect(head.headers.get('docker-content-digest')).toBe(digest);
    // The anonymous token carries pull only.
    const upload = await fetch(`http://${publicHost()}/v2/library/conf-public/blobs/uploads/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${anonymous.token}` },
    });
    expect(upload.status).toBe(401);
  });

  it('private: nothing without its own credentials; Google tokens are not its credentials', async () => {
    const tokenUrl = `http://${privateHost()}/token?service=${privateHost()}&scope=repository:team/app:pull`;
    const anonymous = (await (await fetch(tokenUrl)).json()) as { token: string };
    const res = await fetch(`http://${privateHost()}/v2/team/app/tags/list`, {
      headers: { authorization: `Bearer ${anonymous.token}` },
    });
    expect(res.status).toBe(401);
    const google = await fetch(tokenUrl, { headers: { authorization: basicFor(await accessTokenFor()) } });
    expect(google.status).toBe(401);
    // The log says a Google token reached this registry: what e2e tests check never happens.
    const calls = (await admin.requests()).filter((r) => r.api === 'registry-private');
    expect(calls.at(-1)?.googleToken).toBe(true);
    expect(calls.at(-2)?.googleToken).toBe(false);
  });
});
