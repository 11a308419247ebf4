// A small Resource Manager client: a project's number (which names its default compute service
// account, what a revision runs as when no account is set), the project's IAM policy, and which
// permissions the caller holds on the project.
import { endpoint } from './endpoints.js';
import { requestJson } from '../common/http.js';
import type { IamPolicy } from './policy.js';

export class ProjectsClient {
  private readonly base: string;
  private readonly token: () => Promise<string>;

  constructor(token: () => Promise<string>, base = endpoint('cloudresourcemanager')) {
    this.base = base;
    this.token = token;
  }

  /** The project's number (resourcemanager.projects.get, which the Cloud Run roles hold). */
  async projectNumber(project: string): Promise<string> {
    const answer = await requestJson<{ projectNumber?: string }>(
      `${this.base}v1/projects/${encodeURIComponent(project)}`,
      { token: this.token },
    );
    if (!answer.projectNumber) throw new Error(`Resource Manager named no number for project ${project}`);
    return answer.projectNumber;
  }

  /** The project's own policy (resourcemanager.projects.getIamPolicy); not its folders' or organization's. */
  getIamPolicy(project: string): Promise<IamPolicy> {
    return requestJson<IamPolicy>(`${this.base}v1/projects/${encodeURIComponent(project)}:getIamPolicy`, {
      token: this.token,
      method: 'POST',
      body: { options: { requestedPolicyVersion: 3 } },
      // Reading changes nothing, so a timed-out attempt may be retried.
      idempotent: true,
    });
  }

  /**
   * The subset of `permissions` the caller holds on the project, from its policy and those it
   * inherits (projects.testIamPermissions, which needs no permission of its own).
   */
  async testIamPermissions(project: string, permissions: string[]): Promise<string[]> {
    const answer = await requestJson<{ permissions?: string[] }>(
      `${this.base}v1/projects/${encodeURIComponent(project)}:testIamPermissions`,
      // Asking changes nothing, so a timed-out attempt may be retried.
      { token: this.token, method: 'POST', body: { permissions }, idempotent: true },
    );
    return answer.permissions ?? [];
  }
}
