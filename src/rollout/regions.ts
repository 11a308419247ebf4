// Every region's rollout, in parallel: each region stands alone, and each outcome (or the error
// that stopped a region before it changed anything) is reported.
import * as core from '@actions/core';
import { randomUUID } from 'node:crypto';
import type { Credentials } from '../auth/credentials.js';
import { explainRunError } from '../deploy/apply.js';
import { defaultLabels } from '../deploy/plan.js';
import { candidateTagFor } from '../deploy/traffic.js';
import { CloudRunClient } from '../gcp/run.js';
import type { Settings } from '../inputs/inputs.js';
import type { Deadline } from './deadline.js';
import { rolloutRegion, type RegionOutcome } from './rollout.js';

export async function deployAll(
  settings: Settings,
  credentials: Credentials,
  project: string,
  image: string,
  github: { sha: string; runId: string; attempt: string },
  deadline: Deadline,
): Promise<PromiseSettledResult<RegionOutcome>[]> {
  const client = new CloudRunClient(credentials.accessToken);
  const labels = {
    ...(settings.skipDefaultLabels ? {} : defaultLabels(github.sha)),
    ...(settings.spec.labels ?? {}),
  };
  return Promise.allSettled(
    settings.regions.map(async (region) => {
      const ref = { project, region, service: settings.service };
      try {
        return await rolloutRegion(
          {
            client,
            identity: credentials.identity,
            idToken: (audience) => credentials.idToken(audience),
            log: (line) => core.info(`[${region}] ${line}`),
          },
          ref,
          {
            image,
            spec: settings.spec,
            envVarsUpdateStrategy: settings.envVarsUpdateStrategy,
            secretsUpdateStrategy: settings.secretsUpdateStrategy,
            labels,
          },
          {
            traffic: settings.traffic,
            tag: settings.tag,
            revisionTraffic: settings.revisionTraffic,
            tagTraffic: settings.tagTraffic,
            healthCheck: settings.healthCheck,
            rollback: settings.rollback,
            suffix: settings.suffix,
            allowUnauthenticated: settings.spec.allowUnauthenticated,
            deadline,
            candidateTag: candidateTagFor(settings.service, github.runId, github.attempt, randomUUID()),
          },
        );
      } catch (err) {
        throw explainRunError(err, ref, credentials.identity);
      }
    }),
  );
}
