// The files gcloud's flags name, read as gcloud reads them. --flags-file: a YAML dictionary (or list
// of dictionaries) of flag → value, expanded in place into the words of `flags` as gcloud's calliope
// expands it: a null value is a bare flag, a list or dictionary is one comma-joined value, anything
// else `--flag=value`; a --flags-file inside names more files (a path or a list of paths), read
// from the workspace as gcloud reads them from its working directory, and expanded in its place.
// --env-vars-file: a YAML (or JSON) mapping of names to string values.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { InputError, RunwayError } from '../errors.js';
import { checkEnvVars } from './fields.js';
import type { KeyValues } from './kv.js';
import { resolveInputPath } from './paths.js';

const NAME = 'flags (--flags-file)';

function valueWord(value: unknown): string {
  if (Array.isArray(value)) return value.map(String).join(',');
  if (value && typeof value === 'object')
    return Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(',');
  return String(value);
}

/** More files than this in one `flags` is a mistake (a file named many times over), not a setting. */
const MAX_FILES = 100;

/** The files being read, outermost first (real and as named), and how many one `flags` read so far. */
export interface Expansion {
  stack: Array<{ real: string; named: string }>;
  files: { read: number };
}

/** The paths a nested --flags-file names: one, or a list, as gcloud takes it. */
function nestedPaths(path: string, value: unknown): string[] {
  const paths = Array.isArray(value) ? value : [value];
  if (!paths.length || paths.some((p) => typeof p !== 'string' || p === ''))
    throw new InputError(NAME, path, '`--flags-file: PATH` (or a list of paths) inside a flags file');
  return paths as string[];
}

/**
 * The words a flags file stands for, the files it names with --flags-file expanded in place. A file
 * that leads back to itself is refused, as gcloud refuses it ("recursive reference"), by its real
 * path, so a link or another spelling of the same file is caught too.
 */
export function flagsFileWords(
  path: string,
  expansion: Expansion = { stack: [], files: { read: 0 } },
): string[] {
  const real = resolveInputPath(NAME, path, 'file');
  if (expansion.stack.some((file) => file.real === real))
    throw new RunwayError(
      `\`flags\` (--flags-file): ${[...expansion.stack.map((f) => f.named), path].join(' → ')} leads back to a file it is reading, which gcloud refuses ("--flags-file recursive reference").`,
      `Remove the --flags-file that leads back to ${path}.`,
    );
  if (++expansion.files.read > MAX_FILES)
    throw new RunwayError(
      `\`flags\` (--flags-file) reads more than ${MAX_FILES} flags files, counting each file every time a --flags-file names it.`,
      'Name each flags file once, or put the flags in fewer files.',
    );
  let data: unknown;
  try {
    data = parse(readFileSync(real, 'utf8'));
  } catch (err) {
    throw new InputError(NAME, path, `a readable YAML file of flags (${(err as Error).name})`);
  }
  const groups = Array.isArray(data) ? data : [data];
  const words: string[] = [];
  for (const group of groups) {
    if (!group || typeof group !== 'object' || Array.isArray(group))
      throw new InputError(
        NAME,
        path,
        'a YAML dictionary (or list of dictionaries) of flags, as gcloud reads it',
      );
    for (const [flag, value] of Object.entries(group as Record<string, unknown>)) {
      if (!flag.startsWith('--'))
        throw new InputError(NAME, path, `flags spelled as on the command line (--name), not ${flag}`);
      if (flag === '--flags-file') {
        const within = { stack: [...expansion.stack, { real, named: path }], files: expansion.files };
        for (const nested of nestedPaths(path, value)) words.push(...flagsFileWords(nested, within));
      } else if (value === null || value === true) words.push(flag);
      else if (value === false) words.push(flag.replace(/^--/, '--no-'));
      else words.push(flag, valueWord(value));
    }
  }
  return words;
}

/**
 * The variables an --env-vars-file holds, as gcloud's ArgDictFile reads it (map_util.py, with the
 * key and value rules of env_vars_util.py): a YAML or JSON mapping whose values are all strings
 * (`PORT: 8080` is refused: gcloud says "values must be strings"), keys non-empty, without `=`, and
 * not starting with X_GOOGLE_. Values may be secret: an error names the key, never the value.
 */
export function envVarsFileFlag(name: string, path: string): KeyValues {
  const real = resolveInputPath(name, path, 'file');
  let data: unknown;
  try {
    data = parse(readFileSync(real, 'utf8'));
  } catch (err) {
    throw new InputError(name, path, `a readable YAML file of KEY: "value" lines (${(err as Error).name})`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data))
    throw new InputError(name, path, 'map-like YAML or JSON data (KEY: "value" lines), as gcloud reads it');
  const vars: KeyValues = {};
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    if (key.startsWith('X_GOOGLE_'))
      throw new InputError(name, key, 'variables not starting with X_GOOGLE_ (reserved for deploy tools)');
    if (typeof value !== 'string')
      throw new InputError(
        name,
        key,
        `string values, quoted in YAML ("${typeof value === 'number' ? '8080' : 'true'}"), as gcloud requires`,
      );
    vars[key] = value;
  }
  return checkEnvVars(name, vars);
}
