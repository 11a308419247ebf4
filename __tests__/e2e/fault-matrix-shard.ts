// The fault-injection matrix (issue 10), run: every row of fault-matrix.ts deploys through its
// faults with the bundled action, then the test asks the service URL what serves, reads the API for
// candidate tags, matches the message that names the cause and counts requests in the emulator's
// log. The rows are split over the test files fault-matrix-1.test.ts … fault-matrix-N.test.ts
// (helpers/shards.ts), which Jest runs side by side, each against its own emulator: in one file the
// matrix was the suite's longest, and the run waited for it alone. Each part's expected and observed
// outcomes go to a results table outside the repository: $RUNWAY_RESULTS_DIR/fault-matrix-K.md (the
// system's temporary directory by default). That the matrix has enough rows, and that the parts run
// every row once, is checked without Docker (unit/shards.test.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deployApp, deployImage, errorOf, type ActionRun } from '../helpers/action.js';
import { candidateTags, deleteService, getService, sample, servingSplit } from '../helpers/cloudrun.js';
import { admin, type RequestRecord } from '../helpers/emulator.js';
import { pushTestImage } from '../helpers/images.js';
import { shardItems, shardOf } from '../helpers/shards.js';
import {
  expectationsOf,
  IMAGES,
  SCENARIOS,
  type ImageName,
  type RequestCount,
  type Scenario,
  type ScenarioContext,
} from './fault-matrix.js';

const images = {} as Record<ImageName, string>;
/** The rows this test file runs. */
let rows: Scenario[] = [];
const results: Array<{ scenario: Scenario; observed: string }> = [];
/** The baseline deploys made so far (or why one threw), by service. */
const baselines = new Map<string, ActionRun | Error>();
/** How many rows' baselines are deployed side by side. */
const BASELINE_BATCH = 4;

/**
 * The row's baseline: its service, deployed by Runway from the stable image. When it is not there
 * yet, it is deployed together with the baselines of the next few rows that need one. That happens
 * between rows, when no fault is set (a fault matches by API and path, so it could hit another
 * row's deploy), and the rows share no service, so the deploys cannot disturb each other.
 */
async function baselineOf(s: Scenario): Promise<ActionRun> {
  if (!baselines.has(s.service)) {
    const batch = rows
      .slice(rows.indexOf(s))
      .filter((row) => !row.fresh && !baselines.has(row.service))
      .slice(0, BASELINE_BATCH);
    await Promise.all(
      batch.map(async (row) => {
        const run = await deployImage(row.service, images.stable).catch((err: unknown) =>
          err instanceof Error ? err : new Error(String(err)),
        );
        baselines.set(row.service, run);
      }),
    );
  }
  const baseline = baselines.get(s.service)!;
  if (baseline instanceof Error) throw baseline;
  return baseline;
}

/** Fails with the run's log, so a wrong outcome shows why. */
function check(ok: boolean, what: string, run: ActionRun): void {
  if (!ok) throw new Error(`${what}\n--- log ---\n${run.stdout.slice(-6000)}\n${run.stderr.slice(-2000)}`);
}

function counted(log: RequestRecord[], c: RequestCount): number {
  const path = new RegExp(c.path);
  return log.filter(
    (r) =>
      r.api === c.api &&
      (!c.method || r.method === c.method) &&
      path.test(r.path) &&
      (c.status === undefined || r.status === c.status),
  ).length;
}

/** The body a run's image answers at `/`. */
function bodyOf(s: Scenario): string {
  if (s.deploy && 'build' in s.deploy) return s.deploy.build;
  return IMAGES[s.deploy?.image ?? 'next'].body;
}

/** What serves now, checked against the row: through the service URL, and the API agreeing. */
async function checkServing(
  s: Scenario,
  ctx: ScenarioContext,
  run: ActionRun,
  baselineUrl: string | undefined,
): Promise<string> {
  const live = await getService(ctx.service);
  if (s.serves === 'nothing') {
    check(live === undefined, `${ctx.service} still exists`, run);
    if (baselineUrl) {
      const answered = await fetch(baselineUrl).then(
        (r) => r.status,
        () => 'refused',
      );
      check(answered !== 200, `${baselineUrl} still answers 200`, run);
    }
    return 'no service';
  }
  check(live !== undefined, `${ctx.service} does not exist`, run);
  const service = live!;
  check(!service.reconciling, `${ctx.service} is still reconciling`, run);
  check(candidateTags(service).length === 0, `candidate tags left: ${candidateTags(service)}`, run);
  let revision: string | undefined;
  let body: string;
  if (s.serves === 'previous') {
    revision = ctx.previous;
    body = IMAGES.stable.body;
  } else if (s.serves === 'new') {
    revision = run.outputs.revision;
    body = bodyOf(s);
  } else {
    const winners = [run, ...ctx.others].filter((r) => r.exitCode === 0);
    check(winners.length > 0, 'no racing run exited 0', run);
    const split = servingSplit(service);
    const winner = winners.find((w) => split[w.outputs.revision!] === 100);
    check(winner !== undefined, `serving ${JSON.stringify(split)}, no winner's revision`, run);
    revision = winner!.outputs.revision;
    body = winner === run ? bodyOf(s) : IMAGES.other.body;
  }
  const split = servingSplit(service);
  check(
    JSON.stringify(split) === JSON.stringify({ [revision!]: 100 }),
    `expected ${revision} to serve 100%, the API says ${JSON.stringify(split)}`,
    run,
  );
  const seen = await sample(service.uri, 4);
  check(
    seen.size === 1 && seen.get(`200 ${body}`) === 4,
    `expected "${body}" from ${service.uri}, got ${JSON.stringify([...seen])}`,
    run,
  );
  return `${revision} (${s.serves === 'a winner' ? 'a winner' : s.serves}) serves "${body}", no candidate tag`;
}

