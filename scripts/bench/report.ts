// The results as a Markdown report: one table per measurement, each goal with whether it was met.
import type { Stats } from './harness.js';
import type { StepResults } from './step.js';
import type { ReadinessResults } from './readiness.js';
import type { RegionResults, VerificationResults } from './verification.js';
import type { BuildResults } from './builds.js';
import type { ColdStartResults, MemoryResults } from './process.js';
import type { ScaleResults } from './scale.js';
import { INSTALL_SECONDS } from './builds.js';
import { STARTUP_DELAYS } from './readiness.js';

export interface BenchResults {
  date: string;
  machine: { platform: string; arch: string; cpus: number; memoryGiB: number; node: string; gcloud: string };
  runs: number;
  commands: string[];
  step?: StepResults | undefined;
  readiness?: ReadinessResults | undefined;
  verification?: VerificationResults | undefined;
  builds?: BuildResults | undefined;
  regions?: RegionResults | undefined;
  coldStart?: ColdStartResults | undefined;
  memory?: MemoryResults | undefined;
  scale?: ScaleResults | undefined;
  failures?: Array<{ section: string; error: string }>;
}

const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const msText = (ms: number): string => `${Math.round(ms)} ms`;
const ratio = (a: number, b: number): number => a / b;
const x = (r: number): string => `${r.toFixed(2)}×`;
const mib = (kib: number): string => `${(kib / 1024).toFixed(0)} MiB`;

/** "median (min–max)" in the unit `fmt` gives. */
const spread = (v: Stats, fmt: (n: number) => string): string =>
  `${fmt(v.median)} (${fmt(v.min)}–${fmt(v.max)})`;

const goal = (met: boolean, text: string): string => `${met ? '✅ met' : '❌ missed'}: ${text}`;

function stepSection(r: StepResults): string[] {
  const lines = [
    '## 1. The whole step against deploy-cloudrun',
    '',
    'One service and one prebuilt image, each tool in turn (A B C A B C …). deploy-cloudrun v3.0.1 runs as a',
    'workflow step runs it, driving the installed gcloud; its time **excludes installing gcloud**, which is',
    'cached here. On a real runner it also installs gcloud, about a minute a job (setup-gcloud issues).',
    'Runway "fastest" is `traffic: immediate` with one health-check pass (the peer checks nothing); in the',
    'tag case no traffic moves, so it is one pass on the tag URL. Runway "default" is `traffic: verified`:',
    'three passes half a second apart on the tag URL before traffic moves, and three on the service URL',
    'after.',
    '',
    '| case | deploy-cloudrun | Runway fastest | ratio | Runway default | ratio |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const c of r.cases) {
    lines.push(
      `| ${c.name} | ${spread(c.peer, s)} | ${spread(c.immediate, s)} | ${x(ratio(c.immediate.median, c.peer.median))} | ${spread(c.verified, s)} | ${x(ratio(c.verified.median, c.peer.median))} |`,
    );
  }
  const fastest = Math.max(...r.cases.map((c) => ratio(c.immediate.median, c.peer.median)));
  const verified = Math.max(...r.cases.map((c) => ratio(c.verified.median, c.peer.median)));
  lines.push(
    '',
    `- ${goal(fastest <= 0.3, `Runway fastest at most 0.3× the peer in every case (worst ${x(fastest)})`)}`,
    `- ${goal(verified <= 1.0, `Runway default at most 1.0× the peer in every case (worst ${x(verified)})`)}`,
    '',
    '## 2. Action overhead',
    '',
    "Runway's `fastest` steps above, less every moment an emulator request (Cloud Run, IAM, STS, the",
    "registry) was in flight — which covers the revision's start-up, inside `operations.wait` — and less",
    'the health-check phases of its timeline. What is left is Node starting, loading the bundle and',
    "Runway's own work between calls.",
    '',
    '| overhead | median (min–max) |',
    '| --- | --- |',
    `| per step | ${spread(r.overhead, msText)} |`,
    '',
    `- ${goal(r.overhead.median <= 200, `median at most 0.2 s (${msText(r.overhead.median)})`)}`,
    '',
  );
  return lines;
}

