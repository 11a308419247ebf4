// keep_revisions, after a deploy or on cleanup, and the rollout record it reads: which revisions it
// deletes and each one it never deletes (one that serves, one a traffic entry or tag names, the
// latest, the one that served before the run, one a live rollout record names, one younger than the
// grace period), and a record past its expiry naming nothing. Pure, then against the in-process
// Cloud Run, where the record is a real annotation on the service.
import { jest } from '@jest/globals';
import { InProcessCloudRun } from '../../emulator/inprocess.js';
import { DEFAULTS } from '../../emulator/seed.js';
import { CloudRunClient } from '../../src/gcp/run.js';
import type { Revision, Service } from '../../src/gcp/run-types.js';
import {
  MAX_DELETIONS_PER_RUN,
  pruneRevisions,
  revisionsToPrune,
  type PruneRules,
} from '../../src/deploy/prune.js';
import {
  recordExpiry,
  recordKey,
  RECORD_KEY_PREFIX,
  revisionsRecorded,
  withoutRecord,
  withRecord,
} from '../../src/deploy/rollout-record.js';

const REVISION = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION' as const;
const LATEST = 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST' as const;
const NOW = Date.parse('2026-11-24T12:00:00Z');
const full = (name: string): string => `projects/p/locations/l/services/s/revisions/${name}`;
/** A revision created `minutesAgo` minutes before NOW. */
const rev = (name: string, minutesAgo: number): Revision => ({
  name: full(name),
  createTime: new Date(NOW - minutesAgo * 60_000).toISOString(),
});
/** s-1 (oldest) … s-6 (newest, latest), all older than an hour. */
const revisions = [6, 5, 4, 3, 2, 1].map((n) => rev(`s-${7 - n}`, 60 + n));
const service = (over: Partial<Service> = {}): Service => ({
  template: {},
  latestReadyRevision: full('s-6'),
  latestCreatedRevision: full('s-6'),
  traffic: [{ type: REVISION, revision: 's-6', percent: 100 }],
  ...over,
});
const rules: PruneRules = { keep: 0, protect: [], graceSeconds: 900 };
const doomed = (svc: Service, over: Partial<PruneRules> = {}, list = revisions): string[] =>
  revisionsToPrune(list, svc, { ...rules, ...over }, NOW).doomed;
const recorded = (revisionsNeeded: string[], until: number, key = `${RECORD_KEY_PREFIX}9-1-abc`) =>
  withRecord(undefined, key, { revisions: revisionsNeeded, until });

