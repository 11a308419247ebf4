// Conformance of the emulated Cloud Run Admin API v2 with api-facts §5 and §9: operation shapes,
// conditions, error bodies, permission denials, failed revisions, traffic over real containers,
// and the unmodified @google-cloud/run client.
import { v2 } from '@google-cloud/run';
import { OAuth2Client } from 'google-auth-library';
import { admin, env } from '../helpers/emulator.js';
import {
  accessTokenFor,
  federatedToken,
  idTokenFor as idTokenForAccount,
  seedServiceAccount,
} from '../helpers/auth.js';
import { pushTestImage } from '../helpers/images.js';
import {
  applyUpdateMask,
  paginate,
  readTraffic,
  revisionName,
  sameTemplate,
  startupProbe,
  validateTraffic,
} from '../../emulator/run/model.js';
import { WeightedPicker } from '../../emulator/run/router.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const base = (): string =>
  `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/projects/${env('RUNWAY_EMULATOR_PROJECT')}/locations/us-central1`;

async function call(
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; body: Json }> {
  const res = await fetch(path.startsWith('http') ? path : `${base()}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token ?? (await accessTokenFor())}`,
      'content-type': 'application/json',
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
}

async function wait(op: Json): Promise<Json> {
  const { body } = await call('POST', `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/${op.name}:wait`, {
    timeout: '60s',
  });
  return body;
}

/** A service spec running `image`; public (invokerIamDisabled) unless `extra` says otherwise. */
function spec(image: string, extra: Json = {}): Json {
  const { template, ...rest } = extra;
  return { invokerIamDisabled: true, ...rest, template: { containers: [{ image }], ...(template ?? {}) } };
}

let imageA: string;
let imageB: string;
let crashing: string;

beforeAll(async () => {
  [imageA, imageB, crashing] = await Promise.all([
    pushTestImage('conf-a', 'revision A'),
    pushTestImage('conf-b', 'revision B'),
    pushTestImage('conf-crash', 'never', { crash: true }),
  ]);
});

/** A Google ID token for `serviceAccount`, minted by the IAM Credentials emulator. */
const idTokenFor = (serviceAccount: string, audience: string): Promise<string> =>
  idTokenForAccount(audience, serviceAccount);

/** A service account the deployer may act as, with the given project roles. */
async function runtimeAccount(name: string, projectRoles: string[]): Promise<string> {
  const email = await seedServiceAccount(name, projectRoles);
  await admin.seed({
    bindings: [
      {
        resource: `projects/${env('RUNWAY_EMULATOR_PROJECT')}/serviceAccounts/${email}`,
        role: 'roles/iam.serviceAccountUser',
        members: [`serviceAccount:${env('RUNWAY_EMULATOR_SERVICE_ACCOUNT')}`],
      },
    ],
  });
  return email;
}

const shortName = (full: string): string => full.split('/').pop()!;

async function createReady(id: string, image: string, extra: Json = {}): Promise<Json> {
  const created = await call('POST', `/services?serviceId=${id}`, spec(image, extra));
  expect(created.status).toBe(200);
  const done = await wait(created.body);
  expect(done.error).toBeUndefined();
  return (await call('GET', `/services/${id}`)).body;
}

describe('services and operations', () => {
  it('create answers at once with an Operation, and :wait returns it done with the Service', async () => {
    const created = await call('POST', '/services?serviceId=conf-create', spec(imageA));
    expect(created.status).toBe(200);
    expect(created.body.name).toMatch(
      /^projects\/runway-demo\/locations\/us-central1\/operations\/[0-9a-f-]{36}$/,
    );
    // proto3 JSON omits `done` while it is false.
    expect(created.body.done).toBeUndefined();
    expect(created.body.metadata['@type']).toBe('type.googleapis.com/google.cloud.run.v2.Service');
    const done = await wait(created.body);
    expect(done.done).toBe(true);
    expect(done.response['@type']).toBe('type.googleapis.com/google.cloud.run.v2.Service');
    const service = (await call('GET', '/services/conf-create')).body;
    expect(service).toMatchObject({
      name: 'projects/runway-demo/locations/us-central1/services/conf-create',
      generation: '1',
      observedGeneration: '1',
      terminalCondition: { type: 'Ready', state: 'CONDITION_SUCCEEDED' },
      traffic: [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 }],
      trafficStatuses: [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 }],
    });
    expect(service.reconciling).toBeUndefined();
    expect(service.etag).toMatch(/^".+"$/);
    expect(service.latestReadyRevision).toBe(service.latestCreatedRevision);
    expect(service.latestReadyRevision).toMatch(
      /\/services\/conf-create\/revisions\/conf-create-00001-[a-z]{3}$/,
    );
    expect(service.conditions.map((c: Json) => `${c.type}:${c.state}`).sort()).toEqual([
      'ConfigurationsReady:CONDITION_SUCCEEDED',
      'RoutesReady:CONDITION_SUCCEEDED',
    ]);
    expect(service.template.containers[0].ports).toEqual([{ name: 'http1', containerPort: 8080 }]);
    expect(service.urls).toEqual([service.uri]);
    expect(await (await fetch(service.uri)).text()).toBe('revision A\n');
  });

  it('an update with a new template creates a new revision; a traffic-only update does not', async () => {
    const first = await createReady('conf-update', imageA);
    const patched = await call('PATCH', '/services/conf-update', {
      ...first,
      template: { ...first.template, revision: '', containers: [{ image: imageB }] },
    });
    expect(patched.status).toBe(200);
    await wait(patched.body);
    const second = (await call('GET', '/services/conf-update')).body;
    expect(second.generation).toBe('2');
    expect(second.latestReadyRevision).toMatch(/conf-update-00002-[a-z]{3}$/);
    expect(await (await fetch(second.uri)).text()).toBe('revision B\n');

    const firstRevision = first.latestReadyRevision.split('/').pop();
    const pinned = await call('PATCH', '/services/conf-update', {
      ...second,
      traffic: [{ type: 2, revision: firstRevision, percent: 100 }],
    });
    await wait(pinned.body);
    const third = (await call('GET', '/services/conf-update')).body;
    expect(third.latestCreatedRevision).toBe(second.latestCreatedRevision);
    expect(third.trafficStatuses).toEqual([
      { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: firstRevision, percent: 100 },
    ]);
    expect(await (await fetch(third.uri)).text()).toBe('revision A\n');
    const revisions = (await call('GET', '/services/conf-update/revisions')).body.revisions as Json[];
    expect(revisions).toHaveLength(2);
    expect(revisions[0]!.conditions[0]).toMatchObject({ type: 'Ready', state: 'CONDITION_SUCCEEDED' });
  });

  it("keeps a service's annotations as Kubernetes rules them; an annotations-only update makes no revision", async () => {
    const first = await createReady('conf-annotations', imageA);
    const note = { 'example.com/rollout-1': JSON.stringify({ revisions: ['a'] }) };
    const annotated = await call('PATCH', '/services/conf-annotations?updateMask=annotations', {
      annotations: note,
      etag: first.etag,
    });
    expect(annotated.status).toBe(200);
    await wait(annotated.body);
    const second = (await call('GET', '/services/conf-annotations')).body;
    expect(second.annotations).toEqual(note);
    expect(second.latestCreatedRevision).toBe(first.latestCreatedRevision);
    expect(second.template).toEqual(first.template);
    expect(second.etag).not.toBe(first.etag);
    const revisions = (await call('GET', '/services/conf-annotations/revisions')).body.revisions as Json[];
    expect(revisions).toHaveLength(1);

    const refused = async (annotations: Json): Promise<string> => {
      const res = await call('PATCH', '/services/conf-annotations?updateMask=annotations', { annotations });
      expect(res.status).toBe(400);
      return res.body.error.message as string;
    };
    expect(await refused({ 'has space': 'x' })).toMatch(/annotations: Invalid value: "has space": name part/);
    expect(await refused({ [`example.com/${'n'.repeat(64)}`]: 'x' })).toMatch(/no more than 63 characters/);
    expect(await refused({ 'Example.com/x': 'x' })).toMatch(
      /prefix part must be a lowercase RFC 1123 subdomain/,
    );
    expect(await refused({ 'a/b/c': 'x' })).toMatch(/at most one "\/"/);
    expect(await refused({ 'example.com/big': 'x'.repeat(256 * 1024) })).toMatch(
      /annotations: Too long: must have at most 262144 bytes/,
    );
    expect((await call('GET', '/services/conf-annotations')).body.annotations).toEqual(note);
  });

  it('validateOnly checks without creating anything', async () => {
    const res = await call('POST', '/services?serviceId=conf-dry&validateOnly=true', spec(imageA));
    expect(res.status).toBe(200);
    expect(res.body.done).toBe(true);
    expect((await call('GET', '/services/conf-dry')).status).toBe(404);
  });

  // What Cloud Run refuses whoever sends it: the action's own checks are not what stops these.
  const container = (extra: Json): Json => ({ template: { containers: [{ image: 'IMAGE', ...extra }] } });
  it.each([
    ['a reserved env name', container({ env: [{ name: 'PORT', value: '9' }] }), 'env.name'],
    ['K_SERVICE', container({ env: [{ name: 'K_SERVICE', value: 'x' }] }), 'env.name'],
    ["an env name with '='", container({ env: [{ name: 'A=B', value: 'x' }] }), 'env.name'],
    [
      'an env value over 32 KiB',
      container({ env: [{ name: 'A', value: 'x'.repeat(33 * 1024) }] }),
      'env.value',
    ],
    ['a mount under /proc', container({ volumeMounts: [{ name: 'v', mountPath: '/proc/x' }] }), 'mountPath'],
    [
      "a mount path with '..'",
      container({ volumeMounts: [{ name: 'v', mountPath: '/a/../etc' }] }),
      'mountPath',
    ],
    ['64 MiB of memory', container({ resources: { limits: { memory: '64Mi' } } }), 'memory'],
    ['64 GiB of memory', container({ resources: { limits: { memory: '64Gi' } } }), 'memory'],
    [
      'concurrency above 1 on half a CPU',
      {
        template: {
          containers: [{ image: 'IMAGE', resources: { limits: { cpu: '0.5' } } }],
          maxInstanceRequestConcurrency: 80,
        },
      },
      'maxInstanceRequestConcurrency',
    ],
    ['a label key in capitals', { labels: { Team: 'web' } }, 'labels'],
    [
      'a label value with a space',
      { template: { containers: [{ image: 'IMAGE' }], labels: { team: 'web app' } } },
      'labels',
    ],
  ])(
    'refuses %s with 400 INVALID_ARGUMENT naming the field, even in a dry run',
    async (_what, extra, field) => {
      const withImage = JSON.parse(
        JSON.stringify(extra).replaceAll('"IMAGE"', JSON.stringify(imageA)),
      ) as Json;
      const body = { ...spec(imageA), ...withImage };
      const res = await call('POST', '/services?serviceId=conf-refused&validateOnly=true', body);
      expect(res.status).toBe(400);
      expect(res.body.error.status).toBe('INVALID_ARGUMENT');
      expect(JSON.stringify(res.body.error.details)).toContain(field);
    },
  );
  it('refuses a location Cloud Run does not have', async () => {
    const res = await call('GET', base().replace('/us-central1', '/europe-west99') + '/services/x');
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].fieldViolations[0].field).toBe('location');
  });

  it('PATCH with allowMissing creates the service; names may use the project number; enums may be ints', async () => {
    const byNumber = `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/projects/${env('RUNWAY_EMULATOR_PROJECT_NUMBER')}/locations/europe-west1/services/conf-upsert`;
    const missing = await call('PATCH', byNumber, spec(imageA));
    expect(missing.body.error).toMatchObject({ code: 404, status: 'NOT_FOUND' });
    const upserted = await call(`PATCH`, `${byNumber}?allowMissing=true&$alt=json%3Benum-encoding%3Dint`, {
      ...spec(imageA),
      labels: {},
      annotations: {},
      traffic: [{ type: 1, percent: 100 }],
    });
    expect(upserted.status).toBe(200);
    expect(upserted.body.name).toMatch(/^projects\/runway-demo\/locations\/europe-west1\/operations\//);
    expect((await wait(upserted.body)).response.name).toBe(
      'projects/runway-demo/locations/europe-west1/services/conf-upsert',
    );
    const service = (await call('GET', byNumber)).body;
    expect(service).toMatchObject({
      generation: '1',
      traffic: [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 }],
      creator: env('RUNWAY_EMULATOR_SERVICE_ACCOUNT'),
    });
    expect(service.labels).toBeUndefined();

    // Only the masked field changes: same template, so no new revision.
    const relabeled = await call('PATCH', `${byNumber}?updateMask=labels`, { labels: { team: 'a' } });
    await wait(relabeled.body);
    const after = (await call('GET', byNumber)).body;
    expect(after).toMatchObject({ generation: '2', observedGeneration: '2', labels: { team: 'a' } });
    expect(after.etag).not.toBe(service.etag);
    expect(after.latestCreatedRevision).toBe(service.latestCreatedRevision);
    expect(after.template.containers[0].image).toBe(imageA);
  });

  it('deletes revisions that serve nothing and services by etag; the deleted service stops answering', async () => {
    const first = await createReady('conf-delete', imageA);
    const patched = await call('PATCH', '/services/conf-delete', {
      ...first,
      template: { ...first.template, revision: 'conf-delete-blue', containers: [{ image: imageB }] },
    });
    await wait(patched.body);
    const service = (await call('GET', '/services/conf-delete')).body;
    expect(shortName(service.latestReadyRevision)).toBe('conf-delete-blue');
    expect(service.template.revision).toBe('conf-delete-blue');

    const serving = await call('DELETE', '/services/conf-delete/revisions/conf-delete-blue');
    expect(serving.body.error).toMatchObject({ code: 400, status: 'FAILED_PRECONDITION' });
    const old = shortName(first.latestReadyRevision);
    const removed = await call('DELETE', `/services/conf-delete/revisions/${old}`);
    expect(removed.body.metadata['@type']).toBe('type.googleapis.com/google.cloud.run.v2.Revision');
    expect((await wait(removed.body)).response.name).toMatch(new RegExp(`/revisions/${old}$`));
    expect((await call('GET', `/services/conf-delete/revisions/${old}`)).status).toBe(404);

    const stale = await call('DELETE', '/services/conf-delete?etag=%22stale%22');
    expect(stale.body.error).toMatchObject({ code: 409, status: 'ABORTED' });
    const deleted = await call('DELETE', `/services/conf-delete?etag=${encodeURIComponent(service.etag)}`);
    expect(deleted.status).toBe(200);
    const done = await wait(deleted.body);
    expect(done.response).toMatchObject({
      '@type': 'type.googleapis.com/google.cloud.run.v2.Service',
      name: service.name,
    });
    expect((await call('GET', '/services/conf-delete')).status).toBe(404);
    await expect(fetch(service.uri)).rejects.toThrow();
  });

  it('lists services, revisions and operations in pages; operations can be read and deleted', async () => {
    await createReady('conf-list-a', imageA);
    await createReady('conf-list-b', imageA);
    const first = (await call('GET', '/services?pageSize=1')).body;
    expect(first.services).toHaveLength(1);
    expect(first.nextPageToken).toEqual(expect.any(String));
    const names: string[] = [];
    for (let token: string | undefined = ''; token !== undefined;) {
      const page: Json = (await call('GET', `/services?pageSize=2&pageToken=${token}`)).body;
      names.push(...(page.services as Json[]).map((x) => shortName(x.name)));
      token = page.nextPageToken;
    }
    expect(names).toEqual(expect.arrayContaining(['conf-list-a', 'conf-list-b']));
    expect((await call('GET', '/services/conf-list-a/revisions')).body.revisions).toHaveLength(1);

    const operations = (await call('GET', '/operations')).body.operations as Json[];
    const op = operations.find((o) => o.metadata.name?.endsWith('/services/conf-list-a'))!;
    expect(op).toMatchObject({ done: true, response: { name: expect.stringMatching(/conf-list-a$/) } });
    const id = shortName(op.name);
    expect((await call('GET', `/operations/${id}`)).body.done).toBe(true);
    expect((await call('DELETE', `/operations/${id}`)).status).toBe(200);
    expect((await call('GET', `/operations/${id}`)).status).toBe(404);
  });
});

