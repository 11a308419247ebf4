// End to end, deploy-cloudrun's `metadata`: a Knative Service YAML the bundled action deploys
// against the emulator with real containers, replacing the service as `gcloud run services replace`
// does, with the inputs applied on top; a sidecar service from its file; a file's traffic split and
// tags; and a deploy from a file that fails verification, after which the revision the last good run
// deployed serves again (and the split and tags it left).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { authInputs, errorOf, expectSuccess, runAction } from '../helpers/action.js';
import { answer, candidateTags, getService, sample, servingSplit } from '../helpers/cloudrun.js';
import { seedServiceAccount } from '../helpers/auth.js';
import { admin, env } from '../helpers/emulator.js';
import { pushTestImage } from '../helpers/images.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let stable: string;
let next: string;
let broken: string;
let sidecar: string;

beforeAll(async () => {
  [stable, next, broken, sidecar] = await Promise.all([
    pushTestImage('yaml-stable', 'stable'),
    pushTestImage('yaml-next', 'next'),
    pushTestImage('yaml-broken', 'broken', { health: 'missing' }),
    pushTestImage('yaml-sidecar', 'sidecar', { listenPort: 9000 }),
  ]);
});

/** A workflow's file, written outside the checkout (RUNNER_TEMP, as a step would) and named absolutely. */
function serviceFile(doc: Json): string {
  const path = join(mkdtempSync(join(tmpdir(), 'runway-yaml-')), 'service.yaml');
  writeFileSync(path, stringify(doc));
  return path;
}

const knative = (name: string, template: Json, annotations: Json = {}): Json => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name, labels: { team: 'web' }, annotations },
  spec: { template },
});

function deployFile(path: string, inputs: Record<string, string> = {}): ReturnType<typeof runAction> {
  return runAction({
    ...authInputs(),
    metadata: path,
    allow_unauthenticated: 'true',
    health_check_timeout: '20s',
    health_check_successes: '2',
    ...inputs,
  });
}

