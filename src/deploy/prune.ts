// keep_revisions: deletes idle revisions beyond the newest N, so a service stays under Cloud Run's
// revision ceiling. Never one that serves, that any traffic entry or tag names, that a rollout still
// running will route back to (its record on the service), or that is younger than the grace period.
// The choice is pure; deleting is the I/O. A deleted revision cannot be brought back, so this runs
// only after the rollout is done and every failure here is reported, never undone.
import { describeErrorBriefly } from '../errors.js';
import { Deadline, undoGraceSeconds } from '../common/deadline.js';
import type { CloudRunApi, ServiceRef } from '../gcp/run.js';
import { shortName, type Revision, type Service } from '../gcp/run-types.js';
import { revisionsRecorded } from './rollout-record.js';
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

export interface PruneRules {
  /** How many idle revisions to keep, the newest. */
  keep: number;
  /** Revisions this run keeps whatever else holds: the one that served before it (a manual rollback's first target). */
  protect: string[];
  /** A revision younger than this is never deleted: a run may have just made it and not yet routed to it. */
  graceSeconds: number;
}

export interface PruneChoice {
  /** The revisions to delete, at most MAX_DELETIONS_PER_RUN of the oldest. */
  doomed: string[];
  /** Idle revisions kept because a rollout still running will route back to them, with its record's key. */
  needed: Map<string, string>;
}

/**
 * The idle revisions to delete at `now` (epoch ms): every idle one after the newest `keep`, never one
 * in use, protected, named by a live rollout record, or younger than the grace period (nor one whose
 * age is not known).
 */
export function revisionsToPrune(
  revisions: Revision[],
  service: Service,
  rules: PruneRules,
  now: number,
): PruneChoice {
  const used = inUse(service);
  for (const name of rules.protect) used.add(name);
  const recorded = revisionsRecorded(service, now);
  const needed = new Map<string, string>();
  const idle = revisions
    .map((r) => ({ name: shortName(r.name) ?? '', created: Date.parse(r.createTime ?? '') }))
    .filter((r) => r.name && !used.has(r.name))
    .sort((a, b) => (b.created || 0) - (a.created || 0) || b.name.localeCompare(a.name))
    .slice(rules.keep);
  const doomed = idle
    .filter((r) => {
      const record = recorded.get(r.name);
      if (record) needed.set(r.name, record);
      return !record && !Number.isNaN(r.created) && now - r.created >= rules.graceSeconds * 1000;
    })
    .map((r) => r.name);
  return { doomed: doomed.slice(Math.max(0, doomed.length - MAX_DELETIONS_PER_RUN)), needed };
}

export interface PruneResult {
  deleted: string[];
  /** Revisions that could not be deleted, with why. */
  failed: Array<{ revision: string; error: unknown }>;
  /** Idle revisions kept for a rollout still running, with its record's key. */
  needed: Map<string, string>;
}

export async function pruneRevisions(
  client: CloudRunApi,
  ref: ServiceRef,
  rules: PruneRules,
  deadline: number,
): Promise<PruneResult> {
  // Listed before the service is read: a revision created in between is then in the service's
  // latestCreatedRevision, never mistaken for an idle one; a record written in between is read.
  const revisions = await client.listRevisions(ref);
  const service = await client.getService(ref);
  if (!service) return { deleted: [], failed: [], needed: new Map() };
  const { doomed, needed } = revisionsToPrune(revisions, service, rules, Date.now());
  const result: PruneResult = { deleted: [], failed: [], needed };
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
  rules: PruneRules,
  deadline: Deadline,
  log: PruneLog,
): Promise<{ deleted: string[]; skipped?: string }> {
  const where = `${ref.service} in ${ref.region}`;
  // Past the deploy's deadline, pruning still gets its own grace period.
  const until = deadline.expired() ? Deadline.in(undoGraceSeconds()).at : deadline.at;
  try {
    const { deleted, failed, needed } = await pruneRevisions(client, ref, rules, until);
    log.info(
      `keep_revisions ${rules.keep}: ${deleted.length ? `deleted ${deleted.join(', ')}` : 'no idle revision to delete'}`,
    );
    for (const [revision, record] of needed)
      log.info(
        `keep_revisions: kept ${revision}: a rollout still running may route traffic back to it (${record} on the service)`,
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
