// Where people look on GitHub: a sticky comment on the pull request, a Deployment with its statuses,
// and a commit status for branch protection — through Octokit (@actions/github). Reporting never
// fails a deploy: a call GitHub refuses becomes a warning that names the permission to add.
import { createHash } from 'node:crypto';
import type { getOctokit } from '@actions/github';
import { withRetry } from '../common/http.js';
import { capMarkdown, code, gfm, join, text, type Markdown } from '../common/markdown.js';
import { REPORT_CAP } from './summary.js';

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
//
// A comment is Runway's own only when both hold: its first line is the marker for this service,
// environment, preview and set of regions, and its author is the token's own identity (by user id).
// Nothing past the first line is read as a marker, and the history is read only from the last line
// of a comment that passed both checks; everything rendered in between is escaped, so no app, API or
// person can forge either.

const HISTORY_LIMIT = 10;

/** What a comment is for: two reports share a comment only when all of this is the same. */
export interface CommentKey {
  service: string;
  /** The GitHub Deployment environment, if any. */
  environment: string | undefined;
  /** The preview's tag, when the run deploys or removes one. */
  preview: string | undefined;
  regions: string[];
}

/** The hidden first line that marks Runway's comment for one key. */
export function commentMarker(key: CommentKey): string {
  const value = (v: string | undefined): string => {
    // Well-formed first (encodeURIComponent throws on a lone surrogate); a long value by its hash,
    // so the marker stays one short line and keys stay distinct.
    const encoded = encodeURIComponent(Buffer.from(v ?? '', 'utf8').toString('utf8'));
    return encoded.length <= 100 ? encoded : `sha256-${createHash('sha256').update(encoded).digest('hex')}`;
  };
  const regions = [...key.regions].sort().map(value).join(',');
  return `<!-- runway:comment service=${value(key.service)} environment=${value(key.environment)} preview=${value(key.preview)} regions=${regions} -->`;
}

/** One run, as the history keeps it: only these fields, each checked when read back. */
export interface RunEntry {
  /** The run's id (GITHUB_RUN_ID). */
  run: string;
  /** The revision the run deployed (a job's execution), or `—`. */
  revision: string;
  outcome: 'healthy' | 'failed' | 'preview removed' | 'succeeded';
  /** When, as an ISO timestamp. */
  at: string;
}

const OUTCOMES: ReadonlySet<string> = new Set(['healthy', 'failed', 'preview removed', 'succeeded']);

function isRunEntry(e: unknown): e is RunEntry {
  const entry = e as Partial<RunEntry> | null;
  return (
    typeof entry?.run === 'string' &&
    /^\d{1,20}$/.test(entry.run) &&
    typeof entry.revision === 'string' &&
    /^([a-z0-9][a-z0-9-]{0,98}|—)$/.test(entry.revision) &&
    typeof entry.outcome === 'string' &&
    OUTCOMES.has(entry.outcome) &&
    typeof entry.at === 'string' &&
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/.test(entry.at)
  );
}

interface History {
  current: RunEntry | undefined;
  earlier: RunEntry[];
}

const HISTORY_LINE = /^<!-- runway:history ([A-Za-z0-9_-]{0,8000}) -->$/;

const linesOf = (body: string | undefined): string[] => (body ?? '').split(/\r?\n/);

/**
 * The runs a comment of Runway's own records: from its last line only, each entry checked. Only
 * for a comment `ownComments` returned.
 */
export function readHistory(body: string | undefined): History {
  const encoded = HISTORY_LINE.exec(linesOf(body).at(-1) ?? '')?.[1];
  if (encoded === undefined) return { current: undefined, earlier: [] };
  try {
    const parsed = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as Partial<History>;
    return {
      current: isRunEntry(parsed.current) ? parsed.current : undefined,
      earlier: Array.isArray(parsed.earlier) ? parsed.earlier.filter(isRunEntry) : [],
    };
  } catch {
    return { current: undefined, earlier: [] };
  }
}

