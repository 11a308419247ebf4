// Whether the runtime service account may read a secret, decided from IAM policies before any
// change (real Cloud Run only finds out when it creates the revision): the policy evaluation, and
// the preflight that reads the secret's policy, then its project's, with the APIs as stand-ins.
import { jest } from '@jest/globals';
import { GoogleApiError } from '../../src/common/http.js';
import { checkRuntimeSecretAccess, runtimeAccounts } from '../../src/deploy/preflight.js';
import { secretAccessIn, type IamPolicy } from '../../src/gcp/policy.js';
import { RunwayError } from '../../src/errors.js';

const runtime = 'rt@p.iam.gserviceaccount.com';
const deployer = 'd@p.iam.gserviceaccount.com';
const accessor = (...members: string[]): IamPolicy => ({
  bindings: [{ role: 'roles/secretmanager.secretAccessor', members }],
});
const denied = (permission: string): GoogleApiError =>
  new GoogleApiError('GET', 'https://example.test', 403, {
    error: {
      code: 403,
      status: 'PERMISSION_DENIED',
      message: `Permission '${permission}' denied`,
      details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', metadata: { permission } }],
    },
  });

describe('secretAccessIn', () => {
  it('grants through secretAccessor, Secret Manager Admin or Owner bound to the account itself', () => {
    expect(secretAccessIn(accessor(`serviceAccount:${runtime}`), runtime).kind).toBe('granted');
    // IAM compares emails without regard to case.
    expect(secretAccessIn(accessor(`serviceAccount:RT@p.iam.gserviceaccount.com`), runtime).kind).toBe(
      'granted',
    );
    for (const role of ['roles/secretmanager.admin', 'roles/owner'])
      expect(
        secretAccessIn({ bindings: [{ role, members: [`serviceAccount:${runtime}`] }] }, runtime).kind,
      ).toBe('granted');
  });

  it('sees no grant in roles without secretmanager.versions.access, or for other members', () => {
    for (const role of [
      'roles/editor',
      'roles/secretmanager.viewer',
      'roles/secretmanager.secretVersionManager',
    ])
      expect(
        secretAccessIn({ bindings: [{ role, members: [`serviceAccount:${runtime}`] }] }, runtime),
      ).toEqual({
        kind: 'none',
      });
    expect(
      secretAccessIn(
        accessor(
          'serviceAccount:other@p.iam.gserviceaccount.com',
          `deleted:serviceAccount:${runtime}?uid=1`,
          'user:a@b.c',
        ),
        runtime,
      ),
    ).toEqual({ kind: 'none' });
    expect(secretAccessIn({}, runtime)).toEqual({ kind: 'none' });
  });

  it('counts what it cannot evaluate as possibly granting: groups, domains, principal sets, custom roles, conditions', () => {
    for (const member of [
      'group:ops@example.com',
      'domain:example.com',
      'principalSet://iam.googleapis.com/x',
    ])
      expect(secretAccessIn(accessor(member), runtime)).toMatchObject({ kind: 'possible', member });
    expect(
      secretAccessIn(
        { bindings: [{ role: 'projects/p/roles/readSecrets', members: [`serviceAccount:${runtime}`] }] },
        runtime,
      ),
    ).toMatchObject({ kind: 'possible', why: 'custom role projects/p/roles/readSecrets' });
    expect(
      secretAccessIn(
        {
          bindings: [
            {
              role: 'roles/secretmanager.secretAccessor',
              members: [`serviceAccount:${runtime}`],
              condition: { title: 'weekdays', expression: 'request.time...' },
            },
          ],
        },
        runtime,
      ),
    ).toMatchObject({ kind: 'possible', why: 'condition weekdays' });
  });

  it('prefers a definite grant over a possible one', () => {
    expect(secretAccessIn(accessor('group:ops@example.com', `serviceAccount:${runtime}`), runtime).kind).toBe(
      'granted',
    );
  });
});

