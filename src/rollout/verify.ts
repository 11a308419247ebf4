// Phases 4 and 6, verify on the tag and verify live: health checks against the candidate's own tag
// URL before it takes traffic, and against the service URL after. A check that cannot be made is a
// failed check: a candidate without a tag URL is never checked through the service URL instead.
import { RunwayError } from '../errors.js';
import type { Service } from '../gcp/run-types.js';
import { isPublic } from '../deploy/apply.js';
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

/** The ID token checks of a private service send; undefined for a public one. */
export async function authorizeChecks(r: Rollout, service: Service): Promise<string | undefined> {
  if (await isPublic(r.deps.client, r.ref, service)) return undefined;
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

export async function verifyOnTag(
  r: Rollout,
  service: Service,
  revision: string,
  tag: string,
  token: string | undefined,
): Promise<void> {
  const url = service.trafficStatuses?.find((t) => t.tag === tag)?.uri;
  if (!url) {
    r.checks.push({ on: 'tag', healthy: false, attempts: 0, last: undefined });
    throw new HealthCheckFailed(
      `Revision ${revision} has no URL for its tag '${tag}', so it cannot be checked before it takes traffic (the service URL still serves the old revision).`,
    );
  }
  await check(r, 'tag', url, `Revision ${revision} (on its tag URL, before taking traffic)`, token);
}

export async function verifyLive(
  r: Rollout,
  service: Service,
  revision: string,
  token: string | undefined,
): Promise<void> {
  await check(r, 'live', service.uri ?? '', `Revision ${revision} (after taking traffic)`, token);
}
