import {
  describeTraffic,
  pinTraffic,
  promote,
  servingSplit,
  withCandidate,
  withoutTag,
} from '../../src/deploy/traffic.js';
import { fixForRevisionFailure, nextRevisionName, resolveSplit } from '../../src/rollout/rollout.js';
import { judge, parseExpectedStatus } from '../../src/rollout/health.js';
import type { Service } from '../../src/gcp/run-types.js';

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
  it('writes all traffic to the newest revision as LATEST, keeping tags', () => {
    expect(promote([{ type: REV, revision: 'x', percent: 0, tag: 'pr-1' }], { new: 100 }, 'new')).toEqual([
      { type: LATEST, percent: 100 },
      { type: REV, revision: 'x', percent: 0, tag: 'pr-1' },
    ]);
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
    expect(
      nextRevisionName('hello', base({ generation: '4' }), undefined, () => Buffer.from([0, 1, 25])),
    ).toBe('hello-00005-abz');
    expect(nextRevisionName('hello', undefined, undefined, () => Buffer.from([2, 2, 2]))).toBe(
      'hello-00001-ccc',
    );
    expect(nextRevisionName('hello', undefined, 'pr-7')).toBe('hello-pr-7');
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
  it('names the secret and the runtime account for a secret access failure', () => {
    const message =
      "spec.template.spec.containers[0].env[0].value_from.secret_key_ref.name: Permission denied on secret: projects/123/secrets/db-pass/versions/latest for Revision service account rt@p.iam.gserviceaccount.com. The service account used must be granted the 'Secret Manager Secret Accessor' role";
    expect(fixForRevisionFailure(message, 8080)).toContain(
      'gcloud secrets add-iam-policy-binding db-pass --role=roles/secretmanager.secretAccessor --member=serviceAccount:rt@p.iam.gserviceaccount.com',
    );
  });
  it('points at the image for a missing image, and at $PORT otherwise', () => {
    expect(
      fixForRevisionFailure(
        "Revision 'x' is not ready and cannot serve traffic. Image 'h/p/r/i@sha256:0' not found.",
        8080,
      ),
    ).toMatch(/image exists/);
    expect(
      fixForRevisionFailure('The user-provided container failed to start and listen on the port', 9090),
    ).toContain('$PORT (9090)');
  });
});
