// The GitHub REST subset Runway's report stage calls: issue comments, deployments and their
// statuses, commit statuses. Tokens are checked; errors are GitHub's {"message": ...} bodies.
import type { EmulatorContext } from '../context.js';
import { GitHubApiError } from '../errors.js';
import { bearerToken, type ApiRequest, type Route } from '../http.js';
import type { GitHubComment, GitHubDeployment } from '../state.js';

const REPO = String.raw`^\/repos\/(?<owner>[^/]+)\/(?<repo>[^/]+)`;
const DEPLOYMENT_STATES = ['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success'];
const COMMIT_STATES = ['error', 'failure', 'pending', 'success'];

function authorize(ctx: EmulatorContext, req: ApiRequest): string {
  const token = bearerToken(req.headers);
  if (!token || !ctx.world.github.tokens.has(token)) throw new GitHubApiError(401, 'Bad credentials');
  req.caller = 'github-actions[bot]';
  const repository = `${req.params.owner}/${req.params.repo}`;
  if (repository !== ctx.world.github.repository) throw new GitHubApiError(404, 'Not Found');
  return repository;
}

function body(req: ApiRequest): Record<string, unknown> {
  return req.body && typeof req.body === 'object' && !(req.body instanceof Buffer)
    ? (req.body as Record<string, unknown>)
    : {};
}

function validation(message: string): GitHubApiError {
  return new GitHubApiError(422, `Validation Failed: ${message}`);
}

const bot = { login: 'github-actions[bot]', id: 41898282, type: 'Bot' };

