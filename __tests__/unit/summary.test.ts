// The Markdown every report shares: the region table, what failed and what was rolled back, the
// traffic before and after, and the timeline.
import { buildReport } from '../../src/report/report.js';
import { runFacts } from '../helpers/run-facts.js';
import {
  renderCleanup,
  renderEarlyFailure,
  renderReport as renderMarkdown,
} from '../../src/report/summary.js';
import { InputError, InputErrors, problemsOf } from '../../src/errors.js';
import { Untrusted } from '../../src/common/untrusted.js';

const renderReport = (...args: Parameters<typeof renderMarkdown>): string => renderMarkdown(...args).text;
import type { RegionOutcome } from '../../src/rollout/outcome.js';

const facts = runFacts({
  stages: [
    { name: 'authenticate', ms: 420, ok: true },
    { name: 'build and push', ms: 5100, ok: true },
  ],
});

const outcome = (over: Partial<RegionOutcome>): RegionOutcome => ({
  region: 'us-central1',
  url: 'https://hello.run.app',
  revision: 'hello-00002-abc',
  previousRevision: 'hello-00001-xyz',
  tagUrl: undefined,
  healthy: true,
  traffic: { 'hello-00002-abc': 100 },
  trafficBefore: { 'hello-00001-xyz': 100 },
  timeline: [{ name: 'verify on tag', ms: 1500, ok: true }],
  checks: [
    {
      on: 'live',
      healthy: true,
      attempts: 3,
      last: { ok: true, status: 200, bodyExcerpt: Untrusted.of('ok'), error: undefined, latencyMs: 12 },
    },
  ],
  rolledBack: false,
  failure: undefined,
  pruned: [],
  steps: [],
  plan: ['deploy and ready: deploy hello-00002-abc', 'verify live: check: 100% served'],
  ...over,
});

describe('renderReport', () => {
  it('shows per region the URL, revisions, digest, health with status and latency, and traffic', () => {
    const md = renderReport(
      buildReport(facts, ['us-central1'], [{ status: 'fulfilled', value: outcome({}) }]),
    );
    expect(md).toContain('✅ deployed and healthy');
    expect(md).toContain(
      '| us-central1 | [https://hello.run.app](https://hello.run.app) | `hello-00002-abc` | `hello-00001-xyz` | `sha256:0123456789ab` | ✅ healthy (HTTP 200, 12 ms, service URL) | `hello-00002-abc` 100% |',
    );
    expect(md).toContain('- us-central1: `hello-00001-xyz` 100% → `hello-00002-abc` 100%');
    expect(md).toContain('| build and push | 5.1 s |');
    expect(md).toContain('| us-central1: verify on tag | 1.5 s |');
    expect(md).toContain('[run](https://github.com/o/r/actions/runs/1)');
    expect(md).not.toContain('What failed');
  });

  it('says what failed, what was rolled back and what serves now', () => {
    const rolledBack = outcome({
      healthy: false,
      rolledBack: true,
      traffic: { 'hello-00001-xyz': 100 },
      failure: 'Revision hello-00002-abc (on its tag URL) failed its health check',
    });
    const report = buildReport(
      facts,
      ['us-central1', 'europe-west1'],
      [
        { status: 'fulfilled', value: rolledBack },
        { status: 'rejected', reason: new Error('denied | before any change') },
      ],
    );
    expect(report.healthy).toBe(false);
    const md = renderReport(report);
    expect(md).toContain('❌ failed');
    expect(md).toContain(
      '- **us-central1**: Revision hello-00002-abc (on its tag URL) failed its health check',
    );
    expect(md).toContain('  - rolled back; serving now: `hello-00001-xyz` 100%');
    expect(md).toContain('- **europe-west1**: denied \\| before any change');
    expect(md).toContain('  - nothing was changed');
    expect(md).toContain('- europe-west1: unchanged');
  });

  it('shows a preview by its tag URL, and the idle revisions keep_revisions deleted', () => {
    const preview = outcome({
      tagUrl: 'https://pr-7---hello.run.app',
      traffic: { 'hello-00001-xyz': 100 },
      pruned: ['hello-00000-old'],
    });
    const md = renderReport(
      buildReport(
        { ...facts, preview: { pullRequest: 7, tag: 'pr-7' } },
        ['us-central1'],
        [{ status: 'fulfilled', value: preview }],
      ),
    );
    expect(md).toContain('### Runway: `hello` preview `pr-7` ✅ deployed and healthy');
    expect(md).toContain('| region | preview URL |');
    expect(md).toContain('| us-central1 | [https://pr-7---hello.run.app](https://pr-7---hello.run.app) |');
    expect(md).not.toContain('[https://hello.run.app]');
    expect(md).toContain('- us-central1: `hello-00000-old`');
  });
});

describe('renderCleanup', () => {
  it('says per region whether the tag went, and what failed', () => {
    const md = renderCleanup({
      service: 'hello',
      preview: { pullRequest: 7, tag: 'pr-7' },
      runUrl: 'https://github.com/o/r/actions/runs/2',
      regions: [
        { region: 'us-central1', removed: true, pruned: ['hello-00003-abc'], failure: undefined },
        { region: 'europe-west1', removed: false, pruned: [], failure: 'denied\nFix: grant' },
      ],
    }).text;
    expect(md).toContain('`hello` preview `pr-7` ❌ not fully removed');
    expect(md).toContain('| us-central1 | removed | `hello-00003-abc` |');
    expect(md).toContain('| europe-west1 | ❌ denied | — |');
  });
});

describe('renderEarlyFailure', () => {
  const problems = problemsOf(
    new InputErrors([
      new InputError('port', '<img src=x onerror=alert(1)> @octocat', 'a whole number from 1 to 65535'),
      new InputError('traffic', 'sometimes', '`verified`, `immediate`, `none`'),
    ]),
  );

  it('lists every problem with its fix, and says nothing changed', () => {
    const md = renderEarlyFailure({
      stage: 'inputs',
      service: 'hello',
      problems,
      sha: 'abc',
      runUrl: '',
    }).text;
    expect(md).toContain('### Runway: `hello` ❌ failed at the inputs');
    expect(md).toContain('nothing was built, deployed or changed');
    expect(md).toContain("Input 'traffic' is invalid");
    expect(md.match(/\*\*Fix:\*\* Accepted: /g)).toHaveLength(2);
  });

  it('shows a given value as inert text', () => {
    const md = renderEarlyFailure({
      stage: 'inputs',
      service: undefined,
      problems,
      sha: 'abc',
      runUrl: '',
    }).text;
    expect(md).not.toContain('<img');
    expect(md).not.toMatch(/(^|[^\w`])@octocat/);
  });
});
