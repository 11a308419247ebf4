// Building and pushing with the Docker CLI, and resolving tags to digests through the registry API.
// Registry credentials go through --password-stdin into a private DOCKER_CONFIG that is deleted
// afterwards, so no token outlives the step or lands in the workspace.
import * as core from '@actions/core';
import * as exec from '@actions/exec';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunwayError } from '../errors.js';
import { DEFAULT_RETRY, withRetry } from '../gcp/http.js';
import { formatImage, registryBaseUrl, type ImageReference } from './reference.js';

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface BuildPlan {
  context: string;
  dockerfile: string | undefined;
  buildArgs: Record<string, string>;
  target: string | undefined;
  platform: string | undefined;
  image: ImageReference;
  /** Registry reference holding the layer cache; undefined disables caching. */
  cacheRef: string | undefined;
}

/** Where the layer cache of an image lives: the same repository, tag `buildcache`. */
export function cacheReference(image: ImageReference): string {
  return formatImage({ ...image, tag: 'buildcache', digest: undefined }, 'tag');
}

/**
 * The build command's arguments — a pure function, tested without Docker. With buildx the cache is
 * exported to the registry (`--cache-to type=registry`) and the image pushed by the build itself;
 * without it (no buildx plugin), the cache is an inline-cache image pulled before and pushed after.
 */
export function dockerBuildArgs(
  plan: BuildPlan,
  builder: 'buildx' | 'classic',
  metadataFile?: string,
): string[] {
  const args = builder === 'buildx' ? ['buildx', 'build'] : ['build'];
  args.push('--tag', formatImage(plan.image, 'tag'));
  if (plan.dockerfile) args.push('--file', plan.dockerfile);
  if (plan.target) args.push('--target', plan.target);
  if (plan.platform) args.push('--platform', plan.platform);
  for (const [k, v] of Object.entries(plan.buildArgs)) args.push('--build-arg', `${k}=${v}`);
  if (plan.cacheRef) {
    if (builder === 'buildx') {
      args.push(
        '--cache-from',
        `type=registry,ref=${plan.cacheRef}`,
        '--cache-to',
        `type=registry,ref=${plan.cacheRef},mode=max`,
      );
    } else {
      args.push('--cache-from', plan.cacheRef, '--build-arg', 'BUILDKIT_INLINE_CACHE=1');
    }
  }
  if (builder === 'buildx') {
    args.push('--push');
    if (metadataFile) args.push('--metadata-file', metadataFile);
  }
  args.push(plan.context);
  return args;
}

/** `docker push` prints "TAG: digest: sha256:... size: N" once the manifest is stored. */
export function digestFromPushOutput(output: string): string | undefined {
  return /digest: (sha256:[a-f0-9]{64})/.exec(output)?.[1];
}

export class Docker {
  private readonly configDir: string;

  private constructor(configDir: string) {
    this.configDir = configDir;
  }

  static async create(): Promise<Docker> {
    return new Docker(await mkdtemp(join(tmpdir(), 'runway-docker-')));
  }

  private async run(args: string[], options: { input?: string; silent?: boolean } = {}): Promise<string> {
    let stdout = '';
    let stderr = '';
    const code = await exec.exec('docker', args, {
      ignoreReturnCode: true,
      silent: options.silent ?? false,
      ...(options.input !== undefined ? { input: Buffer.from(options.input) } : {}),
      env: { ...(process.env as Record<string, string>), DOCKER_CONFIG: this.configDir },
      listeners: {
        stdout: (data: Buffer) => (stdout += data.toString()),
        stderr: (data: Buffer) => (stderr += data.toString()),
      },
    });
    if (code !== 0) {
      throw new RunwayError(
        `docker ${args[0]} failed (exit ${code}): ${(stderr || stdout).trim().slice(-1500)}`,
      );
    }
    return stdout;
  }

  async login(host: string, accessToken: string): Promise<void> {
    try {
      await withRetry(
        `docker login ${host}`,
        () =>
          this.run(['login', host, '--username', 'oauth2accesstoken', '--password-stdin'], {
            input: accessToken,
            silent: true,
          }),
        DEFAULT_RETRY,
        (err) =>
          err instanceof RunwayError &&
          /timeout|connection refused|connection reset|5\d\d/i.test(err.message),
      );
    } catch (err) {
      throw new RunwayError(
        `Could not log in to ${host}: ${err instanceof Error ? err.message : String(err)}`,
        'Grant the deploying identity roles/artifactregistry.writer on the repository.',
        { cause: err },
      );
    }
  }

