// The Cloud Run Admin API v2 (REST), faithful to api-facts §5: services, revisions, long-running
// operations (with :wait) and IAM policies. Create/update answer at once with an Operation and
// reconcile in the background: each new revision becomes a real container, then traffic moves.
// Names in responses use the project ID, whether the caller named the project by ID or number.
import { runServiceAgent } from '../apis/serviceusage.js';
import { createHash, randomUUID } from 'node:crypto';
import type { EmulatorContext } from '../context.js';
import { requireCaller } from '../context.js';
import { GoogleApiError, invalidArgument, notFound, permissionDenied } from '../errors.js';
import { schemaRoutes, type ApiRequest, type OperationFault, type Route } from '../http.js';
import { checkPolicyEtag, describePrincipal, type Binding, type Principal } from '../iam.js';
import { revisionEnvironment } from './environment.js';
import { validateTemplateRules } from './template-rules.js';
import {
  LaunchFailure,
  type Backend,
  type ContainerLaunch,
  type Infrastructure,
  type LivenessFailure,
} from './infrastructure.js';
import { invokerGate } from './invoker.js';
import { containerEntry, systemEntry } from '../logging/store.js';
import {
  LATEST,
  REVISION,
  applyUpdateMask,
  compact,
  decodeEnums,
  ingressIndex,
  livenessProbe,
  paginate,
  readTraffic,
  revisionName,
  sameTemplate,
  seconds,
  startupProbe,
  validateAnnotationSyntax,
  validateLabelSyntax,
  validateLocation,
  validateMetadata,
  validateContainers,
  validateTemplate,
  validateRevisionName,
  validateServiceId,
  validateTraffic,
  withTemplateDefaults,
  type FieldStyle,
  type Json,
  type Target,
} from './model.js';
import { Operations, operationName, renderOperation, type OperationRecord } from './operations.js';
import {
  condition,
  now,
  serviceName,
  type RevisionFailure,
  type RevisionRecord,
  type ServiceRecord,
} from './records.js';
import {
  OUTPUT_ONLY_SERVICE_FIELDS,
  REVISION_TYPE,
  SERVICE_TYPE,
  logsUrl,
  renderPolicy,
  renderRevision,
  renderService,
  v2Template,
} from './render.js';
import { ServiceRouter } from './router.js';
import { ContainerRuntime } from './runtime.js';
import { CloudRunJobs, type ContainerOutputListener } from './jobs.js';
import { knativeRoutes } from './v1.js';
import { knativeJobRoutes } from './v1-jobs.js';
import { schemaOf } from '../schema/schema.js';

const BASE = String.raw`^\/v2\/projects\/(?<project>[^/]+)\/locations\/(?<location>[^/]+)`;

/** Service etags are opaque strings that carry their own quotes (api-facts §5.2). */
const newEtag = (): string => `"${createHash('sha256').update(randomUUID()).digest('base64').slice(0, 27)}"`;
/** IAM policy etags are bytes, so base64 in JSON. */
const newPolicyEtag = (): string => createHash('sha256').update(randomUUID()).digest('base64').slice(0, 12);

/**
 * Cloud Run's system line when a liveness probe shuts an instance down, as observed: "LIVENESS
 * HTTP probe failed 3 times consecutively for container "agent" on port 8080 path "/livez" …
 * The instance has been shut down." The TCP and gRPC forms and the last sentence for a probe that
 * could not connect are the startup probe's observed ones ("STARTUP TCP probe failed 1 time
 * consecutively…", "Connection failed with status ERROR_CONNECTION_FAILED."), UNCONFIRMED for
 * liveness, as is the wording for a container without a name.
 */
function livenessFailedText(failure: LivenessFailure): string {
  const { probe, failures } = failure;
  const container = failure.container ? `container "${failure.container}"` : 'the container';
  const path = probe.action === 'http' ? ` path "${probe.httpPath ?? '/'}"` : '';
  const connection =
    failure.cause === 'connection' ? ' Connection failed with status ERROR_CONNECTION_FAILED.' : '';
  return `LIVENESS ${probe.action.toUpperCase()} probe failed ${failures} time${failures === 1 ? '' : 's'} consecutively for ${container} on port ${failure.port}${path}. The instance has been shut down.${connection}`;
}

/** The longest a `:wait` holds the connection, whatever timeout it asks for. */
const MAX_WAIT_SECONDS = 120;

export function bodyOf(req: ApiRequest): Json {
  return req.body && typeof req.body === 'object' && !(req.body instanceof Buffer) ? (req.body as Json) : {};
}

/** How a principal shows in `creator`/`lastModifier`: the email for accounts and users. */
function actorOf(p: Principal | undefined): string {
  if (!p) return '';
  return p.kind === 'serviceAccount' || p.kind === 'user' ? p.email : describePrincipal(p);
}

export interface CloudRunOptions {
  /** Seconds a new revision's ingress container gets to start listening before the revision fails. */
  startupTimeoutSeconds: number;
  /**
   * What revisions run on and what serves their URLs: Docker containers and 127.0.0.1 listeners
   * unless given (the in-process emulator gives in-memory ones).
   */
  infrastructure?: Infrastructure;
}

/** Docker containers for revisions, 127.0.0.1 listeners for URLs. */
export function dockerInfrastructure(workDir: string): Infrastructure {
  const runtime = new ContainerRuntime(workDir);
  return { runtime, router: (gate) => new ServiceRouter(gate), tasks: runtime };
}

export class CloudRun {
  private readonly ctx: EmulatorContext;
  private readonly startupTimeoutSeconds: number;
  private readonly infrastructure: Infrastructure;
  private readonly services = new Map<string, ServiceRecord>();
  readonly operations = new Operations();
  private cleanedStale = false;
  /** Jobs, their executions and tasks (jobs.ts), on the same operations and permissions. */
  readonly jobs: CloudRunJobs;

