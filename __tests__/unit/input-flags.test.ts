// The gcloud flags that stand for a typed input (--image, --tag, --revision-suffix, --no-traffic,
// --region, --project, --update-env-vars, --env-vars-file, --set-/--update-secrets, --labels): each
// flag and what it produces, gcloud's exclusive groups and repeated keys, and how each combines with
// the input it stands for, as gcloud takes deploy-cloudrun's command line (inputs first, flags after).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlags } from '../../src/inputs/flags.js';
import { readSettings } from '../../src/inputs/inputs.js';
import { describeError, RunwayError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'runway-input-flags-'));
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const minimal = { service: 'hello', image: 'us-docker.pkg.dev/p/r/app:1' };
const settings = (values: Record<string, string>) => readSettings((name) => values[name] ?? '');
/** The message and fix of what `run` threw. */
function refusal(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    return describeError(err);
  }
  throw new Error('nothing was refused');
}

describe('flags that stand for an input: each flag and what it produces', () => {
  it.each([
    ['--image us-docker.pkg.dev/p/r/app:2', { deploy: { image: 'us-docker.pkg.dev/p/r/app:2' } }],
    ['--tag=green', { deploy: { tag: 'green' } }],
    ['--revision-suffix v9', { deploy: { suffix: 'v9' } }],
    ['--no-traffic', { deploy: { noTraffic: true } }],
    ['--region=europe-west1', { deploy: { region: 'europe-west1' } }],
    ['--project other-project', { deploy: { project: 'other-project' } }],
    ['--update-env-vars=A=1,B=2', { envVars: { A: '1', B: '2' } }],
    ['--update-env-vars A=1 --update-env-vars B=2', { envVars: { A: '1', B: '2' } }],
    ['--remove-env-vars=OLD --update-env-vars=A=1', { removeEnvVars: ['OLD'], envVars: { A: '1' } }],
    [
      '--set-secrets=DB=db:1,/secrets/key=key:latest',
      {
        secrets: {
          env: { DB: { secret: 'db', version: '1' } },
          files: { '/secrets/key': { secret: 'key', version: 'latest' } },
        },
        replaceSecrets: true,
      },
    ],
    [
      '--update-secrets DB=db:2 --update-secrets API=api:latest',
      {
        secrets: {
          env: { DB: { secret: 'db', version: '2' }, API: { secret: 'api', version: 'latest' } },
          files: {},
        },
      },
    ],
    ['--labels=team=web,tier=a', { labels: { team: 'web', tier: 'a' } }],
  ])('%s', (flags, spec) => {
    expect(parseFlags(flags)).toEqual(spec);
  });

  it('--env-vars-file: a YAML or JSON mapping of strings, replacing every variable as --set-env-vars does', () => {
    expect(parseFlags(`--env-vars-file ${file('env.yaml', 'MODE: prod\nRETRIES: "3"\n')}`)).toEqual({
      envVars: { MODE: 'prod', RETRIES: '3' },
      replaceEnvVars: true,
    });
    expect(parseFlags(`--env-vars-file=${file('env.json', '{"MODE": "prod"}')}`)).toEqual({
      envVars: { MODE: 'prod' },
      replaceEnvVars: true,
    });
  });

  it.each([
    ['a number, unquoted', 'PORT_X: 8080\n', /PORT_X.*string values/s],
    ['a list', '- A\n- B\n', /map-like YAML/],
    ['a reserved name', 'X_GOOGLE_FOO: "1"\n', /X_GOOGLE_/],
    ['a name Cloud Run refuses', '"A B": "1"\n', /environment variable names/],
  ])('--env-vars-file refuses %s, as gcloud does', (_what, content, why) => {
    const path = file(`bad-${content.length}.yaml`, content);
    expect(refusal(() => parseFlags(`--env-vars-file ${path}`))).toMatch(why);
  });

  it('never quotes a value of a refused file', () => {
    const path = file('secret.yaml', 'TOKEN: 12345678\n');
    expect(refusal(() => parseFlags(`--env-vars-file ${path}`))).not.toContain('12345678');
  });

  it('refuses a key given twice, even with the same value, naming the key and never the value', () => {
    const message = refusal(() =>
      parseFlags('--update-env-vars TOKEN=hunter2 --update-env-vars TOKEN=hunter2'),
    );
    expect(message).toMatch(/"TOKEN" more than once/);
    expect(message).not.toContain('hunter2');
    expect(() => parseFlags('--update-labels a=1 --update-labels a=2')).toThrow(/"a" more than once/);
    expect(() => parseFlags('--update-secrets A=a:1 --update-secrets A=a:2')).toThrow(/"A" more than once/);
  });

  it.each([
    ['--set-env-vars A=1 --update-env-vars B=2', '--set-env-vars and --update-env-vars'],
    ['--clear-env-vars --env-vars-file x.yaml', '--clear-env-vars and --env-vars-file'],
    ['--set-secrets A=a:1 --remove-secrets B', '--set-secrets and --remove-secrets'],
    ['--clear-secrets --update-secrets A=a:1', '--clear-secrets and --update-secrets'],
    ['--labels a=1 --update-labels b=2', '--labels and --update-labels'],
  ])("refuses gcloud's exclusive flags together: %s", (flags, named) => {
    expect(() => parseFlags(flags)).toThrow(named);
  });

  it('checks the exclusive groups per container: each --container is its own', () => {
    expect(
      parseFlags('--container a --set-env-vars A=1 --container b --update-env-vars B=2').containers,
    ).toEqual({ a: { envVars: { A: '1' }, replaceEnvVars: true }, b: { envVars: { B: '2' } } });
    expect(() => parseFlags('--container a --set-env-vars A=1 --update-env-vars B=2')).toThrow(RunwayError);
  });

  it('keeps service-only flags from a job, as gcloud run jobs deploy has none of them', () => {
    for (const flag of ['--tag=t', '--revision-suffix=s', '--no-traffic'])
      expect(() => parseFlags(flag, 'job')).toThrow(/Cloud Run service setting/);
    expect(parseFlags('--image x:1', 'job').deploy).toEqual({ image: 'x:1' });
  });
});

