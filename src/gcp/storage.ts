// A small Cloud Storage JSON API client (https://cloud.google.com/storage/docs/json_api/v1): the
// bucket a source deploy uploads to (get, list, insert) and the upload itself (a media upload).
import { storageEndpoints } from './endpoints.js';
import { GoogleApiError, requestJson } from '../common/http.js';

/** The part of a storage#bucket Runway reads. */
export interface Bucket {
  id?: string;
  name?: string;
  projectNumber?: string;
  location?: string;
}

/** The part of a storage#object Runway reads. */
export interface StorageObject {
  name?: string;
  bucket?: string;
  generation?: string;
}

export interface NewBucket {
  name: string;
  location: string;
  uniformAccess: boolean;
}

export class StorageClient {
  private readonly api: string;
  private readonly upload: string;
  private readonly token: () => Promise<string>;

  constructor(token: () => Promise<string>, endpoints = storageEndpoints()) {
    this.api = endpoints.api;
    this.upload = endpoints.upload;
    this.token = token;
  }

  /** The bucket, or undefined when no bucket has that name (a 403 is rethrown: it exists). */
  async getBucket(name: string): Promise<Bucket | undefined> {
    try {
      return await requestJson<Bucket>(`${this.api}b/${encodeURIComponent(name)}`, { token: this.token });
    } catch (err) {
      if (err instanceof GoogleApiError && err.httpStatus === 404) return undefined;
      throw err;
    }
  }

  /** The project's buckets whose names start with `prefix` (one page is enough for a full name). */
  async listBuckets(project: string, prefix: string): Promise<Bucket[]> {
    const answer = await requestJson<{ items?: Bucket[] }>(`${this.api}b`, {
      token: this.token,
      query: { project, prefix },
    });
    return answer.items ?? [];
  }

  /** Creates the bucket in `project`; a 409 (it exists already) is the caller's to handle. */
  createBucket(project: string, bucket: NewBucket): Promise<Bucket> {
    return requestJson<Bucket>(`${this.api}b`, {
      method: 'POST',
      token: this.token,
      query: { project },
      body: {
        name: bucket.name,
        location: bucket.location,
        iamConfiguration: { uniformBucketLevelAccess: { enabled: bucket.uniformAccess } },
      },
    });
  }

  /**
   * Uploads bytes as one object (uploadType=media). Writing the same name twice stores the same
   * bytes again, so a timed-out attempt may be sent again.
   */
  uploadObject(bucket: string, name: string, data: Uint8Array, contentType: string): Promise<StorageObject> {
    return requestJson<StorageObject>(`${this.upload}b/${encodeURIComponent(bucket)}/o`, {
      method: 'POST',
      idempotent: true,
      token: this.token,
      query: { uploadType: 'media', name },
      media: { data, contentType },
      timeoutMs: 300_000,
    });
  }
}
