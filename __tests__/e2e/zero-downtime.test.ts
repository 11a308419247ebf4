// Zero downtime (issue 10): steady requests to the service URL for the length of a rollout, from a
// bounded load generator on loopback, through the emulator's router to real containers. A verified
// rollout and a rollback after a failed health check must both lose no request.
import { deployImage, expectSuccess } from '../helpers/action.js';
import { pushTestImage } from '../helpers/images.js';
import { underLoad } from '../helpers/load.js';

let stable: string;
let next: string;

beforeAll(async () => {
  [stable, next] = await Promise.all([
    pushTestImage('zero-stable', 'stable'),
    pushTestImage('zero-next', 'next'),
  ]);
});

describe('no request fails while Runway works', () => {
  it('during a healthy verified rollout: old revision, then the new one, never an error', async () => {
    const first = await deployImage('e2e-zero-ok', stable, { comment: 'never' });
    expectSuccess(first);
    const { result: run, load: result } = await underLoad('verified rollout', first.outputs.url!, () =>
      deployImage('e2e-zero-ok', next, { comment: 'never' }),
    );
    expectSuccess(run);
    expect(result.sent).toBeGreaterThan(20);
    expect(result.failed).toBe(0);
    expect(result.bodies.get('next')).toBeGreaterThan(0);
  });

  it('during a rollback after a failed health check: only the old revision ever answers', async () => {
    const first = await deployImage('e2e-zero-rollback', stable, { comment: 'never' });
    expectSuccess(first);
    const { result: run, load: result } = await underLoad('rollback', first.outputs.url!, () =>
      deployImage('e2e-zero-rollback', next, { comment: 'never', health_check_path: '/nope' }),
    );
    expect(run.exitCode).toBe(1);
    expect(result.sent).toBeGreaterThan(20);
    expect(result.failed).toBe(0);
    expect([...result.bodies.keys()]).toEqual(['stable']);
  });
});