describe('revisionsToPrune', () => {
  it('deletes idle revisions beyond the newest N, the newest first in the list', () => {
    expect(doomed(service())).toEqual(['s-5', 's-4', 's-3', 's-2', 's-1']);
    expect(doomed(service(), { keep: 2 })).toEqual(['s-3', 's-2', 's-1']);
    expect(doomed(service(), { keep: 5 })).toEqual([]);
  });

  it('never deletes a revision that serves', () => {
    const split = service({
      traffic: [
        { type: REVISION, revision: 's-6', percent: 70 },
        { type: REVISION, revision: 's-2', percent: 30 },
      ],
    });
    expect(doomed(split)).not.toContain('s-2');
    // As Cloud Run reports it, too: LATEST resolved, and trafficStatuses while traffic says otherwise.
    const statuses = service({
      traffic: [{ type: LATEST, percent: 100 }],
      latestReadyRevision: full('s-4'),
      trafficStatuses: [{ type: REVISION, revision: 's-3', percent: 100 }],
    });
    expect(doomed(statuses)).toEqual(['s-5', 's-2', 's-1']);
  });

  it('never deletes one that any traffic target or tag names, even at 0%', () => {
    const tagged = service({
      traffic: [
        { type: REVISION, revision: 's-6', percent: 100 },
        { type: REVISION, revision: 's-2', percent: 0, tag: 'pr-9' },
        { type: REVISION, revision: 's-3', percent: 0 },
      ],
      trafficStatuses: [{ type: REVISION, revision: 's-1', percent: 0, tag: 'x' }],
    });
    expect(doomed(tagged)).toEqual(['s-5', 's-4']);
  });

  it('never deletes the latest created or latest ready revision', () => {
    expect(doomed(service({ latestCreatedRevision: full('s-5') }))).toEqual(['s-4', 's-3', 's-2', 's-1']);
  });

  it('never deletes a protected revision (the one that served before the run)', () => {
    expect(doomed(service(), { protect: ['s-3'] })).toEqual(['s-5', 's-4', 's-2', 's-1']);
  });

  it('never deletes one that a live rollout record names, and says which record needs it', () => {
    const annotations = recorded(['s-2', 's-4'], NOW + 60_000);
    const choice = revisionsToPrune(revisions, service({ annotations }), rules, NOW);
    expect(choice.doomed).toEqual(['s-5', 's-3', 's-1']);
    expect([...choice.needed]).toEqual([
      ['s-4', `${RECORD_KEY_PREFIX}9-1-abc`],
      ['s-2', `${RECORD_KEY_PREFIX}9-1-abc`],
    ]);
  });

  it('ignores a record past its expiry (a run that crashed), and an annotation that is no record', () => {
    const stale = { ...recorded(['s-2'], NOW - 1), 'example.com/note': '{"revisions":["s-3"]}' };
    expect(doomed(service({ annotations: stale }))).toEqual(['s-5', 's-4', 's-3', 's-2', 's-1']);
    const malformed = {
      [`${RECORD_KEY_PREFIX}x`]: 'not json',
      [`${RECORD_KEY_PREFIX}y`]: '{"revisions":"s-2"}',
    };
    expect(doomed(service({ annotations: malformed }))).toContain('s-2');
  });

  it('never deletes one younger than the grace period, nor one whose age is unknown', () => {
    const young = [...revisions.slice(0, 4), rev('s-5', 14), { name: full('s-x') }, rev('s-6', 0)];
    expect(doomed(service(), {}, young)).toEqual(['s-4', 's-3', 's-2', 's-1']);
    expect(doomed(service(), { graceSeconds: 0 }, young)).toEqual(['s-5', 's-4', 's-3', 's-2', 's-1']);
    // Young revisions still count among the newest N kept.
    expect(doomed(service(), { keep: 1 }, young)).toEqual(['s-4', 's-3', 's-2', 's-1']);
  });

  it(`deletes at most ${MAX_DELETIONS_PER_RUN} per run, the oldest first`, () => {
    const many = Array.from({ length: 80 }, (_, i) => rev(`m-${i}`, 1000 - i));
    const chosen = doomed({ template: {} }, { keep: 10 }, many);
    expect(chosen).toHaveLength(MAX_DELETIONS_PER_RUN);
    expect(chosen).toContain('m-0');
    expect(chosen).not.toContain('m-69');
  });
});

describe('the rollout record', () => {
  it('is one annotation per rollout, named after its run within the 63 characters Kubernetes allows', () => {
    expect(recordKey('123456', '2', 'ab12cd')).toBe('runway.dev/rollout-123456-2-ab12cd');
    const long = recordKey('9'.repeat(80), '1', 'ab12cd');
    expect(long.split('/')[1]!.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^runway\.dev\/rollout-9+-1-ab12cd$/);
    expect(recordKey('run id!', 'A', 'Nonce')).toBe('runway.dev/rollout-run-id-a-nonce');
  });

  it('is added beside every other annotation and removed alone', () => {
    const key = recordKey('1', '1', 'abc');
    const annotations = withRecord({ 'example.com/mine': 'x' }, key, { revisions: ['s-1'], until: NOW });
    expect(JSON.parse(annotations[key]!)).toEqual({
      revisions: ['s-1'],
      until: '2026-11-24T12:00:00.000Z',
    });
    expect(withoutRecord(annotations, key)).toEqual({ 'example.com/mine': 'x' });
    expect(withoutRecord({ 'example.com/mine': 'x' }, key)).toBeUndefined();
  });

  it("expires after its run's deadline plus the time undoing may take past it", () => {
    expect(recordExpiry(NOW, 120)).toBe(NOW + 360_000);
    const annotations = recorded(['s-1'], recordExpiry(NOW, 120));
    expect([...revisionsRecorded({ template: {}, annotations }, NOW + 359_999).keys()]).toEqual(['s-1']);
    expect([...revisionsRecorded({ template: {}, annotations }, NOW + 360_000).keys()]).toEqual([]);
  });
});

