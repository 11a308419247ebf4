// Runs the bundled action (dist/index.js) the way the runner does: inputs as INPUT_* variables,
// outputs through $GITHUB_OUTPUT, a job summary file, and the emulator's environment.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { appContext, type AppOptions } from './app-context.js';
import { emulatorEnv } from './emulator.js';
import { leaksAfterRun } from './leaks.js';

const root = resolve(import.meta.dirname ?? '.', '..', '..');

export interface ActionRun {
  /** The step's RUNNER_TEMP: whatever the action left there stays for inspection. */
  tempDir: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
}

/** Parses the `name<<DELIMITER\nvalue\nDELIMITER` records @actions/core writes to GITHUB_OUTPUT. */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const re = /^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) outputs[m[1]!] = m[3]!;
  return outputs;
}

/**
 * V8's compile cache (Node's NODE_COMPILE_CACHE) for the bundles a run of the suite starts hundreds
 * of times: each run compiles the same 2.7 MB of code, which the cache saves (about 50 ms a run).
 * It changes nothing a step does; a runner starts each bundle once, so the action does not set it.
 */
export const COMPILE_CACHE = join(tmpdir(), 'runway-test-compile-cache');

/** A step's environment as the runner gives it: a fresh RUNNER_TEMP with its output and summary files. */
export function stepEnvironment(
  inputs: Record<string, string>,
  extraEnv: Record<string, string> = {},
): { dir: string; outputFile: string; summaryFile: string; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'runway-action-'));
  const outputFile = join(dir, 'output');
  const summaryFile = join(dir, 'summary');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  const env: Record<string, string> = {
    PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH ?? ''}`,
    HOME: process.env.HOME ?? '/root',
    ...emulatorEnv(),
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_WORKSPACE: root,
    RUNNER_TEMP: dir,
    NODE_COMPILE_CACHE: COMPILE_CACHE,
    ...extraEnv,
  };
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  return { dir, outputFile, summaryFile, env };
}

export async function runAction(
  inputs: Record<string, string>,
  extraEnv: Record<string, string> = {},
): Promise<ActionRun> {
  const { dir, outputFile, summaryFile, env } = stepEnvironment(inputs, extraEnv);
  const child = spawn(join(root, 'node_modules/.bin/node'), [join(root, 'dist/index.js')], {
    cwd: root,
    env,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exitCode = await new Promise<number>((done) => child.on('close', (code) => done(code ?? -1)));
  const run: ActionRun = {
    tempDir: dir,
    exitCode,
    stdout,
    stderr,
    outputs: parseOutputFile(readFileSync(outputFile, 'utf8')),
    summary: existsSync(summaryFile) ? readFileSync(summaryFile, 'utf8') : '',
  };
  const leaks = await leaksAfterRun(run, inputs, env.GITHUB_WORKSPACE ?? root);
  if (leaks.length)
    throw new Error(`credentials or secret values in what the run left:\n${leaks.join('\n')}`);
  // scripts/soak.sh reads every run's log afterwards (probe by probe), one file per service;
  // written only once the run is known to have leaked nothing.
  const logDir = process.env.RUNWAY_TEST_ACTION_LOGS;
  if (logDir) {
    appendFileSync(
      join(logDir, `${(inputs.service ?? 'action').replace(/[^\w.-]/g, '_')}.log`),
      `=== exit ${exitCode}\n${stdout}${stderr}\n--- summary\n${run.summary}\n`,
    );
  }
  return run;
}

/** The inputs every emulator deploy needs: project, Workload Identity provider, deployer account. */
export function authInputs(): Record<string, string> {
  const e = emulatorEnv();
  return {
    project_id: e.RUNWAY_EMULATOR_PROJECT!,
    workload_identity_provider: e.RUNWAY_EMULATOR_WIF_PROVIDER!,
    service_account: e.RUNWAY_EMULATOR_SERVICE_ACCOUNT!,
  };
}

/** The last ::error:: the action printed — what a user sees first — as the runner shows it. */
export function errorOf(run: ActionRun): string {
  const errors = run.stdout.split('\n').filter((l) => l.startsWith('::error::'));
  // Decoded as the runner decodes workflow commands.
  return (errors.pop() ?? '').replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

/**
 * Builds the test app from a fresh context and deploys it as a public service with short health
 * checks (2 passes within 20 s); `inputs` override any of that.
 */
export function deployApp(
  service: string,
  body: string,
  inputs: Record<string, string> = {},
  app: AppOptions = {},
  extraEnv: Record<string, string> = {},
): Promise<ActionRun> {
  return runAction(
    {
      ...authInputs(),
      service,
      context: appContext(body, app),
      repository: emulatorEnv().RUNWAY_EMULATOR_REPOSITORY!,
      allow_unauthenticated: 'true',
      health_check_timeout: '20s',
      health_check_successes: '2',
      ...inputs,
    },
    extraEnv,
  );
}

/** Fails the test with the action's whole log when it did not exit 0. */
export function expectSuccess(run: ActionRun): void {
  if (run.exitCode !== 0) throw new Error(`action failed (${run.exitCode}):\n${run.stdout}\n${run.stderr}`);
}

/** Deploys a prebuilt image (no build) as a public service with short health checks (2 passes within 20 s). */
export function deployImage(
  service: string,
  image: string,
  inputs: Record<string, string> = {},
  extraEnv: Record<string, string> = {},
): Promise<ActionRun> {
  return runAction(
    {
      ...authInputs(),
      service,
      image,
      allow_unauthenticated: 'true',
      health_check_timeout: '20s',
      health_check_successes: '2',
      ...inputs,
    },
    extraEnv,
  );
}
