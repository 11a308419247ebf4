// Cloud Run's v1 API is Knative Serving's resource model over the same services v2 serves: one
// resource, two views. This module translates, with no I/O: a Knative Service body into the v2 spec
// the emulator stores, and a stored service (its spec, revisions and status) into the Knative
// Service, Revision, Route and Configuration v1 reads return. Cloud Run's system annotations are
// v2 fields ("All system annotations in v1 now have a corresponding field in v2", v2 reference);
// shapes follow the v1 discovery document and `gcloud run services describe` output.
import { parse as parseYaml } from 'yaml';
import { badField, invalidArgument } from '../errors.js';
import {
  LATEST,
  REVISION,
  compact,
  invalidContainerName,
  seconds,
  validContainerName,
  type Json,
} from './model.js';
import type { Condition, RevisionRecord, ServiceRecord } from './records.js';
import { KNATIVE_LABELS, revisionReady } from './render.js';

export const KNATIVE_API_VERSION = 'serving.knative.dev/v1';

const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const list = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const isReserved = (key: string): boolean =>
  /^(run\.googleapis\.com|cloud\.googleapis\.com|serving\.knative\.dev|autoscaling\.knative\.dev)\//.test(
    key,
  );

// ---- annotations that are v2 fields ---------------------------------------------------------

/** How one annotation's string travels to its v2 field and back. */
interface Codec {
  toV2(value: string, field: string): unknown;
  toV1(value: unknown): string | undefined;
}

const text: Codec = {
  toV2: (v) => v,
  toV1: (v) => (typeof v === 'string' && v !== '' ? v : undefined),
};

/** gcloud writes Python's booleans ('True'); Cloud Run answers 'true'. */
const flag: Codec = {
  toV2: (v, field) => {
    const lower = v.toLowerCase();
    if (lower === 'true' || lower === 'false') return lower === 'true';
    throw badField(field, `expected 'true' or 'false', got '${v}'.`);
  },
  toV1: (v) => (typeof v === 'boolean' ? String(v) : undefined),
};

const count: Codec = {
  toV2: (v, field) => {
    if (!/^\d+$/.test(v)) throw badField(field, `expected a whole number, got '${v}'.`);
    return Number(v);
  },
  toV1: (v) => (typeof v === 'number' ? String(v) : undefined),
};

const jsonList: Codec = {
  toV2: (v, field) => {
    try {
      const parsed: unknown = JSON.parse(v);
      if (Array.isArray(parsed)) return parsed;
    } catch {
      // reported below
    }
    throw badField(field, 'expected a JSON list.');
  },
  toV1: (v) => (Array.isArray(v) && v.length ? JSON.stringify(v) : undefined),
};

/** A JSON object of strings (gcloud's json.dumps of the build env vars). */
const jsonMap: Codec = {
  toV2: (v, field) => {
    try {
      const parsed: unknown = JSON.parse(v);
      if (
        parsed &&
        typeof parsed === 'object' &&
        !Array.isArray(parsed) &&
        Object.values(parsed).every((value) => typeof value === 'string')
      )
        return parsed;
    } catch {
      // reported below
    }
    throw badField(field, 'expected a JSON object of strings.');
  },
  toV1: (v) =>
    v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length ? JSON.stringify(v) : undefined,
};

function choice(values: Record<string, string>): Codec {
  return {
    toV2: (v, field) => {
      const found = values[v];
      if (!found) throw badField(field, `'${v}' is not one of ${Object.keys(values).join(', ')}.`);
      return found;
    },
    toV1: (v) => Object.keys(values).find((k) => values[k] === v),
  };
}

/** v1's binary-authorization: `default` is v2's useDefault, anything else the policy's name. */
export const BINARY_AUTHORIZATION: Codec = {
  toV2: (v, field) => {
    if (v === '') throw badField(field, "expected 'default' or the name of a Binary Authorization policy.");
    return v === 'default' ? { useDefault: true } : { policy: v };
  },
  toV1: (v) => {
    const b = obj(v);
    if (b.useDefault === true) return 'default';
    return typeof b.policy === 'string' && b.policy !== '' ? b.policy : undefined;
  },
};
export const BINARY_AUTHORIZATION_ANNOTATION = 'run.googleapis.com/binary-authorization';
export const BREAKGLASS_ANNOTATION = 'run.googleapis.com/binary-authorization-breakglass';

/** gcloud's --encryption-key-shutdown-hours, a whole number of hours: v2's Duration. */
const hours: Codec = {
  toV2: (v, field) => {
    if (!/^\d+$/.test(v)) throw badField(field, `expected a whole number of hours, got '${v}'.`);
    return `${Number(v) * 3600}s`;
  },
  toV1: (v) => (v === undefined ? undefined : String(seconds(v, 0) / 3600)),
};

type Mapping = [annotation: string, path: string[], codec: Codec];

