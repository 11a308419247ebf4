// Pure pieces of the Cloud Run emulation: enum decoding, template defaults and comparison, names,
// validation, and traffic resolution. No I/O here.
import { badField, invalidArgument } from '../errors.js';

export type Json = Record<string, unknown>;

export const LATEST = 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST';
export const REVISION = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION';

const ENUMS: Record<string, string[]> = {
  type: ['TRAFFIC_TARGET_ALLOCATION_TYPE_UNSPECIFIED', LATEST, REVISION],
  ingress: [
    'INGRESS_TRAFFIC_UNSPECIFIED',
    'INGRESS_TRAFFIC_ALL',
    'INGRESS_TRAFFIC_INTERNAL_ONLY',
    'INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER',
    'INGRESS_TRAFFIC_NONE',
  ],
  executionEnvironment: [
    'EXECUTION_ENVIRONMENT_UNSPECIFIED',
    'EXECUTION_ENVIRONMENT_GEN1',
    'EXECUTION_ENVIRONMENT_GEN2',
  ],
  egress: ['VPC_EGRESS_UNSPECIFIED', 'ALL_TRAFFIC', 'PRIVATE_RANGES_ONLY'],
  scalingMode: ['SCALING_MODE_UNSPECIFIED', 'AUTOMATIC', 'MANUAL'],
  encryptionKeyRevocationAction: ['ENCRYPTION_KEY_REVOCATION_ACTION_UNSPECIFIED', 'PREVENT_NEW', 'SHUTDOWN'],
  medium: ['MEDIUM_UNSPECIFIED', 'MEMORY'],
  launchStage: [
    'LAUNCH_STAGE_UNSPECIFIED',
    'UNIMPLEMENTED',
    'PRELAUNCH',
    'EARLY_ACCESS',
    'ALPHA',
    'BETA',
    'GA',
    'DEPRECATED',
  ],
};

/** The Node client sends enums as numbers ($alt=json;enum-encoding=int); store them as names. */
export function decodeEnums(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeEnums);
  if (!value || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value as Json)) {
    const names = ENUMS[k];
    out[k] = names && typeof v === 'number' ? (names[v] ?? v) : decodeEnums(v);
  }
  return out;
}

/** Drops empty maps/arrays and undefined, so `labels: {}` from the Node client equals no labels. */
export function compact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(compact);
  if (!value || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value as Json)) {
    const c = compact(v);
    if (c === undefined || c === null || c === '') continue;
    if (typeof c === 'object' && !Array.isArray(c) && Object.keys(c as Json).length === 0) continue;
    if (Array.isArray(c) && c.length === 0) continue;
    out[k] = c;
  }
  return out;
}

/** JSON with sorted keys: equal templates give equal strings. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value as Json)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Json)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The defaults Cloud Run fills into a revision template (what GET shows back). */
export function withTemplateDefaults(template: Json, defaultServiceAccount: string): Json {
  const t = compact(decodeEnums(template)) as Json;
  const all = (t.containers as Json[] | undefined) ?? [];
  const containers = all.map((c) => {
    const container: Json = { ...c };
    // Only a lone container gets Cloud Run's default port: with sidecars exactly one container must
    // declare one (validateContainers), and a sidecar never gets one.
    if (all.length === 1 && !container.ports) container.ports = [{ name: 'http1', containerPort: 8080 }];
    // A port's name is its protocol; without one it is HTTP/1, and Cloud Run says so.
    else if (Array.isArray(container.ports))
      container.ports = (container.ports as Json[]).map((p) => ({ name: 'http1', ...p }));
    const resources = (container.resources as Json | undefined) ?? {};
    container.resources = {
      ...resources,
      limits: { cpu: '1000m', memory: '512Mi', ...((resources.limits as Json | undefined) ?? {}) },
    };
    return container;
  });
  return {
    ...t,
    containers,
    serviceAccount: t.serviceAccount ?? defaultServiceAccount,
    timeout: t.timeout ?? '300s',
    maxInstanceRequestConcurrency: t.maxInstanceRequestConcurrency ?? 80,
    scaling: { maxInstanceCount: 100, ...((t.scaling as Json | undefined) ?? {}) },
  };
}

