// What a revision's container is given: its port, plain and Secret Manager-backed environment
// variables, secret volumes as files, and Cloud Run's K_* variables. Secrets are read as the
// revision's service account, which needs secretmanager.versions.access, as on Cloud Run.
import type { Principal } from '../iam.js';
import type { World } from '../state.js';
import type { Json } from './model.js';
import { LaunchFailure } from './runtime.js';

export interface RevisionEnvironment {
  env: Record<string, string>;
  /** Absolute path in the container → contents. */
  files: Record<string, Buffer>;
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
  const container = ((template.containers as Json[] | undefined) ?? [])[0] ?? {};
  const port = containerPort(container);
  const runtimeAccount = String(template.serviceAccount);
  const reader: Principal = { kind: 'serviceAccount', email: runtimeAccount };
  const projectNumber = world.projects.get(service.project)?.projectNumber ?? service.project;

  const readSecret = (field: string, secretRef: string, version: string): Buffer => {
    const secretId = secretRef.replace(/^projects\/[^/]+\/secrets\//, '');
    const secretProject = /^projects\/([^/]+)\//.exec(secretRef)?.[1] ?? service.project;
    const resource = `projects/${world.projectId(secretProject) ?? secretProject}/secrets/${secretId}`;
    const shown = `projects/${projectNumber}/secrets/${secretId}/versions/${version}`;
    if (!world.allowed(reader, 'secretmanager.versions.access', resource)) {
      throw new LaunchFailure(
        'secrets',
        `${field}: Permission denied on secret: ${shown} for Revision service account ${runtimeAccount}. The service account used must be granted the 'Secret Manager Secret Accessor' role (roles/secretmanager.secretAccessor) at the secret, project or higher level.`,
      );
    }
    const secret = world.secrets.get(resource);
    // `latest` is the most recently created version, whatever its state.
    const found =
      version === 'latest'
        ? secret?.versions.at(-1)
        : secret?.versions.find((v) => String(v.number) === version);
    if (!found) throw new LaunchFailure('secrets', `${field}: Secret ${shown} was not found.`);
    if (found.state !== 'ENABLED')
      throw new LaunchFailure('secrets', `${field}: Secret ${shown} is in ${found.state} state.`);
    return found.data;
  };

  const env: Record<string, string> = {};
  ((container.env as Json[] | undefined) ?? []).forEach((e, i) => {
    const ref = (e.valueSource as Json | undefined)?.secretKeyRef as Json | undefined;
    env[String(e.name)] = ref
      ? readSecret(
          `spec.template.spec.containers[0].env[${i}].value_from.secret_key_ref.name`,
          String(ref.secret),
          String(ref.version || 'latest'),
        ).toString('utf8')
      : String(e.value ?? '');
  });

  const files: Record<string, Buffer> = {};
  const volumes = (template.volumes as Json[] | undefined) ?? [];
  for (const mount of (container.volumeMounts as Json[] | undefined) ?? []) {
    const volume = volumes.find((v) => v.name === mount.name);
    const secret = volume?.secret as Json | undefined;
    if (!secret) continue;
    const secretRef = String(secret.secret);
    // Without items, the volume holds one file named after the secret, with its latest version.
    const items = (secret.items as Json[] | undefined) ?? [
      { path: secretRef.split('/').pop(), version: 'latest' },
    ];
    for (const item of items) {
      const path = `${String(mount.mountPath).replace(/\/$/, '')}/${String(item.path)}`;
      files[path] = readSecret(
        `spec.template.spec.volumes[${String(volume!.name)}].secret`,
        secretRef,
        String(item.version || 'latest'),
      );
    }
  }

  return {
    env: {
      ...env,
      PORT: String(port),
      K_SERVICE: service.id,
      K_REVISION: revision.name,
      K_CONFIGURATION: service.id,
    },
    files,
    port,
  };
}
