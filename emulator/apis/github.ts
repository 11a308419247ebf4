// The GitHub REST subset Runway's report stage calls: issue comments, deployments and their
// statuses, commit statuses; and GraphQL's `viewer`. Tokens are checked; errors are GitHub's
// {"message": ...} bodies. Three kinds of token act as three kinds of author: the Actions token as
// github-actions[bot] (id 41898282), an App's installation token as SLUG[bot], a personal token as
// its user; every login has an id of its own, and installation tokens get 403 from GET /user.
// Every answer validates against GitHub's OpenAPI description of its operation and status
// (emulator/schemas/github-rest.json); one that does not is a 500.
import type { EmulatorContext } from '../context.js';
import { GitHubApiError } from '../errors.js';
import { bearerToken, type ApiRequest, type ApiResponse, type Route } from '../http.js';
import type {
  GitHubScope,
  GitHubCommitStatus,
  GitHubComment,
  GitHubDeployment,
  GitHubDeploymentStatus,
} from '../state.js';
import { createHash } from 'node:crypto';
import { DEFAULTS } from '../seed.js';
import { viewerAnswer } from '../schema/graphql.js';
import { githubResponseProblems } from '../schema/openapi.js';

/** A route and the operation of GitHub's OpenAPI description it serves (GraphQL has none). */
type DescribedRoute = Route & { operation?: string };

/**
 * The route, its answers checked against GitHub's description of the operation and status, its
 * refusals too (a status the operation does not list is checked against GitHub's basic-error, or
 * validation-error for a 422): an answer that does not validate is the emulator's bug, answered
 * 500 so that a test sees it.
 */
function conforming({ operation, ...route }: DescribedRoute): Route {
  if (!operation) return route;
  const check = (status: number, body: unknown): void => {
    const problems = githubResponseProblems(operation, status, body);
    if (problems.length)
      throw new Error(
        `The emulator's answer to ${operation} does not conform to GitHub's description: ${problems.join('; ')}`,
      );
  };
  return {
    ...route,
    handler: async (req) => {
      let out;
      try {
        out = await route.handler(req);
      } catch (err) {
        if (err instanceof GitHubApiError) check(err.httpStatus, err.toBody());
        throw err;
      }
      check(out.status ?? 200, out.body);
      return out;
    },
  };
}

const REPO = String.raw`^\/repos\/(?<owner>[^/]+)\/(?<repo>[^/]+)`;
const DEPLOYMENT_STATES = ['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success'];
const COMMIT_STATES = ['error', 'failure', 'pending', 'success'];

interface FieldError {
  resource: string;
  field: string;
  code: 'missing_field' | 'invalid' | 'custom';
  message?: string;
}

/** 422 as GitHub sends it: a fixed message and the offending fields in `errors`. */
class ValidationFailed extends GitHubApiError {
  readonly errors: FieldError[];
  constructor(...errors: FieldError[]) {
    super(422, 'Validation Failed');
    this.errors = errors;
  }
  override toBody(): unknown {
    return { ...(super.toBody() as object), errors: this.errors };
  }
}

/** 409 when the commit's statuses don't all succeed and required_contexts was not relaxed. */
class StatusChecksFailed extends GitHubApiError {
  readonly contexts: Array<{ context: string; state: string }>;
  constructor(ref: string, contexts: Array<{ context: string; state: string }>) {
    super(409, `Conflict: Commit status checks failed for ${ref}.`);
    this.contexts = contexts;
  }
  override toBody(): unknown {
    return {
      ...(super.toBody() as object),
      errors: [
        { contexts: this.contexts, resource: 'Deployment', field: 'required_contexts', code: 'invalid' },
      ],
    };
  }
}

const BOT_ID = 41898282;
/**
 * A user as GitHub's simple-user shows one: every URL GitHub derives from the login (the OpenAPI
 * description requires them all), the avatar and node id.
 */