/** Two templates describe the same revision when they are equal apart from the revision name. */
export function sameTemplate(a: Json, b: Json): boolean {
  const strip = (t: Json): Json => {
    const { revision: _revision, ...rest } = t;
    return rest;
  };
  return canonical(strip(a)) === canonical(strip(b));
}

export function validateServiceId(id: string): void {
  if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(id) || id.length >= 50) {
    throw invalidArgument(
      `service_id "${id}" is invalid: it must begin with a letter, contain only lowercase letters, digits and hyphens, not end with a hyphen, and be less than 50 characters.`,
      'service_id',
    );
  }
}

const RESERVED_PREFIXES = [
  'run.googleapis.com',
  'cloud.googleapis.com',
  'serving.knative.dev',
  'autoscaling.knative.dev',
];

export function validateMetadata(field: string, map: unknown): void {
  for (const key of Object.keys((map as Json | undefined) ?? {})) {
    if (RESERVED_PREFIXES.some((p) => key.startsWith(`${p}/`) || key === p)) {
      throw invalidArgument(
        `${field}: the key "${key}" is in a reserved namespace (${RESERVED_PREFIXES.join(', ')}).`,
        field,
      );
    }
  }
}

export interface Target {
  type: string;
  revision?: string;
  percent: number;
  tag?: string;
}

export function readTraffic(traffic: unknown): Target[] {
  const list = (decodeEnums(traffic) as Json[] | undefined) ?? [];
  return list.map((t) => ({
    type: (t.type as string | undefined) ?? (t.revision ? REVISION : LATEST),
    ...(t.revision ? { revision: String(t.revision) } : {}),
    percent: Number(t.percent ?? 0),
    ...(t.tag ? { tag: String(t.tag) } : {}),
  }));
}

/** Checks a traffic spec: percentages add to 100, tags are unique and well-formed, revisions exist. */
export function validateTraffic(
  targets: Target[],
  revisionExists: (name: string) => boolean,
  serviceId: string,
): void {
  if (targets.length === 0) return;
  const total = targets.reduce((sum, t) => sum + t.percent, 0);
  if (total !== 100)
    throw invalidArgument(`Traffic percentages must add up to 100, got ${total}.`, 'traffic');
  const tags = new Set<string>();
  for (const t of targets) {
    if (t.percent < 0 || t.percent > 100)
      throw invalidArgument(`Traffic percent ${t.percent} is out of range.`, 'traffic.percent');
    if (t.type === REVISION && !t.revision)
      throw invalidArgument('A REVISION traffic target must name a revision.', 'traffic.revision');
    if (t.type === REVISION && t.revision && !revisionExists(t.revision)) {
      throw invalidArgument(`Revision '${t.revision}' referenced in traffic not found.`, 'traffic.revision');
    }
    if (t.tag) {
      if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(t.tag))
        throw invalidArgument(`Tag "${t.tag}" is invalid.`, 'traffic.tag');
      if (t.tag.length + serviceId.length > 46) {
        throw invalidArgument(
          `Tag "${t.tag}" is too long: tag and service name together may have at most 46 characters.`,
          'traffic.tag',
        );
      }
      if (tags.has(t.tag)) throw invalidArgument(`Tag "${t.tag}" is used more than once.`, 'traffic.tag');
      tags.add(t.tag);
    }
  }
}

/** How readiness is judged: an HTTP GET on a path, or the port answering; and how long to wait. */
export interface StartupProbe {
  httpPath: string | undefined;
  budgetSeconds: number;
  periodMs: number;
  /** The port the template's probe names, if it names one (else the container's port). */
  port?: number;
  /** The template's own probe, by action; absent for Cloud Run's default check of the port. */
  configured?: 'http' | 'tcp' | 'grpc';
}

/** Cloud Run's longest startup allowance (initialDelaySeconds and periodSeconds are each at most 240). */
const MAX_STARTUP_SECONDS = 240;

