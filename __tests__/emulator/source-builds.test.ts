// Source builds on the emulator: the Cloud Storage JSON API (buckets and objects, media and
// multipart uploads, storage.* permissions, the JSON API's own error shape) and Cloud Run's
// builds:submit with its Cloud Build v1 operation and Build: a real Docker build of a gzipped tar
// or a zip, pushed to the emulated registry, completing with the digest and a log URL; a failing
// build fails its operation; buildpacks are validated, then refused for want of the internet.
// Every answer conforms to the API's schema (storage-v1, run-v2, cloudbuild-v1).
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appContext } from '../helpers/app-context.js';
import { accessTokenFor, seedServiceAccount } from '../helpers/auth.js';
import { admin, env } from '../helpers/emulator.js';
import { responseProblems } from '../../emulator/schema/render.js';
import { schemaOf } from '../../emulator/schema/schema.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const project = (): string => env('RUNWAY_EMULATOR_PROJECT');
const storage = (): string => env('CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE');
const upload = (): string => storage().replace(/storage\/v1\/$/, 'upload/storage/v1/');
const cloudbuild = (): string => env('CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD');
const runBase = (): string =>
  `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/projects/${project()}/locations/us-central1`;

let developer: string;
let outsider: string;
const tokens = new Map<string, string>();

async function call(
  method: string,
  url: string,
  options: { as?: string; body?: unknown; raw?: Buffer; type?: string } = {},
): Promise<{ status: number; body: Json; bytes: Buffer }> {
  const as = options.as ?? developer;
  if (!tokens.has(as)) tokens.set(as, await accessTokenFor(as));
  const res = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${tokens.get(as)}`,
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.type ? { 'content-type': options.type } : {}),
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    ...(options.raw ? { body: options.raw } : {}),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  let body: Json = {};
  try {
    body = bytes.length ? (JSON.parse(bytes.toString('utf8')) as Json) : {};
  } catch {
    body = {};
  }
  return { status: res.status, body, bytes };
}

function multipartBody(metadata: unknown, data: Buffer, boundary = 'runway-boundary'): Buffer {
  return Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(metadata)}\r\n--${boundary}\r\nContent-Type: application/gzip\r\n\r\n`,
    ),
    data,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}

const conforms = (api: 'storage-v1' | 'run-v2' | 'cloudbuild-v1', method: string, body: unknown): void =>
  expect(responseProblems(schemaOf(api), method, body)).toEqual([]);

/** A gzipped tarball of dir's contents, as `gcloud`/Runway upload it. */
function tarball(dir: string): Buffer {
  return execFileSync('tar', ['-czf', '-', '-C', dir, '.']);
}

function zipOf(dir: string): Buffer {
  const out = join(dir, '..', `${dir.split('/').pop()}.zip`);
  execFileSync('zip', ['-qr', out, '.'], { cwd: dir });
  const data = readFileSync(out);
  rmSync(out, { force: true });
  return data;
}

async function uploaded(bucket: string, name: string, data: Buffer): Promise<Json> {
  const res = await call(
    'POST',
    `${upload()}b/${bucket}/o?uploadType=media&name=${encodeURIComponent(name)}`,
    {
      raw: data,
      type: 'application/gzip',
    },
  );
  expect(res.status).toBe(200);
  return res.body;
}

/** Polls the build's Cloud Build operation until it is done. */
async function finished(operation: string): Promise<Json> {
  for (;;) {
    const res = await call('GET', `${cloudbuild()}v1/${operation}`);
    expect(res.status).toBe(200);
    conforms('cloudbuild-v1', 'cloudbuild.projects.locations.operations.get', res.body);
    if (res.body.done) return res.body;
    await new Promise((r) => setTimeout(r, 250));
  }
}

const submit = (body: Json, as?: string): ReturnType<typeof call> =>
  call('POST', `${runBase()}/builds:submit`, { body, ...(as ? { as } : {}) });

const image = (name: string): string => `${env('RUNWAY_EMULATOR_REPOSITORY')}/${name}:latest`;

