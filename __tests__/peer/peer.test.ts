// google-github-actions/deploy-cloudrun v3.0.1, the action Runway replaces, run unmodified against
// the emulator as a workflow step runs it (helpers/peer.ts): its gcloud comes from the tool cache
// and authenticates with the file google-github-actions/auth leaves. First what it must be able to
// do, each checked by requesting what serves; then its documented traps reproduced, with Runway run
// on the same scenario avoiding each one.
import { admin, env } from '../helpers/emulator.js';
import { deployImage, expectSuccess, type ActionRun } from '../helpers/action.js';
import { containerEnv, getService, sample, servingSplit, type ServiceJson } from '../helpers/cloudrun.js';
import { pushTestImage } from '../helpers/images.js';
import { expectPeerSuccess, installedGcloud, peerSuite, runPeer, type PeerRun } from '../helpers/peer.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const suite = peerSuite('deploy-cloudrun peer suite');

/** What a URL answers: status and body. */
async function answer(url: string, path = '/'): Promise<string> {
  const res = await fetch(`${url}${path}`);
  return `${res.status} ${(await res.text()).trim()}`;
}

const short = (name: string | undefined): string => name?.split('/').pop() ?? '';

/** The URL of `tag` on the service, from its v2 trafficStatuses. */
function tagUri(service: ServiceJson, tag: string): string | undefined {
  return service.trafficStatuses?.find((t) => t.tag === tag)?.uri;
}

async function serviceOf(name: string, region = 'us-central1'): Promise<ServiceJson> {
  const service = await getService(name, region);
  if (!service) throw new Error(`${name} does not exist in ${region}`);
  return service;
}

