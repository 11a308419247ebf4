// Conformance of the emulated Cloud Run Admin API v2 with api-facts §5 and §9: operation shapes,
// conditions, error bodies, permission denials, failed revisions, traffic over real containers,
// and the unmodified @google-cloud/run client.
import { v2 } from '@google-cloud/run';
import { OAuth2Client } from 'google-auth-library';
import { admin, env } from '../helpers/emulator.js';
import { accessTokenFor, federatedToken, seedServiceAccount } from '../helpers/auth.js';
import { pushTestImage } from '../helpers/images.js';

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
    expect(created.body.done).toBe(false);
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

  it('validateOnly checks without creating anything', async () => {
    const res = await call('POST', '/services?serviceId=conf-dry&validateOnly=true', spec(imageA));
    expect(res.status).toBe(200);
    expect(res.body.done).toBe(true);
    expect((await call('GET', '/services/conf-dry')).status).toBe(404);
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
      details: [],
    });
    const revisions = (await call('GET', '/services/conf-missing/revisions')).body.revisions as Json[];
    expect(revisions[0]!.conditions[0]).toMatchObject({
      state: 'CONDITION_FAILED',
      reason: 'CONTAINER_MISSING',
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
    expect(outcomes.failed).toBe(0);
    expect(outcomes.ok).toBeGreaterThan(50);
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
    await client.close();
  });
});
