// gcloud's --startup-probe and --liveness-probe: comma-separated KEY=VALUE settings (an ArgDict), read
// into the v2 API's Probe as gcloud's _MakeProbe builds it. The probe given replaces the live one
// whole; an empty value removes it.
import { InputError } from '../errors.js';
import type { Probe } from './spec.js';

const STARTUP_KEYS = [
  'initialDelaySeconds',
  'timeoutSeconds',
  'periodSeconds',
  'failureThreshold',
  'httpGet.port',
  'httpGet.path',
  'grpc.port',
  'grpc.service',
  'tcpSocket.port',
] as const;
/** A liveness probe has no TCP action in gcloud 528. */
const LIVENESS_KEYS = STARTUP_KEYS.filter((k) => k !== 'tcpSocket.port');

const NUMBERS = new Set(['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'failureThreshold']);

export function parseProbe(name: string, raw: string, kind: 'startup' | 'liveness'): Probe | null {
  if (raw.trim() === '') return null;
  const keys: readonly string[] = kind === 'startup' ? STARTUP_KEYS : LIVENESS_KEYS;
  const expected = `comma-separated KEY=VALUE settings; keys: ${keys.join(', ')}`;
  const probe: Probe = {};
  const int = (key: string, value: string): number | undefined => {
    if (value === '') return undefined;
    if (!/^\d+$/.test(value)) throw new InputError(name, raw, `${expected} (${key} must be a whole number)`);
    return Number(value);
  };
  for (const entry of raw.split(',')) {
    const eq = entry.indexOf('=');
    const key = (eq < 0 ? entry : entry.slice(0, eq)).trim();
    const value = eq < 0 ? '' : entry.slice(eq + 1).trim();
    if (!keys.includes(key)) throw new InputError(name, raw, expected);
    const [action, field] = key.split('.') as [string, string | undefined];
    if (!field) {
      const n = int(key, value);
      if (NUMBERS.has(key) && n !== undefined) probe[key as 'periodSeconds'] = n;
      continue;
    }
    if (action === 'httpGet') {
      probe.httpGet ??= {};
      if (field === 'path') probe.httpGet.path = value;
      else if (int(key, value) !== undefined) probe.httpGet.port = int(key, value)!;
    } else if (action === 'tcpSocket') {
      probe.tcpSocket ??= {};
      if (int(key, value) !== undefined) probe.tcpSocket.port = int(key, value)!;
    } else {
      probe.grpc ??= {};
      if (field === 'service') probe.grpc.service = value;
      else if (int(key, value) !== undefined) probe.grpc.port = int(key, value)!;
    }
  }
  if ([probe.httpGet, probe.tcpSocket, probe.grpc].filter(Boolean).length > 1)
    throw new InputError(name, raw, `${expected}; one action of httpGet, tcpSocket or grpc`);
  return probe;
}
