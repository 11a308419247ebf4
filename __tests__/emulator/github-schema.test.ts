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
