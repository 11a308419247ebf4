// The `metadata` input's reading: a Knative Service YAML as the v2 service Cloud Run makes of it
// (pinned to the emulator's v1 surface, which answers as Cloud Run does), and every file Runway
// cannot deploy as it means refused with the field at fault.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { specFromKnative } from '../../emulator/run/knative.js';
import { planService } from '../../src/deploy/plan.js';
import { serviceSettings, settingsRestore } from '../../src/deploy/service-settings.js';
import type { Service } from '../../src/gcp/run-types.js';
import type { Settings } from '../../src/inputs/inputs.js';
import { metadataWorkspace } from '../helpers/metadata-workspace.js';
import { checkFileNamespace, serviceFromKnative, ServiceYamlError } from '../../src/inputs/service-yaml.js';
import { readMetadataFile } from '../../src/inputs/job-yaml.js';
import { PLANNED_IMAGE, serviceChanges } from '../helpers/service-changes.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** What `gcloud run services describe --format export` writes for a service with a sidecar. */
const exported = (): Json => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: {
    name: 'hello',
    namespace: 'runway-demo',
    uid: '5b1c0a4e-0000-4000-8000-000000000000',
    generation: 3,
    creationTimestamp: '2026-12-01T10:00:00Z',
    labels: { 'cloud.googleapis.com/location': 'us-central1', team: 'web' },
    annotations: {
      'serving.knative.dev/creator': 'deployer@runway-demo.iam.gserviceaccount.com',
      'run.googleapis.com/ingress': 'internal-and-cloud-load-balancing',
      'run.googleapis.com/ingress-status': 'internal-and-cloud-load-balancing',
      'run.googleapis.com/description': 'the hello service',
      'run.googleapis.com/invoker-iam-disabled': 'true',
      'run.googleapis.com/minScale': '1',
      'example.com/owner': 'web-team',
    },
  },
  spec: {
    template: {
      metadata: {
        name: 'hello-v7',
        labels: { 'client.knative.dev/nonce': 'abcdef', tier: 'front' },
        annotations: {
          'autoscaling.knative.dev/minScale': '2',
          'autoscaling.knative.dev/maxScale': '10',
          'run.googleapis.com/cpu-throttling': 'false',
          'run.googleapis.com/startup-cpu-boost': 'True',
          'run.googleapis.com/execution-environment': 'gen2',
          'run.googleapis.com/vpc-access-connector': 'my-connector',
          'run.googleapis.com/vpc-access-egress': 'private-ranges-only',
          'run.googleapis.com/cloudsql-instances': 'runway-demo:us-central1:db',
          'run.googleapis.com/container-dependencies': '{"app":["proxy"]}',
          'run.googleapis.com/client-name': 'gcloud',
        },
      },
      spec: {
        containerConcurrency: 40,
        timeoutSeconds: 120,
        serviceAccountName: 'runtime@runway-demo.iam.gserviceaccount.com',
        containers: [
          {
            name: 'app',
            image: 'us-docker.pkg.dev/runway-demo/app/hello:1',
            ports: [{ name: 'http1', containerPort: 8080 }],
            env: [
              { name: 'MODE', value: 'prod' },
              { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'token', key: 'latest' } } },
            ],
            resources: { limits: { cpu: '1', memory: '512Mi' }, requests: {} },
            volumeMounts: [{ name: 'cache', mountPath: '/cache' }],
            startupProbe: { tcpSocket: { port: 8080 }, periodSeconds: 2, failureThreshold: 30 },
          },
          {
            name: 'proxy',
            image: 'us-docker.pkg.dev/runway-demo/app/proxy:1',
            resources: { limits: { cpu: '500m', memory: '256Mi' } },
          },
        ],
        volumes: [{ name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } }],
      },
    },
    traffic: [{ latestRevision: true, percent: 100 }],
  },
  status: { url: 'https://hello-abc-uc.a.run.app', conditions: [] },
});

const read = (doc: unknown): ReturnType<typeof serviceFromKnative> => serviceFromKnative(doc, 'service.yaml');

function refusal(doc: unknown): ServiceYamlError {
  try {
    read(doc);
  } catch (err) {
    if (err instanceof ServiceYamlError) return err;
    throw err;
  }
  throw new Error('accepted');
}

