// The run as Markdown, for the job summary and the PR comment: a table per region (URL, revision,
// previous revision, digest, health with status and latency, traffic), what failed and what was
// rolled back, the exact traffic before and after, and a timeline of the stages. Pure.
import type { CheckRecord } from '../rollout/context.js';
import type { RegionReport, RunReport } from './report.js';

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

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

function regionRow(r: RegionReport, digest: string): string {
  const o = r.outcome;
  const url = o?.url ? `[${o.url}](${o.url})` : '—';
  return `| ${cell(r.region)} | ${url} | ${o ? `\`${o.revision}\`` : '—'} | ${o?.previousRevision ? `\`${o.previousRevision}\`` : '—'} | \`${digest.slice(0, 19)}\` | ${cell(health(o?.checks, r.failure ? false : o?.healthy))} | ${o ? split(o.traffic) : '—'} |`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function renderReport(report: RunReport, options: { heading?: boolean } = {}): string {
  const lines: string[] = [];
  if (options.heading ?? true) {
    lines.push(
      `### Runway: \`${report.service}\` ${report.healthy ? '✅ deployed and healthy' : '❌ failed'}`,
      '',
    );
  }
  lines.push(
    '| region | URL | revision | previous | digest | health | traffic now |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...report.regions.map((r) => regionRow(r, report.digest)),
    '',
  );
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
