// Resource Manager v1, what `gcloud projects describe` and `gcloud projects add-iam-policy-binding`
// call: a project's metadata and its IAM policy. The project's policy is the world's bindings on
// projects/ID, so a role granted here is what every other emulated API then checks.
import type { EmulatorContext } from '../context.js';
import { requireCaller } from '../context.js';
import { permissionDenied } from '../errors.js';
import { schemaRoutes, type ApiRequest, type Route } from '../http.js';
import { bindingsToSet, grantedOf, policyJson, refuseWildcards } from '../iam.js';
import { schemaOf } from '../schema/schema.js';

const PROJECT = String.raw`^\/v1\/projects\/(?<project>[^/:]+)`;

/** The project's ID after the permission check; an unknown project is denied, as Google does. */
function locate(ctx: EmulatorContext, req: ApiRequest, permission: string): string {
  const caller = requireCaller(ctx, req);
  const id = ctx.world.projectId(req.params.project!);
  if (!id || !ctx.world.allowed(caller, permission, `projects/${id}`))
    throw permissionDenied(
      permission,
      `The caller does not have permission`,
      'cloudresourcemanager.googleapis.com',
    );
  return id;
}

export function resourceManagerRoutes(ctx: EmulatorContext): Route[] {
  const route = schemaRoutes(schemaOf('cloudresourcemanager-v1'), 'cloudresourcemanager.projects.');
  return [
    route('GET', PROJECT, 'get', (req) => {
      const id = locate(ctx, req, 'resourcemanager.projects.get');
      const p = ctx.world.projects.get(id)!;
      return {
        projectNumber: p.projectNumber,
        projectId: p.projectId,
        lifecycleState: 'ACTIVE',
        name: p.projectId,
        createTime: '2024-01-01T00:00:00.000Z',
        parent: { type: 'organization', id: '1000000000001' },
      };
    }),
    route('POST', `${PROJECT}:getIamPolicy`, 'getIamPolicy', (req) => {
      const id = locate(ctx, req, 'resourcemanager.projects.getIamPolicy');
      return policyJson(ctx.world.bindings.get(`projects/${id}`) ?? []);
    }),
    route('POST', `${PROJECT}:setIamPolicy`, 'setIamPolicy', (req) => {
      const id = locate(ctx, req, 'resourcemanager.projects.setIamPolicy');
      const bindings = bindingsToSet(req.body, ctx.world.bindings.get(`projects/${id}`) ?? []);
      ctx.world.bindings.set(`projects/${id}`, bindings);
      return policyJson(bindings);
    }),
    route('POST', `${PROJECT}:testIamPermissions`, 'testIamPermissions', (req) => {
      const caller = requireCaller(ctx, req);
      refuseWildcards(req.body);
      const id = ctx.world.projectId(req.params.project!) ?? req.params.project!;
      const permissions = grantedOf(caller, req.body, ctx.world.bindingsInScope(`projects/${id}`));
      return permissions.length ? { permissions } : {};
    }),
  ];
}
