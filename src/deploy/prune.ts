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

/** Deletions per run: a first use near Cloud Run's ceiling of 1000 catches up over several runs. */
export const MAX_DELETIONS_PER_RUN = 50;

/** Tags Runway gives a candidate while it checks it (candidateTagFor): `rw-…`, or `r` and hash characters. */
const CANDIDATE_TAG = /^(rw-.+|r[a-z0-9]{1,12})$/;

/**
 * The idle revisions to delete: every idle one after the newest `keep`, never one in `protect`
 * (the revision that served before this run, a manual rollback's first target), at most
 * MAX_DELETIONS_PER_RUN of the oldest.
 */
export function revisionsToPrune(
  revisions: Revision[],
  service: Service,
  keep: number,
  protect: string[] = [],
): string[] {
  const used = inUse(service);
  for (const name of protect) used.add(name);
  const doomed = revisions
    .map((r) => ({ name: shortName(r.name) ?? '', created: Date.parse(r.createTime ?? '') || 0 }))
    .filter((r) => r.name && !used.has(r.name))
    .sort((a, b) => b.created - a.created || b.name.localeCompare(a.name))
    .slice(keep)
    .map((r) => r.name);
  return doomed.slice(Math.max(0, doomed.length - MAX_DELETIONS_PER_RUN));
}

/**
 * A tag of another Runway rollout in progress: its undo will route traffic back to a revision that
 * serves nothing right now, so nothing may be deleted until it is done.
 */
export function rolloutInProgress(service: Service): string | undefined {
  return service.traffic?.find((t) => t.tag && CANDIDATE_TAG.test(t.tag))?.tag;
}

export interface PruneResult {
  deleted: string[];
  /** Revisions that could not be deleted, with why. */
  failed: Array<{ revision: string; error: unknown }>;
  /** Why nothing was deleted, when pruning was skipped. */
  skipped?: string;
}

export async function pruneRevisions(
  client: CloudRunClient,
  ref: ServiceRef,
  keep: number,
  deadline: number,
  protect: string[] = [],
): Promise<PruneResult> {
  // Listed before the service is read: a revision created in between is then in the service's
  // latestCreatedRevision, never mistaken for an idle one.
  const revisions = await client.listRevisions(ref);
  const service = await client.getService(ref);
  if (!service) return { deleted: [], failed: [] };
  const busy = rolloutInProgress(service);
  if (busy) {
    return {
      deleted: [],
      failed: [],
      skipped: `another rollout is in progress (its tag ${busy} is on the service)`,
    };
  }
  const doomed = revisionsToPrune(revisions, service, keep, protect);
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