  constructor(ctx: EmulatorContext, options: CloudRunOptions) {
    this.ctx = ctx;
    this.startupTimeoutSeconds = options.startupTimeoutSeconds;
    this.infrastructure = options.infrastructure ?? dockerInfrastructure(ctx.workDir);
    this.jobs = new CloudRunJobs(
      ctx,
      {
        projectOf: (raw, permission, shown) => this.projectOf(raw, permission, shown),
        projectNumber: (project) => this.projectNumber(project),
        allowed: (caller, permission, resource, bindings) =>
          this.ctx.world.allowed(caller, permission, resource, bindings),
        denied: (permission, shown) => this.denied(permission, shown),
        checkActAs: (caller, project, template) => this.checkActAs(caller, project, template),
        defaultServiceAccount: (project) => this.defaultServiceAccount(project),
        pullToken: (project, account) => this.pullToken(project, account),
        operations: this.operations,
      },
      this.infrastructure.tasks,
    );
    // A task's lines, as Cloud Run logs them: the cloud_run_job resource, and the execution, task
    // and attempt as entry labels (https://cloud.google.com/run/docs/logging#job-logs).
    this.jobs.onContainerOutput((line) =>
      this.ctx.world.logs.append(
        containerEntry(
          line.project,
          {
            type: 'cloud_run_job',
            labels: { job_name: line.job, location: line.location, project_id: line.project },
          },
          line,
          {
            'run.googleapis.com/execution_name': line.execution,
            'run.googleapis.com/task_index': String(line.taskIndex),
            'run.googleapis.com/task_attempt': String(line.attempt),
          },
        ),
      ),
    );
  }

  /**
   * Every line a job task's container writes, as it is read (jobs.ts, ContainerOutput); returns a
   * function that stops the calls. Lines written before are in `jobs.containerOutputs()`.
   */
  onContainerOutput(listener: ContainerOutputListener): () => void {
    return this.jobs.onContainerOutput(listener);
  }

  private get runtime(): Infrastructure['runtime'] {
    return this.infrastructure.runtime;
  }

  // ---- names and permissions ----------------------------------------------------------------

  /**
   * The project ID for an ID or number; an unknown project is a denial, as Google answers it.
   * `shown` is the resource as the caller's view names it in the message.
   */
  projectOf(raw: string, permission: string, shown = `projects/${raw}`): string {
    const id = this.ctx.world.projectId(raw);
    if (!id) throw this.denied(permission, shown);
    return id;
  }

  denied(permission: string, shown: string): GoogleApiError {
    return permissionDenied(
      permission,
      `Permission '${permission}' denied on resource '${shown}' (or resource may not exist).`,
      'run.googleapis.com',
    );
  }

  defaultServiceAccount(project: string): string {
    return `${this.ctx.world.projects.get(project)?.projectNumber ?? project}-compute@developer.gserviceaccount.com`;
  }

  /** Both views check the same permission on the same resource; `shown` is how the view names it. */
  check(
    caller: Principal,
    permission: string,
    resource: string,
    record?: ServiceRecord,
    shown = resource,
  ): void {
    if (!this.ctx.world.allowed(caller, permission, resource, record?.policy.bindings ?? [])) {
      throw this.denied(permission, shown);
    }
  }

  /** The service with this name, if it exists (callers check permissions first). */
  service(project: string, location: string, id: string): ServiceRecord | undefined {
    return this.services.get(serviceName(project, location, id));
  }

  /** The project's services in a location, or in every location for '-'. */
  servicesIn(project: string, location: string): ServiceRecord[] {
    return [...this.services.values()].filter(
      (r) => r.project === project && (location === '-' || r.location === location),
    );
  }

  /** Project ID → number, as the v1 API names namespaces. */
  projectNumber(project: string): string {
    return this.ctx.world.projects.get(project)?.projectNumber ?? project;
  }

  /** Deploying a revision that runs as an account needs actAs on that account. */
  checkActAs(caller: Principal, project: string, template: Json): void {
    const account = String(template.serviceAccount ?? this.defaultServiceAccount(project));
    const owner = /^[^@]+@([^.]+)\.iam\.gserviceaccount\.com$/.exec(account)?.[1];
    const accountProject = owner ? (this.ctx.world.projectId(owner) ?? owner) : project;
    const resource = `projects/${accountProject}/serviceAccounts/${account}`;
    if (
      !this.ctx.world.serviceAccounts.has(account) ||
      !this.ctx.world.allowed(caller, 'iam.serviceAccounts.actAs', resource)
    ) {
      throw permissionDenied(
        'iam.serviceaccounts.actAs',
        `Permission 'iam.serviceaccounts.actAs' denied on service account ${account} (or it may not exist).`,
      );
    }
  }

  /** The service a request names, after the permission check (so a denial never reveals existence). */
  private find(
    req: ApiRequest,
    permission: string,
  ): { record: ServiceRecord; caller: Principal; name: string } {
    const caller = requireCaller(this.ctx, req);
    const project = this.projectOf(req.params.project!, permission);
    const name = serviceName(project, req.params.location!, req.params.service!);
    const record = this.services.get(name);
    this.check(caller, permission, name, record);
    if (!record) throw notFound(`Resource '${name}' was not found`);
    return { record, caller, name };
  }

  // ---- reconciliation ---------------------------------------------------------------------

  private enqueue(record: ServiceRecord, work: () => Promise<void>): void {
    record.queue = record.queue
      .then(work)
      .catch((err: unknown) => console.error('emulator: reconcile failed:', err));
  }

  /** Resolves the spec's traffic into what routes, and points the router at the containers. */
  private async applyTraffic(record: ServiceRecord): Promise<void> {
    const spec = readTraffic(record.spec.traffic);
    const targets = spec.length ? spec : [{ type: LATEST, percent: 100 }];
    const backendOf = (t: Target): Backend | undefined => {
      const name = t.type === LATEST ? record.latestReady : t.revision;
      const rev = record.revisions.find((x) => x.name === name && x.state === 'ready');
      return rev?.instanceId
        ? { revision: rev.name, instance: rev.instanceId, address: rev.address }
        : undefined;
    };
    const weighted = targets.flatMap((t) => {
      const b = backendOf(t);
      return b && t.percent > 0 ? [{ ...b, percent: t.percent }] : [];
    });
    const tagged = targets.flatMap((t) => {
      const b = backendOf(t);
      return b && t.tag ? [{ ...b, tag: t.tag }] : [];
    });
    record.tagUrls = await record.router.route(weighted, tagged);
    // proto3 JSON: a LATEST entry has no revision, a zero percent is omitted.
    record.trafficStatuses = targets.map((t) => ({
      type: t.type,
      ...(t.type === REVISION ? { revision: t.revision! } : {}),
      percent: t.percent,
      ...(t.tag ? { tag: t.tag } : {}),
    }));
  }

