import {
  artifactRepository,
  buildImageReference,
  extraGoogleRegistries,
  formatImage,
  isGoogleRegistry,
  parseImageReference,
  registryBaseUrl,
} from '../../src/image/reference.js';
import {
  cacheReference,
  parseBuildxInspect,
  planBuild,
  type BuildPlan,
  type BuilderDriver,
} from '../../src/image/build-plan.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  credentialHelperScript,
  digestFromPushOutput,
  isTransientPushFailure,
  privateConfigFrom,
} from '../../src/image/docker.js';
import { parseChallenge } from '../../src/image/registry.js';

describe('image references', () => {
  it('parses host, path, tag and digest', () => {
    expect(parseImageReference('us-docker.pkg.dev/p/r/app:v1')).toEqual({
      host: 'us-docker.pkg.dev',
      path: 'p/r/app',
      tag: 'v1',
      digest: undefined,
    });
    expect(parseImageReference('127.0.0.1:5000/p/r/app@sha256:abc')).toEqual({
      host: '127.0.0.1:5000',
      path: 'p/r/app',
      tag: undefined,
      digest: 'sha256:abc',
    });
  });
  it('resolves Docker Hub short names as Docker does', () => {
    expect(parseImageReference('nginx:1.27')).toEqual({
      host: 'docker.io',
      path: 'library/nginx',
      tag: '1.27',
      digest: undefined,
    });
    expect(parseImageReference('docker.io/nginx')).toMatchObject({
      host: 'docker.io',
      path: 'library/nginx',
    });
    expect(parseImageReference('bitnami/redis:7')).toMatchObject({
      host: 'docker.io',
      path: 'bitnami/redis',
    });
    expect(parseImageReference('index.docker.io/x/y')).toMatchObject({ host: 'docker.io', path: 'x/y' });
    expect(parseImageReference('localhost/app')).toMatchObject({ host: 'localhost', path: 'app' });
    expect(registryBaseUrl('docker.io')).toBe('https://registry-1.docker.io');
  });
  it('names built images after the service unless the repository path names the image', () => {
    expect(formatImage(buildImageReference('us-docker.pkg.dev/p/r', 'hello', 'abc'), 'tag')).toBe(
      'us-docker.pkg.dev/p/r/hello:abc',
    );
    expect(formatImage(buildImageReference('us-docker.pkg.dev/p/r/app/', 'hello', 'abc'), 'tag')).toBe(
      'us-docker.pkg.dev/p/r/app:abc',
    );
  });
  it('speaks HTTP only to loopback registries', () => {
    expect(registryBaseUrl('127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
    expect(registryBaseUrl('localhost:5000')).toBe('http://localhost:5000');
    expect(registryBaseUrl('us-docker.pkg.dev')).toBe('https://us-docker.pkg.dev');
  });
});

describe('the Artifact Registry repository of an image', () => {
  it('reads Artifact Registry and gcr.io hosts', () => {
    expect(artifactRepository({ host: 'us-central1-docker.pkg.dev', path: 'p/repo/app' })).toEqual({
      project: 'p',
      location: 'us-central1',
      repository: 'repo',
    });
    expect(artifactRepository({ host: 'eu.gcr.io', path: 'p/app' })).toEqual({
      project: 'p',
      location: 'europe',
      repository: 'eu.gcr.io',
    });
    expect(artifactRepository({ host: 'gcr.io', path: 'p/app' })).toMatchObject({ location: 'us' });
    expect(artifactRepository({ host: '127.0.0.1:5000', path: 'p/r/app' })).toEqual({
      project: 'p',
      location: 'LOCATION',
      repository: 'r',
    });
  });
});

describe('which registries get Google tokens', () => {
  it.each([
    ['us-central1-docker.pkg.dev', true],
    ['europe-docker.pkg.dev', true],
    ['gcr.io', true],
    ['eu.gcr.io', true],
    ['docker.io', false],
    ['registry-1.docker.io', false],
    ['ghcr.io', false],
    ['us-central1-docker.pkg.dev.evil.example', false],
    ['us-central1-docker-pkg.dev', false],
    ['gcr.io.evil.example', false],
    ['notgcr.io', false],
    ['127.0.0.1:5000', false],
  ])('%s → %s', (host, google) => {
    expect(isGoogleRegistry(host)).toBe(google);
  });
  it('adds the hosts RUNWAY_GOOGLE_REGISTRIES names, exactly', () => {
    const extra = extraGoogleRegistries({ RUNWAY_GOOGLE_REGISTRIES: '127.0.0.1:5000, mirror.internal' });
    expect(extra).toEqual(['127.0.0.1:5000', 'mirror.internal']);
    expect(isGoogleRegistry('127.0.0.1:5000', extra)).toBe(true);
    expect(isGoogleRegistry('127.0.0.1:5001', extra)).toBe(false);
    expect(extraGoogleRegistries({})).toEqual([]);
  });
});

describe('registry challenges', () => {
  it('parses a Bearer challenge with quoted, comma-separated parameters', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:library/nginx:pull,push',
      },
    });
    expect(parseChallenge('Basic realm="Artifact Registry"')).toEqual({
      scheme: 'basic',
      params: { realm: 'Artifact Registry' },
    });
    expect(parseChallenge(null)).toBeUndefined();
  });
});

