// deploy-cloudrun's `update_traffic_flags`: the flags it appends to `gcloud run services
// update-traffic SERVICE --to-revisions=revision_traffic | --to-tags=tag_traffic`, which it runs
// after the deploy only when one of those two inputs is set. There is no gcloud here, so the GA
// flags of that command are parsed into a typed value with gcloud's meaning (its flag groups,
// its repeated-flag merging) and folded into the split and the tag changes the rollout applies.
import { parseFlags as splitFlags } from '@google-github-actions/actions-utils';
import { InputError, RunwayError } from '../errors.js';
import { refuseExclusive, type ExclusiveGroup } from './exclusive.js';

const INPUT = 'update_traffic_flags';

/** gcloud's --set-tags, --update-tags, --remove-tags, --clear-tags: what happens to the tags. */
export interface TagChanges {
  /** --clear-tags, or --set-tags: every tag not in `update` is removed. */
  clear: boolean;
  /** Tag → revision name, or LATEST (the new revision). */
  update: Record<string, string>;
  /** --remove-tags. */
  remove: string[];
}

/** What `update_traffic_flags` asks for, flag by flag, before it meets the other inputs. */
export interface TrafficFlags {
  /** --to-latest (as LATEST=100) or --to-revisions: revision or LATEST → percent. */
  toRevisions: Record<string, number> | undefined;
  /** Whether the split came from --to-latest (for the error when it meets another input). */
  toLatest: boolean;
  /** --to-tags: tag → percent. */
  toTags: Record<string, number> | undefined;
  tags: TagChanges | undefined;
}

const TAG = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

const VALUED = ['--to-revisions', '--to-tags', '--set-tags', '--update-tags', '--remove-tags'] as const;
const SWITCHES = ['--to-latest', '--clear-tags'] as const;
type Valued = (typeof VALUED)[number];

/** gcloud flags this command or every command has, which mean something else here, and what to use. */
const USE_INSTEAD: Record<string, string> = {
  '--region': 'the `region` input',
  '--project': 'the `project_id` input',
  '--async': 'nothing: Runway waits for every traffic change and verifies it',
  '--namespace': 'nothing: Runway deploys to fully managed Cloud Run, not Cloud Run for Anthos (GKE)',
  '--platform': 'nothing: Runway deploys to fully managed Cloud Run',
  '--format': 'nothing: Runway reads the result itself (see its outputs)',
};

/** gcloud's two exclusive groups of update-traffic (--update-tags and --remove-tags go together). */
const EXCLUSIVE: ExclusiveGroup[] = [
  { of: [['--to-latest'], ['--to-revisions'], ['--to-tags']] },
  { of: [['--clear-tags'], ['--set-tags'], ['--update-tags', '--remove-tags']] },
];

/** The words of the input, split as deploy-cloudrun splits them, `--flag=value` as two. */
function words(raw: string): string[] {
  let split: string[];
  try {
    split = splitFlags(raw);
  } catch {
    throw new InputError(INPUT, raw, 'flags with balanced quotes');
  }
  return split.flatMap((word) => {
    const m = /^(--[^=]+)=([\s\S]*)$/.exec(word);
    return m ? [m[1]!, m[2]!] : [word];
  });
}

function refuse(flag: string, accepted: string): never {
  throw new InputError(`${INPUT} (${flag})`, flag, accepted);
}

/** gcloud's ArgDict: KEY=VALUE pairs separated by commas; a key given twice keeps its last value. */
function pairs(flag: string, value: string, what: string): Array<[string, string]> {
  const items = value.split(',');
  return items.map((item) => {
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) refuse(flag, `${flag}=${what},… (comma-separated)`);
    return [item.slice(0, eq).trim(), item.slice(eq + 1).trim()];
  });
}

function duplicate(flag: string, key: string): never {
  throw new RunwayError(
    `\`${INPUT}\` gives ${key} in ${flag} twice: gcloud refuses a key given again in a repeated ${flag} ("${key}" cannot be specified multiple times).`,
    `Give each key once in \`${INPUT}\`.`,
  );
}

