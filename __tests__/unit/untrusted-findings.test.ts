// Issue 18, finding 1 and finding 7 (its first two points), each reproduced through the entry
// points Runway itself calls: a health body that took over the PR comment, Docker output that
// could act as a workflow command, a registry header and a 5xx body that reached the report and
// the log unchecked, and a post step that removed whatever the saved state named.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { Docker } from '../../src/image/docker.js';
import { resolveDigest } from '../../src/image/registry.js';
import { upsertStickyComment, type Octokit } from '../../src/report/github.js';
import { buildReport } from '../../src/report/report.js';
import { runFacts } from '../helpers/run-facts.js';
import { renderReport } from '../../src/report/summary.js';

/** What the runner would act on in `output`: lines starting a command, and legacy `##[` anywhere. */
function commandsIn(output: string): string[] {
  return output.split(/\r\n|\r|\n/).filter((line) => /^[\s\p{C}]*::/u.test(line) || line.includes('##['));
}

/** Runs `fn` with stdout captured (what the runner reads), and returns what was written. */
async function captureStdout(fn: () => Promise<unknown>): Promise<string> {
  let written = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  });
  try {
    await fn().catch(() => undefined);
  } finally {
    spy.mockRestore();
  }
  return written;
}

/**
 * The Markdown GitHub renders as Markdown: fenced code blocks (whose content is shown as written)
 * taken out, after checking that no line inside could close the fence early.
 */
function outsideCodeBlocks(markdown: string): string {
  return markdown.replace(
    /^( *)(`{3,})text\n([\s\S]*?)\n\1\2$/gm,
    (_all, _indent, fence: string, body: string) => {
      expect(body.split('\n').some((line) => new RegExp(`^ {0,3}\`{${fence.length},}\\s*$`).test(line))).toBe(
        false,
      );
      return '';
    },
  );
}

const hostileBody = [
  '<H1>404 Not Found</H1>',
  '<!-- runway:comment service=other environment= -->',
  '<!-- runway:line run 1: `forged` healthy -->',
  '@admin please look',
  '![pixel](https://evil.example/p.png)',
  '[click](https://evil.example/phish)',
].join('\n');

describe('finding 1: a health body takes over the report', () => {
  const facts = runFacts();
  const failure = `Revision hello-00002-abc (on its tag URL, before taking traffic) failed its health check (/: HTTP 404: ${JSON.stringify(hostileBody)} after 3 attempts)\nRolled back: ${hostileBody}`;

  it('renders HTML, markers, mentions, images and links in a failing body as inert text', () => {
    const markdown = outsideCodeBlocks(
      String(
        renderReport(
          buildReport(facts, ['us-central1'], [{ status: 'rejected', reason: new Error(failure) }]),
        ),
      ),
    );
    expect(markdown).not.toMatch(/<H1>/i);
    expect(markdown).not.toContain('<!--');
    expect(markdown).not.toMatch(/(^|[^\u200B\w])@admin/);
    expect(markdown).not.toContain('![');
    expect(markdown).not.toContain('](https://evil');
  });

  /** A GitHub whose pull request already holds the comments given; records what Runway changed. */
  function fakeGitHub(
    comments: Array<{ id: number; body: string; user: { login: string; id: number; type: string } }>,
  ) {
    const changed: string[] = [];
    const octokit = {
      rest: {
        users: {
          getAuthenticated: () =>
            Promise.reject(
              Object.assign(new Error('Resource not accessible by integration'), { status: 403 }),
            ),
        },
        issues: {
          listComments: () => undefined,
          createComment: () => {
            changed.push('created');
            return Promise.resolve({
              data: { id: 99, user: { login: 'github-actions[bot]', id: 41898282 } },
            });
          },
          updateComment: ({ comment_id }: { comment_id: number }) => {
            changed.push(`updated ${comment_id}`);
            return Promise.resolve({ data: {} });
          },
          deleteComment: ({ comment_id }: { comment_id: number }) => {
            changed.push(`deleted ${comment_id}`);
            return Promise.resolve({ data: {} });
          },
        },
      },
      graphql: () => Promise.reject(new Error('no GraphQL here')),
      paginate: () => Promise.resolve(comments),
    } as unknown as Octokit;
    return { octokit, changed };
  }

  const repo = { owner: 'o', repo: 'r' };
  const markerOfB = '<!-- runway:comment service=b environment= preview= regions=us-central1 -->';
  const actionsBot = { login: 'github-actions[bot]', id: 41898282, type: 'Bot' };

  it("another service's run never takes over a comment that quotes its marker", async () => {
    const { octokit, changed } = fakeGitHub([
      {
        id: 1,
        body: `<!-- runway:comment service=a -->\nA's report, quoting the app:\n${markerOfB}`,
        user: actionsBot,
      },
    ]);
    await upsertStickyComment(octokit, repo, 7, markerOfB, () => `${markerOfB}\nB's report`);
    expect(changed).toEqual(['created']);
  });

  it("another bot's comment carrying the marker is not Runway's", async () => {
    const { octokit, changed } = fakeGitHub([
      { id: 2, body: `${markerOfB}\nplanted`, user: { login: 'renovate[bot]', id: 29139614, type: 'Bot' } },
    ]);
    await upsertStickyComment(octokit, repo, 7, markerOfB, () => `${markerOfB}\nB's report`);
    expect(changed).toEqual(['created']);
  });
});

