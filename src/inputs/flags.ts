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
  checkEnvVars,
  parseBool,
  parseCpu,
  parseDurationSeconds,
  parseEnum,
  parseInteger,
  parseKeyValueList,
  parseList,
  parseMemory,
  parseSecrets,
} from './fields.js';
import { parseProbe } from './probes.js';
import { noOrigins, noteEnvNames, type EnvOrigins } from './env-kinds.js';
import { refuseExclusive, type ExclusiveGroup } from './exclusive.js';
import { envVarsFileFlag, flagsFileWords } from './flags-file.js';
import {
  BUILD_EXCLUSIVE,
  BUILD_FLAGS,
  BUILD_SWITCHES,
  BUILD_VALUED,
  type BuildFlags,
} from './build-flags.js';
import type { KeyValues } from './kv.js';
import type { ContainerSpec, DeployFlags, JobFlags, SecretRefs, ServiceSpec } from './spec.js';
import { setGpu, setGpuType, setGpuZonalRedundancy } from './gpu.js';
import {
  NETWORK_EXCLUSIVE,
  clearNetwork,
  clearNetworkTags,
  setNetwork,
  setNetworkTags,
  setSubnet,
} from './network.js';
import {
  addVolume,
  addVolumeMount,
  clearVolumeMounts,
  clearVolumes,
  removeVolumeMounts,
  removeVolumes,
} from './volumes.js';

/**
 * What `flags` sets: service settings, for a job (`gcloud run jobs deploy`) its own, the build's,
 * and the flags that stand for the deploy's own inputs (`deploy`).
 */
export type ParsedFlags = ServiceSpec & JobFlags & { build?: BuildFlags; deploy?: DeployFlags };

/**
 * gcloud's repeated dictionary flags (--update-env-vars A=1 --update-env-vars B=2) add up, and a key
 * given twice is refused, even with the same value ("cannot be specified multiple times"). Only the
 * key is named: values may be secret.
 */
export function addUniqueKeys<V>(
  name: string,
  into: Record<string, V> | undefined,
  add: Record<string, V>,
): Record<string, V> {
  const twice = Object.keys(add).filter((key) => into && key in into);
  if (twice.length)
    throw new RunwayError(
      `${name} gives ${twice.map((k) => `"${k}"`).join(', ')} more than once: gcloud refuses a key given twice ("cannot be specified multiple times"), even with the same value.`,
      'Give each key once.',
    );
  return { ...(into ?? {}), ...add };
}

/** The env and file secrets of `add` joined to those of `into`, each name and path once. */
function addSecrets(name: string, into: SecretRefs | undefined, add: SecretRefs): SecretRefs {
  return {
    env: addUniqueKeys(name, into?.env, add.env),
    files: addUniqueKeys(name, into?.files, add.files),
  };
}

const updateEnvVars = (s: ContainerSpec, v: string, n: string): KeyValues =>
  (s.envVars = addUniqueKeys(n, s.envVars, checkEnvVars(n, parseKeyValueList(n, v, { secret: true }))));

type FlagHandler = (spec: ParsedFlags, value: string, name: string) => void;
type ContainerHandler = (spec: ContainerSpec, value: string, name: string) => void;

