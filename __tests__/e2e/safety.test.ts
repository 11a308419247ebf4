// End to end: failures that must happen before anything changes (or change nothing), and a
// deploy-cloudrun step switched to Runway by changing only `uses:`. Concurrent changes and transient
// API errors are rows of the fault matrix (fault-matrix.ts).
import { admin, env } from '../helpers/emulator.js';
import { deployApp as deploy, errorOf, runAction } from '../helpers/action.js';
import { seedRuntimeAccount, seedServiceAccount, writeAuthActionCredentials } from '../helpers/auth.js';
import { getService, sample } from '../helpers/cloudrun.js';

const project = (): string => env('RUNWAY_EMULATOR_PROJECT');

describe('permission failures change nothing and name the fix', () => {
  it('a missing actAs on the runtime service account fails before deploying', async () => {
    const nobody = `nobody@${project()}.iam.gserviceaccount.com`;
    await admin.seed({ serviceAccounts: [nobody] });
    const before = (await admin.requests()).length;
    const run = await deploy('e2e-actas', 'x', { runtime_service_account: nobody });
    expect(run.exitCode).toBe(1);
    const error = errorOf(run);
    expect(error).toContain(`may not deploy revisions that run as ${nobody}`);
    expect(error).toContain('roles/iam.serviceAccountUser');
    expect(error).toContain(`gcloud iam service-accounts add-iam-policy-binding ${nobody}`);
    const changes = (await admin.requests())
      .slice(before)
      .filter((r) => r.api === 'run' && r.method !== 'GET' && !r.path.includes('validateOnly'));
    expect(changes).toEqual([]);
    expect(await getService('e2e-actas')).toBeUndefined();
  });

  it('a denied setIamPolicy (allow_unauthenticated without run.admin) fails before changing the service', async () => {
    const first = await deploy('e2e-iam', 'stable');
    expect(first.exitCode).toBe(0);
    // May deploy (run.developer) but not set IAM policies (no run.admin).
    const limited = await seedServiceAccount('limited', [
      'roles/run.developer',
      'roles/artifactregistry.writer',
    ]);
    await admin.seed({
      bindings: [
        {
          resource: `projects/${project()}/serviceAccounts/${env('RUNWAY_EMULATOR_PROJECT_NUMBER')}-compute@developer.gserviceaccount.com`,
          role: 'roles/iam.serviceAccountUser',
          members: [`serviceAccount:${limited}`],
        },
      ],
    });
    const run = await deploy('e2e-iam', 'changed', {
      service_account: limited,
      allow_unauthenticated: 'false',
    });
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toContain('run.services.setIamPolicy');
    expect(errorOf(run)).toContain('roles/run.admin');
    const service = (await getService('e2e-iam'))!;
    expect(service.latestCreatedRevision?.split('/').pop()).toBe(first.outputs.revision);
    expect(await sample(first.outputs.url!, 3)).toEqual(new Map([['200 stable', 3]]));
  });
  it("a runtime account that may not read a secret fails the revision with Cloud Run's reason; nothing else changes", async () => {
    const first = await deploy('e2e-secret-access', 'stable');
    expect(first.exitCode).toBe(0);
    const runtime = await seedRuntimeAccount('secretless');
    const run = await deploy('e2e-secret-access', 'changed', {
      runtime_service_account: runtime,
      secrets: 'GREETING=greeting:latest',
    });
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toMatch(/Cloud Run could not start revision e2e-secret-access-\d{5}-[a-z]{3}/);
    expect(errorOf(run)).toContain(
      `Permission denied on secret: projects/${env('RUNWAY_EMULATOR_PROJECT_NUMBER')}/secrets/greeting/versions/latest for Revision service account ${runtime}`,
    );
    expect(errorOf(run)).toContain(
      `Fix: Grant the runtime service account access to the secret:\n  gcloud secrets add-iam-policy-binding greeting --role=roles/secretmanager.secretAccessor --member=serviceAccount:${runtime}`,
    );
    expect(await sample(first.outputs.url!, 3)).toEqual(new Map([['200 stable', 3]]));
  });
});

describe('deploy-cloudrun compatibility', () => {
  it("runs a deploy-cloudrun step's inputs unchanged after google-github-actions/auth", async () => {
    // An image pushed earlier (tagged with the commit), as deploy-cloudrun users deploy it.
    const built = await deploy('e2e-compat-src', 'from deploy-cloudrun');
    expect(built.exitCode).toBe(0);
    const image = `${env('RUNWAY_EMULATOR_REPOSITORY')}/e2e-compat-src:${env('GITHUB_SHA')}`;

    // What google-github-actions/auth leaves behind: an external_account credentials file (ADC).
    const credentials = writeAuthActionCredentials(env('RUNWAY_EMULATOR_SERVICE_ACCOUNT'));

    const run = await runAction(
      {
        service: 'e2e-compat',
        image,
        region: 'us-central1',
        env_vars: 'MODE=prod\nFEATURE=on',
        labels: 'team=web',
        timeout: '300s',
        flags: '--cpu=1 --memory=512Mi --max-instances=3 --allow-unauthenticated --port=8080',
      },
      {
        GOOGLE_APPLICATION_CREDENTIALS: credentials,
        GOOGLE_CLOUD_PROJECT: project(),
        CLOUDSDK_CORE_PROJECT: project(),
      },
    );
    if (run.exitCode !== 0) throw new Error(run.stdout + run.stderr);
    expect(await sample(run.outputs.url!, 2)).toEqual(new Map([['200 from deploy-cloudrun', 2]]));
    const service = (await getService('e2e-compat'))!;
    const template = service.template as {
      timeout?: string;
      scaling?: { maxInstanceCount?: number };
      containers: Array<{
        image: string;
        resources?: { limits?: Record<string, string> };
        env?: Array<{ name: string; value?: string }>;
      }>;
    };
    expect(template.containers[0]!.image).toBe(run.outputs.image);
    expect(run.outputs.image).toMatch(/@sha256:[a-f0-9]{64}$/);
    expect(template.containers[0]!.resources?.limits).toMatchObject({ cpu: '1', memory: '512Mi' });
    expect(template.scaling?.maxInstanceCount).toBe(3);
    expect(template.timeout).toBe('300s');
    expect(template.containers[0]!.env).toEqual(
      expect.arrayContaining([
        { name: 'MODE', value: 'prod' },
        { name: 'FEATURE', value: 'on' },
      ]),
    );
    expect(service.labels).toMatchObject({ team: 'web', 'managed-by': 'github-actions' });
  });
});
