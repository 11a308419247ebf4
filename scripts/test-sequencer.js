// Orders the test files for Jest's workers longest first, so that no long end-to-end file starts
// last and holds up the end of the run while the other workers sit idle. Jest's own sequencer does
// that from the durations it cached on an earlier run, but on a fresh clone (CI's) it has none and
// ranks files by size, which says little here: a part of the fault matrix is a four-line file that
// runs for minutes, and would start last. So a file without a cached duration is ranked by the
// seconds below (measured in a full `npm test`, 4 workers on 2 cores; only their order matters), or
// else by its project: end-to-end files before the emulator's, the emulator's before unit files.
import sequencer from '@jest/test-sequencer';

const Sequencer = sequencer.default ?? sequencer;

/** Seconds, by path from the root, for the files that take over half a minute. */
const MEASURED = {
  '__tests__/e2e/rollout.test.ts': 376,
  '__tests__/e2e/pipeline.test.ts': 340,
  '__tests__/e2e/fault-matrix-1.test.ts': 257,
  '__tests__/e2e/fault-matrix-2.test.ts': 257,
  '__tests__/peer/differential-1.test.ts': 230,
  '__tests__/peer/differential-2.test.ts': 230,
  '__tests__/peer/peer.test.ts': 213,
  '__tests__/gcloud/gcloud.test.ts': 155,
  '__tests__/e2e/report.test.ts': 136,
  '__tests__/e2e/preview.test.ts': 102,
  '__tests__/e2e/registries.test.ts': 82,
  '__tests__/e2e/safety.test.ts': 71,
  '__tests__/emulator/run.test.ts': 70,
  '__tests__/e2e/steps.test.ts': 66,
  '__tests__/e2e/deploy.test.ts': 59,
  '__tests__/e2e/auth.test.ts': 56,
  '__tests__/e2e/local-action.test.ts': 50,
  '__tests__/unit/dist.test.ts': 38,
  '__tests__/e2e/zero-downtime.test.ts': 38,
  '__tests__/emulator/sidecars.test.ts': 37,
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
