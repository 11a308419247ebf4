// Cloud Storage JSON API v1 (https://cloud.google.com/storage/docs/json_api/v1), as far as source
// deploys use it: buckets insert/get/list and objects insert (media and multipart uploads), get
// (metadata, or the bytes with alt=media), list and delete. Requests are checked against the
// schema gcloud's generated storage client carries (emulator/schemas/storage-v1.json); each
// method checks its storage.* permission on the bucket's project before it reads anything, and
// errors come in the JSON API's own shape ({error: {code, message, errors: [{domain, reason}]}}),
// which is not google.rpc.Status. Also the XML API's authenticated download,
// storage.googleapis.com/BUCKET/OBJECT with a byte Range, which `gcloud builds submit` polls for a
// build's log (errors there are XML, as that API writes them).
import { createHash } from 'node:crypto';
import type { EmulatorContext } from '../context.js';
import { requireCaller } from '../context.js';
import { GoogleApiError, type CanonicalStatus } from '../errors.js';
import { describePrincipal, membersOf, type Principal } from '../iam.js';
import { bearerToken, schemaRoutes, type ApiRequest, type ApiResponse, type Route } from '../http.js';
import { schemaOf } from '../schema/schema.js';
import { checkRequest } from '../schema/validate.js';
import type { StorageBucket, StorageObject } from '../state.js';

type Json = Record<string, unknown>;

/** The JSON API's error body: the HTTP code, a message, and one entry with a `reason`. */
export class StorageApiError extends GoogleApiError {
  readonly reason: string;
  constructor(status: CanonicalStatus, reason: string, message: string) {
    super(status, message);
    this.reason = reason;
  }
  override toBody(): unknown {
    return {
      error: {
        code: this.httpStatus,
        message: this.message,
        errors: [{ message: this.message, domain: 'global', reason: this.reason }],
      },
    };
  }
}

const noBucket = (): StorageApiError =>
  new StorageApiError('NOT_FOUND', 'notFound', 'The specified bucket does not exist.');

function denied(caller: Principal, permission: string, what: string): StorageApiError {
  const who = describePrincipal(caller).replace(/^\w+:/, '');
  return new StorageApiError(
    'PERMISSION_DENIED',
    'forbidden',
    `${who} does not have ${permission} access to ${what}. Permission '${permission}' denied on resource (or it may not exist).`,
  );
}

const invalid = (message: string): StorageApiError =>
  new StorageApiError('INVALID_ARGUMENT', 'invalid', message);

/**
 * Bucket naming rules (https://cloud.google.com/storage/docs/buckets#naming), the simple form:
 * underscores are allowed, as in gcloud's PROJECT_cloudbuild staging bucket.
 */
function bucketNameProblem(name: string): string | undefined {
  if (!/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/.test(name)) return 'Invalid bucket name';
  if (name.includes('google') || name.startsWith('goog')) return 'Invalid bucket name';
  return undefined;
}

function renderBucket(ctx: EmulatorContext, b: StorageBucket): Json {
  return {
    kind: 'storage#bucket',
    id: b.name,
    name: b.name,
    selfLink: `${ctx.urls.storage}/storage/v1/b/${b.name}`,
    projectNumber: ctx.world.projects.get(b.project)?.projectNumber ?? b.project,
    location: b.location,
    locationType: 'region',
    storageClass: 'STANDARD',
    timeCreated: b.created,
    updated: b.created,
    metageneration: '1',
    etag: 'CAE=',
    iamConfiguration: {
      uniformBucketLevelAccess: { enabled: b.uniformAccess },
      publicAccessPrevention: 'inherited',
    },
  };
}

function renderObject(ctx: EmulatorContext, bucket: string, o: StorageObject): Json {
  return {
    kind: 'storage#object',
    id: `${bucket}/${o.name}/${o.generation}`,
    selfLink: `${ctx.urls.storage}/storage/v1/b/${bucket}/o/${encodeURIComponent(o.name)}`,
    mediaLink: `${ctx.urls.storage}/download/storage/v1/b/${bucket}/o/${encodeURIComponent(o.name)}?generation=${o.generation}&alt=media`,
    name: o.name,
    bucket,
    generation: o.generation,
    metageneration: '1',
    contentType: o.contentType,
    storageClass: 'STANDARD',
    size: String(o.data.length),
    md5Hash: createHash('md5').update(o.data).digest('base64'),
    etag: Buffer.from(o.generation).toString('base64'),
    timeCreated: o.created,
    updated: o.created,
  };
}

