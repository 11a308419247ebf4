// Checks a request to an emulated Google API against the API's schema, as Google's front end does
// when it turns JSON into the method's request message: unknown fields at any depth, wrong JSON
// types, enum values outside the set, malformed durations, timestamps and 64-bit integers, and
// query parameters the request message has no field for are refused with 400 INVALID_ARGUMENT,
// every problem at once, each with its path. Output-only fields are dropped, as Google ignores them.
// The wording follows proto3 JSON parsing in Google's front end (protobuf's ProtoStreamObjectWriter)
// as quoted in public error reports; __tests__/unit/schema-validate.test.ts cites them.
import { GoogleApiError } from '../errors.js';
import type { ApiSchema, FieldSchema, FieldType, MethodSchema } from './schema.js';

/** Parameters every Google REST method takes (the discovery documents' top-level "parameters"). */
const SYSTEM_PARAMETERS = new Set([
  '$.xgafv',
  'access_token',
  'alt',
  'callback',
  'fields',
  'key',
  'oauth_token',
  'prettyPrint',
  'quotaUser',
  'upload_protocol',
  'uploadType',
]);

/** A google.rpc.BadRequest field violation; a problem at the root of the body has no field. */
export interface Violation {
  field?: string;
  description: string;
}

const INVALID = 'Invalid JSON payload received.';

type Json = Record<string, unknown>;

class Checker {
  readonly violations: Violation[] = [];
  constructor(private readonly schema: ApiSchema) {}

  /** The name as it was sent (Google echoes it, whatever its case). */
  unknown(name: string, at: string, why = 'Cannot find field.'): void {
    this.violations.push({
      ...(at ? { field: at } : {}),
      description: `${INVALID} Unknown name "${name}"${at ? ` at '${at}'` : ''}: ${why}`,
    });
  }

  invalid(at: string, type: string, shown: string): void {
    this.violations.push({ field: at, description: `Invalid value at '${at}' (${type}), ${shown}` });
  }

  /** The type's name as Google's messages print it: TYPE_INT32, or type.googleapis.com/NAME. */
  typeName(field: FieldSchema): string {
    if (field.type === 'enum' || field.type === 'message')
      return `type.googleapis.com/${this.qualified(field.ref!)}`;
    if (field.type === 'duration') return 'type.googleapis.com/google.protobuf.Duration';
    if (field.type === 'timestamp') return 'type.googleapis.com/google.protobuf.Timestamp';
    return `TYPE_${field.type.toUpperCase()}`;
  }

  private qualified(ref: string): string {
    return ref.startsWith('google.') ? ref : `google.${this.schema.api}.${this.schema.version}.${ref}`;
  }

  /** A message given as JSON: known fields (by JSON or proto name), each checked; returns it with JSON names. */
  message(ref: string, value: unknown, at: string): Json | undefined {
    const message = this.schema.messages[ref];
    if (!message) throw new Error(`schema ${this.schema.api}-${this.schema.version} has no message ${ref}`);
    if (value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.invalid(at, `type.googleapis.com/${this.qualified(ref)}`, JSON.stringify(value));
      return undefined;
    }
    if (message.mapOf)
      return this.map({ type: 'map', key: 'string', value: message.mapOf }, value as Json, at);
    const out: Json = {};
    const byProto = new Map(Object.entries(message.fields).map(([json, f]) => [f.proto ?? json, json]));
    for (const [key, v] of Object.entries(value as Json)) {
      const jsonName = key in message.fields ? key : byProto.get(key);
      const field = jsonName === undefined ? undefined : message.fields[jsonName];
      if (!field || jsonName === undefined) {
        this.unknown(key, at);
        continue;
      }
      const path = `${at ? `${at}.` : ''}${field.proto ?? jsonName}`;
      const checked = this.field(field, v, path, key, at, jsonName);
      if (field.outputOnly || checked === undefined) continue;
      out[jsonName] = checked;
    }
    return out;
  }

  field(
    field: FieldSchema,
    value: unknown,
    path: string,
    key: string,
    parent: string,
    jsonName = key,
  ): unknown {
    if (value === null) return undefined;
    if (field.type === 'map') {
      if (typeof value !== 'object' || Array.isArray(value)) {
        this.invalid(path, 'TYPE_MESSAGE', JSON.stringify(value));
        return undefined;
      }
      return this.map(field, value as Json, path);
    }
    if (field.repeated) {
      if (!Array.isArray(value)) {
        this.invalid(path, this.typeName(field), JSON.stringify(value));
        return undefined;
      }
      return value.map((item, i) => this.value(field, item, `${path}[${i}]`, jsonName));
    }
    if (Array.isArray(value)) {
      this.unknown(key, parent, 'Proto field is not repeating, cannot start list.');
      return undefined;
    }
    return this.value(field, value, path, jsonName);
  }

