// The post step: removes the private Docker config holding the registry login. The main step
// removes it too; this runs even when the job was cancelled or the main step was killed, so no
// token is left on a self-hosted runner's disk. It removes only a directory Runway made: one in
// RUNNER_TEMP with the name Runway chose, never a link, and never whatever else the saved state
// names (a Dockerfile's `RUN` can print `::save-state` too, where the runner acts on it).
import * as core from '@actions/core';
import { lstat, rm } from 'node:fs/promises';
import * as log from './common/log.js';
import { DOCKER_CONFIG_STATE, isPrivateConfigPath, scratchBase } from './image/docker.js';

export async function post(): Promise<void> {
  const dir = core.getState(DOCKER_CONFIG_STATE);
  if (!dir) return;
  if (!isPrivateConfigPath(dir, scratchBase())) {
    core.warning(
      `The saved Docker config path is not one Runway makes, so nothing was removed: ${JSON.stringify(dir)}`,
    );
    return;
  }
  try {
    const found = await lstat(dir).catch(() => undefined);
    if (!found) return;
    if (!found.isDirectory()) {
      core.warning(`${dir} is not a directory Runway made, so it was left alone.`);
      return;
    }
    await rm(dir, { recursive: true, force: true });
    log.info('removed the Docker config holding the registry login');
  } catch (err) {
    core.warning(`could not remove ${dir}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

void post();
