// The planner, pure: the same facts give the same plan of steps, compared as data. Every traffic
// mode, previews, progressive delivery, rollback: false, keep_revisions, and the refusals made
// before anything changes.
import type { Service } from '../../src/gcp/run-types.js';
import { rolloutSettings } from '../helpers/rollout-settings.js';
import { describePlan, type Plan, type Step } from '../../src/rollout/plan.js';
import {
  planRollout,
  type Observation,
  type PlanInput,
  type RolloutSettings,
} from '../../src/rollout/planner.js';

const REVISION = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION' as const;
const LATEST = 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST' as const;
const ref = { project: 'p', region: 'r', service: 'hello' };
const image = 'h/p/r/app@sha256:1111';
const RECORD = 'runway.dev/rollout-7-1-abcdef';

const { latestReadyRevision: _ready, ...unready } = {
  name: 'projects/p/locations/r/services/hello',
  generation: '3',
  etag: '"e3"',
  template: { revision: 'hello-00003-old', containers: [{ image: 'h/p/r/app@sha256:0000' }] },
  traffic: [{ type: LATEST, percent: 100 }],
  latestReadyRevision: 'projects/p/locations/r/services/hello/revisions/hello-00003-old',
  latestCreatedRevision: 'projects/p/locations/r/services/hello/revisions/hello-00003-old',
  uri: 'https://hello',
} satisfies Service;
const serving: Service = { ...unready, latestReadyRevision: _ready };

const settings = (over: Partial<RolloutSettings> = {}): RolloutSettings =>
  rolloutSettings({ recordKey: RECORD, ...over });

function plan(
  over: Partial<RolloutSettings> = {},
  observed: Partial<Observation> = {},
  input: Partial<PlanInput> = {},
): Plan {
  return planRollout({
    ref,
    settings: settings(over),
    changes: {
      image,
      spec: {},
      envVarsUpdateStrategy: 'merge',
      secretsUpdateStrategy: 'merge',
      labels: {},
    },
    observed: { live: serving, serving: undefined, public: true, ...observed },
    letters: 'xyz',
    ...input,
  });
}

const kinds = (p: Plan): string[] => p.steps.map((s) => s.kind);
const step = (p: Plan, kind: Step['kind']): Step => p.steps.find((s) => s.kind === kind)!;

