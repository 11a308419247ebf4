// Conformance with the real client for Cloud Run jobs: the installed gcloud, configured only by the
// emulator's env file, deploys a job and executes it with --wait (real containers), describes its
// execution and tasks, updates, lists and deletes it; a failing task fails `execute --wait`. Each
// step is checked through the v2 API too (one job, two views) and by what the containers wrote.
import { admin, env } from '../helpers/emulator.js';
import { accessTokenFor } from '../helpers/auth.js';
import { pushJobImage } from '../helpers/images.js';
import { gcloud, gcloudJson, gcloudSuite } from '../helpers/gcloud.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const suite = gcloudSuite('gcloud jobs conformance');

async function getJob(id: string): Promise<{ status: number; body: Json }> {
  const res = await fetch(
    `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/projects/${env('RUNWAY_EMULATOR_PROJECT')}/locations/us-central1/jobs/${id}`,
    { headers: { authorization: `Bearer ${await accessTokenFor()}` } },
  );
  return { status: res.status, body: (await res.json()) as Json };
}

/** The lines an execution's containers wrote, as the emulator kept them. */
async function outputOf(execution: string): Promise<Json[]> {
  const state = (await admin.state()) as Json;
  const found = (state.run.jobs as Json[])
    .flatMap((j) => j.executions as Json[])
    .find((e) => e.name === execution);
  return (found?.output ?? []) as Json[];
}

suite('gcloud run jobs against the emulator', () => {
  let image: string;

  beforeAll(async () => {
    image = await pushJobImage('gc-job');
  });

  it('deploys a job with the usual flags, executes it with --wait, and describes the execution', async () => {
    const runtime = env('RUNWAY_EMULATOR_RUNTIME_SERVICE_ACCOUNT');
    const deployed = await gcloud([
      'run',
      'jobs',
      'deploy',
      'gc-migrate',
      `--image=${image}`,
      '--args=echo "task $CLOUD_RUN_TASK_INDEX of $CLOUD_RUN_TASK_COUNT mode=$MODE secret=$GREETING"',
      '--tasks=2',
      '--parallelism=1',
      '--max-retries=1',
      '--task-timeout=120',
      '--set-env-vars=MODE=migrate',
      '--set-secrets=GREETING=greeting:latest',
      `--service-account=${runtime}`,
      '--execute-now',
      '--wait',
      '--quiet',
    ]);
    expect(deployed.stderr).toContain('has successfully been deployed and completed execution');
    expect(deployed.code).toBe(0);

    // The flags landed in the v2 fields they name.
    const v2 = await getJob('gc-migrate');
    expect(v2.body).toMatchObject({
      executionCount: 1,
      latestCreatedExecution: { completionStatus: 'EXECUTION_SUCCEEDED' },
      template: {
        taskCount: 2,
        parallelism: 1,
        template: {
          maxRetries: 1,
          timeout: '120s',
          serviceAccount: runtime,
          containers: [
            {
              image,
              env: [
                { name: 'MODE', value: 'migrate' },
                {
                  name: 'GREETING',
                  valueSource: { secretKeyRef: { secret: 'greeting', version: 'latest' } },
                },
              ],
            },
          ],
        },
      },
    });
    // gcloud's nonce label is v1's alone.
    expect(v2.body.template.labels).toBeUndefined();
    const execution = v2.body.latestCreatedExecution.name as string;

    const described = await gcloudJson<Json>(['run', 'jobs', 'executions', 'describe', execution]);
    expect(described.status).toMatchObject({ succeededCount: 2 });
    expect(described.metadata.labels['run.googleapis.com/job']).toBe('gc-migrate');
    expect((described.status.conditions as Json[])[0]).toMatchObject({ type: 'Completed', status: 'True' });

    const tasks = await gcloudJson<Json[]>([
      'run',
      'jobs',
      'executions',
      'tasks',
      'list',
      `--execution=${execution}`,
    ]);
    expect(
      tasks.map((t) => [t.status.index ?? 0, t.metadata.labels['run.googleapis.com/runningState']]).sort(),
    ).toEqual([
      [0, 'Succeeded'],
      [1, 'Succeeded'],
    ]);
    expect((await outputOf(execution)).map((l) => l.text)).toEqual([
      'task 0 of 2 mode=migrate secret=hello from Secret Manager',
      'task 1 of 2 mode=migrate secret=hello from Secret Manager',
    ]);

    const job = await gcloudJson<Json>(['run', 'jobs', 'describe', 'gc-migrate']);
    expect(job.status).toMatchObject({ executionCount: 1, latestCreatedExecution: { name: execution } });
    expect(job.spec.template.spec).toMatchObject({ taskCount: 2, parallelism: 1 });
  });

  it('fails execute --wait when a task fails, and the execution says which exit code', async () => {
    const created = await gcloud([
      'run',
      'jobs',
      'create',
      'gc-failing',
      `--image=${image}`,
      '--args=echo "broken migration" >&2; exit 4',
      '--max-retries=0',
      '--quiet',
    ]);
    expect(created.code).toBe(0);
    const executed = await gcloud(['run', 'jobs', 'execute', 'gc-failing', '--wait', '--quiet']);
    expect(executed.code).not.toBe(0);
    expect(executed.stderr).toContain('The execution failed.');
    const execution = (await getJob('gc-failing')).body.latestCreatedExecution.name as string;
    const described = await gcloudJson<Json>(['run', 'jobs', 'executions', 'describe', execution]);
    expect(described.status).toMatchObject({ failedCount: 1 });
    expect((described.status.conditions as Json[])[0]).toMatchObject({
      type: 'Completed',
      status: 'False',
      message: expect.stringContaining('exit code of 4'),
    });
    expect((await outputOf(execution)).map((l) => [l.stream, l.text])).toEqual([
      ['stderr', 'broken migration'],
    ]);
  });

  it('updates, lists and deletes a job', async () => {
    await gcloud(['run', 'jobs', 'create', 'gc-update', `--image=${image}`, '--quiet']);
    const updated = await gcloud(['run', 'jobs', 'update', 'gc-update', '--tasks=3', '--quiet']);
    expect(updated.code).toBe(0);
    expect((await getJob('gc-update')).body).toMatchObject({ generation: '2', template: { taskCount: 3 } });
    const listed = await gcloudJson<Json[]>(['run', 'jobs', 'list']);
    expect(listed.map((j) => j.metadata.name)).toContain('gc-update');
    const deleted = await gcloud(['run', 'jobs', 'delete', 'gc-update', '--quiet']);
    expect(deleted.code).toBe(0);
    expect((await getJob('gc-update')).status).toBe(404);
  });
});
