// Service Usage v1, the little of it gcloud asks: `gcloud run deploy` first reads
// projects/P/services/run.googleapis.com to see whether the API is enabled (it carries on silently
// when the caller may not read it: a 403 or 404 is not an error to gcloud). Every API the emulator
// serves is enabled in every project, and so are the two Cloud SQL APIs `--add-cloudsql-instances`
// asks about (sql-component, which Google enables in every new project, and sqladmin, which Cloud
// Run's Cloud SQL connections need): a disabled one makes gcloud prompt, and abort where it may not.
// Any other service reads as DISABLED until enabled (`gcloud services enable`, which answers with
// an operation that is already done). Enabling Cloud Run creates its service agent and grants it
// roles/run.serviceAgent on the project, as Google does: that agent pulls revisions' images.
import type { EmulatorContext } from '../context.js';
import { requireCaller } from '../context.js';
import { GoogleApiError } from '../errors.js';
import { randomUUID } from 'node:crypto';
import { schemaRoutes, type ApiRequest, type Route } from '../http.js';
import { schemaOf } from '../schema/schema.js';

/** The enabled APIs, with the titles Service Usage shows for them. */
export const ENABLED_APIS: Record<string, string> = {
  'run.googleapis.com': 'Cloud Run Admin API',
  'iamcredentials.googleapis.com': 'IAM Service Account Credentials API',
  'sts.googleapis.com': 'Security Token Service API',
  'secretmanager.googleapis.com': 'Secret Manager API',
  'artifactregistry.googleapis.com': 'Artifact Registry API',
  'serviceusage.googleapis.com': 'Service Usage API',
  'sql-component.googleapis.com': 'Cloud SQL',
  'sqladmin.googleapis.com': 'Cloud SQL Admin API',
};

function denied(permission: string, message: string): GoogleApiError {
  return new GoogleApiError('PERMISSION_DENIED', message, [
    {
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason: 'AUTH_PERMISSION_DENIED',
      domain: 'serviceusage.googleapis.com',
      metadata: { permission },
    },
  ]);
}

/** The project's number (names in answers use it) after the permission check on the project. */
function projectNumber(ctx: EmulatorContext, req: ApiRequest, permission: string, message: string): string {
  const caller = requireCaller(ctx, req);
  const id = ctx.world.projectId(req.params.project!);
  if (!id || !ctx.world.allowed(caller, permission, `projects/${id}`)) throw denied(permission, message);
  return ctx.world.projects.get(id)!.projectNumber;
}

/** Cloud Run's service agent in a project: it pulls images for the project's revisions. */
export function runServiceAgent(projectNumber: string): string {
  return `service-${projectNumber}@serverless-robot-prod.iam.gserviceaccount.com`;
}

function serviceJson(ctx: EmulatorContext, number: string, service: string): unknown {
  const title = ENABLED_APIS[service];
  const id = ctx.world.projectId(number) ?? number;
  const enabled = title !== undefined || (ctx.world.enabledServices.get(id)?.has(service) ?? false);
  return {
    name: `projects/${number}/services/${service}`,
    config: { name: service, title: title ?? service },
    state: enabled ? 'ENABLED' : 'DISABLED',
    parent: `projects/${number}`,
  };
}

/** Enables the services (names checked first: all or none), and answers with a finished operation. */
function enable(ctx: EmulatorContext, number: string, services: string[], batch: boolean): unknown {
  for (const service of services)
    if (!/^[a-z][a-z0-9-]*\.googleapis\.com$/.test(service))
      throw new GoogleApiError('NOT_FOUND', `Service ${service} not found or permission denied.`);
  const id = ctx.world.projectId(number)!;
  const enabled = ctx.world.enabledServices.get(id) ?? new Set<string>();
  for (const service of services) enabled.add(service);
  ctx.world.enabledServices.set(id, enabled);
  if (services.includes('run.googleapis.com')) {
    const agent = runServiceAgent(number);
    ctx.world.serviceAccounts.add(agent);
    ctx.world.addBinding(`projects/${id}`, 'roles/run.serviceAgent', [`serviceAccount:${agent}`]);
  }
  const json = services.map((s) => serviceJson(ctx, number, s));
  const operation = {
    name: `operations/acat.p2-${number}-${randomUUID()}`,
    done: true,
    response: batch
      ? {
          '@type': 'type.googleapis.com/google.api.serviceusage.v1.BatchEnableServicesResponse',
          services: json,
        }
      : { '@type': 'type.googleapis.com/google.api.serviceusage.v1.EnableServiceResponse', service: json[0] },
  };
  ctx.world.operations.set(operation.name, operation);
  return operation;
}

export function serviceUsageRoutes(ctx: EmulatorContext): Route[] {
  const route = schemaRoutes(schemaOf('serviceusage-v1'), 'serviceusage.');
  return [
    route(
      'POST',
      String.raw`^\/v1\/projects\/(?<project>[^/]+)\/services\/(?<service>[^/:]+):enable`,
      'services.enable',
      (req) => {
        const service = req.params.service!;
        const number = projectNumber(
          ctx,
          req,
          'serviceusage.services.enable',
          `Permission denied to enable service [${service}]`,
        );
        return enable(ctx, number, [service], false);
      },
    ),
    route(
      'POST',
      String.raw`^\/v1\/projects\/(?<project>[^/]+)\/services:batchEnable`,
      'services.batchEnable',
      (req) => {
        const number = projectNumber(
          ctx,
          req,
          'serviceusage.services.enable',
          'Permission denied to enable services',
        );
        const ids = ((req.body as { serviceIds?: unknown } | undefined)?.serviceIds ?? []) as unknown[];
        if (!ids.length || ids.length > 20)
          throw new GoogleApiError('INVALID_ARGUMENT', 'Between 1 and 20 service IDs, please.');
        return enable(ctx, number, ids.map(String), true);
      },
    ),
    route('GET', String.raw`^\/v1\/operations\/(?<op>[^/]+)`, 'operations.get', (req) => {
      requireCaller(ctx, req);
      const found = ctx.world.operations.get(`operations/${req.params.op!}`);
      if (!found) throw new GoogleApiError('NOT_FOUND', `Operation operations/${req.params.op!} not found.`);
      return found;
    }),
    {
      method: 'GET',
      pattern: /^\/v1\/projects\/(?<project>[^/]+)\/services\/(?<service>[^/:]+)$/,
      schema: { api: schemaOf('serviceusage-v1'), method: 'serviceusage.services.get' },
      handler: (req) => {
        const service = req.params.service!;
        const number = projectNumber(
          ctx,
          req,
          'serviceusage.services.get',
          `Permission denied to get service [${service}]`,
        );
        return { body: serviceJson(ctx, number, service) };
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/projects\/(?<project>[^/]+)\/services$/,
      schema: { api: schemaOf('serviceusage-v1'), method: 'serviceusage.services.list' },
      handler: (req) => {
        const number = projectNumber(
          ctx,
          req,
          'serviceusage.services.list',
          'Permission denied to list services for consumer container',
        );
        // Only enabled services exist to list; the filter gcloud sends (state:ENABLED) changes nothing.
        return {
          body: {
            services: [
              ...new Set([
                ...Object.keys(ENABLED_APIS),
                ...(ctx.world.enabledServices.get(ctx.world.projectId(number) ?? number) ?? []),
              ]),
            ].map((s) => serviceJson(ctx, number, s)),
          },
        };
      },
    },
  ];
}
