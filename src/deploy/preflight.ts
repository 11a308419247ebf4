// Checks made before anything changes: every referenced secret version exists and is enabled, and
// the runtime service account may read it (its policy says so, where the deployer may see it); a
// private service that must be verified can be (an ID token can be minted); Cloud Run accepts the
// planned spec (validateOnly), which also proves the deployer may act as the runtime service
// account; and, for allow_unauthenticated, that the IAM policy may be set. `actAs` on a named
// runtime account is also asked of IAM before the build, so a missing role costs no build. A job (or
// `release_command`'s job) needs the run.jobs.* permissions of roles/run.developer: asked of IAM
// before the build too, every missing one named at once.
import * as core from '@actions/core';
import * as log from '../common/log.js';
import { iamMember, type Credentials } from '../auth/credentials.js';
import { RunwayError } from '../errors.js';
import { explainRunError, isPublic } from './apply.js';
import { releaseJobName } from './job.js';
import { GoogleApiError } from '../common/http.js';
import { CloudRunClient, type CloudRunApi, type JobRef, type ServiceRef } from '../gcp/run.js';
import { ProjectsClient } from '../gcp/projects.js';
import { secretAccessIn, type IamPolicy } from '../gcp/policy.js';
import type { SecretManagerClient } from '../gcp/secrets.js';
import type { IamClient } from '../gcp/iam.js';
import type { Service } from '../gcp/run-types.js';
import type { Settings } from '../inputs/inputs.js';
import type { JobExecute, SecretRef, SecretRefs } from '../inputs/spec.js';

/**
 * What checkSecrets could prove: `unchecked` lists the references the deployer may not look at;
 * `readable`, the secrets (as named) whose versions it saw.
 */