export function githubRoutes(ctx: EmulatorContext): Route[] {
  const gh = ctx.world.github;
  const now = (): string => new Date().toISOString();
  const allComments = (): GitHubComment[] => [...gh.comments.values()].flat();
  const findComment = (id: string): GitHubComment => {
    const comment = allComments().find((c) => String(c.id) === id);
    if (!comment) throw new GitHubApiError(404, 'Not Found');
    return comment;
  };
  const findDeployment = (id: string): GitHubDeployment => {
    const deployment = gh.deployments.find((d) => String(d.id) === id);
    if (!deployment) throw new GitHubApiError(404, 'Not Found');
    return deployment;
  };

  return [
    {
      method: 'GET',
      pattern: new RegExp(`${REPO}\\/issues\\/(?<number>\\d+)\\/comments$`),
      handler: (req) => {
        const repository = authorize(ctx, req);
        const list = gh.comments.get(Number(req.params.number)) ?? [];
        const perPage = Math.min(Number(req.query.get('per_page') ?? 30), 100);
        const page = Number(req.query.get('page') ?? 1);
        const slice = list.slice((page - 1) * perPage, page * perPage);
        const last = Math.max(1, Math.ceil(list.length / perPage));
        const url = `${req.baseUrl}/repos/${repository}/issues/${req.params.number}/comments?per_page=${perPage}`;
        const headers: Record<string, string> = {};
        if (page < last)
          headers.link = `<${url}&page=${page + 1}>; rel="next", <${url}&page=${last}>; rel="last"`;
        return { body: slice, headers };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`${REPO}\\/issues\\/(?<number>\\d+)\\/comments$`),
      handler: (req) => {
        const repository = authorize(ctx, req);
        const text = body(req).body;
        if (typeof text !== 'string' || text === '') throw validation('body is missing');
        const id = gh.nextId++;
        const number = Number(req.params.number);
        const comment: GitHubComment = {
          id,
          node_id: `IC_${id}`,
          body: text,
          user: bot,
          created_at: now(),
          updated_at: now(),
          html_url: `https://github.com/${repository}/pull/${number}#issuecomment-${id}`,
          url: `${req.baseUrl}/repos/${repository}/issues/comments/${id}`,
        };
        gh.comments.set(number, [...(gh.comments.get(number) ?? []), comment]);
        return { status: 201, body: comment };
      },
    },
    {
      method: 'PATCH',
      pattern: new RegExp(`${REPO}\\/issues\\/comments\\/(?<id>\\d+)$`),
      handler: (req) => {
        authorize(ctx, req);
        const comment = findComment(req.params.id!);
        const text = body(req).body;
        if (typeof text !== 'string' || text === '') throw validation('body is missing');
        comment.body = text;
        comment.updated_at = now();
        return { body: comment };
      },
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`${REPO}\\/issues\\/comments\\/(?<id>\\d+)$`),
      handler: (req) => {
        authorize(ctx, req);
        const comment = findComment(req.params.id!);
        for (const [number, list] of gh.comments)
          gh.comments.set(
            number,
            list.filter((c) => c !== comment),
          );
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`${REPO}\\/deployments$`),
      handler: (req) => {
        authorize(ctx, req);
        const b = body(req);
        if (typeof b.ref !== 'string' || b.ref === '') throw validation('ref is missing');
        const id = gh.nextId++;
        const deployment: GitHubDeployment = {
          id,
          ref: b.ref,
          sha: typeof b.sha === 'string' ? b.sha : b.ref,
          environment: typeof b.environment === 'string' ? b.environment : 'production',
          description: typeof b.description === 'string' ? b.description : null,
          transient_environment: b.transient_environment === true,
          production_environment: b.production_environment === true,
          payload: b.payload ?? {},
          created_at: now(),
          statuses: [],
        };
        gh.deployments.push(deployment);
        const { statuses: _statuses, ...shown } = deployment;
        return {
          status: 201,
          body: { ...shown, url: `${req.baseUrl}/repos/${gh.repository}/deployments/${id}`, creator: bot },
        };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${REPO}\\/deployments$`),
      handler: (req) => {
        authorize(ctx, req);
        const filters = ['sha', 'ref', 'environment'] as const;
        const list = gh.deployments
          .filter((d) => filters.every((f) => !req.query.get(f) || d[f] === req.query.get(f)))
          .reverse()
          .map(({ statuses: _s, ...d }) => d);
        return { body: list };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`${REPO}\\/deployments\\/(?<id>\\d+)\\/statuses$`),
      handler: (req) => {
        authorize(ctx, req);
        const deployment = findDeployment(req.params.id!);
        const b = body(req);
        if (typeof b.state !== 'string' || !DEPLOYMENT_STATES.includes(b.state)) {
          throw validation(`state must be one of ${DEPLOYMENT_STATES.join(', ')}`);
        }
        const status = {
          id: gh.nextId++,
          state: b.state,
          environment_url: typeof b.environment_url === 'string' ? b.environment_url : '',
          log_url: typeof b.log_url === 'string' ? b.log_url : '',
          description: typeof b.description === 'string' ? b.description : '',
          environment: typeof b.environment === 'string' ? b.environment : deployment.environment,
          created_at: now(),
        };
        if (b.auto_inactive !== false && status.state === 'success') {
          // GitHub marks earlier successful deployments of the environment inactive.
          for (const other of gh.deployments) {
            if (
              other !== deployment &&
              other.environment === deployment.environment &&
              other.statuses.at(-1)?.state === 'success'
            ) {
              other.statuses.push({
                ...other.statuses.at(-1)!,
                id: gh.nextId++,
                state: 'inactive',
                created_at: now(),
              });
            }
          }
        }
        deployment.statuses.push(status);
        return { status: 201, body: { ...status, creator: bot } };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${REPO}\\/deployments\\/(?<id>\\d+)\\/statuses$`),
      handler: (req) => {
        authorize(ctx, req);
        return { body: [...findDeployment(req.params.id!).statuses].reverse() };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`${REPO}\\/statuses\\/(?<sha>[0-9a-f]{7,40})$`),
      handler: (req) => {
        authorize(ctx, req);
        const b = body(req);
        if (typeof b.state !== 'string' || !COMMIT_STATES.includes(b.state)) {
          throw validation(`state must be one of ${COMMIT_STATES.join(', ')}`);
        }
        const status = {
          id: gh.nextId++,
          sha: req.params.sha!,
          state: b.state,
          context: typeof b.context === 'string' ? b.context : 'default',
          description: typeof b.description === 'string' ? b.description : null,
          target_url: typeof b.target_url === 'string' ? b.target_url : null,
          created_at: now(),
        };
        gh.commitStatuses.push(status);
        return { status: 201, body: { ...status, creator: bot } };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${REPO}\\/commits\\/(?<ref>[^/]+)\\/statuses$`),
      handler: (req) => {
        authorize(ctx, req);
        return { body: gh.commitStatuses.filter((s) => s.sha === req.params.ref).reverse() };
      },
    },
  ];
}
