// End to end, every way users authenticate (issue 7 §4): Runway's own Workload Identity inputs with
// and without a service account, and the credentials file google-github-actions/auth leaves behind.
// Private services are verified with ID tokens minted for the impersonated account; Direct Workload
// Identity, which cannot mint them, is refused before anything changes.
import { admin, env, type RequestRecord } from '../helpers/emulator.js';
import { authInputs, deployApp, errorOf, runAction, expectSuccess } from '../helpers/action.js';
import { appContext } from '../helpers/app-context.js';
import {
  repositoryPrincipalSet,
  seedDirectWorkloadIdentity,
  writeAuthActionCredentials,
} from '../helpers/auth.js';
import { getService } from '../helpers/cloudrun.js';

const project = (): string => env('RUNWAY_EMULATOR_PROJECT');
const deployer = (): string => env('RUNWAY_EMULATOR_SERVICE_ACCOUNT');
/** An image reference for runs that must fail before the image matters. */
const nothing = (): string => `${env('RUNWAY_EMULATOR_REPOSITORY')}/nothing:latest`;

/** What google-github-actions/auth exports besides the credentials file. */
function authActionEnv(credentialsFile: string): Record<string, string> {
  return { GOOGLE_APPLICATION_CREDENTIALS: credentialsFile, GOOGLE_CLOUD_PROJECT: project() };
}

/** Requests that changed something: Cloud Run mutations (dry runs excluded) and registry uploads. */
function mutations(requests: RequestRecord[]): RequestRecord[] {
  return requests.filter(
    (r) =>
      (r.api === 'run' && r.method !== 'GET' && !r.path.includes('validateOnly=true')) ||
      (r.api === 'registry' && ['POST', 'PUT', 'PATCH'].includes(r.method)),
  );
}

/** The inputs of a private service built from a fresh context, verified before it takes traffic. */
function privateService(service: string, body: string): Record<string, string> {
  return {
    project_id: project(),
    service,
    context: appContext(body),
    repository: env('RUNWAY_EMULATOR_REPOSITORY'),
    traffic: 'verified',
    health_check_timeout: '20s',
    health_check_successes: '2',
  };
}

let principal: string;

beforeAll(async () => {
  // Direct Workload Identity: the repository's principal set itself holds the deployer's roles.
  principal = await seedDirectWorkloadIdentity(['roles/run.admin', 'roles/artifactregistry.writer']);
});

describe('after google-github-actions/auth (an external_account credentials file)', () => {
  it('verifies a private service with ID tokens minted for the impersonated account', async () => {
    const before = (await admin.requests()).length;
    const run = await runAction(
      privateService('e2e-adc-private', 'private via adc'),
      authActionEnv(writeAuthActionCredentials(deployer())),
    );
    expectSuccess(run);
    expect(run.stdout).toContain(`authenticated as ${deployer()}`);
    expect(run.outputs.healthy).toBe('true');
    // Private: anonymous requests are refused, so the health checks passed with an ID token.
    expect((await fetch(run.outputs.url!)).status).toBe(403);
    // Minted by generateIdToken on the impersonated account, called with the federated token.
    const minted = (await admin.requests())
      .slice(before)
      .filter((r) => r.api === 'iamcredentials' && r.path.endsWith(`${deployer()}:generateIdToken`));
    expect(minted.length).toBeGreaterThan(0);
    expect(minted.every((r) => r.status === 200 && r.caller?.startsWith('principal://'))).toBe(true);
    const service = (await getService('e2e-adc-private'))!;
    expect(service.latestReadyRevision?.split('/').pop()).toBe(run.outputs.revision);
  });

  it('without impersonation (Direct Workload Identity) a private, verified service is refused before any change, naming the principal set', async () => {
    const before = (await admin.requests()).length;
    const run = await runAction(
      privateService('e2e-adc-direct', 'x'),
      authActionEnv(writeAuthActionCredentials(undefined)),
    );
    expect(run.exitCode).toBe(1);
    const error = errorOf(run);
    expect(error).toContain(`${principal} (Direct Workload Identity) cannot mint`);
    expect(error).toContain('give google-github-actions/auth a `service_account`');
    expect(error).toContain('`allow_unauthenticated: true`');
    expect(error).not.toContain('application default credentials');
    expect(mutations((await admin.requests()).slice(before))).toEqual([]);
    expect(await getService('e2e-adc-direct')).toBeUndefined();
  });
});

