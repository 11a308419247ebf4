// deploy-cloudrun's `metadata` side by side: the same Knative Service YAML given to the installed
// `gcloud run services replace` (what deploy-cloudrun runs) and to Runway's `metadata`, each against
// the emulator, make the same v2 service: the conversion Runway does itself is Cloud Run's. The same
// for a Cloud Run Job file (Direct VPC egress included) and `gcloud run jobs replace`, created and
// then replaced, and executed.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { authInputs, expectSuccess, runAction } from '../helpers/action.js';
import { accessTokenFor } from '../helpers/auth.js';
import { answer, getService } from '../helpers/cloudrun.js';
import { admin, env } from '../helpers/emulator.js';
import { gcloud, gcloudSuite } from '../helpers/gcloud.js';
import { pushJobImage, pushTestImage } from '../helpers/images.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const suite = gcloudSuite('gcloud run services replace differential');

const file = (name: string, image: string, split?: { revision: string; traffic: Json[] }): string => {
  const doc: Json = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: {
      name,
      labels: { team: 'web' },
      annotations: {
        'run.googleapis.com/ingress': 'all',
        'run.googleapis.com/description': 'side by side',
        'run.googleapis.com/invoker-iam-disabled': 'true',
        'example.com/owner': 'web-team',
      },
    },
    spec: {
      template: {
        metadata: {
          labels: { tier: 'front' },
          annotations: {
            'autoscaling.knative.dev/minScale': '0',
            'autoscaling.knative.dev/maxScale': '4',
            'run.googleapis.com/cpu-throttling': 'false',
            'run.googleapis.com/startup-cpu-boost': 'true',
            'run.googleapis.com/execution-environment': 'gen2',
          },
        },
        spec: {
          containerConcurrency: 30,
          timeoutSeconds: 90,
          containers: [
            {
              image,
              ports: [{ name: 'http1', containerPort: 8080 }],
              env: [{ name: 'MODE', value: 'file' }],
              resources: { limits: { cpu: '1', memory: '256Mi' } },
              startupProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1, failureThreshold: 30 },
            },
          ],
        },
      },
      traffic: [{ latestRevision: true, percent: 100 }],
    },
  };
  if (split) {
    doc.spec.template.metadata.name = split.revision;
    doc.spec.traffic = split.traffic;
  }
  const path = join(mkdtempSync(join(tmpdir(), 'runway-replace-')), 'service.yaml');
  writeFileSync(path, stringify(doc));
  return path;
};

/** What the file decides, without what names or counts the service (name, uid, revisions, times). */
function comparable(service: Json): Json {
  const { revision: _revision, ...template } = service.template as Json;
  const annotations = Object.fromEntries(
    Object.entries((service.annotations ?? {}) as Json).filter(([k]) => !k.startsWith('runway.dev/')),
  );
  return {
    labels: service.labels,
    annotations,
    ingress: service.ingress,
    description: service.description,
    invokerIamDisabled: service.invokerIamDisabled,
    scaling: service.scaling,
    launchStage: service.launchStage,
    template,
  };
}

