// The fault-injection matrix (issue 10) as one table: each row is a fault from the emulator (or a
// container, a receiver, another writer) and what must hold once the bundled action has run
// through it: the exit status, what the service URL serves, the message naming the cause, and,
// where retrying is the behaviour, how many requests the emulator saw. fault-matrix-shard.ts runs the
// rows (in parts: fault-matrix-1.test.ts …); scripts/generate-docs.ts renders them as the table of
// docs/reliability.md, so the two agree.
import { randomUUID } from 'node:crypto';
import type { ApiName, Fault } from '../../emulator/http.js';
import { deployImage, type ActionRun } from '../helpers/action.js';
import type { AppOptions } from '../helpers/app-context.js';
import { candidateTagged, deleteService, getService, patchService, until } from '../helpers/cloudrun.js';
import { admin } from '../helpers/emulator.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

/** The test images a row may deploy: what `/` answers, and how the app behaves. */
export const IMAGES = {
  stable: { body: 'stable', options: {} },
  next: { body: 'next', options: {} },
  neverReady: { body: 'never ready', options: { listenPort: 9999 } },
  crashes: { body: 'crashes', options: { crashAfter: 3 } },
  slows: { body: 'slows', options: { slowAfter: 3 } },
  flaky: { body: 'flaky', options: { flakyPasses: 2 } },
  other: { body: 'other', options: {} },
} satisfies Record<string, { body: string; options: AppOptions }>;

export type ImageName = keyof typeof IMAGES;

/** What a row's hooks know: its service, the revision that served before, the images by digest. */
export interface ScenarioContext {
  service: string;
  /** The revision the baseline deploy left serving (undefined for a new service). */
  previous: string | undefined;
  images: Record<ImageName, string>;
  /** How long the emulator's request log was when the row's run started. */
  mark: number;
  /** Runs a hook started beside the row's own run (a second deploy racing it). */
  others: ActionRun[];
  /** Called after the row, whatever happened (receivers to close). */
  cleanups: Array<() => Promise<void>>;
  /** The row's webhook receiver, when it has one. */
  receiver?: Receiver;
}

/** A count of matching requests in the emulator's log during the row's run. */
export interface RequestCount {
  /** What is counted, for the tables, e.g. "STS token exchanges". */
  what: string;
  api: ApiName;
  method?: string;
  /** A regular expression for the path, query string included. */
  path: string;
  /** Only requests answered with this status. */
  status?: number;
  count: number;
}

export type Serves =
  /** The revision that served before the run, all of the traffic (and the API agrees). */
  | 'previous'
  /** The run's own new revision, all of the traffic. */
  | 'new'
  /** Nothing: the service does not exist (the run never created it, or someone deleted it). */
  | 'nothing'
  /** The revision of one of the racing runs that exited 0. */
  | 'a winner';

export interface Scenario {
  area: string;
  name: string;
  /** The row's own service (rows never share one). */
  service: string;
  /** The service does not exist before the run (no baseline deploy). */
  fresh?: boolean;
  /** What the run deploys: a prebuilt test image (default `next`), or a context it builds. */
  deploy?: { image: ImageName } | { build: string };
  inputs?: (ctx: ScenarioContext) => Record<string, string> | Promise<Record<string, string>>;
  env?: Record<string, string>;
  faults?: (ctx: ScenarioContext) => Fault[];
  /** Something that happens while the run is under way (someone else's change, a racing run). */
  during?: (ctx: ScenarioContext) => Promise<void>;
  /** The exit status; `either` when racing runs decide it between themselves. */
  exit: 0 | 1 | 'either';
  serves: Serves;
  /**
   * The cause, named: matched against the last ::error:: when the run fails, else against the
   * log (a warning or a retry line). Every failing row has one.
   */
  message?: RegExp;
  /** Request counts that show the behaviour (retried within bounds, or not at all). */
  requests?: (service: string) => RequestCount[];
  /** Checks of the row's own; resolves to what they observed, for the results table. */
  verify?: (ctx: ScenarioContext, run: ActionRun) => Promise<string | undefined>;
}

