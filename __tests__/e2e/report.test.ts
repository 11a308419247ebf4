// End to end, where people look (issue 8): the sticky PR comment, the job summary, GitHub
// Deployments, the commit status and signed post-deploy webhooks, against the emulated GitHub API
// and real HTTP receivers that verify signatures with the libraries receivers use.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { verify as verifyGitHub } from '@octokit/webhooks-methods';
import { admin, env } from '../helpers/emulator.js';
import { errorOf, type ActionRun, expectSuccess, deployImage } from '../helpers/action.js';
import { findLeaks } from '../helpers/leaks.js';
import { pushTestImage } from '../helpers/images.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function github(path: string, token = env('GITHUB_TOKEN')): Promise<Json> {
  const res = await fetch(`${env('GITHUB_API_URL')}/repos/${env('GITHUB_REPOSITORY')}${path}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return (await res.json()) as Json;
}

/** Every comment on the issue, page by page: the whole suite comments on the same pull request. */
async function allComments(issue: string): Promise<Json[]> {
  const comments: Json[] = [];
  for (let page = 1; ; page++) {
    const batch = (await github(`/issues/${issue}/comments?per_page=100&page=${page}`)) as unknown as Json[];
    comments.push(...batch);
    if (batch.length < 100) return comments;
  }
}

const pr = (): string => env('GITHUB_REF').split('/')[2]!;
const warnings = (run: ActionRun): string[] =>
  run.stdout.split('\n').filter((l) => l.startsWith('::warning::'));

let stable: string;
let next: string;

beforeAll(async () => {
  [stable, next] = await Promise.all([
    pushTestImage('report-stable', 'stable'),
    pushTestImage('report-next', 'next'),
  ]);
});

describe('the sticky PR comment', () => {
  it('two runs on the same PR leave exactly one comment, updated in place, naming the second revision', async () => {
    const first = await deployImage('e2e-comment', stable);
    expectSuccess(first);
    const second = await deployImage('e2e-comment', next);
    expectSuccess(second);
    const comments = await allComments(pr());
    const ours = comments.filter((c) => String(c.body).includes('runway:comment service=e2e-comment '));
    expect(ours).toHaveLength(1);
    const body = String(ours[0]!.body);
    expect(body).toContain(`\`${second.outputs.revision}\``);
    expect(body).toContain(`[${second.outputs.url}](${second.outputs.url})`);
    expect(body).toContain('✅ healthy (HTTP 200');
    expect(body).toContain('<details><summary>Earlier runs (1)</summary>');
    expect(body).toContain(`\`${first.outputs.revision}\` healthy`);
    expect(ours[0]!.user.type).toBe('Bot');
  });

  it('a token without pull-requests: write gives a warning naming it, and a green step', async () => {
    const readOnly = 'ghs_reportReadOnly0000000000000000000000';
    await admin.seed({
      github: {
        tokenPermissions: { [readOnly]: { pull_requests: 'read', issues: 'read', statuses: 'write' } },
      },
    });
    const run = await deployImage('e2e-comment-ro', stable, { github_token: readOnly });
    expectSuccess(run);
    expect(run.outputs.healthy).toBe('true');
    expect(warnings(run).join('\n')).toContain('pull-requests: write');
    expect(run.summary).toContain('✅ deployed and healthy');
  });
});

