// Source builds: Cloud Run Admin API v2 `projects.locations.builds:submit`
// (https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.builds/submit), Cloud
// Build v1 `builds.create` as `gcloud builds submit` calls it, and the Cloud Build operation and
// Build both start, read back with operations.get and builds.get.
// A build is real, and both APIs share its one runner: the uploaded archive (gzipped tar, or the
// zip gcloud 528 uploads) is fetched from the emulated Cloud Storage as the build's service
// account, each `gcr.io/cloud-builders/docker` build or push step runs with the machine's Docker,
// the Build's images are pushed to the emulated Artifact Registry with that account's token, and
// the Build completes with the pushed digests and a log URL. Its output goes to Cloud Logging as
// Cloud Build's does, and, unless the Build's logging says otherwise, to log-ID.txt in its logs
// bucket as the build writes it, where gcloud reads it. Any other builder image, and a buildpacks
// build, needs images from the internet, which this machine cannot reach: such a request is
// validated like any other, then refused with FAILED_PRECONDITION.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
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
import { putObject } from '../apis/storage.js';
import type { StorageBucket } from '../state.js';

const BUILD_TYPE = 'type.googleapis.com/google.devtools.cloudbuild.v1.Build';
const METADATA_TYPE = 'type.googleapis.com/google.devtools.cloudbuild.v1.BuildOperationMetadata';
/** Cloud Build's builder for a Docker build, as a Cloud Run source build names its step. */
const DOCKER_STEP = 'gcr.io/cloud-builders/docker';
const WORKER_POOL = /^projects\/[^/]+\/locations\/[^/]+\/workerPools\/[^/]+$/;

const SERVICE_ACCOUNT = /^projects\/([^/]+)\/serviceAccounts\/([^/]+@[^/]+)$/;
/** A region as Cloud Build names its locations (or `global`). */
const BUILD_LOCATION = /^(global|[a-z]+-[a-z]+[0-9]+)$/;
/** docker build's flags that take a value, and those that do not (the ones a build config uses). */
const DOCKER_BUILD_VALUE_FLAGS = new Set([
  '-t',
  '--tag',
  '-f',
  '--file',
  '--build-arg',
  '--network',
  '--label',
  '--target',
  '--platform',
  '--cache-from',
]);
const DOCKER_BUILD_FLAGS = new Set(['--no-cache', '--pull', '-q', '--quiet', '--rm', '--force-rm']);

export const BUILDPACKS_OFFLINE =
  'Buildpacks builds cannot run in this emulator: they need Google\u2019s builder and run images from the internet, which this machine cannot reach. Add a Dockerfile to the source for a Docker build.';

export const BUILDER_OFFLINE =
  'This emulator\u2019s Cloud Build runs only `gcr.io/cloud-builders/docker` build and push steps: any other builder image would come from the internet, which this machine cannot reach.';

interface BuildRecord {
  build: Json;
  operation: { name: string; done: boolean; error?: { code: number; message: string } };
  project: string;
  location: string;
}

/** One step of a build, as the emulator's builder runs it: `docker ARGS` in the workspace's DIR. */
interface DockerStep {
  name: string;
  /** build: the docker build arguments, tags as the local registry names them; push: the image. */
  command:
    { kind: 'build'; args: string[]; tags: string[]; named: string[] } | { kind: 'push'; image: string };
  /** Relative to the workspace. */
  dir: string;
}

