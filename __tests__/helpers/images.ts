// Builds the test app (helpers/app-context.ts) with Docker and pushes it through the emulator's
// registry front, as a deployer would: for conformance tests that call the APIs directly.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { appContext, type AppOptions } from './app-context.js';
import { accessTokenFor } from './auth.js';
import { env } from './emulator.js';

const exec = promisify(execFile);

async function docker(args: string[], dockerConfig: string, input?: string): Promise<string> {
  const child = exec('docker', args, {
    env: { ...process.env, DOCKER_CONFIG: dockerConfig },
    maxBuffer: 8 * 1024 * 1024,
  });
  if (input !== undefined) child.child.stdin?.end(input);
  return (await child).stdout;
}

/** Builds an image serving `body` and pushes it; returns the image by digest. */
export async function pushTestImage(
  name: string,
  body: string,
  options: AppOptions = {},
  serviceAccount?: string,
): Promise<string> {
  const repository = env('RUNWAY_EMULATOR_REPOSITORY');
  const host = repository.split('/')[0]!;
  const tag = `${repository}/${name}:test`;
  const config = mkdtempSync(join(tmpdir(), 'runway-docker-'));
  try {
    await docker(
      ['login', host, '-u', 'oauth2accesstoken', '--password-stdin'],
      config,
      await accessTokenFor(serviceAccount),
    );
    await docker(['build', '-q', '-t', tag, appContext(body, options)], config);
    const out = await docker(['push', tag], config);
    const digest = /digest: (sha256:[a-f0-9]{64})/.exec(out)?.[1];
    if (!digest) throw new Error(`no digest in docker push output: ${out}`);
    return `${repository}/${name}@${digest}`;
  } finally {
    rmSync(config, { recursive: true, force: true });
  }
}
