// Conformance of the emulated Secret Manager with api-facts §7.
import { admin, env } from '../helpers/emulator.js';
import { accessTokenFor, seedServiceAccount } from '../helpers/auth.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const project = (): string => env('RUNWAY_EMULATOR_PROJECT');
const number = (): string => env('RUNWAY_EMULATOR_PROJECT_NUMBER');

let reader: string;
let viewer: string;

/** GET as `serviceAccount`, by default one with roles/secretmanager.viewer (metadata, no payloads). */
async function get(path: string, serviceAccount: string = viewer): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER')}v1/${path}`, {
    headers: { authorization: `Bearer ${await accessTokenFor(serviceAccount)}` },
  });
  return { status: res.status, body: (await res.json()) as Json };
}

beforeAll(async () => {
  reader = await seedServiceAccount('conf-secret-reader', ['roles/secretmanager.secretAccessor']);
  viewer = await seedServiceAccount('conf-secret-viewer', ['roles/secretmanager.viewer']);
  await admin.seed({
    secrets: [
      {
        project: project(),
        name: 'conf-db',
        versions: [
          { data: 'one' },
          { data: 'two', state: 'DISABLED' },
          { data: 'three', state: 'DESTROYED' },
        ],
      },
    ],
  });
});

describe('Secret Manager', () => {
  it('returns version metadata with the project number in names; latest is the newest whatever its state', async () => {
    const v1 = await get(`projects/${project()}/secrets/conf-db/versions/1`);
    expect(v1.status).toBe(200);
    expect(v1.body).toMatchObject({
      name: `projects/${number()}/secrets/conf-db/versions/1`,
      state: 'ENABLED',
    });
    expect(v1.body.destroyTime).toBeUndefined();
    const latest = await get(`projects/${project()}/secrets/conf-db/versions/latest`);
    expect(latest.body).toMatchObject({
      name: `projects/${number()}/secrets/conf-db/versions/3`,
      state: 'DESTROYED',
    });
    expect(latest.body.destroyTime).toEqual(expect.any(String));
    const list = await get(`projects/${project()}/secrets/conf-db/versions`);
    expect(list.body.versions.map((v: Json) => v.state)).toEqual(['DESTROYED', 'DISABLED', 'ENABLED']);
  });

  it('accesses an enabled version (base64 payload with CRC32C); refuses disabled and destroyed ones', async () => {
    const access = await get(`projects/${project()}/secrets/conf-db/versions/1:access`, reader);
    expect(access.status).toBe(200);
    expect(Buffer.from(access.body.payload.data, 'base64').toString()).toBe('one');
    expect(access.body.payload.dataCrc32c).toMatch(/^\d+$/);
    const disabled = await get(`projects/${project()}/secrets/conf-db/versions/2:access`, reader);
    expect(disabled.body.error).toMatchObject({
      code: 400,
      status: 'FAILED_PRECONDITION',
      message: `Secret Version [projects/${number()}/secrets/conf-db/versions/2] is in DISABLED state.`,
    });
    const destroyed = await get(`projects/${project()}/secrets/conf-db/versions/3:access`, reader);
    expect(destroyed.body.error.message).toBe(
      `Secret Version [projects/${number()}/secrets/conf-db/versions/3] is in DESTROYED state.`,
    );
  });

  it('answers 404 for missing secrets and versions', async () => {
    expect((await get(`projects/${project()}/secrets/conf-nope/versions/latest`)).body.error).toMatchObject({
      code: 404,
      status: 'NOT_FOUND',
    });
    expect((await get(`projects/${project()}/secrets/conf-db/versions/9`)).body.error.message).toBe(
      `Secret Version [projects/${number()}/secrets/conf-db/versions/9] not found.`,
    );
  });

  it('checks permission before existence, with ErrorInfo', async () => {
    // The viewer may read metadata but not payloads (no secretAccessor).
    for (const secret of ['conf-db', 'conf-nope']) {
      const denied = await get(`projects/${project()}/secrets/${secret}/versions/1:access`);
      expect(denied.status).toBe(403);
      expect(denied.body.error.message).toBe(
        `Permission 'secretmanager.versions.access' denied for resource 'projects/${project()}/secrets/${secret}/versions/1' (or it may not exist).`,
      );
      expect(denied.body.error.details[0]).toMatchObject({
        reason: 'IAM_PERMISSION_DENIED',
        metadata: { permission: 'secretmanager.versions.access' },
      });
    }
  });

  it('denies the default deployer version metadata: roles/run.admin does not include secretmanager.versions.get', async () => {
    const denied = await get(
      `projects/${project()}/secrets/greeting/versions/latest`,
      env('RUNWAY_EMULATOR_SERVICE_ACCOUNT'),
    );
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({
      status: 'PERMISSION_DENIED',
      details: [
        expect.objectContaining({
          metadata: expect.objectContaining({ permission: 'secretmanager.versions.get' }),
        }),
      ],
    });
  });

  it('keeps the location in names of the regional form', async () => {
    const v = await get(`projects/${project()}/locations/us-central1/secrets/conf-db/versions/1`);
    expect(v.body.name).toBe(`projects/${number()}/locations/us-central1/secrets/conf-db/versions/1`);
  });

  it('reads a secret and pages through its versions, newest first', async () => {
    const secret = await get(`projects/${project()}/secrets/conf-db`);
    expect(secret.body.name).toBe(`projects/${number()}/secrets/conf-db`);
    const first = await get(`projects/${project()}/secrets/conf-db/versions?pageSize=2`);
    expect(first.body.versions.map((v: Json) => v.name.split('/').pop())).toEqual(['3', '2']);
    const rest = await get(
      `projects/${project()}/secrets/conf-db/versions?pageSize=2&pageToken=${first.body.nextPageToken}`,
    );
    expect(rest.body.versions.map((v: Json) => v.name.split('/').pop())).toEqual(['1']);
    expect(rest.body.nextPageToken).toBeUndefined();
  });

  it('answers a project number like its ID', async () => {
    const v = await get(`projects/${number()}/secrets/conf-db/versions/1:access`, reader);
    expect(Buffer.from(v.body.payload.data, 'base64').toString()).toBe('one');
  });

  it('asks for credentials first', async () => {
    const res = await fetch(
      `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER')}v1/projects/${project()}/secrets/conf-db/versions/1`,
    );
    expect(res.status).toBe(401);
    expect(((await res.json()) as Json).error.status).toBe('UNAUTHENTICATED');
  });
});

