// Preflight's pure halves: which services need an ID token to be verified, and the actAs check
// on the runtime account, with IAM as a stand-in.
import {
  checkCanActAs,
  checkCanDeployJob,
  JOB_PROJECT_PERMISSIONS,
  jobPermissions,
  needsLiveAccess,
  willBePrivate,
} from '../../src/deploy/preflight.js';
import { RunwayError } from '../../src/errors.js';
import { jest } from '@jest/globals';

describe('willBePrivate', () => {
  it('follows allow_unauthenticated when it is set, whatever the live service says', () => {
    expect(willBePrivate(true, { uri: 'https://s', public: false })).toBe(false);
    expect(willBePrivate(false, { uri: 'https://s', public: true })).toBe(true);
  });

  it('keeps the live access when the input is unset', () => {
    expect(willBePrivate(undefined, { uri: 'https://s', public: true })).toBe(false);
    expect(willBePrivate(undefined, { uri: 'https://s', public: false })).toBe(true);
  });

  it('treats a new service without allow_unauthenticated as private', () => {
    expect(willBePrivate(undefined, undefined)).toBe(true);
  });
});

describe('needsLiveAccess', () => {
  it('reads the live service only when allow_unauthenticated is unset', () => {
    expect(needsLiveAccess({ allowUnauthenticated: undefined })).toBe(true);
    expect(needsLiveAccess({ allowUnauthenticated: false })).toBe(false);
    expect(needsLiveAccess({ allowUnauthenticated: true })).toBe(false);
  });
});

describe('checkCanActAs', () => {
  const deployer = 'd@p.iam.gserviceaccount.com';
  const runtime = 'rt@p.iam.gserviceaccount.com';
  const iam = (answer: string[] | Error) => ({
    testServiceAccountPermissions: jest.fn(async () => {
      if (answer instanceof Error) throw answer;
      return answer;
    }),
  });

  it('passes when IAM says the deployer holds actAs on the runtime account', async () => {
    const client = iam(['iam.serviceAccounts.actAs']);
    await expect(checkCanActAs(client, runtime, deployer)).resolves.toBeUndefined();
    expect(client.testServiceAccountPermissions).toHaveBeenCalledWith(runtime, ['iam.serviceAccounts.actAs']);
  });

  it('refuses before the build when it does not, naming the role and the command that grants it', async () => {
    await expect(checkCanActAs(iam([]), runtime, deployer)).rejects.toMatchObject({
      message: expect.stringContaining('roles/iam.serviceAccountUser'),
      fix: expect.stringContaining(
        `gcloud iam service-accounts add-iam-policy-binding ${runtime} --role=roles/iam.serviceAccountUser --member=serviceAccount:${deployer}`,
      ),
    });
  });

  it('leaves the decision to the dry run when IAM cannot be asked, with a warning', async () => {
    const warnings: string[] = [];
    await checkCanActAs(iam(new Error('unreachable')), runtime, deployer, (m) => warnings.push(m));
    expect(warnings).toEqual([expect.stringContaining("Cloud Run's dry run checks it")]);
  });

  it('asks nothing when no runtime account is named (the dry run checks the default one)', async () => {
    const client = iam([]);
    await checkCanActAs(client, undefined, deployer);
    expect(client.testServiceAccountPermissions).not.toHaveBeenCalled();
  });
});

describe('checkCanDeployJob', () => {
  const refs = [
    { project: 'p', region: 'us-central1', job: 'migrate' },
    { project: 'p', region: 'europe-west1', job: 'migrate' },
  ];
  const identity = 'deployer@p.iam.gserviceaccount.com';
  const deps = (project: string[] | Error, job: (region: string) => string[] | Error) => ({
    projects: {
      testIamPermissions: async () => {
        if (project instanceof Error) throw project;
        return project;
      },
    },
    run: {
      testJobPermissions: async (ref: { region: string }) => {
        const answer = job(ref.region);
        if (answer instanceof Error) throw answer;
        return answer;
      },
    },
  });

  it('asks for what a waited execution needs and passes with roles/run.developer on the project', async () => {
    const all = jobPermissions('wait');
    expect(all).toEqual([
      'run.jobs.get',
      'run.jobs.create',
      'run.jobs.update',
      'run.jobs.run',
      'run.executions.get',
    ]);
    await expect(
      checkCanDeployJob(
        deps([...all, ...JOB_PROJECT_PERMISSIONS], () => []),
        refs,
        'wait',
        identity,
      ),
    ).resolves.toBeUndefined();
  });

  it('names every missing permission at once, roles/run.developer and the command that grants it', async () => {
    let thrown: unknown;
    try {
      await checkCanDeployJob(
        deps(['run.jobs.get'], () => new Error('404')),
        refs,
        'wait',
        identity,
      );
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(RunwayError);
    const { message, fix } = thrown as RunwayError;
    expect(message).toContain(
      'run.jobs.create, run.jobs.update, run.jobs.run, run.executions.get, run.operations.get',
    );
    expect(message).toContain('migrate in us-central1, migrate in europe-west1');
    expect(fix).toContain(
      'gcloud projects add-iam-policy-binding p --role=roles/run.developer --member=serviceAccount:deployer@p.iam.gserviceaccount.com',
    );
  });

  it("counts a grant on the job itself, but not for the location's operations, which only the project grants", async () => {
    const onJob = (region: string) => (region === 'us-central1' ? jobPermissions('none') : []);
    const project = [...JOB_PROJECT_PERMISSIONS];
    await expect(
      checkCanDeployJob(deps(project, onJob), refs.slice(0, 1), 'none', identity),
    ).resolves.toBeUndefined();
    await expect(checkCanDeployJob(deps(project, onJob), refs, 'none', identity)).rejects.toThrow(
      /migrate in europe-west1: it lacks run\.jobs\.get, run\.jobs\.create, run\.jobs\.update\.$/,
    );
    await expect(checkCanDeployJob(deps([], onJob), refs.slice(0, 1), 'none', identity)).rejects.toThrow(
      /migrate in us-central1: it lacks run\.operations\.get\.$/,
    );
  });

  it('warns, and leaves it to Cloud Run, when IAM cannot be asked at all', async () => {
    const warn = jest.fn();
    await checkCanDeployJob(
      deps(new Error('unavailable'), () => new Error('x')),
      refs,
      'wait',
      identity,
      warn,
    );
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('Cloud Run checks it before any change'));
  });
});
