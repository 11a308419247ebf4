// Every emulated Google method that takes a body, refusing what Google's front end refuses (issue
// 17): from a valid request of each, mutations generated from that API's schema — an unknown field
// at a random depth, a wrong JSON type for a random scalar, a value outside an enum, an unknown query
// parameter — each sent over HTTP and answered 400 with the violation at its path (STS: an OAuth
// invalid_request). schema-conformance.test.ts does the same in depth for services.create. Seeded:
// RUNWAY_CONFORMANCE_SEED repeats a run.
import { accessTokenFor } from '../helpers/auth.js';
import { env } from '../helpers/emulator.js';
import { schemaOf, type ApiSchema, type FieldSchema } from '../../emulator/schema/schema.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type SchemaName = Parameters<typeof schemaOf>[0];

const SEED = Number(process.env.RUNWAY_CONFORMANCE_SEED ?? 20261205);
const PER_METHOD = 24;

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

interface Target {
  api: SchemaName;
  method: string;
  http: string;
  /** The URL, from the emulator's environment. */
  url: () => string;
  body: Json;
  format?: 'oauth';
}

const run = (): string =>
  `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/projects/${env('RUNWAY_EMULATOR_PROJECT')}/locations/us-central1`;
const runV1 = (): string =>
  `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v1/projects/${env('RUNWAY_EMULATOR_PROJECT')}/locations/us-central1`;
const sm = (): string =>
  `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER')}v1/projects/${env('RUNWAY_EMULATOR_PROJECT')}`;
const sa = (): string =>
  `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS')}v1/projects/-/serviceAccounts/${env('RUNWAY_EMULATOR_SERVICE_ACCOUNT')}`;
const policy = {
  version: 1,
  etag: 'BwYAAA==',
  bindings: [
    { role: 'roles/run.invoker', members: ['allUsers'], condition: { expression: 'true', title: 't' } },
  ],
};
const service = {
  description: 'mutations',
  labels: { team: 'web' },
  ingress: 'INGRESS_TRAFFIC_ALL',
  scaling: { minInstanceCount: 0 },
  template: {
    timeout: '300s',
    executionEnvironment: 'EXECUTION_ENVIRONMENT_GEN2',
    maxInstanceRequestConcurrency: 80,
    containers: [
      {
        image: 'us-docker.pkg.dev/p/r/i:1',
        env: [{ name: 'A', value: '1' }],
        ports: [{ containerPort: 8080 }],
        resources: { cpuIdle: true },
      },
    ],
  },
  traffic: [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 }],
};
const knative = {
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: {
    name: 'mutations',
    namespace: 'runway-demo',
    annotations: { 'run.googleapis.com/ingress': 'all' },
  },
  spec: {
    template: {
      metadata: { annotations: { 'autoscaling.knative.dev/maxScale': '3' } },
      spec: {
        containerConcurrency: 80,
        timeoutSeconds: 300,
        serviceAccountName: 'runtime@runway-demo.iam.gserviceaccount.com',
        containers: [
          {
            image: 'us-docker.pkg.dev/p/r/i:1',
            ports: [{ name: 'http1', containerPort: 8080 }],
            env: [{ name: 'A', value: '1' }],
          },
        ],
      },
    },
    traffic: [{ percent: 100, latestRevision: true }],
  },
};

/** A Build as gcloud builds submit --tag sends it, with a build config's options and tags. */
const build = {
  source: { storageSource: { bucket: 'runway-demo_cloudbuild', object: 'source/1-a.tgz', generation: '1' } },
  steps: [{ name: 'gcr.io/cloud-builders/docker', args: ['build', '--network', 'cloudbuild', '--no-cache', '-t', 'us-central1-docker.pkg.dev/p/r/i', '.'], dir: 'app' }],
  images: ['us-central1-docker.pkg.dev/p/r/i'],
  timeout: '600s',
  options: { logging: 'LEGACY', machineType: 'E2_HIGHCPU_8' },
  tags: ['mutations'],
}; // prettier-ignore