describe('Secret Manager writes (what gcloud secrets sends)', () => {
  let secretAdmin: string;

  /** A call as `serviceAccount` (an account with roles/secretmanager.admin by default). */
  async function call(
    method: string,
    path: string,
    body?: unknown,
    serviceAccount: string = secretAdmin,
  ): Promise<{ status: number; body: Json }> {
    const res = await fetch(`${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER')}v1/${path}`, {
      method,
      headers: {
        authorization: `Bearer ${await accessTokenFor(serviceAccount)}`,
        'content-type': 'application/json',
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Json };
  }
  const secrets = (): string => `projects/${project()}/secrets`;
  const payload = (text: string, crc?: string): unknown => ({
    payload: { data: Buffer.from(text).toString('base64'), ...(crc ? { dataCrc32c: crc } : {}) },
  });

  beforeAll(async () => {
    secretAdmin = await seedServiceAccount('conf-secret-admin', ['roles/secretmanager.admin']);
  });

  it('creates a secret once, adds versions checked against their CRC32C, and lists it', async () => {
    const created = await call('POST', `${secrets()}?secretId=conf-w`, { replication: { automatic: {} } });
    expect(created.body).toMatchObject({
      name: `projects/${number()}/secrets/conf-w`,
      replication: { automatic: {} },
    });
    const again = await call('POST', `${secrets()}?secretId=conf-w`, { replication: { automatic: {} } });
    expect(again.status).toBe(409);
    expect(again.body.error.status).toBe('ALREADY_EXISTS');
    const noReplication = await call('POST', `${secrets()}?secretId=conf-w2`, {});
    expect(noReplication.status).toBe(400);

    // CRC32C of "s3cret" is 2552768472 (what gcloud sent for it).
    const v1 = await call('POST', `${secrets()}/conf-w:addVersion`, payload('s3cret', '2552768472'));
    expect(v1.body).toMatchObject({ state: 'ENABLED', clientSpecifiedPayloadChecksum: true });
    const corrupt = await call('POST', `${secrets()}/conf-w:addVersion`, payload('s3cret', '1'));
    expect(corrupt.status).toBe(400);
    const listed = await call('GET', secrets());
    expect(listed.body.secrets.map((s: Json) => s.name)).toContain(`projects/${number()}/secrets/conf-w`);
    const denied = await call(
      'POST',
      `${secrets()}?secretId=conf-w3`,
      { replication: { automatic: {} } },
      viewer,
    );
    expect(denied.status).toBe(403);
  });

  it('disables, enables and destroys versions; a destroyed one cannot come back or be read', async () => {
    await call('POST', `${secrets()}?secretId=conf-states`, { replication: { automatic: {} } });
    await call('POST', `${secrets()}/conf-states:addVersion`, payload('gone soon'));
    expect((await call('POST', `${secrets()}/conf-states/versions/1:disable`, {})).body.state).toBe(
      'DISABLED',
    );
    expect((await call('POST', `${secrets()}/conf-states/versions/1:enable`, {})).body.state).toBe('ENABLED');
    const destroyed = await call('POST', `${secrets()}/conf-states/versions/1:destroy`, {});
    expect(destroyed.body).toMatchObject({ state: 'DESTROYED', destroyTime: expect.any(String) });
    const revived = await call('POST', `${secrets()}/conf-states/versions/1:enable`, {});
    expect(revived.status).toBe(400);
    expect(revived.body.error.status).toBe('FAILED_PRECONDITION');
    expect((await call('GET', `${secrets()}/conf-states/versions/1:access`)).status).toBe(400);
  });

  it('keeps an IAM policy on the secret that grants access to it, with a read-modify-write etag', async () => {
    await call('POST', `${secrets()}?secretId=conf-policy`, { replication: { automatic: {} } });
    await call('POST', `${secrets()}/conf-policy:addVersion`, payload('shared'));
    const outsider = await seedServiceAccount('conf-secret-outsider', []);
    expect(
      (await call('GET', `${secrets()}/conf-policy/versions/1:access`, undefined, outsider)).status,
    ).toBe(403);
    const read = await call('GET', `${secrets()}/conf-policy:getIamPolicy`);
    const binding = { role: 'roles/secretmanager.secretAccessor', members: [`serviceAccount:${outsider}`] };
    const set = await call('POST', `${secrets()}/conf-policy:setIamPolicy`, {
      policy: { bindings: [binding], etag: read.body.etag },
    });
    expect(set.body.bindings).toEqual([binding]);
    expect(
      (await call('GET', `${secrets()}/conf-policy/versions/1:access`, undefined, outsider)).status,
    ).toBe(200);
    const stale = await call('POST', `${secrets()}/conf-policy:setIamPolicy`, {
      policy: { bindings: [], etag: read.body.etag },
    });
    expect(stale.status).toBe(409);
    // Deleting the secret deletes its policy: a new secret of the same name starts without it.
    expect((await call('DELETE', `${secrets()}/conf-policy`)).status).toBe(200);
    expect((await call('GET', `${secrets()}/conf-policy`)).status).toBe(404);
    await call('POST', `${secrets()}?secretId=conf-policy`, { replication: { automatic: {} } });
    expect((await call('GET', `${secrets()}/conf-policy:getIamPolicy`)).body.bindings).toBeUndefined();
  });

  it("lets roles/secretmanager.viewer read a secret's policy (what Runway's preflight reads); the accessor may not, and basic Editor never reads payloads", async () => {
    await call('POST', `${secrets()}?secretId=conf-seen`, { replication: { automatic: {} } });
    const binding = { role: 'roles/secretmanager.secretAccessor', members: [`serviceAccount:${reader}`] };
    await call('POST', `${secrets()}/conf-seen:setIamPolicy`, { policy: { bindings: [binding] } });
    // Runway asks for version 3, so conditional bindings would come back as they are.
    const seen = await call(
      'GET',
      `${secrets()}/conf-seen:getIamPolicy?options.requestedPolicyVersion=3`,
      undefined,
      viewer,
    );
    expect(seen.status).toBe(200);
    expect(seen.body.bindings).toEqual([binding]);
    const unseen = await call('GET', `${secrets()}/conf-seen:getIamPolicy`, undefined, reader);
    expect(unseen.status).toBe(403);
    expect(unseen.body.error.details[0].metadata.permission).toBe('secretmanager.secrets.getIamPolicy');
    const editor = await seedServiceAccount('conf-secret-editor', ['roles/editor']);
    await call('POST', `${secrets()}/conf-seen:addVersion`, payload('kept from editors'));
    expect((await call('GET', `${secrets()}/conf-seen/versions/1`, undefined, editor)).status).toBe(200);
    // Basic Editor holds no secretmanager.versions.access: it sees versions, never their payloads.
    expect((await call('GET', `${secrets()}/conf-seen/versions/1:access`, undefined, editor)).status).toBe(
      403,
    );
  });
});
