// Secret Manager v1 (api-facts §7), as much as gcloud secrets uses: secrets (create, get, list,
// delete, IAM policy) and versions (add, get, list, access, enable, disable, destroy); `latest` as
// the most recently created version whatever its state, permission checks before existence checks.
// A secret's IAM policy is the world's bindings on it, so granting roles/secretmanager.secretAccessor
// here is what lets a Cloud Run revision's account read it.
import { createHash } from 'node:crypto';
import type { EmulatorContext } from '../context.js';
import { requireCaller } from '../context.js';
import { GoogleApiError, badField, invalidArgument, notFound } from '../errors.js';
import { schemaRoutes, type ApiRequest, type Route } from '../http.js';
import { checkPolicyEtag, type Binding, type Principal } from '../iam.js';
import type { Secret, SecretVersion } from '../state.js';
import { schemaOf } from '../schema/schema.js';

const PARENT = String.raw`^\/v1\/projects\/(?<project>[^/]+)(?:\/locations\/(?<location>[^/]+))?\/secrets`;
/** Payloads are at most 64 KiB. */
const MAX_PAYLOAD_BYTES = 64 * 1024;

const PREFIX = String.raw`^\/v1\/projects\/(?<project>[^/]+)(?:\/locations\/(?<location>[^/]+))?\/secrets\/(?<secret>[^/:]+)`;

/** CRC32C (Castagnoli), as Secret Manager reports payload checksums. */
function crc32c(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

interface Parent {
  caller: Principal;
  projectId: string;
  projectNumber: string;
  /** projects/NUMBER[/locations/L], as names in responses spell it. */
  parent: string;
}

interface Located extends Parent {
  /** projects/NUMBER[/locations/L]/secrets/S, as names in responses spell it. */
  name: string;
  /** projects/ID/secrets/S: the store's key and the resource IAM bindings sit on. */
  key: string;
  secret: Secret | undefined;
}

function denied(permission: string, resource: string): GoogleApiError {
  return new GoogleApiError(
    'PERMISSION_DENIED',
    `Permission '${permission}' denied for resource '${resource}' (or it may not exist).`,
    [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'IAM_PERMISSION_DENIED',
        domain: 'secretmanager.googleapis.com',
        metadata: { permission, resource },
      },
    ],
  );
}

/** The caller and the project a request names, with `permission` checked on the project. */
function locateProject(ctx: EmulatorContext, req: ApiRequest, permission: string): Parent {
  const caller = requireCaller(ctx, req);
  const project = req.params.project!;
  const projectId = ctx.world.projectId(project) ?? project;
  const projectNumber = ctx.world.projects.get(projectId)?.projectNumber ?? project;
  const where = req.params.location ? `/locations/${req.params.location}` : '';
  if (!ctx.world.allowed(caller, permission, `projects/${projectId}`))
    throw denied(permission, `projects/${project}${where}`);
  return { caller, projectId, projectNumber, parent: `projects/${projectNumber}${where}` };
}

/**
 * Resolves the caller and checks `permission` on the secret before anything about its existence is
 * revealed, so a caller without the permission cannot probe which secrets exist. Regional secrets
 * (the /locations/L/ form) share the seeded store; only their names keep the location.
 */
function locate(ctx: EmulatorContext, req: ApiRequest, permission: string, resourceSuffix = ''): Located {
  const caller = requireCaller(ctx, req);
  const project = req.params.project!;
  const secretName = req.params.secret!;
  const projectId = ctx.world.projectId(project) ?? project;
  const projectNumber = ctx.world.projects.get(projectId)?.projectNumber ?? project;
  const where = req.params.location ? `/locations/${req.params.location}` : '';
  const key = `projects/${projectId}/secrets/${secretName}`;
  if (!ctx.world.allowed(caller, permission, key))
    throw denied(permission, `projects/${project}${where}/secrets/${secretName}${resourceSuffix}`);
  const parent = `projects/${projectNumber}${where}`;
  return {
    caller,
    projectId,
    projectNumber,
    parent,
    name: `${parent}/secrets/${secretName}`,
    key,
    secret: ctx.world.secrets.get(key),
  };
}

function secretNotFound(located: Located): GoogleApiError {
  return notFound(`Secret [${located.name}] not found or has no versions.`);
}

function pickVersion(located: Located, version: string): SecretVersion {
  const { secret } = located;
  if (!secret) throw secretNotFound(located);
  if (version !== 'latest' && !/^[1-9]\d*$/.test(version)) {
    throw invalidArgument(`Invalid resource field value in the request: version [${version}].`);
  }
  const found =
    version === 'latest' ? secret.versions.at(-1) : secret.versions.find((v) => String(v.number) === version);
  if (!found) {
    if (version === 'latest') throw secretNotFound(located);
    throw notFound(`Secret Version [${located.name}/versions/${version}] not found.`);
  }
  return found;
}

