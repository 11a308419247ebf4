// A small IAM client: which of some permissions the caller holds on a service account
// (testIamPermissions), so preflight can prove `actAs` on the runtime account before the build.
import { endpoint } from './endpoints.js';
import { requestJson } from '../common/http.js';

export class IamClient {
  private readonly base: string;
  private readonly token: () => Promise<string>;

  constructor(token: () => Promise<string>, base = endpoint('iam')) {
    this.base = base;
    this.token = token;
  }

  /** The subset of `permissions` the caller holds on the account (any caller may ask). */
  async testServiceAccountPermissions(email: string, permissions: string[]): Promise<string[]> {
    const answer = await requestJson<{ permissions?: string[] }>(
      `${this.base}v1/projects/-/serviceAccounts/${encodeURIComponent(email)}:testIamPermissions`,
      // Asking changes nothing, so a timed-out attempt may be retried.
      { token: this.token, method: 'POST', body: { permissions }, idempotent: true },
    );
    return answer.permissions ?? [];
  }
}
