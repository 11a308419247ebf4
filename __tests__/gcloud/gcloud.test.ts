// Conformance with the real client: the installed gcloud runs unmodified against the emulator,
// configured only by its env file (helpers/gcloud.ts sources it as a user would). The flows are
// those of the FastAPI deployment guides: secrets, then deploys with the usual flags, a tagged
// revision without traffic, traffic moves, deletion. Every step is checked by what the service
// URLs answer, and by reading the same service through the v2 API (one resource, two views).
import { admin, env } from '../helpers/emulator.js';
import { buildTestImage, pushImage } from '../helpers/images.js';
import { containerEnv, getService, patchService } from '../helpers/cloudrun.js';
import { seedRuntimeAccount } from '../helpers/auth.js';
import { findGcloud, gcloud, gcloudJson } from '../helpers/gcloud.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const installed = findGcloud();
if (!installed) {
  // One line, outside Jest's console decoration.
  process.stdout.write(
    'gcloud conformance skipped: gcloud is not on PATH; install the Google Cloud CLI (apt-get install google-cloud-cli, or https://cloud.google.com/sdk/docs/install) to run it.\n',
  );
}
const suite = installed ? describe : describe.skip;

const project = (): string => env('RUNWAY_EMULATOR_PROJECT');
const repository = (): string => env('RUNWAY_EMULATOR_REPOSITORY');

/** What a URL answers, or `unreachable` when nothing listens there any more. */
async function answer(url: string, path = '/'): Promise<string> {
  try {
    const res = await fetch(`${url}${path}`);
    return `${res.status} ${(await res.text()).trim()}`;
  } catch {
    return 'unreachable';
  }
}

/** Builds the test app serving `body` and pushes it after `docker login` with gcloud's token. */
async function pushWithGcloudToken(name: string, body: string): Promise<string> {
  const token = (await gcloud(['auth', 'print-access-token'])).stdout.trim();
  await buildTestImage({ tag: `${repository()}/${name}:v1`, body });
  const digest = await pushImage(repository(), name, 'v1', token);
  return `${repository()}/${name}@${digest}`;
}

function tagUrl(service: Json, tag: string): string {
  const target = (service.status.traffic as Json[]).find((t) => t.tag === tag);
  expect(target?.url).toEqual(expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/));
  return target!.url as string;
}

