// run(): inputs → auth → image → deploy and verify (every region in parallel) → report. Each stage
// logs in its own group; the error that stops the run is printed last, outside any group, with its fix.
import * as core from '@actions/core';
import { randomUUID } from 'node:crypto';
import { authenticate, type Credentials } from './auth/credentials.js';
import { describeError, RunwayError } from './errors.js';
import { CloudRunClient } from './gcp/run.js';
import { SecretManagerClient } from './gcp/secrets.js';
import {
  checkCanVerifyPrivateService,
  checkSecrets,
  liveAccess,
  needsLiveAccess,
} from './deploy/preflight.js';
import { cacheReference } from './image/build-plan.js';
import { Docker } from './image/docker.js';
import { provePushAccess, resolveDigest, type RegistryAuth } from './image/registry.js';
import {
  buildImageReference,
  extraGoogleRegistries,
  formatImage,
  isGoogleRegistry,
  parseImageReference,
  type ImageReference,
} from './image/reference.js';
import { readSettings, type Settings } from './inputs/inputs.js';
import { defaultLabels } from './deploy/plan.js';
import { explainRunError } from './deploy/apply.js';
import { rolloutRegion, type RegionOutcome } from './rollout/rollout.js';
import { Deadline } from './rollout/deadline.js';
import { candidateTagFor } from './deploy/traffic.js';
import { writeOutputs } from './report/outputs.js';
import { eventFromEnv, Reporter } from './report/publish.js';
import { buildReport, runUrlFrom, type RunFacts } from './report/report.js';
import { Timeline } from './rollout/timeline.js';

function githubContext(): { sha: string; repository: string; runId: string; attempt: string } {
  return {
    sha: process.env.GITHUB_SHA ?? 'unknown',
    repository: process.env.GITHUB_REPOSITORY ?? 'unknown/unknown',
    runId: process.env.GITHUB_RUN_ID ?? String(Date.now()),
    attempt: process.env.GITHUB_RUN_ATTEMPT ?? '1',
  };
}

/** Google credentials for Google registries only; anonymous everywhere else. */
function registryAuth(host: string, credentials: Credentials): RegistryAuth {
  return isGoogleRegistry(host, extraGoogleRegistries())
    ? { kind: 'google', accessToken: credentials.accessToken }
    : { kind: 'anonymous' };
}

/**
 * Build values are masked as soon as the step knows them; short build-arg values (`1`, `on`) are
 * not, as masking them would hide every occurrence in the log. They never reach argv either way.
 */
function maskBuildValues(buildArgs: Record<string, string>, secrets: Record<string, string>): void {
  for (const value of Object.values(secrets)) if (value) core.setSecret(value);
  for (const value of Object.values(buildArgs)) if (value.length >= 4) core.setSecret(value);
}

async function prepareImage(
  settings: Settings,
  credentials: Credentials,
  sha: string,
): Promise<ImageReference> {
  if (settings.image.kind === 'prebuilt') {
    const image = parseImageReference(settings.image.ref);
    return { ...image, digest: await resolveDigest(image, registryAuth(image.host, credentials)) };
  }
  const source = settings.image;
  maskBuildValues(source.buildArgs, source.secrets);
  const image = buildImageReference(source.repository, settings.service, sha);
  const google = registryAuth(image.host, credentials).kind === 'google';
  if (google) {
    // Before anything is built: a missing role or repository fails now, with the fix.
    await provePushAccess(image, credentials.accessToken, credentials.identity);
    core.info(`${credentials.identity} may push to ${image.host}/${image.path}`);
  } else {
    core.info(
      `${image.host} is not a Google registry: Runway sends it no Google credentials and pushes with your own docker login`,
    );
  }
  const docker = google ? await Docker.privateConfig(image.host) : Docker.userConfig();
  try {
    const refreshCredential = google
      ? async (): Promise<void> => docker.setToken(await credentials.accessToken())
      : undefined;
    await refreshCredential?.();
    const digest = await docker.buildAndPush(
      {
        context: source.context,
        dockerfile: source.dockerfile,
        buildArgs: source.buildArgs,
        secrets: source.secrets,
        target: source.target,
        platform: source.platform,
        image,
        cacheRef: source.cache ? cacheReference(image) : undefined,
      },
      { builder: source.builder, refreshCredential },
    );
    return { ...image, digest };
  } finally {
    await docker.dispose();
  }
}

function resolveProject(settings: Settings, credentials: Credentials): string {
  const project = settings.projectId ?? credentials.projectId;
  if (!project) {
    throw new RunwayError(
      'No Google Cloud project: `project_id` is not set and the credentials do not name one.',
      'Set the `project_id` input.',
    );
  }
  return project;
}

async function deployAll(
  settings: Settings,
  credentials: Credentials,
  project: string,
  image: string,
  github: ReturnType<typeof githubContext>,
  deadline: Deadline,
): Promise<PromiseSettledResult<RegionOutcome>[]> {
  const client = new CloudRunClient(credentials.accessToken);
  const labels = {
    ...(settings.skipDefaultLabels ? {} : defaultLabels(github.sha)),
    ...(settings.spec.labels ?? {}),
  };
  return Promise.allSettled(
    settings.regions.map(async (region) => {
      const ref = { project, region, service: settings.service };
      try {
        return await rolloutRegion(
          {
            client,
            identity: credentials.identity,
            idToken: (audience) => credentials.idToken(audience),
            log: (line) => core.info(`[${region}] ${line}`),
          },
          ref,
          {
            image,
            spec: settings.spec,
            envVarsUpdateStrategy: settings.envVarsUpdateStrategy,
            secretsUpdateStrategy: settings.secretsUpdateStrategy,
            labels,
          },
          {
            traffic: settings.traffic,
            tag: settings.tag,
            revisionTraffic: settings.revisionTraffic,
            tagTraffic: settings.tagTraffic,
            healthCheck: settings.healthCheck,
            rollback: settings.rollback,
            suffix: settings.suffix,
            allowUnauthenticated: settings.spec.allowUnauthenticated,
            deadline,
            candidateTag: candidateTagFor(settings.service, github.runId, github.attempt, randomUUID()),
          },
        );
      } catch (err) {
        throw explainRunError(err, ref, credentials.identity);
      }
    }),
  );
}

