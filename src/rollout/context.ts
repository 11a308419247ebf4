// What one region's step runner works with: its dependencies, the service, the settings, the plan,
// and the state the steps leave for each other (the last read of the service, the traffic Runway
// last wrote, the checks and traffic steps measured so far).
import type { Deadline } from '../common/deadline.js';
import type { CloudRunApi, ServiceRef } from '../gcp/run.js';
import type { Operation, Service, TrafficTarget } from '../gcp/run-types.js';
import type { ServiceSettings } from '../deploy/service-settings.js';
import type { FailureLogs } from './failure-logs.js';
import type { CheckRecord, StepRecord } from './outcome.js';
import type { Plan } from './plan.js';
import type { RolloutSettings } from './planner.js';

export interface RolloutDeps {
  api: CloudRunApi;
  identity: string;
  /** A Google ID token for a private service's URL. */
  idToken: (audience: string) => Promise<string>;
  log: (line: string) => void;
  warn: (line: string) => void;
  debug: (line: string) => void;
  /** The transport of health probes and `gate_url`; the global fetch unless a test routes it in-process. */
  fetch?: typeof fetch;
  /** Reads a failed revision's last lines (`log_lines`); absent when they are not wanted. */
  failureLogs?: (ref: ServiceRef, revision: string) => Promise<FailureLogs | undefined>;
}

export interface RolloutState {
  /** The service as last read or as the last change left it. */
  service: Service | undefined;
  /** A read with nothing changed by Runway since: the next change starts from it instead of reading. */
  fresh: Service | undefined;
  /** The traffic spec Runway last sent: undoing restores only while the live shares are still these. */
  written: TrafficTarget[] | undefined;
  /** The uid of the service this run created, so only that service is ever deleted. */
  createdUid: string | undefined;
  /**
   * The service-wide settings (labels, ingress, …) as the deploy found them and as it sent them:
   * undoing puts back each one that is still as this run left it.
   */
  settings: { before: ServiceSettings; sent: ServiceSettings } | undefined;
  /** The operation of the change that created the new revision. */
  deployed: Operation | undefined;
  /** The new revision's containers by name, with their images (the `containers` output). */
  containers: Record<string, string> | undefined;
  /** The ID token the checks send (memoised), or undefined for a public service. */
  token: Promise<string | undefined> | undefined;
  checks: CheckRecord[];
  steps: StepRecord[];
  /** What the outcome must mention: what was left alone, and why. */
  notes: string[];
  /** Idle revisions deleted (keep_revisions). */
  pruned: string[];
}

export interface RolloutContext {
  deps: RolloutDeps;
  ref: ServiceRef;
  settings: RolloutSettings;
  /** deploy_timeout: bounds every step, health checks included. */
  deadline: Deadline;
  plan: Plan;
  state: RolloutState;
  /** "SERVICE in REGION", for messages. */
  where: string;
}

export function newState(live: Service | undefined): RolloutState {
  return {
    service: live,
    fresh: live,
    written: undefined,
    createdUid: undefined,
    settings: undefined,
    deployed: undefined,
    containers: undefined,
    token: undefined,
    checks: [],
    steps: [],
    notes: [],
    pruned: [],
  };
}

/** Records the traffic spec of each change Runway sends, for the undo to recognise its own. */
export function rememberWritten(state: RolloutState): (traffic: TrafficTarget[] | undefined) => void {
  return (traffic) => {
    if (traffic) state.written = traffic;
  };
}
