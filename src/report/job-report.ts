// A job deploy's outputs and job summary section: the job, its execution and the tasks' verdict,
// per region (the first region's for the single-valued outputs).
import * as core from '@actions/core';
import * as log from '../common/log.js';
import { describeError, describeErrorBriefly } from '../errors.js';
import { code, codeBlock, gfm, join, link, text, type Markdown } from '../common/markdown.js';
import { Untrusted } from '../common/untrusted.js';
import type { TimedStep } from '../common/timeline.js';
import type { JobOutcome } from '../deploy/job.js';
import { failureLogs } from './summary.js';

function taskLine(o: JobOutcome): string {
  if (!o.execution) return 'not executed';
  if (!o.tasks) return `execution ${o.execution} ${o.failure ? 'did not finish' : 'started'}`;
  const t = o.tasks;
  return `execution ${o.execution}: ${t.succeeded}/${t.total} task(s) succeeded, ${t.failed} failed, ${t.cancelled} cancelled`;
}

/** Sets the job outputs and returns the failure message when any region failed, else undefined. */
export function writeJobOutputs(
  regions: string[],
  results: PromiseSettledResult<JobOutcome>[],
  image: string,
  digest: string,
): string | undefined {
  const outcomes = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const errors = results.flatMap((r, i) =>
    r.status === 'rejected' ? [`${regions[i]}: ${describeError(r.reason)}`] : [],
  );
  const first = outcomes.find((o) => o.region === regions[0]) ?? outcomes[0];
  core.setOutput('image', image);
  core.setOutput('digest', digest);
  if (first) {
    core.setOutput('job', first.job);
    core.setOutput('execution', first.execution ?? '');
    core.setOutput('execution_url', first.executionUrl ?? '');
    core.setOutput('tasks_succeeded', first.tasks ? String(first.tasks.succeeded) : '');
    core.setOutput('tasks_failed', first.tasks ? String(first.tasks.failed) : '');
    core.setOutput('tasks_cancelled', first.tasks ? String(first.tasks.cancelled) : '');
  }
  core.setOutput(
    'regions',
    JSON.stringify(
      Object.fromEntries([
        ...outcomes.map((o) => [
          o.region,
          {
            job: o.job,
            execution: o.execution ?? null,
            execution_url: o.executionUrl ?? null,
            tasks_succeeded: o.tasks?.succeeded ?? null,
            tasks_failed: o.tasks?.failed ?? null,
            tasks_cancelled: o.tasks?.cancelled ?? null,
          },
        ]),
        ...results.flatMap((r, i) =>
          r.status === 'rejected' ? [[regions[i], { error: describeErrorBriefly(r.reason) }]] : [],
        ),
      ]),
    ),
  );
  for (const o of outcomes) log.info(`${o.region}: job ${o.job}; ${Untrusted.of(taskLine(o)).forLog(1000)}`);
  const failures = [...outcomes.filter((o) => o.failure).map((o) => `${o.region}: ${o.failure}`), ...errors];
  return failures.length ? failures.join('\n') : undefined;
}

/** One bullet per failed region: what failed, and the execution's own last lines when they were read. */
function jobFailures(regions: string[], results: PromiseSettledResult<JobOutcome>[]): Markdown[] {
  return results.flatMap((r, i) => {
    const region = text(regions[i] ?? '');
    if (r.status === 'rejected') {
      // The first line says what went wrong; the rest (the fix) is kept as written.
      const [first = '', ...more] = describeError(r.reason).split('\n');
      return [
        gfm`- **${region}**: ${text(first, 1000)}`,
        ...(more.length ? [codeBlock(more.join('\n'), 2)] : []),
      ];
    }
    const o = r.value;
    if (!o.failure) return [];
    return [gfm`- **${region}**: ${text(o.failure, 1000)}`, ...(o.logs ? failureLogs(o.logs) : [])];
  });
}

/** The job summary section of a job deploy. */
export function renderJobReport(
  job: string,
  image: string,
  regions: string[],
  results: PromiseSettledResult<JobOutcome>[],
  stages: readonly TimedStep[],
): Markdown {
  const rows = results.map((r, i) => {
    const region = text(regions[i] ?? '');
    if (r.status === 'rejected') return gfm`| ${region} | failed | ${text(describeErrorBriefly(r.reason))} |`;
    const o = r.value;
    const verdict = o.failure ? 'failed' : o.tasks ? 'succeeded' : o.execution ? 'started' : 'deployed';
    const execution =
      o.executionUrl && o.execution ? link(o.executionUrl, code(o.execution, { inTable: true })) : text('—');
    return gfm`| ${region} | ${text(verdict)} | ${execution} ${text(taskLine(o))} |`;
  });
  const timeline = stages.map((s) => gfm`- ${text(s.name)}: ${text(`${(s.ms / 1000).toFixed(1)}s`)}`);
  const failed = jobFailures(regions, results);
  return gfm`### Cloud Run job ${code(job)}

Image ${code(image)}

| Region | Result | Execution |
| --- | --- | --- |
${join(rows)}
${failed.length ? gfm`\n**What failed**\n\n${join(failed)}\n` : gfm``}
${join(timeline)}
`;
}