  private failureOf(
    record: ServiceRecord,
    rev: RevisionRecord,
    err: LaunchFailure,
    port: number,
  ): RevisionFailure {
    const containers = (rev.template.containers as Json[] | undefined) ?? [];
    const ingress = ingressIndex(containers);
    const at = err.container ?? ingress;
    const failing = containers[at] ?? {};
    const image = err.image ?? String(failing.image ?? '');
    const notReady = `Revision '${rev.name}' is not ready and cannot serve traffic.`;
    const logs = `Logs URL: ${logsUrl(record, rev.name)}\nFor more troubleshooting guidance, see https://cloud.google.com/run/docs/troubleshooting#container-failed-to-start`;
    switch (err.kind) {
      case 'image':
        return { reason: 'CONTAINER_MISSING', code: 5, message: `${notReady} Image '${image}' not found.` };
      case 'image-denied':
        return {
          reason: 'CONTAINER_PERMISSION_DENIED',
          code: 9,
          message: `${notReady} The service account ${String(rev.template.serviceAccount)} must have permission to read the image, ${image}. Ensure that the provided container image URL is correct and that the above account has permission to access the image (roles/artifactregistry.reader).`,
        };
      case 'secrets':
        return { reason: 'SECRETS_ACCESS_CHECK_FAILED', code: 9, message: err.message };
      case 'timeout':
        if (failing.startupProbe) {
          return {
            reason: 'REVISION_FAILED',
            code: 9,
            message: `${notReady} The user-provided container failed the configured startup probe checks.`,
          };
        }
        break;
      case 'exited':
        break;
    }
    if (at !== ingress) {
      // A sidecar has no port to listen on: Cloud Run's words for a sidecar that exits are
      // UNCONFIRMED; the message names the container, as the revision's logs would.
      const name = typeof failing.name === 'string' && failing.name ? `'${failing.name}' ` : '';
      return {
        reason: 'REVISION_FAILED',
        code: 9,
        message: `${notReady} The user-provided container ${name}failed to start. Logs for this revision might contain more information.\n\n${logs}`,
      };
    }
    return {
      reason: 'REVISION_FAILED',
      code: 9,
      message: `${notReady} The user-provided container failed to start and listen on the port defined provided by the PORT=${port} environment variable within the allocated timeout. This can happen when the container port is misconfigured or if the timeout is too short. The health check timeout can be extended. Logs for this revision might contain more information.\n\n${logs}`,
    };
  }

  /**
   * Cloud Run pulls as its service agent, which exists once the Run API is enabled through
   * Service Usage (the one-time set-up does). Worlds seeded without that step have no agent, and
   * pull as the workload's service account, which their seed lets read the repository.
   */
  pullToken(project: string, serviceAccount: string): string {
    const agent = runServiceAgent(this.projectNumber(project));
    const puller = this.ctx.world.serviceAccounts.has(agent) ? agent : serviceAccount;
    return this.ctx.world.issueToken({ kind: 'serviceAccount', email: puller }, 'access', 600).token;
  }

  private async startRevision(record: ServiceRecord, rev: RevisionRecord): Promise<void> {
    const containers = (rev.template.containers as Json[] | undefined) ?? [];
    let port = 8080;
    try {
      const prepared = revisionEnvironment(this.ctx.world, record, rev);
      port = prepared.port;
      const token = this.pullToken(record.project, String(rev.template.serviceAccount));
      const launches = containers.map((c, i): ContainerLaunch => {
        const { env, files, sharedDirs } = prepared.containers[i]!;
        // The ingress container always has a startup check: its own probe, or Cloud Run's default
        // one of its port within the emulator's allowance. A sidecar has one only if it asks.
        const probe = c.startupProbe as Json | undefined;
        const startup =
          i === prepared.ingress || (probe && Object.keys(probe).length)
            ? startupProbe(probe, this.startupTimeoutSeconds)
            : undefined;
        return {
          name: typeof c.name === 'string' ? c.name : '',
          image: String(c.image ?? ''),
          env,
          files,
          sharedDirs,
          command: c.command as string[] | undefined,
          args: c.args as string[] | undefined,
          startup,
          liveness: livenessProbe(c.livenessProbe),
          dependsOn: ((c.dependsOn as unknown[] | undefined) ?? []).map(String),
        };
      });
      // Cloud Run's resource for a service's container logs (https://cloud.google.com/run/docs/logging#log-resource),
      // written to the world that ran it, even if a reset replaced it since.
      const logs = this.ctx.world.logs;
      const resource = {
        type: 'cloud_run_revision',
        labels: {
          service_name: record.id,
          revision_name: rev.name,
          location: record.location,
          project_id: record.project,
          configuration_name: record.id,
        },
      };
      const newInstanceId = (): string => createHash('sha256').update(randomUUID()).digest('hex');
      let instanceId = newInstanceId();
      const running = await this.runtime.launch({
        revision: rev.name,
        service: record.id,
        containers: launches,
        ingress: prepared.ingress,
        port,
        registryHost: this.ctx.registryHost,
        registryToken: token,
        output: (container, line) =>
          logs.append(
            containerEntry(record.project, resource, line, {
              instanceId,
              ...(containers.length > 1 && container ? { container_name: container } : {}),
            }),
          ),
        events: {
          livenessFailed: (failure) =>
            logs.append(
              systemEntry(record.project, resource, 'ERROR', livenessFailedText(failure), {
                instanceId,
                ...(failure.container ? { container_name: failure.container } : {}),
              }),
            ),
          // A new instance takes the old one's place: its lines carry its own id.
          replacing: () => {
            instanceId = newInstanceId();
          },
          replaced: (started) => {
            rev.containers = started;
            const ingress = started[prepared.ingress];
            if (ingress) rev.containerId = ingress.id;
          },
        },
      });
      rev.instanceId = running.id;
      rev.containers = running.containers;
      rev.containerId = running.containers[prepared.ingress]?.id ?? running.id;
      rev.address = running.address;
      if (running.imageDigest) rev.imageDigest = running.imageDigest;
      rev.state = 'ready';
    } catch (err) {
      const failure = err instanceof LaunchFailure ? err : new LaunchFailure('exited', String(err));
      rev.state = 'failed';
      rev.failure = this.failureOf(record, rev, failure, port);
    }
    rev.updateTime = now();
  }

