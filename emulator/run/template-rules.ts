// What Cloud Run refuses in a service's revision template about its volumes, its VPC access and its
// GPU, beyond the schema: checked on every write (v2, and v1 after knative.ts translated it), with the
// message Google gives where it is documented or observed, and words of our own, marked UNCONFIRMED,
// where it is not. Sources, by rule:
// - VPC access: "one and only one of connector and network_interfaces must be set" (observed:
//   `Violation in CreateServiceRequest.service.template.vpc_access.connector: …`,
//   googleapis/google-cloud-node#4731);
// - the Cloud SQL volume's name: "Cloud SQL volume must be named 'cloudsql', and 'cloudsql' is
//   reserved for Cloud SQL volumes" (a googleapi message quoted in pulumi/pulumi-gcp#1093);
// - GPU (cloud.google.com/run/docs/configuring/services/gpu): one GPU per instance, on one container;
//   an L4 needs at least 4 CPU and 16 GiB of memory; CPU always allocated (instance-based billing);
//   the regions that offer GPUs; max instances within the project's GPU quota, worded as Cloud Run
//   words its CPU and memory quota refusals ("Max instances must be set to N or fewer to set the
//   requested total CPU.", googlecodelabs/feedback#1856).
import { badField } from '../errors.js';
import type { FieldStyle, Json } from './model.js';

const GPU_LIMIT = 'nvidia.com/gpu';
/** The GPU types services offer, with the CPU and memory (GiB) each needs at least. */
const GPU_TYPES: Record<string, { cpu: number; memoryGiB: number }> = {
  'nvidia-l4': { cpu: 4, memoryGiB: 16 },
};
/** Regions with GPUs for services (the GPU page's list). */
const GPU_REGIONS = new Set([
  'us-central1',
  'us-east4',
  'europe-west1',
  'europe-west4',
  'asia-southeast1',
  'asia-south1',
]);
/** The emulator's GPU quota per project and region: how many GPU instances max instances may reach. */
export const GPU_QUOTA = 3;

const list = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});

/** How a field is named in an error: v1's Knative path, or the v2 request's. */
function namer(style: FieldStyle): (v2: string, v1: string) => string {
  return (v2, v1) => (style === 'v1' ? v1 : `Violation in ${style}.service.template.${v2}`);
}

const VOLUME_SOURCES = ['secret', 'cloudSqlInstance', 'emptyDir', 'nfs', 'gcs'];

function validateVolumes(template: Json, style: FieldStyle): void {
  const field = namer(style);
  const names = new Set<string>();
  list(template.volumes).forEach((v, i) => {
    const name = String(v.name ?? '');
    const sources = VOLUME_SOURCES.filter((k) => v[k] !== undefined);
    if (sources.length !== 1)
      // UNCONFIRMED wording: the proto's oneof volume_type.
      throw badField(
        field(`volumes[${i}]`, `spec.template.spec.volumes[${i}]`),
        'exactly one volume type must be set.',
      );
    if ((name === 'cloudsql') !== (sources[0] === 'cloudSqlInstance'))
      throw badField(
        field(`volumes[${i}].name`, `spec.template.spec.volumes[${i}].name`),
        "Cloud SQL volume must be named 'cloudsql', and 'cloudsql' is reserved for Cloud SQL volumes.",
      );
    if (names.has(name))
      // UNCONFIRMED wording.
      throw badField(
        field(`volumes[${i}].name`, `spec.template.spec.volumes[${i}].name`),
        `Volume name '${name}' is used by more than one volume.`,
      );
    names.add(name);
    const nfs = obj(v.nfs);
    if (v.nfs !== undefined && (!nfs.server || !String(nfs.path ?? '').startsWith('/')))
      // UNCONFIRMED wording.
      throw badField(
        field(`volumes[${i}].nfs`, `spec.template.spec.volumes[${i}].nfs`),
        'an NFS volume needs a server and an absolute path.',
      );
    if (v.gcs !== undefined && !obj(v.gcs).bucket)
      // UNCONFIRMED wording.
      throw badField(
        field(`volumes[${i}].gcs.bucket`, `spec.template.spec.volumes[${i}].csi`),
        'a Cloud Storage volume needs a bucket.',
      );
  });
  list(template.containers).forEach((c, i) =>
    list(c.volumeMounts).forEach((m, j) => {
      const name = String(m.name ?? '');
      if (!names.has(name))
        // UNCONFIRMED wording, as for a dependsOn naming no container.
        throw badField(
          field(
            `containers[${i}].volume_mounts[${j}].name`,
            `spec.template.spec.containers[${i}].volumeMounts[${j}].name`,
          ),
          `Volume '${name}' does not exist in this revision.`,
        );
    }),
  );
}

