// `release_command`: the command run once as the Cloud Run job SERVICE-release, after the build and
// preflight and before the new revision exists, with the new image and the settings the new revision
// will have (env, secrets, runtime service account, VPC, Cloud SQL). It runs in the first region
// listed (a migration runs once); when it fails, the step stops and the service was never touched.
import { RunwayError } from '../errors.js';
import type { Deadline } from '../common/deadline.js';
import type { CloudRunClient } from '../gcp/run.js';
import type { Job, Service } from '../gcp/run-types.js';
import { defaultLabels, ingressIndex, planService } from '../deploy/plan.js';
import { deployJobRegion, releaseJobName, type FailedExecutionLogs, type JobOutcome } from '../deploy/job.js';
import type { ReleaseSettings, Settings } from '../inputs/inputs.js';

export { releaseJobName };

/**
 * The release job's spec from the service as the deploy will plan it: the ingress container's image,
 * env and mounts with the release command, the volumes it mounts, and the revision's account, VPC
 * and execution environment. One task, no retry: a migration is not run twice by Runway.
 */
export function planReleaseJob(
  planned: Service,
  release: ReleaseSettings,
  labels: Record<string, string>,
): Job {
  const template = planned.template;
  const containers = template.containers ?? [];
  const source = containers[ingressIndex(containers)];
  if (!source) throw new Error('the planned revision has no container');
  const limits = source.resources?.limits;
  const container = {
    image: source.image,
    command: release.command,
    ...(release.args ? { args: release.args } : {}),
    ...(source.env?.length ? { env: source.env } : {}),
    ...(source.volumeMounts?.length ? { volumeMounts: source.volumeMounts } : {}),
    ...(limits ? { resources: { limits } } : {}),
  };
  const mounted = new Set((source.volumeMounts ?? []).map((m) => m.name));
  const volumes = (template.volumes ?? []).filter((v) => mounted.has(v.name));
  return {
    labels,
    template: {
      labels,
      taskCount: 1,
      parallelism: 1,
      template: {
        containers: [container],
        ...(volumes.length ? { volumes } : {}),
        ...(template.serviceAccount ? { serviceAccount: template.serviceAccount } : {}),
        ...(template.vpcAccess ? { vpcAccess: template.vpcAccess } : {}),
        ...(template.executionEnvironment ? { executionEnvironment: template.executionEnvironment } : {}),
        maxRetries: 0,
        timeout: `${release.timeoutSeconds}s`,
      },
    },
  };
}

/**
 * Runs the release command and waits. A failed execution is returned as it ended (its `failure`
 * and own last lines set) for the reports; `releaseFailed` is then the error that stops the run.
 */
export async function runRelease(
  api: Pick<CloudRunClient, 'getService'> & Parameters<typeof deployJobRegion>[0],
  settings: Settings,
  release: ReleaseSettings,
  project: string,
  image: string,
  sha: string,
  deadline: Deadline,
  log: (line: string) => void,
  failedLogs?: FailedExecutionLogs,
): Promise<JobOutcome> {
  const region = settings.regions[0]!;
  const labels = {
    ...(settings.skipDefaultLabels ? {} : defaultLabels(sha)),
    ...(settings.spec.labels ?? {}),
  };
  const live = await api.getService({ project, region, service: settings.service });
  const planned = planService(live, {
    project,
    region,
    service: settings.service,
    image,
    revisionName: '',
    spec: settings.spec,
    envVarsUpdateStrategy: settings.envVarsUpdateStrategy,
    secretsUpdateStrategy: settings.secretsUpdateStrategy,
    labels,
    traffic: undefined,
    isolated: settings.isolated,
    replace: settings.serviceYaml?.service,
  });
  const spec = planReleaseJob(planned, release, labels);
  const ref = { project, region, job: releaseJobName(settings.service) };
  log(`running ${release.command.join(' ')} as job ${ref.job} in ${region}`);
  const outcome = await deployJobRegion(
    api,
    ref,
    (liveJob) => ({ ...spec, ...(liveJob?.etag ? { etag: liveJob.etag } : {}) }),
    'wait',
    deadline,
    log,
    failedLogs,
  );
  return outcome;
}

/** The error that stops the run when the release command failed: nothing about the service changed. */
export function releaseFailed(service: string, outcome: JobOutcome): RunwayError {
  const code = outcome.exitCode !== undefined ? `exited with code ${outcome.exitCode}` : 'failed';
  const job = releaseJobName(service);
  return new RunwayError(
    `release_command ${code} (job ${job} in ${outcome.region}, ${outcome.failure}). Nothing about ${service} was changed.`,
    `Fix the command or what it found, then re-run; the execution is kept for inspection: ${outcome.executionUrl ?? job}`,
  );
}
