// Container registries: each is a real CNCF distribution registry (Debian's docker-registry) on a
// private port, behind an auth front that speaks the distribution token flow as the real service
// does: `/v2/` answers 401 with a `WWW-Authenticate: Bearer realm=…,service=…` challenge, the realm
// hands out registry tokens for a `scope`, and every other request needs such a token.
//
// Three fronts, one backend each (so their namespaces never mix):
//   google   Artifact Registry: the token endpoint takes Basic `oauth2accesstoken:<access token>`
//            (expired or unknown tokens: 401), pushes need the repository to exist (seeded) and
//            roles/artifactregistry.writer, pulls roles/artifactregistry.reader. Like Artifact
//            Registry it also takes the access token directly (Basic or Bearer) on any request.
//   public   Docker-Hub-style: anonymous tokens may pull anything; pushes need the publisher's
//            own user and password.
//   private  a non-Google private registry (think ghcr.io): everything needs its own user.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import type { EmulatorContext } from '../context.js';
import { listen, type ApiName, type RequestRecord, type StartedServer } from '../http.js';
import { describePrincipal, type Binding, type Principal } from '../iam.js';

export type RegistryKind = 'google' | 'public' | 'private';

/** The user that may push to the public registry and the user of the private one. */
export const REGISTRY_USERS: Record<Exclude<RegistryKind, 'google'>, { user: string; password: string }> = {
  public: { user: 'publisher', password: 'publisher-password-0000' },
  private: { user: 'ci-bot', password: 'private-registry-password-0000' },
};

const API_NAMES: Record<RegistryKind, ApiName> = {
  google: 'registry',
  public: 'registry-public',
  private: 'registry-private',
};

/** Registry tokens live five minutes, as Docker Hub's and Artifact Registry's do. */
const REGISTRY_TOKEN_SECONDS = 300;

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

export interface Credential {
  scheme: 'basic' | 'bearer';
  /** Basic only. */
  user?: string;
  /** The Basic password or the Bearer token. */
  secret: string;
}

/** Splits an Authorization header into Basic user/password or a Bearer token. */
export function parseAuthorization(header: string | undefined): Credential | undefined {
  if (!header) return undefined;
  const basic = /^basic\s+(.+)$/i.exec(header.trim());
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return undefined;
    return { scheme: 'basic', user: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
  }
  const bearer = /^bearer\s+(.+)$/i.exec(header.trim())?.[1];
  return bearer ? { scheme: 'bearer', secret: bearer } : undefined;
}

/** Parses Basic oauth2accesstoken:TOKEN (or Bearer TOKEN) into the token. */
export function registryToken(header: string | undefined): string | undefined {
  const credential = parseAuthorization(header);
  if (!credential) return undefined;
  if (credential.scheme === 'bearer') return credential.secret;
  return credential.user === 'oauth2accesstoken' ? credential.secret : undefined;
}

/** One `repository:NAME:ACTIONS` scope of a token request. */
interface Access {
  name: string;
  actions: string[];
}

/** `repository:a/b:push,pull repository:c:pull` → accesses; other resource types are ignored. */
export function parseScopes(scopes: string[]): Access[] {
  const out: Access[] = [];
  for (const scope of scopes.flatMap((s) => s.split(' ')).filter(Boolean)) {
    const m = /^repository(?:\([^)]*\))?:([^:]+):(.+)$/.exec(scope);
    if (m) out.push({ name: m[1]!, actions: m[2]!.split(',') });
  }
  return out;
}

interface RegistryTokenGrant {
  /** Who asked: a Google principal (google front) or a registry user; undefined when anonymous. */
  principal: Principal | undefined;
  user: string | undefined;
  access: Access[];
  expiresAt: number;
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

/**
 * Starts docker-registry on a free port. The port is free when chosen but docker-registry binds it
 * a moment later, so another process (another emulator starting beside this one) can take it
 * first; then a new port is tried.
 */
async function startBackend(dir: string): Promise<{ port: number; child: ChildProcess }> {
  await mkdir(join(dir, 'storage'), { recursive: true });
  for (let attempt = 1; ; attempt++) {
    try {
      return await startBackendOn(dir, await freePort());
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt >= 5) throw err;
    }
  }
}

class PortTaken extends Error {}

/** Whether something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function startBackendOn(dir: string, port: number): Promise<{ port: number; child: ChildProcess }> {
  const config = join(dir, 'config.yml');
  await writeFile(config, registryConfig(join(dir, 'storage'), port));
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
    if (child.exitCode !== null) {
      const message = `docker-registry exited with ${child.exitCode}: ${stderr}`;
      throw (await listening(port)) ? new PortTaken(message) : new Error(message);
    }
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { port, child };
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}

/** One registry: its backend and the auth front before it. */
export class RegistryFront {
  readonly host: string;
  readonly kind: RegistryKind;
  private readonly child: ChildProcess;
  private readonly front: StartedServer;