beforeAll(async () => {
  developer = await seedServiceAccount('source-dev', ['roles/run.sourceDeveloper']);
  outsider = await seedServiceAccount('no-storage', ['roles/run.developer']);
  const number = env('RUNWAY_EMULATOR_PROJECT_NUMBER');
  await admin.seed({
    bindings: [
      {
        resource: `projects/${project()}`,
        role: 'roles/run.builder',
        members: [`serviceAccount:${number}-compute@developer.gserviceaccount.com`],
      },
      {
        resource: `projects/${project()}/serviceAccounts/${number}-compute@developer.gserviceaccount.com`,
        role: 'roles/iam.serviceAccountUser',
        members: [`serviceAccount:${developer}`],
      },
    ],
  });
}, 60_000);

const BUCKET = 'run-sources-runway-demo-us-central1';

describe('Cloud Storage JSON API', () => {
  it('creates a regional bucket with uniform access, gets it, and refuses to create it twice', async () => {
    const created = await call('POST', `${storage()}b?project=${project()}`, {
      body: {
        name: BUCKET,
        location: 'us-central1',
        iamConfiguration: { uniformBucketLevelAccess: { enabled: true } },
      },
    });
    expect(created.status).toBe(200);
    conforms('storage-v1', 'storage.buckets.insert', created.body);
    expect(created.body).toMatchObject({
      name: BUCKET,
      location: 'US-CENTRAL1',
      projectNumber: env('RUNWAY_EMULATOR_PROJECT_NUMBER'),
      iamConfiguration: { uniformBucketLevelAccess: { enabled: true } },
    });
    const got = await call('GET', `${storage()}b/${BUCKET}`);
    expect(got.status).toBe(200);
    expect(got.body.id).toBe(BUCKET);
    const again = await call('POST', `${storage()}b?project=${project()}`, { body: { name: BUCKET } });
    expect(again.status).toBe(409);
    expect(again.body.error.errors[0].reason).toBe('conflict');
    const listed = await call('GET', `${storage()}b?project=${project()}&prefix=run-sources-`);
    expect(listed.body.items.map((b: Json) => b.id)).toContain(BUCKET);
  });

  it('answers a missing bucket 404 and a bad name 400, in the JSON API error shape', async () => {
    const missing = await call('GET', `${storage()}b/no-such-bucket-here`);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({
      error: {
        code: 404,
        message: 'The specified bucket does not exist.',
        errors: [{ message: 'The specified bucket does not exist.', domain: 'global', reason: 'notFound' }],
      },
    });
    const bad = await call('POST', `${storage()}b?project=${project()}`, { body: { name: 'Has_Google' } });
    expect(bad.status).toBe(400);
  });

  it('refuses a field or query parameter the schema does not have', async () => {
    const field = await call('POST', `${storage()}b?project=${project()}`, {
      body: { name: 'schema-check-bucket', uniformAccess: true },
    });
    expect(field.status).toBe(400);
    expect(JSON.stringify(field.body)).toContain('uniformAccess');
    const query = await call('GET', `${storage()}b/${BUCKET}?colour=blue`);
    expect(query.status).toBe(400);
  });

  it('stores media and multipart uploads, reads metadata and bytes back, lists and deletes', async () => {
    const data = Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5]);
    const media = await uploaded(BUCKET, 'services/app/one.tar.gz', data);
    conforms('storage-v1', 'storage.objects.insert', media);
    expect(media).toMatchObject({ name: 'services/app/one.tar.gz', bucket: BUCKET, size: '7' });
    const multi = await call('POST', `${upload()}b/${BUCKET}/o?uploadType=multipart`, {
      raw: multipartBody({ name: 'services/app/two.tar.gz', contentType: 'application/gzip' }, data),
      type: 'multipart/related; boundary=runway-boundary',
    });
    expect(multi.status).toBe(200);
    expect(multi.body).toMatchObject({ name: 'services/app/two.tar.gz', contentType: 'application/gzip' });
    const meta = await call(
      'GET',
      `${storage()}b/${BUCKET}/o/${encodeURIComponent('services/app/two.tar.gz')}`,
    );
    conforms('storage-v1', 'storage.objects.get', meta.body);
    const bytes = await call(
      'GET',
      `${storage()}b/${BUCKET}/o/${encodeURIComponent('services/app/two.tar.gz')}?alt=media`,
    );
    expect(bytes.bytes.equals(data)).toBe(true);
    const listed = await call('GET', `${storage()}b/${BUCKET}/o?prefix=services/app/`);
    conforms('storage-v1', 'storage.objects.list', listed.body);
    expect(listed.body.items.map((o: Json) => o.name)).toEqual([
      'services/app/one.tar.gz',
      'services/app/two.tar.gz',
    ]);
    const deleted = await call(
      'DELETE',
      `${storage()}b/${BUCKET}/o/${encodeURIComponent('services/app/one.tar.gz')}`,
    );
    expect(deleted.status).toBe(204);
    const gone = await call(
      'GET',
      `${storage()}b/${BUCKET}/o/${encodeURIComponent('services/app/one.tar.gz')}`,
    );
    expect(gone.status).toBe(404);
  });

  it('checks a multipart upload\u2019s metadata against the Object message', async () => {
    const res = await call('POST', `${upload()}b/${BUCKET}/o?uploadType=multipart`, {
      raw: multipartBody({ name: 'x.tar.gz', colour: 'blue' }, Buffer.from('x')),
      type: 'multipart/related; boundary=runway-boundary',
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('colour');
  });

  it('takes uploads and booleans as gcloud 528 sends them: a single-quoted boundary, LF line ends, Python\u2019s False', async () => {
    const boundary = '===============3328097802988658981==';
    const raw = Buffer.concat([
      Buffer.from(
        `--${boundary}\nContent-Type: application/json\nMIME-Version: 1.0\n\n{"size": "3"}\n--${boundary}\n`,
      ),
      Buffer.from('Content-Type: application/zip\nMIME-Version: 1.0\nContent-Transfer-Encoding: binary\n\n'),
      Buffer.from('PK!'),
      Buffer.from(`\n--${boundary}--\n`),
    ]);
    const res = await call(
      'POST',
      `${upload()}b/${BUCKET}/o?alt=json&name=services%2Fg%2Fsrc.zip&uploadType=multipart`,
      {
        raw,
        type: `multipart/related; boundary='${boundary}'`,
      },
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'services/g/src.zip', size: '3', contentType: 'application/zip' });
    const created = await call(
      'POST',
      `${storage()}b?alt=json&enableObjectRetention=False&project=${project()}`,
      {
        body: { name: 'gcloud-bool-bucket', location: 'us-central1' },
      },
    );
    expect(created.status).toBe(200);
    const wrong = await call('POST', `${storage()}b?enableObjectRetention=maybe&project=${project()}`, {
      body: { name: 'gcloud-bool-bucket-2' },
    });
    expect(wrong.status).toBe(400);
  });

  it('refuses a caller without storage permissions, naming the permission', async () => {
    const got = await call('GET', `${storage()}b/${BUCKET}`, { as: outsider });
    expect(got.status).toBe(403);
    expect(got.body.error.errors[0].reason).toBe('forbidden');
    expect(got.body.error.message).toContain(`${outsider} does not have storage.buckets.get access`);
    const put = await call('POST', `${upload()}b/${BUCKET}/o?uploadType=media&name=x`, {
      as: outsider,
      raw: Buffer.from('x'),
    });
    expect(put.status).toBe(403);
    expect(put.body.error.message).toContain("Permission 'storage.objects.create' denied");
  });
});

