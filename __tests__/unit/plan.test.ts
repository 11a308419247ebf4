import { planService, defaultLabels, type ServiceChanges } from '../../src/deploy/plan.js';
import type { Service } from '../../src/gcp/run-types.js';
import type { ServiceSpec } from '../../src/inputs/spec.js';
import { PLANNED_IMAGE, serviceChanges } from '../helpers/service-changes.js';

const image = PLANNED_IMAGE;
const changes = (over: Partial<ServiceChanges> = {}, spec: ServiceSpec = {}): ServiceChanges =>
  serviceChanges(spec, over);

const live: Service = {
  name: 'projects/p/locations/r/services/hello',
  uid: 'u',
  generation: '3',
  etag: '"e3"',
  labels: { team: 'a', 'commit-sha': 'old' },
  template: {
    revision: 'hello-00003-abc',
    serviceAccount: 'rt@p.iam.gserviceaccount.com',
    containers: [
      {
        image: 'h/p/r/app@sha256:0000',
        env: [
          { name: 'KEEP', value: '1' },
          { name: 'CHANGE', value: 'old' },
          { name: 'SECRET', valueSource: { secretKeyRef: { secret: 's', version: 'latest' } } },
        ],
        ports: [{ name: 'http1', containerPort: 9000 }],
      },
    ],
  },
  traffic: [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'hello-00001-aaa', percent: 100 }],
  latestReadyRevision: 'projects/p/locations/r/services/hello/revisions/hello-00003-abc',
  uri: 'https://hello',
};

