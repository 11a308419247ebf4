// KEY=VALUE lists (env_vars, secrets, labels, traffic splits, build args) are read by the library
// deploy-cloudrun itself uses, so an input means the same to both actions: commas or newlines
// separate entries, a backslash escapes the next character, the first '=' splits key from value,
// keys and values are trimmed, quotes are ordinary characters, `{}` means "no entries", and a later
// duplicate wins. Values may be secrets: a syntax error says where, never what.
//
// One deliberate difference: deploy-cloudrun reads an entry without '=' as a key with an empty
// value, so a secret pasted on its own line becomes a variable's *name*, shown in the console and
// in every log. Runway refuses such an entry instead.
import { parseKVString } from '@google-github-actions/actions-utils';

export type KeyValues = Record<string, string>;

export class KeyValueSyntaxError extends Error {}

export function parseKeyValues(input: string): KeyValues {
  let parsed: KeyValues | undefined;
  try {
    parsed = parseKVString(input);
  } catch (err) {
    // actions-utils' messages name only the position ("… at 17"), never the text around it.
    throw new KeyValueSyntaxError((err as Error).message);
  }
  const bare = firstEntryWithoutValue(input);
  if (bare) throw new KeyValueSyntaxError(`entry ${bare.entry} (line ${bare.line}) has no "=VALUE"`);
  return parsed ?? {};
}

/** The first non-blank entry with no unescaped '=', as its 1-based entry and line numbers. */
function firstEntryWithoutValue(input: string): { entry: number; line: number } | undefined {
  let entry = 1;
  let line = 1;
  let hasText = false;
  let hasEquals = false;
  let entryLine = 1;
  const text = input.trim();
  if (text === '{}') return undefined;
  for (let i = 0; i <= text.length; i++) {
    const ch = text[i];
    if (ch === '\\') {
      hasText = true;
      i++;
    } else if (
      ch === undefined ||
      ch === ',' ||
      ch === '\n' ||
      ch === '\r' ||
      ch === '\u2028' ||
      ch === '\u2029'
    ) {
      if (hasText && !hasEquals) return { entry, line: entryLine };
      if (hasText) entry++;
      if (ch === '\n') line++;
      hasText = hasEquals = false;
      entryLine = line;
    } else if (ch === '=') {
      hasEquals = true;
    } else if (ch.trim() !== '') {
      hasText = true;
    }
  }
  return undefined;
}
