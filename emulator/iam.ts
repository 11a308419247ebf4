// Who may do what: principals, the members they match, the roles the emulator knows, and the
// permission check every emulated API calls before it acts.

import { createHash } from 'node:crypto';
import { GoogleApiError, badField } from './errors.js';

export type Principal =
  | { kind: 'serviceAccount'; email: string }
  | {
      kind: 'federated';
      /** projects/NUM/locations/global/workloadIdentityPools/POOL */
      pool: string;
      subject: string;
      attributes: Record<string, string>;
    }
  | { kind: 'user'; email: string }
  | { kind: 'anonymous' };

export function describePrincipal(p: Principal): string {
  switch (p.kind) {
    case 'serviceAccount':
      return `serviceAccount:${p.email}`;
    case 'federated':
      return `principal://iam.googleapis.com/${p.pool}/subject/${p.subject}`;
    case 'user':
      return `user:${p.email}`;
    case 'anonymous':
      return 'allUsers';
  }
}

/** Every IAM member string that matches this principal. */
export function membersOf(p: Principal): string[] {
  switch (p.kind) {
    case 'serviceAccount':
      return [`serviceAccount:${p.email}`, 'allAuthenticatedUsers', 'allUsers'];
    case 'user':
      return [`user:${p.email}`, 'allAuthenticatedUsers', 'allUsers'];
    case 'anonymous':
      return ['allUsers'];
    case 'federated': {
      const base = `iam.googleapis.com/${p.pool}`;
      return [
        `principal://${base}/subject/${p.subject}`,
        `principalSet://${base}/*`,
        ...Object.entries(p.attributes).map(([k, v]) => `principalSet://${base}/attribute.${k}/${v}`),
        'allAuthenticatedUsers',
        'allUsers',
      ];
    }
  }
}

/**
 * What Cloud Run's roles hold besides run.*: gcloud asks Service Usage whether the API is enabled
 * before it deploys, and the Cloud Run roles carry the permission to read that (Cloud Run and
 * Service Usage roles pages).
 */
const SERVICE_USAGE_READ = [
  'serviceusage.services.get',
  'serviceusage.services.list',
  'serviceusage.quotas.get',
];

/** What most predefined roles also hold (each role's page): seeing the project they are granted in. */
const PROJECT_READ = ['resourcemanager.projects.get', 'resourcemanager.projects.list'];

/**
 * Reading log entries: roles/logging.viewer holds it, and so do the basic roles (Logging's access
 * control page, https://cloud.google.com/logging/docs/access-control); Cloud Run's roles do not.
 */
const LOG_READ = ['logging.logEntries.list', 'logging.logs.list', 'logging.logServices.list'];

/**
 * What the Cloud Run roles grant on jobs, as Google's list of them says
 * (docs.cloud.google.com/iam/docs/roles-permissions/run): the developer manages jobs and reads
 * and cancels their executions and tasks; the viewer reads them; the invoker executes a job, with
 * overrides too, but reads nothing.
 */
const RUN_JOBS_DEVELOPER = [
  'run.jobs.create',
  'run.jobs.delete',
  'run.jobs.get',
  'run.jobs.getIamPolicy',
  'run.jobs.list',
  'run.jobs.run',
  'run.jobs.runWithOverrides',
  'run.jobs.update',
  'run.executions.*',
  'run.tasks.*',
];
const RUN_JOBS_VIEWER = [
  'run.jobs.get',
  'run.jobs.list',
  'run.executions.get',
  'run.executions.list',
  'run.tasks.get',
  'run.tasks.list',
];

