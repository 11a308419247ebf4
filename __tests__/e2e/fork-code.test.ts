// End to end, code from a fork (issue 18): the bundled action on a fork's pull_request event. Its
// preview runs as preview_service_account with no secret of production's, and its build holds no
// registry credential: a Dockerfile whose FROM names a private image in the deployer's registry
// cannot pull it, while the same build with `fork_build_credentials: true` can.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { admin, env } from '../helpers/emulator.js';
import { deployApp, errorOf, expectSuccess } from '../helpers/action.js';
import { appContext } from '../helpers/app-context.js';
import { getService, sample } from '../helpers/cloudrun.js';
import { pullRequestRun } from '../helpers/github-event.js';
import { pushTestImage } from '../helpers/images.js';

const service = 'e2e-fork';
const headSha = 'f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0';
const forkRun = (number: number) => pullRequestRun(number, 'synchronize', headSha, 'someone/fork');

/** The environment of a `workflow_run` that a fork's pull request started (the fork-safe deploy example). */
function workflowRunOfFork(): Record<string, string> {
  const path = join(mkdtempSync(join(tmpdir(), 'runway-event-')), 'event.json');
  const repository = { full_name: env('GITHUB_REPOSITORY') };
  writeFileSync(
    path,
    JSON.stringify({
      action: 'completed',
      workflow_run: {
        event: 'pull_request',
        conclusion: 'success',
        head_sha: headSha,
        head_branch: 'feature',
        head_repository: { full_name: 'someone/fork' },
        repository,
      },
      repository,
    }),
  );
  return { GITHUB_EVENT_NAME: 'workflow_run', GITHUB_EVENT_PATH: path, GITHUB_REF: 'refs/heads/main' };
}
const project = () => env('RUNWAY_EMULATOR_PROJECT');
let previewAccount: string;
// Made at run time: a value written in this file would be found by the leak scan of every run.
const secretValue = `production-only-${process.pid}-${Date.now()}`;

async function text(url: string): Promise<string> {
  const res = await fetch(url);
  return `${res.status} ${(await res.text()).trim()}`;
}

beforeAll(async () => {
  previewAccount = `pr-preview@${project()}.iam.gserviceaccount.com`;
  const deployer = `deployer@${project()}.iam.gserviceaccount.com`;
  // A runtime account of its own: the deployer may act as it, and it may pull images, nothing more.
  await admin.seed({
    secrets: [{ project: project(), name: 'fork-db-password', versions: [{ data: secretValue }] }],
    serviceAccounts: [previewAccount],
    bindings: [
      {
        resource: `projects/${project()}/serviceAccounts/${previewAccount}`,
        role: 'roles/iam.serviceAccountUser',
        members: [`serviceAccount:${deployer}`],
      },
      {
        resource: `projects/${project()}`,
        role: 'roles/artifactregistry.reader',
        members: [`serviceAccount:${previewAccount}`],
      },
    ],
  });
});

describe("a fork's pull request", () => {
  it('is refused without preview_service_account, naming it, before anything changes', async () => {
    const run = await deployApp(service, 'fork', { preview: 'true', comment: 'never' }, {}, forkRun(40));
    expect(run.exitCode).not.toBe(0);
    expect(errorOf(run)).toMatch(/#40 comes from a fork.*`preview_service_account`/s);
    expect(await getService(service)).toBeUndefined();
  });

  it("previews as preview_service_account with none of production's secrets", async () => {
    const production = await deployApp(service, 'production', {
      secrets: 'DB_PASSWORD=fork-db-password:latest',
      runtime_service_account: `runtime@${project()}.iam.gserviceaccount.com`,
      comment: 'never',
    });
    expectSuccess(production);
    expect(await text(`${production.outputs.url}/cgi-bin/env`)).toContain(`DB_PASSWORD=${secretValue}`);

    const preview = await deployApp(
      service,
      'fork',
      { preview: 'true', preview_service_account: previewAccount, comment: 'never' },
      {},
      forkRun(41),
    );
    expectSuccess(preview);
    expect(preview.stdout).toContain('fork code: building with no registry credentials');
    expect([...(await sample(preview.outputs.preview_url!, 3)).keys()]).toEqual(['200 fork']);
    const env = await text(`${preview.outputs.preview_url}/cgi-bin/env`);
    expect(env).not.toContain('DB_PASSWORD');
    expect(env).not.toContain(secretValue);
    const live = await getService(service);
    // The service's template is the preview's revision now; production still serves its own.
    expect(live!.template.serviceAccount).toBe(previewAccount);
    expect(JSON.stringify(live!.template)).not.toContain('fork-db-password');
    expect(await text(`${production.outputs.url}/cgi-bin/env`)).toContain(`DB_PASSWORD=${secretValue}`);
  });

  it("a workflow_run deploy of a fork's commit runs as preview_service_account, without production's secrets", async () => {
    const run = await deployApp(
      service,
      'approved fork',
      { tag: 'pr-43', traffic: 'none', preview_service_account: previewAccount, comment: 'never' },
      {},
      workflowRunOfFork(),
    );
    expectSuccess(run);
    const env = await text(`${run.outputs.tag_url}/cgi-bin/env`);
    expect(env).not.toContain(secretValue);
    expect((await getService(service))!.template.serviceAccount).toBe(previewAccount);
  });

  it('builds with no registry credential: a private FROM cannot be pulled unless fork_build_credentials', async () => {
    const base = await pushTestImage('fork-private-base', 'private base');
    // Docker would reuse the pushed image from its own store instead of pulling it.
    await promisify(execFile)('docker', ['rmi', '--no-prune', base.replace(/@.*$/, ':test')]).catch(
      () => undefined,
    );
    const context = appContext('fork on a private base');
    writeFileSync(join(context, 'Dockerfile'), `FROM ${base}\n`);
    const inputs = {
      tag: 'pr-44',
      traffic: 'none',
      preview_service_account: previewAccount,
      comment: 'never',
      context,
    };
    const baseRequests = async (since: number) =>
      (await admin.requests()).slice(since).filter((r) => r.path.includes('fork-private-base'));

    const before = (await admin.requests()).length;
    const anonymous = await deployApp(service, 'x', inputs, {}, workflowRunOfFork());
    expect(anonymous.exitCode).not.toBe(0);
    expect(errorOf(anonymous)).toMatch(/docker build failed/);
    const tried = await baseRequests(before);
    expect(tried.length).toBeGreaterThan(0);
    expect(tried.filter((r) => r.googleToken)).toEqual([]);
    expect(tried.filter((r) => r.path.includes('/manifests/') && r.status < 400)).toEqual([]);

    const between = (await admin.requests()).length;
    const trusted = await deployApp(
      service,
      'x',
      { ...inputs, fork_build_credentials: 'true' },
      {},
      workflowRunOfFork(),
    );
    expectSuccess(trusted);
    expect(trusted.stdout).toContain('fork_build_credentials: true');
    expect((await baseRequests(between)).some((r) => r.googleToken)).toBe(true);
  });
});
