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
