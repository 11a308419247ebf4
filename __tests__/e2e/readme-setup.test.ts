// The README's one-time set-up and Quick start, exactly as written (issue 19): the set-up block is
// extracted from README.md and run by the installed gcloud, as the project owner, against an empty
// project; then the Quick start's step inputs are extracted and the bundled action runs them as the
// deployer, through real Workload Identity (GitHub OIDC token → STS → impersonation), with nothing
// granted beyond what the set-up granted. Then each role the set-up grants is removed in turn, and
// the run must fail before any change, naming that role; all but the optional
// roles/secretmanager.viewer, without which it deploys with a warning. The optional block for
// `source` deploys is run too, in the same shell's variables: the Quick start with `source` instead of
// `context` builds on Google and deploys; without one of its deployer roles it stops in preflight,
// without the build account's roles/run.builder the build fails; each naming the role.
//
// What the test changes in the README's text, and why: GitHub's OIDC issuer becomes the emulator's
// stand-in for it, the example repository (my-org/my-repo) the one the emulator's OIDC tokens name,
// the Artifact Registry host the emulator's registry front, and `context: .` a checkout holding the
// test app. Nothing else.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { admin, env } from '../helpers/emulator.js';
import { errorOf, runAction, type ActionRun } from '../helpers/action.js';
import { appContext } from '../helpers/app-context.js';
import { findGcloud } from '../helpers/gcloud.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const readme = readFileSync(resolve(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

