// Outputs and the closing summary: what serves where, per region, and the step's verdict.
import * as core from '@actions/core';
import * as log from '../common/log.js';
import { describeError, describeErrorBriefly } from '../errors.js';
import type { PreviewTarget } from '../rollout/preview.js';
import type { RegionOutcome } from '../rollout/outcome.js';

function splitText(traffic: Record<string, number>): string {
  const parts = Object.entries(traffic).map(([revision, percent]) => `${revision} ${percent}%`);
  return parts.length ? parts.join(', ') : 'nothing';
}

/** One line per region saying exactly where traffic goes now. */
export function summaryLine(o: RegionOutcome): string {
  const verdict = o.healthy === undefined ? 'not checked' : o.healthy ? 'healthy' : 'UNHEALTHY';
  const rolled = o.rolledBack ? ' — rolled back' : '';
  return `${o.region}: ${verdict}${rolled}; serving ${splitText(o.traffic)}${o.url ? ` at ${o.url}` : ''}`;
}

/**
 * Sets every output from the regions' outcomes (the first region's for the single-valued ones)
 * and returns the failure message when any region failed, else undefined.
 */
export function writeOutputs(
  regions: string[],
  results: PromiseSettledResult<RegionOutcome>[],
  image: string,
  digest: string,
  preview: PreviewTarget | undefined,
): string | undefined {
  const outcomes = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const errors = results.flatMap((r, i) =>
    r.status === 'rejected' ? [`${regions[i]}: ${describeError(r.reason)}`] : [],
  );
  const first = outcomes.find((o) => o.region === regions[0]) ?? outcomes[0];

  core.setOutput('image', image);
  core.setOutput('digest', digest);
  if (first) {
    core.setOutput('url', first.url);
    core.setOutput('revision', first.revision);
    core.setOutput('previous_revision', first.previousRevision ?? '');
    core.setOutput('tag_url', first.tagUrl ?? '');
    core.setOutput('preview_url', preview ? (first.tagUrl ?? '') : '');
    core.setOutput('traffic', JSON.stringify(first.traffic));
    core.setOutput('containers', JSON.stringify(first.containers ?? {}));
  }
  const allHealthy = errors.length === 0 && outcomes.every((o) => o.healthy !== false);
  core.setOutput('healthy', String(allHealthy));
  core.setOutput(
    'regions',
    JSON.stringify(
      Object.fromEntries([
        ...outcomes.map((o) => [
          o.region,
          {
            url: o.url,
            revision: o.revision,
            healthy: o.healthy ?? null,
            traffic: o.traffic,
            rolled_back: o.rolledBack,
          },
        ]),
        ...results.flatMap((r, i) =>
          r.status === 'rejected'
            ? [[regions[i], { error: describeErrorBriefly(r.reason), healthy: false }]]
            : [],
        ),
      ]),
    ),
  );

  for (const o of outcomes) log.info(summaryLine(o));
  const failures = [...outcomes.filter((o) => o.failure).map((o) => `${o.region}: ${o.failure}`), ...errors];
  return failures.length ? failures.join('\n') : undefined;
}
