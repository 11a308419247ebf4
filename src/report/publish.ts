// The report stage: the job summary (always), the sticky PR comment, the GitHub Deployment, the
// commit status and the post-deploy webhooks. Each reporter that fails becomes a warning naming the
// permission or fix; none fails a healthy deploy, except an undelivered webhook with
// `webhook_failure: fail`.
import * as core from '@actions/core';
import { getOctokit } from '@actions/github';
import { readFileSync } from 'node:fs';
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
  type Repo,
} from './github.js';
import type { RunReport } from './report.js';
import { renderReport } from './summary.js';
import { deliverWebhook, shouldSend } from './webhooks.js';

export interface GitHubEvent {
  name: string;
  repo: Repo;
  /** The pull request this run is for, if any. */
  pullRequest: number | undefined;
}

/** The event from the runner's environment: its name, the repository and the PR number. */
export function eventFromEnv(env: NodeJS.ProcessEnv = process.env): GitHubEvent {
  const [owner = '', repo = ''] = (env.GITHUB_REPOSITORY ?? '/').split('/');
  let pullRequest: number | undefined;
  try {
    const payload = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH ?? '', 'utf8')) as {
      pull_request?: { number?: number };
    };
    pullRequest = payload.pull_request?.number;
  } catch {
    pullRequest = undefined;
  }
  return { name: env.GITHUB_EVENT_NAME ?? '', repo: { owner, repo }, pullRequest };
}

/** The reporting session of one run: a client for GitHub (when a token exists) and what was started. */
export class Reporter {
  private readonly octokit: Octokit | undefined;
  private deployment: number | undefined;

  constructor(
    private readonly settings: ReportSettings,
    private readonly event: GitHubEvent,
    private readonly service: string,
    token = settings.githubToken ?? process.env.GITHUB_TOKEN,
  ) {
    this.octokit = token ? getOctokit(token) : undefined;
  }

  private async attempt(
    what: string,
    permission: string,
    fn: (octokit: Octokit) => Promise<void>,
  ): Promise<void> {
    if (!this.octokit) {
      core.warning(`Could not ${what}: no GitHub token (set \`github_token\`).`);
      return;
    }
    try {
      await fn(this.octokit);
    } catch (err) {
      core.warning(explainGitHubFailure(what, permission, err));
    }
  }

  /** Before anything changes: the commit status pending, and the deployment in progress. */
  async start(sha: string, runUrl: string): Promise<void> {
    await this.attempt('set the commit status', 'statuses', (o) =>
      setCommitStatus(
        o,
        this.event.repo,
        sha,
        this.settings.statusContext,
        'pending',
        'Deploying and verifying',
        runUrl,
      ),
    );
    const environment = this.settings.deploymentEnvironment;
    if (!environment) return;
    await this.attempt('create the deployment', 'deployments', async (o) => {
      this.deployment = await createDeployment(o, this.event.repo, {
        sha,
        environment,
        production: this.settings.productionEnvironment ?? environment === 'production',
        transient: false,
        description: `Runway: ${this.service}`,
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

  /** After the run: every report, from the same RunReport. Resolves to a failure message, if any. */
  async finish(report: RunReport): Promise<string | undefined> {
    const markdown = renderReport(report);
    try {
      await core.summary.addRaw(markdown, true).write();
    } catch (err) {
      // No $GITHUB_STEP_SUMMARY (a local run): the other reports still go out.
      core.warning(`Could not write the job summary: ${err instanceof Error ? err.message : String(err)}`);
    }
    const url = report.regions.find((r) => r.outcome?.url)?.outcome?.url;
    const verdict = report.healthy ? 'healthy' : 'failed';

    await this.attempt('set the commit status', 'statuses', (o) =>
      setCommitStatus(
        o,
        this.event.repo,
        report.sha,
        this.settings.statusContext,
        report.healthy ? 'success' : 'failure',
        report.healthy
          ? `Deployed ${this.service} and verified it healthy`
          : `Deploy of ${this.service} failed`,
        report.runUrl,
      ),
    );

    const deployment = this.deployment;
    const environment = this.settings.deploymentEnvironment;
    if (deployment !== undefined && environment) {
      await this.attempt('update the deployment', 'deployments', async (o) => {
        await setDeploymentStatus(
          o,
          this.event.repo,
          deployment,
          report.healthy ? 'success' : 'failure',
          { environment: report.healthy ? url : undefined, log: report.runUrl },
          report.healthy ? `${this.service} is ${verdict}` : `${this.service}: ${verdict}`,
        );
        if (report.healthy)
          await retireEarlierDeployments(o, this.event.repo, environment, deployment, report.runUrl);
      });
    }

    const wantsComment =
      this.settings.comment === 'always' ||
      (this.settings.comment === 'auto' && this.event.name.startsWith('pull_request'));
    const issue = this.event.pullRequest;
    if (wantsComment && issue !== undefined) {
      const marker = commentMarker(this.service, environment);
      const line = `run ${report.runUrl.split('/').pop()}: \`${report.regions[0]?.outcome?.revision ?? '—'}\` ${verdict} (${new Date().toISOString()})`;
      await this.attempt('comment on the pull request', 'pull-requests', async (o) => {
        await upsertStickyComment(o, this.event.repo, issue, marker, (previous) =>
          renderComment(marker, markdown, line, previous),
        );
      });
    } else if (wantsComment) {
      core.info('comment: this run is not for a pull request; the report is in the job summary');
    }

    return this.sendWebhooks(report);
  }

  private async sendWebhooks(report: RunReport): Promise<string | undefined> {
    const webhook = this.settings.webhook;
    if (!webhook || !shouldSend(webhook.on, report.healthy)) return undefined;
    const payload = webhookPayload(report);
    const failed: string[] = [];
    for (const url of webhook.urls) {
      const delivery = await deliverWebhook(url, payload, webhook);
      core.info(
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
