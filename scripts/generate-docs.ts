// Regenerates the README's inputs and outputs tables from action.yml, and the fault-matrix table of
// docs/reliability.md from the matrix the end-to-end test runs (__tests__/e2e/fault-matrix.ts), so
// the docs never drift. `npm run docs` writes them; `npm run docs -- --check` fails when one is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import { expectationsOf, SCENARIOS, type Scenario } from '../__tests__/e2e/fault-matrix.js';

interface ActionYaml {
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description: string }>;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ').trim();

export function renderTables(action: ActionYaml): { inputs: string; outputs: string } {
  const inputs = [
    '| input | required | default | description |',
    '| --- | --- | --- | --- |',
    ...Object.entries(action.inputs).map(
      ([name, i]) =>
        `| \`${name}\` | ${i.required ? 'yes' : 'no'} | ${i.default !== undefined ? `\`${cell(String(i.default))}\`` : ''} | ${cell(i.description)} |`,
    ),
  ].join('\n');
  const outputs = [
    '| output | description |',
    '| --- | --- |',
    ...Object.entries(action.outputs).map(([name, o]) => `| \`${name}\` | ${cell(o.description)} |`),
  ].join('\n');
  return { inputs, outputs };
}

/** One row per scenario: the fault, and what the test asserts once the action ran through it. */
export function renderFaultMatrix(scenarios: Scenario[]): string {
  const code = (text: string): string => (text ? `\`${text.replace(/`/g, "'")}\`` : '');
  return [
    '| area | fault | exit | serving afterwards | the message matches | requests seen |',
    '| --- | --- | --- | --- | --- | --- |',
    ...scenarios.map((s) => {
      const e = expectationsOf(s);
      return `| ${s.area} | ${cell(s.name)} | ${e.exit} | ${e.serves} | ${cell(code(e.message))} | ${cell(e.requests)} |`;
    }),
  ].join('\n');
}

function replaceBetween(text: string, file: string, marker: string, content: string): string {
  const start = `<!-- ${marker}:start -->`;
  const end = `<!-- ${marker}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < 0) throw new Error(`${file} has no ${start} ... ${end} markers`);
  return `${text.slice(0, from + start.length)}\n${content}\n${text.slice(to)}`;
}

const action = parse(readFileSync('action.yml', 'utf8')) as ActionYaml;
const { inputs, outputs } = renderTables(action);

/** Each generated table, by the file that carries it and the marker around it. */
const GENERATED: Array<{ file: string; marker: string; content: string }> = [
  { file: 'README.md', marker: 'inputs', content: inputs },
  { file: 'README.md', marker: 'outputs', content: outputs },
  { file: 'docs/reliability.md', marker: 'fault-matrix', content: renderFaultMatrix(SCENARIOS) },
];

const stale: string[] = [];
for (const file of new Set(GENERATED.map((g) => g.file))) {
  const text = readFileSync(file, 'utf8');
  const updated = GENERATED.filter((g) => g.file === file).reduce(
    (acc, g) => replaceBetween(acc, file, g.marker, g.content),
    text,
  );
  if (updated === text) continue;
  if (process.argv.includes('--check')) stale.push(file);
  else writeFileSync(file, updated);
}
if (stale.length) {
  console.error(`Generated tables are stale in ${stale.join(', ')}: run \`npm run docs\``);
  process.exit(1);
}
