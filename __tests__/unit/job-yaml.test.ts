// The `metadata` input with a Cloud Run Job file (`kind: Job`, run.googleapis.com/v1, what `gcloud
// run jobs replace` takes): read as the v2 job Cloud Run makes of it (pinned to the emulator's v1
// jobs surface, which reads a body as Cloud Run does), every field Runway cannot deploy refused by
// name, and planned as a job deploy that starts from the file with the inputs on top.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { jobSpecFromV1 } from '../../emulator/run/v1-jobs.js';
import { KNATIVE_LABELS } from '../../emulator/run/render.js';
import { Deadline } from '../../src/common/deadline.js';
import { deployJobRegion, type JobApi } from '../../src/deploy/job.js';
import { planJob } from '../../src/deploy/job-plan.js';
import type { Job } from '../../src/gcp/run-types.js';
import { readSettings } from '../../src/inputs/inputs.js';
import { metadataWorkspace } from '../helpers/metadata-workspace.js';
import { jobFromKnative, readMetadataFile } from '../../src/inputs/job-yaml.js';
import { checkFileNamespace, ServiceYamlError } from '../../src/inputs/service-yaml.js';
import { jobChanges } from '../../src/rollout/jobs.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** What `gcloud run jobs describe --format export` writes for a job with Cloud SQL and a secret. */
const exported = (): Json => ({
  apiVersion: 'run.googleapis.com/v1',
  kind: 'Job',
  metadata: {
    name: 'migrate',
    namespace: 'runway-demo',
    uid: '5b1c0a4e-0000-4000-8000-000000000000',
    generation: 2,
    resourceVersion: 'AAYj',
    creationTimestamp: '2026-12-01T10:00:00Z',
    labels: { 'cloud.googleapis.com/location': 'us-central1', team: 'data' },
    annotations: {
      'run.googleapis.com/creator': 'deployer@runway-demo.iam.gserviceaccount.com',
      'run.googleapis.com/lastModifier': 'deployer@runway-demo.iam.gserviceaccount.com',
      'run.googleapis.com/operation-id': '0a1b2c',
      'run.googleapis.com/client-name': 'gcloud',
      'run.googleapis.com/client-version': '528.0.0',
      'run.googleapis.com/launch-stage': 'GA',
      'example.com/owner': 'data-team',
    },
  },
  spec: {
    template: {
      metadata: {
        labels: { step: 'migrate' },
        annotations: {
          'run.googleapis.com/client-name': 'gcloud',
          'run.googleapis.com/execution-environment': 'gen2',
          'run.googleapis.com/vpc-access-connector': 'my-connector',
          'run.googleapis.com/vpc-access-egress': 'private-ranges-only',
          'run.googleapis.com/cloudsql-instances': 'runway-demo:us-central1:db',
          'example.com/note': 'nightly',
        },
      },
      spec: {
        taskCount: 3,
        parallelism: 2,
        template: {
          spec: {
            containers: [
              {
                name: 'migrate',
                image: 'us-docker.pkg.dev/runway-demo/app/migrate:1',
                command: ['/bin/migrate'],
                args: ['--all'],
                env: [
                  { name: 'MODE', value: 'full' },
                  { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'token', key: 'latest' } } },
                ],
                resources: { limits: { cpu: '1000m', memory: '512Mi' } },
                volumeMounts: [{ name: 'conf', mountPath: '/etc/conf' }],
              },
            ],
            volumes: [
              { name: 'conf', secret: { secretName: 'conf', items: [{ key: '2', path: 'app.json' }] } },
            ],
            maxRetries: 1,
            timeoutSeconds: '900',
            serviceAccountName: 'runtime@runway-demo.iam.gserviceaccount.com',
          },
        },
      },
    },
  },
  status: { observedGeneration: 2, conditions: [{ type: 'Ready', status: 'True' }], executionCount: 4 },
});

const read = (doc: unknown): ReturnType<typeof jobFromKnative> => jobFromKnative(doc, 'job.yaml');

function refusal(doc: unknown): ServiceYamlError {
  try {
    read(doc);
  } catch (err) {
    if (err instanceof ServiceYamlError) return err;
    throw err;
  }
  throw new Error('accepted');
}

