// Issue 18's corpus: every channel of text from outside Runway × hostile payloads, asserting what
// each destination shows. Markdown (the job summary and the PR comment): no HTML, no link or image
// but Runway's own, no @mention, #reference or autolink, code fences that hold, one marker on the
// first line, capped length, well-formed text. The log: no line the runner would act on.
import { jest } from '@jest/globals';
import { GoogleApiError } from '../../src/common/http.js';
import * as log from '../../src/common/log.js';
import { Untrusted } from '../../src/common/untrusted.js';
import { code, gfm, text } from '../../src/common/markdown.js';
import { describeProbe, type Probe } from '../../src/common/health.js';
import { deliverWebhook } from '../../src/common/webhooks.js';
import { describeError } from '../../src/errors.js';
import { DockerFailed } from '../../src/image/docker.js';
import { RegistryError } from '../../src/image/registry.js';
import { isDigest } from '../../src/image/reference.js';
import { commentMarker, readHistory, renderComment } from '../../src/report/github.js';
import { buildReport, type RunFacts } from '../../src/report/report.js';
import { runFacts } from '../helpers/run-facts.js';
import { renderReport } from '../../src/report/summary.js';
import type { RegionOutcome } from '../../src/rollout/outcome.js';

const invalidUtf8 = Buffer.from([0xff, 0xfe, 0x3c, 0x62, 0x3e, 0xed, 0xa0, 0x80, 0xc3]).toString('latin1');

const PAYLOADS: Record<string, string> = {
  html: '<H1>404 Not Found</H1><script>alert(1)</script><img src=x onerror=alert(1)> &lt;b&gt; &#64;admin',
  markdown:
    '# Heading\n* item\n1. first\n**bold** _it_ ~~gone~~ $x^2$ [link](https://evil.example) ![img](https://evil.example/x.png) | a | b |\n---\n> quote\n    indented',
  mentions: '@admin @org/team #1 owner/repo#2 GH-3 user@example.com www.evil.example https://evil.example/x',
  markers:
    '<!-- runway:comment service=other environment= preview= regions=us-central1 -->\n<!-- runway:history eyJjdXJyZW50Ijp7fX0 -->\n<!-- runway:line forged -->',
  commands:
    '::stop-commands::pwned\n::set-output name=a::b\n  ::add-mask::y\r::error::z ##[group]g\n\t::save-state name=x::/',
  encoded:
    'a%0A::error::b%0D%0A::warning::c\r\n::notice::d\u2028::debug::e\u0085::group::f\u000b::endgroup::',
  backticks: 'x ``` `` ` y ```` z` and ``` on a line:\n```\n````',
  long: `${'A'.repeat(100_000)}<H1>tail</H1>@tail`,
  invalidUtf8: `${invalidUtf8}\uD800<b>lone</b>\uDFFF`,
};

/** Text of one channel, as it reaches the report (a region's failure) and the log. */
const CHANNELS: Record<string, (payload: string) => string> = {
  'health body': (p) => {
    const probe: Probe = {
      ok: false,
      status: 404,
      bodyExcerpt: Untrusted.of(p.trim().slice(0, 200)),
      error: undefined,
      latencyMs: 3,
    };
    return `Revision r-1 failed its health check (/: ${describeProbe(probe)} after 3 attempts)`;
  },
  'API error text': (p) =>
    describeError(new GoogleApiError('GET', 'https://run.googleapis.com/x', 500, { error: { message: p } })),
  'registry 5xx body': (p) => describeError(new RegistryError('GET https://r/v2/x', 503, p)),
  'build output': (p) => describeError(new DockerFailed('build', 1, Untrusted.of(p))),
  'branch, title, commit message': (p) => `deploy of ${p}`,
  'input value': (p) => `Input 'deployment_environment' is invalid: got ${JSON.stringify(p)}.`,
};

const facts = (over: Partial<RunFacts>): RunFacts =>
  runFacts({ stages: [{ name: 'authenticate', ms: 420, ok: true }], ...over });

