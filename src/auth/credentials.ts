// Authentication: the job's GitHub OIDC token → STS → (optionally) service-account impersonation,
// through google-auth-library's external-account client; tokens stay in memory and are masked the
// moment they exist. Without a provider, Application Default Credentials (e.g. a preceding
// google-github-actions/auth step).
import * as core from '@actions/core';
import {
  GoogleAuth,
  IdentityPoolClient,
  type AuthClient,
  type IdentityPoolClientOptions,
} from 'google-auth-library';
import { RunwayError } from '../errors.js';
import { endpoint } from '../gcp/endpoints.js';
import { GoogleApiError, requestJson, type GoogleErrorBody } from '../common/http.js';
import { requestOidcToken } from './oidc.js';

const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

export interface Credentials {
  /** A current OAuth2 access token (refreshed when near expiry). */
  accessToken(): Promise<string>;
  /** Who the tokens act as, for messages: the service account, or the federated principal set. */
  identity: string;
  /** The project the credentials belong to, when they say. */
  projectId: string | undefined;
  /**
   * Whether idToken() can work at all. Direct Workload Identity (no service account to act as)
   * cannot mint ID tokens, so it cannot health-check a private service.
   */
  canMintIdTokens: boolean;
  /** What idToken() throws when canMintIdTokens is false: the reason and the fix. */
  idTokenUnavailable: RunwayError | undefined;
  /** A Google-signed ID token for `audience` (to call a private Cloud Run service). */
  idToken(audience: string): Promise<string>;
}

export interface AuthSettings {
  workloadIdentityProvider: string | undefined;
  serviceAccount: string | undefined;
  audience: string | undefined;
  /** `project_id`: spares the library looking the project up (Resource Manager) for a credentials file. */
  projectId?: string | undefined;
}

/** Who is authenticating, for messages: the provider, the account to act as, the repository. */
export interface AuthTarget {
  /** projects/NUM/locations/global/workloadIdentityPools/POOL/providers/PROVIDER, when federated. */
  provider: string | undefined;
  serviceAccount: string | undefined;
  repository: string;
}

/** The pool principal set for a repository, as IAM bindings name it. */
export function repositoryPrincipalSet(provider: string, repository: string): string {
  const pool = provider.replace(/\/providers\/[^/]+$/, '');
  return `principalSet://iam.googleapis.com/${pool}/attribute.repository/${repository}`;
}

/** The IAM member that names `identity` in a policy binding: serviceAccount:EMAIL, or the principal set itself. */
export function iamMember(identity: string): string {
  return identity.includes('@') && !identity.startsWith('principal')
    ? `serviceAccount:${identity}`
    : identity;
}

export function projectFromServiceAccount(email: string): string | undefined {
  return /^[^@]+@([a-z][-a-z0-9]+)\.iam\.gserviceaccount\.com$/.exec(email)?.[1];
}

function noOidcToken(): RunwayError {
  return new RunwayError(
    'GitHub Actions did not give this job an OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL/ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set).',
    'Add `permissions: { id-token: write, contents: read }` to the job. Pull requests from forks never get an OIDC token, by design: their code is untrusted. See "Security notes" in the README for deploying reviewed fork code.',
  );
}

/**
 * Direct Workload Identity has no service account to sign ID tokens, and a private Cloud Run
 * service only lets in requests carrying one. `via` says where the federated identity came from,
 * so the fix names the right place to add a service account.
 */
export function idTokenUnavailable(identity: string, via: 'inputs' | 'credentials file'): RunwayError {
  const addAccount =
    via === 'inputs'
      ? 'set `service_account` to an account the repository may impersonate (roles/iam.workloadIdentityUser on it) — Runway then mints ID tokens as that account'
      : 'give google-github-actions/auth a `service_account` (the repository needs roles/iam.workloadIdentityUser on it) — Runway then mints ID tokens as that account';
  return new RunwayError(
    `${identity} (Direct Workload Identity) cannot mint the Google-signed ID tokens that health checks of a private Cloud Run service need.`,
    `Either ${addAccount}; or make the service public with \`allow_unauthenticated: true\`.`,
  );
}

