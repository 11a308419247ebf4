// Cloud Run Admin API v1's jobs, as gcloud speaks them (`gcloud run jobs create|deploy|update|
// execute|describe|delete`, `gcloud run jobs executions describe|list|cancel|delete`, `gcloud run
// jobs executions tasks list`): Knative-style Job, Execution and Task resources under
// /apis/run.googleapis.com/v1/namespaces/{project} on the regional host, over the same jobs the
// v2 API serves (jobs.ts), with the same permissions. Only names and shapes differ.
import type { EmulatorContext } from '../context.js';
import { requireCaller } from '../context.js';
import { GoogleApiError, badField, notFound } from '../errors.js';
import { schemaRoutes, type ApiRequest, type Route } from '../http.js';
import type { Principal } from '../iam.js';
import { splitRegionalHost } from '../proxy.js';
import { schemaOf } from '../schema/schema.js';
import type { CloudRun } from './cloudrun.js';
import {
  jobName,
  taskName,
  validateJobId,
  type ExecutionRecord,
  type JobRecord,
  type TaskRecord,
} from './jobs.js';
import {
  BINARY_AUTHORIZATION,
  BINARY_AUTHORIZATION_ANNOTATION,
  BREAKGLASS_ANNOTATION,
  containerToV1,
  containerToV2,
  labelSelector,
  volumeToV1,
  volumeToV2,
} from './knative.js';
import { compact, paginate, seconds, validateLocation, type Json } from './model.js';
import type { Condition } from './records.js';
import { KNATIVE_LABELS } from './render.js';

export const JOBS_API_VERSION = 'run.googleapis.com/v1';
const NS = String.raw`^\/apis\/run\.googleapis\.com\/v1\/namespaces\/(?<namespace>[^/]+)`;
const LOC = String.raw`^\/v1\/projects\/(?<project>[^/]+)\/locations\/(?<location>[^/]+)`;

const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const list = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const isReserved = (key: string): boolean =>
  /^(run\.googleapis\.com|cloud\.googleapis\.com|serving\.knative\.dev|autoscaling\.knative\.dev)\//.test(
    key,
  );

/** Job annotations that are v2 Job fields. */
const JOB_ANNOTATIONS: Array<[string, string]> = [
  ['run.googleapis.com/client-name', 'client'],
  ['run.googleapis.com/client-version', 'clientVersion'],
  ['run.googleapis.com/launch-stage', 'launchStage'],
];
/** The server's to set: sent back from a read, ignored on write. */
const OUTPUT_ANNOTATIONS = new Set([
  'serving.knative.dev/creator',
  'serving.knative.dev/lastModifier',
  'run.googleapis.com/creator',
  'run.googleapis.com/lastModifier',
  'run.googleapis.com/operation-id',
  'run.googleapis.com/satisfiesPzs',
]);
const OUTPUT_LABELS = new Set(['cloud.googleapis.com/location', 'run.googleapis.com/satisfiesPzs']);
const CLOUD_SQL = 'run.googleapis.com/cloudsql-instances';
const VPC_CONNECTOR = 'run.googleapis.com/vpc-access-connector';
const VPC_EGRESS = 'run.googleapis.com/vpc-access-egress';
const EXECUTION_ENVIRONMENT = 'run.googleapis.com/execution-environment';
/** Direct VPC egress: gcloud's JSON list of v2 NetworkInterfaces (`--network`, `--subnet`). */
const NETWORK_INTERFACES = 'run.googleapis.com/network-interfaces';
const ENCRYPTION_KEY = 'run.googleapis.com/encryption-key';
const EGRESS: Record<string, string> = {
  'all-traffic': 'ALL_TRAFFIC',
  'private-ranges-only': 'PRIVATE_RANGES_ONLY',
};
const ENVIRONMENT: Record<string, string> = {
  gen1: 'EXECUTION_ENVIRONMENT_GEN1',
  gen2: 'EXECUTION_ENVIRONMENT_GEN2',
};

// ---- v1 → v2 --------------------------------------------------------------------------------

