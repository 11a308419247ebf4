// Cloud Run Admin API v1, the Knative Serving view gcloud speaks (api-facts §6): services,
// revisions, routes and configurations under /apis/serving.knative.dev/v1/namespaces/{project} on
// the regional host gcloud derives (REGION-HOST), and the /v1/projects/{p}/locations/{l} methods
// (lists across regions, IAM policies, operations). Every read and write goes through the model v2
// uses, with the same permissions on the same resources; only names and shapes differ.
import type { EmulatorContext } from '../context.js';
import { requireCaller } from '../context.js';
import { GoogleApiError, notFound } from '../errors.js';
import { schemaRoutes, type ApiRequest, type Route } from '../http.js';
import type { Principal } from '../iam.js';
import { splitRegionalHost } from '../proxy.js';
import { schemaOf } from '../schema/schema.js';
import { bodyOf, type CloudRun } from './cloudrun.js';
import {
  knativeConfiguration,
  knativeName,
  knativePreview,
  knativeRevision,
  knativeRoute,
  knativeService,
  labelSelector,
  resourceVersion,
  specFromKnative,
  type KnativeScope,
} from './knative.js';
import { paginate, validateLocation, validateServiceId, type Json } from './model.js';
import type { OperationRecord } from './operations.js';
import { serviceName, type RevisionRecord, type ServiceRecord } from './records.js';
import { renderPolicy } from './render.js';

const NS = String.raw`^\/apis\/serving\.knative\.dev\/v1\/namespaces\/(?<namespace>[^/]+)`;
const LOC = String.raw`^\/v1\/projects\/(?<project>[^/]+)\/locations\/(?<location>[^/]+)`;

/** Resource kinds as v1's NOT_FOUND messages name them. */
type Kind = 'SERVICE' | 'REVISION' | 'ROUTE' | 'CONFIGURATION';
const PLURAL: Record<Kind, string> = {
  SERVICE: 'services',
  REVISION: 'revisions',
  ROUTE: 'routes',
  CONFIGURATION: 'configurations',
};

/** Who asks, about which project and region, and how v1 names things there. */
interface Where {
  caller: Principal;
  /** Project ID. */
  project: string;
  location: string;
  /** The project as the request spelled it (ID or number). */
  asked: string;
  scope: KnativeScope;
  /** A resource as this path style names it in denials. */
  shown(kind: Kind, name?: string): string;
}

const LIST_KIND: Record<Kind, string> = {
  SERVICE: 'ServiceList',
  REVISION: 'RevisionList',
  ROUTE: 'RouteList',
  CONFIGURATION: 'ConfigurationList',
};

