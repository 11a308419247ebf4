import { withPublicAccess } from '../../src/deploy/apply.js';
import {
  restoredTraffic,
  sameShares,
  describeTraffic,
  pinTraffic,
  promote,
  servingSplit,
  withCandidate,
  withoutTag,
  followLatest,
  candidateTagFor,
  sameTraffic,
  largestShare,
  previewTagFor,
} from '../../src/deploy/traffic.js';
import { nextRevisionName, resolveSplit } from '../../src/rollout/planner.js';
import { fixForRevisionFailure } from '../../src/rollout/checks.js';
import { judge, parseExpectedStatus } from '../../src/common/health.js';
import { templateOf, type Service, type TrafficTarget } from '../../src/gcp/run-types.js';

const REV = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION';
const LATEST = 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST';
const base = (over: Partial<Service>): Service => ({
  template: {},
  latestReadyRevision: 'projects/p/locations/r/services/s/revisions/s-00002-bbb',
  ...over,
});

describe('pinTraffic', () => {
  it('replaces LATEST with the revision it means now, so a new revision gets nothing', () => {
    expect(pinTraffic(base({ traffic: [{ type: LATEST, percent: 100 }] }))).toEqual([
      { type: REV, revision: 's-00002-bbb', percent: 100 },
    ]);
  });
  it('treats an empty split as 100% LATEST and keeps tags and pinned revisions', () => {
    expect(pinTraffic(base({}))).toEqual([{ type: REV, revision: 's-00002-bbb', percent: 100 }]);
    expect(
      pinTraffic(
        base({
          traffic: [
            { type: REV, revision: 's-00001-aaa', percent: 100 },
            { type: REV, revision: 's-00002-bbb', percent: 0, tag: 'pr-1' },
          ],
        }),
      ),
    ).toEqual([
      { type: REV, revision: 's-00001-aaa', percent: 100 },
      { type: REV, revision: 's-00002-bbb', percent: 0, tag: 'pr-1' },
    ]);
  });
  it('merges untagged entries for the same revision (enum given as a number, as the Node client sends)', () => {
    expect(
      pinTraffic(
        base({
          traffic: [
            { type: 1 as never, percent: 50 },
            { type: REV, revision: 's-00002-bbb', percent: 50 },
          ],
        }),
      ),
    ).toEqual([{ type: REV, revision: 's-00002-bbb', percent: 100 }]);
  });
});

