// Planning the new service spec: a pure function of the settings and the live service (if any).
// Unset settings leave the live service alone; the result is what Runway sends to Cloud Run.
import { createHash } from 'node:crypto';
import { RunwayError } from '../errors.js';
import type {
  BuildConfig,
  Container,
  EnvVar,
  RevisionTemplate,
  Service,
  TrafficTarget,
  Volume,
  VolumeMount,
  VpcAccess,
} from '../gcp/run-types.js';
import type { KeyValues } from '../inputs/kv.js';
import type { ContainerSpec, SecretRef, ServiceSpec } from '../inputs/spec.js';
import type { ResolvedBuild } from '../inputs/build-flags.js';
import { planGpu } from './gpu.js';
import { checkVpcAccess, clearVpcConnector, planDirectVpc } from './network.js';
import { addVolumes, removeVolumes } from './volumes.js';
import { RECORD_KEY_PREFIX } from './rollout-record.js';
import { applyContainerFlags, layoutContainers, targetSpec, withoutSecretFiles } from './containers.js';
import { applyServiceFlags, applyTemplateFlags, changeList, withoutRemovedLabels } from './service-flags.js';

export interface ServiceChanges {
  project: string;
  region: string;
  service: string;
  /** The image to run, by digest. */
  image: string;
  /** The new revision's name; '' lets Cloud Run choose one. */
  revisionName: string;
  spec: ServiceSpec;
  envVarsUpdateStrategy: 'merge' | 'overwrite';
  secretsUpdateStrategy: 'merge' | 'overwrite';
  /** Labels to set on the service and the revision (defaults already merged in). */
  labels: KeyValues;
  /** The traffic split to ask for; undefined keeps the live one (100% latest for a new service). */
  traffic: TrafficTarget[] | undefined;
  /**
   * A preview changes only its own revision: the service's labels and ingress stay as production
   * has them (they are service-wide, so a pull request's values would apply to production).
   */
  revisionOnly?: boolean;
  /**
   * The template to start from instead of the service's: the serving revision's, when the service's
   * template is a revision that serves nothing (a preview, or a deploy that was rolled back), so its
   * settings never carry into production.
   */
  baseTemplate?: RevisionTemplate | undefined;
  /**
   * The `metadata` input's service, whole: the deploy starts from it instead of the live service,
   * which it replaces (as `gcloud run services replace`); the settings still apply on top of it.
   */
  replace?: Service | undefined;
  /**
   * Fork code: the revision starts from a template without the live service's secrets (every
   * container's), so it gets only those `spec.secrets` names, and must not run as production does.
   */
  isolated?: boolean;
  /**
   * A build on Google (`source`): the account, worker pool and environment it ran with, recorded on
   * the service (v2's buildConfig; gcloud's build-* annotations) so the next deploy keeps them.
   */
  build?: ResolvedBuild | undefined;
}

/** What a container's planning needs: the image and the shared settings (a service's or a job's). */
export type ContainerChanges = Pick<
  ServiceChanges,
  'project' | 'region' | 'image' | 'spec' | 'envVarsUpdateStrategy' | 'secretsUpdateStrategy'
>;

/** A template with no secret in it: no secret env var in any container, no secret volume or its mounts. */
export function withoutSecrets(template: RevisionTemplate): RevisionTemplate {
  const secretVolumes = new Set((template.volumes ?? []).filter((v) => v.secret).map((v) => v.name));
  const copy: RevisionTemplate = { ...template };
  if (template.containers) {
    copy.containers = template.containers.map((c) => {
      const container: Container = { ...c };
      if (c.env) container.env = c.env.filter((e) => !e.valueSource?.secretKeyRef);
      if (c.volumeMounts) container.volumeMounts = c.volumeMounts.filter((m) => !secretVolumes.has(m.name));
      return container;
    });
  }
  if (template.volumes) copy.volumes = template.volumes.filter((v) => !secretVolumes.has(v.name));
  return copy;
}