function readinessSection(r: ReadinessResults): string[] {
  return [
    '## 3. Readiness detection latency',
    '',
    `From the emulator marking a new revision Ready (its \`updateTime\`) to the client knowing it; start-up`,
    `delays of ${STARTUP_DELAYS.join(', ')} s in turn. Runway's \`operations.wait\` and the \`@google-cloud/run\``,
    "client's LRO polling (`promise()`: 100 ms, ×1.3, up to 60 s) wait on the same create operation;",
    'gcloud run deploy waits on revisions of its own with the same delays (its last `operations.wait`',
    'or read of the service).',
    '',
    '| waiter | median (min–max) |',
    '| --- | --- |',
    `| Runway (\`operations.wait\`) | ${spread(r.runway, msText)} |`,
    `| @google-cloud/run (LRO polling) | ${spread(r.gax, msText)} |`,
    `| gcloud run deploy | ${spread(r.gcloud, msText)} |`,
    '',
    `- ${goal(r.runway.median <= 50, `Runway's median at most 50 ms (${msText(r.runway.median)})`)}`,
    `- ${goal(
      r.runway.median * 5 <= Math.min(r.gax.median, r.gcloud.median),
      `at least 5× lower than the others (${x(r.gax.median / Math.max(r.runway.median, 1))} and ${x(r.gcloud.median / Math.max(r.runway.median, 1))})`,
    )}`,
    '',
  ];
}

function verificationSection(r: VerificationResults): string[] {
  const lines = [
    '## 4. Verification cost',
    '',
    'An update of an existing service: `traffic: verified` (checks on the tag URL before traffic moves,',
    'then on the service URL) against `traffic: immediate` with one pass.',
    '',
    '| health_check_successes | health_check_interval | verified | cost over immediate |',
    '| --- | --- | --- | --- |',
    `| (immediate, 1 pass) | — | ${spread(r.immediate, s)} | — |`,
  ];
  for (const row of r.rows)
    lines.push(
      `| ${row.successes} | ${row.interval} | ${spread(row.verified, s)} | +${s(row.verified.median - r.immediate.median)} |`,
    );
  lines.push('');
  return lines;
}

function buildSection(r: BuildResults): string[] {
  const warm = r.warm.median / r.cold.median;
  return [
    '## 5. Builds',
    '',
    `The \`build and push\` stage of Runway's timeline. The app's Dockerfile installs its dependencies in`,
    `one layer keyed by a lock file (${INSTALL_SECONDS} s); the rebuilds change one line of the app, not the lock file.`,
    'Without buildx here, Runway uses the classic builder with an inline cache image in the registry.',
    '',
    '| build | median (min–max) |',
    '| --- | --- |',
    `| cold: new dependencies, nothing local or in the registry cache | ${spread(r.cold, s)} |`,
    `| warm rebuild: local layers and the registry cache | ${spread(r.warm, s)} |`,
    `| fresh runner, registry cache (\`cache: true\`, default) | ${spread(r.freshCached, s)} |`,
    `| fresh runner, no cache | ${spread(r.freshUncached, s)} |`,
    '',
    `- ${goal(warm <= 0.15, `warm rebuild at most 0.15× a cold build (${x(warm)})`)}`,
    `- fresh runner: the registry cache takes ${x(r.freshCached.median / r.freshUncached.median)} the time of no cache`,
    '',
  ];
}

function regionSection(r: RegionResults): string[] {
  const three = r.three.median / r.one.median;
  return [
    '## 6. Regions in parallel',
    '',
    'An update with `traffic: verified`, one region against three (us-central1, europe-west1, asia-east1).',
    '',
    '| regions | median (min–max) |',
    '| --- | --- |',
    `| 1 | ${spread(r.one, s)} |`,
    `| 3 | ${spread(r.three, s)} |`,
    '',
    `- ${goal(three <= 1.2, `three regions at most 1.2× one (${x(three)})`)}`,
    '',
  ];
}

