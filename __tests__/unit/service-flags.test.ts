// gcloud run deploy's service-wide flags in `flags` (access, audiences, description, affinity,
// service minimum, Binary Authorization, CMEK, remove/clear), each against the spec it must produce,
// then what the planner makes of them; and the flags Runway refuses, with why.
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlags } from '../../src/inputs/flags.js';
import { planService, type ServiceChanges } from '../../src/deploy/plan.js';
import type { Service } from '../../src/gcp/run-types.js';
import type { ListChange, ServiceSpec } from '../../src/inputs/spec.js';
import { serviceChanges } from '../helpers/service-changes.js';
import { describeError, RunwayError } from '../../src/errors.js';

describe('service flags: each flag and the spec it produces', () => {
  const rows: Array<[string, ServiceSpec]> = [
    ['--no-invoker-iam-check', { invokerIamDisabled: true }],
    ['--invoker-iam-check', { invokerIamDisabled: false }],
    ['--invoker-iam-check=false', { invokerIamDisabled: true }],
    ['--set-custom-audiences=a,b', { customAudiences: { set: ['a', 'b'] } }],
    ['--add-custom-audiences a --add-custom-audiences b', { customAudiences: { add: ['a', 'b'] } }],
    ['--remove-custom-audiences=a', { customAudiences: { remove: ['a'] } }],
    ['--clear-custom-audiences', { customAudiences: { clear: true } }],
    ['--description "the web front"', { description: 'the web front' }],
    ['--session-affinity', { sessionAffinity: true }],
    ['--no-session-affinity', { sessionAffinity: false }],
    ['--min=2', { serviceMinInstances: 2 }],
    ['--min default', { serviceMinInstances: null }],
    ['--binary-authorization=default', { binaryAuthorization: 'default' }],
    ['--clear-binary-authorization', { binaryAuthorization: null }],
    ['--breakglass="incident 42"', { breakglass: 'incident 42' }],
    [
      '--key=projects/p/locations/l/keyRings/r/cryptoKeys/k',
      { encryptionKey: 'projects/p/locations/l/keyRings/r/cryptoKeys/k' },
    ],
    ['--clear-key', { encryptionKey: null, keyRevocationAction: null, keyShutdownHours: null }],
    ['--post-key-revocation-action-type=shut-down', { keyRevocationAction: 'shut-down' }],
    ['--clear-post-key-revocation-action-type', { keyRevocationAction: null, keyShutdownHours: null }],
    ['--encryption-key-shutdown-hours=2', { keyShutdownHours: 2 }],
    ['--clear-encryption-key-shutdown-hours', { keyShutdownHours: null }],
    ['--remove-cloudsql-instances=p:r:a', { removeCloudsqlInstances: ['p:r:a'] }],
    ['--clear-cloudsql-instances', { clearCloudsqlInstances: true }],
    ['--clear-vpc-connector', { clearVpcConnector: true }],
    ['--remove-labels=a,b', { removeLabels: ['a', 'b'] }],
    ['--clear-labels', { clearLabels: true }],
    ['--platform=managed', {}],
  ];
  it.each(rows)('%s', (flags, spec) => {
    expect(parseFlags(flags)).toEqual(spec);
  });

  it('--flags-file stands for the flags in its YAML file, in place', () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'flags-file-')));
    const file = join(dir, 'flags.yaml');
    writeFileSync(
      file,
      '--description: from a file\n--no-invoker-iam-check: null\n--add-custom-audiences: [a, b]\n--update-labels: {team: web}\n--session-affinity: true\n',
    );
    const old = process.env.GITHUB_WORKSPACE;
    process.env.GITHUB_WORKSPACE = dir;
    try {
      expect(parseFlags(`--cpu 1 --flags-file ${file} --description later`)).toEqual({
        cpu: '1',
        description: 'later',
        invokerIamDisabled: true,
        customAudiences: { add: ['a', 'b'] },
        labels: { team: 'web' },
        sessionAffinity: true,
      });
      writeFileSync(file, '- just a word\n');
      expect(() => parseFlags(`--flags-file=${file}`)).toThrow("Input 'flags (--flags-file)' is invalid");
    } finally {
      if (old === undefined) delete process.env.GITHUB_WORKSPACE;
      else process.env.GITHUB_WORKSPACE = old;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('a --flags-file inside a flags file', () => {
    let dir: string;
    let old: string | undefined;
    const write = (name: string, text: string): string => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const described = (run: () => unknown): string => {
      try {
        run();
      } catch (err) {
        return describeError(err);
      }
      return 'accepted';
    };
    beforeEach(() => {
      dir = realpathSync(mkdtempSync(join(tmpdir(), 'flags-file-nested-')));
      mkdirSync(join(dir, 'sub'));
      old = process.env.GITHUB_WORKSPACE;
      process.env.GITHUB_WORKSPACE = dir;
    });
    afterEach(() => {
      if (old === undefined) delete process.env.GITHUB_WORKSPACE;
      else process.env.GITHUB_WORKSPACE = old;
      rmSync(dir, { recursive: true, force: true });
    });

    it('stands for its files in its place, a path or a list of paths, read from the workspace as gcloud reads them from its working directory', () => {
      write('more.yaml', '--description: from more\n--session-affinity: null\n');
      write('sub/more.yaml', '--description: from sub\n');
      write('last.yaml', '--min: 2\n');
      write('sub/outer.yaml', '--cpu: 2\n--flags-file: [more.yaml, last.yaml]\n--memory: 1Gi\n');
      expect(parseFlags('--flags-file sub/outer.yaml --min 3')).toEqual({
        cpu: '2',
        description: 'from more',
        sessionAffinity: true,
        serviceMinInstances: 3,
        memory: '1Gi',
      });
      // Left to right: what comes after a nested file wins over it.
      write('sub/later.yaml', '- --flags-file: more.yaml\n- --description: after\n');
      expect(parseFlags('--flags-file=sub/later.yaml').description).toBe('after');
      // The same file twice, not inside itself, is no cycle.
      write('twice.yaml', '- --flags-file: last.yaml\n- --flags-file: last.yaml\n');
      expect(parseFlags('--flags-file twice.yaml')).toEqual({ serviceMinInstances: 2 });
    });

    it('refuses a file that leads back to itself, as gcloud refuses a recursive reference, however it is spelled', () => {
      write('self.yaml', '--flags-file: self.yaml\n');
      expect(described(() => parseFlags('--flags-file self.yaml'))).toMatch(
        /`flags` \(--flags-file\): self\.yaml → self\.yaml leads back to a file it is reading, which gcloud refuses \("--flags-file recursive reference"\)\..*Fix: Remove the --flags-file that leads back to self\.yaml/s,
      );
      write('a.yaml', '--cpu: 1\n--flags-file: sub/b.yaml\n');
      write('sub/b.yaml', '--flags-file: ./sub/../a.yaml\n');
      expect(described(() => parseFlags('--flags-file a.yaml'))).toMatch(
        /a\.yaml → sub\/b\.yaml → \.\/sub\/\.\.\/a\.yaml leads back to a file it is reading/,
      );
      symlinkSync(join(dir, 'a.yaml'), join(dir, 'link.yaml'));
      write('sub/b.yaml', '--flags-file: link.yaml\n');
      expect(described(() => parseFlags('--flags-file a.yaml'))).toMatch(/recursive reference/);
    });

    it('keeps nested files in the workspace, through links, as the outer one', () => {
      const outside = realpathSync(mkdtempSync(join(tmpdir(), 'flags-file-outside-')));
      try {
        writeFileSync(join(outside, 'secret.yaml'), '--description: outside\n');
        symlinkSync(join(outside, 'secret.yaml'), join(dir, 'escape.yaml'));
        write('outer.yaml', '--flags-file: escape.yaml\n');
        expect(described(() => parseFlags('--flags-file outer.yaml'))).toMatch(
          /Input 'flags \(--flags-file\)' is invalid: got "escape\.yaml".*inside the workspace/s,
        );
        write('outer.yaml', '--flags-file: ../x.yaml\n');
        expect(described(() => parseFlags('--flags-file outer.yaml'))).toMatch(/got "\.\.\/x\.yaml"/);
        write('outer.yaml', '--flags-file: {a: 1}\n');
        expect(described(() => parseFlags('--flags-file outer.yaml'))).toMatch(/a list of paths/);
      } finally {
        rmSync(outside, { recursive: true, force: true });
      }
    });

    it('refuses a --flags-file without a path, and an expansion of more than 100 files', () => {
      expect(described(() => parseFlags('--cpu 1 --flags-file'))).toMatch(/--flags-file PATH/);
      write('leaf.yaml', '--session-affinity: null\n');
      for (let i = 0; i < 7; i++)
        write(
          `level${i}.yaml`,
          `--flags-file: [${i ? `level${i - 1}.yaml` : 'leaf.yaml'}, ${i ? `level${i - 1}.yaml` : 'leaf.yaml'}]\n`,
        );
      expect(described(() => parseFlags('--flags-file level6.yaml'))).toMatch(/more than 100 flags files/);
    });
  });

  const refused: Array<[string, RegExp]> = [
    ['--async', /--async in `flags` is not passed/],
    ['--platform=gke', /fully managed Cloud Run only/],
    ['--cluster=c1', /--cluster in `flags` is not passed/],
    ['--function=main', /--function in `flags` is not passed/],
    ['--source=.', /--source in `flags` is not passed/],
  ];
  it.each(refused)('refuses %s, saying why and what to use', (flags, message) => {
    expect(() => parseFlags(flags)).toThrow(message);
    try {
      parseFlags(flags);
    } catch (err) {
      expect((err as RunwayError).fix).toBeTruthy();
    }
  });

  it('refuses service-wide flags for a job rather than ignoring them', () => {
    expect(() => parseFlags('--no-invoker-iam-check', 'job')).toThrow(/service setting/);
    expect(() => parseFlags('--description x', 'job')).toThrow(/service setting/);
  });
});

