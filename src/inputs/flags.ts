// deploy-cloudrun's free-form `flags` input. There is no gcloud here, so the common
// `gcloud run deploy` flags are parsed into the same typed spec as the inputs; any other flag is
// rejected with the input to use instead. The words are split by the library deploy-cloudrun uses
// (actions-utils' parseFlags: whitespace separates, quotes group and are dropped, `--flag=value`
// becomes two words), so a `flags` string means the same to both actions.
import { parseFlags as splitFlags } from '@google-github-actions/actions-utils';
import { InputError, RunwayError } from '../errors.js';
import {
  EXECUTION_ENVIRONMENTS,
  INGRESS_VALUES,
  VPC_EGRESS_VALUES,
  parseBool,
  parseCpu,
  parseDurationSeconds,
  parseEnum,
  parseInteger,
  parseKeyValueList,
  parseList,
  parseMemory,
} from './fields.js';
import { setGpu, setGpuType, setGpuZonalRedundancy } from './gpu.js';
import {
  clearNetwork,
  clearNetworkTags,
  clearVpcConnector,
  setNetwork,
  setNetworkTags,
  setSubnet,
} from './network.js';
import type { JobFlags, ServiceSpec } from './spec.js';
import {
  addVolume,
  addVolumeMount,
  clearVolumeMounts,
  clearVolumes,
  removeVolumeMounts,
  removeVolumes,
} from './volumes.js';

/** What `flags` sets: service settings, and for a job (`gcloud run jobs deploy`) its own. */
export type ParsedFlags = ServiceSpec & JobFlags;

type FlagHandler = (spec: ParsedFlags, value: string, name: string) => void;

const VALUED: Record<string, FlagHandler> = {
  '--cpu': (s, v, n) => (s.cpu = parseCpu(n, v)),
  '--memory': (s, v, n) => (s.memory = parseMemory(n, v)),
  '--min-instances': (s, v, n) => (s.minInstances = parseInteger(n, v, 0, 1000)),
  '--max-instances': (s, v, n) => (s.maxInstances = parseInteger(n, v, 1, 1000)),
  '--concurrency': (s, v, n) => (s.concurrency = parseInteger(n, v, 1, 1000)),
  '--port': (s, v, n) => (s.port = parseInteger(n, v, 1, 65535)),
  '--timeout': (s, v, n) => (s.timeoutSeconds = parseDurationSeconds(n, v)),
  '--service-account': (s, v) => (s.runtimeServiceAccount = v),
  '--ingress': (s, v, n) => (s.ingress = parseEnum(n, v, INGRESS_VALUES)),
  '--vpc-connector': (s, v) => (s.vpcConnector = v),
  '--vpc-egress': (s, v, n) => (s.vpcEgress = parseEnum(n, v, VPC_EGRESS_VALUES)),
  '--add-cloudsql-instances': (s, v) =>
    (s.addCloudsqlInstances = [...(s.addCloudsqlInstances ?? []), ...parseList(v)]),
  '--set-cloudsql-instances': (s, v) => (s.cloudsqlInstances = parseList(v)),
  '--execution-environment': (s, v, n) => (s.executionEnvironment = parseEnum(n, v, EXECUTION_ENVIRONMENTS)),
  '--command': (s, v) => (s.command = parseList(v)),
  '--args': (s, v) => (s.args = parseList(v)),
  '--set-env-vars': (s, v, n) => {
    s.envVars = parseKeyValueList(n, v, { secret: true });
    s.replaceEnvVars = true;
  },
  '--update-labels': (s, v, n) => (s.labels = { ...(s.labels ?? {}), ...parseKeyValueList(n, v) }),
  '--tasks': (s, v, n) => (s.tasks = parseInteger(n, v, 1, 10000)),
  '--parallelism': (s, v, n) => (s.parallelism = parseInteger(n, v, 0, 10000)),
  '--max-retries': (s, v, n) => (s.maxRetries = parseInteger(n, v, 0, 10)),
  '--task-timeout': (s, v, n) => (s.taskTimeoutSeconds = parseDurationSeconds(n, v)),
  '--add-volume': addVolume,
  '--add-volume-mount': addVolumeMount,
  '--remove-volume': removeVolumes,
  '--remove-volume-mount': removeVolumeMounts,
  '--network': setNetwork,
  '--subnet': setSubnet,
  '--network-tags': setNetworkTags,
  '--gpu': setGpu,
  '--gpu-type': setGpuType,
};

