// Checks made before anything changes: every referenced secret version exists and is enabled, and
// Cloud Run accepts the planned spec (validateOnly), which also proves the deployer may act as the
// runtime service account; and, for allow_unauthenticated, that the IAM policy may be set.
import * as core from '@actions/core';
import { RunwayError } from '../errors.js';
import { GoogleApiError } from '../gcp/http.js';
import type { CloudRunClient, ServiceRef } from '../gcp/run.js';
import type { SecretManagerClient } from '../gcp/secrets.js';
import type { Service } from '../gcp/run-types.js';
import type { SecretRef, SecretRefs } from '../inputs/spec.js';

/** What checkSecrets could prove: `unchecked` lists the references the deployer may not look at. */
export interface SecretsCheck {
  checked: string[];
  unchecked: string[];
}

/**
 * Every referenced secret version exists and is enabled. A missing or unusable version fails the run
 * before any change. A 403 does not: deployers commonly hold roles/run.developer or run.admin, which
 * lack secretmanager.versions.get, and Cloud Run checks the runtime account's access again at deploy
 * time — so a denial is a warning naming the role that would enable the check, never a blocked deploy.
 */
export async function checkSecrets(
  secrets: SecretManagerClient,
  project: string,
  refs: SecretRefs | undefined,
  identity: string,
  warn: (message: string) => void = core.warning,
): Promise<SecretsCheck> {
  const all: Array<[string, SecretRef]> = [
    ...Object.entries(refs?.env ?? {}),
    ...Object.entries(refs?.files ?? {}),
  ];
  const result: SecretsCheck = { checked: [], unchecked: [] };
  await Promise.all(
    all.map(async ([where, ref]) => {
      const label = `${ref.secret}:${ref.version} (for ${where})`;
      try {
        const version = await secrets.getVersion(project, ref.secret, ref.version);
        if (version.state !== 'ENABLED') {
          throw new RunwayError(
            `Secret ${label} is ${version.state}: the new revision could not read it.`,
            `Enable the version, or point \`secrets\` at an enabled one (gcloud secrets versions list ${ref.secret}).`,
          );
        }
        result.checked.push(label);
      } catch (err) {
        if (!(err instanceof GoogleApiError)) throw err;
        if (err.httpStatus === 404) {
          throw new RunwayError(
            `Secret ${label} does not exist in project ${project}: ${err.message}`,
            `Create it (gcloud secrets create ${ref.secret} --data-file=-), or fix the name in \`secrets\` — it takes the secret's NAME, not its value.`,
          );
        }
        if (err.httpStatus === 403) {
          result.unchecked.push(label);
          const secretName = ref.secret.split('/').pop() ?? ref.secret;
          const secretProject = /^projects\/([^/]+)\//.exec(ref.secret)?.[1] ?? project;
          warn(
            `Could not check secret ${label} before deploying: ${identity} lacks ${err.permission ?? 'secretmanager.versions.get'} (${err.message}). ` +
              `Cloud Run checks it when it creates the revision. To have Runway check it first, grant roles/secretmanager.viewer:\n` +
              `  gcloud secrets add-iam-policy-binding ${secretName} --project=${secretProject} --role=roles/secretmanager.viewer --member=${memberOf(identity)}`,
          );
          return;
        }
        throw err;
      }
    }),
  );
  return result;
}

/** The IAM member string for an identity as Runway names it (a service account email or a principalSet). */
export function memberOf(identity: string): string {
  if (identity.startsWith('principal://') || identity.startsWith('principalSet://')) return identity;
  if (identity.includes('@')) return `serviceAccount:${identity}`;
  return identity;
}

/** Cloud Run's own dry run of the planned spec: permission and validation errors, with nothing changed. */
export async function validateSpec(
  client: CloudRunClient,
  ref: ServiceRef,
  planned: Service,
  exists: boolean,
): Promise<void> {
  if (exists) await client.updateService(ref, planned, true);
  else await client.createService(ref, planned, true);
}

/** Before changing a live service, make sure its IAM policy may be changed as asked. */
export async function checkCanSetIamPolicy(
  client: CloudRunClient,
  ref: ServiceRef,
  identity: string,
): Promise<void> {
  const granted = await client.testIamPermissions(ref, ['run.services.setIamPolicy']);
  if (!granted.includes('run.services.setIamPolicy')) {
    throw new RunwayError(
      `${identity} may not change who can invoke ${ref.service} (run.services.setIamPolicy), which \`allow_unauthenticated\` needs.`,
      `Grant roles/run.admin to ${identity}, or remove \`allow_unauthenticated\` and manage access yourself. Nothing was deployed.`,
    );
  }
}
