// Changes and undos as the plan describes them, applied to the service. What to send is worked out
// from the service as read just before sending (specFor, trafficFor are pure), so a concurrent
// change that the etag refuses is re-planned from a new read rather than overwritten.
import { describeErrorBriefly, RunwayError } from '../errors.js';
import { Deadline, undoGraceSeconds } from '../common/deadline.js';
import { serviceName, type ServiceRef } from '../gcp/run.js';
import type { Service, TrafficTarget } from '../gcp/run-types.js';
import { planService } from '../deploy/plan.js';
import {
  applyAnnotations,
  applyChange,
  applySettings,
  applyPublicAccess,
  applyTraffic,
  revertPublicAccess,
} from '../deploy/apply.js';
import { pruneIdle } from '../deploy/prune.js';
import { recordExpiry, withoutRecord, withRecord } from '../deploy/rollout-record.js';
import { serviceSettings, settingsRestore } from '../deploy/service-settings.js';
import {
  describeTraffic,
  followLatest,
  pinTraffic,
  promote,
  restoredTraffic,
  sameShares,
  sameTraffic,
  stepSplit,
  withCandidate,
  withoutTagIfPresent,
  withTagChanges,
  withTagsRestored,
} from '../deploy/traffic.js';
import { rememberWritten, type RolloutContext } from './context.js';
import type { Change, DeployRevision, TrafficMove, Undo } from './plan.js';
import { previewLostServingRevision } from './preview.js';

const REVISION = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION';

/** The spec that creates the new revision, planned from the live service. */
export function specFor(change: DeployRevision, live: Service | undefined, ref: ServiceRef): Service {
  const serving = live?.latestReadyRevision ? pinTraffic(live) : undefined;
  const { revision } = change;
  let traffic: TrafficTarget[];
  if (!serving) {
    if (change.alone === 'refuse') throw previewLostServingRevision(`${ref.service} in ${ref.region}`);
    traffic = [{ type: REVISION, revision, percent: 100 }];
    if (change.alone.tag) traffic = withCandidate(traffic, revision, change.alone.tag);
    if (change.alone.tags) traffic = withTagChanges(traffic, change.alone.tags);
  } else if (change.split) {
    traffic = promote(serving, change.split);
    if (change.tag) traffic = withCandidate(traffic, revision, change.tag);
  } else {
    // Without a tag (the plan saw nothing serving, and someone deployed since) the revision gets
    // no traffic at all; the live check then finds it serving nothing, and the run fails closed.
    traffic = change.tag ? withCandidate(serving, revision, change.tag) : serving;
  }
  return planService(live, {
    ...change.changes,
    project: ref.project,
    region: ref.region,
    service: ref.service,
    revisionName: revision,
    traffic,
    revisionOnly: change.revisionOnly,
    baseTemplate: change.baseTemplate,
  });
}

/** The traffic a move sends, planned from the live service; undefined when there is nothing to move. */
export function trafficFor(move: TrafficMove, live: Service): TrafficTarget[] | undefined {
  const current = live.traffic ?? [];
  switch (move.kind) {
    case 'split':
      // As gcloud's update-traffic: the tags change first, then the shares.
      return promote(move.tags ? withTagChanges(current, move.tags) : current, move.split);
    case 'step':
      return stepSplit(move.before, move.revision, move.percent, current);
    case 'tidy': {
      const untaggedTraffic = move.dropTag ? withoutTagIfPresent(live.traffic, move.dropTag) : undefined;
      const untagged = untaggedTraffic ? { ...live, traffic: untaggedTraffic } : live;
      return followLatest(untagged, move.revision) ?? untaggedTraffic;
    }
  }
}

