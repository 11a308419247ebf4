// Revisions as real Docker containers: pull the image through the registry front as the revision's
// service account, run it with its environment, secrets and PORT, and wait for its startup probe.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { StartupProbe } from './model.js';

const exec = promisify(execFile);

/** Every container the emulator starts carries runway-emulator=1, so stale ones can be found and removed. */
export const CONTAINER_LABEL = 'runway-emulator';
/** ...and the pid of the emulator that owns it, so concurrent emulators leave each other's alone. */
export const OWNER_LABEL = 'runway-emulator-pid';

export interface Launch {
  /** Short revision name, for container names and logs. */
  revision: string;
  service: string;
  image: string;
  env: Record<string, string>;
  /** Absolute path in the container → contents (secret volumes). */
  files: Record<string, Buffer>;
  port: number;
  command: string[] | undefined;
  args: string[] | undefined;
  startup: StartupProbe;
  /** Registry credentials for the pull (the revision's service account token). */
  registryHost: string;
  registryToken: string;
}

export interface Running {
  containerId: string;
  hostPort: number;
  /** REPOSITORY@sha256:… of what was pulled, when Docker knows it. */
  imageDigest: string | undefined;
}

/**
 * Why a revision could not start: its image could not be pulled, its secrets could not be read,
 * its container exited or could not be created, or it never became ready within its allowance.
 */
export type FailureKind = 'image' | 'image-denied' | 'secrets' | 'exited' | 'timeout';

export class LaunchFailure extends Error {
  readonly kind: FailureKind;
  constructor(kind: FailureKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

async function docker(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<string> {
  const child = exec('docker', args, { env: options.env ?? process.env, maxBuffer: 16 * 1024 * 1024 });
  if (options.input !== undefined) {
    child.child.stdin?.end(options.input);
  }
  const { stdout } = await child;
  return stdout.trim();
}

/**
 * Whether the app answers on its port. Docker's userland proxy accepts a TCP connection on the host
 * port even when nothing listens in the container, so a bare connect proves nothing: the probe waits
 * for the first bytes of an answer instead (Cloud Run services speak HTTP).
 */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => socket.write('GET / HTTP/1.0\r\nHost: localhost\r\n\r\n'));
    socket.once('data', () => done(true));
    socket.once('end', () => done(false));
    socket.once('error', () => done(false));
    socket.setTimeout(1000, () => done(false));
  });
}

async function httpOk(port: number, path: string): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status >= 200 && res.status < 400;
  } catch {
    return false;
  }
}

