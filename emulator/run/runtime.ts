// Revisions as real Docker containers: pull the images through the registry front as the
// revision's service account, run each container with its environment, secrets and volumes, and
// wait for its startup probe. An instance runs as Cloud Run runs one: every container shares one
// network namespace (sidecars reach each other on localhost), held by a small "pause" container
// built FROM scratch with the machine's static busybox (Docker Hub is out of reach); containers
// start in dependsOn order, each once the ones it depends on have passed their startup probes.
// Once started, an instance's liveness probes run; one that keeps failing shuts the instance down
// and starts a new one in its namespace.
// Traffic goes straight to the namespace's address on Docker's bridge, with no published port.
// The Docker Engine API does the work (docker-api.ts); only the pause image, built once, goes
// through the CLI.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import {
  LaunchFailure,
  type Address,
  type ContainerLaunch,
  type LivenessFailure,
  type RevisionLaunch,
  type RevisionRuntime,
  type RunningRevision,
  type TaskLaunch,
  type TaskOutcome,
  type TaskRuntime,
} from './infrastructure.js';
import { startOrder, type LivenessProbe } from './model.js';
import { dockerApi, type ContainerSpec, type ContainerState } from './docker-api.js';

export { LaunchFailure, type FailureKind } from './infrastructure.js';

const exec = promisify(execFile);

/** Every container the emulator starts carries runway-emulator=1, so stale ones can be found and removed. */
export const CONTAINER_LABEL = 'runway-emulator';
/** ...and the pid of the emulator that owns it, so concurrent emulators leave each other's alone. */
export const OWNER_LABEL = 'runway-emulator-pid';

/** What the pause container is built from: the static busybox the test images use too. */
const BUSYBOX = '/bin/busybox';

/**
 * Where Docker finds an image: the emulated Artifact Registry serves every location on its one
 * host, so REGION-docker.pkg.dev/PROJECT/REPO/IMAGE (the names gcloud gives source builds) is
 * pulled from there; any other name as it is.
 */
export function registryName(image: string, registryHost: string): string {
  const m = /^[a-z0-9]+(?:-[a-z0-9]+)*-docker\.pkg\.dev\/(.+)$/.exec(image);
  return m ? `${registryHost}/${m[1]}` : image;
}

/** The Docker CLI, for the one build the runtime does (the pause image). */
async function docker(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const { stdout } = await exec('docker', args, {
    env: options.env ?? process.env,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.trim();
}

/**
 * One HTTP liveness check: a GET answered 200–399 within `timeoutMs` (redirects not followed), or
 * how it failed. node:http on a connection of its own rather than fetch: no pooled socket outlives
 * the check, and it costs less CPU (2.5 ms against 3.7 ms a check, measured on this machine).
 */
function httpAlive(
  { host, port }: Address,
  path: string,
  headers: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<LivenessFailure['cause'] | undefined> {
  return new Promise((resolve) => {
    let verdict: LivenessFailure['cause'] | undefined | null = null;
    const done = (v: LivenessFailure['cause'] | undefined): void => {
      if (verdict !== null) return;
      verdict = v;
      clearTimeout(timer);
      req.destroy();
      resolve(v);
    };
    const req = http.get({ host, port, path, headers, agent: false, signal }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      res.once('end', () => done(status >= 200 && status < 400 ? undefined : 'status'));
      res.once('error', () => done('connection'));
    });
    req.once('error', () => done('connection'));
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    timer.unref();
  });
}

/** Whether a TCP connection to the address opens within `timeoutMs`. */
function connects({ host, port }: Address, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(timeoutMs, () => done(false));
  });
}

/**
 * Whether the host's process `pid` catches or ignores SIGTERM (/proc/PID/status, SigCgt and
 * SigIgn; SIGTERM is signal 15, bit 14). When that cannot be read it counts as kept running.
 */
async function keepsRunningOnSigterm(pid: number): Promise<boolean> {
  if (!pid) return true;
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const mask = (field: string): bigint | undefined => {
    const hex = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(status)?.[1];
    return hex ? BigInt(`0x${hex}`) : undefined;
  };
  const caught = mask('SigCgt');
  const ignored = mask('SigIgn');
  if (caught === undefined || ignored === undefined) return true;
  return ((caught | ignored) & (1n << 14n)) !== 0n;
}