describe('a Knative Service YAML, read as the v2 service it describes', () => {
  it('maps every annotation to its v2 field, and keeps the file’s own', () => {
    const read1 = read(exported());
    expect(read1.name).toBe('hello');
    expect(read1.revision).toBe('hello-v7');
    expect(read1.location).toBe('us-central1');
    expect(read1.namespace).toBe('runway-demo');
    expect(read1.service).toEqual({
      labels: { team: 'web' },
      annotations: { 'example.com/owner': 'web-team' },
      ingress: 'INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER',
      description: 'the hello service',
      invokerIamDisabled: true,
      scaling: { minInstanceCount: 1 },
      template: {
        labels: { tier: 'front' },
        scaling: { minInstanceCount: 2, maxInstanceCount: 10 },
        executionEnvironment: 'EXECUTION_ENVIRONMENT_GEN2',
        vpcAccess: { connector: 'my-connector', egress: 'PRIVATE_RANGES_ONLY' },
        maxInstanceRequestConcurrency: 40,
        timeout: '120s',
        serviceAccount: 'runtime@runway-demo.iam.gserviceaccount.com',
        containers: [
          {
            name: 'app',
            image: 'us-docker.pkg.dev/runway-demo/app/hello:1',
            env: [
              { name: 'MODE', value: 'prod' },
              { name: 'TOKEN', valueSource: { secretKeyRef: { secret: 'token', version: 'latest' } } },
            ],
            resources: { limits: { cpu: '1', memory: '512Mi' }, cpuIdle: false, startupCpuBoost: true },
            ports: [{ name: 'http1', containerPort: 8080 }],
            volumeMounts: [
              { name: 'cache', mountPath: '/cache' },
              { name: 'cloudsql', mountPath: '/cloudsql' },
            ],
            startupProbe: { tcpSocket: { port: 8080 }, periodSeconds: 2, failureThreshold: 30 },
            dependsOn: ['proxy'],
          },
          {
            name: 'proxy',
            image: 'us-docker.pkg.dev/runway-demo/app/proxy:1',
            resources: { limits: { cpu: '500m', memory: '256Mi' }, cpuIdle: false, startupCpuBoost: true },
          },
        ],
        volumes: [
          { name: 'cache', emptyDir: { medium: 'MEMORY', sizeLimit: '64Mi' } },
          { name: 'cloudsql', cloudSqlInstance: { instances: ['runway-demo:us-central1:db'] } },
        ],
      },
    });
  });

  it('states v1’s default, CPU throttled, as cpuIdle', () => {
    const doc = exported();
    delete doc.spec.template.metadata.annotations['run.googleapis.com/cpu-throttling'];
    const [app] = read(doc).service.template.containers!;
    expect(app!.resources).toMatchObject({ cpuIdle: true });
  });

  // The emulator's v1 surface reads a body as Cloud Run does: the same file, the same v2 service.
  it.each([
    ['an exported service with a sidecar', exported()],
    [
      'a minimal service',
      {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        metadata: { name: 'tiny' },
        spec: { template: { spec: { containers: [{ image: 'r/app:1' }] } } },
      },
    ],
    [
      'Binary Authorization and CMEK annotations, as gcloud run deploy writes them',
      {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        metadata: {
          name: 'cmek',
          annotations: {
            'run.googleapis.com/binary-authorization-breakglass': 'incident 42',
            'run.googleapis.com/binary-authorization': 'default',
          },
        },
        spec: {
          template: {
            metadata: {
              annotations: {
                'run.googleapis.com/encryption-key': 'projects/p/locations/l/keyRings/r/cryptoKeys/k',
                'run.googleapis.com/post-key-revocation-action-type': 'prevent-new',
                'run.googleapis.com/encryption-key-shutdown-hours': '3',
              },
            },
            spec: { containers: [{ image: 'r/app:1' }] },
          },
        },
      },
    ],
    [
      'secret files, NFS and Cloud Storage volumes and probes',
      {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        metadata: { name: 'vols', annotations: { 'run.googleapis.com/ingress': 'internal' } },
        spec: {
          template: {
            metadata: { annotations: { 'run.googleapis.com/sessionAffinity': 'true' } },
            spec: {
              containers: [
                {
                  image: 'r/app:1',
                  args: ['--serve'],
                  command: ['/bin/app'],
                  livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 5 },
                  volumeMounts: [
                    { name: 'conf', mountPath: '/etc/conf' },
                    { name: 'share', mountPath: '/mnt/share' },
                    { name: 'bucket', mountPath: '/mnt/bucket' },
                  ],
                },
              ],
              volumes: [
                { name: 'conf', secret: { secretName: 'conf', items: [{ key: '3', path: 'app.json' }] } },
                { name: 'share', nfs: { server: '10.0.0.2', path: '/share', readOnly: true } },
                {
                  name: 'bucket',
                  csi: {
                    driver: 'gcsfuse.run.googleapis.com',
                    readOnly: false,
                    volumeAttributes: { bucketName: 'my-bucket', mountOptions: 'implicit-dirs,uid=1000' },
                  },
                },
              ],
            },
          },
        },
      },
    ],
  ])('reads %s as Cloud Run does', (_name, doc) => {
    const emulator = specFromKnative(structuredClone(doc)) as Json;
    const { revision: _revision, knativeLabels: _v1Only, ...template } = emulator.template as Json;
    const { traffic: _traffic, ...service } = emulator;
    expect(read(doc).service).toEqual({ ...service, template });
  });

  it('reads a file from the workspace, and refuses one that leads out of it', () => {
    const workspace = mkdtempSync(join(tmpdir(), 'runway-ws-'));
    const outside = mkdtempSync(join(tmpdir(), 'runway-outside-'));
    mkdirSync(join(workspace, 'deploy'));
    writeFileSync(join(workspace, 'deploy', 'service.yaml'), stringify(exported()));
    writeFileSync(join(outside, 'service.yaml'), stringify(exported()));
    symlinkSync(join(outside, 'service.yaml'), join(workspace, 'deploy', 'linked.yaml'));
    expect(readMetadataFile('deploy/service.yaml', workspace).name).toBe('hello');
    expect(() => readMetadataFile('deploy/linked.yaml', workspace)).toThrow(
      /Input 'metadata' is invalid: got "deploy\/linked.yaml"/,
    );
    writeFileSync(join(workspace, 'bad.yaml'), 'kind: Service\n  spec: [\n');
    expect(() => readMetadataFile('bad.yaml', workspace)).toThrow(/\(file\): not YAML \(line \d+/);
  });
});

