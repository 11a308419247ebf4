// A traffic step's probes against a healthy revision on a real local HTTP server: the step's hold
// (step_wait) decides when probes start, never how long one may take. A probe started just before
// the hold ends must get the whole probe timeout, or a healthy revision fails a step (and is rolled
// back) for a probe that was never given the time to be answered.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Deadline } from '../../src/common/deadline.js';
import { waitHealthy, type HealthCheck } from '../../src/common/health.js';
import { measureStep } from '../../src/rollout/checks.js';

/** A healthy revision: answers every request with 200, the Nth after `latenciesMs[N]` (or the last). */
async function healthyRevision(
  ...latenciesMs: number[]
): Promise<{ url: string; close: () => Promise<void> }> {
  let n = 0;
  const pending = new Set<NodeJS.Timeout>();
  const server = http.createServer((_req, res) => {
    const latency = latenciesMs[Math.min(n++, latenciesMs.length - 1)]!;
    const timer = setTimeout(() => {
      pending.delete(timer);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
    }, latency);
    pending.add(timer);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((done) => {
        for (const timer of pending) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

const check: HealthCheck = {
  path: '/health',
  expectedStatus: [[200, 299]],
  bodyPattern: undefined,
  timeoutSeconds: 20,
  successes: 2,
  intervalMs: 500,
};

const settings = (deployTimeoutSeconds = 600) => ({
  healthCheck: check,
  deadline: Deadline.in(deployTimeoutSeconds),
});

describe("a traffic step's probes", () => {
  it('give a probe started just before the hold ends the whole probe timeout', async () => {
    // Answers in 1.5 s: longer than the 1 s hold, far within the 10 s probe timeout.
    const revision = await healthyRevision(1500);
    try {
      const probes = await measureStep(settings(), revision.url, undefined, 1);
      expect(probes.map((p) => (p.ok ? 'ok' : (p.error ?? p.status)))).toEqual(['ok']);
    } finally {
      await revision.close();
    }
  });

  it('give the last probe of a hold the whole probe timeout, however little of the hold is left', async () => {
    // A 1.2 s hold probed once a second: the second probe starts about 0.2 s before the hold ends
    // and is answered in 0.4 s. (In the end-to-end runs that failed, the last probe had 0-1 ms left:
    // Node's timers run on the event loop's millisecond clock, the hold on Date.now(), so the sleep
    // to the hold's end can finish a millisecond before Date.now() reaches it: one more probe starts.)
    const revision = await healthyRevision(10, 400);
    try {
      const probes = await measureStep(settings(), revision.url, undefined, 1.2);
      // Two probes on a quiet machine; on a loaded one the first answer may come late enough that
      // the second never starts. Whatever ran must have had its whole timeout: every probe passes.
      expect(probes.length).toBeGreaterThanOrEqual(1);
      expect(probes.map((p) => (p.ok ? 'ok' : (p.error ?? p.status)))).toEqual(probes.map(() => 'ok'));
    } finally {
      await revision.close();
    }
  });

  it("still stop at deploy_timeout: a probe may not outlast the deploy's deadline", async () => {
    const revision = await healthyRevision(3000);
    try {
      const probes = await measureStep(settings(1), revision.url, undefined, 5);
      expect(probes).toHaveLength(1);
      expect(probes[0]).toMatchObject({ ok: false, status: undefined });
      expect(probes[0]!.error?.raw()).toMatch(/aborted due to timeout/);
    } finally {
      await revision.close();
    }
  });
});

it("starts no probe the check could not give time to be answered: the verdict is the app's answer", async () => {
  // Every answer has the wrong body and takes 100 ms; probes every 10 ms within a 1 s check. A
  // last probe started with a few milliseconds left would be aborted, and its abort, not the wrong
  // body, would be the verdict (the fault matrix's health_check_body row, under load).
  const server = await healthyRevision(100);
  try {
    const check: HealthCheck = {
      path: '/',
      expectedStatus: [[200, 299]],
      bodyPattern: /^ready$/,
      timeoutSeconds: 1,
      successes: 1,
      intervalMs: 10,
    };
    const result = await waitHealthy(server.url, check, undefined, () => undefined, Deadline.in(30));
    expect(result.healthy).toBe(false);
    expect(result.last?.error).toBeUndefined();
    expect(result.last?.mismatch).toBeDefined();
  } finally {
    await server.close();
  }
});
