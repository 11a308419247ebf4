// Cloud Run jobs, as the Admin API v2 serves them: jobs (create, get, list, update, delete, run,
// IAM policies), their executions (get, list, delete, cancel) and tasks (get, list). Running a job
// starts an execution at once and answers with an Operation that finishes when the execution
// does; each task attempt is a real container (infrastructure's TaskRuntime), given the job's env,
// secrets, command and args and Cloud Run's CLOUD_RUN_* variables, retried up to maxRetries,
// at most `parallelism` at a time, killed at the task timeout or when the execution is cancelled.
// Every line a task's container writes is kept and reported to `onContainerOutput` listeners.
import { createHash, randomUUID } from 'node:crypto';
import type { EmulatorContext } from '../context.js';
import { requireCaller } from '../context.js';
import { GoogleApiError, invalidArgument, notFound } from '../errors.js';
import type { ApiRequest } from '../http.js';
import { checkPolicyEtag, describePrincipal, refuseWildcards, type Binding, type Principal } from '../iam.js';
import { revisionEnvironment } from './environment.js';
import { LaunchFailure, type OutputLine, type TaskRuntime } from './infrastructure.js';
import {
  compact,
  decodeEnums,
  paginate,
  seconds,
  validateAnnotationSyntax,
  validateLabelSyntax,
  validateMetadata,
  validateTemplate,
  type Json,
} from './model.js';
import { operationName, renderOperation, type OperationRecord, type Operations } from './operations.js';
import { condition, now, type Condition, type IamPolicy } from './records.js';
import { KNATIVE_LABELS } from './render.js';

export const JOB_TYPE = 'type.googleapis.com/google.cloud.run.v2.Job';
export const EXECUTION_TYPE = 'type.googleapis.com/google.cloud.run.v2.Execution';

/** A line a job task's container wrote: what a log store is fed with. */
export interface ContainerOutput extends OutputLine {
  kind: 'job';
  /** Project ID. */
  project: string;
  location: string;
  job: string;
  /** Short execution name, e.g. migrate-x7k2p. */
  execution: string;
  taskIndex: number;
  /** 0 for the first attempt, as CLOUD_RUN_TASK_ATTEMPT counts. */
  attempt: number;
}

export type ContainerOutputListener = (output: ContainerOutput) => void;

/** What the jobs model needs of the Cloud Run emulator around it (cloudrun.ts gives it). */
export interface JobsHost {
  projectOf(raw: string, permission: string, shown?: string): string;
  projectNumber(project: string): string;
  /** Throws PERMISSION_DENIED unless `caller` has `permission` on `resource` (or the project). */
  allowed(caller: Principal, permission: string, resource: string, bindings: Binding[]): boolean;
  denied(permission: string, shown: string): GoogleApiError;
  checkActAs(caller: Principal, project: string, template: Json): void;
  defaultServiceAccount(project: string): string;
  pullToken(project: string, serviceAccount: string): string;
  readonly operations: Operations;
}

type TaskState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface TaskRecord {
  index: number;
  uid: string;
  createTime: string;
  scheduledTime?: string;
  startTime?: string;
  completionTime?: string;
  updateTime: string;
  state: TaskState;
  /** Attempts after the first so far. */
  retried: number;
  lastAttemptResult?: { status: { code: number; message?: string }; exitCode?: number };
  /** Why it failed or was cancelled, as the Completed condition says it. */
  message?: string;
  imageDigest?: string;
}

type ExecutionState = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface ExecutionRecord {
  name: string;
  uid: string;
  job: JobRecord;
  creator: string;
  createTime: string;
  startTime?: string;
  completionTime?: string;
  updateTime: string;
  labels: Json;
  annotations: Json;
  taskCount: number;
  parallelism: number;
  /** The TaskTemplate it runs (the job's, with a run's overrides applied). */
  template: Json;
  tasks: TaskRecord[];
  state: ExecutionState;
  /** The Completed condition's message once it ended. */
  message?: string;
  cancelling: boolean;
  abort: AbortController;
  /** Settles when every task has ended. */
  done: Promise<void>;
  /** Every line its containers wrote, in order. */
  output: ContainerOutput[];
}

export interface JobRecord {
  project: string;
  location: string;
  id: string;
  uid: string;
  createTime: string;
  updateTime: string;
  creator: string;
  lastModifier: string;
  generation: number;
  etag: string;
  /** The writable fields, template defaults filled in. */
  spec: Json;
  executions: ExecutionRecord[];
  executionCount: number;
  policy: IamPolicy;
  terminal: Condition;
  lastOperation?: string;
}

const newEtag = (): string => `"${createHash('sha256').update(randomUUID()).digest('base64').slice(0, 27)}"`;
const newPolicyEtag = (): string => createHash('sha256').update(randomUUID()).digest('base64').slice(0, 12);

export const jobName = (project: string, location: string, id: string): string =>
  `projects/${project}/locations/${location}/jobs/${id}`;
export const executionFullName = (e: ExecutionRecord): string =>
  `${jobName(e.job.project, e.job.location, e.job.id)}/executions/${e.name}`;
/** Tasks are named after their execution and index (the form is UNCONFIRMED). */
export const taskName = (e: ExecutionRecord, t: TaskRecord): string => `${e.name}-task${t.index}`;

