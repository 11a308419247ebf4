// `npm run emulator -- --env-file PATH` (scripts/emulator.sh passes PATH as RUNWAY_EMULATOR_ENV_OUT):
// runs the emulator in the foreground until SIGINT/SIGTERM, writing PATH (a dotenv file pointing
// the action at it) once every API is ready.
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Emulator } from './emulator.js';

function envFilePath(): string {
  const envFile = process.env.RUNWAY_EMULATOR_ENV_OUT;
  if (!envFile) {
    console.error('usage: npm run emulator -- --env-file PATH');
    process.exit(2);
  }
  return resolve(envFile);
}

/** Single-quoted so `set -a; . PATH; set +a` and dotenv readers both take values verbatim. */
function dotenv(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => `${k}='${v.replace(/'/g, `'\\''`)}'`)
    .join('\n');
}

async function main(): Promise<void> {
  const envFile = envFilePath();
  const startupTimeoutSeconds = Number(process.env.RUNWAY_EMULATOR_STARTUP_TIMEOUT ?? '20');
  const emulator = await Emulator.start({ startupTimeoutSeconds });

  const eventDir = await mkdtemp(join(tmpdir(), 'runway-event-'));
  const eventPath = join(eventDir, 'event.json');
  await writeFile(eventPath, JSON.stringify(emulator.pullRequestEvent(), null, 2));

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`emulator: ${signal}, removing containers and stopping`);
    await emulator.stop();
    await rm(eventDir, { recursive: true, force: true });
    await rm(envFile, { force: true });
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // A test run starts its emulators with a pipe on stdin: when the run ends, however it ends (even
  // killed outright), the pipe closes and the emulator still removes its containers.
  if (process.env.RUNWAY_EMULATOR_STOP_ON_STDIN_END === '1') {
    process.stdin.on('end', () => void stop('stdin closed'));
    process.stdin.on('error', () => void stop('stdin closed'));
    process.stdin.resume();
  }

  // Written last and atomically: the file's existence is the readiness signal.
  const partial = join(dirname(envFile), `.${Date.now()}.partial`);
  await writeFile(partial, `${dotenv(emulator.environment(eventPath))}\n`);
  await rename(partial, envFile);
  const { urls } = emulator.ctx;
  console.log(
    `emulator: ready; admin ${urls.admin}/__admin, run ${urls.run}, registry ${emulator.ctx.registryHost}`,
  );
  console.log(`emulator: environment written to ${envFile}`);
}

main().catch((err: unknown) => {
  console.error('emulator: failed to start:', err);
  process.exit(1);
});