/** The message that names the cause: the last ::error:: of a failed run, else the matching log line. */
function checkMessage(s: Scenario, run: ActionRun): string | undefined {
  if (!s.message) return undefined;
  if (run.exitCode !== 0) {
    const error = errorOf(run);
    check(s.message.test(error), `the error does not match ${s.message}:\n${error}`, run);
    return error.split('\n')[0]!.replace(/^::error::/, '');
  }
  const line = run.stdout.split('\n').find((l) => s.message!.test(l));
  check(line !== undefined, `no line of the log matches ${s.message}`, run);
  return line!.replace(/^::\w+::/, '');
}

async function runScenario(s: Scenario): Promise<string> {
  const ctx: ScenarioContext = {
    service: s.service,
    previous: undefined,
    images,
    mark: 0,
    others: [],
    cleanups: [],
  };
  let baselineUrl: string | undefined;
  try {
    if (!s.fresh) {
      const baseline = await baselineOf(s);
      check(baseline.exitCode === 0, 'the baseline deploy failed', baseline);
      ctx.previous = baseline.outputs.revision;
      baselineUrl = baseline.outputs.url;
    }
    const inputs = (await s.inputs?.(ctx)) ?? {};
    const env = s.env ?? {};
    if (s.faults) await admin.faults(s.faults(ctx));
    ctx.mark = (await admin.requests()).length;
    const deploy = s.deploy ?? { image: 'next' as const };
    const running =
      'build' in deploy
        ? deployApp(s.service, deploy.build, inputs, {}, env)
        : deployImage(s.service, images[deploy.image], inputs, env);
    const [settled, during] = await Promise.allSettled([running, s.during?.(ctx)]);
    if (settled.status === 'rejected') throw settled.reason;
    if (during.status === 'rejected') throw during.reason;
    const run = settled.value;
    const log = (await admin.requests()).slice(ctx.mark);
    await admin.clearFaults();

    const observed: string[] = [`exit ${run.exitCode}`];
    if (s.exit === 'either') {
      observed.push(`other runs exited ${ctx.others.map((o) => o.exitCode).join(', ')}`);
      // Only a run that lost has something to explain; the winner's log need not mention the race.
      for (const r of [run, ...ctx.others].filter((r) => r.exitCode !== 0)) {
        const named = checkMessage(s, r);
        if (named) observed.push(named);
      }
    } else {
      check(run.exitCode === s.exit, `exit ${run.exitCode}, expected ${s.exit}`, run);
    }
    observed.push(await checkServing(s, ctx, run, baselineUrl));
    if (s.exit !== 'either') {
      const named = checkMessage(s, run);
      if (named) observed.push(named);
    }
    for (const c of s.requests?.(s.service) ?? []) {
      const n = counted(log, c);
      check(n === c.count, `${c.what}: ${n}, expected ${c.count}`, run);
      observed.push(`${c.what}: ${n}`);
    }
    const own = await s.verify?.(ctx, run);
    if (own) observed.push(own);
    return observed.join('; ');
  } finally {
    await admin.clearFaults();
    for (const cleanup of ctx.cleanups) await cleanup();
    // Each row's containers go with its service: the matrix would otherwise keep dozens running.
    await deleteService(s.service).catch(() => undefined);
  }
}

/** Runs the part of the matrix that the test file `file` (import.meta.filename) is. */
export function faultMatrixShard(file: string): void {
  const shard = shardOf(file);
  rows = shardItems(SCENARIOS, shard);

  beforeAll(async () => {
    await Promise.all(
      (Object.keys(IMAGES) as ImageName[]).map(async (name) => {
        const { body, options } = IMAGES[name];
        images[name] = await pushTestImage(`fault-matrix-${name.toLowerCase()}`, body, options);
      }),
    );
  }, 600_000);

  afterAll(() => {
    const dir = process.env.RUNWAY_RESULTS_DIR ?? tmpdir();
    mkdirSync(dir, { recursive: true });
    const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
    const lines = [
      '| area | fault | expected | observed |',
      '| --- | --- | --- | --- |',
      ...results.map(({ scenario, observed }) => {
        const e = expectationsOf(scenario);
        const expected = [`exit ${e.exit}`, `serves ${e.serves}`, e.message, e.requests].filter(Boolean);
        return `| ${scenario.area} | ${cell(scenario.name)} | ${cell(expected.join('; '))} | ${cell(observed)} |`;
      }),
    ];
    const file = join(dir, `fault-matrix-${shard.index}.md`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    console.log(
      `fault matrix, part ${shard.index} of ${shard.count}: ${results.length} rows written to ${file}`,
    );
  });

  describe(`fault-injection matrix, part ${shard.index} of ${shard.count}`, () => {
    for (const scenario of rows) {
      it(`${scenario.area}: ${scenario.name}`, async () => {
        try {
          const observed = await runScenario(scenario);
          results.push({ scenario, observed });
        } catch (err) {
          results.push({ scenario, observed: `FAILED: ${String(err).split('\n')[0]}` });
          throw err;
        }
      });
    }
  });
}
