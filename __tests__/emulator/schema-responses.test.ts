// The emulator's answers measured against Google's schemas (issue 17): every emulated method of
// Cloud Run v2 (services, revisions, operations, IAM), the Knative v1 reads gcloud makes, Secret
// Manager and IAM Credentials, each answer checked over HTTP by responseProblems against the
// method's response message: no field the schema lacks, nothing proto3 JSON would write otherwise.
// On top of the schema: the output-only fields Google always returns, and writable fields a client
// set coming back on GET.
import { accessTokenFor, federatedToken, seedServiceAccount } from '../helpers/auth.js';
import { env } from '../helpers/emulator.js';
import { pushTestImage } from '../helpers/images.js';
import { responseProblems } from '../../emulator/schema/render.js';
import { schemaOf } from '../../emulator/schema/schema.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type SchemaName = Parameters<typeof schemaOf>[0];

const project = (): string => env('RUNWAY_EMULATOR_PROJECT');
const run = (): string =>
  `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/projects/${project()}/locations/us-central1`;
const RUN = 'google.cloud.run.v2.';
const OPS = 'google.longrunning.Operations.';

/** Output-only fields Cloud Run v2 returns on every service and revision once it exists. */
const ALWAYS: Record<string, string[]> = {
  'google.cloud.run.v2.Service': [
    'name', 'uid', 'generation', 'createTime', 'updateTime', 'creator', 'lastModifier', 'ingress',
    'launchStage', 'template', 'traffic', 'observedGeneration', 'terminalCondition', 'conditions',
    'latestReadyRevision', 'latestCreatedRevision', 'trafficStatuses', 'uri', 'urls', 'etag',
  ],
  'google.cloud.run.v2.Revision': [
    'name', 'uid', 'generation', 'createTime', 'updateTime', 'launchStage', 'service', 'containers',
    'conditions', 'observedGeneration', 'logUri', 'etag',
  ],
}; // prettier-ignore

let token: string;
let secretAdmin: string;
let image: string;

async function call(
  method: string,
  url: string,
  body?: unknown,
  as = token,
): Promise<{ status: number; body: Json }> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${as}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
}

/** The answer, after checking it is a 200 that conforms to `method`'s response in `api`. */
async function conforming(
  api: SchemaName,
  method: string,
  request: [string, string, unknown?, string?],
): Promise<Json> {
  const { status, body } = await call(...request);
  expect({ method, status, body: status === 200 ? 'ok' : body }).toEqual({ method, status: 200, body: 'ok' });
  expect({ method, problems: responseProblems(schemaOf(api), method, body) }).toEqual({
    method,
    problems: [],
  });
  return body;
}

function always(message: string, body: Json): void {
  expect({ message, missing: ALWAYS[message]!.filter((f) => !(f in body)) }).toEqual({
    message,
    missing: [],
  });
}

async function done(op: Json): Promise<Json> {
  const finished = await conforming('run-v2', `${OPS}WaitOperation`, [
    'POST',
    `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/${op.name}:wait`,
    { timeout: '60s' },
  ]);
  expect(finished.done).toBe(true);
  expect(finished.error).toBeUndefined();
  return finished;
}

beforeAll(async () => {
  [token, secretAdmin, image] = await Promise.all([
    accessTokenFor(),
    seedServiceAccount('resp-secret-admin', ['roles/secretmanager.admin']).then((a) => accessTokenFor(a)),
    pushTestImage('resp-schema', 'responses'),
  ]);
});

