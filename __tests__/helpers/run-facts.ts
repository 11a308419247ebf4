// The facts of one run as the report renders them (service, image, commit, stages), for the unit
// tests of the summary and the comment; `over` replaces any of them.
import type { RunFacts } from '../../src/report/report.js';

export const runFacts = (over: Partial<RunFacts> = {}): RunFacts => ({
  service: 'hello',
  project: 'p',
  image: 'r/p/hello@sha256:abc',
  digest: 'sha256:0123456789abcdef0123',
  sha: '8f14e45fceea167a5a36',
  ref: 'refs/heads/main',
  repository: 'o/r',
  runUrl: 'https://github.com/o/r/actions/runs/1',
  stages: [],
  preview: undefined,
  release: undefined,
  ...over,
});