const TARGETS: Target[] = [
  { api: 'run-v2', method: 'google.cloud.run.v2.Services.UpdateService', http: 'PATCH', url: () => `${run()}/services/mutations?validateOnly=true`, body: service },
  { api: 'run-v2', method: 'google.iam.v1.IAMPolicy.SetIamPolicy:services', http: 'POST', url: () => `${run()}/services/mutations:setIamPolicy`, body: { policy, updateMask: 'bindings' } },
  { api: 'run-v2', method: 'google.iam.v1.IAMPolicy.TestIamPermissions:services', http: 'POST', url: () => `${run()}/services/mutations:testIamPermissions`, body: { permissions: ['run.services.get'] } },
  { api: 'run-v2', method: 'google.longrunning.Operations.WaitOperation', http: 'POST', url: () => `${run()}/operations/00000000-0000-0000-0000-000000000000:wait`, body: { timeout: '1s' } },
  { api: 'run-v1', method: 'run.projects.locations.services.create', http: 'POST', url: () => `${runV1()}/services`, body: knative },
  { api: 'run-v1', method: 'run.projects.locations.services.replaceService', http: 'PUT', url: () => `${runV1()}/services/mutations`, body: knative },
  { api: 'secretmanager-v1', method: 'secretmanager.projects.secrets.create', http: 'POST', url: () => `${sm()}/secrets?secretId=mutations`, body: { replication: { automatic: {} }, labels: { a: 'b' }, ttl: '3600s' } },
  { api: 'secretmanager-v1', method: 'secretmanager.projects.secrets.addVersion', http: 'POST', url: () => `${sm()}/secrets/mutations:addVersion`, body: { payload: { data: 'dmFsdWU=', dataCrc32c: '1' } } },
  { api: 'secretmanager-v1', method: 'secretmanager.projects.secrets.setIamPolicy', http: 'POST', url: () => `${sm()}/secrets/mutations:setIamPolicy`, body: { policy, updateMask: 'bindings' } },
  { api: 'iamcredentials-v1', method: 'iamcredentials.projects.serviceAccounts.generateAccessToken', http: 'POST', url: () => `${sa()}:generateAccessToken`, body: { scope: ['https://www.googleapis.com/auth/cloud-platform'], lifetime: '600s', delegates: [] } },
  { api: 'iamcredentials-v1', method: 'iamcredentials.projects.serviceAccounts.generateIdToken', http: 'POST', url: () => `${sa()}:generateIdToken`, body: { audience: 'https://x.run.app', includeEmail: true } },
  { api: 'sts-v1', method: 'sts.token', http: 'POST', url: () => `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_STS')}v1/token`, body: { grantType: 'urn:ietf:params:oauth:grant-type:token-exchange', audience: 'x', scope: 'y', requestedTokenType: 'z', subjectToken: 't', subjectTokenType: 'u' }, format: 'oauth' },
  { api: 'cloudbuild-v1', method: 'cloudbuild.projects.locations.builds.create', http: 'POST', url: () => `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD')}v1/projects/${env('RUNWAY_EMULATOR_PROJECT')}/locations/global/builds`, body: build },
]; // prettier-ignore

interface Site {
  keys: Array<string | number>;
  path: string;
  message?: string;
  field?: FieldSchema;
  jsonName?: string;
}

const WELL_KNOWN_SCALARS = new Set([
  'google.protobuf.Duration',
  'google.protobuf.Timestamp',
  'google.protobuf.FieldMask',
]);

/** Every message and scalar of `value`, read as `message` of `schema`, with Google's path of each. */
function sites(
  schema: ApiSchema,
  value: Json,
  message: string,
  keys: Site['keys'],
  path: string,
  out: Site[] = [],
): Site[] {
  const shape = schema.messages[message]!;
  if (shape.mapOf) return out;
  out.push({ keys, path, message });
  for (const [name, v] of Object.entries(value)) {
    const field = shape.fields[name]!;
    const at = `${path ? `${path}.` : ''}${field.proto ?? name}`;
    const visit = (item: unknown, itemKeys: Site['keys'], itemPath: string): void => {
      if (field.type === 'message' && !WELL_KNOWN_SCALARS.has(field.ref!)) {
        if (field.ref!.startsWith('google.protobuf.')) return;
        sites(schema, item as Json, field.ref!, itemKeys, itemPath, out);
      } else if (field.type !== 'map' && field.type !== 'any')
        out.push({ keys: itemKeys, path: itemPath, field, jsonName: name });
    };
    if (field.repeated) (v as unknown[]).forEach((item, i) => visit(item, [...keys, name, i], `${at}[${i}]`));
    else visit(v, [...keys, name], at);
  }
  return out;
}

interface Case {
  target: Target;
  name: string;
  query: string;
  body: Json;
  expected: { field?: string; description: string };
}

function qualified(schema: ApiSchema, ref: string): string {
  return ref.startsWith('google.') ? ref : `google.${schema.api}.${schema.version}.${ref}`;
}

