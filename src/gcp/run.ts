// A small typed client for the Cloud Run Admin API v2 (REST): the calls Runway makes, over the
// shared HTTP/retry layer. Long-running operations are awaited with operations.wait, not polling.
import { endpoint } from './endpoints.js';
import { GoogleApiError, requestJson, type RequestOptions } from '../common/http.js';
import type {
  Execution,
  IamPolicy,
  Job,
  Operation,
  Revision,
  Service,
  SubmitBuildRequest,
  SubmitBuildResponse,
  Task,
  TrafficTarget,
} from './run-types.js';

export interface ServiceRef {
  project: string;
  region: string;
  service: string;
}

export function serviceName(ref: ServiceRef): string {
  return `projects/${ref.project}/locations/${ref.region}/services/${ref.service}`;
}

export interface JobRef {
  project: string;
  region: string;
  job: string;
}

export function jobName(ref: JobRef): string {
  return `projects/${ref.project}/locations/${ref.region}/jobs/${ref.job}`;
}

/** The Cloud Run calls a rollout makes: the port its executor applies steps through. */
export type CloudRunApi = Pick<
  CloudRunClient,
  | 'getService'
  | 'createService'
  | 'updateService'
  | 'updateTraffic'
  | 'updateAnnotations'
  | 'updateSettings'
  | 'waitOperation'
  | 'deleteService'
  | 'deleteRevision'
  | 'getRevision'
  | 'listRevisions'
  | 'getIamPolicy'
  | 'setIamPolicy'
  | 'testIamPermissions'
>;

export class CloudRunClient {
  private readonly base: string;
  private readonly token: () => Promise<string>;
  private readonly transport: typeof fetch | undefined;

  /** `transport` replaces the global fetch, for tests that run the API in-process. */
  constructor(token: () => Promise<string>, base = endpoint('run'), transport?: typeof fetch) {
    this.base = base;
    this.token = token;
    this.transport = transport;
  }

  private request<T>(url: string, options: RequestOptions): Promise<T> {
    return requestJson<T>(url, this.transport ? { ...options, fetch: this.transport } : options);
  }

  private url(path: string): string {
    return `${this.base}v2/${path}`;
  }

  /** The service, or undefined when it does not exist yet. */
  async getService(ref: ServiceRef): Promise<Service | undefined> {
    try {
      return await this.request<Service>(this.url(serviceName(ref)), { token: this.token });
    } catch (err) {
      if (err instanceof GoogleApiError && err.httpStatus === 404) return undefined;
      throw err;
    }
  }

  createService(ref: ServiceRef, service: Service, validateOnly = false): Promise<Operation> {
    return this.request<Operation>(this.url(`projects/${ref.project}/locations/${ref.region}/services`), {
      method: 'POST',
      token: this.token,
      query: { serviceId: ref.service, ...(validateOnly ? { validateOnly: 'true' } : {}) },
      body: service,
    });
  }

  /** Replaces the service's spec; the etag in `service` makes a concurrent change fail with 409 ABORTED. */
  updateService(ref: ServiceRef, service: Service, validateOnly = false): Promise<Operation> {
    return this.request<Operation>(this.url(serviceName(ref)), {
      method: 'PATCH',
      token: this.token,
      query: validateOnly ? { validateOnly: 'true' } : {},
      body: service,
    });
  }

  /**
   * Changes only the traffic (updateMask=traffic): the template, and with it the revision name, is
   * not sent again, so a traffic move can never create or clash with a revision.
   */
  updateTraffic(ref: ServiceRef, traffic: TrafficTarget[], etag: string | undefined): Promise<Operation> {
    return this.request<Operation>(this.url(serviceName(ref)), {
      method: 'PATCH',
      token: this.token,
      query: { updateMask: 'traffic' },
      body: { traffic, ...(etag ? { etag } : {}) },
    });
  }

