// Drop-in, proven by differential tests: each input set runs through deploy-cloudrun (the peer,
// helpers/peer.ts) and through Runway against the emulator, each on a fresh service, and the
// resulting Service resources are read back through the v2 API and compared: env vars, secrets,
// scaling, resources, revision settings, labels (less `managed-by` and `commit-sha`), traffic and
// tags, and the `url` output. The input sets are those deploy-cloudrun's own tests and README
// exercise, and the semantics issue 9 names. Every difference is either fixed or declared here
// with the id of its row in the README's migration table; the last test checks that the table and
// the results agree both ways.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { admin, env } from '../helpers/emulator.js';
import { accessTokenFor } from '../helpers/auth.js';
import { deployImage, type ActionRun } from '../helpers/action.js';
import { getService, type ServiceJson } from '../helpers/cloudrun.js';
import { pushTestImage } from '../helpers/images.js';
import { peerSuite, runPeer, type PeerRun } from '../helpers/peer.js';
// JSON with sorted keys: the order fields come back in means nothing.
import { canonical } from '../../emulator/run/model.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const suite = peerSuite('deploy-cloudrun differential suite');
const root = resolve(import.meta.dirname ?? '.', '..', '..');

/** What the two actions are compared on. */
type Aspect =
  | 'outcome'
  | 'url'
  | 'env'
  | 'secrets'
  | 'scaling'
  | 'resources'
  | 'container'
  | 'revision'
  | 'labels'
  | 'traffic'
  | 'tags'
  | 'revisions';

interface Case {
  name: string;
  /**
   * One input set per deploy step, the inputs both actions share. In values, {image1}..{image3}
   * name the test images, {rev1} the service's first revision, {runtime} the runtime account.
   */
  steps: Array<Record<string, string>>;
  /** A known difference: its row id in the README's migration table and the aspects it shows in. */
  differs?: { id: string; in: Aspect[] };
  /** Both actions refuse these inputs (at the same step). */
  refused?: true;
}

const CASES: Case[] = [
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
    steps: [{ image: '{image1}', flags: '--description=hello' }],
    differs: { id: 'unparsed-flag', in: ['outcome'] },
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
];

// ---- reading a Service into what is compared ------------------------------------------------

const DEFAULT_LABELS = new Set(['managed-by', 'commit-sha']);

function userLabels(labels: Json | undefined): Json {
  return Object.fromEntries(Object.entries(labels ?? {}).filter(([k]) => !DEFAULT_LABELS.has(k)));
}

const short = (name: string | undefined): string => name?.split('/').pop() ?? '';

async function revisionsOf(service: string, region: string): Promise<Json[]> {
  const url = `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/projects/${env('RUNWAY_EMULATOR_PROJECT')}/locations/${region}/services/${service}/revisions?pageSize=100`;
  const res = await fetch(url, { headers: { authorization: `Bearer ${await accessTokenFor()}` } });
  if (!res.ok) throw new Error(`revisions of ${service}: ${res.status} ${await res.text()}`);
  const revisions = ((await res.json()) as Json).revisions as Json[] | undefined;
  return (revisions ?? []).sort((a, b) =>
    a.createTime === b.createTime
      ? String(a.name).localeCompare(String(b.name))
      : String(a.createTime).localeCompare(String(b.createTime)),
  );
}