/** Fork code never runs as the account the revision it starts from runs as (production's). */
function checkIsolatedAccount(base: RevisionTemplate, changes: ServiceChanges): void {
  const account = changes.spec.runtimeServiceAccount;
  if (account && base.serviceAccount?.toLowerCase() === account.toLowerCase()) {
    throw new RunwayError(
      `Input 'preview_service_account' (${account}) is the account ${changes.service} runs as in ${changes.region}: fork code must not run as production does. Nothing was changed.`,
      'Give previews of fork code a runtime service account of their own, with no access to production data.',
    );
  }
}

/** Labels Runway adds unless skip_default_labels: who deployed, and which commit. */
export function defaultLabels(sha: string): KeyValues {
  return { 'managed-by': 'github-actions', 'commit-sha': sanitizeLabelValue(sha) };
}

/** Label values must be lowercase letters, digits, '_' and '-', at most 63 characters. */
export function sanitizeLabelValue(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '_')
    .slice(0, 63);
}

const INGRESS = {
  all: 'INGRESS_TRAFFIC_ALL',
  internal: 'INGRESS_TRAFFIC_INTERNAL_ONLY',
  'internal-and-cloud-load-balancing': 'INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER',
} as const;

const EGRESS = { 'all-traffic': 'ALL_TRAFFIC', 'private-ranges-only': 'PRIVATE_RANGES_ONLY' } as const;

export const EXECUTION_ENVIRONMENT = {
  gen1: 'EXECUTION_ENVIRONMENT_GEN1',
  gen2: 'EXECUTION_ENVIRONMENT_GEN2',
} as const;

const CLOUDSQL_VOLUME = 'cloudsql';

/** Applies `updates` over `live` by name, keeping live order; `overwrite` drops live entries first. */
function upsertByName<T extends { name: string }>(
  live: T[],
  updates: T[],
  strategy: 'merge' | 'overwrite',
): T[] {
  const merged = new Map((strategy === 'overwrite' ? [] : live).map((e) => [e.name, e] as const));
  for (const e of updates) merged.set(e.name, e);
  return [...merged.values()];
}

function secretEnvVar(name: string, ref: SecretRef): EnvVar {
  return { name, valueSource: { secretKeyRef: { secret: ref.secret, version: ref.version } } };
}

/** gcloud's --set-secrets replaces every live secret, whatever `secrets_update_strategy` says. */
const secretsStrategy = (changes: ContainerChanges): 'merge' | 'overwrite' =>
  changes.spec.replaceSecrets ? 'overwrite' : changes.secretsUpdateStrategy;

function planEnv(live: EnvVar[], changes: ContainerChanges): EnvVar[] {
  const { envVars, secrets } = changes.spec;
  const removed = new Set(changes.spec.removeEnvVars ?? []);
  const plainLive = changes.spec.clearEnvVars
    ? []
    : live.filter((e) => !e.valueSource && !removed.has(e.name));
  const removedSecrets = new Set(changes.spec.removeSecrets ?? []);
  const secretLive = changes.spec.clearSecrets
    ? []
    : live.filter((e) => e.valueSource && !removedSecrets.has(e.name));
  const plainUpdates = Object.entries(envVars ?? {}).map(([name, value]) => ({ name, value }));
  const secretUpdates = Object.entries(secrets?.env ?? {}).map(([name, ref]) => secretEnvVar(name, ref));
  const strategy = changes.spec.replaceEnvVars ? 'overwrite' : changes.envVarsUpdateStrategy;
  let plain = envVars === undefined ? plainLive : upsertByName(plainLive, plainUpdates, strategy);
  let secret =
    secrets === undefined ? secretLive : upsertByName(secretLive, secretUpdates, secretsStrategy(changes));
  // A name set explicitly one way replaces a live entry of the other kind.
  plain = plain.filter((e) => !(secrets && e.name in secrets.env));
  secret = secret.filter((e) => !(envVars && e.name in envVars));
  return [...plain, ...secret];
}