/**
 * A multipart/related upload: the first part the object's metadata as JSON, the second its bytes
 * (https://cloud.google.com/storage/docs/uploading-objects#uploading-an-object, multipart).
 */
function multipart(req: ApiRequest): { metadata: Json; data: Buffer; contentType: string } {
  const type = String(req.headers['content-type'] ?? '');
  // gcloud (Python's email package) quotes the boundary with single quotes.
  const boundary = /boundary=(?:"([^"]+)"|'([^']+)'|([^;\s]+))/i.exec(type)?.slice(1).find(Boolean);
  if (!/^multipart\/related/i.test(type) || !boundary)
    throw invalid('Content-Type must be multipart/related with a boundary for uploadType=multipart.');
  const raw = req.rawBody;
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let at = raw.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (raw.subarray(start, start + 2).toString() === '--') break;
    const next = raw.indexOf(delimiter, start);
    if (next < 0) break;
    // Each part: a line break, headers, an empty line, the body, a line break before the next delimiter.
    let from = start;
    if (raw[from] === 0x0d) from += 1;
    if (raw[from] === 0x0a) from += 1;
    let to = next;
    if (raw[to - 1] === 0x0a) to -= 1;
    if (raw[to - 1] === 0x0d) to -= 1;
    parts.push(raw.subarray(from, to));
    at = next;
  }
  if (parts.length !== 2) throw invalid('A multipart upload needs exactly two parts: metadata and media.');
  const split = (part: Buffer): { headers: string; body: Buffer } => {
    const crlf = part.indexOf('\r\n\r\n');
    const lf = part.indexOf('\n\n');
    const [end, gap] = crlf >= 0 && (lf < 0 || crlf < lf) ? [crlf, 4] : [lf, 2];
    if (end < 0) throw invalid('Malformed multipart body.');
    return { headers: part.subarray(0, end).toString('utf8'), body: part.subarray(end + gap) };
  };
  const [meta, media] = parts.map(split) as [
    { headers: string; body: Buffer },
    { headers: string; body: Buffer },
  ];
  let metadata: unknown;
  try {
    metadata = JSON.parse(meta.body.toString('utf8'));
  } catch {
    throw invalid('Invalid JSON payload received.');
  }
  const contentType =
    /content-type:\s*([^\r\n]+)/i.exec(media.headers)?.[1]?.trim() ?? 'application/octet-stream';
  return { metadata: (metadata ?? {}) as Json, data: media.body, contentType };
}

/** Stores an object, replacing any of that name; generations increase strictly per object. */
export function putObject(b: StorageBucket, name: string, data: Buffer, contentType: string): StorageObject {
  const stored: StorageObject = {
    name,
    data,
    contentType,
    // Generations are microseconds since the epoch, strictly increasing per object.
    generation: String(Math.max(Date.now() * 1000, Number(b.objects.get(name)?.generation ?? 0) + 1)),
    created: new Date().toISOString(),
  };
  b.objects.set(name, stored);
  return stored;
}

/** The basic roles, whose holders the legacy project-viewers ACL group names. */
const BASIC_ROLES = new Set(['roles/viewer', 'roles/editor', 'roles/owner']);

/**
 * Whether `caller` may `permission` on bucket `b`: by IAM on the bucket or its project. Cloud
 * Build's default logs bucket lives in a project of Google's, so no grant in the user's project
 * reaches it: only its ACL, which lets the build project's viewers read its objects.
 */
function mayUse(ctx: EmulatorContext, caller: Principal, permission: string, b: StorageBucket): boolean {
  if (!b.cloudBuildLogs)
    return ctx.world.allowed(caller, permission, `projects/${b.project}/buckets/${b.name}`);
  if (permission !== 'storage.objects.get') return false;
  const members = new Set(membersOf(caller));
  return ctx.world
    .bindingsInScope(`projects/${b.project}`)
    .some((x) => BASIC_ROLES.has(x.role) && x.members.some((m) => members.has(m)));
}

/**
 * An HTTP Range header (bytes=A-, bytes=A-B, bytes=-N) against `size` bytes: the slice to send,
 * 'unsatisfiable' for a start at or past the end (416), or undefined for the whole object.
 */