/** A private service's health checks need an ID token: mint one now, before anything changes. */
async function checkIdTokens(settings: Settings, credentials: Credentials, project: string): Promise<void> {
  const client = new CloudRunClient(credentials.accessToken);
  const check = { service: settings.service, allowUnauthenticated: settings.spec.allowUnauthenticated };
  const minted = await Promise.all(
    settings.regions.map(async (region) => {
      const ref = { project, region, service: settings.service };
      const live = needsLiveAccess(check)
        ? await liveAccess(client, ref).catch((err: unknown) => {
            throw explainRunError(err, ref, credentials.identity);
          })
        : undefined;
      return checkCanVerifyPrivateService(credentials, check, live);
    }),
  );
  if (minted.some(Boolean))
    core.info(`ID tokens: ${credentials.identity} can mint them for health checks of the private service`);
}

/** The facts of this run every report states, from what is known so far. */
function runFacts(
  settings: Settings,
  project: string | undefined,
  github: ReturnType<typeof githubContext>,
  image: ImageReference | undefined,
  stages: Timeline,
): RunFacts {
  return {
    service: settings.service,
    project: project ?? settings.projectId ?? '',
    image: image?.digest ? formatImage(image, 'digest') : '',
    digest: image?.digest ?? '',
    sha: github.sha,
    ref: process.env.GITHUB_REF ?? '',
    repository: github.repository,
    runUrl: runUrlFrom(),
    stages: stages.steps,
  };
}

export async function run(): Promise<void> {
  const stages = new Timeline();
  const github = githubContext();
  let settings: Settings | undefined;
  let reporter: Reporter | undefined;
  let project: string | undefined;
  let image: ImageReference | undefined;
  try {
    const parsed = await core.group('Inputs', async () => {
      const read = readSettings((name) => core.getInput(name));
      core.info(`service ${read.service} in ${read.regions.join(', ')}; traffic: ${read.traffic}`);
      return read;
    });
    settings = parsed;
    const deadline = Deadline.in(parsed.deployTimeoutSeconds);

    const credentials = await stages.time('authenticate', () =>
      core.group('Authenticate', async () => {
        const creds = await authenticate(parsed, github.repository);
        core.info(`authenticated as ${creds.identity}`);
        return creds;
      }),
    );
    const resolvedProject = resolveProject(parsed, credentials);
    project = resolvedProject;
    reporter = new Reporter(parsed.report, eventFromEnv(), parsed.service);

    // Before the build: every credential the deploy will need, and every secret it references.
    await stages.time('preflight', () =>
      core.group('Preflight', async () => {
        await checkIdTokens(parsed, credentials, resolvedProject);
        const secrets = new SecretManagerClient(credentials.accessToken);
        const { checked, unchecked } = await checkSecrets(
          secrets,
          resolvedProject,
          parsed.spec.secrets,
          credentials.identity,
        );
        if (checked.length) core.info(`secrets: ${checked.join(', ')} exist and are enabled`);
        if (unchecked.length)
          core.info(`secrets: Cloud Run will check ${unchecked.join(', ')} at deploy time`);
      }),
    );
    await reporter.start(github.sha, runUrlFrom());

    const built = await stages.time(parsed.image.kind === 'build' ? 'build and push' : 'resolve image', () =>
      core.group(parsed.image.kind === 'build' ? 'Build and push' : 'Resolve image', async () => {
        const ref = await prepareImage(parsed, credentials, github.sha);
        core.info(`image ${formatImage(ref, 'digest')}`);
        return ref;
      }),
    );
    image = built;
    const imageByDigest = formatImage(built, 'digest');

    const results = await stages.time('deploy and verify', () =>
      core.group(`Deploy and verify (${parsed.regions.join(', ')})`, () =>
        deployAll(parsed, credentials, resolvedProject, imageByDigest, github, deadline),
      ),
    );
    const failed = writeOutputs(parsed.regions, results, imageByDigest, built.digest ?? '');
    const report = buildReport(runFacts(parsed, project, github, built, stages), parsed.regions, results);
    const reportFailure = await core.group('Report', () => reporter!.finish(report));
    const failures = [failed, reportFailure].filter(Boolean);
    if (failures.length) core.setFailed(failures.join('\n'));
  } catch (err) {
    if (settings && reporter) {
      // What stopped the run before any region finished still reaches the summary, status and PR.
      const failedSettings = settings;
      const report = buildReport(
        runFacts(failedSettings, project, github, image, stages),
        failedSettings.regions,
        failedSettings.regions.map(() => ({ status: 'rejected', reason: err }) as const),
      );
      await core
        .group('Report', () => reporter!.finish(report))
        .catch((reportErr: unknown) => core.warning(`Could not report: ${describeError(reportErr)}`));
    }
    core.setFailed(describeError(err));
  }
}
