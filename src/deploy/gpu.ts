// gcloud's GPU flags (spec.gpu) over a template, as `gcloud run deploy` sets them
// (config_changes.py ResourceChanges, GpuTypeChange, GpuZonalRedundancyChange): the GPU is the
// container's `nvidia.com/gpu` limit, its type the template's node selector, zonal redundancy a
// template field; --gpu=0 drops the limit and the type. Then Cloud Run's rules for the GPU the
// planned revision would have, with what the live service keeps, before anything is sent.
import { RunwayError } from '../errors.js';
import type { Container, RevisionTemplate } from '../gcp/run-types.js';
import { cpuCount, DEFAULT_GPU_TYPE, GPU_TYPES, memoryGiB } from '../inputs/gpu.js';
import type { GpuFlags } from '../inputs/spec.js';

export const GPU_LIMIT = 'nvidia.com/gpu';

export function planGpu(template: RevisionTemplate, container: Container, flags: GpuFlags): void {
  if (flags.count !== undefined) {
    const limits = { ...(container.resources?.limits ?? {}) };
    if (flags.count === 0) {
      delete limits[GPU_LIMIT];
      delete template.nodeSelector;
    } else limits[GPU_LIMIT] = String(flags.count);
    container.resources = { ...(container.resources ?? {}), limits };
  }
  if (flags.type !== undefined) template.nodeSelector = { accelerator: flags.type };
  if (flags.zonalRedundancy !== undefined) template.gpuZonalRedundancyDisabled = !flags.zonalRedundancy;
  checkGpu(template, container);
}

/** Cloud Run's rules for a GPU (cloud.google.com/run/docs/configuring/services/gpu), on the planned revision. */
export function checkGpu(template: RevisionTemplate, container: Container): void {
  const count = container.resources?.limits?.[GPU_LIMIT];
  if (count === undefined) return;
  const typeName = template.nodeSelector?.accelerator ?? DEFAULT_GPU_TYPE;
  const type = GPU_TYPES[typeName];
  if (!type) return;
  const cpu = container.resources?.limits?.cpu ?? '1';
  const memory = container.resources?.limits?.memory ?? '512Mi';
  const stop = ' Nothing was changed.';
  if (cpuCount(cpu) < type.minCpu)
    throw new RunwayError(
      `A ${typeName} GPU needs at least ${type.minCpu} CPU, and the revision would have ${cpu}.${stop}`,
      `Set \`cpu\` (or --cpu in \`flags\`) to ${type.minCpu} or more.`,
    );
  if (!(memoryGiB(memory) >= type.minMemoryGiB))
    throw new RunwayError(
      `A ${typeName} GPU needs at least ${type.minMemoryGiB}Gi of memory, and the revision would have ${memory}.${stop}`,
      `Set \`memory\` (or --memory in \`flags\`) to ${type.minMemoryGiB}Gi or more.`,
    );
  // Read back, resources without cpuIdle mean false (proto3 JSON leaves a false bool out).
  if (container.resources?.cpuIdle ?? !container.resources)
    throw new RunwayError(
      `A GPU needs CPU always allocated (instance-based billing), and the revision would throttle CPU.${stop}`,
      'Add --no-cpu-throttling to `flags`.',
    );
}
