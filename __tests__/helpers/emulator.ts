// Test-side access to the running emulator: its environment and its admin API.
import type { RequestRecord } from '../../emulator/http.js';
import { readEnvFile } from './emulator-process.js';

export type { RequestRecord };

let cached: Record<string, string> | undefined;

/** The variables the emulator wrote to its env file (RUNWAY_EMULATOR_*, CLOUDSDK_*, GITHUB_*, ...). */
export function emulatorEnv(): Record<string, string> {
  if (cached) return cached;
  const file = process.env.RUNWAY_EMULATOR_ENV_FILE;
  if (!file)
    throw new Error(
      'RUNWAY_EMULATOR_ENV_FILE is not set: run tests through jest (global setup starts the emulator)',
    );
  cached = readEnvFile(file);
  return cached;
}

export function env(name: string): string {
  const value = emulatorEnv()[name];
  if (value === undefined) throw new Error(`emulator env has no ${name}`);
  return value;
}

async function adminCall(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${env('RUNWAY_EMULATOR_URL')}/${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`admin ${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

export const admin = {
  seed: (seed: unknown) => adminCall('POST', 'seed', seed),
  state: () => adminCall('GET', 'state') as Promise<Record<string, unknown>>,
  requests: () => adminCall('GET', 'requests') as Promise<RequestRecord[]>,
  /** Every credential and secret value the emulator issued or holds. */
  credentials: () => adminCall('GET', 'credentials') as Promise<{ values: string[] }>,
  faults: (faults: unknown[]) => adminCall('POST', 'faults', { faults }),
  clearFaults: () => adminCall('DELETE', 'faults'),
  /** The requests a `hold` fault is holding now. */
  held: async () => ((await adminCall('GET', 'held')) as { held: unknown[] }).held,
  /** Lets every held request go on; resolves to how many there were. */
  release: async () => ((await adminCall('POST', 'release')) as { released: number }).released,
  reset: () => adminCall('POST', 'reset'),
};