export async function applyStepChange(
  ctx: RolloutContext,
  change: Change,
  beforeSend: () => void,
): Promise<{ skipped?: string }> {
  const { deps, ref, state, deadline } = ctx;
  const onSent = rememberWritten(state);
  switch (change.kind) {
    case 'record-rollout': {
      const record = { revisions: change.revisions, until: recordExpiry(deadline.at, undoGraceSeconds()) };
      const { service, changed } = await applyAnnotations(
        deps.api,
        ref,
        (live) => withRecord(live.annotations, change.key, record),
        { deadline, beforeSend, known: state.fresh },
      );
      // Fail closed: with no service to hold the record, nothing else may change.
      if (!changed || !service)
        throw new RunwayError(
          `${ctx.where} was deleted by someone else during this run. Nothing was changed.`,
        );
      // Read after Runway's own change, and nothing since: the deploy starts from it.
      state.fresh = service;
      state.service = service;
      return {};
    }
    case 'clear-rollout-record': {
      const { service, changed } = await clearRecord(ctx, change.key, deadline, beforeSend);
      if (service) state.service = service;
      return changed ? {} : { skipped: 'the record is not on the service' };
    }
    case 'deploy-revision': {
      const deployed = await applyChange(
        deps.api,
        ref,
        (live) => {
          const planned = specFor(change, live, ref);
          // Recorded before it is sent: a revision that then fails still leaves these changed.
          state.settings = live
            ? { before: serviceSettings(live), sent: serviceSettings(planned) }
            : undefined;
          return planned;
        },
        {
          deadline,
          onSent,
          beforeSend,
          known: state.fresh,
        },
      );
      state.fresh = undefined;
      if (!deployed.before) state.createdUid = deployed.after.uid;
      state.deployed = deployed.operation;
      state.containers = Object.fromEntries(
        (deployed.after.template?.containers ?? []).map((c) => [c.name ?? '', c.image]),
      );
      state.service = deployed.after;
      return {};
    }
    case 'set-public-access': {
      const changed = await applyPublicAccess(deps.api, ref, change.allow, deps.identity, beforeSend);
      return changed ? {} : { skipped: `it already is ${change.allow ? 'public' : 'private'}` };
    }
    case 'move-traffic': {
      const { move } = change;
      if (move.kind !== 'tidy') deps.log(describeMove(move));
      const planned = (live: Service): TrafficTarget[] | undefined => {
        // A share moved by someone else since Runway's last change is theirs to keep: moving on
        // from it would overwrite it, so the rollout stops and the undo leaves their split.
        if (move.kind !== 'tidy' && state.written && !sameShares(live.traffic, state.written)) {
          throw new RunwayError(
            `Someone else changed the traffic of ${ctx.where} during this run (it serves ${describeTraffic(live.traffic)}), so Runway did not move it further.`,
            'Run one deploy of a service at a time (a `concurrency:` group in the workflow), and leave its traffic alone while it runs.',
          );
        }
        return trafficFor(move, live);
      };
      const { service, changed } = await applyTraffic(deps.api, ref, planned, {
        deadline,
        onSent,
        beforeSend,
        known: state.fresh,
      });
      state.fresh = undefined;
      if (service) state.service = service;
      return changed ? {} : { skipped: 'the traffic already is as asked' };
    }
    case 'prune-revisions': {
      const log = { info: deps.log, warn: deps.warn };
      const { kind: _kind, ...rules } = change;
      const { deleted, skipped } = await pruneIdle(deps.api, ref, rules, deadline, log);
      state.pruned = deleted;
      return skipped ? { skipped } : {};
    }
  }
}

/**
 * Takes this rollout's record off the service, keeping every other annotation as it is then. Past
 * the deploy's deadline (a rollout that stands, settling late) it gets a grace period of its own.
 */
function clearRecord(
  ctx: RolloutContext,
  key: string,
  deadline: Deadline,
  beforeSend?: () => void,
): Promise<{ service: Service | undefined; changed: boolean }> {
  const until = deadline.expired() ? Deadline.in(undoGraceSeconds()) : deadline;
  return applyAnnotations(ctx.deps.api, ctx.ref, (live) => withoutRecord(live.annotations, key), {
    deadline: until,
    ...(beforeSend ? { beforeSend } : {}),
  });
}

function describeMove(move: Exclude<TrafficMove, { kind: 'tidy' }>): string {
  if (move.kind === 'step') return `step: ${move.percent}% to ${move.revision}`;
  const shares = Object.entries(move.split).map(([revision, percent]) => `${revision} ${percent}%`);
  return `moving traffic: ${shares.join(', ')}`;
}

/**
 * Puts the shares back exactly as they served before, with this run's tag where it was — but only
 * while the live shares are still what Runway last wrote. When someone else changed the shares
 * meanwhile, their split stays; Runway only takes its own tag away and says so. 0% tags others added
 * or removed during the run (a preview, a cleanup) are left as they are. Resolves to whether it
 * changed anything.
 */
