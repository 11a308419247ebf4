// The emulator's one HTTP layer: every emulated API is a list of routes; `apiPipeline` parses
// bodies, records each request, applies injected faults and renders errors in the API's own wire
// format, and `startApiServer` serves that pipeline on a socket (the in-process emulator calls it
// without one).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { canonicalForHttp, GitHubApiError, GoogleApiError, OAuthError, type RpcName } from './errors.js';
import type { ApiSchema } from './schema/schema.js';
import { renderResponse } from './schema/render.js';
import { checkRequest } from './schema/validate.js';

export type ApiName =
  | 'oidc'
  | 'sts'
  | 'iamcredentials'
  | 'run'
  | 'secretmanager'
  | 'serviceusage'
  | 'iam'
  | 'cloudresourcemanager'
  | 'artifactregistry'
  | 'logging'
  | 'storage'
  | 'cloudbuild'
  | 'github'
  | 'registry'
  | 'registry-public'
  | 'registry-private'
  | 'admin';

export type ErrorFormat = 'google' | 'oauth' | 'github';

export interface ApiRequest {
  method: string;
  /** Path without the query string, percent-decoded. */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  /** JSON or form bodies become objects; anything else stays a Buffer. */
  body: unknown;
  rawBody: Buffer;
  /** Named groups of the route's pattern. */
  params: Record<string, string>;
  /** Set by handlers once the caller is known, for the request log. */
  caller?: string;
  /** A fault that shapes the long-running operation this request starts, for the handler to apply. */
  operationFault?: OperationFault;
  /** Base URL this server answers on (http://127.0.0.1:PORT). */
  baseUrl: string;
  /** The API and RPC the route serves, for the ErrorInfo of a 401 (schema routes only). */
  rpc?: RpcName;
}

export interface ApiResponse {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (req: ApiRequest) => Promise<ApiResponse> | ApiResponse;

export interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
  /**
   * The REST method of the API's schema this route serves: its query and body are checked against
   * the schema before the handler runs (a 400 as Google's front end answers it), and the handler
   * sees the body as checkRequest returns it. A successful answer goes out as renderResponse
   * writes the method's response message (a field it lacks is the emulator's bug: a 500).
   */
  schema?: { api: ApiSchema; method: string };
}

/**
 * A maker of one API's routes: each names its REST method (`rpc`, under `prefix` unless it is
 * fully qualified, google.…), runs `before` (a check every route of the API makes), and answers
 * with what its handler returns as the body.
 */
export function schemaRoutes(
  api: ApiSchema,
  prefix: string,
  before?: (req: ApiRequest) => void,
): (method: string, pattern: string, rpc: string, handler: (req: ApiRequest) => unknown) => Route {
  return (method, pattern, rpc, handler) => ({
    method,
    pattern: new RegExp(`${pattern}$`),
    schema: { api, method: rpc.startsWith('google.') ? rpc : `${prefix}${rpc}` },
    handler: async (req) => {
      before?.(req);
      return { body: await handler(req) };
    },
  });
}

export interface RequestRecord {
  api: ApiName;
  method: string;
  path: string;
  status: number;
  caller: string | null;
  time: string;
  durationMs: number;
  /**
   * Registries only: whether the Authorization header carried an access token Google (the
   * emulator) issued, as a Basic password or a Bearer token, live or expired. Tests prove with it
   * that no Google token reached a registry that is not Google's.
   */
  googleToken?: boolean;
}

/** What an operation fault does to the operation the matched request starts. */
export interface OperationFault {
  /** Finish the operation with this google.rpc.Status instead of applying the change. */
  operationError?: { code: number; message: string };
  /** Hold the change this long before applying it (an operation still in flight). */
  operationDelayMs?: number;
}

export interface Fault extends OperationFault {
  api?: ApiName;
  method?: string;
  /** A regular expression matched against the path (query included). */
  path: string;
  status?: number;
  message?: string;
  /**
   * OAuth2 APIs (STS) only: the `error` code the fault answers with, e.g. invalid_grant or
   * unauthorized_client; temporarily_unavailable when unset.
   */
  oauthError?: string;
  latencyMs?: number;
  drop?: boolean;
  /**
   * Misspells the request on its way in: the first key named `from`, at any depth of the JSON
   * body, becomes `to`. A client's bad request, made on purpose, to prove the schema check sees it.
   */
  renameField?: { from: string; to: string };
  /**
   * Holds the request, before any handler sees it, until the admin API releases it: a point in a
   * client's sequence that a test chooses, so that something else happens first without racing a
   * timer. The request is then handled against the state as it is at release.
   */
  hold?: boolean;
  /** How many matching requests this fault applies to. */
  count: number;
  /** How many matching requests pass untouched before the fault applies. */
  skip?: number;
}

