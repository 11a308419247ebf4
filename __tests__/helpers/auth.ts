// Gets real tokens from the emulator the way a workflow would: GitHub OIDC → STS → IAM Credentials;
// writes the credentials file google-github-actions/auth leaves behind; seeds accounts and roles.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { externalAccountCredentials } from '../../emulator/gcloud.js';
import { admin, env } from './emulator.js';

export async function githubOidcToken(audience?: string): Promise<string> {
  const aud = audience ?? `https://iam.googleapis.com/${env('RUNWAY_EMULATOR_WIF_PROVIDER')}`;
  const res = await fetch(`${env('ACTIONS_ID_TOKEN_REQUEST_URL')}&audience=${encodeURIComponent(aud)}`, {
    headers: { authorization: `Bearer ${env('ACTIONS_ID_TOKEN_REQUEST_TOKEN')}` },
  });
  if (!res.ok) throw new Error(`OIDC token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { value: string }).value;
}

export async function federatedToken(): Promise<string> {
  const res = await fetch(`${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_STS')}v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      audience: `//iam.googleapis.com/${env('RUNWAY_EMULATOR_WIF_PROVIDER')}`,
      grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
      requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
      scope: 'https://www.googleapis.com/auth/cloud-platform',
      subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt',
      subjectToken: await githubOidcToken(),
    }),
  });
  if (!res.ok) throw new Error(`STS: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** An access token for a service account the emulated repository may impersonate (the deployer by default). */
export async function accessTokenFor(
  serviceAccount = env('RUNWAY_EMULATOR_SERVICE_ACCOUNT'),
): Promise<string> {
  const sts = await federatedToken();
  const res = await fetch(
    `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS')}v1/projects/-/serviceAccounts/${serviceAccount}:generateAccessToken`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${sts}` },
      body: JSON.stringify({ scope: ['https://www.googleapis.com/auth/cloud-platform'], lifetime: '3600s' }),
    },
  );
  if (!res.ok) throw new Error(`generateAccessToken: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

/**
 * Seeds a service account the emulated repository may impersonate, with the given project roles,
 * and returns its email. Tests use their own accounts so they never change the default world.
 */
export async function seedServiceAccount(name: string, projectRoles: string[]): Promise<string> {
  const project = env('RUNWAY_EMULATOR_PROJECT');
  const email = `${name}@${project}.iam.gserviceaccount.com`;
  const res = await fetch(`${env('RUNWAY_EMULATOR_URL')}/seed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      serviceAccounts: [email],
      bindings: [
        {
          resource: `projects/${project}/serviceAccounts/${email}`,
          role: 'roles/iam.workloadIdentityUser',
          members: [repositoryPrincipalSet()],
        },
        ...projectRoles.map((role) => ({
          resource: `projects/${project}`,
          role,
          members: [`serviceAccount:${email}`],
        })),
      ],
    }),
  });
  if (!res.ok) throw new Error(`seed ${email}: ${res.status} ${await res.text()}`);
  return email;
}

/** A Google ID token for `serviceAccount` (the deployer by default), minted through IAM Credentials. */
export async function idTokenFor(
  audience: string,
  serviceAccount = env('RUNWAY_EMULATOR_SERVICE_ACCOUNT'),
): Promise<string> {
  const res = await fetch(
    `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS')}v1/projects/-/serviceAccounts/${serviceAccount}:generateIdToken`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await federatedToken()}` },
      body: JSON.stringify({ audience, includeEmail: true }),
    },
  );
  if (!res.ok) throw new Error(`generateIdToken: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/**
 * The external_account credentials file google-github-actions/auth writes (api-facts §3.3), its
 * endpoints pointed at the emulator; with `serviceAccount` it impersonates that account, without
 * it is Direct Workload Identity. Returns the file's path, for GOOGLE_APPLICATION_CREDENTIALS.
 */
export function writeAuthActionCredentials(serviceAccount: string | undefined): string {
  const dir = mkdtempSync(join(tmpdir(), 'runway-adc-'));
  const path = join(dir, 'gha-creds.json');
  writeFileSync(
    path,
    JSON.stringify(
      externalAccountCredentials({
        provider: env('RUNWAY_EMULATOR_WIF_PROVIDER'),
        oidcRequestUrl: env('ACTIONS_ID_TOKEN_REQUEST_URL'),
        oidcRequestToken: env('ACTIONS_ID_TOKEN_REQUEST_TOKEN'),
        stsUrl: env('CLOUDSDK_API_ENDPOINT_OVERRIDES_STS'),
        iamCredentialsUrl: env('CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS'),
        ...(serviceAccount ? { serviceAccount } : {}),
      }),
    ),
  );
  return path;
}

/**
 * A runtime account the deployer may act as, which may pull the repository's images and nothing
 * else (no Secret Manager role): tests grant it what they prove is needed. Returns its email.
 */
export async function seedRuntimeAccount(name: string): Promise<string> {
  const project = env('RUNWAY_EMULATOR_PROJECT');
  const email = `${name}@${project}.iam.gserviceaccount.com`;
  await admin.seed({
    serviceAccounts: [email],
    bindings: [
      {
        resource: `projects/${project}/serviceAccounts/${email}`,
        role: 'roles/iam.serviceAccountUser',
        members: [`serviceAccount:${env('RUNWAY_EMULATOR_SERVICE_ACCOUNT')}`],
      },
      {
        resource: `projects/${project}`,
        role: 'roles/artifactregistry.reader',
        members: [`serviceAccount:${email}`],
      },
    ],
  });
  return email;
}

/** The emulated repository's principal set in the default pool, as IAM bindings name it. */
export function repositoryPrincipalSet(): string {
  const pool = env('RUNWAY_EMULATOR_WIF_PROVIDER').replace(/\/providers\/.*/, '');
  return `principalSet://iam.googleapis.com/${pool}/attribute.repository/${env('GITHUB_REPOSITORY')}`;
}

/**
 * Grants the repository's principal set (Direct Workload Identity, no service account) what a
 * deployer needs: the given project roles and actAs on the default runtime account.
 */
export async function seedDirectWorkloadIdentity(projectRoles: string[]): Promise<string> {
  const project = env('RUNWAY_EMULATOR_PROJECT');
  const principal = repositoryPrincipalSet();
  await admin.seed({
    bindings: [
      ...projectRoles.map((role) => ({ resource: `projects/${project}`, role, members: [principal] })),
      {
        resource: `projects/${project}/serviceAccounts/${env('RUNWAY_EMULATOR_PROJECT_NUMBER')}-compute@developer.gserviceaccount.com`,
        role: 'roles/iam.serviceAccountUser',
        members: [principal],
      },
    ],
  });
  return principal;
}