function simpleUser(user: {
  login: string;
  id: number;
  type: 'Bot' | 'User';
  node_id: string;
  avatar_url: string;
  html_url: string;
}): Record<string, unknown> & { login: string; id: number; avatar_url: string } {
  const url = `https://api.github.com/users/${encodeURIComponent(user.login)}`;
  return {
    login: user.login,
    id: user.id,
    node_id: user.node_id,
    avatar_url: user.avatar_url,
    gravatar_id: '',
    url,
    html_url: user.html_url,
    followers_url: `${url}/followers`,
    following_url: `${url}/following{/other_user}`,
    gists_url: `${url}/gists{/gist_id}`,
    starred_url: `${url}/starred{/owner}{/repo}`,
    subscriptions_url: `${url}/subscriptions`,
    organizations_url: `${url}/orgs`,
    repos_url: `${url}/repos`,
    events_url: `${url}/events{/privacy}`,
    received_events_url: `${url}/received_events`,
    type: user.type,
    user_view_type: 'public',
    site_admin: false,
  };
}

const bot = simpleUser({
  login: 'github-actions[bot]',
  id: BOT_ID,
  node_id: 'MDM6Qm90NDE4OTgyODI=',
  avatar_url: 'https://avatars.githubusercontent.com/in/15368?v=4',
  html_url: 'https://github.com/apps/github-actions',
  type: 'Bot',
});

type Actor = { login: string; type: 'Bot' | 'User' };

/** The caller: the bot for installation tokens, the user for personal tokens; 401 otherwise. */
function actorOf(ctx: EmulatorContext, req: ApiRequest): { token: string; actor: Actor } {
  const token = bearerToken(req.headers);
  const personal = token ? ctx.world.github.personalTokens.get(token) : undefined;
  if (token && personal) return { token, actor: { login: personal, type: 'User' } };
  const app = token ? ctx.world.github.appTokens.get(token) : undefined;
  if (token && app) return { token, actor: { login: `${app}[bot]`, type: 'Bot' } };
  if (!token || !ctx.world.github.tokens.has(token)) throw new GitHubApiError(401, 'Bad credentials');
  return { token, actor: { login: bot.login, type: 'Bot' } };
}

/**
 * Checks the token and, for a write, that it holds one of `scopes` with write access, as GitHub
 * answers an installation token whose `permissions:` lack it: 403 "Resource not accessible by
 * integration". Returns the repository and the acting user.
 */
function authorize(
  ctx: EmulatorContext,
  req: ApiRequest,
  writeScopes: GitHubScope[] = [],
): { repository: string; actor: Actor } {
  const { token, actor } = actorOf(ctx, req);
  req.caller = actor.login;
  const repository = `${req.params.owner}/${req.params.repo}`;
  if (repository !== ctx.world.github.repository) throw new GitHubApiError(404, 'Not Found');
  const granted = ctx.world.github.tokenPermissions.get(token);
  if (granted && writeScopes.length && !writeScopes.some((s) => granted[s] === 'write'))
    throw new GitHubApiError(403, 'Resource not accessible by integration');
  return { repository, actor };
}

/** A login's id: stable, and different for different logins (GitHub's ids never change). */
function idOf(login: string): number {
  return 50_000_000 + (createHash('sha256').update(login).digest().readUInt32BE(0) % 100_000_000);
}

function userOf(actor: Actor): Record<string, unknown> {
  if (actor.type === 'Bot' && actor.login === bot.login) return bot;
  const app = actor.type === 'Bot' ? actor.login.replace(/\[bot\]$/, '') : undefined;
  const id = idOf(actor.login);
  return simpleUser({
    login: actor.login,
    id,
    type: actor.type,
    node_id: `${app ? 'BOT' : 'U'}_${Buffer.from(String(id)).toString('base64url')}`,
    avatar_url: `https://avatars.githubusercontent.com/${app ? 'in' : 'u'}/${id}?v=4`,
    html_url: app ? `https://github.com/apps/${app}` : `https://github.com/${actor.login}`,
  });
}

