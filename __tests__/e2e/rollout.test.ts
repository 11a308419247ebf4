// End to end, the rollout that always compensates (issue 7 §1): a fault injected in each phase
// after the first change, then the URLs requested to see what serves. Every test asserts that the
// old revision serves, no candidate tag is left, and the step failed naming the cause.
import { admin, env } from '../helpers/emulator.js';
import {
  deployApp as deploy,
  errorOf,
  type ActionRun,
  expectSuccess,
  deployImage,
} from '../helpers/action.js';
import { accessTokenFor, idTokenFor } from '../helpers/auth.js';
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

/** After a failed run: the step failed with `cause`, the old revision serves everything, no candidate tag. */
async function expectRolledBack(
  run: ActionRun,
  good: ActionRun,
  cause: RegExp,
  headers: Record<string, string> = {},
): Promise<void> {
  expect(run.exitCode).toBe(1);
  expect(run.outputs.healthy).toBe('false');
  expect(errorOf(run)).toMatch(cause);
  const service = (await getService(serviceOf(good)))!;
  expect(service.reconciling ?? false).toBe(false);
  expect(servingSplit(service)).toEqual({ [good.outputs.revision!]: 100 });
  expect(candidateTags(service)).toEqual([]);
  expect(await sample(good.outputs.url!, 4, headers)).toEqual(new Map([['200 stable', 4]]));
}

/** The service a run deployed, from its `regions` output's revision name (SERVICE-NNNNN-xyz). */
const serviceOf = (run: ActionRun): string => run.outputs.revision!.replace(/-\d{5}-[a-z]{3}$/, '');

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

describe('a fault in each phase after the first change is compensated', () => {
  it('minting the ID token for a private service', async () => {
    const good = await deployImage('e2e-fault-idtoken', stable, { allow_unauthenticated: 'false' });
    expectSuccess(good);
    // The preflight mints one before any change (it passes); the rollout's own, after, is refused.
    await admin.faults([
      { api: 'iamcredentials', path: ':generateIdToken$', status: 403, skip: 1, count: 1 },
    ]);
    const run = await deployImage('e2e-fault-idtoken', next, { allow_unauthenticated: '' });
    const token = await idTokenFor(good.outputs.url!);
    await expectRolledBack(run, good, /Injected fault|ID token/, { authorization: `Bearer ${token}` });
  });

  it('setting public access', async () => {
    const good = await deployImage('e2e-fault-iam', stable);
    expectSuccess(good);
    await admin.faults([{ api: 'run', method: 'POST', path: ':setIamPolicy$', status: 400, count: 1 }]);
    const run = await deployImage('e2e-fault-iam', next, { allow_unauthenticated: 'false' });
    await expectRolledBack(run, good, /Injected fault/);
    // The refused setIamPolicy changed nothing, so only the traffic needed putting back.
    expect(run.stdout).not.toContain('undo: who may invoke the service put back as it was');
    expect(run.stdout).toContain('undo: the traffic split put back as it was');
  });

  it('promoting the candidate', async () => {
    const good = await deployImage('e2e-fault-promote', stable);
    expectSuccess(good);
    await admin.faults([
      {
        api: 'run',
        method: 'PATCH',
        path: 'e2e-fault-promote\\?.*updateMask=traffic',
        status: 400,
        count: 1,
      },
    ]);
    const run = await deployImage('e2e-fault-promote', next);
    await expectRolledBack(run, good, /Injected fault/);
  });

  it('a traffic change whose operation reports an error', async () => {
    const good = await deployImage('e2e-fault-op', stable);
    expectSuccess(good);
    await admin.faults([
      {
        api: 'run',
        method: 'PATCH',
        path: 'e2e-fault-op\\?.*updateMask=traffic',
        operationError: { code: 13, message: 'Injected routing failure.' },
        count: 1,
      },
    ]);
    const run = await deployImage('e2e-fault-op', next);
    await expectRolledBack(run, good, /could not move the traffic .*Injected routing failure/);
  });

  it('removing the candidate tag at the end', async () => {
    const good = await deployImage('e2e-fault-cleanup', stable);
    expectSuccess(good);
    // The first traffic-only change is the promotion; the second removes the candidate tag.
    await admin.faults([
      {
        api: 'run',
        method: 'PATCH',
        path: 'e2e-fault-cleanup\\?.*updateMask=traffic',
        status: 400,
        skip: 1,
        count: 1,
      },
    ]);
    const run = await deployImage('e2e-fault-cleanup', next);
    await expectRolledBack(run, good, /Injected fault/);
  });

  it('moves traffic with traffic-only updates that never resend the template', async () => {
    const good = await deployImage('e2e-traffic-only', stable);
    expectSuccess(good);
    const mark = (await admin.requests()).length;
    const run = await deployImage('e2e-traffic-only', next);
    expectSuccess(run);
    const patches = (await admin.requests())
      .slice(mark)
      .filter((r) => r.api === 'run' && r.method === 'PATCH' && !r.path.includes('validateOnly'))
      .map((r) => r.path);
    // The rollout record written, the candidate's own update, then the promotion and the tag
    // removal, traffic only, and the record removed: annotations only.
    expect(patches).toHaveLength(5);
    expect(patches[0]).toContain('updateMask=annotations');
    expect(patches[1]).not.toContain('updateMask');
    expect(patches.slice(2, 4).every((p) => p.includes('updateMask=traffic'))).toBe(true);
    expect(patches[4]).toContain('updateMask=annotations');
    expect(await sample(run.outputs.url!, 4)).toEqual(new Map([['200 next', 4]]));
  });
});

