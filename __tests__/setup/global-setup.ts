// Starts one emulator per Jest worker, each exactly as `npm run emulator -- --env-file PATH` does,
// so that test files running side by side never share one: faults, the request log, resets and
// gcloud's view of the project are each file's own. The paths of their env files go to the workers
// in RUNWAY_EMULATOR_ENV_FILES (worker N uses the Nth; worker-emulator.ts picks it).
//
// Each emulator removes its containers when it stops: on SIGTERM from the global teardown, on
// Ctrl-C, and when its stdin closes, which happens when this process dies however it dies. Jest
// loads this file outside its module mapping, so it imports nothing local.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname ?? '.', '..', '..');

interface Started {
  child: ChildProcess;
  envFile: string;
}

/** Starts an emulator and waits (up to a minute) for its env file, the readiness signal. */
async function startEmulator(envFile: string): Promise<Started> {
  const child = spawn('bash', [join(root, 'scripts/emulator.sh'), '--env-file', envFile], {
    cwd: root,
    stdio: ['pipe', 'inherit', 'inherit'],
    env: {
      ...process.env,
      RUNWAY_EMULATOR_STARTUP_TIMEOUT: process.env.RUNWAY_EMULATOR_STARTUP_TIMEOUT ?? '15',
      RUNWAY_EMULATOR_STOP_ON_STDIN_END: '1',
    },
  });
  const started = { child, envFile };
  const deadline = Date.now() + 60_000;
  while (!existsSync(envFile)) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw Object.assign(new Error(`emulator exited with ${child.exitCode} before it was ready`), {
        started,
      });
    if (Date.now() > deadline)
      throw Object.assign(new Error('emulator did not become ready in time'), { started });
    await new Promise((r) => setTimeout(r, 100));
  }
  return started;
}

/** Removes the containers an emulator started (labelled with its pid), for one that had to be killed. */
function removeContainersOf(pid: number): Promise<void> {
  return new Promise((done) => {
    execFile('docker', ['ps', '-aq', '--filter', `label=runway-emulator-pid=${pid}`], (err, stdout) => {
      const ids = err ? [] : stdout.split(/\s+/).filter(Boolean);
      if (!ids.length) return done();
      execFile('docker', ['rm', '-f', ...ids], () => done());
    });
  });
}

/** SIGTERM, then up to two minutes to remove its containers; SIGKILL and remove them here after that. */
async function stopEmulator(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<boolean>((done) => child.once('exit', () => done(true)));
    child.kill('SIGTERM');
    const timer = new Promise<boolean>((done) => setTimeout(() => done(false), 120_000).unref());
    if (!(await Promise.race([exited, timer]))) child.kill('SIGKILL');
  }
  child.stdin?.destroy();
  // An emulator that stopped cleanly left none; one that was killed may have.
  if (pid) await removeContainersOf(pid);
}

export async function stopEmulators(children: ChildProcess[]): Promise<void> {
  await Promise.all(children.map(stopEmulator));
}

/**
 * Starts gcloud-fork/server.py and puts a `gcloud` that goes through it first on PATH (workers and
 * everything they start inherit it; RUNWAY_GCLOUD_FORK_BIN names its folder for helpers/peer.ts).
 * Every gcloud call of the suite then runs the installed gcloud's own code in a child forked from an
 * interpreter that has imported it already: about 0.35 CPU-s a call instead of 1.5 or more.
 * RUNWAY_GCLOUD_FORK=0 turns it off; without gcloud, or its bundled Python, there is nothing to do.
 */
async function startGcloudFork(dir: string): Promise<ChildProcess | undefined> {
  if (process.env.RUNWAY_GCLOUD_FORK === '0') return undefined;
  let gcloud: string;
  try {
    gcloud = execFileSync('bash', ['-c', 'command -v gcloud'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
  const sdkRoot = dirname(dirname(realpathSync(gcloud)));
  const python = join(sdkRoot, 'platform', 'bundledpythonunix', 'bin', 'python3');
  if (!existsSync(join(sdkRoot, 'lib', 'gcloud.py')) || !existsSync(python)) return undefined;
  const fork = join(root, '__tests__', 'setup', 'gcloud-fork');
  const socket = join(dir, 'gcloud.sock');
  const child = spawn(python, ['-S', join(fork, 'server.py'), sdkRoot, socket, join(fork, 'preimport.txt')], {
    stdio: ['pipe', 'inherit', 'inherit'],
    env: { ...process.env, PYTHONIOENCODING: 'UTF-8' },
  });
  const deadline = Date.now() + 60_000;
  while (!existsSync(socket)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      process.stderr.write('gcloud-fork did not start; the suite runs gcloud as installed\n');
      return undefined;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const bin = join(dir, 'gcloud-bin');
  mkdirSync(bin);
  const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;
  writeFileSync(
    join(bin, 'gcloud'),
    `#!/bin/sh\nexec ${[python, '-S', join(fork, 'client.py'), socket, gcloud].map(quote).join(' ')} "$@"\n`,
  );
  chmodSync(join(bin, 'gcloud'), 0o755);
  process.env.PATH = `${bin}${delimiter}${process.env.PATH ?? ''}`;
  process.env.RUNWAY_GCLOUD_FORK_BIN = bin;
  return child;
}

export default async function globalSetup(globalConfig: {
  maxWorkers: number;
  runInBand?: boolean;
}): Promise<void> {
  const count = globalConfig.runInBand ? 1 : Math.max(1, globalConfig.maxWorkers);
  const dir = mkdtempSync(join(tmpdir(), 'runway-test-'));
  const envFiles = Array.from({ length: count }, (_, i) => join(dir, `emulator-${i + 1}.env`));
  const outcomes = await Promise.allSettled(envFiles.map(startEmulator));
  const children = outcomes.map((o) =>
    o.status === 'fulfilled' ? o.value.child : (o.reason as { started?: Started }).started?.child,
  );
  const failed = outcomes.find((o) => o.status === 'rejected');
  if (failed) {
    await stopEmulators(children.filter((c): c is ChildProcess => c !== undefined));
    throw (failed as PromiseRejectedResult).reason;
  }
  process.env.RUNWAY_EMULATOR_ENV_FILES = envFiles.join(delimiter);
  const gcloudFork = await startGcloudFork(dir);
  (globalThis as { __runwayEmulators?: () => Promise<void> }).__runwayEmulators = async () => {
    gcloudFork?.kill('SIGTERM');
    await stopEmulators(children as ChildProcess[]);
  };
}
