// Phase 5, promote: once the candidate is healthy on its tag, move traffic to the split asked for,
// every revision by name (never LATEST, which could resolve to a revision Runway never checked).
// Every tag stays, the candidate's included, until clean-up. A traffic-only change; its undo is the
// candidate's: the pinned split, restored.
import type { Service } from '../gcp/run-types.js';
import { applyTraffic } from '../deploy/apply.js';
import { promote } from '../deploy/traffic.js';
import { remember, type Rollout } from './context.js';
import { resolveSplit, type RolloutPlan } from './plan.js';

export async function promoteCandidate(r: Rollout, plan: RolloutPlan, known?: Service): Promise<Service> {
  r.settings.deadline.check(`before moving traffic to ${plan.revision}`);
  r.deps.log(`moving traffic to ${plan.revision}`);
  const { service } = await applyTraffic(
    r.deps.client,
    r.ref,
    (live) => {
      const current = live.traffic ?? [];
      return promote(current, resolveSplit(r.settings, plan.revision, current));
    },
    r.settings.deadline,
    remember(r),
    known,
  );
  return service!;
}
