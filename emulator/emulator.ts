// Starts every emulated API on its own 127.0.0.1 port, seeds the default world, and tears it all
// down (containers included) on stop.
import { mkdtemp, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireCaller, type EmulatorContext, type EmulatorUrls } from './context.js';
import { startApiServer, Traffic, type ApiRequest, type StartedServer } from './http.js';
import { SigningKey } from './keys.js';
import { World, type Seed } from './state.js';
import { defaultSeed, DEFAULTS } from './seed.js';
import { oidcRoutes } from './apis/oidc.js';
import { stsRoutes } from './apis/sts.js';
import { iamCredentialsRoutes } from './apis/iamcredentials.js';
import { secretManagerRoutes } from './apis/secretmanager.js';
import { githubRoutes } from './apis/github.js';
import { adminRoutes } from './apis/admin.js';
import { serviceUsageRoutes } from './apis/serviceusage.js';
import { iamRoutes } from './apis/iam.js';
import { resourceManagerRoutes } from './apis/resourcemanager.js';
import { artifactRegistryRoutes } from './apis/artifactregistry.js';
import { loggingRoutes } from './apis/logging.js';
import { storageRoutes } from './apis/storage.js';
import { Builds } from './run/builds.js';
import { gcloudEnvironment, STORAGE_DOWNLOAD_HOST, writeGcloudSetup, type GcloudSetup } from './gcloud.js';
import { startRegionalProxy } from './proxy.js';
import { CloudRun } from './run/cloudrun.js';
import { Registries, REGISTRY_USERS } from './registry/registry.js';

export interface EmulatorOptions {
  /** Seconds a new revision's container gets to start listening before the revision fails. */
  startupTimeoutSeconds?: number;
}

export class Emulator {
  readonly ctx: EmulatorContext;
  readonly run: CloudRun;
  readonly builds: Builds;
  private readonly registry: Registries;
  private readonly servers: StartedServer[];
  /** gcloud's credentials file, config directory and proxy (set once every API listens). */
  private gcloud: { setup: GcloudSetup; proxyPort: number } | undefined;

  private constructor(ctx: EmulatorContext, run: CloudRun, registry: Registries, servers: StartedServer[]) {
    this.ctx = ctx;
    this.run = run;
    this.builds = new Builds(ctx);
    this.registry = registry;
    this.servers = servers;
  }

  static async start(options: EmulatorOptions = {}): Promise<Emulator> {
    const workDir = await mkdtemp(join(tmpdir(), 'runway-emulator-'));
    const traffic = new Traffic();
    const urls = {} as EmulatorUrls;
    const ctx: EmulatorContext = {
      world: new World(),
      traffic,
      githubOidcKey: await SigningKey.generate(),
      googleKey: await SigningKey.generate(),
      urls,
      registryHost: '',
      publicRegistryHost: '',
      privateRegistryHost: '',
      workDir,
    };

    const registry = await Registries.start(ctx);
    ctx.registryHost = registry.google.host;
    ctx.publicRegistryHost = registry.publicRegistry.host;
    ctx.privateRegistryHost = registry.privateRegistry.host;
    urls.registry = `http://${registry.google.host}`;
    urls['registry-public'] = `http://${registry.publicRegistry.host}`;
    urls['registry-private'] = `http://${registry.privateRegistry.host}`;

    const run = new CloudRun(ctx, { startupTimeoutSeconds: options.startupTimeoutSeconds ?? 20 });
    const emulator = new Emulator(ctx, run, registry, []);

    const authenticate = (req: ApiRequest): void => void requireCaller(ctx, req);
    const servers: Array<[keyof EmulatorUrls, Parameters<typeof startApiServer>[0]]> = [
      ['oidc', { api: 'oidc', format: 'github', routes: oidcRoutes(ctx), traffic }],
      ['sts', { api: 'sts', format: 'oauth', routes: stsRoutes(ctx), traffic }],
      [
        'iamcredentials',
        { api: 'iamcredentials', format: 'google', routes: iamCredentialsRoutes(ctx), traffic, authenticate },
      ],
      [
        'run',
        {
          api: 'run',
          format: 'google',
          routes: [...emulator.builds.runRoutes(), ...run.routes()],
          traffic,
          authenticate,
        },
      ],
      ['storage', { api: 'storage', format: 'google', routes: storageRoutes(ctx), traffic, authenticate }],
      [
        'cloudbuild',
        {
          api: 'cloudbuild',
          format: 'google',
          routes: emulator.builds.cloudBuildRoutes(),
          traffic,
          authenticate,
        },
      ],
      [
        'secretmanager',
        { api: 'secretmanager', format: 'google', routes: secretManagerRoutes(ctx), traffic, authenticate },
      ],
      [
        'serviceusage',
        { api: 'serviceusage', format: 'google', routes: serviceUsageRoutes(ctx), traffic, authenticate },
      ],
      ['iam', { api: 'iam', format: 'google', routes: iamRoutes(ctx), traffic, authenticate }],
      [
        'cloudresourcemanager',
        {
          api: 'cloudresourcemanager',
          format: 'google',
          routes: resourceManagerRoutes(ctx),
          traffic,
          authenticate,
        },
      ],
      [
        'artifactregistry',
        {
          api: 'artifactregistry',
          format: 'google',
          routes: artifactRegistryRoutes(ctx),
          traffic,
          authenticate,
        },
      ],
      ['logging', { api: 'logging', format: 'google', routes: loggingRoutes(ctx), traffic }],
      ['github', { api: 'github', format: 'github', routes: githubRoutes(ctx), traffic }],
      ['admin', { api: 'admin', format: 'google', routes: adminRoutes(ctx, emulator), traffic }],
    ];
    for (const [name, options] of servers) {
      const started = await startApiServer(options);
      urls[name] = started.url;
      emulator.servers.push(started);
    }
    const setup = await writeGcloudSetup(
      workDir,
      {
        provider: DEFAULTS.providerName,
        oidcRequestUrl: emulator.oidcRequestUrl(),
        oidcRequestToken: DEFAULTS.oidcRequestToken,
        stsUrl: `${urls.sts}/`,
        iamCredentialsUrl: `${urls.iamcredentials}/`,
        serviceAccount: DEFAULTS.deployer,
      },
      DEFAULTS.owner,
    );
    const storagePort = Number(new URL(urls.storage).port);
    const proxy = await startRegionalProxy({
      intercept: setup.storageTls
        ? [{ authority: `${STORAGE_DOWNLOAD_HOST}:443`, port: storagePort, ...setup.storageTls }]
        : [],
    });
    emulator.servers.push(proxy);
    emulator.gcloud = { setup, proxyPort: proxy.port };
    await emulator.reset();
    return emulator;
  }

