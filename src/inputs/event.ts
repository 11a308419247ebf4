// The event that started the workflow, from the runner's environment: its name, the repository,
// and for pull requests the number, the head commit and whether the code comes from a fork.
import { readFileSync } from 'node:fs';

export interface Repo {
  owner: string;
  repo: string;
}

export interface PullRequest {
  number: number;
  /** The PR's head commit: where statuses and deployments show on the PR (GITHUB_SHA is the merge commit). */
  headSha: string | undefined;
  /**
   * The head lives in another repository than the base (or that repository is gone): its code is
   * untrusted, and the job has no OIDC token to deploy it with. Unknown counts as a fork.
   */
  fromFork: boolean;
}

export interface GitHubEvent {
  name: string;
  /** The payload's `action`, e.g. `closed` for a closed pull request. */
  action: string | undefined;
  repo: Repo;
  pullRequest: PullRequest | undefined;
}

interface PullRequestPayload {
  action?: string;
  pull_request?: {
    number?: number;
    head?: { sha?: string; repo?: { full_name?: string } | null };
    base?: { repo?: { full_name?: string } | null };
  };
}

function readPayload(path: string | undefined): PullRequestPayload {
  try {
    return JSON.parse(readFileSync(path ?? '', 'utf8')) as PullRequestPayload;
  } catch {
    return {};
  }
}

export function eventFromEnv(env: NodeJS.ProcessEnv = process.env): GitHubEvent {
  const [owner = '', repo = ''] = (env.GITHUB_REPOSITORY ?? '/').split('/');
  const payload = readPayload(env.GITHUB_EVENT_PATH);
  const pr = payload.pull_request;
  const head = pr?.head?.repo?.full_name;
  const base = pr?.base?.repo?.full_name ?? env.GITHUB_REPOSITORY;
  return {
    name: env.GITHUB_EVENT_NAME ?? '',
    action: payload.action,
    repo: { owner, repo },
    pullRequest:
      typeof pr?.number === 'number'
        ? {
            number: pr.number,
            headSha: pr.head?.sha,
            fromFork: !head || !base || head.toLowerCase() !== base.toLowerCase(),
          }
        : undefined,
  };
}
