# The `gcloud` the test suite finds on PATH: hands its argv, environment, working directory and
# standard streams to server.py, which runs the installed gcloud on them in a forked child, and exits
# with that command's status. When no server answers, it runs the installed gcloud itself.
#
# Usage: python3 -S client.py SOCKET_PATH REAL_GCLOUD ARGS...
import array
import json
import os
import socket
import struct
import sys

SOCKET_PATH, REAL_GCLOUD = sys.argv[1:3]
ARGS = sys.argv[3:]


def main():
  try:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(SOCKET_PATH)
  except OSError:
    os.execv(REAL_GCLOUD, [REAL_GCLOUD] + ARGS)
  # What bin/gcloud exports before it starts Python.
  env = dict(os.environ)
  env.setdefault('CLOUDSDK_ENCODING', env.get('PYTHONIOENCODING') or 'UTF-8')
  env['PYTHONIOENCODING'] = env['CLOUDSDK_ENCODING']
  python = env.get('CLOUDSDK_PYTHON') or sys.executable
  env.setdefault('CLOUDSDK_GSUTIL_PYTHON', python)
  env.setdefault('CLOUDSDK_BQ_PYTHON', python)
  env.setdefault('CLOUDSDK_PYTHON_ARGS', '-S')
  env['CLOUDSDK_ROOT_DIR'] = os.path.dirname(os.path.dirname(os.path.realpath(REAL_GCLOUD)))
  header = json.dumps({'argv': ARGS, 'env': env, 'cwd': os.getcwd()}).encode() + b'\n'
  fds = array.array('i', [0, 1, 2])
  conn.sendmsg([header], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds.tobytes())])
  status = b''
  try:
    while len(status) < 4:
      chunk = conn.recv(4 - len(status))
      if not chunk:
        break
      status += chunk
  except KeyboardInterrupt:
    sys.exit(130)
  if len(status) < 4:
    sys.stderr.write('gcloud (forked by the test suite) ended without a status\n')
    sys.exit(1)
  sys.exit(struct.unpack('!i', status)[0])


main()
