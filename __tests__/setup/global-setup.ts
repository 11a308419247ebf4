// Starts one emulator for the whole test run, exactly as `npm run emulator -- --env-file PATH` does
// (tests use their own service names, so they do not interfere), and tells the tests where its
// environment file is. Jest loads this file outside its module mapping, so it imports nothing local.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname ?? '.', '..', '..');

export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'runway-test-'));
  const envFile = join(dir, 'emulator.env');
  const child = spawn('bash', [join(root, 'scripts/emulator.sh'), '--env-file', envFile], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      RUNWAY_EMULATOR_STARTUP_TIMEOUT: process.env.RUNWAY_EMULATOR_STARTUP_TIMEOUT ?? '15',
    },
  });
  const deadline = Date.now() + 60_000;
  while (!existsSync(envFile)) {
    if (child.exitCode !== null)
      throw new Error(`emulator exited with ${child.exitCode} before it was ready`);
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error('emulator did not become ready in time');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  process.env.RUNWAY_EMULATOR_ENV_FILE = envFile;
  (globalThis as { __runwayEmulator?: typeof child }).__runwayEmulator = child;
}
