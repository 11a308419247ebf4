// The post step: removes the private Docker config holding the registry login. The main step
// removes it too; this runs even when the job was cancelled or the main step was killed, so no
// token is left on a self-hosted runner's disk.
import * as core from '@actions/core';
import { rm } from 'node:fs/promises';
import { DOCKER_CONFIG_STATE } from './image/docker.js';

export async function post(): Promise<void> {
  const dir = core.getState(DOCKER_CONFIG_STATE);
  if (!dir) return;
  try {
    await rm(dir, { recursive: true, force: true });
    core.info('removed the Docker config holding the registry login');
  } catch (err) {
    core.warning(`could not remove ${dir}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

void post();
