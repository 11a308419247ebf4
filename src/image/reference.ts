// Image references: splitting them, naming what Runway builds, and the registry's HTTP API URL.

export interface ImageReference {
  /** Registry host (with port), e.g. us-central1-docker.pkg.dev or 127.0.0.1:5000. */
  host: string;
  /** Repository path inside the registry, e.g. my-project/my-repo/app. */
  path: string;
  tag: string | undefined;
  digest: string | undefined;
}

export function parseImageReference(ref: string): ImageReference {
  let rest = ref.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const firstSlash = rest.indexOf('/');
  const first = firstSlash >= 0 ? rest.slice(0, firstSlash) : '';
  const hasHost = firstSlash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  return {
    host: hasHost ? first : 'docker.io',
    path: hasHost ? rest.slice(firstSlash + 1) : rest,
    tag,
    digest,
  };
}

export function formatImage(ref: ImageReference, form: 'tag' | 'digest'): string {
  const base = `${ref.host}/${ref.path}`;
  if (form === 'digest') {
    if (!ref.digest) throw new Error(`${base} has no digest`);
    return `${base}@${ref.digest}`;
  }
  return `${base}:${ref.tag ?? 'latest'}`;
}

/** What Runway tags a build with: REPOSITORY/SERVICE:SHA, or REPOSITORY:SHA when the path names an image. */
export function buildImageReference(repository: string, service: string, sha: string): ImageReference {
  const [host, ...segments] = repository.replace(/\/$/, '').split('/');
  // HOST/PROJECT/REPO names a repository; a fourth segment names the image itself.
  const path = segments.length >= 3 ? segments.join('/') : [...segments, service].join('/');
  return { host: host!, path, tag: sha, digest: undefined };
}

/** Docker speaks plain HTTP to loopback registries and HTTPS to everything else. */
export function registryBaseUrl(host: string): string {
  const plain = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(host);
  return `${plain ? 'http' : 'https'}://${host}`;
}
