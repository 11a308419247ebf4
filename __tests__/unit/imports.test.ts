// The import graph of src/ (and the emulator's independence), checked with dependency-cruiser
// against the rules in .dependency-cruiser.cjs: no circle, and every layer imports downward only.
import { cruise } from 'dependency-cruiser';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');
const config = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs')) as {
  forbidden: unknown[];
  options: Record<string, unknown>;
};

/** Each rule broken, as `rule: from -> to`, for the tree at `dir`. */
async function violations(dir: string): Promise<string[]> {
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const options = {
      ...config.options,
      tsConfig: undefined,
      validate: true,
      ruleSet: { forbidden: config.forbidden },
    };
    const result = await cruise(['src', 'emulator'], options as unknown as Parameters<typeof cruise>[1]);
    const output = result.output as {
      summary: { violations: Array<{ rule: { name: string }; from: string; to: string }> };
    };
    return output.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
  } finally {
    process.chdir(cwd);
  }
}

describe('the import graph', () => {
  it('has no circle in src/, and every layer imports only from the layers below it', async () => {
    expect(await violations(root)).toEqual([]);
  }, 60_000);

  it('would catch a circle, an import back up the layers, and src/ importing the emulator', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runway-imports-'));
    const files: Record<string, string> = {
      'src/common/deadline.ts': "import { a } from '../rollout/a.js';\nexport const d = a;\n",
      'src/rollout/a.ts': "import { b } from './b.js';\nexport const a = b;\n",
      'src/rollout/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
      'src/deploy/apply.ts': "import { e } from '../../emulator/e.js';\nexport const x = e;\n",
      'emulator/e.ts': 'export const e = 1;\n',
    };
    try {
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
      expect((await violations(dir)).sort()).toEqual([
        'common-imports-downward-only: src/common/deadline.ts -> src/rollout/a.ts',
        'no-circular: src/rollout/a.ts -> src/rollout/b.ts',
        'src-stands-alone: src/deploy/apply.ts -> emulator/e.ts',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
