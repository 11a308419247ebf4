// The rollout's compensation logic, fast: observe → plan → executor, run against the emulator's own
// Cloud Run model in-process (no socket, no container) on Jest's fake timers. Every step kind is
// driven into each of: a failure, a passed deadline, a concurrent change by someone else, and an
// undo that fails. Each case asserts what serves afterwards and what the run said. The end-to-end
// suite proves the same logic against real containers; this proves every branch of it in seconds.
import { jest } from '@jest/globals';
import { InProcessCloudRun, type AppBehaviour, type Fault } from '../../emulator/inprocess.js';
import { DEFAULTS } from '../../emulator/seed.js';
import { Deadline } from '../../src/common/deadline.js';
import { CloudRunClient, type CloudRunApi } from '../../src/gcp/run.js';
import type { IamPolicy, Service, TrafficTarget } from '../../src/gcp/run-types.js';
import { RECORD_KEY_PREFIX, withRecord } from '../../src/deploy/rollout-record.js';
import { servingSplit } from '../../src/deploy/traffic.js';
import type { RegionOutcome } from '../../src/rollout/outcome.js';
import { STEP_KINDS, type SpecChanges } from '../../src/rollout/plan.js';
import type { RolloutSettings } from '../../src/rollout/planner.js';
import { rolloutRegion, type HeldRollout } from '../../src/rollout/region.js';
import { rolloutSettings } from '../helpers/rollout-settings.js';

const ref = { project: DEFAULTS.projectId, region: DEFAULTS.region, service: 'svc' };
const STABLE = 'us-docker.pkg.dev/runway-demo/runway/app@sha256:' + '1'.repeat(64);
const NEXT = 'us-docker.pkg.dev/runway-demo/runway/app@sha256:' + '2'.repeat(64);
const OTHER = 'us-docker.pkg.dev/runway-demo/runway/app@sha256:' + '3'.repeat(64);
const REVISION = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION' as const;
const CANDIDATE_TAG = 'rw-42-1-abc';
const RECORD = 'runway.dev/rollout-42-1-abcdef';

const ok = (body: string): AppBehaviour => ({ handler: () => ({ body: `${body}\n` }) });
const broken: AppBehaviour = { handler: () => ({ status: 500, body: 'broken\n' }) };
/** Healthy for its first `n` requests, failing from then on. */
const degrading = (n: number): AppBehaviour => {
  let served = 0;
  return { handler: () => (++served <= n ? { body: 'next\n' } : { status: 500, body: 'degraded\n' }) };
};

const settingsWith = (over: Partial<RolloutSettings> = {}): RolloutSettings =>
  rolloutSettings({
    healthCheck: { ...rolloutSettings().healthCheck, timeoutSeconds: 10 },
    candidateTag: CANDIDATE_TAG,
    recordKey: RECORD,
    ...over,
  });

const changes: SpecChanges = {
  image: NEXT,
  spec: {},
  envVarsUpdateStrategy: 'merge',
  secretsUpdateStrategy: 'merge',
  labels: {},
};

/** A Cloud Run API whose calls first run `hook` (someone else acting at that moment). */
type Hook = (method: string, args: unknown[]) => Promise<void> | void;

interface Scene {
  emu: InProcessCloudRun;
  api: CloudRunClient;
  /** Someone else with their own credentials: the project's owner. */
  other: CloudRunClient;
  /** The revision serving before the run. */
  stable: string;
  hooks: Hook[];
  probeHooks: Array<(url: string) => Promise<void> | void>;
  logs: string[];
  warnings: string[];
}

/** The service `svc` serving STABLE (public), with one older revision that serves nothing. */
async function scene(): Promise<Scene> {
  const emu = await InProcessCloudRun.create({ startupTimeoutSeconds: 5 });
  emu.apps.set(STABLE, ok('stable')).set(NEXT, ok('next')).set(OTHER, ok('other'));
  await emu.seed({
    services: [
      {
        project: ref.project,
        location: ref.region,
        serviceId: ref.service,
        service: { invokerIamDisabled: true, template: { containers: [{ image: STABLE }] } },
        history: 1,
      },
    ],
  });
  const api = new CloudRunClient(async () => emu.accessToken(), emu.urls.run, emu.fetch);
  const other = new CloudRunClient(async () => emu.accessToken(DEFAULTS.owner), emu.urls.run, emu.fetch);
  const live = (await api.getService(ref))!;
  return {
    emu,
    api,
    other,
    stable: live.latestReadyRevision!.split('/').pop()!,
    hooks: [],
    probeHooks: [],
    logs: [],
    warnings: [],
  };
}

function hooked(s: Scene): CloudRunApi {
  return new Proxy(s.api, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        for (const hook of s.hooks) await hook(String(prop), args);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** Runs `fn` the first time `method` is called with arguments `when` accepts. */
function once(
  s: Scene,
  method: string,
  fn: () => Promise<void>,
  when: (args: unknown[]) => boolean = () => true,
): void {
  let done = false;
  s.hooks.push(async (m, args) => {
    if (done || m !== method || !when(args)) return;
    done = true;
    await fn();
  });
}

/** Runs `fn` before the `n`th health probe. */
function beforeProbe(s: Scene, n: number, fn: () => Promise<void>): void {
  let seen = 0;
  s.probeHooks.push(async () => {
    if (++seen === n) await fn();
  });
}

/** Drives fake time until `p` settles. */
async function drive<T>(p: Promise<T>): Promise<T> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!settled) await jest.advanceTimersByTimeAsync(500);
  return p;
}

