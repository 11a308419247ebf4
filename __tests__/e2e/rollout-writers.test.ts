// End to end, the rollout beside other writers (issue 7): previous_revision, a resent template,
// someone else's revisions, splits and invokers during a run, immediate traffic and the undo grace.
// Split from rollout.test.ts so that Jest's workers run the two halves side by side.
import { admin, env } from '../helpers/emulator.js';
import { deployApp as deploy, errorOf, expectSuccess, deployImage } from '../helpers/action.js';
import { accessTokenFor } from '../helpers/auth.js';
import {
  candidateTagged,
  candidateTags,
  getService,
  patchService,
  sample,
  servingSplit,
  until,
  type ServiceJson,
} from '../helpers/cloudrun.js';
import { pushTestImage } from '../helpers/images.js';
import { expectRolledBack } from './rollout-checks.js';

/** Someone else's deploy of `image` with no traffic (a PR preview, say): a newer revision, unrouted. */
const newRevisionOf =
  (image: string) =>
  (s: ServiceJson): ServiceJson => {
    const { revision: _name, ...template } = s.template as {
      revision?: string;
      containers: Array<Record<string, unknown>>;
    };
    const [first, ...rest] = template.containers;
    return { ...s, template: { ...template, containers: [{ ...first, image }, ...rest] } };
  };

let stable: string;
let next: string;
let other: string;
let crashing: string;

beforeAll(async () => {
  [stable, next, other, crashing] = await Promise.all([
    pushTestImage('rollout-stable', 'stable'),
    pushTestImage('rollout-next', 'next'),
    pushTestImage('rollout-other', 'other'),
    pushTestImage('rollout-crash', 'crash', { crash: true }),
  ]);
});

afterEach(async () => {
  await admin.clearFaults();
});

describe('previous_revision', () => {
  it('is the revision that served before, not a later one that failed and was rolled back', async () => {
    const first = await deploy('e2e-previous', 'stable', { health_check_path: '/cgi-bin/health' });
    expectSuccess(first);
    const failed = await deploy('e2e-previous', 'broken', {
      health_check_path: '/cgi-bin/health',
      env_vars: 'BROKEN=1',
    });
    expect(failed.exitCode).toBe(1);
    expect(failed.outputs.previous_revision).toBe(first.outputs.revision);
    const third = await deploy('e2e-previous', 'fixed', {
      health_check_path: '/cgi-bin/health',
      env_vars: 'BROKEN=',
    });
    expectSuccess(third);
    expect(third.outputs.previous_revision).toBe(first.outputs.revision);
    expect(third.outputs.previous_revision).not.toBe(failed.outputs.revision);
  });
});

describe('a template resent under an existing revision name', () => {
  it("is refused with Cloud Run's 409, naming the fix; nothing changes", async () => {
    const good = await deployImage('e2e-same-suffix', stable, { suffix: 'one' });
    expectSuccess(good);
    const run = await deployImage('e2e-same-suffix', next, { suffix: 'one' });
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toContain(
      "Revision named 'e2e-same-suffix-one' with different configuration already exists.",
    );
    expect(errorOf(run)).toContain('Use a new `suffix`');
    expect(await sample(good.outputs.url!, 2)).toEqual(new Map([['200 stable', 2]]));
  });
});

