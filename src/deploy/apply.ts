// Applying planned changes: a new spec, a traffic-only move, or an annotations-only change, guarded
// by the service's etag (a concurrent change means re-read and re-plan, never clobber), then waiting
// for Cloud Run's operation with operations.wait. Also the IAM change for allow_unauthenticated.
import * as core from '@actions/core';
import * as log from '../common/log.js';
import { iamMember } from '../auth/credentials.js';
import { RunwayError } from '../errors.js';
import { GoogleApiError, isRetryableStatus } from '../common/http.js';
import { endpoint } from '../gcp/endpoints.js';
import { serviceName, type CloudRunApi, type ServiceRef } from '../gcp/run.js';
import type { IamPolicy, Operation, Service, TrafficTarget } from '../gcp/run-types.js';
import { DeadlineExceeded, type Deadline } from '../common/deadline.js';

export interface AppliedChange {
  /** The service as it was just before this change (undefined: it did not exist). */
  before: Service | undefined;
  /** The service after the operation finished. */
  after: Service;
  operation: Operation;
}

/** Called with the traffic spec a change carries, the moment Cloud Run has accepted it. */
export type OnSent = (traffic: TrafficTarget[] | undefined) => void;

/** The deadline passed while Cloud Run was still applying a change; the operation is still running. */
export class OperationInFlight extends DeadlineExceeded {
  readonly operation: Operation;
  constructor(ref: ServiceRef, operation: Operation) {
    super(`while Cloud Run was still applying a change to ${serviceName(ref)}`);
    this.name = 'OperationInFlight';
    this.operation = operation;
  }
}

export const MAX_CONFLICT_RETRIES = 3;

/** A 409 that means "someone else changed it first": re-read, re-plan, try again. */
export function isConcurrentChange(err: unknown, existed: boolean): boolean {
  if (!(err instanceof GoogleApiError) || err.httpStatus !== 409) return false;
  return err.status === 'ABORTED' || (err.status === 'ALREADY_EXISTS' && !existed);
}

/**
 * A 409 ALREADY_EXISTS on a service that exists means the template reuses a revision's name with
 * other settings: that error explained, else undefined.
 */
export function revisionNameClash(err: unknown, existed: boolean): RunwayError | undefined {
  if (
    !(err instanceof GoogleApiError) ||
    err.httpStatus !== 409 ||
    err.status !== 'ALREADY_EXISTS' ||
    !existed
  )
    return undefined;
  return new RunwayError(
    `Cloud Run refused the revision name: ${err.message}`,
    'Use a new `suffix` for every deploy that changes the service (or leave it empty).',
    { cause: err },
  );
}

/**
 * Turns a Cloud Run API error into one that names the permission and the fix. `runtimeAccount` is
 * the account the planned revision runs as, for actAs denials.
 */
export function explainRunError(
  err: unknown,
  ref: ServiceRef,
  identity: string,
  runtimeAccount = 'RUNTIME_SERVICE_ACCOUNT',
): unknown {
  // Only Cloud Run's own answers: a failed ID token or secret lookup explains itself elsewhere.
  if (!(err instanceof GoogleApiError) || !err.url.startsWith(endpoint('run'))) return err;
  const member = iamMember(identity);
  if (err.httpStatus === 403) {
    const permission = err.permission ?? 'the request';
    if (permission.toLowerCase() === 'iam.serviceaccounts.actas') {
      const runtime = runtimeAccount;
      return new RunwayError(
        `${identity} may not deploy revisions that run as ${runtime} (iam.serviceAccounts.actAs): ${err.message}`,
        `Grant roles/iam.serviceAccountUser on the runtime service account to the deployer:\n  gcloud iam service-accounts add-iam-policy-binding ${runtime} --role=roles/iam.serviceAccountUser --member=${member}`,
        { cause: err },
      );
    }
    return new RunwayError(
      `Cloud Run denied ${permission} to ${identity} on ${serviceName(ref)}: ${err.message}`,
      `Grant roles/run.developer (roles/run.admin to also set IAM policies) to the deployer:\n  gcloud projects add-iam-policy-binding ${ref.project} --role=roles/run.developer --member=${member}`,
      { cause: err },
    );
  }
  if (isRetryableStatus(err.httpStatus)) {
    // The HTTP layer retried it with backoff; it kept failing.
    return new RunwayError(
      `Cloud Run answered ${err.method} ${new URL(err.url).pathname} with HTTP ${err.httpStatus} ${err.status} on every attempt: ${err.message}`,
      "This is on Google's side (see https://status.cloud.google.com): re-run the job.",
      { cause: err },
    );
  }
  if (err.status === 'INVALID_ARGUMENT' && err.fields.includes('location')) {
    return new RunwayError(
      `Input 'region' (${ref.region}) is not a Cloud Run region: ${err.message} Nothing was changed.`,
      'Use a region Cloud Run offers, e.g. `us-central1` (gcloud run regions list).',
      { cause: err },
    );
  }
  return new RunwayError(
    `Cloud Run rejected the request for ${serviceName(ref)}: ${err.message}`,
    undefined,
    { cause: err },
  );
}

