// Parsers for single setting values, shared by the typed inputs and deploy-cloudrun's `flags`.
// Each takes the name to blame (an input, or "flags (--cpu)") and throws InputError.
import { parseDuration } from '@google-github-actions/actions-utils';
import { InputError, InputErrors } from '../errors.js';
import type { ExecutionEnvironment, Ingress, SecretRef, SecretRefs, VpcEgress } from './spec.js';
import { KeyValueSyntaxError, parseKeyValues, type KeyValues } from './kv.js';

export function parseBool(name: string, raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InputError(name, raw, '`true` or `false`');
}

export function parseInteger(name: string, raw: string, min: number, max: number): number {
  const value = raw.trim();
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new InputError(name, raw, `a whole number from ${min} to ${max}`);
  }
  return Number(value);
}

/** "10m", "90s", "1h", "1m30s", or a bare number of seconds, read as deploy-cloudrun reads them. */
export function parseDurationSeconds(name: string, raw: string): number {
  const expected = 'a duration such as `300`, `90s`, `10m`, `1m30s` or `1h`';
  if (!/\d/.test(raw)) throw new InputError(name, raw, expected);
  try {
    return parseDuration(raw);
  } catch {
    throw new InputError(name, raw, expected);
  }
}

/** "250ms", "1.5s", "1s" or any duration parseDurationSeconds reads, from `minMs` to `maxMs`. */
export function parseIntervalMs(name: string, raw: string, minMs: number, maxMs: number): number {
  const value = raw.trim();
  const expected = `a duration from ${minMs}ms to ${maxMs / 1000}s, e.g. \`250ms\`, \`1s\` or \`1.5s\``;
  const fine = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(value);
  const ms = fine ? Number(fine[1]) * (fine[2] === 's' ? 1000 : 1) : parseDurationSeconds(name, value) * 1000;
  if (!Number.isFinite(ms) || ms < minMs || ms > maxMs) throw new InputError(name, raw, expected);
  return Math.round(ms);
}

export function parseKeyValueList(name: string, raw: string, options: { secret?: boolean } = {}): KeyValues {
  try {
    return parseKeyValues(raw);
  } catch (err) {
    if (err instanceof KeyValueSyntaxError) {
      throw new InputError(
        name,
        raw,
        `comma- or newline-separated KEY=VALUE pairs (${err.message})`,
        options,
      );
    }
    throw err;
  }
}

/** Cloud Run CPU limits: 1, 2, 4, 6, 8, or fractions below 1 (e.g. 0.5, 500m). */
export function parseCpu(name: string, raw: string): string {
  const value = raw.trim();
  if (/^(1|2|4|6|8)$/.test(value) || /^0?\.\d+$/.test(value) || /^\d{2,3}m$/.test(value)) return value;
  throw new InputError(
    name,
    raw,
    '`1`, `2`, `4`, `6` or `8` CPUs, or a fraction below 1 such as `0.5` or `500m`',
  );
}

/** Memory limits as Kubernetes quantities: 512Mi, 1Gi, 2G. */
/** Cloud Run's memory limits per instance: 128 MiB to 32 GiB. */
const MIN_MEMORY_BYTES = 128 * 2 ** 20;
const MAX_MEMORY_BYTES = 32 * 2 ** 30;
const MEMORY_UNITS: Record<string, number> = { Mi: 2 ** 20, Gi: 2 ** 30, M: 1e6, G: 1e9 };

export function parseMemory(name: string, raw: string): string {
  const value = raw.trim();
  const m = /^(\d+)(Mi|Gi|M|G)$/.exec(value);
  const bytes = m ? Number(m[1]) * MEMORY_UNITS[m[2]!]! : NaN;
  if (bytes >= MIN_MEMORY_BYTES && bytes <= MAX_MEMORY_BYTES) return value;
  throw new InputError(name, raw, 'a size from `128Mi` to `32Gi`, such as `512Mi`, `1Gi` or `2Gi`');
}

