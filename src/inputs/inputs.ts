// Every input is read here, once, into one typed Settings object; nothing else calls getInput.
// A bad value fails before anything changes, naming the input, what was given and what is accepted.
import { setSecret } from '@actions/core';
import { readFileSync } from 'node:fs';
import { parseKVFile } from '@google-github-actions/actions-utils';
import { parse as parseYaml, YAMLError } from 'yaml';
import { InputError, InputErrors, RunwayError } from '../errors.js';
import {
  EXECUTION_ENVIRONMENTS,
  INGRESS_VALUES,
  VPC_EGRESS_VALUES,
  parseBool,
  parseCpu,
  parseDurationSeconds,
  parseIntervalMs,
  parseEnum,
  parseInteger,
  parseKeyValueList,
  parseList,
  checkEnvVars,
  parseMemory,
  parseSecrets,
} from './fields.js';
import {
  commandWords,
  joinEnvAndSecrets,
  mergeSpecs,
  parseFlagsWithOrigins,
  splitJobFlags,
} from './flags.js';
import { joinEnvOrigins, noOrigins, noteEnvNames, type EnvOrigins } from './env-kinds.js';
import { targetName } from './container-target.js';
import { checkGpuInputs } from './gpu.js';
import { KeyValueSyntaxError, parseKeyValues, type KeyValues } from './kv.js';
import {
  JOB_INPUT_NAMES,
  SPEC_INPUT_NAMES,
  type JobExecute,
  type JobFlags,
  type JobSpec,
  type SecretRefs,
  type ServiceSpec,
} from './spec.js';
import { checkDefaultDockerfile, resolveInputPath } from './paths.js';
import type { BuildFlags } from './build-flags.js';
import { foldTrafficFlags, parseTrafficFlags, type TagChanges, type TrafficFlags } from './traffic-flags.js';
import {
  FILE_KINDS,
  ServiceYamlError,
  type FileTraffic,
  type MetadataFile,
  type ServiceYaml,
} from './service-yaml.js';
import { readMetadataFile, type JobYaml } from './job-yaml.js';
import { MAX_TAG_AND_SERVICE } from '../gcp/run-types.js';
import { isAllowedWebhookUrl, type WebhookSettings } from '../common/webhooks.js';
import { isProbePath, parseExpectedStatus, type HealthCheck } from '../common/health.js';

export { parseDurationSeconds };

export type InputReader = (name: string) => string;

export type ImageSource =
  | { kind: 'prebuilt'; ref: string }
  | {
      /** Built on Google from uploaded source (builds:submit), as `gcloud run deploy --source`. */
      kind: 'source';
      /** The directory to upload. */
      source: string;
      /** Artifact Registry path: HOST/PROJECT/REPOSITORY[/IMAGE]. */
      repository: string;
      /** Buildpacks only (no Dockerfile): the base image, and whether Cloud Run updates it. */
      baseImage: string | undefined;
      automaticUpdates: boolean | undefined;
      /** gcloud's build flags in `flags`: the build's account, worker pool and environment. */
      build: BuildFlags | undefined;
    }
  | {
      kind: 'build';
      context: string;
      dockerfile: string | undefined;
      /** Artifact Registry path: HOST/PROJECT/REPOSITORY[/IMAGE]. */
      repository: string;
      buildArgs: KeyValues;
      /** BuildKit secret id → value (build_secrets). */
      secrets: KeyValues;
      target: string | undefined;
      platform: string | undefined;
      cache: boolean;
      /** The buildx builder to use; undefined: BUILDX_BUILDER or the current builder. */
      builder: string | undefined;
      /** fork_build_credentials: a build of fork code gets registry credentials (dangerous). */
      forkCredentials: boolean;
    };

export type TrafficMode = 'verified' | 'immediate' | 'none';

/** What a run does: deploy and verify, deploy a pull request's preview, or remove that preview. */
export type Purpose = 'deploy' | 'preview' | 'cleanup';

/** `job: NAME`: the step deploys this Cloud Run job instead of a service. */
export interface JobSettings {
  name: string;
  spec: JobSpec;
  /** `wait` (or --wait): execute and wait; `execute` (or --execute-now): start and return. */
  execute: JobExecute;
  /** `metadata` with a Job file: the job the deploy starts from (it replaces the live job). */
  file: JobYaml | undefined;
}

/** `release_command`: run once as the job SERVICE-release, before the new revision is created. */
export interface ReleaseSettings {
  command: string[];
  /** Undefined: the command alone (the image's CMD is not appended, as Cloud Run runs a command). */
  args: string[] | undefined;
  timeoutSeconds: number;
}

export interface Settings {
  /** The service's name; with `job`, the job's (reports and the status context name it). */
  service: string;
  /** Set when the step deploys a job; then only the container settings of `spec` apply. */
  job: JobSettings | undefined;
  release: ReleaseSettings | undefined;
  regions: string[];
  projectId: string | undefined;
  suffix: string | undefined;
  deployTimeoutSeconds: number;
  workloadIdentityProvider: string | undefined;
  serviceAccount: string | undefined;
  audience: string | undefined;
  purpose: Purpose;
  /** Undefined only for `cleanup`, which deploys nothing. */
  image: ImageSource | undefined;
  spec: ServiceSpec;
  /** `metadata`: the service file the deploy starts from (it replaces the live service). */
  serviceYaml: ServiceYaml | undefined;
  envVarsUpdateStrategy: 'merge' | 'overwrite';
  secretsUpdateStrategy: 'merge' | 'overwrite';
  skipDefaultLabels: boolean;
  traffic: TrafficMode;
  tag: string | undefined;
  /** revision (or LATEST) → percent, from revision_traffic. */
  revisionTraffic: Record<string, number> | undefined;
  /** `regions_fail`: `all` takes every region back when one fails; `region`: each stands alone. */
  regionsFail: 'all' | 'region';
  /** `traffic_steps`: progressive delivery with gates; undefined moves all traffic in one step. */
  progressive: ProgressiveSettings | undefined;
  /** tag → percent, from tag_traffic. */
  tagTraffic: Record<string, number> | undefined;
  /** update_traffic_flags' tag changes, made where the split moves (its --to-* flags are in the split). */
  trafficTags: TagChanges | undefined;
  healthCheck: HealthCheck;
  rollback: boolean;
  /** keep_revisions: how many idle revisions (no traffic, no tag) to keep; undefined: delete none. */
  keepRevisions: number | undefined;
  /** keep_revisions_grace: revisions younger than this are never deleted. */
  keepRevisionsGraceSeconds: number;
  /** log_lines: how many of a failed revision's last log lines to show; 0 shows none. */
  logLines: number;
  report: ReportSettings;
  /** preview_service_account: the runtime service account a run of fork code deploys with. */
  previewServiceAccount: string | undefined;
  /** preview_secrets: the only secrets a run of fork code gets. */
  previewSecrets: SecretRefs | undefined;
  /** Set once the run deploys fork code: the live service's secrets are dropped, not inherited. */
  isolated: boolean;
}

/** Where the result goes besides the outputs (the job summary is always written). */
export interface ReportSettings {
  /** `auto`: on pull_request events only. */
  comment: 'auto' | 'always' | 'never';
  githubToken: string | undefined;
  /** Create a GitHub Deployment in this environment; undefined: none. */
  deploymentEnvironment: string | undefined;
  /** GitHub's production_environment flag; undefined: true for an environment named production. */
  productionEnvironment: boolean | undefined;
  /** The commit status context, e.g. runway/my-service. */
  statusContext: string;
  webhook: WebhookSettings | undefined;
}

const SERVICE_NAME = /^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$/;
const REGION = /^[a-z]+-[a-z]+\d+$/;
const WIF_PROVIDER = /^projects\/\d+\/locations\/global\/workloadIdentityPools\/[^/]+\/providers\/[^/]+$/;
const SERVICE_ACCOUNT = /^[^@\s]+@[^@\s]+\.gserviceaccount\.com$/;
const PROJECT_ID = /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/;
const SUFFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const TAG = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Reads inputs and gathers what is wrong with them, so one run reports every bad input at once:
 * `attempt` and `map` record an input's error and go on without its value.
 */
