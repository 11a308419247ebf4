// What every benchmark needs: the emulator with its env file in RUNWAY_EMULATOR_ENV_FILE (so the
// test helpers work here too), timed runs of Runway's bundle and of the peer, the emulator's request
// log for a run's time window, and min/median/max.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { admin, type RequestRecord } from '../../__tests__/helpers/emulator.js';
import { authInputs, parseOutputFile, stepEnvironment } from '../../__tests__/helpers/action.js';
import { runPeer, type PeerRun } from '../../__tests__/helpers/peer.js';

export const root = resolve(import.meta.dirname, '..', '..');
const node = join(root, 'node_modules/.bin/node');

export interface Stats {
  min: number;
  median: number;
  max: number;
  runs: number[];
}

export function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    min: sorted[0]!,
    median: sorted[Math.floor((sorted.length - 1) / 2)]!,
    max: sorted.at(-1)!,
    runs: values,
  };
}

export async function startEmulator(): Promise<() => void> {
  const envFile = join(mkdtempSync(join(tmpdir(), 'runway-bench-')), 'emulator.env');
  const child = spawn('bash', [join(root, 'scripts/emulator.sh'), '--env-file', envFile], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 900 && !existsSync(envFile); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(envFile)) throw new Error('the emulator did not start within 90 s');
  process.env.RUNWAY_EMULATOR_ENV_FILE = envFile;
  return () => child.kill('SIGTERM');
}

export interface TimedRun {
  ms: number;
  /** Epoch ms the process was started and ended: its window in the emulator's request log. */
  started: number;
  ended: number;
  exitCode: number;
  log: string;
  outputs: Record<string, string>;
  summary: string;
  /** Peak RSS in KiB of the largest process of the run (the action, gcloud, docker), when measured. */
  peakRssKiB: number | undefined;
}

// getrusage(RUSAGE_CHILDREN) after the wait: the largest resident set any waited-for descendant had.
const RSS_WRAPPER =
  'import resource,subprocess,sys\n' +
  'code=subprocess.call(sys.argv[2:])\n' +
  'open(sys.argv[1],"w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n' +
  'sys.exit(code)';

/** A command prefix that records the peak RSS of what it runs, and how to read it afterwards. */
export function rssLauncher(): { launcher: string[]; peakKiB: () => number | undefined } {
  const file = join(mkdtempSync(join(tmpdir(), 'runway-bench-rss-')), 'rss');
  return {
    launcher: ['python3', '-c', RSS_WRAPPER, file],
    peakKiB: () => (existsSync(file) ? Number(readFileSync(file, 'utf8')) : undefined),
  };
}

/** Runs `args` with `env`, optionally under the RSS wrapper, and times it from spawn to exit. */
async function timed(
  args: string[],
  env: Record<string, string>,
  cwd: string,
  measureRss: boolean,
): Promise<Omit<TimedRun, 'outputs' | 'summary'>> {
  const rss = measureRss ? rssLauncher() : undefined;
  const command = [...(rss?.launcher ?? []), ...args];
  const started = Date.now();
  const t0 = performance.now();
  const child = spawn(command[0]!, command.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exitCode = await new Promise<number>((done) => child.on('close', (code) => done(code ?? -1)));
  const ms = performance.now() - t0;
  return {
    ms,
    started,
    ended: Date.now(),
    exitCode,
    log,
    peakRssKiB: rss?.peakKiB(),
  };
}

/** Runway's dist/index.js as the runner runs it; throws with its log when it fails. */
export async function runRunway(
  inputs: Record<string, string>,
  options: { rss?: boolean; env?: Record<string, string> } = {},
): Promise<TimedRun> {
  const { outputFile, summaryFile, env } = stepEnvironment(
    { ...authInputs(), allow_unauthenticated: 'true', ...inputs },
    options.env,
  );
  const run = await timed([node, join(root, 'dist/index.js')], env, root, options.rss ?? false);
  if (run.exitCode !== 0) throw new Error(`Runway failed (${run.exitCode}):\n${run.log}`);
  return {
    ...run,
    outputs: parseOutputFile(readFileSync(outputFile, 'utf8')),
    summary: readFileSync(summaryFile, 'utf8'),
  };
}

/** deploy-cloudrun as a workflow step (helpers/peer.ts), timed; throws with its log when it fails. */
export async function runPeerTimed(
  inputs: Record<string, string>,
  options: { rss?: boolean } = {},
): Promise<TimedRun & { run: PeerRun }> {
  const rss = options.rss ? rssLauncher() : undefined;
  const started = Date.now();
  const t0 = performance.now();
  const run = await runPeer(
    { ...inputs, flags: `${inputs.flags ?? ''} --allow-unauthenticated`.trim() },
    {},
    rss?.launcher,
  );
  const ms = performance.now() - t0;
  if (run.exitCode !== 0)
    throw new Error(`deploy-cloudrun failed (${run.exitCode}):\n${run.stdout}\n${run.stderr}`);
  return {
    ms,
    started,
    ended: Date.now(),
    exitCode: 0,
    log: run.stdout,
    outputs: run.outputs,
    summary: '',
    peakRssKiB: rss?.peakKiB(),
    run,
  };
}

/** The emulator's requests (every API and the registry) that started inside a run's window. */
export async function requestsDuring(run: { started: number; ended: number }): Promise<RequestRecord[]> {
  return (await admin.requests()).filter((r) => {
    const at = Date.parse(r.time);
    return at >= run.started && at <= run.ended;
  });
}

/** How long at least one of the requests was in flight: the union of their intervals. */
export function inFlightMs(requests: RequestRecord[]): number {
  const intervals = requests
    .map((r) => [Date.parse(r.time), Date.parse(r.time) + r.durationMs] as const)
    .sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -Infinity;
  for (const [s, e] of intervals) {
    if (e <= end) continue;
    total += e - Math.max(s, end);
    end = e;
  }
  return total;
}

/** The job summary's timeline rows (`| stage | 1.2 s |`), in ms. */
export function timelineOf(summary: string): Array<{ name: string; ms: number }> {
  return [...summary.matchAll(/^\| (.+?) \| (\d+(?:\.\d+)?) s \|$/gm)].map((m) => ({
    name: m[1]!,
    ms: Number(m[2]) * 1000,
  }));
}

/** A name no earlier run of this bench used (services keep their containers until deleted). */
let counter = 0;
export function fresh(prefix: string): string {
  counter++;
  return `${prefix}-${Date.now().toString(36).slice(-4)}${counter}`;
}