/** Env values and arguments may be secrets: the debug log shows env names only, and no args. */
function withoutSecretValues(service: Service): Service {
  const containers = service.template.containers?.map((c) => ({
    ...c,
    ...(c.env ? { env: c.env.map((e) => (e.value === undefined ? e : { ...e, value: '***' })) } : {}),
    ...(c.args ? { args: c.args.map(() => '***') } : {}),
  }));
  return { ...service, template: { ...service.template, ...(containers ? { containers } : {}) } };
}

interface Prepared {
  /** What the debug log shows of the change. */
  shown: unknown;
  traffic: TrafficTarget[] | undefined;
  send: () => Promise<Operation>;
}

/** Plans the change from the live service; undefined when there is nothing to change. */
type Prepare = (before: Service | undefined) => Prepared | undefined;

export interface ApplyOptions {
  deadline: Deadline;
  /** Called with the traffic spec of the change once Cloud Run has accepted it. */
  onSent?: OnSent;
  /** Called just before the change is sent (not when there is nothing to send): record its undo here. */
  beforeSend?: () => void;
  /**
   * The service as the caller just read it, with nothing changed by Runway since: the first attempt
   * is planned from it instead of reading it again. Should someone else have changed the service
   * meanwhile, the etag refuses the change and the loop reads again; that attempt does not count
   * against the retries.
   */
  known?: Service | undefined;
}

/**
 * The read → plan → send → wait loop shared by spec and traffic changes. Undefined when the plan,
 * made against the live service, found nothing to change.
 */
async function applyWith(
  client: CloudRunApi,
  ref: ServiceRef,
  prepare: Prepare,
  options: ApplyOptions,
): Promise<AppliedChange | undefined> {
  const { deadline, known } = options;
  const attempts = MAX_CONFLICT_RETRIES + (known ? 1 : 0);
  for (let attempt = 1; ; attempt++) {
    deadline.check(`before changing ${serviceName(ref)}`);
    const before = attempt === 1 && known ? known : await client.getService(ref);
    const prepared = prepare(before);
    if (!prepared) return undefined;
    core.debug(`change for ${serviceName(ref)}: ${JSON.stringify(prepared.shown)}`);
    let operation: Operation;
    try {
      options.beforeSend?.();
      operation = await prepared.send();
      options.onSent?.(prepared.traffic);
    } catch (err) {
      if (isConcurrentChange(err, before !== undefined) && attempt < attempts) {
        core.warning(
          `${serviceName(ref)} changed while Runway was deploying (${(err as Error).message}); re-reading it and planning again.`,
        );
        continue;
      }
      throw revisionNameClash(err, before !== undefined) ?? err;
    }
    const done = await client.waitOperation(operation, deadline.at);
    if (!done.done) throw new OperationInFlight(ref, done);
    const after = (await client.getService(ref)) ?? done.response;
    if (!after) throw new RunwayError(`${serviceName(ref)} disappeared while Runway was deploying it.`);
    return { before, after, operation: done };
  }
}

/**
 * Reads the service, builds the next spec from it, sends it, and waits for the operation.
 * `build` is called again with the fresh service whenever the etag shows a concurrent change.
 */
