// Deploying a Cloud Run job in one region: create or replace its spec (restoring the previous spec,
// or removing a job this run created, when the change fails), then optionally execute it and wait.
import { RunwayError } from '../errors.js';
import { Untrusted } from '../common/untrusted.js';
import type { Deadline } from '../common/deadline.js';
import { jobName, type CloudRunClient, type JobRef } from '../gcp/run.js';
import type { FailureLogs } from '../gcp/logging.js';
import type { Execution, Job, Operation } from '../gcp/run-types.js';
import { shortName } from '../gcp/run-types.js';
import type { JobExecute } from '../inputs/spec.js';
import { withoutOutputFields } from './job-plan.js';

export type JobApi = Pick<
  CloudRunClient,
  | 'getJob'
  | 'createJob'
  | 'updateJob'
  | 'deleteJob'
  | 'runJob'
  | 'getExecution'
  | 'listTasks'
  | 'waitOperation'
>;

/** The job spec to send, from the live job (undefined when there is none yet): planJob, or a fixed spec. */
export type JobPlan = (live: Job | undefined) => Job;

export interface TaskCounts {
  total: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

export interface JobOutcome {
  region: string;
  /** The job's full resource name. */
  job: string;
  created: boolean;
  /** The execution's short name, when one was started. */
  execution: string | undefined;
  executionUrl: string | undefined;
  /** Cloud Logging link Cloud Run gives the execution. */
  logUri: string | undefined;
  /** Set once a waited execution has ended. */
  tasks: TaskCounts | undefined;
  /** A failed task's exit code (the first failed task's), when the container exited with one. */
  exitCode: number | undefined;
  /** Why the step fails in this region; undefined when it does not. */
  failure: string | undefined;
  /** A failed execution's own last lines (every task's), for the log and the reports. */
  logs: FailureLogs | undefined;
}

/**
 * Reads a failed execution's last log lines (Cloud Logging): called once per region whose waited
 * execution had a failed task. Undefined when nothing could or should be read; never throws.
 */
export type FailedExecutionLogs = (
  ref: JobRef,
  execution: string,
  logUri: string | undefined,
) => Promise<FailureLogs | undefined>;

/** The job `release_command` runs as: SERVICE-release. */
export function releaseJobName(service: string): string {
  return `${service}-release`;
}

/** An execution's name as Cloud Run gave it, escaped for a log line or a message. */
function shown(execution: string | undefined): string {
  return execution === undefined ? '(unnamed)' : Untrusted.of(execution).forLog(200);
}

export function executionUrl(ref: JobRef, execution: string): string {
  return `https://console.cloud.google.com/run/jobs/executions/details/${ref.region}/${encodeURIComponent(execution)}/tasks?project=${ref.project}`;
}

function operationFailure(what: string, op: Operation<unknown>): RunwayError {
  const said = Untrusted.of(op.error?.message ?? 'no reason given').forLog(1000);
  return new RunwayError(
    `${what} failed: ${said}`,
    'Fix what Cloud Run names above; the job was left as it was.',
  );
}

/** Puts the job back as it was before this run: its previous spec, or no job when this run created it. */
async function restore(api: JobApi, ref: JobRef, live: Job | undefined, deadline: Deadline): Promise<void> {
  const until = Date.now() + Math.max(deadline.remainingMs(), 60_000);
  if (!live) {
    await api.deleteJob(ref, until);
    return;
  }
  const current = await api.getJob(ref);
  const previous = withoutOutputFields({ ...live, ...(current?.etag ? { etag: current.etag } : {}) });
  const op = await api.waitOperation(await api.updateJob(ref, previous), until);
  if (!op.done || op.error) throw operationFailure(`restoring ${jobName(ref)}`, op);
}

/** Creates or replaces the job's spec; on failure the job is as it was and the error is thrown. */
export async function applyJob(
  api: JobApi,
  ref: JobRef,
  plan: JobPlan,
  deadline: Deadline,
  log: (line: string) => void,
): Promise<{ job: Job; created: boolean }> {
  const live = await api.getJob(ref);
  const planned = plan(live);
  // A request Cloud Run refuses changes nothing; only an accepted change that fails needs undoing.
  const op = live ? await api.updateJob(ref, planned) : await api.createJob(ref, planned);
  log(`${live ? 'updating' : 'creating'} job ${ref.job}`);
  const done = await api.waitOperation(op, deadline.at);
  if (done.done && !done.error) return { job: done.response ?? planned, created: !live };
  log(`the job change ${done.done ? 'failed' : 'did not finish in time'}; putting the job back as it was`);
  try {
    await restore(api, ref, live, deadline);
  } catch (err) {
    throw new RunwayError(
      `${jobName(ref)} was changed and could not be put back: ${err instanceof Error ? err.message : String(err)}`,
      `Check the job in the console and restore it by hand (its previous spec is in this log's debug output).`,
      { cause: err },
    );
  }
  if (!done.done)
    throw new RunwayError(
      `deploy_timeout passed while ${jobName(ref)} was being changed; it was put back as it was.`,
      'Raise `deploy_timeout`.',
    );
  throw operationFailure(`${live ? 'Updating' : 'Creating'} ${jobName(ref)}`, done);
}

function countsOf(execution: Execution): TaskCounts {
  return {
    total: execution.taskCount ?? 0,
    succeeded: execution.succeededCount ?? 0,
    failed: execution.failedCount ?? 0,
    cancelled: execution.cancelledCount ?? 0,
  };
}

/** Deploys the job in one region and, as `execute` says, starts an execution or runs one to its end. */
export async function deployJobRegion(
  api: JobApi,
  ref: JobRef,
  plan: JobPlan,
  execute: JobExecute,
  deadline: Deadline,
  log: (line: string) => void,
  failedLogs?: FailedExecutionLogs,
): Promise<JobOutcome> {
  const { created } = await applyJob(api, ref, plan, deadline, log);
  const outcome: JobOutcome = {
    region: ref.region,
    job: jobName(ref),
    created,
    execution: undefined,
    executionUrl: undefined,
    logUri: undefined,
    tasks: undefined,
    exitCode: undefined,
    failure: undefined,
    logs: undefined,
  };
  log(`job ${ref.job} ${created ? 'created' : 'updated'}`);
  if (execute === 'none') return outcome;
  const started = await api.runJob(ref, undefined);
  const name = started.metadata?.name ?? started.response?.name;
  outcome.execution = shortName(name);
  if (outcome.execution) outcome.executionUrl = executionUrl(ref, outcome.execution);
  outcome.logUri = started.metadata?.logUri;
  log(`execution ${shown(outcome.execution)} started`);
  if (execute === 'start') return outcome;

  const done = await api.waitOperation(started, deadline.at);
  if (!done.done) {
    outcome.failure = `deploy_timeout passed while execution ${shown(outcome.execution)} was running; it goes on (see ${outcome.executionUrl}).`;
    return outcome;
  }
  const execution = done.response ?? (name ? await api.getExecution(name) : undefined);
  if (execution) {
    outcome.tasks = countsOf(execution);
    outcome.logUri = execution.logUri ?? outcome.logUri;
  }
  const tasks = outcome.tasks;
  if (done.error || !tasks || tasks.failed > 0 || tasks.cancelled > 0) {
    const counts = tasks
      ? `${tasks.failed} of ${tasks.total} task(s) failed, ${tasks.cancelled} cancelled`
      : Untrusted.of(done.error?.message ?? 'no result').forLog(500);
    if (name) {
      const failedTask = (await api.listTasks(name)).find((t) => (t.lastAttemptResult?.exitCode ?? 0) !== 0);
      outcome.exitCode = failedTask?.lastAttemptResult?.exitCode;
    }
    const exit = outcome.exitCode !== undefined ? ` (exit code ${outcome.exitCode})` : '';
    outcome.failure = `execution ${shown(outcome.execution)} failed: ${counts}${exit}`;
    if (failedLogs && outcome.execution)
      outcome.logs = await failedLogs(ref, outcome.execution, outcome.logUri).catch(() => undefined);
  }
  log(
    tasks
      ? `execution ${shown(outcome.execution)}: ${tasks.succeeded} succeeded, ${tasks.failed} failed, ${tasks.cancelled} cancelled`
      : `execution ${shown(outcome.execution)} ended`,
  );
  return outcome;
}
