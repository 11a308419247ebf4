// Packs a source directory as `gcloud run deploy --source` does before it uploads it: the files a
// .gcloudignore lets through (with .gitignore as the fallback, and gcloud's default ignore file
// when the directory is a Git checkout), as a gzipped tarball of relative paths owned by root.
// The rules follow gcloud's own implementation (googlecloudsdk/command_lib/util/gcloudignore.py
// and glob.py): patterns match a path from its end, `/` at the start anchors, `**` spans
// directories, `!` re-includes, a trailing `/` matches directories only, the last pattern that
// matches a path or any of its parent directories decides, and an ignored directory's files stay
// ignored. The tarball lists directories before files, as gcloud's snapshot does.
import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { RunwayError } from '../errors.js';

/** gcloud's DEFAULT_IGNORE_FILE, used when a Git checkout has no .gcloudignore. */
export const DEFAULT_GCLOUDIGNORE = `.gcloudignore
.git
.gitignore
`;

interface Pattern {
  parts: string[];
  negated: boolean;
  mustBeDir: boolean;
}

/** Python's fnmatch: `*`, `?`, `[seq]` and `[!seq]`, over the whole (case-sensitive) name. */
function fnmatch(name: string, pattern: string): boolean {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) source += '\\[';
      else {
        let set = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (set.startsWith('!')) set = `^${set.slice(1)}`;
        else if (set.startsWith('^')) set = `\\${set}`;
        source += `[${set}]`;
        i = end;
      }
    } else source += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's').test(name);
}

/** glob.Glob._MatchesHelper: the pattern's parts, last first, against the path's components. */
function matchesParts(parts: string[], path: string | undefined): boolean {
  if (parts.length === 0) return true;
  if (path === undefined) return false;
  const part = parts[parts.length - 1]!;
  const remaining = parts.slice(0, -1);
  const cut = path.lastIndexOf('/');
  const last = cut < 0 ? path : path.slice(cut + 1);
  const rest = last === '' ? undefined : cut < 0 ? '' : path.slice(0, cut);
  if (part === '**') {
    if (!(remaining.length && remaining[0] === '')) remaining.unshift('');
    return prefixes(path).some((p) => matchesParts(remaining, p));
  }
  if (part === '*' && remaining.length === 0 && rest !== undefined && rest.length > 1) return false;
  if (!fnmatch(last, part)) return false;
  return matchesParts(remaining, rest);
}

/** '', 'a', 'a/b', 'a/b/c' for 'a/b/c' (glob.GetPathPrefixes). */
function prefixes(path: string): string[] {
  if (!path) return [''];
  const parts = path.split('/');
  return ['', ...parts.map((_, i) => parts.slice(0, i + 1).join('/'))];
}

/** One line of an ignore file, or undefined for a line gcloud skips (blank, comment, invalid). */
function parseLine(raw: string): Pattern | undefined {
  let line = raw;
  if (line.startsWith('#')) return undefined;
  const negated = line.startsWith('!');
  if (negated) line = line.slice(1);
  const mustBeDir = line.endsWith('/');
  if (mustBeDir) line = line.slice(0, -1);
  // Trailing spaces go unless escaped; escaped spaces become spaces.
  line = line.replace(/(?<!\\)( +)$/, '').replace(/\\ /g, ' ');
  if (/(?<!\\)\\(\\\\)*$/.test(line)) return undefined;
  line = line.replace(/\\([^\\])/g, '$1').replace(/\\\\/g, '\\');
  if (!line) return undefined;
  return { parts: line.split('/'), negated, mustBeDir };
}

function parseIgnoreText(text: string, dir: string, includes: boolean): Pattern[] {
  const patterns: Pattern[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('#')) {
      const include = /^#\s*!include:(.*)$/.exec(line)?.[1];
      if (include !== undefined && includes) {
        if (include.includes('/'))
          throw new RunwayError(
            `The ignore file's "${line}" names a file in another directory.`,
            'gcloud, and so Runway, only include files from the same directory.',
          );
        const path = join(dir, include);
        if (!existsSync(path))
          throw new RunwayError(
            `The ignore file includes ${include}, which does not exist.`,
            `Create ${include} or remove the line.`,
          );
        patterns.push(...parseIgnoreText(readFileSync(path, 'utf8'), dir, false));
      }
      continue;
    }
    const pattern = parseLine(line);
    if (pattern) patterns.push(pattern);
  }
  return patterns;
}