  /** Brings the service to its spec: a new revision if asked for, then traffic. */
  private async reconcile(
    record: ServiceRecord,
    op: OperationRecord,
    newRevision: RevisionRecord | undefined,
    fault: OperationFault | undefined,
    requested: number,
  ): Promise<void> {
    if (fault?.operationDelayMs) await new Promise((r) => setTimeout(r, fault.operationDelayMs));
    if (this.services.get(serviceName(record.project, record.location, record.id)) !== record) {
      this.operations.finish(op, {
        error: { code: 10, message: 'The service was deleted before this change was applied.' },
      });
      return;
    }
    if (fault?.operationError) {
      // An injected failure: the change is recorded but nothing it asked for takes effect.
      const failure = {
        reason: 'UNKNOWN',
        code: fault.operationError.code,
        message: fault.operationError.message,
      };
      if (newRevision) {
        newRevision.state = 'failed';
        newRevision.failure = failure;
      }
      this.setFailed(record, failure, 'RoutesReady');
      record.reconciling = false;
      record.reconciledGeneration = requested;
      this.operations.finish(op, { error: fault.operationError });
      return;
    }
    if (newRevision) await this.startRevision(record, newRevision);
    const generation = record.generation;
    if (newRevision?.failure) {
      // traffic statuses, latestReadyRevision and observedGeneration stay with what serves.
      this.setFailed(record, newRevision.failure);
      record.reconciling = false;
      record.reconciledGeneration = requested;
      this.operations.finish(op, {
        error: { code: newRevision.failure.code, message: newRevision.failure.message },
      });
      return;
    }
    if (newRevision) record.latestReady = newRevision.name;
    await this.applyTraffic(record);
    // A traffic-only change after a failed revision routes as asked, but the configuration stays failed.
    const latestFailure = record.revisions.find((x) => x.name === record.latestCreated)?.failure;
    if (latestFailure) {
      this.setFailed(record, latestFailure);
    } else {
      record.terminal = condition('Ready', 'CONDITION_SUCCEEDED');
      record.conditions = [
        condition('RoutesReady', 'CONDITION_SUCCEEDED'),
        condition('ConfigurationsReady', 'CONDITION_SUCCEEDED'),
      ];
    }
    record.observedGeneration = generation;
    record.reconciledGeneration = requested;
    record.reconciling = false;
    this.operations.finish(op, { response: { '@type': SERVICE_TYPE, ...renderService(record) } });
  }

  private setFailed(
    record: ServiceRecord,
    failure: RevisionFailure,
    failedCondition: 'RoutesReady' | 'ConfigurationsReady' = 'ConfigurationsReady',
  ): void {
    const failed = { reason: failure.reason, message: failure.message, severity: 'ERROR' };
    record.terminal = condition('Ready', 'CONDITION_FAILED', failed);
    record.conditions = ['RoutesReady', 'ConfigurationsReady'].map((type) =>
      type === failedCondition
        ? condition(type, 'CONDITION_FAILED', failed)
        : condition(type, 'CONDITION_SUCCEEDED'),
    );
  }

  // ---- writes -----------------------------------------------------------------------------

  /** Validates a spec and decides whether it needs a new revision; throws API errors. */
  private prepare(
    record: ServiceRecord | undefined,
    project: string,
    serviceId: string,
    body: Json,
    caller: Principal | undefined,
    style: FieldStyle,
  ): { spec: Json; newRevisionName: string | undefined } {
    const decoded = decodeEnums(body) as Json;
    const template = decoded.template as Json | undefined;
    const containers = (template?.containers as Json[] | undefined) ?? [];
    const imageless = containers.length ? containers.findIndex((c) => !c?.image) : 0;
    if (!template || imageless >= 0) {
      throw invalidArgument(
        `spec.template.spec.containers[${imageless}].image: Required field is missing or empty.`,
        `template.containers[${imageless}].image`,
      );
    }
    validateContainers(template, style);
    validateMetadata('labels', decoded.labels);
    validateMetadata('annotations', decoded.annotations);
    validateMetadata('template.labels', template.labels);
    validateMetadata('template.annotations', template.annotations);
    validateLabelSyntax('labels', decoded.labels);
    validateLabelSyntax('template.labels', template.labels);
    validateAnnotationSyntax('annotations', decoded.annotations);
    validateAnnotationSyntax('template.annotations', template.annotations);
    validateTemplate(template);
    const fullTemplate = withTemplateDefaults(template, this.defaultServiceAccount(project));
    if (caller) this.checkActAs(caller, project, fullTemplate);

    const requestedName =
      typeof template.revision === 'string' && template.revision !== '' ? template.revision : undefined;
    const latest = record?.revisions.find((r) => r.name === record.latestCreated);
    let newRevisionName: string | undefined;
    if (requestedName) {
      const existing = record?.revisions.find((r) => r.name === requestedName);
      // A v2 client sends back the name it read without v1's labels: those do not tell them apart.
      if (existing && !sameTemplate(v2Template(existing.template), v2Template(fullTemplate))) {
        throw new GoogleApiError(
          'ALREADY_EXISTS',
          `Revision named '${requestedName}' with different configuration already exists.`,
        );
      }
      if (!existing) {
        validateRevisionName(requestedName, serviceId);
        newRevisionName = requestedName;
      }
    } else if (!latest || !sameTemplate(latest.template, fullTemplate)) {
      newRevisionName = revisionName(serviceId, (record?.counter ?? 0) + 1);
    }

    const traffic = readTraffic(decoded.traffic);
    validateTraffic(
      traffic,
      (name) => name === newRevisionName || Boolean(record?.revisions.some((r) => r.name === name)),
      serviceId,
    );
    const spec: Json = {
      ...decoded,
      template: { ...fullTemplate, revision: requestedName ?? '' },
      traffic: traffic.length ? traffic : [{ type: LATEST, percent: 100 }],
    };
    for (const output of OUTPUT_ONLY_SERVICE_FIELDS) delete spec[output];
    return { spec, newRevisionName };
  }

