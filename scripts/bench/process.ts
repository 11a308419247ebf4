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

const node = join(root, 'node_modules/.bin/node');

export interface ColdStartResults {
  bareNode: Stats;
  firstCall: Stats;
  /** firstCall less bareNode's median. */
  bundle: Stats;
}

/** ms from spawning `node dist/index.js` to the request for the job's OIDC token (its first call). */
async function untilFirstCall(): Promise<number> {
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
        ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${port}/token?x=1`,
        GITHUB_OUTPUT: join(dir, 'output'),
        GITHUB_STEP_SUMMARY: join(dir, 'summary'),
        RUNNER_TEMP: dir,
      };
      const inputs = { ...authInputs(), service: 'bench-cold', image: 'us-docker.pkg.dev/p/r/app:1' };
      for (const [k, v] of Object.entries(inputs)) vars[`INPUT_${k.toUpperCase()}`] = v;
      started = performance.now();
      child = spawn(node, [join(root, 'dist/index.js')], { env: vars, stdio: 'ignore' });
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
  return { bareNode: stats(bare), firstCall: stats(first), bundle: stats(first.map((ms) => ms - baseline)) };
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