async function restoreTraffic(
  ctx: RolloutContext,
  undo: Extract<Undo, { kind: 'restore-traffic' }>,
  deadline: Deadline,
): Promise<boolean> {
  const { deps, ref, state } = ctx;
  let foreign = false;
  const { changed } = await applyTraffic(
    deps.api,
    ref,
    (live) => {
      foreign = false;
      const targets = restoredTraffic(undo.to, live.traffic, undo.ownTag);
      if (sameTraffic(live.traffic, targets)) return undefined;
      if (state.written && !sameShares(live.traffic, state.written)) {
        foreign = true;
        return undo.dropTag ? withoutTagIfPresent(live.traffic, undo.dropTag) : undefined;
      }
      deps.log(`rolling back ${serviceName(ref)} to: ${describeTraffic(targets)}`);
      return targets;
    },
    { deadline, onSent: rememberWritten(state) },
  );
  if (foreign) {
    state.notes.push(
      `Someone else changed the traffic of ${ctx.where} during this run; Runway left their split as it is${undo.dropTag ? ' and only removed its own tag' : ''}.`,
    );
    return false;
  }
  return changed;
}

export async function undoChange(ctx: RolloutContext, undo: Undo, deadline: Deadline): Promise<boolean> {
  const { deps, ref, state } = ctx;
  switch (undo.kind) {
    case 'restore-traffic': {
      const moved = await restoreTraffic(ctx, undo, deadline);
      // A file deploy's undo names the settings it replaced; any other deploy's were recorded as it
      // was sent, and only those still as this run left them go back.
      const before = undo.settings ?? state.settings?.before;
      if (!before) return moved;
      const sent = undo.settings ? undefined : state.settings?.sent;
      const { changed } = await applySettings(deps.api, ref, (live) => settingsRestore(before, live, sent), {
        deadline,
      });
      if (changed) deps.log(`put back the settings of ${serviceName(ref)} as they were before this run`);
      return moved || changed;
    }
    case 'delete-created-service': {
      // Only a service this very run created, recognised by its uid, is ever deleted.
      const live = await deps.api.getService(ref);
      if (!state.createdUid || !live || live.uid !== state.createdUid) return false;
      await deps.api.deleteService(ref, deadline.at);
      deps.log(`deleted ${ctx.where}: this run created it and it did not become healthy`);
      return true;
    }
    case 'revert-public-access':
      return (await deps.api.getService(ref)) ? revertPublicAccess(deps.api, ref, undo.madePublic) : false;
    case 'clear-rollout-record': {
      // Bookkeeping, not part of what the service does: taking it off is no rollback to report, and
      // failing to leaves a record that expires on its own (recordExpiry), keeping revisions a
      // little longer than needed, which is said but fails nothing.
      try {
        await clearRecord(ctx, undo.key, deadline);
        deps.debug(`removed the rollout record ${undo.key}`);
      } catch (err) {
        state.notes.push(
          `Runway's rollout record ${undo.key} stays on ${ctx.where} until it expires: ${describeErrorBriefly(err)}.`,
        );
      }
      return false;
    }
    case 'restore-tags': {
      const { changed } = await applyTraffic(
        deps.api,
        ref,
        (live) => {
          const restored = withTagsRestored(live.traffic ?? [], undo.tags);
          return sameTraffic(live.traffic, restored) ? undefined : restored;
        },
        { deadline, onSent: rememberWritten(state) },
      );
      return changed;
    }
    case 'drop-tag': {
      const { changed } = await applyTraffic(
        deps.api,
        ref,
        (live) => withoutTagIfPresent(live.traffic, undo.tag),
        { deadline, onSent: rememberWritten(state) },
      );
      return changed;
    }
  }
}

/** How an undo reads in the log and in "Rolled back: …". */
export function undoName(ctx: RolloutContext, undo: Undo): string {
  switch (undo.kind) {
    case 'restore-traffic':
      return undo.settings
        ? "the traffic split and the service's settings put back as they were"
        : 'the traffic split put back as it was';
    case 'delete-created-service':
      return `${ctx.where} deleted (this run created it)`;
    case 'revert-public-access':
      return 'who may invoke the service put back as it was';
    case 'drop-tag':
      return `Runway's tag '${undo.tag}' removed`;
    case 'restore-tags':
      return `the tags ${undo.tags.map((t) => `'${t.tag}'`).join(', ')} put back as they were`;
    case 'clear-rollout-record':
      return "Runway's rollout record removed";
  }
}
