// The `metadata` input: a Knative (serving.knative.dev/v1) Service YAML, which deploy-cloudrun hands
// to `gcloud run services replace`, read into the Admin API v2 Service it stands for. gcloud sends
// the file as it is to Cloud Run's v1 API, and Cloud Run reads v1's annotations as v2's fields ("All
// system annotations in v1 now have a corresponding field in v2", v2 reference); this module does
// that reading here, with no I/O beyond the file. What v2 cannot hold, or Runway cannot deploy as
// the file means it, is refused with the field at fault: nothing in the file is ignored silently,
// except what a read from Cloud Run carries and a write ignores (status, uid, creator, …). The
// reader of fields, containers and volumes here also reads Job files (job-yaml.ts).
import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLError } from 'yaml';
import { InputError } from '../errors.js';
import type { Container, Service, Volume } from '../gcp/run-types.js';
import { resolveInputPath } from './paths.js';
import type { SecretRefs } from './spec.js';

export const KNATIVE_API_VERSION = 'serving.knative.dev/v1';
const INPUT = 'metadata';

export type Json = Record<string, unknown>;

/** What every `metadata` file says of itself and of where it goes. */
export interface MetadataFile {
  kind: FileKind;
  /** The path as the input gave it. */
  path: string;
  /** metadata.name */
  name: string;
  /** The region label a file exported from Cloud Run carries (cloud.googleapis.com/location). */
  location: string | undefined;
  /** metadata.namespace: the project, by ID or number, when the file says. */
  namespace: string | undefined;
}

/** A service file, read. */
export interface ServiceYaml extends MetadataFile {
  kind: 'Service';
  /** The whole v2 service the file describes: a deploy starts from it, not from the live service. */
  service: Service;
  /** spec.template.metadata.name: the revision's name, when the file gives one. */
  revision: string | undefined;
  /** spec.traffic, when it says more than "all of it to the latest revision". */
  traffic: FileTraffic | undefined;
}

/** What a `metadata` file may describe, with its API and the gcloud command deploy-cloudrun runs. */
export type FileKind = 'Service' | 'Job';
export const FILE_KINDS: Record<FileKind, { api: string; command: string; noun: string }> = {
  Service: { api: KNATIVE_API_VERSION, command: 'gcloud run services replace', noun: 'service' },
  Job: { api: 'run.googleapis.com/v1', command: 'gcloud run jobs replace', noun: 'job' },
};

const fileAccepted = (kind: FileKind): string =>
  `a Knative ${kind} (${FILE_KINDS[kind].api}) as \`${FILE_KINDS[kind].command}\` takes it`;

/**
 * A file's spec.traffic as Runway moves traffic: `revision_traffic`'s split and the tags the service
 * keeps, LATEST being the new revision (by name, once verified), as in those inputs.
 */
export interface FileTraffic {
  /** Revision name or LATEST → percent, the targets with a share; they add up to 100. */
  split: Record<string, number>;
  /** Tag → revision name or LATEST: every tag the service has afterwards, as replace leaves them. */
  tags: Record<string, string>;
}

/** Cloud Run's tags: lowercase letters, digits and hyphens, starting with a letter. */
const TAG = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** A field of the file Runway cannot read or deploy: names the input, the file and the field. */
export class ServiceYamlError extends InputError {
  readonly field: string;
  constructor(path: string, field: string, problem: string, accepted?: string) {
    super(INPUT, path, accepted ?? fileAccepted('Service'));
    this.message = `Input '${INPUT}' (${JSON.stringify(path)}): ${field}: ${problem}`;
    this.field = field;
  }
}

/** Keys from the file, quoted, so a key with odd characters reads as data in a message. */
function keyed(field: string, key: string): string {
  return `${field}[${JSON.stringify(key.length > 100 ? `${key.slice(0, 100)}…` : key)}]`;
}

