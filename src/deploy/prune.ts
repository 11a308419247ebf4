// keep_revisions: deletes idle revisions (no traffic, no tag, not the latest) beyond the newest N,
// so a service stays under Cloud Run's revision ceiling. The choice is pure; deleting is the I/O.
// A deleted revision cannot be brought back, so this runs only after the rollout is done and every
// failure here is reported, never undone.
import { describeErrorBriefly } from '../errors.js';
import { Deadline, undoGraceSeconds } from '../common/deadline.js';
import type { CloudRunApi, ServiceRef } from '../gcp/run.js';
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
  client: CloudRunApi,
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

/** Where keep_revisions says what it did, and what it could not do. */
export interface PruneLog {
  info: (line: string) => void;
  warn: (line: string) => void;
}

/**
 * keep_revisions once a deploy stands: deletes idle revisions and warns about any it could not
 * delete, or why it deleted none. A deploy that passed stays passed; what is deleted cannot be
 * undone, so nothing is. Resolves to the revisions deleted.
 */
export async function pruneIdle(
  client: CloudRunApi,
  ref: ServiceRef,
  keep: number,
  deadline: Deadline,
  protect: string[],
  log: PruneLog,
): Promise<{ deleted: string[]; skipped?: string }> {
  const where = `${ref.service} in ${ref.region}`;
  // Past the deploy's deadline, pruning still gets its own grace period.
  const until = deadline.expired() ? Deadline.in(undoGraceSeconds()).at : deadline.at;
  try {
    const { deleted, failed, skipped } = await pruneRevisions(client, ref, keep, until, protect);
    if (skipped) {
      log.warn(`keep_revisions: deleted nothing in ${where}: ${skipped}. The next run prunes.`);
      return { deleted: [], skipped };
    }
    log.info(
      `keep_revisions ${keep}: ${deleted.length ? `deleted ${deleted.join(', ')}` : 'no idle revision to delete'}`,
    );
    for (const f of failed)
      log.warn(
        `keep_revisions: could not delete revision ${f.revision} of ${where}: ${describeErrorBriefly(f.error)}. Deleting revisions needs run.revisions.delete (roles/run.developer).`,
      );
    return { deleted };
  } catch (err) {
    log.warn(
      `keep_revisions: could not list the revisions of ${where}: ${describeErrorBriefly(err)}. The deploy itself is done.`,
    );
    return { deleted: [], skipped: 'the revisions could not be listed' };
  }
}
