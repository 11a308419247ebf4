// Refreshes emulator/schemas/*.json: what each emulated Google API accepts and returns, taken from
// Google's own descriptions, never written by hand (issue 17).
//   run-v2            the protos' JSON descriptors shipped in @google-cloud/run
//                     (node_modules/@google-cloud/run/build/protos/protos.json), field behaviours
//                     (OUTPUT_ONLY, REQUIRED) included; google.longrunning and google.iam.v1 come
//                     with them. Their HTTP rules give each method's path, body and query.
//   run-v1, iamcredentials-v1, secretmanager-v1, serviceusage-v1, iam-v1 (service accounts,
//   Workload Identity pools), cloudresourcemanager-v1 (projects' IAM policy), artifactregistry-v1,
//   logging-v2 (entries.list), storage-v1 (the JSON API's buckets and objects, for source uploads),
//   cloudbuild-v1 (the Build that Cloud Run's builds:submit starts)
//                     the generated message definitions the installed gcloud ships for that API
//                     version (googlecloudsdk/generated_clients/apis/API/VERSION), which gcloud
//                     generates from the API's discovery document; dumped by
//                     scripts/schemas/apitools-dump.py with gcloud's bundled python. Those lose
//                     which strings are timestamps and durations: for IAM Credentials, Secret
//                     Manager and Artifact Registry the protos in their Node clients
//                     (@google-cloud/…, via `npm pack`) say (PROTO_TIMES).
//   sts-v1            the discovery document, https://sts.googleapis.com/$discovery/rest?version=v1
//                     (read offline from --sts-discovery FILE when there is no network: the copy in
//                     googleapis/google-api-go-client, sts/v1/sts-api.json).
// Usage: npx tsx scripts/refresh-schemas.ts [--sts-discovery FILE] [--only API-VERSION]...
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ApiSchema, FieldSchema, MessageSchema, MethodSchema } from '../emulator/schema/schema.js';

const root = resolve(import.meta.dirname, '..');
const out = join(root, 'emulator', 'schemas');
const PYTHON = '/usr/lib/google-cloud-sdk/platform/bundledpythonunix/bin/python3';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function write(name: string, schema: ApiSchema): void {
  writeFileSync(join(out, `${name}.json`), `${JSON.stringify(schema, null, 1)}\n`);
  console.log(
    `${name}: ${Object.keys(schema.messages).length} messages, ${Object.keys(schema.enums).length} enums, ${Object.keys(schema.methods).length} methods`,
  );
}

// ---- protos (protobufjs JSON descriptors) ----------------------------------------------------------

const SCALARS = new Set([
  'double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64',
  'sfixed32', 'sfixed64', 'bool', 'string', 'bytes',
]); // prettier-ignore
const SCALAR_AS: Record<string, string> = { sint32: 'int32', fixed32: 'uint32', sfixed32: 'int32', sint64: 'int64', fixed64: 'uint64', sfixed64: 'int64' }; // prettier-ignore

