// Cloud Logging v2 entries.list on the emulator: what a revision's real container writes becomes
// entries as Cloud Run makes them (resource, log names, text or JSON payloads, severities), the
// filter language gcloud and Runway speak selects them, order and page tokens hold, requests the
// schema or the grammar refuses are 400s, and reading needs logging.logEntries.list.
import { env } from '../helpers/emulator.js';
import { accessTokenFor, seedServiceAccount } from '../helpers/auth.js';
import { pushTestImage } from '../helpers/images.js';
import { parseFilter, matches } from '../../emulator/logging/filter.js';
import { containerEntry, type LogEntry } from '../../emulator/logging/store.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let reader: string;

const project = (): string => env('RUNWAY_EMULATOR_PROJECT');
const runBase = (): string =>
  `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/projects/${project()}/locations/us-central1`;

async function call(url: string, body: unknown, as?: string): Promise<{ status: number; body: Json }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${await accessTokenFor(as)}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
}

/** entries.list, as an account with roles/logging.viewer unless told (the deployer has none). */
const list = (body: Json, as: string = reader): Promise<{ status: number; body: Json }> =>
  call(`${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING')}v2/entries:list`, body, as);

/** Deploys SERVICE from IMAGE through the v2 API and waits for its operation. */
async function deploy(service: string, image: string): Promise<Json> {
  const created = await call(`${runBase()}/services?serviceId=${service}`, {
    invokerIamDisabled: true,
    template: { containers: [{ image }] },
  });
  expect(created.status).toBe(200);
  const done = await call(`${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/${created.body.name}:wait`, {
    timeout: '90s',
  });
  return done.body;
}

const of = (service: string): string =>
  `resource.type = "cloud_run_revision" AND resource.labels.service_name = "${service}"`;

beforeAll(async () => {
  reader = await seedServiceAccount('logs-reader', ['roles/logging.viewer']);
  const [talker, crasher] = await Promise.all([
    pushTestImage('logs-talker', 'talker', {
      say: [
        { stream: 'stdout', text: 'hello from stdout' },
        { stream: 'stderr', text: 'oops on stderr' },
        { stream: 'stdout', text: '{"severity":"WARNING","message":"structured","code":7}' },
      ],
    }),
    pushTestImage('logs-crasher', 'never', { crash: true }),
  ]);
  await deploy('logs-talker', talker);
  const failed = await deploy('logs-crasher', crasher);
  expect(failed.error).toBeDefined();
}, 180_000);

describe('entries from a real container', () => {
  it('holds each line the container wrote, on its stream, with the revision as the resource', async () => {
    const { status, body } = await list({
      resourceNames: [`projects/${project()}`],
      filter: of('logs-talker'),
    });
    expect(status).toBe(200);
    const entries = body.entries as Json[];
    // Docker stamps stdout and stderr apart, so lines of the two streams may swap (as in Cloud
    // Logging); each stream's own lines keep their order.
    const text = (e: Json): string => e.textPayload ?? e.jsonPayload?.message;
    expect(entries.map(text).sort()).toEqual(['hello from stdout', 'oops on stderr', 'structured']);
    expect(entries.map(text).filter((t) => t !== 'oops on stderr')).toEqual([
      'hello from stdout',
      'structured',
    ]);
    const [out, err, json] = ['hello from stdout', 'oops on stderr', 'structured'].map((t) =>
      entries.find((e) => text(e) === t)!,
    ) as [Json, Json, Json];
    expect(out).toMatchObject({
      logName: `projects/${project()}/logs/run.googleapis.com%2Fstdout`,
      resource: {
        type: 'cloud_run_revision',
        labels: {
          service_name: 'logs-talker',
          revision_name: expect.stringMatching(/^logs-talker-/),
          location: 'us-central1',
          project_id: project(),
          configuration_name: 'logs-talker',
        },
      },
    });
    // DEFAULT is the enum's zero, which proto3 JSON leaves out: a plain line has no severity of its own.
    expect(out.severity).toBeUndefined();
    expect(err.severity).toBeUndefined();
    expect(err).toMatchObject({ logName: `projects/${project()}/logs/run.googleapis.com%2Fstderr` });
    expect(json).toMatchObject({ severity: 'WARNING', jsonPayload: { message: 'structured', code: 7 } });
    expect(json.jsonPayload.severity).toBeUndefined();
    for (const e of entries) {
      expect(e.insertId).toEqual(expect.any(String));
      expect(Date.parse(e.timestamp)).not.toBeNaN();
      expect(Date.parse(e.receiveTimestamp)).not.toBeNaN();
    }
    expect(new Set(entries.map((e) => e.insertId)).size).toBe(3);
  });

  it("keeps a crashing container's last words, there before the revision is reported failed", async () => {
    const { body } = await list({
      resourceNames: [`projects/${project()}`],
      filter: `${of('logs-crasher')} logName = "projects/${project()}/logs/run.googleapis.com%2Fstderr"`,
    });
    expect((body.entries as Json[]).map((e) => e.textPayload)).toContain('crashing on purpose');
  });
});

