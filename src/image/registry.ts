// The registry HTTP API as Docker speaks it: a request answered 401 with a `WWW-Authenticate:
// Bearer realm=…,service=…,scope=…` challenge is retried with a token from the realm. Google
// registries get Basic `oauth2accesstoken:<access token>` at the realm; every other registry is
// asked anonymously, so a Google token never reaches a host that is not Google's. Used to resolve
// tags to digests and to prove the right to push before anything is built or deployed.
import { createHash } from 'node:crypto';
import * as core from '@actions/core';
import { RunwayError } from '../errors.js';
import { Untrusted } from '../common/untrusted.js';
import { GoogleApiError, isRetryable, isRetryableStatus, requestJson, withRetry } from '../common/http.js';
import {
  artifactRepository,
  extraGoogleRegistries,
  formatImage,
  isDigest,
  isGoogleRegistry,
  registryBaseUrl,
  type ImageReference,
} from './reference.js';

/** Every manifest type Docker accepts: multi-platform indexes first, then single manifests. */
export const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];

/** How Runway authenticates to one registry. */
export type RegistryAuth =
  | { kind: 'google'; accessToken: () => Promise<string> }
  /** Not a Google registry: anonymous token requests only. */
  | { kind: 'anonymous' };

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** `Bearer realm="https://x/token",service="x",scope="repository:a:pull"` → scheme and params. */
export function parseChallenge(header: string | null | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([a-zA-Z_]+)\s*=\s*(?:"([^"]*)"|([^,\s]*))/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2]!))) params[p[1]!.toLowerCase()] = p[2] ?? p[3] ?? '';
  return { scheme: m[1]!.toLowerCase(), params };
}

/** An error answer from a registry: its HTTP status and the distribution error code, if any. */
export class RegistryError extends Error {
  readonly httpStatus: number;
  /** e.g. UNAUTHORIZED, DENIED, NAME_UNKNOWN, MANIFEST_UNKNOWN; only a code of the spec's form. */
  readonly code: string | undefined;
  /** What the registry (or a proxy in front of it) said, as it said it. */
  readonly detail: Untrusted;
  constructor(what: string, httpStatus: number, body: string | Untrusted) {
    const said = Untrusted.is(body) ? body : Untrusted.of(body);
    let code: string | undefined;
    let detail = said.map((t) => t.trim());
    try {
      const first = (JSON.parse(said.raw()) as { errors?: Array<{ code?: unknown; message?: unknown }> })
        .errors?.[0];
      if (typeof first?.code === 'string' && /^[A-Z_]{1,64}$/.test(first.code)) code = first.code;
      if (typeof first?.message === 'string' && first.message) detail = Untrusted.of(first.message);
    } catch {
      // Not the registry's JSON (a proxy page, or a HEAD without a body).
    }
    const shown = detail.length ? `: ${detail.forLog(500)}` : '';
    super(`${what}: HTTP ${httpStatus}${code ? ` ${code}` : ''}${shown}`);
    this.name = 'RegistryError';
    this.httpStatus = httpStatus;
    this.code = code;
    this.detail = detail;
  }
}

function retryable(err: unknown): boolean {
  return err instanceof RegistryError ? isRetryableStatus(err.httpStatus) : isRetryable(err);
}

interface Sent {
  status: number;
  headers: Headers;
  body: Buffer;
}

/** A client for one repository (HOST/PATH) with one way of authenticating. */
export class RepositoryClient {
  private bearer: string | undefined;

  constructor(
    private readonly image: ImageReference,
    private readonly auth: RegistryAuth,
    private readonly actions: 'pull' | 'push,pull',
  ) {}

  private url(path: string): string {
    return `${registryBaseUrl(this.image.host)}/v2/${this.image.path}/${path}`;
  }

