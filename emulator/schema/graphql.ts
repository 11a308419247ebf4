// What the emulated GitHub's GraphQL answers for `{ viewer { … } }`, held to GitHub's own GraphQL
// schema (emulator/schemas/github-graphql.json, from @octokit/graphql-schema by
// scripts/refresh-github-schema.ts): a field the viewer's type lacks is refused as GitHub refuses
// it, and each value must fit its field's type (a non-null field the emulator cannot fill is its
// own bug, a 500).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}

interface ViewerSchema {
  source: string;
  viewer: { type: TypeRef; fields: Record<string, TypeRef> };
}

let loaded: ViewerSchema | undefined;

function viewerSchema(): ViewerSchema {
  loaded ??= JSON.parse(
    readFileSync(join(import.meta.dirname, '..', 'schemas', 'github-graphql.json'), 'utf8'),
  ) as ViewerSchema;
  return loaded;
}

/** The viewer's type name (User). */
export function viewerTypeName(): string {
  let t = viewerSchema().viewer.type;
  while (t.ofType) t = t.ofType;
  return t.name!;
}

/** A GraphQL error as GitHub's GraphQL (graphql-ruby) writes it for a field its type lacks. */
export function undefinedField(field: string): Record<string, unknown> {
  const typeName = viewerTypeName();
  return {
    path: ['query', 'viewer', field],
    extensions: { code: 'undefinedField', typeName, fieldName: field },
    message: `Field '${field}' doesn't exist on type '${typeName}'`,
  };
}

const SCALARS: Record<string, (v: unknown) => boolean> = {
  String: (v) => typeof v === 'string',
  ID: (v) => typeof v === 'string',
  Int: (v) => typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= 2 ** 31 - 1,
  Boolean: (v) => typeof v === 'boolean',
  // GitHub's custom scalars are strings on the wire.
  URI: (v) => typeof v === 'string',
  HTML: (v) => typeof v === 'string',
  DateTime: (v) => typeof v === 'string' && !Number.isNaN(Date.parse(v)),
};

/**
 * The viewer's fields as the query asks for them: `errors` for fields its type lacks, else `data`;
 * throws when a value does not fit GitHub's type for it (the emulator's bug).
 */
export function viewerAnswer(
  wanted: string[],
  known: Record<string, unknown>,
): { data: { viewer: Record<string, unknown> } } | { errors: Array<Record<string, unknown>> } {
  const { fields } = viewerSchema().viewer;
  const missing = wanted.filter((f) => !(f in fields));
  if (missing.length) return { errors: missing.map(undefinedField) };
  const viewer: Record<string, unknown> = {};
  for (const field of wanted) {
    let type = fields[field]!;
    const value = known[field] ?? null;
    const nonNull = type.kind === 'NON_NULL';
    if (nonNull) type = type.ofType!;
    const fits =
      value === null
        ? !nonNull
        : type.kind === 'ENUM'
          ? typeof value === 'string'
          : type.kind === 'SCALAR' && (SCALARS[type.name!]?.(value) ?? false);
    if (!fits)
      throw new Error(
        `The emulator's viewer.${field} (${JSON.stringify(value)}) does not fit GitHub's type ${nonNull ? `${type.name}!` : type.name}`,
      );
    viewer[field] = value;
  }
  return { data: { viewer } };
}
