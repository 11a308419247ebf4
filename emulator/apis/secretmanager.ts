// Secret Manager v1 (api-facts §7): secrets and versions (metadata, list, access), `latest` as the
// most recently created version whatever its state, permission checks before existence checks.
import { createHash } from 'node:crypto';
import type { EmulatorContext } from '../context.js';
import { requireCaller } from '../context.js';
import { GoogleApiError, notFound, permissionDenied } from '../errors.js';
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
  projectId: string;
  projectNumber: string;
  secretName: string;
  secret: Secret | undefined;
}

function locate(ctx: EmulatorContext, req: ApiRequest, permission: string, resourceSuffix = ''): Located {
  const caller = requireCaller(ctx, req);
  const { project, secret: secretName } = req.params as { project: string; secret: string };
  const projectId = ctx.world.projectId(project) ?? project;
  const projectNumber = ctx.world.projects.get(projectId)?.projectNumber ?? project;
  const resource = `projects/${projectId}/secrets/${secretName}`;
  if (!ctx.world.allowed(caller, permission, resource)) {
    throw permissionDenied(
      permission,
      `Permission '${permission}' denied for resource '${resource}${resourceSuffix}' (or it may not exist).`,
      'secretmanager.googleapis.com',
    );
  }
  return { projectId, projectNumber, secretName, secret: ctx.world.secrets.get(resource) };
}

function pickVersion(located: Located, version: string): SecretVersion {
  const { secret, projectNumber, secretName } = located;
  if (!secret)
    throw notFound(`Secret [projects/${projectNumber}/secrets/${secretName}] not found or has no versions.`);
  const found =
    version === 'latest' ? secret.versions.at(-1) : secret.versions.find((v) => String(v.number) === version);
  if (!found) {
    throw notFound(
      version === 'latest'
        ? `Secret [projects/${projectNumber}/secrets/${secretName}] not found or has no versions.`
        : `Secret Version [projects/${projectNumber}/secrets/${secretName}/versions/${version}] not found.`,
    );
  }
  return found;
}

function versionJson(located: Located, v: SecretVersion): unknown {
  return {
    name: `projects/${located.projectNumber}/secrets/${located.secretName}/versions/${v.number}`,
    createTime: v.createTime,
    ...(v.destroyTime ? { destroyTime: v.destroyTime } : {}),
    state: v.state,
    replicationStatus: { automatic: {} },
    etag: `"${createHash('sha1').update(`${v.number}${v.state}`).digest('hex').slice(0, 14)}"`,
    clientSpecifiedPayloadChecksum: false,
  };
}

export function secretManagerRoutes(ctx: EmulatorContext): Route[] {
  return [
    {
      method: 'GET',
      pattern: new RegExp(`${PREFIX}$`),
      handler: (req) => {
        const located = locate(ctx, req, 'secretmanager.secrets.get');
        if (!located.secret)
          throw notFound(
            `Secret [projects/${located.projectNumber}/secrets/${located.secretName}] not found.`,
          );
        return {
          body: {
            name: `projects/${located.projectNumber}/secrets/${located.secretName}`,
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
        if (!located.secret)
          throw notFound(
            `Secret [projects/${located.projectNumber}/secrets/${located.secretName}] not found.`,
          );
        const versions = [...located.secret.versions].reverse().map((v) => versionJson(located, v));
        return { body: { versions, totalSize: versions.length } };
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
        const name = `projects/${located.projectNumber}/secrets/${located.secretName}/versions/${v.number}`;
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
