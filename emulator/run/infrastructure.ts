// What the Cloud Run model (cloudrun.ts) runs on, as two interfaces: a runtime that starts a
// revision's containers and removes them, and routers that serve a service URL and its tag URLs.
// The HTTP emulator plugs in Docker containers (runtime.ts) and 127.0.0.1 listeners (router.ts);
// the in-process emulator (../inprocess.ts) plugs in in-memory apps and URL dispatch. The model,
// its validation, its operations and its rendering are the same for both.
import type { IncomingHttpHeaders } from 'node:http';
import type { OutputLine } from '../logging/store.js';
export type { OutputLine };
import type { LivenessProbe, StartupProbe } from './model.js';

/** One container of a revision, ready to start: everything resolved (secrets read, env built). */
export interface ContainerLaunch {
  /** The template's name for it; '' when it has none (a single-container revision may not). */
  name: string;
  image: string;
  env: Record<string, string>;
  /** Absolute path in the container → contents (secret volumes). */
  files: Record<string, Buffer>;
  /** Absolute path in the container → the name of an in-memory (emptyDir) volume shared with others. */
  sharedDirs: Record<string, string>;
  command: string[] | undefined;
  args: string[] | undefined;
  /**
   * When the container counts as started. The ingress container always has one (its own, or Cloud
   * Run's default check of its port); a sidecar without a startup probe counts as started once it
   * runs.
   */
  startup: StartupProbe | undefined;
  /** Checked while the instance runs, once every container has started; absent: never checked. */
  liveness?: LivenessProbe | undefined;
  /** Names of the containers that must have started (passed their startup probes) before this one starts. */
  dependsOn: string[];
}

export interface RevisionLaunch {
  /** Short revision name, for container names and logs. */
  revision: string;
  service: string;
  /** In template order. */
  containers: ContainerLaunch[];
  /** Index in `containers` of the one container that receives requests. */
  ingress: number;
  /** The ingress container's port (what PORT says). */
  port: number;
  /** Registry credentials for the pulls (the revision's service account token). */
  registryHost: string;
  registryToken: string;
  /**
   * Where each line a container writes goes (Cloud Logging), with the container's name ('' when it
   * has none); a runtime whose apps write nothing never calls it.
   */
  output?: (container: string, line: OutputLine) => void;
  /** What happens to the instance once it runs (a runtime that runs no liveness probes never calls it). */
  events?: InstanceEvents;
}

/** A liveness probe that failed `failureThreshold` times in a row. */
export interface LivenessFailure {
  /** The container's name ('' when it has none). */
  container: string;
  probe: LivenessProbe;
  /** The port it checked. */
  port: number;
  /** The consecutive failures that ended it. */
  failures: number;
  /** How the last check failed: no connection, no answer in time, or an answer outside 200–399. */
  cause: 'connection' | 'timeout' | 'status';
}

/**
 * A running instance's life after its start, as Cloud Run lives it: a container whose liveness
 * probe fails shuts the instance down, and a new one starts in its place.
 */
export interface InstanceEvents {
  /** The instance is being shut down for this failure. */
  livenessFailed(failure: LivenessFailure): void;
  /** A new instance starts in its place: its containers' output comes next. */
  replacing(): void;
  /** Every container of the new instance has started, in template order. */
  replaced(containers: Array<{ name: string; id: string }>): void;
}

/** A socket address a revision's ingress port answers on. */
export interface Address {
  host: string;
  port: number;
}

export interface RunningRevision {
  /** What `remove` takes: one id for the whole instance, whatever it is made of. */
  id: string;
  /** Where the ingress port answers (none where nothing listens on a socket: in process). */
  address: Address | undefined;
  /** The ingress container's image by digest, REPOSITORY@sha256:…, when known. */
  imageDigest: string | undefined;
  /** Every container, in template order, with the runtime's id for it. */
  containers: Array<{ name: string; id: string }>;
}

/**
 * Why a revision could not start: its image could not be pulled, its secrets could not be read,
 * its container exited or could not be created, or it never became ready within its allowance.
 */
export type FailureKind = 'image' | 'image-denied' | 'secrets' | 'exited' | 'timeout';

export class LaunchFailure extends Error {
  readonly kind: FailureKind;
  /** Which container failed (index in the template), when one did. */
  readonly container: number | undefined;
  /** The image that could not be pulled, for image failures. */
  readonly image: string | undefined;
  constructor(
    kind: FailureKind,
    message: string,
    at: { container?: number | undefined; image?: string | undefined } = {},
  ) {
    super(message);
    this.kind = kind;
    this.container = at.container;
    this.image = at.image;
  }
}

