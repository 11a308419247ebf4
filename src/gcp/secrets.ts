// A small Secret Manager client: only version metadata and a secret's IAM policy, never a secret's
// payload — Runway checks that what the service will reference exists and that the runtime account
// may read it, and leaves reading values to Cloud Run.
import { endpoint } from './endpoints.js';
import { requestJson } from '../common/http.js';
import type { IamPolicy } from './policy.js';

export interface SecretVersion {
  name: string;
  state: 'ENABLED' | 'DISABLED' | 'DESTROYED' | string;
}

export class SecretManagerClient {
  private readonly base: string;
  private readonly token: () => Promise<string>;

  constructor(token: () => Promise<string>, base = endpoint('secretmanager')) {
    this.base = base;
    this.token = token;
  }

  /** `secret` is a name in `project` or projects/P/secrets/NAME. */
  getVersion(project: string, secret: string, version: string): Promise<SecretVersion> {
    return requestJson<SecretVersion>(`${this.base}v1/${secretPath(project, secret)}/versions/${version}`, {
      token: this.token,
    });
  }

  /** Who may do what with the secret (secretmanager.secrets.getIamPolicy, in roles/secretmanager.viewer). */
  getIamPolicy(project: string, secret: string): Promise<IamPolicy> {
    // Version 3 shows conditional bindings as they are, rather than refusing or hiding them.
    return requestJson<IamPolicy>(`${this.base}v1/${secretPath(project, secret)}:getIamPolicy`, {
      token: this.token,
      query: { 'options.requestedPolicyVersion': '3' },
    });
  }
}

/** projects/P/secrets/NAME for a secret named in `project` or by its full name. */
export function secretPath(project: string, secret: string): string {
  return secret.startsWith('projects/') ? secret : `projects/${project}/secrets/${secret}`;
}
