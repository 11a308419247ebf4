// 1 and 2: the whole step against deploy-cloudrun, case by case (A B A B …), and what of
// Runway's step is its own work rather than waiting on the API, the registry or the revision.
import { admin, env } from '../../__tests__/helpers/emulator.js';
import { deleteService } from '../../__tests__/helpers/cloudrun.js';
import {
  fresh,
  inFlightMs,
  requestsDuring,
  runPeerTimed,
  runRunway,
  stats,
  timelineOf,
  type Stats,
  type TimedRun,
} from './harness.js';

export interface StepCase {
  name: string;
  peer: Stats;
  immediate: Stats;
  verified: Stats;
}

export interface StepResults {
  cases: StepCase[];
  /** Runway's own time in `traffic: immediate` steps: wall time less every wait it did not control. */
  overhead: Stats;
}

interface Case {
  name: string;
  /** Creates what the case starts from, for one tool's service; returns the service name. */
  prepare?: (deploy: (inputs: Record<string, string>) => Promise<unknown>, service: string) => Promise<void>;
  /** The inputs both tools get on run `i` (service and image are added). */
  inputs: (i: number) => Record<string, string>;
  /** Each run deploys a new service (create) instead of updating one. */
  creates?: boolean;
  /** Runway's fastest setting for the case: one check, after traffic moves unless none does. */
  fastest?: Record<string, string>;
}

const SECRET = 'bench-db';

const CASES: Case[] = [
  { name: 'create a service', creates: true, inputs: () => ({}) },
  {
    name: 'update: env vars, secrets and flags',
    prepare: async (deploy) => void (await deploy({ env_vars: 'MODE=seed' })),
    inputs: (i) => ({
      env_vars: `MODE=run-${i},COLOR=blue`,
      secrets: `DB_PASSWORD=${SECRET}:latest`,
      flags: '--cpu=1 --memory=512Mi --max-instances=3 --concurrency=40',
    }),
  },
  {
    name: '`tag` with no traffic',
    prepare: async (deploy) => void (await deploy({ env_vars: 'MODE=seed' })),
    inputs: (i) => ({ tag: `bench-${i}`, no_traffic: 'true', env_vars: `MODE=tagged-${i}` }),
    // No traffic moves, so `immediate` does not apply: the fastest check is a single pass on the tag.
    fastest: { health_check_successes: '1' },
  },
];

/** Time the step spent on nothing but Runway's own work (see docs/performance.md). */
async function overheadOf(run: TimedRun): Promise<number> {
  const waited = inFlightMs(await requestsDuring(run));
  // Health checks go to the revision's own port, outside the request log: their phases are waits.
  const checks = timelineOf(run.summary)
    .filter((s) => /: verify /.test(s.name))
    .reduce((sum, s) => sum + s.ms, 0);
  return Math.max(0, run.ms - waited - checks);
}

export async function measureStep(image: string, runs: number): Promise<StepResults> {
  await admin.seed({
    secrets: [
      { project: env('RUNWAY_EMULATOR_PROJECT'), name: SECRET, versions: [{ data: 'bench secret' }] },
    ],
  });
  const results: StepCase[] = [];
  const overhead: number[] = [];
  for (const c of CASES) {
    const tools = {
      peer: (inputs: Record<string, string>) => runPeerTimed({ image, ...inputs }),
      immediate: (inputs: Record<string, string>) =>
        runRunway({
          image,
          ...(c.fastest ?? { traffic: 'immediate', health_check_successes: '1' }),
          ...inputs,
        }),
      verified: (inputs: Record<string, string>) => runRunway({ image, ...inputs }),
    };
    const services = { peer: fresh('bp'), immediate: fresh('bi'), verified: fresh('bv') };
    if (c.prepare) {
      for (const tool of ['peer', 'immediate', 'verified'] as const)
        await c.prepare((inputs) => tools[tool]({ service: services[tool], ...inputs }), services[tool]);
    }
    const times: Record<keyof typeof tools, number[]> = { peer: [], immediate: [], verified: [] };
    const created: string[] = [];
    for (let i = 0; i < runs; i++) {
      for (const tool of ['peer', 'immediate', 'verified'] as const) {
        const service = c.creates ? fresh(`b${tool[0]}`) : services[tool];
        const run = await tools[tool]({ service, ...c.inputs(i) });
        times[tool].push(run.ms);
        if (tool === 'immediate') overhead.push(await overheadOf(run));
        if (c.creates) created.push(service);
      }
      // Created services keep a container each: free them before the next round.
      for (const service of created.splice(0)) await deleteService(service);
    }
    for (const service of Object.values(services)) if (c.prepare) await deleteService(service);
    results.push({
      name: c.name,
      peer: stats(times.peer),
      immediate: stats(times.immediate),
      verified: stats(times.verified),
    });
  }
  return { cases: results, overhead: stats(overhead) };
}
