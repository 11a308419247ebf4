// Cloud Logging v2, entries.list (https://cloud.google.com/logging/docs/reference/v2/rest/v2/entries/list):
// the entries the world's LogStore holds, from the projects the request names, that match its
// filter (../logging/filter.ts), oldest first unless it asks for `timestamp desc`, a page at a
// time. The caller needs logging.logEntries.list on every project it names, checked before
// anything is read.
import { createHash } from 'node:crypto';
import type { EmulatorContext } from '../context.js';
import { requireCaller } from '../context.js';
import { GoogleApiError, invalidArgument } from '../errors.js';
import { schemaRoutes, type Route } from '../http.js';
import { FilterSyntaxError, matches, parseFilter, type Filter } from '../logging/filter.js';
import type { LogEntry } from '../logging/store.js';
import { schemaOf } from '../schema/schema.js';

const PERMISSION = 'logging.logEntries.list';
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;

interface ListRequest {
  resourceNames?: string[];
  projectIds?: string[];
  filter?: string;
  orderBy?: string;
  pageSize?: number;
  pageToken?: string;
}

/** As gcloud users quote Logging's refusal: the resource is not named in the message, only in the detail. */
function denied(resource: string): GoogleApiError {
  return new GoogleApiError(
    'PERMISSION_DENIED',
    `Permission '${PERMISSION}' denied on resource (or it may not exist).`,
    [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'IAM_PERMISSION_DENIED',
        domain: 'logging.googleapis.com',
        metadata: { permission: PERMISSION, resource },
      },
    ],
  );
}

/** A page token binds the request it continues: its offset, and a digest of what it asked. */
function token(offset: number, fingerprint: string): string {
  return Buffer.from(JSON.stringify({ offset, fingerprint })).toString('base64url');
}

function offsetOf(pageToken: string, fingerprint: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(pageToken, 'base64url').toString('utf8')) as {
      offset?: unknown;
      fingerprint?: unknown;
    };
    if (typeof parsed.offset === 'number' && parsed.fingerprint === fingerprint) return parsed.offset;
  } catch {
    // not one of ours
  }
  throw invalidArgument(`Invalid page token: ${pageToken}`, 'page_token');
}

const nanos = (t: string): bigint => {
  const fraction = /\.(\d+)/.exec(t)?.[1] ?? '';
  return (
    BigInt(Date.parse(t.replace(/\.\d+/, ''))) * 1_000_000n + BigInt(fraction.padEnd(9, '0').slice(0, 9))
  );
};

export function loggingRoutes(ctx: EmulatorContext): Route[] {
  const route = schemaRoutes(schemaOf('logging-v2'), 'logging.');
  return [
    route('POST', String.raw`^\/v2\/entries:list`, 'entries.list', (req) => {
      const caller = requireCaller(ctx, req);
      const body = (req.body ?? {}) as ListRequest;
      const names = [...(body.resourceNames ?? []), ...(body.projectIds ?? []).map((p) => `projects/${p}`)];
      if (!names.length)
        throw invalidArgument('resource_names: At least one resource name is required.', 'resource_names');
      const projects = names.map((name) => {
        const project = /^projects\/([^/]+)$/.exec(name)?.[1];
        if (!project) throw invalidArgument(`Invalid resource name: ${name}`, 'resource_names');
        const id = ctx.world.projectId(project);
        if (!id || !ctx.world.allowed(caller, PERMISSION, `projects/${id}`)) throw denied(name);
        return id;
      });
      const order = (body.orderBy ?? 'timestamp asc').trim().toLowerCase().replace(/\s+/g, ' ');
      if (order !== 'timestamp asc' && order !== 'timestamp desc')
        throw invalidArgument(
          `Invalid order_by: "${body.orderBy}". Only "timestamp asc" and "timestamp desc" are supported.`,
          'order_by',
        );
      if (body.pageSize !== undefined && body.pageSize < 0)
        throw invalidArgument('page_size must not be negative.', 'page_size');
      const pageSize = Math.min(body.pageSize || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
      let filter: Filter;
      try {
        filter = parseFilter(body.filter ?? '');
      } catch (err) {
        if (err instanceof FilterSyntaxError) throw new GoogleApiError('INVALID_ARGUMENT', err.message);
        throw err;
      }
      const fingerprint = createHash('sha256')
        .update(JSON.stringify([projects, body.filter ?? '', order]))
        .digest('hex')
        .slice(0, 16);
      const offset = body.pageToken ? offsetOf(body.pageToken, fingerprint) : 0;
      const wanted = new Set(projects.map((p) => `projects/${p}/`));
      const found: LogEntry[] = ctx.world.logs
        .entries()
        .filter((e) => wanted.has(/^projects\/[^/]+\//.exec(e.logName)?.[0] ?? '') && matches(filter, e));
      const sorted = found
        .map((entry, i) => ({ entry, i, at: nanos(entry.timestamp) }))
        .sort((a, b) => (a.at === b.at ? a.i - b.i : a.at < b.at ? -1 : 1))
        .map((x) => x.entry);
      if (order === 'timestamp desc') sorted.reverse();
      const page = sorted.slice(offset, offset + pageSize);
      const next = offset + pageSize < sorted.length ? token(offset + pageSize, fingerprint) : undefined;
      return { entries: page, ...(next ? { nextPageToken: next } : {}) };
    }),
  ];
}
