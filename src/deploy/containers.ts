// Which containers a revision gets, and which of them takes the new image: the target (the
// `container` input's, else the ingress container, the one with a port). Flags scoped by
// `--container NAME` change that container alone; sidecars keep their images unless a scope gives one.
// Pure, like the rest of planning.
import { RunwayError } from '../errors.js';
import type { Container, Volume, VolumeMount } from '../gcp/run-types.js';
import type { ContainerSpec, ServiceSpec } from '../inputs/spec.js';
import { targetName } from '../inputs/container-target.js';

const list = (names: string[]): string => names.map((n) => `'${n}'`).join(', ') || 'none';

/** The flat spec with the target's own scope applied; the same setting given two ways must agree. */
export function targetSpec(spec: ServiceSpec, name: string | undefined): ServiceSpec {
  const scope = name !== undefined ? spec.containers?.[name] : undefined;
  if (!scope) return spec;
  const merged: ServiceSpec = { ...spec };
  for (const [key, value] of Object.entries(scope) as Array<[keyof ContainerSpec, unknown]>) {
    if (key === 'image') continue;
    // With scopes, unscoped volume flags are the template's (--add-volume), the scope's its mounts.
    if (key === 'volumes' && spec.volumes) {
      merged.volumes = { ...spec.volumes, ...scope.volumes };
      continue;
    }
    const flat = spec[key];
    if (flat !== undefined && JSON.stringify(flat) !== JSON.stringify(value))
      throw new RunwayError(
        `\`flags\` sets ${key} for container '${name}' after --container, and an input or an unscoped flag sets it too.`,
        'Keep one of them.',
      );
    (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}

export interface ContainerLayout {
  /** Every container of the new revision, before the settings apply: live ones kept, new ones named. */
  containers: Array<Container | undefined>;
  names: Array<string | undefined>;
  /** Index of the target container in `containers`. */
  target: number;
}

/**
 * The containers the revision keeps, in order, and where the target is. Live containers keep their
 * place; named containers the service does not have yet are added in the order `flags` names them.
 */
export function layoutContainers(
  live: Container[],
  spec: ServiceSpec,
  ingress: (c: Container[]) => number,
): ContainerLayout {
  const removed = new Set(spec.removeContainers ?? []);
  const kept = live.filter((c) => !(c.name && removed.has(c.name)));
  if (kept.length === 0 && live.length > 0)
    throw new RunwayError(
      `--remove-containers removes every container of the service (${list(live.map((c) => c.name ?? ''))}).`,
      'Keep the container that serves requests.',
    );
  const wanted = targetName(spec);
  const scoped = Object.keys(spec.containers ?? {});
  const containers: Array<Container | undefined> = kept.map((c) => {
    // A removed container leaves no dependency behind (gcloud's ContainerDependenciesChange).
    if (!c.dependsOn || !removed.size) return c;
    const dependsOn = (c.dependsOn as string[]).filter((d) => !removed.has(d));
    const copy: Container = { ...c, dependsOn };
    if (!dependsOn.length) delete copy.dependsOn;
    return copy;
  });
  const names = kept.map((c) => c.name);
  const liveNames = new Set(names.filter((n): n is string => !!n));
  if (wanted !== undefined && !liveNames.has(wanted) && kept.length > 0 && !scoped.includes(wanted))
    throw new RunwayError(
      `Input 'container' names '${wanted}', and the service has no such container (it has ${list([...liveNames])}). Nothing was changed.`,
      'Name one of its containers, or add it with `--container NAME --image …` in `flags`.',
    );
  const added = [...scoped, ...(wanted !== undefined && !scoped.includes(wanted) ? [wanted] : [])].filter(
    (n) => !liveNames.has(n),
  );
  if (kept.length === 0 && wanted === undefined && added.length) {
    // A new service whose scopes name none as the ingress: the image goes to an unnamed first container.
    containers.push(undefined);
    names.push(undefined);
  }
  for (const name of added) {
    containers.push(undefined);
    names.push(name);
  }
  if (containers.length === 0) {
    containers.push(undefined);
    names.push(undefined);
  }
  const target =
    wanted !== undefined
      ? names.indexOf(wanted)
      : kept.length
        ? ingress(kept)
        : names.findIndex((n) => n === undefined);
  return { containers, names, target };
}

/** The per-container flags beyond image, env, port, command and resources: set on `container` in place. */
export function applyContainerFlags(container: Container, spec: ContainerSpec): void {
  if (spec.useHttp2 !== undefined) {
    // gcloud's ContainerPortChange: the name says the protocol, the number stays (8080 if none).
    const port = container.ports?.[0] ?? {};
    container.ports = [
      { ...port, name: spec.useHttp2 ? 'h2c' : 'http1', containerPort: port.containerPort ?? 8080 },
    ];
  }
  if (spec.dependsOn !== undefined) {
    if (spec.dependsOn.length) container.dependsOn = spec.dependsOn;
    else delete container.dependsOn;
  }
  for (const key of ['startupProbe', 'livenessProbe'] as const) {
    const probe = spec[key];
    if (probe === null) delete container[key];
    else if (probe !== undefined) container[key] = probe;
  }
}

/**
 * --clear-secrets drops every secret file of the container, --remove-secrets the files named by path
 * (each MOUNT/FILE); a mount left without files goes. As gcloud's SecretVolumeChanges: a volume
 * another container mounts too (in `others`) is copied into one of this container's (`rename`)
 * before its files change, and a secret volume no container mounts any longer goes.
 */
export function withoutSecretFiles(
  volumes: Volume[],
  mounts: VolumeMount[],
  spec: Pick<ContainerSpec, 'removeSecrets' | 'clearSecrets'>,
  others: VolumeMount[] = [],
  rename: (directory: string) => string = (d) => d,
): { volumes: Volume[]; mounts: VolumeMount[] } {
  const removed = new Set(spec.removeSecrets ?? []);
  const secretVolume = (name: string): Volume | undefined => volumes.find((v) => v.name === name && v.secret);
  const changed = new Map<string, Volume>();
  const keptMounts: VolumeMount[] = [];
  for (const mount of mounts) {
    const volume = secretVolume(mount.name);
    if (!volume?.secret) {
      keptMounts.push(mount);
      continue;
    }
    const all = volume.secret.items ?? [];
    const items = spec.clearSecrets ? [] : all.filter((i) => !removed.has(`${mount.mountPath}/${i.path}`));
    if (!items.length || removed.has(mount.mountPath)) continue;
    if (items.length === all.length) {
      keptMounts.push(mount);
      continue;
    }
    const shared = others.some((m) => m.name === volume.name);
    let name = volume.name;
    if (shared) {
      const taken = (n: string): boolean => volumes.some((v) => v.name === n) || changed.has(n);
      name = rename(mount.mountPath);
      for (let i = 2; taken(name); i++) name = `${rename(mount.mountPath)}-${i}`;
    }
    changed.set(name, { ...volume, name, secret: { ...volume.secret, items } });
    keptMounts.push({ ...mount, name });
  }
  const mounted = new Set([...others, ...keptMounts].map((m) => m.name));
  const kept = volumes.filter((v) => !v.secret || mounted.has(v.name)).map((v) => changed.get(v.name) ?? v);
  for (const [name, volume] of changed) if (!kept.some((v) => v.name === name)) kept.push(volume);
  return { volumes: kept, mounts: keptMounts };
}
