// The service settings a deploy may change, shared by the typed inputs, deploy-cloudrun's `flags`
// and the planner. Every field is optional: unset means "leave the live service alone".
import type { KeyValues } from './kv.js';

export interface SecretRef {
  /** A secret name in the service's project, or projects/P/secrets/NAME. */
  secret: string;
  version: string;
}

export interface SecretRefs {
  /** Environment variable name → secret. */
  env: Record<string, SecretRef>;
  /** Absolute file path in the container → secret. */
  files: Record<string, SecretRef>;
}

export type Ingress = 'all' | 'internal' | 'internal-and-cloud-load-balancing';
export type VpcEgress = 'all-traffic' | 'private-ranges-only';
export type ExecutionEnvironment = 'gen1' | 'gen2';

/** A volume gcloud's --add-volume describes (its GA types), as inputs/volumes.ts reads it. */
export type AddedVolume =
  | { name: string; type: 'in-memory'; sizeLimit?: string }
  | { name: string; type: 'nfs'; server: string; path: string; readOnly: boolean }
  | { name: string; type: 'cloud-storage'; bucket: string; readOnly: boolean };

/** gcloud's volume flags, applied in gcloud's order: mounts and volumes removed, then added. */
export interface VolumeFlags {
  /** --remove-volume-mount: mount paths. */
  removeMounts?: string[];
  /** --clear-volume-mounts */
  clearMounts?: boolean;
  /** --remove-volume: volume names. */
  remove?: string[];
  /** --clear-volumes (Cloud SQL connections are not volumes to gcloud, and stay). */
  clear?: boolean;
  /** --add-volume, in the order given. */
  add?: AddedVolume[];
  /** --add-volume-mount, in the order given. */
  addMounts?: Array<{ volume: string; mountPath: string }>;
}

/** gcloud's Direct VPC egress flags: '' (or []) clears a part of the network interface. */
export interface DirectVpcFlags {
  network?: string;
  subnet?: string;
  /** --network-tags; [] for --clear-network-tags. */
  tags?: string[];
  /** --clear-network: no network interface, and no egress setting. */
  clear?: boolean;
  /** --clear-vpc-connector: no connector, and no egress setting. */
  clearConnector?: boolean;
}

/** gcloud's GPU flags. */
export interface GpuFlags {
  /** --gpu: 0 removes the GPU (and its type). */
  count?: number;
  /** --gpu-type, e.g. nvidia-l4. */
  type?: string;
  /** --[no-]gpu-zonal-redundancy */
  zonalRedundancy?: boolean;
}

export interface ServiceSpec {
  envVars?: KeyValues;
  /** gcloud's --set-env-vars: `envVars` replace every live variable, whatever the update strategy. */
  replaceEnvVars?: boolean;
  secrets?: SecretRefs;
  port?: number;
  cpu?: string;
  memory?: string;
  minInstances?: number;
  maxInstances?: number;
  concurrency?: number;
  timeoutSeconds?: number;
  runtimeServiceAccount?: string;
  allowUnauthenticated?: boolean;
  ingress?: Ingress;
  vpcConnector?: string;
  vpcEgress?: VpcEgress;
  cloudsqlInstances?: string[];
  /** gcloud's --add-cloudsql-instances: added to the live instances (or to `cloudsqlInstances`). */
  addCloudsqlInstances?: string[];
  cpuBoost?: boolean;
  /** false = CPU always allocated (gcloud's --no-cpu-throttling). */
  cpuThrottling?: boolean;
  executionEnvironment?: ExecutionEnvironment;
  command?: string[];
  args?: string[];
  labels?: KeyValues;
  volumes?: VolumeFlags;
  directVpc?: DirectVpcFlags;
  gpu?: GpuFlags;
}

export const SPEC_INPUT_NAMES: Record<keyof ServiceSpec, string> = {
  envVars: 'env_vars',
  replaceEnvVars: 'flags (--set-env-vars)',
  secrets: 'secrets',
  port: 'port',
  cpu: 'cpu',
  memory: 'memory',
  minInstances: 'min_instances',
  maxInstances: 'max_instances',
  concurrency: 'concurrency',
  timeoutSeconds: 'timeout',
  runtimeServiceAccount: 'runtime_service_account',
  allowUnauthenticated: 'allow_unauthenticated',
  ingress: 'ingress',
  vpcConnector: 'vpc_connector',
  vpcEgress: 'vpc_egress',
  cloudsqlInstances: 'cloudsql_instances',
  addCloudsqlInstances: 'flags (--add-cloudsql-instances)',
  cpuBoost: 'cpu_boost',
  cpuThrottling: 'flags (--[no-]cpu-throttling)',
  executionEnvironment: 'execution_environment',
  command: 'flags (--command)',
  args: 'flags (--args)',
  labels: 'labels',
  volumes: 'flags (--add-volume, --add-volume-mount)',
  directVpc: 'flags (--network, --subnet, --network-tags)',
  gpu: 'flags (--gpu, --gpu-type)',
};

/** A Cloud Run job's own settings (beside the container settings it shares with a service). */
export interface JobSpec {
  /** taskCount: how many tasks one execution runs. */
  tasks?: number;
  parallelism?: number;
  maxRetries?: number;
  taskTimeoutSeconds?: number;
}

/** What a job deploy does after the job is updated: nothing, start an execution, or run one to its end. */
export type JobExecute = 'none' | 'start' | 'wait';

/** The job settings `flags` may carry (gcloud run jobs deploy's), beside the shared ones. */
export interface JobFlags extends JobSpec {
  /** --execute-now */
  executeNow?: boolean;
  /** --wait (implies --execute-now, as in gcloud) */
  wait?: boolean;
}

export const JOB_INPUT_NAMES: Record<keyof JobFlags, string> = {
  tasks: 'tasks',
  parallelism: 'parallelism',
  maxRetries: 'max_retries',
  taskTimeoutSeconds: 'task_timeout',
  executeNow: 'execute',
  wait: 'wait',
};