/** Starts and removes revisions' containers. */
export interface RevisionRuntime {
  /** Starts every container in dependsOn order; resolves once all have started, or throws LaunchFailure. */
  launch(launch: RevisionLaunch): Promise<RunningRevision>;
  /** Removes everything `launch` started for this id (unknown ids are ignored). */
  remove(id: string): Promise<void>;
  /** Removes what emulators that died without cleaning up left behind (called once, on the first reset). */
  removeOrphans(): Promise<void>;
  /** Removes everything this runtime started. */
  shutdown(): Promise<void>;
}

/** A running revision a router sends requests to. */
export interface Backend {
  revision: string;
  /** RunningRevision.id */
  instance: string;
  /** RunningRevision.address */
  address: Address | undefined;
}

export interface WeightedBackend extends Backend {
  percent: number;
}

/** What a gate needs to see of a request (a node IncomingMessage has it). */
export interface GateRequest {
  url?: string | undefined;
  headers: IncomingHttpHeaders;
}

/** Decides whether a request may reach the service; returns an HTTP status to refuse with. */
export type Gate = (
  req: GateRequest,
  url: string,
) => Promise<{ allow: true } | { allow: false; status: number; message: string }>;

/** One service's endpoints: the service URL and one URL per tag. */
export interface TrafficRouter {
  /** Makes the service URL exist (idempotent); returns it. */
  start(): Promise<string>;
  readonly url: string | undefined;
  /** Replaces the routing table whole; returns each tag's URL (stable while the tag exists). */
  route(
    weighted: WeightedBackend[],
    tagged: Array<{ tag: string } & Backend>,
  ): Promise<Record<string, string>>;
  close(): Promise<void>;
}

/** The service a router serves, for routers whose URLs are named after it. */
export interface RoutedService {
  project: string;
  projectNumber: string;
  location: string;
  id: string;
}

/** One attempt of one job task: a container run to completion. */
export interface TaskLaunch {
  job: string;
  /** Short execution name. */
  execution: string;
  taskIndex: number;
  attempt: number;
  image: string;
  env: Record<string, string>;
  /** Absolute path in the container → contents (secret volumes). */
  files: Record<string, Buffer>;
  command: string[] | undefined;
  args: string[] | undefined;
  /** The task's timeout: the container is killed once it has run this long. */
  timeoutSeconds: number;
  registryHost: string;
  registryToken: string;
}

/** How an attempt ended: its exit code, or the timeout or a cancellation that stopped it. */
export interface TaskOutcome {
  ended: 'exited' | 'timeout' | 'cancelled';
  exitCode: number;
  output: OutputLine[];
  /** The image by digest, REPOSITORY@sha256:…, when known. */
  imageDigest: string | undefined;
}

/** Runs job tasks' containers to completion. */
export interface TaskRuntime {
  /**
   * Runs one attempt; resolves once its container has ended (and is gone). An aborted signal
   * stops it (a cancelled execution). Throws LaunchFailure when the container could not start.
   */
  runTask(launch: TaskLaunch, signal: AbortSignal): Promise<TaskOutcome>;
}

export interface Infrastructure {
  runtime: RevisionRuntime;
  router(gate: Gate, service: RoutedService): TrafficRouter;
  /** Runs job tasks; without it (the in-process emulator) every task attempt fails to start. */
  tasks?: TaskRuntime;
}

/** The page a router answers a refused request with (as Google's front end words it). */
export function refusal(verdict: { status: number; message: string }): {
  status: number;
  headers: Record<string, string>;
  body: string;
} {
  const title = verdict.status === 401 ? 'Unauthorized' : 'Forbidden';
  return {
    status: verdict.status,
    headers: {
      'content-type': 'text/html; charset=UTF-8',
      ...(verdict.status === 401
        ? { 'www-authenticate': `Bearer error="invalid_token" error_description="${verdict.message}"` }
        : {}),
    },
    body: `<html><head><meta charset="utf-8"><title>${verdict.status} ${title}</title></head><body><h1>Error: ${title}</h1><h2>${verdict.message}</h2></body></html>\n`,
  };
}

/** What a router answers when no revision serves the URL. */
export const NO_REVISION = 'Service Unavailable: no revision is serving traffic.\n';
