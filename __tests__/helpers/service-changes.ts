// What the deploy planner is asked for in unit tests: one service's change with the planner's
// defaults (merge strategies, no traffic, no labels), the spec and any field overridden.
import type { ServiceChanges } from '../../src/deploy/plan.js';
import type { ServiceSpec } from '../../src/inputs/spec.js';

/** The image a planned change deploys unless a test says otherwise. */
export const PLANNED_IMAGE = 'h/p/r/app@sha256:1111';

export function serviceChanges(spec: ServiceSpec = {}, over: Partial<ServiceChanges> = {}): ServiceChanges {
  return {
    project: 'p',
    region: 'r',
    service: 'hello',
    image: PLANNED_IMAGE,
    revisionName: '',
    spec,
    envVarsUpdateStrategy: 'merge',
    secretsUpdateStrategy: 'merge',
    labels: {},
    traffic: undefined,
    ...over,
  };
}