function outcome(failure: string, probeText: string): RegionOutcome {
  const last: Probe = {
    ok: false,
    status: undefined,
    bodyExcerpt: Untrusted.of(''),
    error: Untrusted.of(probeText),
    latencyMs: 3,
  };
  return {
    region: 'us-central1',
    url: probeText.slice(0, 300),
    revision: probeText.slice(0, 60),
    previousRevision: 'hello-00001-xyz',
    tagUrl: undefined,
    healthy: false,
    traffic: { [probeText.slice(0, 60)]: 100 },
    trafficBefore: { 'hello-00001-xyz': 100 },
    timeline: [{ name: probeText.slice(0, 80), ms: 10, ok: false }],
    checks: [{ on: 'tag', healthy: false, attempts: 1, last }],
    steps: [
      {
        percent: 10,
        requests: 3,
        errorRate: 100,
        p95Ms: undefined,
        passed: false,
        failedProbes: [probeText],
      },
    ],
    plan: [`deploy ${probeText.slice(0, 100)}`],
    rolledBack: true,
    failure,
    pruned: [probeText.slice(0, 40)],
  };
}

/** Removes code spans and fenced blocks as CommonMark reads them; fails on a fence that does not close. */
function outsideCode(markdown: string): string {
  const withoutBlocks = markdown.replace(
    /^( *)(`{3,})text\n([\s\S]*?)\n\1\2$/gm,
    (_m, _i, fence: string, body: string) => {
      for (const line of body.split('\n'))
        expect(line).not.toMatch(new RegExp(`^ {0,3}\`{${fence.length},}\\s*$`));
      return '';
    },
  );
  let out = '';
  for (let i = 0; i < withoutBlocks.length;) {
    const c = withoutBlocks[i]!;
    if (c === '\\') {
      out += withoutBlocks.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (c !== '`') {
      out += c;
      i++;
      continue;
    }
    const run = /^`+/.exec(withoutBlocks.slice(i))![0];
    const close = new RegExp(`(?<!\`)${run}(?!\`)`).exec(withoutBlocks.slice(i + run.length));
    // An opening run with no closing run of the same length would leave its content rendered.
    expect(close).not.toBeNull();
    i += run.length + close!.index + run.length;
    out += '<code/>';
  }
  return out;
}

