// `gcloud run deploy --source`, as the deployment guides run it, against the emulator: gcloud 528
// enables the APIs, creates the cloud-run-source-deploy repository and the run-sources bucket,
// uploads the zip, calls Cloud Run's builds:submit, polls the Cloud Build operation, and deploys
// the built image through the v1 API; the service then serves the uploaded app.
import { admin, env } from '../helpers/emulator.js';
import { appContext } from '../helpers/app-context.js';
import { getService } from '../helpers/cloudrun.js';
import { findGcloud, gcloud } from '../helpers/gcloud.js';

const suite = findGcloud() ? describe : describe.skip;

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
});
