// Reads (and, to set up scenarios, writes) Cloud Run services in the emulator directly, as another
// actor would — e.g. someone pinning traffic by hand, or changing the service mid-run.
import { accessTokenFor } from './auth.js';
import { env } from './emulator.js';

export interface ServiceJson {
  name: string;
  etag: string;
  generation: string;
  uri: string;
  labels?: Record<string, string>;
  traffic?: Array<{ type?: string | number; revision?: string; percent?: number; tag?: string }>;
  trafficStatuses?: Array<{
    type?: string | number;
    revision?: string;
    percent?: number;
    tag?: string;
    uri?: string;
  }>;
  latestReadyRevision?: string;
  latestCreatedRevision?: string;
  terminalCondition?: { state?: string; reason?: string; message?: string };
  template: Record<string, unknown>;
  [key: string]: unknown;
}

function serviceUrl(service: string, region = 'us-central1'): string {
  return `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/projects/${env('RUNWAY_EMULATOR_PROJECT')}/locations/${region}/services/${service}`;
}

export async function getService(service: string, region = 'us-central1'): Promise<ServiceJson | undefined> {
  const res = await fetch(serviceUrl(service, region), {
    headers: { authorization: `Bearer ${await accessTokenFor()}` },
  });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`get ${service}: ${res.status} ${await res.text()}`);
  return (await res.json()) as ServiceJson;
}

/** The short names of the service's revisions. */
export async function revisionNames(service: string, region = 'us-central1'): Promise<string[]> {
  const res = await fetch(`${serviceUrl(service, region)}/revisions?pageSize=100`, {
    headers: { authorization: `Bearer ${await accessTokenFor()}` },
  });
  if (!res.ok) throw new Error(`list revisions of ${service}: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { revisions?: Array<{ name: string }> };
  return (body.revisions ?? []).map((r) => r.name.split('/').pop()!);
}

/** PATCHes the service with `change` applied to its current spec, and waits for the operation. */
export async function patchService(
  service: string,
  change: (s: ServiceJson) => ServiceJson,
  region = 'us-central1',
): Promise<ServiceJson> {
  const token = await accessTokenFor();
  const current = await getService(service, region);
  if (!current) throw new Error(`${service} does not exist`);
  const res = await fetch(serviceUrl(service, region), {
    method: 'PATCH',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(change(current)),
  });
  if (!res.ok) throw new Error(`patch ${service}: ${res.status} ${await res.text()}`);
  await waitOperation(res, token);
  return (await getService(service, region))!;
}

/** Waits (up to a minute) for the operation a change answered with. */
async function waitOperation(res: Response, token: string): Promise<void> {
  const op = (await res.json()) as { name: string };
  await fetch(`${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/${op.name}:wait`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ timeout: '60s' }),
  });
}

/** Percent per revision, from trafficStatuses (LATEST resolved to the latest ready revision). */
export function servingSplit(s: ServiceJson): Record<string, number> {
  const latest = s.latestReadyRevision?.split('/').pop();
  const split: Record<string, number> = {};
  for (const t of s.trafficStatuses ?? []) {
    const isLatest = t.type === 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST' || t.type === 1;
    const revision = isLatest ? latest : t.revision;
    if (revision && t.percent) split[revision] = (split[revision] ?? 0) + t.percent;
  }
  return split;
}

/** Bodies answered by `n` sequential GETs (what actually serves). */
export async function sample(
  url: string,
  n = 10,
  headers: Record<string, string> = {},
): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const res = await fetch(url, { headers });
    const key = `${res.status} ${(await res.text()).trim()}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return seen;
}

/** Runway's own candidate tags on the service (rw-RUN-ATTEMPT-xyz, or rHASH when that is too long). */
export const candidateTags = (s: ServiceJson): string[] =>
  [...(s.traffic ?? []), ...(s.trafficStatuses ?? [])].flatMap((t) =>
    t.tag?.startsWith('rw-') || /^r[a-z0-9]{1,12}$/.test(t.tag ?? '') ? [t.tag!] : [],
  );

export const candidateTagged = async (service: string): Promise<boolean> => {
  const live = await getService(service);
  return live ? candidateTags(live).length > 0 : false;
};

/** Polls `ok` every 50 ms for up to a minute. */
export async function until(what: string, ok: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Deletes the service, as someone else would (or to free its containers), and waits until it is gone. */
export async function deleteService(service: string, region = 'us-central1'): Promise<void> {
  const token = await accessTokenFor();
  const res = await fetch(serviceUrl(service, region), {
    method: 'DELETE',
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.status === 404) return;
  if (!res.ok) throw new Error(`delete ${service}: ${res.status} ${await res.text()}`);
  await waitOperation(res, token);
}

/** The container's environment, from the test app's /cgi-bin/env (helpers/app-context.ts). */
export async function containerEnv(url: string): Promise<Record<string, string>> {
  const res = await fetch(`${url}/cgi-bin/env`);
  if (res.status !== 200) throw new Error(`${url}/cgi-bin/env answered ${res.status}`);
  return Object.fromEntries(
    (await res.text())
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/**
 * Someone deploys by hand, in `region`, a revision of the current template with BROKEN=1 set (the
 * test app's /cgi-bin/health then answers 503) and sends it all the traffic: the next deploy there
 * inherits BROKEN through env_vars merge, and its revision is unhealthy.
 */
export function serveBrokenRevision(service: string, region: string): Promise<ServiceJson> {
  return patchService(
    service,
    (s) => {
      const template = s.template as {
        containers: Array<{ env?: Array<{ name: string; value: string }> }>;
        revision?: string;
      };
      const [container] = template.containers;
      return {
        ...s,
        template: {
          ...template,
          revision: '',
          containers: [{ ...container!, env: [...(container!.env ?? []), { name: 'BROKEN', value: '1' }] }],
        },
        traffic: [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 }],
      };
    },
    region,
  );
}

/** What a URL answers (status and body), or `unreachable` when nothing listens there any more. */
export async function answer(url: string, path = '/'): Promise<string> {
  try {
    const res = await fetch(`${url}${path}`);
    return `${res.status} ${(await res.text()).trim()}`;
  } catch {
    return 'unreachable';
  }
}

/** A JSON body as the API answered it. */
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * A Cloud Run v2 call as the deployer: `path` is under the project's us-central1 location unless it
 * is a whole URL; the status and the parsed body (empty when there is none), whatever the status.
 */
export async function runV2(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  const base = `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/projects/${env('RUNWAY_EMULATOR_PROJECT')}/locations/us-central1`;
  const res = await fetch(path.startsWith('http') ? path : `${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${await accessTokenFor()}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
}

/** Waits (up to 90 s) for a v2 long-running operation; its final state. */
export async function waitV2(op: { name?: string }): Promise<Json> {
  return (
    await runV2('POST', `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/${op.name}:wait`, { timeout: '90s' })
  ).body;
}
