// End to end, gcloud's probe flags in `flags`: the emulator runs the startup probe against the
// container as Cloud Run does, so a revision whose probe never passes fails to start, and Runway
// leaves (puts back) the traffic on the revision that served before.
import { deployImage, errorOf, expectSuccess } from '../helpers/action.js';
import { getService, sample, servingSplit } from '../helpers/cloudrun.js';
import { pushTestImage } from '../helpers/images.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const probe = '--startup-probe=httpGet.path=/health,periodSeconds=1,failureThreshold=3,timeoutSeconds=1';

it('a revision whose startup probe fails is not started, and the old revision keeps serving', async () => {
  const [stable, broken] = await Promise.all([
    pushTestImage('probe-stable', 'stable'),
    pushTestImage('probe-broken', 'broken', { health: 'missing' }),
  ]);
  const good = await deployImage('e2e-probe', stable, { flags: probe });
  expectSuccess(good);
  const container = ((await getService('e2e-probe'))!.template.containers as Json[])[0]!;
  expect(container.startupProbe).toEqual({
    httpGet: { path: '/health' },
    periodSeconds: 1,
    failureThreshold: 3,
    timeoutSeconds: 1,
  });
  expect(JSON.parse(good.outputs.containers!)).toEqual({ [container.name ?? '']: stable });

  // /health answers 404 in this image: the probe fails, where Cloud Run's default TCP check would pass.
  const bad = await deployImage('e2e-probe', broken, { flags: probe });
  expect(bad.exitCode).toBe(1);
  expect(errorOf(bad)).toMatch(/failed the configured startup probe checks/);
  const service = (await getService('e2e-probe'))!;
  expect(servingSplit(service)).toEqual({ [good.outputs.revision!]: 100 });
  expect(await sample(good.outputs.url!, 4)).toEqual(new Map([['200 stable', 4]]));
});

it('a new service whose startup probe fails is removed again: Runway created it, and it never started', async () => {
  const broken = await pushTestImage('probe-new-broken', 'broken', { health: 'missing' });
  const bad = await deployImage('e2e-probe-new', broken, { flags: probe });
  expect(bad.exitCode).toBe(1);
  expect(errorOf(bad)).toMatch(/failed the configured startup probe checks/);
  expect(errorOf(bad)).toMatch(/Rolled back: .*deleted/);
  expect(await getService('e2e-probe-new')).toBeUndefined();
});
