// Phase 7, clean up: Runway's own candidate tag was only there to check the revision; it goes once
// the rollout is done (the user's `tag` stays). And a split that sends everything to the checked
// revision by name is written as LATEST again, while that revision is still the latest ready one,
// so the service follows later deploys as Cloud Run users expect. A traffic-only change.
import type { Service } from '../gcp/run-types.js';
import { applyTraffic } from '../deploy/apply.js';
import { followLatest, withoutTagIfPresent } from '../deploy/traffic.js';
import { remember, type Rollout } from './context.js';
import type { Deadline } from './deadline.js';

export async function cleanUp(
  r: Rollout,
  revision: string,
  candidateTag: string | undefined,
  deadline: Deadline = r.settings.deadline,
): Promise<Service | undefined> {
  const { service } = await applyTraffic(
    r.deps.client,
    r.ref,
    (live) => {
      const untaggedTraffic = candidateTag ? withoutTagIfPresent(live.traffic, candidateTag) : undefined;
      const untagged = untaggedTraffic ? { ...live, traffic: untaggedTraffic } : live;
      return followLatest(untagged, revision) ?? untaggedTraffic;
    },
    deadline,
    remember(r),
  );
  return service;
}

/** Only Runway's own tag, for when traffic is to stay where it is (`rollback: false`). */
export async function removeCandidateTag(r: Rollout, tag: string, deadline: Deadline): Promise<boolean> {
  const { changed } = await applyTraffic(
    r.deps.client,
    r.ref,
    (live) => withoutTagIfPresent(live.traffic, tag),
    deadline,
    remember(r),
  );
  return changed;
}
