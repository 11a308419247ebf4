// 3: how long after the emulator marks a new revision Ready each client knows it. Runway's
// operations.wait and the @google-cloud/run client's LRO polling wait on the same create
// operation; gcloud run deploy makes revisions of its own with the same start-up delays.
import { v2 } from '@google-cloud/run';
import { OAuth2Client } from 'google-auth-library';
import { CloudRunClient } from '../../src/gcp/run.js';
import type { Operation } from '../../src/gcp/run-types.js';
import { admin, env } from '../../__tests__/helpers/emulator.js';
import { accessTokenFor } from '../../__tests__/helpers/auth.js';
import { deleteService, getService } from '../../__tests__/helpers/cloudrun.js';
import { gcloud } from '../../__tests__/helpers/gcloud.js';
import { fresh, stats, type Stats } from './harness.js';

/** Start-up delays of the revisions, in seconds, cycled through. */
export const STARTUP_DELAYS = [0.5, 1, 2];

export interface ReadinessResults {
  runway: Stats;
  gax: Stats;
  gcloud: Stats;
}

const region = 'us-central1';

/** When the emulator marked the service's newest revision Ready (its updateTime). */
async function readyAt(service: string, token: string): Promise<number> {
  const live = await getService(service);
  const revision = live?.latestReadyRevision as string | undefined;
  if (!revision) throw new Error(`${service} has no ready revision`);
  const res = await fetch(`${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/${revision}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return Date.parse(((await res.json()) as { updateTime: string }).updateTime);
}

export async function measureReadiness(image: string, runs: number): Promise<ReadinessResults> {
  const token = await accessTokenFor();
  const project = env('RUNWAY_EMULATOR_PROJECT');
  const runBase = env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN');
  const url = new URL(runBase);
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: token });
  const gax = new v2.ServicesClient({
    fallback: true,
    apiEndpoint: url.hostname,
    port: Number(url.port),
    protocol: 'http',
    authClient,
  });
  const runway = new CloudRunClient(() => Promise.resolve(token), runBase);
  const latency = { runway: [] as number[], gax: [] as number[], gcloud: [] as number[] };
  const gcloudService = fresh('bench-gcloud');
  try {
    for (let i = 0; i < runs * STARTUP_DELAYS.length; i++) {
      const delay = String(STARTUP_DELAYS[i % STARTUP_DELAYS.length]);
      const service = fresh('bench-ready');
      const res = await fetch(
        `${runBase}v2/projects/${project}/locations/${region}/services?serviceId=${service}`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            invokerIamDisabled: true,
            template: { containers: [{ image, env: [{ name: 'STARTUP_DELAY', value: delay }] }] },
          }),
        },
      );
      const op = (await res.json()) as Operation;
      const [runwayKnew, gaxKnew] = await Promise.all([
        runway.waitOperation(op, Date.now() + 120_000).then(() => Date.now()),
        gax
          .checkCreateServiceProgress(op.name)
          .then((operation) => operation.promise())
          .then(() => Date.now()),
      ]);
      const ready = await readyAt(service, token);
      latency.runway.push(runwayKnew - ready);
      latency.gax.push(gaxKnew - ready);
      await deleteService(service);

      // gcloud waits with operations.wait (v1) or by reading the service; its last such request
      // is the one that told it the deploy was done.
      const started = Date.now();
      const deployed = await gcloud([
        'run',
        'deploy',
        gcloudService,
        `--image=${image}`,
        `--region=${region}`,
        `--set-env-vars=STARTUP_DELAY=${delay},RUN=${i}`,
        '--allow-unauthenticated',
        '--quiet',
      ]);
      if (deployed.code !== 0) throw new Error(`gcloud run deploy failed:\n${deployed.stderr}`);
      const waits = (await admin.requests()).filter(
        (r) =>
          Date.parse(r.time) >= started &&
          r.api === 'run' &&
          (/\/operations\/[^/]+:wait/.test(r.path) ||
            (r.method === 'GET' && r.path.split('?')[0]!.endsWith(`/services/${gcloudService}`))),
      );
      const last = waits.at(-1);
      if (!last) throw new Error('gcloud neither waited on an operation nor read the service it deployed');
      latency.gcloud.push(Date.parse(last.time) + last.durationMs - (await readyAt(gcloudService, token)));
    }
  } finally {
    await gax.close();
    await deleteService(gcloudService);
  }
  return { runway: stats(latency.runway), gax: stats(latency.gax), gcloud: stats(latency.gcloud) };
}
