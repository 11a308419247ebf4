// What an emulated Google API accepts and returns, as taken from Google's own descriptions by
// scripts/refresh-schemas.ts into emulator/schemas/API-VERSION.json (never edited by hand): its
// messages with their JSON field names and types, its enums and its REST methods.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type FieldType =
  | 'string'
  | 'bool'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'double'
  | 'float'
  | 'bytes'
  | 'enum'
  | 'message'
  | 'map'
  | 'duration'
  | 'timestamp'
  /** Free-form JSON (google.protobuf.Value, Struct, a discovery "any"). */
  | 'any';

export interface FieldSchema {
  type: FieldType;
  /** The message or enum, for type message or enum. */
  ref?: string;
  repeated?: boolean;
  /** Maps: the key's type and the value's field. */
  key?: FieldType;
  value?: FieldSchema;
  /** The proto name (snake_case), which Google's messages use in paths; the JSON name otherwise. */
  proto?: string;
  outputOnly?: boolean;
  required?: boolean;
  /** The oneof it belongs to: at most one member may be set. */
  oneof?: string;
}

export interface MessageSchema {
  fields: Record<string, FieldSchema>;
  /** A message that is a JSON object of KEY: VALUE (a discovery additionalProperties map). */
  mapOf?: FieldSchema;
}

export interface MethodSchema {
  httpMethod: string;
  /** The path template, e.g. /v2/{parent=projects/*\/locations/*}/services. */
  path: string;
  request: string;
  response: string;
  /** The request field the HTTP body holds; '*' for the whole request; null for no body. */
  body: string | null;
  /**
   * For a whole-body method whose description wraps the body in a field of the request (gcloud's
   * generated requests do), the message the body holds.
   */
  bodyMessage?: string;
  /** Request fields the path binds. */
  pathParams: string[];
  /** Query parameters, when the description lists them; otherwise every other request field. */
  queryParams?: string[];
}

export interface ApiSchema {
  api: string;
  version: string;
  /** Where it was taken from: package and file, or URL, with version. */
  source: string;
  messages: Record<string, MessageSchema>;
  /** Enum → value name → number. */
  enums: Record<string, Record<string, number>>;
  methods: Record<string, MethodSchema>;
}

const loaded = new Map<string, ApiSchema>();

/** emulator/schemas/NAME.json, read once. */
export function schemaOf(
  name:
    | 'run-v2'
    | 'run-v1'
    | 'iamcredentials-v1'
    | 'secretmanager-v1'
    | 'serviceusage-v1'
    | 'iam-v1'
    | 'cloudresourcemanager-v1'
    | 'artifactregistry-v1'
    | 'logging-v2'
    | 'storage-v1'
    | 'cloudbuild-v1'
    | 'sts-v1',
): ApiSchema {
  let schema = loaded.get(name);
  if (!schema) {
    const file = join(import.meta.dirname, '..', 'schemas', `${name}.json`);
    schema = JSON.parse(readFileSync(file, 'utf8')) as ApiSchema;
    loaded.set(name, schema);
  }
  return schema;
}