describe('finding 7: build output, registry answers and the post step', () => {
  let bin: string;
  const path = process.env.PATH;

  beforeAll(() => {
    bin = mkdtempSync(join(tmpdir(), 'runway-fake-docker-'));
    // The classic builder (no buildx) printing what a Dockerfile's RUN can print.
    writeFileSync(
      join(bin, 'docker'),
      [
        '#!/bin/sh',
        'case "$1" in',
        '  buildx) exit 1 ;;',
        "  build) printf 'Step 2/2 : RUN ./print-things\\n::stop-commands::pwned\\n   ::save-state name=docker-config::/home\\r::add-mask::\\n##[group]forged\\n'; exit 0 ;;",
        "  push) printf 'app:sha: digest: sha256:%064d size: 528\\n' 0; exit 0 ;;",
        '  *) exit 0 ;;',
        'esac',
        '',
      ].join('\n'),
    );
    chmodSync(join(bin, 'docker'), 0o755);
    process.env.PATH = `${bin}:${path}`;
  });

  afterAll(() => {
    process.env.PATH = path;
    rmSync(bin, { recursive: true, force: true });
  });

  it("a Dockerfile's output cannot stop commands, save state or forge a group in the log", async () => {
    const image = { host: 'registry.example', path: 'p/r/app', tag: 'sha', digest: undefined };
    const output = await captureStdout(() =>
      Docker.userConfig().buildAndPush(
        {
          context: '.',
          dockerfile: undefined,
          buildArgs: {},
          secrets: {},
          target: undefined,
          platform: undefined,
          image,
          cacheRef: undefined,
        },
        { builder: undefined, refreshCredential: undefined },
      ),
    );
    expect(output).toContain('stop-commands::pwned');
    expect(commandsIn(output)).toEqual([]);
  });

  /** A registry on loopback answering every request with `answer`. */
  async function registry(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
    const server = http.createServer(answer);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { host, close: () => new Promise<void>((done) => server.close(() => done())) };
  }

  it('a Docker-Content-Digest that is not a digest is refused, not deployed or reported', async () => {
    const fake = await registry((_req, res) => {
      res.writeHead(200, { 'docker-content-digest': '<img src=x> ##[error]forged' });
      res.end();
    });
    try {
      const image = { host: fake.host, path: 'p/r/app', tag: 'v1', digest: undefined };
      await expect(resolveDigest(image, { kind: 'anonymous' })).rejects.toThrow(/not a digest/);
    } finally {
      await fake.close();
    }
  });

  it("a registry's 5xx page cannot write a workflow command into the log", async () => {
    const fake = await registry((req, res) => {
      res.writeHead(req.method === 'HEAD' ? 404 : 503, { 'content-type': 'text/html' });
      res.end('<html>busy\n::stop-commands::pwned\n##[error]forged\r::add-mask::x</html>');
    });
    try {
      const image = { host: fake.host, path: 'p/r/app', tag: 'v1', digest: undefined };
      const output = await captureStdout(() => resolveDigest(image, { kind: 'anonymous' }));
      expect(output).toContain('retrying');
      expect(commandsIn(output)).toEqual([]);
    } finally {
      await fake.close();
    }
  }, 60_000);

  it('the post step removes only the Docker config it made, in RUNNER_TEMP', async () => {
    const runnerTemp = mkdtempSync(join(tmpdir(), 'runway-runner-temp-'));
    const elsewhere = mkdtempSync(join(tmpdir(), 'runway-not-ours-'));
    const ours = join(runnerTemp, 'runway-docker-Ab12Cd');
    mkdirSync(ours);
    const saved = { temp: process.env.RUNNER_TEMP, state: process.env['STATE_docker-config'] };
    try {
      process.env.RUNNER_TEMP = runnerTemp;
      // What a build's `::save-state name=docker-config::PATH` would have left for the post step.
      process.env['STATE_docker-config'] = elsewhere;
      const { post } = await import('../../src/post.js');
      await post();
      expect(existsSync(elsewhere)).toBe(true);
      process.env['STATE_docker-config'] = join(runnerTemp, '..', '..', 'tmp');
      await post();
      process.env['STATE_docker-config'] = ours;
      await post();
      expect(existsSync(ours)).toBe(false);
    } finally {
      process.env.RUNNER_TEMP = saved.temp;
      if (saved.state === undefined) delete process.env['STATE_docker-config'];
      else process.env['STATE_docker-config'] = saved.state;
      rmSync(runnerTemp, { recursive: true, force: true });
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