function versionJson(located: Located, v: SecretVersion): unknown {
  return {
    name: `${located.name}/versions/${v.number}`,
    createTime: v.createTime,
    ...(v.destroyTime ? { destroyTime: v.destroyTime } : {}),
    state: v.state,
    replicationStatus: { automatic: {} },
    etag: `"${createHash('sha1').update(`${v.number}${v.state}`).digest('hex').slice(0, 14)}"`,
    clientSpecifiedPayloadChecksum: Boolean(v.clientChecksum),
  };
}

function secretJson(located: Pick<Located, 'name'>, secret: Secret): unknown {
  return {
    name: located.name,
    replication: secret.replication ?? { automatic: {} },
    createTime: secret.createTime,
    ...(secret.labels && Object.keys(secret.labels).length ? { labels: secret.labels } : {}),
    ...(secret.annotations && Object.keys(secret.annotations).length
      ? { annotations: secret.annotations }
      : {}),
    etag: `"${createHash('sha1')
      .update(`${secret.createTime}${JSON.stringify(secret.labels ?? {})}`)
      .digest('hex')
      .slice(0, 14)}"`,
  };
}

/** IAM policy etags are bytes (base64 in JSON) that change whenever the bindings do. */
function policyEtag(bindings: Binding[]): string {
  return createHash('sha1').update(JSON.stringify(bindings)).digest('base64').slice(0, 12);
}

function policyJson(bindings: Binding[]): unknown {
  return { version: 1, etag: policyEtag(bindings), ...(bindings.length ? { bindings } : {}) };
}

function bodyOf(req: ApiRequest): Record<string, unknown> {
  return req.body && typeof req.body === 'object' && !(req.body instanceof Buffer)
    ? (req.body as Record<string, unknown>)
    : {};
}

/** The secret a request names, which must exist. */
function existing(located: Located): Secret {
  if (!located.secret) throw notFound(`Secret [${located.name}] not found.`);
  return located.secret;
}

/** A version's state change (enable/disable/destroy); a destroyed version stays destroyed. */
function transition(located: Located, version: string, to: SecretVersion['state']): SecretVersion {
  existing(located);
  const v = pickVersion(located, version);
  if (v.state === 'DESTROYED') {
    throw new GoogleApiError(
      'FAILED_PRECONDITION',
      `Secret Version [${located.name}/versions/${v.number}] is in DESTROYED state.`,
    );
  }
  v.state = to;
  if (to === 'DESTROYED') {
    v.destroyTime = new Date().toISOString();
    v.data = Buffer.alloc(0);
  }
  return v;
}

/** pageSize/pageToken as AIP-158 describes them; the token is just the next offset here. */
function page<T>(items: T[], req: ApiRequest): { items: T[]; nextPageToken?: string } {
  const size = Number(req.query.get('pageSize') ?? '0');
  const start = Number(req.query.get('pageToken') ?? '0');
  if (!Number.isInteger(size) || size < 0 || !Number.isInteger(start) || start < 0) {
    throw invalidArgument('Invalid pageSize or pageToken.');
  }
  const end = size > 0 ? start + size : items.length;
  return { items: items.slice(start, end), ...(end < items.length ? { nextPageToken: String(end) } : {}) };
}