/** Reads the file at `path` (resolved inside the workspace, through symlinks) as YAML. */
export function readYamlFile(path: string, workspaceDir?: string): unknown {
  const real = resolveInputPath(INPUT, path, 'file', workspaceDir);
  let text: string;
  try {
    text = readFileSync(real, 'utf8');
  } catch (err) {
    throw new InputError(
      INPUT,
      path,
      `a readable file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`,
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    const where =
      err instanceof YAMLError ? `line ${err.linePos?.[0]?.line ?? '?'}: ${err.code}` : 'unparsable';
    throw new ServiceYamlError(path, '(file)', `not YAML (${where}).`);
  }
  return doc;
}

/** A parsed Knative Service document as the v2 service Cloud Run makes of it. */
export function serviceFromKnative(doc: unknown, path: string): ServiceYaml {
  return new Reader(path).document(doc);
}

// ---- what a value must be ----------------------------------------------------------------------

export const isMap = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Output-only metadata a read from Cloud Run carries and a write ignores. */
export const OUTPUT_METADATA = ['uid', 'selfLink', 'resourceVersion', 'generation', 'creationTimestamp'];

/** Service annotations a read from Cloud Run carries (the server's own) and a write ignores. */
const OUTPUT_ANNOTATIONS = new Set([
  'serving.knative.dev/creator',
  'serving.knative.dev/lastModifier',
  'run.googleapis.com/operation-id',
  'run.googleapis.com/ingress-status',
  'run.googleapis.com/urls',
  'run.googleapis.com/satisfiesPzs',
  // The build gcloud ran for a source deploy: v2 keeps neither (buildConfig.name is output only).
  'run.googleapis.com/build-name',
  'run.googleapis.com/build-id',
]);
/** Revision annotations gcloud writes that v2 keeps on the service only, not per revision. */
export const DROPPED_TEMPLATE_ANNOTATIONS = new Set([
  'run.googleapis.com/client-name',
  'run.googleapis.com/client-version',
]);
export const LOCATION_LABEL = 'cloud.googleapis.com/location';
/** Labels Cloud Run sets on what it answers, and gcloud's per-deploy nonce (every deploy makes a revision). */
export const DROPPED_TEMPLATE_LABELS = new Set([
  'run.googleapis.com/startupProbeType',
  'client.knative.dev/nonce',
]);
export const SYSTEM_PREFIX =
  /^(run\.googleapis\.com|cloud\.googleapis\.com|serving\.knative\.dev|autoscaling\.knative\.dev)\//;

const INGRESS: Record<string, string> = {
  all: 'INGRESS_TRAFFIC_ALL',
  internal: 'INGRESS_TRAFFIC_INTERNAL_ONLY',
  'internal-and-cloud-load-balancing': 'INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER',
  none: 'INGRESS_TRAFFIC_NONE',
};
export const EXECUTION_ENVIRONMENT: Record<string, string> = {
  gen1: 'EXECUTION_ENVIRONMENT_GEN1',
  gen2: 'EXECUTION_ENVIRONMENT_GEN2',
};
export const VPC_EGRESS: Record<string, string> = {
  'all-traffic': 'ALL_TRAFFIC',
  'private-ranges-only': 'PRIVATE_RANGES_ONLY',
};
/** v1's CSI driver for a Cloud Storage volume (v2's `gcs`), as gcloud writes it. */
const GCS_DRIVER = 'gcsfuse.run.googleapis.com';
const ACCELERATOR_SELECTOR = 'run.googleapis.com/accelerator';
export const CLOUD_SQL_VOLUME = 'cloudsql';

export type Decode = (reader: Reader, value: string, field: string) => unknown;

export const text: Decode = (_r, v) => v;
export const flag: Decode = (r, v, field) => {
  const lower = v.toLowerCase();
  if (lower !== 'true' && lower !== 'false') throw r.fail(field, `expected 'true' or 'false'.`);
  return lower === 'true';
};
const count: Decode = (r, v, field) => {
  if (!/^\d{1,6}$/.test(v)) throw r.fail(field, 'expected a whole number.');
  return Number(v);
};
export const jsonList: Decode = (r, v, field) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed)) throw r.fail(field, 'expected a JSON list.');
  return parsed;
};
export const choice =
  (values: Record<string, string>): Decode =>
  (r, v, field) => {
    const found = values[v];
    if (!found) throw r.fail(field, `expected one of ${Object.keys(values).join(', ')}.`);
    return found;
  };

/** gcloud's --binary-authorization: `default` is useDefault, anything else a policy's name. */
const binaryAuthorization: Decode = (r, v, field) => {
  if (v === '') throw r.fail(field, "expected 'default' or the name of a Binary Authorization policy.");
  return v === 'default' ? { useDefault: true } : { policy: v };
};
/** gcloud's --encryption-key-shutdown-hours: whole hours, v2's Duration. */
const hours: Decode = (r, v, field) => {
  if (!/^\d{1,6}$/.test(v)) throw r.fail(field, 'expected a whole number of hours.');
  return `${Number(v) * 3600}s`;
};

/** Annotation → the v2 field (a path in the service or the template) it stands for. */
export type Mapping = [path: string[], decode: Decode];

