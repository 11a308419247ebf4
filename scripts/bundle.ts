// Bundles the step (src/index.ts) and its cleanup (src/post.ts, action.yml's runs.post) with their
// dependencies into DIST (dist/ by default: committed, and __tests__/unit/dist.test.ts checks that
// it is exactly what this writes), with source maps (`NODE_OPTIONS=--enable-source-maps` maps a
// stack trace to src/), then writes DIST/licenses.txt from the packages those maps show.
// `--minify` and `--polyfill` (node-fetch kept) build the variants the bench compares
// (CONTRIBUTING.md, "The bench").
//
// esbuild rather than ncc: the same bundle in about a second instead of forty seconds of CPU, which
// every `npm run bundle` and every `npm test` (dist.test.ts bundles afresh) paid.
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { writeLicenses } from './licenses.js';

const root = resolve(import.meta.dirname, '..');

/**
 * Packages' own source maps stay out: esbuild would follow them back to sources that were never
 * installed (a package's src/, what its own bundler bundled), and the maps then name files that
 * licenses.ts cannot trace to an installed package. The bundle maps to the files it holds.
 */
const withoutPackageMaps: Plugin = {
  name: 'without-package-maps',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/].*\.[cm]?js$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replace(/^\/\/# sourceMappingURL=.*$/gm, ''),
      loader: 'js',
    }));
  },
};

const common: BuildOptions = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  // Dynamic imports become chunks of their own, loaded only by the runs that need them.
  splitting: true,
  sourcemap: 'linked',
  // Error and class names stay as written: messages and logs show them.
  keepNames: true,
  // The CommonJS packages inside an ES module still call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __runwayCreateRequire } from 'node:module'; const require = __runwayCreateRequire(import.meta.url);",
  },
  plugins: [withoutPackageMaps],
  logLevel: 'warning',
  // Written below: the maps then name their sources relative to dist/ wherever DIST is.
  write: false,
};

/** Bundles `entry` as if into `<root>/dist/<sub>`, writing the files into `<out>/<sub>`. */
async function bundle(entry: string, out: string, sub: string): Promise<void> {
  const outdir = join(root, 'dist', sub);
  const result = await build({ ...common, entryPoints: { index: entry }, outdir });
  for (const file of result.outputFiles ?? []) {
    const target = join(out, sub, relative(outdir, file.path));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.contents);
  }
  writeFileSync(join(out, sub, 'package.json'), `${JSON.stringify({ type: 'module' }, null, 2)}\n`);
}

const args = process.argv.slice(2);
const variant: BuildOptions = {
  minify: args.includes('--minify'),
  // gaxios (under google-auth-library) imports the node-fetch polyfill; Node 24's fetch stands in.
  alias: args.includes('--polyfill') ? {} : { 'node-fetch': './src/common/native-fetch.ts' },
};
Object.assign(common, variant);
const out = resolve(args.find((a) => !a.startsWith('--')) ?? join(root, 'dist'));
rmSync(out, { recursive: true, force: true });
await bundle('src/index.ts', out, '');
await bundle('src/post.ts', out, 'post');
writeLicenses(out);
