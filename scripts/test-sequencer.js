// Orders the test files for Jest's workers longest first, so that no long end-to-end file starts
// last and holds up the end of the run while the other workers sit idle. Jest's own sequencer does
// that from the durations it cached on an earlier run, but on a fresh clone (CI's) it has none and
// ranks files by size, which says little here: a part of the fault matrix is a four-line file that
// runs for minutes, and would start last. So a file without a cached duration is ranked by the
// seconds below (only their order matters), or
// else by its project: end-to-end files before the emulator's, the emulator's before unit files.
import sequencer from '@jest/test-sequencer';

const Sequencer = sequencer.default ?? sequencer;

/**
 * Seconds, by path from the root, for the files that take over half a minute: a full `npm test` on a
 * fresh clone, 8 workers on 2 cores (2026-12-06, 122 files, jest's own Time 1142 s, beside other
 * work on the machine).
 */
const MEASURED = {
  '__tests__/e2e/rollout-writers.test.ts': 587,
  '__tests__/peer/peer.test.ts': 502,
  '__tests__/peer/differential-3.test.ts': 490,
  '__tests__/peer/differential-5.test.ts': 465,
  '__tests__/peer/differential-1.test.ts': 424,
  '__tests__/peer/differential-4.test.ts': 424,
  '__tests__/peer/differential-2.test.ts': 408,
  '__tests__/e2e/fault-matrix-1.test.ts': 397,
  '__tests__/gcloud/gcloud.test.ts': 395,
  '__tests__/e2e/fault-matrix-3.test.ts': 375,
  '__tests__/e2e/fault-matrix-2.test.ts': 324,
  '__tests__/e2e/pipeline-traffic.test.ts': 265,
  '__tests__/e2e/pipeline.test.ts': 260,
  '__tests__/e2e/rollout.test.ts': 238,
  '__tests__/e2e/readme-setup.test.ts': 228,
  '__tests__/e2e/report.test.ts': 178,
  '__tests__/gcloud/gcloud-services.test.ts': 178,
  '__tests__/e2e/registries.test.ts': 154,
  '__tests__/e2e/local-action.test.ts': 147,
  '__tests__/e2e/preview.test.ts': 140,
  '__tests__/e2e/jobs.test.ts': 131,
  '__tests__/e2e/steps.test.ts': 111,
  '__tests__/e2e/service-yaml.test.ts': 108,
  '__tests__/e2e/safety.test.ts': 106,
  '__tests__/e2e/traffic-flags.test.ts': 105,
  '__tests__/peer/source.test.ts': 101,
  '__tests__/e2e/auth.test.ts': 91,
  '__tests__/gcloud/gcloud-source.test.ts': 90,
  '__tests__/e2e/fork-code.test.ts': 88,
  '__tests__/e2e/release-command.test.ts': 85,
  '__tests__/e2e/source.test.ts': 85,
  '__tests__/gcloud/gcloud-replace.test.ts': 84,
  '__tests__/e2e/deploy.test.ts': 82,
  '__tests__/emulator/run.test.ts': 72,
  '__tests__/gcloud/gcloud-builds.test.ts': 69,
  '__tests__/e2e/bad-input.test.ts': 57,
  '__tests__/emulator/jobs.test.ts': 57,
  '__tests__/emulator/source-builds.test.ts': 56,
  '__tests__/e2e/zero-downtime.test.ts': 55,
  '__tests__/gcloud/gcloud-jobs.test.ts': 49,
  '__tests__/e2e/untrusted-report.test.ts': 47,
  '__tests__/e2e/no-secrets-in-logs.test.ts': 46,
  '__tests__/e2e/prune-race.test.ts': 39,
  '__tests__/e2e/failure-logs.test.ts': 37,
  '__tests__/e2e/probes.test.ts': 32,
  '__tests__/emulator/registry.test.ts': 32,
  '__tests__/emulator/sidecars.test.ts': 32,
  '__tests__/unit/rollout.test.ts': 31,
};

/** Seconds for a file neither cached nor measured, by project. */
const BY_PROJECT = { e2e: 40, emulator: 10, unit: 1 };

export default class LongestFirstSequencer extends Sequencer {
  sort(tests) {
    const estimate = new Map();
    for (const test of tests) {
      // As Jest's sequencer does: the cached duration (ms) is also what Jest's scheduler reads.
      test.duration = this.time(test);
      const { rootDir, displayName } = test.context.config;
      const path = test.path
        .slice(rootDir.length + 1)
        .split('\\')
        .join('/');
      const seconds = MEASURED[path] ?? BY_PROJECT[displayName?.name] ?? 1;
      estimate.set(test, test.duration ?? seconds * 1000);
    }
    const size = (test) => test.context.hasteFS.getSize(test.path) ?? 0;
    return tests.sort((a, b) => estimate.get(b) - estimate.get(a) || size(b) - size(a));
  }
}