const SERVICE_ANNOTATIONS: Record<string, Mapping> = {
  'run.googleapis.com/ingress': [['ingress'], choice(INGRESS)],
  'run.googleapis.com/description': [['description'], text],
  'run.googleapis.com/launch-stage': [['launchStage'], text],
  'run.googleapis.com/client-name': [['client'], text],
  'run.googleapis.com/client-version': [['clientVersion'], text],
  'run.googleapis.com/invoker-iam-disabled': [['invokerIamDisabled'], flag],
  'run.googleapis.com/default-url-disabled': [['defaultUriDisabled'], flag],
  'run.googleapis.com/iap-enabled': [['iapEnabled'], flag],
  'run.googleapis.com/custom-audiences': [['customAudiences'], jsonList],
  'run.googleapis.com/binary-authorization': [['binaryAuthorization'], binaryAuthorization],
  'run.googleapis.com/binary-authorization-breakglass': [
    ['binaryAuthorization', 'breakglassJustification'],
    text,
  ],
  'run.googleapis.com/minScale': [['scaling', 'minInstanceCount'], count],
  'run.googleapis.com/maxScale': [['scaling', 'maxInstanceCount'], count],
  'run.googleapis.com/manualInstanceCount': [['scaling', 'manualInstanceCount'], count],
  'run.googleapis.com/build-source-location': [['buildConfig', 'sourceLocation'], text],
  'run.googleapis.com/build-image-uri': [['buildConfig', 'imageUri'], text],
  'run.googleapis.com/build-base-image': [['buildConfig', 'baseImage'], text],
  'run.googleapis.com/build-function-target': [['buildConfig', 'functionTarget'], text],
  'run.googleapis.com/build-enable-automatic-updates': [['buildConfig', 'enableAutomaticUpdates'], flag],
  'run.googleapis.com/build-service-account': [['buildConfig', 'serviceAccount'], text],
  'run.googleapis.com/build-worker-pool': [['buildConfig', 'workerPool'], text],
};

const TEMPLATE_ANNOTATIONS: Record<string, Mapping> = {
  'autoscaling.knative.dev/minScale': [['scaling', 'minInstanceCount'], count],
  'autoscaling.knative.dev/maxScale': [['scaling', 'maxInstanceCount'], count],
  'run.googleapis.com/execution-environment': [['executionEnvironment'], choice(EXECUTION_ENVIRONMENT)],
  'run.googleapis.com/vpc-access-connector': [['vpcAccess', 'connector'], text],
  'run.googleapis.com/vpc-access-egress': [['vpcAccess', 'egress'], choice(VPC_EGRESS)],
  'run.googleapis.com/network-interfaces': [['vpcAccess', 'networkInterfaces'], jsonList],
  'run.googleapis.com/sessionAffinity': [['sessionAffinity'], flag],
  'run.googleapis.com/encryption-key': [['encryptionKey'], text],
  'run.googleapis.com/post-key-revocation-action-type': [
    ['encryptionKeyRevocationAction'],
    choice({ 'prevent-new': 'PREVENT_NEW', 'shut-down': 'SHUTDOWN' }),
  ],
  'run.googleapis.com/encryption-key-shutdown-hours': [['encryptionKeyShutdownDuration'], hours],
  'run.googleapis.com/gpu-zonal-redundancy-disabled': [['gpuZonalRedundancyDisabled'], flag],
};
/** Revision-wide annotations that are every container's resources fields in v2. */
const CPU_THROTTLING = 'run.googleapis.com/cpu-throttling';
const STARTUP_CPU_BOOST = 'run.googleapis.com/startup-cpu-boost';
export const CLOUD_SQL = 'run.googleapis.com/cloudsql-instances';
const CONTAINER_DEPENDENCIES = 'run.googleapis.com/container-dependencies';

export function setPath(target: Json, path: string[], value: unknown): void {
  let at = target;
  for (const key of path.slice(0, -1)) {
    if (!isMap(at[key])) at[key] = {};
    at = at[key] as Json;
  }
  const last = path.at(-1)!;
  // Two annotations may fill one v2 message (binary-authorization and its breakglass).
  at[last] = isMap(value) && isMap(at[last]) ? { ...at[last], ...value } : value;
}

/** Drops what is empty, as proto3 JSON does: gcloud's files hold `requests: {}` and `name: ''`. */
export function compact<T>(value: T): T {
  if (Array.isArray(value)) return value.map(compact) as T;
  if (!isMap(value)) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    const c = compact(v);
    if (c === undefined || c === null || c === '') continue;
    if (isMap(c) && Object.keys(c).length === 0) continue;
    if (Array.isArray(c) && c.length === 0) continue;
    out[k] = c;
  }
  return out as T;
}

/** Reads the document field by field, each error naming its field. */
export class Reader {
  constructor(
    readonly path: string,
    readonly kind: FileKind = 'Service',
  ) {}

