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

beforeAll(async () => {
  reader = await seedServiceAccount('conf-registry-reader', ['roles/artifactregistry.reader']);
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
});