/** gcloud's per-container flags (deploy.py's ContainerArgGroup): those a `--container NAME` scopes. */
const CONTAINER_VALUED: Record<string, ContainerHandler> = {
  '--cpu': (s, v, n) => (s.cpu = parseCpu(n, v)),
  '--memory': (s, v, n) => (s.memory = parseMemory(n, v)),
  '--port': (s, v, n) => (s.port = parseInteger(n, v, 1, 65535)),
  '--command': (s, v) => (s.command = parseList(v)),
  '--args': (s, v) => (s.args = parseList(v)),
  '--set-env-vars': (s, v, n) => {
    s.envVars = addUniqueKeys(n, s.envVars, checkEnvVars(n, parseKeyValueList(n, v, { secret: true })));
    s.replaceEnvVars = true;
  },
  '--env-vars-file': (s, v, n) => {
    s.envVars = addUniqueKeys(n, s.envVars, envVarsFileFlag(n, v));
    s.replaceEnvVars = true;
  },
  '--update-env-vars': updateEnvVars,
  '--remove-env-vars': (s, v) => (s.removeEnvVars = [...(s.removeEnvVars ?? []), ...parseList(v)]),
  '--set-secrets': (s, v, n) => {
    s.secrets = addSecrets(n, s.secrets, parseSecrets(n, v));
    s.replaceSecrets = true;
  },
  '--update-secrets': (s, v, n) => (s.secrets = addSecrets(n, s.secrets, parseSecrets(n, v))),
  '--remove-secrets': (s, v) => (s.removeSecrets = [...(s.removeSecrets ?? []), ...parseList(v)]),
  '--add-volume-mount': addVolumeMount,
  '--remove-volume-mount': removeVolumeMounts,
  '--depends-on': (s, v) => (s.dependsOn = parseList(v)),
  '--startup-probe': (s, v, n) => (s.startupProbe = parseProbe(n, v, 'startup')),
  '--liveness-probe': (s, v, n) => (s.livenessProbe = parseProbe(n, v, 'liveness')),
};

/** Per-container flags that have a typed input for the target container, so only a scope takes them. */
const SCOPED_VALUED: Record<string, ContainerHandler> = {
  '--image': (s, v) => (s.image = v),
};

const CONTAINER_SWITCHES: Record<string, ContainerHandler> = {
  '--use-http2': (s) => (s.useHttp2 = true),
  '--no-use-http2': (s) => (s.useHttp2 = false),
  '--clear-env-vars': (s) => (s.clearEnvVars = true),
  '--clear-secrets': (s) => (s.clearSecrets = true),
  '--clear-volume-mounts': clearVolumeMounts,
};

/** Per-container flags of gcloud's that Runway does not take in a scope (yet): refused, never ignored. */
const CONTAINER_OTHER = new Set([
  '--source',
  '--base-image',
  '--clear-base-image',
  '--gpu',
  '--function',
  ...BUILD_FLAGS,
]);

const isContainerFlag = (flag: string): boolean =>
  flag in CONTAINER_VALUED ||
  flag in SCOPED_VALUED ||
  flag in CONTAINER_SWITCHES ||
  CONTAINER_OTHER.has(flag);

