// Writes DIST/licenses.txt from what the bundle actually contains: every source file the bundler put
// into DIST (the `sources` of each source map) leads to the package it came from, and each package's
// name, version, declared licence and licence file go into the list. A package the bundle holds is
// therefore never left out, whatever the dependency tree says. Run by scripts/bundle.ts;
// __tests__/unit/licenses.test.ts checks the list against the maps.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname ?? '.', '..');

/**
 * The package folders (relative to the repository, e.g. `node_modules/@actions/core` or
 * `node_modules/gaxios/node_modules/uuid`) that a source map's sources come from, sorted.
 */
export function packagesInSources(sources: string[]): string[] {
  const found = new Set<string>();
  for (const source of sources) {
    const at = source.lastIndexOf('node_modules/');
    if (at < 0) continue;
    const [scope = '', name = ''] = source.slice(at + 'node_modules/'.length).split('/');
    const folder =
      source.slice(0, at) + 'node_modules/' + (scope.startsWith('@') ? `${scope}/${name}` : scope);
    found.add(folder.replace(/^(\.\.?\/)+/, ''));
  }
  return [...found].sort();
}

/** Every source map under `dir`, at any depth. */
export function sourceMaps(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.js.map'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** The packages the bundle in `dir` holds, from its source maps. */
export function bundledPackages(dir: string): string[] {
  const sources = sourceMaps(dir).flatMap(
    (file) => (JSON.parse(readFileSync(file, 'utf8')) as { sources: string[] }).sources,
  );
  return packagesInSources(sources);
}

export interface PackageLicense {
  name: string;
  version: string;
  license: string;
  text: string | undefined;
}

const LICENSE_FILE = /^(licen[cs]e|copying)([-.].*)?$/i;

export function readPackageLicense(folder: string): PackageLicense {
  const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    license?: string | { type?: string };
  };
  const license = typeof manifest.license === 'string' ? manifest.license : manifest.license?.type;
  if (!license) throw new Error(`${folder}/package.json declares no licence`);
  const file = readdirSync(folder)
    .filter((name) => LICENSE_FILE.test(name))
    .sort()[0];
  const text = file ? readFileSync(join(folder, file), 'utf8').trim() : undefined;
  return { name: manifest.name, version: manifest.version, license, text };
}

/** One entry per package: its name and version, its licence, and the licence's text. */
export function renderLicenses(packages: PackageLicense[]): string {
  return packages
    .map((p) =>
      [
        `${p.name}@${p.version}`,
        `License: ${p.license}`,
        p.text ?? `(The package ships no licence file; its package.json declares ${p.license}.)`,
      ].join('\n'),
    )
    .join(`\n\n${'-'.repeat(72)}\n\n`)
    .concat('\n');
}

/** The `name@version` headings of a licenses.txt. */
export function listedPackages(text: string): string[] {
  return [...text.matchAll(/^(@?[^@\s]+)@(\S+)\nLicense: /gm)].map((m) => `${m[1]}@${m[2]}`);
}

/** Writes `<dist>/licenses.txt` for the bundle in `dist`. */
export function writeLicenses(dist: string): void {
  const folders = bundledPackages(dist);
  if (!folders.length) throw new Error(`${relative(root, dist)} has no source maps naming a package`);
  const licenses = folders.map((folder) => {
    const path = resolve(root, folder);
    if (!existsSync(join(path, 'package.json'))) throw new Error(`${folder} is bundled but not installed`);
    return readPackageLicense(path);
  });
  const unique = [...new Map(licenses.map((l) => [`${l.name}@${l.version}`, l])).values()].sort((a, b) =>
    a.name.localeCompare(b.name),
  );
  writeFileSync(join(dist, 'licenses.txt'), renderLicenses(unique));
}