describe('build commands per builder driver', () => {
  const image = buildImageReference('h/p/r', 'svc', 'sha1');
  const plan: BuildPlan = {
    context: 'app',
    dockerfile: 'app/Dockerfile.prod',
    buildArgs: { VERSION: '1.2.3' },
    secrets: { npm: 's3cret-value' },
    target: 'prod',
    platform: 'linux/amd64',
    image,
    cacheRef: cacheReference(image),
  };
  const bare: BuildPlan = {
    ...plan,
    dockerfile: undefined,
    buildArgs: {},
    secrets: {},
    target: undefined,
    platform: undefined,
    cacheRef: undefined,
  };
  const common = [
    '--tag',
    'h/p/r/svc:sha1',
    '--file',
    'app/Dockerfile.prod',
    '--target',
    'prod',
    '--platform',
    'linux/amd64',
    '--build-arg',
    'VERSION',
    '--secret',
    'id=npm,env=RUNWAY_BUILD_SECRET_0',
  ];

  it('docker-container and remote: registry cache export (mode=max) and import, pushed by the build', () => {
    for (const driver of ['docker-container', 'remote', 'kubernetes'] as const) {
      expect(planBuild(plan, driver, { metadataFile: '/tmp/m.json' }).args).toEqual([
        'buildx',
        'build',
        ...common,
        '--cache-from',
        'type=registry,ref=h/p/r/svc:buildcache',
        '--cache-to',
        'type=registry,ref=h/p/r/svc:buildcache,mode=max',
        '--push',
        '--metadata-file',
        '/tmp/m.json',
        '--',
        'app',
      ]);
    }
  });

  it('docker driver (GitHub default): inline cache pushed as the cache tag, no registry export', () => {
    const command = planBuild(plan, 'docker', { metadataFile: '/tmp/m.json' });
    expect(command.args).toEqual([
      'buildx',
      'build',
      ...common,
      '--tag',
      'h/p/r/svc:buildcache',
      '--cache-from',
      'type=registry,ref=h/p/r/svc:buildcache',
      '--cache-to',
      'type=inline',
      '--push',
      '--metadata-file',
      '/tmp/m.json',
      '--',
      'app',
    ]);
    expect(command.args.join(' ')).not.toContain('type=registry,ref=h/p/r/svc:buildcache,mode=max');
    expect(command.pushes).toBe(true);
    expect(command.pushAfter).toEqual([]);
  });

  it('no buildx: classic builder, inline cache, docker push of the image then the cache', () => {
    const command = planBuild({ ...plan, secrets: {} }, 'none');
    expect(command.args).toEqual([
      'build',
      ...common.slice(0, -2),
      '--cache-from',
      'h/p/r/svc:buildcache',
      '--build-arg',
      'BUILDKIT_INLINE_CACHE=1',
      '--',
      'app',
    ]);
    expect(command.pushes).toBe(false);
    expect(command.pushAfter).toEqual(['h/p/r/svc:sha1', 'h/p/r/svc:buildcache']);
  });

  it('without cache, options or values: the bare command', () => {
    const drivers: BuilderDriver[] = ['docker', 'docker-container', 'remote'];
    for (const driver of drivers) {
      expect(planBuild(bare, driver).args).toEqual([
        'buildx',
        'build',
        '--tag',
        'h/p/r/svc:sha1',
        '--push',
        '--',
        'app',
      ]);
    }
    expect(planBuild(bare, 'none')).toEqual({
      args: ['build', '--tag', 'h/p/r/svc:sha1', '--', 'app'],
      env: {},
      pushes: false,
      pushAfter: ['h/p/r/svc:sha1'],
    });
  });

  it('build-arg and secret values travel in the environment, never in argv', () => {
    for (const driver of ['docker', 'docker-container', 'remote', 'none'] as const) {
      const command = planBuild(driver === 'none' ? { ...plan, secrets: {} } : plan, driver);
      expect(command.args.join(' ')).not.toContain('1.2.3');
      expect(command.args.join(' ')).not.toContain('s3cret-value');
      expect(command.env.VERSION).toBe('1.2.3');
      if (driver !== 'none') expect(command.env.RUNWAY_BUILD_SECRET_0).toBe('s3cret-value');
    }
  });

  it('names the builder only when one was asked for, and never to the classic builder', () => {
    expect(planBuild(bare, 'docker-container', { builder: 'builder-1' }).args.slice(0, 4)).toEqual([
      'buildx',
      'build',
      '--builder',
      'builder-1',
    ]);
    expect(planBuild(bare, 'none', { builder: 'builder-1' }).args).not.toContain('--builder');
  });

  it('ends the options before the context, so a context like an option stays a context', () => {
    expect(planBuild({ ...bare, context: '--help' }, 'none').args.slice(-2)).toEqual(['--', '--help']);
  });
});

