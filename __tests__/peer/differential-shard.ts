// Drop-in, proven by differential tests: each input set (differential-cases.ts) runs through
// deploy-cloudrun (the peer, helpers/peer.ts) and through Runway against the emulator, each on a fresh
// service, and the resulting Service resources are read back through the v2 API and compared: env
// vars, secrets, scaling, resources, revision settings, volumes, Direct VPC, GPU, labels (less
// `managed-by` and `commit-sha`), traffic and tags, and the `url` output. Every difference is either fixed or declared with the id of
// its row in the table of differences in docs/migrating.md. The cases are split over the test files
// differential-1.test.ts … differential-N.test.ts (helpers/shards.ts), which Jest runs side by side,
// each against its own emulator. Each case checks that it differs exactly as it declares, each part
// that what it observed is in the README's table, and unit/shards.test.ts that the table lists
// exactly what the cases declare and that the parts run every case once: together, the table and
// the results agree both ways.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { admin, env } from '../helpers/emulator.js';
import { accessTokenFor } from '../helpers/auth.js';
import { authInputs, deployImage, runAction, type ActionRun } from '../helpers/action.js';
import { getService, type ServiceJson } from '../helpers/cloudrun.js';
import { pushJobImage, pushTestImage } from '../helpers/images.js';
import { peerSuite, runPeer, type PeerRun } from '../helpers/peer.js';
import { shardItems, shardOf } from '../helpers/shards.js';
// JSON with sorted keys: the order fields come back in means nothing.
import { canonical } from '../../emulator/run/model.js';
import { CASES, documentedDifferences, type Aspect, type Case } from './differential-cases.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

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

/** A container's env split into plain variables (name → value) and secret ones (name → SECRET:VERSION). */
function envOf(container: Json): { env: Json; secretEnv: Json } {
  const env: Json = {};
  const secretEnv: Json = {};
  for (const e of (container.env as Json[] | undefined) ?? []) {
    const ref = e.valueSource?.secretKeyRef;
    if (ref) secretEnv[e.name] = `${ref.secret}:${ref.version ?? 'latest'}`;
    else env[e.name] = e.value ?? '';
  }
  return { env, secretEnv };
}

/**
 * What one container gets of its env and the template's volumes: plain and secret env vars, secret
 * files (by path; volume names are each action's own), and its other mounts (by path).
 */
function contentsOf(container: Json, volumes: Json[]): Json {
  const { env, secretEnv } = envOf(container);
  const secretFiles: Json = {};
  const otherMounts: Json = {};
  for (const mount of (container.volumeMounts as Json[] | undefined) ?? []) {
    const volume = volumes.find((v) => v.name === mount.name);
    if (!volume?.secret && !volume?.cloudSqlInstance) otherMounts[mount.mountPath] = mount.name;
    if (!volume) continue;
    for (const item of volume.secret?.items ?? [])
      secretFiles[`${mount.mountPath}/${item.path}`] = `${volume.secret.secret}:${item.version ?? 'latest'}`;
  }
  return { env, secretEnv, secretFiles, otherMounts };
}

/**
 * Every container's probes and dependencies; with sidecars, also each one's name and image (which
 * container the new image went to), and its env, secrets and mounts. A lone container's name is
 * Cloud Run's to choose.
 */
