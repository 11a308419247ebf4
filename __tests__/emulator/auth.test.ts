// Conformance of the emulated GitHub OIDC issuer, STS and IAM Credentials with api-facts §1–§4,
// including the unmodified google-auth-library external-account client.
import { IdentityPoolClient } from 'google-auth-library';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { admin, env } from '../helpers/emulator.js';
import { federatedToken, githubOidcToken } from '../helpers/auth.js';

const sts = () => `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_STS')}v1/token`;
const iam = () => env('CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS');
const provider = () => env('RUNWAY_EMULATOR_WIF_PROVIDER');
const deployer = () => env('RUNWAY_EMULATOR_SERVICE_ACCOUNT');

async function exchange(
  fields: Record<string, string>,
  encoding: 'json' | 'form' = 'json',
): Promise<Response> {
  return fetch(sts(), {
    method: 'POST',
    headers: {
      'content-type':
        encoding === 'json' ? 'application/json' : 'application/x-www-form-urlencoded;charset=UTF-8',
    },
    body: encoding === 'json' ? JSON.stringify(fields) : new URLSearchParams(fields).toString(),
  });
}

async function validExchange(token?: string): Promise<Record<string, string>> {
  return {
    audience: `//iam.googleapis.com/${provider()}`,
    grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
    requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
    scope: 'https://www.googleapis.com/auth/cloud-platform',
    subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt',
    subjectToken: token ?? (await githubOidcToken()),
  };
}

describe('GitHub OIDC issuer', () => {
  it('issues RS256 tokens with GitHub claims for the requested audience', async () => {
    const token = await githubOidcToken('my-audience');
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      aud: 'my-audience',
      repository: 'octo-org/octo-repo',
      repository_owner: 'octo-org',
      event_name: 'pull_request',
    });
    expect(claims.sub).toBe('repo:octo-org/octo-repo:pull_request');
    expect(claims.iss).toBe(new URL(env('ACTIONS_ID_TOKEN_REQUEST_URL')).origin);
    expect(Number(claims.exp) - Number(claims.iat)).toBe(300);
  });
  it('refuses a request without the runner token', async () => {
    const res = await fetch(`${env('ACTIONS_ID_TOKEN_REQUEST_URL')}&audience=x`);
    expect(res.status).toBe(401);
  });
  it('publishes discovery and JWKS', async () => {
    const issuer = new URL(env('ACTIONS_ID_TOKEN_REQUEST_URL')).origin;
    const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
      jwks_uri: string;
    };
    expect(discovery.issuer).toBe(issuer);
    const jwks = (await (await fetch(discovery.jwks_uri)).json()) as {
      keys: Array<{ kty: string; alg: string }>;
    };
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256' });
  });
});

describe('STS token exchange', () => {
  it('accepts the JSON encoding and answers in snake_case', async () => {
    const res = await exchange(await validExchange());
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: 3599,
    });
    expect(typeof body.access_token).toBe('string');
  });
  it('accepts the form encoding google-auth-library sends', async () => {
    const f = await validExchange();
    const res = await exchange(
      {
        grant_type: f.grantType!,
        audience: f.audience!,
        scope: f.scope!,
        requested_token_type: f.requestedTokenType!,
        subject_token: f.subjectToken!,
        subject_token_type: f.subjectTokenType!,
      },
      'form',
    );
    expect(res.status).toBe(200);
  });
  it.each(['json', 'form'] as const)(
    'refuses a field STS v1 does not define, %s-encoded, as an OAuth invalid_request naming it',
    async (encoding) => {
      const f = await validExchange();
      const fields =
        encoding === 'json'
          ? { ...f, subjectTokenKind: 'jwt' }
          : {
              grant_type: f.grantType!,
              audience: f.audience!,
              subject_token: f.subjectToken!,
              subject_tokn_type: 'x',
            };
      const res = await exchange(fields, encoding);
      expect(res.status).toBe(400);
      const name = encoding === 'json' ? 'subjectTokenKind' : 'subject_tokn_type';
      expect(await res.json()).toEqual({
        error: 'invalid_request',
        error_description: `Invalid JSON payload received. Unknown name "${name}": Cannot find field.`,
      });
    },
  );
  it('refuses a value of the wrong JSON type, as its schema says', async () => {
    const res = await exchange({ ...(await validExchange()), scope: ['a', 'b'] } as unknown as Record<
      string,
      string
    >);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'invalid_request',
      error_description: `Invalid JSON payload received. Unknown name "scope": Proto field is not repeating, cannot start list.`,
    });
  });
  it('rejects a malformed audience with invalid_request', async () => {
    const res = await exchange({ ...(await validExchange()), audience: 'projects/123/pools/x' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: 'invalid_request',
      error_description: expect.stringContaining('full resource name of the Identity Provider'),
    });
  });
  it('rejects an unknown provider with invalid_target', async () => {
    const audience = `//iam.googleapis.com/${provider().replace(/providers\/.*/, 'providers/nope')}`;
    const res = await exchange({ ...(await validExchange()), audience });
    expect(await res.json()).toMatchObject({ error: 'invalid_target' });
  });
  it('rejects a token for another audience with invalid_grant', async () => {
    const res = await exchange(await validExchange(await githubOidcToken('https://example.com')));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: 'invalid_grant',
      error_description: expect.stringContaining('audience'),
    });
  });
  it('rejects a forged signature with invalid_grant', async () => {
    const token = await githubOidcToken();
    const [h, p] = token.split('.');
    const res = await exchange(
      await validExchange(`${h}.${p}.${Buffer.from('forged').toString('base64url')}`),
    );
    expect(await res.json()).toMatchObject({ error: 'invalid_grant' });
  });
  it('enforces the attribute condition with unauthorized_client', async () => {
    await admin.seed({ oidcClaims: { repository_owner: 'someone-else' } });
    try {
      const res = await exchange(await validExchange());
      expect(await res.json()).toEqual({
        error: 'unauthorized_client',
        error_description: 'The given credential is rejected by the attribute condition.',
      });
    } finally {
      await admin.seed({ oidcClaims: { repository_owner: 'octo-org' } });
    }
  });
});