describe('candidate tags and promotion', () => {
  const pinned = [{ type: REV, revision: 'old', percent: 100 }] as const;
  it('adds the candidate at 0% with its tag, replacing an old holder of the tag', () => {
    expect(
      withCandidate([...pinned, { type: REV, revision: 'older', percent: 0, tag: 'c' }], 'new', 'c'),
    ).toEqual([
      { type: REV, revision: 'old', percent: 100 },
      { type: REV, revision: 'new', percent: 0, tag: 'c' },
    ]);
  });
  it('moves a tag that a serving revision holds, leaving that revision its share', () => {
    expect(withCandidate([{ type: REV, revision: 'old', percent: 100, tag: 'pr-3' }], 'new', 'pr-3')).toEqual(
      [
        { type: REV, revision: 'old', percent: 100 },
        { type: REV, revision: 'new', percent: 0, tag: 'pr-3' },
      ],
    );
  });
  it('promotes with the split and keeps other tags at 0%', () => {
    expect(
      promote(
        [
          { type: REV, revision: 'old', percent: 100 },
          { type: REV, revision: 'x', percent: 0, tag: 'pr-1' },
        ],
        { new: 90, old: 10 },
      ),
    ).toEqual([
      { type: REV, revision: 'new', percent: 90 },
      { type: REV, revision: 'old', percent: 10 },
      { type: REV, revision: 'x', percent: 0, tag: 'pr-1' },
    ]);
  });
  it('writes all traffic to the new revision by name, never as LATEST, keeping tags', () => {
    expect(promote([{ type: REV, revision: 'x', percent: 0, tag: 'pr-1' }], { new: 100 })).toEqual([
      { type: REV, revision: 'new', percent: 100 },
      { type: REV, revision: 'x', percent: 0, tag: 'pr-1' },
    ]);
  });
  it('follows LATEST again only when the checked revision serves everything and is the latest ready', () => {
    const live = (latest: string, traffic: TrafficTarget[]): Service =>
      base({ latestReadyRevision: `projects/p/locations/r/services/s/revisions/${latest}`, traffic });
    const byName = [
      { type: REV, revision: 'new', percent: 100 },
      { type: REV, revision: 'x', percent: 0, tag: 'pr-1' },
    ] as TrafficTarget[];
    expect(followLatest(live('new', byName), 'new')).toEqual([
      { type: LATEST, percent: 100 },
      { type: REV, revision: 'x', percent: 0, tag: 'pr-1' },
    ]);
    // Someone deployed a newer revision meanwhile: LATEST would mean theirs.
    expect(followLatest(live('theirs', byName), 'new')).toBeUndefined();
    // A split, or a split already following LATEST, stays as it is.
    expect(
      followLatest(
        live('new', [
          { type: REV, revision: 'new', percent: 90 },
          { type: REV, revision: 'old', percent: 10 },
        ]),
        'new',
      ),
    ).toBeUndefined();
    expect(followLatest(live('new', [{ type: LATEST, percent: 100 }]), 'new')).toBeUndefined();
  });
  it('drops a tag but keeps its traffic', () => {
    expect(withoutTag([{ type: REV, revision: 'a', percent: 100, tag: 't' }], 't')).toEqual([
      { type: REV, revision: 'a', percent: 100 },
    ]);
    expect(
      withoutTag(
        [
          { type: REV, revision: 'a', percent: 0, tag: 't' },
          { type: REV, revision: 'b', percent: 100 },
        ],
        't',
      ),
    ).toEqual([{ type: REV, revision: 'b', percent: 100 }]);
  });
  it('resolves revision_traffic (LATEST = the new revision) and tag_traffic', () => {
    expect(
      resolveSplit({ revisionTraffic: { LATEST: 90, old: 10 }, tagTraffic: undefined }, 'new', []),
    ).toEqual({ new: 90, old: 10 });
    expect(
      resolveSplit({ revisionTraffic: undefined, tagTraffic: { blue: 100 } }, 'new', [
        { revision: 'b1', tag: 'blue' },
      ]),
    ).toEqual({ b1: 100 });
    expect(() => resolveSplit({ revisionTraffic: undefined, tagTraffic: { nope: 100 } }, 'new', [])).toThrow(
      /tag 'nope'/,
    );
    expect(resolveSplit({ revisionTraffic: undefined, tagTraffic: undefined }, 'new', [])).toEqual({
      new: 100,
    });
  });
  it('describes and reads back the serving split', () => {
    const service = base({
      trafficStatuses: [
        { type: LATEST, percent: 100 },
        { type: REV, revision: 'x', percent: 0, tag: 'pr-1', uri: 'http://t' },
      ],
    });
    expect(servingSplit(service)).toEqual({ 's-00002-bbb': 100 });
    expect(describeTraffic(service.trafficStatuses)).toBe('LATEST 100% (tags: pr-1 → x)');
  });
});

describe('revision names', () => {
  it("follows Cloud Run's SERVICE-NNNNN-xyz form, or SERVICE-SUFFIX", () => {
    expect(nextRevisionName('hello', base({ generation: '4' }), undefined, 'abz')).toBe('hello-00005-abz');
    expect(nextRevisionName('hello', undefined, undefined, 'ccc')).toBe('hello-00001-ccc');
    expect(nextRevisionName('hello', undefined, 'pr-7', 'xyz')).toBe('hello-pr-7');
  });
});