const INGRESS = choice({
  all: 'INGRESS_TRAFFIC_ALL',
  internal: 'INGRESS_TRAFFIC_INTERNAL_ONLY',
  'internal-and-cloud-load-balancing': 'INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER',
  none: 'INGRESS_TRAFFIC_NONE',
});

const SERVICE_ANNOTATIONS: Mapping[] = [
  ['run.googleapis.com/ingress', ['ingress'], INGRESS],
  ['run.googleapis.com/description', ['description'], text],
  ['run.googleapis.com/launch-stage', ['launchStage'], text],
  ['run.googleapis.com/client-name', ['client'], text],
  ['run.googleapis.com/client-version', ['clientVersion'], text],
  ['run.googleapis.com/invoker-iam-disabled', ['invokerIamDisabled'], flag],
  ['run.googleapis.com/default-url-disabled', ['defaultUriDisabled'], flag],
  ['run.googleapis.com/iap-enabled', ['iapEnabled'], flag],
  ['run.googleapis.com/custom-audiences', ['customAudiences'], jsonList],
  [BINARY_AUTHORIZATION_ANNOTATION, ['binaryAuthorization'], BINARY_AUTHORIZATION],
  [BREAKGLASS_ANNOTATION, ['binaryAuthorization', 'breakglassJustification'], text],
  ['run.googleapis.com/minScale', ['scaling', 'minInstanceCount'], count],
  ['run.googleapis.com/maxScale', ['scaling', 'maxInstanceCount'], count],
  ['run.googleapis.com/manualInstanceCount', ['scaling', 'manualInstanceCount'], count],
  // What a source deploy built the image from (gcloud run deploy --source sets them): v2's buildConfig.
  ['run.googleapis.com/build-source-location', ['buildConfig', 'sourceLocation'], text],
  ['run.googleapis.com/build-image-uri', ['buildConfig', 'imageUri'], text],
  ['run.googleapis.com/build-base-image', ['buildConfig', 'baseImage'], text],
  ['run.googleapis.com/build-function-target', ['buildConfig', 'functionTarget'], text],
  ['run.googleapis.com/build-enable-automatic-updates', ['buildConfig', 'enableAutomaticUpdates'], flag],
  ['run.googleapis.com/build-service-account', ['buildConfig', 'serviceAccount'], text],
  ['run.googleapis.com/build-worker-pool', ['buildConfig', 'workerPool'], text],
  ['run.googleapis.com/build-environment-variables', ['buildConfig', 'environmentVariables'], jsonMap],
];
/**
 * The build gcloud ran for a source deploy, by name and ID: v2's buildConfig.name is output only,
 * and there is no field for the ID, so both are taken and not kept.
 */
const BUILD_RECORD_ANNOTATIONS = new Set(['run.googleapis.com/build-name', 'run.googleapis.com/build-id']);

const TEMPLATE_ANNOTATIONS: Mapping[] = [
  ['autoscaling.knative.dev/minScale', ['scaling', 'minInstanceCount'], count],
  ['autoscaling.knative.dev/maxScale', ['scaling', 'maxInstanceCount'], count],
  [
    'run.googleapis.com/execution-environment',
    ['executionEnvironment'],
    choice({ gen1: 'EXECUTION_ENVIRONMENT_GEN1', gen2: 'EXECUTION_ENVIRONMENT_GEN2' }),
  ],
  ['run.googleapis.com/vpc-access-connector', ['vpcAccess', 'connector'], text],
  [
    'run.googleapis.com/vpc-access-egress',
    ['vpcAccess', 'egress'],
    choice({ 'all-traffic': 'ALL_TRAFFIC', 'private-ranges-only': 'PRIVATE_RANGES_ONLY' }),
  ],
  ['run.googleapis.com/network-interfaces', ['vpcAccess', 'networkInterfaces'], jsonList],
  ['run.googleapis.com/sessionAffinity', ['sessionAffinity'], flag],
  ['run.googleapis.com/encryption-key', ['encryptionKey'], text],
  [
    'run.googleapis.com/post-key-revocation-action-type',
    ['encryptionKeyRevocationAction'],
    choice({ 'prevent-new': 'PREVENT_NEW', 'shut-down': 'SHUTDOWN' }),
  ],
  ['run.googleapis.com/encryption-key-shutdown-hours', ['encryptionKeyShutdownDuration'], hours],
  ['run.googleapis.com/gpu-zonal-redundancy-disabled', ['gpuZonalRedundancyDisabled'], flag],
];

/** Revision-wide annotations that are per-container resources fields in v2. */
const CONTAINER_RESOURCE_ANNOTATIONS: Array<[annotation: string, field: string]> = [
  ['run.googleapis.com/cpu-throttling', 'cpuIdle'],
  ['run.googleapis.com/startup-cpu-boost', 'startupCpuBoost'],
];

