// gcloud's build flags for `gcloud run deploy --source` (deploy.py's build groups), as `flags`
// gives them: the account and worker pool the build on Google runs with, and its environment.
// They are read here into one typed BuildFlags; what they mean for a build, given what the service
// recorded of its last one, is `resolveBuild`, pure, as gcloud's _BuildFromSource resolves them.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { InputError } from '../errors.js';
import { parseKeyValueList, parseList } from './fields.js';
import type { KeyValues } from './kv.js';
import { resolveInputPath } from './paths.js';

/** What `flags` says of the build on Google; null clears what the service recorded of the last build. */
export interface BuildFlags {
  /** projects/PROJECT/serviceAccounts/EMAIL, as gcloud requires. */
  serviceAccount?: string | null;
  /** projects/PROJECT/locations/LOCATION/workerPools/POOL. */
  workerPool?: string | null;
  env?: BuildEnvFlags;
}

/** gcloud's build-env-vars map flags; one of clear, set, file, or update and remove together. */
export interface BuildEnvFlags {
  clear?: true;
  set?: KeyValues;
  file?: KeyValues;
  update?: KeyValues;
  remove?: string[];
}

/** Every build flag of `gcloud run deploy` (GA 528), for the checks that apply to all of them. */
export const BUILD_FLAGS = [
  '--build-service-account',
  '--clear-build-service-account',
  '--build-worker-pool',
  '--clear-build-worker-pool',
  '--set-build-env-vars',
  '--build-env-vars-file',
  '--update-build-env-vars',
  '--remove-build-env-vars',
  '--clear-build-env-vars',
];

/** gcloud's ServiceAccount type for --build-service-account: the account's resource name, or empty. */
const SERVICE_ACCOUNT = /^projects\/[^/]+\/serviceAccounts\/[^/]+$/;
const WORKER_POOL = /^projects\/[^/]+\/locations\/[^/]+\/workerPools\/[^/]+$/;

/** gcloud's EnvVarKeyType (functions' env_vars_util, which the build flags use). */
function checkKeys(name: string, vars: KeyValues, given: string): KeyValues {
  for (const key of Object.keys(vars)) {
    if (!key || key.includes('=') || key.startsWith('X_GOOGLE_'))
      throw new InputError(
        name,
        given,
        'KEY=VALUE pairs whose keys are not empty, hold no `=` and do not begin with `X_GOOGLE_` (reserved by Google)',
        { secret: true },
      );
  }
  return vars;
}

function envVars(name: string, raw: string): KeyValues {
  return checkKeys(name, parseKeyValueList(name, raw, { secret: true }), raw);
}

/** --build-env-vars-file: a YAML (or JSON) mapping of KEY: "value" strings, read as gcloud's ArgDictFile. */
export function readBuildEnvFile(name: string, path: string): KeyValues {
  const real = resolveInputPath(name, path, 'file');
  let data: unknown;
  try {
    data = parseYaml(readFileSync(real, 'utf8'));
  } catch (err) {
    throw new InputError(name, path, `a readable YAML file of KEY: "value" pairs (${(err as Error).name})`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data))
    throw new InputError(
      name,
      path,
      'a YAML mapping of KEY: "value" pairs (gcloud: "expected map-like data")',
    );
  const vars: KeyValues = {};
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    if (typeof value !== 'string')
      throw new InputError(
        name,
        path,
        `string values: quote the value of ${JSON.stringify(key)} (gcloud: "Environment variable values must be strings")`,
      );
    vars[key] = value;
  }
  return checkKeys(name, vars, path);
}

type Handler = (build: BuildFlags, value: string, name: string) => void;

const env = (build: BuildFlags): BuildEnvFlags => (build.env ??= {});