function historyLine(h: History): string {
  return `<!-- runway:history ${Buffer.from(JSON.stringify(h)).toString('base64url')} -->`;
}

function entryLine(e: RunEntry): Markdown {
  return gfm`- run ${text(e.run)}: ${code(e.revision)} ${text(e.outcome)} (${text(e.at)})`;
}

/**
 * The comment's body: the marker, this run's report, the earlier runs folded into a collapsed
 * section, and the history they come from as the last line. `previousBody` must be Runway's own.
 */
export function renderComment(
  marker: string,
  report: Markdown,
  current: RunEntry,
  previousBody: string | undefined,
): string {
  const previous = readHistory(previousBody);
  const earlier = [...(previous.current ? [previous.current] : []), ...previous.earlier].slice(
    0,
    HISTORY_LIMIT,
  );
  const parts = [gfm``, capMarkdown(report, REPORT_CAP)];
  if (earlier.length) {
    parts.push(
      gfm``,
      gfm`<details><summary>Earlier runs (${earlier.length})</summary>`,
      gfm``,
      ...earlier.map(entryLine),
      gfm``,
      gfm`</details>`,
    );
  }
  return [marker, join(parts).text, '', historyLine({ current, earlier })].join('\n');
}

/** Who a token acts as on GitHub, by user id (logins can be renamed, ids cannot). */
export interface TokenIdentity {
  id: number;
  login: string;
}

/** The Actions token (GITHUB_TOKEN) comments as github-actions[bot]. */
export const ACTIONS_BOT: TokenIdentity = { id: 41898282, login: 'github-actions[bot]' };

interface CommentLike {
  id: number;
  body?: string | undefined;
  user: { login: string; id: number; type?: string } | null;
}

/** Runway's own comments for `marker`: the marker as the first line, written by `identity`. */
export function ownComments<C extends CommentLike>(
  comments: C[],
  marker: string,
  identity: TokenIdentity,
): C[] {
  return comments
    .filter((c) => linesOf(c.body)[0] === marker && c.user?.id === identity.id)
    .sort((a, b) => a.id - b.id);
}

/**
 * Who the token is: the user behind a personal token (`GET /user`); for an installation token,
 * which GitHub refuses there with 403, the bot GraphQL names as the viewer (an App's bot), else
 * github-actions[bot], as which the Actions token writes.
 */
export async function tokenIdentity(octokit: Octokit): Promise<TokenIdentity> {
  try {
    const { data } = await githubCall("read the token's user", () => octokit.rest.users.getAuthenticated());
    return { id: data.id, login: data.login };
  } catch (err) {
    if (statusOf(err) !== 403) throw err;
  }
  try {
    const { viewer } = await octokit.graphql<{ viewer: { login: unknown; databaseId: unknown } }>(
      'query { viewer { login databaseId } }',
    );
    if (
      typeof viewer.login === 'string' &&
      Number.isSafeInteger(viewer.databaseId) &&
      Number(viewer.databaseId) > 0
    )
      return { id: Number(viewer.databaseId), login: viewer.login };
  } catch {
    // GraphQL refused the token too: it is the Actions token.
  }
  return ACTIONS_BOT;
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
  let identity = await tokenIdentity(octokit);
  const list = async (): Promise<CommentLike[]> =>
    githubCall('list comments', () =>
      octokit.paginate(octokit.rest.issues.listComments, { ...repo, issue_number: issue, per_page: 100 }),
    );
  let mine = ownComments(await list(), marker, identity);
  let created = false;
  let id: number;
  if (mine.length === 0) {
    const { data } = await githubCall('create the comment', () =>
      octokit.rest.issues.createComment({ ...repo, issue_number: issue, body: render(undefined) }),
    );
    id = data.id;
    created = true;
    // What GitHub says wrote it is who the token is, whatever was inferred above.
    if (data.user && data.user.id !== identity.id) identity = { id: data.user.id, login: data.user.login };
    // Another job may have created its own at the same moment: keep the oldest, drop the rest.
    mine = ownComments(await list(), marker, identity);
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