describe('a service deployed from its YAML', () => {
  const appFile = (image: string): Json =>
    knative(
      'e2e-yaml',
      {
        metadata: {
          annotations: {
            'autoscaling.knative.dev/maxScale': '3',
            'run.googleapis.com/cpu-throttling': 'false',
          },
        },
        spec: {
          containerConcurrency: 20,
          timeoutSeconds: 60,
          containers: [
            {
              image,
              ports: [{ containerPort: 8080 }],
              env: [{ name: 'MODE', value: 'yaml' }],
              resources: { limits: { cpu: '1', memory: '512Mi' } },
            },
          ],
        },
      },
      { 'run.googleapis.com/description': 'from a file' },
    );

  it('deploys the file as Cloud Run reads it, then the inputs on top, then rolls a failed file back', async () => {
    const first = await deployFile(serviceFile(appFile(stable)));
    expectSuccess(first);
    let service = (await getService('e2e-yaml')) as Json;
    expect(service.description).toBe('from a file');
    expect(service.labels).toMatchObject({ team: 'web', 'managed-by': 'github-actions' });
    expect(service.template.scaling).toMatchObject({ maxInstanceCount: 3 });
    expect(service.template.maxInstanceRequestConcurrency).toBe(20);
    expect(service.template.timeout).toBe('60s');
    const [app] = service.template.containers as Json[];
    expect(app!.image).toBe(stable);
    expect(app!.env).toEqual([{ name: 'MODE', value: 'yaml' }]);
    // CPU always allocated: cpuIdle false, which proto3 JSON leaves out of the answer.
    expect(app!.resources).toEqual({ limits: { cpu: '1', memory: '512Mi' } });
    expect(await answer(first.outputs.url!)).toBe('200 stable');

    // `image` and `env_vars` go on top of the file, as flags would; what the file leaves out is gone.
    const withInputs = serviceFile({ ...appFile(stable), metadata: { name: 'e2e-yaml' } });
    const good = await deployFile(withInputs, { image: next, env_vars: 'EXTRA=1', service: 'e2e-yaml' });
    expectSuccess(good);
    service = (await getService('e2e-yaml')) as Json;
    expect(service.description).toBeUndefined();
    expect(service.labels).not.toHaveProperty('team');
    expect((service.template.containers as Json[])[0]!.env).toEqual([
      { name: 'MODE', value: 'yaml' },
      { name: 'EXTRA', value: '1' },
    ]);
    expect(await answer(good.outputs.url!)).toBe('200 next');

    // A file whose image fails the health check: the step fails and the last good revision serves.
    const bad = await deployFile(serviceFile(appFile(broken)), { health_check_path: '/health' });
    expect(bad.exitCode).toBe(1);
    expect(bad.outputs.healthy).toBe('false');
    expect(errorOf(bad)).toMatch(/failed its health check \(\/health: HTTP 404/);
    expect(bad.stdout).toContain("undo: the traffic split and the service's settings put back as they were");
    service = (await getService('e2e-yaml')) as Json;
    expect(servingSplit(service as never)).toEqual({ [good.outputs.revision!]: 100 });
    // The file's service-wide settings went with it: the service is as the last good run left it.
    expect(service.description).toBeUndefined();
    expect(service.labels).not.toHaveProperty('team');
    expect(Object.keys(service.annotations ?? {}).filter((k) => k.startsWith('runway.dev/'))).toEqual([]);
    expect(candidateTags(service as never)).toEqual([]);
    expect(await sample(good.outputs.url!, 4)).toEqual(new Map([['200 next', 4]]));
  });

  it('refuses a file Runway cannot deploy as it means before anything changes, naming the field', async () => {
    const doc = appFile(stable);
    doc.metadata.name = 'e2e-yaml-refused';
    doc.spec.template.metadata.annotations['autoscaling.knative.dev/target'] = '70';
    const run = await deployFile(serviceFile(doc));
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toContain(
      'spec.template.metadata.annotations["autoscaling.knative.dev/target"]: a Cloud Run annotation Runway cannot deploy.',
    );
    expect(await getService('e2e-yaml-refused')).toBeUndefined();
  });

  it("moves the file's split and tags once the new revision is healthy, and puts both back when it is not", async () => {
    const named = (image: string, traffic?: Json[]): Json => {
      const doc = appFile(image);
      doc.metadata.name = 'e2e-yaml-split';
      if (traffic) doc.spec.traffic = traffic;
      return doc;
    };
    const tagsOf = (service: Json): Json =>
      Object.fromEntries(
        ((service.trafficStatuses ?? []) as Json[]).filter((t) => t.tag).map((t) => [t.tag, t.revision]),
      );
    const first = await deployFile(serviceFile(named(stable)));
    expectSuccess(first);
    const one = first.outputs.revision!;

    const split = await deployFile(
      serviceFile(
        named(next, [
          { revisionName: one, percent: 70, tag: 'stable' },
          { latestRevision: true, percent: 30, tag: 'canary' },
        ]),
      ),
    );
    expectSuccess(split);
    const two = split.outputs.revision!;
    let service = (await getService('e2e-yaml-split')) as Json;
    expect(servingSplit(service as never)).toEqual({ [one]: 70, [two]: 30 });
    expect(tagsOf(service)).toEqual({ stable: one, canary: two });
    expect(new Set((await sample(split.outputs.url!, 20)).keys())).toEqual(
      new Set(['200 stable', '200 next']),
    );

    // A file whose new revision fails its check: the split and the tags are as the last run left them.
    const bad = await deployFile(
      serviceFile(
        named(broken, [
          { revisionName: one, percent: 50 },
          { latestRevision: true, percent: 50, tag: 'canary' },
        ]),
      ),
      { health_check_path: '/health' },
    );
    expect(bad.exitCode).toBe(1);
    expect(errorOf(bad)).toMatch(/failed its health check/);
    service = (await getService('e2e-yaml-split')) as Json;
    expect(servingSplit(service as never)).toEqual({ [one]: 70, [two]: 30 });
    expect(tagsOf(service)).toEqual({ stable: one, canary: two });
    expect(candidateTags(service as never)).toEqual([]);
  });

  it("checks the file's secrets before anything changes, as the inputs'", async () => {
    const doc = appFile(stable);
    doc.metadata.name = 'e2e-yaml-secret';
    doc.spec.template.spec.containers[0].env.push({
      name: 'TOKEN',
      valueFrom: { secretKeyRef: { name: 'no-such-secret', key: 'latest' } },
    });
    // A deployer that may read secret metadata (roles/secretmanager.viewer) sees the 404.
    const viewer = await seedServiceAccount('yaml-secret-viewer', [
      'roles/run.admin',
      'roles/artifactregistry.writer',
      'roles/secretmanager.viewer',
    ]);
    await admin.seed({
      bindings: [
        {
          resource: `projects/${env('RUNWAY_EMULATOR_PROJECT')}/serviceAccounts/${env('RUNWAY_EMULATOR_PROJECT_NUMBER')}-compute@developer.gserviceaccount.com`,
          role: 'roles/iam.serviceAccountUser',
          members: [`serviceAccount:${viewer}`],
        },
      ],
    });
    const before = (await admin.requests()).length;
    const run = await deployFile(serviceFile(doc), { service_account: viewer });
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toContain('Secret no-such-secret:latest (for TOKEN) does not exist');
    const calls = (await admin.requests()).slice(before);
    expect(calls.filter((r) => r.api === 'run' && r.method !== 'GET')).toEqual([]);
    expect(await getService('e2e-yaml-secret')).toBeUndefined();
  });
});

it('deploys a sidecar service from its file: the image input goes to the ingress container, the sidecar runs beside it', async () => {
  const doc = knative('e2e-yaml-sidecar', {
    metadata: { annotations: { 'run.googleapis.com/container-dependencies': '{"app":["side"]}' } },
    spec: {
      containers: [
        {
          name: 'side',
          image: sidecar,
          startupProbe: { tcpSocket: { port: 9000 }, periodSeconds: 1, failureThreshold: 30 },
        },
        { name: 'app', image: stable, ports: [{ containerPort: 8080 }] },
      ],
    },
  });
  // As `gcloud run services describe --format export` writes it: the project by number.
  doc.metadata.namespace = env('RUNWAY_EMULATOR_PROJECT_NUMBER');
  const run = await deployFile(serviceFile(doc), { image: next });
  expectSuccess(run);
  expect(run.stdout).not.toContain('namespace');
  const service = (await getService('e2e-yaml-sidecar')) as Json;
  const containers = service.template.containers as Json[];
  expect(containers.map((c) => [c.name, c.image])).toEqual([
    ['side', sidecar],
    ['app', next],
  ]);
  expect(containers[1]!.dependsOn).toEqual(['side']);
  expect(await answer(run.outputs.url!)).toBe('200 next');
  expect(await answer(run.outputs.url!, '/cgi-bin/fetch?9000/')).toBe('200 sidecar');
});
