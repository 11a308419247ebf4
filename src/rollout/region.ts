// One region's rollout: observe the service, plan (pure), and have the executor apply the plan's
// steps. Any failure or passed deadline after the first change unwinds the recorded undos, newest
// first, so the pinned split serves again and no candidate tag is left. The outcome says truthfully
// what serves afterwards; its undos stay held until every region is done (regions_fail: all).
import { randomBytes } from 'node:crypto';
import { describeError, describeErrorBriefly } from '../errors.js';
import { Deadline, undoGraceSeconds } from '../common/deadline.js';
import { HealthCheckFailed } from '../common/health.js';
import { Timeline } from '../common/timeline.js';
import type { ServiceRef } from '../gcp/run.js';
import type { Service } from '../gcp/run-types.js';
import { explainRunError, OperationInFlight } from '../deploy/apply.js';
import { describeTraffic, servingSplit } from '../deploy/traffic.js';
import { applyStepChange, undoChange, undoName } from './changes.js';
import { runCheck } from './checks.js';
import { logFailureLogs, type FailureLogs } from './failure-logs.js';
import { newState, type RolloutContext, type RolloutDeps } from './context.js';
import { Executor, StepFailed, type StepRunner, type UnwindResult } from './executor.js';
import { observeAndPlan } from './observe.js';
import type { RegionOutcome } from './outcome.js';
import { describePlan, type SpecChanges, type Step } from './plan.js';
import type { RolloutSettings } from './planner.js';

export type { RolloutDeps } from './context.js';

/** Three random lowercase letters, as Cloud Run ends its revision names. */
function randomLetters(): string {
  return [...randomBytes(3)].map((b) => String.fromCharCode(97 + (b % 26))).join('');
}

function stepRunner(ctx: RolloutContext): StepRunner {
  return {
    apply: (change, beforeSend) => applyStepChange(ctx, change, beforeSend),
    check: (check) => runCheck(ctx, check),
    undo: (undo, deadline) => undoChange(ctx, undo, deadline),
    undoName: (undo) => undoName(ctx, undo),
  };
}

/** "Rolled back: …", or what could not be undone, then what was left alone: said with every failure. */
function afterUndo(ctx: RolloutContext, unwound: UnwindResult | undefined): string {
  let text = '';
  if (unwound?.failed.length) {
    text += `\nRunway could not undo everything: ${unwound.failed.map((f) => `${f.name} (${describeErrorBriefly(f.error)})`).join('; ')}.`;
  } else if (unwound?.undone.length) {
    text += `\nRolled back: ${unwound.undone.join(', ')}.`;
  }
  for (const note of [...ctx.plan.caveats, ...ctx.state.notes]) text += `\n${note}`;
  return text;
}

function outcomeOf(
  ctx: RolloutContext,
  service: Service | undefined,
  timeline: Timeline,
  result: { healthy: boolean; rolledBack: boolean; failure: string | undefined },
): RegionOutcome {
  const { plan, settings, state, deps } = ctx;
  // Only while the tag points at this run's revision: after a rollback it names the earlier one.
  const userTagUrl = settings.tag
    ? service?.trafficStatuses?.find((t) => t.tag === settings.tag && t.revision === plan.revision)?.uri
    : undefined;
  deps.log(
    `now serving: ${service ? describeTraffic(service.trafficStatuses) : 'nothing (the new service was removed)'}`,
  );
  const trafficBefore: Record<string, number> = {};
  for (const t of plan.servedBefore ?? []) if (t.revision && t.percent) trafficBefore[t.revision] = t.percent;
  return {
    region: ctx.ref.region,
    url: service?.uri ?? '',
    revision: plan.revision,
    previousRevision: plan.previousRevision,
    tagUrl: userTagUrl,
    traffic: service ? servingSplit(service) : {},
    trafficBefore,
    timeline: timeline.steps,
    checks: state.checks,
    steps: state.steps,
    plan: describePlan(plan),
    pruned: state.pruned,
    containers: state.containers,
    ...result,
  };
}

/**
 * A region's rollout whose undos are still held: `keep` forgets them once every region is done;
 * `revert` takes a healthy region back (`regions_fail: all`, when another region failed);
 * `afterwards` runs the steps that follow a settled rollout where it stood (its record removed, then
 * keep_revisions).
 */
export interface HeldRollout {
  outcome: RegionOutcome;
  keep(): void;
  revert(why: string): Promise<RegionOutcome>;
  afterwards(): Promise<void>;
}

export interface RegionOptions {
  deadline: Deadline;
  /** Called before each step, for coordination across regions; a rejection fails the step. */
  beforeStep?: (step: Step) => Promise<void>;
  /** Called once the plan is known, before any change. */
  planned?: (steps: Step[]) => void;
}

