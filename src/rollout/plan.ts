// The rollout as plain data. A plan is an ordered list of steps; each step is at most one change to
// the service, the undo that takes that change back (recorded just before the change is sent), the
// check that must pass before the next step, and when the change is skipped. The planner makes a
// plan from facts without any I/O; the executor applies it; the log and the job summary print it.
import type { ServiceChanges } from '../deploy/plan.js';
import type { PruneRules } from '../deploy/prune.js';
import type { ServiceSettings } from '../deploy/service-settings.js';
import type { RevisionTemplate, TrafficTarget } from '../gcp/run-types.js';
import type { TagMove } from '../deploy/traffic.js';

/** The settings a new revision is made from, less what the plan decides (its name and traffic). */
export type SpecChanges = Omit<
  ServiceChanges,
  'revisionName' | 'traffic' | 'project' | 'region' | 'service' | 'revisionOnly' | 'baseTemplate'
>;

/**
 * Creates the new revision (and the service, when there is none). Its traffic is resolved against
 * the service as read when the change is sent, so a concurrent change re-plans it from the new read.
 */
export interface DeployRevision {
  kind: 'deploy-revision';
  revision: string;
  changes: SpecChanges;
  /** The serving revision's template, when the service's own template serves nothing. */
  baseTemplate: RevisionTemplate | undefined;
  /** A preview: the service's labels and ingress stay as production has them. */
  revisionOnly: boolean;
  /** Beside a serving revision: the split to send at once (`immediate`), or none (0% beside it). */
  split: Record<string, number> | undefined;
  /** The tag the new revision gets beside a serving one. */
  tag: string | undefined;
  /**
   * With nothing serving: all traffic to the new revision (tagged `tag`, with update_traffic_flags'
   * tag changes), or refuse (a preview).
   */
  alone: { tag: string | undefined; tags?: TagMove } | 'refuse';
}

/** A traffic-only change (updateMask=traffic), resolved against the live traffic when sent. */
export type TrafficMove =
  /** Every revision by name at its share; every tag stays at 0%, after update_traffic_flags' changes. */
  | { kind: 'split'; split: Record<string, number>; tags?: TagMove }
  /** `percent` to `revision`, the rest to what served before in proportion; tags stay at 0%. */
  | { kind: 'step'; revision: string; percent: number; before: TrafficTarget[] }
  /** Runway's own tag dropped, and a split that sends all to `revision` by name written as LATEST. */
  | { kind: 'tidy'; revision: string; dropTag: string | undefined };

export type Change =
  /** This rollout's record on the service (an annotation): the revisions its undo routes back to. */
  | { kind: 'record-rollout'; key: string; revisions: string[] }
  | DeployRevision
  | { kind: 'move-traffic'; move: TrafficMove }
  | { kind: 'set-public-access'; allow: boolean }
  /** This rollout's record taken off the service: nothing will be undone any more. */
  | { kind: 'clear-rollout-record'; key: string }
  | ({ kind: 'prune-revisions' } & PruneRules);

export type Undo =
  /** The split that served before, exactly, while the live shares are still what Runway wrote. */
  | {
      kind: 'restore-traffic';
      to: TrafficTarget[];
      ownTag: string | undefined;
      dropTag: string | undefined;
      /** A deploy that replaced the service (`metadata`): its service-wide settings as they were. */
      settings?: ServiceSettings;
    }
  /** The service this run created (recognised by its uid), deleted. */
  | { kind: 'delete-created-service' }
  /** allUsers taken out of the invoker binding again, or put back. */
  | { kind: 'revert-public-access'; madePublic: boolean }
  /** One tag dropped; its revision keeps its share. */
  | { kind: 'drop-tag'; tag: string }
  /** The tags a move changed, each back on the revision it named before (or dropped: it named none). */
  | { kind: 'restore-tags'; tags: Array<{ tag: string; revision: string | undefined }> }
  /** This rollout's record taken off the service again (bookkeeping: no rollback of its own to report). */
  | { kind: 'clear-rollout-record'; key: string };