/** The valued build flags, by name. */
export const BUILD_VALUED: Record<string, Handler> = {
  '--build-service-account': (b, v, n) => {
    if (v && !SERVICE_ACCOUNT.test(v))
      throw new InputError(
        n,
        v,
        'the account as gcloud requires it, projects/PROJECT/serviceAccounts/EMAIL (e.g. projects/my-project/serviceAccounts/builder@my-project.iam.gserviceaccount.com)',
      );
    b.serviceAccount = v || null;
  },
  '--build-worker-pool': (b, v, n) => {
    if (v && !WORKER_POOL.test(v))
      throw new InputError(n, v, 'a worker pool as projects/PROJECT/locations/LOCATION/workerPools/POOL');
    b.workerPool = v || null;
  },
  // gcloud's map flags are UpdateAction: given twice, their pairs merge.
  '--set-build-env-vars': (b, v, n) => (env(b).set = { ...env(b).set, ...envVars(n, v) }),
  '--build-env-vars-file': (b, v, n) => (env(b).file = readBuildEnvFile(n, v)),
  '--update-build-env-vars': (b, v, n) => (env(b).update = { ...env(b).update, ...envVars(n, v) }),
  '--remove-build-env-vars': (b, v) => (env(b).remove = [...(env(b).remove ?? []), ...parseList(v)]),
};

export const BUILD_SWITCHES: Record<string, (build: BuildFlags) => void> = {
  '--clear-build-service-account': (b) => (b.serviceAccount = null),
  '--clear-build-worker-pool': (b) => (b.workerPool = null),
  '--clear-build-env-vars': (b) => (env(b).clear = true),
};

/**
 * gcloud's mutually exclusive build groups (deploy.py's build flag groups), checked with gcloud's
 * other groups by flags.ts's checkExclusive (exclusive.ts): only update and remove go together.
 */
export const BUILD_EXCLUSIVE: string[][][] = [
  [
    ['--clear-build-env-vars'],
    ['--set-build-env-vars'],
    ['--build-env-vars-file'],
    ['--update-build-env-vars', '--remove-build-env-vars'],
  ],
  [['--build-service-account'], ['--clear-build-service-account']],
  [['--build-worker-pool'], ['--clear-build-worker-pool']],
];

/** What the service recorded of its last build on Google (v2's Service.buildConfig). */
export interface RecordedBuild {
  serviceAccount?: string;
  workerPool?: string;
  environmentVariables?: KeyValues;
}

/** The account, worker pool and environment a build runs with. */
export interface ResolvedBuild {
  serviceAccount: string | undefined;
  workerPool: string | undefined;
  env: KeyValues | undefined;
}

/** gcloud's map_util.ApplyMapFlags: clear, else set, else the file, else remove then update. */
export function applyBuildEnv(
  old: KeyValues | undefined,
  flags: BuildEnvFlags | undefined,
): KeyValues | undefined {
  if (!flags) return old;
  if (flags.clear) return {};
  if (flags.set && Object.keys(flags.set).length) return flags.set;
  if (flags.file && Object.keys(flags.file).length) return flags.file;
  if (flags.update || flags.remove?.length) {
    const kept = Object.entries(old ?? {}).filter(([key]) => !flags.remove?.includes(key));
    return { ...Object.fromEntries(kept), ...flags.update };
  }
  return old;
}

/**
 * As gcloud: a flag replaces what the service recorded, a clear flag (or an empty value) drops it,
 * and without either the last build's value holds (gcloud keeps them "sticky").
 */
export function resolveBuild(
  flags: BuildFlags | undefined,
  recorded: RecordedBuild | undefined,
): ResolvedBuild {
  const pick = (given: string | null | undefined, last: string | undefined): string | undefined =>
    given === null ? undefined : (given ?? last);
  return {
    serviceAccount: pick(flags?.serviceAccount, recorded?.serviceAccount),
    workerPool: pick(flags?.workerPool, recorded?.workerPool),
    env: applyBuildEnv(recorded?.environmentVariables, flags?.env),
  };
}

/** The account's email, for IAM: projects/P/serviceAccounts/EMAIL → EMAIL. */
export function serviceAccountEmail(resource: string): string {
  return resource.replace(/^projects\/[^/]+\/serviceAccounts\//, '');
}
