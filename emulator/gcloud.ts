// What the installed gcloud needs to run unmodified against the emulator, all in its own settings:
// the external_account credentials file google-github-actions/auth leaves for later steps, a
// private configuration directory, the endpoint overrides, the proxy that makes the regional
// Cloud Run hosts (REGION-127.0.0.1:PORT) reachable (see proxy.ts for why a proxy), and the
// certificate the proxy answers storage.googleapis.com with, which gcloud alone is told to trust.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface CredentialsSource {
  /** projects/NUM/locations/global/workloadIdentityPools/POOL/providers/PROVIDER */
  provider: string;
  /** The GitHub OIDC token endpoint with its query string (ACTIONS_ID_TOKEN_REQUEST_URL). */
  oidcRequestUrl: string;
  oidcRequestToken: string;
  /** Base URLs ending in '/'. */
  stsUrl: string;
  iamCredentialsUrl: string;
  /** The account to impersonate; without one the file is Direct Workload Identity. */
  serviceAccount?: string;
}

/**
 * The external_account configuration google-github-actions/auth writes (api-facts §3.3), its
 * endpoints on the emulator: the OIDC token comes from the request URL with the default audience,
 * STS exchanges it, IAM Credentials impersonates the account.
 */
export function externalAccountCredentials(source: CredentialsSource): Record<string, unknown> {
  const audience = `https://iam.googleapis.com/${source.provider}`;
  return {
    type: 'external_account',
    audience: `//iam.googleapis.com/${source.provider}`,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    token_url: `${source.stsUrl}v1/token`,
    credential_source: {
      url: `${source.oidcRequestUrl}&audience=${encodeURIComponent(audience)}`,
      headers: { Authorization: `Bearer ${source.oidcRequestToken}` },
      format: { type: 'json', subject_token_field_name: 'value' },
    },
    ...(source.serviceAccount
      ? {
          service_account_impersonation_url: `${source.iamCredentialsUrl}v1/projects/-/serviceAccounts/${source.serviceAccount}:generateAccessToken`,
        }
      : {}),
  };
}

export interface GcloudSetup {
  /** The deployer's: what gcloud uses. */
  credentialsFile: string;
  /** The project owner's, for what a deployer may not do (the guides' `gcloud secrets` steps). */
  ownerCredentialsFile: string;
  configDir: string;
  /**
   * A self-signed certificate for storage.googleapis.com, its key, and the file gcloud trusts it
   * from; absent when openssl could not make one (gcloud builds submit then cannot stream logs).
   */
  storageTls?: { key: string; cert: string; caFile: string };
}

/** The host gcloud builds submit reads build logs from, whatever the endpoint overrides say. */
export const STORAGE_DOWNLOAD_HOST = 'storage.googleapis.com';

/**
 * A key and self-signed certificate for `host` (its name in subjectAltName, as TLS clients check),
 * made by openssl: Node can sign, but has no API to write a certificate.
 */
async function selfSignedCertificate(
  dir: string,
  host: string,
): Promise<GcloudSetup['storageTls'] | undefined> {
  const keyFile = join(dir, `${host}.key`);
  const caFile = join(dir, `${host}.pem`);
  try {
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '30',
      '-subj',
      `/CN=${host}`,
      '-addext',
      `subjectAltName=DNS:${host}`,
      '-keyout',
      keyFile,
      '-out',
      caFile,
    ]);
    return { key: await readFile(keyFile, 'utf8'), cert: await readFile(caFile, 'utf8'), caFile };
  } catch {
    return undefined;
  }
}

async function writeCredentials(dir: string, source: CredentialsSource): Promise<string> {
  // Named as google-github-actions/auth names the files it leaves.
  const path = join(dir, `gha-creds-${randomBytes(6).toString('hex')}.json`);
  await writeFile(path, JSON.stringify(externalAccountCredentials(source), null, 2), { mode: 0o600 });
  return path;
}

/** Writes the deployer's and the owner's credentials files and an empty gcloud config directory. */
export async function writeGcloudSetup(
  workDir: string,
  source: CredentialsSource & { serviceAccount: string },
  owner: string,
): Promise<GcloudSetup> {
  const dir = join(workDir, 'gcloud');
  const configDir = join(dir, 'config');
  await mkdir(configDir, { recursive: true });
  const storageTls = await selfSignedCertificate(dir, STORAGE_DOWNLOAD_HOST);
  return {
    credentialsFile: await writeCredentials(dir, source),
    ownerCredentialsFile: await writeCredentials(dir, { ...source, serviceAccount: owner }),
    configDir,
    ...(storageTls ? { storageTls } : {}),
  };
}

/**
 * gcloud's own settings (any property can come from CLOUDSDK_SECTION_PROPERTY): where each API is,
 * who the caller is, which project and region, and the proxy for the regional hosts. gcloud checks
 * for updates on its own; that would leave the machine, so it is switched off.
 */
export function gcloudEnvironment(options: {
  setup: GcloudSetup;
  project: string;
  region: string;
  proxyPort: number;
  endpoints: Record<
    | 'run'
    | 'secretmanager'
    | 'iamcredentials'
    | 'sts'
    | 'serviceusage'
    | 'iam'
    | 'cloudresourcemanager'
    | 'artifactregistry'
    | 'logging'
    | 'storage'
    | 'cloudbuild',
    string
  >;
}): Record<string, string> {
  const { setup, endpoints } = options;
  return {
    CLOUDSDK_API_ENDPOINT_OVERRIDES_STS: `${endpoints.sts}/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS: `${endpoints.iamcredentials}/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN: `${endpoints.run}/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER: `${endpoints.secretmanager}/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_SERVICEUSAGE: `${endpoints.serviceusage}/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM: `${endpoints.iam}/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER: `${endpoints.cloudresourcemanager}/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY: `${endpoints.artifactregistry}/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING: `${endpoints.logging}/`,
    // gcloud's storage override is the JSON API's root, version path included.
    CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE: `${endpoints.storage}/storage/v1/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD: `${endpoints.cloudbuild}/`,
    CLOUDSDK_PROXY_TYPE: 'http',
    CLOUDSDK_PROXY_ADDRESS: '127.0.0.1',
    CLOUDSDK_PROXY_PORT: String(options.proxyPort),
    // Only gcloud reads it, and gcloud's one HTTPS host here is the proxy's storage.googleapis.com.
    ...(setup.storageTls ? { CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE: setup.storageTls.caFile } : {}),
    CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: setup.credentialsFile,
    GOOGLE_GHA_CREDS_PATH: setup.credentialsFile,
    RUNWAY_EMULATOR_OWNER_CREDENTIALS: setup.ownerCredentialsFile,
    CLOUDSDK_CONFIG: setup.configDir,
    CLOUDSDK_CORE_PROJECT: options.project,
    CLOUDSDK_RUN_REGION: options.region,
    CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: '1',
  };
}