suite('deploy-cloudrun (the peer) against the emulator', () => {
  let one: string;
  let two: string;
  let three: string;

  beforeAll(async () => {
    await admin.seed({
      secrets: [
        {
          project: env('RUNWAY_EMULATOR_PROJECT'),
          name: 'peer-db',
          versions: [{ data: 'first password' }, { data: 'second password' }],
        },
      ],
    });
    [one, two, three] = await Promise.all([
      pushTestImage('peer-one', 'peer one'),
      pushTestImage('peer-two', 'peer two'),
      pushTestImage('peer-three', 'peer three'),
    ]);
  });

  describe('what it must be able to do', () => {
    const service = 'peer-svc';
    let first: string;

    it('deploys a new service with the gcloud from the tool cache, and its url output serves', async () => {
      const run = await runPeer({ service, image: one, flags: '--allow-unauthenticated' });
      expectPeerSuccess(run);
      // setup-cloud-sdk found the installed gcloud in RUNNER_TOOL_CACHE: nothing was downloaded.
      const { toolCache, version } = installedGcloud();
      expect(run.path).toEqual([`${toolCache}/gcloud/${version}/${process.arch}/bin`]);
      expect(run.commands).toEqual([
        expect.stringMatching(new RegExp(`^gcloud run deploy ${service} --image `)),
      ]);
      expect(await answer(run.outputs.url!)).toBe('200 peer one');
      const v2 = await serviceOf(service);
      expect(v2.uri).toBe(run.outputs.url);
      expect(v2.labels).toMatchObject({ 'managed-by': 'github-actions', 'commit-sha': env('GITHUB_SHA') });
      first = short(v2.latestReadyRevision);
      expect(servingSplit(v2)).toEqual({ [first]: 100 });
    });

    it('updates it with env vars, secrets (as a variable and as a file) and flags', async () => {
      const run = await runPeer({
        service,
        image: one,
        env_vars: 'FOO=bar\nZIP=zap\\,with|separators\\,and&stuff',
        secrets: 'DB_PASSWORD=peer-db:latest\n/secrets/api/key=peer-db:1',
        labels: 'team=web',
        flags: '--cpu=2 --memory=512Mi --concurrency=20 --max-instances=3 --timeout=1m30s',
      });
      expectPeerSuccess(run);
      const url = run.outputs.url!;
      expect(await containerEnv(url)).toMatchObject({
        FOO: 'bar',
        ZIP: 'zap,with|separators,and&stuff',
        DB_PASSWORD: 'second password',
      });
      expect(await answer(url, '/cgi-bin/file?/secrets/api/key')).toBe('200 first password');
      // Still public: a deploy without --allow-unauthenticated leaves the IAM policy alone.
      expect(await answer(url)).toBe('200 peer one');
      const v2 = await serviceOf(service);
      expect(v2.labels).toMatchObject({ team: 'web', 'managed-by': 'github-actions' });
      expect(v2.template).toMatchObject({
        maxInstanceRequestConcurrency: 20,
        scaling: { maxInstanceCount: 3 },
        timeout: '90s',
      });
      const container = (v2.template.containers as Json[])[0]!;
      expect(container.resources.limits).toEqual({ cpu: '2', memory: '512Mi' });
    });

    it('deploys with tag and no_traffic: the tag URL serves the new revision, the service URL the old', async () => {
      const run = await runPeer({ service, image: two, tag: 'green', no_traffic: 'true' });
      expectPeerSuccess(run);
      const v2 = await serviceOf(service);
      const green = tagUri(v2, 'green');
      expect(green).toBeDefined();
      expect(await answer(green!)).toBe('200 peer two');
      expect(await sample(v2.uri, 4)).toEqual(new Map([['200 peer one', 4]]));
      // The tagged revision carried the settings over: only the image changed.
      expect(await containerEnv(green!)).toMatchObject({ FOO: 'bar', DB_PASSWORD: 'second password' });
      expect(Object.values(servingSplit(v2))).toEqual([100]);
    });

    it('sets revision_traffic, then tag_traffic, after deploying', async () => {
      const split = await runPeer({ service, image: three, revision_traffic: `LATEST=50,${first}=50` });
      expectPeerSuccess(split);
      let v2 = await serviceOf(service);
      const latest = short(v2.latestReadyRevision);
      expect(servingSplit(v2)).toEqual({ [latest]: 50, [first]: 50 });
      expect(await sample(v2.uri, 10)).toEqual(
        new Map([
          ['200 peer three', 5],
          ['200 peer one', 5],
        ]),
      );

      const tagged = await runPeer({ service, image: three, tag_traffic: 'green=100' });
      expectPeerSuccess(tagged);
      v2 = await serviceOf(service);
      expect(await sample(v2.uri, 4)).toEqual(new Map([['200 peer two', 4]]));
    });
  });

  describe('its documented traps, and Runway on the same scenario', () => {
    /**
     * Up to three deploys by each action, the two side by side, beside another scenario
     * (it.concurrent): more than Jest's default 180 s on a loaded two-core machine, as for a
     * differential case.
     */
    const SCENARIO_TIMEOUT_MS = 360_000;
    /** One deploy step of a scenario, with the inputs both actions share. */
    type Step = Record<string, string>;

    /** Runs the steps with the peer on one service and with Runway on another. */
    async function both(
      name: string,
      steps: (image: (n: number) => string) => Step[],
    ): Promise<{ peer: PeerRun[]; runway: ActionRun[] }> {
      const images = [one, two, three];
      const list = steps((n) => images[n - 1]!);
      const peer: PeerRun[] = [];
      const runway: ActionRun[] = [];
      // Step by step, each action on its own service, the two side by side.
      for (const step of list) {
        const [p, r] = await Promise.all([
          runPeer({ service: `${name}-p`, flags: '--allow-unauthenticated', ...step }),
          deployImage(`${name}-r`, step.image!, step),
        ]);
        expectPeerSuccess(p);
        peer.push(p);
        expectSuccess(r);
        runway.push(r);
      }
      return { peer, runway };
    }

    it.concurrent(
      '#46, #168, #466: after a no_traffic deploy the next revision gets 0 %; Runway sends it the traffic',
      async () => {
        const { peer, runway } = await both('peer-pin', (image) => [
          { image: image(1) },
          { image: image(2), tag: 'green', no_traffic: 'true' },
          { image: image(3) },
        ]);
        // The peer: the revision it just deployed is the latest, and serves nothing.
        const pinned = await serviceOf('peer-pin-p');
        const newest = short(pinned.latestReadyRevision);
        expect(servingSplit(pinned)[newest]).toBeUndefined();
        expect(await sample(peer[2]!.outputs.url!, 4)).toEqual(new Map([['200 peer one', 4]]));

        // Runway: the new revision serves everything, and the log says the service had been pinned.
        const last = runway[2]!;
        expect(last.stdout).toMatch(/had its traffic pinned to named revisions/);
        expect(await sample(last.outputs.url!, 4)).toEqual(new Map([['200 peer three', 4]]));
        expect(servingSplit(await serviceOf('peer-pin-r'))).toEqual({ [last.outputs.revision!]: 100 });
      },
      SCENARIO_TIMEOUT_MS,
    );

    it.concurrent(
      '#589: the url output names a tag URL, here an unrelated pull request revision; Runway’s is the service URL',
      async () => {
        const { peer, runway } = await both('peer-url', (image) => [
          { image: image(1) },
          { image: image(2), tag: 'pr-1', no_traffic: 'true' },
          { image: image(3), revision_traffic: 'LATEST=100' },
        ]);
        const p = await serviceOf('peer-url-p');
        const prUrl = tagUri(p, 'pr-1')!;
        // With `tag`, the peer's url is the tag URL...
        expect(peer[1]!.outputs.url).toBe(prUrl);
        // ...and with another revision tagged, a traffic move also outputs that tag's URL (#589):
        // it serves the pull request's revision, not the one this step deployed.
        expect(peer[2]!.outputs.url).toBe(prUrl);
        expect(peer[2]!.outputs.url).not.toBe(p.uri);
        expect(await answer(peer[2]!.outputs.url!)).toBe('200 peer two');
        expect(await answer(p.uri)).toBe('200 peer three');

        // Runway: url is always the service URL, and the tag's URL is tag_url.
        const r = await serviceOf('peer-url-r');
        expect(runway[1]!.outputs.url).toBe(r.uri);
        expect(runway[1]!.outputs.tag_url).toBe(tagUri(r, 'pr-1'));
        expect(runway[2]!.outputs.url).toBe(r.uri);
        expect(await answer(runway[2]!.outputs.url!)).toBe('200 peer three');
      },
      SCENARIO_TIMEOUT_MS,
    );

    it.concurrent(
      '#555: the peer outputs no revision; Runway outputs the one it created, which is what serves',
      async () => {
        const { peer, runway } = await both('peer-rev', (image) => [{ image: image(1) }]);
        expect(Object.keys(peer[0]!.outputs)).toEqual(['url']);
        const served = (await containerEnv(runway[0]!.outputs.url!)).K_REVISION;
        expect(runway[0]!.outputs.revision).toBe(served);
        expect(runway[0]!.outputs.revision).toBe(
          short((await serviceOf('peer-rev-r')).latestCreatedRevision),
        );
      },
      SCENARIO_TIMEOUT_MS,
    );

    it.concurrent(
      '#588: `region: a,b` makes the peer’s gcloud fail and deploy nowhere; Runway deploys to both',
      async () => {
        const regions = ['us-central1', 'europe-west1'];
        const peer = await runPeer({
          service: 'peer-regions-p',
          image: one,
          region: regions.join(','),
          flags: '--allow-unauthenticated',
        });
        expect(peer.exitCode).toBe(1);
        expect(peer.commands[0]).toContain('--region us-central1,europe-west1');
        expect(peer.error).toContain('Invalid value for property [api_endpoint_overrides/run]');
        expect(peer.error).toMatch(
          /\[http:\/\/us-central1,europe-west1-127\.0\.0\.1:\d+\/\] is not a valid endpoint override/,
        );
        for (const region of regions) expect(await getService('peer-regions-p', region)).toBeUndefined();

        const runway = await deployImage('peer-regions-r', one, { region: regions.join(',') });
        expectSuccess(runway);
        const reported = JSON.parse(runway.outputs.regions!) as Record<
          string,
          { url: string; revision: string }
        >;
        expect(Object.keys(reported).sort()).toEqual([...regions].sort());
        for (const region of regions) {
          const service = await serviceOf('peer-regions-r', region);
          expect(reported[region]!.url).toBe(service.uri);
          expect(await answer(service.uri)).toBe('200 peer one');
        }
      },
      SCENARIO_TIMEOUT_MS,
    );
  });
});