class Reader {
  readonly problems: RunwayError[] = [];
  /** Inputs whose value a flag in `flags` gives (--image for `image`...), with the flag. */
  private readonly supplied = new Map<string, { flag: string; value: string }>();

  constructor(private readonly read: InputReader) {}

  /**
   * Lets `flag`'s value stand for input `name`, as gcloud takes deploy-cloudrun's command line (its
   * inputs first, `flags` after, and the last of a flag wins): errors then name the flag. An input
   * that says otherwise is refused rather than overridden, unless it holds its default (`fallback`),
   * which the runner fills in whether the workflow gave it or not.
   */
  supply(name: string, flag: string, value: string | undefined, fallback?: string): void {
    if (value === undefined) return;
    const given = this.optional(name);
    if (given !== undefined && given !== value && given !== fallback) {
      this.attempt(() => {
        throw new RunwayError(
          `Input '${name}' and \`flags\` (${flag}) disagree: deploy-cloudrun's gcloud would take the flag's and ignore the input.`,
          `Keep one of them: remove ${flag} from \`flags\`, or the \`${name}\` input.`,
        );
      });
      return;
    }
    this.supplied.set(name, { flag, value });
  }

  /** `parse()`, or undefined with its error recorded when an input is bad. */
  attempt<T>(parse: () => T): T | undefined {
    try {
      return parse();
    } catch (err) {
      if (err instanceof InputErrors) this.problems.push(...err.problems);
      else if (err instanceof RunwayError) this.problems.push(err);
      else throw err;
      return undefined;
    }
  }

  /** Throws every recorded problem: one as itself, several together. */
  throwProblems(): void {
    if (this.problems.length === 1) throw this.problems[0]!;
    if (this.problems.length > 1) throw new InputErrors(this.problems);
  }

  optional(name: string): string | undefined {
    const value = this.raw(name).trim();
    return value === '' ? undefined : value;
  }

  raw(name: string): string {
    return this.supplied.get(name)?.value ?? this.read(name);
  }

  /** How errors name input `name`: as the flag that gave its value, if one did. */
  label(name: string): string {
    const flag = this.supplied.get(name)?.flag;
    return flag ? `flags (${flag})` : name;
  }

  /** Parses the input (or the flag standing for it) when set; undefined when empty, or when bad (its error recorded). */
  map<T>(name: string, parse: (name: string, raw: string) => T): T | undefined {
    const value = this.optional(name);
    const flag = this.supplied.get(name)?.flag;
    return value === undefined
      ? undefined
      : this.attempt(() => parse(flag ? `flags (${flag})` : name, value));
  }
}

export function parseRegions(raw: string): string[] {
  const list = parseList(raw);
  const regions = list.length ? list : ['us-central1'];
  for (const r of regions) {
    if (!REGION.test(r))
      throw new InputError(
        'region',
        r,
        'a Cloud Run region such as `us-central1`, or a comma-separated list',
      );
  }
  return [...new Set(regions)];
}

/**
 * "rev-a=10,LATEST=90" → {rev-a: 10, LATEST: 90}; the percentages must add up to 100, unless the
 * split is `partial` (update_traffic_flags adds to it, and the sum is checked merged).
 */
export function parseTrafficSplit(name: string, raw: string, partial = false): Record<string, number> {
  const pairs = parseKeyValueList(name, raw);
  const split: Record<string, number> = {};
  let total = 0;
  for (const [target, percent] of Object.entries(pairs)) {
    split[target] = parseInteger(name, percent, 0, 100);
    total += split[target];
  }
  if (total !== 100 && !(partial && total <= 100))
    throw new InputError(name, raw, 'TARGET=PERCENT pairs whose percentages add up to 100');
  return split;
}

function parseServiceAccount(name: string, raw: string): string {
  if (!SERVICE_ACCOUNT.test(raw))
    throw new InputError(name, raw, 'a service account email, NAME@PROJECT.iam.gserviceaccount.com');
  return raw;
}

/**
 * env_vars_file, read by deploy-cloudrun's own reader (actions-utils' parseKVFile): a JSON object
 * when it starts with `{`, KEY=VALUE lines when its first line has `=`, else YAML KEY: VALUE; every
 * value a string. The file may hold secrets, and the library's messages quote values, so a failure
 * is explained here instead: the file and the line or key at fault, never what the line holds.
 */
export function readEnvVarsFile(path: string): KeyValues {
  const real = resolveInputPath('env_vars_file', path, 'file');
  let text: string;
  try {
    text = readFileSync(real, 'utf8');
  } catch (err) {
    throw new InputError(
      'env_vars_file',
      path,
      `a readable file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`,
    );
  }
  if (isKeyValueText(text)) {
    try {
      return parseKeyValues(text);
    } catch (err) {
      if (!(err instanceof KeyValueSyntaxError)) throw err;
      throw new InputError('env_vars_file', path, `KEY=VALUE lines (${err.message})`);
    }
  }
  let vars: KeyValues | undefined;
  try {
    vars = parseKVFile(real);
  } catch {
    throw new InputError('env_vars_file', path, envFileFault(text));
  }
  if (vars && Array.isArray(parseYamlQuietly(text))) {
    throw new InputError('env_vars_file', path, 'a mapping of KEY: VALUE strings, not a list');
  }
  return vars ?? {};
}

function parseYamlQuietly(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return undefined;
  }
}

/** parseKVFile's own test for KEY=VALUE lines: not JSON, and the first line has KEY=VALUE. */
function isKeyValueText(text: string): boolean {
  const trimmed = text.trim();
  return !trimmed.startsWith('{') && !trimmed.startsWith('[') && /^.+=.+/.test(trimmed);
}

/** Why parseKVFile refused `text`, said without quoting it. */
function envFileFault(text: string): string {
  const formats = 'KEY=VALUE lines, YAML KEY: VALUE strings, or a JSON object of strings';
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    const where =
      err instanceof YAMLError ? `line ${err.linePos?.[0]?.line ?? '?'}: ${err.code}` : 'unparsable';
    return `${formats} (${where})`;
  }
  if (parsed && typeof parsed === 'object') {
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value !== 'string' || value.trim() === '') {
        return `${formats} (the value of ${key} is ${typeof value === 'string' ? 'empty' : `not a string: quote it`})`;
      }
    }
  }
  return formats;
}

/**
 * Build-arg values travel in the docker child's environment under the argument's own name, so a
 * name the Docker CLI itself reads would change how Docker runs.
 */
const RESERVED_BUILD_ARG = /^(PATH|HOME|DOCKER_.*|BUILDX_.*|BUILDKIT_.*|RUNWAY_.*)$/;

function parseBuildArgs(name: string, raw: string): KeyValues {
  const args = parseKeyValueList(name, raw, { secret: true });
  for (const key of Object.keys(args)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) || RESERVED_BUILD_ARG.test(key)) {
      throw new InputError(
        name,
        key,
        'build argument names made of letters, digits and _, other than PATH, HOME and DOCKER_*, BUILDX_*, BUILDKIT_*, RUNWAY_* (values are passed to Docker through the environment)',
      );
    }
  }
  return args;
}

function parseBuildSecrets(name: string, raw: string): KeyValues {
  const secrets = parseKeyValueList(name, raw, { secret: true });
  for (const id of Object.keys(secrets)) {
    if (!/^[A-Za-z0-9_.-]+$/.test(id))
      throw new InputError(name, id, 'secret ids made of letters, digits, `_`, `.` and `-` (ID=VALUE)');
  }
  return secrets;
}

