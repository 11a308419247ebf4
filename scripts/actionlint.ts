// Lints every workflow in the repository (.github/workflows) and every example users copy
// (examples/workflows) with actionlint. `npm run actionlint` prints the findings and fails on any;
// __tests__/unit/actionlint.test.ts runs the same check under `npm test`.
//
// There is no actionlint binary here and nothing but the npm registry to get one from, so this uses
// the `actionlint` npm package: rhysd/actionlint 1.6.22 compiled to WebAssembly. Being a WASM build,
// it runs no shellcheck or pyflakes on `run:` scripts and reads no local action.yml; being 1.6.22,
// it predates the `vars` context (2023), the one finding this script ignores (see FALSE_POSITIVES).
import { createLinter, type LintResult } from 'actionlint';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export type Finding = LintResult;

export const WORKFLOW_DIRS = ['.github/workflows', 'examples/workflows'];

/** Findings of actionlint 1.6.22 that newer actionlint no longer reports, each with the reason. */
const FALSE_POSITIVES: Array<{ pattern: RegExp; reason: string }> = [
  {
    // Only the undefined-variable finding for `vars` itself: `var.X` or `varz.X` are still reported.
    pattern: /^undefined variable "vars"\./,
    reason: 'the `vars` context (configuration variables) came after actionlint 1.6.22',
  },
];

let linter: Promise<(text: string, path: string) => LintResult[]> | undefined;

/** actionlint's findings for one workflow's text; `path` only names the file in the findings. */
export async function lintWorkflow(text: string, path: string): Promise<Finding[]> {
  linter ??= createLinter();
  const findings = (await linter)(text, path);
  return findings.filter((f) => !FALSE_POSITIVES.some((fp) => fp.pattern.test(f.message)));
}

/** Every workflow file (*.yml, *.yaml) under the given directories of `root`, relative to it. */
export function workflowFiles(root: string, dirs: string[] = WORKFLOW_DIRS): string[] {
  return dirs
    .flatMap((dir) =>
      readdirSync(join(root, dir), { withFileTypes: true })
        .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
        .map((e) => join(dir, e.name)),
    )
    .sort();
}

export async function lintFiles(root: string, files: string[]): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const file of files)
    findings.push(...(await lintWorkflow(readFileSync(join(root, file), 'utf8'), file)));
  return findings;
}

export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`;
}

async function main(): Promise<void> {
  const root = resolve(import.meta.dirname, '..');
  const args = process.argv.slice(2);
  const files = args.length ? args.map((a) => relative(root, resolve(a))) : workflowFiles(root);
  const findings = await lintFiles(root, files);
  for (const f of findings) console.log(formatFinding(f));
  console.log(`actionlint: ${files.length} workflow files, ${findings.length} findings`);
  if (findings.length) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
