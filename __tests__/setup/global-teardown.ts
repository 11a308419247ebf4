import type { EmulatorProcess } from '../helpers/emulator-process.js';

export default async function globalTeardown(): Promise<void> {
  const handle = (globalThis as { __runwayEmulator?: EmulatorProcess }).__runwayEmulator;
  await handle?.stop();
}
