// Authentication: the job's GitHub OIDC token → STS → (optionally) service-account impersonation,
// through google-auth-library's external-account client; tokens stay in memory and are masked the
// moment they exist. Without a provider, Application Default Credentials (e.g. a preceding
// google-github-actions/auth step).
import * as core from '@actions/core';
import { GoogleAuth, IdentityPoolClient, type AuthClient } from 'google-auth-library';
import { RunwayError } from '../errors.js';
import { endpoint } from '../gcp/endpoints.js';
import { GoogleApiError, requestJson } from '../gcp/http.js';

const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

export interface Credentials {
  /** A current OAuth2 access token (refreshed when near expiry). */
  accessToken(): Promise<string>;
  /** Who the tokens act as, for messages: the service account, or the federated principal. */
  identity: string;
  /** The project the credentials belong to, when they say. */
  projectId: string | undefined;
  /** A Google-signed ID token for `audience` (to call a private Cloud Run service). */
  idToken(audience: string): Promise<string>;
}

export interface AuthSettings {
  workloadIdentityProvider: string | undefined;
  serviceAccount: string | undefined;
  audience: string | undefined;
}

/** The pool principal set for a repository, as IAM bindings name it. */
export function repositoryPrincipalSet(provider: string, repository: string): string {
  const pool = provider.replace(/\/providers\/[^/]+$/, '');
  return `principalSet://iam.googleapis.com/${pool}/attribute.repository/${repository}`;
}

export function projectFromServiceAccount(email: string): string | undefined {
  return /^[^@]+@([a-z][-a-z0-9]+)\.iam\.gserviceaccount\.com$/.exec(email)?.[1];
}

function noOidcToken(): RunwayError {
  return new RunwayError(
    'GitHub Actions did not give this job an OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL/ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set).',
    'Add `permissions: { id-token: write, contents: read }` to the job. Pull requests from forks never get an OIDC token: deploy them from a `pull_request_target` or `workflow_run` workflow instead.',
  );
}

/** Turns an auth library failure into a message naming the role to grant, and the command. */
export function explainAuthFailure(err: unknown, settings: AuthSettings, repository: string): RunwayError {
  const message = err instanceof Error ? err.message : String(err);
  const provider = settings.workloadIdentityProvider ?? '';
  const principal = repositoryPrincipalSet(provider, repository);
  if (/unauthorized_client|attribute condition/i.test(message)) {
    return new RunwayError(
      `Workload Identity Federation rejected this job's token: ${message}`,
      `The provider's attribute condition does not accept repository ${repository} (or this ref/event). Check it with: gcloud iam workload-identity-pools providers describe ${provider.split('/').pop()} --workload-identity-pool=${provider.split('/')[5]} --location=global --format='value(attributeCondition)'`,
      { cause: err },
    );
  }
  if (/invalid_target/i.test(message)) {
    return new RunwayError(
      `Workload Identity provider ${provider} does not exist or is disabled: ${message}`,
      'Check the `workload_identity_provider` input: it is the full resource name shown by `gcloud iam workload-identity-pools providers describe ... --format="value(name)"` and uses the project NUMBER.',
      { cause: err },
    );
  }
  if (/invalid_grant|audience/i.test(message)) {
    return new RunwayError(
      `STS rejected this job's OIDC token: ${message}`,
      'If the provider lists allowed audiences, set the `audience` input to one of them; otherwise leave `audience` unset.',
      { cause: err },
    );
  }
  if (/getAccessToken|iam\.serviceAccounts|PERMISSION_DENIED|403/i.test(message) && settings.serviceAccount) {
    return new RunwayError(
      `The workflow's identity may not impersonate ${settings.serviceAccount}: ${message}`,
      `Grant roles/iam.workloadIdentityUser on the service account to the repository's principals:\n  gcloud iam service-accounts add-iam-policy-binding ${settings.serviceAccount} --role=roles/iam.workloadIdentityUser --member="${principal}"`,
      { cause: err },
    );
  }
  return new RunwayError(`Authentication to Google Cloud failed: ${message}`, undefined, { cause: err });
}

/**
 * google-auth-library's external-account client for the provider, fed the job's OIDC token; with an
 * impersonation URL it returns the service account's tokens, without it the federated token.
 */
function identityPoolClient(
  provider: string,
  oidcAudience: string,
  impersonationUrl: string | undefined,
): IdentityPoolClient {
  return new IdentityPoolClient({
    type: 'external_account',
    audience: `//iam.googleapis.com/${provider}`,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    token_url: `${endpoint('sts')}v1/token`,
    scopes: [CLOUD_PLATFORM],
    ...(impersonationUrl ? { service_account_impersonation_url: impersonationUrl } : {}),
    subject_token_supplier: {
      // The library does not cache what a supplier returns; a job's OIDC token lives ~5 minutes.
      getSubjectToken: async () => {
        const token = await core.getIDToken(oidcAudience);
        mask(token);
        return token;
      },
    },
  });
}

