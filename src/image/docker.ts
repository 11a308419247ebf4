// Building and pushing with the Docker CLI. For a Google registry Runway's credential lives in a
// private DOCKER_CONFIG under RUNNER_TEMP (removed at the end of the step, and again by the post
// step if the job is cancelled), seeded with the user's own config so their other logins still
// work; the user's buildx builders stay visible through BUILDX_CONFIG. The credential is served by a
// Docker credential helper reading a token file Runway keeps fresh: Docker and buildx ask helpers at
// every pull and push (a `docker login` entry is read once, when the CLI starts), so a build that
// outlives its token still pushes. For any other registry Runway sends nothing and uses the user's
// Docker config as it is (their docker/login-action step).
import * as core from '@actions/core';
import * as exec from '@actions/exec';
import { mkdir, mkdtemp, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { basename, delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { RunwayError } from '../errors.js';
import * as log from '../common/log.js';
import { Untrusted } from '../common/untrusted.js';
import { withRetry, type RetryOptions } from '../common/http.js';
import { isDigest } from './reference.js';
import { parseBuildxInspect, planBuild, type BuildPlan, type BuilderDriver } from './build-plan.js';

/** docker exited non-zero; `output` is what it printed last, as it printed it. */
export class DockerFailed extends RunwayError {
  constructor(
    readonly command: string,
    readonly exitCode: number,
    readonly output: Untrusted,
  ) {
    super(`docker ${command} failed (exit ${exitCode}): ${output.map((t) => t.slice(-1500)).forLog(1500)}`);
    this.name = 'DockerFailed';
  }
}

/** A failed `docker push`: its last line as the message (for the retry log), all of it as `detail`. */
class PushFailed extends Error {
  constructor(readonly detail: string) {
    super(
      detail
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .pop() ?? detail,
    );
    this.name = 'PushFailed';
  }
}

const PUSH_RETRY: RetryOptions = { attempts: 3, initialDelayMs: 1000, maxDelayMs: 8000 };

/** Whether docker push failed on something another attempt may not meet: a 5xx, 429 or a dropped connection. */
export function isTransientPushFailure(output: string): boolean {
  if (/\b(denied|unauthorized|forbidden|name unknown|manifest invalid|not found)\b/i.test(output))
    return false;
  return /\b(5\d\d|429)\b|connection reset|broken pipe|\bEOF\b|i\/o timeout|timed? ?out|connection refused/i.test(
    output,
  );
}

/** The state key under which the post step finds the private Docker config to remove. */
export const DOCKER_CONFIG_STATE = 'docker-config';

/** Where private Docker configs are made: the runner's temporary directory. */
export function scratchBase(env: NodeJS.ProcessEnv = process.env): string {
  return env.RUNNER_TEMP || tmpdir();
}

const PRIVATE_CONFIG_PREFIX = 'runway-docker-';

/**
 * Whether `path` names a directory as Runway makes its private Docker config: directly in
 * `base`, named by mkdtemp from Runway's prefix. The post step removes nothing else, whatever the
 * saved state says (a build's output can write state too).
 */
export function isPrivateConfigPath(path: string, base: string): boolean {
  const resolvedBase = resolve(base);
  const resolved = resolve(path);
  return (
    isAbsolute(path) &&
    dirname(resolved) === resolvedBase &&
    new RegExp(`^${PRIVATE_CONFIG_PREFIX}[A-Za-z0-9]{6}$`).test(basename(resolved))
  );
}

/** `docker push` prints "TAG: digest: sha256:... size: N" once the manifest is stored. */
export function digestFromPushOutput(output: string): string | undefined {
  return /digest: (sha256:[a-f0-9]{64})/.exec(output)?.[1];
}

/** The user's Docker config directory: $DOCKER_CONFIG, else ~/.docker. */
export function userDockerConfig(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || join(homedir(), '.docker');
}

/** The credential helper's name: Docker runs `docker-credential-runway get`. */
export const CREDENTIAL_HELPER = 'runway';

/**
 * The user's config.json with Runway's helper answering for `host`: the user's other logins,
 * stores and helpers keep working; a stale `auths` entry for the host is dropped.
 */
export function privateConfigFrom(
  userConfig: Record<string, unknown>,
  host: string,
): Record<string, unknown> {
  const helpers = (userConfig.credHelpers as Record<string, string> | undefined) ?? {};
  const auths = (userConfig.auths as Record<string, unknown> | undefined) ?? {};
  return {
    ...userConfig,
    auths: Object.fromEntries(Object.entries(auths).filter(([h]) => h !== host)),
    credHelpers: { ...helpers, [host]: CREDENTIAL_HELPER },
  };
}

/** Settings of a Docker config that carry no credential and hand nothing to a build. */
const HARMLESS_SETTINGS = ['currentContext', 'features', 'experimental', 'cliPluginsExtraDirs'] as const;

/**
 * The config a build of fork code runs with: the user's harmless settings only. No `auths`, no
 * `credsStore` or `credHelpers` (a helper answers for a whole host, whatever repository the fork's
 * `FROM` names), no `proxies` (Docker hands them to the build, and a proxy URL may hold a password).
 */
export function anonymousConfigFrom(userConfig: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    HARMLESS_SETTINGS.filter((k) => userConfig[k] !== undefined).map((k) => [k, userConfig[k]]),
  );
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * A Docker credential helper (docker-credential-helpers protocol): `get` reads the server URL on
 * stdin and answers oauth2accesstoken with the token in `tokenFile`; store/erase/list do nothing.
 */
export function credentialHelperScript(tokenFile: string): string {
  return [
    '#!/bin/sh',
    '# Runway: answers Docker with the freshest Google access token (see src/image/docker.ts).',
    // Read stdin whatever the command, so Docker's write to it never meets a closed pipe.
    'input=$(cat)',
    'case "$1" in',
    '  get)',
    `    printf '{"ServerURL":"%s","Username":"oauth2accesstoken","Secret":"%s"}\\n' "$input" "$(cat ${shellQuote(tokenFile)})"`,
    '    ;;',
    "  list) printf '{}\\n' ;;",
    'esac',
    '',
  ].join('\n');
}

export interface BuildOptions {
  /** The buildx builder to use (the `builder` input); empty: BUILDX_BUILDER or the current one. */
  builder: string | undefined;
  /** Hands Docker a fresh token (Google registries); called right before pushes. */
  refreshCredential: (() => Promise<void>) | undefined;
  /** How often to refresh the credential while buildx builds (it asks the helper at push time). */
  refreshEveryMs?: number;
}

export class Docker {
  private constructor(
    /** Private config directory, or undefined when the user's own config is used. */
    private readonly privateConfig: string | undefined,
    private readonly env: Record<string, string>,
  ) {}

  /** Docker with the user's own configuration: no Runway login (non-Google registries). */
  static userConfig(): Docker {
    return new Docker(undefined, {});
  }

  /** Docker with a private config whose credential helper answers for the Google registry `host`. */
  static async privateConfig(host: string): Promise<Docker> {
    const { dir, userConfig, user } = await Docker.configDirectory(true);
    await writeFile(join(dir, 'config.json'), JSON.stringify(privateConfigFrom(userConfig, host)), {
      mode: 0o600,
    });
    await mkdir(join(dir, 'bin'));
    await writeFile(join(dir, 'token'), '', { mode: 0o600 });
    await writeFile(
      join(dir, 'bin', `docker-credential-${CREDENTIAL_HELPER}`),
      credentialHelperScript(join(dir, 'token')),
      { mode: 0o700 },
    );
    return new Docker(dir, {
      PATH: `${join(dir, 'bin')}${delimiter}${process.env.PATH ?? ''}`,
      DOCKER_CONFIG: dir,
      // Builders created by docker/setup-buildx-action live in the user's buildx directory.
      BUILDX_CONFIG: process.env.BUILDX_CONFIG || join(user, 'buildx'),
    });
  }

  /** Docker with a config that holds no credential at all: what a build of fork code runs with. */
  static async anonymousConfig(): Promise<Docker> {
    const { dir, userConfig, user } = await Docker.configDirectory(false);
    await writeFile(join(dir, 'config.json'), JSON.stringify(anonymousConfigFrom(userConfig)), {
      mode: 0o600,
    });
    return new Docker(dir, {
      DOCKER_CONFIG: dir,
      BUILDX_CONFIG: process.env.BUILDX_CONFIG || join(user, 'buildx'),
    });
  }

  /** A new config directory under RUNNER_TEMP, beside the user's config it starts from. */
  private static async configDirectory(
    holdsCredential: boolean,
  ): Promise<{ dir: string; userConfig: Record<string, unknown>; user: string }> {
    const base = scratchBase();
    await mkdir(base, { recursive: true });
    const dir = await mkdtemp(join(base, PRIVATE_CONFIG_PREFIX));
    // The post step removes the one that holds a credential if the job is cancelled.
    if (holdsCredential) core.saveState(DOCKER_CONFIG_STATE, dir);
    const user = userDockerConfig();
    let userConfig: Record<string, unknown> = {};
    try {
      userConfig = JSON.parse(await readFile(join(user, 'config.json'), 'utf8')) as Record<string, unknown>;
    } catch {
      // No config (or unreadable): start empty.
    }
    // CLI plugins (a buildx that setup-buildx-action installed) and contexts live beside the
    // user's config.json; the private config must not hide them.
    for (const shared of ['cli-plugins', 'contexts']) {
      const target = join(user, shared);
      if (
        await stat(target).then(
          () => true,
          () => false,
        )
      )
        await symlink(target, join(dir, shared));
    }
    return { dir, userConfig, user };
  }

  /**
   * Runs docker. What it prints comes from the Dockerfile's `RUN` steps and the registry as much as
   * from Docker, so it reaches the log only line by line through log.ts, where no line can act as a
   * workflow command; `silent` keeps it out of the log altogether.
   */
  private async run(
    args: string[],
    options: { input?: string; silent?: boolean; env?: Record<string, string> } = {},
  ): Promise<string> {
    let stdout = '';
    let stderr = '';
    const [shownOut, shownErr] = options.silent ? [] : [log.lineWriter(), log.lineWriter()];
    if (!options.silent) log.info(`[command]docker ${args.join(' ')}`);
    const code = await exec.exec('docker', args, {
      ignoreReturnCode: true,
      silent: true,
      ...(options.input !== undefined ? { input: Buffer.from(options.input) } : {}),
      env: { ...(process.env as Record<string, string>), ...this.env, ...options.env },
      listeners: {
        stdout: (data: Buffer) => {
          stdout += data.toString();
          shownOut?.push(data.toString());
        },
        stderr: (data: Buffer) => {
          stderr += data.toString();
          shownErr?.push(data.toString());
        },
      },
    });
    shownOut?.end();
    shownErr?.end();
    if (code !== 0) throw new DockerFailed(args[0]!, code, Untrusted.of((stderr || stdout).trim()));
    return stdout;
  }

  /**
   * Puts a fresh access token where the credential helper reads it (written whole, then renamed,
   * so Docker never reads half a token).
   */
  async setToken(accessToken: string): Promise<void> {
    if (!this.privateConfig) throw new Error('Runway hands Docker tokens only through its private config');
    const next = join(this.privateConfig, `token.${process.pid}.next`);
    await writeFile(next, accessToken, { mode: 0o600 });
    await rename(next, join(this.privateConfig, 'token'));
  }

  /** The driver of the builder buildx would use; `none` without buildx. */
  async detectDriver(builder: string | undefined): Promise<BuilderDriver> {
    try {
      await this.run(['buildx', 'version'], { silent: true });
    } catch {
      return 'none';
    }
    const output = await this.run(['buildx', 'inspect', ...(builder ? [builder] : [])], { silent: true });
    const found = parseBuildxInspect(output);
    if (!found) throw new RunwayError(`docker buildx inspect did not name a builder and driver:\n${output}`);
    log.info(`buildx builder ${found.name} (driver ${found.driver})`);
    return found.driver;
  }

  /**
   * Builds fork code into the local image store, pushing nothing: this Docker should hold no
   * credential (anonymousConfig). The caller pushes the tag with one that does.
   */
  async buildUntrusted(plan: BuildPlan, options: Pick<BuildOptions, 'builder'>): Promise<void> {
    const driver = await this.checkDriver(plan, options.builder);
    const command = planBuild({ ...plan, untrusted: true }, driver, { builder: options.builder });
    await this.run(command.args, { env: command.env });
  }

  private async checkDriver(plan: BuildPlan, builder: string | undefined): Promise<BuilderDriver> {
    const driver = await this.detectDriver(builder);
    if (driver === 'none') {
      if (Object.keys(plan.secrets).length > 0) {
        throw new RunwayError(
          '`build_secrets` need BuildKit, and this runner has no docker buildx.',
          'Add a docker/setup-buildx-action step before Runway, or remove `build_secrets`.',
        );
      }
      log.info('docker buildx is not available: building with the classic builder and an inline layer cache');
    }
    return driver;
  }

  /** Builds and pushes; returns the digest the registry stored. */
  async buildAndPush(plan: BuildPlan, options: BuildOptions): Promise<string> {
    const driver = await this.checkDriver(plan, options.builder);
    const scratch =
      this.privateConfig ?? (await mkdtemp(join(process.env.RUNNER_TEMP || tmpdir(), 'runway-')));
    try {
      const metadataFile = join(scratch, 'build-metadata.json');
      const command = planBuild(plan, driver, { builder: options.builder, metadataFile });
      if (command.pushes) return await this.buildxBuild(command, metadataFile, options);
      if (plan.cacheRef) {
        // A missing cache image is normal on the first build.
        await this.run(['pull', plan.cacheRef], { silent: true }).catch(() =>
          log.info(`no layer cache at ${plan.cacheRef} yet`),
        );
      }
      await this.run(command.args, { env: command.env });
      // The token handed to Docker before the build may have expired during it.
      await options.refreshCredential?.();
      const [image, cache] = command.pushAfter;
      const digest = await this.push(image!);
      if (cache) {
        await this.run(['tag', image!, cache], { silent: true });
        await this.run(['push', cache], { silent: true }).catch((err: unknown) =>
          core.warning(
            `could not update the layer cache ${cache}: ${err instanceof Error ? err.message : String(err)}`,
          ),
        );
      }
      return digest;
    } finally {
      if (!this.privateConfig) await rm(scratch, { recursive: true, force: true });
    }
  }

  /** buildx pushes at the end of the build, with what the credential helper answers then. */
  private async buildxBuild(
    command: ReturnType<typeof planBuild>,
    metadataFile: string,
    options: BuildOptions,
  ): Promise<string> {
    let refreshing: Promise<void> = Promise.resolve();
    const timer = options.refreshCredential
      ? setInterval(() => {
          refreshing = refreshing
            .then(() => options.refreshCredential?.())
            .catch((err: unknown) =>
              core.warning(`could not refresh the registry credential: ${String(err)}`),
            );
        }, options.refreshEveryMs ?? 30_000)
      : undefined;
    try {
      await this.run(command.args, { env: command.env });
    } finally {
      if (timer) clearInterval(timer);
      await refreshing;
    }
    const metadata = JSON.parse(await readFile(metadataFile, 'utf8')) as Record<string, unknown>;
    const digest = metadata['containerimage.digest'];
    if (typeof digest !== 'string' || !isDigest(digest))
      throw new RunwayError('docker buildx did not report the pushed digest.');
    return digest;
  }

  /**
   * Pushes the tag and returns the digest the registry stored. Docker retries a failed layer
   * upload itself but not the manifest: a push that failed on a server error or a dropped
   * connection is pushed again (layers already stored are skipped), one that was refused is not.
   */
  async push(tag: string): Promise<string> {
    let output: string;
    try {
      output = await withRetry(
        `docker push ${tag}`,
        () =>
          this.run(['push', tag]).catch((err: unknown) => {
            throw new PushFailed(
              err instanceof DockerFailed
                ? err.output.raw()
                : err instanceof Error
                  ? err.message
                  : String(err),
            );
          }),
        PUSH_RETRY,
        (err) => err instanceof PushFailed && isTransientPushFailure(err.detail),
      );
    } catch (err) {
      const message =
        err instanceof PushFailed
          ? Untrusted.of(err.detail).forLog(1500)
          : err instanceof Error
            ? err.message
            : String(err);
      throw new RunwayError(`Pushing ${tag} failed: ${message}`, undefined, { cause: err });
    }
    const digest = digestFromPushOutput(output);
    if (!digest) throw new RunwayError(`docker push did not report a digest for ${tag}.`);
    return digest;
  }

  async dispose(): Promise<void> {
    if (this.privateConfig) await rm(this.privateConfig, { recursive: true, force: true });
  }
}
