// gcloud's volume flags (spec.volumes) over a template's volumes and a container's mounts, as
// `gcloud run deploy` changes them: mounts and volumes removed before the `secrets` input's changes,
// volumes and mounts added after them (command_lib/run/flags.py, _GetConfigurationChanges). gcloud
// speaks v1, where Cloud SQL connections are an annotation, not a volume: its --clear-volumes and
// --clear-volume-mounts leave them, and so do these. Pure functions; plan.ts calls them.
import { RunwayError } from '../errors.js';
import type { Volume, VolumeMount } from '../gcp/run-types.js';
import type { AddedVolume, VolumeFlags } from '../inputs/spec.js';

/** The v2 volume and mount v1's Cloud SQL annotation stands for. */
export const CLOUDSQL_VOLUME = 'cloudsql';

interface Mounted {
  volumes: Volume[];
  mounts: VolumeMount[];
}

/** --remove-volume-mount, --clear-volume-mounts, --remove-volume, --clear-volumes. */
export function removeVolumes({ volumes, mounts }: Mounted, flags: VolumeFlags): Mounted {
  const removedPaths = new Set(flags.removeMounts ?? []);
  const removedNames = new Set(flags.remove ?? []);
  return {
    mounts: mounts.filter(
      (m) => m.name === CLOUDSQL_VOLUME || !(flags.clearMounts || removedPaths.has(m.mountPath)),
    ),
    volumes: volumes.filter((v) => v.name === CLOUDSQL_VOLUME || !(flags.clear || removedNames.has(v.name))),
  };
}

function volumeOf(added: AddedVolume): Volume {
  switch (added.type) {
    case 'in-memory':
      return {
        name: added.name,
        emptyDir: {
          medium: 'MEMORY',
          ...(added.sizeLimit !== undefined ? { sizeLimit: added.sizeLimit } : {}),
        },
      };
    case 'nfs':
      return { name: added.name, nfs: { server: added.server, path: added.path, readOnly: added.readOnly } };
    case 'cloud-storage':
      return { name: added.name, gcs: { bucket: added.bucket, readOnly: added.readOnly } };
  }
}

/** Replaces the entry whose key matches in place, or appends: how gcloud's dict-like lists set an item. */
function upsert<T>(list: T[], item: T, same: (a: T, b: T) => boolean): T[] {
  const at = list.findIndex((e) => same(e, item));
  if (at < 0) return [...list, item];
  const copy = [...list];
  copy[at] = item;
  return copy;
}

/** --add-volume, then --add-volume-mount; then every mount must name a volume the template has. */
export function addVolumes({ volumes, mounts }: Mounted, flags: VolumeFlags): Mounted {
  for (const added of flags.add ?? []) {
    if (added.name === CLOUDSQL_VOLUME)
      throw new RunwayError(
        `\`flags\` (--add-volume) names a volume '${CLOUDSQL_VOLUME}': Cloud Run reserves that name for Cloud SQL connections.`,
        'Give the volume another name (Cloud SQL connections come from --add-cloudsql-instances or `cloudsql_instances`).',
      );
    volumes = upsert(volumes, volumeOf(added), (a, b) => a.name === b.name);
  }
  for (const { volume, mountPath } of flags.addMounts ?? [])
    mounts = upsert(mounts, { name: volume, mountPath }, (a, b) => a.mountPath === b.mountPath);
  const names = new Set(volumes.map((v) => v.name));
  const dangling = mounts.find((m) => !names.has(m.name));
  if (dangling)
    throw new RunwayError(
      `The container would mount a volume '${dangling.name}' at ${dangling.mountPath} that the service no longer (or never) has. Nothing was changed.`,
      `Add the volume with --add-volume name=${dangling.name},type=..., or remove the mount with --remove-volume-mount ${dangling.mountPath} (or --clear-volume-mounts).`,
    );
  return { volumes, mounts };
}
