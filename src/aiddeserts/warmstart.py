"""Warm start for the workflow's script jobs: the libraries are imported once per run.

Every Snakemake ``script:`` job is a new Python process, and before it does any work it imports
pandas, geopandas, matplotlib, folium… (0.5–1.3 s a job, a dozen jobs a region). A local run
therefore starts one *warm server* from the Snakefile's ``onstart`` (:func:`start_server`): a
process that imports those libraries once and then waits on a Unix socket, owner-only, in a
private temporary folder. Each job script begins with :func:`hand_off`; when the run has a warm
server, the job's process sends it the script's path, its arguments, working folder,
environment and its standard input, output and error, and the server *forks*: the child runs
the script as ``__main__`` exactly as Python would, with the libraries already in memory, and
the job's process exits with the child's status. A fork shares nothing back: each job starts
from the same freshly imported state, whatever the jobs before it did.

``aiddeserts run`` starts the server before Snakemake instead (:func:`start_early`), so that it
imports while Snakemake imports and plans; the ``onstart`` hook takes it over
(:func:`adopt_early`, :func:`confirm_early`) or stops it.

The job's process need not even import Snakemake: the run puts :data:`JOB_HOOK_FOLDER` first
on the jobs' ``PYTHONPATH`` (:func:`job_environment`), and its ``sitecustomize`` calls
:func:`hand_off` as Python starts, before the script's preamble unpickles Snakemake's objects
(0.2–0.3 s of imports a job); the script's own :func:`hand_off` is there for when it cannot
(``python -E``, ``-I``, ``-S``).

When there is no server (a cluster job, ``--use-conda``, ``warm_start: false``, a script run by
hand) or it refuses the job (another Python), :func:`hand_off` returns and the script imports
and runs in its own process as before; the outputs are the same bytes either way (tested).

Stdlib only: the job's process imports nothing heavy before it knows whether it must.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import select
import signal
import socket
import stat
import struct
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

#: Environment variable holding the server's socket path (set for the jobs by the Snakefile).
SOCKET_ENV = "AIDDESERTS_WARM_SOCKET"
#: Set by ``aiddeserts run`` for its Snakemake when it started a server first
#: (:func:`start_early`): the server's socket path and the descriptor of the pipe by which the
#: run confirms the server (:func:`confirm_early`) or, closing it, stops it.
EARLY_ENV = "AIDDESERTS_WARM_EARLY"

#: What the server imports before it serves: Snakemake's script preamble and the stack of the
#: first jobs (ingest). The server then answers jobs, and imports what the run's other jobs
#: need (:data:`PRELOAD_BY_RULE`) between them.
PRELOAD_FIRST = (
    "snakemake.iocontainers", "snakemake.logging", "numpy", "pandas", "shapely", "pyproj",
    "pyogrio", "geopandas", "pyarrow.pandas_compat", "aiddeserts.logs",
    "aiddeserts.stages.ingest", "aiddeserts.io.files", "aiddeserts.io.tracts",
    "aiddeserts.io.assets", "aiddeserts.io.survey",
    "aiddeserts.io.corrections", "aiddeserts.io.rejects", "aiddeserts.privacy.rules",
)
#: Heavy packages are preloaded in steps, their large dependencies first: the server takes a
#: job only between two imports, so a job waits at most one step (now ≤ 0.3 s, where
#: ``matplotlib.figure`` in one step took 0.7 s).
_MATPLOTLIB = ("matplotlib", "matplotlib.text", "matplotlib.collections", "matplotlib.image",
               "matplotlib.axis", "matplotlib.axes", "matplotlib.projections",
               "matplotlib.figure")
_MAPS = (*_MATPLOTLIB, "matplotlib.backends.backend_agg", "PIL.Image",
         "aiddeserts.maps.figure", "aiddeserts.stages.maps")
#: What the jobs of each rule import beyond :data:`PRELOAD_FIRST` (much of it lazily): the
#: server imports it, between jobs, only when the run has a job of that rule.
PRELOAD_BY_RULE = {
    # Points rasterised onto tracts (method.pointjoin, from 50,000 points): large inputs only.
    "ingest_assets": ("rasterio.features", "scipy.linalg", "scipy.special", "scipy.ndimage"),
    "ingest_survey": ("rasterio.features", "scipy.linalg", "scipy.special", "scipy.ndimage"),
    "asset_density": ("rasterio", "scipy.fft", "aiddeserts.stages.density"),
    "build_network": ("scipy.sparse.csgraph", "aiddeserts.stages.network"),
    "classify_tracts": ("rasterio", "rasterio.features", "scipy.fft", "scipy.special",
                        "scipy.spatial", "scipy.sparse.csgraph", "opendp.mod", "opendp.domains",
                        "opendp.metrics", "opendp.measurements", "aiddeserts.stages.classify"),
    "inventory": ("aiddeserts.stages.inventory",),
    "changes": ("aiddeserts.stages.inventory",),
    "summarize": ("aiddeserts.stages.summary",),
    "web_map": ("scipy.spatial", "jinja2", "branca.element", "branca", "xyzservices.providers",
                "folium", "folium.plugins", "babel", "babel.numbers", "matplotlib",
                "aiddeserts.maps.webmap", "aiddeserts.stages.maps"),
    "map_shapes": ("aiddeserts.maps.shapes", "aiddeserts.stages.maps"),
    "static_map": _MAPS,
    "datawalk": (*_MAPS, "fontTools.ttLib", "fontTools.subset", "matplotlib.backends.backend_pdf",
                 "aiddeserts.maps.datawalk"),
    "privacy_audit_secrets": ("scipy.spatial", "aiddeserts.privacy.audit",
                              "aiddeserts.stages.privacy"),
    "privacy_audit_part": ("rasterio", "scipy.spatial", "pypdfium2", "aiddeserts.privacy.audit",
                           "aiddeserts.stages.privacy"),
    "manifest": ("aiddeserts.manifest",),
    "publish": ("aiddeserts.stages.publish",),
}
#: A run with fewer script jobs than this starts no server: it would not pay for itself.
MIN_JOBS = 3
#: How long a job waits for a server that is still importing :data:`PRELOAD_FIRST`.
WAIT_FOR_READY_S = 3.0
#: How long a job waits for the server to take it before it runs in its own process.
ANSWER_TIMEOUT_S = 30.0

#: Threads of the linear-algebra libraries, fixed when numpy loads: one, as Snakemake gives a job.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "GOTO_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")

_ACCEPTED, _REFUSED = b"A", b"R"
_STATUS = struct.Struct("!i")
_LENGTH = struct.Struct("!I")

#: Put first on the jobs' PYTHONPATH (:func:`job_environment`): its ``sitecustomize`` hands a
#: job's script to the server as Python starts, before Snakemake's script preamble imports
#: Snakemake (0.2–0.3 s of each job's process).
JOB_HOOK_FOLDER = str(Path(__file__).with_name("jobstart"))

#: True in a job forked by the server, so that its own hand_off() call returns.
_in_server_child = False
#: True once this process has tried the server: a second hand_off() (the script's own call,
#: after the start hook's) returns at once instead of waiting for it again.
_tried = False


# --- the job's side -------------------------------------------------------------------------


def hand_off() -> None:
    """Run this script in the run's warm server, if there is one, and exit with its status.

    Returns (and the script goes on in this process) when there is no server or it refuses.
    """
    global _tried
    path = os.environ.get(SOCKET_ENV)
    if _tried or _in_server_child or not path or "SLURM_JOB_ID" in os.environ:
        return
    _tried = True
    deadline = time.monotonic() + WAIT_FOR_READY_S
    # The server's folder exists from its start; the socket appears once it is ready.
    while not os.path.exists(path) and os.path.isdir(os.path.dirname(path)):
        if time.monotonic() > deadline:
            return
        time.sleep(0.02)
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    umask = os.umask(0o077)
    os.umask(umask)
    try:
        connection.settimeout(ANSWER_TIMEOUT_S)  # a server that does not answer: run here
        connection.connect(path)
        request = json.dumps({
            "script": os.path.abspath(sys.argv[0]), "argv": sys.argv, "cwd": os.getcwd(),
            "env": dict(os.environ), "umask": umask, "executable": sys.executable,
            "prefix": sys.prefix, "at_start": "snakemake" not in sys.modules,
        }).encode()
        socket.send_fds(connection, [_LENGTH.pack(len(request)) + request], [0, 1, 2])
        answer = _read(connection, 1)
        connection.settimeout(None)  # the job itself may take hours
    except OSError:
        connection.close()
        return
    if answer != _ACCEPTED:
        connection.close()
        return
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    status = _read(connection, _STATUS.size)
    if len(status) < _STATUS.size:
        print("aiddeserts: the warm server's process running this job stopped without an exit "
              "status (killed, or out of memory?); rerun with warm_start: false to run it on "
              "its own", file=sys.stderr)
        os._exit(1)
    os._exit(_STATUS.unpack(status)[0])


def _read(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


# --- the server's side ----------------------------------------------------------------------


def preload_for(rules: Sequence[str]) -> list[str]:
    """The modules to preload after :data:`PRELOAD_FIRST` for a run of jobs of `rules`, in
    the order the pipeline needs them (that of :data:`PRELOAD_BY_RULE`)."""
    wanted = [name for rule, names in PRELOAD_BY_RULE.items() if rule in rules for name in names]
    return [name for name in dict.fromkeys(wanted) if name not in PRELOAD_FIRST]


def is_job_script(path: str) -> bool:
    """Whether `path` (a process's ``sys.argv[0]``) is a script Snakemake wrote for a job."""
    parent = os.path.dirname(os.path.abspath(path))
    return (os.path.basename(parent) == "scripts" and os.path.basename(os.path.dirname(parent))
            == ".snakemake" and path.endswith(".py"))


def job_environment(socket_path: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables a run sets for its jobs' processes: the server's socket, and
    :data:`JOB_HOOK_FOLDER` first on ``PYTHONPATH`` (whose hook runs any other
    ``sitecustomize`` too)."""
    python_path = environ.get("PYTHONPATH")
    return {SOCKET_ENV: socket_path,
            "PYTHONPATH": JOB_HOOK_FOLDER + (os.pathsep + python_path if python_path else "")}


def cancel_rescheduling_timers() -> int:
    """Cancel the re-evaluation timers Snakemake's scheduler left (one a second while jobs ran,
    for its job rate limit): Python waits for such a thread at exit, up to a second after the
    last job. For the run's end hooks only, once every job is done; returns how many."""
    cancelled = 0
    for thread in threading.enumerate():
        function = getattr(thread, "function", None)
        if (isinstance(thread, threading.Timer) and getattr(function, "__qualname__", "")
                .startswith("JobScheduler._schedule_reevalutation.")):
            thread.cancel()
            cancelled += 1
    return cancelled


#: Longest socket path the server binds (with its ".new" suffix): Linux allows 107 bytes,
#: macOS 103; a deeper TMPDIR (a cluster's scratch space) takes the system's /tmp instead.
SOCKET_PATH_MAX = 100


def _server_folder() -> tuple[str, str] | None:
    """A new owner-only folder (mode 0700: only this user connects) and the server's socket
    path in it: in the temporary folder, or in /tmp when that path would be too long for a
    socket; None when neither can be made (the run then goes on without a server)."""
    import tempfile

    for parent in (None, "/tmp"):
        try:
            folder = tempfile.mkdtemp(prefix="aiddeserts-warm-", dir=parent)
        except OSError:
            continue
        socket_path = os.path.join(folder, "jobs.sock")
        if len(os.fsencode(socket_path + ".new")) <= SOCKET_PATH_MAX:
            return folder, socket_path
        os.rmdir(folder)
    return None


def _remove_folder(folder: str) -> None:
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        os.rmdir(folder)


def _spawn_server(folder: str, socket_path: str, log_path: str | Path,
                  arguments: Sequence[str]) -> tuple[object, int] | None:
    """Start ``python -m aiddeserts.warmstart <socket> <alive pipe> *arguments``, writing to
    `log_path`: the process and the pipe's write end (the server ends when it closes), or None
    (the folder removed) when it cannot start."""
    import subprocess

    alive_read, alive_write = os.pipe()
    environment = {**os.environ, **dict.fromkeys(THREAD_VARIABLES, "1")}
    environment.pop(SOCKET_ENV, None)
    environment.pop(EARLY_ENV, None)
    try:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "w", encoding="utf-8") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "aiddeserts.warmstart", socket_path, str(alive_read),
                 *arguments],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=environment,
                pass_fds=[alive_read], start_new_session=True)
    except OSError:
        os.close(alive_write)
        _remove_folder(folder)
        return None
    finally:
        os.close(alive_read)
    return process, alive_write


