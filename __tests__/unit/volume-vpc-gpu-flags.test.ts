// gcloud's volume, Direct VPC and GPU flags in `flags`: each flag, read as gcloud 528 GA reads it,
// and the template the planner makes of it over a live service, as gcloud would leave that service.
import { planService, type ServiceChanges } from '../../src/deploy/plan.js';
import { planJob } from '../../src/deploy/job-plan.js';
import { describeError, RunwayError } from '../../src/errors.js';
import type { RevisionTemplate, Service } from '../../src/gcp/run-types.js';
import { parseFlags, splitJobFlags } from '../../src/inputs/flags.js';
import { checkGpuInputs } from '../../src/inputs/gpu.js';
import type { ServiceSpec } from '../../src/inputs/spec.js';
import { serviceChanges } from '../helpers/service-changes.js';

const changes = (spec: ServiceSpec): ServiceChanges => serviceChanges(spec);

/** A live service with a secret file, Cloud SQL, an in-memory and an NFS volume, a network and a GPU. */
const liveTemplate: RevisionTemplate = {
  containers: [
    {
      image: 'h/p/r/app@sha256:0000',
      resources: { limits: { cpu: '4', memory: '16Gi', 'nvidia.com/gpu': '1' }, cpuIdle: false },
      volumeMounts: [
        { name: 'sec', mountPath: '/etc/sec' },
        { name: 'cloudsql', mountPath: '/cloudsql' },
        { name: 'mem', mountPath: '/cache' },
        { name: 'share', mountPath: '/share' },
      ],
    },
  ],
  volumes: [
    { name: 'sec', secret: { secret: 's', items: [{ path: 'key', version: '1' }] } },
    { name: 'cloudsql', cloudSqlInstance: { instances: ['p:r:db'] } },
    { name: 'mem', emptyDir: { medium: 'MEMORY' } },
    { name: 'share', nfs: { server: '10.0.0.2', path: '/x', readOnly: false } },
  ],
  vpcAccess: {
    networkInterfaces: [{ network: 'net', subnetwork: 'sub', tags: ['a'] }],
    egress: 'ALL_TRAFFIC',
  },
  nodeSelector: { accelerator: 'nvidia-l4' },
};
const live: Service = { name: 'projects/p/locations/r/services/hello', template: liveTemplate };

/** The error's message and its fix, as the user reads them. */
function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    return describeError(err);
  }
  return 'no error';
}

const planned = (flags: string, over?: Service): RevisionTemplate =>
  planService(over ?? live, changes(parseFlags(flags))).template;
const mounts = (t: RevisionTemplate): unknown => t.containers?.[0]?.volumeMounts;
const names = (t: RevisionTemplate): unknown => t.volumes?.map((v) => v.name);