/**
 * The startup probe a container gets. Without one in the template the emulator's own allowance
 * applies; a template probe's initialDelaySeconds + periodSeconds × failureThreshold (proto defaults
 * 0, 10, 3) replaces it, shorter or longer. Checks repeat more often than periodSeconds: an
 * emulator has no reason to make a ready container wait.
 */
export function startupProbe(probe: unknown, defaultSeconds: number): StartupProbe {
  const p = (probe ?? undefined) as Json | undefined;
  if (!p || Object.keys(p).length === 0) {
    return { httpPath: undefined, budgetSeconds: defaultSeconds, periodMs: 200 };
  }
  const number = (v: unknown, fallback: number): number => {
    const n = Number(v);
    return Number.isFinite(n) && n > 0 ? n : fallback;
  };
  const period = number(p.periodSeconds, 10);
  const budget = number(p.initialDelaySeconds, 0) + period * number(p.failureThreshold, 3);
  const httpGet = p.httpGet as Json | undefined;
  const action = (httpGet ?? p.tcpSocket ?? p.grpc) as Json | undefined;
  const port = Number(action?.port);
  return {
    httpPath: httpGet ? String(httpGet.path || '/') : undefined,
    budgetSeconds: Math.min(budget, MAX_STARTUP_SECONDS),
    periodMs: Math.min(200, period * 1000),
    ...(Number.isInteger(port) && port > 0 ? { port } : {}),
    configured: httpGet ? 'http' : p.grpc ? 'grpc' : 'tcp',
  };
}

/** How a running container's liveness is checked, and when it counts as dead. */
export interface LivenessProbe {
  /** The probe's action; gRPC is checked as startup probes check it: something listens on the port. */
  action: 'http' | 'tcp' | 'grpc';
  /** For HTTP: the path GET asks for, and the headers it sends. */
  httpPath?: string;
  httpHeaders?: Record<string, string>;
  /** The port the probe names, if it names one (else the container's port). */
  port?: number;
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  failureThreshold: number;
}

/**
 * A template's liveness probe as the runtime runs it, with the proto's defaults (initialDelaySeconds
 * 0, timeoutSeconds 1, periodSeconds 10, failureThreshold 3); none when the probe names no action.
 */
export function livenessProbe(probe: unknown): LivenessProbe | undefined {
  const p = (probe ?? undefined) as Json | undefined;
  const httpGet = p?.httpGet as Json | undefined;
  const action = (httpGet ?? p?.tcpSocket ?? p?.grpc) as Json | undefined;
  if (!p || !action) return undefined;
  const number = (v: unknown, fallback: number, least: number): number => {
    const n = Number(v);
    return Number.isFinite(n) && n >= least ? n : fallback;
  };
  const port = Number(action.port);
  const headers = ((httpGet?.httpHeaders as Json[] | undefined) ?? []).filter((h) => h && h.name);
  return {
    action: httpGet ? 'http' : p.grpc ? 'grpc' : 'tcp',
    ...(httpGet ? { httpPath: String(httpGet.path || '/') } : {}),
    ...(headers.length
      ? { httpHeaders: Object.fromEntries(headers.map((h) => [String(h.name), String(h.value ?? '')])) }
      : {}),
    ...(Number.isInteger(port) && port > 0 ? { port } : {}),
    initialDelayMs: number(p.initialDelaySeconds, 0, 0) * 1000,
    periodMs: number(p.periodSeconds, 10, 1) * 1000,
    timeoutMs: number(p.timeoutSeconds, 1, 1) * 1000,
    failureThreshold: number(p.failureThreshold, 3, 1),
  };
}

/** Duration "300s" → seconds. */
export function seconds(duration: unknown, fallback: number): number {
  const m = /^(\d+(?:\.\d+)?)s$/.exec(String(duration ?? ''));
  return m ? Number(m[1]) : fallback;
}

/** Cloud Run revision names: the service name, a hyphen, a suffix; a DNS label of at most 63 characters. */
export function validateRevisionName(name: string, serviceId: string): void {
  if (!name.startsWith(`${serviceId}-`) || name.length > 63 || !/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
    throw invalidArgument(
      `Revision name '${name}' is invalid: it must start with the service name followed by '-', contain only lowercase letters, digits and hyphens, and have at most 63 characters.`,
      'template.revision',
    );
  }
}

