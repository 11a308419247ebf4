// Code from a fork, pure: which events build it (payload shapes from GitHub's webhook docs), what
// a run of it deploys as (never production's runtime account or secrets), the template it starts
// from (no live secret in any container), and how it is built (no registry credential, no cache).
import { forkCode, type EventPayload } from '../../src/inputs/event.js';

type Repo = { id?: number; full_name?: string; fork?: boolean };
/** A webhook payload as GitHub sends it, with more fields than forkCode reads. */
const payload = (full: object): EventPayload => full as EventPayload;
import { readSettings, type Settings } from '../../src/inputs/inputs.js';
import { InputError, RunwayError } from '../../src/errors.js';
import { isolatedSettings, isolationFor } from '../../src/rollout/preview.js';
import { planService, withoutSecrets, type ServiceChanges } from '../../src/deploy/plan.js';
import type { RevisionTemplate, Service } from '../../src/gcp/run-types.js';
import { planBuild, type BuildPlan } from '../../src/image/build-plan.js';
import { anonymousConfigFrom } from '../../src/image/docker.js';

// Trimmed from GitHub's webhook payload examples: the fields that say where the code comes from.
const base = { id: 1296269, full_name: 'octocat/Hello-World', fork: false };
const fork = { id: 1300192, full_name: 'octocat-fan/Hello-World', fork: true };
const pullRequest = (head: Repo | null): EventPayload =>
  payload({
    action: 'opened',
    number: 2,
    pull_request: {
      number: 2,
      head: { label: 'x:feature', ref: 'feature', sha: 'ec26c3e5', repo: head },
      base: { label: 'octocat:main', ref: 'main', sha: '6dcb09b5', repo: base },
    },
    repository: base,
  });
const workflowRun = (headRepository: Repo | null): EventPayload =>
  payload({
    action: 'completed',
    workflow_run: {
      event: 'pull_request',
      head_branch: 'feature',
      head_sha: 'ec26c3e5',
      head_repository: headRepository,
      repository: base,
    },
    repository: base,
  });

describe('forkCode', () => {
  it('pull_request and pull_request_target: a head in another repository is a fork', () => {
    for (const name of ['pull_request', 'pull_request_target']) {
      expect(forkCode(name, pullRequest(fork))).toBe(true);
      expect(forkCode(name, pullRequest(base))).toBe(false);
    }
  });
  it('a deleted head repository (null) or a payload that does not say counts as a fork', () => {
    expect(forkCode('pull_request_target', pullRequest(null))).toBe(true);
    expect(forkCode('pull_request', {})).toBe(true);
  });
  it('compares ids when both have them: a renamed repository is still the same one', () => {
    expect(forkCode('pull_request', pullRequest({ ...base, full_name: 'octocat/Renamed' }))).toBe(false);
    expect(forkCode('pull_request', pullRequest({ full_name: 'OctoCat/hello-world' }))).toBe(false);
  });
  it("workflow_run: the run's head repository against the workflow's", () => {
    expect(forkCode('workflow_run', workflowRun(fork))).toBe(true);
    expect(forkCode('workflow_run', workflowRun(base))).toBe(false);
    expect(forkCode('workflow_run', workflowRun(null))).toBe(true);
  });
  it('push builds the repository’s own code', () => {
    expect(forkCode('push', { repository: base } as never)).toBe(false);
  });
});

const settings = (inputs: Record<string, string>): Settings =>
  readSettings((name) => ({ service: 'hello', image: 'us-docker.pkg.dev/p/r/app:1', ...inputs })[name] ?? '');
const previewSA = 'pr-preview@p.iam.gserviceaccount.com';