function secretVolumeName(directory: string): string {
  return `secret-${createHash('sha256').update(directory).digest('hex').slice(0, 10)}`;
}

/**
 * Secret files become one volume per directory; Cloud Run mounts a volume at a directory. A secret
 * volume another container mounts (in `others`) stays; new ones are named by `volumeName`.
 */
function planSecretFiles(
  liveVolumes: Volume[],
  liveMounts: VolumeMount[],
  files: Record<string, SecretRef>,
  strategy: 'merge' | 'overwrite',
  others: VolumeMount[] = [],
  volumeName: (directory: string) => string = secretVolumeName,
  source = "Input 'secrets'",
): { volumes: Volume[]; mounts: VolumeMount[] } {
  type Item = { path: string; version?: string; mode?: number };
  const byDirectory = new Map<string, { secret: string; items: Item[] }>();
  for (const [path, ref] of Object.entries(files)) {
    const slash = path.lastIndexOf('/');
    const directory = path.slice(0, slash);
    const file = path.slice(slash + 1);
    const entry = byDirectory.get(directory) ?? { secret: ref.secret, items: [] };
    if (entry.secret !== ref.secret) {
      throw new RunwayError(
        `${source} mounts two secrets (${entry.secret}, ${ref.secret}) in ${directory}.`,
        'Cloud Run mounts one secret per directory: put each secret in its own directory.',
      );
    }
    entry.items.push({ path: file, version: ref.version });
    byDirectory.set(directory, entry);
  }
  // As gcloud's --update-secrets: a directory's other files stay when the same secret is mounted there.
  if (strategy === 'merge') {
    for (const [directory, entry] of byDirectory) {
      const mount = liveMounts.find((m) => m.mountPath === directory);
      const live = mount && liveVolumes.find((v) => v.name === mount.name && v.secret)?.secret;
      if (!live) continue;
      const given = new Set(entry.items.map((i) => i.path));
      const left = (live.items ?? []).filter((i) => !given.has(i.path));
      if (!left.length) continue;
      if (live.secret !== entry.secret)
        throw new RunwayError(
          `${source} mounts ${entry.secret} in ${directory}, where ${live.secret} is mounted (${left.map((i) => `${directory}/${i.path}`).join(', ')}).`,
          'Cloud Run mounts one secret per directory: mount it in another directory, or remove those files (--remove-secrets) first.',
        );
      entry.items.push(...left);
    }
  }
  const isSecretVolume = (name: string): boolean => liveVolumes.some((v) => v.name === name && v.secret);
  const replacedDirectories = new Set(byDirectory.keys());
  const keptMounts = liveMounts.filter(
    (m) => !(isSecretVolume(m.name) && (strategy === 'overwrite' || replacedDirectories.has(m.mountPath))),
  );
  const keptVolumeNames = new Set([...keptMounts, ...others].map((m) => m.name));
  const keptVolumes = liveVolumes.filter((v) => !v.secret || keptVolumeNames.has(v.name));
  const newVolumes: Volume[] = [];
  const newMounts: VolumeMount[] = [];
  for (const [directory, { secret, items }] of byDirectory) {
    // A volume another container mounts is never changed under it (gcloud copies it).
    let name = volumeName(directory);
    for (let i = 2; others.some((m) => m.name === name); i++) name = `${volumeName(directory)}-${i}`;
    newVolumes.push({ name, secret: { secret, items } });
    newMounts.push({ name, mountPath: directory });
  }
  return {
    volumes: [...keptVolumes.filter((v) => !newVolumes.some((n) => n.name === v.name)), ...newVolumes],
    mounts: [...keptMounts, ...newMounts],
  };
}