/** Which files of a directory go into the upload (gcloudignore.FileChooser). */
export class FileChooser {
  constructor(private readonly patterns: Pattern[]) {}

  /** Chooses for `ignoreText` as if it were an ignore file in `dir` (its #!include lines read from there). */
  static fromText(ignoreText: string, dir: string): FileChooser {
    return new FileChooser(parseIgnoreText(ignoreText, dir, true));
  }

  /**
   * gcloud's choice for a directory: `ignoreFile` when given (it must exist), else its
   * .gcloudignore, else, in a Git checkout (.git or .gitignore present), the default ignore file
   * with the .gitignore included; otherwise every file.
   */
  static forDirectory(dir: string, ignoreFile?: string): { chooser: FileChooser; using: string } {
    const file = join(dir, ignoreFile ?? '.gcloudignore');
    if (existsSync(file))
      return {
        chooser: FileChooser.fromText(readFileSync(file, 'utf8'), dir),
        using: ignoreFile ?? '.gcloudignore',
      };
    if (ignoreFile)
      throw new RunwayError(
        `The ignore file ${ignoreFile} does not exist in the source directory.`,
        'Create it, or name an ignore file that exists.',
      );
    const git = existsSync(join(dir, '.git')) || existsSync(join(dir, '.gitignore'));
    if (!git) return { chooser: new FileChooser([]), using: 'none (every file)' };
    const text = DEFAULT_GCLOUDIGNORE + (existsSync(join(dir, '.gitignore')) ? '#!include:.gitignore\n' : '');
    return {
      chooser: FileChooser.fromText(text, dir),
      using: "gcloud's default (.git, .gitignore and what .gitignore lists)",
    };
  }

  /** Whether a path (relative, `/`-separated) is uploaded. */
  isIncluded(path: string, isDir = false): boolean {
    const all = prefixes(path).slice(1);
    for (const prefix of all) {
      let ignored: boolean | undefined;
      const prefixIsDir = prefix !== path || isDir;
      for (const p of this.patterns) {
        if (p.mustBeDir && !prefixIsDir) continue;
        if (matchesParts(p.parts, prefix)) ignored = !p.negated;
      }
      if (ignored) return false;
    }
    return true;
  }
}

export interface ArchiveEntry {
  path: string;
  type: 'dir' | 'file' | 'symlink';
  mode: number;
  mtime: number;
  data?: Buffer;
  linkname?: string;
}

/**
 * The entries gcloud would upload from `dir`: included directories (a symlinked one as a link),
 * then included files, walking into symlinked directories as os.walk(followlinks=True) does.
 */
export function chooseEntries(dir: string, chooser: FileChooser): ArchiveEntry[] {
  const dirs: ArchiveEntry[] = [];
  const files: ArchiveEntry[] = [];
  const seen = new Set<string>();
  const walk = (relative: string): void => {
    const full = relative ? join(dir, relative) : dir;
    const real = statSync(full);
    const key = `${real.dev}:${real.ino}`;
    if (seen.has(key))
      throw new RunwayError(
        `The source directory has a symbolic link loop at ${relative}.`,
        'Remove the link or ignore it in .gcloudignore.',
      );
    seen.add(key);
    for (const name of readdirSync(full).sort()) {
      const path = relative ? `${relative}/${name}` : name;
      const abs = join(dir, path);
      const link = lstatSync(abs);
      const target = link.isSymbolicLink() ? statSync(abs, { throwIfNoEntry: false }) : link;
      const isDir = target?.isDirectory() ?? false;
      if (!chooser.isIncluded(path, isDir)) continue;
      if (isDir) {
        dirs.push(
          link.isSymbolicLink()
            ? {
                path,
                type: 'symlink',
                mode: link.mode & 0o7777,
                mtime: link.mtimeMs,
                linkname: readlinkSync(abs),
              }
            : { path, type: 'dir', mode: link.mode & 0o7777, mtime: link.mtimeMs },
        );
        walk(path);
      } else if (link.isSymbolicLink()) {
        files.push({
          path,
          type: 'symlink',
          mode: link.mode & 0o7777,
          mtime: link.mtimeMs,
          linkname: readlinkSync(abs),
        });
      } else if (link.isFile()) {
        files.push({
          path,
          type: 'file',
          mode: link.mode & 0o7777,
          mtime: link.mtimeMs,
          data: readFileSync(abs),
        });
      }
    }
    seen.delete(key);
  };
  walk('');
  return [...dirs, ...files];
}

