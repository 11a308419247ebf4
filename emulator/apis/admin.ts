// The emulator's own control API under /__admin: seed the world, read it back, read the request
// log, inject faults, release the requests a fault holds, reset. Not a Google or GitHub API; tests
// and the demo drive it.
import type { EmulatorContext } from '../context.js';
import { invalidArgument } from '../errors.js';
import type { Fault, Route } from '../http.js';
import type { Seed } from '../state.js';

export interface AdminTarget {
  seed(seed: Seed): Promise<void>;
  reset(): Promise<void>;
  run: { snapshot(): unknown };
}

function parseFaults(body: unknown): Fault[] {
  const list = (body as { faults?: unknown } | undefined)?.faults;
  if (!Array.isArray(list)) throw invalidArgument('Expected {"faults": [...]}.', 'faults');
  return list.map((raw, i) => {
    const f = raw as Partial<Fault>;
    if (typeof f.path !== 'string')
      throw invalidArgument(`faults[${i}].path must be a regular expression string.`);
    try {
      new RegExp(f.path);
    } catch {
      throw invalidArgument(`faults[${i}].path is not a valid regular expression.`);
    }
    if (
      f.status === undefined &&
      f.latencyMs === undefined &&
      !f.drop &&
      !f.operationError &&
      f.operationDelayMs === undefined &&
      !f.renameField &&
      !f.hold
    ) {
      throw invalidArgument(
        `faults[${i}] needs one of status, latencyMs, drop, operationError, operationDelayMs, renameField or hold.`,
      );
    }
    return { ...f, path: f.path, count: typeof f.count === 'number' ? f.count : 1 } as Fault;
  });
}

export function adminRoutes(ctx: EmulatorContext, target: AdminTarget): Route[] {
  return [
    {
      method: 'POST',
      pattern: /^\/__admin\/seed$/,
      handler: async (req) => {
        await target.seed((req.body ?? {}) as Seed);
        return { body: { ok: true } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/__admin\/state$/,
      handler: () => ({ body: { ...(ctx.world.snapshot() as object), run: target.run.snapshot() } }),
    },
    {
      method: 'GET',
      pattern: /^\/__admin\/requests$/,
      // The admin API's own requests are noise for callers asking what the action did.
      handler: () => ({ body: ctx.traffic.requests.filter((r) => r.api !== 'admin') }),
    },
    {
      method: 'GET',
      pattern: /^\/__admin\/credentials$/,
      // What must never show in a run's output: every token issued, every GitHub token, and every
      // secret value stored (values under 8 characters are too common to tell apart from text).
      handler: () => {
        const world = ctx.world;
        const secretValues = [...world.secrets.values()].flatMap((s) =>
          s.versions.map((v) => v.data.toString('utf8')).filter((v) => v.trim().length >= 8),
        );
        return {
          body: {
            values: [
              ...world.tokens.keys(),
              ...ctx.githubOidcKey.issued,
              ...ctx.googleKey.issued,
              ...world.github.tokens,
              ...world.github.personalTokens.keys(),
              ...world.github.appTokens.keys(),
              ...secretValues,
            ],
          },
        };
      },
    },
    {
      method: 'POST',
      pattern: /^\/__admin\/faults$/,
      handler: (req) => {
        const faults = parseFaults(req.body);
        ctx.traffic.faults.push(...faults);
        return { body: { pending: ctx.traffic.faults } };
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/__admin\/faults$/,
      handler: () => {
        ctx.traffic.faults = [];
        return { body: { pending: [] } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/__admin\/held$/,
      handler: () => ({ body: { held: ctx.traffic.held } }),
    },
    {
      method: 'POST',
      pattern: /^\/__admin\/release$/,
      handler: () => ({ body: { released: ctx.traffic.release() } }),
    },
    {
      method: 'POST',
      pattern: /^\/__admin\/reset$/,
      handler: async () => {
        await target.reset();
        return { body: { ok: true } };
      },
    },
  ];
}
