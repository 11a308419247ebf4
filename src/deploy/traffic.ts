// Traffic planning, pure: pinning the live split so a new revision starts with none, giving the
// candidate its tag, promoting it, and describing a split in words for the log.
import { createHash } from 'node:crypto';
import { MAX_TAG_AND_SERVICE, shortName, type Service, type TrafficTarget } from '../gcp/run-types.js';

const LATEST = 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST';
const REVISION = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION';

export function isLatest(t: TrafficTarget): boolean {
  // Enums may come back as names or numbers (1 = LATEST) depending on the client's encoding.
  return t.type === LATEST || (t.type as unknown) === 1;
}

/**
 * The live split with LATEST replaced by the revision it currently means, so that creating a new
 * revision does not move any traffic to it. A service with no ready revision has nothing to pin.
 */
export function pinTraffic(live: Service): TrafficTarget[] {
  const latestReady = shortName(live.latestReadyRevision);
  const targets = live.traffic?.length ? live.traffic : [{ type: LATEST, percent: 100 } as TrafficTarget];
  const pinned: TrafficTarget[] = [];
  for (const t of targets) {
    if (isLatest(t)) {
      if (!latestReady) continue;
      pinned.push({
        type: REVISION,
        revision: latestReady,
        percent: t.percent ?? 0,
        ...(t.tag ? { tag: t.tag } : {}),
      });
    } else {
      pinned.push({
        type: REVISION,
        revision: t.revision!,
        percent: t.percent ?? 0,
        ...(t.tag ? { tag: t.tag } : {}),
      });
    }
  }
  return mergeUntagged(pinned);
}

/** Untagged entries for the same revision add up; Cloud Run rejects duplicates. */
function mergeUntagged(targets: TrafficTarget[]): TrafficTarget[] {
  const out: TrafficTarget[] = [];
  for (const t of targets) {
    const same = !t.tag && out.find((o) => !o.tag && o.revision === t.revision);
    if (same) same.percent = (same.percent ?? 0) + (t.percent ?? 0);
    else out.push({ ...t });
  }
  return out.filter((t) => t.tag || (t.percent ?? 0) > 0);
}

/**
 * Adds the candidate revision with 0% and its own tag. A tag already in the split moves: the
 * revision that held it keeps its share, untagged.
 */
export function withCandidate(targets: TrafficTarget[], revision: string, tag: string): TrafficTarget[] {
  return [...withoutTag(targets, tag), { type: REVISION, revision, percent: 0, tag }];
}

/** Drops a tag, keeping its revision's share of traffic. */
export function withoutTag(targets: TrafficTarget[], tag: string): TrafficTarget[] {
  return mergeUntagged(
    targets.map((t) =>
      t.tag === tag ? { type: t.type ?? REVISION, revision: t.revision!, percent: t.percent ?? 0 } : t,
    ),
  );
}

/** The targets without `tag` when some entry carries it; undefined when none does (nothing to change). */
export function withoutTagIfPresent(
  targets: TrafficTarget[] | undefined,
  tag: string,
): TrafficTarget[] | undefined {
  return targets?.some((t) => t.tag === tag) ? withoutTag(targets, tag) : undefined;
}

/** update_traffic_flags' tag changes as a plan carries them: every revision by name. */
export interface TagMove {
  /** --clear-tags or --set-tags: every tag but `keep` comes off before `update` goes on. */
  clear: boolean;
  /** Tag → revision, each put on a 0% entry of its revision. */
  update: Record<string, string>;
  remove: string[];
  /** Runway's own tags, which the user's flags never touch. */
  keep: string[];
}

/**
 * gcloud's tag update on a split: the tags removed (all of them, clearing) come off their entries,
 * which keep their shares, then each updated tag goes on a 0% entry of its revision.
 */
export function withTagChanges(targets: TrafficTarget[], move: TagMove): TrafficTarget[] {
  const off = (tag: string): boolean =>
    !move.keep.includes(tag) && (move.clear || move.remove.includes(tag) || Object.hasOwn(move.update, tag));
  const kept = mergeUntagged(
    targets.map((t) =>
      t.tag && off(t.tag) ? { type: t.type ?? REVISION, revision: t.revision!, percent: t.percent ?? 0 } : t,
    ),
  );
  const added = Object.keys(move.update)
    .sort()
    .map((tag) => ({ type: REVISION, revision: move.update[tag]!, percent: 0, tag }) as TrafficTarget);
  return [...kept, ...added];
}

/** The tags this move changes, each with the revision it named in `before` (undefined: none). */
export function tagsBefore(
  before: TrafficTarget[],
  move: TagMove,
): Array<{ tag: string; revision: string | undefined }> {
  const named = [
    ...(move.clear ? before.flatMap((t) => (t.tag ? [t.tag] : [])) : []),
    ...move.remove,
    ...Object.keys(move.update),
  ].filter((tag) => !move.keep.includes(tag));
  return [...new Set(named)].map((tag) => ({ tag, revision: before.find((t) => t.tag === tag)?.revision }));
}

