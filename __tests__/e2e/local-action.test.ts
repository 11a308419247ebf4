// Running locally: `npm run local-action` runs the action's TypeScript under @github/local-action
// with the emulator's env file, as docs/emulator.md's "Running locally" says, and what it deploys serves.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { appContext } from '../helpers/app-context.js';
import { admin } from '../helpers/emulator.js';

const root = resolve(import.meta.dirname ?? '.', '..', '..');

interface LocalRun {
  exitCode: number;
  log: string;
  dir: string;
  outputs: Record<string, string>;
}

/** `npm run local-action` with these INPUT_* lines, in a clean environment like a developer's shell. */
async function localAction(inputs: Record<string, string>): Promise<LocalRun> {
  const dir = mkdtempSync(join(tmpdir(), 'runway-local-action-'));
  const inputsFile = join(dir, 'inputs.env');
  writeFileSync(
    inputsFile,
    Object.entries(inputs)
      .map(([name, value]) => `INPUT_${name.toUpperCase()}=${value}\n`)
      .join(''),
  );
  const args = [join(root, 'scripts/local-action.sh'), '--env-file', process.env.RUNWAY_EMULATOR_ENV_FILE!];
  args.push('--inputs', inputsFile, '--dir', join(dir, 'run'));
  const child = spawn('bash', args, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' },
  });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exitCode = await new Promise<number>((done) => child.on('close', (code) => done(code ?? -1)));
  const outputs: Record<string, string> = {};
  for (const m of log.matchAll(/^::set-output name=(\w+)::(.*)$/gm)) outputs[m[1]!] = m[2]!;
  return { exitCode, log, dir: join(dir, 'run'), outputs };
}

describe('npm run local-action', () => {
  it('runs src/main.ts under @github/local-action against the emulator: builds, deploys, reports', async () => {
    const before = (await admin.requests()).length;
    const run = await localAction({
      service: 'e2e-local-action',
      context: appContext('deployed under local-action'),
      health_check_timeout: '20s',
      health_check_successes: '2',
    });
    if (run.exitCode !== 0) throw new Error(`local-action failed (${run.exitCode}):\n${run.log}`);
    expect(run.log).toContain('Running Action');
    expect(run.outputs.healthy).toBe('true');
    expect(run.outputs.revision).toMatch(/^e2e-local-action-\d{5}-[a-z]{3}$/);
    const served = await fetch(run.outputs.url!);
    expect((await served.text()).trim()).toBe('deployed under local-action');

    // Credentials came from the external_account file (OIDC → STS → impersonation), and the
    // reports went to the emulator's GitHub API, not to github.com.
    const calls = (await admin.requests()).slice(before);
    const apis = calls.map((c) => `${c.api} ${c.method} ${c.status}`);
    expect(apis).toEqual(
      expect.arrayContaining(['oidc GET 200', 'sts POST 200', 'iamcredentials POST 200', 'github POST 201']),
    );
    expect(readFileSync(join(run.dir, 'summary.md'), 'utf8')).toContain('`e2e-local-action`');
    expect(run.log).not.toContain('::warning::');
  });

  it('fails when the action fails, although local-action itself exits 0', async () => {
    const run = await localAction({ service: 'Not_A_Service_Name' });
    expect(run.exitCode).toBe(1);
    expect(run.log).toMatch(/^::error::Input 'service' is invalid/m);
    expect(run.log).toContain('local-action: the action failed');
  });
});
