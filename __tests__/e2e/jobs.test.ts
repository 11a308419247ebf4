// End to end: `job: NAME` through the bundled action against the emulator's Cloud Run jobs, whose
// tasks run as real containers. Each test asserts what the emulator ran, not only what the action said.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { admin, env } from '../helpers/emulator.js';
import { authInputs, errorOf, expectSuccess, runAction } from '../helpers/action.js';
import { pushJobImage } from '../helpers/images.js';
import { accessTokenFor } from '../helpers/auth.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function github(path: string): Promise<Json[]> {
  const res = await fetch(`${env('GITHUB_API_URL')}/repos/${env('GITHUB_REPOSITORY')}${path}`, {
    headers: { authorization: `Bearer ${env('GITHUB_TOKEN')}` },
  });
  return (await res.json()) as Json[];
}

/** The emulator's record of a job, its executions with their tasks and output. */
async function jobState(name: string): Promise<Json | undefined> {
  const state = (await admin.state()) as Json;
  return (state.run.jobs as Json[]).find((j) => (j.name as string).endsWith(`/jobs/${name}`));
}

describe('deploying a Cloud Run job', () => {
  it('deploys a job from an image and, with `wait`, runs every task to its end', async () => {
    const image = await pushJobImage('e2e-job-ok');
    const run = await runAction({
      ...authInputs(),
      job: 'e2e-job-ok',
      image,
      env_vars: 'GREETING=hello',
      labels: 'team=data',
      flags: '--tasks=2 --max-retries=0 "--args=echo $GREETING from task $CLOUD_RUN_TASK_INDEX"',
      wait: 'true',
    });
    expectSuccess(run);
    expect(run.outputs.job).toMatch(/\/locations\/us-central1\/jobs\/e2e-job-ok$/);
    expect(run.outputs.execution).toMatch(/^e2e-job-ok-/);
    expect(run.outputs.execution_url).toContain(`/executions/details/us-central1/${run.outputs.execution}/`);
    expect([run.outputs.tasks_succeeded, run.outputs.tasks_failed, run.outputs.tasks_cancelled]).toEqual([
      '2',
      '0',
      '0',
    ]);
    expect(run.outputs.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(run.summary).toContain('Cloud Run job');
    expect(run.summary).toContain(run.outputs.execution);

    const job = await jobState('e2e-job-ok');
    expect(job?.labels).toMatchObject({ team: 'data', 'managed-by': 'github-actions' });
    expect(job?.template.taskCount).toBe(2);
    const execution = (job?.executions as Json[]).find((e) => e.name.endsWith(run.outputs.execution!));
    expect(execution?.state).toBe('succeeded');
    const lines = (execution?.output as Json[]).map((o) => o.text as string);
    expect(lines.join('\n')).toContain('hello from task 0');
    expect(lines.join('\n')).toContain('hello from task 1');
  });

  it('deploys a job from its Job file (`metadata`), the inputs on top, and runs it', async () => {
    const image = await pushJobImage('e2e-job-file');
    const file = (container: Record<string, unknown>): string => {
      const path = join(mkdtempSync(join(tmpdir(), 'runway-job-')), 'job.yaml');
      writeFileSync(
        path,
        stringify({
          apiVersion: 'run.googleapis.com/v1',
          kind: 'Job',
          metadata: { name: 'e2e-job-file', labels: { team: 'data' } },
          spec: {
            template: {
              metadata: { annotations: { 'run.googleapis.com/execution-environment': 'gen2' } },
              spec: {
                taskCount: 2,
                template: {
                  spec: {
                    containers: [
                      {
                        image,
                        args: [
                          'echo "$GREETING from task $CLOUD_RUN_TASK_INDEX of $CLOUD_RUN_TASK_COUNT mode=$MODE"',
                        ],
                        env: [{ name: 'MODE', value: 'file' }],
                        ...container,
                      },
                    ],
                    maxRetries: 0,
                  },
                },
              },
            },
          },
        }),
      );
      return path;
    };
    const run = await runAction({
      ...authInputs(),
      metadata: file({}),
      env_vars: 'GREETING=hello',
      labels: 'tier=batch',
      wait: 'true',
    });
    expectSuccess(run);
    expect(run.stdout).toContain('the deploy replaces the job with it, inputs on top');
    expect(run.outputs.job).toMatch(/\/locations\/us-central1\/jobs\/e2e-job-file$/);
    expect([run.outputs.tasks_succeeded, run.outputs.tasks_failed]).toEqual(['2', '0']);
    const job = await jobState('e2e-job-file');
    expect(job?.labels).toMatchObject({ team: 'data', tier: 'batch', 'managed-by': 'github-actions' });
    expect(job?.template).toMatchObject({
      taskCount: 2,
      template: { executionEnvironment: 'EXECUTION_ENVIRONMENT_GEN2', maxRetries: 0 },
    });
    const execution = (job?.executions as Json[]).find((e) => e.name.endsWith(run.outputs.execution!));
    expect((execution?.output as Json[]).map((o) => o.text as string).sort()).toEqual([
      'hello from task 0 of 2 mode=file',
      'hello from task 1 of 2 mode=file',
    ]);

    // A field Runway cannot deploy is refused by name before any change.
    const refused = await runAction({
      ...authInputs(),
      metadata: file({ ports: [{ containerPort: 8080 }] }),
      wait: 'true',
    });
    expect(refused.exitCode).toBe(1);
    expect(errorOf(refused)).toContain(
      "spec.template.spec.template.spec.containers[0].ports: a service's setting: a job's task runs to its end and takes no requests.",
    );
    expect(await jobState('e2e-job-file')).toMatchObject({ generation: job?.generation });
  });

  it('fails the step when a task fails, naming the execution and the failed task count', async () => {
    const image = await pushJobImage('e2e-job-fails');
    const run = await runAction({
      ...authInputs(),
      job: 'e2e-job-fails',
      image,
      flags: '--max-retries=0 "--args=echo crashing on purpose; exit 3"',
      wait: 'true',
    });
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toMatch(/execution e2e-job-fails-\S+ failed: 1 of 1 task\(s\) failed/);
    expect(run.outputs.tasks_failed).toBe('1');
    expect(run.outputs.tasks_succeeded).toBe('0');
    const job = await jobState('e2e-job-fails');
    expect((job?.executions as Json[])[0]?.state).toBe('failed');
    // The default deployer may not read logs: a warning names the role, and the step's error is the task's.
    expect(run.stdout).toMatch(
      /::warning::\[us-central1\] Runway could not read the logs of execution e2e-job-fails-\S+: .* lacks logging\.logEntries\.list\. Grant it roles\/logging\.viewer/,
    );
    // The summary says so too, with the link; the step's failure is still the task's alone.
    expect(run.summary).toMatch(
      /execution `e2e-job-fails-[\w-]+`'s logs \(`https:\/\/console\.cloud\.google\.com\/logs\//,
    );
    expect(run.summary).toContain('`roles/logging.viewer`');
  });

  it("prints a failed task's own last lines when the deployer may read logs", async () => {
    await admin.seed({
      bindings: [
        {
          resource: `projects/${env('RUNWAY_EMULATOR_PROJECT')}`,
          role: 'roles/logging.viewer',
          members: [`serviceAccount:${env('RUNWAY_EMULATOR_SERVICE_ACCOUNT')}`],
        },
      ],
    });
    const image = await pushJobImage('e2e-job-logs');
    const run = await runAction({
      ...authInputs(),
      job: 'e2e-job-logs',
      image,
      flags: '--max-retries=0 "--args=echo ::error::forged by the task; echo the task broke; exit 5"',
      wait: 'true',
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(
      /\[us-central1\] the last \d+ lines execution e2e-job-logs-\S+ wrote \(https:\S+\):/,
    );
    expect(run.stdout).toMatch(/\[us-central1\] {3}the task broke/);
    // The task's text is inert: its workflow command is not one.
    expect(run.stdout).not.toMatch(/^::error::forged by the task/m);
    expect(run.stdout).toContain('forged by the task');
    // And in the job summary, inert in a fence, with the link.
    expect(run.summary).toMatch(
      /the last \d+ lines execution `e2e-job-logs-[\w-]+` wrote \(`https:\/\/console\.cloud\.google\.com\/logs\//,
    );
    expect(run.summary).toMatch(
      /```text\n(?: {4}.*\n)* {4}::error::forged by the task\n {4}the task broke\n {4}```/,
    );
  });

  it('refuses a deployer without the run.jobs.* permissions before any change, naming each at once', async () => {
    const image = await pushJobImage('e2e-job-denied');
    const grant = {
      resource: `projects/${env('RUNWAY_EMULATOR_PROJECT')}`,
      role: 'roles/run.admin',
      members: [`serviceAccount:${env('RUNWAY_EMULATOR_SERVICE_ACCOUNT')}`],
    };
    await admin.seed({ revoke: [grant] });
    let run;
    try {
      run = await runAction({ ...authInputs(), job: 'e2e-job-denied', image, wait: 'true' });
    } finally {
      await admin.seed({ bindings: [grant] });
    }
    expect(run.exitCode).toBe(1);
    const error = errorOf(run);
    expect(error).toContain(
      'lacks run.jobs.get, run.jobs.create, run.jobs.update, run.jobs.run, run.executions.get, run.operations.get',
    );
    expect(error).toContain(
      `gcloud projects add-iam-policy-binding ${env('RUNWAY_EMULATOR_PROJECT')} --role=roles/run.developer --member=serviceAccount:${env('RUNWAY_EMULATOR_SERVICE_ACCOUNT')}`,
    );
    expect(await jobState('e2e-job-denied')).toBeUndefined();
    // Asked, never attempted: no job request reached Cloud Run but the permission question.
    const asked = (await admin.requests()).filter((r) => r.path.includes('/jobs/e2e-job-denied'));
    expect(asked.map((r) => `${r.method} ${r.path.split('/jobs/')[1]}`)).toEqual([
      'POST e2e-job-denied:testIamPermissions',
    ]);
  });

  it('counts roles/run.developer granted on the job itself, and refuses before any change what only the project grants', async () => {
    const image = await pushJobImage('e2e-job-onjob');
    expectSuccess(await runAction({ ...authInputs(), job: 'e2e-job-onjob', image }));
    const deployer = `serviceAccount:${env('RUNWAY_EMULATOR_SERVICE_ACCOUNT')}`;
    const job = `projects/${env('RUNWAY_EMULATOR_PROJECT')}/locations/us-central1/jobs/e2e-job-onjob`;
    const base = `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/${job}`;
    const headers = { authorization: `Bearer ${await accessTokenFor()}`, 'content-type': 'application/json' };
    const policy = (await (await fetch(`${base}:getIamPolicy`, { headers })).json()) as Json;
    const set = await fetch(`${base}:setIamPolicy`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        policy: { ...policy, bindings: [{ role: 'roles/run.developer', members: [deployer] }] },
      }),
    });
    expect(set.status).toBe(200);
    const grant = {
      resource: `projects/${env('RUNWAY_EMULATOR_PROJECT')}`,
      role: 'roles/run.admin',
      members: [deployer],
    };
    await admin.seed({ revoke: [grant] });
    let run;
    try {
      run = await runAction({ ...authInputs(), job: 'e2e-job-onjob', image, wait: 'true' });
    } finally {
      await admin.seed({ bindings: [grant] });
    }
    // The job's own grant covers run.jobs.*; the operations every change waits on are the location's.
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toContain('e2e-job-onjob in us-central1: it lacks run.operations.get.');
    expect(((await jobState('e2e-job-onjob'))?.executions as Json[]).length).toBe(0);
    expect(await jobState('e2e-job-onjob')).toMatchObject({ generation: '1' });
  });

  it('with `execute` alone starts the execution and returns; without it runs nothing', async () => {
    const image = await pushJobImage('e2e-job-start');
    const deployOnly = await runAction({ ...authInputs(), job: 'e2e-job-start', image });
    expectSuccess(deployOnly);
    expect(deployOnly.outputs.execution).toBe('');
    expect((await jobState('e2e-job-start'))?.executions).toEqual([]);

    const started = await runAction({
      ...authInputs(),
      job: 'e2e-job-start',
      image,
      flags: '--execute-now "--args=sleep 1"',
    });
    expectSuccess(started);
    expect(started.outputs.execution).toMatch(/^e2e-job-start-/);
    expect(started.outputs.tasks_succeeded).toBe('');
    expect((await jobState('e2e-job-start'))?.executions).toHaveLength(1);
  });

  it('deploys and runs the job in every region listed, in parallel, each reported in `regions`', async () => {
    const image = await pushJobImage('e2e-job-regions');
    const run = await runAction({
      ...authInputs(),
      job: 'e2e-job-regions',
      image,
      region: 'us-central1,europe-west1',
      flags: '"--args=echo region $CLOUD_RUN_TASK_INDEX"',
      wait: 'true',
    });
    expectSuccess(run);
    const regions = JSON.parse(run.outputs.regions!) as Json;
    expect(Object.keys(regions).sort()).toEqual(['europe-west1', 'us-central1']);
    for (const region of ['us-central1', 'europe-west1']) {
      expect(regions[region].job).toMatch(new RegExp(`/locations/${region}/jobs/e2e-job-regions$`));
      expect(regions[region].tasks_succeeded).toBe(1);
    }
  });

  it("writes the commit status, the GitHub Deployment and the PR comment a service's deploy writes, with a failed task's lines", async () => {
    // After the logs test above: the deployer may read logs.
    const image = await pushJobImage('e2e-job-report');
    const inputs = {
      ...authInputs(),
      job: 'e2e-job-report',
      image,
      deployment_environment: 'e2e-jobs',
      status_context: 'runway/e2e-job',
      wait: 'true',
    };
    expectSuccess(await runAction({ ...inputs, flags: '--max-retries=0 "--args=echo fine"' }));
    const statuses = async (): Promise<Json[]> =>
      (await github(`/commits/${env('GITHUB_SHA')}/statuses`)).filter(
        (s: Json) => s.context === 'runway/e2e-job',
      );
    expect((await statuses())[0]).toMatchObject({ state: 'success' });
    const deployments = async (): Promise<Json[]> =>
      [...(await github('/deployments?environment=e2e-jobs'))].sort((a: Json, b: Json) => b.id - a.id);
    const states = async (d: Json): Promise<string[]> =>
      (await github(`/deployments/${d.id}/statuses`)).map((s: Json) => s.state as string);
    const [ok] = await deployments();
    expect(ok).toMatchObject({ environment: 'e2e-jobs', sha: env('GITHUB_SHA') });
    expect((await states(ok!)).sort()).toEqual(['in_progress', 'success']);

    const failed = await runAction({
      ...inputs,
      flags: '--max-retries=0 "--args=echo the report task broke; exit 2"',
    });
    expect(failed.exitCode).toBe(1);
    expect((await statuses())[0]).toMatchObject({ state: 'failure' });
    const [latest, earlier] = await deployments();
    expect(await states(latest!)).toContain('failure');
    expect(await states(earlier!)).toContain('success');
    const pr = env('GITHUB_REF').split('/')[2]!;
    const comments = (await github(`/issues/${pr}/comments?per_page=100`)).filter((c: Json) =>
      String(c.body).includes('runway:comment service=job%3Ae2e-job-report '),
    );
    expect(comments).toHaveLength(1);
    expect(String(comments[0]!.body)).toMatch(/ {4}the report task broke\n/);
  });
});
