// The emulated GitHub against GitHub's own OpenAPI description (issue 17): every operation it
// serves, driven over HTTP, each answer validated for that operation and status against
// emulator/schemas/github-rest.json (from @octokit/openapi), required properties included.
import { admin, env } from '../helpers/emulator.js';
import {
  GITHUB_OPERATIONS,
  githubDescription,
  githubResponseProblems,
} from '../../emulator/schema/openapi.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const PAT = 'ghp_schema000000000000000000000000000000';
const seen = new Set<string>();

async function answer(
  operation: string,
  path: string,
  body?: unknown,
  token = env('GITHUB_TOKEN'),
): Promise<Json> {
  const method = operation.split(' ')[0]!;
  const res = await fetch(`${env('GITHUB_API_URL')}${path}`, {
    method,
    headers: {
      authorization: `token ${token}`,
      accept: 'application/vnd.github+json',
      'content-type': 'application/json',
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const json = text ? (JSON.parse(text) as Json) : undefined;
  expect({
    operation,
    status: res.status,
    problems: githubResponseProblems(operation, res.status, json),
  }).toEqual({
    operation,
    status: res.status < 300 ? res.status : json,
    problems: [],
  });
  seen.add(operation);
  return json ?? {};
}

beforeAll(async () => {
  await admin.seed({ github: { personalTokens: { [PAT]: 'schema-user' } } });
});

it('the description extracted holds every operation the emulator serves', () => {
  expect(Object.keys(githubDescription().operations).sort()).toEqual([...GITHUB_OPERATIONS].sort());
});

it('answers every operation it serves as GitHub describes it', async () => {
  const repo = `/repos/${env('GITHUB_REPOSITORY')}`;
  const sha = env('GITHUB_SHA');
  await answer('GET /user', '/user', undefined, PAT);

  const comment = await answer(
    'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
    `${repo}/issues/301/comments`,
    {
      body: 'schema',
    },
  );
  await answer('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', `${repo}/issues/301/comments`);
  await answer(
    'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}',
    `${repo}/issues/comments/${comment.id}`,
    {
      body: 'edited',
    },
  );
  await answer(
    'DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}',
    `${repo}/issues/comments/${comment.id}`,
  );

  await answer('POST /repos/{owner}/{repo}/statuses/{sha}', `${repo}/statuses/${sha}`, {
    state: 'success',
    context: 'schema/check',
    target_url: 'https://example.com/log',
    description: 'ok',
  });
  await answer('GET /repos/{owner}/{repo}/commits/{ref}/statuses', `${repo}/commits/${sha}/statuses`);
  await answer('GET /repos/{owner}/{repo}/commits/{ref}/status', `${repo}/commits/${sha}/status`);

  const deployment = await answer('POST /repos/{owner}/{repo}/deployments', `${repo}/deployments`, {
    ref: 'feature',
    sha,
    environment: 'schema-env',
    auto_merge: false,
    required_contexts: [],
    transient_environment: true,
  });
  await answer('GET /repos/{owner}/{repo}/deployments', `${repo}/deployments?environment=schema-env`);
  await answer(
    'GET /repos/{owner}/{repo}/deployments/{deployment_id}',
    `${repo}/deployments/${deployment.id}`,
  );
  await answer(
    'POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses',
    `${repo}/deployments/${deployment.id}/statuses`,
    { state: 'success', environment_url: 'https://schema.example', log_url: 'https://example.com/log' },
  );
  await answer(
    'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses',
    `${repo}/deployments/${deployment.id}/statuses`,
  );
  expect([...seen].sort()).toEqual([...GITHUB_OPERATIONS].sort());
});

/** A refusal: its status, and what is wrong with its body as GitHub's description of it. */
async function refusal(
  operation: string,
  path: string,
  body?: unknown,
  token = env('GITHUB_TOKEN'),
): Promise<{ status: number; problems: string[] }> {
  const res = await fetch(`${env('GITHUB_API_URL')}${path}`, {
    method: operation.split(' ')[0]!,
    headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, problems: githubResponseProblems(operation, res.status, await res.json()) };
}

it('refuses as GitHub describes its errors: basic-error, and validation-error for a 422', async () => {
  const repo = `/repos/${env('GITHUB_REPOSITORY')}`;
  const sha = env('GITHUB_SHA');
  expect(await refusal('GET /user', '/user', undefined, 'ghp_unknown')).toEqual({
    status: 401,
    problems: [],
  });
  // Statuses GitHub's description does not list for the operation are still checked, against its
  // common error shapes.
  expect(
    await refusal('POST /repos/{owner}/{repo}/statuses/{sha}', `${repo}/statuses/${sha}`, { state: 'bogus' }),
  ).toEqual({ status: 422, problems: [] });
  expect(
    await refusal('GET /repos/{owner}/{repo}/deployments/{deployment_id}', `${repo}/deployments/999999`),
  ).toEqual({ status: 404, problems: [] });
  expect(await refusal('POST /repos/{owner}/{repo}/deployments', `${repo}/deployments`, { sha })).toEqual({
    status: 422,
    problems: [],
  });
});

it('holds an error body to the shape: a 422 without documentation_url does not validate', () => {
  expect(
    githubResponseProblems('POST /repos/{owner}/{repo}/statuses/{sha}', 422, {
      message: 'Validation Failed',
      errors: [{ resource: 'Status', field: 'state', code: 'invalid' }],
    }),
  ).toEqual(['documentation_url: required, missing']);
  expect(githubResponseProblems('GET /user', 401, { message: 7 })).toEqual(['message: 7 is not string']);
});

it('answers GraphQL’s viewer by GitHub’s GraphQL schema: a field User lacks is refused, not null', async () => {
  const ask = async (query: string): Promise<Json> => {
    const res = await fetch(`${env('GITHUB_API_URL')}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env('GITHUB_TOKEN')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Json;
  };
  expect(await ask('query { viewer { login databaseId } }')).toEqual({
    data: { viewer: { login: 'github-actions[bot]', databaseId: 41898282 } },
  });
  expect(await ask('{ viewer { login loginn } }')).toEqual({
    errors: [
      {
        path: ['query', 'viewer', 'loginn'],
        extensions: { code: 'undefinedField', typeName: 'User', fieldName: 'loginn' },
        message: "Field 'loginn' doesn't exist on type 'User'",
      },
    ],
  });
  // A nullable field the emulator has no value for is null, as GitHub may answer it.
  expect((await ask('{ viewer { bio } }')).data.viewer).toEqual({ bio: null });
});
