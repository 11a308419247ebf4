// Pure pieces of the emulator: the startup probe budget a revision gets, how a liveness probe is
// run, and which request an injected fault applies to.
import { livenessProbe, startupProbe, withTemplateDefaults } from '../../emulator/run/model.js';
import { Traffic } from '../../emulator/http.js';

describe('startup probe budget', () => {
  it("is the emulator's allowance without a probe, and the probe's own budget with one", () => {
    expect(startupProbe(undefined, 20)).toEqual({ httpPath: undefined, budgetSeconds: 20, periodMs: 200 });
    expect(
      startupProbe({ tcpSocket: { port: 8080 }, periodSeconds: 1, failureThreshold: 2 }, 20),
    ).toMatchObject({
      httpPath: undefined,
      budgetSeconds: 2,
    });
    expect(startupProbe({ httpGet: { path: '/ready' }, initialDelaySeconds: 5 }, 20)).toMatchObject({
      httpPath: '/ready',
      budgetSeconds: 35,
    });
    expect(startupProbe({ periodSeconds: 240, failureThreshold: 10 }, 20).budgetSeconds).toBe(240);
  });
});

describe('liveness probe', () => {
  it("takes the proto's defaults, the action's path, port and headers, and is none without an action", () => {
    expect(livenessProbe({ httpGet: {} })).toEqual({
      action: 'http',
      httpPath: '/',
      initialDelayMs: 0,
      periodMs: 10_000,
      timeoutMs: 1000,
      failureThreshold: 3,
    });
    expect(
      livenessProbe({
        httpGet: { path: '/live', port: 9000, httpHeaders: [{ name: 'X-Probe', value: 'yes' }] },
        initialDelaySeconds: 2,
        periodSeconds: 1,
        timeoutSeconds: 1,
        failureThreshold: 1,
      }),
    ).toEqual({
      action: 'http',
      httpPath: '/live',
      httpHeaders: { 'X-Probe': 'yes' },
      port: 9000,
      initialDelayMs: 2000,
      periodMs: 1000,
      timeoutMs: 1000,
      failureThreshold: 1,
    });
    expect(livenessProbe({ tcpSocket: { port: 9999 }, failureThreshold: 2 })).toMatchObject({
      action: 'tcp',
      port: 9999,
      failureThreshold: 2,
    });
    expect(livenessProbe({ grpc: { port: 50051 } })).toMatchObject({ action: 'grpc', port: 50051 });
    expect(livenessProbe({ periodSeconds: 5 })).toBeUndefined();
    expect(livenessProbe(undefined)).toBeUndefined();
  });
});

describe('template defaults', () => {
  it('names a port without a name http1 (its protocol), and gives a container without ports 8080', () => {
    const ports = (containers: unknown[]): unknown =>
      (
        withTemplateDefaults({ containers }, 'sa@p.iam.gserviceaccount.com').containers as Array<{
          ports: unknown;
        }>
      ).map((c) => c.ports);
    expect(ports([{ ports: [{ containerPort: 9090 }] }])).toEqual([[{ name: 'http1', containerPort: 9090 }]]);
    expect(ports([{ ports: [{ name: 'h2c', containerPort: 9090 }] }])).toEqual([
      [{ name: 'h2c', containerPort: 9090 }],
    ]);
    expect(ports([{}])).toEqual([[{ name: 'http1', containerPort: 8080 }]]);
  });
});

describe('fault matching', () => {
  it('applies a fault to `count` matching requests after skipping `skip` of them', () => {
    const traffic = new Traffic();
    traffic.faults.push({
      api: 'run',
      method: 'PATCH',
      path: 'updateMask=traffic',
      status: 400,
      skip: 1,
      count: 1,
    });
    const take = (path: string, method = 'PATCH'): number | undefined =>
      traffic.takeFault('run', method, path)?.status;
    expect(take('/v2/s?updateMask=traffic', 'GET')).toBeUndefined();
    expect(take('/v2/s')).toBeUndefined();
    expect(take('/v2/s?updateMask=traffic')).toBeUndefined();
    expect(take('/v2/s?updateMask=traffic')).toBe(400);
    expect(take('/v2/s?updateMask=traffic')).toBeUndefined();
    expect(traffic.faults).toEqual([]);
  });
});