/** A path Docker would read as an option when it begins with `-`. */
function notAnOption(name: string, value: string | undefined): string | undefined {
  if (value?.startsWith('-'))
    throw new InputError(
      name,
      value,
      'a value that does not begin with `-` (Docker would read it as an option)',
    );
  return value;
}

/** Inputs of a build on the runner (`context`), which a build on Google (`source`) does not take. */
const RUNNER_BUILD_ONLY = ['dockerfile', 'build_args', 'build_secrets', 'target', 'platform', 'builder'];

function repositoryInput(r: Reader, withInput: 'context' | 'source'): string {
  const repository = notAnOption('repository', r.optional('repository'));
  if (!repository || !/^[^/\s]+\/[^/\s]+\/[^/\s]+(\/[^/\s]+)*\/?$/.test(repository)) {
    throw new InputError(
      'repository',
      repository ?? '',
      `an Artifact Registry path HOST/PROJECT/REPOSITORY, e.g. \`us-central1-docker.pkg.dev/my-project/my-repo\` (required with \`${withInput}\`)`,
    );
  }
  return repository;
}

function sourceImage(r: Reader, source: string): ImageSource {
  notAnOption('source', source);
  for (const name of RUNNER_BUILD_ONLY)
    if (r.optional(name) !== undefined)
      throw new InputError(
        name,
        r.optional(name)!,
        `nothing with \`source\`: it configures the Docker build on the runner (\`context\`); a build on Google takes the Dockerfile at the root of \`source\``,
      );
  const repository = repositoryInput(r, 'source');
  const sourcePath = r.attempt(() => resolveInputPath('source', source, 'directory'));
  return {
    kind: 'source',
    source: sourcePath ?? source,
    repository,
    baseImage: notAnOption('base_image', r.optional('base_image')),
    automaticUpdates: r.map('automatic_updates', parseBool),
    build: undefined,
  };
}

/** gcloud's build flags configure a build on Google: with `source`, they go to it; else they are refused. */
function withBuildFlags(image: ImageSource, build: BuildFlags | undefined): ImageSource {
  if (!build) return image;
  if (image.kind !== 'source')
    throw new RunwayError(
      '`flags` gives gcloud build flags (--build-service-account, --build-worker-pool, the build env vars), which configure a build on Google: they apply only with the `source` input.',
      `Set \`source\` to build on Google, or remove them from \`flags\` (${image.kind === 'build' ? '`context` builds on the runner: pass build values with `build_args`' : '`image` deploys an image that is already built'}).`,
    );
  return { ...image, build };
}

function imageSource(r: Reader): ImageSource {
  const image = r.optional('image');
  const context = r.optional('context');
  const source = r.optional('source');
  const given = [
    ['image', image],
    ['context', context],
    ['source', source],
  ].filter(([, v]) => v);
  if (given.length > 1) {
    const [name, value] = given[0]!;
    throw new InputError(
      name!,
      value!,
      'one of `image` (deploy an existing image), `context` (build it on the runner) or `source` (build it on Google), not several',
    );
  }
  if (image) return { kind: 'prebuilt', ref: notAnOption('image', image)! };
  if (source) return sourceImage(r, source);
  for (const name of ['base_image', 'automatic_updates'])
    if (r.optional(name) !== undefined)
      throw new InputError(
        name,
        r.optional(name)!,
        'nothing without `source` (it sets up a buildpacks build on Google)',
      );
  if (!context)
    throw new InputError(
      'image',
      '',
      'an image reference, or `context` + `repository` to build one on the runner, or `source` + `repository` to build it on Google',
    );
  notAnOption('context', context);
  const repository = repositoryInput(r, 'context');
  const platform = r.optional('platform');
  if (platform && !/^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/.test(platform)) {
    throw new InputError('platform', platform, 'an OS/ARCH platform such as `linux/amd64`');
  }
  const contextPath = r.attempt(() => resolveInputPath('context', context, 'directory'));
  const dockerfile = r.map('dockerfile', (n, v) => resolveInputPath(n, notAnOption(n, v)!, 'file'));
  if (contextPath && !r.optional('dockerfile')) r.attempt(() => checkDefaultDockerfile(contextPath));
  return {
    kind: 'build',
    context: contextPath ?? context,
    dockerfile,
    repository,
    buildArgs: r.map('build_args', parseBuildArgs) ?? {},
    secrets: r.map('build_secrets', parseBuildSecrets) ?? {},
    target: notAnOption('target', r.optional('target')),
    platform,
    cache: r.map('cache', parseBool) ?? true,
    builder: notAnOption('builder', r.optional('builder')),
    forkCredentials: r.map('fork_build_credentials', parseBool) ?? false,
  };
}

/**
 * deploy-cloudrun users with sidecars give every image in `flags` (gcloud refuses its `--image` beside
 * --container), so without `image`/`context` the target container's `--image` is the image to
 * deploy; it then leaves the scope, so the image is resolved and verified as any other.
 */
function flagsImage(r: Reader, spec: ServiceSpec | undefined): ImageSource | undefined {
  const scope = spec?.containers?.[targetName(spec) ?? ''];
  if (!scope?.image || r.optional('image') || r.optional('context')) return undefined;
  const ref = notAnOption('flags (--image)', scope.image)!;
  delete scope.image;
  return { kind: 'prebuilt', ref };
}

/**
 * The inputs and `flags` give the target container's variables in one command (deploy-cloudrun passes
 * the inputs as flags before `flags`): a name given as a plain variable by one and a secret by the
 * other is refused, as gcloud refuses it. The target's names from `flags` are the unscoped ones and
 * its --container's. Returns the target's names, each with the input or flag that gave it.
 */
function targetEnvOrigins(
  inputs: EnvOrigins,
  fromFlags: Record<string, EnvOrigins>,
  spec: ServiceSpec,
): EnvOrigins {
  const scoped = Object.keys(fromFlags).some((name) => name !== '');
  const target = scoped ? targetName(spec) : undefined;
  const scope = target !== undefined ? fromFlags[target] : undefined;
  return joinEnvOrigins([inputs, fromFlags[''] ?? noOrigins(), ...(scope ? [scope] : [])]);
}