const changes = (spec: ServiceSpec, over: Partial<ServiceChanges> = {}): ServiceChanges =>
  serviceChanges(spec, {
    service: 'web',
    image: 'h/p/r/app@sha256:2',
    labels: { 'managed-by': 'github-actions' },
    ...over,
  });

const live: Service = {
  labels: { team: 'a', tier: 'b' },
  invokerIamDisabled: true,
  customAudiences: ['x', 'y'],
  description: 'old',
  scaling: { minInstanceCount: 1 },
  template: {
    labels: { team: 'a', tier: 'b' },
    sessionAffinity: true,
    encryptionKey: 'k',
    encryptionKeyRevocationAction: 'SHUTDOWN',
    encryptionKeyShutdownDuration: '7200s',
    vpcAccess: { connector: 'projects/p/locations/r/connectors/c', egress: 'ALL_TRAFFIC' },
    volumes: [{ name: 'cloudsql', cloudSqlInstance: { instances: ['p:r:a', 'p:r:b'] } }],
    containers: [
      { image: 'h/p/r/app@sha256:1', volumeMounts: [{ name: 'cloudsql', mountPath: '/cloudsql' }] },
    ],
  },
};

describe('planning service flags', () => {
  it('sets the service-wide fields', () => {
    const planned = planService(
      undefined,
      changes({
        invokerIamDisabled: true,
        customAudiences: { add: ['aud'] },
        description: 'web',
        serviceMinInstances: 2,
        binaryAuthorization: 'default',
        breakglass: 'why',
        sessionAffinity: true,
        encryptionKey: 'k',
        keyRevocationAction: 'prevent-new',
        keyShutdownHours: 1,
      }),
    );
    expect(planned).toMatchObject({
      invokerIamDisabled: true,
      customAudiences: ['aud'],
      description: 'web',
      scaling: { minInstanceCount: 2 },
      binaryAuthorization: { useDefault: true, breakglassJustification: 'why' },
      template: {
        sessionAffinity: true,
        encryptionKey: 'k',
        encryptionKeyRevocationAction: 'PREVENT_NEW',
        encryptionKeyShutdownDuration: '3600s',
      },
    });
  });

  it('changes the live lists as gcloud does: clear, remove, then add; set replaces', () => {
    const audiences = (c: ListChange): unknown =>
      planService(live, changes({ customAudiences: c })).customAudiences;
    expect(audiences({ add: ['z', 'x'] })).toEqual(['x', 'y', 'z']);
    expect(audiences({ remove: ['x'] })).toEqual(['y']);
    expect(audiences({ clear: true, add: ['n'] })).toEqual(['n']);
    expect(audiences({ set: ['s'] })).toEqual(['s']);
    expect(audiences({ clear: true })).toBeUndefined();
  });

  it('removes and clears: the IAM check back on, labels, Cloud SQL, VPC connector, CMEK, affinity, minimum', () => {
    const planned = planService(
      live,
      changes({
        invokerIamDisabled: false,
        description: '',
        serviceMinInstances: null,
        removeLabels: ['tier', 'managed-by'],
        removeCloudsqlInstances: ['p:r:a'],
        clearVpcConnector: true,
        // gcloud refuses to clear a connector all traffic goes through unless egress changes with it.
        vpcEgress: 'private-ranges-only',
        encryptionKey: null,
        keyRevocationAction: null,
        keyShutdownHours: null,
        sessionAffinity: false,
      }),
    );
    expect(planned.invokerIamDisabled).toBe(false);
    expect(planned.description).toBeUndefined();
    expect(planned.scaling).toEqual({});
    // A label this run sets is not removed (gcloud removes, then adds).
    expect(planned.labels).toEqual({ team: 'a', 'managed-by': 'github-actions' });
    expect(planned.template.labels).toEqual({ team: 'a', 'managed-by': 'github-actions' });
    expect(planned.template.volumes).toEqual([
      { name: 'cloudsql', cloudSqlInstance: { instances: ['p:r:b'] } },
    ]);
    for (const field of [
      'vpcAccess',
      'encryptionKey',
      'encryptionKeyRevocationAction',
      'encryptionKeyShutdownDuration',
      'sessionAffinity',
    ])
      expect(planned.template[field]).toBeUndefined();
    const cleared = planService(live, changes({ clearCloudsqlInstances: true, clearLabels: true }));
    expect(cleared.template.volumes).toBeUndefined();
    expect(cleared.template.containers![0]!.volumeMounts).toBeUndefined();
    expect(cleared.labels).toEqual({ 'managed-by': 'github-actions' });
  });

  it('a preview changes no service-wide field', () => {
    const planned = planService(
      live,
      changes({ invokerIamDisabled: false, description: 'x' }, { revisionOnly: true }),
    );
    expect(planned.invokerIamDisabled).toBe(true);
    expect(planned.description).toBe('old');
  });
});

