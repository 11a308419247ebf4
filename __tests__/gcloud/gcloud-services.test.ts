// Conformance with the real client, continued from gcloud.test.ts (split so that Jest's workers run
// the two side by side): the installed gcloud, configured only by the emulator's env file, refuses
// a secret its runtime account may not read, updates a service created through v2 (one resource,
// two views), deploys and updates a service with a sidecar through --container flags, and deploys
// with the Binary Authorization and CMEK flags as Runway does from the same `flags`; beside Runway,
// it refuses a name given as a plain and a secret variable alike, and nests flags files alike.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deployImage, errorOf, expectSuccess } from '../helpers/action.js';
import { env } from '../helpers/emulator.js';
import { buildTestImage, pushImage } from '../helpers/images.js';
import { answer, containerEnv, getService, patchService } from '../helpers/cloudrun.js';
import { seedRuntimeAccount } from '../helpers/auth.js';
import { gcloud, gcloudJson, gcloudSuite, pushWithGcloudToken } from '../helpers/gcloud.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const suite = gcloudSuite('gcloud services conformance');

const project = (): string => env('RUNWAY_EMULATOR_PROJECT');
const repository = (): string => env('RUNWAY_EMULATOR_REPOSITORY');

suite('gcloud against the emulator: secrets refused, v2 round trips, sidecars', () => {
  let runtime: string;

  beforeAll(async () => {
    // A runtime account of the test's own, with no Secret Manager role at all.
    runtime = await seedRuntimeAccount('gc-runtime');
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

  it('deploys with --binary-authorization, --breakglass, --key and the key shutdown flags as Runway does from the same flags', async () => {
    // gcloud writes them as v1 annotations (binary-authorization and -breakglass on the service,
    // encryption-key, post-key-revocation-action-type and encryption-key-shutdown-hours on the
    // revision template); Runway sets the v2 fields. The two must land on the same service.
    const image = await pushWithGcloudToken('gc-app-one', 'gcloud one');
    const key = `projects/${project()}/locations/us-central1/keyRings/ring/cryptoKeys/key`;
    const flags = [
      '--binary-authorization=default',
      '--breakglass=incident 42',
      `--key=${key}`,
      '--post-key-revocation-action-type=shut-down',
      '--encryption-key-shutdown-hours=2',
    ];
    const theirs = await gcloudJson<Json>(['run', 'deploy', 'gc-cmek', `--image=${image}`, ...flags]);
    expect(theirs.metadata.annotations).toMatchObject({
      'run.googleapis.com/binary-authorization': 'default',
      'run.googleapis.com/binary-authorization-breakglass': 'incident 42',
    });
    const run = await deployImage('gc-cmek-runway', image, {
      flags: flags.map((f) => (f.includes(' ') ? `"${f}"` : f)).join(' '),
    });
    expectSuccess(run);

    const fields = (s: Json): Json => ({
      binaryAuthorization: s.binaryAuthorization,
      encryptionKey: s.template.encryptionKey,
      encryptionKeyRevocationAction: s.template.encryptionKeyRevocationAction,
      encryptionKeyShutdownDuration: s.template.encryptionKeyShutdownDuration,
    });
    const expected = {
      binaryAuthorization: { useDefault: true, breakglassJustification: 'incident 42' },
      encryptionKey: key,
      encryptionKeyRevocationAction: 'SHUTDOWN',
      encryptionKeyShutdownDuration: '7200s',
    };
    expect(fields((await getService('gc-cmek'))!)).toEqual(expected);
    expect(fields((await getService('gc-cmek-runway'))!)).toEqual(expected);

    // And what Runway set reads back through v1 as gcloud wrote it.
    const described = await gcloudJson<Json>(['run', 'services', 'describe', 'gc-cmek-runway']);
    expect(described.metadata.annotations).toMatchObject({
      'run.googleapis.com/binary-authorization': 'default',
      'run.googleapis.com/binary-authorization-breakglass': 'incident 42',
    });
    expect(described.spec.template.metadata.annotations).toMatchObject({
      'run.googleapis.com/encryption-key': key,
      'run.googleapis.com/post-key-revocation-action-type': 'shut-down',
      'run.googleapis.com/encryption-key-shutdown-hours': '2',
    });

    // --clear-key takes the key and both shutdown settings away, in either tool.
    const cleared = await gcloud(['run', 'deploy', 'gc-cmek', `--image=${image}`, '--clear-key', '--quiet']);
    expect(cleared.code).toBe(0);
    expectSuccess(await deployImage('gc-cmek-runway', image, { flags: '--clear-key' }));
    // Not binaryAuthorization: here gcloud's second deploy lost the breakglass justification and
    // Runway's kept it (gcloud's help says the next deploy clears it); which is Cloud Run's is open.
    const none = {
      encryptionKey: undefined,
      encryptionKeyRevocationAction: undefined,
      encryptionKeyShutdownDuration: undefined,
    };
    expect(fields((await getService('gc-cmek'))!)).toMatchObject(none);
    expect(fields((await getService('gc-cmek-runway'))!)).toMatchObject(none);
    await gcloud(['run', 'services', 'delete', 'gc-cmek', '--quiet']);
    await gcloud(['run', 'services', 'delete', 'gc-cmek-runway', '--quiet']);
  });
});

suite('gcloud and Runway side by side on the same flags', () => {
  it('refuse a name given as a plain and as a secret variable in one command, and change nothing', async () => {
    const image = await pushWithGcloudToken('gc-app-kinds', 'gcloud kinds');
    const theirs = await gcloud([
      'run',
      'deploy',
      'gc-kinds',
      `--image=${image}`,
      '--update-env-vars=DB=plain-value',
      '--update-secrets=DB=greeting:latest',
      '--quiet',
    ]);
    expect(theirs.code).not.toBe(0);
    const said =
      'Cannot update environment variable [DB] to the given type because it has already been set with a different type';
    expect(theirs.stderr).toContain(said);
    const ours = await deployImage('rw-kinds', image, {
      env_vars: 'DB=plain-value',
      flags: '--update-secrets=DB=greeting:latest',
    });
    expect(ours.exitCode).toBe(1);
    expect(errorOf(ours)).toContain(
      '`env_vars` gives "DB" as a plain environment variable, and `flags` (--update-secrets) as a secret',
    );
    expect(errorOf(ours)).toContain(said);
    expect(ours.stdout).not.toContain('plain-value');
    expect(await getService('gc-kinds')).toBeUndefined();
    expect(await getService('rw-kinds')).toBeUndefined();
  });

  it('read a --flags-file inside a flags file in its place, and refuse one that names itself', async () => {
    const image = await pushWithGcloudToken('gc-app-nested', 'gcloud nested');
    const dir = mkdtempSync(join(tmpdir(), 'runway-nested-flags-'));
    const inner = join(dir, 'inner.yaml');
    const outer = join(dir, 'outer.yaml');
    writeFileSync(inner, '--description: from the inner file\n--update-env-vars: {NESTED: "1"}\n');
    writeFileSync(outer, `--concurrency: 7\n--flags-file: [${inner}]\n--description: from the outer file\n`);
    const theirs = await gcloud([
      'run',
      'deploy',
      'gc-nested',
      `--image=${image}`,
      `--flags-file=${outer}`,
      '--allow-unauthenticated',
      '--quiet',
    ]);
    expect(theirs.code).toBe(0);
    expectSuccess(await deployImage('rw-nested', image, { flags: `--flags-file=${outer}` }));
    const shape = async (name: string): Promise<Json> => {
      const service = (await getService(name)) as Json;
      return {
        description: service.description,
        concurrency: service.template.maxInstanceRequestConcurrency,
        env: (service.template.containers as Json[])[0]!.env,
      };
    };
    const gcloudMade = await shape('gc-nested');
    expect(gcloudMade).toEqual({
      description: 'from the outer file',
      concurrency: 7,
      env: [{ name: 'NESTED', value: '1' }],
    });
    expect(await shape('rw-nested')).toEqual(gcloudMade);

    writeFileSync(inner, `--flags-file: ${outer}\n`);
    const cycle = await gcloud(['run', 'deploy', 'gc-nested', `--image=${image}`, `--flags-file=${outer}`]);
    expect(cycle.code).not.toBe(0);
    expect(cycle.stderr).toContain('--flags-file recursive reference');
    const ours = await deployImage('rw-nested', image, { flags: `--flags-file=${outer}` });
    expect(ours.exitCode).toBe(1);
    expect(errorOf(ours)).toContain('which gcloud refuses ("--flags-file recursive reference")');
  });
});
