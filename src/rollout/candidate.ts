// Phase 2, create the candidate: the update that creates the new revision with no traffic (and a
// tag to reach it), or the new service. Its undo is registered first: put the pinned split back
// exactly (which also drops the candidate's tag), or delete the service this run created.
import { RunwayError } from '../errors.js';
import { serviceName } from '../gcp/run.js';
import type { Service, TrafficTarget } from '../gcp/run-types.js';
import { applyChange, applyTraffic } from '../deploy/apply.js';
import {
  describeTraffic,
  restoredTraffic,
  sameShares,
  sameTraffic,
  withoutTagIfPresent,
} from '../deploy/traffic.js';
import { remember, type Rollout } from './context.js';
import type { Deadline } from './deadline.js';
import type { RolloutPlan } from './plan.js';

/** The revision did not become ready; `reason` is the Ready condition's reason. */
export class CandidateFailed extends RunwayError {}

/** What to change when Cloud Run could not start a revision, by the Ready condition's reason. */
export function fixForRevisionFailure(
  reason: string | undefined,
  template: Service['template'],
  port: number,
  project = 'PROJECT',
): string {
  const runtime = template.serviceAccount ?? "the project's default compute service account";
  switch (reason) {
    case 'SECRETS_ACCESS_CHECK_FAILED': {
      const secrets = new Set<string>();
      for (const e of template.containers?.[0]?.env ?? [])
        if (e.valueSource) secrets.add(e.valueSource.secretKeyRef.secret.split('/').pop()!);
      for (const v of template.volumes ?? []) if (v.secret) secrets.add(v.secret.secret.split('/').pop()!);
      const commands = [...secrets].map(
        (s) =>
          `  gcloud secrets add-iam-policy-binding ${s} --role=roles/secretmanager.secretAccessor --member=serviceAccount:${runtime} --project=${project}`,
      );
      return `Grant the runtime service account access to the secret:\n${commands.join('\n')}\n`;
    }
    case 'CONTAINER_MISSING':
      return 'Check that the image exists in the registry and that the runtime service account may pull it.';
    case 'CONTAINER_PERMISSION_DENIED':
    case 'CONTAINER_IMAGE_UNAUTHORIZED':
      return `Grant the runtime service account (${runtime}) roles/artifactregistry.reader on the repository.`;
    default:
      return `The container must listen on $PORT (${port}) and start within its startup probe; its logs say why it did not.`;
  }
}

/**
 * Puts the shares back exactly as `plan.servedBefore` served them, with this run's tag where it was
 * — but only while the live shares are still what Runway last wrote. When someone else changed the
 * shares meanwhile, their split stays; Runway only takes its own candidate tag away and says so.
 * 0% tags others added or removed during the run (a preview, a cleanup) are left as they are.
 * Resolves to whether it changed anything.
 */
export async function restoreTraffic(r: Rollout, plan: RolloutPlan, deadline: Deadline): Promise<boolean> {
  let foreign = false;
  let targets: TrafficTarget[] = plan.servedBefore!;
  const { changed } = await applyTraffic(
    r.deps.client,
    r.ref,
    (live) => {
      foreign = false;
      targets = restoredTraffic(plan.servedBefore!, live.traffic, plan.checkTag);
      if (sameTraffic(live.traffic, targets)) return undefined;
      if (r.written && !sameShares(live.traffic, r.written)) {
        foreign = true;
        const tag = plan.candidateTag;
        return tag ? withoutTagIfPresent(live.traffic, tag) : undefined;
      }
      r.deps.log(`rolling back ${serviceName(r.ref)} to: ${describeTraffic(targets)}`);
      return targets;
    },
    deadline,
    remember(r),
  );
  if (foreign) {
    r.notes.push(
      `Someone else changed the traffic of ${r.where} during this run; Runway left their split as it is${plan.candidateTag ? ' and only removed its own tag' : ''}.`,
    );
    return false;
  }
  return changed;
}

export async function createCandidate(r: Rollout, plan: RolloutPlan): Promise<Service> {
  const { client } = r.deps;
  let createdUid: string | undefined;
  if (plan.servedBefore) {
    r.undo.push('the traffic split put back as it was', (deadline) => restoreTraffic(r, plan, deadline));
  } else if (!plan.initial) {
    // Only a service this very run created, recognised by its uid, is ever deleted.
    r.undo.push(`${r.where} deleted (this run created it)`, async (deadline) => {
      const live = await client.getService(r.ref);
      if (!createdUid || !live || live.uid !== createdUid) return false;
      await client.deleteService(r.ref, deadline.at);
      r.deps.log(`deleted ${r.where}: this run created it and it did not become healthy`);
      return true;
    });
  } else {
    r.notes.push(
      `${r.where} existed but had no serving revision before this run, so there is no earlier split to restore.`,
    );
  }
  r.settings.deadline.check(`before deploying revision ${plan.revision}`);
  // The plan's read is a moment old; its etag makes a change made since then fail and re-plan.
  const deployed = await applyChange(
    client,
    r.ref,
    plan.spec,
    r.settings.deadline,
    remember(r),
    plan.initial,
  );
  if (!deployed.before) createdUid = deployed.after.uid;
  const error = deployed.operation.error;
  if (error) {
    const port = r.changes.spec.port ?? 8080;
    const template = deployed.after.template;
    throw new CandidateFailed(
      `Cloud Run could not start revision ${plan.revision} of ${r.where}: ${error.message}`,
      `${fixForRevisionFailure(deployed.after.terminalCondition?.reason, template, port, r.ref.project)} ${plan.previousRevision ? `The previous revision ${plan.previousRevision} keeps serving.` : 'Nothing was serving before.'}`,
    );
  }
  return deployed.after;
}