/** GET /user: the authenticated user sees the private view of themselves. */
function privateUserOf(actor: Actor): Record<string, unknown> {
  const created = '2020-01-01T00:00:00Z';
  return {
    ...userOf(actor),
    user_view_type: 'private',
    name: null,
    company: null,
    blog: '',
    location: null,
    email: null,
    hireable: null,
    bio: null,
    public_repos: 0,
    public_gists: 0,
    followers: 0,
    following: 0,
    created_at: created,
    updated_at: created,
    private_gists: 0,
    total_private_repos: 0,
    owned_private_repos: 0,
    disk_usage: 0,
    collaborators: 0,
    two_factor_authentication: true,
  };
}

/** A repository as GitHub's minimal-repository shows it, with every URL it derives from the name. */
function minimalRepository(apiBase: string, fullName: string): Record<string, unknown> {
  const [owner, name] = fullName.split('/') as [string, string];
  const url = `${apiBase}/repos/${fullName}`;
  const id = idOf(`repository:${fullName}`);
  const under = (path: string): string => `${url}/${path}`;
  return {
    id,
    node_id: `R_${Buffer.from(String(id)).toString('base64url')}`,
    name,
    full_name: fullName,
    owner: userOf({ login: owner, type: 'User' }),
    private: false,
    html_url: `https://github.com/${fullName}`,
    description: null,
    fork: false,
    url,
    archive_url: under('{archive_format}{/ref}'),
    assignees_url: under('assignees{/user}'),
    blobs_url: under('git/blobs{/sha}'),
    branches_url: under('branches{/branch}'),
    collaborators_url: under('collaborators{/collaborator}'),
    comments_url: under('comments{/number}'),
    commits_url: under('commits{/sha}'),
    compare_url: under('compare/{base}...{head}'),
    contents_url: under('contents/{+path}'),
    contributors_url: under('contributors'),
    deployments_url: under('deployments'),
    downloads_url: under('downloads'),
    events_url: under('events'),
    forks_url: under('forks'),
    git_commits_url: under('git/commits{/sha}'),
    git_refs_url: under('git/refs{/sha}'),
    git_tags_url: under('git/tags{/sha}'),
    hooks_url: under('hooks'),
    issue_comment_url: under('issues/comments{/number}'),
    issue_events_url: under('issues/events{/number}'),
    issues_url: under('issues{/number}'),
    keys_url: under('keys{/key_id}'),
    labels_url: under('labels{/name}'),
    languages_url: under('languages'),
    merges_url: under('merges'),
    milestones_url: under('milestones{/number}'),
    notifications_url: under('notifications{?since,all,participating}'),
    pulls_url: under('pulls{/number}'),
    releases_url: under('releases{/id}'),
    stargazers_url: under('stargazers'),
    statuses_url: under('statuses/{sha}'),
    subscribers_url: under('subscribers'),
    subscription_url: under('subscription'),
    tags_url: under('tags'),
    teams_url: under('teams'),
    trees_url: under('git/trees{/sha}'),
  };
}

function fields(req: ApiRequest): Record<string, unknown> {
  return req.body && typeof req.body === 'object' && !(req.body instanceof Buffer)
    ? (req.body as Record<string, unknown>)
    : {};
}

function optionalString(value: unknown, resource: string, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw new ValidationFailed({ resource, field, code: 'invalid', message: `${field} is not a string` });
  return value;
}

function optionalBoolean(value: unknown, resource: string, field: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean')
    throw new ValidationFailed({ resource, field, code: 'invalid', message: `${field} is not a boolean` });
  return value;
}

function requiredState(value: unknown, allowed: string[], resource: string): string {
  if (value === undefined) throw new ValidationFailed({ resource, field: 'state', code: 'missing_field' });
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw new ValidationFailed({
      resource,
      field: 'state',
      code: 'custom',
      message: 'state is not included in the list',
    });
  }
  return value;
}

