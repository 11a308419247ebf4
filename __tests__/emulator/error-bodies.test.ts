// Google's error bodies as the emulator writes them, and which refusal a request gets when it has
// more than one thing wrong: google.rpc.Status as proto3 JSON (no empty `details`), the ErrorInfo
// of a 401, and the order Google's front end checks in (credentials, then the body, then IAM).
// In-process: no Docker, no global emulator.
import { InProcessCloudRun } from '../../emulator/inprocess.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const PROJECT = 'runway-demo';
const SERVICES = `v2/projects/${PROJECT}/locations/us-central1/services`;
/** A create whose body has a misspelt field: 400 when it is the only thing wrong. */
const BAD_BODY = { template: { containers: [{ image: 'img/a', imagee: 'x' }] } };

async function call(
  emu: InProcessCloudRun,
  method: string,
  path: string,
  body: unknown,
  authorization: string | undefined,
): Promise<{ status: number; body: Json }> {
  const res = await emu.fetch(`${emu.urls.run}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

describe('Google error bodies', () => {
  let emu: InProcessCloudRun;
  beforeEach(async () => {
    emu = await InProcessCloudRun.create({ startupTimeoutSeconds: 1 });
  });
  afterEach(() => emu.close());

  it('writes an error with no details without a details field, as proto3 JSON does', async () => {
    const missing = await call(
      emu,
      'GET',
      `${SERVICES}/nothing-here`,
      undefined,
      `Bearer ${emu.accessToken()}`,
    );
    expect(missing.status).toBe(404);
    expect(Object.keys(missing.body.error).sort()).toEqual(['code', 'message', 'status']);
  });

  it('answers a request without credentials 401 CREDENTIALS_MISSING before it reads a bad body', async () => {
    const res = await call(emu, 'POST', `${SERVICES}?serviceId=nocreds`, BAD_BODY, undefined);
    expect(res).toEqual({
      status: 401,
      body: {
        error: {
          code: 401,
          message:
            'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
          status: 'UNAUTHENTICATED',
          details: [
            {
              '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
              reason: 'CREDENTIALS_MISSING',
              domain: 'googleapis.com',
              metadata: {
                method: 'google.cloud.run.v2.Services.CreateService',
                service: 'run.googleapis.com',
              },
            },
          ],
        },
      },
    });
  });

  it('answers a token it did not issue 401 ACCESS_TOKEN_TYPE_UNSUPPORTED before it reads a bad body', async () => {
    const res = await call(emu, 'POST', `${SERVICES}?serviceId=badtoken`, BAD_BODY, 'Bearer not-a-token');
    expect(res.status).toBe(401);
    expect(res.body.error.status).toBe('UNAUTHENTICATED');
    expect(res.body.error.details).toEqual([
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'ACCESS_TOKEN_TYPE_UNSUPPORTED',
        metadata: { method: 'google.cloud.run.v2.Services.CreateService', service: 'run.googleapis.com' },
      },
    ]);
  });

  it('answers 401 before a body that is not even JSON', async () => {
    const res = await emu.fetch(`${emu.urls.run}${SERVICES}?serviceId=garbage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(res.status).toBe(401);
  });

  it('answers a caller without the permission 400 for a bad body: the body is parsed before IAM is asked', async () => {
    emu.world.removeBinding(`projects/${PROJECT}`, 'roles/run.admin', [
      'serviceAccount:deployer@runway-demo.iam.gserviceaccount.com',
    ]);
    const token = `Bearer ${emu.accessToken()}`;
    const bad = await call(emu, 'POST', `${SERVICES}?serviceId=noperm`, BAD_BODY, token);
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].fieldViolations[0].field).toBe('service.template.containers[0]');
    const good = await call(
      emu,
      'POST',
      `${SERVICES}?serviceId=noperm`,
      { template: { containers: [{ image: 'img/a' }] } },
      token,
    );
    expect(good.status).toBe(403);
  });
});

// gcloud's generated messages type these fields as strings; the APIs' protos say they are a
// google.protobuf.Duration and Timestamp, which Google's front end parses and refuses when malformed.
describe('timestamps and durations of APIs described by gcloud’s messages', () => {
  let emu: InProcessCloudRun;
  beforeEach(async () => {
    emu = await InProcessCloudRun.create({ startupTimeoutSeconds: 1 });
  });
  afterEach(() => emu.close());

  const post = async (url: string, body: unknown): Promise<{ status: number; body: Json }> => {
    const res = await emu.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${emu.accessToken()}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };

  it('refuses an IAM Credentials lifetime that is not a duration, in the front end’s words', async () => {
    const url = `${emu.urls.iamcredentials}v1/projects/-/serviceAccounts/runtime@${PROJECT}.iam.gserviceaccount.com:generateAccessToken`;
    const res = await post(url, {
      scope: ['https://www.googleapis.com/auth/cloud-platform'],
      lifetime: '3600',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].fieldViolations).toEqual([
      {
        field: 'lifetime',
        description:
          "Invalid value at 'lifetime' (type.googleapis.com/google.protobuf.Duration), Field 'lifetime', Illegal duration format; duration must end with 's'",
      },
    ]);
  });

  it('refuses a secret whose expireTime is not RFC 3339', async () => {
    const url = `${emu.urls.secretmanager}v1/projects/${PROJECT}/secrets?secretId=expiring`;
    const res = await post(url, { replication: { automatic: {} }, expireTime: '2030-01-01 00:00:00' });
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].fieldViolations).toEqual([
      {
        field: 'secret.expireTime',
        description:
          "Invalid value at 'secret.expireTime' (type.googleapis.com/google.protobuf.Timestamp), Field 'expireTime', Illegal timestamp format; timestamps must end with 'Z' or have a valid timezone offset.",
      },
    ]);
    const fine = await post(url, { replication: { automatic: {} }, expireTime: '2030-01-01T00:00:00Z' });
    // Well-formed, it passes the schema and reaches IAM: the deployer may not manage secrets.
    expect(fine.status).toBe(403);
  });
});
