// `source`: the directory packed as gcloud packs it (its own gcloudignore implementation, run with
// gcloud's bundled Python, is the reference), the tarball as tar reads it, gcloud's bucket name,
// the builds:submit request for a Docker build and for buildpacks (checked against Cloud Run's
// schema), the bucket-squatting refusal, and the inputs.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { chooseEntries, FileChooser, packSource } from '../../src/image/source-archive.js';
import {
  ensureSourceBucket,
  sourceBucketName,
  sourceObjectName,
  submitBuildRequest,
} from '../../src/image/remote-build.js';
import { GoogleApiError } from '../../src/common/http.js';
import { describeError, RunwayError } from '../../src/errors.js';
import { readSettings } from '../../src/inputs/inputs.js';
import { checkRequest } from '../../emulator/schema/validate.js';
import { schemaOf } from '../../emulator/schema/schema.js';

const PYTHON = '/usr/lib/google-cloud-sdk/platform/bundledpythonunix/bin/python3';
const SDK = '/usr/lib/google-cloud-sdk/lib';

/** What gcloud itself would upload from dir: gcloudignore.GetFileChooserForDir, as `--source` calls it. */
function gcloudChooses(dir: string, ignoreFile?: string): string[] {
  const script = [
    'import sys, json',
    `sys.path.insert(0, '${SDK}'); sys.path.insert(0, '${SDK}/third_party')`,
    'from googlecloudsdk.command_lib.util import gcloudignore',
    'c = gcloudignore.GetFileChooserForDir(sys.argv[1], write_on_disk=False, ignore_file=sys.argv[2] or None)',
    'print(json.dumps(sorted(c.GetIncludedFiles(sys.argv[1], include_dirs=True))))',
  ].join('\n');
  const config = mkdtempSync(join(tmpdir(), 'gcloud-config-'));
  try {
    return JSON.parse(
      execFileSync(PYTHON, ['-c', script, dir, ignoreFile ?? ''], {
        encoding: 'utf8',
        env: { ...process.env, CLOUDSDK_CONFIG: config },
      }),
    ) as string[];
  } finally {
    rmSync(config, { recursive: true, force: true });
  }
}

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'runway-source-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    if (!path.endsWith('/')) writeFileSync(join(dir, path), text);
  }
  return dir;
}

const ours = (dir: string, ignoreFile?: string): string[] =>
  chooseEntries(dir, FileChooser.forDirectory(dir, ignoreFile).chooser)
    .map((e) => e.path)
    .sort();

const FIXTURES: Record<string, Record<string, string>> = {
  'a Git checkout without .gcloudignore: the default file, with .gitignore included': {
    '.git/HEAD': 'ref',
    '.gitignore': 'node_modules/\n*.log\n!keep/k.log\n/secret.txt\n',
    Dockerfile: 'FROM scratch',
    'a/b/c.txt': '',
    'a/x.log': '',
    'a/secret.txt': 'not anchored here',
    'secret.txt': 'anchored',
    'node_modules/x/i.js': '',
    'keep/k.log': '',
    '.env': '',
  },
  'a .gcloudignore: anchors, **, directories only, negation, escapes and comments': {
    '.gcloudignore':
      '# comment\n.gcloudignore\n/build\n**/tmp/**\ndocs/\n!docs\n*.py[co]\n\\#literal\nspace\\ \nlib/*.js\n!lib/keep.js\n*\n!src\n!src/**\n!Dockerfile\n',
    Dockerfile: '',
    'build/out': '',
    'src/build/x': '',
    'src/tmp/y': '',
    'src/a.pyc': '',
    'src/a.py': '',
    'src/#literal': '',
    'src/space ': '',
    'src/docs/d.md': '',
    docs: 'a file named docs',
    'lib/a.js': '',
    'lib/keep.js': '',
  },
  'no Git and no ignore file: every file': {
    Dockerfile: '',
    '.hidden': '',
    'deep/er/file': '',
  },
  'an ignored directory keeps its files ignored, even when a later line re-includes one': {
    '.gcloudignore': 'vendor/\n!vendor/keep.txt\n',
    'vendor/keep.txt': '',
    'vendor/other.txt': '',
    'app.txt': '',
  },
  '#!include of .gitignore inside a .gcloudignore': {
    '.gcloudignore': '#!include:.gitignore\n*.tmp\n',
    '.gitignore': 'dist/\n',
    'dist/bundle.js': '',
    'x.tmp': '',
    'main.go': '',
  },
};