describe('volume flags', () => {
  it.each<[string, string, ServiceSpec]>([
    [
      '--add-volume in-memory with size-limit',
      '--add-volume name=m,type=in-memory,size-limit=64Mi',
      { volumes: { add: [{ name: 'm', type: 'in-memory', sizeLimit: '64Mi' }] } },
    ],
    [
      '--add-volume nfs, readonly in any case',
      '--add-volume=name=n,type=nfs,location=10.0.0.2:/exports/a,readonly=TRUE',
      {
        volumes: {
          add: [{ name: 'n', type: 'nfs', server: '10.0.0.2', path: '/exports/a', readOnly: true }],
        },
      },
    ],
    [
      '--add-volume cloud-storage, readonly anything but true is false',
      '--add-volume name=b,type=cloud-storage,bucket=my-bucket,readonly=yes',
      { volumes: { add: [{ name: 'b', type: 'cloud-storage', bucket: 'my-bucket', readOnly: false }] } },
    ],
    [
      '--add-volume with gcloud ^DELIM^ escaping',
      '--add-volume ^;^name=m;type=in-memory',
      { volumes: { add: [{ name: 'm', type: 'in-memory' }] } },
    ],
    [
      '--add-volume-mount, repeated',
      '--add-volume-mount volume=m,mount-path=/a --add-volume-mount volume=b,mount-path=/b',
      {
        volumes: {
          addMounts: [
            { volume: 'm', mountPath: '/a' },
            { volume: 'b', mountPath: '/b' },
          ],
        },
      },
    ],
    [
      '--remove-volume, lists add up',
      '--remove-volume a,b --remove-volume c',
      { volumes: { remove: ['a', 'b', 'c'] } },
    ],
    ['--remove-volume-mount', '--remove-volume-mount /a', { volumes: { removeMounts: ['/a'] } }],
    ['--clear-volumes', '--clear-volumes', { volumes: { clear: true } }],
    ['--clear-volume-mounts', '--clear-volume-mounts', { volumes: { clearMounts: true } }],
  ])('%s', (_what, flags, spec) => {
    expect(parseFlags(flags)).toEqual(spec);
  });

  it.each<[string, string, RegExp]>([
    ['an unknown type', '--add-volume name=a,type=secret', /Volume type secret not supported/],
    ['no type', '--add-volume name=a', /Accepted: KEY=VALUE pairs with the key `type`/],
    [
      'a key the type does not take',
      '--add-volume name=a,type=cloud-storage,bucket=b,mount-options=x',
      /had unexpected parameter mount-options/,
    ],
    ['a missing required key', '--add-volume name=a,type=nfs', /requires the following parameters: location/],
    [
      'an NFS location without :/',
      '--add-volume name=a,type=nfs,location=10.0.0.2',
      /must be of the form IP_ADDRESS:\/DIRECTORY/,
    ],
    ['an item without =', '--add-volume name=a,type', /has no `=`/],
    [
      'a mount key other than volume and mount-path',
      '--add-volume-mount volume=a,path=/x',
      /Key \[path\] not recognized/,
    ],
    ['a mount without mount-path', '--add-volume-mount volume=a', /both keys/],
  ])('refuses %s, as gcloud does', (_what, flags, error) => {
    expect(errorOf(() => parseFlags(flags))).toMatch(error);
  });

  it('adds volumes in v2 form, replacing by name, and mounts, replacing by path', () => {
    const t = planned(
      '--add-volume name=m2,type=in-memory,size-limit=1Gi --add-volume name=share,type=cloud-storage,bucket=bk,readonly=true ' +
        '--add-volume name=n,type=nfs,location=10.0.0.3:/e --add-volume-mount volume=m2,mount-path=/cache --add-volume-mount volume=n,mount-path=/n',
    );
    expect(t.volumes).toEqual([
      ...liveTemplate.volumes!.slice(0, 3),
      { name: 'share', gcs: { bucket: 'bk', readOnly: true } },
      { name: 'm2', emptyDir: { medium: 'MEMORY', sizeLimit: '1Gi' } },
      { name: 'n', nfs: { server: '10.0.0.3', path: '/e', readOnly: false } },
    ]);
    expect(mounts(t)).toEqual([
      { name: 'sec', mountPath: '/etc/sec' },
      { name: 'cloudsql', mountPath: '/cloudsql' },
      { name: 'm2', mountPath: '/cache' },
      { name: 'share', mountPath: '/share' },
      { name: 'n', mountPath: '/n' },
    ]);
  });

  it('removes mounts and volumes before adding; clearing keeps Cloud SQL, which gcloud sees as an annotation', () => {
    const t = planned('--remove-volume-mount /share --remove-volume share');
    expect(names(t)).toEqual(['sec', 'cloudsql', 'mem']);
    const cleared = planned('--clear-volume-mounts --clear-volumes --add-volume name=m,type=in-memory');
    expect(names(cleared)).toEqual(['cloudsql', 'm']);
    expect(mounts(cleared)).toEqual([{ name: 'cloudsql', mountPath: '/cloudsql' }]);
    // Removing a volume gcloud has no name for changes nothing.
    expect(names(planned('--remove-volume nothing,cloudsql'))).toEqual(['sec', 'cloudsql', 'mem', 'share']);
  });

  it('keeps secret files from `secrets` beside the flags: removal first, secrets next, additions last', () => {
    const spec = parseFlags(
      '--clear-volume-mounts --clear-volumes --add-volume name=m,type=in-memory --add-volume-mount volume=m,mount-path=/m',
    );
    spec.secrets = { env: {}, files: { '/etc/new/key': { secret: 's2', version: '2' } } };
    const t = planService(live, changes(spec)).template;
    expect(t.volumes?.map((v) => Object.keys(v).sort().join('+'))).toEqual([
      'cloudSqlInstance+name',
      'name+secret',
      'emptyDir+name',
    ]);
    expect(mounts(t)).toEqual([
      { name: 'cloudsql', mountPath: '/cloudsql' },
      { name: expect.stringMatching(/^secret-/), mountPath: '/etc/new' },
      { name: 'm', mountPath: '/m' },
    ]);
  });

  it('refuses, before anything changes, a mount of a volume the service would not have', () => {
    expect(() => planned('--remove-volume mem')).toThrow(
      /mount a volume 'mem' at \/cache that the service no longer/,
    );
    expect(() => planned('--clear-volumes')).toThrow(RunwayError);
    expect(errorOf(() => planned('--add-volume-mount volume=none,mount-path=/x'))).toMatch(
      /--add-volume name=none/,
    );
    expect(() => planned('--add-volume name=cloudsql,type=in-memory')).toThrow(/reserves that name/);
  });

  it('goes to a job too, as gcloud run jobs deploy takes the same flags', () => {
    const { spec } = splitJobFlags(
      parseFlags('--add-volume name=m,type=in-memory --add-volume-mount volume=m,mount-path=/m', 'job'),
    );
    const job = planJob(undefined, { ...changes(spec), job: 'j', jobSpec: {}, labels: {} });
    expect(job.template.template.volumes).toEqual([{ name: 'm', emptyDir: { medium: 'MEMORY' } }]);
    expect(job.template.template.containers?.[0]?.volumeMounts).toEqual([{ name: 'm', mountPath: '/m' }]);
  });
});

