// Source builds: Cloud Run Admin API v2 `projects.locations.builds:submit`
// (https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.builds/submit) and the
// Cloud Build v1 operation and Build it starts, read back with operations.get and builds.get.
// A Docker build is real: the uploaded archive (gzipped tar, or the zip gcloud 528 uploads) is
// fetched from the emulated Cloud Storage as the build's service account, built with `docker
// build`, pushed to the emulated Artifact Registry with that account's token, and the Build
// completes with the pushed digest and a log URL; its output goes to Cloud Logging as Cloud
// Build's does. A buildpacks build needs Google's builder images from the internet, which this
// machine cannot reach: it is validated like any other, then refused with FAILED_PRECONDITION.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EmulatorContext } from '../context.js';
import { requireCaller } from '../context.js';
import { GoogleApiError, invalidArgument, permissionDenied } from '../errors.js';
import { schemaRoutes, type ApiRequest, type Route } from '../http.js';
import type { Principal } from '../iam.js';
import { logName } from '../logging/store.js';
import { schemaOf } from '../schema/schema.js';
import { validateLocation, type Json } from './model.js';
import { registryName } from './runtime.js';
import { runServiceAgent } from '../apis/serviceusage.js';

const BUILD_TYPE = 'type.googleapis.com/google.devtools.cloudbuild.v1.Build';
const METADATA_TYPE = 'type.googleapis.com/google.devtools.cloudbuild.v1.BuildOperationMetadata';
/** Cloud Build's builder for a Docker build, as a Cloud Run source build names its step. */
const DOCKER_STEP = 'gcr.io/cloud-builders/docker';
const WORKER_POOL = /^projects\/[^/]+\/locations\/[^/]+\/workerPools\/[^/]+$/;

export const BUILDPACKS_OFFLINE =
  'Buildpacks builds cannot run in this emulator: they need Google\u2019s builder and run images from the internet, which this machine cannot reach. Add a Dockerfile to the source for a Docker build.';

interface BuildRecord {
  build: Json;
  operation: { name: string; done: boolean; error?: { code: number; message: string } };
  project: string;
  location: string;
}

/** `(project, location)` of a parent or name: projects/P/locations/L/… */
function scope(
  ctx: EmulatorContext,
  req: ApiRequest,
  permission: string,
): { project: string; caller: Principal } {
  const caller = requireCaller(ctx, req);
  const raw = req.params.project!;
  const project = ctx.world.projectId(raw);
  if (!project || !ctx.world.allowed(caller, permission, `projects/${project}`))
    throw permissionDenied(
      permission,
      `Permission '${permission}' denied on resource 'projects/${raw}' (or resource may not exist).`,
      permission.startsWith('run.') ? 'run.googleapis.com' : 'cloudbuild.googleapis.com',
    );
  return { project, caller };
}

/** Runs a command; resolves with its exit code and its stdout and stderr as one list of lines. */
function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: Buffer; cwd?: string } = {},
): Promise<{ code: number; lines: string[] }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.on('error', (err) => resolve({ code: -1, lines: [err.message] }));
    child.on('close', (code) =>
      resolve({ code: code ?? -1, lines: output.split(/\r?\n/).filter((l) => l.trim() !== '') }),
    );
    child.stdin.end(options.input);
  });
}

export class Builds {
  private readonly ctx: EmulatorContext;
  private readonly all = new Map<string, BuildRecord>();

  constructor(ctx: EmulatorContext) {
    this.ctx = ctx;
  }

  reset(): void {
    this.all.clear();
  }

  /** builds:submit, on Cloud Run's v2 server. */
  runRoutes(): Route[] {
    const route = schemaRoutes(schemaOf('run-v2'), 'google.cloud.run.v2.', (req) =>
      validateLocation(req.params.location!),
    );
    return [
      route(
        'POST',
        String.raw`^\/v2\/projects\/(?<project>[^/]+)\/locations\/(?<location>[^/]+)\/builds:submit`,
        'Builds.SubmitBuild',
        (req) => this.submit(req),
      ),
    ];
  }

