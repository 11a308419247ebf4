// KEY=VALUE lists as deploy-cloudrun reads them (env_vars, secrets, labels): entries separated by
// commas or newlines, a backslash escapes the next character, the first '=' splits key from value,
// keys and values are trimmed unless quoted, and the literal '{}' means "clear all".

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

  const commit = (): void => {
    const k = key.trim();
    if (k === '' && value.trim() === '' && !inValue) return;
    if (k === '') throw new KeyValueSyntaxError(`an entry has no key before "=": "=${value}"`);
    if (!inValue) throw new KeyValueSyntaxError(`"${k}" has no "=VALUE"`);
    result[k] = quotedValue ? value : value.trim();
  };

  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\') {
      const next = text[i + 1];
      if (next === undefined) throw new KeyValueSyntaxError(`unterminated escape character at ${i}`);
      if (inValue) value += next;
      else key += next;
      i++;
    } else if (quote) {
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
      key = '';
      value = '';
      inValue = false;
      quotedValue = false;
    } else if (inValue) {
      if (quotedValue && ch.trim() !== '')
        throw new KeyValueSyntaxError(`unexpected "${ch}" after a quoted value`);
      if (!quotedValue) value += ch;
    } else {
      key += ch;
    }
  }
  if (quote) throw new KeyValueSyntaxError(`unterminated ${quote} quote`);
  commit();
  return result;
}
