// Pull-request previews, every rule in one place: which tag a pull request's preview lives under,
// whether this run may deploy one at all, what code from a fork runs as (never production's
// identity or secrets), what a preview may change (its own revision only, beside one that serves),
// and removing it once the pull request closes.
import * as core from '@actions/core';
import * as log from '../common/log.js';
import { describeError, InputError, RunwayError } from '../errors.js';
import type { Deadline } from '../common/deadline.js';
import type { CloudRunApi } from '../gcp/run.js';
import { MAX_TAG_AND_SERVICE } from '../gcp/run-types.js';
import { applyTraffic, explainRunError } from '../deploy/apply.js';
import { pruneIdle } from '../deploy/prune.js';
import { previewTagFor, withoutTagIfPresent } from '../deploy/traffic.js';
import type { GitHubEvent } from '../inputs/event.js';
import type { Purpose, Settings } from '../inputs/inputs.js';
import type { SecretRefs } from '../inputs/spec.js';

export interface PreviewTarget {
  pullRequest: number;
  tag: string;
}

const SAFE_PATTERN =
  'Previews are for pull requests from branches of this repository. For a fork, build and test it in `pull_request` without credentials; to run its code on Cloud Run, have a maintainer review it and push it to a branch here, or deploy it from a `workflow_run` workflow behind an environment with required reviewers, as an ordinary deploy with `tag` and `traffic: none` (see "Security notes" in the README).';

/**
 * The pull request and tag a `preview` or `cleanup` run works on; undefined for a cleanup of a fork's
 * pull request when the workflow does not preview forks (no `preview_service_account`), as it never
 * had a preview. Throws, before anything changes, when there is no pull request or when no tag fits
 * beside the service name. Whether a fork's code may be previewed at all is isolationFor's rule.
 */
export function previewTarget(
  purpose: Exclude<Purpose, 'deploy'>,
  service: string,
  event: GitHubEvent,
  forkPreviews = false,
): PreviewTarget | undefined {
  const input = purpose === 'preview' ? 'preview' : 'cleanup';
  const pr = event.pullRequest;
  if (!pr) {
    throw new RunwayError(
      `Input '${input}' is for pull requests, but this run was started by '${event.name || 'an unknown event'}' and names none. Nothing was changed.`,
      purpose === 'preview'
        ? 'Run the preview job `on: pull_request`, or drop `preview: true` to deploy.'
        : 'Run the clean-up job `on: pull_request: types: [closed]`.',
    );
  }
  if (purpose === 'preview' && event.action === 'closed') {
    throw new RunwayError(
      `Pull request #${pr.number} is closed: a preview now would outlive its cleanup. Nothing was changed.`,
      "Run the preview only while the pull request is open: `preview: ${{ github.event.action != 'closed' }}`.",
    );
  }
  if (pr.fromFork && purpose === 'cleanup' && !forkPreviews) return undefined;
  const tag = previewTagFor(service, pr.number);
  if (!tag) {
    throw new RunwayError(
      `Input 'service' (${service}) leaves no room for the preview tag of pull request #${pr.number}: Cloud Run allows ${MAX_TAG_AND_SERVICE} characters for a tag and the service name together. Nothing was changed.`,
      `Use a shorter service name for previews (at most ${MAX_TAG_AND_SERVICE - `p${pr.number}`.length} characters).`,
    );
  }
  return { pullRequest: pr.number, tag };
}

/** What a run of fork code deploys as, instead of production's runtime identity and secrets. */
export interface Isolation {
  /** `preview_service_account`: the runtime service account the revision runs as. */
  serviceAccount: string;
  /** `preview_secrets`: the only secrets the revision gets; undefined: none at all. */
  secrets: SecretRefs | undefined;
}

/** Google's default runtime accounts (Compute Engine's, App Engine's): production's unless set. */
const DEFAULT_ACCOUNT = /^(\d+-compute@developer|[^@]+@appspot)\.gserviceaccount\.com$/;

/**
 * The one rule for fork code: a run that deploys code from a fork (a preview of a fork's pull
 * request, or a deploy from a `workflow_run` of one) runs it as `preview_service_account` with only
 * `preview_secrets`, never production's runtime account or secrets. Refused, before any credential
 * is asked for, when that input is missing, or names an account production runs as or deploys
 * with. Undefined when the code is the repository's own, or nothing is deployed (cleanup).
 */