  /** Back to the default world: every service and container removed, logs and faults cleared. */
  async reset(): Promise<void> {
    await this.run.reset();
    this.builds.reset();
    this.ctx.traffic.clear();
    const world = new World();
    this.ctx.world = world;
    world.apply(defaultSeed(this.ctx));
    // gcloud keeps the access tokens it was given in its config directory, which is the emulator's
    // own: a token of the world just dropped would be refused (401), as Google refuses an unknown one.
    if (this.gcloud)
      for (const cache of ['access_tokens.db', 'credentials.db'])
        rmSync(join(this.gcloud.setup.configDir, cache), { force: true });
  }

  async seed(seed: Seed): Promise<void> {
    this.ctx.world.apply(seed);
    if (seed.services?.length) await this.run.seedServices(seed.services);
  }

  private oidcRequestUrl(): string {
    return `${this.ctx.urls.oidc}/_apis/actions/idtoken?api-version=2.0`;
  }

  /**
   * Everything a process needs to point the action at this emulator, as environment variables;
   * with them, the installed gcloud works too, as the deployer (gcloud.ts).
   */
  environment(eventPath: string): Record<string, string> {
    const { urls } = this.ctx;
    const d = DEFAULTS;
    if (!this.gcloud) throw new Error('the emulator has not started');
    return {
      ACTIONS_ID_TOKEN_REQUEST_URL: this.oidcRequestUrl(),
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: d.oidcRequestToken,
      ...gcloudEnvironment({
        setup: this.gcloud.setup,
        project: d.projectId,
        region: d.region,
        proxyPort: this.gcloud.proxyPort,
        endpoints: urls,
      }),
      GITHUB_API_URL: urls.github,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_TOKEN: d.githubToken,
      GITHUB_REPOSITORY: d.repository,
      GITHUB_REPOSITORY_OWNER: d.repository.split('/')[0]!,
      GITHUB_SHA: d.sha,
      GITHUB_REF: `refs/pull/${d.pullRequest}/merge`,
      GITHUB_HEAD_REF: 'feature',
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_RUN_ID: d.runId,
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_WORKFLOW: 'deploy',
      GITHUB_ACTOR: 'octocat',
      GITHUB_JOB: 'deploy',
      RUNWAY_EMULATOR_URL: `${urls.admin}/__admin`,
      RUNWAY_EMULATOR_PROJECT: d.projectId,
      RUNWAY_EMULATOR_PROJECT_NUMBER: d.projectNumber,
      RUNWAY_EMULATOR_WIF_PROVIDER: d.providerName,
      RUNWAY_EMULATOR_SERVICE_ACCOUNT: d.deployer,
      RUNWAY_EMULATOR_RUNTIME_SERVICE_ACCOUNT: d.runtime,
      RUNWAY_EMULATOR_REPOSITORY: `${this.ctx.registryHost}/${d.projectId}/${d.repositoryName}`,
      // Runway sends Google tokens only to Google's registry hosts, and to these (comma-separated).
      RUNWAY_GOOGLE_REGISTRIES: this.ctx.registryHost,
      RUNWAY_EMULATOR_PUBLIC_REGISTRY: this.ctx.publicRegistryHost,
      RUNWAY_EMULATOR_PUBLIC_REGISTRY_USER: REGISTRY_USERS.public.user,
      RUNWAY_EMULATOR_PUBLIC_REGISTRY_PASSWORD: REGISTRY_USERS.public.password,
      RUNWAY_EMULATOR_PRIVATE_REGISTRY: this.ctx.privateRegistryHost,
      RUNWAY_EMULATOR_PRIVATE_REGISTRY_USER: REGISTRY_USERS.private.user,
      RUNWAY_EMULATOR_PRIVATE_REGISTRY_PASSWORD: REGISTRY_USERS.private.password,
    };
  }

  /** The pull_request event payload GitHub would write to GITHUB_EVENT_PATH. */
  pullRequestEvent(): unknown {
    const d = DEFAULTS;
    const [owner, name] = d.repository.split('/');
    return {
      action: 'synchronize',
      number: d.pullRequest,
      pull_request: {
        number: d.pullRequest,
        head: { sha: d.sha, ref: 'feature', repo: { full_name: d.repository } },
        base: { ref: 'main', repo: { full_name: d.repository } },
        html_url: `https://github.com/${d.repository}/pull/${d.pullRequest}`,
      },
      repository: { name, owner: { login: owner }, full_name: d.repository },
    };
  }

  async stop(): Promise<void> {
    await this.run.shutdown();
    await Promise.all(this.servers.map((s) => s.close()));
    await this.registry.stop();
    await rm(this.ctx.workDir, { recursive: true, force: true });
  }
}