describe('health check judgement', () => {
  it('parses status classes and lists', () => {
    expect(parseExpectedStatus('2xx')).toEqual([[200, 299]]);
    expect(parseExpectedStatus('200, 301')).toEqual([
      [200, 200],
      [301, 301],
    ]);
    expect(parseExpectedStatus('ok')).toBeUndefined();
  });
  it('needs the status and, when given, the body pattern', () => {
    const check = { expectedStatus: [[200, 299]] as Array<[number, number]>, bodyPattern: /ready/ };
    expect(judge(check, 200, 'all ready')).toBe(true);
    expect(judge(check, 200, 'starting')).toBe(false);
    expect(judge(check, 503, 'ready')).toBe(false);
  });
});

describe('fixes for revisions Cloud Run could not start', () => {
  const template = {
    serviceAccount: 'rt@p.iam.gserviceaccount.com',
    containers: [
      {
        image: 'i',
        env: [
          { name: 'A', value: '1' },
          { name: 'DB', valueSource: { secretKeyRef: { secret: 'db-pass', version: 'latest' } } },
        ],
      },
    ],
    volumes: [{ name: 'v', secret: { secret: 'projects/p/secrets/tls-key' } }],
  };
  it('names every referenced secret and the runtime account for a secret access failure', () => {
    const fix = fixForRevisionFailure('SECRETS_ACCESS_CHECK_FAILED', template, 8080);
    expect(fix).toContain(
      'gcloud secrets add-iam-policy-binding db-pass --role=roles/secretmanager.secretAccessor --member=serviceAccount:rt@p.iam.gserviceaccount.com',
    );
    expect(fix).toContain('gcloud secrets add-iam-policy-binding tls-key ');
  });
  it('points at the image, the pull permission, or $PORT, by the Ready condition reason', () => {
    expect(fixForRevisionFailure('CONTAINER_MISSING', template, 8080)).toMatch(/image exists/);
    expect(fixForRevisionFailure('CONTAINER_PERMISSION_DENIED', template, 8080)).toContain(
      'rt@p.iam.gserviceaccount.com) roles/artifactregistry.reader',
    );
    expect(fixForRevisionFailure('REVISION_FAILED', template, 9090)).toContain('$PORT (9090)');
    expect(fixForRevisionFailure(undefined, {}, 8080)).toContain('$PORT (8080)');
  });
});

describe('candidate tags', () => {
  it('are rw-RUN-ATTEMPT-xyz when that fits beside the service name, distinct per job', () => {
    expect(candidateTagFor('hello', '4242', '1', 'job-a')).toMatch(/^rw-4242-1-[a-z0-9]{3}$/);
    expect(candidateTagFor('hello', '4242', '1', 'job-a')).toBe(
      candidateTagFor('hello', '4242', '1', 'job-a'),
    );
    expect(candidateTagFor('hello', '4242', '1', 'job-a')).not.toBe(
      candidateTagFor('hello', '4242', '1', 'job-b'),
    );
  });
  it('shrink to hash characters for long service names, and are undefined when nothing fits', () => {
    const service = 'a'.repeat(40);
    const tag = candidateTagFor(service, '123456789012', '2', 'n')!;
    expect(tag.length + service.length).toBe(46);
    expect(tag).toMatch(/^r[a-z0-9]{5}$/);
    expect(candidateTagFor(service, '123456789012', '3', 'n')).not.toBe(tag);
    expect(candidateTagFor('a'.repeat(45), '1', '1', 'n')).toBe('r');
    expect(candidateTagFor('a'.repeat(46), '1', '1', 'n')).toBeUndefined();
  });
  it('spread their hash characters over the whole alphabet', () => {
    const seen = new Set<string>();
    for (let run = 0; run < 2000; run++) seen.add(candidateTagFor('a'.repeat(44), String(run), '1', 'n')!);
    expect(seen.size).toBe(36);
  });
});