  fail(field: string, problem: string, accepted?: string): ServiceYamlError {
    return new ServiceYamlError(this.path, field, problem, accepted ?? fileAccepted(this.kind));
  }

  map(value: unknown, field: string, allowed: readonly string[]): Json {
    if (value === undefined || value === null) return {};
    if (!isMap(value)) throw this.fail(field, 'expected a mapping.');
    for (const key of Object.keys(value))
      if (!allowed.includes(key))
        throw this.fail(
          field ? `${field}.${key}` : key,
          `not a field Runway can deploy (it knows ${allowed.join(', ')} here).`,
          `the fields Cloud Run takes in a Knative ${this.kind}; remove the field, or deploy it with \`${FILE_KINDS[this.kind].command}\``,
        );
    return value;
  }

  list(value: unknown, field: string): unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw this.fail(field, 'expected a list.');
    return value;
  }

  string(value: unknown, field: string): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw this.fail(field, 'expected a string (quote it).');
    return value;
  }

  strings(value: unknown, field: string): string[] | undefined {
    if (value === undefined || value === null) return undefined;
    return this.list(value, field).map((v, i) => this.string(v, `${field}[${i}]`) ?? '');
  }

  integer(value: unknown, field: string): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
      throw this.fail(field, 'expected a whole number.');
    return value;
  }

  boolean(value: unknown, field: string): boolean | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') throw this.fail(field, 'expected true or false.');
    return value;
  }

  /** A Kubernetes string map: every value a string (Cloud Run refuses numbers and booleans there). */
  stringMap(value: unknown, field: string): Record<string, string> {
    if (value === undefined || value === null) return {};
    if (!isMap(value)) throw this.fail(field, 'expected a mapping of strings.');
    const out: Record<string, string> = {};
    for (const [key, v] of Object.entries(value)) {
      if (typeof v !== 'string') throw this.fail(keyed(field, key), 'expected a string (quote it).');
      out[key] = v;
    }
    return out;
  }

  document(doc: unknown): ServiceYaml {
    if (!isMap(doc)) throw this.fail('(file)', 'expected a Knative Service: a YAML mapping.');
    const top = this.map(doc, '', ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
    if (top.kind !== 'Service') throw this.fail('kind', `expected Service, got ${JSON.stringify(top.kind)}.`);
    if (top.apiVersion !== KNATIVE_API_VERSION)
      throw this.fail(
        'apiVersion',
        `expected ${KNATIVE_API_VERSION}, got ${JSON.stringify(top.apiVersion)}.`,
      );
    const meta = this.map(top.metadata, 'metadata', [
      'name',
      'namespace',
      'labels',
      'annotations',
      ...OUTPUT_METADATA,
    ]);
    const name = this.string(meta.name, 'metadata.name');
    if (!name) throw this.fail('metadata.name', 'missing: the service needs a name.');
    const namespace = meta.namespace === undefined ? undefined : String(meta.namespace as string | number);
    const service: Json = {};
    const labels = this.stringMap(meta.labels, 'metadata.labels');
    const location = labels[LOCATION_LABEL];
    delete labels[LOCATION_LABEL];
    service.labels = this.plainLabels(labels, 'metadata.labels');
    service.annotations = this.annotations(meta.annotations, 'metadata.annotations', (key, value, field) => {
      if (OUTPUT_ANNOTATIONS.has(key)) return true;
      const mapping = SERVICE_ANNOTATIONS[key];
      if (mapping) setPath(service, mapping[0], mapping[1](this, value, field));
      return Boolean(mapping);
    });
    const spec = this.map(top.spec, 'spec', ['template', 'traffic']);
    const template = this.template(spec.template);
    service.template = template.template;
    const traffic = this.traffic(spec.traffic, template.revision);
    return {
      kind: 'Service',
      path: this.path,
      name,
      service: compact(service) as unknown as Service,
      revision: template.revision,
      location,
      namespace,
      traffic,
    };
  }

  /** v2 labels take no prefixed keys (`a/b`): such a label has nowhere to go. */
  plainLabels(labels: Record<string, string>, field: string): Record<string, string> {
    for (const key of Object.keys(labels))
      if (key.includes('/'))
        throw this.fail(
          keyed(field, key),
          'a label with a prefix, which Cloud Run (v2) does not keep.',
          'labels without a `/` in the key',
        );
    return labels;
  }

  /**
   * Annotations: `take` handles a system one (true when it did); other system ones are refused, the
   * user's own are kept.
   */
  annotations(
    value: unknown,
    field: string,
    take: (key: string, value: string, field: string) => boolean,
  ): Record<string, string> {
    const plain: Record<string, string> = {};
    for (const [key, v] of Object.entries(this.stringMap(value, field))) {
      const at = keyed(field, key);
      if (take(key, v, at)) continue;
      if (SYSTEM_PREFIX.test(key))
        throw this.fail(
          at,
          'a Cloud Run annotation Runway cannot deploy.',
          `the annotations Cloud Run documents for ${FILE_KINDS[this.kind].noun}s; remove it, or set its setting with an input`,
        );
      plain[key] = v;
    }
    return plain;
  }

  /**
   * spec.traffic as `gcloud run services replace` leaves it: each target's share (percent, 0 when
   * left out; a lone target without one takes all), to a revision by name or to the latest one (the
   * revision the file itself names is the new one), and its tag. All to the latest without tags is
   * what any deploy does: undefined.
   */
  traffic(value: unknown, revision: string | undefined): FileTraffic | undefined {
    const targets = this.list(value, 'spec.traffic');
    const split: Record<string, number> = {};
    const tags: Record<string, string> = {};
    targets.forEach((item, i) => {
      const field = `spec.traffic[${i}]`;
      // `url` is Cloud Run's output in an exported file; a write ignores it.
      const target = this.map(item, field, ['revisionName', 'latestRevision', 'percent', 'tag', 'url']);
      const latest = this.boolean(target.latestRevision, `${field}.latestRevision`) ?? false;
      const name = this.string(target.revisionName, `${field}.revisionName`);
      if (latest && name)
        throw this.fail(
          field,
          'both revisionName and latestRevision: true, which Cloud Run refuses.',
          'one of them in each traffic target',
        );
      if (!latest && !name)
        throw this.fail(
          field,
          'neither revisionName nor latestRevision: true, so the target names no revision.',
          'revisionName: REVISION, or latestRevision: true (the new revision)',
        );
      const to = latest || name === revision ? 'LATEST' : name!;
      const percent = this.integer(target.percent, `${field}.percent`) ?? (targets.length === 1 ? 100 : 0);
      if (percent > 100) throw this.fail(`${field}.percent`, 'more than 100.', 'a percentage from 0 to 100');
      if (percent) split[to] = (split[to] ?? 0) + percent;
      const tag = this.string(target.tag, `${field}.tag`);
      if (tag === undefined) return;
      if (!TAG.test(tag))
        throw this.fail(
          `${field}.tag`,
          'not a tag Cloud Run takes.',
          'lowercase letters, digits and hyphens, starting with a letter',
        );
      if (Object.hasOwn(tags, tag))
        throw this.fail(`${field}.tag`, `${tag} is given to two targets; Cloud Run takes each tag once.`);
      tags[tag] = to;
    });
    if (!targets.length) return undefined;
    const total = Object.values(split).reduce((a, b) => a + b, 0);
    if (total !== 100)
      throw this.fail(
        'spec.traffic',
        `its percentages add up to ${total}, and Cloud Run takes a split of 100.`,
        'traffic targets whose percentages add up to 100',
      );
    if (split.LATEST === 100 && !Object.keys(tags).length) return undefined;
    return { split, tags };
  }

  template(value: unknown): { template: Json; revision: string | undefined } {
    const t = this.map(value, 'spec.template', ['metadata', 'spec']);
    const meta = this.map(t.metadata, 'spec.template.metadata', ['name', 'labels', 'annotations']);
    const spec = this.map(t.spec, 'spec.template.spec', [
      'containerConcurrency',
      'timeoutSeconds',
      'serviceAccountName',
      'containers',
      'volumes',
      'nodeSelector',
    ]);
    const out: Json = {};
    const resources: Json = {};
    let cloudSql: string[] = [];
    let dependencies: Record<string, string[]> = {};
    const labels = this.stringMap(meta.labels, 'spec.template.metadata.labels');
    for (const key of DROPPED_TEMPLATE_LABELS) delete labels[key];
    out.labels = this.plainLabels(labels, 'spec.template.metadata.labels');
    out.annotations = this.annotations(
      meta.annotations,
      'spec.template.metadata.annotations',
      (key, v, at) => {
        const mapping = TEMPLATE_ANNOTATIONS[key];
        if (mapping) setPath(out, mapping[0], mapping[1](this, v, at));
        else if (key === CPU_THROTTLING) resources.cpuIdle = flag(this, v, at);
        else if (key === STARTUP_CPU_BOOST) resources.startupCpuBoost = flag(this, v, at);
        else if (key === CLOUD_SQL)
          cloudSql = v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
        else if (key === CONTAINER_DEPENDENCIES) dependencies = this.dependencies(v, at);
        else return DROPPED_TEMPLATE_ANNOTATIONS.has(key);
        return true;
      },
    );
    // In v1 CPU is throttled unless the annotation says "false": v2's cpuIdle, stated.
    resources.cpuIdle ??= true;
    const revision = this.string(meta.name, 'spec.template.metadata.name');
    out.maxInstanceRequestConcurrency = this.integer(
      spec.containerConcurrency,
      'spec.template.spec.containerConcurrency',
    );
    const timeout = this.integer(spec.timeoutSeconds, 'spec.template.spec.timeoutSeconds');
    if (timeout !== undefined) out.timeout = `${timeout}s`;
    out.serviceAccount = this.string(spec.serviceAccountName, 'spec.template.spec.serviceAccountName');
    const selector = this.stringMap(spec.nodeSelector, 'spec.template.spec.nodeSelector');
    for (const key of Object.keys(selector))
      if (key !== ACCELERATOR_SELECTOR)
        throw this.fail(keyed('spec.template.spec.nodeSelector', key), 'not a node selector Cloud Run has.');
    if (selector[ACCELERATOR_SELECTOR]) out.nodeSelector = { accelerator: selector[ACCELERATOR_SELECTOR] };
    const containers = this.list(spec.containers, 'spec.template.spec.containers').map((c, i) =>
      this.container(c, `spec.template.spec.containers[${i}]`),
    );
    if (!containers.length)
      throw this.fail('spec.template.spec.containers', 'missing: a service runs at least one container.');
    for (const c of containers) c.resources = { ...(c.resources as Json | undefined), ...resources };
    const dependenciesField = keyed('spec.template.metadata.annotations', CONTAINER_DEPENDENCIES);
    for (const [name, dependsOn] of Object.entries(dependencies)) {
      const container = containers.find((c) => c.name === name);
      if (!container) throw this.fail(dependenciesField, `no container is named ${JSON.stringify(name)}.`);
      container.dependsOn = dependsOn;
    }
    const volumes = this.list(spec.volumes, 'spec.template.spec.volumes').map((v, i) =>
      this.volume(v, `spec.template.spec.volumes[${i}]`),
    );
    if (cloudSql.length) {
      volumes.push({ name: CLOUD_SQL_VOLUME, cloudSqlInstance: { instances: cloudSql } });
      const first = containers[0]!;
      first.volumeMounts = [
        ...((first.volumeMounts as Json[] | undefined) ?? []),
        { name: CLOUD_SQL_VOLUME, mountPath: '/cloudsql' },
      ];
    }
    out.containers = containers;
    out.volumes = volumes;
    return { template: out, revision };
  }

  dependencies(value: string, field: string): Record<string, string[]> {
    let parsed: unknown;
    try {
      parsed = parseYaml(value);
    } catch {
      parsed = undefined;
    }
    const shaped =
      isMap(parsed) &&
      Object.values(parsed).every((v) => Array.isArray(v) && v.every((d) => typeof d === 'string'));
    if (!shaped) throw this.fail(field, 'expected a map from container names to lists of container names.');
    return parsed as Record<string, string[]>;
  }

  container(value: unknown, field: string): Json {
    const c = this.map(value, field, [
      'name',
      'image',
      'command',
      'args',
      'workingDir',
      'env',
      'resources',
      'ports',
      'volumeMounts',
      'livenessProbe',
      'startupProbe',
      'readinessProbe',
    ]);
    const image = this.string(c.image, `${field}.image`);
    if (!image) throw this.fail(`${field}.image`, 'missing: every container needs an image.');
    const resources = this.map(c.resources, `${field}.resources`, ['limits', 'requests']);
    if (isMap(resources.requests) && Object.keys(resources.requests).length)
      throw this.fail(
        `${field}.resources.requests`,
        'Cloud Run has no resource requests, only limits.',
        'resources.limits',
      );
    return {
      name: this.string(c.name, `${field}.name`),
      image,
      command: this.strings(c.command, `${field}.command`),
      args: this.strings(c.args, `${field}.args`),
      workingDir: this.string(c.workingDir, `${field}.workingDir`),
      env: this.list(c.env, `${field}.env`).map((e, i) => this.envVar(e, `${field}.env[${i}]`)),
      resources: { limits: this.stringMap(resources.limits, `${field}.resources.limits`) },
      ports: this.list(c.ports, `${field}.ports`).map((p, i) => {
        const at = `${field}.ports[${i}]`;
        const port = this.map(p, at, ['name', 'containerPort']);
        return {
          name: this.string(port.name, `${at}.name`),
          containerPort: this.integer(port.containerPort, `${at}.containerPort`),
        };
      }),
      volumeMounts: this.list(c.volumeMounts, `${field}.volumeMounts`).map((m, i) => {
        const at = `${field}.volumeMounts[${i}]`;
        const mount = this.map(m, at, ['name', 'mountPath', 'subPath']);
        return {
          name: this.string(mount.name, `${at}.name`),
          mountPath: this.string(mount.mountPath, `${at}.mountPath`),
          subPath: this.string(mount.subPath, `${at}.subPath`),
        };
      }),
      livenessProbe: this.probe(c.livenessProbe, `${field}.livenessProbe`),
      startupProbe: this.probe(c.startupProbe, `${field}.startupProbe`),
      readinessProbe: this.probe(c.readinessProbe, `${field}.readinessProbe`),
    };
  }

  envVar(value: unknown, field: string): Json {
    const e = this.map(value, field, ['name', 'value', 'valueFrom']);
    const name = this.string(e.name, `${field}.name`);
    if (!name) throw this.fail(`${field}.name`, 'missing: every variable needs a name.');
    if (e.valueFrom === undefined) return { name, value: this.string(e.value, `${field}.value`) ?? '' };
    const from = this.map(e.valueFrom, `${field}.valueFrom`, ['secretKeyRef']);
    const ref = this.map(from.secretKeyRef, `${field}.valueFrom.secretKeyRef`, ['name', 'key']);
    const secret = this.string(ref.name, `${field}.valueFrom.secretKeyRef.name`);
    if (!secret) throw this.fail(`${field}.valueFrom.secretKeyRef.name`, 'missing: the secret to read.');
    return {
      name,
      valueSource: {
        secretKeyRef: { secret, version: this.string(ref.key, `${field}.valueFrom.secretKeyRef.key`) },
      },
    };
  }

  probe(value: unknown, field: string): Json | undefined {
    if (value === undefined || value === null) return undefined;
    const p = this.map(value, field, [
      'initialDelaySeconds',
      'timeoutSeconds',
      'periodSeconds',
      'failureThreshold',
      'httpGet',
      'tcpSocket',
      'grpc',
    ]);
    const at = (key: string): string => `${field}.${key}`;
    const httpGet =
      p.httpGet === undefined
        ? undefined
        : this.map(p.httpGet, at('httpGet'), ['path', 'port', 'httpHeaders']);
    const tcp = p.tcpSocket === undefined ? undefined : this.map(p.tcpSocket, at('tcpSocket'), ['port']);
    const grpc = p.grpc === undefined ? undefined : this.map(p.grpc, at('grpc'), ['port', 'service']);
    return {
      initialDelaySeconds: this.integer(p.initialDelaySeconds, at('initialDelaySeconds')),
      timeoutSeconds: this.integer(p.timeoutSeconds, at('timeoutSeconds')),
      periodSeconds: this.integer(p.periodSeconds, at('periodSeconds')),
      failureThreshold: this.integer(p.failureThreshold, at('failureThreshold')),
      httpGet: httpGet && {
        path: this.string(httpGet.path, `${at('httpGet')}.path`),
        port: this.integer(httpGet.port, `${at('httpGet')}.port`),
        httpHeaders: this.list(httpGet.httpHeaders, `${at('httpGet')}.httpHeaders`).map((h, i) => {
          const hf = `${at('httpGet')}.httpHeaders[${i}]`;
          const header = this.map(h, hf, ['name', 'value']);
          return {
            name: this.string(header.name, `${hf}.name`),
            value: this.string(header.value, `${hf}.value`),
          };
        }),
      },
      tcpSocket: tcp && { port: this.integer(tcp.port, `${at('tcpSocket')}.port`) },
      grpc: grpc && {
        port: this.integer(grpc.port, `${at('grpc')}.port`),
        service: this.string(grpc.service, `${at('grpc')}.service`),
      },
    };
  }

  volume(value: unknown, field: string): Json {
    const v = this.map(value, field, ['name', 'secret', 'emptyDir', 'nfs', 'csi']);
    const name = this.string(v.name, `${field}.name`);
    if (!name) throw this.fail(`${field}.name`, 'missing: every volume needs a name.');
    const kinds = ['secret', 'emptyDir', 'nfs', 'csi'].filter((k) => v[k] !== undefined);
    if (kinds.length !== 1)
      throw this.fail(field, 'expected exactly one of secret, emptyDir, nfs or csi (Cloud Storage).');
    if (v.secret !== undefined) {
      const at = `${field}.secret`;
      const s = this.map(v.secret, at, ['secretName', 'items', 'defaultMode']);
      return {
        name,
        secret: {
          secret: this.string(s.secretName, `${at}.secretName`),
          items: this.list(s.items, `${at}.items`).map((item, i) => {
            const it = `${at}.items[${i}]`;
            const m = this.map(item, it, ['key', 'path', 'mode']);
            return {
              version: this.string(m.key, `${it}.key`),
              path: this.string(m.path, `${it}.path`),
              mode: this.integer(m.mode, `${it}.mode`),
            };
          }),
          defaultMode: this.integer(s.defaultMode, `${at}.defaultMode`),
        },
      };
    }
    if (v.emptyDir !== undefined) {
      const at = `${field}.emptyDir`;
      const e = this.map(v.emptyDir, at, ['medium', 'sizeLimit']);
      const medium = this.string(e.medium, `${at}.medium`);
      if (medium !== undefined && medium !== 'Memory' && medium !== '')
        throw this.fail(`${at}.medium`, 'expected Memory: Cloud Run keeps an emptyDir in memory.');
      return {
        name,
        emptyDir: {
          medium: medium ? 'MEMORY' : undefined,
          sizeLimit: this.string(e.sizeLimit, `${at}.sizeLimit`),
        },
      };
    }
    if (v.nfs !== undefined) {
      const at = `${field}.nfs`;
      const n = this.map(v.nfs, at, ['server', 'path', 'readOnly']);
      return {
        name,
        nfs: {
          server: this.string(n.server, `${at}.server`),
          path: this.string(n.path, `${at}.path`),
          readOnly: this.boolean(n.readOnly, `${at}.readOnly`),
        },
      };
    }
    const at = `${field}.csi`;
    const csi = this.map(v.csi, at, ['driver', 'readOnly', 'volumeAttributes']);
    if (csi.driver !== GCS_DRIVER)
      throw this.fail(
        `${at}.driver`,
        `expected ${GCS_DRIVER} (Cloud Storage), the only CSI driver Cloud Run has.`,
      );
    const attributes = this.stringMap(csi.volumeAttributes, `${at}.volumeAttributes`);
    for (const key of Object.keys(attributes))
      if (key !== 'bucketName' && key !== 'mountOptions')
        throw this.fail(keyed(`${at}.volumeAttributes`, key), 'expected bucketName or mountOptions.');
    return {
      name,
      gcs: {
        bucket: attributes.bucketName,
        readOnly: this.boolean(csi.readOnly, `${at}.readOnly`),
        mountOptions: attributes.mountOptions?.split(','),
      },
    };
  }
}