describe('failed revisions', () => {
  it('a container that never listens fails the operation with code 9; the old revision keeps serving', async () => {
    const first = await createReady('conf-crash', imageA);
    const patched = await call('PATCH', '/services/conf-crash', {
      ...first,
      template: { ...first.template, revision: '', containers: [{ image: crashing }] },
    });
    const done = await wait(patched.body);
    expect(done.error.code).toBe(9);
    expect(done.error.message).toMatch(
      /^Revision 'conf-crash-00002-[a-z]{3}' is not ready and cannot serve traffic\. The user-provided container failed to start and listen on the port defined provided by the PORT=8080 environment variable/,
    );
    const service = (await call('GET', '/services/conf-crash')).body;
    expect(service.terminalCondition).toMatchObject({
      type: 'Ready',
      state: 'CONDITION_FAILED',
      reason: 'REVISION_FAILED',
      severity: 'ERROR',
    });
    expect(service.latestReadyRevision).toBe(first.latestReadyRevision);
    expect(service.latestCreatedRevision).not.toBe(first.latestCreatedRevision);
    expect(service.observedGeneration).toBe('1');
    const revision = (
      await call('GET', `/services/conf-crash/revisions/${service.latestCreatedRevision.split('/').pop()}`)
    ).body;
    expect(revision.conditions[0]).toMatchObject({ type: 'Ready', state: 'CONDITION_FAILED' });
    expect(await (await fetch(service.uri)).text()).toBe('revision A\n');
  });

  it('an image that does not exist fails with code 5 and CONTAINER_MISSING', async () => {
    const missing = `${env('RUNWAY_EMULATOR_REPOSITORY')}/nope@sha256:${'0'.repeat(64)}`;
    const created = await call('POST', '/services?serviceId=conf-missing', spec(missing));
    const done = await wait(created.body);
    expect(done.error).toEqual({
      code: 5,
      message: expect.stringMatching(
        /^Revision 'conf-missing-00001-[a-z]{3}' is not ready and cannot serve traffic\. Image '.*nope@sha256:0+' not found\.$/,
      ),
    });
    const revisions = (await call('GET', '/services/conf-missing/revisions')).body.revisions as Json[];
    expect(revisions[0]!.conditions[0]).toMatchObject({
      state: 'CONDITION_FAILED',
      reason: 'CONTAINER_MISSING',
    });
  });

  it('a container that misses its port fails its configured startup probe', async () => {
    const created = await call(
      'POST',
      '/services?serviceId=conf-port',
      spec(imageA, {
        template: {
          containers: [
            {
              image: imageA,
              command: ['/bin/busybox'],
              args: ['httpd', '-f', '-p', '9999', '-h', '/www'],
              startupProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1, failureThreshold: 2 },
            },
          ],
        },
      }),
    );
    const early = await call(
      'POST',
      `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/${created.body.name}:wait`,
      {
        timeout: '0.2s',
      },
    );
    expect(early.body).toMatchObject({ name: created.body.name });
    expect(early.body.done).toBeUndefined();
    expect((await call('GET', '/services/conf-port')).body).toMatchObject({
      reconciling: true,
      terminalCondition: { type: 'Ready', state: 'CONDITION_RECONCILING' },
    });
    const done = await wait(created.body);
    expect(done.error).toEqual({
      code: 9,
      message: expect.stringMatching(
        /^Revision 'conf-port-00001-[a-z]{3}' is not ready and cannot serve traffic\. The user-provided container failed the configured startup probe checks\.$/,
      ),
    });
    // A new service whose first revision fails: it has its URL, but nothing serves there.
    const service = (await call('GET', '/services/conf-port')).body;
    expect(service.terminalCondition).toMatchObject({ state: 'CONDITION_FAILED', reason: 'REVISION_FAILED' });
    expect(service.latestReadyRevision).toBeUndefined();
    expect(service.trafficStatuses).toBeUndefined();
    // Generation 0 is int64's default: proto3 JSON leaves it out.
    expect(service.observedGeneration).toBeUndefined();
    expect((await fetch(service.uri)).status).toBe(503);
  });

  it('a runtime account without Secret Accessor fails the revision with SECRETS_ACCESS_CHECK_FAILED', async () => {
    const account = await runtimeAccount('conf-nosecrets', ['roles/artifactregistry.reader']);
    const created = await call(
      'POST',
      '/services?serviceId=conf-secretless',
      spec(imageA, {
        template: {
          serviceAccount: account,
          containers: [
            {
              image: imageA,
              env: [
                {
                  name: 'GREETING',
                  valueSource: { secretKeyRef: { secret: 'greeting', version: 'latest' } },
                },
              ],
            },
          ],
        },
      }),
    );
    const done = await wait(created.body);
    expect(done.error).toEqual({
      code: 9,
      message: `spec.template.spec.containers[0].env[0].value_from.secret_key_ref.name: Permission denied on secret: projects/${env('RUNWAY_EMULATOR_PROJECT_NUMBER')}/secrets/greeting/versions/latest for Revision service account ${account}. The service account used must be granted the 'Secret Manager Secret Accessor' role (roles/secretmanager.secretAccessor) at the secret, project or higher level.`,
    });
    const service = (await call('GET', '/services/conf-secretless')).body;
    const revision = (
      await call('GET', `/services/conf-secretless/revisions/${shortName(service.latestCreatedRevision)}`)
    ).body;
    expect(revision.conditions[0]).toMatchObject({
      type: 'Ready',
      state: 'CONDITION_FAILED',
      reason: 'SECRETS_ACCESS_CHECK_FAILED',
    });
    expect(service.terminalCondition).toMatchObject({
      state: 'CONDITION_FAILED',
      reason: 'SECRETS_ACCESS_CHECK_FAILED',
    });
  });
});