describe('isolationFor: fork code never runs as production does', () => {
  it("the repository's own code, or a cleanup, needs no isolation", () => {
    expect(isolationFor(settings({ preview: 'true' }), false, 7)).toBeUndefined();
    expect(isolationFor(settings({ cleanup: 'true' }), true, 7)).toBeUndefined();
  });
  it('refuses fork code without preview_service_account, naming it', () => {
    const run = () => isolationFor(settings({ preview: 'true' }), true, 7);
    expect(run).toThrow(RunwayError);
    expect(run).toThrow(/#7 comes from a fork.*`preview_service_account`.*Nothing was changed/s);
    // A deploy of fork code (workflow_run) too.
    expect(() => isolationFor(settings({ tag: 'pr-7', traffic: 'none' }), true)).toThrow(
      /preview_service_account/,
    );
  });
  it("refuses production's runtime account, the deployer, or a default account as the preview's", () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ runtime_service_account: previewSA }, 'runtime_service_account'],
      [
        {
          service_account: previewSA,
          workload_identity_provider: 'projects/1/locations/global/workloadIdentityPools/g/providers/p',
        },
        'service_account',
      ],
      [{ preview_service_account: '123456789-compute@developer.gserviceaccount.com' }, 'default'],
      [{ preview_service_account: 'p@appspot.gserviceaccount.com' }, 'default'],
    ];
    for (const [inputs, clash] of cases) {
      const s = settings({ preview: 'true', preview_service_account: previewSA, ...inputs });
      let thrown: unknown;
      try {
        isolationFor(s, true, 7);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(InputError);
      expect((thrown as InputError).input).toBe('preview_service_account');
      expect((thrown as InputError).fix).toContain(clash);
    }
  });
  it('runs fork code as preview_service_account with only preview_secrets', () => {
    const s = settings({
      preview: 'true',
      preview_service_account: previewSA,
      runtime_service_account: 'prod@p.iam.gserviceaccount.com',
      secrets: 'DB_PASSWORD=prod-db:latest',
      preview_secrets: 'API_KEY=preview-key:2',
    });
    const isolation = isolationFor(s, true, 7)!;
    expect(isolation).toEqual({
      serviceAccount: previewSA,
      secrets: { env: { API_KEY: { secret: 'preview-key', version: '2' } }, files: {} },
    });
    const isolated = isolatedSettings(s, isolation);
    expect(isolated.isolated).toBe(true);
    expect(isolated.spec.runtimeServiceAccount).toBe(previewSA);
    expect(isolated.spec.secrets).toEqual(isolation.secrets);
    // Without preview_secrets: no secrets at all, not the `secrets` input's.
    const none = isolatedSettings(s, { serviceAccount: previewSA, secrets: undefined });
    expect(none.spec.secrets).toBeUndefined();
  });
  it("gives fork code no sidecar's secrets from `flags` either", () => {
    const s = settings({
      preview: 'true',
      preview_service_account: previewSA,
      image: 'h/p/r/a:1',
      flags: '--container side --image h/p/r/s:1 --set-secrets=TOKEN=prod-db:1,/s/key=prod-db:2 --cpu 1',
    });
    const isolated = isolatedSettings(s, isolationFor(s, true, 7)!);
    expect(isolated.spec.containers).toEqual({ side: { image: 'h/p/r/s:1', cpu: '1' } });
  });
});

const secretRef = { secretKeyRef: { secret: 'prod-db', version: 'latest' } };
const production: RevisionTemplate = {
  serviceAccount: 'prod@p.iam.gserviceaccount.com',
  containers: [
    {
      image: 'app@sha256:1',
      ports: [{ name: 'http1', containerPort: 8080 }],
      env: [
        { name: 'MODE', value: 'prod' },
        { name: 'DB_PASSWORD', valueSource: secretRef },
      ],
      volumeMounts: [
        { name: 'creds', mountPath: '/creds' },
        { name: 'cloudsql', mountPath: '/cloudsql' },
      ],
    },
    {
      image: 'sidecar@sha256:2',
      env: [{ name: 'TOKEN', valueSource: secretRef }],
      volumeMounts: [{ name: 'creds', mountPath: '/sidecar-creds' }],
    },
  ],
  volumes: [
    { name: 'creds', secret: { secret: 'prod-creds', items: [{ path: 'key', version: 'latest' }] } },
    { name: 'cloudsql', cloudSqlInstance: { instances: ['p:r:db'] } },
  ],
};

