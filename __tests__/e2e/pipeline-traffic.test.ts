// End to end, the deploy pipeline's verified traffic (issue 4): rollback of a revision that never
// starts or fails its check, private services, tags, pinned traffic and splits. Split from
// pipeline.test.ts so that Jest's workers run the two halves side by side.
import { env } from '../helpers/emulator.js';
import { authInputs, deployApp as deploy, errorOf, runAction, expectSuccess } from '../helpers/action.js';
import { appContext } from '../helpers/app-context.js';
import { getService, patchService, sample, servingSplit } from '../helpers/cloudrun.js';

const repository = (): string => env('RUNWAY_EMULATOR_REPOSITORY');

async function text(url: string): Promise<string> {
  const res = await fetch(url);
  return `${res.status} ${(await res.text()).trim()}`;
}

describe('verified traffic and rollback', () => {
  it.concurrent(
    "a revision whose container never starts fails with Cloud Run's reason; the old one keeps 100%",
    async () => {
      const good = await deploy('e2e-crash', 'stable');
      expectSuccess(good);
      const bad = await deploy('e2e-crash', 'never', {}, { crash: true });
      expect(bad.exitCode).toBe(1);
      expect(errorOf(bad)).toMatch(/Cloud Run could not start revision e2e-crash-\d{5}-[a-z]{3}/);
      expect(errorOf(bad)).toMatch(/failed to start and listen on the port/);
      const service = (await getService('e2e-crash'))!;
      expect(servingSplit(service)).toEqual({ [good.outputs.revision!]: 100 });
      expect(await sample(good.outputs.url!, 6)).toEqual(new Map([['200 stable', 6]]));
    },
  );

  it.concurrent(
    'a revision that fails its health check is rolled back: old revision serves, healthy=false, exit 1',
    async () => {
      const good = await deploy('e2e-unhealthy', 'stable', { health_check_path: '/health' });
      expectSuccess(good);
      const bad = await deploy(
        'e2e-unhealthy',
        'broken',
        { health_check_path: '/health' },
        { health: 'missing' },
      );
      expect(bad.exitCode).toBe(1);
      expect(bad.outputs.healthy).toBe('false');
      expect(errorOf(bad)).toMatch(
        /on its tag URL, before taking traffic\) failed its health check \(\/health: HTTP 404/,
      );
      expect(await sample(good.outputs.url!, 6)).toEqual(new Map([['200 stable', 6]]));
      const service = (await getService('e2e-unhealthy'))!;
      expect(servingSplit(service)).toEqual({ [good.outputs.revision!]: 100 });
      expect(service.traffic?.some((t) => t.tag?.startsWith('rw-'))).toBe(false);
    },
  );

  it.concurrent(
    'a revision healthy on its tag URL but failing once it takes traffic is rolled back',
    async () => {
      const good = await deploy('e2e-late', 'stable', { health_check_path: '/health' });
      expectSuccess(good);
      // Passes the two checks on its tag URL, then fails every request.
      const bad = await deploy(
        'e2e-late',
        'late',
        { health_check_path: '/cgi-bin/flaky' },
        { flakyPasses: 2 },
      );
      expect(bad.exitCode).toBe(1);
      expect(bad.outputs.healthy).toBe('false');
      expect(errorOf(bad)).toMatch(
        /after taking traffic\) failed its health check \(\/cgi-bin\/flaky: HTTP 503/,
      );
      expect(bad.stdout).toContain('rolling back');
      expect(await sample(good.outputs.url!, 6)).toEqual(new Map([['200 stable', 6]]));
    },
  );

  it.concurrent('verifies a private service with an ID token', async () => {
    const run = await runAction({
      ...authInputs(),
      service: 'e2e-private',
      context: appContext('private'),
      repository: repository(),
      health_check_successes: '2',
    });
    expectSuccess(run);
    expect(run.outputs.healthy).toBe('true');
    expect((await fetch(run.outputs.url!)).status).toBe(403);
  });

  it.concurrent('traffic: none with a tag leaves traffic untouched and outputs the tag URL', async () => {
    const good = await deploy('e2e-none', 'stable');
    expectSuccess(good);
    const preview = await deploy('e2e-none', 'preview', { traffic: 'none', tag: 'pr-7' });
    expectSuccess(preview);
    expect(preview.outputs.tag_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(preview.outputs.tag_url).not.toBe(preview.outputs.url);
    expect(await text(preview.outputs.tag_url!)).toBe('200 preview');
    expect(await sample(good.outputs.url!, 6)).toEqual(new Map([['200 stable', 6]]));
    expect(JSON.parse(preview.outputs.traffic!)).toEqual({ [good.outputs.revision!]: 100 });
  });

  it.concurrent("no_traffic (deploy-cloudrun's name) means traffic: none", async () => {
    const good = await deploy('e2e-notraffic', 'stable');
    expectSuccess(good);
    const next = await deploy('e2e-notraffic', 'next', { no_traffic: 'true' });
    expectSuccess(next);
    expect(await sample(good.outputs.url!, 4)).toEqual(new Map([['200 stable', 4]]));
  });

  it.concurrent(
    'a service pinned to an old revision gets the new one as asked, and the log says so',
    async () => {
      const first = await deploy('e2e-pinned', 'one');
      expectSuccess(first);
      const second = await deploy('e2e-pinned', 'two');
      expectSuccess(second);
      await patchService('e2e-pinned', (s) => ({
        ...s,
        traffic: [
          {
            type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION',
            revision: first.outputs.revision!,
            percent: 100,
          },
        ],
      }));
      expect(await sample(first.outputs.url!, 3)).toEqual(new Map([['200 one', 3]]));
      const third = await deploy('e2e-pinned', 'three');
      expectSuccess(third);
      expect(third.stdout).toMatch(
        /had its traffic pinned to named revisions \(.*100%: by hand, an earlier no-traffic deploy, or an earlier rollback\), not following the latest revision/,
      );
      expect(await sample(third.outputs.url!, 4)).toEqual(new Map([['200 three', 4]]));
      expect(third.stdout).toMatch(
        new RegExp(`us-central1: healthy; serving ${third.outputs.revision} 100%`),
      );
    },
  );

  it.concurrent('revision_traffic splits traffic between the new revision and an old one', async () => {
    const first = await deploy('e2e-split', 'old');
    expectSuccess(first);
    const canary = await deploy('e2e-split', 'new', {
      revision_traffic: `LATEST=50,${first.outputs.revision}=50`,
    });
    expectSuccess(canary);
    expect(JSON.parse(canary.outputs.traffic!)).toEqual({
      [canary.outputs.revision!]: 50,
      [first.outputs.revision!]: 50,
    });
    const seen = await sample(canary.outputs.url!, 20);
    expect(seen.get('200 old')).toBeGreaterThan(0);
    expect(seen.get('200 new')).toBeGreaterThan(0);
  });
});
