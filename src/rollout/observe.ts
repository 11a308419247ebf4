// Observing a service before a rollout changes it: the facts the planner needs (the service as it
// is, the settings of the revision that serves, whether it is public), and the two refusals Cloud
// Run can give before anything changes: the dry run of the plan's first change, and the IAM test
// for `allow_unauthenticated`. Everything here reads; nothing writes.
import { RunwayError } from '../errors.js';
import type { CloudRunApi, ServiceRef } from '../gcp/run.js';
import { shortName, templateOf, type Service } from '../gcp/run-types.js';
import {
  explainRunError,
  isConcurrentChange,
  isPublic,
  MAX_CONFLICT_RETRIES,
  revisionNameClash,
} from '../deploy/apply.js';
import { checkCanSetIamPolicy, validateSpec } from '../deploy/preflight.js';
import { largestShare, pinTraffic } from '../deploy/traffic.js';
import { specFor } from './changes.js';
import type { DeployRevision, Plan } from './plan.js';
import { planRollout, type Observation, type PlanInput } from './planner.js';

/**
 * The serving revision's template when the service's template is a revision that serves nothing
 * (the last preview, a `traffic: none` deploy, or a deploy that was rolled back): the new revision
 * then starts from what production runs, so a pull request's env, secrets or scaling never carry
 * over. Undefined when the service's own template is what serves.
 */
async function servingTemplate(
  api: CloudRunApi,
  ref: ServiceRef,
  live: Service | undefined,
): Promise<Observation['serving']> {
  const latest = shortName(live?.latestCreatedRevision);
  const servedBefore = live?.latestReadyRevision ? pinTraffic(live) : undefined;
  const serving = servedBefore ? largestShare(servedBefore) : undefined;
  if (!latest || !serving || servedBefore!.some((t) => t.revision === latest && (t.percent ?? 0) > 0))
    return undefined;
  const revision = await api.getRevision(ref, serving);
  return revision ? { revision: serving, template: templateOf(revision) } : undefined;
}

export async function observe(
  api: CloudRunApi,
  ref: ServiceRef,
  allowUnauthenticated: boolean | undefined,
): Promise<Observation> {
  const live = await api.getService(ref);
  const serving = await servingTemplate(api, ref, live);
  // Whether the checks need an ID token, when this run leaves access alone.
  const open = live && allowUnauthenticated === undefined ? await isPublic(api, ref, live) : undefined;
  return { live, serving, public: open };
}

/** The dry run was refused because the service changed after the observation (its etag). */
class ChangedWhilePlanning extends Error {}

/**
 * What Cloud Run refuses before anything changes: the dry run of the plan's first change
 * (permissions, actAs, validation), then, for `allow_unauthenticated`, the IAM test.
 */
async function preflight(
  api: CloudRunApi,
  ref: ServiceRef,
  plan: Plan,
  observed: Observation,
  input: Omit<PlanInput, 'observed'>,
  identity: string,
): Promise<void> {
  const deploy = plan.steps.find((s) => s.change?.kind === 'deploy-revision')?.change as DeployRevision;
  const { live } = observed;
  const planned = specFor(deploy, live, ref);
  try {
    await validateSpec(api, ref, planned, live !== undefined);
  } catch (err) {
    if (isConcurrentChange(err, live !== undefined))
      throw new ChangedWhilePlanning((err as Error).message, { cause: err });
    throw (
      revisionNameClash(err, live !== undefined) ??
      explainRunError(err, ref, identity, planned.template.serviceAccount)
    );
  }
  if (input.settings.allowUnauthenticated !== undefined && live)
    await checkCanSetIamPolicy(api, ref, identity);
}

/**
 * Observes the service, plans, and dry-runs the plan. Another deploy that changes the service
 * between the read and the dry run makes Cloud Run refuse the dry run on the etag: the service is
 * observed and planned again, a bounded number of times.
 */
export async function observeAndPlan(
  api: CloudRunApi,
  input: Omit<PlanInput, 'observed'>,
  identity: string,
  log: (line: string) => void,
): Promise<{ plan: Plan; observed: Observation }> {
  const { ref } = input;
  const where = `${ref.service} in ${ref.region}`;
  for (let attempt = 1; ; attempt++) {
    const observed = await observe(api, ref, input.settings.allowUnauthenticated);
    const plan = planRollout({ ...input, observed });
    try {
      await preflight(api, ref, plan, observed, input, identity);
      return { plan, observed };
    } catch (err) {
      if (!(err instanceof ChangedWhilePlanning)) throw err;
      if (attempt >= MAX_CONFLICT_RETRIES) {
        throw new RunwayError(
          `${where} changed while Runway was deploying, ${MAX_CONFLICT_RETRIES} times in a row: ${err.message}`,
          'Another deploy of this service is under way: give the job a `concurrency:` group so deploys of one service wait for each other.',
          { cause: err },
        );
      }
      log(`${where} changed while Runway was planning (${err.message}); reading it again`);
    }
  }
}
