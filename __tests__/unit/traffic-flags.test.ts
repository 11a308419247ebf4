import { foldTrafficFlags, parseTrafficFlags } from '../../src/inputs/traffic-flags.js';
import { describeError, InputError, RunwayError } from '../../src/errors.js';
import { readSettings } from '../../src/inputs/inputs.js';
import { planRollout, type RolloutSettings } from '../../src/rollout/planner.js';
import type { DeployRevision, Plan } from '../../src/rollout/plan.js';
import type { Service, TrafficTarget } from '../../src/gcp/run-types.js';
import { rolloutSettings } from '../helpers/rollout-settings.js';
import {
  sameShares,
  tagsBefore,
  withTagChanges,
  withTagsRestored,
  type TagMove,
} from '../../src/deploy/traffic.js';

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

  it('merges a repeated flag, refusing a key given again, as gcloud UpdateAction does', () => {
    expect(parseTrafficFlags('--to-tags=a=10,b=20 --to-tags=c=70').toTags).toEqual({ a: 10, b: 20, c: 70 });
    // Within one value, gcloud's ArgDict keeps the later pair.
    expect(parseTrafficFlags('--to-tags=a=10,a=100').toTags).toEqual({ a: 100 });
    expect(message(() => parseTrafficFlags('--to-tags=a=10 --to-tags=a=10'))).toContain(
      '`update_traffic_flags` gives a in --to-tags twice',
    );
    expect(message(() => parseTrafficFlags('--remove-tags=a --remove-tags=b,a'))).toContain(
      'gives a in --remove-tags twice',
    );
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
    [
      '--set-tags=a=LATEST --update-tags=b=LATEST',
      '--set-tags and --update-tags: gcloud takes at most one of --clear-tags, --set-tags, --update-tags with --remove-tags.',
    ],
    ['--clear-tags --remove-tags=a', '--clear-tags and --remove-tags'],
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

  it('adds --to-revisions to revision_traffic, as deploy-cloudrun passes it as --to-revisions first', () => {
    expect(foldTrafficFlags(flags('--to-revisions=rev-1=50'), { LATEST: 50 }, undefined)).toEqual({
      revisionTraffic: { LATEST: 50, 'rev-1': 50 },
      tagTraffic: undefined,
      tags: undefined,
    });
  });

  it('adds --to-tags to tag_traffic', () => {
    expect(foldTrafficFlags(flags('--to-tags=blue=0'), undefined, { green: 100 })).toEqual({
      revisionTraffic: undefined,
      tagTraffic: { green: 100, blue: 0 },
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

  it('refuses a key both the split input and the flag give, as gcloud refuses it given twice', () => {
    expect(
      message(() => foldTrafficFlags(flags('--to-revisions=LATEST=50'), { LATEST: 100 }, undefined)),
    ).toContain("Inputs 'revision_traffic' and 'update_traffic_flags' (--to-revisions) both give LATEST");
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

describe('update_traffic_flags among the other inputs (readSettings)', () => {
  const base: Record<string, string> = { service: 'svc', image: 'us-docker.pkg.dev/p/r/i:1' };
  const read = (inputs: Record<string, string>) => () =>
    readSettings((name) => inputs[name] ?? base[name] ?? '');
  const problem = (inputs: Record<string, string>): string => message(read(inputs));

  it('folds the flags into the settings: the merged split and the tag changes', () => {
    const settings = read({
      revision_traffic: 'LATEST=50',
      update_traffic_flags: '--to-revisions=svc-00001-abc=50 --update-tags=stable=LATEST',
    })();
    expect(settings.revisionTraffic).toEqual({ LATEST: 50, 'svc-00001-abc': 50 });
    expect(settings.tagTraffic).toBeUndefined();
    expect(settings.trafficTags).toEqual({ clear: false, update: { stable: 'LATEST' }, remove: [] });
  });

  it('leaves the settings as they were without the input', () => {
    expect(read({ revision_traffic: 'LATEST=100' })().trafficTags).toBeUndefined();
  });

  it('takes a partial split input only when the flags complete it', () => {
    expect(problem({ revision_traffic: 'LATEST=50' })).toContain("Input 'revision_traffic' is invalid");
    expect(
      problem({ revision_traffic: 'LATEST=50', update_traffic_flags: '--update-tags=a=LATEST' }),
    ).toContain("Input 'revision_traffic' is invalid");
    expect(
      problem({ revision_traffic: 'LATEST=50', update_traffic_flags: '--to-revisions=r-1=40' }),
    ).toContain('add up to 100 (here 90)');
  });

  it.each([
    [{ no_traffic: 'true' }, "Inputs 'update_traffic_flags' and 'no_traffic' (true) were both given"],
    [{ traffic: 'none' }, "Inputs 'update_traffic_flags' and 'traffic' (none) were both given"],
    [{ traffic: 'immediate' }, "Inputs 'update_traffic_flags' and 'traffic' (immediate) were both given"],
  ])('refuses it beside %o, naming both inputs', (extra, text) => {
    const got = problem({
      revision_traffic: 'LATEST=100',
      update_traffic_flags: '--update-tags=a=LATEST',
      ...extra,
    });
    expect(got).toContain(text);
  });

  it('refuses it with preview, which takes no traffic', () => {
    expect(problem({ preview: 'true', update_traffic_flags: '--update-tags=a=LATEST' })).toContain(
      'Input \'update_traffic_flags\' is invalid: got "--update-tags=a=LATEST".\nFix: Accepted: nothing with `preview: true`',
    );
  });

  it('refuses it with cleanup, which moves no traffic', () => {
    expect(problem({ cleanup: 'true', update_traffic_flags: '--update-tags=a=LATEST' })).toContain(
      'Accepted: nothing with `cleanup: true`',
    );
  });

  it('refuses it for a job, as a service setting', () => {
    expect(problem({ service: '', job: 'j', update_traffic_flags: '--update-tags=a=LATEST' })).toContain(
      'Input \'update_traffic_flags\' is invalid: got "--update-tags=a=LATEST".\nFix: Accepted: nothing beside `job`',
    );
  });

  it('refuses a tag too long beside the service name', () => {
    expect(
      problem({
        revision_traffic: 'LATEST=100',
        update_traffic_flags: `--update-tags=t${'x'.repeat(44)}=LATEST`,
      }),
    ).toContain('tags of at most 43 characters');
  });

  it('reports a bad revision_traffic once, without a second error about the flags', () => {
    const got = problem({ revision_traffic: 'LATEST=50', update_traffic_flags: '--update-tags=a=LATEST' });
    expect(got).toContain("Input 'revision_traffic' is invalid");
    expect(got).not.toContain('update_traffic_flags');
  });
});

describe('update_traffic_flags in the plan', () => {
  const ref = { project: 'p', region: 'r', service: 'hello' };
  const old = 'hello-00003-old';
  const live: Service = {
    name: 'projects/p/locations/r/services/hello',
    generation: '3',
    template: { revision: old, containers: [{ image: 'h/p/r/app@sha256:0000' }] },
    traffic: [
      { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 },
      { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: old, percent: 0, tag: 'blue' },
    ],
    latestReadyRevision: `projects/p/locations/r/services/hello/revisions/${old}`,
    latestCreatedRevision: `projects/p/locations/r/services/hello/revisions/${old}`,
  };
  const plan = (over: Partial<RolloutSettings>, service: Service | null = live) =>
    planRollout({
      ref,
      settings: rolloutSettings({ revisionTraffic: { LATEST: 100 }, ...over }),
      changes: {
        image: 'h/p/r/app@sha256:1111',
        spec: {},
        envVarsUpdateStrategy: 'merge',
        secretsUpdateStrategy: 'merge',
        labels: {},
      },
      observed: { live: service ?? undefined, serving: undefined, public: true },
      letters: 'xyz',
    });
  const promoteStep = (p: Plan) => p.steps.find((s) => s.kind === 'promote')!;

  it('moves the tags in the promotion, LATEST as the new revision, never Runway’s own tag, and undoes them there', () => {
    const p = plan({ trafficTags: { clear: true, update: { green: 'LATEST' }, remove: [] } });
    expect(promoteStep(p).change).toEqual({
      kind: 'move-traffic',
      move: {
        kind: 'split',
        split: { 'hello-00004-xyz': 100 },
        tags: { clear: true, update: { green: 'hello-00004-xyz' }, remove: [], keep: ['rw-7-1-abc'] },
      },
    });
    expect(promoteStep(p).undo).toEqual({
      kind: 'restore-tags',
      tags: [
        { tag: 'blue', revision: old },
        { tag: 'green', revision: undefined },
      ],
    });
  });

  it('resolves --to-tags against the tags the same flags set, as gcloud changes tags first', () => {
    const p = plan({
      revisionTraffic: undefined,
      tagTraffic: { green: 10, blue: 90 },
      trafficTags: { clear: false, update: { green: 'LATEST' }, remove: [] },
    });
    expect(p.newShare).toBe(10);
    expect(promoteStep(p).change).toMatchObject({ move: { split: { 'hello-00004-xyz': 10, [old]: 90 } } });
  });

  it('tags a new service’s first revision in its creation (there is no promotion)', () => {
    const p = plan({ trafficTags: { clear: false, update: { stable: 'LATEST' }, remove: [] } }, null);
    expect(p.steps.map((s) => s.kind)).not.toContain('promote');
    const create = p.steps.find((s) => s.kind === 'create-candidate')!.change as DeployRevision;
    expect(create.alone).toEqual({
      tag: undefined,
      tags: { clear: false, update: { stable: 'hello-00001-xyz' }, remove: [], keep: ['rw-7-1-abc'] },
    });
  });
});

describe('tag changes on a split (gcloud UpdateTags)', () => {
  const R = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION';
  const split: TrafficTarget[] = [
    { type: R, revision: 'a', percent: 100, tag: 'blue' },
    { type: R, revision: 'b', percent: 0, tag: 'green' },
    { type: R, revision: 'b', percent: 0, tag: 'rw-1' },
  ];
  const move = (over: Partial<TagMove>): TagMove => ({
    clear: false,
    update: {},
    remove: [],
    keep: ['rw-1'],
    ...over,
  });

  it('takes a removed tag off its entry, which keeps its share, and puts updated tags on 0% entries', () => {
    expect(withTagChanges(split, move({ remove: ['blue'], update: { green: 'a' } }))).toEqual([
      { type: R, revision: 'a', percent: 100 },
      { type: R, revision: 'b', percent: 0, tag: 'rw-1' },
      { type: R, revision: 'a', percent: 0, tag: 'green' },
    ]);
  });

  it('clears every tag but Runway’s own', () => {
    expect(withTagChanges(split, move({ clear: true }))).toEqual([
      { type: R, revision: 'a', percent: 100 },
      { type: R, revision: 'b', percent: 0, tag: 'rw-1' },
    ]);
  });

  it('puts the changed tags back as they were', () => {
    const moved = withTagChanges(split, move({ clear: true, update: { next: 'a' } }));
    const before = tagsBefore(split, move({ clear: true, update: { next: 'a' } }));
    expect(before).toEqual([
      { tag: 'blue', revision: 'a' },
      { tag: 'green', revision: 'b' },
      { tag: 'next', revision: undefined },
    ]);
    const restored = withTagsRestored(moved, before);
    const tagsOf = (targets: TrafficTarget[]) =>
      Object.fromEntries(targets.flatMap((t) => (t.tag ? [[t.tag, t.revision]] : [])));
    expect(sameShares(restored, split)).toBe(true);
    expect(tagsOf(restored)).toEqual(tagsOf(split));
  });
});

describe('names that are also Object.prototype keys', () => {
  it('are plain tags and revisions, never taken for given ones', () => {
    expect(parseTrafficFlags('--to-tags=a=50 --to-tags=constructor=50').toTags).toEqual({
      a: 50,
      constructor: 50,
    });
    expect(
      foldTrafficFlags(parseTrafficFlags('--to-revisions=constructor=50'), { LATEST: 50 }, undefined)
        .revisionTraffic,
    ).toEqual({
      LATEST: 50,
      constructor: 50,
    });
    const live: TrafficTarget[] = [
      { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'a', percent: 0, tag: 'constructor' },
    ];
    expect(withTagChanges(live, { clear: false, update: {}, remove: [], keep: [] })).toEqual(live);
  });
});
