// Phase 5 with `traffic_steps`, progressive delivery: the candidate takes each share in turn, held
// for `step_wait` while Runway's own probes measure it on its tag URL, and each step must pass its
// gates (failed share ≤ max_error_rate, p95 ≤ max_latency) before the next. The undo is the
// candidate's: the first failed gate puts back the exact split that served before.
import type { Service, TrafficTarget } from '../gcp/run-types.js';
import { applyTraffic } from '../deploy/apply.js';
import { servingSplit } from '../deploy/traffic.js';
import { remember, type Rollout, type StepRecord } from './context.js';
import { probeOnce, type Probe } from './health.js';
import type { RolloutPlan } from './plan.js';
import type { Timeline } from './timeline.js';
import { HealthCheckFailed } from './verify.js';
import { deliverWebhook } from '../report/webhooks.js';

/** How often a traffic step probes the new revision: once a second, whatever health_check_interval says. */
const STEP_PROBE_INTERVAL_MS = 1000;
const REVISION = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION';

/**
 * The split for one step: `percent` to the candidate, the rest to what served before, in the same
 * proportions (largest remainder, so whole percentages add up to 100). Every tag `current` carries
 * (the candidate's own, which the probes use, included) rides along at 0%.
 */
export function stepSplit(
  before: TrafficTarget[],
  candidate: string,
  percent: number,
  current: TrafficTarget[],
): TrafficTarget[] {
  const weighted = before.filter((t) => (t.percent ?? 0) > 0 && t.revision !== candidate);
  const total = weighted.reduce((sum, t) => sum + (t.percent ?? 0), 0);
  const rest = 100 - percent;
  const exact = weighted.map((t) => ((t.percent ?? 0) * rest) / (total || 1));
  const shares = exact.map(Math.floor);
  let left = rest - shares.reduce((a, b) => a + b, 0);
  for (const i of exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0])) {
    if (left-- <= 0) break;
    shares[i[1]]!++;
  }
  const byRevision = new Map<string, number>();
  weighted.forEach((t, i) => byRevision.set(t.revision!, (byRevision.get(t.revision!) ?? 0) + shares[i]!));
  const tags = current.filter((t) => t.tag).map((t) => ({ ...t, percent: 0 }));
  return [
    { type: REVISION, revision: candidate, percent },
    ...[...byRevision]
      .filter(([, p]) => p > 0)
      .map(([revision, p]) => ({ type: REVISION, revision, percent: p }) as TrafficTarget),
    ...tags,
  ] as TrafficTarget[];
}

/** The 95th percentile (nearest rank) of `values`; undefined when there are none. */
export function p95(values: number[]): number | undefined {
  if (!values.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length * 0.95) - 1];
}

/** A step's verdict from its probes: what failed, or undefined when every gate passed. */
export function judgeStep(
  probes: Probe[],
  gates: { maxErrorRate: number; maxLatencyMs: number | undefined },
): { record: Omit<StepRecord, 'percent'>; failure: string | undefined } {
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
    record: { requests: probes.length, errorRate, p95Ms: latency, passed: !failures.length },
    failure: failures.length ? failures.join('; ') : undefined,
  };
}

/** A failed gate is a failed health check: `rollback: false` leaves traffic where the step put it. */
export class StepGateFailed extends HealthCheckFailed {}

/** Probes `url` every health-check interval for `seconds` (within the deploy's deadline). */
async function measure(
  r: Rollout,
  url: string,
  token: string | undefined,
  seconds: number,
): Promise<Probe[]> {
  const { healthCheck, deadline } = r.settings;
  const window = deadline.within(seconds * 1000);
  const probes: Probe[] = [];
  while (!window.expired()) {
    probes.push(await probeOnce(url, healthCheck, token, Math.min(10_000, window.remainingMs())));
    await new Promise((done) => setTimeout(done, Math.min(STEP_PROBE_INTERVAL_MS, window.remainingMs())));
  }
  return probes;
}

