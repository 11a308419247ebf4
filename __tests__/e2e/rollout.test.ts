// End to end, the rollout that always compensates (issue 7 §1): a fault injected in each phase
// after the first change, then the URLs requested to see what serves. Every test asserts that the
// old revision serves, no candidate tag is left, and the step failed naming the cause.
import { admin } from '../helpers/emulator.js';
import { errorOf, expectSuccess, deployImage } from '../helpers/action.js';
import { idTokenFor } from '../helpers/auth.js';
import { patchService, sample } from '../helpers/cloudrun.js';
import { pushTestImage } from '../helpers/images.js';
import { expectRolledBack } from './rollout-checks.js';

let stable: string;
let next: string;

beforeAll(async () => {
  [stable, next] = await Promise.all([
    pushTestImage('rollout-stable', 'stable'),
    pushTestImage('rollout-next', 'next'),
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
