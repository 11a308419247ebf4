// Liveness probes, run as Cloud Run runs them against a revision's real containers: once the
// instance has started, every periodSeconds; after failureThreshold failures in a row the failure
// is on the revision's run.googleapis.com/varlog/system log and a new instance takes the old one's
// place (new containers, the same URL); a probe that keeps passing never restarts anything.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { admin, env } from '../helpers/emulator.js';
import { accessTokenFor, seedServiceAccount } from '../helpers/auth.js';
import { answer, runV2, until, waitV2 } from '../helpers/cloudrun.js';
import { pushTestImage } from '../helpers/images.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const exec = promisify(execFile);
const project = (): string => env('RUNWAY_EMULATOR_PROJECT');
const SYSTEM_LOG = (): string => `projects/${project()}/logs/run.googleapis.com%2Fvarlog%2Fsystem`;

let reader: string;
let flaky: string;
let counted: string;
let sidecar: string;

beforeAll(async () => {
  reader = await seedServiceAccount('liveness-logs', ['roles/logging.viewer']);
  [flaky, counted, sidecar] = await Promise.all([
    // /cgi-bin/flaky answers 200 five times, then 503; each start says so on stdout.
    pushTestImage('lv-flaky', 'flaky', { flakyPasses: 5, say: [{ stream: 'stdout', text: 'started' }] }),
    // /cgi-bin/counted answers "ok N" for its Nth request.
    pushTestImage('lv-counted', 'counted'),
    pushTestImage('lv-side', 'side', { listenPort: 9000 }),
  ]);
}, 180_000);

/** Creates SERVICE with these containers and waits for it; the service as read back. */
async function deploy(service: string, ...containers: Json[]): Promise<Json> {
  const created = await runV2('POST', `/services?serviceId=${service}`, {
    invokerIamDisabled: true,
    template: { containers },
  });
  expect(created.status).toBe(200);
  expect((await waitV2(created.body)).error).toBeUndefined();
  return (await runV2('GET', `/services/${service}`)).body;
}

/** The serving revision's container ids, as the emulator's state holds them. */
async function containerIds(service: string): Promise<string[]> {
  const state = (await admin.state()) as { run: { services: Json[] } };
  const svc = state.run.services.find((s) => s.name.endsWith(`/services/${service}`));
  const serving = (svc?.revisions as Json[] | undefined)?.find((r) => r.state === 'ready');
  return ((serving?.containers as Json[] | undefined) ?? []).map((c) => c.id as string);
}

/** The service's entries in Cloud Logging, oldest first. */
async function entries(service: string): Promise<Json[]> {
  const res = await fetch(`${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING')}v2/entries:list`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await accessTokenFor(reader)}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      resourceNames: [`projects/${project()}`],
      filter: `resource.type = "cloud_run_revision" AND resource.labels.service_name = "${service}"`,
      orderBy: 'timestamp asc',
    }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as Json).entries ?? [];
}

const systemLines = async (service: string): Promise<Json[]> =>
  (await entries(service)).filter((e) => e.logName === SYSTEM_LOG());

/** Docker's containers for a revision (its pause container is the pool's, not the revision's). */
async function dockerContainersOf(revision: string): Promise<string[]> {
  const { stdout } = await exec('docker', ['ps', '-aq', '--filter', `label=runway-revision=${revision}`]);
  return stdout.split(/\s+/).filter(Boolean);
}

/** Deletes the service and checks nothing of its revision is left running. */
async function remove(service: string, revision: string): Promise<void> {
  expect((await waitV2((await runV2('DELETE', `/services/${service}`)).body)).error).toBeUndefined();
  expect(await dockerContainersOf(revision)).toEqual([]);
}

