// `source`: the image built on Google, as `gcloud run deploy --source` builds it. The directory is
// packed (source-archive.ts), uploaded to gcloud's own bucket (run-sources-PROJECT-REGION, created
// when missing, regional with uniform access, refused when another project owns it), built with
// Cloud Run's builds:submit, and waited on through its Cloud Build operation; what comes back is
// the image's digest, which the run deploys like any other. The request building and the bucket
// naming are pure functions; the calls go through the clients passed in.
import { randomUUID } from 'node:crypto';
import * as log from '../common/log.js';
import { Untrusted } from '../common/untrusted.js';
import { GoogleApiError } from '../common/http.js';
import type { Deadline } from '../common/deadline.js';
import { RunwayError } from '../errors.js';
import type { CloudBuildClient, Build } from '../gcp/cloudbuild.js';
import type { CloudRunClient } from '../gcp/run.js';
import type { Service, SubmitBuildRequest } from '../gcp/run-types.js';
import type { StorageClient } from '../gcp/storage.js';
import type { SourceArchive } from './source-archive.js';
import type { RecordedBuild, ResolvedBuild } from '../inputs/build-flags.js';

/**
 * gcloud's default source bucket (command_lib/run/sourcedeploys/sources.py): the project ID with
 * `:` and `.` as `_` (domain-scoped projects) and `google`, which bucket names may not hold, as `elgoog`.
 */
export function sourceBucketName(project: string, region: string): string {
  const safe = project
    .replace(/:/g, '_')
    .replace(/\./g, '_')
    .replace(/google/g, 'elgoog');
  return `run-sources-${safe}-${region}`;
}

/** gcloud's object name: services/SERVICE/SECONDS.MICROS-UUID.tar.gz. */
export function sourceObjectName(service: string, now: Date, id: string): string {
  const stamp = (now.getTime() / 1000).toFixed(6);
  return `services/${service}/${stamp}-${id.replace(/-/g, '')}.tar.gz`;
}

/** Python's sorted() order for text (code points), which gcloud sorts the build env vars in. */
const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export interface SubmitPlan {
  bucket: string;
  object: string;
  generation: string | undefined;
  imageUri: string;
  hasDockerfile: boolean;
  baseImage: string | undefined;
  automaticUpdates: boolean | undefined;
  /** The account, worker pool and environment of the build (gcloud's build flags). */
  build: ResolvedBuild;
  /** gcloud tags the build with what it deploys: `service_NAME` (or `job_NAME`). */
  tag: string;
}

/**
 * builds:submit's body: a Docker build when the source has a Dockerfile, buildpacks otherwise.
 * As gcloud (deployer._PrepareSubmitBuildRequest), only a buildpacks build gets the build
 * environment, sorted by key; a Docker build's environment is its Dockerfile's.
 */
export function submitBuildRequest(plan: SubmitPlan): SubmitBuildRequest {
  const storageSource = {
    bucket: plan.bucket,
    object: plan.object,
    ...(plan.generation ? { generation: plan.generation } : {}),
  };
  const common = {
    tags: [plan.tag],
    ...(plan.build.serviceAccount ? { serviceAccount: plan.build.serviceAccount } : {}),
    ...(plan.build.workerPool ? { workerPool: plan.build.workerPool } : {}),
  };
  if (plan.hasDockerfile) return { storageSource, imageUri: plan.imageUri, dockerBuild: {}, ...common };
  const env = plan.build.env;
  return {
    storageSource,
    imageUri: plan.imageUri,
    buildpackBuild: {
      ...(plan.baseImage ? { baseImage: plan.baseImage } : {}),
      ...(env ? { environmentVariables: Object.fromEntries(Object.entries(env).sort(byKey)) } : {}),
      ...(plan.automaticUpdates !== undefined ? { enableAutomaticUpdates: plan.automaticUpdates } : {}),
    },
    ...common,
  };
}

const byKey = ([a]: [string, string], [b]: [string, string]): number => compareText(a, b);

/** What the service recorded of its last build on Google (gcloud's or Runway's), which the next one keeps. */
export function recordedBuild(service: Service | undefined): RecordedBuild | undefined {
  const config = service?.buildConfig;
  if (!config) return undefined;
  return {
    ...(config.serviceAccount ? { serviceAccount: config.serviceAccount } : {}),
    ...(config.workerPool ? { workerPool: config.workerPool } : {}),
    ...(config.environmentVariables ? { environmentVariables: config.environmentVariables } : {}),
  };
}

