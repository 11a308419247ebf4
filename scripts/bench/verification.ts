// 4 and 6: what checking costs (`traffic: verified` against `immediate`, by health_check_successes
// and health_check_interval), and three regions against one.
import { deleteService } from '../../__tests__/helpers/cloudrun.js';
import { fresh, runRunway, stats, type Stats } from './harness.js';

export interface VerificationRow {
  successes: number;
  interval: string;
  verified: Stats;
}

export interface VerificationResults {
  immediate: Stats;
  rows: VerificationRow[];
}

export const SUCCESSES = [1, 3, 5];
export const INTERVALS = ['1s', '500ms', '250ms'];

export async function measureVerification(image: string, runs: number): Promise<VerificationResults> {
  const service = fresh('bench-verify');
  let n = 0;
  const deploy = (inputs: Record<string, string>) =>
    runRunway({ service, image, env_vars: `RUN=${n++}`, ...inputs });
  await deploy({ traffic: 'immediate' });
  const immediate: number[] = [];
  const rows: VerificationRow[] = [];
  for (const interval of INTERVALS)
    for (const successes of SUCCESSES)
      rows.push({ successes, interval, verified: { min: 0, median: 0, max: 0, runs: [] } });
  const verified = rows.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    immediate.push((await deploy({ traffic: 'immediate', health_check_successes: '1' })).ms);
    for (const [index, row] of rows.entries()) {
      const run = await deploy({
        health_check_successes: String(row.successes),
        health_check_interval: row.interval,
      });
      verified[index]!.push(run.ms);
    }
  }
  await deleteService(service);
  return {
    immediate: stats(immediate),
    rows: rows.map((row, index) => ({ ...row, verified: stats(verified[index]!) })),
  };
}

export const REGIONS = ['us-central1', 'europe-west1', 'asia-east1'];

export interface RegionResults {
  one: Stats;
  three: Stats;
}

export async function measureRegions(image: string, runs: number): Promise<RegionResults> {
  const single = fresh('bench-one');
  const multi = fresh('bench-three');
  const one: number[] = [];
  const three: number[] = [];
  await runRunway({ service: single, image, traffic: 'immediate' });
  await runRunway({ service: multi, image, region: REGIONS.join(','), traffic: 'immediate' });
  for (let i = 0; i < runs; i++) {
    one.push((await runRunway({ service: single, image, env_vars: `RUN=${i}` })).ms);
    three.push(
      (await runRunway({ service: multi, image, env_vars: `RUN=${i}`, region: REGIONS.join(',') })).ms,
    );
  }
  await deleteService(single);
  for (const region of REGIONS) await deleteService(multi, region);
  return { one: stats(one), three: stats(three) };
}
