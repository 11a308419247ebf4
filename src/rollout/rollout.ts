// One region's rollout: deploy the new revision with no traffic and a candidate tag, check it
// through its tag URL, move traffic, check the service URL, and on any failure put the split back
// exactly as it was. The outcome says truthfully what serves afterwards.
import * as core from '@actions/core';
import { randomBytes } from 'node:crypto';
import { RunwayError } from '../errors.js';
import { CloudRunClient, serviceName, type ServiceRef } from '../gcp/run.js';
import { shortName, type Service, type TrafficTarget } from '../gcp/run-types.js';
import type { Settings } from '../inputs/inputs.js';
import { planService, planTrafficChange, type ServiceChanges } from '../deploy/plan.js';
import { applyChange, applyPublicAccess, isPublic } from '../deploy/apply.js';
import { checkCanSetIamPolicy, validateSpec } from '../deploy/preflight.js';
import {
  describeTraffic,
  pinTraffic,
  promote,
  servingSplit,
  withCandidate,
  withoutTag,
} from '../deploy/traffic.js';
import { describeProbe, waitHealthy, type HealthResult } from './health.js';

export interface RolloutSettings extends Pick<
  Settings,
  'traffic' | 'tag' | 'revisionTraffic' | 'tagTraffic' | 'healthCheck' | 'rollback'
> {
  allowUnauthenticated: boolean | undefined;
  deadline: number;
  /** Tag given to the candidate while it is checked; removed at the end. */
  candidateTag: string;
}

export interface RegionOutcome {
  region: string;
  url: string;
  revision: string;
  previousRevision: string | undefined;
  tagUrl: string | undefined;
  healthy: boolean | undefined;
  /** revision → percent, what serves when Runway is done. */
  traffic: Record<string, number>;
  rolledBack: boolean;
  /** Why the region failed, when it did. */
  failure: string | undefined;
}