describe('the filter language', () => {
  const entry = (over: Partial<LogEntry> = {}): LogEntry => ({
    ...(containerEntry(
      'p',
      {
        type: 'cloud_run_job',
        labels: { job_name: 'migrate', location: 'us-central1', project_id: 'p' },
      },
      { stream: 'stderr', text: 'Traceback: ModuleNotFoundError', time: '2030-01-02T03:04:05.123456789Z' },
      { 'run.googleapis.com/execution_name': 'migrate-abc12', 'run.googleapis.com/task_index': '0' },
    ) as LogEntry),
    insertId: 'x1',
    receiveTimestamp: '2030-01-02T03:04:06Z',
    ...over,
  });
  const cases: Array<[string, boolean]> = [
    ['resource.type = cloud_run_job', true],
    ['resource.type="cloud_run_job" AND resource.labels.job_name="migrate"', true],
    ['resource.type = cloud_run_revision', false],
    ['resource.type = ("cloud_run_revision" OR "cloud_run_job")', true],
    ['labels."run.googleapis.com/execution_name" = "migrate-abc12"', true],
    ['labels."run.googleapis.com/execution_name" != "migrate-abc12"', false],
    ['resource.labels.job_name = migrate resource.labels.location = "us-central1"', true],
    ['resource.labels.job_name = other OR textPayload : modulenotfound', true],
    ['NOT textPayload:robot', true],
    ['-textPayload:Traceback', false],
    ['textPayload =~ "^Traceback"', true],
    ['severity >= DEFAULT', true],
    ['severity >= ERROR', false],
    ['severity < INFO', true],
    ['timestamp >= "2030-01-02T03:04:05Z"', true],
    ['timestamp > "2030-01-02T03:04:05.123456789Z"', false],
    ['timestamp <= "2030-01-02T04:05:00+01:00"', true],
    ['timestamp <= "2030-01-02T04:00:00+01:00"', false],
    ['logName = "projects/p/logs/run.googleapis.com%2Fstderr"', true],
    ['labels."run.googleapis.com/task_index":*', true],
    ['jsonPayload.message:*', false],
    ['(resource.type = cloud_run_job AND severity >= DEFAULT) OR insertId = none', true],
    ['ModuleNotFoundError', true],
    ['"no such words"', false],
    ['', true],
  ];
  it.each(cases)('%s → %s', (filter, expected) => {
    expect(matches(parseFilter(filter), entry())).toBe(expected);
  });

  it('refuses a regular expression that does not compile with 400, not 500', async () => {
    const { status, body } = await list({
      resourceNames: [`projects/${project()}`],
      filter: 'textPayload =~ "("',
    });
    expect(status).toBe(400);
    expect(body.error.status).toBe('INVALID_ARGUMENT');
  });

  it('honours the severity a JSON line gives, by rank', () => {
    const structured = containerEntry(
      'p',
      { type: 'cloud_run_revision', labels: {} },
      { stream: 'stdout', text: '{"severity":"critical","message":"down"}', time: '2030-01-01T00:00:00Z' },
    ) as LogEntry;
    expect(structured.severity).toBe('CRITICAL');
    expect(matches(parseFilter('severity>=ERROR'), structured)).toBe(true);
    expect(matches(parseFilter('jsonPayload.message = down'), structured)).toBe(true);
  });

  it.each([
    'resource.type =',
    'AND severity>=ERROR',
    '(resource.type = x',
    'severity >= ERROR)',
    'a = "open',
  ])('refuses %p as Google does', async (filter) => {
    const { status, body } = await list({ resourceNames: [`projects/${project()}`], filter });
    expect(status).toBe(400);
    expect(body.error.status).toBe('INVALID_ARGUMENT');
    expect(body.error.message).toMatch(
      /^Unparseable filter: syntax error at line 1, column \d+, token '.*'$/,
    );
  });
});

