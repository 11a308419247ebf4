// File inputs (`env_vars_file`, `dockerfile`, `context` and the Dockerfile a context holds) resolved
// to the real file they name before anything reads them. A checkout is untrusted: a symlink in it
// can lead anywhere the runner can read, such as another checkout's secrets or /proc/self/environ
// (the runner's environment, OIDC request token included). So a path in the workspace must lead,
// through every symlink, to a file in the workspace, and the kernel's pseudo-filesystems are never
// read at all. An absolute path outside the workspace is the workflow's own explicit choice, e.g. a
// file it wrote to RUNNER_TEMP. Errors name the input and the path given, never what a file holds.
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve as resolvePath, sep } from 'node:path';
import { InputError } from '../errors.js';

/** Files that are the kernel's, not files: reading them reads the runner's memory and devices. */
const PSEUDO_FILESYSTEMS = ['/proc', '/sys', '/dev'];

export type PathKind = 'file' | 'directory';

function isWithin(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`);
}

function onPseudoFilesystem(path: string): boolean {
  return PSEUDO_FILESYSTEMS.some((root) => isWithin(path, root));
}

/** The workspace as given (GITHUB_WORKSPACE, else the working directory) and as it really is. */
function workspaceOf(dir: string): { given: string; real: string } {
  const given = resolvePath(dir);
  try {
    return { given, real: realpathSync.native(given) };
  } catch {
    return { given, real: given };
  }
}

/**
 * The real path of input `input`'s `path`, checked: never on /proc, /sys or /dev; inside the
 * workspace, through every symlink, when given relative or inside it; a `kind` that exists.
 * Relative paths are read from the workspace, as Docker and the file reader would.
 */
export function resolveInputPath(
  input: string,
  path: string,
  kind: PathKind,
  workspaceDir = process.env.GITHUB_WORKSPACE || process.cwd(),
): string {
  const workspace = workspaceOf(workspaceDir);
  const lexical = resolvePath(workspace.given, path);
  const pseudo = (): InputError =>
    new InputError(
      input,
      path,
      `a ${kind} in the workspace or RUNNER_TEMP: /proc, /sys and /dev are never read (they hold the runner's environment and devices, not files)`,
    );
  if (onPseudoFilesystem(lexical)) throw pseudo();
  const confined =
    !isAbsolute(path) || isWithin(lexical, workspace.given) || isWithin(lexical, workspace.real);
  const outside = (how: string): InputError =>
    new InputError(
      input,
      path,
      `a ${kind} inside the workspace (GITHUB_WORKSPACE): ${how} may not lead out of it. Commit the ${kind} itself rather than a link to it, or name a ${kind} the workflow wrote outside the checkout (e.g. in RUNNER_TEMP) by its absolute path`,
    );
  if (!isAbsolute(path) && !isWithin(lexical, workspace.given)) throw outside('`..`');
  let real: string;
  try {
    // The kernel's realpath, not Node's: Node resolves `..` before symlinks (`link/..` is not the
    // link's parent), so it would check another path than the one a reader opens.
    real = realpathSync.native(isAbsolute(path) ? path : `${workspace.given}${sep}${path}`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new InputError(input, path, `a ${kind} that exists and can be read (${code})`);
  }
  if (onPseudoFilesystem(real)) throw pseudo();
  if (confined && !isWithin(real, workspace.real)) throw outside('a symlink');
  const stat = statSync(real);
  if (kind === 'file' ? !stat.isFile() : !stat.isDirectory())
    throw new InputError(
      input,
      path,
      `a ${kind} (this is ${stat.isDirectory() ? 'a directory' : stat.isFile() ? 'a file' : 'neither a file nor a directory'})`,
    );
  return real;
}

/**
 * The Dockerfile Docker reads from the context `contextPath` (a real path) when no `dockerfile` is
 * given, checked as `dockerfile` would be: a link in the checkout may not lead Docker out of it.
 */
export function checkDefaultDockerfile(contextPath: string, workspaceDir?: string): void {
  const name = ['Dockerfile', 'dockerfile'].find((n) =>
    lstatSync(join(contextPath, n), { throwIfNoEntry: false }),
  );
  if (name) resolveInputPath('dockerfile', join(contextPath, name), 'file', workspaceDir);
}
