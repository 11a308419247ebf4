// The planner: a pure function from the settings and what observing the service found to the plan
// of steps (rollout/plan.ts). It names the new revision, pins the split that serves now (what
// undoing restores), chooses the tag the candidate is checked on, and refuses, before anything
// changes, what cannot be done. No I/O and no clock: the same facts always give the same plan.
import { RunwayError } from '../errors.js';
import type { ServiceRef } from '../gcp/run.js';
import {
  MAX_TAG_AND_SERVICE,
  type RevisionTemplate,
  type Service,
  type TrafficTarget,
} from '../gcp/run-types.js';
import {
  describeTraffic,
  isLatest,
  largestShare,
  pinTraffic,
  revisionsRestored,
  tagsBefore,
  withTagChanges,
  type TagMove,
} from '../deploy/traffic.js';
import type { Settings } from '../inputs/inputs.js';
import type { Plan, SpecChanges, Step, Undo } from './plan.js';
import { serviceSettings } from '../deploy/service-settings.js';
import { previewNeedsServingRevision } from './preview.js';

/** The settings of one region's rollout. */
export interface RolloutSettings extends Pick<
  Settings,
  | 'traffic'
  | 'tag'
  | 'revisionTraffic'
  | 'tagTraffic'
  | 'trafficTags'
  | 'healthCheck'
  | 'rollback'
  | 'suffix'
  | 'progressive'
  | 'keepRevisions'
  | 'keepRevisionsGraceSeconds'
> {
  allowUnauthenticated: boolean | undefined;
  /** --[no-]invoker-iam-check as this run sets it; undefined leaves the live setting. */
  invokerIamDisabled?: boolean | undefined;
  /** The annotation key of this rollout's record on the service (recordKey), unique to the rollout. */
  recordKey: string;
  /** The tag the candidate is checked on when the user gave none; undefined when none fits. */
  candidateTag: string | undefined;
  /** A pull request's preview: it goes only beside a revision that already serves. */
  preview: boolean;
}

/** What observing the service found before anything changed: the facts the plan is made from. */
export interface Observation {
  /** The service as read; undefined when it does not exist. */
  live: Service | undefined;
  /** The serving revision and its template, when the service's own template serves nothing. */
  serving: { revision: string; template: RevisionTemplate } | undefined;
  /** Whether allUsers may invoke the live service; undefined when it was not read (or no service). */
  public: boolean | undefined;
}

export interface PlanInput {
  ref: ServiceRef;
  settings: RolloutSettings;
  changes: SpecChanges;
  observed: Observation;
  /** Three random lowercase letters for the new revision's name (SERVICE-NNNNN-xyz). */
  letters: string;
}

