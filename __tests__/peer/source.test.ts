// The differential test for `source`: deploy-cloudrun with `source:` (which runs `gcloud run deploy
// --source`) and Runway with `source:` on the same directory, against the emulator, as the same
// deployer. Both services serve the same app from an image pinned by digest; the declared
// differences are where the image goes (gcloud's cloud-run-source-deploy repository, Runway's
// `repository`), what is uploaded (gcloud 528's zip, Runway's gzipped tarball, both honouring
// .gcloudignore), and gcloud's build annotations (v2's buildConfig), which Runway does not set.
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
  it('serve the same app by digest; the image location, the archive and the build annotations differ as declared', async () => {
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
});
