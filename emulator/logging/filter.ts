// The Logging query language (https://cloud.google.com/logging/docs/view/logging-query-language),
// as much of it as gcloud and Runway send: AND, OR, NOT (and `-`), juxtaposition as AND,
// parentheses, comparisons with = != > < >= <= : =~ !~ on dotted paths whose segments may be
// quoted (labels."run.googleapis.com/execution_name"), quoted and unquoted values, value groups
// (resource.type = ("a" OR "b")), `:*` for presence, severities by rank and timestamps as times,
// and bare words as global restrictions. Anything else is a syntax error, which entries.list
// answers as Google does: 400 INVALID_ARGUMENT, "Unparseable filter: syntax error at line L,
// column C, token 'T'".
import { severityRank, type LogEntry } from './store.js';

type Op = '=' | '!=' | '>' | '<' | '>=' | '<=' | ':' | '=~' | '!~';

type Value = { kind: 'literal'; text: string } | { kind: 'and' | 'or'; items: Value[] };

export type Filter =
  | { kind: 'and' | 'or'; items: Filter[] }
  | { kind: 'not'; item: Filter }
  | { kind: 'compare'; path: string[]; op: Op; value: Value }
  | { kind: 'global'; text: string }
  | { kind: 'all' };

export class FilterSyntaxError extends Error {}