function validateVpcAccess(template: Json, style: FieldStyle): void {
  const access = template.vpcAccess;
  if (access === undefined || Object.keys(obj(access)).length === 0) return;
  const field = namer(style);
  const { connector, networkInterfaces } = obj(access);
  const interfaces = list(networkInterfaces);
  if (Boolean(connector) === interfaces.length > 0)
    throw badField(
      field(
        'vpc_access.connector',
        'spec.template.metadata.annotations[run.googleapis.com/vpc-access-connector]',
      ),
      'one and only one of connector and network_interfaces must be set.',
    );
  if (interfaces.length > 1)
    // UNCONFIRMED wording: Cloud Run takes one interface.
    throw badField(
      field(
        'vpc_access.network_interfaces',
        'spec.template.metadata.annotations[run.googleapis.com/network-interfaces]',
      ),
      'at most one network interface is supported.',
    );
  const nic = interfaces[0];
  if (nic && !nic.network && !nic.subnetwork)
    // UNCONFIRMED wording.
    throw badField(
      field(
        'vpc_access.network_interfaces[0]',
        'spec.template.metadata.annotations[run.googleapis.com/network-interfaces]',
      ),
      'a network interface needs a network or a subnetwork.',
    );
}

function cpuOf(limits: Json): number {
  const cpu = String(limits.cpu ?? '1');
  return cpu.endsWith('m') ? Number(cpu.slice(0, -1)) / 1000 : Number(cpu);
}

const MEMORY_UNIT: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, K: 1e3, M: 1e6, G: 1e9 };

function memoryGiB(limits: Json): number {
  const m = /^(\d+)(Ki|Mi|Gi|K|M|G)?$/.exec(String(limits.memory ?? '512Mi'));
  return m ? (Number(m[1]) * (m[2] ? MEMORY_UNIT[m[2]]! : 1)) / 2 ** 30 : NaN;
}

function validateGpu(template: Json, style: FieldStyle, location: string): void {
  const field = namer(style);
  const containers = list(template.containers);
  const withGpu = containers
    .map((c, i) => ({ c, i, limits: obj(obj(c.resources).limits) }))
    .filter(({ limits }) => limits[GPU_LIMIT] !== undefined);
  const accelerator = obj(template.nodeSelector).accelerator as string | undefined;
  if (accelerator !== undefined && !GPU_TYPES[accelerator])
    // UNCONFIRMED wording.
    throw badField(
      field('node_selector.accelerator', 'spec.template.spec.nodeSelector[run.googleapis.com/accelerator]'),
      `GPU type '${accelerator}' is not supported. Supported types: ${Object.keys(GPU_TYPES).join(', ')}.`,
    );
  if (!withGpu.length) return;
  // The GPU's words below are UNCONFIRMED; the rules are the GPU page's.
  if (withGpu.length > 1)
    throw badField(
      field('containers', 'spec.template.spec.containers'),
      'A GPU can be attached to only one container.',
    );
  const { c, i, limits } = withGpu[0]!;
  const limit = (name: string): string =>
    field(
      `containers[${i}].resources.limits[${name}]`,
      `spec.template.spec.containers[${i}].resources.limits[${name}]`,
    );
  if (String(limits[GPU_LIMIT]) !== '1')
    throw badField(
      limit(GPU_LIMIT),
      `Invalid value specified for GPU: ${String(limits[GPU_LIMIT])}. Cloud Run supports 1 GPU per instance.`,
    );
  if (!GPU_REGIONS.has(location))
    throw badField(limit(GPU_LIMIT), `GPU is not supported in region ${location}.`);
  const type = GPU_TYPES[accelerator ?? 'nvidia-l4']!;
  if (cpuOf(limits) < type.cpu)
    throw badField(limit('cpu'), `Invalid value specified for cpu. A GPU requires at least ${type.cpu} CPU.`);
  if (!(memoryGiB(limits) >= type.memoryGiB))
    throw badField(
      limit('memory'),
      `Invalid value specified for memory. A GPU requires at least ${type.memoryGiB}Gi of memory.`,
    );
  if (obj(c.resources).cpuIdle !== false)
    throw badField(
      field(
        `containers[${i}].resources.cpu_idle`,
        'spec.template.metadata.annotations[run.googleapis.com/cpu-throttling]',
      ),
      'A GPU requires CPU to be always allocated (instance-based billing).',
    );
  const max = obj(template.scaling).maxInstanceCount;
  if (typeof max === 'number' && max > GPU_QUOTA)
    throw badField(
      field(
        'scaling.max_instance_count',
        'spec.template.metadata.annotations[autoscaling.knative.dev/maxScale]',
      ),
      `Max instances must be set to ${GPU_QUOTA} or fewer to set the requested total GPU.`,
    );
}

/** Cloud Run's rules for a service template's volumes, VPC access and GPU, in `location`. */
export function validateTemplateRules(template: Json, style: FieldStyle, location: string): void {
  validateVolumes(template, style);
  validateVpcAccess(template, style);
  validateGpu(template, style, location);
}