function percent(flag: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 100)
    refuse(flag, `whole percentages from 0 to 100 (${flag}=TARGET=PERCENT,…)`);
  return Number(value);
}

function tagName(flag: string, tag: string): string {
  if (!TAG.test(tag)) refuse(flag, 'tags of lowercase letters, digits and hyphens, starting with a letter');
  return tag;
}

/** A revision a tag names: LATEST, or a revision name as Cloud Run writes them. */
function revisionName(flag: string, revision: string): string {
  if (revision !== 'LATEST' && !/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(revision))
    refuse(flag, 'TAG=REVISION pairs whose revision is a revision name or LATEST (the new revision)');
  return revision;
}

/** Parses `update_traffic_flags` into what it asks for, refusing what gcloud would refuse. */
export function parseTrafficFlags(raw: string): TrafficFlags {
  const given = new Set<string>();
  const values: Partial<Record<Valued, string[]>> = {};
  const list = words(raw);
  for (let i = 0; i < list.length; i++) {
    const word = list[i]!;
    if ((SWITCHES as readonly string[]).includes(word)) {
      given.add(word);
      continue;
    }
    if ((VALUED as readonly string[]).includes(word)) {
      const value = list[i + 1];
      if (value === undefined || value.startsWith('--')) refuse(word, `${word}=VALUE`);
      (values[word as Valued] ??= []).push(value);
      given.add(word);
      i++;
      continue;
    }
    if (USE_INSTEAD[word])
      throw new RunwayError(
        `The flag ${word} in \`${INPUT}\` is not passed to gcloud (Runway has no gcloud).`,
        `Use ${USE_INSTEAD[word]} instead, and remove the flag from \`${INPUT}\`.`,
      );
    throw new RunwayError(
      `\`${INPUT}\` holds ${JSON.stringify(word)}, which is not a flag of \`gcloud run services update-traffic\` that Runway understands (it understands ${[...SWITCHES, ...VALUED].join(', ')}).`,
      `Remove it from \`${INPUT}\`${word.startsWith('--') ? '' : ' (a value belongs after its flag, as --to-revisions=REVISION=PERCENT)'}.`,
    );
  }
  refuseExclusive(EXCLUSIVE, [...given], INPUT, `Keep one of them in \`${INPUT}\`.`);
  // Repeated flags merge, as gcloud's UpdateAction merges them: a key given again is refused
  // (within one value, the later pair wins, as its ArgDict reads it).
  const dict = <V>(
    flag: Valued,
    read: (key: string, value: string) => [string, V],
  ): Record<string, V> | undefined => {
    const all = values[flag];
    if (!all) return undefined;
    const out: Record<string, V> = {};
    for (const value of all) {
      const one: Record<string, V> = {};
      for (const [k, v] of pairs(flag, value, 'KEY=VALUE')) {
        const [key, parsed] = read(k, v);
        one[key] = parsed;
      }
      for (const key of Object.keys(one)) if (Object.hasOwn(out, key)) duplicate(flag, key);
      Object.assign(out, one);
    }
    return out;
  };
  const toLatest = given.has('--to-latest');
  const toRevisions = toLatest
    ? { LATEST: 100 }
    : dict('--to-revisions', (k, v) => [
        k === 'LATEST' ? k : revisionName('--to-revisions', k),
        percent('--to-revisions', v),
      ]);
  const toTags = dict('--to-tags', (k, v) => [tagName('--to-tags', k), percent('--to-tags', v)]);
  const setTags = dict('--set-tags', (k, v) => [tagName('--set-tags', k), revisionName('--set-tags', v)]);
  const updateTags = dict('--update-tags', (k, v) => [
    tagName('--update-tags', k),
    revisionName('--update-tags', v),
  ]);
  const remove: string[] = [];
  for (const value of values['--remove-tags'] ?? []) {
    const tags = value.split(',').map((t) => tagName('--remove-tags', t.trim()));
    for (const tag of new Set(tags)) if (remove.includes(tag)) duplicate('--remove-tags', tag);
    remove.push(...new Set(tags));
  }
  const clear = given.has('--clear-tags') || setTags !== undefined;
  const tagsGiven = clear || updateTags !== undefined || remove.length > 0;
  return {
    toRevisions,
    toLatest,
    toTags,
    tags: tagsGiven ? { clear, update: setTags ?? updateTags ?? {}, remove } : undefined,
  };
}

