// End to end, deploy-cloudrun's `update_traffic_flags` (issue 21): the bundled action against the
// emulator with real containers. The flags' split and tags land where `gcloud run services
// update-traffic` puts them, checked by what each URL serves; a revision that fails once it takes
// traffic is rolled back with the tags the flags moved put back as they were.
import { deployApp as deploy, errorOf, expectSuccess } from '../helpers/action.js';
import { answer, getService, sample, servingSplit, type ServiceJson } from '../helpers/cloudrun.js';

/** Tag → the revision it names, from the service's traffic statuses. */
function tagsOf(service: ServiceJson): Record<string, string | undefined> {
  return Object.fromEntries(
    (service.trafficStatuses ?? []).flatMap((t) => (t.tag ? [[t.tag, t.revision]] : [])),
  );
}

/** The URL Cloud Run gives a tag. */
function tagUrl(service: ServiceJson, tag: string): string {
  const url = service.trafficStatuses?.find((t) => t.tag === tag)?.uri;
  if (!url) throw new Error(`no URL for tag ${tag}: ${JSON.stringify(service.trafficStatuses)}`);
  return url;
}

describe('update_traffic_flags', () => {
  it.concurrent(
    '--to-revisions=REV=50 beside revision_traffic LATEST=50, with --update-tags, lands as gcloud would',
    async () => {
      const first = await deploy('e2e-utf-split', 'old');
      expectSuccess(first);
      const old = first.outputs.revision!;
      const next = await deploy('e2e-utf-split', 'new', {
        revision_traffic: 'LATEST=50',
        update_traffic_flags: `--to-revisions=${old}=50 --update-tags=stable=${old},canary=LATEST`,
      });
      expectSuccess(next);
      const revision = next.outputs.revision!;
      expect(JSON.parse(next.outputs.traffic!)).toEqual({ [revision]: 50, [old]: 50 });
      const service = (await getService('e2e-utf-split'))!;
      expect(servingSplit(service)).toEqual({ [revision]: 50, [old]: 50 });
      expect(tagsOf(service)).toEqual({ stable: old, canary: revision });
      expect(await answer(tagUrl(service, 'stable'))).toBe('200 old');
      expect(await answer(tagUrl(service, 'canary'))).toBe('200 new');
      const seen = await sample(next.outputs.url!, 20);
      expect(seen.get('200 old')).toBeGreaterThan(0);
      expect(seen.get('200 new')).toBeGreaterThan(0);
    },
  );

  it.concurrent(
    '--set-tags replaces every tag (the deploy’s own `tag` too), and --to-tags names the tags it sets',
    async () => {
      const first = await deploy('e2e-utf-set', 'blue', { tag: 'blue' });
      expectSuccess(first);
      const old = first.outputs.revision!;
      // As in gcloud, the tags change first: --to-tags sees `green` and `blue` as --set-tags left them.
      const next = await deploy('e2e-utf-set', 'green', {
        tag: 'candidate',
        tag_traffic: 'green=100',
        update_traffic_flags: `--set-tags=green=LATEST,blue=${old} --to-tags=blue=0`,
      });
      expectSuccess(next);
      const revision = next.outputs.revision!;
      const service = (await getService('e2e-utf-set'))!;
      expect(servingSplit(service)).toEqual({ [revision]: 100 });
      expect(tagsOf(service)).toEqual({ green: revision, blue: old });
      expect(await answer(tagUrl(service, 'blue'))).toBe('200 blue');
      expect(await answer(tagUrl(service, 'green'))).toBe('200 green');
      expect(await sample(next.outputs.url!, 4)).toEqual(new Map([['200 green', 4]]));
    },
  );

  it.concurrent(
    'a revision failing once it takes traffic is rolled back with the tags the flags moved put back',
    async () => {
      const first = await deploy('e2e-utf-undo', 'stable', { tag: 'blue', health_check_path: '/health' });
      expectSuccess(first);
      const old = first.outputs.revision!;
      // Passes the two checks on its tag URL, then fails every request.
      const bad = await deploy(
        'e2e-utf-undo',
        'late',
        {
          health_check_path: '/cgi-bin/flaky',
          revision_traffic: 'LATEST=100',
          update_traffic_flags: '--remove-tags=blue --update-tags=next=LATEST',
        },
        { flakyPasses: 2 },
      );
      expect(bad.exitCode).toBe(1);
      expect(errorOf(bad)).toMatch(/after taking traffic\) failed its health check/);
      expect(errorOf(bad)).toMatch(/the tags 'blue', 'next' put back as they were/);
      const service = (await getService('e2e-utf-undo'))!;
      expect(servingSplit(service)).toEqual({ [old]: 100 });
      expect(tagsOf(service)).toEqual({ blue: old });
      expect(await answer(tagUrl(service, 'blue'))).toBe('200 stable');
    },
  );

  it.concurrent(
    'refuses the flags alone before anything changes, saying how deploy-cloudrun read them',
    async () => {
      const run = await deploy('e2e-utf-alone', 'never', { update_traffic_flags: '--to-latest' });
      expect(run.exitCode).toBe(1);
      expect(errorOf(run)).toContain(
        "Input 'update_traffic_flags' is given without `revision_traffic` or `tag_traffic`",
      );
      expect(await getService('e2e-utf-alone')).toBeUndefined();
    },
  );
});
