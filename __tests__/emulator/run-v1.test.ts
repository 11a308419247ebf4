// Conformance of the Cloud Run v1 (Knative serving) view, reached as gcloud reaches it: through the
// emulator's proxy, on the regional host gcloud derives (REGION-127.0.0.1:PORT). The v1 view and
// v2 are one resource: what one writes the other reads, with the same permission checks.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import tls from 'node:tls';
import { env } from '../helpers/emulator.js';
import { accessTokenFor, seedServiceAccount } from '../helpers/auth.js';
import { getService } from '../helpers/cloudrun.js';
import { pushTestImage } from '../helpers/images.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const project = (): string => env('RUNWAY_EMULATOR_PROJECT');
const runPort = (): string => new URL(env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')).port;
const regional = (): string => `us-central1-127.0.0.1:${runPort()}`;
const ns = (): string => `/apis/serving.knative.dev/v1/namespaces/${project()}`;

/** A request through the proxy (CLOUDSDK_PROXY_*), to `host` (the regional one by default). */
function viaProxy(
  method: string,
  path: string,
  options: { body?: unknown; token?: string; host?: string } = {},
): Promise<{ status: number; body: Json; text: string }> {
  const host = options.host ?? regional();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: Number(env('CLOUDSDK_PROXY_PORT')),
        method,
        path: `http://${host}${path}`,
        headers: {
          host,
          'content-type': 'application/json',
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          let body: Json = {};
          try {
            body = text ? (JSON.parse(text) as Json) : {};
          } catch {
            // not JSON: the proxy's own refusals are text
          }
          resolve({ status: res.statusCode ?? 0, body, text });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body === undefined ? undefined : JSON.stringify(options.body));
  });
}

async function v1(
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; body: Json }> {
  const { status, body: json } = await viaProxy(method, path, {
    body,
    token: token ?? (await accessTokenFor()),
  });
  return { status, body: json };
}

