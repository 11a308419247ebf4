// End to end, `source`: the bundled action packs a directory, uploads it to the emulated Cloud
// Storage, has Cloud Run build it (a real docker build on the emulator), and deploys the result by
// digest through the verified rollout; what the build leaves out (.gcloudignore) is not in the
// image; a failing build stops the step with its error and log URL before anything is deployed; a
// deployer who may not use the source bucket is refused in preflight, before any upload.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { admin, env } from '../helpers/emulator.js';
import { errorOf, runAction } from '../helpers/action.js';
import { appContext } from '../helpers/app-context.js';
import { accessTokenFor, repositoryPrincipalSet } from '../helpers/auth.js';
import { getService } from '../helpers/cloudrun.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const project = (): string => env('RUNWAY_EMULATOR_PROJECT');
const compute = (): string =>
  `${env('RUNWAY_EMULATOR_PROJECT_NUMBER')}-compute@developer.gserviceaccount.com`;

/** A deployer the repository may impersonate, with these project roles and actAs on the build and runtime accounts. */
async function seedDeployer(name: string, roles: string[]): Promise<string> {
  const email = `${name}@${project()}.iam.gserviceaccount.com`;
  await admin.seed({
    serviceAccounts: [email],
    bindings: [
      {
        resource: `projects/${project()}/serviceAccounts/${email}`,
        role: 'roles/iam.workloadIdentityUser',
        members: [repositoryPrincipalSet()],
      },
      ...roles.map((role) => ({
        resource: `projects/${project()}`,
        role,
        members: [`serviceAccount:${email}`],
      })),
      {
        resource: `projects/${project()}/serviceAccounts/${compute()}`,
        role: 'roles/iam.serviceAccountUser',
        members: [`serviceAccount:${email}`],
      },
    ],
  });
  return email;
}

function inputs(service: string, deployer: string, source: string): Record<string, string> {
  return {
    project_id: project(),
    workload_identity_provider: env('RUNWAY_EMULATOR_WIF_PROVIDER'),
    service_account: deployer,
    service,
    source,
    repository: env('RUNWAY_EMULATOR_REPOSITORY'),
    allow_unauthenticated: 'true',
    health_check_timeout: '20s',
    health_check_successes: '2',
  };
}

let deployer: string;

beforeAll(async () => {
  deployer = await seedDeployer('source-deployer', [
    'roles/run.admin',
    'roles/artifactregistry.writer',
    'roles/run.sourceDeveloper',
    'roles/serviceusage.serviceUsageConsumer',
    'roles/logging.viewer',
  ]);
  await admin.seed({
    bindings: [
      {
        resource: `projects/${project()}`,
        role: 'roles/run.builder',
        members: [`serviceAccount:${compute()}`],
      },
    ],
  });
}, 60_000);