describe('a file Runway cannot deploy as it means is refused, naming the field', () => {
  const cases: Array<[string, (doc: Json) => unknown, string, RegExp?]> = [
    ['a job, read as a service', (d) => ({ ...d, kind: 'Job' }), 'kind', /expected Service, got "Job"/],
    ['another kind', (d) => ({ ...d, kind: 'Deployment' }), 'kind'],
    ['another API', (d) => ({ ...d, apiVersion: 'apps/v1' }), 'apiVersion'],
    ['no name', (d) => (delete d.metadata.name, d), 'metadata.name'],
    ['an unknown top-level field', (d) => ({ ...d, extra: 1 }), 'extra'],
    ['an unknown metadata field', (d) => ((d.metadata.finalizers = ['x']), d), 'metadata.finalizers'],
    [
      'an unknown service annotation',
      (d) => ((d.metadata.annotations['run.googleapis.com/not-a-thing'] = 'x'), d),
      'metadata.annotations["run.googleapis.com/not-a-thing"]',
    ],
    [
      'an unknown revision annotation',
      (d) => ((d.spec.template.metadata.annotations['autoscaling.knative.dev/target'] = '80'), d),
      'spec.template.metadata.annotations["autoscaling.knative.dev/target"]',
    ],
    [
      'a number where an annotation needs a string',
      (d) => ((d.spec.template.metadata.annotations['autoscaling.knative.dev/maxScale'] = 10), d),
      'spec.template.metadata.annotations["autoscaling.knative.dev/maxScale"]',
      /quote it/,
    ],
    [
      'a scale that is no number',
      (d) => ((d.spec.template.metadata.annotations['autoscaling.knative.dev/maxScale'] = 'many'), d),
      'spec.template.metadata.annotations["autoscaling.knative.dev/maxScale"]',
      /whole number/,
    ],
    [
      'a flag that is no boolean',
      (d) => ((d.spec.template.metadata.annotations['run.googleapis.com/cpu-throttling'] = 'sometimes'), d),
      'spec.template.metadata.annotations["run.googleapis.com/cpu-throttling"]',
    ],
    [
      'an unknown ingress',
      (d) => ((d.metadata.annotations['run.googleapis.com/ingress'] = 'public'), d),
      'metadata.annotations["run.googleapis.com/ingress"]',
      /expected one of all, internal/,
    ],
    [
      'a prefixed label',
      (d) => ((d.metadata.labels['app.kubernetes.io/name'] = 'hello'), d),
      'metadata.labels["app.kubernetes.io/name"]',
    ],
    [
      'a container field Cloud Run lacks',
      (d) => ((d.spec.template.spec.containers[0].securityContext = { privileged: true }), d),
      'spec.template.spec.containers[0].securityContext',
    ],
    [
      'envFrom',
      (d) => ((d.spec.template.spec.containers[1].envFrom = [{ secretRef: { name: 's' } }]), d),
      'spec.template.spec.containers[1].envFrom',
    ],
    [
      'a configMap variable',
      (d) => (
        (d.spec.template.spec.containers[0].env[0] = {
          name: 'A',
          valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } },
        }),
        d
      ),
      'spec.template.spec.containers[0].env[0].valueFrom.configMapKeyRef',
    ],
    [
      'resource requests',
      (d) => ((d.spec.template.spec.containers[0].resources.requests = { cpu: '1' }), d),
      'spec.template.spec.containers[0].resources.requests',
    ],
    [
      'an exec probe',
      (d) => ((d.spec.template.spec.containers[0].startupProbe = { exec: { command: ['true'] } }), d),
      'spec.template.spec.containers[0].startupProbe.exec',
    ],
    [
      'a port that is no number',
      (d) => ((d.spec.template.spec.containers[0].ports[0].containerPort = '8080'), d),
      'spec.template.spec.containers[0].ports[0].containerPort',
    ],
    [
      'a container without an image',
      (d) => (delete d.spec.template.spec.containers[1].image, d),
      'spec.template.spec.containers[1].image',
    ],
    ['no containers', (d) => ((d.spec.template.spec.containers = []), d), 'spec.template.spec.containers'],
    [
      'a host path volume',
      (d) => ((d.spec.template.spec.volumes[0] = { name: 'h', hostPath: { path: '/' } }), d),
      'spec.template.spec.volumes[0].hostPath',
    ],
    [
      'another CSI driver',
      (d) => ((d.spec.template.spec.volumes[0] = { name: 'c', csi: { driver: 'x.example.com' } }), d),
      'spec.template.spec.volumes[0].csi.driver',
    ],
    [
      'a node selector Cloud Run lacks',
      (d) => ((d.spec.template.spec.nodeSelector = { zone: 'a' }), d),
      'spec.template.spec.nodeSelector["zone"]',
    ],
    [
      'a dependency on no container',
      (d) => (
        (d.spec.template.metadata.annotations['run.googleapis.com/container-dependencies'] =
          '{"app":["db"]}'),
        (d.spec.template.metadata.annotations['run.googleapis.com/container-dependencies'] =
          '{"web":["proxy"]}'),
        d
      ),
      'spec.template.metadata.annotations["run.googleapis.com/container-dependencies"]',
    ],
    [
      'a traffic target naming a revision and the latest one',
      (d) => ((d.spec.traffic = [{ latestRevision: true, revisionName: 'hello-v6', percent: 100 }]), d),
      'spec.traffic[0]',
      /one of them in each traffic target/,
    ],
    [
      'a traffic target naming no revision',
      (d) => ((d.spec.traffic = [{ percent: 100, tag: 'x' }]), d),
      'spec.traffic[0]',
      /revisionName: REVISION, or latestRevision: true/,
    ],
    [
      'a traffic target of a configuration (Knative’s, not Cloud Run’s)',
      (d) => ((d.spec.traffic = [{ configurationName: 'hello', percent: 100 }]), d),
      'spec.traffic[0].configurationName',
    ],
    [
      'a split that does not add up to 100',
      (d) => (
        (d.spec.traffic = [
          { revisionName: 'hello-v6', percent: 50 },
          { latestRevision: true, percent: 40 },
        ]),
        d
      ),
      'spec.traffic',
      /add up to 90, and Cloud Run takes a split of 100/,
    ],
    [
      'a tag given twice',
      (d) => (
        (d.spec.traffic = [
          { latestRevision: true, percent: 100, tag: 'x' },
          { revisionName: 'hello-v6', tag: 'x' },
        ]),
        d
      ),
      'spec.traffic[1].tag',
      /x is given to two targets/,
    ],
    [
      'a tag Cloud Run refuses',
      (d) => ((d.spec.traffic = [{ latestRevision: true, percent: 100, tag: 'Blue_1' }]), d),
      'spec.traffic[0].tag',
      /lowercase letters, digits and hyphens/,
    ],
    ['a list, not a service', () => [exported()], '(file)'],
  ];

  it.each(cases.map(([name, change, field, fix]) => ({ name, change, field, fix })))(
    '$name',
    ({ change, field, fix }) => {
      const err = refusal(change(exported()));
      expect(err.field).toBe(field);
      expect(err.input).toBe('metadata');
      expect(err.message).toContain(`Input 'metadata' ("service.yaml"): ${field}: `);
      if (fix) expect(`${err.message}\n${err.fix}`).toMatch(fix);
    },
  );
});