function taskSpecToV2(spec: Json): Json {
  return {
    containers: list(spec.containers).map(containerToV2),
    volumes: list(spec.volumes).map(volumeToV2),
    maxRetries: spec.maxRetries,
    timeout: spec.timeoutSeconds === undefined ? undefined : `${Number(spec.timeoutSeconds)}s`,
    serviceAccount: spec.serviceAccountName,
  };
}

/** A Knative Job body as the v2 Job spec it describes (the whole resource, as PUT replaces it). */
export function jobSpecFromV1(body: Json): Json {
  if (body.apiVersion !== undefined && body.apiVersion !== JOBS_API_VERSION)
    throw badField('apiVersion', `must be ${JOBS_API_VERSION}, got ${String(body.apiVersion)}.`);
  if (body.kind !== undefined && body.kind !== 'Job')
    throw badField('kind', `must be Job, got ${String(body.kind)}.`);
  const meta = obj(body.metadata);
  const out: Json = { annotations: {}, labels: {} };
  for (const [key, raw] of Object.entries(obj(meta.annotations))) {
    const value = String(raw);
    const field = JOB_ANNOTATIONS.find(([a]) => a === key)?.[1];
    if (field) out[field] = value;
    else if (key === BINARY_AUTHORIZATION_ANNOTATION)
      out.binaryAuthorization = {
        ...obj(out.binaryAuthorization),
        ...(BINARY_AUTHORIZATION.toV2(value, `metadata.annotations[${key}]`) as Json),
      };
    else if (key === BREAKGLASS_ANNOTATION)
      out.binaryAuthorization = { ...obj(out.binaryAuthorization), breakglassJustification: value };
    else if (OUTPUT_ANNOTATIONS.has(key)) continue;
    else if (isReserved(key))
      throw badField(`metadata.annotations[${key}]`, 'unknown or unsupported system annotation.');
    else (out.annotations as Json)[key] = value;
  }
  for (const [key, value] of Object.entries(obj(meta.labels)))
    if (!OUTPUT_LABELS.has(key)) (out.labels as Json)[key] = String(value);

  const template = obj(obj(body.spec).template);
  const tmeta = obj(template.metadata);
  const espec = obj(template.spec);
  const task = taskSpecToV2(obj(obj(espec.template).spec));
  const annotations: Json = {};
  for (const [key, raw] of Object.entries(obj(tmeta.annotations))) {
    const value = String(raw);
    const field = `spec.template.metadata.annotations[${key}]`;
    if (key === 'run.googleapis.com/client-name' || key === 'run.googleapis.com/client-version') continue;
    if (key === CLOUD_SQL) {
      const instances = value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (!instances.length) continue;
      task.volumes = [...list(task.volumes), { name: 'cloudsql', cloudSqlInstance: { instances } }];
      const first = list(task.containers)[0];
      if (first)
        first.volumeMounts = [...list(first.volumeMounts), { name: 'cloudsql', mountPath: '/cloudsql' }];
    } else if (key === VPC_CONNECTOR) task.vpcAccess = { ...obj(task.vpcAccess), connector: value };
    else if (key === VPC_EGRESS) {
      if (!EGRESS[value])
        throw badField(field, `'${value}' is not one of ${Object.keys(EGRESS).join(', ')}.`);
      task.vpcAccess = { ...obj(task.vpcAccess), egress: EGRESS[value] };
    } else if (key === NETWORK_INTERFACES) {
      let interfaces: unknown;
      try {
        interfaces = JSON.parse(value);
      } catch {
        interfaces = undefined;
      }
      if (!Array.isArray(interfaces)) throw badField(field, 'expected a JSON list.');
      task.vpcAccess = { ...obj(task.vpcAccess), networkInterfaces: interfaces };
    } else if (key === ENCRYPTION_KEY) task.encryptionKey = value;
    else if (key === EXECUTION_ENVIRONMENT) {
      if (!ENVIRONMENT[value])
        throw badField(field, `'${value}' is not one of ${Object.keys(ENVIRONMENT).join(', ')}.`);
      task.executionEnvironment = ENVIRONMENT[value];
    } else if (isReserved(key)) throw badField(field, 'unknown or unsupported system annotation.');
    else annotations[key] = value;
  }
  const labels = Object.entries(obj(tmeta.labels)).map(([k, v]) => [k, String(v)] as const);
  out.template = {
    labels: Object.fromEntries(labels.filter(([k]) => !k.includes('/'))),
    [KNATIVE_LABELS]: Object.fromEntries(labels.filter(([k]) => k.includes('/'))),
    annotations,
    taskCount: espec.taskCount,
    parallelism: espec.parallelism,
    template: task,
  };
  return compact(out) as Json;
}