describe('the container', () => {
  it('gets PORT, K_* variables, plain and Secret Manager env vars, and secret files', async () => {
    const service = await createReady('conf-env', imageA, {
      template: {
        serviceAccount: env('RUNWAY_EMULATOR_RUNTIME_SERVICE_ACCOUNT'),
        containers: [
          {
            image: imageA,
            ports: [{ name: 'http1', containerPort: 8081 }],
            env: [
              { name: 'MODE', value: 'prod' },
              { name: 'GREETING', valueSource: { secretKeyRef: { secret: 'greeting', version: '1' } } },
            ],
            volumeMounts: [
              { name: 'cfg', mountPath: '/etc/cfg' },
              { name: 'whole', mountPath: '/etc/whole' },
            ],
          },
        ],
        volumes: [
          {
            name: 'cfg',
            secret: { secret: 'greeting', items: [{ path: 'greeting.txt', version: 'latest' }] },
          },
          {
            name: 'whole',
            secret: { secret: `projects/${env('RUNWAY_EMULATOR_PROJECT')}/secrets/greeting` },
          },
        ],
      },
    });
    const revision = shortName(service.latestReadyRevision);
    const variables = await (await fetch(`${service.uri}/cgi-bin/env`)).text();
    for (const line of [
      'PORT=8081',
      'K_SERVICE=conf-env',
      `K_REVISION=${revision}`,
      'K_CONFIGURATION=conf-env',
      'MODE=prod',
      'GREETING=hello from Secret Manager',
    ])
      expect(variables.split('\n')).toContain(line);
    expect(await (await fetch(`${service.uri}/cgi-bin/file?/etc/cfg/greeting.txt`)).text()).toBe(
      'hello from Secret Manager',
    );
    expect(await (await fetch(`${service.uri}/cgi-bin/file?/etc/whole/greeting`)).text()).toBe(
      'hello from Secret Manager',
    );
    const state = (await admin.state()) as { run: { services: Json[] } };
    const seen = state.run.services.find((x) => x.name === service.name)!;
    expect(seen.revisions[0]).toMatchObject({
      name: revision,
      state: 'ready',
      containerId: expect.stringMatching(/^[0-9a-f]{64}$/),
      address: { host: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/), port: 8081 },
    });
  });
});

