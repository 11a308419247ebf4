// The service's own settings (beside its template and traffic), as a deploy from a `metadata` file
// replaces them: taken before the deploy, they are what undoing it puts back, so a file that fails
// verification leaves the service as it was, not only its traffic. Pure: no I/O.
import type { Service } from '../gcp/run-types.js';
import { RECORD_KEY_PREFIX } from './rollout-record.js';

/** The fields of a v2 Service a replace may change besides the template and the traffic. */
export const SERVICE_SETTINGS = [
  'labels',
  'annotations',
  'ingress',
  'description',
  'launchStage',
  'client',
  'clientVersion',
  'invokerIamDisabled',
  'defaultUriDisabled',
  'iapEnabled',
  'customAudiences',
  'scaling',
  'binaryAuthorization',
  'buildConfig',
] as const;

export type ServiceSettings = Partial<Record<(typeof SERVICE_SETTINGS)[number], unknown>>;

const isRecord = ([key]: [string, unknown]): boolean => key.startsWith(RECORD_KEY_PREFIX);

/** What `service` has of each setting; rollout records are the runs', not the service's settings. */
export function serviceSettings(service: Service): ServiceSettings {
  const out: ServiceSettings = {};
  for (const field of SERVICE_SETTINGS) if (service[field] !== undefined) out[field] = service[field];
  const annotations = Object.entries(service.annotations ?? {}).filter((e) => !isRecord(e));
  if (annotations.length) out.annotations = Object.fromEntries(annotations);
  else delete out.annotations;
  return out;
}

/** Equal as proto3 JSON reads them: an empty map, list or string, false and 0 are the field unset. */
function same(a: unknown, b: unknown): boolean {
  const norm = (v: unknown): string =>
    JSON.stringify(v, (_k, x: unknown) =>
      x && typeof x === 'object' && !Array.isArray(x)
        ? Object.fromEntries(
            Object.entries(x as Record<string, unknown>).sort(([p], [q]) => p.localeCompare(q)),
          )
        : x,
    ) ?? '';
  const empty = (v: unknown): boolean =>
    v === undefined ||
    v === null ||
    v === '' ||
    v === false ||
    v === 0 ||
    (Array.isArray(v) && v.length === 0) ||
    (typeof v === 'object' && v !== null && Object.keys(v).length === 0);
  return (empty(a) && empty(b)) || norm(a) === norm(b);
}

/**
 * The settings to send (and the update mask naming them) that put `before` back on `live`; the
 * rollout records on `live` stay. With `sent` (what this run wrote), only the settings still as it
 * wrote them go back: one someone else changed since is theirs. Undefined when nothing goes back.
 */
export function settingsRestore(
  before: ServiceSettings,
  live: Service,
  sent?: ServiceSettings,
): { fields: Partial<Service>; mask: string[] } | undefined {
  const now = serviceSettings(live);
  const mask = SERVICE_SETTINGS.filter(
    (field) => !same(before[field], now[field]) && (sent === undefined || same(sent[field], now[field])),
  );
  if (!mask.length) return undefined;
  const fields: Partial<Service> = {};
  for (const field of mask)
    if (before[field] !== undefined) (fields as Record<string, unknown>)[field] = before[field];
  if (mask.includes('annotations')) {
    const records = Object.entries(live.annotations ?? {}).filter(isRecord);
    fields.annotations = {
      ...(before.annotations as Record<string, string> | undefined),
      ...Object.fromEntries(records),
    };
  }
  return { fields, mask };
}
