// The sticky comment's pure parts: which comments are Runway's own (the marker as the first line,
// the token's own identity as author), and how earlier runs fold into the history section.
import {
  ACTIONS_BOT,
  commentMarker,
  ownComments,
  readHistory,
  renderComment,
  type RunEntry,
} from '../../src/report/github.js';
import { gfm } from '../../src/common/markdown.js';

const key = { service: 'hello', environment: 'preview', preview: undefined, regions: ['us-central1'] };
const marker = commentMarker(key);
const bot = { login: 'github-actions[bot]', id: ACTIONS_BOT.id, type: 'Bot' };
const entry = (n: number): RunEntry => ({
  run: String(n),
  revision: `hello-0000${n}-abc`,
  outcome: 'healthy',
  at: '2026-01-02T03:04:05.000Z',
});

describe('the sticky comment', () => {
  it("is found by its marker as the first line and the token's own identity as author, oldest first", () => {
    const comments = [
      { id: 9, body: `${marker}\nlater`, user: bot },
      { id: 3, body: `${marker}\nforged`, user: { login: 'mallory', id: 77, type: 'User' } },
      { id: 5, body: `${marker}\nfirst`, user: bot },
      { id: 7, body: commentMarker({ ...key, service: 'other' }), user: bot },
      { id: 8, body: `quoted:\n${marker}`, user: bot },
      { id: 4, body: `${marker}\nanother app`, user: { login: 'renovate[bot]', id: 29139614, type: 'Bot' } },
    ];
    expect(ownComments(comments, marker, ACTIONS_BOT).map((c) => c.id)).toEqual([5, 9]);
    expect(ownComments(comments, marker, { login: 'mallory', id: 77 }).map((c) => c.id)).toEqual([3]);
  });

  it('has a marker of its own for every service, environment, preview and set of regions', () => {
    const markers = new Set([
      marker,
      commentMarker({ ...key, environment: undefined }),
      commentMarker({ ...key, service: 'other' }),
      commentMarker({ ...key, preview: 'pr-7' }),
      commentMarker({ ...key, regions: ['us-central1', 'europe-west1'] }),
      commentMarker({ ...key, environment: 'x --> <h1>' }),
    ]);
    expect(markers.size).toBe(6);
    expect(commentMarker({ ...key, regions: ['b-x1', 'a-y1'] })).toBe(
      commentMarker({ ...key, regions: ['a-y1', 'b-x1'] }),
    );
    expect(commentMarker({ ...key, environment: 'x --> <h1>' })).not.toMatch(/-->.*-->/);
  });

  it('folds the previous run into a collapsed history, newest first, keeping at most ten', () => {
    const first = renderComment(marker, gfm`report 1`, entry(1), undefined);
    expect(first).not.toContain('<details>');
    expect(readHistory(first)).toEqual({ current: entry(1), earlier: [] });
    const second = renderComment(marker, gfm`report 2`, entry(2), first);
    expect(second).toContain('report 2');
    expect(second).not.toContain('report 1');
    expect(second).toContain('<details><summary>Earlier runs (1)</summary>');
    expect(second).toContain('- run 1: `hello-00001-abc` healthy (2026-01-02T03:04:05.000Z)');
    let body = second;
    for (let n = 3; n <= 14; n++) body = renderComment(marker, gfm`report ${n}`, entry(n), body);
    const history = readHistory(body);
    expect(history.current).toEqual(entry(14));
    expect(history.earlier.map((h) => h.run)).toEqual(['13', '12', '11', '10', '9', '8', '7', '6', '5', '4']);
    expect(body.split('\n')[0]).toBe(marker);
  });
});
