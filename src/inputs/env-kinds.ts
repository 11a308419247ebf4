// A name is a plain env var or a secret one, never both in one command. gcloud applies a command's
// plain variables first, then its secret ones, and refuses a name the other kind already holds
// ("Cannot update environment variable [NAME] to the given type because it has already been set
// with a different type"); deploy-cloudrun's inputs reach it as flags of that command. Runway
// refuses the same before anything changes, naming the input or flag of each kind and the name,
// never a value.
import { RunwayError } from '../errors.js';

/** The names one container is given in one command, each with the input or flag that gave it. */
export interface EnvOrigins {
  plain: Record<string, string>;
  secret: Record<string, string>;
}

export const noOrigins = (): EnvOrigins => ({ plain: {}, secret: {} });

/** Records `names` as given by `source`; a name the other kind holds is refused. */
export function noteEnvNames(
  origins: EnvOrigins,
  kind: keyof EnvOrigins,
  names: Iterable<string>,
  source: string,
): void {
  for (const name of names) {
    origins[kind][name] ??= source;
    const plain = origins.plain[name];
    const secret = origins.secret[name];
    if (plain !== undefined && secret !== undefined)
      throw new RunwayError(
        `${plain} gives ${JSON.stringify(name)} as a plain environment variable, and ${secret} as a secret: gcloud refuses a name given both ways in one command ("Cannot update environment variable [${name}] to the given type because it has already been set with a different type").`,
        `Give ${name} one way: remove it from ${plain} to make it a secret, or from ${secret} to keep it plain.`,
      );
  }
}

/** The names of every part together, as one container's in one command; a clash is refused. */
export function joinEnvOrigins(parts: EnvOrigins[]): EnvOrigins {
  const joined = noOrigins();
  for (const part of parts)
    for (const kind of ['plain', 'secret'] as const)
      for (const [name, source] of Object.entries(part[kind])) noteEnvNames(joined, kind, [name], source);
  return joined;
}
