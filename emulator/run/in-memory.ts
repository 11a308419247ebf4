// Cloud Run's infrastructure in memory, for the in-process emulator (../inprocess.ts): a revision's
// containers are apps looked up by image (how each starts, or fails to, and how it answers), and
// every service URL and tag URL is a host a fetch function dispatches on. Nothing here opens a
// socket or starts a process, and every wait is a setTimeout, so Jest's fake timers drive it.
// Routing is the model's own: the same weighted picker, the same invoker gate (IAM and ID tokens
// checked for real), the same refusals and 503s as the 127.0.0.1 routers (router.ts) answer.
import { createHash } from 'node:crypto';
import {
  LaunchFailure,
  NO_REVISION,
  refusal,
  type Backend,
  type ContainerLaunch,
  type FailureKind,
  type Gate,
  type Infrastructure,
  type RevisionLaunch,
  type RevisionRuntime,
  type RoutedService,
  type RunningRevision,
  type TrafficRouter,
  type WeightedBackend,
} from './infrastructure.js';
import { startOrder } from './model.js';
import { WeightedPicker } from './router.js';

/** A request as an app (a container) receives it. */
export interface AppRequest {
  method: string;
  /** Path and query, e.g. /health?deep=1. */
  url: string;
  path: string;
  query: URLSearchParams;
  /** Lower-case names. Routers drop Authorization before a request reaches a container. */
  headers: Record<string, string>;
  body: Buffer;
}

/** Which container of which revision an app runs as, with what Cloud Run gave it. */
export interface AppContext {
  service: string;
  revision: string;
  /** The container's name in the template ('' when it has none). */
  container: string;
  image: string;
  /** Its environment: PORT (ingress only), K_*, plain and secret-backed variables. */
  env: Record<string, string>;
  /** Secret volumes: absolute path → contents. */
  files: Record<string, Buffer>;
}

export interface AppResponse {
  /** 200 when not given. */
  status?: number;
  headers?: Record<string, string>;
  /** Strings and Buffers as they are; anything else as JSON. */
  body?: unknown;
}

export type AppHandler = (req: AppRequest, ctx: AppContext) => AppResponse | Promise<AppResponse>;

/** How the containers running one image behave. */
export interface AppBehaviour {
  /**
   * It does not start, as LaunchFailure `kind` says: 'image' (no such image: CONTAINER_MISSING),
   * 'image-denied' (the runtime account may not pull it), 'exited' (it exits at once), 'timeout'
   * (it never listens: the revision fails once the startup allowance or its probe's budget has
   * passed, on setTimeout).
   */
  fails?: FailureKind | { kind: FailureKind; message?: string };
  /** Milliseconds before it listens (on setTimeout). 0 by default. */
  startupMs?: number;
  /**
   * Answers every request that reaches it: traffic, and HTTP startup probes. By default 200 with
   * the revision's name as a text body.
   */
  handler?: AppHandler;
}

const defaultHandler: AppHandler = (_req, ctx) => ({
  status: 200,
  headers: { 'content-type': 'text/plain' },
  body: `${ctx.revision}\n`,
});

/** Behaviours by image, exactly as templates name images; `fallback` for every other image. */
export class AppCatalog {
  private readonly byImage = new Map<string, AppBehaviour>();
  /** What an image with no behaviour of its own does: starts at once and answers 200. */
  fallback: AppBehaviour = {};

  constructor(initial: Record<string, AppBehaviour> = {}) {
    for (const [image, behaviour] of Object.entries(initial)) this.byImage.set(image, behaviour);
  }

  set(image: string, behaviour: AppBehaviour): this {
    this.byImage.set(image, behaviour);
    return this;
  }

  get(image: string): AppBehaviour {
    return this.byImage.get(image) ?? this.fallback;
  }

  delete(image: string): boolean {
    return this.byImage.delete(image);
  }

  clear(): void {
    this.byImage.clear();
    this.fallback = {};
  }
}

/** One running container of an in-memory instance. */
export interface MemoryContainer {
  name: string;
  image: string;
  behaviour: AppBehaviour;
  context: AppContext;
  /** Date.now() when it had started (passed its startup probe), in start order. */
  startedAt?: number;
}

