// The image a run deploys: built and pushed (with `context`), built on Google (with `source`,
// remote-build.ts), or resolved to its digest (with `image`). Google credentials go to Google registries only; the right to push is proven before
// anything is built; build values are masked and never reach argv. Fork code is built by a Docker
// holding no registry credential at all, and only the push after it gets one.
import * as core from '@actions/core';
import * as log from '../common/log.js';
import type { Credentials } from '../auth/credentials.js';
import type { Settings } from '../inputs/inputs.js';
import { cacheReference, type BuildPlan } from './build-plan.js';
import { Docker } from './docker.js';
import {
  buildImageReference,
  extraGoogleRegistries,
  formatImage,
  isGoogleRegistry,
  parseImageReference,
  type ImageReference,
} from './reference.js';
import { provePushAccess, resolveDigest, type RegistryAuth } from './registry.js';
import type { Deadline } from '../common/deadline.js';
import { RunwayError } from '../errors.js';
import { CloudBuildClient } from '../gcp/cloudbuild.js';
import { entryText, LoggingClient, quote } from '../gcp/logging.js';
import { CloudRunClient } from '../gcp/run.js';
import { StorageClient } from '../gcp/storage.js';
import { buildOnGoogle } from './remote-build.js';
import { packSource } from './source-archive.js';
import type { ResolvedBuild } from '../inputs/build-flags.js';

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

export async function prepareImage(
  settings: Settings,
  credentials: Credentials,
  sha: string,
  forkCode = false,
): Promise<ImageReference> {
  const source = settings.image;
  if (!source) throw new Error('No image to prepare: a clean-up deploys nothing.');
  if (source.kind === 'prebuilt') {
    const image = parseImageReference(source.ref);
    return { ...image, digest: await resolveDigest(image, registryAuth(image.host, credentials)) };
  }
  if (source.kind === 'source') throw new Error('A build on Google is prepared by prepareSourceImage.');
  maskBuildValues(source.buildArgs, source.secrets);
  const image = buildImageReference(source.repository, settings.service, sha);
  const google = registryAuth(image.host, credentials).kind === 'google';
  if (google) {
    // Before anything is built: a missing role or repository fails now, with the fix.
    await provePushAccess(image, credentials.accessToken, credentials.identity);
    log.info(`${credentials.identity} may push to ${image.host}/${image.path}`);
  } else {
    log.info(
      `${image.host} is not a Google registry: Runway sends it no Google credentials and pushes with your own docker login`,
    );
  }
  const plan: BuildPlan = {
    context: source.context,
    dockerfile: source.dockerfile,
    buildArgs: source.buildArgs,
    secrets: source.secrets,
    target: source.target,
    platform: source.platform,
    image,
    cacheRef: source.cache ? cacheReference(image) : undefined,
  };
  const untrusted = forkCode && !source.forkCredentials;
  if (untrusted) {
    // Docker's credential helpers answer per host, not per repository: a build holding the
    // deployer's credential could pull any private image on the host. So the build holds none.
    log.info('fork code: building with no registry credentials (no layer cache); only the push gets them');
    const anonymous = await Docker.anonymousConfig();
    try {
      await anonymous.buildUntrusted(plan, { builder: source.builder });
    } finally {
      await anonymous.dispose();
    }
  } else if (forkCode) {
    core.warning(
      "fork_build_credentials: true: the fork's Dockerfile builds with your registry credentials and can pull any image they can read.",
    );
  }
  const docker = google ? await Docker.privateConfig(image.host) : Docker.userConfig();
  try {
    const refreshCredential = google
      ? async (): Promise<void> => docker.setToken(await credentials.accessToken())
      : undefined;
    await refreshCredential?.();
    const digest = untrusted
      ? await docker.push(formatImage(image, 'tag'))
      : await docker.buildAndPush(plan, { builder: source.builder, refreshCredential });
    return { ...image, digest };
  } finally {
    await docker.dispose();
  }
}

/**
 * `source`: packed as gcloud packs it, built on Google in the first region, and returned by digest.
 * Fork code is not built there: the build runs as the project's build account, with its rights.
 */
export async function prepareSourceImage(
  settings: Settings,
  credentials: Credentials,
  project: string,
  sha: string,
  deadline: Deadline,
  build: ResolvedBuild,
  forkCode = false,
): Promise<ImageReference> {
  const source = settings.image;
  if (source?.kind !== 'source') throw new Error('No source to build.');
  if (forkCode)
    throw new RunwayError(
      "`source` builds on Google as the project's build service account, which a fork's code must not run as.",
      'Deploy fork pull requests with `context` (built on the runner with no registry credentials). Nothing was deployed.',
    );
  const image = buildImageReference(source.repository, settings.service, sha);
  if (!isGoogleRegistry(image.host, extraGoogleRegistries()))
    throw new RunwayError(
      `\`repository\` ${image.host} is not Artifact Registry; a build on Google pushes only there.`,
      'Set `repository` to an Artifact Registry path, HOST/PROJECT/REPOSITORY (e.g. us-central1-docker.pkg.dev/my-project/my-repo).',
    );
  const archive = packSource(source.source);
  log.info(
    `source ${source.source}: ${archive.paths.length} paths (ignore rules: ${archive.ignoreRules}); ${archive.hasDockerfile ? 'a Dockerfile' : 'no Dockerfile: buildpacks'}`,
  );
  const logging = new LoggingClient(credentials.accessToken);
  const digest = await buildOnGoogle(
    {
      storage: new StorageClient(credentials.accessToken),
      run: new CloudRunClient(credentials.accessToken),
      cloudBuild: new CloudBuildClient(credentials.accessToken),
      buildLog: async (p, buildId) => {
        if (settings.logLines === 0) return [];
        const { entries } = await logging.listEntries({
          resourceNames: [`projects/${p}`],
          filter: `resource.type = "build" AND resource.labels.build_id = ${quote(buildId)}`,
          orderBy: 'timestamp desc',
          pageSize: Math.min(settings.logLines, 50),
        });
        return entries.reverse().map(entryText);
      },
    },
    {
      project,
      region: settings.regions[0]!,
      service: settings.service,
      archive,
      imageUri: formatImage(image, 'tag'),
      baseImage: source.baseImage,
      automaticUpdates: source.automaticUpdates,
      build,
      kind: settings.job ? 'job' : 'service',
      deadline,
    },
  );
  return { ...image, digest };
}
