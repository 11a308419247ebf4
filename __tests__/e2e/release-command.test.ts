// End to end: `release_command` runs once as the job SERVICE-release before the new revision exists,
// with the new image and the env the new revision gets; when it fails, the service is left as it was.
import { admin, env } from '../helpers/emulator.js';
import { deployApp, errorOf, expectSuccess } from '../helpers/action.js';
import { getService, revisionNames } from '../helpers/cloudrun.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function body(url: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return (await res.text()).trim();
}

async function releaseJob(service: string): Promise<Json | undefined> {
  const state = (await admin.state()) as Json;
  return (state.run.jobs as Json[]).find((j) => (j.name as string).endsWith(`/jobs/${service}-release`));
}

const outputOf = (execution: Json | undefined): string =>
  ((execution?.output ?? []) as Json[]).map((o) => o.text as string).join('\n');

describe('release_command', () => {
  it('runs before a verified deploy, with the new image and env, and the deploy then proceeds', async () => {
    expectSuccess(await deployApp('e2e-release-ok', 'version one'));
    const run = await deployApp('e2e-release-ok', 'version two', {
      env_vars: 'SCHEMA=v2',
      release_command: '/bin/busybox sh -c',
      release_args: '"echo migrating to $SCHEMA; /bin/busybox cat /www/index.html"',
    });
    expectSuccess(run);
    expect(await body(run.outputs.url!)).toBe('version two');

    const job = await releaseJob('e2e-release-ok');
    expect(job?.executions).toHaveLength(1);
    const execution = (job?.executions as Json[])[0];
    expect(execution?.state).toBe('succeeded');
    // The release ran with the new revision's env and the new image (its page says version two).
    expect(outputOf(execution)).toContain('migrating to v2');
    expect(outputOf(execution)).toContain('version two');
    expect(run.summary).toContain('release command');
  });

  it('that fails stops the step with its exit code, leaving the old revision serving and the service unchanged', async () => {
    // The deployer may read logs (the README's optional role), so the summary shows the command's output.
    await admin.seed({
      bindings: [
        {
          resource: `projects/${env('RUNWAY_EMULATOR_PROJECT')}`,
          role: 'roles/logging.viewer',
          members: [`serviceAccount:${env('RUNWAY_EMULATOR_SERVICE_ACCOUNT')}`],
        },
      ],
    });
    const first = await deployApp('e2e-release-fails', 'version one');
    expectSuccess(first);
    const before = await getService('e2e-release-fails');
    const revisionsBefore = await revisionNames('e2e-release-fails');

    const run = await deployApp('e2e-release-fails', 'version two', {
      release_command: '/bin/busybox sh -c',
      release_args: '"echo the migration broke; exit 4"',
    });
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toContain('release_command exited with code 4');
    expect(errorOf(run)).toContain('Nothing about e2e-release-fails was changed');
    expect(run.summary).toContain('release command');
    // The command's own output, inert in a fence, with the link to its logs.
    expect(run.summary).toMatch(
      /the last (?:line|\d+ lines) execution `e2e-release-fails-release-[\w-]+` wrote/,
    );
    expect(run.summary).toMatch(/```text\n(?: {4}.*\n)* {4}the migration broke\n(?: {4}.*\n)* {4}```/);
    expect(run.summary).toContain('https://console.cloud.google.com/logs/');

    const after = await getService('e2e-release-fails');
    expect(after?.template).toEqual(before?.template);
    expect(after?.traffic).toEqual(before?.traffic);
    expect(await revisionNames('e2e-release-fails')).toEqual(revisionsBefore);
    expect(await body(first.outputs.url!)).toBe('version one');
    // The failed execution is kept for inspection.
    const execution = ((await releaseJob('e2e-release-fails'))?.executions as Json[])[0];
    expect(execution?.state).toBe('failed');
    expect(outputOf(execution)).toContain('the migration broke');
  });
});
