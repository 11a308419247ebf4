// The emulator's view of volumes, Direct VPC and GPUs: gcloud's v1 body (as gcloud 528 sent it for
// `run deploy --add-volume … --network … --gpu …`, seen with --log-http) read into v2 and back, and
// the rules Cloud Run applies to them on a write.
import { knativeSpec, specFromKnative } from '../../emulator/run/knative.js';
import { GPU_QUOTA, validateTemplateRules } from '../../emulator/run/template-rules.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const gcloudBody = (): Json => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name: 'vol1', namespace: 'runway-demo' },
  spec: {
    template: {
      metadata: {
        annotations: {
          'autoscaling.knative.dev/maxScale': '3',
          'run.googleapis.com/cpu-throttling': 'False',
          'run.googleapis.com/gpu-zonal-redundancy-disabled': 'True',
          'run.googleapis.com/network-interfaces':
            '[{"network": "default", "subnetwork": "default", "tags": ["a", "b"]}]',
          'run.googleapis.com/vpc-access-egress': 'all-traffic',
        },
      },
      spec: {
        containers: [
          {
            image: 'r/app:v1',
            name: '',
            resources: { limits: { cpu: '4', memory: '16Gi', 'nvidia.com/gpu': '1' }, requests: {} },
            volumeMounts: [
              { mountPath: '/cache', name: 'mem' },
              { mountPath: '/data', name: 'bkt' },
            ],
          },
        ],
        nodeSelector: { 'run.googleapis.com/accelerator': 'nvidia-l4' },
        volumes: [
          { emptyDir: { medium: 'Memory', sizeLimit: '64Mi' }, name: 'mem' },
          {
            csi: {
              driver: 'gcsfuse.run.googleapis.com',
              readOnly: true,
              volumeAttributes: { bucketName: 'my-bucket' },
            },
            name: 'bkt',
          },
          { name: 'share', nfs: { path: '/exports/a', readOnly: false, server: '10.0.0.2' } },
        ],
      },
    },
  },
});

describe("gcloud's volumes, network and GPU in the v1 view", () => {
  it('reads into the v2 fields, and back as gcloud wrote them', () => {
    const spec = specFromKnative(gcloudBody());
    const t = spec.template as Json;
    expect(t.volumes).toEqual([
      { name: 'mem', emptyDir: { medium: 'MEMORY', sizeLimit: '64Mi' } },
      { name: 'bkt', gcs: { bucket: 'my-bucket', readOnly: true } },
      { name: 'share', nfs: { path: '/exports/a', readOnly: false, server: '10.0.0.2' } },
    ]);
    expect(t.vpcAccess).toEqual({
      networkInterfaces: [{ network: 'default', subnetwork: 'default', tags: ['a', 'b'] }],
      egress: 'ALL_TRAFFIC',
    });
    expect(t.nodeSelector).toEqual({ accelerator: 'nvidia-l4' });
    expect(t.gpuZonalRedundancyDisabled).toBe(true);
    expect(t.containers[0].resources).toEqual({
      limits: { cpu: '4', memory: '16Gi', 'nvidia.com/gpu': '1' },
      cpuIdle: false,
    });
    const back = (knativeSpec(spec).spec.template as Json).spec as Json;
    expect(back.nodeSelector).toEqual({ 'run.googleapis.com/accelerator': 'nvidia-l4' });
    expect(back.volumes).toEqual(gcloudBody().spec.template.spec.volumes);
    expect(() => validateTemplateRules(t, 'v1', 'us-central1')).not.toThrow();
  });

  it('refuses a CSI driver other than Cloud Storage FUSE, and an unknown node selector', () => {
    const body = gcloudBody();
    body.spec.template.spec.volumes[1].csi.driver = 'cloudsql.run.googleapis.com';
    expect(() => specFromKnative(body)).toThrow(/only the gcsfuse.run.googleapis.com driver/);
    const other = gcloudBody();
    other.spec.template.spec.nodeSelector = { zone: 'a' };
    expect(() => specFromKnative(other)).toThrow(/nodeSelector\[zone\]/);
  });
});

describe('Cloud Run rules for volumes, VPC access and GPUs', () => {
  const base = (): Json => (specFromKnative(gcloudBody()).template as Json) ?? {};
  const refused = (change: (t: Json) => void, location = 'us-central1'): string => {
    const t = base();
    change(t);
    try {
      validateTemplateRules(t, 'CreateServiceRequest', location);
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  };

  it.each<[string, (t: Json) => void, RegExp]>([
    [
      'a mount of a volume the revision lacks',
      (t) => t.volumes.splice(0, 1),
      /Volume 'mem' does not exist in this revision/,
    ],
    ['two volumes of one name', (t) => (t.volumes[2].name = 'mem'), /used by more than one volume/],
    [
      "a volume named 'cloudsql' that is no Cloud SQL volume",
      (t) => (t.volumes[2].name = 'cloudsql'),
      /reserved for Cloud SQL volumes/,
    ],
    ['an NFS volume without a server', (t) => delete t.volumes[2].nfs.server, /needs a server/],
    [
      'a connector beside a network interface',
      (t) => (t.vpcAccess.connector = 'projects/p/locations/r/connectors/c'),
      /^Violation in CreateServiceRequest.service.template.vpc_access.connector: one and only one of connector and network_interfaces must be set/,
    ],
    ['egress without either', (t) => delete t.vpcAccess.networkInterfaces, /one and only one/],
    [
      'an interface without network or subnetwork',
      (t) => (t.vpcAccess.networkInterfaces = [{ tags: ['a'] }]),
      /needs a network or a subnetwork/,
    ],
    [
      'two GPUs',
      (t) => (t.containers[0].resources.limits['nvidia.com/gpu'] = '2'),
      /supports 1 GPU per instance/,
    ],
    [
      'an unknown GPU type',
      (t) => (t.nodeSelector.accelerator = 'nvidia-t4'),
      /GPU type 'nvidia-t4' is not supported/,
    ],
    ['a GPU with 2 CPU', (t) => (t.containers[0].resources.limits.cpu = '2'), /at least 4 CPU/],
    ['a GPU with 8Gi', (t) => (t.containers[0].resources.limits.memory = '8Gi'), /at least 16Gi of memory/],
    ['a GPU with CPU throttled', (t) => (t.containers[0].resources.cpuIdle = true), /always allocated/],
    [
      'max instances over the GPU quota',
      (t) => (t.scaling.maxInstanceCount = GPU_QUOTA + 1),
      /Max instances must be set to 3 or fewer/,
    ],
  ])('refuses %s', (_what, change, error) => {
    expect(refused(change)).toMatch(error);
  });

  it('refuses a GPU in a region without GPUs, and takes a template with none of these', () => {
    expect(refused(() => undefined, 'europe-west2')).toMatch(/GPU is not supported in region europe-west2/);
    expect(() => validateTemplateRules({ containers: [{ image: 'x' }] }, 'v1', 'europe-west2')).not.toThrow();
  });
});
