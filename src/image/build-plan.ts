// What to run to build and push an image, per builder: a pure function of the plan and the
// builder's driver, tested without Docker. Secret values and build-arg values never enter argv
// (which @actions/exec prints as `[command]…`): they travel in the child's environment.
import { formatImage, type ImageReference } from './reference.js';

/**
 * The builder Runway builds with. `docker`, `docker-container`, `remote` and `kubernetes` are
 * buildx drivers; `none` is a Docker CLI without buildx (the classic builder).
 */
export type BuilderDriver = 'docker' | 'docker-container' | 'remote' | 'kubernetes' | 'none';

export interface BuildPlan {
  context: string;
  dockerfile: string | undefined;
  /** Build argument name → value. */
  buildArgs: Record<string, string>;
  /** BuildKit secret id → value. */
  secrets: Record<string, string>;
  target: string | undefined;
  platform: string | undefined;
  image: ImageReference;
  /** Registry reference holding the layer cache; undefined disables caching. */
  cacheRef: string | undefined;
  /**
   * Fork code: built into the local image store (`--load`) with no registry cache and no push, by a
   * Docker holding no credentials; only the `docker push` after it gets them.
   */
  untrusted?: boolean;
}

export interface BuildCommand {
  /** `docker` arguments; values of build args and secrets are not among them. */
  args: string[];
  /** Variables for the docker child process carrying build-arg and secret values. */
  env: Record<string, string>;
  /** True when the build pushes the image itself (buildx --push); false: `docker push` after. */
  pushes: boolean;
  /** Tags to push after the build (classic builder): the image, then the cache image. */
  pushAfter: string[];
}

/** Where the layer cache of an image lives: the same repository, tag `buildcache`. */
export function cacheReference(image: ImageReference): string {
  return formatImage({ ...image, tag: 'buildcache', digest: undefined }, 'tag');
}

/** The environment variable carrying the value of secret number `index` (ids may not be valid names). */
export function secretVariable(index: number): string {
  return `RUNWAY_BUILD_SECRET_${index}`;
}

/** `docker buildx inspect` output → the builder's name and driver; undefined when it says neither. */
export function parseBuildxInspect(output: string): { name: string; driver: BuilderDriver } | undefined {
  const name = /^Name:\s*(\S+)/m.exec(output)?.[1];
  const driver = /^Driver:\s*(\S+)/m.exec(output)?.[1];
  if (!name || !driver) return undefined;
  const known: BuilderDriver[] = ['docker', 'docker-container', 'remote', 'kubernetes'];
  // An unknown future driver runs in its own BuildKit like docker-container: registry cache works.
  return { name, driver: known.includes(driver as BuilderDriver) ? (driver as BuilderDriver) : 'remote' };
}

/**
 * The build command for a driver:
 *  - docker-container / remote / kubernetes: BuildKit of its own, so the cache is exported to the
 *    registry (`--cache-to type=registry,mode=max`, every stage) and imported from it.
 *  - docker (GitHub's default builder): cannot export a registry cache without the containerd
 *    image store, so the cache rides inline in an image pushed beside the build's own tag.
 *  - none (no buildx): the classic builder; the cache image is pulled before and pushed after.
 * The image is pushed by buildx itself (`--push`), or with `docker push` after a classic build.
 * Fork code (`untrusted`) is built without cache into the local store and pushed after, always.
 */
export function planBuild(
  plan: BuildPlan,
  driver: BuilderDriver,
  options: { builder?: string | undefined; metadataFile?: string | undefined } = {},
): BuildCommand {
  const tag = formatImage(plan.image, 'tag');
  if (plan.untrusted) plan = { ...plan, cacheRef: undefined };
  const buildx = driver !== 'none';
  const args = buildx ? ['buildx', 'build'] : ['build'];
  const env: Record<string, string> = {};
  if (buildx && options.builder) args.push('--builder', options.builder);
  args.push('--tag', tag);
  if (plan.dockerfile) args.push('--file', plan.dockerfile);
  if (plan.target) args.push('--target', plan.target);
  if (plan.platform) args.push('--platform', plan.platform);
  for (const [name, value] of Object.entries(plan.buildArgs)) {
    // `--build-arg NAME` without a value makes Docker read NAME from its environment.
    args.push('--build-arg', name);
    env[name] = value;
  }
  Object.entries(plan.secrets).forEach(([id, value], index) => {
    const variable = secretVariable(index);
    args.push('--secret', `id=${id},env=${variable}`);
    env[variable] = value;
  });
  const pushAfter: string[] = [];
  if (plan.cacheRef) {
    if (driver === 'docker') {
      args.push('--tag', plan.cacheRef, '--cache-from', `type=registry,ref=${plan.cacheRef}`);
      args.push('--cache-to', 'type=inline');
    } else if (buildx) {
      args.push('--cache-from', `type=registry,ref=${plan.cacheRef}`);
      args.push('--cache-to', `type=registry,ref=${plan.cacheRef},mode=max`);
    } else {
      args.push('--cache-from', plan.cacheRef, '--build-arg', 'BUILDKIT_INLINE_CACHE=1');
    }
  }
  if (buildx && !plan.untrusted) {
    args.push('--push');
    if (options.metadataFile) args.push('--metadata-file', options.metadataFile);
  } else {
    if (buildx) args.push('--load');
    pushAfter.push(tag);
    if (plan.cacheRef) pushAfter.push(plan.cacheRef);
  }
  // `--` ends the options: a context named like an option is still a context.
  args.push('--', plan.context);
  return { args, env, pushes: buildx && !plan.untrusted, pushAfter };
}
