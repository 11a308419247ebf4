import { mergeSpecs, parseFlags } from '../../src/inputs/flags.js';
import { SPEC_INPUT_NAMES } from '../../src/inputs/spec.js';
import { InputError, RunwayError } from '../../src/errors.js';

describe("parseFlags (deploy-cloudrun's flags, without gcloud)", () => {
  it('reads the common gcloud run deploy flags into the typed spec', () => {
    expect(
      parseFlags(
        '--cpu=2 --memory 1Gi --min-instances=1 --max-instances 10 --concurrency=80 --port 9090 --timeout=5m ' +
          '--service-account=rt@p.iam.gserviceaccount.com --allow-unauthenticated --ingress=internal --vpc-connector c1 ' +
          '--vpc-egress=all-traffic --add-cloudsql-instances=p:r:a --add-cloudsql-instances p:r:b --cpu-boost --no-cpu-throttling ' +
          '--execution-environment=gen2 --command=/bin/app --args=serve,--verbose --set-env-vars=A=1,B=2 --update-labels=team=web',
      ),
    ).toEqual({
      cpu: '2',
      memory: '1Gi',
      minInstances: 1,
      maxInstances: 10,
      concurrency: 80,
      port: 9090,
      timeoutSeconds: 300,
      runtimeServiceAccount: 'rt@p.iam.gserviceaccount.com',
      allowUnauthenticated: true,
      ingress: 'internal',
      vpcConnector: 'c1',
      vpcEgress: 'all-traffic',
      addCloudsqlInstances: ['p:r:a', 'p:r:b'],
      cpuBoost: true,
      cpuThrottling: false,
      executionEnvironment: 'gen2',
      command: ['/bin/app'],
      args: ['serve', '--verbose'],
      envVars: { A: '1', B: '2' },
      replaceEnvVars: true,
      labels: { team: 'web' },
    });
  });
  it('reads negations and --flag=false', () => {
    expect(parseFlags('--no-allow-unauthenticated --cpu-boost=false')).toEqual({
      allowUnauthenticated: false,
      cpuBoost: false,
    });
  });
  it('splits words as deploy-cloudrun does: quotes group and are dropped', () => {
    expect(parseFlags(`--set-env-vars "A=1,B=two words" --args='a b'`)).toEqual({
      envVars: { A: '1', B: 'two words' },
      replaceEnvVars: true,
      args: ['a b'],
    });
    expect(() => parseFlags('--cpu "2')).toThrow(InputError);
  });
  it('splits a flag quoted whole at its first =, as gcloud does', () => {
    // deploy-cloudrun's README: "Flags that include other flags must quote the entire outer flag".
    expect(parseFlags(`--set-cloudsql-instances=p:r:a "--args=-X=123" '--update-labels=a=b'`)).toEqual({
      cloudsqlInstances: ['p:r:a'],
      args: ['-X=123'],
      labels: { a: 'b' },
    });
  });
  it('names the flag in a bad value', () => {
    expect(() => parseFlags('--cpu=lots')).toThrow("Input 'flags (--cpu)' is invalid");
    expect(() => parseFlags('--memory')).toThrow(InputError);
    expect(() => parseFlags('--memory --cpu 2')).toThrow("Input 'flags (--memory)' is invalid");
  });
  it('rejects flags that mean nothing without gcloud, naming what to use instead', () => {
    expect.assertions(2);
    expect(() => parseFlags('--async')).toThrow(RunwayError);
    try {
      parseFlags('--set-labels=a=b');
    } catch (err) {
      expect((err as RunwayError).fix).toContain('`labels` input');
    }
  });
  it('rejects unknown flags', () => {
    expect(() => parseFlags('--no-such-flag=1')).toThrow(/--no-such-flag in `flags` is not supported/);
  });
});

describe('mergeSpecs', () => {
  it('combines typed inputs and flags', () => {
    expect(mergeSpecs({ cpu: '1' }, { memory: '1Gi' }, SPEC_INPUT_NAMES)).toEqual({
      cpu: '1',
      memory: '1Gi',
    });
  });
  it('merges labels with --update-labels, as gcloud merges repeated --update-labels', () => {
    expect(
      mergeSpecs(
        { labels: { team: 'web', tier: 'a' } },
        { labels: { tier: 'a', app: 'x' } },
        SPEC_INPUT_NAMES,
      ),
    ).toEqual({ labels: { team: 'web', tier: 'a', app: 'x' } });
    // gcloud: `"tier" cannot be specified multiple times; received: a, b`.
    expect(() => mergeSpecs({ labels: { tier: 'a' } }, { labels: { tier: 'b' } }, SPEC_INPUT_NAMES)).toThrow(
      "Input 'labels' and `flags` disagree",
    );
  });
  it('accepts the same value both ways and rejects a disagreement, naming the input', () => {
    expect(mergeSpecs({ cpu: '1' }, { cpu: '1' }, SPEC_INPUT_NAMES)).toEqual({ cpu: '1' });
    expect(() => mergeSpecs({ cpu: '1' }, { cpu: '2' }, SPEC_INPUT_NAMES)).toThrow(
      "Input 'cpu' and `flags` disagree",
    );
  });
});
