// gcloud run deploy's per-container flags and --container scopes, as Runway reads them from `flags`,
// and how the planner applies them: every flag against the spec it must produce, then the containers
// the revision gets (the new image into the target, sidecars keeping theirs).
import { parseFlags } from '../../src/inputs/flags.js';
import { planService, type ServiceChanges } from '../../src/deploy/plan.js';
import type { Container, Service } from '../../src/gcp/run-types.js';
import type { ServiceSpec } from '../../src/inputs/spec.js';
import { serviceChanges } from '../helpers/service-changes.js';
import { RunwayError } from '../../src/errors.js';
import { readSettings } from '../../src/inputs/inputs.js';

describe('per-container flags: each flag and the spec it produces', () => {
  const rows: Array<[string, ServiceSpec]> = [
    ['--container app --port 8080', { containers: { app: { port: 8080 } } }],
    ['--container=side --image=h/p/r/side:1', { containers: { side: { image: 'h/p/r/side:1' } } }],
    ['--container side --cpu 1 --memory 256Mi', { containers: { side: { cpu: '1', memory: '256Mi' } } }],
    [
      '--container side --command=/bin/s --args=a,b',
      { containers: { side: { command: ['/bin/s'], args: ['a', 'b'] } } },
    ],
    [
      '--container side --update-env-vars A=1 --update-env-vars B=2',
      { containers: { side: { envVars: { A: '1', B: '2' } } } },
    ],
    [
      '--container side --set-env-vars A=1',
      { containers: { side: { envVars: { A: '1' }, replaceEnvVars: true } } },
    ],
    ['--container side --remove-env-vars A,B', { containers: { side: { removeEnvVars: ['A', 'B'] } } }],
    ['--container side --clear-env-vars', { containers: { side: { clearEnvVars: true } } }],
    ['--container app --depends-on=side,db', { containers: { app: { dependsOn: ['side', 'db'] } } }],
    ['--container app --use-http2', { containers: { app: { useHttp2: true } } }],
    ['--container app --no-use-http2', { containers: { app: { useHttp2: false } } }],
    ['--container app --use-http2=false', { containers: { app: { useHttp2: false } } }],
    ['--remove-containers=old,older', { removeContainers: ['old', 'older'] }],
    ['--depends-on side', { dependsOn: ['side'] }],
    ['--use-http2', { useHttp2: true }],
    ['--remove-env-vars A', { removeEnvVars: ['A'] }],
    ['--clear-env-vars', { clearEnvVars: true }],
    [
      '--startup-probe=httpGet.path=/ready,httpGet.port=8080,periodSeconds=2,failureThreshold=5,initialDelaySeconds=1,timeoutSeconds=1',
      {
        startupProbe: {
          httpGet: { path: '/ready', port: 8080 },
          periodSeconds: 2,
          failureThreshold: 5,
          initialDelaySeconds: 1,
          timeoutSeconds: 1,
        },
      },
    ],
    ['--startup-probe tcpSocket.port=9000', { startupProbe: { tcpSocket: { port: 9000 } } }],
    [
      '--startup-probe grpc.port=50051,grpc.service=health',
      { startupProbe: { grpc: { port: 50051, service: 'health' } } },
    ],
    ['--startup-probe=""', { startupProbe: null }],
    [
      '--liveness-probe=httpGet.path=/live,periodSeconds=30',
      { livenessProbe: { httpGet: { path: '/live' }, periodSeconds: 30 } },
    ],
    ['--liveness-probe=grpc.port=50051', { livenessProbe: { grpc: { port: 50051 } } }],
    ["--liveness-probe=''", { livenessProbe: null }],
    [
      '--container side --startup-probe tcpSocket.port=9000',
      { containers: { side: { startupProbe: { tcpSocket: { port: 9000 } } } } },
    ],
    [
      '--container side --set-secrets=S=db:1,/s/key=db:latest',
      {
        containers: {
          side: {
            secrets: {
              env: { S: { secret: 'db', version: '1' } },
              files: { '/s/key': { secret: 'db', version: 'latest' } },
            },
            replaceSecrets: true,
          },
        },
      },
    ],
    [
      '--container side --update-secrets A=db:1 --update-secrets B=db:2',
      {
        containers: {
          side: {
            secrets: {
              env: { A: { secret: 'db', version: '1' }, B: { secret: 'db', version: '2' } },
              files: {},
            },
          },
        },
      },
    ],
    [
      '--container side --remove-secrets=A,/s/key --update-secrets B=db:2',
      {
        containers: {
          side: {
            removeSecrets: ['A', '/s/key'],
            secrets: { env: { B: { secret: 'db', version: '2' } }, files: {} },
          },
        },
      },
    ],
    ['--container side --clear-secrets', { containers: { side: { clearSecrets: true } } }],
    [
      '--add-volume name=m,type=in-memory --container side --add-volume-mount volume=m,mount-path=/m',
      {
        volumes: { add: [{ name: 'm', type: 'in-memory' }] },
        containers: { side: { volumes: { addMounts: [{ volume: 'm', mountPath: '/m' }] } } },
      },
    ],
    [
      '--container side --remove-volume-mount /a,/b --remove-volume-mount /c',
      { containers: { side: { volumes: { removeMounts: ['/a', '/b', '/c'] } } } },
    ],
    ['--container side --clear-volume-mounts', { containers: { side: { volumes: { clearMounts: true } } } }],
    [
      '--container app --image a:1 --container side --update-secrets A=db:1 --container app --update-secrets B=db:2',
      {
        containers: {
          app: { image: 'a:1', secrets: { env: { B: { secret: 'db', version: '2' } }, files: {} } },
          side: { secrets: { env: { A: { secret: 'db', version: '1' } }, files: {} } },
        },
      },
    ],
  ];
  it.each(rows)('%s', (flags, spec) => {
    expect(parseFlags(flags)).toEqual(spec);
  });

  it('keeps the scopes in the order given, and service flags before the first --container', () => {
    const spec = parseFlags(
      '--max-instances 3 --container app --image a:1 --port 8080 --container side --image s:1 --container app --cpu 2',
    );
    expect(spec).toEqual({
      maxInstances: 3,
      containers: { app: { image: 'a:1', port: 8080, cpu: '2' }, side: { image: 's:1' } },
    });
    expect(Object.keys(spec.containers!)).toEqual(['app', 'side']);
  });

  it('refuses what gcloud refuses: a per-container flag outside a scope once --container is used', () => {
    expect(() => parseFlags('--cpu 1 --container side --image s:1')).toThrow(/applies to one container/);
    expect(() => parseFlags('--container side --image s:1 --max-instances 3')).toThrow(
      /not a per-container flag/,
    );
    expect(() => parseFlags('--container Side')).toThrow("Input 'flags (--container)' is invalid");
    expect(() => parseFlags('--container')).toThrow("Input 'flags (--container)' is invalid");
  });

  it('refuses a probe key gcloud does not know, or a probe with two actions', () => {
    expect(() => parseFlags('--liveness-probe=tcpSocket.port=1')).toThrow(
      "Input 'flags (--liveness-probe)' is invalid",
    );
    expect(() => parseFlags('--startup-probe=periodSeconds=x')).toThrow(
      "Input 'flags (--startup-probe)' is invalid",
    );
    expect(() => parseFlags('--startup-probe=httpGet.port=1,tcpSocket.port=2')).toThrow(
      "Input 'flags (--startup-probe)' is invalid",
    );
  });

  it('refuses per-container flags Runway does not take in a scope yet, rather than ignoring them', () => {
    expect(() => parseFlags('--container side --base-image=nodejs22')).toThrow(RunwayError);
  });

  it("refuses gcloud's exclusive secret flags within one scope, and secret or mount flags outside scopes once --container is used", () => {
    expect(() => parseFlags('--container side --set-secrets A=s:1 --update-secrets B=s:1')).toThrow(
      /at most one of/,
    );
    expect(() => parseFlags('--container side --clear-secrets --remove-secrets A')).toThrow(/at most one of/);
    expect(
      parseFlags('--container a --set-secrets A=s:1 --container b --update-secrets B=s:1').containers,
    ).toBeDefined();
    expect(() => parseFlags('--update-secrets A=s:1 --container side --image s:1')).toThrow(
      /applies to one container/,
    );
    expect(() => parseFlags('--add-volume-mount volume=m,mount-path=/m --container side')).toThrow(
      /applies to one container/,
    );
    expect(() => parseFlags('--container side --update-secrets A=s:1 --update-secrets A=s:2')).toThrow(
      /more than once/,
    );
    expect(() => parseFlags('--container side --add-volume-mount volume=m')).toThrow(
      "Input 'flags (--add-volume-mount)' is invalid",
    );
  });

  it('takes --image and --update-env-vars outside a scope for the deploy and its target container', () => {
    expect(parseFlags('--image a:1')).toEqual({ deploy: { image: 'a:1' } });
    expect(parseFlags('--update-env-vars A=1')).toEqual({ envVars: { A: '1' } });
  });

  it('refuses container flags a job does not have', () => {
    expect(() => parseFlags('--container a --image x', 'job')).toThrow(/service setting/);
    expect(() => parseFlags('--startup-probe=tcpSocket.port=1', 'job')).toThrow(/service setting/);
  });
});

