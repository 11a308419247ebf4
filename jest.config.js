/**
 * Jest runs TypeScript as ESM (the @actions/* packages are ESM-only), in three projects:
 *   unit      __tests__/unit: pure code, no emulator, no Docker;
 *   emulator  __tests__/emulator: the emulator's own conformance tests;
 *   e2e       __tests__/e2e, __tests__/peer, __tests__/gcloud: the bundled action (and gcloud,
 *             deploy-cloudrun) against the emulator, with real containers.
 * `npm test` runs all three; `npm test -- --selectProjects unit` runs one.
 *
 * The emulator and e2e projects share one global setup, which starts one emulator per Jest worker
 * (each worker runs one test file at a time, so no two files ever share an emulator), and a setup
 * file that points each test file at its worker's emulator and resets it to the default world.
 */
const typescript = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  // swc strips the types file by file, the way ts-jest did with isolatedModules, at a fraction of
  // its CPU (type errors are tsc's job: scripts/test.sh runs it). @swc/jest emits ES modules because
  // Jest, run with --experimental-vm-modules, asks for them (extensionsToTreatAsEsm).
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript' },
          target: 'es2023',
          // As tsc does for an ES2022+ target (tsconfig.json): class fields are defined, not assigned.
          transform: { useDefineForClassFields: true },
        },
      },
    ],
  },
  testTimeout: 180000,
};

const withEmulator = {
  ...typescript,
  globalSetup: '<rootDir>/__tests__/setup/global-setup.ts',
  globalTeardown: '<rootDir>/__tests__/setup/global-teardown.ts',
  setupFilesAfterEnv: ['<rootDir>/__tests__/setup/worker-emulator.ts'],
};

export default {
  projects: [
    { ...typescript, displayName: 'unit', testMatch: ['<rootDir>/__tests__/unit/**/*.test.ts'] },
    { ...withEmulator, displayName: 'emulator', testMatch: ['<rootDir>/__tests__/emulator/**/*.test.ts'] },
    {
      ...withEmulator,
      displayName: 'e2e',
      testMatch: [
        '<rootDir>/__tests__/e2e/**/*.test.ts',
        '<rootDir>/__tests__/peer/**/*.test.ts',
        '<rootDir>/__tests__/gcloud/**/*.test.ts',
      ],
    },
  ],
  testTimeout: 180000,
  // Most of an end-to-end test is waiting (containers starting, health checks, step_wait): a full
  // run with 6 workers kept the two cores only ~65% busy (user+sys of the run and Docker's daemons
  // over its wall time), so more workers than cores pays; each gets an emulator of its own
  // (global-setup.ts).
  maxWorkers: 8,
  // Within a file, tests written with it.concurrent (independent services, no faults or request
  // log shared) overlap their waiting, up to this many at once (each is one test to its timeout).
  maxConcurrency: 2,
  // Longest files first, also on a fresh clone, which has no timings cached (scripts/test-sequencer.js).
  testSequencer: '<rootDir>/scripts/test-sequencer.js',
  reporters: ['default', '<rootDir>/scripts/plain-summary-reporter.js'],
};