describe('planService', () => {
  it('creates a new service running the image by digest with 100% to the latest revision', () => {
    const planned = planService(undefined, changes({ labels: defaultLabels('ABC/def') }));
    expect(planned.template.containers?.[0]?.image).toBe(image);
    expect(planned.template.revision).toBe('');
    expect(planned.labels).toEqual({ 'managed-by': 'github-actions', 'commit-sha': 'abc_def' });
    expect(planned.traffic).toEqual([{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 }]);
  });

  it('turns startup CPU boost on for a new service, as gcloud does, unless cpu_boost says otherwise', () => {
    const resources = (l: Service | undefined, spec: ServiceSpec): unknown =>
      planService(l, changes({}, spec)).template.containers?.[0]?.resources;
    // cpuIdle is sent with it: resources without cpuIdle would turn CPU throttling off.
    expect(resources(undefined, {})).toEqual({ startupCpuBoost: true, cpuIdle: true });
    expect(resources(undefined, { cpuBoost: false })).toEqual({ startupCpuBoost: false, cpuIdle: true });
    expect(resources(undefined, { memory: '1Gi', cpuThrottling: false })).toEqual({
      limits: { memory: '1Gi' },
      startupCpuBoost: true,
      cpuIdle: false,
    });
    // A live service keeps what it has.
    expect(resources(live, {})).toBeUndefined();
  });

  it('keeps the live traffic unless told, so a deploy never moves traffic by accident', () => {
    expect(planService(live, changes()).traffic).toEqual(live.traffic);
    const traffic = [
      { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION' as const, revision: 'x', percent: 100 },
    ];
    expect(planService(live, changes({ traffic })).traffic).toEqual(traffic);
  });

  it('keeps live settings the inputs leave unset, and drops output-only fields but keeps the etag', () => {
    const planned = planService(live, changes());
    expect(planned.template.serviceAccount).toBe('rt@p.iam.gserviceaccount.com');
    expect(planned.template.containers?.[0]?.ports).toEqual([{ name: 'http1', containerPort: 9000 }]);
    expect(planned.template.containers?.[0]?.env).toEqual(live.template.containers?.[0]?.env);
    expect(planned.etag).toBe('"e3"');
    for (const field of ['name', 'uid', 'generation', 'latestReadyRevision', 'uri'])
      expect(planned).not.toHaveProperty(field);
  });

  it('merges env vars over the live ones', () => {
    const env = planService(live, changes({}, { envVars: { CHANGE: 'new', ADD: 'x' } })).template
      .containers?.[0]?.env;
    expect(env).toEqual([
      { name: 'KEEP', value: '1' },
      { name: 'CHANGE', value: 'new' },
      { name: 'ADD', value: 'x' },
      { name: 'SECRET', valueSource: { secretKeyRef: { secret: 's', version: 'latest' } } },
    ]);
  });

  it('overwrite replaces plain env vars but keeps secret-backed ones', () => {
    const env = planService(live, changes({ envVarsUpdateStrategy: 'overwrite' }, { envVars: { ONLY: 'y' } }))
      .template.containers?.[0]?.env;
    expect(env).toEqual([
      { name: 'ONLY', value: 'y' },
      { name: 'SECRET', valueSource: { secretKeyRef: { secret: 's', version: 'latest' } } },
    ]);
  });

  it('{} with overwrite clears the plain env vars', () => {
    const env = planService(live, changes({ envVarsUpdateStrategy: 'overwrite' }, { envVars: {} })).template
      .containers?.[0]?.env;
    expect(env?.map((e) => e.name)).toEqual(['SECRET']);
  });

  it('names the revision, sets port and runtime service account', () => {
    const planned = planService(
      live,
      changes(
        { revisionName: 'hello-pr-7' },
        { port: 8081, runtimeServiceAccount: 'x@p.iam.gserviceaccount.com' },
      ),
    );
    expect(planned.template.revision).toBe('hello-pr-7');
    expect(planned.template.containers?.[0]?.ports).toEqual([{ name: 'http1', containerPort: 8081 }]);
    expect(planned.template.serviceAccount).toBe('x@p.iam.gserviceaccount.com');
  });

  it('overrides live labels with given ones and keeps the rest', () => {
    const planned = planService(live, changes({ labels: { 'commit-sha': 'new' } }));
    expect(planned.labels).toEqual({ team: 'a', 'commit-sha': 'new' });
    expect(planned.template.labels).toEqual({ 'commit-sha': 'new' });
  });

  it('does not mutate the live service', () => {
    const before = JSON.stringify(live);
    planService(
      live,
      changes(
        {},
        {
          envVars: { A: 'b' },
          port: 1,
          secrets: {
            env: { S: { secret: 'x', version: '1' } },
            files: { '/etc/x/y': { secret: 'x', version: '2' } },
          },
        },
      ),
    );
    expect(JSON.stringify(live)).toBe(before);
  });
});

describe('planService: secrets and resources', () => {
  it('adds secret env vars and merges with live secrets', () => {
    const env = planService(
      live,
      changes({}, { secrets: { env: { API: { secret: 'api', version: '3' } }, files: {} } }),
    ).template.containers?.[0]?.env;
    expect(env).toEqual([
      { name: 'KEEP', value: '1' },
      { name: 'CHANGE', value: 'old' },
      { name: 'SECRET', valueSource: { secretKeyRef: { secret: 's', version: 'latest' } } },
      { name: 'API', valueSource: { secretKeyRef: { secret: 'api', version: '3' } } },
    ]);
  });

  it('overwrite replaces live secret env vars, and a name turns from plain to secret', () => {
    const env = planService(
      live,
      changes(
        { secretsUpdateStrategy: 'overwrite' },
        { secrets: { env: { KEEP: { secret: 'k', version: 'latest' } }, files: {} } },
      ),
    ).template.containers?.[0]?.env;
    expect(env).toEqual([
      { name: 'CHANGE', value: 'old' },
      { name: 'KEEP', valueSource: { secretKeyRef: { secret: 'k', version: 'latest' } } },
    ]);
  });

  it("--set-secrets in flags replaces live secret env vars whatever the strategy, as gcloud's --set-secrets", () => {
    const env = planService(
      live,
      changes(
        { secretsUpdateStrategy: 'merge' },
        { secrets: { env: { KEEP: { secret: 'k', version: 'latest' } }, files: {} }, replaceSecrets: true },
      ),
    ).template.containers?.[0]?.env;
    expect(env).toEqual([
      { name: 'CHANGE', value: 'old' },
      { name: 'KEEP', valueSource: { secretKeyRef: { secret: 'k', version: 'latest' } } },
    ]);
  });

  it('mounts secret files as one volume per directory', () => {
    const planned = planService(
      undefined,
      changes(
        {},
        {
          secrets: {
            env: {},
            files: {
              '/etc/app/key': { secret: 'app', version: '1' },
              '/etc/app/cert': { secret: 'app', version: '2' },
            },
          },
        },
      ),
    );
    const [volume] = planned.template.volumes ?? [];
    expect(volume?.secret).toEqual({
      secret: 'app',
      items: [
        { path: 'key', version: '1' },
        { path: 'cert', version: '2' },
      ],
    });
    expect(planned.template.containers?.[0]?.volumeMounts).toEqual([
      { name: volume?.name, mountPath: '/etc/app' },
    ]);
  });

  it('refuses two secrets in one directory', () => {
    expect(() =>
      planService(
        undefined,
        changes(
          {},
          {
            secrets: {
              env: {},
              files: { '/d/a': { secret: 'a', version: '1' }, '/d/b': { secret: 'b', version: '1' } },
            },
          },
        ),
      ),
    ).toThrow(/mounts two secrets \(a, b\) in \/d/);
  });

  it('sets resources, scaling, timeout, concurrency, ingress, vpc, cloud sql and generation', () => {
    const planned = planService(
      live,
      changes(
        {},
        {
          cpu: '2',
          memory: '1Gi',
          cpuBoost: true,
          cpuThrottling: false,
          minInstances: 1,
          maxInstances: 5,
          timeoutSeconds: 120,
          concurrency: 40,
          ingress: 'internal',
          vpcConnector: 'conn',
          vpcEgress: 'all-traffic',
          cloudsqlInstances: ['p:r:db'],
          executionEnvironment: 'gen2',
          command: ['/app'],
          args: ['--serve'],
        },
      ),
    );
    const t = planned.template;
    expect(t.containers?.[0]?.resources).toEqual({
      limits: { cpu: '2', memory: '1Gi' },
      startupCpuBoost: true,
      cpuIdle: false,
    });
    expect(t.scaling).toEqual({ minInstanceCount: 1, maxInstanceCount: 5 });
    expect(t.timeout).toBe('120s');
    expect(t.maxInstanceRequestConcurrency).toBe(40);
    expect(planned.ingress).toBe('INGRESS_TRAFFIC_INTERNAL_ONLY');
    expect(t.vpcAccess).toEqual({
      connector: 'projects/p/locations/r/connectors/conn',
      egress: 'ALL_TRAFFIC',
    });
    expect(t.volumes).toContainEqual({ name: 'cloudsql', cloudSqlInstance: { instances: ['p:r:db'] } });
    expect(t.containers?.[0]?.volumeMounts).toContainEqual({ name: 'cloudsql', mountPath: '/cloudsql' });
    expect(t.executionEnvironment).toBe('EXECUTION_ENVIRONMENT_GEN2');
    expect(t.containers?.[0]?.command).toEqual(['/app']);
    expect(t.containers?.[0]?.args).toEqual(['--serve']);
  });

  it('adds --add-cloudsql-instances to the live instances; cloudsql_instances replaces them', () => {
    const withSql: Service = {
      ...live,
      template: {
        ...live.template,
        volumes: [{ name: 'cloudsql', cloudSqlInstance: { instances: ['p:r:one'] } }],
        containers: [
          { ...live.template.containers![0]!, volumeMounts: [{ name: 'cloudsql', mountPath: '/cloudsql' }] },
        ],
      },
    };
    const instances = (spec: ServiceSpec): unknown =>
      planService(withSql, changes({}, spec)).template.volumes?.find((v) => v.name === 'cloudsql');
    expect(instances({ addCloudsqlInstances: ['p:r:two', 'p:r:one'] })).toEqual({
      name: 'cloudsql',
      cloudSqlInstance: { instances: ['p:r:one', 'p:r:two'] },
    });
    expect(instances({ cloudsqlInstances: ['p:r:two'] })).toEqual({
      name: 'cloudsql',
      cloudSqlInstance: { instances: ['p:r:two'] },
    });
    expect(instances({ cloudsqlInstances: ['p:r:two'], addCloudsqlInstances: ['p:r:three'] })).toEqual({
      name: 'cloudsql',
      cloudSqlInstance: { instances: ['p:r:two', 'p:r:three'] },
    });
  });

  it('--set-env-vars replaces the live variables even with the merge strategy; secrets stay', () => {
    const planned = planService(live, changes({}, { envVars: { NEW: '1' }, replaceEnvVars: true }));
    expect(planned.template.containers?.[0]?.env).toEqual([
      { name: 'NEW', value: '1' },
      { name: 'SECRET', valueSource: { secretKeyRef: { secret: 's', version: 'latest' } } },
    ]);
  });

  it('keeps cpuIdle true when only limits change (Cloud Run resets it otherwise)', () => {
    expect(
      planService(undefined, changes({}, { memory: '512Mi' })).template.containers?.[0]?.resources,
    ).toEqual({ limits: { memory: '512Mi' }, cpuIdle: true, startupCpuBoost: true });
  });
});

describe('planService: a sidecar’s secrets and mounts (--container NAME)', () => {
  const ref = (secret: string, version: string) => ({ secret, version });
  const twoContainers: Service = {
    template: {
      containers: [
        {
          name: 'app',
          image: 'h/p/r/app@sha256:0000',
          ports: [{ name: 'http1', containerPort: 8080 }],
          volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
        },
        {
          name: 'side',
          image: 'h/p/r/side@sha256:aaaa',
          env: [
            { name: 'PLAIN', value: '1' },
            { name: 'OLD', valueSource: { secretKeyRef: { secret: 'db', version: '1' } } },
          ],
          volumeMounts: [
            { name: 'shared', mountPath: '/s' },
            { name: 'mem', mountPath: '/cache' },
          ],
        },
      ],
      volumes: [
        {
          name: 'shared',
          secret: {
            secret: 'db',
            items: [
              { path: 'a', version: '1' },
              { path: 'b', version: '2' },
            ],
          },
        },
        { name: 'mem', emptyDir: { medium: 'MEMORY' } },
      ],
    },
  };
  const plan = (spec: ServiceSpec) => planService(twoContainers, changes({}, spec));
  const sideOf = (s: Service) => s.template.containers!.find((c) => c.name === 'side')!;
  const appOf = (s: Service) => s.template.containers!.find((c) => c.name === 'app')!;

  it('--update-secrets gives the sidecar a secret env var and a secret file in a volume of its own', () => {
    const planned = plan({
      containers: {
        side: { secrets: { env: { NEW: ref('db', '2') }, files: { '/etc/k/key': ref('db', '3') } } },
      },
    });
    expect(sideOf(planned).env).toEqual([
      { name: 'PLAIN', value: '1' },
      { name: 'OLD', valueSource: { secretKeyRef: { secret: 'db', version: '1' } } },
      { name: 'NEW', valueSource: { secretKeyRef: { secret: 'db', version: '2' } } },
    ]);
    const mount = sideOf(planned).volumeMounts!.find((m) => m.mountPath === '/etc/k')!;
    expect(planned.template.volumes).toContainEqual({
      name: mount.name,
      secret: { secret: 'db', items: [{ path: 'key', version: '3' }] },
    });
    // The target's secrets are its own: a secret file at the same directory gets another volume.
    const both = plan({
      secrets: { env: {}, files: { '/etc/k/key': ref('db', '1') } },
      containers: { side: { secrets: { env: {}, files: { '/etc/k/key': ref('db', '3') } } } },
    });
    const names = [appOf(both), sideOf(both)].map(
      (c) => c.volumeMounts!.find((m) => m.mountPath === '/etc/k')!.name,
    );
    expect(new Set(names).size).toBe(2);
    expect(appOf(both).env).toBeUndefined();
  });

  it('--set-secrets replaces only the sidecar’s secrets; a volume the target still mounts stays', () => {
    const planned = plan({
      containers: { side: { secrets: { env: { NEW: ref('db', '2') }, files: {} }, replaceSecrets: true } },
    });
    expect(sideOf(planned).env).toEqual([
      { name: 'PLAIN', value: '1' },
      { name: 'NEW', valueSource: { secretKeyRef: { secret: 'db', version: '2' } } },
    ]);
    expect(sideOf(planned).volumeMounts).toEqual([{ name: 'mem', mountPath: '/cache' }]);
    expect(appOf(planned).volumeMounts).toEqual([{ name: 'shared', mountPath: '/shared' }]);
    expect(planned.template.volumes!.map((v) => v.name)).toEqual(['shared', 'mem']);
  });

  it('--clear-secrets and --remove-secrets drop the sidecar’s files; a shared volume is copied, not changed', () => {
    const cleared = plan({ containers: { side: { clearSecrets: true } } });
    expect(sideOf(cleared).env).toEqual([{ name: 'PLAIN', value: '1' }]);
    expect(sideOf(cleared).volumeMounts).toEqual([{ name: 'mem', mountPath: '/cache' }]);
    expect(cleared.template.volumes!.map((v) => v.name)).toEqual(['shared', 'mem']);

    const removed = plan({ containers: { side: { removeSecrets: ['OLD', '/s/a'] } } });
    expect(sideOf(removed).env).toEqual([{ name: 'PLAIN', value: '1' }]);
    const mount = sideOf(removed).volumeMounts!.find((m) => m.mountPath === '/s')!;
    expect(mount.name).not.toBe('shared');
    expect(removed.template.volumes).toContainEqual({
      name: mount.name,
      secret: { secret: 'db', items: [{ path: 'b', version: '2' }] },
    });
    expect(removed.template.volumes).toContainEqual(twoContainers.template.volumes![0]);
  });

  it('refuses two secrets in one directory of the sidecar, naming the scope', () => {
    expect(() =>
      plan({
        containers: {
          side: { secrets: { env: {}, files: { '/d/x': ref('a', '1'), '/d/y': ref('b', '1') } } },
        },
      }),
    ).toThrow('`flags` (after --container side) mounts two secrets (a, b) in /d.');
  });

  it('--update-secrets keeps the other files of a directory the same secret is mounted in, as gcloud', () => {
    const planned = plan({
      containers: { side: { secrets: { env: {}, files: { '/s/a': ref('db', '5') } } } },
    });
    const mount = sideOf(planned).volumeMounts!.find((m) => m.mountPath === '/s')!;
    expect(planned.template.volumes).toContainEqual({
      name: mount.name,
      secret: {
        secret: 'db',
        items: [
          { path: 'a', version: '5' },
          { path: 'b', version: '2' },
        ],
      },
    });
    // The target's `secrets` (merge) alike; another secret over files it leaves is refused.
    const target = planService(
      twoContainers,
      changes({}, { secrets: { env: {}, files: { '/shared/b': ref('db', '7') } } }),
    );
    const own = appOf(target).volumeMounts!.find((m) => m.mountPath === '/shared')!;
    expect(target.template.volumes!.find((v) => v.name === own.name)!.secret!.items).toEqual([
      { path: 'b', version: '7' },
      { path: 'a', version: '1' },
    ]);
    expect(() =>
      plan({ containers: { side: { secrets: { env: {}, files: { '/s/a': ref('other', '1') } } } } }),
    ).toThrow('`flags` (after --container side) mounts other in /s, where db is mounted (/s/b).');
  });

  it("the target's --remove-secrets copies a volume a sidecar shares, even one named as Runway names its own", () => {
    const sharedName = planService(
      undefined,
      changes({}, { secrets: { env: {}, files: { '/shared/a': ref('db', '1') } } }),
    ).template.volumes![0]!.name;
    const renamed: Service = structuredClone(twoContainers);
    for (const c of renamed.template.containers!)
      for (const m of c.volumeMounts ?? []) if (m.name === 'shared') m.name = sharedName;
    renamed.template.volumes![0]!.name = sharedName;
    const planned = planService(renamed, changes({}, { removeSecrets: ['/shared/a'] }));
    const own = appOf(planned).volumeMounts!.find((m) => m.mountPath === '/shared')!;
    expect(own.name).not.toBe(sharedName);
    expect(planned.template.volumes).toContainEqual({ ...renamed.template.volumes![0] });
    expect(planned.template.volumes).toContainEqual({
      name: own.name,
      secret: { secret: 'db', items: [{ path: 'b', version: '2' }] },
    });
  });

  it("the target's new secret file never changes a volume a sidecar mounts under the same name", () => {
    const sharedName = planService(
      undefined,
      changes({}, { secrets: { env: {}, files: { '/shared/a': ref('db', '1') } } }),
    ).template.volumes![0]!.name;
    const renamed: Service = structuredClone(twoContainers);
    for (const c of renamed.template.containers!)
      for (const m of c.volumeMounts ?? []) if (m.name === 'shared') m.name = sharedName;
    renamed.template.volumes![0]!.name = sharedName;
    const planned = planService(
      renamed,
      changes({}, { secrets: { env: {}, files: { '/shared/c': ref('db', '3') } } }),
    );
    expect(planned.template.volumes).toContainEqual(renamed.template.volumes![0]);
    expect(sideOf(planned).volumeMounts).toContainEqual({ name: sharedName, mountPath: '/s' });
    const own = appOf(planned).volumeMounts!.find((m) => m.mountPath === '/shared')!;
    expect(planned.template.volumes!.find((v) => v.name === own.name)!.secret!.items).toEqual([
      { path: 'c', version: '3' },
      { path: 'a', version: '1' },
      { path: 'b', version: '2' },
    ]);
  });

  it('a secret volume no container mounts any longer goes', () => {
    const alone: Service = {
      template: {
        ...twoContainers.template,
        containers: [
          { ...twoContainers.template.containers![0]!, volumeMounts: [] },
          twoContainers.template.containers![1]!,
        ],
      },
    };
    const planned = planService(alone, changes({}, { containers: { side: { clearSecrets: true } } }));
    expect(planned.template.volumes!.map((v) => v.name)).toEqual(['mem']);
  });

  it('--add-volume-mount, --remove-volume-mount and --clear-volume-mounts change the sidecar’s mounts only', () => {
    const added = plan({
      volumes: { add: [{ name: 'm2', type: 'in-memory' }] },
      containers: {
        side: { volumes: { removeMounts: ['/cache'], addMounts: [{ volume: 'm2', mountPath: '/m2' }] } },
      },
    });
    expect(sideOf(added).volumeMounts).toEqual([
      { name: 'shared', mountPath: '/s' },
      { name: 'm2', mountPath: '/m2' },
    ]);
    expect(appOf(added).volumeMounts).toEqual([{ name: 'shared', mountPath: '/shared' }]);
    expect(added.template.volumes!.map((v) => v.name)).toEqual(['shared', 'mem', 'm2']);

    const cleared = plan({ containers: { side: { volumes: { clearMounts: true } } } });
    expect(sideOf(cleared).volumeMounts).toBeUndefined();
    expect(appOf(cleared).volumeMounts).toEqual([{ name: 'shared', mountPath: '/shared' }]);

    expect(() =>
      plan({ containers: { side: { volumes: { addMounts: [{ volume: 'nope', mountPath: '/n' }] } } } }),
    ).toThrow(/volume 'nope'/);
  });

  it('the target’s own scope mounts a volume the unscoped --add-volume adds', () => {
    const planned = plan({
      volumes: { add: [{ name: 'm2', type: 'in-memory' }] },
      containers: { app: { volumes: { addMounts: [{ volume: 'm2', mountPath: '/m2' }] } } },
    });
    expect(appOf(planned).volumeMounts).toEqual([
      { name: 'shared', mountPath: '/shared' },
      { name: 'm2', mountPath: '/m2' },
    ]);
  });

  it('the target’s --clear-secrets leaves a secret volume a sidecar mounts', () => {
    const planned = plan({ clearSecrets: true });
    expect(appOf(planned).volumeMounts).toBeUndefined();
    expect(sideOf(planned).volumeMounts).toEqual(twoContainers.template.containers![1]!.volumeMounts);
    expect(planned.template.volumes!.map((v) => v.name)).toEqual(['shared', 'mem']);
  });
});
