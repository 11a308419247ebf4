// IAM v1, what the one-time set-up calls (`gcloud iam service-accounts …`, `gcloud iam
// workload-identity-pools …`): service accounts (create, get, their IAM policy, testIamPermissions)
// and Workload Identity pools and OIDC providers (create, get, their operations). A provider created
// here is the one STS then enforces: its attribute mapping and condition decide who gets a token.
// Creating one finishes at once, but as a long-running operation, as Google answers it.
import { randomBytes, randomUUID } from 'node:crypto';
import type { EmulatorContext } from '../context.js';
import { requireCaller } from '../context.js';
import { evaluateCel } from '../cel.js';
import { GoogleApiError, badField, notFound, permissionDenied } from '../errors.js';
import { schemaRoutes, type ApiRequest, type Route } from '../http.js';
import { bindingsToSet, grantedOf, policyJson, type Principal } from '../iam.js';
import { schemaOf } from '../schema/schema.js';
import { poolName, providerName, type ProviderSeed } from '../state.js';

const SA = String.raw`^\/v1\/projects\/(?<project>[^/]+)\/serviceAccounts\/(?<email>[^/:]+)`;
const POOLS = String.raw`^\/v1\/projects\/(?<project>[^/]+)\/locations\/(?<location>[^/]+)\/workloadIdentityPools`;
const POOL = String.raw`${POOLS}\/(?<pool>[^/:]+)`;
const PROVIDER = String.raw`${POOL}\/providers\/(?<provider>[^/:]+)`;

type Json = Record<string, unknown>;

/** GitHub's issuer, and the emulator's stand-in for it. */
const GITHUB_ISSUERS = (ctx: EmulatorContext): string[] => [
  'https://token.actions.githubusercontent.com',
  ctx.urls.oidc.replace(/\/$/, ''),
];

function body(req: ApiRequest): Json {
  return req.body && typeof req.body === 'object' && !(req.body instanceof Buffer) ? (req.body as Json) : {};
}

/** The project a request names, as ID and number; the permission is checked on it first. */
function project(
  ctx: EmulatorContext,
  req: ApiRequest,
  permission: string,
): { caller: Principal; id: string; number: string } {
  const caller = requireCaller(ctx, req);
  const id = ctx.world.projectId(req.params.project!);
  if (!id || !ctx.world.allowed(caller, permission, `projects/${id}`))
    throw permissionDenied(
      permission,
      `Permission '${permission}' denied on resource (or it may not exist).`,
    );
  return { caller, id, number: ctx.world.projects.get(id)!.projectNumber };
}

/** A service account, after `permission` is checked on it (so a denial reveals nothing). */
function account(
  ctx: EmulatorContext,
  req: ApiRequest,
  permission: string,
): { caller: Principal; email: string; resource: string; projectId: string } {
  const caller = requireCaller(ctx, req);
  const email = req.params.email!;
  // As in testIamPermissions: a user-managed account's project ID, or the default compute account's number.
  const owner =
    /^[^@]+@([^.]+)\.iam\.gserviceaccount\.com$/.exec(email)?.[1] ??
    /^(\d+)-compute@developer\.gserviceaccount\.com$/.exec(email)?.[1];
  const projectId = ctx.world.projectId(owner ?? req.params.project!) ?? owner ?? req.params.project!;
  const resource = `projects/${projectId}/serviceAccounts/${email}`;
  if (!ctx.world.allowed(caller, permission, resource))
    throw permissionDenied(
      permission,
      `Permission '${permission}' denied on resource (or it may not exist).`,
    );
  if (!ctx.world.serviceAccounts.has(email)) throw notFound(`Unknown service account`);
  return { caller, email, resource, projectId };
}