const SWITCHES: Record<string, FlagHandler> = {
  '--allow-unauthenticated': (s) => (s.allowUnauthenticated = true),
  '--no-allow-unauthenticated': (s) => (s.allowUnauthenticated = false),
  '--cpu-boost': (s) => (s.cpuBoost = true),
  '--no-cpu-boost': (s) => (s.cpuBoost = false),
  '--cpu-throttling': (s) => (s.cpuThrottling = true),
  '--no-cpu-throttling': (s) => (s.cpuThrottling = false),
  '--execute-now': (s) => (s.executeNow = true),
  '--no-execute-now': (s) => (s.executeNow = false),
  '--wait': (s) => (s.wait = true),
  '--no-wait': (s) => (s.wait = false),
  '--clear-volumes': clearVolumes,
  '--clear-volume-mounts': clearVolumeMounts,
  '--clear-network': clearNetwork,
  '--clear-network-tags': clearNetworkTags,
  '--clear-vpc-connector': clearVpcConnector,
  '--gpu-zonal-redundancy': (s) => setGpuZonalRedundancy(s, true),
  '--no-gpu-zonal-redundancy': (s) => setGpuZonalRedundancy(s, false),
};

/** `gcloud run jobs deploy` has only these of the flags above. */
const JOB_ONLY = new Set([
  '--tasks',
  '--parallelism',
  '--max-retries',
  '--task-timeout',
  '--execute-now',
  '--no-execute-now',
  '--wait',
  '--no-wait',
]);
const SERVICE_ONLY = new Set([
  '--min-instances',
  '--max-instances',
  '--concurrency',
  '--port',
  '--timeout',
  '--ingress',
  '--allow-unauthenticated',
  '--no-allow-unauthenticated',
  '--cpu-boost',
  '--no-cpu-boost',
  '--cpu-throttling',
  '--no-cpu-throttling',
  // GA `gcloud run jobs deploy` has no GPU flags (alpha and beta only).
  '--gpu',
  '--gpu-type',
  '--gpu-zonal-redundancy',
  '--no-gpu-zonal-redundancy',
]);

/** Which command `flags` goes to: deploy-cloudrun runs `gcloud run deploy` or `gcloud run jobs deploy`. */
export type FlagsTarget = 'service' | 'job';

function checkTarget(flag: string, target: FlagsTarget): void {
  if (target === 'service' && JOB_ONLY.has(flag))
    throw new RunwayError(
      `The flag ${flag} in \`flags\` is a Cloud Run job setting, and this step deploys a service.`,
      'Set `job` (instead of `service`) to deploy a job, or remove the flag.',
    );
  if (target === 'job' && SERVICE_ONLY.has(flag))
    throw new RunwayError(
      `The flag ${flag} in \`flags\` is a Cloud Run service setting; \`gcloud run jobs deploy\` has no such flag.`,
      flag === '--timeout' ? 'Use `--task-timeout` (or the `task_timeout` input).' : 'Remove the flag.',
    );
}

/** gcloud flags that have a typed input (or no meaning here), and what to use instead. */
const USE_INSTEAD: Record<string, string> = {
  '--image': 'the `image` input',
  '--source': 'the `context` input',
  '--region': 'the `region` input',
  '--project': 'the `project_id` input',
  '--tag': 'the `tag` input',
  '--no-traffic': 'the `no_traffic` (or `traffic: none`) input',
  '--revision-suffix': 'the `suffix` input',
  '--update-env-vars': 'the `env_vars` input (with `env_vars_update_strategy: merge`)',
  '--env-vars-file': 'the `env_vars_file` input',
  '--set-secrets': 'the `secrets` input with `secrets_update_strategy: overwrite`',
  '--update-secrets': 'the `secrets` input',
  '--labels': 'the `labels` input',
  '--set-labels': 'the `labels` input',
  '--async': 'nothing: Runway always waits and verifies',
  '--platform': 'nothing: Runway deploys to fully managed Cloud Run',
};

function flagWords(raw: string): string[] {
  let words: string[];
  try {
    words = splitFlags(raw);
  } catch {
    throw new InputError('flags', raw, 'flags with balanced quotes', { secret: true });
  }
  // A flag quoted whole (`"--args=-X=123"`, as deploy-cloudrun's README writes a flag whose value
  // holds another) stays one word, which gcloud's parser splits at its first `=`.
  return words.flatMap((word) => {
    const m = /^(--[^=]+)=([\s\S]*)$/.exec(word);
    return m ? [m[1]!, m[2]!] : [word];
  });
}