describe('the job summary', () => {
  it('holds the region table, the traffic before and after, and the timeline', async () => {
    const first = await deployImage('e2e-summary', stable, { comment: 'never' });
    expectSuccess(first);
    const run = await deployImage('e2e-summary', next, { comment: 'never' });
    expectSuccess(run);
    expect(run.summary).toContain('| region | URL | revision | previous | digest | health | traffic now |');
    expect(run.summary).toContain(
      `| us-central1 | [${run.outputs.url}](${run.outputs.url}) | \`${run.outputs.revision}\` | \`${first.outputs.revision}\` |`,
    );
    expect(run.summary).toContain(
      `- us-central1: \`${first.outputs.revision}\` 100% → \`${run.outputs.revision}\` 100%`,
    );
    for (const stage of ['authenticate', 'preflight', 'resolve image', 'deploy and verify'])
      expect(run.summary).toMatch(new RegExp(`\\| ${stage} \\| \\d+\\.\\d s \\|`));
    for (const phase of ['deploy and ready', 'verify on tag', 'promote', 'verify live', 'clean up'])
      expect(run.summary).toMatch(new RegExp(`\\| us-central1: ${phase} \\| \\d+\\.\\d s \\|`));
  });

  it('that cannot be written (no $GITHUB_STEP_SUMMARY, as in a local run) is a warning, not a failure', async () => {
    const run = await deployImage(
      'e2e-no-summary',
      stable,
      { comment: 'never' },
      { GITHUB_STEP_SUMMARY: '' },
    );
    expectSuccess(run);
    expect(warnings(run).join('\n')).toContain('Could not write the job summary');
  });

  it('says what failed, what was rolled back and what serves now', async () => {
    const good = await deployImage('e2e-summary-fail', stable, { comment: 'never' });
    expectSuccess(good);
    const bad = await deployImage('e2e-summary-fail', next, { comment: 'never', health_check_path: '/nope' });
    expect(bad.exitCode).toBe(1);
    expect(bad.summary).toContain('❌ failed');
    expect(bad.summary).toContain('**What failed**');
    expect(bad.summary).toContain(`  - rolled back; serving now: \`${good.outputs.revision}\` 100%`);
  });
});

describe('GitHub Deployments and the commit status', () => {
  it('go in_progress → success with the URLs, retire the previous deployment, and gate on health', async () => {
    const inputs = {
      comment: 'never',
      deployment_environment: 'e2e-staging',
      status_context: 'runway/e2e-deploys',
    };
    const first = await deployImage('e2e-deployments', stable, inputs);
    expectSuccess(first);
    const second = await deployImage('e2e-deployments', next, inputs);
    expectSuccess(second);
    const deployments = (await github('/deployments?environment=e2e-staging')) as unknown as Json[];
    expect(deployments).toHaveLength(2);
    const [newer, older] = [...deployments].sort((a, b) => b.id - a.id);
    expect(newer).toMatchObject({
      environment: 'e2e-staging',
      sha: env('GITHUB_SHA'),
      production_environment: false,
      transient_environment: false,
    });
    const states = async (d: Json): Promise<Json[]> =>
      (await github(`/deployments/${d.id}/statuses`)) as unknown as Json[];
    const newerStates = await states(newer!);
    expect(newerStates.map((s) => s.state).sort()).toEqual(['in_progress', 'success']);
    expect(newerStates.find((s) => s.state === 'success')).toMatchObject({
      environment_url: second.outputs.url,
      log_url: `https://github.com/${env('GITHUB_REPOSITORY')}/actions/runs/${env('GITHUB_RUN_ID')}`,
    });
    expect((await states(older!)).map((s) => s.state)).toContain('inactive');

    const statuses = (await github(`/commits/${env('GITHUB_SHA')}/statuses`)) as unknown as Json[];
    const ours = statuses.filter((s) => s.context === 'runway/e2e-deploys');
    expect(ours[0]).toMatchObject({ state: 'success' });

    const bad = await deployImage('e2e-deployments', next, {
      ...inputs,
      health_check_path: '/nope',
      env_vars: 'X=1',
    });
    expect(bad.exitCode).toBe(1);
    const after = (await github(`/commits/${env('GITHUB_SHA')}/statuses`)) as unknown as Json[];
    expect(after.find((s) => s.context === 'runway/e2e-deploys')).toMatchObject({ state: 'failure' });
    const latest = [...((await github('/deployments?environment=e2e-staging')) as unknown as Json[])].sort(
      (a, b) => b.id - a.id,
    )[0]!;
    expect((await states(latest)).map((s) => s.state)).toContain('failure');
  });
});

