// The bad-input corpus (helpers/bad-inputs.ts), in-process: each case goes through the Inputs stage
// exactly as src/main.ts runs it — inputs read with core.getInput from INPUT_* variables, then
// readSettings, then previewTarget for a preview or cleanup — in the environment the end-to-end
// runs give the action (the emulator's pull_request event, the checkout as GITHUB_WORKSPACE). Each
// must be refused there, so before any credential is asked for and anything can change, with the
// message the step fails with naming the input. The cases refused only later run end to end
// (e2e/bad-input.test.ts), as do a few representative others.
import * as core from '@actions/core';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describeError } from '../../src/errors.js';
import { eventFromEnv } from '../../src/inputs/event.js';
import { readSettings } from '../../src/inputs/inputs.js';
import { previewTarget } from '../../src/rollout/preview.js';
import { DEFAULTS } from '../../emulator/seed.js';
import { BAD_INPUTS, removeCheckoutFiles, type BadInputCase } from '../helpers/bad-inputs.js';

const root = resolve(import.meta.dirname ?? '.', '..', '..');
/** Where the emulator's Artifact Registry would be; only its form matters before any request. */
const repository = `127.0.0.1:5000/${DEFAULTS.projectId}/${DEFAULTS.repositoryName}`;

/** What helpers/action.ts's deployImage gives every bad-input run, before the case's own inputs. */
const deployInputs: Record<string, string> = {
  project_id: DEFAULTS.projectId,
  workload_identity_provider: DEFAULTS.providerName,
  service_account: DEFAULTS.deployer,
  service: 'e2e-bad-input',
  image: `${repository}/bad-input@sha256:${'0'.repeat(64)}`,
  allow_unauthenticated: 'true',
  health_check_timeout: '20s',
  health_check_successes: '2',
};

let eventDir: string;
const saved = { ...process.env };

beforeAll(() => {
  // The pull_request event the emulator writes to GITHUB_EVENT_PATH (emulator/emulator.ts).
  eventDir = mkdtempSync(join(tmpdir(), 'runway-bad-event-'));
  const eventPath = join(eventDir, 'event.json');
  const repo = { full_name: DEFAULTS.repository };
  writeFileSync(
    eventPath,
    JSON.stringify({
      action: 'synchronize',
      number: DEFAULTS.pullRequest,
      pull_request: {
        number: DEFAULTS.pullRequest,
        head: { sha: DEFAULTS.sha, ref: 'feature', repo },
        base: { ref: 'main', repo },
      },
    }),
  );
  Object.assign(process.env, {
    GITHUB_WORKSPACE: root,
    GITHUB_REPOSITORY: DEFAULTS.repository,
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: eventPath,
  });
});

afterAll(() => {
  removeCheckoutFiles();
  rmSync(eventDir, { recursive: true, force: true });
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
});

/** src/main.ts's Inputs stage with these INPUT_* variables; the message the step fails with, if any. */
function inputsStage(inputs: Record<string, string>): string | undefined {
  for (const name of Object.keys(process.env)) if (name.startsWith('INPUT_')) delete process.env[name];
  for (const [name, value] of Object.entries(inputs)) process.env[`INPUT_${name.toUpperCase()}`] = value;
  try {
    const read = readSettings((name) => core.getInput(name));
    if (read.purpose !== 'deploy') previewTarget(read.purpose, read.service, eventFromEnv());
    return undefined;
  } catch (err) {
    return describeError(err);
  }
}

const withRepository = (c: BadInputCase): Record<string, string> =>
  Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, v === 'REPO' ? repository : v]));

describe('bad input is refused by the Inputs stage, naming the input', () => {
  it(`has at least 80 cases (${BAD_INPUTS.length}), each checked here or end to end`, () => {
    expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(80);
    expect(BAD_INPUTS.filter((c) => c.refusedLater && !c.endToEnd).map((c) => c.what)).toEqual([]);
    expect(new Set(BAD_INPUTS.map((c) => c.what)).size).toBe(BAD_INPUTS.length);
  });

  it('the same inputs without the mistake pass the Inputs stage (the cases fail for their own reason)', () => {
    expect(inputsStage(deployInputs)).toBeUndefined();
  });

  it.each(BAD_INPUTS.filter((c) => !c.refusedLater))('$what', ({ names, ...c }) => {
    const refused = inputsStage({ ...deployInputs, ...withRepository({ names, ...c }) });
    expect(refused).toBeDefined();
    expect(refused).toContain(names);
  });

  it.each(BAD_INPUTS.filter((c) => c.refusedLater))('$what passes the Inputs stage (refused later)', (c) => {
    expect(inputsStage({ ...deployInputs, ...withRepository(c) })).toBeUndefined();
  });
});
