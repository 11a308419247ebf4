// `gcloud builds submit --tag`, as the deployment guides run it, against the emulator: gcloud 528
// creates the PROJECT_cloudbuild bucket, uploads the tarball, creates the build through Cloud
// Build v1, prints the build's log as it streams it from log-ID.txt in the build's logs bucket
// (https://storage.googleapis.com, answered by the emulator's proxy), and exits 0 once the image
// is in the registry; a failing build makes it exit non-zero with the build's error; a deployer
// short of Cloud Build's, Cloud Storage's or the Viewer's permissions is stopped where Google
// stops one.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appContext } from '../helpers/app-context.js';
import { admin, env } from '../helpers/emulator.js';
import { gcloud, gcloudJson, gcloudSuite } from '../helpers/gcloud.js';
import { manifestDigest } from '../helpers/images.js';

const suite = gcloudSuite('gcloud builds submit');
const project = (): string => env('RUNWAY_EMULATOR_PROJECT');
const repository = (): string => env('RUNWAY_EMULATOR_REPOSITORY');
/** The image as the guides name it, in the emulated Artifact Registry. */
const tagged = (name: string): string =>
  `us-central1-docker.pkg.dev/${project()}/${repository().split('/').pop()!}/${name}`;

const failed = (run: { code: number; stderr: string }): Error =>
  new Error(`gcloud exited ${run.code}:\n${run.stderr.slice(-3000)}`);

suite('gcloud builds submit --tag against the emulator', () => {
  beforeAll(async () => {
    // The guides grant the build's account the Cloud Build Service Account role.
    await admin.seed({
      bindings: [
        {
          resource: `projects/${project()}`,
          role: 'roles/cloudbuild.builds.builder',
          members: [
            `serviceAccount:${env('RUNWAY_EMULATOR_PROJECT_NUMBER')}-compute@developer.gserviceaccount.com`,
          ],
        },
      ],
    });
  });

  it('builds the Dockerfile on the emulated Cloud Build, prints its log, and leaves the image and its digest in the registry', async () => {
    const run = await gcloud(
      ['builds', 'submit', '--tag', tagged('submitted'), appContext('built by gcloud builds submit')],
      { owner: true },
    );
    if (run.code !== 0) throw failed(run);
    // The log gcloud streamed from the logs bucket, Cloud Build's phases and Docker's own output.
    expect(run.stdout).toContain('REMOTE BUILD OUTPUT');
    expect(run.stdout).toMatch(/starting build "[0-9a-f-]{36}"/);
    expect(run.stdout).toMatch(
      /FETCHSOURCE\nFetching storage object: gs:\/\/[a-z0-9-]+_cloudbuild\/source\//,
    );
    expect(run.stdout).toMatch(/Step 1\/\d+ : FROM scratch/);
    expect(run.stdout).toContain(`Pushing ${tagged('submitted')}`);
    // Docker's own lines name the image as the build did, not as the emulator's registry holds it.
    expect(run.stdout).toContain(`Successfully tagged ${tagged('submitted')}:latest`);
    expect(run.stdout).toContain(`The push refers to repository [${tagged('submitted')}]`);
    expect(run.stdout).not.toContain(repository().split('/')[0]!);
    expect(run.stdout).toMatch(/\nDONE\n/);
    expect(run.stderr).not.toContain('only displays logs from Cloud Storage');
    const id = /\/locations\/global\/builds\/([0-9a-f-]{36})\]/.exec(run.stderr)?.[1];
    expect(id).toBeDefined();
    expect(run.stdout).toMatch(new RegExp(`${id}\\s.*${tagged('submitted')}\\s+SUCCESS`));

    // The Build, read back as gcloud reads it, names the digest the registry holds.
    const build = await gcloudJson<{
      status: string;
      results: { images: Array<{ name: string; digest: string }> };
    }>(['builds', 'describe', id!], { owner: true });
    expect(build.status).toBe('SUCCESS');
    const digest = build.results.images[0]?.digest;
    expect(build.results.images).toEqual([
      { name: tagged('submitted'), digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) },
    ]);
    const token = (await gcloud(['auth', 'print-access-token'], { owner: true })).stdout.trim();
    const [host, ...path] = repository().split('/');
    expect(await manifestDigest(host!, `${path.join('/')}/submitted/manifests/latest`, token)).toBe(digest);
  }, 300_000);

  it('exits non-zero with the build\u2019s error when the build fails, its log printed up to the failure', async () => {
    const dir = appContext('never built');
    writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY does-not-exist /x\n');
    // In a region, its log in a directory of the staging bucket (--gcs-log-dir) rather than Cloud Build's.
    const logs = `gs://${project()}_cloudbuild/logs`;
    const run = await gcloud(
      ['builds', 'submit', '--region', 'us-central1', '--gcs-log-dir', logs, '--tag', tagged('broken'), dir],
      { owner: true },
    );
    expect(run.code).not.toBe(0);
    expect(run.stdout).toContain('does-not-exist');
    expect(run.stdout).toMatch(
      /\nERROR\nERROR: build step 0 "gcr\.io\/cloud-builders\/docker" failed: step exited with non-zero status: \d+/,
    );
    expect(run.stderr).toMatch(
      /BUILD FAILURE: Build step failure: build step 0 "gcr\.io\/cloud-builders\/docker" failed: step exited with non-zero status: \d+/,
    );
    expect(run.stderr).toMatch(/build [0-9a-f-]{36} completed with status "FAILURE"/);
    expect(run.stderr).toContain('/locations/us-central1/builds/');
    const id = /\/locations\/us-central1\/builds\/([0-9a-f-]{36})\]/.exec(run.stderr)?.[1];
    const token = (await gcloud(['auth', 'print-access-token'], { owner: true })).stdout.trim();
    const listed = await fetch(
      `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE')}b/${project()}_cloudbuild/o?prefix=logs/`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    const names = ((await listed.json()) as { items?: Array<{ name: string }> }).items?.map((o) => o.name);
    expect(names).toEqual([`logs/log-${id}.txt`]);
  }, 300_000);

  it('stops a deployer without Cloud Build\u2019s permission, and streams the log only for a viewer of the project', async () => {
    const deployer = env('RUNWAY_EMULATOR_SERVICE_ACCOUNT');
    const grant = (role: string) =>
      admin.seed({
        bindings: [{ resource: `projects/${project()}`, role, members: [`serviceAccount:${deployer}`] }],
      });
    const submit = () =>
      gcloud(['builds', 'submit', '--tag', tagged('by-deployer'), appContext('by the deployer')]);
    await grant('roles/storage.admin');
    const refused = await submit();
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('cloudbuild.builds.create');

    // With Cloud Build Editor the build runs, but its log is in Cloud Build's own bucket, which only
    // the project's viewers may read: gcloud says so and fails, as it does against Google.
    await grant('roles/cloudbuild.builds.editor');
    const unread = await submit();
    expect(unread.code).not.toBe(0);
    expect(unread.stderr).toContain('only stream logs if you are Viewer/Owner of the project');

    await grant('roles/viewer');
    const streamed = await submit();
    if (streamed.code !== 0) throw failed(streamed);
    expect(streamed.stdout).toMatch(/\nDONE\n/);
  }, 500_000);
});