  private constructor(kind: RegistryKind, host: string, child: ChildProcess, front: StartedServer) {
    this.kind = kind;
    this.host = host;
    this.child = child;
    this.front = front;
  }

  static async start(ctx: EmulatorContext, kind: RegistryKind): Promise<RegistryFront> {
    const backend = await startBackend(join(ctx.workDir, `registry-${kind}`));
    const tokens = new Map<string, RegistryTokenGrant>();
    const server = http.createServer((req, res) => handle(ctx, kind, tokens, backend.port, req, res));
    const front = await listen(server);
    return new RegistryFront(kind, `127.0.0.1:${front.port}`, backend.child, front);
  }

  async stop(): Promise<void> {
    await this.front.close();
    await stopChild(this.child);
  }
}

/** The three registries the emulator serves. */
export class Registries {
  constructor(
    readonly google: RegistryFront,
    readonly publicRegistry: RegistryFront,
    readonly privateRegistry: RegistryFront,
  ) {}

  static async start(ctx: EmulatorContext): Promise<Registries> {
    const [google, pub, priv] = await Promise.all(
      (['google', 'public', 'private'] as const).map((kind) => RegistryFront.start(ctx, kind)),
    );
    return new Registries(google!, pub!, priv!);
  }

  async stop(): Promise<void> {
    await Promise.all([this.google.stop(), this.publicRegistry.stop(), this.privateRegistry.stop()]);
  }
}

function handle(
  ctx: EmulatorContext,
  kind: RegistryKind,
  tokens: Map<string, RegistryTokenGrant>,
  backendPort: number,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): void {
  const started = Date.now();
  const method = (req.method ?? 'GET').toUpperCase();
  const path = req.url ?? '/';
  const api = API_NAMES[kind];
  const credential = parseAuthorization(req.headers.authorization);
  const record: RequestRecord = {
    api,
    method,
    path,
    status: 0,
    caller: null,
    time: new Date(started).toISOString(),
    durationMs: 0,
    googleToken: ctx.world.isGoogleToken(credential?.secret),
  };
  res.on('finish', () => {
    record.status = res.statusCode;
    record.durationMs = Date.now() - started;
    ctx.traffic.requests.push(record);
  });

  const fault = ctx.traffic.takeFault(api, method, path);
  const proceed = (): void => {
    if (fault?.drop) {
      record.durationMs = Date.now() - started;
      ctx.traffic.requests.push(record);
      req.socket.destroy();
      return;
    }
    if (fault?.status)
      return dockerError(res, fault.status, 'UNAVAILABLE', fault.message ?? 'Injected fault.');
    const url = new URL(path, `http://${req.headers.host ?? '127.0.0.1'}`);
    if (url.pathname === tokenPath(kind))
      return issueRegistryToken(ctx, kind, tokens, url, credential, record, res);
    serveRegistry(ctx, kind, tokens, backendPort, credential, record, req, res);
  };
  if (fault?.latencyMs) setTimeout(proceed, fault.latencyMs);
  else proceed();
}

/** Artifact Registry's realm is HOST/v2/token; Docker Hub's is auth.docker.io/token. */
function tokenPath(kind: RegistryKind): string {
  return kind === 'google' ? '/v2/token' : '/token';
}

function challenge(kind: RegistryKind, host: string, scope?: string, error?: string): Record<string, string> {
  const parts = [`realm="http://${host}${tokenPath(kind)}"`, `service="${host}"`];
  if (scope) parts.push(`scope="${scope}"`);
  if (error) parts.push(`error="${error}"`);
  return { 'www-authenticate': `Bearer ${parts.join(',')}` };
}

/** The token endpoint: who the Basic credentials name, and which of the asked scopes they get. */
function issueRegistryToken(
  ctx: EmulatorContext,
  kind: RegistryKind,
  tokens: Map<string, RegistryTokenGrant>,
  url: URL,
  credential: Credential | undefined,
  record: RequestRecord,
  res: http.ServerResponse,
): void {
  const asked = parseScopes(url.searchParams.getAll('scope'));
  let grant: RegistryTokenGrant;
  const expiresAt = Date.now() + REGISTRY_TOKEN_SECONDS * 1000;
  if (kind === 'google') {
    if (credential && credential.scheme === 'basic') {
      const issued =
        credential.user === 'oauth2accesstoken' ? ctx.world.lookupToken(credential.secret) : undefined;
      if (!issued) {
        return dockerError(
          res,
          401,
          'UNAUTHORIZED',
          'failed to authenticate: invalid or expired credentials',
        );
      }
      record.caller = describePrincipal(issued.principal);
      // A registry token never outlives the access token it was exchanged for.
      grant = {
        principal: issued.principal,
        user: undefined,
        access: asked,
        expiresAt: Math.min(expiresAt, issued.expiresAt),
      };
    } else {
      // Anonymous: allowed to try, as public (allUsers reader) repositories need.
      grant = { principal: { kind: 'anonymous' }, user: undefined, access: asked, expiresAt };
    }
  } else {
    const account = REGISTRY_USERS[kind];
    let user: string | undefined;
    if (credential) {
      if (
        credential.scheme !== 'basic' ||
        credential.user !== account.user ||
        credential.secret !== account.password
      ) {
        return dockerError(res, 401, 'UNAUTHORIZED', 'incorrect username or password');
      }
      user = account.user;
      record.caller = `user:${user}`;
    }
    // What the asker gets: the user everything, anonymous callers pull on the public registry only.
    const access = asked
      .map((a) => ({
        name: a.name,
        actions: a.actions.filter((action) => user !== undefined || (kind === 'public' && action === 'pull')),
      }))
      .filter((a) => a.actions.length > 0);
    grant = { principal: undefined, user, access, expiresAt };
  }
  const token = `emu-registry-${randomBytes(24).toString('base64url')}`;
  tokens.set(token, grant);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      token,
      access_token: token,
      expires_in: Math.max(1, Math.floor((grant.expiresAt - Date.now()) / 1000)),
      issued_at: new Date().toISOString(),
    }),
  );
}

