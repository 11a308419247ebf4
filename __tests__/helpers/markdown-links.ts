// Reads a Markdown file as GitHub renders its headings and links, so the docs' tests can check
// that a table of contents and every cross-reference land somewhere.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The lines of a Markdown text outside fenced code blocks, with their 1-based numbers. */
function proseLines(text: string): Array<{ line: string; number: number }> {
  const out: Array<{ line: string; number: number }> = [];
  let fence: string | undefined;
  text.split('\n').forEach((line, i) => {
    const open = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (open && open[1]!.startsWith(fence)) fence = undefined;
      return;
    }
    if (open) {
      fence = open[1]!;
      return;
    }
    out.push({ line, number: i + 1 });
  });
  return out;
}

/** GitHub's anchor for a heading: its text, lowercased, punctuation dropped, spaces as hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*_]/g, (c) => (c === '_' ? '_' : ''))
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

export interface Heading {
  level: number;
  text: string;
  anchor: string;
  line: number;
}

export function headings(text: string): Heading[] {
  const seen = new Map<string, number>();
  const out: Heading[] = [];
  for (const { line, number } of proseLines(text)) {
    const m = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[2]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.push({ level: m[1]!.length, text: m[2]!, anchor: n ? `${base}-${n}` : base, line: number });
  }
  return out;
}

export interface Link {
  target: string;
  line: number;
}

/** Every inline link and image target outside code, less external URLs and mail. */
export function localLinks(text: string): Link[] {
  const out: Link[] = [];
  for (const { line, number } of proseLines(text)) {
    const prose = line.replace(/`[^`]*`/g, '');
    for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/i.test(target)) continue;
      out.push({ target, line: number });
    }
  }
  return out;
}

/** The links of `file` that lead nowhere: a missing file, or an anchor no heading has. */
export function brokenLinks(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const broken: string[] = [];
  for (const { target, line } of localLinks(text)) {
    const [path, anchor] = target.split('#', 2) as [string, string | undefined];
    const into = path ? resolve(dirname(file), decodeURI(path)) : file;
    if (!existsSync(into)) {
      broken.push(`${file}:${line}: ${target} (no such file)`);
      continue;
    }
    if (anchor === undefined || !into.endsWith('.md')) continue;
    const anchors = headings(readFileSync(into, 'utf8')).map((h) => h.anchor);
    if (!anchors.includes(anchor)) broken.push(`${file}:${line}: ${target} (no such heading)`);
  }
  return broken;
}
