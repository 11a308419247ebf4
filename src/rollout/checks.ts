// The checks a plan's steps must pass before the next step: the revision became ready, health
// checks on its tag URL before it takes traffic and on the service URL after, `gate_url`'s consent,
// and each traffic step's gates. A check that cannot be made is a failed check: a candidate without
// a tag URL is never checked through the service URL instead, and a share that is not the one
// Runway wrote means someone else moved traffic, so the service URL cannot vouch for the revision.
import { RunwayError } from '../errors.js';
import { DeadlineExceeded } from '../common/deadline.js';
import {
  describeProbe,
  HealthCheckFailed,
  judgeStep,
  probeOnce,
  PROBE_TIMEOUT_MS,
  ProbeTargetRefused,
  StepGateFailed,
  waitHealthy,
  type HealthCheck,
  type Probe,
} from '../common/health.js';
import { deliverWebhook } from '../common/webhooks.js';
import type { Deadline } from '../common/deadline.js';
import type { Service } from '../gcp/run-types.js';
import { ingressIndex } from '../deploy/plan.js';
import { servingSplit } from '../deploy/traffic.js';
import type { RolloutContext } from './context.js';
import type { Check } from './plan.js';

/** How often a traffic step probes the new revision: once a second, whatever health_check_interval says. */
const STEP_PROBE_INTERVAL_MS = 1000;

/** The revision did not become ready; the message is Cloud Run's, the fix names what to change. */
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
      const containers = template.containers ?? [];
      for (const e of containers[ingressIndex(containers)]?.env ?? [])
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

/** The tag's URL, when the tag routes to `revision`; a tag moved elsewhere reaches another revision. */
export function tagUrlOf(service: Service | undefined, tag: string, revision: string): string | undefined {
  const status = service?.trafficStatuses?.find((t) => t.tag === tag);
  return status?.revision === revision ? status.uri : undefined;
}

/** The ID token the checks send, minted once; undefined when the service will be public. */
function token(ctx: RolloutContext): Promise<string | undefined> {
  const { plan, state, deadline, deps } = ctx;
  state.token ??= (async () => {
    if (!plan.checksNeedToken) return undefined;
    deadline.check('before minting an ID token for the health checks');
    return deps.idToken(state.service?.uri ?? '');
  })();
  return state.token;
}

function revisionReady(ctx: RolloutContext, revision: string, previousRevision: string | undefined): void {
  const error = ctx.state.deployed?.error;
  if (!error) return;
  const after = ctx.state.service;
  const port =
    ctx.plan.steps[0]?.change?.kind === 'deploy-revision'
      ? ctx.plan.steps[0].change.changes.spec.port
      : undefined;
  throw new CandidateFailed(
    `Cloud Run could not start revision ${revision} of ${ctx.where}: ${error.message}`,
    `${fixForRevisionFailure(after?.terminalCondition?.reason, after?.template ?? {}, port ?? 8080, ctx.ref.project)} ${previousRevision ? `The previous revision ${previousRevision} keeps serving.` : 'Nothing was serving before.'}`,
  );
}

async function healthCheck(
  ctx: RolloutContext,
  on: 'tag' | 'live',
  url: string,
  what: string,
): Promise<void> {
  const { settings, deadline, deps, state } = ctx;
  const { healthCheck } = settings;
  const bearer = await token(ctx);
  deps.log(`checking ${what.charAt(0).toLowerCase()}${what.slice(1)} at ${url}${healthCheck.path}`);
  const result = await waitHealthy(url, healthCheck, bearer, deps.log, deadline, deps.fetch).catch(
    (err: unknown) => {
      // A probe that could not be sent safely is a check that failed, and the report says so.
      if (err instanceof ProbeTargetRefused)
        state.checks.push({ on, healthy: false, attempts: 0, last: undefined });
      throw err;
    },
  );
  state.checks.push({ on, healthy: result.healthy, attempts: result.attempts, last: result.last });
  if (result.healthy) return;
  if (deadline.expired()) throw new DeadlineExceeded(`while checking ${what}`);
  throw new HealthCheckFailed(
    `${what} failed its health check (${healthCheck.path}: ${describeProbe(result.last)} after ${result.attempts} attempts)`,
    result,
  );
}

async function healthyOnTag(ctx: RolloutContext, revision: string, tag: string): Promise<void> {
  const { state, deps, ref } = ctx;
  const url = tagUrlOf(state.service, tag, revision);
  if (!url) {
    state.checks.push({ on: 'tag', healthy: false, attempts: 0, last: undefined });
    throw new HealthCheckFailed(
      `Revision ${revision} has no URL for its tag '${tag}', so it cannot be checked on its own (the service URL still serves the old revision).`,
    );
  }
  await healthCheck(ctx, 'tag', url, `Revision ${revision} (on its tag URL, before taking traffic)`);
  // What passed must have been this revision: the tag must still route to it.
  const after = await deps.api.getService(ref);
  if (!after || tagUrlOf(after, tag, revision) !== url) {
    throw new HealthCheckFailed(
      `The tag '${tag}' stopped routing to revision ${revision} while Runway checked it (someone else changed the traffic), so the checks may have reached another revision.`,
    );
  }
  state.service = after;
  state.fresh = after;
}

/** Throws unless `live` gives `revision` exactly `share` percent. */
function confirmShare(
  ctx: RolloutContext,
  live: Service | undefined,
  revision: string,
  share: number,
  failure: (serving: number) => Error,
): Service {
  const serving = live ? (servingSplit(live)[revision] ?? 0) : 0;
  if (live && serving === share) return live;
  throw failure(serving);
}

