// What a run did, in one plain object: the service, the image, the commit, and per region what
// serves now and before, how the checks went and what was rolled back. Every report (job summary,
// PR comment, deployments, commit status, webhooks) is rendered from it.
import { describeError } from '../errors.js';
import type { RegionOutcome } from '../rollout/outcome.js';
import type { PreviewTarget } from '../rollout/preview.js';
import type { TimedStep } from '../common/timeline.js';
import type { JobOutcome } from '../deploy/job.js';

export interface RegionReport {
  region: string;
  /** What the rollout reports; undefined when the region failed before changing anything. */
  outcome: RegionOutcome | undefined;
  /** Why the region failed, when it did. */
  failure: string | undefined;
}

/** What is known of a run before its regions are done: the service, the image, the commit. */
export interface RunFacts {
  service: string;
  project: string;
  image: string;
  digest: string;
  sha: string;
  ref: string;
  repository: string;
  runUrl: string;
  /** The step's own stages (authenticate, preflight, image, deploy), with durations. */
  stages: TimedStep[];
  /** The pull request's preview this run deployed, if it was one. */
  preview: PreviewTarget | undefined;
  /** The `release_command` job's execution, once it ran (a failed one stops the run before the deploy). */
  release: JobOutcome | undefined;
}

export interface RunReport extends RunFacts {
  /** Every region healthy and no error. */
  healthy: boolean;
  regions: RegionReport[];
}

export function buildReport(
  facts: RunFacts,
  regions: string[],
  results: PromiseSettledResult<RegionOutcome>[],
): RunReport {
  const regionReports = results.map((r, i): RegionReport => {
    if (r.status === 'fulfilled')
      return { region: r.value.region, outcome: r.value, failure: r.value.failure };
    return { region: regions[i]!, outcome: undefined, failure: describeError(r.reason) };
  });
  return {
    ...facts,
    healthy: regionReports.every((r) => !r.failure && r.outcome?.healthy !== false),
    regions: regionReports,
  };
}

/** What a preview's clean-up did, per region. */
export interface CleanupReport {
  service: string;
  preview: PreviewTarget;
  runUrl: string;
  regions: Array<{
    region: string;
    /** Whether the service still had the preview's tag. */
    removed: boolean;
    /** Idle revisions deleted (keep_revisions). */
    pruned: string[];
    failure: string | undefined;
  }>;
}

/** The run's URL on GitHub, from the runner's environment. */
export function runUrlFrom(env: NodeJS.ProcessEnv = process.env): string {
  const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
  return `${server}/${env.GITHUB_REPOSITORY ?? 'unknown/unknown'}/actions/runs/${env.GITHUB_RUN_ID ?? '0'}`;
}
