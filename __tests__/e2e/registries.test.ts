// End to end: which registry gets which credential. Google tokens go to Artifact Registry only —
// never to a Docker-Hub-style public registry or a private non-Google one (the emulator's request
// log records any Google token in an Authorization header); digests are resolved through the
// registry's Bearer challenge; a repository that does not exist or may not be pushed to fails
// before anything is built or deployed; a build that outlives its token still pushes.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { admin, env, type RequestRecord } from '../helpers/emulator.js';
import { appContext } from '../helpers/app-context.js';
import { authInputs, deployApp, errorOf, runAction } from '../helpers/action.js';
import { seedServiceAccount } from '../helpers/auth.js';
import { buildTestImage, pushImageAs, pushTestImage } from '../helpers/images.js';

const quickHealth = {
  allow_unauthenticated: 'true',
  health_check_timeout: '20s',
  health_check_successes: '2',
};

async function requestsSince(before: number): Promise<RequestRecord[]> {
  return (await admin.requests()).slice(before);
}

/** What the job log shows: everything but the ::add-mask:: commands the runner consumes. */
function shown(run: { stdout: string; stderr: string }): string {
  return `${run.stdout}\n${run.stderr}`
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
}

/** Cloud Run calls that change something (validateOnly dry runs change nothing). */
function runChanges(calls: RequestRecord[]): RequestRecord[] {
  return calls.filter((r) => r.api === 'run' && r.method !== 'GET' && !r.path.includes('validateOnly'));
}

describe('registry credentials', () => {
  it('deploys a public image from a Docker-Hub-style registry without sending it a Google token', async () => {
    const host = env('RUNWAY_EMULATOR_PUBLIC_REGISTRY');
    const reference = `${host}/library/e2e-public:1.0`;
    await buildTestImage({ tag: reference, body: 'public image' });
    const digest = await pushImageAs(
      reference,
      env('RUNWAY_EMULATOR_PUBLIC_REGISTRY_USER'),
      env('RUNWAY_EMULATOR_PUBLIC_REGISTRY_PASSWORD'),
    );
    const before = (await admin.requests()).length;
    const run = await runAction({ ...authInputs(), ...quickHealth, service: 'e2e-public', image: reference });
    expect(run.exitCode).toBe(0);
    expect(run.outputs.image).toBe(`${host}/library/e2e-public@${digest}`);
    const calls = (await requestsSince(before)).filter((r) => r.api === 'registry-public');
    // The challenge flow: the manifest is refused, a token is fetched anonymously, then it is served.
    const manifest = '/v2/library/e2e-public/manifests/1.0';
    expect(calls.find((r) => r.path === manifest)?.status).toBe(401);
    expect(calls.some((r) => r.path.startsWith('/token?') && r.status === 200)).toBe(true);
    expect(calls.some((r) => r.path === manifest && r.status === 200)).toBe(true);
    expect(calls.filter((r) => r.googleToken)).toEqual([]);
  });

  it('resolves an Artifact Registry tag through its Bearer challenge with oauth2accesstoken', async () => {
    const image = await pushTestImage('e2e-resolve', 'resolved');
    const tag = image.replace(/@sha256:.*$/, ':test');
    const before = (await admin.requests()).length;
    const run = await runAction({ ...authInputs(), ...quickHealth, service: 'e2e-resolve', image: tag });
    expect(run.exitCode).toBe(0);
    expect(run.outputs.image).toBe(image);
    const calls = (await requestsSince(before)).filter((r) => r.api === 'registry');
    const manifest = calls.filter((r) => r.path.endsWith('/e2e-resolve/manifests/test'));
    expect(manifest.map((r) => r.status)).toEqual([401, 200]);
    const token = calls.find((r) => r.path.startsWith('/v2/token?'));
    expect(token).toMatchObject({ status: 200, googleToken: true });
    expect(token?.path).toContain(encodeURIComponent('repository:runway-demo/runway/e2e-resolve:pull'));
  });

  it("builds to a non-Google private registry with the user's own docker login and no Google token", async () => {
    const host = env('RUNWAY_EMULATOR_PRIVATE_REGISTRY');
    const dockerConfig = mkdtempSync(join(tmpdir(), 'runway-user-docker-'));
    try {
      execFileSync(
        'docker',
        ['login', host, '-u', env('RUNWAY_EMULATOR_PRIVATE_REGISTRY_USER'), '--password-stdin'],
        {
          input: env('RUNWAY_EMULATOR_PRIVATE_REGISTRY_PASSWORD'),
          env: { ...process.env, DOCKER_CONFIG: dockerConfig },
        },
      );
      const before = (await admin.requests()).length;
      const run = await runAction(
        {
          ...authInputs(),
          ...quickHealth,
          service: 'e2e-private',
          context: appContext('private'),
          repository: `${host}/team/apps`,
        },
        { DOCKER_CONFIG: dockerConfig },
      );
      const calls = await requestsSince(before);
      const registry = calls.filter((r) => r.api === 'registry-private');
      // Pushed as the user the user logged in as.
      expect(
        registry.some(
          (r) =>
            r.method === 'PUT' && r.path.includes('/team/apps/e2e-private/manifests/') && r.status === 201,
        ),
      ).toBe(true);
      expect(registry.filter((r) => r.caller !== null).every((r) => r.caller === 'user:ci-bot')).toBe(true);
      expect(registry.filter((r) => r.googleToken)).toEqual([]);
      expect(run.stdout).toContain('is not a Google registry');
    } finally {
      rmSync(dockerConfig, { recursive: true, force: true });
    }
  });
});

