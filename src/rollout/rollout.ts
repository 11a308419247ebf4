// One region's rollout, as its phases: plan (changes nothing), create the candidate, public
// access, verify on the tag, promote, verify live, clean up. Each phase that changes something
// registers its undo first; any failure or passed deadline after the first change unwinds them,
// newest first, so the pinned split serves again and no candidate tag is left. The outcome says
// truthfully what serves afterwards.
import * as core from '@actions/core';
import { describeError } from '../errors.js';
import type { ServiceRef } from '../gcp/run.js';
import type { Service } from '../gcp/run-types.js';
import { explainRunError, OperationInFlight } from '../deploy/apply.js';
import { describeTraffic, servingSplit } from '../deploy/traffic.js';
import { setPublicAccess } from './access.js';
import { createCandidate } from './candidate.js';
import { cleanUp, removeCandidateTag } from './cleanup.js';
import type {
  CheckRecord,
  Rollout,
  RolloutDeps,
  RolloutSettings,
  SpecChanges,
  StepRecord,
} from './context.js';
import { Deadline, undoGraceSeconds } from './deadline.js';
import { planRollout, type RolloutPlan } from './plan.js';
import { promoteCandidate } from './promote.js';
import { Timeline, type TimedStep } from './timeline.js';
import { UndoStack } from './undo.js';
import { stepTraffic } from './steps.js';
import { authorizeChecks, HealthCheckFailed, tagUrlOf, verifyLive, verifyOnTag } from './verify.js';

export type { RolloutDeps, RolloutSettings } from './context.js';

export interface RegionOutcome {
  region: string;
  url: string;
  revision: string;
  previousRevision: string | undefined;
  tagUrl: string | undefined;
  healthy: boolean | undefined;
  /** revision → percent, what serves when Runway is done. */
  traffic: Record<string, number>;
  /** revision → percent, what served before this run. */
  trafficBefore: Record<string, number>;
  /** The phases that ran, in order, with their durations. */
  timeline: TimedStep[];
  /** The health checks made, in order (on the tag URL, then live). */
  checks: CheckRecord[];
  /** `traffic_steps` as measured, in order. */
  steps: StepRecord[];
  rolledBack: boolean;
  /** Why the region failed, when it did. */
  failure: string | undefined;
  /** Idle revisions deleted afterwards (keep_revisions). */
  pruned: string[];
}

/** Phases 2–7; returns the service as it stands when they are all done. */
async function deployAndVerify(r: Rollout, plan: RolloutPlan, timeline: Timeline): Promise<Service> {
  const phase = timeline.time.bind(timeline);
  let service = await phase('deploy and ready', () => createCandidate(r, plan));
  const madePublic = await phase('public access', () => setPublicAccess(r));
  const token = await authorizeChecks(r, service, madePublic);
  const { traffic } = r.settings;
  const checkTag = plan.checkTag;
  // Each check ends by reading the service to confirm it; the next change starts from that read.
  let confirmed: Service | undefined;
  if (checkTag)
    confirmed = await phase('verify on tag', () => verifyOnTag(r, service, plan.revision, checkTag, token));
  const steps = r.settings.progressive;
  if (traffic === 'verified' && plan.servedBefore && steps && checkTag) {
    const tagUrl = tagUrlOf(service, checkTag, plan.revision)!;
    service = await stepTraffic(r, plan, tagUrl, token, timeline);
  } else {
    r.settings.stepsTogether?.leave(r.ref.region);
    if (traffic === 'verified' && plan.servedBefore)
      service = await phase('promote', () => promoteCandidate(r, plan, confirmed));
  }
  // With `none`, the revision takes no traffic beside a serving one: nothing to check live.
  if (traffic !== 'none' || !plan.servedBefore)
    confirmed = await phase('verify live', () => verifyLive(r, service, plan.revision, plan.newShare, token));
  const cleaned = await phase('clean up', () =>
    cleanUp(r, plan.revision, plan.candidateTag, r.settings.deadline, confirmed),
  );
  return cleaned ?? service;
}

function splitOf(targets: RolloutPlan['servedBefore']): Record<string, number> {
  const split: Record<string, number> = {};
  for (const t of targets ?? []) if (t.revision && t.percent) split[t.revision] = t.percent;
  return split;
}

function outcomeOf(
  r: Rollout,
  plan: RolloutPlan,
  service: Service | undefined,
  timeline: Timeline,
  result: { healthy: boolean; rolledBack: boolean; failure: string | undefined },
): RegionOutcome {
  // Only while the tag points at this run's revision: after a rollback it names the earlier one.
  const userTagUrl = r.settings.tag
    ? service?.trafficStatuses?.find((t) => t.tag === r.settings.tag && t.revision === plan.revision)?.uri
    : undefined;
  core.info(
    `${r.ref.region}: ${service ? describeTraffic(service.trafficStatuses) : 'nothing serves (the new service was removed)'}`,
  );
  return {
    region: r.ref.region,
    url: service?.uri ?? '',
    revision: plan.revision,
    previousRevision: plan.previousRevision,
    tagUrl: userTagUrl,
    traffic: service ? servingSplit(service) : {},
    trafficBefore: splitOf(plan.servedBefore),
    timeline: timeline.steps,
    checks: r.checks,
    steps: r.steps,
    pruned: [],
    ...result,
  };
}