function processSection(cold?: ColdStartResults, memory?: MemoryResults): string[] {
  const lines: string[] = [];
  if (cold) {
    lines.push(
      '## 7. Cold start of the bundle',
      '',
      "From spawning `node dist/index.js` to its first API call (the request for the job's OIDC token).",
      '',
      '| measure | median (min–max) |',
      '| --- | --- |',
      `| bare \`node -e 0\` | ${spread(cold.bareNode, msText)} |`,
      `| spawn → first API call | ${spread(cold.firstCall, msText)} |`,
      `| the bundle's own share | ${spread(cold.bundle, msText)} |`,
      '',
      `- ${goal(cold.bundle.median < 100, `under 100 ms (${msText(cold.bundle.median)})`)}`,
      '',
    );
    if (cold.bundles?.length)
      lines.push(
        'Bundles side by side, each run in turn: to the OIDC request as above, and on to the token',
        'exchange with STS, which also loads what signing in needs (google-auth-library and its fetch).',
        '',
        '| bundle | JavaScript | spawn → OIDC request | spawn → STS exchange |',
        '| --- | --- | --- | --- |',
        ...cold.bundles.map(
          (b) =>
            `| ${b.label} | ${(b.bytes / 2 ** 20).toFixed(2)} MiB | ${spread(b.firstCall, msText)} | ${spread(b.sts, msText)} |`,
        ),
        '',
      );
  }
  if (memory) {
    lines.push(
      '## 8. Memory',
      '',
      'Peak resident set of the largest process of the step (getrusage of its descendants). Runway: a',
      'three-region deploy with a build. deploy-cloudrun: one region and a prebuilt image (it neither',
      'builds nor deploys to several regions); its largest process is gcloud.',
      '',
      '| tool | peak RSS, median (min–max) |',
      '| --- | --- |',
      `| Runway | ${spread(memory.runway, mib)} |`,
      `| deploy-cloudrun | ${spread(memory.peer, mib)} |`,
      '',
    );
  }
  return lines;
}

function scaleSection(r: ScaleResults): string[] {
  const rows = (label: string, points: ScaleResults['revisions']) =>
    points.map((p) => `| ${p.size} ${label} | ${spread(p.step, s)} | ${p.calls.median} |`);
  const revs = r.revisions.map((p) => p.step.median);
  const flat = Math.max(...revs) / Math.min(...revs);
  const calls = r.revisions.map((p) => p.calls.median);
  return [
    '## 9. Scale',
    '',
    'One update (`traffic: verified`) of a service seeded with older revisions scaled to zero, or with',
    'tags on its serving revision. API calls: requests to every API but the registry (GitHub OIDC, STS,',
    'IAM, Cloud Run, and the GitHub API for the commit status and comment).',
    '',
    '| service | step, median (min–max) | API calls |',
    '| --- | --- | --- |',
    ...rows('revisions', r.revisions),
    ...rows('tags', r.tags),
    '',
    `- ${goal(flat <= 1.25 && new Set(calls).size === 1, `flat in revisions (slowest/fastest ${x(flat)}; calls ${calls.join(', ')})`)}`,
    `- ${goal(
      r.tags.every((p) => p.calls.median === r.tags[0]!.calls.median),
      `linear at most in tags (calls ${r.tags.map((p) => p.calls.median).join(', ')}; step ${r.tags.map((p) => s(p.step.median)).join(', ')})`,
    )}`,
    '',
  ];
}

export function renderResults(r: BenchResults): string {
  const m = r.machine;
  return [
    '# Runway benchmarks',
    '',
    `Measured by \`npm run bench\` on ${r.date}, ${r.runs} runs of each figure, against the local emulator`,
    `with real Docker containers and a real registry. Machine: ${m.platform}/${m.arch}, ${m.cpus} cores,`,
    `${m.memoryGiB} GiB, Node ${m.node}, gcloud ${m.gcloud}. Figures are wall-clock on one machine in one`,
    'run: compare the rows of a table, not runs from different days. The raw figures are in',
    '[`results.json`](results.json).',
    '',
    'Reproduce: ' + r.commands.map((c) => `\`${c}\``).join(', then '),
    '',
    ...(r.step ? stepSection(r.step) : []),
    ...(r.readiness ? readinessSection(r.readiness) : []),
    ...(r.verification ? verificationSection(r.verification) : []),
    ...(r.builds ? buildSection(r.builds) : []),
    ...(r.regions ? regionSection(r.regions) : []),
    ...processSection(r.coldStart, r.memory),
    ...(r.scale ? scaleSection(r.scale) : []),
    ...(r.failures?.length
      ? [
          '## Sections that failed',
          '',
          ...r.failures.map((f) => `- ${f.section}: ${f.error.split('\n')[0]}`),
          '',
        ]
      : []),
  ].join('\n');
}