describe("gcloud's mutually exclusive list flags", () => {
  it.each([
    '--add-custom-audiences=a --remove-custom-audiences=b',
    '--set-custom-audiences=a --clear-custom-audiences',
    '--add-cloudsql-instances=p:r:a --remove-cloudsql-instances=p:r:b',
    '--set-cloudsql-instances=p:r:a --clear-cloudsql-instances',
  ])('refuses %s, as gcloud does', (flags) => {
    expect(() => parseFlags(flags)).toThrow(/gcloud takes at most one of/);
  });
});

describe('--remove-secrets and --clear-secrets', () => {
  const withSecrets: Service = {
    template: {
      volumes: [
        {
          name: 'sv',
          secret: {
            secret: 'db',
            items: [
              { path: 'a', version: '1' },
              { path: 'b', version: '1' },
            ],
          },
        },
        { name: 'other', secret: { secret: 'key', items: [{ path: 'k', version: '1' }] } },
      ],
      containers: [
        {
          image: 'x',
          env: [
            { name: 'P', value: '1' },
            { name: 'S', valueSource: { secretKeyRef: { secret: 's', version: '1' } } },
            { name: 'T', valueSource: { secretKeyRef: { secret: 't', version: '1' } } },
          ],
          volumeMounts: [
            { name: 'sv', mountPath: '/etc/db' },
            { name: 'other', mountPath: '/etc/key' },
          ],
        },
      ],
    },
  };

  it.each([
    ['--remove-secrets=S,/etc/db/a', { removeSecrets: ['S', '/etc/db/a'] }],
    ['--clear-secrets', { clearSecrets: true }],
    ['--container side --remove-secrets=S', { containers: { side: { removeSecrets: ['S'] } } }],
  ] as Array<[string, ServiceSpec]>)('%s', (flags, spec) => {
    expect(parseFlags(flags)).toEqual(spec);
  });

  it('drops secret variables by name and secret files by path; a volume without files goes with its mount', () => {
    const planned = planService(withSecrets, changes({ removeSecrets: ['S', '/etc/db/a', '/etc/key/k'] }));
    const [container] = planned.template.containers!;
    expect(container!.env!.map((e) => e.name)).toEqual(['P', 'T']);
    expect(planned.template.volumes).toEqual([
      { name: 'sv', secret: { secret: 'db', items: [{ path: 'b', version: '1' }] } },
    ]);
    expect(container!.volumeMounts).toEqual([{ name: 'sv', mountPath: '/etc/db' }]);
  });

  it('--clear-secrets drops every secret, plain variables stay', () => {
    const planned = planService(withSecrets, changes({ clearSecrets: true }));
    expect(planned.template.containers![0]!.env).toEqual([{ name: 'P', value: '1' }]);
    expect(planned.template.volumes).toBeUndefined();
    expect(planned.template.containers![0]!.volumeMounts).toBeUndefined();
  });
});
