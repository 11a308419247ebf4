import { mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  readSettings,
  parseRegions,
  parseDurationSeconds,
  readEnvVarsFile,
} from '../../src/inputs/inputs.js';
import { describeError, InputError, RunwayError } from '../../src/errors.js';

const provider = 'projects/123456789012/locations/global/workloadIdentityPools/github/providers/runway';

function reader(values: Record<string, string>): (name: string) => string {
  return (name) => values[name] ?? '';
}

const minimal = { service: 'hello', image: 'us-docker.pkg.dev/p/r/app:1' };

describe('readSettings', () => {
  it('reads a minimal configuration with defaults', () => {
    const s = readSettings(reader(minimal));
    expect(s.service).toBe('hello');
    expect(s.regions).toEqual(['us-central1']);
    expect(s.image).toEqual({ kind: 'prebuilt', ref: 'us-docker.pkg.dev/p/r/app:1' });
    expect(s.envVarsUpdateStrategy).toBe('merge');
    expect(s.deployTimeoutSeconds).toBe(600);
    expect(s.spec).toEqual({});
    expect(s.traffic).toBe('verified');
    expect(s.rollback).toBe(true);
    expect(s.healthCheck).toMatchObject({
      path: '/',
      expectedStatus: [[200, 299]],
      successes: 3,
      timeoutSeconds: 120,
    });
  });

  it('reads a build configuration', () => {
    const s = readSettings(
      reader({
        service: 'hello',
        context: '.',
        repository: 'us-docker.pkg.dev/p/r',
        build_args: 'A=1\nB=2',
        build_secrets: 'npm=tok-123\ngit.token=abc',
        builder: 'builder-1',
      }),
    );
    expect(s.image).toEqual({
      kind: 'build',
      context: realpathSync(process.env.GITHUB_WORKSPACE || process.cwd()),
      dockerfile: undefined,
      repository: 'us-docker.pkg.dev/p/r',
      buildArgs: { A: '1', B: '2' },
      secrets: { npm: 'tok-123', 'git.token': 'abc' },
      target: undefined,
      platform: undefined,
      cache: true,
      builder: 'builder-1',
      forkCredentials: false,
    });
  });

  it.each([
    [{ ...minimal, service: 'Hello' }, 'service'],
    [{ ...minimal, service: '' }, 'service'],
    [{ ...minimal, region: 'us central' }, 'region'],
    [{ ...minimal, project_id: 'X' }, 'project_id'],
    [{ ...minimal, workload_identity_provider: 'my-pool' }, 'workload_identity_provider'],
    [{ ...minimal, workload_identity_provider: provider, service_account: 'deployer' }, 'service_account'],
    [{ ...minimal, service_account: 'd@p.iam.gserviceaccount.com' }, 'workload_identity_provider'],
    [{ ...minimal, env_vars_update_strategy: 'replace' }, 'env_vars_update_strategy'],
    [{ ...minimal, allow_unauthenticated: 'yes' }, 'allow_unauthenticated'],
    [{ ...minimal, port: '70000' }, 'port'],
    [{ ...minimal, deploy_timeout: 'soon' }, 'deploy_timeout'],
    [{ ...minimal, suffix: 'Bad_Suffix' }, 'suffix'],
    [{ ...minimal, context: '.' }, 'image'],
    [{ service: 'hello', context: '.' }, 'repository'],
    [{ service: 'hello' }, 'image'],
    [{ ...minimal, env_vars: '=x' }, 'env_vars'],
    [{ service: 'hello', context: '.', repository: '-h/p/r' }, 'repository'],
    [{ service: 'hello', context: '--file=/etc/passwd', repository: 'h/p/r' }, 'context'],
    [{ service: 'hello', context: '.', repository: 'h/p/r', dockerfile: '-f' }, 'dockerfile'],
    [{ service: 'hello', context: '.', repository: 'h/p/r', build_args: 'PATH=/tmp' }, 'build_args'],
    [{ service: 'hello', context: '.', repository: 'h/p/r', build_args: 'DOCKER_HOST=x' }, 'build_args'],
    [{ service: 'hello', context: '.', repository: 'h/p/r', build_secrets: 'a b=x' }, 'build_secrets'],
  ])('rejects %j naming input %s', (values, input) => {
    let error: unknown;
    try {
      readSettings(reader(values as Record<string, string>));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).input).toBe(input);
    expect((error as InputError).message).toContain(`'${input}'`);
    expect((error as InputError).fix).toMatch(/^Accepted: /);
  });

  it('reports every bad input at once, each with its own fix', () => {
    let error: unknown;
    try {
      readSettings(
        reader({
          service: 'Hello',
          image: minimal.image,
          port: '0',
          secrets: 'A=s:v2',
          health_check_expected_status: '700',
          traffic: 'sometimes',
        }),
      );
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RunwayError);
    const shown = describeError(error);
    const inputs = ['service', 'secrets', 'port', 'traffic', 'health_check_expected_status'];
    expect(shown.split('\n')[0]).toBe(`5 inputs are invalid (${inputs.join(', ')}):`);
    for (const input of inputs) expect(shown).toContain(`Input '${input}' is invalid`);
    expect(shown.match(/Accepted: /g)).toHaveLength(5);
  });

  it('never echoes env_vars values in its error, message or fix', () => {
    expect.assertions(3);
    expect(() => readSettings(reader({ ...minimal, env_vars: '=s3cr3t' }))).toThrow(/\*\*\*/);
    try {
      readSettings(reader({ ...minimal, env_vars: '=s3cr3t' }));
    } catch (err) {
      expect(String((err as Error).message)).not.toContain('s3cr3t');
      expect(String((err as InputError).fix)).not.toContain('s3cr3t');
    }
  });
});