/** An in-memory (emptyDir) volume's directory under an instance's root, made writable by anyone. */
async function volumeDir(root: string, volume: string): Promise<string> {
  const path = join(root, 'volumes', volume);
  await mkdir(path, { recursive: true });
  await chmod(path, 0o777);
  return path;
}

/**
 * Whether the app answers on its port: the first bytes of an answer, not just a connection (Cloud
 * Run services speak HTTP, and a listener that never answers is not ready).
 */
function answers({ host, port }: Address): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
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

async function httpOk({ host, port }: Address, path: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${host}:${port}${path}`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status >= 200 && res.status < 400;
  } catch {
    return false;
  }
}

/** The container's last lines of output, stdout and stderr together (docker logs replays both). */
async function containerLogs(containerId: string): Promise<string> {
  return (await dockerApi.logs(containerId, 20).catch(() => '')).trim();
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

/** What went wrong, as the daemon (or whatever threw) said it. */
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** How long a removed instance's output streams get to deliver their last lines. */
const FOLLOW_GRACE_MS = 2000;

/** How long a container without a startup probe must keep running before it counts as started. */
const RUNS_FOR_MS = 500;

/** Cloud Run's time between SIGTERM and SIGKILL when it shuts an instance down. */
const SHUTDOWN_GRACE_MS = 10_000;

/** Liveness restarts closer together than this count as a crash loop, and back off. */
const CRASH_LOOP_WINDOW_MS = 10 * 60_000;
const BACKOFF_MS = 10_000;
const MAX_BACKOFF_MS = 5 * 60_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What one started revision is made of, so it can all go at once. */
interface Instance {
  /** The network namespace it runs in, given back to the pool when it goes. */
  network: Network;
  /** Where its secret files and shared volumes are on the host. */
  root: string;
  containers: string[];
  /** Host directories (secret files, shared volumes) removed with it. */
  dirs: string[];
  /** Its containers' output streams, each ending when its container stops or goes. */
  followers: Array<Promise<void>>;
  /** Each container's spec, in template order, made at its first start. */
  specs: Array<ContainerSpec | undefined>;
  /** Aborted when it goes: its liveness probes stop, and a restart under way gives up. */
  halt: AbortController;
  /** A liveness restart under way; what it started is in `containers` once it settles. */
  restarting?: Promise<void> | undefined;
  /** Liveness restarts in a row, each within CRASH_LOOP_WINDOW_MS of the last, and the last's time. */
  restarts: number;
  lastRestart: number;
}

/** A pause container holding a network namespace, and its address on Docker's bridge. */
interface Network {
  id: string;
  ip: string;
}

/**
 * Network namespaces kept for the next instance. Docker spends about half a second of CPU on a new
 * one (the namespace, its libnetwork-setkey hook, the bridge's veth and iptables rules), three
 * quarters of what starting a container costs; joining one that exists costs next to nothing. An
 * instance's containers are all gone before its namespace comes back, so nothing of it is left
 * listening, and no route points at it any more (a revision that takes traffic cannot be deleted,
 * and a deleted service's URLs close first).
 */
class NetworkPool {
  private readonly idle: Network[] = [];

  constructor(private readonly create: () => Promise<Network>) {}

  async take(): Promise<Network> {
    for (let network = this.idle.pop(); network; network = this.idle.pop()) {
      const state = await dockerApi.state(network.id).catch(() => undefined);
      if (state?.running && state.ip === network.ip) return network;
      await dockerApi.remove([network.id]).catch(() => undefined);
    }
    return this.create();
  }

  give(network: Network): void {
    this.idle.push(network);
  }

  clear(): void {
    this.idle.length = 0;
  }
}

export class ContainerRuntime implements RevisionRuntime, TaskRuntime {
  private readonly workDir: string;
  private readonly instances = new Map<string, Instance>();
  private pauseImage: Promise<string> | undefined;
  private readonly networks = new NetworkPool(() => this.newNetwork());
  private launched = 0;

  constructor(workDir: string) {
    this.workDir = workDir;
  }

  /** Removes containers left by emulators whose process is gone (killed without cleaning up). */
  static async removeOrphans(): Promise<void> {
    const listed = await dockerApi.list([CONTAINER_LABEL]).catch(() => []);
    const orphans = listed
      // Containers from before the owner label carried the pid as runway-emulator's value.
      .filter((c) => !processAlive(Number(c.labels[OWNER_LABEL] || c.labels[CONTAINER_LABEL])))
      .map((c) => c.id);
    if (orphans.length) await dockerApi.remove(orphans).catch(() => undefined);
  }

  /** Removes every container this emulator process started. */
  static async removeOwn(): Promise<void> {
    const own = await dockerApi.list([`${OWNER_LABEL}=${process.pid}`]).catch(() => []);
    if (own.length) await dockerApi.remove(own.map((c) => c.id)).catch(() => undefined);
  }

  removeOrphans(): Promise<void> {
    return ContainerRuntime.removeOrphans();
  }

  async shutdown(): Promise<void> {
    for (const instance of this.instances.values()) instance.halt.abort();
    await Promise.all([...this.instances.values()].map((i) => i.restarting));
    this.networks.clear();
    await ContainerRuntime.removeOwn();
    await Promise.all(
      [...this.instances.values()].flatMap((i) => i.dirs.map((d) => rm(d, { recursive: true, force: true }))),
    );
    this.instances.clear();
  }

  /** The image by digest: as given when it names one, else the repository digest Docker recorded. */
  private static async digestOf(image: string, registryHost: string): Promise<string | undefined> {
    if (/@sha256:[a-f0-9]{64}$/.test(image)) return image;
    const local = registryName(image, registryHost);
    const repository = local.replace(/:[^/:]+$/, '');
    const found = (await dockerApi.repoDigests(local)).find((d) => d.startsWith(`${repository}@`));
    return found && local !== image
      ? `${image.replace(/:[^/:]+$/, '')}${found.slice(repository.length)}`
      : found;
  }

  /** Pulls every image of the revision (each once) as the revision's service account. */
  private async pull(
    launch: Pick<RevisionLaunch, 'containers' | 'registryHost' | 'registryToken'>,
  ): Promise<void> {
    // The registry front answers 403 DENIED when the pulling account lacks downloadArtifacts.
    const failure = (err: unknown, container: number, image: string): LaunchFailure => {
      const detail = messageOf(err);
      const denied = /\bdenied\b/i.test(detail) && !/manifest unknown|not found/i.test(detail);
      return new LaunchFailure(denied ? 'image-denied' : 'image', detail, { container, image });
    };
    const auth = {
      username: 'oauth2accesstoken',
      password: launch.registryToken,
      serveraddress: launch.registryHost,
    };
    const pulled = new Set<string>();
    for (const [i, container] of launch.containers.entries()) {
      if (pulled.has(container.image)) continue;
      pulled.add(container.image);
      // The account's token goes only to the registry it was minted for; other hosts are pulled anonymously.
      const local = registryName(container.image, launch.registryHost);
      const host = local.split('/')[0];
      await dockerApi.pull(local, host === launch.registryHost ? auth : undefined).catch((err: unknown) => {
        throw failure(err, i, container.image);
      });
    }
  }

  private labels(launch: RevisionLaunch, role: string): Record<string, string> {
    return {
      [CONTAINER_LABEL]: '1',
      [OWNER_LABEL]: String(process.pid),
      'runway-service': launch.service,
      'runway-revision': launch.revision,
      'runway-container': role,
    };
  }

  /**
   * What one container runs with: env, secret files (read-only) and shared volumes under `root`,
   * entrypoint and args, and `extra` (the namespace it joins).
   */
  private async spec(
    launch: RevisionLaunch,
    c: ContainerLaunch,
    i: number,
    root: string,
    extra: Pick<ContainerSpec, 'networkMode'>,
  ): Promise<ContainerSpec> {
    const binds: string[] = [];
    for (const [path, content] of Object.entries(c.files)) {
      const hostPath = join(root, `c${i}`, path);
      await mkdir(dirname(hostPath), { recursive: true });
      await writeFile(hostPath, content, { mode: 0o444 });
      binds.push(`${hostPath}:${path}:ro`);
    }
    for (const [path, volume] of Object.entries(c.sharedDirs)) {
      binds.push(`${await volumeDir(root, volume)}:${path}`);
    }
    // As `docker run --entrypoint E IMAGE ARGS…`: the command's first word replaces the image's
    // entrypoint, the rest and the args replace its CMD.
    const [entrypoint, ...commandRest] = c.command ?? [];
    const cmd = [...commandRest, ...(c.args ?? [])];
    return {
      image: registryName(c.image, launch.registryHost),
      env: Object.entries(c.env).map(([k, v]) => `${k}=${v}`),
      labels: this.labels(launch, c.name || String(i)),
      ...(entrypoint ? { entrypoint: [entrypoint] } : {}),
      ...(cmd.length ? { cmd } : {}),
      binds,
      ...extra,
    };
  }

  async launch(launch: RevisionLaunch): Promise<RunningRevision> {
    await this.pull(launch);
    return this.start(launch);
  }

  /** The image every pause container runs: busybox sleeping, FROM scratch (built once, reused). */
  private async pause(): Promise<string> {
    this.pauseImage ??= (async () => {
      const binary = await readFile(BUSYBOX);
      const tag = `runway-emulator-pause:${createHash('sha256').update(binary).digest('hex').slice(0, 16)}`;
      if (await dockerApi.imageExists(tag)) return tag;
      const context = await mkdtemp(join(tmpdir(), 'runway-pause-'));
      try {
        await copyFile(BUSYBOX, join(context, 'busybox'));
        await writeFile(
          join(context, 'Dockerfile'),
          'FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT ["/bin/busybox", "sleep", "2147483647"]\n',
        );
        // The Docker CLI that may come first on PATH refuses BuildKit without buildx (toolchain.md).
        await docker(['build', '-q', '-t', tag, context], {
          env: { ...process.env, DOCKER_BUILDKIT: '0' },
        });
        return tag;
      } finally {
        await rm(context, { recursive: true, force: true });
      }
    })();
    try {
      return await this.pauseImage;
    } catch (err) {
      this.pauseImage = undefined;
      throw err;
    }
  }

  /** A new namespace: a pause container on Docker's bridge, owned by this emulator but no revision. */
  private async newNetwork(): Promise<Network> {
    const image = await this.pause().catch((err: unknown) => {
      throw new LaunchFailure('exited', `could not build the pause image: ${String(err)}`);
    });
    const id = await dockerApi
      .run({
        image,
        env: [],
        labels: { [CONTAINER_LABEL]: '1', [OWNER_LABEL]: String(process.pid), 'runway-container': 'pause' },
      })
      .catch((err: unknown) => {
        throw new LaunchFailure('exited', messageOf(err));
      });
    const { ip } = await dockerApi.state(id);
    if (!ip) {
      await dockerApi.remove([id]).catch(() => undefined);
      throw new LaunchFailure('exited', 'the network namespace has no address on the bridge');
    }
    return { id, ip };
  }

  /** Starts every container of an instance in one namespace from the pool, in dependsOn order. */
  private async start(launch: RevisionLaunch): Promise<RunningRevision> {
    const root = await mkdtemp(join(this.workDir, `rev-${launch.revision}-`));
    const network = await this.networks.take().catch(async (err: unknown) => {
      await rm(root, { recursive: true, force: true });
      throw err;
    });
    const instanceId = `${launch.revision}/${++this.launched}`;
    const instance: Instance = {
      network,
      root,
      containers: [],
      dirs: [root],
      followers: [],
      specs: [],
      halt: new AbortController(),
      restarts: 0,
      lastRestart: 0,
    };
    this.instances.set(instanceId, instance);
    const { ids, failure } = await this.startContainers(launch, instance);
    if (failure) {
      await this.failed(launch, ids[failure.container] ?? network.id, failure.error);
      await this.remove(instanceId);
      throw failure.error;
    }
    this.watch(instance, launch);
    const ingress = launch.containers[launch.ingress]!;
    return {
      id: instanceId,
      address: { host: network.ip, port: launch.port },
      imageDigest: await ContainerRuntime.digestOf(ingress.image, launch.registryHost),
      containers: launch.containers.map((c, i) => ({ name: c.name, id: ids[i]! })),
    };
  }

  /** Whether something listens on the port in the instance's network namespace (a TCP probe). */
  private async listening(network: Network, port: number): Promise<boolean> {
    const table = await dockerApi.exec(network.id, [BUSYBOX, 'netstat', '-ltn']).catch(() => '');
    // Proto Recv-Q Send-Q Local-Address Foreign-Address State
    return table.split('\n').some((line) => (line.trim().split(/\s+/)[3] ?? '').endsWith(`:${port}`));
  }

  /**
   * Runs the instance's containers in its namespace, in dependsOn order, each once the ones it
   * depends on have started; the first failure stops the rest. Each container's spec is made once
   * (its secret files written then): a new instance in the same place runs the same.
   */
  private async startContainers(
    launch: RevisionLaunch,
    instance: Instance,
  ): Promise<{
    ids: Array<string | undefined>;
    failure?: { error: LaunchFailure; container: number } | undefined;
  }> {
    const { network } = instance;
    const pauseId = network.id;
    const at = (port: number): Address => ({ host: network.ip, port });
    const ids: Array<string | undefined> = launch.containers.map(() => undefined);
    let failure: { error: LaunchFailure; container: number } | undefined;
    const started = new Map<number, Promise<void>>();
    const names = launch.containers.map((c) => ({ name: c.name, dependsOn: c.dependsOn }));
    for (const i of startOrder(names)) {
      const c = launch.containers[i]!;
      const deps = c.dependsOn.map((d) => started.get(names.findIndex((n) => n.name === d)));
      started.set(
        i,
        (async () => {
          await Promise.all(deps);
          if (failure) throw failure.error;
          try {
            const spec = (instance.specs[i] ??= await this.spec(launch, c, i, instance.root, {
              networkMode: `container:${pauseId}`,
            }));
            const id = await dockerApi.run(spec).catch((err: unknown) => {
              throw new LaunchFailure('exited', messageOf(err), {
                container: i,
              });
            });
            ids[i] = id;
            instance.containers.push(id);
            const { output } = launch;
            if (output) instance.followers.push(dockerApi.follow(id, (line) => output(c.name, line)));
            if (c.startup) {
              const port = this.probePort(launch, c, i);
              await this.waitStarted(id, c.startup, port, {
                address: at(port),
                // Cloud Run's default check of the ingress port, as a lone container gets it; a
                // configured TCP probe only needs a listener (sidecars need not speak HTTP).
                listening: async () =>
                  c.startup!.configured ? this.listening(network, port) : answers(at(port)),
                also: pauseId,
                stop: () => failure !== undefined || instance.halt.signal.aborted,
              });
            } else {
              // No probe: it has started once it runs, and a container that exits at once must
              // not count as running because it was looked at before it could exit.
              await sleep(RUNS_FOR_MS);
              await this.assertRunning(id);
            }
          } catch (err) {
            const wrapped =
              err instanceof LaunchFailure
                ? err.container === undefined
                  ? new LaunchFailure(err.kind, err.message, { container: i })
                  : err
                : new LaunchFailure('exited', String(err), { container: i });
            failure ??= { error: wrapped, container: i };
            throw wrapped;
          }
        })(),
      );
    }
    await Promise.allSettled(started.values());
    if (!failure) {
      // A sidecar without a startup probe counts as started once it runs: it must still be running.
      for (const [i, id] of ids.entries()) {
        try {
          await this.assertRunning(id!);
        } catch (err) {
          failure = {
            error: new LaunchFailure('exited', (err as Error).message, { container: i }),
            container: i,
          };
          break;
        }
      }
    }
    return { ids, failure };
  }

  /**
   * Runs the liveness probes of the instance's containers until one fails `failureThreshold` times
   * in a row (then the instance restarts) or the instance goes. Each container's checks start
   * `initialDelaySeconds` after every container has started and repeat every `periodSeconds` on
   * an unreferenced timer: nothing busy-waits, and no probe keeps the emulator alive.
   */
  private watch(instance: Instance, launch: RevisionLaunch): void {
    const probed = launch.containers.flatMap((c, i) => (c.liveness ? [{ c, i, probe: c.liveness }] : []));
    if (probed.length === 0 || instance.halt.signal.aborted) return;
    const round = new AbortController();
    const signal = AbortSignal.any([instance.halt.signal, round.signal]);
    for (const { c, i, probe } of probed) {
      const port = probe.port ?? (i === launch.ingress ? launch.port : 8080);
      void this.probeUntilDead(instance.network, probe, port, signal).then((dead) => {
        if (!dead || signal.aborted) return;
        round.abort();
        this.restart(instance, launch, { container: c.name, probe, port, ...dead });
      });
    }
  }

  /** Probes until `failureThreshold` checks in a row fail (how the last failed), or the signal aborts. */
  private async probeUntilDead(
    network: Network,
    probe: LivenessProbe,
    port: number,
    signal: AbortSignal,
  ): Promise<Pick<LivenessFailure, 'failures' | 'cause'> | undefined> {
    let failures = 0;
    let next = Date.now() + probe.initialDelayMs;
    for (;;) {
      await delay(Math.max(0, next - Date.now()), undefined, { signal, ref: false }).catch(() => undefined);
      if (signal.aborted) return undefined;
      next = Date.now() + probe.periodMs;
      const cause = await this.livenessCheck(network, probe, port, signal).catch(() => 'connection' as const);
      if (signal.aborted) return undefined;
      if (!cause) failures = 0;
      else if (++failures >= probe.failureThreshold) return { failures, cause };
    }
  }

  /**
   * One liveness check within `timeoutSeconds`; how it failed, or undefined when the container is
   * alive. HTTP: a GET answered 200–399, redirects not followed. TCP and gRPC: a connection to the
   * port, or (a sidecar's listener on localhost) a listener in the namespace, as startup checks.
   */
  private async livenessCheck(
    network: Network,
    probe: LivenessProbe,
    port: number,
    signal: AbortSignal,
  ): Promise<LivenessFailure['cause'] | undefined> {
    if (probe.action === 'http') {
      const path = probe.httpPath ?? '/';
      return httpAlive(
        { host: network.ip, port },
        path.startsWith('/') ? path : `/${path}`,
        probe.httpHeaders ?? {},
        probe.timeoutMs,
        signal,
      );
    }
    if (await connects({ host: network.ip, port }, probe.timeoutMs)) return undefined;
    return (await this.listening(network, port)) ? undefined : 'connection';
  }

  /**
   * Replaces an instance whose liveness probe failed, as Cloud Run does: the failure logged, every
   * container shut down (SIGTERM, then SIGKILL), and a new instance started in the same place (the
   * same namespace and address, so routes stay), in-memory volumes empty again. Cloud Run limits
   * the restarts of a crash loop (how is UNCONFIRMED): here, as Kubernetes backs off, a restart
   * within ten minutes of the last one waits 10 s, doubling up to 5 min; so does a new instance that
   * fails to start before the next try.
   */
  private restart(instance: Instance, launch: RevisionLaunch, failure: LivenessFailure): void {
    const { signal } = instance.halt;
    launch.events?.livenessFailed(failure);
    const soon = Date.now() - instance.lastRestart < CRASH_LOOP_WINDOW_MS;
    instance.restarts = soon ? instance.restarts + 1 : 0;
    instance.restarting = (async () => {
      await this.shutDown(instance, signal);
      while (!signal.aborted) {
        if (instance.restarts > 0) {
          const wait = Math.min(BACKOFF_MS * 2 ** (instance.restarts - 1), MAX_BACKOFF_MS);
          await delay(wait, undefined, { signal, ref: false }).catch(() => undefined);
          if (signal.aborted) return;
        }
        instance.lastRestart = Date.now();
        await this.freshVolumes(instance, launch);
        launch.events?.replacing();
        const { ids, failure: broken } = await this.startContainers(launch, instance);
        if (signal.aborted) return;
        if (!broken) {
          launch.events?.replaced(launch.containers.map((c, i) => ({ name: c.name, id: ids[i]! })));
          this.watch(instance, launch);
          return;
        }
        await this.failed(launch, ids[broken.container] ?? instance.network.id, broken.error);
        await this.shutDown(instance, signal);
        instance.restarts += 1;
      }
    })()
      .catch((err: unknown) =>
        console.error(`emulator: revision ${launch.revision} could not restart: ${messageOf(err)}`),
      )
      .finally(() => {
        instance.restarting = undefined;
      });
  }

  /** Stops and removes the instance's containers (its namespace stays) and lets their output drain. */
  private async shutDown(instance: Instance, signal: AbortSignal): Promise<void> {
    const ids = [...instance.containers];
    await Promise.all(ids.map((id) => this.terminate(id, signal)));
    await dockerApi.remove(ids);
    instance.containers = instance.containers.filter((id) => !ids.includes(id));
    const followers = instance.followers.splice(0);
    await Promise.race([Promise.all(followers), delay(FOLLOW_GRACE_MS, undefined, { ref: false })]);
  }

  /**
   * SIGTERM, then SIGKILL once Cloud Run's 10 s have passed, or at once when the signal aborts. On
   * Cloud Run a process without a SIGTERM handler dies of it at once; in Docker the container's
   * PID 1 is shielded from signals it does not handle, so it gets SIGKILL at once instead of
   * waiting out the grace for nothing.
   */
  private async terminate(id: string, signal: AbortSignal): Promise<void> {
    const state = await dockerApi.state(id).catch(() => undefined);
    if (!state?.running) return;
    const graced = await keepsRunningOnSigterm(state.pid);
    await dockerApi.kill(id, 'SIGTERM');
    if (graced) {
      await Promise.race([
        dockerApi.wait(id).catch(() => undefined),
        delay(SHUTDOWN_GRACE_MS, undefined, { signal, ref: false }).catch(() => undefined),
      ]);
    }
    await dockerApi.kill(id);
  }

  /** Empties the instance's in-memory volumes: a new instance's start empty, as on Cloud Run. */
  private async freshVolumes(instance: Instance, launch: RevisionLaunch): Promise<void> {
    const volumes = new Set(launch.containers.flatMap((c) => Object.values(c.sharedDirs)));
    if (volumes.size === 0) return;
    await rm(join(instance.root, 'volumes'), { recursive: true, force: true });
    for (const volume of volumes) await volumeDir(instance.root, volume);
  }

  /** The port a container's probe checks: the probe's own, else the ingress port (8080 for a sidecar). */
  private probePort(launch: RevisionLaunch, c: ContainerLaunch, i: number): number {
    return c.startup?.port ?? (i === launch.ingress ? launch.port : 8080);
  }

  private async failed(launch: RevisionLaunch, containerId: string, err: unknown): Promise<void> {
    const logs = await containerLogs(containerId);
    console.error(
      `emulator: revision ${launch.revision} failed to start: ${(err as Error).message}\n${logs}`,
    );
  }

  /** The container's state; throws when it is no longer running (it exited before it was ready). */
  private async assertRunning(containerId: string): Promise<ContainerState> {
    const state = await dockerApi.state(containerId);
    if (!state.running) throw new LaunchFailure('exited', `container exited with code ${state.exitCode}`);
    return state;
  }

  /**
   * Waits for a container's startup probe: an HTTP GET on a path, else `listening` (Cloud Run's
   * default check of the port, or a TCP probe). `also` must keep running too (the pause container).
   */
  private async waitStarted(
    containerId: string,
    startup: NonNullable<ContainerLaunch['startup']>,
    port: number,
    check: {
      address: Address;
      listening(): Promise<boolean>;
      also?: string;
      /** Another container already failed: give up. */
      stop?: () => boolean;
    },
  ): Promise<void> {
    const { httpPath, budgetSeconds, periodMs } = startup;
    const deadline = Date.now() + budgetSeconds * 1000;
    while (Date.now() < deadline) {
      if (check.stop?.()) throw new LaunchFailure('exited', 'another container of the revision failed');
      await this.assertRunning(containerId);
      if (check.also) await this.assertRunning(check.also);
      const ready = httpPath ? await httpOk(check.address, httpPath) : await check.listening();
      if (ready) return;
      await sleep(periodMs);
    }
    throw new LaunchFailure(
      'timeout',
      httpPath
        ? `GET ${httpPath} on port ${port} did not succeed within ${budgetSeconds}s`
        : `did not listen on port ${port} within ${budgetSeconds}s`,
    );
  }

  /**
   * One attempt of a job task: its own container on Docker's bridge (a task listens for nothing),
   * killed at the task's timeout or when the execution is cancelled; its output read back with
   * Docker's timestamps before the container goes.
   */
  async runTask(launch: TaskLaunch, signal: AbortSignal): Promise<TaskOutcome> {
    const container: ContainerLaunch = {
      name: '',
      image: launch.image,
      env: launch.env,
      files: launch.files,
      sharedDirs: {},
      command: launch.command,
      args: launch.args,
      startup: undefined,
      dependsOn: [],
    };
    await this.pull({
      containers: [container],
      registryHost: launch.registryHost,
      registryToken: launch.registryToken,
    });
    const root = await mkdtemp(join(this.workDir, `task-${launch.execution}-${launch.taskIndex}-`));
    let id: string | undefined;
    try {
      const revisionLike = { revision: launch.execution, service: launch.job } as RevisionLaunch;
      const spec = await this.spec(revisionLike, container, 0, root, {});
      spec.labels = {
        [CONTAINER_LABEL]: '1',
        [OWNER_LABEL]: String(process.pid),
        'runway-job': launch.job,
        'runway-execution': launch.execution,
        'runway-task': `${launch.taskIndex}/${launch.attempt}`,
      };
      if (signal.aborted) return { ended: 'cancelled', exitCode: 137, output: [], imageDigest: undefined };
      id = await dockerApi.run(spec).catch((err: unknown) => {
        throw new LaunchFailure('exited', messageOf(err));
      });
      const started = id;
      let ended: TaskOutcome['ended'] = 'exited';
      const stop = (why: TaskOutcome['ended']): void => {
        if (ended === 'exited') ended = why;
        void dockerApi.kill(started).catch(() => undefined);
      };
      const timer = setTimeout(() => stop('timeout'), launch.timeoutSeconds * 1000);
      const onAbort = (): void => stop('cancelled');
      signal.addEventListener('abort', onAbort);
      // A cancellation that came while the container was being created has fired already.
      if (signal.aborted) onAbort();
      let exitCode: number;
      try {
        exitCode = await dockerApi.wait(started);
      } finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      }
      const output = (await dockerApi.timedLines(started).catch(() => [])).map(({ stream, line, time }) => ({
        stream,
        text: line,
        time,
      }));
      return {
        ended,
        exitCode,
        output,
        imageDigest: await ContainerRuntime.digestOf(launch.image, launch.registryHost),
      };
    } finally {
      if (id) await dockerApi.remove([id]).catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    }
  }

  async remove(id: string): Promise<void> {
    const instance = this.instances.get(id);
    if (!instance) return;
    this.instances.delete(id);
    instance.halt.abort();
    // A restart under way stops at its next step; nothing it started may outlive the instance.
    await instance.restarting;
    const removed = await dockerApi.remove(instance.containers).then(
      () => true,
      () => false,
    );
    // A namespace whose containers might not all be gone is not lent again.
    if (removed) this.networks.give(instance.network);
    else await dockerApi.remove([instance.network.id]).catch(() => undefined);
    for (const dir of instance.dirs) await rm(dir, { recursive: true, force: true });
    // Its last lines are in Cloud Logging before anyone hears it is gone (a crash's reason).
    await Promise.race([Promise.all(instance.followers), sleep(FOLLOW_GRACE_MS)]);
  }
}