const CLOUD_SQL_ANNOTATION = 'run.googleapis.com/cloudsql-instances';
/** v1's node selector key for v2's nodeSelector.accelerator (the GPU type). */
const ACCELERATOR_SELECTOR = 'run.googleapis.com/accelerator';
/**
 * v1's form of v2's per-container dependsOn: a map from a container's name to the names it depends
 * on, as JSON (gcloud writes `{"app": ["sidecar"]}`: api_lib/run/container_resource.py). Google's own
 * sample writes it as YAML flow, `{hello: [nginx]}` (cloud-run-samples,
 * multi-container/hello-nginx-sample/service.yaml), and Cloud Run takes it: read as YAML, of which
 * JSON is a subset.
 */
const CONTAINER_DEPENDENCIES_ANNOTATION = 'run.googleapis.com/container-dependencies';
/** The volume and mount v2 uses for Cloud SQL connections (what the v1 annotation becomes). */
const CLOUD_SQL_VOLUME = 'cloudsql';

/** The server's to set: sent back from a read, they are ignored on write. */
const OUTPUT_ANNOTATIONS = new Set([
  'serving.knative.dev/creator',
  'serving.knative.dev/lastModifier',
  'run.googleapis.com/operation-id',
  'run.googleapis.com/ingress-status',
  'run.googleapis.com/urls',
  'run.googleapis.com/satisfiesPzs',
]);
const OUTPUT_LABELS = new Set(['cloud.googleapis.com/location', 'run.googleapis.com/satisfiesPzs']);
const TEMPLATE_OUTPUT_LABELS = new Set(['run.googleapis.com/startupProbeType']);
/** Revision-level client annotations gcloud sets: v2 keeps the client only on the service. */
const DROPPED_TEMPLATE_ANNOTATIONS = new Set([
  'run.googleapis.com/client-name',
  'run.googleapis.com/client-version',
]);

function setPath(target: Json, path: string[], value: unknown): void {
  let at = target;
  for (const key of path.slice(0, -1)) {
    at[key] = obj(at[key]);
    at = at[key] as Json;
  }
  const last = path.at(-1)!;
  // Two annotations may fill one v2 message (binary-authorization and its breakglass).
  const merge = value && typeof value === 'object' && !Array.isArray(value) && at[last];
  at[last] = merge ? { ...obj(at[last]), ...(value as Json) } : value;
}

function getPath(source: Json, path: string[]): unknown {
  let at: unknown = source;
  for (const key of path) at = obj(at)[key];
  return at;
}

/**
 * Annotations → v2 fields (`mappings`) and plain annotations. Output-only ones are dropped;
 * `handle` takes the rest of the system ones; an unknown system annotation is refused.
 */
function readAnnotations(
  annotations: unknown,
  field: string,
  target: Json,
  mappings: Mapping[],
  handle: (key: string, value: string) => boolean,
): Record<string, string> {
  const plain: Record<string, string> = {};
  for (const [key, raw] of Object.entries(obj(annotations))) {
    const value = String(raw);
    const mapping = mappings.find(([annotation]) => annotation === key);
    if (mapping) setPath(target, mapping[1], mapping[2].toV2(value, `${field}[${key}]`));
    else if (OUTPUT_ANNOTATIONS.has(key) || handle(key, value)) continue;
    else if (isReserved(key)) throw badField(`${field}[${key}]`, 'unknown or unsupported system annotation.');
    else plain[key] = value;
  }
  return plain;
}

function writeAnnotations(source: Json, mappings: Mapping[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [annotation, path, codec] of mappings) {
    const value = codec.toV1(getPath(source, path));
    if (value !== undefined) out[annotation] = value;
  }
  return out;
}

function withoutKeys(map: unknown, keys: Set<string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(obj(map))
      .filter(([k]) => !keys.has(k))
      .map(([k, v]) => [k, String(v)]),
  );
}

// ---- v1 → v2 --------------------------------------------------------------------------------

function probeToV2(probe: unknown, field: string): Json | undefined {
  if (probe === undefined) return undefined;
  const p = obj(probe);
  if (p.exec) throw badField(`${field}.exec`, 'exec probes are not supported.');
  const httpGet = p.httpGet ? obj(p.httpGet) : undefined;
  return {
    initialDelaySeconds: p.initialDelaySeconds,
    timeoutSeconds: p.timeoutSeconds,
    periodSeconds: p.periodSeconds,
    failureThreshold: p.failureThreshold,
    httpGet: httpGet && { path: httpGet.path, httpHeaders: httpGet.httpHeaders, port: httpGet.port },
    tcpSocket: p.tcpSocket && { port: obj(p.tcpSocket).port },
    grpc: p.grpc && { port: obj(p.grpc).port, service: obj(p.grpc).service },
  };
}

/** Container fields that read the same in both views. */
function sharedContainerFields(c: Json): Json {
  return { name: c.name, image: c.image, command: c.command, args: c.args, workingDir: c.workingDir };
}