const VALUED: Record<string, FlagHandler> = {
  '--min-instances': (s, v, n) => (s.minInstances = parseInteger(n, v, 0, 1000)),
  '--max-instances': (s, v, n) => (s.maxInstances = parseInteger(n, v, 1, 1000)),
  '--concurrency': (s, v, n) => (s.concurrency = parseInteger(n, v, 1, 1000)),
  '--timeout': (s, v, n) => (s.timeoutSeconds = parseDurationSeconds(n, v)),
  '--service-account': (s, v) => (s.runtimeServiceAccount = v),
  '--ingress': (s, v, n) => (s.ingress = parseEnum(n, v, INGRESS_VALUES)),
  '--vpc-connector': (s, v) => (s.vpcConnector = v),
  '--vpc-egress': (s, v, n) => (s.vpcEgress = parseEnum(n, v, VPC_EGRESS_VALUES)),
  '--add-cloudsql-instances': (s, v) =>
    (s.addCloudsqlInstances = [...(s.addCloudsqlInstances ?? []), ...parseList(v)]),
  '--set-cloudsql-instances': (s, v) => (s.cloudsqlInstances = parseList(v)),
  '--execution-environment': (s, v, n) => (s.executionEnvironment = parseEnum(n, v, EXECUTION_ENVIRONMENTS)),
  '--update-labels': (s, v, n) => (s.labels = addUniqueKeys(n, s.labels, parseKeyValueList(n, v))),
  // An alias of --update-labels (gcloud's help says so), and one of the two only.
  '--labels': (s, v, n) => (s.labels = addUniqueKeys(n, s.labels, parseKeyValueList(n, v))),
  '--remove-containers': (s, v) => (s.removeContainers = [...(s.removeContainers ?? []), ...parseList(v)]),
  '--set-custom-audiences': (s, v) => (s.customAudiences = { ...s.customAudiences, set: parseList(v) }),
  '--add-custom-audiences': (s, v) =>
    (s.customAudiences = { ...s.customAudiences, add: [...(s.customAudiences?.add ?? []), ...parseList(v)] }),
  '--remove-custom-audiences': (s, v) =>
    (s.customAudiences = {
      ...s.customAudiences,
      remove: [...(s.customAudiences?.remove ?? []), ...parseList(v)],
    }),
  '--description': (s, v) => (s.description = v),
  '--remove-labels': (s, v) => (s.removeLabels = [...(s.removeLabels ?? []), ...parseList(v)]),
  '--platform': (_s, v, n) => {
    if (v !== 'managed')
      throw new RunwayError(
        `${n} is ${v}: Runway deploys to fully managed Cloud Run only (gcloud's --platform=managed).`,
        'Remove the flag, or deploy to GKE (Cloud Run for Anthos) with another tool.',
      );
  },
  '--min': (s, v, n) => (s.serviceMinInstances = v === 'default' ? null : parseInteger(n, v, 0, 1000)),
  '--binary-authorization': (s, v) => (s.binaryAuthorization = v),
  '--breakglass': (s, v) => (s.breakglass = v),
  '--key': (s, v) => (s.encryptionKey = v),
  '--post-key-revocation-action-type': (s, v, n) =>
    (s.keyRevocationAction = parseEnum(n, v, ['prevent-new', 'shut-down'] as const)),
  '--encryption-key-shutdown-hours': (s, v, n) => (s.keyShutdownHours = parseInteger(n, v, 1, 720)),
  '--remove-cloudsql-instances': (s, v) =>
    (s.removeCloudsqlInstances = [...(s.removeCloudsqlInstances ?? []), ...parseList(v)]),
  '--tasks': (s, v, n) => (s.tasks = parseInteger(n, v, 1, 10000)),
  '--parallelism': (s, v, n) => (s.parallelism = parseInteger(n, v, 0, 10000)),
  '--max-retries': (s, v, n) => (s.maxRetries = parseInteger(n, v, 0, 10)),
  '--task-timeout': (s, v, n) => (s.taskTimeoutSeconds = parseDurationSeconds(n, v)),
  '--add-volume': addVolume,
  '--remove-volume': removeVolumes,
  '--network': setNetwork,
  '--subnet': setSubnet,
  '--network-tags': setNetworkTags,
  '--gpu': setGpu,
  '--gpu-type': setGpuType,
  ...Object.fromEntries(
    Object.entries(BUILD_VALUED).map(([flag, set]): [string, FlagHandler] => [
      flag,
      (s, v, n) => set((s.build ??= {}), v, n),
    ]),
  ),
};

/** The flags that stand for the deploy's own inputs (image, tag, suffix, region, project). */
const DEPLOY_VALUED: Record<string, (d: DeployFlags, v: string) => void> = {
  '--image': (d, v) => (d.image = v),
  '--tag': (d, v) => (d.tag = v),
  '--revision-suffix': (d, v) => (d.suffix = v),
  '--region': (d, v) => (d.region = v),
  '--project': (d, v) => (d.project = v),
};

