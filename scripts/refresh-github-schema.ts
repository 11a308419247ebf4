// Refreshes emulator/schemas/github-rest.json: the part of GitHub's own OpenAPI description
// (@octokit/openapi, generated/api.github.com.json) that describes the operations the emulated
// GitHub serves — each operation's JSON responses by status, and every component schema they
// reference — so the emulator's answers are checked against GitHub's description (issue 17)
// without a dependency of hundreds of megabytes. The package is fetched with `npm pack` into a
// temporary directory and removed afterwards.
// It also writes emulator/schemas/github-graphql.json: from GitHub's GraphQL schema
// (@octokit/graphql-schema, schema.json, the introspection result), the type of Query.viewer and
// that type's fields that take no arguments, which is what the emulated GraphQL serves.
// Usage: npx tsx scripts/refresh-github-schema.ts [--from api.github.com.json]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GITHUB_OPERATIONS } from '../emulator/schema/openapi.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const PACKAGE = '@octokit/openapi@23.0.2';
const GRAPHQL_PACKAGE = '@octokit/graphql-schema@15.26.1';

/** FILE of the npm package PKG, parsed (fetched with npm pack into a temporary directory). */
function packaged(pkg: string, file: string): Json {
  const dir = mkdtempSync(join(tmpdir(), 'octokit-'));
  try {
    const tarball = execFileSync('npm', ['pack', pkg, '--silent'], { cwd: dir, encoding: 'utf8' }).trim();
    execFileSync('tar', ['xzf', tarball, `package/${file}`], { cwd: dir });
    return JSON.parse(readFileSync(join(dir, 'package', file), 'utf8')) as Json;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function description(): { doc: Json; source: string } {
  const from = process.argv.indexOf('--from');
  if (from > 0) {
    const file = process.argv[from + 1]!;
    return { doc: JSON.parse(readFileSync(file, 'utf8')) as Json, source: file };
  }
  return {
    doc: packaged(PACKAGE, 'generated/api.github.com.json'),
    source: `${PACKAGE}, generated/api.github.com.json`,
  };
}

const { doc, source } = description();
const schemas: Json = {};
const pending: string[] = [];

/** Notes every component schema `node` references, to copy them in too. */
function collect(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(collect);
  if (!node || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node as Json)) {
    if (key === '$ref' && typeof value === 'string') {
      const name = /^#\/components\/schemas\/(.+)$/.exec(value)?.[1];
      if (!name) throw new Error(`unexpected reference ${value}`);
      if (!(name in schemas)) {
        schemas[name] = null;
        pending.push(name);
      }
    } else collect(value);
  }
}

const operations: Json = {};
for (const operation of GITHUB_OPERATIONS) {
  const [method, path] = operation.split(' ') as [string, string];
  const described = doc.paths[path]?.[method.toLowerCase()] as Json | undefined;
  if (!described) throw new Error(`${operation} is not in ${source}`);
  const responses: Json = {};
  for (const [status, response] of Object.entries(described.responses as Json)) {
    const resolved = (
      response.$ref ? doc.components.responses[(response.$ref as string).split('/').pop()!] : response
    ) as Json;
    const schema = resolved.content?.['application/json']?.schema as Json | undefined;
    responses[status] = schema ?? null;
    collect(schema);
  }
  operations[operation] = { operationId: described.operationId, responses };
}
// The shapes GitHub refuses any operation in, whether or not the operation lists the status.
collect({ $ref: '#/components/schemas/basic-error' });
collect({ $ref: '#/components/schemas/validation-error' });
while (pending.length) {
  const name = pending.pop()!;
  schemas[name] = doc.components.schemas[name];
  collect(schemas[name]);
}

const out = resolve(import.meta.dirname, '..', 'emulator', 'schemas', 'github-rest.json');
const sorted = Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b)));
writeFileSync(
  out,
  `${JSON.stringify({ source, openapi: doc.openapi, operations, components: { schemas: sorted } }, null, 1)}\n`,
);
console.log(`github-rest: ${GITHUB_OPERATIONS.length} operations, ${Object.keys(sorted).length} schemas`);

// GraphQL: Query.viewer's type and its argument-free fields, each with its type reference.
const introspection = packaged(GRAPHQL_PACKAGE, 'schema.json');
const types = new Map(
  ((introspection.data ?? introspection).__schema.types as Json[]).map((t) => [t.name as string, t]),
);
const viewer = (types.get('Query')!.fields as Json[]).find((f) => f.name === 'viewer')!;
let named = viewer.type as Json;
while (named.ofType) named = named.ofType as Json;
const viewerFields = Object.fromEntries(
  (types.get(named.name as string)!.fields as Json[])
    .filter((f) => (f.args as Json[]).length === 0)
    .map((f) => [f.name as string, f.type as Json]),
);
writeFileSync(
  resolve(import.meta.dirname, '..', 'emulator', 'schemas', 'github-graphql.json'),
  `${JSON.stringify({ source: `${GRAPHQL_PACKAGE}, schema.json`, viewer: { type: viewer.type, fields: viewerFields } }, null, 1)}\n`,
);
console.log(`github-graphql: viewer (${named.name as string}), ${Object.keys(viewerFields).length} fields`);
