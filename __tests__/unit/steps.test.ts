// Progressive delivery, pure: the split of each step, the p95, the gates' verdict, and the inputs.
import { StepBarrier } from '../../src/common/barrier.js';
import { judgeStep, p95 } from '../../src/common/health.js';
import { stepSplit } from '../../src/deploy/traffic.js';
import { readSettings } from '../../src/inputs/inputs.js';
import type { Probe } from '../../src/common/health.js';
import type { TrafficTarget } from '../../src/gcp/run-types.js';
import { Untrusted } from '../../src/common/untrusted.js';

const rev = (revision: string, percent: number, tag?: string): TrafficTarget => ({
  type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION',
  revision,
  percent,
  ...(tag ? { tag } : {}),
});

describe('stepSplit', () => {
  it('gives the candidate its share and the rest to what served, in proportion, adding to 100', () => {
    const live = [rev('a', 100), rev('a', 0, 'blue'), rev('new', 0, 'rw-1-1-abc')];
    expect(stepSplit([rev('a', 100), rev('a', 0, 'blue')], 'new', 5, live)).toEqual([
      rev('new', 5),
      rev('a', 95),
      rev('a', 0, 'blue'),
      rev('new', 0, 'rw-1-1-abc'),
    ]);
    const split = stepSplit([rev('a', 67), rev('b', 33)], 'new', 25, []);
    expect(split.reduce((s, t) => s + (t.percent ?? 0), 0)).toBe(100);
    expect(split).toEqual([rev('new', 25), rev('a', 50), rev('b', 25)]);
    expect(stepSplit([rev('a', 100)], 'new', 100, [])).toEqual([rev('new', 100)]);
  });
});

describe('the gates of a step', () => {
  const probe = (ok: boolean, latencyMs: number): Probe => ({
    ok,
    status: ok ? 200 : 500,
    bodyExcerpt: Untrusted.of(''),
    error: undefined,
    latencyMs,
  });
  it('p95 is the nearest-rank 95th percentile', () => {
    expect(p95(Array.from({ length: 100 }, (_, i) => i + 1))).toBe(95);
    expect(p95([7])).toBe(7);
    expect(p95([])).toBeUndefined();
  });
  it('pass when failures and latency stay within the gates', () => {
    const probes = [...Array.from({ length: 99 }, () => probe(true, 10)), probe(false, 5)];
    expect(judgeStep(probes, { maxErrorRate: 1, maxLatencyMs: 20 })).toEqual({
      verdict: { requests: 100, errorRate: 1, p95Ms: 10, passed: true, failedProbes: ['HTTP 500'] },
      failure: undefined,
    });
  });
  it('fail on too many failed probes, on latency, and when no probe was made', () => {
    const probes = [probe(true, 10), probe(false, 5)];
    expect(judgeStep(probes, { maxErrorRate: 0, maxLatencyMs: undefined }).failure).toMatch(
      /1 of 2 probes failed \(50\.0% > max_error_rate 0%\)/,
    );
    expect(judgeStep([probe(true, 900)], { maxErrorRate: 0, maxLatencyMs: 500 }).failure).toBe(
      'p95 latency 900 ms > max_latency 500 ms',
    );
    expect(judgeStep([], { maxErrorRate: 100, maxLatencyMs: undefined }).failure).toBe(
      'no probe could be made',
    );
  });
});

describe('traffic_steps inputs', () => {
  const read =
    (inputs: Record<string, string>) =>
    (name: string): string =>
      ({ service: 'svc', image: 'us-docker.pkg.dev/p/r/i:1', ...inputs })[name] ?? '';
  it('reads ascending steps ending at 100, the wait and the gates', () => {
    expect(
      readSettings(
        read({ traffic_steps: '5, 25%,50,100', step_wait: '1m', max_error_rate: '0.5%', max_latency: '2s' }),
      ).progressive,
    ).toEqual({ steps: [5, 25, 50, 100], waitSeconds: 60, maxErrorRate: 0.5, maxLatencyMs: 2000 });
  });
  it.each([
    [{ traffic_steps: '50,25,100' }, 'traffic_steps'],
    [{ traffic_steps: '5,50' }, 'traffic_steps'],
    [{ traffic_steps: '5,100', traffic: 'immediate' }, 'traffic_steps'],
    [{ traffic_steps: '5,100', revision_traffic: 'LATEST=100' }, 'traffic_steps'],
    [{ step_wait: '30s' }, 'step_wait'],
    [{ gate_url: 'https://example.com/confirm' }, 'gate_url'],
    [{ traffic_steps: '5,100', gate_url: 'http://example.com/confirm' }, 'gate_url'],
    [{ traffic_steps: '5,100', max_error_rate: '101' }, 'max_error_rate'],
    [{ traffic_steps: '5,100', max_latency: 'fast' }, 'max_latency'],
  ])('refuses %j, naming %s', (inputs, name) => {
    expect(() => readSettings(read(inputs as Record<string, string>))).toThrow(`Input '${name}'`);
  });
});

describe('StepBarrier (regions_fail: all with traffic_steps)', () => {
  const settled = async (p: Promise<void>): Promise<string> => {
    const state = await Promise.race([
      p.then(
        () => 'passed',
        (e: Error) => `failed: ${e.message}`,
      ),
      new Promise<string>((r) => setTimeout(() => r('waiting'), 20)),
    ]);
    return state;
  };
  it('lets a step go only once every region has reached it', async () => {
    const barrier = new StepBarrier(['a', 'b']);
    const a = barrier.arrive('a', 30);
    expect(await settled(a)).toBe('waiting');
    const b = barrier.arrive('b', 30);
    expect(await settled(a)).toBe('passed');
    expect(await settled(b)).toBe('passed');
  });
  it('stops every region waiting, or arriving later, once one fails', async () => {
    const barrier = new StepBarrier(['a', 'b', 'c']);
    const a = barrier.arrive('a', 30);
    barrier.fail('b');
    expect(await settled(a)).toMatch(/failed: b failed, and with `regions_fail: all`/);
    expect(await settled(barrier.arrive('c', 30))).toMatch(/failed: b failed/);
  });
  it('does not wait for a region that takes no steps', async () => {
    const barrier = new StepBarrier(['a', 'b']);
    const a = barrier.arrive('a', 30);
    barrier.leave('b');
    expect(await settled(a)).toBe('passed');
  });
});
