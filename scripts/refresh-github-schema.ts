// Refreshes emulator/schemas/github-rest.json: the part of GitHub's own OpenAPI description
// (@octokit/openapi, generated/api.github.com.json) that describes the operations the emulated
// GitHub serves — each operation's JSON responses by status, and every component schema they
// reference — so the emulator's answers are checked against GitHub's description (issue 17)
// without a dependency of hundreds of megabytes. The package is fetched with `npm pack` into a
// temporary directory and removed afterwards.
// Usage: npx tsx scripts/refresh-github-schema.ts [--from api.github.com.json]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GITHUB_OPERATIONS } from '../emulator/schema/openapi.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const PACKAGE = '@octokit/openapi@23.0.2';

function description(): { doc: Json; source: string } {
  const from = process.argv.indexOf('--from');
  if (from > 0) {
    const file = process.argv[from + 1]!;
    return { doc: JSON.parse(readFileSync(file, 'utf8')) as Json, source: file };
  }
  const dir = mkdtempSync(join(tmpdir(), 'octokit-openapi-'));
  try {
    const tarball = execFileSync('npm', ['pack', PACKAGE, '--silent'], { cwd: dir, encoding: 'utf8' }).trim();
    execFileSync('tar', ['xzf', tarball, 'package/generated/api.github.com.json'], { cwd: dir });
    const file = join(dir, 'package/generated/api.github.com.json');
    return {
      doc: JSON.parse(readFileSync(file, 'utf8')) as Json,
      source: `${PACKAGE}, generated/api.github.com.json`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