/** The structured parts of a failure google-auth-library (or Runway's HTTP layer) reports. */
interface AuthErrorFields {
  /** OAuth2 error code from STS, e.g. invalid_grant, unauthorized_client. */
  oauthError: string | undefined;
  httpStatus: number | undefined;
  /** Canonical status from a Google error body, e.g. PERMISSION_DENIED. */
  status: string | undefined;
  /** ErrorInfo reason, e.g. IAM_PERMISSION_DENIED. */
  reason: string | undefined;
  permission: string | undefined;
  /** The server's own description, when it gave one. */
  detail: string | undefined;
  /** Which call failed, e.g. "STS (token exchange)", from the request's URL. */
  call: string | undefined;
  /** How many times the library sent it (it retries 429 and 5xx). */
  attempts: number | undefined;
}

/** The API call a URL is, in the words of Google's docs. */
function callOf(raw: unknown): string | undefined {
  if (typeof raw !== 'string' && !(raw instanceof URL)) return undefined;
  const url = new URL(raw);
  if (url.pathname.endsWith('/v1/token')) return 'STS (token exchange)';
  const verb = /:(generate\w+)$/.exec(url.pathname)?.[1];
  if (verb) return `IAM Credentials (${verb})`;
  return `${url.host}${url.pathname}`;
}

function authErrorFields(err: unknown): AuthErrorFields {
  const fields: AuthErrorFields = {
    oauthError: undefined,
    httpStatus: undefined,
    status: undefined,
    reason: undefined,
    permission: undefined,
    detail: undefined,
    call: undefined,
    attempts: undefined,
  };
  if (err instanceof GoogleApiError) {
    return {
      ...fields,
      httpStatus: err.httpStatus,
      status: err.status,
      permission: err.permission,
      detail: err.message,
    };
  }
  // google-auth-library rethrows STS failures as an Error carrying the GaxiosError's fields
  // (response.status, response.data = {error, error_description}); IAM Credentials failures are
  // the GaxiosError itself, with a Google error body in response.data.
  const failed = err as {
    response?: { status?: unknown; data?: unknown };
    config?: { url?: unknown; retryConfig?: { currentRetryAttempt?: unknown } };
  } | null;
  const response = failed?.response;
  if (!response) return fields;
  const retries = failed?.config?.retryConfig?.currentRetryAttempt;
  fields.call = callOf(failed?.config?.url);
  fields.attempts = typeof retries === 'number' ? retries + 1 : undefined;
  let data = response.data;
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data) as unknown;
    } catch {
      data = undefined;
    }
  }
  const httpStatus = typeof response.status === 'number' ? response.status : undefined;
  const body = (data ?? {}) as GoogleErrorBody & { error?: unknown; error_description?: unknown };
  if (typeof body.error === 'string') {
    return {
      ...fields,
      httpStatus,
      oauthError: body.error,
      detail: typeof body.error_description === 'string' ? body.error_description : undefined,
    };
  }
  const google = (body as GoogleErrorBody).error;
  const info = google?.details?.find((d) => d.reason !== undefined || d.metadata?.permission !== undefined);
  return {
    ...fields,
    httpStatus,
    status: google?.status,
    reason: info?.reason,
    permission: info?.metadata?.permission,
    detail: google?.message,
  };
}

