// Cloud Logging's entries, as the emulator keeps them: any source appends LogEntry-shaped records
// (a revision's container output and Cloud Run's system lines about it, a job's tasks through the
// same `append`), and entries.list reads them back (../apis/logging.ts). Container output becomes
// entries as Cloud Run makes them: one entry per line, on the run.googleapis.com/stdout or /stderr
// log of the project, a line that is a JSON object as jsonPayload with its own `severity` (and
// `message`) honoured, any other line as textPayload. Plain lines carry no severity of their own,
// so they are DEFAULT on both streams: "Logs to standard output or standard error do not have an
// associated log level" (https://cloud.google.com/functions/docs/monitoring/logging, Cloud Run
// functions, which run on Cloud Run) and the special JSON fields
// (https://cloud.google.com/logging/docs/structured-logging#structured_logging_special_fields).
import { randomBytes } from 'node:crypto';

/** LogSeverity in its enum order (https://cloud.google.com/logging/docs/reference/v2/rest/v2/LogEntry#LogSeverity). */
export const SEVERITIES = [
  'DEFAULT',
  'DEBUG',
  'INFO',
  'NOTICE',
  'WARNING',
  'ERROR',
  'CRITICAL',
  'ALERT',
  'EMERGENCY',
] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The numeric value Google gives each severity (DEFAULT 0, DEBUG 100, … EMERGENCY 800). */
export function severityRank(severity: string): number | undefined {
  const i = (SEVERITIES as readonly string[]).indexOf(severity.toUpperCase());
  return i < 0 ? undefined : i * 100;
}

export interface MonitoredResource {
  type: string;
  labels: Record<string, string>;
}

/** A google.logging.v2.LogEntry as entries.list answers it. */
export interface LogEntry {
  insertId: string;
  logName: string;
  resource: MonitoredResource;
  timestamp: string;
  receiveTimestamp: string;
  severity: Severity;
  labels?: Record<string, string>;
  textPayload?: string;
  jsonPayload?: Record<string, unknown>;
}

/** What a source writes; the store stamps insertId and receiveTimestamp. */
export type NewLogEntry = Omit<LogEntry, 'insertId' | 'receiveTimestamp'>;

export class LogStore {
  private readonly all: LogEntry[] = [];

  append(entry: NewLogEntry): LogEntry {
    const stored: LogEntry = {
      ...entry,
      insertId: randomBytes(8).toString('hex'),
      receiveTimestamp: new Date().toISOString(),
    };
    this.all.push(stored);
    return stored;
  }

  /** Every entry, in the order they arrived. */
  entries(): readonly LogEntry[] {
    return this.all;
  }
}

/** One line a container wrote, with the time the runtime saw it (RFC 3339, up to nanoseconds). */
export interface OutputLine {
  stream: 'stdout' | 'stderr';
  text: string;
  time: string;
}

/** `projects/P/logs/run.googleapis.com%2Fstdout`: a log ID is URL-encoded in its name. */
export function logName(project: string, logId: string): string {
  return `projects/${project}/logs/${encodeURIComponent(logId)}`;
}

/** A container's line as Cloud Run's logging agent turns it into an entry of `resource`. */
export function containerEntry(
  project: string,
  resource: MonitoredResource,
  line: OutputLine,
  labels: Record<string, string> = {},
): NewLogEntry {
  const base = {
    logName: logName(project, `run.googleapis.com/${line.stream}`),
    resource,
    timestamp: line.time,
    ...(Object.keys(labels).length ? { labels } : {}),
  };
  const structured = parseObject(line.text);
  if (!structured) return { ...base, severity: 'DEFAULT', textPayload: line.text };
  const { severity, ...payload } = structured;
  const rank = typeof severity === 'string' ? severityRank(severity) : undefined;
  return {
    ...base,
    severity: rank === undefined ? 'DEFAULT' : SEVERITIES[rank / 100]!,
    jsonPayload: payload,
  };
}

/**
 * What Cloud Run itself says about an instance (a probe that failed, say) on the revision's
 * run.googleapis.com/varlog/system log, as observed: the text as textPayload, with the instance
 * and container as labels (1Password/scim-examples#309 shows a startup probe's entry).
 */
export function systemEntry(
  project: string,
  resource: MonitoredResource,
  severity: Severity,
  text: string,
  labels: Record<string, string>,
): NewLogEntry {
  return {
    logName: logName(project, 'run.googleapis.com/varlog/system'),
    resource,
    timestamp: new Date().toISOString(),
    severity,
    ...(Object.keys(labels).length ? { labels } : {}),
    textPayload: text,
  };
}

function parseObject(text: string): Record<string, unknown> | undefined {
  if (!text.trimStart().startsWith('{')) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
