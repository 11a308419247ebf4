// Revisions with sidecars, as Cloud Run runs them: every container of the instance runs, in one
// network namespace (sidecars reach each other on localhost); the one container that declares a
// port (the ingress container, first or not) gets the requests and PORT; dependsOn orders start-up;
// a container that fails fails the revision; and what Cloud Run refuses in a set of containers is
// refused with 400 INVALID_ARGUMENT naming the field (model.ts validateContainers cites the sources).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { admin, env } from '../helpers/emulator.js';
import { containerEnv, runV2, waitV2 } from '../helpers/cloudrun.js';
import { pushTestImage } from '../helpers/images.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const exec = promisify(execFile);
const root = (): string => env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN');
const project = (): string => env('RUNWAY_EMULATOR_PROJECT');

const call = runV2;
const wait = waitV2;

const text = async (url: string): Promise<string> => (await (await fetch(url)).text()).trim();

/** Containers Docker runs for a revision, by label (the pause container holding its network is the pool's). */
async function dockerContainersOf(revision: string): Promise<string[]> {
  const { stdout } = await exec('docker', ['ps', '-aq', '--filter', `label=runway-revision=${revision}`]);
  return stdout.split(/\s+/).filter(Boolean);
}

let sidecar: string;
let ingress: string;
let plain: string;
let crashing: string;

beforeAll(async () => {
  [sidecar, ingress, plain, crashing] = await Promise.all([
    // Listens on 9000 (not PORT: a sidecar gets none) after sleeping $STARTUP_DELAY seconds.
    pushTestImage('mc-sidecar', 'sidecar', { listenPort: 9000, delayedStart: true }),
    // At start, asks localhost:9000 (the sidecar) once and keeps the answer as /startup.txt.
    pushTestImage('mc-ingress', 'ingress', { startupFetch: '9000/' }),
    pushTestImage('mc-plain', 'plain'),
    pushTestImage('mc-crash', 'never', { crash: true }),
  ]);
});

/** The sidecar, listed first, slow to start, with a TCP startup probe on its port. */
const slowSidecar = (): Json => ({
  name: 'side',
  image: sidecar,
  env: [{ name: 'STARTUP_DELAY', value: '4' }],
  startupProbe: { tcpSocket: { port: 9000 }, periodSeconds: 1, failureThreshold: 30 },
});

const service = (containers: Json[], extra: Json = {}): Json => ({
  invokerIamDisabled: true,
  ...extra,
  template: { containers, ...(extra.template ?? {}) },
});