/** Each tag put back on the revision it named before (or taken off, when it named none). */
export function withTagsRestored(
  targets: TrafficTarget[],
  tags: Array<{ tag: string; revision: string | undefined }>,
): TrafficTarget[] {
  let restored = targets;
  for (const { tag, revision } of tags) {
    restored = withoutTag(restored, tag);
    if (revision) restored = [...restored, { type: REVISION, revision, percent: 0, tag }];
  }
  return restored;
}

/**
 * Sends `split` (revision → percent), every revision by name, and keeps every tag as a 0% entry so
 * tag URLs keep working. Never LATEST: Cloud Run resolves LATEST when the change lands, to whatever
 * revision is newest then, which may be one Runway never checked.
 */
export function promote(current: TrafficTarget[], split: Record<string, number>): TrafficTarget[] {
  const tagged = current.filter((t) => t.tag).map((t) => ({ ...t, percent: 0 }));
  const weighted = Object.entries(split)
    .filter(([, percent]) => percent > 0)
    .map(([revision, percent]) => ({ type: REVISION, revision, percent }) as TrafficTarget);
  return [...weighted, ...tagged];
}

/**
 * The split for one progressive-delivery step: `percent` to the candidate, the rest to what served
 * before, in the same proportions (largest remainder, so whole percentages add up to 100). Every tag
 * `current` carries (the candidate's own, which the probes use, included) rides along at 0%.
 */
export function stepSplit(
  before: TrafficTarget[],
  candidate: string,
  percent: number,
  current: TrafficTarget[],
): TrafficTarget[] {
  const weighted = before.filter((t) => (t.percent ?? 0) > 0 && t.revision !== candidate);
  const total = weighted.reduce((sum, t) => sum + (t.percent ?? 0), 0);
  const rest = 100 - percent;
  const exact = weighted.map((t) => ((t.percent ?? 0) * rest) / (total || 1));
  const shares = exact.map(Math.floor);
  let left = rest - shares.reduce((a, b) => a + b, 0);
  for (const i of exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0])) {
    if (left-- <= 0) break;
    shares[i[1]]!++;
  }
  const byRevision = new Map<string, number>();
  weighted.forEach((t, i) => byRevision.set(t.revision!, (byRevision.get(t.revision!) ?? 0) + shares[i]!));
  const tags = current.filter((t) => t.tag).map((t) => ({ ...t, percent: 0 }));
  return [
    { type: REVISION, revision: candidate, percent },
    ...[...byRevision]
      .filter(([, p]) => p > 0)
      .map(([revision, p]) => ({ type: REVISION, revision, percent: p }) as TrafficTarget),
    ...tags,
  ];
}

/**
 * Once the checked revision serves everything by name and is also the latest ready revision, the
 * split is written as LATEST again, so the service follows later deploys as Cloud Run users expect
 * instead of staying pinned. Undefined when that does not hold (someone deployed meanwhile).
 */
export function followLatest(live: Service, revision: string): TrafficTarget[] | undefined {
  if (shortName(live.latestReadyRevision) !== revision) return undefined;
  const traffic = live.traffic ?? [];
  const weighted = traffic.filter((t) => (t.percent ?? 0) > 0);
  const only = weighted.length === 1 ? weighted[0]! : undefined;
  if (!only || isLatest(only) || only.revision !== revision || only.tag) return undefined;
  return [{ type: LATEST, percent: 100 }, ...traffic.filter((t) => t.tag)];
}

/** "my-svc-00002-abc 100%" or "a 90%, b 10% (tags: pr-7 → a)". */
export function describeTraffic(statuses: TrafficTarget[] | undefined): string {
  if (!statuses?.length) return 'no traffic';
  const weighted = statuses
    .filter((t) => (t.percent ?? 0) > 0)
    .map((t) => `${t.revision ?? 'LATEST'} ${t.percent}%`);
  const tags = statuses.filter((t) => t.tag).map((t) => `${t.tag} → ${t.revision ?? 'LATEST'}`);
  return `${weighted.join(', ') || 'no traffic'}${tags.length ? ` (tags: ${tags.join(', ')})` : ''}`;
}

/** Percent of traffic each revision serves, from the service's trafficStatuses. */
export function servingSplit(service: Service): Record<string, number> {
  const split: Record<string, number> = {};
  const latest = shortName(service.latestReadyRevision);
  for (const t of service.trafficStatuses ?? []) {
    const revision = isLatest(t) ? latest : t.revision;
    if (!revision || !t.percent) continue;
    split[revision] = (split[revision] ?? 0) + t.percent;
  }
  return split;
}

