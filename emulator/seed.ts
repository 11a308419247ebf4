// The world the emulator starts with: one project, a GitHub Workload Identity provider that trusts
// the emulated repository, a deployer service account that pool principal may impersonate, and a
// runtime service account the deployer may act as. Like most real deployers, it may not read Secret
// Manager metadata (no roles/secretmanager.viewer): Runway's secrets preflight must cope with that.
// The pool principal may also impersonate the project's owner, for the setup steps a deployer may
// not take (creating secrets, granting roles), as gcloud users take them in the deployment guides.
import type { EmulatorContext } from './context.js';
import { poolName, providerName, type Seed } from './state.js';

const projectId = 'runway-demo';
const projectNumber = '123456789012';
const pool = 'github';
const provider = 'runway';
const repository = 'octo-org/octo-repo';

export const DEFAULTS = {
  projectId,
  projectNumber,
  pool,
  provider,
  providerName: providerName({ projectNumber, pool, provider }),
  poolName: poolName({ projectNumber, pool }),
  repository,
  deployer: `deployer@${projectId}.iam.gserviceaccount.com`,
  runtime: `runtime@${projectId}.iam.gserviceaccount.com`,
  /** The project's owner: what a deployer may not do (create secrets, grant roles), it may. */
  owner: `owner@${projectId}.iam.gserviceaccount.com`,
  defaultCompute: `${projectNumber}-compute@developer.gserviceaccount.com`,
  repositoryName: 'runway',
  /** Where the repository is, and the region gcloud uses when none is given. */
  region: 'us-central1',
  githubToken: 'ghs_emulatorToken0000000000000000000000',
  oidcRequestToken: 'emulator-oidc-request-token',
  sha: '8f14e45fceea167a5a36dedd4bea2543a1b2c3d4',
  pullRequest: 7,
  runId: '4242',
} as const;

export function defaultSeed(ctx: EmulatorContext): Seed {
  const d = DEFAULTS;
  const repoPrincipals = `principalSet://iam.googleapis.com/${d.poolName}/attribute.repository/${d.repository}`;
  return {
    projects: [{ projectId: d.projectId, projectNumber: d.projectNumber }],
    serviceAccounts: [d.deployer, d.runtime, d.defaultCompute, d.owner],
    providers: [
      {
        projectNumber: d.projectNumber,
        pool: d.pool,
        provider: d.provider,
        issuerUri: ctx.urls.oidc,
        attributeMapping: {
          'google.subject': 'assertion.sub',
          'attribute.repository': 'assertion.repository',
          'attribute.repository_owner': 'assertion.repository_owner',
          'attribute.ref': 'assertion.ref',
        },
        attributeCondition: `assertion.repository_owner == '${d.repository.split('/')[0]}'`,
      },
    ],
    bindings: [
      {
        resource: `projects/${d.projectId}/serviceAccounts/${d.deployer}`,
        role: 'roles/iam.workloadIdentityUser',
        members: [repoPrincipals],
      },
      {
        resource: `projects/${d.projectId}`,
        role: 'roles/run.admin',
        members: [`serviceAccount:${d.deployer}`],
      },
      {
        resource: `projects/${d.projectId}/serviceAccounts/${d.owner}`,
        role: 'roles/iam.workloadIdentityUser',
        members: [repoPrincipals],
      },
      { resource: `projects/${d.projectId}`, role: 'roles/owner', members: [`serviceAccount:${d.owner}`] },
      {
        resource: `projects/${d.projectId}`,
        role: 'roles/artifactregistry.writer',
        members: [`serviceAccount:${d.deployer}`],
      },
      {
        resource: `projects/${d.projectId}/serviceAccounts/${d.runtime}`,
        role: 'roles/iam.serviceAccountUser',
        members: [`serviceAccount:${d.deployer}`],
      },
      {
        resource: `projects/${d.projectId}/serviceAccounts/${d.defaultCompute}`,
        role: 'roles/iam.serviceAccountUser',
        members: [`serviceAccount:${d.deployer}`],
      },
      {
        resource: `projects/${d.projectId}`,
        role: 'roles/secretmanager.secretAccessor',
        members: [`serviceAccount:${d.runtime}`, `serviceAccount:${d.defaultCompute}`],
      },
      {
        resource: `projects/${d.projectId}`,
        role: 'roles/artifactregistry.reader',
        members: [`serviceAccount:${d.runtime}`, `serviceAccount:${d.defaultCompute}`],
      },
    ],
    repositories: [{ project: d.projectId, location: d.region, name: d.repositoryName }],
    secrets: [{ project: d.projectId, name: 'greeting', versions: [{ data: 'hello from Secret Manager' }] }],
    github: { repository: d.repository, tokens: [d.githubToken], pullRequest: d.pullRequest },
  };
}
