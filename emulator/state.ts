// The emulator's world: projects, service accounts, IAM bindings, Workload Identity pools,
// secrets, issued tokens and GitHub data. Seeded at start and through POST /__admin/seed.
import { randomBytes } from 'node:crypto';
import type { Binding, Principal } from './iam.js';
import { isAllowed } from './iam.js';
import { LogStore } from './logging/store.js';

export interface ProjectSeed {
  projectId: string;
  projectNumber: string;
}

export interface ProviderSeed {
  projectNumber: string;
  pool: string;
  provider: string;
  issuerUri: string;
  /** Allowed audiences; empty means the default https://iam.googleapis.com/<provider name>. */
  allowedAudiences?: string[];
  attributeMapping: Record<string, string>;
  attributeCondition?: string;
  disabled?: boolean;
}

export interface SecretVersionSeed {
  data: string;
  state?: 'ENABLED' | 'DISABLED' | 'DESTROYED';
}

export interface SecretSeed {
  project: string;
  name: string;
  versions: SecretVersionSeed[];
}

export interface BindingSeed {
  /** projects/P, projects/P/serviceAccounts/EMAIL, projects/P/secrets/S, projects/P/locations/L/repositories/R */
  resource: string;
  role: string;
  members: string[];
}

export type GitHubScope = 'issues' | 'pull_requests' | 'deployments' | 'statuses';
export type GitHubAccess = 'none' | 'read' | 'write';

/** An Artifact Registry repository (Docker format); pushes elsewhere are refused as on Google. */
export interface RepositorySeed {
  /** Project ID or number. */
  project: string;
  location: string;
  name: string;
}

export interface GitHubSeed {
  repository?: string;
  /** Installation tokens (like the job's GITHUB_TOKEN): they act as github-actions[bot]. */
  tokens?: string[];
  /** What an installation token may do, when not everything (`permissions:` in a workflow). */
  tokenPermissions?: Record<string, Partial<Record<GitHubScope, GitHubAccess>>>;
  /** Personal access tokens and the user each acts as. */
  personalTokens?: Record<string, string>;
  /** GitHub App installation tokens and the App's slug: each acts as SLUG[bot]. */
  appTokens?: Record<string, string>;
  pullRequest?: number;
  /** Comments already on an issue or pull request, by someone else. */
  comments?: Array<{ issue: number; body: string; user: { login: string; type: 'User' | 'Bot' } }>;
}

export interface Seed {
  projects?: ProjectSeed[];
  serviceAccounts?: string[];
  providers?: ProviderSeed[];
  bindings?: BindingSeed[];
  /** Removes members from bindings (same shape as bindings). */
  revoke?: BindingSeed[];
  secrets?: SecretSeed[];
  repositories?: RepositorySeed[];
  /**
   * Caps the lifetime of every access, federated and GitHub OIDC token issued from now on, in seconds (Google:
   * up to 3600; Direct Workload Identity tokens live as long as the job's 5-minute OIDC token).
   * Tests seed a short one to prove a long build does not outlive its registry credential.
   */
  tokenLifetimeSeconds?: number;
  github?: GitHubSeed;
  /** Claims to set (or override) in GitHub OIDC tokens issued from now on, e.g. {repository_owner: 'evil'}. */
  oidcClaims?: Record<string, string>;
  /** Cloud Run services to create as if deployed earlier (handled by the Run API). */
  services?: unknown[];
}

export interface SecretVersion {
  number: number;
  data: Buffer;
  /** The writer sent a CRC32C of the payload, which the API checked. */
  clientChecksum?: boolean;
  state: 'ENABLED' | 'DISABLED' | 'DESTROYED';
  createTime: string;
  destroyTime?: string;
}