/** Polls the v1 service until its Ready condition is fresh and decided, as gcloud does. */
async function settled(name: string): Promise<Json> {
  for (let i = 0; i < 300; i++) {
    const { body } = await v1('GET', `${ns()}/services/${name}`);
    const ready = (body.status?.conditions as Json[] | undefined)?.find((c) => c.type === 'Ready');
    if (body.status?.observedGeneration === body.metadata?.generation && ready?.status !== 'Unknown')
      return body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not settle`);
}

function knative(name: string, image: string, extra: Json = {}): Json {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, annotations: { 'run.googleapis.com/invoker-iam-disabled': 'true' } },
    spec: {
      template: {
        metadata: { annotations: { 'autoscaling.knative.dev/maxScale': '4' } },
        spec: { containers: [{ image, env: [{ name: 'GREETING', value: 'hi' }] }], timeoutSeconds: 60 },
      },
      ...extra,
    },
  };
}

let image: string;

beforeAll(async () => {
  image = await pushTestImage('conf-v1', 'v1 view');
});

describe('Cloud Run v1 through the regional host', () => {
  it('creates a service that serves, reads back as Knative, and is the same service in v2', async () => {
    const created = await v1('POST', `${ns()}/services`, knative('conf-v1-a', image));
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: {
        name: 'conf-v1-a',
        namespace: env('RUNWAY_EMULATOR_PROJECT_NUMBER'),
        generation: 1,
        labels: { 'cloud.googleapis.com/location': 'us-central1' },
        annotations: { 'run.googleapis.com/operation-id': expect.any(String) },
      },
    });
    const service = await settled('conf-v1-a');
    expect(service.status).toMatchObject({
      observedGeneration: 1,
      latestReadyRevisionName: expect.stringMatching(/^conf-v1-a-00001-[a-z]{3}$/),
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
    });
    expect(service.status.conditions.map((c: Json) => [c.type, c.status])).toEqual([
      ['Ready', 'True'],
      ['ConfigurationsReady', 'True'],
      ['RoutesReady', 'True'],
    ]);
    expect(await (await fetch(service.status.url)).text()).toBe('v1 view\n');

    const v2 = await getService('conf-v1-a');
    expect(v2).toMatchObject({
      invokerIamDisabled: true,
      uri: service.status.url,
      template: { timeout: '60s', scaling: { maxInstanceCount: 4 } },
    });

    const revision = await v1('GET', `${ns()}/revisions/${service.status.latestReadyRevisionName}`);
    expect(revision.body).toMatchObject({
      kind: 'Revision',
      metadata: {
        labels: {
          'serving.knative.dev/service': 'conf-v1-a',
          'serving.knative.dev/configurationGeneration': '1',
        },
      },
      spec: { timeoutSeconds: 60 },
      status: { imageDigest: image },
    });
    const listed = await v1(
      'GET',
      `${ns()}/revisions?labelSelector=serving.knative.dev%2Fservice%3Dconf-v1-a`,
    );
    expect(listed.body.items.map((r: Json) => r.metadata.name)).toEqual([
      service.status.latestReadyRevisionName,
    ]);
    const route = await v1('GET', `${ns()}/routes/conf-v1-a`);
    expect(route.body.status.url).toBe(service.status.url);
  });

  it('replaces with PUT; a stale resourceVersion or another name is refused', async () => {
    await v1('POST', `${ns()}/services`, knative('conf-v1-b', image));
    const current = await settled('conf-v1-b');
    const changed = structuredClone(current);
    changed.spec.template.spec.containers[0].env = [{ name: 'GREETING', value: 'changed' }];
    const put = await v1('PUT', `${ns()}/services/conf-v1-b`, changed);
    expect(put.status).toBe(200);
    expect(put.body.metadata.generation).toBe(2);
    const stale = await v1('PUT', `${ns()}/services/conf-v1-b`, changed);
    expect(stale.status).toBe(409);
    expect(stale.body.error.status).toBe('ABORTED');
    const renamed = await v1('PUT', `${ns()}/services/conf-v1-b`, {
      ...changed,
      metadata: { name: 'other' },
    });
    expect(renamed.status).toBe(400);
    const after = await settled('conf-v1-b');
    expect(after.status.latestCreatedRevisionName).not.toBe(current.status.latestCreatedRevisionName);
    const v2 = await getService('conf-v1-b');
    expect((v2!.template.containers as Json[])[0]!.env).toEqual([{ name: 'GREETING', value: 'changed' }]);
  });

  it('answers Google-shaped errors: missing resources, denials, refused specs, dry runs', async () => {
    const missing = await v1('GET', `${ns()}/services/conf-v1-none`);
    expect(missing).toEqual({
      status: 404,
      body: {
        error: {
          code: 404,
          status: 'NOT_FOUND',
          message: `Resource 'conf-v1-none' of kind 'SERVICE' in region 'us-central1' in project '${project()}' does not exist.`,
        },
      },
    });
    const nobody = await seedServiceAccount('conf-v1-nobody', []);
    const denied = await v1('GET', `${ns()}/services/conf-v1-a`, undefined, await accessTokenFor(nobody));
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({
      status: 'PERMISSION_DENIED',
      message: `Permission 'run.services.get' denied on resource 'namespaces/${project()}/services/conf-v1-a' (or resource may not exist).`,
    });
    const unsupported = await v1(
      'POST',
      `${ns()}/services`,
      knative('conf-v1-c', image, { traffic: [{ latestRevision: true, revisionName: 'x', percent: 100 }] }),
    );
    expect(unsupported.status).toBe(400);
    expect(unsupported.body.error.details[0].fieldViolations[0].field).toBe('spec.traffic[0]');
    const dry = await v1('POST', `${ns()}/services?dryRun=all`, knative('conf-v1-d', image));
    expect(dry.status).toBe(200);
    expect((dry.body as Json).spec.template.spec.containers[0].image).toBe(image);
    expect(await getService('conf-v1-d')).toBeUndefined();
    // Namespaced paths live on regional hosts only.
    const global = await viaProxy('GET', `${ns()}/services`, {
      token: await accessTokenFor(),
      host: `127.0.0.1:${runPort()}`,
    });
    expect(global.status).toBe(404);
    const nowhere = await viaProxy('GET', `${ns()}/services`, {
      token: await accessTokenFor(),
      host: `us-mars1-127.0.0.1:${runPort()}`,
    });
    expect(nowhere.status).toBe(400);
    expect(nowhere.body.error.message).toBe("Location 'us-mars1' is not a Cloud Run location.");
  });

  it('lists services across regions, answers testIamPermissions for a service not created yet, deletes', async () => {
    const all = await v1('GET', `/v1/projects/${project()}/locations/-/services`);
    expect(all.body.items.map((s: Json) => s.metadata.name)).toEqual(expect.arrayContaining(['conf-v1-a']));
    const tested = await v1(
      'POST',
      `/v1/projects/${project()}/locations/us-central1/services/conf-v1-new:testIamPermissions`,
      {
        permissions: ['run.services.setIamPolicy'],
      },
    );
    expect(tested).toEqual({ status: 200, body: { permissions: ['run.services.setIamPolicy'] } });
    const deleted = await v1('DELETE', `${ns()}/services/conf-v1-a`);
    expect(deleted.body).toMatchObject({
      status: 'Success',
      details: { name: 'conf-v1-a', kind: 'services' },
    });
    expect(await getService('conf-v1-a')).toBeUndefined();
  });
});

describe('the proxy gcloud goes through', () => {
  it('reaches only the emulator: other hosts and tunnels are refused', async () => {
    const elsewhere = await viaProxy('GET', '/', { host: 'example.com:80' });
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.text).toContain('is not an emulator host');
    const tunnel = await new Promise<number>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: Number(env('CLOUDSDK_PROXY_PORT')),
        method: 'CONNECT',
        path: 'oauth2.googleapis.com:443',
      });
      req.on('connect', (res, socket) => {
        socket.destroy();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(tunnel).toBe(403);
  });

  it('answers storage.googleapis.com itself, over TLS gcloud trusts, from the emulated Cloud Storage', async () => {
    const socket = await new Promise<import('node:net').Socket>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: Number(env('CLOUDSDK_PROXY_PORT')),
        method: 'CONNECT',
        path: 'storage.googleapis.com:443',
      });
      req.on('connect', (res, tunnel) =>
        res.statusCode === 200 ? resolve(tunnel) : reject(new Error(`CONNECT answered ${res.statusCode}`)),
      );
      req.on('error', reject);
      req.end();
    });
    // Verified as gcloud verifies it: against the one certificate its env file names, by host name.
    const secure = tls.connect({
      socket,
      servername: 'storage.googleapis.com',
      ca: readFileSync(env('CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE')),
    });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    const token = await accessTokenFor();
    secure.write(
      `GET /no-such-bucket/log-1.txt HTTP/1.1\r\nHost: storage.googleapis.com\r\nAuthorization: Bearer ${token}\r\nRange: bytes=0-\r\nConnection: close\r\n\r\n`,
    );
    let answer = '';
    for await (const chunk of secure) answer += (chunk as Buffer).toString('utf8');
    expect(answer).toMatch(/^HTTP\/1\.1 404 /);
    expect(answer).toContain('<Code>NoSuchBucket</Code>');
  });
});

describe('Service Usage', () => {
  it('shows the emulated APIs enabled and others disabled, to callers who may read them', async () => {
    const base = `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_SERVICEUSAGE')}v1/projects/${project()}/services`;
    const get = async (service: string, token?: string): Promise<{ status: number; body: Json }> => {
      const res = await fetch(`${base}/${service}`, {
        headers: { authorization: `Bearer ${token ?? (await accessTokenFor())}` },
      });
      return { status: res.status, body: (await res.json()) as Json };
    };
    expect((await get('run.googleapis.com')).body).toMatchObject({
      name: `projects/${env('RUNWAY_EMULATOR_PROJECT_NUMBER')}/services/run.googleapis.com`,
      state: 'ENABLED',
    });
    expect((await get('compute.googleapis.com')).body.state).toBe('DISABLED');
    const nobody = await seedServiceAccount('conf-usage-nobody', []);
    const denied = await get('run.googleapis.com', await accessTokenFor(nobody));
    expect(denied.status).toBe(403);
    expect(denied.body.error.details[0].metadata.permission).toBe('serviceusage.services.get');
  });
});
