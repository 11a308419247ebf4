// A forward HTTP proxy that makes gcloud's regional Cloud Run hosts reachable with gcloud's own
// settings alone. `gcloud run` derives its endpoint by prefixing the region to the host of
// CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN (connection_context.DeriveRegionalEndpoint):
// http://127.0.0.1:P/ becomes http://us-central1-127.0.0.1:P/, a name no resolver knows.
//
// Why a proxy: it needs no root and no DNS (an /etc/hosts entry needs root, and wildcard names such
// as *.localhost resolve only with some resolvers), works the same on a laptop and a CI runner, and
// gcloud honours it through CLOUDSDK_PROXY_TYPE/ADDRESS/PORT, which the env file sets, so nothing
// else on the machine is affected. Requests for REGION-127.0.0.1:P (and plain 127.0.0.1:P, since
// gcloud then sends everything through the proxy) go to 127.0.0.1:P with the Host header untouched:
// the Cloud Run emulator reads the region from it, as Google's regional front ends know theirs.
// Anything else is refused: the emulator never reaches the internet on gcloud's behalf.
//
// One HTTPS host is answered rather than refused: gcloud builds submit reads a build's log from
// https://storage.googleapis.com/BUCKET/log-ID.txt, a URL it builds itself, outside any endpoint
// override (googlecloudsdk/api_lib/cloudbuild/logs.py). The proxy accepts that host's tunnel,
// ends its TLS with a certificate the emulator made for it (gcloud trusts it through
// core/custom_ca_certs_file, set in gcloud's environment only), and hands the requests to the
// emulated Cloud Storage.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { listen, pipeTo, type StartedServer } from './http.js';

/**
 * A regional host as gcloud derives it: `us-central1-run.googleapis.com` or
 * `us-central1-127.0.0.1:8080` → region us-central1 and the global host; a global host has no region.
 */
export function splitRegionalHost(host: string): { region: string | undefined; base: string } {
  const m = /^([a-z]+-[a-z]+[0-9]+)-(.+)$/.exec(host.toLowerCase());
  return m ? { region: m[1], base: m[2]! } : { region: undefined, base: host.toLowerCase() };
}

/** `us-central1-127.0.0.1` → us-central1; `127.0.0.1` → ''; any other host → undefined. */
export function regionOfHost(hostname: string): string | undefined {
  const { region, base } = splitRegionalHost(hostname);
  return base === '127.0.0.1' ? (region ?? '') : undefined;
}

function refuse(res: http.ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(`${message}\n`);
}

/**
 * The target of an absolute-form request line. Parsed by hand: WHATWG URL (Node's URL) reads a
 * host whose last label is a number as IPv4 and rejects `us-central1-127.0.0.1`.
 */
export function absoluteTarget(
  requestUrl: string,
): { hostname: string; port: number; path: string } | undefined {
  const m = /^http:\/\/([^/:?#]+):(\d+)([/?][^#]*)?$/i.exec(requestUrl);
  if (!m) return undefined;
  const path = m[3] ?? '/';
  return { hostname: m[1]!, port: Number(m[2]), path: path.startsWith('/') ? path : `/${path}` };
}

function forward(req: http.IncomingMessage, res: http.ServerResponse): void {
  const target = absoluteTarget(req.url ?? '');
  if (!target) {
    refuse(res, 400, 'runway emulator proxy: expected an absolute-form request (http://host:port/path)');
    return;
  }
  if (regionOfHost(target.hostname) === undefined) {
    refuse(res, 403, `runway emulator proxy: ${target.hostname} is not an emulator host`);
    return;
  }
  const headers = { ...req.headers };
  delete headers['proxy-connection'];
  delete headers['proxy-authorization'];
  pipeTo(
    req,
    res,
    {
      port: target.port,
      path: target.path,
      headers: { ...headers, host: `${target.hostname}:${target.port}` },
    },
    (message) => refuse(res, 502, `runway emulator proxy: ${message}`),
  );
}

/** An HTTPS host the proxy answers itself, from an emulator server on 127.0.0.1. */
export interface InterceptedHost {
  /** host:port as a CONNECT request names it: storage.googleapis.com:443 */
  authority: string;
  /** The emulator's server for it. */
  port: number;
  /** PEM key and certificate for the host. */
  key: string;
  cert: string;
}

/** Ends a tunnel's TLS and serves what comes through it from the emulator server behind it. */
function interceptor(host: InterceptedHost): (socket: Duplex) => void {
  const context = tls.createSecureContext({ key: host.key, cert: host.cert });
  const inner = http.createServer((req, res) => {
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    pipeTo(req, res, { port: host.port, path: req.url ?? '/', headers }, (message) =>
      refuse(res, 502, `runway emulator proxy: ${message}`),
    );
  });
  inner.keepAliveTimeout = 0;
  return (socket) => {
    const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: context });
    secure.on('error', () => secure.destroy());
    inner.emit('connection', secure);
  };
}

export async function startRegionalProxy(
  options: { intercept?: InterceptedHost[] } = {},
): Promise<StartedServer> {
  const server = http.createServer(forward);
  const tunnels = new Set<Duplex>();
  const intercepted = new Map((options.intercept ?? []).map((h) => [h.authority, interceptor(h)]));
  // Any other HTTPS tunnel would lead off the machine: every emulated API is plain HTTP on 127.0.0.1.
  server.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const serve = intercepted.get((req.url ?? '').toLowerCase());
    if (!serve) {
      socket.end(
        `HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\nrunway emulator proxy: no tunnels (${req.url ?? ''})\n`,
      );
      return;
    }
    tunnels.add(socket);
    socket.on('close', () => tunnels.delete(socket));
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) socket.unshift(head);
    serve(socket);
  });
  const started = await listen(server);
  return {
    ...started,
    close: () => {
      for (const t of tunnels) t.destroy();
      return started.close();
    },
  };
}
