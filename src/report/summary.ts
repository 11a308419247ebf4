// The run as Markdown, for the job summary and the PR comment: a table per region (URL, revision,
// previous revision, digest, health with status and latency, traffic), what failed and what was
// rolled back, the exact traffic before and after, and a timeline of the stages. Pure. Every value
// is escaped (src/common/markdown.ts): a failure's text, a probe's answer, a revision's name are
// shown as written, never rendered.
import { code, codeBlock, decimal, gfm, join, link, text, type Markdown } from '../common/markdown.js';
import { Untrusted } from '../common/untrusted.js';
import { LOG_VIEWER_ROLE, type FailureLogs } from '../rollout/failure-logs.js';
import type { CheckRecord } from '../rollout/outcome.js';
import type { CleanupReport, RegionReport, RunReport } from './report.js';
import type { JobOutcome } from '../deploy/job.js';
import { shortName } from '../gcp/run-types.js';

/** GitHub refuses a comment over 65,536 characters; the summary gets the same report. */
export const REPORT_CAP = 60_000;

function split(traffic: Record<string, number> | undefined, inTable = false): Markdown {
  const parts = Object.entries(traffic ?? {}).map(
    ([revision, percent]) => gfm`${code(revision, { inTable })} ${percent}%`,
  );
  return parts.length ? join(parts, ', ') : gfm`nothing`;
}

function health(checks: CheckRecord[] | undefined, healthy: boolean | undefined): Markdown {
  const last = checks?.at(-1);
  const verdict = healthy === false ? gfm`❌ unhealthy` : healthy ? gfm`✅ healthy` : gfm`not checked`;
  if (!last?.last) return verdict;
  const probe = last.last;
  const answer = probe.error ? text(probe.error, 200) : gfm`HTTP ${probe.status ?? 0}`;
  const where = last.on === 'tag' ? gfm`tag URL` : gfm`service URL`;
  return gfm`${verdict} (${answer}, ${probe.latencyMs} ms, ${where})`;
}

function regionRow(r: RegionReport, digest: string, preview: boolean): Markdown {
  const o = r.outcome;
  const url = o ? link(preview ? o.tagUrl : o.url) : gfm`—`;
  const revision = o ? code(o.revision, { inTable: true }) : gfm`—`;
  const previous = o?.previousRevision ? code(o.previousRevision, { inTable: true }) : gfm`—`;
  const shortDigest = code(digest.slice(0, 19), { inTable: true });
  const verdict = health(o?.checks, r.failure ? false : o?.healthy);
  const traffic = o ? split(o.traffic, true) : gfm`—`;
  return gfm`| ${text(r.region)} | ${url} | ${revision} | ${previous} | ${shortDigest} | ${verdict} | ${traffic} |`;
}

const lastLines = (n: number): Markdown => (n === 1 ? gfm`line` : gfm`${n} lines`);

/**
 * A failed revision's or job execution's last lines, as it wrote them (inert in a code block), and
 * where its logs are: the items under a failure's bullet, in the job summary and the PR comment.
 */
export function failureLogs(logs: FailureLogs): Markdown[] {
  const where = logs.logUri ? gfm` (${code(logs.logUri)})` : gfm``;
  const source = logs.source === 'execution' ? gfm`execution ${code(logs.name)}` : code(logs.name);
  if (logs.unread === 'denied')
    return [
      gfm`  - ${source}'s logs${where}: Runway may not read them; grant the deployer ${code(LOG_VIEWER_ROLE)} to see its last lines here`,
    ];
  if (logs.unread === 'failed') return [gfm`  - ${source}'s logs${where}: Runway could not read them`];
  if (!logs.lines.length) return [gfm`  - ${source} wrote nothing to its logs${where}`];
  const written = Untrusted.of(logs.lines.map((l) => l.oneLine(300)).join('\n'));
  return [
    gfm`  - the last ${lastLines(logs.lines.length)} ${source} wrote${where}:`,
    gfm``,
    codeBlock(written, 4, 320 * logs.lines.length),
  ];
}

/** The `release_command` job's execution: how it ended and, when it failed, its own last lines. */
function releaseSection(release: JobOutcome): Markdown[] {
  const job = code(shortName(release.job) ?? release.job);
  const where = release.executionUrl ? gfm` (${link(release.executionUrl)})` : gfm``;
  const execution = release.execution ? gfm`${code(release.execution)}${where}` : gfm`not started`;
  const verdict = release.failure
    ? gfm`❌ ${text(release.failure, 1000)}`
    : gfm`✅ succeeded before the deploy`;
  return [
    gfm`**Release command** (\`release_command\`)`,
    gfm``,
    gfm`- job ${job} in ${text(release.region)}, execution ${execution}: ${verdict}`,
    ...(release.logs ? failureLogs(release.logs) : []),
    gfm``,
  ];
}

