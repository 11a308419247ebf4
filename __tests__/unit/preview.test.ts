// Previews, pure: the pull request read from the event (a fork is never trusted, unknown counts as
// a fork), and the tag and refusals before anything changes. (Which revisions keep_revisions
// deletes, on cleanup too: prune.test.ts.)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventFromEnv, type GitHubEvent } from '../../src/inputs/event.js';
import { previewTarget } from '../../src/rollout/preview.js';

function eventFile(payload: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'runway-event-')), 'event.json');
  writeFileSync(path, JSON.stringify(payload));
  return path;
}

const pr = (head: unknown, base: unknown = { full_name: 'o/r' }) => ({
  action: 'opened',
  pull_request: { number: 7, head: { sha: 'abc123', repo: head }, base: { repo: base } },
});

describe('eventFromEnv', () => {
  const env = (payload: unknown) => ({
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_REPOSITORY: 'o/r',
    GITHUB_EVENT_PATH: eventFile(payload),
  });
  it('reads the number, head commit and action of a pull request from the same repository', () => {
    expect(eventFromEnv(env(pr({ full_name: 'O/r' })))).toEqual({
      name: 'pull_request',
      action: 'opened',
      repo: { owner: 'o', repo: 'r' },
      pullRequest: { number: 7, headSha: 'abc123', fromFork: false },
      forkCode: false,
    });
  });
  it('counts a head in another repository, or a deleted or missing one, as a fork', () => {
    expect(eventFromEnv(env(pr({ full_name: 'someone/r' }))).pullRequest?.fromFork).toBe(true);
    expect(eventFromEnv(env(pr(null))).pullRequest?.fromFork).toBe(true);
    expect(eventFromEnv(env(pr(undefined))).pullRequest?.fromFork).toBe(true);
  });
  it('names no pull request for a push, or without an event file', () => {
    expect(eventFromEnv(env({ ref: 'refs/heads/main' })).pullRequest).toBeUndefined();
    expect(eventFromEnv({ GITHUB_EVENT_NAME: 'push' }).pullRequest).toBeUndefined();
  });
});

describe('previewTarget', () => {
  const event = (pullRequest: GitHubEvent['pullRequest'], name = 'pull_request'): GitHubEvent => ({
    name,
    action: 'opened',
    repo: { owner: 'o', repo: 'r' },
    pullRequest,
    forkCode: pullRequest?.fromFork ?? false,
  });
  const own = { number: 7, headSha: 'abc', fromFork: false };
  it('tags the preview pr-NUMBER', () => {
    expect(previewTarget('preview', 'hello', event(own))).toEqual({ pullRequest: 7, tag: 'pr-7' });
    expect(previewTarget('cleanup', 'hello', event(own))).toEqual({ pullRequest: 7, tag: 'pr-7' });
  });
  it("leaves a fork's preview to isolationFor; a fork's clean-up works only where forks are previewed", () => {
    const fork = event({ ...own, fromFork: true });
    expect(previewTarget('preview', 'hello', fork)).toEqual({ pullRequest: 7, tag: 'pr-7' });
    expect(previewTarget('cleanup', 'hello', fork)).toBeUndefined();
    expect(previewTarget('cleanup', 'hello', fork, true)).toEqual({ pullRequest: 7, tag: 'pr-7' });
  });
  it('refuses a run that is not for a pull request', () => {
    expect(() => previewTarget('preview', 'hello', event(undefined, 'push'))).toThrow(
      /Input 'preview' is for pull requests, but this run was started by 'push'/,
    );
    expect(() => previewTarget('cleanup', 'hello', event(undefined, 'push'))).toThrow(/Input 'cleanup'/);
  });
  it('refuses a preview on a closed pull request: it would outlive its cleanup', () => {
    const closed: GitHubEvent = { ...event(own), action: 'closed' };
    expect(() => previewTarget('preview', 'hello', closed)).toThrow(/#7 is closed.*Nothing was changed/s);
    expect(previewTarget('cleanup', 'hello', closed)).toEqual({ pullRequest: 7, tag: 'pr-7' });
  });
  it('refuses a service name that leaves no room for the tag, naming `service`', () => {
    expect(() => previewTarget('preview', 'a'.repeat(45), event(own))).toThrow(/Input 'service'/);
  });
});
