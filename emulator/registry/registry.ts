// Artifact Registry: a real CNCF distribution registry (Debian's docker-registry) on a private port,
// behind an auth front that speaks Docker's Basic challenge, accepts `oauth2accesstoken` with an
// access token the emulator issued, and checks the caller's Artifact Registry role per repository.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import type { EmulatorContext } from '../context.js';
import { listen, type RequestRecord, type StartedServer } from '../http.js';
import { describePrincipal, type Binding } from '../iam.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function registryConfig(storage: string, port: number): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '',
  ].join('\n');
}

/** Parses Basic oauth2accesstoken:TOKEN (or Bearer TOKEN) into the token. */
export function registryToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const basic = /^basic\s+(.+)$/i.exec(header.trim());
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon > 0 && decoded.slice(0, colon) === 'oauth2accesstoken'
      ? decoded.slice(colon + 1)
      : undefined;
  }
  return /^bearer\s+(.+)$/i.exec(header.trim())?.[1];
}

function dockerError(
  res: http.ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'docker-distribution-api-version': 'registry/2.0',
    ...headers,
  });
  res.end(JSON.stringify({ errors: [{ code, message, detail: null }] }));
}

export class Registry {
  readonly host: string;
  private readonly child: ChildProcess;
  private readonly front: StartedServer;

  private constructor(host: string, child: ChildProcess, front: StartedServer) {
    this.host = host;
    this.child = child;
    this.front = front;
  }

  static async start(ctx: EmulatorContext): Promise<Registry> {
    const dir = join(ctx.workDir, 'registry');
    await mkdir(join(dir, 'storage'), { recursive: true });
    const backendPort = await freePort();
    const config = join(dir, 'config.yml');
    await writeFile(config, registryConfig(join(dir, 'storage'), backendPort));
    const child = spawn('/usr/bin/docker-registry', ['serve', config], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    // A crashed or killed emulator must not leave the registry holding its port and storage.
    const killOnExit = (): void => {
      child.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));

    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`docker-registry exited with ${child.exitCode}: ${stderr}`);
      const ok = await fetch(`http://127.0.0.1:${backendPort}/v2/`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`docker-registry did not start: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }

    const server = http.createServer((req, res) => handle(ctx, backendPort, req, res));
    const front = await listen(server);
    return new Registry(`127.0.0.1:${front.port}`, child, front);
  }

  async stop(): Promise<void> {
    await this.front.close();
    if (this.child.exitCode === null) {
      await new Promise<void>((resolve) => {
        this.child.once('exit', () => resolve());
        this.child.kill('SIGTERM');
        setTimeout(() => this.child.kill('SIGKILL'), 3000).unref();
      });
    }
  }
}

function handle(
  ctx: EmulatorContext,
  backendPort: number,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): void {
  const started = Date.now();
  const method = (req.method ?? 'GET').toUpperCase();
  const path = req.url ?? '/';
  const record: RequestRecord = {
    api: 'registry',
    method,
    path,
    status: 0,
    caller: null,
    time: new Date(started).toISOString(),
    durationMs: 0,
  };
  res.on('finish', () => {
    record.status = res.statusCode;
    record.durationMs = Date.now() - started;
    ctx.traffic.requests.push(record);
  });

  const fault = ctx.traffic.takeFault('registry', method, path);
  const proceed = (): void => {
    if (fault?.drop) {
      record.durationMs = Date.now() - started;
      ctx.traffic.requests.push(record);
      req.socket.destroy();
      return;
    }
    if (fault?.status)
      return dockerError(res, fault.status, 'UNAVAILABLE', fault.message ?? 'Injected fault.');

    const challenge = { 'www-authenticate': 'Basic realm="Artifact Registry"' };
    const issued = ctx.world.lookupToken(registryToken(req.headers.authorization));
    if (!issued) return dockerError(res, 401, 'UNAUTHORIZED', 'authentication required', challenge);
    record.caller = describePrincipal(issued.principal);

    const repo = /^\/v2\/(?<project>[^/]+)\/(?<repository>[^/]+)\//.exec(path)?.groups;
    if (path === '/v2/' || path === '/v2') return forward(backendPort, req, res);
    if (!repo) return dockerError(res, 404, 'NAME_UNKNOWN', 'repository name not known to registry');
    const projectId = ctx.world.projectId(repo.project!);
    if (!projectId) return dockerError(res, 404, 'NAME_UNKNOWN', `Project '${repo.project}' not found`);
    const write = !['GET', 'HEAD'].includes(method);
    const permission = write
      ? 'artifactregistry.repositories.uploadArtifacts'
      : 'artifactregistry.repositories.downloadArtifacts';
    const resource = `projects/${projectId}/locations/-/repositories/${repo.repository}`;
    if (
      !ctx.world.allowed(
        issued.principal,
        permission,
        resource,
        repositoryBindings(ctx, projectId, repo.repository!),
      )
    ) {
      return dockerError(
        res,
        403,
        'DENIED',
        `Permission "${permission}" denied on resource "${resource}" (or it may not exist)`,
      );
    }
    forward(backendPort, req, res);
  };
  if (fault?.latencyMs) setTimeout(proceed, fault.latencyMs);
  else proceed();
}

/**
 * One front serves every location, so a binding seeded on the repository in any location
 * (projects/P/locations/us-central1/repositories/R) counts, as it would on that location's host.
 */
function repositoryBindings(ctx: EmulatorContext, projectId: string, repository: string): Binding[] {
  return [...ctx.world.bindings]
    .filter(([name]) => {
      const parts = name.split('/');
      return (
        parts.length === 6 &&
        parts[1] === projectId &&
        parts[2] === 'locations' &&
        parts[3] !== '-' &&
        parts[4] === 'repositories' &&
        parts[5] === repository
      );
    })
    .flatMap(([, bindings]) => bindings);
}

/** Streams the request to the registry unchanged (Host included, so its Location headers stay right). */
function forward(backendPort: number, req: http.IncomingMessage, res: http.ServerResponse): void {
  const headers = { ...req.headers };
  delete headers.authorization;
  const upstream = http.request(
    { host: '127.0.0.1', port: backendPort, method: req.method, path: req.url, headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', (err) => {
    if (!res.headersSent) dockerError(res, 502, 'UNAVAILABLE', `registry backend: ${err.message}`);
    else res.destroy();
  });
  req.pipe(upstream);
}