function seconds(ms: number): Markdown {
  return gfm`${decimal(ms / 1000, 1)} s`;
}

export function renderReport(report: RunReport, options: { heading?: boolean } = {}): Markdown {
  const lines: Markdown[] = [];
  if (options.heading ?? true) {
    const what = report.preview
      ? gfm`${code(report.service)} preview ${code(report.preview.tag)}`
      : code(report.service);
    const verdict = report.healthy ? gfm`✅ deployed and healthy` : gfm`❌ failed`;
    lines.push(gfm`### Runway: ${what} ${verdict}`, gfm``);
  }
  if (report.preview) {
    const tag = code(report.preview.tag);
    lines.push(
      gfm`Preview of #${report.preview.pullRequest} on its tag ${tag}, with no production traffic.`,
      gfm``,
    );
  }
  const urlHeading = report.preview ? gfm`preview URL` : gfm`URL`;
  lines.push(
    gfm`| region | ${urlHeading} | revision | previous | digest | health | traffic now |`,
    gfm`| --- | --- | --- | --- | --- | --- | --- |`,
    ...report.regions.map((r) => regionRow(r, report.digest, report.preview !== undefined)),
    gfm``,
  );
  if (report.release) lines.push(...releaseSection(report.release));
  const stepped = report.regions.filter((r) => r.outcome?.steps.length);
  if (stepped.length) {
    lines.push(
      gfm`**Traffic steps** (\`traffic_steps\`)`,
      gfm``,
      gfm`| region | share | probes | failed | p95 | gate |`,
      gfm`| --- | --- | --- | --- | --- | --- |`,
    );
    for (const r of stepped)
      for (const s of r.outcome!.steps) {
        const p95 = s.p95Ms === undefined ? gfm`—` : gfm`${s.p95Ms} ms`;
        const gate = s.passed ? gfm`✅ passed` : gfm`❌ failed`;
        const failed = gfm`${decimal(s.errorRate, 1)}%`;
        lines.push(gfm`| ${text(r.region)} | ${s.percent}% | ${s.requests} | ${failed} | ${p95} | ${gate} |`);
      }
    lines.push(gfm``);
    const failedProbes = stepped.flatMap((r) =>
      r.outcome!.steps.flatMap((s) =>
        s.failedProbes.map((what) => gfm`- ${text(r.region)}, ${s.percent}%: ${code(what)}`),
      ),
    );
    if (failedProbes.length) lines.push(gfm`Failed probes:`, gfm``, ...failedProbes, gfm``);
  }
  const pruned = report.regions.filter((r) => r.outcome?.pruned.length);
  if (pruned.length) {
    lines.push(gfm`**Idle revisions deleted** (\`keep_revisions\`)`, gfm``);
    for (const r of pruned)
      lines.push(
        gfm`- ${text(r.region)}: ${join(
          r.outcome!.pruned.map((n) => code(n)),
          ', ',
        )}`,
      );
    lines.push(gfm``);
  }
  const failed = report.regions.filter((r) => r.failure);
  if (failed.length) {
    lines.push(gfm`**What failed**`, gfm``);
    for (const r of failed) {
      // The first line says what went wrong; the rest (the fix, what was undone) is kept as written.
      const [first = '', ...more] = r.failure!.split('\n');
      lines.push(gfm`- **${text(r.region)}**: ${text(first, 1000)}`);
      if (more.length) lines.push(codeBlock(more.join('\n'), 2));
      const o = r.outcome;
      const rolledBack = o?.rolledBack ? gfm`rolled back; ` : gfm``;
      lines.push(o ? gfm`  - ${rolledBack}serving now: ${split(o.traffic)}` : gfm`  - nothing was changed`);
      if (o?.logs) lines.push(...failureLogs(o.logs));
    }
    lines.push(gfm``);
  }
  lines.push(gfm`**Traffic before → after**`, gfm``);
  for (const r of report.regions) {
    const o = r.outcome;
    const region = text(r.region);
    lines.push(
      o ? gfm`- ${region}: ${split(o.trafficBefore)} → ${split(o.traffic)}` : gfm`- ${region}: unchanged`,
    );
  }
  const planned = report.regions.filter((r) => r.outcome?.plan.length);
  if (planned.length) {
    lines.push(gfm``, gfm`<details><summary>Plan</summary>`, gfm``);
    for (const r of planned) {
      lines.push(gfm`${text(r.region)}:`, gfm``);
      for (const [i, step] of r.outcome!.plan.entries()) lines.push(gfm`${i + 1}. ${text(step)}`);
      lines.push(gfm``);
    }
    lines.push(gfm`</details>`);
  }
  lines.push(gfm``, gfm`**Timeline**`, gfm``, gfm`| stage | duration |`, gfm`| --- | --- |`);
  const failedMark = (ok: boolean): Markdown => (ok ? gfm`` : gfm` ❌`);
  for (const s of report.stages) lines.push(gfm`| ${text(s.name)}${failedMark(s.ok)} | ${seconds(s.ms)} |`);
  for (const r of report.regions) {
    for (const s of r.outcome?.timeline ?? [])
      lines.push(gfm`| ${text(r.region)}: ${text(s.name)}${failedMark(s.ok)} | ${seconds(s.ms)} |`);
  }
  const image = code(report.image);
  const commit = code(report.sha.slice(0, 12));
  lines.push(gfm``, gfm`Image ${image} · commit ${commit} · ${link(report.runUrl, gfm`run`)}`);
  return join(lines);
}

