import { parseCpu, parseIntervalMs, parseMemory, parseSecrets } from '../../src/inputs/fields.js';
import { InputError } from '../../src/errors.js';

describe('parseSecrets (deploy-cloudrun syntax)', () => {
  it('reads env and file secrets with versions, latest by default', () => {
    expect(
      parseSecrets(
        'secrets',
        'API_KEY=api-key:3\nDB=projects/p/secrets/db\n/etc/cfg/app.json=app-config:latest',
      ),
    ).toEqual({
      env: {
        API_KEY: { secret: 'api-key', version: '3' },
        DB: { secret: 'projects/p/secrets/db', version: 'latest' },
      },
      files: { '/etc/cfg/app.json': { secret: 'app-config', version: 'latest' } },
    });
  });
  it('explains a secret value given where its name belongs, without echoing it', () => {
    let error: InputError | undefined;
    try {
      parseSecrets('secrets', 'TOKEN=hunter2 is my password:latest');
    } catch (err) {
      error = err as InputError;
    }
    expect(error).toBeInstanceOf(InputError);
    expect(error?.message).not.toContain('hunter2');
    expect(error?.fix).toContain('not its value');
  });
  it('rejects bad versions, bad env names and directory mount paths', () => {
    expect(() => parseSecrets('secrets', 'A=s:v2')).toThrow(InputError);
    expect(() => parseSecrets('secrets', '1A=s:1')).toThrow(InputError);
    expect(() => parseSecrets('secrets', '/etc/dir/=s:1')).toThrow(InputError);
    expect(() => parseSecrets('secrets', '/file=s:1')).toThrow(InputError);
  });
});

describe('resource values', () => {
  it.each(['1', '2', '4', '8', '0.5', '500m'])('cpu %s is valid', (v) => expect(parseCpu('cpu', v)).toBe(v));
  it.each(['3', 'two', '1.5'])('cpu %s is not', (v) => expect(() => parseCpu('cpu', v)).toThrow(InputError));
  it.each(['512Mi', '1Gi', '2G'])('memory %s is valid', (v) => expect(parseMemory('memory', v)).toBe(v));
  it.each(['512', '1 Gi', 'lots'])('memory %s is not', (v) =>
    expect(() => parseMemory('memory', v)).toThrow(InputError),
  );
});

describe('parseIntervalMs (health_check_interval)', () => {
  it.each([
    ['250ms', 250],
    ['1s', 1000],
    ['1.5s', 1500],
    ['2', 2000],
    ['1m', 60_000],
  ])('%s is %d ms', (raw, ms) => expect(parseIntervalMs('health_check_interval', raw, 100, 60_000)).toBe(ms));
  it.each(['99ms', '61s', '2m', 'soon', '-1s', ''])('%s is refused, naming the input', (raw) => {
    expect(() => parseIntervalMs('health_check_interval', raw, 100, 60_000)).toThrow(
      expect.objectContaining({ input: 'health_check_interval' }) as Error,
    );
  });
});