function protoSchema(): ApiSchema {
  const file = join(root, 'node_modules/@google-cloud/run/build/protos/protos.json');
  const version = JSON.parse(
    readFileSync(join(root, 'node_modules/@google-cloud/run/package.json'), 'utf8'),
  ).version;
  const descriptor = JSON.parse(readFileSync(file, 'utf8')) as Json;
  const types = new Map<string, Json>();
  const collect = (node: Json, prefix: string): void => {
    for (const [name, child] of Object.entries((node.nested ?? {}) as Json)) {
      const full = prefix ? `${prefix}.${name}` : name;
      if (child.fields || child.values) types.set(full, child);
      collect(child, full);
    }
  };
  collect(descriptor, '');
  /** protobufjs resolves a type name from the innermost scope outwards. */
  const resolveType = (name: string, scope: string): string => {
    if (name.startsWith('.')) return name.slice(1);
    const parts = scope.split('.');
    for (let i = parts.length; i >= 0; i -= 1) {
      const candidate = [...parts.slice(0, i), name].join('.');
      if (types.has(candidate)) return candidate;
    }
    throw new Error(`cannot resolve ${name} in ${scope}`);
  };
  const schema: ApiSchema = {
    api: 'run',
    version: 'v2',
    source: `@google-cloud/run ${version}, build/protos/protos.json`,
    messages: {},
    enums: {},
    methods: {},
  };
  for (const [full, t] of types) {
    if (t.values) {
      schema.enums[full] = Object.fromEntries(Object.entries(t.values as Record<string, number>));
      continue;
    }
    if (
      full.startsWith('google.protobuf.') &&
      !/^google\.protobuf\.(Duration|Timestamp|FieldMask|Empty|Any)$/.test(full)
    )
      continue;
    const message: MessageSchema = { fields: {} };
    const oneofs = Object.entries((t.oneofs ?? {}) as Record<string, { oneof: string[] }>);
    for (const [jsonName, f] of Object.entries(t.fields as Record<string, Json>)) {
      const field: FieldSchema = { type: 'string', proto: snake(jsonName) };
      const behaviour = String(f.options?.['(google.api.field_behavior)'] ?? '');
      const typeOf = (name: string): Pick<FieldSchema, 'type' | 'ref'> => {
        if (SCALARS.has(name)) return { type: (SCALAR_AS[name] ?? name) as FieldSchema['type'] };
        const ref = resolveType(name, full);
        return { type: types.get(ref)!.values ? 'enum' : 'message', ref };
      };
      if (f.keyType) {
        field.type = 'map';
        field.key = (SCALAR_AS[f.keyType] ?? f.keyType) as FieldSchema['type'];
        field.value = typeOf(f.type as string) as FieldSchema;
      } else Object.assign(field, typeOf(f.type as string));
      if (f.rule === 'repeated') field.repeated = true;
      if (behaviour.includes('OUTPUT_ONLY')) field.outputOnly = true;
      if (behaviour.includes('REQUIRED')) field.required = true;
      const oneof = oneofs.find(
        ([, o]) => o.oneof.includes(jsonName) && !o.oneof.every((m) => m.startsWith('_')),
      );
      if (oneof && !oneof[0].startsWith('_')) field.oneof = oneof[0];
      message.fields[jsonName] = field;
    }
    schema.messages[full] = message;
  }
  // Methods: the services' HTTP rules; Cloud Run maps google.longrunning and google.iam.v1 to its
  // own paths (https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.operations and
  // .../projects.locations.services/getIamPolicy), which the protos do not carry.
  const methodsOf = (service: string): Array<[string, Json]> =>
    Object.entries((types.get(service) ?? lookup(descriptor, service)).methods as Json);
  for (const service of [
    'google.cloud.run.v2.Services',
    'google.cloud.run.v2.Revisions',
    'google.cloud.run.v2.Jobs',
    'google.cloud.run.v2.Executions',
    'google.cloud.run.v2.Tasks',
    'google.cloud.run.v2.Builds',
  ]) {
    for (const [name, m] of methodsOf(service)) {
      const rule = (m.parsedOptions as Json[] | undefined)?.find((o) => o['(google.api.http)'])?.[
        '(google.api.http)'
      ] as Json | undefined;
      if (!rule) continue;
      const httpMethod = ['get', 'post', 'patch', 'put', 'delete'].find((v) => rule[v])!;
      schema.methods[`${service}.${name}`] = method(
        httpMethod.toUpperCase(),
        rule[httpMethod] as string,
        resolveType(m.requestType as string, service),
        resolveType(m.responseType as string, service),
        rule.body as string | undefined,
      );
    }
  }
  /** A Cloud Run v2 path binding `param` to a resource of a location: run('name', 'operations/*'). */
  const run = (param: string, resource: string): string =>
    `/v2/{${param}=projects/*/locations/*/${resource}}`;
  const extra: Array<[string, string, string, string, string, string | undefined]> = [
    [
      'google.longrunning.Operations.ListOperations',
      'GET',
      '/v2/{name=projects/*/locations/*}/operations',
      'google.longrunning.ListOperationsRequest',
      'google.longrunning.ListOperationsResponse',
      undefined,
    ],
    [
      'google.longrunning.Operations.GetOperation',
      'GET',
      run('name', 'operations/*'),
      'google.longrunning.GetOperationRequest',
      'google.longrunning.Operation',
      undefined,
    ],
    [
      'google.longrunning.Operations.DeleteOperation',
      'DELETE',
      run('name', 'operations/*'),
      'google.longrunning.DeleteOperationRequest',
      'google.protobuf.Empty',
      undefined,
    ],
    [
      'google.longrunning.Operations.WaitOperation',
      'POST',
      `${run('name', 'operations/*')}:wait`,
      'google.longrunning.WaitOperationRequest',
      'google.longrunning.Operation',
      '*',
    ],
  ];
  for (const resource of ['services', 'jobs']) {
    const path = run('resource', `${resource}/*`);
    extra.push(
      [
        `google.iam.v1.IAMPolicy.GetIamPolicy:${resource}`,
        'GET',
        `${path}:getIamPolicy`,
        'google.iam.v1.GetIamPolicyRequest',
        'google.iam.v1.Policy',
        undefined,
      ],
      [
        `google.iam.v1.IAMPolicy.SetIamPolicy:${resource}`,
        'POST',
        `${path}:setIamPolicy`,
        'google.iam.v1.SetIamPolicyRequest',
        'google.iam.v1.Policy',
        '*',
      ],
      [
        `google.iam.v1.IAMPolicy.TestIamPermissions:${resource}`,
        'POST',
        `${path}:testIamPermissions`,
        'google.iam.v1.TestIamPermissionsRequest',
        'google.iam.v1.TestIamPermissionsResponse',
        '*',
      ],
    );
  }
  for (const [id, httpMethod, path, request, response, body] of extra)
    schema.methods[id] = method(httpMethod, path, request, response, body);
  return schema;
}

