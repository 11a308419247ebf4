// The Cloud Run Admin API v2 (REST), faithful to api-facts §5: services, revisions, long-running
// operations (with :wait) and IAM policies. Create/update answer at once with an Operation and
// reconcile in the background: each new revision becomes a real container, then traffic moves.
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { EmulatorContext } from '../context.js';
import { requireCaller } from '../context.js';
import { GoogleApiError, invalidArgument, notFound, permissionDenied } from '../errors.js';
import { bearerToken, type ApiRequest, type Route } from '../http.js';
import type { Binding, Principal } from '../iam.js';
import { isAllowed } from '../iam.js';
import {
  LATEST,
  REVISION,
  compact,
  decodeEnums,
  readTraffic,
  revisionName,
  sameTemplate,
  seconds,
  validateMetadata,
  validateServiceId,
  validateTraffic,
  withTemplateDefaults,
  type Json,
  type Target,
} from './model.js';
import { ContainerRuntime, LaunchFailure } from './runtime.js';
import { ServiceRouter, type Gate } from './router.js';

type ConditionState =
  'CONDITION_PENDING' | 'CONDITION_RECONCILING' | 'CONDITION_FAILED' | 'CONDITION_SUCCEEDED';

interface Condition {
  type: string;
  state: ConditionState;
  message?: string;
  reason?: string;
  revisionReason?: string;
  severity?: string;
  lastTransitionTime: string;
}

interface RevisionRecord {
  name: string;
  uid: string;
  createTime: string;
  updateTime: string;
  template: Json;
  state: 'pending' | 'ready' | 'failed';
  failure?: { reason: string; message: string; code: number };
  containerId?: string;
  hostPort?: number;
}

interface ServiceRecord {
  project: string;
  location: string;
  id: string;
  uid: string;
  createTime: string;
  updateTime: string;
  generation: number;
  observedGeneration: number;
  etag: string;
  spec: Json;
  revisions: RevisionRecord[];
  latestCreated?: string;
  latestReady?: string;
  /** What actually routes now. */
  trafficStatuses: Target[];
  tagUrls: Record<string, string>;
  reconciling: boolean;
  terminal: Condition;
  conditions: Condition[];
  policy: { version: number; bindings: Binding[]; etag: string };
  router: ServiceRouter;
  counter: number;
  /** Serializes reconciliations of this service. */
  queue: Promise<void>;
}

interface OperationRecord {
  name: string;
  done: boolean;
  metadata: Json;
  response?: Json;
  error?: { code: number; message: string; details: unknown[] };
  waiters: Array<() => void>;
}

const SERVICE_TYPE = 'type.googleapis.com/google.cloud.run.v2.Service';
const REVISION_TYPE = 'type.googleapis.com/google.cloud.run.v2.Revision';
const BASE = String.raw`^\/v2\/projects\/(?<project>[^/]+)\/locations\/(?<location>[^/]+)`;

const now = (): string => new Date().toISOString();
const newEtag = (): string => `"${createHash('sha256').update(randomUUID()).digest('base64').slice(0, 27)}"`;
const condition = (type: string, state: ConditionState, extra: Partial<Condition> = {}): Condition => ({
  type,
  state,
  lastTransitionTime: now(),
  ...extra,
});

export class CloudRun {
  private readonly ctx: EmulatorContext;
  private readonly startupTimeoutSeconds: number;
  private readonly runtime: ContainerRuntime;
  private readonly services = new Map<string, ServiceRecord>();
  private readonly operations = new Map<string, OperationRecord>();
  private cleanedStale = false;

  constructor(ctx: EmulatorContext, options: { startupTimeoutSeconds: number }) {
    this.ctx = ctx;
    this.startupTimeoutSeconds = options.startupTimeoutSeconds;
    this.runtime = new ContainerRuntime(ctx.workDir);
  }

  // ---- names and permissions ----------------------------------------------------------------

  private projectOf(raw: string): { id: string; number: string } {
    const id = this.ctx.world.projectId(raw);
    if (!id)
      throw permissionDenied(
        'run.services.get',
        `Permission denied on resource project ${raw}.`,
        'run.googleapis.com',
      );
    return { id, number: this.ctx.world.projects.get(id)!.projectNumber };
  }

  private key(project: string, location: string, id: string): string {
    return `projects/${project}/locations/${location}/services/${id}`;
  }

  private defaultServiceAccount(project: string): string {
    return `${this.ctx.world.projects.get(project)?.projectNumber ?? project}-compute@developer.gserviceaccount.com`;
  }

  private check(caller: Principal, permission: string, resource: string, record?: ServiceRecord): void {
    if (!this.ctx.world.allowed(caller, permission, resource, record?.policy.bindings ?? [])) {
      throw permissionDenied(
        permission,
        `Permission '${permission}' denied on resource '${resource}' (or resource may not exist).`,
        'run.googleapis.com',
      );
    }
  }

