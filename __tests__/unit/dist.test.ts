// dist/ is committed (the runner executes it); it must be exactly what a fresh bundle produces.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname ?? '.', '..', '..');

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe('dist/', () => {
  it('matches a fresh bundle of src/, file for file', () => {
    const fresh = join(mkdtempSync(join(tmpdir(), 'runway-dist-')), 'dist');
    execFileSync('bash', [join(root, 'scripts/bundle.sh'), fresh], { cwd: root, stdio: 'pipe' });
    const committed = join(root, 'dist');
    // Two entry points: the step (action.yml runs.main) and its cleanup (runs.post).
    expect(files(fresh)).toEqual(expect.arrayContaining(['index.js', join('post', 'index.js')]));
    expect(files(committed)).toEqual(files(fresh));
    for (const file of files(fresh)) {
      const same = readFileSync(join(committed, file)).equals(readFileSync(join(fresh, file)));
      if (!same)
        throw new Error(`dist/${file} differs from a fresh bundle: run \`npm run bundle\` and commit dist/`);
    }
  });
});
