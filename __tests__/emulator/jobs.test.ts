// Conformance of the emulated Cloud Run Admin API v2 jobs, executions and tasks, with real
// containers: one per task attempt, given Cloud Run's CLOUD_RUN_* variables, the job's env and
// secrets; exit codes, retries, parallelism, the task timeout and cancellation; long-running
// operations; Google's 400s for bad requests; and the run.jobs/executions/tasks permissions.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { admin, env } from '../helpers/emulator.js';
import { accessTokenFor, seedServiceAccount } from '../helpers/auth.js';
import { pushJobImage } from '../helpers/images.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const exec = promisify(execFile);
const project = (): string => env('RUNWAY_EMULATOR_PROJECT');
const base = (): string =>
  `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/projects/${project()}/locations/us-central1`;

async function call(
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; body: Json }> {
  const res = await fetch(path.startsWith('http') ? path : `${base()}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token ?? (await accessTokenFor())}`,
      'content-type': 'application/json',
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
}

async function wait(op: Json): Promise<Json> {
  const { body } = await call('POST', `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/${op.name}:wait`, {
    timeout: '120s',
  });
  return body;
}

let image: string;

/** A job running `script` (sh -c) in the job image; `task` and `extra` add to its template. */
function jobSpec(script: string, task: Json = {}, extra: Json = {}): Json {
  return {
    template: { ...extra, template: { containers: [{ image, args: [script] }], ...task } },
  };
}

async function createJob(id: string, spec: Json): Promise<Json> {
  const created = await call('POST', `/jobs?jobId=${id}`, spec);
  expect(created.status).toBe(200);
  const done = await wait(created.body);
  expect(done.error).toBeUndefined();
  return done.response as Json;
}

/** Runs a job and waits for its execution: the finished operation and the Execution read back. */
async function runJob(id: string, body: Json = {}): Promise<{ op: Json; execution: Json }> {
  const started = await call('POST', `/jobs/${id}:run`, body);
  expect(started.status).toBe(200);
  expect(started.body.metadata['@type']).toBe('type.googleapis.com/google.cloud.run.v2.Execution');
  const op = await wait(started.body);
  expect(op.done).toBe(true);
  const execution = (await call('GET', `/jobs/${id}/executions/${short(started.body.metadata.name)}`)).body;
  return { op, execution };
}

const short = (name: string): string => name.split('/').pop()!;

/** The lines the execution's containers wrote, as the emulator kept them (admin state). */
async function outputOf(execution: string): Promise<Json[]> {
  const state = (await admin.state()) as Json;
  const found = (state.run.jobs as Json[])
    .flatMap((j) => j.executions as Json[])
    .find((e) => e.name === execution);
  return (found?.output ?? []) as Json[];
}

async function tasksOf(job: string, execution: string): Promise<Json[]> {
  return ((await call('GET', `/jobs/${job}/executions/${execution}/tasks`)).body.tasks ?? []) as Json[];
}

beforeAll(async () => {
  image = await pushJobImage('conf-job');
});

describe('jobs', () => {
  it('creates a job with an operation, shows Cloud Run’s defaults, lists it and updates it', async () => {
    const created = await call('POST', '/jobs?jobId=conf-job-crud', jobSpec('echo hi'));
    expect(created.status).toBe(200);
    expect(created.body.metadata['@type']).toBe('type.googleapis.com/google.cloud.run.v2.Job');
    const done = await wait(created.body);
    expect(done.response['@type']).toBe('type.googleapis.com/google.cloud.run.v2.Job');
    const job = (await call('GET', '/jobs/conf-job-crud')).body;
    expect(job).toMatchObject({
      name: `projects/${project()}/locations/us-central1/jobs/conf-job-crud`,
      generation: '1',
      terminalCondition: { type: 'Ready', state: 'CONDITION_SUCCEEDED' },
      launchStage: 'GA',
      template: {
        taskCount: 1,
        template: {
          maxRetries: 3,
          timeout: '600s',
          containers: [
            { image, args: ['echo hi'], resources: { limits: { cpu: '1000m', memory: '512Mi' } } },
          ],
        },
      },
    });
    expect(job.executionCount).toBeUndefined();
    const listed = (await call('GET', '/jobs')).body;
    expect((listed.jobs as Json[]).map((j) => short(j.name))).toContain('conf-job-crud');

    const updated = await call('PATCH', '/jobs/conf-job-crud', {
      ...jobSpec('echo updated', { maxRetries: 0 }, { taskCount: 2 }),
      etag: job.etag,
    });
    expect(updated.status).toBe(200);
    await wait(updated.body);
    const after = (await call('GET', '/jobs/conf-job-crud')).body;
    expect(after).toMatchObject({ generation: '2', template: { taskCount: 2, template: { maxRetries: 0 } } });

    const stale = await call('PATCH', '/jobs/conf-job-crud', { ...jobSpec('echo x'), etag: job.etag });
    expect(stale.status).toBe(409);

    const deleted = await call('DELETE', '/jobs/conf-job-crud');
    expect(deleted.status).toBe(200);
    await wait(deleted.body);
    expect((await call('GET', '/jobs/conf-job-crud')).status).toBe(404);
  });

  it('runs one container per task with the CLOUD_RUN_* variables, the job’s env and secrets, and keeps its output', async () => {
    await createJob(
      'conf-job-env',
      jobSpec(
        'echo "job=$CLOUD_RUN_JOB execution=$CLOUD_RUN_EXECUTION index=$CLOUD_RUN_TASK_INDEX count=$CLOUD_RUN_TASK_COUNT attempt=$CLOUD_RUN_TASK_ATTEMPT mode=$MODE secret=$GREETING port=${PORT:-none}"; echo to-stderr >&2',
        {
          serviceAccount: env('RUNWAY_EMULATOR_RUNTIME_SERVICE_ACCOUNT'),
          containers: [
            {
              image,
              args: [
                'echo "job=$CLOUD_RUN_JOB execution=$CLOUD_RUN_EXECUTION index=$CLOUD_RUN_TASK_INDEX count=$CLOUD_RUN_TASK_COUNT attempt=$CLOUD_RUN_TASK_ATTEMPT mode=$MODE secret=$GREETING port=${PORT:-none}"; echo to-stderr >&2',
              ],
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
        { taskCount: 2 },
      ),
    );
    const { op, execution } = await runJob('conf-job-env');
    expect(op.response['@type']).toBe('type.googleapis.com/google.cloud.run.v2.Execution');
    const name = short(execution.name);
    expect(name).toMatch(/^conf-job-env-[a-z0-9]{5}$/);
    expect(execution).toMatchObject({
      job: 'conf-job-env',
      taskCount: 2,
      succeededCount: 2,
      logUri: expect.stringContaining('cloud_run_job'),
    });
    expect(execution.failedCount).toBeUndefined();
    expect(execution.runningCount).toBeUndefined();
    expect(execution.conditions[0]).toMatchObject({ type: 'Completed', state: 'CONDITION_SUCCEEDED' });

    const tasks = await tasksOf('conf-job-env', name);
    expect(tasks.map((t) => [t.index ?? 0, t.lastAttemptResult?.exitCode ?? 0])).toEqual([
      [0, 0],
      [1, 0],
    ]);
    const one = (await call('GET', `/jobs/conf-job-env/executions/${name}/tasks/${short(tasks[1]!.name)}`))
      .body;
    expect(one).toMatchObject({ index: 1, execution: name, job: 'conf-job-env' });

    const output = await outputOf(name);
    const stdout = output
      .filter((l) => l.stream === 'stdout')
      .map((l) => l.text)
      .sort();
    expect(stdout).toEqual(
      [0, 1].map(
        (i) =>
          `job=conf-job-env execution=${name} index=${i} count=2 attempt=0 mode=migrate secret=hello from Secret Manager port=none`,
      ),
    );
    expect(output.filter((l) => l.stream === 'stderr').map((l) => l.text)).toEqual([
      'to-stderr',
      'to-stderr',
    ]);
    for (const line of output) {
      expect(line).toMatchObject({ kind: 'job', job: 'conf-job-env', execution: name, project: project() });
      expect(Number.isNaN(Date.parse(line.time as string))).toBe(false);
    }

    const job = (await call('GET', '/jobs/conf-job-env')).body;
    expect(job).toMatchObject({
      executionCount: 1,
      latestCreatedExecution: { name, completionStatus: 'EXECUTION_SUCCEEDED' },
    });
    const listed = (await call('GET', '/jobs/conf-job-env/executions')).body;
    expect((listed.executions as Json[]).map((e) => short(e.name))).toEqual([name]);
  });

  it('retries a failing task up to maxRetries, then fails the execution with the exit code', async () => {
    await createJob(
      'conf-job-fail',
      jobSpec('echo "attempt $CLOUD_RUN_TASK_ATTEMPT failing" >&2; exit 3', { maxRetries: 2 }),
    );
    const { op, execution } = await runJob('conf-job-fail');
    expect(op.error.message).toContain('The container exited with an exit code of 3.');
    expect(op.response).toBeUndefined();
    expect(execution).toMatchObject({ failedCount: 1, retriedCount: 2 });
    expect(execution.succeededCount).toBeUndefined();
    expect(execution.conditions[0]).toMatchObject({
      type: 'Completed',
      state: 'CONDITION_FAILED',
      executionReason: 'NON_ZERO_EXIT_CODE',
      message: expect.stringContaining('exit code of 3'),
    });
    const [task] = await tasksOf('conf-job-fail', short(execution.name));
    expect(task).toMatchObject({ retried: 2, lastAttemptResult: { exitCode: 3 } });
    const output = await outputOf(short(execution.name));
    expect(output.map((l) => [l.attempt, l.stream, l.text])).toEqual([
      [0, 'stderr', 'attempt 0 failing'],
      [1, 'stderr', 'attempt 1 failing'],
      [2, 'stderr', 'attempt 2 failing'],
    ]);
    const job = (await call('GET', '/jobs/conf-job-fail')).body;
    expect(job.latestCreatedExecution.completionStatus).toBe('EXECUTION_FAILED');
  });

  it('a task that fails once and then succeeds counts as succeeded, retried once', async () => {
    await createJob('conf-job-flaky', jobSpec('[ "$CLOUD_RUN_TASK_ATTEMPT" -ge 1 ] || exit 5'));
    const { op, execution } = await runJob('conf-job-flaky');
    expect(op.error).toBeUndefined();
    expect(execution).toMatchObject({ succeededCount: 1, retriedCount: 1 });
    const [task] = await tasksOf('conf-job-flaky', short(execution.name));
    expect(task).toMatchObject({ retried: 1 });
  });

  it('runs at most `parallelism` tasks at once; 0 runs them all together', async () => {
    await createJob('conf-job-serial', jobSpec('/bin/busybox sleep 1', {}, { taskCount: 3, parallelism: 1 }));
    const serial = await runJob('conf-job-serial');
    expect(serial.execution).toMatchObject({ succeededCount: 3, parallelism: 1 });
    const tasks = await tasksOf('conf-job-serial', short(serial.execution.name));
    for (let i = 1; i < tasks.length; i++)
      expect(Date.parse(tasks[i]!.startTime)).toBeGreaterThanOrEqual(
        Date.parse(tasks[i - 1]!.completionTime),
      );

    await createJob('conf-job-wide', jobSpec('/bin/busybox sleep 2', {}, { taskCount: 3 }));
    const started = await call('POST', '/jobs/conf-job-wide:run', {});
    const name = short(started.body.metadata.name);
    // Every task is running before any has finished.
    let running = 0;
    for (let i = 0; i < 200 && running < 3; i++) {
      running = (await call('GET', `/jobs/conf-job-wide/executions/${name}`)).body.runningCount ?? 0;
      if (running < 3) await new Promise((r) => setTimeout(r, 50));
    }
    expect(running).toBe(3);
    const op = await wait(started.body);
    expect(op.response.succeededCount).toBe(3);
  });

  it('kills a task at its timeout and fails it', async () => {
    await createJob(
      'conf-job-timeout',
      jobSpec('echo started; /bin/busybox sleep 60', { timeout: '1s', maxRetries: 0 }),
    );
    const { op, execution } = await runJob('conf-job-timeout');
    expect(op.error).toBeDefined();
    expect(execution).toMatchObject({ failedCount: 1 });
    const [task] = await tasksOf('conf-job-timeout', short(execution.name));
    expect(task!.lastAttemptResult.status).toMatchObject({ code: 4 });
    expect((await outputOf(short(execution.name))).map((l) => l.text)).toEqual(['started']);
  });

  it('cancelling an execution stops its containers and counts its tasks cancelled', async () => {
    await createJob(
      'conf-job-cancel',
      jobSpec('/bin/busybox sleep 120', {}, { taskCount: 2, parallelism: 1 }),
    );
    const started = await call('POST', '/jobs/conf-job-cancel:run', {});
    const name = short(started.body.metadata.name);
    const path = `/jobs/conf-job-cancel/executions/${name}`;
    for (let i = 0; i < 600; i++) {
      if ((await call('GET', path)).body.runningCount === 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // Running executions cannot be deleted.
    const refused = await call('DELETE', path);
    expect(refused.status).toBe(400);
    expect(refused.body.error.status).toBe('FAILED_PRECONDITION');

    const cancelled = await call('POST', `${path}:cancel`, {});
    expect(cancelled.status).toBe(200);
    const op = await wait(cancelled.body);
    expect(op.response).toMatchObject({ cancelledCount: 2 });
    const execution = (await call('GET', path)).body;
    expect(execution.conditions[0]).toMatchObject({
      state: 'CONDITION_FAILED',
      executionReason: 'CANCELLED',
    });
    const run = await wait(started.body);
    expect(run.error).toBeDefined();
    const { stdout } = await exec('docker', ['ps', '-aq', '--filter', `label=runway-execution=${name}`]);
    expect(stdout.trim()).toBe('');

    expect((await call('POST', `${path}:cancel`, {})).status).toBe(400);
    const deleted = await call('DELETE', path);
    expect(deleted.status).toBe(200);
    await wait(deleted.body);
    expect((await call('GET', path)).status).toBe(404);
  });

  it('applies a run’s overrides: args, env, task count', async () => {
    await createJob('conf-job-override', jobSpec('echo default'));
    const { execution } = await runJob('conf-job-override', {
      overrides: {
        containerOverrides: [{ args: ['echo "overridden $EXTRA"'], env: [{ name: 'EXTRA', value: 'yes' }] }],
        taskCount: 2,
      },
    });
    expect(execution).toMatchObject({ taskCount: 2, succeededCount: 2 });
    expect((await outputOf(short(execution.name))).map((l) => l.text)).toEqual([
      'overridden yes',
      'overridden yes',
    ]);
  });
});

describe('bad requests', () => {
  it.each([
    ['no image', 'conf-bad-image', { template: { template: { containers: [{}] } } }, 'image'],
    ['no template', 'conf-bad-template', {}, 'template'],
    [
      'an unknown field',
      'conf-bad-field',
      { template: { template: { containers: [{ image: 'x', imag: 'y' }] } } },
      'imag',
    ],
    [
      'too many retries',
      'conf-bad-retries',
      { template: { template: { containers: [{ image: 'x' }], maxRetries: 11 } } },
      'max_retries',
    ],
    [
      'a port',
      'conf-bad-port',
      { template: { template: { containers: [{ image: 'x', ports: [{ containerPort: 8080 }] }] } } },
      'ports',
    ],
    [
      'no tasks',
      'conf-bad-tasks',
      { template: { taskCount: -1, template: { containers: [{ image: 'x' }] } } },
      'task_count',
    ],
    [
      'a reserved label',
      'conf-bad-label',
      { labels: { 'run.googleapis.com/x': 'y' }, template: { template: { containers: [{ image: 'x' }] } } },
      'labels',
    ],
    ['an invalid job ID', 'Conf_Bad', { template: { template: { containers: [{ image: 'x' }] } } }, 'job_id'],
  ])('refuses a job with %s: 400 INVALID_ARGUMENT', async (_what, id, body, mentions) => {
    const res = await call('POST', `/jobs?jobId=${id}`, body);
    expect(res.status).toBe(400);
    expect(res.body.error.status).toBe('INVALID_ARGUMENT');
    expect(res.body.error.message).toContain(mentions);
    expect((await call('GET', `/jobs/${id}`)).status).toBe(404);
  });

  it('a job that exists already is 409, a missing one 404, a run with an unknown field 400', async () => {
    await createJob('conf-job-twice', jobSpec('true'));
    expect((await call('POST', '/jobs?jobId=conf-job-twice', jobSpec('true'))).status).toBe(409);
    expect((await call('POST', '/jobs/conf-job-missing:run', {})).status).toBe(404);
    expect((await call('GET', '/jobs/conf-job-twice/executions/conf-job-twice-zzzzz')).status).toBe(404);
    const bad = await call('POST', '/jobs/conf-job-twice:run', { overides: {} });
    expect(bad.status).toBe(400);
  });
});

describe('permissions', () => {
  it('a viewer reads jobs but may not create or run them; an invoker on the job runs it but reads nothing', async () => {
    await createJob('conf-job-iam', jobSpec('true'));
    const viewer = await seedServiceAccount('conf-job-viewer', ['roles/run.viewer']);
    const invoker = await seedServiceAccount('conf-job-invoker', []);
    const viewerToken = await accessTokenFor(viewer);
    const invokerToken = await accessTokenFor(invoker);

    expect((await call('GET', '/jobs/conf-job-iam', undefined, viewerToken)).status).toBe(200);
    const create = await call('POST', '/jobs?jobId=conf-job-denied', jobSpec('true'), viewerToken);
    expect(create.status).toBe(403);
    expect(create.body.error.message).toContain("Permission 'run.jobs.create' denied");
    const run = await call('POST', '/jobs/conf-job-iam:run', {}, viewerToken);
    expect(run.status).toBe(403);
    expect(run.body.error.message).toContain("Permission 'run.jobs.run' denied");
    // A job that does not exist is denied the same way, never a 404 that reveals it.
    expect((await call('POST', '/jobs/conf-job-nowhere:run', {}, invokerToken)).status).toBe(403);

    const policy = (await call('GET', '/jobs/conf-job-iam:getIamPolicy')).body;
    const set = await call('POST', '/jobs/conf-job-iam:setIamPolicy', {
      policy: {
        ...policy,
        bindings: [{ role: 'roles/run.invoker', members: [`serviceAccount:${invoker}`] }],
      },
    });
    expect(set.status).toBe(200);
    const granted = await call(
      'POST',
      '/jobs/conf-job-iam:testIamPermissions',
      { permissions: ['run.jobs.run', 'run.jobs.get', 'run.executions.cancel'] },
      invokerToken,
    );
    expect(granted.body.permissions).toEqual(['run.jobs.run']);
    const started = await call('POST', '/jobs/conf-job-iam:run', {}, invokerToken);
    expect(started.status).toBe(200);
    expect((await call('GET', '/jobs/conf-job-iam', undefined, invokerToken)).status).toBe(403);
    await wait(started.body);
  });

  it("answers testIamPermissions for a job not created yet from the project's policy, and refuses wildcards", async () => {
    const developer = await seedServiceAccount('conf-job-developer', ['roles/run.developer']);
    const nobody = await seedServiceAccount('conf-job-nobody', []);
    const asked = [
      'run.jobs.create',
      'run.jobs.update',
      'run.jobs.get',
      'run.jobs.run',
      'run.executions.get',
    ];
    const path = '/jobs/conf-job-not-yet:testIamPermissions';
    const granted = await call('POST', path, { permissions: asked }, await accessTokenFor(developer));
    expect(granted.status).toBe(200);
    expect(granted.body.permissions).toEqual(asked);
    const none = await call('POST', path, { permissions: asked }, await accessTokenFor(nobody));
    expect(none).toEqual({ status: 200, body: {} });
    // Resource Manager answers the same question for the project.
    const onProject = await call(
      'POST',
      `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER')}v1/projects/${project()}:testIamPermissions`,
      { permissions: asked },
      await accessTokenFor(developer),
    );
    expect(onProject.body.permissions).toEqual(asked);
    for (const wild of ['*', 'run.*', 'run.jobs.*']) {
      const refused = await call('POST', path, { permissions: ['run.jobs.get', wild] });
      expect(refused.status).toBe(400);
      expect(refused.body.error.status).toBe('INVALID_ARGUMENT');
    }
  });

  it('deploying a job that runs as an account needs actAs on it', async () => {
    const stranger = await seedServiceAccount('conf-job-stranger', []);
    const res = await call(
      'POST',
      '/jobs?jobId=conf-job-actas',
      jobSpec('true', { serviceAccount: stranger }),
    );
    expect(res.status).toBe(403);
    expect(res.body.error.message).toContain('iam.serviceaccounts.actAs');
  });
});
