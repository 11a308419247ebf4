// The Cloud Run Admin API v2 resources, as their proto3 JSON (api-facts §5.3–5.7): only the fields
// Runway reads or writes are typed; everything else is carried through untouched.

export interface EnvVar {
  name: string;
  value?: string;
  valueSource?: { secretKeyRef: { secret: string; version?: string } };
}

export interface VolumeMount {
  name: string;
  mountPath: string;
}

export interface Volume {
  name: string;
  secret?: {
    secret: string;
    items?: Array<{ path: string; version?: string; mode?: number }>;
    defaultMode?: number;
  };
  cloudSqlInstance?: { instances: string[] };
  [key: string]: unknown;
}

/** VpcAccess: a Serverless VPC Access connector, or Direct VPC egress through one network interface. */
export interface VpcAccess {
  connector?: string;
  egress?: string;
  networkInterfaces?: Array<{ network?: string; subnetwork?: string; tags?: string[] }>;
}

export interface Container {
  name?: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  resources?: { limits?: Record<string, string>; cpuIdle?: boolean; startupCpuBoost?: boolean };
  ports?: Array<{ name?: string; containerPort?: number }>;
  volumeMounts?: VolumeMount[];
  startupProbe?: unknown;
  [key: string]: unknown;
}

export interface RevisionTemplate {
  revision?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  scaling?: { minInstanceCount?: number; maxInstanceCount?: number };
  vpcAccess?: VpcAccess;
  timeout?: string;
  serviceAccount?: string;
  containers?: Container[];
  volumes?: Volume[];
  executionEnvironment?: string;
  maxInstanceRequestConcurrency?: number;
  nodeSelector?: { accelerator: string };
  gpuZonalRedundancyDisabled?: boolean;
  [key: string]: unknown;
}

export type TrafficType = 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST' | 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION';

export interface TrafficTarget {
  type?: TrafficType;
  revision?: string;
  percent?: number;
  tag?: string;
}

export interface TrafficTargetStatus extends TrafficTarget {
  uri?: string;
}

export type ConditionState =
  | 'STATE_UNSPECIFIED'
  | 'CONDITION_PENDING'
  | 'CONDITION_RECONCILING'
  | 'CONDITION_FAILED'
  | 'CONDITION_SUCCEEDED';

export interface Condition {
  type?: string;
  state?: ConditionState;
  message?: string;
  reason?: string;
  revisionReason?: string;
  severity?: string;
  lastTransitionTime?: string;
}

export interface Service {
  name?: string;
  uid?: string;
  generation?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ingress?: string;
  template: RevisionTemplate;
  traffic?: TrafficTarget[];
  scaling?: { minInstanceCount?: number };
  invokerIamDisabled?: boolean;
  customAudiences?: string[];
  description?: string;
  binaryAuthorization?: { useDefault?: boolean; policy?: string; breakglassJustification?: string };
  buildConfig?: BuildConfig;
  observedGeneration?: string;
  terminalCondition?: Condition;
  conditions?: Condition[];
  latestReadyRevision?: string;
  latestCreatedRevision?: string;
  trafficStatuses?: TrafficTargetStatus[];
  uri?: string;
  urls?: string[];
  reconciling?: boolean;
  etag?: string;
  [key: string]: unknown;
}

/** google.cloud.run.v2.BuildConfig: what a source deploy built the service's image from, and how. */
export interface BuildConfig {
  /** Output only. */
  name?: string;
  sourceLocation?: string;
  functionTarget?: string;
  imageUri?: string;
  baseImage?: string;
  enableAutomaticUpdates?: boolean;
  workerPool?: string;
  environmentVariables?: Record<string, string>;
  serviceAccount?: string;
}