export function parseEnum<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  const value = raw.trim();
  if (!(allowed as readonly string[]).includes(value)) {
    throw new InputError(name, raw, allowed.map((a) => `\`${a}\``).join(', '));
  }
  return value as T;
}

export const INGRESS_VALUES: readonly Ingress[] = ['all', 'internal', 'internal-and-cloud-load-balancing'];
export const VPC_EGRESS_VALUES: readonly VpcEgress[] = ['all-traffic', 'private-ranges-only'];
export const EXECUTION_ENVIRONMENTS: readonly ExecutionEnvironment[] = ['gen1', 'gen2'];

/** Secret Manager's secret id: 1–255 letters, digits, `-` and `_` (CreateSecretRequest.secret_id). */
const SECRET_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const SECRET_PATH = /^projects\/[^/\s]+\/secrets\/[A-Za-z0-9_-]{1,255}$/;
/** Versions are numbered from 1; `latest` is the newest. */
const SECRET_VERSION = /^(latest|[1-9]\d*)$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Set by Cloud Run's container contract; a service may not set them (Cloud Run refuses them). */
export const RESERVED_ENV_NAMES = ['PORT', 'K_SERVICE', 'K_REVISION', 'K_CONFIGURATION'];
/** Names Cloud Run takes (Kubernetes' rule): letters, digits, `_`, `-` and `.`, not starting with a digit. */
const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
/** Cloud Run's limit for one variable. */
const MAX_ENV_VALUE_BYTES = 32 * 1024;

/**
 * Environment variable names as Cloud Run takes them: not reserved, and of letters, digits, `_`,
 * `-` and `.`, so no '=', space or control character. Values at most 32 KiB. Values may
 * be secret: the error names the variable, never its value.
 */
export function checkEnvVars(name: string, vars: KeyValues): KeyValues {
  for (const [key, value] of Object.entries(vars)) {
    if (RESERVED_ENV_NAMES.includes(key)) {
      throw new InputError(
        name,
        key,
        `a variable Cloud Run does not reserve (it sets ${RESERVED_ENV_NAMES.join(', ')} itself)`,
      );
    }
    if (!ENV_VAR_NAME.test(key)) {
      throw new InputError(
        name,
        key,
        'environment variable names of letters, digits, `_`, `-` and `.`, not starting with a digit',
        { secret: true },
      );
    }
    if (Buffer.byteLength(value) > MAX_ENV_VALUE_BYTES) {
      throw new InputError(
        name,
        key,
        `values of at most 32 KiB (the value of ${key} is longer; mount it from Secret Manager instead)`,
      );
    }
  }
  return vars;
}

/** Where Cloud Run (or the container) needs the file system for itself. */
const RESERVED_MOUNT = /^\/(dev|proc|sys|cloudsql|pod|var\/log)(\/|$)/;

/** `/dir/file`: absolute, no `..`, no `:`, and not in a directory the system owns. */
function checkMountPath(name: string, path: string): void {
  const parts = path.split('/');
  if (
    path.endsWith('/') ||
    path.includes(':') ||
    parts.length < 3 ||
    parts.includes('..') ||
    parts.includes('.')
  ) {
    throw new InputError(
      name,
      path,
      'a mount path naming a file in a directory, e.g. `/secrets/api-key=my-secret:1`',
    );
  }
  if (RESERVED_MOUNT.test(path)) {
    throw new InputError(
      name,
      path,
      'a mount path outside /dev, /proc, /sys, /cloudsql, /pod and /var/log, e.g. `/secrets/api-key`',
    );
  }
}

/**
 * Token formats a value pasted into `secrets` would have, and which no one names a secret after:
 * GitHub, GitLab, Slack, Stripe, npm, AWS and Google API keys.
 */
const KNOWN_TOKEN =
  /^(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}|glpat-[\w-]{20}|xox[abposr]-[\w-]{10,}|[sr]k_(live|test)_\w{10,}|npm_[A-Za-z0-9]{36}|A[KS]IA[A-Z0-9]{16}|AIza[\w-]{35})$/;

