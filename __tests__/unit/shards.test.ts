// The end-to-end suites split into parts (helpers/shards.ts) are checked here as wholes, without
// Docker: that the parts on disk run every row once, and what each part cannot see alone: the
// fault-injection matrix's size, and that the table of differences in docs/migrating.md from deploy-cloudrun
// lists exactly what the differential cases declare (each case checks that it differs as it declares,
// end to end, so over all the parts the table and the observed differences agree both ways).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SCENARIOS } from '../e2e/fault-matrix.js';
import { shardCount, shardItems, shardOf } from '../helpers/shards.js';
import { CASES, documentedDifferences } from '../peer/differential-cases.js';

const tests = resolve(import.meta.dirname, '..');

/** Each item's position in `items`, once for every part of `count` that runs it. */
function positionsRun<T>(items: readonly T[], count: number): number[] {
  const parts = Array.from({ length: count }, (_, i) => shardItems(items, { index: i + 1, count }));
  return parts.flat().map((item) => items.indexOf(item));
}

describe('splitting a suite into parts', () => {
  it('runs every item in exactly one part, round robin', () => {
    const items = Array.from({ length: 7 }, (_, i) => `row ${i}`);
    expect(shardItems(items, { index: 1, count: 2 })).toEqual(['row 0', 'row 2', 'row 4', 'row 6']);
    expect(shardItems(items, { index: 2, count: 2 })).toEqual(['row 1', 'row 3', 'row 5']);
    for (const count of [1, 2, 3, 7, 9]) expect(positionsRun(items, count).sort()).toEqual([...items.keys()]);
  });

  it('reads the part from the file name, and the count from the files beside it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runway-shards-'));
    for (const k of [1, 2, 3]) writeFileSync(join(dir, `suite-${k}.test.ts`), '');
    writeFileSync(join(dir, 'suite-shard.ts'), '');
    writeFileSync(join(dir, 'other-suite-4.test.ts'), '');
    expect(shardOf(join(dir, 'suite-2.test.ts'))).toEqual({ name: 'suite', index: 2, count: 3 });
    expect(() => shardOf(join(dir, 'suite.test.ts'))).toThrow('is not named NAME-K.test.ts');
    // A gap would drop the missing part's rows without a word.
    const gap = join(dir, 'gap');
    mkdirSync(gap);
    for (const k of [1, 3]) writeFileSync(join(gap, `suite-${k}.test.ts`), '');
    expect(() => shardCount(gap, 'suite')).toThrow('found 1, 3');
  });
});

describe('the fault-injection matrix', () => {
  it('has at least 30 rows, each with its own service, and every failing row names a cause', () => {
    expect(SCENARIOS.length).toBeGreaterThanOrEqual(30);
    expect(new Set(SCENARIOS.map((s) => s.service)).size).toBe(SCENARIOS.length);
    expect(SCENARIOS.filter((s) => s.exit !== 0 && !s.message)).toEqual([]);
  });

  it('is run in parts, fault-matrix-1.test.ts … fault-matrix-N.test.ts, that run every row once', () => {
    const count = shardCount(join(tests, 'e2e'), 'fault-matrix');
    expect(count).toBeGreaterThan(1);
    expect(positionsRun(SCENARIOS, count).sort((a, b) => a - b)).toEqual([...SCENARIOS.keys()]);
  });
});

describe('the differential tests against deploy-cloudrun', () => {
  it('are run in parts, differential-1.test.ts … differential-N.test.ts, that run every case once', () => {
    const count = shardCount(join(tests, 'peer'), 'differential');
    expect(count).toBeGreaterThan(1);
    expect(positionsRun(CASES, count).sort((a, b) => a - b)).toEqual([...CASES.keys()]);
  });

  it('the table of differences in docs/migrating.md lists exactly the differences the cases declare', () => {
    const declared = new Set(CASES.filter((c) => c.differs?.in.length).map((c) => c.differs!.id));
    expect([...new Set(documentedDifferences())].sort()).toEqual([...declared].sort());
  });
});