/** per_page (≤100, default 30) and page, with the Link header GitHub's clients follow. */
function paginate(req: ApiRequest, items: unknown[]): ApiResponse {
  const perPage = Math.min(Math.max(Number(req.query.get('per_page') ?? 30) || 30, 1), 100);
  const page = Math.max(Number(req.query.get('page') ?? 1) || 1, 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const query = new URLSearchParams(req.query);
  const link = (n: number, rel: string): string => {
    query.set('per_page', String(perPage));
    query.set('page', String(n));
    return `<${req.baseUrl}${req.path}?${query.toString()}>; rel="${rel}"`;
  };
  const links = [
    ...(page > 1 ? [link(page - 1, 'prev')] : []),
    ...(page < last ? [link(page + 1, 'next'), link(last, 'last')] : []),
    ...(page > 1 ? [link(1, 'first')] : []),
  ];
  return {
    body: items.slice((page - 1) * perPage, page * perPage),
    headers: links.length ? { link: links.join(', ') } : {},
  };
}

export function githubRoutes(ctx: EmulatorContext): Route[] {
  const gh = (): EmulatorContext['world']['github'] => ctx.world.github;
  const now = (): string => new Date().toISOString();
  const api = (req: ApiRequest): string => `${req.baseUrl}/repos/${gh().repository}`;

  const allComments = (): GitHubComment[] => [...gh().comments.values()].flat();
  const findComment = (id: string): GitHubComment => {
    const comment = allComments().find((c) => String(c.id) === id);
    if (!comment) throw new GitHubApiError(404, 'Not Found');
    return comment;
  };
  const issueOf = (comment: GitHubComment): number => {
    for (const [number, list] of gh().comments) if (list.includes(comment)) return number;
    return 0;
  };
  const showComment = (req: ApiRequest, c: GitHubComment): unknown => ({
    ...c,
    user: userOf(c.user as Actor),
    issue_url: `${api(req)}/issues/${issueOf(c)}`,
    author_association: 'NONE',
    performed_via_github_app: null,
  });

  const findDeployment = (id: string): GitHubDeployment => {
    const deployment = gh().deployments.find((d) => String(d.id) === id);
    if (!deployment) throw new GitHubApiError(404, 'Not Found');
    return deployment;
  };
  const showDeployment = (req: ApiRequest, d: GitHubDeployment): unknown => {
    const { statuses, ...fieldsShown } = d;
    const url = `${api(req)}/deployments/${d.id}`;
    return {
      url,
      node_id: `DE_${d.id}`,
      task: 'deploy',
      original_environment: d.environment,
      ...fieldsShown,
      creator: bot,
      updated_at: statuses.at(-1)?.created_at ?? d.created_at,
      statuses_url: `${url}/statuses`,
      repository_url: api(req),
      performed_via_github_app: null,
    };
  };
  const showDeploymentStatus = (
    req: ApiRequest,
    d: GitHubDeployment,
    s: GitHubDeploymentStatus,
  ): unknown => ({
    url: `${api(req)}/deployments/${d.id}/statuses/${s.id}`,
    node_id: `DES_${s.id}`,
    ...s,
    target_url: s.log_url,
    creator: bot,
    updated_at: s.created_at,
    deployment_url: `${api(req)}/deployments/${d.id}`,
    repository_url: api(req),
    performed_via_github_app: null,
  });
  const showCommitStatus = (req: ApiRequest, s: GitHubCommitStatus): unknown => ({
    url: `${api(req)}/statuses/${s.sha}`,
    avatar_url: bot.avatar_url,
    node_id: `SC_${s.id}`,
    ...s,
    updated_at: s.created_at,
    creator: bot,
  });

  /** The newest state per context among the commit's statuses. */
  const latestStates = (sha: string): Map<string, string> => {
    const latest = new Map<string, string>();
    for (const s of gh().commitStatuses) if (s.sha === sha) latest.set(s.context, s.state);
    return latest;
  };

  const routes: DescribedRoute[] = [
    {
      // Installation tokens are not users: GitHub refuses them here.
      method: 'GET',
      pattern: /^\/user$/,
      operation: 'GET /user',
      handler: (req) => {
        const { actor } = actorOf(ctx, req);
        req.caller = actor.login;
        if (actor.type === 'Bot') throw new GitHubApiError(403, 'Resource not accessible by integration');
        return { body: privateUserOf(actor) };
      },
    },
    {
      // GraphQL answers every token, installation tokens too; only `viewer` is emulated.
      method: 'POST',
      pattern: /^\/graphql$/,
      handler: (req) => {
        const { actor } = actorOf(ctx, req);
        req.caller = actor.login;
        const query = fields(req).query;
        if (typeof query !== 'string' || !/^\s*(query\s*)?\{\s*viewer\s*\{[\s\w]*\}\s*\}\s*$/.test(query))
          return { body: { errors: [{ message: 'The emulator answers only { viewer { … } } queries.' }] } };
        const user = userOf(actor) as { login: string; id: number; node_id: string; html_url: string };
        const wanted = /\{\s*viewer\s*\{([\s\w]*)\}/.exec(query)![1]!.split(/\s+/).filter(Boolean);
        return {
          body: viewerAnswer(wanted, {
            login: user.login,
            databaseId: user.id,
            id: user.node_id,
            url: user.html_url,
          }),
        };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${REPO}\\/issues\\/(?<number>\\d+)\\/comments$`),
      operation: 'GET /repos/{owner}/{repo}/issues/{issue_number}/comments',
      handler: (req) => {
        authorize(ctx, req);
        const list = gh().comments.get(Number(req.params.number)) ?? [];
        return paginate(
          req,
          list.map((c) => showComment(req, c)),
        );
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`${REPO}\\/issues\\/(?<number>\\d+)\\/comments$`),
      operation: 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
      handler: (req) => {
        const { repository, actor } = authorize(ctx, req, ['issues', 'pull_requests']);
        const text = optionalString(fields(req).body, 'IssueComment', 'body');
        if (!text)
          throw new ValidationFailed({ resource: 'IssueComment', field: 'body', code: 'missing_field' });
        const id = gh().nextId++;
        const number = Number(req.params.number);
        const comment: GitHubComment = {
          id,
          node_id: `IC_${id}`,
          body: text,
          user: actor,
          created_at: now(),
          updated_at: now(),
          html_url: `https://github.com/${repository}/pull/${number}#issuecomment-${id}`,
          url: `${api(req)}/issues/comments/${id}`,
        };
        gh().comments.set(number, [...(gh().comments.get(number) ?? []), comment]);
        return { status: 201, body: showComment(req, comment), headers: { location: comment.url } };
      },
    },
    {
      method: 'PATCH',
      pattern: new RegExp(`${REPO}\\/issues\\/comments\\/(?<id>\\d+)$`),
      operation: 'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}',
      handler: (req) => {
        authorize(ctx, req, ['issues', 'pull_requests']);
        const comment = findComment(req.params.id!);
        const text = optionalString(fields(req).body, 'IssueComment', 'body');
        if (!text)
          throw new ValidationFailed({ resource: 'IssueComment', field: 'body', code: 'missing_field' });
        comment.body = text;
        comment.updated_at = now();
        return { body: showComment(req, comment) };
      },
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`${REPO}\\/issues\\/comments\\/(?<id>\\d+)$`),
      operation: 'DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}',
      handler: (req) => {
        authorize(ctx, req, ['issues', 'pull_requests']);
        const comment = findComment(req.params.id!);
        const number = issueOf(comment);
        gh().comments.set(
          number,
          (gh().comments.get(number) ?? []).filter((c) => c !== comment),
        );
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`${REPO}\\/deployments$`),
      operation: 'POST /repos/{owner}/{repo}/deployments',
      handler: (req) => {
        authorize(ctx, req, ['deployments']);
        const b = fields(req);
        const ref = optionalString(b.ref, 'Deployment', 'ref');
        if (!ref) throw new ValidationFailed({ resource: 'Deployment', field: 'ref', code: 'missing_field' });
        const environment = optionalString(b.environment, 'Deployment', 'environment') ?? 'production';
        optionalBoolean(b.auto_merge, 'Deployment', 'auto_merge');
        // The emulator has no git refs: a full SHA names itself, any other ref is the seeded head.
        const sha =
          optionalString(b.sha, 'Deployment', 'sha') ?? (/^[0-9a-f]{40}$/.test(ref) ? ref : DEFAULTS.sha);
        const states = latestStates(sha);
        const required = b.required_contexts;
        if (
          required !== undefined &&
          !(Array.isArray(required) && required.every((c) => typeof c === 'string'))
        ) {
          throw new ValidationFailed({ resource: 'Deployment', field: 'required_contexts', code: 'invalid' });
        }
        // Omitted required_contexts means every context on the commit must have succeeded.
        const contexts = (required as string[] | undefined) ?? [...states.keys()];
        const failing = contexts
          .map((context) => ({ context, state: states.get(context) ?? 'pending' }))
          .filter((c) => c.state !== 'success');
        if (failing.length) throw new StatusChecksFailed(ref, failing);

        const id = gh().nextId++;
        const deployment: GitHubDeployment = {
          id,
          ref,
          sha,
          environment,
          description: optionalString(b.description, 'Deployment', 'description') ?? null,
          transient_environment:
            optionalBoolean(b.transient_environment, 'Deployment', 'transient_environment') ?? false,
          production_environment:
            optionalBoolean(b.production_environment, 'Deployment', 'production_environment') ??
            environment === 'production',
          payload: b.payload ?? {},
          created_at: now(),
          statuses: [],
        };
        gh().deployments.push(deployment);
        return { status: 201, body: showDeployment(req, deployment) };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${REPO}\\/deployments$`),
      operation: 'GET /repos/{owner}/{repo}/deployments',
      handler: (req) => {
        authorize(ctx, req);
        const filters = ['sha', 'ref', 'environment'] as const;
        const task = req.query.get('task');
        const list = gh()
          .deployments.filter((d) => filters.every((f) => !req.query.get(f) || d[f] === req.query.get(f)))
          .filter(() => !task || task === 'deploy')
          .reverse()
          .map((d) => showDeployment(req, d));
        return paginate(req, list);
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${REPO}\\/deployments\\/(?<id>\\d+)$`),
      operation: 'GET /repos/{owner}/{repo}/deployments/{deployment_id}',
      handler: (req) => {
        authorize(ctx, req);
        return { body: showDeployment(req, findDeployment(req.params.id!)) };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`${REPO}\\/deployments\\/(?<id>\\d+)\\/statuses$`),
      operation: 'POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses',
      handler: (req) => {
        authorize(ctx, req, ['deployments']);
        const deployment = findDeployment(req.params.id!);
        const b = fields(req);
        const state = requiredState(b.state, DEPLOYMENT_STATES, 'DeploymentStatus');
        const logUrl =
          optionalString(b.log_url, 'DeploymentStatus', 'log_url') ??
          optionalString(b.target_url, 'DeploymentStatus', 'target_url') ??
          '';
        const status: GitHubDeploymentStatus = {
          id: gh().nextId++,
          state,
          environment_url: optionalString(b.environment_url, 'DeploymentStatus', 'environment_url') ?? '',
          log_url: logUrl,
          description: optionalString(b.description, 'DeploymentStatus', 'description') ?? '',
          environment:
            optionalString(b.environment, 'DeploymentStatus', 'environment') ?? deployment.environment,
          created_at: now(),
        };
        const autoInactive = optionalBoolean(b.auto_inactive, 'DeploymentStatus', 'auto_inactive') ?? true;
        if (autoInactive && state === 'success') {
          // GitHub marks earlier successful deployments of the same environment inactive.
          for (const other of gh().deployments) {
            const previous = other.statuses.at(-1);
            if (
              other !== deployment &&
              other.environment === deployment.environment &&
              previous?.state === 'success'
            ) {
              other.statuses.push({ ...previous, id: gh().nextId++, state: 'inactive', created_at: now() });
            }
          }
        }
        deployment.statuses.push(status);
        return { status: 201, body: showDeploymentStatus(req, deployment, status) };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${REPO}\\/deployments\\/(?<id>\\d+)\\/statuses$`),
      operation: 'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses',
      handler: (req) => {
        authorize(ctx, req);
        const deployment = findDeployment(req.params.id!);
        return paginate(
          req,
          [...deployment.statuses].reverse().map((s) => showDeploymentStatus(req, deployment, s)),
        );
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`${REPO}\\/statuses\\/(?<sha>[^/]+)$`),
      operation: 'POST /repos/{owner}/{repo}/statuses/{sha}',
      handler: (req) => {
        authorize(ctx, req, ['statuses']);
        const sha = req.params.sha!;
        if (!/^[0-9a-f]{40}$/.test(sha)) {
          throw new ValidationFailed({
            resource: 'Status',
            field: 'sha',
            code: 'custom',
            message: `No commit found for SHA: ${sha}`,
          });
        }
        const b = fields(req);
        const status: GitHubCommitStatus = {
          id: gh().nextId++,
          sha,
          state: requiredState(b.state, COMMIT_STATES, 'Status'),
          context: optionalString(b.context, 'Status', 'context') ?? 'default',
          description: optionalString(b.description, 'Status', 'description') ?? null,
          target_url: optionalString(b.target_url, 'Status', 'target_url') ?? null,
          created_at: now(),
        };
        gh().commitStatuses.push(status);
        return { status: 201, body: showCommitStatus(req, status) };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${REPO}\\/commits\\/(?<ref>[^/]+)\\/statuses$`),
      operation: 'GET /repos/{owner}/{repo}/commits/{ref}/statuses',
      handler: (req) => {
        authorize(ctx, req);
        const sha = resolveRef(req.params.ref!);
        return paginate(
          req,
          gh()
            .commitStatuses.filter((s) => s.sha === sha)
            .reverse()
            .map((s) => showCommitStatus(req, s)),
        );
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${REPO}\\/commits\\/(?<ref>[^/]+)\\/status$`),
      operation: 'GET /repos/{owner}/{repo}/commits/{ref}/status',
      handler: (req) => {
        authorize(ctx, req);
        const sha = resolveRef(req.params.ref!);
        const newestPerContext = new Map<string, GitHubCommitStatus>();
        for (const s of gh().commitStatuses) if (s.sha === sha) newestPerContext.set(s.context, s);
        const statuses = [...newestPerContext.values()];
        const states = statuses.map((s) => s.state);
        const state = states.some((s) => s === 'error' || s === 'failure')
          ? 'failure'
          : states.length > 0 && states.every((s) => s === 'success')
            ? 'success'
            : 'pending';
        return {
          body: {
            state,
            statuses: statuses.map((s) => showCommitStatus(req, s)),
            sha,
            total_count: statuses.length,
            repository: minimalRepository(req.baseUrl, gh().repository),
            commit_url: `${api(req)}/commits/${sha}`,
            url: `${api(req)}/commits/${sha}/status`,
          },
        };
      },
    },
  ];
  return routes.map(conforming);
}

/** A full SHA names itself; branch names and tags resolve to the seeded head commit. */
function resolveRef(ref: string): string {
  return /^[0-9a-f]{40}$/.test(ref) ? ref : DEFAULTS.sha;
}