/**
 * Whether a bare secret "name" reads as a credential rather than a name: a known token format;
 * letters of both cases with digits between letters, as passwords are written (`S3cretPassw0rd`);
 * or 24 or more letters and digits, both, with no `-` or `_` to break them up (a random key).
 * Names are written `db-password`, `DB_PASSWORD`, `stripe_key_v2`. A real name that trips this can
 * be given as a full resource name, which is not second-guessed.
 */
export function looksLikeCredential(name: string): boolean {
  if (KNOWN_TOKEN.test(name)) return true;
  if (/[a-z]/.test(name) && /[A-Z]/.test(name) && /[A-Za-z]\d+[A-Za-z]/.test(name)) return true;
  return name.split(/[-_]/).some((part) => part.length >= 24 && /\d/.test(part) && /[A-Za-z]/.test(part));
}

/**
 * One `secrets` entry's reference: SECRET_NAME[:VERSION] or projects/P/secrets/SECRET_NAME[:VERSION].
 * What does not parse as one is most often the secret's value itself (deploy-cloudrun #524, #471),
 * so the error names the entry by its key and never shows what was given.
 */
function parseSecretRef(name: string, key: string, raw: string): SecretRef {
  const value = raw.trim();
  // The version's colon comes after the last `/`: a domain-scoped project holds one of its own.
  const colon = value.lastIndexOf(':') > value.lastIndexOf('/') ? value.lastIndexOf(':') : -1;
  const secret = colon >= 0 ? value.slice(0, colon) : value;
  const version = colon >= 0 ? value.slice(colon + 1) : 'latest';
  const example = `\`${key}=my-secret:latest\``;
  if (!(SECRET_NAME.test(secret) || SECRET_PATH.test(secret))) {
    throw new InputError(
      name,
      value,
      `in the entry for \`${key}\`: SECRET_NAME[:VERSION] or projects/PROJECT/secrets/SECRET_NAME[:VERSION], where SECRET_NAME is the Secret Manager secret's name (1–255 letters, digits, '-', '_'), not its value — e.g. ${example}`,
      { secret: true },
    );
  }
  if (SECRET_NAME.test(secret) && looksLikeCredential(secret)) {
    throw new InputError(
      name,
      value,
      `in the entry for \`${key}\`: the Secret Manager secret's name, not its value; this one reads like a password or key — e.g. ${example}. If it really is the secret's name, give it as projects/PROJECT/secrets/NAME`,
      { secret: true },
    );
  }
  if (!SECRET_VERSION.test(version)) {
    throw new InputError(
      name,
      value,
      `in the entry for \`${key}\`: a version that is \`latest\` or a version number from 1 (SECRET_NAME:VERSION) — e.g. ${example}`,
      { secret: true },
    );
  }
  return { secret, version };
}

/**
 * `ENV=secret:version` entries become env vars, `/path/file=secret:version` entries files. Every
 * bad entry is reported, not only the first.
 */
export function parseSecrets(name: string, raw: string): SecretRefs {
  const pairs = parseKeyValueList(name, raw, { secret: true });
  const refs: SecretRefs = { env: {}, files: {} };
  const problems: InputError[] = [];
  for (const [key, value] of Object.entries(pairs)) {
    try {
      if (key.startsWith('/')) {
        checkMountPath(name, key);
        refs.files[key] = parseSecretRef(name, key, value);
      } else if (ENV_NAME.test(key)) {
        checkEnvVars(name, { [key]: '' });
        refs.env[key] = parseSecretRef(name, key, value);
      } else {
        throw new InputError(
          name,
          key,
          'an environment variable name (letters, digits, _) or an absolute file path',
          { secret: true },
        );
      }
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      problems.push(err);
    }
  }
  if (problems.length === 1) throw problems[0]!;
  if (problems.length > 1) throw new InputErrors(problems);
  return refs;
}

export function parseList(raw: string): string[] {
  return raw
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
