// Phase 7, clean up: Runway's own candidate tag was only there to check the revision; it goes once
// the rollout is done (the user's `tag` stays). A traffic-only change.
import type { Service } from '../gcp/run-types.js';
import { applyTraffic } from '../deploy/apply.js';
import { withoutTag } from '../deploy/traffic.js';
import type { Rollout } from './context.js';
import type { Deadline } from './deadline.js';

export async function removeCandidateTag(
  r: Rollout,
  tag: string,
  deadline: Deadline = r.settings.deadline,
): Promise<Service | undefined> {
  const live = await r.deps.client.getService(r.ref);
  if (!live?.traffic?.some((t) => t.tag === tag)) return live;
  return applyTraffic(r.deps.client, r.ref, (s) => withoutTag(s.traffic ?? [], tag), deadline);
}