describe('the `metadata` input, read with the others', () => {
  const { write, settings, fails } = metadataWorkspace('service.yaml', exported);

  it('names the service, the revision suffix and the image from the file', () => {
    const read1 = settings({ metadata: 'service.yaml' });
    expect(read1.service).toBe('hello');
    expect(read1.suffix).toBe('v7');
    expect(read1.image).toEqual({ kind: 'prebuilt', ref: 'us-docker.pkg.dev/runway-demo/app/hello:1' });
    expect(read1.serviceYaml?.service.template.containers).toHaveLength(2);
  });

  it('takes `image` over the file’s, and `service` only when it is the file’s', () => {
    const read1 = settings({ metadata: 'service.yaml', service: 'hello', image: 'r/app:2' });
    expect(read1.image).toEqual({ kind: 'prebuilt', ref: 'r/app:2' });
    expect(fails({ metadata: 'service.yaml', service: 'other' })).toMatch(
      /Input 'service' is invalid: got "other".*\n.*the service the `metadata` file names \("hello"\)/,
    );
  });

  it('refuses a region, project, suffix, job or preview the file contradicts', () => {
    expect(fails({ metadata: 'service.yaml', region: 'europe-west1' })).toMatch(
      /metadata.labels\["cloud.googleapis.com\/location"\]: the file is a service of us-central1/,
    );
    expect(fails({ metadata: 'service.yaml', project_id: 'other-project' })).toContain('metadata.namespace');
    expect(fails({ metadata: 'service.yaml', suffix: 'v8' })).toContain("Input 'suffix' is invalid");
    expect(fails({ metadata: 'service.yaml', job: 'nightly' })).toContain(
      'nothing beside a Service file in `metadata`',
    );
    expect(fails({ metadata: 'service.yaml', preview: 'True' })).toContain('nothing with `preview: true`');
  });

  describe("spec.traffic, as Runway's split and tags", () => {
    const withTraffic = (traffic: Json[]): void => {
      const doc = exported();
      doc.spec.traffic = traffic;
      write(doc);
    };
    const traffic = (read1: Settings): Json => ({
      revisionTraffic: read1.revisionTraffic,
      tagTraffic: read1.tagTraffic,
      trafficTags: read1.trafficTags,
    });

    it('leaves all of it to the latest revision without tags as any deploy does', () => {
      for (const all of [[], [{ latestRevision: true }], [{ latestRevision: true, percent: 100 }]]) {
        withTraffic(all);
        expect(traffic(settings({ metadata: 'service.yaml' }))).toEqual({
          revisionTraffic: undefined,
          tagTraffic: undefined,
          trafficTags: undefined,
        });
      }
      // Beside it, the inputs say where the traffic goes, as before.
      expect(settings({ metadata: 'service.yaml', revision_traffic: 'LATEST=100' }).revisionTraffic).toEqual({
        LATEST: 100,
      });
    });

    it('a split by revision and latest, with tags: the new revision by name, the file’s tags the only ones', () => {
      withTraffic([
        { revisionName: 'hello-00006-abc', percent: 60, tag: 'stable' },
        { latestRevision: true, percent: 30, tag: 'canary' },
        // The revision the file itself names is the new one.
        { revisionName: 'hello-v7', percent: 10 },
        { revisionName: 'hello-00005-xyz', tag: 'old' },
        { revisionName: 'hello-00006-abc', percent: 0, url: 'https://stable---hello-abc-uc.a.run.app' },
      ]);
      expect(traffic(settings({ metadata: 'service.yaml' }))).toEqual({
        revisionTraffic: { 'hello-00006-abc': 60, LATEST: 40 },
        tagTraffic: undefined,
        trafficTags: {
          clear: true,
          update: { stable: 'hello-00006-abc', canary: 'LATEST', old: 'hello-00005-xyz' },
          remove: [],
        },
      });
      // `tag`, on top of the file, stays on the new revision.
      expect(settings({ metadata: 'service.yaml', tag: 'pr-7' }).trafficTags?.update).toEqual({
        stable: 'hello-00006-abc',
        canary: 'LATEST',
        old: 'hello-00005-xyz',
        'pr-7': 'LATEST',
      });
      expect(settings({ metadata: 'service.yaml', tag: 'canary' }).trafficTags?.update.canary).toBe('LATEST');
    });

    it('tags alone: all to the new revision, the tags moved as the file says', () => {
      withTraffic([
        { latestRevision: true, percent: 100, tag: 'current' },
        { revisionName: 'hello-00006-abc', tag: 'previous' },
      ]);
      expect(traffic(settings({ metadata: 'service.yaml' }))).toEqual({
        revisionTraffic: { LATEST: 100 },
        tagTraffic: undefined,
        trafficTags: { clear: true, update: { current: 'LATEST', previous: 'hello-00006-abc' }, remove: [] },
      });
    });

    it('refuses what cannot be honoured beside it, naming both', () => {
      withTraffic([
        { revisionName: 'hello-00006-abc', percent: 50, tag: 'stable' },
        { latestRevision: true, percent: 50 },
      ]);
      for (const [input, value] of [
        ['revision_traffic', 'LATEST=100'],
        ['tag_traffic', 'stable=100'],
        ['update_traffic_flags', '--to-latest'],
        ['traffic_steps', '10,50'],
        ['no_traffic', 'true'],
        ['traffic', 'immediate'],
      ] as const)
        expect(fails({ metadata: 'service.yaml', [input]: value })).toMatch(
          new RegExp(`spec\\.traffic and '${input}' both say where the traffic goes.*Fix: Keep one`, 's'),
        );
      expect(fails({ metadata: 'service.yaml', tag: 'stable' })).toMatch(
        /gives the tag stable to hello-00006-abc, and input 'tag' gives it to the new revision/,
      );
      withTraffic([
        { latestRevision: true, percent: 100, tag: 'a-very-long-tag-that-leaves-no-room-at-all-x' },
      ]);
      expect(fails({ metadata: 'service.yaml' })).toMatch(/longer than this service's name leaves room for/);
    });
  });

  it('quotes what the file says in its errors, never passing it on raw', () => {
    const doc = exported();
    doc.metadata.labels['cloud.googleapis.com/location'] = 'x\n# <b>pwned</b>';
    doc.metadata.name = 'Bad Name\n<img>';
    write(doc);
    const message = fails({ metadata: 'service.yaml', service: 'hello' });
    expect(message).toContain('"x\\n# <b>pwned</b>" is not a Cloud Run region');
    expect(message).toContain('file names ("Bad Name\\n<img>")');
    expect(message).not.toMatch(/\n# <b>|\n<img>/);
  });
});

describe('planning a deploy from a file', () => {
  const file = (): Service => read(exported()).service;
  const live: Service = {
    etag: '"live-etag"',
    labels: { old: 'label' },
    annotations: { 'runway.dev/rollout-123-1-abc': '{"revisions":["hello-00001-aaa"]}', old: 'x' },
    ingress: 'INGRESS_TRAFFIC_ALL',
    description: 'live description',
    traffic: [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'hello-00001-aaa', percent: 100 }],
    template: {
      serviceAccount: 'old@p.iam.gserviceaccount.com',
      containers: [{ image: 'old', env: [{ name: 'OLD', value: '1' }] }],
    },
  };

  it('replaces the live service with the file, keeping its etag, rollout records and traffic', () => {
    const planned = planService(live, serviceChanges({}, { replace: file(), revisionName: 'hello-v7' }));
    expect(planned.etag).toBe('"live-etag"');
    expect(planned.labels).toEqual({ team: 'web' });
    expect(planned.annotations).toEqual({
      'example.com/owner': 'web-team',
      'runway.dev/rollout-123-1-abc': '{"revisions":["hello-00001-aaa"]}',
    });
    expect(planned.description).toBe('the hello service');
    expect(planned.ingress).toBe('INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER');
    expect(planned.traffic).toEqual(live.traffic);
    expect(planned.template.serviceAccount).toBe('runtime@runway-demo.iam.gserviceaccount.com');
    expect(planned.template.revision).toBe('hello-v7');
    // A connector named alone is the one in the region deployed to.
    expect(planned.template.vpcAccess?.connector).toBe('projects/p/locations/r/connectors/my-connector');
  });

  it('applies the image and the inputs on top: the target container’s, the sidecar untouched', () => {
    const planned = planService(
      undefined,
      serviceChanges(
        { envVars: { MODE: 'canary', EXTRA: '1' }, memory: '1Gi' },
        { replace: file(), labels: { 'managed-by': 'github-actions' } },
      ),
    );
    const [app, proxy] = planned.template.containers!;
    expect(app!.image).toBe(PLANNED_IMAGE);
    expect(app!.env).toEqual([
      { name: 'MODE', value: 'canary' },
      { name: 'EXTRA', value: '1' },
      { name: 'TOKEN', valueSource: { secretKeyRef: { secret: 'token', version: 'latest' } } },
    ]);
    expect(app!.resources).toEqual({
      limits: { cpu: '1', memory: '1Gi' },
      cpuIdle: false,
      startupCpuBoost: true,
    });
    expect(proxy).toEqual(file().template.containers![1]);
    expect(planned.labels).toEqual({ team: 'web', 'managed-by': 'github-actions' });
    expect(planned.traffic).toEqual([{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 }]);
  });

  it('gives a new service no startup CPU boost the file does not ask for', () => {
    const doc = exported();
    delete doc.spec.template.metadata.annotations['run.googleapis.com/startup-cpu-boost'];
    const planned = planService(undefined, serviceChanges({}, { replace: read(doc).service }));
    expect(planned.template.containers![0]!.resources).not.toHaveProperty('startupCpuBoost');
  });
});

describe("undoing a file's deploy puts the service's own settings back", () => {
  const before: Service = {
    labels: { 'commit-sha': 'aaa' },
    annotations: { keep: 'me' },
    ingress: 'INGRESS_TRAFFIC_ALL',
    template: { containers: [{ image: 'old' }] },
  };

  it('names every setting the file changed in the mask, keeping the rollout records', () => {
    const live: Service = {
      labels: { 'commit-sha': 'bbb', team: 'web' },
      annotations: { 'runway.dev/rollout-9-1-abc': '{}' },
      ingress: 'INGRESS_TRAFFIC_INTERNAL_ONLY',
      description: 'from a file',
      invokerIamDisabled: true,
      template: { containers: [{ image: 'new' }] },
    };
    expect(settingsRestore(serviceSettings(before), live)).toEqual({
      mask: ['labels', 'annotations', 'ingress', 'description', 'invokerIamDisabled'],
      fields: {
        labels: { 'commit-sha': 'aaa' },
        annotations: { keep: 'me', 'runway.dev/rollout-9-1-abc': '{}' },
        ingress: 'INGRESS_TRAFFIC_ALL',
      },
    });
  });

  it('sends nothing when the service has them as they were', () => {
    const live = { ...before, annotations: { ...before.annotations, 'runway.dev/rollout-9-1-abc': '{}' } };
    expect(settingsRestore(serviceSettings(before), live)).toBeUndefined();
  });
});

describe('the file’s namespace is the project deployed to', () => {
  const withNamespace = (namespace: string | undefined): ReturnType<typeof read> => ({
    ...read(exported()),
    namespace,
  });
  const check = async (namespace: string | undefined, number: () => Promise<string>): Promise<string[]> => {
    const warnings: string[] = [];
    await checkFileNamespace(withNamespace(namespace), 'runway-demo', number, (m) => warnings.push(m));
    return warnings;
  };
  const numbered = (): Promise<string> => Promise.resolve('123456789012');

  it('by ID or by number, as gcloud takes it', async () => {
    await expect(check(undefined, numbered)).resolves.toEqual([]);
    await expect(check('runway-demo', numbered)).resolves.toEqual([]);
    await expect(check('123456789012', numbered)).resolves.toEqual([]);
  });

  it('refuses another project, by ID or number, naming metadata.namespace', async () => {
    await expect(check('other-project', numbered)).rejects.toThrow(
      /metadata.namespace: the file is a service of project "other-project", and the deploy goes to runway-demo/,
    );
    await expect(check('999', numbered)).rejects.toThrow('metadata.namespace');
  });

  it('warns when the project’s number cannot be learned', async () => {
    const warnings = await check('123456789012', () => Promise.reject(new Error('denied')));
    expect(warnings).toEqual([expect.stringContaining('Could not learn project runway-demo')]);
  });
});
