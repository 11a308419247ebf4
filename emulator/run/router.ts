// Traffic: every service URL and every tag URL is a real HTTP endpoint on 127.0.0.1 that proxies
// to revision containers. The service URL splits requests by percentage (smooth weighted
// round-robin, so the split holds across any run of requests); routing tables are swapped whole,
// so no request is dropped while traffic moves. Private services need a Google ID token.
import http from 'node:http';
import { listen, pipeTo, type StartedServer } from '../http.js';

export interface Backend {
  revision: string;
  hostPort: number;
}

export interface WeightedBackend extends Backend {
  percent: number;
}

/** Decides whether a request may reach the service; returns an HTTP status to refuse with. */
export type Gate = (
  req: http.IncomingMessage,
  url: string,
) => Promise<{ allow: true } | { allow: false; status: number; message: string }>;

/** Smooth weighted round-robin (as nginx does it): deterministic, and exact over every 100 picks. */
export class WeightedPicker {
  private readonly current = new Map<string, number>();
  constructor(private readonly backends: WeightedBackend[]) {}

  pick(): WeightedBackend | undefined {
    const live = this.backends.filter((b) => b.percent > 0);
    if (!live.length) return undefined;
    const total = live.reduce((sum, b) => sum + b.percent, 0);
    let best: WeightedBackend | undefined;
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
  if (!backend) {
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('Service Unavailable: no revision is serving traffic.\n');
    return;
  }
  const headers = { ...req.headers };
  delete headers.authorization;
  pipeTo(req, res, { port: backend.hostPort, path: req.url ?? '/', headers }, (message) => {
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end(`Service Unavailable: ${message}\n`);
  });
}

/** One service's endpoints: the service URL and one URL per tag. */
export class ServiceRouter {
  private main: StartedServer | undefined;
  private picker = new WeightedPicker([]);
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
        const title = verdict.status === 401 ? 'Unauthorized' : 'Forbidden';
        res.writeHead(verdict.status, {
          'content-type': 'text/html; charset=UTF-8',
          ...(verdict.status === 401
            ? { 'www-authenticate': `Bearer error="invalid_token" error_description="${verdict.message}"` }
            : {}),
        });
        res.end(
          `<html><head><meta charset="utf-8"><title>${verdict.status} ${title}</title></head><body><h1>Error: ${title}</h1><h2>${verdict.message}</h2></body></html>\n`,
        );
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