/** The Service as both actions should leave it, revisions named by the order they were created. */
async function shapeOf(service: string, region: string): Promise<Record<Aspect, unknown> | undefined> {
  const s = await getService(service, region);
  if (!s) return undefined;
  const revisions = await revisionsOf(service, region);
  const ordinal = new Map(revisions.map((r, i) => [short(r.name), `rev${i + 1}`]));
  const named = (revision: string | undefined): string => ordinal.get(revision ?? '') ?? `?${revision}`;
  const template = s.template as Json;
  const container = (template.containers as Json[])[0]!;
  const volumes = (template.volumes as Json[] | undefined) ?? [];

  const env: Json = {};
  const secretEnv: Json = {};
  for (const e of (container.env as Json[] | undefined) ?? []) {
    const ref = e.valueSource?.secretKeyRef;
    if (ref) secretEnv[e.name] = `${ref.secret}:${ref.version ?? 'latest'}`;
    else env[e.name] = e.value ?? '';
  }
  const secretFiles: Json = {};
  const cloudsql: string[] = [];
  for (const mount of (container.volumeMounts as Json[] | undefined) ?? []) {
    const volume = volumes.find((v) => v.name === mount.name);
    if (!volume) continue;
    for (const item of volume.secret?.items ?? [])
      secretFiles[`${mount.mountPath}/${item.path}`] = `${volume.secret.secret}:${item.version ?? 'latest'}`;
    if (volume.cloudSqlInstance) cloudsql.push(...(volume.cloudSqlInstance.instances as string[]));
  }

  const latest = short(s.latestReadyRevision);
  const split: Json = {};
  const tags: Json = {};
  for (const t of s.trafficStatuses ?? []) {
    const isLatest = t.type === 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST';
    const revision = named(isLatest ? latest : t.revision);
    if (t.percent) split[revision] = (split[revision] ?? 0) + t.percent;
    if (t.tag) tags[t.tag] = revision;
  }
  const followsLatest = (s.traffic ?? []).some(
    (t) => t.type === 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST' && (t.percent ?? 0) > 0,
  );
  const autoName = new RegExp(`^${service}-\\d{5}-[a-z0-9]{3}$`);
  return {
    outcome: 'deployed',
    url: undefined,
    env,
    secrets: { env: secretEnv, files: secretFiles },
    scaling: template.scaling ?? {},
    resources: container.resources ?? {},
    container: { ports: container.ports, command: container.command, args: container.args },
    revision: {
      concurrency: template.maxInstanceRequestConcurrency,
      timeout: template.timeout,
      serviceAccount: template.serviceAccount,
      executionEnvironment: template.executionEnvironment,
      cloudsql,
      ingress: s.ingress,
    },
    labels: { service: userLabels(s.labels), revision: userLabels(template.labels as Json) },
    traffic: { split, followsLatest },
    tags,
    // Cloud Run's own names (SERVICE-NNNNN-xyz) differ by nature; a suffix is compared.
    revisions: revisions.map((r) =>
      autoName.test(short(r.name)) ? 'auto' : short(r.name).slice(service.length + 1),
    ),
  };
}

/** What the `url` output names: the service URL, a tag's URL, or something else. */
function urlKind(url: string | undefined, s: ServiceJson | undefined): string {
  if (!url) return 'none';
  if (s?.uri === url) return 'service';
  const tag = s?.trafficStatuses?.find((t) => t.uri === url)?.tag;
  return tag ? `tag ${tag}` : 'other';
}

// ---- running a case through one action --------------------------------------------------------

interface Outcome {
  shape: Record<Aspect, unknown> | undefined;
  failed?: string;
  log: string;
}

function fill(value: string, vars: Record<string, string>): string {
  return value.replace(/\{(\w+)\}/g, (m, name: string) => vars[name] ?? m);
}

async function runCase(
  c: Case,
  service: string,
  images: string[],
  deploy: (inputs: Record<string, string>) => Promise<PeerRun | ActionRun>,
): Promise<Outcome> {
  const vars: Record<string, string> = {
    image1: images[0]!,
    image2: images[1]!,
    image3: images[2]!,
    runtime: env('RUNWAY_EMULATOR_RUNTIME_SERVICE_ACCOUNT'),
    project: env('RUNWAY_EMULATOR_PROJECT'),
  };
  let log = '';
  let url: string | undefined;
  for (const [i, step] of c.steps.entries()) {
    const inputs = Object.fromEntries(Object.entries(step).map(([k, v]) => [k, fill(v, vars)]));
    const run = await deploy({ service, ...inputs });
    log += `--- step ${i + 1}: ${JSON.stringify(inputs)}\n${run.stdout}\n${run.stderr}\n`;
    if (run.exitCode !== 0) return { shape: undefined, failed: `step ${i + 1}`, log };
    url = run.outputs.url;
    if (i === 0) vars.rev1 = short((await getService(service))?.latestCreatedRevision);
  }
  const region = (c.steps[0]!.region ?? 'us-central1').split(',')[0]!;
  const shape = await shapeOf(service, region);
  if (shape) shape.url = urlKind(url, await getService(service, region));
  return { shape, log };
}