/** The typed inputs' service settings, and the env var names they give (for the kinds check). */
function typedSpec(r: Reader): { spec: ServiceSpec; env: EnvOrigins } {
  const spec: ServiceSpec = {};
  const env = noOrigins();
  const set = <K extends keyof ServiceSpec>(key: K, value: ServiceSpec[K] | undefined): void => {
    if (value !== undefined) spec[key] = value;
  };
  set(
    'container',
    r.map('container', (n, v) => {
      if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(v))
        throw new InputError(n, v, 'a container name: lowercase letters, digits and hyphens');
      return v;
    }),
  );
  const fileVars = r.map('env_vars_file', (_n, v) => readEnvVarsFile(v));
  const inlineVars =
    r.raw('env_vars').trim() !== ''
      ? parseKeyValueList('env_vars', r.raw('env_vars'), { secret: true })
      : undefined;
  if (fileVars) checkEnvVars('env_vars_file', fileVars);
  if (inlineVars) checkEnvVars('env_vars', inlineVars);
  if (fileVars || inlineVars) spec.envVars = { ...(fileVars ?? {}), ...(inlineVars ?? {}) };
  set('secrets', r.map('secrets', parseSecrets));
  noteEnvNames(env, 'plain', Object.keys(inlineVars ?? {}), '`env_vars`');
  noteEnvNames(env, 'plain', Object.keys(fileVars ?? {}), '`env_vars_file`');
  noteEnvNames(env, 'secret', Object.keys(spec.secrets?.env ?? {}), '`secrets`');
  set(
    'labels',
    r.map('labels', (n, v) => checkLabels(n, parseKeyValueList(n, v))),
  );
  set(
    'port',
    r.map('port', (n, v) => parseInteger(n, v, 1, 65535)),
  );
  set('cpu', r.map('cpu', parseCpu));
  set('memory', r.map('memory', parseMemory));
  set(
    'minInstances',
    r.map('min_instances', (n, v) => parseInteger(n, v, 0, 1000)),
  );
  set(
    'maxInstances',
    r.map('max_instances', (n, v) => parseInteger(n, v, 1, 1000)),
  );
  set(
    'concurrency',
    r.map('concurrency', (n, v) => parseInteger(n, v, 1, 1000)),
  );
  set('timeoutSeconds', r.map('timeout', parseDurationSeconds));
  set('runtimeServiceAccount', r.map('runtime_service_account', parseServiceAccount));
  set('allowUnauthenticated', r.map('allow_unauthenticated', parseBool));
  set(
    'ingress',
    r.map('ingress', (n, v) => parseEnum(n, v, INGRESS_VALUES)),
  );
  set('vpcConnector', r.optional('vpc_connector'));
  set(
    'vpcEgress',
    r.map('vpc_egress', (n, v) => parseEnum(n, v, VPC_EGRESS_VALUES)),
  );
  set(
    'cloudsqlInstances',
    r.map('cloudsql_instances', (_n, v) => parseList(v)),
  );
  set('cpuBoost', r.map('cpu_boost', parseBool));
  set(
    'executionEnvironment',
    r.map('execution_environment', (n, v) => parseEnum(n, v, EXECUTION_ENVIRONMENTS)),
  );
  if (spec.timeoutSeconds !== undefined && (spec.timeoutSeconds < 1 || spec.timeoutSeconds > 3600)) {
    throw new InputError('timeout', String(spec.timeoutSeconds), 'a request timeout from 1s to 60m');
  }
  // Unset, Cloud Run's default concurrency is 1 below one CPU; only an explicit one can clash.
  if (spec.cpu !== undefined && cpuBelowOne(spec.cpu) && (spec.concurrency ?? 1) > 1) {
    throw new InputError(
      'concurrency',
      String(spec.concurrency),
      `1 when \`cpu\` is below 1 (${spec.cpu}): Cloud Run serves one request at a time on a fraction of a CPU`,
    );
  }
  if (
    spec.minInstances !== undefined &&
    spec.maxInstances !== undefined &&
    spec.minInstances > spec.maxInstances
  ) {
    throw new InputError(
      'min_instances',
      String(spec.minInstances),
      `at most max_instances (${spec.maxInstances})`,
    );
  }
  return { spec, env };
}

function cpuBelowOne(cpu: string): boolean {
  return cpu.endsWith('m') ? Number(cpu.slice(0, -1)) < 1000 : Number(cpu) < 1;
}

/**
 * Google Cloud labels: keys of 1–63 lowercase letters, digits, `_` and `-`, starting with a letter;
 * values of at most 63 of the same. Cloud Run refuses anything else.
 */
function checkLabels(name: string, labels: KeyValues): KeyValues {
  for (const [key, value] of Object.entries(labels)) {
    if (!/^[a-z][a-z0-9_-]{0,62}$/.test(key))
      throw new InputError(
        name,
        key,
        'label keys of 1–63 lowercase letters, digits, `_` and `-`, starting with a letter',
      );
    if (!/^[a-z0-9_-]{0,63}$/.test(value))
      throw new InputError(
        name,
        `${key}=${value}`,
        'label values of at most 63 lowercase letters, digits, `_` and `-`',
      );
  }
  return labels;
}

function healthCheck(r: Reader): HealthCheck {
  const path = r.map('health_check_path', (n, v) => {
    if (!isProbePath(v))
      throw new InputError(
        n,
        v,
        "a path on the service itself, starting with a single `/`, e.g. `/healthz`: no scheme or host, no `//` at its start, no backslash, space or control character (the probe carries the service's ID token)",
      );
    return v;
  });
  const expectedStatus = r.map('health_check_expected_status', (n, v) => {
    const ranges = parseExpectedStatus(v);
    if (!ranges) throw new InputError(n, v, 'status codes or classes, e.g. `200`, `2xx` or `200,204`');
    return ranges;
  });
  const bodyPattern = r.map('health_check_body', (n, v) => {
    try {
      return new RegExp(v);
    } catch (err) {
      throw new InputError(n, v, `a regular expression (${(err as Error).message})`);
    }
  });
  return {
    path: path ?? '/',
    expectedStatus: expectedStatus ?? [[200, 299]],
    bodyPattern,
    timeoutSeconds: r.map('health_check_timeout', parseDurationSeconds) ?? 120,
    successes: r.map('health_check_successes', (n, v) => parseInteger(n, v, 1, 100)) ?? 3,
    intervalMs: r.map('health_check_interval', (n, v) => parseIntervalMs(n, v, 100, 60_000)) ?? 500,
  };
}

/** `traffic_steps`: the candidate's share moves through these percentages, each held and measured. */
export interface ProgressiveSettings {
  /** Ascending percentages, the last 100. */
  steps: number[];
  /** How long each step is held while Runway's probes measure the new revision. */
  waitSeconds: number;
  /** The largest share of failed probes a step may have, in percent (0: none may fail). */
  maxErrorRate: number;
  /** The largest p95 probe latency a step may have; undefined: latency is not a gate. */
  maxLatencyMs: number | undefined;
  /** `gate_url`: asked before each step, signed like the post-deploy webhooks; must answer 2xx. */
  gate: { url: string; secret: string | undefined; token: string | undefined } | undefined;
}

function parsePercentList(name: string, raw: string): number[] {
  const steps = parseList(raw).map((p) => parseInteger(name, p.replace(/%$/, ''), 1, 100));
  const ascending = steps.every((p, i) => i === 0 || p > steps[i - 1]!);
  if (!steps.length || !ascending || steps[steps.length - 1] !== 100)
    throw new InputError(name, raw, 'ascending percentages ending at 100, e.g. `5,25,50,100`');
  return steps;
}

/** "250ms", "2s" or a bare number of milliseconds. */
function parseMilliseconds(name: string, raw: string): number {
  const m = /^(\d+)\s*(ms|s)?$/.exec(raw.trim());
  if (!m || Number(m[1]) === 0) throw new InputError(name, raw, 'a latency such as `250ms` or `2s`');
  return m[2] === 's' ? Number(m[1]) * 1000 : Number(m[1]);
}

function progressive(r: Reader, traffic: TrafficMode, purpose: Purpose): ProgressiveSettings | undefined {
  if (r.optional('traffic_steps') === undefined) {
    for (const name of ['step_wait', 'max_error_rate', 'max_latency', 'gate_url']) {
      const value = r.optional(name);
      if (value === undefined) continue;
      if (name === 'gate_url') maskUrls(value);
      r.attempt(() => {
        throw new InputError(name, value, 'nothing without `traffic_steps`', { secret: name === 'gate_url' });
      });
    }
    return undefined;
  }
  const steps = r.map('traffic_steps', parsePercentList);
  if (!steps) return undefined;
  const conflict =
    traffic !== 'verified'
      ? ['traffic', traffic]
      : purpose === 'preview'
        ? ['preview', 'true']
        : (['revision_traffic', 'tag_traffic'].map((n) => [n, r.optional(n)]).find(([, v]) => v) ??
          undefined);
  if (conflict) {
    throw new InputError(
      'traffic_steps',
      r.raw('traffic_steps'),
      `steps of a verified deploy of all traffic to the new revision, not beside \`${conflict[0]}: ${conflict[1]}\``,
    );
  }
  const maxErrorRate = r.map('max_error_rate', (n, v) => {
    const value = Number(v.trim().replace(/%$/, ''));
    if (!/^\d+(\.\d+)?%?$/.test(v.trim()) || value > 100)
      throw new InputError(n, v, 'a percentage of failed probe requests from 0 to 100, e.g. `1` or `0.5%`');
    return value;
  });
  const gateUrl = r.map('gate_url', (n, v) => {
    maskUrls(v);
    if (!isAllowedWebhookUrl(v))
      throw new InputError(n, v, 'an https:// URL without credentials in it (http:// only on loopback)', {
        secret: true,
      });
    return v;
  });
  return {
    steps,
    waitSeconds: r.map('step_wait', parseDurationSeconds) ?? 30,
    maxErrorRate: maxErrorRate ?? 0,
    maxLatencyMs: r.map('max_latency', parseMilliseconds),
    gate: gateUrl
      ? { url: gateUrl, secret: r.optional('webhook_secret'), token: r.optional('webhook_token') }
      : undefined,
  };
}

