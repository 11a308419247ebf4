// The service-wide and revision-wide settings of gcloud's flags beyond the container ones: invoker
// IAM check, custom audiences, description, session affinity, service-level minimum instances,
// Binary Authorization, CMEK, and the flags that remove labels or clear a VPC connector. Each
// applies to the planned service in place, as gcloud's config changes apply to the live one.
import type { RevisionTemplate, Service } from '../gcp/run-types.js';
import type { KeyValues } from '../inputs/kv.js';
import type { ListChange, ServiceSpec } from '../inputs/spec.js';

/** gcloud's repeated.ParsePrimitiveArgs: set replaces; else clear, remove, then add. */
export function changeList(live: string[], change: ListChange): string[] {
  if (change.set) return [...new Set(change.set)];
  let list = change.clear ? [] : [...live];
  if (change.remove) list = list.filter((v) => !change.remove!.includes(v));
  for (const v of change.add ?? []) if (!list.includes(v)) list.push(v);
  return list;
}

const REVOCATION = { 'prevent-new': 'PREVENT_NEW', 'shut-down': 'SHUTDOWN' } as const;

/** Live labels --remove-labels/--clear-labels drop; those this run sets stay. */
export function withoutRemovedLabels(labels: KeyValues, spec: ServiceSpec, kept: KeyValues): KeyValues {
  if (!spec.clearLabels && !spec.removeLabels?.length) return labels;
  return Object.fromEntries(
    Object.entries(labels).filter(
      ([k]) => k in kept || !(spec.clearLabels || spec.removeLabels!.includes(k)),
    ),
  );
}

export function applyTemplateFlags(template: RevisionTemplate, spec: ServiceSpec): void {
  if (spec.sessionAffinity !== undefined) {
    if (spec.sessionAffinity) template.sessionAffinity = true;
    else delete template.sessionAffinity;
  }
  if (spec.encryptionKey === null) delete template.encryptionKey;
  else if (spec.encryptionKey !== undefined) template.encryptionKey = spec.encryptionKey;
  if (spec.keyRevocationAction === null) delete template.encryptionKeyRevocationAction;
  else if (spec.keyRevocationAction !== undefined)
    template.encryptionKeyRevocationAction = REVOCATION[spec.keyRevocationAction];
  if (spec.keyShutdownHours === null) delete template.encryptionKeyShutdownDuration;
  else if (spec.keyShutdownHours !== undefined)
    template.encryptionKeyShutdownDuration = `${spec.keyShutdownHours * 3600}s`;
  if (spec.clearVpcConnector && template.vpcAccess) {
    // Direct VPC keeps its egress setting; without interfaces the whole block goes.
    const { connector: _connector, egress, ...rest } = template.vpcAccess;
    const vpcAccess = rest.networkInterfaces ? { ...rest, ...(egress ? { egress } : {}) } : rest;
    if (Object.keys(vpcAccess).length) template.vpcAccess = vpcAccess;
    else delete template.vpcAccess;
  }
}

/** Service-wide settings; a preview (revisionOnly) changes none of them. */
export function applyServiceFlags(service: Service, spec: ServiceSpec): void {
  if (spec.invokerIamDisabled !== undefined) service.invokerIamDisabled = spec.invokerIamDisabled;
  if (spec.customAudiences) {
    const audiences = changeList(service.customAudiences ?? [], spec.customAudiences);
    if (audiences.length) service.customAudiences = audiences;
    else delete service.customAudiences;
  }
  if (spec.description !== undefined) {
    if (spec.description) service.description = spec.description;
    else delete service.description;
  }
  if (spec.serviceMinInstances !== undefined) {
    const { minInstanceCount: _min, ...scaling } = service.scaling ?? {};
    service.scaling =
      spec.serviceMinInstances === null
        ? scaling
        : { ...scaling, minInstanceCount: spec.serviceMinInstances };
  }
  if (spec.binaryAuthorization === null) delete service.binaryAuthorization;
  else if (spec.binaryAuthorization !== undefined) {
    const { useDefault: _d, policy: _p, ...rest } = service.binaryAuthorization ?? {};
    service.binaryAuthorization =
      spec.binaryAuthorization === 'default'
        ? { ...rest, useDefault: true }
        : { ...rest, policy: spec.binaryAuthorization };
  }
  if (spec.breakglass !== undefined)
    service.binaryAuthorization = {
      ...service.binaryAuthorization,
      breakglassJustification: spec.breakglass,
    };
}