function lookup(descriptor: Json, full: string): Json {
  return full.split('.').reduce((node: Json, part) => node.nested[part] as Json, descriptor);
}

/** The request fields a path template binds, e.g. {parent=projects/*} → parent. */
function method(
  httpMethod: string,
  path: string,
  request: string,
  response: string,
  body: string | undefined,
): MethodSchema {
  const pathParams = [...path.matchAll(/\{([\w.]+)(?:=[^}]*)?\}/g)].map((m) => m[1]!);
  return { httpMethod, path, request, response, body: body ?? null, pathParams };
}

const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

// ---- gcloud's generated clients (apitools) ----------------------------------------------------------

function apitoolsSchema(api: string, version: string): ApiSchema {
  const dumped = JSON.parse(
    execFileSync(PYTHON, [join(root, 'scripts/schemas/apitools-dump.py'), api, version], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    }),
  ) as { messages: Record<string, Json>; enums: Record<string, string[]>; methods: Record<string, Json> };
  const gcloudVersion = execFileSync('gcloud', ['version', '--format=value(version)'], {
    encoding: 'utf8',
  }).trim();
  const schema: ApiSchema = {
    api,
    version,
    source: `google-cloud-cli ${gcloudVersion}, googlecloudsdk/generated_clients/apis/${api}/${version}/${api}_${version}_messages.py`,
    messages: {},
    enums: Object.fromEntries(
      Object.entries(dumped.enums).map(([n, values]) => [
        n,
        Object.fromEntries(values.map((v, i) => [v, i])),
      ]),
    ),
    methods: {},
  };
  const field = (f: Json): FieldSchema => ({
    type: f.type as FieldSchema['type'],
    ...(f.ref ? { ref: f.ref as string } : {}),
    ...(f.repeated ? { repeated: true } : {}),
    ...(f.outputOnly ? { outputOnly: true } : {}),
  });
  for (const [name, m] of Object.entries(dumped.messages)) {
    const message: MessageSchema = { fields: {} };
    for (const [jsonName, f] of Object.entries(m.fields as Record<string, Json>))
      message.fields[jsonName] = field(f);
    if (m.map) message.mapOf = field(m.map as Json);
    schema.messages[name] = message;
  }
  for (const [id, m] of Object.entries(dumped.methods)) {
    schema.methods[id] = {
      httpMethod: m.httpMethod as string,
      path: m.path as string,
      request: m.request as string,
      response: m.response as string,
      body: (m.body as string | null) ?? null,
      ...(m.bodyMessage ? { bodyMessage: m.bodyMessage as string } : {}),
      pathParams: m.pathParams as string[],
      queryParams: m.queryParams as string[],
    };
  }
  return schema;
}

