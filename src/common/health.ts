// HTTP health checks against a revision's tag URL or the service URL: a number of consecutive
// passes within a time limit, each pass judged by status and (optionally) a body pattern.
import { RunwayError } from '../errors.js';
import { Untrusted } from './untrusted.js';
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
  /** The start of the answer's body: the app's words, shown only through an escaper. */
  bodyExcerpt: Untrusted;
  /** Why no answer came (the network's code or message). */
  error: Untrusted | undefined;
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
  if (probe.error) return probe.error.oneLine(200);
  const excerpt = probe.bodyExcerpt.oneLine(200);
  const answer = `HTTP ${probe.status}${excerpt ? `: ${JSON.stringify(excerpt)}` : ''}`;
  return probe.mismatch ? `${answer}, ${probe.mismatch}` : answer;
}

/**
 * Whether `path` stays on the host it is resolved against. URL parsing reads `//host/x` and `/\\host`
 * as another host, and drops tabs and newlines (so `/\t/host` is `//host`), so a path may not start
 * with two slashes or hold a backslash, whitespace or a control character.
 */
export function isProbePath(path: string): boolean {
  if (!/^\/(?![/\\])[^\\\s\p{Cc}]*$/u.test(path)) return false;
  const base = 'https://service.invalid';
  try {
    return new URL(path, `${base}/`).origin === base;
  } catch {
    return false;
  }
}

/**
 * The URL a probe of `path` requests on `base` (a service or tag URL), asserted to be on `base`'s
 * own origin: the probe carries an ID token for the service, which must never reach another host.
 * A URL that cannot be checked is refused too.
 */
export function probeTarget(base: string, path: string): URL {
  let origin: string;
  let target: URL;
  try {
    origin = new URL(base).origin;
    target = new URL(path, `${base}/`);
  } catch {
    throw new ProbeTargetRefused(`no health check could be made: ${JSON.stringify(base)} is not a URL`);
  }
  if (origin === 'null' || !/^https?:$/.test(target.protocol))
    throw new ProbeTargetRefused(
      `no health check could be made on ${JSON.stringify(base)}: not an http(s) URL`,
    );
  if (target.origin !== origin)
    throw new ProbeTargetRefused(
      `health_check_path ${JSON.stringify(path)} leads to ${target.origin}, not to the service at ${origin}; Runway sent no request and no ID token there`,
    );
  return target;
}

/** The longest one probe waits for an answer. */
export const PROBE_TIMEOUT_MS = 10_000;
/** The least time a probe after the first is started with (see waitHealthy). */
const MIN_PROBE_MS = 250;

export async function probeOnce(
  url: string,
  check: HealthCheck,
  idToken: string | undefined,
  timeoutMs = PROBE_TIMEOUT_MS,
  transport: typeof fetch = fetch,
): Promise<Probe> {
  const target = probeTarget(url, check.path);
  const started = Date.now();
  try {
    const res = await transport(target, {
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
      bodyExcerpt: Untrusted.of(body.trim().slice(0, 200)),
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
      bodyExcerpt: Untrusted.of(''),
      error: Untrusted.of(cause ?? (err instanceof Error ? err.message : String(err))),
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
  transport: typeof fetch = fetch,
): Promise<HealthResult> {
  const deadline = stepDeadline.within(check.timeoutSeconds * 1000);
  let streak = 0;
  let attempts = 0;
  let last: Probe | undefined;
  // A probe needs time to be answered: after the first, none starts with less than MIN_PROBE_MS of
  // the check left, or its abort (not the app) would be the verdict ("aborted due to timeout"
  // where the app had answered with a wrong body every time).
  while (!deadline.expired() && (attempts === 0 || deadline.remainingMs() >= MIN_PROBE_MS)) {
    attempts++;
    last = await probeOnce(
      url,
      check,
      idToken,
      Math.min(PROBE_TIMEOUT_MS, deadline.remainingMs()),
      transport,
    );
    streak = last.ok ? streak + 1 : 0;
    log(
      `  ${check.path} → ${describeProbe(last)} ${last.ok ? `(pass ${streak}/${check.successes})` : '(fail)'}`,
    );
    if (streak >= check.successes) return { healthy: true, attempts, last };
    await new Promise((r) => setTimeout(r, Math.min(check.intervalMs, deadline.remainingMs())));
  }
  return { healthy: false, attempts, last };
}

/** A health check that did not pass (or could not be made); `result` holds its probes when it ran. */
export class HealthCheckFailed extends RunwayError {
  readonly result: HealthResult | undefined;
  constructor(message: string, result?: HealthResult) {
    super(message);
    this.name = 'HealthCheckFailed';
    this.result = result;
  }
}

/**
 * A probe that was not sent because its URL was not on the service's (or tag's) own origin, or could
 * not be checked: the health check fails closed, and its ID token stays unsent.
 */
export class ProbeTargetRefused extends HealthCheckFailed {
  constructor(message: string) {
    super(`The health check was refused: ${message}.`);
    this.name = 'ProbeTargetRefused';
  }
}

/** A failed progressive-delivery gate is a failed health check: `rollback: false` leaves traffic where the step put it. */
export class StepGateFailed extends HealthCheckFailed {
  constructor(message: string) {
    super(message);
    this.name = 'StepGateFailed';
  }
}

/** What one traffic step's probes measured, and whether the gates passed. */
export interface StepVerdict {
  requests: number;
  /** Failed probes, in percent of `requests`. */
  errorRate: number;
  p95Ms: number | undefined;
  passed: boolean;
  /** Each distinct way a probe failed, with how often ("HTTP 503: …" ×2), at most five. */
  failedProbes: string[];
}

/** The 95th percentile (nearest rank) of `values`; undefined when there are none. */
export function p95(values: number[]): number | undefined {
  if (!values.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length * 0.95) - 1];
}

/** The failed probes, described and counted, so a gate's verdict says what the failures were. */
function describeFailures(probes: Probe[]): string[] {
  const counts = new Map<string, number>();
  for (const p of probes) if (!p.ok) counts.set(describeProbe(p), (counts.get(describeProbe(p)) ?? 0) + 1);
  return [...counts].slice(0, 5).map(([what, n]) => (n > 1 ? `${what} ×${n}` : what));
}

/** A step's verdict from its probes: what failed, or undefined when every gate passed. */
export function judgeStep(
  probes: Probe[],
  gates: { maxErrorRate: number; maxLatencyMs: number | undefined },
): { verdict: StepVerdict; failure: string | undefined } {
  const failed = probes.filter((p) => !p.ok).length;
  const errorRate = probes.length ? (failed * 100) / probes.length : 100;
  const latency = p95(probes.filter((p) => p.ok).map((p) => p.latencyMs));
  const failures: string[] = [];
  if (!probes.length) failures.push('no probe could be made');
  else if (errorRate > gates.maxErrorRate)
    failures.push(
      `${failed} of ${probes.length} probes failed (${errorRate.toFixed(1)}% > max_error_rate ${gates.maxErrorRate}%)`,
    );
  if (gates.maxLatencyMs !== undefined && (latency === undefined || latency > gates.maxLatencyMs))
    failures.push(`p95 latency ${latency ?? '—'} ms > max_latency ${gates.maxLatencyMs} ms`);
  return {
    verdict: {
      requests: probes.length,
      errorRate,
      p95Ms: latency,
      passed: !failures.length,
      failedProbes: describeFailures(probes),
    },
    failure: failures.length ? failures.join('; ') : undefined,
  };
}
