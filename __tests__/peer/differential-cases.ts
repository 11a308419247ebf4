// The input sets of the differential tests (differential-shard.ts runs them): those deploy-cloudrun's
// own tests and README exercise, and the semantics issue 9 names. A case that comes out differently
// in the two actions declares how, with the id of its row in the table of differences in docs/migrating.md.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname ?? '.', '..', '..');

/** What the two actions are compared on. */
export type Aspect =
  | 'outcome'
  | 'url'
  | 'env'
  | 'secrets'
  | 'scaling'
  | 'resources'
  | 'container'
  | 'containers'
  | 'access'
  | 'revision'
  | 'labels'
  | 'traffic'
  | 'tags'
  | 'revisions'
  | 'execution'
  | 'volumes'
  | 'network'
  | 'gpu';

export interface Case {
  name: string;
  /**
   * One input set per deploy step, the inputs both actions share. In values, {image1}..{image3}
   * name the test images, {rev1} the service's first revision, {runtime} the runtime account,
   * {sideimage} a sidecar listening on 9000.
   */
  steps: Array<Record<string, string>>;
  /** A known difference: its row id in the table of differences in docs/migrating.md and the aspects it shows in. */
  differs?: { id: string; in: Aspect[] };
  /** Both actions refuse these inputs (at the same step). */
  refused?: true;
  /** A Cloud Run job case: each step is given `job` (not `service`); {jobimage} is a busybox `sh -c` image. */
  job?: true;
  /**
   * A Knative Service YAML (`metadata`), or with `job` a Cloud Run Job YAML: written for each side
   * with the side's service (or job) as its name, placeholders filled; {servicefile} is its path.
   */
  file?: Record<string, unknown>;
}

/** A service file both actions deploy public: `replace` takes no --allow-unauthenticated. */
const serviceFile = (
  containers: unknown[],
  annotations: Record<string, string> = {},
): Record<string, unknown> => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: {
    labels: { team: 'web' },
    annotations: {
      'run.googleapis.com/invoker-iam-disabled': 'true',
      'run.googleapis.com/description': 'a file',
    },
  },
  spec: {
    template: {
      metadata: { annotations: { 'autoscaling.knative.dev/maxScale': '3', ...annotations } },
      spec: { containerConcurrency: 25, timeoutSeconds: 90, containers },
    },
  },
});

/** A Job file (`kind: Job`) of two tasks, as `gcloud run jobs replace` takes it. */
const jobFile = (): Record<string, unknown> => ({
  apiVersion: 'run.googleapis.com/v1',
  kind: 'Job',
  metadata: { labels: { team: 'data' } },
  spec: {
    template: {
      metadata: { annotations: { 'run.googleapis.com/execution-environment': 'gen2' } },
      spec: {
        taskCount: 2,
        parallelism: 1,
        template: {
          spec: {
            containers: [
              {
                image: '{jobimage}',
                args: ['echo task $CLOUD_RUN_TASK_INDEX mode=$MODE'],
                env: [{ name: 'MODE', value: 'file' }],
              },
            ],
            maxRetries: 0,
            timeoutSeconds: 120,
          },
        },
      },
    },
  },
});

