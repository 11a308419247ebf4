// The image a run deploys: built and pushed (with `context`), or resolved to its digest (with
// `image`). Google credentials go to Google registries only; the right to push is proven before
// anything is built; build values are masked and never reach argv.
import * as core from '@actions/core';
import * as log from '../common/log.js';
import type { Credentials } from '../auth/credentials.js';
import type { Settings } from '../inputs/inputs.js';
import { cacheReference } from './build-plan.js';
import { Docker } from './docker.js';
import {
  buildImageReference,
  extraGoogleRegistries,
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