/** `gate_url`'s consent to a step: the receiver must answer 2xx; no answer is a no. */
async function askGate(r: Rollout, plan: RolloutPlan, percent: number): Promise<void> {
  const gate = r.settings.progressive?.gate;
  if (!gate) return;
  const delivery = await deliverWebhook(
    gate.url,
    {
      type: 'runway.step',
      service: r.ref.service,
      project: r.ref.project,
      region: r.ref.region,
      revision: plan.revision,
      percent,
      steps: r.settings.progressive!.steps,
      measured: r.steps,
    },
    gate,
  );
  r.deps.log(`  gate ${delivery.url}: ${delivery.result} (${delivery.id})`);
  if (!delivery.delivered)
    throw new StepGateFailed(
      `Input 'gate_url' did not approve the ${percent}% step for revision ${plan.revision} (${delivery.result}).`,
    );
}

/**
 * `regions_fail: all` with `traffic_steps`: the regions take each step together. A region waits at
 * each step until every region has reached it; once any region fails, every region waiting (or
 * arriving later) fails too, so their undos run and no region moves on alone.
 */
export class StepBarrier {
  private readonly arrived = new Map<number, Set<string>>();
  private readonly waiting = new Map<number, Array<{ resolve: () => void; reject: (e: Error) => void }>>();
  private failure: string | undefined;

  private readonly expected: Set<string>;

  constructor(regions: string[]) {
    this.expected = new Set(regions);
  }

  arrive(region: string, percent: number): Promise<void> {
    if (this.failure) return Promise.reject(this.stopped());
    const here = this.arrived.get(percent) ?? new Set<string>();
    here.add(region);
    this.arrived.set(percent, here);
    const waited = new Promise<void>((resolve, reject) => {
      this.waiting.set(percent, [...(this.waiting.get(percent) ?? []), { resolve, reject }]);
    });
    this.release();
    return waited;
  }

  /** `region` takes no (more) steps — it creates the service there, or is done: nobody waits for it. */
  leave(region: string): void {
    this.expected.delete(region);
    this.release();
  }

  /** `region` failed: nobody steps further. */
  fail(region: string): void {
    if (this.failure) return;
    this.failure = region;
    for (const list of this.waiting.values()) for (const w of list) w.reject(this.stopped());
    this.waiting.clear();
  }

  /** Lets every step go that all the regions still expected have reached. */
  private release(): void {
    for (const [percent, list] of this.waiting) {
      const here = this.arrived.get(percent)!;
      if ([...this.expected].every((region) => here.has(region))) {
        for (const w of list) w.resolve();
        this.waiting.delete(percent);
      }
    }
  }

  private stopped(): StepGateFailed {
    return new StepGateFailed(
      `${this.failure} failed, and with \`regions_fail: all\` the regions take each step together.`,
    );
  }
}

export async function stepTraffic(
  r: Rollout,
  plan: RolloutPlan,
  tagUrl: string,
  token: string | undefined,
  timeline: Timeline,
): Promise<Service> {
  const progressive = r.settings.progressive!;
  let service: Service | undefined;
  for (const percent of progressive.steps) {
    service = await timeline.time(`step ${percent}%`, async () => {
      r.settings.deadline.check(`before moving ${percent}% to ${plan.revision}`);
      await r.settings.stepsTogether?.arrive(r.ref.region, percent);
      await askGate(r, plan, percent);
      r.deps.log(`step: ${percent}% to ${plan.revision}, held ${progressive.waitSeconds}s`);
      const { service: moved } = await applyTraffic(
        r.deps.client,
        r.ref,
        (live) => stepSplit(plan.servedBefore!, plan.revision, percent, live.traffic ?? []),
        r.settings.deadline,
        remember(r),
      );
      const serving = servingSplit(moved!)[plan.revision] ?? 0;
      if (serving !== percent) {
        throw new StepGateFailed(
          `Revision ${plan.revision} serves ${serving}% of ${r.where}, not the ${percent}% of this step (someone else changed the traffic).`,
        );
      }
      const probes = await measure(r, tagUrl, token, progressive.waitSeconds);
      const { record, failure } = judgeStep(probes, progressive);
      r.steps.push({ percent, ...record });
      r.deps.log(
        `  ${percent}%: ${record.requests} probes, ${record.errorRate.toFixed(1)}% failed, p95 ${record.p95Ms ?? '—'} ms → ${failure ? 'failed' : 'passed'}`,
      );
      if (failure)
        throw new StepGateFailed(`Revision ${plan.revision} failed the ${percent}% step: ${failure}.`);
      return moved!;
    });
  }
  return service!;
}
