// Builds the test app (helpers/app-context.ts) with Docker and pushes it through the emulator's
// registry front, as a deployer would: for conformance tests and the demo. Built images are tagged
// by a hash of their build context, so a test that asks for the same app again skips the build.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { appContext, type AppOptions } from './app-context.js';
import { accessTokenFor } from './auth.js';
import { env } from './emulator.js';

const exec = promisify(execFile);

export interface TestImageOptions extends Omit<AppOptions, 'health' | 'crash'> {
  /** Also tag the built image with this reference (e.g. REGISTRY/PROJECT/REPO/NAME:TAG). */
  tag?: string;
  /** What `/` answers. */
  body?: string;
  /** ok: /health answers 200; fail or missing: /health answers 404. */
  health?: 'ok' | 'fail' | 'missing';
  /** The container exits at once instead of serving (a revision that never becomes ready). */
  exitImmediately?: boolean;
}

async function docker(args: string[], dockerConfig?: string, input?: string): Promise<string> {
  const child = exec('docker', args, {
    // The CLI that may come first on PATH refuses BuildKit without buildx; the legacy builder is enough.
    env: { ...process.env, DOCKER_BUILDKIT: '0', ...(dockerConfig ? { DOCKER_CONFIG: dockerConfig } : {}) },
    maxBuffer: 8 * 1024 * 1024,
  });
  if (input !== undefined) child.child.stdin?.end(input);
  return (await child).stdout;
}

/** Paths, modes and contents of every file under dir, in a stable order. */
function contextHash(dir: string): string {
  const hash = createHash('sha256');
  const walk = (path: string): void => {
    for (const entry of readdirSync(path).sort()) {
      const full = join(path, entry);
      const stat = statSync(full);
      hash.update(`${relative(dir, full)}\0${stat.mode.toString(8)}\0`);
      if (stat.isDirectory()) walk(full);
      else hash.update(readFileSync(full));
    }
  };
  walk(dir);
  return hash.digest('hex');
}

async function imageExists(reference: string): Promise<boolean> {
  return docker(['image', 'inspect', '--format', '{{.Id}}', reference]).then(
    () => true,
    () => false,
  );
}

/** Builds the app (or reuses the identical image built before) and returns a local reference to it. */
export async function buildTestImage(options: TestImageOptions = {}): Promise<string> {
  const { tag, body = 'hello from runway', health = 'ok', exitImmediately = false, ...rest } = options;
  const dir = appContext(body, {
    ...rest,
    health: health === 'ok' ? 'ok' : 'missing',
    crash: exitImmediately,
  });
  try {
    const local = `runway-test-app:${contextHash(dir).slice(0, 20)}`;
    if (!(await imageExists(local))) await docker(['build', '-q', '-t', local, dir]);
    if (!tag) return local;
    await docker(['tag', local, tag]);
    return tag;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The digest the registry holds for NAME:TAG, read through the front as a client would. */
export async function manifestDigest(
  host: string,
  path: string,
  accessToken: string,
): Promise<string | undefined> {
  const res = await fetch(`http://${host}/v2/${path}`, {
    method: 'HEAD',
    headers: {
      authorization: `Basic ${Buffer.from(`oauth2accesstoken:${accessToken}`).toString('base64')}`,
      accept: [
        'application/vnd.docker.distribution.manifest.v2+json',
        'application/vnd.docker.distribution.manifest.list.v2+json',
        'application/vnd.oci.image.manifest.v1+json',
        'application/vnd.oci.image.index.v1+json',
      ].join(', '),
    },
  });
  return res.ok ? (res.headers.get('docker-content-digest') ?? undefined) : undefined;
}

/**
 * Pushes the local image REPOSITORY/NAME:TAG (REPOSITORY = HOST/PROJECT/REPO) after `docker login`
 * with `oauth2accesstoken` in a private DOCKER_CONFIG; returns its digest, sha256:...
 */
export async function pushImage(
  repositoryPath: string,
  name: string,
  tag: string,
  accessToken: string,
): Promise<string> {
  const host = repositoryPath.split('/')[0]!;
  const reference = `${repositoryPath}/${name}:${tag}`;
  const config = mkdtempSync(join(tmpdir(), 'runway-docker-'));
  try {
    await docker(['login', host, '-u', 'oauth2accesstoken', '--password-stdin'], config, accessToken);
    const out = await docker(['push', reference], config);
    const path = `${repositoryPath.slice(host.length + 1)}/${name}/manifests/${tag}`;
    const digest =
      (await manifestDigest(host, path, accessToken)) ?? /digest: (sha256:[a-f0-9]{64})/.exec(out)?.[1];
    if (!digest) throw new Error(`no digest for ${reference}; docker push said: ${out}`);
    return digest;
  } finally {
    rmSync(config, { recursive: true, force: true });
  }
}

/**
 * Pushes a local image to a registry as `user` (a registry's own account, not Google's) from a
 * private DOCKER_CONFIG; returns the digest docker push reported.
 */
export async function pushImageAs(reference: string, user: string, password: string): Promise<string> {
  const host = reference.split('/')[0]!;
  const config = mkdtempSync(join(tmpdir(), 'runway-docker-'));
  try {
    await docker(['login', host, '-u', user, '--password-stdin'], config, password);
    const out = await docker(['push', reference], config);
    const digest = /digest: (sha256:[a-f0-9]{64})/.exec(out)?.[1];
    if (!digest) throw new Error(`no digest for ${reference}; docker push said: ${out}`);
    return digest;
  } finally {
    rmSync(config, { recursive: true, force: true });
  }
}

/**
 * Builds an app serving `body`, pushes it to the emulator's repository as NAME:test with a token
 * for `serviceAccount` (the deployer by default), and returns the image by digest.
 */
export async function pushTestImage(
  name: string,
  body: string,
  options: AppOptions = {},
  serviceAccount?: string,
): Promise<string> {
  const repository = env('RUNWAY_EMULATOR_REPOSITORY');
  const { crash, health, ...rest } = options;
  await buildTestImage({
    ...rest,
    tag: `${repository}/${name}:test`,
    body,
    ...(health ? { health } : {}),
    ...(crash ? { exitImmediately: true } : {}),
  });
  const digest = await pushImage(repository, name, 'test', await accessTokenFor(serviceAccount));
  return `${repository}/${name}@${digest}`;
}

/**
 * Builds a job image FROM scratch with the static busybox, whose entrypoint is `sh -c` and whose
 * default command prints one line: a job gives its script as `args`. Pushes it to the emulator's
 * repository as NAME:test (as the deployer) and returns it by digest.
 */
export async function pushJobImage(name: string): Promise<string> {
  const repository = env('RUNWAY_EMULATOR_REPOSITORY');
  const dir = mkdtempSync(join(tmpdir(), 'runway-job-'));
  try {
    copyFileSync('/bin/busybox', join(dir, 'busybox'));
    writeFileSync(
      join(dir, 'Dockerfile'),
      [
        'FROM scratch',
        'COPY busybox /bin/busybox',
        'ENV PATH=/bin',
        'ENTRYPOINT ["/bin/busybox", "sh", "-c"]',
        'CMD ["echo the default command"]',
        '',
      ].join('\n'),
    );
    const local = `runway-test-job:${contextHash(dir).slice(0, 20)}`;
    if (!(await imageExists(local))) await docker(['build', '-q', '-t', local, dir]);
    await docker(['tag', local, `${repository}/${name}:test`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const digest = await pushImage(repository, name, 'test', await accessTokenFor());
  return `${repository}/${name}@${digest}`;
}
