// keep_revisions: deletes idle revisions (no traffic, no tag, not the latest) beyond the newest N,
// so a service stays under Cloud Run's revision ceiling. The choice is pure; deleting is the I/O.
// A deleted revision cannot be brought back, so this runs only after the rollout is done and every
// failure here is reported, never undone.
import type { CloudRunClient, ServiceRef } from '../gcp/run.js';
import { shortName, type Revision, type Service } from '../gcp/run-types.js';
import { isLatest } from './traffic.js';

/** Revisions the service still needs: in any traffic entry (by share or tag), or the latest ones. */
function inUse(service: Service): Set<string> {
  const used = new Set<string>();
  const latestReady = shortName(service.latestReadyRevision);
  for (const t of [...(service.traffic ?? []), ...(service.trafficStatuses ?? [])]) {
    const revision = isLatest(t) ? latestReady : t.revision;
    if (revision) used.add(shortName(revision)!);
  }
  for (const latest of [latestReady, shortName(service.latestCreatedRevision)]) if (latest) used.add(latest);
  return used;
}

/** The idle revisions to delete, oldest last kept: every idle one after the newest `keep`. */
export function revisionsToPrune(revisions: Revision[], service: Service, keep: number): string[] {
  const used = inUse(service);
  return revisions
    .map((r) => ({ name: shortName(r.name) ?? '', created: Date.parse(r.createTime ?? '') || 0 }))
    .filter((r) => r.name && !used.has(r.name))
    .sort((a, b) => b.created - a.created || b.name.localeCompare(a.name))
    .slice(keep)
    .map((r) => r.name);
}

export interface PruneResult {
  deleted: string[];
  /** Revisions that could not be deleted, with why. */
  failed: Array<{ revision: string; error: unknown }>;
}

export async function pruneRevisions(
  client: CloudRunClient,
  ref: ServiceRef,
  keep: number,
  deadline: number,
): Promise<PruneResult> {
  const service = await client.getService(ref);
  if (!service) return { deleted: [], failed: [] };
  const doomed = revisionsToPrune(await client.listRevisions(ref), service, keep);
  const result: PruneResult = { deleted: [], failed: [] };
  for (const revision of doomed) {
    try {
      await client.deleteRevision(ref, revision, deadline);
      result.deleted.push(revision);
    } catch (error) {
      result.failed.push({ revision, error });
    }
  }
  return result;
}
