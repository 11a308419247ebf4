// Revisions as real Docker containers: pull the image through the registry front as the revision's
// service account, run it with its environment, secrets and PORT, and wait for its startup probe.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Every container the emulator starts carries this label, so stale ones can be found and removed. */
export const CONTAINER_LABEL = 'runway-emulator';

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
  startupTimeoutSeconds: number;
  httpProbePath: string | undefined;
  /** Registry credentials for the pull (the revision's service account token). */
  registryHost: string;
  registryToken: string;
}

export interface Running {
  containerId: string;
  hostPort: number;
}

export class LaunchFailure extends Error {
  readonly kind: 'image' | 'start';
  constructor(kind: 'image' | 'start', message: string) {
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
      `{{.ID}} {{.Label "${CONTAINER_LABEL}"}}`,
    ]).catch(() => '');
    const orphans = listing
      .split('\n')
      .map((line) => line.trim().split(' '))
      .filter(([id, pid]) => id && pid && !processAlive(Number(pid)))
      .map(([id]) => id!);
    if (orphans.length) await docker(['rm', '-f', ...orphans]).catch(() => undefined);
  }

  /** Removes every container this emulator process started. */
  static async removeOwn(): Promise<void> {
    const ids = await docker(['ps', '-aq', '--filter', `label=${CONTAINER_LABEL}=${process.pid}`]).catch(
      () => '',
    );
    if (ids) await docker(['rm', '-f', ...ids.split(/\s+/)]).catch(() => undefined);
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
      throw new LaunchFailure('image', detail);
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
      `${CONTAINER_LABEL}=${process.pid}`,
      '--label',
      `runway-revision=${launch.revision}`,
    ];
    args.push('-p', `127.0.0.1::${launch.port}`);
    for (const [k, v] of Object.entries(launch.env)) args.push('-e', `${k}=${v}`);
    if (Object.keys(launch.files).length) {
      const root = await mkdtemp(join(this.workDir, `secrets-${launch.revision}-`));
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

    let containerId: string;
    try {
      containerId = await docker(args);
    } catch (err) {
      throw new LaunchFailure('start', (err as { stderr?: string }).stderr?.trim() ?? String(err));
    }
    try {
      const mapping = await docker(['port', containerId, `${launch.port}/tcp`]);
      const hostPort = Number(/:(\d+)\s*$/m.exec(mapping.split('\n')[0] ?? '')?.[1]);
      await this.waitStarted(containerId, hostPort, launch);
      return { containerId, hostPort };
    } catch (err) {
      const logs = await docker(['logs', '--tail', '20', containerId]).catch(() => '');
      console.error(
        `emulator: revision ${launch.revision} failed to start: ${(err as Error).message}\n${logs}`,
      );
      await this.remove(containerId);
      throw err instanceof LaunchFailure ? err : new LaunchFailure('start', String(err));
    }
  }

  /** Cloud Run's default startup probe checks the port answers; an HTTP probe path overrides it. */
  private async waitStarted(containerId: string, hostPort: number, launch: Launch): Promise<void> {
    const deadline = Date.now() + launch.startupTimeoutSeconds * 1000;
    while (Date.now() < deadline) {
      const state = await docker(['inspect', '-f', '{{.State.Running}} {{.State.ExitCode}}', containerId]);
      if (!state.startsWith('true')) throw new LaunchFailure('start', `container exited (${state})`);
      const ready = launch.httpProbePath
        ? await httpOk(hostPort, launch.httpProbePath)
        : await answers(hostPort);
      if (ready) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new LaunchFailure(
      'start',
      `did not listen on port ${launch.port} within ${launch.startupTimeoutSeconds}s`,
    );
  }

  async remove(containerId: string): Promise<void> {
    await docker(['rm', '-f', containerId]).catch(() => undefined);
  }
}
