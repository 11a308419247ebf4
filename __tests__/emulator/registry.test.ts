// Conformance of the emulated Artifact Registry front: Docker's Basic challenge, oauth2accesstoken
// logins, role checks per push and pull, and the request log.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { admin, env } from '../helpers/emulator.js';
import { accessTokenFor, seedServiceAccount } from '../helpers/auth.js';
import { pushTestImage } from '../helpers/images.js';

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
  it('challenges anonymous clients like a registry does', async () => {
    const res = await fetch(`http://${host()}/v2/`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="Artifact Registry"');
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
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