  /**
   * One request; a Bearer challenge is answered once with a token from its realm. A credential goes
   * only to the registry's own origin: a URL the registry named elsewhere (an upload's Location)
   * is sent without one, and its challenges are not answered.
   */
  async send(method: string, url: string, headers: Record<string, string> = {}): Promise<Sent> {
    const own = new URL(url).origin === new URL(registryBaseUrl(this.image.host)).origin;
    return withRetry(
      `${method} ${new URL(url).pathname}`,
      async () => {
        let res = await this.fetch(method, url, headers, own);
        if (res.status === 401 && own) {
          const challenge = parseChallenge(res.headers.get('www-authenticate'));
          if (challenge?.scheme === 'bearer' && challenge.params.realm) {
            this.bearer = await this.token(challenge);
            res = await this.fetch(method, url, headers, own);
          } else if (challenge?.scheme === 'basic' && this.auth.kind === 'google' && !headers.authorization) {
            const basic = await this.basic();
            res = await this.fetch(method, url, { ...headers, authorization: basic }, own);
          }
        }
        const body = Buffer.from(await res.arrayBuffer());
        if (res.status >= 400) throw new RegistryError(`${method} ${url}`, res.status, Untrusted.of(body));
        return { status: res.status, headers: res.headers, body };
      },
      undefined,
      retryable,
    );
  }

  private fetch(
    method: string,
    url: string,
    headers: Record<string, string>,
    own: boolean,
  ): Promise<Response> {
    const bearer = own && this.bearer ? { authorization: `Bearer ${this.bearer}` } : {};
    return fetch(url, {
      method,
      // fetch drops Authorization when a redirect leaves the origin (Fetch standard, HTTP-redirect fetch).
      redirect: 'follow',
      headers: { ...bearer, ...headers },
      signal: AbortSignal.timeout(60_000),
    });
  }

  private async basic(): Promise<string> {
    if (this.auth.kind !== 'google') throw new Error('only Google registries get Google credentials');
    const token = await this.auth.accessToken();
    return `Basic ${Buffer.from(`oauth2accesstoken:${token}`).toString('base64')}`;
  }

  /**
   * The realm's token for this repository. Google credentials go only to a realm that is itself a
   * Google registry host: a challenge cannot send them anywhere else.
   */
  private async token(challenge: Challenge): Promise<string> {
    const { realm, service } = challenge.params;
    const scope = `repository:${this.image.path}:${this.actions}`;
    const realmIsGoogle = isGoogleRegistry(new URL(realm!).host, extraGoogleRegistries());
    if (this.auth.kind === 'google' && !realmIsGoogle) {
      throw new RunwayError(
        `${this.image.host} asked for credentials at ${realm}, which is not a Google registry host; Runway sends Google tokens only to Google registries.`,
      );
    }
    try {
      const answer = await requestJson<{ token?: string; access_token?: string }>(realm!, {
        query: { service, scope },
        ...(this.auth.kind === 'google' ? { headers: { authorization: await this.basic() } } : {}),
      });
      const token = answer.token ?? answer.access_token;
      if (!token) throw new RegistryError(`token from ${realm}`, 200, 'the answer held no token');
      core.setSecret(token);
      return token;
    } catch (err) {
      if (err instanceof GoogleApiError) {
        throw new RegistryError(`token from ${realm}`, err.httpStatus, err.detail);
      }
      throw err;
    }
  }

  /** The digest a tag points at: Docker-Content-Digest, or the hash of the manifest itself. */
  async digestOf(tag: string): Promise<string> {
    const accept = MANIFEST_TYPES.join(', ');
    // A refused HEAD has no body: the GET below then fails with the registry's error code and message.
    const head = await this.send('HEAD', this.url(`manifests/${tag}`), { accept }).catch((err: unknown) => {
      if (err instanceof RegistryError && err.httpStatus < 500) return undefined;
      throw err;
    });
    const digest = head?.headers.get('docker-content-digest');
    if (digest) {
      // Deployed by, and shown in every report: it must be a digest, not whatever the header held.
      if (!isDigest(digest))
        throw new RunwayError(
          `The registry answered ${formatImage(this.image, 'tag')} with a Docker-Content-Digest that is not a digest: ${Untrusted.of(digest).forLog(100)}`,
          'Check the registry (or the proxy in front of it): a digest is sha256: and 64 hexadecimal digits.',
        );
      return digest;
    }
    // The header is optional (distribution spec): the digest of the bytes served is the truth.
    const got = await this.send('GET', this.url(`manifests/${tag}`), { accept });
    return `sha256:${createHash('sha256').update(got.body).digest('hex')}`;
  }