/** snake_case field-mask paths (AIP-161 allows them) as the lowerCamel names JSON uses. */
function camelPath(path: string): string {
  return path.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * An update under a field mask: each named path is copied from the patch (absent there ⇒ cleared),
 * everything else stays as it is. No mask, or `*`, replaces the whole resource.
 */
export function applyUpdateMask(current: Json, patch: Json, mask: string | null): Json {
  const paths = (mask ?? '')
    .split(',')
    .map((p) => camelPath(p.trim()))
    .filter(Boolean);
  if (paths.length === 0 || paths.includes('*')) return patch;
  const out = structuredClone(current);
  for (const path of paths) {
    const keys = path.split('.');
    const last = keys.pop()!;
    let target = out;
    let source: Json | undefined = patch;
    for (const key of keys) {
      const next = target[key];
      if (!next || typeof next !== 'object' || Array.isArray(next)) target[key] = {};
      target = target[key] as Json;
      const inner: unknown = source?.[key];
      source = inner && typeof inner === 'object' && !Array.isArray(inner) ? (inner as Json) : undefined;
    }
    const value = source?.[last];
    if (value === undefined) delete target[last];
    else target[last] = structuredClone(value);
  }
  return out;
}

/**
 * A page of a list and the token for the next one (an opaque offset). Without pageSize every item
 * comes in one page.
 */
export function paginate<T>(
  items: T[],
  query: URLSearchParams,
): { page: T[]; nextPageToken: string | undefined } {
  const size = Number(query.get('pageSize') ?? 0);
  const token = query.get('pageToken');
  const start = token ? Number(Buffer.from(token, 'base64url').toString('utf8')) : 0;
  if (!Number.isInteger(start) || start < 0) throw invalidArgument('Invalid page token.', 'page_token');
  if (!Number.isInteger(size) || size < 0) throw invalidArgument('Invalid page size.', 'page_size');
  const end = size > 0 ? start + size : items.length;
  return {
    page: items.slice(start, end),
    nextPageToken: end < items.length ? Buffer.from(String(end)).toString('base64url') : undefined,
  };
}

export function revisionName(serviceId: string, counter: number, random: () => number = Math.random): string {
  const letters = Array.from({ length: 3 }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join(
    '',
  );
  return `${serviceId}-${String(counter).padStart(5, '0')}-${letters}`;
}

/** The regions Cloud Run offers (cloud.google.com/run/docs/locations). */
export const LOCATIONS = new Set([
  'africa-south1',
  'asia-east1',
  'asia-east2',
  'asia-northeast1',
  'asia-northeast2',
  'asia-northeast3',
  'asia-south1',
  'asia-south2',
  'asia-southeast1',
  'asia-southeast2',
  'australia-southeast1',
  'australia-southeast2',
  'europe-central2',
  'europe-north1',
  'europe-north2',
  'europe-southwest1',
  'europe-west1',
  'europe-west2',
  'europe-west3',
  'europe-west4',
  'europe-west6',
  'europe-west8',
  'europe-west9',
  'europe-west10',
  'europe-west12',
  'me-central1',
  'me-central2',
  'me-west1',
  'northamerica-northeast1',
  'northamerica-northeast2',
  'northamerica-south1',
  'southamerica-east1',
  'southamerica-west1',
  'us-central1',
  'us-east1',
  'us-east4',
  'us-east5',
  'us-south1',
  'us-west1',
  'us-west2',
  'us-west3',
  'us-west4',
]);

/** An unknown location is refused before anything else (the exact status Google uses is unconfirmed). */
export function validateLocation(location: string): void {
  if (!LOCATIONS.has(location))
    throw invalidArgument(`Location '${location}' is not a Cloud Run location.`, 'location');
}

const RESERVED_ENV = new Set(['PORT', 'K_SERVICE', 'K_REVISION', 'K_CONFIGURATION']);
const RESERVED_MOUNT = /^\/(dev|proc|sys|cloudsql|pod|var\/log)(\/|$)/;
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const MEMORY = /^(\d+)(Ki|Mi|Gi|K|M|G)?$/;
const MEMORY_UNIT: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, K: 1e3, M: 1e6, G: 1e9 };

/** Label keys and values as Google Cloud takes them (system namespaces are checked apart). */
export function validateLabelSyntax(field: string, labels: unknown): void {
  for (const [key, value] of Object.entries((labels as Json | undefined) ?? {})) {
    if (RESERVED_PREFIXES.some((p) => key.startsWith(`${p}/`))) continue;
    if (!LABEL_KEY.test(key) || !LABEL_VALUE.test(String(value)))
      throw invalidArgument(
        `${field}: "${key}" is not a valid label (lowercase letters, digits, '_' and '-', at most 63 characters; keys start with a letter).`,
        field,
      );
  }
}

/** A qualified name's part after the prefix (Kubernetes' IsQualifiedName). */
const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/** A qualified name's prefix: a lowercase RFC 1123 subdomain. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Kubernetes' TotalAnnotationSizeLimitB: keys and values together. */
const MAX_ANNOTATION_BYTES = 256 * 1024;

/** Why `key` is not a Kubernetes qualified name ([PREFIX/]NAME); undefined when it is one. */
function qualifiedNameProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'a qualified name has at most one "/"';
  const name = parts.pop()!;
  const prefix = parts.pop();
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)))
    return "prefix part must be a lowercase RFC 1123 subdomain (lower case alphanumeric characters, '-' or '.', starting and ending with an alphanumeric character, at most 253 characters)";
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!QUALIFIED_NAME.test(name))
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  return undefined;
}

