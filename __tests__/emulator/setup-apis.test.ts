// The APIs the one-time set-up calls, where gcloud's happy path (readme-setup.test.ts) does not
// reach: who may call them, what Google refuses, and that what they create is what the rest of the
// emulator then enforces.
import { accessTokenFor } from '../helpers/auth.js';
import { admin, env } from '../helpers/emulator.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const project = (): string => env('RUNWAY_EMULATOR_PROJECT');
const owner = (): string => `owner@${project()}.iam.gserviceaccount.com`;

async function call(api: string, method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(`${env(`CLOUDSDK_API_ENDPOINT_OVERRIDES_${api}`)}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Json };
}

let ownerToken: string;
let deployerToken: string;

beforeAll(async () => {
  ownerToken = await accessTokenFor(owner());
  deployerToken = await accessTokenFor();
});

describe('IAM v1', () => {
  it('creates a service account for the owner and refuses the deployer, and a second one of the name', async () => {
    const create = (token: string) =>
      call('IAM', 'POST', `v1/projects/${project()}/serviceAccounts`, token, {
        accountId: 'setup-apis-sa',
        serviceAccount: { displayName: 'made here' },
      });
    expect((await create(deployerToken)).status).toBe(403);
    const created = await create(ownerToken);
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      email: `setup-apis-sa@${project()}.iam.gserviceaccount.com`,
      displayName: 'made here',
      projectId: project(),
    });
    expect((await create(ownerToken)).body.error.status).toBe('ALREADY_EXISTS');
  });

  it('refuses a GitHub provider without an attribute condition, and one without google.subject', async () => {
    const pools = `v1/projects/${project()}/locations/global/workloadIdentityPools`;
    const pool = await call('IAM', 'POST', `${pools}?workloadIdentityPoolId=setup-apis`, ownerToken, {});
    expect(pool.body).toMatchObject({ done: true, response: { state: 'ACTIVE' } });
    const provider = (mapping: Json, condition?: string) =>
      call(
        'IAM',
        'POST',
        `${pools}/setup-apis/providers?workloadIdentityPoolProviderId=github-x`,
        ownerToken,
        {
          attributeMapping: mapping,
          ...(condition ? { attributeCondition: condition } : {}),
          oidc: { issuerUri: 'https://token.actions.githubusercontent.com' },
        },
      );
    const unconditioned = await provider({ 'google.subject': 'assertion.sub' });
    expect(unconditioned.status).toBe(400);
    expect(JSON.stringify(unconditioned.body)).toContain('attribute condition');
    const subjectless = await provider(
      { 'attribute.repository': 'assertion.repository' },
      "assertion.sub == 'x'",
    );
    expect(subjectless.status).toBe(400);
    expect(JSON.stringify(subjectless.body)).toContain('google.subject');
    const made = await provider({ 'google.subject': 'assertion.sub' }, "assertion.repository == 'o/r'");
    expect(made.body).toMatchObject({
      done: true,
      response: { attributeCondition: "assertion.repository == 'o/r'" },
    });
    const operation = await call('IAM', 'GET', `v1/${String(made.body.name)}`, ownerToken);
    expect(operation.body).toEqual(made.body);
  });
});

describe("the project's IAM policy", () => {
  it('refuses a role IAM does not know, and a stale etag', async () => {
    const path = `v1/projects/${project()}`;
    const policy = (await call('CLOUDRESOURCEMANAGER', 'POST', `${path}:getIamPolicy`, ownerToken, {})).body;
    const set = (p: Json) =>
      call('CLOUDRESOURCEMANAGER', 'POST', `${path}:setIamPolicy`, ownerToken, { policy: p });
    const unknown = await set({
      ...policy,
      bindings: [...(policy.bindings as Json[]), { role: 'roles/made.up', members: ['user:a@b.c'] }],
    });
    expect(unknown.status).toBe(400);
    const granted = await set({
      ...policy,
      bindings: [...(policy.bindings as Json[]), { role: 'roles/run.viewer', members: ['user:a@b.c'] }],
    });
    expect(granted.status).toBe(200);
    expect((await set(policy)).body.error.status).toBe('ABORTED');
    expect(
      (await call('CLOUDRESOURCEMANAGER', 'POST', `${path}:getIamPolicy`, deployerToken, {})).status,
    ).toBe(403);
  });
});

describe('Service Usage and Artifact Registry', () => {
  it('enabling Cloud Run creates its service agent, with roles/run.serviceAgent on the project', async () => {
    const number = env('RUNWAY_EMULATOR_PROJECT_NUMBER');
    const op = await call(
      'SERVICEUSAGE',
      'POST',
      `v1/projects/${project()}/services:batchEnable`,
      ownerToken,
      {
        serviceIds: ['run.googleapis.com', 'compute.googleapis.com'],
      },
    );
    expect(op.body).toMatchObject({
      done: true,
      response: { services: [{ state: 'ENABLED' }, { state: 'ENABLED' }] },
    });
    expect((await call('SERVICEUSAGE', 'GET', `v1/${String(op.body.name)}`, ownerToken)).body).toEqual(
      op.body,
    );
    const state = (await admin.state()) as Json;
    expect(state.bindings[`projects/${project()}`]).toContainEqual({
      role: 'roles/run.serviceAgent',
      members: [`serviceAccount:service-${number}@serverless-robot-prod.iam.gserviceaccount.com`],
    });
  });

  it('a repository created through the API: a writer may read it, but only an admin may change its policy', async () => {
    const base = `v1/projects/${project()}/locations/us-central1/repositories`;
    const created = await call('ARTIFACTREGISTRY', 'POST', `${base}?repositoryId=setup-apis`, ownerToken, {
      format: 'DOCKER',
    });
    expect(created.body).toMatchObject({ done: true, response: { format: 'DOCKER' } });
    expect((await call('ARTIFACTREGISTRY', 'GET', `${base}/setup-apis`, deployerToken)).status).toBe(200);
    expect(
      (
        await call('ARTIFACTREGISTRY', 'POST', `${base}?repositoryId=setup-apis`, ownerToken, {
          format: 'DOCKER',
        })
      ).body.error.status,
    ).toBe('ALREADY_EXISTS');
    expect(
      (
        await call('ARTIFACTREGISTRY', 'POST', `${base}/setup-apis:setIamPolicy`, deployerToken, {
          policy: {},
        })
      ).status,
    ).toBe(403);
  });
});