// ---- v2 → v1 --------------------------------------------------------------------------------

export function taskSpecToV1(task: Json): Json {
  const volumes = list(task.volumes);
  const hidden = new Set(volumes.filter((v) => v.cloudSqlInstance).map((v) => String(v.name)));
  return compact({
    containers: list(task.containers).map((c) => containerToV1(c, hidden)),
    volumes: volumes.filter((v) => !v.cloudSqlInstance).map(volumeToV1),
    maxRetries: task.maxRetries,
    timeoutSeconds: task.timeout === undefined ? undefined : String(seconds(task.timeout, 600)),
    serviceAccountName: task.serviceAccount,
  }) as Json;
}

function templateAnnotations(template: Json): Json {
  const task = obj(template.template);
  const vpc = obj(task.vpcAccess);
  const instances = list(task.volumes).flatMap(
    (v) => list(obj(v.cloudSqlInstance).instances) as unknown as string[],
  );
  const key = (map: Record<string, string>, value: unknown): string | undefined =>
    Object.keys(map).find((k) => map[k] === value);
  const interfaces = list(vpc.networkInterfaces);
  return {
    ...obj(template.annotations),
    [VPC_CONNECTOR]: vpc.connector,
    [NETWORK_INTERFACES]: interfaces.length ? JSON.stringify(interfaces) : undefined,
    [ENCRYPTION_KEY]: task.encryptionKey,
    [VPC_EGRESS]: key(EGRESS, vpc.egress),
    [EXECUTION_ENVIRONMENT]: key(ENVIRONMENT, task.executionEnvironment),
    [CLOUD_SQL]: instances.length ? instances.join(',') : undefined,
  };
}

/** v2 condition state → Knative status; a reason as Knative spells them (CamelCase). */
function status(c: Condition): Json {
  const state =
    c.state === 'CONDITION_SUCCEEDED' ? 'True' : c.state === 'CONDITION_FAILED' ? 'False' : 'Unknown';
  const reason = c.executionReason ?? c.reason;
  return compact({
    type: c.type,
    status: state,
    reason:
      reason &&
      reason
        .toLowerCase()
        .split('_')
        .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
        .join(''),
    message: c.message,
    lastTransitionTime: c.lastTransitionTime,
  }) as Json;
}