const image = 'h/p/r/app@sha256:2222';
const changes = (spec: ServiceSpec): ServiceChanges => serviceChanges(spec, { service: 'web', image });

const side: Container = {
  name: 'side',
  image: 'h/p/r/side@sha256:aaaa',
  env: [{ name: 'S', value: '1' }],
  startupProbe: { tcpSocket: { port: 9000 } },
};
const app: Container = {
  name: 'app',
  image: 'h/p/r/app@sha256:1111',
  ports: [{ name: 'http1', containerPort: 8080 }],
  dependsOn: ['side'],
};
const live: Service = { template: { containers: [side, app] } };

const images = (s: Service): Array<[string | undefined, string]> =>
  (s.template.containers ?? []).map((c) => [c.name, c.image]);

describe('planning containers', () => {
  it('puts the image into the ingress container; the sidecar keeps its image', () => {
    expect(images(planService(live, changes({})))).toEqual([
      ['side', side.image],
      ['app', image],
    ]);
  });

  it('puts the image into the container the `container` input names', () => {
    const planned = planService(live, changes({ container: 'side', envVars: { X: '1' } }));
    expect(images(planned)).toEqual([
      ['side', image],
      ['app', app.image],
    ]);
    expect(planned.template.containers![0]!.env).toEqual([
      { name: 'S', value: '1' },
      { name: 'X', value: '1' },
    ]);
  });

  it('refuses a `container` the service does not have, before any change', () => {
    expect(() => planService(live, changes({ container: 'sidecar' }))).toThrow(/has no such container/);
  });

  it('applies a scope to its container only: image, env, probe, dependsOn', () => {
    const planned = planService(
      live,
      changes({
        containers: {
          side: { image: 'h/p/r/side@sha256:bbbb', envVars: { T: '2' }, startupProbe: null },
          app: { dependsOn: [] },
        },
      }),
    );
    const [s, a] = planned.template.containers!;
    expect(s).toEqual({
      name: 'side',
      image: 'h/p/r/side@sha256:bbbb',
      env: [
        { name: 'S', value: '1' },
        { name: 'T', value: '2' },
      ],
    });
    expect(a!.image).toBe(image);
    expect(a!.dependsOn).toBeUndefined();
  });

  it('creates a new service with the containers in the order the scopes name them, the target by its port', () => {
    const planned = planService(
      undefined,
      changes({
        containers: {
          side: { image: 'h/p/r/side@sha256:cccc', startupProbe: { tcpSocket: { port: 9000 } } },
          app: { port: 8080, dependsOn: ['side'] },
        },
      }),
    );
    expect(images(planned)).toEqual([
      ['side', 'h/p/r/side@sha256:cccc'],
      ['app', image],
    ]);
    expect(planned.template.containers![1]).toMatchObject({
      ports: [{ containerPort: 8080 }],
      dependsOn: ['side'],
    });
  });

  it('refuses a new sidecar without an image', () => {
    expect(() => planService(live, changes({ containers: { extra: { cpu: '1' } } }))).toThrow(
      /without an image/,
    );
  });

  it('refuses the target container given an image both ways', () => {
    expect(() =>
      planService(live, changes({ containers: { app: { image: 'h/p/r/other:1', port: 8080 } } })),
    ).toThrow(/the container the `image` input deploys into/);
  });

  it('--remove-containers drops the container and every dependency on it', () => {
    const planned = planService(live, changes({ removeContainers: ['side'] }));
    expect(planned.template.containers).toEqual([{ name: 'app', image, ports: app.ports }]);
    expect(() => planService(live, changes({ removeContainers: ['side', 'app'] }))).toThrow(
      /every container/,
    );
  });

  it('--remove-env-vars and --clear-env-vars drop plain variables, keep secret ones', () => {
    const withEnv: Service = {
      template: {
        containers: [
          {
            image: 'x',
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
              { name: 'S', valueSource: { secretKeyRef: { secret: 's', version: '1' } } },
            ],
          },
        ],
      },
    };
    expect(planService(withEnv, changes({ removeEnvVars: ['A'] })).template.containers![0]!.env).toEqual([
      { name: 'B', value: '2' },
      { name: 'S', valueSource: { secretKeyRef: { secret: 's', version: '1' } } },
    ]);
    expect(
      planService(withEnv, changes({ clearEnvVars: true, envVars: { C: '3' } })).template.containers![0]!.env,
    ).toEqual([
      { name: 'C', value: '3' },
      { name: 'S', valueSource: { secretKeyRef: { secret: 's', version: '1' } } },
    ]);
  });

  it('--use-http2 names the port h2c and keeps its number; probes set and cleared whole', () => {
    const planned = planService(
      live,
      changes({
        useHttp2: true,
        livenessProbe: { httpGet: { path: '/l' } },
        startupProbe: { tcpSocket: { port: 8080 } },
      }),
    );
    expect(planned.template.containers![1]).toMatchObject({
      ports: [{ name: 'h2c', containerPort: 8080 }],
      livenessProbe: { httpGet: { path: '/l' } },
      startupProbe: { tcpSocket: { port: 8080 } },
    });
  });
});

describe('the `container` input and an image given only in `flags`', () => {
  const read = (values: Record<string, string>) =>
    readSettings((name) => ({ service: 'web', ...values })[name] ?? '');

  it('reads `container` into the spec, and refuses a name Cloud Run would refuse', () => {
    expect(read({ image: 'h/p/r/a:1', container: 'app' }).spec.container).toBe('app');
    expect(() => read({ image: 'h/p/r/a:1', container: 'App_1' })).toThrow(/container/);
  });

  it("deploys the ingress scope's --image when there is no `image` input, as deploy-cloudrun users must write it", () => {
    const s = read({
      flags: '--container app --image h/p/r/a:1 --port 8080 --container side --image h/p/r/s:1',
    });
    expect(s.image).toEqual({ kind: 'prebuilt', ref: 'h/p/r/a:1' });
    expect(s.spec.containers).toEqual({ app: { port: 8080 }, side: { image: 'h/p/r/s:1' } });
  });

  it('still needs an image when no scope declares the ingress container', () => {
    expect(() => read({ flags: '--container side --image h/p/r/s:1' })).toThrow(/image/);
  });
});