/**
 * Annotations as Cloud Run takes them: v2 says the field "follows Kubernetes annotations'
 * namespacing, limits, and rules" (service.proto), so every key is a qualified name and all of them,
 * values included, fit in 256 KiB.
 */
export function validateAnnotationSyntax(field: string, annotations: unknown): void {
  let bytes = 0;
  for (const [key, value] of Object.entries((annotations as Json | undefined) ?? {})) {
    const problem = qualifiedNameProblem(key);
    if (problem) throw invalidArgument(`${field}: Invalid value: "${key}": ${problem}.`, field);
    bytes += Buffer.byteLength(key) + Buffer.byteLength(String(value));
  }
  if (bytes > MAX_ANNOTATION_BYTES)
    throw invalidArgument(`${field}: Too long: must have at most ${MAX_ANNOTATION_BYTES} bytes.`, field);
}

function cpuOf(limits: Json | undefined): number {
  const cpu = String(limits?.cpu ?? '1');
  return cpu.endsWith('m') ? Number(cpu.slice(0, -1)) / 1000 : Number(cpu);
}

/** What Cloud Run refuses in a revision template: env, mounts, memory, and concurrency on a fraction of a CPU. */
export function validateTemplate(template: Json): void {
  const containers = (template.containers as Json[] | undefined) ?? [];
  const ingress = ingressIndex(containers);
  containers.forEach((container, i) => {
    const at = `template.containers[${i}]`;
    for (const e of (container.env as Json[] | undefined) ?? []) {
      const name = String(e.name ?? '');
      if (!/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(name))
        throw invalidArgument(
          `${at}.env: the name "${name}" is not a valid environment variable name.`,
          `${at}.env.name`,
        );
      // PORT is Cloud Run's to set in the ingress container only: a sidecar may set its own (Google's
      // multi-container sample gives its sidecar PORT=8888: GoogleCloudPlatform/cloud-run-samples,
      // multi-container/hello-nginx-sample/service.yaml).
      if (RESERVED_ENV.has(name) && (name !== 'PORT' || i === ingress))
        throw invalidArgument(
          `${at}.env: The following reserved env names were provided: ${name}. These values are automatically set by the system.`,
          `${at}.env.name`,
        );
      if (typeof e.value === 'string' && Buffer.byteLength(e.value) > 32 * 1024)
        throw invalidArgument(`${at}.env: the value of ${name} is longer than 32 KiB.`, `${at}.env.value`);
    }
    for (const m of (container.volumeMounts as Json[] | undefined) ?? []) {
      const path = String(m.mountPath ?? '');
      const parts = path.split('/');
      if (
        path.includes(':') ||
        !path.startsWith('/') ||
        parts.includes('..') ||
        (RESERVED_MOUNT.test(path) && path !== '/cloudsql')
      )
        throw invalidArgument(
          `${at}.volumeMounts: mount path "${path}" is not allowed.`,
          `${at}.volumeMounts.mountPath`,
        );
    }
    const limits = (container.resources as Json | undefined)?.limits as Json | undefined;
    if (limits?.memory !== undefined) {
      const m = MEMORY.exec(String(limits.memory));
      const bytes = m ? Number(m[1]) * (m[2] ? MEMORY_UNIT[m[2]]! : 1) : NaN;
      if (!(bytes >= 128 * 2 ** 20 && bytes <= 32 * 2 ** 30))
        throw invalidArgument(
          `${at}.resources.limits.memory: ${String(limits.memory)} is outside 128Mi to 32Gi.`,
          `${at}.resources.limits.memory`,
        );
    }
  });
  // "Total": an instance's CPU is what its containers have together (a container without a limit
  // gets 1).
  const totalCpu = containers.reduce(
    (sum, c) => sum + cpuOf((c.resources as Json | undefined)?.limits as Json | undefined),
    0,
  );
  const concurrency = Number(template.maxInstanceRequestConcurrency ?? 0);
  if (containers.length && totalCpu < 1 && concurrency > 1)
    throw invalidArgument(
      'Total cpu < 1 is not supported with concurrency > 1.',
      'template.maxInstanceRequestConcurrency',
    );
}

