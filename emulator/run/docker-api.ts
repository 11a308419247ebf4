// The Docker Engine API over its socket, for the few calls the emulator's runtime makes on every
// revision (pull, create, start, inspect, logs, exec, remove). Each `docker` CLI call starts a Go
// program that pings the daemon and negotiates a version before doing one request; a revision
// took eight or more of them, plus one per readiness poll, and on two cores those processes were a
// large share of a test run. Speaking the API directly does the same requests without them.
// Reference: https://docs.docker.com/reference/api/engine/ (paths without a version prefix take
// the daemon's own version).
import http from 'node:http';

/** An answer of the daemon other than 2xx: its status and its `message`, as the CLI would print. */
export class DockerApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Where the daemon listens: DOCKER_HOST (unix:// or tcp://), else the default socket. */
function endpoint(): { socketPath: string } | { host: string; port: number } {
  const configured = process.env.DOCKER_HOST ?? '';
  if (configured.startsWith('unix://')) return { socketPath: configured.slice('unix://'.length) };
  if (configured.startsWith('tcp://')) {
    const url = new URL(configured.replace(/^tcp:/, 'http:'));
    return { host: url.hostname, port: Number(url.port || 2375) };
  }
  return { socketPath: '/var/run/docker.sock' };
}

interface Answer {
  status: number;
  body: Buffer;
}

function send(
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        ...endpoint(),
        method,
        path,
        headers: {
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function failure(answer: Answer): DockerApiError {
  const text = answer.body.toString('utf8');
  let message = text.trim();
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? message;
  } catch {
    // not JSON: the text itself
  }
  return new DockerApiError(answer.status, message || `HTTP ${answer.status}`);
}

async function call<T>(
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<T> {
  const answer = await send(method, path, options);
  if (answer.status < 200 || answer.status >= 300) throw failure(answer);
  return (answer.body.length ? JSON.parse(answer.body.toString('utf8')) : undefined) as T;
}

/**
 * A container's output as the daemon sends it without a TTY: frames of an 8-byte header (stream,
 * 0, 0, 0, big-endian length) and the bytes, stdout and stderr interleaved in order.
 */
export function demultiplex(stream: Buffer): string {
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= stream.length) {
    const length = stream.readUInt32BE(at + 4);
    parts.push(stream.subarray(at + 8, at + 8 + length));
    at += 8 + length;
  }
  return Buffer.concat(parts).toString('utf8');
}

/**
 * Lines of a multiplexed log stream read with timestamps=1: each line starts with its RFC 3339
 * time and a space; a frame's first byte says the stream (1 stdout, 2 stderr).
 */
export function timedFrames(
  stream: Buffer,
): Array<{ stream: 'stdout' | 'stderr'; line: string; time: string }> {
  const out: Array<{ stream: 'stdout' | 'stderr'; line: string; time: string }> = [];
  const pending: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
  const flush = (which: 'stdout' | 'stderr', text: string): void => {
    const space = text.indexOf(' ');
    const time = space > 0 ? text.slice(0, space) : '';
    const ok = /^\d{4}-\d{2}-\d{2}T/.test(time);
    out.push({
      stream: which,
      time: ok ? time : new Date().toISOString(),
      line: ok ? text.slice(space + 1) : text,
    });
  };
  let at = 0;
  while (at + 8 <= stream.length) {
    const which = stream[at] === 2 ? 'stderr' : 'stdout';
    const length = stream.readUInt32BE(at + 4);
    pending[which] += stream.subarray(at + 8, at + 8 + length).toString('utf8');
    at += 8 + length;
    const lines = pending[which].split('\n');
    pending[which] = lines.pop()!;
    for (const line of lines) flush(which, line);
  }
  for (const which of ['stdout', 'stderr'] as const) if (pending[which]) flush(which, pending[which]);
  return out;
}

/** Splits REPOSITORY[:TAG|@DIGEST] into what /images/create takes. */
export function imageReference(image: string): { fromImage: string; tag: string } {
  const at = image.indexOf('@');
  const name = at >= 0 ? image.slice(0, at) : image;
  const colon = name.lastIndexOf(':');
  const tagged = colon > name.lastIndexOf('/');
  const repository = tagged ? name.slice(0, colon) : name;
  // A digest wins over a tag (REPOSITORY:TAG@DIGEST pulls by digest, as the CLI does).
  if (at >= 0) return { fromImage: repository, tag: image.slice(at + 1) };
  return { fromImage: repository, tag: tagged ? name.slice(colon + 1) : 'latest' };
}

export interface ContainerSpec {
  image: string;
  env: string[];
  labels: Record<string, string>;
  entrypoint?: string[] | undefined;
  cmd?: string[] | undefined;
  /** host:container[:ro] */
  binds?: string[];
  /** e.g. container:ID, to join another container's network namespace. */
  networkMode?: string;
}

export interface ContainerState {
  running: boolean;
  exitCode: number;
  /** The container's address on Docker's bridge network ('' when it has none, e.g. it joined another's). */
  ip: string;
  /** Its main process as the host sees it (0 when it is not running). */
  pid: number;
}

export const dockerApi = {
  /**
   * Pulls an image with registry credentials. The daemon streams progress as JSON lines and
   * reports a failure that comes after the stream began as an `error` line, not as a status.
   */
  async pull(
    image: string,
    auth: { username: string; password: string; serveraddress: string } | undefined,
  ): Promise<void> {
    const { fromImage, tag } = imageReference(image);
    const answer = await send(
      'POST',
      `/images/create?fromImage=${encodeURIComponent(fromImage)}&tag=${encodeURIComponent(tag)}`,
      // URL-safe base64 with its padding: the daemon decodes it with Go's base64.URLEncoding.
      auth
        ? {
            headers: {
              'x-registry-auth': Buffer.from(JSON.stringify(auth))
                .toString('base64')
                .replace(/\+/g, '-')
                .replace(/\//g, '_'),
            },
          }
        : {},
    );
    if (answer.status < 200 || answer.status >= 300) throw failure(answer);
    for (const line of answer.body.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      const event = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
      const message = event.errorDetail?.message ?? event.error;
      if (message) throw new DockerApiError(500, message);
    }
  },

  /** Creates and starts a container (`docker run -d`); returns its id. */
  async run(spec: ContainerSpec): Promise<string> {
    const created = await call<{ Id: string }>('POST', '/containers/create', {
      body: {
        Image: spec.image,
        Env: spec.env,
        Labels: spec.labels,
        ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
        ...(spec.cmd ? { Cmd: spec.cmd } : {}),
        HostConfig: {
          Binds: spec.binds ?? [],
          ...(spec.networkMode ? { NetworkMode: spec.networkMode } : {}),
        },
      },
    });
    try {
      await call('POST', `/containers/${created.Id}/start`);
    } catch (err) {
      await dockerApi.remove([created.Id]);
      throw err;
    }
    return created.Id;
  },

  async state(id: string): Promise<ContainerState> {
    const c = await call<{
      State: { Running: boolean; ExitCode: number; Pid?: number };
      NetworkSettings?: { IPAddress?: string; Networks?: Record<string, { IPAddress?: string }> | null };
    }>('GET', `/containers/${encodeURIComponent(id)}/json`);
    const network = c.NetworkSettings;
    const ip =
      network?.IPAddress || Object.values(network?.Networks ?? {}).find((n) => n.IPAddress)?.IPAddress || '';
    return { running: c.State.Running, exitCode: c.State.ExitCode, ip, pid: c.State.Pid ?? 0 };
  },

  /** The last lines a container wrote, stdout and stderr together. */
  async logs(id: string, tail: number): Promise<string> {
    const answer = await send(
      'GET',
      `/containers/${encodeURIComponent(id)}/logs?stdout=1&stderr=1&tail=${tail}`,
    );
    if (answer.status !== 200) throw failure(answer);
    return demultiplex(answer.body);
  },

  /**
   * Streams a container's output from its start until it stops or is removed (`docker logs -f -t`):
   * each line with its stream and the daemon's timestamp (RFC 3339, nanoseconds). Resolves when
   * the stream ends; a daemon that cannot stream it ends it at once.
   */
  follow(
    id: string,
    onLine: (line: { stream: 'stdout' | 'stderr'; time: string; text: string }) => void,
  ): Promise<void> {
    return new Promise((resolve) => {
      const pending = { stdout: '', stderr: '' };
      const emit = (stream: 'stdout' | 'stderr', chunk: string, flush: boolean): void => {
        const lines = (pending[stream] + chunk).split('\n');
        pending[stream] = flush ? '' : lines.pop()!;
        for (const raw of lines) {
          if (raw === '') continue;
          const space = raw.indexOf(' ');
          onLine({ stream, time: raw.slice(0, space), text: raw.slice(space + 1).replace(/\r$/, '') });
        }
      };
      const req = http.request(
        {
          ...endpoint(),
          method: 'GET',
          path: `/containers/${encodeURIComponent(id)}/logs?follow=1&stdout=1&stderr=1&timestamps=1`,
        },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            resolve();
            return;
          }
          let buffered = Buffer.alloc(0);
          res.on('data', (chunk: Buffer) => {
            buffered = Buffer.concat([buffered, chunk]);
            while (buffered.length >= 8) {
              const length = buffered.readUInt32BE(4);
              if (buffered.length < 8 + length) break;
              const stream = buffered[0] === 2 ? 'stderr' : 'stdout';
              emit(stream, buffered.subarray(8, 8 + length).toString('utf8'), false);
              buffered = buffered.subarray(8 + length);
            }
          });
          const done = (): void => {
            emit('stdout', '', true);
            emit('stderr', '', true);
            resolve();
          };
          res.on('end', done);
          res.on('error', done);
        },
      );
      req.on('error', () => resolve());
      req.end();
    });
  },

  /** Runs a command in a running container and returns its output (`docker exec`). */
  async exec(id: string, cmd: string[]): Promise<string> {
    const created = await call<{ Id: string }>('POST', `/containers/${encodeURIComponent(id)}/exec`, {
      body: { Cmd: cmd, AttachStdout: true, AttachStderr: true },
    });
    const answer = await send('POST', `/exec/${created.Id}/start`, { body: { Detach: false, Tty: false } });
    if (answer.status !== 200) throw failure(answer);
    return demultiplex(answer.body);
  },

  /** Waits until the container has stopped; its exit code. */
  async wait(id: string): Promise<number> {
    const answer = await call<{ StatusCode: number }>('POST', `/containers/${encodeURIComponent(id)}/wait`);
    return answer.StatusCode;
  },

  /** Sends SIGKILL, or `signal` (`docker kill -s`); a container that already stopped is not an error. */
  async kill(id: string, signal?: string): Promise<void> {
    const query = signal ? `?signal=${encodeURIComponent(signal)}` : '';
    await call('POST', `/containers/${encodeURIComponent(id)}/kill${query}`).catch((err: unknown) => {
      if (!(err instanceof DockerApiError && (err.status === 404 || err.status === 409))) throw err;
    });
  },

  /** Every line a container wrote, each with its stream and the time Docker recorded for it. */
  async timedLines(id: string): Promise<Array<{ stream: 'stdout' | 'stderr'; line: string; time: string }>> {
    const answer = await send(
      'GET',
      `/containers/${encodeURIComponent(id)}/logs?stdout=1&stderr=1&timestamps=1`,
    );
    if (answer.status !== 200) throw failure(answer);
    return timedFrames(answer.body);
  },

  /** RepoDigests of a local image, or [] when there is no such image. */
  async repoDigests(image: string): Promise<string[]> {
    try {
      const found = await call<{ RepoDigests?: string[] | null }>(
        'GET',
        `/images/${encodeURIComponent(image)}/json`,
      );
      return found.RepoDigests ?? [];
    } catch {
      return [];
    }
  },

  async imageExists(image: string): Promise<boolean> {
    return call('GET', `/images/${encodeURIComponent(image)}/json`).then(
      () => true,
      () => false,
    );
  },

  /** Ids of every container (running or not) with all of these labels (KEY or KEY=VALUE). */
  async list(labels: string[]): Promise<Array<{ id: string; labels: Record<string, string> }>> {
    const filters = encodeURIComponent(JSON.stringify({ label: labels }));
    const found = await call<Array<{ Id: string; Labels: Record<string, string> | null }>>(
      'GET',
      `/containers/json?all=1&filters=${filters}`,
    );
    return found.map((c) => ({ id: c.Id, labels: c.Labels ?? {} }));
  },

  /** Force-removes containers (`docker rm -f`); ones already gone are not an error. */
  async remove(ids: string[]): Promise<void> {
    await Promise.all(
      ids.map((id) =>
        call('DELETE', `/containers/${encodeURIComponent(id)}?force=1`).catch((err: unknown) => {
          if (!(err instanceof DockerApiError && err.status === 404)) throw err;
        }),
      ),
    );
  },
};