/**
 * `update_traffic_flags` folded into the split and tag changes, or undefined when not given. It
 * moves traffic after the verified deploy, as deploy-cloudrun's `update-traffic` runs after its
 * deploy; a deploy that keeps its traffic (`no_traffic`) or sends it at once (`immediate`) has no
 * such move here, so the two are refused together rather than one silently ignored.
 */
function trafficFlags(
  r: Reader,
  purpose: Purpose,
  traffic: TrafficMode,
  parsed: TrafficFlags | undefined,
  revisionTraffic: Record<string, number> | undefined,
  tagTraffic: Record<string, number> | undefined,
  serviceLength: number,
): ReturnType<typeof foldTrafficFlags> | undefined {
  // Bad flags, or a bad split input, have their own error; nothing is folded into what is not there.
  if (!parsed) return undefined;
  if (purpose === 'cleanup')
    throw new InputError(
      'update_traffic_flags',
      r.optional('update_traffic_flags') ?? '',
      'nothing with `cleanup: true`: a cleanup removes a preview and moves no traffic',
    );
  if ((r.optional('revision_traffic') && !revisionTraffic) || (r.optional('tag_traffic') && !tagTraffic))
    return undefined;
  if (traffic !== 'verified') {
    const input = r.optional('no_traffic') !== undefined && traffic === 'none' ? 'no_traffic' : 'traffic';
    throw new RunwayError(
      `Inputs 'update_traffic_flags' and '${input}' (${input === 'no_traffic' ? 'true' : traffic}) were both given: Runway applies \`update_traffic_flags\` when it moves the traffic after the verified deploy, and ${traffic === 'none' ? 'a no-traffic deploy moves none' : '`traffic: immediate` moves it in the deploy itself'}.`,
      `Remove \`${input}\` (the flags' split then moves after the health checks), or remove \`update_traffic_flags\`.`,
    );
  }
  const folded = foldTrafficFlags(parsed, revisionTraffic, tagTraffic);
  for (const tag of Object.keys(folded.tags?.update ?? {}))
    if (tag.length + serviceLength > MAX_TAG_AND_SERVICE)
      throw new InputError(
        'update_traffic_flags',
        tag,
        `tags of at most ${MAX_TAG_AND_SERVICE - serviceLength} characters beside this service's name (Cloud Run allows ${MAX_TAG_AND_SERVICE} for both)`,
      );
  return folded;
}

/**
 * A `metadata` file's spec.traffic (a split, or tags) as Runway moves traffic: the split of
 * `revision_traffic` and the tags of `update_traffic_flags: --set-tags`, moved after the verified
 * deploy, LATEST being the new revision by name. Tags the file leaves out go, as `gcloud run services
 * replace` drops them; the `tag` input, on top of the file, stays on the new revision. An input that
 * also says where the traffic goes is refused beside it.
 */
function fileTraffic(
  r: Reader,
  file: ServiceYaml,
  split: FileTraffic,
  traffic: TrafficMode,
  tag: string | undefined,
  serviceLength: number,
): ReturnType<typeof foldTrafficFlags> {
  const where = `Input 'metadata' (${JSON.stringify(file.path)}): spec.traffic`;
  const other =
    ['revision_traffic', 'tag_traffic', 'update_traffic_flags', 'traffic_steps'].find((n) => r.optional(n)) ??
    (traffic === 'verified' ? undefined : r.optional('no_traffic') !== undefined ? 'no_traffic' : 'traffic');
  if (other)
    throw new RunwayError(
      `${where} and '${other}' both say where the traffic goes: the file's split and tags move it after the verified deploy${other === 'no_traffic' || other === 'traffic' ? `, and \`${other}\` asks for ${traffic === 'none' ? 'none to move' : 'all of it at once'}` : ''}.`,
      `Keep one: remove spec.traffic from the file (\`${other}\` then decides), or remove \`${other}\`.`,
    );
  const update = { ...split.tags };
  if (tag !== undefined) {
    const named = update[tag];
    if (named !== undefined && named !== 'LATEST')
      throw new RunwayError(
        `${where} gives the tag ${tag} to ${named}, and input 'tag' gives it to the new revision.`,
        'Use another `tag`, or give the tag to `latestRevision: true` in the file.',
      );
    update[tag] = 'LATEST';
  }
  for (const name of Object.keys(update))
    if (name.length + serviceLength > MAX_TAG_AND_SERVICE)
      throw new RunwayError(
        `${where} gives the tag ${name}, longer than this service's name leaves room for (Cloud Run allows ${MAX_TAG_AND_SERVICE} characters for a tag and the service name together).`,
        `Use tags of at most ${MAX_TAG_AND_SERVICE - serviceLength} characters.`,
      );
  return {
    revisionTraffic: split.split,
    tagTraffic: undefined,
    tags: { clear: true, update, remove: [] },
  };
}

function trafficMode(r: Reader): TrafficMode {
  const mode = r.map('traffic', (n, v) => parseEnum(n, v, ['verified', 'immediate', 'none'] as const));
  const noTraffic = r.map('no_traffic', parseBool);
  if (noTraffic && mode && mode !== 'none') {
    throw new InputError(
      r.label('no_traffic'),
      'true',
      `\`no_traffic: true\` or \`traffic: ${mode}\`, not both`,
    );
  }
  return noTraffic ? 'none' : (mode ?? 'verified');
}

function reportSettings(r: Reader, service: string): ReportSettings {
  const githubToken = r.optional('github_token');
  if (githubToken) setSecret(githubToken);
  const statusContext = r.optional('status_context') ?? `runway/${service}`;
  if (statusContext.length > 255)
    throw new InputError(
      'status_context',
      statusContext,
      'a commit status context of at most 255 characters',
    );
  const environment = r.optional('deployment_environment');
  if (environment && (environment.length > 255 || [...environment].some((c) => c < ' ')))
    throw new InputError(
      'deployment_environment',
      environment,
      'an environment name of at most 255 characters',
    );
  return {
    comment: r.map('comment', (n, v) => parseEnum(n, v, ['auto', 'always', 'never'] as const)) ?? 'auto',
    githubToken,
    deploymentEnvironment: environment,
    productionEnvironment: r.map('production_environment', parseBool),
    statusContext,
    webhook: webhookSettings(r),
  };
}

/**
 * Masks a webhook input the moment it is read: whole, and each URL on its own, since chat webhooks
 * (Slack, Discord) carry their secret in the path and GitHub masks a multi-URL secret only whole.
 * The log shows a receiver by its scheme and host alone (webhooks.ts).
 */
function maskUrls(raw: string): string[] {
  setSecret(raw);
  const urls = parseList(raw);
  for (const url of urls) {
    setSecret(url);
    const query = URL.canParse(url) ? new URL(url).search.slice(1) : '';
    if (query) setSecret(query);
  }
  return urls;
}

function webhookSettings(r: Reader): WebhookSettings | undefined {
  const secret = r.optional('webhook_secret');
  const token = r.optional('webhook_token');
  if (secret) setSecret(secret);
  if (token) setSecret(token);
  const urls = r.map('webhook_url', (_n, v) => maskUrls(v)) ?? [];
  for (const url of urls) {
    r.attempt(() => {
      if (!isAllowedWebhookUrl(url))
        throw new InputError(
          'webhook_url',
          url,
          'https:// URLs without credentials in them (http:// only on loopback, for local receivers)',
          { secret: true },
        );
    });
  }
  const on = r.map('webhook_on', (n, v) => parseEnum(n, v, ['success', 'failure', 'always'] as const));
  const failure = r.map('webhook_failure', (n, v) => parseEnum(n, v, ['warn', 'fail'] as const));
  if (!urls.length) {
    if ((secret || token) && !r.optional('gate_url'))
      throw new InputError(
        'webhook_url',
        '',
        'a receiver URL (or `gate_url`) when `webhook_secret` or `webhook_token` is set',
      );
    return undefined;
  }
  return { urls, secret, token, on: on ?? 'success', failure: failure ?? 'warn' };
}

