// The in-process emulator (emulator/inprocess.ts): the same Cloud Run model, pipeline, faults and
// routing as the HTTP emulator, with no socket and no container, fast enough for unit tests and
// driven by Jest's fake timers. Nothing here needs Docker or the global emulator.
import { jest } from '@jest/globals';
import { InProcessCloudRun } from '../../emulator/inprocess.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const PROJECT = 'runway-demo';
const LATEST = 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST';
const REVISION = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION';

/** A v2 call through emu.fetch, as the deployer unless `token` says otherwise. */
async function call(
  emu: InProcessCloudRun,
  method: string,
  path: string,
  body?: unknown,
  token = emu.accessToken(),
): Promise<{ status: number; body: Json }> {
  const url = path.startsWith('http')
    ? path
    : `${emu.urls.run}v2/projects/${PROJECT}/locations/us-central1${path}`;
  const res = await emu.fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
}

const wait = async (emu: InProcessCloudRun, op: Json): Promise<Json> =>
  (await call(emu, 'POST', `${emu.urls.run}v2/${op.name}:wait`, { timeout: '60s' })).body;

const spec = (image: string, extra: Json = {}): Json => ({
  invokerIamDisabled: true,
  ...extra,
  template: { containers: [{ image }], ...(extra.template ?? {}) },
});

/** What a URL answers through probeFetch: "STATUS BODY". */
async function answer(emu: InProcessCloudRun, url: string, init?: RequestInit): Promise<string> {
  const res = await emu.probeFetch(url, init);
  return `${res.status} ${(await res.text()).trim()}`;
}

const shortName = (full: string): string => full.split('/').pop()!;

