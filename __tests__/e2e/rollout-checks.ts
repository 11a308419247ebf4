// What the rollout's end-to-end files assert after a run that had to roll back: shared by
// rollout.test.ts and rollout-writers.test.ts, the two halves of one suite.
import { errorOf, type ActionRun } from '../helpers/action.js';
import { candidateTags, getService, sample, servingSplit } from '../helpers/cloudrun.js';

/** After a failed run: the step failed with `cause`, the old revision serves everything, no candidate tag. */
export async function expectRolledBack(
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
export const serviceOf = (run: ActionRun): string => run.outputs.revision!.replace(/-\d{5}-[a-z]{3}$/, '');