export function resourceVersionOf(etag: string): string {
  return Buffer.from(etag.replace(/"/g, ''), 'base64').toString('base64url');
}

interface Scope {
  projectNumber: string;
}

function selfLink(scope: Scope, kind: string, name: string): string {
  return `/apis/${JOBS_API_VERSION}/namespaces/${scope.projectNumber}/${kind}/${name}`;
}

export function jobToV1(run: CloudRun, job: JobRecord, scope: Scope): Json {
  const v2 = run.jobs.renderJob(job);
  const template = obj(job.spec.template);
  const annotations: Json = { ...obj(v2.annotations) };
  for (const [annotation, field] of JOB_ANNOTATIONS) annotations[annotation] = v2[field];
  annotations[BINARY_AUTHORIZATION_ANNOTATION] = BINARY_AUTHORIZATION.toV1(v2.binaryAuthorization);
  const breakglass = obj(v2.binaryAuthorization).breakglassJustification;
  annotations[BREAKGLASS_ANNOTATION] = typeof breakglass === 'string' && breakglass ? breakglass : undefined;
  const latest = obj(v2.latestCreatedExecution);
  return compact({
    apiVersion: JOBS_API_VERSION,
    kind: 'Job',
    metadata: {
      name: job.id,
      namespace: scope.projectNumber,
      selfLink: selfLink(scope, 'jobs', job.id),
      uid: job.uid,
      resourceVersion: resourceVersionOf(job.etag),
      generation: job.generation,
      creationTimestamp: job.createTime,
      labels: { ...obj(v2.labels), 'cloud.googleapis.com/location': job.location },
      annotations: {
        ...annotations,
        'run.googleapis.com/creator': job.creator,
        'run.googleapis.com/lastModifier': job.lastModifier,
        'run.googleapis.com/operation-id': job.lastOperation?.split('/').pop(),
      },
    },
    spec: {
      template: {
        metadata: {
          labels: { ...obj(template.labels), ...obj(template[KNATIVE_LABELS]) },
          annotations: templateAnnotations(template),
        },
        spec: {
          taskCount: template.taskCount,
          parallelism: template.parallelism,
          template: { spec: taskSpecToV1(obj(template.template)) },
        },
      },
    },
    status: {
      observedGeneration: job.generation,
      conditions: [status(job.terminal)],
      executionCount: job.executionCount,
      latestCreatedExecution: latest.name
        ? {
            name: latest.name,
            creationTimestamp: latest.createTime,
            completionTimestamp: latest.completionTime,
            completionStatus: latest.completionStatus,
          }
        : undefined,
    },
  }) as Json;
}

export function executionToV1(run: CloudRun, e: ExecutionRecord, scope: Scope): Json {
  const v2 = run.jobs.renderExecution(e);
  const job = e.job;
  return compact({
    apiVersion: JOBS_API_VERSION,
    kind: 'Execution',
    metadata: {
      name: e.name,
      namespace: scope.projectNumber,
      selfLink: selfLink(scope, 'executions', e.name),
      uid: e.uid,
      resourceVersion: resourceVersionOf(String(v2.etag)),
      generation: 1,
      creationTimestamp: e.createTime,
      labels: {
        ...e.labels,
        'cloud.googleapis.com/location': job.location,
        'run.googleapis.com/job': job.id,
        'run.googleapis.com/jobUid': job.uid,
      },
      annotations: { ...e.annotations, 'run.googleapis.com/creator': e.creator },
      ownerReferences: [
        {
          kind: 'Job',
          name: job.id,
          uid: job.uid,
          apiVersion: JOBS_API_VERSION,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      parallelism: e.parallelism,
      taskCount: e.taskCount,
      template: { spec: taskSpecToV1(e.template) },
    },
    status: {
      observedGeneration: 1,
      conditions: list(v2.conditions).map((c) => status(c as unknown as Condition)),
      startTime: e.startTime,
      completionTime: e.completionTime,
      runningCount: v2.runningCount,
      succeededCount: v2.succeededCount,
      failedCount: v2.failedCount,
      cancelledCount: v2.cancelledCount,
      retriedCount: v2.retriedCount,
      logUri: v2.logUri,
    },
  }) as Json;
}

const RUNNING_STATE: Record<TaskRecord['state'], string> = {
  pending: 'Pending',
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

export function taskToV1(run: CloudRun, e: ExecutionRecord, t: TaskRecord, scope: Scope): Json {
  const v2 = run.jobs.renderTask(e, t);
  const name = taskName(e, t);
  return compact({
    apiVersion: JOBS_API_VERSION,
    kind: 'Task',
    metadata: {
      name,
      namespace: scope.projectNumber,
      selfLink: selfLink(scope, 'tasks', name),
      uid: t.uid,
      generation: 1,
      creationTimestamp: t.createTime,
      labels: {
        ...obj(v2.labels),
        'cloud.googleapis.com/location': e.job.location,
        'run.googleapis.com/executionUid': e.uid,
        'run.googleapis.com/jobUid': e.job.uid,
        'run.googleapis.com/task-index': String(t.index),
        // gcloud shows a task's state from this label (api_lib/run/task.py, STATE_LABEL).
        'run.googleapis.com/runningState': RUNNING_STATE[t.state],
      },
      ownerReferences: [
        {
          kind: 'Execution',
          name: e.name,
          uid: e.uid,
          apiVersion: JOBS_API_VERSION,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: taskSpecToV1(e.template),
    status: {
      observedGeneration: 1,
      conditions: list(v2.conditions).map((c) => status(c as unknown as Condition)),
      index: t.index,
      retried: t.retried,
      startTime: t.startTime,
      completionTime: t.completionTime,
      lastAttemptResult: t.lastAttemptResult,
      logUri: v2.logUri,
    },
  }) as Json;
}

// ---- routes ---------------------------------------------------------------------------------

interface Where {
  caller: Principal;
  project: string;
  location: string;
  asked: string;
  scope: Scope;
  namespaced: boolean;
}

export function knativeJobRoutes(ctx: EmulatorContext, run: CloudRun): Route[] {
  const jobs = run.jobs;

  /**
   * Namespaced paths carry no region: the regional host does. A list on the global host (gcloud
   * run jobs list without --region) covers every region.
   */
  function where(req: ApiRequest, permission: string, kind: string, everywhere = false): Where {
    const caller = requireCaller(ctx, req);
    const namespaced = req.params.namespace !== undefined;
    const asked = namespaced ? req.params.namespace! : req.params.project!;
    const location =
      (namespaced ? splitRegionalHost(req.headers.host ?? '').region : req.params.location!) ||
      (everywhere ? '-' : undefined);
    if (!location) throw notFound(`The requested URL ${req.path} was not found.`);
    if (location !== '-') validateLocation(location);
    const shown = namespaced
      ? `namespaces/${asked}/${kind}`
      : `projects/${asked}/locations/${location}/${kind}`;
    const project = run.projectOf(asked, permission, shown);
    return {
      caller,
      project,
      location,
      asked,
      scope: { projectNumber: run.projectNumber(project) },
      namespaced,
    };
  }

  const shown = (w: Where, kind: string, name: string): string =>
    w.namespaced
      ? `namespaces/${w.asked}/${kind}/${name}`
      : `projects/${w.asked}/locations/${w.location}/${kind}/${name}`;

  function missing(w: Where, kind: string, name: string): GoogleApiError {
    return notFound(
      `Resource '${name}' of kind '${kind}' in region '${w.location}' in project '${w.asked}' does not exist.`,
    );
  }

  function jobOf(req: ApiRequest, permission: string): [Where, JobRecord] {
    const w = where(req, permission, 'jobs');
    const id = req.params.name!;
    const job = jobs.job(w.project, w.location, id);
    jobs.check(w.caller, permission, jobName(w.project, w.location, id), job, shown(w, 'jobs', id));
    if (!job) throw missing(w, 'JOB', id);
    return [w, job];
  }

  /** An execution by its name; the permission is checked on its job (or the one its name implies). */
  function executionOf(req: ApiRequest, permission: string): [Where, ExecutionRecord] {
    const w = where(req, permission, 'executions');
    const name = req.params.name!;
    const execution = jobs
      .jobsIn(w.project, w.location)
      .flatMap((j) => j.executions)
      .find((e) => e.name === name);
    const jobId = execution?.job.id ?? name.replace(/-[a-z0-9]{5}$/, '');
    jobs.check(
      w.caller,
      permission,
      jobName(w.project, w.location, jobId),
      execution?.job,
      shown(w, 'executions', name),
    );
    if (!execution) throw missing(w, 'EXECUTION', name);
    return [w, execution];
  }

  function listed(req: ApiRequest, kind: string, items: Json[]): Json {
    const select = labelSelector(req.query.get('labelSelector'));
    const query = new URLSearchParams();
    if (req.query.get('limit')) query.set('pageSize', req.query.get('limit')!);
    if (req.query.get('continue')) query.set('pageToken', req.query.get('continue')!);
    const { page, nextPageToken } = paginate(
      items.filter((i) => select((obj(i.metadata).labels as Record<string, string> | undefined) ?? {})),
      query,
    );
    return {
      apiVersion: JOBS_API_VERSION,
      kind,
      metadata: nextPageToken ? { continue: nextPageToken } : {},
      items: page,
    };
  }

  /** Lists check the permission on the project's region; items are the jobs there. */
  function scoped(req: ApiRequest, permission: string, kind: string): Where {
    const w = where(req, permission, kind, true);
    jobs.check(
      w.caller,
      permission,
      `projects/${w.project}/locations/${w.location}`,
      undefined,
      shown(w, kind, '').replace(/\/$/, ''),
    );
    return w;
  }

  function nameOf(body: Json): string {
    const name = obj(body.metadata).name;
    if (typeof name !== 'string' || name === '')
      throw badField('metadata.name', 'Required field is missing or empty.');
    return name;
  }

  function create(req: ApiRequest): Json {
    const body = (req.body ?? {}) as Json;
    const w = where(req, 'run.jobs.create', 'jobs');
    const id = nameOf(body);
    jobs.check(
      w.caller,
      'run.jobs.create',
      jobName(w.project, w.location, id),
      undefined,
      shown(w, 'jobs', id),
    );
    validateJobId(id);
    if (jobs.job(w.project, w.location, id))
      throw new GoogleApiError('ALREADY_EXISTS', `Resource '${id}' already exists.`);
    const spec = jobs.prepare(w.caller, w.project, jobSpecFromV1(body), 'v1');
    const { job } = jobs.createJob(w.caller, w.project, w.location, id, spec);
    return jobToV1(run, job, w.scope);
  }

  function replace(req: ApiRequest): Json {
    const body = (req.body ?? {}) as Json;
    const [w, job] = jobOf(req, 'run.jobs.update');
    if (nameOf(body) !== job.id)
      throw new GoogleApiError(
        'INVALID_ARGUMENT',
        `metadata.name '${nameOf(body)}' does not match the job '${job.id}' the request names.`,
      );
    const asked = obj(body.metadata).resourceVersion;
    if (typeof asked === 'string' && asked !== '' && asked !== resourceVersionOf(job.etag))
      throw new GoogleApiError(
        'ABORTED',
        `The job '${job.id}' was modified concurrently: resourceVersion ${asked} is not the current ${resourceVersionOf(job.etag)}. Read it again and retry.`,
      );
    const spec = jobs.prepare(w.caller, w.project, jobSpecFromV1(body), 'v1');
    jobs.updateJob(w.caller, job, spec);
    return jobToV1(run, job, w.scope);
  }

  function runJob(req: ApiRequest): Json {
    const body = (req.body ?? {}) as Json;
    const [w, job] = jobOf(req, 'run.jobs.run');
    const overrides = obj(body.overrides);
    if (Object.keys(compact(overrides) as Json).length)
      jobs.check(
        w.caller,
        'run.jobs.runWithOverrides',
        jobName(job.project, job.location, job.id),
        job,
        shown(w, 'jobs', job.id),
      );
    const v2Overrides = compact({
      containerOverrides: list(overrides.containerOverrides).map((o) => ({
        name: o.name,
        args: o.args,
        env: list(o.env).map((e) => ({ name: e.name, value: e.value ?? '' })),
        clearArgs: o.clearArgs,
      })),
      taskCount: overrides.taskCount,
      timeout: overrides.timeoutSeconds === undefined ? undefined : `${Number(overrides.timeoutSeconds)}s`,
    }) as Json;
    jobs.runOperation(w.caller, job, v2Overrides);
    return executionToV1(run, job.executions.at(-1)!, w.scope);
  }

  const one = schemaRoutes(schemaOf('run-v1'), '');
  const named = (plural: string): string => `${NS}\\/${plural}\\/(?<name>[^/:]+)`;
  const located = `${LOC}\\/jobs\\/(?<name>[^/:]+)`;
  const policyWhere = (req: ApiRequest, permission: string): JobRecord => {
    const w = where(req, permission, 'jobs');
    const id = req.params.name!;
    const job = jobs.job(w.project, w.location, id);
    jobs.check(w.caller, permission, jobName(w.project, w.location, id), job, shown(w, 'jobs', id));
    if (!job) throw missing(w, 'JOB', id);
    return job;
  };

  return [
    one('GET', `${NS}\\/jobs`, 'run.namespaces.jobs.list', (req) => {
      const w = scoped(req, 'run.jobs.list', 'jobs');
      return listed(
        req,
        'JobList',
        jobs.jobsIn(w.project, w.location).map((j) => jobToV1(run, j, w.scope)),
      );
    }),
    one('POST', `${NS}\\/jobs`, 'run.namespaces.jobs.create', create),
    one('GET', named('jobs'), 'run.namespaces.jobs.get', (req) => {
      const [w, job] = jobOf(req, 'run.jobs.get');
      return jobToV1(run, job, w.scope);
    }),
    one('PUT', named('jobs'), 'run.namespaces.jobs.replaceJob', replace),
    one('DELETE', named('jobs'), 'run.namespaces.jobs.delete', (req) => {
      const [, job] = jobOf(req, 'run.jobs.delete');
      jobs.deleteJob(job);
      return {
        status: 'Success',
        details: { name: job.id, group: 'run.googleapis.com', kind: 'jobs', uid: job.uid },
      };
    }),
    one('POST', `${named('jobs')}:run`, 'run.namespaces.jobs.run', runJob),
    one('GET', `${NS}\\/executions`, 'run.namespaces.executions.list', (req) => {
      const w = scoped(req, 'run.executions.list', 'executions');
      const items = jobs
        .jobsIn(w.project, w.location)
        .flatMap((j) => j.executions)
        .sort((a, b) => b.createTime.localeCompare(a.createTime))
        .map((e) => executionToV1(run, e, w.scope));
      return listed(req, 'ExecutionList', items);
    }),
    one('GET', named('executions'), 'run.namespaces.executions.get', (req) => {
      const [w, e] = executionOf(req, 'run.executions.get');
      return executionToV1(run, e, w.scope);
    }),
    one('DELETE', named('executions'), 'run.namespaces.executions.delete', (req) => {
      const [, e] = executionOf(req, 'run.executions.delete');
      jobs.assertDeletable(e);
      jobs.deleteExecutionRecord(e);
      return {
        status: 'Success',
        details: { name: e.name, group: 'run.googleapis.com', kind: 'executions', uid: e.uid },
      };
    }),
    one('POST', `${named('executions')}:cancel`, 'run.namespaces.executions.cancel', (req) => {
      const [w, e] = executionOf(req, 'run.executions.cancel');
      if (e.state !== 'running')
        throw new GoogleApiError('FAILED_PRECONDITION', `Execution ${e.name} has already completed.`);
      jobs.cancelOperation(e);
      return executionToV1(run, e, w.scope);
    }),
    one('GET', `${NS}\\/tasks`, 'run.namespaces.tasks.list', (req) => {
      const w = scoped(req, 'run.tasks.list', 'tasks');
      const items = jobs
        .jobsIn(w.project, w.location)
        .flatMap((j) => j.executions.flatMap((e) => e.tasks.map((t) => taskToV1(run, e, t, w.scope))));
      return listed(req, 'TaskList', items);
    }),
    one('GET', named('tasks'), 'run.namespaces.tasks.get', (req) => {
      const w = where(req, 'run.tasks.get', 'tasks');
      const name = req.params.name!;
      const found = jobs
        .jobsIn(w.project, w.location)
        .flatMap((j) => j.executions.flatMap((e) => e.tasks.map((t) => ({ e, t }))))
        .find(({ e, t }) => taskName(e, t) === name);
      const jobId = found?.e.job.id ?? name.replace(/-[a-z0-9]{5}-task\d+$/, '');
      jobs.check(
        w.caller,
        'run.tasks.get',
        jobName(w.project, w.location, jobId),
        found?.e.job,
        shown(w, 'tasks', name),
      );
      if (!found) throw missing(w, 'TASK', name);
      return taskToV1(run, found.e, found.t, w.scope);
    }),
    one('GET', `${located}:getIamPolicy`, 'run.projects.locations.jobs.getIamPolicy', (req) =>
      jobs.renderPolicy(policyWhere(req, 'run.jobs.getIamPolicy')),
    ),
    one('POST', `${located}:setIamPolicy`, 'run.projects.locations.jobs.setIamPolicy', (req) =>
      jobs.setPolicy(policyWhere(req, 'run.jobs.setIamPolicy'), (req.body ?? {}) as Json),
    ),
    one('POST', `${located}:testIamPermissions`, 'run.projects.locations.jobs.testIamPermissions', (req) => {
      req.params.job = req.params.name!;
      return jobs.testIamPermissions(req);
    }),
  ];
}
