// The differential test for `source`: deploy-cloudrun with `source:` (which runs `gcloud run deploy
// --source`) and Runway with `source:` on the same directory, against the emulator, as the same
// deployer. Both services serve the same app from an image pinned by digest; the declared
// differences are where the image goes (gcloud's cloud-run-source-deploy repository, Runway's
// `repository`), what is uploaded (gcloud 528's zip, Runway's gzipped tarball, both honouring
// .gcloudignore), and gcloud's build annotations (v2's buildConfig), which Runway does not set. With
// gcloud's build flags in `flags`, both record the same build account, worker pool and env vars.
import { admin, env } from '../helpers/emulator.js';
import { authInputs, runAction } from '../helpers/action.js';
import { appContext } from '../helpers/app-context.js';
import { getService } from '../helpers/cloudrun.js';
import { gcloud } from '../helpers/gcloud.js';
import { expectPeerSuccess, peerSuite, runPeer } from '../helpers/peer.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const suite = peerSuite('source differential');

suite('source: deploy-cloudrun and Runway on the same directory', () => {
  beforeAll(async () => {
    const project = env('RUNWAY_EMULATOR_PROJECT');
    const deployer = env('RUNWAY_EMULATOR_SERVICE_ACCOUNT');
    const compute = `${env('RUNWAY_EMULATOR_PROJECT_NUMBER')}-compute@developer.gserviceaccount.com`;
    await admin.seed({
      bindings: [
        {
          resource: `projects/${project}`,
          role: 'roles/run.sourceDeveloper',
          members: [`serviceAccount:${deployer}`],
        },
        {
          resource: `projects/${project}`,
          role: 'roles/serviceusage.serviceUsageConsumer',
          members: [`serviceAccount:${deployer}`],
        },
        {
          resource: `projects/${project}`,
          role: 'roles/run.builder',
          members: [`serviceAccount:${compute}`],
        },
      ],
    });
    // The one-time set-up enables the APIs a source deploy uses, as the project owner.
    const enabled = await gcloud(
      [
        'services',
        'enable',
        'run.googleapis.com',
        'cloudbuild.googleapis.com',
        'artifactregistry.googleapis.com',
      ],
      { owner: true },
    );
    expect(enabled.code).toBe(0);
  }, 120_000);

  it('serve the same app by digest; the image location, the archive and the build annotations differ as declared', async () => {
    const project = env('RUNWAY_EMULATOR_PROJECT');
    const dir = appContext('one source, two actions');
    writeFileSync(join(dir, 'www', 'ignored.txt'), 'left out\n');
    writeFileSync(join(dir, '.gcloudignore'), '.gcloudignore\nwww/ignored.txt\n');

    const peer = await runPeer({
      ...authInputs(),
      service: 'diff-src-peer',
      source: dir,
      flags: '--allow-unauthenticated',
    });
    expectPeerSuccess(peer);
    const ours = await runAction({
      ...authInputs(),
      service: 'diff-src-runway',
      source: dir,
      repository: env('RUNWAY_EMULATOR_REPOSITORY'),
      allow_unauthenticated: 'true',
      health_check_timeout: '20s',
    });
    if (ours.exitCode !== 0) throw new Error(`Runway failed:\n${ours.stdout}`);

    for (const url of [peer.outputs.url!, ours.outputs.url!]) {
      expect((await (await fetch(url)).text()).trim()).toBe('one source, two actions');
      expect((await fetch(`${url}/ignored.txt`)).status).toBe(404);
    }
    const image = async (service: string): Promise<string> =>
      ((await getService(service))?.template.containers as Array<{ image: string }>)[0]!.image;
    // Declared: gcloud pushes to REGION-docker.pkg.dev/PROJECT/cloud-run-source-deploy/SERVICE,
    // Runway to `repository`; both deploy by digest.
    expect(await image('diff-src-peer')).toMatch(
      new RegExp(
        `^us-central1-docker\\.pkg\\.dev/${project}/cloud-run-source-deploy/diff-src-peer@sha256:[0-9a-f]{64}$`,
      ),
    );
    expect(await image('diff-src-runway')).toBe(ours.outputs.image);
    expect(ours.outputs.image).toMatch(/@sha256:[0-9a-f]{64}$/);
    // Declared: gcloud uploads a zip, Runway a gzipped tarball, both to run-sources-PROJECT-REGION.
    const uploads = (await admin.requests()).filter(
      (r) => r.api === 'storage' && r.path.startsWith('/upload/'),
    );
    expect(uploads.some((r) => /services%2Fdiff-src-peer%2F[^&]+\.zip/.test(r.path))).toBe(true);
    expect(uploads.some((r) => /services%2Fdiff-src-runway%2F[^&]+\.tar\.gz/.test(r.path))).toBe(true);
    // Declared: gcloud records the build on the service (buildConfig); Runway does not.
    expect((await getService('diff-src-peer'))?.buildConfig).toBeDefined();
    expect((await getService('diff-src-runway'))?.buildConfig).toBeUndefined();
  }, 600_000);

  it('with gcloud\u2019s build flags, both build as the named account in the named pool and record the same build settings', async () => {
    const project = env('RUNWAY_EMULATOR_PROJECT');
    const deployer = env('RUNWAY_EMULATOR_SERVICE_ACCOUNT');
    const builder = `peer-builder@${project}.iam.gserviceaccount.com`;
    await admin.seed({
      serviceAccounts: [builder],
      bindings: [
        {
          resource: `projects/${project}`,
          role: 'roles/run.builder',
          members: [`serviceAccount:${builder}`],
        },
        {
          resource: `projects/${project}/serviceAccounts/${builder}`,
          role: 'roles/iam.serviceAccountUser',
          members: [`serviceAccount:${deployer}`],
        },
      ],
    });
    const account = `projects/${project}/serviceAccounts/${builder}`;
    const pool = `projects/${project}/locations/us-central1/workerPools/private`;
    const flags = `--build-service-account=${account} --build-worker-pool=${pool} --set-build-env-vars=B=2,A=1`;
    const dir = appContext('built with build flags');
    const peer = await runPeer({
      ...authInputs(),
      service: 'diff-srcflags-peer',
      source: dir,
      flags: `--allow-unauthenticated ${flags}`,
    });
    expectPeerSuccess(peer);
    const ours = await runAction({
      ...authInputs(),
      service: 'diff-srcflags-runway',
      source: dir,
      repository: env('RUNWAY_EMULATOR_REPOSITORY'),
      allow_unauthenticated: 'true',
      health_check_timeout: '20s',
      flags,
    });
    if (ours.exitCode !== 0) throw new Error(`Runway failed:\n${ours.stdout}`);
    for (const url of [peer.outputs.url!, ours.outputs.url!])
      expect((await (await fetch(url)).text()).trim()).toBe('built with build flags');
    const settings = async (service: string): Promise<unknown> => {
      const config = (await getService(service))?.buildConfig as Record<string, unknown> | undefined;
      return {
        serviceAccount: config?.serviceAccount,
        workerPool: config?.workerPool,
        environmentVariables: config?.environmentVariables,
      };
    };
    expect(await settings('diff-srcflags-runway')).toEqual(await settings('diff-srcflags-peer'));
    expect(await settings('diff-srcflags-runway')).toEqual({
      serviceAccount: account,
      workerPool: pool,
      environmentVariables: { B: '2', A: '1' },
    });
    // Both builds ran as the account (the emulator pushes as the build's account).
    const pushes = (await admin.requests()).filter((r) => r.api === 'registry' && r.method === 'PUT');
    expect(pushes.filter((r) => r.caller?.includes(builder)).length).toBeGreaterThanOrEqual(2);
  }, 600_000);
});