async function workloadIdentityCredentials(
  settings: AuthSettings & { workloadIdentityProvider: string },
  repository: string,
): Promise<Credentials> {
  if (!process.env.ACTIONS_ID_TOKEN_REQUEST_URL || !process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN)
    throw noOidcToken();
  const audience = settings.audience ?? `https://iam.googleapis.com/${settings.workloadIdentityProvider}`;
  const client = identityPoolClient(
    settings.workloadIdentityProvider,
    audience,
    settings.serviceAccount &&
      `${endpoint('iamcredentials')}v1/projects/-/serviceAccounts/${settings.serviceAccount}:generateAccessToken`,
  );
  const accessToken = await tokenFrom(client, settings, repository);
  const identity =
    settings.serviceAccount ?? repositoryPrincipalSet(settings.workloadIdentityProvider, repository);
  const serviceAccount = settings.serviceAccount;
  return {
    accessToken,
    identity,
    projectId: serviceAccount ? projectFromServiceAccount(serviceAccount) : undefined,
    idToken: async (idAudience) => {
      if (!serviceAccount) {
        throw new RunwayError(
          'A private service can only be health-checked with an ID token, and a federated identity cannot mint one.',
          'Set `service_account` (Runway mints the ID token as it), or make the service public with `allow_unauthenticated: true`.',
        );
      }
      // The pool principal holds roles/iam.workloadIdentityUser on the account, which includes
      // getOpenIdToken; the account itself usually may not mint tokens for itself.
      const federated = identityPoolClient(settings.workloadIdentityProvider, audience, undefined);
      const federatedToken = await tokenFrom(federated, settings, repository);
      return generateIdToken(
        federatedToken,
        repositoryPrincipalSet(settings.workloadIdentityProvider, repository),
        serviceAccount,
        idAudience,
      );
    },
  };
}

/** Masks a value in the job log once; every later mention prints as ***. */
const masked = new Set<string>();
export function mask(value: string): void {
  if (masked.has(value)) return;
  masked.add(value);
  core.setSecret(value);
}

async function tokenFrom(
  client: AuthClient,
  settings: AuthSettings,
  repository: string,
): Promise<() => Promise<string>> {
  const get = async (): Promise<string> => {
    try {
      const { token } = await client.getAccessToken();
      if (!token) throw new Error('the credentials returned no access token');
      mask(token);
      return token;
    } catch (err) {
      if (err instanceof RunwayError) throw err;
      throw explainAuthFailure(err, settings, repository);
    }
  };
  // Fail here, in the auth stage, rather than at the first API call.
  await get();
  return get;
}

async function applicationDefaultCredentials(
  settings: AuthSettings,
  repository: string,
): Promise<Credentials> {
  const auth = new GoogleAuth({ scopes: [CLOUD_PLATFORM] });
  let client: AuthClient;
  try {
    client = await auth.getClient();
  } catch (err) {
    throw new RunwayError(
      `No Google Cloud credentials: ${err instanceof Error ? err.message : String(err)}`,
      'Set `workload_identity_provider` (and usually `service_account`), or run google-github-actions/auth before this step.',
      { cause: err },
    );
  }
  const accessToken = await tokenFrom(client, settings, repository);
  const projectId = await auth.getProjectId().catch(() => undefined);
  const email = (client as { email?: string }).email;
  return {
    accessToken,
    identity: email ?? 'application default credentials',
    projectId,
    idToken: async (audience) => {
      const idClient = await auth.getIdTokenClient(audience);
      const token = await idClient.idTokenProvider.fetchIdToken(audience);
      mask(token);
      return token;
    },
  };
}

export async function authenticate(settings: AuthSettings, repository: string): Promise<Credentials> {
  if (settings.workloadIdentityProvider) {
    return workloadIdentityCredentials(
      { ...settings, workloadIdentityProvider: settings.workloadIdentityProvider },
      repository,
    );
  }
  return applicationDefaultCredentials(settings, repository);
}

/** A Google-signed ID token for `audience`, minted through IAM Credentials generateIdToken. */
async function generateIdToken(
  callerToken: () => Promise<string>,
  caller: string,
  serviceAccount: string,
  audience: string,
): Promise<string> {
  try {
    const { token } = await requestJson<{ token: string }>(
      `${endpoint('iamcredentials')}v1/projects/-/serviceAccounts/${serviceAccount}:generateIdToken`,
      { method: 'POST', token: callerToken, body: { audience, includeEmail: true } },
    );
    mask(token);
    return token;
  } catch (err) {
    if (err instanceof GoogleApiError && err.httpStatus === 403) {
      throw new RunwayError(
        `${caller} may not mint ID tokens for ${serviceAccount}: ${err.message}`,
        `Grant roles/iam.workloadIdentityUser (or roles/iam.serviceAccountOpenIdTokenCreator) on ${serviceAccount} to the repository's principals.`,
        { cause: err },
      );
    }
    throw err;
  }
}
