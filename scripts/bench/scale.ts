// 9: the step as the service grows. A service seeded with N older revisions (scaled to zero, as a
// long-lived service has them), or with T tags on its serving revision, gets one deploy
// (`traffic: verified`, the default); its time and the API calls it made are recorded.
import { admin, env } from '../../__tests__/helpers/emulator.js';
import { deleteService, patchService } from '../../__tests__/helpers/cloudrun.js';
import { fresh, requestsDuring, runRunway, stats, type Stats } from './harness.js';

export const REVISION_COUNTS = [10, 100, 1000];
export const TAG_COUNTS = [1, 10, 50];

export interface ScalePoint {
  size: number;
  step: Stats;
  /** API requests of the deploy (every API the emulator serves but the registry), per run. */
  calls: Stats;
}

export interface ScaleResults {
  revisions: ScalePoint[];
  tags: ScalePoint[];
}

async function seed(service: string, image: string, history: number): Promise<void> {
  await admin.seed({
    services: [
      {
        project: env('RUNWAY_EMULATOR_PROJECT'),
        location: 'us-central1',
        serviceId: service,
        history,
        service: { invokerIamDisabled: true, template: { containers: [{ image }] } },
      },
    ],
  });
}

async function point(service: string, image: string, size: number, runs: number): Promise<ScalePoint> {
  const times: number[] = [];
  const calls: number[] = [];
  for (let i = 0; i < runs; i++) {
    const run = await runRunway({ service, image, env_vars: `RUN=${i}` });
    times.push(run.ms);
    calls.push((await requestsDuring(run)).filter((r) => r.api !== 'registry').length);
  }
  await deleteService(service);
  return { size, step: stats(times), calls: stats(calls) };
}

export async function measureScale(image: string, runs: number): Promise<ScaleResults> {
  const revisions: ScalePoint[] = [];
  for (const count of REVISION_COUNTS) {
    const service = fresh(`bench-revs${count}`);
    await seed(service, image, count);
    revisions.push(await point(service, image, count, runs));
  }
  const tags: ScalePoint[] = [];
  for (const count of TAG_COUNTS) {
    const service = fresh(`bench-tags${count}`);
    await seed(service, image, 0);
    await patchService(service, (s) => {
      const serving = s.latestReadyRevision!.split('/').pop()!;
      return {
        ...s,
        traffic: [
          { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 },
          ...Array.from({ length: count }, (_, t) => ({
            type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION',
            revision: serving,
            tag: `keep-${t}`,
          })),
        ],
      };
    });
    tags.push(await point(service, image, count, runs));
  }
  return { revisions, tags };
}
