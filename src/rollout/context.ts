// What every phase of a region's rollout works with: the clients, the service, the settings, the
// deadline and the undo stack that the phases fill as they change things.
import type { CloudRunClient, ServiceRef } from '../gcp/run.js';
import type { TrafficTarget } from '../gcp/run-types.js';
import type { ServiceChanges } from '../deploy/plan.js';
import type { Settings } from '../inputs/inputs.js';
import type { Deadline } from './deadline.js';
import type { Probe } from './health.js';
import type { UndoStack } from './undo.js';
import type { StepBarrier } from './steps.js';

export interface RolloutDeps {
  client: CloudRunClient;
  identity: string;
  /** A Google ID token for a private service's URL. */
  idToken: (audience: string) => Promise<string>;
  log: (line: string) => void;
}

export interface RolloutSettings extends Pick<
  Settings,
  'traffic' | 'tag' | 'revisionTraffic' | 'tagTraffic' | 'healthCheck' | 'rollback' | 'suffix' | 'progressive'
> {
  allowUnauthenticated: boolean | undefined;
  /** deploy_timeout: bounds every phase, health checks included. */
  deadline: Deadline;
  /** The tag the candidate is checked on when the user gave none; undefined when none fits. */
  candidateTag: string | undefined;
  /** A pull request's preview: it goes only beside a revision that already serves. */
  preview: boolean;
  /** With `regions_fail: all` and several regions: every region takes each traffic step together. */
  stepsTogether?: StepBarrier | undefined;
}

export type SpecChanges = Omit<ServiceChanges, 'revisionName' | 'traffic' | 'project' | 'region' | 'service'>;

/** One of `traffic_steps` as measured: the share it gave, what the probes saw, and the gate's verdict. */
export interface StepRecord {
  percent: number;
  requests: number;
  /** Failed probes, in percent of `requests`. */
  errorRate: number;
  p95Ms: number | undefined;
  passed: boolean;
}

/** One health check as it ended: where, whether it passed, and its last probe. */
export interface CheckRecord {
  /** `tag` (before taking traffic) or `live` (the service URL, with traffic). */
  on: 'tag' | 'live';
  healthy: boolean;
  attempts: number;
  last: Probe | undefined;
}

export interface Rollout {
  deps: RolloutDeps;
  ref: ServiceRef;
  changes: SpecChanges;
  settings: RolloutSettings;
  undo: UndoStack;
  /** "SERVICE in REGION", for messages. */
  where: string;
  /** The health checks made so far, in order. */
  checks: CheckRecord[];
  /** The traffic steps taken so far, in order. */
  steps: StepRecord[];
  /**
   * The traffic spec Runway itself last sent. Undoing puts the old split back only while the live
   * spec is still this one; anything else means someone changed the traffic meanwhile.
   */
  written: TrafficTarget[] | undefined;
  /** Things the outcome must mention (what was left alone, and why). */
  notes: string[];
}

/** Records the traffic spec of each change Runway sends, for the undo to recognise its own. */
export function remember(r: Rollout): (traffic: TrafficTarget[] | undefined) => void {
  return (traffic) => {
    if (traffic) r.written = traffic;
  };
}
