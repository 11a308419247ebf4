// Planning a Cloud Run job's spec: a pure function of the settings and the live job (if any), as
// `gcloud run jobs deploy` would leave it. Unset settings leave the live job alone, except secrets:
// deploy-cloudrun's job path turns --update-secrets into --set-secrets, so they replace. Its
// `--labels` is gcloud's alias of --update-labels: labels merge, as the differential measured.
// With a `metadata` Job file the file takes the live job's place (as `gcloud run jobs replace`),
// and the settings apply on top of it; there `secrets_update_strategy` holds, so the file's stay.
import type { Container, Job, TaskTemplate } from '../gcp/run-types.js';
import type { KeyValues } from '../inputs/kv.js';
import type { JobSpec } from '../inputs/spec.js';
import {
  EXECUTION_ENVIRONMENT,
  planContainer,
  planVolumes,
  planVpcAccess,
  type ContainerChanges,
} from './plan.js';

export interface JobChanges extends ContainerChanges {
  job: string;
  jobSpec: JobSpec;
  /** Labels set on the job and its executions (defaults already merged in), over the live ones. */
  labels: KeyValues;
  /** `metadata` with a Job file: the job it describes, which replaces the live one. */
  fromFile?: Job | undefined;
}

/** How the settings' secrets meet the container's: a file's are kept unless the strategy says. */
function secretsStrategy(changes: JobChanges): JobChanges['secretsUpdateStrategy'] {
  return changes.fromFile ? changes.secretsUpdateStrategy : 'overwrite';
}

function mergeLabels(live: Record<string, string> | undefined, labels: KeyValues): Record<string, string> {
  return { ...(live ?? {}), ...labels };
}

/** A task's container takes no port, and Cloud Run has no CPU throttling or boost for it. */
function taskContainer(live: Container | undefined, changes: JobChanges): Container {
  const container = planContainer(live, {
    ...changes,
    // deploy-cloudrun turns the job path's --update-secrets into --set-secrets: secrets replace.
    secretsUpdateStrategy: secretsStrategy(changes),
  });
  if (container.resources) {
    const { cpuIdle: _idle, startupCpuBoost: _boost, ...resources } = container.resources;
    container.resources = resources;
  }
  delete container.ports;
  return container;
}

function planTaskTemplate(live: TaskTemplate | undefined, changes: JobChanges): TaskTemplate {
  const { spec, jobSpec } = changes;
  const liveContainers = live?.containers ?? [];
  const container = taskContainer(liveContainers[0], changes);
  const template: TaskTemplate = { ...(live ?? {}), containers: [container, ...liveContainers.slice(1)] };
  const volumes = planVolumes(live?.volumes, container, {
    ...changes,
    secretsUpdateStrategy: secretsStrategy(changes),
  });
  if (volumes.length) template.volumes = volumes;
  else delete template.volumes;
  if (spec.runtimeServiceAccount !== undefined) template.serviceAccount = spec.runtimeServiceAccount;
  if (spec.executionEnvironment !== undefined)
    template.executionEnvironment = EXECUTION_ENVIRONMENT[spec.executionEnvironment];
  const vpcAccess = planVpcAccess(live?.vpcAccess, changes);
  if (vpcAccess) template.vpcAccess = vpcAccess;
  else delete template.vpcAccess;
  if (jobSpec.maxRetries !== undefined) template.maxRetries = jobSpec.maxRetries;
  if (jobSpec.taskTimeoutSeconds !== undefined) template.timeout = `${jobSpec.taskTimeoutSeconds}s`;
  return template;
}

/**
 * The job a Job file describes, as the start of a replace: of the live job only its etag is kept
 * (it guards the update); a connector the file names alone is the one in the region deployed to.
 */
function replacement(live: Job | undefined, file: Job, changes: JobChanges): Job {
  const start = structuredClone(file);
  const vpcAccess = start.template.template.vpcAccess;
  if (vpcAccess?.connector && !vpcAccess.connector.includes('/'))
    vpcAccess.connector = `projects/${changes.project}/locations/${changes.region}/connectors/${vpcAccess.connector}`;
  if (live?.etag) start.etag = live.etag;
  return start;
}

export function planJob(liveJob: Job | undefined, changes: JobChanges): Job {
  const live = changes.fromFile ? replacement(liveJob, changes.fromFile, changes) : liveJob;
  const liveTemplate = live?.template;
  const template = {
    ...(liveTemplate ?? {}),
    labels: mergeLabels(liveTemplate?.labels, changes.labels),
    template: planTaskTemplate(liveTemplate?.template, changes),
  };
  if (changes.jobSpec.tasks !== undefined) template.taskCount = changes.jobSpec.tasks;
  if (changes.jobSpec.parallelism !== undefined) template.parallelism = changes.jobSpec.parallelism;
  const planned: Job = { ...(live ?? {}), labels: mergeLabels(live?.labels, changes.labels), template };
  return withoutOutputFields(planned);
}

const OUTPUT_FIELDS = [
  'name',
  'uid',
  'generation',
  'createTime',
  'updateTime',
  'deleteTime',
  'expireTime',
  'creator',
  'lastModifier',
  'observedGeneration',
  'terminalCondition',
  'conditions',
  'executionCount',
  'latestCreatedExecution',
  'reconciling',
  'satisfiesPzs',
] as const;

/** The job as it would be sent back: its output-only fields dropped, its etag kept to guard the update. */
export function withoutOutputFields(job: Job): Job {
  const copy: Job = { ...job };
  for (const field of OUTPUT_FIELDS) delete copy[field];
  return copy;
}