/** A request a `hold` fault stopped, waiting for the admin API to release it. */
export interface HeldRequest {
  api: ApiName;
  method: string;
  path: string;
}

/** Shared between all API servers: the request log, the pending faults and the held requests. */
export class Traffic {
  readonly requests: RequestRecord[] = [];
  faults: Fault[] = [];
  private readonly holding: Array<HeldRequest & { release: () => void }> = [];

  /** The requests held now, oldest first. */
  get held(): HeldRequest[] {
    return this.holding.map(({ api, method, path }) => ({ api, method, path }));
  }

  /** Resolves once release() lets the request go on. */
  hold(request: HeldRequest): Promise<void> {
    return new Promise((release) => this.holding.push({ ...request, release }));
  }

  /** Lets every held request go on; resolves to how many there were. */
  release(): number {
    const released = this.holding.splice(0);
    for (const h of released) h.release();
    return released.length;
  }

  takeFault(api: ApiName, method: string, pathWithQuery: string): Fault | undefined {
    const matches = this.faults.filter(
      (f) =>
        f.count > 0 &&
        (!f.api || f.api === api) &&
        (!f.method || f.method.toUpperCase() === method) &&
        new RegExp(f.path).test(pathWithQuery),
    );
    // A matching fault that is still skipping lets this request through, and counts it.
    const fault = matches.find((f) => !f.skip);
    for (const f of matches) if (f.skip) f.skip -= 1;
    if (fault) fault.count -= 1;
    this.faults = this.faults.filter((f) => f.count > 0);
    return fault;
  }

  clear(): void {
    this.requests.length = 0;
    this.faults = [];
    this.release();
  }
}

export interface StartedServer {
  server: http.Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return undefined;
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
  }
  if (type === 'application/json' || type === '' || type === 'text/plain') {
    try {
      return JSON.parse(raw.toString('utf8'));
    } catch {
      if (type === 'application/json')
        throw new GoogleApiError('INVALID_ARGUMENT', 'Invalid JSON payload received.');
      return raw;
    }
  }
  return raw;
}

/** The body with the first key named `rename.from` (depth first) renamed to `rename.to`. */
function renamed(body: unknown, rename: Fault['renameField']): unknown {
  if (!rename) return body;
  let done = false;
  const visit = (node: unknown): unknown => {
    if (done || node === null || typeof node !== 'object' || node instanceof Buffer) return node;
    if (Array.isArray(node)) return node.map(visit);
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => {
        if (!done && k === rename.from) {
          done = true;
          return [rename.to, v];
        }
        return [k, visit(v)];
      }),
    );
  };
  return visit(body);
}

function operationFaultOf(fault: Fault): OperationFault {
  const out: OperationFault = {};
  if (fault.operationError) out.operationError = fault.operationError;
  if (fault.operationDelayMs) out.operationDelayMs = fault.operationDelayMs;
  return out;
}

/** run.googleapis.com and, for an API described by protos, the RPC's full name. */
function rpcName(schema: NonNullable<Route['schema']>): RpcName {
  return {
    service: `${schema.api.api}.googleapis.com`,
    ...(schema.method.startsWith('google.') ? { method: schema.method } : {}),
  };
}

export function renderError(format: ErrorFormat, err: unknown): { status: number; body: unknown } {
  if (err instanceof GoogleApiError || err instanceof OAuthError || err instanceof GitHubApiError) {
    return { status: err.httpStatus, body: err.toBody() };
  }
  const message = err instanceof Error ? err.message : String(err);
  if (format === 'oauth') return { status: 500, body: { error: 'server_error', error_description: message } };
  if (format === 'github') return { status: 500, body: { message } };
  return { status: 500, body: new GoogleApiError('INTERNAL', message).toBody() };
}

function faultError(
  fault: Fault & { status: number },
  format: ErrorFormat,
): { status: number; body: unknown } {
  const { status } = fault;
  const message = fault.message ?? 'Injected fault.';
  if (format === 'oauth')
    return {
      status,
      body: { error: fault.oauthError ?? 'temporarily_unavailable', error_description: message },
    };
  if (format === 'github') return { status, body: new GitHubApiError(status, message).toBody() };
  return { status, body: new GoogleApiError(canonicalForHttp(status), message).toBody() };
}