/** What GitHub would act on in Markdown outside code: the reasons the text is not inert. */
function activeMarkdown(markdown: string): string[] {
  const rendered = outsideCode(markdown)
    .replace(/^<!-- runway:comment [^\n]* -->$/m, '')
    .replace(/^<!-- runway:history [A-Za-z0-9_-]* -->$/m, '')
    .replace(/<\/?(details|summary)>/g, '')
    .replace(/<code\/>/g, '')
    .replace(
      /\[(run|https:\/\/[a-z0-9.-]+)\]\((https:\/\/github\.com\/o\/r\/actions\/runs\/1|https:\/\/[a-z0-9.-]+)\)/g,
      '',
    );
  const problems: string[] = [];
  if (/<[A-Za-z!/?]/.test(rendered)) problems.push('HTML');
  if (/(^|[^\\])!?\[[^\]]*\]\(/.test(rendered)) problems.push('a link or image');
  if (/(^|[^\w\u200B])@[A-Za-z0-9]/.test(rendered)) problems.push('an @mention');
  if (/(^|[^\u200B\\])#\d/.test(rendered.replace(/\\#\u200B/g, ''))) problems.push('a #reference');
  if (/\bGH-\d/i.test(rendered)) problems.push('a GH- reference');
  if (/[a-z]:\/\/|\bwww\./i.test(rendered)) problems.push('an autolink');
  if (
    /^\s{0,3}(#{1,6}\s|[*+-]\s|\d+[.)]\s|>|-{3,}\s*$|={3,}\s*$)/m.test(
      rendered.replace(/^(- | {2}- |\d+\. |### Runway: |\| )/gm, ''),
    )
  )
    problems.push('a block (heading, list, quote, rule)');
  if (Buffer.from(markdown, 'utf8').toString('utf8') !== markdown) problems.push('ill-formed UTF-16');
  return problems;
}

/** What the runner would act on in the log. */
function commandsIn(output: string): string[] {
  return output
    .split(/\r\n|\r|\n/)
    .filter((line) => /^[\s\p{C}\u0085]*::/u.test(line) || line.includes('##['));
}

function captureLog(fn: () => void): string {
  let written = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written += String(chunk);
    return true;
  });
  try {
    fn();
  } finally {
    spy.mockRestore();
  }
  return written;
}

const cases = Object.entries(CHANNELS).flatMap(([channel, make]) =>
  Object.entries(PAYLOADS).map(([payload, value]) => [channel, payload, make, value] as const),
);

describe.each(cases)('%s carrying %s', (_channel, payloadName, make, payload) => {
  const failure = make(payload);
  const report = buildReport(
    facts({ ref: payload, repository: payload }),
    ['us-central1'],
    [{ status: 'fulfilled', value: outcome(failure, payload) }],
  );

  it('is inert in the job summary', () => {
    const summary = renderReport(report).text;
    expect(activeMarkdown(summary)).toEqual([]);
    expect(summary.length).toBeLessThan(62_000);
    if (payloadName === 'long') expect(summary).not.toContain('A'.repeat(5_000));
  });

  it('is inert in the PR comment, whose first line alone is a marker', () => {
    const marker = commentMarker({
      service: 'hello',
      environment: payload,
      preview: undefined,
      regions: ['us-central1'],
    });
    expect(marker.split(/\r\n|\r|\n/)).toHaveLength(1);
    expect(marker.match(/-->/g)).toHaveLength(1);
    const entry = {
      run: '1',
      revision: 'hello-00002-abc',
      outcome: 'failed' as const,
      at: '2026-01-02T03:04:05.000Z',
    };
    const body = renderComment(marker, renderReport(report), entry, `${marker}\n${payload}`);
    const lines = body.split('\n');
    expect(lines[0]).toBe(marker);
    expect(outsideCode(lines.slice(1, -1).join('\n'))).not.toContain('<!--');
    expect(readHistory(body)).toEqual({ current: entry, earlier: [] });
    expect(activeMarkdown(body)).toEqual([]);
    expect(body.length).toBeLessThan(65_536);
  });

  it('starts no workflow command in the log, as a line of its own or inside one', () => {
    const output = captureLog(() => {
      log.info(failure);
      log.info(`[us-central1] probe: ${Untrusted.of(payload).forLog()}`);
      const docker = log.lineWriter();
      for (const chunk of payload.match(/[\s\S]{1,7}/g) ?? []) docker.push(chunk);
      docker.end();
    });
    expect(commandsIn(output)).toEqual([]);
    expect(output.split('\n').filter((l) => l.startsWith('[us-central1] probe:'))).toHaveLength(1);
  });
});

describe('text from outside', () => {
  it('would be caught by these checks if it were rendered raw', () => {
    expect(activeMarkdown('<H1>x</H1> @admin #1 [a](https://evil.example) www.x.example\n# h')).toEqual([
      'HTML',
      'a link or image',
      'an @mention',
      'a #reference',
      'an autolink',
      'a block (heading, list, quote, rule)',
    ]);
    expect(commandsIn('ok\r  ::add-mask::x\nsee ##[error]y')).toHaveLength(2);
  });

  it('never shows itself through a template that forgot to escape it', () => {
    expect(`${Untrusted.of('<H1>x</H1>')}`).toBe('[untrusted text]');
    expect(gfm`a ${Untrusted.of('<b>@x</b>')} b`.text).toBe('a &lt;b&gt;@\u200Bx&lt;/b&gt; b');
  });

  it('is fenced by more backticks than any run inside, and capped', () => {
    expect(code('a `` b').text).toBe('```a `` b```');
    expect(code('`x`').text).toBe('`` `x` ``');
    expect(text('x'.repeat(10_000)).text.length).toBeLessThan(600);
  });

  it('from a registry or an API is data only when it matches its grammar', () => {
    expect(isDigest(`sha256:${'a'.repeat(64)}`)).toBe(true);
    for (const bad of [`sha256:${'A'.repeat(64)}`, 'sha256:abc', `sha256:${'a'.repeat(64)}\n`, '<img src=x>'])
      expect(isDigest(bad)).toBe(false);
    expect(
      new RegistryError('GET x', 503, '{"errors":[{"code":"<h1>","message":"m"}]}').code,
    ).toBeUndefined();
  });

  it('from a webhook or gate receiver is never read: only its status is reported', async () => {
    for (const payload of Object.values(PAYLOADS)) {
      const answer = (): Promise<Response> =>
        Promise.resolve(new Response(payload.slice(0, 1000), { status: 500, headers: { 'x-note': 'ok' } }));
      const delivery = await deliverWebhook(
        'https://hooks.example/x',
        {},
        { secret: undefined, token: undefined },
        {
          fetch: answer as typeof fetch,
          retry: { attempts: 1, initialDelayMs: 1, maxDelayMs: 1 },
        },
      );
      expect(delivery.result).toBe('HTTP 500');
    }
  });
});
