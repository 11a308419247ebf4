// Where each Google API lives. gcloud's CLOUDSDK_API_ENDPOINT_OVERRIDES_<API> variables point
// Runway at another endpoint (the local emulator, a private endpoint); otherwise Google's own.
export type GoogleApi =
  | 'sts'
  | 'iamcredentials'
  | 'iam'
  | 'run'
  | 'secretmanager'
  | 'cloudresourcemanager'
  | 'logging'
  | 'cloudbuild'
  | 'storage';

export function endpoint(api: GoogleApi, env: NodeJS.ProcessEnv = process.env): string {
  const override = env[`CLOUDSDK_API_ENDPOINT_OVERRIDES_${api.toUpperCase()}`];
  const base = override && override.trim() !== '' ? override.trim() : `https://${api}.googleapis.com/`;
  return base.endsWith('/') ? base : `${base}/`;
}

/**
 * Cloud Storage's JSON API root. gcloud's override for it names the root itself, version path
 * included (https://storage.googleapis.com/storage/v1/); uploads go to the same host under
 * /upload/storage/v1/.
 */
export function storageEndpoints(env: NodeJS.ProcessEnv = process.env): { api: string; upload: string } {
  const override = env.CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE?.trim();
  const api = override
    ? override.endsWith('/')
      ? override
      : `${override}/`
    : 'https://storage.googleapis.com/storage/v1/';
  const root = api.replace(/storage\/v1\/$/, '');
  return { api, upload: `${root}upload/storage/v1/` };
}
