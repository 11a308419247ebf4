// Runs google-github-actions/deploy-cloudrun (the action Runway replaces) the way a workflow step
// runs it: its released dist/main/index.js on Node 24, inputs as INPUT_* variables (with the
// defaults of its action.yml, as the runner fills them in), outputs through $GITHUB_OUTPUT, and the
// credentials file google-github-actions/auth would have left in GOOGLE_GHA_CREDS_PATH. Its
// setup-cloud-sdk finds the installed gcloud in RUNNER_TOOL_CACHE (gcloud/VERSION/ARCH plus
// ARCH.complete, as @actions/tool-cache lays a tool out), so it downloads nothing.
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { COMPILE_CACHE, parseOutputFile } from './action.js';
import { emulatorEnv } from './emulator.js';
import { findGcloud } from './gcloud.js';

const root = resolve(import.meta.dirname ?? '.', '..', '..');

/** The variable that names another copy of the peer: its dist/main/index.js, or its folder. */
export const PEER_VARIABLE = 'RUNWAY_PEER_DEPLOY_CLOUDRUN';

/** Where the peer's entry point is: $RUNWAY_PEER_DEPLOY_CLOUDRUN, else the project's shared copy. */
export function peerEntry(): string {
  const given = process.env[PEER_VARIABLE];
  const path = resolve(given || join(root, '..', 'shared', 'peers', 'deploy-cloudrun-v3.0.1'));
  return existsSync(path) && statSync(path).isDirectory() ? join(path, 'dist', 'main', 'index.js') : path;
}

/**
 * Why the peer cannot run here, in one line that says how to provide what is missing; undefined
 * when both the peer and gcloud are present.
 */
export function peerMissing(): string | undefined {
  const entry = peerEntry();
  if (!existsSync(entry))
    return `deploy-cloudrun is not at ${entry}; unpack a release of google-github-actions/deploy-cloudrun (its action.yml and dist/) there, or set ${PEER_VARIABLE} to its dist/main/index.js.`;
  if (!findGcloud())
    return 'gcloud is not on PATH; install the Google Cloud CLI (apt-get install google-cloud-cli, or https://cloud.google.com/sdk/docs/install).';
  return undefined;
}

/**
 * `describe` when the peer can run, else `describe.skip` after printing, outside Jest's console
 * decoration, one line naming the suite, what is missing and how to provide it.
 */
export function peerSuite(name: string): jest.Describe {
  const missing = peerMissing();
  if (!missing) return describe;
  process.stdout.write(`${name} skipped: ${missing}\n`);
  return describe.skip;
}

interface InstalledGcloud {
  version: string;
  sdkRoot: string;
  /** RUNNER_TOOL_CACHE holding gcloud/VERSION/ARCH -> sdkRoot. */
  toolCache: string;
}

let installed: InstalledGcloud | undefined;

/** The installed gcloud's version and SDK root, and a tool cache that holds it (made once). */
export function installedGcloud(): InstalledGcloud {
  if (installed) return installed;
  // gcloud's own state stays out of the user's home.
  const env = { ...process.env, CLOUDSDK_CONFIG: mkdtempSync(join(tmpdir(), 'runway-gcloud-config-')) };
  const run = (args: string[]): string => execFileSync('gcloud', args, { env, encoding: 'utf8' });
  const version = (JSON.parse(run(['version', '--format=json'])) as Record<string, string>)[
    'Google Cloud SDK'
  ];
  const sdkRoot = run(['info', '--format=value(installation.sdk_root)']).trim();
  if (!version || !sdkRoot)
    throw new Error(`gcloud did not say its version (${version}) and root (${sdkRoot})`);
  const toolCache = mkdtempSync(join(tmpdir(), 'runway-tool-cache-'));
  // @actions/tool-cache: TOOL/VERSION/ARCH is the tool, and ARCH.complete marks it installed.
  const versionDir = join(toolCache, 'gcloud', version);
  mkdirSync(versionDir, { recursive: true });
  linkGcloud(sdkRoot, join(versionDir, arch()));
  writeFileSync(join(versionDir, `${arch()}.complete`), '');
  installed = { version, sdkRoot, toolCache };
  return installed;
}

/**
 * The SDK at `path`: a link to sdkRoot, or, while the suite serves gcloud from a forked interpreter
 * (RUNWAY_GCLOUD_FORK_BIN, setup/global-setup.ts), a folder of links to sdkRoot's parts whose
 * bin/gcloud goes through it, as every other gcloud call of the suite does.
 */
