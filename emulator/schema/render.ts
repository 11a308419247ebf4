// Renders what an emulated Google API answers as proto3 JSON writes the method's response message:
// only the fields the schema defines, default values omitted (a scalar at its zero value, an enum at
// its first value, an empty list), 64-bit integers as strings, enums by name, durations as "300s"
// and timestamps in RFC 3339 with a Z. A field the schema does not define, or a value of the wrong
// type, is the emulator's own bug: renderResponse throws, and the pipeline answers 500, so that a
// test sees it instead of a client learning to expect what Google never sends. `responseProblems`
// is the same walk without the fixes, for tests that check what went over the wire.
import type { ApiSchema, FieldSchema } from './schema.js';
import { durationProblem, WELL_KNOWN } from './validate.js';

type Json = Record<string, unknown>;

/** How Google writes a timestamp: UTC with a Z, and 0, 3, 6 or 9 fractional digits. */
const GOOGLE_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3}|\.\d{6}|\.\d{9})?Z$/;

class Renderer {
  readonly problems: string[] = [];
  /** `fix`: make canonical what can be (int64 numbers, enum numbers, defaults); else report it. */
  constructor(
    private readonly schema: ApiSchema,
    private readonly fix: boolean,
  ) {}

  private problem(at: string, what: string): undefined {
    this.problems.push(`${at || '(root)'}: ${what}`);
    return undefined;
  }

  message(ref: string, value: unknown, at: string): Json | undefined {
    const special = WELL_KNOWN[ref];
    if (special) return this.scalar({ type: special, ref }, value, at) as Json | undefined;
    const message = this.schema.messages[ref];
    if (!message) return this.problem(at, `the schema has no message ${ref}`);
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      return this.problem(at, `${JSON.stringify(value)} where a ${ref} object belongs`);
    if (message.mapOf) return this.map(message.mapOf, value as Json, at);
    const out: Json = {};
    for (const [key, v] of Object.entries(value as Json)) {
      const field = message.fields[key];
      const path = at ? `${at}.${key}` : key;
      if (!field) {
        this.problem(path, `${ref} has no field "${key}"`);
        continue;
      }
      const rendered = this.field(field, v, path);
      if (rendered !== undefined) out[key] = rendered;
    }
    return out;
  }

  private field(field: FieldSchema, value: unknown, at: string): unknown {
    if (value === undefined || value === null) return undefined;
    if (field.type === 'map') {
      if (typeof value !== 'object' || Array.isArray(value))
        return this.problem(at, `${JSON.stringify(value)} where a map belongs`);
      const out = this.map(field.value!, value as Json, at);
      return Object.keys(out).length ? out : this.omitted(at, 'an empty map');
    }
    if (field.repeated) {
      if (!Array.isArray(value)) return this.problem(at, `${JSON.stringify(value)} where a list belongs`);
      if (!value.length) return this.omitted(at, 'an empty list');
      return value.map((item, i) => this.single(field, item, `${at}[${i}]`, true));
    }
    if (Array.isArray(value)) return this.problem(at, 'a list where a single value belongs');
    return this.single(field, value, at, false);
  }

  /** A default value: proto3 JSON leaves it out; the checker reports it. */
  private omitted(at: string, what: string): undefined {
    if (!this.fix) this.problem(at, `${what} (proto3 JSON omits default values)`);
    return undefined;
  }

  private map(value: FieldSchema, entries: Json, at: string): Json {
    const out: Json = {};
    for (const [k, v] of Object.entries(entries)) {
      // Map values are written even at their default.
      const rendered = this.single(value, v, `${at}[${JSON.stringify(k)}]`, true);
      if (rendered !== undefined) out[k] = rendered;
    }
    return out;
  }

  /** One value of a field (not a list); `kept`: an element of a list or map, never omitted. */
  private single(field: FieldSchema, value: unknown, at: string, kept: boolean): unknown {
    if (field.type === 'message' && !WELL_KNOWN[field.ref!]) return this.message(field.ref!, value, at);
    const rendered = this.scalar(
      field.type === 'message' ? { ...field, type: WELL_KNOWN[field.ref!]! } : field,
      value,
      at,
    );
    // A oneof member has explicit presence: proto3 JSON writes it set, even to its default.
    if (kept || field.oneof || rendered === undefined) return rendered;
    if (rendered === '' || rendered === false || rendered === 0 || rendered === '0')
      return this.omitted(at, `the default value ${JSON.stringify(rendered)}`);
    if (field.type === 'enum' && this.schema.enums[field.ref!]?.[rendered as string] === 0)
      return this.omitted(at, `the default enum value ${JSON.stringify(rendered)}`);
    return rendered;
  }