export function planContainer(live: Container | undefined, changes: ContainerChanges): Container {
  const { spec } = changes;
  const container: Container = { ...(live ?? {}), image: changes.image };
  const env = planEnv(live?.env ?? [], changes);
  if (env.length) container.env = env;
  else delete container.env;
  if (spec.port !== undefined) container.ports = [{ name: 'http1', containerPort: spec.port }];
  if (spec.command !== undefined) container.command = spec.command;
  if (spec.args !== undefined) container.args = spec.args;
  applyContainerFlags(container, spec);
  if (
    spec.cpu !== undefined ||
    spec.memory !== undefined ||
    spec.cpuBoost !== undefined ||
    spec.cpuThrottling !== undefined
  ) {
    const resources = { ...(live?.resources ?? {}) };
    const limits = { ...(resources.limits ?? {}) };
    if (spec.cpu !== undefined) limits.cpu = spec.cpu;
    if (spec.memory !== undefined) limits.memory = spec.memory;
    if (Object.keys(limits).length) resources.limits = limits;
    if (spec.cpuBoost !== undefined) resources.startupCpuBoost = spec.cpuBoost;
    // Setting resources resets cpuIdle unless it is sent explicitly (api-facts §5.4); read back,
    // resources without cpuIdle mean false (proto3 JSON leaves a false bool out).
    resources.cpuIdle = spec.cpuThrottling ?? (live?.resources ? (live.resources.cpuIdle ?? false) : true);
    container.resources = resources;
  }
  return container;
}

/**
 * Which container takes the new image and the settings: the ingress container, the one that
 * declares a port. Cloud Run does not require it to be first; with one container it is that one.
 */
export function ingressIndex(containers: Container[]): number {
  const withPort = containers.findIndex((c) => c.ports?.length);
  return withPort >= 0 ? withPort : 0;
}

/**
 * The volumes a template gets, and the container's mounts of them (set on `container`): secret files
 * and Cloud SQL, from the live ones.
 */
export function planVolumes(
  liveVolumes: Volume[] | undefined,
  container: Container,
  changes: ContainerChanges,
  others: VolumeMount[] = [],
): Volume[] {
  const { spec } = changes;
  let volumes = liveVolumes ?? [];
  let mounts = container.volumeMounts ?? [];
  if (spec.volumes) ({ volumes, mounts } = removeVolumes({ volumes, mounts }, spec.volumes));
  if (spec.clearSecrets || spec.removeSecrets?.length)
    ({ volumes, mounts } = withoutSecretFiles(volumes, mounts, spec, others, secretVolumeName));
  if (spec.secrets) {
    ({ volumes, mounts } = planSecretFiles(
      volumes,
      mounts,
      spec.secrets.files,
      secretsStrategy(changes),
      others,
    ));
  }
  if (
    spec.cloudsqlInstances !== undefined ||
    spec.addCloudsqlInstances !== undefined ||
    spec.removeCloudsqlInstances !== undefined ||
    spec.clearCloudsqlInstances
  ) {
    const live = volumes.find((v) => v.name === CLOUDSQL_VOLUME)?.cloudSqlInstance?.instances ?? [];
    const instances = changeList(live, {
      ...(spec.cloudsqlInstances ? { set: spec.cloudsqlInstances } : {}),
      ...(spec.clearCloudsqlInstances ? { clear: true } : {}),
      ...(spec.removeCloudsqlInstances ? { remove: spec.removeCloudsqlInstances } : {}),
    });
    for (const i of spec.addCloudsqlInstances ?? []) if (!instances.includes(i)) instances.push(i);
    volumes = volumes.filter((v) => v.name !== CLOUDSQL_VOLUME);
    mounts = mounts.filter((m) => m.name !== CLOUDSQL_VOLUME);
    if (instances.length) {
      volumes.push({ name: CLOUDSQL_VOLUME, cloudSqlInstance: { instances } });
      mounts.push({ name: CLOUDSQL_VOLUME, mountPath: '/cloudsql' });
    }
  }
  if (spec.volumes) ({ volumes, mounts } = addVolumes({ volumes, mounts }, spec.volumes));
  if (mounts.length) container.volumeMounts = mounts;
  else delete container.volumeMounts;
  return volumes;
}

