// The emulator's admin API: seeding, state, the request log, and fault injection in each API's
// own error format (status with body, latency, dropped connections).
import { admin, env } from '../helpers/emulator.js';
import { accessTokenFor } from '../helpers/auth.js';

const servicesUrl = (): string =>
  `${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN')}v2/projects/${env('RUNWAY_EMULATOR_PROJECT')}/locations/us-central1/services`;

describe('admin API', () => {
  afterEach(() => admin.clearFaults());

  it("injects a status with Google's error body for the next N matching requests only", async () => {
    const token = await accessTokenFor();
    await admin.faults([
      { api: 'run', method: 'GET', path: '/services/admin-fault$', status: 503, count: 2 },
    ]);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${servicesUrl()}/admin-fault`, {
        headers: { authorization: `Bearer ${token}` },
      });
      statuses.push(res.status);
      if (res.status === 503)
        expect(await res.json()).toEqual({
          error: { code: 503, message: 'Injected fault.', status: 'UNAVAILABLE' },
        });
    }
    expect(statuses).toEqual([503, 503, 404]);
  });

  it('adds latency and drops connections', async () => {
    const token = await accessTokenFor();
    // A client that gives up sooner than the injected latency never gets the answer.
    await admin.faults([{ api: 'run', path: '/services/admin-slow$', latencyMs: 2000, count: 1 }]);
    await expect(
      fetch(`${servicesUrl()}/admin-slow`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(200),
      }),
    ).rejects.toThrow(/timeout|aborted/i);
    await admin.faults([{ api: 'run', path: '/services/admin-drop$', drop: true, count: 1 }]);
    await expect(
      fetch(`${servicesUrl()}/admin-drop`, { headers: { authorization: `Bearer ${token}` } }),
    ).rejects.toThrow();
  });

  it('holds a matching request until released, then handles it against the state as it is then', async () => {
    const token = await accessTokenFor();
    await admin.faults([{ api: 'run', method: 'GET', path: '/services/admin-held$', hold: true }]);
    const answered: string[] = [];
    const request = fetch(`${servicesUrl()}/admin-held`, {
      headers: { authorization: `Bearer ${token}` },
    }).then((res) => {
      answered.push(`held ${res.status}`);
      return res;
    });
    while (!(await admin.held()).length) await new Promise((r) => setTimeout(r, 50));
    expect(await admin.held()).toEqual([
      { api: 'run', method: 'GET', path: expect.stringMatching(/admin-held$/) },
    ]);
    // Another request passes while the first is held.
    const other = await fetch(`${servicesUrl()}/admin-other`, {
      headers: { authorization: `Bearer ${token}` },
    });
    answered.push(`other ${other.status}`);
    expect(await admin.release()).toBe(1);
    expect((await request).status).toBe(404);
    expect(answered).toEqual(['other 404', 'held 404']);
    expect(await admin.held()).toEqual([]);
  });

  it('speaks OAuth2 errors for STS faults and rejects malformed faults', async () => {
    await admin.faults([{ api: 'sts', path: '^/v1/token', status: 500, count: 1 }]);
    const res = await fetch(`${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_STS')}v1/token`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: 'temporarily_unavailable' });
    // A refusal names its own OAuth2 error code, as STS's real refusals do.
    await admin.faults([
      { api: 'sts', path: '^/v1/token', status: 400, oauthError: 'invalid_grant', message: 'No.', count: 1 },
    ]);
    const refused = await fetch(`${env('CLOUDSDK_API_ENDPOINT_OVERRIDES_STS')}v1/token`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ error: 'invalid_grant', error_description: 'No.' });
    await expect(admin.faults([{ path: '(' }])).rejects.toThrow(/400/);
    await expect(admin.faults([{ path: 'x' }])).rejects.toThrow(
      /needs one of status, latencyMs, drop, operationError, operationDelayMs, renameField or hold/,
    );
  });

  it('logs every request with its caller, and shows the seeded world in state', async () => {
    const token = await accessTokenFor();
    const before = (await admin.requests()).length;
    await fetch(`${servicesUrl()}/admin-logged`, { headers: { authorization: `Bearer ${token}` } });
    const [record] = (await admin.requests()).slice(before).filter((r) => r.path.endsWith('/admin-logged'));
    expect(record).toMatchObject({
      api: 'run',
      method: 'GET',
      status: 404,
      caller: `serviceAccount:${env('RUNWAY_EMULATOR_SERVICE_ACCOUNT')}`,
    });
    expect(Date.parse(record!.time)).not.toBeNaN();
    const state = (await admin.state()) as {
      projects: Array<{ projectId: string }>;
      run: { services: unknown[] };
    };
    expect(state.projects.map((p) => p.projectId)).toContain(env('RUNWAY_EMULATOR_PROJECT'));
    expect(Array.isArray(state.run.services)).toBe(true);
  });
});
