// What the rollout planner is told in unit tests: a verified deploy with the default health check,
// rollback on, no split, tag or steps; any field overridden.
import type { RolloutSettings } from '../../src/rollout/planner.js';

/** The rollout record key and candidate tag of run 7, attempt 1, unless a test says otherwise. */
export const ROLLOUT_RECORD = 'runway.dev/rollout-7-1-abcdef';
export const ROLLOUT_CANDIDATE_TAG = 'rw-7-1-abc';

export function rolloutSettings(over: Partial<RolloutSettings> = {}): RolloutSettings {
  return {
    traffic: 'verified',
    tag: undefined,
    revisionTraffic: undefined,
    tagTraffic: undefined,
    trafficTags: undefined,
    healthCheck: {
      path: '/',
      expectedStatus: [[200, 299]],
      bodyPattern: undefined,
      timeoutSeconds: 60,
      successes: 3,
      intervalMs: 500,
    },
    rollback: true,
    suffix: undefined,
    progressive: undefined,
    keepRevisions: undefined,
    keepRevisionsGraceSeconds: 900,
    allowUnauthenticated: undefined,
    candidateTag: ROLLOUT_CANDIDATE_TAG,
    recordKey: ROLLOUT_RECORD,
    preview: false,
    ...over,
  };
}
