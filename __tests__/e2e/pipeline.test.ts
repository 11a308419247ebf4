// End to end, the deploy pipeline of issue 4: secrets, regions, preflight failures, conflicts and
// deploy-cloudrun compatibility (verified traffic and rollback: pipeline-traffic.test.ts). Every test asserts what serves afterwards by requesting the service's URLs.
import { admin, env } from '../helpers/emulator.js';
import { deployApp as deploy, errorOf, expectSuccess } from '../helpers/action.js';
import { getService, serveBrokenRevision } from '../helpers/cloudrun.js';
import { seedServiceAccount } from '../helpers/auth.js';

async function text(url: string): Promise<string> {
  const res = await fetch(url);
  return `${res.status} ${(await res.text()).trim()}`;
}

describe('env vars and secrets reach the running container', () => {
  it('sets env vars and secrets (as env and as a mounted file); merge keeps, overwrite replaces', async () => {
    await admin.seed({
      secrets: [
        {
          project: env('RUNWAY_EMULATOR_PROJECT'),
          name: 'e2e-api-key',
          versions: [{ data: 'key-v1' }, { data: 'key-v2' }],
        },
      ],
    });
    const first = await deploy('e2e-env', 'env', {
      env_vars: 'MODE=production,GREETING=hello\\, world',
      secrets: 'API_KEY=e2e-api-key:1\n/secrets/app/key=e2e-api-key:latest',
    });
    expectSuccess(first);
    const envText = await text(`${first.outputs.url}/cgi-bin/env`);
    expect(envText).toContain('MODE=production');
    expect(envText).toContain('GREETING=hello, world');
    expect(envText).toContain('API_KEY=key-v1');
    expect(await text(`${first.outputs.url}/cgi-bin/file?/secrets/app/key`)).toBe('200 key-v2');

    const merged = await deploy('e2e-env', 'env', { env_vars: 'EXTRA=1' });
    expectSuccess(merged);
    const mergedEnv = await text(`${merged.outputs.url}/cgi-bin/env`);
    expect(mergedEnv).toContain('MODE=production');
    expect(mergedEnv).toContain('EXTRA=1');
    expect(mergedEnv).toContain('API_KEY=key-v1');

    const overwritten = await deploy('e2e-env', 'env', {
      env_vars: 'ONLY=1',
      env_vars_update_strategy: 'overwrite',
    });
    expectSuccess(overwritten);
    const overwrittenEnv = await text(`${overwritten.outputs.url}/cgi-bin/env`);
    expect(overwrittenEnv).toContain('ONLY=1');
    expect(overwrittenEnv).not.toContain('MODE=production');
    expect(overwrittenEnv).toContain('API_KEY=key-v1');
  });

  /** A deployer that may read secret metadata (roles/secretmanager.viewer), so the preflight sees 404s and states. */
  async function secretViewingDeployer(): Promise<string> {
    const viewer = await seedServiceAccount('secret-viewing-deployer', [
      'roles/run.admin',
      'roles/artifactregistry.writer',
      'roles/secretmanager.viewer',
    ]);
    await admin.seed({
      bindings: [
        {
          resource: `projects/${env('RUNWAY_EMULATOR_PROJECT')}/serviceAccounts/${env('RUNWAY_EMULATOR_PROJECT_NUMBER')}-compute@developer.gserviceaccount.com`,
          role: 'roles/iam.serviceAccountUser',
          members: [`serviceAccount:${viewer}`],
        },
      ],
    });
    return viewer;
  }

  it('fails before deploying when a secret does not exist, naming it', async () => {
    const viewer = await secretViewingDeployer();
    const before = (await admin.requests()).length;
    const run = await deploy('e2e-nosecret', 'x', {
      service_account: viewer,
      secrets: 'TOKEN=e2e-missing-secret:latest',
    });
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toContain('Secret e2e-missing-secret:latest (for TOKEN) does not exist');
    const calls = (await admin.requests()).slice(before);
    expect(calls.filter((r) => r.api === 'run' && r.method !== 'GET')).toEqual([]);
    expect(await getService('e2e-nosecret')).toBeUndefined();
  });

  it("fails before deploying when a sidecar's secret (after --container) does not exist, naming it", async () => {
    const viewer = await secretViewingDeployer();
    const before = (await admin.requests()).length;
    const run = await deploy('e2e-nosecret-side', 'x', {
      service_account: viewer,
      flags:
        '--container side --image us-docker.pkg.dev/p/r/side:1 --update-secrets=/side/s/key=e2e-missing-side:1',
    });
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toContain(
      'Secret e2e-missing-side:1 (for /side/s/key in container side) does not exist',
    );
    const calls = (await admin.requests()).slice(before);
    expect(calls.filter((r) => r.api === 'run' && r.method !== 'GET')).toEqual([]);
    expect(await getService('e2e-nosecret-side')).toBeUndefined();
  });

  it('fails before deploying when a secret version is disabled or destroyed', async () => {
    expect.assertions(8);
    const viewer = await secretViewingDeployer();
    await admin.seed({
      secrets: [
        {
          project: env('RUNWAY_EMULATOR_PROJECT'),
          name: 'e2e-retired',
          versions: [
            { data: 'gone', state: 'DESTROYED' },
            { data: 'off', state: 'DISABLED' },
          ],
        },
      ],
    });
    for (const [version, state] of [
      ['1', 'DESTROYED'],
      ['latest', 'DISABLED'],
    ] as const) {
      const before = (await admin.requests()).length;
      const run = await deploy('e2e-retired-secret', 'x', {
        service_account: viewer,
        secrets: `TOKEN=e2e-retired:${version}`,
      });
      expect(run.exitCode).toBe(1);
      expect(errorOf(run)).toContain(`Secret e2e-retired:${version} (for TOKEN) is ${state}`);
      const calls = (await admin.requests()).slice(before);
      expect(calls.filter((r) => r.api === 'run' && r.method !== 'GET')).toEqual([]);
      expect(await getService('e2e-retired-secret')).toBeUndefined();
    }
  });

  it('deploys when the deployer may not see secret metadata (403): a warning names roles/secretmanager.viewer', async () => {
    await admin.seed({
      secrets: [
        {
          project: env('RUNWAY_EMULATOR_PROJECT'),
          name: 'e2e-unviewable',
          versions: [{ data: 's3cr3t-v1' }],
        },
      ],
    });
    // The default deployer holds roles/run.admin but no roles/secretmanager.viewer.
    const run = await deploy('e2e-secret-403', 'x', { secrets: 'API_KEY=e2e-unviewable:latest' });
    expectSuccess(run);
    const warnings = run.stdout.split('\n').filter((l) => l.startsWith('::warning'));
    expect(warnings.join('\n')).toContain('Could not check secret e2e-unviewable:latest (for API_KEY)');
    expect(warnings.join('\n')).toContain(
      `gcloud secrets add-iam-policy-binding e2e-unviewable --project=${env('RUNWAY_EMULATOR_PROJECT')} --role=roles/secretmanager.viewer --member=serviceAccount:${env('RUNWAY_EMULATOR_SERVICE_ACCOUNT')}`,
    );
    expect(run.stdout).not.toContain('s3cr3t-v1');
    expect(await text(`${run.outputs.url}/cgi-bin/env`)).toContain('API_KEY=s3cr3t-v1');
  });
});

