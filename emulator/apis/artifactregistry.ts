// Artifact Registry v1, what `gcloud artifacts repositories create|describe|add-iam-policy-binding`
// call: Docker repositories and their IAM policies. A repository created here is one the registry
// front (registry/registry.ts) accepts pushes to, and its policy is what that front checks.
import { randomUUID } from 'node:crypto';
import type { EmulatorContext } from '../context.js';
import { requireCaller } from '../context.js';
import { GoogleApiError, badField, notFound, permissionDenied } from '../errors.js';
import { schemaRoutes, type ApiRequest, type Route } from '../http.js';
import { bindingsToSet, policyJson } from '../iam.js';
import { schemaOf } from '../schema/schema.js';

const LOCATION = String.raw`^\/v1\/projects\/(?<project>[^/]+)\/locations\/(?<location>[^/]+)`;
const REPOSITORY = String.raw`${LOCATION}\/repositories\/(?<repository>[^/:]+)`;

interface Located {
  projectId: string;
  location: string;
  /** projects/ID/locations/L/repositories/R: where its bindings sit. */
  resource: string;
}

function locate(ctx: EmulatorContext, req: ApiRequest, permission: string, resourceOf?: string): Located {
  const caller = requireCaller(ctx, req);
  const projectId = ctx.world.projectId(req.params.project!);
  const location = req.params.location!;
  const parent = `projects/${projectId ?? req.params.project!}/locations/${location}`;
  const resource = resourceOf ? `${parent}/repositories/${resourceOf}` : parent;
  if (!projectId || !ctx.world.allowed(caller, permission, resource))
    throw permissionDenied(
      permission,
      `Permission '${permission}' denied on resource '${resource}' (or it may not exist).`,
      'artifactregistry.googleapis.com',
    );
  return { projectId, location, resource };
}

function existing(ctx: EmulatorContext, at: Located, repository: string): void {
  const found = ctx.world.repositories.get(`${at.projectId}/${repository}`);
  if (!found || found.location !== at.location) throw notFound(`Requested entity was not found.`);
}

function repositoryJson(ctx: EmulatorContext, at: Located, repository: string): unknown {
  const at0 = new Date().toISOString();
  return {
    name: `projects/${at.projectId}/locations/${at.location}/repositories/${repository}`,
    format: 'DOCKER',
    mode: 'STANDARD_REPOSITORY',
    createTime: at0,
    updateTime: at0,
    registryUri: `${at.location}-docker.pkg.dev/${at.projectId}/${repository}`,
    satisfiesPzi: false,
  };
}

export function artifactRegistryRoutes(ctx: EmulatorContext): Route[] {
  const route = schemaRoutes(schemaOf('artifactregistry-v1'), 'artifactregistry.projects.locations.');
  return [
    route('POST', `${LOCATION}/repositories`, 'repositories.create', (req) => {
      const at = locate(ctx, req, 'artifactregistry.repositories.create');
      const id = req.query.get('repositoryId') ?? '';
      if (!/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/.test(id))
        throw badField('repository_id', `Invalid repository ID: ${id}.`);
      const body = (req.body ?? {}) as { format?: string };
      if (body.format !== 'DOCKER')
        throw badField('repository.format', 'The emulator serves Docker repositories only.');
      if (ctx.world.repositories.has(`${at.projectId}/${id}`))
        throw new GoogleApiError('ALREADY_EXISTS', `the repository already exists`);
      ctx.world.repositories.set(`${at.projectId}/${id}`, {
        project: at.projectId,
        location: at.location,
        name: id,
      });
      const operation = {
        name: `projects/${at.projectId}/locations/${at.location}/operations/${randomUUID()}`,
        done: true,
        response: {
          '@type': 'type.googleapis.com/google.devtools.artifactregistry.v1.Repository',
          ...(repositoryJson(ctx, at, id) as object),
        },
      };
      ctx.world.operations.set(operation.name, operation);
      return operation;
    }),
    route('GET', REPOSITORY, 'repositories.get', (req) => {
      const at = locate(ctx, req, 'artifactregistry.repositories.get', req.params.repository);
      existing(ctx, at, req.params.repository!);
      return repositoryJson(ctx, at, req.params.repository!);
    }),
    route('GET', `${REPOSITORY}:getIamPolicy`, 'repositories.getIamPolicy', (req) => {
      const at = locate(ctx, req, 'artifactregistry.repositories.getIamPolicy', req.params.repository);
      existing(ctx, at, req.params.repository!);
      return policyJson(ctx.world.bindings.get(at.resource) ?? []);
    }),
    route('POST', `${REPOSITORY}:setIamPolicy`, 'repositories.setIamPolicy', (req) => {
      const at = locate(ctx, req, 'artifactregistry.repositories.setIamPolicy', req.params.repository);
      existing(ctx, at, req.params.repository!);
      const bindings = bindingsToSet(req.body, ctx.world.bindings.get(at.resource) ?? []);
      ctx.world.bindings.set(at.resource, bindings);
      return policyJson(bindings);
    }),
    route('GET', `${LOCATION}/operations/(?<op>[^/]+)`, 'operations.get', (req) => {
      const at = locate(ctx, req, 'artifactregistry.repositories.get');
      const found = ctx.world.operations.get(`${at.resource}/operations/${req.params.op!}`);
      if (!found) throw notFound(`Requested entity was not found.`);
      return found;
    }),
  ];
}
