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
import { cacheReference, Docker, resolveDigest } from './image/docker.js';
import {
  buildImageReference,
  formatImage,
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

async function prepareImage(
  settings: Settings,
  credentials: Credentials,
  sha: string,
): Promise<ImageReference> {
  const token = await credentials.accessToken();
  if (settings.image.kind === 'prebuilt') {
    const image = parseImageReference(settings.image.ref);
    return { ...image, digest: await resolveDigest(image, token) };
  }
  const image = buildImageReference(settings.image.repository, settings.service, sha);
  const docker = await Docker.create();
  try {
    await docker.login(image.host, token);
    const digest = await docker.buildAndPush({
      context: settings.image.context,
      dockerfile: settings.image.dockerfile,
      buildArgs: settings.image.buildArgs,
      target: settings.image.target,
      platform: settings.image.platform,
      image,
      cacheRef: settings.image.cache ? cacheReference(image) : undefined,
    });
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