  /** Records a new generation, creates its revision record if any, and queues the reconciliation. */
  private startChange(
    record: ServiceRecord,
    spec: Json,
    newRevisionName: string | undefined,
    by: Principal | undefined,
    fault?: OperationFault,
  ): OperationRecord {
    record.spec = spec;
    record.generation += 1;
    record.etag = newEtag();
    record.updateTime = now();
    if (by) record.lastModifier = actorOf(by);
    record.reconciling = true;
    record.terminal = condition('Ready', 'CONDITION_RECONCILING');
    let newRevision: RevisionRecord | undefined;
    if (newRevisionName) {
      record.counter += 1;
      const template: Json = { ...(spec.template as Json), revision: newRevisionName };
      newRevision = {
        name: newRevisionName,
        uid: randomUUID(),
        createTime: now(),
        updateTime: now(),
        template,
        state: 'pending',
        probeConfigured: Boolean(
          ((template.containers as Json[] | undefined) ?? [])[
            ingressIndex((template.containers as Json[] | undefined) ?? [])
          ]?.startupProbe,
        ),
        configurationGeneration: record.generation,
      };
      record.revisions.push(newRevision);
      record.latestCreated = newRevisionName;
    }
    const op = this.operations.start(record.project, record.location, {
      '@type': SERVICE_TYPE,
      ...renderService(record),
    });
    record.lastOperation = op.name;
    const generation = record.generation;
    this.enqueue(record, () => this.reconcile(record, op, newRevision, fault, generation));
    return op;
  }

  private async newRecord(
    project: string,
    location: string,
    id: string,
    by: Principal | undefined,
  ): Promise<ServiceRecord> {
    const record: ServiceRecord = {
      project,
      location,
      id,
      uid: randomUUID(),
      createTime: now(),
      updateTime: now(),
      creator: actorOf(by),
      lastModifier: actorOf(by),
      generation: 0,
      observedGeneration: 0,
      reconciledGeneration: 0,
      etag: newEtag(),
      spec: {},
      revisions: [],
      trafficStatuses: [],
      tagUrls: {},
      reconciling: true,
      terminal: condition('Ready', 'CONDITION_RECONCILING'),
      conditions: [],
      policy: { version: 1, bindings: [], etag: newPolicyEtag() },
      router: undefined as unknown as ServiceRouter,
      counter: 0,
      queue: Promise.resolve(),
    };
    record.router = this.infrastructure.router(invokerGate(this.ctx, record), {
      project,
      projectNumber: this.projectNumber(project),
      location,
      id,
    });
    // The URL exists from creation on, even while (or if) no revision serves.
    await record.router.start();
    this.services.set(serviceName(project, location, id), record);
    return record;
  }

  /** What validateOnly answers: a finished operation with the service as it would be; nothing stored. */
  private dryRun(project: string, location: string, name: string, spec: Json): Json {
    return {
      name: operationName(project, location),
      done: true,
      response: {
        '@type': SERVICE_TYPE,
        ...(compact({ ...spec, template: v2Template(spec.template as Json), name }) as Json),
      },
    };
  }

  /**
   * Brings a service (a new one when `existing` is undefined) to `body`, a whole v2 spec: the writes
   * of both views end here. With validateOnly nothing is stored and only the checked spec returns.
   */
  async write(change: {
    caller: Principal;
    project: string;
    location: string;
    serviceId: string;
    existing: ServiceRecord | undefined;
    body: Json;
    validateOnly: boolean;
    fault?: OperationFault | undefined;
    /** How errors name fields: the v2 request's words, or v1's. */
    style: FieldStyle;
  }): Promise<{ spec: Json; record?: ServiceRecord; op?: OperationRecord }> {
    const { caller, project, location, serviceId, existing } = change;
    const { spec, newRevisionName } = this.prepare(
      existing,
      project,
      serviceId,
      change.body,
      caller,
      change.style,
    );
    validateTemplateRules(spec.template as Json, change.style, location);
    if (change.validateOnly) return { spec };
    const record = existing ?? (await this.newRecord(project, location, serviceId, caller));
    return { spec, record, op: this.startChange(record, spec, newRevisionName, caller, change.fault) };
  }

  private async writeV2(
    req: ApiRequest,
    caller: Principal,
    project: string,
    serviceId: string,
    existing: ServiceRecord | undefined,
    body: Json,
  ): Promise<Json> {
    const location = req.params.location!;
    const { spec, op } = await this.write({
      caller,
      project,
      location,
      serviceId,
      existing,
      body,
      validateOnly: req.query.get('validateOnly') === 'true',
      fault: req.operationFault,
      style: existing ? 'UpdateServiceRequest' : 'CreateServiceRequest',
    });
    return op
      ? renderOperation(op)
      : this.dryRun(project, location, serviceName(project, location, serviceId), spec);
  }

  private async create(req: ApiRequest): Promise<Json> {
    const caller = requireCaller(this.ctx, req);
    const project = this.projectOf(req.params.project!, 'run.services.create');
    const location = req.params.location!;
    const serviceId = req.query.get('serviceId') ?? '';
    const name = serviceName(project, location, serviceId);
    this.check(caller, 'run.services.create', name);
    validateServiceId(serviceId);
    if (this.services.has(name))
      throw new GoogleApiError('ALREADY_EXISTS', `Resource '${name}' already exists.`);
    return this.writeV2(req, caller, project, serviceId, undefined, bodyOf(req));
  }