describe('Direct VPC flags', () => {
  const bare: Service = { template: { containers: [{ image: 'x' }] } };

  it.each<[string, string, ServiceSpec]>([
    ['--network', '--network default', { directVpc: { network: 'default' } }],
    ['--subnet', '--subnet=sub', { directVpc: { subnet: 'sub' } }],
    [
      '--network-tags, lists add up',
      '--network-tags a,b --network-tags c',
      { directVpc: { tags: ['a', 'b', 'c'] } },
    ],
    ['--clear-network-tags', '--clear-network-tags', { directVpc: { tags: [] } }],
    ['--clear-network', '--clear-network', { directVpc: { clear: true } }],
  ])('%s', (_what, flags, spec) => {
    expect(parseFlags(flags)).toEqual(spec);
  });

  it.each([
    [
      '--clear-network --network n',
      /gives --clear-network and --network: gcloud takes at most one of --clear-network, --network\..*Remove --clear-network to set the network/s,
    ],
    ['--subnet s --clear-network', /gives --clear-network and --subnet: gcloud takes at most one of/],
    [
      '--network-tags a --clear-network-tags',
      /gives --network-tags and --clear-network-tags: gcloud takes at most one of --network-tags, --clear-network-tags\..*Keep one of them/s,
    ],
    ['--clear-network-tags --network-tags a', /gives --network-tags and --clear-network-tags/],
    ['--clear-network --clear-network-tags', /gives --clear-network and --clear-network-tags/],
    ['--network-tags a --clear-network', /gives --clear-network and --network-tags/],
  ])('refuses %s, as gcloud refuses flags of exclusive groups', (flags, message) => {
    let described = '';
    try {
      parseFlags(flags);
    } catch (err) {
      described = describeError(err);
    }
    expect(described).toMatch(message);
  });

  it.each<[string, string, Service, unknown]>([
    [
      'sets the interface on a new service, with egress',
      '--network default --subnet default --network-tags a,b --vpc-egress all-traffic',
      bare,
      {
        networkInterfaces: [{ network: 'default', subnetwork: 'default', tags: ['a', 'b'] }],
        egress: 'ALL_TRAFFIC',
      },
    ],
    [
      'changes one part of the live interface',
      '--subnet other',
      live,
      { networkInterfaces: [{ network: 'net', subnetwork: 'other', tags: ['a'] }], egress: 'ALL_TRAFFIC' },
    ],
    [
      'clears the tags',
      '--clear-network-tags',
      live,
      { networkInterfaces: [{ network: 'net', subnetwork: 'sub' }], egress: 'ALL_TRAFFIC' },
    ],
    [
      'drops an emptied interface and its egress',
      '--network "" --subnet ""  --network-tags ""',
      live,
      undefined,
    ],
    ['--clear-network drops the interface and the egress', '--clear-network', live, undefined],
    [
      '--vpc-egress alone keeps the live interface',
      '--vpc-egress=private-ranges-only',
      live,
      { ...liveTemplate.vpcAccess, egress: 'PRIVATE_RANGES_ONLY' },
    ],
  ])('%s', (_what, flags, over, vpcAccess) => {
    expect(planned(flags, over).vpcAccess).toEqual(vpcAccess);
  });

  it('refuses, before anything changes, a connector beside a network, and egress with neither', () => {
    expect(() => planned('--vpc-connector c1')).toThrow(/one and only one of them/);
    expect(() => planned('--vpc-connector c1 --network n', bare)).toThrow(/one and only one of them/);
    expect(() => planned('--vpc-egress all-traffic', bare)).toThrow(/needs a way into a VPC network/);
    expect(planned('--vpc-connector c1 --clear-network', live).vpcAccess).toEqual({
      connector: 'projects/p/locations/r/connectors/c1',
    });
  });
});