/** `preview` and `cleanup`, checked against the inputs a preview decides for itself. */
function purposeOf(r: Reader): Purpose {
  const preview = r.map('preview', parseBool) ?? false;
  const cleanup = r.map('cleanup', parseBool) ?? false;
  if (preview && cleanup)
    throw new InputError('cleanup', 'true', '`preview: true` or `cleanup: true`, not both in one step');
  if (!preview) return cleanup ? 'cleanup' : 'deploy';
  for (const name of ['tag', 'revision_traffic', 'tag_traffic', 'update_traffic_flags']) {
    const value = r.optional(name);
    if (value !== undefined)
      throw new InputError(
        name,
        value,
        'nothing with `preview: true`: a preview takes no traffic and is tagged `pr-NUMBER`',
      );
  }
  if (r.optional('traffic') === 'immediate')
    throw new InputError(
      'traffic',
      'immediate',
      '`verified` or `none` with `preview: true`: a preview takes no traffic',
    );
  return 'preview';
}

const JOB_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Service inputs that mean nothing to a job, with action.yml's default (a value equal to it was not
 * given). deploy-cloudrun passes none of them to `gcloud run jobs deploy` and says nothing; Runway
 * refuses them, so a setting never silently does nothing.
 */
const SERVICE_ONLY_INPUTS: Record<string, string | undefined> = {
  suffix: undefined,
  tag: undefined,
  traffic: 'verified',
  no_traffic: 'false',
  revision_traffic: undefined,
  tag_traffic: undefined,
  update_traffic_flags: undefined,
  traffic_steps: undefined,
  preview: 'false',
  cleanup: 'false',
  keep_revisions: undefined,
  port: undefined,
  min_instances: undefined,
  max_instances: undefined,
  concurrency: undefined,
  timeout: undefined,
  allow_unauthenticated: undefined,
  ingress: undefined,
  cpu_boost: undefined,
  health_check_path: '/',
  health_check_expected_status: '2xx',
  health_check_body: undefined,
};

/** Job inputs that mean nothing to a service (`wait` is not one: deploy-cloudrun ignores it there). */
const JOB_ONLY_INPUTS = ['execute', 'tasks', 'parallelism', 'max_retries', 'task_timeout'];

function jobName(r: Reader): string | undefined {
  const name = r.optional('job');
  if (name === undefined) return undefined;
  if (!JOB_NAME.test(name))
    throw new InputError(
      'job',
      name,
      'a Cloud Run job name: lowercase letters, digits and hyphens, starting with a letter, at most 63 characters',
    );
  const service = r.optional('service');
  if (service !== undefined)
    throw new InputError('service', service, 'nothing beside `job`: a step deploys a service or a job');
  return name;
}

function checkJobOnly(r: Reader, job: boolean): void {
  if (job) {
    for (const [name, fallback] of Object.entries(SERVICE_ONLY_INPUTS)) {
      const value = r.optional(name);
      if (value !== undefined && value !== fallback)
        r.attempt(() => {
          throw new InputError(
            name,
            value,
            name === 'timeout'
              ? "nothing beside `job` (a task's time limit is `task_timeout`)"
              : 'nothing beside `job`: it is a service setting',
          );
        });
    }
    return;
  }
  // deploy-cloudrun ignores `wait` for a service; a bad value is still reported.
  r.map('wait', parseBool);
  for (const name of JOB_ONLY_INPUTS) {
    const value = r.optional(name);
    if (value !== undefined)
      r.attempt(() => {
        throw new InputError(name, value, 'nothing without `job`: it is a Cloud Run job setting');
      });
  }
}

/** The typed job inputs; `flags` may give the same settings as gcloud flags. */
function typedJobFlags(r: Reader): JobFlags {
  const flags: JobFlags = {};
  const set = <K extends keyof JobFlags>(key: K, value: JobFlags[K] | undefined): void => {
    if (value !== undefined) flags[key] = value;
  };
  set(
    'tasks',
    r.map('tasks', (n, v) => parseInteger(n, v, 1, 10000)),
  );
  set(
    'parallelism',
    r.map('parallelism', (n, v) => parseInteger(n, v, 0, 10000)),
  );
  set(
    'maxRetries',
    r.map('max_retries', (n, v) => parseInteger(n, v, 0, 10)),
  );
  set('taskTimeoutSeconds', r.map('task_timeout', parseDurationSeconds));
  set('executeNow', r.map('execute', parseBool));
  set('wait', r.map('wait', parseBool));
  return flags;
}

function jobSettings(name: string, flags: JobFlags, file: JobYaml | undefined): JobSettings {
  const { executeNow, wait, ...spec } = flags;
  if (
    spec.taskTimeoutSeconds !== undefined &&
    (spec.taskTimeoutSeconds < 1 || spec.taskTimeoutSeconds > 7 * 86400)
  )
    throw new InputError('task_timeout', `${spec.taskTimeoutSeconds}s`, 'a task time limit from 1s to 168h');
  // gcloud: --wait executes the job (it implies --execute-now).
  return { name, spec, execute: wait ? 'wait' : executeNow ? 'start' : 'none', file };
}

function releaseSettings(r: Reader, job: boolean, purpose: Purpose | undefined): ReleaseSettings | undefined {
  const command = r.optional('release_command');
  if (command === undefined) {
    for (const name of ['release_args', 'release_timeout']) {
      const value = r.optional(name);
      if (value !== undefined)
        r.attempt(() => {
          throw new InputError(name, value, 'nothing without `release_command`');
        });
    }
    return undefined;
  }
  if (job)
    throw new InputError(
      'release_command',
      command,
      'nothing beside `job`: a release runs before a service deploy',
    );
  if (purpose !== undefined && purpose !== 'deploy')
    throw new InputError(
      'release_command',
      command,
      `nothing with \`${purpose}: true\`: a release command (a migration) runs before a deploy of production, never for a pull request's preview`,
    );
  const timeoutSeconds = r.map('release_timeout', parseDurationSeconds) ?? 600;
  if (timeoutSeconds < 1 || timeoutSeconds > 7 * 86400)
    throw new InputError('release_timeout', `${timeoutSeconds}s`, 'a time limit from 1s to 168h');
  return {
    command: commandWords('release_command', command),
    args: r.map('release_args', commandWords),
    timeoutSeconds,
  };
}

/**
 * deploy-cloudrun inputs Runway has no equivalent for. GitHub passes them on (with an "Unexpected
 * input" warning), so a user switching `uses:` would otherwise deploy something else than they
 * asked, silently. `undefined` means harmless to ignore: Runway does that on its own.
 */
export const DEPLOY_CLOUDRUN_ONLY: Record<string, string | undefined> = {
  gcloud_version: undefined,
  gcloud_component: undefined,
};

function refuseDeployCloudrunOnly(r: Reader): void {
  for (const [name, fix] of Object.entries(DEPLOY_CLOUDRUN_ONLY)) {
    const value = r.optional(name);
    if (value !== undefined && fix !== undefined) {
      throw new RunwayError(
        `Input '${name}' is deploy-cloudrun's; Runway does not support it. Nothing was changed.`,
        fix,
      );
    }
  }
}

/**
 * Without `image`, `context`, `source` or an image in `flags`, the `metadata` file's own image: the
 * one of the container the deploy targets (`container`, else the one that takes requests).
 */