  /**
   * Replaces the service's annotations only (updateMask=annotations): neither the template nor the
   * traffic is sent, so this can never create a revision or move traffic.
   */
  updateAnnotations(
    ref: ServiceRef,
    annotations: Record<string, string>,
    etag: string | undefined,
  ): Promise<Operation> {
    return this.request<Operation>(this.url(serviceName(ref)), {
      method: 'PATCH',
      token: this.token,
      query: { updateMask: 'annotations' },
      body: { annotations, ...(etag ? { etag } : {}) },
    });
  }

  /**
   * Changes the service-wide fields `mask` names only (labels, ingress, description, …): a field the
   * mask names and `fields` lacks is cleared. Neither the template nor the traffic is in the mask, so
   * this can never create a revision or move traffic.
   */
  updateSettings(
    ref: ServiceRef,
    fields: Partial<Service>,
    mask: string[],
    etag: string | undefined,
  ): Promise<Operation> {
    return this.request<Operation>(this.url(serviceName(ref)), {
      method: 'PATCH',
      token: this.token,
      query: { updateMask: mask.join(',') },
      body: { ...fields, ...(etag ? { etag } : {}) },
    });
  }

  /**
   * Starts a build of uploaded source (builds:submit); it answers with a Cloud Build operation.
   * Not retried after a timeout: a second submit would start a second build.
   */
  submitBuild(project: string, region: string, request: SubmitBuildRequest): Promise<SubmitBuildResponse> {
    return this.request<SubmitBuildResponse>(
      this.url(`projects/${project}/locations/${region}/builds:submit`),
      {
        method: 'POST',
        token: this.token,
        body: request,
      },
    );
  }

