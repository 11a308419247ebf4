// The leak scan every end-to-end run can go through: where a value that must stay secret shows up
// in what the action left behind — its log (less the ::add-mask:: commands the runner consumes),
// its outputs, its job summary, and every file in its RUNNER_TEMP.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ActionRun } from './action.js';
import { admin } from './emulator.js';

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

/** Every place (as "where: line") in which one of `secrets` appears; `elsewhere` adds places. */
export function findLeaks(
  run: ActionRun,
  secrets: string[],
  elsewhere: Array<[string, string]> = [],
): string[] {
  const places: Array<[string, string]> = [
    ...elsewhere,
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

/** Inputs that carry credentials of the user's own, beside what the emulator issued. */
const SECRET_INPUTS = ['webhook_secret', 'webhook_token', 'github_token'];

interface GitHubState {
  comments?: Record<string, Array<{ body?: string }>>;
  deployments?: Array<Record<string, unknown>>;
  commitStatuses?: unknown;
}

/** Files the run left in the checkout (untracked and not ignored). */
function workspaceFiles(workspace: string): Array<[string, string]> {
  const listed = spawnSync('git', ['ls-files', '--others', '--exclude-standard', '-z'], { cwd: workspace });
  if (listed.status !== 0) return [];
  return listed.stdout
    .toString('utf8')
    .split('\0')
    .filter((f) => f && statSync(join(workspace, f), { throwIfNoEntry: false })?.isFile())
    .map((f): [string, string] => [`workspace ${f}`, readFileSync(join(workspace, f), 'utf8')]);
}

/**
 * The scan every end-to-end run goes through (runAction calls it): no credential the emulator ever
 * issued (OIDC, access and ID tokens), no stored secret value, no GitHub token and no webhook secret
 * or token given as input may appear in the run's log, outputs, job summary, RUNNER_TEMP, the files
 * it left in the workspace, or what it wrote to GitHub (comments, deployments, statuses).
 */
export async function leaksAfterRun(
  run: ActionRun,
  inputs: Record<string, string>,
  workspace: string,
): Promise<string[]> {
  const { values } = await admin.credentials();
  const given = SECRET_INPUTS.map((n) => inputs[n] ?? '').filter((v) => v.trim().length >= 8);
  const github = ((await admin.state()).github ?? {}) as GitHubState;
  const written: Array<[string, string]> = [
    ...Object.entries(github.comments ?? {}).flatMap(([issue, list]) =>
      list.map((c): [string, string] => [`comment on #${issue}`, String(c.body ?? '')]),
    ),
    ['deployments', JSON.stringify(github.deployments ?? [])],
    ['commit statuses', JSON.stringify(github.commitStatuses ?? [])],
    ...workspaceFiles(workspace),
  ];
  return findLeaks(run, [...values, ...given], written);
}
