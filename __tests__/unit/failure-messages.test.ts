// How a failure is named once retrying gave up: the API, the status and the attempts (auth and
// Cloud Run), and why an answer with a good status still failed a health check.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { explainAuthFailure } from '../../src/auth/credentials.js';
import { explainRunError } from '../../src/deploy/apply.js';
import { GoogleApiError } from '../../src/common/http.js';
import { describeProbe, probeOnce, type HealthCheck } from '../../src/common/health.js';

const target = {
  provider: 'projects/1/locations/global/workloadIdentityPools/p/providers/q',
  serviceAccount: 'deployer@p.iam.gserviceaccount.com',
  repository: 'o/r',
};

/** What google-auth-library throws when a call kept failing: the GaxiosError's fields. */
function libraryError(url: string, status: number, data: unknown, retries: number): Error {
  return Object.assign(new Error('Request failed'), {
    response: { status, data },
    config: { url, retryConfig: { currentRetryAttempt: retries } },
  });
}

describe('an authentication failure after retries', () => {
  it('names STS, the status and the attempts', () => {
    const err = libraryError(
      'https://sts.googleapis.com/v1/token',
      500,
      { error: 'temporarily_unavailable', error_description: 'Try later.' },
      3,
    );
    const explained = explainAuthFailure(err, target);
    expect(explained.message).toBe(
      'Authentication to Google Cloud failed: STS (token exchange) answered HTTP 500 temporarily_unavailable after 4 attempts: Try later.',
    );
    expect(explained.fix).toContain('re-run the job');
  });

  it('names IAM Credentials and its method', () => {
    const err = libraryError(
      'https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/sa@p.iam.gserviceaccount.com:generateAccessToken',
      503,
      { error: { code: 503, message: 'Unavailable.', status: 'UNAVAILABLE' } },
      3,
    );
    expect(explainAuthFailure(err, target).message).toBe(
      'Authentication to Google Cloud failed: IAM Credentials (generateAccessToken) answered HTTP 503 UNAVAILABLE after 4 attempts: Unavailable.',
    );
  });
});

describe('a Cloud Run error', () => {
  const ref = { project: 'p', region: 'us-central1', service: 's' };
  const url = 'https://run.googleapis.com/v2/projects/p/locations/us-central1/services/s';

  it('that kept failing names the call, the status, and that it was retried', () => {
    const err = new GoogleApiError('GET', url, 500, { error: { message: 'Boom.', status: 'INTERNAL' } });
    const explained = explainRunError(err, ref, 'deployer@p.iam.gserviceaccount.com') as Error;
    expect(explained.message).toBe(
      'Cloud Run answered GET /v2/projects/p/locations/us-central1/services/s with HTTP 500 INTERNAL on every attempt: Boom.',
    );
  });

  it('is the only kind explained as Cloud Run’s: another API’s error passes through', () => {
    const err = new GoogleApiError(
      'POST',
      'https://iamcredentials.googleapis.com/v1/x:generateIdToken',
      503,
      {
        error: { message: 'Unavailable.', status: 'UNAVAILABLE' },
      },
    );
    expect(explainRunError(err, ref, 'd@p.iam.gserviceaccount.com')).toBe(err);
  });
});

describe('a health check answered with the right status and the wrong body', () => {
  it('says the body does not match health_check_body', async () => {
    const server = http.createServer((_req, res) => res.end('ok\n'));
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const check: HealthCheck = {
      path: '/health',
      expectedStatus: [[200, 299]],
      bodyPattern: /^ready$/,
      timeoutSeconds: 5,
      successes: 1,
      intervalMs: 10,
    };
    try {
      const probe = await probeOnce(
        `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        check,
        undefined,
      );
      expect(probe.ok).toBe(false);
      expect(describeProbe(probe)).toBe('HTTP 200: "ok", which does not match health_check_body /^ready$/');
    } finally {
      server.close();
    }
  });
});
