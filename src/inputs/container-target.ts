// Which container a deploy's image and container inputs go to, as far as the inputs alone say: the
// `container` input, else the `--container` scope in `flags` that declares the port (gcloud requires
// exactly one). Undefined leaves it to the live service: its ingress container.
import { RunwayError } from '../errors.js';
import type { ServiceSpec } from './spec.js';

export function targetName(spec: ServiceSpec): string | undefined {
  if (spec.container) return spec.container;
  const scopes = Object.entries(spec.containers ?? {});
  const ingress = scopes.filter(([, s]) => s.port !== undefined || s.useHttp2 !== undefined);
  if (ingress.length > 1)
    throw new RunwayError(
      `\`flags\` gives a port to more than one container (${ingress.map(([n]) => `'${n}'`).join(', ')}).`,
      'Exactly one container serves requests: give --port (or --use-http2) to one --container only, as gcloud requires.',
    );
  return ingress[0]?.[0];
}