describe('fail closed', () => {
  it('fails the check when the candidate has no tag URL, never checking it through the service URL', async () => {
    const good = await deployImage('e2e-no-tag-url', stable);
    expectSuccess(good);
    // Hold Runway's read of the service after the candidate is created (the plan's read and the
    // read after the rollout record come first); meanwhile someone else removes the candidate's
    // tag, so Runway sees the candidate with no tag URL.
    await admin.faults([
      { api: 'run', method: 'GET', path: 'services/e2e-no-tag-url$', hold: true, skip: 2, count: 1 },
    ]);
    const running = deployImage('e2e-no-tag-url', next);
    while (!(await admin.held()).length) await new Promise((r) => setTimeout(r, 50));
    await patchService('e2e-no-tag-url', (s) => ({
      ...s,
      traffic: (s.traffic ?? []).filter((t) => !t.tag?.startsWith('rw-')),
    }));
    await admin.release();
    const run = await running;
    await expectRolledBack(run, good, /has no URL for its tag 'rw-[^']+', so it cannot be checked/);
  });

  it('refuses, before any change, a service name that leaves no room for a candidate tag', async () => {
    const name = `e2e-long-${'n'.repeat(38)}`; // 47 characters: no tag fits beside it
    const good = await deployImage(name, stable);
    expectSuccess(good);
    const mark = (await admin.requests()).length;
    const run = await deployImage(name, next);
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toMatch(/Input 'service' .* leaves no room for a tag/);
    const changes = (await admin.requests()).slice(mark).filter((r) => r.api === 'run' && r.method !== 'GET');
    expect(changes).toEqual([]);
    expect(await sample(good.outputs.url!, 2)).toEqual(new Map([['200 stable', 2]]));
  });
});

describe('deploy_timeout', () => {
  it('passing during a traffic change: waits for the change to land, rolls back, then fails', async () => {
    const good = await deployImage('e2e-deadline', stable);
    expectSuccess(good);
    await admin.faults([
      {
        api: 'run',
        method: 'PATCH',
        path: 'e2e-deadline\\?.*updateMask=traffic',
        operationDelayMs: 45_000,
        count: 1,
      },
    ]);
    const run = await deployImage('e2e-deadline', next, { deploy_timeout: '25s' });
    expect(run.stdout).toContain('waiting for the change Cloud Run is still applying');
    await expectRolledBack(run, good, /deploy_timeout passed while Cloud Run was still applying a change/);
  });
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
  it('a newer revision deployed meanwhile never receives the traffic Runway checked its own for', async () => {
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
  });

  it('a split someone else set during the run is left as they set it, and said so', async () => {
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

  it('a service created by someone else is never deleted, even when its first revision never served', async () => {
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
  });

  it('an invoker someone else added during the run survives the undo of public access', async () => {
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
  });
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
    await admin.faults([
      {
        api: 'run',
        method: 'PATCH',
        path: 'e2e-grace\\?.*updateMask=traffic',
        operationDelayMs: 58_000,
        count: 1,
      },
    ]);
    const run = await deployImage(
      'e2e-grace',
      next,
      { deploy_timeout: '25s' },
      { RUNWAY_UNDO_GRACE_SECONDS: '30' },
    );
    expect(run.stdout).toContain('the change has not landed yet; undoing it regardless');
    await expectRolledBack(run, good, /deploy_timeout passed while Cloud Run was still applying a change/);
  });
});
