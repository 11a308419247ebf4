// The leak scan every end-to-end run can go through: where a value that must stay secret shows up
// in what the action left behind — its log (less the ::add-mask:: commands the runner consumes),
// its outputs, its job summary, and every file in its RUNNER_TEMP.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ActionRun } from './action.js';

function filesUnder(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return [];
    return stat.isDirectory() ? filesUnder(path) : [path];
  });
}

/** Every place (as "where: line") in which one of `secrets` appears. */
export function findLeaks(run: ActionRun, secrets: string[]): string[] {
  const places: Array<[string, string]> = [
    [
      'log',
      `${run.stdout}\n${run.stderr}`
        .split('\n')
        .filter((line) => !line.startsWith('::add-mask::'))
        .join('\n'),
    ],
    ...Object.entries(run.outputs).map(([name, value]): [string, string] => [`output ${name}`, value]),
    ['summary', run.summary],
    ...filesUnder(run.tempDir).map((path): [string, string] => [path, readFileSync(path, 'utf8')]),
  ];
  const leaks: string[] = [];
  for (const [where, text] of places) {
    for (const line of text.split('\n')) {
      if (secrets.some((s) => line.includes(s))) leaks.push(`${where}: ${line.slice(0, 200)}`);
    }
  }
  return leaks;
}