def start_server(log_path: str | Path, later: Sequence[str] = ()
                 ) -> tuple[str, object] | None:
    """Start a warm server for this process's run; return its socket path and a handle, or
    None when it cannot be started (no folder for its socket, no process): the jobs then run
    in their own processes. `later`: modules it imports between jobs once ready
    (:func:`preload_for`).

    The server stops when :func:`stop_server` is given the handle, or by itself when this
    process ends (it watches a pipe whose other end only this process holds).
    """
    made = _server_folder()
    if made is None:
        return None
    folder, socket_path = made
    started = _spawn_server(folder, socket_path, log_path, [",".join(later)])
    if started is None:
        return None
    process, alive_write = started
    return socket_path, (process, alive_write, folder)


def stop_server(handle: object, timeout: float = 10.0) -> None:
    """Ask the server to stop, wait for it (so its jobs' CPU time counts as this run's).

    A handle of :func:`adopt_early` only asks (``aiddeserts run`` waits for that server)."""
    process, alive_write, folder = handle
    if alive_write is not None:
        with contextlib.suppress(OSError):
            os.close(alive_write)
    if process is None:
        return
    try:
        process.wait(timeout)
    except Exception:  # noqa: BLE001 - a server that does not stop is killed, never waited on forever
        process.kill()
        process.wait()
    _remove_folder(folder)