suite('gcloud against the emulator', () => {
  let runtime: string;

  beforeAll(async () => {
    // A runtime account of the test's own, with no project-wide Secret Manager role: only the
    // secret's own policy (set through gcloud below) lets its revisions read the secret.
    runtime = await seedRuntimeAccount('gc-runtime');
  });

  it('authenticates as the deployer from the env file alone, and its token logs docker in to the registry', async () => {
    const token = await gcloud(['auth', 'print-access-token']);
    expect(token.code).toBe(0);
    const before = (await admin.requests()).length;
    const listed = await gcloudJson<Json[]>(['run', 'services', 'list']);
    expect(Array.isArray(listed)).toBe(true);
    const calls = (await admin.requests()).slice(before).filter((r) => r.api === 'run');
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls)
      expect(call.caller).toBe(`serviceAccount:${env('RUNWAY_EMULATOR_SERVICE_ACCOUNT')}`);
    const image = await pushWithGcloudToken('gc-login', 'pushed with a gcloud token');
    expect(image).toMatch(/@sha256:[a-f0-9]{64}$/);
  });

  it('answers whether run.googleapis.com is enabled, as gcloud run deploy asks first', async () => {
    const service = await gcloudJson<Json>(['services', 'list', '--enabled']);
    expect((service as unknown as Json[]).map((s) => s.config.name)).toContain('run.googleapis.com');
  });

  it('manages a secret with the owner credentials: create from stdin, add a version, grant access', async () => {
    const denied = await gcloud(['secrets', 'create', 'gc-denied', '--data-file=-', '--quiet'], {
      input: 'no',
    });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain("Permission 'secretmanager.secrets.create' denied");

    const owner = { owner: true };
    const created = await gcloud(['secrets', 'create', 'gc-db', '--data-file=-', '--quiet'], {
      ...owner,
      input: 'first password',
    });
    expect(created.stderr).toContain('Created version [1] of the secret [gc-db]');
    const added = await gcloud(['secrets', 'versions', 'add', 'gc-db', '--data-file=-', '--quiet'], {
      ...owner,
      input: 'second password',
    });
    expect(added.stderr).toContain('Created version [2] of the secret [gc-db]');
    const policy = await gcloudJson<Json>(
      [
        'secrets',
        'add-iam-policy-binding',
        'gc-db',
        `--member=serviceAccount:${runtime}`,
        '--role=roles/secretmanager.secretAccessor',
      ],
      owner,
    );
    expect(policy.bindings).toEqual([
      { role: 'roles/secretmanager.secretAccessor', members: [`serviceAccount:${runtime}`] },
    ]);
    const latest = await gcloud(['secrets', 'versions', 'access', 'latest', '--secret=gc-db'], owner);
    expect(latest.stdout).toBe('second password');
    const versions = await gcloudJson<Json[]>(['secrets', 'versions', 'list', 'gc-db'], owner);
    expect(versions.map((v) => [v.name.split('/').pop(), v.state])).toEqual([
      ['2', 'ENABLED'],
      ['1', 'ENABLED'],
    ]);
  });

  it('deploys with the guides’ flags, tags a revision without traffic, moves traffic and deletes', async () => {
    const one = await pushWithGcloudToken('gc-app-one', 'gcloud one');
    const two = await pushWithGcloudToken('gc-app-two', 'gcloud two');

    const deployed = await gcloudJson<Json>([
      'run',
      'deploy',
      'gc-svc',
      `--image=${one}`,
      '--set-env-vars=MODE=one,COLOR=blue',
      '--set-secrets=DB_PASSWORD=gc-db:latest',
      '--min-instances=1',
      '--max-instances=3',
      '--memory=256Mi',
      '--cpu=1',
      '--timeout=120',
      '--port=9090',
      `--service-account=${runtime}`,
      '--allow-unauthenticated',
    ]);
    const url = deployed.status.url as string;
    const policy = await gcloudJson<Json>(['run', 'services', 'get-iam-policy', 'gc-svc']);
    expect(policy.bindings).toEqual([{ role: 'roles/run.invoker', members: ['allUsers'] }]);
    expect(await answer(url)).toBe('200 gcloud one');
    const environment = await containerEnv(url);
    expect(environment).toMatchObject({
      MODE: 'one',
      COLOR: 'blue',
      DB_PASSWORD: 'second password',
      PORT: '9090',
      K_SERVICE: 'gc-svc',
    });

    // The same service through v2: the flags landed in the fields they name.
    const v2 = await getService('gc-svc');
    const container = v2!.template.containers as Json[];
    // gcloud's nonce label is v1's alone: v2 labels cannot hold a prefixed key.
    expect(v2!.template.labels).toBeUndefined();
    expect(v2!.template).toMatchObject({
      scaling: { minInstanceCount: 1, maxInstanceCount: 3 },
      timeout: '120s',
      serviceAccount: runtime,
    });
    expect(container[0]).toMatchObject({
      image: one,
      ports: [{ containerPort: 9090 }],
      resources: { limits: { cpu: '1', memory: '256Mi' } },
    });
    expect(container[0]!.env).toEqual(
      expect.arrayContaining([
        { name: 'MODE', value: 'one' },
        { name: 'DB_PASSWORD', valueSource: { secretKeyRef: { secret: 'gc-db', version: 'latest' } } },
      ]),
    );

    const described = await gcloudJson<Json>(['run', 'services', 'describe', 'gc-svc']);
    expect(described.spec.template.metadata.annotations).toMatchObject({
      'autoscaling.knative.dev/minScale': '1',
      'autoscaling.knative.dev/maxScale': '3',
    });
    expect(described.spec.template.spec).toMatchObject({
      timeoutSeconds: 120,
      serviceAccountName: runtime,
      containers: [expect.objectContaining({ resources: { limits: { cpu: '1', memory: '256Mi' } } })],
    });
    const first = described.status.latestReadyRevisionName as string;
    expect(described.status.traffic).toEqual([{ revisionName: first, percent: 100, latestRevision: true }]);

    // A second revision, tagged and without traffic: the service URL still answers the first.
    const tagged = await gcloudJson<Json>([
      'run',
      'deploy',
      'gc-svc',
      `--image=${two}`,
      '--no-traffic',
      '--tag=green',
    ]);
    const green = tagUrl(tagged, 'green');
    expect(await answer(url)).toBe('200 gcloud one');
    expect(await answer(green)).toBe('200 gcloud two');
    // Everything but the image carried over to the new revision.
    expect(await containerEnv(green)).toMatchObject({ MODE: 'one', DB_PASSWORD: 'second password' });

    const revisions = await gcloudJson<Json[]>(['run', 'revisions', 'list', '--service=gc-svc']);
    const second = tagged.status.latestCreatedRevisionName as string;
    expect(revisions.map((r) => r.metadata.name).sort()).toEqual([first, second].sort());
    expect(revisions.every((r) => r.metadata.labels['serving.knative.dev/service'] === 'gc-svc')).toBe(true);

    await gcloudJson(['run', 'services', 'update-traffic', 'gc-svc', '--to-tags=green=100']);
    expect(await answer(url)).toBe('200 gcloud two');
    await gcloudJson(['run', 'services', 'update-traffic', 'gc-svc', `--to-revisions=${first}=100`]);
    expect(await answer(url)).toBe('200 gcloud one');
    await gcloudJson(['run', 'services', 'update-traffic', 'gc-svc', '--to-latest']);
    expect(await answer(url)).toBe('200 gcloud two');
    const latest = await gcloudJson<Json>(['run', 'services', 'describe', 'gc-svc']);
    expect(latest.status.traffic).toEqual(
      expect.arrayContaining([{ revisionName: second, percent: 100, latestRevision: true }]),
    );
    expect(await answer(green)).toBe('200 gcloud two');

    const deleted = await gcloud(['run', 'services', 'delete', 'gc-svc', '--quiet']);
    expect(deleted.code).toBe(0);
    expect(await getService('gc-svc')).toBeUndefined();
    const gone = await gcloud(['run', 'services', 'describe', 'gc-svc']);
    expect(gone.code).not.toBe(0);
    for (let i = 0; i < 50 && (await answer(url)) !== 'unreachable'; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await answer(url)).toBe('unreachable');
  });

  it('refuses a deploy whose runtime account may not read the secret, naming the secret', async () => {
    const image = await pushWithGcloudToken('gc-app-one', 'gcloud one');
    const run = await gcloud([
      'run',
      'deploy',
      'gc-nosecret',
      `--image=${image}`,
      '--set-secrets=DB_PASSWORD=greeting:latest',
      `--service-account=${runtime}`,
      '--quiet',
    ]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(
      `Permission denied on secret: projects/${env('RUNWAY_EMULATOR_PROJECT_NUMBER')}/secrets/greeting/versions/latest for Revision service account ${runtime}`,
    );
  });

  it('reads and updates a service created through v2, and v2 sees what gcloud changed', async () => {
    const image = await pushWithGcloudToken('gc-app-one', 'gcloud one');
    const token = (await gcloud(['auth', 'print-access-token'])).stdout.trim();
    const base = `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/projects/${project()}/locations/us-central1`;
    const created = await fetch(`${base}/services?serviceId=gc-from-v2`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        labels: { team: 'web' },
        invokerIamDisabled: true,
        template: { containers: [{ image, env: [{ name: 'FROM', value: 'v2' }] }] },
      }),
    });
    expect(created.status).toBe(200);
    const op = (await created.json()) as Json;
    await fetch(`${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/${op.name}:wait`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ timeout: '60s' }),
    });

    const described = await gcloudJson<Json>(['run', 'services', 'describe', 'gc-from-v2']);
    expect(described.metadata.labels).toMatchObject({ team: 'web' });
    expect(described.metadata.annotations).toMatchObject({
      'run.googleapis.com/invoker-iam-disabled': 'true',
    });
    expect(described.status.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'Ready', status: 'True' })]),
    );

    const updated = await gcloudJson<Json>([
      'run',
      'services',
      'update',
      'gc-from-v2',
      '--update-env-vars=ADDED=gcloud',
    ]);
    const url = updated.status.url as string;
    expect(await containerEnv(url)).toMatchObject({ FROM: 'v2', ADDED: 'gcloud' });
    const v2 = await getService('gc-from-v2');
    expect(v2!.labels).toEqual({ team: 'web' });
    expect(v2!.invokerIamDisabled).toBe(true);
    expect(v2!.latestReadyRevision).toBe(
      `projects/${project()}/locations/us-central1/services/gc-from-v2/revisions/${updated.status.latestReadyRevisionName}`,
    );

    // And back: a change through v2 is what gcloud describes next.
    await patchService('gc-from-v2', (s) => ({ ...s, labels: { team: 'platform' } }));
    const again = await gcloudJson<Json>(['run', 'services', 'describe', 'gc-from-v2']);
    expect(again.metadata.labels.team).toBe('platform');
    await gcloud(['run', 'services', 'delete', 'gc-from-v2', '--quiet']);
  });

  it('deploys a service with a sidecar through --container flags, and updates one container of it', async () => {
    // gcloud 528 deploys sidecars in GA: each --container starts the flags of one container, one
    // of them names the --port (the ingress container), and --depends-on becomes v1's
    // run.googleapis.com/container-dependencies annotation.
    const token = (await gcloud(['auth', 'print-access-token'])).stdout.trim();
    const push = async (name: string, options: Parameters<typeof buildTestImage>[0]): Promise<string> => {
      await buildTestImage({ ...options, tag: `${repository()}/${name}:v1` });
      return `${repository()}/${name}@${await pushImage(repository(), name, 'v1', token)}`;
    };
    const side = await push('gc-side', { body: 'gcloud sidecar', listenPort: 9000, delayedStart: true });
    const app = await push('gc-ingress', { body: 'gcloud ingress', startupFetch: '9000/' });

    // Flags after a --container belong to that container: the service's (and gcloud's) come first.
    const containerFlags = async (args: string[]): Promise<Json> => {
      const run = await gcloud([...args.slice(0, 4), '--format=json', '--quiet', ...args.slice(4)]);
      if (run.code !== 0) throw new Error(`gcloud ${args.join(' ')} exited ${run.code}:\n${run.stderr}`);
      return JSON.parse(run.stdout) as Json;
    };
    const deployed = await containerFlags([
      'run',
      'deploy',
      'gc-sidecars',
      '--allow-unauthenticated',
      '--container=side',
      `--image=${side}`,
      '--set-env-vars=STARTUP_DELAY=2',
      '--startup-probe=tcpSocket.port=9000,periodSeconds=1,failureThreshold=30',
      '--container=app',
      `--image=${app}`,
      '--port=8080',
      '--depends-on=side',
    ]);
    const url = deployed.status.url as string;
    expect(await answer(url)).toBe('200 gcloud ingress');
    expect(await answer(url, '/startup.txt')).toBe('200 gcloud sidecar');
    expect(await answer(url, '/cgi-bin/fetch?9000/')).toBe('200 gcloud sidecar');
    expect(deployed.spec.template.metadata.annotations['run.googleapis.com/container-dependencies']).toBe(
      '{"app":["side"]}',
    );

    const v2 = await getService('gc-sidecars');
    expect((v2!.template.containers as Json[]).map((c) => [c.name, c.dependsOn, c.ports])).toEqual([
      ['side', undefined, undefined],
      ['app', ['side'], [{ name: 'http1', containerPort: 8080 }]],
    ]);

    // One container changes; the other, and the dependency, carry over.
    const updated = await containerFlags([
      'run',
      'services',
      'update',
      'gc-sidecars',
      '--container=app',
      '--update-env-vars=COLOR=green',
    ]);
    expect(await containerEnv(updated.status.url as string)).toMatchObject({ COLOR: 'green', PORT: '8080' });
    expect(await answer(url, '/startup.txt')).toBe('200 gcloud sidecar');
    await gcloud(['run', 'services', 'delete', 'gc-sidecars', '--quiet']);
  });
});