export function knativeRoutes(ctx: EmulatorContext, run: CloudRun): Route[] {
  /**
   * The project and region a request is about, after `permission` is checked on the project.
   * Namespaced paths carry no region: the regional host does (gcloud derives REGION-HOST), and the
   * global host has none of these paths.
   */
  function where(req: ApiRequest, permission: string): Where {
    const caller = requireCaller(ctx, req);
    const namespaced = req.params.namespace !== undefined;
    const asked = namespaced ? req.params.namespace! : req.params.project!;
    const location = namespaced ? splitRegionalHost(req.headers.host ?? '').region : req.params.location!;
    if (!location) throw notFound(`The requested URL ${req.path} was not found.`);
    // As v2 refuses them; '-' (every region) is for lists.
    if (location !== '-') validateLocation(location);
    const shown = (kind: Kind, name?: string): string =>
      `${namespaced ? `namespaces/${asked}` : `projects/${asked}/locations/${location}`}/${PLURAL[kind]}${name ? `/${name}` : ''}`;
    const project = run.projectOf(asked, permission, shown('SERVICE'));
    return { caller, project, location, asked, scope: { projectNumber: run.projectNumber(project) }, shown };
  }

  function missing(w: Where, kind: Kind, name: string): GoogleApiError {
    return notFound(
      `Resource '${name}' of kind '${kind}' in region '${w.location}' in project '${w.asked}' does not exist.`,
    );
  }

  /** The service a request names, after `permission` is checked on it (denials never reveal existence). */
  function serviceOf(req: ApiRequest, permission: string, kind: Kind = 'SERVICE'): [Where, ServiceRecord] {
    const w = where(req, permission);
    const id = req.params.name!;
    const record = run.service(w.project, w.location, id);
    run.check(w.caller, permission, serviceName(w.project, w.location, id), record, w.shown(kind, id));
    if (!record) throw missing(w, kind, id);
    return [w, record];
  }

  /** The items of a list the caller may read in a project's region (or all regions for '-'). */
  function listed<T>(req: ApiRequest, w: Where, kind: Kind, items: T[]): Json {
    const query = new URLSearchParams();
    if (req.query.get('limit')) query.set('pageSize', req.query.get('limit')!);
    if (req.query.get('continue')) query.set('pageToken', req.query.get('continue')!);
    const { page, nextPageToken } = paginate(items, query);
    return {
      apiVersion: 'serving.knative.dev/v1',
      kind: LIST_KIND[kind],
      metadata: nextPageToken ? { continue: nextPageToken } : {},
      items: page,
    };
  }

  function listServices(req: ApiRequest, kind: Kind, render: (r: ServiceRecord, w: Where) => Json): Json {
    const permission = `run.${PLURAL[kind]}.list`;
    const w = where(req, permission);
    run.check(
      w.caller,
      permission,
      `projects/${w.project}/locations/${w.location}`,
      undefined,
      w.shown(kind),
    );
    const select = labelSelector(req.query.get('labelSelector'));
    const items = run
      .servicesIn(w.project, w.location)
      .map((r) => render(r, w))
      .filter((item) => select((item.metadata as { labels?: Record<string, string> }).labels ?? {}));
    return listed(req, w, kind, items);
  }

  async function create(req: ApiRequest): Promise<Json> {
    const body = bodyOf(req);
    const w = where(req, 'run.services.create');
    const id = knativeName(body);
    run.check(
      w.caller,
      'run.services.create',
      serviceName(w.project, w.location, id),
      undefined,
      w.shown('SERVICE', id),
    );
    validateServiceId(id);
    if (run.service(w.project, w.location, id))
      throw new GoogleApiError('ALREADY_EXISTS', `Resource '${id}' already exists.`);
    return write(req, w, id, undefined, body);
  }

  async function replace(req: ApiRequest): Promise<Json> {
    const body = bodyOf(req);
    const [w, record] = serviceOf(req, 'run.services.update');
    if (knativeName(body) !== record.id) {
      throw new GoogleApiError(
        'INVALID_ARGUMENT',
        `metadata.name '${knativeName(body)}' does not match the service '${record.id}' the request names.`,
      );
    }
    const asked = (body.metadata as Json).resourceVersion;
    if (typeof asked === 'string' && asked !== '' && asked !== resourceVersion(record)) {
      throw new GoogleApiError(
        'ABORTED',
        `The service '${record.id}' was modified concurrently: resourceVersion ${asked} is not the current ${resourceVersion(record)}. Read it again and retry.`,
      );
    }
    return write(req, w, record.id, record, body);
  }

  async function write(
    req: ApiRequest,
    w: Where,
    id: string,
    existing: ServiceRecord | undefined,
    body: Json,
  ): Promise<Json> {
    const { spec, record } = await run.write({
      caller: w.caller,
      project: w.project,
      location: w.location,
      serviceId: id,
      existing,
      body: specFromKnative(body),
      validateOnly: req.query.get('dryRun') === 'all',
      fault: req.operationFault,
      style: 'v1',
    });
    return record ? knativeService(record, w.scope) : knativePreview(id, spec, w.scope);
  }

  /** Kubernetes answers a delete with a Status naming what went. */
  function deleted(kind: Kind, name: string, uid: string): Json {
    return {
      status: 'Success',
      details: { name, group: 'serving.knative.dev', kind: PLURAL[kind], uid },
    };
  }

  function revisionOf(req: ApiRequest, permission: string): [Where, ServiceRecord, RevisionRecord] {
    const w = where(req, permission);
    const name = req.params.name!;
    const owner = run
      .servicesIn(w.project, w.location)
      .find((r) => r.revisions.some((rev) => rev.name === name));
    // Revisions are named after their service: without one, check against the service it would be.
    const serviceId = owner?.id ?? name.replace(/-[^-]+-[^-]+$/, '');
    run.check(
      w.caller,
      permission,
      serviceName(w.project, w.location, serviceId),
      owner,
      w.shown('REVISION', name),
    );
    const rev = owner?.revisions.find((r) => r.name === name);
    if (!owner || !rev) throw missing(w, 'REVISION', name);
    return [w, owner, rev];
  }

  function listRevisions(req: ApiRequest): Json {
    const w = where(req, 'run.revisions.list');
    run.check(
      w.caller,
      'run.revisions.list',
      `projects/${w.project}/locations/${w.location}`,
      undefined,
      w.shown('REVISION'),
    );
    const select = labelSelector(req.query.get('labelSelector'));
    const items = run
      .servicesIn(w.project, w.location)
      .flatMap((r) => r.revisions.map((rev) => ({ rev, json: knativeRevision(r, rev, w.scope) })))
      .filter(({ json }) => select((json.metadata as { labels: Record<string, string> }).labels))
      // Newest first, as v2 lists them.
      .sort((a, b) => b.rev.createTime.localeCompare(a.rev.createTime))
      .map(({ json }) => json);
    return listed(req, w, 'REVISION', items);
  }

  /** A v1 operation: done ones carry the service as v1 shows it, as gcloud's WaitService reads it. */
  function operationJson(op: OperationRecord, w: Where): Json {
    const target = String(op.metadata.name ?? '').split('/');
    const record = run.service(w.project, target[3] ?? w.location, target[5] ?? '');
    const response =
      op.done &&
      !op.error &&
      record &&
      op.metadata['@type'] === 'type.googleapis.com/google.cloud.run.v2.Service'
        ? { '@type': 'type.googleapis.com/google.cloud.run.v1.Service', ...knativeService(record, w.scope) }
        : undefined;
    return {
      name: op.name,
      done: op.done,
      ...(op.error ? { error: op.error } : {}),
      ...(response ? { response } : {}),
    };
  }

  const one = schemaRoutes(schemaOf('run-v1'), '');
  /** One route per pattern; `rpc` names the method under run.namespaces. or run.projects.locations., as each pattern is. */
  const route = (
    method: string,
    patterns: string[],
    rpc: string,
    handler: (req: ApiRequest) => unknown,
  ): Route[] =>
    patterns.map((pattern) =>
      one(
        method,
        pattern,
        `run.${pattern.startsWith(NS) ? 'namespaces' : 'projects.locations'}.${rpc}`,
        handler,
      ),
    );
  const both = (suffix: string): string[] => [`${NS}${suffix}`, `${LOC}${suffix}`];
  const named = (plural: string): string => `\\/${plural}\\/(?<name>[^/:]+)`;

  return [
    ...route('GET', both('\\/services'), 'services.list', (req) =>
      listServices(req, 'SERVICE', (r, w) => knativeService(r, w.scope)),
    ),
    ...route('POST', both('\\/services'), 'services.create', create),
    ...route('GET', both(named('services')), 'services.get', (req) => {
      const [w, record] = serviceOf(req, 'run.services.get');
      return knativeService(record, w.scope);
    }),
    ...route('PUT', both(named('services')), 'services.replaceService', replace),
    ...route('DELETE', both(named('services')), 'services.delete', (req) => {
      const [, record] = serviceOf(req, 'run.services.delete');
      run.deleteRecord(record);
      return deleted('SERVICE', record.id, record.uid);
    }),
    ...route('GET', both('\\/revisions'), 'revisions.list', listRevisions),
    ...route('GET', both(named('revisions')), 'revisions.get', (req) => {
      const [w, record, rev] = revisionOf(req, 'run.revisions.get');
      return knativeRevision(record, rev, w.scope);
    }),
    ...route('DELETE', both(named('revisions')), 'revisions.delete', (req) => {
      const [, record, rev] = revisionOf(req, 'run.revisions.delete');
      run.assertDeletable(record, rev);
      run.deleteRevisionRecord(record, rev);
      return deleted('REVISION', rev.name, rev.uid);
    }),
    ...route('GET', both('\\/routes'), 'routes.list', (req) =>
      listServices(req, 'ROUTE', (r, w) => knativeRoute(r, w.scope)),
    ),
    ...route('GET', both(named('routes')), 'routes.get', (req) => {
      const [w, record] = serviceOf(req, 'run.routes.get', 'ROUTE');
      return knativeRoute(record, w.scope);
    }),
    ...route('GET', both('\\/configurations'), 'configurations.list', (req) =>
      listServices(req, 'CONFIGURATION', (r, w) => knativeConfiguration(r, w.scope)),
    ),
    ...route('GET', both(named('configurations')), 'configurations.get', (req) => {
      const [w, record] = serviceOf(req, 'run.configurations.get', 'CONFIGURATION');
      return knativeConfiguration(record, w.scope);
    }),
    ...route('GET', [`${LOC}${named('services')}:getIamPolicy`], 'services.getIamPolicy', (req) =>
      renderPolicy(serviceOf(req, 'run.services.getIamPolicy')[1]),
    ),
    ...route('POST', [`${LOC}${named('services')}:setIamPolicy`], 'services.setIamPolicy', (req) =>
      run.setPolicy(serviceOf(req, 'run.services.setIamPolicy')[1], bodyOf(req)),
    ),
    ...route(
      'POST',
      [`${LOC}${named('services')}:testIamPermissions`],
      'services.testIamPermissions',
      (req) => {
        const w = where(req, 'run.services.get');
        return run.grantedOf(w.caller, w.project, w.location, req.params.name!, bodyOf(req));
      },
    ),
    ...route('GET', [`${LOC}\\/operations\\/(?<operation>[^/:]+)`], 'operations.get', (req) => {
      const w = where(req, 'run.operations.get');
      return operationJson(run.findOperation(req, w.caller), w);
    }),
    ...route('POST', [`${LOC}\\/operations\\/(?<operation>[^/:]+):wait`], 'operations.wait', async (req) => {
      const w = where(req, 'run.operations.get');
      const op = run.findOperation(req, w.caller);
      await run.waitFor(op, bodyOf(req));
      return operationJson(op, w);
    }),
  ];
}