/** Cloud Run-style name: SERVICE-NNNNN-xyz, chosen here so the new revision can be tagged in the same update. */
export function nextRevisionName(
  service: string,
  live: Service | undefined,
  suffix: string | undefined,
  letters: string,
): string {
  if (suffix) return `${service}-${suffix}`;
  const generation = Number(live?.generation ?? '0') + 1;
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

/** Whether the checks need a Google ID token: the service will not be public after this run. */
function checksNeedToken(settings: RolloutSettings, observed: Observation): boolean {
  if (settings.invokerIamDisabled ?? observed.live?.invokerIamDisabled) return false;
  if (settings.allowUnauthenticated !== undefined) return !settings.allowUnauthenticated;
  return !(observed.public ?? false);
}

function notesOn(
  where: string,
  settings: RolloutSettings,
  observed: Observation,
  servedBefore: TrafficTarget[] | undefined,
): string[] {
  const notes: string[] = [];
  const { live } = observed;
  const pinned = live?.traffic?.length && !live.traffic.some(isLatest);
  if (pinned && settings.traffic !== 'none') {
    notes.push(
      `note: ${where} had its traffic pinned to named revisions (${describeTraffic(live.traffic)}: by hand, an earlier no-traffic deploy, or an earlier rollback), not following the latest revision; Runway moves it to the new revision as asked`,
    );
  }
  if (!servedBefore && settings.traffic === 'none') {
    notes.push(
      `note: ${where} has no serving revision, so the new one takes its traffic whatever \`traffic\` says`,
    );
  }
  if (observed.serving) {
    const latest = live?.latestCreatedRevision?.split('/').pop();
    notes.push(
      `note: ${where}'s latest revision ${latest} serves nothing; the new revision starts from the settings of ${observed.serving.revision}, which serves`,
    );
  }
  return notes;
}

/** The tags of a rollout: which one the candidate is checked on, and which one is Runway's own. */
function tagsFor(
  ref: ServiceRef,
  where: string,
  settings: RolloutSettings,
  live: Service | undefined,
  servedBefore: TrafficTarget[] | undefined,
  newShare: number,
): { checkTag: string | undefined; candidateTag: string | undefined } {
  // Beside a serving revision the candidate is checked on its own tag URL, except with `immediate`
  // when it takes all the traffic at once (then the service URL reaches only it).
  const besideServing = servedBefore !== undefined && (settings.traffic !== 'immediate' || newShare < 100);
  if (!besideServing) return { checkTag: !servedBefore ? settings.tag : undefined, candidateTag: undefined };
  const checkTag = settings.tag ?? settings.candidateTag;
  const candidateTag = settings.tag ? undefined : settings.candidateTag;
  if (!checkTag) {
    throw new RunwayError(
      `Input 'service' (${ref.service}, ${ref.service.length} characters) leaves no room for a tag: Cloud Run allows ${MAX_TAG_AND_SERVICE} characters for a tag and the service name together, and the new revision needs a tag to be checked on before it serves beside the old one. Nothing was changed.`,
      `Use a service name of at most ${MAX_TAG_AND_SERVICE - 1} characters, or \`traffic: immediate\` with all traffic to the new revision (checked on the service URL).`,
    );
  }
  if (candidateTag && live?.traffic?.some((t) => t.tag === candidateTag)) {
    throw new RunwayError(
      `The tag '${candidateTag}' Runway would check the new revision on is already in use on ${where}: another run may be deploying it right now. Nothing was changed.`,
      'Run one deploy of a service at a time (a `concurrency:` group in the workflow), or give `tag`.',
    );
  }
  return { checkTag, candidateTag };
}

/**
 * update_traffic_flags' tag changes with LATEST as the new revision by name (as `revision_traffic`'s
 * LATEST is), never touching Runway's own tag.
 */
function tagMoveFor(
  settings: RolloutSettings,
  revision: string,
  candidateTag: string | undefined,
): TagMove | undefined {
  const tags = settings.trafficTags;
  if (!tags) return undefined;
  const update = Object.fromEntries(
    Object.entries(tags.update).map(([tag, target]) => [tag, target === 'LATEST' ? revision : target]),
  );
  return { clear: tags.clear, update, remove: tags.remove, keep: candidateTag ? [candidateTag] : [] };
}

/** The steps after the candidate is healthy on its tag: the traffic steps, or one promotion. */
function trafficSteps(
  settings: RolloutSettings,
  revision: string,
  servedBefore: TrafficTarget[],
  split: Record<string, number>,
  checkTag: string | undefined,
  tags: TagMove | undefined,
): Step[] {
  if (settings.traffic !== 'verified') return [];
  const progressive = settings.progressive;
  if (!progressive || !checkTag) {
    return [
      {
        kind: 'promote',
        phase: 'promote',
        doing: `moving traffic to ${revision}`,
        change: { kind: 'move-traffic', move: { kind: 'split', split, ...(tags ? { tags } : {}) } },
        // The tags the move changes go back before the split does (undos run newest first).
        ...(tags ? { undo: { kind: 'restore-tags', tags: tagsBefore(servedBefore, tags) } as const } : {}),
      },
    ];
  }
  return progressive.steps.map((percent): Step => ({
    kind: 'traffic-step',
    phase: `step ${percent}%`,
    doing: `moving ${percent}% to ${revision}`,
    ...(progressive.gate ? { approval: { kind: 'gate-approves', revision, percent } } : {}),
    change: { kind: 'move-traffic', move: { kind: 'step', revision, percent, before: servedBefore } },
    check: {
      kind: 'step-gates',
      revision,
      percent,
      tag: checkTag,
      holdSeconds: progressive.waitSeconds,
      maxErrorRate: progressive.maxErrorRate,
      maxLatencyMs: progressive.maxLatencyMs,
    },
  }));
}

export function planRollout(input: PlanInput): Plan {
  const { ref, settings, changes, observed } = input;
  const { live } = observed;
  const where = `${ref.service} in ${ref.region}`;
  const revision = nextRevisionName(ref.service, live, settings.suffix, input.letters);
  const servedBefore = live?.latestReadyRevision ? pinTraffic(live) : undefined;
  if (settings.preview && !servedBefore) throw previewNeedsServingRevision(where, live !== undefined);

  // Runway's own tag is known once the new revision's share is, and the share may follow from tags
  // update_traffic_flags moves (--to-tags after --update-tags), which never touch Runway's tag.
  const ownTag = settings.tag ? undefined : settings.candidateTag;
  const tagMove = tagMoveFor(settings, revision, ownTag);
  const splitFrom = servedBefore && tagMove ? withTagChanges(servedBefore, tagMove) : servedBefore;
  // tag_traffic naming a tag the service lacks fails here, before anything changes.
  const split = splitFrom ? resolveSplit(settings, revision, splitFrom) : undefined;
  const newShare = split ? (split[revision] ?? 0) : 100;
  const { checkTag, candidateTag } = tagsFor(ref, where, settings, live, servedBefore, newShare);
  const previousRevision = servedBefore ? largestShare(servedBefore) : undefined;

  const caveats: string[] = [];
  let undoCandidate: Undo | undefined;
  if (servedBefore)
    undoCandidate = {
      kind: 'restore-traffic',
      to: servedBefore,
      ownTag: checkTag,
      dropTag: candidateTag,
      // A file replaces the service's own settings too: undoing it puts them back.
      ...(changes.replace && live ? { settings: serviceSettings(live) } : {}),
    };
  else if (!live) undoCandidate = { kind: 'delete-created-service' };
  else
    caveats.push(
      `${where} existed but had no serving revision before this run, so there is no earlier split to restore.`,
    );

  // Before the first change, the service itself says which revisions undoing needs, so that a
  // prune by another run meanwhile leaves them even while they serve nothing.
  const undoNeeds = servedBefore ? revisionsRestored(servedBefore, checkTag) : [];
  const clearRecord: Undo = { kind: 'clear-rollout-record', key: settings.recordKey };
  const steps: Step[] = [];
  if (undoNeeds.length) {
    steps.push({
      kind: 'record-rollout',
      phase: 'record rollout',
      doing: 'recording on the service what undoing needs',
      change: { kind: 'record-rollout', key: settings.recordKey, revisions: undoNeeds },
      undo: clearRecord,
    });
  }
  steps.push({
    kind: 'create-candidate',
    phase: 'deploy and ready',
    doing: `deploying revision ${revision}`,
    change: {
      kind: 'deploy-revision',
      revision,
      changes,
      baseTemplate: observed.serving?.template,
      revisionOnly: settings.preview,
      split: settings.traffic === 'immediate' ? split : undefined,
      tag: checkTag,
      alone: settings.preview ? 'refuse' : { tag: settings.tag, ...(tagMove ? { tags: tagMove } : {}) },
    },
    ...(undoCandidate ? { undo: undoCandidate } : {}),
    check: { kind: 'revision-ready', revision, previousRevision },
  });
  if (settings.allowUnauthenticated !== undefined) {
    steps.push({
      kind: 'public-access',
      phase: 'public access',
      doing: 'changing who may invoke the service',
      change: { kind: 'set-public-access', allow: settings.allowUnauthenticated },
      undo: { kind: 'revert-public-access', madePublic: settings.allowUnauthenticated },
      skipWhen: 'already-so',
    });
  }
  if (checkTag) {
    steps.push({
      kind: 'verify-on-tag',
      phase: 'verify on tag',
      doing: `checking revision ${revision} on its tag URL`,
      check: { kind: 'healthy-on-tag', revision, tag: checkTag },
    });
  }
  if (servedBefore) steps.push(...trafficSteps(settings, revision, servedBefore, split!, checkTag, tagMove));
  // With `none`, the revision takes no traffic beside a serving one: nothing to check live.
  if (settings.traffic !== 'none' || !servedBefore) {
    steps.push({
      kind: 'verify-live',
      phase: 'verify live',
      doing: `checking revision ${revision} on the service URL`,
      check: { kind: 'healthy-live', revision, share: newShare },
    });
  }
  steps.push({
    kind: 'clean-up',
    phase: 'clean up',
    doing: 'cleaning up',
    change: { kind: 'move-traffic', move: { kind: 'tidy', revision, dropTag: candidateTag } },
    skipWhen: 'already-so',
  });

  // The record goes before pruning, which would otherwise keep what this very rollout recorded.
  const afterwards: Step[] = [];
  if (undoNeeds.length) {
    afterwards.push({
      kind: 'clear-record',
      phase: 'clear record',
      doing: 'removing the rollout record',
      change: { kind: 'clear-rollout-record', key: settings.recordKey },
      skipWhen: 'already-so',
      // A record left behind expires on its own; it only keeps revisions a little longer.
      onFailure: 'warn',
    });
  }
  if (settings.keepRevisions !== undefined) {
    afterwards.push({
      kind: 'prune',
      phase: 'prune',
      doing: 'deleting idle revisions',
      change: {
        kind: 'prune-revisions',
        keep: settings.keepRevisions,
        protect: previousRevision ? [previousRevision] : [],
        graceSeconds: settings.keepRevisionsGraceSeconds,
      },
      onFailure: 'warn',
    });
  }

  return {
    revision,
    createsService: !live,
    servedBefore,
    previousRevision,
    checkTag,
    candidateTag,
    newShare,
    checksNeedToken: checksNeedToken(settings, observed),
    steps,
    afterwards,
    // rollback: false leaves traffic where it is; Runway's own tag and its record still go.
    onUnhealthy: settings.rollback
      ? undefined
      : [
          ...(candidateTag ? [{ kind: 'drop-tag', tag: candidateTag } as const] : []),
          ...(undoNeeds.length ? [clearRecord] : []),
        ],
    notes: notesOn(where, settings, observed, servedBefore),
    caveats,
  };
}
