// The emulator's answers as proto3 JSON writes them (emulator/schema/render.ts): what the schema
// lacks is the emulator's bug and throws; defaults are left out; int64, enums, durations and
// timestamps take the form Google writes; responseProblems reports each without fixing it.
import { renderResponse, responseProblems } from '../../emulator/schema/render.js';
import { schemaOf } from '../../emulator/schema/schema.js';

const run = schemaOf('run-v2');
const GET = 'google.cloud.run.v2.Services.GetService';
const OPERATION = 'google.longrunning.Operations.GetOperation';

it('leaves out default values: false, zero, empty strings and lists, the zero enum', () => {
  expect(
    renderResponse(run, GET, {
      name: 'projects/p/locations/l/services/s',
      reconciling: false,
      observedGeneration: '0',
      description: '',
      urls: [],
      ingress: 'INGRESS_TRAFFIC_UNSPECIFIED',
      labels: { kept: '' },
    }),
  ).toEqual({ name: 'projects/p/locations/l/services/s', labels: { kept: '' } });
});

it('writes 64-bit integers as strings and enums by name', () => {
  expect(renderResponse(run, GET, { generation: 3, ingress: 1 })).toEqual({
    generation: '3',
    ingress: 'INGRESS_TRAFFIC_ALL',
  });
});

it('renders the message an Any names, and keeps an operation in flight without done', () => {
  expect(
    renderResponse(run, OPERATION, {
      name: 'projects/p/locations/l/operations/o',
      done: false,
      metadata: {
        '@type': 'type.googleapis.com/google.cloud.run.v2.Service',
        generation: 2,
        reconciling: true,
      },
    }),
  ).toEqual({
    name: 'projects/p/locations/l/operations/o',
    metadata: {
      '@type': 'type.googleapis.com/google.cloud.run.v2.Service',
      generation: '2',
      reconciling: true,
    },
  });
});

it.each([
  ['a field the message lacks', { template: { containers: [{ image: 'x', imagePullPolicy: 'Always' }] } }, /template\.containers\[0\]\.imagePullPolicy: google\.cloud\.run\.v2\.Container has no field "imagePullPolicy"/],
  ['a proto (snake_case) name', { latest_ready_revision: 'r' }, /has no field "latest_ready_revision"/],
  ['a duration as a number', { template: { timeout: 300 } }, /template\.timeout: duration 300/],
  ['a timestamp with an offset', { createTime: '2026-12-05T18:00:00+01:00' }, /createTime: timestamp/],
  ['a timestamp without a zone', { createTime: '2026-12-05T18:00:00' }, /createTime: timestamp/],
  ['an enum value outside the set', { ingress: 'INGRESS_BOGUS' }, /"INGRESS_BOGUS" is not a value of google\.cloud\.run\.v2\.IngressTraffic/],
  ['a string where a bool belongs', { reconciling: 'true' }, /reconciling: "true" is not a bool/],
])('throws on %s: the emulator answers 500 rather than what Google never sends', (_, body, message) => {
  expect(() => renderResponse(run, GET, body)).toThrow(message);
}); // prettier-ignore

it('keeps Google’s forms: durations in seconds, timestamps in UTC with 0, 3, 6 or 9 digits', () => {
  const body = {
    createTime: '2026-12-05T18:00:00.123456Z',
    updateTime: '2026-12-05T18:00:00Z',
    template: { timeout: '300s' },
  };
  expect(renderResponse(run, GET, body)).toEqual(body);
  expect(responseProblems(run, GET, body)).toEqual([]);
});

it('responseProblems reports what renderResponse would fix, each at its path', () => {
  expect(
    responseProblems(run, GET, {
      generation: 3,
      reconciling: false,
      ingress: 1,
      template: { containers: [{ image: 'x', extra: 1 }] },
    }),
  ).toEqual([
    'generation: the 64-bit integer 3 is a JSON number; proto3 JSON writes a string',
    'reconciling: the default value false (proto3 JSON omits default values)',
    'ingress: the enum value 1 is a number; proto3 JSON writes INGRESS_TRAFFIC_ALL',
    'template.containers[0].extra: google.cloud.run.v2.Container has no field "extra"',
  ]);
});
