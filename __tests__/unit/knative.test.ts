// Pure pieces of gcloud's way in: the Knative (v1) view of a v2 service and back, label selectors,
// the proxy's view of regional hosts, and IAM Credentials' whole-second timestamps.
import { knativeSpec, labelSelector, specFromKnative } from '../../emulator/run/knative.js';
import { withTemplateDefaults } from '../../emulator/run/model.js';
import { jobSpecFromV1 } from '../../emulator/run/v1-jobs.js';
import { applyServiceFlags, applyTemplateFlags } from '../../src/deploy/service-flags.js';
import type { Service } from '../../src/gcp/run-types.js';
import { parseFlags } from '../../src/inputs/flags.js';
import { absoluteTarget, regionOfHost, splitRegionalHost } from '../../emulator/proxy.js';
import { rfc3339Seconds } from '../../emulator/apis/iamcredentials.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A create body as gcloud 528 sends it for `run deploy` with the guides' flags (seen with --log-http). */
const gcloudBody = (): Json => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: {
    name: 'hello',
    namespace: 'runway-demo',
    labels: {},
    annotations: {
      'run.googleapis.com/client-name': 'gcloud',
      'run.googleapis.com/client-version': '528.0.0',
    },
  },
  spec: {
    template: {
      metadata: {
        labels: { 'client.knative.dev/nonce': 'caebvorfom' },
        annotations: {
          'autoscaling.knative.dev/maxScale': '3',
          'autoscaling.knative.dev/minScale': '1',
          'run.googleapis.com/client-name': 'gcloud',
          'run.googleapis.com/startup-cpu-boost': 'True',
        },
      },
      spec: {
        containers: [
          {
            name: '',
            image: 'r/app:v1',
            env: [
              { name: 'A', value: '1' },
              { name: 'S', valueFrom: { secretKeyRef: { key: 'latest', name: 'greeting' } } },
            ],
            ports: [{ containerPort: 9090 }],
            resources: { limits: { cpu: '2', memory: '256Mi' }, requests: {} },
          },
        ],
        nodeSelector: {},
        serviceAccountName: 'runtime@p.iam.gserviceaccount.com',
        timeoutSeconds: 120,
      },
    },
  },
  status: { address: {} },
});