export function secretManagerRoutes(ctx: EmulatorContext): Route[] {
  const route = schemaRoutes(schemaOf('secretmanager-v1'), 'secretmanager.projects.secrets.');
  const versionRoute = (verb: string, to: SecretVersion['state']): Route =>
    route('POST', `${PREFIX}\\/versions\\/(?<version>[^/:]+):${verb}`, `versions.${verb}`, (req) => {
      const version = req.params.version!;
      const located = locate(ctx, req, `secretmanager.versions.${verb}`, `/versions/${version}`);
      return versionJson(located, transition(located, version, to));
    });

  return [
    route('POST', PARENT, 'create', (req) => createSecret(ctx, req)),
    route('GET', PARENT, 'list', (req) => {
      const { projectId, parent } = locateProject(ctx, req, 'secretmanager.secrets.list');
      const all = [...ctx.world.secrets.values()]
        .filter((secret) => secret.project === projectId)
        .map((secret) => secretJson({ name: `${parent}/secrets/${secret.name}` }, secret));
      const { items, nextPageToken } = page(all, req);
      return {
        ...(items.length ? { secrets: items } : {}),
        ...(nextPageToken ? { nextPageToken } : {}),
        totalSize: all.length,
      };
    }),
    route('GET', PREFIX, 'get', (req) => {
      const located = locate(ctx, req, 'secretmanager.secrets.get');
      return secretJson(located, existing(located));
    }),
    route('DELETE', PREFIX, 'delete', (req) => {
      const located = locate(ctx, req, 'secretmanager.secrets.delete');
      existing(located);
      ctx.world.deleteSecret(located.key);
      return {};
    }),
    route('POST', `${PREFIX}:addVersion`, 'addVersion', (req) => {
      const located = locate(ctx, req, 'secretmanager.versions.add');
      const secret = existing(located);
      const payload = (bodyOf(req).payload ?? {}) as { data?: unknown; dataCrc32c?: unknown };
      if (typeof payload.data !== 'string') throw badField('payload.data', 'Required field is missing.');
      const data = Buffer.from(payload.data, 'base64');
      if (data.length > MAX_PAYLOAD_BYTES)
        throw badField(
          'payload.data',
          `The payload is ${data.length} bytes; the limit is ${MAX_PAYLOAD_BYTES}.`,
        );
      const checksum = payload.dataCrc32c;
      if (checksum !== undefined && String(checksum) !== String(crc32c(data))) {
        throw badField('payload.data_crc32c', 'Checksum mismatch: the payload does not match data_crc32c.');
      }
      const v = ctx.world.addSecretVersion(secret, data);
      if (checksum !== undefined) v.clientChecksum = true;
      return versionJson(located, v);
    }),
    route('GET', `${PREFIX}\\/versions`, 'versions.list', (req) => {
      const located = locate(ctx, req, 'secretmanager.versions.list');
      // Newest first, as the real API lists them.
      const all = [...existing(located).versions].reverse().map((v) => versionJson(located, v));
      const { items, nextPageToken } = page(all, req);
      return { versions: items, ...(nextPageToken ? { nextPageToken } : {}), totalSize: all.length };
    }),
    route('GET', `${PREFIX}\\/versions\\/(?<version>[^/:]+)`, 'versions.get', (req) => {
      const version = req.params.version!;
      const located = locate(ctx, req, 'secretmanager.versions.get', `/versions/${version}`);
      return versionJson(located, pickVersion(located, version));
    }),
    route('GET', `${PREFIX}\\/versions\\/(?<version>[^/:]+):access`, 'versions.access', (req) => {
      const version = req.params.version!;
      const located = locate(ctx, req, 'secretmanager.versions.access', `/versions/${version}`);
      const v = pickVersion(located, version);
      const name = `${located.name}/versions/${v.number}`;
      if (v.state !== 'ENABLED') {
        throw new GoogleApiError('FAILED_PRECONDITION', `Secret Version [${name}] is in ${v.state} state.`);
      }
      return { name, payload: { data: v.data.toString('base64'), dataCrc32c: String(crc32c(v.data)) } };
    }),
    versionRoute('enable', 'ENABLED'),
    versionRoute('disable', 'DISABLED'),
    versionRoute('destroy', 'DESTROYED'),
    route('GET', `${PREFIX}:getIamPolicy`, 'getIamPolicy', (req) => {
      const located = locate(ctx, req, 'secretmanager.secrets.getIamPolicy');
      existing(located);
      return policyJson(ctx.world.bindings.get(located.key) ?? []);
    }),
    route('POST', `${PREFIX}:setIamPolicy`, 'setIamPolicy', (req) =>
      setSecretPolicy(ctx, locate(ctx, req, 'secretmanager.secrets.setIamPolicy'), req),
    ),
  ];
}

/** secretId: letters, digits, '-' and '_', at most 255 characters. */
function createSecret(ctx: EmulatorContext, req: ApiRequest): unknown {
  const { projectId, parent } = locateProject(ctx, req, 'secretmanager.secrets.create');
  const secretId = req.query.get('secretId') ?? '';
  if (!/^[A-Za-z0-9_-]{1,255}$/.test(secretId)) {
    throw badField(
      'secret_id',
      `'${secretId}' is not a valid secret ID: use letters, digits, '-' and '_', at most 255 characters.`,
    );
  }
  const body = bodyOf(req);
  const replication = body.replication as Record<string, unknown> | undefined;
  if (!replication || (!replication.automatic && !replication.userManaged)) {
    throw badField('secret.replication', 'Required field is missing: automatic or userManaged.');
  }
  const key = `projects/${projectId}/secrets/${secretId}`;
  const name = `${parent}/secrets/${secretId}`;
  if (ctx.world.secrets.has(key))
    throw new GoogleApiError('ALREADY_EXISTS', `Secret [${name}] already exists.`);
  const secret: Secret = {
    project: projectId,
    name: secretId,
    createTime: new Date().toISOString(),
    versions: [],
    replication,
    labels: (body.labels ?? {}) as Record<string, string>,
    annotations: (body.annotations ?? {}) as Record<string, string>,
  };
  ctx.world.secrets.set(key, secret);
  return secretJson({ name }, secret);
}

/** Replaces the secret's bindings; a stale etag is a concurrent change, as IAM reports it. */
function setSecretPolicy(ctx: EmulatorContext, located: Located, req: ApiRequest): unknown {
  existing(located);
  const policy = (bodyOf(req).policy ?? {}) as { bindings?: Binding[]; etag?: string };
  const current = ctx.world.bindings.get(located.key) ?? [];
  checkPolicyEtag(policy.etag, policyEtag(current));
  const bindings = (policy.bindings ?? []).map((b, i) => {
    if (typeof b.role !== 'string' || !Array.isArray(b.members) || b.members.length === 0)
      throw badField(`policy.bindings[${i}]`, 'A binding needs a role and at least one member.');
    return { role: b.role, members: [...b.members] };
  });
  ctx.world.bindings.set(located.key, bindings);
  return policyJson(bindings);
}
