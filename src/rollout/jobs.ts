// `job: NAME`: the job deployed in every region in parallel, each on its own (a job serves no
// traffic, so there is nothing to take back in the others), and its execution started or run.
import * as core from '@actions/core';
import * as log from '../common/log.js';
import { iamMember, type Credentials } from '../auth/credentials.js';
import type { Deadline } from '../common/deadline.js';
import { GoogleApiError } from '../common/http.js';
import { RunwayError } from '../errors.js';
import { CloudRunClient, jobName, type JobRef } from '../gcp/run.js';
import { explainRunError } from '../deploy/apply.js';
import { deployJobRegion, type FailedExecutionLogs, type JobOutcome } from '../deploy/job.js';
import { defaultLabels } from '../deploy/plan.js';
import { planJob, type JobChanges } from '../deploy/job-plan.js';
import type { JobSettings, Settings } from '../inputs/inputs.js';
import { LoggingClient } from '../gcp/logging.js';
import { logFailureLogs, readExecutionLogs } from './failure-logs.js';

/**
 * Reads a failed execution's last `log_lines` lines (every task's, oldest first) for the reports,
 * and writes them to its region's log as untrusted text; a deployer without roles/logging.viewer
 * gets a warning and the link. Undefined when `log_lines` is 0.
 */
export function executionLogReader(
  logLines: number,
  credentials: Credentials,
): FailedExecutionLogs | undefined {
  if (logLines <= 0) return undefined;
  const logging = new LoggingClient(credentials.accessToken);
  return async (ref, execution, logUri) => {
    const read = await readExecutionLogs(
      {
        logging,
        count: logLines,
        identity: credentials.identity,
        warn: (line) => core.warning(`[${ref.region}] ${line}`),
      },
      ref,
      execution,
      logUri,
    );
    logFailureLogs(read, (line) => log.info(`[${ref.region}] ${line}`));
    return read;
  };
}

/** The job's change: the shared container settings, its own, and the labels (merged, as deploy-cloudrun's). */
export function jobChanges(
  settings: Settings,
  job: JobSettings,
  ref: JobRef,
  image: string,
  sha: string,
): JobChanges {
  return {
    project: ref.project,
    region: ref.region,
    job: job.name,
    image,
    spec: settings.spec,
    jobSpec: job.spec,
    envVarsUpdateStrategy: settings.envVarsUpdateStrategy,
    secretsUpdateStrategy: settings.secretsUpdateStrategy,
    labels: { ...(settings.skipDefaultLabels ? {} : defaultLabels(sha)), ...(settings.spec.labels ?? {}) },
    fromFile: job.file?.job,
  };
}

/** A 403 on a job names the run.jobs.* permission and the role that has it. */
export function explainJobError(
  err: unknown,
  ref: JobRef,
  identity: string,
  runtime: string | undefined,
): unknown {
  if (
    err instanceof GoogleApiError &&
    err.httpStatus === 403 &&
    err.permission?.toLowerCase() !== 'iam.serviceaccounts.actas'
  ) {
    return new RunwayError(
      `Cloud Run denied ${err.permission ?? 'the request'} to ${identity} on ${jobName(ref)}: ${err.message}`,
      `Deploying and executing a job needs run.jobs.create, run.jobs.update, run.jobs.get, run.jobs.run and run.executions.get: grant roles/run.developer to the deployer:\n  gcloud projects add-iam-policy-binding ${ref.project} --role=roles/run.developer --member=${iamMember(identity)}`,
      { cause: err },
    );
  }
  return explainRunError(
    err,
    { project: ref.project, region: ref.region, service: ref.job },
    identity,
    runtime,
  );
}

export async function deployJobEverywhere(
  settings: Settings,
  job: JobSettings,
  credentials: Credentials,
  project: string,
  image: string,
  sha: string,
  deadline: Deadline,
  failedLogs?: FailedExecutionLogs,
): Promise<PromiseSettledResult<JobOutcome>[]> {
  const api = new CloudRunClient(credentials.accessToken);
  return Promise.allSettled(
    settings.regions.map(async (region) => {
      const ref = { project, region, job: job.name };
      try {
        return await deployJobRegion(
          api,
          ref,
          (live) => planJob(live, jobChanges(settings, job, ref, image, sha)),
          job.execute,
          deadline,
          (line) => log.info(`[${region}] ${line}`),
          failedLogs,
        );
      } catch (err) {
        throw explainJobError(err, ref, credentials.identity, settings.spec.runtimeServiceAccount);
      }
    }),
  );
}