describe('packing the source as gcloud does', () => {
  for (const [name, files] of Object.entries(FIXTURES)) {
    it(`chooses what gcloud chooses: ${name}`, () => {
      const dir = tree(files);
      try {
        expect(ours(dir)).toEqual(gcloudChooses(dir));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('honours --ignore-file as gcloud does, and refuses one that does not exist', () => {
    const dir = tree({
      'custom.ignore': '*.md\n',
      'README.md': '',
      'main.go': '',
      '.gcloudignore': 'main.go\n',
    });
    try {
      expect(ours(dir, 'custom.ignore')).toEqual(gcloudChooses(dir, 'custom.ignore'));
      expect(() => FileChooser.forDirectory(dir, 'missing.ignore')).toThrow(RunwayError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes a gzipped tarball tar reads: directories first, files with their bytes and modes, owned by root', () => {
    const long = `${'deep/'.repeat(30)}file.txt`;
    const dir = tree({
      Dockerfile: 'FROM scratch\n',
      'www/index.html': 'hello\n',
      [long]: 'far down\n',
      '.gcloudignore': 'secret\n',
      secret: 'no',
    });
    symlinkSync('index.html', join(dir, 'www', 'link.html'));
    try {
      const archive = packSource(dir);
      expect(archive.hasDockerfile).toBe(true);
      const out = mkdtempSync(join(tmpdir(), 'runway-untar-'));
      execFileSync('tar', ['-xf', '-', '-C', out], { input: gunzipSync(archive.data) });
      const listing = execFileSync('tar', ['-tvf', '-'], {
        input: gunzipSync(archive.data),
        encoding: 'utf8',
      });
      expect(listing).toContain('root/root');
      expect(listing).not.toContain('secret');
      expect(execFileSync('cat', [join(out, 'www', 'index.html')], { encoding: 'utf8' })).toBe('hello\n');
      expect(execFileSync('cat', [join(out, long)], { encoding: 'utf8' })).toBe('far down\n');
      expect(execFileSync('readlink', [join(out, 'www', 'link.html')], { encoding: 'utf8' }).trim()).toBe(
        'index.html',
      );
      const names = execFileSync('tar', ['-tf', '-'], {
        input: gunzipSync(archive.data),
        encoding: 'utf8',
      }).split('\n');
      expect(names.indexOf('www/')).toBeLessThan(names.indexOf('Dockerfile'));
      rmSync(out, { recursive: true, force: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sees no Dockerfile in a source for buildpacks', () => {
    const dir = tree({ 'package.json': '{}', 'sub/Dockerfile': '' });
    try {
      expect(packSource(dir).hasDockerfile).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("gcloud's names and Cloud Run's request", () => {
  it('names the bucket run-sources-PROJECT-REGION, sanitised as gcloud does', () => {
    expect(sourceBucketName('my-project', 'europe-west1')).toBe('run-sources-my-project-europe-west1');
    expect(sourceBucketName('example.com:my-google-app', 'us-central1')).toBe(
      'run-sources-example_com_my-elgoog-app-us-central1',
    );
    expect(sourceObjectName('svc', new Date(1_700_000_000_123), 'ab-cd')).toBe(
      'services/svc/1700000000.123000-abcd.tar.gz',
    );
  });

  const plan = {
    bucket: 'run-sources-p-us-central1',
    object: 'services/svc/1.tar.gz',
    generation: '1700000000123456',
    imageUri: 'us-central1-docker.pkg.dev/p/r/svc:sha',
    build: { serviceAccount: undefined, workerPool: undefined, env: undefined },
    tag: 'service_svc',
  };
  const valid = (body: unknown): unknown =>
    checkRequest(schemaOf('run-v2'), 'google.cloud.run.v2.Builds.SubmitBuild', {
      query: new URLSearchParams(),
      body: { parent: 'projects/p/locations/us-central1', ...(body as object) },
    });

  it('asks for a Docker build when the source has a Dockerfile, valid against the schema', () => {
    const body = submitBuildRequest({
      ...plan,
      hasDockerfile: true,
      baseImage: undefined,
      automaticUpdates: undefined,
    });
    expect(body).toEqual({
      storageSource: { bucket: plan.bucket, object: plan.object, generation: plan.generation },
      imageUri: plan.imageUri,
      dockerBuild: {},
      tags: ['service_svc'],
    });
    expect(() => valid(body)).not.toThrow();
  });

  it('asks for buildpacks with the base image and automatic updates when there is none, valid against the schema', () => {
    const body = submitBuildRequest({
      ...plan,
      hasDockerfile: false,
      baseImage: 'us-central1-docker.pkg.dev/serverless-runtimes/google-22/runtimes/nodejs22',
      automaticUpdates: true,
    });
    expect(body.buildpackBuild).toEqual({
      baseImage: 'us-central1-docker.pkg.dev/serverless-runtimes/google-22/runtimes/nodejs22',
      enableAutomaticUpdates: true,
    });
    expect(body.dockerBuild).toBeUndefined();
    expect(() => valid(body)).not.toThrow();
  });
});

describe('the source bucket', () => {
  const storage = (buckets: { own: string[]; existing: string[]; getStatus?: number }) => {
    const created: string[] = [];
    return {
      created,
      client: {
        getBucket: async (name: string) => {
          if (buckets.getStatus)
            throw new GoogleApiError('GET', 'u', buckets.getStatus, { error: { code: buckets.getStatus } });
          return buckets.existing.includes(name) ? { id: name, name } : undefined;
        },
        listBuckets: async (_p: string, prefix: string) =>
          buckets.own.filter((b) => b.startsWith(prefix)).map((id) => ({ id, name: id })),
        createBucket: async (_p: string, b: { name: string }) => {
          created.push(b.name);
          return { id: b.name };
        },
        uploadObject: async () => ({}),
      },
    };
  };
  const NAME = 'run-sources-p-us-central1';

  it('creates the bucket when it is missing', async () => {
    const s = storage({ own: [], existing: [] });
    await expect(ensureSourceBucket(s.client, 'p', 'us-central1')).resolves.toBe(NAME);
    expect(s.created).toEqual([NAME]);
  });

  it("uses the project's own existing bucket", async () => {
    const s = storage({ own: [NAME], existing: [NAME] });
    await expect(ensureSourceBucket(s.client, 'p', 'us-central1')).resolves.toBe(NAME);
    expect(s.created).toEqual([]);
  });

  it('refuses a bucket of that name that another project owns (squatting)', async () => {
    const s = storage({ own: [], existing: [NAME] });
    await expect(ensureSourceBucket(s.client, 'p', 'us-central1')).rejects.toThrow(/another project/);
    const hidden = storage({ own: [], existing: [], getStatus: 403 });
    await expect(ensureSourceBucket(hidden.client, 'p', 'us-central1')).rejects.toThrow(/may not read it/);
  });
});

describe('the source input', () => {
  const read = (inputs: Record<string, string>) => () => readSettings((name) => inputs[name] ?? '');
  const base = { service: 'svc', region: 'us-central1', repository: 'us-central1-docker.pkg.dev/p/r' };

  it('reads `source` with the buildpacks options', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runway-src-'));
    try {
      const settings = read({ ...base, source: dir, base_image: 'nodejs22', automatic_updates: 'true' })();
      expect(settings.image).toEqual({
        kind: 'source',
        source: dir,
        repository: base.repository,
        baseImage: 'nodejs22',
        automaticUpdates: true,
        build: undefined,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses `source` beside `context` or `image`, and runner-build inputs beside `source`', () => {
    const refusal = (inputs: Record<string, string>): string => {
      try {
        read(inputs)();
      } catch (err) {
        return describeError(err);
      }
      return 'accepted';
    };
    expect(refusal({ ...base, source: '.', context: '.' })).toMatch(
      /`source` \(build it on Google\), not several/,
    );
    expect(refusal({ ...base, source: '.', image: 'us-docker.pkg.dev/p/r/i:1' })).toMatch(/not several/);
    expect(refusal({ ...base, source: '.', build_args: 'A=1' })).toMatch(/Input 'build_args'/);
    expect(refusal({ ...base, context: '.', base_image: 'x' })).toMatch(/Input 'base_image'/);
    expect(refusal({ service: 'svc', source: '.' })).toMatch(/required with `source`/);
  });
});
