// Text Runway did not write — a health-check body, an API's or a registry's error text, Docker's
// output, a branch name, an input value — held in a type that shows itself nowhere by accident: it
// reaches Markdown (src/common/markdown.ts) or the log (src/common/log.ts) only through the escaper
// for that place, and `${untrusted}` in a template gives a placeholder, never the text.

/** How much of one untrusted value any destination shows, by default (in characters). */
export const UNTRUSTED_CAP = 500;

/** Line breaks as the runner and Markdown see them: CR, LF, CRLF, and Unicode's separators. */
const LINE_BREAK = /\r\n|[\r\n\u2028\u2029\u0085\v\f]/g;

/** Control characters that are neither tab nor a line break: ANSI escapes, NUL, DEL, C1 controls. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000e-\u001f\u007f-\u0084\u0086-\u009f]/g;

/** The well-formed UTF-8 reading of bytes or of a string with lone surrogates (each becomes U+FFFD). */
function wellFormed(value: string | Uint8Array): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}

/** At most `max` characters (code points, so no pair is split), marked when something was cut. */
export function capText(text: string, max: number): string {
  if (text.length <= max) return text;
  const kept = Array.from(text.slice(0, max * 2)).slice(0, max);
  const cut = Array.from(text).length - kept.length;
  return cut > 0 ? `${kept.join('')}… (${cut} more characters)` : text;
}

export class Untrusted {
  readonly #text: string;

  private constructor(text: string) {
    this.#text = text;
  }

  /** Wraps what came from outside, decoding bytes as UTF-8 (invalid sequences become U+FFFD). */
  static of(value: string | Uint8Array): Untrusted {
    return new Untrusted(wellFormed(value));
  }

  /** Whether `value` is already wrapped. */
  static is(value: unknown): value is Untrusted {
    return value instanceof Untrusted;
  }

  get length(): number {
    return this.#text.length;
  }

  /** The text as received, for matching and parsing only (a body pattern, a JSON error). */
  raw(): string {
    return this.#text;
  }

  /** A new value from this one's text (trimmed, cut, or a part of it). */
  map(fn: (text: string) => string): Untrusted {
    return new Untrusted(wellFormed(fn(this.#text)));
  }

  /**
   * One line of the log: line breaks shown as `⏎` so the text cannot begin a line of its own (where
   * the runner would read a `::command::`), control characters as `\uXXXX`, the legacy `##[`
   * broken, and capped.
   */
  forLog(max = UNTRUSTED_CAP): string {
    return neutraliseLogLine(
      capText(this.#text, max)
        .replace(LINE_BREAK, '⏎')
        .replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
    );
  }

  /** One line, without control characters, capped: what escapers for other places start from. */
  oneLine(max = UNTRUSTED_CAP): string {
    return capText(this.#text, max).replace(LINE_BREAK, ' ').replace(CONTROL, '\uFFFD');
  }

  /** Lines (CR, LF and CRLF all end one), without control characters, capped as a whole. */
  lines(max = UNTRUSTED_CAP): string[] {
    return capText(this.#text, max).replace(CONTROL, '\uFFFD').split(LINE_BREAK);
  }

  /**
   * Plain text for a place GitHub shows as text but still links (a deployment's description):
   * one line, @mentions and #references broken with a zero-width space, capped.
   */
  forPlainText(max = 140): string {
    return breakReferences(this.oneLine(max));
  }

  /** In a JSON body (a webhook payload), the text itself: JSON escapes it. */
  toJSON(): string {
    return this.#text;
  }

  /** Never the text: a template that forgot to escape shows this instead. */
  toString(): string {
    return '[untrusted text]';
  }
}

/**
 * GitHub turns `@name`, `#123`, `owner/repo#123` and `GH-123` into mentions and links even where
 * Markdown escapes were used (it scans the rendered text); a zero-width space after the sign stops it.
 */
export function breakReferences(text: string): string {
  return text.replace(/[@#]/g, '$&\u200B').replace(/\b(GH)-(?=\d)/gi, '$1\u200B-');
}

/** Any leading run the runner would trim before looking for `::`: whitespace and invisible characters. */
const COMMAND_START = /^([\s\p{C}\u0085]*)::/u;

/**
 * A log line the runner will not act on: it cannot start (after the runner trims it) with `::`,
 * and holds no legacy `##[command]`. `line` must hold no line break (log.ts splits first).
 */
export function neutraliseLogLine(line: string): string {
  return line.replace(COMMAND_START, '$1\\::').replace(/##\[/g, '##\\[');
}

/** Splits text into the lines the runner sees: CR, LF and CRLF each end a line. */
export function logLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}