export interface Secret {
  project: string;
  name: string;
  createTime: string;
  versions: SecretVersion[];
  /** As created (automatic unless the creator chose user-managed replicas). */
  replication?: Record<string, unknown>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface IssuedToken {
  principal: Principal;
  expiresAt: number;
  /** sts = a federated token, access = an OAuth2 access token for a service account. */
  kind: 'sts' | 'access';
}

export interface GitHubComment {
  id: number;
  node_id: string;
  body: string;
  user: { login: string; type: string };
  created_at: string;
  updated_at: string;
  html_url: string;
  url: string;
}

export interface GitHubDeployment {
  id: number;
  ref: string;
  sha: string;
  environment: string;
  description: string | null;
  transient_environment: boolean;
  production_environment: boolean;
  payload: unknown;
  created_at: string;
  statuses: GitHubDeploymentStatus[];
}

export interface GitHubDeploymentStatus {
  id: number;
  state: string;
  environment_url: string;
  log_url: string;
  description: string;
  environment: string;
  created_at: string;
}

export interface GitHubCommitStatus {
  id: number;
  sha: string;
  state: string;
  context: string;
  description: string | null;
  target_url: string | null;
  created_at: string;
}

/** An object of a bucket: its bytes and what the JSON API reports of them. */
export interface StorageObject {
  name: string;
  data: Buffer;
  contentType: string;
  generation: string;
  created: string;
}

export interface StorageBucket {
  name: string;
  /** The owning project's ID. */
  project: string;
  /** Upper case, as Cloud Storage reports it (US-CENTRAL1). */
  location: string;
  uniformAccess: boolean;
  created: string;
  objects: Map<string, StorageObject>;
  /**
   * Cloud Build's default logs bucket (gs://NUMBER.cloudbuild-logs.googleusercontent.com): Google's,
   * not the project's, so buckets.list leaves it out; its legacy ACL lets the project's viewers
   * read its objects, which is why streaming a build's log needs the Viewer role.
   */
  cloudBuildLogs?: boolean;
}

export class World {
  /** Cloud Logging's entries: every revision container's output, and whatever else writes there. */
  readonly logs = new LogStore();
  projects = new Map<string, ProjectSeed>();
  serviceAccounts = new Set<string>();
  providers: ProviderSeed[] = [];
  /** Workload Identity pools by name (projects/NUM/locations/global/workloadIdentityPools/POOL). */
  pools = new Map<string, { displayName?: string; description?: string; disabled?: boolean }>();
  /** What gcloud iam service-accounts create recorded beyond the email. */
  serviceAccountDetails = new Map<string, { displayName?: string; description?: string; uniqueId: string }>();
  /** Services enabled through Service Usage, per project ID, beyond those always enabled. */
  enabledServices = new Map<string, Set<string>>();
  /** Long-running operations the set-up APIs started, by name (they finish at once). */
  operations = new Map<string, unknown>();
  /** resource name → bindings on it. */
  bindings = new Map<string, Binding[]>();
  secrets = new Map<string, Secret>();
  tokens = new Map<string, IssuedToken>();
  /** `PROJECT_ID/NAME` → the repository (the registry front serves every location on one host). */
  repositories = new Map<string, RepositorySeed>();
  /** Cloud Storage buckets by name (bucket names are global, not per project). */
  buckets = new Map<string, StorageBucket>();
  tokenLifetimeSeconds: number | undefined;
  oidcClaimOverrides: Record<string, string> = {};
  github = {
    repository: 'octo-org/octo-repo',
    tokens: new Set<string>(),
    tokenPermissions: new Map<string, Partial<Record<GitHubScope, GitHubAccess>>>(),
    personalTokens: new Map<string, string>(),
    appTokens: new Map<string, string>(),
    pullRequest: 7,
    comments: new Map<number, GitHubComment[]>(),
    deployments: [] as GitHubDeployment[],
    commitStatuses: [] as GitHubCommitStatus[],
    nextId: 1000,
  };

