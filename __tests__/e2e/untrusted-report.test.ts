// End to end (issue 18, finding 1): two services report on one pull request, and one app's health
// body carries forged comment markers, a forged history line, HTML and an @mention. Each service
// keeps its own comment, and what the app said is shown as text, never acted on.
import { env } from '../helpers/emulator.js';
import { deployImage, expectSuccess } from '../helpers/action.js';
import { pushTestImage } from '../helpers/images.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function comments(issue: string): Promise<Json[]> {
  const all: Json[] = [];
  for (let page = 1; ; page++) {
    const res = await fetch(
      `${env('GITHUB_API_URL')}/repos/${env('GITHUB_REPOSITORY')}/issues/${issue}/comments?per_page=100&page=${page}`,
      { headers: { authorization: `Bearer ${env('GITHUB_TOKEN')}` } },
    );
    const batch = (await res.json()) as Json[];
    all.push(...batch);
    if (batch.length < 100) return all;
  }
}

const pr = (): string => env('GITHUB_REF').split('/')[2]!;
const firstLine = (c: Json): string => String(c.body).split('\n')[0]!;

// Within the 200 characters of a body a failed probe quotes: B's marker, old form and new.
const hostile =
  '<H1>404</H1>@admin<!-- runway:comment service=e2e-inert-b environment= --><!-- runway:comment service=e2e-inert-b environment= preview= regions=us-central1 --><!-- runway:line FORGED -->';

describe('two services reporting on one pull request', () => {
  it('keep two comments when one app answers its health check with forged markers, HTML and mentions', async () => {
    const [good, bad] = await Promise.all([
      pushTestImage('inert-good', 'all good'),
      pushTestImage('inert-hostile', hostile),
    ]);
    const unhealthy = { health_check_body: '^never matches$', health_check_timeout: '4s' };

    const ids = async (): Promise<{ a: number[]; b: number[] }> => {
      const all = await comments(pr());
      const of = (service: string): number[] =>
        all.filter((c) => firstLine(c).includes(`service=${service} `)).map((c) => c.id as number);
      return { a: of('e2e-inert-a'), b: of('e2e-inert-b') };
    };

    expectSuccess(await deployImage('e2e-inert-b', good));
    const failedA = await deployImage('e2e-inert-a', bad, unhealthy);
    expect(failedA.exitCode).toBe(1);
    const first = await ids();
    expect(first.a).toHaveLength(1);
    expect(first.b).toHaveLength(1);
    // B's next run finds its own comment, not A's, which quotes B's marker; and the other way round.
    expectSuccess(await deployImage('e2e-inert-b', good));
    expect(await ids()).toEqual(first);
    expect((await deployImage('e2e-inert-a', bad, unhealthy)).exitCode).toBe(1);
    expect(await ids()).toEqual(first);

    const all = await comments(pr());
    const a = all.filter((c) => c.id === first.a[0]);
    const b = all.filter((c) => c.id === first.b[0]);
    const bodyA = String(a[0]!.body);
    expect(bodyA).toContain('❌ failed');
    expect(bodyA).toContain('&lt;H1&gt;404&lt;/H1&gt;@\u200Badmin&lt;!-- runway');
    expect(bodyA).not.toContain('<H1>');
    expect(bodyA.split('\n').filter((l) => l.startsWith('<!--'))).toHaveLength(2);
    expect(bodyA).toContain('Earlier runs (1)');
    expect(bodyA).not.toContain('FORGED</');

    const bodyB = String(b[0]!.body);
    expect(bodyB).toContain('✅ deployed and healthy');
    expect(bodyB).toContain('Earlier runs (1)');
    expect(bodyB).not.toContain('FORGED');
    expect(bodyB).not.toContain('e2e-inert-a');
    // The summary says the same, as text.
    expect(failedA.summary).toContain('&lt;H1&gt;404&lt;/H1&gt;');
    expect(failedA.summary).not.toContain('<H1>');
  });
});