/** The aspects in which the two outcomes differ. */
function differences(peer: Outcome, runway: Outcome): Aspect[] {
  if (peer.failed || runway.failed) return peer.failed === runway.failed ? [] : ['outcome'];
  return (Object.keys(peer.shape!) as Aspect[]).filter(
    (aspect) => canonical(peer.shape![aspect]) !== canonical(runway.shape![aspect]),
  );
}

/** The ids of the README's "differences" table (between its markers), first column in backticks. */
function readmeDifferences(): string[] {
  const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
  const table = /<!-- differences:start -->([\s\S]*?)<!-- differences:end -->/.exec(readme)?.[1];
  if (!table) throw new Error('README.md has no <!-- differences:start --> … <!-- differences:end --> table');
  return [...table.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]!);
}

suite('deploy-cloudrun and Runway on the same inputs', () => {
  let images: string[];
  const observed = new Map<string, Aspect[]>();

  beforeAll(async () => {
    await admin.seed({
      secrets: [
        {
          project: env('RUNWAY_EMULATOR_PROJECT'),
          name: 'diff-db',
          versions: [{ data: 'first' }, { data: 'second' }],
        },
      ],
    });
    images = await Promise.all(
      ['one', 'two', 'three'].map((n) => pushTestImage(`diff-${n}`, `differential ${n}`)),
    );
  });

  it.each(CASES.map((c, i) => [c.name, i] as const))('%s', async (_name, index) => {
    const c = CASES[index]!;
    const base = `diff-${index + 1}`;
    // Both services are public (deployImage gives Runway allow_unauthenticated), so Runway's health
    // checks need no ID token; who may invoke a service is not compared.
    const [peer, runway] = await Promise.all([
      runCase(c, `${base}-p`, images, (inputs) =>
        runPeer({ ...inputs, flags: `${inputs.flags ?? ''} --allow-unauthenticated`.trim() }),
      ),
      runCase(c, `${base}-r`, images, (inputs) => deployImage(inputs.service!, inputs.image!, inputs)),
    ]);
    const found = differences(peer, runway);
    observed.set(c.name, found);
    const detail = found.map(
      (aspect) =>
        `${aspect}:\n  deploy-cloudrun: ${canonical(peer.shape?.[aspect] ?? peer.failed)}\n  Runway:          ${canonical(runway.shape?.[aspect] ?? runway.failed)}`,
    );
    const context = `${c.name}\n${detail.join('\n')}\n\ndeploy-cloudrun:\n${peer.log}\nRunway:\n${runway.log}`;
    if (JSON.stringify(found) !== JSON.stringify(c.differs?.in ?? [])) throw new Error(context);
    // A case that is the same either deployed in both, or both refused it, as it says.
    if (!c.differs)
      expect([peer.failed, runway.failed]).toEqual(c.refused ? ['step 1', 'step 1'] : [undefined, undefined]);
  });

  it("the README's table of differences lists exactly the differences observed", () => {
    expect(observed.size).toBe(CASES.length);
    // Every case that differed declared its difference (its own test checks that).
    const seen = new Set(CASES.filter((c) => observed.get(c.name)?.length).map((c) => c.differs?.id));
    expect([...new Set(readmeDifferences())].sort()).toEqual([...seen].sort());
  });
});