function containersOf(containers: Json[], volumes: Json[]): Json[] {
  const several = containers.length > 1;
  return containers.map((c) => ({
    ...(several ? { name: c.name, image: c.image, ...contentsOf(c, volumes) } : {}),
    ports: several ? c.ports : undefined,
    dependsOn: c.dependsOn,
    startupProbe: c.startupProbe,
    livenessProbe: c.livenessProbe,
  }));
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

  const { env, secretEnv } = envOf(container);
  const secretFiles: Json = {};
  const cloudsql: string[] = [];
  // Volumes other than secrets and Cloud SQL (compared as such above), by name, and their mounts by path.
  const otherVolumes: Json = {};
  for (const { name, ...source } of volumes)
    if (!source.secret && !source.cloudSqlInstance) otherVolumes[name as string] = source;
  const otherMounts: Json = {};
  for (const mount of (container.volumeMounts as Json[] | undefined) ?? []) {
    const volume = volumes.find((v) => v.name === mount.name);
    if (!volume?.secret && !volume?.cloudSqlInstance) otherMounts[mount.mountPath] = mount.name;
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
    containers: containersOf(template.containers as Json[], volumes),
    access: {
      invokerIamDisabled: s.invokerIamDisabled ?? false,
      customAudiences: s.customAudiences ?? [],
      description: s.description,
      sessionAffinity: template.sessionAffinity ?? false,
      binaryAuthorization: s.binaryAuthorization,
    },
    revision: {
      concurrency: template.maxInstanceRequestConcurrency,
      timeout: template.timeout,
      serviceAccount: template.serviceAccount,
      executionEnvironment: template.executionEnvironment,
      cloudsql,
      ingress: s.ingress,
      encryptionKey: template.encryptionKey,
      encryptionKeyRevocationAction: template.encryptionKeyRevocationAction,
      encryptionKeyShutdownDuration: template.encryptionKeyShutdownDuration,
    },
    labels: { service: userLabels(s.labels), revision: userLabels(template.labels as Json) },
    traffic: { split, followsLatest },
    tags,
    // Cloud Run's own names (SERVICE-NNNNN-xyz) differ by nature; a suffix is compared.
    revisions: revisions.map((r) =>
      autoName.test(short(r.name)) ? 'auto' : short(r.name).slice(service.length + 1),
    ),
    execution: undefined,
    volumes: { volumes: otherVolumes, mounts: otherMounts },
    network: template.vpcAccess ?? {},
    gpu: {
      limit: container.resources?.limits?.['nvidia.com/gpu'],
      type: template.nodeSelector?.accelerator,
      zonalRedundancyDisabled: template.gpuZonalRedundancyDisabled,
    },
  };
}