describe('errors', () => {
  it('denies a caller without a Cloud Run role with 403 and ErrorInfo, before saying whether it exists', async () => {
    const token = await accessTokenFor(await seedServiceAccount('conf-viewerless', []));
    for (const path of ['/services/conf-create', '/services/does-not-exist']) {
      const res = await call('GET', path, undefined, token);
      expect(res.status).toBe(403);
      expect(res.body.error).toMatchObject({ code: 403, status: 'PERMISSION_DENIED' });
      expect(res.body.error.message).toMatch(
        /^Permission 'run\.services\.get' denied on resource '.*' \(or resource may not exist\)\.$/,
      );
      expect(res.body.error.details[0]).toMatchObject({
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'IAM_PERMISSION_DENIED',
        metadata: { permission: 'run.services.get' },
      });
    }
  });

  it('denies deploying as a service account the caller may not act as', async () => {
    const nobody = `conf-nobody@${env('RUNWAY_EMULATOR_PROJECT')}.iam.gserviceaccount.com`;
    await admin.seed({ serviceAccounts: [nobody] });
    const res = await call(
      'POST',
      '/services?serviceId=conf-actas',
      spec(imageA, { template: { serviceAccount: nobody } }),
    );
    expect(res.status).toBe(403);
    expect(res.body.error.message).toBe(
      `Permission 'iam.serviceaccounts.actAs' denied on service account ${nobody} (or it may not exist).`,
    );
  });

  it('answers 401 without a token, 404 for a missing service, 400 for a bad id, 409s for conflicts', async () => {
    const anonymous = await fetch(`${base()}/services/conf-create`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as Json).error.status).toBe('UNAUTHENTICATED');
    expect((await call('GET', '/services/conf-none')).body.error).toMatchObject({
      code: 404,
      status: 'NOT_FOUND',
    });
    expect((await call('POST', '/services?serviceId=Bad_Name', spec(imageA))).body.error).toMatchObject({
      code: 400,
      status: 'INVALID_ARGUMENT',
    });
    expect((await call('POST', '/services?serviceId=conf-create', spec(imageA))).body.error).toMatchObject({
      code: 409,
      status: 'ALREADY_EXISTS',
    });
    const live = (await call('GET', '/services/conf-create')).body;
    const stale = await call('PATCH', '/services/conf-create', { ...live, etag: '"stale"' });
    expect(stale.body.error).toMatchObject({ code: 409, status: 'ABORTED' });
    const revision = live.latestCreatedRevision.split('/').pop();
    const reused = await call('PATCH', '/services/conf-create', {
      ...live,
      template: { ...live.template, revision, containers: [{ image: imageB }] },
    });
    expect(reused.body.error).toMatchObject({
      code: 409,
      message: `Revision named '${revision}' with different configuration already exists.`,
    });
    const badSplit = await call('PATCH', '/services/conf-create', {
      ...live,
      traffic: [{ type: 1, percent: 60 }],
    });
    expect(badSplit.body.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    const unknownRevision = await call('PATCH', '/services/conf-create', {
      ...live,
      traffic: [{ type: 2, revision: 'conf-create-99999-zzz', percent: 100 }],
    });
    expect(unknownRevision.body.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    const twiceTagged = await call('PATCH', '/services/conf-create', {
      ...live,
      traffic: [
        { type: 1, percent: 100, tag: 'same' },
        { type: 2, revision, percent: 0, tag: 'same' },
      ],
    });
    expect(twiceTagged.body.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    const notOurs = await call('PATCH', '/services/conf-create', {
      ...live,
      template: { ...live.template, revision: 'other-name-1' },
    });
    expect(notOurs.body.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    const reserved = await call('PATCH', '/services/conf-create', {
      ...live,
      labels: { 'run.googleapis.com/x': 'y' },
    });
    expect(reserved.body.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
  });
});

describe('traffic over real containers', () => {
  it('splits 50/50 between two real revisions', async () => {
    const first = await createReady('conf-split', imageA);
    const patched = await call('PATCH', '/services/conf-split', {
      ...first,
      template: { ...first.template, revision: '', containers: [{ image: imageB }] },
    });
    await wait(patched.body);
    const second = (await call('GET', '/services/conf-split')).body;
    const [a, b] = [first.latestReadyRevision.split('/').pop(), second.latestReadyRevision.split('/').pop()];
    const split = await call('PATCH', '/services/conf-split', {
      ...second,
      traffic: [
        { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: a, percent: 50 },
        { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: b, percent: 50, tag: 'blue' },
      ],
    });
    await wait(split.body);
    const service = (await call('GET', '/services/conf-split')).body;
    const counts = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const text = await (await fetch(service.uri)).text();
      counts.set(text, (counts.get(text) ?? 0) + 1);
    }
    expect(counts).toEqual(
      new Map([
        ['revision A\n', 20],
        ['revision B\n', 20],
      ]),
    );
    const tag = service.trafficStatuses.find((t: Json) => t.tag === 'blue');
    expect(tag.uri).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(tag.uri).not.toBe(service.uri);
    for (let i = 0; i < 4; i++) expect(await (await fetch(tag.uri)).text()).toBe('revision B\n');
  });

  it('moves traffic under steady requests without failing one', async () => {
    const first = await createReady('conf-move', imageA);
    const patched = await call('PATCH', '/services/conf-move', {
      ...first,
      template: { ...first.template, revision: '', containers: [{ image: imageB }] },
    });
    await wait(patched.body);
    const service = (await call('GET', '/services/conf-move')).body;
    const [a, b] = [first.latestReadyRevision.split('/').pop(), service.latestReadyRevision.split('/').pop()];
    let stop = false;
    const outcomes = { ok: 0, failed: 0, seen: new Set<string>() };
    const load = async (): Promise<void> => {
      while (!stop) {
        try {
          const res = await fetch(service.uri);
          const text = await res.text();
          if (res.status === 200) {
            outcomes.ok++;
            outcomes.seen.add(text);
          } else outcomes.failed++;
        } catch {
          outcomes.failed++;
        }
      }
    };
    const loops = [load(), load(), load(), load()];
    const splits = [
      [{ revision: a, percent: 100 }],
      [
        { revision: a, percent: 50 },
        { revision: b, percent: 50 },
      ],
      [{ revision: b, percent: 100 }],
      [{ revision: a, percent: 100 }],
    ];
    for (const targets of splits) {
      const live = (await call('GET', '/services/conf-move')).body;
      const res = await call('PATCH', '/services/conf-move', {
        ...live,
        traffic: targets.map((t) => ({ type: 2, ...t })),
      });
      await wait(res.body);
      await new Promise((r) => setTimeout(r, 300));
    }
    stop = true;
    await Promise.all(loops);
    console.log(
      `traffic moved 4 times under load: ${outcomes.ok} requests answered, ${outcomes.failed} failed`,
    );
    expect(outcomes.failed).toBe(0);
    expect(outcomes.seen).toEqual(new Set(['revision A\n', 'revision B\n']));
  });

  it('a private service answers 403 without a token and 200 with a Google ID token for its URL', async () => {
    const service = await createReady('conf-private', imageA, { invokerIamDisabled: false });
    expect((await fetch(service.uri)).status).toBe(403);
    const idToken = await fetch(
      `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS')}v1/projects/-/serviceAccounts/${env('RUNWAY_EMULATOR_SERVICE_ACCOUNT')}:generateIdToken`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await federatedToken()}` },
        body: JSON.stringify({ audience: service.uri, includeEmail: true }),
      },
    ).then(async (r) => ((await r.json()) as Json).token as string);
    const authorized = await fetch(service.uri, { headers: { authorization: `Bearer ${idToken}` } });
    expect(authorized.status).toBe(200);
    expect(await authorized.text()).toBe('revision A\n');
    const wrongAudience = await fetch(service.uri, { headers: { authorization: 'Bearer not-a-token' } });
    expect(wrongAudience.status).toBe(401);

    const policy = (await call('GET', '/services/conf-private:getIamPolicy?options.requestedPolicyVersion=3'))
      .body;
    const set = await call('POST', '/services/conf-private:setIamPolicy', {
      policy: { ...policy, bindings: [{ role: 'roles/run.invoker', members: ['allUsers'] }] },
    });
    expect(set.status).toBe(200);
    expect((await fetch(service.uri)).status).toBe(200);
    const stale = await call('POST', '/services/conf-private:setIamPolicy', {
      policy: { ...policy, bindings: [] },
    });
    expect(stale.body.error).toMatchObject({ code: 409, status: 'ABORTED' });
  });

  it('takes back a policy etag in the URL-safe base64 alphabet, as gcloud sends it', async () => {
    await createReady('conf-etag', imageA, { invokerIamDisabled: false });
    // An etag is bytes; gcloud decodes it and re-encodes it URL-safe. Only an etag with '+' or '/'
    // reads differently in the two alphabets, so set the policy until the etag has one.
    let etag = '';
    for (let i = 0; i < 60 && !/[+/]/.test(etag); i++)
      etag = (await call('POST', '/services/conf-etag:setIamPolicy', { policy: { bindings: [] } })).body.etag;
    expect(etag).toMatch(/[+/]/);
    const urlSafe = etag.replace(/\+/g, '-').replace(/\//g, '_');
    const set = await call('POST', '/services/conf-etag:setIamPolicy', {
      policy: { etag: urlSafe, bindings: [{ role: 'roles/run.invoker', members: ['allUsers'] }] },
    });
    expect(set.status).toBe(200);
    expect(set.body.bindings).toEqual([{ role: 'roles/run.invoker', members: ['allUsers'] }]);
    // The same bytes in either alphabet, but another policy's etag is still a concurrent change.
    const stale = await call('POST', '/services/conf-etag:setIamPolicy', {
      policy: { etag: urlSafe, bindings: [] },
    });
    expect(stale.body.error).toMatchObject({ code: 409, status: 'ABORTED' });
  });

  it('lets only accounts with run.routes.invoke through, on the service URL and on tag URLs', async () => {
    const service = await createReady('conf-invoke', imageA, {
      invokerIamDisabled: false,
      traffic: [{ type: 1, percent: 100, tag: 'green' }],
    });
    const tagUrl = service.trafficStatuses.find((t: Json) => t.tag === 'green').uri as string;
    const deployer = env('RUNWAY_EMULATOR_SERVICE_ACCOUNT');
    expect((await fetch(tagUrl)).status).toBe(403);
    for (const audience of [tagUrl, service.uri]) {
      const token = await idTokenFor(deployer, audience);
      const res = await fetch(tagUrl, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('revision A\n');
    }
    const elsewhere = await idTokenFor(deployer, 'http://127.0.0.1:1');
    expect((await fetch(service.uri, { headers: { authorization: `Bearer ${elsewhere}` } })).status).toBe(
      401,
    );

    const outsider = await seedServiceAccount('conf-outsider', []);
    const outsiderToken = await idTokenFor(outsider, service.uri);
    const refused = await fetch(service.uri, { headers: { authorization: `Bearer ${outsiderToken}` } });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('Your client does not have permission');

    const granted = await call('POST', '/services/conf-invoke:setIamPolicy', {
      policy: { bindings: [{ role: 'roles/run.invoker', members: [`serviceAccount:${outsider}`] }] },
    });
    expect(granted.body.etag).toEqual(expect.any(String));
    expect((await fetch(service.uri, { headers: { authorization: `Bearer ${outsiderToken}` } })).status).toBe(
      200,
    );
    const tested = await call(
      'POST',
      '/services/conf-invoke:testIamPermissions',
      { permissions: ['run.routes.invoke', 'run.services.setIamPolicy'] },
      await accessTokenFor(outsider),
    );
    expect(tested.body).toEqual({ permissions: ['run.routes.invoke'] });
  });
});

describe('the unmodified @google-cloud/run client (REST transport)', () => {
  it('creates, waits on the operation, reads and updates a service', async () => {
    const url = new URL(env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN'));
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: await accessTokenFor() });
    const client = new v2.ServicesClient({
      fallback: true,
      apiEndpoint: url.hostname,
      port: Number(url.port),
      protocol: 'http',
      authClient,
    });
    const parent = client.locationPath(env('RUNWAY_EMULATOR_PROJECT'), 'us-central1');
    const [operation] = await client.createService({
      parent,
      serviceId: 'conf-gax',
      service: { invokerIamDisabled: true, template: { containers: [{ image: imageA }] } },
    });
    const [created] = await operation.promise();
    expect(created.name).toBe(`${parent}/services/conf-gax`);
    const [service] = await client.getService({ name: `${parent}/services/conf-gax` });
    expect(service.terminalCondition?.state).toBe('CONDITION_SUCCEEDED');
    expect(service.generation).toBe('1');
    const [update] = await client.updateService({
      service: {
        ...service,
        template: { ...service.template, revision: '', containers: [{ image: imageB }] },
      },
    });
    await update.promise();
    const [updated] = await client.getService({ name: `${parent}/services/conf-gax` });
    expect(updated.generation).toBe('2');
    expect(await (await fetch(updated.uri!)).text()).toBe('revision B\n');

    const [failing] = await client.updateService({
      service: {
        ...updated,
        template: { ...updated.template, revision: '', containers: [{ image: crashing }] },
      },
    });
    await expect(failing.promise()).rejects.toMatchObject({
      code: 9,
      message: expect.stringMatching(/is not ready and cannot serve traffic/),
    });
    await client.close();
  });
});

describe('pure pieces', () => {
  it('smooth weighted round-robin holds any split exactly over every 100 picks', () => {
    const picker = new WeightedPicker([
      { revision: 'a', address: undefined, percent: 1 },
      { revision: 'b', address: undefined, percent: 99 },
    ]);
    const picks = Array.from({ length: 200 }, () => picker.pick()!.revision);
    expect(picks.filter((r) => r === 'a')).toHaveLength(2);
    const even = new WeightedPicker([
      { revision: 'a', address: undefined, percent: 50 },
      { revision: 'b', address: undefined, percent: 50 },
    ]);
    expect(Array.from({ length: 4 }, () => even.pick()!.revision)).toEqual(['a', 'b', 'a', 'b']);
  });

  it('applies field masks path by path, and replaces everything without one', () => {
    const current = { labels: { a: '1' }, template: { timeout: '300s', containers: [{ image: 'x' }] } };
    expect(applyUpdateMask(current, { template: { timeout: '10s' } }, 'template.timeout')).toEqual({
      labels: { a: '1' },
      template: { timeout: '10s', containers: [{ image: 'x' }] },
    });
    expect(applyUpdateMask(current, {}, 'labels')).toEqual({ template: current.template });
    expect(applyUpdateMask(current, { labels: {} }, null)).toEqual({ labels: {} });
    expect(applyUpdateMask(current, { labels: { b: '2' } }, 'labels,update_time')).toMatchObject({
      labels: { b: '2' },
    });
  });

  it('pages with opaque tokens', () => {
    const first = paginate([1, 2, 3], new URLSearchParams('pageSize=2'));
    expect(first.page).toEqual([1, 2]);
    const second = paginate([1, 2, 3], new URLSearchParams(`pageSize=2&pageToken=${first.nextPageToken}`));
    expect(second).toEqual({ page: [3], nextPageToken: undefined });
  });

  it('validates traffic and names revisions like Cloud Run', () => {
    const exists = (name: string): boolean => name === 'svc-00001-abc';
    expect(() => validateTraffic(readTraffic([{ type: 1, percent: 100 }]), exists, 'svc')).not.toThrow();
    expect(() => validateTraffic(readTraffic([{ type: 1, percent: 90 }]), exists, 'svc')).toThrow(/100/);
    expect(() =>
      validateTraffic(readTraffic([{ type: 2, revision: 'nope', percent: 100 }]), exists, 'svc'),
    ).toThrow(/not found/);
    expect(
      readTraffic([{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'r', percent: 5 }]),
    ).toEqual([{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'r', percent: 5 }]);
    expect(revisionName('svc', 7, () => 0)).toBe('svc-00007-aaa');
    expect(sameTemplate({ revision: 'svc-1', timeout: '1s' }, { revision: '', timeout: '1s' })).toBe(true);
  });

  it('gives a container the emulator allowance, or what its startup probe asks for', () => {
    expect(startupProbe(undefined, 15)).toEqual({ httpPath: undefined, budgetSeconds: 15, periodMs: 200 });
    expect(startupProbe({ tcpSocket: {}, periodSeconds: 1, failureThreshold: 2 }, 15).budgetSeconds).toBe(2);
    expect(startupProbe({ httpGet: { path: '/ready' } }, 15)).toMatchObject({
      httpPath: '/ready',
      budgetSeconds: 30,
    });
    expect(startupProbe({ periodSeconds: 240, failureThreshold: 5 }, 15).budgetSeconds).toBe(240);
  });
});