describe('the in-process Cloud Run, on real timers', () => {
  let emu: InProcessCloudRun;
  beforeEach(async () => {
    emu = await InProcessCloudRun.create({ startupTimeoutSeconds: 1 });
    emu.apps.set('img/a', { handler: () => ({ body: 'revision A' }) });
    emu.apps.set('img/b', { handler: () => ({ body: 'revision B' }) });
  });
  afterEach(() => emu.close());

  it('creates a service from a v2 body, waits its operation, reads it back and serves its URL', async () => {
    const created = await call(emu, 'POST', '/services?serviceId=hello', spec('img/a'));
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      name: expect.stringMatching(/^projects\/runway-demo\/locations\/us-central1\/operations\//),
      metadata: { '@type': 'type.googleapis.com/google.cloud.run.v2.Service' },
    });
    const done = await wait(emu, created.body);
    expect(done).toMatchObject({ done: true, response: { name: expect.stringMatching(/services\/hello$/) } });
    const service = (await call(emu, 'GET', '/services/hello')).body;
    expect(service).toMatchObject({
      generation: '1',
      terminalCondition: { type: 'Ready', state: 'CONDITION_SUCCEEDED' },
      uri: 'https://hello-123456789012.us-central1.run.app',
      template: { containers: [{ image: 'img/a', ports: [{ name: 'http1', containerPort: 8080 }] }] },
      creator: 'deployer@runway-demo.iam.gserviceaccount.com',
    });
    expect(await answer(emu, service.uri)).toBe('200 revision A');
    // The same request log the admin API serves, with the caller IAM resolved.
    expect(emu.traffic.requests.map((r) => [r.api, r.method, r.status, r.caller])).toContainEqual([
      'run',
      'POST',
      200,
      'serviceAccount:deployer@runway-demo.iam.gserviceaccount.com',
    ]);
    // And the v1 view, on the regional host gcloud derives.
    const v1 = await emu.fetch(
      `http://us-central1-run.in-process/apis/serving.knative.dev/v1/namespaces/${PROJECT}/services/hello`,
      { headers: { authorization: `Bearer ${emu.accessToken()}` } },
    );
    expect(((await v1.json()) as Json).status.url).toBe(service.uri);
  });

  it('moves traffic: a weighted split over the service URL, a tag URL to its revision', async () => {
    await wait(emu, (await call(emu, 'POST', '/services?serviceId=split', spec('img/a'))).body);
    const first = (await call(emu, 'GET', '/services/split')).body;
    const patched = await call(emu, 'PATCH', '/services/split', {
      ...first,
      template: { ...first.template, revision: '', containers: [{ image: 'img/b' }] },
      traffic: [
        { type: REVISION, revision: shortName(first.latestReadyRevision), percent: 100 },
        { type: LATEST, percent: 0, tag: 'candidate' },
      ],
    });
    await wait(emu, patched.body);
    const second = (await call(emu, 'GET', '/services/split')).body;
    expect(await answer(emu, second.uri)).toBe('200 revision A');
    const tagged = second.trafficStatuses.find((t: Json) => t.tag === 'candidate');
    expect(tagged.uri).toBe('https://candidate---split-123456789012.us-central1.run.app');
    expect(await answer(emu, tagged.uri)).toBe('200 revision B');

    const split = await call(emu, 'PATCH', '/services/split?updateMask=traffic', {
      traffic: [
        { type: REVISION, revision: shortName(first.latestReadyRevision), percent: 50 },
        { type: LATEST, percent: 50, tag: 'candidate' },
      ],
    });
    await wait(emu, split.body);
    const answers = await Promise.all(Array.from({ length: 10 }, () => answer(emu, second.uri)));
    expect(answers.filter((a) => a === '200 revision A')).toHaveLength(5);
    expect(answers.filter((a) => a === '200 revision B')).toHaveLength(5);

    // A tag removed: its URL is no host any more.
    const untagged = await call(emu, 'PATCH', '/services/split?updateMask=traffic', {
      traffic: [{ type: LATEST, percent: 100 }],
    });
    await wait(emu, untagged.body);
    expect(await answer(emu, tagged.uri)).toMatch(/^404 /);
    expect(await answer(emu, second.uri)).toBe('200 revision B');
  });

  it('applies injected faults as the HTTP emulator does: status, drop, and operation errors', async () => {
    await wait(emu, (await call(emu, 'POST', '/services?serviceId=faulty', spec('img/a'))).body);
    emu.traffic.faults.push({ api: 'run', method: 'GET', path: '/services/faulty$', status: 503, count: 1 });
    const refused = await call(emu, 'GET', '/services/faulty');
    expect(refused).toEqual({
      status: 503,
      body: { error: { code: 503, message: 'Injected fault.', status: 'UNAVAILABLE' } },
    });
    expect(emu.traffic.requests.at(-1)).toMatchObject({ api: 'run', status: 503 });
    expect((await call(emu, 'GET', '/services/faulty')).status).toBe(200);

    emu.traffic.faults.push({ api: 'run', path: '/services/faulty$', drop: true, count: 1 });
    await expect(call(emu, 'GET', '/services/faulty')).rejects.toThrow(TypeError);

    emu.traffic.faults.push({
      api: 'run',
      method: 'PATCH',
      path: '/services/faulty',
      operationError: { code: 13, message: 'boom' },
      count: 1,
    });
    const current = (await call(emu, 'GET', '/services/faulty')).body;
    const patched = await call(emu, 'PATCH', '/services/faulty', { ...current, labels: { a: 'b' } });
    expect((await wait(emu, patched.body)).error).toEqual({ code: 13, message: 'boom' });
  });

  it('fails a revision whose app does not start, with Cloud Run’s reasons; the old one keeps serving', async () => {
    await wait(emu, (await call(emu, 'POST', '/services?serviceId=breaks', spec('img/a'))).body);
    const first = (await call(emu, 'GET', '/services/breaks')).body;
    emu.apps.set('img/crash', { fails: 'exited' });
    const crashed = await call(emu, 'PATCH', '/services/breaks', {
      ...first,
      template: { ...first.template, revision: '', containers: [{ image: 'img/crash' }] },
    });
    const done = await wait(emu, crashed.body);
    expect(done.error.code).toBe(9);
    expect(done.error.message).toMatch(
      /^Revision 'breaks-00002-[a-z]{3}' is not ready and cannot serve traffic\. The user-provided container failed to start and listen on the port defined provided by the PORT=8080 environment variable/,
    );
    const service = (await call(emu, 'GET', '/services/breaks')).body;
    expect(service.terminalCondition).toMatchObject({ state: 'CONDITION_FAILED', reason: 'REVISION_FAILED' });
    expect(service.latestReadyRevision).toBe(first.latestReadyRevision);
    expect(await answer(emu, service.uri)).toBe('200 revision A');

    emu.apps.set('img/missing', { fails: 'image' });
    const missing = await call(emu, 'POST', '/services?serviceId=missing', spec('img/missing'));
    expect((await wait(emu, missing.body)).error).toMatchObject({
      code: 5,
      message: expect.stringMatching(/Image 'img\/missing' not found\.$/),
    });
    // A new service with no ready revision: its URL exists, and nothing serves there.
    const empty = (await call(emu, 'GET', '/services/missing')).body;
    expect(await answer(emu, empty.uri)).toBe('503 Service Unavailable: no revision is serving traffic.');
    expect(await answer(emu, 'https://nothing-123456789012.us-central1.run.app/')).toMatch(/^404 /);
  });

  it('checks IAM for real, against a world the test may change', async () => {
    const body = spec('img/a', { invokerIamDisabled: false });
    await wait(emu, (await call(emu, 'POST', '/services?serviceId=private', body)).body);
    const service = (await call(emu, 'GET', '/services/private')).body;
    expect(await answer(emu, service.uri)).toMatch(/^403 /);
    const runtime = 'runtime@runway-demo.iam.gserviceaccount.com';
    const token = await emu.idToken(runtime, service.uri);
    const asRuntime = { headers: { authorization: `Bearer ${token}` } };
    expect(await answer(emu, service.uri, asRuntime)).toMatch(/^403 /);
    emu.world.addBinding(`projects/${PROJECT}`, 'roles/run.invoker', [`serviceAccount:${runtime}`]);
    expect(await answer(emu, service.uri, asRuntime)).toBe('200 revision A');

    emu.world.removeBinding(`projects/${PROJECT}`, 'roles/run.admin', [
      'serviceAccount:deployer@runway-demo.iam.gserviceaccount.com',
    ]);
    const denied = await call(emu, 'GET', '/services/private');
    expect(denied.status).toBe(403);
    expect(denied.body.error.details[0]).toMatchObject({ reason: 'IAM_PERMISSION_DENIED' });
  });

  it('starts a revision’s containers in dependsOn order and routes to the ingress container', async () => {
    emu.apps.set('img/sidecar', { handler: () => ({ body: 'sidecar' }) });
    const created = await call(emu, 'POST', '/services?serviceId=sidecars', {
      invokerIamDisabled: true,
      template: {
        containers: [
          { name: 'side', image: 'img/sidecar', startupProbe: { tcpSocket: { port: 9000 } } },
          { name: 'app', image: 'img/a', ports: [{ containerPort: 8080 }], dependsOn: ['side'] },
        ],
      },
    });
    expect((await wait(emu, created.body)).error).toBeUndefined();
    const service = (await call(emu, 'GET', '/services/sidecars')).body;
    expect(await answer(emu, service.uri)).toBe('200 revision A');
    const [instance] = [...emu.runtime.instances.values()];
    expect(instance!.started).toEqual(['side', 'app']);
    expect(instance!.containers.map((c) => [c.name, c.context.env.PORT])).toEqual([
      ['side', undefined],
      ['app', '8080'],
    ]);
  });

  it('serves Secret Manager and IAM Credentials too, with their own permission checks', async () => {
    const owner = emu.accessToken('owner@runway-demo.iam.gserviceaccount.com');
    const accessed = await emu.fetch(
      `${emu.urls.secretmanager}v1/projects/${PROJECT}/secrets/greeting/versions/latest:access`,
      { headers: { authorization: `Bearer ${owner}` } },
    );
    const payload = ((await accessed.json()) as Json).payload;
    expect(Buffer.from(payload.data, 'base64').toString()).toBe('hello from Secret Manager');
    const deployerReads = await emu.fetch(
      `${emu.urls.secretmanager}v1/projects/${PROJECT}/secrets/greeting/versions/latest:access`,
      { headers: { authorization: `Bearer ${emu.accessToken()}` } },
    );
    expect(deployerReads.status).toBe(403);
    const minted = await emu.fetch(
      `${emu.urls.iamcredentials}v1/projects/-/serviceAccounts/runtime@runway-demo.iam.gserviceaccount.com:generateAccessToken`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' },
        body: JSON.stringify({ scope: ['https://www.googleapis.com/auth/cloud-platform'] }),
      },
    );
    expect(minted.status).toBe(200);
    expect(((await minted.json()) as Json).accessToken).toMatch(/^ya29\./);
  });

  it('refuses hosts it does not emulate, as a fetch to an unknown host fails', async () => {
    await expect(emu.fetch('http://sts.in-process/v1/token')).rejects.toThrow('fetch failed');
  });
});