const SWITCHES: Record<string, FlagHandler> = {
  '--no-traffic': (s) => ((s.deploy ??= {}).noTraffic = true),
  '--allow-unauthenticated': (s) => (s.allowUnauthenticated = true),
  '--no-allow-unauthenticated': (s) => (s.allowUnauthenticated = false),
  '--cpu-boost': (s) => (s.cpuBoost = true),
  '--no-cpu-boost': (s) => (s.cpuBoost = false),
  '--cpu-throttling': (s) => (s.cpuThrottling = true),
  '--no-cpu-throttling': (s) => (s.cpuThrottling = false),
  '--execute-now': (s) => (s.executeNow = true),
  '--no-execute-now': (s) => (s.executeNow = false),
  '--wait': (s) => (s.wait = true),
  '--invoker-iam-check': (s) => (s.invokerIamDisabled = false),
  '--no-invoker-iam-check': (s) => (s.invokerIamDisabled = true),
  '--session-affinity': (s) => (s.sessionAffinity = true),
  '--no-session-affinity': (s) => (s.sessionAffinity = false),
  '--clear-custom-audiences': (s) => (s.customAudiences = { ...s.customAudiences, clear: true }),
  '--clear-binary-authorization': (s) => (s.binaryAuthorization = null),
  '--clear-key': (s) => {
    s.encryptionKey = null;
    s.keyRevocationAction = null;
    s.keyShutdownHours = null;
  },
  '--clear-post-key-revocation-action-type': (s) => {
    s.keyRevocationAction = null;
    s.keyShutdownHours = null;
  },
  '--clear-encryption-key-shutdown-hours': (s) => (s.keyShutdownHours = null),
  '--clear-cloudsql-instances': (s) => (s.clearCloudsqlInstances = true),
  '--clear-labels': (s) => (s.clearLabels = true),
  '--clear-vpc-connector': (s) => (s.clearVpcConnector = true),
  '--no-wait': (s) => (s.wait = false),
  '--clear-volumes': clearVolumes,
  '--clear-network': clearNetwork,
  '--clear-network-tags': clearNetworkTags,
  '--gpu-zonal-redundancy': (s) => setGpuZonalRedundancy(s, true),
  '--no-gpu-zonal-redundancy': (s) => setGpuZonalRedundancy(s, false),
  ...Object.fromEntries(
    Object.entries(BUILD_SWITCHES).map(([flag, set]): [string, FlagHandler] => [
      flag,
      (s) => set((s.build ??= {})),
    ]),
  ),
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
  '--tag',
  '--revision-suffix',
  '--no-traffic',
  '--min-instances',
  '--max-instances',
  '--concurrency',
  '--port',
  '--timeout',
  '--ingress',
  '--use-http2',
  '--no-use-http2',
  '--depends-on',
  '--remove-containers',
  '--container',
  '--liveness-probe',
  '--startup-probe',
  '--invoker-iam-check',
  '--no-invoker-iam-check',
  '--set-custom-audiences',
  '--add-custom-audiences',
  '--remove-custom-audiences',
  '--clear-custom-audiences',
  '--description',
  '--session-affinity',
  '--no-session-affinity',
  '--min',
  '--binary-authorization',
  '--clear-binary-authorization',
  '--breakglass',
  '--key',
  '--clear-key',
  '--post-key-revocation-action-type',
  '--clear-post-key-revocation-action-type',
  '--encryption-key-shutdown-hours',
  '--clear-encryption-key-shutdown-hours',
  '--remove-labels',
  '--clear-labels',
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
  // `gcloud run jobs deploy --source` has no build flags.
  ...BUILD_FLAGS,
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
  '--source': 'the `source` input (or `context`, to build on the runner)',
  '--set-labels': 'the `labels` input (gcloud run deploy has no --set-labels; --update-labels adds labels)',
  '--async': 'nothing: Runway always waits for the revision and verifies it before moving traffic',
  '--cluster': 'nothing: Runway deploys to fully managed Cloud Run, not Cloud Run for Anthos (GKE)',
  '--cluster-location': 'nothing: Runway deploys to fully managed Cloud Run, not Cloud Run for Anthos (GKE)',
  '--function':
    'a container that serves your function, built with `source` (buildpacks) or `context` (a Dockerfile): Runway does not deploy Cloud Run functions',
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
  const split = words.flatMap((word) => {
    const m = /^(--[^=]+)=([\s\S]*)$/.exec(word);
    return m ? [m[1]!, m[2]!] : [word];
  });
  // --flags-file stands for the flags in its file, in its place (gcloud's left-to-right precedence).
  if (split[split.length - 1] === '--flags-file')
    throw new InputError('flags (--flags-file)', '--flags-file', '--flags-file PATH (a YAML file of flags)');
  const files = { read: 0 };
  return split.flatMap((word, i) =>
    word === '--flags-file'
      ? []
      : split[i - 1] === '--flags-file'
        ? flagsFileWords(word, { stack: [], files })
        : [word],
  );
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

const isKnownFlag = (word: string): boolean =>
  word in VALUED ||
  word in DEPLOY_VALUED ||
  word in SWITCHES ||
  word in USE_INSTEAD ||
  isContainerFlag(word) ||
  word === '--container';

/**
 * gcloud's mutually exclusive groups, all checked here: the list quartets
 * (repeated.AddPrimitiveArgs), the env and secret groups (--remove- goes with --update-), --labels
 * (an alias of --update-labels), the Direct VPC groups and the build groups.
 */
const EXCLUSIVE: ExclusiveGroup[] = [
  ...['custom-audiences', 'cloudsql-instances'].map((list) => ({
    of: ['set', 'add', 'remove', 'clear'].map((verb) => [`--${verb}-${list}`]),
  })),
  {
    of: [
      ['--clear-env-vars'],
      ['--env-vars-file'],
      ['--set-env-vars'],
      ['--remove-env-vars', '--update-env-vars'],
    ],
  },
  { of: [['--clear-secrets'], ['--set-secrets'], ['--remove-secrets', '--update-secrets']] },
  { of: [['--labels'], ['--update-labels']] },
  ...NETWORK_EXCLUSIVE,
  ...BUILD_EXCLUSIVE.map((of) => ({ of })),
];

/**
 * Refuses two alternatives of one exclusive group among `given` (one command's or container's
 * flags), each flag named by `source` (default: as itself, in `flags`).
 */
export function checkExclusive(given: string[], source = (flag: string): string => flag): void {
  refuseExclusive(EXCLUSIVE, given, 'flags', 'Keep one of them (each deploy may use another).', source);
}

/** The words of each command part: before the first --container, then each container's. */
function scopeSegments(words: string[]): string[][] {
  const segments: string[][] = [[]];
  for (let i = 0; i < words.length; i++) {
    if (words[i] === '--container') {
      segments.push([]);
      i++;
    } else segments[segments.length - 1]!.push(words[i]!);
  }
  return segments;
}

/** Cloud Run's container names: DNS labels (RFC 1123), at most 63 characters. */
const CONTAINER_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Reads a switch, and `--switch=false` as its negation (it arrives as two words). */
function readSwitch<S>(
  table: Record<string, (s: S, v: string, n: string) => void>,
  target: S,
  words: string[],
  i: number,
): number {
  const flag = words[i]!;
  const name = `flags (${flag})`;
  const next = words[i + 1];
  if (next !== undefined && /^(true|false)$/i.test(next)) {
    if (!parseBool(name, next)) {
      const negated = flag.startsWith('--no-') ? `--${flag.slice(5)}` : `--no-${flag.slice(2)}`;
      table[negated]?.(target, '', name);
      return i + 1;
    }
    table[flag]!(target, '', name);
    return i + 1;
  }
  table[flag]!(target, '', name);
  return i;
}

function valueOf(words: string[], i: number): string {
  const flag = words[i]!;
  const value = words[i + 1];
  if (value === undefined || isKnownFlag(value))
    throw new InputError(`flags (${flag})`, flag, `${flag} VALUE`);
  return value;
}

/** The env and secret flags, by the kind of variable they give. */
const ENV_FLAG_KINDS: Record<string, keyof EnvOrigins> = {
  '--set-env-vars': 'plain',
  '--update-env-vars': 'plain',
  '--env-vars-file': 'plain',
  '--set-secrets': 'secret',
  '--update-secrets': 'secret',
};

/** What `flags` sets, and the env var names it gives each container ('' unscoped), by flag. */
export interface FlagsWithOrigins {
  flags: ParsedFlags;
  env: Record<string, EnvOrigins>;
}

export function parseFlags(raw: string, target: FlagsTarget = 'service'): ParsedFlags {
  return parseFlagsWithOrigins(raw, target).flags;
}

/** Notes the names an env or secret flag gave `container` (every name it holds: the first source stays). */
function noteEnvFlag(
  env: Record<string, EnvOrigins>,
  scopeName: string,
  container: ContainerSpec,
  flag: string,
): void {
  const kind = ENV_FLAG_KINDS[flag];
  if (!kind) return;
  const names = Object.keys((kind === 'plain' ? container.envVars : container.secrets?.env) ?? {});
  const source = `\`flags\` (${flag}${scopeName ? ` after --container ${scopeName}` : ''})`;
  noteEnvNames((env[scopeName] ??= noOrigins()), kind, names, source);
}

export function parseFlagsWithOrigins(raw: string, target: FlagsTarget = 'service'): FlagsWithOrigins {
  const spec: ParsedFlags = {};
  const env: Record<string, EnvOrigins> = {};
  let scopeName = '';
  const words = flagWords(raw);
  // As gcloud's container_parser: the flags after `--container NAME` are that container's, and once
  // any --container is given, no per-container flag may stand outside one.
  const scoped = words.includes('--container');
  for (const segment of scopeSegments(words)) checkExclusive(segment);
  let scope: ContainerSpec | undefined;
  for (let i = 0; i < words.length; i++) {
    const flag = words[i]!;
    const name = `flags (${flag})`;
    checkTarget(flag, target);
    if (flag === '--container') {
      const container = valueOf(words, i++);
      if (!CONTAINER_NAME.test(container))
        throw new InputError(name, container, 'a container name: lowercase letters, digits and hyphens');
      spec.containers ??= {};
      scope = spec.containers[container] ??= {};
      scopeName = container;
      continue;
    }
    if (scope) {
      if (!isContainerFlag(flag))
        throw new RunwayError(
          `The flag ${flag} in \`flags\` comes after a --container, and is not a per-container flag.`,
          'Put the flags that apply to the whole service before the first --container, as gcloud requires.',
        );
      if (CONTAINER_SWITCHES[flag]) i = readSwitch(CONTAINER_SWITCHES, scope, words, i);
      else if (CONTAINER_VALUED[flag] ?? SCOPED_VALUED[flag]) {
        (CONTAINER_VALUED[flag] ?? SCOPED_VALUED[flag])!(scope, valueOf(words, i++), name);
        noteEnvFlag(env, scopeName, scope, flag);
      } else
        throw new RunwayError(
          `The flag ${flag} in \`flags\` is not supported after --container yet.`,
          'Set it on the container in the Cloud Run service, or give it before any --container for the target container through its typed input.',
        );
      continue;
    }
    if (scoped && isContainerFlag(flag))
      throw new RunwayError(
        `The flag ${flag} in \`flags\` applies to one container, and \`flags\` names containers with --container.`,
        `Put ${flag} after the --container it is for, as gcloud requires ("must be specified after --container").`,
      );
    if (SWITCHES[flag]) i = readSwitch(SWITCHES, spec, words, i);
    else if (CONTAINER_SWITCHES[flag]) i = readSwitch(CONTAINER_SWITCHES, spec, words, i);
    else if (VALUED[flag]) VALUED[flag](spec, valueOf(words, i++), name);
    else if (CONTAINER_VALUED[flag]) {
      CONTAINER_VALUED[flag](spec, valueOf(words, i++), name);
      noteEnvFlag(env, '', spec, flag);
    } else if (DEPLOY_VALUED[flag]) DEPLOY_VALUED[flag]((spec.deploy ??= {}), valueOf(words, i++));
    else if (USE_INSTEAD[flag]) {
      throw new RunwayError(
        `The flag ${flag} in \`flags\` is not passed to gcloud (Runway has no gcloud).`,
        `Use ${USE_INSTEAD[flag]} instead.`,
      );
    } else if (flag === '--ignore-file') {
      throw new RunwayError(
        'The flag --ignore-file in `flags` is not a flag of `gcloud run deploy` (gcloud 528 answers "unrecognized arguments: --ignore-file"), so Runway refuses it too.',
        'Put the ignore rules in a .gcloudignore at the root of `source`: Runway reads it as gcloud does (and falls back to .gitignore).',
      );
    } else {
      throw new RunwayError(
        `The flag ${flag} in \`flags\` is not supported (Runway has no gcloud; it understands ${Object.keys({ ...VALUED, ...SWITCHES, ...CONTAINER_VALUED, ...CONTAINER_SWITCHES, ...DEPLOY_VALUED }).join(', ')}, --container).`,
        "Use the typed input for this setting if there is one (see the README's inputs table), or remove the flag.",
      );
    }
  }
  return { flags: spec, env };
}

/** The job, build and deploy settings `flags` gave, apart from the service settings. */
export function splitJobFlags(flags: ParsedFlags): {
  spec: ServiceSpec;
  job: JobFlags;
  build: BuildFlags | undefined;
  deploy: DeployFlags;
} {
  const { tasks, parallelism, maxRetries, taskTimeoutSeconds, executeNow, wait, build, deploy, ...spec } =
    flags;
  const job: JobFlags = {};
  if (tasks !== undefined) job.tasks = tasks;
  if (parallelism !== undefined) job.parallelism = parallelism;
  if (maxRetries !== undefined) job.maxRetries = maxRetries;
  if (taskTimeoutSeconds !== undefined) job.taskTimeoutSeconds = taskTimeoutSeconds;
  if (executeNow !== undefined) job.executeNow = executeNow;
  if (wait !== undefined) job.wait = wait;
  return { spec, job, build, deploy: deploy ?? {} };
}

/** The env and secret flags a spec stands for, as gcloud spells them. */
function envAndSecretFlags(
  spec: ContainerSpec & { secrets?: SecretRefs; replaceSecrets?: boolean },
): string[] {
  const flags: string[] = [];
  if (spec.clearEnvVars) flags.push('--clear-env-vars');
  if (spec.removeEnvVars?.length) flags.push('--remove-env-vars');
  if (spec.envVars) flags.push(spec.replaceEnvVars ? '--set-env-vars' : '--update-env-vars');
  if (spec.clearSecrets) flags.push('--clear-secrets');
  if (spec.removeSecrets?.length) flags.push('--remove-secrets');
  if (spec.secrets) flags.push(spec.replaceSecrets ? '--set-secrets' : '--update-secrets');
  return flags;
}

/**
 * `env_vars` and `secrets` beside env and secret flags, as gcloud takes deploy-cloudrun's command
 * line: the inputs come first, as --update-env-vars/--update-secrets (strategy `merge`) or
 * --set-env-vars/--set-secrets (`overwrite`), then `flags`. An --update- flag adds to a merge, each
 * key once; anything else beside an input is one of gcloud's exclusive flags, and refused. Returns
 * the typed spec with what the flags added, and the flags' spec without it.
 */
export function joinEnvAndSecrets(
  typed: ServiceSpec,
  fromFlags: ServiceSpec,
  strategies: { env: 'merge' | 'overwrite'; secrets: 'merge' | 'overwrite' },
): { typed: ServiceSpec; fromFlags: ServiceSpec } {
  const inputFlags = [
    ...(typed.envVars ? [strategies.env === 'merge' ? '--update-env-vars' : '--set-env-vars'] : []),
    ...(typed.secrets ? [strategies.secrets === 'merge' ? '--update-secrets' : '--set-secrets'] : []),
  ];
  if (!inputFlags.length) return { typed, fromFlags };
  const fromInput = new Map(
    inputFlags.map((flag) => [flag, flag.endsWith('env-vars') ? 'env_vars' : 'secrets']),
  );
  const flagged = envAndSecretFlags(fromFlags);
  checkExclusive([...inputFlags, ...flagged], (flag) =>
    fromInput.has(flag) && !flagged.includes(flag)
      ? `${flag} (the \`${fromInput.get(flag)}\` input, which deploy-cloudrun passes to gcloud as ${flag})`
      : flag,
  );
  const joined = { ...typed };
  const rest = { ...fromFlags };
  if (typed.envVars && rest.envVars) {
    joined.envVars = addUniqueKeys('env_vars and flags (--update-env-vars)', typed.envVars, rest.envVars);
    delete rest.envVars;
  }
  if (typed.secrets && rest.secrets) {
    joined.secrets = addSecrets('secrets and flags (--update-secrets)', typed.secrets, rest.secrets);
    delete rest.secrets;
  }
  return { typed: joined, fromFlags: rest };
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
