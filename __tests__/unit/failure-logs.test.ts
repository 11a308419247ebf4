// A failed revision's last lines (issue 20): the filter Runway sends, the order it shows lines in,
// what a 403 and any other failure become (a warning, never a failed step), and how the report
// shows lines a container wrote: inert, whatever they hold.
import { GoogleApiError } from '../../src/common/http.js';
import { Untrusted } from '../../src/common/untrusted.js';
import type { ListEntriesRequest, LogEntry } from '../../src/gcp/logging.js';
import {
  logFailureLogs,
  readExecutionLogs,
  readFailureLogs,
  revisionLogFilter,
  type FailureLogs,
} from '../../src/rollout/failure-logs.js';
import { buildReport } from '../../src/report/report.js';
import { renderReport } from '../../src/report/summary.js';
import { renderJobReport } from '../../src/report/job-report.js';
import type { JobOutcome } from '../../src/deploy/job.js';
import type { RegionOutcome } from '../../src/rollout/outcome.js';
import { runFacts } from '../helpers/run-facts.js';

const ref = { project: 'p', region: 'us-central1', service: 'hello' };
const LOG_URI = 'https://console.cloud.google.com/logs/viewer?project=p&resource=cloud_run_revision';

function deps(answer: (r: ListEntriesRequest) => Promise<{ entries: LogEntry[] }>, warnings: string[] = []) {
  const asked: ListEntriesRequest[] = [];
  return {
    asked,
    warnings,
    deps: {
      api: {
        getRevision: async (_: unknown, name: string) =>
          name === 'gone' ? undefined : { name, createTime: '2030-01-01T00:00:00.5Z', logUri: LOG_URI },
      },
      logging: {
        listEntries: (r: ListEntriesRequest) => {
          asked.push(r);
          return answer(r);
        },
      },
      count: 3,
      identity: 'deployer@p.iam.gserviceaccount.com',
      warn: (line: string) => warnings.push(line),
      sleep: () => Promise.resolve(),
    },
  };
}

describe('readFailureLogs', () => {
  it("asks for the revision's entries since it was created, newest first, and shows them oldest first", async () => {
    const t = deps(async () => ({
      entries: [
        { textPayload: 'three' },
        { jsonPayload: { message: 'two', severity: 'x' } },
        { textPayload: 'one' },
      ],
    }));
    const logs = await readFailureLogs(t.deps, ref, 'hello-00002-abc');
    expect(t.asked).toEqual([
      {
        resourceNames: ['projects/p'],
        filter:
          'resource.type = "cloud_run_revision" AND resource.labels.service_name = "hello" AND resource.labels.revision_name = "hello-00002-abc" AND resource.labels.location = "us-central1" AND timestamp >= "2030-01-01T00:00:00.5Z"',
        orderBy: 'timestamp desc',
        pageSize: 3,
      },
    ]);
    expect(logs?.lines.map((l) => l.raw())).toEqual(['one', 'two', 'three']);
    expect(logs).toMatchObject({ logUri: LOG_URI, unread: undefined });
    expect(t.warnings).toEqual([]);
  });

  it('reads nothing for a revision that was never created', async () => {
    const t = deps(async () => ({ entries: [] }));
    expect(await readFailureLogs(t.deps, ref, 'gone')).toBeUndefined();
    expect(t.asked).toEqual([]);
  });

  it('without logging.logEntries.list: a warning naming roles/logging.viewer and the link, no lines', async () => {
    const t = deps(() =>
      Promise.reject(
        new GoogleApiError('POST', 'https://logging.googleapis.com/v2/entries:list', 403, {
          error: { code: 403, status: 'PERMISSION_DENIED', message: 'denied' },
        }),
      ),
    );
    const logs = await readFailureLogs(t.deps, ref, 'hello-00002-abc');
    expect(logs).toMatchObject({ lines: [], unread: 'denied', logUri: LOG_URI });
    expect(t.warnings).toHaveLength(1);
    expect(t.warnings[0]).toContain('roles/logging.viewer');
    expect(t.warnings[0]).toContain(LOG_URI);
  });

  it('any other failure is a warning too, never a thrown error', async () => {
    const t = deps(() => Promise.reject(new TypeError('fetch failed')));
    await expect(readFailureLogs(t.deps, ref, 'hello-00002-abc')).resolves.toMatchObject({
      unread: 'failed',
    });
    expect(t.warnings[0]).toContain('fetch failed');
  });

  it('quotes names in the filter as the query language quotes strings', () => {
    expect(revisionLogFilter({ ...ref, service: 'a"b\\c' }, 'r', undefined)).toContain(
      'resource.labels.service_name = "a\\"b\\\\c"',
    );
  });
});