  /** A map: Google's paths name an entry by its position, as `labels[2].value`. */
  map(field: FieldSchema, value: Json, path: string): Json {
    const out: Json = {};
    for (const [index, [k, v]] of Object.entries(value).entries()) {
      const at = `${path}[${index}].value`;
      if (field.key && field.key !== 'string' && !/^-?\d+$/.test(k)) {
        this.invalid(at, `TYPE_${field.key.toUpperCase()}`, JSON.stringify(k));
        continue;
      }
      const checked = this.value(field.value!, v, at, 'value');
      if (checked !== undefined) out[k] = checked;
    }
    return out;
  }

  /** One value of the field's type (not a list); `jsonName` is the field's, for Google's "Field '…'". */
  value(field: FieldSchema, value: unknown, at: string, jsonName = at): unknown {
    if (value === null) return undefined;
    if (field.type === 'message') {
      const special = WELL_KNOWN[field.ref!];
      if (special) return this.value({ ...field, type: special }, value, at, jsonName);
      return this.message(field.ref!, value, at);
    }
    const scalar = typeof value === 'object' ? undefined : value;
    if (typeof value === 'object' && field.type !== 'any') {
      // Google names the field here, not its type.
      this.invalid(at, field.proto ?? jsonName, 'Starting an object on a scalar field');
      return undefined;
    }
    const bad = (): undefined => {
      this.invalid(at, this.typeName(field), JSON.stringify(value));
      return undefined;
    };
    switch (field.type) {
      case 'any':
        return value;
      case 'string':
        return typeof scalar === 'string' ? scalar : bad();
      case 'bool':
        return typeof scalar === 'boolean' ? scalar : bad();
      case 'int32':
      case 'uint32':
      case 'int64':
      case 'uint64': {
        const n = integerOf(scalar, field.type);
        if (n === undefined) return bad();
        // 32-bit integers are JSON numbers; 64-bit ones keep the form they came in (proto3 JSON
        // writes them as strings).
        return field.type.endsWith('64') ? scalar : Number(n);
      }
      case 'double':
      case 'float':
        if (typeof scalar === 'number') return scalar;
        if (
          typeof scalar === 'string' &&
          (/^(NaN|-?Infinity)$/.test(scalar) || (scalar.trim() !== '' && Number.isFinite(Number(scalar))))
        )
          return scalar;
        return bad();
      case 'bytes':
        return typeof scalar === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(scalar) ? scalar : bad();
      case 'enum': {
        const values = this.schema.enums[field.ref!] ?? {};
        if (typeof scalar === 'string' && scalar in values) return scalar;
        if (typeof scalar === 'number') {
          const name = Object.entries(values).find(([, n]) => n === scalar)?.[0];
          if (name) return name;
        }
        return bad();
      }
      case 'duration':
      case 'timestamp': {
        // Google names the field by its JSON name here, after the path.
        const problem =
          typeof scalar !== 'string'
            ? `Invalid data type for ${field.type}, value is ${String(scalar)}`
            : field.type === 'duration'
              ? durationProblem(scalar)
              : timestampProblem(scalar);
        if (problem) {
          this.invalid(at, this.typeName(field), `Field '${jsonName}', ${problem}`);
          return undefined;
        }
        return scalar;
      }
      default:
        return bad();
    }
  }
}

/** google.protobuf types whose JSON form is not an object of their fields. */
export const WELL_KNOWN: Record<string, FieldType> = {
  'google.protobuf.Duration': 'duration',
  'google.protobuf.Timestamp': 'timestamp',
  'google.protobuf.FieldMask': 'string',
  'google.protobuf.Value': 'any',
  'google.protobuf.Struct': 'any',
  'google.protobuf.Any': 'any',
};

const LIMITS: Record<string, [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

function integerOf(value: unknown, type: string): bigint | undefined {
  let n: bigint;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return undefined;
    n = BigInt(value);
  } else if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) n = BigInt(value.trim());
  else return undefined;
  const [min, max] = LIMITS[type]!;
  return n < min || n > max ? undefined : n;
}

/** Why a proto3 JSON duration ("3.5s") is malformed, in protobuf's words; undefined when it is fine. */
export function durationProblem(text: string): string | undefined {
  if (!text.endsWith('s')) return "Illegal duration format; duration must end with 's'";
  if (!/^-?\d+(\.\d{1,9})?s$/.test(text)) return 'Invalid duration format, failed to parse seconds';
  const seconds = Number(text.slice(0, -1).split('.')[0]);
  if (Math.abs(seconds) > 315_576_000_000) return 'Duration value exceeds limits';
  return undefined;
}