/** Index of the container that receives requests: the only one, or the one that declares a port. */
export function ingressIndex(containers: Json[]): number {
  if (containers.length <= 1) return 0;
  const i = containers.findIndex((c) => Array.isArray(c.ports) && c.ports.length > 0);
  return i < 0 ? 0 : i;
}

/** How errors name a request's fields: the v2 API's words, or the v1 (Knative) API's. */
export type FieldStyle = 'CreateServiceRequest' | 'UpdateServiceRequest' | 'v1';

const MAX_CONTAINERS = 10;
const CONTAINER_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** The message Cloud Run gives a container name that is not an RFC 1123 label. */
export function invalidContainerName(name: string): string {
  // Observed verbatim (for the v1 container-dependencies annotation):
  // hashicorp/terraform-provider-google#21035.
  return `Invalid container name '${name}'. Must conform to RFC 1123: only lowercase letters, digits, hyphens, and periods are allowed, must begin and end with a letter or digit, and be less than 64 characters`;
}

export function validContainerName(name: string): boolean {
  return name.length < 64 && CONTAINER_NAME.test(name);
}

/**
 * What Cloud Run refuses in a revision's set of containers (its sidecars). Sources, by rule:
 * - at most 10 containers: "Services may include at most 10 containers" (gcloud 528,
 *   surface/run/deploy.py, checked before it sends anything; the server's own words are
 *   UNCONFIRMED, so gcloud's are used);
 * - a container has 0 or 1 port: `Violation in CreateServiceRequest.service.template.containers[0].ports:
 *   ports should contain 0 or 1 port.` (observed, GoogleCloudPlatform/magic-modules#10173);
 * - with more than one container exactly one declares a port, the ingress container ("A Cloud Run
 *   instance always has one single ingress container", cloud.google.com/run/docs/container-contract):
 *   `template.containers: Revision template should contain exactly one container with an exposed
 *   port.` (observed for none and for two: GoogleCloudPlatform/terraform-google-cloud-run#302, #488);
 * - names are RFC 1123 labels (proto: "Name of the container specified as a DNS_LABEL"; message
 *   observed, hashicorp/terraform-provider-google#21035); unique within the revision (as in a
 *   Kubernetes pod; wording UNCONFIRMED);
 * - dependsOn names containers of the same revision (gcloud refuses others itself: "--depends_on for
 *   container X references nonexistent containers"; the server's wording is UNCONFIRMED), without
 *   a cycle (wording UNCONFIRMED), and a container others depend on has a startup probe:
 *   `spec.template.spec.containers[0].depends_on: Dependent container 'sidecar' must have startup
 *   probe specified` (observed, GoogleCloudPlatform/cloud-run-samples#230; the ingress container
 *   has Cloud Run's default TCP startup probe, so Google's own sample may depend on it without
 *   declaring one: multi-container/hello-nginx-sample/service.yaml).
 */