function serveRegistry(
  ctx: EmulatorContext,
  kind: RegistryKind,
  tokens: Map<string, RegistryTokenGrant>,
  backendPort: number,
  credential: Credential | undefined,
  record: RequestRecord,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): void {
  const method = record.method;
  const host = req.headers.host ?? '127.0.0.1';
  const url = new URL(record.path, `http://${host}`);
  // /v2/NAME/(manifests|blobs|tags)/…: NAME may have any number of segments.
  const name = /^\/v2\/(.+?)\/(?:manifests|blobs|tags)\//.exec(url.pathname)?.[1];
  const action = ['GET', 'HEAD'].includes(method) ? 'pull' : 'push';
  const scope = name ? `repository:${name}:${action === 'pull' ? 'pull' : 'pull,push'}` : undefined;

  // Who is calling: a registry token from the realm, or (Artifact Registry only) the access token.
  let grant: RegistryTokenGrant | undefined;
  if (credential?.scheme === 'bearer') {
    const found = tokens.get(credential.secret);
    if (found && found.expiresAt > Date.now()) grant = found;
  }
  if (!grant && kind === 'google') {
    const issued = ctx.world.lookupToken(registryToken(req.headers.authorization));
    if (issued) {
      grant = {
        principal: issued.principal,
        user: undefined,
        access: name ? [{ name, actions: ['pull', 'push'] }] : [],
        expiresAt: issued.expiresAt,
      };
    }
  }
  const unauthorized = (error = credential ? 'invalid_token' : undefined): void =>
    dockerError(res, 401, 'UNAUTHORIZED', 'authentication required', challenge(kind, host, scope, error));
  if (!grant) return unauthorized();
  if (grant.principal && grant.principal.kind !== 'anonymous')
    record.caller = describePrincipal(grant.principal);
  else if (grant.user) record.caller = `user:${grant.user}`;

  if (url.pathname === '/v2/' || url.pathname === '/v2') return forward(backendPort, req, res);
  if (!name) return dockerError(res, 404, 'NAME_UNKNOWN', 'repository name not known to registry');

  if (kind !== 'google') {
    const granted = grant.access.some((a) => a.name === name && a.actions.includes(action));
    if (!granted) {
      return dockerError(
        res,
        401,
        'UNAUTHORIZED',
        'authentication required',
        challenge(kind, host, scope, 'insufficient_scope'),
      );
    }
    return forward(backendPort, req, res);
  }

  // Artifact Registry: PROJECT/REPOSITORY/IMAGE…, checked against IAM, then the repository.
  const [project, repository] = name.split('/');
  if (!project || !repository || name.split('/').length < 3)
    return dockerError(res, 404, 'NAME_UNKNOWN', 'repository name not known to registry');
  const projectId = ctx.world.projectId(project);
  if (!projectId) return dockerError(res, 404, 'NAME_UNKNOWN', `Project '${project}' not found`);
  const principal = grant.principal ?? { kind: 'anonymous' as const };
  const permission =
    action === 'push'
      ? 'artifactregistry.repositories.uploadArtifacts'
      : 'artifactregistry.repositories.downloadArtifacts';
  const resource = `projects/${projectId}/locations/-/repositories/${repository}`;
  if (!ctx.world.allowed(principal, permission, resource, repositoryBindings(ctx, projectId, repository))) {
    // A valid anonymous token that may not read here: sign in (as a registry says it).
    if (principal.kind === 'anonymous') return unauthorized('insufficient_scope');
    return dockerError(
      res,
      403,
      'DENIED',
      `Permission "${permission}" denied on resource "${resource}" (or it may not exist)`,
    );
  }
  if (!ctx.world.repositories.has(`${projectId}/${repository}`)) {
    return dockerError(
      res,
      404,
      'NAME_UNKNOWN',
      `Repository "${repository}" not found in project "${projectId}"`,
    );
  }
  forward(backendPort, req, res);
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