describe('withoutSecrets and the isolated plan', () => {
  it('drops every secret env var and secret volume, in every container, and keeps the rest', () => {
    expect(withoutSecrets(production)).toEqual({
      serviceAccount: 'prod@p.iam.gserviceaccount.com',
      containers: [
        {
          image: 'app@sha256:1',
          ports: [{ name: 'http1', containerPort: 8080 }],
          env: [{ name: 'MODE', value: 'prod' }],
          volumeMounts: [{ name: 'cloudsql', mountPath: '/cloudsql' }],
        },
        { image: 'sidecar@sha256:2', env: [], volumeMounts: [] },
      ],
      volumes: [{ name: 'cloudsql', cloudSqlInstance: { instances: ['p:r:db'] } }],
    });
  });

  const live: Service = { template: { revision: 'hello-00002-new' }, traffic: [] };
  const changes = (over: Partial<ServiceChanges>): ServiceChanges => ({
    project: 'p',
    region: 'r',
    service: 'hello',
    image: 'app@sha256:3',
    revisionName: 'hello-pr7',
    spec: { runtimeServiceAccount: previewSA },
    envVarsUpdateStrategy: 'merge',
    secretsUpdateStrategy: 'merge',
    labels: {},
    traffic: undefined,
    revisionOnly: true,
    baseTemplate: production,
    ...over,
  });

  it("an isolated revision starts from production's template without its secrets, as the preview account", () => {
    const planned = planService(live, changes({ isolated: true })).template;
    expect(planned.serviceAccount).toBe(previewSA);
    expect(JSON.stringify(planned)).not.toContain('prod-db');
    expect(JSON.stringify(planned)).not.toContain('prod-creds');
    // Without isolation production's secrets would carry over: what the flag is for.
    expect(JSON.stringify(planService(live, changes({})).template)).toContain('prod-db');
  });
  it('gets the secrets named for previews', () => {
    const spec = {
      runtimeServiceAccount: previewSA,
      secrets: { env: { API_KEY: { secret: 'preview-key', version: '2' } }, files: {} },
    };
    const env = planService(live, changes({ isolated: true, spec })).template.containers?.[0]?.env;
    expect(env).toEqual([
      { name: 'MODE', value: 'prod' },
      { name: 'API_KEY', valueSource: { secretKeyRef: { secret: 'preview-key', version: '2' } } },
    ]);
  });
  it('refuses a preview account that is the one production runs as', () => {
    const base = { ...production, serviceAccount: previewSA };
    expect(() => planService(live, changes({ isolated: true, baseTemplate: base }))).toThrow(
      /preview_service_account.*hello runs as in r/,
    );
  });
});

describe('a build of fork code', () => {
  const plan: BuildPlan = {
    context: 'app',
    dockerfile: undefined,
    buildArgs: {},
    secrets: {},
    target: undefined,
    platform: undefined,
    image: { host: 'h', path: 'p/r/svc', tag: 'sha1', digest: undefined },
    cacheRef: 'h/p/r/svc:buildcache',
    untrusted: true,
  };
  it('buildx (every driver): --load into the local store, no cache, no push; pushed after', () => {
    for (const driver of ['docker', 'docker-container', 'remote', 'kubernetes'] as const) {
      const command = planBuild(plan, driver, { metadataFile: '/tmp/m.json' });
      expect(command.args).toEqual(['buildx', 'build', '--tag', 'h/p/r/svc:sha1', '--load', '--', 'app']);
      expect(command.pushes).toBe(false);
      expect(command.pushAfter).toEqual(['h/p/r/svc:sha1']);
    }
  });
  it('no buildx (classic builder): no cache, the image alone pushed after', () => {
    const command = planBuild(plan, 'none');
    expect(command.args).toEqual(['build', '--tag', 'h/p/r/svc:sha1', '--', 'app']);
    expect(command.pushAfter).toEqual(['h/p/r/svc:sha1']);
  });
  it("runs with a Docker config that keeps none of the user's credentials, helpers or proxies", () => {
    const user = {
      auths: { 'ghcr.io': { auth: 'dXNlcjpwYXNz' } },
      credsStore: 'desktop',
      credHelpers: { 'us-docker.pkg.dev': 'gcloud' },
      proxies: { default: { httpProxy: 'http://user:pw@proxy:3128' } },
      currentContext: 'remote',
      features: { buildkit: 'true' },
    };
    expect(anonymousConfigFrom(user)).toEqual({ currentContext: 'remote', features: { buildkit: 'true' } });
  });
  it('fork_build_credentials is read as a boolean, false by default', () => {
    const build = { context: '.', repository: 'us-docker.pkg.dev/p/r', image: '' };
    const read = (extra: Record<string, string>) => {
      const s = settings({ ...build, ...extra });
      return s.image?.kind === 'build' ? s.image.forkCredentials : undefined;
    };
    expect(read({})).toBe(false);
    expect(read({ fork_build_credentials: 'true' })).toBe(true);
  });
});