describe('a Cloud Run Job file, read as the v2 job it describes', () => {
  it('maps every field and annotation to its v2 field, and keeps the file’s own', () => {
    const file = read(exported());
    expect(file).toMatchObject({
      kind: 'Job',
      name: 'migrate',
      location: 'us-central1',
      namespace: 'runway-demo',
    });
    expect(file.job).toEqual({
      labels: { team: 'data' },
      annotations: { 'example.com/owner': 'data-team' },
      client: 'gcloud',
      clientVersion: '528.0.0',
      launchStage: 'GA',
      template: {
        labels: { step: 'migrate' },
        annotations: { 'example.com/note': 'nightly' },
        taskCount: 3,
        parallelism: 2,
        template: {
          containers: [
            {
              name: 'migrate',
              image: 'us-docker.pkg.dev/runway-demo/app/migrate:1',
              command: ['/bin/migrate'],
              args: ['--all'],
              env: [
                { name: 'MODE', value: 'full' },
                { name: 'TOKEN', valueSource: { secretKeyRef: { secret: 'token', version: 'latest' } } },
              ],
              resources: { limits: { cpu: '1000m', memory: '512Mi' } },
              volumeMounts: [
                { name: 'conf', mountPath: '/etc/conf' },
                { name: 'cloudsql', mountPath: '/cloudsql' },
              ],
            },
          ],
          volumes: [
            { name: 'conf', secret: { secret: 'conf', items: [{ version: '2', path: 'app.json' }] } },
            { name: 'cloudsql', cloudSqlInstance: { instances: ['runway-demo:us-central1:db'] } },
          ],
          maxRetries: 1,
          timeout: '900s',
          serviceAccount: 'runtime@runway-demo.iam.gserviceaccount.com',
          executionEnvironment: 'EXECUTION_ENVIRONMENT_GEN2',
          vpcAccess: { connector: 'my-connector', egress: 'PRIVATE_RANGES_ONLY' },
        },
      },
    });
  });

  // The emulator's v1 jobs surface reads a body as Cloud Run does: the same file, the same v2 job.
  it.each([
    ['an exported job', exported()],
    [
      'a minimal job',
      {
        apiVersion: 'run.googleapis.com/v1',
        kind: 'Job',
        metadata: { name: 'tiny' },
        spec: { template: { spec: { template: { spec: { containers: [{ image: 'r/app:1' }] } } } } },
      },
    ],
    [
      'a job with Direct VPC, CMEK, an NFS, a Cloud Storage and an in-memory volume and a numeric timeout',
      {
        apiVersion: 'run.googleapis.com/v1',
        kind: 'Job',
        metadata: { name: 'vols', labels: { a: 'b' } },
        spec: {
          template: {
            metadata: {
              annotations: {
                'run.googleapis.com/network-interfaces':
                  '[{"network":"default","subnetwork":"jobs","tags":["batch"]}]',
                'run.googleapis.com/vpc-access-egress': 'all-traffic',
                'run.googleapis.com/encryption-key': 'projects/p/locations/us/keyRings/r/cryptoKeys/k',
              },
            },
            spec: {
              taskCount: 10,
              template: {
                spec: {
                  timeoutSeconds: 120,
                  maxRetries: 0,
                  containers: [
                    {
                      image: 'r/app:1',
                      workingDir: '/work',
                      volumeMounts: [
                        { name: 'share', mountPath: '/mnt/share' },
                        { name: 'bucket', mountPath: '/mnt/bucket' },
                        { name: 'scratch', mountPath: '/scratch' },
                      ],
                    },
                  ],
                  volumes: [
                    { name: 'share', nfs: { server: '10.0.0.2', path: '/share', readOnly: true } },
                    {
                      name: 'bucket',
                      csi: {
                        driver: 'gcsfuse.run.googleapis.com',
                        readOnly: true,
                        volumeAttributes: { bucketName: 'my-bucket' },
                      },
                    },
                    { name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } },
                  ],
                },
              },
            },
          },
        },
      },
    ],
  ])('reads %s as Cloud Run does', (_name, doc) => {
    const { status: _status, ...body } = structuredClone(doc);
    const emulator = jobSpecFromV1(body) as Json;
    const { [KNATIVE_LABELS]: _v1Only, ...template } = emulator.template as Json;
    expect(read(doc).job).toEqual({ ...emulator, template });
  });

  it('reads the file by its kind: a Job file as a job, a Service file as a service', () => {
    const workspace = mkdtempSync(join(tmpdir(), 'runway-ws-'));
    writeFileSync(join(workspace, 'job.yaml'), stringify(exported()));
    const file = readMetadataFile('job.yaml', workspace);
    expect(file.kind).toBe('Job');
    expect(file.name).toBe('migrate');
  });
});

