// Phase 7, clean up: Runway's own candidate tag was only there to check the revision; it goes once
// the rollout is done (the user's `tag` stays). And a split that sends everything to the checked
// revision by name is written as LATEST again, while that revision is still the latest ready one,
// so the service follows later deploys as Cloud Run users expect. A traffic-only change.
import type { CloudRunClient, ServiceRef } from '../gcp/run.js';
import type { Service } from '../gcp/run-types.js';
import { applyTraffic, type OnSent } from '../deploy/apply.js';
import { followLatest, withoutTagIfPresent } from '../deploy/traffic.js';
import { remember, type Rollout } from './context.js';
import type { Deadline } from './deadline.js';

export async function cleanUp(
  r: Rollout,
  revision: string,
  candidateTag: string | undefined,
  deadline: Deadline = r.settings.deadline,
  known?: Service,
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
    known,
  );
  return service;
}

/** Drops one tag (its revision keeps its share); resolves to whether the service had it. */
export async function removeTag(
  client: CloudRunClient,
  ref: ServiceRef,
  tag: string,
  deadline: Deadline,
  onSent?: OnSent,
): Promise<boolean> {
  const { changed } = await applyTraffic(
    client,
    ref,
    (live) => withoutTagIfPresent(live.traffic, tag),
    deadline,
    onSent,
  );
  return changed;
}

/** Only Runway's own tag, for when traffic is to stay where it is (`rollback: false`). */
export function removeCandidateTag(r: Rollout, tag: string, deadline: Deadline): Promise<boolean> {
  return removeTag(r.deps.client, r.ref, tag, deadline, remember(r));
}