  private async update(req: ApiRequest): Promise<Json> {
    const caller = requireCaller(this.ctx, req);
    const project = this.projectOf(req.params.project!, 'run.services.update');
    const location = req.params.location!;
    const serviceId = req.params.service!;
    const name = serviceName(project, location, serviceId);
    const existing = this.services.get(name);
    const body = bodyOf(req);
    this.check(caller, 'run.services.update', name, existing);
    if (!existing) {
      if (req.query.get('allowMissing') !== 'true') throw notFound(`Resource '${name}' was not found`);
      this.check(caller, 'run.services.create', name);
      validateServiceId(serviceId);
    } else if (typeof body.etag === 'string' && body.etag !== '' && body.etag !== existing.etag) {
      throw new GoogleApiError(
        'ABORTED',
        `The service '${name}' was modified concurrently: etag ${body.etag} does not match the current ${existing.etag}. Read it again and retry.`,
      );
    }
    const merged = existing ? applyUpdateMask(existing.spec, body, req.query.get('updateMask')) : body;
    return this.writeV2(req, caller, project, serviceId, existing, merged);
  }

  private deleteService(req: ApiRequest): Json {
    const { record } = this.find(req, 'run.services.delete');
    const etag = req.query.get('etag');
    if (etag && etag !== record.etag)
      throw new GoogleApiError('ABORTED', `etag ${etag} does not match the current ${record.etag}.`);
    if (req.query.get('validateOnly') === 'true') {
      const rendered = { '@type': SERVICE_TYPE, ...renderService(record) };
      return { name: operationName(record.project, record.location), done: true, response: rendered };
    }
    return renderOperation(this.deleteRecord(record));
  }

  /** Deletes a service: gone from reads at once, its containers and URLs soon after. */
  deleteRecord(record: ServiceRecord): OperationRecord {
    const rendered = { '@type': SERVICE_TYPE, ...renderService(record) };
    this.services.delete(serviceName(record.project, record.location, record.id));
    const op = this.operations.start(record.project, record.location, rendered);
    record.lastOperation = op.name;
    void this.removeService(record).then(() => this.operations.finish(op, { response: rendered }));
    return op;
  }

  /**
   * Waits for any reconciliation in flight, then closes the URLs and removes the containers (in
   * that order: the runtime lends a removed instance's network to the next one).
   */
  private async removeService(record: ServiceRecord): Promise<void> {
    await record.queue;
    await record.router.close();
    await Promise.all(
      record.revisions.filter((r) => r.instanceId).map((r) => this.runtime.remove(r.instanceId!)),
    );
  }

  // ---- reads and the other methods ---------------------------------------------------------

  private listServices(req: ApiRequest): Json {
    const caller = requireCaller(this.ctx, req);
    const project = this.projectOf(req.params.project!, 'run.services.list');
    const location = req.params.location!;
    // The proto says location must not be '-', but firebase-tools lists locations/- and gets every region.
    this.check(caller, 'run.services.list', `projects/${project}/locations/${location}`);
    const all = [...this.services.values()].filter(
      (r) => r.project === project && (location === '-' || r.location === location),
    );
    const { page, nextPageToken } = paginate(all, req.query);
    return compact({ services: page.map(renderService), nextPageToken }) as Json;
  }

  private setIamPolicy(req: ApiRequest): Json {
    const { record } = this.find(req, 'run.services.setIamPolicy');
    return this.setPolicy(record, bodyOf(req));
  }

  /** setIamPolicy's body applied to a service's policy (run.services.setIamPolicy checked). */
  setPolicy(record: ServiceRecord, body: Json): Json {
    const policy = (body.policy ?? {}) as { bindings?: Binding[]; etag?: string; version?: number };
    checkPolicyEtag(policy.etag, record.policy.etag);
    for (const b of policy.bindings ?? []) {
      if (typeof b.role !== 'string' || !Array.isArray(b.members))
        throw invalidArgument('Each binding needs a role and members.', 'policy.bindings');
    }
    record.policy = {
      version: policy.version ?? 1,
      bindings: (policy.bindings ?? []).map((b) => ({ role: b.role, members: [...b.members] })),
      etag: newPolicyEtag(),
    };
    return renderPolicy(record);
  }

  /**
   * testIamPermissions needs no permission of its own: it answers which of the asked ones the
   * caller has. A service that does not exist yet answers from the project's policy: gcloud run
   * deploy asks about the service it is about to create and does not expect an error.
   */
  private testIamPermissions(req: ApiRequest): Json {
    const caller = requireCaller(this.ctx, req);
    const project = this.projectOf(req.params.project!, 'run.services.get');
    return this.grantedOf(caller, project, req.params.location!, req.params.service!, bodyOf(req));
  }

  /** Which of the permissions a testIamPermissions body asks the caller holds on a service. */
  grantedOf(caller: Principal, project: string, location: string, id: string, body: Json): Json {
    const name = serviceName(project, location, id);
    const bindings = this.services.get(name)?.policy.bindings ?? [];
    const asked = (body.permissions as string[] | undefined) ?? [];
    const granted = asked.filter((p) => this.ctx.world.allowed(caller, p, name, bindings));
    return compact({ permissions: granted }) as Json;
  }

  private revisionOf(req: ApiRequest, permission: string): { record: ServiceRecord; rev: RevisionRecord } {
    const { record, name } = this.find(req, permission);
    const rev = record.revisions.find((r) => r.name === req.params.revision);
    if (!rev) throw notFound(`Resource '${name}/revisions/${req.params.revision}' was not found`);
    return { record, rev };
  }

  private deleteRevision(req: ApiRequest): Json {
    const { record, rev } = this.revisionOf(req, 'run.revisions.delete');
    const rendered: Json = { '@type': REVISION_TYPE, ...renderRevision(record, rev) };
    const etag = req.query.get('etag');
    if (etag && etag !== rendered.etag)
      throw new GoogleApiError(
        'ABORTED',
        `etag ${etag} does not match the current ${String(rendered.etag)}.`,
      );
    this.assertDeletable(record, rev);
    if (req.query.get('validateOnly') === 'true')
      return { name: operationName(record.project, record.location), done: true, response: rendered };
    return renderOperation(this.deleteRevisionRecord(record, rev));
  }