/**
 * After a failure: let an in-flight change land (within its own grace period), then undo every
 * change (within a fresh one), so an undo is never skipped for lack of time spent waiting.
 */
async function compensate(
  r: Rollout,
  plan: RolloutPlan,
  timeline: Timeline,
  err: unknown,
): Promise<RegionOutcome> {
  const { client, log } = r.deps;
  if (err instanceof OperationInFlight) {
    log('waiting for the change Cloud Run is still applying before undoing it');
    const landed = await client
      .waitOperation(err.operation, Deadline.in(undoGraceSeconds()).at)
      .catch(() => undefined);
    // Still running: undo anyway; a later update supersedes the one in flight.
    if (!landed?.done) log('the change has not landed yet; undoing it regardless');
  }
  const grace = Deadline.in(undoGraceSeconds());
  let failure = describeError(explainRunError(err, r.ref, r.deps.identity));
  let rolledBack = false;
  if (err instanceof HealthCheckFailed && !r.settings.rollback) {
    // rollback: false leaves traffic where it is; Runway's own tag still goes.
    r.undo.clear();
    const tag = plan.candidateTag;
    if (tag) {
      await removeCandidateTag(r, tag, grace).catch((tagErr: unknown) => {
        failure += `\nRunway could not remove its tag '${tag}': ${describeError(tagErr).split('\n')[0]}.`;
      });
    }
  } else {
    const { undone, failed } = await timeline.time('roll back', () => r.undo.unwind(log, grace));
    rolledBack = undone.length > 0 && failed.length === 0;
    if (failed.length) {
      failure += `\nRunway could not undo everything: ${failed.map((f) => `${f.name} (${describeError(f.error).split('\n')[0]})`).join('; ')}.`;
    } else if (undone.length) {
      failure += `\nRolled back: ${undone.join(', ')}.`;
    }
  }
  for (const note of r.notes) failure += `\n${note}`;
  let service: Service | undefined;
  try {
    service = await client.getService(r.ref);
    // What stopped the run, first: a probe's "connection refused" is only what that looked like.
    if (!service && plan.initial)
      failure = `${r.where} was deleted by someone else during this run, so nothing serves.\n${failure}`;
  } catch {
    service = undefined;
  }
  return outcomeOf(r, plan, service, timeline, { healthy: false, rolledBack, failure });
}

/**
 * A region's rollout whose undos are still held: `keep` forgets them once every region is done;
 * `revert` takes a healthy region back (`regions_fail: all`, when another region failed).
 */
export interface HeldRollout {
  outcome: RegionOutcome;
  keep(): void;
  revert(why: string): Promise<RegionOutcome>;
}

/** Undoes a region that passed, because the run as a whole did not: its split as before, exactly. */
async function revertHealthy(
  r: Rollout,
  plan: RolloutPlan,
  timeline: Timeline,
  why: string,
): Promise<RegionOutcome> {
  const grace = Deadline.in(undoGraceSeconds());
  const { undone, failed } = await timeline.time('roll back', () => r.undo.unwind(r.deps.log, grace));
  let failure = why;
  if (failed.length)
    failure += `\nRunway could not undo everything: ${failed.map((f) => `${f.name} (${describeError(f.error).split('\n')[0]})`).join('; ')}.`;
  else if (undone.length) failure += `\nRolled back: ${undone.join(', ')}.`;
  for (const note of r.notes) failure += `\n${note}`;
  const service = await r.deps.client.getService(r.ref).catch(() => undefined);
  return outcomeOf(r, plan, service, timeline, {
    healthy: false,
    rolledBack: undone.length > 0 && failed.length === 0,
    failure,
  });
}

export async function rolloutRegion(
  deps: RolloutDeps,
  ref: ServiceRef,
  changes: SpecChanges,
  settings: RolloutSettings,
): Promise<HeldRollout> {
  const r: Rollout = {
    deps,
    ref,
    changes,
    settings,
    undo: new UndoStack(),
    where: `${ref.service} in ${ref.region}`,
    checks: [],
    steps: [],
    written: undefined,
    notes: [],
  };
  const timeline = new Timeline();
  const plan = await timeline.time('plan', () => planRollout(r));
  try {
    const service = await deployAndVerify(r, plan, timeline);
    return {
      outcome: outcomeOf(r, plan, service, timeline, {
        healthy: true,
        rolledBack: false,
        failure: undefined,
      }),
      keep: () => r.undo.clear(),
      revert: (why) => revertHealthy(r, plan, timeline, why),
    };
  } catch (err) {
    const outcome = await compensate(r, plan, timeline, err);
    return { outcome, keep: () => undefined, revert: () => Promise.resolve(outcome) };
  }
}