/** The section under `## heading`, up to the next `## `. */
function section(heading: string): string {
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "## ${heading}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** The set-up: the bash block whose first line is `# Runway one-time set-up`. */
function setupBlock(): string {
  const m = /```bash\n(# Runway one-time set-up\n[\s\S]*?)```/.exec(section('One-time set-up'));
  if (!m)
    throw new Error('the One-time set-up section has no ```bash block starting "# Runway one-time set-up"');
  return m[1]!;
}

/** The optional block for `source` deploys: the bash block whose first line says so. */
function sourceBlock(): string {
  const m = /```bash\n(# Runway set-up for source deploys \(optional\)\n[\s\S]*?)```/.exec(
    section('One-time set-up'),
  );
  if (!m)
    throw new Error(
      'the One-time set-up section has no ```bash block starting "# Runway set-up for source deploys"',
    );
  return m[1]!;
}

/** The Quick start's Runway step inputs, as the YAML gives them. */
function quickStartInputs(): Record<string, string> {
  const m = /```yaml\n([\s\S]*?)```/.exec(section('Quick start'));
  if (!m) throw new Error('the Quick start has no ```yaml block');
  const workflow = parse(m[1]!) as Json;
  const steps = Object.values(workflow.jobs as Json).flatMap((job: Json) => job.steps as Json[]);
  const step = steps.find((s) => typeof s.uses === 'string' && s.uses.startsWith('runway/runway@'));
  if (!step) throw new Error('the Quick start has no runway/runway step');
  return Object.fromEntries(Object.entries(step.with as Json).map(([k, v]) => [k, String(v)]));
}

const block = setupBlock();
const written = quickStartInputs();
const projectId = /^PROJECT_ID=(\S+)$/m.exec(block)?.[1] ?? '';
const exampleRepo = /^REPO=(\S+)/m.exec(block)?.[1] ?? '';
/** The project number the Quick start's provider names: the empty project the set-up starts from has it. */
const projectNumber = /^projects\/(\d+)\//.exec(written.workload_identity_provider ?? '')?.[1] ?? '';
const deployer = written.service_account ?? '';
const runtime = written.runtime_service_account ?? '';
const service = written.service ?? '';
const secret = /=([^:\s]+):/.exec(written.secrets ?? '')?.[1] ?? '';
/** Made here, so no file holds it: the run's leak check looks for it everywhere. */
const apiKey = `key-${randomBytes(12).toString('hex')}`;

/** The set-up block, with only the issuer and the repository changed (see the top of the file). */
function setupScript(): string {
  const issuer = new URL(env('ACTIONS_ID_TOKEN_REQUEST_URL')).origin;
  return block
    .replaceAll('https://token.actions.githubusercontent.com', issuer)
    .replaceAll(exampleRepo, env('GITHUB_REPOSITORY'));
}

/** The `source` block "after the one above in the same shell": the set-up's variables, then the block. */
function sourceScript(): string {
  const variables = setupScript()
    .split('\n')
    .filter((line) => /^[A-Z_]+=/.test(line));
  return `${variables.join('\n')}\n${sourceBlock()}`;
}

/** Runs a script as the owner: bash with the emulator's env file sourced, stopping at the first failure. */
async function runSetup(body = setupScript()): Promise<{ code: number; output: string }> {
  const file = process.env.RUNWAY_EMULATOR_ENV_FILE!;
  const script = `set -a; . "$0"; set +a; export CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE="$RUNWAY_EMULATOR_OWNER_CREDENTIALS"; set -euo pipefail\n${body}`;
  const child = spawn('bash', ['-c', script, file], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: mkdtempSync(join(tmpdir(), 'runway-setup-home-')),
      API_KEY: apiKey,
    },
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number>((done) => child.on('close', (c) => done(c ?? -1)));
  return { code, output };
}

/** The Quick start's inputs, with the registry host and the checkout changed (see the top of the file). */
function stepInputs(body: string): Record<string, string> {
  const registry = env('RUNWAY_EMULATOR_REPOSITORY').split('/')[0]!;
  return {
    ...written,
    repository: written.repository!.replace(/^[^/]+/, registry),
    context: appContext(body),
  };
}

async function revisionsOf(name: string): Promise<string[]> {
  const state = (await admin.state()) as Json;
  const found = (state.run.services as Json[]).find(
    (s) => s.name === `projects/${projectId}/locations/us-central1/services/${name}`,
  );
  return ((found?.revisions ?? []) as Json[]).map((r) => String(r.name));
}

/** Registry requests that stored something (blob uploads, manifests): the build's pushes. */
async function uploads(): Promise<unknown[]> {
  return (await admin.requests()).filter(
    (r) => r.api === 'registry' && ['POST', 'PUT', 'PATCH'].includes(r.method) && r.status < 400,
  );
}

/** The Quick start with `source` (a directory with a Dockerfile) in place of `context`. */
function sourceInputs(body: string): Record<string, string> {
  const { context: _context, ...rest } = stepInputs(body);
  return { ...rest, source: appContext(body) };
}

/** Cloud Storage and Cloud Build requests: what a source deploy uploads and submits. */
async function sourceCalls(): Promise<number> {
  return (await admin.requests()).filter((r) => r.api === 'storage' || r.api === 'cloudbuild').length;
}

const installed = findGcloud();
const suite = installed ? describe : describe.skip;

suite("the README's one-time set-up and Quick start", () => {
  const deployerMember = `serviceAccount:${deployer}`;
  const builder = `${projectNumber}-compute@developer.gserviceaccount.com`;
  beforeAll(async () => {
    // An empty project the owner may do anything in: the set-up starts from there. It has the
    // Compute Engine default account Cloud Run builds run as, with no roles: Google no longer grants
    // it Editor in new organisations, so the source block's run.builder is what it holds.
    await admin.seed({
      projects: [{ projectId, projectNumber }],
      serviceAccounts: [builder],
      bindings: [
        {
          resource: `projects/${projectId}`,
          role: 'roles/owner',
          members: [`serviceAccount:owner@${env('RUNWAY_EMULATOR_PROJECT')}.iam.gserviceaccount.com`],
        },
      ],
    });
  });

  it('says the set-up comes first, and the Quick start uses only what it creates', () => {
    expect(section('Quick start')).toMatch(/After the \[one-time set-up\]/);
    expect(written).not.toHaveProperty('allow_unauthenticated');
    expect(block).toContain(`gcloud secrets create ${secret} `);
    expect(deployer).toMatch(new RegExp(`^runway-deployer@${projectId}\\.`));
    expect(block).toContain('service-accounts create runway-deployer ');
    expect(block).toContain(`service-accounts create ${runtime.split('@')[0]} `);
  });

  // Some twenty gcloud commands in a row, a second or more of CPU each: on a loaded two-core machine
  // that passes Jest's default 180 s, so the hang guard is longer (as for gcloud's guide scenario).
  it('runs with the installed gcloud as the project owner', async () => {
    const run = await runSetup();
    if (run.code !== 0) throw new Error(`the set-up failed (${run.code}):\n${run.output}`);
  }, 360_000);

  it('then the Quick start deploys and verifies as the deployer, with nothing beyond the set-up', async () => {
    const run = await runAction(stepInputs('hello from the quick start'));
    if (run.exitCode !== 0) throw new Error(`action failed (${run.exitCode}):\n${run.stdout}\n${run.stderr}`);
    expect(run.outputs.healthy).toBe('true');
    expect(await revisionsOf(service)).toHaveLength(1);
    const requests = await admin.requests();
    // Real Workload Identity: the deployer's token came from STS and impersonation.
    expect(requests.some((r) => r.api === 'sts' && r.status === 200)).toBe(true);
    expect(
      requests.some(
        (r) =>
          r.api === 'iamcredentials' &&
          r.path.includes(`${deployer}:generateAccessToken`) &&
          r.status === 200,
      ),
    ).toBe(true);
  });

  it('a release_command runs as the deployer too, with nothing beyond the set-up (roles/run.developer holds run.jobs.*)', async () => {
    const run = await runAction({
      ...stepInputs('with a release command'),
      release_command: '/bin/busybox true',
    });
    if (run.exitCode !== 0) throw new Error(`action failed (${run.exitCode}):\n${run.stdout}\n${run.stderr}`);
    expect(run.stdout).toContain(`jobs: ${deployer} may deploy and execute ${service}-release`);
  });

  it('without roles/run.developer, a release_command run stops at preflight naming every run.jobs permission', async () => {
    const grant = {
      resource: `projects/${projectId}`,
      role: 'roles/run.developer',
      members: [deployerMember],
    };
    const stored = (await uploads()).length;
    await admin.seed({ revoke: [grant] });
    let run: ActionRun;
    try {
      run = await runAction({ ...stepInputs('without run.developer'), release_command: '/bin/busybox true' });
    } finally {
      await admin.seed({ bindings: [grant] });
    }
    expect(run.exitCode).not.toBe(0);
    expect(errorOf(run)).toContain(
      'lacks run.jobs.get, run.jobs.create, run.jobs.update, run.jobs.run, run.executions.get, run.operations.get',
    );
    expect(errorOf(run)).toContain(
      `gcloud projects add-iam-policy-binding ${projectId} --role=roles/run.developer --member=${deployerMember}`,
    );
    expect((await uploads()).length).toBe(stored);
  });

  it("refuses another repository's run at the token exchange: the provider's attribute condition", async () => {
    const before = await revisionsOf(service);
    await admin.seed({ oidcClaims: { repository: 'someone-else/their-repo' } });
    let run: ActionRun;
    try {
      run = await runAction(stepInputs('from another repository'));
    } finally {
      await admin.seed({ oidcClaims: { repository: env('GITHUB_REPOSITORY') } });
    }
    expect(run.exitCode).not.toBe(0);
    const requests = await admin.requests();
    expect(requests.filter((r) => r.api === 'sts').at(-1)?.status).toBe(400);
    expect(await revisionsOf(service)).toEqual(before);
  });

  const variants: Array<{
    role: string;
    resource: () => string;
    member: () => string;
    /** What else the refusal must name. */
    names?: () => string[];
  }> = [
    {
      role: 'roles/iam.workloadIdentityUser',
      resource: () => `projects/${projectId}/serviceAccounts/${deployer}`,
      member: () =>
        `principalSet://iam.googleapis.com/projects/${projectNumber}/locations/global/workloadIdentityPools/github/attribute.repository/${env('GITHUB_REPOSITORY')}`,
    },
    { role: 'roles/run.developer', resource: () => `projects/${projectId}`, member: () => deployerMember },
    {
      role: 'roles/iam.serviceAccountUser',
      resource: () => `projects/${projectId}/serviceAccounts/${runtime}`,
      member: () => deployerMember,
    },
    {
      role: 'roles/artifactregistry.writer',
      resource: () => `projects/${projectId}/locations/us-central1/repositories/runway`,
      member: () => deployerMember,
    },
    {
      role: 'roles/secretmanager.secretAccessor',
      resource: () => `projects/${projectId}/secrets/${secret}`,
      member: () => `serviceAccount:${runtime}`,
      // Preflight reads the secret's policy with the deployer's roles/secretmanager.viewer; real
      // Cloud Run would only refuse the revision ("Permission denied on secret").
      names: () => [
        runtime,
        `gcloud secrets add-iam-policy-binding ${secret} --project=${projectId} --role=roles/secretmanager.secretAccessor --member=serviceAccount:${runtime}`,
      ],
    },
  ];

  // Each removal: the run fails at auth or preflight (the writer's at its first push), Cloud Run
  // has no new revision and the registry stored nothing.
  it.each(variants.map((v) => [v.role, v] as const))(
    'without %s, fails before any change, naming the role',
    async (role, v) => {
      const grant = { resource: v.resource(), role, members: [v.member()] };
      const before = await revisionsOf(service);
      const stored = (await uploads()).length;
      await admin.seed({ revoke: [grant] });
      let run: ActionRun;
      try {
        run = await runAction(stepInputs(`without ${role}`));
      } finally {
        await admin.seed({ bindings: [grant] });
      }
      expect(run.exitCode).not.toBe(0);
      expect(errorOf(run)).toContain(role);
      for (const name of v.names?.() ?? []) expect(errorOf(run)).toContain(name);
      expect(await revisionsOf(service)).toEqual(before);
      expect((await uploads()).length).toBe(stored);
    },
  );

  // The one optional role: without it Runway cannot see the secret's policy, so it warns, naming the
  // role, and Cloud Run checks the secret when it creates the revision, which it may read: it deploys.
  it('without roles/secretmanager.viewer, still deploys, warning that it could not check the secret', async () => {
    const grant = {
      resource: `projects/${projectId}/secrets/${secret}`,
      role: 'roles/secretmanager.viewer',
      members: [deployerMember],
    };
    const before = await revisionsOf(service);
    await admin.seed({ revoke: [grant] });
    let run: ActionRun;
    try {
      run = await runAction(stepInputs('without roles/secretmanager.viewer'));
    } finally {
      await admin.seed({ bindings: [grant] });
    }
    if (run.exitCode !== 0) throw new Error(`action failed (${run.exitCode}):\n${run.stdout}\n${run.stderr}`);
    expect(run.stdout).toMatch(/::warning::Could not check secret .*roles\/secretmanager\.viewer/);
    expect(await revisionsOf(service)).toHaveLength(before.length + 1);
  });

  it('runs the optional block for source deploys with the installed gcloud, after the set-up', async () => {
    expect(sourceBlock()).toContain(`BUILDER="$PROJECT_NUMBER-compute@developer.gserviceaccount.com"`);
    const run = await runSetup(sourceScript());
    if (run.code !== 0) throw new Error(`the source block failed (${run.code}):\n${run.output}`);
  }, 180_000);

  it('then the Quick start with `source` builds on Google and deploys, with nothing beyond the two blocks', async () => {
    const before = await revisionsOf(service);
    const run = await runAction(sourceInputs('built on Google from the README'));
    if (run.exitCode !== 0) throw new Error(`action failed (${run.exitCode}):\n${run.stdout}\n${run.stderr}`);
    expect(run.stdout).toContain(`may build from source as ${builder}`);
    expect(run.outputs.healthy).toBe('true');
    expect(run.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await revisionsOf(service)).toHaveLength(before.length + 1);
  }, 300_000);

  const sourceVariants: Array<{ role: string; resource: () => string; member: () => string }> = [
    {
      role: 'roles/run.sourceDeveloper',
      resource: () => `projects/${projectId}`,
      member: () => deployerMember,
    },
    {
      role: 'roles/serviceusage.serviceUsageConsumer',
      resource: () => `projects/${projectId}`,
      member: () => deployerMember,
    },
    {
      role: 'roles/iam.serviceAccountUser',
      resource: () => `projects/${projectId}/serviceAccounts/${builder}`,
      member: () => deployerMember,
    },
  ];

  // The deployer's roles are checked in preflight: nothing is uploaded, built or deployed.
  it.each(sourceVariants.map((v) => [v.role, v] as const))(
    'with source, without %s, stops in preflight naming the role, before any upload',
    async (role, v) => {
      const grant = { resource: v.resource(), role, members: [v.member()] };
      const before = await revisionsOf(service);
      const calls = await sourceCalls();
      await admin.seed({ revoke: [grant] });
      let run: ActionRun;
      try {
        run = await runAction(sourceInputs(`source without ${role}`));
      } finally {
        await admin.seed({ bindings: [grant] });
      }
      expect(run.exitCode).not.toBe(0);
      expect(errorOf(run)).toContain(role);
      expect(errorOf(run)).toContain('Nothing was uploaded or deployed');
      expect(await sourceCalls()).toBe(calls);
      expect(await revisionsOf(service)).toEqual(before);
    },
    120_000,
  );

  // The build account's role is not the deployer's to test (IAM answers for the caller only): the
  // build fails fetching the source, and Runway names the role and the account, deploying nothing.
  it('with source, without roles/run.builder for the build account, fails naming the role, deploying nothing', async () => {
    const grant = {
      resource: `projects/${projectId}`,
      role: 'roles/run.builder',
      members: [`serviceAccount:${builder}`],
    };
    const before = await revisionsOf(service);
    const stored = (await uploads()).length;
    await admin.seed({ revoke: [grant] });
    let run: ActionRun;
    try {
      run = await runAction(sourceInputs('source without roles/run.builder'));
    } finally {
      await admin.seed({ bindings: [grant] });
    }
    expect(run.exitCode).not.toBe(0);
    expect(errorOf(run)).toContain(
      `gcloud projects add-iam-policy-binding ${projectId} --role=roles/run.builder --member=serviceAccount:${builder}`,
    );
    expect(errorOf(run)).toContain('Nothing was deployed');
    expect(await revisionsOf(service)).toEqual(before);
    expect((await uploads()).length).toBe(stored);
  }, 300_000);
});
