// Checks what the emulated GitHub answers against GitHub's own OpenAPI description of the operation
// and status (emulator/schemas/github-rest.json, extracted from @octokit/openapi by
// scripts/refresh-github-schema.ts): types, required properties, enums, nullability, items, and the
// oneOf/anyOf/allOf combinations the description uses. The subset of OpenAPI 3.0 schema keywords
// that description needs, no more; keywords it does not check (formats, examples) are notes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface OpenApiSubset {
  source: string;
  operations: Record<string, { operationId: string; responses: Record<string, Json | null> }>;
  components: { schemas: Record<string, Json> };
}

/** What emulator/apis/github.ts serves: METHOD and path template as GitHub's description names them. */
export const GITHUB_OPERATIONS = [
  'GET /user',
  'GET /repos/{owner}/{repo}/issues/{issue_number}/comments',
  'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
  'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}',
  'DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}',
  'POST /repos/{owner}/{repo}/deployments',
  'GET /repos/{owner}/{repo}/deployments',
  'GET /repos/{owner}/{repo}/deployments/{deployment_id}',
  'POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses',
  'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses',
  'POST /repos/{owner}/{repo}/statuses/{sha}',
  'GET /repos/{owner}/{repo}/commits/{ref}/statuses',
  'GET /repos/{owner}/{repo}/commits/{ref}/status',
];

let loaded: OpenApiSubset | undefined;

/** emulator/schemas/github-rest.json, read once. */
export function githubDescription(): OpenApiSubset {
  loaded ??= JSON.parse(
    readFileSync(join(import.meta.dirname, '..', 'schemas', 'github-rest.json'), 'utf8'),
  ) as OpenApiSubset;
  return loaded;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function problems(doc: OpenApiSubset, schema: Json, value: unknown, at: string): string[] {
  const where = at || '(root)';
  if (typeof schema.$ref === 'string') {
    const name = (schema.$ref as string).replace('#/components/schemas/', '');
    const target = doc.components.schemas[name];
    if (!target) return [`${where}: the description has no schema ${name}`];
    return problems(doc, target, value, at);
  }
  if (value === null)
    return schema.nullable || schema.type === 'null' ? [] : [`${where}: null is not allowed`];
  const out: string[] = [];
  if (schema.allOf) for (const part of schema.allOf as Json[]) out.push(...problems(doc, part, value, at));
  const alternatives = (schema.oneOf ?? schema.anyOf) as Json[] | undefined;
  if (alternatives) {
    const discriminator = schema.discriminator as
      { propertyName: string; mapping?: Record<string, string> } | undefined;
    const chosen =
      discriminator && typeof value === 'object'
        ? discriminator.mapping?.[(value as Json)[discriminator.propertyName]]
        : undefined;
    if (chosen) out.push(...problems(doc, { $ref: chosen }, value, at));
    else {
      // GitHub's alternatives overlap (a private user is also a public one): one match is enough.
      const each = alternatives.map((a) => problems(doc, a, value, at));
      if (!each.some((p) => p.length === 0))
        out.push(
          `${where}: matches none of its ${alternatives.length} alternatives (${each.map((p) => p[0]).join('; ')})`,
        );
    }
  }
  const type = schema.type as string | undefined;
  if (type) {
    const actual = typeOf(value);
    if (actual !== type && !(type === 'number' && actual === 'integer'))
      return [...out, `${where}: ${JSON.stringify(value)} is not ${type}`];
  }
  if (schema.enum && !(schema.enum as unknown[]).includes(value))
    out.push(`${where}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'string') {
    if (schema.format === 'date-time' && !DATE_TIME.test(value))
      out.push(`${where}: ${JSON.stringify(value)} is not a date-time`);
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength)
      out.push(`${where}: longer than ${schema.maxLength}`);
  }
  if (Array.isArray(value) && schema.items)
    value.forEach((item, i) => out.push(...problems(doc, schema.items as Json, item, `${at}[${i}]`)));
  if (typeOf(value) === 'object') {
    const object = value as Json;
    for (const name of (schema.required ?? []) as string[])
      if (!(name in object)) out.push(`${at ? `${at}.` : ''}${name}: required, missing`);
    const properties = (schema.properties ?? {}) as Record<string, Json>;
    for (const [name, v] of Object.entries(object)) {
      const path = at ? `${at}.${name}` : name;
      if (properties[name]) out.push(...problems(doc, properties[name], v, path));
      else if (schema.additionalProperties === false) out.push(`${path}: not a property of this object`);
      else if (typeof schema.additionalProperties === 'object')
        out.push(...problems(doc, schema.additionalProperties as Json, v, path));
    }
  }
  return out;
}

/**
 * What is wrong with `body` as GitHub's answer to `operation` (e.g. "GET /user") with `status`:
 * empty when it validates. A status the description does not list is a problem of its own.
 */
export function githubResponseProblems(operation: string, status: number, body: unknown): string[] {
  const doc = githubDescription();
  const described = doc.operations[operation];
  if (!described) return [`${operation} is not among the described operations`];
  let schema: Json | null | undefined = described.responses[String(status)];
  const listed = String(status) in described.responses;
  if (!listed && status < 400)
    return [`${operation} answers ${status}, which GitHub's description does not list`];
  // GitHub answers any operation 401, 403, 404 or 422 in its common error shapes, listed or not,
  // and with a body where the description lists an error without one (a deployment's 409).
  if (status >= 400 && !schema)
    schema = { $ref: `#/components/schemas/${status === 422 ? 'validation-error' : 'basic-error'}` };
  if (!schema) return body === undefined || body === '' ? [] : [`${operation} ${status} has no body`];
  return problems(doc, schema, body, '');
}
