// What every emulated API gets: the world, the shared request log/faults, signing keys,
// everyone's base URLs, and caller resolution from a bearer access token.
import type { ApiName, ApiRequest, Traffic } from './http.js';
import { bearerToken } from './http.js';
import { unauthenticated } from './errors.js';
import { describePrincipal, type Principal } from './iam.js';
import type { SigningKey } from './keys.js';
import type { World } from './state.js';

export type EmulatorUrls = Record<ApiName, string>;

export interface EmulatorContext {
  world: World;
  traffic: Traffic;
  /** Signs GitHub Actions OIDC tokens. */
  githubOidcKey: SigningKey;
  /** Signs Google ID tokens (generateIdToken); Cloud Run routers verify with it. */
  googleKey: SigningKey;
  urls: EmulatorUrls;
  /** Host:port of the Artifact Registry front, e.g. 127.0.0.1:40123 */
  registryHost: string;
  /** Host:port of the Docker-Hub-style public registry and of the non-Google private one. */
  publicRegistryHost: string;
  privateRegistryHost: string;
  /** Temporary directory owned by this emulator process (secret files, registry storage). */
  workDir: string;
}

/** Resolves the caller of a Google API request from its access token; 401 otherwise. */
export function requireCaller(ctx: EmulatorContext, req: ApiRequest): Principal {
  const token = bearerToken(req.headers);
  const issued = ctx.world.lookupToken(token);
  if (!issued || (issued.kind !== 'access' && issued.kind !== 'sts'))
    throw unauthenticated(token === undefined, req.rpc);
  req.caller = describePrincipal(issued.principal);
  return issued.principal;
}
