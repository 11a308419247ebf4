// A small Secret Manager client: only version metadata, never a secret's payload — Runway checks
// that what the service will reference exists, and leaves reading values to Cloud Run.
import { endpoint } from './endpoints.js';
import { requestJson } from '../common/http.js';

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
    const path = secret.startsWith('projects/') ? secret : `projects/${project}/secrets/${secret}`;
    return requestJson<SecretVersion>(`${this.base}v1/${path}/versions/${version}`, { token: this.token });
  }
}
