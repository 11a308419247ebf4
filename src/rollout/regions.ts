// Every region's rollout, in parallel, each with its own undos; then, with `regions_fail: all`, a
// failure anywhere takes the regions that passed back too. Each outcome (or the error that stopped
// a region before it changed anything) is reported.
import * as core from '@actions/core';
import { randomUUID } from 'node:crypto';
import type { Credentials } from '../auth/credentials.js';
import { explainRunError } from '../deploy/apply.js';
import { defaultLabels } from '../deploy/plan.js';
import { candidateTagFor } from '../deploy/traffic.js';
import { CloudRunClient } from '../gcp/run.js';
import { describeError } from '../errors.js';
import type { Settings } from '../inputs/inputs.js';
import { pruneRevisions } from '../deploy/prune.js';
import type { ServiceRef } from '../gcp/run.js';
import { Deadline, undoGraceSeconds } from './deadline.js';
import { rolloutRegion, type HeldRollout, type RegionOutcome } from './rollout.js';
import { StepBarrier } from './steps.js';

export async function deployAll(
  settings: Settings,
  credentials: Credentials,
  project: string,
  image: string,
  github: { sha: string; runId: string; attempt: string },
  deadline: Deadline,
): Promise<PromiseSettledResult<RegionOutcome>[]> {
  const client = new CloudRunClient(credentials.accessToken);
  const labels = {
    ...(settings.skipDefaultLabels ? {} : defaultLabels(github.sha)),
    ...(settings.spec.labels ?? {}),
  };
  const together =
    settings.regionsFail === 'all' && settings.progressive && settings.regions.length > 1
      ? new StepBarrier(settings.regions)
      : undefined;
  const held = await Promise.allSettled(
    settings.regions.map(async (region) => {
      const ref = { project, region, service: settings.service };
      try {
        const rollout = await rolloutRegion(
          {
            client,
            identity: credentials.identity,
            idToken: (audience) => credentials.idToken(audience),
            log: (line) => core.info(`[${region}] ${line}`),
          },
          ref,
          {
            image,
            spec: settings.spec,
            envVarsUpdateStrategy: settings.envVarsUpdateStrategy,
            secretsUpdateStrategy: settings.secretsUpdateStrategy,
            labels,
          },
          {
            traffic: settings.traffic,
            tag: settings.tag,
            revisionTraffic: settings.revisionTraffic,
            tagTraffic: settings.tagTraffic,
            progressive: settings.progressive,
            healthCheck: settings.healthCheck,
            rollback: settings.rollback,
            suffix: settings.suffix,
            // Who may call the service is service-wide: a preview never changes it.
            allowUnauthenticated:
              settings.purpose === 'preview' ? undefined : settings.spec.allowUnauthenticated,
            deadline,
            candidateTag: candidateTagFor(settings.service, github.runId, github.attempt, randomUUID()),
            preview: settings.purpose === 'preview',
            stepsTogether: together,
          },
        );
        if (!rollout.outcome.healthy) together?.fail(region);
        else together?.leave(region);
        return rollout;
      } catch (err) {
        together?.fail(region);
        throw explainRunError(err, ref, credentials.identity);
      }
    }),
  );
  const outcomes = await settle(held, settings);
  for (const [i, result] of outcomes.entries()) {
    const outcome = result.status === 'fulfilled' ? result.value : undefined;
    if (outcome?.healthy && settings.keepRevisions !== undefined) {
      const ref = { project, region: settings.regions[i]!, service: settings.service };
      const protect = outcome.previousRevision ? [outcome.previousRevision] : [];
      outcome.pruned = await pruneIdle(client, ref, settings.keepRevisions, deadline, protect);
    }
  }
  return outcomes;
}

/**
 * `regions_fail: all` (the default): when any region failed, the regions that passed are rolled
 * back too, so the service runs one version everywhere. `region`: each region stands alone.
 */
async function settle(
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

/**
 * keep_revisions, after the region is done: deletes idle revisions and warns about any it could
 * not delete. A deploy that passed stays passed; what is deleted cannot be undone, so nothing is.
 */
export async function pruneIdle(
  client: CloudRunClient,
  ref: ServiceRef,
  keep: number,
  deadline: Deadline,
  protect: string[] = [],
): Promise<string[]> {
  const where = `${ref.service} in ${ref.region}`;
  // Past the deploy's deadline, pruning still gets its own grace period.
  const until = deadline.expired() ? Deadline.in(undoGraceSeconds()).at : deadline.at;
  try {
    const { deleted, failed, skipped } = await pruneRevisions(client, ref, keep, until, protect);
    if (skipped) {
      core.warning(`keep_revisions: deleted nothing in ${where}: ${skipped}. The next run prunes.`);
      return [];
    }
    core.info(
      `[${ref.region}] keep_revisions ${keep}: ${deleted.length ? `deleted ${deleted.join(', ')}` : 'no idle revision to delete'}`,
    );
    for (const f of failed)
      core.warning(
        `keep_revisions: could not delete revision ${f.revision} of ${where}: ${describeError(f.error).split('\n')[0]}. Deleting revisions needs run.revisions.delete (roles/run.developer).`,
      );
    return deleted;
  } catch (err) {
    core.warning(
      `keep_revisions: could not list the revisions of ${where}: ${describeError(err).split('\n')[0]}. The deploy itself is done.`,
    );
    return [];
  }
}
