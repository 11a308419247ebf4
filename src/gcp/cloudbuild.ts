// A small Cloud Build v1 client (https://cloud.google.com/build/docs/api/reference/rest): the
// operation a Cloud Run source build runs as, read until it is done, and the Build it describes.
import { endpoint } from './endpoints.js';
import { requestJson } from '../common/http.js';

/** The part of a google.devtools.cloudbuild.v1.Build Runway reads. */
export interface Build {
  id?: string;
  name?: string;
  status?: string;
  statusDetail?: string;
  logUrl?: string;
  /** projects/PROJECT/serviceAccounts/EMAIL: the account the build runs as. */
  serviceAccount?: string;
  failureInfo?: { type?: string; detail?: string };
  results?: { images?: Array<{ name?: string; digest?: string }> };
}

/** A Cloud Build operation: its metadata carries the Build; its response is the Build once done. */
export interface BuildOperation {
  name: string;
  done?: boolean;
  metadata?: { build?: Build };
  response?: Build;
  error?: { code?: number; message?: string };
}

export class CloudBuildClient {
  private readonly base: string;
  private readonly token: () => Promise<string>;

  constructor(token: () => Promise<string>, base = endpoint('cloudbuild')) {
    this.base = base;
    this.token = token;
  }

  /** operations.get on the build's operation (projects/P/locations/L/operations/ID). */
  getOperation(name: string): Promise<BuildOperation> {
    return requestJson<BuildOperation>(`${this.base}v1/${name}`, { token: this.token, timeoutMs: 30_000 });
  }
}
