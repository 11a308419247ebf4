// Every region's rollout, in parallel, each with its own executor and undos. This layer only
// coordinates: with `regions_fail: all` the regions take each traffic step together, a failure
// anywhere takes the regions that passed back too, and each rollout's record is removed and
// keep_revisions runs once all have settled, where the rollout stood. Each outcome (or the error that stopped a region before it changed
// anything) is reported.
import * as core from '@actions/core';
import * as log from '../common/log.js';
import { randomUUID } from 'node:crypto';
import type { Credentials } from '../auth/credentials.js';
import { StepBarrier } from '../common/barrier.js';
import type { Deadline } from '../common/deadline.js';
import { LoggingClient } from '../gcp/logging.js';
import { CloudRunClient } from '../gcp/run.js';
import { explainRunError } from '../deploy/apply.js';
import { defaultLabels } from '../deploy/plan.js';
import { recordKey } from '../deploy/rollout-record.js';
import { candidateTagFor } from '../deploy/traffic.js';
import type { Settings } from '../inputs/inputs.js';
import { readFailureLogs } from './failure-logs.js';
import type { RegionOutcome } from './outcome.js';
import type { SpecChanges, Step } from './plan.js';
import type { ResolvedBuild } from '../inputs/build-flags.js';
import type { RolloutSettings } from './planner.js';
import { rolloutRegion, type HeldRollout, type RegionOptions } from './region.js';

/** The part of the settings one region's rollout needs. */
export function rolloutSettings(
  settings: Settings,
  candidateTag: string | undefined,
  recordKey: string,
): RolloutSettings {
  return {
    traffic: settings.traffic,
    tag: settings.tag,
    revisionTraffic: settings.revisionTraffic,
    tagTraffic: settings.tagTraffic,
    trafficTags: settings.trafficTags,
    progressive: settings.progressive,
    healthCheck: settings.healthCheck,
    rollback: settings.rollback,
    suffix: settings.suffix,
    keepRevisions: settings.keepRevisions,
    keepRevisionsGraceSeconds: settings.keepRevisionsGraceSeconds,
    allowUnauthenticated: settings.spec.allowUnauthenticated,
    invokerIamDisabled: settings.spec.invokerIamDisabled,
    candidateTag,
    recordKey,
    preview: settings.purpose === 'preview',
  };
}

/**
 * `regions_fail: all` with `traffic_steps` and several regions: each region waits at every traffic
 * step for the others, and leaves the barrier when its plan takes no (more) steps.
 */
function stepsTogether(
  settings: Settings,
): (region: string) => Partial<RegionOptions> & { done(healthy: boolean): void } {
  const barrier =
    settings.regionsFail === 'all' && settings.progressive && settings.regions.length > 1
      ? new StepBarrier(settings.regions)
      : undefined;
  return (region) => {
    if (!barrier) return { done: () => undefined };
    const percentOf = (step: Step): number | undefined =>
      step.change?.kind === 'move-traffic' && step.change.move.kind === 'step'
        ? step.change.move.percent
        : undefined;
    return {
      planned: (steps) => {
        if (!steps.some((s) => percentOf(s) !== undefined)) barrier.leave(region);
      },
      beforeStep: async (step) => {
        const percent = percentOf(step);
        if (percent !== undefined) await barrier.arrive(region, percent);
      },
      done: (healthy) => (healthy ? barrier.leave(region) : barrier.fail(region)),
    };
  };
}

export async function deployAll(
  settings: Settings,
  credentials: Credentials,
  project: string,
  image: string,
  github: { sha: string; runId: string; attempt: string },
  deadline: Deadline,
  build?: ResolvedBuild,
): Promise<PromiseSettledResult<RegionOutcome>[]> {
  const api = new CloudRunClient(credentials.accessToken);
  const logging = new LoggingClient(credentials.accessToken);
  const changes: SpecChanges = {
    image,
    spec: settings.spec,
    envVarsUpdateStrategy: settings.envVarsUpdateStrategy,
    secretsUpdateStrategy: settings.secretsUpdateStrategy,
    isolated: settings.isolated,
    build,
    replace: settings.serviceYaml?.service,
    labels: {
      ...(settings.skipDefaultLabels ? {} : defaultLabels(github.sha)),
      ...(settings.spec.labels ?? {}),
    },
  };
  const together = stepsTogether(settings);
  const held = await Promise.allSettled(
    settings.regions.map(async (region) => {
      const ref = { project, region, service: settings.service };
      const coordination = together(region);
      const candidateTag = candidateTagFor(settings.service, github.runId, github.attempt, randomUUID());
      const record = recordKey(github.runId, github.attempt, randomUUID().slice(0, 6));
      try {
        const rollout = await rolloutRegion(
          {
            api,
            identity: credentials.identity,
            idToken: (audience) => credentials.idToken(audience),
            log: (line) => log.info(`[${region}] ${line}`),
            warn: (line) => core.warning(line),
            debug: (line) => core.debug(`[${region}] ${line}`),
            ...(settings.logLines > 0
              ? {
                  failureLogs: (where, revision) =>
                    readFailureLogs(
                      {
                        api,
                        logging,
                        count: settings.logLines,
                        identity: credentials.identity,
                        warn: (line) => core.warning(`[${region}] ${line}`),
                      },
                      where,
                      revision,
                    ),
                }
              : {}),
          },
          ref,
          changes,
          rolloutSettings(settings, candidateTag, record),
          { deadline, ...coordination },
        );
        coordination.done(rollout.outcome.healthy === true);
        return rollout;
      } catch (err) {
        coordination.done(false);
        throw explainRunError(err, ref, credentials.identity);
      }
    }),
  );
  const outcomes = await applyRegionsFail(held, settings);
  await Promise.all(
    held.map((h, i) =>
      h.status === 'fulfilled' && outcomes[i]?.status === 'fulfilled' && outcomes[i].value.healthy
        ? h.value.afterwards()
        : undefined,
    ),
  );
  return outcomes;
}

/**
 * `regions_fail: all` (the default): when any region failed, the regions that passed are rolled
 * back too, so the service runs one version everywhere. `region`: each region stands alone.
 */
async function applyRegionsFail(
  held: PromiseSettledResult<HeldRollout>[],
  settings: Settings,
): Promise<PromiseSettledResult<RegionOutcome>[]> {
  const failed = settings.regions.filter(
    (_, i) =>
      held[i]!.status === 'rejected' ||
      !(held[i] as PromiseFulfilledResult<HeldRollout>).value.outcome.healthy,
  );
  const revertAll =
    settings.regionsFail === 'all' && failed.length > 0 && failed.length < settings.regions.length;
  return Promise.all(
    held.map(async (result): Promise<PromiseSettledResult<RegionOutcome>> => {
      if (result.status === 'rejected') return result;
      const { outcome, keep, revert } = result.value;
      if (!outcome.healthy || !revertAll) {
        keep();
        return { status: 'fulfilled', value: outcome };
      }
      const why = `Revision ${outcome.revision} passed here, but ${failed.join(', ')} failed: with \`regions_fail: all\` every region goes back.`;
      return { status: 'fulfilled', value: await revert(why) };
    }),
  );
}
