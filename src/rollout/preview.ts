// Pull-request previews, every rule in one place: which tag a pull request's preview lives under,
// whether this run may deploy one at all (never code from a fork), what a preview may change (its
// own revision only, beside one that serves), and removing it once the pull request closes.
import * as core from '@actions/core';
import * as log from '../common/log.js';
import { describeError, RunwayError } from '../errors.js';
import type { Deadline } from '../common/deadline.js';
import type { CloudRunApi } from '../gcp/run.js';
import { MAX_TAG_AND_SERVICE } from '../gcp/run-types.js';
import { applyTraffic, explainRunError } from '../deploy/apply.js';
import { pruneIdle } from '../deploy/prune.js';
import { previewTagFor, withoutTagIfPresent } from '../deploy/traffic.js';
import type { GitHubEvent } from '../inputs/event.js';
import type { Purpose, Settings } from '../inputs/inputs.js';

export interface PreviewTarget {
  pullRequest: number;
  tag: string;
}

const SAFE_PATTERN =
  'Previews are for pull requests from branches of this repository. For a fork, build and test it in `pull_request` without credentials; to run its code on Cloud Run, have a maintainer review it and push it to a branch here, or deploy it from a `workflow_run` workflow behind an environment with required reviewers, as an ordinary deploy with `tag` and `traffic: none` (see "Security notes" in the README).';

/**
 * The pull request and tag a `preview` or `cleanup` run works on; undefined for a cleanup of a fork's
 * pull request, which never had a preview. Throws, before anything changes, when there is no pull
 * request, when a preview's code comes from a fork, or when no tag fits beside the service name.
 */
export function previewTarget(
  purpose: Exclude<Purpose, 'deploy'>,
  service: string,
  event: GitHubEvent,
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
  if (pr.fromFork) {
    if (purpose === 'cleanup') return undefined;
    throw new RunwayError(
      `Pull request #${pr.number} comes from a fork: Runway does not deploy previews of a fork's code, which is untrusted and gets no OIDC token. Nothing was changed.`,
      SAFE_PATTERN,
    );
  }
  const tag = previewTagFor(service, pr.number);
  if (!tag) {
    throw new RunwayError(
      `Input 'service' (${service}) leaves no room for the preview tag of pull request #${pr.number}: Cloud Run allows ${MAX_TAG_AND_SERVICE} characters for a tag and the service name together. Nothing was changed.`,
      `Use a shorter service name for previews (at most ${MAX_TAG_AND_SERVICE - `p${pr.number}`.length} characters).`,
    );
  }
  return { pullRequest: pr.number, tag };
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