export interface MemoryInstance {
  id: string;
  service: string;
  revision: string;
  ingress: number;
  containers: MemoryContainer[];
  /** Container names in the order they finished starting. */
  started: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function failureOf(behaviour: AppBehaviour): { kind: FailureKind; message?: string } | undefined {
  const f = behaviour.fails;
  return typeof f === 'string' ? { kind: f } : f;
}

/** The digest Docker would have recorded: as given, or a stable one made up from the name. */
function digestOf(image: string): string {
  if (/@sha256:[a-f0-9]{64}$/.test(image)) return image;
  const repository = image.replace(/:[^/:]+$/, '');
  return `${repository}@sha256:${createHash('sha256').update(image).digest('hex')}`;
}

function asBuffer(body: unknown): Buffer {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body);
  return Buffer.from(JSON.stringify(body));
}

/** Revisions as in-memory apps: started in dependsOn order, each after its own startup probe. */
export class MemoryRuntime implements RevisionRuntime {
  /** Every running instance, by id. */
  readonly instances = new Map<string, MemoryInstance>();
  private counter = 0;

  constructor(private readonly apps: AppCatalog) {}

  async launch(launch: RevisionLaunch): Promise<RunningRevision> {
    const containers = launch.containers.map((c): MemoryContainer => ({
      name: c.name,
      image: c.image,
      behaviour: this.apps.get(c.image),
      context: {
        service: launch.service,
        revision: launch.revision,
        container: c.name,
        image: c.image,
        env: c.env,
        files: c.files,
      },
    }));
    // Images are pulled before anything runs, as on Cloud Run (and in the Docker runtime).
    containers.forEach((c, i) => {
      const f = failureOf(c.behaviour);
      if (f && (f.kind === 'image' || f.kind === 'image-denied'))
        throw new LaunchFailure(
          f.kind,
          f.message ?? `${c.image}: ${f.kind === 'image' ? 'not found' : 'denied'}`,
          {
            container: i,
            image: c.image,
          },
        );
    });

    const id = `memory-${launch.revision}-${++this.counter}`;
    const instance: MemoryInstance = {
      id,
      service: launch.service,
      revision: launch.revision,
      ingress: launch.ingress,
      containers,
      started: [],
    };
    let failure: LaunchFailure | undefined;
    const started = new Map<number, Promise<void>>();
    const names = launch.containers.map((c) => ({ name: c.name, dependsOn: c.dependsOn }));
    for (const i of startOrder(names)) {
      const launched = launch.containers[i]!;
      const deps = launched.dependsOn.map((d) => started.get(names.findIndex((n) => n.name === d)));
      started.set(
        i,
        (async () => {
          await Promise.all(deps);
          if (failure) throw failure;
          try {
            await this.start(containers[i]!, launched, i, () => failure !== undefined);
            containers[i]!.startedAt = Date.now();
            instance.started.push(launched.name || String(i));
          } catch (err) {
            const wrapped =
              err instanceof LaunchFailure && err.container !== undefined
                ? err
                : new LaunchFailure(
                    err instanceof LaunchFailure ? err.kind : 'exited',
                    String((err as Error).message ?? err),
                    {
                      container: i,
                    },
                  );
            failure ??= wrapped;
            throw wrapped;
          }
        })(),
      );
    }
    await Promise.allSettled(started.values());
    if (failure) throw failure;
    this.instances.set(id, instance);
    return {
      id,
      address: undefined,
      imageDigest: digestOf(launch.containers[launch.ingress]!.image),
      containers: containers.map((c, i) => ({ name: c.name, id: `${id}/${c.name || i}` })),
    };
  }