export const CASES: Case[] = [
  { name: 'image only', steps: [{ image: '{image1}' }] },
  {
    // deploy-cloudrun's integration workflow: escaped separators, env and file secrets, labels, flags.
    name: 'integration first deploy',
    steps: [
      {
        image: '{image1}',
        env_vars: 'FOO=bar\nZIP=zap\\,with|separators\\,and&stuff',
        secrets: 'MY_SECRET=diff-db:latest\nMY_SECOND_SECRET=diff-db:1',
        labels: 'label1=value1\nlabel2=value2',
        skip_default_labels: 'true',
        flags: '--cpu=2 --concurrency=20',
      },
    ],
  },
  {
    // ...and its second deploy: overwrite both, a secret mounted as a file, LATEST=100.
    name: 'integration redeploy with overwrite',
    steps: [
      { image: '{image1}', env_vars: 'FOO=bar', secrets: 'MY_SECRET=diff-db:latest' },
      {
        image: '{image2}',
        env_vars: 'ABC=123\nDEF=456',
        env_vars_update_strategy: 'overwrite',
        secrets: '/api/secrets/my-secret=diff-db:latest',
        secrets_update_strategy: 'overwrite',
        revision_traffic: 'LATEST=100',
      },
    ],
  },
  {
    name: 'env_vars and secrets merge',
    steps: [
      { image: '{image1}', env_vars: 'KEEP=1,CHANGE=old', secrets: '/secrets/a/key=diff-db:1' },
      { image: '{image2}', env_vars: 'CHANGE=new,ADD=2', secrets: 'DB=diff-db:2' },
    ],
  },
  {
    name: 'values with =, & and spaces',
    steps: [{ image: '{image1}', env_vars: 'URL=https://x.example/?a=b&c=d\n  PADDED =  kept inside  ' }],
  },
  {
    name: '{} with overwrite',
    steps: [
      { image: '{image1}', env_vars: 'A=1' },
      { image: '{image2}', env_vars: '{}', env_vars_update_strategy: 'overwrite' },
    ],
    differs: { id: 'empty-object-clears', in: ['env'] },
  },
  {
    name: 'an entry without =',
    steps: [{ image: '{image1}', env_vars: 'FOO' }],
    differs: { id: 'entry-without-equals', in: ['outcome'] },
  },
  {
    name: 'labels over the defaults',
    steps: [{ image: '{image1}', labels: 'commit-sha=custom-value,team=web' }],
  },
  {
    name: 'labels with --update-labels in flags',
    steps: [{ image: '{image1}', labels: 'team=web', flags: '--update-labels=tier=b' }],
  },
  {
    // gcloud refuses a key given twice with two values; Runway refuses it before any change.
    name: 'one label in labels and in --update-labels',
    steps: [{ image: '{image1}', labels: 'tier=a', flags: '--update-labels=tier=b' }],
    refused: true,
  },
  { name: 'timeout 55m12s', steps: [{ image: '{image1}', timeout: '55m12s' }] },
  { name: 'timeout in flags 1m30s', steps: [{ image: '{image1}', flags: '--timeout=1m30s' }] },
  { name: 'suffix', steps: [{ image: '{image1}', suffix: 'v1' }] },
  {
    name: 'scaling, resources and revision flags',
    steps: [
      {
        image: '{image1}',
        flags:
          '--memory=512Mi --cpu=1 --min-instances=1 --max-instances=3 --concurrency=8 --port=9090 --service-account={runtime} --execution-environment=gen2 --no-cpu-throttling --cpu-boost --ingress=all',
      },
    ],
  },
  {
    name: 'flags keep what the last deploy set',
    steps: [
      { image: '{image1}', flags: '--memory=512Mi --max-instances=3' },
      { image: '{image2}', flags: '--cpu=2' },
    ],
  },
  {
    name: '--set-env-vars replaces, where env_vars merges',
    steps: [
      { image: '{image1}', env_vars: 'OLD=1' },
      { image: '{image2}', flags: '--set-env-vars=NEW=2,OTHER=3' },
    ],
  },
  {
    name: '--add-cloudsql-instances adds',
    steps: [
      { image: '{image1}', flags: '--add-cloudsql-instances={project}:us-central1:one' },
      { image: '{image2}', flags: '--add-cloudsql-instances={project}:us-central1:two' },
    ],
  },
  {
    // deploy-cloudrun's README: a flag that holds another flag is quoted whole.
    name: 'a quoted --args',
    steps: [{ image: '{image1}', flags: '"--args=-X=123"' }],
  },
  {
    name: 'a flag Runway does not parse',
    steps: [{ image: '{image1}', flags: '--async' }],
    differs: { id: 'unparsed-flag', in: ['outcome'] },
  },
  {
    // gcloud takes deploy-cloudrun's inputs first and `flags` after: repeated --update- flags add up.
    name: 'flags that stand for inputs: --update-env-vars, --update-secrets, --revision-suffix, --labels',
    steps: [
      { image: '{image1}', env_vars: 'A=1', secrets: 'S=diff-db:1' },
      {
        image: '{image2}',
        env_vars: 'B=2',
        secrets: 'T=diff-db:2',
        skip_default_labels: 'true',
        flags:
          '--update-env-vars C=3 --update-secrets /s/key=diff-db:latest --revision-suffix v7 --labels team=web',
      },
    ],
  },
  {
    name: 'the image in --image, and --set-secrets replacing every secret',
    steps: [
      { image: '{image1}', secrets: 'S=diff-db:1,/s/key=diff-db:2' },
      { flags: '--image {image2} --set-secrets T=diff-db:latest' },
    ],
  },
  {
    name: 'tag with no_traffic',
    steps: [{ image: '{image1}' }, { image: '{image2}', tag: 'green', no_traffic: 'true' }],
    differs: { id: 'url-is-service-url', in: ['url'] },
  },
  {
    name: 'a deploy after a no_traffic deploy',
    steps: [{ image: '{image1}' }, { image: '{image2}', no_traffic: 'true' }, { image: '{image3}' }],
    differs: { id: 'pinned-gets-traffic', in: ['traffic'] },
  },
  {
    name: 'settings of a no_traffic deploy',
    steps: [
      { image: '{image1}', env_vars: 'A=1' },
      { image: '{image2}', env_vars: 'B=2', no_traffic: 'true' },
      { image: '{image3}', revision_traffic: 'LATEST=100' },
    ],
    differs: { id: 'no-traffic-settings-stay', in: ['env'] },
  },
  {
    name: 'revision_traffic with LATEST and a named revision',
    steps: [{ image: '{image1}' }, { image: '{image2}', revision_traffic: 'LATEST=50,{rev1}=50' }],
    differs: { id: 'split-by-name', in: ['traffic'] },
  },
  {
    name: 'tag_traffic',
    steps: [
      { image: '{image1}' },
      { image: '{image2}', tag: 'green', no_traffic: 'true' },
      { image: '{image3}', tag_traffic: 'green=100' },
    ],
    differs: { id: 'url-is-service-url', in: ['url'] },
  },
  {
    name: 'two regions',
    steps: [{ image: '{image1}', region: 'us-central1,europe-west1' }],
    differs: { id: 'regions', in: ['outcome'] },
  },
  {
    // deploy-cloudrun users give every image in `flags`: gcloud refuses `--image` (its `image`
    // input) beside --container. The next deploy's image goes to the ingress container only.
    name: 'sidecar with --container: the new image to the ingress container',
    steps: [
      {
        flags:
          '--container=app --image={image1} --port=8080 --depends-on=side --memory=512Mi --container=side --image={sideimage} --startup-probe=tcpSocket.port=9000,periodSeconds=1,failureThreshold=30 --update-env-vars=ROLE=side',
      },
      { image: '{image2}' },
      {
        flags:
          '--container=app --image={image3} --port=8080 --container=side --image={sideimage} --cpu=1 --memory=256Mi',
      },
    ],
  },
  {
    name: "a sidecar's secrets and mounts after --container: set, updated in place, removed",
    steps: [
      {
        flags:
          '--add-volume=name=mem,type=in-memory --container=app --image={image1} --port=8080 --depends-on=side --add-volume-mount=volume=mem,mount-path=/scratch ' +
          '--container=side --image={sideimage} --startup-probe=tcpSocket.port=9000,periodSeconds=1,failureThreshold=30 ' +
          '--set-secrets=SIDE_TOKEN=diff-db:1,/side/secret/key=diff-db:latest --add-volume-mount=volume=mem,mount-path=/cache',
      },
      {
        flags:
          '--container=app --image={image2} --port=8080 --container=side --image={sideimage} ' +
          '--update-secrets=OTHER=diff-db:2,/side/secret/extra=diff-db:2 --remove-secrets=SIDE_TOKEN --remove-volume-mount=/cache',
      },
      {
        flags:
          '--container=app --image={image3} --port=8080 --container=side --image={sideimage} ' +
          '--update-secrets=/side/more/key=diff-db:1 --remove-secrets=/side/secret/key',
      },
    ],
  },
  {
    name: "a sidecar's secrets and mounts after --container: cleared",
    steps: [
      {
        flags:
          '--add-volume=name=mem,type=in-memory --container=app --image={image1} --port=8080 --depends-on=side ' +
          '--container=side --image={sideimage} --startup-probe=tcpSocket.port=9000,periodSeconds=1,failureThreshold=30 ' +
          '--set-secrets=SIDE_TOKEN=diff-db:1,/side/secret/key=diff-db:latest --add-volume-mount=volume=mem,mount-path=/cache',
      },
      {
        flags:
          '--container=app --image={image3} --port=8080 --container=side --image={sideimage} --clear-secrets --clear-volume-mounts',
      },
    ],
  },
  {
    name: 'startup and liveness probes',
    steps: [
      {
        image: '{image1}',
        flags:
          '--startup-probe=httpGet.path=/,httpGet.port=8080,periodSeconds=1,failureThreshold=20,timeoutSeconds=1 --liveness-probe=httpGet.path=/,periodSeconds=30,failureThreshold=3',
      },
      {
        image: '{image2}',
        flags: '--liveness-probe="" --startup-probe=tcpSocket.port=8080,initialDelaySeconds=1',
      },
    ],
  },
  {
    name: 'invoker IAM check off, then on again',
    steps: [
      { image: '{image1}', flags: '--no-invoker-iam-check --description=open' },
      { image: '{image2}', flags: '--invoker-iam-check' },
    ],
  },
  {
    name: 'custom audiences set, added to, then removed from',
    steps: [
      { image: '{image1}', flags: '--set-custom-audiences=https://a.example,https://b.example' },
      { image: '{image2}', flags: '--add-custom-audiences=https://c.example' },
      { image: '{image3}', flags: '--remove-custom-audiences=https://a.example' },
    ],
  },
  {
    // gcloud's mutually exclusive group; Runway refuses it too, before any change.
    name: 'two custom-audiences flags at once',
    steps: [
      {
        image: '{image1}',
        flags: '--add-custom-audiences=https://c.example --remove-custom-audiences=https://a.example',
      },
    ],
    refused: true,
  },
  {
    name: 'remove flags: env vars, labels, Cloud SQL, session affinity',
    steps: [
      {
        image: '{image1}',
        env_vars: 'A=1,B=2',
        labels: 'x=1,y=2',
        flags:
          '--add-cloudsql-instances={project}:us-central1:one,{project}:us-central1:two --session-affinity',
      },
      {
        image: '{image2}',
        flags:
          '--remove-env-vars=A --remove-labels=x --remove-cloudsql-instances={project}:us-central1:one --no-session-affinity',
      },
    ],
  },
  {
    name: 'clear flags: env vars, labels, Cloud SQL, custom audiences',
    steps: [
      {
        image: '{image1}',
        env_vars: 'A=1,B=2',
        labels: 'x=1',
        flags: '--add-cloudsql-instances={project}:us-central1:one --add-custom-audiences=https://a.example',
      },
      {
        image: '{image2}',
        flags: '--clear-env-vars --clear-labels --clear-cloudsql-instances --clear-custom-audiences',
      },
    ],
  },
  // Cloud Run jobs (deploy-cloudrun's `job`, `gcloud run jobs deploy`): labels replace, secrets replace.
  {
    name: 'job deployed and waited on',
    job: true,
    steps: [
      {
        image: '{jobimage}',
        env_vars: 'FOO=bar',
        labels: 'team=data',
        flags: '--tasks=2 --max-retries=0 --task-timeout=5m "--args=echo hello"',
        wait: 'true',
      },
    ],
  },
  {
    name: 'job redeployed: env merged, labels and secrets replaced',
    job: true,
    steps: [
      {
        image: '{jobimage}',
        env_vars: 'FOO=bar',
        secrets: 'MY_SECRET=diff-db:1',
        labels: 'old=yes',
        flags: '"--args=echo one"',
      },
      {
        image: '{jobimage}',
        env_vars: 'ABC=123',
        secrets: 'OTHER_SECRET=diff-db:latest',
        labels: 'new=yes',
        flags: '--parallelism=1 --execute-now',
      },
    ],
  },
  {
    name: 'job whose task fails',
    job: true,
    steps: [{ image: '{jobimage}', flags: '--max-retries=0 "--args=exit 3"', wait: 'true' }],
    refused: true,
  },
  // gcloud's volume flags (GA types), beside a secret file from `secrets`: added, then some removed
  // and one added, then all cleared.
  {
    name: 'volumes: in-memory, Cloud Storage and NFS, with a secret file',
    steps: [
      {
        image: '{image1}',
        secrets: '/etc/sec/key=diff-db:1',
        flags:
          '--add-volume name=mem,type=in-memory,size-limit=64Mi --add-volume name=bkt,type=cloud-storage,bucket=my-bucket,readonly=true ' +
          '--add-volume name=share,type=nfs,location=10.0.0.2:/exports/a --add-volume-mount volume=mem,mount-path=/cache --add-volume-mount volume=bkt,mount-path=/data',
      },
      {
        image: '{image2}',
        flags:
          '--remove-volume-mount /data --remove-volume bkt --add-volume name=n2,type=nfs,location=10.0.0.3:/e,readonly=true ' +
          '--add-volume-mount volume=n2,mount-path=/n2 --add-volume-mount volume=mem,mount-path=/tmp/mem',
      },
      { image: '{image3}', flags: '--clear-volume-mounts --clear-volumes' },
    ],
  },
  {
    // Cloud Run refuses a mount of a volume the revision does not have; Runway refuses it first.
    // (Within one deploy gcloud removes before it adds, so --remove-volume cannot leave one behind.)
    name: 'volumes: a mount of a volume the service does not have',
    steps: [{ image: '{image1}', flags: '--add-volume-mount volume=none,mount-path=/x' }],
    refused: true,
  },
  // Direct VPC egress: set, changed part by part, then cleared (the egress setting with it).
  {
    name: 'Direct VPC: --network, --subnet, --network-tags, then --clear-network',
    steps: [
      {
        image: '{image1}',
        flags: '--network default --subnet default --network-tags a,b --vpc-egress all-traffic',
      },
      { image: '{image2}', flags: '--subnet other --network-tags c' },
      { image: '{image3}', flags: '--clear-network' },
    ],
  },
  {
    // From a Serverless VPC Access connector to Direct VPC egress.
    name: 'Direct VPC: --clear-vpc-connector with --network',
    steps: [
      { image: '{image1}', flags: '--vpc-connector c1 --vpc-egress private-ranges-only' },
      { image: '{image2}', flags: '--clear-vpc-connector --network default' },
    ],
  },
  {
    // Cloud Run takes one and only one of a connector and a network interface.
    name: 'Direct VPC: --vpc-egress with neither a network nor a connector',
    steps: [{ image: '{image1}', flags: '--vpc-egress all-traffic' }],
    refused: true,
  },
  // A GPU with Cloud Run's minimums, kept across a deploy that changes memory and zonal redundancy, then dropped.
  {
    name: 'GPU: --gpu, --gpu-type, --[no-]gpu-zonal-redundancy, then --gpu 0',
    steps: [
      {
        image: '{image1}',
        flags:
          '--gpu 1 --gpu-type nvidia-l4 --no-gpu-zonal-redundancy --cpu 4 --memory 16Gi --no-cpu-throttling --max-instances 3',
      },
      { image: '{image2}', flags: '--gpu-zonal-redundancy --memory 20Gi' },
      { image: '{image3}', flags: '--gpu 0' },
    ],
  },
  {
    name: 'GPU: too little CPU',
    steps: [
      { image: '{image1}', flags: '--gpu 1 --gpu-type nvidia-l4 --cpu 2 --memory 16Gi --no-cpu-throttling' },
    ],
    refused: true,
  },
  // update_traffic_flags: deploy-cloudrun appends it to `gcloud run services update-traffic SERVICE
  // --to-revisions=revision_traffic` (or --to-tags=tag_traffic), run after the deploy.
  {
    name: 'update_traffic_flags: --to-revisions beside revision_traffic',
    steps: [
      { image: '{image1}' },
      {
        image: '{image2}',
        revision_traffic: 'LATEST=50',
        update_traffic_flags: '--to-revisions={rev1}=50',
      },
    ],
    differs: { id: 'split-by-name', in: ['traffic'] },
  },
  {
    name: 'update_traffic_flags: --update-tags and --remove-tags',
    steps: [
      { image: '{image1}', tag: 'blue' },
      {
        image: '{image2}',
        revision_traffic: 'LATEST=100',
        update_traffic_flags: '--remove-tags=blue --update-tags=stable={rev1},canary=LATEST',
      },
    ],
    differs: { id: 'url-is-service-url', in: ['url'] },
  },
  {
    // The tags change first, so --to-tags names the tags --set-tags gives; every other tag goes.
    name: 'update_traffic_flags: --set-tags with --to-tags over tag_traffic',
    steps: [
      { image: '{image1}', tag: 'blue' },
      {
        image: '{image2}',
        tag: 'green',
        tag_traffic: 'next=100',
        update_traffic_flags: '--set-tags=next=LATEST,blue={rev1} --to-tags=blue=0',
      },
    ],
    differs: { id: 'url-is-service-url', in: ['url'] },
  },
  {
    // --clear-tags takes the deploy's own `tag` too: no tag is left, so both `url`s are the service's.
    name: 'update_traffic_flags: --clear-tags',
    steps: [
      { image: '{image1}', tag: 'blue' },
      {
        image: '{image2}',
        tag: 'green',
        revision_traffic: 'LATEST=100',
        update_traffic_flags: '--clear-tags',
      },
    ],
  },
  {
    // gcloud takes one of --to-latest, --to-revisions (revision_traffic), --to-tags.
    name: 'update_traffic_flags: --to-latest beside revision_traffic',
    steps: [{ image: '{image1}', revision_traffic: 'LATEST=100', update_traffic_flags: '--to-latest' }],
    refused: true,
  },
  {
    name: 'update_traffic_flags: a key revision_traffic gives again in --to-revisions',
    steps: [
      { image: '{image1}', revision_traffic: 'LATEST=100', update_traffic_flags: '--to-revisions=LATEST=50' },
    ],
    refused: true,
  },
  {
    name: 'update_traffic_flags without revision_traffic or tag_traffic',
    steps: [
      { image: '{image1}' },
      { image: '{image2}', update_traffic_flags: '--update-tags=stable=LATEST' },
    ],
    differs: { id: 'traffic-flags-alone', in: ['outcome'] },
  },
  {
    name: 'metadata: a service YAML',
    file: serviceFile(
      [{ image: '{image1}', env: [{ name: 'MODE', value: 'file' }], ports: [{ containerPort: 8080 }] }],
      {
        'run.googleapis.com/cpu-throttling': 'false',
      },
    ),
    steps: [{ metadata: '{servicefile}' }],
  },
  {
    name: 'metadata with image and env_vars',
    file: serviceFile(
      [
        {
          name: 'side',
          image: '{sideimage}',
          startupProbe: { tcpSocket: { port: 9000 }, periodSeconds: 1, failureThreshold: 30 },
        },
        { name: 'app', image: '{image1}', ports: [{ containerPort: 8080 }] },
      ],
      { 'run.googleapis.com/container-dependencies': '{"app":["side"]}' },
    ),
    steps: [{ metadata: '{servicefile}', image: '{image2}', env_vars: 'ADDED=1' }],
    differs: { id: 'metadata-inputs-on-top', in: ['containers'] },
  },
  { name: 'metadata: a job YAML', job: true, file: jobFile(), steps: [{ metadata: '{servicefile}' }] },
  {
    // deploy-cloudrun's `gcloud run jobs replace` drops the inputs, `wait` too: its job never runs.
    name: 'metadata: a job YAML with env_vars and wait',
    job: true,
    file: jobFile(),
    steps: [{ metadata: '{servicefile}', env_vars: 'ADDED=1', wait: 'true' }],
    differs: { id: 'metadata-inputs-on-top', in: ['env', 'execution'] },
  },
  {
    // gcloud writes them as v1 annotations (the emulator maps them to the v2 fields), Runway sets
    // the fields; --clear-key takes the key and both shutdown settings away in either. No
    // --breakglass: gcloud's next deploy drops the justification, Runway's keeps it (open).
    name: 'Binary Authorization and CMEK flags, then --clear-key',
    steps: [
      {
        image: '{image1}',
        flags:
          '--binary-authorization=default --key=projects/{project}/locations/us-central1/keyRings/ring/cryptoKeys/key --post-key-revocation-action-type=shut-down --encryption-key-shutdown-hours=2',
      },
      { image: '{image2}', flags: '--clear-key' },
    ],
  },
];

/** The ids of docs/migrating.md's "differences" table (between its markers), first column in backticks. */
export function documentedDifferences(): string[] {
  const doc = readFileSync(resolve(root, 'docs', 'migrating.md'), 'utf8');
  const table = /<!-- differences:start -->([\s\S]*?)<!-- differences:end -->/.exec(doc)?.[1];
  if (!table)
    throw new Error('docs/migrating.md has no <!-- differences:start --> … <!-- differences:end --> table');
  return [...table.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]!);
}
