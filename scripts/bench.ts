// `npm run bench`: Runway's speed, measured side by side in one run against the emulator (real
// Docker containers, a real registry) and against deploy-cloudrun driving the installed gcloud.
// Writes bench/results.json and bench/RESULTS.md, and docs/performance.md's copy of the tables.
// Not a test: nothing here passes or fails. BENCH_RUNS sets the runs per figure (default 3);
// BENCH_ONLY=step,readiness,verification,builds,regions,cold,memory,scale runs some sections.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform, totalmem } from 'node:os';
import { join } from 'node:path';
import { pushTestImage } from '../__tests__/helpers/images.js';
import { peerMissing } from '../__tests__/helpers/peer.js';
import { root, startEmulator } from './bench/harness.js';
import { measureStep } from './bench/step.js';
import { measureReadiness } from './bench/readiness.js';
import { measureRegions, measureVerification } from './bench/verification.js';
import { measureBuilds } from './bench/builds.js';
import { measureColdStart, measureMemory } from './bench/process.js';
import { measureScale } from './bench/scale.js';
import { renderResults, type BenchResults } from './bench/report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const ONLY = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
const wanted = (section: string): boolean => !ONLY || ONLY.includes(section);

function gcloudVersion(): string {
  try {
    const out = execFileSync('gcloud', ['version', '--format=value("Google Cloud SDK")'], {
      encoding: 'utf8',
    });
    return out.trim();
  } catch {
    return 'not installed';
  }
}

/** A section that fails is reported as failed, the others still run, and the bench exits 1. */
const failures: Array<{ section: string; error: string }> = [];

async function section<T>(name: string, measure: () => Promise<T>): Promise<T | undefined> {
  if (!wanted(name)) return undefined;
  const started = Date.now();
  console.log(`bench: ${name} …`);
  try {
    const result = await measure();
    console.log(`bench: ${name} done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return result;
  } catch (err) {
    console.error(`bench: ${name} failed:`, err);
    failures.push({ section: name, error: err instanceof Error ? err.message : String(err) });
    return undefined;
  }
}

/** `npm run bench -- --render`: the report and docs/performance.md again from bench/results.json, unmeasured. */
function render(): void {
  const results = JSON.parse(readFileSync(join(root, 'bench', 'results.json'), 'utf8')) as BenchResults;
  const report = renderResults(results);
  writeFileSync(join(root, 'bench', 'RESULTS.md'), `${report}\n`);
  if (!results.failures?.length) updatePerformanceDoc(report);
}

async function main(): Promise<void> {
  if (process.argv.includes('--render')) return render();
  const missing = peerMissing();
  if (missing && wanted('step'))
    throw new Error(`the comparison needs deploy-cloudrun and gcloud: ${missing}`);
  const stop = await startEmulator();
  const results: BenchResults = {
    date: new Date().toISOString().slice(0, 10),
    machine: {
      platform: platform(),
      arch: arch(),
      cpus: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      gcloud: gcloudVersion(),
    },
    runs: RUNS,
    commands: ['npm ci', 'npm run bench'],
  };
  try {
    const image = await pushTestImage('bench-app', 'bench', { delayedStart: true });
    results.step = await section('step', () => measureStep(image, RUNS));
    results.readiness = await section('readiness', () => measureReadiness(image, RUNS));
    results.verification = await section('verification', () => measureVerification(image, RUNS));
    results.builds = await section('builds', () => measureBuilds(RUNS));
    results.regions = await section('regions', () => measureRegions(image, RUNS));
    results.coldStart = await section('cold', () => measureColdStart(Math.max(RUNS, 10)));
    results.memory = await section('memory', () => measureMemory(image, RUNS));
    results.scale = await section('scale', () => measureScale(image, RUNS));
  } finally {
    stop();
  }
  results.failures = failures;
  const dir = join(root, 'bench');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const report = renderResults(results);
  writeFileSync(join(dir, 'RESULTS.md'), `${report}\n`);
  if (!ONLY && !failures.length) updatePerformanceDoc(report);
  console.log(report);
  if (failures.length) process.exitCode = 1;
}

/** docs/performance.md carries the report's tables between its bench markers. */
function updatePerformanceDoc(report: string): void {
  const file = join(root, 'docs', 'performance.md');
  const doc = readFileSync(file, 'utf8');
  const body = report
    .split('\n')
    .map((line) => line.replace(/^## /, '### ').replace('(results.json)', '(../bench/results.json)'))
    .filter((line) => !line.startsWith('# '))
    .join('\n')
    .trim();
  const marked = /<!-- bench:start -->[\s\S]*<!-- bench:end -->/;
  if (!marked.test(doc))
    throw new Error('docs/performance.md has no <!-- bench:start --> … <!-- bench:end --> markers');
  writeFileSync(file, doc.replace(marked, `<!-- bench:start -->\n${body}\n<!-- bench:end -->`));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