describe('IAM Credentials', () => {
  it('generateAccessToken impersonates a service account the pool principal may use', async () => {
    const res = await fetch(`${iam()}v1/projects/-/serviceAccounts/${deployer()}:generateAccessToken`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await federatedToken()}` },
      body: JSON.stringify({ scope: ['https://www.googleapis.com/auth/cloud-platform'], lifetime: '3600s' }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { accessToken: string; expireTime: string };
    expect(body.accessToken).toMatch(/^ya29\./);
    expect(Date.parse(body.expireTime)).toBeGreaterThan(Date.now());
  });
  it('denies impersonation without roles/iam.workloadIdentityUser, with ErrorInfo', async () => {
    const runtime = env('RUNWAY_EMULATOR_RUNTIME_SERVICE_ACCOUNT');
    const res = await fetch(`${iam()}v1/projects/-/serviceAccounts/${runtime}:generateAccessToken`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await federatedToken()}` },
      body: JSON.stringify({ scope: ['https://www.googleapis.com/auth/cloud-platform'] }),
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      error: {
        code: 403,
        message: "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
        status: 'PERMISSION_DENIED',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'IAM_PERMISSION_DENIED',
            domain: 'iam.googleapis.com',
            metadata: { permission: 'iam.serviceAccounts.getAccessToken' },
          },
        ],
      },
    });
  });
  it('rejects a lifetime over an hour and a missing token', async () => {
    const url = `${iam()}v1/projects/-/serviceAccounts/${deployer()}:generateAccessToken`;
    const long = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await federatedToken()}` },
      body: JSON.stringify({ scope: ['x'], lifetime: '7200s' }),
    });
    expect(long.status).toBe(400);
    expect(((await long.json()) as { error: { message: string } }).error.message).toBe(
      'The access token lifetime cannot exceed 3600 seconds.',
    );
    const anonymous = await fetch(url, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { status: string } }).error.status).toBe('UNAUTHENTICATED');
  });
  it('generateIdToken returns a Google-signed token for the audience', async () => {
    const res = await fetch(`${iam()}v1/projects/-/serviceAccounts/${deployer()}:generateIdToken`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await federatedToken()}` },
      body: JSON.stringify({ audience: 'https://svc.example', includeEmail: true }),
    });
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    expect(decodeJwt(token)).toMatchObject({
      iss: 'https://accounts.google.com',
      aud: 'https://svc.example',
      email: deployer(),
      email_verified: true,
    });
  });
});

describe('the unmodified google-auth-library', () => {
  it('IdentityPoolClient runs OIDC → STS → generateAccessToken against the emulator', async () => {
    const before = (await admin.requests()).length;
    const client = new IdentityPoolClient({
      type: 'external_account',
      audience: `//iam.googleapis.com/${provider()}`,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: sts(),
      service_account_impersonation_url: `${iam()}v1/projects/-/serviceAccounts/${deployer()}:generateAccessToken`,
      credential_source: {
        url: `${env('ACTIONS_ID_TOKEN_REQUEST_URL')}&audience=${encodeURIComponent(`https://iam.googleapis.com/${provider()}`)}`,
        headers: { Authorization: `Bearer ${env('ACTIONS_ID_TOKEN_REQUEST_TOKEN')}` },
        format: { type: 'json', subject_token_field_name: 'value' },
      },
    });
    const { token } = await client.getAccessToken();
    expect(token).toMatch(/^ya29\.emu-access-/);
    const calls = (await admin.requests()).slice(before).map((r) => `${r.api} ${r.method} ${r.status}`);
    expect(calls).toEqual(['oidc GET 200', 'sts POST 200', 'iamcredentials POST 200']);
  });
});
