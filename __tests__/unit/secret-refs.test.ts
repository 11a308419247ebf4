// `secrets` takes Secret Manager references, and what is pasted there by mistake is most often the
// secret's value (issue 18, finding 5). An entry that does not parse as a reference is refused
// without echoing it; a "name" that reads like a password or key is refused before any API call
// could carry it to Secret Manager; a version is `latest` or a number from 1.
import { describeError, InputError, RunwayError } from '../../src/errors.js';
import { parseSecrets } from '../../src/inputs/fields.js';
import { readSettings } from '../../src/inputs/inputs.js';

function refusal(raw: string): RunwayError {
  try {
    parseSecrets('secrets', raw);
  } catch (err) {
    if (err instanceof RunwayError) return err;
    throw err;
  }
  throw new Error(`accepted ${raw}`);
}

describe('secrets entries that are not secret references', () => {
  it.each([
    ['a user:password pair', 'DB_CREDS=admin:S3cretPassw0rd', 'S3cretPassw0rd'],
    ['a value with a colon and a version', 'DB_CREDS=admin:S3cretPassw0rd:latest', 'S3cretPassw0rd'],
    ['a URL with a password', 'DB_URL=postgres://app:hunter2pass@db/app', 'hunter2pass'],
    ['a version that is a password', 'API_KEY=api-key:Tr0ub4dor3', 'Tr0ub4dor3'],
  ])('are refused without echoing the value: %s', (_what, raw, secret) => {
    const err = refusal(raw);
    expect(describeError(err)).not.toContain(secret);
    expect(describeError(err)).toContain("Input 'secrets'");
    expect(err.fix ?? err.message).toMatch(/DB_CREDS|DB_URL|API_KEY/);
  });

  it.each([
    ['a leet password', 'DB_PASSWORD=S3cretPassw0rd'],
    ['a GitHub token', `GH=ghp_${'a1B2c3D4e5'.repeat(4).slice(0, 36)}`],
    ['an AWS key id', 'AWS=AKIAIOSFODNN7EXAMPLE'],
    ['a Google API key', `MAPS=AIza${'Sy0123456789abcdefghijklmnopqrstuv'.slice(0, 35)}`],
    ['a Slack token', 'SLACK=xoxb-1234567890-abcdefghij'],
    ['a long random key', 'STRIPE=a8f5f167f44f4964e6c998dee827110c'],
  ])('refuse a credential given as a name: %s', (_what, raw) => {
    const err = refusal(raw);
    expect(err).toBeInstanceOf(InputError);
    expect(describeError(err)).not.toContain(raw.split('=')[1]);
    expect(err.fix).toContain('projects/PROJECT/secrets/NAME');
  });

  it.each(['greeting:0', 'greeting:01', 'greeting:-1', 'greeting:1.5', 'greeting:', 'greeting:v2'])(
    'refuse version %j: `latest` or a number from 1',
    (ref) => {
      const err = refusal(`GREETING=${ref}`);
      expect(err.fix).toMatch(/`latest` or a version number from 1/);
    },
  );

  it('are refused before any API call: readSettings refuses them', () => {
    expect(() =>
      readSettings(
        (name) =>
          ({
            service: 'hello',
            image: 'us-docker.pkg.dev/p/r/app:1',
            secrets: 'DB_PASSWORD=S3cretPassw0rd',
          })[name] ?? '',
      ),
    ).toThrow(InputError);
  });

  it('are all reported at once', () => {
    const err = refusal('A=greeting:0\nB=admin:S3cretPassw0rd\nC=api-key:2');
    expect(err.message).toMatch(/^2 inputs are invalid/);
    expect(err.message).toMatch(/entry for `A`:[\s\S]*entry for `B`:/);
    expect(err.message).not.toContain('S3cretPassw0rd');
  });
});

describe('secret references that stay valid', () => {
  it('reads names, full resource names and versions', () => {
    expect(
      parseSecrets(
        'secrets',
        [
          'A=db-password',
          'B=DB_PASSWORD:3',
          'C=stripe_key_v2:latest',
          'D=projects/my-project/secrets/db-password:12',
          'E=projects/123456789012/secrets/S3cretPassw0rd',
          'F=projects/example.com:my-project/secrets/api-key:1',
          '/etc/app/key=api-key:7',
        ].join('\n'),
      ),
    ).toEqual({
      env: {
        A: { secret: 'db-password', version: 'latest' },
        B: { secret: 'DB_PASSWORD', version: '3' },
        C: { secret: 'stripe_key_v2', version: 'latest' },
        D: { secret: 'projects/my-project/secrets/db-password', version: '12' },
        E: { secret: 'projects/123456789012/secrets/S3cretPassw0rd', version: 'latest' },
        F: { secret: 'projects/example.com:my-project/secrets/api-key', version: '1' },
      },
      files: { '/etc/app/key': { secret: 'api-key', version: '7' } },
    });
  });

  it.each(['db-password', 'DB_PASSWORD', 'api-key-v2', 'oauth2-client', 'S3_BUCKET_KEY', 'apiKey'])(
    '%s is a name, not a credential',
    (name) => {
      expect(parseSecrets('secrets', `A=${name}`).env.A).toEqual({ secret: name, version: 'latest' });
    },
  );

  it("takes names up to Secret Manager's 255 characters, and no longer", () => {
    expect(parseSecrets('secrets', `A=${'x'.repeat(255)}`).env.A?.secret).toHaveLength(255);
    expect(refusal(`A=${'x'.repeat(256)}`)).toBeInstanceOf(InputError);
  });
});
