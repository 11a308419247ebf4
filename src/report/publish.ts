// The report stage: the job summary (always), the sticky PR comment, the GitHub Deployment, the
// commit status and the post-deploy webhooks (a service's; a job deploy gets all but the webhooks,
// whose payload describes a service's URL, revisions and traffic). Each reporter that fails becomes a warning naming the
// permission or fix; none fails a healthy deploy, except an undelivered webhook with
// `webhook_failure: fail`.
import * as core from '@actions/core';
import * as log from '../common/log.js';
import type { GitHubEvent } from '../inputs/event.js';
import type { ReportSettings } from '../inputs/inputs.js';
import {
  commentMarker,
  createDeployment,
  explainGitHubFailure,
  retireEarlierDeployments,
  setCommitStatus,
  setDeploymentStatus,
  upsertStickyComment,
  renderComment,
  type Octokit,
  type RunEntry,
} from './github.js';
import { capMarkdown, type Markdown } from '../common/markdown.js';
import type { PreviewTarget } from '../rollout/preview.js';
import type { CleanupReport, RunReport } from './report.js';
import { renderCleanup, renderReport, REPORT_CAP } from './summary.js';
import { deliverWebhook, shouldSend } from '../common/webhooks.js';

/** Writes the job summary; without $GITHUB_STEP_SUMMARY (a local run) that is a warning. */
export async function writeJobSummary(markdown: Markdown): Promise<void> {
  try {
    await core.summary.addRaw(capMarkdown(markdown, REPORT_CAP).text, true).write();
  } catch (err) {
    core.warning(`Could not write the job summary: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The reporting session of one run: a client for GitHub (when a token exists) and what was started. */
export class Reporter {
  private readonly token: string | undefined;
  /** Octokit is loaded on the first report, so starting the action does not wait for it. */
  private octokit: Promise<Octokit> | undefined;
  private deployment: number | undefined;
  /** What the run deploys: a service, or a Cloud Run job (`job: NAME`). */
  private kind: 'service' | 'job' = 'service';

  /** The reports of a job deploy: the same commit status, deployment and comment, for the job. */
  static forJob(settings: ReportSettings, event: GitHubEvent, job: string, regions: string[]): Reporter {
    const reporter = new Reporter(settings, event, job, undefined, regions);
    reporter.kind = 'job';
    return reporter;
  }

  constructor(
    private readonly settings: ReportSettings,
    private readonly event: GitHubEvent,
    private readonly service: string,
    /** The pull request's preview this run deploys or removes, if it does. */
    private readonly preview: PreviewTarget | undefined,
    /** The regions the run deploys to: part of what the sticky comment is for. */
    private readonly regions: string[],
    token = settings.githubToken ?? process.env.GITHUB_TOKEN,
  ) {
    this.token = token;
  }

  /** The deployment's environment: a preview gets one of its own, per pull request. */
  private get environment(): string | undefined {
    const environment = this.settings.deploymentEnvironment;
    return environment && this.preview ? `${environment}-pr-${this.preview.pullRequest}` : environment;
  }

  /**
   * Where statuses and deployments go: on an open `pull_request`, its head commit, where GitHub shows
   * them and branch protection reads them (GITHUB_SHA is a merge commit no one sees). Never under
   * `pull_request_target` or other events, whose run deploys the base branch's code, not the head's.
   */
  private commitOf(sha: string): string {
    const { name, action, pullRequest } = this.event;
    return name === 'pull_request' && action !== 'closed' ? (pullRequest?.headSha ?? sha) : sha;
  }

  private async attempt(
    what: string,
    permission: string,
    fn: (octokit: Octokit) => Promise<void>,
  ): Promise<void> {
    const token = this.token;
    if (!token) {
      core.warning(`Could not ${what}: no GitHub token (set \`github_token\`).`);
      return;
    }
    this.octokit ??= import('@actions/github').then((github) => github.getOctokit(token));
    try {
      await fn(await this.octokit);
    } catch (err) {
      core.warning(explainGitHubFailure(what, permission, err));
    }
  }

  private setStatus(
    sha: string,
    state: 'pending' | 'success' | 'failure',
    description: string,
    runUrl: string,
  ) {
    return this.attempt('set the commit status', 'statuses', (o) =>
      setCommitStatus(
        o,
        this.event.repo,
        this.commitOf(sha),
        this.settings.statusContext,
        state,
        description,
        runUrl,
      ),
    );
  }

  /** Before anything changes: the commit status pending, and the deployment in progress. */
  async start(sha: string, runUrl: string): Promise<void> {
    const doing = this.kind === 'job' ? 'Deploying the job' : 'Deploying and verifying';
    await this.setStatus(sha, 'pending', doing, runUrl);
    const environment = this.environment;
    if (!environment) return;
    await this.attempt('create the deployment', 'deployments', async (o) => {
      this.deployment = await createDeployment(o, this.event.repo, {
        sha: this.commitOf(sha),
        environment,
        production: this.preview
          ? false
          : (this.settings.productionEnvironment ?? environment === 'production'),
        transient: this.preview !== undefined,
        description: `Runway: ${this.kind === 'job' ? 'job ' : ''}${this.service}${this.preview ? ` preview of #${this.preview.pullRequest}` : ''}`,
      });
      await setDeploymentStatus(
        o,
        this.event.repo,
        this.deployment,
        'in_progress',
        { log: runUrl },
        'Deploying',
      );
    });
  }

  /** Replaces the sticky comment's report (on pull request events, or with `comment: always`). */
  private async comment(
    markdown: Markdown,
    run: Omit<RunEntry, 'at' | 'run'>,
    runUrl: string,
  ): Promise<void> {
    const wantsComment =
      this.settings.comment === 'always' ||
      (this.settings.comment === 'auto' && this.event.name.startsWith('pull_request'));
    const issue = this.event.pullRequest?.number;
    if (wantsComment && issue !== undefined) {
      const marker = commentMarker({
        // A job's comment is its own, even beside a service of the same name (no service has a colon).
        service: this.kind === 'job' ? `job:${this.service}` : this.service,
        environment: this.environment,
        preview: this.preview?.tag,
        regions: this.regions,
      });
      const entry: RunEntry = { ...run, run: runUrl.split('/').pop() ?? '', at: new Date().toISOString() };
      await this.attempt('comment on the pull request', 'pull-requests', async (o) => {
        await upsertStickyComment(o, this.event.repo, issue, marker, (previous) =>
          renderComment(marker, markdown, entry, previous),
        );
      });
    } else if (wantsComment) {
      log.info('comment: this run is not for a pull request; the report is in the job summary');
    }
  }

  /** After the run: every report, from the same RunReport. Resolves to a failure message, if any. */
  async finish(report: RunReport): Promise<string | undefined> {
    const markdown = renderReport(report);
    await writeJobSummary(markdown);
    const first = report.regions.find((r) => r.outcome?.url)?.outcome;
    const url = this.preview ? first?.tagUrl : first?.url;
    const what = this.preview ? `preview ${this.preview.tag} of ${this.service}` : this.service;
    await this.settle(report.healthy, report.sha, report.runUrl, url, {
      status: report.healthy ? `Deployed ${what} and verified it healthy` : `Deploy of ${what} failed`,
      deployment: `${what}: ${report.healthy ? 'healthy' : 'failed'}`,
    });
    await this.comment(
      markdown,
      {
        revision: report.regions[0]?.outcome?.revision ?? '—',
        outcome: report.healthy ? 'healthy' : 'failed',
      },
      report.runUrl,
    );
    return this.sendWebhooks(report);
  }

  /** After a job deploy: its summary, and the commit status, deployment and comment a service gets. */
  async finishJob(
    markdown: Markdown,
    run: { ok: boolean; sha: string; runUrl: string; execution: string | undefined },
  ): Promise<void> {
    await writeJobSummary(markdown);
    const what = `job ${this.service}`;
    await this.settle(run.ok, run.sha, run.runUrl, undefined, {
      status: run.ok ? `Deployed ${what}` : `Deploy of ${what} failed`,
      deployment: `${what}: ${run.ok ? 'succeeded' : 'failed'}`,
    });
    await this.comment(
      markdown,
      { revision: run.execution ?? '—', outcome: run.ok ? 'succeeded' : 'failed' },
      run.runUrl,
    );
  }

  /** The commit status and the deployment's status, as the run ended; on success, earlier deployments retired. */
  private async settle(
    ok: boolean,
    sha: string,
    runUrl: string,
    url: string | undefined,
    said: { status: string; deployment: string },
  ): Promise<void> {
    await this.setStatus(sha, ok ? 'success' : 'failure', said.status, runUrl);
    const deployment = this.deployment;
    const environment = this.environment;
    if (deployment === undefined || !environment) return;
    await this.attempt('update the deployment', 'deployments', async (o) => {
      await setDeploymentStatus(
        o,
        this.event.repo,
        deployment,
        ok ? 'success' : 'failure',
        { environment: ok ? url : undefined, log: runUrl },
        said.deployment,
      );
      if (ok) await retireEarlierDeployments(o, this.event.repo, environment, deployment, runUrl);
    });
  }

  /** After a preview's clean-up: the summary, the preview's deployments inactive, the comment. */
  async finishCleanup(report: CleanupReport): Promise<void> {
    const markdown = renderCleanup(report);
    await writeJobSummary(markdown);
    const environment = this.environment;
    // A region that still has the preview keeps its deployment active.
    if (environment && report.regions.every((r) => !r.failure)) {
      await this.attempt('retire the preview deployment', 'deployments', async (o) => {
        const retired = await retireEarlierDeployments(
          o,
          this.event.repo,
          environment,
          undefined,
          report.runUrl,
          'pull request closed; preview removed',
        );
        log.info(`deployments: ${retired.length} of ${environment} marked inactive`);
      });
    }
    await this.comment(markdown, { revision: '—', outcome: 'preview removed' }, report.runUrl);
  }

  private async sendWebhooks(report: RunReport): Promise<string | undefined> {
    const webhook = this.settings.webhook;
    if (!webhook || !shouldSend(webhook.on, report.healthy)) return undefined;
    const payload = webhookPayload(report);
    const failed: string[] = [];
    for (const url of webhook.urls) {
      const delivery = await deliverWebhook(url, payload, webhook);
      log.info(
        `webhook ${delivery.url}: ${delivery.delivered ? 'delivered' : 'not delivered'} (${delivery.result}, ${delivery.id})`,
      );
      if (!delivery.delivered) failed.push(`${delivery.url} (${delivery.result})`);
    }
    if (!failed.length) return undefined;
    const message = `Webhook not delivered: ${failed.join(', ')}.`;
    if (webhook.failure === 'fail') return message;
    core.warning(
      `${message} The deploy itself is done; set \`webhook_failure: fail\` to fail the step instead.`,
    );
    return undefined;
  }
}

/** The JSON body every webhook receiver gets. */
export function webhookPayload(report: RunReport): unknown {
  return {
    service: report.service,
    project: report.project,
    status: report.healthy ? 'success' : 'failure',
    healthy: report.healthy,
    digest: report.digest,
    image: report.image,
    commit: { sha: report.sha, ref: report.ref, repository: report.repository },
    run_url: report.runUrl,
    regions: Object.fromEntries(
      report.regions.map((r) => [
        r.region,
        {
          url: r.outcome?.url ?? null,
          revision: r.outcome?.revision ?? null,
          previous_revision: r.outcome?.previousRevision ?? null,
          traffic: r.outcome?.traffic ?? {},
          healthy: !r.failure && r.outcome?.healthy !== false,
          ...(r.failure ? { error: r.failure.split('\n')[0] } : {}),
        },
      ]),
    ),
  };
}