describe('regions', () => {
  it('deploys three regions in parallel; a failing region is rolled back and reported, the step fails', async () => {
    const regions = 'us-central1,europe-west1,asia-east1';
    const first = await deploy('e2e-regions', 'v1', {
      region: regions,
      health_check_path: '/cgi-bin/health',
    });
    expectSuccess(first);
    const before = JSON.parse(first.outputs.regions!) as Record<
      string,
      { url: string; revision: string; healthy: boolean }
    >;
    expect(Object.keys(before).sort()).toEqual(['asia-east1', 'europe-west1', 'us-central1']);
    for (const r of Object.values(before)) expect(await text(r.url)).toBe('200 v1');

    // Drift in one region: europe-west1 now serves a revision with BROKEN=1 (someone deployed it by
    // hand), so the next deploy there keeps it (env_vars merge) and that region's new revision is
    // unhealthy. Rolling back puts the hand-made revision back: it still answers '/' with v1.
    await serveBrokenRevision('e2e-regions', 'europe-west1');
    const second = await deploy('e2e-regions', 'v2', {
      region: regions,
      health_check_path: '/cgi-bin/health',
      regions_fail: 'region',
    });
    expect(second.exitCode).toBe(1);
    const after = JSON.parse(second.outputs.regions!) as Record<
      string,
      { url: string; healthy: boolean; rolled_back: boolean }
    >;
    expect(after['us-central1']).toMatchObject({ healthy: true, rolled_back: false });
    expect(after['asia-east1']).toMatchObject({ healthy: true, rolled_back: false });
    expect(after['europe-west1']).toMatchObject({ healthy: false, rolled_back: true });
    expect(errorOf(second)).toMatch(
      /europe-west1: Revision e2e-regions-\d{5}-[a-z]{3} .* failed its health check .*\nRolled back: the traffic split put back as it was\./,
    );
    expect(await text(after['us-central1']!.url)).toBe('200 v2');
    expect(await text(after['asia-east1']!.url)).toBe('200 v2');
    expect(await text(after['europe-west1']!.url)).toBe('200 v1');

    // The default, regions_fail: all: europe-west1 fails again, so the regions that passed go back.
    const third = await deploy('e2e-regions', 'v3', {
      region: regions,
      health_check_path: '/cgi-bin/health',
    });
    expect(third.exitCode).toBe(1);
    const reverted = JSON.parse(third.outputs.regions!) as Record<
      string,
      { healthy: boolean; rolled_back: boolean }
    >;
    for (const region of ['us-central1', 'asia-east1'])
      expect(reverted[region]).toMatchObject({ healthy: false, rolled_back: true });
    expect(errorOf(third)).toContain('with `regions_fail: all` every region goes back');
    expect(await text(after['us-central1']!.url)).toBe('200 v2');
    expect(await text(after['asia-east1']!.url)).toBe('200 v2');
    expect(await text(after['europe-west1']!.url)).toBe('200 v1');
  });
});
