// run(): inputs → auth → image → deploy and verify (every region in parallel) → report. Each stage
// logs in its own group; the error that stops the run is printed last, outside any group, with its fix.
import * as core from '@actions/core';
import * as log from './common/log.js';
import { authenticate, type Credentials } from './auth/credentials.js';
import { describeError, problemsOf, RunwayError } from './errors.js';
import { SecretManagerClient } from './gcp/secrets.js';
import {
  checkCanActAs,
  checkIdTokens,
  checkJobPermissions,
  checkSecretReaders,
  checkSecrets,
  checkSourceDeploy,
} from './deploy/preflight.js';
import { IamClient } from './gcp/iam.js';
import { ProjectsClient } from './gcp/projects.js';
import { prepareImage, prepareSourceImage } from './image/prepare.js';
import { formatImage, type ImageReference } from './image/reference.js';
import { readSettings, type Settings } from './inputs/inputs.js';
import { checkFileNamespace, fileSecretRefs } from './inputs/service-yaml.js';
import type { SecretRef, SecretRefs } from './inputs/spec.js';
import { Deadline } from './common/deadline.js';
import { deployAll } from './rollout/regions.js';
import { CloudRunClient } from './gcp/run.js';
import { resolveBuild, serviceAccountEmail, type ResolvedBuild } from './inputs/build-flags.js';
import { recordedBuild } from './image/remote-build.js';
import { eventFromEnv, type GitHubEvent } from './inputs/event.js';
import { writeOutputs } from './report/outputs.js';
import { Reporter, writeJobSummary } from './report/publish.js';
import { buildReport, runUrlFrom, type RunFacts } from './report/report.js';
import { renderEarlyFailure, type EarlyFailure } from './report/summary.js';
import {
  isolatedSettings,
  isolationFor,
  previewSettings,
  previewTarget,
  removePreviewEverywhere,
  type Isolation,
  type PreviewTarget,
} from './rollout/preview.js';
import { Timeline } from './common/timeline.js';
import { deployJobEverywhere, executionLogReader } from './rollout/jobs.js';
import { releaseFailed, runRelease } from './rollout/release.js';
import { renderJobReport, writeJobOutputs } from './report/job-report.js';
import { gfm, text } from './common/markdown.js';
import type { JobSettings } from './inputs/inputs.js';
import type { JobOutcome } from './deploy/job.js';
import { Untrusted } from './common/untrusted.js';

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
  preview: PreviewTarget | undefined,
  release: JobOutcome | undefined,
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
    preview,
    release,
  };
}

/** Fork code: the event's own verdict, or a pull request (under any event) whose head is a fork's. */
function forkCodeOf(event: GitHubEvent): boolean {
  return event.forkCode || (event.pullRequest?.fromFork ?? false);
}

function signIn(settings: Settings, github: ReturnType<typeof githubContext>): Promise<Credentials> {
  return core.group('Authenticate', async () => {
    const creds = await authenticate(settings, github.repository);
    log.info(`authenticated as ${creds.identity}`);
    return creds;
  });
}

/** How far the run got: a run that stops at its inputs or at authentication has no report yet. */
interface Progress {
  stage: EarlyFailure['stage'] | 'deploy';
}

/** The service the failed run was for, when its input is a service's name and nothing else. */
function serviceNamed(): string | undefined {
  const given = core.getInput('service');
  return /^[a-z][a-z0-9-]{0,62}$/.test(given) ? given : undefined;
}

/** `cleanup: true`: the closed pull request's preview goes, in every region; nothing is deployed. */
async function removePreview(
  settings: Settings,
  event: GitHubEvent,
  target: PreviewTarget | undefined,
  github: ReturnType<typeof githubContext>,
  progress: Progress,
): Promise<void> {
  if (!target) {
    log.info(
      `Pull request #${event.pullRequest?.number} comes from a fork, so it never had a preview: nothing to clean up.`,
    );
    return;
  }
  progress.stage = 'authenticate';
  const credentials = await signIn(settings, github);
  const project = resolveProject(settings, credentials);
  progress.stage = 'deploy';
  const reporter = new Reporter(settings.report, event, settings.service, target, settings.regions);
  const client = new CloudRunClient(credentials.accessToken);
  const regions = await core.group(`Remove preview ${target.tag} (${settings.regions.join(', ')})`, () =>
    removePreviewEverywhere(
      client,
      settings,
      project,
      target,
      credentials.identity,
      Deadline.in(settings.deployTimeoutSeconds),
    ),
  );
  await core.group('Report', () =>
    reporter.finishCleanup({ service: settings.service, preview: target, runUrl: runUrlFrom(), regions }),
  );
  const failed = regions.filter((r) => r.failure);
  if (failed.length) core.setFailed(failed.map((r) => `${r.region}: ${r.failure}`).join('\n'));
}