export async function rolloutRegion(
  deps: RolloutDeps,
  ref: ServiceRef,
  changes: SpecChanges,
  settings: RolloutSettings,
  options: RegionOptions,
): Promise<HeldRollout> {
  const { deadline } = options;
  const timeline = new Timeline();
  const { plan, observed } = await timeline.time('plan', () =>
    observeAndPlan(deps.api, { ref, settings, changes, letters: randomLetters() }, deps.identity, deps.log),
  );
  for (const note of plan.notes) deps.log(note);
  for (const line of describePlan(plan)) deps.debug(`plan: ${line}`);
  options.planned?.(plan.steps);
  const ctx: RolloutContext = {
    deps,
    ref,
    settings,
    deadline,
    plan,
    state: newState(observed.live),
    where: `${ref.service} in ${ref.region}`,
  };
  const executor = new Executor(stepRunner(ctx), {
    deadline,
    timeline,
    log: deps.log,
    ...(options.beforeStep ? { beforeStep: options.beforeStep } : {}),
  });
  const held = (outcome: RegionOutcome, kept: boolean): HeldRollout => ({
    outcome,
    keep: () => executor.forget(),
    revert: kept ? (why) => revert(ctx, executor, timeline, why) : () => Promise.resolve(outcome),
    afterwards: async () => {
      if (!kept || !plan.afterwards.length) return;
      // Past the deploy's deadline, what follows a rollout that stands gets a grace period.
      const until = deadline.expired() ? Deadline.in(undoGraceSeconds()) : deadline;
      await new Executor(stepRunner(ctx), { deadline: until, timeline, log: deps.log }).run(plan.afterwards);
      outcome.pruned = ctx.state.pruned;
    },
  });
  try {
    await executor.run(plan.steps);
    const outcome = outcomeOf(ctx, ctx.state.service, timeline, {
      healthy: true,
      rolledBack: false,
      failure: undefined,
    });
    return held(outcome, true);
  } catch (err) {
    const cause = err instanceof StepFailed ? err.error : err;
    return held(await compensate(ctx, executor, timeline, cause), false);
  }
}

/**
 * After a failure: let an in-flight change land (within its own grace period), then undo every
 * change (within a fresh one), so an undo is never skipped for lack of time spent waiting.
 */
async function compensate(
  ctx: RolloutContext,
  executor: Executor,
  timeline: Timeline,
  err: unknown,
): Promise<RegionOutcome> {
  const { deps, ref, plan } = ctx;
  if (err instanceof OperationInFlight) {
    deps.log('waiting for the change Cloud Run is still applying before undoing it');
    const landed = await deps.api
      .waitOperation(err.operation, Deadline.in(undoGraceSeconds()).at)
      .catch(() => undefined);
    // Still running: undo anyway; a later update supersedes the one in flight.
    if (!landed?.done) deps.log('the change has not landed yet; undoing it regardless');
  }
  const logs = await readLogs(ctx);
  const grace = Deadline.in(undoGraceSeconds());
  let failure = describeError(explainRunError(err, ref, deps.identity));
  let rolledBack = false;
  if (err instanceof HealthCheckFailed && plan.onUnhealthy) {
    // rollback: false leaves traffic where it is; only what the plan says still goes (Runway's tag).
    const { failed } = await executor.replaceAndRun(plan.onUnhealthy, grace);
    for (const f of failed)
      failure += `\nRunway could not undo this: ${f.name} (${describeErrorBriefly(f.error)}).`;
    for (const note of [...plan.caveats, ...ctx.state.notes]) failure += `\n${note}`;
  } else {
    const unwound = await timeline.time('roll back', () => executor.unwind(grace));
    rolledBack = unwound.undone.length > 0 && unwound.failed.length === 0;
    failure += afterUndo(ctx, unwound);
  }
  let service: Service | undefined;
  try {
    service = await deps.api.getService(ref);
    // What stopped the run, first: a probe's "connection refused" is only what that looked like.
    if (!service && !plan.createsService)
      failure = `${ctx.where} was deleted by someone else during this run, so nothing serves.\n${failure}`;
  } catch {
    service = undefined;
  }
  return { ...outcomeOf(ctx, service, timeline, { healthy: false, rolledBack, failure }), logs };
}

/** The failed revision's last lines, read and logged before an undo can delete the revision. */
async function readLogs(ctx: RolloutContext): Promise<FailureLogs | undefined> {
  const { deps, ref, plan } = ctx;
  const logs = await deps.failureLogs?.(ref, plan.revision).catch(() => undefined);
  if (logs) logFailureLogs(logs, deps.log);
  return logs;
}

/** Undoes a region that passed, because the run as a whole did not: its split as before, exactly. */
async function revert(
  ctx: RolloutContext,
  executor: Executor,
  timeline: Timeline,
  why: string,
): Promise<RegionOutcome> {
  const grace = Deadline.in(undoGraceSeconds());
  const unwound = await timeline.time('roll back', () => executor.unwind(grace));
  const service = await ctx.deps.api.getService(ctx.ref).catch(() => undefined);
  return outcomeOf(ctx, service, timeline, {
    healthy: false,
    rolledBack: unwound.undone.length > 0 && unwound.failed.length === 0,
    failure: why + afterUndo(ctx, unwound),
  });
}