/** What a build does, once its request is accepted. */
interface BuildPlan {
  /** The service account the build runs as (its email). */
  account: string;
  source: { bucket: string; object: string; generation?: string } | undefined;
  steps: DockerStep[];
  /** Pushed after the steps; their digests are the Build's results. */
  images: string[];
  /** Where the build writes its log as it runs, besides Cloud Logging (gs://BUCKET/DIR/log-ID.txt). */
  logObject: { bucket: string; object: string } | undefined;
  cloudLogging: boolean;
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

/**
 * Runs a command; resolves with its exit code and its stdout and stderr as one list of lines,
 * handing each line to `onLine` as it comes (a build's log grows while the build runs).
 */
function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: Buffer; cwd?: string; onLine?: (line: string) => void } = {},
): Promise<{ code: number; lines: string[] }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd });
    const lines: string[] = [];
    // Each stream its own partial line, so that stdout and stderr never splice one line together.
    const reader = (): ((d: Buffer) => void) => {
      let pending = '';
      return (d) => {
        pending += d.toString('utf8');
        const parts = pending.split(/\r?\n/);
        pending = parts.pop()!;
        for (const line of parts) {
          if (line.trim() === '') continue;
          lines.push(line);
          options.onLine?.(line);
        }
      };
    };
    const out = reader();
    const err = reader();
    child.stdout.on('data', out);
    child.stderr.on('data', err);
    child.on('error', (e) => resolve({ code: -1, lines: [e.message] }));
    child.on('close', (code) => {
      out(Buffer.from('\n'));
      err(Buffer.from('\n'));
      resolve({ code: code ?? -1, lines });
    });
    child.stdin.end(options.input);
  });
}

/** A path a build names inside its workspace (a step's dir, a context, a Dockerfile): never outside. */
function insideWorkspace(path: string): boolean {
  if (path.startsWith('/')) return false;
  const normal = normalize(path);
  return normal !== '..' && !normal.startsWith('../');
}

/**
 * `docker build` arguments as a build config gives them → what the emulator runs: the tags as
 * the local registry names them, Cloud Build's `cloudbuild` network left out (the machine has
 * none of that name), the context and Dockerfile kept inside the workspace.
 */
function dockerBuildArgs(
  args: string[],
  at: string,
  registryHost: string,
): { args: string[]; tags: string[]; named: string[] } | { problem: string } {
  const out: string[] = [];
  const tags: string[] = [];
  const named: string[] = [];
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (DOCKER_BUILD_FLAGS.has(flag)) {
      out.push(arg);
      continue;
    }
    if (!DOCKER_BUILD_VALUE_FLAGS.has(flag)) {
      if (arg.startsWith('-'))
        return { problem: `${at}: docker build flag ${flag} is not one this emulator runs` };
      positional.push(arg);
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) return { problem: `${at}: docker build flag ${flag} needs a value` };
    if (flag === '--network') continue;
    if (flag === '-t' || flag === '--tag') {
      const local = registryName(value, registryHost);
      if (!local.startsWith(`${registryHost}/`))
        return {
          problem: `${at}: image ${value} is not in Artifact Registry (REGION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE)`,
        };
      tags.push(local);
      named.push(value);
      out.push('-t', local);
      continue;
    }
    if ((flag === '-f' || flag === '--file') && !insideWorkspace(value))
      return { problem: `${at}: the Dockerfile ${value} is outside the build's workspace` };
    out.push(flag, value);
  }
  if (positional.length !== 1) return { problem: `${at}: docker build needs exactly one context` };
  if (!insideWorkspace(positional[0]!))
    return { problem: `${at}: the context ${positional[0]} is outside the build's workspace` };
  if (!out.includes('--no-cache')) out.push('--no-cache');
  return { args: [...out, positional[0]!], tags, named };
}

/**
 * A build's log as Cloud Build writes it: each line to Cloud Logging (unless the build's logging is
 * NONE or GCS only) and, when the build has a log object, the whole text so far to that object,
 * rewritten as it grows, which is how a reader polling it with a byte range sees it stream.
 */
