// End to end, a service whose sidecar comes first: Cloud Run does not require the ingress container
// (the one with a port) to be first, and Runway's new image must go to it, not to containers[0].
// The sidecar keeps its image and still runs beside the new revision (one network namespace).
import { deployImage, expectSuccess } from '../helpers/action.js';
import { accessTokenFor } from '../helpers/auth.js';
import { getService } from '../helpers/cloudrun.js';
import { env } from '../helpers/emulator.js';
import { pushTestImage } from '../helpers/images.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const base = (): string =>
  `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/projects/${env('RUNWAY_EMULATOR_PROJECT')}/locations/us-central1`;

async function call(method: string, path: string, body?: unknown): Promise<Json> {
  const res = await fetch(path.startsWith('http') ? path : `${base()}${path}`, {
    method,
    headers: { authorization: `Bearer ${await accessTokenFor()}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as Json;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const text = async (url: string): Promise<string> => (await (await fetch(url)).text()).trim();

let sidecar: string;
let stable: string;
let next: string;

beforeAll(async () => {
  [sidecar, stable, next] = await Promise.all([
    pushTestImage('sc-sidecar', 'sidecar', { listenPort: 9000 }),
    pushTestImage('sc-stable', 'stable'),
    pushTestImage('sc-next', 'next'),
  ]);
});

it('deploys the new image into the ingress container when the sidecar comes first; the sidecar keeps its own', async () => {
  const side = {
    name: 'side',
    image: sidecar,
    startupProbe: { tcpSocket: { port: 9000 }, periodSeconds: 1, failureThreshold: 30 },
  };
  const op = await call('POST', '/services?serviceId=e2e-sidecar-first', {
    invokerIamDisabled: true,
    template: {
      containers: [
        side,
        { name: 'app', image: stable, ports: [{ containerPort: 8080 }], dependsOn: ['side'] },
      ],
    },
  });
  const done = await call('POST', `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/${op.name}:wait`, {
    timeout: '90s',
  });
  expect(done.error).toBeUndefined();

  const run = await deployImage('e2e-sidecar-first', next, { allow_unauthenticated: '' });
  expectSuccess(run);
  const service = (await getService('e2e-sidecar-first'))!;
  const containers = service.template.containers as Json[];
  expect(containers.map((c) => [c.name, c.image])).toEqual([
    ['side', sidecar],
    ['app', next],
  ]);
  expect(containers[1]!.dependsOn).toEqual(['side']);
  // The service URL reaches the new ingress container, which still reaches the sidecar on localhost.
  expect(await text(run.outputs.url!)).toBe('next');
  expect(await text(`${run.outputs.url}/cgi-bin/fetch?9000/`)).toBe('sidecar');
});