function mutations(target: Target, random: () => number): Case[] {
  const schema = schemaOf(target.api);
  const method = schema.methods[target.method]!;
  const rootMessage = method.body === '*' ? (method.bodyMessage ?? method.request) : schema.messages[method.request]!.fields[method.body!]!.ref!;
  const rootPath = method.body === '*' ? '' : (schema.messages[method.request]!.fields[method.body!]!.proto ?? method.body!);
  const all = sites(schema, target.body, rootMessage, [], rootPath);
  const messages = all.filter((s) => s.message);
  const scalars = all.filter((s) => s.field);
  const enums = scalars.filter((s) => s.field!.type === 'enum');
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)]!;
  const word = (): string => `x${Math.floor(random() * 1e6).toString(36)}Field`;
  const cases: Case[] = [];
  while (cases.length < PER_METHOD) {
    const body = structuredClone(target.body);
    const kind = pick(['unknown', 'unknown', 'type', 'type', 'enum', 'query'] as const);
    if (kind === 'unknown') {
      const site = pick(messages);
      const name = word();
      site.keys.reduce((node: Json, k) => node[k] as Json, body)[name] = pick([1, 'x', true, { nested: 1 }]);
      cases.push({
        target,
        name: `unknown field ${name} at ${site.path || 'the root'}`,
        query: '',
        body,
        expected: {
          ...(site.path ? { field: site.path } : {}),
          description: `Invalid JSON payload received. Unknown name "${name}"${site.path ? ` at '${site.path}'` : ''}: Cannot find field.`,
        },
      });
    } else if (kind === 'query') {
      const name = word();
      cases.push({
        target,
        name: `unknown query parameter ${name}`,
        query: name,
        body,
        expected: {
          field: name,
          description: `Invalid JSON payload received. Unknown name "${name}": Cannot bind query parameter. Field '${name}' could not be found in request message.`,
        },
      });
    } else {
      const candidates = kind === 'enum' ? enums : scalars.filter((s) => s.field!.type !== 'enum');
      if (!candidates.length) continue;
      const site = pick(candidates);
      const field = site.field!;
      const type = field.ref === 'google.protobuf.Duration' ? 'duration' : field.ref === 'google.protobuf.FieldMask' ? 'string' : field.type;
      const wrongs: Record<string, unknown> = { string: 12345, bool: 'yes', enum: 'NOT_A_VALUE', duration: 300, bytes: '!!!' };
      const wrong = wrongs[type] ?? 'NaN-ish';
      const parent = site.keys.slice(0, -1).reduce((node: Json, k) => node[k] as Json, body);
      parent[site.keys.at(-1)!] = wrong;
      const description =
        type === 'enum'
          ? `Invalid value at '${site.path}' (type.googleapis.com/${qualified(schema, field.ref!)}), ${JSON.stringify(wrong)}`
          : type === 'duration'
            ? `Invalid value at '${site.path}' (type.googleapis.com/google.protobuf.Duration), Field '${site.jsonName}', Invalid data type for duration, value is 300`
            : `Invalid value at '${site.path}' (TYPE_${type.toUpperCase()}), ${JSON.stringify(wrong)}`;
      cases.push({ target, name: `${JSON.stringify(wrong)} for the ${type} at ${site.path}`, query: '', body, expected: { field: site.path, description } });
    }
  }
  return cases;
} // prettier-ignore

const random = generator(SEED);
const cases = TARGETS.flatMap((t) => mutations(t, random));
let token: string;

beforeAll(async () => {
  token = await accessTokenFor();
});

afterAll(() => {
  console.log(
    `schema mutations: ${cases.length} generated cases over ${TARGETS.length} methods (seed ${SEED})`,
  );
});

it.each(cases.map((c, i) => [i, c.target.method, c.name] as const))('case %i: %s, %s', async (i) => {
  const c = cases[i]!;
  const url = new URL(c.target.url());
  if (c.query) url.searchParams.set(c.query, '1');
  const res = await fetch(url, {
    method: c.target.http,
    headers: {
      ...(c.target.format === 'oauth' ? {} : { authorization: `Bearer ${token}` }),
      'content-type': 'application/json',
    },
    body: JSON.stringify(c.body),
  });
  const body = (await res.json()) as Json;
  expect(res.status).toBe(400);
  if (c.target.format === 'oauth') {
    expect(body.error).toBe('invalid_request');
    expect((body.error_description as string).split('\n')).toContain(c.expected.description);
    return;
  }
  expect(body.error.status).toBe('INVALID_ARGUMENT');
  expect(body.error.details[0].fieldViolations).toContainEqual(c.expected);
});