describe('Direct Workload Identity (workload_identity_provider without service_account)', () => {
  it('Direct Workload Identity with a private service is refused before any change', async () => {
    const before = (await admin.requests()).length;
    const run = await runAction({
      ...privateService('e2e-direct-private', 'x'),
      workload_identity_provider: env('RUNWAY_EMULATOR_WIF_PROVIDER'),
    });
    expect(run.exitCode).toBe(1);
    const error = errorOf(run);
    expect(error).toContain('e2e-direct-private is private and Runway health-checks every new revision');
    expect(error).toContain(principal);
    expect(error).toContain('set `service_account`');
    expect(error).toContain('`allow_unauthenticated: true`');
    expect(error).toContain('Nothing was deployed.');
    expect(mutations((await admin.requests()).slice(before))).toEqual([]);
    expect(await getService('e2e-direct-private')).toBeUndefined();
  });

  it('deploys and verifies a public service as the repository principal set', async () => {
    const run = await deployApp('e2e-direct-public', 'direct', {
      workload_identity_provider: env('RUNWAY_EMULATOR_WIF_PROVIDER'),
      service_account: '',
    });
    expectSuccess(run);
    expect(run.stdout).toContain(`authenticated as ${principal}`);
    expect(run.outputs.healthy).toBe('true');
    const res = await fetch(run.outputs.url!);
    expect(`${res.status} ${(await res.text()).trim()}`).toBe('200 direct');

    // Without `allow_unauthenticated`, the live service stays public: nothing needs an ID token.
    const again = await deployApp('e2e-direct-public', 'direct again', {
      workload_identity_provider: env('RUNWAY_EMULATOR_WIF_PROVIDER'),
      service_account: '',
      allow_unauthenticated: '',
    });
    expectSuccess(again);
    const after = await fetch(again.outputs.url!);
    expect(`${after.status} ${(await after.text()).trim()}`).toBe('200 direct again');
  });
});

describe('authentication failures name the grant that fixes them', () => {
  it('a service account the repository may not impersonate names roles/iam.workloadIdentityUser and the command', async () => {
    const stranger = `stranger@${project()}.iam.gserviceaccount.com`;
    await admin.seed({ serviceAccounts: [stranger] });
    const run = await runAction({
      ...authInputs(),
      service_account: stranger,
      service: 'e2e-stranger',
      image: nothing(),
    });
    expect(run.exitCode).toBe(1);
    const error = errorOf(run);
    expect(error).toContain(`${repositoryPrincipalSet()} may not impersonate ${stranger}`);
    expect(error).toContain('iam.serviceAccounts.getAccessToken');
    expect(error).toContain(
      `gcloud iam service-accounts add-iam-policy-binding ${stranger} --role=roles/iam.workloadIdentityUser --member="${repositoryPrincipalSet()}"`,
    );
  });

  it("a token the provider's attribute condition rejects names the condition (unauthorized_client)", async () => {
    await admin.seed({ oidcClaims: { repository_owner: 'someone-else' } });
    try {
      const run = await runAction({ ...authInputs(), service: 'e2e-condition', image: nothing() });
      expect(run.exitCode).toBe(1);
      const error = errorOf(run);
      expect(error).toContain("Workload Identity Federation rejected this job's token");
      expect(error).toContain('attribute condition');
      expect(error).toContain(
        'gcloud iam workload-identity-pools providers describe runway --workload-identity-pool=github',
      );
    } finally {
      await admin.seed({ oidcClaims: { repository_owner: 'octo-org' } });
    }
  });

  it('an OIDC token for an audience the provider does not accept names the `audience` input (invalid_grant)', async () => {
    const run = await runAction({
      ...authInputs(),
      audience: 'https://example.com/not-allowed',
      service: 'e2e-audience',
      image: nothing(),
    });
    expect(run.exitCode).toBe(1);
    const error = errorOf(run);
    expect(error).toContain("STS rejected this job's OIDC token");
    expect(error).toContain('set the `audience` input');
  });

  it('an unknown provider is named as such (invalid_target)', async () => {
    const missing = env('RUNWAY_EMULATOR_WIF_PROVIDER').replace(/providers\/[^/]+$/, 'providers/nope');
    const run = await runAction({
      ...authInputs(),
      workload_identity_provider: missing,
      service: 'e2e-nope',
      image: nothing(),
    });
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toContain(`Workload Identity provider ${missing} does not exist or is disabled`);
  });
});
