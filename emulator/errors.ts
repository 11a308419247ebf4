// Error bodies in the three wire formats the emulated APIs speak:
// Google's google.rpc.Status JSON, OAuth2 (STS), and GitHub's REST errors.

/** Canonical gRPC codes and the HTTP status Google maps each to (api-facts §5.8). */
export const CANONICAL = {
  CANCELLED: { code: 1, http: 499 },
  UNKNOWN: { code: 2, http: 500 },
  INVALID_ARGUMENT: { code: 3, http: 400 },
  DEADLINE_EXCEEDED: { code: 4, http: 504 },
  NOT_FOUND: { code: 5, http: 404 },
  ALREADY_EXISTS: { code: 6, http: 409 },
  PERMISSION_DENIED: { code: 7, http: 403 },
  RESOURCE_EXHAUSTED: { code: 8, http: 429 },
  FAILED_PRECONDITION: { code: 9, http: 400 },
  ABORTED: { code: 10, http: 409 },
  OUT_OF_RANGE: { code: 11, http: 400 },
  UNIMPLEMENTED: { code: 12, http: 501 },
  INTERNAL: { code: 13, http: 500 },
  UNAVAILABLE: { code: 14, http: 503 },
  DATA_LOSS: { code: 15, http: 500 },
  UNAUTHENTICATED: { code: 16, http: 401 },
} as const;

export type CanonicalStatus = keyof typeof CANONICAL;

export interface ErrorDetail {
  '@type': string;
  [key: string]: unknown;
}

/**
 * A Google API error: rendered as {"error":{code,message,status,details}}. The body is the
 * google.rpc.Status written as proto3 JSON, so an error without details has no `details` at all
 * (observed: a 404 answered `{"error":{"code":404,"message":"Requested entity was not found.",
 * "status":"NOT_FOUND"}}`, su-kaka/gcli2api#66), not `"details": []`.
 */
export class GoogleApiError extends Error {
  readonly status: CanonicalStatus;
  readonly details: ErrorDetail[];
  constructor(status: CanonicalStatus, message: string, details: ErrorDetail[] = []) {
    super(message);
    this.status = status;
    this.details = details;
  }
  get httpStatus(): number {
    return CANONICAL[this.status].http;
  }
  toBody(): unknown {
    return {
      error: {
        code: this.httpStatus,
        message: this.message,
        status: this.status,
        ...(this.details.length ? { details: this.details } : {}),
      },
    };
  }
}

/**
 * The ErrorInfo detail Google attaches to IAM denials: the permission, and the resource when the
 * API names it (Artifact Registry: domain artifactregistry.googleapis.com, metadata {permission,
 * resource: "projects/P/locations/L"}, as terraform printed it; IAM Credentials: domain
 * iam.googleapis.com, metadata {permission} only, google-github-actions/auth#340).
 */
export function permissionDenied(
  permission: string,
  message: string,
  domain = 'iam.googleapis.com',
  resource?: string,
): GoogleApiError {
  return new GoogleApiError('PERMISSION_DENIED', message, [
    {
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason: 'IAM_PERMISSION_DENIED',
      domain,
      metadata: { permission, ...(resource ? { resource } : {}) },
    },
  ]);
}

export function notFound(message: string): GoogleApiError {
  return new GoogleApiError('NOT_FOUND', message);
}

export function invalidArgument(message: string, field?: string): GoogleApiError {
  const details: ErrorDetail[] = field
    ? [
        {
          '@type': 'type.googleapis.com/google.rpc.BadRequest',
          fieldViolations: [{ field, description: message }],
        },
      ]
    : [];
  return new GoogleApiError('INVALID_ARGUMENT', message, details);
}

/**
 * A field that is wrong: the message names it, the BadRequest detail carries it apart from its
 * description (gcloud prints `field: description` from the detail).
 */
export function badField(field: string, description: string): GoogleApiError {
  return new GoogleApiError('INVALID_ARGUMENT', `${field}: ${description}`, [
    { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field, description }] },
  ]);
}

/** The API and RPC a request was for, as Google's front end names them in an ErrorInfo's metadata. */
export interface RpcName {
  /** e.g. run.googleapis.com */
  service: string;
  /** The RPC's full proto name (google.cloud.run.v2.Services.GetService), when the schema knows it. */
  method?: string;
}

const SEE_SIGN_IN =
  'Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.';

/**
 * 401 from Google's front end, before the API sees the request. No credential at all:
 * CREDENTIALS_MISSING in domain googleapis.com; one it cannot accept: ACCESS_TOKEN_TYPE_UNSUPPORTED
 * without a domain; both with metadata {service, method} (bodies observed from BigQuery, Resource
 * Manager and Vertex AI, quoted in public issues and tests).
 */
export function unauthenticated(missing = false, rpc?: RpcName): GoogleApiError {
  const metadata = rpc
    ? { metadata: { ...(rpc.method ? { method: rpc.method } : {}), service: rpc.service } }
    : {};
  return missing
    ? new GoogleApiError(
        'UNAUTHENTICATED',
        `Request is missing required authentication credential. ${SEE_SIGN_IN}`,
        [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'CREDENTIALS_MISSING',
            domain: 'googleapis.com',
            ...metadata,
          },
        ],
      )
    : new GoogleApiError(
        'UNAUTHENTICATED',
        `Request had invalid authentication credentials. ${SEE_SIGN_IN}`,
        [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'ACCESS_TOKEN_TYPE_UNSUPPORTED',
            ...metadata,
          },
        ],
      );
}

/** STS speaks OAuth2 errors: {"error":"invalid_grant","error_description":"..."}. */
export class OAuthError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  constructor(code: string, description: string, httpStatus = 400) {
    super(description);
    this.code = code;
    this.httpStatus = httpStatus;
  }
  toBody(): unknown {
    return { error: this.code, error_description: this.message };
  }
}

/** GitHub REST errors: {"message":"...","documentation_url":"..."}. */
export class GitHubApiError extends Error {
  readonly httpStatus: number;
  constructor(httpStatus: number, message: string) {
    super(message);
    this.httpStatus = httpStatus;
  }
  toBody(): unknown {
    return {
      message: this.message,
      documentation_url: 'https://docs.github.com/rest',
      status: String(this.httpStatus),
    };
  }
}

/** Maps an HTTP status to the canonical code Google would send with it (used by injected faults). */
export function canonicalForHttp(status: number): CanonicalStatus {
  const exact: Record<number, CanonicalStatus> = {
    400: 'INVALID_ARGUMENT',
    401: 'UNAUTHENTICATED',
    403: 'PERMISSION_DENIED',
    404: 'NOT_FOUND',
    409: 'ABORTED',
    429: 'RESOURCE_EXHAUSTED',
    499: 'CANCELLED',
    501: 'UNIMPLEMENTED',
    503: 'UNAVAILABLE',
    504: 'DEADLINE_EXCEEDED',
  };
  return exact[status] ?? (status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION');
}