/**
 * A private pool in another project needs Cloud Run's service agent to hold
 * cloudbuild.workerpools.use there; the deployer cannot test that grant, so its refusal is explained.
 */
export function explainSubmitError(err: unknown, project: string, workerPool: string | undefined): unknown {
  if (
    !(err instanceof GoogleApiError) ||
    err.httpStatus !== 403 ||
    !workerPool ||
    err.permission !== 'cloudbuild.workerpools.use'
  )
    return err;
  const poolProject = /^projects\/([^/]+)\//.exec(workerPool)?.[1] ?? 'POOL_PROJECT';
  return new RunwayError(
    `Cloud Run may not run the build in the worker pool ${workerPool}: its service agent lacks cloudbuild.workerpools.use in project ${poolProject}.`,
    `Grant roles/cloudbuild.workerPoolUser in the pool's project to Cloud Run's service agent of project ${project}:\n  gcloud projects add-iam-policy-binding ${poolProject} --role=roles/cloudbuild.workerPoolUser --member=serviceAccount:service-PROJECT_NUMBER@serverless-robot-prod.iam.gserviceaccount.com\n(PROJECT_NUMBER is project ${project}'s number), or use a pool in project ${project}. Nothing was deployed.`,
    { cause: err },
  );
}

export interface RemoteBuildDeps {
  storage: Pick<StorageClient, 'getBucket' | 'listBuckets' | 'createBucket' | 'uploadObject'>;
  run: Pick<CloudRunClient, 'submitBuild'>;
  cloudBuild: Pick<CloudBuildClient, 'getOperation'>;
  /** The build's last log lines, when the deployer may read them; [] otherwise. */
  buildLog?: (project: string, buildId: string) => Promise<Untrusted[]>;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The source bucket, created when missing. As gcloud does (storage_api.CreateBucketIfNotExists
 * with check_ownership): a bucket of that name that the project's own bucket list does not hold
 * belongs to someone else, who could read or replace what is uploaded there, so it is refused.
 */
export async function ensureSourceBucket(
  storage: RemoteBuildDeps['storage'],
  project: string,
  region: string,
): Promise<string> {
  const name = sourceBucketName(project, region);
  let existing;
  try {
    existing = await storage.getBucket(name);
  } catch (err) {
    if (err instanceof GoogleApiError && err.httpStatus === 403)
      throw new RunwayError(
        `The source bucket gs://${name} exists, but the deployer may not read it: it may belong to another project, or the deployer lacks storage.buckets.get.`,
        `Grant the deployer roles/run.sourceDeveloper in project ${project}; if the bucket is another project's, delete it there or deploy with \`context\`. Nothing was uploaded or deployed.`,
        { cause: err },
      );
    throw err;
  }
  if (!existing) {
    try {
      await storage.createBucket(project, { name, location: region, uniformAccess: true });
      log.info(`created the source bucket gs://${name} (${region}, uniform access)`);
      return name;
    } catch (err) {
      // Another run created it meanwhile: then it is checked like one that was there.
      if (!(err instanceof GoogleApiError && err.httpStatus === 409)) throw err;
    }
  }
  const owned = await storage.listBuckets(project, name);
  if (!owned.some((b) => b.id === name || b.name === name))
    throw new RunwayError(
      `The source bucket gs://${name} already exists in another project; uploading there would hand your source to its owner (bucket squatting).`,
      `Delete that bucket if it is yours, or deploy with \`context\` (a build on the runner). Nothing was uploaded or deployed.`,
    );
  return name;
}

export interface RemoteBuildRequest {
  project: string;
  region: string;
  service: string;
  archive: SourceArchive;
  /** Where the image goes: HOST/PROJECT/REPOSITORY/IMAGE:TAG. */
  imageUri: string;
  baseImage: string | undefined;
  automaticUpdates: boolean | undefined;
  build: ResolvedBuild;
  /** What the image is for: a service (gcloud run deploy) or a job (gcloud run jobs deploy). */
  kind: 'service' | 'job';
  deadline: Deadline;
}

/** The Build an operation describes: its response once done, its metadata before. */
function buildOf(op: { response?: Build; metadata?: { build?: Build } }): Build {
  return op.response ?? op.metadata?.build ?? {};
}

/** Uploads, submits and waits; resolves to the built image's digest. */
export async function buildOnGoogle(deps: RemoteBuildDeps, request: RemoteBuildRequest): Promise<string> {
  const { project, region, archive } = request;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const bucket = await ensureSourceBucket(deps.storage, project, region);
  const object = sourceObjectName(request.service, new Date(), randomUUID());
  const uploaded = await deps.storage.uploadObject(bucket, object, archive.data, 'application/gzip');
  log.info(
    `uploaded ${archive.paths.length} paths (${archive.data.length} bytes) to gs://${bucket}/${object}`,
  );
  const body = submitBuildRequest({
    bucket,
    object,
    generation: uploaded.generation,
    imageUri: request.imageUri,
    hasDockerfile: archive.hasDockerfile,
    baseImage: request.baseImage,
    automaticUpdates: request.automaticUpdates,
    build: request.build,
    tag: `${request.kind}_${request.service}`,
  });
  log.info(
    archive.hasDockerfile
      ? 'building the Dockerfile on Google (Cloud Build)'
      : 'building with buildpacks on Google',
  );
  const { serviceAccount, workerPool, env } = request.build;
  if (serviceAccount) log.info(`the build runs as ${serviceAccount}`);
  if (workerPool) log.info(`the build runs in the worker pool ${workerPool}`);
  if (env && Object.keys(env).length && archive.hasDockerfile)
    log.info(
      `build env vars (${Object.keys(env).sort(compareText).join(', ')}) apply to buildpacks builds only: a Dockerfile build does not get them, as with gcloud (use ARG/ENV in the Dockerfile)`,
    );
  const submitted = await deps.run.submitBuild(project, region, body).catch((err: unknown) => {
    throw explainSubmitError(err, project, request.build.workerPool);
  });
  if (submitted.baseImageWarning)
    log.info(`Cloud Run: ${Untrusted.of(submitted.baseImageWarning).oneLine()}`);
  const name = submitted.buildOperation?.name;
  if (!name) throw new Error('builds:submit answered without a build operation');

  let op = await deps.cloudBuild.getOperation(name);
  const first = buildOf(op);
  if (first.logUrl) log.info(`build ${first.id ?? ''}: log ${Untrusted.of(first.logUrl).oneLine()}`);
  let delay = 1000;
  while (!op.done) {
    request.deadline.check('waiting for the build on Google');
    await sleep(Math.min(delay, Math.max(0, request.deadline.remainingMs())));
    delay = Math.min(delay * 2, 10_000);
    op = await deps.cloudBuild.getOperation(name);
  }
  const build = buildOf(op);
  const logUrl = build.logUrl ? Untrusted.of(build.logUrl).oneLine() : 'unknown';
  if (op.error || build.status !== 'SUCCESS') {
    const lines = build.id && deps.buildLog ? await deps.buildLog(project, build.id).catch(() => []) : [];
    for (const line of lines) log.info(`  | ${line.oneLine()}`);
    const said = Untrusted.of(build.statusDetail ?? op.error?.message ?? 'no detail').oneLine();
    throw new RunwayError(
      `The build on Google failed (build ${Untrusted.of(build.id ?? '?').oneLine()}, ${Untrusted.of(build.status ?? 'unknown').oneLine()}): ${said}. Its log: ${logUrl}`,
      sourceUnreadable(build)
        ? `The build's service account may not read the uploaded source: grant it roles/run.builder:\n  gcloud projects add-iam-policy-binding ${project} --role=roles/run.builder --member=serviceAccount:${Untrusted.of(build.serviceAccount!.replace(/^projects\/[^/]+\/serviceAccounts\//, '')).oneLine()}\nNothing was deployed.`
        : `Fix the build (its log says why), or build on the runner with \`context\`. Nothing was deployed.`,
    );
  }
  const image = build.results?.images?.find((i) => i.name === request.imageUri) ?? build.results?.images?.[0];
  const digest = image?.digest;
  if (!digest || !/^sha256:[0-9a-f]{64}$/.test(digest))
    throw new RunwayError(
      `The build on Google succeeded but named no digest for ${request.imageUri}. Its log: ${logUrl}`,
      'Nothing was deployed; rerun the step.',
    );
  log.info(`built ${request.imageUri}@${digest} (log ${logUrl})`);
  return digest;
}

/**
 * A build that failed fetching its source for want of storage.objects.get: its account lacks
 * roles/run.builder, which the deployer cannot test before the build (IAM answers only for the caller).
 */
function sourceUnreadable(build: Build): boolean {
  return (
    build.failureInfo?.type === 'FETCH_SOURCE_FAILED' &&
    /storage\.objects\.get/.test(build.failureInfo.detail ?? '') &&
    typeof build.serviceAccount === 'string'
  );
}