class BuildLog {
  private text = '';
  /** Local registry repository → the Artifact Registry name the build gave it, longest first. */
  private readonly names: Array<[string, string]>;

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly record: BuildRecord,
    private readonly plan: BuildPlan,
  ) {
    const images = [
      ...plan.images,
      ...plan.steps.flatMap((s) => (s.command.kind === 'build' ? s.command.named : [s.command.image])),
    ];
    const repository = (image: string): string => image.replace(/@.*$/, '').replace(/:[^/:]*$/, '');
    this.names = [
      ...new Map(images.map((i) => [registryName(repository(i), ctx.registryHost), repository(i)])),
    ]
      .filter(([local, named]) => local !== named)
      .sort(([a], [b]) => b.length - a.length);
  }

  /** Docker's lines name images as the emulator's registry holds them; the build named them in Artifact Registry. */
  private asNamed(text: string): string {
    let out = text;
    for (const [local, named] of this.names) out = out.split(local).join(named);
    return out;
  }

  line(raw: string): void {
    const text = this.asNamed(raw);
    const { world } = this.ctx;
    if (this.plan.cloudLogging && text.trim() !== '')
      world.logs.append({
        logName: logName(this.record.project, 'cloudbuild'),
        resource: {
          type: 'build',
          labels: { build_id: String(this.record.build.id), project_id: this.record.project },
        },
        timestamp: new Date().toISOString(),
        severity: 'INFO',
        textPayload: text,
      });
    if (!this.plan.logObject) return;
    this.text += `${text}\n`;
    const bucket = world.buckets.get(this.plan.logObject.bucket);
    if (bucket)
      putObject(bucket, this.plan.logObject.object, Buffer.from(this.text), 'text/plain; charset=utf-8');
  }
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

  /** Cloud Build v1: builds.create, the build's operation and the Build, by location and by project. */
  cloudBuildRoutes(): Route[] {
    const route = schemaRoutes(schemaOf('cloudbuild-v1'), 'cloudbuild.');
    const P = String.raw`^\/v1\/projects\/(?<project>[^/]+)`;
    const L = String.raw`${P}\/locations\/(?<location>[^/]+)`;
    return [
      route('POST', String.raw`${L}\/builds`, 'projects.locations.builds.create', (req) => this.create(req)),
      route('POST', String.raw`${P}\/builds`, 'projects.builds.create', (req) => this.create(req)),
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
          return {
            name: `projects/${project}/locations/${req.params.location}/defaultServiceAccount`,
            serviceAccountEmail: `projects/${project}/serviceAccounts/${this.defaultAccount(project)}`,
          };
        },
      ),
      route('GET', String.raw`${L}\/builds\/(?<id>[^/:]+)`, 'projects.locations.builds.get', (req) =>
        this.get(req),
      ),
      route('GET', String.raw`${P}\/builds\/(?<id>[^/:]+)`, 'projects.builds.get', (req) => this.get(req)),
    ];
  }

  private projectNumber(project: string): string {
    return this.ctx.world.projects.get(project)?.projectNumber ?? project;
  }

  /** The account a build runs as when its request names none: the Compute Engine default. */
  private defaultAccount(project: string): string {
    return `${this.projectNumber(project)}-compute@developer.gserviceaccount.com`;
  }

  private get(req: ApiRequest): Json {
    const { project } = scope(this.ctx, req, 'cloudbuild.builds.get');
    const found = this.all.get(req.params.id!);
    // A build belongs to one location; builds without one are the global location's.
    if (!found || found.project !== project || found.location !== (req.params.location ?? 'global'))
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

  /** A caller who names the account a build runs as must be able to act as it. */
  private checkActAs(caller: Principal, account: string, project: string): void {
    const { world } = this.ctx;
    const owner = /^[^@]+@([^.]+)\.iam\.gserviceaccount\.com$/.exec(account)?.[1];
    const accountProject = owner ? (world.projectId(owner) ?? owner) : project;
    if (
      !world.serviceAccounts.has(account) ||
      !world.allowed(
        caller,
        'iam.serviceAccounts.actAs',
        `projects/${accountProject}/serviceAccounts/${account}`,
      )
    )
      throw permissionDenied(
        'iam.serviceaccounts.actAs',
        `Permission 'iam.serviceaccounts.actAs' denied on service account ${account} (or it may not exist).`,
      );
  }

  /** A new build and its operation, recorded, its run started. */
  private start(project: string, location: string, build: Json, plan: BuildPlan): BuildRecord {
    const id = String(build.id);
    const record: BuildRecord = {
      build,
      operation: {
        // Cloud Build names a build's operation after the build (gcloud polls operations/BUILD_ID).
        name: `projects/${this.projectNumber(project)}/locations/${location}/operations/${id}`,
        done: false,
      },
      project,
      location,
    };
    this.all.set(id, record);
    void this.execute(record, plan);
    return record;
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
    const projectNumber = this.projectNumber(project);
    if (workerPool) this.checkWorkerPool(workerPool, project, projectNumber);
    const account = String(body.serviceAccount ?? this.defaultAccount(project)).replace(
      /^projects\/[^/]+\/serviceAccounts\//,
      '',
    );
    this.checkActAs(caller, account, project);
    if (body.buildpackBuild) throw new GoogleApiError('FAILED_PRECONDITION', BUILDPACKS_OFFLINE);

    const id = randomUUID();
    const args = ['build', '-t', imageUri, '.'];
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
      steps: [{ name: DOCKER_STEP, args }],
      images: [imageUri],
      createTime: new Date().toISOString(),
      timeout: '600s',
      logUrl: `https://console.cloud.google.com/cloud-build/builds;region=${location}/${id}?project=${projectNumber}`,
      serviceAccount: `projects/${project}/serviceAccounts/${account}`,
      options: { logging: 'CLOUD_LOGGING_ONLY', ...(workerPool ? { pool: { name: workerPool } } : {}) },
      ...(Array.isArray(body.tags) && body.tags.length ? { tags: body.tags } : {}),
    };
    const step = dockerBuildArgs(args.slice(1), 'steps[0]', ctx.registryHost);
    if ('problem' in step) throw invalidArgument(step.problem, 'image_uri');
    const record = this.start(project, location, build, {
      account,
      source,
      steps: [{ name: DOCKER_STEP, command: { kind: 'build', ...step }, dir: '' }],
      images: [imageUri],
      logObject: undefined,
      cloudLogging: true,
    });
    return { buildOperation: this.renderOperation(record) };
  }

  /**
   * Cloud Build v1 builds.create, as `gcloud builds submit` sends it: the Build is checked as Cloud
   * Build checks it (its steps, source, images, logs bucket and service account), then what the
   * emulator cannot run offline is refused, then the build starts.
   */
  private create(req: ApiRequest): Json {
    const { ctx } = this;
    const { world } = ctx;
    const { project, caller } = scope(ctx, req, 'cloudbuild.builds.create');
    const location = req.params.location ?? 'global';
    if (!BUILD_LOCATION.test(location))
      throw invalidArgument(`Location '${location}' is not a Cloud Build location.`, 'parent');
    const body = (req.body ?? {}) as Json;
    const projectNumber = this.projectNumber(project);

    const steps = (Array.isArray(body.steps) ? body.steps : []) as Json[];
    if (!steps.length) throw invalidArgument('invalid build: the build has no steps', 'build.steps');
    steps.forEach((step, i) => {
      if (typeof step.name !== 'string' || !step.name)
        throw invalidArgument(`invalid build: step ${i} has no name`, `build.steps[${i}].name`);
      if (typeof step.dir === 'string' && !insideWorkspace(step.dir))
        throw invalidArgument(
          `invalid build: step ${i}: dir ${step.dir} is outside the build's workspace`,
          `build.steps[${i}].dir`,
        );
    });
    const sourceMessage = (body.source ?? {}) as Json;
    const kinds = Object.keys(sourceMessage);
    if (kinds.length > 1)
      throw invalidArgument('invalid build: a build has at most one kind of source', 'build.source');
    const storage = sourceMessage.storageSource as
      { bucket?: string; object?: string; generation?: string } | undefined;
    if (storage && (!storage.bucket || !storage.object))
      throw invalidArgument(
        'invalid build: storage_source needs a bucket and an object',
        'build.source.storage_source',
      );
    const options = (body.options ?? {}) as Json;
    const logging = typeof options.logging === 'string' ? options.logging : 'LEGACY';
    const serviceAccount = typeof body.serviceAccount === 'string' ? body.serviceAccount : '';
    const named = SERVICE_ACCOUNT.exec(serviceAccount);
    if (serviceAccount && !named)
      throw invalidArgument(
        `invalid build: service_account must be projects/{project}/serviceAccounts/{email}, got '${serviceAccount}'`,
        'build.service_account',
      );
    const logsBucket = typeof body.logsBucket === 'string' ? body.logsBucket : '';
    if (
      serviceAccount &&
      !logsBucket &&
      options.defaultLogsBucketBehavior !== 'REGIONAL_USER_OWNED_BUCKET' &&
      logging !== 'CLOUD_LOGGING_ONLY' &&
      logging !== 'NONE'
    )
      throw invalidArgument(
        "if 'build.service_account' is specified, the build must either (a) specify 'build.logs_bucket', (b) use the REGIONAL_USER_OWNED_BUCKET build.options.default_logs_bucket_behavior option, or (c) use either CLOUD_LOGGING_ONLY / NONE logging options",
        'build.service_account',
      );
    const logsAt = /^gs:\/\/([^/]+)(?:\/(.*))?$/.exec(logsBucket);
    if (logsBucket && !logsAt)
      throw invalidArgument(`invalid logs bucket "${logsBucket}"`, 'build.logs_bucket');
    const account = named ? named[2]! : this.defaultAccount(project);
    if (named) this.checkActAs(caller, account, project);

    // What the emulator cannot run without the internet: other sources, other builders.
    if (kinds.length && !storage)
      throw new GoogleApiError(
        'FAILED_PRECONDITION',
        `This emulator\u2019s Cloud Build takes its source from Cloud Storage only (source.storage_source), not ${kinds[0]}.`,
      );
    const planned: DockerStep[] = steps.map((step, i) => {
      const args = (Array.isArray(step.args) ? step.args : []) as string[];
      const at = `steps[${i}]`;
      if (!/^gcr\.io\/cloud-builders\/docker(:latest)?$/.test(String(step.name)) || step.entrypoint)
        throw new GoogleApiError('FAILED_PRECONDITION', `${at} (${String(step.name)}): ${BUILDER_OFFLINE}`);
      const dir = typeof step.dir === 'string' ? step.dir : '';
      if (args[0] === 'push' && args.length === 2) {
        if (!registryName(args[1]!, ctx.registryHost).startsWith(`${ctx.registryHost}/`))
          throw new GoogleApiError(
            'FAILED_PRECONDITION',
            `${at}: image ${args[1]} is not in Artifact Registry (REGION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE), the one registry this emulator serves.`,
          );
        return { name: String(step.name), command: { kind: 'push', image: args[1]! }, dir };
      }
      if (args[0] !== 'build')
        throw new GoogleApiError('FAILED_PRECONDITION', `${at}: docker ${args[0] ?? ''}: ${BUILDER_OFFLINE}`);
      const built = dockerBuildArgs(args.slice(1), at, ctx.registryHost);
      if ('problem' in built) throw new GoogleApiError('FAILED_PRECONDITION', built.problem);
      return { name: String(step.name), command: { kind: 'build', ...built }, dir };
    });
    const images = (Array.isArray(body.images) ? body.images : []) as string[];
    for (const image of images)
      if (!registryName(image, ctx.registryHost).startsWith(`${ctx.registryHost}/`))
        throw new GoogleApiError(
          'FAILED_PRECONDITION',
          `images: ${image} is not in Artifact Registry (REGION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE), the one registry this emulator serves.`,
        );

    const id = randomUUID();
    // Where the log goes: the bucket the Build names, else Cloud Build's own for the project, in
    // every logging mode that writes to Cloud Storage.
    const toStorage =
      logging !== 'CLOUD_LOGGING_ONLY' && logging !== 'STACKDRIVER_ONLY' && logging !== 'NONE';
    let logObject: BuildPlan['logObject'];
    let logsBucketName = '';
    if (logsAt) {
      logsBucketName = logsBucket;
      const target = world.buckets.get(logsAt[1]!);
      if (
        !target ||
        !world.allowed(
          { kind: 'serviceAccount', email: account },
          'storage.objects.create',
          `projects/${target.project}/buckets/${target.name}`,
        )
      )
        throw invalidArgument(
          `invalid logs bucket "${logsBucket}": builder service account does not have access to logs bucket "${logsAt[1]!}"`,
          'build.logs_bucket',
        );
      const dir = logsAt[2] ? `${logsAt[2].replace(/\/$/, '')}/` : '';
      if (toStorage) logObject = { bucket: target.name, object: `${dir}log-${id}.txt` };
    } else if (toStorage) {
      const name = `${projectNumber}.cloudbuild-logs.googleusercontent.com`;
      logsBucketName = `gs://${name}`;
      if (!world.buckets.has(name)) world.buckets.set(name, this.logsBucket(name, project));
      logObject = { bucket: name, object: `log-${id}.txt` };
    }

    const now = new Date().toISOString();
    const logUrl =
      location === 'global'
        ? `https://console.cloud.google.com/cloud-build/builds/${id}?project=${projectNumber}`
        : `https://console.cloud.google.com/cloud-build/builds;region=${location}/${id}?project=${projectNumber}`;
    const build: Json = {
      ...body,
      name: `projects/${projectNumber}/locations/${location}/builds/${id}`,
      id,
      projectId: project,
      status: 'QUEUED',
      createTime: now,
      timeout: typeof body.timeout === 'string' ? body.timeout : '600s',
      queueTtl: typeof body.queueTtl === 'string' ? body.queueTtl : '3600s',
      ...(logsBucketName ? { logsBucket: logsBucketName } : {}),
      ...(storage ? { sourceProvenance: { resolvedStorageSource: storage } } : {}),
      options: { ...options, logging },
      logUrl,
      serviceAccount: `projects/${project}/serviceAccounts/${account}`,
    };
    const record = this.start(project, location, build, {
      account,
      source: storage
        ? {
            bucket: storage.bucket!,
            object: storage.object!,
            ...(storage.generation ? { generation: storage.generation } : {}),
          }
        : undefined,
      steps: planned,
      images,
      logObject,
      cloudLogging: logging !== 'NONE' && logging !== 'GCS_ONLY',
    });
    return this.renderOperation(record);
  }

  /** Cloud Build's default logs bucket for a project (see StorageBucket.cloudBuildLogs). */
  private logsBucket(name: string, project: string): StorageBucket {
    return {
      name,
      project,
      location: 'US',
      uniformAccess: false,
      created: new Date().toISOString(),
      objects: new Map(),
      cloudBuildLogs: true,
    };
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

  /**
   * The build itself, Cloud Build's phases in its log: fetch and unpack the source, run the steps,
   * push the images, record their digests.
   */
  private async execute(record: BuildRecord, plan: BuildPlan): Promise<void> {
    const { ctx } = this;
    const { build } = record;
    const world = ctx.world;
    const log = new BuildLog(ctx, record, plan);
    const fail = (type: string, detail: string, logged = detail): void => {
      log.line('ERROR');
      log.line(`ERROR: ${logged}`);
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
    // After an await: the answer to the request that created the build shows it QUEUED.
    build.status = 'WORKING';
    build.startTime = new Date().toISOString();
    const tagged: string[] = [];
    // The builder pushes as the build's service account, through the registry's own IAM check.
    const config = join(workDir, 'docker');
    // The Docker CLI that may come first on PATH refuses BuildKit without buildx (toolchain.md).
    const env = { ...process.env, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: config };
    // --no-prune: the build's untagged layers stay, since a concurrent classic build elsewhere on
    // this Docker may have taken one from its cache (removing it failed that build with "unable to
    // find image").
    const untag = async (): Promise<void> => {
      const names = [...new Set(tagged.splice(0))];
      if (names.length) await run('docker', ['rmi', '--no-prune', ...names], { env });
    };
    try {
      log.line(`starting build "${String(build.id)}"`);
      log.line('');
      log.line('FETCHSOURCE');
      const principal: Principal = { kind: 'serviceAccount', email: plan.account };
      const context = join(workDir, 'workspace');
      await mkdir(context, { recursive: true });
      const { source } = plan;
      if (source) {
        const bucket = world.buckets.get(source.bucket);
        const object = bucket?.objects.get(source.object);
        const at = `gs://${source.bucket}/${source.object}${source.generation ? `#${source.generation}` : ''}`;
        log.line(`Fetching storage object: ${at}`);
        if (!bucket || !object)
          return fail(
            'FETCH_SOURCE_FAILED',
            `storage object gs://${source.bucket}/${source.object} not found`,
          );
        if (
          !world.allowed(
            principal,
            'storage.objects.get',
            `projects/${bucket.project}/buckets/${bucket.name}`,
          )
        )
          return fail(
            'FETCH_SOURCE_FAILED',
            `${plan.account} does not have storage.objects.get access to the Google Cloud Storage object. Permission 'storage.objects.get' denied on resource (or it may not exist).`,
          );
        const data = object.data;
        let unpacked;
        if (data[0] === 0x1f && data[1] === 0x8b) {
          unpacked = await run('tar', ['-xzf', '-', '-C', context], { input: data });
        } else if (data.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) {
          const zip = join(workDir, 'source.zip');
          await writeFile(zip, data);
          unpacked = await run('unzip', ['-q', zip, '-d', context]);
        } else
          return fail('FETCH_SOURCE_FAILED', 'the source archive is neither a gzipped tarball nor a zip');
        if (unpacked.code !== 0)
          return fail('FETCH_SOURCE_FAILED', `unpacking the source failed: ${unpacked.lines.join(' ')}`);
      }

      const { token } = world.issueToken(principal, 'access', 3600);
      await mkdir(config, { recursive: true });
      await writeFile(
        join(config, 'config.json'),
        JSON.stringify({
          auths: {
            [ctx.registryHost]: { auth: Buffer.from(`oauth2accesstoken:${token}`).toString('base64') },
          },
        }),
      );
      const push = async (image: string, prefix: string): Promise<string | undefined> => {
        const pushed = await run('docker', ['push', registryName(image, ctx.registryHost)], {
          env,
          onLine: (line) => log.line(`${prefix}${line}`),
        });
        const digest = pushed.lines.map((l) => /digest: (sha256:[0-9a-f]{64})/.exec(l)?.[1]).find(Boolean);
        if (pushed.code !== 0 || !digest) {
          fail('PUSH_FAILED', `failed to push ${image}: ${pushed.lines.at(-1) ?? 'no output'}`);
          return undefined;
        }
        return digest;
      };

      log.line('BUILD');
      // Cloud Build marks each line with its step only when a build has more than one.
      const several = plan.steps.length > 1;
      for (const [i, step] of plan.steps.entries()) {
        const prefix = several ? `Step #${i}: ` : '';
        const stepStatus = (build.steps as Json[] | undefined)?.[i];
        if (stepStatus) stepStatus.status = 'WORKING';
        let code: number;
        if (step.command.kind === 'build') {
          tagged.push(...step.command.tags);
          const built = await run('docker', ['build', ...step.command.args], {
            env,
            cwd: join(context, step.dir),
            onLine: (line) => log.line(`${prefix}${line}`),
          });
          code = built.code;
        } else {
          const digest = await push(step.command.image, prefix);
          if (!digest) return;
          code = 0;
        }
        if (stepStatus) stepStatus.status = code === 0 ? 'SUCCESS' : 'FAILURE';
        if (code !== 0) {
          const what = `build step ${i} "${step.name}" failed: step exited with non-zero status: ${code}`;
          return fail('USER_BUILD_STEP', `Build step failure: ${what}`, what);
        }
      }

      const results: Json[] = [];
      if (plan.images.length) log.line('PUSH');
      for (const image of plan.images) {
        log.line(`Pushing ${image}`);
        const digest = await push(image, '');
        if (!digest) return;
        results.push({ name: image, digest });
      }
      // Untagged before the Build says SUCCESS: a deploy that follows pulls this digest into the
      // same Docker, and an rmi racing that pull would take the image from under the revision.
      await untag();
      log.line('DONE');
      build.status = 'SUCCESS';
      if (results.length) build.results = { images: results };
      build.finishTime = new Date().toISOString();
      record.operation = { ...record.operation, done: true };
    } catch (err) {
      fail('USER_BUILD_STEP', err instanceof Error ? err.message : String(err));
    } finally {
      await untag();
      await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}