export function containerToV2(c: Json, i: number): Json {
  const field = `spec.template.spec.containers[${i}]`;
  if (c.envFrom) throw badField(`${field}.envFrom`, 'not supported by Cloud Run.');
  return {
    ...sharedContainerFields(c),
    env: list(c.env).map((e, j) => {
      const from = obj(e.valueFrom);
      if (from.configMapKeyRef)
        throw badField(`${field}.env[${j}].valueFrom.configMapKeyRef`, 'not supported by Cloud Run.');
      const ref = obj(from.secretKeyRef);
      return from.secretKeyRef
        ? { name: e.name, valueSource: { secretKeyRef: { secret: ref.name, version: ref.key } } }
        : { name: e.name, value: e.value ?? '' };
    }),
    resources: { limits: obj(c.resources).limits },
    ports: list(c.ports).map((p) => ({ name: p.name, containerPort: p.containerPort })),
    volumeMounts: list(c.volumeMounts).map((m) => ({
      name: m.name,
      mountPath: m.mountPath,
      subPath: m.subPath,
    })),
    livenessProbe: probeToV2(c.livenessProbe, `${field}.livenessProbe`),
    startupProbe: probeToV2(c.startupProbe, `${field}.startupProbe`),
    readinessProbe: probeToV2(c.readinessProbe, `${field}.readinessProbe`),
  };
}

/** Field names of the volume parts that differ between the views. */
interface VolumeDialect {
  secret: string;
  version: string;
  memory: string;
}
const V1_VOLUMES: VolumeDialect = { secret: 'secretName', version: 'key', memory: 'Memory' };
const V2_VOLUMES: VolumeDialect = { secret: 'secret', version: 'version', memory: 'MEMORY' };

/** A secret or emptyDir volume in the other view's words; undefined for other kinds. */
function translateVolume(v: Json, from: VolumeDialect, to: VolumeDialect): Json | undefined {
  if (v.secret) {
    const s = obj(v.secret);
    const items = list(s.items).map((item) => ({
      [to.version]: item[from.version],
      path: item.path,
      mode: item.mode,
    }));
    return { name: v.name, secret: { [to.secret]: s[from.secret], items, defaultMode: s.defaultMode } };
  }
  if (v.emptyDir) {
    const e = obj(v.emptyDir);
    const medium = e.medium === from.memory ? to.memory : e.medium;
    return { name: v.name, emptyDir: { medium, sizeLimit: e.sizeLimit } };
  }
  return undefined;
}

/** v1's CSI driver for a Cloud Storage volume (v2's `gcs`), as gcloud writes it (command_lib/run/volumes.py). */
const GCS_DRIVER = 'gcsfuse.run.googleapis.com';

export function volumeToV2(v: Json, i: number): Json {
  const translated = translateVolume(v, V1_VOLUMES, V2_VOLUMES);
  if (translated) return translated;
  if (v.nfs) return { name: v.name, nfs: v.nfs };
  const field = `spec.template.spec.volumes[${i}]`;
  if (v.csi) {
    const csi = obj(v.csi);
    if (csi.driver !== GCS_DRIVER)
      throw badField(`${field}.csi.driver`, `only the ${GCS_DRIVER} driver is supported.`);
    const attributes = obj(csi.volumeAttributes);
    const options =
      typeof attributes.mountOptions === 'string' ? attributes.mountOptions.split(',') : undefined;
    return {
      name: v.name,
      gcs: { bucket: attributes.bucketName, readOnly: csi.readOnly, mountOptions: options },
    };
  }
  throw badField(field, 'only secret, emptyDir, nfs and Cloud Storage (csi) volumes are supported here.');
}