/** The split and tag changes a run applies, `revision_traffic`/`tag_traffic` and the flags together. */
export interface FoldedTraffic {
  revisionTraffic: Record<string, number> | undefined;
  tagTraffic: Record<string, number> | undefined;
  tags: TagChanges | undefined;
}

function checkTotal(split: Record<string, number>, flag: string): void {
  const total = Object.values(split).reduce((a, b) => a + b, 0);
  if (total !== 100)
    throw new InputError(
      `${INPUT} (${flag})`,
      Object.entries(split)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
      `a split whose percentages, with \`revision_traffic\` or \`tag_traffic\`, add up to 100 (here ${total}); Runway does not scale the other revisions as gcloud does below 100`,
    );
}

/**
 * Folds the flags into the split the rollout applies, as deploy-cloudrun's one `update-traffic`
 * command would: its --to-revisions is `revision_traffic` (its --to-tags `tag_traffic`) with the
 * flag's pairs added to it, and a key given in both, or a second flag of gcloud's traffic group, is
 * refused as gcloud refuses it. The split input may then be partial: the sum is checked merged. deploy-cloudrun runs the command only with one of those inputs; Runway refuses the
 * flags without one, rather than ignore them as deploy-cloudrun does.
 */
export function foldTrafficFlags(
  flags: TrafficFlags,
  revisionTraffic: Record<string, number> | undefined,
  tagTraffic: Record<string, number> | undefined,
): FoldedTraffic {
  if (!revisionTraffic && !tagTraffic)
    throw new RunwayError(
      `Input '${INPUT}' is given without \`revision_traffic\` or \`tag_traffic\`: deploy-cloudrun runs \`gcloud run services update-traffic\` only with one of them, so these flags did nothing there.`,
      `Add \`revision_traffic: LATEST=100\` (or the split you want) to apply \`${INPUT}\` after the deploy, or remove \`${INPUT}\`.`,
    );
  const fromFlag = flags.toLatest ? '--to-latest' : flags.toRevisions ? '--to-revisions' : '--to-tags';
  const input = revisionTraffic ? 'revision_traffic' : 'tag_traffic';
  // deploy-cloudrun passes revision_traffic as --to-revisions and tag_traffic as --to-tags.
  const sameFlag = revisionTraffic ? '--to-revisions' : '--to-tags';
  if ((flags.toRevisions || flags.toTags) && fromFlag !== sameFlag)
    throw new RunwayError(
      `Inputs '${input}' and '${INPUT}' (${fromFlag}) both set the split: deploy-cloudrun passes \`${input}\` as ${sameFlag}, and gcloud takes at most one of --to-latest, --to-revisions, --to-tags.`,
      `Give the split once: in \`${input}\`, or (with ${sameFlag}) in \`${INPUT}\`.`,
    );
  const split = revisionTraffic ?? tagTraffic!;
  const again = Object.keys(flags.toRevisions ?? flags.toTags ?? {}).find((key) => Object.hasOwn(split, key));
  if (again !== undefined)
    throw new RunwayError(
      `Inputs '${input}' and '${INPUT}' (${fromFlag}) both give ${again}: deploy-cloudrun passes \`${input}\` as ${sameFlag} before the flags, and gcloud refuses a key given again ("${again}" cannot be specified multiple times).`,
      `Give ${again} once: in \`${input}\` or in \`${INPUT}\`.`,
    );
  const folded: FoldedTraffic = { revisionTraffic, tagTraffic, tags: flags.tags };
  if (revisionTraffic && flags.toRevisions) {
    folded.revisionTraffic = { ...revisionTraffic, ...flags.toRevisions };
    checkTotal(folded.revisionTraffic, fromFlag);
  }
  if (tagTraffic && flags.toTags) {
    folded.tagTraffic = { ...tagTraffic, ...flags.toTags };
    checkTotal(folded.tagTraffic, fromFlag);
  }
  return folded;
}
