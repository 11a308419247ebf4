// Checks made before anything changes: every referenced secret version exists and is enabled; a
// private service that must be verified can be (an ID token can be minted); Cloud Run accepts the
// planned spec (validateOnly), which also proves the deployer may act as the runtime service
// account; and, for allow_unauthenticated, that the IAM policy may be set. `actAs` on a named
// runtime account is also asked of IAM before the build, so a missing role costs no build.
import * as core from '@actions/core';
import * as log from '../common/log.js';
import { iamMember, type Credentials } from '../auth/credentials.js';
import { RunwayError } from '../errors.js';
import { explainRunError, isPublic } from './apply.js';
import { GoogleApiError } from '../common/http.js';
import { CloudRunClient, type CloudRunApi, type ServiceRef } from '../gcp/run.js';
import type { SecretManagerClient } from '../gcp/secrets.js';
import type { IamClient } from '../gcp/iam.js';
import type { Service } from '../gcp/run-types.js';
import type { Settings } from '../inputs/inputs.js';
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
              `  gcloud secrets add-iam-policy-binding ${secretName} --project=${secretProject} --role=roles/secretmanager.viewer --member=${iamMember(identity)}`,
          );
          return;
        }
        throw err;
      }
    }),
  );
  return result;
}

/**
 * The deployer may deploy revisions that run as the runtime account (iam.serviceAccounts.actAs,
 * from roles/iam.serviceAccountUser). A definite "no" fails the run before the build; when IAM
 * cannot be asked, Cloud Run's dry run checks the same permission before any change.
 */
export async function checkCanActAs(
  iam: Pick<IamClient, 'testServiceAccountPermissions'>,
  runtime: string | undefined,
  identity: string,
  warn: (message: string) => void = core.warning,
): Promise<void> {
  if (!runtime) return;
  let granted: string[];
  try {
    granted = await iam.testServiceAccountPermissions(runtime, ['iam.serviceAccounts.actAs']);
  } catch (err) {
    // Failing open is safe here: the dry run refuses the same missing permission before any change.
    const why = err instanceof Error ? err.message : String(err);
    warn(
      `Could not ask IAM whether ${identity} may act as ${runtime} (${why}); Cloud Run's dry run checks it.`,
    );
    return;
  }
  if (!granted.includes('iam.serviceAccounts.actAs')) {
    throw new RunwayError(
      `${identity} may not deploy revisions that run as ${runtime} (iam.serviceAccounts.actAs, from roles/iam.serviceAccountUser).`,
      `Grant roles/iam.serviceAccountUser on the runtime service account to the deployer:\n  gcloud iam service-accounts add-iam-policy-binding ${runtime} --role=roles/iam.serviceAccountUser --member=${iamMember(identity)}\nNothing was built or deployed.`,
    );
  }
}

/** Cloud Run's own dry run of the planned spec: permission and validation errors, with nothing changed. */
export async function validateSpec(
  client: CloudRunApi,
  ref: ServiceRef,
  planned: Service,
  exists: boolean,
): Promise<void> {
  if (exists) await client.updateService(ref, planned, true);
  else await client.createService(ref, planned, true);
}

/** Before changing a live service, make sure its IAM policy may be changed as asked. */
export async function checkCanSetIamPolicy(
  client: CloudRunApi,
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

/** What a live service looks like to the ID-token check: its URL and whether allUsers may invoke it. */
export interface LiveAccess {
  uri: string | undefined;
  public: boolean;
}

/** The live service's access, or undefined when it does not exist yet. */
export async function liveAccess(client: CloudRunApi, ref: ServiceRef): Promise<LiveAccess | undefined> {
  const service = await client.getService(ref);
  if (!service) return undefined;
  return { uri: service.uri, public: await isPublic(client, ref, service) };
}

/**
 * Whether the service will need an ID token to be health-checked after this run: it is private
 * unless `allow_unauthenticated: true`, or the input is unset and the live service is public.
 * A new service without `allow_unauthenticated` is private.
 */
export function willBePrivate(
  allowUnauthenticated: boolean | undefined,
  live: LiveAccess | undefined,
): boolean {
  if (allowUnauthenticated !== undefined) return !allowUnauthenticated;
  return !(live?.public ?? false);
}

/** Whether checkCanVerifyPrivateService needs the live service (only when allow_unauthenticated is unset). */
export function needsLiveAccess(settings: { allowUnauthenticated: boolean | undefined }): boolean {
  return settings.allowUnauthenticated === undefined;
}

/**
 * Every traffic mode health-checks the new revision, and a private service only answers requests
 * with a Google-signed ID token: a check that cannot be made would be a failed check after the
 * deploy. Proves one can be minted — by minting one — before anything changes, and refuses Direct
 * Workload Identity, which cannot mint any. Resolves to whether it minted one (false: the service
 * is public).
 */
export async function checkCanVerifyPrivateService(
  credentials: Pick<Credentials, 'canMintIdTokens' | 'idTokenUnavailable' | 'idToken'>,
  settings: { service: string; allowUnauthenticated: boolean | undefined },
  live?: LiveAccess,
): Promise<boolean> {
  if (!willBePrivate(settings.allowUnauthenticated, live)) return false;
  if (!credentials.canMintIdTokens) {
    const reason = credentials.idTokenUnavailable;
    throw new RunwayError(
      `${settings.service} is private and Runway health-checks every new revision, but ${reason?.message ?? 'these credentials cannot mint ID tokens.'}`,
      `${reason?.fix ?? 'Set `service_account`, or `allow_unauthenticated: true`.'} Nothing was deployed.`,
    );
  }
  // A probe for the live URL (a new service has none yet): the audience does not change who may mint.
  await credentials.idToken(live?.uri ?? `https://${settings.service}.run.app`);
  return true;
}

/** A private service's health checks need an ID token: mint one now, before anything changes. */
export async function checkIdTokens(
  settings: Settings,
  credentials: Credentials,
  project: string,
): Promise<void> {
  const client = new CloudRunClient(credentials.accessToken);
  const check = { service: settings.service, allowUnauthenticated: settings.spec.allowUnauthenticated };
  const minted = await Promise.all(
    settings.regions.map(async (region) => {
      const ref = { project, region, service: settings.service };
      const live = needsLiveAccess(check)
        ? await liveAccess(client, ref).catch((err: unknown) => {
            throw explainRunError(err, ref, credentials.identity);
          })
        : undefined;
      return checkCanVerifyPrivateService(credentials, check, live);
    }),
  );
  if (minted.some(Boolean))
    log.info(`ID tokens: ${credentials.identity} can mint them for health checks of the private service`);
}
