// Phase 1, plan (changes nothing): read the live service, name the new revision, pin the split it
// serves now, choose the tag the candidate is checked on, and let Cloud Run dry-run the spec.
import { randomBytes } from 'node:crypto';
import { RunwayError } from '../errors.js';
import {
  MAX_TAG_AND_SERVICE,
  shortName,
  templateOf,
  type RevisionTemplate,
  type Service,
  type TrafficTarget,
} from '../gcp/run-types.js';
import { planService } from '../deploy/plan.js';
import { checkCanSetIamPolicy, validateSpec } from '../deploy/preflight.js';
import {
  explainRunError,
  isConcurrentChange,
  MAX_CONFLICT_RETRIES,
  revisionNameClash,
} from '../deploy/apply.js';
import {
  describeTraffic,
  isLatest,
  largestShare,
  pinTraffic,
  promote,
  withCandidate,
} from '../deploy/traffic.js';
import type { Rollout, RolloutSettings } from './context.js';

export interface RolloutPlan {
  /** The service before this run; undefined when this run creates it. */
  initial: Service | undefined;
  /** The new revision's name, chosen here so the update that creates it can also tag it. */
  revision: string;
  /** The split that served before this run, LATEST resolved: what undoing restores exactly. */
  servedBefore: TrafficTarget[] | undefined;
  /** The revision that served the largest share before this run. */
  previousRevision: string | undefined;
  /** The tag the candidate is checked on before it takes traffic (the user's `tag`, or Runway's own). */
  checkTag: string | undefined;
  /** Runway's own tag, removed at the end; undefined when the user's `tag` serves. */
  candidateTag: string | undefined;
  /** The share of traffic the new revision is to serve once the rollout is done. */
  newShare: number;
  /** The spec that creates the candidate, planned from the live service. */
  spec: (live: Service | undefined) => Service;
}

/** Cloud Run-style name: SERVICE-NNNNN-xyz, chosen here so the new revision can be tagged in the same update. */
export function nextRevisionName(
  service: string,
  live: Service | undefined,
  suffix: string | undefined,
  random = randomBytes,
): string {
  if (suffix) return `${service}-${suffix}`;
  const generation = Number(live?.generation ?? '0') + 1;
  const letters = [...random(3)].map((b) => String.fromCharCode(97 + (b % 26))).join('');
  return `${service}-${String(generation).padStart(5, '0')}-${letters}`;
}

/** Resolves `revision_traffic`/`tag_traffic` against the service into revision → percent. */
export function resolveSplit(
  settings: Pick<RolloutSettings, 'revisionTraffic' | 'tagTraffic'>,
  newRevision: string,
  current: TrafficTarget[],
): Record<string, number> {
  const split: Record<string, number> = {};
  const add = (revision: string, percent: number): void => {
    split[revision] = (split[revision] ?? 0) + percent;
  };
  if (settings.revisionTraffic) {
    for (const [target, percent] of Object.entries(settings.revisionTraffic))
      add(target === 'LATEST' ? newRevision : target, percent);
  } else if (settings.tagTraffic) {
    for (const [tag, percent] of Object.entries(settings.tagTraffic)) {
      const revision = current.find((t) => t.tag === tag)?.revision;
      if (!revision)
        throw new RunwayError(
          `Input 'tag_traffic' names tag '${tag}', which no revision of the service has.`,
          "Use a tag listed in the service's traffic, or `revision_traffic`.",
        );
      add(revision, percent);
    }
  } else {
    add(newRevision, 100);
  }
  return split;
}

/**
 * Whether the candidate is checked on its own tag URL: always beside a serving revision, except
 * with `immediate` when it takes all the traffic at once (then the service URL reaches only it).
 */
function checkedOnTag(
  settings: RolloutSettings,
  servedBefore: TrafficTarget[] | undefined,
  newShare: number,
): boolean {
  return servedBefore !== undefined && (settings.traffic !== 'immediate' || newShare < 100);
}

function logNotes(r: Rollout, initial: Service | undefined, servedBefore: TrafficTarget[] | undefined): void {
  const pinned = initial?.traffic?.length && !initial.traffic.some(isLatest);
  if (pinned && r.settings.traffic !== 'none') {
    r.deps.log(
      `note: ${r.where} had its traffic pinned to named revisions (${describeTraffic(initial.traffic)}: by hand, an earlier no-traffic deploy, or an earlier rollback), not following the latest revision; Runway moves it to the new revision as asked`,
    );
  }
  if (!servedBefore && r.settings.traffic === 'none') {
    r.deps.log(
      `note: ${r.where} has no serving revision, so the new one takes its traffic whatever \`traffic\` says`,
    );
  }
}

/**
 * The serving revision's template when the service's template is a revision that serves nothing
 * (the last preview, a `traffic: none` deploy, or a deploy that was rolled back): the new revision
 * then starts from what production runs, so a pull request's env, secrets or scaling never carry
 * over. Undefined when the service's own template is what serves.
 */
async function servingTemplate(
  r: Rollout,
  initial: Service | undefined,
  servedBefore: TrafficTarget[] | undefined,
): Promise<RevisionTemplate | undefined> {
  const latest = shortName(initial?.latestCreatedRevision);
  const serving = servedBefore ? largestShare(servedBefore) : undefined;
  if (!latest || !serving || servedBefore!.some((t) => t.revision === latest && (t.percent ?? 0) > 0))
    return undefined;
  const revision = await r.deps.client.getRevision(r.ref, serving);
  if (!revision) return undefined;
  r.deps.log(
    `note: ${r.where}'s latest revision ${latest} serves nothing; the new revision starts from the settings of ${serving}, which serves`,
  );
  return templateOf(revision);
}