describe('images that cannot be resolved fail before any change, with the registry answer', () => {
  it('a tag that does not exist', async () => {
    const before = (await admin.requests()).length;
    const run = await runAction({
      ...authInputs(),
      ...quickHealth,
      service: 'e2e-no-tag',
      image: `${env('RUNWAY_EMULATOR_REPOSITORY')}/e2e-no-tag:missing`,
    });
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toContain('was not found in the registry');
    expect(errorOf(run)).toContain('MANIFEST_UNKNOWN');
    expect(errorOf(run)).toContain('`image`');
    expect(runChanges(await requestsSince(before))).toEqual([]);
  });

  it('a private image on a non-Google registry is asked for anonymously, never with a Google token', async () => {
    const host = env('RUNWAY_EMULATOR_PRIVATE_REGISTRY');
    const reference = `${host}/team/apps/e2e-private-image:1`;
    await buildTestImage({ tag: reference, body: 'private image' });
    await pushImageAs(
      reference,
      env('RUNWAY_EMULATOR_PRIVATE_REGISTRY_USER'),
      env('RUNWAY_EMULATOR_PRIVATE_REGISTRY_PASSWORD'),
    );
    const before = (await admin.requests()).length;
    const run = await runAction({
      ...authInputs(),
      ...quickHealth,
      service: 'e2e-private-image',
      image: reference,
    });
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toContain(`The registry refused to resolve ${reference}`);
    expect(errorOf(run)).toContain('HTTP 401 UNAUTHORIZED');
    const calls = await requestsSince(before);
    const registry = calls.filter((r) => r.api === 'registry-private');
    expect(registry.length).toBeGreaterThan(0);
    expect(registry.filter((r) => r.googleToken)).toEqual([]);
    expect(runChanges(calls)).toEqual([]);
  });
});

describe('the right to push, proven before anything is built or deployed', () => {
  it('refuses a repository that does not exist, naming the `repository` input', async () => {
    const before = (await admin.requests()).length;
    const run = await deployApp('e2e-norepo', 'x', {
      repository: `${env('RUNWAY_EMULATOR_REPOSITORY').split('/')[0]}/${env('RUNWAY_EMULATOR_PROJECT')}/never-created`,
    });
    expect(run.exitCode).toBe(1);
    const error = errorOf(run);
    expect(error).toContain('`repository`');
    expect(error).toContain('does not exist');
    expect(error).toContain('gcloud artifacts repositories create never-created');
    const calls = await requestsSince(before);
    expect(calls.filter((r) => r.api === 'registry' && r.method === 'PUT')).toEqual([]);
    expect(runChanges(calls)).toEqual([]);
    expect(run.stdout).not.toContain('[command]docker build');
  });

  it('a missing roles/artifactregistry.writer fails before the build, with the command that grants it', async () => {
    const reader = await seedServiceAccount('e2e-registry-reader', [
      'roles/run.admin',
      'roles/artifactregistry.reader',
    ]);
    const before = (await admin.requests()).length;
    const run = await deployApp('e2e-nowriter', 'x', { service_account: reader });
    expect(run.exitCode).toBe(1);
    const error = errorOf(run);
    expect(error).toContain(`${reader} may not push`);
    expect(error).toContain('roles/artifactregistry.writer');
    expect(error).toContain(
      `gcloud artifacts repositories add-iam-policy-binding runway --project=${env('RUNWAY_EMULATOR_PROJECT')}`,
    );
    expect(run.stdout).not.toContain('[command]docker build');
    expect(runChanges(await requestsSince(before))).toEqual([]);
  });
});