export interface SecretsCheck {
  checked: string[];
  unchecked: string[];
  readable: string[];
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
  const result: SecretsCheck = { checked: [], unchecked: [], readable: [] };
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
        if (!result.readable.includes(ref.secret)) result.readable.push(ref.secret);
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
              `Cloud Run checks it, and whether the runtime service account may read it, when it creates the revision. ` +
              `roles/secretmanager.viewer is optional; to have Runway check both before any change, grant it:\n` +
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

/** The deployer may not read a policy: Secret Manager's and Resource Manager's 403s. */
function isDenied(err: unknown): err is GoogleApiError {
  return err instanceof GoogleApiError && err.httpStatus === 403;
}

/** What checkRuntimeSecretAccess reads with the deployer's credentials. */
export interface SecretAccessDeps {
  secrets: Pick<SecretManagerClient, 'getIamPolicy'>;
  projects: Pick<ProjectsClient, 'getIamPolicy'>;
}

/**
 * The accounts the new revisions will run as: `runtime_service_account` when set; otherwise each
 * region's live one, or the project's default compute account (PROJECT_NUMBER-compute@…) where
 * none is set. An account that cannot be learned is left out, with a warning.
 */
export async function runtimeAccounts(
  runtime: string | undefined,
  regions: string[],
  liveAccount: (region: string) => Promise<string | undefined>,
  projectNumber: () => Promise<string>,
  warn: (message: string) => void = core.warning,
): Promise<string[]> {
  if (runtime) return [runtime];
  const named = await Promise.all(regions.map(liveAccount));
  const accounts = new Set(named.filter((a): a is string => Boolean(a)));
  if (named.some((a) => !a)) {
    try {
      accounts.add(`${await projectNumber()}-compute@developer.gserviceaccount.com`);
    } catch (err) {
      if (!(err instanceof GoogleApiError)) throw err;
      warn(
        `Could not learn the project's number, which names the default compute service account the service runs as (${err.message}); ` +
          `Cloud Run checks that it may read the secrets when it creates the revision. Set \`runtime_service_account\` to have Runway check it first.`,
      );
    }
  }
  return [...accounts];
}

/**
 * The runtime account may read each secret (secretmanager.versions.access), which real Cloud Run
 * only checks when it creates the revision ("Permission denied on secret"). Read with the
 * deployer's optional roles/secretmanager.viewer: the secret's policy, then its project's. Refused
 * before any change when the secret's policy was read and grants nothing, and the project's policy
 * grants nothing either or cannot be read. A binding that may grant but cannot be evaluated
 * (group, domain, principal set, custom role, condition) passes, with a notice; a secret policy the
 * deployer may not read is a warning, as Cloud Run still checks.
 */
export async function checkRuntimeSecretAccess(
  deps: SecretAccessDeps,
  project: string,
  secrets: string[],
  accounts: string[],
  identity: string,
  warn: (message: string) => void = core.warning,
  notice: (message: string) => void = log.info,
): Promise<void> {
  const projectPolicies = new Map<string, Promise<IamPolicy | undefined>>();
  const projectPolicy = (id: string): Promise<IamPolicy | undefined> => {
    let read = projectPolicies.get(id);
    if (!read) {
      read = deps.projects.getIamPolicy(id).catch((err: unknown) => {
        if (isDenied(err)) return undefined;
        throw err;
      });
      projectPolicies.set(id, read);
    }
    return read;
  };
  const refusals: string[] = [];
  const fixes: string[] = [];
  let unseenProjects = false;
  await Promise.all(
    [...new Set(secrets)].map(async (secret) => {
      const name = secret.split('/').pop() ?? secret;
      const secretProject = /^projects\/([^/]+)\//.exec(secret)?.[1] ?? project;
      let policy: IamPolicy;
      try {
        policy = await deps.secrets.getIamPolicy(project, secret);
      } catch (err) {
        if (!isDenied(err)) throw err;
        warn(
          `Could not check that ${accounts.join(' and ')} may read secret ${name}: ${identity} lacks ${err.permission ?? 'secretmanager.secrets.getIamPolicy'} (${err.message}). ` +
            `Cloud Run checks it when it creates the revision. roles/secretmanager.viewer is optional; to have Runway check it before any change, grant it:\n` +
            `  gcloud secrets add-iam-policy-binding ${name} --project=${secretProject} --role=roles/secretmanager.viewer --member=${iamMember(identity)}`,
        );
        return;
      }
      for (const account of accounts) {
        let access = secretAccessIn(policy, account);
        let where = `secret ${name}`;
        let seenProject = true;
        if (access.kind === 'none') {
          const onProject = await projectPolicy(secretProject);
          seenProject = onProject !== undefined;
          if (onProject) {
            access = secretAccessIn(onProject, account);
            where = `project ${secretProject}`;
          }
        }
        if (access.kind === 'granted') {
          log.info(`secrets: ${account} may read ${name} (${access.role} for ${access.member} on ${where})`);
        } else if (access.kind === 'possible') {
          notice(
            `secrets: ${account} may read ${name} through ${access.role} for ${access.member} on ${where} (${access.why}), which Runway cannot evaluate; Cloud Run checks it when it creates the revision`,
          );
        } else {
          unseenProjects ||= !seenProject;
          refusals.push(
            `The runtime service account ${account} may not read secret ${name}: neither the secret's IAM policy nor ` +
              (seenProject
                ? `project ${secretProject}'s grants it roles/secretmanager.secretAccessor.`
                : `any policy ${identity} may read grants it roles/secretmanager.secretAccessor (a project-level grant cannot be seen: ${identity} may not read project ${secretProject}'s IAM policy).`),
          );
          fixes.push(
            `  gcloud secrets add-iam-policy-binding ${name} --project=${secretProject} --role=roles/secretmanager.secretAccessor --member=serviceAccount:${account}`,
          );
        }
      }
    }),
  );
  if (!refusals.length) return;
  throw new RunwayError(
    `${refusals.join('\n')}\nCloud Run would refuse the new revision ("Permission denied on secret").`,
    `Grant roles/secretmanager.secretAccessor on the secret to the runtime service account (the least-privilege fix):\n${fixes.join('\n')}\n` +
      (unseenProjects
        ? 'A grant on the project, a folder or the organization is invisible to the deployer; granting on the secret as well lets Runway see it. '
        : 'A grant on a folder or the organization is invisible to the deployer; granting on the secret as well lets Runway see it. ') +
      'Nothing was built or deployed.',
  );
}

/** The runtime accounts of the new revisions may read `readable`, the secrets whose versions preflight saw. */
export async function checkSecretReaders(
  settings: Settings,
  credentials: Credentials,
  project: string,
  secrets: SecretManagerClient,
  readable: string[],
): Promise<void> {
  if (!readable.length) return;
  const projects = new ProjectsClient(credentials.accessToken);
  const run = new CloudRunClient(credentials.accessToken);
  const accounts = await runtimeAccounts(
    settings.spec.runtimeServiceAccount,
    settings.regions,
    async (region) => {
      // A job's tasks run as its execution template's account, a service's revisions as theirs.
      const job = settings.job;
      if (job)
        return (await run.getJob({ project, region, job: job.name }))?.template?.template?.serviceAccount;
      const ref = { project, region, service: settings.service };
      const live = await run.getService(ref).catch((err: unknown) => {
        throw explainRunError(err, ref, credentials.identity);
      });
      return live?.template?.serviceAccount;
    },
    () => projects.projectNumber(project),
  );
  if (!accounts.length) return;
  await checkRuntimeSecretAccess({ secrets, projects }, project, readable, accounts, credentials.identity);
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
  // With the invoker IAM check off, anyone may invoke the service: its checks need no token.
  const check = {
    service: settings.service,
    allowUnauthenticated: settings.spec.invokerIamDisabled || settings.spec.allowUnauthenticated,
  };
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

/**
 * What a deployer needs for `source` (Cloud Run's "Deploy from source" permissions): submit the
 * build, read it, and use the source bucket. roles/run.sourceDeveloper holds them all.
 */
export const SOURCE_DEPLOY_PERMISSIONS = [
  'run.builds.create',
  'cloudbuild.builds.get',
  'storage.buckets.get',
  'storage.buckets.create',
  'storage.buckets.list',
  'storage.objects.create',
];

/** Using the project's enabled services (roles/serviceusage.serviceUsageConsumer), which Cloud Run's "Deploy from source" roles list for the deployer. */
const SERVICE_USAGE_USE = 'serviceusage.services.use';

/**
 * `source`: before anything is packed or uploaded, the deployer's project permissions for a build
 * on Google, and `actAs` on the account the build runs as (the project's default compute account).
 * A definite "no" names the role to grant; nothing has been uploaded yet.
 */
export async function checkSourceDeploy(
  projects: Pick<ProjectsClient, 'testIamPermissions'>,
  iam: Pick<IamClient, 'testServiceAccountPermissions'>,
  project: string,
  buildServiceAccount: string,
  identity: string,
): Promise<void> {
  const granted = new Set(
    await projects.testIamPermissions(project, [...SOURCE_DEPLOY_PERMISSIONS, SERVICE_USAGE_USE]),
  );
  const missing = SOURCE_DEPLOY_PERMISSIONS.filter((p) => !granted.has(p));
  if (missing.length)
    throw new RunwayError(
      `${identity} may not build from source in project ${project}: it lacks ${missing.join(', ')} (roles/run.sourceDeveloper holds them).`,
      `Grant roles/run.sourceDeveloper to the deployer:\n  gcloud projects add-iam-policy-binding ${project} --role=roles/run.sourceDeveloper --member=${iamMember(identity)}\nNothing was uploaded or deployed.`,
    );
  if (!granted.has(SERVICE_USAGE_USE))
    throw new RunwayError(
      `${identity} may not build from source in project ${project}: it lacks ${SERVICE_USAGE_USE} (roles/serviceusage.serviceUsageConsumer holds it), which Cloud Run's deploy from source asks of the deployer.`,
      `Grant roles/serviceusage.serviceUsageConsumer to the deployer:\n  gcloud projects add-iam-policy-binding ${project} --role=roles/serviceusage.serviceUsageConsumer --member=${iamMember(identity)}\nNothing was uploaded or deployed.`,
    );
  const acting = await iam.testServiceAccountPermissions(buildServiceAccount, ['iam.serviceAccounts.actAs']);
  if (!acting.includes('iam.serviceAccounts.actAs'))
    throw new RunwayError(
      `${identity} may not start builds that run as ${buildServiceAccount} (iam.serviceAccounts.actAs, from roles/iam.serviceAccountUser).`,
      `Grant roles/iam.serviceAccountUser on the build service account to the deployer, and roles/run.builder to that account:\n  gcloud iam service-accounts add-iam-policy-binding ${buildServiceAccount} --role=roles/iam.serviceAccountUser --member=${iamMember(identity)}\n  gcloud projects add-iam-policy-binding ${project} --role=roles/run.builder --member=serviceAccount:${buildServiceAccount}\nNothing was uploaded or deployed.`,
    );
}

/** What deploying a job needs, and executing it as `execute` says: all held by roles/run.developer. */
export function jobPermissions(execute: JobExecute): string[] {
  return [
    'run.jobs.get',
    'run.jobs.create',
    'run.jobs.update',
    ...(execute === 'none' ? [] : ['run.jobs.run']),
    ...(execute === 'wait' ? ['run.executions.get'] : []),
  ];
}

/**
 * Held on the project only: every change and execution is a long-running operation, a resource of
 * the location, not of the job, so a grant on the job alone never reaches it.
 */
export const JOB_PROJECT_PERMISSIONS = ['run.operations.get'];

/** What checkCanDeployJob asks: IAM on the project, and Cloud Run on each job. */
export interface JobPermissionDeps {
  projects: Pick<ProjectsClient, 'testIamPermissions'>;
  run: Pick<CloudRunClient, 'testJobPermissions'>;
}

/**
 * The deployer holds every permission the job's deploy and execution need, in every region: the
 * project's answer (a grant on the project, or inherited) together with Cloud Run's for the job
 * (a grant on the job itself). Every missing permission is named at once, before the build. When
 * neither can be asked, a warning: Cloud Run refuses the same missing permission before any change.
 */
export async function checkCanDeployJob(
  deps: JobPermissionDeps,
  refs: JobRef[],
  execute: JobExecute,
  identity: string,
  warn: (message: string) => void = core.warning,
): Promise<void> {
  const first = refs[0];
  if (!first) return;
  const onJob = jobPermissions(execute);
  const needed = [...onJob, ...JOB_PROJECT_PERMISSIONS];
  const asked: string[] = [];
  const onProject = await deps.projects.testIamPermissions(first.project, needed).catch((err: unknown) => {
    asked.push(`project ${first.project}: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  });
  const perJob = await Promise.all(
    refs.map((ref) =>
      // A job that does not exist yet has no policy of its own: the project's answer stands.
      deps.run.testJobPermissions(ref, onJob).catch(() => undefined),
    ),
  );
  if (onProject === undefined && perJob.every((granted) => granted === undefined)) {
    warn(
      `Could not ask IAM whether ${identity} may deploy and execute the job (${asked.join('; ')}); Cloud Run checks it before any change.`,
    );
    return;
  }
  const missing = new Set<string>();
  const where = new Set<string>();
  refs.forEach((ref, i) => {
    const held = new Set([...(onProject ?? []), ...(perJob[i] ?? [])]);
    // What only the project can grant is unknown when the project could not be asked: Cloud Run checks it.
    const lacking = (onProject ? needed : onJob).filter((p) => !held.has(p));
    for (const p of lacking) missing.add(p);
    if (lacking.length) where.add(`${ref.job} in ${ref.region}`);
  });
  if (!missing.size) return;
  throw new RunwayError(
    `${identity} may not deploy and execute job ${[...where].join(', ')}: it lacks ${[...missing].join(', ')}.`,
    `Grant roles/run.developer (it holds ${needed.join(', ')}) to the deployer:\n  gcloud projects add-iam-policy-binding ${first.project} --role=roles/run.developer --member=${iamMember(identity)}\nNothing was built or deployed.`,
  );
}

/** Before the build: the job deploy's (or `release_command`'s) run.jobs.* permissions, if it has a job. */
export async function checkJobPermissions(
  settings: Settings,
  credentials: Credentials,
  project: string,
): Promise<void> {
  const job = settings.job;
  const refs = job
    ? settings.regions.map((region) => ({ project, region, job: job.name }))
    : settings.release
      ? [{ project, region: settings.regions[0]!, job: releaseJobName(settings.service) }]
      : [];
  if (!refs.length) return;
  const deps = {
    projects: new ProjectsClient(credentials.accessToken),
    run: new CloudRunClient(credentials.accessToken),
  };
  await checkCanDeployJob(deps, refs, job ? job.execute : 'wait', credentials.identity);
  log.info(`jobs: ${credentials.identity} may deploy and execute ${refs.map((r) => r.job).join(', ')}`);
}