function fileImage(
  r: Reader,
  file: ServiceYaml | JobYaml | undefined,
  spec: ServiceSpec | undefined,
): ImageSource | undefined {
  if (!file || ['image', 'context', 'source'].some((name) => r.optional(name) !== undefined))
    return undefined;
  // A job deploy changes its first container (job-plan.ts): the file's is the image it keeps.
  if (file.kind === 'Job') {
    const first = file.job.template.template.containers?.[0];
    return first ? { kind: 'prebuilt', ref: notAnOption('image', first.image)! } : undefined;
  }
  const containers = file.service.template.containers ?? [];
  const named = spec?.container ? containers.find((c) => c.name === spec.container) : undefined;
  const target = named ?? containers.find((c) => c.ports?.length) ?? containers[0];
  return target ? { kind: 'prebuilt', ref: notAnOption('image', target.image)! } : undefined;
}

/** The revision name a `metadata` file gives its template, as the `suffix` after the service's name. */
function fileSuffix(file: ServiceYaml, given: string | undefined): string | undefined {
  // A name that is no service name is reported as such (with `service`), not here.
  if (!file.revision || !SERVICE_NAME.test(file.name)) return given;
  const prefix = `${file.name}-`;
  const fromFile = file.revision.slice(prefix.length);
  if (!file.revision.startsWith(prefix) || !SUFFIX.test(fromFile) || file.revision.length > 63)
    throw new ServiceYamlError(
      file.path,
      'spec.template.metadata.name',
      `not a revision name of ${file.name}.`,
      `the service's name, a hyphen and a suffix of lowercase letters, digits and hyphens (\`${prefix}v2\`), at most 63 characters; or no name`,
    );
  if (given !== undefined && given !== fromFile)
    throw new InputError(
      'suffix',
      given,
      `the suffix the \`metadata\` file's revision name has (${fromFile}), or no \`suffix\``,
    );
  return fromFile;
}

/** What a `metadata` file says of where it goes, against `region` and `project_id`. */
function checkFilePlace(
  file: MetadataFile,
  regions: string[] | undefined,
  projectId: string | undefined,
): void {
  const noun = FILE_KINDS[file.kind].noun;
  if (file.location !== undefined && !REGION.test(file.location))
    throw new ServiceYamlError(
      file.path,
      'metadata.labels["cloud.googleapis.com/location"]',
      `${JSON.stringify(file.location)} is not a Cloud Run region.`,
      'a region such as `us-central1`, or no label',
    );
  if (file.location && regions && (regions.length !== 1 || regions[0] !== file.location))
    throw new ServiceYamlError(
      file.path,
      'metadata.labels["cloud.googleapis.com/location"]',
      `the file is a ${noun} of ${file.location}, and \`region\` is ${regions.join(', ')}.`,
      `\`region: ${file.location}\`, or the file without the label to deploy it to \`region\``,
    );
  const namespace = file.namespace;
  if (namespace && projectId && !/^\d+$/.test(namespace) && namespace !== projectId)
    throw new ServiceYamlError(
      file.path,
      'metadata.namespace',
      `the file is a ${noun} of project ${JSON.stringify(namespace)}, and \`project_id\` is ${projectId}.`,
      `the project ID or number the ${noun} is deployed to, or no namespace`,
    );
}

/**
 * `metadata` with the inputs that decide what a run deploys otherwise. A file names what it
 * deploys: `service` (for a Job file too, as deploy-cloudrun compares it) or `job` may repeat its
 * name, nothing else; a Service file is no job, nor a Job file a service.
 */
function checkFileBeside(r: Reader, file: ServiceYaml | JobYaml): true {
  const metadata = r.optional('metadata')!;
  const noun = FILE_KINDS[file.kind].noun;
  for (const name of ['preview', 'cleanup'])
    if (r.optional(name)?.toLowerCase() === 'true')
      throw new InputError(
        'metadata',
        metadata,
        `nothing with \`${name}: true\`: a preview changes one revision, and a file replaces the whole ${noun}`,
      );
  const job = r.optional('job');
  if (file.kind === 'Service' && job !== undefined)
    throw new InputError(
      'job',
      job,
      'nothing beside a Service file in `metadata`: a job is deployed from a Job file (`kind: Job`) or from inputs',
    );
  for (const name of file.kind === 'Job' ? ['job', 'service'] : ['service']) {
    const value = r.optional(name);
    if (value !== undefined && value !== file.name)
      throw new InputError(
        name,
        value,
        `the ${noun} the \`metadata\` file names (${JSON.stringify(file.name)}), or no \`${name}\`: the file names the ${noun}`,
      );
  }
  return true;
}

/** A Job file's name, as `job` would be checked. */
function fileJobName(file: JobYaml): string {
  if (!JOB_NAME.test(file.name))
    throw new ServiceYamlError(
      file.path,
      'metadata.name',
      'not a Cloud Run job name.',
      'lowercase letters, digits and hyphens, starting with a letter, at most 63 characters',
    );
  return file.name;
}