  private async hasBuildx(): Promise<boolean> {
    try {
      await this.run(['buildx', 'version'], { silent: true });
      return true;
    } catch {
      return false;
    }
  }

  /** Builds and pushes; returns the digest the registry stored. */
  async buildAndPush(plan: BuildPlan): Promise<string> {
    if (await this.hasBuildx()) {
      const metadataFile = join(this.configDir, 'build-metadata.json');
      await this.run(dockerBuildArgs(plan, 'buildx', metadataFile));
      const metadata = JSON.parse(await readFile(metadataFile, 'utf8')) as Record<string, unknown>;
      const digest = metadata['containerimage.digest'];
      if (typeof digest !== 'string')
        throw new RunwayError('docker buildx did not report the pushed digest.');
      return digest;
    }
    core.info('docker buildx is not available: building with the classic builder and an inline layer cache');
    if (plan.cacheRef) {
      // A missing cache image is normal on the first build.
      await this.run(['pull', plan.cacheRef], { silent: true }).catch(() =>
        core.info(`no layer cache at ${plan.cacheRef} yet`),
      );
    }
    await this.run(dockerBuildArgs(plan, 'classic'));
    const digest = await this.push(plan.image);
    if (plan.cacheRef) {
      await this.run(['tag', formatImage(plan.image, 'tag'), plan.cacheRef], { silent: true });
      await this.run(['push', plan.cacheRef], { silent: true }).catch((err: unknown) =>
        core.warning(
          `could not update the layer cache ${plan.cacheRef}: ${err instanceof Error ? err.message : String(err)}`,
        ),
      );
    }
    return digest;
  }

  /** Pushes the tag and returns the digest the registry stored. */
  async push(image: ImageReference): Promise<string> {
    let output: string;
    try {
      output = await this.run(['push', formatImage(image, 'tag')]);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new RunwayError(
        `Pushing ${formatImage(image, 'tag')} failed: ${message}`,
        /denied|403|unauthorized/i.test(message)
          ? `Grant the deploying identity roles/artifactregistry.writer on the repository (gcloud artifacts repositories add-iam-policy-binding REPO --location=LOCATION --role=roles/artifactregistry.writer --member=...).`
          : undefined,
        { cause: err },
      );
    }
    const digest = digestFromPushOutput(output);
    if (!digest)
      throw new RunwayError(`docker push did not report a digest for ${formatImage(image, 'tag')}.`);
    return digest;
  }

  async dispose(): Promise<void> {
    await rm(this.configDir, { recursive: true, force: true });
  }
}

/** Asks the registry which digest a tag points at (HEAD on the manifest, with the pull token). */
export async function resolveDigest(image: ImageReference, accessToken: string): Promise<string> {
  if (image.digest) return image.digest;
  const url = `${registryBaseUrl(image.host)}/v2/${image.path}/manifests/${image.tag ?? 'latest'}`;
  const basic = Buffer.from(`oauth2accesstoken:${accessToken}`).toString('base64');
  const res = await withRetry(`resolve ${formatImage(image, 'tag')}`, async () => {
    const r = await fetch(url, {
      method: 'HEAD',
      headers: { accept: MANIFEST_TYPES, authorization: `Basic ${basic}` },
    });
    if (r.status >= 500) throw new TypeError(`registry answered ${r.status}`);
    return r;
  });
  const digest = res.headers.get('docker-content-digest');
  if (res.status === 404 || (res.ok && !digest)) {
    throw new RunwayError(
      `Image ${formatImage(image, 'tag')} was not found in the registry.`,
      'Check the `image` input: the tag must exist (push it first), or build it with `context` + `repository`.',
    );
  }
  if (!res.ok || !digest) {
    throw new RunwayError(
      `The registry refused to resolve ${formatImage(image, 'tag')} (HTTP ${res.status}).`,
      'Grant the deploying identity roles/artifactregistry.reader on the repository.',
    );
  }
  core.debug(`${formatImage(image, 'tag')} is ${digest}`);
  return digest;
}