/**
 * A `--container NAME` scope's mounts over the template's volumes, after the target's (gcloud applies
 * the scopes' changes after the unscoped ones): mounts removed, secret files, mounts added. Its secret
 * volumes are named after the container too, so no two containers share one by chance.
 */
export function planScopeVolumes(
  volumes: Volume[],
  container: Container,
  scope: ContainerSpec,
  others: VolumeMount[],
): Volume[] {
  let mounts = container.volumeMounts ?? [];
  const volumeName = (directory: string): string => secretVolumeName(`${container.name ?? ''}:${directory}`);
  if (scope.volumes) ({ volumes, mounts } = removeVolumes({ volumes, mounts }, scope.volumes));
  if (scope.clearSecrets || scope.removeSecrets?.length)
    ({ volumes, mounts } = withoutSecretFiles(volumes, mounts, scope, others, volumeName));
  if (scope.secrets && (scope.replaceSecrets || Object.keys(scope.secrets.files).length)) {
    const strategy = scope.replaceSecrets ? 'overwrite' : 'merge';
    ({ volumes, mounts } = planSecretFiles(
      volumes,
      mounts,
      scope.secrets.files,
      strategy,
      others,
      volumeName,
      `\`flags\` (after --container ${container.name ?? ''})`,
    ));
  }
  if (scope.volumes) ({ volumes, mounts } = addVolumes({ volumes, mounts }, scope.volumes));
  if (mounts.length) container.volumeMounts = mounts;
  else delete container.volumeMounts;
  return volumes;
}

/**
 * The VPC access a template gets: the connector by full name, in the template's region; then the
 * Direct VPC flags; checked as Cloud Run checks it before it is sent.
 */
export function planVpcAccess(live: VpcAccess | undefined, changes: ContainerChanges): VpcAccess | undefined {
  const { spec } = changes;
  if (
    spec.vpcConnector === undefined &&
    spec.vpcEgress === undefined &&
    spec.directVpc === undefined &&
    !spec.clearVpcConnector
  )
    return live;
  const connector = spec.vpcConnector?.includes('/')
    ? spec.vpcConnector
    : spec.vpcConnector !== undefined
      ? `projects/${changes.project}/locations/${changes.region}/connectors/${spec.vpcConnector}`
      : live?.connector;
  const access: VpcAccess = {
    ...(live ?? {}),
    ...(connector ? { connector } : {}),
    ...(spec.vpcEgress !== undefined ? { egress: EGRESS[spec.vpcEgress] } : {}),
  };
  // gcloud clears the connector after it sets it and the egress, before the network interface.
  const cleared = spec.clearVpcConnector ? clearVpcConnector(access) : access;
  return checkVpcAccess(spec.directVpc ? planDirectVpc(cleared, spec.directVpc) : cleared);
}