describe('checkRuntimeSecretAccess', () => {
  /** Stand-ins for Secret Manager and Resource Manager: a policy, or an error to throw. */
  function deps(secret: IamPolicy | Error, project: IamPolicy | Error) {
    const answer = (a: IamPolicy | Error) => async () => {
      if (a instanceof Error) throw a;
      return a;
    };
    return {
      secrets: { getIamPolicy: jest.fn(answer(secret)) },
      projects: { getIamPolicy: jest.fn(answer(project)) },
    };
  }
  const run = async (d: ReturnType<typeof deps>) => {
    const warn = jest.fn<(m: string) => void>();
    const notice = jest.fn<(m: string) => void>();
    let error: unknown;
    try {
      await checkRuntimeSecretAccess(d, 'p', ['api-key'], [runtime], deployer, warn, notice);
    } catch (err) {
      error = err;
    }
    return { warn, notice, error };
  };

  it('passes when the secret grants it, without reading the project', async () => {
    const d = deps(accessor(`serviceAccount:${runtime}`), new Error('unread'));
    const { warn, error } = await run(d);
    expect(error).toBeUndefined();
    expect(warn).not.toHaveBeenCalled();
    expect(d.projects.getIamPolicy).not.toHaveBeenCalled();
  });

  it('passes when the project grants it', async () => {
    const { error, warn } = await run(deps({}, accessor(`serviceAccount:${runtime}`)));
    expect(error).toBeUndefined();
    expect(warn).not.toHaveBeenCalled();
  });

  it('passes with a notice when only a group or a custom role may grant it', async () => {
    const viaGroup = await run(deps(accessor('group:ops@example.com'), {}));
    expect(viaGroup.error).toBeUndefined();
    expect(viaGroup.notice).toHaveBeenCalledWith(expect.stringContaining('group:ops@example.com'));
    const custom = await run(
      deps(
        {},
        { bindings: [{ role: 'projects/p/roles/readSecrets', members: [`serviceAccount:${runtime}`] }] },
      ),
    );
    expect(custom.error).toBeUndefined();
    expect(custom.notice).toHaveBeenCalledWith(expect.stringContaining('projects/p/roles/readSecrets'));
  });

  it('refuses, naming the role, the secret, the account and the command, when neither policy grants it', async () => {
    const { error } = await run(deps(accessor('serviceAccount:other@p.iam.gserviceaccount.com'), {}));
    expect(error).toBeInstanceOf(RunwayError);
    const e = error as RunwayError;
    expect(e.message).toContain(`The runtime service account ${runtime} may not read secret api-key`);
    expect(e.message).toContain("project p's grants it roles/secretmanager.secretAccessor");
    expect(e.fix).toContain(
      `gcloud secrets add-iam-policy-binding api-key --project=p --role=roles/secretmanager.secretAccessor --member=serviceAccount:${runtime}`,
    );
    expect(e.fix).toContain('Nothing was built or deployed.');
  });

  it("refuses when the secret grants nothing and the project's policy cannot be read, saying so", async () => {
    const { error } = await run(deps({}, denied('resourcemanager.projects.getIamPolicy')));
    expect(error).toBeInstanceOf(RunwayError);
    const e = error as RunwayError;
    expect(e.message).toContain('a project-level grant cannot be seen');
    expect(e.message).toContain('roles/secretmanager.secretAccessor');
    expect(e.fix).toContain('least-privilege fix');
    expect(e.fix).toContain(
      'A grant on the project, a folder or the organization is invisible to the deployer',
    );
  });

  it("only warns, naming the optional viewer role, when the secret's policy cannot be read", async () => {
    const d = deps(denied('secretmanager.secrets.getIamPolicy'), {});
    const { error, warn } = await run(d);
    expect(error).toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toContain('roles/secretmanager.viewer is optional');
    expect(warn.mock.calls[0]![0]).toContain('lacks secretmanager.secrets.getIamPolicy');
    expect(d.projects.getIamPolicy).not.toHaveBeenCalled();
  });

  it('fails the run on an answer that is not a denial', async () => {
    const broken = new GoogleApiError('GET', 'https://example.test', 400, 'bad');
    const { error } = await run(deps(broken, {}));
    expect(error).toBe(broken);
  });
});

describe('runtimeAccounts', () => {
  const never = async (): Promise<never> => {
    throw new Error('not asked');
  };

  it('is runtime_service_account when set, asking nothing', async () => {
    expect(await runtimeAccounts(runtime, ['r1'], never, never)).toEqual([runtime]);
  });

  it("is each region's live account, or the default compute account where none is set", async () => {
    const live = async (region: string) => (region === 'r1' ? runtime : undefined);
    expect(await runtimeAccounts(undefined, ['r1', 'r2'], live, async () => '42')).toEqual([
      runtime,
      '42-compute@developer.gserviceaccount.com',
    ]);
  });

  it('leaves the default account out, with a warning, when the project number cannot be learned', async () => {
    const warn = jest.fn<(m: string) => void>();
    const accounts = await runtimeAccounts(
      undefined,
      ['r1'],
      async () => undefined,
      async () => {
        throw denied('resourcemanager.projects.get');
      },
      warn,
    );
    expect(accounts).toEqual([]);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('runtime_service_account'));
  });
});
