// KEY=VALUE lists as deploy-cloudrun reads them (env_vars, secrets, labels): entries separated by
// commas or newlines, a backslash escapes the next character, the first '=' splits key from value,
// keys and values are trimmed unless quoted, and the literal '{}' means "clear all". Values may be
// secrets, so a syntax error says where (entry and line), never what.

export type KeyValues = Record<string, string>;

export class KeyValueSyntaxError extends Error {}

export function parseKeyValues(input: string): KeyValues {
  const text = input.trim();
  const result: KeyValues = {};
  if (text === '' || text === '{}') return result;

  let key = '';
  let value = '';
  let inValue = false;
  let quote: string | undefined;
  let quotedValue = false;
  let line = 1;
  let entry = 1;
  const at = (): string => `entry ${entry} (line ${line})`;

  const commit = (): void => {
    const k = key.trim();
    if (k === '' && value.trim() === '' && !inValue) return;
    if (k === '') throw new KeyValueSyntaxError(`${at()} has no key before "="`);
    if (!inValue) throw new KeyValueSyntaxError(`${at()} has no "=VALUE"`);
    result[k] = quotedValue ? value : value.trim();
    entry++;
  };

  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\') {
      const next = text[i + 1];
      if (next === undefined)
        throw new KeyValueSyntaxError(`${at()} ends in an unterminated escape character`);
      if (inValue) value += next;
      else key += next;
      i++;
    } else if (quote) {
      if (ch === '\n') line++;
      if (ch === quote) quote = undefined;
      else value += ch;
    } else if (inValue && (ch === '"' || ch === "'") && value.trim() === '') {
      // A value that starts with a quote keeps its whitespace and separators up to the closing quote.
      quote = ch;
      quotedValue = true;
      value = '';
    } else if (ch === '=' && !inValue) {
      inValue = true;
    } else if (ch === ',' || ch === '\n' || ch === '\r') {
      commit();
      if (ch === '\n') line++;
      key = '';
      value = '';
      inValue = false;
      quotedValue = false;
    } else if (inValue) {
      if (quotedValue && ch.trim() !== '')
        throw new KeyValueSyntaxError(`${at()} has text after its quoted value`);
      if (!quotedValue) value += ch;
    } else {
      key += ch;
    }
  }
  if (quote) throw new KeyValueSyntaxError(`${at()} has an unterminated ${quote} quote`);
  commit();
  return result;
}
