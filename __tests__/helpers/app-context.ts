// Writes a Docker build context for a tiny web app FROM scratch (static busybox httpd): the action
// builds it itself in the end-to-end tests, as it would a user's repository.
//   /                 the given body
//   /health           "ok" (absent with health: 'missing', so health checks get 404)
//   /cgi-bin/env      the container's environment
//   /cgi-bin/file?P   the contents of file P (secret mounts)
//   /cgi-bin/flaky    200 for the first `flakyPasses` requests to it, 503 after
//   /cgi-bin/health   503 when the environment has BROKEN set, else 200
//   /cgi-bin/status?N answers HTTP N
//   /cgi-bin/slow     answers after a minute
//   /cgi-bin/counted  "ok N" for the Nth request to it; from request `slowAfter` + 1 on it takes a
//                     minute, and request `crashAfter` + 1 makes the whole container exit
//   /cgi-bin/fetch?P  what http://127.0.0.1:P answers (P = PORT/PATH): a sidecar, on localhost
//   /startup.txt      with `startupFetch`, what that URL answered when the container started
//                     ("unreachable" if nothing did)
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface AppOptions {
  health?: 'ok' | 'missing';
  flakyPasses?: number;
  /** Exit at once instead of serving (a revision that never starts). */
  crash?: boolean;
  /** Listen on this port whatever $PORT says (a container that misses Cloud Run's port). */
  listenPort?: number;
  /** The container exits on the next request to /cgi-bin/counted once it has answered this many. */
  crashAfter?: number;
  /** /cgi-bin/counted takes a minute to answer once it has answered this many (slow under load). */
  slowAfter?: number;
  /** Sleep $STARTUP_DELAY seconds (a revision's env var) before listening: a start-up of chosen length. */
  delayedStart?: boolean;
  /** At start, before listening, GET http://127.0.0.1:THIS (PORT/PATH) and keep the answer as /startup.txt. */
  startupFetch?: string;
  /** Lines written at start, in order, before anything else (what Cloud Logging then holds). */
  say?: Array<{ stream: 'stdout' | 'stderr'; text: string }>;
}

function cgi(dir: string, name: string, body: string): void {
  const path = join(dir, 'www', 'cgi-bin', name);
  writeFileSync(path, `#!/bin/busybox sh\n${body}\n`);
  chmodSync(path, 0o755);
}

export function appContext(body: string, options: AppOptions = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'runway-app-'));
  mkdirSync(join(dir, 'www', 'cgi-bin'), { recursive: true });
  mkdirSync(join(dir, 'state'));
  writeFileSync(join(dir, 'state', '.keep'), '');
  copyFileSync('/bin/busybox', join(dir, 'busybox'));
  writeFileSync(join(dir, 'www', 'index.html'), `${body}\n`);
  if (options.health !== 'missing') writeFileSync(join(dir, 'www', 'health'), 'ok\n');
  const text = "printf 'Content-Type: text/plain\\r\\n\\r\\n'";
  cgi(dir, 'env', `${text}\n/bin/busybox env`);
  cgi(dir, 'file', `${text}\n/bin/busybox cat "$QUERY_STRING"`);
  cgi(
    dir,
    'health',
    [
      'if [ -n "$BROKEN" ]; then',
      "  printf 'Status: 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\nbroken\n'",
      'else',
      "  printf 'Content-Type: text/plain\r\n\r\nok\n'",
      'fi',
    ].join('\n'),
  );
  cgi(
    dir,
    'flaky',
    [
      'n=$(/bin/busybox cat /state/n 2>/dev/null || echo 0)',
      'n=$((n+1))',
      'echo $n > /state/n',
      `if [ $n -le ${options.flakyPasses ?? 1000000} ]; then`,
      "  printf 'Status: 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nok %s\\n' $n",
      'else',
      "  printf 'Status: 503 Service Unavailable\\r\\nContent-Type: text/plain\\r\\n\\r\\nbroken %s\\n' $n",
      'fi',
    ].join('\n'),
  );
  cgi(
    dir,
    'status',
    `printf 'Status: %s As Asked\\r\\nContent-Type: text/plain\\r\\n\\r\\nstatus %s\\n' "$QUERY_STRING" "$QUERY_STRING"`,
  );
  cgi(dir, 'slow', `/bin/busybox sleep 60\n${text}\necho slow`);
  cgi(
    dir,
    'fetch',
    `${text}\n/bin/busybox timeout 5 /bin/busybox wget -q -O - "http://127.0.0.1:$QUERY_STRING" || echo unreachable`,
  );
  cgi(
    dir,
    'counted',
    [
      'n=$(/bin/busybox cat /state/counted 2>/dev/null || echo 0)',
      'n=$((n+1))',
      'echo $n > /state/counted',
      // The request past crashAfter never gets an answer: the container exits under it.
      `if [ $n -gt ${options.crashAfter ?? 1000000} ]; then /bin/busybox touch /state/crash; /bin/busybox sleep 60; fi`,
      `if [ $n -gt ${options.slowAfter ?? 1000000} ]; then /bin/busybox sleep 60; fi`,
      "printf 'Content-Type: text/plain\\r\\n\\r\\nok %s\\n' $n",
    ].join('\n'),
  );
  const port = options.listenPort ?? '${PORT:-8080}';
  // With crashAfter, httpd runs in the background and the shell (PID 1) exits once asked to,
  // which stops the container as a crash would.
  const say = options.say?.length ? '/bin/busybox sh /say.sh; ' : '';
  if (say)
    writeFileSync(
      join(dir, 'say.sh'),
      options
        .say!.map((l) => `/bin/busybox cat <<'EOF'${l.stream === 'stderr' ? ' >&2' : ''}\n${l.text}\nEOF\n`)
        .join(''),
    );
  const command =
    say +
    (options.crash
      ? 'echo crashing on purpose >&2; exit 3'
      : options.crashAfter !== undefined
        ? `/bin/busybox httpd -p ${port} -h /www; while [ ! -e /state/crash ]; do /bin/busybox usleep 100000; done; echo crashing after ${options.crashAfter} requests >&2; exit 2`
        : `${options.delayedStart ? '/bin/busybox sleep ${STARTUP_DELAY:-0}; ' : ''}${
            options.startupFetch
              ? `/bin/busybox timeout 2 /bin/busybox wget -q -O /www/startup.txt http://127.0.0.1:${options.startupFetch} || echo unreachable > /www/startup.txt; `
              : ''
          }exec /bin/busybox httpd -f -p ${port} -h /www`);
  writeFileSync(
    join(dir, 'Dockerfile'),
    [
      'FROM scratch',
      'COPY busybox /bin/busybox',
      'COPY www /www',
      'COPY state /state',
      ...(say ? ['COPY say.sh /say.sh'] : []),
      `ENTRYPOINT ["/bin/busybox", "sh", "-c", "${command}"]`,
      '',
    ].join('\n'),
  );
  return dir;
}
