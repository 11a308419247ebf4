// Gets real tokens from the emulator the way a workflow would: GitHub OIDC → STS → IAM Credentials.
import { env } from './emulator.js';

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
  const pool = env('RUNWAY_EMULATOR_WIF_PROVIDER').replace(/\/providers\/.*/, '');
  const res = await fetch(`${env('RUNWAY_EMULATOR_URL')}/seed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      serviceAccounts: [email],
      bindings: [
        {
          resource: `projects/${project}/serviceAccounts/${email}`,
          role: 'roles/iam.workloadIdentityUser',
          members: [`principalSet://iam.googleapis.com/${pool}/attribute.repository/octo-org/octo-repo`],
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
