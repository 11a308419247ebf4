// End to end, progressive delivery (issue 10): traffic_steps moves the new revision through each
// share, measured by Runway's own probes; the first failed gate puts back the exact earlier split.
// A load generator runs through both, and no request may fail.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { deployImage, errorOf, expectSuccess } from '../helpers/action.js';
import { getService, serveBrokenRevision, servingSplit } from '../helpers/cloudrun.js';
import { pushTestImage } from '../helpers/images.js';
import { underLoad } from '../helpers/load.js';

let stable: string;
let next: string;
let degrading: string;

beforeAll(async () => {
  [stable, next, degrading] = await Promise.all([
    pushTestImage('steps-stable', 'stable'),
    pushTestImage('steps-next', 'next'),
    // Healthy for its first 3 checks (the 2 on its tag, and one more), failing from then on.
    pushTestImage('steps-degrading', 'degrading', { flakyPasses: 3 }),
  ]);
});

const candidateTags = (s: Awaited<ReturnType<typeof getService>>): string[] =>
  (s?.traffic ?? []).map((t) => t.tag ?? '').filter((t) => /^rw-|^r[a-z0-9]{1,12}$/.test(t));

describe('traffic_steps', () => {
  it('moves the new revision through each step, measures each, and ends on 100% with no request lost', async () => {
    const first = await deployImage('e2e-steps-ok', stable, { comment: 'never' });
    expectSuccess(first);
    const { result: run, load: result } = await underLoad('canary sequence', first.outputs.url!, () =>
      deployImage('e2e-steps-ok', next, {
        comment: 'never',
        traffic_steps: '30,100',
        step_wait: '3s',
        max_error_rate: '0',
      }),
    );
    expectSuccess(run);
    expect(result.failed).toBe(0);
    expect(result.bodies.get('stable')).toBeGreaterThan(0);
    expect(result.bodies.get('next')).toBeGreaterThan(0);
    expect(run.summary).toMatch(/\| us-central1 \| 30% \| \d+ \| 0\.0% \| \d+ ms \| ✅ passed \|/);
    expect(run.summary).toMatch(/\| us-central1 \| 100% \| \d+ \| 0\.0% \| \d+ ms \| ✅ passed \|/);
    expect(run.summary).toMatch(/\| us-central1: step 30% \| \d+\.\d s \|/);
    const live = await getService('e2e-steps-ok');
    expect(servingSplit(live!)).toEqual({ [run.outputs.revision!]: 100 });
    expect(candidateTags(live)).toEqual([]);
  });

  it('rolls back to the exact earlier split at the first failed gate, losing no request', async () => {
    const first = await deployImage('e2e-steps-gate', stable, { comment: 'never' });
    expectSuccess(first);
    const { result: run, load: result } = await underLoad('rollback at a step', first.outputs.url!, () =>
      deployImage('e2e-steps-gate', degrading, {
        comment: 'never',
        traffic_steps: '40,100',
        step_wait: '3s',
        health_check_path: '/cgi-bin/flaky',
        health_check_successes: '2',
      }),
    );
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toMatch(
      /failed the 40% step: \d+ of \d+ probes failed \([\d.]+% > max_error_rate 0%\)/,
    );
    expect(errorOf(run)).toContain('Rolled back');
    // The load asks for '/', which the degrading revision still answers: no request is lost.
    expect(result.failed).toBe(0);
    const live = await getService('e2e-steps-gate');
    expect(servingSplit(live!)).toEqual({ [first.outputs.revision!]: 100 });
    expect(candidateTags(live)).toEqual([]);
    expect(run.summary).toMatch(/\| us-central1 \| 40% \| \d+ \| [\d.]+% \| (\d+ ms|—) \| ❌ failed \|/);
  });

  it('asks gate_url before each step, signed; a refusal stops and rolls back', async () => {
    const secret = 'gate-secret-0123456789abcdef';
    const asked: Array<{ percent: number; verified: boolean }> = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let verified = true;
        try {
          new Webhook(Buffer.from(secret).toString('base64')).verify(
            body,
            req.headers as Record<string, string>,
          );
        } catch {
          verified = false;
        }
        const { percent } = JSON.parse(body) as { percent: number };
        asked.push({ percent, verified });
        res.writeHead(verified && percent < 100 ? 200 : 403);
        res.end();
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const gate = `http://127.0.0.1:${(server.address() as AddressInfo).port}/confirm`;
    try {
      const first = await deployImage('e2e-steps-confirm', stable, { comment: 'never' });
      expectSuccess(first);
      const run = await deployImage('e2e-steps-confirm', next, {
        comment: 'never',
        traffic_steps: '20,100',
        step_wait: '2s',
        gate_url: gate,
        webhook_secret: secret,
      });
      expect(run.exitCode).toBe(1);
      expect(asked).toEqual([
        { percent: 20, verified: true },
        { percent: 100, verified: true },
      ]);
      expect(errorOf(run)).toContain("Input 'gate_url' did not approve the 100% step");
      const live = await getService('e2e-steps-confirm');
      expect(servingSplit(live!)).toEqual({ [first.outputs.revision!]: 100 });
      expect(candidateTags(live)).toEqual([]);
    } finally {
      await new Promise((done) => server.close(done));
    }
  });

  it('with regions_fail: all, regions take each step together: one failing stops them all before they move', async () => {
    const regions = 'us-central1,europe-west1';
    const first = await deployImage('e2e-steps-regions', stable, { comment: 'never', region: regions });
    expectSuccess(first);
    // europe-west1 now serves a hand-made revision with BROKEN set: the next one there inherits it.
    await serveBrokenRevision('e2e-steps-regions', 'europe-west1');
    const before = {
      us: servingSplit((await getService('e2e-steps-regions', 'us-central1'))!),
      eu: servingSplit((await getService('e2e-steps-regions', 'europe-west1'))!),
    };
    const run = await deployImage('e2e-steps-regions', next, {
      comment: 'never',
      region: regions,
      traffic_steps: '30,100',
      step_wait: '2s',
      health_check_path: '/cgi-bin/health',
    });
    expect(run.exitCode).toBe(1);
    const outcome = JSON.parse(run.outputs.regions!) as Record<string, { healthy: boolean }>;
    expect(outcome['us-central1']!.healthy).toBe(false);
    expect(run.stdout).toContain(
      'europe-west1 failed, and with `regions_fail: all` the regions take each step together',
    );
    expect(run.summary).not.toMatch(/\| us-central1 \| 30% \|/);
    expect(servingSplit((await getService('e2e-steps-regions', 'us-central1'))!)).toEqual(before.us);
    expect(servingSplit((await getService('e2e-steps-regions', 'europe-west1'))!)).toEqual(before.eu);
  });
});