/** Every container of the revision: the target takes the image and the settings, scopes their own. */
function planContainers(
  live: Container[],
  changes: ServiceChanges,
): {
  containers: Container[];
  container: Container;
  spec: ServiceSpec;
  /** The scopes of containers other than the target, by index in `containers`, in the order given. */
  scopes: Array<[number, ContainerSpec]>;
} {
  const layout = layoutContainers(live, changes.spec, ingressIndex);
  const spec = targetSpec(changes.spec, layout.names[layout.target]);
  const containers = layout.containers.map((c, i) => {
    const name = layout.names[i];
    const named = (planned: Container): Container => (name && !planned.name ? { ...planned, name } : planned);
    if (i === layout.target) {
      const flagImage = name !== undefined ? changes.spec.containers?.[name]?.image : undefined;
      if (flagImage !== undefined && flagImage !== changes.image)
        throw new RunwayError(
          `\`flags\` gives container '${name}' the image ${flagImage}, and it is the container the \`image\` input deploys into.`,
          'Keep one of them: the `image` input, or `--image` after its --container (without `image`).',
        );
      return named(planContainer(c, { ...changes, spec }));
    }
    const scope = name !== undefined ? changes.spec.containers?.[name] : undefined;
    if (!scope) return c!;
    const image = scope.image ?? c?.image;
    if (!image)
      throw new RunwayError(
        `\`flags\` adds the container '${name}' without an image.`,
        `Give it one: \`--container ${name} --image IMAGE\`.`,
      );
    return named(
      planContainer(c, {
        ...changes,
        image,
        spec: scope,
        envVarsUpdateStrategy: 'merge',
        secretsUpdateStrategy: 'merge',
      }),
    );
  });
  const scopes = Object.entries(changes.spec.containers ?? {})
    .map(([name, scope]): [number, ContainerSpec] => [layout.names.indexOf(name), scope])
    .filter(([i]) => i >= 0 && i !== layout.target);
  return { containers, container: containers[layout.target]!, spec, scopes };
}

/** Every mount of the containers but the one at `index`. */
const mountsBut = (containers: Container[], index: number): VolumeMount[] =>
  containers.flatMap((c, i) => (i === index ? [] : (c.volumeMounts ?? [])));

function planTemplate(live: RevisionTemplate, changes: ServiceChanges): RevisionTemplate {
  const { containers, container, spec, scopes } = planContainers(live.containers ?? [], changes);
  const template: RevisionTemplate = {
    ...live,
    containers,
    revision: changes.revisionName,
  };
  template.labels = {
    ...withoutRemovedLabels(live.labels ?? {}, changes.spec, changes.labels),
    ...changes.labels,
  };

  const target = containers.indexOf(container);
  let volumes = planVolumes(live.volumes, container, { ...changes, spec }, mountsBut(containers, target));
  for (const [i, scope] of scopes)
    volumes = planScopeVolumes(volumes, containers[i]!, scope, mountsBut(containers, i));
  template.volumes = volumes;
  if (!template.volumes.length) delete template.volumes;

  if (spec.runtimeServiceAccount !== undefined) template.serviceAccount = spec.runtimeServiceAccount;
  if (spec.concurrency !== undefined) template.maxInstanceRequestConcurrency = spec.concurrency;
  if (spec.timeoutSeconds !== undefined) template.timeout = `${spec.timeoutSeconds}s`;
  if (spec.minInstances !== undefined || spec.maxInstances !== undefined) {
    template.scaling = {
      ...(live.scaling ?? {}),
      ...(spec.minInstances !== undefined ? { minInstanceCount: spec.minInstances } : {}),
      ...(spec.maxInstances !== undefined ? { maxInstanceCount: spec.maxInstances } : {}),
    };
  }
  if (spec.executionEnvironment !== undefined)
    template.executionEnvironment = EXECUTION_ENVIRONMENT[spec.executionEnvironment];
  const vpcAccess = planVpcAccess(live.vpcAccess, { ...changes, spec });
  if (vpcAccess) template.vpcAccess = vpcAccess;
  else delete template.vpcAccess;
  if (spec.gpu) planGpu(template, container, spec.gpu);
  applyTemplateFlags(template, spec);
  return template;
}

/**
 * The service a `metadata` file describes, as the start of a replace: the live service's etag (it
 * guards the update) and the rollout records other runs keep on it are all that is kept of it; a
 * connector the file names alone is the one in the region deployed to.
 */
function replacement(live: Service | undefined, file: Service, changes: ServiceChanges): Service {
  const start = structuredClone(file);
  const records = Object.entries(live?.annotations ?? {}).filter(([k]) => k.startsWith(RECORD_KEY_PREFIX));
  if (records.length) start.annotations = { ...(start.annotations ?? {}), ...Object.fromEntries(records) };
  const connector = start.template.vpcAccess?.connector;
  if (connector && !connector.includes('/'))
    start.template.vpcAccess!.connector = `projects/${changes.project}/locations/${changes.region}/connectors/${connector}`;
  if (live?.etag) start.etag = live.etag;
  return start;
}