describe('liveness probes', () => {
  it.concurrent(
    'an HTTP probe that starts failing restarts the instance: logged, new containers, the URL serves again',
    async () => {
      const svc = await deploy('lv-http', {
        image: flaky,
        livenessProbe: {
          httpGet: { path: '/cgi-bin/flaky' },
          periodSeconds: 1,
          timeoutSeconds: 1,
          failureThreshold: 1,
        },
      });
      const revision = (svc.latestReadyRevision as string).split('/').pop()!;
      const [first] = await containerIds('lv-http');
      expect(first).toBeDefined();

      // Five probes pass, the sixth gets a 503: Cloud Run's system line, as an error of the revision.
      await until('the liveness failure in the logs', async () => (await systemLines('lv-http')).length > 0);
      const [line] = await systemLines('lv-http');
      expect(line).toMatchObject({
        severity: 'ERROR',
        resource: {
          type: 'cloud_run_revision',
          labels: { service_name: 'lv-http', revision_name: revision },
        },
        textPayload:
          'LIVENESS HTTP probe failed 1 time consecutively for the container on port 8080 path "/cgi-bin/flaky". The instance has been shut down.',
      });
      expect(line!.labels.instanceId).toMatch(/^[0-9a-f]{64}$/);

      // A new instance in its place: new containers, its start in the logs under its own id, and
      // the same URL answering from it.
      await until('a new container', async () => {
        const [now] = await containerIds('lv-http');
        return now !== undefined && now !== first;
      });
      await until(
        'the second start',
        async () => (await entries('lv-http')).filter((e) => e.textPayload === 'started').length >= 2,
      );
      const starts = (await entries('lv-http')).filter((e) => e.textPayload === 'started');
      expect(starts[0]!.labels.instanceId).toBe(line!.labels.instanceId);
      expect(starts[1]!.labels.instanceId).not.toBe(starts[0]!.labels.instanceId);
      await until('the URL to answer', async () => (await answer(svc.uri)) === '200 flaky');

      await remove('lv-http', revision);
    },
    120_000,
  );

  it.concurrent(
    'a probe that keeps passing restarts nothing',
    async () => {
      const svc = await deploy('lv-healthy', {
        image: counted,
        livenessProbe: {
          httpGet: { path: '/cgi-bin/counted' },
          periodSeconds: 1,
          failureThreshold: 1,
        },
      });
      const revision = (svc.latestReadyRevision as string).split('/').pop()!;
      const before = await containerIds('lv-healthy');
      // The app counts the probes: one container has answered at least five of them.
      await until('five probes', async () => {
        const n = Number(/^200 ok (\d+)$/.exec(await answer(svc.uri, '/cgi-bin/counted'))?.[1]);
        return n > 5;
      });
      expect(await containerIds('lv-healthy')).toEqual(before);
      expect(await systemLines('lv-healthy')).toEqual([]);
      await remove('lv-healthy', revision);
    },
    120_000,
  );

  it.concurrent(
    'a TCP probe of a port nothing listens on restarts the instance; deleting it stops the restarts',
    async () => {
      const svc = await deploy('lv-tcp', {
        image: counted,
        livenessProbe: { tcpSocket: { port: 9999 }, periodSeconds: 1, failureThreshold: 2 },
      });
      const revision = (svc.latestReadyRevision as string).split('/').pop()!;
      const [first] = await containerIds('lv-tcp');
      await until('the liveness failure in the logs', async () => (await systemLines('lv-tcp')).length > 0);
      expect((await systemLines('lv-tcp'))[0]).toMatchObject({
        severity: 'ERROR',
        textPayload:
          'LIVENESS TCP probe failed 2 times consecutively for the container on port 9999. The instance has been shut down. Connection failed with status ERROR_CONNECTION_FAILED.',
      });
      await until('a new container', async () => {
        const [now] = await containerIds('lv-tcp');
        return now !== undefined && now !== first;
      });
      // The new instance fails too, and backs off before the next: deleting the service meanwhile
      // leaves nothing behind.
      await remove('lv-tcp', revision);
    },
    120_000,
  );

  it.concurrent(
    'a sidecar that fails its probe takes the whole instance down: both containers start again',
    async () => {
      const svc = await deploy(
        'lv-sidecar',
        {
          name: 'side',
          image: sidecar,
          startupProbe: { tcpSocket: { port: 9000 }, periodSeconds: 1, failureThreshold: 10 },
          livenessProbe: { httpGet: { path: '/missing', port: 9000 }, periodSeconds: 1, failureThreshold: 2 },
        },
        { name: 'app', image: counted, ports: [{ containerPort: 8080 }], dependsOn: ['side'] },
      );
      const revision = (svc.latestReadyRevision as string).split('/').pop()!;
      const first = await containerIds('lv-sidecar');
      expect(first).toHaveLength(2);
      await until(
        'the liveness failure in the logs',
        async () => (await systemLines('lv-sidecar')).length > 0,
      );
      expect((await systemLines('lv-sidecar'))[0]).toMatchObject({
        severity: 'ERROR',
        labels: { container_name: 'side' },
        textPayload:
          'LIVENESS HTTP probe failed 2 times consecutively for container "side" on port 9000 path "/missing". The instance has been shut down.',
      });
      await until('new containers for both', async () => {
        const now = await containerIds('lv-sidecar');
        return now.length === 2 && now.every((id, i) => id !== first[i]);
      });
      await remove('lv-sidecar', revision);
    },
    120_000,
  );
});
