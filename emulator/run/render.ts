// Service, Revision and IAM Policy resources as Cloud Run v2 answers them in proto3 JSON: int64 as
// strings, enums as names, default values (false, empty lists and maps) omitted.
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

export function renderService(r: ServiceRecord): Json {
  const template = r.spec.template as Json | undefined;
  return compact({
    name: serviceName(r.project, r.location, r.id),
    uid: r.uid,
    generation: String(r.generation),
    labels: r.spec.labels,
    annotations: r.spec.annotations,
    createTime: r.createTime,
    updateTime: r.updateTime,
    creator: r.creator,
    lastModifier: r.lastModifier,
    client: r.spec.client,
    clientVersion: r.spec.clientVersion,
    description: r.spec.description,
    ingress: r.spec.ingress ?? 'INGRESS_TRAFFIC_ALL',
    launchStage: r.spec.launchStage ?? 'GA',
    binaryAuthorization: r.spec.binaryAuthorization,
    invokerIamDisabled: r.spec.invokerIamDisabled || undefined,
    defaultUriDisabled: r.spec.defaultUriDisabled || undefined,
    customAudiences: r.spec.customAudiences,
    scaling: r.spec.scaling,
    // Cloud Run shows the name it generated in template.revision (why clients send it back empty).
    template: template
      ? { ...v2Template(template), revision: template.revision || r.latestCreated }
      : undefined,
    traffic: r.spec.traffic,
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
    // proto3 JSON omits default values: `reconciling` appears only while true.
    reconciling: r.reconciling || undefined,
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

export function renderRevision(r: ServiceRecord, rev: RevisionRecord): Json {
  const t = rev.template;
  const ready = revisionReady(rev);
  const at = { lastTransitionTime: rev.updateTime };
  return compact({
    name: revisionFullName(r, rev.name),
    uid: rev.uid,
    generation: '1',
    labels: t.labels,
    annotations: t.annotations,
    createTime: rev.createTime,
    updateTime: rev.updateTime,
    launchStage: r.spec.launchStage ?? 'GA',
    service: serviceName(r.project, r.location, r.id),
    scaling: t.scaling,
    vpcAccess: t.vpcAccess,
    maxInstanceRequestConcurrency: t.maxInstanceRequestConcurrency,
    timeout: t.timeout,
    serviceAccount: t.serviceAccount,
    containers: t.containers,
    volumes: t.volumes,
    executionEnvironment: t.executionEnvironment,
    encryptionKey: t.encryptionKey,
    sessionAffinity: t.sessionAffinity || undefined,
    reconciling: rev.state === 'pending' || undefined,
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