describe('builds on short-lived credentials', () => {
  afterEach(async () => {
    await admin.seed({ tokenLifetimeSeconds: 3600 });
  });

  it('a build longer than the token lifetime hands Docker a fresh token before it pushes', async () => {
    // Tokens live 15 s (as Direct Workload Identity tokens live only as long as the OIDC token);
    // the build sleeps 25 s, so the token handed to Docker before it has expired by the push.
    await admin.seed({ tokenLifetimeSeconds: 15 });
    const context = appContext('slow build');
    appendFileSync(join(context, 'Dockerfile'), 'RUN ["/bin/busybox", "sleep", "25"]\n');
    const before = (await admin.requests()).length;
    const run = await runAction({
      ...authInputs(),
      ...quickHealth,
      service: 'e2e-slow-build',
      context,
      repository: env('RUNWAY_EMULATOR_REPOSITORY'),
      cache: 'false',
    });
    expect(run.exitCode).toBe(0);
    expect(run.outputs.image).toMatch(/\/e2e-slow-build@sha256:[a-f0-9]{64}$/);
    const pushes = (await requestsSince(before)).filter(
      (r) => r.api === 'registry' && r.method === 'PUT' && r.path.includes('/e2e-slow-build/manifests/'),
    );
    expect(pushes.map((r) => r.status)).toEqual([201]);
    // The login lived in a private Docker config under RUNNER_TEMP, saved for the post step and
    // already removed by the main step.
    const saved = /::save-state name=docker-config::(.+)/.exec(run.stdout)?.[1];
    expect(saved).toBeDefined();
    expect(existsSync(saved!)).toBe(false);
  });
});

describe('build arguments and secrets', () => {
  it('build-arg values reach the build through the environment and never the log', async () => {
    const context = appContext('args');
    // The value is baked into a file the app serves, so the build really received it.
    appendFileSync(
      join(context, 'Dockerfile'),
      'ARG GREETING\nRUN ["/bin/busybox", "sh", "-c", "echo \\"$GREETING\\" > /www/greeting"]\n',
    );
    const run = await runAction({
      ...authInputs(),
      ...quickHealth,
      service: 'e2e-build-args',
      context,
      repository: env('RUNWAY_EMULATOR_REPOSITORY'),
      build_args: 'GREETING=hello-from-a-build-arg',
    });
    expect(run.exitCode).toBe(0);
    expect(await (await fetch(`${run.outputs.url}/greeting`)).text()).toBe('hello-from-a-build-arg\n');
    expect(run.stdout).toMatch(/\[command\]\S*docker build .*--build-arg GREETING .*-- /);
    expect(shown(run)).not.toContain('hello-from-a-build-arg');
    expect(run.stdout).toContain('::add-mask::hello-from-a-build-arg');
  });

  it('build_secrets without buildx fail before the build with the step to add', async () => {
    const before = (await admin.requests()).length;
    const run = await deployApp('e2e-build-secrets', 'x', { build_secrets: 'npm=s3cret-npm-token' });
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toContain('`build_secrets` need BuildKit');
    expect(errorOf(run)).toContain('docker/setup-buildx-action');
    expect(shown(run)).not.toContain('s3cret-npm-token');
    expect(runChanges(await requestsSince(before))).toEqual([]);
  });
});

describe('the post step', () => {
  it('removes the Docker config holding the login when the main step could not', () => {
    const root = resolve(import.meta.dirname ?? '.', '..', '..');
    const dir = mkdtempSync(join(tmpdir(), 'runway-docker-'));
    writeFileSync(join(dir, 'config.json'), '{"auths":{"h":{"auth":"b2F1dGgyYWNjZXNzdG9rZW46eWEyOQ=="}}}');
    execFileSync(join(root, 'node_modules/.bin/node'), [join(root, 'dist/post/index.js')], {
      env: { PATH: process.env.PATH ?? '', 'STATE_docker-config': dir },
    });
    expect(existsSync(dir)).toBe(false);
  });
});