describe('readExecutionLogs', () => {
  const job = { project: 'p', region: 'us-central1', job: 'migrate' };

  it("asks for the execution's entries by the job's resource and the execution's label, oldest first", async () => {
    const t = deps(async () => ({ entries: [{ textPayload: 'exit 3' }, { textPayload: 'migrating' }] }));
    const logs = await readExecutionLogs(t.deps, job, 'migrate-x7k2p', undefined);
    expect(t.asked).toEqual([
      {
        resourceNames: ['projects/p'],
        filter:
          'resource.type = "cloud_run_job" AND resource.labels.job_name = "migrate" AND resource.labels.location = "us-central1" AND labels."run.googleapis.com/execution_name" = "migrate-x7k2p"',
        orderBy: 'timestamp desc',
        pageSize: 3,
      },
    ]);
    expect(logs.lines.map((l) => l.raw())).toEqual(['migrating', 'exit 3']);
  });

  it('without logging.logEntries.list: a warning naming roles/logging.viewer, never a thrown error', async () => {
    const t = deps(() =>
      Promise.reject(
        new GoogleApiError('POST', 'https://logging.googleapis.com/v2/entries:list', 403, {
          error: { code: 403, status: 'PERMISSION_DENIED', message: 'denied' },
        }),
      ),
    );
    const logs = await readExecutionLogs(t.deps, job, 'migrate-x7k2p', 'https://console.cloud.google.com/x');
    expect(logs).toMatchObject({ lines: [], unread: 'denied' });
    expect(t.warnings.join('\n')).toMatch(
      /execution migrate-x7k2p: .* roles\/logging\.viewer.*https:\/\/console/,
    );
  });
});