describe('planRollout', () => {
  it("a deploy from a service file: undoing it puts back the service's own settings with the traffic", () => {
    const live: Service = {
      ...serving,
      labels: { team: 'old' },
      description: 'as it was',
      annotations: { [RECORD]: '{}' },
    };
    const file: Service = { labels: { team: 'new' }, template: { containers: [{ image: 'from-file' }] } };
    const p = plan(
      {},
      { live },
      {
        changes: {
          image,
          spec: {},
          envVarsUpdateStrategy: 'merge',
          secretsUpdateStrategy: 'merge',
          labels: {},
          replace: file,
        },
      },
    );
    expect(step(p, 'create-candidate').undo).toEqual({
      kind: 'restore-traffic',
      to: p.servedBefore,
      ownTag: 'rw-7-1-abc',
      dropTag: 'rw-7-1-abc',
      settings: { labels: { team: 'old' }, description: 'as it was' },
    });
    expect(describePlan(p).join('\n')).toContain("100% and the service's settings");
    // Without a file the undo is the traffic alone, as before.
    expect(step(plan({}, { live }), 'create-candidate').undo).not.toHaveProperty('settings');
  });

  it('verified: a candidate beside the pinned split, checked on its own tag, promoted, checked live, tidied', () => {
    const p = plan();
    expect(p.revision).toBe('hello-00004-xyz');
    expect(kinds(p)).toEqual([
      'record-rollout',
      'create-candidate',
      'verify-on-tag',
      'promote',
      'verify-live',
      'clean-up',
    ]);
    expect(step(p, 'record-rollout')).toEqual({
      kind: 'record-rollout',
      phase: 'record rollout',
      doing: 'recording on the service what undoing needs',
      change: { kind: 'record-rollout', key: RECORD, revisions: ['hello-00003-old'] },
      undo: { kind: 'clear-rollout-record', key: RECORD },
    });
    expect(p.servedBefore).toEqual([{ type: REVISION, revision: 'hello-00003-old', percent: 100 }]);
    expect(p.previousRevision).toBe('hello-00003-old');
    expect(step(p, 'create-candidate')).toEqual({
      kind: 'create-candidate',
      phase: 'deploy and ready',
      doing: 'deploying revision hello-00004-xyz',
      change: {
        kind: 'deploy-revision',
        revision: 'hello-00004-xyz',
        changes: expect.objectContaining({ image }),
        baseTemplate: undefined,
        revisionOnly: false,
        split: undefined,
        tag: 'rw-7-1-abc',
        alone: { tag: undefined },
      },
      undo: {
        kind: 'restore-traffic',
        to: p.servedBefore,
        ownTag: 'rw-7-1-abc',
        dropTag: 'rw-7-1-abc',
      },
      check: { kind: 'revision-ready', revision: 'hello-00004-xyz', previousRevision: 'hello-00003-old' },
    });
    expect(step(p, 'verify-on-tag').check).toEqual({
      kind: 'healthy-on-tag',
      revision: 'hello-00004-xyz',
      tag: 'rw-7-1-abc',
    });
    expect(step(p, 'promote').change).toEqual({
      kind: 'move-traffic',
      move: { kind: 'split', split: { 'hello-00004-xyz': 100 } },
    });
    expect(step(p, 'verify-live').check).toEqual({
      kind: 'healthy-live',
      revision: 'hello-00004-xyz',
      share: 100,
    });
    expect(step(p, 'clean-up')).toMatchObject({
      change: {
        kind: 'move-traffic',
        move: { kind: 'tidy', revision: 'hello-00004-xyz', dropTag: 'rw-7-1-abc' },
      },
      skipWhen: 'already-so',
    });
    expect(p.afterwards).toEqual([
      {
        kind: 'clear-record',
        phase: 'clear record',
        doing: 'removing the rollout record',
        change: { kind: 'clear-rollout-record', key: RECORD },
        skipWhen: 'already-so',
        onFailure: 'warn',
      },
    ]);
    expect(p.onUnhealthy).toBeUndefined();
    expect(p.checksNeedToken).toBe(false);
  });

  it('a new service: created with all traffic, deleted if it fails, checked live', () => {
    const p = plan({ allowUnauthenticated: true }, { live: undefined, public: undefined });
    expect(p.revision).toBe('hello-00001-xyz');
    expect(p.createsService).toBe(true);
    expect(kinds(p)).toEqual(['create-candidate', 'public-access', 'verify-live', 'clean-up']);
    expect(step(p, 'create-candidate').undo).toEqual({ kind: 'delete-created-service' });
    expect(step(p, 'public-access')).toMatchObject({
      change: { kind: 'set-public-access', allow: true },
      undo: { kind: 'revert-public-access', madePublic: true },
      skipWhen: 'already-so',
    });
    expect(p.checksNeedToken).toBe(false);
  });

  it('a new service with `tag`: checked on that tag first', () => {
    const p = plan({ tag: 'blue' }, { live: undefined });
    expect(kinds(p)).toEqual(['create-candidate', 'verify-on-tag', 'verify-live', 'clean-up']);
    expect(step(p, 'create-candidate').change).toMatchObject({ alone: { tag: 'blue' } });
    expect(p.candidateTag).toBeUndefined();
  });

  it('a service that exists with nothing serving: no split to restore, and says so with any failure', () => {
    const p = plan({}, { live: unready });
    expect(step(p, 'create-candidate').undo).toBeUndefined();
    expect(p.caveats).toEqual([
      'hello in r existed but had no serving revision before this run, so there is no earlier split to restore.',
    ]);
  });

  it('immediate with all traffic: the split at once, no tag, checked on the service URL', () => {
    const p = plan({ traffic: 'immediate' });
    expect(kinds(p)).toEqual(['record-rollout', 'create-candidate', 'verify-live', 'clean-up']);
    expect(step(p, 'create-candidate').change).toMatchObject({
      split: { 'hello-00004-xyz': 100 },
      tag: undefined,
    });
    expect(p.checkTag).toBeUndefined();
  });

  it('immediate with part of the traffic: the split at once, and a tag to check the candidate on', () => {
    const p = plan({ traffic: 'immediate', revisionTraffic: { LATEST: 10, 'hello-00003-old': 90 } });
    expect(kinds(p)).toEqual([
      'record-rollout',
      'create-candidate',
      'verify-on-tag',
      'verify-live',
      'clean-up',
    ]);
    expect(step(p, 'create-candidate').change).toMatchObject({
      split: { 'hello-00004-xyz': 10, 'hello-00003-old': 90 },
      tag: 'rw-7-1-abc',
    });
    expect(step(p, 'verify-live').check).toMatchObject({ share: 10 });
  });

  it('none: no traffic beside the serving revision, so no live check', () => {
    expect(kinds(plan({ traffic: 'none' }))).toEqual([
      'record-rollout',
      'create-candidate',
      'verify-on-tag',
      'clean-up',
    ]);
  });

  it('traffic_steps: one step per share, each with its gates, and gate_url asked first', () => {
    const gate = { url: 'https://gate.example/ok', secret: undefined, token: undefined };
    const p = plan({
      progressive: { steps: [10, 100], waitSeconds: 30, maxErrorRate: 1, maxLatencyMs: 500, gate },
    });
    expect(kinds(p)).toEqual([
      'record-rollout',
      'create-candidate',
      'verify-on-tag',
      'traffic-step',
      'traffic-step',
      'verify-live',
      'clean-up',
    ]);
    expect(p.steps[3]).toEqual({
      kind: 'traffic-step',
      phase: 'step 10%',
      doing: 'moving 10% to hello-00004-xyz',
      approval: { kind: 'gate-approves', revision: 'hello-00004-xyz', percent: 10 },
      change: {
        kind: 'move-traffic',
        move: { kind: 'step', revision: 'hello-00004-xyz', percent: 10, before: p.servedBefore },
      },
      check: {
        kind: 'step-gates',
        revision: 'hello-00004-xyz',
        percent: 10,
        tag: 'rw-7-1-abc',
        holdSeconds: 30,
        maxErrorRate: 1,
        maxLatencyMs: 500,
      },
    });
  });

  it('a preview: only its revision, beside what serves, never access, refused when nothing serves', () => {
    const p = plan({ preview: true, traffic: 'none', tag: 'pr-7' });
    expect(kinds(p)).toEqual(['record-rollout', 'create-candidate', 'verify-on-tag', 'clean-up']);
    expect(step(p, 'create-candidate').change).toMatchObject({
      revisionOnly: true,
      alone: 'refuse',
      tag: 'pr-7',
    });
    expect(() => plan({ preview: true, traffic: 'none', tag: 'pr-7' }, { live: undefined })).toThrow(
      'hello in r does not exist, so a preview would be all it serves. Nothing was changed.',
    );
    expect(() => plan({ preview: true, traffic: 'none', tag: 'pr-7' }, { live: unready })).toThrow(
      'hello in r has no serving revision',
    );
  });

  it('the serving revision settings start the new one when the latest revision serves nothing', () => {
    const template = { containers: [{ image: 'h/p/r/app@sha256:2222' }] };
    const p = plan({}, { serving: { revision: 'hello-00003-old', template } });
    expect(step(p, 'create-candidate').change).toMatchObject({ baseTemplate: template });
    expect(p.notes.join('\n')).toMatch(/starts from the settings of hello-00003-old, which serves/);
  });

  it("rollback: false: a failed check removes only Runway's own tag, and its record", () => {
    const clear = { kind: 'clear-rollout-record', key: RECORD };
    expect(plan({ rollback: false }).onUnhealthy).toEqual([{ kind: 'drop-tag', tag: 'rw-7-1-abc' }, clear]);
    expect(plan({ rollback: false, tag: 'blue' }).onUnhealthy).toEqual([clear]);
    expect(plan({ rollback: false }, { live: undefined }).onUnhealthy).toEqual([]);
  });

  it('records what the undo routes back to: every share, and the tag the candidate takes over', () => {
    const split = {
      ...serving,
      traffic: [
        { type: REVISION, revision: 'hello-00003-old', percent: 90 },
        { type: REVISION, revision: 'hello-00002-two', percent: 10 },
        { type: REVISION, revision: 'hello-00001-one', percent: 0, tag: 'blue' },
        { type: REVISION, revision: 'hello-00001-one', percent: 0, tag: 'pr-3' },
      ],
    };
    expect(step(plan({}, { live: split }), 'record-rollout').change).toMatchObject({
      revisions: ['hello-00003-old', 'hello-00002-two'],
    });
    expect(step(plan({ tag: 'blue' }, { live: split }), 'record-rollout').change).toMatchObject({
      revisions: ['hello-00003-old', 'hello-00002-two', 'hello-00001-one'],
    });
  });

  it('records nothing where nothing served before: a new service, or one with no serving revision', () => {
    for (const live of [undefined, unready]) {
      const p = plan({ keepRevisions: 1 }, { live });
      expect(kinds(p)).not.toContain('record-rollout');
      expect(p.afterwards.map((s) => s.kind)).toEqual(['prune']);
    }
  });

  it('keep_revisions: pruning after the regions settle and the record is gone, never the revision that served before', () => {
    const { afterwards } = plan({ keepRevisions: 5, keepRevisionsGraceSeconds: 60 });
    expect(afterwards.map((s) => s.kind)).toEqual(['clear-record', 'prune']);
    expect(afterwards[1]).toEqual({
      kind: 'prune',
      phase: 'prune',
      doing: 'deleting idle revisions',
      change: { kind: 'prune-revisions', keep: 5, protect: ['hello-00003-old'], graceSeconds: 60 },
      onFailure: 'warn',
    });
  });

  it('health checks carry an ID token unless the service will be public', () => {
    expect(plan({}, { public: false }).checksNeedToken).toBe(true);
    expect(plan({ allowUnauthenticated: false }).checksNeedToken).toBe(true);
    expect(plan({ allowUnauthenticated: true }, { public: false }).checksNeedToken).toBe(false);
    expect(plan({}, { live: { ...serving, invokerIamDisabled: true }, public: false }).checksNeedToken).toBe(
      false,
    );
    expect(plan({}, { live: undefined, public: undefined }).checksNeedToken).toBe(true);
  });

  it('notes a split pinned to named revisions', () => {
    const pinned = { ...serving, traffic: [{ type: REVISION, revision: 'hello-00002-abc', percent: 100 }] };
    expect(plan({}, { live: pinned }).notes[0]).toMatch(/had its traffic pinned to named revisions/);
  });

  it('refuses before anything changes: no room for a tag, a candidate tag in use, an unknown tag_traffic tag', () => {
    expect(() => plan({ candidateTag: undefined })).toThrow(/leaves no room for a tag/);
    const busy = {
      ...serving,
      traffic: [...serving.traffic!, { type: REVISION, revision: 'x', percent: 0, tag: 'rw-7-1-abc' }],
    };
    expect(() => plan({}, { live: busy })).toThrow(/already in use/);
    expect(() => plan({ tagTraffic: { nope: 100 } })).toThrow(/names tag 'nope'/);
  });

  it('is pure: the same facts give the same plan', () => {
    expect(plan({ keepRevisions: 1 })).toEqual(plan({ keepRevisions: 1 }));
  });

  it('prints one line per step: the change, its undo and its check', () => {
    expect(describePlan(plan({ keepRevisions: 2 }))).toEqual([
      `record rollout: record on the service that undoing needs hello-00003-old (${RECORD}); undo: remove the rollout record`,
      'deploy and ready: deploy hello-00004-xyz (h/p/r/app@sha256:1111) with no traffic beside the serving revision, tagged rw-7-1-abc; undo: put back hello-00003-old 100%; check: hello-00004-xyz becomes ready',
      'verify on tag: check: health checks pass on the tag rw-7-1-abc',
      'promote: move traffic: hello-00004-xyz 100%',
      'verify live: check: 100% served; health checks pass on the service URL',
      'clean up: tidy traffic: drop tag rw-7-1-abc, follow the latest revision while it is hello-00004-xyz; skipped when already so',
      `clear record: remove the rollout record ${RECORD}; skipped when already so; a failure only warns`,
      'prune: delete idle revisions beyond the newest 2, none younger than 15m nor one a rollout in progress needs (never hello-00003-old); a failure only warns',
    ]);
  });
});
