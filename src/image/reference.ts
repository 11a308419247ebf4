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
  // Docker's normalisation: no host means Docker Hub, and a one-segment Hub name is an official image.
  const host = hasHost ? (first === 'index.docker.io' ? DOCKER_HUB : first) : DOCKER_HUB;
  let path = hasHost ? rest.slice(firstSlash + 1) : rest;
  if (host === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  return { host, path, tag, digest };
}

/**
 * A content digest as the OCI image spec writes one (sha256 or sha512, lowercase hex): what a
 * registry's `Docker-Content-Digest` or Docker's output must be before Runway deploys by it.
 */
export function isDigest(text: string): boolean {
  return /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/.test(text);
}

/** The name Docker gives Docker Hub in references; its registry API lives on registry-1.docker.io. */
export const DOCKER_HUB = 'docker.io';

/** The host serving the registry API for a reference's host. */
export function registryApiHost(host: string): string {
  return host === DOCKER_HUB ? 'registry-1.docker.io' : host;
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
  return `${plain ? 'http' : 'https'}://${registryApiHost(host)}`;
}

/**
 * Google's registries, which take Google access tokens: Artifact Registry (LOCATION-docker.pkg.dev)
 * and gcr.io (served by Artifact Registry), plus hosts named in RUNWAY_GOOGLE_REGISTRIES (an
 * emulator, or a proxy in front of Artifact Registry). Nothing else ever gets a Google token.
 */
export function isGoogleRegistry(host: string, extraHosts: readonly string[] = []): boolean {
  const name = host.toLowerCase();
  return (
    /^[a-z0-9]+(-[a-z0-9]+)*-docker\.pkg\.dev$/.test(name) ||
    /^([a-z]+\.)?gcr\.io$/.test(name) ||
    extraHosts.some((h) => h.toLowerCase() === name)
  );
}

/** RUNWAY_GOOGLE_REGISTRIES: comma-separated extra hosts that are Google registries. */
export function extraGoogleRegistries(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.RUNWAY_GOOGLE_REGISTRIES ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
}

/**
 * The Artifact Registry repository an image lives in, for messages and gcloud commands:
 * LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/…, or a gcr.io repository (gcr.io/PROJECT/…, whose
 * repository is named after the host and lives in us, europe or asia).
 */
export function artifactRepository(image: Pick<ImageReference, 'host' | 'path'>): {
  project: string;
  location: string;
  repository: string;
} {
  const [project = '', repository = ''] = image.path.split('/');
  const gcr = /^(?:(us|eu|asia)\.)?gcr\.io$/.exec(image.host);
  if (gcr) {
    const location = { us: 'us', eu: 'europe', asia: 'asia' }[gcr[1] ?? 'us'] ?? 'us';
    return { project, location, repository: image.host };
  }
  const location = /^(.+)-docker\.pkg\.dev$/.exec(image.host)?.[1] ?? 'LOCATION';
  return { project, location, repository };
}
