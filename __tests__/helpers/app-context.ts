// Writes a Docker build context for a tiny web app FROM scratch (static busybox httpd): the action
// builds it itself in the end-to-end tests, as it would a user's repository.
//   /                 the given body
//   /health           "ok" (absent with health: 'missing', so health checks get 404)
//   /cgi-bin/env      the container's environment
//   /cgi-bin/file?P   the contents of file P (secret mounts)
//   /cgi-bin/flaky    200 for the first `flakyPasses` requests to it, 503 after
//   /cgi-bin/health   503 when the environment has BROKEN set, else 200
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
  const command = options.crash
    ? 'echo crashing on purpose >&2; exit 3'
    : `exec /bin/busybox httpd -f -p ${options.listenPort ?? '${PORT:-8080}'} -h /www`;
  writeFileSync(
    join(dir, 'Dockerfile'),
    [
      'FROM scratch',
      'COPY busybox /bin/busybox',
      'COPY www /www',
      'COPY state /state',
      `ENTRYPOINT ["/bin/busybox", "sh", "-c", "${command}"]`,
      '',
    ].join('\n'),
  );
  return dir;
}
