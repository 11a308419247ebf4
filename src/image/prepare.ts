// The image a run deploys: built and pushed (with `context`), or resolved to its digest (with
// `image`). Google credentials go to Google registries only; the right to push is proven before
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
