// The emulator's own conformance with Google's schemas (issue 17): requests mutated at random from
// the Cloud Run v2 schema (emulator/schemas/run-v2.json, taken from the protos Google publishes) —
// unknown fields at random depths, wrong JSON types, enum values outside the set, unknown query
// parameters, proto spellings of field names — sent over HTTP to the emulator, each answered as
// Google's front end answers it. Seeded: RUNWAY_CONFORMANCE_SEED repeats a run.
import { accessTokenFor } from '../helpers/auth.js';
import { env } from '../helpers/emulator.js';
import { schemaOf, type FieldSchema } from '../../emulator/schema/schema.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const SEED = Number(process.env.RUNWAY_CONFORMANCE_SEED ?? 20261205);
const CASES = 120;
const schema = schemaOf('run-v2');

/** mulberry32: a small seeded generator, so a failing case can be replayed. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A service as Runway and gcloud send it, touching most of the template. */
const BASE: Json = {
  description: 'conformance',
  labels: { team: 'web' },
  ingress: 'INGRESS_TRAFFIC_ALL',
  launchStage: 'GA',
  invokerIamDisabled: true,
  scaling: { minInstanceCount: 0, maxInstanceCount: 3 },
  template: {
    revision: 'conf-mutations-00001-abc',
    labels: { commit: 'abc' },
    annotations: { note: 'x' },
    scaling: { minInstanceCount: 0, maxInstanceCount: 5 },
    timeout: '300s',
    serviceAccount: 'runtime@runway-demo.iam.gserviceaccount.com',
    executionEnvironment: 'EXECUTION_ENVIRONMENT_GEN2',
    maxInstanceRequestConcurrency: 80,
    sessionAffinity: false,
    containers: [
      {
        name: 'app',
        image: 'us-docker.pkg.dev/runway-demo/apps/web:1',
        command: ['/server'],
        args: ['--port', '8080'],
        env: [
          { name: 'MODE', value: 'prod' },
          { name: 'KEY', valueSource: { secretKeyRef: { secret: 'api-key', version: 'latest' } } },
        ],
        resources: { limits: { cpu: '1', memory: '512Mi' }, cpuIdle: true, startupCpuBoost: false },
        ports: [{ name: 'http1', containerPort: 8080 }],
        startupProbe: {
          initialDelaySeconds: 0,
          timeoutSeconds: 1,
          periodSeconds: 3,
          failureThreshold: 3,
          httpGet: { path: '/healthz', port: 8080 },
        },
      },
    ],
  },
  traffic: [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 }],
};

interface Site {
  /** Where in the body: keys and indexes from the root of the service. */
  keys: Array<string | number>;
  /** Google's path for it: service.template.containers[0]. */
  path: string;
  /** The message at this site, or the field for a scalar. */
  message?: string;
  field?: FieldSchema;
  jsonName?: string;
}

/** Every message and every scalar in the body, with the schema's view of each. */
function sites(value: Json, message: string, keys: Site['keys'], path: string, out: Site[] = []): Site[] {
  out.push({ keys, path, message });
  const fields = schema.messages[message]!.fields;
  for (const [name, v] of Object.entries(value)) {
    const field = fields[name]!;
    const at = `${path}.${field.proto ?? name}`;
    const visit = (item: unknown, itemKeys: Site['keys'], itemPath: string): void => {
      if (field.type === 'message' && !field.ref!.startsWith('google.protobuf.'))
        sites(item as Json, field.ref!, itemKeys, itemPath, out);
      else if (field.type !== 'map') out.push({ keys: itemKeys, path: itemPath, field, jsonName: name });
    };
    if (field.repeated) (v as unknown[]).forEach((item, i) => visit(item, [...keys, name, i], `${at}[${i}]`));
    else visit(v, [...keys, name], at);
  }
  return out;
}

function set(body: Json, keys: Site['keys'], value: unknown): void {
  const parent = keys.slice(0, -1).reduce((node: Json, k) => node[k] as Json, body);
  parent[keys.at(-1)!] = value;
}

interface Case {
  name: string;
  query: string;
  body: Json;
  /** The violation Google reports, or undefined where the request is fine. */
  expected?: { field?: string; description: string };
}

