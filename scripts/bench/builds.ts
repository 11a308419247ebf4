// 5: builds. A warm rebuild (one source line changed, local layers and the registry cache at hand)
// against a cold one (nothing cached), and on a fresh runner (no local layers) the registry cache
// against no cache. The app's Dockerfile has one slow layer keyed by a lock file, standing in for
// installing dependencies, as real Dockerfiles copy their lock file before installing.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { appContext } from '../../__tests__/helpers/app-context.js';
import { deleteService } from '../../__tests__/helpers/cloudrun.js';
import { env } from '../../__tests__/helpers/emulator.js';
import { fresh, runRunway, stats, timelineOf, type Stats, type TimedRun } from './harness.js';

const exec = promisify(execFile);

/** Seconds the dependency layer takes to build. */
export const INSTALL_SECONDS = 5;

export interface BuildResults {
  /** The `build and push` stage of Runway's timeline. */
  cold: Stats;
  warm: Stats;
  freshCached: Stats;
  freshUncached: Stats;
}

function slowContext(body: string, lockFile: string): string {
  const dir = appContext(body);
  writeFileSync(join(dir, 'deps.lock'), `${lockFile}\n`);
  writeFileSync(
    join(dir, 'Dockerfile'),
    [
      'FROM scratch',
      'COPY busybox /bin/busybox',
      'COPY deps.lock /deps.lock',
      `RUN ["/bin/busybox", "sh", "-c", "/bin/busybox sleep ${INSTALL_SECONDS} && /bin/busybox mkdir -p /deps && echo installed > /deps/done"]`,
      'COPY www /www',
      'COPY state /state',
      'ENTRYPOINT ["/bin/busybox", "sh", "-c", "exec /bin/busybox httpd -f -p ${PORT:-8080} -h /www"]',
      '',
    ].join('\n'),
  );
  return dir;
}

/**
 * Forgets every local image of the repository, the layers only they used and the build cache, as a
 * fresh hosted runner has none.
 */
async function forgetLocalImages(repository: string): Promise<void> {
  const { stdout } = await exec('docker', ['images', '--no-trunc', '--format', '{{.ID}} {{.Repository}}']);
  const ids = new Set(
    stdout
      .split('\n')
      .filter((line) => line.split(' ')[1]?.startsWith(repository))
      .map((line) => line.split(' ')[0]!),
  );
  // The emulator's running revisions keep the images they run (not these builds'): docker refuses
  // those and removes the rest.
  if (ids.size) await exec('docker', ['rmi', '-f', ...ids]).catch(() => undefined);
  await exec('docker', ['image', 'prune', '-f']);
  await exec('docker', ['builder', 'prune', '-af']);
}

const buildStage = (run: TimedRun): number => {
  const stage = timelineOf(run.summary).find((s) => s.name === 'build and push');
  if (!stage) throw new Error(`no build stage in the summary:\n${run.summary}`);
  return stage.ms;
};

export async function measureBuilds(runs: number): Promise<BuildResults> {
  const repository = env('RUNWAY_EMULATOR_REPOSITORY');
  const service = fresh('bench-build');
  const build = (inputs: Record<string, string>) =>
    runRunway({ service, repository, traffic: 'immediate', health_check_successes: '1', ...inputs });
  const times = {
    cold: [] as number[],
    warm: [] as number[],
    freshCached: [] as number[],
    freshUncached: [] as number[],
  };
  // The emulator runs each deployed revision on this Docker engine, which keeps its image and that
  // image's layers; a fresh runner has none of them, so the service goes before each fresh build.
  const freshRunner = async (): Promise<void> => {
    await deleteService(service);
    await forgetLocalImages(repository);
  };
  for (let i = 0; i < runs; i++) {
    // New dependencies: nothing local and nothing in the registry cache has them yet.
    const lock = `deps ${Date.now()}`;
    await freshRunner();
    times.cold.push(buildStage(await build({ context: slowContext(`cold ${i}`, lock) })));
    // One line of the app changed since the build before; its dependencies did not.
    times.warm.push(buildStage(await build({ context: slowContext(`warm ${i}`, lock) })));
    // A fresh runner: the cache the warm build left in the registry, and no local layers.
    await freshRunner();
    times.freshCached.push(buildStage(await build({ context: slowContext(`fresh ${i}`, lock) })));
    await freshRunner();
    times.freshUncached.push(
      buildStage(await build({ context: slowContext(`fresh uncached ${i}`, lock), cache: 'false' })),
    );
  }
  await deleteService(service);
  return {
    cold: stats(times.cold),
    warm: stats(times.warm),
    freshCached: stats(times.freshCached),
    freshUncached: stats(times.freshUncached),
  };
}
