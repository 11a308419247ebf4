// The emulator's Cloud Run (v2 and v1), IAM Credentials and Secret Manager in the test's own
// process, with no socket and no container: `fetch` hands each request to the same pipeline the
// HTTP servers run (http.ts apiPipeline: faults, routing, parsing, handlers, error rendering, the
// request log), over the same CloudRun model, seeded with the same default world. Revisions run on
// in-memory apps (run/in-memory.ts) and service URLs answer through `probeFetch`. Every delay is a
// setTimeout, so Jest's fake timers drive operations, `:wait`, start-ups and injected latency.
//
//   const emu = await InProcessCloudRun.create();
//   emu.apps.set(image, { handler: () => ({ status: 200, body: 'ok' }) });
//   const res = await emu.fetch(`${emu.urls.run}v2/projects/runway-demo/locations/us-central1/services?serviceId=hello`, {
//     method: 'POST',
//     headers: { authorization: `Bearer ${emu.accessToken()}`, 'content-type': 'application/json' },
//     body: JSON.stringify({ template: { containers: [{ image }] } }),
//   });
import { createHash } from 'node:crypto';
import { requireCaller, type EmulatorContext, type EmulatorUrls } from './context.js';
import {
  apiPipeline,
  Traffic,
  type ApiName,
  type ApiRequest,
  type ApiServerOptions,
  type IncomingApiRequest,
} from './http.js';
import { SigningKey } from './keys.js';
import { World, type Seed } from './state.js';
import { defaultSeed, DEFAULTS } from './seed.js';
import { iamCredentialsRoutes } from './apis/iamcredentials.js';
import { secretManagerRoutes } from './apis/secretmanager.js';
import { serviceUsageRoutes } from './apis/serviceusage.js';
import { CloudRun } from './run/cloudrun.js';
import {
  AppCatalog,
  memoryInfrastructure,
  type AppBehaviour,
  type MemoryRouters,
  type MemoryRuntime,
} from './run/in-memory.js';

export type {
  AppBehaviour,
  AppContext,
  AppHandler,
  AppRequest,
  AppResponse,
  MemoryInstance,
} from './run/in-memory.js';
export { AppCatalog } from './run/in-memory.js';
export type { Fault, RequestRecord } from './http.js';

/** What `fetch` and `probeFetch` are: the global fetch's signature. */
export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface InProcessOptions {
  /**
   * Seconds an ingress container without a startup probe of its own may take to start before its
   * revision fails (what the HTTP emulator's RUNWAY_EMULATOR_STARTUP_TIMEOUT sets). 20 by default.
   */
  startupTimeoutSeconds?: number;
  /** Behaviours by image (more can be set on `apps` at any time). */
  apps?: Record<string, AppBehaviour>;
  /** What an image without a behaviour of its own does; by default it starts at once and answers 200. */
  defaultApp?: AppBehaviour;
}

/** The key every in-process emulator signs Google ID tokens with (made once per process). */
let signingKey: Promise<SigningKey> | undefined;

/** The hosts the in-process APIs answer on (no DNS is ever asked: fetch dispatches on them). */
const HOST = '.in-process';

/** The APIs served in process, and the pipeline options each gets. */
const SERVED = ['run', 'iamcredentials', 'secretmanager', 'serviceusage'] as const;
type Served = (typeof SERVED)[number];

export class InProcessCloudRun {
  /** Base URLs to give clients, ending in '/': `${urls.run}v2/projects/...`. */
  readonly urls: Record<Served, string>;
  /** The request log and pending faults: the same Traffic (and Fault objects) `admin.faults` feeds. */
  readonly traffic: Traffic;
  /** How each image's containers behave. */
  readonly apps: AppCatalog;
  /** The Cloud Run model itself (services, revisions, operations). */
  readonly run: CloudRun;
  /** Running instances, with their containers' start order: what the model started. */
  readonly runtime: MemoryRuntime;
  /**
   * A fetch for the emulated Google APIs: each request goes through the same pipeline as on the
   * HTTP emulator's sockets. Rejects like the global fetch when a fault drops the connection, when
   * the host is not an emulated API, or when the request's signal aborts.
   */
  readonly fetch: FetchFunction;
  /**
   * A fetch for service URLs and tag URLs (`https://SERVICE-NUMBER.REGION.run.app`): routed per the
   * model's routing tables to the ingress app of the revision reached; 503 when no revision serves,
   * 403/401 from the invoker check, 404 for a host no service has.
   */
  readonly probeFetch: FetchFunction;

  private readonly ctx: EmulatorContext;
  private readonly routers: MemoryRouters;

  private constructor(
    ctx: EmulatorContext,
    run: CloudRun,
    apps: AppCatalog,
    infrastructure: ReturnType<typeof memoryInfrastructure>,
  ) {
    this.ctx = ctx;
    this.traffic = ctx.traffic;
    this.run = run;
    this.apps = apps;
    this.runtime = infrastructure.runtime;
    this.routers = infrastructure.routers;
    this.urls = Object.fromEntries(SERVED.map((api) => [api, `http://${api}${HOST}/`])) as Record<
      Served,
      string
    >;
    const pipelines = new Map<Served, ReturnType<typeof apiPipeline>>();
    const options = (api: Served): Omit<ApiServerOptions, 'fallback'> => {
      const common = {
        format: 'google' as const,
        traffic: ctx.traffic,
        authenticate: (req: ApiRequest): void => void requireCaller(ctx, req),
      };
      switch (api) {
        case 'run':
          return { api, ...common, routes: run.routes() };
        case 'iamcredentials':
          return { api, ...common, routes: iamCredentialsRoutes(ctx) };
        case 'secretmanager':
          return { api, ...common, routes: secretManagerRoutes(ctx) };
        case 'serviceusage':
          return { api, ...common, routes: serviceUsageRoutes(ctx) };
      }
    };
    for (const api of SERVED) pipelines.set(api, apiPipeline(options(api)));
    this.fetch = (input, init) => dispatch(pipelines, input, init);
    this.probeFetch = (input, init) => this.routers.fetch(input, init);
  }

