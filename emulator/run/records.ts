// The Cloud Run emulator's in-memory resources: a service with its spec, status, IAM policy,
// revisions and router, and the conditions they report.
import type { Binding } from '../iam.js';
import type { Json, Target } from './model.js';
import type { Address, TrafficRouter } from './infrastructure.js';

export type ConditionState =
  'CONDITION_PENDING' | 'CONDITION_RECONCILING' | 'CONDITION_FAILED' | 'CONDITION_SUCCEEDED';

export interface Condition {
  type: string;
  state: ConditionState;
  message?: string;
  reason?: string;
  revisionReason?: string;
  /** Executions' and tasks' reason (NON_ZERO_EXIT_CODE, CANCELLED, ...). */
  executionReason?: string;
  severity?: string;
  lastTransitionTime: string;
}

/** reason = the Condition's CommonReason; code = the google.rpc.Code the operation fails with. */
export interface RevisionFailure {
  reason: string;
  message: string;
  code: number;
}

export interface RevisionRecord {
  /** Short name, e.g. hello-00002-abc. */
  name: string;
  uid: string;
  createTime: string;
  updateTime: string;
  /** The template with defaults filled in and `revision` set to this name. */
  template: Json;
  state: 'pending' | 'ready' | 'failed';
  failure?: RevisionFailure;
  /** The template set its own startup probe (changes the failure message). */
  probeConfigured: boolean;
  /** The service generation that created it (v1's serving.knative.dev/configurationGeneration). */
  configurationGeneration: number;
  /** The image by digest, resolved when the revision's container was pulled. */
  imageDigest?: string;
  /** The running instance, as the runtime removes it (RunningRevision.id). */
  instanceId?: string;
  /** The ingress container's id. */
  containerId?: string;
  /** Where the ingress container answers (none in process). */
  address?: Address | undefined;
  /** Every container's id, in template order. */
  containers?: Array<{ name: string; id: string }>;
}

export interface IamPolicy {
  version: number;
  bindings: Binding[];
  /** base64, as the bytes field travels in JSON. */
  etag: string;
}

export interface ServiceRecord {
  /** Project ID (responses name projects by ID, whichever form the caller used). */
  project: string;
  location: string;
  id: string;
  uid: string;
  createTime: string;
  updateTime: string;
  creator: string;
  lastModifier: string;
  generation: number;
  observedGeneration: number;
  /**
   * The last generation whose reconciliation finished, successfully or not: v1's
   * status.observedGeneration (v2's observedGeneration stays with what serves after a failure).
   */
  reconciledGeneration: number;
  etag: string;
  /** What the caller asked for (output fields removed, template defaults filled in). */
  spec: Json;
  revisions: RevisionRecord[];
  latestCreated?: string;
  latestReady?: string;
  /** What actually routes now. */
  trafficStatuses: Target[];
  tagUrls: Record<string, string>;
  reconciling: boolean;
  terminal: Condition;
  conditions: Condition[];
  policy: IamPolicy;
  router: TrafficRouter;
  /** Revisions created so far: the NNNNN in auto-generated names. */
  counter: number;
  /** Serializes reconciliations of this service. */
  queue: Promise<void>;
  /** The operation of the last change (v1's run.googleapis.com/operation-id). */
  lastOperation?: string;
}

export const now = (): string => new Date().toISOString();

export function condition(type: string, state: ConditionState, extra: Partial<Condition> = {}): Condition {
  return { type, state, lastTransitionTime: now(), ...extra };
}

export function serviceName(project: string, location: string, id: string): string {
  return `projects/${project}/locations/${location}/services/${id}`;
}

export function revisionFullName(r: ServiceRecord, revision: string): string {
  return `${serviceName(r.project, r.location, r.id)}/revisions/${revision}`;
}
