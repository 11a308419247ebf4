// A failed revision's own last words: when a region's rollout fails after its revision exists (it
// never became ready, or it failed its health checks), Runway reads that revision's recent entries
// from Cloud Logging, oldest first, for the region's log and the report, with the revision's
// logUri. Reading logs needs logging.logEntries.list (roles/logging.viewer), which a deployer may
// well lack: then a warning names the role, the link is still shown, and the step's outcome is
// whatever it was going to be. Nothing here ever fails a run.
import { GoogleApiError } from '../common/http.js';
import type { Untrusted } from '../common/untrusted.js';
import { entryText, quote, type LoggingClient } from '../gcp/logging.js';
import type { CloudRunApi, ServiceRef } from '../gcp/run.js';

export interface FailureLogs {
  revision: string;
  /** The last lines it wrote, oldest first; none when they could not be read. */
  lines: Untrusted[];
  /** Cloud Run's link to the revision's logs in the console. */
  logUri: string | undefined;
  /** Why no lines were read, when they were not: the deployer may not read logs, or the read failed. */
  unread: 'denied' | 'failed' | undefined;
}

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
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const where = logUri ? ` Its logs: ${logUri}` : '';
  try {
    let page = await deps.logging.listEntries(request);
    for (let retry = 0; retry < 2 && page.entries.length === 0; retry++) {
      await sleep(2000);
      page = await deps.logging.listEntries(request);
    }
    return { revision, lines: page.entries.map(entryText).reverse(), logUri, unread: undefined };
  } catch (err) {
    if (err instanceof GoogleApiError && err.httpStatus === 403) {
      deps.warn(
        `Runway could not read the logs of revision ${revision}: ${deps.identity} lacks logging.logEntries.list. Grant it ${LOG_VIEWER_ROLE} to see a failed revision's last lines here (optional; the deploy is not affected).${where}`,
      );
      return { revision, lines: [], logUri, unread: 'denied' };
    }
    const why = err instanceof Error ? err.message : String(err);
    deps.warn(`Runway could not read the logs of revision ${revision}: ${why}.${where}`);
    return { revision, lines: [], logUri, unread: 'failed' };
  }
}