def start_early() -> tuple[dict[str, str], int, object] | None:
    """Start a server before Snakemake, for ``aiddeserts run``: while Snakemake imports and
    plans (~3 s, on one core), the server imports what every rule's jobs import, so the run's
    first job is taken at once and no import competes with the jobs. Until the run confirms it
    (:func:`confirm_early`, from the Snakefile's ``onstart``) the server writes no file of the
    run, and a run that never starts a job (nothing to do, an error) stops it by ending.

    Returns the variables to set for Snakemake, the descriptor Snakemake must inherit (close
    it here once Snakemake has it) and the handle for :func:`end_early`; None when no server
    can be started (the run's ``onstart`` then tries once more)."""
    made = _server_folder()
    if made is None:
        return None
    folder, socket_path = made
    early_log = os.path.join(folder, "server.log")
    started = _spawn_server(folder, socket_path, early_log,
                            [",".join(preload_for(PRELOAD_BY_RULE)), early_log])
    if started is None:
        return None
    process, alive_write = started
    return ({EARLY_ENV: f"{alive_write}{os.pathsep}{socket_path}"}, alive_write,
            (process, None, folder))


def end_early(handle: object, timeout: float = 30.0) -> None:
    """After the run: wait for the early server to stop (it stops once the run's Snakemake has
    ended), killing it if it does not, and remove its folder."""
    stop_server(handle, timeout)


