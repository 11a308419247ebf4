// Checks made before anything changes: every referenced secret version exists and is enabled, and
// Cloud Run accepts the planned spec (validateOnly), which also proves the deployer may act as the
// runtime service account; and, for allow_unauthenticated, that the IAM policy may be set.
import { RunwayError } from '../errors.js';
import { GoogleApiError } from '../gcp/http.js';
import type { CloudRunClient, ServiceRef } from '../gcp/run.js';
import type { SecretManagerClient } from '../gcp/secrets.js';
import type { Service } from '../gcp/run-types.js';
import type { SecretRef, SecretRefs } from '../inputs/spec.js';

export async function checkSecrets(
  secrets: SecretManagerClient,
  project: string,
  refs: SecretRefs | undefined,
  identity: string,
): Promise<void> {
  const all: Array<[string, SecretRef]> = [
    ...Object.entries(refs?.env ?? {}),
    ...Object.entries(refs?.files ?? {}),
  ];
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
      } catch (err) {
        if (!(err instanceof GoogleApiError)) throw err;
        if (err.httpStatus === 404) {
          throw new RunwayError(
            `Secret ${label} does not exist in project ${project}: ${err.message}`,
            `Create it (gcloud secrets create ${ref.secret} --data-file=-), or fix the name in \`secrets\` — it takes the secret's NAME, not its value.`,
          );
        }
        if (err.httpStatus === 403) {
          throw new RunwayError(
            `${identity} may not see secret ${label}: ${err.message}`,
            `Grant roles/secretmanager.viewer on the secret (or project) to the deployer so Runway can check it before deploying; the runtime service account needs roles/secretmanager.secretAccessor.`,
          );
        }
        throw err;
      }
    }),
  );
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
