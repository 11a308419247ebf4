// Service, Revision and IAM Policy resources as Cloud Run v2 answers them: the pipeline then writes
// them as proto3 JSON by the schema (emulator/schema/render.ts), default values omitted.
import { schemaOf } from '../schema/schema.js';
import { compact, type Json } from './model.js';
import {
  condition,
  revisionFullName,
  serviceName,
  type Condition,
  type RevisionRecord,
  type ServiceRecord,
} from './records.js';

export const SERVICE_TYPE = 'type.googleapis.com/google.cloud.run.v2.Service';
export const REVISION_TYPE = 'type.googleapis.com/google.cloud.run.v2.Revision';

/** Spec fields a caller may send back from a GET that are the server's to set. */
export const OUTPUT_ONLY_SERVICE_FIELDS = [
  'name',
  'uid',
  'generation',
  'etag',
  'uri',
  'urls',
  'trafficStatuses',
  'terminalCondition',
  'conditions',
  'latestReadyRevision',
  'latestCreatedRevision',
  'observedGeneration',
  'reconciling',
  'createTime',
  'updateTime',
  'deleteTime',
  'expireTime',
  'creator',
  'lastModifier',
  'satisfiesPzs',
];

/**
 * Template labels with a Kubernetes-style prefix (gcloud's client.knative.dev/nonce) exist only in
 * the v1 view: v2 labels cannot hold such keys. The stored template keeps them under this key, so a
 * new nonce still makes a new revision and gcloud still finds a revision by its nonce; v2 never
 * shows them.
 */
export const KNATIVE_LABELS = 'knativeLabels';

/** A stored template as v2 shows it. */
export function v2Template(template: Json): Json {
  const { [KNATIVE_LABELS]: _v1Only, ...shown } = template;
  return shown;
}

/** Every field a client may write, as stored: GET gives back whatever was set, used by Runway or not. */
function writable(spec: Json): Json {
  const { template: _template, [KNATIVE_LABELS]: _v1Only, ...rest } = spec;
  return rest;
}

export function renderService(r: ServiceRecord): Json {
  const template = r.spec.template as Json | undefined;
  return compact({
    ...writable(r.spec),
    name: serviceName(r.project, r.location, r.id),
    uid: r.uid,
    generation: String(r.generation),
    createTime: r.createTime,
    updateTime: r.updateTime,
    creator: r.creator,
    lastModifier: r.lastModifier,
    ingress: r.spec.ingress ?? 'INGRESS_TRAFFIC_ALL',
    launchStage: r.spec.launchStage ?? 'GA',
    // Cloud Run shows the name it generated in template.revision (why clients send it back empty).
    template: template
      ? { ...v2Template(template), revision: template.revision || r.latestCreated }
      : undefined,
    observedGeneration: String(r.observedGeneration),
    terminalCondition: r.terminal,
    conditions: r.conditions,
    latestReadyRevision: r.latestReady ? revisionFullName(r, r.latestReady) : undefined,
    latestCreatedRevision: r.latestCreated ? revisionFullName(r, r.latestCreated) : undefined,
    trafficStatuses: r.trafficStatuses.map((t) => ({
      ...t,
      ...(t.tag && r.tagUrls[t.tag] ? { uri: r.tagUrls[t.tag] } : {}),
    })),
    uri: r.router.url,
    urls: r.router.url ? [r.router.url] : [],
    reconciling: r.reconciling,
    etag: r.etag,
  }) as Json;
}

export function revisionReady(rev: RevisionRecord): Condition {
  const at = { lastTransitionTime: rev.updateTime };
  if (rev.state === 'ready') return condition('Ready', 'CONDITION_SUCCEEDED', at);
  if (rev.failure) {
    return condition('Ready', 'CONDITION_FAILED', {
      ...at,
      message: rev.failure.message,
      // A container that never got healthy is a revision-level reason; the others are common reasons.
      ...(rev.failure.reason === 'REVISION_FAILED'
        ? { revisionReason: 'HEALTH_CHECK_CONTAINER_ERROR' }
        : { reason: rev.failure.reason }),
      severity: 'ERROR',
    });
  }
  return condition('Ready', 'CONDITION_RECONCILING', { ...at, revisionReason: 'PENDING' });
}

export function logsUrl(r: ServiceRecord, revision: string): string {
  return `https://console.cloud.google.com/logs/viewer?project=${r.project}&resource=cloud_run_revision/service_name/${r.id}/revision_name/${revision}`;
}

/** The fields of a template that a Revision shows as they were set: all but its name and health-check switch. */
const REVISION_FIELDS = Object.keys(schemaOf('run-v2').messages['google.cloud.run.v2.Revision']!.fields);

export function renderRevision(r: ServiceRecord, rev: RevisionRecord): Json {
  const t = v2Template(rev.template);
  const ready = revisionReady(rev);
  const at = { lastTransitionTime: rev.updateTime };
  return compact({
    ...Object.fromEntries(Object.entries(t).filter(([k]) => REVISION_FIELDS.includes(k))),
    name: revisionFullName(r, rev.name),
    uid: rev.uid,
    generation: '1',
    createTime: rev.createTime,
    updateTime: rev.updateTime,
    launchStage: r.spec.launchStage ?? 'GA',
    service: serviceName(r.project, r.location, r.id),
    reconciling: rev.state === 'pending',
    conditions: [
      ready,
      condition('ContainerHealthy', ready.state, at),
      condition(
        'ResourcesAvailable',
        rev.state === 'pending' ? 'CONDITION_RECONCILING' : 'CONDITION_SUCCEEDED',
        at,
      ),
    ],
    observedGeneration: '1',
    logUri: logsUrl(r, rev.name),
    creator: r.lastModifier,
    etag: `"${rev.uid.slice(0, 12)}"`,
  }) as Json;
}

export function renderPolicy(r: ServiceRecord): Json {
  return compact({ version: r.policy.version, bindings: r.policy.bindings, etag: r.policy.etag }) as Json;
}