function generate(random: () => number): Case[] {
  const all = sites(BASE, 'google.cloud.run.v2.Service', [], 'service');
  const messages = all.filter((s) => s.message);
  const scalars = all.filter((s) => s.field);
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)]!;
  const word = (): string => `x${Math.floor(random() * 1e6).toString(36)}Field`;
  const cases: Case[] = [{ name: 'the service as sent', query: '', body: BASE }];
  while (cases.length < CASES) {
    const body = structuredClone(BASE);
    const kind = pick(['unknown', 'type', 'enum', 'query', 'proto-name'] as const);
    if (kind === 'unknown') {
      const site = pick(messages);
      const name = word();
      const target = site.keys.reduce((node: Json, k) => node[k] as Json, body);
      target[name] = pick([1, 'x', true, { nested: 1 }, [1]]);
      cases.push({
        name: `unknown field ${name} at ${site.path}`,
        query: '',
        body,
        expected: {
          field: site.path,
          description: `Invalid JSON payload received. Unknown name "${name}" at '${site.path}': Cannot find field.`,
        },
      });
    } else if (kind === 'type' || kind === 'enum') {
      const candidates = scalars.filter((s) => (kind === 'enum') === (s.field!.type === 'enum'));
      const site = pick(candidates);
      const duration = site.field!.ref === 'google.protobuf.Duration';
      const type = duration ? 'duration' : site.field!.type;
      const wrong: unknown =
        type === 'string'
          ? 12345
          : type === 'bool'
            ? 'yes'
            : type === 'enum'
              ? 'NOT_A_VALUE'
              : type === 'duration'
                ? 300
                : 'NaN-ish';
      set(body, site.keys, wrong);
      const description =
        type === 'enum'
          ? `Invalid value at '${site.path}' (type.googleapis.com/${site.field!.ref}), ${JSON.stringify(wrong)}`
          : type === 'duration'
            ? `Invalid value at '${site.path}' (type.googleapis.com/google.protobuf.Duration), Field '${site.jsonName}', Invalid data type for duration, value is 300`
            : `Invalid value at '${site.path}' (TYPE_${type.toUpperCase()}), ${JSON.stringify(wrong)}`;
      cases.push({
        name: `${JSON.stringify(wrong)} for the ${type} at ${site.path}`,
        query: '',
        body,
        expected: { field: site.path, description },
      });
    } else if (kind === 'query') {
      const name = word();
      cases.push({
        name: `unknown query parameter ${name}`,
        query: `&${name}=1`,
        body,
        expected: {
          field: name,
          description: `Invalid JSON payload received. Unknown name "${name}": Cannot bind query parameter. Field '${name}' could not be found in request message.`,
        },
      });
    } else {
      // The proto name of a field is as good as its JSON name.
      const site = pick(scalars.filter((s) => s.field!.proto && s.field!.proto !== s.jsonName));
      if (!site) continue;
      const parent = site.keys.slice(0, -1).reduce((node: Json, k) => node[k] as Json, body);
      const last = site.keys.at(-1)!;
      if (typeof last === 'number') continue;
      parent[site.field!.proto!] = parent[last];
      delete parent[last];
      cases.push({ name: `${site.field!.proto} spelt as in the proto`, query: '', body });
    }
  }
  return cases;
}

const cases = generate(generator(SEED));

afterAll(() => {
  console.log(`schema conformance: ${cases.length} generated cases (seed ${SEED})`);
});

it.each(cases.map((c, i) => [i, c.name] as const))('case %i: %s', async (i) => {
  const c = cases[i]!;
  const url = `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/projects/${env('RUNWAY_EMULATOR_PROJECT')}/locations/us-central1/services?serviceId=conf-mutations&validateOnly=true${c.query}`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${await accessTokenFor()}`, 'content-type': 'application/json' },
    body: JSON.stringify(c.body),
  });
  const body = (await res.json()) as Json;
  if (!c.expected) {
    expect(body.error).toBeUndefined();
    expect(res.status).toBe(200);
    return;
  }
  expect(res.status).toBe(400);
  expect(body.error.status).toBe('INVALID_ARGUMENT');
  expect(body.error.details[0]['@type']).toBe('type.googleapis.com/google.rpc.BadRequest');
  expect(body.error.details[0].fieldViolations).toContainEqual(c.expected);
});