function templateToV2(template: unknown): Json {
  const meta = obj(obj(template).metadata);
  const spec = obj(obj(template).spec);
  const out: Json = {};
  const resources: Json = {};
  let cloudSql: string[] = [];
  let dependencies: Record<string, string[]> | undefined;
  const dependenciesField = `spec.template.metadata.annotations[${CONTAINER_DEPENDENCIES_ANNOTATION}]`;
  out.annotations = readAnnotations(
    meta.annotations,
    'spec.template.metadata.annotations',
    out,
    TEMPLATE_ANNOTATIONS,
    (key, value) => {
      const resource = CONTAINER_RESOURCE_ANNOTATIONS.find(([annotation]) => annotation === key);
      if (resource) resources[resource[1]] = flag.toV2(value, `spec.template.metadata.annotations[${key}]`);
      if (key === CLOUD_SQL_ANNOTATION)
        cloudSql = value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
      if (key === CONTAINER_DEPENDENCIES_ANNOTATION)
        dependencies = readDependencies(value, dependenciesField);
      return (
        Boolean(resource) ||
        key === CLOUD_SQL_ANNOTATION ||
        key === CONTAINER_DEPENDENCIES_ANNOTATION ||
        DROPPED_TEMPLATE_ANNOTATIONS.has(key)
      );
    },
  );
  // In v1, CPU is throttled unless the annotation says "false": v2's cpuIdle, stated.
  resources.cpuIdle ??= true;
  const labels = Object.entries(withoutKeys(meta.labels, TEMPLATE_OUTPUT_LABELS));
  out.labels = Object.fromEntries(labels.filter(([key]) => !key.includes('/')));
  out[KNATIVE_LABELS] = Object.fromEntries(labels.filter(([key]) => key.includes('/')));
  out.revision = meta.name;
  out.maxInstanceRequestConcurrency = spec.containerConcurrency;
  if (spec.timeoutSeconds !== undefined) out.timeout = `${Number(spec.timeoutSeconds)}s`;
  out.serviceAccount = spec.serviceAccountName;
  const accelerator = obj(spec.nodeSelector)[ACCELERATOR_SELECTOR];
  for (const key of Object.keys(obj(spec.nodeSelector)))
    if (key !== ACCELERATOR_SELECTOR)
      throw badField(`spec.template.spec.nodeSelector[${key}]`, 'unknown or unsupported node selector.');
  if (accelerator !== undefined) out.nodeSelector = { accelerator };
  const containers = list(spec.containers).map(containerToV2);
  for (const c of containers) c.resources = { ...obj(c.resources), ...resources };
  for (const [name, dependsOn] of Object.entries(dependencies ?? {})) {
    // Observed: `...[run.googleapis.com/container-dependencies]: Invalid container name ''. Must
    // conform to RFC 1123: ...` (hashicorp/terraform-provider-google#21035).
    if (!validContainerName(name)) throw badField(dependenciesField, invalidContainerName(name));
    const container = containers.find((c) => c.name === name);
    // The wording for a name no container has is UNCONFIRMED.
    if (!container) throw badField(dependenciesField, `Container '${name}' does not exist in this revision.`);
    container.dependsOn = dependsOn;
  }
  const volumes = list(spec.volumes).map(volumeToV2);
  if (cloudSql.length) {
    volumes.push({ name: CLOUD_SQL_VOLUME, cloudSqlInstance: { instances: cloudSql } });
    if (containers[0])
      containers[0].volumeMounts = [
        ...list(containers[0].volumeMounts),
        { name: CLOUD_SQL_VOLUME, mountPath: '/cloudsql' },
      ];
  }
  out.containers = containers;
  out.volumes = volumes;
  return out;
}

/** The container-dependencies annotation's map, checked for shape. */
function readDependencies(value: string, field: string): Record<string, string[]> {
  let parsed: unknown;
  try {
    parsed = parseYaml(value);
  } catch {
    parsed = undefined;
  }
  const shaped =
    parsed &&
    typeof parsed === 'object' &&
    !Array.isArray(parsed) &&
    Object.values(parsed).every((v) => Array.isArray(v) && v.every((d) => typeof d === 'string'));
  if (!shaped) throw badField(field, 'expected a map from container names to lists of container names.');
  return parsed as Record<string, string[]>;
}

function trafficToV2(traffic: unknown): Json[] {
  return list(traffic).map((t, i) => {
    const field = `spec.traffic[${i}]`;
    if (t.latestRevision === true && t.revisionName) {
      throw badField(field, 'revisionName may not be set when latestRevision is true.');
    }
    if (t.latestRevision !== true && !t.revisionName) {
      throw badField(field, 'set revisionName, or latestRevision to true.');
    }
    return t.latestRevision === true
      ? { type: LATEST, percent: t.percent ?? 0, tag: t.tag }
      : { type: REVISION, revision: t.revisionName, percent: t.percent ?? 0, tag: t.tag };
  });
}

/** The name a Knative Service body gives itself (metadata.name). */
export function knativeName(body: Json): string {
  const name = obj(body.metadata).name;
  if (typeof name !== 'string' || name === '')
    throw badField('metadata.name', 'Required field is missing or empty.');
  return name;
}

/** A Knative Service body as the v2 spec it describes (the whole resource, as PUT replaces it). */
export function specFromKnative(body: Json): Json {
  if (body.apiVersion !== undefined && body.apiVersion !== KNATIVE_API_VERSION)
    throw invalidArgument(`apiVersion must be ${KNATIVE_API_VERSION}, got ${String(body.apiVersion)}.`);
  if (body.kind !== undefined && body.kind !== 'Service')
    throw invalidArgument(`kind must be Service, got ${String(body.kind)}.`);
  const meta = obj(body.metadata);
  const spec = obj(body.spec);
  const out: Json = {};
  out.annotations = readAnnotations(
    meta.annotations,
    'metadata.annotations',
    out,
    SERVICE_ANNOTATIONS,
    (key) => BUILD_RECORD_ANNOTATIONS.has(key),
  );
  out.labels = withoutKeys(meta.labels, OUTPUT_LABELS);
  out.template = templateToV2(spec.template);
  out.traffic = trafficToV2(spec.traffic);
  return compact(out) as Json;
}

// ---- v2 → v1 --------------------------------------------------------------------------------

function probeToV1(probe: unknown): Json | undefined {
  return probe === undefined ? undefined : obj(probe);
}