  /** A revision that serves or is tagged stays. */
  assertDeletable(record: ServiceRecord, rev: RevisionRecord): void {
    const referenced = [...readTraffic(record.spec.traffic), ...record.trafficStatuses].some(
      (t) => (t.type === LATEST ? record.latestReady : t.revision) === rev.name,
    );
    if (referenced) {
      throw new GoogleApiError(
        'FAILED_PRECONDITION',
        `Revision ${rev.name} is receiving traffic (or is tagged) and cannot be deleted.`,
      );
    }
  }

  /** Deletes a revision (assertDeletable passed): gone from reads at once, its container soon after. */
  deleteRevisionRecord(record: ServiceRecord, rev: RevisionRecord): OperationRecord {
    const rendered: Json = { '@type': REVISION_TYPE, ...renderRevision(record, rev) };
    record.revisions = record.revisions.filter((r) => r !== rev);
    const op = this.operations.start(record.project, record.location, rendered);
    const removal = rev.instanceId ? this.runtime.remove(rev.instanceId) : Promise.resolve();
    void removal.then(() => this.operations.finish(op, { response: rendered }));
    return op;
  }

  private operation(req: ApiRequest): OperationRecord {
    return this.findOperation(req, requireCaller(this.ctx, req));
  }

  /** The operation projects/{project}/locations/{location}/operations/{operation} a request names. */
  findOperation(req: ApiRequest, caller: Principal): OperationRecord {
    const project = this.projectOf(req.params.project!, 'run.operations.get');
    const name = `projects/${project}/locations/${req.params.location}/operations/${req.params.operation}`;
    this.check(caller, 'run.operations.get', name);
    const op = this.operations.get(name);
    if (!op) throw notFound(`Operation '${name}' was not found`);
    return op;
  }

  /** `:wait`: until the operation is done or the body's timeout (capped) passes. */
  async waitFor(op: OperationRecord, body: Json): Promise<void> {
    const timeout = Math.min(seconds(body.timeout, 60), MAX_WAIT_SECONDS);
    await this.operations.wait(op, timeout * 1000);
  }

  private listOperations(req: ApiRequest): Json {
    const caller = requireCaller(this.ctx, req);
    const project = this.projectOf(req.params.project!, 'run.operations.list');
    const parent = `projects/${project}/locations/${req.params.location}`;
    this.check(caller, 'run.operations.list', parent);
    const { page, nextPageToken } = paginate(this.operations.list(`${parent}/operations/`), req.query);
    return compact({ operations: page.map(renderOperation), nextPageToken }) as Json;
  }

  /** v2 and v1 (Knative) over the same services. */
  routes(): Route[] {
    return [...this.v2Routes(), ...knativeRoutes(this.ctx, this), ...knativeJobRoutes(this.ctx, this)];
  }

  private v2Routes(): Route[] {
    const svc = `${BASE}\\/services\\/(?<service>[^/:]+)`;
    const rev = `${svc}\\/revisions\\/(?<revision>[^/:]+)`;
    const op = `${BASE}\\/operations\\/(?<operation>[^/:]+)`;
    const route = schemaRoutes(schemaOf('run-v2'), 'google.cloud.run.v2.', (req) =>
      validateLocation(req.params.location!),
    );
    return [
      route('POST', `${BASE}\\/services`, 'Services.CreateService', (req) => this.create(req)),
      route('GET', `${BASE}\\/services`, 'Services.ListServices', (req) => this.listServices(req)),
      route('GET', svc, 'Services.GetService', (req) =>
        renderService(this.find(req, 'run.services.get').record),
      ),
      route('PATCH', svc, 'Services.UpdateService', (req) => this.update(req)),
      route('DELETE', svc, 'Services.DeleteService', (req) => this.deleteService(req)),
      route('GET', `${svc}:getIamPolicy`, 'google.iam.v1.IAMPolicy.GetIamPolicy:services', (req) =>
        renderPolicy(this.find(req, 'run.services.getIamPolicy').record),
      ),
      route('POST', `${svc}:setIamPolicy`, 'google.iam.v1.IAMPolicy.SetIamPolicy:services', (req) =>
        this.setIamPolicy(req),
      ),
      route(
        'POST',
        `${svc}:testIamPermissions`,
        'google.iam.v1.IAMPolicy.TestIamPermissions:services',
        (req) => this.testIamPermissions(req),
      ),
      route('GET', `${svc}\\/revisions`, 'Revisions.ListRevisions', (req) => {
        const { record } = this.find(req, 'run.revisions.list');
        const newestFirst = [...record.revisions].reverse();
        const { page, nextPageToken } = paginate(newestFirst, req.query);
        return compact({ revisions: page.map((r) => renderRevision(record, r)), nextPageToken });
      }),
      route('GET', rev, 'Revisions.GetRevision', (req) => {
        const { record, rev } = this.revisionOf(req, 'run.revisions.get');
        return renderRevision(record, rev);
      }),
      route('DELETE', rev, 'Revisions.DeleteRevision', (req) => this.deleteRevision(req)),
      route('GET', `${BASE}\\/operations`, 'google.longrunning.Operations.ListOperations', (req) =>
        this.listOperations(req),
      ),
      route('GET', op, 'google.longrunning.Operations.GetOperation', (req) =>
        renderOperation(this.operation(req)),
      ),
      ...this.jobRoutes(route),
      route('DELETE', op, 'google.longrunning.Operations.DeleteOperation', (req) => {
        this.operations.delete(this.operation(req).name);
        return {};
      }),
      route('POST', `${op}:wait`, 'google.longrunning.Operations.WaitOperation', async (req) => {
        const found = this.operation(req);
        await this.waitFor(found, bodyOf(req));
        return renderOperation(found);
      }),
    ];
  }

