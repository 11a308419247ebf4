// Markdown for the places GitHub renders it (the PR comment, the job summary): a type that only
// Runway's own template text and escaped values can make. The `gfm` template takes Markdown,
// numbers and Untrusted values (escaped as text) in its holes, never a plain string, so text that
// did not pass an escaper cannot reach a comment or the summary by accident. Escaped text shows as
// it was written: no HTML, no emphasis, links, images, headings or lists, no @mention, #reference
// or autolink; code uses a fence longer than any backtick run inside; every value is capped.
import { breakReferences, capText, Untrusted, UNTRUSTED_CAP } from './untrusted.js';

/** Held by this module alone: only its escapers and `gfm` make Markdown. */
const MADE_HERE = Symbol('markdown');

export class Markdown {
  readonly #text: string;
  constructor(text: string, key: symbol) {
    if (key !== MADE_HERE) throw new Error('Markdown is made by gfm`…` and the escapers of markdown.ts only');
    this.#text = text;
  }

  get text(): string {
    return this.#text;
  }

  toString(): string {
    return this.#text;
  }
}

const made = (text: string): Markdown => new Markdown(text, MADE_HERE);

type Hole = Markdown | Untrusted | number;

function render(value: Hole): string {
  if (value instanceof Markdown) return value.text;
  if (typeof value === 'number') return String(value);
  return escapeText(value);
}

/** Runway's own Markdown, with values escaped: gfm`| ${text(region)} | ${code(revision)} |`. */
export function gfm(strings: TemplateStringsArray, ...values: Hole[]): Markdown {
  let out = strings[0]!;
  values.forEach((value, i) => (out += render(value) + strings[i + 1]!));
  return made(out);
}

/** A number with a fixed count of decimals: digits, a sign and a point, nothing to escape. */
export function decimal(value: number, digits: number): Markdown {
  return made(value.toFixed(digits));
}

/** Joins Markdown with Runway's separator. */
export function join(parts: Markdown[], separator: '\n' | ', ' | ' ' | '' = '\n'): Markdown {
  return made(parts.map((p) => p.text).join(separator));
}

const wrap = (value: string | Untrusted): Untrusted => (Untrusted.is(value) ? value : Untrusted.of(value));

/** Characters Markdown or GitHub act on anywhere in a line (the HTML three become entities). */
const ACTIVE = /[\\`*_[\]#|~$]/g;

/** Escaped inline text: one line, shown exactly as written. */
function escapeText(value: Untrusted, max = UNTRUSTED_CAP): string {
  const escaped = value
    .oneLine(max)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(ACTIVE, '\\$&')
    // What acts only at a line's start (a list, a setext underline, an ordered list's `1.`), in
    // case a template puts the text there.
    .replace(/^(\s*)([-+=])/, '$1\\$2')
    .replace(/^(\s*\d+)([.)])/, '$1\\$2')
    // GitHub autolinks `scheme://` and `www.` in the rendered text, escapes or not: a zero-width
    // space breaks both.
    .replace(/:\/\//g, ':\u200B//')
    .replace(/\b(www)\./gi, '$1\u200B.');
  return breakReferences(escaped);
}

/** Text as text, whatever it holds. */
export function text(value: string | Untrusted, max = UNTRUSTED_CAP): Markdown {
  return made(escapeText(wrap(value), max));
}

/** The longest run of backticks in `s`. */
function longestBacktickRun(s: string): number {
  return Math.max(0, ...(s.match(/`+/g) ?? []).map((run) => run.length));
}

/**
 * An inline code span: one line, fenced by more backticks than any run inside, padded so a
 * leading or trailing backtick stays inside. `inTable` escapes `|`, which GitHub's tables split
 * cells on even inside code.
 */
export function code(value: string | Untrusted, options: { inTable?: boolean; max?: number } = {}): Markdown {
  let line = wrap(value).oneLine(options.max ?? UNTRUSTED_CAP);
  if (!line.trim()) return made('*(empty)*');
  if (options.inTable) line = line.replace(/\|/g, '\\|');
  const fence = '`'.repeat(longestBacktickRun(line) + 1);
  const pad = /^[`\s]|[`\s]$/.test(line) ? ' ' : '';
  return made(`${fence}${pad}${line}${pad}${fence}`);
}

/** A fenced code block, its lines indented by `indent` spaces (to sit inside a list item). */
export function codeBlock(value: string | Untrusted, indent = 0, max = 2000): Markdown {
  const lines = wrap(value).lines(max);
  const fence = '`'.repeat(Math.max(3, longestBacktickRun(lines.join('\n')) + 1));
  const pad = ' '.repeat(indent);
  return made([`${pad}${fence}text`, ...lines.map((l) => `${pad}${l}`), `${pad}${fence}`].join('\n'));
}

/** A URL Runway checked against its grammar: the only thing a link is ever made of. */
export class CheckedUrl {
  private constructor(readonly href: string) {}

  /**
   * An http(s) URL of a host name or address and an optional plain path: no credentials, query,
   * fragment, spaces or Markdown-active characters; plain http only on loopback. Else undefined.
   */
  static parse(raw: string | undefined): CheckedUrl | undefined {
    if (!raw || raw.length > 2048) return undefined;
    if (!/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~%/-]*)?$/.test(raw)) return undefined;
    const url = new URL(raw);
    const loopback = /^(localhost|127\.\d+\.\d+\.\d+)$/.test(url.hostname);
    if (url.protocol === 'http:' && !loopback) return undefined;
    return new CheckedUrl(raw);
  }
}

/** A link whose target is a checked URL; unchecked text is shown as code, never linked. */
export function link(url: string | undefined, label?: Markdown): Markdown {
  const checked = CheckedUrl.parse(url);
  if (!checked) return url ? code(url, { inTable: true }) : made('—');
  // The checked grammar holds nothing Markdown acts on in a link's text.
  return made(`[${label?.text ?? checked.href}](${checked.href})`);
}

/** Caps Runway's Markdown as a whole (GitHub refuses a comment over 65,536 characters). */
export function capMarkdown(markdown: Markdown, max: number): Markdown {
  if (markdown.text.length <= max) return markdown;
  const cut = markdown.text.slice(0, max);
  // Cut at a line's end, so no escape, fence or entity is left half-written.
  const kept = cut.slice(0, Math.max(0, cut.lastIndexOf('\n')));
  return made(`${kept}\n\n*(cut: the report was longer than ${max} characters)*`);
}

export { capText };
