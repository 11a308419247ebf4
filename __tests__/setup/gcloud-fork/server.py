# Serves `gcloud` to the test suite from one interpreter that has already imported gcloud's modules:
# each call forks it, and the child runs the installed gcloud's own lib/gcloud.py with the caller's
# argv, environment, working directory and standard streams (passed as file descriptors), then
# reports its exit status. The code that runs is the installed gcloud's, unchanged; what is saved is
# the second or so of CPU its ~900 imports take in every fresh process, several hundred times a run.
#
# Usage: python3 -S server.py SDK_ROOT SOCKET_PATH PREIMPORT_LIST
#   run with the SDK's own interpreter (platform/bundledpythonunix/bin/python3), as bin/gcloud runs
#   it; client.py is the other end. It stops on SIGTERM or when its stdin closes.
import array
import atexit
import gc
import importlib
import importlib.util
import io
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import threading
import traceback

SDK_ROOT, SOCKET_PATH, PREIMPORT_LIST = sys.argv[1:4]
GCLOUD_PY = os.path.join(SDK_ROOT, 'lib', 'gcloud.py')


def load_entry():
  """lib/gcloud.py as a module (its main() not run), and what it imports before any command."""
  sys.argv = [GCLOUD_PY]
  spec = importlib.util.spec_from_file_location('gcloud_entry', GCLOUD_PY)
  entry = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(entry)
  sys.path = entry.reorder_sys_path(sys.path)
  importlib.import_module('googlecloudsdk.core.util.encoding')
  entry._import_gcloud_main()  # pylint: disable=protected-access
  # Modules many commands import (the run, secrets, IAM and storage surfaces' libraries): importing
  # one has no effect beyond defining it, so a child finds it ready. A name that fails to import is
  # left for the child to import (and fail on) itself.
  with open(PREIMPORT_LIST) as names:
    for name in names.read().split():
      try:
        importlib.import_module(name)
      except Exception:  # pylint: disable=broad-except
        pass
  return entry


def receive(conn):
  """The caller's request: a JSON header (argv, env, cwd) and its stdin, stdout, stderr."""
  fds = array.array('i')
  data = b''
  while True:
    msg, ancdata, _, _ = conn.recvmsg(1 << 20, socket.CMSG_SPACE(3 * fds.itemsize))
    for level, kind, payload in ancdata:
      if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
        fds.frombytes(payload[:len(payload) - (len(payload) % fds.itemsize)])
    if not msg:
      raise EOFError('the caller went away before its request was complete')
    data += msg
    if data.endswith(b'\n'):
      return json.loads(data), list(fds)


def standard_streams():
  """sys.stdin/out/err over fds 0-2, as a fresh interpreter would have made them."""
  encoding = os.environ.get('PYTHONIOENCODING', 'utf-8').split(':')[0] or 'utf-8'

  def text(fd, mode, errors):
    tty = os.isatty(fd)
    raw = io.FileIO(fd, mode, closefd=False)
    buffered = io.BufferedReader(raw) if mode == 'r' else io.BufferedWriter(raw)
    return io.TextIOWrapper(buffered, encoding=encoding, errors=errors,
                            line_buffering=tty or fd == 2)

  sys.stdin = sys.__stdin__ = text(0, 'r', 'strict')
  sys.stdout = sys.__stdout__ = text(1, 'w', 'strict')
  sys.stderr = sys.__stderr__ = text(2, 'w', 'backslashreplace')


def run_child(entry, conn, request, fds):
  """In the forked child: become the caller's gcloud process, run it, report how it ended."""
  signal.signal(signal.SIGCHLD, signal.SIG_DFL)
  signal.signal(signal.SIGTERM, signal.SIG_DFL)
  signal.signal(signal.SIGINT, signal.default_int_handler)
  try:
    with open('/proc/self/comm', 'w') as comm:
      comm.write('gcloud-fork')
  except OSError:
    pass
  for target, fd in enumerate(fds[:3]):
    os.dup2(fd, target)
  for fd in fds:
    if fd > 2:
      os.close(fd)
  os.environ.clear()
  os.environ.update(request['env'])
  os.chdir(request['cwd'])
  random.seed()
  standard_streams()
  sys.argv = [GCLOUD_PY] + request['argv']
  # What importing gcloud read of the server's own environment and streams, read again: the active
  # configuration's properties, the console's encoding and width, the log's streams and verbosity.
  from googlecloudsdk.core.configurations import named_configs  # pylint: disable=g-import-not-at-top
  from googlecloudsdk.core.console import console_attr  # pylint: disable=g-import-not-at-top
  from googlecloudsdk.core import log  # pylint: disable=g-import-not-at-top
  named_configs.ActivePropertiesFile.Invalidate()
  console_attr.ResetConsoleAttr()
  log.Reset(sys.stdout, sys.stderr)

  # The caller gone (killed on a timeout) before the status went out: the command is no longer wanted.
  reported = threading.Event()

  def watch():
    try:
      conn.recv(1)
    except OSError:
      pass
    if not reported.is_set():
      os.kill(os.getpid(), signal.SIGTERM)

  threading.Thread(target=watch, daemon=True).start()

  code = 1
  try:
    entry.main()
    code = 0
  except SystemExit as e:
    if e.code is None:
      code = 0
    elif isinstance(e.code, int):
      code = e.code
    else:
      sys.stderr.write('{}\n'.format(e.code))
      code = 1
  except KeyboardInterrupt:
    code = 130
  except BaseException:  # pylint: disable=broad-except
    traceback.print_exc()
    code = 1
  # What the interpreter's exit would do that anyone can see (join the threads gcloud left
  # running, run its atexit handlers, flush the streams), then the status, then _exit: tearing down
  # the interpreter would free, and so copy, every page the imports made, for nothing.
  try:
    threading._shutdown()  # pylint: disable=protected-access
    atexit._run_exitfuncs()  # pylint: disable=protected-access
  except BaseException:  # pylint: disable=broad-except
    traceback.print_exc()
  for stream in (sys.stdout, sys.stderr):
    try:
      stream.flush()
    except Exception:  # pylint: disable=broad-except
      pass
  reported.set()
  try:
    conn.sendall(struct.pack('!i', code & 0xFF))
  except OSError:
    pass
  os._exit(code & 0xFF)  # pylint: disable=protected-access


def serve():
  gc.disable()
  entry = load_entry()
  # What the imports made is never collected: frozen, the collector in a child leaves it alone
  # instead of writing to (and so copying) every page of it.
  gc.collect()
  gc.freeze()
  gc.enable()
  # Children are reaped by the kernel; each child restores SIGCHLD before running gcloud.
  signal.signal(signal.SIGCHLD, signal.SIG_IGN)
  signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # pylint: disable=protected-access
  listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
  listener.bind(SOCKET_PATH + '.tmp')
  os.rename(SOCKET_PATH + '.tmp', SOCKET_PATH)
  listener.listen(64)
  # One thread only, so that a fork copies no lock some other thread holds: stdin's end (the test
  # run gone) is watched here, beside the socket.
  while True:
    ready, _, _ = select.select([listener, 0], [], [])
    if 0 in ready and not os.read(0, 4096):
      os._exit(0)  # pylint: disable=protected-access
    if listener not in ready:
      continue
    conn, _ = listener.accept()
    try:
      request, fds = receive(conn)
    except Exception:  # pylint: disable=broad-except
      conn.close()
      continue
    pid = os.fork()
    if pid == 0:
      listener.close()
      run_child(entry, conn, request, fds)  # never returns
    for fd in fds:
      os.close(fd)
    conn.close()


if __name__ == '__main__':
  serve()
