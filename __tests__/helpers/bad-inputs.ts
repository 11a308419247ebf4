// The bad-input corpus (issue 10): every case is input a user could really write, wrong. Each must
// fail the step, name the input at fault, and change nothing. Two tests share it:
//   __tests__/unit/bad-input.test.ts runs every case the Inputs stage refuses (readSettings, and
//     previewTarget for the pull-request checks, as src/main.ts calls them) in-process: the
//     refusal comes before any credential is asked for, so nothing can have changed;
//   __tests__/e2e/bad-input.test.ts runs the cases marked `endToEnd` through the bundled action
//     against the emulator, and checks the request log shows no mutating request. Those are the
//     cases refused after the Inputs stage (`refusedLater`), and a few representative others.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';

export interface BadInputCase {
  /** What is wrong, as the test name. */
  what: string;
  /** Inputs over the deploy's defaults; the value 'REPO' stands for the emulator's repository. */
  inputs: Record<string, string>;
  /** The input the error must name. */
  names: string;
  /** Also run end to end, through the bundled action against the emulator. */
  endToEnd?: true;
  /** Refused after the Inputs stage (by a later check of the action's), so only end to end. */
  refusedLater?: true;
}

function file(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'runway-bad-'));
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

/** The checkout, which both tests give the action as GITHUB_WORKSPACE. */
const checkout = resolve(import.meta.dirname ?? '.', '..', '..');

/** The directories this module made in the checkout: only its own, so parallel files stay apart. */
const madeInCheckout: string[] = [];

