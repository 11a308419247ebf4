// One region's rollout, as its phases: plan (changes nothing), create the candidate, public
// access, verify on the tag, promote, verify live, clean up. Each phase that changes something
// registers its undo first; any failure or passed deadline after the first change unwinds them,
// newest first, so the pinned split serves again and no candidate tag is left. The outcome says
// truthfully what serves afterwards.
import * as core from '@actions/core';
import { describeError } from '../errors.js';
import type { ServiceRef } from '../gcp/run.js';
import type { Service } from '../gcp/run-types.js';
import { OperationInFlight } from '../deploy/apply.js';
import { describeTraffic, servingSplit } from '../deploy/traffic.js';
import { setPublicAccess } from './access.js';
import { createCandidate } from './candidate.js';
import { removeCandidateTag } from './cleanup.js';
import type { CheckRecord, Rollout, RolloutDeps, RolloutSettings, SpecChanges } from './context.js';
import { Deadline, UNDO_GRACE_SECONDS } from './deadline.js';
import { planRollout, type RolloutPlan } from './plan.js';
import { promoteCandidate } from './promote.js';
import { Timeline, type TimedStep } from './timeline.js';
import { UndoStack } from './undo.js';
import { authorizeChecks, HealthCheckFailed, verifyLive, verifyOnTag } from './verify.js';

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
  rolledBack: boolean;
  /** Why the region failed, when it did. */
  failure: string | undefined;
}

/** Phases 2–7; returns the service as it stands when they are all done. */
async function deployAndVerify(r: Rollout, plan: RolloutPlan, timeline: Timeline): Promise<Service> {
  const phase = timeline.time.bind(timeline);
  let service = await phase('deploy and ready', () => createCandidate(r, plan));
  await phase('public access', () => setPublicAccess(r));
  const token = await authorizeChecks(r, service);
  const { traffic } = r.settings;
  if (plan.checkTag && plan.servedBefore) {
    const tag = plan.checkTag;
    await phase('verify on tag', () => verifyOnTag(r, service, plan.revision, tag, token));
    if (traffic === 'verified') {
      service = await phase('promote', () => promoteCandidate(r, plan));
      await phase('verify live', () => verifyLive(r, service, plan.revision, token));
    }
  } else {
    // A new service (nothing to protect) or `immediate`: the candidate already has its traffic.
    await phase('verify live', () => verifyLive(r, service, plan.revision, token));
  }
  const candidateTag = plan.candidateTag;
  if (candidateTag) service = (await phase('clean up', () => removeCandidateTag(r, candidateTag))) ?? service;
  return service;
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
  const userTagUrl = r.settings.tag
    ? service?.trafficStatuses?.find((t) => t.tag === r.settings.tag)?.uri
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
    ...result,
  };
}

/** After a failure: let an in-flight change land, then undo every change, within the grace period. */
async function compensate(
  r: Rollout,
  plan: RolloutPlan,
  timeline: Timeline,
  err: unknown,
): Promise<RegionOutcome> {
  const grace = Deadline.in(UNDO_GRACE_SECONDS);
  const { client, log } = r.deps;
  if (err instanceof OperationInFlight) {
    log('waiting for the change Cloud Run is still applying before undoing it');
    await client.waitOperation(err.operation, grace.at).catch(() => undefined);
  }
  let failure = describeError(err);
  let rolledBack = false;
  if (err instanceof HealthCheckFailed && !r.settings.rollback) {
    // rollback: false leaves traffic where it is; Runway's own tag still goes.
    r.undo.clear();
    if (plan.candidateTag) await removeCandidateTag(r, plan.candidateTag, grace).catch(() => undefined);
  } else {
    const { undone, failed } = await timeline.time('roll back', () => r.undo.unwind(log, grace));
    rolledBack = undone.length > 0 && failed.length === 0;
    if (failed.length) {
      failure += `\nRunway could not undo everything: ${failed.map((f) => `${f.name} (${describeError(f.error).split('\n')[0]})`).join('; ')}.`;
    } else if (undone.length) {
      failure += `\nRolled back: ${undone.join(', ')}.`;
    }
  }
  const service = await client.getService(r.ref).catch(() => undefined);
  return outcomeOf(r, plan, service, timeline, { healthy: false, rolledBack, failure });
}

export async function rolloutRegion(
  deps: RolloutDeps,
  ref: ServiceRef,
  changes: SpecChanges,
  settings: RolloutSettings,
): Promise<RegionOutcome> {
  const r: Rollout = {
    deps,
    ref,
    changes,
    settings,
    undo: new UndoStack(),
    where: `${ref.service} in ${ref.region}`,
    checks: [],
  };
  const timeline = new Timeline();
  const plan = await timeline.time('plan', () => planRollout(r));
  try {
    const service = await deployAndVerify(r, plan, timeline);
    r.undo.clear();
    return outcomeOf(r, plan, service, timeline, { healthy: true, rolledBack: false, failure: undefined });
  } catch (err) {
    return compensate(r, plan, timeline, err);
  }
}