function linkGcloud(sdkRoot: string, path: string): void {
  const fork = process.env.RUNWAY_GCLOUD_FORK_BIN;
  if (!fork) return symlinkSync(sdkRoot, path);
  mkdirSync(join(path, 'bin'), { recursive: true });
  for (const entry of readdirSync(sdkRoot))
    if (entry !== 'bin') symlinkSync(join(sdkRoot, entry), join(path, entry));
  for (const entry of readdirSync(join(sdkRoot, 'bin')))
    symlinkSync(join(entry === 'gcloud' ? fork : join(sdkRoot, 'bin'), entry), join(path, 'bin', entry));
}

/** The runner's INPUT_* for every input the peer's action.yml declares with a default. */
function actionDefaults(entry: string): Record<string, string> {
  const file = join(dirname(entry), '..', '..', 'action.yml');
  if (!existsSync(file)) return {};
  const action = parseYaml(readFileSync(file, 'utf8')) as { inputs?: Record<string, { default?: unknown }> };
  const defaults: Record<string, string> = {};
  for (const [name, input] of Object.entries(action.inputs ?? {}))
    if (input?.default !== undefined) defaults[name] = String(input.default);
  return defaults;
}

export interface PeerRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  /** The gcloud commands it ran, as it logs them (`Running: gcloud …`). */
  commands: string[];
  /** Its failure message (`::error::`), with line breaks; '' when it did not fail. */
  error: string;
  /** What it added to PATH through $GITHUB_PATH. */
  path: string[];
}

/** The runner's name for an input's variable. */
const inputVariable = (name: string): string => `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;

/**
 * Runs the peer with `inputs` (gcloud_version defaults to the installed one), as the emulator's
 * deployer, with a fresh home, gcloud configuration and runner directories of its own.
 */
export async function runPeer(
  inputs: Record<string, string>,
  extraEnv: Record<string, string> = {},
  /** A command the peer's node runs under (the benchmark's peak-RSS wrapper). */
  launcher: string[] = [],
): Promise<PeerRun> {
  const entry = peerEntry();
  const gcloud = installedGcloud();
  const dir = mkdtempSync(join(tmpdir(), 'runway-peer-'));
  const files = Object.fromEntries(
    ['output', 'env', 'path', 'state', 'summary'].map((name) => {
      writeFileSync(join(dir, name), '');
      return [name, join(dir, name)];
    }),
  ) as Record<'output' | 'env' | 'path' | 'state' | 'summary', string>;
  const workspace = join(dir, 'workspace');
  const home = join(dir, 'home');
  mkdirSync(workspace);
  mkdirSync(home);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    ...emulatorEnv(),
    // The step's own gcloud state, as on a fresh runner: `gcloud auth login --cred-file` writes here.
    CLOUDSDK_CONFIG: join(home, '.config', 'gcloud'),
    RUNNER_TOOL_CACHE: gcloud.toolCache,
    RUNNER_TEMP: dir,
    RUNNER_OS: 'Linux',
    GITHUB_WORKSPACE: workspace,
    GITHUB_ACTION: 'deploy-cloudrun',
    GITHUB_OUTPUT: files.output,
    GITHUB_ENV: files.env,
    GITHUB_PATH: files.path,
    GITHUB_STATE: files.state,
    GITHUB_STEP_SUMMARY: files.summary,
    NODE_COMPILE_CACHE: COMPILE_CACHE,
    ...extraEnv,
  };
  const given = { gcloud_version: gcloud.version, ...inputs };
  for (const [name, value] of Object.entries({ ...actionDefaults(entry), ...given }))
    env[inputVariable(name)] = value;
  const command = [...launcher, join(root, 'node_modules/.bin/node'), entry];
  const child = spawn(command[0]!, command.slice(1), { cwd: workspace, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end();
  const exitCode = await new Promise<number>((done) => child.on('close', (code) => done(code ?? -1)));
  const lines = stdout.split('\n');
  const error = lines.filter((l) => l.startsWith('::error::')).pop() ?? '';
  return {
    exitCode,
    stdout,
    stderr,
    outputs: parseOutputFile(readFileSync(files.output, 'utf8')),
    commands: lines.filter((l) => l.startsWith('Running: ')).map((l) => l.slice('Running: '.length)),
    error: error.slice('::error::'.length).replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%'),
    path: readFileSync(files.path, 'utf8').split('\n').filter(Boolean),
  };
}

/** Fails the test with the peer's whole log when it did not exit 0. */
export function expectPeerSuccess(run: PeerRun): void {
  if (run.exitCode !== 0)
    throw new Error(`deploy-cloudrun failed (${run.exitCode}):\n${run.stdout}\n${run.stderr}`);
}