interface Receiver {
  url: string;
  deliveries: Array<{ headers: http.IncomingHttpHeaders; body: string; accepted: boolean }>;
  close(): Promise<void>;
}

/** A webhook receiver on loopback answering `statuses` in turn (the last one from then on). */
async function receiver(statuses: number[], secret: string, token: string): Promise<Receiver> {
  const deliveries: Receiver['deliveries'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const status = statuses[Math.min(deliveries.length, statuses.length - 1)]!;
        let accepted = false;
        if (status === 200) {
          const standard = new Webhook(Buffer.from(secret).toString('base64'));
          standard.verify(body, req.headers as Record<string, string>);
          const githubOk = await verifyGitHub(secret, body, String(req.headers['x-hub-signature-256']));
          accepted = githubOk && req.headers.authorization === `Bearer ${token}`;
        }
        deliveries.push({ headers: req.headers, body, accepted });
        res.writeHead(accepted || status !== 200 ? status : 401);
        res.end();
      })();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/deploy`,
    deliveries,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

describe('post-deploy webhooks', () => {
  const secret = 'whk-secret-0123456789-abcdef';
  const token = 'whk-token-0123456789-abcdef';

  it('a receiver that verifies both signatures gets exactly one accepted delivery after two 503s, one webhook-id', async () => {
    const hook = await receiver([503, 503, 200], secret, token);
    try {
      const run = await deployImage('e2e-webhook', stable, {
        comment: 'never',
        webhook_url: hook.url,
        webhook_secret: secret,
        webhook_token: token,
      });
      expectSuccess(run);
      expect(hook.deliveries.map((d) => d.accepted)).toEqual([false, false, true]);
      const ids = new Set(hook.deliveries.map((d) => d.headers['webhook-id']));
      expect(ids.size).toBe(1);
      const payload = JSON.parse(hook.deliveries[2]!.body) as Json;
      expect(payload).toMatchObject({
        service: 'e2e-webhook',
        status: 'success',
        healthy: true,
        digest: run.outputs.digest,
        commit: { sha: env('GITHUB_SHA'), repository: env('GITHUB_REPOSITORY') },
        regions: { 'us-central1': { url: run.outputs.url, revision: run.outputs.revision } },
      });
      expect(findLeaks(run, [secret, token])).toEqual([]);
      expect(run.stdout).toContain('webhook http://127.0.0.1:');
    } finally {
      await hook.close();
    }
  });

  it('a receiver that always fails gives a warning, or a failed step with webhook_failure: fail', async () => {
    const hook = await receiver([500], secret, token);
    try {
      const inputs = {
        comment: 'never',
        webhook_url: hook.url,
        webhook_secret: secret,
        webhook_token: token,
      };
      const warned = await deployImage('e2e-webhook-down', stable, inputs);
      expectSuccess(warned);
      expect(warnings(warned).join('\n')).toContain('Webhook not delivered');
      const failed = await deployImage('e2e-webhook-down', next, { ...inputs, webhook_failure: 'fail' });
      expect(failed.exitCode).toBe(1);
      expect(failed.outputs.healthy).toBe('true');
      expect(errorOf(failed)).toContain('Webhook not delivered');
      expect(findLeaks(warned, [secret, token])).toEqual([]);
      expect(findLeaks(failed, [secret, token])).toEqual([]);
    } finally {
      await hook.close();
    }
  });

  it('refuses a plain-http receiver off loopback before anything changes', async () => {
    const before = (await admin.requests()).length;
    const run = await deployImage('e2e-webhook-bad', stable, {
      webhook_url: 'http://hooks.example.com/deploy',
    });
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toContain("Input 'webhook_url' is invalid");
    const changes = (await admin.requests()).slice(before).filter((r) => r.method !== 'GET');
    expect(changes).toEqual([]);
  });
});