  private jobRoutes(route: ReturnType<typeof schemaRoutes>): Route[] {
    const job = `${BASE}\\/jobs\\/(?<job>[^/:]+)`;
    const execution = `${job}\\/executions\\/(?<execution>[^/:]+)`;
    const jobs = this.jobs;
    return [
      route('POST', `${BASE}\\/jobs`, 'Jobs.CreateJob', (req) => jobs.create(req)),
      route('GET', `${BASE}\\/jobs`, 'Jobs.ListJobs', (req) => jobs.list(req)),
      route('GET', job, 'Jobs.GetJob', (req) => jobs.get(req)),
      route('PATCH', job, 'Jobs.UpdateJob', (req) => jobs.update(req)),
      route('DELETE', job, 'Jobs.DeleteJob', (req) => jobs.delete(req)),
      route('POST', `${job}:run`, 'Jobs.RunJob', (req) => jobs.run(req)),
      route('GET', `${job}:getIamPolicy`, 'google.iam.v1.IAMPolicy.GetIamPolicy:jobs', (req) => {
        const caller = requireCaller(this.ctx, req);
        const project = this.projectOf(req.params.project!, 'run.jobs.getIamPolicy');
        const name = `projects/${project}/locations/${req.params.location}/jobs/${req.params.job}`;
        const found = jobs.job(project, req.params.location!, req.params.job!);
        jobs.check(caller, 'run.jobs.getIamPolicy', name, found);
        if (!found) throw notFound(`Resource '${name}' was not found`);
        return jobs.renderPolicy(found);
      }),
      route('POST', `${job}:setIamPolicy`, 'google.iam.v1.IAMPolicy.SetIamPolicy:jobs', (req) => {
        const caller = requireCaller(this.ctx, req);
        const project = this.projectOf(req.params.project!, 'run.jobs.setIamPolicy');
        const name = `projects/${project}/locations/${req.params.location}/jobs/${req.params.job}`;
        const found = jobs.job(project, req.params.location!, req.params.job!);
        jobs.check(caller, 'run.jobs.setIamPolicy', name, found);
        if (!found) throw notFound(`Resource '${name}' was not found`);
        return jobs.setPolicy(found, bodyOf(req));
      }),
      route('POST', `${job}:testIamPermissions`, 'google.iam.v1.IAMPolicy.TestIamPermissions:jobs', (req) =>
        jobs.testIamPermissions(req),
      ),
      route('GET', `${job}\\/executions`, 'Executions.ListExecutions', (req) => jobs.listExecutions(req)),
      route('GET', execution, 'Executions.GetExecution', (req) => jobs.getExecution(req)),
      route('DELETE', execution, 'Executions.DeleteExecution', (req) => jobs.deleteExecution(req)),
      route('POST', `${execution}:cancel`, 'Executions.CancelExecution', (req) => jobs.cancelExecution(req)),
      route('GET', `${execution}\\/tasks`, 'Tasks.ListTasks', (req) => jobs.listTasks(req)),
      route('GET', `${execution}\\/tasks\\/(?<task>[^/:]+)`, 'Tasks.GetTask', (req) => jobs.getTask(req)),
    ];
  }

  // ---- admin ------------------------------------------------------------------------------

  /**
   * Services as if deployed earlier: created without permission checks, ready before this returns.
   * `history` adds that many older revisions of the same template that serve nothing, scaled to
   * zero as Cloud Run leaves them (no container), as a long-lived service has.
   */
  async seedServices(specs: unknown[]): Promise<void> {
    for (const raw of specs) {
      const s = raw as {
        project: string;
        location: string;
        serviceId: string;
        service: Json;
        history?: number;
      };
      const project = this.ctx.world.projectId(s.project) ?? s.project;
      validateServiceId(s.serviceId);
      const name = serviceName(project, s.location, s.serviceId);
      if (this.services.has(name))
        throw new GoogleApiError('ALREADY_EXISTS', `Resource '${name}' already exists.`);
      const { spec, newRevisionName } = this.prepare(
        undefined,
        project,
        s.serviceId,
        s.service,
        undefined,
        'CreateServiceRequest',
      );
      const record = await this.newRecord(project, s.location, s.serviceId, undefined);
      const op = this.startChange(record, spec, newRevisionName, undefined);
      await record.queue;
      if (op.error) throw new Error(`seeding ${s.serviceId} failed: ${op.error.message}`);
      this.seedHistory(record, s.history ?? 0);
    }
  }

  private seedHistory(record: ServiceRecord, count: number): void {
    const serving = record.revisions.at(-1);
    if (!serving || count <= 0) return;
    const past = Date.now() - 86_400_000;
    const {
      instanceId: _instance,
      containerId: _running,
      address: _address,
      containers: _containers,
      ...template
    } = serving;
    const older = Array.from({ length: count }, (_, i): RevisionRecord => {
      const name = `${record.id}-${String(i + 1).padStart(5, '0')}-old`;
      const at = new Date(past + i * 1000).toISOString();
      return {
        ...template,
        name,
        uid: randomUUID(),
        createTime: at,
        updateTime: at,
        template: { ...serving.template, revision: name },
      };
    });
    record.revisions.unshift(...older);
  }

  snapshot(): unknown {
    return {
      services: [...this.services.values()].map((r) => ({
        ...renderService(r),
        revisions: r.revisions.map((rev) => ({
          name: rev.name,
          state: rev.state,
          // The ingress container's (each container's is in the template).
          image: (() => {
            const containers = (rev.template.containers as Json[] | undefined) ?? [];
            return containers[ingressIndex(containers)]?.image;
          })(),
          containerId: rev.containerId,
          address: rev.address,
          containers: rev.containers,
          failure: rev.failure,
        })),
        tagUrls: r.tagUrls,
        iamPolicy: r.policy,
      })),
      jobs: this.jobs.snapshot(),
      operations: this.operations.records().map((o) => ({
        name: o.name,
        done: o.done,
        target: o.metadata.name,
        type: o.metadata['@type'],
        error: o.error,
      })),
    };
  }

  async reset(): Promise<void> {
    if (!this.cleanedStale) {
      this.cleanedStale = true;
      await this.runtime.removeOrphans();
    }
    const records = [...this.services.values()];
    this.services.clear();
    await this.jobs.reset();
    this.operations.clear();
    await Promise.all(records.map((r) => this.removeService(r)));
  }

  async shutdown(): Promise<void> {
    await this.reset();
    await this.runtime.shutdown();
  }
}
