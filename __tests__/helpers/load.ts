// A bounded load generator on loopback: steady requests to one URL until stopped, or until its own
// time limit, so a test that forgets to stop it cannot hang the suite.

export interface LoadResult {
  sent: number;
  failed: number;
  /** "STATUS BODY" (or the error) of each failed request, at most 20. */
  failures: string[];
  /** Bodies seen, with counts: which revisions answered. */
  bodies: Map<string, number>;
}

export interface Load {
  stop(): Promise<LoadResult>;
}

export function startLoad(
  url: string,
  options: { intervalMs?: number; maxSeconds?: number; concurrency?: number } = {},
): Load {
  const { intervalMs = 20, maxSeconds = 180, concurrency = 2 } = options;
  const result: LoadResult = { sent: 0, failed: 0, failures: [], bodies: new Map() };
  const until = Date.now() + maxSeconds * 1000;
  let stopped = false;
  const worker = async (): Promise<void> => {
    while (!stopped && Date.now() < until) {
      result.sent++;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        const body = (await res.text()).trim();
        if (res.status !== 200) {
          result.failed++;
          if (result.failures.length < 20) result.failures.push(`${res.status} ${body.slice(0, 80)}`);
        } else {
          result.bodies.set(body, (result.bodies.get(body) ?? 0) + 1);
        }
      } catch (err) {
        result.failed++;
        if (result.failures.length < 20) result.failures.push(String(err));
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  };
  const workers = Array.from({ length: concurrency }, () => worker());
  return {
    async stop() {
      stopped = true;
      await Promise.all(workers);
      return result;
    },
  };
}

/** Runs `work` while steady load goes to `url`, then says in the test's log what the load saw. */
export async function underLoad<T>(
  what: string,
  url: string,
  work: () => Promise<T>,
): Promise<{ result: T; load: LoadResult }> {
  const generator = startLoad(url);
  const [settled] = await Promise.allSettled([work()]);
  const load = await generator.stop();
  console.log(
    `${what}: ${load.sent} requests, ${load.failed} failed${load.failures.length ? ` (${load.failures.join('; ')})` : ''}; answered by ${JSON.stringify(Object.fromEntries(load.bodies))}`,
  );
  if (settled!.status === 'rejected') throw settled!.reason;
  return { result: settled!.value, load };
}
