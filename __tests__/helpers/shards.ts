// A long end-to-end suite split into test files NAME-1.test.ts … NAME-N.test.ts, so that Jest's
// workers run its parts side by side, each part against an emulator of its own (one file, one
// worker, one emulator: setup/global-setup.ts). Part K runs the rows whose position counted from 0
// leaves K-1 when divided by N: round robin, so rows next to each other in a table, which tend to be
// alike in how long they take (a group of timeouts, a group of fast refusals), go to different
// parts. N is the number of such files on disk and a file's own name says which part it is, so no
// file can run another's part, and every row runs in exactly one (unit/shards.test.ts checks both).
import { readdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';

export interface Shard {
  /** NAME in NAME-K.test.ts. */
  name: string;
  /** K, from 1. */
  index: number;
  /** N, how many parts the suite has. */
  count: number;
}

/**
 * How many parts NAME-1.test.ts … NAME-N.test.ts the folder `dir` holds; throws unless they are
 * numbered 1 to N without a gap (a missing part would silently drop its rows).
 */
export function shardCount(dir: string, name: string): number {
  const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)\\.test\\.ts$`);
  const numbers = readdirSync(dir)
    .map((file) => pattern.exec(file)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  if (numbers.length === 0 || numbers.some((n, i) => n !== i + 1))
    throw new Error(
      `${dir}: the parts of ${name} must be ${name}-1.test.ts to ${name}-N.test.ts, found ${numbers.join(', ') || 'none'}`,
    );
  return numbers.length;
}

/** Which part the test file `file` (its path: import.meta.filename) is, and of how many. */
export function shardOf(file: string): Shard {
  const match = /^(.+)-(\d+)\.test\.ts$/.exec(basename(file));
  if (!match) throw new Error(`${file} is not named NAME-K.test.ts`);
  const name = match[1]!;
  return { name, index: Number(match[2]), count: shardCount(dirname(file), name) };
}

/** The items part `index` of `count` runs. */
export function shardItems<T>(items: readonly T[], { index, count }: Pick<Shard, 'index' | 'count'>): T[] {
  return items.filter((_, i) => i % count === index - 1);
}