describe('a Job file Runway cannot deploy as it means is refused, naming the field', () => {
  const task = 'spec.template.spec.template.spec';
  const cases: Array<[string, (doc: Json) => unknown, string, RegExp?]> = [
    [
      'a Knative API',
      (d) => ({ ...d, apiVersion: 'serving.knative.dev/v1' }),
      'apiVersion',
      /run\.googleapis\.com\/v1/,
    ],
    ['no name', (d) => (delete d.metadata.name, d), 'metadata.name'],
    ['no template', (d) => (delete d.spec.template, d), 'spec.template'],
    ['an unknown top-level field', (d) => ({ ...d, extra: 1 }), 'extra', /gcloud run jobs replace/],
    ['a start token', (d) => ((d.spec.startExecutionToken = 'x'), d), 'spec.startExecutionToken'],
    ['an unknown metadata field', (d) => ((d.metadata.finalizers = ['x']), d), 'metadata.finalizers'],
    [
      'a Binary Authorization annotation',
      (d) => ((d.metadata.annotations['run.googleapis.com/binary-authorization'] = 'default'), d),
      'metadata.annotations["run.googleapis.com/binary-authorization"]',
      /documents for jobs/,
    ],
    [
      'a service annotation on the template',
      (d) => ((d.spec.template.metadata.annotations['autoscaling.knative.dev/maxScale'] = '3'), d),
      'spec.template.metadata.annotations["autoscaling.knative.dev/maxScale"]',
    ],
    [
      'CPU throttling, a service setting',
      (d) => ((d.spec.template.metadata.annotations['run.googleapis.com/cpu-throttling'] = 'false'), d),
      'spec.template.metadata.annotations["run.googleapis.com/cpu-throttling"]',
    ],
    [
      'an unknown execution environment',
      (d) => ((d.spec.template.metadata.annotations['run.googleapis.com/execution-environment'] = 'gen3'), d),
      'spec.template.metadata.annotations["run.googleapis.com/execution-environment"]',
      /expected one of gen1, gen2/,
    ],
    [
      'a prefixed label',
      (d) => ((d.metadata.labels['app.kubernetes.io/name'] = 'migrate'), d),
      'metadata.labels["app.kubernetes.io/name"]',
    ],
    [
      'a template name',
      (d) => ((d.spec.template.metadata.name = 'migrate-v2'), d),
      'spec.template.metadata.name',
    ],
    [
      'a task count that is no number',
      (d) => ((d.spec.template.spec.taskCount = 'three'), d),
      'spec.template.spec.taskCount',
    ],
    [
      'a node selector',
      (d) => ((d.spec.template.spec.template.spec.nodeSelector = { a: 'b' }), d),
      `${task}.nodeSelector`,
    ],
    [
      'a timeout that is no number',
      (d) => ((d.spec.template.spec.template.spec.timeoutSeconds = '10m'), d),
      `${task}.timeoutSeconds`,
    ],
    [
      'a port',
      (d) => ((d.spec.template.spec.template.spec.containers[0].ports = [{ containerPort: 8080 }]), d),
      `${task}.containers[0].ports`,
      /takes no requests/,
    ],
    [
      'a probe',
      (d) => (
        (d.spec.template.spec.template.spec.containers[0].startupProbe = { tcpSocket: { port: 8080 } }),
        d
      ),
      `${task}.containers[0].startupProbe`,
      /takes no probes/,
    ],
    [
      'envFrom',
      (d) => ((d.spec.template.spec.template.spec.containers[0].envFrom = [{ secretRef: { name: 's' } }]), d),
      `${task}.containers[0].envFrom`,
    ],
    [
      'resource requests',
      (d) => ((d.spec.template.spec.template.spec.containers[0].resources.requests = { cpu: '1' }), d),
      `${task}.containers[0].resources.requests`,
    ],
    [
      'a container without an image',
      (d) => (delete d.spec.template.spec.template.spec.containers[0].image, d),
      `${task}.containers[0].image`,
    ],
    ['no containers', (d) => ((d.spec.template.spec.template.spec.containers = []), d), `${task}.containers`],
    [
      'a host path volume',
      (d) => ((d.spec.template.spec.template.spec.volumes[0] = { name: 'h', hostPath: { path: '/' } }), d),
      `${task}.volumes[0].hostPath`,
    ],
    ['a list, not a job', () => [exported()], '(file)'],
  ];

  it.each(cases.map(([name, change, field, fix]) => ({ name, change, field, fix })))(
    '$name',
    ({ change, field, fix }) => {
      const err = refusal(change(exported()));
      expect(err.field).toBe(field);
      expect(err.input).toBe('metadata');
      expect(err.message).toContain(`Input 'metadata' ("job.yaml"): ${field}: `);
      if (fix) expect(`${err.message}\n${err.fix}`).toMatch(fix);
    },
  );
});