def adopt_early(environ: dict[str, str]) -> tuple[str, object] | None:
    """In Snakemake: the server ``aiddeserts run`` started first (its socket path and a handle
    for :func:`confirm_early` and :func:`stop_server`), or None; the variable is removed from
    `environ` so that no job sees it."""
    value = environ.pop(EARLY_ENV, "")
    descriptor, _, socket_path = value.partition(os.pathsep)
    if not descriptor.isdigit() or not socket_path:
        return None
    try:
        inherited = stat.S_ISFIFO(os.fstat(int(descriptor)).st_mode)
    except OSError:
        inherited = False
    if not inherited:  # no pipe there: a Snakemake started some other way
        return None
    return socket_path, (None, int(descriptor), None)


def confirm_early(handle: object, log_path: str | Path, later: Sequence[str]) -> bool:
    """Make the early server this run's: it writes its log (from its start) to `log_path` and
    keeps of its preloading only `later` (:func:`preload_for` the run's jobs). False when the
    server is gone (it could not listen, or was killed): stop it and start another."""
    _, alive_write, _ = handle
    log_path = Path(log_path).absolute()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    message = json.dumps({"log": str(log_path), "later": list(later)}).encode() + b"\n"
    try:
        os.write(alive_write, message)
    except OSError:  # the pipe's reader, the server, has ended
        return False
    return True