export async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function listen(server: http.Server, port = 0): Promise<StartedServer> {
  // Idle keep-alive connections stay open until the client closes them (Google's front ends keep
  // them for minutes, Node's default is 5 s). A server that closes an idle connection races a
  // client reusing it: a client busy for a few seconds (a Jest worker loading the next test file)
  // sends its next request into a socket the server has just closed, and gets "other side closed".
  server.keepAliveTimeout = 0;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: actual } = server.address() as AddressInfo;
      resolve({
        server,
        port: actual,
        url: `http://127.0.0.1:${actual}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

export interface ApiServerOptions {
  api: ApiName;
  format: ErrorFormat;
  routes: Route[];
  traffic: Traffic;
  /**
   * Resolves the caller of a schema route's request, throwing 401 when it cannot: run before the
   * body is parsed or checked, as Google's front end authenticates a request before it reads it
   * (docs/emulator.md, "Which refusal comes first").
   */
  authenticate?: (req: ApiRequest) => void;
  /** Answers requests no route matched; defaults to a 404 in the API's format. */
  fallback?: (req: http.IncomingMessage, res: http.ServerResponse) => void;
}

/** A request as any transport hands it to the pipeline: a socket, or an in-process fetch. */
export interface IncomingApiRequest {
  method: string;
  /** Path and query as sent (origin form), e.g. /v2/projects/p/services?pageSize=1. */
  url: string;
  headers: http.IncomingHttpHeaders;
  /** Reads the body; called at most once, and only when a route matched. */
  readBody(): Promise<Buffer>;
}

/** What the pipeline decided; the transport carries it out. */
export type ApiOutcome =
  | { kind: 'answer'; status: number; headers: Record<string, string>; body: Buffer | string }
  /** An injected fault: the connection goes without an answer. */
  | { kind: 'drop' }
  /**
   * No route matched and the server has a fallback: the transport hands the request to it and
   * calls `log(status)` once the fallback has answered.
   */
  | { kind: 'unrouted'; log(status: number): void };

/**
 * The request pipeline every emulated API shares, whatever carries the request: faults (latency,
 * drops, injected errors, operation faults), routing, body parsing, the handler, error rendering
 * in the API's format, and the request log. `startApiServer` serves it on a socket; the in-process
 * emulator (inprocess.ts) calls it directly, so the two cannot answer differently.
 */
export function apiPipeline(
  options: Omit<ApiServerOptions, 'fallback'> & { fallback?: unknown },
): (req: IncomingApiRequest, baseUrl: string) => Promise<ApiOutcome> {
  const { api, format, routes, traffic } = options;
  return async (req, baseUrl) => {
    const started = Date.now();
    const method = (req.method || 'GET').toUpperCase();
    const url = new URL(req.url || '/', baseUrl);
    const pathWithQuery = `${url.pathname}${url.search}`;
    const record: RequestRecord = {
      api,
      method,
      path: pathWithQuery,
      status: 0,
      caller: null,
      time: new Date(started).toISOString(),
      durationMs: 0,
    };
    const finish = (status: number, body: unknown, headers: Record<string, string> = {}): ApiOutcome => {
      record.status = status;
      record.durationMs = Date.now() - started;
      traffic.requests.push(record);
      if (body instanceof Buffer || typeof body === 'string')
        return { kind: 'answer', status, headers, body };
      const text = body === undefined ? '' : JSON.stringify(body);
      return {
        kind: 'answer',
        status,
        headers: { 'content-type': 'application/json; charset=UTF-8', ...headers },
        body: text,
      };
    };

    const fault = traffic.takeFault(api, method, pathWithQuery);
    if (fault?.latencyMs) await new Promise((r) => setTimeout(r, fault.latencyMs));
    if (fault?.hold) await traffic.hold({ api, method, path: pathWithQuery });
    if (fault?.drop) {
      record.status = 0;
      record.durationMs = Date.now() - started;
      traffic.requests.push(record);
      return { kind: 'drop' };
    }
    if (fault?.status) {
      const rendered = faultError({ ...fault, status: fault.status }, format);
      return finish(rendered.status, rendered.body);
    }

    const path = decodeURIComponent(url.pathname);
    let matched: { route: Route; params: Record<string, string> } | undefined;
    let pathMatched = false;
    for (const route of routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      matched = { route, params: { ...(m.groups ?? {}) } };
      break;
    }
    if (!matched) {
      if (options.fallback) {
        record.status = -1;
        return {
          kind: 'unrouted',
          log: (status) => {
            record.status = status;
            record.durationMs = Date.now() - started;
            traffic.requests.push(record);
          },
        };
      }
      const status = pathMatched ? 405 : 404;
      const message = pathMatched
        ? `Method ${method} not allowed for ${path}.`
        : `The requested URL ${path} was not found.`;
      const rendered =
        format === 'google'
          ? {
              status,
              body: new GoogleApiError(status === 404 ? 'NOT_FOUND' : 'UNIMPLEMENTED', message).toBody(),
            }
          : renderError(
              format,
              format === 'github'
                ? new GitHubApiError(status, 'Not Found')
                : new OAuthError('invalid_request', message, status),
            );
      return finish(rendered.status, rendered.body);
    }

    const { schema } = matched.route;
    try {
      const apiReq: ApiRequest = {
        method,
        path,
        query: url.searchParams,
        headers: req.headers,
        body: undefined,
        rawBody: Buffer.alloc(0),
        params: matched.params,
        baseUrl,
        ...(schema ? { rpc: rpcName(schema) } : {}),
        ...(fault && (fault.operationError || fault.operationDelayMs)
          ? { operationFault: operationFaultOf(fault) }
          : {}),
      };
      if (schema) options.authenticate?.(apiReq);
      apiReq.rawBody = await req.readBody();
      apiReq.body = renamed(parseBody(apiReq.rawBody, req.headers['content-type']), fault?.renameField);
      try {
        if (schema) apiReq.body = checkRequest(schema.api, schema.method, apiReq);
        const out = await matched.route.handler(apiReq);
        record.caller = apiReq.caller ?? null;
        const status = out.status ?? 200;
        const body =
          // A Buffer is media (Cloud Storage's alt=media), which no response message describes.
          schema && status < 300 && out.body !== undefined && !(out.body instanceof Buffer)
            ? renderResponse(schema.api, schema.method, out.body)
            : out.body;
        return finish(status, body, out.headers);
      } catch (err) {
        record.caller = apiReq.caller ?? null;
        const rendered = renderError(format, err);
        return finish(rendered.status, rendered.body);
      }
    } catch (err) {
      const rendered = renderError(format, err);
      return finish(rendered.status, rendered.body);
    }
  };
}

export async function startApiServer(options: ApiServerOptions, port = 0): Promise<StartedServer> {
  const pipeline = apiPipeline(options);
  let baseUrl = '';
  const server = http.createServer((req, res) => {
    void handle(req, res);
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const outcome = await pipeline(
      {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        readBody: () => readBody(req),
      },
      baseUrl,
    );
    switch (outcome.kind) {
      case 'answer':
        res.writeHead(outcome.status, outcome.headers);
        res.end(outcome.body);
        return;
      case 'drop':
        req.socket.destroy();
        return;
      case 'unrouted':
        res.on('finish', () => outcome.log(res.statusCode));
        options.fallback!(req, res);
        return;
    }
  }

  const started = await listen(server, port);
  baseUrl = started.url;
  return started;
}

/**
 * Streams a request to `host`:`port` (127.0.0.1 unless given) and its answer back, on a fresh connection (no idle
 * keep-alive socket the other end may close under us). A caller that goes away takes the upstream
 * request with it; `fail` answers when the upstream cannot be reached before any answer started.
 */
export function pipeTo(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  target: { host?: string; port: number; path: string; headers: http.OutgoingHttpHeaders },
  fail: (message: string) => void,
): void {
  const upstream = http.request(
    {
      host: target.host ?? '127.0.0.1',
      port: target.port,
      method: req.method,
      path: target.path,
      headers: target.headers,
      agent: false,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  upstream.on('error', (err) => {
    if (!res.headersSent) fail(err.message);
    else res.destroy();
  });
  req.pipe(upstream);
}

/** `Authorization: Bearer X` (any case) → X. */
export function bearerToken(headers: http.IncomingHttpHeaders): string | undefined {
  const value = headers.authorization;
  if (!value) return undefined;
  const m = /^(bearer|token)\s+(.+)$/i.exec(value.trim());
  return m?.[2];
}