describe('the in-process Cloud Run, on fake timers', () => {
  let emu: InProcessCloudRun;
  beforeEach(async () => {
    jest.useFakeTimers();
    emu = await InProcessCloudRun.create({ startupTimeoutSeconds: 20 });
  });
  afterEach(async () => {
    await emu.close();
    jest.useRealTimers();
  });

  it('runs a slow start-up, :wait and injected latency on the fake clock, in no real time', async () => {
    const started = Date.now();
    // Within the 20 s startup allowance (a start-up longer than that fails the revision).
    emu.apps.set('img/slow', { startupMs: 15_000 });
    const created = await call(emu, 'POST', '/services?serviceId=slow', spec('img/slow'));
    // :wait holds until the operation is done: 15 fake seconds away.
    const waiting = wait(emu, created.body);
    let settled = false;
    void waiting.then(() => (settled = true));
    await jest.advanceTimersByTimeAsync(14_000);
    expect(settled).toBe(false);
    expect((await call(emu, 'GET', '/services/slow')).body.reconciling).toBe(true);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(await waiting).toMatchObject({ done: true, response: { name: expect.stringMatching(/slow$/) } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(15_000);

    emu.traffic.faults.push({
      api: 'run',
      method: 'GET',
      path: '/services/slow$',
      latencyMs: 5_000,
      count: 1,
    });
    const slowRead = call(emu, 'GET', '/services/slow');
    await jest.advanceTimersByTimeAsync(5_000);
    expect((await slowRead).status).toBe(200);
  });

  it('fails a revision that never listens once the startup allowance passes', async () => {
    emu.apps.set('img/silent', { fails: 'timeout' });
    const created = await call(emu, 'POST', '/services?serviceId=silent', spec('img/silent'));
    const waiting = wait(emu, created.body);
    await jest.runAllTimersAsync();
    expect((await waiting).error).toMatchObject({ code: 9 });

    // A configured HTTP startup probe that keeps answering 503 fails as a probe failure.
    emu.apps.set('img/unhealthy', { handler: () => ({ status: 503 }) });
    const probed = await call(
      emu,
      'POST',
      '/services?serviceId=unhealthy',
      spec('img/unhealthy', {
        template: {
          containers: [
            {
              image: 'img/unhealthy',
              startupProbe: { httpGet: { path: '/ready' }, periodSeconds: 2, failureThreshold: 3 },
            },
          ],
        },
      }),
    );
    const probing = wait(emu, probed.body);
    await jest.runAllTimersAsync();
    expect((await probing).error.message).toMatch(
      /The user-provided container failed the configured startup probe checks\.$/,
    );
  });
});
