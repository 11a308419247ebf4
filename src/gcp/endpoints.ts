// Where each Google API lives. gcloud's CLOUDSDK_API_ENDPOINT_OVERRIDES_<API> variables point
// Runway at another endpoint (the local emulator, a private endpoint); otherwise Google's own.
export type GoogleApi =
  'sts' | 'iamcredentials' | 'iam' | 'run' | 'secretmanager' | 'cloudresourcemanager' | 'logging';

export function endpoint(api: GoogleApi, env: NodeJS.ProcessEnv = process.env): string {
  const override = env[`CLOUDSDK_API_ENDPOINT_OVERRIDES_${api.toUpperCase()}`];
  const base = override && override.trim() !== '' ? override.trim() : `https://${api}.googleapis.com/`;
  return base.endsWith('/') ? base : `${base}/`;
}