describe('buildx inspect', () => {
  it('reads the builder name and driver', () => {
    const output = [
      'Name:          builder-7f3',
      'Driver:        docker-container',
      'Last Activity: 2026-11-24 10:00:00 +0000 UTC',
      '',
      'Nodes:',
      'Name:      builder-7f30',
      'Endpoint:  unix:///var/run/docker.sock',
    ].join('\n');
    expect(parseBuildxInspect(output)).toEqual({ name: 'builder-7f3', driver: 'docker-container' });
    expect(parseBuildxInspect('Name: default\nDriver: docker\n')).toEqual({
      name: 'default',
      driver: 'docker',
    });
    expect(parseBuildxInspect('Name: x\nDriver: cloud\n')).toEqual({ name: 'x', driver: 'remote' });
    expect(parseBuildxInspect('nothing useful')).toBeUndefined();
  });
});

describe('the private Docker config', () => {
  it("keeps the user's logins, stores and helpers, and lets Runway's helper answer for the host", () => {
    const user = {
      auths: { 'ghcr.io': { auth: 'dXNlcjpwYXNz' }, 'us-docker.pkg.dev': { auth: 'b2xk' } },
      credsStore: 'desktop',
      credHelpers: { 'us-docker.pkg.dev': 'gcloud', 'ecr.example': 'ecr-login' },
      proxies: { default: { httpProxy: 'http://proxy:3128' } },
    };
    expect(privateConfigFrom(user, 'us-docker.pkg.dev')).toEqual({
      auths: { 'ghcr.io': { auth: 'dXNlcjpwYXNz' } },
      credsStore: 'desktop',
      credHelpers: { 'us-docker.pkg.dev': 'runway', 'ecr.example': 'ecr-login' },
      proxies: { default: { httpProxy: 'http://proxy:3128' } },
    });
    expect(privateConfigFrom({}, 'h')).toEqual({ auths: {}, credHelpers: { h: 'runway' } });
  });

  it('its credential helper answers `get` with the token file as it is now, as Docker expects', () => {
    const dir = mkdtempSync(join(tmpdir(), "runway-helper-it's-"));
    try {
      const token = join(dir, 'token');
      const helper = join(dir, 'docker-credential-runway');
      writeFileSync(helper, credentialHelperScript(token), { mode: 0o700 });
      const get = (): unknown =>
        JSON.parse(execFileSync(helper, ['get'], { input: '127.0.0.1:5000' }).toString());
      writeFileSync(token, 'ya29.first');
      expect(get()).toEqual({
        ServerURL: '127.0.0.1:5000',
        Username: 'oauth2accesstoken',
        Secret: 'ya29.first',
      });
      writeFileSync(token, 'ya29.second');
      expect(get()).toMatchObject({ Secret: 'ya29.second' });
      expect(execFileSync(helper, ['erase'], { input: '127.0.0.1:5000' }).toString()).toBe('');
      expect(JSON.parse(execFileSync(helper, ['list']).toString())).toEqual({});
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('docker push output', () => {
  it('reads the digest docker push prints', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(digestFromPushOutput(`abc: Pushed\nsha1: digest: ${digest} size: 528\n`)).toBe(digest);
    expect(digestFromPushOutput('nothing')).toBeUndefined();
  });

  it.each([
    ['received unexpected HTTP status: 503 Service Unavailable', true],
    ['received unexpected HTTP status: 429 Too Many Requests', true],
    ['Put "http://127.0.0.1:5000/v2/p/r/i/blobs/uploads/x": EOF', true],
    ['write tcp 127.0.0.1:1->127.0.0.1:2: write: connection reset by peer', true],
    ['denied: Permission "artifactregistry.repositories.uploadArtifacts" denied', false],
    ['unauthorized: authentication required', false],
    ['name unknown: Repository "x" not found', false],
    ['An image does not exist locally with the tag: x', false],
  ])('a push that failed with %j is worth another attempt: %s', (output, transient) => {
    expect(isTransientPushFailure(output)).toBe(transient);
  });
});