/** The predefined roles the emulator understands, by the permissions they grant. */
export const ROLES: Record<string, string[]> = {
  'roles/owner': ['*'],
  'roles/editor': [
    'run.*',
    // Secret Manager's metadata and versions, but not their payloads (versions.access) nor who may
    // read them (secrets.setIamPolicy): Owner, Secret Manager Admin and Secret Accessor hold those.
    'secretmanager.locations.*',
    'secretmanager.secrets.create',
    'secretmanager.secrets.delete',
    'secretmanager.secrets.get',
    'secretmanager.secrets.list',
    'secretmanager.secrets.update',
    'secretmanager.versions.add',
    'secretmanager.versions.destroy',
    'secretmanager.versions.disable',
    'secretmanager.versions.enable',
    'secretmanager.versions.get',
    'secretmanager.versions.list',
    'artifactregistry.*',
    'serviceusage.*',
    'iam.serviceAccounts.actAs',
    'logging.*',
    'storage.*',
    'cloudbuild.*',
  ],
  // Only the reads the emulated APIs serve.
  'roles/viewer': [
    'run.services.get',
    'run.services.list',
    'run.revisions.get',
    'run.revisions.list',
    'cloudbuild.builds.get',
    'cloudbuild.builds.list',
    ...SERVICE_USAGE_READ,
    ...LOG_READ,
    ...PROJECT_READ,
  ],
  'roles/logging.viewer': [...LOG_READ, ...PROJECT_READ],
  'roles/run.admin': ['run.*', ...SERVICE_USAGE_READ, ...PROJECT_READ],
  'roles/run.developer': [
    ...PROJECT_READ,
    'run.services.get',
    'run.services.list',
    'run.services.create',
    'run.services.update',
    'run.services.delete',
    'run.services.getIamPolicy',
    'run.revisions.*',
    'run.operations.*',
    'run.routes.*',
    'run.configurations.*',
    'run.builds.create',
    ...RUN_JOBS_DEVELOPER,
    ...SERVICE_USAGE_READ,
  ],
  'roles/run.viewer': [
    'run.services.get',
    'run.services.list',
    'run.revisions.get',
    'run.revisions.list',
    'run.operations.get',
    'run.routes.get',
    'run.routes.list',
    'run.configurations.get',
    'run.configurations.list',
    ...RUN_JOBS_VIEWER,
    ...SERVICE_USAGE_READ,
  ],
  // Deploying from source (Cloud Run's roles page): the developer's rights on services, submitting
  // builds and reading them, and the source bucket's objects, as `gcloud run deploy --source` needs.
  'roles/run.sourceDeveloper': [
    ...PROJECT_READ,
    'run.services.get',
    'run.services.list',
    'run.services.create',
    'run.services.update',
    'run.revisions.get',
    'run.revisions.list',
    'run.operations.get',
    'run.builds.create',
    'cloudbuild.builds.get',
    'cloudbuild.builds.list',
    'storage.buckets.create',
    'storage.buckets.get',
    'storage.buckets.list',
    'storage.objects.create',
    'storage.objects.get',
    'storage.objects.list',
    'storage.objects.delete',
    'artifactregistry.repositories.get',
    'artifactregistry.repositories.list',
    // gcloud creates the cloud-run-source-deploy repository on a first source deploy.
    'artifactregistry.repositories.create',
    ...SERVICE_USAGE_READ,
  ],
  // What a build's service account needs: read the source, push the image, write the build's logs.
  'roles/run.builder': [
    'storage.buckets.get',
    'storage.objects.get',
    'storage.objects.list',
    'artifactregistry.repositories.get',
    'artifactregistry.repositories.downloadArtifacts',
    'artifactregistry.repositories.uploadArtifacts',
    'logging.logEntries.create',
  ],
  'roles/storage.admin': ['storage.*'],
  'roles/storage.objectAdmin': ['storage.objects.*'],
  'roles/storage.objectViewer': ['storage.objects.get', 'storage.objects.list'],
  'roles/cloudbuild.builds.viewer': ['cloudbuild.builds.get', 'cloudbuild.builds.list'],
  'roles/cloudbuild.builds.editor': ['cloudbuild.builds.*'],
  // The Cloud Build Service Account role, what gcloud builds submit's guides grant a build's account:
  // read the staged source and write logs there, push images, write Cloud Logging.
  'roles/cloudbuild.builds.builder': [
    'cloudbuild.builds.create',
    'cloudbuild.builds.get',
    'cloudbuild.builds.list',
    'cloudbuild.builds.update',
    'cloudbuild.workerpools.use',
    'storage.buckets.create',
    'storage.buckets.get',
    'storage.buckets.list',
    'storage.objects.create',
    'storage.objects.delete',
    'storage.objects.get',
    'storage.objects.list',
    'storage.objects.update',
    'artifactregistry.repositories.get',
    'artifactregistry.repositories.downloadArtifacts',
    'artifactregistry.repositories.uploadArtifacts',
    'logging.logEntries.create',
  ],
  // Running builds in a private pool of the project (granted to Cloud Run's service agent there).
  'roles/cloudbuild.workerPoolUser': ['cloudbuild.workerpools.use'],
  'roles/run.invoker': ['run.routes.invoke', 'run.jobs.run', 'run.jobs.runWithOverrides'],
  // Granted to Cloud Run's service agent when the Run API is enabled: it pulls images for revisions.
  'roles/run.serviceAgent': [
    'artifactregistry.repositories.downloadArtifacts',
    'iam.serviceAccounts.getAccessToken',
  ],
  'roles/iam.serviceAccountUser': ['iam.serviceAccounts.actAs', 'iam.serviceAccounts.get'],
  'roles/iam.workloadIdentityUser': [
    'iam.serviceAccounts.getAccessToken',
    'iam.serviceAccounts.getOpenIdToken',
    'iam.serviceAccounts.get',
  ],
  'roles/iam.serviceAccountTokenCreator': [
    'iam.serviceAccounts.getAccessToken',
    'iam.serviceAccounts.getOpenIdToken',
    'iam.serviceAccounts.signBlob',
    'iam.serviceAccounts.signJwt',
  ],
  'roles/iam.serviceAccountOpenIdTokenCreator': ['iam.serviceAccounts.getOpenIdToken'],
  // Secret Manager's roles, as its access-control page lists them.
  'roles/secretmanager.secretAccessor': [...PROJECT_READ, 'secretmanager.versions.access'],
  'roles/secretmanager.viewer': [
    ...PROJECT_READ,
    'secretmanager.locations.*',
    'secretmanager.secrets.get',
    'secretmanager.secrets.getIamPolicy',
    'secretmanager.secrets.list',
    'secretmanager.versions.get',
    'secretmanager.versions.list',
  ],
  'roles/secretmanager.admin': [...PROJECT_READ, 'secretmanager.*'],
  'roles/artifactregistry.reader': [
    'artifactregistry.repositories.get',
    'artifactregistry.repositories.list',
    'artifactregistry.repositories.downloadArtifacts',
  ],
  'roles/artifactregistry.writer': [
    'artifactregistry.repositories.get',
    'artifactregistry.repositories.list',
    'artifactregistry.repositories.downloadArtifacts',
    'artifactregistry.repositories.uploadArtifacts',
  ],
  'roles/artifactregistry.admin': ['artifactregistry.*'],
  'roles/iam.serviceAccountAdmin': ['iam.serviceAccounts.*'],
  'roles/iam.workloadIdentityPoolAdmin': [
    'iam.workloadIdentityPools.*',
    'iam.workloadIdentityPoolProviders.*',
  ],
  'roles/resourcemanager.projectIamAdmin': [
    'resourcemanager.projects.get',
    'resourcemanager.projects.getIamPolicy',
    'resourcemanager.projects.setIamPolicy',
  ],
  'roles/serviceusage.serviceUsageConsumer': [...SERVICE_USAGE_READ, 'serviceusage.services.use'],
  'roles/serviceusage.serviceUsageViewer': SERVICE_USAGE_READ,
};