suite('gcloud run services replace and Runway’s metadata, side by side', () => {
  it('make the same service of the same file', async () => {
    const image = await pushTestImage('gc-replace-app', 'same file');
    const replaced = await gcloud([
      'run',
      'services',
      'replace',
      file('gc-replace-gcloud', image),
      '--region=us-central1',
      '--quiet',
    ]);
    expect(replaced.stderr).toContain('New configuration has been applied');
    expect(replaced.code).toBe(0);
    const run = await runAction({
      ...authInputs(),
      metadata: file('gc-replace-runway', image),
      // deploy-cloudrun adds no labels to a replace.
      skip_default_labels: 'true',
      health_check_timeout: '20s',
      health_check_successes: '2',
    });
    expectSuccess(run);
    const theirs = (await getService('gc-replace-gcloud')) as Json;
    const ours = (await getService('gc-replace-runway')) as Json;
    expect(comparable(ours)).toEqual(comparable(theirs));
    expect(await answer(ours.uri as string)).toBe('200 same file');
    expect(await answer(theirs.uri as string)).toBe('200 same file');
  });

  it('move traffic as the file’s spec.traffic says: a revision by name, the latest one, and tags', async () => {
    const image = await pushTestImage('gc-replace-split', 'split file');
    const first = (name: string): string => file(name, image, { revision: `${name}-one`, traffic: [] });
    const second = (name: string): string =>
      file(name, image, {
        revision: `${name}-two`,
        traffic: [
          { revisionName: `${name}-one`, percent: 60, tag: 'old' },
          { latestRevision: true, percent: 40, tag: 'new' },
          { revisionName: `${name}-one`, tag: 'again' },
        ],
      });
    const replace = async (path: string): Promise<void> => {
      const run = await gcloud(['run', 'services', 'replace', path, '--region=us-central1', '--quiet']);
      expect(run.stderr).toContain('New configuration has been applied');
    };
    const deploy = async (path: string): Promise<void> =>
      expectSuccess(
        await runAction({
          ...authInputs(),
          metadata: path,
          skip_default_labels: 'true',
          health_check_timeout: '20s',
          health_check_successes: '2',
        }),
      );
    await replace(first('gc-split-gcloud'));
    await replace(second('gc-split-gcloud'));
    await deploy(first('gc-split-runway'));
    await deploy(second('gc-split-runway'));
    // Per revision (named after its service), its share and its tags: Runway names the new revision
    // where gcloud leaves LATEST, and keeps a tag on an entry of its own.
    const traffic = async (name: string): Promise<Json> => {
      const service = (await getService(name)) as Json;
      const latest = String(service.latestReadyRevision).split('/').pop();
      const out: Json = {};
      for (const t of service.trafficStatuses as Json[]) {
        const revision = String(t.type === 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST' ? latest : t.revision);
        const entry = (out[revision.slice(name.length + 1)] ??= { percent: 0, tags: [] });
        entry.percent += t.percent ?? 0;
        if (t.tag) entry.tags.push(t.tag);
      }
      for (const entry of Object.values(out)) entry.tags.sort();
      return out;
    };
    const theirs = await traffic('gc-split-gcloud');
    expect(theirs).toEqual({
      one: { percent: 60, tags: ['again', 'old'] },
      two: { percent: 40, tags: ['new'] },
    });
    expect(await traffic('gc-split-runway')).toEqual(theirs);
  });
});

const jobFile = (name: string, image: string, taskCount: number): string => {
  const doc = {
    apiVersion: 'run.googleapis.com/v1',
    kind: 'Job',
    metadata: {
      name,
      labels: { team: 'data' },
      annotations: { 'example.com/owner': 'data-team' },
    },
    spec: {
      template: {
        metadata: {
          labels: { step: 'migrate' },
          annotations: {
            'run.googleapis.com/execution-environment': 'gen2',
            'run.googleapis.com/network-interfaces': '[{"network":"default","subnetwork":"default"}]',
            'run.googleapis.com/vpc-access-egress': 'private-ranges-only',
            'example.com/note': 'nightly',
          },
        },
        spec: {
          taskCount,
          parallelism: 1,
          template: {
            spec: {
              containers: [
                {
                  image,
                  args: [
                    'echo "task $CLOUD_RUN_TASK_INDEX of $CLOUD_RUN_TASK_COUNT mode=$MODE secret=$GREETING"',
                  ],
                  env: [
                    { name: 'MODE', value: 'file' },
                    { name: 'GREETING', valueFrom: { secretKeyRef: { name: 'greeting', key: 'latest' } } },
                  ],
                  resources: { limits: { cpu: '1', memory: '256Mi' } },
                },
              ],
              maxRetries: 1,
              // An exported file quotes this int64; gcloud and Runway read either.
              timeoutSeconds: '120',
              serviceAccountName: env('RUNWAY_EMULATOR_RUNTIME_SERVICE_ACCOUNT'),
            },
          },
        },
      },
    },
  };
  const path = join(mkdtempSync(join(tmpdir(), 'runway-replace-')), 'job.yaml');
  writeFileSync(path, stringify(doc));
  return path;
};

async function getJob(id: string): Promise<Json> {
  const res = await fetch(
    `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/projects/${env('RUNWAY_EMULATOR_PROJECT')}/locations/us-central1/jobs/${id}`,
    { headers: { authorization: `Bearer ${await accessTokenFor()}` } },
  );
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
}

/** What the file decides of a job, without what names or counts it, or the client that wrote it. */
function comparableJob(job: Json): Json {
  return {
    labels: job.labels,
    annotations: job.annotations,
    launchStage: job.launchStage,
    template: job.template,
  };
}

/** The lines an execution's tasks wrote, as the emulator kept them, in task order. */
async function outputOf(job: string): Promise<string[]> {
  const state = (await admin.state()) as Json;
  const found = (state.run.jobs as Json[]).find((j) => (j.name as string).endsWith(`/jobs/${job}`));
  const execution = ((found?.executions ?? []) as Json[]).at(-1);
  return ((execution?.output ?? []) as Json[]).map((l) => l.text as string).sort();
}

suite('gcloud run jobs replace and Runway’s metadata, side by side', () => {
  it('make the same job of the same file, created and then replaced, which runs the same', async () => {
    const image = await pushJobImage('gc-replace-job');
    const replace = (taskCount: number): Promise<Awaited<ReturnType<typeof gcloud>>> =>
      gcloud([
        'run',
        'jobs',
        'replace',
        jobFile('gc-jreplace-gcloud', image, taskCount),
        '--region=us-central1',
        '--quiet',
      ]);
    // deploy-cloudrun adds no labels to a replace.
    const deploy = (taskCount: number, inputs: Record<string, string> = {}): ReturnType<typeof runAction> =>
      runAction({
        ...authInputs(),
        metadata: jobFile('gc-jreplace-runway', image, taskCount),
        skip_default_labels: 'true',
        ...inputs,
      });

    const created = await replace(1);
    expect(created.stderr).toContain('has been successfully created');
    expect(created.code).toBe(0);
    expectSuccess(await deploy(1));
    expect(comparableJob(await getJob('gc-jreplace-runway'))).toEqual(
      comparableJob(await getJob('gc-jreplace-gcloud')),
    );

    // Both jobs exist now: each replaces its own, by PUT (gcloud) and by UpdateJob (Runway).
    const updated = await replace(2);
    expect(updated.stderr).toContain('has been successfully updated');
    expect(updated.code).toBe(0);
    const ran = await deploy(2, { wait: 'true' });
    expectSuccess(ran);
    const ours = await getJob('gc-jreplace-runway');
    const theirs = await getJob('gc-jreplace-gcloud');
    expect(comparableJob(ours)).toEqual(comparableJob(theirs));
    expect(ours.template.taskCount).toBe(2);
    expect(ours.template.template.vpcAccess).toEqual({
      networkInterfaces: [{ network: 'default', subnetwork: 'default' }],
      egress: 'PRIVATE_RANGES_ONLY',
    });
    expect(ours.generation).toBe('2');

    const executed = await gcloud([
      'run',
      'jobs',
      'execute',
      'gc-jreplace-gcloud',
      '--wait',
      '--region=us-central1',
    ]);
    expect(executed.code).toBe(0);
    expect([ran.outputs.tasks_succeeded, ran.outputs.tasks_failed]).toEqual(['2', '0']);
    const lines = [
      'task 0 of 2 mode=file secret=hello from Secret Manager',
      'task 1 of 2 mode=file secret=hello from Secret Manager',
    ];
    expect(await outputOf('gc-jreplace-runway')).toEqual(lines);
    expect(await outputOf('gc-jreplace-gcloud')).toEqual(lines);
  });
});
