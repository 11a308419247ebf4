// `npm run bench`: Runway's speed claims, measured side by side in one run against the emulator
// with real Docker, and written to bench/results.md. Not a test: nothing here passes or fails.
//   1. Waiting for Cloud Run: operations.wait (Runway) against polling GET every 2 s (the classic way).
//   2. Builds on a fresh runner: the registry layer cache (Runway's default) against no cache.
//   3. The whole step: traffic verified (default) against immediate and none, to show what
//      verification costs.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { readEnvFile } from '../__tests__/helpers/emulator-process.js';
import { appContext } from '../__tests__/helpers/app-context.js';

const exec = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

type Env = Record<string, string>;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

async function startEmulator(): Promise<{ env: Env; stop: () => void }> {
  const envFile = join(mkdtempSync(join(tmpdir(), 'runway-bench-')), 'emulator.env');
  const child = spawn('bash', [join(root, 'scripts/emulator.sh'), '--env-file', envFile], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 600 && !existsSync(envFile); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(envFile)) throw new Error('the emulator did not start');
  return { env: readEnvFile(envFile), stop: () => child.kill('SIGTERM') };
}

/** Runs dist/index.js as the runner would and returns its wall time and outputs. */
async function runAction(env: Env, inputs: Record<string, string>): Promise<{ ms: number; outputs: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'runway-bench-run-'));
  const output = join(dir, 'output');
  writeFileSync(output, '');
  const vars: Env = { ...(process.env as Env), ...env, GITHUB_OUTPUT: output, RUNNER_TEMP: dir };
  for (const [k, v] of Object.entries(inputs)) vars[`INPUT_${k.toUpperCase()}`] = v;
  const started = performance.now();
  try {
    await exec(join(root, 'node_modules/.bin/node'), [join(root, 'dist/index.js')], {
      env: vars,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    throw new Error(`the action failed: ${(err as { stdout?: string }).stdout ?? String(err)}`);
  }
  return { ms: performance.now() - started, outputs: output };
}

async function token(env: Env): Promise<string> {
  const provider = env.RUNWAY_EMULATOR_WIF_PROVIDER!;
  const oidc = (await (
    await fetch(
      `${env.ACTIONS_ID_TOKEN_REQUEST_URL}&audience=${encodeURIComponent(`https://iam.googleapis.com/${provider}`)}`,
      {
        headers: { authorization: `Bearer ${env.ACTIONS_ID_TOKEN_REQUEST_TOKEN}` },
      },
    )
  ).json()) as { value: string };
  const sts = (await (
    await fetch(`${env.CLOUDSDK_API_ENDPOINT_OVERRIDES_STS}v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        audience: `//iam.googleapis.com/${provider}`,
        grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
        requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
        scope: 'https://www.googleapis.com/auth/cloud-platform',
        subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt',
        subjectToken: oidc.value,
      }),
    })
  ).json()) as { access_token: string };
  const sa = (await (
    await fetch(
      `${env.CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS}v1/projects/-/serviceAccounts/${env.RUNWAY_EMULATOR_SERVICE_ACCOUNT}:generateAccessToken`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${sts.access_token}` },
        body: JSON.stringify({ scope: ['https://www.googleapis.com/auth/cloud-platform'] }),
      },
    )
  ).json()) as { accessToken: string };
  return sa.accessToken;
}

/** How long after an operation finishes each waiting strategy notices, for one create. */
async function measureWaiting(
  env: Env,
  image: string,
  name: string,
): Promise<{ wait: number; poll: number }> {
  const auth = { authorization: `Bearer ${await token(env)}`, 'content-type': 'application/json' };
  const base = `${env.CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN}v2/projects/${env.RUNWAY_EMULATOR_PROJECT}/locations/us-central1`;
  const started = performance.now();
  const op = (await (
    await fetch(`${base}/services?serviceId=${name}`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ invokerIamDisabled: true, template: { containers: [{ image }] } }),
    })
  ).json()) as { name: string };
  const opUrl = `${env.CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN}v2/${op.name}`;
  const waiting = (async () => {
    for (;;) {
      const res = (await (
        await fetch(`${opUrl}:wait`, { method: 'POST', headers: auth, body: '{"timeout":"30s"}' })
      ).json()) as { done?: boolean };
      if (res.done) return performance.now() - started;
    }
  })();
  const polling = (async () => {
    for (;;) {
      const res = (await (await fetch(opUrl, { headers: auth })).json()) as { done?: boolean };
      if (res.done) return performance.now() - started;
      await new Promise((r) => setTimeout(r, 2000));
    }
  })();
  const [wait, poll] = await Promise.all([waiting, polling]);
  return { wait, poll };
}

async function pushImage(env: Env, body: string): Promise<string> {
  const config = mkdtempSync(join(tmpdir(), 'runway-bench-docker-'));
  const host = env.RUNWAY_EMULATOR_REPOSITORY!.split('/')[0]!;
  const tag = `${env.RUNWAY_EMULATOR_REPOSITORY}/bench-app:${Date.now()}`;
  const dockerEnv = { ...process.env, DOCKER_CONFIG: config };
  const login = exec('docker', ['login', host, '-u', 'oauth2accesstoken', '--password-stdin'], {
    env: dockerEnv,
  });
  login.child.stdin?.end(await token(env));
  await login;
  await exec('docker', ['build', '-q', '-t', tag, appContext(body)], { env: dockerEnv });
  await exec('docker', ['push', tag], { env: dockerEnv });
  return tag;
}

/**
 * A context whose build has one slow layer (standing in for installing dependencies) keyed by a
 * lock file, as real Dockerfiles copy their lock file before installing.
 */
function slowContext(body: string, lockFile: string): string {
  const dir = appContext(body);
  writeFileSync(join(dir, 'deps.lock'), `${lockFile}\n`);
  writeFileSync(
    join(dir, 'Dockerfile'),
    [
      'FROM scratch',
      'COPY busybox /bin/busybox',
      'COPY deps.lock /deps.lock',
      'RUN ["/bin/busybox", "sh", "-c", "/bin/busybox sleep 5 && /bin/busybox mkdir -p /deps && echo installed > /deps/done"]',
      'COPY www /www',
      'COPY state /state',
      'ENTRYPOINT ["/bin/busybox", "sh", "-c", "exec /bin/busybox httpd -f -p ${PORT:-8080} -h /www"]',
      '',
    ].join('\n'),
  );
  return dir;
}

/** Forgets every local image of the repository, as a fresh hosted runner would have none. */
async function forgetLocalImages(repository: string): Promise<void> {
  const { stdout } = await exec('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}']);
  const mine = stdout.split('\n').filter((l) => l.startsWith(repository));
  if (mine.length) await exec('docker', ['rmi', '-f', ...mine]).catch(() => undefined);
  await exec('docker', ['builder', 'prune', '-af']).catch(() => undefined);
}

async function main(): Promise<void> {
  const { env, stop } = await startEmulator();
  const lines: string[] = [];
  const auth = {
    project_id: env.RUNWAY_EMULATOR_PROJECT!,
    workload_identity_provider: env.RUNWAY_EMULATOR_WIF_PROVIDER!,
    service_account: env.RUNWAY_EMULATOR_SERVICE_ACCOUNT!,
    allow_unauthenticated: 'true',
  };
  try {
    const image = await pushImage(env, 'bench');

    // 1. Waiting.
    const waits: number[] = [];
    const polls: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const { wait, poll } = await measureWaiting(env, image, `bench-wait-${i}`);
      waits.push(wait);
      polls.push(poll);
    }
    lines.push(
      '## Waiting for a new revision (create → noticed done)',
      '',
      '| strategy | median | runs |',
      '| --- | --- | --- |',
      `| operations.wait (Runway) | ${seconds(median(waits))} | ${waits.map(seconds).join(', ')} |`,
      `| GET every 2 s (polling) | ${seconds(median(polls))} | ${polls.map(seconds).join(', ')} |`,
      '',
    );

    // 2. Builds on a fresh runner: local images and build cache gone before every build.
    const repository = env.RUNWAY_EMULATOR_REPOSITORY!;
    const cold: number[] = [];
    const warm: number[] = [];
    await runAction(env, {
      ...auth,
      service: 'bench-build',
      context: slowContext('seed', 'deps v1'),
      repository,
      traffic: 'immediate',
    });
    for (let i = 0; i < RUNS; i++) {
      await forgetLocalImages(repository);
      cold.push(
        (
          await runAction(env, {
            ...auth,
            service: `bench-cold-${i}`,
            context: slowContext(`cold ${i}`, `deps ${Date.now()}`),
            repository,
            cache: 'false',
            traffic: 'immediate',
          })
        ).ms,
      );
      await forgetLocalImages(repository);
      warm.push(
        (
          await runAction(env, {
            ...auth,
            service: 'bench-build',
            context: slowContext(`warm ${i}`, 'deps v1'),
            repository,
            traffic: 'immediate',
          })
        ).ms,
      );
    }
    lines.push(
      '## A build on a fresh runner: the app changed, its dependencies did not (whole step; installing them takes 5 s)',
      '',
      '| build | median | runs |',
      '| --- | --- | --- |',
      `| registry layer cache (\`cache: true\`, default) | ${seconds(median(warm))} | ${warm.map(seconds).join(', ')} |`,
      `| no cache (\`cache: false\`, dependencies rebuilt) | ${seconds(median(cold))} | ${cold.map(seconds).join(', ')} |`,
      '',
    );

    // 3. What verification costs, deploying an existing image to an existing service.
    const modes = ['verified', 'immediate', 'none'] as const;
    const timings: Record<string, number[]> = { verified: [], immediate: [], none: [] };
    await runAction(env, { ...auth, service: 'bench-modes', image, traffic: 'immediate' });
    for (let i = 0; i < RUNS; i++) {
      for (const mode of modes) {
        timings[mode]!.push(
          (
            await runAction(env, {
              ...auth,
              service: 'bench-modes',
              image,
              traffic: mode,
              env_vars: `RUN=${mode}-${i}`,
            })
          ).ms,
        );
      }
    }
    lines.push(
      '## The whole step, by traffic mode (existing image and service; 3 health-check passes)',
      '',
      '| traffic | median | runs |',
      '| --- | --- | --- |',
      ...modes.map(
        (m) => `| \`${m}\` | ${seconds(median(timings[m]!))} | ${timings[m]!.map(seconds).join(', ')} |`,
      ),
      '',
    );
  } finally {
    stop();
  }
  const header = [
    '# Runway benchmarks',
    '',
    `Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)} against the local emulator with real Docker`,
    `(${RUNS} runs each, median shown; machine: ${process.platform}, Node ${process.version}). Figures are wall-clock on a`,
    'shared machine: compare the rows of one table, not runs from different days.',
    '',
  ];
  mkdirSync(join(root, 'bench'), { recursive: true });
  writeFileSync(join(root, 'bench', 'results.md'), [...header, ...lines].join('\n'));
  console.log([...header, ...lines].join('\n'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