/** Job IDs are DNS labels of at most 63 characters, starting with a letter. */
export function validateJobId(id: string): void {
  if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(id) || id.length > 63) {
    throw invalidArgument(
      `job_id "${id}" is invalid: it must begin with a letter, contain only lowercase letters, digits and hyphens, not end with a hyphen, and have at most 63 characters.`,
      'job_id',
    );
  }
}

/** Job spec fields a caller may send back from a GET that are the server's to set. */
const OUTPUT_ONLY_JOB_FIELDS = [
  'name',
  'uid',
  'generation',
  'createTime',
  'updateTime',
  'deleteTime',
  'expireTime',
  'creator',
  'lastModifier',
  'observedGeneration',
  'terminalCondition',
  'conditions',
  'executionCount',
  'latestCreatedExecution',
  'reconciling',
  'satisfiesPzs',
  'etag',
];

/** Limits of a task template (cloud.google.com/run/docs/configuring/jobs/*): retries 0–10, a timeout of at most 168 hours. */
const MAX_RETRIES = 10;
const MAX_TIMEOUT_SECONDS = 168 * 3600;
const MAX_TASKS = 10_000;

/** The defaults Cloud Run fills into a job's template (what GET shows back). */
export function withJobDefaults(template: Json, defaultServiceAccount: string): Json {
  const t = compact(decodeEnums(template)) as Json;
  const task = (t.template as Json | undefined) ?? {};
  const containers = ((task.containers as Json[] | undefined) ?? []).map((c) => {
    const resources = (c.resources as Json | undefined) ?? {};
    return {
      ...c,
      resources: {
        ...resources,
        limits: { cpu: '1000m', memory: '512Mi', ...((resources.limits as Json | undefined) ?? {}) },
      },
    };
  });
  return {
    ...t,
    taskCount: t.taskCount ?? 1,
    template: {
      ...task,
      containers,
      maxRetries: task.maxRetries ?? 3,
      timeout: task.timeout ?? '600s',
      serviceAccount: task.serviceAccount ?? defaultServiceAccount,
    },
  };
}

/** What Cloud Run refuses in a job's execution template, beyond what the schema checks. */
export function validateJobTemplate(
  template: Json,
  request: 'CreateJobRequest' | 'UpdateJobRequest' | 'v1',
): void {
  const field = (path: string): string =>
    request === 'v1' ? `spec.template.spec.${path}` : `Violation in ${request}.job.template.${path}`;
  const task = template.template as Json | undefined;
  const containers = (task?.containers as Json[] | undefined) ?? [];
  const imageless = containers.length ? containers.findIndex((c) => !c?.image) : 0;
  if (!task || imageless >= 0)
    throw invalidArgument(
      `${field(`template.containers[${imageless}].image`)}: Required field is missing or empty.`,
      `job.template.template.containers[${imageless}].image`,
    );
  const taskCount = template.taskCount === undefined ? 1 : Number(template.taskCount);
  if (!Number.isInteger(taskCount) || taskCount < 1 || taskCount > MAX_TASKS)
    throw invalidArgument(
      `${field('task_count')}: must be between 1 and ${MAX_TASKS}.`,
      'job.template.task_count',
    );
  const parallelism = Number(template.parallelism ?? 0);
  if (!Number.isInteger(parallelism) || parallelism < 0)
    throw invalidArgument(`${field('parallelism')}: must not be negative.`, 'job.template.parallelism');
  const retries = Number(task.maxRetries ?? 3);
  if (!Number.isInteger(retries) || retries < 0 || retries > MAX_RETRIES)
    throw invalidArgument(
      `${field('template.max_retries')}: must be between 0 and ${MAX_RETRIES}.`,
      'job.template.template.max_retries',
    );
  if (task.timeout !== undefined) {
    const timeout = seconds(task.timeout, NaN);
    if (!(timeout > 0 && timeout <= MAX_TIMEOUT_SECONDS))
      throw invalidArgument(
        `${field('template.timeout')}: must be more than 0s and at most ${MAX_TIMEOUT_SECONDS}s.`,
        'job.template.template.timeout',
      );
  }
  containers.forEach((c, i) => {
    if (Array.isArray(c.ports) && c.ports.length)
      throw invalidArgument(
        `${field(`template.containers[${i}].ports`)}: A job's containers may not declare ports.`,
        `job.template.template.containers[${i}].ports`,
      );
  });
  validateTemplate(task);
  validateMetadata('template.labels', template.labels);
  validateMetadata('template.annotations', template.annotations);
  validateLabelSyntax('template.labels', template.labels);
  validateAnnotationSyntax('template.annotations', template.annotations);
}

function logUri(project: string, job: string, execution: string, task?: string): string {
  const filter = [
    'resource.type="cloud_run_job"',
    `resource.labels.job_name="${job}"`,
    `labels."run.googleapis.com/execution_name"="${execution}"`,
    ...(task ? [`labels."run.googleapis.com/task_index"="${task}"`] : []),
  ].join('\n');
  return `https://console.cloud.google.com/logs/viewer?project=${project}&advancedFilter=${encodeURIComponent(filter)}`;
}

/** Five random lowercase letters and digits, as Cloud Run suffixes execution names. */
function suffix(): string {
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length: 5 }, () => chars[Math.floor(Math.random() * chars.length)]).join('');
}

function actorOf(p: Principal | undefined): string {
  if (!p) return '';
  return p.kind === 'serviceAccount' || p.kind === 'user' ? p.email : describePrincipal(p);
}