/** The container's last lines of output, stdout and stderr together (docker logs replays both). */
async function containerLogs(containerId: string): Promise<string> {
  try {
    const { stdout, stderr } = await exec('docker', ['logs', '--tail', '20', containerId]);
    return `${stdout}${stderr}`.trim();
  } catch {
    return '';
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ContainerRuntime {
  private readonly workDir: string;
  /** Container id → the host directory holding its secret files, removed with the container. */
  private readonly secretDirs = new Map<string, string>();

  constructor(workDir: string) {
    this.workDir = workDir;
  }

  /** Removes containers left by emulators whose process is gone (killed without cleaning up). */
  static async removeOrphans(): Promise<void> {
    const listing = await docker([
      'ps',
      '-a',
      '--filter',
      `label=${CONTAINER_LABEL}`,
      '--format',
      `{{.ID}} {{.Label "${OWNER_LABEL}"}} {{.Label "${CONTAINER_LABEL}"}}`,
    ]).catch(() => '');
    const orphans = listing
      .split('\n')
      .map((line) => line.trim().split(' '))
      // Containers from before the owner label carried the pid as runway-emulator's value.
      .filter(([id, owner, value]) => id && !processAlive(Number(owner || value)))
      .map(([id]) => id!);
    if (orphans.length) await docker(['rm', '-f', ...orphans]).catch(() => undefined);
  }

  /** Removes every container this emulator process started. */
  static async removeOwn(): Promise<void> {
    const ids = await docker(['ps', '-aq', '--filter', `label=${OWNER_LABEL}=${process.pid}`]).catch(
      () => '',
    );
    if (ids) await docker(['rm', '-f', ...ids.split(/\s+/)]).catch(() => undefined);
  }

  /** The image by digest: as given when it names one, else the repository digest Docker recorded. */
  private static async digestOf(image: string): Promise<string | undefined> {
    if (/@sha256:[a-f0-9]{64}$/.test(image)) return image;
    const repository = image.replace(/:[^/:]+$/, '');
    const listed = await docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', image]).catch(
      () => '[]',
    );
    const digests = JSON.parse(listed || '[]') as string[] | null;
    return (digests ?? []).find((d) => d.startsWith(`${repository}@`));
  }

  private async pull(launch: Launch): Promise<void> {
    const config = await mkdtemp(join(this.workDir, 'docker-'));
    const env = { ...process.env, DOCKER_CONFIG: config };
    try {
      await docker(['login', launch.registryHost, '-u', 'oauth2accesstoken', '--password-stdin'], {
        env,
        input: launch.registryToken,
      });
      await docker(['pull', '-q', launch.image], { env });
    } catch (err) {
      const detail = (err as { stderr?: string }).stderr?.trim() ?? String(err);
      // The registry front answers 403 DENIED when the pulling account lacks downloadArtifacts.
      const denied = /\bdenied\b/i.test(detail) && !/manifest unknown|not found/i.test(detail);
      throw new LaunchFailure(denied ? 'image-denied' : 'image', detail);
    } finally {
      await rm(config, { recursive: true, force: true });
    }
  }

  async launch(launch: Launch): Promise<Running> {
    await this.pull(launch);
    const args = [
      'run',
      '-d',
      '--label',
      `${CONTAINER_LABEL}=1`,
      '--label',
      `${OWNER_LABEL}=${process.pid}`,
      '--label',
      `runway-service=${launch.service}`,
      '--label',
      `runway-revision=${launch.revision}`,
    ];
    args.push('-p', `127.0.0.1::${launch.port}`);
    for (const [k, v] of Object.entries(launch.env)) args.push('-e', `${k}=${v}`);
    let secretsRoot: string | undefined;
    if (Object.keys(launch.files).length) {
      const root = await mkdtemp(join(this.workDir, `secrets-${launch.revision}-`));
      secretsRoot = root;
      for (const [path, content] of Object.entries(launch.files)) {
        const hostPath = join(root, path);
        await mkdir(dirname(hostPath), { recursive: true });
        await writeFile(hostPath, content, { mode: 0o444 });
        args.push('-v', `${hostPath}:${path}:ro`);
      }
    }
    const [entrypoint, ...commandRest] = launch.command ?? [];
    if (entrypoint) args.push('--entrypoint', entrypoint);
    args.push(launch.image, ...commandRest, ...(launch.args ?? []));

    const imageDigest = await ContainerRuntime.digestOf(launch.image);
    let containerId: string;
    try {
      containerId = await docker(args);
      if (secretsRoot) this.secretDirs.set(containerId, secretsRoot);
    } catch (err) {
      if (secretsRoot) await rm(secretsRoot, { recursive: true, force: true });
      throw new LaunchFailure('exited', (err as { stderr?: string }).stderr?.trim() ?? String(err));
    }
    try {
      const hostPort = await this.hostPort(containerId, launch.port);
      await this.waitStarted(containerId, hostPort, launch);
      return { containerId, hostPort, imageDigest };
    } catch (err) {
      const logs = await containerLogs(containerId);
      console.error(
        `emulator: revision ${launch.revision} failed to start: ${(err as Error).message}\n${logs}`,
      );
      await this.remove(containerId);
      throw err instanceof LaunchFailure ? err : new LaunchFailure('exited', String(err));
    }
  }

  /** Throws when the container is no longer running (it exited before it was ready). */
  private async assertRunning(containerId: string): Promise<void> {
    const state = await docker(['inspect', '-f', '{{.State.Running}} {{.State.ExitCode}}', containerId]);
    const [running, exitCode] = state.split(' ');
    if (running !== 'true') throw new LaunchFailure('exited', `container exited with code ${exitCode}`);
  }

  /** The 127.0.0.1 port Docker published the container port on; a container that already exited has none. */
  private async hostPort(containerId: string, port: number): Promise<number> {
    await this.assertRunning(containerId);
    const mapping = await docker(['port', containerId, `${port}/tcp`]).catch(async (err: unknown) => {
      await this.assertRunning(containerId);
      throw err;
    });
    const hostPort = Number(/:(\d+)\s*$/m.exec(mapping.split('\n')[0] ?? '')?.[1]);
    if (!hostPort) throw new LaunchFailure('exited', `no host port published for ${port}/tcp`);
    return hostPort;
  }

  /** Cloud Run's default startup probe checks the port answers; an HTTP probe path overrides it. */
  private async waitStarted(containerId: string, hostPort: number, launch: Launch): Promise<void> {
    const { httpPath, budgetSeconds, periodMs } = launch.startup;
    const deadline = Date.now() + budgetSeconds * 1000;
    while (Date.now() < deadline) {
      await this.assertRunning(containerId);
      const ready = httpPath ? await httpOk(hostPort, httpPath) : await answers(hostPort);
      if (ready) return;
      await new Promise((r) => setTimeout(r, periodMs));
    }
    throw new LaunchFailure(
      'timeout',
      httpPath
        ? `GET ${httpPath} on port ${launch.port} did not succeed within ${budgetSeconds}s`
        : `did not listen on port ${launch.port} within ${budgetSeconds}s`,
    );
  }

  async remove(containerId: string): Promise<void> {
    await docker(['rm', '-f', containerId]).catch(() => undefined);
    const secrets = this.secretDirs.get(containerId);
    this.secretDirs.delete(containerId);
    if (secrets) await rm(secrets, { recursive: true, force: true });
  }
}