  /** Cloud Build v1: the build's operation and the Build, by location and by project. */
  cloudBuildRoutes(): Route[] {
    const route = schemaRoutes(schemaOf('cloudbuild-v1'), 'cloudbuild.');
    const P = String.raw`^\/v1\/projects\/(?<project>[^/]+)`;
    const L = String.raw`${P}\/locations\/(?<location>[^/]+)`;
    return [
      route(
        'GET',
        String.raw`${L}\/operations\/(?<id>[^/:]+)`,
        'projects.locations.operations.get',
        (req) => {
          scope(this.ctx, req, 'cloudbuild.builds.get');
          const found = [...this.all.values()].find((b) =>
            b.operation.name.endsWith(`/operations/${req.params.id}`),
          );
          if (!found) throw new GoogleApiError('NOT_FOUND', 'Requested entity was not found.');
          return this.renderOperation(found);
        },
      ),
      // gcloud run deploy --source asks which account its builds will run as.
      route(
        'GET',
        String.raw`${L}\/defaultServiceAccount`,
        'projects.locations.getDefaultServiceAccount',
        (req) => {
          const { project } = scope(this.ctx, req, 'cloudbuild.builds.get');
          const number = this.ctx.world.projects.get(project)?.projectNumber ?? project;
          return {
            name: `projects/${project}/locations/${req.params.location}/defaultServiceAccount`,
            serviceAccountEmail: `projects/${project}/serviceAccounts/${number}-compute@developer.gserviceaccount.com`,
          };
        },
      ),
      route('GET', String.raw`${L}\/builds\/(?<id>[^/:]+)`, 'projects.locations.builds.get', (req) =>
        this.get(req),
      ),
      route('GET', String.raw`${P}\/builds\/(?<id>[^/:]+)`, 'projects.builds.get', (req) => this.get(req)),
    ];
  }

  private get(req: ApiRequest): Json {
    const { project } = scope(this.ctx, req, 'cloudbuild.builds.get');
    const found = this.all.get(req.params.id!);
    if (!found || found.project !== project)
      throw new GoogleApiError('NOT_FOUND', 'Requested entity was not found.');
    return found.build;
  }

  private renderOperation(b: BuildRecord): Json {
    return {
      name: b.operation.name,
      metadata: { '@type': METADATA_TYPE, build: b.build },
      done: b.operation.done,
      ...(b.operation.error ? { error: b.operation.error } : {}),
      ...(b.operation.done && !b.operation.error ? { response: { '@type': BUILD_TYPE, ...b.build } } : {}),
    };
  }