// ---- discovery documents ----------------------------------------------------------------------------

function discoverySchema(doc: Json, source: string): ApiSchema {
  const schema: ApiSchema = {
    api: doc.name as string,
    version: doc.version as string,
    source: `${source} (revision ${doc.revision as string})`,
    messages: {},
    enums: {},
    methods: {},
  };
  const field = (p: Json, owner: string, name: string): FieldSchema => {
    if (p.type === 'array') return { ...field(p.items as Json, owner, name), repeated: true };
    if (p.$ref) return { type: 'message', ref: p.$ref as string };
    if (p.enum) {
      const ref = `${owner}.${name}`;
      schema.enums[ref] = Object.fromEntries((p.enum as string[]).map((v, i) => [v, i]));
      return { type: 'enum', ref };
    }
    if (p.type === 'object')
      return p.additionalProperties
        ? { type: 'map', key: 'string', value: field(p.additionalProperties as Json, owner, name) }
        : { type: 'any' };
    if (p.type === 'integer') return { type: p.format === 'uint32' ? 'uint32' : 'int32' };
    if (p.type === 'number') return { type: p.format === 'float' ? 'float' : 'double' };
    if (p.type === 'boolean') return { type: 'bool' };
    if (p.type === 'any') return { type: 'any' };
    const formats: Record<string, FieldSchema['type']> = {
      int64: 'int64',
      uint64: 'uint64',
      byte: 'bytes',
      'google-duration': 'duration',
      'google-datetime': 'timestamp',
      'google-fieldmask': 'string',
    };
    return { type: formats[p.format as string] ?? 'string' };
  };
  for (const [name, s] of Object.entries(doc.schemas as Record<string, Json>)) {
    const message: MessageSchema = { fields: {} };
    for (const [prop, p] of Object.entries((s.properties ?? {}) as Record<string, Json>)) {
      message.fields[prop] = field(p, name, prop);
      // The proto's own name, which Google's JSON parser accepts as well (STS's OAuth clients send it).
      const proto = prop.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      if (proto !== prop) message.fields[prop]!.proto = proto;
      if (/^Output only\./.test(String(p.description ?? '')) || p.readOnly)
        message.fields[prop]!.outputOnly = true;
    }
    schema.messages[name] = message;
  }
  const walk = (resources: Json): void => {
    for (const r of Object.values(resources)) {
      for (const m of Object.values((r.methods ?? {}) as Record<string, Json>)) {
        const params = Object.entries((m.parameters ?? {}) as Record<string, Json>);
        schema.methods[m.id as string] = {
          httpMethod: m.httpMethod as string,
          path: m.path as string,
          request: (m.request?.$ref as string | undefined) ?? '',
          response: (m.response?.$ref as string | undefined) ?? '',
          body: m.request ? '*' : null,
          pathParams: params.filter(([, p]) => p.location === 'path').map(([n]) => n),
          queryParams: params.filter(([, p]) => p.location === 'query').map(([n]) => n),
        };
      }
      if (r.resources) walk(r.resources as Json);
    }
  };
  walk(doc.resources as Json);
  return schema;
}

// ---- timestamps and durations from the API's protos ------------------------------------------------

/**
 * gcloud's generated messages write google.protobuf.Timestamp and Duration fields as plain strings
 * (the discovery document's `format: google-datetime`/`google-duration` is lost): the API's own
 * protos, shipped as JSON descriptors in its Node client (fetched with `npm pack` into a temporary
 * directory, not a dependency), say which fields they are. Each such field of `schema` whose
 * message has the proto message's name becomes a timestamp or duration; returns the source.
 */
