// Post-deploy webhooks: one JSON body per run, signed as the Standard Webhooks spec does
// (webhook-id, webhook-timestamp, webhook-signature) and as GitHub does (X-Hub-Signature-256),
// delivered with backoff and jitter on timeouts, 5xx and 429 (Retry-After honoured), the same
// webhook-id on every attempt so receivers can deduplicate.
import { createHmac, randomUUID } from 'node:crypto';
import { isTimeout, withRetry, type RetryOptions } from './http.js';

export type WebhookOn = 'success' | 'failure' | 'always';

export interface WebhookSettings {
  urls: string[];
  secret: string | undefined;
  /** Sent as Authorization: Bearer, for receivers that check a token rather than a signature. */
  token: string | undefined;
  on: WebhookOn;
  /** `fail` turns an undelivered webhook into a failed step; `warn` only warns. */
  failure: 'warn' | 'fail';
}

/** A receiver's answer that is not 2xx. */
export class WebhookRejected extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`the receiver answered HTTP ${status}`);
    this.name = 'WebhookRejected';
  }
}

const RETRYABLE = new Set([408, 409, 429]);

/** Timeouts, dropped connections, 5xx, 408, 409 and 429 are worth another attempt; other 4xx are final. */
export function isRetryableDelivery(err: unknown): boolean {
  if (err instanceof WebhookRejected) return err.status >= 500 || RETRYABLE.has(err.status);
  if (err instanceof DOMException) return isTimeout(err);
  return err instanceof TypeError;
}

/** Retry-After as seconds or an HTTP date, in ms from `now`. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Standard Webhooks keys are `whsec_` + base64; any other secret is used as its UTF-8 bytes. */
function standardKey(secret: string): Buffer {
  return secret.startsWith('whsec_')
    ? Buffer.from(secret.slice('whsec_'.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

export interface Signatures {
  /** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. */
  standard: string;
  /** `sha256=<hex HMAC-SHA256 of the body>`. */
  github: string;
}

export function signWebhook(secret: string, id: string, timestamp: number, body: string): Signatures {
  const standard = createHmac('sha256', standardKey(secret))
    .update(`${id}.${timestamp}.${body}`)
    .digest('base64');
  const github = createHmac('sha256', secret).update(body).digest('hex');
  return { standard: `v1,${standard}`, github: `sha256=${github}` };
}

export function webhookHeaders(
  settings: Pick<WebhookSettings, 'secret' | 'token'>,
  id: string,
  timestamp: number,
  body: string,
): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'runway-deploy-webhook',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
  };
  if (settings.secret) {
    const signed = signWebhook(settings.secret, id, timestamp, body);
    headers['webhook-signature'] = signed.standard;
    headers['x-hub-signature-256'] = signed.github;
  }
  if (settings.token) headers.authorization = `Bearer ${settings.token}`;
  return headers;
}

/** Only https, except loopback (for local receivers and tests). */
export function isAllowedWebhookUrl(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(url.hostname);
}

export const WEBHOOK_RETRY: RetryOptions = { attempts: 5, initialDelayMs: 500, maxDelayMs: 10_000 };

export interface Delivery {
  url: string;
  id: string;
  delivered: boolean;
  /** The receiver's last status, or the network error. */
  result: string;
}

/**
 * Where the receiver is, for the log and the report: scheme and host only. Chat webhooks (Slack,
 * Discord) carry their secret in the path, and a query or credentials may hold one too.
 */
function shownUrl(raw: string): string {
  const url = new URL(raw);
  return `${url.protocol}//${url.host}`;
}

/** Delivers `payload` to one receiver: one webhook-id and timestamp for every attempt. */
export async function deliverWebhook(
  url: string,
  payload: unknown,
  settings: Pick<WebhookSettings, 'secret' | 'token'>,
  options: {
    retry?: RetryOptions;
    timeoutMs?: number;
    id?: string;
    now?: () => number;
    /** The transport; the global fetch unless a test routes it in-process. */
    fetch?: typeof fetch;
  } = {},
): Promise<Delivery> {
  const id = options.id ?? `msg_${randomUUID()}`;
  const timestamp = Math.floor((options.now ?? Date.now)() / 1000);
  const body = JSON.stringify(payload);
  const headers = webhookHeaders(settings, id, timestamp, body);
  try {
    const status = await withRetry(
      `webhook ${shownUrl(url)}`,
      async () => {
        const res = await (options.fetch ?? fetch)(url, {
          method: 'POST',
          headers,
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        });
        await res.arrayBuffer();
        if (res.status < 200 || res.status > 299)
          throw new WebhookRejected(res.status, parseRetryAfter(res.headers.get('retry-after')));
        return res.status;
      },
      options.retry ?? WEBHOOK_RETRY,
      isRetryableDelivery,
      (err) => (err instanceof WebhookRejected ? err.retryAfterMs : undefined),
    );
    return { url: shownUrl(url), id, delivered: true, result: `HTTP ${status}` };
  } catch (err) {
    const result =
      err instanceof WebhookRejected
        ? `HTTP ${err.status}`
        : isTimeout(err)
          ? 'timed out'
          : ((err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message);
    return { url: shownUrl(url), id, delivered: false, result };
  }
}

/** Whether this run's outcome is one the user asked webhooks for. */
export function shouldSend(on: WebhookOn, succeeded: boolean): boolean {
  return on === 'always' || (on === 'success') === succeeded;
}