def serve(socket_path: str, alive_fd: int, later: Sequence[str] = (),
          early_log: str | None = None) -> None:
    """Import :data:`PRELOAD_FIRST`, then fork a child for each job until `alive_fd` closes,
    importing the modules `later` one at a time while no job is waiting.

    With `early_log` (the log it writes to, :func:`start_early`) the server is provisional: the
    run's confirmation on `alive_fd` (:func:`confirm_early`) names its log and its remaining
    preloads; closed unconfirmed, it just stops."""
    global _STARTED
    started = _STARTED = time.perf_counter()
    # The collector stays off here and the imported objects are frozen before each fork
    # (gc.freeze): a job's collections then never walk (nor write to, copying their pages)
    # the hundreds of thousands of objects it shares with the server; each job turns
    # it back on.
    gc.disable()
    for name in PRELOAD_FIRST:
        _preload(name)
    later = list(later)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path + ".new")  # appears under its name only once ready
    listener.listen(64)
    os.rename(socket_path + ".new", socket_path)
    print(f"warm server: ready in {time.perf_counter() - started:.2f} s, CPU "
          f"{time.process_time():.2f} s", flush=True)
    children: dict[int, float] = {}
    served = 0
    pending = b""
    # A job's end wakes the loop (a byte on this pipe from the SIGCHLD handler), so that the
    # log gives when each job ended, not when the next one came.
    wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, _on_child_exit)
    while True:
        ready, _, _ = select.select([listener, alive_fd, wake_read], [], [],
                                    0 if later else 1.0)
        if wake_read in ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(wake_read, 512):
                    pass
        _reap(children)
        if not ready and later:
            _preload(later.pop(0))
            if not later:
                print(f"warm server: all preloaded after {time.perf_counter() - started:.2f} s,"
                      f" CPU {time.process_time():.2f} s", flush=True)
            continue
        if alive_fd in ready:
            received = os.read(alive_fd, 1 << 16)
            if not received:
                break
            if early_log is not None:
                pending += received
                if b"\n" in pending:
                    later = _confirmed(pending, early_log, later)
                    early_log = None
            continue
        if listener in ready:
            connection, _ = listener.accept()
            sys.stdout.flush()
            sys.stderr.flush()
            gc.freeze()
            pid = os.fork()
            if pid == 0:
                signal.set_wakeup_fd(-1)
                for fd in (wake_read, wake_write):
                    os.close(fd)
                listener.close()
                os.close(alive_fd)
                _run_child(connection)  # never returns
            connection.close()
            children[pid] = time.perf_counter()
            served += 1
    listener.close()
    with contextlib.suppress(OSError):
        os.unlink(socket_path)
    deadline = time.perf_counter() + 30
    while children and time.perf_counter() < deadline:
        time.sleep(0.05)
        _reap(children)
    print(f"warm server: stopped after {served} jobs", flush=True)
    # Its folder goes with it, also when nobody is left to remove it (a killed Snakemake).
    with contextlib.suppress(OSError):
        if early_log is not None:  # never confirmed: its log was the run's to keep or not
            os.unlink(early_log)
        os.rmdir(os.path.dirname(socket_path))


def _confirmed(message: bytes, early_log: str, later: list[str]) -> list[str]:
    """Act on the run's confirmation: the log from here on (holding all written so far) and
    what is left to preload, in the run's order."""
    request = json.loads(message.split(b"\n", 1)[0])
    sys.stdout.flush()
    sys.stderr.flush()
    with open(early_log, "rb") as written, open(request["log"], "wb") as log:
        log.write(written.read())
        log.flush()
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    os.unlink(early_log)
    print(f"warm server: started before Snakemake, taken by its run{_since_start()}",
          flush=True)
    return [name for name in request["later"] if name not in sys.modules]


