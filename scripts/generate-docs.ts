// Regenerates the README's inputs and outputs tables from action.yml, and its fault-matrix table
// from the matrix the end-to-end test runs (__tests__/e2e/fault-matrix.ts), so the docs never
// drift. `npm run docs` writes them; `npm run docs -- --check` fails when the README is stale.
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

function replaceBetween(text: string, marker: string, content: string): string {
  const start = `<!-- ${marker}:start -->`;
  const end = `<!-- ${marker}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < 0) throw new Error(`README.md has no ${start} ... ${end} markers`);
  return `${text.slice(0, from + start.length)}\n${content}\n${text.slice(to)}`;
}

const action = parse(readFileSync('action.yml', 'utf8')) as ActionYaml;
const { inputs, outputs } = renderTables(action);
const readme = readFileSync('README.md', 'utf8');
const updated = replaceBetween(
  replaceBetween(replaceBetween(readme, 'inputs', inputs), 'outputs', outputs),
  'fault-matrix',
  renderFaultMatrix(SCENARIOS),
);
if (process.argv.includes('--check')) {
  if (updated !== readme) {
    console.error('README.md inputs/outputs/fault matrix are stale: run `npm run docs`');
    process.exit(1);
  }
} else {
  writeFileSync('README.md', updated);
}
