// Where people look on GitHub: a sticky comment on the pull request, a Deployment with its statuses,
// and a commit status for branch protection — through Octokit (@actions/github). Reporting never
// fails a deploy: a call GitHub refuses becomes a warning that names the permission to add.
import type { getOctokit } from '@actions/github';
import { withRetry } from '../common/http.js';

export type Octokit = ReturnType<typeof getOctokit>;

import type { Repo } from '../inputs/event.js';

export type { Repo };

/** An Octokit RequestError's HTTP status, if `err` is one. */
export function statusOf(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** GitHub's 5xx, 429 and network failures are worth another attempt; its 4xx are answers. */
function retryableGitHub(err: unknown): boolean {
  const status = statusOf(err);
  if (status === undefined) return err instanceof TypeError;
  return status >= 500 || status === 429;
}

export function githubCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  return withRetry(what, fn, { attempts: 4, initialDelayMs: 500, maxDelayMs: 4000 }, retryableGitHub);
}

/** Why a reporting call failed, and the fix: the permission to grant, or what GitHub said. */
export function explainGitHubFailure(what: string, permission: string, err: unknown): string {
  const status = statusOf(err);
  const message = err instanceof Error ? err.message : String(err);
  if (status === 403 || status === 404) {
    return `Could not ${what} (HTTP ${status}: ${message}). Give the job \`permissions: { ${permission}: write }\`; pull requests from forks get a read-only token, so their reports go to the job summary only.`;
  }
  return `Could not ${what}: ${message}`;
}

// ---- the sticky PR comment ------------------------------------------------------------------

const HISTORY_LIMIT = 10;

/** The hidden line that marks Runway's comment for one service and environment. */
export function commentMarker(service: string, environment: string | undefined): string {
  return `<!-- runway:comment service=${service} environment=${environment ?? ''} -->`;
}

interface HistoryEntry {
  line: string;
}

const HISTORY_OPEN = '<!-- runway:history ';
const HISTORY_CLOSE = ' -->';

/** The earlier runs a comment carries, newest first, from its hidden history block. */
export function readHistory(body: string | undefined): HistoryEntry[] {
  if (!body) return [];
  const start = body.indexOf(HISTORY_OPEN);
  if (start < 0) return [];
  const end = body.indexOf(HISTORY_CLOSE, start + HISTORY_OPEN.length);
  try {
    const parsed = JSON.parse(
      Buffer.from(body.slice(start + HISTORY_OPEN.length, end), 'base64').toString('utf8'),
    ) as unknown;
    return Array.isArray(parsed)
      ? parsed.filter((e): e is HistoryEntry => typeof (e as HistoryEntry)?.line === 'string')
      : [];
  } catch {
    return [];
  }
}

/**
 * The comment's body: the marker, this run's report, and the earlier runs folded into a collapsed
 * section. `summaryLine` is this run in one line; it joins the history when the next run replaces it.
 */
export function renderComment(
  marker: string,
  report: string,
  summaryLine: string,
  previousBody: string | undefined,
): string {
  const earlier = readHistory(previousBody);
  const previousLine = previousBody ? /<!-- runway:line (.*?) -->/.exec(previousBody)?.[1] : undefined;
  const history = [...(previousLine ? [{ line: previousLine }] : []), ...earlier].slice(0, HISTORY_LIMIT);
  const parts = [marker, report, `<!-- runway:line ${summaryLine.replace(/-->/g, '')} -->`];
  if (history.length) {
    parts.push(
      '',
      `<details><summary>Earlier runs (${history.length})</summary>`,
      '',
      ...history.map((h) => `- ${h.line}`),
      '',
      '</details>',
    );
  }
  parts.push(`${HISTORY_OPEN}${Buffer.from(JSON.stringify(history)).toString('base64')}${HISTORY_CLOSE}`);
  return parts.join('\n');
}

interface CommentLike {
  id: number;
  body?: string | undefined;
  user: { login: string; type?: string } | null;
}

/** Runway's own comments: the marker, written by a bot (the job's token) or by `login`. */
export function ownComments<C extends CommentLike>(comments: C[], marker: string, login?: string): C[] {
  return comments
    .filter((c) => c.body?.includes(marker))
    .filter((c) => (login ? c.user?.login === login : c.user?.type === 'Bot'))
    .sort((a, b) => a.id - b.id);
}

/** Who the token is, when GitHub says (a PAT); undefined for the job's installation token. */
async function tokenLogin(octokit: Octokit): Promise<string | undefined> {
  try {
    const { data } = await octokit.rest.users.getAuthenticated();
    return data.login;
  } catch {
    return undefined;
  }
}

