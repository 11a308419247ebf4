// Stops the emulator the global setup started; it removes its containers on SIGTERM.
import type { ChildProcess } from 'node:child_process';

export default async function globalTeardown(): Promise<void> {
  const child = (globalThis as { __runwayEmulator?: ChildProcess }).__runwayEmulator;
  if (!child || child.exitCode !== null) return;
  await new Promise<void>((done) => {
    child.once('exit', () => done());
    child.kill('SIGTERM');
  });
}
