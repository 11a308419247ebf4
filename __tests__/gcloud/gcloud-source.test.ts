// `gcloud run deploy --source`, as the deployment guides run it, against the emulator: gcloud 528
// enables the APIs, creates the cloud-run-source-deploy repository and the run-sources bucket,
// uploads the zip, calls Cloud Run's builds:submit, polls the Cloud Build operation, and deploys
// the built image through the v1 API; the service then serves the uploaded app. With gcloud's build
// flags, the builds:submit body gcloud sends (read from --log-http) is the one Runway builds from
// the same `flags`, and what gcloud records on the service is what Runway records and reads back.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { admin, env } from '../helpers/emulator.js';
import { parseFlags } from '../../src/inputs/flags.js';
import { resolveBuild } from '../../src/inputs/build-flags.js';
import { recordedBuild, submitBuildRequest } from '../../src/image/remote-build.js';
import { planBuildConfig } from '../../src/deploy/plan.js';
import type { BuildConfig, Service, SubmitBuildRequest } from '../../src/gcp/run-types.js';
import { parseFlags as splitFlags } from '@google-github-actions/actions-utils';
import { appContext } from '../helpers/app-context.js';
import { getService } from '../helpers/cloudrun.js';
import { findGcloud, gcloud } from '../helpers/gcloud.js';

const suite = findGcloud() ? describe : describe.skip;

/** The builds:submit body gcloud sent, as --log-http printed it. */
function submitBodyOf(stderr: string): SubmitBuildRequest {
  const call = stderr.indexOf('/builds:submit');
  expect(call).toBeGreaterThan(-1);
  const body = stderr.slice(stderr.indexOf('== body start ==', call)).split('\n')[1]!;
  return JSON.parse(body) as SubmitBuildRequest;
}

/**
 * Runway's body for the same `flags` and what the service recorded, on gcloud's upload and image:
 * the archive's name and format and the image's repository are the declared differences.
 */
function runwayBody(
  gcloudBody: SubmitBuildRequest,
  flags: string,
  service: string,
  over: {
    hasDockerfile: boolean;
    baseImage?: string | undefined;
    automaticUpdates?: boolean;
    recorded?: Service | undefined;
  },
): SubmitBuildRequest {
  return submitBuildRequest({
    ...gcloudBody.storageSource,
    generation: gcloudBody.storageSource.generation,
    imageUri: gcloudBody.imageUri,
    hasDockerfile: over.hasDockerfile,
    baseImage: over.baseImage,
    automaticUpdates: over.automaticUpdates,
    build: resolveBuild(parseFlags(flags).build, recordedBuild(over.recorded)),
    tag: `service_${service}`,
  });
}