describe('the `metadata` input with a Job file, read with the others', () => {
  const { write, settings, fails } = metadataWorkspace('job.yaml', exported);

  it('deploys the job the file names, its image, and executes it as `wait` says', () => {
    const read1 = settings({ metadata: 'job.yaml', wait: 'true' });
    expect(read1.service).toBe('migrate');
    expect(read1.job).toMatchObject({ name: 'migrate', execute: 'wait', spec: {} });
    expect(read1.job?.file?.job.template.taskCount).toBe(3);
    expect(read1.serviceYaml).toBeUndefined();
    expect(read1.image).toEqual({ kind: 'prebuilt', ref: 'us-docker.pkg.dev/runway-demo/app/migrate:1' });
  });

  it('takes `image`, the job inputs and the job flags on top; `job` or `service` only as the file’s name', () => {
    const read1 = settings({
      metadata: 'job.yaml',
      job: 'migrate',
      image: 'r/app:2',
      tasks: '5',
      flags: '--max-retries=2 --execute-now',
    });
    expect(read1.image).toEqual({ kind: 'prebuilt', ref: 'r/app:2' });
    expect(read1.job).toMatchObject({ name: 'migrate', execute: 'start', spec: { tasks: 5, maxRetries: 2 } });
    expect(settings({ metadata: 'job.yaml', service: 'migrate' }).job?.name).toBe('migrate');
    expect(fails({ metadata: 'job.yaml', job: 'other' })).toMatch(
      /Input 'job' is invalid: got "other".*\n.*the job the `metadata` file names \("migrate"\)/,
    );
    expect(fails({ metadata: 'job.yaml', service: 'other' })).toContain("Input 'service' is invalid");
  });

  it('refuses the service inputs, a region or project the file contradicts, and a preview', () => {
    expect(fails({ metadata: 'job.yaml', tag: 'blue' })).toContain('nothing beside `job`');
    expect(fails({ metadata: 'job.yaml', region: 'europe-west1' })).toMatch(
      /metadata.labels\["cloud.googleapis.com\/location"\]: the file is a job of us-central1/,
    );
    expect(fails({ metadata: 'job.yaml', project_id: 'other-project' })).toMatch(
      /metadata.namespace: the file is a job of project "runway-demo"/,
    );
    expect(fails({ metadata: 'job.yaml', preview: 'true' })).toContain('replaces the whole job');
  });

  it('refuses a name that is no job name, quoted', () => {
    const doc = exported();
    doc.metadata.name = 'Bad Name\n<img>';
    write(doc);
    const message = fails({ metadata: 'job.yaml' });
    expect(message).toContain('metadata.name: not a Cloud Run job name');
    expect(message).not.toMatch(/\n<img>/);
  });

  it('checks the namespace against the project deployed to, naming the job', async () => {
    const file = settings({ metadata: 'job.yaml' }).job!.file!;
    await expect(
      checkFileNamespace(
        file,
        'runway-demo',
        async () => '1',
        () => {},
      ),
    ).resolves.toBeUndefined();
    await expect(
      checkFileNamespace(
        file,
        'other',
        async () => '1',
        () => {},
      ),
    ).rejects.toThrow('the file is a job of project "runway-demo"');
  });
});