describe('Cloud Run v2', () => {
  it('answers every service, revision, operation and IAM method as its response message', async () => {
    const svc = `${run()}/services/resp-schema`;
    // Writable fields Runway does not send, which must still come back as they were set.
    const extra = {
      description: 'written by a client',
      client: 'conformance',
      clientVersion: '1.2.3',
      customAudiences: ['https://audience.example'],
      template: {
        sessionAffinity: true,
        timeout: '120s',
        containers: [{ image, workingDir: '/srv', env: [{ name: 'A', value: '1' }] }],
      },
    };
    const created = await conforming('run-v2', `${RUN}Services.CreateService`, [
      'POST',
      `${run()}/services?serviceId=resp-schema`,
      { invokerIamDisabled: true, ...extra },
    ]);
    expect(created.done).toBeUndefined();
    const service = (await done(created)).response as Json;
    always('google.cloud.run.v2.Service', service);

    const got = await conforming('run-v2', `${RUN}Services.GetService`, ['GET', svc]);
    always('google.cloud.run.v2.Service', got);
    expect(got).toMatchObject({
      ...extra,
      template: { ...extra.template, containers: [{ workingDir: '/srv' }] },
    });
    expect(got.reconciling).toBeUndefined();
    await conforming('run-v2', `${RUN}Services.ListServices`, ['GET', `${run()}/services`]);

    const updated = await conforming('run-v2', `${RUN}Services.UpdateService`, [
      'PATCH',
      svc,
      {
        ...got,
        labels: { round: 'two' },
        template: { ...got.template, revision: '', labels: { round: 'two' } },
      },
    ]);
    await done(updated);

    const revisions = await conforming('run-v2', `${RUN}Revisions.ListRevisions`, [
      'GET',
      `${svc}/revisions`,
    ]);
    expect(revisions.revisions).toHaveLength(2);
    for (const revision of revisions.revisions as Json[]) always('google.cloud.run.v2.Revision', revision);
    // The first revision, which serves nothing once the second is latest.
    const first = got.latestReadyRevision as string;
    const revision = await conforming('run-v2', `${RUN}Revisions.GetRevision`, [
      'GET',
      `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/${first}`,
    ]);
    expect(revision).toMatchObject({ sessionAffinity: true, timeout: '120s' });

    const policy = await conforming('run-v2', 'google.iam.v1.IAMPolicy.GetIamPolicy:services', [
      'GET',
      `${svc}:getIamPolicy`,
    ]);
    await conforming('run-v2', 'google.iam.v1.IAMPolicy.SetIamPolicy:services', [
      'POST',
      `${svc}:setIamPolicy`,
      { policy: { ...policy, bindings: [{ role: 'roles/run.invoker', members: ['allUsers'] }] } },
    ]);
    await conforming('run-v2', 'google.iam.v1.IAMPolicy.TestIamPermissions:services', [
      'POST',
      `${svc}:testIamPermissions`,
      { permissions: ['run.services.get'] },
    ]);

    const operations = await conforming('run-v2', `${OPS}ListOperations`, ['GET', `${run()}/operations`]);
    expect((operations.operations as Json[]).length).toBeGreaterThan(0);
    await conforming('run-v2', `${OPS}GetOperation`, [
      'GET',
      `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/${updated.name}`,
    ]);

    await done(
      await conforming('run-v2', `${RUN}Revisions.DeleteRevision`, [
        'DELETE',
        `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/${first}`,
      ]),
    );
    const deleted = await conforming('run-v2', `${RUN}Services.DeleteService`, ['DELETE', svc]);
    await done(deleted);
    await conforming('run-v2', `${OPS}DeleteOperation`, [
      'DELETE',
      `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/${deleted.name}`,
    ]);
  });
});

describe('Cloud Run v1 (Knative), the reads gcloud makes', () => {
  it('answers services, revisions, routes and configurations as run v1 describes them', async () => {
    const created = await call('POST', `${run()}/services?serviceId=resp-v1`, {
      invokerIamDisabled: true,
      template: { containers: [{ image }] },
    });
    await done(created.body);
    const v1 = `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v1/projects/${project()}/locations/us-central1`;
    const m = 'run.projects.locations.';
    const service = await conforming('run-v1', `${m}services.get`, ['GET', `${v1}/services/resp-v1`]);
    await conforming('run-v1', `${m}services.list`, ['GET', `${v1}/services`]);
    const revision = service.status.latestReadyRevisionName as string;
    await conforming('run-v1', `${m}revisions.get`, ['GET', `${v1}/revisions/${revision}`]);
    await conforming('run-v1', `${m}revisions.list`, ['GET', `${v1}/revisions`]);
    await conforming('run-v1', `${m}routes.get`, ['GET', `${v1}/routes/resp-v1`]);
    await conforming('run-v1', `${m}routes.list`, ['GET', `${v1}/routes`]);
    await conforming('run-v1', `${m}configurations.get`, ['GET', `${v1}/configurations/resp-v1`]);
    await conforming('run-v1', `${m}configurations.list`, ['GET', `${v1}/configurations`]);
    await conforming('run-v1', `${m}services.getIamPolicy`, ['GET', `${v1}/services/resp-v1:getIamPolicy`]);
  });
});

