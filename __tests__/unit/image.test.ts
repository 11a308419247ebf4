import {
  buildImageReference,
  formatImage,
  parseImageReference,
  registryBaseUrl,
} from '../../src/image/reference.js';
import { cacheReference, digestFromPushOutput, dockerBuildArgs } from '../../src/image/docker.js';

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
    expect(parseImageReference('busybox')).toEqual({
      host: 'docker.io',
      path: 'busybox',
      tag: undefined,
      digest: undefined,
    });
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

describe('docker arguments', () => {
  const image = buildImageReference('h/p/r', 'svc', 'sha1');
  const plan = {
    context: 'app',
    dockerfile: 'app/Dockerfile.prod',
    buildArgs: { A: '1' },
    target: 'prod',
    platform: 'linux/amd64',
    image,
    cacheRef: cacheReference(image),
  };
  it('classic builder: tag, dockerfile, target, platform, build args, inline cache, context last', () => {
    expect(dockerBuildArgs(plan, 'classic')).toEqual([
      'build',
      '--tag',
      'h/p/r/svc:sha1',
      '--file',
      'app/Dockerfile.prod',
      '--target',
      'prod',
      '--platform',
      'linux/amd64',
      '--build-arg',
      'A=1',
      '--cache-from',
      'h/p/r/svc:buildcache',
      '--build-arg',
      'BUILDKIT_INLINE_CACHE=1',
      'app',
    ]);
  });
  it('buildx: registry cache import and export, pushed by the build, digest in the metadata file', () => {
    expect(dockerBuildArgs(plan, 'buildx', '/tmp/m.json')).toEqual([
      'buildx',
      'build',
      '--tag',
      'h/p/r/svc:sha1',
      '--file',
      'app/Dockerfile.prod',
      '--target',
      'prod',
      '--platform',
      'linux/amd64',
      '--build-arg',
      'A=1',
      '--cache-from',
      'type=registry,ref=h/p/r/svc:buildcache',
      '--cache-to',
      'type=registry,ref=h/p/r/svc:buildcache,mode=max',
      '--push',
      '--metadata-file',
      '/tmp/m.json',
      'app',
    ]);
  });
  it('no cache flags when the cache is off', () => {
    expect(
      dockerBuildArgs(
        {
          ...plan,
          cacheRef: undefined,
          dockerfile: undefined,
          target: undefined,
          platform: undefined,
          buildArgs: {},
        },
        'classic',
      ),
    ).toEqual(['build', '--tag', 'h/p/r/svc:sha1', 'app']);
  });
  it('reads the digest docker push prints', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(digestFromPushOutput(`abc: Pushed\nsha1: digest: ${digest} size: 528\n`)).toBe(digest);
    expect(digestFromPushOutput('nothing')).toBeUndefined();
  });
});