export interface RolloutDeps {
  client: CloudRunClient;
  identity: string;
  /** A Google ID token for a private service's URL. */
  idToken: (audience: string) => Promise<string>;
  log: (line: string) => void;
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

/** What to change when Cloud Run could not start a revision, from its own message. */
export function fixForRevisionFailure(message: string, port: number): string {
  const secret =
    /Permission denied on secret: projects\/[^/]+\/secrets\/([^/\s]+)\/\S* for Revision service account (\S+?)\.?\s/.exec(
      message,
    );
  if (secret) {
    return `Grant the runtime service account access to the secret:\n  gcloud secrets add-iam-policy-binding ${secret[1]} --role=roles/secretmanager.secretAccessor --member=serviceAccount:${secret[2]}\n`;
  }
  if (/Image '.*' not found/.test(message))
    return 'Check that the image exists in the registry and that the runtime service account may pull it.';
  if (/PERMISSION_DENIED|denied/i.test(message) && /image|pull/i.test(message)) {
    return 'Grant the runtime service account roles/artifactregistry.reader on the repository.';
  }
  return `The container must listen on $PORT (${port}) and start within its startup probe; its logs say why it did not.`;
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

function tagUri(service: Service, tag: string | undefined): string | undefined {
  if (!tag) return undefined;
  return service.trafficStatuses?.find((t) => t.tag === tag)?.uri;
}

export async function rolloutRegion(
  deps: RolloutDeps,
  ref: ServiceRef,
  changes: Omit<ServiceChanges, 'revisionName' | 'traffic' | 'project' | 'region' | 'service'>,
  settings: RolloutSettings,
  suffix: string | undefined,
): Promise<RegionOutcome> {
  const { client, log } = deps;
  const where = `${ref.service} in ${ref.region}`;
  const initial = await client.getService(ref);
  const revision = nextRevisionName(ref.service, initial, suffix);
  const previousRevision = shortName(initial?.latestReadyRevision);
  const servedBefore = initial?.latestReadyRevision ? pinTraffic(initial) : undefined;
  const checkTag = settings.tag ?? settings.candidateTag;
  const pinnedByHand =
    initial?.traffic?.length &&
    !initial.traffic.some(
      (t) => t.type === 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST' || (t.type as unknown) === 1,
    );
  if (pinnedByHand && settings.traffic !== 'none') {
    log(
      `note: ${where} had its traffic pinned (${describeTraffic(initial.traffic)}), not following the latest revision; Runway moves it to the new revision as asked`,
    );
  }

  if (!servedBefore && settings.traffic === 'none') {
    log(`note: ${where} has no serving revision, so the new one takes its traffic whatever \`traffic\` says`);
  }

  // The new revision: with no traffic and a tag to reach it, unless there is nothing to protect.
  const plan = (live: Service | undefined): Service => {
    const serving = live?.latestReadyRevision ? pinTraffic(live) : undefined;
    let traffic: TrafficTarget[] | undefined;
    if (!serving) {
      traffic = [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision, percent: 100 }];
      if (settings.tag) traffic = withCandidate(traffic, revision, settings.tag);
    } else if (settings.traffic === 'immediate') {
      traffic = withCandidate(
        promote(serving, resolveSplit(settings, revision, serving), revision),
        revision,
        checkTag,
      );
    } else {
      traffic = withCandidate(serving, revision, checkTag);
    }
    return planService(live, {
      ...changes,
      project: ref.project,
      region: ref.region,
      service: ref.service,
      revisionName: revision,
      traffic,
    });
  };

  // Preflight: Cloud Run's dry run (permissions, actAs, validation) and the IAM change, before anything changes.
  await validateSpec(client, ref, plan(initial), initial !== undefined);
  if (settings.allowUnauthenticated !== undefined && initial)
    await checkCanSetIamPolicy(client, ref, deps.identity);

  const deployed = await applyChange(client, ref, plan, settings.deadline).catch(async (err: unknown) => {
    // A failed revision leaves the spec naming it; put the previous split back so nothing dangles.
    if (servedBefore) await restore(deps, ref, servedBefore, settings.deadline).catch(() => undefined);
    throw err;
  });
  if (deployed.operation.error) {
    if (servedBefore) await restore(deps, ref, servedBefore, settings.deadline);
    throw new RunwayError(
      `Cloud Run could not start revision ${revision} of ${where}: ${deployed.operation.error.message}`,
      `${fixForRevisionFailure(deployed.operation.error.message, changes.spec.port ?? 8080)} ${previousRevision ? `The previous revision ${previousRevision} keeps serving.` : 'Nothing was serving before, and nothing serves now.'}`,
    );
  }
  if (settings.allowUnauthenticated !== undefined) {
    await applyPublicAccess(client, ref, settings.allowUnauthenticated, deps.identity);
  }

  let service = deployed.after;
  const url = service.uri ?? '';
  const token = (await isPublic(client, ref, service)) ? undefined : await deps.idToken(url);
  const check = (target: string, label: string): Promise<HealthResult> => {
    log(`checking ${label} ${target}${settings.healthCheck.path}`);
    return waitHealthy(target, settings.healthCheck, async () => token, log);
  };

  let healthy: boolean | undefined;
  let failure: string | undefined;
  let rolledBack = false;
  const fail = async (what: string, result: HealthResult): Promise<void> => {
    healthy = false;
    failure = `${what} failed its health check (${settings.healthCheck.path}: ${describeProbe(result.last)} after ${result.attempts} attempts)`;
    if (!settings.rollback) return;
    if (servedBefore) {
      service = await restore(deps, ref, servedBefore, settings.deadline);
      rolledBack = true;
    } else {
      // A new service has no earlier split to return to: take it down rather than serve a broken revision.
      await client.deleteService(ref);
      rolledBack = true;
      log(`deleted ${where}: it was created by this run and its first revision is not healthy`);
    }
  };

  // The traffic move once the candidate is healthy: the asked split, the candidate tag dropped.
  const promotion = (live: Service | undefined): Service => {
    const current = live!.traffic ?? [];
    const split = resolveSplit(settings, revision, current);
    return planTrafficChange(live!, promote(withoutTag(current, settings.candidateTag), split, revision));
  };

  const candidateUrl = tagUri(service, checkTag);
  if (settings.traffic === 'verified' && servedBefore) {
    const onTag = await check(candidateUrl ?? url, `revision ${revision} on its tag URL`);
    if (!onTag.healthy) {
      await fail(`Revision ${revision} (on its tag URL, before taking traffic)`, onTag);
    } else {
      service = (await applyChange(client, ref, promotion, settings.deadline)).after;
      const live = await check(url, 'the service URL');
      healthy = live.healthy;
      if (!live.healthy) await fail(`Revision ${revision} (after taking traffic)`, live);
    }
  } else if (settings.traffic === 'none') {
    const onTag = await check(candidateUrl ?? url, `revision ${revision} on its tag URL`);
    healthy = onTag.healthy;
    if (!onTag.healthy)
      failure = `Revision ${revision} failed its health check on its tag URL (${describeProbe(onTag.last)}); it serves no traffic`;
  } else {
    const live = await check(url, 'the service URL');
    healthy = live.healthy;
    if (!live.healthy) await fail(`Revision ${revision}`, live);
  }

  // The candidate tag was Runway's, for checking; the user's own `tag` stays.
  if (!settings.tag && !(rolledBack && !servedBefore)) {
    const current = await client.getService(ref);
    if (current?.traffic?.some((t) => t.tag === settings.candidateTag)) {
      service = (
        await applyChange(
          client,
          ref,
          (live) => planTrafficChange(live!, withoutTag(live!.traffic ?? [], settings.candidateTag)),
          settings.deadline,
        )
      ).after;
    }
  }

  const deletedNew = rolledBack && !servedBefore;
  const outcome: RegionOutcome = {
    region: ref.region,
    url: deletedNew ? '' : url,
    revision,
    previousRevision,
    tagUrl: settings.tag ? tagUri(service, settings.tag) : undefined,
    healthy,
    traffic: deletedNew ? {} : servingSplit(service),
    rolledBack,
    failure,
  };
  core.info(
    `${ref.region}: ${deletedNew ? 'nothing serves (the new service was removed)' : describeTraffic(service.trafficStatuses)}`,
  );
  return outcome;
}

/** Puts the traffic split back to `targets` (LATEST already pinned to the revision it meant). */
async function restore(
  deps: RolloutDeps,
  ref: ServiceRef,
  targets: TrafficTarget[],
  deadline: number,
): Promise<Service> {
  deps.log(`rolling back ${serviceName(ref)} to: ${describeTraffic(targets)}`);
  const { after } = await applyChange(
    deps.client,
    ref,
    (live) => planTrafficChange(live!, targets),
    deadline,
  );
  return after;
}
