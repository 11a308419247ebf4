// Conformance of the emulated GitHub REST subset: token checks, comments, deployments, statuses.
import { admin, env } from '../helpers/emulator.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function gh(
  method: string,
  path: string,
  body?: unknown,
  token = env('GITHUB_TOKEN'),
): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await fetch(`${env('GITHUB_API_URL')}/repos/${env('GITHUB_REPOSITORY')}${path}`, {
    method,
    headers: {
      authorization: `token ${token}`,
      accept: 'application/vnd.github+json',
      'content-type': 'application/json',
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {}, headers: res.headers };
}

describe('GitHub REST', () => {
  it('rejects a bad token with 401 Bad credentials and an unknown repository with 404', async () => {
    const bad = await gh('GET', '/issues/1/comments', undefined, 'ghs_wrong');
    expect(bad.status).toBe(401);
    expect(bad.body.message).toBe('Bad credentials');
    const res = await fetch(`${env('GITHUB_API_URL')}/repos/someone/else/issues/1/comments`, {
      headers: { authorization: `Bearer ${env('GITHUB_TOKEN')}` },
    });
    expect(res.status).toBe(404);
  });

  it('creates, lists (paginated), updates and deletes issue comments', async () => {
    const created = await gh('POST', '/issues/71/comments', { body: '<!-- runway -->\nfirst' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      body: '<!-- runway -->\nfirst',
      user: { login: 'github-actions[bot]', type: 'Bot' },
    });
    await gh('POST', '/issues/71/comments', { body: 'second' });
    const page1 = await gh('GET', '/issues/71/comments?per_page=1');
    expect(page1.body).toHaveLength(1);
    expect(page1.headers.get('link')).toContain('rel="next"');
    const updated = await gh('PATCH', `/issues/comments/${created.body.id}`, { body: 'edited' });
    expect(updated.body.body).toBe('edited');
    expect((await gh('DELETE', `/issues/comments/${created.body.id}`)).status).toBe(204);
    const all = await gh('GET', '/issues/71/comments');
    expect(all.body.map((c: Json) => c.body)).toEqual(['second']);
    expect((await gh('POST', '/issues/71/comments', { body: '' })).status).toBe(422);
  });

  it('records deployments, their statuses (earlier ones go inactive) and commit statuses', async () => {
    const sha = env('GITHUB_SHA');
    const first = await gh('POST', '/deployments', {
      ref: 'feature',
      sha,
      environment: 'pr-71',
      transient_environment: true,
      required_contexts: [],
    });
    expect(first.status).toBe(201);
    await gh('POST', `/deployments/${first.body.id}/statuses`, {
      state: 'success',
      environment_url: 'http://one',
    });
    const second = await gh('POST', '/deployments', {
      ref: 'feature',
      sha,
      environment: 'pr-71',
      required_contexts: [],
    });
    const status = await gh('POST', `/deployments/${second.body.id}/statuses`, {
      state: 'success',
      environment_url: 'http://two',
    });
    expect(status.body).toMatchObject({ state: 'success', environment_url: 'http://two' });
    const firstStatuses = await gh('GET', `/deployments/${first.body.id}/statuses`);
    expect(firstStatuses.body[0].state).toBe('inactive');
    expect((await gh('POST', `/deployments/${second.body.id}/statuses`, { state: 'done' })).status).toBe(422);
    const listed = await gh('GET', '/deployments?environment=pr-71');
    expect(listed.body.map((d: Json) => d.id)).toEqual([second.body.id, first.body.id]);

    const commit = await gh('POST', `/statuses/${sha}`, {
      state: 'success',
      context: 'runway/health',
      target_url: 'http://two',
    });
    expect(commit.status).toBe(201);
    const statuses = await gh('GET', `/commits/${sha}/statuses`);
    expect(statuses.body[0]).toMatchObject({ state: 'success', context: 'runway/health' });
    expect((await gh('POST', `/statuses/${sha}`, { state: 'green' })).status).toBe(422);
  });

  it('explains validation failures field by field, as GitHub does', async () => {
    const empty = await gh('POST', '/issues/72/comments', {});
    expect(empty.status).toBe(422);
    expect(empty.body).toMatchObject({
      message: 'Validation Failed',
      errors: [{ resource: 'IssueComment', field: 'body', code: 'missing_field' }],
    });
    const badState = await gh('POST', `/statuses/${env('GITHUB_SHA')}`, { state: 'green' });
    expect(badState.body.errors[0]).toMatchObject({ resource: 'Status', field: 'state', code: 'custom' });
  });

  it('refuses a deployment while the commit has unsuccessful statuses, unless required_contexts is relaxed', async () => {
    const sha = 'c0ffee0000000000000000000000000000000001';
    await gh('POST', `/statuses/${sha}`, { state: 'pending', context: 'ci/test' });
    const refused = await gh('POST', '/deployments', { ref: sha, environment: 'pr-72' });
    expect(refused.status).toBe(409);
    expect(refused.body.message).toBe(`Conflict: Commit status checks failed for ${sha}.`);
    const relaxed = await gh('POST', '/deployments', {
      ref: sha,
      environment: 'pr-72',
      required_contexts: [],
    });
    expect(relaxed.status).toBe(201);
    expect(relaxed.body).toMatchObject({
      sha,
      ref: sha,
      task: 'deploy',
      creator: { login: 'github-actions[bot]' },
      statuses_url: expect.stringContaining(`/deployments/${relaxed.body.id}/statuses`),
    });
    await gh('POST', `/statuses/${sha}`, { state: 'success', context: 'ci/test' });
    expect((await gh('POST', '/deployments', { ref: sha, environment: 'pr-72' })).status).toBe(201);
    const combined = await gh('GET', `/commits/${sha}/status`);
    expect(combined.body).toMatchObject({ state: 'success', total_count: 1 });
  });

  it('links comment pages in both directions', async () => {
    for (const n of [1, 2, 3]) await gh('POST', '/issues/73/comments', { body: `c${n}` });
    const middle = await gh('GET', '/issues/73/comments?per_page=1&page=2');
    expect(middle.body.map((c: Json) => c.body)).toEqual(['c2']);
    const link = middle.headers.get('link') ?? '';
    expect(link).toContain('page=3>; rel="next"');
    expect(link).toContain('page=1>; rel="prev"');
    expect(middle.body[0].issue_url).toMatch(/\/issues\/73$/);
  });

  it('refuses writes a restricted installation token lacks, as GitHub does, and allows its reads', async () => {
    const readOnly = 'ghs_readOnly000000000000000000000000000';
    await admin.seed({
      github: {
        tokenPermissions: { [readOnly]: { pull_requests: 'read', issues: 'read', statuses: 'write' } },
      },
    });
    const refused = await gh('POST', '/issues/72/comments', { body: 'x' }, readOnly);
    expect(refused.status).toBe(403);
    expect(refused.body.message).toBe('Resource not accessible by integration');
    expect((await gh('GET', '/issues/72/comments', undefined, readOnly)).status).toBe(200);
    expect((await gh('GET', `/commits/${env('GITHUB_SHA')}/statuses`, undefined, readOnly)).status).toBe(200);
    expect((await gh('POST', '/deployments', { ref: 'main', required_contexts: [] }, readOnly)).status).toBe(
      403,
    );
    const status = await gh(
      'POST',
      `/statuses/${env('GITHUB_SHA')}`,
      { state: 'pending', context: 'x' },
      readOnly,
    );
    expect(status.status).toBe(201);
  });

  it('answers GET /user for personal tokens only, and shows who wrote each comment', async () => {
    const pat = 'ghp_octocat0000000000000000000000000000';
    await admin.seed({
      github: {
        personalTokens: { [pat]: 'octocat' },
        comments: [
          {
            issue: 89,
            body: '<!-- runway:comment service=x environment= -->\nby hand',
            user: { login: 'mallory', type: 'User' },
          },
        ],
      },
    });
    const user = async (token: string): Promise<Response> =>
      fetch(`${env('GITHUB_API_URL')}/user`, { headers: { authorization: `Bearer ${token}` } });
    expect((await user(env('GITHUB_TOKEN'))).status).toBe(403);
    const me = await user(pat);
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ login: 'octocat', type: 'User' });
    const byPat = await gh('POST', '/issues/89/comments', { body: 'from a PAT' }, pat);
    expect(byPat.body.user).toMatchObject({ login: 'octocat', type: 'User' });
    const list = (await gh('GET', '/issues/89/comments')).body as unknown as Json[];
    expect(list.map((c) => [c.user.login, c.user.type])).toEqual([
      ['mallory', 'User'],
      ['octocat', 'User'],
    ]);
  });

  it("tells authors apart by id: the Actions bot, an App's bot and users, and GraphQL names the viewer", async () => {
    const app = 'ghs_appInstallation000000000000000000000';
    await admin.seed({
      github: {
        appTokens: { [app]: 'deploy-bot' },
        comments: [{ issue: 90, body: 'by another app', user: { login: 'renovate[bot]', type: 'Bot' } }],
      },
    });
    const viewer = async (token: string): Promise<Json> => {
      const res = await fetch(`${env('GITHUB_API_URL')}/graphql`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'query { viewer { login databaseId } }' }),
      });
      return ((await res.json()) as Json).data.viewer as Json;
    };
    expect(await viewer(env('GITHUB_TOKEN'))).toEqual({ login: 'github-actions[bot]', databaseId: 41898282 });
    const appBot = await viewer(app);
    expect(appBot.login).toBe('deploy-bot[bot]');
    const forbidden = await fetch(`${env('GITHUB_API_URL')}/user`, {
      headers: { authorization: `Bearer ${app}` },
    });
    expect(forbidden.status).toBe(403);
    await gh('POST', '/issues/90/comments', { body: 'from the app' }, app);
    await gh('POST', '/issues/90/comments', { body: 'from the job' });
    const list = (await gh('GET', '/issues/90/comments')).body as unknown as Json[];
    expect(list.map((c) => [c.user.login, c.user.type])).toEqual([
      ['renovate[bot]', 'Bot'],
      ['deploy-bot[bot]', 'Bot'],
      ['github-actions[bot]', 'Bot'],
    ]);
    const ids = list.map((c) => c.user.id as number);
    expect(ids[1]).toBe(appBot.databaseId);
    expect(ids[2]).toBe(41898282);
    expect(new Set(ids).size).toBe(3);
  });
});