describe('the Knative view of a service', () => {
  it('reads gcloud’s annotations and fields as the v2 fields they stand for', () => {
    const spec = specFromKnative(gcloudBody());
    expect(spec).toEqual({
      client: 'gcloud',
      clientVersion: '528.0.0',
      template: {
        // v2 labels cannot hold prefixed keys: gcloud's nonce is kept for the v1 view only.
        knativeLabels: { 'client.knative.dev/nonce': 'caebvorfom' },
        scaling: { maxInstanceCount: 3, minInstanceCount: 1 },
        timeout: '120s',
        serviceAccount: 'runtime@p.iam.gserviceaccount.com',
        containers: [
          {
            image: 'r/app:v1',
            env: [
              { name: 'A', value: '1' },
              { name: 'S', valueSource: { secretKeyRef: { secret: 'greeting', version: 'latest' } } },
            ],
            // No cpu-throttling annotation: v1's default, CPU throttled, is v2's cpuIdle.
            resources: { limits: { cpu: '2', memory: '256Mi' }, startupCpuBoost: true, cpuIdle: true },
            ports: [{ containerPort: 9090 }],
          },
        ],
      },
    });
  });

  it('renders a stored spec so that writing it back changes nothing (gcloud PUTs what it read)', () => {
    const spec = specFromKnative(gcloudBody());
    const stored = {
      ...spec,
      template: withTemplateDefaults(spec.template as Json, 'sa@p.iam.gserviceaccount.com'),
    };
    const view = knativeSpec(stored) as Json;
    expect(view.spec.template.metadata.labels).toEqual({ 'client.knative.dev/nonce': 'caebvorfom' });
    expect(view.spec.template.metadata.annotations).toMatchObject({
      'autoscaling.knative.dev/maxScale': '3',
      'autoscaling.knative.dev/minScale': '1',
      'run.googleapis.com/startup-cpu-boost': 'true',
    });
    const again = specFromKnative({ metadata: { name: 'hello', ...view }, spec: view.spec });
    expect({ ...again, template: withTemplateDefaults(again.template as Json, 'x') }).toEqual(stored);
  });

  it('keeps what gcloud records of a source build as v2’s buildConfig, and shows it back as annotations', () => {
    // As gcloud 528 writes them after `run deploy --source` with the build flags (seen with --log-http).
    const annotations = {
      'run.googleapis.com/build-service-account': 'projects/p/serviceAccounts/b@p.iam.gserviceaccount.com',
      'run.googleapis.com/build-worker-pool': 'projects/p/locations/us-central1/workerPools/pool',
      'run.googleapis.com/build-environment-variables': '{"B": "2", "A": "1"}',
    };
    const body = gcloudBody();
    body.metadata.annotations = { ...body.metadata.annotations, ...annotations };
    const spec = specFromKnative(body);
    expect(spec.buildConfig).toEqual({
      serviceAccount: 'projects/p/serviceAccounts/b@p.iam.gserviceaccount.com',
      workerPool: 'projects/p/locations/us-central1/workerPools/pool',
      environmentVariables: { B: '2', A: '1' },
    });
    const view = knativeSpec(spec) as Json;
    expect(JSON.parse(view.annotations['run.googleapis.com/build-environment-variables'])).toEqual({
      B: '2',
      A: '1',
    });
    body.metadata.annotations['run.googleapis.com/build-environment-variables'] = '{"A": 1}';
    expect(() => specFromKnative(body)).toThrow('expected a JSON object of strings');
  });

  it('carries traffic both ways and refuses targets Knative refuses', () => {
    const body = (traffic: Json[]): Json => ({ ...gcloudBody(), spec: { ...gcloudBody().spec, traffic } });
    expect(
      specFromKnative(
        body([
          { revisionName: 'hello-00001-abc', percent: 100 },
          { latestRevision: true, tag: 'green' },
        ]),
      ).traffic,
    ).toEqual([
      { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'hello-00001-abc', percent: 100 },
      { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 0, tag: 'green' },
    ]);
    expect(() => specFromKnative(body([{ latestRevision: true, revisionName: 'x', percent: 100 }]))).toThrow(
      'revisionName may not be set when latestRevision is true',
    );
    expect(() => specFromKnative(body([{ percent: 100 }]))).toThrow('set revisionName, or latestRevision');
  });

  it('refuses what Cloud Run does not support, naming the field', () => {
    const withContainer = (extra: Json): Json => {
      const b = gcloudBody();
      b.spec.template.spec.containers[0] = { ...b.spec.template.spec.containers[0], ...extra };
      return b;
    };
    expect(() => specFromKnative(withContainer({ envFrom: [{ secretRef: { name: 's' } }] }))).toThrow(
      'spec.template.spec.containers[0].envFrom: not supported by Cloud Run.',
    );
    const annotated = gcloudBody();
    annotated.metadata.annotations['run.googleapis.com/not-a-thing'] = 'x';
    expect(() => specFromKnative(annotated)).toThrow('unknown or unsupported system annotation');
    const badScale = gcloudBody();
    badScale.spec.template.metadata.annotations['autoscaling.knative.dev/maxScale'] = 'many';
    expect(() => specFromKnative(badScale)).toThrow("expected a whole number, got 'many'");
    expect(() => specFromKnative({ ...gcloudBody(), kind: 'Job' })).toThrow('kind must be Service');
  });

  it('maps the Cloud SQL annotation to the v2 volume and mount, and hides them in the v1 view', () => {
    const b = gcloudBody();
    b.spec.template.metadata.annotations['run.googleapis.com/cloudsql-instances'] = 'p:r:db1,p:r:db2';
    const spec = specFromKnative(b);
    const template = spec.template as Json;
    expect(template.volumes).toEqual([
      { name: 'cloudsql', cloudSqlInstance: { instances: ['p:r:db1', 'p:r:db2'] } },
    ]);
    expect(template.containers[0].volumeMounts).toEqual([{ name: 'cloudsql', mountPath: '/cloudsql' }]);
    const view = knativeSpec(spec) as Json;
    expect(view.spec.template.metadata.annotations['run.googleapis.com/cloudsql-instances']).toBe(
      'p:r:db1,p:r:db2',
    );
    expect(view.spec.template.spec.volumes).toBeUndefined();
    expect(view.spec.template.spec.containers[0].volumeMounts).toBeUndefined();
  });
});