  apply(seed: Seed): void {
    for (const p of seed.projects ?? []) this.projects.set(p.projectId, p);
    for (const sa of seed.serviceAccounts ?? []) this.serviceAccounts.add(sa);
    for (const p of seed.providers ?? []) {
      this.providers = this.providers.filter((x) => providerName(x) !== providerName(p));
      this.providers.push(p);
      if (!this.pools.has(poolName(p))) this.pools.set(poolName(p), {});
    }
    for (const b of seed.bindings ?? [])
      this.addBinding(this.canonicalResource(b.resource), b.role, b.members);
    for (const b of seed.revoke ?? [])
      this.removeBinding(this.canonicalResource(b.resource), b.role, b.members);
    for (const s of seed.secrets ?? []) this.putSecret(s);
    for (const r of seed.repositories ?? []) {
      const project = this.projectId(r.project) ?? r.project;
      this.repositories.set(`${project}/${r.name}`, { ...r, project });
    }
    if (seed.tokenLifetimeSeconds !== undefined) this.tokenLifetimeSeconds = seed.tokenLifetimeSeconds;
    if (seed.github?.repository) this.github.repository = seed.github.repository;
    for (const t of seed.github?.tokens ?? []) this.github.tokens.add(t);
    for (const [t, p] of Object.entries(seed.github?.tokenPermissions ?? {})) {
      this.github.tokens.add(t);
      this.github.tokenPermissions.set(t, p);
    }
    for (const [t, login] of Object.entries(seed.github?.personalTokens ?? {}))
      this.github.personalTokens.set(t, login);
    for (const [t, slug] of Object.entries(seed.github?.appTokens ?? {})) this.github.appTokens.set(t, slug);
    if (seed.github?.pullRequest) this.github.pullRequest = seed.github.pullRequest;
    for (const c of seed.github?.comments ?? []) {
      const id = this.github.nextId++;
      const at = new Date().toISOString();
      const comment: GitHubComment = {
        id,
        node_id: `IC_${id}`,
        body: c.body,
        user: c.user,
        created_at: at,
        updated_at: at,
        html_url: `https://github.com/${this.github.repository}/pull/${c.issue}#issuecomment-${id}`,
        url: `https://api.github.com/repos/${this.github.repository}/issues/comments/${id}`,
      };
      this.github.comments.set(c.issue, [...(this.github.comments.get(c.issue) ?? []), comment]);
    }
    if (seed.oidcClaims) this.oidcClaimOverrides = { ...this.oidcClaimOverrides, ...seed.oidcClaims };
  }

  putSecret(s: SecretSeed): void {
    const project = this.projectId(s.project) ?? s.project;
    const now = new Date().toISOString();
    const key = `projects/${project}/secrets/${s.name}`;
    const existing = this.secrets.get(key);
    const secret: Secret = existing ?? { project, name: s.name, createTime: now, versions: [] };
    for (const v of s.versions) {
      const state = v.state ?? 'ENABLED';
      secret.versions.push({
        number: secret.versions.length + 1,
        data: Buffer.from(v.data, 'utf8'),
        state,
        createTime: now,
        ...(state === 'DESTROYED' ? { destroyTime: now } : {}),
      });
    }
    this.secrets.set(key, secret);
  }

  /** Adds a version with this payload; returns it. */
  addSecretVersion(secret: Secret, data: Buffer): SecretVersion {
    const version: SecretVersion = {
      number: secret.versions.length + 1,
      data,
      state: 'ENABLED',
      createTime: new Date().toISOString(),
    };
    secret.versions.push(version);
    return version;
  }

  /** A secret goes with its versions and the IAM policy on it. */
  deleteSecret(key: string): void {
    this.secrets.delete(key);
    this.bindings.delete(key);
  }

  addBinding(resource: string, role: string, members: string[]): void {
    const list = this.bindings.get(resource) ?? [];
    const existing = list.find((b) => b.role === role);
    if (existing) {
      for (const m of members) if (!existing.members.includes(m)) existing.members.push(m);
    } else {
      list.push({ role, members: [...members] });
    }
    this.bindings.set(resource, list);
  }

