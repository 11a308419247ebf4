// End to end, the reason a deploy failed (issue 20): when a revision never becomes ready or fails
// its health checks, the job log, the job summary and the PR comment show the last lines its own
// container wrote, read from (emulated) Cloud Logging, with the revision's logUri; a deployer
// that may not read logs gets a warning naming roles/logging.viewer and the link, and the step
// ends as it would have without logs.
import { admin, env } from '../helpers/emulator.js';
import { deployImage, errorOf, type ActionRun } from '../helpers/action.js';
import { pushTestImage } from '../helpers/images.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const LOG_LINK = 'https://console.cloud.google.com/logs/viewer?project=';

/** The comments on the run's pull request. */
async function comments(): Promise<string[]> {
  const pr = env('GITHUB_REF').split('/')[2]!;
  const res = await fetch(
    `${env('GITHUB_API_URL')}/repos/${env('GITHUB_REPOSITORY')}/issues/${pr}/comments?per_page=100`,
    { headers: { authorization: `Bearer ${env('GITHUB_TOKEN')}` } },
  );
  return ((await res.json()) as Json[]).map((c) => String(c.body));
}

const warnings = (run: ActionRun): string[] =>
  run.stdout.split('\n').filter((l) => l.startsWith('::warning::'));

/** Lets the deployer read logs (roles/logging.viewer), as the README's optional grant does. */
async function grantLogViewer(): Promise<void> {
  await admin.seed({
    bindings: [
      {
        resource: `projects/${env('RUNWAY_EMULATOR_PROJECT')}`,
        role: 'roles/logging.viewer',
        members: [`serviceAccount:${env('RUNWAY_EMULATOR_SERVICE_ACCOUNT')}`],
      },
    ],
  });
}

let crashing: string;
let unhealthy: string;

beforeAll(async () => {
  [crashing, unhealthy] = await Promise.all([
    pushTestImage('logs-e2e-crash', 'never', { crash: true }),
    pushTestImage('logs-e2e-unhealthy', 'unhealthy', {
      say: [
        { stream: 'stdout', text: 'starting with BROKEN set' },
        { stream: 'stderr', text: 'Traceback: `health` <b>@octocat</b> will fail' },
      ],
    }),
  ]);
}, 180_000);

describe('without roles/logging.viewer (the default deployer)', () => {
  it('warns naming the role, shows the link, and ends the step as without logs', async () => {
    const [withLogs, without] = await Promise.all([
      deployImage('e2e-logs-denied', crashing),
      deployImage('e2e-logs-off', crashing, { log_lines: '0' }),
    ]);
    expect(withLogs.exitCode).toBe(1);
    expect(withLogs.exitCode).toBe(without.exitCode);
    expect(
      errorOf(withLogs)
        .replace(/e2e-logs-denied/g, 'S')
        .replace(/S-[\w-]+/g, 'R'),
    ).toBe(
      errorOf(without)
        .replace(/e2e-logs-off/g, 'S')
        .replace(/S-[\w-]+/g, 'R'),
    );
    const warned = warnings(withLogs).filter((w) => w.includes('roles/logging.viewer'));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toContain(LOG_LINK);
    expect(withLogs.summary).toContain('roles/logging.viewer');
    expect(withLogs.summary).toContain(LOG_LINK);
    expect(withLogs.summary).not.toContain('crashing on purpose');
    expect(warnings(without).some((w) => w.includes('logging'))).toBe(false);
    expect(without.summary).not.toContain('roles/logging.viewer');
  }, 240_000);
});

describe('with roles/logging.viewer', () => {
  beforeAll(grantLogViewer);

  it("shows a crashing revision's own last lines in the log, the summary and the PR comment", async () => {
    const run = await deployImage('e2e-logs-crash', crashing);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/\[us-central1\] {3}crashing on purpose/);
    expect(run.summary).toMatch(/the last line `e2e-logs-crash-[\w-]+` wrote/);
    expect(run.summary).toMatch(/```text\n {4}crashing on purpose\n {4}```/);
    expect(run.summary).toContain(LOG_LINK);
    expect(warnings(run).filter((w) => w.includes('logging'))).toEqual([]);
    const comment = (await comments()).find((c) => c.includes('e2e-logs-crash'));
    expect(comment).toContain('crashing on purpose');
  }, 240_000);

  it('shows the lines of a revision that fails its health checks, inert', async () => {
    const run = await deployImage('e2e-logs-unhealthy', unhealthy, {
      health_check_path: '/cgi-bin/health',
      env_vars: 'BROKEN=1',
      health_check_timeout: '5s',
    });
    expect(run.exitCode).toBe(1);
    // Both lines in one fence, verbatim; Docker stamps stdout and stderr apart, so (as in Cloud
    // Logging) lines of the two streams may come in either order.
    expect(run.summary).toMatch(
      /```text\n {4}(starting with BROKEN set|Traceback: `health` <b>@octocat<\/b> will fail)\n {4}(starting with BROKEN set|Traceback: `health` <b>@octocat<\/b> will fail)\n {4}```/,
    );
    expect(run.summary).toMatch(/\n {4}starting with BROKEN set\n/);
    expect(run.summary).toMatch(/\n {4}Traceback: `health` <b>@octocat<\/b> will fail\n/);
    expect(run.stdout).toContain('starting with BROKEN set');
  }, 240_000);
});