interface Run {
  held: HeldRollout | undefined;
  outcome: RegionOutcome | undefined;
  error: Error | undefined;
}

async function rollout(s: Scene, over: Partial<RolloutSettings> = {}, deadlineSeconds = 600): Promise<Run> {
  const deps = {
    api: hooked(s),
    identity: DEFAULTS.deployer,
    idToken: (audience: string) => s.emu.idToken(DEFAULTS.deployer, audience),
    log: (line: string) => s.logs.push(line),
    warn: (line: string) => s.warnings.push(line),
    debug: () => undefined,
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      for (const hook of s.probeHooks) await hook(String(input));
      return s.emu.probeFetch(input, init);
    }) as typeof fetch,
  };
  try {
    const held = await drive(
      rolloutRegion(deps, ref, changes, settingsWith(over), { deadline: Deadline.in(deadlineSeconds) }),
    );
    return { held, outcome: held.outcome, error: undefined };
  } catch (error) {
    return { held: undefined, outcome: undefined, error: error as Error };
  }
}

const live = async (s: Scene): Promise<Service> => (await s.api.getService(ref))!;
const serving = async (s: Scene): Promise<Record<string, number>> => servingSplit(await live(s));
const tags = async (s: Scene): Promise<string[]> =>
  ((await live(s)).traffic ?? []).flatMap((t) => (t.tag ? [t.tag] : []));
const fault = (s: Scene, f: Omit<Fault, 'count'> & { count?: number }): void => {
  s.emu.faults.push({ api: 'run', count: 1, ...f });
};
const mutating = (s: Scene): string[] =>
  s.emu.traffic.requests
    .filter((r) => r.method !== 'GET' && !r.path.includes('validateOnly') && !r.path.endsWith(':wait'))
    .filter((r) => !r.path.includes(':testIamPermissions'))
    .map((r) => `${r.method} ${r.path}`);

/** The keys of the rollout records on the service. */
const records = async (s: Scene): Promise<string[]> =>
  Object.keys((await live(s)).annotations ?? {}).filter((k) => k.startsWith(RECORD_KEY_PREFIX));
const ANNOTATIONS_PATCH = 'updateMask=annotations';

/** Someone else sets the service's annotations. */
async function otherAnnotates(s: Scene, change: (now: Record<string, string>) => Record<string, string>) {
  const service = (await s.other.getService(ref))!;
  const op = await s.other.updateAnnotations(ref, change(service.annotations ?? {}), service.etag);
  await s.other.waitOperation(op, Date.now() + 60_000);
}

/** Someone else moves every share to `revision`, by name. */
async function otherServes(s: Scene, targets: TrafficTarget[]): Promise<void> {
  const service = (await s.other.getService(ref))!;
  const op = await s.other.updateTraffic(ref, targets, service.etag);
  await s.other.waitOperation(op, Date.now() + 60_000);
}

/** Someone else deploys `image` with no traffic (a newer revision, not routed). */
async function otherDeploys(s: Scene, image: string): Promise<void> {
  const service = (await s.other.getService(ref))!;
  const { template } = service;
  const op = await s.other.updateService(ref, {
    ...service,
    template: { ...template, revision: '', containers: [{ ...template.containers![0]!, image }] },
    traffic: (service.traffic ?? []).map((t) =>
      t.type === 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST'
        ? {
            type: REVISION,
            revision: service.latestReadyRevision!.split('/').pop()!,
            percent: t.percent ?? 0,
          }
        : t,
    ),
  });
  await s.other.waitOperation(op, Date.now() + 60_000);
}

async function policy(s: Scene): Promise<IamPolicy> {
  return s.api.getIamPolicy(ref);
}
const allUsersMayInvoke = async (s: Scene): Promise<boolean> =>
  ((await policy(s)).bindings ?? []).some(
    (b) => b.role === 'roles/run.invoker' && b.members.includes('allUsers'),
  );

/** The run failed, naming `cause`, and what served before serves again, with no tag of Runway's. */
async function expectRolledBack(s: Scene, run: Run, cause: RegExp): Promise<void> {
  expect(run.outcome?.healthy).toBe(false);
  expect(run.outcome?.failure).toMatch(cause);
  expect(await serving(s)).toEqual({ [s.stable]: 100 });
  expect(await tags(s)).not.toContain(CANDIDATE_TAG);
  expect(run.outcome?.traffic).toEqual({ [s.stable]: 100 });
}

const PROGRESSIVE = {
  steps: [50, 100],
  waitSeconds: 3,
  maxErrorRate: 0,
  maxLatencyMs: undefined,
  gate: undefined,
};
const STEP_PATCH = 'updateMask=traffic';

type Case = 'failure' | 'deadline' | 'concurrent change' | 'failing undo';
type Scenario = (s: Scene) => Promise<void>;

