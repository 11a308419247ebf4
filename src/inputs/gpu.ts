// gcloud's GPU flags in `flags` (--gpu, --gpu-type, --[no-]gpu-zonal-redundancy) read into spec.gpu,
// and Cloud Run's rules for a GPU that the inputs alone can break, checked when the inputs are read,
// before anything changes (cloud.google.com/run/docs/configuring/services/gpu): one GPU per
// instance, of a type Cloud Run offers, with at least 4 CPU and 16 GiB of memory, and CPU always
// allocated (instance-based billing). What the live service adds is checked by deploy/gpu.ts.
import { InputError, RunwayError } from '../errors.js';
import type { GpuFlags, ServiceSpec } from './spec.js';

/**
 * The GPU types Cloud Run services offer within the CPU and memory Runway can set (at most 8 CPU and
 * 32Gi), and the CPU and memory each needs at least.
 */
export const GPU_TYPES: Record<string, { minCpu: number; minMemoryGiB: number }> = {
  'nvidia-l4': { minCpu: 4, minMemoryGiB: 16 },
};
export const DEFAULT_GPU_TYPE = 'nvidia-l4';

function gpu(spec: ServiceSpec): GpuFlags {
  return (spec.gpu ??= {});
}

/** --gpu: Cloud Run gives an instance 0 or 1 GPU (gcloud's help: "Cloud Run supports values 0 or 1"). */
export function setGpu(spec: ServiceSpec, raw: string, name: string): void {
  if (raw !== '0' && raw !== '1')
    throw new InputError(name, raw, '`1` (one GPU per instance) or `0` (no GPU)');
  gpu(spec).count = Number(raw);
}

export function setGpuType(spec: ServiceSpec, raw: string, name: string): void {
  if (!(raw in GPU_TYPES))
    throw new InputError(
      name,
      raw,
      Object.keys(GPU_TYPES)
        .map((t) => `\`${t}\``)
        .join(', '),
    );
  gpu(spec).type = raw;
}

export function setGpuZonalRedundancy(spec: ServiceSpec, on: boolean): void {
  gpu(spec).zonalRedundancy = on;
}

/** CPU as a number of vCPUs: `4`, `0.5`, `500m`. */
export function cpuCount(cpu: string): number {
  return cpu.endsWith('m') ? Number(cpu.slice(0, -1)) / 1000 : Number(cpu);
}

const MEMORY_GIB: Record<string, number> = { Mi: 1 / 1024, Gi: 1, M: 1e6 / 2 ** 30, G: 1e9 / 2 ** 30 };

/** Memory in GiB: `16Gi`, `16384Mi`, `17G`. */
export function memoryGiB(memory: string): number {
  const m = /^(\d+(?:\.\d+)?)(Mi|Gi|M|G)$/.exec(memory.trim());
  return m ? Number(m[1]) * MEMORY_GIB[m[2]!]! : NaN;
}

/** What a GPU needs of the rest of the spec, as far as the inputs say. */
export function checkGpuInputs(spec: ServiceSpec): void {
  const g = spec.gpu;
  if (!g) return;
  if (g.count === 0) {
    if (g.type !== undefined)
      throw new RunwayError(
        '`flags` asks for no GPU (--gpu=0) and a GPU type (--gpu-type) at once.',
        'Remove --gpu-type to drop the GPU, or give --gpu=1 to keep one.',
      );
    return;
  }
  if (g.count === undefined && g.type === undefined) return;
  const type = GPU_TYPES[g.type ?? DEFAULT_GPU_TYPE]!;
  const typeName = g.type ?? DEFAULT_GPU_TYPE;
  if (spec.cpu !== undefined && cpuCount(spec.cpu) < type.minCpu)
    throw new RunwayError(
      `A ${typeName} GPU needs at least ${type.minCpu} CPU; the \`cpu\` setting gives ${spec.cpu}.`,
      `Set \`cpu\` (or --cpu in \`flags\`) to ${type.minCpu} or more.`,
    );
  if (spec.memory !== undefined && memoryGiB(spec.memory) < type.minMemoryGiB)
    throw new RunwayError(
      `A ${typeName} GPU needs at least ${type.minMemoryGiB}Gi of memory; the \`memory\` setting gives ${spec.memory}.`,
      `Set \`memory\` (or --memory in \`flags\`) to ${type.minMemoryGiB}Gi or more.`,
    );
  if (spec.cpuThrottling === true)
    throw new RunwayError(
      'A GPU needs CPU always allocated, and `flags` has --cpu-throttling.',
      'Use --no-cpu-throttling (instance-based billing) with a GPU.',
    );
}
