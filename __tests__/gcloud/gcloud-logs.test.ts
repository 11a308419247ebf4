// Conformance with the real client for logs (issue 20): the installed gcloud's `logging read` and
// `run services logs read`, unmodified, read what a revision's real container wrote from the
// emulated Cloud Logging, with the filters, ordering and paging they send of themselves.
import { admin, env } from '../helpers/emulator.js';
import { accessTokenFor } from '../helpers/auth.js';
import { pushTestImage } from '../helpers/images.js';
import { gcloud, gcloudJson, gcloudSuite } from '../helpers/gcloud.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const suite = gcloudSuite('gcloud logs conformance');

const SAID = ['first line on stdout', 'second line on stderr', 'third line on stdout'];

suite('gcloud logs against the emulator', () => {
  beforeAll(async () => {
    const image = await pushTestImage('gcloud-logs', 'talker', {
      say: [
        { stream: 'stdout', text: SAID[0]! },
        { stream: 'stderr', text: SAID[1]! },
        { stream: 'stdout', text: SAID[2]! },
      ],
    });
    const root = env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN');
    const headers = { authorization: `Bearer ${await accessTokenFor()}`, 'content-type': 'application/json' };
    const created = await fetch(
      `${root}v2/projects/${env('RUNWAY_EMULATOR_PROJECT')}/locations/us-central1/services?serviceId=gcloud-logs`,
      { method: 'POST', headers, body: JSON.stringify({ template: { containers: [{ image }] } }) },
    );
    const op = (await created.json()) as Json;
    await fetch(`${root}v2/${op.name as string}:wait`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ timeout: '90s' }),
    });
    // The deployer gcloud runs as may read logs, as the README's optional grant lets it.
    await admin.seed({
      bindings: [
        {
          resource: `projects/${env('RUNWAY_EMULATOR_PROJECT')}`,
          role: 'roles/logging.viewer',
          members: [`serviceAccount:${env('RUNWAY_EMULATOR_SERVICE_ACCOUNT')}`],
        },
      ],
    });
  }, 180_000);

  it("gcloud logging read returns the revision's entries, newest first, with the filter it was given", async () => {
    const entries = await gcloudJson<Json[]>([
      'logging',
      'read',
      'resource.type="cloud_run_revision" AND resource.labels.service_name="gcloud-logs" AND severity>=DEFAULT',
    ]);
    // Docker stamps stdout and stderr apart, so a line of one stream may pass one of the other (as
    // in Cloud Logging); each stream keeps its own order, and the entries come newest first.
    const said = entries.map((e) => e.textPayload as string);
    expect([...said].sort()).toEqual([...SAID].sort());
    expect(said.filter((t) => t.endsWith('stdout'))).toEqual([SAID[2], SAID[0]]);
    const stamps = entries.map((e) => Date.parse(e.timestamp as string));
    expect(stamps).toEqual([...stamps].sort((a, b) => b - a));
    expect(entries.find((e) => e.textPayload === SAID[1])).toMatchObject({
      logName: `projects/${env('RUNWAY_EMULATOR_PROJECT')}/logs/run.googleapis.com%2Fstderr`,
      resource: { type: 'cloud_run_revision', labels: { service_name: 'gcloud-logs' } },
    });
  });

  it('gcloud logging read --limit pages as asked, and --order asc turns the order', async () => {
    const limited = await gcloudJson<Json[]>([
      'logging',
      'read',
      'resource.labels.service_name=gcloud-logs',
      '--limit=2',
      '--order=asc',
    ]);
    const stamps = limited.map((e) => Date.parse(e.timestamp as string));
    expect(stamps).toEqual([...stamps].sort((a, b) => a - b));
    expect(limited).toHaveLength(2);
    // The oldest two: stdout's first line is among them whatever the two streams' stamps say.
    const stdout = limited.map((e) => e.textPayload as string).filter((t) => t.endsWith('stdout'));
    expect(stdout[0]).toBe(SAID[0]);
  });

  it('gcloud run services logs read SERVICE --region prints the lines, oldest first', async () => {
    const run = await gcloud(['run', 'services', 'logs', 'read', 'gcloud-logs', '--region', 'us-central1']);
    expect(run.code).toBe(0);
    const printed = run.stdout.split('\n').filter(Boolean);
    expect(printed).toHaveLength(3);
    for (const line of SAID) expect(printed.filter((p) => p.endsWith(line))).toHaveLength(1);
    const stdout = printed.filter((p) => p.endsWith('stdout'));
    expect(stdout[0]).toContain(SAID[0]);
    expect(stdout[1]).toContain(SAID[2]);
  });

  it('a filter gcloud passes through and the emulator cannot parse is gcloud’s INVALID_ARGUMENT', async () => {
    const run = await gcloud(['logging', 'read', 'resource.type = (']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('Unparseable filter');
  });
});