  static async create(options: InProcessOptions = {}): Promise<InProcessCloudRun> {
    const urls = Object.fromEntries(
      (
        [
          'oidc',
          'sts',
          'iamcredentials',
          'run',
          'secretmanager',
          'serviceusage',
          'github',
          'registry',
          'registry-public',
          'registry-private',
          'admin',
        ] satisfies ApiName[]
      ).map((api) => [api, `http://${api}${HOST}`]),
    ) as EmulatorUrls;
    // Only Google ID tokens are signed in process (there is no GitHub OIDC issuer here), so one key
    // serves as both; and generating an RSA key is most of what create() costs, so every instance
    // in the process shares one.
    signingKey ??= SigningKey.generate();
    const googleKey = await signingKey;
    const ctx: EmulatorContext = {
      world: new World(),
      traffic: new Traffic(),
      githubOidcKey: googleKey,
      googleKey,
      urls,
      registryHost: `registry${HOST}`,
      publicRegistryHost: `registry-public${HOST}`,
      privateRegistryHost: `registry-private${HOST}`,
      workDir: '',
    };
    const apps = new AppCatalog(options.apps);
    if (options.defaultApp) apps.fallback = options.defaultApp;
    const infrastructure = memoryInfrastructure(apps);
    const run = new CloudRun(ctx, {
      startupTimeoutSeconds: options.startupTimeoutSeconds ?? 20,
      infrastructure,
    });
    const emulator = new InProcessCloudRun(ctx, run, apps, infrastructure);
    await emulator.reset();
    return emulator;
  }

  /** The world (projects, accounts, IAM bindings, secrets): change it to change what is allowed. */
  get world(): World {
    return this.ctx.world;
  }

  /** Pending faults: push the same Fault objects the admin API takes. */
  get faults(): Traffic['faults'] {
    return this.traffic.faults;
  }

  /** A live access token for a service account (the seed's deployer by default): IAM checks it for real. */
  accessToken(email: string = DEFAULTS.deployer, lifetimeSeconds = 3600): string {
    return this.ctx.world.issueToken({ kind: 'serviceAccount', email }, 'access', lifetimeSeconds).token;
  }

  /**
   * A Google-signed ID token for a service account, as IAM Credentials' generateIdToken mints it
   * (with the email claim): what a private service's URL takes when the account may invoke it.
   */
  idToken(email: string, audience: string): Promise<string> {
    const uniqueId = BigInt(`0x${createHash('sha256').update(email).digest('hex').slice(0, 15)}`).toString();
    return this.ctx.googleKey.sign(
      {
        iss: 'https://accounts.google.com',
        aud: audience,
        azp: uniqueId,
        sub: uniqueId,
        email,
        email_verified: true,
      },
      3600,
    );
  }

  /** Adds to the world, and creates `services` (ready before this resolves), as the admin API's seed does. */
  async seed(seed: Seed): Promise<void> {
    this.ctx.world.apply(seed);
    if (seed.services?.length) await this.run.seedServices(seed.services);
  }

  /** Back to the default world: no services, no operations, an empty request log, no faults. */
  async reset(): Promise<void> {
    await this.run.reset();
    this.ctx.traffic.clear();
    const world = new World();
    this.ctx.world = world;
    world.apply(defaultSeed(this.ctx));
  }

  async close(): Promise<void> {
    await this.run.shutdown();
  }
}

/** The emulated API a host is: `run.in-process`, or a regional `us-central1-run.in-process` (v1). */
function apiOfHost(host: string): Served | undefined {
  if (!host.endsWith(HOST)) return undefined;
  const name = host.slice(0, -HOST.length).replace(/^[a-z]+-[a-z]+[0-9]+-(?=run$)/, '');
  return (SERVED as readonly string[]).includes(name) ? (name as Served) : undefined;
}

/** Undici's TypeError for a connection that failed, with the cause it gives. */
function fetchFailed(message: string, code: string): TypeError {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(message), { code }) });
}

async function dispatch(
  pipelines: Map<Served, ReturnType<typeof apiPipeline>>,
  input: string | URL | Request,
  init: RequestInit | undefined,
): Promise<Response> {
  const request = new Request(input, init);
  const { signal } = request;
  if (signal.aborted) throw signal.reason;
  const url = new URL(request.url);
  const api = apiOfHost(url.host);
  const pipeline = api && pipelines.get(api);
  if (!pipeline) throw fetchFailed(`getaddrinfo ENOTFOUND ${url.hostname}`, 'ENOTFOUND');
  const headers: IncomingApiRequest['headers'] = { host: url.host };
  request.headers.forEach((value, key) => (headers[key] = value));
  const body = Buffer.from(await request.arrayBuffer());
  const handled = pipeline(
    { method: request.method, url: `${url.pathname}${url.search}`, headers, readBody: async () => body },
    `${url.protocol}//${url.host}`,
  );
  let onAbort = (): void => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  let outcome: Awaited<typeof handled>;
  try {
    outcome = await Promise.race([handled, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  if (outcome.kind === 'drop') throw fetchFailed('other side closed', 'UND_ERR_SOCKET');
  if (outcome.kind === 'unrouted') throw new Error('in-process APIs have no fallback');
  const nullBody = [101, 204, 205, 304].includes(outcome.status) || request.method === 'HEAD';
  return new Response(nullBody ? null : outcome.body, { status: outcome.status, headers: outcome.headers });
}
