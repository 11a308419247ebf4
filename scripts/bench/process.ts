// 7 and 8: the bundle's cold start (spawn to its first API call, less a bare `node -e 0`) and the
// peak memory of a three-region deploy with a build, beside deploy-cloudrun's.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appContext } from '../../__tests__/helpers/app-context.js';
import { deleteService } from '../../__tests__/helpers/cloudrun.js';
import { emulatorEnv, env } from '../../__tests__/helpers/emulator.js';
import { authInputs } from '../../__tests__/helpers/action.js';
import { fresh, root, runPeerTimed, runRunway, stats, type Stats } from './harness.js';
import { REGIONS } from './verification.js';
import { bundleBytes, bundlesToCompare } from './bundles.js';

const node = join(root, 'node_modules/.bin/node');

export interface ColdStartResults {
  bareNode: Stats;
  firstCall: Stats;
  /** firstCall less bareNode's median. */
  bundle: Stats;
  /** Bundles side by side (bundles.ts): to the OIDC request, and on to the STS exchange. */
  bundles?: Array<{ label: string; bytes: number; firstCall: Stats; sts: Stats }>;
}

/**
 * ms from spawning `node BUNDLE_DIR/index.js` to its request for the job's OIDC token (its first call),
 * or, with `until: 'sts'`, to its token exchange with STS: the OIDC token then comes from the
 * emulator, and the time includes loading what signing in needs (google-auth-library, its fetch).
 */
async function untilFirstCall(
  bundleDir = join(root, 'dist'),
  until: 'oidc' | 'sts' = 'oidc',
): Promise<number> {
  let started = 0;
  let child: ReturnType<typeof spawn> | undefined;
  const arrived = new Promise<number>((done) => {
    const server = createServer((_req, res) => {
      const at = performance.now();
      res.writeHead(503).end();
      child?.kill('SIGKILL');
      server.close();
      done(at);
    });
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      const dir = mkdtempSync(join(tmpdir(), 'runway-bench-cold-'));
      const vars: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        ...emulatorEnv(),
        ...(until === 'oidc'
          ? { ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${port}/token?x=1` }
          : { CLOUDSDK_API_ENDPOINT_OVERRIDES_STS: `http://127.0.0.1:${port}/` }),
        GITHUB_OUTPUT: join(dir, 'output'),
        GITHUB_STEP_SUMMARY: join(dir, 'summary'),
        RUNNER_TEMP: dir,
      };
      const inputs = { ...authInputs(), service: 'bench-cold', image: 'us-docker.pkg.dev/p/r/app:1' };
      for (const [k, v] of Object.entries(inputs)) vars[`INPUT_${k.toUpperCase()}`] = v;
      started = performance.now();
      child = spawn(node, [join(bundleDir, 'index.js')], { env: vars, stdio: 'ignore' });
    });
  });
  return (await arrived) - started;
}

async function bareNode(): Promise<number> {
  const started = performance.now();
  const child = spawn(node, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((done) => child.on('close', done));
  return performance.now() - started;
}

export async function measureColdStart(runs: number): Promise<ColdStartResults> {
  const bare: number[] = [];
  const first: number[] = [];
  for (let i = 0; i < runs; i++) {
    bare.push(await bareNode());
    first.push(await untilFirstCall());
  }
  const baseline = stats(bare).median;
  // Each bundle in turn, run after run (A B C A B C …), so drift on the machine hits them alike.
  const bundles = bundlesToCompare();
  const times = bundles.map(() => ({ firstCall: [] as number[], sts: [] as number[] }));
  for (let i = 0; i < runs; i++)
    for (const [b, bundle] of bundles.entries()) {
      times[b]!.firstCall.push(await untilFirstCall(bundle.dir, 'oidc'));
      times[b]!.sts.push(await untilFirstCall(bundle.dir, 'sts'));
    }
  return {
    bareNode: stats(bare),
    firstCall: stats(first),
    bundle: stats(first.map((ms) => ms - baseline)),
    bundles: bundles.map((bundle, b) => ({
      label: bundle.label,
      bytes: bundleBytes(bundle.dir),
      firstCall: stats(times[b]!.firstCall),
      sts: stats(times[b]!.sts),
    })),
  };
}

export interface MemoryResults {
  /** KiB: the largest process of a Runway run (the action, or docker's CLI during the build). */
  runway: Stats;
  peer: Stats;
}

export async function measureMemory(image: string, runs: number): Promise<MemoryResults> {
  const service = fresh('bench-mem');
  const peerService = fresh('bench-mem-p');
  const runway: number[] = [];
  const peer: number[] = [];
  for (let i = 0; i < runs; i++) {
    const built = await runRunway(
      {
        service,
        context: appContext(`memory ${i}`),
        repository: env('RUNWAY_EMULATOR_REPOSITORY'),
        region: REGIONS.join(','),
      },
      { rss: true },
    );
    runway.push(built.peakRssKiB ?? NaN);
    const theirs = await runPeerTimed({ service: peerService, image, env_vars: `RUN=${i}` }, { rss: true });
    peer.push(theirs.peakRssKiB ?? NaN);
  }
  for (const region of REGIONS) await deleteService(service, region);
  await deleteService(peerService);
  return { runway: stats(runway), peer: stats(peer) };
}
