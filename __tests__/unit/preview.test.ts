// Previews, pure: the pull request read from the event (a fork is never trusted, unknown counts as
// a fork), the tag and refusals before anything changes, and which revisions keep_revisions deletes.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_DELETIONS_PER_RUN, revisionsToPrune, rolloutInProgress } from '../../src/deploy/prune.js';
import { eventFromEnv, type GitHubEvent } from '../../src/inputs/event.js';
import { previewTarget } from '../../src/rollout/preview.js';
import type { Service } from '../../src/gcp/run-types.js';

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
  });
  const own = { number: 7, headSha: 'abc', fromFork: false };
  it('tags the preview pr-NUMBER', () => {
    expect(previewTarget('preview', 'hello', event(own))).toEqual({ pullRequest: 7, tag: 'pr-7' });
    expect(previewTarget('cleanup', 'hello', event(own))).toEqual({ pullRequest: 7, tag: 'pr-7' });
  });
  it("refuses a fork's preview, naming the safe pattern; a fork's clean-up has nothing to do", () => {
    const fork = event({ ...own, fromFork: true });
    expect(() => previewTarget('preview', 'hello', fork)).toThrow(/comes from a fork.*Nothing was changed/s);
    expect(() => previewTarget('preview', 'hello', fork)).toThrow(
      expect.objectContaining({ fix: expect.stringContaining('workflow_run') }),
    );
    expect(previewTarget('cleanup', 'hello', fork)).toBeUndefined();
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

describe('revisionsToPrune', () => {
  const rev = (name: string, minute: number) => ({
    name: `projects/p/locations/l/services/s/revisions/${name}`,
    createTime: `2026-11-24T10:${String(minute).padStart(2, '0')}:00Z`,
  });
  const revisions = [
    rev('s-1', 1),
    rev('s-2', 2),
    rev('s-3', 3),
    rev('s-4', 4),
    rev('s-5', 5),
    rev('s-6', 6),
  ];
  const service: Service = {
    template: {},
    latestReadyRevision: 'projects/p/locations/l/services/s/revisions/s-6',
    latestCreatedRevision: 'projects/p/locations/l/services/s/revisions/s-6',
    traffic: [
      { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 's-4', percent: 100 },
      { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 's-2', percent: 0, tag: 'pr-9' },
    ],
  };
  it('deletes idle revisions (no traffic, no tag, not the latest) beyond the newest N', () => {
    expect(revisionsToPrune(revisions, service, 1)).toEqual(['s-3', 's-1']);
    expect(revisionsToPrune(revisions, service, 0)).toEqual(['s-5', 's-3', 's-1']);
    expect(revisionsToPrune(revisions, service, 3)).toEqual([]);
  });
  it('keeps the revision LATEST resolves to, and any revision the traffic statuses name', () => {
    const { latestCreatedRevision: _created, ...rest } = service;
    const latest: Service = {
      ...rest,
      traffic: [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 }],
      trafficStatuses: [
        { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 's-1', percent: 0, tag: 'x' },
      ],
    };
    expect(revisionsToPrune(revisions, latest, 0)).toEqual(['s-5', 's-4', 's-3', 's-2']);
  });
  it('never deletes a protected revision (the one that served before the run)', () => {
    expect(revisionsToPrune(revisions, service, 0, ['s-3'])).toEqual(['s-5', 's-1']);
  });
  it(`deletes at most ${MAX_DELETIONS_PER_RUN} per run, the oldest first`, () => {
    const many = Array.from({ length: 80 }, (_, i) => ({
      name: `projects/p/locations/l/services/s/revisions/m-${i}`,
      createTime: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
    }));
    const doomed = revisionsToPrune(many, { template: {} }, 10);
    expect(doomed).toHaveLength(MAX_DELETIONS_PER_RUN);
    expect(doomed).toContain('m-0');
    expect(doomed).not.toContain('m-69');
  });
  it("sees another rollout's candidate tag, and only Runway's tags", () => {
    const withTag = (tag: string): Service => ({
      template: {},
      traffic: [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 's-1', percent: 0, tag }],
    });
    expect(rolloutInProgress(withTag('rw-123-1-abc'))).toBe('rw-123-1-abc');
    expect(rolloutInProgress(withTag('r7k2'))).toBe('r7k2');
    expect(rolloutInProgress(withTag('pr-7'))).toBeUndefined();
    expect(rolloutInProgress(service)).toBeUndefined();
  });
});