describe('--clear-vpc-connector', () => {
  const withConnector = (egress: string): Service => ({
    template: {
      containers: [{ image: 'x' }],
      vpcAccess: { connector: 'projects/p/locations/r/connectors/c1', egress },
    },
  });

  it('reads into the VPC flags, and drops the connector and its egress, before the network is set', () => {
    expect(parseFlags('--clear-vpc-connector')).toEqual({ clearVpcConnector: true });
    expect(planned('--clear-vpc-connector', withConnector('PRIVATE_RANGES_ONLY')).vpcAccess).toBeUndefined();
    expect(
      planned('--clear-vpc-connector --network default', withConnector('PRIVATE_RANGES_ONLY')).vpcAccess,
    ).toEqual({ networkInterfaces: [{ network: 'default' }] });
    // gcloud clears after it sets: --vpc-connector with --clear-vpc-connector leaves none.
    expect(
      planned('--vpc-connector c2 --clear-vpc-connector', withConnector('PRIVATE_RANGES_ONLY')).vpcAccess,
    ).toBeUndefined();
  });

  it('refuses it while all traffic goes through the connector, as gcloud does without a prompt', () => {
    expect(errorOf(() => planned('--clear-vpc-connector', withConnector('ALL_TRAFFIC')))).toMatch(
      /Cannot remove VPC connector with VPC egress set to "all-traffic"[\s\S]*--vpc-egress=private-ranges-only/,
    );
    expect(
      planned('--clear-vpc-connector --vpc-egress private-ranges-only', withConnector('ALL_TRAFFIC'))
        .vpcAccess,
    ).toBeUndefined();
  });
});

