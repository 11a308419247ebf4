import { foldTrafficFlags, parseTrafficFlags } from '../../src/inputs/traffic-flags.js';
import { describeError, InputError, RunwayError } from '../../src/errors.js';

const message = (run: () => unknown): string => {
  try {
    run();
  } catch (err) {
    return describeError(err);
  }
  throw new Error('expected an error');
};

describe("parseTrafficFlags (deploy-cloudrun's update_traffic_flags, without gcloud)", () => {
  it('reads --to-revisions with LATEST and a revision, in both spellings of a value', () => {
    expect(parseTrafficFlags('--to-revisions=svc-00001-abc=50,LATEST=50')).toEqual({
      toRevisions: { 'svc-00001-abc': 50, LATEST: 50 },
      toLatest: false,
      toTags: undefined,
      tags: undefined,
    });
    expect(parseTrafficFlags('--to-revisions svc-00001-abc=50,LATEST=50').toRevisions).toEqual({
      'svc-00001-abc': 50,
      LATEST: 50,
    });
  });

  it('reads --to-latest as LATEST=100, as gcloud documents it', () => {
    expect(parseTrafficFlags('--to-latest')).toMatchObject({ toRevisions: { LATEST: 100 }, toLatest: true });
  });

  it('merges a repeated flag, the later value of a key winning (gcloud UpdateAction)', () => {
    expect(parseTrafficFlags('--to-tags=a=10,b=20 --to-tags=b=90').toTags).toEqual({ a: 10, b: 90 });
    expect(parseTrafficFlags('--update-tags=a=LATEST --update-tags=b=svc-1').tags).toEqual({
      clear: false,
      update: { a: 'LATEST', b: 'svc-1' },
      remove: [],
    });
  });

  it('reads --set-tags as clearing every other tag, and --clear-tags alone', () => {
    expect(parseTrafficFlags('--set-tags=stable=LATEST,old=svc-00001-abc').tags).toEqual({
      clear: true,
      update: { stable: 'LATEST', old: 'svc-00001-abc' },
      remove: [],
    });
    expect(parseTrafficFlags('--clear-tags').tags).toEqual({ clear: true, update: {}, remove: [] });
  });

  it('takes --update-tags with --remove-tags, and a split beside tag changes', () => {
    expect(parseTrafficFlags('--remove-tags=old,older --update-tags=next=LATEST --to-tags=next=100')).toEqual(
      {
        toRevisions: undefined,
        toLatest: false,
        toTags: { next: 100 },
        tags: { clear: false, update: { next: 'LATEST' }, remove: ['old', 'older'] },
      },
    );
  });

  it('keeps a flag quoted whole, as deploy-cloudrun splits words', () => {
    expect(parseTrafficFlags('"--update-tags=a=LATEST"').tags?.update).toEqual({ a: 'LATEST' });
  });

  it.each([
    ['--to-latest --to-revisions=LATEST=100', '--to-latest and --to-revisions'],
    ['--to-revisions=LATEST=100 --to-tags=a=100', '--to-revisions and --to-tags'],
    ['--set-tags=a=LATEST --update-tags=b=LATEST', '--set-tags and --update-tags/--remove-tags'],
    ['--clear-tags --remove-tags=a', '--clear-tags and --update-tags/--remove-tags'],
    ['--clear-tags --set-tags=a=LATEST', '--clear-tags and --set-tags'],
  ])('refuses %s, as gcloud refuses two flags of one group', (raw, named) => {
    expect(message(() => parseTrafficFlags(raw))).toContain(`update_traffic_flags\` gives ${named}`);
  });

  it.each([
    ['--to-revisions=LATEST=150', 'update_traffic_flags (--to-revisions)'],
    ['--to-revisions=LATEST=all', 'update_traffic_flags (--to-revisions)'],
    ['--to-revisions=LATEST', 'update_traffic_flags (--to-revisions)'],
    ['--to-revisions', 'update_traffic_flags (--to-revisions)'],
    ['--to-revisions --to-latest', 'update_traffic_flags (--to-revisions)'],
    ['--update-tags=Bad_Tag=LATEST', 'update_traffic_flags (--update-tags)'],
    ['--set-tags=a=Not/A/Revision', 'update_traffic_flags (--set-tags)'],
    ['--remove-tags=a,', 'update_traffic_flags (--remove-tags)'],
  ])('refuses the bad value in %s, naming the input and the flag', (raw, input) => {
    let error: unknown;
    try {
      parseTrafficFlags(raw);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).input).toBe(input);
  });

  it('refuses gcloud flags that have an input, and unknown words, saying what to do', () => {
    expect(message(() => parseTrafficFlags('--region=europe-west1'))).toMatch(
      /--region in `update_traffic_flags`.*\nFix: Use the `region` input/,
    );
    expect(message(() => parseTrafficFlags('--async'))).toContain('Runway waits for every traffic change');
    expect(message(() => parseTrafficFlags('--no-such-flag'))).toMatch(
      /not a flag of `gcloud run services update-traffic` that Runway understands \(it understands --to-latest, --clear-tags, --to-revisions/,
    );
    expect(message(() => parseTrafficFlags('LATEST=100'))).toContain('a value belongs after its flag');
    expect(() => parseTrafficFlags('--to-tags="a=1')).toThrow(InputError);
  });
});

