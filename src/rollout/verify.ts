// Phases 4 and 6, verify on the tag and verify live: health checks against the candidate's own tag
// URL before it takes traffic, and against the service URL after. A check that cannot be made is a
// failed check: a candidate without a tag URL is never checked through the service URL instead.
import { RunwayError } from '../errors.js';
import type { Service } from '../gcp/run-types.js';
import { isPublic } from '../deploy/apply.js';
import { servingSplit } from '../deploy/traffic.js';
import type { Rollout } from './context.js';
import { DeadlineExceeded } from './deadline.js';
import { describeProbe, waitHealthy, type HealthResult } from './health.js';

export class HealthCheckFailed extends RunwayError {
  readonly result: HealthResult | undefined;
  constructor(message: string, result?: HealthResult) {
    super(message);
    this.name = 'HealthCheckFailed';
    this.result = result;
  }
}

/**
 * The ID token checks of a private service send; undefined for a public one. `madePublic` is what
 * the public-access phase just made the service (undefined: it left access alone), saving a read.
 */
export async function authorizeChecks(
  r: Rollout,
  service: Service,
  madePublic: boolean | undefined,
): Promise<string | undefined> {
  const open = service.invokerIamDisabled || (madePublic ?? (await isPublic(r.deps.client, r.ref, service)));
  if (open) return undefined;
  r.settings.deadline.check('before minting an ID token for the health checks');
  return r.deps.idToken(service.uri ?? '');
}

async function check(
  r: Rollout,
  on: 'tag' | 'live',
  url: string,
  what: string,
  token: string | undefined,
): Promise<void> {
  const { healthCheck, deadline } = r.settings;
  r.deps.log(`checking ${what.charAt(0).toLowerCase()}${what.slice(1)} at ${url}${healthCheck.path}`);
  const result = await waitHealthy(url, healthCheck, token, r.deps.log, deadline);
  r.checks.push({ on, healthy: result.healthy, attempts: result.attempts, last: result.last });
  if (result.healthy) return;
  if (deadline.expired()) throw new DeadlineExceeded(`while checking ${what}`);
  throw new HealthCheckFailed(
    `${what} failed its health check (${healthCheck.path}: ${describeProbe(result.last)} after ${result.attempts} attempts)`,
    result,
  );
}

/** The tag's URL, when the tag routes to `revision`; a tag moved elsewhere reaches another revision. */
export function tagUrlOf(service: Service | undefined, tag: string, revision: string): string | undefined {
  const status = service?.trafficStatuses?.find((t) => t.tag === tag);
  return status?.revision === revision ? status.uri : undefined;
}

export async function verifyOnTag(
  r: Rollout,
  service: Service,
  revision: string,
  tag: string,
  token: string | undefined,
): Promise<Service> {
  const url = tagUrlOf(service, tag, revision);
  if (!url) {
    r.checks.push({ on: 'tag', healthy: false, attempts: 0, last: undefined });
    throw new HealthCheckFailed(
      `Revision ${revision} has no URL for its tag '${tag}', so it cannot be checked on its own (the service URL still serves the old revision).`,
    );
  }
  await check(r, 'tag', url, `Revision ${revision} (on its tag URL, before taking traffic)`, token);
  // What passed must have been this revision: the tag must still route to it.
  const after = await r.deps.client.getService(r.ref);
  if (!after || tagUrlOf(after, tag, revision) !== url) {
    throw new HealthCheckFailed(
      `The tag '${tag}' stopped routing to revision ${revision} while Runway checked it (someone else changed the traffic), so the checks may have reached another revision.`,
    );
  }
  return after;
}

/**
 * Checks the service URL once the new revision has its traffic, after confirming that the traffic
 * is where Runway put it: the live split must give the revision exactly its share.
 */
export async function verifyLive(
  r: Rollout,
  service: Service,
  revision: string,
  share: number,
  token: string | undefined,
): Promise<Service> {
  const confirm = (live: Service | undefined): Service => {
    const serving = live ? (servingSplit(live)[revision] ?? 0) : 0;
    if (live && serving === share) return live;
    throw new HealthCheckFailed(
      `Revision ${revision} serves ${serving}% of ${r.where}, not the ${share}% Runway gave it (someone else changed the traffic), so the service URL cannot vouch for it.`,
    );
  };
  try {
    confirm(service);
  } catch (err) {
    r.checks.push({ on: 'live', healthy: false, attempts: 0, last: undefined });
    throw err;
  }
  await check(r, 'live', service.uri ?? '', `Revision ${revision} (after taking traffic)`, token);
  return confirm(await r.deps.client.getService(r.ref));
}