/**
 * Checks the service URL once the new revision has its traffic, after confirming that the traffic
 * is where Runway put it: the live split must give the revision exactly its share, before and after.
 */
async function healthyLive(ctx: RolloutContext, revision: string, share: number): Promise<void> {
  const { state, deps, ref } = ctx;
  const notMine = (serving: number): Error =>
    new HealthCheckFailed(
      `Revision ${revision} serves ${serving}% of ${ctx.where}, not the ${share}% Runway gave it (someone else changed the traffic), so the service URL cannot vouch for it.`,
    );
  let service: Service;
  try {
    service = confirmShare(ctx, state.service, revision, share, notMine);
  } catch (err) {
    state.checks.push({ on: 'live', healthy: false, attempts: 0, last: undefined });
    throw err;
  }
  await healthCheck(ctx, 'live', service.uri ?? '', `Revision ${revision} (after taking traffic)`);
  const after = confirmShare(ctx, await deps.api.getService(ref), revision, share, notMine);
  state.service = after;
  state.fresh = after;
}

/** `gate_url`'s consent to a step: the receiver must answer 2xx; no answer is a no. */
async function gateApproves(ctx: RolloutContext, revision: string, percent: number): Promise<void> {
  const { settings, ref, deps, state } = ctx;
  const gate = settings.progressive?.gate;
  if (!gate) return;
  const delivery = await deliverWebhook(
    gate.url,
    {
      type: 'runway.step',
      service: ref.service,
      project: ref.project,
      region: ref.region,
      revision,
      percent,
      steps: settings.progressive!.steps,
      measured: state.steps,
    },
    gate,
    deps.fetch ? { fetch: deps.fetch } : {},
  );
  deps.log(`  gate ${delivery.url}: ${delivery.result} (${delivery.id})`);
  if (!delivery.delivered)
    throw new StepGateFailed(
      `Input 'gate_url' did not approve the ${percent}% step for revision ${revision} (${delivery.result}).`,
    );
}

/** What a traffic step's probes need: the health check, the deploy's deadline, the transport. */
export interface StepProbing {
  healthCheck: HealthCheck;
  deadline: Deadline;
  fetch?: typeof fetch | undefined;
}

/**
 * Probes `url` once a second for `seconds`. The hold decides when probes start, not how long one
 * may take: a probe started just before the hold ends still gets the whole probe timeout (only the
 * deploy's deadline cuts it short). Node's timers and Date.now() disagree by a millisecond, so the
 * hold's last sleep can end just short of it and one more probe starts: given what was left of the
 * hold, that probe failed a healthy revision.
 */
export async function measureStep(
  probing: StepProbing,
  url: string,
  bearer: string | undefined,
  seconds: number,
): Promise<Probe[]> {
  const { healthCheck, deadline } = probing;
  const hold = deadline.within(seconds * 1000);
  const probes: Probe[] = [];
  while (!hold.expired()) {
    const timeoutMs = Math.min(PROBE_TIMEOUT_MS, deadline.remainingMs());
    probes.push(await probeOnce(url, healthCheck, bearer, timeoutMs, probing.fetch));
    await new Promise((done) => setTimeout(done, Math.min(STEP_PROBE_INTERVAL_MS, hold.remainingMs())));
  }
  return probes;
}

async function stepGates(ctx: RolloutContext, check: Extract<Check, { kind: 'step-gates' }>): Promise<void> {
  const { state, deps } = ctx;
  const { revision, percent } = check;
  const service = confirmShare(
    ctx,
    state.service,
    revision,
    percent,
    (serving) =>
      new StepGateFailed(
        `Revision ${revision} serves ${serving}% of ${ctx.where}, not the ${percent}% of this step (someone else changed the traffic).`,
      ),
  );
  const url = tagUrlOf(service, check.tag, revision);
  if (!url) {
    throw new StepGateFailed(
      `Revision ${revision} has no URL for its tag '${check.tag}', so the ${percent}% step cannot be measured on it.`,
    );
  }
  deps.log(`  holding ${percent}% for ${check.holdSeconds}s, probing ${url}${ctx.settings.healthCheck.path}`);
  const { settings, deadline } = ctx;
  const probing = { healthCheck: settings.healthCheck, deadline, fetch: deps.fetch };
  const probes = await measureStep(probing, url, await token(ctx), check.holdSeconds);
  if (deadline.expired()) throw new DeadlineExceeded(`while measuring the ${percent}% step`);
  const { verdict, failure } = judgeStep(probes, check);
  state.steps.push({ percent, ...verdict });
  deps.log(
    `  ${percent}%: ${verdict.requests} probes, ${verdict.errorRate.toFixed(1)}% failed, p95 ${verdict.p95Ms ?? '—'} ms → ${failure ? 'failed' : 'passed'}`,
  );
  for (const failed of verdict.failedProbes) deps.log(`  failed probe: ${failed}`);
  if (failure) throw new StepGateFailed(`Revision ${revision} failed the ${percent}% step: ${failure}.`);
}

export async function runCheck(ctx: RolloutContext, check: Check): Promise<void> {
  switch (check.kind) {
    case 'revision-ready':
      return revisionReady(ctx, check.revision, check.previousRevision);
    case 'healthy-on-tag':
      return healthyOnTag(ctx, check.revision, check.tag);
    case 'gate-approves':
      return gateApproves(ctx, check.revision, check.percent);
    case 'step-gates':
      return stepGates(ctx, check);
    case 'healthy-live':
      return healthyLive(ctx, check.revision, check.share);
  }
}
