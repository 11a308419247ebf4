// The `metadata` input when its file is a Cloud Run Job (run.googleapis.com/v1, `kind: Job`), which
// deploy-cloudrun hands to `gcloud run jobs replace`: read into the Admin API v2 Job it stands for,
// as Cloud Run reads v1's annotations as v2's fields. As for a Service file, what v2 cannot hold, or
// Runway cannot deploy as the file means it, is refused with the field at fault; only what a read
// from Cloud Run carries and a write ignores (status, uid, creator, …) is dropped. No I/O here but
// the file, read through service-yaml's reader, which also picks the kind.
import type { Job } from '../gcp/run-types.js';
import {
  CLOUD_SQL,
  CLOUD_SQL_VOLUME,
  DROPPED_TEMPLATE_ANNOTATIONS,
  DROPPED_TEMPLATE_LABELS,
  EXECUTION_ENVIRONMENT,
  FILE_KINDS,
  LOCATION_LABEL,
  OUTPUT_METADATA,
  Reader,
  VPC_EGRESS,
  choice,
  compact,
  isMap,
  jsonList,
  readYamlFile,
  serviceFromKnative,
  setPath,
  text,
  type Json,
  type Mapping,
  type MetadataFile,
  type ServiceYaml,
} from './service-yaml.js';

export const JOB_API_VERSION = FILE_KINDS.Job.api;

/** A job file, read. */
export interface JobYaml extends MetadataFile {
  kind: 'Job';
  /** The whole v2 job the file describes: a deploy starts from it, not from the live job. */
  job: Job;
}

/** Job annotations that are v2 Job fields. */
const JOB_ANNOTATIONS: Record<string, Mapping> = {
  'run.googleapis.com/client-name': [['client'], text],
  'run.googleapis.com/client-version': [['clientVersion'], text],
  'run.googleapis.com/launch-stage': [['launchStage'], text],
};

/** Job annotations and labels a read from Cloud Run carries (the server's own) and a write ignores. */
const OUTPUT_ANNOTATIONS = new Set([
  'serving.knative.dev/creator',
  'serving.knative.dev/lastModifier',
  'run.googleapis.com/creator',
  'run.googleapis.com/lastModifier',
  'run.googleapis.com/operation-id',
  'run.googleapis.com/satisfiesPzs',
]);
const OUTPUT_LABELS = ['run.googleapis.com/satisfiesPzs'];

/** Execution-template annotations that are fields of v2's task template. */
const TASK_ANNOTATIONS: Record<string, Mapping> = {
  'run.googleapis.com/execution-environment': [['executionEnvironment'], choice(EXECUTION_ENVIRONMENT)],
  'run.googleapis.com/vpc-access-connector': [['vpcAccess', 'connector'], text],
  'run.googleapis.com/vpc-access-egress': [['vpcAccess', 'egress'], choice(VPC_EGRESS)],
  'run.googleapis.com/network-interfaces': [['vpcAccess', 'networkInterfaces'], jsonList],
  'run.googleapis.com/encryption-key': [['encryptionKey'], text],
};

/** A task's container has no port and no probe: it runs to its end, nothing is sent to it. */
const SERVICE_CONTAINER_FIELDS = ['ports', 'livenessProbe', 'startupProbe', 'readinessProbe'];