  private checkActAs(caller: Principal, project: string, template: Json): void {
    const account = String(template.serviceAccount ?? this.defaultServiceAccount(project));
    const user = /^[^@]+@([^.]+)\.iam\.gserviceaccount\.com$/.exec(account);
    const saProject = user ? (this.ctx.world.projectId(user[1]!) ?? user[1]!) : project;
    const resource = `projects/${saProject}/serviceAccounts/${account}`;
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

  private find(
    req: ApiRequest,
    permission: string,
  ): { record: ServiceRecord; caller: Principal; name: string } {
    const caller = requireCaller(this.ctx, req);
    const { id: project } = this.projectOf(req.params.project!);
    const name = this.key(project, req.params.location!, req.params.service!);
    const record = this.services.get(name);
    this.check(caller, permission, name, record);
    if (!record) throw notFound(`Resource '${name}' was not found`);
    return { record, caller, name };
  }

  // ---- rendering --------------------------------------------------------------------------

  private fullRevision(r: ServiceRecord, revision: string): string {
    return `${this.key(r.project, r.location, r.id)}/revisions/${revision}`;
  }

  private renderService(r: ServiceRecord): Json {
    const latestRevisionRecord = r.revisions.find((x) => x.name === r.latestCreated);
    return compact({
      name: this.key(r.project, r.location, r.id),
      uid: r.uid,
      generation: String(r.generation),
      labels: r.spec.labels,
      annotations: r.spec.annotations,
      createTime: r.createTime,
      updateTime: r.updateTime,
      creator: 'deployer',
      lastModifier: 'deployer',
      description: r.spec.description,
      ingress: r.spec.ingress ?? 'INGRESS_TRAFFIC_ALL',
      launchStage: r.spec.launchStage ?? 'GA',
      invokerIamDisabled: r.spec.invokerIamDisabled,
      scaling: r.spec.scaling,
      template: {
        ...(r.spec.template as Json),
        revision: (r.spec.template as Json).revision || latestRevisionRecord?.name,
      },
      traffic: r.spec.traffic,
      observedGeneration: String(r.observedGeneration),
      terminalCondition: r.terminal,
      conditions: r.conditions,
      latestReadyRevision: r.latestReady ? this.fullRevision(r, r.latestReady) : undefined,
      latestCreatedRevision: r.latestCreated ? this.fullRevision(r, r.latestCreated) : undefined,
      trafficStatuses: r.trafficStatuses.map((t) => ({
        ...t,
        ...(t.tag && r.tagUrls[t.tag] ? { uri: r.tagUrls[t.tag] } : {}),
      })),
      uri: r.router.url,
      urls: r.router.url ? [r.router.url] : [],
      // proto3 JSON omits default values: `reconciling` appears only while true.
      reconciling: r.reconciling || undefined,
      etag: r.etag,
    }) as Json;
  }

  private renderRevision(r: ServiceRecord, rev: RevisionRecord): Json {
    const t = rev.template;
    const ready: Condition =
      rev.state === 'ready'
        ? condition('Ready', 'CONDITION_SUCCEEDED')
        : rev.state === 'failed'
          ? condition('Ready', 'CONDITION_FAILED', {
              message: rev.failure?.message ?? '',
              ...(rev.failure?.reason === 'CONTAINER_MISSING'
                ? { reason: 'CONTAINER_MISSING' }
                : { revisionReason: 'HEALTH_CHECK_CONTAINER_ERROR' }),
              severity: 'ERROR',
            })
          : condition('Ready', 'CONDITION_RECONCILING', { revisionReason: 'PENDING' });
    return compact({
      name: this.fullRevision(r, rev.name),
      uid: rev.uid,
      generation: '1',
      labels: t.labels,
      annotations: t.annotations,
      createTime: rev.createTime,
      updateTime: rev.updateTime,
      launchStage: 'GA',
      service: this.key(r.project, r.location, r.id),
      scaling: t.scaling,
      vpcAccess: t.vpcAccess,
      maxInstanceRequestConcurrency: t.maxInstanceRequestConcurrency,
      timeout: t.timeout,
      serviceAccount: t.serviceAccount,
      containers: t.containers,
      volumes: t.volumes,
      executionEnvironment: t.executionEnvironment,
      reconciling: rev.state === 'pending' || undefined,
      conditions: [
        ready,
        condition('ContainerHealthy', ready.state),
        condition(
          'ResourcesAvailable',
          rev.state === 'pending' ? 'CONDITION_RECONCILING' : 'CONDITION_SUCCEEDED',
        ),
      ],
      observedGeneration: '1',
      logUri: `https://console.cloud.google.com/logs/viewer?project=${r.project}&resource=cloud_run_revision/service_name/${r.id}/revision_name/${rev.name}`,
      etag: `"${rev.uid.slice(0, 12)}"`,
    }) as Json;
  }

  private renderOperation(op: OperationRecord): Json {
    return {
      name: op.name,
      metadata: op.metadata,
      done: op.done,
      ...(op.error ? { error: op.error } : {}),
      ...(op.response ? { response: op.response } : {}),
    };
  }

  // ---- operations -------------------------------------------------------------------------

  private newOperation(project: string, location: string, metadata: Json): OperationRecord {
    const op: OperationRecord = {
      name: `projects/${project}/locations/${location}/operations/${randomUUID()}`,
      done: false,
      metadata,
      waiters: [],
    };
    this.operations.set(op.name, op);
    return op;
  }

  private finish(
    op: OperationRecord,
    outcome: { response: Json } | { error: { code: number; message: string } },
  ): void {
    op.done = true;
    if ('response' in outcome) op.response = outcome.response;
    else op.error = { ...outcome.error, details: [] };
    for (const wake of op.waiters.splice(0)) wake();
  }

  // ---- access to running services (the routers' gate) ---------------------------------------

  private gateFor(record: ServiceRecord): Gate {
    return async (req: IncomingMessage, url: string) => {
      if (record.spec.invokerIamDisabled) return { allow: true };
      const anonymous: Principal = { kind: 'anonymous' };
      const resource = this.key(record.project, record.location, record.id);
      if (isAllowed(anonymous, 'run.routes.invoke', record.policy.bindings)) return { allow: true };
      const token = bearerToken(req.headers);
      if (!token) {
        return {
          allow: false,
          status: 403,
          message: 'Your client does not have permission to get URL from this server.',
        };
      }
      let email: string | undefined;
      try {
        const claims = await this.ctx.googleKey.verify(token, { audience: [url, record.router.url ?? url] });
        email = typeof claims.email === 'string' ? claims.email : undefined;
      } catch {
        return { allow: false, status: 401, message: 'The access token could not be verified' };
      }
      if (!email) return { allow: false, status: 403, message: 'The ID token has no email claim.' };
      const principal: Principal = { kind: 'serviceAccount', email };
      if (!this.ctx.world.allowed(principal, 'run.routes.invoke', resource, record.policy.bindings)) {
        return {
          allow: false,
          status: 403,
          message: 'Your client does not have permission to get URL from this server.',
        };
      }
      return { allow: true };
    };
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
    const backendOf = (t: Target): { revision: string; hostPort: number } | undefined => {
      const name = t.type === LATEST ? record.latestReady : t.revision;
      const rev = record.revisions.find((x) => x.name === name && x.state === 'ready');
      return rev?.hostPort ? { revision: rev.name, hostPort: rev.hostPort } : undefined;
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
    record.trafficStatuses = targets.map((t) => ({
      type: t.type,
      ...(t.type === REVISION ? { revision: t.revision! } : {}),
      percent: t.percent,
      ...(t.tag ? { tag: t.tag } : {}),
    }));
  }

  private revisionEnvironment(
    record: ServiceRecord,
    rev: RevisionRecord,
  ): { env: Record<string, string>; files: Record<string, Buffer>; port: number } {
    const container = ((rev.template.containers as Json[] | undefined) ?? [])[0] ?? {};
    const port = Number(((container.ports as Json[] | undefined) ?? [])[0]?.containerPort ?? 8080);
    const runtimeSa = String(rev.template.serviceAccount);
    const principal: Principal = { kind: 'serviceAccount', email: runtimeSa };
    const number = this.ctx.world.projects.get(record.project)?.projectNumber ?? record.project;
    const readSecret = (where: string, secretRef: string, version: string): Buffer => {
      const short = secretRef.replace(/^projects\/[^/]+\/secrets\//, '');
      const secretProject = /^projects\/([^/]+)\//.exec(secretRef)?.[1] ?? record.project;
      const pid = this.ctx.world.projectId(secretProject) ?? secretProject;
      const resource = `projects/${pid}/secrets/${short}`;
      const shown = `projects/${number}/secrets/${short}/versions/${version}`;
      if (!this.ctx.world.allowed(principal, 'secretmanager.versions.access', resource)) {
        throw new LaunchFailure(
          'start',
          `${where}: Permission denied on secret: ${shown} for Revision service account ${runtimeSa}. The service account used must be granted the 'Secret Manager Secret Accessor' role (roles/secretmanager.secretAccessor) at the secret, project or higher level.`,
        );
      }
      const secret = this.ctx.world.secrets.get(resource);
      const v =
        version === 'latest'
          ? secret?.versions.at(-1)
          : secret?.versions.find((x) => String(x.number) === version);
      if (!v) throw new LaunchFailure('start', `${where}: Secret ${shown} was not found.`);
      if (v.state !== 'ENABLED')
        throw new LaunchFailure('start', `${where}: Secret ${shown} is in ${v.state} state.`);
      return v.data;
    };

    const env: Record<string, string> = {};
    ((container.env as Json[] | undefined) ?? []).forEach((e, i) => {
      const ref = (e.valueSource as Json | undefined)?.secretKeyRef as Json | undefined;
      env[String(e.name)] = ref
        ? readSecret(
            `spec.template.spec.containers[0].env[${i}].value_from.secret_key_ref.name`,
            String(ref.secret),
            String(ref.version ?? 'latest'),
          ).toString('utf8')
        : String(e.value ?? '');
    });
    const files: Record<string, Buffer> = {};
    const volumes = (rev.template.volumes as Json[] | undefined) ?? [];
    for (const mount of (container.volumeMounts as Json[] | undefined) ?? []) {
      const volume = volumes.find((v) => v.name === mount.name);
      const secret = volume?.secret as Json | undefined;
      if (!secret) continue;
      const items = (secret.items as Json[] | undefined) ?? [
        { path: String(secret.secret).split('/').pop(), version: 'latest' },
      ];
      for (const item of items) {
        files[`${String(mount.mountPath).replace(/\/$/, '')}/${String(item.path)}`] = readSecret(
          `spec.template.spec.volumes[${String(volume!.name)}].secret`,
          String(secret.secret),
          String(item.version ?? 'latest'),
        );
      }
    }
    Object.assign(env, {
      PORT: String(port),
      K_SERVICE: record.id,
      K_REVISION: rev.name,
      K_CONFIGURATION: record.id,
    });
    return { env, files, port };
  }

  private failureMessage(
    record: ServiceRecord,
    rev: RevisionRecord,
    err: LaunchFailure,
    port: number,
    image: string,
  ): { reason: string; message: string; code: number } {
    if (err.kind === 'image') {
      return {
        reason: 'CONTAINER_MISSING',
        code: 5,
        message: `Revision '${rev.name}' is not ready and cannot serve traffic. Image '${image}' not found.`,
      };
    }
    if (/Permission denied on secret|Secret .* (was not found|state)/.test(err.message)) {
      return { reason: 'SECRETS_ACCESS_CHECK_FAILED', code: 9, message: err.message };
    }
    const logs = `https://console.cloud.google.com/logs/viewer?project=${record.project}&resource=cloud_run_revision/service_name/${record.id}/revision_name/${rev.name}`;
    return {
      reason: 'REVISION_FAILED',
      code: 9,
      message: `Revision '${rev.name}' is not ready and cannot serve traffic. The user-provided container failed to start and listen on the port defined provided by the PORT=${port} environment variable within the allocated timeout. This can happen when the container port is misconfigured or if the timeout is too short. The health check timeout can be extended. Logs for this revision might contain more information.\n\nLogs URL: ${logs}\nFor more troubleshooting guidance, see https://cloud.google.com/run/docs/troubleshooting#container-failed-to-start`,
    };
  }

  private async startRevision(record: ServiceRecord, rev: RevisionRecord): Promise<void> {
    const container = ((rev.template.containers as Json[] | undefined) ?? [])[0] ?? {};
    const image = String(container.image ?? '');
    let port = 8080;
    try {
      const prepared = this.revisionEnvironment(record, rev);
      port = prepared.port;
      const probe = (container.startupProbe as Json | undefined)?.httpGet as Json | undefined;
      const probeSettings = container.startupProbe as Json | undefined;
      const probeBudget = probeSettings
        ? Number(probeSettings.initialDelaySeconds ?? 0) +
          Number(probeSettings.periodSeconds ?? 10) * Number(probeSettings.failureThreshold ?? 3)
        : this.startupTimeoutSeconds;
      const { token } = this.ctx.world.issueToken(
        { kind: 'serviceAccount', email: String(rev.template.serviceAccount) },
        'access',
        600,
      );
      const running = await this.runtime.launch({
        revision: rev.name,
        service: record.id,
        image,
        env: prepared.env,
        files: prepared.files,
        port,
        command: container.command as string[] | undefined,
        args: container.args as string[] | undefined,
        startupTimeoutSeconds: Math.min(probeBudget, this.startupTimeoutSeconds),
        httpProbePath: probe ? String(probe.path ?? '/') : undefined,
        registryHost: this.ctx.registryHost,
        registryToken: token,
      });
      rev.containerId = running.containerId;
      rev.hostPort = running.hostPort;
      rev.state = 'ready';
    } catch (err) {
      const failure = err instanceof LaunchFailure ? err : new LaunchFailure('start', String(err));
      rev.state = 'failed';
      rev.failure = this.failureMessage(record, rev, failure, port, image);
    }
    rev.updateTime = now();
  }

  /** Brings the service to its spec: a new revision if asked for, then traffic. */
  private async reconcile(
    record: ServiceRecord,
    op: OperationRecord,
    newRevision: RevisionRecord | undefined,
  ): Promise<void> {
    if (this.services.get(this.key(record.project, record.location, record.id)) !== record) return;
    if (newRevision) await this.startRevision(record, newRevision);
    const generation = record.generation;
    const failed = newRevision?.state === 'failed' ? newRevision : undefined;
    if (failed) {
      record.terminal = condition('Ready', 'CONDITION_FAILED', {
        reason: 'REVISION_FAILED',
        message: failed.failure!.message,
        severity: 'ERROR',
      });
      record.conditions = [
        condition('ConfigurationsReady', 'CONDITION_FAILED', {
          reason: 'REVISION_FAILED',
          message: failed.failure!.message,
          severity: 'ERROR',
        }),
        condition('RoutesReady', 'CONDITION_SUCCEEDED'),
      ];
      record.reconciling = false;
      this.finish(op, { error: { code: failed.failure!.code, message: failed.failure!.message } });
      return;
    }
    if (newRevision) record.latestReady = newRevision.name;
    await this.applyTraffic(record);
    const latestFailed = record.revisions.find(
      (x) => x.name === record.latestCreated && x.state === 'failed',
    );
    record.terminal = latestFailed
      ? condition('Ready', 'CONDITION_FAILED', {
          reason: 'REVISION_FAILED',
          message: latestFailed.failure!.message,
          severity: 'ERROR',
        })
      : condition('Ready', 'CONDITION_SUCCEEDED');
    record.conditions = [
      condition('RoutesReady', 'CONDITION_SUCCEEDED'),
      latestFailed
        ? condition('ConfigurationsReady', 'CONDITION_FAILED', {
            reason: 'REVISION_FAILED',
            message: latestFailed.failure!.message,
            severity: 'ERROR',
          })
        : condition('ConfigurationsReady', 'CONDITION_SUCCEEDED'),
    ];
    record.observedGeneration = generation;
    record.reconciling = false;
    this.finish(op, { response: { '@type': SERVICE_TYPE, ...this.renderService(record) } });
  }

  // ---- writes -----------------------------------------------------------------------------

  /** Validates a spec and decides whether it needs a new revision; throws API errors. */
  private prepare(
    record: ServiceRecord | undefined,
    project: string,
    serviceId: string,
    body: Json,
    caller: Principal | undefined,
  ): { spec: Json; newRevisionName: string | undefined } {
    const decoded = decodeEnums(body) as Json;
    const template = decoded.template as Json | undefined;
    const container = ((template?.containers as Json[] | undefined) ?? [])[0];
    if (!template || !container?.image) {
      throw invalidArgument(
        'spec.template.spec.containers[0].image: Required field is missing or empty.',
        'template.containers[0].image',
      );
    }
    validateMetadata('labels', decoded.labels);
    validateMetadata('annotations', decoded.annotations);
    validateMetadata('template.labels', template.labels);
    const fullTemplate = withTemplateDefaults(template, this.defaultServiceAccount(project));
    if (caller) this.checkActAs(caller, project, fullTemplate);

    const requestedName =
      typeof template.revision === 'string' && template.revision !== '' ? template.revision : undefined;
    const latest = record?.revisions.find((r) => r.name === record.latestCreated);
    let newRevisionName: string | undefined;
    if (requestedName) {
      const existing = record?.revisions.find((r) => r.name === requestedName);
      if (existing && !sameTemplate(existing.template, fullTemplate)) {
        throw new GoogleApiError(
          'ALREADY_EXISTS',
          `Revision named '${requestedName}' with different configuration already exists.`,
        );
      }
      if (!existing) {
        if (!requestedName.startsWith(`${serviceId}-`)) {
          throw invalidArgument(
            `Revision name '${requestedName}' must start with the service name followed by '-'.`,
            'template.revision',
          );
        }
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
    for (const output of [
      'name',
      'uid',
      'generation',
      'etag',
      'uri',
      'urls',
      'trafficStatuses',
      'terminalCondition',
      'conditions',
      'latestReadyRevision',
      'latestCreatedRevision',
      'observedGeneration',
      'reconciling',
      'createTime',
      'updateTime',
      'creator',
      'lastModifier',
    ]) {
      delete spec[output];
    }
    return { spec, newRevisionName };
  }

  private startChange(
    record: ServiceRecord,
    spec: Json,
    newRevisionName: string | undefined,
  ): OperationRecord {
    record.spec = spec;
    record.generation += 1;
    record.etag = newEtag();
    record.updateTime = now();
    record.reconciling = true;
    record.terminal = condition('Ready', 'CONDITION_RECONCILING');
    let newRevision: RevisionRecord | undefined;
    if (newRevisionName) {
      record.counter += 1;
      newRevision = {
        name: newRevisionName,
        uid: randomUUID(),
        createTime: now(),
        updateTime: now(),
        template: { ...(spec.template as Json), revision: newRevisionName },
        state: 'pending',
      };
      record.revisions.push(newRevision);
      record.latestCreated = newRevisionName;
    }
    const op = this.newOperation(record.project, record.location, {
      '@type': SERVICE_TYPE,
      ...this.renderService(record),
    });
    this.enqueue(record, () => this.reconcile(record, op, newRevision));
    return op;
  }

  private createRecord(project: string, location: string, id: string): ServiceRecord {
    const record: ServiceRecord = {
      project,
      location,
      id,
      uid: randomUUID(),
      createTime: now(),
      updateTime: now(),
      generation: 0,
      observedGeneration: 0,
      etag: newEtag(),
      spec: {},
      revisions: [],
      trafficStatuses: [],
      tagUrls: {},
      reconciling: true,
      terminal: condition('Ready', 'CONDITION_RECONCILING'),
      conditions: [],
      policy: { version: 1, bindings: [], etag: Buffer.from(randomUUID()).toString('base64').slice(0, 12) },
      router: undefined as unknown as ServiceRouter,
      counter: 0,
      queue: Promise.resolve(),
    };
    record.router = new ServiceRouter(this.gateFor(record));
    return record;
  }

  private async create(req: ApiRequest): Promise<Json> {
    const caller = requireCaller(this.ctx, req);
    const { id: project } = this.projectOf(req.params.project!);
    const location = req.params.location!;
    const serviceId = req.query.get('serviceId') ?? '';
    const name = this.key(project, location, serviceId);
    this.check(caller, 'run.services.create', name);
    validateServiceId(serviceId);
    if (this.services.has(name))
      throw new GoogleApiError('ALREADY_EXISTS', `Resource '${name}' already exists.`);
    const { spec, newRevisionName } = this.prepare(
      undefined,
      project,
      serviceId,
      (req.body ?? {}) as Json,
      caller,
    );
    if (req.query.get('validateOnly') === 'true') {
      return {
        name: `projects/${project}/locations/${location}/operations/${randomUUID()}`,
        done: true,
        response: { '@type': SERVICE_TYPE, ...(compact({ ...spec, name }) as Json) },
      };
    }
    const record = this.createRecord(project, location, serviceId);
    await record.router.start();
    this.services.set(name, record);
    return this.renderOperation(this.startChange(record, spec, newRevisionName));
  }

  private async update(req: ApiRequest): Promise<Json> {
    const caller = requireCaller(this.ctx, req);
    const { id: project } = this.projectOf(req.params.project!);
    const location = req.params.location!;
    const serviceId = req.params.service!;
    const name = this.key(project, location, serviceId);
    let record = this.services.get(name);
    const body = (req.body ?? {}) as Json;
    if (!record) {
      this.check(caller, 'run.services.update', name);
      if (req.query.get('allowMissing') !== 'true') throw notFound(`Resource '${name}' was not found`);
      this.check(caller, 'run.services.create', name);
    } else {
      this.check(caller, 'run.services.update', name, record);
      if (typeof body.etag === 'string' && body.etag !== '' && body.etag !== record.etag) {
        throw new GoogleApiError(
          'ABORTED',
          `The service '${name}' was modified concurrently: the etag ${body.etag} does not match the current ${record.etag}. Read it again and retry.`,
        );
      }
    }
    const mask = req.query.get('updateMask');
    let merged = body;
    if (mask && record) {
      merged = { ...record.spec };
      for (const path of mask.split(',').map((p) => p.trim().split('.')[0]!)) merged[path] = body[path];
      if (mask.split(',').some((p) => p.trim().startsWith('template.')))
        merged.template = {
          ...(record.spec.template as Json),
          ...((body.template as Json | undefined) ?? {}),
        };
    }
    const { spec, newRevisionName } = this.prepare(record, project, serviceId, merged, caller);
    if (req.query.get('validateOnly') === 'true') {
      return {
        name: `projects/${project}/locations/${location}/operations/${randomUUID()}`,
        done: true,
        response: { '@type': SERVICE_TYPE, ...(compact({ ...spec, name }) as Json) },
      };
    }
    if (!record) {
      record = this.createRecord(project, location, serviceId);
      await record.router.start();
      this.services.set(name, record);
    }
    return this.renderOperation(this.startChange(record, spec, newRevisionName));
  }

  private async removeService(record: ServiceRecord): Promise<void> {
    await record.queue;
    await Promise.all(
      record.revisions.filter((r) => r.containerId).map((r) => this.runtime.remove(r.containerId!)),
    );
    await record.router.close();
  }

  // ---- routes -----------------------------------------------------------------------------

  routes(): Route[] {
    const svc = `${BASE}\\/services\\/(?<service>[^/:]+)`;
    const body = (req: ApiRequest): Json =>
      req.body && typeof req.body === 'object' && !(req.body instanceof Buffer) ? (req.body as Json) : {};
    return [
      {
        method: 'POST',
        pattern: new RegExp(`${BASE}\\/services$`),
        handler: async (req) => ({ body: await this.create(req) }),
      },
      {
        method: 'GET',
        pattern: new RegExp(`${BASE}\\/services$`),
        handler: (req) => {
          const caller = requireCaller(this.ctx, req);
          const { id: project } = this.projectOf(req.params.project!);
          const location = req.params.location!;
          if (location === '-')
            throw invalidArgument(
              'Listing services across locations is not supported; name a location.',
              'parent',
            );
          this.check(caller, 'run.services.list', `projects/${project}/locations/${location}`);
          const list = [...this.services.values()]
            .filter((r) => r.project === project && r.location === location)
            .map((r) => this.renderService(r));
          return { body: compact({ services: list }) };
        },
      },
      {
        method: 'GET',
        pattern: new RegExp(`${svc}$`),
        handler: (req) => ({ body: this.renderService(this.find(req, 'run.services.get').record) }),
      },
      {
        method: 'PATCH',
        pattern: new RegExp(`${svc}$`),
        handler: async (req) => ({ body: await this.update(req) }),
      },
      {
        method: 'DELETE',
        pattern: new RegExp(`${svc}$`),
        handler: async (req) => {
          const { record, name } = this.find(req, 'run.services.delete');
          const etag = req.query.get('etag');
          if (etag && etag !== record.etag)
            throw new GoogleApiError(
              'ABORTED',
              `The etag ${etag} does not match the current ${record.etag}.`,
            );
          const rendered = { '@type': SERVICE_TYPE, ...this.renderService(record) };
          if (req.query.get('validateOnly') === 'true')
            return { body: { name: `${name}/operations/validate`, done: true, response: rendered } };
          this.services.delete(name);
          const op = this.newOperation(record.project, record.location, rendered);
          void this.removeService(record).then(() => this.finish(op, { response: rendered }));
          return { body: this.renderOperation(op) };
        },
      },
      {
        method: 'GET',
        pattern: new RegExp(`${svc}:getIamPolicy$`),
        handler: (req) => {
          const { record } = this.find(req, 'run.services.getIamPolicy');
          return {
            body: compact({
              version: record.policy.version,
              bindings: record.policy.bindings,
              etag: record.policy.etag,
            }),
          };
        },
      },
      {
        method: 'POST',
        pattern: new RegExp(`${svc}:setIamPolicy$`),
        handler: (req) => {
          const { record } = this.find(req, 'run.services.setIamPolicy');
          const policy = (body(req).policy ?? {}) as {
            bindings?: Binding[];
            etag?: string;
            version?: number;
          };
          if (policy.etag && policy.etag !== record.policy.etag) {
            throw new GoogleApiError(
              'ABORTED',
              'There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.',
            );
          }
          for (const b of policy.bindings ?? []) {
            if (typeof b.role !== 'string' || !Array.isArray(b.members))
              throw invalidArgument('Each binding needs a role and members.', 'policy.bindings');
          }
          record.policy = {
            version: policy.version ?? 1,
            bindings: (policy.bindings ?? []).map((b) => ({ role: b.role, members: [...b.members] })),
            etag: Buffer.from(randomUUID()).toString('base64').slice(0, 12),
          };
          return {
            body: compact({
              version: record.policy.version,
              bindings: record.policy.bindings,
              etag: record.policy.etag,
            }),
          };
        },
      },
      {
        method: 'POST',
        pattern: new RegExp(`${svc}:testIamPermissions$`),
        handler: (req) => {
          const caller = requireCaller(this.ctx, req);
          const { id: project } = this.projectOf(req.params.project!);
          const name = this.key(project, req.params.location!, req.params.service!);
          const record = this.services.get(name);
          if (!record) throw notFound(`Resource '${name}' was not found`);
          const asked = (body(req).permissions as string[] | undefined) ?? [];
          const granted = asked.filter((p) =>
            this.ctx.world.allowed(caller, p, name, record.policy.bindings),
          );
          return { body: compact({ permissions: granted }) };
        },
      },
      {
        method: 'GET',
        pattern: new RegExp(`${svc}\\/revisions$`),
        handler: (req) => {
          const { record } = this.find(req, 'run.revisions.list');
          return {
            body: compact({
              revisions: [...record.revisions].reverse().map((r) => this.renderRevision(record, r)),
            }),
          };
        },
      },
      {
        method: 'GET',
        pattern: new RegExp(`${svc}\\/revisions\\/(?<revision>[^/:]+)$`),
        handler: (req) => {
          const { record, name } = this.find(req, 'run.revisions.get');
          const rev = record.revisions.find((r) => r.name === req.params.revision);
          if (!rev) throw notFound(`Resource '${name}/revisions/${req.params.revision}' was not found`);
          return { body: this.renderRevision(record, rev) };
        },
      },
      {
        method: 'DELETE',
        pattern: new RegExp(`${svc}\\/revisions\\/(?<revision>[^/:]+)$`),
        handler: async (req) => {
          const { record, name } = this.find(req, 'run.revisions.delete');
          const rev = record.revisions.find((r) => r.name === req.params.revision);
          if (!rev) throw notFound(`Resource '${name}/revisions/${req.params.revision}' was not found`);
          const serving = record.trafficStatuses.some(
            (t) => (t.type === LATEST ? record.latestReady : t.revision) === rev.name,
          );
          if (serving)
            throw new GoogleApiError(
              'FAILED_PRECONDITION',
              `Revision ${rev.name} is receiving traffic (or is tagged) and cannot be deleted.`,
            );
          const rendered = { '@type': REVISION_TYPE, ...this.renderRevision(record, rev) };
          record.revisions = record.revisions.filter((r) => r !== rev);
          if (rev.containerId) await this.runtime.remove(rev.containerId);
          const op = this.newOperation(record.project, record.location, rendered);
          this.finish(op, { response: rendered });
          return { body: this.renderOperation(op) };
        },
      },
      {
        method: 'GET',
        pattern: new RegExp(`${BASE}\\/operations$`),
        handler: (req) => {
          requireCaller(this.ctx, req);
          const { id: project } = this.projectOf(req.params.project!);
          const prefix = `projects/${project}/locations/${req.params.location}/operations/`;
          return {
            body: compact({
              operations: [...this.operations.values()]
                .filter((o) => o.name.startsWith(prefix))
                .map((o) => this.renderOperation(o)),
            }),
          };
        },
      },
      {
        method: 'GET',
        pattern: new RegExp(`${BASE}\\/operations\\/(?<operation>[^/:]+)$`),
        handler: (req) => ({ body: this.renderOperation(this.operation(req)) }),
      },
      {
        method: 'DELETE',
        pattern: new RegExp(`${BASE}\\/operations\\/(?<operation>[^/:]+)$`),
        handler: (req) => {
          const op = this.operation(req);
          this.operations.delete(op.name);
          return { body: {} };
        },
      },
      {
        method: 'POST',
        pattern: new RegExp(`${BASE}\\/operations\\/(?<operation>[^/:]+):wait$`),
        handler: async (req) => {
          const op = this.operation(req);
          // Best effort, as documented: return when done or when the timeout passes.
          const timeout = Math.min(seconds(body(req).timeout, 60), 120) * 1000;
          if (!op.done) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, timeout);
              op.waiters.push(() => {
                clearTimeout(timer);
                resolve();
              });
            });
          }
          return { body: this.renderOperation(op) };
        },
      },
    ];
  }

  private operation(req: ApiRequest): OperationRecord {
    const caller = requireCaller(this.ctx, req);
    const { id: project } = this.projectOf(req.params.project!);
    const name = `projects/${project}/locations/${req.params.location}/operations/${req.params.operation}`;
    this.check(caller, 'run.operations.get', name);
    const op = this.operations.get(name);
    if (!op) throw notFound(`Operation '${name}' was not found`);
    return op;
  }

  // ---- admin ------------------------------------------------------------------------------

  async seedServices(specs: unknown[]): Promise<void> {
    for (const raw of specs) {
      const s = raw as { project: string; location: string; serviceId: string; service: Json };
      const project = this.ctx.world.projectId(s.project) ?? s.project;
      validateServiceId(s.serviceId);
      const { spec, newRevisionName } = this.prepare(undefined, project, s.serviceId, s.service, undefined);
      const record = this.createRecord(project, s.location, s.serviceId);
      await record.router.start();
      this.services.set(this.key(project, s.location, s.serviceId), record);
      const op = this.startChange(record, spec, newRevisionName);
      await record.queue;
      if (op.error) throw new Error(`seeding ${s.serviceId} failed: ${op.error.message}`);
    }
  }

  snapshot(): unknown {
    return {
      services: [...this.services.values()].map((r) => ({
        ...this.renderService(r),
        revisions: r.revisions.map((rev) => ({
          name: rev.name,
          state: rev.state,
          containerId: rev.containerId,
          hostPort: rev.hostPort,
          failure: rev.failure,
        })),
        iamPolicy: r.policy,
      })),
      operations: [...this.operations.values()].map((o) => ({ name: o.name, done: o.done, error: o.error })),
    };
  }

  async reset(): Promise<void> {
    if (!this.cleanedStale) {
      this.cleanedStale = true;
      await ContainerRuntime.removeOrphans();
    }
    const records = [...this.services.values()];
    this.services.clear();
    this.operations.clear();
    await Promise.all(records.map((r) => this.removeService(r)));
  }

  async shutdown(): Promise<void> {
    await this.reset();
    await ContainerRuntime.removeOwn();
  }
}