export function planService(live: Service | undefined, changes: ServiceChanges): Service {
  const start = changes.replace ? replacement(live, changes.replace, changes) : live;
  let base = changes.replace ? start!.template : (changes.baseTemplate ?? live?.template ?? {});
  if (changes.isolated) {
    checkIsolatedAccount(base, changes);
    base = withoutSecrets(base);
  }
  const planned: Service = {
    ...(start ?? {}),
    labels: changes.revisionOnly
      ? (start?.labels ?? {})
      : { ...withoutRemovedLabels(start?.labels ?? {}, changes.spec, changes.labels), ...changes.labels },
    template: planTemplate(base, changes),
  };
  const container = planned.template.containers?.[ingressIndex(planned.template.containers ?? [])];
  // A file says what it wants: gcloud's default for new services is its flags', not replace's.
  if (!live && !changes.replace && changes.spec.cpuBoost === undefined && container) {
    // gcloud run deploy turns startup CPU boost on for every new service ("new services default
    // cpu boost on the client"), so deploy-cloudrun's new services have it; Runway's do too.
    const resources = container.resources ?? {};
    container.resources = { ...resources, startupCpuBoost: true, cpuIdle: resources.cpuIdle ?? true };
  }
  if (changes.spec.ingress !== undefined && !changes.revisionOnly)
    planned.ingress = INGRESS[changes.spec.ingress];
  if (!changes.revisionOnly) applyServiceFlags(planned, changes.spec);
  if (changes.build && !changes.revisionOnly) {
    const buildConfig = planBuildConfig(live?.buildConfig, changes.build);
    if (buildConfig) planned.buildConfig = buildConfig;
    else delete planned.buildConfig;
  }
  if (changes.traffic !== undefined) planned.traffic = changes.traffic;
  else if (live && changes.replace) {
    if (live.traffic) planned.traffic = live.traffic;
  } else if (!live) planned.traffic = [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 }];
  return withoutOutputFields(planned);
}

/**
 * The service's record of its build on Google: the account, pool and environment the build ran
 * with replace the recorded ones (an empty one is dropped); the rest of the record stays.
 */
export function planBuildConfig(
  live: BuildConfig | undefined,
  build: ResolvedBuild,
): BuildConfig | undefined {
  const { name: _output, serviceAccount: _a, workerPool: _p, environmentVariables: _e, ...kept } = live ?? {};
  const planned: BuildConfig = {
    ...kept,
    ...(build.serviceAccount ? { serviceAccount: build.serviceAccount } : {}),
    ...(build.workerPool ? { workerPool: build.workerPool } : {}),
    ...(build.env && Object.keys(build.env).length ? { environmentVariables: build.env } : {}),
  };
  return Object.keys(planned).length ? planned : undefined;
}

/** The live spec with only its traffic changed: a traffic move must not create a revision. */
export function planTrafficChange(live: Service, traffic: TrafficTarget[]): Service {
  return withoutOutputFields({ ...live, traffic });
}

const OUTPUT_FIELDS = [
  // The name comes from the URL path; the body does not repeat it.
  'name',
  'uid',
  'generation',
  'createTime',
  'updateTime',
  'deleteTime',
  'expireTime',
  'creator',
  'lastModifier',
  'observedGeneration',
  'terminalCondition',
  'conditions',
  'latestReadyRevision',
  'latestCreatedRevision',
  'trafficStatuses',
  'uri',
  'urls',
  'reconciling',
  'satisfiesPzs',
] as const;

/** Output-only fields are the server's; sending them back is noise at best. The etag stays: it guards the update. */
function withoutOutputFields(service: Service): Service {
  const copy: Service = { ...service };
  for (const field of OUTPUT_FIELDS) delete copy[field];
  return copy;
}