describe('the report', () => {
  const failed = (logs: FailureLogs): RegionOutcome => ({
    region: 'us-central1',
    url: '',
    revision: 'hello-00002-abc',
    previousRevision: undefined,
    tagUrl: undefined,
    healthy: false,
    traffic: {},
    trafficBefore: {},
    timeline: [],
    checks: [],
    rolledBack: true,
    failure: 'Cloud Run could not start revision hello-00002-abc',
    pruned: [],
    steps: [],
    plan: [],
    logs,
  });
  const render = (logs: FailureLogs): string =>
    renderReport(buildReport(runFacts({}), ['us-central1'], [{ status: 'fulfilled', value: failed(logs) }]))
      .text;

  it("shows the container's lines in a fence they cannot close, mentions and HTML inert", () => {
    const hostile = ['```', '</details><script>x</script> @octocat #1', '::error::forged'];
    const md = render({
      source: 'revision',
      name: 'hello-00002-abc',
      lines: hostile.map((l) => Untrusted.of(l)),
      logUri: LOG_URI,
      unread: undefined,
    });
    expect(md).toContain('the last 3 lines `hello-00002-abc` wrote');
    expect(md).toContain(LOG_URI);
    const block = /\n( {4})(`{4,})text\n([\s\S]*?)\n\1\2\n/.exec(md);
    expect(block?.[3]?.split('\n').map((l) => l.slice(4))).toEqual(hostile);
  });

  it('names the role when the deployer may not read logs, and still shows the link', () => {
    const md = render({
      source: 'revision',
      name: 'hello-00002-abc',
      lines: [],
      logUri: LOG_URI,
      unread: 'denied',
    });
    expect(md).toContain('`roles/logging.viewer`');
    expect(md).toContain(LOG_URI);
  });
});

describe('logFailureLogs', () => {
  it('writes the lines, and the name and link Cloud Run gave, each escaped for the log', () => {
    const lines: string[] = [];
    logFailureLogs(
      {
        source: 'execution',
        name: 'x\n::error::name',
        lines: [Untrusted.of('one\n::error::line')],
        logUri: 'https://console\n::error::uri',
        unread: undefined,
      },
      (line) => lines.push(line),
    );
    expect(lines).toEqual([
      'the last line execution x⏎::error::name wrote (https://console⏎::error::uri):',
      '  one⏎::error::line',
    ]);
  });
});

describe('a failed job execution in the reports', () => {
  const EXEC_URI = 'https://console.cloud.google.com/logs/viewer?project=p&resource=cloud_run_job';
  const hostile = ['```', '</details><script>x</script> @octocat #1', '::error::forged'];
  const execLogs = (over: Partial<FailureLogs> = {}): FailureLogs => ({
    source: 'execution',
    name: 'migrate-x7k2p',
    lines: hostile.map((l) => Untrusted.of(l)),
    logUri: EXEC_URI,
    unread: undefined,
    ...over,
  });
  const failedJob = (logs: FailureLogs | undefined): JobOutcome => ({
    region: 'us-central1',
    job: 'projects/p/locations/us-central1/jobs/migrate',
    created: false,
    execution: 'migrate-x7k2p',
    executionUrl:
      'https://console.cloud.google.com/run/jobs/executions/details/us-central1/migrate-x7k2p/tasks?project=p',
    logUri: EXEC_URI,
    tasks: { total: 1, succeeded: 0, failed: 1, cancelled: 0 },
    exitCode: 4,
    failure: 'execution migrate-x7k2p failed: 1 of 1 task(s) failed, 0 cancelled (exit code 4)',
    logs,
  });
  const fenced = (md: string): string[] | undefined =>
    /\n( {4})(`{4,})text\n([\s\S]*?)\n\1\2\n/
      .exec(md)?.[3]
      ?.split('\n')
      .map((l) => l.slice(4));

  it("shows a failed job's own last lines in its summary, inert, with the link", () => {
    const md = renderJobReport(
      'migrate',
      'img',
      ['us-central1'],
      [{ status: 'fulfilled', value: failedJob(execLogs()) }],
      [],
    ).text;
    expect(md).toContain('**What failed**');
    expect(md).toContain('the last 3 lines execution `migrate-x7k2p` wrote');
    expect(md).toContain(EXEC_URI);
    expect(fenced(md)).toEqual(hostile);
  });

  it("names the role and shows the link in a job's summary when the deployer may not read logs", () => {
    const md = renderJobReport(
      'migrate',
      'img',
      ['us-central1'],
      [{ status: 'fulfilled', value: failedJob(execLogs({ lines: [], unread: 'denied' })) }],
      [],
    ).text;
    expect(md).toContain('`roles/logging.viewer`');
    expect(md).toContain(EXEC_URI);
  });

  it("shows a failed release_command's own last lines in the service's summary and comment, inert", () => {
    const release = failedJob(execLogs());
    const report = buildReport(
      runFacts({ release }),
      ['us-central1'],
      [{ status: 'rejected', reason: new Error('release_command exited with code 4') }],
    );
    const md = renderReport(report).text;
    expect(md).toContain('**Release command**');
    expect(md).toContain('job `migrate` in us-central1, execution `migrate-x7k2p`');
    expect(md).toContain('the last 3 lines execution `migrate-x7k2p` wrote');
    expect(md).toContain(EXEC_URI);
    expect(fenced(md)).toEqual(hostile);
  });

  it('says a release_command that succeeded ran before the deploy', () => {
    const release = { ...failedJob(undefined), failure: undefined, exitCode: undefined };
    const md = renderReport(buildReport(runFacts({ release }), ['us-central1'], [])).text;
    expect(md).toMatch(/execution `migrate-x7k2p`.*: ✅ succeeded before the deploy/);
  });
});