/** Lines kept per execution (the log store's feed is the listener; this is for the admin state). */
const KEPT_LINES = 2000;

export class CloudRunJobs {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly listeners = new Set<ContainerOutputListener>();

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly host: JobsHost,
    private readonly tasks: TaskRuntime | undefined,
  ) {}

  // ---- the output hook ---------------------------------------------------------------------

  /** Calls `listener` with every line a task's container writes from now on; returns an unsubscribe. */
  onContainerOutput(listener: ContainerOutputListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every line kept so far, execution by execution (for a store that starts late). */
  containerOutputs(): ContainerOutput[] {
    return [...this.jobs.values()].flatMap((j) => j.executions.flatMap((e) => e.output));
  }

  private emit(e: ExecutionRecord, line: ContainerOutput): void {
    if (e.output.length < KEPT_LINES) e.output.push(line);
    for (const listener of this.listeners) {
      try {
        listener(line);
      } catch (err) {
        console.error('emulator: a container output listener threw:', err);
      }
    }
  }

  // ---- lookups -------------------------------------------------------------------------------

  job(project: string, location: string, id: string): JobRecord | undefined {
    return this.jobs.get(jobName(project, location, id));
  }

  jobsIn(project: string, location: string): JobRecord[] {
    return [...this.jobs.values()].filter(
      (j) => j.project === project && (location === '-' || j.location === location),
    );
  }

  check(
    caller: Principal,
    permission: string,
    resource: string,
    job: JobRecord | undefined,
    shown = resource,
  ): void {
    if (!this.host.allowed(caller, permission, resource, job?.policy.bindings ?? []))
      throw this.host.denied(permission, shown);
  }

  /** The job a v2 request names, after the permission check (a denial never reveals existence). */
  private find(req: ApiRequest, permission: string): { job: JobRecord; caller: Principal } {
    const caller = requireCaller(this.ctx, req);
    const project = this.host.projectOf(req.params.project!, permission);
    const name = jobName(project, req.params.location!, req.params.job!);
    const job = this.jobs.get(name);
    this.check(caller, permission, name, job);
    if (!job) throw notFound(`Resource '${name}' was not found`);
    return { job, caller };
  }

  private findExecution(
    req: ApiRequest,
    permission: string,
  ): { job: JobRecord; execution: ExecutionRecord; caller: Principal } {
    const { job, caller } = this.find(req, permission);
    const execution = job.executions.find((e) => e.name === req.params.execution);
    if (!execution)
      throw notFound(
        `Resource '${jobName(job.project, job.location, job.id)}/executions/${req.params.execution}' was not found`,
      );
    return { job, execution, caller };
  }

  // ---- jobs ----------------------------------------------------------------------------------

  /** A checked job spec: output-only fields dropped, defaults filled in, actAs checked. */
  prepare(
    caller: Principal,
    project: string,
    body: Json,
    request: 'CreateJobRequest' | 'UpdateJobRequest' | 'v1',
  ): Json {
    const decoded = decodeEnums(body) as Json;
    const template = decoded.template as Json | undefined;
    if (!template)
      throw invalidArgument(
        `${request === 'v1' ? 'spec.template' : `Violation in ${request}.job.template`}: Required field is missing.`,
        'job.template',
      );
    validateJobTemplate(template, request);
    validateMetadata('labels', decoded.labels);
    validateMetadata('annotations', decoded.annotations);
    validateLabelSyntax('labels', decoded.labels);
    validateAnnotationSyntax('annotations', decoded.annotations);
    const spec: Json = {
      ...decoded,
      template: withJobDefaults(template, this.host.defaultServiceAccount(project)),
    };
    for (const output of OUTPUT_ONLY_JOB_FIELDS) delete spec[output];
    this.host.checkActAs(caller, project, (spec.template as Json).template as Json);
    return spec;
  }

  /** Creates a job from a checked spec; its operation finishes once the job is ready. */
  createJob(
    caller: Principal,
    project: string,
    location: string,
    id: string,
    spec: Json,
  ): { job: JobRecord; op: OperationRecord } {
    const job: JobRecord = {
      project,
      location,
      id,
      uid: randomUUID(),
      createTime: now(),
      updateTime: now(),
      creator: actorOf(caller),
      lastModifier: actorOf(caller),
      generation: 1,
      etag: newEtag(),
      spec,
      executions: [],
      executionCount: 0,
      policy: { version: 1, bindings: [], etag: newPolicyEtag() },
      terminal: condition('Ready', 'CONDITION_SUCCEEDED'),
    };
    this.jobs.set(jobName(project, location, id), job);
    return { job, op: this.settle(job, caller) };
  }

  updateJob(caller: Principal, job: JobRecord, spec: Json): OperationRecord {
    job.spec = spec;
    job.generation += 1;
    job.etag = newEtag();
    job.updateTime = now();
    job.lastModifier = actorOf(caller);
    return this.settle(job, caller);
  }

  /**
   * A job change's operation: done on the next turn (nothing to start), then the execution its
   * start/runExecutionToken asks for, if any.
   */
  private settle(job: JobRecord, caller: Principal): OperationRecord {
    const op = this.host.operations.start(job.project, job.location, {
      '@type': JOB_TYPE,
      ...this.renderJob(job),
    });
    job.lastOperation = op.name;
    const token = job.spec.startExecutionToken ?? job.spec.runExecutionToken;
    setImmediate(() => {
      if (token) this.startExecution(caller, job, undefined);
      this.host.operations.finish(op, { response: { '@type': JOB_TYPE, ...this.renderJob(job) } });
    });
    return op;
  }

  /** Deletes a job: gone from reads at once; running executions are cancelled. */
  deleteJob(job: JobRecord): OperationRecord {
    const rendered = { '@type': JOB_TYPE, ...this.renderJob(job) };
    this.jobs.delete(jobName(job.project, job.location, job.id));
    const op = this.host.operations.start(job.project, job.location, rendered);
    for (const e of job.executions) if (e.state === 'running') this.cancel(e);
    void Promise.all(job.executions.map((e) => e.done)).then(() =>
      this.host.operations.finish(op, { response: rendered }),
    );
    return op;
  }

  // ---- executions ----------------------------------------------------------------------------

  /**
   * Starts an execution of the job (run.jobs.run checked by the caller), overrides applied, and
   * returns it; the tasks run in the background.
   */
  startExecution(caller: Principal, job: JobRecord, overrides: Json | undefined): ExecutionRecord {
    const template = structuredClone(job.spec.template as Json);
    const task = template.template as Json;
    const containers = (task.containers as Json[]).map((c) => ({ ...c }));
    for (const [i, o] of ((overrides?.containerOverrides as Json[] | undefined) ?? []).entries()) {
      const target = o.name ? containers.find((c) => c.name === o.name) : containers[i === 0 ? 0 : i];
      if (!target)
        throw invalidArgument(
          `overrides.container_overrides[${i}]: no container named '${String(o.name)}'.`,
          'overrides.container_overrides',
        );
      if (o.clearArgs === true) delete target.args;
      if (Array.isArray(o.args) && o.args.length) target.args = o.args;
      if (Array.isArray(o.env) && o.env.length) {
        const env = new Map(((target.env as Json[] | undefined) ?? []).map((e) => [String(e.name), e]));
        for (const e of o.env as Json[]) env.set(String(e.name), e);
        target.env = [...env.values()];
      }
    }
    task.containers = containers;
    if (overrides?.timeout !== undefined) task.timeout = overrides.timeout;
    const taskCount = Number(overrides?.taskCount ?? template.taskCount ?? 1);
    if (!Number.isInteger(taskCount) || taskCount < 1 || taskCount > MAX_TASKS)
      throw invalidArgument(
        `overrides.task_count: must be between 1 and ${MAX_TASKS}.`,
        'overrides.task_count',
      );
    const created = now();
    const execution: ExecutionRecord = {
      name: `${job.id}-${suffix()}`,
      uid: randomUUID(),
      job,
      creator: actorOf(caller),
      createTime: created,
      updateTime: created,
      labels: { ...((template.labels as Json | undefined) ?? {}) },
      annotations: { ...((template.annotations as Json | undefined) ?? {}) },
      taskCount,
      parallelism: Number(template.parallelism ?? 0),
      template: task,
      tasks: Array.from({ length: taskCount }, (_, index) => ({
        index,
        uid: randomUUID(),
        createTime: created,
        updateTime: created,
        state: 'pending' as const,
        retried: 0,
      })),
      state: 'running',
      cancelling: false,
      abort: new AbortController(),
      done: Promise.resolve(),
      output: [],
    };
    job.executions.push(execution);
    job.executionCount += 1;
    execution.done = this.runExecution(execution).catch((err: unknown) => {
      console.error('emulator: execution failed:', err);
    });
    return execution;
  }

  /** Runs the tasks, at most `parallelism` at once (0: all of them), then settles the execution. */
  private async runExecution(e: ExecutionRecord): Promise<void> {
    await new Promise((r) => setImmediate(r));
    e.startTime = now();
    const width = e.parallelism > 0 ? Math.min(e.parallelism, e.taskCount) : e.taskCount;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < e.tasks.length) {
        const task = e.tasks[next++]!;
        if (e.abort.signal.aborted) {
          this.endTask(task, 'cancelled', 'The execution was cancelled before the task started.');
          continue;
        }
        await this.runTask(e, task);
      }
    };
    await Promise.all(Array.from({ length: width }, worker));
    const failed = e.tasks.filter((t) => t.state === 'failed');
    const cancelled = e.tasks.filter((t) => t.state === 'cancelled');
    e.completionTime = now();
    e.updateTime = e.completionTime;
    if (cancelled.length && e.cancelling) {
      e.state = 'cancelled';
      e.message = 'The execution was cancelled.';
    } else if (failed.length || cancelled.length) {
      e.state = 'failed';
      // As Cloud Run words a failed task; the execution-level wording is UNCONFIRMED.
      const first = failed[0] ?? cancelled[0]!;
      e.message = `Task ${taskName(e, first)} failed with message: ${first.message ?? 'unknown failure'}`;
    } else {
      e.state = 'succeeded';
      const took = (Date.parse(e.completionTime) - Date.parse(e.startTime)) / 1000;
      e.message = `Execution completed successfully in ${took.toFixed(2)}s.`;
    }
  }

  private endTask(task: TaskRecord, state: TaskState, message: string | undefined): void {
    task.state = state;
    task.completionTime = now();
    task.updateTime = task.completionTime;
    if (message !== undefined) task.message = message;
  }

  /** One task: attempts until one exits 0, or maxRetries retries have failed, or it is cancelled. */
  private async runTask(e: ExecutionRecord, task: TaskRecord): Promise<void> {
    const template = e.template;
    const maxRetries = Number(template.maxRetries ?? 3);
    const timeoutSeconds = seconds(template.timeout, 600);
    task.scheduledTime = now();
    for (let attempt = 0; ; attempt++) {
      if (e.abort.signal.aborted) {
        this.endTask(task, 'cancelled', 'The execution was cancelled.');
        return;
      }
      task.state = 'running';
      task.startTime = now();
      task.updateTime = task.startTime;
      const result = await this.attempt(e, task, attempt, timeoutSeconds);
      task.lastAttemptResult = result.status;
      if (result.ended === 'cancelled') {
        this.endTask(task, 'cancelled', 'The execution was cancelled.');
        return;
      }
      if (result.ended === 'exited' && result.status.exitCode === 0) {
        this.endTask(task, 'succeeded', undefined);
        return;
      }
      if (attempt >= maxRetries) {
        this.endTask(task, 'failed', result.message);
        return;
      }
      task.retried += 1;
    }
  }

  private async attempt(
    e: ExecutionRecord,
    task: TaskRecord,
    attempt: number,
    timeoutSeconds: number,
  ): Promise<{
    ended: 'exited' | 'timeout' | 'cancelled' | 'failed-start';
    status: NonNullable<TaskRecord['lastAttemptResult']>;
    message: string;
  }> {
    const job = e.job;
    const container = ((e.template.containers as Json[] | undefined) ?? [])[0] ?? {};
    try {
      if (!this.tasks) throw new LaunchFailure('exited', 'this emulator runs no job tasks');
      // The same environment a revision gets (plain and secret variables, secret volumes), without
      // the service's PORT and K_* and with a task's CLOUD_RUN_* variables
      // (cloud.google.com/run/docs/container-contract#jobs-env-vars).
      const prepared = revisionEnvironment(
        this.ctx.world,
        { project: job.project, id: job.id },
        { name: e.name, template: { ...e.template, containers: [container] } },
      );
      const { env: raw, files } = prepared.containers[0]!;
      const { PORT: _port, K_SERVICE: _s, K_REVISION: _r, K_CONFIGURATION: _c, ...env } = raw;
      const outcome = await this.tasks.runTask(
        {
          job: job.id,
          execution: e.name,
          taskIndex: task.index,
          attempt,
          image: String(container.image),
          env: {
            ...env,
            CLOUD_RUN_JOB: job.id,
            CLOUD_RUN_EXECUTION: e.name,
            CLOUD_RUN_TASK_INDEX: String(task.index),
            CLOUD_RUN_TASK_ATTEMPT: String(attempt),
            CLOUD_RUN_TASK_COUNT: String(e.taskCount),
          },
          files,
          command: container.command as string[] | undefined,
          args: container.args as string[] | undefined,
          timeoutSeconds,
          registryHost: this.ctx.registryHost,
          registryToken: this.host.pullToken(job.project, String(e.template.serviceAccount)),
        },
        e.abort.signal,
      );
      if (outcome.imageDigest) task.imageDigest = outcome.imageDigest;
      for (const line of outcome.output) {
        this.emit(e, {
          kind: 'job',
          project: job.project,
          location: job.location,
          job: job.id,
          execution: e.name,
          taskIndex: task.index,
          attempt,
          ...line,
        });
      }
      if (outcome.ended === 'timeout') {
        // Cloud Run's words for a task past its timeout are UNCONFIRMED.
        const message = `The configured timeout was reached.`;
        return { ended: 'timeout', status: { status: { code: 4, message } }, message };
      }
      if (outcome.ended === 'cancelled') {
        const message = 'The execution was cancelled.';
        return { ended: 'cancelled', status: { status: { code: 1, message } }, message };
      }
      if (outcome.exitCode === 0)
        return { ended: 'exited', status: { status: { code: 0 }, exitCode: 0 }, message: '' };
      const message = `The container exited with an exit code of ${outcome.exitCode}.`;
      return {
        ended: 'exited',
        status: { status: { code: 2, message }, exitCode: outcome.exitCode },
        message,
      };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { ended: 'failed-start', status: { status: { code: 9, message } }, message };
    }
  }

  cancel(e: ExecutionRecord): void {
    e.cancelling = true;
    e.updateTime = now();
    e.abort.abort();
  }

  // ---- rendering ----------------------------------------------------------------------------

  renderJob(job: JobRecord): Json {
    const latest = job.executions.at(-1);
    const { template: stored, ...rest } = job.spec;
    // Prefixed template labels (gcloud's client.knative.dev/nonce) exist in the v1 view alone.
    const { [KNATIVE_LABELS]: _v1Only, ...template } = (stored ?? {}) as Json;
    return compact({
      ...rest,
      name: jobName(job.project, job.location, job.id),
      uid: job.uid,
      generation: String(job.generation),
      createTime: job.createTime,
      updateTime: job.updateTime,
      creator: job.creator,
      lastModifier: job.lastModifier,
      launchStage: job.spec.launchStage ?? 'GA',
      template,
      observedGeneration: String(job.generation),
      terminalCondition: job.terminal,
      conditions: [],
      executionCount: job.executionCount,
      latestCreatedExecution: latest && {
        name: latest.name,
        createTime: latest.createTime,
        completionTime: latest.completionTime,
        completionStatus: completionStatus(latest),
      },
      reconciling: false,
      etag: job.etag,
    }) as Json;
  }

  renderExecution(e: ExecutionRecord): Json {
    const count = (state: TaskState): number => e.tasks.filter((t) => t.state === state).length;
    const at = { lastTransitionTime: e.updateTime };
    const completed: Condition =
      e.state === 'running'
        ? condition('Completed', 'CONDITION_PENDING', {
            ...at,
            ...(e.cancelling ? { executionReason: 'CANCELLING' } : {}),
          } as Partial<Condition>)
        : e.state === 'succeeded'
          ? condition('Completed', 'CONDITION_SUCCEEDED', { ...at, message: e.message! })
          : condition('Completed', 'CONDITION_FAILED', {
              ...at,
              message: e.message!,
              executionReason: e.state === 'cancelled' ? 'CANCELLED' : 'NON_ZERO_EXIT_CODE',
            } as Partial<Condition>);
    const started = e.startTime ? 'CONDITION_SUCCEEDED' : 'CONDITION_PENDING';
    return compact({
      name: executionFullName(e),
      uid: e.uid,
      creator: e.creator,
      generation: '1',
      labels: {
        ...e.labels,
        'run.googleapis.com/jobUid': e.job.uid,
      },
      annotations: e.annotations,
      createTime: e.createTime,
      startTime: e.startTime,
      completionTime: e.completionTime,
      updateTime: e.updateTime,
      launchStage: e.job.spec.launchStage ?? 'GA',
      job: e.job.id,
      parallelism: e.parallelism,
      taskCount: e.taskCount,
      template: e.template,
      reconciling: e.state === 'running',
      conditions: [
        completed,
        condition('ResourcesAvailable', started, at),
        condition('Started', started, at),
      ],
      observedGeneration: '1',
      runningCount: count('running'),
      succeededCount: count('succeeded'),
      failedCount: count('failed'),
      cancelledCount: count('cancelled'),
      retriedCount: e.tasks.reduce((sum, t) => sum + t.retried, 0),
      logUri: logUri(e.job.project, e.job.id, e.name),
      etag: `"${e.uid.slice(0, 12)}"`,
    }) as Json;
  }

  renderTask(e: ExecutionRecord, t: TaskRecord): Json {
    const at = { lastTransitionTime: t.updateTime };
    const done =
      t.state === 'succeeded'
        ? condition('Completed', 'CONDITION_SUCCEEDED', at)
        : t.state === 'failed' || t.state === 'cancelled'
          ? condition('Completed', 'CONDITION_FAILED', {
              ...at,
              message: t.message ?? '',
              executionReason: t.state === 'cancelled' ? 'CANCELLED' : 'NON_ZERO_EXIT_CODE',
            } as Partial<Condition>)
          : condition('Completed', t.state === 'running' ? 'CONDITION_RECONCILING' : 'CONDITION_PENDING', at);
    const {
      maxRetries,
      timeout,
      serviceAccount,
      executionEnvironment,
      encryptionKey,
      vpcAccess,
      containers,
      volumes,
    } = e.template;
    return compact({
      name: `${executionFullName(e)}/tasks/${taskName(e, t)}`,
      uid: t.uid,
      generation: '1',
      labels: { ...e.labels, 'run.googleapis.com/execution': e.name, 'run.googleapis.com/job': e.job.id },
      createTime: t.createTime,
      scheduledTime: t.scheduledTime,
      startTime: t.startTime,
      completionTime: t.completionTime,
      updateTime: t.updateTime,
      job: e.job.id,
      execution: e.name,
      containers,
      volumes,
      maxRetries,
      timeout,
      serviceAccount,
      executionEnvironment,
      encryptionKey,
      vpcAccess,
      reconciling: t.state === 'running' || t.state === 'pending',
      conditions: [done],
      observedGeneration: '1',
      index: t.index,
      retried: t.retried,
      lastAttemptResult: t.lastAttemptResult,
      logUri: logUri(e.job.project, e.job.id, e.name, String(t.index)),
      etag: `"${t.uid.slice(0, 12)}"`,
    }) as Json;
  }

  renderPolicy(job: JobRecord): Json {
    return compact({
      version: job.policy.version,
      bindings: job.policy.bindings,
      etag: job.policy.etag,
    }) as Json;
  }

  setPolicy(job: JobRecord, body: Json): Json {
    const policy = (body.policy ?? {}) as { bindings?: Binding[]; etag?: string; version?: number };
    checkPolicyEtag(policy.etag, job.policy.etag);
    for (const b of policy.bindings ?? [])
      if (typeof b.role !== 'string' || !Array.isArray(b.members))
        throw invalidArgument('Each binding needs a role and members.', 'policy.bindings');
    job.policy = {
      version: policy.version ?? 1,
      bindings: (policy.bindings ?? []).map((b) => ({ role: b.role, members: [...b.members] })),
      etag: newPolicyEtag(),
    };
    return this.renderPolicy(job);
  }

  // ---- v2 handlers --------------------------------------------------------------------------

  private bodyOf(req: ApiRequest): Json {
    return req.body && typeof req.body === 'object' && !(req.body instanceof Buffer)
      ? (req.body as Json)
      : {};
  }

  private dryRun(project: string, location: string, type: string, rendered: Json): Json {
    return { name: operationName(project, location), done: true, response: { '@type': type, ...rendered } };
  }

  create(req: ApiRequest): Json {
    const caller = requireCaller(this.ctx, req);
    const project = this.host.projectOf(req.params.project!, 'run.jobs.create');
    const location = req.params.location!;
    const id = req.query.get('jobId') ?? '';
    const name = jobName(project, location, id);
    this.check(caller, 'run.jobs.create', name, undefined);
    validateJobId(id);
    if (this.jobs.has(name)) throw new GoogleApiError('ALREADY_EXISTS', `Resource '${name}' already exists.`);
    const spec = this.prepare(caller, project, this.bodyOf(req), 'CreateJobRequest');
    if (req.query.get('validateOnly') === 'true')
      return this.dryRun(project, location, JOB_TYPE, compact({ ...spec, name }) as Json);
    return renderOperation(this.createJob(caller, project, location, id, spec).op);
  }

  update(req: ApiRequest): Json {
    const caller = requireCaller(this.ctx, req);
    const project = this.host.projectOf(req.params.project!, 'run.jobs.update');
    const location = req.params.location!;
    const id = req.params.job!;
    const name = jobName(project, location, id);
    const existing = this.jobs.get(name);
    const body = this.bodyOf(req);
    this.check(caller, 'run.jobs.update', name, existing);
    if (!existing) {
      if (req.query.get('allowMissing') !== 'true') throw notFound(`Resource '${name}' was not found`);
      this.check(caller, 'run.jobs.create', name, undefined);
      validateJobId(id);
    } else if (typeof body.etag === 'string' && body.etag !== '' && body.etag !== existing.etag) {
      throw new GoogleApiError(
        'ABORTED',
        `The job '${name}' was modified concurrently: etag ${body.etag} does not match the current ${existing.etag}. Read it again and retry.`,
      );
    }
    const spec = this.prepare(caller, project, body, 'UpdateJobRequest');
    if (req.query.get('validateOnly') === 'true')
      return this.dryRun(project, location, JOB_TYPE, compact({ ...spec, name }) as Json);
    const op = existing
      ? this.updateJob(caller, existing, spec)
      : this.createJob(caller, project, location, id, spec).op;
    return renderOperation(op);
  }

  delete(req: ApiRequest): Json {
    const { job } = this.find(req, 'run.jobs.delete');
    const etag = req.query.get('etag');
    if (etag && etag !== job.etag)
      throw new GoogleApiError('ABORTED', `etag ${etag} does not match the current ${job.etag}.`);
    if (req.query.get('validateOnly') === 'true')
      return this.dryRun(job.project, job.location, JOB_TYPE, this.renderJob(job));
    return renderOperation(this.deleteJob(job));
  }

  list(req: ApiRequest): Json {
    const caller = requireCaller(this.ctx, req);
    const project = this.host.projectOf(req.params.project!, 'run.jobs.list');
    const location = req.params.location!;
    this.check(caller, 'run.jobs.list', `projects/${project}/locations/${location}`, undefined);
    const { page, nextPageToken } = paginate(this.jobsIn(project, location), req.query);
    return compact({ jobs: page.map((j) => this.renderJob(j)), nextPageToken }) as Json;
  }

  get(req: ApiRequest): Json {
    return this.renderJob(this.find(req, 'run.jobs.get').job);
  }

  /** run.jobs.run, and run.jobs.runWithOverrides as well when the request overrides anything. */
  run(req: ApiRequest): Json {
    const body = this.bodyOf(req);
    const overrides = body.overrides as Json | undefined;
    const { job, caller } = this.find(req, 'run.jobs.run');
    if (overrides && Object.keys(compact(overrides) as Json).length)
      this.check(caller, 'run.jobs.runWithOverrides', jobName(job.project, job.location, job.id), job);
    if (typeof body.etag === 'string' && body.etag !== '' && body.etag !== job.etag)
      throw new GoogleApiError('ABORTED', `etag ${body.etag} does not match the current ${job.etag}.`);
    if (body.validateOnly === true) return { name: operationName(job.project, job.location), done: true };
    return renderOperation(this.runOperation(caller, job, overrides));
  }

  /**
   * An execution and its operation: metadata the Execution, finished with it once every task has
   * ended — its response when it succeeded; when it failed or was cancelled, an error with the
   * Completed condition's message (the code Cloud Run gives that error is UNCONFIRMED).
   */
  runOperation(caller: Principal, job: JobRecord, overrides: Json | undefined): OperationRecord {
    const execution = this.startExecution(caller, job, overrides);
    const op = this.host.operations.start(job.project, job.location, {
      '@type': EXECUTION_TYPE,
      ...this.renderExecution(execution),
    });
    void execution.done.then(() => {
      op.metadata = { '@type': EXECUTION_TYPE, ...this.renderExecution(execution) };
      this.host.operations.finish(
        op,
        execution.state === 'succeeded'
          ? { response: op.metadata }
          : { error: { code: execution.state === 'cancelled' ? 1 : 9, message: execution.message ?? '' } },
      );
    });
    return op;
  }

  listExecutions(req: ApiRequest): Json {
    const { job } = this.find(req, 'run.executions.list');
    const newestFirst = [...job.executions].reverse();
    const { page, nextPageToken } = paginate(newestFirst, req.query);
    return compact({ executions: page.map((e) => this.renderExecution(e)), nextPageToken }) as Json;
  }

  getExecution(req: ApiRequest): Json {
    return this.renderExecution(this.findExecution(req, 'run.executions.get').execution);
  }

  deleteExecution(req: ApiRequest): Json {
    const { job, execution } = this.findExecution(req, 'run.executions.delete');
    const rendered: Json = { '@type': EXECUTION_TYPE, ...this.renderExecution(execution) };
    const etag = req.query.get('etag');
    if (etag && etag !== rendered.etag)
      throw new GoogleApiError(
        'ABORTED',
        `etag ${etag} does not match the current ${String(rendered.etag)}.`,
      );
    this.assertDeletable(execution);
    if (req.query.get('validateOnly') === 'true')
      return this.dryRun(job.project, job.location, EXECUTION_TYPE, rendered);
    return renderOperation(this.deleteExecutionRecord(execution));
  }

  /** A running execution is cancelled first (the wording of this refusal is UNCONFIRMED). */
  assertDeletable(e: ExecutionRecord): void {
    if (e.state === 'running')
      throw new GoogleApiError(
        'FAILED_PRECONDITION',
        `Execution ${e.name} is still running: cancel it before deleting it.`,
      );
  }

  deleteExecutionRecord(e: ExecutionRecord): OperationRecord {
    const rendered = { '@type': EXECUTION_TYPE, ...this.renderExecution(e) };
    e.job.executions = e.job.executions.filter((x) => x !== e);
    const op = this.host.operations.start(e.job.project, e.job.location, rendered);
    setImmediate(() => this.host.operations.finish(op, { response: rendered }));
    return op;
  }

  /**
   * Cancelling needs run.executions.cancel (Google moved it there from run.jobs.run on
   * 2024-09-16: cloud.google.com/run/docs/reference/iam/permissions). An execution that has
   * ended cannot be cancelled (the wording is UNCONFIRMED).
   */
  cancelExecution(req: ApiRequest): Json {
    const { job, execution } = this.findExecution(req, 'run.executions.cancel');
    const body = this.bodyOf(req);
    const rendered = this.renderExecution(execution);
    if (typeof body.etag === 'string' && body.etag !== '' && body.etag !== rendered.etag)
      throw new GoogleApiError(
        'ABORTED',
        `etag ${body.etag} does not match the current ${String(rendered.etag)}.`,
      );
    if (execution.state !== 'running')
      throw new GoogleApiError('FAILED_PRECONDITION', `Execution ${execution.name} has already completed.`);
    if (body.validateOnly === true) return this.dryRun(job.project, job.location, EXECUTION_TYPE, rendered);
    return renderOperation(this.cancelOperation(execution));
  }

  cancelOperation(execution: ExecutionRecord): OperationRecord {
    this.cancel(execution);
    const op = this.host.operations.start(execution.job.project, execution.job.location, {
      '@type': EXECUTION_TYPE,
      ...this.renderExecution(execution),
    });
    void execution.done.then(() =>
      this.host.operations.finish(op, {
        response: { '@type': EXECUTION_TYPE, ...this.renderExecution(execution) },
      }),
    );
    return op;
  }

  listTasks(req: ApiRequest): Json {
    const { execution } = this.findExecution(req, 'run.tasks.list');
    const { page, nextPageToken } = paginate(execution.tasks, req.query);
    return compact({ tasks: page.map((t) => this.renderTask(execution, t)), nextPageToken }) as Json;
  }

  getTask(req: ApiRequest): Json {
    const { execution } = this.findExecution(req, 'run.tasks.get');
    const task = execution.tasks.find((t) => taskName(execution, t) === req.params.task);
    if (!task)
      throw notFound(`Resource '${executionFullName(execution)}/tasks/${req.params.task}' was not found`);
    return this.renderTask(execution, task);
  }

  testIamPermissions(req: ApiRequest): Json {
    const caller = requireCaller(this.ctx, req);
    const project = this.host.projectOf(req.params.project!, 'run.jobs.get');
    const name = jobName(project, req.params.location!, req.params.job!);
    const bindings = this.jobs.get(name)?.policy.bindings ?? [];
    refuseWildcards(this.bodyOf(req));
    const asked = (this.bodyOf(req).permissions as string[] | undefined) ?? [];
    return compact({
      permissions: asked.filter((p) => this.host.allowed(caller, p, name, bindings)),
    }) as Json;
  }

  // ---- admin --------------------------------------------------------------------------------

  snapshot(): unknown {
    return [...this.jobs.values()].map((j) => ({
      ...this.renderJob(j),
      executions: j.executions.map((e) => ({
        name: e.name,
        state: e.state,
        tasks: e.tasks.map((t) => ({
          index: t.index,
          state: t.state,
          retried: t.retried,
          result: t.lastAttemptResult,
        })),
        output: e.output,
      })),
      iamPolicy: j.policy,
    }));
  }

  /** Cancels every execution, waits for their containers to go, and forgets every job. */
  async reset(): Promise<void> {
    const all = [...this.jobs.values()].flatMap((j) => j.executions);
    this.jobs.clear();
    for (const e of all) if (e.state === 'running') this.cancel(e);
    await Promise.all(all.map((e) => e.done));
  }
}

function completionStatus(e: ExecutionRecord): string {
  switch (e.state) {
    case 'running':
      return e.startTime ? 'EXECUTION_RUNNING' : 'EXECUTION_PENDING';
    case 'succeeded':
      return 'EXECUTION_SUCCEEDED';
    case 'failed':
      return 'EXECUTION_FAILED';
    case 'cancelled':
      return 'EXECUTION_CANCELLED';
  }
}