export interface Revision {
  name?: string;
  createTime?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** The fields a Revision shares with the RevisionTemplate it was made from. */
const TEMPLATE_FIELDS = [
  'scaling',
  'vpcAccess',
  'timeout',
  'serviceAccount',
  'containers',
  'volumes',
  'executionEnvironment',
  'encryptionKey',
  'maxInstanceRequestConcurrency',
  'serviceMesh',
  'sessionAffinity',
  'encryptionKeyRevocationAction',
  'encryptionKeyShutdownDuration',
  'nodeSelector',
  'gpuZonalRedundancyDisabled',
] as const;

/** Keys the v2 API reserves for itself; a template that carries them is refused. */
const SYSTEM_KEY = /^(run|cloud)\.googleapis\.com\/|^(serving|autoscaling)\.knative\.dev\//;

function userKeys(map: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!map) return undefined;
  return Object.fromEntries(Object.entries(map).filter(([k]) => !SYSTEM_KEY.test(k)));
}

/** The template that would make `revision` again (without its name). */
export function templateOf(revision: Revision): RevisionTemplate {
  const template: Record<string, unknown> = {};
  for (const field of TEMPLATE_FIELDS) if (revision[field] !== undefined) template[field] = revision[field];
  const labels = userKeys(revision.labels);
  const annotations = userKeys(revision.annotations);
  if (labels && Object.keys(labels).length) template.labels = labels;
  if (annotations && Object.keys(annotations).length) template.annotations = annotations;
  return template as RevisionTemplate;
}

export interface Operation<T = Service> {
  name: string;
  done?: boolean;
  metadata?: T;
  response?: T;
  error?: { code: number; message: string; details?: unknown[] };
}

export interface IamPolicy {
  version?: number;
  bindings?: Array<{ role: string; members: string[]; condition?: unknown }>;
  etag?: string;
}

/** Cloud Run's limit for a tag URL's prefix: the tag and the service name together. */
export const MAX_TAG_AND_SERVICE = 46;

/** `projects/p/locations/l/services/s/revisions/r` → `r`. */
export function shortName(resourceName: string | undefined): string | undefined {
  if (!resourceName) return undefined;
  return resourceName.split('/').pop();
}

/** A Cloud Run job's task template (the container settings a task runs with). */
export interface TaskTemplate {
  containers?: Container[];
  volumes?: Volume[];
  maxRetries?: number;
  timeout?: string;
  serviceAccount?: string;
  executionEnvironment?: string;
  vpcAccess?: VpcAccess;
  [key: string]: unknown;
}

export interface ExecutionTemplate {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  parallelism?: number;
  taskCount?: number;
  template: TaskTemplate;
  [key: string]: unknown;
}

export interface Job {
  name?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  template: ExecutionTemplate;
  etag?: string;
  latestCreatedExecution?: { name?: string; createTime?: string; completionTime?: string };
  terminalCondition?: Condition;
  [key: string]: unknown;
}

export interface Execution {
  name?: string;
  job?: string;
  taskCount?: number;
  runningCount?: number;
  succeededCount?: number;
  failedCount?: number;
  cancelledCount?: number;
  retriedCount?: number;
  completionTime?: string;
  logUri?: string;
  conditions?: Condition[];
  [key: string]: unknown;
}

export interface Task {
  name?: string;
  index?: number;
  retried?: number;
  lastAttemptResult?: { status?: { code?: number; message?: string }; exitCode?: number };
  [key: string]: unknown;
}

/** builds:submit's request (google.cloud.run.v2.SubmitBuildRequest), less `parent` (the path). */
export interface SubmitBuildRequest {
  storageSource: { bucket: string; object: string; generation?: string };
  imageUri: string;
  /** A Dockerfile build takes no options; buildpacks take the base image and its updates. */
  dockerBuild?: Record<string, never>;
  buildpackBuild?: {
    baseImage?: string;
    enableAutomaticUpdates?: boolean;
    environmentVariables?: Record<string, string>;
  };
  serviceAccount?: string;
  workerPool?: string;
  tags?: string[];
}

/** builds:submit's answer: the Cloud Build operation to wait on, and what it said of the base image. */
export interface SubmitBuildResponse {
  buildOperation?: { name?: string; done?: boolean };
  baseImageUri?: string;
  baseImageWarning?: string;
}
