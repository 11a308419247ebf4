// A failed revision's own last words: when a region's rollout fails after its revision exists (it
// never became ready, or it failed its health checks), Runway reads that revision's recent entries
// from Cloud Logging, oldest first, for the region's log and the report, with the revision's
// logUri. Reading logs needs logging.logEntries.list (roles/logging.viewer), which a deployer may
// well lack: then a warning names the role, the link is still shown, and the step's outcome is
// whatever it was going to be. Nothing here ever fails a run.
import { GoogleApiError } from '../common/http.js';
import { Untrusted } from '../common/untrusted.js';
import { entryText, quote, type FailureLogs, type LoggingClient } from '../gcp/logging.js';
import type { CloudRunApi, JobRef, ServiceRef } from '../gcp/run.js';

export type { FailureLogs };

/** The role that holds logging.logEntries.list, named in the warning. */
export const LOG_VIEWER_ROLE = 'roles/logging.viewer';

/** The filter for a revision's entries: its resource, service and name, from its creation on. */
export function revisionLogFilter(ref: ServiceRef, revision: string, createTime: string | undefined): string {
  return [
    'resource.type = "cloud_run_revision"',
    `resource.labels.service_name = ${quote(ref.service)}`,
    `resource.labels.revision_name = ${quote(revision)}`,
    `resource.labels.location = ${quote(ref.region)}`,
    ...(createTime ? [`timestamp >= ${quote(createTime)}`] : []),
  ].join(' AND ');
}

export interface FailureLogDeps {
  api: Pick<CloudRunApi, 'getRevision'>;
  logging: Pick<LoggingClient, 'listEntries'>;
  /** How many lines to show (`log_lines`, at least 1 here). */
  count: number;
  identity: string;
  warn: (line: string) => void;
  /** Waits between reads of a log that is still empty (Cloud Logging takes a moment to ingest). */
  sleep?: (ms: number) => Promise<void>;
}

/** Reads the revision's last lines; undefined when the revision was never created. */
export async function readFailureLogs(
  deps: FailureLogDeps,
  ref: ServiceRef,
  revision: string,
): Promise<FailureLogs | undefined> {
  const found = await deps.api.getRevision(ref, revision).catch(() => undefined);
  if (!found) return undefined;
  const logUri = typeof found.logUri === 'string' ? found.logUri : undefined;
  const request = {
    resourceNames: [`projects/${ref.project}`],
    filter: revisionLogFilter(ref, revision, found.createTime),
    orderBy: 'timestamp desc' as const,
    pageSize: Math.min(deps.count, 1000),
  };
  const read = await readLines(deps, request, `revision ${revision}`, logUri);
  return { source: 'revision', name: revision, logUri, ...read };
}

/** The filter for a job execution's entries: the job's resource and the execution's label. */
export function executionLogFilter(ref: JobRef, execution: string): string {
  return [
    'resource.type = "cloud_run_job"',
    `resource.labels.job_name = ${quote(ref.job)}`,
    `resource.labels.location = ${quote(ref.region)}`,
    `labels."run.googleapis.com/execution_name" = ${quote(execution)}`,
  ].join(' AND ');
}

/** A failed job execution's last lines (every task's), oldest first, as for a revision. */
export async function readExecutionLogs(
  deps: Omit<FailureLogDeps, 'api'>,
  ref: JobRef,
  execution: string,
  logUri: string | undefined,
): Promise<FailureLogs> {
  const request = {
    resourceNames: [`projects/${ref.project}`],
    filter: executionLogFilter(ref, execution),
    orderBy: 'timestamp desc' as const,
    pageSize: Math.min(deps.count, 1000),
  };
  const read = await readLines(deps, request, `execution ${execution}`, logUri);
  return { source: 'execution', name: execution, logUri, ...read };
}

/**
 * Writes what was read to the region's log, one line each, every API-supplied value escaped for
 * the log: the lines, and the name and link Cloud Run gave. A denied or failed read was already a
 * warning, so it writes nothing more.
 */
export function logFailureLogs(logs: FailureLogs, log: (line: string) => void): void {
  const name = Untrusted.of(logs.name).forLog(200);
  const where = logs.logUri ? ` (${Untrusted.of(logs.logUri).forLog(1000)})` : '';
  if (logs.lines.length) {
    const count = logs.lines.length === 1 ? 'line' : `${logs.lines.length} lines`;
    log(`the last ${count} ${logs.source} ${name} wrote${where}:`);
    for (const line of logs.lines) log(`  ${line.forLog(2000)}`);
  } else if (!logs.unread) log(`${logs.source} ${name} wrote nothing to its logs${where}`);
}

async function readLines(
  deps: Omit<FailureLogDeps, 'api'>,
  request: Parameters<LoggingClient['listEntries']>[0],
  what: string,
  logUri: string | undefined,
): Promise<Pick<FailureLogs, 'lines' | 'unread'>> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const where = logUri ? ` Its logs: ${Untrusted.of(logUri).forLog(1000)}` : '';
  try {
    let page = await deps.logging.listEntries(request);
    for (let retry = 0; retry < 2 && page.entries.length === 0; retry++) {
      await sleep(2000);
      page = await deps.logging.listEntries(request);
    }
    return { lines: page.entries.map(entryText).reverse(), unread: undefined };
  } catch (err) {
    if (err instanceof GoogleApiError && err.httpStatus === 403) {
      deps.warn(
        `Runway could not read the logs of ${what}: ${deps.identity} lacks logging.logEntries.list. Grant it ${LOG_VIEWER_ROLE} to see a failure's last lines here (optional; the deploy is not affected).${where}`,
      );
      return { lines: [], unread: 'denied' };
    }
    const why = err instanceof Error ? err.message : String(err);
    deps.warn(`Runway could not read the logs of ${what}: ${why}.${where}`);
    return { lines: [], unread: 'failed' };
  }
}