function isCloudSql(volume: Json): boolean {
  return Boolean(volume.cloudSqlInstance);
}

export function containerToV1(c: Json, hiddenVolumes: Set<string>): Json {
  return {
    ...sharedContainerFields(c),
    env: list(c.env).map((e) => {
      const ref = obj(obj(e.valueSource).secretKeyRef);
      return e.valueSource
        ? { name: e.name, valueFrom: { secretKeyRef: { name: ref.secret, key: ref.version } } }
        : { name: e.name, value: e.value };
    }),
    resources: { limits: obj(c.resources).limits },
    ports: c.ports,
    volumeMounts: list(c.volumeMounts).filter((m) => !hiddenVolumes.has(String(m.name))),
    livenessProbe: probeToV1(c.livenessProbe),
    startupProbe: probeToV1(c.startupProbe),
    readinessProbe: probeToV1(c.readinessProbe),
  };
}

export function volumeToV1(v: Json): Json {
  if (v.gcs) {
    const gcs = obj(v.gcs);
    const options = list(gcs.mountOptions) as unknown as string[];
    return {
      name: v.name,
      csi: {
        driver: GCS_DRIVER,
        readOnly: gcs.readOnly,
        volumeAttributes: {
          bucketName: gcs.bucket,
          mountOptions: options.length ? options.join(',') : undefined,
        },
      },
    };
  }
  return translateVolume(v, V2_VOLUMES, V1_VOLUMES) ?? v;
}

/** A v2 revision template as a Knative RevisionTemplate (metadata + RevisionSpec). */
export function templateToV1(template: Json, name: string | undefined): { metadata: Json; spec: Json } {
  const containers = list(template.containers);
  const volumes = list(template.volumes);
  const cloudSql = volumes.filter(isCloudSql);
  const hidden = new Set(cloudSql.map((v) => String(v.name)));
  const annotations: Record<string, string> = {
    ...(obj(template.annotations) as Record<string, string>),
    ...writeAnnotations(template, TEMPLATE_ANNOTATIONS),
  };
  const resources = obj(obj(containers[0]).resources);
  for (const [annotation, field] of CONTAINER_RESOURCE_ANNOTATIONS) {
    const value = flag.toV1(resources[field]);
    if (value !== undefined) annotations[annotation] = value;
  }
  const instances = cloudSql.flatMap((v) => list(obj(v.cloudSqlInstance).instances) as unknown as string[]);
  if (instances.length) annotations[CLOUD_SQL_ANNOTATION] = instances.join(',');
  const dependencies = Object.fromEntries(
    containers
      .filter((c) => list(c.dependsOn).length)
      .map((c) => [String(c.name ?? ''), (c.dependsOn as unknown[]).map(String)]),
  );
  if (Object.keys(dependencies).length)
    annotations[CONTAINER_DEPENDENCIES_ANNOTATION] = JSON.stringify(dependencies);
  const timeout = template.timeout === undefined ? undefined : seconds(template.timeout, 300);
  return compact({
    metadata: { name, labels: { ...obj(template.labels), ...obj(template[KNATIVE_LABELS]) }, annotations },
    spec: {
      containerConcurrency: template.maxInstanceRequestConcurrency,
      timeoutSeconds: timeout,
      serviceAccountName: template.serviceAccount,
      nodeSelector: template.nodeSelector
        ? { [ACCELERATOR_SELECTOR]: obj(template.nodeSelector).accelerator }
        : undefined,
      containers: containers.map((c) => containerToV1(c, hidden)),
      volumes: volumes.filter((v) => !isCloudSql(v)).map(volumeToV1),
    },
  }) as { metadata: Json; spec: Json };
}

function specTrafficToV1(traffic: unknown): Json[] {
  return list(traffic).map((t) =>
    t.type === LATEST
      ? { percent: t.percent || undefined, latestRevision: true, tag: t.tag }
      : { revisionName: t.revision, percent: t.percent || undefined, tag: t.tag },
  );
}

/** Where the v1 view of a service lives and what it is called there. */
export interface KnativeScope {
  /** v1 namespaces are project numbers. */
  projectNumber: string;
}

function selfLink(scope: KnativeScope, kind: string, name: string): string {
  return `/apis/${KNATIVE_API_VERSION}/namespaces/${scope.projectNumber}/${kind}/${name}`;
}