describe('flags that stand for an input, beside that input', () => {
  it('--image deploys the image it names when `image` is not given, and agrees or is refused otherwise', () => {
    expect(settings({ service: 'hello', flags: '--image us-docker.pkg.dev/p/r/app:2' }).image).toEqual({
      kind: 'prebuilt',
      ref: 'us-docker.pkg.dev/p/r/app:2',
    });
    expect(settings({ ...minimal, flags: `--image ${minimal.image}` }).image).toEqual({
      kind: 'prebuilt',
      ref: minimal.image,
    });
    expect(refusal(() => settings({ ...minimal, flags: '--image us-docker.pkg.dev/p/r/app:2' }))).toMatch(
      /Input 'image' and `flags` \(--image\) disagree/,
    );
  });

  it('--tag, --revision-suffix and --no-traffic set what their inputs set, and errors name the flag', () => {
    const s = settings({ ...minimal, flags: '--tag green --revision-suffix v9 --no-traffic' });
    expect([s.tag, s.suffix, s.traffic]).toEqual(['green', 'v9', 'none']);
    expect(refusal(() => settings({ ...minimal, flags: '--tag Green' }))).toContain(
      "Input 'flags (--tag)' is invalid",
    );
    expect(refusal(() => settings({ ...minimal, tag: 'blue', flags: '--tag green' }))).toMatch(/disagree/);
    expect(refusal(() => settings({ ...minimal, traffic: 'immediate', flags: '--no-traffic' }))).toContain(
      'flags (--no-traffic)',
    );
  });

  it('--region wins over the default region the runner fills in, and is refused beside another region', () => {
    expect(settings({ ...minimal, flags: '--region europe-west1' }).regions).toEqual(['europe-west1']);
    expect(settings({ ...minimal, region: 'us-central1', flags: '--region europe-west1' }).regions).toEqual([
      'europe-west1',
    ]);
    expect(
      refusal(() => settings({ ...minimal, region: 'asia-east1', flags: '--region europe-west1' })),
    ).toMatch(/Input 'region' and `flags` \(--region\) disagree/);
    expect(settings({ ...minimal, flags: '--project other-project' }).projectId).toBe('other-project');
  });

  it('--update-env-vars adds to env_vars (merge), each key once, as gcloud adds repeated --update-env-vars', () => {
    expect(settings({ ...minimal, env_vars: 'A=1', flags: '--update-env-vars B=2' }).spec.envVars).toEqual({
      A: '1',
      B: '2',
    });
    expect(refusal(() => settings({ ...minimal, env_vars: 'A=1', flags: '--update-env-vars A=2' }))).toMatch(
      /"A" more than once/,
    );
  });

  it.each([
    [
      { env_vars: 'A=1', env_vars_update_strategy: 'overwrite' },
      '--update-env-vars B=2',
      /--set-env-vars \(the `env_vars` input, which deploy-cloudrun passes to gcloud as --set-env-vars\) and --update-env-vars/,
    ],
    [
      { env_vars: 'A=1' },
      '--set-env-vars B=2',
      /--set-env-vars and --update-env-vars \(the `env_vars` input/,
    ],
    [
      { env_vars: 'A=1' },
      '--clear-env-vars',
      /--clear-env-vars and --update-env-vars \(the `env_vars` input/,
    ],
    [{ secrets: 'S=s:1' }, '--set-secrets T=t:1', /--set-secrets and --update-secrets \(the `secrets` input/],
    [
      { secrets: 'S=s:1', secrets_update_strategy: 'overwrite' },
      '--update-secrets T=t:1',
      /--set-secrets \(the `secrets` input.*\) and --update-secrets/,
    ],
  ])('refuses what gcloud refuses beside the input: %j with %s', (inputs, flags, named) => {
    expect(refusal(() => settings({ ...minimal, ...inputs, flags }))).toMatch(named);
  });

  it('--update-secrets adds to secrets (merge); --set-secrets alone replaces every live secret', () => {
    const merged = settings({ ...minimal, secrets: 'S=s:1', flags: '--update-secrets /t/key=t:2' }).spec;
    expect(merged.secrets).toEqual({
      env: { S: { secret: 's', version: '1' } },
      files: { '/t/key': { secret: 't', version: '2' } },
    });
    expect(settings({ ...minimal, flags: '--set-secrets S=s:1' }).spec).toMatchObject({
      replaceSecrets: true,
    });
  });
});

describe('a name given as a plain and as a secret variable in one command', () => {
  // gcloud applies the plain variables, then the secret ones, and refuses a name the other kind
  // holds; deploy-cloudrun's inputs are flags of the same command.
  const gcloudSays = 'Cannot update environment variable [DB] to the given type';
  it.each([
    [{ env_vars: 'DB=plain-value' }, { secrets: 'DB=db:1' }, '`env_vars`', '`secrets`'],
    [{ env_vars_file: 'DB: plain-value\n' }, { secrets: 'DB=db:1' }, '`env_vars_file`', '`secrets`'],
    [
      { env_vars: 'DB=plain-value' },
      { flags: '--update-secrets DB=db:1' },
      '`env_vars`',
      '`flags` (--update-secrets)',
    ],
    [
      { flags: '--update-env-vars DB=plain-value' },
      { secrets: 'DB=db:1' },
      '`flags` (--update-env-vars)',
      '`secrets`',
    ],
    [
      { env_vars: 'DB=plain-value', env_vars_update_strategy: 'overwrite' },
      { flags: '--update-secrets DB=db:1' },
      '`env_vars`',
      '`flags` (--update-secrets)',
    ],
  ])(
    'refuses %j beside %j, naming both and the name, never the value',
    (plain, secret, plainName, secretName) => {
      const inputs: Record<string, string> = { ...minimal, ...plain, ...secret };
      if (inputs.env_vars_file) inputs.env_vars_file = file('kinds.yaml', inputs.env_vars_file);
      const message = refusal(() => settings(inputs));
      expect(message).toContain(
        `${plainName} gives "DB" as a plain environment variable, and ${secretName} as a secret`,
      );
      expect(message).toContain(gcloudSays);
      expect(message).toMatch(/Fix: Give DB one way/);
      expect(message).not.toContain('plain-value');
    },
  );

  it.each([
    ['--update-env-vars DB=plain-value --update-secrets DB=db:1', '--update-env-vars', '--update-secrets'],
    ['--set-secrets DB=db:1 --set-env-vars DB=plain-value', '--set-env-vars', '--set-secrets'],
    [
      `--env-vars-file ${file('plain.yaml', 'DB: plain-value\n')} --update-secrets DB=db:1`,
      '--env-vars-file',
      '--update-secrets',
    ],
  ])('refuses it within `flags`: %s', (flags, plainFlag, secretFlag) => {
    const message = refusal(() => parseFlags(flags));
    expect(message).toContain(
      `\`flags\` (${plainFlag}) gives "DB" as a plain environment variable, and \`flags\` (${secretFlag}) as a secret`,
    );
    expect(message).not.toContain('plain-value');
  });

  it('checks each container of `flags` on its own, and the target container with the inputs', () => {
    expect(
      parseFlags('--container a --port 8080 --update-env-vars DB=1 --container b --update-secrets DB=db:1')
        .containers,
    ).toEqual({
      a: { port: 8080, envVars: { DB: '1' } },
      b: { secrets: { env: { DB: { secret: 'db', version: '1' } }, files: {} } },
    });
    expect(
      refusal(() => parseFlags('--container b --update-secrets DB=db:1 --update-env-vars DB=1')),
    ).toContain(
      '`flags` (--update-env-vars after --container b) gives "DB" as a plain environment variable, and `flags` (--update-secrets after --container b) as a secret',
    );
    expect(
      refusal(() =>
        settings({
          service: 'hello',
          env_vars: 'DB=1',
          flags: '--container app --port 8080 --image x:1 --update-secrets DB=db:1',
        }),
      ),
    ).toContain(
      '`env_vars` gives "DB" as a plain environment variable, and `flags` (--update-secrets after --container app) as a secret',
    );
    // A sidecar's secret beside the target's plain variable of the same name is no clash.
    expect(
      settings({
        service: 'hello',
        env_vars: 'DB=1',
        flags:
          '--container app --port 8080 --image x:1 --container side --image y:1 --update-secrets DB=db:1',
      }).spec.envVars,
    ).toEqual({ DB: '1' });
  });

  it('refuses `preview_secrets` naming a plain variable: a fork’s run gets them in place of `secrets`', () => {
    const message = refusal(() =>
      settings({ ...minimal, env_vars: 'DB=plain-value', preview_secrets: 'DB=preview-db:1' }),
    );
    expect(message).toContain(
      '`env_vars` gives "DB" as a plain environment variable, and `preview_secrets` as a secret',
    );
    expect(message).not.toContain('plain-value');
    // `secrets` and `preview_secrets` name the same variable: one replaces the other in a fork's run.
    expect(
      settings({ ...minimal, secrets: 'DB=db:1', preview_secrets: 'DB=preview-db:1' }).previewSecrets,
    ).toEqual({
      env: { DB: { secret: 'preview-db', version: '1' } },
      files: {},
    });
  });

  it('takes a secret file and a plain variable apart, and a removed name given the other way', () => {
    expect(settings({ ...minimal, env_vars: 'DB=1', secrets: '/etc/db/DB=db:1' }).spec.envVars).toEqual({
      DB: '1',
    });
    expect(
      settings({ ...minimal, secrets: 'DB=db:1', flags: '--remove-env-vars DB' }).spec.removeEnvVars,
    ).toEqual(['DB']);
  });
});