describe('preview tags', () => {
  it('are pr-NUMBER, or pNUMBER when that would pass 46 characters with the service name', () => {
    expect(previewTagFor('hello', 42)).toBe('pr-42');
    expect(previewTagFor('a'.repeat(41), 42)).toBe('pr-42');
    expect(previewTagFor('a'.repeat(42), 42)).toBe('p42');
    expect(previewTagFor('a'.repeat(43), 42)).toBe('p42');
    expect(previewTagFor('a'.repeat(44), 42)).toBeUndefined();
  });
});

describe('traffic comparison and the previous revision', () => {
  it('compares splits regardless of order, and picks the largest share', () => {
    const a = [
      { type: REV, revision: 'x', percent: 90 },
      { type: REV, revision: 'y', percent: 10, tag: 't' },
    ] as const;
    expect(sameTraffic([...a], [a[1], a[0]])).toBe(true);
    expect(sameTraffic([...a], [a[0]])).toBe(false);
    expect(largestShare([...a])).toBe('x');
    expect(largestShare([])).toBeUndefined();
  });
});

describe('withPublicAccess', () => {
  const invoker = (members: string[]) => ({ role: 'roles/run.invoker', members });
  const other = { role: 'roles/run.viewer', members: ['user:a@x.com'] };
  it('adds or removes allUsers only, keeping every other member and binding', () => {
    expect(withPublicAccess({ bindings: [other], etag: 'e' }, true)).toEqual({
      bindings: [other, invoker(['allUsers'])],
      etag: 'e',
    });
    expect(withPublicAccess({ bindings: [invoker(['allUsers', 'serviceAccount:s@p'])] }, false)).toEqual({
      bindings: [invoker(['serviceAccount:s@p'])],
    });
    expect(withPublicAccess({ bindings: [other, invoker(['allUsers'])] }, false)).toEqual({
      bindings: [other],
    });
  });
  it('is undefined when the policy already is as asked', () => {
    expect(withPublicAccess({ bindings: [invoker(['allUsers'])] }, true)).toBeUndefined();
    expect(withPublicAccess({}, false)).toBeUndefined();
  });
});

describe('rolling back beside other writers', () => {
  const rev = (revision: string, percent: number, tag?: string): TrafficTarget => ({
    type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION',
    revision,
    percent,
    ...(tag ? { tag } : {}),
  });
  it('compares shares, not the 0% tags others add or remove', () => {
    expect(sameShares([rev('a', 100)], [rev('a', 100), rev('p', 0, 'pr-9')])).toBe(true);
    expect(sameShares([rev('a', 90), rev('b', 10)], [rev('a', 100)])).toBe(false);
  });
  it("restores the earlier shares and this run's tag, keeping tags others set meanwhile", () => {
    const before = [rev('a', 100), rev('old-preview', 0, 'pr-7'), rev('gone', 0, 'pr-3')];
    const live = [rev('a', 100), rev('new', 0, 'pr-7'), rev('p9', 0, 'pr-9')];
    expect(restoredTraffic(before, live, 'pr-7')).toEqual([
      rev('a', 100),
      rev('old-preview', 0, 'pr-7'),
      rev('p9', 0, 'pr-9'),
    ]);
  });
});

describe('templateOf', () => {
  it("rebuilds a revision's template, without its output fields or the API's reserved keys", () => {
    expect(
      templateOf({
        name: 'projects/p/locations/l/services/s/revisions/s-1',
        createTime: '2026-11-24T10:00:00Z',
        conditions: [],
        labels: { team: 'web', 'run.googleapis.com/startupProbeType': 'Default' },
        annotations: { 'cloud.googleapis.com/location': 'l' },
        containers: [{ image: 'x@sha256:1', env: [{ name: 'A', value: '1' }] }],
        scaling: { maxInstanceCount: 3 },
        serviceAccount: 'rt@p.iam.gserviceaccount.com',
      }),
    ).toEqual({
      labels: { team: 'web' },
      containers: [{ image: 'x@sha256:1', env: [{ name: 'A', value: '1' }] }],
      scaling: { maxInstanceCount: 3 },
      serviceAccount: 'rt@p.iam.gserviceaccount.com',
    });
  });
});
