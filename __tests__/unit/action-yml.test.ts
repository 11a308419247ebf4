// action.yml is the Marketplace face: every input it declares is read, nothing undeclared is read,
// and deploy-cloudrun's names are all there so its users can switch by changing `uses:`.
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { existsSync, readFileSync } from 'node:fs';
import { DEPLOY_CLOUDRUN_ONLY, readSettings } from '../../src/inputs/inputs.js';

const root = resolve(import.meta.dirname ?? '.', '..', '..');
const action = parse(readFileSync(resolve(root, 'action.yml'), 'utf8')) as {
  inputs: Record<string, { default?: string; required?: boolean }>;
  outputs: Record<string, unknown>;
  runs: { using: string; main: string; post?: string };
};

describe('action.yml', () => {
  it('runs on node24 from dist/, with a post step that removes the registry login', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js', post: 'dist/post/index.js' });
  });

  it('declares exactly the inputs readSettings reads', () => {
    const read = new Set<string>();
    readSettings((name) => {
      read.add(name);
      const defaults: Record<string, string> = { service: 'svc', context: '.', repository: 'h.io/p/r' };
      return defaults[name] ?? action.inputs[name]?.default ?? '';
    });
    expect([...read].sort()).toEqual(
      [...Object.keys(action.inputs), ...Object.keys(DEPLOY_CLOUDRUN_ONLY)].sort(),
    );
  });

  it("declares every input of deploy-cloudrun's released action.yml, or refuses or ignores it on purpose", () => {
    const peer =
      process.env.RUNWAY_PEER_DEPLOY_CLOUDRUN ??
      resolve(root, '..', 'shared', 'peers', 'deploy-cloudrun-v3.0.1');
    const file = resolve(peer, 'action.yml');
    if (!existsSync(file)) {
      console.log(`skipped: no deploy-cloudrun action.yml at ${file} (set RUNWAY_PEER_DEPLOY_CLOUDRUN)`);
      return;
    }
    const theirs = Object.keys((parse(readFileSync(file, 'utf8')) as { inputs: object }).inputs);
    expect(theirs.length).toBeGreaterThan(20);
    const unaccounted = theirs.filter((name) => !(name in action.inputs) && !(name in DEPLOY_CLOUDRUN_ONLY));
    expect(unaccounted).toEqual([]);
  });

  it('refuses deploy-cloudrun inputs it has no equivalent for, naming them, and ignores harmless ones', () => {
    const base: Record<string, string> = { service: 'svc', image: 'us-docker.pkg.dev/p/r/i:1' };
    const settings = (extra: Record<string, string>) => () =>
      readSettings((name) => extra[name] ?? base[name] ?? action.inputs[name]?.default ?? '');
    expect(settings({ metadata: 'no-such-service.yaml' })).toThrow(
      /Input 'metadata' is invalid: got "no-such-service.yaml"/,
    );
    // Supported since issue 21, but only where deploy-cloudrun runs it: with a split input.
    expect(settings({ update_traffic_flags: '--update-tags=a=LATEST' })).toThrow(
      "Input 'update_traffic_flags' is given without `revision_traffic` or `tag_traffic`",
    );
    expect(settings({ gcloud_version: '528.0.0', wait: 'true' })).not.toThrow();
  });

  it("keeps deploy-cloudrun's input names", () => {
    const deployCloudrun = [
      'service',
      'image',
      'region',
      'project_id',
      'env_vars',
      'env_vars_update_strategy',
      'secrets',
      'secrets_update_strategy',
      'labels',
      'skip_default_labels',
      'tag',
      'suffix',
      'timeout',
      'no_traffic',
      'revision_traffic',
      'tag_traffic',
      'flags',
    ];
    for (const name of deployCloudrun) expect(Object.keys(action.inputs)).toContain(name);
  });

  it('declares the outputs the action sets', () => {
    expect(Object.keys(action.outputs).sort()).toEqual(
      [
        'url',
        'revision',
        'previous_revision',
        'image',
        'digest',
        'tag_url',
        'healthy',
        'traffic',
        'containers',
        'regions',
        'preview_url',
        'job',
        'execution',
        'execution_url',
        'tasks_succeeded',
        'tasks_failed',
        'tasks_cancelled',
      ].sort(),
    );
  });
});