function accountJson(ctx: EmulatorContext, email: string, projectId: string): Json {
  const details = ctx.world.serviceAccountDetails.get(email);
  const uniqueId = details?.uniqueId ?? uniqueIdOf(email);
  return {
    name: `projects/${projectId}/serviceAccounts/${email}`,
    projectId,
    uniqueId,
    email,
    ...(details?.displayName ? { displayName: details.displayName } : {}),
    ...(details?.description ? { description: details.description } : {}),
    etag: 'MDEwMjE5MjA=',
    oauth2ClientId: uniqueId,
  };
}

/** A stable 21-digit ID for seeded accounts. */
function uniqueIdOf(email: string): string {
  let n = 0n;
  for (const c of email) n = (n * 131n + BigInt(c.charCodeAt(0))) % 10n ** 20n;
  return `1${n.toString().padStart(20, '0')}`;
}

/** An operation that is already done, kept for operations.get. */
function finished(ctx: EmulatorContext, parent: string, type: string, response: Json): Json {
  const operation = {
    name: `${parent}/operations/${randomUUID().replace(/-/g, '')}`,
    done: true,
    response: { '@type': `type.googleapis.com/${type}`, ...response },
  };
  ctx.world.operations.set(operation.name, operation);
  return operation;
}

function poolJson(
  name: string,
  pool: { displayName?: string; description?: string; disabled?: boolean },
): Json {
  return {
    name,
    ...(pool.displayName ? { displayName: pool.displayName } : {}),
    ...(pool.description ? { description: pool.description } : {}),
    state: 'ACTIVE',
    ...(pool.disabled ? { disabled: true } : {}),
  };
}

function providerJson(p: ProviderSeed & { displayName?: string }): Json {
  return {
    name: providerName(p),
    ...(p.displayName ? { displayName: p.displayName } : {}),
    state: 'ACTIVE',
    attributeMapping: p.attributeMapping,
    ...(p.attributeCondition ? { attributeCondition: p.attributeCondition } : {}),
    oidc: {
      issuerUri: p.issuerUri,
      ...(p.allowedAudiences?.length ? { allowedAudiences: p.allowedAudiences } : {}),
    },
  };
}

/**
 * The checks IAM makes on a new OIDC provider: google.subject mapped, every expression CEL it can
 * compile, and, since GitHub's issuer is shared by every repository on GitHub, an attribute
 * condition (Google refuses a GitHub provider without one).
 */
function checkProvider(
  ctx: EmulatorContext,
  mapping: Record<string, string>,
  condition: string | undefined,
  issuer: string,
): void {
  if (!mapping['google.subject'])
    throw badField('attribute_mapping', 'The attribute mapping must contain a mapping for google.subject.');
  const sample = { sub: 's', repository: 'o/r', repository_owner: 'o', ref: 'refs/heads/main' };
  for (const [target, expression] of Object.entries(mapping)) {
    if (
      target !== 'google.subject' &&
      !/^(attribute\.[a-z_][a-z0-9_]{0,99}|google\.groups|google\.display_name)$/.test(target)
    )
      throw badField('attribute_mapping', `Invalid attribute name: ${target}.`);
    try {
      evaluateCel(expression, { assertion: sample });
    } catch (err) {
      throw badField('attribute_mapping', `Invalid CEL expression for ${target}: ${(err as Error).message}`);
    }
  }
  if (condition !== undefined) {
    try {
      evaluateCel(condition, { assertion: sample, attribute: {}, google: { subject: 's' } });
    } catch (err) {
      throw badField('attribute_condition', `Invalid CEL expression: ${(err as Error).message}`);
    }
  } else if (GITHUB_ISSUERS(ctx).includes(issuer.replace(/\/$/, ''))) {
    throw badField(
      'attribute_condition',
      "The attribute condition must be set for providers of this issuer: it must reference one of the provider's claims.",
    );
  }
}