  /** Waits for an operation with operations.wait, re-issuing it until done or the deadline (ms) passes. */
  async waitOperation<T = Service>(operation: Operation<T>, deadline: number): Promise<Operation<T>> {
    let op = operation;
    while (!op.done) {
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) return op;
      const remaining = Math.ceil(remainingMs / 1000);
      // Waiting changes nothing, so a timed-out wait may be sent again; each attempt ends soon
      // after the time it asks the server to hold.
      op = await this.request<Operation<T>>(this.url(`${op.name}:wait`), {
        method: 'POST',
        idempotent: true,
        token: this.token,
        body: { timeout: `${Math.min(remaining, 30)}s` },
        timeoutMs: (Math.min(remaining, 30) + 5) * 1000,
      });
    }
    return op;
  }

  /** DELETEs a resource and waits for it to be gone (a retried DELETE that finds nothing is done). */
  private async deleteAndWait(path: string, what: string, deadline: number): Promise<void> {
    let op: Operation;
    try {
      op = await this.request<Operation>(this.url(path), { method: 'DELETE', token: this.token });
    } catch (err) {
      if (err instanceof GoogleApiError && err.httpStatus === 404) return;
      throw err;
    }
    const done = await this.waitOperation(op, deadline);
    if (!done.done) throw new Error(`${what} is still being deleted`);
    if (done.error) throw new Error(`deleting ${what} failed: ${done.error.message}`);
  }

  /** Deletes the service and waits for it to be gone; throws when it is not gone by the deadline. */
  deleteService(ref: ServiceRef, deadline = Date.now() + 120_000): Promise<void> {
    return this.deleteAndWait(serviceName(ref), serviceName(ref), deadline);
  }

  /** Deletes one revision and waits for it to be gone. */
  deleteRevision(ref: ServiceRef, revision: string, deadline: number): Promise<void> {
    return this.deleteAndWait(`${serviceName(ref)}/revisions/${revision}`, `revision ${revision}`, deadline);
  }

  async getRevision(ref: ServiceRef, revision: string): Promise<Revision | undefined> {
    try {
      return await this.request<Revision>(this.url(`${serviceName(ref)}/revisions/${revision}`), {
        token: this.token,
      });
    } catch (err) {
      if (err instanceof GoogleApiError && err.httpStatus === 404) return undefined;
      throw err;
    }
  }

  /** Every revision of the service, all pages. */
  async listRevisions(ref: ServiceRef): Promise<Revision[]> {
    const revisions: Revision[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.request<{ revisions?: Revision[]; nextPageToken?: string }>(
        this.url(`${serviceName(ref)}/revisions`),
        { token: this.token, query: { pageSize: '100', ...(pageToken ? { pageToken } : {}) } },
      );
      revisions.push(...(page.revisions ?? []));
      pageToken = page.nextPageToken || undefined;
    } while (pageToken);
    return revisions;
  }

  getIamPolicy(ref: ServiceRef): Promise<IamPolicy> {
    return this.request<IamPolicy>(this.url(`${serviceName(ref)}:getIamPolicy`), {
      token: this.token,
      query: { 'options.requestedPolicyVersion': '3' },
    });
  }

  /** The subset of `permissions` the caller holds on the service. */
  async testIamPermissions(ref: ServiceRef, permissions: string[]): Promise<string[]> {
    const res = await this.request<{ permissions?: string[] }>(
      this.url(`${serviceName(ref)}:testIamPermissions`),
      {
        method: 'POST',
        token: this.token,
        body: { permissions },
      },
    );
    return res.permissions ?? [];
  }

  /** The subset of `permissions` the caller holds on the job (its own policy and those it inherits). */
  async testJobPermissions(ref: JobRef, permissions: string[]): Promise<string[]> {
    const res = await this.request<{ permissions?: string[] }>(
      this.url(`${jobName(ref)}:testIamPermissions`),
      { method: 'POST', token: this.token, body: { permissions }, idempotent: true },
    );
    return res.permissions ?? [];
  }

  setIamPolicy(ref: ServiceRef, policy: IamPolicy): Promise<IamPolicy> {
    return this.request<IamPolicy>(this.url(`${serviceName(ref)}:setIamPolicy`), {
      method: 'POST',
      token: this.token,
      body: { policy },
    });
  }

  /** The job, or undefined when it does not exist yet. */
  async getJob(ref: JobRef): Promise<Job | undefined> {
    try {
      return await this.request<Job>(this.url(jobName(ref)), { token: this.token });
    } catch (err) {
      if (err instanceof GoogleApiError && err.httpStatus === 404) return undefined;
      throw err;
    }
  }

  createJob(ref: JobRef, job: Job): Promise<Operation<Job>> {
    return this.request<Operation<Job>>(this.url(`projects/${ref.project}/locations/${ref.region}/jobs`), {
      method: 'POST',
      token: this.token,
      query: { jobId: ref.job },
      body: job,
    });
  }

  /** Replaces the job's spec; the etag in `job` makes a concurrent change fail with 409 ABORTED. */
  updateJob(ref: JobRef, job: Job): Promise<Operation<Job>> {
    return this.request<Operation<Job>>(this.url(jobName(ref)), {
      method: 'PATCH',
      token: this.token,
      body: job,
    });
  }

  /** Deletes the job and waits for it to be gone. */
  deleteJob(ref: JobRef, deadline: number): Promise<void> {
    return this.deleteAndWait(jobName(ref), jobName(ref), deadline);
  }

  /** Starts an execution (jobs.run); the operation's metadata is the execution, done when it ends. */
  runJob(ref: JobRef, etag: string | undefined): Promise<Operation<Execution>> {
    return this.request<Operation<Execution>>(this.url(`${jobName(ref)}:run`), {
      method: 'POST',
      token: this.token,
      body: etag ? { etag } : {},
    });
  }

  /** An execution by its full resource name. */
  getExecution(name: string): Promise<Execution> {
    return this.request<Execution>(this.url(name), { token: this.token });
  }

  /** Every task of an execution, all pages. */
  async listTasks(execution: string): Promise<Task[]> {
    const tasks: Task[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.request<{ tasks?: Task[]; nextPageToken?: string }>(
        this.url(`${execution}/tasks`),
        {
          token: this.token,
          query: { pageSize: '100', ...(pageToken ? { pageToken } : {}) },
        },
      );
      tasks.push(...(page.tasks ?? []));
      pageToken = page.nextPageToken || undefined;
    } while (pageToken);
    return tasks;
  }
}
