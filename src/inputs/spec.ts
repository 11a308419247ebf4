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

/** gcloud's per-container volume flags: one container's mounts. */
export interface MountFlags {
  /** --remove-volume-mount: mount paths. */
  removeMounts?: string[];
  /** --clear-volume-mounts */
  clearMounts?: boolean;
  /** --add-volume-mount, in the order given. */
  addMounts?: Array<{ volume: string; mountPath: string }>;
}

/** gcloud's volume flags, applied in gcloud's order: mounts and volumes removed, then added. */
export interface VolumeFlags extends MountFlags {
  /** --remove-volume: volume names. */
  remove?: string[];
  /** --clear-volumes (Cloud SQL connections are not volumes to gcloud, and stay). */
  clear?: boolean;
  /** --add-volume, in the order given. */
  add?: AddedVolume[];
}

/** gcloud's Direct VPC egress flags: '' (or []) clears a part of the network interface. */
export interface DirectVpcFlags {
  network?: string;
  subnet?: string;
  /** --network-tags; [] for --clear-network-tags. */
  tags?: string[];
  /** --clear-network: no network interface, and no egress setting. */
  clear?: boolean;
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

/** A container probe as the v2 API spells it (gcloud's --startup-probe/--liveness-probe keys). */
export interface Probe {
  initialDelaySeconds?: number;
  timeoutSeconds?: number;
  periodSeconds?: number;
  failureThreshold?: number;
  httpGet?: { path?: string; port?: number };
  tcpSocket?: { port?: number };
  grpc?: { port?: number; service?: string };
}

/**
 * What one container may be given: gcloud's per-container flags (those a `--container NAME` scopes).
 * Unscoped, they are the target container's (the `container` input's, else the ingress container).
 */
export interface ContainerSpec {
  /** Only in a `--container` scope: the target container's image is the `image` input. */
  image?: string;
  envVars?: KeyValues;
  /** gcloud's --set-env-vars: `envVars` replace every live variable, whatever the update strategy. */
  replaceEnvVars?: boolean;
  /** gcloud's --remove-env-vars: plain variables dropped before `envVars` apply. */
  removeEnvVars?: string[];
  /** gcloud's --clear-env-vars: every plain variable dropped before `envVars` apply. */
  clearEnvVars?: boolean;
  /** Secret env vars and files (--set-secrets, --update-secrets; for the target, the `secrets` input). */
  secrets?: SecretRefs;
  /** gcloud's --set-secrets: `secrets` replace every live secret, whatever the update strategy. */
  replaceSecrets?: boolean;
  /** --remove-secrets: secret env vars (by name) and secret files (by path) dropped. */
  removeSecrets?: string[];
  /** --clear-secrets: every secret env var and secret file dropped before `secrets` apply. */
  clearSecrets?: boolean;
  port?: number;
  /** --use-http2: the port is named h2c (false: http1). */
  useHttp2?: boolean;
  cpu?: string;
  memory?: string;
  command?: string[];
  args?: string[];
  /** --depends-on: the containers this one starts after (replaces the live list). */
  dependsOn?: string[];
  /** null = remove the probe (gcloud's --startup-probe=""). */
  startupProbe?: Probe | null;
  livenessProbe?: Probe | null;
  /** This container's mounts (a service's `volumes` also changes the template's volumes). */
  volumes?: MountFlags;
}

export interface ServiceSpec extends ContainerSpec {
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
  labels?: KeyValues;
  volumes?: VolumeFlags;
  directVpc?: DirectVpcFlags;
  gpu?: GpuFlags;
  /** The `container` input: the container that takes the new image and the unscoped settings. */
  container?: string;
  /** `--container NAME` scopes, in the order given: each container's own settings. */
  containers?: Record<string, ContainerSpec>;
  /** --remove-containers */
  removeContainers?: string[];
  /** --no-invoker-iam-check: anyone may invoke the service, without IAM (invokerIamDisabled). */
  invokerIamDisabled?: boolean;
  customAudiences?: ListChange;
  /** --description (service.description); '' removes it. */
  description?: string;
  sessionAffinity?: boolean;
  /** --min: the service-level minimum instances (service.scaling.minInstanceCount); null = 'default'. */
  serviceMinInstances?: number | null;
  /** --binary-authorization: 'default' or a policy name; null = --clear-binary-authorization. */
  binaryAuthorization?: string | null;
  breakglass?: string;
  /** --key (a Cloud KMS key name); null = --clear-key. */
  encryptionKey?: string | null;
  /** --post-key-revocation-action-type; null = cleared. */
  keyRevocationAction?: 'prevent-new' | 'shut-down' | null;
  /** --encryption-key-shutdown-hours; null = cleared. */
  keyShutdownHours?: number | null;
  removeCloudsqlInstances?: string[];
  clearCloudsqlInstances?: boolean;
  clearVpcConnector?: boolean;
  /** --remove-labels / --clear-labels: live labels dropped before `labels` apply. */
  removeLabels?: string[];
  clearLabels?: boolean;
}

/** gcloud's --set-/--add-/--remove-/--clear- quartet on a list (its repeated.ParsePrimitiveArgs). */
export interface ListChange {
  set?: string[];
  add?: string[];
  remove?: string[];
  clear?: boolean;
}

export const SPEC_INPUT_NAMES: Record<keyof ServiceSpec, string> = {
  image: 'image',
  envVars: 'env_vars',
  replaceEnvVars: 'flags (--set-env-vars)',
  removeEnvVars: 'flags (--remove-env-vars)',
  clearEnvVars: 'flags (--clear-env-vars)',
  removeSecrets: 'flags (--remove-secrets)',
  replaceSecrets: 'flags (--set-secrets)',
  clearSecrets: 'flags (--clear-secrets)',
  useHttp2: 'flags (--[no-]use-http2)',
  dependsOn: 'flags (--depends-on)',
  startupProbe: 'flags (--startup-probe)',
  livenessProbe: 'flags (--liveness-probe)',
  container: 'container',
  containers: 'flags (--container)',
  removeContainers: 'flags (--remove-containers)',
  invokerIamDisabled: 'flags (--[no-]invoker-iam-check)',
  customAudiences: 'flags (--*-custom-audiences)',
  description: 'flags (--description)',
  sessionAffinity: 'flags (--[no-]session-affinity)',
  serviceMinInstances: 'flags (--min)',
  binaryAuthorization: 'flags (--binary-authorization)',
  breakglass: 'flags (--breakglass)',
  encryptionKey: 'flags (--key)',
  keyRevocationAction: 'flags (--post-key-revocation-action-type)',
  keyShutdownHours: 'flags (--encryption-key-shutdown-hours)',
  removeCloudsqlInstances: 'flags (--remove-cloudsql-instances)',
  clearCloudsqlInstances: 'flags (--clear-cloudsql-instances)',
  clearVpcConnector: 'flags (--clear-vpc-connector)',
  removeLabels: 'flags (--remove-labels)',
  clearLabels: 'flags (--clear-labels)',
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

/**
 * The `flags` that stand for a typed input of the deploy itself. deploy-cloudrun passes its inputs
 * to gcloud first and `flags` after them, so these work in `flags` as they do in gcloud.
 */
export interface DeployFlags {
  /** --image (unscoped: the target container's) */
  image?: string;
  /** --tag */
  tag?: string;
  /** --revision-suffix */
  suffix?: string;
  /** --no-traffic */
  noTraffic?: boolean;
  /** --region (gcloud takes the last one given: deploy-cloudrun's own comes first) */
  region?: string;
  /** --project */
  project?: string;
}

export const JOB_INPUT_NAMES: Record<keyof JobFlags, string> = {
  tasks: 'tasks',
  parallelism: 'parallelism',
  maxRetries: 'max_retries',
  taskTimeoutSeconds: 'task_timeout',
  executeNow: 'execute',
  wait: 'wait',
};