export function iamRoutes(ctx: EmulatorContext): Route[] {
  const route = schemaRoutes(schemaOf('iam-v1'), 'iam.projects.');
  return [
    route(
      'POST',
      String.raw`^\/v1\/projects\/(?<project>[^/]+)\/serviceAccounts`,
      'serviceAccounts.create',
      (req) => {
        const { id } = project(ctx, req, 'iam.serviceAccounts.create');
        const b = body(req);
        const accountId = typeof b.accountId === 'string' ? b.accountId : '';
        if (!/^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$/.test(accountId))
          throw badField(
            'account_id',
            `ServiceAccount ID [${accountId}] must be between 6 and 30 characters, start with a lowercase letter and contain only lowercase letters, digits and dashes.`,
          );
        const email = `${accountId}@${id}.iam.gserviceaccount.com`;
        if (ctx.world.serviceAccounts.has(email))
          throw new GoogleApiError(
            'ALREADY_EXISTS',
            `Service account ${accountId} already exists within project projects/${id}.`,
          );
        const sa = (b.serviceAccount ?? {}) as Json;
        ctx.world.serviceAccounts.add(email);
        ctx.world.serviceAccountDetails.set(email, {
          ...(typeof sa.displayName === 'string' ? { displayName: sa.displayName } : {}),
          ...(typeof sa.description === 'string' ? { description: sa.description } : {}),
          uniqueId: `1${BigInt(`0x${randomBytes(8).toString('hex')}`)
            .toString()
            .padStart(20, '0')
            .slice(0, 20)}`,
        });
        return accountJson(ctx, email, id);
      },
    ),
    route('GET', SA, 'serviceAccounts.get', (req) => {
      const { email, projectId } = account(ctx, req, 'iam.serviceAccounts.get');
      return accountJson(ctx, email, projectId);
    }),
    route('POST', `${SA}:getIamPolicy`, 'serviceAccounts.getIamPolicy', (req) => {
      const { resource } = account(ctx, req, 'iam.serviceAccounts.getIamPolicy');
      return policyJson(ctx.world.bindings.get(resource) ?? []);
    }),
    route('POST', `${SA}:setIamPolicy`, 'serviceAccounts.setIamPolicy', (req) => {
      const { resource } = account(ctx, req, 'iam.serviceAccounts.setIamPolicy');
      const bindings = bindingsToSet(req.body, ctx.world.bindings.get(resource) ?? []);
      ctx.world.bindings.set(resource, bindings);
      return policyJson(bindings);
    }),
    route('POST', `${SA}:testIamPermissions`, 'serviceAccounts.testIamPermissions', (req) => {
      const caller = requireCaller(ctx, req);
      const email = req.params.email!;
      // The account's project: its ID in a user-managed account's email, its number in the
      // default compute account's (NUMBER-compute@developer.gserviceaccount.com).
      const owner =
        /^[^@]+@([^.]+)\.iam\.gserviceaccount\.com$/.exec(email)?.[1] ??
        /^(\d+)-compute@developer\.gserviceaccount\.com$/.exec(email)?.[1];
      const projectId = ctx.world.projectId(owner ?? req.params.project!) ?? req.params.project!;
      const resource = `projects/${projectId}/serviceAccounts/${email}`;
      const permissions = grantedOf(caller, req.body, ctx.world.bindingsInScope(resource));
      return permissions.length ? { permissions } : {};
    }),
    route('POST', POOLS, 'locations.workloadIdentityPools.create', (req) => {
      const { number } = project(ctx, req, 'iam.workloadIdentityPools.create');
      const poolId = req.query.get('workloadIdentityPoolId') ?? '';
      if (!/^[a-z0-9-]{4,32}$/.test(poolId) || poolId.startsWith('gcp-'))
        throw badField('workload_identity_pool_id', `Invalid workload identity pool ID: ${poolId}.`);
      const name = poolName({ projectNumber: number, pool: poolId });
      if (ctx.world.pools.has(name))
        throw new GoogleApiError('ALREADY_EXISTS', `Requested entity already exists`);
      const b = body(req);
      const pool = {
        ...(typeof b.displayName === 'string' ? { displayName: b.displayName } : {}),
        ...(typeof b.description === 'string' ? { description: b.description } : {}),
        ...(b.disabled === true ? { disabled: true } : {}),
      };
      ctx.world.pools.set(name, pool);
      return finished(ctx, name, 'google.iam.v1.WorkloadIdentityPool', poolJson(name, pool));
    }),
    route('GET', POOL, 'locations.workloadIdentityPools.get', (req) => {
      const { number } = project(ctx, req, 'iam.workloadIdentityPools.get');
      const name = poolName({ projectNumber: number, pool: req.params.pool! });
      const pool = ctx.world.pools.get(name);
      if (!pool) throw notFound(`Requested entity was not found.`);
      return poolJson(name, pool);
    }),
    route('POST', `${POOL}/providers`, 'locations.workloadIdentityPools.providers.create', (req) => {
      const { number } = project(ctx, req, 'iam.workloadIdentityPoolProviders.create');
      const pool = req.params.pool!;
      if (!ctx.world.pools.has(poolName({ projectNumber: number, pool })))
        throw notFound(`Requested entity was not found.`);
      const providerId = req.query.get('workloadIdentityPoolProviderId') ?? '';
      if (!/^[a-z0-9-]{4,32}$/.test(providerId) || providerId.startsWith('gcp-'))
        throw badField('workload_identity_pool_provider_id', `Invalid provider ID: ${providerId}.`);
      const b = body(req);
      const oidc = (b.oidc ?? undefined) as { issuerUri?: string; allowedAudiences?: string[] } | undefined;
      if (!oidc?.issuerUri) throw badField('oidc.issuer_uri', 'Required field is missing.');
      const mapping = (b.attributeMapping ?? {}) as Record<string, string>;
      const condition = typeof b.attributeCondition === 'string' ? b.attributeCondition : undefined;
      checkProvider(ctx, mapping, condition, oidc.issuerUri);
      const provider: ProviderSeed & { displayName?: string } = {
        projectNumber: number,
        pool,
        provider: providerId,
        issuerUri: oidc.issuerUri,
        attributeMapping: mapping,
        ...(oidc.allowedAudiences?.length ? { allowedAudiences: oidc.allowedAudiences } : {}),
        ...(condition !== undefined ? { attributeCondition: condition } : {}),
        ...(typeof b.displayName === 'string' ? { displayName: b.displayName } : {}),
      };
      if (ctx.world.providers.some((p) => providerName(p) === providerName(provider)))
        throw new GoogleApiError('ALREADY_EXISTS', `Requested entity already exists`);
      ctx.world.providers.push(provider);
      return finished(
        ctx,
        providerName(provider),
        'google.iam.v1.WorkloadIdentityPoolProvider',
        providerJson(provider),
      );
    }),
    route('GET', PROVIDER, 'locations.workloadIdentityPools.providers.get', (req) => {
      const { number } = project(ctx, req, 'iam.workloadIdentityPoolProviders.get');
      const wanted = providerName({
        projectNumber: number,
        pool: req.params.pool!,
        provider: req.params.provider!,
      });
      const found = ctx.world.providers.find((p) => providerName(p) === wanted);
      if (!found) throw notFound(`Requested entity was not found.`);
      return providerJson(found);
    }),
    route('GET', `${POOL}/operations/(?<op>[^/]+)`, 'locations.workloadIdentityPools.operations.get', (req) =>
      operation(ctx, req, 'iam.workloadIdentityPools.get'),
    ),
    route(
      'GET',
      `${PROVIDER}/operations/(?<op>[^/]+)`,
      'locations.workloadIdentityPools.providers.operations.get',
      (req) => operation(ctx, req, 'iam.workloadIdentityPoolProviders.get'),
    ),
  ];
}

function operation(ctx: EmulatorContext, req: ApiRequest, permission: string): unknown {
  const { number } = project(ctx, req, permission);
  const name = req.path.replace(/^\/v1\//, '').replace(/^projects\/[^/]+/, `projects/${number}`);
  const found = ctx.world.operations.get(name);
  if (!found) throw notFound(`Operation ${name} not found.`);
  return found;
}