export function roleGrants(role: string, permission: string): boolean {
  const granted = ROLES[role];
  if (!granted) return false;
  return granted.some(
    (g) => g === '*' || g === permission || (g.endsWith('.*') && permission.startsWith(g.slice(0, -1))),
  );
}

export interface Binding {
  role: string;
  members: string[];
}

/**
 * A setIamPolicy whose etag is not the policy's current one is a concurrent change (409 ABORTED).
 * An etag is a `bytes` field, base64 in JSON, and proto JSON accepts either alphabet: gcloud
 * (apitools) decodes the etag it read and sends it back URL-safe (`/wBp…` as `_wBp…`), so the
 * bytes are compared, not the strings.
 */
export function checkPolicyEtag(sent: string | undefined, current: string): void {
  if (!sent || Buffer.from(sent, 'base64').equals(Buffer.from(current, 'base64'))) return;
  throw new GoogleApiError(
    'ABORTED',
    'There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.',
  );
}

/** Bindings in force for a resource: its own, then its ancestors' (the caller passes them in order). */
export function isAllowed(principal: Principal, permission: string, bindingsInScope: Binding[]): boolean {
  const members = new Set(membersOf(principal));
  return bindingsInScope.some((b) => roleGrants(b.role, permission) && b.members.some((m) => members.has(m)));
}