const OPS: Op[] = ['>=', '<=', '!=', '=~', '!~', '=', '>', '<', ':'];
const UNQUOTED = /[^\s()"'=<>!:]/;
const IDENT = /[A-Za-z0-9_@$-]/;

/** Parses a filter; throws FilterSyntaxError naming where it stopped. */
export function parseFilter(source: string): Filter {
  let at = 0;
  const space = (): void => {
    while (at < source.length && /\s/.test(source[at]!)) at += 1;
  };
  const fail = (): never => {
    const before = source.slice(0, at);
    const line = before.split('\n').length;
    const column = at - (before.lastIndexOf('\n') + 1) + 1;
    const token = at >= source.length ? '<EOF>' : (/^("[^"]*"?|\w+|\S)/.exec(source.slice(at))?.[0] ?? '');
    throw new FilterSyntaxError(
      `Unparseable filter: syntax error at line ${line}, column ${column}, token '${token}'`,
    );
  };
  const keyword = (word: 'AND' | 'OR' | 'NOT'): boolean => {
    space();
    if (source.startsWith(word, at) && !IDENT.test(source[at + word.length] ?? ' ')) {
      at += word.length;
      return true;
    }
    return false;
  };
  const quoted = (): string => {
    at += 1;
    let text = '';
    while (at < source.length && source[at] !== '"') {
      if (source[at] === '\\' && at + 1 < source.length) at += 1;
      text += source[at];
      at += 1;
    }
    if (at >= source.length) fail();
    at += 1;
    return text;
  };
  const word = (pattern: RegExp): string => {
    const start = at;
    while (at < source.length && pattern.test(source[at]!)) at += 1;
    if (at === start) fail();
    return source.slice(start, at);
  };
  const value = (): Value => {
    space();
    if (source[at] === '(') {
      at += 1;
      const items = [value()];
      let kind: 'and' | 'or' = 'and';
      for (;;) {
        space();
        if (source[at] === ')') break;
        if (keyword('OR')) kind = 'or';
        else keyword('AND');
        items.push(value());
      }
      at += 1;
      return items.length === 1 ? items[0]! : { kind, items };
    }
    if (source[at] === '"') return { kind: 'literal', text: quoted() };
    return { kind: 'literal', text: word(UNQUOTED) };
  };
  const operator = (): Op | undefined => {
    space();
    const op = OPS.find((o) => source.startsWith(o, at));
    if (op) at += op.length;
    return op;
  };
  const restriction = (): Filter => {
    space();
    const start = at;
    const path: string[] = [source[at] === '"' ? quoted() : word(IDENT)];
    if (source[start] !== '"' && (path[0] === 'AND' || path[0] === 'OR')) {
      at = start;
      fail();
    }
    while (source[at] === '.') {
      at += 1;
      path.push(source[at] === '"' ? quoted() : word(IDENT));
    }
    const op = operator();
    if (!op) {
      if (path.length > 1) fail();
      return { kind: 'global', text: source[start] === '"' ? path[0]! : source.slice(start, at).trim() };
    }
    const wanted = value();
    if (op === '=~' || op === '!~') checkPatterns(wanted);
    return { kind: 'compare', path, op, value: wanted };
  };
  const term = (): Filter => {
    space();
    if (keyword('NOT')) return { kind: 'not', item: term() };
    if (source[at] === '-') {
      at += 1;
      return { kind: 'not', item: term() };
    }
    if (source[at] === '(') {
      at += 1;
      const inner = or();
      space();
      if (source[at] !== ')') fail();
      at += 1;
      return inner;
    }
    if (at >= source.length || source[at] === ')') fail();
    return restriction();
  };
  const and = (): Filter => {
    const items = [term()];
    for (;;) {
      space();
      if (at >= source.length || source[at] === ')') break;
      const save = at;
      if (keyword('OR')) {
        at = save;
        break;
      }
      keyword('AND');
      items.push(term());
    }
    return items.length === 1 ? items[0]! : { kind: 'and', items };
  };
  function or(): Filter {
    const items = [and()];
    while (keyword('OR')) items.push(and());
    return items.length === 1 ? items[0]! : { kind: 'or', items };
  }
  space();
  if (at >= source.length) return { kind: 'all' };
  const filter = or();
  space();
  if (at < source.length) fail();
  return filter;
}

/** A regular expression that cannot compile is the caller's error (a 400), found before any entry is read. */
function checkPatterns(value: Value): void {
  if (value.kind !== 'literal') return value.items.forEach(checkPatterns);
  try {
    new RegExp(value.text);
  } catch {
    throw new FilterSyntaxError(`Invalid regular expression in filter: ${value.text}`);
  }
}

/** A time as nanoseconds since the epoch, for comparing RFC 3339 times of any precision. */
function nanos(text: string): bigint | undefined {
  const fraction = /\.(\d+)/.exec(text)?.[1] ?? '';
  const ms = Date.parse(text.replace(/\.\d+/, ''));
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((fraction + '000000000').slice(0, 9));
}

function lookup(entry: LogEntry, path: string[]): unknown {
  let node: unknown = entry;
  for (const segment of path) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

function compareScalar(field: string, path: string[], op: Op, wanted: string): boolean {
  const name = path.join('.');
  let order: number | undefined;
  if (name === 'severity') {
    const [a, b] = [severityRank(field), severityRank(wanted)];
    if (a !== undefined && b !== undefined) order = a - b;
  } else if (name === 'timestamp' || name === 'receiveTimestamp') {
    const [a, b] = [nanos(field), nanos(wanted)];
    if (a !== undefined && b !== undefined) order = a === b ? 0 : a < b ? -1 : 1;
  } else if (field !== '' && wanted !== '' && !Number.isNaN(Number(field)) && !Number.isNaN(Number(wanted))) {
    order = Number(field) - Number(wanted);
  }
  order ??= field === wanted ? 0 : field < wanted ? -1 : 1;
  switch (op) {
    case '=':
      return order === 0;
    case '!=':
      return order !== 0;
    case '>':
      return order > 0;
    case '<':
      return order < 0;
    case '>=':
      return order >= 0;
    case '<=':
      return order <= 0;
    case ':':
      return field.toLowerCase().includes(wanted.toLowerCase());
    case '=~':
      return new RegExp(wanted).test(field);
    case '!~':
      return !new RegExp(wanted).test(field);
  }
}

function compare(entry: LogEntry, path: string[], op: Op, value: Value): boolean {
  if (value.kind !== 'literal') {
    const results = value.items.map((v) => compare(entry, path, op, v));
    return value.kind === 'or' ? results.some(Boolean) : results.every(Boolean);
  }
  const field = lookup(entry, path);
  if (op === ':' && value.text === '*') return field !== undefined;
  if (field === undefined || field === null) return false;
  if (typeof field === 'object') {
    return op === ':' && JSON.stringify(field).toLowerCase().includes(value.text.toLowerCase());
  }
  return compareScalar(String(field as string | number | boolean), path, op, value.text);
}

function mentions(node: unknown, text: string): boolean {
  if (typeof node === 'string') return node.toLowerCase().includes(text);
  if (node && typeof node === 'object') return Object.values(node).some((v) => mentions(v, text));
  return false;
}

/** Whether an entry matches a parsed filter. */
export function matches(filter: Filter, entry: LogEntry): boolean {
  switch (filter.kind) {
    case 'all':
      return true;
    case 'and':
      return filter.items.every((f) => matches(f, entry));
    case 'or':
      return filter.items.some((f) => matches(f, entry));
    case 'not':
      return !matches(filter.item, entry);
    case 'global':
      return mentions(entry, filter.text.toLowerCase());
    case 'compare':
      return compare(entry, filter.path, filter.op, filter.value);
  }
}