  private submit(req: ApiRequest): Json {
    const { ctx } = this;
    const { project, caller } = scope(ctx, req, 'run.builds.create');
    const location = req.params.location!;
    const body = req.body as Json;
    const source = body.storageSource as { bucket: string; object: string; generation?: string } | undefined;
    if (!source?.bucket || !source.object)
      throw invalidArgument('storage_source: bucket and object are required.', 'storage_source');
    const imageUri = typeof body.imageUri === 'string' ? body.imageUri : '';
    if (!imageUri) throw invalidArgument('image_uri is required.', 'image_uri');
    if (!registryName(imageUri, ctx.registryHost).startsWith(`${ctx.registryHost}/`))
      throw invalidArgument(
        `image_uri must name an image in Artifact Registry (REGION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE, or ${ctx.registryHost}/…).`,
        'image_uri',
      );
    if (!body.dockerBuild && !body.buildpackBuild)
      throw invalidArgument('One of docker_build or buildpack_build is required.', 'build_type');
    // A private pool is Cloud Build's resource name; Cloud Build runs the build there (options.pool).
    const workerPool = typeof body.workerPool === 'string' ? body.workerPool : '';
    if (workerPool && !WORKER_POOL.test(workerPool))
      throw invalidArgument(
        `worker_pool must be projects/{project}/locations/{location}/workerPools/{workerPool}, got '${workerPool}'.`,
        'worker_pool',
      );
    const projectNumber = ctx.world.projects.get(project)?.projectNumber ?? project;
    if (workerPool) this.checkWorkerPool(workerPool, project, projectNumber);
    const account = String(
      body.serviceAccount ?? `${projectNumber}-compute@developer.gserviceaccount.com`,
    ).replace(/^projects\/[^/]+\/serviceAccounts\//, '');
    const owner = /^[^@]+@([^.]+)\.iam\.gserviceaccount\.com$/.exec(account)?.[1];
    const accountProject = owner ? (ctx.world.projectId(owner) ?? owner) : project;
    if (
      !ctx.world.serviceAccounts.has(account) ||
      !ctx.world.allowed(
        caller,
        'iam.serviceAccounts.actAs',
        `projects/${accountProject}/serviceAccounts/${account}`,
      )
    )
      throw permissionDenied(
        'iam.serviceaccounts.actAs',
        `Permission 'iam.serviceaccounts.actAs' denied on service account ${account} (or it may not exist).`,
      );
    if (body.buildpackBuild) throw new GoogleApiError('FAILED_PRECONDITION', BUILDPACKS_OFFLINE);

    const id = randomUUID();
    const now = new Date().toISOString();
    const build: Json = {
      name: `projects/${projectNumber}/locations/${location}/builds/${id}`,
      id,
      projectId: project,
      status: 'QUEUED',
      source: {
        storageSource: {
          bucket: source.bucket,
          object: source.object,
          ...(source.generation ? { generation: source.generation } : {}),
        },
      },
      steps: [{ name: DOCKER_STEP, args: ['build', '-t', imageUri, '.'] }],
      images: [imageUri],
      createTime: now,
      timeout: '600s',
      logUrl: `https://console.cloud.google.com/cloud-build/builds;region=${location}/${id}?project=${projectNumber}`,
      serviceAccount: `projects/${project}/serviceAccounts/${account}`,
      options: { logging: 'CLOUD_LOGGING_ONLY', ...(workerPool ? { pool: { name: workerPool } } : {}) },
      ...(Array.isArray(body.tags) && body.tags.length ? { tags: body.tags } : {}),
    };
    const record: BuildRecord = {
      build,
      operation: {
        // Cloud Build names a build's operation after the build (gcloud polls operations/BUILD_ID).
        name: `projects/${projectNumber}/locations/${location}/operations/${id}`,
        done: false,
      },
      project,
      location,
    };
    this.all.set(id, record);
    void this.execute(record, account, source, imageUri);
    return { buildOperation: this.renderOperation(record) };
  }

  /**
   * Cloud Run hands the build to Cloud Build as its service agent: a pool in the build's own project
   * needs no grant, one in another project needs the agent to hold cloudbuild.workerpools.use there
   * (roles/cloudbuild.workerPoolUser, Cloud Run's "Set build worker pools" page).
   */
  private checkWorkerPool(pool: string, project: string, projectNumber: string): void {
    const raw = /^projects\/([^/]+)\//.exec(pool)![1]!;
    const poolProject = this.ctx.world.projectId(raw) ?? raw;
    if (poolProject === project) return;
    const agent = runServiceAgent(projectNumber);
    if (
      !this.ctx.world.allowed(
        { kind: 'serviceAccount', email: agent },
        'cloudbuild.workerpools.use',
        `projects/${poolProject}`,
      )
    )
      throw permissionDenied(
        'cloudbuild.workerpools.use',
        `Permission 'cloudbuild.workerpools.use' denied on '${pool}' for Cloud Run's service agent ${agent}.`,
        'cloudbuild.googleapis.com',
        pool,
      );
  }

  /** The build itself: fetch, unpack, docker build, push, record the digest. */
  private async execute(
    record: BuildRecord,
    account: string,
    source: { bucket: string; object: string },
    imageUri: string,
  ): Promise<void> {
    const { ctx } = this;
    const { build } = record;
    const world = ctx.world;
    build.status = 'WORKING';
    build.startTime = new Date().toISOString();
    const log = (line: string): void => {
      world.logs.append({
        logName: logName(record.project, 'cloudbuild'),
        resource: { type: 'build', labels: { build_id: String(build.id), project_id: record.project } },
        timestamp: new Date().toISOString(),
        severity: 'INFO',
        textPayload: line,
      });
    };
    const fail = (type: string, detail: string): void => {
      log(`ERROR: ${detail}`);
      build.status = 'FAILURE';
      build.statusDetail = detail;
      build.failureInfo = { type, detail };
      build.finishTime = new Date().toISOString();
      record.operation = {
        ...record.operation,
        done: true,
        error: { code: 2, message: 'Build failed; check build logs for details' },
      };
    };
    const workDir = await mkdtemp(join(ctx.workDir, `build-${String(build.id)}-`));
    try {
      const principal: Principal = { kind: 'serviceAccount', email: account };
      const bucket = world.buckets.get(source.bucket);
      const object = bucket?.objects.get(source.object);
      log(`Fetching storage object: gs://${source.bucket}/${source.object}`);
      if (!bucket || !object)
        return fail('FETCH_SOURCE_FAILED', `storage object gs://${source.bucket}/${source.object} not found`);
      if (
        !world.allowed(principal, 'storage.objects.get', `projects/${bucket.project}/buckets/${bucket.name}`)
      )
        return fail(
          'FETCH_SOURCE_FAILED',
          `${account} does not have storage.objects.get access to the Google Cloud Storage object. Permission 'storage.objects.get' denied on resource (or it may not exist).`,
        );
      const context = join(workDir, 'workspace');
      const data = object.data;
      let unpacked;
      if (data[0] === 0x1f && data[1] === 0x8b) {
        unpacked = await run('sh', ['-c', `mkdir -p "$1" && tar -xzf - -C "$1"`, 'sh', context], {
          input: data,
        });
      } else if (data.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) {
        const zip = join(workDir, 'source.zip');
        await writeFile(zip, data);
        unpacked = await run('unzip', ['-q', zip, '-d', context]);
      } else return fail('FETCH_SOURCE_FAILED', 'the source archive is neither a gzipped tarball nor a zip');
      if (unpacked.code !== 0)
        return fail('FETCH_SOURCE_FAILED', `unpacking the source failed: ${unpacked.lines.join(' ')}`);

      // The builder pushes as the build's service account, through the registry's own IAM check.
      const config = join(workDir, 'docker');
      const { token } = world.issueToken(principal, 'access', 3600);
      await run('mkdir', ['-p', config]);
      await writeFile(
        join(config, 'config.json'),
        JSON.stringify({
          auths: {
            [ctx.registryHost]: { auth: Buffer.from(`oauth2accesstoken:${token}`).toString('base64') },
          },
        }),
      );
      // The Docker CLI that may come first on PATH refuses BuildKit without buildx (toolchain.md).
      const env = { ...process.env, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: config };
      log(`Step #0: ${DOCKER_STEP} build -t ${imageUri} .`);
      const local = registryName(imageUri, ctx.registryHost);
      const built = await run('docker', ['build', '--no-cache', '-t', local, context], { env });
      for (const line of built.lines) log(`Step #0: ${line}`);
      if (built.code !== 0)
        return fail(
          'USER_BUILD_STEP',
          `Build step failure: build step 0 "${DOCKER_STEP}" failed: step exited with non-zero status: ${built.code}`,
        );
      const pushed = await run('docker', ['push', local], { env });
      for (const line of pushed.lines) log(`PUSH: ${line}`);
      // --no-prune: the build's untagged layers stay, since a concurrent classic build elsewhere on
      // this Docker may have taken one from its cache (removing it failed that build with "unable to
      // find image").
      await run('docker', ['rmi', '--no-prune', local], { env });
      const digest = pushed.lines.map((l) => /digest: (sha256:[0-9a-f]{64})/.exec(l)?.[1]).find(Boolean);
      if (pushed.code !== 0 || !digest)
        return fail('PUSH_FAILED', `failed to push ${imageUri}: ${pushed.lines.at(-1) ?? 'no output'}`);
      log('DONE');
      build.status = 'SUCCESS';
      build.results = { images: [{ name: imageUri, digest }] };
      build.finishTime = new Date().toISOString();
      record.operation = { ...record.operation, done: true };
    } catch (err) {
      fail('USER_BUILD_STEP', err instanceof Error ? err.message : String(err));
    } finally {
      await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}
