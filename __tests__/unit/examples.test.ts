// The example workflows are what users copy: every Runway step in them (and in the repository's own
// workflows) uses only inputs and outputs that action.yml declares, and every example job asks for
// its permissions explicitly, with id-token: write wherever Runway authenticates itself.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { workflowFiles } from '../../scripts/actionlint.js';

const root = resolve(import.meta.dirname ?? '.', '..', '..');
const action = parse(readFileSync(join(root, 'action.yml'), 'utf8')) as {
  inputs: Record<string, { required?: boolean }>;
  outputs: Record<string, unknown>;
};

interface Step {
  id?: string;
  uses?: string;
  with?: Record<string, unknown>;
}
interface Job {
  permissions?: Record<string, string> | string | undefined;
  steps?: Step[];
}

const isRunway = (step: Step): boolean => step.uses === './' || /^runway\/runway@/.test(step.uses ?? '');

/** The workflow's jobs, each with the permissions it runs with (its own, or the workflow's). */
function jobsOf(file: string): Array<[string, Job]> {
  const workflow = parse(readFileSync(join(root, file), 'utf8')) as {
    permissions?: Job['permissions'];
    jobs: Record<string, Job>;
  };
  return Object.entries(workflow.jobs).map(([name, job]) => [
    name,
    { ...job, permissions: job.permissions ?? workflow.permissions },
  ]);
}

const files = workflowFiles(root);
const examples = files.filter((f) => f.startsWith('examples/'));

describe('example workflows', () => {
  it.each(files)('%s gives Runway only inputs action.yml declares, and reads only its outputs', (file) => {
    for (const [name, job] of jobsOf(file)) {
      const runwaySteps = (job.steps ?? []).filter(isRunway);
      for (const step of runwaySteps) {
        const given = Object.keys(step.with ?? {});
        expect({ job: name, unknown: given.filter((i) => !(i in action.inputs)) }).toEqual({
          job: name,
          unknown: [],
        });
        const required = Object.keys(action.inputs).filter((i) => action.inputs[i]!.required);
        expect(required.filter((i) => !given.includes(i))).toEqual([]);
      }
      const ids = new Set(runwaySteps.map((s) => s.id).filter(Boolean));
      const read = [...JSON.stringify(job).matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g)]
        .filter((m) => ids.has(m[1]!))
        .map((m) => m[2]!);
      expect(read.filter((o) => !(o in action.outputs))).toEqual([]);
    }
  });

  it.each(examples)('%s sets permissions explicitly, with id-token: write where Runway signs in', (file) => {
    for (const [, job] of jobsOf(file)) {
      expect(typeof job.permissions).toBe('object');
      const authenticates = (job.steps ?? []).some(
        (s) =>
          s.uses?.startsWith('google-github-actions/auth@') ||
          (isRunway(s) && s.with?.workload_identity_provider !== undefined),
      );
      if (authenticates) expect((job.permissions as Record<string, string>)['id-token']).toBe('write');
    }
  });
});