export type Check =
  /** The deploy's operation succeeded: the revision became ready. */
  | { kind: 'revision-ready'; revision: string; previousRevision: string | undefined }
  /** Health checks pass on the revision's tag URL, and the tag still routes to it afterwards. */
  | { kind: 'healthy-on-tag'; revision: string; tag: string }
  /** `gate_url` approves moving `percent` to the revision. */
  | { kind: 'gate-approves'; revision: string; percent: number }
  /** The revision serves exactly `percent`, and the probes held for the step pass the gates. */
  | {
      kind: 'step-gates';
      revision: string;
      percent: number;
      tag: string;
      holdSeconds: number;
      maxErrorRate: number;
      maxLatencyMs: number | undefined;
    }
  /** The revision serves exactly `share` of the service, and the service URL passes its checks. */
  | { kind: 'healthy-live'; revision: string; share: number };

/** Every kind of step a plan can hold, in the order they run. */
export const STEP_KINDS = [
  'record-rollout',
  'create-candidate',
  'public-access',
  'verify-on-tag',
  'traffic-step',
  'promote',
  'verify-live',
  'clean-up',
  'clear-record',
  'prune',
] as const;

export type StepKind = (typeof STEP_KINDS)[number];

/** When a step's change is not sent (no undo is recorded then), decided on the live service. */
export type SkipWhen =
  /** The service already is as the change asks. */
  'already-so';

export interface Step {
  kind: StepKind;
  /** The timeline's name for the step ("deploy and ready", "step 30%"). */
  phase: string;
  /** What the step does, for the log and for "deploy_timeout passed before …". */
  doing: string;
  /** Asked before the change; a refusal fails the step with nothing changed. */
  approval?: Check;
  change?: Change;
  undo?: Undo;
  check?: Check;
  skipWhen?: SkipWhen;
  /** `warn`: a failure is a warning and the outcome stands (what is deleted cannot be undone anyway). */
  onFailure?: 'fail' | 'warn';
}

export interface Plan {
  /** The new revision's name, chosen by the plan so the update that creates it can also tag it. */
  revision: string;
  /** Whether this run creates the service (it did not exist when observed). */
  createsService: boolean;
  /** The split that served before this run, LATEST resolved; undefined when nothing served. */
  servedBefore: TrafficTarget[] | undefined;
  /** The revision that served the largest share before this run. */
  previousRevision: string | undefined;
  /** The tag the candidate is checked on before it takes traffic (the user's `tag`, or Runway's own). */
  checkTag: string | undefined;
  /** Runway's own tag, removed at the end; undefined when the user's `tag` serves. */
  candidateTag: string | undefined;
  /** The share the new revision serves once the rollout is done. */
  newShare: number;
  /** Whether the health checks need a Google ID token (the service will not be public). */
  checksNeedToken: boolean;
  steps: Step[];
  /** Steps run once every region has settled, where the rollout stayed healthy. */
  afterwards: Step[];
  /** With `rollback: false`: what a failed health check undoes instead of everything. */
  onUnhealthy: Undo[] | undefined;
  /** What the plan noticed about the service, for the log. */
  notes: string[];
  /** What a rollback cannot put back, and why; said with any failure. */
  caveats: string[];
}

function splitText(split: Record<string, number>): string {
  return Object.entries(split)
    .map(([revision, percent]) => `${revision} ${percent}%`)
    .join(', ');
}

function targetsText(targets: TrafficTarget[]): string {
  const weighted = targets.filter((t) => (t.percent ?? 0) > 0).map((t) => `${t.revision} ${t.percent}%`);
  return weighted.join(', ') || 'no traffic';
}

function tagMoveText(move: TagMove): string {
  const parts = [
    ...(move.clear ? ['clear the others'] : []),
    ...(move.remove.length ? [`remove ${move.remove.join(', ')}`] : []),
    ...Object.entries(move.update).map(([tag, revision]) => `${tag} → ${revision}`),
  ];
  return parts.join(', ');
}