  private scalar(field: FieldSchema, value: unknown, at: string): unknown {
    const wrong = (): undefined => this.problem(at, `${JSON.stringify(value)} is not a ${field.type}`);
    switch (field.type) {
      case 'any':
        return this.any(value, at);
      case 'string':
        return typeof value === 'string' ? value : wrong();
      case 'bool':
        return typeof value === 'boolean' ? value : wrong();
      case 'int32':
      case 'uint32':
        return typeof value === 'number' && Number.isInteger(value) ? value : wrong();
      case 'int64':
      case 'uint64':
        if (typeof value === 'string' && /^-?\d+$/.test(value)) return value;
        if (typeof value === 'number' && Number.isInteger(value)) {
          if (this.fix) return String(value);
          return this.problem(
            at,
            `the 64-bit integer ${value} is a JSON number; proto3 JSON writes a string`,
          );
        }
        return wrong();
      case 'double':
      case 'float':
        return typeof value === 'number' || (typeof value === 'string' && /^(NaN|-?Infinity)$/.test(value))
          ? value
          : wrong();
      case 'bytes':
        return typeof value === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(value) ? value : wrong();
      case 'enum': {
        const values = this.schema.enums[field.ref!] ?? {};
        if (typeof value === 'string' && value in values) return value;
        if (typeof value === 'number') {
          const name = Object.entries(values).find(([, n]) => n === value)?.[0];
          if (name && this.fix) return name;
          if (name)
            return this.problem(at, `the enum value ${value} is a number; proto3 JSON writes ${name}`);
        }
        return this.problem(at, `${JSON.stringify(value)} is not a value of ${field.ref}`);
      }
      case 'duration': {
        const problem = typeof value === 'string' ? durationProblem(value) : 'not a string';
        return problem ? this.problem(at, `duration ${JSON.stringify(value)}: ${problem}`) : value;
      }
      case 'timestamp':
        return typeof value === 'string' && GOOGLE_TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value))
          ? value
          : this.problem(at, `timestamp ${JSON.stringify(value)} is not RFC 3339 in UTC as Google writes it`);
      default:
        return wrong();
    }
  }

  /** A google.protobuf.Any with a type this schema knows is rendered as that message. */
  private any(value: unknown, at: string): unknown {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    const type = (value as Json)['@type'];
    const ref = typeof type === 'string' ? type.replace(/^type\.googleapis\.com\//, '') : undefined;
    if (!ref || !this.schema.messages[ref]) return value;
    const { '@type': _type, ...fields } = value as Json;
    return { '@type': type, ...this.message(ref, fields, at) };
  }
}

/** The method's response message, as schemaOf(...).methods names it. */
function responseOf(schema: ApiSchema, methodId: string): string {
  const method = schema.methods[methodId];
  if (!method) throw new Error(`schema ${schema.api}-${schema.version} has no method ${methodId}`);
  return method.response;
}

/**
 * `body` as Google writes `methodId`'s response; throws (a 500 from the pipeline) when it holds a
 * field the response message does not define or a value of the wrong type.
 */
export function renderResponse(schema: ApiSchema, methodId: string, body: unknown): unknown {
  const renderer = new Renderer(schema, true);
  const rendered = renderer.message(responseOf(schema, methodId), body, '');
  if (renderer.problems.length)
    throw new Error(
      `The emulator's response to ${methodId} does not conform to ${schema.api} ${schema.version}: ${renderer.problems.join('; ')}`,
    );
  return rendered;
}

/**
 * What is wrong with `body` as `methodId`'s response (or as the message `ref`, when given): every
 * field the schema lacks, wrong type, and value proto3 JSON would write otherwise. Empty when it conforms.
 */
export function responseProblems(
  schema: ApiSchema,
  methodId: string | { message: string },
  body: unknown,
): string[] {
  const renderer = new Renderer(schema, false);
  renderer.message(typeof methodId === 'string' ? responseOf(schema, methodId) : methodId.message, body, '');
  return renderer.problems;
}
