// The run as Markdown, for the job summary and the PR comment: a table per region (URL, revision,
// previous revision, digest, health with status and latency, traffic), what failed and what was
// rolled back, the exact traffic before and after, and a timeline of the stages. Pure.
import type { CheckRecord } from '../rollout/outcome.js';
import type { CleanupReport, RegionReport, RunReport } from './report.js';

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Text shown as code, in one line. */
const codeSpan = (text: string): string => `\`${text.replace(/`/g, "'").replace(/\n/g, ' ')}\``;

function split(traffic: Record<string, number> | undefined): string {
  const parts = Object.entries(traffic ?? {}).map(([revision, percent]) => `\`${revision}\` ${percent}%`);
  return parts.length ? parts.join(', ') : 'nothing';
}

function health(checks: CheckRecord[] | undefined, healthy: boolean | undefined): string {
  const last = checks?.at(-1);
  const verdict = healthy === false ? '❌ unhealthy' : healthy ? '✅ healthy' : 'not checked';
  if (!last?.last) return verdict;
  const probe = last.last;
  const answer = probe.error ? probe.error : `HTTP ${probe.status}`;
  return `${verdict} (${answer}, ${probe.latencyMs} ms, ${last.on === 'tag' ? 'tag URL' : 'service URL'})`;
}

function link(url: string | undefined): string {
  return url ? `[${url}](${url})` : '—';
}

function regionRow(r: RegionReport, digest: string, preview: boolean): string {
  const o = r.outcome;
  const url = link(preview ? o?.tagUrl : o?.url);
  return `| ${cell(r.region)} | ${url} | ${o ? `\`${o.revision}\`` : '—'} | ${o?.previousRevision ? `\`${o.previousRevision}\`` : '—'} | \`${digest.slice(0, 19)}\` | ${cell(health(o?.checks, r.failure ? false : o?.healthy))} | ${o ? split(o.traffic) : '—'} |`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function renderReport(report: RunReport, options: { heading?: boolean } = {}): string {
  const lines: string[] = [];
  if (options.heading ?? true) {
    const what = report.preview
      ? `\`${report.service}\` preview \`${report.preview.tag}\``
      : `\`${report.service}\``;
    lines.push(`### Runway: ${what} ${report.healthy ? '✅ deployed and healthy' : '❌ failed'}`, '');
  }
  if (report.preview) {
    lines.push(
      `Preview of #${report.preview.pullRequest} on its tag \`${report.preview.tag}\`, with no production traffic.`,
      '',
    );
  }
  lines.push(
    `| region | ${report.preview ? 'preview URL' : 'URL'} | revision | previous | digest | health | traffic now |`,
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...report.regions.map((r) => regionRow(r, report.digest, report.preview !== undefined)),
    '',
  );
  const stepped = report.regions.filter((r) => r.outcome?.steps.length);
  if (stepped.length) {
    lines.push(
      '**Traffic steps** (`traffic_steps`)',
      '',
      '| region | share | probes | failed | p95 | gate |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const r of stepped)
      for (const s of r.outcome!.steps)
        lines.push(
          `| ${cell(r.region)} | ${s.percent}% | ${s.requests} | ${s.errorRate.toFixed(1)}% | ${s.p95Ms === undefined ? '—' : `${s.p95Ms} ms`} | ${s.passed ? '✅ passed' : '❌ failed'} |`,
        );
    lines.push('');
    const failedProbes = stepped.flatMap((r) =>
      r.outcome!.steps.flatMap((s) =>
        s.failedProbes.map((what) => `- ${r.region}, ${s.percent}%: ${codeSpan(what)}`),
      ),
    );
    if (failedProbes.length) lines.push('Failed probes:', '', ...failedProbes, '');
  }
  const pruned = report.regions.filter((r) => r.outcome?.pruned.length);
  if (pruned.length) {
    lines.push('**Idle revisions deleted** (`keep_revisions`)', '');
    for (const r of pruned)
      lines.push(`- ${r.region}: ${r.outcome!.pruned.map((n) => `\`${n}\``).join(', ')}`);
    lines.push('');
  }
  const failed = report.regions.filter((r) => r.failure);
  if (failed.length) {
    lines.push('**What failed**', '');
    for (const r of failed) {
      lines.push(`- **${r.region}**: ${cell(r.failure!)}`);
      const o = r.outcome;
      lines.push(
        o
          ? `  - ${o.rolledBack ? 'rolled back; ' : ''}serving now: ${split(o.traffic)}`
          : '  - nothing was changed',
      );
    }
    lines.push('');
  }
  lines.push('**Traffic before → after**', '');
  for (const r of report.regions) {
    if (r.outcome)
      lines.push(`- ${r.region}: ${split(r.outcome.trafficBefore)} → ${split(r.outcome.traffic)}`);
    else lines.push(`- ${r.region}: unchanged`);
  }
  const planned = report.regions.filter((r) => r.outcome?.plan.length);
  if (planned.length) {
    lines.push('', '<details><summary>Plan</summary>', '');
    for (const r of planned) {
      lines.push(`${r.region}:`, '');
      for (const [i, step] of r.outcome!.plan.entries()) lines.push(`${i + 1}. ${cell(step)}`);
      lines.push('');
    }
    lines.push('</details>');
  }
  lines.push('', '**Timeline**', '', '| stage | duration |', '| --- | --- |');
  for (const s of report.stages) lines.push(`| ${cell(s.name)}${s.ok ? '' : ' ❌'} | ${seconds(s.ms)} |`);
  for (const r of report.regions) {
    for (const s of r.outcome?.timeline ?? [])
      lines.push(`| ${cell(r.region)}: ${cell(s.name)}${s.ok ? '' : ' ❌'} | ${seconds(s.ms)} |`);
  }
  lines.push(
    '',
    `Image \`${report.image}\` · commit \`${report.sha.slice(0, 12)}\` · [run](${report.runUrl})`,
  );
  return lines.join('\n');
}

/** A preview's clean-up, for the job summary and the PR comment. */
export function renderCleanup(report: CleanupReport): string {
  const ok = report.regions.every((r) => !r.failure);
  const lines = [
    `### Runway: \`${report.service}\` preview \`${report.preview.tag}\` ${ok ? '🧹 removed' : '❌ not fully removed'}`,
    '',
    `Pull request #${report.preview.pullRequest} is closed.`,
    '',
    '| region | preview tag | idle revisions deleted |',
    '| --- | --- | --- |',
  ];
  for (const r of report.regions) {
    const tag = r.failure
      ? `❌ ${cell(r.failure.split('\n')[0]!)}`
      : r.removed
        ? 'removed'
        : 'was already gone';
    lines.push(`| ${cell(r.region)} | ${tag} | ${r.pruned.map((n) => `\`${n}\``).join(', ') || '—'} |`);
  }
  lines.push('', `[run](${report.runUrl})`);
  return lines.join('\n');
}
