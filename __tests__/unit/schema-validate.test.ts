// The schema check in front of every emulated Google method (emulator/schema/validate.ts): Google's
// own wording for each refusal, quoted from public error reports, and what the handler then sees.
import { schemaOf } from '../../emulator/schema/schema.js';
import { checkRequest, durationProblem, timestampProblem } from '../../emulator/schema/validate.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const run = schemaOf('run-v2');
const CREATE = 'google.cloud.run.v2.Services.CreateService';

function refusal(query: string, body: unknown, method = CREATE): Json {
  try {
    checkRequest(run, method, { query: new URLSearchParams(query), body });
  } catch (err) {
    const e = err as { status: string; message: string; details: Json[] };
    return { status: e.status, message: e.message, violations: e.details[0]!.fieldViolations as Json[] };
  }
  throw new Error('the request was accepted');
}

const service = (extra: Json = {}): Json => ({ template: { containers: [{ image: 'x' }] }, ...extra });

it('refuses an unknown field by its name as sent, at its snake_case path (LibreChat#11761, awx#4665)', () => {
  const r = refusal('serviceId=s', {
    template: { containers: [{ image: 'x', imagePullPolcy: 'Always' }] },
    fooBar: 1,
  });
  expect(r.status).toBe('INVALID_ARGUMENT');
  expect(r.violations).toEqual([
    {
      field: 'service.template.containers[0]',
      description: `Invalid JSON payload received. Unknown name "imagePullPolcy" at 'service.template.containers[0]': Cannot find field.`,
    },
    {
      field: 'service',
      description: `Invalid JSON payload received. Unknown name "fooBar" at 'service': Cannot find field.`,
    },
  ]);
  // Several problems: one message, a line each (pydantic/logfire#1540).
  expect(r.message).toBe(r.violations.map((v: Json) => v.description).join('\n'));
});

it('names wrong types, enums, lists and objects as the front end does (MongoosePush#123, zed#53919, AiNiee#746)', () => {
  const r = refusal('serviceId=s', {
    ...service({ ingress: 'INGRESS_BOGUS', description: 7, scaling: { minInstanceCount: 'two' } }),
    template: { containers: { image: 'x' }, serviceAccount: ['a'], labels: { a: { b: 1 } } },
  });
  expect(r.violations.map((v: Json) => v.description)).toEqual([
    `Invalid value at 'service.template.containers' (type.googleapis.com/google.cloud.run.v2.Container), {"image":"x"}`,
    `Invalid JSON payload received. Unknown name "serviceAccount" at 'service.template': Proto field is not repeating, cannot start list.`,
    `Invalid value at 'service.template.labels[0].value' (value), Starting an object on a scalar field`,
    `Invalid value at 'service.ingress' (type.googleapis.com/google.cloud.run.v2.IngressTraffic), "INGRESS_BOGUS"`,
    `Invalid value at 'service.description' (TYPE_STRING), 7`,
    `Invalid value at 'service.scaling.min_instance_count' (TYPE_INT32), "two"`,
  ]);
});

it('checks durations and timestamps with their Field line (cloud-foundation-fabric#1770, cloud-custodian#7629)', () => {
  expect(refusal('serviceId=s', { template: { containers: [{ image: 'x' }], timeout: '300' } }).message).toBe(
    `Invalid value at 'service.template.timeout' (type.googleapis.com/google.protobuf.Duration), Field 'timeout', Illegal duration format; duration must end with 's'`,
  );
  expect(durationProblem('1.5s')).toBeUndefined();
  expect(durationProblem('5 minutes')).toBe('Invalid duration format, failed to parse seconds');
  expect(timestampProblem('2026-12-05T06:00:00Z')).toBeUndefined();
  expect(timestampProblem('2026-12-05 06:00')).toMatch(/^Illegal timestamp format/);
  expect(timestampProblem('2026-13-45T06:00:00Z')).toBe('Invalid time format: Failed to parse input');
});

it('refuses a query parameter the request message has no field for, and a body that is not an object', () => {
  expect(refusal('serviceId=s&dryRun=true', service()).violations).toEqual([
    {
      field: 'dryRun',
      description: `Invalid JSON payload received. Unknown name "dryRun": Cannot bind query parameter. Field 'dryRun' could not be found in request message.`,
    },
  ]);
  expect(refusal('serviceId=s&validateOnly=maybe', service()).message).toBe(
    `Invalid value at 'validateOnly' (TYPE_BOOL), "maybe"`,
  );
  expect(refusal('serviceId=s', ['x']).violations).toEqual([
    { description: 'Invalid JSON payload received. Unknown name "": Root element must be a message.' },
  ]);
});

it('takes proto names and enum numbers, system parameters with or without $, and drops output-only fields', () => {
  const body = checkRequest(run, CREATE, {
    query: new URLSearchParams('serviceId=s&validateOnly=true&$alt=json;enum-encoding=int&prettyPrint=false'),
    body: {
      launch_stage: 'GA',
      ingress: 1,
      uid: 'made-up',
      createTime: '2020-01-01T00:00:00Z',
      template: { containers: [{ image: 'x' }], max_instance_request_concurrency: '80' },
    },
  });
  expect(body).toEqual({
    launchStage: 'GA',
    ingress: 'INGRESS_TRAFFIC_ALL',
    template: { containers: [{ image: 'x' }], maxInstanceRequestConcurrency: 80 },
  });
});

it('binds dotted query parameters to fields of nested messages, and only to primitive ones', () => {
  const method = 'google.iam.v1.IAMPolicy.GetIamPolicy:services';
  expect(
    checkRequest(run, method, {
      query: new URLSearchParams('options.requestedPolicyVersion=3'),
      body: undefined,
    }),
  ).toBe(undefined);
  expect(refusal('options=3', undefined, method).violations[0].field).toBe('options');
});
