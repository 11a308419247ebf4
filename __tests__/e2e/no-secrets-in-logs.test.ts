// End to end: no secret in logs (issue 7 §6). A canary value planted in every input that can carry
// a secret must reach the container where it belongs and appear nowhere the action leaves behind:
// log (debug lines included), outputs, job summary, files in RUNNER_TEMP. Bad input that holds the
// canary fails naming the input and the line, never echoing it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { admin, env } from '../helpers/emulator.js';
import { deployApp, deployImage, errorOf, type ActionRun } from '../helpers/action.js';
import { pushTestImage } from '../helpers/images.js';
import { findLeaks, leaksAfterRun } from '../helpers/leaks.js';
import { accessTokenFor, githubOidcToken } from '../helpers/auth.js';
import { spawnSync } from 'node:child_process';

const canary = (label: string): string => `canary-${label}-${randomBytes(6).toString('hex')}`;

function envFile(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'runway-canary-')), 'app.env');
  writeFileSync(path, content);
  return path;
}

const debug = { RUNNER_DEBUG: '1', ACTIONS_STEP_DEBUG: 'true' };

describe('canary values in every input that can carry a secret', () => {
  it('reach the container and appear nowhere in the log, outputs, summary or RUNNER_TEMP', async () => {
    const canaries = {
      envVar: canary('env'),
      envFile: canary('file'),
      buildArg: canary('arg'),
      secretValue: canary('secret'),
    };
    await admin.seed({
      secrets: [
        {
          project: env('RUNWAY_EMULATOR_PROJECT'),
          name: 'e2e-canary',
          versions: [{ data: canaries.secretValue }],
        },
      ],
    });
    const run = await deployApp(
      'e2e-canary',
      'canary',
      {
        env_vars: `API_TOKEN=${canaries.envVar}`,
        env_vars_file: envFile(`FILE_TOKEN=${canaries.envFile}\n`),
        build_args: `BUILD_TOKEN=${canaries.buildArg}`,
        secrets: 'SECRET_TOKEN=e2e-canary:latest',
      },
      {},
      debug,
    );
    if (run.exitCode !== 0) throw new Error(`${run.stdout}\n${run.stderr}`);
    const inside = await (await fetch(`${run.outputs.url}/cgi-bin/env`)).text();
    expect(inside).toContain(`API_TOKEN=${canaries.envVar}`);
    expect(inside).toContain(`FILE_TOKEN=${canaries.envFile}`);
    expect(inside).toContain(`SECRET_TOKEN=${canaries.secretValue}`);
    expect(findLeaks(run, Object.values(canaries))).toEqual([]);
  });

  it('in bad input: the error names the input and where, never the value', async () => {
    const inEnvVars = canary('bad-env');
    const badEnvVars = await deployApp('e2e-canary-bad', 'x', { env_vars: `A=1,${inEnvVars}` });
    expect(badEnvVars.exitCode).toBe(1);
    expect(errorOf(badEnvVars)).toContain("Input 'env_vars' is invalid");
    expect(errorOf(badEnvVars)).toContain('entry 2 (line 1) has no "=VALUE"');
    expect(findLeaks(badEnvVars, [inEnvVars])).toEqual([]);

    const inFile = canary('bad-file');
    const badFile = await deployApp('e2e-canary-bad', 'x', {
      env_vars_file: envFile(`MODE: prod\nTOKEN: a: ${inFile}\n`),
    });
    expect(badFile.exitCode).toBe(1);
    expect(errorOf(badFile)).toMatch(/Input 'env_vars_file' is invalid: got ".*app\.env"/);
    expect(errorOf(badFile)).toContain('line 2');
    expect(findLeaks(badFile, [inFile])).toEqual([]);
  });

  it('in a secrets entry that is not a reference: refused naming the entry, never echoing it', async () => {
    const password = canary('Passw0rd');
    const run = await deployApp('e2e-canary-bad', 'x', { secrets: `DB_CREDS=admin:${password}` });
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toContain("Input 'secrets' is invalid");
    expect(errorOf(run)).toContain('DB_CREDS');
    expect(findLeaks(run, [password])).toEqual([]);
  });

  it("in a webhook URL's path (Slack, Discord): the log shows scheme and host only, delivered or not", async () => {
    const delivered = canary('slack-path');
    const undelivered = canary('discord-path');
    const received: string[] = [];
    const receiver = http.createServer((req, res) => {
      received.push(req.url ?? '');
      req.resume();
      res.writeHead(200).end();
    });
    await new Promise<void>((done) => receiver.listen(0, '127.0.0.1', done));
    const port = (receiver.address() as AddressInfo).port;
    try {
      const image = await pushTestImage('e2e-webhook-path', 'webhook path');
      const run = await deployImage('e2e-webhook-path', image, {
        comment: 'never',
        // The second receiver refuses connections: its retries and its warning name it too.
        webhook_url: `http://127.0.0.1:${port}/services/T0/B0/${delivered}\nhttp://127.0.0.1:1/api/webhooks/1/${undelivered}`,
      });
      expect(run.exitCode).toBe(0);
      expect(received).toEqual([`/services/T0/B0/${delivered}`]);
      expect(run.stdout).toContain(`webhook http://127.0.0.1:${port}: delivered`);
      expect(findLeaks(run, [delivered, undelivered])).toEqual([]);
    } finally {
      receiver.close();
    }
  });

  it('the scan itself finds a planted canary in the log, an output, the summary and RUNNER_TEMP', () => {
    const planted = canary('planted');
    const clean: ActionRun = {
      tempDir: mkdtempSync(join(tmpdir(), 'runway-scan-')),
      exitCode: 0,
      stdout: `::add-mask::${planted}\nall good\n`,
      stderr: '',
      outputs: { url: 'http://127.0.0.1:1' },
      summary: '',
    };
    expect(findLeaks(clean, [planted])).toEqual([]);
    expect(findLeaks({ ...clean, stdout: `a ${planted} b` }, [planted])).toEqual([`log: a ${planted} b`]);
    expect(findLeaks({ ...clean, outputs: { url: planted } }, [planted])).toEqual([`output url: ${planted}`]);
    expect(findLeaks({ ...clean, summary: `| ${planted} |` }, [planted])).toEqual([
      `summary: | ${planted} |`,
    ]);
    const file = join(clean.tempDir, 'docker', 'config.json');
    mkdirSync(join(clean.tempDir, 'docker'));
    writeFileSync(file, `{"auth":"${planted}"}`);
    expect(findLeaks(clean, [planted])).toEqual([`${file}: {"auth":"${planted}"}`]);
  });

  it('the scan every run goes through finds what the emulator issued, and a webhook token given', async () => {
    const token = await accessTokenFor();
    const oidc = await githubOidcToken();
    const workspace = mkdtempSync(join(tmpdir(), 'runway-workspace-'));
    spawnSync('git', ['init', '-q'], { cwd: workspace });
    const clean: ActionRun = {
      tempDir: mkdtempSync(join(tmpdir(), 'runway-scan-')),
      exitCode: 0,
      stdout: 'all good\n',
      stderr: '',
      outputs: {},
      summary: '',
    };
    expect(await leaksAfterRun(clean, {}, workspace)).toEqual([]);
    expect(await leaksAfterRun({ ...clean, stdout: `token ${token}` }, {}, workspace)).toEqual([
      `log: token ${token}`,
    ]);
    expect(await leaksAfterRun({ ...clean, summary: oidc }, {}, workspace)).toEqual([
      `summary: ${oidc.slice(0, 200)}`,
    ]);
    const webhookToken = canary('webhook-token');
    expect(
      await leaksAfterRun(
        { ...clean, outputs: { x: webhookToken } },
        { webhook_token: webhookToken },
        workspace,
      ),
    ).toEqual([`output x: ${webhookToken}`]);
    writeFileSync(join(workspace, 'left-behind.json'), `{"token":"${token}"}`);
    expect(await leaksAfterRun(clean, {}, workspace)).toEqual([
      `workspace left-behind.json: {"token":"${token}"}`,
    ]);
  });
});