export function readSettings(read: InputReader): Settings {
  const r = new Reader(read);
  r.attempt(() => refuseDeployCloudrunOnly(r));
  const fromFile = r.optional('metadata') !== undefined;
  const file = r.map('metadata', (_n, v) => readMetadataFile(v));
  const fileBeside = file && r.attempt(() => checkFileBeside(r, file));
  const serviceYaml = file?.kind === 'Service' ? file : undefined;
  const jobYaml = file?.kind === 'Job' ? file : undefined;
  // A Job file names the job, as `job` would; `service` beside it was checked against the file.
  const job = fromFile
    ? jobYaml && fileBeside !== undefined
      ? r.attempt(() => fileJobName(jobYaml))
      : undefined
    : r.attempt(() => jobName(r));
  const jobTarget = fromFile ? jobYaml !== undefined : r.optional('job') !== undefined;
  checkJobOnly(r, job !== undefined || jobTarget);
  const flagsRaw = r.optional('flags');
  const flagsRead = r.attempt(() =>
    flagsRaw ? parseFlagsWithOrigins(flagsRaw, jobTarget ? 'job' : 'service') : undefined,
  );
  const fromFlags = flagsRead ? splitJobFlags(flagsRead.flags) : undefined;
  const deployFlags = fromFlags?.deploy ?? {};
  r.supply('image', '--image', deployFlags.image);
  r.supply('tag', '--tag', deployFlags.tag);
  r.supply('suffix', '--revision-suffix', deployFlags.suffix);
  r.supply('no_traffic', '--no-traffic', deployFlags.noTraffic ? 'true' : undefined);
  r.supply('region', '--region', deployFlags.region, 'us-central1');
  r.supply('project_id', '--project', deployFlags.project);
  const service = r.attempt(() => {
    if (job !== undefined) return job;
    if (jobTarget) return undefined;
    const value = r.optional('service');
    if (fromFile) {
      // checkFileBeside said what is wrong with `service` beside the file.
      if (!serviceYaml || fileBeside === undefined) return undefined;
      if (!SERVICE_NAME.test(serviceYaml.name))
        throw new ServiceYamlError(
          serviceYaml.path,
          'metadata.name',
          'not a Cloud Run service name.',
          'lowercase letters, digits and hyphens, starting with a letter, at most 49 characters',
        );
      return serviceYaml.name;
    }
    if (!value || !SERVICE_NAME.test(value))
      throw new InputError(
        'service',
        value ?? '',
        'a Cloud Run service name: lowercase letters, digits and hyphens, starting with a letter, at most 49 characters',
      );
    return value;
  });
  const projectId = r.map('project_id', (n, v) => {
    if (!PROJECT_ID.test(v))
      throw new InputError(n, v, 'a Google Cloud project ID (6–30 lowercase letters, digits, hyphens)');
    return v;
  });
  const workloadIdentityProvider = r.map('workload_identity_provider', (n, v) => {
    if (!WIF_PROVIDER.test(v))
      throw new InputError(
        n,
        v,
        "the provider's full resource name: projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER",
      );
    return v;
  });
  const serviceAccount = r.map('service_account', parseServiceAccount);
  if (serviceAccount && !r.optional('workload_identity_provider')) {
    r.attempt(() => {
      throw new InputError(
        'workload_identity_provider',
        '',
        'a Workload Identity provider when `service_account` is set (Runway impersonates the account through it)',
      );
    });
  }
  // The length limits count the service's name; without a valid one only the form is checked.
  const serviceLength = service?.length ?? 1;
  const suffixInput = r.map('suffix', (n, v) => {
    if (!SUFFIX.test(v) || v.length + serviceLength + 1 > 63)
      throw new InputError(
        n,
        v,
        'lowercase letters, digits and hyphens; service name + suffix at most 62 characters',
      );
    return v;
  });
  const suffix = serviceYaml ? r.attempt(() => fileSuffix(serviceYaml, suffixInput)) : suffixInput;
  const tag = r.map('tag', (n, v) => {
    if (!TAG.test(v) || v.length + serviceLength > MAX_TAG_AND_SERVICE)
      throw new InputError(
        n,
        v,
        `lowercase letters, digits and hyphens, starting with a letter; tag + service name at most ${MAX_TAG_AND_SERVICE} characters (here at most ${MAX_TAG_AND_SERVICE - serviceLength})`,
      );
    return v;
  });
  const strategies = {
    env:
      r.map('env_vars_update_strategy', (n, v) => parseEnum(n, v, ['merge', 'overwrite'] as const)) ??
      'merge',
    secrets:
      r.map('secrets_update_strategy', (n, v) => parseEnum(n, v, ['merge', 'overwrite'] as const)) ?? 'merge',
  };
  let targetEnv: EnvOrigins | undefined;
  const spec = r.attempt(() => {
    const { spec: inputs, env } = typedSpec(r);
    const joined = fromFlags ? joinEnvAndSecrets(inputs, fromFlags.spec, strategies) : undefined;
    const merged = joined ? mergeSpecs(joined.typed, joined.fromFlags, SPEC_INPUT_NAMES) : inputs;
    targetEnv = targetEnvOrigins(env, flagsRead?.env ?? {}, merged);
    checkGpuInputs(merged);
    return merged;
  });
  const jobFlags = jobTarget
    ? r.attempt(() => mergeSpecs(typedJobFlags(r), fromFlags?.job ?? {}, JOB_INPUT_NAMES))
    : undefined;
  const jobResult =
    job !== undefined && jobFlags ? r.attempt(() => jobSettings(job, jobFlags, jobYaml)) : undefined;
  const trafficFlagsRead = jobTarget
    ? undefined
    : r.map('update_traffic_flags', (_n, v) => parseTrafficFlags(v));
  // With --to-revisions (--to-tags) in update_traffic_flags, the split input is only part of the split.
  const partial = trafficFlagsRead?.toRevisions !== undefined || trafficFlagsRead?.toTags !== undefined;
  const revisionTraffic = r.map('revision_traffic', (n, v) => parseTrafficSplit(n, v, partial));
  const tagTraffic = r.map('tag_traffic', (n, v) => parseTrafficSplit(n, v, partial));
  if (revisionTraffic && tagTraffic) {
    r.attempt(() => {
      throw new RunwayError(
        'Inputs `revision_traffic` and `tag_traffic` were both given.',
        'Give one of them.',
      );
    });
  }
  // Without a purpose, whether an image is needed is unknown: only the purpose's error is reported.
  const purpose = jobTarget ? 'deploy' : r.attempt(() => purposeOf(r));
  const traffic = r.attempt(() => trafficMode(r)) ?? 'verified';
  // deploy-cloudrun runs update-traffic after a --no-traffic deploy; Runway's no-traffic deploy moves
  // none, so the split would be silently dropped.
  if (traffic === 'none' && (revisionTraffic || tagTraffic)) {
    const split = revisionTraffic ? 'revision_traffic' : 'tag_traffic';
    r.attempt(() => {
      throw new RunwayError(
        `Inputs '${r.optional('no_traffic') !== undefined ? r.label('no_traffic') : 'traffic'}' (no traffic) and '${split}' were both given: a deploy without traffic moves none.`,
        `Remove \`no_traffic\` (or \`traffic: none\`): with \`${split}\` alone, Runway checks the new revision on its tag URL and then moves the traffic to the split.`,
      );
    });
  }
  // A job or a preview has refused the input already (checkJobOnly, purposeOf).
  const folded =
    jobTarget || (purpose !== 'deploy' && purpose !== 'cleanup')
      ? undefined
      : r.attempt(() =>
          serviceYaml?.traffic
            ? fileTraffic(r, serviceYaml, serviceYaml.traffic, traffic, tag, service?.length ?? 1)
            : trafficFlags(
                r,
                purpose,
                traffic,
                trafficFlagsRead,
                revisionTraffic,
                tagTraffic,
                service?.length ?? 1,
              ),
        );
  const regions = r.attempt(() => parseRegions(r.raw('region')));
  if (file) r.attempt(() => checkFilePlace(file, regions, projectId));
  const image =
    purpose === undefined || purpose === 'cleanup'
      ? undefined
      : r.attempt(() =>
          withBuildFlags(flagsImage(r, spec) ?? fileImage(r, file, spec) ?? imageSource(r), fromFlags?.build),
        );
  const release = r.attempt(() => releaseSettings(r, jobTarget, purpose));
  const progressiveSettings = r.attempt(() => progressive(r, traffic, purpose ?? 'deploy'));
  const health = r.attempt(() => healthCheck(r));
  const report = r.attempt(() => reportSettings(r, service ?? ''));
  const settings = {
    regionsFail: r.map('regions_fail', (n, v) => parseEnum(n, v, ['all', 'region'] as const)) ?? 'all',
    deployTimeoutSeconds: r.map('deploy_timeout', parseDurationSeconds) ?? 600,
    envVarsUpdateStrategy: strategies.env,
    secretsUpdateStrategy: strategies.secrets,
    skipDefaultLabels: r.map('skip_default_labels', parseBool) ?? false,
    rollback: r.map('rollback', parseBool) ?? true,
    keepRevisions: r.map('keep_revisions', (n, v) => parseInteger(n, v, 0, 1000)),
    keepRevisionsGraceSeconds: r.map('keep_revisions_grace', parseDurationSeconds) ?? 900,
    logLines: r.map('log_lines', (n, v) => parseInteger(n, v, 0, 1000)) ?? 50,
    previewServiceAccount: r.map('preview_service_account', parseServiceAccount),
    previewSecrets: r.map('preview_secrets', parseSecrets),
    isolated: false,
  } as const;
  // A fork's run gets `preview_secrets` in place of `secrets`, beside the same plain variables.
  const plainEnv = targetEnv?.plain;
  const previewEnv = settings.previewSecrets?.env;
  if (plainEnv && previewEnv)
    r.attempt(() => {
      const preview = noOrigins();
      noteEnvNames(preview, 'secret', Object.keys(previewEnv), '`preview_secrets`');
      joinEnvOrigins([{ plain: plainEnv, secret: {} }, preview]);
    });
  r.throwProblems();
  // With no problem recorded, every attempt above returned its value.
  return {
    ...settings,
    service: service!,
    job: jobResult,
    release,
    regions: regions!,
    projectId,
    suffix,
    workloadIdentityProvider,
    serviceAccount,
    audience: r.optional('audience'),
    purpose: purpose!,
    image,
    spec: spec!,
    serviceYaml,
    traffic,
    progressive: progressiveSettings,
    tag,
    revisionTraffic: folded?.revisionTraffic ?? revisionTraffic,
    tagTraffic: folded?.tagTraffic ?? tagTraffic,
    trafficTags: folded?.tags,
    healthCheck: health!,
    report: report!,
  };
}