export async function applyChange(
  client: CloudRunApi,
  ref: ServiceRef,
  build: (live: Service | undefined) => Service,
  options: ApplyOptions,
): Promise<AppliedChange> {
  const applied = await applyWith(
    client,
    ref,
    (before) => {
      const planned = build(before);
      return {
        shown: withoutSecretValues(planned),
        traffic: planned.traffic,
        send: () => (before ? client.updateService(ref, planned) : client.createService(ref, planned)),
      };
    },
    options,
  );
  // A spec change always has something to send.
  return applied!;
}

/** One part of the service changed on its own (updateMask): what to send, planned from the live service. */
interface PartChange<T> {
  /** The service's field it is, as sent. */
  field: 'traffic' | 'annotations' | 'settings';
  /** What failing to change it is called: "move the traffic". */
  doing: string;
  /** The part as it should be; undefined when it already is. */
  plan: (live: Service) => T | undefined;
  send: (value: T, etag: string | undefined) => Promise<Operation>;
  /** The traffic spec the change carries, for OnSent. */
  traffic: (value: T) => TrafficTarget[] | undefined;
}

/**
 * Changes one part of the service only, planned from the live service; a failed operation throws,
 * because a change that did not land must not be reported as done. Resolves to the service
 * afterwards and whether anything was sent.
 */
async function applyPart<T>(
  client: CloudRunApi,
  ref: ServiceRef,
  part: PartChange<T>,
  options: ApplyOptions,
): Promise<{ service: Service | undefined; changed: boolean }> {
  let live: Service | undefined;
  const applied = await applyWith(
    client,
    ref,
    (before) => {
      live = before;
      if (!before) return undefined;
      const value = part.plan(before);
      if (value === undefined) return undefined;
      return {
        shown: { [part.field]: value },
        traffic: part.traffic(value),
        send: () => part.send(value, before.etag),
      };
    },
    options,
  );
  if (!applied) return { service: live, changed: false };
  const { after, operation } = applied;
  if (operation.error) {
    throw new RunwayError(
      `Cloud Run could not ${part.doing} of ${serviceName(ref)}: ${operation.error.message}`,
      undefined,
    );
  }
  return { service: after, changed: true };
}

/**
 * Moves traffic only (updateMask=traffic), planned from the live service (`targets` may answer
 * undefined: nothing to move).
 */
export function applyTraffic(
  client: CloudRunApi,
  ref: ServiceRef,
  targets: (live: Service) => TrafficTarget[] | undefined,
  options: ApplyOptions,
): Promise<{ service: Service | undefined; changed: boolean }> {
  return applyPart(
    client,
    ref,
    {
      field: 'traffic',
      doing: 'move the traffic',
      plan: targets,
      send: (traffic, etag) => client.updateTraffic(ref, traffic, etag),
      traffic: (traffic) => traffic,
    },
    options,
  );
}

/**
 * Changes service-wide fields only (no template, no traffic), planned from the live service (`plan`
 * may answer undefined: nothing to change).
 */
export function applySettings(
  client: CloudRunApi,
  ref: ServiceRef,
  plan: (live: Service) => { fields: Partial<Service>; mask: string[] } | undefined,
  options: ApplyOptions,
): Promise<{ service: Service | undefined; changed: boolean }> {
  return applyPart(
    client,
    ref,
    {
      field: 'settings',
      doing: "put back the service's settings",
      plan,
      send: ({ fields, mask }, etag) => client.updateSettings(ref, fields, mask, etag),
      traffic: () => undefined,
    },
    options,
  );
}

/**
 * Changes the service's annotations only (updateMask=annotations), planned from the live service
 * (`annotations` may answer undefined: nothing to change). An annotation someone else wrote
 * meanwhile makes the etag refuse the change; it is planned again from a new read and kept.
 */
export function applyAnnotations(
  client: CloudRunApi,
  ref: ServiceRef,
  annotations: (live: Service) => Record<string, string> | undefined,
  options: ApplyOptions,
): Promise<{ service: Service | undefined; changed: boolean }> {
  return applyPart(
    client,
    ref,
    {
      field: 'annotations',
      doing: 'change the annotations',
      plan: annotations,
      send: (next, etag) => client.updateAnnotations(ref, next, etag),
      traffic: () => undefined,
    },
    options,
  );
}