async function getJob(job: string, region: string): Promise<Json | undefined> {
  const url = `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/projects/${env('RUNWAY_EMULATOR_PROJECT')}/locations/${region}/jobs/${job}`;
  const res = await fetch(url, { headers: { authorization: `Bearer ${await accessTokenFor()}` } });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`job ${job}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Json;
}

/** The Job as both actions should leave it, and how many executions it ran, in the same aspects. */
async function jobShapeOf(job: string, region: string): Promise<Record<Aspect, unknown> | undefined> {
  const j = await getJob(job, region);
  if (!j) return undefined;
  const execution = j.template as Json;
  const task = execution.template as Json;
  const container = (task.containers as Json[])[0]!;
  const { env, secretEnv } = envOf(container);
  // An execution started without waiting (--execute-now) may still run when the action returns:
  // compare how each ended, waiting (bounded) for those still going.
  let record: Json | undefined;
  for (let tries = 0; tries < 120; tries++) {
    const state = (await admin.state()) as Json;
    record = (state.run.jobs as Json[]).find((r) => r.name === j.name);
    const states = ((record?.executions ?? []) as Json[]).map((e) => e.state as string);
    if (!states.some((s) => s === 'running' || s === 'pending')) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  return {
    outcome: 'deployed',
    url: undefined,
    env,
    secrets: { env: secretEnv },
    scaling: { taskCount: execution.taskCount, parallelism: execution.parallelism },
    resources: container.resources ?? {},
    container: { command: container.command, args: container.args },
    revision: {
      timeout: task.timeout,
      maxRetries: task.maxRetries,
      serviceAccount: task.serviceAccount,
      executionEnvironment: task.executionEnvironment,
    },
    labels: { job: userLabels(j.labels as Json), execution: userLabels(execution.labels as Json) },
    containers: undefined,
    access: undefined,
    traffic: undefined,
    tags: undefined,
    revisions: undefined,
    execution: ((record?.executions ?? []) as Json[]).map((e) => e.state),
    volumes: undefined,
    network: undefined,
    gpu: undefined,
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

/** A case's service file for `service`, its placeholders filled, written outside the checkout. */
function writeServiceFile(doc: Json, service: string, vars: Record<string, string>): string {
  const filled = JSON.parse(JSON.stringify(doc), (_k, v: unknown) =>
    typeof v === 'string' ? fill(v, vars) : v,
  ) as Json;
  filled.metadata = { ...filled.metadata, name: service };
  const path = join(mkdtempSync(join(tmpdir(), 'runway-diff-')), 'service.yaml');
  writeFileSync(path, stringify(filled));
  return path;
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
    jobimage: images[3]!,
    sideimage: images[4]!,
    runtime: env('RUNWAY_EMULATOR_RUNTIME_SERVICE_ACCOUNT'),
    project: env('RUNWAY_EMULATOR_PROJECT'),
  };
  if (c.file) vars.servicefile = writeServiceFile(c.file, service, vars);
  let log = '';
  let url: string | undefined;
  for (const [i, step] of c.steps.entries()) {
    const inputs = Object.fromEntries(Object.entries(step).map(([k, v]) => [k, fill(v, vars)]));
    const run = await deploy(c.job ? { job: service, ...inputs } : { service, ...inputs });
    log += `--- step ${i + 1}: ${JSON.stringify(inputs)}\n${run.stdout}\n${run.stderr}\n`;
    if (run.exitCode !== 0) return { shape: undefined, failed: `step ${i + 1}`, log };
    url = run.outputs.url;
    if (i === 0 && !c.job) vars.rev1 = short((await getService(service))?.latestCreatedRevision);
  }
  const region = (c.steps[0]!.region ?? 'us-central1').split(',')[0]!;
  if (c.job) return { shape: await jobShapeOf(service, region), log };
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

/**
 * The peer's gcloud signs in with the deployer's credentials file through gcloud's
 * auth/credential_file_override property (in the emulator's env), not with the `gcloud auth login
 * --cred-file` the peer runs when an auth step left GOOGLE_GHA_CREDS_PATH: the same identity, one
 * gcloud process (about a CPU-second) fewer per step. What is compared is what the deploy leaves;
 * peer.test.ts runs the peer's own sign-in.
 */
const SIGNED_IN_BY_PROPERTY = { GOOGLE_GHA_CREDS_PATH: '' };

/**
 * A case runs deploy-cloudrun (gcloud) and Runway side by side, up to three steps each, beside
 * another case (it.concurrent): more than Jest's default 180 s on a loaded two-core machine.
 */
const CASE_TIMEOUT_MS = 360_000;

/** Runs the part of the cases that the test file `file` (import.meta.filename) is. */
export function differentialShard(file: string): void {
  const shard = shardOf(file);
  // Each case keeps its place in CASES: its services are diff-N-p and diff-N-r whichever part runs it.
  const cases = shardItems(
    CASES.map((c, i) => [c.name, i] as const),
    shard,
  );
  const part = `part ${shard.index} of ${shard.count}`;
  const suite = peerSuite(`deploy-cloudrun differential suite, ${part}`);

  suite(`deploy-cloudrun and Runway on the same inputs, ${part}`, () => {
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
      images = await Promise.all([
        ...['one', 'two', 'three'].map((n) => pushTestImage(`diff-${n}`, `differential ${n}`)),
        pushJobImage('diff-job'),
        pushTestImage('diff-side', 'sidecar', { listenPort: 9000 }),
      ]);
    });

    it.concurrent.each(cases)(
      '%s',
      async (_name, index) => {
        const c = CASES[index]!;
        const base = `diff-${index + 1}`;
        // Both services are public (deployImage gives Runway allow_unauthenticated), so Runway's health
        // checks need no ID token; who may invoke a service is not compared.
        const [peer, runway] = await Promise.all([
          runCase(c, `${base}-p`, images, (inputs) =>
            runPeer(
              // First: after a --container, gcloud reads every flag as that container's.
              c.job || c.file
                ? inputs
                : { ...inputs, flags: `--allow-unauthenticated ${inputs.flags ?? ''}`.trim() },
              SIGNED_IN_BY_PROPERTY,
            ),
          ),
          runCase(c, `${base}-r`, images, (inputs) =>
            c.job
              ? runAction({ ...authInputs(), ...inputs })
              : deployImage(inputs.service!, inputs.image ?? '', inputs),
          ),
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
          expect([peer.failed, runway.failed]).toEqual(
            c.refused ? ['step 1', 'step 1'] : [undefined, undefined],
          );
      },
      CASE_TIMEOUT_MS,
    );

    it('the table of differences in docs/migrating.md lists each difference observed here', () => {
      expect(observed.size).toBe(cases.length);
      // Every case that differed declared its difference (its own test checks that); that the table
      // lists nothing more than the cases declare is checked over all the parts (unit/shards.test.ts).
      const seen = new Set(cases.map(([name]) => name).filter((name) => observed.get(name)?.length));
      const table = new Set(documentedDifferences());
      const missing = CASES.filter((c) => seen.has(c.name) && !table.has(c.differs?.id ?? ''));
      expect(missing.map((c) => `${c.name}: ${c.differs?.id ?? 'no id declared'}`)).toEqual([]);
    });
  });
}
