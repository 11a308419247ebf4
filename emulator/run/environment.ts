// What a revision's containers are given: plain and Secret Manager-backed environment variables,
// secret volumes as files, in-memory volumes they share, Cloud Run's K_* variables, and PORT for the
// ingress container. Secrets are read as the revision's service account, which needs
// secretmanager.versions.access, as on Cloud Run.
import type { Principal } from '../iam.js';
import type { World } from '../state.js';
import { LaunchFailure } from './infrastructure.js';
import { ingressIndex, type Json } from './model.js';

export interface ContainerEnvironment {
  env: Record<string, string>;
  /** Absolute path in the container → contents (secret volumes). */
  files: Record<string, Buffer>;
  /** Absolute path in the container → name of the in-memory (emptyDir) volume mounted there. */
  sharedDirs: Record<string, string>;
}

export interface RevisionEnvironment {
  /** One per container, in template order. */
  containers: ContainerEnvironment[];
  /** Index of the ingress container. */
  ingress: number;
  /** The ingress container's port. */
  port: number;
}

/** The container port Cloud Run sends traffic to (and passes as PORT). */
export function containerPort(container: Json): number {
  return Number(((container.ports as Json[] | undefined) ?? [])[0]?.containerPort ?? 8080);
}

export function revisionEnvironment(
  world: World,
  service: { project: string; id: string },
  revision: { name: string; template: Json },
): RevisionEnvironment {
  const { template } = revision;
  const containers = (template.containers as Json[] | undefined) ?? [];
  const ingress = ingressIndex(containers);
  const port = containerPort(containers[ingress] ?? {});
  const runtimeAccount = String(template.serviceAccount);
  const reader: Principal = { kind: 'serviceAccount', email: runtimeAccount };
  const projectNumber = world.projects.get(service.project)?.projectNumber ?? service.project;

  const readSecret = (field: string, secretRef: string, version: string, container: number): Buffer => {
    const secretId = secretRef.replace(/^projects\/[^/]+\/secrets\//, '');
    const secretProject = /^projects\/([^/]+)\//.exec(secretRef)?.[1] ?? service.project;
    const resource = `projects/${world.projectId(secretProject) ?? secretProject}/secrets/${secretId}`;
    const shown = `projects/${projectNumber}/secrets/${secretId}/versions/${version}`;
    if (!world.allowed(reader, 'secretmanager.versions.access', resource)) {
      throw new LaunchFailure(
        'secrets',
        `${field}: Permission denied on secret: ${shown} for Revision service account ${runtimeAccount}. The service account used must be granted the 'Secret Manager Secret Accessor' role (roles/secretmanager.secretAccessor) at the secret, project or higher level.`,
        { container },
      );
    }
    const secret = world.secrets.get(resource);
    // `latest` is the most recently created version, whatever its state.
    const found =
      version === 'latest'
        ? secret?.versions.at(-1)
        : secret?.versions.find((v) => String(v.number) === version);
    if (!found) throw new LaunchFailure('secrets', `${field}: Secret ${shown} was not found.`, { container });
    if (found.state !== 'ENABLED')
      throw new LaunchFailure('secrets', `${field}: Secret ${shown} is in ${found.state} state.`, {
        container,
      });
    return found.data;
  };

  const volumes = (template.volumes as Json[] | undefined) ?? [];
  const prepared = containers.map((container, c): ContainerEnvironment => {
    const env: Record<string, string> = {};
    ((container.env as Json[] | undefined) ?? []).forEach((e, i) => {
      const ref = (e.valueSource as Json | undefined)?.secretKeyRef as Json | undefined;
      env[String(e.name)] = ref
        ? readSecret(
            `spec.template.spec.containers[${c}].env[${i}].value_from.secret_key_ref.name`,
            String(ref.secret),
            String(ref.version || 'latest'),
            c,
          ).toString('utf8')
        : String(e.value ?? '');
    });

    const files: Record<string, Buffer> = {};
    const sharedDirs: Record<string, string> = {};
    for (const mount of (container.volumeMounts as Json[] | undefined) ?? []) {
      const volume = volumes.find((v) => v.name === mount.name);
      const mountPath = String(mount.mountPath).replace(/\/$/, '');
      // An in-memory volume is one directory for every container that mounts it: how sidecars
      // share files (cloud.google.com/run/docs/configuring/services/in-memory-volume-mounts).
      if (volume?.emptyDir) {
        sharedDirs[mountPath] = String(volume.name);
        continue;
      }
      const secret = volume?.secret as Json | undefined;
      if (!secret) continue;
      const secretRef = String(secret.secret);
      // Without items, the volume holds one file named after the secret, with its latest version.
      const items = (secret.items as Json[] | undefined) ?? [
        { path: secretRef.split('/').pop(), version: 'latest' },
      ];
      for (const item of items) {
        files[`${mountPath}/${String(item.path)}`] = readSecret(
          `spec.template.spec.volumes[${String(volume!.name)}].secret`,
          secretRef,
          String(item.version || 'latest'),
          c,
        );
      }
    }

    return {
      env: {
        ...env,
        // "Cloud Run injects the PORT environment variable into the ingress container"
        // (cloud.google.com/run/docs/container-contract#port); the K_* variables go to every
        // container (the contract's environment variables table names no exception for them).
        ...(c === ingress ? { PORT: String(port) } : {}),
        K_SERVICE: service.id,
        K_REVISION: revision.name,
        K_CONFIGURATION: service.id,
      },
      files,
      sharedDirs,
    };
  });

  return { containers: prepared, ingress, port };
}
