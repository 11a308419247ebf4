// End to end, issue 18 finding 2: pruning never deletes what a rollout still running needs to undo.
// Run A rolls out with `traffic: immediate` and a failing health check; its undo is held by the
// emulator on its way to Cloud Run, and meanwhile run B, a preview cleanup with keep_revisions: 0,
// prunes the service. At that moment the revision A will put back serves nothing and carries no
// tag: only the record A left on the service says it is needed. The hold makes the interleaving
// certain rather than a matter of timing.
import { admin } from '../helpers/emulator.js';
import { deployImage, errorOf, expectSuccess, type ActionRun } from '../helpers/action.js';
import { getService, revisionNames, servingSplit } from '../helpers/cloudrun.js';
import { pullRequestRun } from '../helpers/github-event.js';
import { pushTestImage } from '../helpers/images.js';

const service = 'e2e-prune-race';

/** Resolves once the emulator holds a request, or with A's run should A finish first. */
async function heldOrFinished(run: Promise<ActionRun>): Promise<'held' | ActionRun> {
  let finished: ActionRun | undefined;
  void run.then((r) => (finished = r));
  while (!finished) {
    if ((await admin.held()).length) return 'held';
    await new Promise((r) => setTimeout(r, 100));
  }
  return finished;
}

it("a cleanup's keep_revisions: 0 during another run's rollback leaves the revision that rollback restores", async () => {
  const [oldest, stable, next] = await Promise.all([
    pushTestImage('race-oldest', 'oldest'),
    pushTestImage('race-stable', 'stable'),
    pushTestImage('race-next', 'next'),
  ]);
  const quiet = { comment: 'never' };
  const first = await deployImage(service, oldest, quiet);
  expectSuccess(first);
  const serving = await deployImage(service, stable, quiet);
  expectSuccess(serving);
  const restored = serving.outputs.revision!;

  // A's first traffic-only update is its undo (`immediate` sends the split with the new revision).
  await admin.faults([
    { api: 'run', method: 'PATCH', path: `/services/${service}\\?.*updateMask=traffic`, hold: true },
  ]);
  const runA = deployImage(service, next, {
    ...quiet,
    traffic: 'immediate',
    health_check_path: '/nope',
    health_check_timeout: '3s',
  });
  const reached = await heldOrFinished(runA);
  if (reached !== 'held') throw new Error(`run A never reached its undo:\n${reached.stdout}`);
  // What A will put back serves nothing now, and no tag names it.
  const during = (await getService(service))!;
  expect(servingSplit(during)[restored]).toBeUndefined();
  expect((during.traffic ?? []).map((t) => t.revision)).not.toContain(restored);

  let runB: ActionRun;
  try {
    runB = await deployImage(
      service,
      '',
      { ...quiet, cleanup: 'true', image: '', keep_revisions: '0', keep_revisions_grace: '0s' },
      pullRequestRun(41, 'closed', 'b'.repeat(40)),
    );
  } finally {
    expect(await admin.release()).toBe(1);
  }
  expectSuccess(runB);
  const a = await runA;

  expect(a.exitCode).toBe(1);
  expect(errorOf(a)).toContain('Rolled back: the traffic split put back as it was.');
  expect(JSON.parse(a.outputs.regions!)).toMatchObject({ 'us-central1': { rolled_back: true } });
  const live = (await getService(service))!;
  expect(servingSplit(live)).toEqual({ [restored]: 100 });
  const names = await revisionNames(service);
  expect(names).toContain(restored);
  // B still pruned what nothing needs, and said why it kept the rest; A's record went with A.
  expect(names).not.toContain(first.outputs.revision);
  expect(runB.stdout).toContain(`kept ${restored}: a rollout still running may route traffic back to it`);
  expect(live.annotations ?? {}).toEqual({});
});