/**
 * The secrets a file's containers read (its revision's or its tasks'), keyed as the inputs' are
 * (variable name, file path), so preflight checks them before any change as it checks `secrets`.
 */
export function fileSecretRefs(template: { containers?: Container[]; volumes?: Volume[] }): SecretRefs {
  const refs: SecretRefs = { env: {}, files: {} };
  for (const c of template.containers ?? [])
    for (const e of c.env ?? []) {
      const ref = e.valueSource?.secretKeyRef;
      if (ref) refs.env[e.name] = { secret: ref.secret, version: ref.version ?? 'latest' };
    }
  for (const v of template.volumes ?? []) {
    if (!v.secret) continue;
    const mount = template.containers?.flatMap((c) => c.volumeMounts ?? []).find((m) => m.name === v.name);
    const dir = mount?.mountPath ?? `/${v.name}`;
    const items = v.secret.items?.length ? v.secret.items : [{ path: v.secret.secret, version: 'latest' }];
    for (const item of items)
      refs.files[`${dir}/${item.path}`] = { secret: v.secret.secret, version: item.version ?? 'latest' };
  }
  return refs;
}

/**
 * The file's namespace is the project deployed to, by ID or number, as gcloud requires ("Namespace
 * must be project ID [...] or quoted number [...]"). A number the deployer may not look up is left
 * to `warn`, since the file then names a project Runway cannot tell apart.
 */
export async function checkFileNamespace(
  file: MetadataFile,
  project: string,
  projectNumber: () => Promise<string>,
  warn: (message: string) => void,
): Promise<void> {
  const namespace = file.namespace;
  if (!namespace || namespace === project) return;
  const refuse = (): ServiceYamlError =>
    new ServiceYamlError(
      file.path,
      'metadata.namespace',
      `the file is a ${FILE_KINDS[file.kind].noun} of project ${JSON.stringify(namespace)}, and the deploy goes to ${project}.`,
      `the project ID or number the ${FILE_KINDS[file.kind].noun} is deployed to, or no namespace`,
    );
  if (!/^\d+$/.test(namespace)) throw refuse();
  let number: string;
  try {
    number = await projectNumber();
  } catch (err) {
    warn(
      `Could not learn project ${project}'s number to check the service file's namespace ${namespace} against it (${err instanceof Error ? err.message : String(err)}).`,
    );
    return;
  }
  if (number !== namespace) throw refuse();
}