/** `job: NAME`: the job in every region, its execution as `wait`/`execute` say, its outputs and summary. */
async function deployJob(
  settings: Settings,
  job: JobSettings,
  credentials: Credentials,
  project: string,
  image: string,
  built: ImageReference,
  github: ReturnType<typeof githubContext>,
  deadline: Deadline,
  stages: Timeline,
  reporter: Reporter,
): Promise<string | undefined> {
  const results = await stages.time(job.execute === 'wait' ? 'deploy and execute' : 'deploy', () =>
    core.group(`Deploy job ${job.name} (${settings.regions.join(', ')})`, () =>
      deployJobEverywhere(
        settings,
        job,
        credentials,
        project,
        image,
        github.sha,
        deadline,
        executionLogReader(settings.logLines, credentials),
      ),
    ),
  );
  const failed = writeJobOutputs(settings.regions, results, image, built.digest ?? '');
  const first = results.find((r) => r.status === 'fulfilled')?.value;
  await core.group('Report', () =>
    reporter.finishJob(renderJobReport(job.name, image, settings.regions, results, stages.steps), {
      ok: failed === undefined,
      sha: github.sha,
      runUrl: runUrlFrom(),
      execution: first?.execution,
    }),
  );
  return failed;
}

/**
 * The settings preflight checks: with a `metadata` file, its runtime account (unless an input sets
 * one) and its secrets beside the inputs', since the revision (or the job's tasks) runs as the file says.
 */
function withFileSettings(settings: Settings): Settings {
  const file = settings.serviceYaml?.service.template ?? settings.job?.file?.job.template.template;
  // A sidecar's secrets (`--container NAME --set-secrets`) are read as the revision's account too.
  const scoped = Object.entries(settings.spec.containers ?? {}).flatMap(([name, c]) => {
    if (!c.secrets) return [];
    const inContainer = (refs: Record<string, SecretRef>): Record<string, SecretRef> =>
      Object.fromEntries(Object.entries(refs).map(([k, ref]) => [`${k} in container ${name}`, ref]));
    return [{ env: inContainer(c.secrets.env), files: inContainer(c.secrets.files) }];
  });
  if (!file && !scoped.length) return settings;
  const own = file ? fileSecretRefs(file) : { env: {}, files: {} };
  const given: SecretRefs = settings.spec.secrets ?? { env: {}, files: {} };
  const secrets = [...scoped, given].reduce<SecretRefs>(
    (all, refs) => ({ env: { ...all.env, ...refs.env }, files: { ...all.files, ...refs.files } }),
    own,
  );
  const account = settings.spec.runtimeServiceAccount ?? file?.serviceAccount;
  return {
    ...settings,
    spec: {
      ...settings.spec,
      ...(account ? { runtimeServiceAccount: account } : {}),
      ...(Object.keys(secrets.env).length || Object.keys(secrets.files).length ? { secrets } : {}),
    },
  };
}

