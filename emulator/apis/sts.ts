// Google Security Token Service: POST /v1/token exchanges a GitHub OIDC token for a federated
// access token (api-facts §2). Accepts the form encoding google-auth-library sends and the JSON
// encoding google-github-actions/auth sends; answers in OAuth2's snake_case, errors included. The
// request is checked against STS v1's schema (emulator/schemas/sts-v1.json) in either encoding, and
// refused as STS refuses it: 400 with an OAuth error, invalid_request, naming the field.
import { createRemoteJWKSet, decodeJwt, jwtVerify, errors as joseErrors } from 'jose';
import type { EmulatorContext } from '../context.js';
import { evaluateCel } from '../cel.js';
import { OAuthError } from '../errors.js';
import type { ApiRequest, Route } from '../http.js';
import { renderResponse } from '../schema/render.js';
import { schemaOf } from '../schema/schema.js';
import { checkRequest } from '../schema/validate.js';
import { poolName, providerName, type ProviderSeed } from '../state.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const SUBJECT_TOKEN_TYPES = [
  'urn:ietf:params:oauth:token-type:jwt',
  'urn:ietf:params:oauth:token-type:id_token',
];
const AUDIENCE_PATTERN =
  /^\/\/iam\.googleapis\.com\/projects\/(?<number>[^/]+)\/locations\/global\/workloadIdentityPools\/(?<pool>[^/]+)\/providers\/(?<provider>[^/]+)$/;

/** Lifetime of federated tokens, in seconds. */
const FEDERATED_TOKEN_LIFETIME = 3599;

interface ExchangeRequest {
  grantType?: string;
  audience?: string;
  scope?: string;
  requestedTokenType?: string;
  subjectToken?: string;
  subjectTokenType?: string;
}

const TOKEN = 'sts.token';

/**
 * Reads the request in either encoding against the schema, whose parser takes the proto's
 * snake_case names as well as the JSON ones: an unknown field or a value of the wrong type is
 * STS's invalid_request, its description Google's own parser's words.
 */
function readExchange(req: ApiRequest): ExchangeRequest {
  try {
    return (checkRequest(schemaOf('sts-v1'), TOKEN, req) ?? {}) as ExchangeRequest;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new OAuthError('invalid_request', message);
  }
}

const jwksByIssuer = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

async function issuerKeys(issuer: string): Promise<ReturnType<typeof createRemoteJWKSet>> {
  const cached = jwksByIssuer.get(issuer);
  if (cached) return cached;
  const res = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (!res.ok)
    throw new OAuthError('invalid_grant', `Unable to fetch the OpenID configuration of issuer ${issuer}.`);
  const { jwks_uri: jwksUri } = (await res.json()) as { jwks_uri: string };
  const keys = createRemoteJWKSet(new URL(jwksUri));
  jwksByIssuer.set(issuer, keys);
  return keys;
}

function mapAttributes(
  provider: ProviderSeed,
  claims: Record<string, unknown>,
): { subject: string; attributes: Record<string, string> } {
  const attributes: Record<string, string> = {};
  let subject: string | undefined;
  for (const [target, expression] of Object.entries(provider.attributeMapping)) {
    const value = evaluateCel(expression, { assertion: claims });
    if (typeof value !== 'string') continue;
    if (Buffer.byteLength(value) > 127) {
      throw new OAuthError('invalid_request', 'The size of mapped attribute exceeds the 127 bytes limit.');
    }
    if (target === 'google.subject') subject = value;
    else if (target.startsWith('attribute.')) attributes[target.slice('attribute.'.length)] = value;
  }
  if (!subject) {
    throw new OAuthError(
      'invalid_request',
      'The mapped attribute google.subject must be set by the attribute mapping.',
    );
  }
  return { subject, attributes };
}