const INVOKER = 'roles/run.invoker';

function invokerBinding(policy: IamPolicy): { role: string; members: string[] } | undefined {
  return policy.bindings?.find((b) => b.role === INVOKER && !b.condition);
}

/**
 * The policy with `allUsers` added to (or taken out of) the invoker binding, every other member and
 * binding as they are; undefined when the policy already is as asked.
 */
export function withPublicAccess(policy: IamPolicy, allow: boolean): IamPolicy | undefined {
  const bindings = (policy.bindings ?? []).map((b) => ({ ...b, members: [...b.members] }));
  const invoker = invokerBinding({ bindings });
  if ((invoker?.members.includes('allUsers') ?? false) === allow) return undefined;
  if (!allow) invoker!.members = invoker!.members.filter((m) => m !== 'allUsers');
  else if (invoker) invoker.members.push('allUsers');
  else bindings.push({ role: INVOKER, members: ['allUsers'] });
  return { ...policy, bindings: bindings.filter((b) => b.members.length > 0) };
}

/**
 * Adds or removes the allUsers invoker binding; a denial fails the run rather than being ignored.
 * `beforeChange` is called just before the policy changes, so the change can be undone. Resolves
 * to whether the policy changed (false: it already was as asked).
 */
export async function applyPublicAccess(
  client: CloudRunApi,
  ref: ServiceRef,
  allowUnauthenticated: boolean,
  identity: string,
  beforeChange: () => void = () => undefined,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      const next = withPublicAccess(await client.getIamPolicy(ref), allowUnauthenticated);
      if (!next) return false;
      beforeChange();
      await client.setIamPolicy(ref, next);
      log.info(
        `${ref.service} in ${ref.region} is now ${allowUnauthenticated ? 'public (allUsers may invoke it)' : 'private'}`,
      );
      return true;
    } catch (err) {
      // Someone else changed the policy since it was read (its etag): read it again, keep theirs.
      if (isPolicyConflict(err) && attempt < MAX_CONFLICT_RETRIES) continue;
      if (err instanceof GoogleApiError && err.httpStatus === 403) {
        throw new RunwayError(
          `${identity} may not change who can invoke ${ref.service} (allow_unauthenticated: ${allowUnauthenticated}): ${err.message}`,
          `Grant roles/run.admin (it includes run.services.setIamPolicy) to ${identity}, or remove \`allow_unauthenticated\` and manage access yourself.`,
          { cause: err },
        );
      }
      throw err;
    }
  }
}

/** setIamPolicy refused on the policy's etag: someone else changed the policy since it was read. */
function isPolicyConflict(err: unknown): boolean {
  return err instanceof GoogleApiError && err.status === 'ABORTED';
}

/**
 * Undoes only Runway's own change to the current policy: `allUsers` taken out of the invoker
 * binding again (or put back), every other member and binding as it is now. A concurrent policy
 * change (409 ABORTED on the etag) means read again and retry. Resolves to whether it changed anything.
 */
export async function revertPublicAccess(
  client: CloudRunApi,
  ref: ServiceRef,
  madePublic: boolean,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    const next = withPublicAccess(await client.getIamPolicy(ref), !madePublic);
    if (!next) return false;
    try {
      await client.setIamPolicy(ref, next);
      return true;
    } catch (err) {
      if (isPolicyConflict(err) && attempt < MAX_CONFLICT_RETRIES) continue;
      throw err;
    }
  }
}

/** Whether anyone may invoke the service without an ID token. */
export async function isPublic(client: CloudRunApi, ref: ServiceRef, service: Service): Promise<boolean> {
  if (service.invokerIamDisabled) return true;
  try {
    const policy = await client.getIamPolicy(ref);
    return invokerBinding(policy)?.members.includes('allUsers') ?? false;
  } catch {
    // Without getIamPolicy, assume private: an ID token works either way.
    return false;
  }
}