describe('Secret Manager', () => {
  it('answers every secret and version method as its response message', async () => {
    const sm = `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER')}v1/projects/${project()}`;
    const m = 'secretmanager.projects.secrets.';
    const as = (method: string, url: string, body?: unknown): [string, string, unknown?, string?] => [
      method,
      url,
      body,
      secretAdmin,
    ];
    await conforming('secretmanager-v1', `${m}create`, [
      ...as('POST', `${sm}/secrets?secretId=resp-secret`, {
        replication: { automatic: {} },
        labels: { a: 'b' },
      }),
    ]);
    const secret = `${sm}/secrets/resp-secret`;
    await conforming('secretmanager-v1', `${m}addVersion`, [
      ...as('POST', `${secret}:addVersion`, { payload: { data: Buffer.from('value').toString('base64') } }),
    ]);
    await conforming('secretmanager-v1', `${m}get`, as('GET', secret));
    await conforming('secretmanager-v1', `${m}list`, as('GET', `${sm}/secrets`));
    await conforming('secretmanager-v1', `${m}versions.get`, as('GET', `${secret}/versions/1`));
    await conforming('secretmanager-v1', `${m}versions.list`, as('GET', `${secret}/versions`));
    await conforming(
      'secretmanager-v1',
      `${m}versions.access`,
      as('GET', `${secret}/versions/latest:access`),
    );
    await conforming(
      'secretmanager-v1',
      `${m}versions.disable`,
      as('POST', `${secret}/versions/1:disable`, {}),
    );
    await conforming(
      'secretmanager-v1',
      `${m}versions.enable`,
      as('POST', `${secret}/versions/1:enable`, {}),
    );
    await conforming(
      'secretmanager-v1',
      `${m}versions.destroy`,
      as('POST', `${secret}/versions/1:destroy`, {}),
    );
    const policy = await conforming(
      'secretmanager-v1',
      `${m}getIamPolicy`,
      as('GET', `${secret}:getIamPolicy`),
    );
    await conforming(
      'secretmanager-v1',
      `${m}setIamPolicy`,
      as('POST', `${secret}:setIamPolicy`, { policy }),
    );
    await conforming('secretmanager-v1', `${m}delete`, as('DELETE', secret));
  });
});

describe('IAM Credentials', () => {
  it('answers generateAccessToken and generateIdToken as their response messages', async () => {
    const sa = `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS')}v1/projects/-/serviceAccounts/${env('RUNWAY_EMULATOR_SERVICE_ACCOUNT')}`;
    const m = 'iamcredentials.projects.serviceAccounts.';
    const sts = await federatedToken();
    const access = await conforming('iamcredentials-v1', `${m}generateAccessToken`, [
      'POST',
      `${sa}:generateAccessToken`,
      { scope: ['https://www.googleapis.com/auth/cloud-platform'], lifetime: '600s' },
      sts,
    ]);
    // gcloud parses expireTime as %Y-%m-%dT%H:%M:%SZ: Google writes it without fractions.
    expect(access.expireTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    await conforming('iamcredentials-v1', `${m}generateIdToken`, [
      'POST',
      `${sa}:generateIdToken`,
      { audience: 'https://example.run.app', includeEmail: true },
      sts,
    ]);
  });
});
