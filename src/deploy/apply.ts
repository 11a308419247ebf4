// Applying planned specs: create or update the service guarded by its etag (a concurrent change
// means re-read and re-plan, never clobber), then wait for Cloud Run's operation with
// operations.wait. Also the IAM change for allow_unauthenticated.
import * as core from '@actions/core';
import { RunwayError } from '../errors.js';
import { GoogleApiError } from '../gcp/http.js';
import { CloudRunClient, serviceName, type ServiceRef } from '../gcp/run.js';
import type { Operation, Service } from '../gcp/run-types.js';

export interface AppliedChange {
  /** The service as it was just before this change (undefined: it did not exist). */
  before: Service | undefined;
  /** The service after the operation finished. */
  after: Service;
  operation: Operation;
}

const MAX_CONFLICT_RETRIES = 3;

/** A 409 that means "someone else changed it first": re-read, re-plan, try again. */
function isConflict(err: unknown, existed: boolean): boolean {
  if (!(err instanceof GoogleApiError) || err.httpStatus !== 409) return false;
  if (/Revision named/.test(err.message)) return false;
  return err.status === 'ABORTED' || (err.status === 'ALREADY_EXISTS' && !existed);
}

export function explainRunError(err: unknown, ref: ServiceRef, identity: string): unknown {
  if (!(err instanceof GoogleApiError)) return err;
  const member = identity.includes('@') ? `serviceAccount:${identity}` : identity;
  if (err.httpStatus === 403) {
    const permission = err.permission ?? /Permission '([^']+)'/.exec(err.message)?.[1];
    if (permission && /actAs/i.test(permission)) {
      const runtime =
        /service account (\S+@\S+\.gserviceaccount\.com)/.exec(err.message)?.[1] ?? 'RUNTIME_SERVICE_ACCOUNT';
      return new RunwayError(
        `${identity} may not deploy revisions that run as ${runtime} (iam.serviceAccounts.actAs): ${err.message}`,
        `Grant roles/iam.serviceAccountUser on the runtime service account to the deployer:\n  gcloud iam service-accounts add-iam-policy-binding ${runtime} --role=roles/iam.serviceAccountUser --member=${member}`,
        { cause: err },
      );
    }
    return new RunwayError(
      `Cloud Run denied ${permission ?? 'the request'} to ${identity} on ${serviceName(ref)}: ${err.message}`,
      `Grant roles/run.developer (roles/run.admin to also set IAM policies) to the deployer:\n  gcloud projects add-iam-policy-binding ${ref.project} --role=roles/run.developer --member=${member}`,
      { cause: err },
    );
  }
  if (err.httpStatus === 409 && /Revision named/.test(err.message)) {
    return new RunwayError(
      `Cloud Run refused the revision name: ${err.message}`,
      'Use a new `suffix` for every deploy that changes the service (or leave it empty).',
      {
        cause: err,
      },
    );
  }
  return new RunwayError(
    `Cloud Run rejected the request for ${serviceName(ref)}: ${err.message}`,
    undefined,
    { cause: err },
  );
}

/**
 * Reads the service, builds the next spec from it, sends it, and waits for the operation.
 * `build` is called again with the fresh service whenever the etag shows a concurrent change.
 */
export async function applyChange(
  client: CloudRunClient,
  ref: ServiceRef,
  build: (live: Service | undefined) => Service,
  deadline: number,
): Promise<AppliedChange> {
  for (let attempt = 1; ; attempt++) {
    const before = await client.getService(ref);
    const planned = build(before);
    core.debug(`spec for ${serviceName(ref)}: ${JSON.stringify(planned)}`);
    let operation: Operation;
    try {
      operation = before
        ? await client.updateService(ref, planned)
        : await client.createService(ref, planned);
    } catch (err) {
      if (isConflict(err, before !== undefined) && attempt < MAX_CONFLICT_RETRIES) {
        core.warning(
          `${serviceName(ref)} changed while Runway was deploying (${(err as Error).message}); re-reading it and planning again.`,
        );
        continue;
      }
      throw err;
    }
    const done = await client.waitOperation(operation, deadline);
    if (!done.done) {
      throw new RunwayError(
        `Cloud Run did not finish updating ${serviceName(ref)} within deploy_timeout.`,
        'Raise `deploy_timeout`; a slow-starting container may also need a longer startup probe.',
      );
    }
    const after = (await client.getService(ref)) ?? done.response;
    if (!after) throw new RunwayError(`${serviceName(ref)} disappeared while Runway was deploying it.`);
    return { before, after, operation: done };
  }
}

const INVOKER = 'roles/run.invoker';

/** Adds or removes the allUsers invoker binding; a denial fails the run rather than being ignored. */
export async function applyPublicAccess(
  client: CloudRunClient,
  ref: ServiceRef,
  allowUnauthenticated: boolean,
  identity: string,
): Promise<void> {
  try {
    const policy = await client.getIamPolicy(ref);
    const bindings = (policy.bindings ?? []).map((b) => ({ ...b, members: [...b.members] }));
    const invoker = bindings.find((b) => b.role === INVOKER && !b.condition);
    const isPublic = invoker?.members.includes('allUsers') ?? false;
    if (isPublic === allowUnauthenticated) return;
    if (allowUnauthenticated) {
      if (invoker) invoker.members.push('allUsers');
      else bindings.push({ role: INVOKER, members: ['allUsers'] });
    } else if (invoker) {
      invoker.members = invoker.members.filter((m) => m !== 'allUsers');
    }
    await client.setIamPolicy(ref, { ...policy, bindings: bindings.filter((b) => b.members.length > 0) });
    core.info(
      `${ref.service} in ${ref.region} is now ${allowUnauthenticated ? 'public (allUsers may invoke it)' : 'private'}`,
    );
  } catch (err) {
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

/** Whether anyone may invoke the service without an ID token. */
export async function isPublic(client: CloudRunClient, ref: ServiceRef, service: Service): Promise<boolean> {
  if (service.invokerIamDisabled) return true;
  try {
    const policy = await client.getIamPolicy(ref);
    return (policy.bindings ?? []).some((b) => b.role === INVOKER && b.members.includes('allUsers'));
  } catch {
    // Without getIamPolicy, assume private: an ID token works either way.
    return false;
  }
}