/**
 * Every step kind, with the phase before the plan (observe), × every case. The test below fails
 * when a kind lacks a case, so a new step kind cannot land without its compensation proven.
 */
const MATRIX: Record<'observe' | (typeof STEP_KINDS)[number], Record<Case, Scenario>> = {
  observe: {
    failure: async (s) => {
      // Every one of the HTTP layer's five attempts fails.
      fault(s, { method: 'GET', path: '/services/svc$', status: 500, count: 5 });
      const run = await rollout(s);
      expect(run.error?.message).toMatch(/Injected fault/);
      expect(s.emu.faults).toEqual([]);
      expect(mutating(s)).toEqual([]);
      expect(await serving(s)).toEqual({ [s.stable]: 100 });
    },
    deadline: async (s) => {
      fault(s, { method: 'GET', path: '/services/svc$', latencyMs: 120_000 });
      const run = await rollout(s, {}, 60);
      expect(run.outcome?.failure).toMatch(/deploy_timeout passed before recording on the service/);
      expect(mutating(s)).toEqual([]);
      expect(run.outcome?.rolledBack).toBe(false);
    },
    'concurrent change': async (s) => {
      // The service changes between the read and the dry run: the dry run is refused on the etag,
      // and the service is observed and planned again.
      once(s, 'updateService', () => otherDeploys(s, OTHER));
      const run = await rollout(s);
      expect(run.outcome?.healthy).toBe(true);
      expect(s.logs.join('\n')).toMatch(/changed while Runway was planning .*; reading it again/);
      expect(await serving(s)).toEqual({ [run.outcome!.revision]: 100 });
    },
    'failing undo': async (s) => {
      // Nothing changed before the plan was made, so there is nothing to undo, and none is tried.
      fault(s, { method: 'PATCH', path: 'validateOnly', status: 400 });
      fault(s, { method: 'PATCH', path: STEP_PATCH, status: 500, count: 10 });
      const run = await rollout(s);
      expect(run.error?.message).toMatch(/Injected fault/);
      expect(mutating(s)).toEqual([]);
    },
  },
  'record-rollout': {
    failure: async (s) => {
      // Fail closed: a rollout whose record could not be written changes nothing else.
      fault(s, { method: 'PATCH', path: ANNOTATIONS_PATCH, status: 400 });
      const run = await rollout(s);
      expect(run.outcome).toMatchObject({ healthy: false, rolledBack: false });
      expect(run.outcome?.failure).toMatch(/Injected fault/);
      expect(mutating(s).filter((r) => !r.includes(ANNOTATIONS_PATCH))).toEqual([]);
      expect(await serving(s)).toEqual({ [s.stable]: 100 });
      expect(await records(s)).toEqual([]);
    },
    deadline: async (s) => {
      fault(s, { method: 'PATCH', path: ANNOTATIONS_PATCH, operationDelayMs: 120_000 });
      const run = await rollout(s, {}, 60);
      expect(run.outcome?.failure).toMatch(
        /deploy_timeout passed while Cloud Run was still applying a change/,
      );
      expect(mutating(s).filter((r) => !r.includes(ANNOTATIONS_PATCH))).toEqual([]);
      expect(await records(s)).toEqual([]);
      expect(await serving(s)).toEqual({ [s.stable]: 100 });
    },
    'concurrent change': async (s) => {
      // Someone annotates the service between Runway's read and its record: the etag refuses the
      // record, which is written again beside their annotation, and only the record goes at the end.
      once(s, 'updateAnnotations', () =>
        otherAnnotates(s, (now) => ({ ...now, 'example.com/owner': 'ops' })),
      );
      const run = await rollout(s);
      expect(run.outcome?.healthy).toBe(true);
      expect(await records(s)).toEqual([RECORD]);
      await drive(run.held!.afterwards());
      expect((await live(s)).annotations).toEqual({ 'example.com/owner': 'ops' });
    },
    'failing undo': async (s) => {
      // The traffic goes back all the same; the record stays until it expires, and the run says so.
      s.emu.apps.set(NEXT, { fails: 'exited' });
      fault(s, { method: 'PATCH', path: ANNOTATIONS_PATCH, status: 400, skip: 1, count: 5 });
      const run = await rollout(s);
      await expectRolledBack(s, run, /Cloud Run could not start revision/);
      expect(run.outcome?.rolledBack).toBe(true);
      expect(run.outcome?.failure).toMatch(
        /Runway's rollout record runway\.dev\/rollout-42-1-abcdef stays on svc in us-central1 until it expires: .*Injected fault/,
      );
      expect(await records(s)).toEqual([RECORD]);
    },
  },
  'create-candidate': {
    failure: async (s) => {
      s.emu.apps.set(NEXT, { fails: 'exited' });
      const run = await rollout(s);
      await expectRolledBack(s, run, /Cloud Run could not start revision .* of svc in us-central1/);
      expect(run.outcome?.failure).toMatch(/The previous revision .* keeps serving/);
    },
    deadline: async (s) => {
      fault(s, { method: 'PATCH', path: '/services/svc$', operationDelayMs: 120_000 });
      const run = await rollout(s, {}, 60);
      await expectRolledBack(s, run, /deploy_timeout passed while Cloud Run was still applying a change/);
      expect(s.logs).toContain('waiting for the change Cloud Run is still applying before undoing it');
    },
    'concurrent change': async (s) => {
      // Someone deploys between Runway's dry run and its change: the etag refuses the change, and
      // it is planned again from a new read.
      once(
        s,
        'updateService',
        () => otherDeploys(s, OTHER),
        (args) => args[2] !== true,
      );
      const run = await rollout(s);
      expect(run.outcome?.healthy).toBe(true);
      expect(await serving(s)).toEqual({ [run.outcome!.revision]: 100 });
    },
    'failing undo': async (s) => {
      s.emu.apps.set(NEXT, { fails: 'exited' });
      fault(s, { method: 'PATCH', path: STEP_PATCH, status: 400, count: 5 });
      const run = await rollout(s);
      expect(run.outcome?.failure).toMatch(
        /Runway could not undo everything: the traffic split put back as it was \(Injected fault/,
      );
      expect(run.outcome?.rolledBack).toBe(false);
      // The failed revision never took traffic: what served still does, but Runway's tag is left.
      expect(await serving(s)).toEqual({ [s.stable]: 100 });
      expect(await tags(s)).toContain(CANDIDATE_TAG);
    },
  },
  'public-access': {
    failure: async (s) => {
      fault(s, { method: 'POST', path: ':setIamPolicy$', status: 400 });
      const run = await rollout(s, { allowUnauthenticated: true });
      await expectRolledBack(s, run, /Injected fault/);
      expect(s.logs).not.toContain('undo: who may invoke the service put back as it was');
      expect(await allUsersMayInvoke(s)).toBe(false);
    },
    deadline: async (s) => {
      fault(s, { method: 'POST', path: ':setIamPolicy$', latencyMs: 120_000 });
      const run = await rollout(s, { allowUnauthenticated: true }, 60);
      await expectRolledBack(s, run, /deploy_timeout passed before checking revision/);
      expect(s.logs).toContain('undo: who may invoke the service put back as it was');
      expect(await allUsersMayInvoke(s)).toBe(false);
    },
    'concurrent change': async (s) => {
      // Someone grants a member between Runway's read of the policy and its write: the etag
      // refuses the write, and Runway reads again and keeps their member.
      once(s, 'setIamPolicy', async () => {
        const current = await s.other.getIamPolicy(ref);
        await s.other.setIamPolicy(ref, {
          ...current,
          bindings: [
            ...(current.bindings ?? []),
            { role: 'roles/run.invoker', members: ['user:ops@example.com'] },
          ],
        });
      });
      const run = await rollout(s, { allowUnauthenticated: true });
      expect(run.outcome?.healthy).toBe(true);
      const members = ((await policy(s)).bindings ?? []).flatMap((b) => b.members);
      expect(members).toEqual(expect.arrayContaining(['allUsers', 'user:ops@example.com']));
    },
    'failing undo': async (s) => {
      s.emu.apps.set(NEXT, broken);
      fault(s, { method: 'POST', path: ':setIamPolicy$', status: 400, skip: 1 });
      const run = await rollout(s, { allowUnauthenticated: true });
      expect(run.outcome?.failure).toMatch(
        /could not undo everything: who may invoke the service put back as it was \(Injected fault/,
      );
      // The other undo still ran: the traffic is as it was, though allUsers stays.
      expect(await serving(s)).toEqual({ [s.stable]: 100 });
      expect(await tags(s)).not.toContain(CANDIDATE_TAG);
      expect(await allUsersMayInvoke(s)).toBe(true);
    },
  },
  'verify-on-tag': {
    failure: async (s) => {
      s.emu.apps.set(NEXT, broken);
      const run = await rollout(s);
      await expectRolledBack(
        s,
        run,
        /on its tag URL, before taking traffic\) failed its health check \(\/: HTTP 500/,
      );
      expect(run.outcome?.checks).toEqual([expect.objectContaining({ on: 'tag', healthy: false })]);
    },
    deadline: async (s) => {
      s.emu.apps.set(NEXT, broken);
      const run = await rollout(
        s,
        { healthCheck: { ...settingsWith().healthCheck, timeoutSeconds: 120 } },
        30,
      );
      await expectRolledBack(s, run, /deploy_timeout passed while checking Revision .* \(on its tag URL/);
    },
    'concurrent change': async (s) => {
      // Someone moves Runway's tag to the serving revision while it is being checked: what passed
      // may not have been the new revision, so the check fails.
      beforeProbe(s, 2, () =>
        otherServes(s, [
          { type: REVISION, revision: s.stable, percent: 100 },
          { type: REVISION, revision: s.stable, percent: 0, tag: CANDIDATE_TAG },
        ]),
      );
      const run = await rollout(s);
      await expectRolledBack(s, run, /The tag 'rw-42-1-abc' stopped routing to revision/);
    },
    'failing undo': async (s) => {
      s.emu.apps.set(NEXT, broken);
      fault(s, { method: 'PATCH', path: STEP_PATCH, status: 400 });
      const run = await rollout(s);
      expect(run.outcome?.failure).toMatch(/could not undo everything: the traffic split put back/);
      expect(await tags(s)).toContain(CANDIDATE_TAG);
      expect(await serving(s)).toEqual({ [s.stable]: 100 });
    },
  },
  'traffic-step': {
    failure: async (s) => {
      s.emu.apps.set(NEXT, degrading(3));
      const run = await rollout(s, { progressive: PROGRESSIVE });
      await expectRolledBack(s, run, /failed the 50% step: \d+ of \d+ probes failed/);
      expect(run.outcome?.steps).toEqual([
        expect.objectContaining({
          percent: 50,
          passed: false,
          failedProbes: [expect.stringMatching(/^HTTP 500/)],
        }),
      ]);
    },
    deadline: async (s) => {
      const run = await rollout(s, { progressive: { ...PROGRESSIVE, waitSeconds: 120 } }, 60);
      await expectRolledBack(s, run, /deploy_timeout passed while measuring the 50% step/);
    },
    'concurrent change': async (s) => {
      // Someone else moves the traffic before the first step: Runway does not overwrite it, and
      // the undo leaves their split, removing only Runway's own tag.
      const old = `${ref.service}-00001-old`;
      once(s, 'updateTraffic', () => otherServes(s, [{ type: REVISION, revision: old, percent: 100 }]));
      const run = await rollout(s, { progressive: PROGRESSIVE });
      expect(run.outcome?.healthy).toBe(false);
      expect(run.outcome?.failure).toMatch(
        /Someone else changed the traffic of svc in us-central1 during this run/,
      );
      expect(await serving(s)).toEqual({ [old]: 100 });
      expect(await tags(s)).not.toContain(CANDIDATE_TAG);
    },
    'failing undo': async (s) => {
      s.emu.apps.set(NEXT, degrading(3));
      fault(s, { method: 'PATCH', path: STEP_PATCH, status: 400, skip: 1, count: 5 });
      const run = await rollout(s, { progressive: PROGRESSIVE });
      expect(run.outcome?.failure).toMatch(/could not undo everything: the traffic split put back/);
      // The outcome says truthfully what serves: the step's split.
      expect(run.outcome?.traffic).toEqual({ [s.stable]: 50, [run.outcome!.revision]: 50 });
      expect(await serving(s)).toEqual(run.outcome?.traffic);
    },
  },
  promote: {
    failure: async (s) => {
      fault(s, { method: 'PATCH', path: STEP_PATCH, status: 400 });
      await expectRolledBack(s, await rollout(s), /Injected fault/);
    },
    deadline: async (s) => {
      fault(s, { method: 'PATCH', path: STEP_PATCH, operationDelayMs: 120_000 });
      const run = await rollout(s, {}, 60);
      await expectRolledBack(s, run, /deploy_timeout passed while Cloud Run was still applying a change/);
    },
    'concurrent change': async (s) => {
      const old = `${ref.service}-00001-old`;
      once(s, 'updateTraffic', () => otherServes(s, [{ type: REVISION, revision: old, percent: 100 }]));
      const run = await rollout(s);
      expect(run.outcome?.failure).toMatch(/Someone else changed the traffic/);
      expect(await serving(s)).toEqual({ [old]: 100 });
      expect(await tags(s)).not.toContain(CANDIDATE_TAG);
    },
    'failing undo': async (s) => {
      fault(s, { method: 'PATCH', path: STEP_PATCH, status: 400, count: 2 });
      const run = await rollout(s);
      expect(run.outcome?.failure).toMatch(/could not undo everything: the traffic split put back/);
      expect(await serving(s)).toEqual({ [s.stable]: 100 });
    },
  },
  'verify-live': {
    failure: async (s) => {
      s.emu.apps.set(NEXT, degrading(3));
      const run = await rollout(s);
      await expectRolledBack(s, run, /\(after taking traffic\) failed its health check/);
      expect(run.outcome?.checks.map((c) => [c.on, c.healthy])).toEqual([
        ['tag', true],
        ['live', false],
      ]);
    },
    deadline: async (s) => {
      s.emu.apps.set(NEXT, degrading(3));
      const run = await rollout(
        s,
        { healthCheck: { ...settingsWith().healthCheck, timeoutSeconds: 120 } },
        30,
      );
      await expectRolledBack(
        s,
        run,
        /deploy_timeout passed while checking Revision .* \(after taking traffic\)/,
      );
    },
    'concurrent change': async (s) => {
      // Someone moves the traffic back while the service URL is being checked: it can no longer
      // vouch for the new revision; the undo leaves their split.
      const old = `${ref.service}-00001-old`;
      beforeProbe(s, 5, () => otherServes(s, [{ type: REVISION, revision: old, percent: 100 }]));
      const run = await rollout(s);
      // The old revision answers 503 here (the emulator keeps seeded history scaled to zero), or
      // passes and the confirming read shows the share moved: either way the check fails.
      expect(run.outcome?.failure).toMatch(
        /failed its health check|serves 0% of svc in us-central1, not the 100% Runway gave it/,
      );
      expect(run.outcome?.failure).toMatch(/Someone else changed the traffic/);
      expect(await serving(s)).toEqual({ [old]: 100 });
      expect(await tags(s)).not.toContain(CANDIDATE_TAG);
    },
    'failing undo': async (s) => {
      s.emu.apps.set(NEXT, degrading(3));
      fault(s, { method: 'PATCH', path: STEP_PATCH, status: 400, skip: 1 });
      const run = await rollout(s);
      expect(run.outcome?.failure).toMatch(/could not undo everything: the traffic split put back/);
      expect(run.outcome?.traffic).toEqual({ [run.outcome!.revision]: 100 });
    },
  },
  'clean-up': {
    failure: async (s) => {
      fault(s, { method: 'PATCH', path: STEP_PATCH, status: 400, skip: 1 });
      await expectRolledBack(s, await rollout(s), /Injected fault/);
    },
    deadline: async (s) => {
      fault(s, { method: 'PATCH', path: STEP_PATCH, latencyMs: 120_000, skip: 1 });
      const run = await rollout(s, {}, 60);
      await expectRolledBack(s, run, /deploy_timeout passed/);
    },
    'concurrent change': async (s) => {
      // Someone deploys a newer revision (no traffic) while the service URL is checked: the clean-up
      // still removes Runway's tag, but leaves the split by name instead of following LATEST.
      beforeProbe(s, 5, () => otherDeploys(s, OTHER));
      const run = await rollout(s);
      expect(run.outcome?.healthy).toBe(true);
      const service = await live(s);
      expect(service.traffic).toEqual([{ type: REVISION, revision: run.outcome!.revision, percent: 100 }]);
    },
    'failing undo': async (s) => {
      fault(s, { method: 'PATCH', path: STEP_PATCH, status: 400, skip: 1, count: 2 });
      const run = await rollout(s);
      expect(run.outcome?.failure).toMatch(/could not undo everything/);
      expect(run.outcome?.traffic).toEqual(await serving(s));
    },
  },
  'clear-record': {
    failure: async (s) => {
      fault(s, { method: 'PATCH', path: ANNOTATIONS_PATCH, status: 400, skip: 1 });
      const run = await rollout(s);
      await drive(run.held!.afterwards());
      expect(run.outcome).toMatchObject({ healthy: true, rolledBack: false });
      expect(s.logs.join('\n')).toMatch(
        /clear record failed, which changes nothing of the outcome: .*Injected fault/,
      );
      expect(await records(s)).toEqual([RECORD]);
    },
    deadline: async (s) => {
      const run = await rollout(s, {}, 60);
      await jest.advanceTimersByTimeAsync(120_000);
      await drive(run.held!.afterwards());
      // Past the deploy's deadline, removing the record gets a grace period of its own.
      expect(await records(s)).toEqual([]);
    },
    'concurrent change': async (s) => {
      const run = await rollout(s);
      once(
        s,
        'updateAnnotations',
        () => otherAnnotates(s, (now) => ({ ...now, 'example.com/owner': 'ops' })),
        (args) => !(RECORD in (args[1] as Record<string, string>)),
      );
      await drive(run.held!.afterwards());
      expect((await live(s)).annotations).toEqual({ 'example.com/owner': 'ops' });
    },
    'failing undo': async (s) => {
      // Removing the record has no undo, and failing to remove it never undoes the rollout.
      fault(s, { method: 'PATCH', path: ANNOTATIONS_PATCH, status: 400, skip: 1, count: 5 });
      const run = await rollout(s, { keepRevisions: 0 });
      await drive(run.held!.afterwards());
      expect(run.outcome).toMatchObject({ healthy: true, rolledBack: false });
      expect(await serving(s)).toEqual({ [run.outcome!.revision]: 100 });
      expect(s.logs.filter((l) => l.startsWith('undo'))).toEqual([]);
      // Pruning still ran; the record kept what it names, which served before anyway.
      expect(run.outcome?.pruned).toEqual(['svc-00001-old']);
    },
  },
  prune: {
    failure: async (s) => {
      fault(s, { method: 'DELETE', path: '/revisions/', status: 500, count: 50 });
      const run = await rollout(s, { keepRevisions: 0 });
      await drive(run.held!.afterwards());
      expect(run.outcome).toMatchObject({ healthy: true, rolledBack: false, pruned: [] });
      expect(s.warnings.join('\n')).toMatch(/keep_revisions: could not delete revision svc-00001-old/);
    },
    deadline: async (s) => {
      const run = await rollout(s, { keepRevisions: 0 }, 60);
      await jest.advanceTimersByTimeAsync(120_000);
      await drive(run.held!.afterwards());
      // Past the deploy's deadline, pruning gets a grace period of its own.
      expect(run.outcome?.pruned).toEqual(expect.arrayContaining(['svc-00001-old']));
    },
    'concurrent change': async (s) => {
      const run = await rollout(s, { keepRevisions: 0 });
      // Another rollout starts, recording that its undo routes back to the old revision, which
      // serves nothing and carries no tag: pruning leaves it, and says why.
      const other = 'runway.dev/rollout-77-1-xyz';
      const needs = { revisions: ['svc-00001-old'], until: Date.now() + 600_000 };
      await otherAnnotates(s, (now) => withRecord(now, other, needs));
      await drive(run.held!.afterwards());
      expect(run.outcome?.pruned).toEqual([]);
      expect(s.logs.join('\n')).toMatch(
        /kept svc-00001-old: a rollout still running may route traffic back to it \(runway\.dev\/rollout-77-1-xyz/,
      );
      expect(await records(s)).toEqual([other]);
    },
    'failing undo': async (s) => {
      // What is deleted cannot come back, so a failing prune never undoes the rollout it follows.
      fault(s, { method: 'DELETE', path: '/revisions/', status: 400, count: 50 });
      const run = await rollout(s, { keepRevisions: 0 });
      await drive(run.held!.afterwards());
      expect(run.outcome).toMatchObject({ healthy: true, rolledBack: false });
      expect(await serving(s)).toEqual({ [run.outcome!.revision]: 100 });
      expect(s.logs.filter((l) => l.startsWith('undo'))).toEqual([]);
    },
  },
};

const CASES: Case[] = ['failure', 'deadline', 'concurrent change', 'failing undo'];

describe('the rollout against the in-process Cloud Run', () => {
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('has every step kind in the matrix, each with every case', () => {
    expect(Object.keys(MATRIX).sort()).toEqual(['observe', ...STEP_KINDS].sort());
    for (const cases of Object.values(MATRIX)) expect(Object.keys(cases).sort()).toEqual([...CASES].sort());
  });

  it('deploys a healthy revision: checked on its tag, promoted, checked live, tag removed, following LATEST', async () => {
    const s = await drive(scene());
    const run = await rollout(s);
    expect(run.outcome).toMatchObject({ healthy: true, rolledBack: false, previousRevision: s.stable });
    expect(run.outcome?.timeline.map((t) => t.name)).toEqual([
      'plan',
      'record rollout',
      'deploy and ready',
      'verify on tag',
      'promote',
      'verify live',
      'clean up',
    ]);
    expect((await live(s)).traffic).toEqual([
      { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 },
    ]);
    expect(await serving(s)).toEqual({ [run.outcome!.revision]: 100 });
    expect(run.outcome?.plan[1]).toMatch(/^deploy and ready: deploy svc-00002-[a-z]{3} /);
  });

  describe("update_traffic_flags' tag changes", () => {
    /** The service before the run: STABLE serves, tagged `old` and `keep`; and the run's flags. */
    async function tagged(s: Scene): Promise<Partial<RolloutSettings>> {
      await otherServes(s, [
        { type: REVISION, revision: s.stable, percent: 100 },
        { type: REVISION, revision: s.stable, percent: 0, tag: 'old' },
        { type: REVISION, revision: s.stable, percent: 0, tag: 'keep' },
      ]);
      return {
        revisionTraffic: { LATEST: 100 },
        trafficTags: { clear: false, update: { stable: 'LATEST', prev: s.stable }, remove: ['old'] },
      };
    }
    const tagMap = async (s: Scene): Promise<Record<string, string | undefined>> =>
      Object.fromEntries(
        ((await live(s)).traffic ?? []).flatMap((t) => (t.tag ? [[t.tag, t.revision]] : [])),
      );

    it('land with the promotion, LATEST as the new revision by name, other tags kept', async () => {
      const s = await drive(scene());
      const run = await rollout(s, await tagged(s));
      expect(run.outcome).toMatchObject({ healthy: true, rolledBack: false });
      const revision = run.outcome!.revision;
      expect(await tagMap(s)).toEqual({ stable: revision, prev: s.stable, keep: s.stable });
      expect(await serving(s)).toEqual({ [revision]: 100 });
      expect(run.outcome?.plan).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^promote: move traffic: ${revision} 100%; tags: remove old, stable → ${revision}, prev → ${s.stable}; undo: put back the tags old, stable, prev as they were`,
          ),
        ),
      );
    });

    it('are put back as they were when the live check fails: removed ones return, added ones go', async () => {
      const s = await drive(scene());
      const flags = await tagged(s);
      s.emu.apps.set(NEXT, degrading(3));
      const run = await rollout(s, flags);
      await expectRolledBack(s, run, /\(after taking traffic\) failed its health check/);
      expect(await tagMap(s)).toEqual({ old: s.stable, keep: s.stable });
      expect(run.outcome?.failure).toMatch(/the tags 'old', 'stable', 'prev' put back as they were/);
    });

    it('--clear-tags leaves Runway its own tag until its clean-up, and the undo restores every tag', async () => {
      const s = await drive(scene());
      const flags = await tagged(s);
      const clear = { ...flags, trafficTags: { clear: true, update: {}, remove: [] } };
      const ok = await rollout(s, clear);
      expect(ok.outcome?.healthy).toBe(true);
      expect(await tagMap(s)).toEqual({});

      const t = await drive(scene());
      const again = await tagged(t);
      t.emu.apps.set(NEXT, degrading(3));
      const failed = await rollout(t, { ...again, trafficTags: { clear: true, update: {}, remove: [] } });
      await expectRolledBack(t, failed, /failed its health check/);
      expect(await tagMap(t)).toEqual({ old: t.stable, keep: t.stable });
    });
  });

  it('records on the service what undoing needs before its first change, until the regions settle', async () => {
    const s = await drive(scene());
    let during: Record<string, string> | undefined;
    once(
      s,
      'updateService',
      async () => {
        during = (await live(s)).annotations;
      },
      (args) => args[2] !== true,
    );
    const started = Date.now();
    const run = await rollout(s, {}, 600);
    const record = JSON.parse(during![RECORD]!) as { revisions: string[]; until: string };
    expect(record.revisions).toEqual([s.stable]);
    // Past the deadline, undoing may still need it: waiting for a change in flight, the undo, and
    // taking back a region that passed each get the undo grace (120 s here).
    expect(Date.parse(record.until)).toBeGreaterThanOrEqual(started + (600 + 360) * 1000);
    // The rollout stands, but another region could still take it back.
    expect(await records(s)).toEqual([RECORD]);
    await drive(run.held!.afterwards());
    expect(await records(s)).toEqual([]);
  });

  it('removes its record once rolled back, taken back with the other regions, or left unhealthy', async () => {
    const failed = await drive(scene());
    failed.emu.apps.set(NEXT, broken);
    expect((await rollout(failed)).outcome).toMatchObject({ healthy: false, rolledBack: true });
    expect(await records(failed)).toEqual([]);

    const reverted = await drive(scene());
    const passed = await rollout(reverted);
    expect(await records(reverted)).toEqual([RECORD]);
    await drive(passed.held!.revert('another region failed'));
    expect(await records(reverted)).toEqual([]);

    const leftAlone = await drive(scene());
    leftAlone.emu.apps.set(NEXT, degrading(3));
    expect((await rollout(leftAlone, { rollback: false })).outcome).toMatchObject({ healthy: false });
    expect(await records(leftAlone)).toEqual([]);
  });

  for (const [kind, cases] of Object.entries(MATRIX)) {
    describe(kind, () => {
      for (const [name, scenario] of Object.entries(cases)) {
        it(name, async () => {
          const s = await drive(scene());
          await scenario(s);
        });
      }
    });
  }

  it('records one undo for a change sent twice (a conflict re-planned it): a later foreign split survives the unwind', async () => {
    // Two runs race: someone deploys between Runway's dry run and its change (the change is sent
    // again), then moves the traffic before Runway's promotion. Runway stops and leaves their split;
    // a second copy of the same undo must not then restore the old split over theirs.
    const s = await drive(scene());
    const old = `${ref.service}-00001-old`;
    once(
      s,
      'updateService',
      () => otherDeploys(s, OTHER),
      (args) => args[2] !== true,
    );
    // Their split keeps the tags on the service, Runway's own included (as a promotion does).
    once(s, 'updateTraffic', async () => {
      const tagged = ((await live(s)).traffic ?? []).filter((t) => t.tag).map((t) => ({ ...t, percent: 0 }));
      await otherServes(s, [{ type: REVISION, revision: old, percent: 100 }, ...tagged]);
    });
    const run = await rollout(s);
    expect(run.outcome?.failure).toMatch(/Someone else changed the traffic/);
    expect(await serving(s)).toEqual({ [old]: 100 });
    expect(await tags(s)).not.toContain(CANDIDATE_TAG);
    expect(s.logs.filter((l) => l.startsWith('undo:'))).toEqual([]);
  });

  it('regions_fail: all takes a region that passed back, exactly', async () => {
    const s = await drive(scene());
    const run = await rollout(s);
    const reverted = await drive(run.held!.revert('another region failed'));
    expect(reverted).toMatchObject({ healthy: false, rolledBack: true });
    expect(reverted.failure).toMatch(
      /^another region failed\nRolled back: the traffic split put back as it was\.$/,
    );
    expect(await serving(s)).toEqual({ [s.stable]: 100 });
  });

  it('rollback: false leaves traffic where a failed check found it, removing only its own tag', async () => {
    const s = await drive(scene());
    s.emu.apps.set(NEXT, degrading(3));
    const run = await rollout(s, { rollback: false });
    expect(run.outcome).toMatchObject({ healthy: false, rolledBack: false });
    expect(await serving(s)).toEqual({ [run.outcome!.revision]: 100 });
    expect(await tags(s)).toEqual([]);
  });

  it('a new service that fails is deleted; only the one this run created', async () => {
    const s = await drive(scene());
    const fresh = { ...ref, service: 'brand-new' };
    s.emu.apps.set(NEXT, broken);
    const deps = {
      api: s.api,
      identity: DEFAULTS.deployer,
      idToken: (audience: string) => s.emu.idToken(DEFAULTS.deployer, audience),
      log: (line: string) => s.logs.push(line),
      warn: () => undefined,
      debug: () => undefined,
      fetch: s.emu.probeFetch as typeof fetch,
    };
    const held = await drive(
      rolloutRegion(deps, fresh, changes, settingsWith({ allowUnauthenticated: true }), {
        deadline: Deadline.in(600),
      }),
    );
    expect(held.outcome).toMatchObject({ healthy: false, rolledBack: true, url: '' });
    expect(held.outcome.failure).toMatch(/brand-new in us-central1 deleted \(this run created it\)/);
    expect(await s.api.getService(fresh)).toBeUndefined();
  });
});