export function isolationFor(
  settings: Pick<
    Settings,
    'purpose' | 'serviceAccount' | 'previewServiceAccount' | 'previewSecrets' | 'spec'
  >,
  forkCode: boolean,
  pullRequest?: number,
): Isolation | undefined {
  if (!forkCode || settings.purpose === 'cleanup') return undefined;
  const code =
    pullRequest !== undefined
      ? `Pull request #${pullRequest} comes from a fork`
      : 'This run deploys code from a fork';
  const account = settings.previewServiceAccount;
  if (!account) {
    throw new RunwayError(
      `${code}: its code is untrusted, and Runway deploys it only as \`preview_service_account\`, which is not set. Nothing was changed.`,
      `Set \`preview_service_account\` to a runtime service account of its own, with no access to production's data, and \`preview_secrets\` to the only secrets it may read. ${SAFE_PATTERN}`,
    );
  }
  const same = (other: string | undefined): boolean =>
    !!other && other.toLowerCase() === account.toLowerCase();
  const clash = same(settings.spec.runtimeServiceAccount)
    ? '`runtime_service_account`, the account production runs as'
    : same(settings.serviceAccount)
      ? '`service_account`, the account that deploys'
      : DEFAULT_ACCOUNT.test(account)
        ? 'a default runtime account, which production runs as unless it names another'
        : undefined;
  if (clash) {
    throw new InputError(
      'preview_service_account',
      account,
      `a runtime service account of its own for fork code, not ${clash}`,
    );
  }
  return { serviceAccount: account, secrets: settings.previewSecrets };
}

/**
 * Settings for a run of fork code: the revision runs as the isolation's account, gets only its
 * secrets, and the live service's secrets are dropped from the template it starts from (isolated).
 */
export function isolatedSettings(settings: Settings, isolation: Isolation): Settings {
  const { secrets: _production, containers, ...spec } = settings.spec;
  // A sidecar's secrets (`--container NAME --update-secrets`) are production's too.
  const scopes =
    containers &&
    Object.fromEntries(
      Object.entries(containers).map(([name, { secrets: _secrets, replaceSecrets: _r, ...scope }]) => [
        name,
        scope,
      ]),
    );
  return {
    ...settings,
    isolated: true,
    spec: {
      ...spec,
      ...(scopes ? { containers: scopes } : {}),
      runtimeServiceAccount: isolation.serviceAccount,
      ...(isolation.secrets ? { secrets: isolation.secrets } : {}),
    },
  };
}

/**
 * A preview is a deploy with no traffic, checked on the pull request's own tag. Who may invoke the
 * service is service-wide, so a preview leaves it alone whatever `allow_unauthenticated` says.
 */
export function previewSettings(settings: Settings, target: PreviewTarget): Settings {
  const { allowUnauthenticated: _serviceWide, ...spec } = settings.spec;
  return {
    ...settings,
    traffic: 'none',
    tag: target.tag,
    revisionTraffic: undefined,
    tagTraffic: undefined,
    trafficTags: undefined,
    spec,
  };
}

const DEPLOY_MAIN_FIRST = 'Deploy the service from the main branch first; previews go beside what it serves.';

/** A preview goes only beside a revision that serves: refused when the service has none. */
export function previewNeedsServingRevision(where: string, exists: boolean): RunwayError {
  return new RunwayError(
    `${where} ${exists ? 'has no serving revision' : 'does not exist'}, so a preview would be all it serves. Nothing was changed.`,
    DEPLOY_MAIN_FIRST,
  );
}

/** ...and when the serving revision went away between planning and deploying. */
export function previewLostServingRevision(where: string): RunwayError {
  return new RunwayError(
    `${where} lost its serving revision during this run, so a preview would be all it serves. Nothing was changed.`,
    DEPLOY_MAIN_FIRST,
  );
}

export interface PreviewRemoval {
  region: string;
  removed: boolean;
  pruned: string[];
  failure: string | undefined;
}

/** `cleanup`: the preview's tag dropped in every region (its revision serves nothing else), then keep_revisions. */
export async function removePreviewEverywhere(
  client: CloudRunApi,
  settings: Settings,
  project: string,
  target: PreviewTarget,
  identity: string,
  deadline: Deadline,
): Promise<PreviewRemoval[]> {
  return Promise.all(
    settings.regions.map(async (region): Promise<PreviewRemoval> => {
      const ref = { project, region, service: settings.service };
      try {
        const { changed: removed } = await applyTraffic(
          client,
          ref,
          (live) => withoutTagIfPresent(live.traffic, target.tag),
          { deadline },
        );
        log.info(
          `[${region}] ${removed ? `removed the tag ${target.tag}` : `no tag ${target.tag}: nothing to remove`}`,
        );
        const regionLog = { info: (line: string) => log.info(`[${region}] ${line}`), warn: core.warning };
        const pruned =
          settings.keepRevisions === undefined
            ? []
            : (
                await pruneIdle(
                  client,
                  ref,
                  {
                    keep: settings.keepRevisions,
                    protect: [],
                    graceSeconds: settings.keepRevisionsGraceSeconds,
                  },
                  deadline,
                  regionLog,
                )
              ).deleted;
        return { region, removed, pruned, failure: undefined };
      } catch (err) {
        return {
          region,
          removed: false,
          pruned: [],
          failure: describeError(explainRunError(err, ref, identity)),
        };
      }
    }),
  );
}
