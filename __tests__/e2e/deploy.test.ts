// End to end: the bundled action against the emulator, with real Docker builds, a real registry
// and real containers. Each test asserts what serves afterwards, not only what the action said.
import { admin, env } from '../helpers/emulator.js';
import { authInputs, errorOf, runAction } from '../helpers/action.js';
import { appContext } from '../helpers/app-context.js';
import { pushTestImage } from '../helpers/images.js';

async function body(url: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return (await res.text()).trim();
}

describe('deploying with the bundled action', () => {
  it('creates a service from a build context, then updates it; outputs name both revisions', async () => {
    const first = await runAction({
      ...authInputs(),
      service: 'e2e-first',
      context: appContext('version one'),
      repository: env('RUNWAY_EMULATOR_REPOSITORY'),
      allow_unauthenticated: 'true',
    });
    expect(first.stderr + first.stdout).not.toContain('::error::');
    expect(first.exitCode).toBe(0);
    expect(first.outputs.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.outputs.revision).toMatch(/^e2e-first-\d{5}-[a-z]{3}$/);
    expect(first.outputs.previous_revision).toBe('');
    expect(first.outputs.image).toMatch(
      new RegExp(`^${env('RUNWAY_EMULATOR_REPOSITORY')}/e2e-first@sha256:[a-f0-9]{64}$`),
    );
    expect(first.outputs.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(await body(first.outputs.url!)).toBe('version one');

    const second = await runAction({
      ...authInputs(),
      service: 'e2e-first',
      context: appContext('version two'),
      repository: env('RUNWAY_EMULATOR_REPOSITORY'),
    });
    expect(second.exitCode).toBe(0);
    expect(second.outputs.previous_revision).toBe(first.outputs.revision);
    expect(second.outputs.revision).not.toBe(first.outputs.revision);
    expect(second.outputs.url).toBe(first.outputs.url);
    expect(await body(second.outputs.url!)).toBe('version two');
  });

  it('authenticates through OIDC → STS → impersonation and never prints a token', async () => {
    const before = (await admin.requests()).length;
    const result = await runAction({
      ...authInputs(),
      service: 'e2e-auth',
      context: appContext('auth'),
      repository: env('RUNWAY_EMULATOR_REPOSITORY'),
    });
    expect(result.exitCode).toBe(0);
    const calls = (await admin.requests()).slice(before);
    // Under load a request can be answered twice (a retry the action logs, or one inside
    // google-auth-library's transport that it does not), so repeats are folded: the order is what counts.
    const chain = calls
      .map((r) => `${r.api} ${r.method} ${r.status}`)
      .filter((call, i, all) => call !== all[i - 1]);
    expect(chain.slice(0, 3)).toEqual(['oidc GET 200', 'sts POST 200', 'iamcredentials POST 200']);
    const runCalls = calls.filter((r) => r.api === 'run');
    expect(runCalls.length).toBeGreaterThan(0);
    for (const r of runCalls)
      expect(r.caller).toBe(`serviceAccount:${env('RUNWAY_EMULATOR_SERVICE_ACCOUNT')}`);
    expect(runCalls.some((r) => r.path.includes(':wait'))).toBe(true);
    // `::add-mask::` lines are the runner's masking commands, never shown; everything else must be clean.
    const lines = `${result.stdout}\n${result.stderr}`.split('\n');
    const masked = lines
      .filter((l) => l.startsWith('::add-mask::'))
      .map((l) => l.slice('::add-mask::'.length));
    expect(masked.some((t) => t.startsWith('ya29.'))).toBe(true);
    expect(masked.some((t) => t.startsWith('eyJ'))).toBe(true);
    const shown = lines.filter((l) => !l.startsWith('::add-mask::')).join('\n');
    expect(shown).not.toMatch(/ya29\.|eyJ[A-Za-z0-9_-]{10,}\./);
  });

  it('fails before changing anything when an input is invalid, naming the input', async () => {
    const before = (await admin.requests()).length;
    const result = await runAction({ ...authInputs(), service: 'Not_Valid', image: 'x' });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain("::error::Input 'service' is invalid");
    expect((await admin.requests()).length).toBe(before);
  });

  it("fails with Google's words when one field of its request is misspelt: the emulator checks every request", async () => {
    // The harness proves Runway's requests valid only because a bad one would fail: here a real
    // request of Runway's is misspelt on its way in (image → imgae) and the run stops on it.
    const before = (await admin.requests()).length;
    await admin.faults([
      {
        api: 'run',
        method: 'POST',
        path: '/services\\?',
        renameField: { from: 'image', to: 'imgae' },
        count: 1,
      },
    ]);
    const result = await runAction({
      ...authInputs(),
      service: 'e2e-misspelt',
      image: await pushTestImage('e2e-misspelt', 'misspelt'),
    });
    expect(result.exitCode).toBe(1);
    expect(errorOf(result)).toContain(
      `Invalid JSON payload received. Unknown name "imgae" at 'service.template.containers[0]': Cannot find field.`,
    );
    const create = (await admin.requests()).slice(before).find((r) => r.api === 'run' && r.method === 'POST');
    expect(create?.status).toBe(400);
  });
});