/** A policy's etag: a digest of its bindings, so any change makes a new one. */
export function policyEtag(bindings: Binding[]): string {
  return createHash('sha1').update(JSON.stringify(bindings)).digest('base64').slice(0, 12);
}

/** A google.iam.v1.Policy as the IAM APIs answer it (bindings left out when there are none). */
export function policyJson(bindings: Binding[]): unknown {
  return { version: 1, etag: policyEtag(bindings), ...(bindings.length ? { bindings } : {}) };
}

/**
 * A SetIamPolicyRequest applied to a resource's bindings: a stale etag is a concurrent change, a
 * binding without members or with a role IAM does not know is refused, as Google refuses them.
 */
export function bindingsToSet(body: unknown, current: Binding[]): Binding[] {
  const policy = ((body as { policy?: unknown } | undefined)?.policy ?? {}) as {
    bindings?: Array<{ role?: unknown; members?: unknown }>;
    etag?: string;
  };
  checkPolicyEtag(policy.etag, policyEtag(current));
  return (policy.bindings ?? []).map((b, i) => {
    if (typeof b.role !== 'string' || !Array.isArray(b.members) || b.members.length === 0)
      throw badField(`policy.bindings[${i}]`, 'A binding needs a role and at least one member.');
    if (!ROLES[b.role])
      throw new GoogleApiError('INVALID_ARGUMENT', `Role ${b.role} is not supported for this resource.`);
    return { role: b.role, members: (b.members as unknown[]).map(String) };
  });
}

/**
 * testIamPermissions refuses a wildcard ('*', 'run.*'): "Permissions with wildcards (such as '*' or
 * 'storage.*') are not allowed" (google.iam.v1.TestIamPermissionsRequest.permissions). The status
 * is the request's INVALID_ARGUMENT; the wording of Google's message is UNCONFIRMED.
 */
export function refuseWildcards(asked: unknown): void {
  const list = ((asked as { permissions?: unknown } | undefined)?.permissions ?? []) as unknown[];
  const wild = list.map(String).find((p) => p.includes('*'));
  if (wild !== undefined)
    throw new GoogleApiError(
      'INVALID_ARGUMENT',
      `Permissions with wildcards are not allowed in testIamPermissions: '${wild}'.`,
    );
}

/** testIamPermissions: the asked permissions the principal holds here. */
export function grantedOf(principal: Principal, asked: unknown, bindingsInScope: Binding[]): string[] {
  const list = ((asked as { permissions?: unknown } | undefined)?.permissions ?? []) as unknown[];
  return list.map(String).filter((p) => isAllowed(principal, p, bindingsInScope));
}