/** Why an RFC 3339 timestamp is malformed, in the front end's words; undefined when it is fine. */
export function timestampProblem(text: string): string | undefined {
  if (!/(Z|[+-]\d{2}:\d{2})$/.test(text))
    return "Illegal timestamp format; timestamps must end with 'Z' or have a valid timezone offset.";
  if (
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(text) ||
    Number.isNaN(Date.parse(text))
  )
    return 'Invalid time format: Failed to parse input';
  return undefined;
}

/** The field a dotted query parameter names in the request message, or undefined. */
function queryField(schema: ApiSchema, method: MethodSchema, name: string): FieldSchema | undefined {
  if (method.queryParams) {
    if (!method.queryParams.includes(name)) return undefined;
    return schema.messages[method.request]?.fields[name] ?? { type: 'string' };
  }
  let message = schema.messages[method.request];
  let field: FieldSchema | undefined;
  const parts = name.split('.');
  for (const [i, part] of parts.entries()) {
    if (!message) return undefined;
    const entry = Object.entries(message.fields).find(([json, f]) => json === part || f.proto === part);
    if (!entry) return undefined;
    const [jsonName, f] = entry;
    if (i === 0 && (method.pathParams.includes(jsonName) || method.body === jsonName)) return undefined;
    field = f;
    message = f.type === 'message' && !WELL_KNOWN[f.ref!] ? schema.messages[f.ref!] : undefined;
  }
  if (!field || field.type === 'map' || (field.type === 'message' && !WELL_KNOWN[field.ref!]))
    return undefined;
  return field.type === 'message' ? { ...field, type: WELL_KNOWN[field.ref!]! } : field;
}

/** A query value as the JSON value it stands for: query strings carry text, which only a bool reads otherwise. */
/**
 * A query parameter's value as its field's type. Cloud Storage's JSON API, which is not served by
 * the proto front end, takes booleans in any case: gcloud's generated client sends Python's
 * `False` (`enableObjectRetention=False` on buckets.insert, seen with --log-http).
 */
function queryValue(schema: ApiSchema, field: FieldSchema, text: string): unknown {
  if (field.type !== 'bool') return text;
  const value = schema.api === 'storage' ? text.toLowerCase() : text;
  return value === 'true' ? true : value === 'false' ? false : text;
}

/** 400 INVALID_ARGUMENT: the violations' descriptions, a line each, and a BadRequest of them. */
function badRequest(violations: Violation[]): GoogleApiError {
  return new GoogleApiError('INVALID_ARGUMENT', violations.map((v) => v.description).join('\n'), [
    { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: violations },
  ]);
}

/**
 * Checks a request against `methodId` of `schema`; throws 400 INVALID_ARGUMENT with a BadRequest
 * of every violation, else returns the body as the handler should see it: JSON field names, enum
 * values by name, 32-bit integers as numbers, output-only fields dropped.
 */
export function checkRequest(
  schema: ApiSchema,
  methodId: string,
  request: { query: URLSearchParams; body: unknown },
): unknown {
  const method = schema.methods[methodId];
  if (!method) throw new Error(`schema ${schema.api}-${schema.version} has no method ${methodId}`);
  const checker = new Checker(schema);
  for (const [name, text] of request.query) {
    // Each may also be spelt with a leading $ ($alt=json;enum-encoding=int, as google-gax sends it).
    if (SYSTEM_PARAMETERS.has(name) || SYSTEM_PARAMETERS.has(name.replace(/^\$/, ''))) continue;
    const field = queryField(schema, method, name);
    if (!field) {
      checker.violations.push({
        field: name,
        description: `${INVALID} Unknown name "${name}": Cannot bind query parameter. Field '${name}' could not be found in request message.`,
      });
      continue;
    }
    checker.value({ ...field, repeated: false }, queryValue(schema, field, text), name);
  }
  let body = request.body;
  if (method.body && body !== undefined && !(body instanceof Buffer)) {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw badRequest([{ description: `${INVALID} Unknown name "": Root element must be a message.` }]);
    if (method.body === '*') body = checker.message(method.bodyMessage ?? method.request, body, '');
    else {
      const field = schema.messages[method.request]!.fields[method.body]!;
      body = checker.field(field, body, field.proto ?? method.body, method.body, '');
    }
  }
  if (checker.violations.length) throw badRequest(checker.violations);
  return body;
}
