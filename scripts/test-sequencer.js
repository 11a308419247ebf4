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
 * fresh clone, 8 workers on 2 cores (2026-12-06, 117 files, jest's own Time 1095 s).
 */
const MEASURED = {
  // The differential ran in three parts of about 600 s each here; in five, about three fifths of that.
  '__tests__/peer/differential-1.test.ts': 380,
  '__tests__/peer/differential-2.test.ts': 380,
  '__tests__/peer/differential-3.test.ts': 380,
  '__tests__/peer/differential-4.test.ts': 380,
  '__tests__/peer/differential-5.test.ts': 380,
  '__tests__/peer/peer.test.ts': 547,
  '__tests__/gcloud/gcloud.test.ts': 451,
  '__tests__/e2e/rollout-writers.test.ts': 398,
  '__tests__/e2e/fault-matrix-1.test.ts': 366,
  '__tests__/e2e/fault-matrix-3.test.ts': 345,
  '__tests__/e2e/pipeline-traffic.test.ts': 322,
  '__tests__/e2e/fault-matrix-2.test.ts': 296,
  '__tests__/e2e/pipeline.test.ts': 278,
  '__tests__/e2e/readme-setup.test.ts': 257,
  '__tests__/gcloud/gcloud-services.test.ts': 224,
  '__tests__/e2e/rollout.test.ts': 192,
  '__tests__/e2e/registries.test.ts': 181,
  '__tests__/e2e/report.test.ts': 165,
  '__tests__/peer/source.test.ts': 160,
  '__tests__/gcloud/gcloud-source.test.ts': 158,
  // Not yet in a full run: its own runs took 75-170 s, gcloud-source's share of them about as long.
  '__tests__/gcloud/gcloud-builds.test.ts': 150,
  '__tests__/e2e/source.test.ts': 135,
  '__tests__/gcloud/gcloud-jobs.test.ts': 134,
  '__tests__/e2e/local-action.test.ts': 130,
  '__tests__/e2e/traffic-flags.test.ts': 117,
  '__tests__/e2e/release-command.test.ts': 110,
  '__tests__/e2e/auth.test.ts': 106,
  '__tests__/e2e/jobs.test.ts': 103,
  '__tests__/e2e/preview.test.ts': 103,
  '__tests__/emulator/run.test.ts': 103,
  '__tests__/e2e/deploy.test.ts': 97,
  '__tests__/e2e/safety.test.ts': 96,
  '__tests__/e2e/steps.test.ts': 81,
  '__tests__/e2e/fork-code.test.ts': 79,
  '__tests__/emulator/jobs.test.ts': 76,
  '__tests__/e2e/bad-input.test.ts': 69,
  '__tests__/e2e/no-secrets-in-logs.test.ts': 64,
  '__tests__/e2e/service-yaml.test.ts': 64,
  '__tests__/emulator/source-builds.test.ts': 61,
  '__tests__/gcloud/gcloud-logs.test.ts': 53,
  '__tests__/e2e/untrusted-report.test.ts': 52,
  '__tests__/e2e/zero-downtime.test.ts': 51,
  '__tests__/emulator/sidecars.test.ts': 43,
  '__tests__/emulator/registry.test.ts': 42,
  '__tests__/e2e/probes.test.ts': 41,
  '__tests__/e2e/prune-race.test.ts': 39,
  '__tests__/e2e/failure-logs.test.ts': 36,
  '__tests__/e2e/invoker-access.test.ts': 36,
  '__tests__/unit/untrusted-corpus.test.ts': 34,
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