describe('Binary Authorization and CMEK in the Knative view', () => {
  const key = 'projects/p/locations/us-central1/keyRings/r/cryptoKeys/k';
  const flags = `--binary-authorization=default --breakglass="incident 42" --key=${key} --post-key-revocation-action-type=shut-down --encryption-key-shutdown-hours=2`;
  /** The annotations gcloud 528 writes for those flags (seen with --log-http). */
  const annotated = (): Json => {
    const b = gcloudBody();
    Object.assign(b.metadata.annotations, {
      'run.googleapis.com/binary-authorization': 'default',
      'run.googleapis.com/binary-authorization-breakglass': 'incident 42',
    });
    Object.assign(b.spec.template.metadata.annotations, {
      'run.googleapis.com/encryption-key': key,
      'run.googleapis.com/encryption-key-shutdown-hours': '2',
      'run.googleapis.com/post-key-revocation-action-type': 'shut-down',
    });
    return b;
  };

  it('reads gcloud’s annotations as the v2 fields Runway sets from the same flags, and shows them back', () => {
    const spec = specFromKnative(annotated()) as Json;
    const runway: Service = { template: { containers: [] } } as unknown as Service;
    const parsed = parseFlags(flags);
    applyServiceFlags(runway, parsed);
    applyTemplateFlags(runway.template!, parsed);
    expect(spec.binaryAuthorization).toEqual(runway.binaryAuthorization);
    expect(spec.binaryAuthorization).toEqual({ useDefault: true, breakglassJustification: 'incident 42' });
    const cmek = (t: Json): Json => ({
      encryptionKey: t.encryptionKey,
      encryptionKeyRevocationAction: t.encryptionKeyRevocationAction,
      encryptionKeyShutdownDuration: t.encryptionKeyShutdownDuration,
    });
    expect(cmek(spec.template as Json)).toEqual(cmek(runway.template as Json));
    expect(cmek(spec.template as Json)).toEqual({
      encryptionKey: key,
      encryptionKeyRevocationAction: 'SHUTDOWN',
      encryptionKeyShutdownDuration: '7200s',
    });
    const view = knativeSpec(spec) as Json;
    expect(view.annotations).toMatchObject(annotated().metadata.annotations);
    expect(view.spec.template.metadata.annotations).toMatchObject({
      'run.googleapis.com/encryption-key': key,
      'run.googleapis.com/encryption-key-shutdown-hours': '2',
      'run.googleapis.com/post-key-revocation-action-type': 'shut-down',
    });
  });

  it('takes a named policy, and refuses values Cloud Run does not know, naming the annotation', () => {
    const policy = 'projects/p/platforms/cloudrun/policies/strict';
    const named = annotated();
    named.metadata.annotations['run.googleapis.com/binary-authorization'] = policy;
    const spec = specFromKnative(named) as Json;
    expect(spec.binaryAuthorization).toEqual({ policy, breakglassJustification: 'incident 42' });
    expect((knativeSpec(spec) as Json).annotations['run.googleapis.com/binary-authorization']).toBe(policy);
    const bad = (where: 'service' | 'template', name: string, value: string): Json => {
      const b = annotated();
      const target = where === 'service' ? b.metadata : b.spec.template.metadata;
      target.annotations[`run.googleapis.com/${name}`] = value;
      return b;
    };
    expect(() => specFromKnative(bad('service', 'binary-authorization', ''))).toThrow(
      "metadata.annotations[run.googleapis.com/binary-authorization]: expected 'default' or the name",
    );
    expect(() => specFromKnative(bad('template', 'post-key-revocation-action-type', 'never'))).toThrow(
      "'never' is not one of prevent-new, shut-down",
    );
    expect(() => specFromKnative(bad('template', 'encryption-key-shutdown-hours', 'two'))).toThrow(
      "spec.template.metadata.annotations[run.googleapis.com/encryption-key-shutdown-hours]: expected a whole number of hours, got 'two'",
    );
  });

  it('reads a job’s binary-authorization annotations as v2’s Job.binaryAuthorization', () => {
    // gcloud run jobs deploy writes them on the job; a job's task takes the key alone.
    const job = (annotations: Json): Json => ({
      apiVersion: 'run.googleapis.com/v1',
      kind: 'Job',
      metadata: { name: 'migrate', annotations },
      spec: { template: { spec: { template: { spec: { containers: [{ image: 'r/job:v1' }] } } } } },
    });
    const spec = jobSpecFromV1(
      job({
        'run.googleapis.com/binary-authorization-breakglass': 'incident 42',
        'run.googleapis.com/binary-authorization': 'default',
      }),
    ) as Json;
    expect(spec.binaryAuthorization).toEqual({ useDefault: true, breakglassJustification: 'incident 42' });
    expect(() => jobSpecFromV1(job({ 'run.googleapis.com/binary-authorization': '' }))).toThrow(
      'metadata.annotations[run.googleapis.com/binary-authorization]',
    );
  });
});

