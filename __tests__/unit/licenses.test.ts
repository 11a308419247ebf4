// dist/licenses.txt names every package the bundle holds, as its source maps show them, with the
// package's licence; scripts/licenses.ts writes it when bundling.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  bundledPackages,
  listedPackages,
  packagesInSources,
  readPackageLicense,
  renderLicenses,
} from '../../scripts/licenses.js';

const root = resolve(import.meta.dirname ?? '.', '..', '..');
const dist = resolve(root, 'dist');

/** What a licenses.txt lacks of the packages a bundle holds, as `name@version`. */
function missing(text: string, folders: string[]): string[] {
  const listed = new Set(listedPackages(text));
  return folders
    .map((folder) => readPackageLicense(resolve(root, folder)))
    .map((p) => `${p.name}@${p.version}`)
    .filter((id) => !listed.has(id));
}

describe('the licences of the bundle', () => {
  it('finds the package of each bundled source, scoped and nested ones too', () => {
    expect(
      packagesInSources([
        '.././src/main.ts',
        '../webpack/bootstrap',
        '.././node_modules/@actions/core/lib/core.js',
        '.././node_modules/@actions/core/lib/summary.js',
        '.././node_modules/@actions/github/node_modules/@actions/http-client/lib/index.js',
        '.././node_modules/gaxios/node_modules/uuid/dist/index.js',
        '.././node_modules/yaml/dist/index.js',
      ]),
    ).toEqual([
      'node_modules/@actions/core',
      'node_modules/@actions/github/node_modules/@actions/http-client',
      'node_modules/gaxios/node_modules/uuid',
      'node_modules/yaml',
    ]);
  });

  it('notices a bundled package that the list leaves out', () => {
    const folders = ['node_modules/yaml', 'node_modules/@actions/core'];
    const onlyYaml = renderLicenses([readPackageLicense(resolve(root, folders[0]!))]);
    const core = readPackageLicense(resolve(root, folders[1]!));
    expect(missing(onlyYaml, folders)).toEqual([`${core.name}@${core.version}`]);
  });

  it('dist/licenses.txt lists every package that dist/ holds, with its licence', () => {
    const folders = bundledPackages(dist);
    // The bundle ships its source maps; without them this test could not see what it holds.
    expect(folders).toEqual(
      expect.arrayContaining(['node_modules/google-auth-library', 'node_modules/@actions/core']),
    );
    const text = readFileSync(resolve(dist, 'licenses.txt'), 'utf8');
    expect(missing(text, folders)).toEqual([]);
    expect(text).toMatch(/^google-auth-library@\S+\nLicense: Apache-2\.0\n/m);
  });
});