describe('other writers during a rollout', () => {
  it.concurrent(
    'a newer revision deployed meanwhile never receives the traffic Runway checked its own for',
    async () => {
      const good = await deployImage('e2e-latest-race', stable);
      expectSuccess(good);
      const running = deployImage('e2e-latest-race', next, { health_check_successes: '6' });
      await until('the candidate tag', () => candidateTagged('e2e-latest-race'));
      await patchService('e2e-latest-race', newRevisionOf(other));
      const run = await running;
      expectSuccess(run);
      const service = (await getService('e2e-latest-race'))!;
      expect(servingSplit(service)).toEqual({ [run.outputs.revision!]: 100 });
      expect(JSON.parse(run.outputs.traffic!)).toEqual({ [run.outputs.revision!]: 100 });
      expect(await sample(run.outputs.url!, 4)).toEqual(new Map([['200 next', 4]]));
      // The newer revision is the latest ready one, so the split stays by name rather than LATEST.
      expect(
        service.traffic?.some((t) => t.type === 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST' || t.type === 1),
      ).toBe(false);
    },
  );

  it.concurrent('a split someone else set during the run is left as they set it, and said so', async () => {
    const good = await deployImage('e2e-hotfix', stable);
    expectSuccess(good);
    const running = deployImage('e2e-hotfix', next, {
      health_check_path: '/nope',
      health_check_timeout: '15s',
    });
    await until('the candidate tag', () => candidateTagged('e2e-hotfix'));
    // A hotfix shipped by hand while Runway checks its candidate.
    await patchService('e2e-hotfix', (s) => ({
      ...newRevisionOf(other)(s),
      traffic: [
        { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 },
        ...(s.traffic ?? []).filter((t) => t.tag).map((t) => ({ ...t, percent: 0 })),
      ],
    }));
    const run = await running;
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toContain(
      'Someone else changed the traffic of e2e-hotfix in us-central1 during this run',
    );
    expect(run.outputs.healthy).toBe('false');
    expect(JSON.parse(run.outputs.regions!)['us-central1']).toMatchObject({ rolled_back: false });
    expect(await sample(good.outputs.url!, 3)).toEqual(new Map([['200 other', 3]]));
    expect(candidateTags((await getService('e2e-hotfix'))!)).toEqual([]);
  });

  it.concurrent(
    'a service created by someone else is never deleted, even when its first revision never served',
    async () => {
      const token = await accessTokenFor();
      const base = `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/projects/${env('RUNWAY_EMULATOR_PROJECT')}/locations/us-central1/services`;
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const created = await fetch(`${base}?serviceId=e2e-not-mine`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          labels: { owner: 'terraform' },
          template: { containers: [{ image: crashing }] },
        }),
      });
      const op = (await created.json()) as { name: string };
      await fetch(`${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/${op.name}:wait`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ timeout: '60s' }),
      });
      const run = await deployImage('e2e-not-mine', next, {
        health_check_path: '/nope',
        health_check_timeout: '5s',
      });
      expect(run.exitCode).toBe(1);
      expect(errorOf(run)).toContain('had no serving revision before this run');
      const service = await getService('e2e-not-mine');
      expect(service?.labels).toMatchObject({ owner: 'terraform' });
    },
  );

  it.concurrent(
    'an invoker someone else added during the run survives the undo of public access',
    async () => {
      const good = await deployImage('e2e-iam-keep', stable);
      expectSuccess(good);
      const scheduler = `serviceAccount:scheduler@${env('RUNWAY_EMULATOR_PROJECT')}.iam.gserviceaccount.com`;
      const policyUrl = `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/projects/${env('RUNWAY_EMULATOR_PROJECT')}/locations/us-central1/services/e2e-iam-keep`;
      const headers = async (): Promise<Record<string, string>> => ({
        authorization: `Bearer ${await accessTokenFor()}`,
        'content-type': 'application/json',
      });
      type Policy = { bindings?: Array<{ role: string; members: string[] }>; etag?: string };
      const policy = async (): Promise<Policy> =>
        (await (await fetch(`${policyUrl}:getIamPolicy`, { headers: await headers() })).json()) as Policy;
      const running = deployImage('e2e-iam-keep', next, {
        allow_unauthenticated: 'false',
        health_check_path: '/nope',
        health_check_timeout: '15s',
      });
      await until(
        'the service to turn private',
        async () => !(await policy()).bindings?.some((b) => b.members.includes('allUsers')),
      );
      const current = await policy();
      await fetch(`${policyUrl}:setIamPolicy`, {
        method: 'POST',
        headers: await headers(),
        body: JSON.stringify({
          policy: {
            ...current,
            bindings: [...(current.bindings ?? []), { role: 'roles/run.invoker', members: [scheduler] }],
          },
        }),
      });
      const run = await running;
      expect(run.exitCode).toBe(1);
      const invokers = (await policy()).bindings
        ?.filter((b) => b.role === 'roles/run.invoker')
        .flatMap((b) => b.members);
      expect(invokers).toEqual(expect.arrayContaining(['allUsers', scheduler]));
      expect(await sample(good.outputs.url!, 2)).toEqual(new Map([['200 stable', 2]]));
    },
  );
});

describe('traffic: immediate', () => {
  it('with a partial split checks the new revision on its own tag, not through the service URL', async () => {
    const good = await deployImage('e2e-immediate-split', stable, { health_check_path: '/cgi-bin/health' });
    expectSuccess(good);
    const run = await deployImage('e2e-immediate-split', next, {
      traffic: 'immediate',
      env_vars: 'BROKEN=1',
      health_check_path: '/cgi-bin/health',
      revision_traffic: `LATEST=1,${good.outputs.revision}=99`,
    });
    await expectRolledBack(
      run,
      good,
      /on its tag URL.*failed its health check \(\/cgi-bin\/health: HTTP 503/,
    );
  });
});

describe('undo grace', () => {
  it('a change still in flight past the grace is undone anyway, within a grace of its own', async () => {
    const good = await deployImage('e2e-grace', stable);
    expectSuccess(good);
    // The traffic change's operation outlasts the deadline and the grace together. The deadline
    // leaves the steps before it room to finish on a loaded machine: had it passed earlier, the
    // first traffic change would be the undo's, and the test would prove nothing about this path.
    await admin.faults([
      {
        api: 'run',
        method: 'PATCH',
        path: 'e2e-grace\\?.*updateMask=traffic',
        operationDelayMs: 100_000,
        count: 1,
      },
    ]);
    const run = await deployImage(
      'e2e-grace',
      next,
      { deploy_timeout: '60s' },
      { RUNWAY_UNDO_GRACE_SECONDS: '30' },
    );
    expect(run.stdout).toContain('waiting for the change Cloud Run is still applying before undoing it');
    expect(run.stdout).toContain('the change has not landed yet; undoing it regardless');
    await expectRolledBack(run, good, /deploy_timeout passed while Cloud Run was still applying a change/);
  });
});
