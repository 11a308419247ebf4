// Runs the emulator exactly as `npm run emulator -- --env-file PATH` does, in a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface EmulatorProcess {
  envFile: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

const root = resolve(import.meta.dirname ?? '.', '..', '..');

export async function startEmulatorProcess(timeoutMs = 60_000): Promise<EmulatorProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'runway-test-'));
  const envFile = join(dir, 'emulator.env');
  const child = spawn(join(root, 'node_modules/.bin/tsx'), ['emulator/main.ts', '--env-file', envFile], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, RUNWAY_EMULATOR_STARTUP_TIMEOUT: process.env.RUNWAY_EMULATOR_STARTUP_TIMEOUT ?? '15' },
  });
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(envFile)) {
    if (child.exitCode !== null) throw new Error(`emulator exited with ${child.exitCode} before it was ready`);
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error('emulator did not become ready in time');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    envFile,
    child,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

export function readEnvFile(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2]!;
    if (value.startsWith("'") && value.endsWith("'")) value = value.slice(1, -1).replace(/'\\''/g, "'");
    env[m[1]!] = value;
  }
  return env;
}