describe('pruneRevisions against the in-process Cloud Run', () => {
  const ref = { project: DEFAULTS.projectId, region: DEFAULTS.region, service: 'svc' };
  const IMAGE = 'us-docker.pkg.dev/runway-demo/runway/app@sha256:' + '1'.repeat(64);
  const NEXT = 'us-docker.pkg.dev/runway-demo/runway/app@sha256:' + '2'.repeat(64);
  const OTHER = 'us-docker.pkg.dev/runway-demo/runway/app@sha256:' + '3'.repeat(64);

  beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] }));
  afterEach(() => jest.useRealTimers());

  async function drive<T>(p: Promise<T>): Promise<T> {
    let settled = false;
    p.then(
      () => (settled = true),
      () => (settled = true),
    );
    while (!settled) await jest.advanceTimersByTimeAsync(500);
    return p;
  }

  /** `svc` with three revisions: two idle ones (the oldest first) and the one serving. */
  async function scene(): Promise<{ api: CloudRunClient; idle: string[] }> {
    const emu = await InProcessCloudRun.create();
    for (const image of [IMAGE, NEXT, OTHER]) emu.apps.set(image, { handler: () => ({ body: 'ok\n' }) });
    await emu.seed({
      services: [
        {
          project: ref.project,
          location: ref.region,
          serviceId: ref.service,
          service: { invokerIamDisabled: true, template: { containers: [{ image: IMAGE }] } },
          history: 2,
        },
      ],
    });
    const api = new CloudRunClient(async () => emu.accessToken(), emu.urls.run, emu.fetch);
    const all = await api.listRevisions(ref);
    const live = (await api.getService(ref))!;
    const idle = all
      .map((r) => r.name!.split('/').pop()!)
      .filter((name) => name !== live.latestReadyRevision!.split('/').pop());
    return { api, idle };
  }

  async function annotate(api: CloudRunClient, annotations: Record<string, string>): Promise<void> {
    const live = (await api.getService(ref))!;
    const op = await api.updateAnnotations(ref, annotations, live.etag);
    await api.waitOperation(op, Date.now() + 60_000);
  }

  it("keeps what another rollout's record names, deletes the rest, and says why it kept it", async () => {
    const { api, idle } = await drive(scene());
    const key = recordKey('77', '1', 'xyz');
    await drive(
      annotate(api, withRecord(undefined, key, { revisions: [idle[0]!], until: Date.now() + 600_000 })),
    );
    const result = await drive(
      pruneRevisions(api, ref, { keep: 0, protect: [], graceSeconds: 0 }, Date.now() + 60_000),
    );
    expect(result.deleted).toEqual(idle.slice(1));
    expect([...result.needed]).toEqual([[idle[0], key]]);
    expect((await drive(api.listRevisions(ref))).map((r) => r.name!.split('/').pop())).toContain(idle[0]);
  });

  it('deletes what a record past its expiry names', async () => {
    const { api, idle } = await drive(scene());
    const key = recordKey('77', '1', 'xyz');
    await drive(annotate(api, withRecord(undefined, key, { revisions: idle, until: Date.now() - 1 })));
    const result = await drive(
      pruneRevisions(api, ref, { keep: 0, protect: [], graceSeconds: 0 }, Date.now() + 60_000),
    );
    expect(result.deleted.sort()).toEqual([...idle].sort());
  });

  it('keeps revisions younger than the grace period, and deletes them once they are older', async () => {
    const { api, idle } = await drive(scene());
    // Two deploys now: the first one's revision is idle, and young.
    for (const image of [NEXT, OTHER]) {
      const live = (await drive(api.getService(ref)))!;
      const template = { ...live.template, revision: '', containers: [{ image }] };
      const op = await drive(api.updateService(ref, { ...live, template }));
      await drive(api.waitOperation(op, Date.now() + 60_000));
    }
    const young = (await drive(api.listRevisions(ref)))
      .map((r) => r.name!.split('/').pop()!)
      .filter((name) => !idle.includes(name));
    expect(young).toHaveLength(3);
    const rules: PruneRules = { keep: 0, protect: [], graceSeconds: 900 };
    // The day-old idle ones go; of the young ones only the latest is in use, and none goes.
    const first = await drive(pruneRevisions(api, ref, rules, Date.now() + 60_000));
    expect(first.deleted.sort()).toEqual([...idle].sort());
    await jest.advanceTimersByTimeAsync(900_000);
    const later = await drive(pruneRevisions(api, ref, rules, Date.now() + 60_000));
    expect(later.deleted).toHaveLength(2);
    expect(young).toEqual(expect.arrayContaining(later.deleted));
  });
});