describe('a revision with a sidecar', () => {
  it('serves from the ingress container though the sidecar comes first; the ingress reaches the sidecar on localhost', async () => {
    const created = await call(
      'POST',
      '/services?serviceId=mc-first',
      service(
        [
          slowSidecar(),
          { name: 'app', image: ingress, ports: [{ containerPort: 8080 }], dependsOn: ['side'] },
        ],
        { traffic: [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100, tag: 'mc' }] },
      ),
    );
    expect(created.status).toBe(200);
    const done = await wait(created.body);
    expect(done.error).toBeUndefined();
    const svc = (await call('GET', '/services/mc-first')).body;
    expect(svc.terminalCondition).toMatchObject({ state: 'CONDITION_SUCCEEDED' });

    // The service URL and the tag URL reach the ingress container, second in the list.
    expect(await text(svc.uri)).toBe('ingress');
    expect(await text(svc.trafficStatuses[0].uri)).toBe('ingress');
    // One network namespace: the ingress container reaches the sidecar on 127.0.0.1.
    expect(await text(`${svc.uri}/cgi-bin/fetch?9000/`)).toBe('sidecar');
    // dependsOn: the ingress container started once the sidecar passed its startup probe.
    expect(await text(`${svc.uri}/startup.txt`)).toBe('sidecar');

    // PORT goes to the ingress container only; the K_* variables to both.
    const revision = svc.latestReadyRevision.split('/').pop() as string;
    const own = await containerEnv(svc.uri);
    expect(own).toMatchObject({ PORT: '8080', K_SERVICE: 'mc-first', K_REVISION: revision });
    const side = await containerEnv(`${svc.uri}/cgi-bin/fetch?9000`);
    expect(side).toMatchObject({ K_SERVICE: 'mc-first', K_REVISION: revision, STARTUP_DELAY: '4' });
    expect(side.PORT).toBeUndefined();

    // Read back as stored: the sidecar gets default resources but no port; dependsOn kept.
    const limits = { cpu: '1000m', memory: '512Mi' };
    expect(svc.template.containers).toEqual([
      { ...slowSidecar(), resources: { limits } },
      {
        name: 'app',
        image: ingress,
        ports: [{ name: 'http1', containerPort: 8080 }],
        dependsOn: ['side'],
        resources: { limits },
      },
    ]);
    const rev = (await call('GET', `/services/mc-first/revisions/${revision}`)).body;
    expect(rev.containers).toEqual(svc.template.containers);

    // v1 shows both containers, and dependsOn as its annotation.
    const v1 = (
      await call('GET', `${root()}v1/projects/${project()}/locations/us-central1/services/mc-first`)
    ).body;
    expect(v1.spec.template.metadata.annotations['run.googleapis.com/container-dependencies']).toBe(
      '{"app":["side"]}',
    );
    expect((v1.spec.template.spec.containers as Json[]).map((c) => [c.name, c.ports])).toEqual([
      ['side', undefined],
      ['app', [{ name: 'http1', containerPort: 8080 }]],
    ]);

    // Every container runs (and a pause container holds their network); all go with the service.
    const state = (await admin.state()) as { run: { services: Json[] } };
    const seen = state.run.services.find((x) => x.name === svc.name)!.revisions[0];
    expect(seen.containers.map((c: Json) => c.name)).toEqual(['side', 'app']);
    expect(await dockerContainersOf(revision)).toHaveLength(2);
    await wait((await call('DELETE', '/services/mc-first')).body);
    expect(await dockerContainersOf(revision)).toEqual([]);
  });

  it('without dependsOn the containers start together: the ingress container finds no sidecar yet', async () => {
    const created = await call(
      'POST',
      '/services?serviceId=mc-together',
      service([slowSidecar(), { name: 'app', image: ingress, ports: [{ containerPort: 8080 }] }]),
    );
    expect((await wait(created.body)).error).toBeUndefined();
    const svc = (await call('GET', '/services/mc-together')).body;
    expect(await text(`${svc.uri}/startup.txt`)).toBe('unreachable');
    expect(await text(`${svc.uri}/cgi-bin/fetch?9000/`)).toBe('sidecar');
  });

  it('a sidecar that exits fails the revision, and every container of it goes', async () => {
    const created = await call(
      'POST',
      '/services?serviceId=mc-crash',
      service([
        { name: 'app', image: plain, ports: [{ containerPort: 8080 }] },
        { name: 'side', image: crashing },
      ]),
    );
    const done = await wait(created.body);
    expect(done.error.code).toBe(9);
    expect(done.error.message).toMatch(
      /^Revision 'mc-crash-00001-[a-z]{3}' is not ready and cannot serve traffic\. The user-provided container 'side' failed to start\./,
    );
    const svc = (await call('GET', '/services/mc-crash')).body;
    expect(svc.terminalCondition).toMatchObject({ state: 'CONDITION_FAILED', reason: 'REVISION_FAILED' });
    expect(await dockerContainersOf(svc.latestCreatedRevision.split('/').pop())).toEqual([]);
  });

  it('a sidecar that fails its startup probe fails the revision as a probe failure', async () => {
    const created = await call(
      'POST',
      '/services?serviceId=mc-probe',
      service([
        { name: 'app', image: plain, ports: [{ containerPort: 8080 }] },
        {
          name: 'side',
          image: plain,
          // Listens on 9001 (a sidecar may set its own PORT), while its probe checks 9999.
          env: [{ name: 'PORT', value: '9001' }],
          startupProbe: { tcpSocket: { port: 9999 }, periodSeconds: 1, failureThreshold: 2 },
        },
      ]),
    );
    const done = await wait(created.body);
    expect(done.error).toEqual({
      code: 9,
      message: expect.stringMatching(
        /^Revision 'mc-probe-00001-[a-z]{3}' is not ready and cannot serve traffic\. The user-provided container failed the configured startup probe checks\.$/,
      ),
    });
  });
});