describe('foldTrafficFlags (update_traffic_flags with revision_traffic or tag_traffic)', () => {
  const flags = parseTrafficFlags;

  it('merges --to-revisions over revision_traffic, as deploy-cloudrun passes it as --to-revisions first', () => {
    expect(foldTrafficFlags(flags('--to-revisions=rev-1=50,LATEST=50'), { LATEST: 100 }, undefined)).toEqual({
      revisionTraffic: { LATEST: 50, 'rev-1': 50 },
      tagTraffic: undefined,
      tags: undefined,
    });
  });

  it('merges --to-tags over tag_traffic', () => {
    expect(foldTrafficFlags(flags('--to-tags=blue=0,green=100'), undefined, { blue: 100 })).toEqual({
      revisionTraffic: undefined,
      tagTraffic: { blue: 0, green: 100 },
      tags: undefined,
    });
  });

  it('carries the tag changes beside the split the inputs give', () => {
    expect(foldTrafficFlags(flags('--update-tags=stable=LATEST'), { LATEST: 100 }, undefined)).toEqual({
      revisionTraffic: { LATEST: 100 },
      tagTraffic: undefined,
      tags: { clear: false, update: { stable: 'LATEST' }, remove: [] },
    });
  });

  it('refuses the flags without revision_traffic or tag_traffic, which deploy-cloudrun ignored', () => {
    const text = message(() => foldTrafficFlags(flags('--update-tags=a=LATEST'), undefined, undefined));
    expect(text).toContain(
      "Input 'update_traffic_flags' is given without `revision_traffic` or `tag_traffic`",
    );
    expect(text).toContain('Fix: Add `revision_traffic: LATEST=100`');
  });

  it.each([
    [
      '--to-latest',
      { LATEST: 100 },
      undefined,
      "'revision_traffic' and 'update_traffic_flags' (--to-latest)",
    ],
    [
      '--to-tags=a=100',
      { LATEST: 100 },
      undefined,
      "'revision_traffic' and 'update_traffic_flags' (--to-tags)",
    ],
    [
      '--to-revisions=LATEST=100',
      undefined,
      { a: 100 },
      "'tag_traffic' and 'update_traffic_flags' (--to-revisions)",
    ],
    ['--to-latest', undefined, { a: 100 }, "'tag_traffic' and 'update_traffic_flags' (--to-latest)"],
  ])('refuses %s beside the split input, naming both inputs', (raw, revisions, tags, named) => {
    const text = message(() => foldTrafficFlags(flags(raw), revisions, tags));
    expect(text).toContain(`Inputs ${named} both set the split`);
  });

  it('refuses a merged split that is not 100 (gcloud would scale the others; Runway says so)', () => {
    let error: unknown;
    try {
      foldTrafficFlags(flags('--to-revisions=rev-1=20'), { LATEST: 100 }, undefined);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RunwayError);
    expect(describeError(error)).toContain('(here 120)');
    expect((error as InputError).input).toBe('update_traffic_flags (--to-revisions)');
  });
});
