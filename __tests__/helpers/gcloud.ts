// Runs the installed gcloud as a user would after `set -a; . ENV_FILE; set +a`: the emulator's env
// file is sourced by bash, nothing else configures gcloud, and HOME is a fresh directory so no
// configuration of the machine's user takes part.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { env } from './emulator.js';
import { buildTestImage, pushImage } from './images.js';

export interface GcloudRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Where gcloud is, or undefined when it is not on PATH. */
export function findGcloud(): string | undefined {
  try {
    return execFileSync('bash', ['-c', 'command -v gcloud'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * `describe` when gcloud is installed, else `describe.skip` after printing, outside Jest's console
 * decoration, one line naming the suite and how to install gcloud.
 */
export function gcloudSuite(name: string): jest.Describe {
  if (findGcloud()) return describe;
  process.stdout.write(
    `${name} skipped: gcloud is not on PATH; install the Google Cloud CLI (apt-get install google-cloud-cli, or https://cloud.google.com/sdk/docs/install) to run it.\n`,
  );
  return describe.skip;
}

const home = mkdtempSync(join(tmpdir(), 'runway-gcloud-home-'));

/**
 * `gcloud ARGS` with the env file sourced; `owner` points it at the project owner's credentials
 * (RUNWAY_EMULATOR_OWNER_CREDENTIALS) for the setup steps a deployer may not take.
 */
export async function gcloud(
  args: string[],
  options: { input?: string; owner?: boolean } = {},
): Promise<GcloudRun> {
  const file = process.env.RUNWAY_EMULATOR_ENV_FILE!;
  const owner = options.owner
    ? 'export CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE="$RUNWAY_EMULATOR_OWNER_CREDENTIALS"; '
    : '';
  const script = `set -a; . "$0"; set +a; ${owner}exec gcloud "$@"`;
  const child = spawn('bash', ['-c', script, file, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(options.input ?? '');
  const code = await new Promise<number>((done) => child.on('close', (c) => done(c ?? -1)));
  return { code, stdout, stderr };
}

/** `gcloud ARGS --format json`, parsed; fails the test with gcloud's own words otherwise. */
export async function gcloudJson<T = Record<string, any>>( // eslint-disable-line @typescript-eslint/no-explicit-any
  args: string[],
  options: { input?: string; owner?: boolean } = {},
): Promise<T> {
  const run = await gcloud([...args, '--format', 'json', '--quiet'], options);
  if (run.code !== 0) throw new Error(`gcloud ${args.join(' ')} exited ${run.code}:\n${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** Builds the test app serving `body` and pushes it after `docker login` with gcloud's token. */
export async function pushWithGcloudToken(name: string, body: string): Promise<string> {
  const repository = env('RUNWAY_EMULATOR_REPOSITORY');
  const token = (await gcloud(['auth', 'print-access-token'])).stdout.trim();
  await buildTestImage({ tag: `${repository}/${name}:v1`, body });
  const digest = await pushImage(repository, name, 'v1', token);
  return `${repository}/${name}@${digest}`;
}
