// Chat webhooks (Slack, Discord) carry their secret in the URL's path (issue 18, finding 4).
// `webhook_url` and `gate_url` are masked whole and URL by URL the moment they are read, and what
// Runway itself prints about a receiver is its scheme and host only — in the runner's log, where
// masking applies, and in what it returns for the report. Output is read as the runner would see
// it: what @actions/core writes to stdout.
import { deliverWebhook } from '../../src/common/webhooks.js';
import { readSettings } from '../../src/inputs/inputs.js';

const SLACK = 'https://hooks.slack.test/services/T0000/B0000/slackPathSecret1234';
const DISCORD = 'https://discord.test/api/webhooks/1234/discordPathSecret5678';
const GATE = 'https://gate.test/approve/gatePathSecret9012';

/** What `fn` writes to stdout (where @actions/core writes commands and info). */
async function stdoutOf(fn: () => unknown): Promise<string> {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    await fn();
  } finally {
    process.stdout.write = write;
  }
  return chunks.join('');
}

const masks = (out: string): string[] =>
  out
    .split('\n')
    .filter((l) => l.startsWith('::add-mask::'))
    .map((l) => l.slice('::add-mask::'.length));

describe('webhook URLs', () => {
  it('are masked whole and one by one the moment they are read, gate_url too', async () => {
    const raw = `${SLACK}\n${DISCORD}`;
    const out = await stdoutOf(() =>
      readSettings(
        (name) =>
          ({
            service: 'hello',
            image: 'us-docker.pkg.dev/p/r/app:1',
            webhook_url: raw,
            traffic_steps: '50,100',
            gate_url: GATE,
          })[name] ?? '',
      ),
    );
    expect(masks(out)).toEqual(expect.arrayContaining([`${SLACK}%0A${DISCORD}`, SLACK, DISCORD, GATE]));
  });

  it('are masked even when refused, and the refusal does not show them', async () => {
    let message = '';
    const out = await stdoutOf(() => {
      try {
        readSettings(
          (name) =>
            ({
              service: 'hello',
              image: 'us-docker.pkg.dev/p/r/app:1',
              gate_url: GATE,
            })[name] ?? '',
        );
      } catch (err) {
        message = String(err);
      }
    });
    expect(message).toContain("Input 'gate_url' is invalid");
    expect(message).not.toContain('gatePathSecret');
    expect(masks(out)).toContain(GATE);
  });

  it('show only scheme and host in the log and the delivery record, through retries', async () => {
    let attempts = 0;
    const transport = (async () => {
      attempts++;
      return new Response(null, { status: attempts < 3 ? 503 : 200 });
    }) as typeof fetch;
    let delivery: Awaited<ReturnType<typeof deliverWebhook>> | undefined;
    const out = await stdoutOf(async () => {
      delivery = await deliverWebhook(
        SLACK,
        { ok: true },
        { secret: undefined, token: undefined },
        {
          fetch: transport,
          retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
        },
      );
    });
    expect(attempts).toBe(3);
    expect(out).toContain('webhook https://hooks.slack.test failed');
    expect(out).not.toContain('/services/');
    expect(delivery).toMatchObject({ url: 'https://hooks.slack.test', delivered: true });
    expect(JSON.stringify(delivery)).not.toContain('slackPathSecret');
  });
});