describe('order and pages', () => {
  it('pages through entries oldest first, or newest first with timestamp desc', async () => {
    const seen: string[] = [];
    let pageToken: string | undefined;
    do {
      const { status, body } = await list({
        resourceNames: [`projects/${project()}`],
        filter: of('logs-talker'),
        pageSize: 1,
        ...(pageToken ? { pageToken } : {}),
      });
      expect(status).toBe(200);
      expect(body.entries).toHaveLength(1);
      seen.push(body.entries[0].textPayload ?? body.entries[0].jsonPayload.message);
      pageToken = body.nextPageToken as string | undefined;
    } while (pageToken);
    expect([...seen].sort()).toEqual(['hello from stdout', 'oops on stderr', 'structured']);
    expect(seen.filter((t) => t !== 'oops on stderr')).toEqual(['hello from stdout', 'structured']);
    const desc = await list({
      resourceNames: [`projects/${project()}`],
      filter: of('logs-talker'),
      orderBy: 'timestamp desc',
    });
    expect(desc.body.entries.map((e: Json) => e.textPayload ?? e.jsonPayload.message)).toEqual(
      [...seen].reverse(),
    );
  });

  it('refuses a page token from another query', async () => {
    const first = await list({
      resourceNames: [`projects/${project()}`],
      filter: of('logs-talker'),
      pageSize: 1,
    });
    const other = await list({
      resourceNames: [`projects/${project()}`],
      filter: of('logs-crasher'),
      pageToken: first.body.nextPageToken,
    });
    expect(other.status).toBe(400);
  });
});

describe('strict requests', () => {
  it('refuses a field ListLogEntriesRequest does not have, naming it', async () => {
    const { status, body } = await list({ resourceNames: [`projects/${project()}`], filters: 'x' });
    expect(status).toBe(400);
    expect(JSON.stringify(body.error)).toContain('filters');
  });

  it('refuses orderBy other than by timestamp, and a request without resource names', async () => {
    expect((await list({ resourceNames: [`projects/${project()}`], orderBy: 'severity' })).status).toBe(400);
    expect((await list({ filter: 'severity>=ERROR' })).status).toBe(400);
  });
});

describe('permission', () => {
  it('needs logging.logEntries.list on every project named: roles/logging.viewer has it, roles/run.developer does not', async () => {
    const developer = await seedServiceAccount('logs-run-developer', ['roles/run.developer']);
    const allowed = await list(
      { resourceNames: [`projects/${project()}`], filter: of('logs-talker') },
      reader,
    );
    expect(allowed.status).toBe(200);
    expect(allowed.body.entries).toHaveLength(3);
    const refused = await list({ resourceNames: [`projects/${project()}`] }, developer);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({
      status: 'PERMISSION_DENIED',
      message: "Permission 'logging.logEntries.list' denied on resource (or it may not exist).",
      details: [
        expect.objectContaining({
          metadata: expect.objectContaining({ permission: 'logging.logEntries.list' }),
        }),
      ],
    });
    const elsewhere = await list(
      { resourceNames: [`projects/${project()}`, 'projects/someone-else'] },
      reader,
    );
    expect(elsewhere.status).toBe(403);
  });
});
