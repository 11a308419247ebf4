// run(): inputs → auth → image → deploy and verify (every region in parallel) → report. Each stage
// logs in its own group; the error that stops the run is printed last, outside any group, with its fix.
import * as core from '@actions/core';
import { authenticate, type Credentials } from './auth/credentials.js';
import { describeError, RunwayError } from './errors.js';
import { SecretManagerClient } from './gcp/secrets.js';
import { checkIdTokens, checkSecrets } from './deploy/preflight.js';
import { prepareImage } from './image/prepare.js';
import { formatImage, type ImageReference } from './image/reference.js';
import { readSettings, type Settings } from './inputs/inputs.js';
import { Deadline } from './rollout/deadline.js';
import { deployAll } from './rollout/regions.js';
import { writeOutputs } from './report/outputs.js';
import { eventFromEnv, Reporter } from './report/publish.js';
import { buildReport, runUrlFrom, type RunFacts } from './report/report.js';
import { Timeline } from './rollout/timeline.js';

function githubContext(): { sha: string; repository: string; runId: string; attempt: string } {
  return {
    sha: process.env.GITHUB_SHA ?? 'unknown',
    repository: process.env.GITHUB_REPOSITORY ?? 'unknown/unknown',
    runId: process.env.GITHUB_RUN_ID ?? String(Date.now()),
    attempt: process.env.GITHUB_RUN_ATTEMPT ?? '1',
  };
}

function resolveProject(settings: Settings, credentials: Credentials): string {
  const project = settings.projectId ?? credentials.projectId;
  if (!project) {
    throw new RunwayError(
      'No Google Cloud project: `project_id` is not set and the credentials do not name one.',
      'Set the `project_id` input.',
    );
  }
  return project;
}

/** The facts of this run every report states, from what is known so far. */
function runFacts(
  settings: Settings,
  project: string | undefined,
  github: ReturnType<typeof githubContext>,
  image: ImageReference | undefined,
  stages: Timeline,
): RunFacts {
  return {
    service: settings.service,
    project: project ?? settings.projectId ?? '',
    image: image?.digest ? formatImage(image, 'digest') : '',
    digest: image?.digest ?? '',
    sha: github.sha,
    ref: process.env.GITHUB_REF ?? '',
    repository: github.repository,
    runUrl: runUrlFrom(),
    stages: stages.steps,
  };
}

export async function run(): Promise<void> {
  const stages = new Timeline();
  const github = githubContext();
  let settings: Settings | undefined;
  let reporter: Reporter | undefined;
  let project: string | undefined;
  let image: ImageReference | undefined;
  try {
    const parsed = await core.group('Inputs', async () => {
      const read = readSettings((name) => core.getInput(name));
      core.info(`service ${read.service} in ${read.regions.join(', ')}; traffic: ${read.traffic}`);
      return read;
    });
    settings = parsed;
    const deadline = Deadline.in(parsed.deployTimeoutSeconds);

    const credentials = await stages.time('authenticate', () =>
      core.group('Authenticate', async () => {
        const creds = await authenticate(parsed, github.repository);
        core.info(`authenticated as ${creds.identity}`);
        return creds;
      }),
    );
    const resolvedProject = resolveProject(parsed, credentials);
    project = resolvedProject;
    reporter = new Reporter(parsed.report, eventFromEnv(), parsed.service);

    // Before the build: every credential the deploy will need, and every secret it references.
    await stages.time('preflight', () =>
      core.group('Preflight', async () => {
        await checkIdTokens(parsed, credentials, resolvedProject);
        const secrets = new SecretManagerClient(credentials.accessToken);
        const { checked, unchecked } = await checkSecrets(
          secrets,
          resolvedProject,
          parsed.spec.secrets,
          credentials.identity,
        );
        if (checked.length) core.info(`secrets: ${checked.join(', ')} exist and are enabled`);
        if (unchecked.length)
          core.info(`secrets: Cloud Run will check ${unchecked.join(', ')} at deploy time`);
      }),
    );
    await reporter.start(github.sha, runUrlFrom());

    const built = await stages.time(parsed.image.kind === 'build' ? 'build and push' : 'resolve image', () =>
      core.group(parsed.image.kind === 'build' ? 'Build and push' : 'Resolve image', async () => {
        const ref = await prepareImage(parsed, credentials, github.sha);
        core.info(`image ${formatImage(ref, 'digest')}`);
        return ref;
      }),
    );
    image = built;
    const imageByDigest = formatImage(built, 'digest');

    const results = await stages.time('deploy and verify', () =>
      core.group(`Deploy and verify (${parsed.regions.join(', ')})`, () =>
        deployAll(parsed, credentials, resolvedProject, imageByDigest, github, deadline),
      ),
    );
    const failed = writeOutputs(parsed.regions, results, imageByDigest, built.digest ?? '');
    const report = buildReport(runFacts(parsed, project, github, built, stages), parsed.regions, results);
    const reportFailure = await core.group('Report', () => reporter!.finish(report));
    const failures = [failed, reportFailure].filter(Boolean);
    if (failures.length) core.setFailed(failures.join('\n'));
  } catch (err) {
    if (settings && reporter) {
      // What stopped the run before any region finished still reaches the summary, status and PR.
      const failedSettings = settings;
      const report = buildReport(
        runFacts(failedSettings, project, github, image, stages),
        failedSettings.regions,
        failedSettings.regions.map(() => ({ status: 'rejected', reason: err }) as const),
      );
      await core
        .group('Report', () => reporter!.finish(report))
        .catch((reportErr: unknown) => core.warning(`Could not report: ${describeError(reportErr)}`));
    }
    core.setFailed(describeError(err));
  }
}
