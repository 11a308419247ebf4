// Conformance with the real client: the installed gcloud runs unmodified against the emulator,
// configured only by its env file (helpers/gcloud.ts sources it as a user would). The flows are
// those of the FastAPI deployment guides: secrets, then deploys with the usual flags, a tagged
// revision without traffic, traffic moves, deletion. Every step is checked by what the service
// URLs answer, and by reading the same service through the v2 API (one resource, two views).
import { admin, env } from '../helpers/emulator.js';
import { answer, containerEnv, getService } from '../helpers/cloudrun.js';
import { seedRuntimeAccount } from '../helpers/auth.js';
import { gcloud, gcloudJson, gcloudSuite, pushWithGcloudToken } from '../helpers/gcloud.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const suite = gcloudSuite('gcloud conformance');

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

  // About twenty gcloud calls in a row (a second or more of CPU each): on a loaded two-core machine
  // that passes Jest's default 180 s, so the hang guard here is longer.
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
  }, 360_000);
});
