// File inputs are resolved through symlinks before the workspace check (issue 18, finding 3): a
// checkout's `config/app.env -> /outside/secret.env` must not carry another file's content into the
// service's environment, and no path may read the runner's /proc/self/environ (its OIDC request
// token among it). Each case builds a real workspace with real symlinks and reads it through
// readSettings, as the Inputs stage does.
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeError, InputError } from '../../src/errors.js';
import { readSettings } from '../../src/inputs/inputs.js';

const SECRET_LINE = 'OUTSIDE_TOKEN=outside-secret-0d7c2e';

let workspace: string;
let outside: string;
const saved = process.env.GITHUB_WORKSPACE;
const savedCwd = process.cwd();

beforeEach(() => {
  workspace = mkdtempSync(join(tmpdir(), 'runway-ws-'));
  outside = mkdtempSync(join(tmpdir(), 'runway-outside-'));
  writeFileSync(join(outside, 'secret.env'), `${SECRET_LINE}\n`);
  writeFileSync(join(outside, 'Dockerfile'), 'FROM scratch\n');
  mkdirSync(join(workspace, 'config'));
  mkdirSync(join(workspace, 'app'));
  writeFileSync(join(workspace, 'config', 'own.env'), 'MODE=prod\n');
  writeFileSync(join(workspace, 'app', 'Dockerfile'), 'FROM scratch\n');
  // As on a runner: the step runs in the workspace.
  process.env.GITHUB_WORKSPACE = workspace;
  process.chdir(workspace);
});

afterAll(() => {
  process.chdir(savedCwd);
  if (saved === undefined) delete process.env.GITHUB_WORKSPACE;
  else process.env.GITHUB_WORKSPACE = saved;
});

const deploy = { service: 'hello', image: 'us-docker.pkg.dev/p/r/app:1' };
const build = { service: 'hello', context: 'app', repository: 'us-docker.pkg.dev/p/r' };

function refusal(inputs: Record<string, string>): InputError {
  try {
    readSettings((name) => inputs[name] ?? '');
  } catch (err) {
    if (err instanceof InputError) return err;
    throw err;
  }
  throw new Error(`accepted ${JSON.stringify(inputs)}`);
}

describe('file inputs are resolved through symlinks before the workspace check', () => {
  it('refuses an env_vars_file symlinked out of the workspace, without reading it', () => {
    symlinkSync(join(outside, 'secret.env'), join(workspace, 'config', 'app.env'));
    const err = refusal({ ...deploy, env_vars_file: 'config/app.env' });
    expect(err.input).toBe('env_vars_file');
    expect(err.fix).toMatch(/inside the workspace.*a symlink may not lead out of it/);
    expect(describeError(err)).not.toContain('outside-secret');
  });

  it('refuses a symlinked directory on the way out, and `link/..` read as the kernel reads it', () => {
    symlinkSync(outside, join(workspace, 'config', 'shared'));
    expect(refusal({ ...deploy, env_vars_file: 'config/shared/secret.env' }).input).toBe('env_vars_file');
    mkdirSync(join(outside, 'deeper'));
    symlinkSync(join(outside, 'deeper'), join(workspace, 'config', 'deep'));
    // Lexically config/secret.env (absent); the kernel reads OUTSIDE/secret.env.
    expect(refusal({ ...deploy, env_vars_file: 'config/deep/../secret.env' }).fix).toMatch(/symlink/);
  });

  it('refuses an absolute path into the workspace that a symlink leads out of', () => {
    symlinkSync(join(outside, 'secret.env'), join(workspace, 'config', 'app.env'));
    const err = refusal({ ...deploy, env_vars_file: join(workspace, 'config', 'app.env') });
    expect(err.input).toBe('env_vars_file');
  });

  it.each(['/proc/self/environ', '/proc/1/environ', '/dev/stdin', '/sys/kernel/hostname'])(
    'refuses %s outright',
    (path) => {
      const err = refusal({ ...deploy, env_vars_file: path });
      expect(err.input).toBe('env_vars_file');
      expect(err.fix).toContain('/proc, /sys and /dev are never read');
    },
  );

  it('refuses a symlink in the workspace to /proc/self/environ', () => {
    symlinkSync('/proc/self/environ', join(workspace, 'config', 'app.env'));
    const err = refusal({ ...deploy, env_vars_file: 'config/app.env' });
    expect(err.input).toBe('env_vars_file');
    expect(describeError(err)).not.toMatch(/ACTIONS_ID_TOKEN|PATH=/);
  });

  it('refuses a dockerfile symlinked out of the workspace', () => {
    symlinkSync(join(outside, 'Dockerfile'), join(workspace, 'app', 'Dockerfile.prod'));
    expect(refusal({ ...build, dockerfile: 'app/Dockerfile.prod' }).input).toBe('dockerfile');
  });

  it("refuses a context's own Dockerfile symlinked out of the workspace (no `dockerfile` given)", () => {
    mkdirSync(join(workspace, 'linked-app'));
    symlinkSync(join(outside, 'Dockerfile'), join(workspace, 'linked-app', 'Dockerfile'));
    expect(refusal({ ...build, context: 'linked-app' }).input).toBe('dockerfile');
  });

  it('refuses a context symlinked out of the workspace', () => {
    symlinkSync(outside, join(workspace, 'ctx'));
    expect(refusal({ ...build, context: 'ctx' }).input).toBe('context');
  });

  it('accepts symlinks that stay inside the workspace, and reads through them', () => {
    symlinkSync(join(workspace, 'config', 'own.env'), join(workspace, 'config', 'app.env'));
    symlinkSync(join(workspace, 'app'), join(workspace, 'app-link'));
    const s = readSettings(
      (name) => ({ ...build, context: 'app-link', env_vars_file: 'config/app.env' })[name] ?? '',
    );
    expect(s.spec.envVars).toEqual({ MODE: 'prod' });
    expect(s.image).toMatchObject({ kind: 'build', context: realpathSync(join(workspace, 'app')) });
  });

  it('accepts a file the workflow names by its absolute path outside the workspace (e.g. RUNNER_TEMP)', () => {
    const s = readSettings((name) => ({ ...deploy, env_vars_file: join(outside, 'secret.env') })[name] ?? '');
    expect(s.spec.envVars).toEqual({ OUTSIDE_TOKEN: 'outside-secret-0d7c2e' });
  });

  it('names the input when the path does not exist or is not a file', () => {
    expect(refusal({ ...deploy, env_vars_file: 'config/missing.env' }).fix).toContain('ENOENT');
    expect(refusal({ ...deploy, env_vars_file: 'config' }).fix).toContain('a directory');
  });
});
