// A workspace holding one `metadata` file (a fresh one before each test, as GITHUB_WORKSPACE), and
// the inputs read over it as the action reads them: what the Service-file and Job-file unit tests
// share.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describeError } from '../../src/errors.js';
import { readSettings, type Settings } from '../../src/inputs/inputs.js';

export interface MetadataWorkspace {
  /** Writes `doc` as the file, in place of the one the test began with. */
  write(doc: unknown): void;
  /** The inputs read as the action reads them (`region` us-central1 unless given). */
  settings(inputs: Record<string, string>): Settings;
  /** The error reading the inputs ends in, as the log shows it; throws when they are accepted. */
  fails(inputs: Record<string, string>): string;
}

/** Registers the workspace's hooks in the calling `describe`; `file` holds `doc()` before each test. */
export function metadataWorkspace(file: string, doc: () => unknown): MetadataWorkspace {
  let workspace = '';
  const saved = process.env.GITHUB_WORKSPACE;
  const write = (d: unknown): void => writeFileSync(join(workspace, file), stringify(d));
  beforeEach(() => {
    workspace = mkdtempSync(join(tmpdir(), 'runway-ws-'));
    write(doc());
    process.env.GITHUB_WORKSPACE = workspace;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.GITHUB_WORKSPACE;
    else process.env.GITHUB_WORKSPACE = saved;
  });
  const settings = (inputs: Record<string, string>): Settings =>
    readSettings((name) => inputs[name] ?? (name === 'region' ? 'us-central1' : ''));
  const fails = (inputs: Record<string, string>): string => {
    try {
      settings(inputs);
    } catch (err) {
      return describeError(err);
    }
    throw new Error('accepted');
  };
  return { write, settings, fails };
}