describe('planning a job deploy from a file', () => {
  const image = 'us-docker.pkg.dev/p/r/app@sha256:' + 'a'.repeat(64);
  const workspace = mkdtempSync(join(tmpdir(), 'runway-ws-'));
  writeFileSync(join(workspace, 'job.yaml'), stringify(exported()));
  const plan = (inputs: Record<string, string>, live: Job | undefined): Job => {
    const saved = process.env.GITHUB_WORKSPACE;
    process.env.GITHUB_WORKSPACE = workspace;
    try {
      const s = readSettings(
        (name) => ({ metadata: 'job.yaml', region: 'us-central1', ...inputs })[name] ?? '',
      );
      const ref = { project: 'runway-demo', region: 'us-central1', job: 'migrate' };
      return planJob(live, jobChanges(s, s.job!, ref, image, 'ABC'));
    } finally {
      if (saved === undefined) delete process.env.GITHUB_WORKSPACE;
      else process.env.GITHUB_WORKSPACE = saved;
    }
  };
  const live: Job = {
    name: 'projects/runway-demo/locations/us-central1/jobs/migrate',
    etag: '"live-etag"',
    labels: { old: 'label' },
    annotations: { old: 'x' },
    template: {
      taskCount: 9,
      template: {
        maxRetries: 5,
        serviceAccount: 'old@runway-demo.iam.gserviceaccount.com',
        containers: [{ image: 'old', env: [{ name: 'OLD', value: '1' }] }],
      },
    },
  };

  it('replaces the live job with the file, keeping only its etag', () => {
    const planned = plan({ skip_default_labels: 'true' }, live);
    expect(planned.etag).toBe('"live-etag"');
    expect(planned.name).toBeUndefined();
    expect(planned.labels).toEqual({ team: 'data' });
    expect(planned.annotations).toEqual({ 'example.com/owner': 'data-team' });
    expect(planned.template.taskCount).toBe(3);
    expect(planned.template.template.maxRetries).toBe(1);
    expect(planned.template.template.serviceAccount).toBe('runtime@runway-demo.iam.gserviceaccount.com');
    expect(planned.template.template.containers?.[0]?.env?.map((e) => e.name)).toEqual(['MODE', 'TOKEN']);
    // A connector the file names alone is the region's.
    expect(planned.template.template.vpcAccess?.connector).toBe(
      'projects/runway-demo/locations/us-central1/connectors/my-connector',
    );
    expect(planned.template.template.containers?.[0]?.image).toBe(image);
  });

  it('applies the inputs on top: labels, env and secrets merge into the file’s, job settings replace', () => {
    const planned = plan(
      {
        labels: 'tier=batch',
        env_vars: 'MODE=quick,EXTRA=1',
        secrets: 'API_KEY=api:3',
        tasks: '7',
        task_timeout: '5m',
        runtime_service_account: 'other@runway-demo.iam.gserviceaccount.com',
      },
      undefined,
    );
    expect(planned.etag).toBeUndefined();
    expect(planned.labels).toMatchObject({ team: 'data', tier: 'batch', 'managed-by': 'github-actions' });
    expect(planned.template.labels).toMatchObject({ step: 'migrate', tier: 'batch' });
    expect(planned.template.taskCount).toBe(7);
    expect(planned.template.parallelism).toBe(2);
    expect(planned.template.template.timeout).toBe('300s');
    expect(planned.template.template.serviceAccount).toBe('other@runway-demo.iam.gserviceaccount.com');
    const env = Object.fromEntries(
      (planned.template.template.containers?.[0]?.env ?? []).map((e) => [e.name, e.value ?? e.valueSource]),
    );
    expect(env).toEqual({
      MODE: 'quick',
      EXTRA: '1',
      TOKEN: { secretKeyRef: { secret: 'token', version: 'latest' } },
      API_KEY: { secretKeyRef: { secret: 'api', version: '3' } },
    });
    // The file's secret volume stays beside the inputs'.
    expect(planned.template.template.volumes?.map((v) => v.name)).toEqual(
      expect.arrayContaining(['conf', 'cloudsql']),
    );
  });

  it('puts the live job back, whole, when the change the file made fails, as any job deploy', async () => {
    const sent: Job[] = [];
    let stored: Job | undefined = live;
    const api: JobApi = {
      getJob: async () => stored,
      createJob: async () => ({ name: 'op/create', done: true }),
      updateJob: async (_ref, job) => {
        sent.push(job);
        stored = job;
        return sent.length === 1
          ? { name: 'op/update', done: true, error: { code: 3, message: 'bad spec' } }
          : { name: 'op/update', done: true };
      },
      deleteJob: async () => undefined,
      runJob: async () => {
        throw new Error('nothing runs after a failed change');
      },
      getExecution: async () => ({}),
      listTasks: async () => [],
      waitOperation: (async (op: unknown) => op) as JobApi['waitOperation'],
    };
    const ref = { project: 'runway-demo', region: 'us-central1', job: 'migrate' };
    await expect(
      deployJobRegion(
        api,
        ref,
        (l) => plan({ wait: 'true' }, l),
        'wait',
        Deadline.in(60),
        () => undefined,
      ),
    ).rejects.toThrow(/bad spec/);
    expect(sent[0]!.template.taskCount).toBe(3);
    const { name: _output, ...before } = live;
    expect(sent[1]).toEqual(before);
  });

  it('replaces the file’s secrets with `secrets_update_strategy: overwrite`', () => {
    const planned = plan({ secrets: 'API_KEY=api:3', secrets_update_strategy: 'overwrite' }, undefined);
    const secrets = (planned.template.template.containers?.[0]?.env ?? [])
      .filter((e) => e.valueSource)
      .map((e) => e.name);
    expect(secrets).toEqual(['API_KEY']);
  });
});