/** The revision with the largest share of a pinned split (the first such, on a tie). */
export function largestShare(targets: TrafficTarget[]): string | undefined {
  let best: TrafficTarget | undefined;
  for (const t of targets) if ((t.percent ?? 0) > (best?.percent ?? 0)) best = t;
  return best?.revision;
}

function trafficKey(targets: TrafficTarget[] | undefined): string {
  return JSON.stringify(
    (targets ?? [])
      .map((t) => [isLatest(t) ? 'LATEST' : (t.revision ?? ''), t.percent ?? 0, t.tag ?? ''])
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
  );
}

/** Whether two traffic specs send the same shares to the same targets under the same tags. */
export function sameTraffic(a: TrafficTarget[] | undefined, b: TrafficTarget[] | undefined): boolean {
  return trafficKey(a) === trafficKey(b);
}

const TAG_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `length` characters of [a-z0-9] drawn from a hash of `seed`. */
function hashChars(seed: string, length: number): string {
  return [...createHash('sha256').update(seed).digest()]
    .slice(0, length)
    .map((b) => TAG_ALPHABET[b % TAG_ALPHABET.length])
    .join('');
}

/**
 * The tag Runway checks a candidate on: `rw-RUN_ID-ATTEMPT-xyz` (xyz from `nonce`, so two jobs of
 * one run differ) when it fits Cloud Run's 46 characters for tag and service name together, else
 * `r` and hash characters of the run, as many as room allows (at most 12); undefined when not even
 * one character fits.
 */
export function candidateTagFor(
  service: string,
  runId: string,
  attempt: string,
  nonce: string,
): string | undefined {
  const room = MAX_TAG_AND_SERVICE - service.length;
  if (room < 1) return undefined;
  const seed = `${runId}/${attempt}/${nonce}`;
  const readable = `rw-${runId}-${attempt}-${hashChars(seed, 3)}`.toLowerCase();
  if (readable.length <= room && /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(readable)) return readable;
  return `r${hashChars(seed, Math.min(room - 1, 12))}`;
}

/**
 * A pull request's preview tag: `pr-NUMBER`, or `pNUMBER` when that would pass Cloud Run's 46
 * characters for tag and service name together; undefined when neither fits. Stable: every run
 * for the same pull request, the preview and its clean-up, computes the same tag.
 */
export function previewTagFor(service: string, pullRequest: number): string | undefined {
  const room = MAX_TAG_AND_SERVICE - service.length;
  return [`pr-${pullRequest}`, `p${pullRequest}`].find((tag) => tag.length <= room);
}

/** Revision → percent over the entries that carry traffic: what a split serves, tags aside. */
function sharesKey(targets: TrafficTarget[] | undefined): string {
  const shares: Record<string, number> = {};
  for (const t of targets ?? []) {
    const target = isLatest(t) ? 'LATEST' : (t.revision ?? '');
    if (t.percent) shares[target] = (shares[target] ?? 0) + t.percent;
  }
  return JSON.stringify(Object.entries(shares).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Whether two splits serve the same shares, whatever 0% tags they carry: a preview adding its tag,
 * or a cleanup removing one, is not a change to what production serves.
 */
export function sameShares(a: TrafficTarget[] | undefined, b: TrafficTarget[] | undefined): boolean {
  return sharesKey(a) === sharesKey(b);
}

/** The entries of `before` a rollback writes back as they were: every share, and `ownTag`'s entry. */
function writtenBack(before: TrafficTarget[], ownTag: string | undefined): TrafficTarget[] {
  return before.filter((t) => (t.percent ?? 0) > 0 || (ownTag !== undefined && t.tag === ownTag));
}

/** The revisions a rollback (restoredTraffic) routes to again: what undoing needs to still exist. */
export function revisionsRestored(before: TrafficTarget[], ownTag: string | undefined): string[] {
  return [...new Set(writtenBack(before, ownTag).flatMap((t) => (t.revision ? [t.revision] : [])))];
}

/**
 * The split a rollback writes: `before`'s shares and its entry for `ownTag` (the tag this run moved
 * onto its revision), plus every other 0% tag `live` carries now, so that tags other writers added
 * or removed meanwhile (a preview, its cleanup) stay as they left them.
 */
export function restoredTraffic(
  before: TrafficTarget[],
  live: TrafficTarget[] | undefined,
  ownTag: string | undefined,
): TrafficTarget[] {
  const restored = writtenBack(before, ownTag);
  const tags = new Set(restored.map((t) => t.tag).filter(Boolean));
  for (const t of live ?? []) {
    if (!t.tag || (t.percent ?? 0) > 0 || t.tag === ownTag || tags.has(t.tag)) continue;
    restored.push({ ...t });
    tags.add(t.tag);
  }
  return restored;
}