describe('GPU flags', () => {
  const cpuOnly: Service = {
    template: {
      containers: [{ image: 'x', resources: { limits: { cpu: '4', memory: '16Gi' }, cpuIdle: false } }],
    },
  };

  it.each<[string, string, ServiceSpec]>([
    ['--gpu 1', '--gpu 1', { gpu: { count: 1 } }],
    ['--gpu=0', '--gpu=0', { gpu: { count: 0 } }],
    ['--gpu-type', '--gpu-type nvidia-l4', { gpu: { type: 'nvidia-l4' } }],
    ['--gpu-zonal-redundancy', '--gpu-zonal-redundancy', { gpu: { zonalRedundancy: true } }],
    ['--no-gpu-zonal-redundancy', '--no-gpu-zonal-redundancy', { gpu: { zonalRedundancy: false } }],
    ['--gpu-zonal-redundancy=false', '--gpu-zonal-redundancy=false', { gpu: { zonalRedundancy: false } }],
  ])('%s', (_what, flags, spec) => {
    expect(parseFlags(flags)).toEqual(spec);
  });

  it('refuses a count other than 0 or 1, an unknown type, and GPU flags on a job', () => {
    expect(() => parseFlags('--gpu 2')).toThrow("Input 'flags (--gpu)' is invalid");
    expect(() => parseFlags('--gpu-type nvidia-t4')).toThrow("Input 'flags (--gpu-type)' is invalid");
    expect(() => parseFlags('--gpu 1', 'job')).toThrow(/has no such flag/);
  });

  it('sets the limit, the node selector and zonal redundancy, and --gpu=0 removes the GPU and its type', () => {
    const t = planned('--gpu 1 --gpu-type nvidia-l4 --no-gpu-zonal-redundancy', cpuOnly);
    expect(t.containers?.[0]?.resources).toEqual({
      limits: { cpu: '4', memory: '16Gi', 'nvidia.com/gpu': '1' },
      cpuIdle: false,
    });
    expect(t.nodeSelector).toEqual({ accelerator: 'nvidia-l4' });
    expect(t.gpuZonalRedundancyDisabled).toBe(true);
    const none = planned('--gpu 0');
    expect(none.containers?.[0]?.resources?.limits).toEqual({ cpu: '4', memory: '16Gi' });
    expect(none.nodeSelector).toBeUndefined();
  });

  it('reads live resources without cpuIdle as CPU always allocated (proto3 JSON leaves a false bool out)', () => {
    const alwaysOn: Service = {
      template: {
        containers: [
          { image: 'x', resources: { limits: { cpu: '4', memory: '16Gi', 'nvidia.com/gpu': '1' } } },
        ],
      },
    };
    const t = planned('--memory 20Gi --gpu-zonal-redundancy', alwaysOn);
    expect(t.containers?.[0]?.resources?.cpuIdle).toBe(false);
    const fresh = planned('--memory 1Gi', { template: { containers: [{ image: 'x' }] } });
    expect(fresh.containers?.[0]?.resources?.cpuIdle).toBe(true);
  });

  it.each<[string, ServiceSpec, RegExp]>([
    [
      'too little CPU',
      { cpu: '2', memory: '16Gi', gpu: { count: 1 } },
      /at least 4 CPU; the `cpu` setting gives 2/,
    ],
    [
      'too little memory',
      { memory: '8Gi', gpu: { count: 1 } },
      /at least 16Gi of memory; the `memory` setting gives 8Gi/,
    ],
    ['CPU throttling', { cpuThrottling: true, gpu: { type: 'nvidia-l4' } }, /--no-cpu-throttling/],
    ['no GPU and a type', { gpu: { count: 0, type: 'nvidia-l4' } }, /Remove --gpu-type/],
  ])('refuses %s when the inputs are read', (_what, spec, error) => {
    expect(errorOf(() => checkGpuInputs(spec))).toMatch(error);
  });

  it('refuses, before anything changes, a GPU on what the live service keeps: its CPU, memory or throttling', () => {
    const small: Service = {
      template: { containers: [{ image: 'x', resources: { limits: { cpu: '2' } } }] },
    };
    expect(() => planned('--gpu 1 --memory 16Gi --no-cpu-throttling', small)).toThrow(
      /would have 2\. Nothing was changed/,
    );
    expect(() => planned('--gpu 1 --cpu 4 --no-cpu-throttling', small)).toThrow(/would have 512Mi/);
    expect(() =>
      planned('--gpu 1 --cpu 4 --memory 16Gi', { template: { containers: [{ image: 'x' }] } }),
    ).toThrow(/would throttle CPU/);
    expect(() => planned('--gpu 1', cpuOnly)).not.toThrow();
  });
});
