// The rollout record: what a rollout still running will need to undo (the revisions of the split it
// pinned), kept on the service itself as an annotation so that every other run that prunes the
// service sees it. A rollout writes its record before its first change and removes it once it is
// done; a record past its expiry belongs to a run that stopped without removing it (a crash, a
// cancelled job), and is ignored, so it cannot keep a revision for ever. Pure: no I/O, no clock.
import type { Service } from '../gcp/run-types.js';

const NAME_START = 'rollout-';
/** Every record's annotation key starts so; the rest names the rollout. */
export const RECORD_KEY_PREFIX = `runway.dev/${NAME_START}`;
/** Cloud Run takes annotation keys as Kubernetes does: the part after the `/` is at most 63 characters. */
const MAX_NAME = 63;

export interface RolloutRecord {
  /** The revisions the rollout's undo routes traffic back to. */
  revisions: string[];
  /** When the run, its undo included, has certainly stopped (epoch milliseconds). */
  until: number;
}

/** `rollout-RUN_ID-ATTEMPT-NONCE`: one key per rollout, readable back to the run that wrote it. */
export function recordKey(runId: string, attempt: string, nonce: string): string {
  const clean = (text: string): string => text.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const tail = `-${clean(attempt)}-${clean(nonce)}`;
  const room = MAX_NAME - NAME_START.length - tail.length;
  const run = clean(runId)
    .slice(-room)
    .replace(/^-+|-+$/g, '');
  return `${RECORD_KEY_PREFIX}${run}${tail}`.replace(/-+$/, '');
}

/**
 * When a rollout whose deadline is `deadline` (epoch ms) has certainly stopped: past its deadline,
 * waiting for a change in flight and then undoing each get `undoGraceSeconds`, and with
 * `regions_fail: all` a region that passed is taken back within one more.
 */
export function recordExpiry(deadline: number, undoGraceSeconds: number): number {
  return deadline + 3 * undoGraceSeconds * 1000;
}

/** The service's annotations with `record` under `key`. */
export function withRecord(
  annotations: Record<string, string> | undefined,
  key: string,
  record: RolloutRecord,
): Record<string, string> {
  const value = JSON.stringify({ revisions: record.revisions, until: new Date(record.until).toISOString() });
  return { ...(annotations ?? {}), [key]: value };
}

/** The service's annotations without `key`; undefined when there is no such record to remove. */
export function withoutRecord(
  annotations: Record<string, string> | undefined,
  key: string,
): Record<string, string> | undefined {
  if (!annotations || !(key in annotations)) return undefined;
  const { [key]: _removed, ...rest } = annotations;
  return rest;
}

/** A record as written by withRecord, or undefined for a value that is not one. */
function parseRecord(value: string): RolloutRecord | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  const { revisions, until } = (parsed ?? {}) as { revisions?: unknown; until?: unknown };
  if (!Array.isArray(revisions) || !revisions.every((r): r is string => typeof r === 'string'))
    return undefined;
  const at = typeof until === 'string' ? Date.parse(until) : NaN;
  return Number.isNaN(at) ? undefined : { revisions, until: at };
}

/**
 * The revisions that rollouts still running will need, each with the key of a record that names it:
 * every record on the service that has not expired at `now`. A value that is not a record names
 * nothing.
 */
export function revisionsRecorded(service: Service, now: number): Map<string, string> {
  const needed = new Map<string, string>();
  for (const [key, value] of Object.entries(service.annotations ?? {})) {
    if (!key.startsWith(RECORD_KEY_PREFIX)) continue;
    const record = parseRecord(value);
    if (!record || record.until <= now) continue;
    for (const revision of record.revisions) if (!needed.has(revision)) needed.set(revision, key);
  }
  return needed;
}
