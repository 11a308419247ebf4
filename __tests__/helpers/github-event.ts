// The environment GitHub gives a step for a pull-request event: the event name, the event file
// written the way the runner writes it, and the merge ref.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { env } from './emulator.js';

/** The environment of a run for `pull_request` event `action` on pull request `number`. */
export function pullRequestRun(
  number: number,
  action: 'synchronize' | 'closed',
  headSha: string,
  headRepo = env('GITHUB_REPOSITORY'),
): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'runway-event-'));
  const path = join(dir, 'event.json');
  const repository = env('GITHUB_REPOSITORY');
  writeFileSync(
    path,
    JSON.stringify({
      action,
      number,
      pull_request: {
        number,
        head: { sha: headSha, ref: `feature-${number}`, repo: { full_name: headRepo } },
        base: { ref: 'main', repo: { full_name: repository } },
      },
      repository: { full_name: repository },
    }),
  );
  return {
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: path,
    GITHUB_REF: `refs/pull/${number}/merge`,
  };
}