export function stsRoutes(ctx: EmulatorContext): Route[] {
  return [
    {
      method: 'POST',
      pattern: /^\/v1\/token$/,
      handler: async (req) => {
        const r = readExchange(req);
        if (r.grantType !== TOKEN_EXCHANGE) {
          throw new OAuthError(
            'unsupported_grant_type',
            `Unsupported grant type: ${r.grantType ?? '(none)'}.`,
          );
        }
        if (r.requestedTokenType !== ACCESS_TOKEN_TYPE) {
          throw new OAuthError('invalid_request', 'Invalid value for "requested_token_type".');
        }
        if (!r.subjectTokenType || !SUBJECT_TOKEN_TYPES.includes(r.subjectTokenType)) {
          throw new OAuthError('invalid_request', 'Invalid value for "subject_token_type".');
        }
        const m = AUDIENCE_PATTERN.exec(r.audience ?? '');
        if (!m?.groups) {
          throw new OAuthError(
            'invalid_request',
            'Invalid value for "audience". This value should be the full resource name of the Identity Provider. See https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token for the list of possible formats.',
          );
        }
        const {
          number,
          pool,
          provider: providerId,
        } = m.groups as { number: string; pool: string; provider: string };
        const provider = ctx.world.providers.find(
          (p) => p.projectNumber === number && p.pool === pool && p.provider === providerId && !p.disabled,
        );
        if (!provider) {
          throw new OAuthError(
            'invalid_target',
            'The target service indicated by the "audience" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn\'t exist.',
          );
        }
        if (!r.subjectToken) throw new OAuthError('invalid_request', 'Invalid value for "subject_token".');

        let unverified: Record<string, unknown>;
        try {
          unverified = decodeJwt(r.subjectToken);
        } catch {
          throw new OAuthError('invalid_grant', 'Unable to parse the ID Token.');
        }
        if (unverified.iss !== provider.issuerUri) {
          throw new OAuthError(
            'invalid_grant',
            `The issuer in ID Token ${String(unverified.iss)} does not match the expected ones: ${provider.issuerUri}/`,
          );
        }
        const expectedAudiences = provider.allowedAudiences?.length
          ? provider.allowedAudiences
          : [`https://iam.googleapis.com/${providerName(provider)}`];
        let claims: Record<string, unknown>;
        try {
          ({ payload: claims } = await jwtVerify(r.subjectToken, await issuerKeys(provider.issuerUri), {
            issuer: provider.issuerUri,
            algorithms: ['RS256', 'ES256'],
          }));
        } catch (err) {
          if (err instanceof joseErrors.JWTExpired)
            throw new OAuthError('invalid_grant', 'The ID Token has expired.');
          throw new OAuthError(
            'invalid_grant',
            `Invalid ID Token: ${err instanceof Error ? err.message : String(err)}.`,
          );
        }
        const tokenAudiences = Array.isArray(claims.aud) ? claims.aud.map(String) : [String(claims.aud)];
        if (!tokenAudiences.some((a) => expectedAudiences.includes(a))) {
          throw new OAuthError(
            'invalid_grant',
            `The audience in ID Token [${tokenAudiences.join(', ')}] does not match the expected audience ${expectedAudiences.join(', ')}.`,
          );
        }

        const { subject, attributes } = mapAttributes(provider, claims);
        if (provider.attributeCondition) {
          const google = { subject };
          const allowed = evaluateCel(provider.attributeCondition, {
            assertion: claims,
            attribute: attributes,
            google,
          });
          if (allowed !== true) {
            throw new OAuthError(
              'unauthorized_client',
              'The given credential is rejected by the attribute condition.',
            );
          }
        }
        const principal = { kind: 'federated' as const, pool: poolName(provider), subject, attributes };
        req.caller = `principal://iam.googleapis.com/${poolName(provider)}/subject/${subject}`;
        const { token, expiresAt } = ctx.world.issueToken(principal, 'sts', FEDERATED_TOKEN_LIFETIME + 1);
        return {
          body: renderResponse(schemaOf('sts-v1'), TOKEN, {
            access_token: token,
            issued_token_type: ACCESS_TOKEN_TYPE,
            token_type: 'Bearer',
            // A seeded tokenLifetimeSeconds shortens it; the client is told a second less than the truth.
            expires_in: Math.max(1, Math.floor((expiresAt - Date.now()) / 1000) - 1),
          }),
        };
      },
    },
  ];
}