function protoTimes(schema: ApiSchema, pkg: string, protoPackage: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'proto-times-'));
  try {
    const tarball = execFileSync('npm', ['pack', pkg, '--silent'], { cwd: dir, encoding: 'utf8' }).trim();
    execFileSync('tar', ['xzf', tarball, 'package/build/protos/protos.json', 'package/package.json'], {
      cwd: dir,
    });
    const version = (JSON.parse(readFileSync(join(dir, 'package/package.json'), 'utf8')) as Json).version;
    let node = JSON.parse(readFileSync(join(dir, 'package/build/protos/protos.json'), 'utf8')) as Json;
    for (const part of protoPackage.split('.')) node = node.nested[part] as Json;
    let changed = 0;
    const walk = (scope: Json): void => {
      for (const [name, type] of Object.entries((scope.nested ?? {}) as Record<string, Json>)) {
        for (const [field, f] of Object.entries((type.fields ?? {}) as Record<string, Json>)) {
          const as = { 'google.protobuf.Timestamp': 'timestamp', 'google.protobuf.Duration': 'duration' }[
            String(f.type).replace(/^\./, '')
          ] as FieldSchema['type'] | undefined;
          const target = schema.messages[name]?.fields[field];
          if (as && target?.type === 'string') {
            target.type = as;
            changed += 1;
          }
        }
        walk(type);
      }
    };
    walk(node);
    console.log(`${schema.api}-${schema.version}: ${changed} timestamp and duration fields from ${pkg}`);
    return `${pkg.replace(/@[^@/]+$/, '')}@${version} build/protos/protos.json (${protoPackage})`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The Node client whose protos type an apitools-described API's timestamps and durations. */
const PROTO_TIMES: Record<string, [string, string]> = {
  'iamcredentials-v1': ['@google-cloud/iam-credentials@4.2.2', 'google.iam.credentials.v1'],
  'secretmanager-v1': ['@google-cloud/secret-manager@7.2.0', 'google.cloud.secretmanager.v1'],
  'artifactregistry-v1': ['@google-cloud/artifact-registry@5.1.0', 'google.devtools.artifactregistry.v1'],
};

const stsArg = process.argv.indexOf('--sts-discovery');
/** --only NAME (repeatable): refresh just these, e.g. when adding an API. */
const only = process.argv.flatMap((a, i) => (process.argv[i - 1] === '--only' ? [a] : []));
const wanted = (name: string): boolean => only.length === 0 || only.includes(name);
if (wanted('run-v2')) write('run-v2', protoSchema());
for (const [api, version] of [
  ['run', 'v1'],
  ['iamcredentials', 'v1'],
  ['secretmanager', 'v1'],
  ['serviceusage', 'v1'],
  ['iam', 'v1'],
  ['cloudresourcemanager', 'v1'],
  ['artifactregistry', 'v1'],
  ['logging', 'v2'],
  ['storage', 'v1'],
  ['cloudbuild', 'v1'],
] as const) {
  if (!wanted(`${api}-${version}`)) continue;
  const schema = apitoolsSchema(api, version);
  const times = PROTO_TIMES[`${api}-${version}`];
  if (times) schema.source += `; timestamps and durations: ${protoTimes(schema, ...times)}`;
  write(`${api}-${version}`, schema);
}
const stsUrl = 'https://sts.googleapis.com/$discovery/rest?version=v1';
const stsDoc =
  stsArg > 0
    ? (JSON.parse(readFileSync(process.argv[stsArg + 1]!, 'utf8')) as Json)
    : wanted('sts-v1')
      ? await fetch(stsUrl)
          .then((r) => r.json() as Promise<Json>)
          .catch(() => undefined)
      : undefined;
if (!wanted('sts-v1')) {
  // left as it is
} else if (stsDoc)
  write(
    'sts-v1',
    discoverySchema(
      stsDoc,
      stsArg > 0 ? `${stsUrl}, as googleapis/google-api-go-client keeps it in sts/v1/sts-api.json` : stsUrl,
    ),
  );
else console.log(`sts-v1: ${stsUrl} unreachable and no --sts-discovery FILE given: STS stays unchecked`);
