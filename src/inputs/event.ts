// The event that started the workflow, from the runner's environment: its name, the repository,
// whether the code it builds comes from a fork, and for pull requests the number and head commit.
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
  /** The code this run checks out by default comes from a fork: see forkCode. */
  forkCode: boolean;
}

interface RepositoryPayload {
  id?: number;
  full_name?: string;
}

/** The parts of GitHub's webhook payloads that say where the code comes from. */
export interface EventPayload {
  action?: string;
  pull_request?: {
    number?: number;
    head?: { sha?: string; repo?: RepositoryPayload | null };
    base?: { repo?: RepositoryPayload | null };
  };
  workflow_run?: {
    head_repository?: RepositoryPayload | null;
    repository?: RepositoryPayload | null;
  };
  repository?: RepositoryPayload | null;
}

function readPayload(path: string | undefined): EventPayload {
  try {
    return JSON.parse(readFileSync(path ?? '', 'utf8')) as EventPayload;
  } catch {
    return {};
  }
}

/** Two repositories are the same one: by id when both carry it (a rename keeps it), else by name. */
function sameRepository(
  a: RepositoryPayload | null | undefined,
  b: RepositoryPayload | null | undefined,
): boolean {
  if (typeof a?.id === 'number' && typeof b?.id === 'number') return a.id === b.id;
  const [x, y] = [a?.full_name, b?.full_name];
  return !!x && !!y && x.toLowerCase() === y.toLowerCase();
}

/**
 * Whether the code an event builds comes from a fork, so is untrusted: a `pull_request` or
 * `pull_request_target` whose head repository is not the base's (or is gone), or a `workflow_run`
 * whose head repository is not the workflow's. A payload that does not say counts as a fork. Other
 * events (push, issue_comment, workflow_dispatch) build what the workflow names, not detected here.
 */
export function forkCode(name: string, payload: EventPayload, repository?: string): boolean {
  if (name === 'pull_request' || name === 'pull_request_target') {
    const pr = payload.pull_request;
    const base = pr?.base?.repo ?? payload.repository ?? (repository ? { full_name: repository } : undefined);
    return !sameRepository(pr?.head?.repo, base);
  }
  if (name === 'workflow_run') {
    const run = payload.workflow_run;
    const repo =
      run?.repository ?? payload.repository ?? (repository ? { full_name: repository } : undefined);
    return !sameRepository(run?.head_repository, repo);
  }
  return false;
}

export function eventFromEnv(env: NodeJS.ProcessEnv = process.env): GitHubEvent {
  const [owner = '', repo = ''] = (env.GITHUB_REPOSITORY ?? '/').split('/');
  const payload = readPayload(env.GITHUB_EVENT_PATH);
  const pr = payload.pull_request;
  const name = env.GITHUB_EVENT_NAME ?? '';
  // A pull request seen by another event (issue_comment has none) is judged as pull_request's would be.
  const prFork = forkCode('pull_request', payload, env.GITHUB_REPOSITORY);
  return {
    name,
    action: payload.action,
    repo: { owner, repo },
    pullRequest:
      typeof pr?.number === 'number'
        ? { number: pr.number, headSha: pr.head?.sha, fromFork: prFork }
        : undefined,
    forkCode: forkCode(name, payload, env.GITHUB_REPOSITORY),
  };
}
