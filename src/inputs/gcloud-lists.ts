// gcloud's list and dict flag values (calliope's ArgList and ArgDict), read as gcloud reads them, so
// a `flags` value such as `--add-volume name=a,type=nfs,location=10.0.0.2:/x` or `--network-tags
// a,b` means the same to Runway: items split at commas (or at the delimiter a leading `^D^` names,
// gcloud's escaping), nothing trimmed, and a dict item is KEY=VALUE split at its first `=`.
import { InputError } from '../errors.js';

/** The items of a gcloud list value. */
export function gcloudList(name: string, raw: string): string[] {
  let delim = ',';
  let value = raw;
  if (value.startsWith('^') && value.slice(1).includes('^')) {
    const end = value.indexOf('^', 1);
    delim = value.slice(1, end);
    value = value.slice(end + 1);
    if (!delim)
      throw new InputError(
        name,
        raw,
        'a list whose `^DELIM^` prefix names a delimiter (see `gcloud topic escaping`)',
      );
  }
  if (!value) return [];
  if (!value.endsWith(delim)) value += delim;
  return value.split(delim).slice(0, -1);
}

/** The keys and values of a gcloud dict value; a key given twice keeps its last value, as gcloud does. */
export function gcloudDict(name: string, raw: string, requiredKeys: string[] = []): Map<string, string> {
  const dict = new Map<string, string>();
  for (const item of gcloudList(name, raw)) {
    const m = /^([^=]+)=([\s\S]*)$/.exec(item);
    if (!m) throw new InputError(name, raw, `KEY=VALUE pairs separated by commas (\`${item}\` has no \`=\`)`);
    dict.set(m[1]!, m[2]!);
  }
  const missing = requiredKeys.find((k) => !dict.has(k));
  if (missing) throw new InputError(name, raw, `KEY=VALUE pairs with the key \`${missing}\``);
  return dict;
}
