// IAM Service Account Credentials: generateAccessToken and generateIdToken for service-account
// impersonation, with the permission checks and error bodies of api-facts §3.
import { createHash } from 'node:crypto';
import type { EmulatorContext } from '../context.js';
import { requireCaller } from '../context.js';
import { invalidArgument, permissionDenied } from '../errors.js';
import type { ApiRequest, Route } from '../http.js';
import { schemaOf } from '../schema/schema.js';

const MAX_LIFETIME_SECONDS = 3600;

/** projects/P/serviceAccounts/EMAIL for an email, using the project its domain names. */
export function serviceAccountResource(ctx: EmulatorContext, email: string): string | undefined {
  const user = /^[^@]+@([^.]+)\.iam\.gserviceaccount\.com$/.exec(email);
  const compute = /^(\d+)-compute@developer\.gserviceaccount\.com$/.exec(email);
  const project = user
    ? ctx.world.projectId(user[1]!)
    : compute
      ? ctx.world.projectId(compute[1]!)
      : undefined;
  return project ? `projects/${project}/serviceAccounts/${email}` : undefined;
}

/**
 * IAM Credentials answers whole seconds (`2026-01-01T00:00:00Z`); gcloud parses expireTime as
 * `%Y-%m-%dT%H:%M:%SZ` and refuses a fraction. Rounded down, so it never outlives the token.
 */
export function rfc3339Seconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function parseDurationSeconds(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)s$/.exec(String(value));
  return m ? Number(m[1]) : NaN;
}

/** The impersonation target, checked: unknown accounts are denied exactly like forbidden ones. */
function authorize(ctx: EmulatorContext, req: ApiRequest, permission: string): string {
  const caller = requireCaller(ctx, req);
  const { project, email } = req.params as { project: string; email: string };
  if (project !== '-') {
    throw invalidArgument(
      `The project ID must be "-" (got "${project}"): projects/-/serviceAccounts/${email}.`,
      'name',
    );
  }
  const resource = serviceAccountResource(ctx, email);
  if (
    !resource ||
    !ctx.world.serviceAccounts.has(email) ||
    !ctx.world.allowed(caller, permission, resource)
  ) {
    throw permissionDenied(
      permission,
      `Permission '${permission}' denied on resource (or it may not exist).`,
    );
  }
  return email;
}

function bodyOf(req: ApiRequest): Record<string, unknown> {
  return req.body && typeof req.body === 'object' && !(req.body instanceof Buffer)
    ? (req.body as Record<string, unknown>)
    : {};
}

export function iamCredentialsRoutes(ctx: EmulatorContext): Route[] {
  return [
    {
      method: 'POST',
      pattern: /^\/v1\/projects\/(?<project>[^/]+)\/serviceAccounts\/(?<email>[^/:]+):generateAccessToken$/,
      schema: {
        api: schemaOf('iamcredentials-v1'),
        method: 'iamcredentials.projects.serviceAccounts.generateAccessToken',
      },
      handler: (req) => {
        const email = authorize(ctx, req, 'iam.serviceAccounts.getAccessToken');
        const body = bodyOf(req);
        const scope = body.scope;
        if (!Array.isArray(scope) || scope.length === 0) {
          throw invalidArgument('Scope required.', 'scope');
        }
        const lifetime = parseDurationSeconds(body.lifetime) ?? MAX_LIFETIME_SECONDS;
        if (Number.isNaN(lifetime) || lifetime <= 0) throw invalidArgument('Invalid lifetime.', 'lifetime');
        if (lifetime > MAX_LIFETIME_SECONDS) {
          throw invalidArgument('The access token lifetime cannot exceed 3600 seconds.', 'lifetime');
        }
        const { token, expiresAt } = ctx.world.issueToken(
          { kind: 'serviceAccount', email },
          'access',
          lifetime,
        );
        return { body: { accessToken: token, expireTime: rfc3339Seconds(expiresAt) } };
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\/projects\/(?<project>[^/]+)\/serviceAccounts\/(?<email>[^/:]+):generateIdToken$/,
      schema: {
        api: schemaOf('iamcredentials-v1'),
        method: 'iamcredentials.projects.serviceAccounts.generateIdToken',
      },
      handler: async (req) => {
        const email = authorize(ctx, req, 'iam.serviceAccounts.getOpenIdToken');
        const body = bodyOf(req);
        if (typeof body.audience !== 'string' || body.audience === '') {
          throw invalidArgument('Audience required.', 'audience');
        }
        const uniqueId = BigInt(
          `0x${createHash('sha256').update(email).digest('hex').slice(0, 15)}`,
        ).toString();
        const claims: Record<string, unknown> = {
          iss: 'https://accounts.google.com',
          aud: body.audience,
          azp: uniqueId,
          sub: uniqueId,
        };
        if (body.includeEmail === true) {
          claims.email = email;
          claims.email_verified = true;
        }
        const token = await ctx.googleKey.sign(claims, 3600);
        return { body: { token } };
      },
    },
  ];
}