  /** Starts a blob upload and cancels it: the registry's own answer to "may I push here?". */
  async provePush(): Promise<void> {
    const started = await this.send('POST', this.url('blobs/uploads/'));
    const location = started.headers.get('location');
    if (location) {
      const upload = new URL(location, registryBaseUrl(this.image.host)).toString();
      await this.send('DELETE', upload).catch(() => undefined);
    }
  }
}

/** Resolves a tag to its digest; an image that cannot be resolved fails with the registry's answer. */
export async function resolveDigest(image: ImageReference, auth: RegistryAuth): Promise<string> {
  if (image.digest) return image.digest;
  const name = formatImage(image, 'tag');
  try {
    const digest = await new RepositoryClient(image, auth, 'pull').digestOf(image.tag ?? 'latest');
    core.debug(`${name} is ${digest}`);
    return digest;
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    if (err.httpStatus === 404) {
      throw new RunwayError(
        `Image ${name} was not found in the registry (${err.message}).`,
        'Check the `image` input: the tag must exist (push it first), or build it with `context` + `repository`.',
        { cause: err },
      );
    }
    const fix =
      auth.kind === 'google'
        ? 'Grant the deploying identity roles/artifactregistry.reader on the repository.'
        : 'Runway reads images outside Google registries anonymously: the image must be public, or mirror it to Artifact Registry (Cloud Run pulls only from Artifact Registry and public registries).';
    throw new RunwayError(`The registry refused to resolve ${name}: ${err.message}`, fix, {
      cause: err,
    });
  }
}

/**
 * Proves, before anything is built, that the credentials may push to the repository: a missing
 * roles/artifactregistry.writer or a repository that does not exist fails here, not at the push.
 */
export async function provePushAccess(
  image: ImageReference,
  accessToken: () => Promise<string>,
  identity: string,
): Promise<void> {
  try {
    await new RepositoryClient(image, { kind: 'google', accessToken }, 'push,pull').provePush();
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    const { project, location, repository } = artifactRepository(image);
    if (err.httpStatus === 404 || err.code === 'NAME_UNKNOWN') {
      throw new RunwayError(
        `The \`repository\` input names an Artifact Registry repository that does not exist: ${err.message}`,
        `Create it (gcloud artifacts repositories create ${repository} --repository-format=docker --location=${location} --project=${project}), or fix the \`repository\` input.`,
        { cause: err },
      );
    }
    if (err.httpStatus === 403 || err.httpStatus === 401) {
      throw new RunwayError(
        `${identity} may not push to repository ${repository} of project ${project} (the \`repository\` input): ${err.message}`,
        // Artifact Registry answers 403 "(or it may not exist)" when it will not say which.
        `Grant it roles/artifactregistry.writer on the repository:\n  gcloud artifacts repositories add-iam-policy-binding ${repository} --project=${project} --location=${location} --role=roles/artifactregistry.writer --member=${identity.includes(':') ? identity : `serviceAccount:${identity}`}\nIf the repository does not exist yet, create it: gcloud artifacts repositories create ${repository} --repository-format=docker --location=${location} --project=${project}`,
        { cause: err },
      );
    }
    throw new RunwayError(`Could not check the right to push to ${image.host}: ${err.message}`, undefined, {
      cause: err,
    });
  }
}
