import { readSettings } from '../../src/inputs/inputs.js';
import { InputErrors, RunwayError } from '../../src/errors.js';
import { planJob, type JobChanges } from '../../src/deploy/job-plan.js';
const plan = (changes: JobChanges) => (live: Job | undefined) => planJob(live, changes);
import { jobChanges } from '../../src/rollout/jobs.js';
import type { Job } from '../../src/gcp/run-types.js';
import { deployJobRegion, type JobApi } from '../../src/deploy/job.js';
import { Deadline } from '../../src/common/deadline.js';
import { Untrusted } from '../../src/common/untrusted.js';
import { planReleaseJob } from '../../src/rollout/release.js';

function reader(values: Record<string, string>): (name: string) => string {
  return (name) => values[name] ?? '';
}

const image = 'us-docker.pkg.dev/p/r/app@sha256:' + 'a'.repeat(64);
const job = { job: 'migrate', image: 'us-docker.pkg.dev/p/r/app:1' };

function changesFor(values: Record<string, string>): JobChanges {
  const settings = readSettings(reader(values));
  return jobChanges(
    settings,
    settings.job!,
    { project: 'proj', region: 'us-central1', job: 'migrate' },
    image,
    'ABC',
  );
}

describe('job inputs', () => {
  it('reads `job` and its settings from inputs; `wait` executes and waits', () => {
    const s = readSettings(
      reader({ ...job, tasks: '3', parallelism: '2', max_retries: '1', task_timeout: '5m', wait: 'true' }),
    );
    expect(s.service).toBe('migrate');
    expect(s.job).toEqual({
      name: 'migrate',
      spec: { tasks: 3, parallelism: 2, maxRetries: 1, taskTimeoutSeconds: 300 },
      execute: 'wait',
    });
  });

  it("reads the same settings from gcloud's flags; --wait implies --execute-now, --execute-now alone starts", () => {
    const fromFlags = readSettings(
      reader({
        ...job,
        flags: '--tasks=3 --parallelism 2 --max-retries=1 --task-timeout=5m --wait --args=a,b',
      }),
    );
    expect(fromFlags.job).toEqual({
      name: 'migrate',
      spec: { tasks: 3, parallelism: 2, maxRetries: 1, taskTimeoutSeconds: 300 },
      execute: 'wait',
    });
    expect(fromFlags.spec.args).toEqual(['a', 'b']);
    expect(readSettings(reader({ ...job, flags: '--execute-now' })).job?.execute).toBe('start');
    expect(readSettings(reader({ ...job, execute: 'true' })).job?.execute).toBe('start');
    expect(readSettings(reader(job)).job?.execute).toBe('none');
  });

  it('reports every bad job input at once', () => {
    let thrown: unknown;
    try {
      readSettings(
        reader({
          ...job,
          service: 'web',
          tasks: '0',
          max_retries: '11',
          task_timeout: 'soon',
          port: '8080',
          tag: 'blue',
          flags: '--min-instances=1',
        }),
      );
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(InputErrors);
    const said = (thrown as InputErrors).problems.map((p) => p.message).join('\n');
    for (const name of ['service', 'tasks', 'max_retries', 'task_timeout', 'port', 'tag'])
      expect(said).toContain(`'${name}'`);
    expect(said).toContain('--min-instances');
  });

  it('refuses job settings without `job`, and a flag and an input that disagree', () => {
    expect(() => readSettings(reader({ service: 'web', image: job.image, tasks: '2' }))).toThrow(/'tasks'/);
    expect(() => readSettings(reader({ service: 'web', image: job.image, flags: '--tasks=2' }))).toThrow(
      RunwayError,
    );
    expect(() => readSettings(reader({ ...job, tasks: '2', flags: '--tasks=3' }))).toThrow(
      /'tasks' and `flags`/,
    );
    // deploy-cloudrun ignores `wait` for a service; so does Runway.
    expect(readSettings(reader({ service: 'web', image: job.image, wait: 'true' })).job).toBeUndefined();
  });
});

describe('planJob', () => {
  it('makes a new job from the inputs: image, env, secrets, account, VPC, Cloud SQL and the job settings', () => {
    const planned = planJob(
      undefined,
      changesFor({
        ...job,
        env_vars: 'A=1',
        secrets: 'DB_PASS=db-pass:latest',
        runtime_service_account: 'runner@proj.iam.gserviceaccount.com',
        vpc_connector: 'conn',
        cloudsql_instances: 'proj:us-central1:db',
        labels: 'team=data',
        cpu: '1',
        flags: '--tasks 4 --parallelism 2 --max-retries 0 --task-timeout 1h',
      }),
    );
    expect(planned).toEqual({
      labels: { 'managed-by': 'github-actions', 'commit-sha': 'abc', team: 'data' },
      template: {
        labels: { 'managed-by': 'github-actions', 'commit-sha': 'abc', team: 'data' },
        taskCount: 4,
        parallelism: 2,
        template: {
          containers: [
            {
              image,
              env: [
                { name: 'A', value: '1' },
                { name: 'DB_PASS', valueSource: { secretKeyRef: { secret: 'db-pass', version: 'latest' } } },
              ],
              resources: { limits: { cpu: '1' } },
              volumeMounts: [{ name: 'cloudsql', mountPath: '/cloudsql' }],
            },
          ],
          volumes: [{ name: 'cloudsql', cloudSqlInstance: { instances: ['proj:us-central1:db'] } }],
          serviceAccount: 'runner@proj.iam.gserviceaccount.com',
          vpcAccess: { connector: 'projects/proj/locations/us-central1/connectors/conn' },
          maxRetries: 0,
          timeout: '3600s',
        },
      },
    });
  });

  it("replaces secrets as deploy-cloudrun's job path does, merges env vars and labels, and keeps the rest", () => {
    const live: Job = {
      name: 'projects/proj/locations/us-central1/jobs/migrate',
      etag: 'e1',
      labels: { old: 'x', 'run.googleapis.com/x': 'y' },
      latestCreatedExecution: { name: 'migrate-abc' },
      template: {
        taskCount: 2,
        template: {
          containers: [
            {
              image: 'old',
              env: [
                { name: 'KEEP', value: 'k' },
                { name: 'OLD_SECRET', valueSource: { secretKeyRef: { secret: 's', version: '1' } } },
              ],
            },
          ],
          maxRetries: 3,
        },
      },
    };
    const planned = planJob(
      live,
      changesFor({ ...job, env_vars: 'A=1', secrets: 'NEW=n:2', skip_default_labels: 'true' }),
    );
    expect(planned.name).toBeUndefined();
    expect(planned.latestCreatedExecution).toBeUndefined();
    expect(planned.etag).toBe('e1');
    expect(planned.labels).toEqual({ old: 'x', 'run.googleapis.com/x': 'y' });
    expect(planned.template.taskCount).toBe(2);
    expect(planned.template.template.maxRetries).toBe(3);
    expect(planned.template.template.containers?.[0]?.env).toEqual([
      { name: 'KEEP', value: 'k' },
      { name: 'A', value: '1' },
      { name: 'NEW', valueSource: { secretKeyRef: { secret: 'n', version: '2' } } },
    ]);
  });
});

describe('deployJobRegion', () => {
  const ref = { project: 'proj', region: 'us-central1', job: 'migrate' };
  const live: Job = { etag: 'e1', template: { template: { containers: [{ image: 'old' }] } } };

  function fakeApi(options: { updateFails?: boolean; failedTasks?: number }) {
    const calls: string[] = [];
    let stored: Job | undefined = live;
    const api: JobApi = {
      getJob: async () => stored,
      createJob: async () => ({ name: 'op/create', done: true }),
      updateJob: async (_ref, job) => {
        calls.push(`update ${job.template.template.containers?.[0]?.image}`);
        stored = job;
        return options.updateFails && calls.length === 1
          ? { name: 'op/update', done: true, error: { code: 3, message: 'bad spec' } }
          : { name: 'op/update', done: true };
      },
      deleteJob: async () => undefined,
      runJob: async () => ({
        name: 'op/run',
        done: false,
        metadata: { name: 'projects/proj/locations/us-central1/jobs/migrate/executions/migrate-x1' },
      }),
      getExecution: async () => ({}),
      listTasks: async () => [{ index: 0, lastAttemptResult: { exitCode: options.failedTasks ? 3 : 0 } }],
      waitOperation: (async (op: { name: string }) =>
        op.name === 'op/run'
          ? {
              name: 'op/run',
              done: true,
              response: {
                taskCount: 2,
                succeededCount: 2 - (options.failedTasks ?? 0),
                failedCount: options.failedTasks ?? 0,
              },
            }
          : op) as JobApi['waitOperation'],
    };
    return { api, calls };
  }

  it('executes and waits, and reports the task counts', async () => {
    const { api } = fakeApi({});
    const outcome = await deployJobRegion(
      api,
      ref,
      plan(changesFor(job)),
      'wait',
      Deadline.in(60),
      () => undefined,
    );
    expect(outcome).toMatchObject({
      execution: 'migrate-x1',
      tasks: { total: 2, succeeded: 2, failed: 0, cancelled: 0 },
      failure: undefined,
    });
    expect(outcome.executionUrl).toContain('/executions/details/us-central1/migrate-x1');
  });

  it("fails the region when a task fails, and carries the execution's read logs in its outcome", async () => {
    const { api } = fakeApi({ failedTasks: 1 });
    const logged: string[] = [];
    const read = {
      source: 'execution' as const,
      name: 'migrate-x1',
      lines: [Untrusted.of('the task broke')],
      logUri: undefined,
      unread: undefined,
    };
    const outcome = await deployJobRegion(
      api,
      ref,
      plan(changesFor(job)),
      'wait',
      Deadline.in(60),
      () => undefined,
      async (_r, e) => {
        logged.push(e);
        return read;
      },
    );
    expect(outcome.failure).toMatch(/1 of 2 task\(s\) failed, 0 cancelled \(exit code 3\)/);
    expect(logged).toEqual(['migrate-x1']);
    expect(outcome.logs).toBe(read);
  });

  it('prints an execution name Cloud Run gave through the log escaper, never as a command', async () => {
    const { api } = fakeApi({ failedTasks: 1 });
    const forged = 'projects/proj/locations/us-central1/jobs/migrate/executions/x\n::error::forged';
    api.runJob = async () => ({ name: 'op/run', done: false, metadata: { name: forged } });
    const lines: string[] = [];
    const outcome = await deployJobRegion(api, ref, plan(changesFor(job)), 'wait', Deadline.in(60), (line) =>
      lines.push(line),
    );
    expect(lines.join('\n')).toContain('x⏎::error::forged');
    expect(lines.join('\n')).not.toMatch(/^::error::/m);
    expect(outcome.failure).not.toMatch(/\n/);
  });

  it('puts the previous spec back when the update fails, and executes nothing', async () => {
    const { api, calls } = fakeApi({ updateFails: true });
    await expect(
      deployJobRegion(api, ref, plan(changesFor(job)), 'wait', Deadline.in(60), () => undefined),
    ).rejects.toThrow(/bad spec/);
    expect(calls).toEqual([`update ${image}`, 'update old']);
  });
});

describe('release_command', () => {
  const service = { service: 'api', image: 'us-docker.pkg.dev/p/r/app:1' };

  it('splits the command and its arguments into words, without a shell', () => {
    const s = readSettings(
      reader({ ...service, release_command: 'alembic upgrade head', release_args: `--sql "two words"` }),
    );
    expect(s.release).toEqual({
      command: ['alembic', 'upgrade', 'head'],
      args: ['--sql', 'two words'],
      timeoutSeconds: 600,
    });
  });

  it('is refused beside `job` and for a preview, and its companions without it, all at once', () => {
    expect(() => readSettings(reader({ ...job, release_command: 'migrate' }))).toThrow(/'release_command'/);
    expect(() => readSettings(reader({ ...service, preview: 'true', release_command: 'migrate' }))).toThrow(
      /'release_command'/,
    );
    let thrown: unknown;
    try {
      readSettings(reader({ ...service, release_args: 'x', release_timeout: '5m' }));
    } catch (err) {
      thrown = err;
    }
    expect((thrown as InputErrors).problems.map((p) => p.message).join('\n')).toMatch(
      /'release_args'[\s\S]*'release_timeout'/,
    );
  });

  it("runs with the new revision's image, env, secrets, account, VPC and Cloud SQL, once and without retry", () => {
    const planned = {
      template: {
        serviceAccount: 'runner@p.iam.gserviceaccount.com',
        vpcAccess: { connector: 'projects/p/locations/r/connectors/c' },
        containers: [
          { image: 'sidecar' },
          {
            image,
            ports: [{ containerPort: 8080 }],
            env: [{ name: 'A', value: '1' }],
            volumeMounts: [{ name: 'cloudsql', mountPath: '/cloudsql' }],
            startupProbe: { tcpSocket: {} },
          },
        ],
        volumes: [
          { name: 'cloudsql', cloudSqlInstance: { instances: ['p:r:db'] } },
          { name: 'other', emptyDir: {} },
        ],
        scaling: { minInstanceCount: 1 },
      },
    };
    const release = { command: ['migrate'], args: undefined, timeoutSeconds: 120 };
    expect(planReleaseJob(planned, release, { team: 'a' })).toEqual({
      labels: { team: 'a' },
      template: {
        labels: { team: 'a' },
        taskCount: 1,
        parallelism: 1,
        template: {
          containers: [
            {
              image,
              command: ['migrate'],
              env: [{ name: 'A', value: '1' }],
              volumeMounts: [{ name: 'cloudsql', mountPath: '/cloudsql' }],
            },
          ],
          volumes: [{ name: 'cloudsql', cloudSqlInstance: { instances: ['p:r:db'] } }],
          serviceAccount: 'runner@p.iam.gserviceaccount.com',
          vpcAccess: { connector: 'projects/p/locations/r/connectors/c' },
          maxRetries: 0,
          timeout: '120s',
        },
      },
    });
  });
});