  /** One container: its start-up time, then its startup probe (if it has one). */
  private async start(
    container: MemoryContainer,
    launched: ContainerLaunch,
    index: number,
    stop: () => boolean,
  ): Promise<void> {
    const f = failureOf(container.behaviour);
    const startup = launched.startup;
    if (f?.kind === 'exited' || f?.kind === 'secrets')
      throw new LaunchFailure(f.kind, f.message ?? 'container exited with code 1', { container: index });
    const budgetMs = (startup?.budgetSeconds ?? 0) * 1000;
    if (f?.kind === 'timeout') {
      if (budgetMs) await sleep(budgetMs);
      throw new LaunchFailure(
        'timeout',
        f.message ?? `did not listen within ${startup?.budgetSeconds ?? 0}s`,
        {
          container: index,
        },
      );
    }
    const startupMs = container.behaviour.startupMs ?? 0;
    if (startup && startupMs > budgetMs) {
      await sleep(budgetMs);
      throw new LaunchFailure('timeout', `did not listen within ${startup.budgetSeconds}s`, {
        container: index,
      });
    }
    if (startupMs > 0) await sleep(startupMs);
    if (!startup?.httpPath) return;
    // An HTTP startup probe: GET the path until it answers 2xx/3xx or the budget runs out.
    const deadline = Date.now() - startupMs + budgetMs;
    for (;;) {
      if (stop())
        throw new LaunchFailure('exited', 'another container of the revision failed', { container: index });
      const res = await this.answer(container, {
        method: 'GET',
        url: startup.httpPath,
        headers: {},
        body: Buffer.alloc(0),
      }).catch(() => ({ status: 500 }));
      const status = res.status ?? 200;
      if (status >= 200 && status < 400) return;
      if (Date.now() + startup.periodMs > deadline)
        throw new LaunchFailure(
          'timeout',
          `GET ${startup.httpPath} did not succeed within ${startup.budgetSeconds}s`,
          {
            container: index,
          },
        );
      await sleep(startup.periodMs);
    }
  }

  private async answer(
    container: MemoryContainer,
    req: { method: string; url: string; headers: Record<string, string>; body: Buffer },
  ): Promise<AppResponse> {
    const url = new URL(req.url, 'http://container.local');
    const handler = container.behaviour.handler ?? defaultHandler;
    return handler({ ...req, path: url.pathname, query: url.searchParams }, container.context);
  }

  /** A request to an instance's ingress container; undefined when the instance is gone. */
  async serve(
    id: string,
    req: { method: string; url: string; headers: Record<string, string>; body: Buffer },
  ): Promise<{ status: number; headers: Record<string, string>; body: Buffer } | undefined> {
    const instance = this.instances.get(id);
    if (!instance) return undefined;
    const res = await this.answer(instance.containers[instance.ingress]!, req);
    const json = res.body !== undefined && typeof res.body !== 'string' && !Buffer.isBuffer(res.body);
    return {
      status: res.status ?? 200,
      headers: { ...(json ? { 'content-type': 'application/json' } : {}), ...(res.headers ?? {}) },
      body: asBuffer(res.body),
    };
  }

  async remove(id: string): Promise<void> {
    this.instances.delete(id);
  }

  async removeOrphans(): Promise<void> {}

  async shutdown(): Promise<void> {
    this.instances.clear();
  }
}

/**
 * Service URLs and tag URLs as hosts: `https://SERVICE-PROJECT_NUMBER.REGION.run.app` (Cloud Run's
 * deterministic URL form) and `https://TAG---SERVICE-PROJECT_NUMBER.REGION.run.app`. `fetch`
 * dispatches a request for one to the router that owns the host.
 */
export class MemoryRouters {
  private readonly hosts = new Map<string, MemoryRouter>();

  constructor(readonly runtime: MemoryRuntime) {}

  create(gate: Gate, service: RoutedService): TrafficRouter {
    return new MemoryRouter(this, gate, service);
  }

  /** @internal */
  claim(host: string, router: MemoryRouter): void {
    this.hosts.set(host, router);
  }

  /** @internal: only the router that holds a host gives it up (a new service may hold it by now). */
  release(host: string, router: MemoryRouter): void {
    if (this.hosts.get(host) === router) this.hosts.delete(host);
  }

