// What a region's rollout reports: what serves afterwards and before, the checks and traffic steps
// as measured, the phases with their durations, the plan it followed, and why it failed.
import type { Probe, StepVerdict } from '../common/health.js';
import type { TimedStep } from '../common/timeline.js';
import type { FailureLogs } from './failure-logs.js';

/** One of `traffic_steps` as measured: the share it gave, what the probes saw, and the gates' verdict. */
export interface StepRecord extends StepVerdict {
  percent: number;
}

/** One health check as it ended: where, whether it passed, and its last probe. */
export interface CheckRecord {
  /** `tag` (before taking traffic) or `live` (the service URL, with traffic). */
  on: 'tag' | 'live';
  healthy: boolean;
  attempts: number;
  last: Probe | undefined;
}

export interface RegionOutcome {
  region: string;
  url: string;
  revision: string;
  previousRevision: string | undefined;
  tagUrl: string | undefined;
  healthy: boolean | undefined;
  /** revision → percent, what serves when Runway is done. */
  traffic: Record<string, number>;
  /** revision → percent, what served before this run. */
  trafficBefore: Record<string, number>;
  /** The phases that ran, in order, with their durations. */
  timeline: TimedStep[];
  /** The health checks made, in order (on the tag URL, then live). */
  checks: CheckRecord[];
  /** `traffic_steps` as measured, in order. */
  steps: StepRecord[];
  /** The plan the rollout followed, one line per step. */
  plan: string[];
  rolledBack: boolean;
  /** The new revision's containers by name, with their images; absent when none was created. */
  containers?: Record<string, string> | undefined;
  /** Why the region failed, when it did. */
  failure: string | undefined;
  /** Idle revisions deleted afterwards (keep_revisions). */
  pruned: string[];
  /** When the region failed with its revision created: that revision's last lines (`log_lines`). */
  logs?: FailureLogs | undefined;
}
