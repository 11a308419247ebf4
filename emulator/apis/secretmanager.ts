// Secret Manager v1 (api-facts §7): secrets and versions (metadata, list, access), `latest` as the
// most recently created version whatever its state, permission checks before existence checks.
import { createHash } from 'node:crypto';
import type { EmulatorContext } from '../context.js';
import { requireCaller } from '../context.js';
import { GoogleApiError, invalidArgument, notFound } from '../errors.js';
import type { ApiRequest, Route } from '../http.js';
import type { Secret, SecretVersion } from '../state.js';

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

interface Located {
  projectNumber: string;
  /** projects/NUMBER[/locations/L]/secrets/S, as names in responses spell it. */
  name: string;
  secret: Secret | undefined;
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
  const location = req.params.location;
  const projectId = ctx.world.projectId(project) ?? project;
  const projectNumber = ctx.world.projects.get(projectId)?.projectNumber ?? project;
  const where = location ? `/locations/${location}` : '';
  const resource = `projects/${project}${where}/secrets/${secretName}${resourceSuffix}`;
  if (!ctx.world.allowed(caller, permission, `projects/${projectId}/secrets/${secretName}`)) {
    throw new GoogleApiError(
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
  return {
    projectNumber,
    name: `projects/${projectNumber}${where}/secrets/${secretName}`,
    secret: ctx.world.secrets.get(`projects/${projectId}/secrets/${secretName}`),
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
    clientSpecifiedPayloadChecksum: false,
  };
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
  return [
    {
      method: 'GET',
      pattern: new RegExp(`${PREFIX}$`),
      handler: (req) => {
        const located = locate(ctx, req, 'secretmanager.secrets.get');
        if (!located.secret) throw notFound(`Secret [${located.name}] not found.`);
        return {
          body: {
            name: located.name,
            replication: { automatic: {} },
            createTime: located.secret.createTime,
            etag: '"secret"',
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${PREFIX}\\/versions$`),
      handler: (req) => {
        const located = locate(ctx, req, 'secretmanager.versions.list');
        if (!located.secret) throw notFound(`Secret [${located.name}] not found.`);
        // Newest first, as the real API lists them.
        const all = [...located.secret.versions].reverse().map((v) => versionJson(located, v));
        const { items, nextPageToken } = page(all, req);
        return {
          body: { versions: items, ...(nextPageToken ? { nextPageToken } : {}), totalSize: all.length },
        };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${PREFIX}\\/versions\\/(?<version>[^/:]+)$`),
      handler: (req) => {
        const version = req.params.version!;
        const located = locate(ctx, req, 'secretmanager.versions.get', `/versions/${version}`);
        return { body: versionJson(located, pickVersion(located, version)) };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${PREFIX}\\/versions\\/(?<version>[^/:]+):access$`),
      handler: (req) => {
        const version = req.params.version!;
        const located = locate(ctx, req, 'secretmanager.versions.access', `/versions/${version}`);
        const v = pickVersion(located, version);
        const name = `${located.name}/versions/${v.number}`;
        if (v.state !== 'ENABLED') {
          throw new GoogleApiError('FAILED_PRECONDITION', `Secret Version [${name}] is in ${v.state} state.`);
        }
        return {
          body: { name, payload: { data: v.data.toString('base64'), dataCrc32c: String(crc32c(v.data)) } },
        };
      },
    },
  ];
}