export function validateContainers(template: Json, style: FieldStyle): void {
  const containers = (template.containers as Json[] | undefined) ?? [];
  const list = style === 'v1' ? 'spec.template.spec.containers' : 'template.containers';
  const at = (i: number): string => `${list}[${i}]`;
  if (containers.length > MAX_CONTAINERS)
    throw badField(list, `Services may include at most ${MAX_CONTAINERS} containers`);

  containers.forEach((c, i) => {
    const ports = (c.ports as Json[] | undefined) ?? [];
    if (ports.length > 1) {
      const field = style === 'v1' ? `${at(i)}.ports` : `Violation in ${style}.service.${at(i)}.ports`;
      throw badField(field, 'ports should contain 0 or 1 port.');
    }
  });
  if (containers.length > 1) {
    const exposed = containers.filter((c) => ((c.ports as Json[] | undefined) ?? []).length > 0);
    if (exposed.length !== 1)
      throw badField(list, 'Revision template should contain exactly one container with an exposed port.');
  }

  const index = new Map<string, number>();
  containers.forEach((c, i) => {
    const name = typeof c.name === 'string' ? c.name : '';
    if (name === '') return;
    if (!validContainerName(name)) throw badField(`${at(i)}.name`, invalidContainerName(name));
    if (index.has(name))
      throw badField(`${at(i)}.name`, `Container name '${name}' is used by more than one container.`);
    index.set(name, i);
  });

  const ingress = ingressIndex(containers);
  containers.forEach((c, i) => {
    for (const dep of (c.dependsOn as unknown[] | undefined) ?? []) {
      const name = String(dep);
      const target = index.get(name);
      if (target === undefined)
        throw badField(`${at(i)}.depends_on`, `Container '${name}' does not exist in this revision.`);
      if (target !== ingress && !containers[target]!.startupProbe)
        throw badField(
          `${at(i)}.depends_on`,
          `Dependent container '${name}' must have startup probe specified`,
        );
    }
  });

  const cycle = dependencyCycle(containers);
  if (cycle) throw badField(list, `Container dependencies must not form a cycle: ${cycle.join(' -> ')}.`);
}

/** A dependency cycle among the containers (names, the first repeated at the end), if there is one. */
function dependencyCycle(containers: Json[]): string[] | undefined {
  const deps = new Map<string, string[]>();
  for (const c of containers)
    if (typeof c.name === 'string' && c.name)
      deps.set(c.name, ((c.dependsOn as unknown[] | undefined) ?? []).map(String));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'visiting') return [...path.slice(path.indexOf(name)), name];
    state.set(name, 'visiting');
    path.push(name);
    for (const d of deps.get(name) ?? []) {
      const found = visit(d);
      if (found) return found;
    }
    path.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const name of deps.keys()) {
    const found = visit(name);
    if (found) return found;
  }
  return undefined;
}

/**
 * The order containers start in: each after the containers it depends on, otherwise in template
 * order (validateContainers has ruled out cycles and unknown names). Returns indexes.
 */
export function startOrder(containers: Array<{ name: string; dependsOn: string[] }>): number[] {
  const done = new Set<number>();
  const order: number[] = [];
  while (order.length < containers.length) {
    const next = containers.findIndex(
      (c, i) =>
        !done.has(i) &&
        c.dependsOn.every((d) => {
          const j = containers.findIndex((x) => x.name === d);
          return j < 0 || done.has(j);
        }),
    );
    if (next < 0) throw new Error('container dependencies form a cycle');
    done.add(next);
    order.push(next);
  }
  return order;
}
