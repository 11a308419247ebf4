// A small Cloud Logging client: entries.list only, for a failed revision's recent lines
// (https://cloud.google.com/logging/docs/reference/v2/rest/v2/entries/list). Entries are what a
// container wrote: their payloads come back wrapped as untrusted text, never as strings to print.
import { endpoint } from './endpoints.js';
import { requestJson } from '../common/http.js';
import { Untrusted } from '../common/untrusted.js';

/** The part of a google.logging.v2.LogEntry Runway reads. */
export interface LogEntry {
  timestamp?: string;
  severity?: string;
  textPayload?: string;
  jsonPayload?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface ListEntriesRequest {
  resourceNames: string[];
  filter: string;
  orderBy: 'timestamp asc' | 'timestamp desc';
  pageSize: number;
  pageToken?: string;
}

/**
 * What was read of a failed revision's or job execution's logs: its last lines, oldest first, and
 * Cloud Run's link to them. Plain data, carried in the outcome to the log and to every report.
 */
export interface FailureLogs {
  /** What wrote them: a revision, or a job execution (every task's lines). */
  source: 'revision' | 'execution';
  /** The revision's or execution's short name, as Cloud Run gave it. */
  name: string;
  /** The last lines it wrote, oldest first; none when they could not be read. */
  lines: Untrusted[];
  /** Cloud Run's link to its logs in the console. */
  logUri: string | undefined;
  /** Why no lines were read, when they were not: the deployer may not read logs, or the read failed. */
  unread: 'denied' | 'failed' | undefined;
}

interface ListEntriesResponse {
  entries?: LogEntry[];
  nextPageToken?: string;
}

/** A value in a filter, quoted as the Logging query language quotes strings. */
export function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * What an entry says, as one line: its text, or a JSON payload's `message` (what Cloud Logging
 * shows as the summary), else the payload itself.
 */
export function entryText(entry: LogEntry): Untrusted {
  if (typeof entry.textPayload === 'string') return Untrusted.of(entry.textPayload);
  const payload = entry.jsonPayload;
  if (payload && typeof payload.message === 'string') return Untrusted.of(payload.message);
  return Untrusted.of(payload ? JSON.stringify(payload) : '');
}

export class LoggingClient {
  private readonly base: string;
  private readonly token: () => Promise<string>;

  constructor(token: () => Promise<string>, base = endpoint('logging')) {
    this.base = base;
    this.token = token;
  }

  /** One page of entries; entries.list is a read, so it is retried like one. */
  async listEntries(request: ListEntriesRequest): Promise<{ entries: LogEntry[]; nextPageToken?: string }> {
    const page = await requestJson<ListEntriesResponse>(`${this.base}v2/entries:list`, {
      method: 'POST',
      idempotent: true,
      body: request,
      token: this.token,
      // A failed deploy waits on this: a slow Logging API must not hold it for long.
      timeoutMs: 15_000,
      retry: { attempts: 3, initialDelayMs: 500, maxDelayMs: 2000 },
    });
    return {
      entries: Array.isArray(page.entries) ? page.entries : [],
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
    };
  }
}
