// Service Usage v1, the little of it gcloud asks: `gcloud run deploy` first reads
// projects/P/services/run.googleapis.com to see whether the API is enabled (it carries on silently
// when the caller may not read it: a 403 or 404 is not an error to gcloud). Every API the emulator
// serves is enabled in every project, and so are the two Cloud SQL APIs `--add-cloudsql-instances`
// asks about (sql-component, which Google enables in every new project, and sqladmin, which Cloud
// Run's Cloud SQL connections need): a disabled one makes gcloud prompt, and abort where it may not.
// Any other service reads as DISABLED.
import type { EmulatorContext } from '../context.js';
import { requireCaller } from '../context.js';
import { GoogleApiError } from '../errors.js';
import type { ApiRequest, Route } from '../http.js';
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

function serviceJson(number: string, service: string): unknown {
  const title = ENABLED_APIS[service];
  return {
    name: `projects/${number}/services/${service}`,
    config: { name: service, title: title ?? service },
    state: title ? 'ENABLED' : 'DISABLED',
    parent: `projects/${number}`,
  };
}

export function serviceUsageRoutes(ctx: EmulatorContext): Route[] {
  return [
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
        return { body: serviceJson(number, service) };
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
        return { body: { services: Object.keys(ENABLED_APIS).map((s) => serviceJson(number, s)) } };
      },
    },
  ];
}
