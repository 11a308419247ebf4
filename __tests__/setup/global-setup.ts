// Starts one emulator for the whole test run (tests use their own service names, so they do not
// interfere) and tells the tests where its environment file is.
import { startEmulatorProcess } from '../helpers/emulator-process.js';

export default async function globalSetup(): Promise<void> {
  const handle = await startEmulatorProcess();
  process.env.RUNWAY_EMULATOR_ENV_FILE = handle.envFile;
  (globalThis as { __runwayEmulator?: typeof handle }).__runwayEmulator = handle;
}