/** Turns an auth library failure into a message naming the role to grant, and the command. */
export function explainAuthFailure(err: unknown, target: AuthTarget): RunwayError {
  const fields = authErrorFields(err);
  const message = fields.detail ?? (err instanceof Error ? err.message : String(err));
  const provider = target.provider ?? '';
  const [, projectNumber, , , , pool, , providerId] = provider.split('/');
  const principal = repositoryPrincipalSet(provider, target.repository);
  switch (fields.oauthError) {
    case 'unauthorized_client':
      return new RunwayError(
        `Workload Identity Federation rejected this job's token: ${message}`,
        `The provider's attribute condition does not accept repository ${target.repository} (or this ref/event). Check it with: gcloud iam workload-identity-pools providers describe ${providerId ?? 'PROVIDER'} --workload-identity-pool=${pool ?? 'POOL'} --location=global --project=${projectNumber ?? 'PROJECT_NUMBER'} --format='value(attributeCondition)'`,
        { cause: err },
      );
    case 'invalid_target':
      return new RunwayError(
        `Workload Identity provider ${provider} does not exist or is disabled: ${message}`,
        'Check the `workload_identity_provider` input: it is the full resource name shown by `gcloud iam workload-identity-pools providers describe ... --format="value(name)"` and uses the project NUMBER.',
        { cause: err },
      );
    case 'invalid_request':
      return new RunwayError(
        `STS refused the token exchange for ${provider}: ${message}`,
        'Check the `workload_identity_provider` input: projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER.',
        { cause: err },
      );
    case 'invalid_grant':
      return new RunwayError(
        `STS rejected this job's OIDC token: ${message}`,
        "If the provider lists allowed audiences, set the `audience` input to one of them; otherwise leave `audience` unset. The provider's issuer must be https://token.actions.githubusercontent.com.",
        { cause: err },
      );
    default:
      break;
  }
  const denied =
    fields.httpStatus === 403 ||
    fields.status === 'PERMISSION_DENIED' ||
    fields.reason === 'IAM_PERMISSION_DENIED';
  if (denied && target.serviceAccount) {
    return new RunwayError(
      `${principal} may not impersonate ${target.serviceAccount}${fields.permission ? ` (${fields.permission})` : ''}: ${message}`,
      `Grant roles/iam.workloadIdentityUser on the service account to the repository's principals:\n  gcloud iam service-accounts add-iam-policy-binding ${target.serviceAccount} --role=roles/iam.workloadIdentityUser --member="${principal}"`,
      { cause: err },
    );
  }
  if (fields.call && fields.httpStatus !== undefined) {
    const code = fields.oauthError ?? fields.status;
    const attempts = fields.attempts && fields.attempts > 1 ? ` after ${fields.attempts} attempts` : '';
    return new RunwayError(
      `Authentication to Google Cloud failed: ${fields.call} answered HTTP ${fields.httpStatus}${code ? ` ${code}` : ''}${attempts}: ${message}`,
      fields.httpStatus >= 500 || fields.httpStatus === 429
        ? "This is on Google's side (see https://status.cloud.google.com): re-run the job."
        : undefined,
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
  oidc: { url: string; requestToken: string; audience: string },
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
        const token = await requestOidcToken(oidc.url, oidc.requestToken, oidc.audience);
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
  const url = process.env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!url || !requestToken) throw noOidcToken();
  const provider = settings.workloadIdentityProvider;
  const target: AuthTarget = { provider, serviceAccount: settings.serviceAccount, repository };
  const oidc = { url, requestToken, audience: settings.audience ?? `https://iam.googleapis.com/${provider}` };
  const serviceAccount = settings.serviceAccount;
  const client = identityPoolClient(
    provider,
    oidc,
    serviceAccount &&
      `${endpoint('iamcredentials')}v1/projects/-/serviceAccounts/${serviceAccount}:generateAccessToken`,
  );
  const accessToken = await tokenFrom(client, target);
  if (!serviceAccount) {
    const identity = repositoryPrincipalSet(provider, repository);
    return withoutIdTokens(accessToken, identity, undefined, idTokenUnavailable(identity, 'inputs'));
  }
  return impersonated(accessToken, serviceAccount, projectFromServiceAccount(serviceAccount), target, () =>
    identityPoolClient(provider, oidc, undefined),
  );
}

/** Credentials that cannot mint ID tokens, `unavailable` saying why and what to do. */
function withoutIdTokens(
  accessToken: () => Promise<string>,
  identity: string,
  projectId: string | undefined,
  unavailable: RunwayError,
): Credentials {
  return {
    accessToken,
    identity,
    projectId,
    canMintIdTokens: false,
    idTokenUnavailable: unavailable,
    idToken: () => Promise.reject(unavailable),
  };
}

/**
 * Impersonation of `serviceAccount` by a federated identity. ID tokens come from generateIdToken
 * on the account, called with the federated token: the pool principal holds
 * roles/iam.workloadIdentityUser on the account, which includes getOpenIdToken, while the account
 * itself usually may not mint tokens for itself.
 */
function impersonated(
  accessToken: () => Promise<string>,
  serviceAccount: string,
  projectId: string | undefined,
  target: AuthTarget,
  federatedClient: () => AuthClient,
): Credentials {
  let federatedToken: Promise<() => Promise<string>> | undefined;
  const caller = repositoryPrincipalSet(target.provider ?? '', target.repository);
  return {
    accessToken,
    identity: serviceAccount,
    projectId,
    canMintIdTokens: true,
    idTokenUnavailable: undefined,
    idToken: async (audience) => {
      federatedToken ??= tokenFrom(federatedClient(), target);
      const token = await federatedToken.catch((err: unknown) => {
        federatedToken = undefined;
        throw err;
      });
      return generateIdToken(token, caller, serviceAccount, audience);
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

async function tokenFrom(client: AuthClient, target: AuthTarget): Promise<() => Promise<string>> {
  const get = async (): Promise<string> => {
    try {
      const { token } = await client.getAccessToken();
      if (!token) throw new Error('the credentials returned no access token');
      mask(token);
      return token;
    } catch (err) {
      if (err instanceof RunwayError) throw err;
      throw explainAuthFailure(err, target);
    }
  };
  // Fail here, in the auth stage, rather than at the first API call.
  await get();
  return get;
}

/** The provider an external_account audience names (//iam.googleapis.com/projects/…/providers/P). */
function providerOfAudience(audience: string | undefined): string | undefined {
  return audience?.replace(/^\/\/iam\.[^/]+\//, '');
}

/**
 * Application Default Credentials, usually the external_account file google-github-actions/auth
 * writes (api-facts §3.3): with `service_account_impersonation_url` it acts as that account and
 * mints ID tokens for it through the federated token; without, it is Direct Workload Identity.
 */
async function applicationDefaultCredentials(
  repository: string,
  configuredProject: string | undefined,
): Promise<Credentials> {
  const auth = new GoogleAuth({
    scopes: [CLOUD_PLATFORM],
    ...(configuredProject ? { projectId: configuredProject } : {}),
  });
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
  const json = auth.jsonContent;
  if (client instanceof IdentityPoolClient && json?.type === 'external_account') {
    const options = json as IdentityPoolClientOptions;
    const provider = providerOfAudience(options.audience);
    const serviceAccount = client.getServiceAccountEmail() ?? undefined;
    const target: AuthTarget = { provider, serviceAccount, repository };
    const accessToken = await tokenFrom(client, target);
    const projectId = await auth.getProjectId().catch(() => undefined);
    if (!serviceAccount) {
      const identity = repositoryPrincipalSet(provider ?? '', repository);
      return withoutIdTokens(
        accessToken,
        identity,
        projectId,
        idTokenUnavailable(identity, 'credentials file'),
      );
    }
    // The same configuration without impersonation yields the federated token.
    const { service_account_impersonation_url: _, ...federated } = options;
    return impersonated(
      accessToken,
      serviceAccount,
      projectId,
      target,
      () => new IdentityPoolClient({ ...federated, scopes: [CLOUD_PLATFORM] }),
    );
  }

  // A service account key or the metadata server: the library mints ID tokens itself.
  const credentials = await auth.getCredentials().catch(() => ({ client_email: undefined }));
  const identity =
    credentials.client_email ??
    `the ${json?.type ?? 'default'} credentials in GOOGLE_APPLICATION_CREDENTIALS`;
  const accessToken = await tokenFrom(client, {
    provider: undefined,
    serviceAccount: credentials.client_email,
    repository,
  });
  const projectId = await auth.getProjectId().catch(() => undefined);
  if (!('fetchIdToken' in client)) {
    const unavailable = new RunwayError(
      `${identity} cannot mint the Google-signed ID token a private Cloud Run service requires.`,
      'Authenticate as a service account (Workload Identity with `service_account`), or make the service public with `allow_unauthenticated: true`.',
    );
    return withoutIdTokens(accessToken, identity, projectId, unavailable);
  }
  return {
    accessToken,
    identity,
    projectId,
    canMintIdTokens: true,
    idTokenUnavailable: undefined,
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
  return applicationDefaultCredentials(repository, settings.projectId);
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
        `${caller} may not mint ID tokens for ${serviceAccount} (${err.permission ?? 'iam.serviceAccounts.getOpenIdToken'}): ${err.message}`,
        `Grant roles/iam.workloadIdentityUser on the service account to the repository's principals (it includes getOpenIdToken):\n  gcloud iam service-accounts add-iam-policy-binding ${serviceAccount} --role=roles/iam.workloadIdentityUser --member="${caller}"`,
        { cause: err },
      );
    }
    throw err;
  }
}