describe('parseRegions', () => {
  it('reads comma and newline lists and drops duplicates', () => {
    expect(parseRegions('us-central1, europe-west1\nus-central1')).toEqual(['us-central1', 'europe-west1']);
  });
});

describe('parseDurationSeconds', () => {
  it.each([
    ['90', 90],
    ['90s', 90],
    ['10m', 600],
    ['1h', 3600],
  ])('%s is %d seconds', (text, seconds) => {
    expect(parseDurationSeconds('deploy_timeout', text)).toBe(seconds);
  });
});

describe('env_vars_file', () => {
  const write = (name: string, text: string): string => {
    const dir = mkdtempSync(join(tmpdir(), 'runway-envfile-'));
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  it('reads YAML, JSON and KEY=VALUE files; env_vars wins on conflicts', () => {
    expect(readEnvVarsFile(write('a.yaml', 'MODE: prod\nRETRIES: "3"\n'))).toEqual({
      MODE: 'prod',
      RETRIES: '3',
    });
    expect(readEnvVarsFile(write('a.json', '{"MODE": "prod"}'))).toEqual({ MODE: 'prod' });
    expect(readEnvVarsFile(write('a.env', 'MODE=prod\nURL=http://x/?a=b'))).toEqual({
      MODE: 'prod',
      URL: 'http://x/?a=b',
    });
    const path = write('b.yaml', 'MODE: prod\nKEEP: yes-please\n');
    const s = readSettings(reader({ ...minimal, env_vars_file: path, env_vars: 'MODE=staging' }));
    expect(s.spec.envVars).toEqual({ MODE: 'staging', KEEP: 'yes-please' });
  });
  it('names the input when the file is missing or not a mapping', () => {
    expect(() => readEnvVarsFile('/nonexistent/env.yaml')).toThrow("Input 'env_vars_file' is invalid");
    expect(() => readEnvVarsFile(write('c.yaml', '- a\n- b\n'))).toThrow(InputError);
  });
  it.each([
    ['d.yaml', 'MODE: prod\nTOKEN: "hunter2\n', /line 3: MISSING_CHAR/],
    ['e.yaml', 'MODE: prod\nTOKEN: a: hunter2\n', /line 2/],
    ['f.env', 'MODE=prod\n=hunter2\n', /no preceeding key before "="\) at 10/],
    ['i.env', 'MODE=prod\nhunter2\n', /entry 2 \(line 2\) has no "=VALUE"/],
    ['g.yaml', 'MODE: prod\nRETRIES: 3\n', /the value of RETRIES is not a string: quote it/],
    ['h.json', '{"MODE": "prod", "TOKEN": 7}', /the value of TOKEN is not a string/],
  ])('names the line of a syntax error in %s, never its content', (file, content, where) => {
    expect.assertions(3);
    try {
      readEnvVarsFile(write(file, content));
    } catch (err) {
      const shown = `${(err as InputError).message}\n${(err as InputError).fix}`;
      expect(shown).toMatch(where);
      expect(shown).not.toContain('hunter2');
      expect(shown).toContain(file);
    }
  });
});