/**
 * A command line given as one input (`release_command`, `release_args`): split into words as `flags`
 * is (whitespace separates, quotes group), never handed to a shell.
 */
export function commandWords(name: string, raw: string): string[] {
  let words: string[];
  try {
    words = splitFlags(raw);
  } catch {
    throw new InputError(name, raw, 'words with balanced quotes', { secret: true });
  }
  if (!words.length)
    throw new InputError(name, raw, 'a command and its arguments, e.g. `alembic upgrade head`');
  return words;
}

const isKnownFlag = (word: string): boolean => word in VALUED || word in SWITCHES || word in USE_INSTEAD;

export function parseFlags(raw: string, target: FlagsTarget = 'service'): ParsedFlags {
  const spec: ParsedFlags = {};
  const words = flagWords(raw);
  for (let i = 0; i < words.length; i++) {
    const flag = words[i]!;
    const name = `flags (${flag})`;
    checkTarget(flag, target);
    if (SWITCHES[flag]) {
      // `--cpu-boost=false` arrives as two words; read the value rather than fail on a stray word.
      const next = words[i + 1];
      if (next !== undefined && /^(true|false)$/i.test(next)) {
        i++;
        if (!parseBool(name, next)) {
          const negated = flag.startsWith('--no-') ? `--${flag.slice(5)}` : `--no-${flag.slice(2)}`;
          SWITCHES[negated]?.(spec, '', name);
          continue;
        }
      }
      SWITCHES[flag](spec, '', name);
    } else if (VALUED[flag]) {
      const value = words[++i];
      if (value === undefined || isKnownFlag(value)) {
        throw new InputError(name, flag, `${flag} VALUE`);
      }
      VALUED[flag](spec, value, name);
    } else if (USE_INSTEAD[flag]) {
      throw new RunwayError(
        `The flag ${flag} in \`flags\` is not passed to gcloud (Runway has no gcloud).`,
        `Use ${USE_INSTEAD[flag]} instead.`,
      );
    } else {
      throw new RunwayError(
        `The flag ${flag} in \`flags\` is not supported (Runway has no gcloud; it understands ${Object.keys({ ...VALUED, ...SWITCHES }).join(', ')}).`,
        "Use the typed input for this setting if there is one (see the README's inputs table), or remove the flag.",
      );
    }
  }
  return spec;
}

/** The job settings `flags` gave, apart from the service settings. */
export function splitJobFlags(flags: ParsedFlags): { spec: ServiceSpec; job: JobFlags } {
  const { tasks, parallelism, maxRetries, taskTimeoutSeconds, executeNow, wait, ...spec } = flags;
  const job: JobFlags = {};
  if (tasks !== undefined) job.tasks = tasks;
  if (parallelism !== undefined) job.parallelism = parallelism;
  if (maxRetries !== undefined) job.maxRetries = maxRetries;
  if (taskTimeoutSeconds !== undefined) job.taskTimeoutSeconds = taskTimeoutSeconds;
  if (executeNow !== undefined) job.executeNow = executeNow;
  if (wait !== undefined) job.wait = wait;
  return { spec, job };
}

/** Typed inputs and flags together; the same setting given two different ways is an error. */
export function mergeSpecs<S extends object>(typed: S, fromFlags: S, inputNames: Record<keyof S, string>): S {
  const merged: S = { ...typed };
  for (const key of Object.keys(fromFlags) as Array<keyof S>) {
    const flagValue = fromFlags[key];
    const typedValue = typed[key];
    const typedLabels = (typed as ServiceSpec).labels;
    const flagLabels = (fromFlags as ServiceSpec).labels;
    if (key === 'labels' && typedLabels && flagLabels) {
      // deploy-cloudrun passes `labels` as --update-labels before the flags, and gcloud merges
      // repeated --update-labels (a key given twice with two values it refuses, as below).
      const clash = Object.keys(flagLabels).some((k) => k in typedLabels && typedLabels[k] !== flagLabels[k]);
      if (!clash) {
        (merged as ServiceSpec).labels = { ...typedLabels, ...flagLabels };
        continue;
      }
    }
    if (typedValue !== undefined && JSON.stringify(typedValue) !== JSON.stringify(flagValue)) {
      throw new RunwayError(
        `Input '${inputNames[key]}' and \`flags\` disagree about the same setting.`,
        `Keep one of them: remove the flag from \`flags\`, or the \`${inputNames[key]}\` input.`,
      );
    }
    merged[key] = flagValue;
  }
  return merged;
}