/**
 * Creates or updates the one comment carrying `marker` on the issue, and removes any duplicate a
 * racing job created: the oldest of Runway's comments wins and holds the newest report.
 */
export async function upsertStickyComment(
  octokit: Octokit,
  repo: Repo,
  issue: number,
  marker: string,
  render: (previousBody: string | undefined) => string,
): Promise<{ id: number; created: boolean }> {
  const login = await tokenLogin(octokit);
  const list = async (): Promise<CommentLike[]> =>
    githubCall('list comments', () =>
      octokit.paginate(octokit.rest.issues.listComments, { ...repo, issue_number: issue, per_page: 100 }),
    );
  let mine = ownComments(await list(), marker, login);
  let created = false;
  let id: number;
  if (mine.length === 0) {
    const { data } = await githubCall('create the comment', () =>
      octokit.rest.issues.createComment({ ...repo, issue_number: issue, body: render(undefined) }),
    );
    id = data.id;
    created = true;
    // Another job may have created its own at the same moment: keep the oldest, drop the rest.
    mine = ownComments(await list(), marker, login);
    if (mine.length > 1 && mine[0]!.id !== id) {
      await githubCall('update the comment', () =>
        octokit.rest.issues.updateComment({ ...repo, comment_id: mine[0]!.id, body: render(mine[0]!.body) }),
      );
    }
  } else {
    await githubCall('update the comment', () =>
      octokit.rest.issues.updateComment({ ...repo, comment_id: mine[0]!.id, body: render(mine[0]!.body) }),
    );
  }
  id = mine[0]?.id ?? id!;
  for (const duplicate of mine.slice(1)) {
    await githubCall('remove a duplicate comment', () =>
      octokit.rest.issues.deleteComment({ ...repo, comment_id: duplicate.id }),
    ).catch(() => undefined);
  }
  return { id, created };
}

// ---- deployments ----------------------------------------------------------------------------

export interface DeploymentRequest {
  sha: string;
  environment: string;
  production: boolean;
  transient: boolean;
  description: string;
}

export async function createDeployment(octokit: Octokit, repo: Repo, d: DeploymentRequest): Promise<number> {
  const { data } = await githubCall('create the deployment', () =>
    octokit.rest.repos.createDeployment({
      ...repo,
      ref: d.sha,
      environment: d.environment,
      auto_merge: false,
      required_contexts: [],
      production_environment: d.production,
      transient_environment: d.transient,
      description: d.description,
    }),
  );
  if (!('id' in data)) throw new Error(`GitHub did not create the deployment: ${data.message ?? 'no id'}`);
  return data.id;
}

export type DeploymentState = 'in_progress' | 'success' | 'failure' | 'inactive';

export async function setDeploymentStatus(
  octokit: Octokit,
  repo: Repo,
  id: number,
  state: DeploymentState,
  urls: { environment?: string | undefined; log: string },
  description: string,
): Promise<void> {
  await githubCall(`set the deployment ${state}`, () =>
    octokit.rest.repos.createDeploymentStatus({
      ...repo,
      deployment_id: id,
      state,
      log_url: urls.log,
      ...(urls.environment ? { environment_url: urls.environment } : {}),
      description: description.slice(0, 140),
      auto_inactive: false,
    }),
  );
}

/** Marks every deployment of the environment but `current` whose latest status is active as inactive. */
export async function retireEarlierDeployments(
  octokit: Octokit,
  repo: Repo,
  environment: string,
  current: number | undefined,
  log: string,
  description = 'superseded by a later deploy',
): Promise<number[]> {
  const deployments = await githubCall('list deployments', () =>
    octokit.paginate(octokit.rest.repos.listDeployments, { ...repo, environment, per_page: 100 }),
  );
  const retired: number[] = [];
  for (const d of deployments) {
    if (d.id === current) continue;
    const { data: statuses } = await githubCall('read deployment statuses', () =>
      octokit.rest.repos.listDeploymentStatuses({ ...repo, deployment_id: d.id, per_page: 1 }),
    );
    const latest = statuses[0]?.state;
    if (latest === 'success' || latest === 'in_progress') {
      await setDeploymentStatus(octokit, repo, d.id, 'inactive', { log }, description);
      retired.push(d.id);
    }
  }
  return retired;
}

// ---- commit status --------------------------------------------------------------------------

export async function setCommitStatus(
  octokit: Octokit,
  repo: Repo,
  sha: string,
  context: string,
  state: 'pending' | 'success' | 'failure',
  description: string,
  targetUrl: string,
): Promise<void> {
  await githubCall('set the commit status', () =>
    octokit.rest.repos.createCommitStatus({
      ...repo,
      sha,
      state,
      context,
      description: description.slice(0, 140),
      target_url: targetUrl,
    }),
  );
}