export async function run(): Promise<void> {
  const stages = new Timeline();
  const github = githubContext();
  const event = eventFromEnv();
  let settings: Settings | undefined;
  let preview: PreviewTarget | undefined;
  let isolation: Isolation | undefined;
  let reporter: Reporter | undefined;
  let jobReporter: Reporter | undefined;
  let project: string | undefined;
  let image: ImageReference | undefined;
  let released: JobOutcome | undefined;
  const progress: Progress = { stage: 'inputs' };
  try {
    const given = await core.group('Inputs', async () => {
      const read = readSettings((name) => core.getInput(name));
      // Before any credential: which pull request's preview this is, and what fork code runs as.
      const forkPreviews = read.previewServiceAccount !== undefined;
      preview =
        read.purpose === 'deploy'
          ? undefined
          : previewTarget(read.purpose, read.service, event, forkPreviews);
      isolation = isolationFor(read, forkCodeOf(event), event.pullRequest?.number);
      const mode = preview ? `${read.purpose} of ${preview.tag}` : `traffic: ${read.traffic}`;
      if (read.job)
        log.info(`job ${read.job.name} in ${read.regions.join(', ')}; execute: ${read.job.execute}`);
      else log.info(`service ${read.service} in ${read.regions.join(', ')}; ${mode}`);
      const file = read.serviceYaml ?? read.job?.file;
      if (file)
        log.info(
          `from ${file.path}: the deploy replaces the ${file.kind === 'Job' ? 'job' : 'service'} with it, inputs on top`,
        );
      if (isolation)
        log.info(
          `fork code: runs as ${isolation.serviceAccount} with ${isolation.secrets ? 'only preview_secrets' : 'no secrets'}`,
        );
      return read;
    });
    if (given.purpose === 'cleanup') return await removePreview(given, event, preview, github, progress);
    const previewed = preview ? previewSettings(given, preview) : given;
    const parsed = isolation ? isolatedSettings(previewed, isolation) : previewed;
    settings = parsed;
    const deadline = Deadline.in(parsed.deployTimeoutSeconds);
    let sourceBuild: ResolvedBuild | undefined;

    progress.stage = 'authenticate';
    const credentials = await stages.time('authenticate', () => signIn(parsed, github));
    const resolvedProject = resolveProject(parsed, credentials);
    project = resolvedProject;
    progress.stage = 'deploy';
    // A job deploy writes its own summary section, and the same commit status, deployment and comment.
    if (parsed.job) jobReporter = Reporter.forJob(parsed.report, event, parsed.job.name, parsed.regions);
    else reporter = new Reporter(parsed.report, event, parsed.service, preview, parsed.regions);

    // Before the build: every credential the deploy will need, and every secret it references.
    await stages.time('preflight', () =>
      core.group('Preflight', async () => {
        await checkJobPermissions(parsed, credentials, resolvedProject);
        // A job is not health-checked: it needs no ID token, nor the service reads that prove one.
        if (!parsed.job) await checkIdTokens(parsed, credentials, resolvedProject);
        const file = parsed.serviceYaml ?? parsed.job?.file;
        if (file)
          await checkFileNamespace(
            file,
            resolvedProject,
            () => new ProjectsClient(credentials.accessToken).projectNumber(resolvedProject),
            (message) => core.warning(message),
          );
        const asDeployed = withFileSettings(parsed);
        await checkCanActAs(
          new IamClient(credentials.accessToken),
          asDeployed.spec.runtimeServiceAccount,
          credentials.identity,
        );
        const secrets = new SecretManagerClient(credentials.accessToken);
        const { checked, unchecked, readable } = await checkSecrets(
          secrets,
          resolvedProject,
          asDeployed.spec.secrets,
          credentials.identity,
        );
        if (checked.length) log.info(`secrets: ${checked.join(', ')} exist and are enabled`);
        if (unchecked.length)
          log.info(`secrets: Cloud Run will check ${unchecked.join(', ')} at deploy time`);
        await checkSecretReaders(asDeployed, credentials, resolvedProject, secrets, readable);
        if (parsed.image?.kind === 'source') {
          const projects = new ProjectsClient(credentials.accessToken);
          // As gcloud, the build keeps what the service recorded of the last one unless `flags` says otherwise.
          const live = parsed.job
            ? undefined
            : await new CloudRunClient(credentials.accessToken).getService({
                project: resolvedProject,
                region: parsed.regions[0]!,
                service: parsed.service,
              });
          sourceBuild = resolveBuild(parsed.image.build, recordedBuild(live));
          // Without a build account, Cloud Run's builds run as the project's default compute account.
          const builder = sourceBuild.serviceAccount
            ? serviceAccountEmail(sourceBuild.serviceAccount)
            : `${await projects.projectNumber(resolvedProject)}-compute@developer.gserviceaccount.com`;
          await checkSourceDeploy(
            projects,
            new IamClient(credentials.accessToken),
            resolvedProject,
            builder,
            credentials.identity,
          );
          log.info(`${credentials.identity} may build from source as ${builder}`);
        }
      }),
    );
    await (reporter ?? jobReporter)?.start(github.sha, runUrlFrom());

    const kind = parsed.image?.kind;
    const stage =
      kind === 'build' ? 'build and push' : kind === 'source' ? 'build on Google' : 'resolve image';
    const built = await stages.time(stage, () =>
      core.group(stage.charAt(0).toUpperCase() + stage.slice(1), async () => {
        const ref =
          kind === 'source'
            ? await prepareSourceImage(
                parsed,
                credentials,
                resolvedProject,
                github.sha,
                deadline,
                sourceBuild ?? resolveBuild(undefined, undefined),
                forkCodeOf(event),
              )
            : await prepareImage(parsed, credentials, github.sha, forkCodeOf(event));
        log.info(`image ${formatImage(ref, 'digest')}`);
        return ref;
      }),
    );
    image = built;
    const imageByDigest = formatImage(built, 'digest');
    if (parsed.job) {
      const failure = await deployJob(
        parsed,
        parsed.job,
        credentials,
        resolvedProject,
        imageByDigest,
        built,
        github,
        deadline,
        stages,
        jobReporter!,
      );
      if (failure) core.setFailed(failure);
      return;
    }

    const release = parsed.release;
    if (release) {
      const region = parsed.regions[0]!;
      await stages.time('release command', () =>
        core.group(`Release command (${parsed.service}-release in ${region})`, async () => {
          released = await runRelease(
            new CloudRunClient(credentials.accessToken),
            parsed,
            release,
            resolvedProject,
            imageByDigest,
            github.sha,
            deadline,
            (line) => log.info(line),
            executionLogReader(parsed.logLines, credentials),
          );
          if (released.failure) throw releaseFailed(parsed.service, released);
          log.info(
            `release command succeeded (execution ${Untrusted.of(released.execution ?? '').forLog(200)}); deploying`,
          );
        }),
      );
    }

    const results = await stages.time('deploy and verify', () =>
      core.group(`Deploy and verify (${parsed.regions.join(', ')})`, () =>
        deployAll(parsed, credentials, resolvedProject, imageByDigest, github, deadline, sourceBuild),
      ),
    );
    const failed = writeOutputs(parsed.regions, results, imageByDigest, built.digest ?? '', preview);
    const report = buildReport(
      runFacts(parsed, project, github, built, stages, preview, released),
      parsed.regions,
      results,
    );
    const reportFailure = await core.group('Report', () => reporter!.finish(report));
    const failures = [failed, reportFailure].filter(Boolean);
    if (failures.length) core.setFailed(failures.join('\n'));
  } catch (err) {
    if (settings && reporter) {
      // What stopped the run before any region finished still reaches the summary, status and PR.
      const failedSettings = settings;
      const report = buildReport(
        runFacts(failedSettings, project, github, image, stages, preview, released),
        failedSettings.regions,
        failedSettings.regions.map(() => ({ status: 'rejected', reason: err }) as const),
      );
      await core
        .group('Report', () => reporter!.finish(report))
        .catch((reportErr: unknown) => core.warning(`Could not report: ${describeError(reportErr)}`));
    } else if (settings?.job && progress.stage === 'deploy') {
      const markdown = gfm`### Cloud Run job ${text(settings.job.name)}: not deployed

${text(describeError(err))}
`;
      if (jobReporter)
        await core
          .group('Report', () =>
            jobReporter!.finishJob(markdown, {
              ok: false,
              sha: github.sha,
              runUrl: runUrlFrom(),
              execution: undefined,
            }),
          )
          .catch((reportErr: unknown) => core.warning(`Could not report: ${describeError(reportErr)}`));
      else await writeJobSummary(markdown);
    } else if (progress.stage !== 'deploy') {
      // No report was started: the summary still says what stopped the run, and each fix.
      await writeJobSummary(
        renderEarlyFailure({
          stage: progress.stage,
          service: settings?.service ?? serviceNamed(),
          problems: problemsOf(err),
          sha: github.sha,
          runUrl: runUrlFrom(),
        }),
      );
    }
    core.setFailed(describeError(err));
  }
}
