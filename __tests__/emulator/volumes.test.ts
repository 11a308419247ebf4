// Volumes, Direct VPC and GPUs in the emulator's Cloud Run, through the v2 API: an in-memory volume is
// a real directory the instance's containers share; Cloud Storage and NFS volumes, a network interface
// and a GPU are stored and shown but not mounted, connected or attached; and what Cloud Run refuses
// of them is refused with 400 INVALID_ARGUMENT before anything is stored (template-rules.ts).
import { runV2, waitV2 } from '../helpers/cloudrun.js';
import { pushTestImage } from '../helpers/images.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const call = runV2;
const wait = waitV2;

let image: string;

beforeAll(async () => {
  image = await pushTestImage('vol-app', 'volumes');
});

const template = (): Json => ({
  containers: [
    {
      name: 'app',
      image,
      ports: [{ containerPort: 8080 }],
      resources: { limits: { cpu: '4', memory: '16Gi', 'nvidia.com/gpu': '1' }, cpuIdle: false },
      volumeMounts: [
        { name: 'mem', mountPath: '/shared' },
        { name: 'bkt', mountPath: '/data' },
        { name: 'share', mountPath: '/nfs' },
      ],
    },
    {
      // Writes into the in-memory volume, then stays up.
      name: 'writer',
      image,
      command: [
        '/bin/busybox',
        'sh',
        '-c',
        'echo written-by-sidecar > /shared/note; exec /bin/busybox sleep 3600',
      ],
      volumeMounts: [{ name: 'mem', mountPath: '/shared' }],
    },
  ],
  volumes: [
    { name: 'mem', emptyDir: { medium: 'MEMORY', sizeLimit: '64Mi' } },
    { name: 'bkt', gcs: { bucket: 'my-bucket', readOnly: true } },
    { name: 'share', nfs: { server: '10.0.0.2', path: '/exports/a' } },
  ],
  vpcAccess: {
    networkInterfaces: [{ network: 'default', subnetwork: 'default', tags: ['a'] }],
    egress: 'ALL_TRAFFIC',
  },
  nodeSelector: { accelerator: 'nvidia-l4' },
  gpuZonalRedundancyDisabled: true,
  scaling: { maxInstanceCount: 3 },
});

describe('volumes, Direct VPC and a GPU', () => {
  it('shares an in-memory volume between containers, and stores the rest as given without mounting it', async () => {
    const created = await call('POST', '/services?serviceId=vol-all', {
      invokerIamDisabled: true,
      template: template(),
    });
    expect(created.status).toBe(200);
    expect((await wait(created.body)).error).toBeUndefined();
    const svc = (await call('GET', '/services/vol-all')).body;
    let note = '';
    for (let i = 0; i < 20 && note !== 'written-by-sidecar'; i++) {
      note = (await (await fetch(`${svc.uri}/cgi-bin/file?/shared/note`)).text()).trim();
      if (note !== 'written-by-sidecar') await new Promise((r) => setTimeout(r, 250));
    }
    expect(note).toBe('written-by-sidecar');
    // No bucket behind /data.
    expect((await (await fetch(`${svc.uri}/cgi-bin/file?/data/anything`)).text()).trim()).toBe('');
    expect(svc.template.volumes).toEqual([
      { name: 'mem', emptyDir: { medium: 'MEMORY', sizeLimit: '64Mi' } },
      { name: 'bkt', gcs: { bucket: 'my-bucket', readOnly: true } },
      { name: 'share', nfs: { server: '10.0.0.2', path: '/exports/a' } },
    ]);
    expect(svc.template.vpcAccess).toEqual(template().vpcAccess);
    expect(svc.template.nodeSelector).toEqual({ accelerator: 'nvidia-l4' });
    expect(svc.template.gpuZonalRedundancyDisabled).toBe(true);
    expect(svc.template.containers[0].resources.limits['nvidia.com/gpu']).toBe('1');
    await wait((await call('DELETE', '/services/vol-all')).body);
  });

  it.each<[string, (t: Json) => void, string, RegExp]>([
    [
      'a GPU with CPU throttled',
      (t) => (t.containers[0].resources.cpuIdle = true),
      'containers[0].resources.cpu_idle',
      /always allocated/,
    ],
    [
      'a connector beside a network interface',
      (t) => (t.vpcAccess.connector = 'projects/p/locations/us-central1/connectors/c'),
      'vpc_access.connector',
      /one and only one of connector and network_interfaces must be set/,
    ],
    [
      'a mount of a volume the revision lacks',
      (t) => t.volumes.splice(1, 1),
      'containers[0].volume_mounts[1].name',
      /Volume 'bkt' does not exist/,
    ],
  ])('refuses %s with 400 naming the field, and stores nothing', async (_what, change, field, message) => {
    const t = template();
    change(t);
    const refused = await call('POST', '/services?serviceId=vol-bad', { template: t });
    expect(refused.status).toBe(400);
    expect(refused.body.error.status).toBe('INVALID_ARGUMENT');
    expect(refused.body.error.message).toMatch(message);
    expect(refused.body.error.details[0].fieldViolations[0].field).toBe(
      `Violation in CreateServiceRequest.service.template.${field}`,
    );
    expect((await call('GET', '/services/vol-bad')).status).toBe(404);
  });
});