/** The dry run was refused because the service changed after the plan's read (its etag). */
class ChangedWhilePlanning extends Error {}

/**
 * Plans from a fresh read of the service. Another deploy that changes it between the read and the
 * dry run makes Cloud Run refuse the dry run on the etag: the plan is made again from a new read.
 */
export async function planRollout(r: Rollout): Promise<RolloutPlan> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await planOnce(r);
    } catch (err) {
      if (!(err instanceof ChangedWhilePlanning)) throw err;
      if (attempt >= MAX_CONFLICT_RETRIES) {
        throw new RunwayError(
          `${r.where} changed while Runway was deploying, ${MAX_CONFLICT_RETRIES} times in a row: ${err.message}`,
          'Another deploy of this service is under way: give the job a `concurrency:` group so deploys of one service wait for each other.',
          { cause: err },
        );
      }
      r.deps.log(`${r.where} changed while Runway was planning (${err.message}); reading it again`);
    }
  }
}

async function planOnce(r: Rollout): Promise<RolloutPlan> {
  const { client } = r.deps;
  const { settings } = r;
  const initial = await client.getService(r.ref);
  const revision = nextRevisionName(r.ref.service, initial, settings.suffix);
  const servedBefore = initial?.latestReadyRevision ? pinTraffic(initial) : undefined;
  if (settings.preview && !servedBefore) {
    throw new RunwayError(
      `${r.where} ${initial ? 'has no serving revision' : 'does not exist'}, so a preview would be all it serves. Nothing was changed.`,
      'Deploy the service from the main branch first; previews go beside what it serves.',
    );
  }
  logNotes(r, initial, servedBefore);
  const baseTemplate = await servingTemplate(r, initial, servedBefore);

  // tag_traffic naming a tag the service lacks fails here, before anything changes.
  const newShare = servedBefore ? (resolveSplit(settings, revision, servedBefore)[revision] ?? 0) : 100;
  let checkTag: string | undefined;
  let candidateTag: string | undefined;
  if (checkedOnTag(settings, servedBefore, newShare)) {
    checkTag = settings.tag ?? settings.candidateTag;
    candidateTag = settings.tag ? undefined : settings.candidateTag;
    if (!checkTag) {
      throw new RunwayError(
        `Input 'service' (${r.ref.service}, ${r.ref.service.length} characters) leaves no room for a tag: Cloud Run allows ${MAX_TAG_AND_SERVICE} characters for a tag and the service name together, and the new revision needs a tag to be checked on before it serves beside the old one. Nothing was changed.`,
        `Use a service name of at most ${MAX_TAG_AND_SERVICE - 1} characters, or \`traffic: immediate\` with all traffic to the new revision (checked on the service URL).`,
      );
    }
    if (candidateTag && initial?.traffic?.some((t) => t.tag === candidateTag)) {
      throw new RunwayError(
        `The tag '${candidateTag}' Runway would check the new revision on is already in use on ${r.where}: another run may be deploying it right now. Nothing was changed.`,
        'Run one deploy of a service at a time (a `concurrency:` group in the workflow), or give `tag`.',
      );
    }
  } else if (!servedBefore && settings.tag) {
    checkTag = settings.tag;
  }

  const spec = (live: Service | undefined): Service => {
    const serving = live?.latestReadyRevision ? pinTraffic(live) : undefined;
    let traffic: TrafficTarget[];
    if (!serving && settings.preview) {
      throw new RunwayError(
        `${r.where} lost its serving revision during this run, so a preview would be all it serves. Nothing was changed.`,
        'Deploy the service from the main branch first; previews go beside what it serves.',
      );
    }
    if (!serving) {
      traffic = [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision, percent: 100 }];
      if (settings.tag) traffic = withCandidate(traffic, revision, settings.tag);
    } else if (settings.traffic === 'immediate') {
      traffic = promote(serving, resolveSplit(settings, revision, serving));
      if (checkTag) traffic = withCandidate(traffic, revision, checkTag);
    } else {
      traffic = withCandidate(serving, revision, checkTag!);
    }
    return planService(live, {
      ...r.changes,
      project: r.ref.project,
      region: r.ref.region,
      service: r.ref.service,
      revisionName: revision,
      traffic,
      revisionOnly: settings.preview,
      baseTemplate,
    });
  };

  // Cloud Run's dry run (permissions, actAs, validation) and the IAM check, before anything changes.
  const planned = spec(initial);
  try {
    await validateSpec(client, r.ref, planned, initial !== undefined);
  } catch (err) {
    if (isConcurrentChange(err, initial !== undefined))
      throw new ChangedWhilePlanning((err as Error).message, { cause: err });
    throw (
      revisionNameClash(err, initial !== undefined) ??
      explainRunError(err, r.ref, r.deps.identity, planned.template.serviceAccount)
    );
  }
  if (settings.allowUnauthenticated !== undefined && initial)
    await checkCanSetIamPolicy(client, r.ref, r.deps.identity);

  return {
    initial,
    revision,
    servedBefore,
    previousRevision: servedBefore ? largestShare(servedBefore) : undefined,
    checkTag,
    candidateTag,
    newShare,
    spec,
  };
}