/** Optimistic concurrency: v1's resourceVersion is the service's etag without its quotes. */
export function resourceVersion(r: ServiceRecord): string {
  return Buffer.from(r.etag.replace(/"/g, ''), 'base64').toString('base64url');
}

/** v2 condition state → Knative status; reasons become CamelCase, as Knative spells them. */
export function conditionToV1(type: string, c: Condition | undefined): Json {
  const status =
    c?.state === 'CONDITION_SUCCEEDED' ? 'True' : c?.state === 'CONDITION_FAILED' ? 'False' : 'Unknown';
  const reason = c?.reason ?? c?.revisionReason;
  return compact({
    type,
    status,
    reason:
      status === 'True' || !reason
        ? undefined
        : reason
            .toLowerCase()
            .split('_')
            .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
            .join(''),
    message: c?.message,
    lastTransitionTime: c?.lastTransitionTime,
  }) as Json;
}

function servesTraffic(r: ServiceRecord, revision: string): boolean {
  return r.trafficStatuses.some(
    (t) => (t.type === LATEST ? r.latestReady : t.revision) === revision && (t.percent > 0 || Boolean(t.tag)),
  );
}

function statusTraffic(r: ServiceRecord): Json[] {
  return r.trafficStatuses.map((t) =>
    compact({
      revisionName: t.type === LATEST ? r.latestReady : t.revision,
      percent: t.percent || undefined,
      latestRevision: t.type === LATEST || undefined,
      tag: t.tag,
      url: t.tag ? r.tagUrls[t.tag] : undefined,
    }),
  ) as Json[];
}

/** Ready and its two sub-conditions; all Unknown while a change is being applied. */
function serviceConditions(r: ServiceRecord): Json[] {
  const sub = (type: string): Condition | undefined =>
    r.reconciling ? undefined : r.conditions.find((c) => c.type === type);
  return [
    conditionToV1('Ready', r.reconciling ? undefined : r.terminal),
    conditionToV1('ConfigurationsReady', sub('ConfigurationsReady')),
    conditionToV1('RoutesReady', sub('RoutesReady')),
  ];
}

/** A v2 spec as the metadata maps and spec of a Knative Service (what a dry run answers). */
export function knativeSpec(spec: Json): { labels: Json; annotations: Json; spec: Json } {
  const template = obj(spec.template);
  return {
    labels: obj(spec.labels),
    annotations: { ...obj(spec.annotations), ...writeAnnotations(spec, SERVICE_ANNOTATIONS) },
    spec: {
      template: templateToV1(template, (template.revision as string | undefined) || undefined),
      traffic: specTrafficToV1(spec.traffic),
    },
  };
}

/** What a dry run (dryRun=all) answers: the service as it would be, with no status. */
export function knativePreview(name: string, spec: Json, scope: KnativeScope): Json {
  const view = knativeSpec(spec);
  return compact({
    apiVersion: KNATIVE_API_VERSION,
    kind: 'Service',
    metadata: { name, namespace: scope.projectNumber, labels: view.labels, annotations: view.annotations },
    spec: view.spec,
  }) as Json;
}

/** The Knative Service v1 reads answer for a stored service. */
export function knativeService(r: ServiceRecord, scope: KnativeScope): Json {
  const view = knativeSpec(r.spec);
  const url = r.router.url;
  const ingress = INGRESS.toV1(r.spec.ingress ?? 'INGRESS_TRAFFIC_ALL');
  return compact({
    apiVersion: KNATIVE_API_VERSION,
    kind: 'Service',
    metadata: {
      name: r.id,
      namespace: scope.projectNumber,
      selfLink: selfLink(scope, 'services', r.id),
      uid: r.uid,
      resourceVersion: resourceVersion(r),
      generation: r.generation,
      creationTimestamp: r.createTime,
      labels: { ...view.labels, 'cloud.googleapis.com/location': r.location },
      annotations: {
        ...view.annotations,
        'serving.knative.dev/creator': r.creator,
        'serving.knative.dev/lastModifier': r.lastModifier,
        'run.googleapis.com/ingress': ingress,
        'run.googleapis.com/ingress-status': ingress,
        'run.googleapis.com/operation-id': r.lastOperation?.split('/').pop(),
        'run.googleapis.com/urls': url ? JSON.stringify([url]) : undefined,
      },
    },
    spec: view.spec,
    status: {
      observedGeneration: r.reconciledGeneration,
      conditions: serviceConditions(r),
      latestReadyRevisionName: r.latestReady,
      latestCreatedRevisionName: r.latestCreated,
      traffic: statusTraffic(r),
      url,
      address: url ? { url } : undefined,
    },
  }) as Json;
}

/** A Knative Revision: its template as a RevisionSpec, labelled with its service and configuration. */
export function knativeRevision(r: ServiceRecord, rev: RevisionRecord, scope: KnativeScope): Json {
  const template = templateToV1(rev.template, rev.name);
  const ready = revisionReady(rev);
  const at = rev.updateTime;
  const pending = rev.state === 'pending';
  const active = servesTraffic(r, rev.name);
  return compact({
    apiVersion: KNATIVE_API_VERSION,
    kind: 'Revision',
    metadata: {
      name: rev.name,
      namespace: scope.projectNumber,
      selfLink: selfLink(scope, 'revisions', rev.name),
      uid: rev.uid,
      resourceVersion: Buffer.from(rev.uid).toString('base64url').slice(0, 16),
      generation: 1,
      creationTimestamp: rev.createTime,
      labels: {
        ...obj(template.metadata.labels),
        'serving.knative.dev/configuration': r.id,
        'serving.knative.dev/configurationGeneration': String(rev.configurationGeneration),
        'serving.knative.dev/service': r.id,
        'serving.knative.dev/serviceUid': r.uid,
        'serving.knative.dev/route': active ? r.id : undefined,
        'cloud.googleapis.com/location': r.location,
      },
      annotations: { ...obj(template.metadata.annotations), 'serving.knative.dev/creator': r.lastModifier },
      ownerReferences: [
        {
          kind: 'Configuration',
          name: r.id,
          uid: r.uid,
          apiVersion: KNATIVE_API_VERSION,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: template.spec,
    status: {
      observedGeneration: 1,
      conditions: [
        conditionToV1('Ready', ready),
        pending
          ? conditionToV1('Active', undefined)
          : {
              ...conditionToV1('Active', {
                type: 'Active',
                state: active ? 'CONDITION_SUCCEEDED' : 'CONDITION_FAILED',
                lastTransitionTime: at,
              }),
              ...(active ? {} : { reason: 'Reserve' }),
            },
        conditionToV1('ContainerHealthy', { ...ready, type: 'ContainerHealthy' }),
        conditionToV1('ResourcesAvailable', {
          type: 'ResourcesAvailable',
          state: pending ? 'CONDITION_RECONCILING' : 'CONDITION_SUCCEEDED',
          lastTransitionTime: at,
        }),
      ],
      logUrl: `https://console.cloud.google.com/logs/viewer?project=${r.project}&resource=cloud_run_revision/service_name/${r.id}/revision_name/${rev.name}`,
      imageDigest: rev.imageDigest,
    },
  }) as Json;
}

/** The service's Route: its traffic, as asked and as it stands. */
export function knativeRoute(r: ServiceRecord, scope: KnativeScope): Json {
  const url = r.router.url;
  return compact({
    apiVersion: KNATIVE_API_VERSION,
    kind: 'Route',
    metadata: {
      name: r.id,
      namespace: scope.projectNumber,
      selfLink: selfLink(scope, 'routes', r.id),
      uid: r.uid,
      generation: r.generation,
      creationTimestamp: r.createTime,
      labels: { 'serving.knative.dev/service': r.id, 'cloud.googleapis.com/location': r.location },
    },
    spec: { traffic: specTrafficToV1(r.spec.traffic) },
    status: {
      observedGeneration: r.reconciledGeneration,
      conditions: [
        conditionToV1(
          'Ready',
          r.reconciling ? undefined : r.conditions.find((c) => c.type === 'RoutesReady'),
        ),
      ],
      traffic: statusTraffic(r),
      url,
      address: url ? { url } : undefined,
    },
  }) as Json;
}

/** The service's Configuration: its template and the revisions it stamped out. */
export function knativeConfiguration(r: ServiceRecord, scope: KnativeScope): Json {
  const template = obj(r.spec.template);
  return compact({
    apiVersion: KNATIVE_API_VERSION,
    kind: 'Configuration',
    metadata: {
      name: r.id,
      namespace: scope.projectNumber,
      selfLink: selfLink(scope, 'configurations', r.id),
      uid: r.uid,
      generation: r.generation,
      creationTimestamp: r.createTime,
      labels: { 'serving.knative.dev/service': r.id, 'cloud.googleapis.com/location': r.location },
    },
    spec: { template: templateToV1(template, (template.revision as string | undefined) || undefined) },
    status: {
      observedGeneration: r.reconciledGeneration,
      conditions: [
        conditionToV1(
          'Ready',
          r.reconciling ? undefined : r.conditions.find((c) => c.type === 'ConfigurationsReady'),
        ),
      ],
      latestCreatedRevisionName: r.latestCreated,
      latestReadyRevisionName: r.latestReady,
    },
  }) as Json;
}

// ---- list filtering -------------------------------------------------------------------------

/**
 * A Kubernetes equality-based label selector (`a=b`, `a == b`, `a!=b`, `a`, `!a`, comma-joined)
 * as a predicate; set-based selectors (`in`, `notin`) are refused.
 */
export function labelSelector(selector: string | null): (labels: Record<string, string>) => boolean {
  if (!selector?.trim()) return () => true;
  const tests = selector.split(',').map((part) => {
    const term = part.trim();
    const m = /^(!?)([A-Za-z0-9][-A-Za-z0-9_./]*)\s*(?:(==|=|!=)\s*([-A-Za-z0-9_.]*))?$/.exec(term);
    if (!m || (m[1] && m[3])) throw invalidArgument(`Invalid label selector: '${term}'.`, 'labelSelector');
    const [, not, key, op, value] = m;
    if (!op) return (l: Record<string, string>) => key! in l !== Boolean(not);
    return (l: Record<string, string>) => (l[key!] === value) === (op !== '!=');
  });
  return (labels) => tests.every((t) => t(labels));
}