/** 900 → "15m", 90 → "90s": a duration as the inputs write it. */
function durationText(seconds: number): string {
  if (seconds > 0 && seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds > 0 && seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

export function describeChange(change: Change): string {
  switch (change.kind) {
    case 'record-rollout':
      return `record on the service that undoing needs ${change.revisions.join(', ')} (${change.key})`;
    case 'clear-rollout-record':
      return `remove the rollout record ${change.key}`;
    case 'deploy-revision': {
      const traffic = change.split
        ? `taking ${splitText(change.split)} at once`
        : `with no traffic beside the serving revision`;
      const tag = change.tag ? `, tagged ${change.tag}` : '';
      return `deploy ${change.revision} (${change.changes.image}) ${traffic}${tag}`;
    }
    case 'move-traffic': {
      const { move } = change;
      if (move.kind === 'split')
        return `move traffic: ${splitText(move.split)}${move.tags ? `; tags: ${tagMoveText(move.tags)}` : ''}`;
      if (move.kind === 'step') return `move ${move.percent}% to ${move.revision}, the rest as before`;
      return `tidy traffic: ${move.dropTag ? `drop tag ${move.dropTag}, ` : ''}follow the latest revision while it is ${move.revision}`;
    }
    case 'set-public-access':
      return change.allow ? 'let allUsers invoke the service' : 'take allUsers out of the invokers';
    case 'prune-revisions':
      return `delete idle revisions beyond the newest ${change.keep}, none younger than ${durationText(change.graceSeconds)} nor one a rollout in progress needs${change.protect.length ? ` (never ${change.protect.join(', ')})` : ''}`;
  }
}

export function describeUndo(undo: Undo): string {
  switch (undo.kind) {
    case 'restore-traffic':
      return `put back ${targetsText(undo.to)}${undo.settings ? " and the service's settings" : ''}`;
    case 'delete-created-service':
      return 'delete the service this run created';
    case 'revert-public-access':
      return undo.madePublic ? 'take allUsers out again' : 'let allUsers invoke again';
    case 'drop-tag':
      return `drop the tag ${undo.tag}`;
    case 'restore-tags':
      return `put back the tags ${undo.tags.map((t) => t.tag).join(', ')} as they were`;
    case 'clear-rollout-record':
      return 'remove the rollout record';
  }
}

export function describeCheck(check: Check): string {
  switch (check.kind) {
    case 'revision-ready':
      return `${check.revision} becomes ready`;
    case 'healthy-on-tag':
      return `health checks pass on the tag ${check.tag}`;
    case 'gate-approves':
      return `gate_url approves ${check.percent}%`;
    case 'step-gates':
      return `${check.percent}% served; ${check.holdSeconds}s of probes within max_error_rate ${check.maxErrorRate}%${check.maxLatencyMs === undefined ? '' : ` and max_latency ${check.maxLatencyMs} ms`}`;
    case 'healthy-live':
      return `${check.share}% served; health checks pass on the service URL`;
  }
}

/** One line per step: what it changes, how that is undone, and what must pass before the next. */
export function describeStep(step: Step): string {
  const parts: string[] = [];
  if (step.approval) parts.push(`first ${describeCheck(step.approval)}`);
  if (step.change) parts.push(describeChange(step.change));
  if (step.skipWhen === 'already-so') parts.push('skipped when already so');
  if (step.undo) parts.push(`undo: ${describeUndo(step.undo)}`);
  if (step.check) parts.push(`check: ${describeCheck(step.check)}`);
  if (step.onFailure === 'warn') parts.push('a failure only warns');
  return `${step.phase}: ${parts.join('; ')}`;
}

/** The whole plan, one line per step, as the debug log and the job summary show it. */
export function describePlan(plan: Plan): string[] {
  return [...plan.steps, ...plan.afterwards].map(describeStep);
}