suite('gcloud run deploy --source against the emulator', () => {
  it('builds the Dockerfile on the emulated Cloud Build and serves the result', async () => {
    const project = env('RUNWAY_EMULATOR_PROJECT');
    // The guides grant the build account roles/run.builder (gcloud's own advice on a failed build).
    await admin.seed({
      bindings: [
        {
          resource: `projects/${project}`,
          role: 'roles/run.builder',
          members: [
            `serviceAccount:${env('RUNWAY_EMULATOR_PROJECT_NUMBER')}-compute@developer.gserviceaccount.com`,
          ],
        },
      ],
    });
    const dir = appContext('deployed by gcloud from source');
    const run = await gcloud(
      [
        'run',
        'deploy',
        'gcloud-src',
        '--source',
        dir,
        '--region',
        'us-central1',
        '--allow-unauthenticated',
        '--quiet',
      ],
      { owner: true },
    );
    if (run.code !== 0) throw new Error(`gcloud exited ${run.code}:\n${run.stderr}`);
    const url = /Service URL:[^h]*(http:\/\/127\.0\.0\.1:\d+)/.exec(run.stderr)?.[1];
    expect(url).toBeDefined();
    expect((await (await fetch(url!)).text()).trim()).toBe('deployed by gcloud from source');
    const service = await getService('gcloud-src');
    const containers = service?.template.containers as Array<{ image?: string }>;
    expect(containers[0]?.image).toMatch(
      new RegExp(
        `^us-central1-docker\\.pkg\\.dev/${project}/cloud-run-source-deploy/gcloud-src@sha256:[0-9a-f]{64}$`,
      ),
    );
    expect(service?.buildConfig).toMatchObject({
      imageUri: `us-central1-docker.pkg.dev/${project}/cloud-run-source-deploy/gcloud-src`,
      sourceLocation: expect.stringMatching(
        new RegExp(`^gs://run-sources-${project}-us-central1/services/gcloud-src/.+\\.zip#\\d+$`),
      ),
    });
  }, 300_000);

  it('sends the builds:submit body Runway sends for the same build flags, and keeps them on the service as Runway reads them', async () => {
    const project = env('RUNWAY_EMULATOR_PROJECT');
    const builder = `gcloud-builder@${project}.iam.gserviceaccount.com`;
    const account = `projects/${project}/serviceAccounts/${builder}`;
    const pool = `projects/${project}/locations/us-central1/workerPools/private`;
    await admin.seed({
      serviceAccounts: [builder],
      bindings: [
        {
          resource: `projects/${project}`,
          role: 'roles/run.builder',
          members: [`serviceAccount:${builder}`],
        },
      ],
    });
    const flags = `--build-service-account=${account} --build-worker-pool=${pool} --set-build-env-vars=B=2,A=1,a=0`;
    const deploy = (extra: string[]) =>
      gcloud(
        [
          'run',
          'deploy',
          'gcloud-src-flags',
          '--source',
          appContext('built with gcloud build flags'),
          '--region',
          'us-central1',
          '--quiet',
          '--log-http',
          ...extra,
        ],
        { owner: true },
      );
    const first = await deploy(splitFlags(flags));
    if (first.code !== 0) throw new Error(`gcloud exited ${first.code}:\n${first.stderr.slice(-3000)}`);
    const sent = submitBodyOf(first.stderr);
    expect(sent).toMatchObject({
      serviceAccount: account,
      workerPool: pool,
      tags: ['service_gcloud-src-flags'],
    });
    expect(runwayBody(sent, flags, 'gcloud-src-flags', { hasDockerfile: true })).toEqual(sent);
    // gcloud records them on the service (its build-* annotations, v2's buildConfig) as Runway does.
    const service = await getService('gcloud-src-flags');
    expect(service?.buildConfig).toMatchObject({
      serviceAccount: account,
      workerPool: pool,
      environmentVariables: { B: '2', A: '1', a: '0' },
    });

    // Sticky: without the flags gcloud builds as before, and Runway reads the same from the service.
    const second = await deploy([]);
    if (second.code !== 0) throw new Error(`gcloud exited ${second.code}:\n${second.stderr.slice(-3000)}`);
    const again = submitBodyOf(second.stderr);
    expect(again).toMatchObject({ serviceAccount: account, workerPool: pool });
    expect(
      runwayBody(again, '', 'gcloud-src-flags', {
        hasDockerfile: true,
        recorded: { template: {}, buildConfig: service?.buildConfig as BuildConfig },
      }),
    ).toEqual(again);

    // The declared difference: gcloud 528's --clear-build-env-vars leaves the recorded variables on
    // the service (it sets the annotation only when there are some), so they return on the next
    // deploy; Runway's record drops them, as the flag's help says.
    const cleared = await deploy(['--clear-build-env-vars']);
    if (cleared.code !== 0) throw new Error(`gcloud exited ${cleared.code}:\n${cleared.stderr.slice(-3000)}`);
    const after = (await getService('gcloud-src-flags'))?.buildConfig as BuildConfig | undefined;
    expect(after?.environmentVariables).toEqual({ B: '2', A: '1', a: '0' });
    const build = resolveBuild(
      parseFlags('--clear-build-env-vars').build,
      recordedBuild({ template: {}, buildConfig: after! }),
    );
    expect(build.env).toEqual({});
    expect(planBuildConfig(after, build)?.environmentVariables).toBeUndefined();
  }, 500_000);

  it('sends a buildpacks build its env vars sorted, as Runway does (the emulator then refuses buildpacks)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runway-buildpacks-'));
    writeFileSync(join(dir, 'package.json'), '{"name":"app","scripts":{"start":"node index.js"}}\n');
    writeFileSync(join(dir, 'index.js'), 'console.log("hi")\n');
    const flags = '--set-build-env-vars=b=3,B=2 --set-build-env-vars=A=1';
    const run = await gcloud(
      [
        'run',
        'deploy',
        'gcloud-src-packs',
        '--source',
        dir,
        '--region',
        'us-central1',
        '--quiet',
        '--log-http',
        ...splitFlags(flags),
      ],
      { owner: true },
    );
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('FAILED_PRECONDITION');
    const sent = submitBodyOf(run.stderr);
    expect(Object.keys(sent.buildpackBuild?.environmentVariables ?? {})).toEqual(['A', 'B', 'b']);
    // gcloud names its default base image and automatic updates off; Runway sends them when
    // `base_image` and `automatic_updates` say so.
    const runway = runwayBody(sent, flags, 'gcloud-src-packs', {
      hasDockerfile: false,
      baseImage: sent.buildpackBuild?.baseImage,
      automaticUpdates: false,
    });
    expect(runway).toEqual(sent);
    expect(Object.keys(runway.buildpackBuild?.environmentVariables ?? {})).toEqual(['A', 'B', 'b']);
  }, 300_000);
});
