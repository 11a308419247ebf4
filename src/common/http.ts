// The one HTTP layer for Google APIs: JSON in and out, bearer auth, retries with backoff on
// transient failures, and Google's error bodies turned into typed errors.
import * as log from './log.js';
import { Untrusted } from './untrusted.js';

export interface GoogleErrorBody {
  error?: {
    code?: number;
    message?: string;
    status?: string;
    details?: Array<{
      '@type'?: string;
      reason?: string;
      metadata?: Record<string, string>;
      fieldViolations?: Array<{ field?: string; description?: string }>;
    }>;
    /** Cloud Storage's JSON API names the reason here instead (forbidden, notFound, conflict). */
    errors?: Array<{ reason?: string; domain?: string; message?: string }>;
  };
}

/** An error answer from a Google API, with the bits callers branch on. */
export class GoogleApiError extends Error {
  /** What the server said, as it said it. */
  readonly detail: Untrusted;
  readonly httpStatus: number;
  /** Canonical status, e.g. PERMISSION_DENIED, NOT_FOUND, ABORTED. */
  readonly status: string;
  /** The IAM permission named by an ErrorInfo detail, if any. */
  readonly permission: string | undefined;
  /** The request fields a BadRequest detail blames, e.g. `location`. */
  readonly fields: string[];
  /** The machine-readable reasons: ErrorInfo's, or Cloud Storage's `errors[].reason`. */
  readonly reasons: string[];
  readonly method: string;
  readonly url: string;
  constructor(method: string, url: string, httpStatus: number, body: GoogleErrorBody | string) {
    const parsed = typeof body === 'string' ? undefined : body.error;
    const said = typeof parsed?.message === 'string' ? parsed.message : typeof body === 'string' ? body : '';
    // The API's (or a proxy's) words: kept as they came, and in the message only escaped for the log.
    const detail = Untrusted.of(said);
    super(said ? detail.forLog(1000) : `HTTP ${httpStatus}`);
    this.detail = detail;
    this.name = 'GoogleApiError';
    this.httpStatus = httpStatus;
    this.status = parsed?.status ?? `HTTP_${httpStatus}`;
    this.permission = parsed?.details?.find((d) => d.metadata?.permission)?.metadata?.permission;
    this.fields = (parsed?.details ?? []).flatMap((d) => (d.fieldViolations ?? []).map((v) => v.field ?? ''));
    this.reasons = [
      ...(parsed?.details ?? []).flatMap((d) => (d.reason ? [d.reason] : [])),
      ...(Array.isArray(parsed?.errors) ? parsed.errors : []).flatMap((e) => (e.reason ? [e.reason] : [])),
    ];
    this.method = method;
    this.url = url;
  }
}

export interface RetryOptions {
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 5, initialDelayMs: 500, maxDelayMs: 8000 };

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** Whether an HTTP status is worth another attempt (rate limits and server-side failures). */
export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUS.has(status);
}

/** An attempt that ran out of time (AbortSignal.timeout). */
export function isTimeout(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'TimeoutError';
}

export function isRetryable(err: unknown): boolean {
  if (err instanceof GoogleApiError) return isRetryableStatus(err.httpStatus);
  // An attempt that ran out of time may simply have met a slow moment.
  if (err instanceof DOMException) return isTimeout(err);
  // fetch() rejects with a TypeError for network failures (reset, refused, DNS).
  return err instanceof TypeError;
}

/** Exponential backoff with full jitter; the delay before attempt n (1-based) after a failure. */
export function backoffDelay(attempt: number, options: RetryOptions, random = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Runs fn, retrying transient failures; the last error is rethrown. `waitHint` may ask for a
 * longer wait than the backoff (a server's Retry-After), up to the backoff's ceiling.
 */
export async function withRetry<T>(
  what: string,
  fn: () => Promise<T>,
  options: RetryOptions = DEFAULT_RETRY,
  retryable: (err: unknown) => boolean = isRetryable,
  waitHint: (err: unknown) => number | undefined = () => undefined,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= options.attempts || !retryable(err)) throw err;
      const delay = Math.max(
        backoffDelay(attempt, options),
        Math.min(waitHint(err) ?? 0, options.maxDelayMs),
      );
      const reason = err instanceof Error ? err.message : String(err);
      log.info(
        `${what} failed (${reason}); retrying in ${delay} ms (attempt ${attempt + 1} of ${options.attempts})`,
      );
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /**
   * Whether sending the request twice is harmless. A change whose attempt timed out may have been
   * applied, so only idempotent requests (GET by default) are retried after a timeout; the caller
   * reads the state again instead.
   */
  idempotent?: boolean;
  body?: unknown;
  /** Bytes sent as they are (an upload), instead of a JSON body. */
  media?: { data: Uint8Array; contentType: string };
  /** Returns the bearer token; called per attempt so refreshed tokens are used. */
  token?: () => Promise<string>;
  /** Extra request headers (e.g. Basic credentials for a registry's token endpoint). */
  headers?: Record<string, string>;
  query?: Record<string, string | undefined>;
  retry?: RetryOptions;
  /** Abort one attempt after this long. */
  timeoutMs?: number;
  /** The transport; the global fetch unless a test runs an API in-process. */
  fetch?: typeof fetch;
}

export async function requestJson<T>(url: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? 'GET';
  const idempotent = options.idempotent ?? method === 'GET';
  const retryable = (err: unknown): boolean => isRetryable(err) && (idempotent || !isTimeout(err));
  const target = new URL(url);
  for (const [k, v] of Object.entries(options.query ?? {}))
    if (v !== undefined) target.searchParams.set(k, v);
  return withRetry(
    `${method} ${target.pathname}`,
    async () => {
      const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      if (options.media) headers['content-type'] = options.media.contentType;
      if (options.token) headers.authorization = `Bearer ${await options.token()}`;
      const res = await (options.fetch ?? fetch)(target, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        ...(options.media ? { body: options.media.data } : {}),
        signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
      });
      const text = await res.text();
      if (!res.ok) {
        let body: GoogleErrorBody | string = text;
        try {
          body = JSON.parse(text) as GoogleErrorBody;
        } catch {
          // Not JSON (a proxy's HTML page): keep the text.
        }
        throw new GoogleApiError(method, target.toString(), res.status, body);
      }
      return (text ? JSON.parse(text) : {}) as T;
    },
    options.retry ?? DEFAULT_RETRY,
    retryable,
  );
}