describe('builds:submit and Cloud Build v1', () => {
  it('builds a gzipped tarball with its Dockerfile, pushes it and completes with the digest and a log URL', async () => {
    const dir = appContext('built remotely');
    const object = await uploaded(BUCKET, 'services/remote/src.tar.gz', tarball(dir));
    rmSync(dir, { recursive: true, force: true });
    const res = await submit({
      storageSource: { bucket: BUCKET, object: object.name, generation: object.generation },
      imageUri: image('remote'),
      dockerBuild: {},
    });
    expect(res.status).toBe(200);
    conforms('run-v2', 'google.cloud.run.v2.Builds.SubmitBuild', res.body);
    const op = res.body.buildOperation as Json;
    expect(op.name).toMatch(/^projects\/\d+\/locations\/us-central1\/operations\/[0-9a-f-]+$/);
    expect(op.metadata['@type']).toBe(
      'type.googleapis.com/google.devtools.cloudbuild.v1.BuildOperationMetadata',
    );
    const done = await finished(op.name);
    expect(done.error).toBeUndefined();
    const build = done.response as Json;
    expect(build.status).toBe('SUCCESS');
    expect(build.results.images).toEqual([
      { name: image('remote'), digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) },
    ]);
    expect(build.logUrl).toContain(build.id);
    const got = await call('GET', `${cloudbuild()}v1/${build.name}`);
    conforms('cloudbuild-v1', 'cloudbuild.projects.locations.builds.get', got.body);
    expect(got.body.status).toBe('SUCCESS');
    // The digest is in the registry, pushed as the build's service account.
    const pushes = (await admin.requests()).filter((r) => r.api === 'registry' && r.method === 'PUT');
    expect(pushes.some((r) => r.caller?.includes('-compute@developer.gserviceaccount.com'))).toBe(true);
  }, 120_000);

  it('builds the zip that gcloud 528 uploads', async () => {
    const dir = appContext('zipped');
    const object = await uploaded(BUCKET, 'services/zipped/src.zip', zipOf(dir));
    rmSync(dir, { recursive: true, force: true });
    const res = await submit({
      storageSource: { bucket: BUCKET, object: object.name },
      imageUri: image('zipped'),
      dockerBuild: {},
    });
    expect(res.status).toBe(200);
    const done = await finished(res.body.buildOperation.name);
    expect(done.response.status).toBe('SUCCESS');
  }, 120_000);

  it('fails a build whose Dockerfile fails: the operation errs, the Build says why, its log is in Cloud Logging', async () => {
    const dir = appContext('broken');
    writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY no-such-file /x\n');
    const object = await uploaded(BUCKET, 'services/broken/src.tar.gz', tarball(dir));
    rmSync(dir, { recursive: true, force: true });
    const res = await submit({
      storageSource: { bucket: BUCKET, object: object.name },
      imageUri: image('broken'),
      dockerBuild: {},
    });
    const done = await finished(res.body.buildOperation.name);
    expect(done.error).toEqual({ code: 2, message: 'Build failed; check build logs for details' });
    const build = done.metadata.build as Json;
    expect(build.status).toBe('FAILURE');
    expect(build.failureInfo.type).toBe('USER_BUILD_STEP');
    expect(build.logUrl).toMatch(
      /^https:\/\/console\.cloud\.google\.com\/cloud-build\/builds;region=us-central1\//,
    );
    const logs = await call('POST', `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING')}v2/entries:list`, {
      as: env('RUNWAY_EMULATOR_SERVICE_ACCOUNT').replace('deployer', 'owner'),
      body: {
        resourceNames: [`projects/${project()}`],
        filter: `resource.type="build" AND resource.labels.build_id="${build.id}"`,
      },
    });
    expect(logs.body.entries.map((e: Json) => e.textPayload).join('\n')).toContain('no-such-file');
  }, 120_000);

  it('validates a buildpacks build, then refuses it naming the missing internet', async () => {
    const unknown = await submit({
      storageSource: { bucket: BUCKET, object: 'services/remote/src.tar.gz' },
      imageUri: image('packs'),
      buildpackBuild: {
        baseImage: 'us-central1-docker.pkg.dev/serverless-runtimes/google-22/runtimes/nodejs22',
        colour: 1,
      },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.status).toBe('INVALID_ARGUMENT');
    const denied = await submit(
      { storageSource: { bucket: BUCKET, object: 'x' }, imageUri: image('packs'), buildpackBuild: {} },
      outsider,
    );
    expect(denied.status).toBe(403);
    const refused = await submit({
      storageSource: { bucket: BUCKET, object: 'services/remote/src.tar.gz' },
      imageUri: image('packs'),
      buildpackBuild: { enableAutomaticUpdates: true, environmentVariables: { GOOGLE_NODE_RUN_SCRIPTS: '' } },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.status).toBe('FAILED_PRECONDITION');
    expect(refused.body.error.message).toMatch(/internet/);
  });

  it('runs the build as the service account and in the worker pool the request names, with its tags', async () => {
    const builder = await seedServiceAccount('custom-builder', ['roles/run.builder']);
    await admin.seed({
      bindings: [
        {
          resource: `projects/${project()}/serviceAccounts/${builder}`,
          role: 'roles/iam.serviceAccountUser',
          members: [`serviceAccount:${developer}`],
        },
      ],
    });
    const pool = `projects/${project()}/locations/us-central1/workerPools/private`;
    const dir = appContext('built by a custom account');
    const object = await uploaded(BUCKET, 'services/custom/src.tar.gz', tarball(dir));
    rmSync(dir, { recursive: true, force: true });
    const before = (await admin.requests()).length;
    const res = await submit({
      storageSource: { bucket: BUCKET, object: object.name },
      imageUri: image('custom'),
      dockerBuild: {},
      serviceAccount: `projects/${project()}/serviceAccounts/${builder}`,
      workerPool: pool,
      tags: ['service_custom'],
    });
    expect(res.status).toBe(200);
    const done = await finished(res.body.buildOperation.name);
    const build = done.response as Json;
    expect(build.status).toBe('SUCCESS');
    expect(build).toMatchObject({
      serviceAccount: `projects/${project()}/serviceAccounts/${builder}`,
      options: { pool: { name: pool } },
      tags: ['service_custom'],
    });
    const got = await call('GET', `${cloudbuild()}v1/${build.name}`);
    conforms('cloudbuild-v1', 'cloudbuild.projects.locations.builds.get', got.body);
    expect(got.body.options.pool).toEqual({ name: pool });
    const pushes = (await admin.requests())
      .slice(before)
      .filter((r) => r.api === 'registry' && r.method === 'PUT');
    expect(pushes.length).toBeGreaterThan(0);
    expect(pushes.every((r) => r.caller?.includes(builder))).toBe(true);
  }, 120_000);

  it("takes a pool in another project only when Cloud Run's service agent may use pools there", async () => {
    await admin.seed({ projects: [{ projectId: 'pool-host', projectNumber: '555000111222' }] });
    const pool = 'projects/pool-host/locations/us-central1/workerPools/shared';
    const agent = `service-${env('RUNWAY_EMULATOR_PROJECT_NUMBER')}@serverless-robot-prod.iam.gserviceaccount.com`;
    const body = {
      storageSource: { bucket: BUCKET, object: 'services/custom/src.tar.gz' },
      imageUri: image('pooled'),
      dockerBuild: {},
      workerPool: pool,
    };
    const denied = await submit(body);
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toContain('cloudbuild.workerpools.use');
    expect(denied.body.error.message).toContain(agent);
    await admin.seed({
      serviceAccounts: [agent],
      bindings: [
        {
          resource: 'projects/pool-host',
          role: 'roles/cloudbuild.workerPoolUser',
          members: [`serviceAccount:${agent}`],
        },
      ],
    });
    const res = await submit(body);
    expect(res.status).toBe(200);
    const done = await finished(res.body.buildOperation.name);
    expect(done.response).toMatchObject({ status: 'SUCCESS', options: { pool: { name: pool } } });
  }, 120_000);

  it('refuses a malformed worker pool and a build env var that is not a string', async () => {
    const pool = await submit({
      storageSource: { bucket: BUCKET, object: 'x' },
      imageUri: image('pool'),
      dockerBuild: {},
      workerPool: 'private',
    });
    expect(pool.status).toBe(400);
    expect(pool.body.error.status).toBe('INVALID_ARGUMENT');
    expect(pool.body.error.message).toMatch(/worker_pool/);
    const env = await submit({
      storageSource: { bucket: BUCKET, object: 'x' },
      imageUri: image('packs'),
      buildpackBuild: { environmentVariables: { A: { nested: true } } },
    });
    expect(env.status).toBe(400);
    expect(env.body.error.status).toBe('INVALID_ARGUMENT');
  });

  it("names the project's default build service account, as gcloud run deploy --source asks", async () => {
    const res = await call(
      'GET',
      `${cloudbuild()}v1/projects/${project()}/locations/us-central1/defaultServiceAccount`,
    );
    expect(res.status).toBe(200);
    conforms('cloudbuild-v1', 'cloudbuild.projects.locations.getDefaultServiceAccount', res.body);
    expect(res.body.serviceAccountEmail).toBe(
      `projects/${project()}/serviceAccounts/${env('RUNWAY_EMULATOR_PROJECT_NUMBER')}-compute@developer.gserviceaccount.com`,
    );
  });

  it('refuses a submit by a caller who may not act as the build service account', async () => {
    const res = await submit(
      { storageSource: { bucket: BUCKET, object: 'x' }, imageUri: image('nope'), dockerBuild: {} },
      outsider,
    );
    expect(res.status).toBe(403);
  });
});

describe('Cloud Build v1 builds.create, as gcloud builds submit calls it', () => {
  const STAGING = `${project().replace(/[:.]/g, '_')}_cloudbuild`;
  const builds = (location = 'global'): string =>
    `${cloudbuild()}v1/projects/${project()}/locations/${location}/builds`;
  /** storage.googleapis.com's root: the XML API's downloads, /BUCKET/OBJECT. */
  const xmlApi = (): string => storage().replace(/storage\/v1\/$/, '');
  const dockerStep = (tag: string, ...extra: string[]): Json => ({
    name: 'gcr.io/cloud-builders/docker',
    args: ['build', '--network', 'cloudbuild', '--no-cache', ...extra, '-t', tag, '.'],
  });
  let submitter: string;
  let staged: Json;

  beforeAll(async () => {
    submitter = await seedServiceAccount('build-submitter', [
      'roles/cloudbuild.builds.editor',
      'roles/storage.admin',
      'roles/viewer',
    ]);
    // gcloud's staging bucket: PROJECT_cloudbuild, underscores and all.
    const bucket = await call('POST', `${storage()}b?project=${project()}`, {
      as: submitter,
      body: { name: STAGING },
    });
    expect(bucket.status).toBe(200);
    const dir = appContext('built by builds.create');
    const res = await call(
      'POST',
      `${upload()}b/${STAGING}/o?uploadType=media&name=${encodeURIComponent('source/1-a.tgz')}`,
      { as: submitter, raw: tarball(dir), type: 'application/gzip' },
    );
    rmSync(dir, { recursive: true, force: true });
    expect(res.status).toBe(200);
    staged = res.body;
  }, 60_000);

  const source = (): Json => ({
    storageSource: { bucket: STAGING, object: staged.name, generation: staged.generation },
  });

  it('builds the staged source, writes its log to Cloud Build\u2019s logs bucket as it runs, and completes with the digest', async () => {
    const tag = image('created');
    const res = await call('POST', builds(), {
      as: submitter,
      body: { source: source(), steps: [dockerStep(tag)], images: [tag] },
    });
    expect(res.status).toBe(200);
    conforms('cloudbuild-v1', 'cloudbuild.projects.locations.builds.create', res.body);
    const started = res.body.metadata.build as Json;
    const number = env('RUNWAY_EMULATOR_PROJECT_NUMBER');
    expect(started).toMatchObject({
      status: 'QUEUED',
      projectId: project(),
      logsBucket: `gs://${number}.cloudbuild-logs.googleusercontent.com`,
      logUrl: `https://console.cloud.google.com/cloud-build/builds/${started.id}?project=${number}`,
      options: { logging: 'LEGACY' },
      sourceProvenance: { resolvedStorageSource: source().storageSource },
    });
    const done = await finished(res.body.name);
    expect(done.error).toBeUndefined();
    expect(done.response).toMatchObject({
      status: 'SUCCESS',
      results: { images: [{ name: tag, digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) }] },
    });
    const got = await call('GET', `${builds()}/${started.id}`, { as: submitter });
    conforms('cloudbuild-v1', 'cloudbuild.projects.locations.builds.get', got.body);
    expect(got.body.status).toBe('SUCCESS');
    // A build of the global location is one of the project's builds too, and of no region.
    expect((await call('GET', `${cloudbuild()}v1/projects/${project()}/builds/${started.id}`)).status).toBe(
      200,
    );
    expect((await call('GET', `${builds('us-central1')}/${started.id}`)).status).toBe(404);

    // The log, read as gcloud polls it: the XML API with a byte range, 206 then 416 past the end.
    const log = `${xmlApi()}${number}.cloudbuild-logs.googleusercontent.com/log-${started.id}.txt`;
    const whole = await fetch(log, {
      headers: { authorization: `Bearer ${await accessTokenFor(submitter)}`, range: 'bytes=0-' },
    });
    expect(whole.status).toBe(206);
    const text = await whole.text();
    expect(text).toMatch(new RegExp(`^starting build "${started.id}"\\n\\nFETCHSOURCE\\n`));
    expect(text).toContain(`BUILD\n`);
    expect(text).toContain(`PUSH\nPushing ${tag}\n`);
    expect(text.endsWith('DONE\n')).toBe(true);
    const past = await fetch(log, {
      headers: {
        authorization: `Bearer ${await accessTokenFor(submitter)}`,
        range: `bytes=${Buffer.byteLength(text)}-`,
      },
    });
    expect(past.status).toBe(416);
    expect(await past.text()).toContain('<Code>InvalidRange</Code>');
    // The JSON API serves the same bytes, ranges too.
    const part = await fetch(
      `${storage()}b/${number}.cloudbuild-logs.googleusercontent.com/o/log-${started.id}.txt?alt=media`,
      { headers: { authorization: `Bearer ${await accessTokenFor(submitter)}`, range: 'bytes=0-7' } },
    );
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 0-7/${Buffer.byteLength(text)}`);
    expect(await part.text()).toBe('starting');
    // Google's bucket, not the project's: only the project's viewers read it, whatever their
    // storage roles in the project, and the project's bucket list leaves it out.
    const denied = await fetch(log, {
      headers: { authorization: `Bearer ${await accessTokenFor(developer)}` },
    });
    expect(denied.status).toBe(403);
    expect(await denied.text()).toContain('<Code>AccessDenied</Code>');
    const listed = await call('GET', `${storage()}b?project=${project()}`, { as: submitter });
    expect(listed.body.items.map((b: Json) => b.name)).not.toContain(
      `${number}.cloudbuild-logs.googleusercontent.com`,
    );
  }, 120_000);

  it('runs a build config\u2019s docker steps in order, each line of the log marked with its step', async () => {
    const builder = await seedServiceAccount('config-builder', ['roles/cloudbuild.builds.builder']);
    await admin.seed({
      bindings: [
        {
          resource: `projects/${project()}/serviceAccounts/${builder}`,
          role: 'roles/iam.serviceAccountUser',
          members: [`serviceAccount:${submitter}`],
        },
      ],
    });
    const tag = image('configured');
    const res = await call('POST', `${cloudbuild()}v1/projects/${project()}/builds`, {
      as: submitter,
      body: {
        source: source(),
        steps: [
          dockerStep(tag, '-f', 'Dockerfile'),
          { name: 'gcr.io/cloud-builders/docker', args: ['push', tag] },
        ],
        serviceAccount: `projects/${project()}/serviceAccounts/${builder}`,
        options: { logging: 'CLOUD_LOGGING_ONLY' },
        tags: ['config'],
      },
    });
    expect(res.status).toBe(200);
    const done = await finished(res.body.name);
    const build = done.response as Json;
    expect(build).toMatchObject({
      status: 'SUCCESS',
      tags: ['config'],
      options: { logging: 'CLOUD_LOGGING_ONLY' },
    });
    expect(build.steps.map((s: Json) => s.status)).toEqual(['SUCCESS', 'SUCCESS']);
    // Cloud Logging only: no logs bucket, no log object.
    expect(build.logsBucket).toBeUndefined();
    const logs = await call('POST', `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING')}v2/entries:list`, {
      as: submitter,
      body: {
        resourceNames: [`projects/${project()}`],
        filter: `resource.type="build" AND resource.labels.build_id="${build.id}"`,
      },
    });
    const lines = logs.body.entries.map((e: Json) => e.textPayload as string);
    expect(lines.some((l: string) => l.startsWith('Step #0: '))).toBe(true);
    expect(lines.some((l: string) => /^Step #1: .*digest: sha256:/.test(l))).toBe(true);
  }, 120_000);

  it('refuses a Build that Cloud Build refuses, naming the field, and what the emulator cannot run offline', async () => {
    const tag = image('refused');
    const create = (build: Json, as = submitter) => call('POST', builds(), { as, body: build });
    const violation = (res: { body: Json }) => res.body.error.details?.[0]?.fieldViolations?.[0];

    const unknown = await create({ source: source(), steps: [{ ...dockerStep(tag), colour: 'red' }] });
    expect(unknown.status).toBe(400);
    expect(violation(unknown).field).toBe('build.steps[0]');
    expect(violation(unknown).description).toContain('Unknown name "colour"');

    const empty = await create({ source: source(), steps: [] });
    expect(empty.status).toBe(400);
    expect(violation(empty).field).toBe('build.steps');

    const account = await create({
      source: source(),
      steps: [dockerStep(tag)],
      serviceAccount: `projects/${project()}/serviceAccounts/${submitter}`,
    });
    expect(account.status).toBe(400);
    expect(account.body.error.message).toContain(
      "if 'build.service_account' is specified, the build must either (a) specify 'build.logs_bucket'",
    );

    const badLogs = await create({ source: source(), steps: [dockerStep(tag)], logsBucket: 'my-logs' });
    expect(badLogs.status).toBe(400);
    expect(violation(badLogs).field).toBe('build.logs_bucket');
    const missingLogs = await create({
      source: source(),
      steps: [dockerStep(tag)],
      logsBucket: 'gs://no-such-logs',
    });
    expect(missingLogs.status).toBe(400);
    expect(missingLogs.body.error.message).toContain(
      'builder service account does not have access to logs bucket',
    );

    const gcloudStep = await create({
      source: source(),
      steps: [{ name: 'gcr.io/google.com/cloudsdktool/cloud-sdk', args: ['gcloud', 'version'] }],
    });
    expect(gcloudStep.status).toBe(400);
    expect(gcloudStep.body.error.status).toBe('FAILED_PRECONDITION');
    expect(gcloudStep.body.error.message).toMatch(/internet/);
    const git = await create({
      source: { gitSource: { url: 'https://github.com/octo-org/octo-repo' } },
      steps: [dockerStep(tag)],
    });
    expect(git.body.error.status).toBe('FAILED_PRECONDITION');
    const escape = await create({
      source: source(),
      steps: [{ name: 'gcr.io/cloud-builders/docker', args: ['build', '-t', tag, '/etc'] }],
    });
    expect(escape.body.error.status).toBe('FAILED_PRECONDITION');
    expect(escape.body.error.message).toContain("outside the build's workspace");

    const denied = await create({ source: source(), steps: [dockerStep(tag)] }, developer);
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toContain('cloudbuild.builds.create');
  });
});