/** A parsed Knative Job document as the v2 job Cloud Run makes of it. */
export function jobFromKnative(doc: unknown, path: string): JobYaml {
  const r = new Reader(path, 'Job');
  if (!isMap(doc)) throw r.fail('(file)', 'expected a Cloud Run Job: a YAML mapping.');
  const top = r.map(doc, '', ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  if (top.kind !== 'Job') throw r.fail('kind', `expected Job, got ${JSON.stringify(top.kind)}.`);
  if (top.apiVersion !== JOB_API_VERSION)
    throw r.fail('apiVersion', `expected ${JOB_API_VERSION}, got ${JSON.stringify(top.apiVersion)}.`);
  const meta = r.map(top.metadata, 'metadata', [
    'name',
    'namespace',
    'labels',
    'annotations',
    ...OUTPUT_METADATA,
  ]);
  const name = r.string(meta.name, 'metadata.name');
  if (!name) throw r.fail('metadata.name', 'missing: the job needs a name.');
  const namespace = meta.namespace === undefined ? undefined : String(meta.namespace as string | number);
  const job: Json = {};
  const labels = r.stringMap(meta.labels, 'metadata.labels');
  const location = labels[LOCATION_LABEL];
  delete labels[LOCATION_LABEL];
  for (const key of OUTPUT_LABELS) delete labels[key];
  job.labels = r.plainLabels(labels, 'metadata.labels');
  job.annotations = r.annotations(meta.annotations, 'metadata.annotations', (key, value, field) => {
    if (OUTPUT_ANNOTATIONS.has(key)) return true;
    const mapping = JOB_ANNOTATIONS[key];
    if (mapping) setPath(job, mapping[0], mapping[1](r, value, field));
    return Boolean(mapping);
  });
  const spec = r.map(top.spec, 'spec', ['template']);
  if (spec.template === undefined || spec.template === null)
    throw r.fail('spec.template', 'missing: the job needs its execution template.');
  job.template = executionTemplate(r, spec.template);
  return { kind: 'Job', path, name, job: compact(job) as unknown as Job, location, namespace };
}

function executionTemplate(r: Reader, value: unknown): Json {
  const t = r.map(value, 'spec.template', ['metadata', 'spec']);
  const meta = r.map(t.metadata, 'spec.template.metadata', ['labels', 'annotations']);
  const spec = r.map(t.spec, 'spec.template.spec', ['parallelism', 'taskCount', 'template']);
  const labels = r.stringMap(meta.labels, 'spec.template.metadata.labels');
  for (const key of DROPPED_TEMPLATE_LABELS) delete labels[key];
  const task = taskTemplate(r, spec.template);
  let cloudSql: string[] = [];
  const annotations = r.annotations(meta.annotations, 'spec.template.metadata.annotations', (key, v, at) => {
    const mapping = TASK_ANNOTATIONS[key];
    if (mapping) setPath(task, mapping[0], mapping[1](r, v, at));
    else if (key === CLOUD_SQL)
      cloudSql = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else return DROPPED_TEMPLATE_ANNOTATIONS.has(key);
    return true;
  });
  if (cloudSql.length) {
    task.volumes = [
      ...(task.volumes as Json[]),
      { name: CLOUD_SQL_VOLUME, cloudSqlInstance: { instances: cloudSql } },
    ];
    const first = (task.containers as Json[])[0]!;
    first.volumeMounts = [
      ...((first.volumeMounts as Json[] | undefined) ?? []),
      { name: CLOUD_SQL_VOLUME, mountPath: '/cloudsql' },
    ];
  }
  return {
    labels: r.plainLabels(labels, 'spec.template.metadata.labels'),
    annotations,
    taskCount: r.integer(spec.taskCount, 'spec.template.spec.taskCount'),
    parallelism: r.integer(spec.parallelism, 'spec.template.spec.parallelism'),
    template: task,
  };
}

function taskTemplate(r: Reader, value: unknown): Json {
  const at = 'spec.template.spec.template';
  const t = r.map(value, at, ['spec']);
  const spec = r.map(t.spec, `${at}.spec`, [
    'containers',
    'volumes',
    'maxRetries',
    'timeoutSeconds',
    'serviceAccountName',
  ]);
  const containers = r.list(spec.containers, `${at}.spec.containers`).map((c, i) => {
    const field = `${at}.spec.containers[${i}]`;
    for (const key of SERVICE_CONTAINER_FIELDS)
      if (isMap(c) && c[key] !== undefined && c[key] !== null)
        throw r.fail(
          `${field}.${key}`,
          `a service's setting: a job's task runs to its end and takes no ${key === 'ports' ? 'requests' : 'probes'}.`,
          `the file without \`${key}\``,
        );
    const container = r.container(c, field);
    delete container.ports;
    delete container.livenessProbe;
    delete container.startupProbe;
    delete container.readinessProbe;
    return container;
  });
  if (!containers.length)
    throw r.fail(`${at}.spec.containers`, 'missing: a task runs at least one container.');
  // An int64, which a file exported from Cloud Run quotes (proto3 JSON); gcloud reads either.
  const timeoutField = `${at}.spec.timeoutSeconds`;
  const quoted = typeof spec.timeoutSeconds === 'string' && /^\d{1,7}$/.test(spec.timeoutSeconds);
  const timeout = r.integer(quoted ? Number(spec.timeoutSeconds) : spec.timeoutSeconds, timeoutField);
  return {
    containers,
    volumes: r
      .list(spec.volumes, `${at}.spec.volumes`)
      .map((v, i) => r.volume(v, `${at}.spec.volumes[${i}]`)),
    maxRetries: r.integer(spec.maxRetries, `${at}.spec.maxRetries`),
    timeout: timeout === undefined ? undefined : `${timeout}s`,
    serviceAccount: r.string(spec.serviceAccountName, `${at}.spec.serviceAccountName`),
  };
}

/**
 * Reads the `metadata` file at `path` (inside the workspace, through symlinks) as the kind it
 * says: a Knative Service, or a Cloud Run Job.
 */
export function readMetadataFile(path: string, workspaceDir?: string): ServiceYaml | JobYaml {
  const doc = readYamlFile(path, workspaceDir);
  return isMap(doc) && doc.kind === 'Job' ? jobFromKnative(doc, path) : serviceFromKnative(doc, path);
}
