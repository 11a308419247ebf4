// Traffic: every service URL and every tag URL is a real HTTP endpoint on 127.0.0.1 that proxies
// to revision containers. The service URL splits requests by percentage (smooth weighted
// round-robin, so the split holds across any run of requests); routing tables are swapped whole,
// so no request is dropped while traffic moves. Private services need a Google ID token.
import http from 'node:http';
import { listen, pipeTo, type StartedServer } from '../http.js';
import {
  NO_REVISION,
  refusal,
  type Backend,
  type Gate,
  type TrafficRouter,
  type WeightedBackend,
} from './infrastructure.js';

export type { Backend, Gate, WeightedBackend } from './infrastructure.js';

/** Smooth weighted round-robin (as nginx does it): deterministic, and exact over every 100 picks. */
export class WeightedPicker<T extends { revision: string; percent: number } = WeightedBackend> {
  private readonly current = new Map<string, number>();
  constructor(private readonly backends: T[]) {}

  pick(): T | undefined {
    const live = this.backends.filter((b) => b.percent > 0);
    if (!live.length) return undefined;
    const total = live.reduce((sum, b) => sum + b.percent, 0);
    let best: T | undefined;
    for (const b of live) {
      const value = (this.current.get(b.revision) ?? 0) + b.percent;
      this.current.set(b.revision, value);
      if (!best || value > (this.current.get(best.revision) ?? 0)) best = b;
    }
    this.current.set(best!.revision, (this.current.get(best!.revision) ?? 0) - total);
    return best;
  }
}

function proxy(req: http.IncomingMessage, res: http.ServerResponse, backend: Backend | undefined): void {
  if (!backend?.address) {
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end(NO_REVISION);
    return;
  }
  const headers = { ...req.headers };
  delete headers.authorization;
  pipeTo(req, res, { ...backend.address, path: req.url ?? '/', headers }, (message) => {
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end(`Service Unavailable: ${message}\n`);
  });
}

/** One service's endpoints on 127.0.0.1: the service URL and one URL per tag. */
export class ServiceRouter implements TrafficRouter {
  private main: StartedServer | undefined;
  private picker = new WeightedPicker<WeightedBackend>([]);
  private readonly tags = new Map<string, { server: StartedServer; backend: Backend }>();

  constructor(private readonly gate: Gate) {}

  async start(): Promise<string> {
    if (!this.main) {
      this.main = await listen(
        http.createServer((req, res) => void this.serve(req, res, () => this.picker.pick(), this.main!.url)),
      );
    }
    return this.main.url;
  }

  get url(): string | undefined {
    return this.main?.url;
  }

  private async serve(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    choose: () => Backend | undefined,
    url: string,
  ): Promise<void> {
    try {
      const verdict = await this.gate(req, url);
      if (!verdict.allow) {
        const page = refusal(verdict);
        res.writeHead(page.status, page.headers);
        res.end(page.body);
        return;
      }
      proxy(req, res, choose());
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`router error: ${(err as Error).message}\n`);
    }
  }

  /** Replaces the routing table; returns each tag's URL. Tag URLs stay stable while the tag exists. */
  async route(
    weighted: WeightedBackend[],
    tagged: Array<{ tag: string } & Backend>,
  ): Promise<Record<string, string>> {
    await this.start();
    this.picker = new WeightedPicker(weighted);
    const urls: Record<string, string> = {};
    for (const t of tagged) {
      const existing = this.tags.get(t.tag);
      if (existing) {
        existing.backend = t;
        urls[t.tag] = existing.server.url;
        continue;
      }
      const entry: { backend: Backend; server: StartedServer } = {
        backend: t,
        server: undefined as unknown as StartedServer,
      };
      entry.server = await listen(
        http.createServer((req, res) => void this.serve(req, res, () => entry.backend, entry.server.url)),
      );
      this.tags.set(t.tag, entry);
      urls[t.tag] = entry.server.url;
    }
    for (const [tag, entry] of this.tags) {
      if (!tagged.some((t) => t.tag === tag)) {
        this.tags.delete(tag);
        void entry.server.close();
      }
    }
    return urls;
  }

  async close(): Promise<void> {
    await Promise.all([this.main?.close(), ...[...this.tags.values()].map((t) => t.server.close())]);
    this.tags.clear();
    this.main = undefined;
  }
}