describe('what Cloud Run refuses in a set of containers', () => {
  const app = (extra: Json = {}): Json => ({
    name: 'app',
    image: 'IMAGE',
    ports: [{ containerPort: 8080 }],
    ...extra,
  });
  const side = (extra: Json = {}): Json => ({ name: 'side', image: 'IMAGE', ...extra });
  const probe = { tcpSocket: { port: 9000 } };
  it.each([
    [
      'two containers with ports',
      [app(), side({ ports: [{ containerPort: 9000 }] })],
      'template.containers',
      'template.containers: Revision template should contain exactly one container with an exposed port.',
    ],
    [
      'sidecars and no container with a port',
      [side(), side({ name: 'other' })],
      'template.containers',
      'template.containers: Revision template should contain exactly one container with an exposed port.',
    ],
    [
      'eleven containers',
      [app(), ...Array.from({ length: 10 }, (_, i) => side({ name: `s${i}` }))],
      'template.containers',
      'template.containers: Services may include at most 10 containers',
    ],
    [
      'two ports in one container',
      [app({ ports: [{ containerPort: 8080 }, { containerPort: 8081 }] })],
      'Violation in CreateServiceRequest.service.template.containers[0].ports',
      'Violation in CreateServiceRequest.service.template.containers[0].ports: ports should contain 0 or 1 port.',
    ],
    [
      'a dependency on a container that does not exist',
      [app({ dependsOn: ['ghost'] }), side()],
      'template.containers[0].depends_on',
      "template.containers[0].depends_on: Container 'ghost' does not exist in this revision.",
    ],
    [
      'a dependency on a sidecar without a startup probe',
      [app({ dependsOn: ['side'] }), side()],
      'template.containers[0].depends_on',
      "template.containers[0].depends_on: Dependent container 'side' must have startup probe specified",
    ],
    [
      'a dependency cycle',
      [
        app(),
        side({ startupProbe: probe, dependsOn: ['other'] }),
        side({ name: 'other', startupProbe: probe, dependsOn: ['side'] }),
      ],
      'template.containers',
      'template.containers: Container dependencies must not form a cycle: side -> other -> side.',
    ],
    [
      'two containers of one name',
      [app(), side(), side()],
      'template.containers[2].name',
      "template.containers[2].name: Container name 'side' is used by more than one container.",
    ],
    [
      'a name that is not an RFC 1123 label',
      [app(), side({ name: 'Side_1' })],
      'template.containers[1].name',
      "template.containers[1].name: Invalid container name 'Side_1'. Must conform to RFC 1123: only lowercase letters, digits, hyphens, and periods are allowed, must begin and end with a letter or digit, and be less than 64 characters",
    ],
    [
      'PORT set in the ingress container',
      [side(), app({ env: [{ name: 'PORT', value: '1' }] })],
      'template.containers[1].env.name',
      'template.containers[1].env: The following reserved env names were provided: PORT. These values are automatically set by the system.',
    ],
    [
      'a sidecar without an image',
      [app(), { name: 'side' }],
      'template.containers[1].image',
      'spec.template.spec.containers[1].image: Required field is missing or empty.',
    ],
  ])('refuses %s with 400 INVALID_ARGUMENT naming the field', async (_what, containers, field, message) => {
    const body = JSON.parse(
      JSON.stringify(service(containers)).replaceAll('"IMAGE"', JSON.stringify(plain)),
    ) as Json;
    const res = await call('POST', '/services?serviceId=mc-refused&validateOnly=true', body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT', message });
    expect(res.body.error.details[0].fieldViolations[0].field).toBe(field);
  });

  it('takes what Cloud Run takes: PORT in a sidecar, a dependency on the ingress container without a probe', async () => {
    const res = await call(
      'POST',
      '/services?serviceId=mc-taken&validateOnly=true',
      service([
        { name: 'app', image: plain, ports: [{ containerPort: 8080 }] },
        { name: 'side', image: plain, env: [{ name: 'PORT', value: '8888' }], dependsOn: ['app'] },
      ]),
    );
    expect(res.status).toBe(200);
    expect(res.body.response.template.containers[1]).toMatchObject({ dependsOn: ['app'] });
    expect(res.body.response.template.containers[1].ports).toBeUndefined();
  });

  it('names an update’s fields as UpdateServiceRequest', async () => {
    const created = await call('POST', '/services?serviceId=mc-update', service([{ image: plain }]));
    await wait(created.body);
    const res = await call(
      'PATCH',
      '/services/mc-update?validateOnly=true',
      service([{ image: plain, ports: [{ containerPort: 1 }, { containerPort: 2 }] }]),
    );
    expect(res.body.error.message).toBe(
      'Violation in UpdateServiceRequest.service.template.containers[0].ports: ports should contain 0 or 1 port.',
    );
  });

  it('v1 takes dependencies as the container-dependencies annotation, JSON or YAML, and refuses a nameless one', async () => {
    const v1 = `${root()}v1/projects/${project()}/locations/us-central1/services?dryRun=all`;
    const knative = (dependencies: string): Json => ({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: 'mc-v1' },
      spec: {
        template: {
          metadata: { annotations: { 'run.googleapis.com/container-dependencies': dependencies } },
          spec: {
            containers: [
              { name: 'nginx', image: plain, ports: [{ containerPort: 8080 }] },
              { name: 'hello', image: plain },
            ],
          },
        },
      },
    });
    // As Google's hello-nginx sample writes it.
    const taken = await call('POST', v1, knative('{hello: [nginx]}'));
    expect(taken.status).toBe(200);
    expect(taken.body.spec.template.metadata.annotations['run.googleapis.com/container-dependencies']).toBe(
      '{"hello":["nginx"]}',
    );
    const nameless = await call('POST', v1, knative('{"":["nginx"]}'));
    expect(nameless.status).toBe(400);
    expect(nameless.body.error.message).toBe(
      "spec.template.metadata.annotations[run.googleapis.com/container-dependencies]: Invalid container name ''. Must conform to RFC 1123: only lowercase letters, digits, hyphens, and periods are allowed, must begin and end with a letter or digit, and be less than 64 characters",
    );
    const unprobed = await call('POST', v1, knative('{"nginx":["hello"]}'));
    expect(unprobed.body.error.message).toBe(
      "spec.template.spec.containers[0].depends_on: Dependent container 'hello' must have startup probe specified",
    );
  });
});
