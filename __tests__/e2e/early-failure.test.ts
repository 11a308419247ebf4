// A run that stops before anything is deployed still leaves a job summary that says what failed
// and how to fix it: at the inputs (every bad input of the run, each with its fix, at once) and at
// authentication. action.yml promises the summary is always written; the bundled action runs here
// as the runner runs it, with a GITHUB_STEP_SUMMARY file to read afterwards.
import { admin, env } from '../helpers/emulator.js';
import { authInputs, errorOf, runAction } from '../helpers/action.js';

/** An image reference that is never resolved: these runs stop before the image stage. */
const IMAGE = 'us-docker.pkg.dev/runway-demo/containers/never@sha256:' + '0'.repeat(64);

describe('a run that fails before deploying', () => {
  it('with three bad inputs names all three, each with its fix, in the log and in the job summary', async () => {
    const before = (await admin.requests()).length;
    const run = await runAction({
      ...authInputs(),
      service: 'Not A Service',
      image: IMAGE,
      port: '0',
      traffic: 'sometimes',
    });
    const during = (await admin.requests()).slice(before);
    expect(run.exitCode).toBe(1);

    // The log: one error naming every input, with a fix for each.
    const error = errorOf(run);
    expect(error).toContain('3 inputs are invalid (service, port, traffic):');
    for (const input of ['service', 'port', 'traffic'])
      expect(error).toContain(`Input '${input}' is invalid`);
    expect(error.match(/Fix: Accepted: /g)).toHaveLength(3);

    // The summary: the stage, each input with its own fix, and that nothing changed.
    expect(run.summary).toContain('failed at the inputs');
    expect(run.summary).toContain('nothing was built, deployed or changed');
    expect(run.summary).toContain('3 problems');
    for (const input of ['service', 'port', 'traffic'])
      expect(run.summary).toContain(`Input '${input}' is invalid`);
    expect(run.summary.match(/\*\*Fix:\*\* Accepted: /g)).toHaveLength(3);
    // Nothing was asked of Google or GitHub: the inputs stage stops before any call.
    expect(during.map((r) => `${r.method} ${r.api} ${r.path}`)).toEqual([]);
  });

  it('at authentication says the provider is unknown and how to name it, in the job summary', async () => {
    const missing = env('RUNWAY_EMULATOR_WIF_PROVIDER').replace(/providers\/[^/]+$/, 'providers/nope');
    const run = await runAction({
      ...authInputs(),
      workload_identity_provider: missing,
      service: 'e2e-early-auth',
      image: IMAGE,
    });
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toContain('does not exist or is disabled');
    expect(run.summary).toContain('failed at authentication');
    expect(run.summary).toContain('e2e-early-auth');
    expect(run.summary).toContain('does not exist or is disabled');
    expect(run.summary).toMatch(/\*\*Fix:\*\* \S/);
    expect(run.summary).toContain('nothing was built, deployed or changed');
  });
});