  removeBinding(resource: string, role: string, members: string[]): void {
    const list = this.bindings.get(resource) ?? [];
    for (const b of list) if (b.role === role) b.members = b.members.filter((m) => !members.includes(m));
    this.bindings.set(
      resource,
      list.filter((b) => b.members.length > 0),
    );
  }

  /** Project ID for an ID or a number; undefined when unknown. */
  projectId(idOrNumber: string): string | undefined {
    if (this.projects.has(idOrNumber)) return idOrNumber;
    for (const p of this.projects.values()) if (p.projectNumber === idOrNumber) return p.projectId;
    return undefined;
  }

  /** Rewrites projects/NUMBER/... to projects/ID/... so bindings and lookups agree. */
  canonicalResource(resource: string): string {
    const m = /^projects\/([^/]+)(\/.*)?$/.exec(resource);
    if (!m) return resource;
    const id = this.projectId(m[1]!) ?? m[1]!;
    return `projects/${id}${m[2] ?? ''}`;
  }

  /** Bindings that apply to a resource: on it, and on its project. */
  bindingsInScope(resource: string, extra: Binding[] = []): Binding[] {
    const canonical = this.canonicalResource(resource);
    const project = /^projects\/[^/]+/.exec(canonical)?.[0];
    return [
      ...extra,
      ...(this.bindings.get(canonical) ?? []),
      ...(project && project !== canonical ? (this.bindings.get(project) ?? []) : []),
    ];
  }

  allowed(principal: Principal, permission: string, resource: string, extra: Binding[] = []): boolean {
    return isAllowed(principal, permission, this.bindingsInScope(resource, extra));
  }

  issueToken(
    principal: Principal,
    kind: IssuedToken['kind'],
    lifetimeSeconds: number,
  ): { token: string; expiresAt: number } {
    const token = `ya29.emu-${kind}-${randomBytes(24).toString('base64url')}`;
    const lifetime = Math.min(lifetimeSeconds, this.tokenLifetimeSeconds ?? lifetimeSeconds);
    const expiresAt = Date.now() + lifetime * 1000;
    this.tokens.set(token, { principal, expiresAt, kind });
    return { token, expiresAt };
  }

  /** Whether the emulator ever issued this token (live or expired): a Google credential. */
  isGoogleToken(token: string | undefined): boolean {
    return token !== undefined && this.tokens.has(token);
  }

  /** The principal behind a live access token, or undefined for unknown/expired tokens. */
  lookupToken(token: string | undefined): IssuedToken | undefined {
    if (!token) return undefined;
    const issued = this.tokens.get(token);
    if (!issued || issued.expiresAt <= Date.now()) return undefined;
    return issued;
  }

  snapshot(): unknown {
    return {
      projects: [...this.projects.values()],
      serviceAccounts: [...this.serviceAccounts],
      providers: this.providers,
      bindings: Object.fromEntries(this.bindings),
      repositories: [...this.repositories.values()],
      secrets: [...this.secrets.values()].map((s) => ({
        project: s.project,
        name: s.name,
        versions: s.versions.map((v) => ({ number: v.number, state: v.state })),
      })),
      github: {
        repository: this.github.repository,
        pullRequest: this.github.pullRequest,
        comments: Object.fromEntries(this.github.comments),
        deployments: this.github.deployments,
        commitStatuses: this.github.commitStatuses,
      },
    };
  }
}

export function providerName(p: Pick<ProviderSeed, 'projectNumber' | 'pool' | 'provider'>): string {
  return `projects/${p.projectNumber}/locations/global/workloadIdentityPools/${p.pool}/providers/${p.provider}`;
}

export function poolName(p: Pick<ProviderSeed, 'projectNumber' | 'pool'>): string {
  return `projects/${p.projectNumber}/locations/global/workloadIdentityPools/${p.pool}`;
}