/** Removes what the cases made in the checkout; a test file calls it in its afterAll. */
export function removeCheckoutFiles(): void {
  for (const dir of madeInCheckout.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * `name` in a fresh directory of the checkout (under the ignored .runway/), a symlink to `target`
 * when one is given; its path relative to the checkout, as a workflow would write it.
 */
function inCheckout(name: string, target?: string): string {
  mkdirSync(join(checkout, '.runway'), { recursive: true });
  const dir = mkdtempSync(join(checkout, '.runway', 'bad-input-'));
  madeInCheckout.push(dir);
  const path = join(dir, name);
  if (target) symlinkSync(target, path);
  else mkdirSync(path);
  return relative(checkout, path);
}

/** A build context in the checkout whose Dockerfile is a symlink to `target`. */
function contextWithLinkedDockerfile(target: string): string {
  const context = inCheckout('app');
  symlinkSync(target, join(checkout, context, 'Dockerfile'));
  return context;
}

const outsideDockerfile = (): string => file('Dockerfile', 'FROM scratch\n');

const long = (n: number): string => 'x'.repeat(n);

export const BAD_INPUTS: BadInputCase[] = [
  // Environment variables
  {
    what: 'a secret value alone where an entry belongs',
    inputs: { env_vars: 'A=1,hunter2' },
    names: 'env_vars',
  },
  { what: 'an entry with no key', inputs: { env_vars: '=value' }, names: 'env_vars' },
  { what: 'a dangling escape', inputs: { env_vars: 'A=b\\' }, names: 'env_vars' },
  { what: 'the reserved PORT', inputs: { env_vars: 'PORT=9000' }, names: 'env_vars', endToEnd: true },
  { what: 'the reserved K_SERVICE', inputs: { env_vars: 'K_SERVICE=x' }, names: 'env_vars' },
  { what: 'the reserved K_REVISION', inputs: { env_vars: 'K_REVISION=x' }, names: 'env_vars' },
  { what: 'the reserved K_CONFIGURATION', inputs: { env_vars: 'K_CONFIGURATION=x' }, names: 'env_vars' },
  { what: 'a name with "="', inputs: { env_vars: 'K\\=EY=v' }, names: 'env_vars' },
  { what: 'a name with a space', inputs: { env_vars: 'MY KEY=v' }, names: 'env_vars' },
  { what: 'a name with a control character', inputs: { env_vars: 'A\u0007B=1' }, names: 'env_vars' },
  { what: 'a value over 32 KiB', inputs: { env_vars: `BIG=${long(33 * 1024)}` }, names: 'env_vars' },
  {
    what: 'an unknown update strategy',
    inputs: { env_vars_update_strategy: 'replace' },
    names: 'env_vars_update_strategy',
  },
  // Secrets
  {
    what: 'a secret value where the reference belongs',
    inputs: { secrets: 'API_KEY=hunter2 is my password' },
    names: 'secrets',
    endToEnd: true,
  },
  {
    what: 'a secret version that is not a number',
    inputs: { secrets: 'API_KEY=api-key:first' },
    names: 'secrets',
  },
  { what: 'a secret env var named PORT', inputs: { secrets: 'PORT=api-key:1' }, names: 'secrets' },
  { what: 'a mount path with ..', inputs: { secrets: '/secrets/../etc/key=api-key:1' }, names: 'secrets' },
  { what: 'a relative mount path', inputs: { secrets: 'secrets/key=api-key:1' }, names: 'secrets' },
  { what: 'a mount at /', inputs: { secrets: '/key=api-key:1' }, names: 'secrets' },
  { what: 'a mount under /dev', inputs: { secrets: '/dev/key=api-key:1' }, names: 'secrets' },
  { what: 'a mount under /proc', inputs: { secrets: '/proc/key=api-key:1' }, names: 'secrets' },
  { what: 'a mount under /sys', inputs: { secrets: '/sys/key=api-key:1' }, names: 'secrets' },
  { what: 'a mount under /var/log', inputs: { secrets: '/var/log/key=api-key:1' }, names: 'secrets' },
  { what: 'a secret name with a slash', inputs: { secrets: 'A=team/key:1' }, names: 'secrets' },
  {
    what: 'a password where the secret name belongs',
    inputs: { secrets: 'DB_PASSWORD=S3cretPassw0rd' },
    names: 'secrets',
    endToEnd: true,
  },
  {
    what: 'a user:password pair where the secret reference belongs',
    inputs: { secrets: 'DB_CREDS=admin:S3cretPassw0rd' },
    names: 'secrets',
  },
  { what: 'a secret version 0', inputs: { secrets: 'API_KEY=api-key:0' }, names: 'secrets', endToEnd: true },
  {
    what: 'an unknown secrets strategy',
    inputs: { secrets_update_strategy: 'replace' },
    names: 'secrets_update_strategy',
  },
  // Regions and names
  {
    what: 'an unknown region',
    inputs: { region: 'mars-north1' },
    names: 'region',
    refusedLater: true,
    endToEnd: true,
  },
  { what: 'a region in capitals', inputs: { region: 'US-CENTRAL1' }, names: 'region' },
  {
    what: 'a well-formed region Cloud Run does not have',
    inputs: { region: 'europe-west99' },
    names: 'region',
    refusedLater: true,
    endToEnd: true,
  },
  { what: 'a service with an underscore', inputs: { service: 'my_service' }, names: 'service' },
  { what: 'a service with capitals', inputs: { service: 'MyService' }, names: 'service' },
  { what: 'a service starting with a digit', inputs: { service: '1service' }, names: 'service' },
  { what: 'a service ending with a hyphen', inputs: { service: 'service-' }, names: 'service' },
  { what: 'a service over 49 characters', inputs: { service: `s${long(49)}` }, names: 'service' },
  { what: 'a service with a newline', inputs: { service: 'hello\nworld' }, names: 'service' },
  { what: 'a suffix in capitals', inputs: { suffix: 'V2' }, names: 'suffix' },
  { what: 'a suffix that makes the revision name too long', inputs: { suffix: long(60) }, names: 'suffix' },
  { what: 'a tag with an underscore', inputs: { tag: 'my_tag', traffic: 'none' }, names: 'tag' },
  {
    what: 'a tag too long beside the service',
    inputs: { tag: `t${long(45)}`, traffic: 'none' },
    names: 'tag',
  },
  { what: 'a project id with a space', inputs: { project_id: 'my project' }, names: 'project_id' },
  // Conflicts
  { what: 'preview and cleanup together', inputs: { preview: 'true', cleanup: 'true' }, names: 'preview' },
  { what: 'preview with a tag', inputs: { preview: 'true', tag: 'x' }, names: 'preview', endToEnd: true },
  {
    what: 'preview with traffic: immediate',
    inputs: { preview: 'true', traffic: 'immediate' },
    names: 'preview',
  },
  {
    what: 'revision_traffic and tag_traffic together',
    inputs: { revision_traffic: 'LATEST=100', tag_traffic: 'a=100' },
    names: 'tag_traffic',
  },
  {
    what: 'no_traffic with traffic: immediate',
    inputs: { no_traffic: 'true', traffic: 'immediate' },
    names: 'no_traffic',
  },
  {
    what: 'update_traffic_flags without revision_traffic or tag_traffic',
    inputs: { update_traffic_flags: '--update-tags=stable=LATEST' },
    names: 'update_traffic_flags',
  },
  {
    what: 'update_traffic_flags with no_traffic',
    inputs: { revision_traffic: 'LATEST=100', update_traffic_flags: '--to-latest', no_traffic: 'true' },
    names: 'no_traffic',
  },
  {
    what: 'update_traffic_flags setting the split twice',
    inputs: { revision_traffic: 'LATEST=100', update_traffic_flags: '--to-tags=blue=100' },
    names: 'update_traffic_flags',
  },
  {
    what: 'a gcloud flag in update_traffic_flags that has its own input',
    inputs: { revision_traffic: 'LATEST=100', update_traffic_flags: '--region=europe-west1' },
    names: 'update_traffic_flags',
  },
  { what: 'image and context together', inputs: { context: '.' }, names: 'context' },
  { what: 'no image and no context', inputs: { image: '' }, names: 'image' },
  { what: 'a context without a repository', inputs: { image: '', context: '.' }, names: 'repository' },
  { what: 'a flag that means nothing without gcloud', inputs: { flags: '--async' }, names: 'flags' },
  {
    what: 'a split beside a deploy without traffic',
    inputs: { no_traffic: 'true', revision_traffic: 'LATEST=100' },
    names: 'revision_traffic',
  },
  {
    what: 'a flag that disagrees with its input',
    inputs: { tag: 'blue', flags: '--tag=green' },
    names: 'flags',
  },
  { what: 'an unknown flag', inputs: { flags: '--no-such-flag=1' }, names: 'flags' },
  {
    what: 'a volume of a type gcloud has not',
    inputs: { flags: '--add-volume name=a,type=secret' },
    names: 'flags',
  },
  {
    what: 'a GPU with too little CPU',
    inputs: { flags: '--gpu 1 --gpu-type nvidia-l4 --memory 16Gi --no-cpu-throttling', cpu: '2' },
    names: 'cpu',
  },
  { what: 'a flag and an input disagreeing', inputs: { flags: '--cpu=2', cpu: '1' }, names: 'cpu' },
  // Numbers and units
  { what: 'cpu 3', inputs: { cpu: '3' }, names: 'cpu' },
  {
    what: 'cpu below 1 with concurrency above 1',
    inputs: { cpu: '0.5', concurrency: '80' },
    names: 'concurrency',
  },
  { what: 'memory in terabytes', inputs: { memory: '1TB' }, names: 'memory' },
  { what: 'memory over 32 GiB', inputs: { memory: '64Gi' }, names: 'memory' },
  { what: 'memory under 128 MiB', inputs: { memory: '64Mi' }, names: 'memory' },
  { what: 'negative min_instances', inputs: { min_instances: '-1' }, names: 'min_instances' },
  { what: 'max_instances 0', inputs: { max_instances: '0' }, names: 'max_instances' },
  {
    what: 'min_instances above max_instances',
    inputs: { min_instances: '5', max_instances: '2' },
    names: 'min_instances',
  },
  { what: 'concurrency 1001', inputs: { concurrency: '1001' }, names: 'concurrency' },
  { what: 'concurrency 0', inputs: { concurrency: '0' }, names: 'concurrency' },
  { what: 'a timeout over 3600 s', inputs: { timeout: '3601s' }, names: 'timeout' },
  { what: 'a timeout of 0', inputs: { timeout: '0' }, names: 'timeout' },
  { what: 'a timeout in unknown units', inputs: { timeout: '5x' }, names: 'timeout' },
  { what: 'port 0', inputs: { port: '0' }, names: 'port' },
  { what: 'port 70000', inputs: { port: '70000' }, names: 'port' },
  { what: 'a port by name', inputs: { port: 'http' }, names: 'port' },
  {
    what: 'a health check timeout in words',
    inputs: { health_check_timeout: 'soon' },
    names: 'health_check_timeout',
  },
  {
    what: 'a health check interval under 100 ms',
    inputs: { health_check_interval: '10ms' },
    names: 'health_check_interval',
  },
  {
    what: 'zero health check successes',
    inputs: { health_check_successes: '0' },
    names: 'health_check_successes',
  },
  {
    what: 'an HTTP status that does not exist',
    inputs: { health_check_expected_status: '700' },
    names: 'health_check_expected_status',
  },
  {
    what: 'a health check path without a slash',
    inputs: { health_check_path: 'healthz' },
    names: 'health_check_path',
  },
  {
    what: 'a health check URL instead of a path',
    inputs: { health_check_path: 'https://evil.test/' },
    names: 'health_check_path',
  },
  {
    what: 'a health check path to another host',
    inputs: { health_check_path: '//other-host:8443/x' },
    names: 'health_check_path',
    endToEnd: true,
  },
  {
    what: 'a health check path to another host by backslash',
    inputs: { health_check_path: '/\\other-host/x' },
    names: 'health_check_path',
  },
  {
    what: 'a health check path to another host through a tab',
    inputs: { health_check_path: '/\t/other-host/x' },
    names: 'health_check_path',
  },
  { what: 'a negative deploy timeout', inputs: { deploy_timeout: '-5' }, names: 'deploy_timeout' },
  { what: 'negative keep_revisions', inputs: { keep_revisions: '-1' }, names: 'keep_revisions' },
  { what: 'keep_revisions over 1000', inputs: { keep_revisions: '1001' }, names: 'keep_revisions' },
  {
    what: 'keep_revisions_grace not a duration',
    inputs: { keep_revisions_grace: 'a while' },
    names: 'keep_revisions_grace',
  },
  { what: 'an unknown traffic mode', inputs: { traffic: 'sometimes' }, names: 'traffic' },
  {
    what: 'a split that does not add up to 100',
    inputs: { revision_traffic: 'LATEST=50' },
    names: 'revision_traffic',
  },
  {
    what: 'a split with a word for a percentage',
    inputs: { revision_traffic: 'LATEST=all' },
    names: 'revision_traffic',
  },
  { what: 'a tag share over 100', inputs: { tag_traffic: 'blue=150' }, names: 'tag_traffic' },
  // Files
  {
    what: 'an env file that is not YAML',
    inputs: { env_vars_file: file('env.yaml', 'MODE: prod\nTOKEN: "open\n') },
    names: 'env_vars_file',
  },
  {
    what: 'an env file that is a list',
    inputs: { env_vars_file: file('env.yaml', '- a\n- b\n') },
    names: 'env_vars_file',
  },
  {
    what: 'an env file with a number',
    inputs: { env_vars_file: file('env.yaml', 'RETRIES: 3\n') },
    names: 'env_vars_file',
  },
  {
    what: 'a service file with an annotation Runway cannot map',
    inputs: {
      service: '',
      metadata: file(
        'service.yaml',
        [
          'apiVersion: serving.knative.dev/v1',
          'kind: Service',
          'metadata: {name: bad-file}',
          'spec:',
          '  template:',
          "    metadata: {annotations: {autoscaling.knative.dev/target: '70'}}",
          '    spec: {containers: [{image: us-docker.pkg.dev/p/r/app:1}]}',
        ].join('\n'),
      ),
    },
    names: 'spec.template.metadata.annotations["autoscaling.knative.dev/target"]',
    endToEnd: true,
  },
  {
    what: 'a Job file as a service file',
    inputs: {
      service: '',
      metadata: file('job.yaml', 'apiVersion: run.googleapis.com/v1\nkind: Job\nmetadata: {name: nightly}\n'),
    },
    names: "Input 'metadata'",
  },
  {
    what: 'a service file that is not YAML',
    inputs: { service: '', metadata: file('service.yaml', 'kind: Service\n  spec: [\n') },
    names: "Input 'metadata'",
  },
  {
    what: 'a service file symlinked out of the workspace',
    inputs: {
      service: '',
      metadata: inCheckout('service.yaml', file('service.yaml', 'kind: Service\n')),
    },
    names: "Input 'metadata'",
  },
  {
    what: 'an env file that does not exist',
    inputs: { env_vars_file: '/nonexistent/env.yaml' },
    names: 'env_vars_file',
  },
  {
    what: 'an env file outside the workspace by ..',
    inputs: { env_vars_file: '../../../etc/passwd' },
    names: 'env_vars_file',
    endToEnd: true,
  },
  {
    what: 'a build context outside the workspace',
    inputs: { image: '', context: '../..', repository: 'REPO' },
    names: 'context',
    endToEnd: true,
  },
  {
    what: 'a Dockerfile outside the workspace',
    inputs: { image: '', context: '.', dockerfile: '../../etc/Dockerfile', repository: 'REPO' },
    names: 'dockerfile',
  },
  {
    what: 'an env file symlinked out of the workspace',
    inputs: { env_vars_file: inCheckout('app.env', file('secret.env', 'OUTSIDE=secret\n')) },
    names: 'env_vars_file',
    endToEnd: true,
  },
  {
    what: "the runner's /proc/self/environ as the env file",
    inputs: { env_vars_file: '/proc/self/environ' },
    names: 'env_vars_file',
    endToEnd: true,
  },
  {
    what: 'an env file symlinked to /proc/self/environ',
    inputs: { env_vars_file: inCheckout('environ.env', '/proc/self/environ') },
    names: 'env_vars_file',
  },
  {
    what: 'a Dockerfile symlinked out of the workspace',
    inputs: {
      image: '',
      context: '.',
      dockerfile: inCheckout('Dockerfile', outsideDockerfile()),
      repository: 'REPO',
    },
    names: 'dockerfile',
  },
  {
    what: "a context's own Dockerfile symlinked out of the workspace",
    inputs: { image: '', context: contextWithLinkedDockerfile(outsideDockerfile()), repository: 'REPO' },
    names: 'dockerfile',
    endToEnd: true,
  },
  {
    what: 'a build context symlinked out of the workspace',
    inputs: { image: '', context: inCheckout('context', dirname(outsideDockerfile())), repository: 'REPO' },
    names: 'context',
  },
  // Webhooks
  {
    what: 'a plain-http webhook',
    inputs: { webhook_url: 'http://example.com/hook' },
    names: 'webhook_url',
    endToEnd: true,
  },
  { what: 'an ftp webhook', inputs: { webhook_url: 'ftp://example.com/hook' }, names: 'webhook_url' },
  { what: 'a webhook that is not a URL', inputs: { webhook_url: 'not a url' }, names: 'webhook_url' },
  {
    what: 'a webhook with credentials in it',
    inputs: { webhook_url: 'https://user:pass@example.com/hook' },
    names: 'webhook_url',
  },
  {
    what: 'an unknown webhook_on',
    inputs: { webhook_url: 'https://example.com/h', webhook_on: 'sometimes' },
    names: 'webhook_on',
  },
  {
    what: 'an unknown webhook_failure',
    inputs: { webhook_url: 'https://example.com/h', webhook_failure: 'explode' },
    names: 'webhook_failure',
  },
  // Switches and choices
  {
    what: 'allow_unauthenticated yes',
    inputs: { allow_unauthenticated: 'yes' },
    names: 'allow_unauthenticated',
  },
  { what: 'cpu_boost maybe', inputs: { cpu_boost: 'maybe' }, names: 'cpu_boost' },
  { what: 'an unknown ingress', inputs: { ingress: 'public' }, names: 'ingress' },
  { what: 'an unknown vpc_egress', inputs: { vpc_egress: 'some' }, names: 'vpc_egress' },
  {
    what: 'execution environment gen3',
    inputs: { execution_environment: 'gen3' },
    names: 'execution_environment',
  },
  { what: 'a label key in capitals', inputs: { labels: 'Team=web' }, names: 'labels' },
  { what: 'a label key over 63 characters', inputs: { labels: `${long(64)}=v` }, names: 'labels' },
  { what: 'a label value with a space', inputs: { labels: 'team=web app' }, names: 'labels' },
  {
    what: 'a runtime account that is not an email',
    inputs: { runtime_service_account: 'runtime' },
    names: 'runtime_service_account',
  },
  {
    what: 'a deployer account that is not an email',
    inputs: { service_account: 'deployer' },
    names: 'service_account',
  },
  { what: 'an unknown comment mode', inputs: { comment: 'sometimes' }, names: 'comment' },
  {
    what: 'production_environment maybe',
    inputs: { production_environment: 'maybe' },
    names: 'production_environment',
  },
  { what: 'a 100 KiB service name', inputs: { service: long(100 * 1024) }, names: 'service', endToEnd: true },
];