/** A preview's clean-up, for the job summary and the PR comment. */
export function renderCleanup(report: CleanupReport): Markdown {
  const ok = report.regions.every((r) => !r.failure);
  const verdict = ok ? gfm`🧹 removed` : gfm`❌ not fully removed`;
  const lines = [
    gfm`### Runway: ${code(report.service)} preview ${code(report.preview.tag)} ${verdict}`,
    gfm``,
    gfm`Pull request #${report.preview.pullRequest} is closed.`,
    gfm``,
    gfm`| region | preview tag | idle revisions deleted |`,
    gfm`| --- | --- | --- |`,
  ];
  for (const r of report.regions) {
    const tag = r.failure
      ? gfm`❌ ${text(r.failure.split('\n')[0]!)}`
      : r.removed
        ? gfm`removed`
        : gfm`was already gone`;
    const pruned = r.pruned.length
      ? join(
          r.pruned.map((n) => code(n, { inTable: true })),
          ', ',
        )
      : gfm`—`;
    lines.push(gfm`| ${text(r.region)} | ${tag} | ${pruned} |`);
  }
  lines.push(gfm``, link(report.runUrl, gfm`run`));
  return join(lines);
}

/** A run that stopped before anything was deployed, and before a report could start. */
export interface EarlyFailure {
  /** The stage that stopped the run: reading the inputs, or signing in to Google Cloud. */
  stage: 'inputs' | 'authenticate';
  /** The service, when its name is known to be one. */
  service: string | undefined;
  problems: Array<{ message: string; fix: string | undefined }>;
  sha: string;
  runUrl: string;
}

/** The job summary of a run stopped at its inputs or at authentication: what failed, and each fix. */
export function renderEarlyFailure(failure: EarlyFailure): Markdown {
  const what = failure.service ? gfm` ${code(failure.service)}` : gfm``;
  const where =
    failure.stage === 'inputs'
      ? gfm`at its inputs, before any call to Google Cloud`
      : gfm`before it could sign in to Google Cloud`;
  const count = failure.problems.length;
  const lines: Markdown[] = [
    gfm`### Runway:${what} ❌ failed at ${failure.stage === 'inputs' ? gfm`the inputs` : gfm`authentication`}`,
    gfm``,
    gfm`The run stopped ${where}: nothing was built, deployed or changed.`,
    gfm``,
    count > 1 ? gfm`**What failed** (${count} problems, each with its fix)` : gfm`**What failed**`,
    gfm``,
  ];
  for (const p of failure.problems) {
    // The first line says what went wrong; the rest, if any, is kept as written.
    const [first = '', ...more] = p.message.split('\n');
    lines.push(gfm`- ${text(first, 1000)}`);
    if (more.length) lines.push(codeBlock(more.join('\n'), 2));
    if (p.fix) lines.push(gfm`  - **Fix:** ${text(p.fix.replace(/\n/g, ' '), 1000)}`);
  }
  const commit = code(failure.sha.slice(0, 12));
  lines.push(gfm``, gfm`Commit ${commit} · ${link(failure.runUrl, gfm`run`)}`);
  return join(lines);
}
