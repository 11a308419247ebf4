// The sticky comment's pure parts: which comments are Runway's own, and how earlier runs fold
// into the history section.
import { commentMarker, ownComments, readHistory, renderComment } from '../../src/report/github.js';

const marker = commentMarker('hello', 'preview');

describe('the sticky comment', () => {
  it("is found by its marker and a bot (or the token's own user) as author, oldest first", () => {
    const comments = [
      { id: 9, body: `${marker}\nlater`, user: { login: 'github-actions[bot]', type: 'Bot' } },
      { id: 3, body: `${marker}\nforged`, user: { login: 'mallory', type: 'User' } },
      { id: 5, body: `${marker}\nfirst`, user: { login: 'github-actions[bot]', type: 'Bot' } },
      {
        id: 7,
        body: `${commentMarker('other', 'preview')}`,
        user: { login: 'github-actions[bot]', type: 'Bot' },
      },
    ];
    expect(ownComments(comments, marker).map((c) => c.id)).toEqual([5, 9]);
    expect(ownComments(comments, marker, 'mallory').map((c) => c.id)).toEqual([3]);
    expect(commentMarker('hello', undefined)).not.toBe(marker);
  });

  it('folds the previous run into a collapsed history, newest first, keeping at most ten', () => {
    const first = renderComment(marker, 'report 1', 'run 1: hello-00001 healthy', undefined);
    expect(first).not.toContain('<details>');
    expect(readHistory(first)).toEqual([]);
    const second = renderComment(marker, 'report 2', 'run 2: hello-00002 healthy', first);
    expect(second).toContain('report 2');
    expect(second).not.toContain('report 1');
    expect(second).toContain('<details><summary>Earlier runs (1)</summary>');
    expect(second).toContain('- run 1: hello-00001 healthy');
    let body = second;
    for (let n = 3; n <= 14; n++) body = renderComment(marker, `report ${n}`, `run ${n}`, body);
    const history = readHistory(body).map((h) => h.line);
    expect(history).toHaveLength(10);
    expect(history[0]).toBe('run 13');
    expect(body.startsWith(marker)).toBe(true);
  });
});
