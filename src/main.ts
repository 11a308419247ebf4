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

export async function run(): Promise<void> {
  try {
    const settings = await core.group('Inputs', async () => {
      const parsed = readSettings((name) => core.getInput(name));
      core.info(`service ${parsed.service} in ${parsed.regions.join(', ')}; traffic: ${parsed.traffic}`);
      return parsed;
    });
    const github = githubContext();
    const { sha, repository } = github;
    const deadline = Deadline.in(settings.deployTimeoutSeconds);

    const credentials = await core.group('Authenticate', async () => {
      const creds = await authenticate(settings, repository);
      core.info(`authenticated as ${creds.identity}`);
      return creds;
    });
    const project = resolveProject(settings, credentials);

    // Before the build: every credential the deploy will need, and every secret it references.
    await core.group('Preflight', async () => {
      await checkIdTokens(settings, credentials, project);
      const secrets = new SecretManagerClient(credentials.accessToken);
      const { checked, unchecked } = await checkSecrets(
        secrets,
        project,
        settings.spec.secrets,
        credentials.identity,
      );
      if (checked.length) core.info(`secrets: ${checked.join(', ')} exist and are enabled`);
      if (unchecked.length) core.info(`secrets: Cloud Run will check ${unchecked.join(', ')} at deploy time`);
    });

    const image = await core.group(
      settings.image.kind === 'build' ? 'Build and push' : 'Resolve image',
      async () => {
        const ref = await prepareImage(settings, credentials, sha);
        core.info(`image ${formatImage(ref, 'digest')}`);
        return ref;
      },
    );
    const imageByDigest = formatImage(image, 'digest');

    const results = await core.group(`Deploy and verify (${settings.regions.join(', ')})`, () =>
      deployAll(settings, credentials, project, imageByDigest, github, deadline),
    );
    const failed = writeOutputs(settings.regions, results, imageByDigest, image.digest ?? '');
    if (failed) core.setFailed(failed);
  } catch (err) {
    core.setFailed(describeError(err));
  }
}