describe('source: a build on Google', () => {
  it('builds the Dockerfile remotely, deploys it by digest and verifies it; a .gcloudignore\u2019d file is not in the image', async () => {
    const dir = appContext('built on Google');
    writeFileSync(join(dir, 'www', 'secret.txt'), 'must not ship\n');
    writeFileSync(join(dir, 'www', 'shipped.txt'), 'ships\n');
    writeFileSync(join(dir, '.gcloudignore'), '.gcloudignore\nwww/secret.txt\n');
    const run = await runAction(inputs('src-built', deployer, dir));
    if (run.exitCode !== 0) throw new Error(`action failed:\n${run.stdout}\n${run.stderr}`);
    const log = run.stdout;
    expect(log).toMatch(
      /https:\/\/console\.cloud\.google\.com\/cloud-build\/builds;region=us-central1\/[0-9a-f-]+/,
    );
    expect(run.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(run.outputs.image).toBe(`${env('RUNWAY_EMULATOR_REPOSITORY')}/src-built@${run.outputs.digest}`);

    // What serves is the build's image, pinned by the digest the build reported.
    const service = await getService('src-built');
    const containers = service?.template.containers as Array<{ image?: string }> | undefined;
    expect(containers?.[0]?.image).toBe(run.outputs.image);
    const url = run.outputs.url!;
    expect((await (await fetch(url)).text()).trim()).toBe('built on Google');
    expect((await (await fetch(`${url}/shipped.txt`)).text()).trim()).toBe('ships');
    expect((await fetch(`${url}/secret.txt`)).status).toBe(404);

    // The source went to gcloud's bucket, created regional with uniform access.
    const bucket = `run-sources-${project()}-us-central1`;
    const calls = (await admin.requests()).filter((r) => r.api === 'storage' || r.api === 'cloudbuild');
    expect(
      calls.some((r) => r.method === 'POST' && r.path.startsWith(`/upload/storage/v1/b/${bucket}/o`)),
    ).toBe(true);
    const owner = env('RUNWAY_EMULATOR_SERVICE_ACCOUNT').replace(/^deployer@/, 'owner@');
    const got = await fetch(`${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE')}b/${bucket}`, {
      headers: { authorization: `Bearer ${await accessTokenFor(owner)}` },
    });
    expect(await got.json()).toMatchObject({
      location: 'US-CENTRAL1',
      iamConfiguration: { uniformBucketLevelAccess: { enabled: true } },
    });
  }, 300_000);

  it('fails the step with the build\u2019s error and log URL when the build fails, and deploys nothing', async () => {
    const dir = appContext('never built');
    writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY does-not-exist /x\n');
    const run = await runAction(inputs('src-broken', deployer, dir));
    expect(run.exitCode).not.toBe(0);
    const error = errorOf(run);
    expect(error).toMatch(/The build on Google failed \(build [0-9a-f-]+, FAILURE\): Build step failure/);
    expect(error).toMatch(
      /Its log: https:\/\/console\.cloud\.google\.com\/cloud-build\/builds;region=us-central1\//,
    );
    expect(error).toContain('Nothing was deployed');
    // The deployer may read Cloud Logging: the build's last lines are in the step's log.
    expect(run.stdout).toMatch(/ {2}\| .*does-not-exist/);
    expect(await getService('src-broken')).toBeUndefined();
  }, 300_000);

  it('refuses, in preflight, a deployer who may not use the source bucket, naming the role, before any upload', async () => {
    const limited = await seedDeployer('source-limited', [
      'roles/run.admin',
      'roles/artifactregistry.writer',
    ]);
    const before = (await admin.requests()).length;
    const run = await runAction(inputs('src-refused', limited, appContext('refused')));
    expect(run.exitCode).not.toBe(0);
    const error = errorOf(run);
    expect(error).toContain(`${limited} may not build from source in project ${project()}`);
    expect(error).toContain('storage.buckets.get');
    expect(error).toContain('roles/run.sourceDeveloper');
    expect(error).toContain('Nothing was uploaded or deployed');
    const after = (await admin.requests()).slice(before);
    expect(after.filter((r) => r.api === 'storage' || r.api === 'cloudbuild')).toEqual([]);
    expect(after.some((r) => r.path.includes('builds:submit'))).toBe(false);
    expect(await getService('src-refused')).toBeUndefined();
  }, 120_000);
});

describe('source: gcloud\u2019s build flags in `flags`', () => {
  const owner = (): string => env('RUNWAY_EMULATOR_SERVICE_ACCOUNT').replace(/^deployer@/, 'owner@');

  /** The Build a run started, read from Cloud Build by the ID in the log URL the run printed. */
  async function buildOf(stdout: string): Promise<Json> {
    const id = /cloud-build\/builds;region=us-central1\/([0-9a-f-]+)/.exec(stdout)?.[1];
    expect(id).toBeDefined();
    const res = await fetch(
      `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD')}v1/projects/${project()}/locations/us-central1/builds/${id}`,
      { headers: { authorization: `Bearer ${await accessTokenFor(owner())}` } },
    );
    expect(res.status).toBe(200);
    return (await res.json()) as Json;
  }

  it('builds as --build-service-account in --build-worker-pool, records them on the service, and the next deploy keeps them', async () => {
    const builder = `custom-builder@${project()}.iam.gserviceaccount.com`;
    const builderResource = `projects/${project()}/serviceAccounts/${builder}`;
    const pool = `projects/${project()}/locations/us-central1/workerPools/private`;
    await admin.seed({
      serviceAccounts: [builder],
      bindings: [
        {
          resource: `projects/${project()}`,
          role: 'roles/run.builder',
          members: [`serviceAccount:${builder}`],
        },
        {
          resource: `projects/${project()}/serviceAccounts/${builder}`,
          role: 'roles/iam.serviceAccountUser',
          members: [`serviceAccount:${deployer}`],
        },
      ],
    });
    const dir = appContext('built by a custom account');
    const first = await runAction({
      ...inputs('src-flags', deployer, dir),
      flags: `--build-service-account=${builderResource} --build-worker-pool=${pool} --set-build-env-vars=B=2,A=1`,
    });
    if (first.exitCode !== 0) throw new Error(`action failed:\n${first.stdout}\n${first.stderr}`);
    expect(first.stdout).toContain(`may build from source as ${builder}`);
    expect(first.stdout).toMatch(/build env vars \(A, B\) apply to buildpacks builds only/);
    expect(await buildOf(first.stdout)).toMatchObject({
      serviceAccount: builderResource,
      options: { pool: { name: pool } },
      tags: ['service_src-flags'],
    });
    expect((await (await fetch(first.outputs.url!)).text()).trim()).toBe('built by a custom account');
    expect((await getService('src-flags'))?.buildConfig).toEqual({
      serviceAccount: builderResource,
      workerPool: pool,
      environmentVariables: { B: '2', A: '1' },
    });

    // As gcloud: without the flags the next build keeps the account; a clear flag drops the pool.
    const second = await runAction({
      ...inputs('src-flags', deployer, dir),
      flags: '--clear-build-worker-pool',
    });
    if (second.exitCode !== 0) throw new Error(`action failed:\n${second.stdout}\n${second.stderr}`);
    const build = await buildOf(second.stdout);
    expect(build.serviceAccount).toBe(builderResource);
    expect(build.options.pool).toBeUndefined();
    expect((await getService('src-flags'))?.buildConfig).toEqual({
      serviceAccount: builderResource,
      environmentVariables: { B: '2', A: '1' },
    });
  }, 400_000);

  it('refuses, in preflight, a deployer who may not act as the build service account, naming the role, before any upload', async () => {
    const stranger = `stranger-builder@${project()}.iam.gserviceaccount.com`;
    await admin.seed({ serviceAccounts: [stranger] });
    const before = (await admin.requests()).length;
    const run = await runAction({
      ...inputs('src-no-actas', deployer, appContext('refused')),
      flags: `--build-service-account=projects/${project()}/serviceAccounts/${stranger}`,
    });
    expect(run.exitCode).not.toBe(0);
    const error = errorOf(run);
    expect(error).toContain(`${deployer} may not start builds that run as ${stranger}`);
    expect(error).toContain('roles/iam.serviceAccountUser');
    expect(error).toContain('Nothing was uploaded or deployed');
    const after = (await admin.requests()).slice(before);
    expect(after.filter((r) => r.api === 'storage' || r.api === 'cloudbuild')).toEqual([]);
    expect(await getService('src-no-actas')).toBeUndefined();
  }, 120_000);

  it('refuses the build flags without `source`, naming `flags` and `source`', async () => {
    const run = await runAction({
      ...inputs('src-no-source', deployer, ''),
      image: `${env('RUNWAY_EMULATOR_REPOSITORY')}/anything:v1`,
      flags: `--build-worker-pool=projects/${project()}/locations/us-central1/workerPools/private`,
    });
    expect(run.exitCode).not.toBe(0);
    expect(errorOf(run)).toMatch(/`flags` gives gcloud build flags.*only with the `source` input/s);
  }, 60_000);
});
