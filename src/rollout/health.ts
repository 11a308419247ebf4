// HTTP health checks against a revision's tag URL or the service URL: a number of consecutive
// passes within a time limit, each pass judged by status and (optionally) a body pattern.
import type { Deadline } from './deadline.js';

export interface HealthCheck {
  path: string;
  /** Accepted statuses, e.g. [[200, 299]] for 2xx. */
  expectedStatus: Array<[number, number]>;
  bodyPattern: RegExp | undefined;
  timeoutSeconds: number;
  successes: number;
  intervalMs: number;
}

export interface Probe {
  ok: boolean;
  status: number | undefined;
  bodyExcerpt: string;
  error: string | undefined;
  /** From sending the request to reading the whole answer. */
  latencyMs: number;
  /** Why an answer with an accepted status still failed: its body did not match. */
  mismatch?: string;
}

export interface HealthResult {
  healthy: boolean;
  attempts: number;
  last: Probe | undefined;
}

/** "2xx", "200", "200,204", "2xx,301" → status ranges. */
export function parseExpectedStatus(text: string): Array<[number, number]> | undefined {
  const ranges: Array<[number, number]> = [];
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const wildcard = /^([1-5])xx$/i.exec(part);
    if (wildcard) ranges.push([Number(wildcard[1]) * 100, Number(wildcard[1]) * 100 + 99]);
    else if (/^[1-5]\d\d$/.test(part)) ranges.push([Number(part), Number(part)]);
    else return undefined;
  }
  return ranges.length ? ranges : undefined;
}

export function judge(
  check: Pick<HealthCheck, 'expectedStatus' | 'bodyPattern'>,
  status: number,
  body: string,
): boolean {
  const statusOk = check.expectedStatus.some(([lo, hi]) => status >= lo && status <= hi);
  return statusOk && (!check.bodyPattern || check.bodyPattern.test(body));
}

export function describeProbe(probe: Probe | undefined): string {
  if (!probe) return 'no response';
  if (probe.error) return probe.error;
  const answer = `HTTP ${probe.status}${probe.bodyExcerpt ? `: ${JSON.stringify(probe.bodyExcerpt)}` : ''}`;
  return probe.mismatch ? `${answer}, ${probe.mismatch}` : answer;
}

const PROBE_TIMEOUT_MS = 10_000;

export async function probeOnce(
  url: string,
  check: HealthCheck,
  idToken: string | undefined,
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<Probe> {
  const started = Date.now();
  try {
    const res = await fetch(new URL(check.path, `${url}/`), {
      headers: idToken ? { authorization: `Bearer ${idToken}` } : {},
      redirect: 'manual',
      signal: AbortSignal.timeout(Math.max(1, timeoutMs)),
    });
    const body = await res.text();
    const ok = judge(check, res.status, body);
    const statusOk = judge({ ...check, bodyPattern: undefined }, res.status, body);
    return {
      ok,
      status: res.status,
      bodyExcerpt: body.trim().slice(0, 200),
      error: undefined,
      latencyMs: Date.now() - started,
      ...(statusOk && !ok
        ? { mismatch: `which does not match health_check_body ${String(check.bodyPattern)}` }
        : {}),
    };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return {
      ok: false,
      status: undefined,
      bodyExcerpt: '',
      error: cause ?? (err instanceof Error ? err.message : String(err)),
      latencyMs: Date.now() - started,
    };
  }
}

/** Probes until `successes` consecutive passes, or until the check's time limit or `stepDeadline`. */
export async function waitHealthy(
  url: string,
  check: HealthCheck,
  idToken: string | undefined,
  log: (line: string) => void,
  stepDeadline: Deadline,
): Promise<HealthResult> {
  const deadline = stepDeadline.within(check.timeoutSeconds * 1000);
  let streak = 0;
  let attempts = 0;
  let last: Probe | undefined;
  while (!deadline.expired()) {
    attempts++;
    last = await probeOnce(url, check, idToken, Math.min(PROBE_TIMEOUT_MS, deadline.remainingMs()));
    streak = last.ok ? streak + 1 : 0;
    log(
      `  ${check.path} → ${describeProbe(last)} ${last.ok ? `(pass ${streak}/${check.successes})` : '(fail)'}`,
    );
    if (streak >= check.successes) return { healthy: true, attempts, last };
    await new Promise((r) => setTimeout(r, Math.min(check.intervalMs, deadline.remainingMs())));
  }
  return { healthy: false, attempts, last };
}