  /** What the URL answers: routed per the service's routing table, or 404 for a host no service has. */
  async fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const request = new Request(input, init);
    if (request.signal.aborted) throw request.signal.reason;
    const url = new URL(request.url);
    const router = this.hosts.get(url.host);
    const headers: Record<string, string> = { host: url.host };
    request.headers.forEach((value, key) => (headers[key] = value));
    const body = Buffer.from(await request.arrayBuffer());
    const answer = router
      ? await router.handle(url, { method: request.method, headers, body })
      : notFound(url.pathname);
    const nullBody = [101, 204, 205, 304].includes(answer.status) || request.method === 'HEAD';
    return new Response(nullBody ? null : new Uint8Array(answer.body), {
      status: answer.status,
      headers: answer.headers,
    });
  }
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Google's front end's answer for a run.app host that no service has. */
function notFound(path: string): Answer {
  return {
    status: 404,
    headers: { 'content-type': 'text/html; charset=UTF-8' },
    body: Buffer.from(
      `<!DOCTYPE html>\n<html lang=en>\n<meta charset=utf-8>\n<title>Error 404 (Not Found)!!1</title>\n<p><b>404.</b> <ins>That’s an error.</ins>\n<p>The requested URL <code>${path}</code> was not found on this server.  <ins>That’s all we know.</ins>\n`,
    ),
  };
}

const text = (status: number, body: string): Answer => ({
  status,
  headers: { 'content-type': 'text/plain' },
  body: Buffer.from(body),
});

class MemoryRouter implements TrafficRouter {
  url: string | undefined;
  private picker = new WeightedPicker<WeightedBackend>([]);
  private readonly tags = new Map<string, { url: string; backend: Backend }>();

  constructor(
    private readonly routers: MemoryRouters,
    private readonly gate: Gate,
    private readonly service: RoutedService,
  ) {}

  private host(tag?: string): string {
    const { id, projectNumber, location } = this.service;
    return `${tag ? `${tag}---` : ''}${id}-${projectNumber}.${location}.run.app`;
  }

  async start(): Promise<string> {
    if (!this.url) {
      this.url = `https://${this.host()}`;
      this.routers.claim(this.host(), this);
    }
    return this.url;
  }

  async route(
    weighted: WeightedBackend[],
    tagged: Array<{ tag: string } & Backend>,
  ): Promise<Record<string, string>> {
    await this.start();
    this.picker = new WeightedPicker(weighted);
    const urls: Record<string, string> = {};
    for (const t of tagged) {
      const url = `https://${this.host(t.tag)}`;
      this.tags.set(t.tag, { url, backend: t });
      this.routers.claim(this.host(t.tag), this);
      urls[t.tag] = url;
    }
    for (const tag of [...this.tags.keys()]) {
      if (!tagged.some((t) => t.tag === tag)) {
        this.tags.delete(tag);
        this.routers.release(this.host(tag), this);
      }
    }
    return urls;
  }

  async close(): Promise<void> {
    for (const tag of this.tags.keys()) this.routers.release(this.host(tag), this);
    this.tags.clear();
    this.routers.release(this.host(), this);
    this.url = undefined;
  }

  /** As ServiceRouter.serve: the gate, then the chosen revision's ingress container. */
  async handle(
    url: URL,
    req: { method: string; headers: Record<string, string>; body: Buffer },
  ): Promise<Answer> {
    const path = `${url.pathname}${url.search}`;
    const tag = [...this.tags.entries()].find(([, t]) => new URL(t.url).host === url.host);
    const base = tag ? tag[1].url : this.url!;
    try {
      const verdict = await this.gate({ url: path, headers: req.headers }, base);
      if (!verdict.allow) {
        const page = refusal(verdict);
        return { ...page, body: Buffer.from(page.body) };
      }
      const backend = tag ? tag[1].backend : this.picker.pick();
      if (!backend) return text(503, NO_REVISION);
      const { authorization: _dropped, ...headers } = req.headers;
      try {
        const answer = await this.routers.runtime.serve(backend.instance, { ...req, url: path, headers });
        return answer ?? text(503, 'Service Unavailable: the revision is no longer running\n');
      } catch (err) {
        // A container that fails mid-request: the connection breaks, as the real router reports it.
        return text(503, `Service Unavailable: ${(err as Error).message}\n`);
      }
    } catch (err) {
      return text(500, `router error: ${(err as Error).message}\n`);
    }
  }
}

/** Cloud Run's infrastructure, in memory, over a catalog of apps. */
export function memoryInfrastructure(apps: AppCatalog): Infrastructure & {
  runtime: MemoryRuntime;
  routers: MemoryRouters;
} {
  const runtime = new MemoryRuntime(apps);
  const routers = new MemoryRouters(runtime);
  return { runtime, routers, router: (gate, service) => routers.create(gate, service) };
}