const servicePath = (service: string, query = ''): string => `/services/${service}${query}`;
const cloudRun = { api: 'run' as const };
/** The update that creates the candidate revision (not its validateOnly dry run, not traffic moves). */
const candidateUpdate = (ctx: ScenarioContext): string => `${servicePath(ctx.service)}$`;
/** A traffic-only move (the promotion, the clean-up, an undo). */
const trafficMove = (ctx: ScenarioContext): string => `${servicePath(ctx.service)}\\?updateMask=traffic`;
/** The create of a new service (not its validateOnly dry run). */
const create = (ctx: ScenarioContext): string => `/services\\?serviceId=${ctx.service}$`;
const OIDC_TOKEN = '/_apis/actions/idtoken';
const STS_TOKEN = '^/v1/token$';
const ACCESS_TOKEN = ':generateAccessToken$';
/** Many more than any retry loop sends: a fault that lasts the whole run. */
const ALWAYS = 100;

/** Health checks that fail fast enough for the matrix: 2 passes within 8 s. */
const quickChecks = { health_check_timeout: '8s', health_check_successes: '2' };

export const SCENARIOS: Scenario[] = [
  // ---- GitHub's OIDC token endpoint -------------------------------------------------------
  {
    area: 'OIDC',
    name: 'token endpoint answers 503 once',
    service: 'fm-oidc-503',
    faults: () => [{ api: 'oidc', method: 'GET', path: OIDC_TOKEN, status: 503, count: 1 }],
    exit: 0,
    serves: 'new',
    requests: () => [{ what: 'OIDC token requests', api: 'oidc', path: OIDC_TOKEN, count: 2 }],
  },
  {
    area: 'OIDC',
    name: 'token endpoint answers 500, every time',
    service: 'fm-oidc-500',
    faults: () => [{ api: 'oidc', method: 'GET', path: OIDC_TOKEN, status: 500, count: ALWAYS }],
    exit: 1,
    serves: 'previous',
    message: /GitHub's OIDC token endpoint.*HTTP 500/s,
    requests: () => [{ what: 'OIDC token requests', api: 'oidc', path: OIDC_TOKEN, count: 3 }],
  },
  {
    area: 'OIDC',
    name: 'token endpoint does not answer, once',
    service: 'fm-oidc-slow',
    faults: () => [{ api: 'oidc', method: 'GET', path: OIDC_TOKEN, latencyMs: 15_000, count: 1 }],
    exit: 0,
    serves: 'new',
    message: /OIDC token request failed \(.*timeout\); retrying/,
  },
  {
    area: 'OIDC',
    name: 'token endpoint does not answer, every time',
    service: 'fm-oidc-hung',
    faults: () => [{ api: 'oidc', method: 'GET', path: OIDC_TOKEN, latencyMs: 15_000, count: 3 }],
    exit: 1,
    serves: 'previous',
    message: /GitHub's OIDC token endpoint.*timed out/s,
  },

  // ---- STS -----------------------------------------------------------------------------------
  {
    area: 'STS',
    name: '400 invalid_grant (the token is refused)',
    service: 'fm-sts-400',
    faults: () => [
      {
        api: 'sts',
        path: STS_TOKEN,
        status: 400,
        oauthError: 'invalid_grant',
        message: 'The audience in ID Token [x] does not match the expected audience.',
        count: 1,
      },
    ],
    exit: 1,
    serves: 'previous',
    message: /STS rejected this job's OIDC token: The audience in ID Token/,
    requests: () => [{ what: 'STS token exchanges', api: 'sts', path: STS_TOKEN, count: 1 }],
  },
  {
    area: 'STS',
    name: '403 unauthorized_client (the attribute condition refuses)',
    service: 'fm-sts-403',
    faults: () => [
      {
        api: 'sts',
        path: STS_TOKEN,
        status: 403,
        oauthError: 'unauthorized_client',
        message: 'The given credential is rejected by the attribute condition.',
        count: 1,
      },
    ],
    exit: 1,
    serves: 'previous',
    message: /rejected by the attribute condition.*attributeCondition/s,
    requests: () => [{ what: 'STS token exchanges', api: 'sts', path: STS_TOKEN, count: 1 }],
  },
  {
    area: 'STS',
    name: '503 once',
    service: 'fm-sts-503',
    faults: () => [{ api: 'sts', path: STS_TOKEN, status: 503, count: 1 }],
    exit: 0,
    serves: 'new',
    requests: () => [{ what: 'STS token exchanges', api: 'sts', path: STS_TOKEN, count: 2 }],
  },
  {
    area: 'STS',
    name: '500, every time',
    service: 'fm-sts-500',
    faults: () => [{ api: 'sts', path: STS_TOKEN, status: 500, count: ALWAYS }],
    exit: 1,
    serves: 'previous',
    message: /STS .*HTTP 500/,
    requests: () => [{ what: 'STS token exchanges', api: 'sts', path: STS_TOKEN, count: 4 }],
  },

  // ---- IAM Credentials -------------------------------------------------------------------------
  {
    area: 'IAM Credentials',
    name: '403 on generateAccessToken',
    service: 'fm-iam-403',
    faults: () => [
      {
        api: 'iamcredentials',
        path: ACCESS_TOKEN,
        status: 403,
        message: "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
        count: 1,
      },
    ],
    exit: 1,
    serves: 'previous',
    message: /may not impersonate .*roles\/iam\.workloadIdentityUser/s,
    requests: () => [
      { what: 'generateAccessToken calls', api: 'iamcredentials', path: ACCESS_TOKEN, count: 1 },
    ],
  },
  {
    area: 'IAM Credentials',
    name: '429 once',
    service: 'fm-iam-429',
    faults: () => [{ api: 'iamcredentials', path: ACCESS_TOKEN, status: 429, count: 1 }],
    exit: 0,
    serves: 'new',
    requests: () => [
      { what: 'generateAccessToken calls', api: 'iamcredentials', path: ACCESS_TOKEN, count: 2 },
    ],
  },
  {
    area: 'IAM Credentials',
    name: '503, every time',
    service: 'fm-iam-503',
    faults: () => [{ api: 'iamcredentials', path: ACCESS_TOKEN, status: 503, count: ALWAYS }],
    exit: 1,
    serves: 'previous',
    message: /IAM Credentials .*HTTP 503/,
    requests: () => [
      { what: 'generateAccessToken calls', api: 'iamcredentials', path: ACCESS_TOKEN, count: 4 },
    ],
  },

  // ---- Cloud Run Admin API -------------------------------------------------------------------
  {
    area: 'Cloud Run',
    name: 'get answers 503 twice',
    service: 'fm-get-503',
    faults: (ctx) => [
      { ...cloudRun, method: 'GET', path: `${servicePath(ctx.service)}$`, status: 503, count: 2 },
    ],
    exit: 0,
    serves: 'new',
    message: /GET \S*\/services\/\S+ failed \(Injected fault\.\); retrying in \d+ ms/,
  },
  {
    area: 'Cloud Run',
    name: 'get answers 429 once',
    service: 'fm-get-429',
    faults: (ctx) => [
      { ...cloudRun, method: 'GET', path: `${servicePath(ctx.service)}$`, status: 429, count: 1 },
    ],
    exit: 0,
    serves: 'new',
    message: /GET \S*\/services\/\S+ failed .*retrying/,
  },
  {
    area: 'Cloud Run',
    name: 'get answers 500, every time',
    service: 'fm-get-500',
    faults: (ctx) => [
      { ...cloudRun, method: 'GET', path: `${servicePath(ctx.service)}$`, status: 500, count: ALWAYS },
    ],
    exit: 1,
    serves: 'previous',
    message: /Cloud Run .*HTTP 500/,
    requests: (svc) => [
      { what: 'reads of the service', ...cloudRun, method: 'GET', path: `/services/${svc}$`, count: 5 },
      { what: 'changes', ...cloudRun, method: 'PATCH', path: `/services/${svc}($|\\?updateMask)`, count: 0 },
    ],
  },
  {
    area: 'Cloud Run',
    name: "patch answers 409 (the etag changed) on the candidate's update",
    service: 'fm-patch-409',
    faults: (ctx) => [{ ...cloudRun, method: 'PATCH', path: candidateUpdate(ctx), status: 409, count: 1 }],
    exit: 0,
    serves: 'new',
    message: /changed while Runway was deploying .*re-reading it and planning again/,
    requests: (svc) => [
      { what: 'candidate updates', ...cloudRun, method: 'PATCH', path: `/services/${svc}$`, count: 2 },
    ],
  },
  {
    area: 'Cloud Run',
    name: 'the dry run answers 409 (the service changed after the plan read it)',
    service: 'fm-dry-run-409',
    faults: (ctx) => [
      {
        ...cloudRun,
        method: 'PATCH',
        path: servicePath(ctx.service, '\\?validateOnly=true'),
        status: 409,
        count: 1,
      },
    ],
    exit: 0,
    serves: 'new',
    message: /changed while Runway was planning .*reading it again/,
    requests: (svc) => [
      {
        what: 'dry runs',
        ...cloudRun,
        method: 'PATCH',
        path: `/services/${svc}\\?validateOnly=true`,
        count: 2,
      },
    ],
  },
  {
    area: 'Cloud Run',
    name: "patch answers 500 once on the candidate's update",
    service: 'fm-patch-500',
    faults: (ctx) => [{ ...cloudRun, method: 'PATCH', path: candidateUpdate(ctx), status: 500, count: 1 }],
    exit: 0,
    serves: 'new',
    message: /PATCH \S*\/services\/\S+ failed .*retrying/,
  },
  {
    area: 'Cloud Run',
    name: 'patch answers 429 once on the traffic move',
    service: 'fm-patch-429',
    faults: (ctx) => [{ ...cloudRun, method: 'PATCH', path: trafficMove(ctx), status: 429, count: 1 }],
    exit: 0,
    serves: 'new',
    message: /PATCH \S*\/services\/\S+ failed .*retrying/,
  },
  {
    area: 'Cloud Run',
    name: 'patch answers 503 on every attempt to move traffic',
    service: 'fm-patch-503',
    // Exactly one retry loop's worth: the undo after it goes through.
    faults: (ctx) => [{ ...cloudRun, method: 'PATCH', path: trafficMove(ctx), status: 503, count: 5 }],
    exit: 1,
    serves: 'previous',
    message: /Cloud Run .*HTTP 503.*Rolled back: the traffic split put back as it was/s,
    requests: (svc) => [
      {
        what: 'refused traffic moves',
        ...cloudRun,
        method: 'PATCH',
        path: `/services/${svc}\\?updateMask=traffic`,
        status: 503,
        count: 5,
      },
    ],
  },
  {
    area: 'Cloud Run',
    name: 'create answers 409 once (created meanwhile)',
    service: 'fm-create-409',
    fresh: true,
    faults: (ctx) => [{ ...cloudRun, method: 'POST', path: create(ctx), status: 409, count: 1 }],
    exit: 0,
    serves: 'new',
    message: /changed while Runway was deploying/,
  },
  {
    area: 'Cloud Run',
    name: 'create answers 429 once',
    service: 'fm-create-429',
    fresh: true,
    faults: (ctx) => [{ ...cloudRun, method: 'POST', path: create(ctx), status: 429, count: 1 }],
    exit: 0,
    serves: 'new',
    message: /POST \S*\/services failed .*retrying/,
  },
  {
    area: 'Cloud Run',
    name: 'create answers 500 once',
    service: 'fm-create-500',
    fresh: true,
    faults: (ctx) => [{ ...cloudRun, method: 'POST', path: create(ctx), status: 500, count: 1 }],
    exit: 0,
    serves: 'new',
    message: /POST \S*\/services failed .*retrying/,
  },
  {
    area: 'Cloud Run',
    name: 'create answers 503, every time',
    service: 'fm-create-503',
    fresh: true,
    faults: (ctx) => [{ ...cloudRun, method: 'POST', path: create(ctx), status: 503, count: ALWAYS }],
    exit: 1,
    serves: 'nothing',
    message: /Cloud Run .*HTTP 503/,
    requests: (svc) => [
      {
        what: 'creates',
        ...cloudRun,
        method: 'POST',
        path: `/services\\?serviceId=${svc}$`,
        status: 503,
        count: 5,
      },
    ],
  },

  // ---- Long-running operations -----------------------------------------------------------------
  {
    area: 'Operations',
    name: "the candidate's operation fails",
    service: 'fm-op-fails',
    faults: (ctx) => [
      {
        ...cloudRun,
        method: 'PATCH',
        path: candidateUpdate(ctx),
        operationError: { code: 13, message: 'Injected: the revision could not be provisioned.' },
        count: 1,
      },
    ],
    exit: 1,
    serves: 'previous',
    message:
      /Cloud Run could not start revision \S+-[a-z]{3} .*Injected: the revision could not be provisioned/,
  },
  {
    area: 'Operations',
    name: "the candidate's operation outlasts deploy_timeout",
    service: 'fm-op-slow',
    inputs: () => ({ deploy_timeout: '20s' }),
    env: { RUNWAY_UNDO_GRACE_SECONDS: '30' },
    faults: (ctx) => [
      { ...cloudRun, method: 'PATCH', path: candidateUpdate(ctx), operationDelayMs: 35_000, count: 1 },
    ],
    exit: 1,
    serves: 'previous',
    message: /deploy_timeout passed while Cloud Run was still applying a change/,
  },

  // ---- Revisions and containers ----------------------------------------------------------------
  {
    area: 'Containers',
    name: 'a revision that never becomes ready (never listens on $PORT)',
    service: 'fm-never-ready',
    deploy: { image: 'neverReady' },
    exit: 1,
    serves: 'previous',
    message:
      /could not start revision .*failed to start and listen on the port defined provided by the PORT=8080/s,
  },
  {
    area: 'Containers',
    name: 'a container that crashes after becoming ready (after 3 requests)',
    service: 'fm-crash',
    deploy: { image: 'crashes' },
    inputs: () => ({ ...quickChecks, health_check_path: '/cgi-bin/counted' }),
    exit: 1,
    serves: 'previous',
    // Two passes on its tag, one live, then the crash: the rollback is from 100% on the new revision.
    message: /\(after taking traffic\) failed its health check \(\/cgi-bin\/counted: HTTP 503/,
  },
  {
    area: 'Containers',
    name: 'a container that becomes slow under load (after 3 requests)',
    service: 'fm-slow',
    deploy: { image: 'slows' },
    inputs: () => ({ ...quickChecks, health_check_path: '/cgi-bin/counted' }),
    exit: 1,
    serves: 'previous',
    message: /\(after taking traffic\) failed its health check \(\/cgi-bin\/counted: .*timeout/,
  },

  // ---- Health checks -----------------------------------------------------------------------------
  {
    area: 'Health checks',
    name: 'the check times out',
    service: 'fm-check-slow',
    inputs: () => ({ ...quickChecks, health_check_path: '/cgi-bin/slow' }),
    exit: 1,
    serves: 'previous',
    message: /\(on its tag URL, before taking traffic\) failed its health check \(\/cgi-bin\/slow: .*timeout/,
  },
  {
    area: 'Health checks',
    name: 'the check answers 500',
    service: 'fm-check-500',
    inputs: () => ({ ...quickChecks, health_check_path: '/cgi-bin/status?500' }),
    exit: 1,
    serves: 'previous',
    message: /failed its health check \(\/cgi-bin\/status\?500: HTTP 500/,
  },
  {
    area: 'Health checks',
    name: 'the check answers 200 with the wrong body (health_check_body)',
    service: 'fm-check-body',
    inputs: () => ({ ...quickChecks, health_check_path: '/health', health_check_body: '^ready$' }),
    exit: 1,
    serves: 'previous',
    message: /failed its health check \(\/health: HTTP 200: "ok".*health_check_body/,
  },

  // ---- After traffic moved -----------------------------------------------------------------------
  {
    area: 'After traffic moved',
    name: 'a partial split (revision_traffic 50/50) whose live check fails',
    service: 'fm-split',
    deploy: { image: 'flaky' },
    inputs: (ctx) => ({
      ...quickChecks,
      health_check_path: '/cgi-bin/flaky',
      revision_traffic: `LATEST=50,${ctx.previous}=50`,
    }),
    exit: 1,
    serves: 'previous',
    message:
      /\(after taking traffic\) failed its health check.*Rolled back: the traffic split put back as it was/s,
  },

  // ---- Artifact Registry ---------------------------------------------------------------------------
  // (Rows that build push REPOSITORY/SERVICE:SHA; the layer cache goes to :buildcache.)
  {
    area: 'Registry',
    name: "503 once on the image's manifest upload",
    service: 'fm-registry-503',
    deploy: { build: 'next' },
    faults: (ctx) => [
      {
        api: 'registry',
        method: 'PUT',
        path: `/${ctx.service}/manifests/[0-9a-f]{40}$`,
        status: 503,
        count: 1,
      },
    ],
    exit: 0,
    serves: 'new',
    message: /docker push .*retrying/,
    requests: (svc) => [
      {
        what: "uploads of the image's manifest",
        api: 'registry',
        method: 'PUT',
        path: `/${svc}/manifests/[0-9a-f]{40}$`,
        count: 2,
      },
    ],
  },
  {
    area: 'Registry',
    name: 'the connection drops during a layer upload',
    service: 'fm-registry-drop',
    deploy: { build: 'next' },
    faults: (ctx) => [
      { api: 'registry', method: 'PUT', path: `/${ctx.service}/blobs/uploads/`, drop: true, count: 1 },
    ],
    exit: 0,
    serves: 'new',
    // Docker uploads the layer again itself; the dropped request is logged without a status.
    requests: (svc) => [
      {
        what: 'dropped layer uploads',
        api: 'registry',
        method: 'PUT',
        path: `/${svc}/blobs/uploads/`,
        status: 0,
        count: 1,
      },
    ],
  },
  {
    area: 'Registry',
    name: 'every push answered 503',
    service: 'fm-registry-down',
    deploy: { build: 'next' },
    faults: (ctx) => [
      { api: 'registry', method: 'PUT', path: `/${ctx.service}/manifests/`, status: 503, count: ALWAYS },
    ],
    exit: 1,
    serves: 'previous',
    message: /Pushing \S+ failed.*503/s,
    requests: (svc) => [
      { what: 'Cloud Run changes', ...cloudRun, method: 'PATCH', path: `/services/${svc}`, count: 0 },
    ],
  },

  // ---- Secret Manager ------------------------------------------------------------------------------
  {
    area: 'Secret Manager',
    name: '404 on the referenced version',
    service: 'fm-secret-404',
    inputs: () => ({ secrets: 'GREETING=greeting:latest' }),
    faults: () => [
      { api: 'secretmanager', path: '/secrets/greeting/versions/latest$', status: 404, count: 1 },
    ],
    exit: 1,
    serves: 'previous',
    message: /Secret greeting:latest \(for GREETING\) does not exist/,
    requests: (svc) => [
      { what: 'secret lookups', api: 'secretmanager', path: '/secrets/greeting/versions/', count: 1 },
      { what: 'Cloud Run changes', ...cloudRun, method: 'PATCH', path: `/services/${svc}`, count: 0 },
    ],
  },
  {
    area: 'Secret Manager',
    name: '403 on the referenced version (the deployer may not look)',
    service: 'fm-secret-403',
    inputs: () => ({ secrets: 'GREETING=greeting:latest' }),
    faults: () => [
      { api: 'secretmanager', path: '/secrets/greeting/versions/latest$', status: 403, count: 1 },
    ],
    exit: 0,
    serves: 'new',
    message: /::warning::Could not check secret greeting:latest .*roles\/secretmanager\.viewer/,
    requests: () => [
      { what: 'secret lookups', api: 'secretmanager', path: '/secrets/greeting/versions/', count: 1 },
    ],
  },

  // ---- GitHub API (reports warn, never fail the deploy) ---------------------------------------------
  {
    area: 'GitHub API',
    name: '502 for the pull request comment, every time',
    service: 'fm-gh-comment',
    faults: () => [{ api: 'github', path: '/issues/\\d+/comments', status: 502, count: ALWAYS }],
    exit: 0,
    serves: 'new',
    message: /::warning::Could not comment on the pull request/,
    requests: () => [{ what: 'comment requests', api: 'github', path: '/issues/\\d+/comments', count: 4 }],
  },
  {
    area: 'GitHub API',
    name: '503 for deployments, every time',
    service: 'fm-gh-deploy',
    inputs: () => ({ deployment_environment: 'fm-staging' }),
    faults: () => [{ api: 'github', path: '/deployments', status: 503, count: ALWAYS }],
    exit: 0,
    serves: 'new',
    message: /::warning::Could not create the deployment/,
    requests: () => [{ what: 'deployment requests', api: 'github', path: '/deployments', count: 4 }],
  },
  {
    area: 'GitHub API',
    name: '500 for commit statuses, every time',
    service: 'fm-gh-status',
    faults: () => [{ api: 'github', path: '/statuses/', status: 500, count: ALWAYS }],
    exit: 0,
    serves: 'new',
    message: /::warning::Could not set the commit status/,
    // pending, then success: four attempts each.
    requests: () => [{ what: 'status requests', api: 'github', path: '/statuses/', count: 8 }],
  },

  // ---- Webhooks (10 s per attempt, five attempts, one webhook-id) -------------------------------
  {
    area: 'Webhooks',
    name: 'the receiver does not answer the first delivery',
    service: 'fm-hook-slow',
    inputs: (ctx) => withReceiver(ctx, (n) => (n === 0 ? 'hang' : 200)),
    exit: 0,
    serves: 'new',
    message: /webhook \S+: delivered \(HTTP 200/,
    verify: async (ctx) => deliveredOnce(ctx, 2),
  },
  {
    area: 'Webhooks',
    name: 'the receiver never answers (webhook_failure: fail)',
    service: 'fm-hook-down',
    inputs: async (ctx) => ({ ...(await withReceiver(ctx, () => 'hang')), webhook_failure: 'fail' }),
    // The deploy itself is done and healthy; the step fails because the user asked it to.
    exit: 1,
    serves: 'new',
    message: /Webhook not delivered: \S+ \(timed out\)/,
    verify: async (ctx) => deliveredOnce(ctx, 5),
  },

  // ---- Concurrent changes ------------------------------------------------------------------------
  {
    area: 'Concurrent changes',
    name: 'someone else deletes the service while Runway checks its candidate',
    service: 'fm-deleted',
    inputs: () => ({ health_check_successes: '8', health_check_timeout: '10s' }),
    during: async (ctx) => {
      await until('the candidate tag', () => candidateTagged(ctx.service));
      await deleteService(ctx.service);
    },
    exit: 1,
    serves: 'nothing',
    message: /fm-deleted in us-central1 was deleted by someone else during this run/,
  },
  {
    area: 'Concurrent changes',
    name: "someone else changes the service while Runway's update is in flight",
    service: 'fm-changed',
    // Runway's update, planned from its read before the dry run, is held until the other change has
    // landed: however loaded the machine, the other writer comes between Runway's read and its write.
    faults: (ctx) => [{ ...cloudRun, method: 'PATCH', path: candidateUpdate(ctx), hold: true, count: 1 }],
    during: async (ctx) => {
      await until("Runway's update, held", async () => (await admin.held()).length > 0);
      try {
        await patchService(ctx.service, (s) => ({
          ...s,
          labels: { ...s.labels, 'changed-by': 'someone-else' },
        }));
      } finally {
        await admin.release();
      }
    },
    exit: 0,
    serves: 'new',
    message: /changed while Runway was deploying .*re-reading it and planning again/,
    verify: async (ctx) => {
      const labels = (await getService(ctx.service))?.labels ?? {};
      if (labels['changed-by'] !== 'someone-else')
        throw new Error(`the other change was clobbered: labels ${JSON.stringify(labels)}`);
      return "the other writer's label kept";
    },
  },
  {
    area: 'Concurrent changes',
    name: 'two Runway runs race on the same service',
    service: 'fm-race',
    during: async (ctx) => {
      ctx.others.push(await deployImage(ctx.service, ctx.images.other));
    },
    exit: 'either',
    serves: 'a winner',
    // A run that loses says why: the other run's change, never a wrong revision left serving.
    message: /someone else changed the traffic|changed while Runway was deploying|already in use/i,
  },
];

/** Starts the row's webhook receiver; its URL is the row's webhook input. */
async function withReceiver(
  ctx: ScenarioContext,
  answer: (n: number) => number | 'hang',
): Promise<Record<string, string>> {
  const receiver = await startReceiver(answer);
  ctx.receiver = receiver;
  ctx.cleanups.push(() => receiver.close());
  return { webhook_url: receiver.url, webhook_secret: `fm-${randomUUID()}` };
}

/** `attempts` deliveries, all of one message (one webhook-id), as receivers deduplicate them. */
function deliveredOnce(ctx: ScenarioContext, attempts: number): string {
  const deliveries = ctx.receiver?.deliveries ?? [];
  const ids = new Set(deliveries.map((d) => d.headers['webhook-id']));
  if (deliveries.length !== attempts || ids.size !== 1)
    throw new Error(
      `expected ${attempts} deliveries of one webhook-id, got ${deliveries.length} of ${ids.size}`,
    );
  return `${attempts} deliveries, one webhook-id`;
}

const SERVES: Record<Serves, string> = {
  previous: 'the revision that served before, 100%',
  new: 'the new revision, 100%',
  nothing: 'nothing (no service)',
  'a winner': 'the revision of a run that exited 0',
};

/** The columns both tables show of a row's expectations. */
export function expectationsOf(s: Scenario): {
  exit: string;
  serves: string;
  message: string;
  requests: string;
} {
  return {
    exit: s.exit === 'either' ? '0 or 1, at least one run 0' : String(s.exit),
    serves: SERVES[s.serves],
    message: s.message ? `/${s.message.source}/` : '',
    requests: (s.requests?.(s.service) ?? []).map((r) => `${r.what}: ${r.count}`).join('; '),
  };
}
