// gcloud's build flags in `flags` for a build on Google (`source`): how they are read, what gcloud
// refuses, how they resolve against what the service recorded of its last build (gcloud keeps them
// sticky), and the builds:submit body they give (checked against Cloud Run's schema).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlags } from '../../src/inputs/flags.js';
import { applyBuildEnv, resolveBuild, serviceAccountEmail } from '../../src/inputs/build-flags.js';
import { readSettings } from '../../src/inputs/inputs.js';
import { explainSubmitError, recordedBuild, submitBuildRequest } from '../../src/image/remote-build.js';
import { GoogleApiError } from '../../src/common/http.js';
import { planBuildConfig, planService } from '../../src/deploy/plan.js';
import { serviceChanges } from '../helpers/service-changes.js';
import { describeError } from '../../src/errors.js';
import { checkRequest } from '../../emulator/schema/validate.js';
import { schemaOf } from '../../emulator/schema/schema.js';

const SA = 'projects/p/serviceAccounts/builder@p.iam.gserviceaccount.com';
const POOL = 'projects/p/locations/us-central1/workerPools/pool';

const refusal = (run: () => unknown): string => {
  try {
    run();
  } catch (err) {
    return describeError(err);
  }
  return 'accepted';
};

describe('gcloud build flags in `flags`', () => {
  it('reads the build account, worker pool and build env vars', () => {
    expect(
      parseFlags(
        `--build-service-account=${SA} --build-worker-pool ${POOL} --update-build-env-vars=B=2,A=1 --remove-build-env-vars=OLD --cpu=1`,
      ),
    ).toEqual({
      cpu: '1',
      build: { serviceAccount: SA, workerPool: POOL, env: { update: { B: '2', A: '1' }, remove: ['OLD'] } },
    });
    expect(parseFlags('--set-build-env-vars=A=1 --set-build-env-vars=B=2').build).toEqual({
      env: { set: { A: '1', B: '2' } },
    });
    expect(
      parseFlags('--clear-build-service-account --clear-build-worker-pool --clear-build-env-vars').build,
    ).toEqual({ serviceAccount: null, workerPool: null, env: { clear: true } });
    // As gcloud: an empty account or pool clears it.
    expect(parseFlags('--build-service-account="" --build-worker-pool ""').build).toEqual({
      serviceAccount: null,
      workerPool: null,
    });
  });

  it('reads --build-env-vars-file as gcloud does: a YAML mapping of string values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runway-build-env-'));
    try {
      writeFileSync(join(dir, 'ok.yaml'), 'KEY_1: "value1"\nKEY_2: "value 2"\n');
      writeFileSync(join(dir, 'number.yaml'), 'PORT: 8080\n');
      writeFileSync(join(dir, 'list.yaml'), '- A\n');
      const old = process.env.GITHUB_WORKSPACE;
      process.env.GITHUB_WORKSPACE = dir;
      try {
        expect(parseFlags('--build-env-vars-file=ok.yaml').build).toEqual({
          env: { file: { KEY_1: 'value1', KEY_2: 'value 2' } },
        });
        expect(refusal(() => parseFlags('--build-env-vars-file=number.yaml'))).toMatch(
          /--build-env-vars-file.*quote the value of "PORT"/s,
        );
        expect(refusal(() => parseFlags('--build-env-vars-file=list.yaml'))).toMatch(/map-like data/);
      } finally {
        if (old === undefined) delete process.env.GITHUB_WORKSPACE;
        else process.env.GITHUB_WORKSPACE = old;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses what gcloud refuses', () => {
    // gcloud's ServiceAccount type: the resource name, not the bare email.
    expect(refusal(() => parseFlags('--build-service-account=builder@p.iam.gserviceaccount.com'))).toMatch(
      /flags \(--build-service-account\).*projects\/PROJECT\/serviceAccounts\/EMAIL/s,
    );
    expect(refusal(() => parseFlags('--build-worker-pool=pool'))).toMatch(/workerPools\/POOL/);
    expect(refusal(() => parseFlags('--set-build-env-vars=X_GOOGLE_A=1'))).toMatch(/X_GOOGLE_/);
    // The mutually exclusive groups; only update and remove go together.
    // They are checked with gcloud's other exclusive groups, in the same words.
    expect(refusal(() => parseFlags('--set-build-env-vars=A=1 --update-build-env-vars=B=2'))).toContain(
      '`flags` gives --set-build-env-vars and --update-build-env-vars: gcloud takes at most one of --clear-build-env-vars, --set-build-env-vars, --build-env-vars-file, --update-build-env-vars with --remove-build-env-vars.',
    );
    expect(refusal(() => parseFlags('--clear-build-env-vars --remove-build-env-vars=A'))).toMatch(
      /gives --clear-build-env-vars and --remove-build-env-vars: gcloud takes at most one of/,
    );
    expect(refusal(() => parseFlags(`--build-service-account=${SA} --clear-build-service-account`))).toMatch(
      /gcloud takes at most one of --build-service-account, --clear-build-service-account\..*Keep one of them/s,
    );
    expect(refusal(() => parseFlags(`--build-worker-pool=${POOL} --clear-build-worker-pool`))).toMatch(
      /gcloud takes at most one of --build-worker-pool, --clear-build-worker-pool/,
    );
    expect(parseFlags('--update-build-env-vars=A=1 --remove-build-env-vars=B').build?.env).toEqual({
      update: { A: '1' },
      remove: ['B'],
    });
    // `gcloud run jobs deploy` has no build flags.
    expect(refusal(() => parseFlags(`--build-service-account=${SA}`, 'job'))).toMatch(
      /gcloud run jobs deploy` has no such flag/,
    );
    // gcloud's build flags are per-container: with --container, they belong after one.
    expect(refusal(() => parseFlags(`--container=app --image=x --build-service-account=${SA}`))).toMatch(
      /not supported after --container/,
    );
  });

  it('refuses --ignore-file, which gcloud 528 `run deploy` does not accept, pointing to .gcloudignore', () => {
    expect(refusal(() => parseFlags('--ignore-file=.dockerignore'))).toMatch(
      /--ignore-file .*not a flag of `gcloud run deploy` \(gcloud 528 answers "unrecognized arguments: --ignore-file"\).*\.gcloudignore at the root of `source`/s,
    );
  });

  it('takes them with `source` only, naming `flags` and `source` otherwise', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runway-src-'));
    const base = { service: 'svc', region: 'us-central1', repository: 'us-central1-docker.pkg.dev/p/r' };
    const read = (inputs: Record<string, string>) => readSettings((name) => inputs[name] ?? '');
    try {
      const settings = read({ ...base, source: dir, flags: `--build-service-account=${SA}` });
      expect(settings.image).toMatchObject({ kind: 'source', build: { serviceAccount: SA } });
      for (const other of [{ image: 'us-docker.pkg.dev/p/r/i:1' }, { context: dir }]) {
        const said = refusal(() => read({ ...base, ...other, flags: `--build-worker-pool=${POOL} --cpu=1` }));
        expect(said).toMatch(/`flags` gives gcloud build flags/);
        expect(said).toMatch(/only with the `source` input/);
        expect(said).toMatch(/Set `source`/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the build settings a deploy resolves, as gcloud (sticky on the service)', () => {
  const recorded = { serviceAccount: SA, workerPool: POOL, environmentVariables: { A: '1', B: '2' } };

  it('keeps what the last build recorded when no flag says otherwise', () => {
    expect(resolveBuild(undefined, recorded)).toEqual({
      serviceAccount: SA,
      workerPool: POOL,
      env: { A: '1', B: '2' },
    });
    expect(resolveBuild(undefined, undefined)).toEqual({
      serviceAccount: undefined,
      workerPool: undefined,
      env: undefined,
    });
  });

  it('replaces or clears each as its flag says', () => {
    const other = 'projects/p/serviceAccounts/other@p.iam.gserviceaccount.com';
    expect(resolveBuild({ serviceAccount: other, workerPool: null }, recorded)).toEqual({
      serviceAccount: other,
      workerPool: undefined,
      env: { A: '1', B: '2' },
    });
    expect(resolveBuild({ serviceAccount: null, env: { clear: true } }, recorded)).toEqual({
      serviceAccount: undefined,
      workerPool: POOL,
      env: {},
    });
  });

  it('applies the env flags as map_util.ApplyMapFlags: clear, set, file, then remove before update', () => {
    const old = { A: '1', B: '2' };
    expect(applyBuildEnv(old, { set: { C: '3' } })).toEqual({ C: '3' });
    expect(applyBuildEnv(old, { file: { D: '4' } })).toEqual({ D: '4' });
    expect(applyBuildEnv(old, { remove: ['A', 'B'], update: { A: 'new' } })).toEqual({ A: 'new' });
    expect(applyBuildEnv(undefined, { update: { A: '1' } })).toEqual({ A: '1' });
    expect(applyBuildEnv(old, { clear: true })).toEqual({});
    expect(applyBuildEnv(old, undefined)).toBe(old);
  });

  it('gives IAM the account email', () => {
    expect(serviceAccountEmail(SA)).toBe('builder@p.iam.gserviceaccount.com');
  });
});

describe('the builds:submit body with build flags', () => {
  const plan = {
    bucket: 'run-sources-p-us-central1',
    object: 'services/svc/1.tar.gz',
    generation: '1700000000123456',
    imageUri: 'us-central1-docker.pkg.dev/p/r/svc:sha',
    baseImage: undefined,
    automaticUpdates: undefined,
    build: { serviceAccount: SA, workerPool: POOL, env: { B: '2', A: '1', a: '0' } },
    tag: 'service_svc',
  };
  const valid = (body: unknown): unknown =>
    checkRequest(schemaOf('run-v2'), 'google.cloud.run.v2.Builds.SubmitBuild', {
      query: new URLSearchParams(),
      body: { parent: 'projects/p/locations/us-central1', ...(body as object) },
    });

  it('sends the account, the pool and the tag; a Docker build gets no build env, as from gcloud', () => {
    const body = submitBuildRequest({ ...plan, hasDockerfile: true });
    expect(body).toEqual({
      storageSource: { bucket: plan.bucket, object: plan.object, generation: plan.generation },
      imageUri: plan.imageUri,
      dockerBuild: {},
      tags: ['service_svc'],
      serviceAccount: SA,
      workerPool: POOL,
    });
    expect(() => valid(body)).not.toThrow();
  });

  it('gives a buildpacks build the env vars sorted by key, as gcloud sends them', () => {
    const body = submitBuildRequest({ ...plan, hasDockerfile: false });
    expect(Object.entries(body.buildpackBuild?.environmentVariables ?? {})).toEqual([
      ['A', '1'],
      ['B', '2'],
      ['a', '0'],
    ]);
    expect(body).toMatchObject({ serviceAccount: SA, workerPool: POOL, tags: ['service_svc'] });
    expect(() => valid(body)).not.toThrow();
  });
});

describe('what the service records of its build (v2 buildConfig, gcloud\u2019s build-* annotations)', () => {
  const live = {
    name: 'projects/p/locations/r/services/hello/builds/1',
    imageUri: 'us-central1-docker.pkg.dev/p/cloud-run-source-deploy/hello',
    serviceAccount: SA,
    workerPool: POOL,
    environmentVariables: { A: '1' },
  };

  it('reads the last build\u2019s account, pool and environment from the service', () => {
    expect(recordedBuild({ template: {}, buildConfig: live })).toEqual({
      serviceAccount: SA,
      workerPool: POOL,
      environmentVariables: { A: '1' },
    });
    expect(recordedBuild({ template: {} })).toBeUndefined();
  });

  it('records what this build ran with, drops what was cleared, and keeps the rest (not the output-only name)', () => {
    expect(planBuildConfig(live, { serviceAccount: undefined, workerPool: POOL, env: { B: '2' } })).toEqual({
      imageUri: live.imageUri,
      workerPool: POOL,
      environmentVariables: { B: '2' },
    });
    expect(planBuildConfig(undefined, { serviceAccount: undefined, workerPool: undefined, env: {} })).toBe(
      undefined,
    );
  });

  it('is written with the deploy, except by a preview, which changes only its own revision', () => {
    const build = { serviceAccount: SA, workerPool: undefined, env: { A: '1' } };
    expect(planService(undefined, serviceChanges({}, { build })).buildConfig).toEqual({
      serviceAccount: SA,
      environmentVariables: { A: '1' },
    });
    const production = { template: {}, buildConfig: { serviceAccount: 'projects/p/serviceAccounts/x@p' } };
    expect(planService(production, serviceChanges({}, { build, revisionOnly: true })).buildConfig).toEqual(
      production.buildConfig,
    );
    const cleared = { serviceAccount: undefined, workerPool: undefined, env: {} };
    expect(planService(production, serviceChanges({}, { build: cleared })).buildConfig).toBeUndefined();
  });
});

describe('a worker pool Cloud Run may not use', () => {
  const denied = new GoogleApiError('POST', 'u', 403, {
    error: {
      code: 403,
      status: 'PERMISSION_DENIED',
      message: "Permission 'cloudbuild.workerpools.use' denied",
      details: [{ metadata: { permission: 'cloudbuild.workerpools.use' } }],
    },
  });

  it('is explained with the role for Cloud Run\u2019s service agent in the pool\u2019s project', () => {
    const said = describeError(
      explainSubmitError(denied, 'p', 'projects/host/locations/us-central1/workerPools/w'),
    );
    expect(said).toMatch(/service agent lacks cloudbuild\.workerpools\.use in project host/);
    expect(said).toMatch(
      /gcloud projects add-iam-policy-binding host --role=roles\/cloudbuild\.workerPoolUser/,
    );
    expect(said).toContain('Nothing was deployed');
  });

  it('leaves other errors as they are', () => {
    expect(explainSubmitError(denied, 'p', undefined)).toBe(denied);
    const other = new GoogleApiError('POST', 'u', 400, { error: { code: 400, message: 'bad' } });
    expect(explainSubmitError(other, 'p', 'projects/host/locations/l/workerPools/w')).toBe(other);
  });
});
