// gcloud's volume flags in `flags` (--add-volume, --add-volume-mount, --remove-volume,
// --remove-volume-mount, --clear-volumes, --clear-volume-mounts), read into spec.volumes as gcloud
// 528 GA reads them (command_lib/run/volumes.py and flags.py): the GA volume types in-memory, nfs and
// cloud-storage with exactly their keys, and each refusal in gcloud's words. Planning them over the
// live service is deploy/volumes.ts's job.
import { InputError, RunwayError } from '../errors.js';
import { gcloudDict, gcloudList } from './gcloud-lists.js';
import type { AddedVolume, ContainerSpec, MountFlags, ServiceSpec, VolumeFlags } from './spec.js';

/** Each GA type's keys beside name and type: required, then optional. */
const VOLUME_KEYS: Record<AddedVolume['type'], { required: string[]; optional: string[] }> = {
  'in-memory': { required: [], optional: ['size-limit'] },
  nfs: { required: ['location'], optional: ['readonly'] },
  'cloud-storage': { required: ['bucket'], optional: ['readonly'] },
};

const isType = (t: string): t is AddedVolume['type'] => t in VOLUME_KEYS;

/** gcloud's `readonly`: true only when the value is `true` in any case; anything else is false. */
const readOnly = (dict: Map<string, string>): boolean => dict.get('readonly')?.toLowerCase() === 'true';

function refused(message: string, fix: string): RunwayError {
  return new RunwayError(`\`flags\` (--add-volume): ${message}`, fix);
}

/** One --add-volume value as the volume it adds. */
export function parseAddedVolume(name: string, raw: string): AddedVolume {
  const dict = gcloudDict(name, raw, ['name', 'type']);
  const volume = dict.get('name')!;
  const type = dict.get('type')!;
  if (!isType(type))
    throw refused(
      `Volume type ${type} not supported.`,
      `Use type=in-memory, type=nfs or type=cloud-storage (gcloud's GA volume types; secrets are mounted with the \`secrets\` input).`,
    );
  const { required, optional } = VOLUME_KEYS[type];
  for (const key of dict.keys()) {
    if (key === 'name' || key === 'type' || required.includes(key) || optional.includes(key)) continue;
    throw refused(
      `Volume ${volume} of type ${type} had unexpected parameter ${key}.`,
      `A ${type} volume takes ${[...required, ...optional].map((k) => `\`${k}\``).join(', ') || 'no other keys'}.`,
    );
  }
  const missing = required.filter((k) => !dict.has(k));
  if (missing.length)
    throw refused(
      `Volume ${volume} of type ${type} requires the following parameters: ${missing.join(', ')}.`,
      `Add ${missing.map((k) => `\`${k}=...\``).join(', ')} to the --add-volume value.`,
    );
  if (type === 'in-memory') {
    const sizeLimit = dict.get('size-limit');
    return sizeLimit === undefined ? { name: volume, type } : { name: volume, type, sizeLimit };
  }
  if (type === 'nfs') {
    const location = dict.get('location')!;
    const at = location.indexOf(':/');
    if (at < 0)
      throw refused(
        `Volume ${volume}: field 'location' must be of the form IP_ADDRESS:/DIRECTORY.`,
        'Give the NFS server and the exported directory, e.g. `location=10.0.0.2:/exports/data`.',
      );
    return {
      name: volume,
      type,
      server: location.slice(0, at),
      path: location.slice(at + 1),
      readOnly: readOnly(dict),
    };
  }
  return { name: volume, type, bucket: dict.get('bucket')!, readOnly: readOnly(dict) };
}

function volumes(spec: ServiceSpec): VolumeFlags {
  return (spec.volumes ??= {});
}

/** A container's mount flags: the target's unscoped, or a `--container NAME` scope's. */
function mounts(spec: ContainerSpec): MountFlags {
  return (spec.volumes ??= {});
}

/** --add-volume: repeated, each adds (or replaces, by name) one volume. */
export function addVolume(spec: ServiceSpec, raw: string, name: string): void {
  const v = volumes(spec);
  v.add = [...(v.add ?? []), parseAddedVolume(name, raw)];
}

/** --add-volume-mount volume=NAME,mount-path=PATH: only those two keys, both required. */
export function addVolumeMount(spec: ContainerSpec, raw: string, name: string): void {
  const dict = gcloudDict(name, raw);
  const other = [...dict.keys()].find((k) => k !== 'volume' && k !== 'mount-path');
  if (other !== undefined)
    throw new InputError(
      name,
      raw,
      `\`volume=NAME,mount-path=/PATH\` (Key [${other}] not recognized for volume mount. Only keys "volume" and "mount-path" are supported)`,
    );
  const volume = dict.get('volume');
  const mountPath = dict.get('mount-path');
  if (volume === undefined || mountPath === undefined)
    throw new InputError(name, raw, '`volume=NAME,mount-path=/PATH`, both keys');
  const v = mounts(spec);
  v.addMounts = [...(v.addMounts ?? []), { volume, mountPath }];
}

/** --remove-volume NAME[,NAME]: repeated flags add up (gcloud's UpdateAction). */
export function removeVolumes(spec: ServiceSpec, raw: string, name: string): void {
  const v = volumes(spec);
  v.remove = [...(v.remove ?? []), ...gcloudList(name, raw)];
}

/** --remove-volume-mount PATH[,PATH] */
export function removeVolumeMounts(spec: ContainerSpec, raw: string, name: string): void {
  const v = mounts(spec);
  v.removeMounts = [...(v.removeMounts ?? []), ...gcloudList(name, raw)];
}

export function clearVolumes(spec: ServiceSpec): void {
  volumes(spec).clear = true;
}

export function clearVolumeMounts(spec: ContainerSpec): void {
  mounts(spec).clearMounts = true;
}