def _preload(name: str) -> None:
    try:
        importlib.import_module(name)
    except ImportError as exc:  # an optional extra (osmium, opendp...) not installed
        print(f"warm server: not preloaded: {name} ({exc})", flush=True)


#: When the server started (time.perf_counter()): the log's times are counted from it.
_STARTED = 0.0


def _since_start() -> str:
    return f" at +{time.perf_counter() - _STARTED:.2f} s"


def _on_child_exit(signum: int, frame: object) -> None:
    """SIGCHLD: nothing to do here; the wake-up byte Python writes wakes the server's loop."""


def _reap(children: dict[int, float]) -> None:
    for pid in list(children):
        with contextlib.suppress(ChildProcessError):
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                took = time.perf_counter() - children.pop(pid)
                print(f"warm server: job process {pid} exited {os.waitstatus_to_exitcode(status)}"
                      f" after {took:.2f} s, CPU {usage.ru_utime + usage.ru_stime:.2f} s"
                      f"{_since_start()}", flush=True)


def _run_child(connection: socket.socket) -> None:
    """In the forked child: become the job's process, run its script, report its status."""
    global _in_server_child
    _in_server_child = True
    gc.enable()
    status = 1
    reported = threading.Event()
    try:
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            signal.signal(number, signal.SIG_DFL)
        os.setpgid(0, 0)
        message, fds, _, _ = socket.recv_fds(connection, 1 << 16, 3)
        (length,) = _LENGTH.unpack(message[:_LENGTH.size])
        body = message[_LENGTH.size:]
        while len(body) < length:
            chunk = connection.recv(length - len(body))
            if not chunk:
                os._exit(1)
            body += chunk
        request = json.loads(body)
        print(f"warm server: job process {os.getpid()} runs {os.path.basename(request['script'])}"
              f"{_since_start()}{', from its start' if request.get('at_start') else ''}",
              flush=True)
        if (len(fds) != 3 or request["executable"] != sys.executable
                or request["prefix"] != sys.prefix):
            connection.sendall(_REFUSED)
            os._exit(0)
        for target, fd in zip((0, 1, 2), fds, strict=True):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.umask(request["umask"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ.pop(SOCKET_ENV, None)  # nothing this job starts hands itself back
        sys.argv = list(request["argv"])
        sys.path[0] = os.path.dirname(request["script"])
        connection.sendall(_ACCEPTED)
        # The job's process gone (Snakemake cancelled the job): this child goes too.
        threading.Thread(target=_exit_when_closed, args=(connection, reported),
                         daemon=True).start()
        status = _run_script(request["script"])
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        reported.set()
        with contextlib.suppress(OSError):
            connection.sendall(_STATUS.pack(status))
        os._exit(status)


def _run_script(script: str) -> int:
    """Run `script` as ``__main__``; its exit status as the interpreter would give it."""
    import logging
    import runpy

    try:
        runpy.run_path(script, run_name="__main__")
        status = 0
    except SystemExit as exc:
        if exc.code is None:
            status = 0
        elif isinstance(exc.code, int):
            status = exc.code
        else:
            print(exc.code, file=sys.stderr)
            status = 1
    except BaseException:  # noqa: BLE001 - reported as the interpreter would, then exit 1
        sys.excepthook(*sys.exc_info())
        status = 1
    logging.shutdown()
    return status


def _exit_when_closed(connection: socket.socket, reported: threading.Event) -> None:
    with contextlib.suppress(OSError):
        while connection.recv(1):
            pass
    if not reported.is_set():
        os._exit(1)


if __name__ == "__main__":
    # Through the imported module, not this __main__ copy: the jobs' hand_off() reads its flag.
    from aiddeserts import warmstart

    warmstart.serve(sys.argv[1], int(sys.argv[2]), [m for m in sys.argv[3].split(",") if m],
                    sys.argv[4] if len(sys.argv) > 4 else None)
    # Nothing is left to clean up: skip tearing down the imported libraries (~1 s that the run
    # would wait for in stop_server).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