describe('label selectors', () => {
  it('match equality, inequality and existence terms, all of them', () => {
    const labels = { 'serving.knative.dev/service': 'hello', 'client.knative.dev/nonce': 'abc' };
    expect(labelSelector('serving.knative.dev/service=hello')(labels)).toBe(true);
    expect(labelSelector('client.knative.dev/nonce = abc')(labels)).toBe(true);
    expect(labelSelector('serving.knative.dev/service==hello,client.knative.dev/nonce!=abc')(labels)).toBe(
      false,
    );
    expect(labelSelector('client.knative.dev/nonce')(labels)).toBe(true);
    expect(labelSelector('!client.knative.dev/nonce')(labels)).toBe(false);
    expect(labelSelector(null)(labels)).toBe(true);
    expect(() => labelSelector('env in (a,b)')).toThrow('Invalid label selector');
  });
});

describe('regional hosts', () => {
  it('splits the region gcloud prefixes off the host', () => {
    expect(splitRegionalHost('us-central1-127.0.0.1:8080')).toEqual({
      region: 'us-central1',
      base: '127.0.0.1:8080',
    });
    expect(splitRegionalHost('europe-west4-run.googleapis.com')).toEqual({
      region: 'europe-west4',
      base: 'run.googleapis.com',
    });
    expect(splitRegionalHost('127.0.0.1:8080').region).toBeUndefined();
    expect(regionOfHost('us-central1-127.0.0.1')).toBe('us-central1');
    expect(regionOfHost('127.0.0.1')).toBe('');
    expect(regionOfHost('us-central1-run.googleapis.com')).toBeUndefined();
  });

  it('reads the absolute-form request line the proxy gets, which WHATWG URL rejects', () => {
    expect(() => new URL('http://us-central1-127.0.0.1:80/x')).toThrow();
    expect(absoluteTarget('http://us-central1-127.0.0.1:4000/apis/x?alt=json')).toEqual({
      hostname: 'us-central1-127.0.0.1',
      port: 4000,
      path: '/apis/x?alt=json',
    });
    expect(absoluteTarget('http://127.0.0.1:4000')).toEqual({ hostname: '127.0.0.1', port: 4000, path: '/' });
    expect(absoluteTarget('/relative')).toBeUndefined();
    expect(absoluteTarget('https://example.com:443/')).toBeUndefined();
  });
});

describe('IAM Credentials timestamps', () => {
  it('are whole seconds, rounded down so they never outlive the token', () => {
    expect(rfc3339Seconds(Date.parse('2026-01-01T00:00:00.999Z'))).toBe('2026-01-01T00:00:00Z');
  });
});
