// Preflight's pure halves: which services need an ID token to be verified, and the actAs check
// on the runtime account, with IAM as a stand-in.
import { checkCanActAs, needsLiveAccess, willBePrivate } from '../../src/deploy/preflight.js';
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