export function byteRange(
  header: string | string[] | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(String(header ?? '').trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/** An object's bytes, or the slice a Range header asks for (206), as both download APIs answer. */
function media(req: ApiRequest, o: StorageObject, unsatisfiable: () => ApiResponse): ApiResponse {
  const range = byteRange(req.headers.range, o.data.length);
  if (range === 'unsatisfiable') return unsatisfiable();
  const headers = {
    'content-type': o.contentType,
    'x-goog-generation': o.generation,
    'accept-ranges': 'bytes',
  };
  if (!range) return { body: o.data, headers };
  return {
    status: 206,
    body: o.data.subarray(range.start, range.end + 1),
    headers: { ...headers, 'content-range': `bytes ${range.start}-${range.end}/${o.data.length}` },
  };
}

/** An error of the XML API: its own document, not the JSON API's shape. */
function xmlError(status: number, code: string, message: string, details?: string): ApiResponse {
  const escape = (text: string): string =>
    text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  return {
    status,
    headers: { 'content-type': 'application/xml; charset=UTF-8' },
    body: `<?xml version='1.0' encoding='UTF-8'?><Error><Code>${code}</Code><Message>${escape(message)}</Message>${
      details ? `<Details>${escape(details)}</Details>` : ''
    }</Error>`,
  };
}

export function storageRoutes(ctx: EmulatorContext): Route[] {
  const schema = schemaOf('storage-v1');
  const route = schemaRoutes(schema, 'storage.');
  const B = String.raw`^\/storage\/v1\/b`;
  const bucket = String.raw`${B}\/(?<bucket>[^/]+)`;
  const object = String.raw`${bucket}\/o\/(?<object>.+)`;

  /** The bucket, once the caller may `permission` in its project (a missing bucket is a 404 first). */
  const bucketFor = (req: ApiRequest, permission: string): StorageBucket => {
    const caller = requireCaller(ctx, req);
    const found = ctx.world.buckets.get(req.params.bucket!);
    if (!found) throw noBucket();
    if (!mayUse(ctx, caller, permission, found))
      throw denied(caller, permission, `the Google Cloud Storage bucket`);
    return found;
  };
  const objectIn = (b: StorageBucket, name: string): StorageObject => {
    const found = b.objects.get(name);
    if (!found) throw new StorageApiError('NOT_FOUND', 'notFound', `No such object: ${b.name}/${name}`);
    return found;
  };
  const put = putObject;

  return [
    route('POST', B, 'buckets.insert', (req) => {
      const caller = requireCaller(ctx, req);
      const project = req.query.get('project');
      if (!project) throw new StorageApiError('INVALID_ARGUMENT', 'required', 'Required parameter: project');
      const projectId = ctx.world.projectId(project);
      if (!projectId || !ctx.world.allowed(caller, 'storage.buckets.create', `projects/${projectId}`))
        throw denied(caller, 'storage.buckets.create', `project ${project}`);
      const body = (req.body ?? {}) as Json;
      const name = typeof body.name === 'string' ? body.name : '';
      if (!name) throw new StorageApiError('INVALID_ARGUMENT', 'required', 'Required');
      const problem = bucketNameProblem(name);
      if (problem) throw invalid(problem);
      const existing = ctx.world.buckets.get(name);
      if (existing)
        throw new StorageApiError(
          'ALREADY_EXISTS',
          'conflict',
          existing.project === projectId
            ? 'Your previous request to create the named bucket succeeded and you already own it.'
            : 'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
        );
      const iam = (body.iamConfiguration ?? {}) as { uniformBucketLevelAccess?: { enabled?: boolean } };
      const created: StorageBucket = {
        name,
        project: projectId,
        location: String(body.location ?? 'US').toUpperCase(),
        uniformAccess: iam.uniformBucketLevelAccess?.enabled === true,
        created: new Date().toISOString(),
        objects: new Map(),
      };
      ctx.world.buckets.set(name, created);
      return renderBucket(ctx, created);
    }),
    route('GET', B, 'buckets.list', (req) => {
      const caller = requireCaller(ctx, req);
      const project = req.query.get('project');
      if (!project) throw new StorageApiError('INVALID_ARGUMENT', 'required', 'Required parameter: project');
      const projectId = ctx.world.projectId(project);
      if (!projectId || !ctx.world.allowed(caller, 'storage.buckets.list', `projects/${projectId}`))
        throw denied(caller, 'storage.buckets.list', `project ${project}`);
      const prefix = req.query.get('prefix') ?? '';
      const items = [...ctx.world.buckets.values()]
        .filter((b) => b.project === projectId && !b.cloudBuildLogs && b.name.startsWith(prefix))
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((b) => renderBucket(ctx, b));
      return { kind: 'storage#buckets', ...(items.length ? { items } : {}) };
    }),
    route('GET', bucket, 'buckets.get', (req) => renderBucket(ctx, bucketFor(req, 'storage.buckets.get'))),

    route('POST', String.raw`^\/upload${bucket.slice(1)}\/o`, 'objects.insert', (req) => {
      const b = bucketFor(req, 'storage.objects.create');
      const uploadType = req.query.get('uploadType');
      if (uploadType === 'media') {
        const name = req.query.get('name');
        if (!name) throw new StorageApiError('INVALID_ARGUMENT', 'required', 'Required parameter: name');
        const data = req.body instanceof Buffer ? req.body : req.rawBody;
        const type = String(req.headers['content-type'] ?? 'application/octet-stream');
        return renderObject(ctx, b.name, put(b, name, data, type));
      }
      if (uploadType === 'multipart') {
        const { metadata, data, contentType } = multipart(req);
        const checked = checkRequest(schema, 'storage.objects.insert', {
          query: new URLSearchParams(),
          body: metadata,
        }) as Json;
        const name = req.query.get('name') ?? (typeof checked.name === 'string' ? checked.name : '');
        if (!name) throw new StorageApiError('INVALID_ARGUMENT', 'required', 'Required');
        const type = typeof checked.contentType === 'string' ? checked.contentType : contentType;
        return renderObject(ctx, b.name, put(b, name, data, type));
      }
      throw invalid(`Unsupported upload type: ${uploadType ?? '(none)'}. Use media or multipart.`);
    }),
    route('GET', `${bucket}\\/o`, 'objects.list', (req) => {
      const b = bucketFor(req, 'storage.objects.list');
      const prefix = req.query.get('prefix') ?? '';
      const items = [...b.objects.values()]
        .filter((o) => o.name.startsWith(prefix))
        .sort((x, y) => (x.name < y.name ? -1 : 1))
        .map((o) => renderObject(ctx, b.name, o));
      return { kind: 'storage#objects', ...(items.length ? { items } : {}) };
    }),
    {
      // alt=media answers the bytes themselves, which no schema message describes.
      ...route('GET', object, 'objects.get', () => undefined),
      handler: (req) => {
        const b = bucketFor(req, 'storage.objects.get');
        const found = objectIn(b, req.params.object!);
        if (req.query.get('alt') === 'media')
          return media(req, found, () => {
            // 416 has no canonical status of its own: the JSON API's body, written out.
            const message = 'The requested range cannot be satisfied.';
            return {
              status: 416,
              body: {
                error: {
                  code: 416,
                  message,
                  errors: [{ message, domain: 'global', reason: 'requestedRangeNotSatisfiable' }],
                },
              },
            };
          });
        return { body: renderObject(ctx, b.name, found) };
      },
    },
    {
      ...route('DELETE', object, 'objects.delete', () => undefined),
      handler: (req) => {
        const b = bucketFor(req, 'storage.objects.delete');
        objectIn(b, req.params.object!);
        b.objects.delete(req.params.object!);
        return { status: 204 };
      },
    },
    {
      // The XML API's download (storage.googleapis.com/BUCKET/OBJECT), last: the JSON API's paths
      // come first, and no bucket is named storage, upload or download.
      method: 'GET',
      pattern: /^\/(?!(?:storage|upload|download)\/)(?<bucket>[^/]+)\/(?<object>.+)$/,
      handler: (req) => {
        const token = ctx.world.lookupToken(bearerToken(req.headers));
        if (!token || (token.kind !== 'access' && token.kind !== 'sts'))
          return xmlError(401, 'AuthenticationRequired', 'Authentication required.');
        const caller = token.principal;
        req.caller = describePrincipal(caller);
        const { bucket: name, object } = req.params as { bucket: string; object: string };
        const b = ctx.world.buckets.get(name);
        if (!b) return xmlError(404, 'NoSuchBucket', 'The specified bucket does not exist.');
        if (!mayUse(ctx, caller, 'storage.objects.get', b))
          return xmlError(
            403,
            'AccessDenied',
            'Access denied.',
            `${describePrincipal(caller).replace(/^\w+:/, '')} does not have storage.objects.get access to the Google Cloud Storage object. Permission 'storage.objects.get' denied on resource (or it may not exist).`,
          );
        const found = b.objects.get(object);
        if (!found) return xmlError(404, 'NoSuchKey', 'The specified key does not exist.');
        return media(req, found, () =>
          xmlError(416, 'InvalidRange', 'The requested range cannot be satisfied.'),
        );
      },
    },
  ];
}
