// GitHub Actions' OIDC issuer: the runner's token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL), the
// discovery document and the JWKS, issuing RS256 tokens with GitHub's claim set (api-facts §1).
import { randomUUID } from 'node:crypto';
import type { EmulatorContext } from '../context.js';
import { GitHubApiError } from '../errors.js';
import { bearerToken, type Route } from '../http.js';
import { DEFAULTS } from '../seed.js';

/** Claims GitHub puts in a pull_request job's token; tests may override them through the admin API. */
export function githubClaims(ctx: EmulatorContext, audience: string): Record<string, string> {
  const d = DEFAULTS;
  const repository = ctx.world.github.repository;
  const [owner] = repository.split('/');
  return {
    jti: randomUUID(),
    sub: `repo:${repository}:pull_request`,
    aud: audience,
    ref: `refs/pull/${d.pullRequest}/merge`,
    sha: d.sha,
    repository,
    repository_owner: owner ?? '',
    repository_owner_id: '65',
    repository_id: '74',
    repository_visibility: 'private',
    run_id: d.runId,
    run_number: '10',
    run_attempt: '1',
    runner_environment: 'github-hosted',
    actor: 'octocat',
    actor_id: '12',
    workflow: 'deploy',
    workflow_ref: `${repository}/.github/workflows/deploy.yml@refs/pull/${d.pullRequest}/merge`,
    job_workflow_ref: `${repository}/.github/workflows/deploy.yml@refs/pull/${d.pullRequest}/merge`,
    head_ref: 'feature',
    base_ref: 'main',
    event_name: 'pull_request',
    ref_type: 'branch',
    ...ctx.world.oidcClaimOverrides,
  };
}

export function oidcRoutes(ctx: EmulatorContext): Route[] {
  return [
    {
      method: 'GET',
      pattern: /^\/_apis\/actions\/idtoken$/,
      handler: async (req) => {
        if (bearerToken(req.headers) !== DEFAULTS.oidcRequestToken) {
          throw new GitHubApiError(401, 'Bad credentials');
        }
        req.caller = 'actions-runner';
        const audience =
          req.query.get('audience') ?? `https://github.com/${ctx.world.github.repository.split('/')[0]}`;
        const claims = githubClaims(ctx, audience);
        // GitHub: 5 minute lifetime (shorter when the seed caps token lifetimes); nbf ten minutes
        // back to tolerate clock skew.
        const nbf = Math.floor(Date.now() / 1000) - 600;
        const lifetime = Math.min(300, ctx.world.tokenLifetimeSeconds ?? 300);
        const value = await ctx.githubOidcKey.sign({ ...claims, iss: req.baseUrl, nbf }, lifetime);
        return { body: { count: 1, value } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/\.well-known\/openid-configuration$/,
      handler: (req) => ({
        body: {
          issuer: req.baseUrl,
          jwks_uri: `${req.baseUrl}/.well-known/jwks`,
          subject_types_supported: ['public', 'pairwise'],
          response_types_supported: ['id_token'],
          claims_supported: [
            'sub',
            'aud',
            'exp',
            'iat',
            'iss',
            'jti',
            'nbf',
            'ref',
            'repository',
            'repository_owner',
            'sha',
            'workflow',
            'actor',
            'event_name',
          ],
          id_token_signing_alg_values_supported: ['RS256'],
          scopes_supported: ['openid'],
        },
      }),
    },
    {
      method: 'GET',
      pattern: /^\/\.well-known\/jwks$/,
      handler: () => ({ body: ctx.githubOidcKey.jwks() }),
    },
  ];
}
