// The bundles the cold-start section compares: dist/ as committed, and any other bundle folders
// named in BENCH_BUNDLES (`LABEL=DIR;LABEL=DIR`), so one run measures a change to the bundle
// before and after, each bundle in turn. CONTRIBUTING.md ("The bench") shows how to build them.
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { root } from './harness.js';

export interface Bundle {
  label: string;
  dir: string;
}

/** Bytes of JavaScript in a bundle (its source maps not counted: they are not loaded). */
export function bundleBytes(dir: string): number {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.js'))
    .reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

export function bundlesToCompare(spec = process.env.BENCH_BUNDLES ?? ''): Bundle[] {
  const others = spec
    .split(';')
    .filter((entry) => entry.trim())
    .map((entry) => {
      const at = entry.lastIndexOf('=');
      if (at < 1) throw new Error(`BENCH_BUNDLES: "${entry}" is not LABEL=DIR`);
      return { label: entry.slice(0, at).trim(), dir: resolve(root, entry.slice(at + 1).trim()) };
    });
  return [{ label: 'dist/ (as committed)', dir: join(root, 'dist') }, ...others];
}