// ---- tar (POSIX ustar, with a pax header for what ustar cannot hold) --------------------------------

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(fields: {
  name: string;
  prefix: string;
  mode: number;
  size: number;
  mtime: number;
  type: string;
  linkname: string;
}): Buffer {
  const block = Buffer.alloc(512);
  block.write(fields.name, 0, 100, 'utf8');
  block.write(octal(fields.mode, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii');
  block.write(octal(0, 8), 116, 'ascii');
  block.write(octal(fields.size, 12), 124, 'ascii');
  block.write(octal(Math.floor(fields.mtime / 1000), 12), 136, 'ascii');
  block.write('        ', 148, 'ascii');
  block.write(fields.type, 156, 'ascii');
  block.write(fields.linkname, 157, 100, 'utf8');
  block.write('ustar\u000000', 257, 'ascii');
  block.write('root', 265, 'ascii');
  block.write('root', 297, 'ascii');
  block.write(fields.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

const padding = (size: number): Buffer => Buffer.alloc((512 - (size % 512)) % 512);

/** A ustar name/prefix split, or undefined when the path needs a pax header. */
function ustarName(path: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { name, prefix };
  }
  return undefined;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length)
    length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}

/** The entries as a tar stream (uncompressed). */
export function tarOf(entries: ArchiveEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const path = entry.type === 'dir' ? `${entry.path}/` : entry.path;
    const linkname = entry.linkname ?? '';
    let split = ustarName(path);
    const longLink = Buffer.byteLength(linkname) > 100;
    if (!split || longLink) {
      const records =
        (split ? '' : paxRecord('path', path)) + (longLink ? paxRecord('linkpath', linkname) : '');
      const data = Buffer.from(records, 'utf8');
      blocks.push(
        header({
          name: 'PaxHeader',
          prefix: '',
          mode: 0o644,
          size: data.length,
          mtime: entry.mtime,
          type: 'x',
          linkname: '',
        }),
        data,
        padding(data.length),
      );
      split ??= { name: path.slice(-100), prefix: '' };
    }
    const size = entry.type === 'file' ? (entry.data?.length ?? 0) : 0;
    blocks.push(
      header({
        ...split,
        mode: entry.mode,
        size,
        mtime: entry.mtime,
        type: entry.type === 'dir' ? '5' : entry.type === 'symlink' ? '2' : '0',
        linkname: longLink ? '' : linkname,
      }),
    );
    if (entry.type === 'file' && entry.data) blocks.push(entry.data, padding(entry.data.length));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export interface SourceArchive {
  /** The gzipped tarball. */
  data: Buffer;
  /** The paths it holds, directories and files. */
  paths: string[];
  /** Whether a Dockerfile sits at the root: a Docker build; otherwise buildpacks. */
  hasDockerfile: boolean;
  /** Which ignore rules chose the files. */
  ignoreRules: string;
}

/** The directory packed as gcloud packs it for `--source`. */
export function packSource(dir: string, ignoreFile?: string): SourceArchive {
  const { chooser, using } = FileChooser.forDirectory(dir, ignoreFile);
  const entries = chooseEntries(dir, chooser);
  return {
    data: gzipSync(tarOf(entries)),
    paths: entries.map((e) => e.path),
    hasDockerfile: entries.some((e) => e.path === 'Dockerfile' && e.type !== 'dir'),
    ignoreRules: using,
  };
}
