// The job's GitHub OIDC token, asked for as @actions/core's getIDToken asks (GET the request URL
// with `&audience=`, the request token as Bearer, the JWT in `value`) but bounded: each attempt
// times out, and server errors, rate limits, timeouts and dropped connections are retried with
// backoff. The toolkit's client waits up to three minutes on an endpoint that does not answer and
// retries only 502–504, so one slow moment at GitHub could hold or fail a deploy.
import { RunwayError } from '../errors.js';
import { isRetryableStatus, isTimeout, withRetry, type RetryOptions } from '../common/http.js';

export const OIDC_RETRY: RetryOptions = { attempts: 3, initialDelayMs: 500, maxDelayMs: 4000 };

/** GitHub answers in well under a second; an attempt that takes this long is retried. */
export const OIDC_TIMEOUT_MS = 10_000;

/** A non-2xx answer from the token endpoint. */
class OidcEndpointError extends Error {
  constructor(
    readonly status: number,
    body: string,
  ) {
    let detail = body.trim().slice(0, 300);
    try {
      detail = (JSON.parse(body) as { message?: string }).message ?? detail;
    } catch {
      // Not JSON: keep the text.
    }
    super(`HTTP ${status}${detail ? `: ${detail}` : ''}`);
    this.name = 'OidcEndpointError';
  }
}

function retryable(err: unknown): boolean {
  if (err instanceof OidcEndpointError) return isRetryableStatus(err.status);
  if (err instanceof DOMException) return isTimeout(err);
  return err instanceof TypeError;
}

const ENDPOINT = "GitHub's OIDC token endpoint";

function explain(err: unknown, attempts: number, timeoutMs: number): RunwayError {
  if (err instanceof RunwayError) return err;
  if (err instanceof OidcEndpointError) {
    if (isRetryableStatus(err.status)) {
      return new RunwayError(
        `${ENDPOINT} failed ${attempts} attempts, the last with ${err.message}`,
        "This is on GitHub's side (see https://www.githubstatus.com): re-run the job.",
        { cause: err },
      );
    }
    return new RunwayError(
      `${ENDPOINT} refused the job's request token: ${err.message}.`,
      'Give the job `permissions: { id-token: write, contents: read }`; pull requests from forks never get a token.',
      { cause: err },
    );
  }
  if (isTimeout(err)) {
    return new RunwayError(
      `${ENDPOINT} timed out: no answer within ${timeoutMs / 1000} s, ${attempts} times.`,
      "This is on GitHub's side (see https://www.githubstatus.com): re-run the job.",
      { cause: err },
    );
  }
  const code = (err as { cause?: { code?: string } }).cause?.code;
  return new RunwayError(
    `Could not reach ${ENDPOINT}: ${code ?? (err instanceof Error ? err.message : String(err))}.`,
    undefined,
    { cause: err },
  );
}

/** The OIDC token for `audience`; `url` and `requestToken` are what the runner injected. */
export async function requestOidcToken(
  url: string,
  requestToken: string,
  audience: string,
  options: { retry?: RetryOptions; timeoutMs?: number } = {},
): Promise<string> {
  const retry = options.retry ?? OIDC_RETRY;
  const timeoutMs = options.timeoutMs ?? OIDC_TIMEOUT_MS;
  const target = `${url}&audience=${encodeURIComponent(audience)}`;
  try {
    return await withRetry(
      "GitHub's OIDC token request",
      async () => {
        const res = await fetch(target, {
          headers: {
            authorization: `Bearer ${requestToken}`,
            accept: 'application/json',
            'user-agent': 'actions/oidc-client',
          },
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await res.text();
        if (!res.ok) throw new OidcEndpointError(res.status, text);
        let value: unknown;
        try {
          value = (JSON.parse(text) as { value?: unknown }).value;
        } catch {
          value = undefined;
        }
        if (typeof value !== 'string' || !value)
          throw new RunwayError(`${ENDPOINT} answered without a token (no \`value\` in its JSON).`);
        return value;
      },
      retry,
      retryable,
    );
  } catch (err) {
    throw explain(err, retryable(err) ? retry.attempts : 1, timeoutMs);
  }
}
