"""Run the book's notebooks in forked copies of one warm process, recording what each one read.

Why: a fresh Jupyter kernel per notebook spends about 2 s starting, importing pandas and Altair and
warming the Vega-Lite compiler before the chapter's own work (well under a second for most pages).
Here one *zygote* process imports the heavy third-party packages once -- never the book's library,
never a data file, never a chapter's code -- and forks one child per notebook. A forked child is a
fresh copy of that clean process, so nothing one chapter does (module state, caches, the working
folder, environment variables) can reach another, exactly as with one kernel per notebook; a
``workers``-wide pool runs them in parallel.

In the child the notebook runs in ipykernel's in-process kernel (the shell, display hooks and
message contents of a kernel process) and each message becomes an output through nbclient's own
handler (`nbclient.NotebookClient.process_message`), so the outputs are those a kernel run would
store. A notebook that fails here, or prints to the process's own file descriptors, is reported as
failed and left to myst-nb, which runs it in a kernel of its own and reports the error as before.

What a notebook read is recorded while it runs (`ReadTracker`): every file opened for reading under
the watched roots (Python's ``open`` audit event, which ``open()``, ``pathlib`` and pandas' readers
raise), every folder listed there, the source files of the local modules it imported and the files
it wrote; for a JSON object loaded with ``json.load`` (the snapshot's manifest) only the keys it
looked at, so a manifest that changes for one table does not tie every page to every table.
`stale_reason` compares such a record with the files as they are now.

Run as a script (``python vc_pool.py serve``) it is the zygote: it reads one JSON job per line on
stdin and answers one JSON line per finished job on stdout (see `Pool`).
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

#: Third-party packages the zygote imports before forking (each is skipped if missing). Nothing from
#: the repository: the book's library is imported by the chapters, as in a fresh kernel.
PRELOAD = (
    "ipykernel.inprocess.manager", "ipykernel.inprocess.blocking", "ipykernel.inprocess.ipkernel",
    "ipykernel.ipkernel", "ipykernel.debugger", "IPython.core.interactiveshell", "nbformat", "nbclient.client",
    "numpy", "pandas", "altair", "narwhals.stable.v1", "jsonschema", "yaml", "scipy.stats", "tornado",
    "vl_convert",  # its module only: the JavaScript engine starts at the first call, in a child (or the service)
)
#: Optional modules the zygote keeps from loading. jsonschema imports ``rfc3987_syntax`` (when installed:
#: JupyterLab's dependencies bring it) only to check the "iri" string formats, which no Vega-Lite schema
#: uses, and building its grammar costs a second of the preload on every build. The build's Jupyter Book
#: process keeps them out too (`valuechain_lib.publish.build.build`): its configuration schema has no such format.
UNUSED_OPTIONAL = ("rfc3987_syntax",)
# Folders under a watched root whose files are never inputs: build output, caches, VCS.
_IGNORED_PARTS = {"_build", "__pycache__", ".git", ".ipynb_checkpoints", ".pytest_cache", ".ruff_cache"}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


# --------------------------------------------------------------------------- what a notebook read
class _TrackedDict(dict):
    """A JSON object that notes which of its keys were read (a path of keys, and how much of it)."""

    __slots__ = ("_vc_path", "_vc_seen", "_vc_children")

    def __init__(self, value: dict, path: tuple, seen: set):
        super().__init__(value)
        self._vc_path, self._vc_seen, self._vc_children = path, seen, {}

    def _note(self, path: tuple, kind: str) -> None:
        self._vc_seen.add((path, kind))

    def _whole(self) -> None:
        self._note(self._vc_path, "value")

    def _child(self, key, value):
        path = self._vc_path + (key,)
        if type(value) is dict:
            self._note(path, "type")
            if key not in self._vc_children:
                self._vc_children[key] = _TrackedDict(value, path, self._vc_seen)
            return self._vc_children[key]
        self._note(path, "value")
        return value

    def __getitem__(self, key):
        if not dict.__contains__(self, key):
            self._note(self._vc_path + (key,), "value")
        return self._child(key, dict.__getitem__(self, key))

    def get(self, key, default=None):
        if dict.__contains__(self, key):
            return self._child(key, dict.__getitem__(self, key))
        self._note(self._vc_path + (key,), "value")
        return default

    def __contains__(self, key):
        self._note(self._vc_path + (key,), "present")
        return dict.__contains__(self, key)

    __hash__ = None


def _whole_then(name: str):
    def method(self, *args, **kwargs):
        self._whole()
        return getattr(dict, name)(self, *args, **kwargs)
    method.__name__ = name
    return method


# Anything that sees the object as a whole (iterating, comparing, copying, changing it) depends on all of it.
for _name in ("keys", "items", "values", "__iter__", "__len__", "__eq__", "__ne__", "__repr__", "copy",
              "__reduce_ex__", "__or__", "__ror__", "__ior__", "__reversed__", "setdefault", "pop", "popitem",
              "update", "__setitem__", "__delitem__", "clear"):
    setattr(_TrackedDict, _name, _whole_then(_name))
del _name


def _by_importer(frame, depth: int = 4) -> bool:
    """Whether the import machinery is among the nearest callers (it lists folders to find modules)."""
    while frame is not None and depth:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame, depth = frame.f_back, depth - 1
    return False


def _inside(path: str, roots: tuple[str, ...]) -> str | None:
    """The root ``path`` lies under (absolute, normalised), unless it is in an ignored folder."""
    for root in roots:
        if path == root or path.startswith(root + os.sep):
            if _IGNORED_PARTS.isdisjoint(Path(path[len(root):]).parts):
                return root
    return None


class ReadTracker:
    """Record, while a notebook runs, the files under ``roots`` it read, listed and wrote.

    Parameters
    ----------
    roots : sequence of path
        Folders whose files are a notebook's inputs (the repository and the data folder).
    """

    def __init__(self, roots):
        self.roots = tuple(sorted({os.path.normpath(os.path.abspath(r)) for r in roots}, key=len, reverse=True))
        self.opened: Counter = Counter()
        self.listed: set[str] = set()
        self.written: set[str] = set()
        self.json_loads: Counter = Counter()
        self.json_keys: dict[str, set] = {}
        self.active = False

    def _absolute(self, path) -> str | None:
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str | os.PathLike):
            return None  # a file descriptor
        path = os.fspath(path)
        return os.path.normpath(path if os.path.isabs(path) else os.path.join(os.getcwd(), path))

    def audit(self, event: str, args: tuple) -> None:
        if not self.active or event not in ("open", "os.listdir", "os.scandir", "os.rename", "os.replace"):
            return
        if event == "open":
            path, mode, flags = args
            where = self._absolute(path)
            if where is None or _inside(where, self.roots) is None:
                return
            writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & _WRITE_FLAGS)
            if writes:
                self.written.add(where)
            else:
                self.opened[where] += 1
        elif event in ("os.listdir", "os.scandir"):
            if _by_importer(sys._getframe(1)):
                return  # the import system's look at a folder of modules, not a read of data
            where = self._absolute(args[0] if args and args[0] is not None else ".")
            if where is not None and _inside(where, self.roots) is not None:
                self.listed.add(where)
        else:  # a file written to a temporary name and renamed into place
            where = self._absolute(args[1])
            if where is not None and _inside(where, self.roots) is not None:
                self.written.add(where)

    def load_json(self, original, fp, *args, **kwargs):
        """``json.load`` that tracks the keys read of a JSON object loaded from a watched file."""
        value = original(fp, *args, **kwargs)
        name = getattr(fp, "name", None)
        where = self._absolute(name) if isinstance(name, str | bytes | os.PathLike) else None
        if not self.active or where is None or _inside(where, self.roots) is None or type(value) is not dict:
            return value
        self.json_loads[where] += 1
        return _TrackedDict(value, (), self.json_keys.setdefault(where, set()))

    def install(self) -> None:
        """Start recording in this process (for good: audit hooks cannot be removed; use in a child)."""
        original = json.load
        json.load = lambda fp, *a, **k: self.load_json(original, fp, *a, **k)
        sys.addaudithook(self.audit)
        self.active = True

    def record(self, modules=()) -> dict:
        """What was read, as `inputs_record` stores it (paths absolute; hashed by the caller)."""
        self.active = False
        imported = set()
        for module in modules:
            origin = getattr(module, "__file__", None)
            if isinstance(origin, str):
                where = os.path.normpath(os.path.abspath(origin))
                if _inside(where, self.roots) is not None and os.path.isfile(where):
                    imported.add(where)
        whole = {p for p, n in self.opened.items() if n > self.json_loads.get(p, 0)} | imported
        keyed = {p: sorted([list(k), kind] for k, kind in self.json_keys.get(p, ())) for p in self.opened
                 if p not in whole}
        return {"files": sorted(whole), "json": keyed, "listed": sorted(self.listed),
                "written": sorted(p for p in self.written - whole - set(keyed) if os.path.isfile(p))}


# --------------------------------------------------------------------------- digests of inputs
_MISSING = "<missing>"


def file_digest(path: str | Path, memo: dict | None = None) -> str:
    """sha256 of a file's bytes (``<missing>`` for no file), memoised in ``memo`` for one build."""
    key = str(path)
    if memo is not None and key in memo:
        return memo[key]
    try:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        digest = _MISSING
    if memo is not None:
        memo[key] = digest
    return digest


def listing_digest(folder: str | Path) -> str:
    """sha256 of a folder's sorted entry names (``<missing>`` for no folder)."""
    try:
        names = sorted(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return _MISSING
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


def _json_at(document, path):
    for key in path:
        if not isinstance(document, dict) or key not in document:
            return _MISSING
        document = document[key]
    return document


def json_key_digest(document, path, kind: str) -> str:
    """Digest of what a notebook saw at ``path`` of a JSON document: its value, type or presence."""
    found = _json_at(document, path)
    if kind == "present":
        seen = found is not _MISSING
    elif kind == "type":
        seen = _MISSING if found is _MISSING else type(found).__name__
    else:
        seen = found
    return hashlib.sha256(json.dumps(seen, sort_keys=True, default=str).encode()).hexdigest()


def _load_json(path: str, memo: dict):
    key = ("json", path)
    if key not in memo:
        try:
            memo[key] = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            memo[key] = _MISSING
    return memo[key]


def inputs_record(reads: dict, root: Path, memo: dict | None = None) -> dict:
    """Turn a child's reads into the stored record: paths relative to ``root``, each with its digest."""
    memo = {} if memo is None else memo
    root = Path(root)

    def rel(p: str) -> str:
        try:
            return Path(p).relative_to(root).as_posix()
        except ValueError:
            return p

    files = {rel(p): file_digest(p, memo) for p in reads["files"]}
    keyed = {}
    for p, keys in reads["json"].items():
        document = _load_json(p, memo)
        keyed[rel(p)] = [[path, kind, json_key_digest(document, path, kind)] for path, kind in keys]
    listed = {rel(p): listing_digest(p) for p in reads["listed"]}
    return {"files": files, "json": keyed, "listed": listed, "written": [rel(p) for p in reads["written"]]}


def stale_reason(record: dict, root: Path, memo: dict | None = None) -> str | None:
    """Why a notebook's stored outputs may no longer be what running it would give, or None.

    Parameters
    ----------
    record : dict
        From `inputs_record`: ``files`` (path → sha256), ``json`` (path → [key path, kind, digest]),
        ``listed`` (folder → digest of its names), ``written`` (files the run wrote).
    root : Path
        The folder the record's relative paths start from.
    memo : dict, optional
        Digests already computed in this build.

    Returns
    -------
    str or None
        E.g. ``"data/snapshot/prices.csv changed"``; None when every input is as recorded.
    """
    memo = {} if memo is None else memo
    root = Path(root)
    for rel, digest in record.get("files", {}).items():
        if file_digest(root / rel, memo) != digest:
            return f"{rel} changed"
    for rel, keys in record.get("json", {}).items():
        document = _load_json(str(root / rel), memo)
        if document is _MISSING:
            return f"{rel} changed"
        for path, kind, digest in keys:
            if json_key_digest(document, path, kind) != digest:
                shown = "/".join(str(k) for k in path) or "(whole)"
                return f"{rel} changed at {shown}"
    for rel, digest in record.get("listed", {}).items():
        if listing_digest(root / rel) != digest:
            return f"the files in {rel}/ changed"
    for rel in record.get("written", []):
        if not (root / rel).exists():
            return f"its output {rel} is missing"
    return None


# --------------------------------------------------------------------------- running one notebook (child)
class NotebookFailed(Exception):
    """The notebook raised, timed out or wrote to the process's own output: myst-nb should run it."""


def _cell_timeout(signum, frame):
    raise TimeoutError("cell timed out in the pool")


def execute_notebook(nb, timeout: int | None = None, allow_errors: bool = False):
    """Run every code cell of ``nb`` (an nbformat notebook, changed in place) in an in-process kernel.

    Follows nbclient: empty cells and cells tagged ``skip-execution`` are skipped, execution counts
    run 1, 2, ... over executed cells, an error stops the run unless ``allow_errors`` or the cell is
    tagged ``raises-exception``, and the kernel's ``language_info`` goes to the notebook's metadata.

    Raises
    ------
    NotebookFailed
        A cell raised (and errors are not allowed) or ran longer than ``timeout`` seconds.
    """
    import queue

    from ipykernel.inprocess.manager import InProcessKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionComplete

    manager = InProcessKernelManager()
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    handler = NotebookClient(nb, allow_errors=allow_errors, record_timing=False)  # as jupyter-cache runs it
    client.kernel_info()
    info = client.get_shell_msg(timeout=10)["content"]
    if "language_info" in info:
        nb.metadata["language_info"] = info["language_info"]
    executed = 0
    signal.signal(signal.SIGALRM, _cell_timeout)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        tags = cell.metadata.get("tags", [])
        if handler.skip_cells_with_tag in tags:
            continue
        allowed = allow_errors or "raises-exception" in tags
        cell.outputs = []
        handler.clear_before_next_output = False
        if timeout:
            signal.alarm(int(timeout))
        try:
            msg_id = client.execute(cell.source, store_history=True, stop_on_error=not allowed)
            reply = client.get_shell_msg(timeout=10)
        finally:
            signal.alarm(0)
        # Outputs end with the kernel's "idle" status for this request (nbclient waits for it too).
        deadline = time.monotonic() + 10
        while True:
            try:
                msg = client.get_iopub_msg(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise NotebookFailed(f"cell {index}: no idle status from the kernel") from None
            # The in-process kernel's streams do not carry the request as their parent; it runs one
            # request at a time, so everything up to this request's idle status is this cell's.
            if msg["parent_header"].get("msg_id") != msg_id and msg["msg_type"] in ("status", "execute_input"):
                continue
            try:
                handler.process_message(msg, cell, index)
            except CellExecutionComplete:
                break
        executed += 1
        cell["execution_count"] = executed
        content = reply["content"]
        if content.get("status") == "error" and not (allowed or content.get("ename") in handler.allow_error_names):
            raise NotebookFailed(f"cell {index} raised {content.get('ename')}: {content.get('evalue')}")
    client.stop_channels()
    return nb


def _run_child(job: dict, out_fd_file: str) -> int:
    """In the forked child: isolate, run the notebook, write the result file; the exit status."""
    import nbformat

    os.chdir(job["cwd"])
    sys.path[0] = ""  # as in a kernel: the notebook's folder first
    sys.argv = [""]
    try:
        import numpy
        numpy.random.seed()  # noqa: NPY002 - from the OS, as a fresh kernel; else every child repeats the zygote
    except ImportError:
        pass
    tracker = ReadTracker(job["roots"])
    tracker.install()
    started, cpu = time.perf_counter(), time.process_time()
    result: dict = {"ok": False}
    try:
        nb = nbformat.from_dict(job["notebook"])
        before = set(sys.modules)
        execute_notebook(nb, job.get("timeout"), job.get("allow_errors", False))
        modules = [m for name, m in list(sys.modules.items()) if name not in before]
        sys.stdout.flush()
        sys.stderr.flush()
        stray = Path(out_fd_file).read_text(errors="replace").strip()
        if stray:
            raise NotebookFailed(f"wrote to the process's output (a kernel shows it as a cell output): {stray[:200]}")
        result = {"ok": True, "notebook": nb, "reads": tracker.record(modules)}
    except NotebookFailed as exc:
        result = {"ok": False, "error": str(exc)}
    except BaseException as exc:
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    result["seconds"] = time.perf_counter() - started
    result["cpu"] = time.process_time() - cpu
    target = Path(job["result"])
    partial = target.with_name(target.name + ".part")
    partial.write_text(json.dumps(result), encoding="utf-8")
    partial.replace(target)
    return 0 if result["ok"] else 1


def _fork_job(job: dict) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        stray_fd, stray_path = tempfile.mkstemp(prefix="vc-pool-out-")
        os.dup2(stray_fd, 1)  # never the zygote's protocol pipe; anything printed here is checked
        os.dup2(stray_fd, 2)
        try:
            code = _run_child(job, stray_path)
        finally:
            os.unlink(stray_path)
    finally:
        os._exit(code)  # no atexit handlers of the zygote's in a child


# --------------------------------------------------------------------------- the zygote
def _say(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _start_vega_service(folder: str) -> subprocess.Popen | None:
    """A warm Vega-Lite compiler beside the zygote (`valuechain_lib.publish.vega_assets.serve_compiler`)."""
    address = os.path.join(folder, "compiler.sock")
    code = ("import sys; from valuechain_lib.publish.vega_assets import serve_compiler; "
            "serve_compiler(sys.argv[1], int(sys.argv[2]))")
    try:
        service = subprocess.Popen([sys.executable, "-c", code, address, str(os.getpid())],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return None
    os.environ["VALUECHAIN_VEGA_SERVICE"] = address  # children inherit it; without an answer they compile alone
    return service


def serve(workers: int, vega_service: bool = False) -> int:
    """The zygote's loop: preload, say ready, then fork one child per job line, ``workers`` at a time."""
    started = time.perf_counter()
    # A debugger warning printed at import would count as output written by the first notebook.
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    folder = tempfile.mkdtemp(prefix="vc-vega-")
    service = _start_vega_service(folder) if vega_service else None
    def cleanup():
        if service is not None:
            service.terminate()
            service.wait()
        shutil.rmtree(folder, ignore_errors=True)

    def ended(signum, frame):  # ended by the build: clean up and go, without freeing the heap object by object
        # No waiting here: the signal may arrive while `cleanup` waits for the compiler, and a second wait
        # would block on the lock the first one holds. The compiler ends on the signal (or sees us gone).
        if service is not None:
            service.terminate()
        shutil.rmtree(folder, ignore_errors=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, ended)
    try:
        return _serve(workers, started)
    finally:
        cleanup()


def _serve(workers: int, started: float) -> int:
    for name in UNUSED_OPTIONAL:
        sys.modules.setdefault(name, None)  # an import of it raises ImportError, which its importer expects
    preloaded = []
    for name in PRELOAD:
        try:
            __import__(name)
            preloaded.append(name)
        except Exception:
            pass
    _say({"ready": True, "pid": os.getpid(), "preloaded": preloaded,
          "seconds": round(time.perf_counter() - started, 3)})
    queued: list[dict] = []
    running: dict[int, tuple[dict, float]] = {}
    stdin_open = True
    buffer = b""
    while stdin_open or queued or running:
        while queued and len(running) < workers:
            job = queued.pop(0)
            running[_fork_job(job)] = (job, time.perf_counter())
        if stdin_open:
            ready, _, _ = select.select([sys.stdin.buffer], [], [], 0.02)
            if ready:
                chunk = os.read(sys.stdin.fileno(), 1 << 20)
                if not chunk:
                    stdin_open = False
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        queued.append(json.loads(line))
        else:
            time.sleep(0.01)
        for pid in list(running):
            job, began = running[pid]
            done, status = os.waitpid(pid, os.WNOHANG)
            if not done:
                limit = job.get("deadline")
                if limit and time.perf_counter() - began > limit:
                    os.kill(pid, signal.SIGKILL)
                continue
            del running[pid]
            _say({"id": job["id"], "status": os.waitstatus_to_exitcode(status),
                  "wall": round(time.perf_counter() - began, 3)})
    return 0


# --------------------------------------------------------------------------- the client side
#: Environment variable through which a started pool is handed to a child process (`Pool.handover`).
HANDOVER_ENV = "VALUECHAIN_POOL_FDS"


@dataclass
class Outcome:
    """One notebook's run in the pool: its executed notebook and reads, or why it failed."""

    job_id: str
    ok: bool
    seconds: float
    notebook: dict | None = None
    reads: dict | None = None
    error: str | None = None
    extra: dict = field(default_factory=dict)


class Pool:
    """A zygote process and its forked workers (``with Pool(workers=2) as pool``).

    Parameters
    ----------
    workers : int
        Notebooks run at once.
    env : dict, optional
        The zygote's (and every notebook's) environment; default this process's.
    cwd : path, optional
        Where the zygote starts.
    """

    def __init__(self, workers: int = 2, env: dict | None = None, cwd=None, vega_service: bool = False):
        self.workers = max(1, int(workers))
        self._tmp = tempfile.TemporaryDirectory(prefix="vc-pool-")
        self._log = open(Path(self._tmp.name) / "zygote.log", "w+b")
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "serve", "--workers", str(self.workers),
             *(["--vega-service"] if vega_service else [])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=env, cwd=cwd)
        self._stdin, self._stdout = self.process.stdin, self.process.stdout
        self.ready_info: dict | None = None
        self._ids = 0

    def handover(self, env: dict) -> tuple[int, int]:
        """Let a child process (the Sphinx build) use this pool: its pipes' descriptors go in ``env``.

        Returns the descriptors to pass (``subprocess.Popen(..., pass_fds=...)``); the child calls
        `Pool.attached`. Used to start the pool's preload before the child has even started.
        """
        fds = (self._stdin.fileno(), self._stdout.fileno())
        env[HANDOVER_ENV] = f"{fds[0]},{fds[1]},{self.workers}"
        return fds

    @classmethod
    def attached(cls) -> Pool | None:
        """The pool handed over by the parent process (`handover`), or None."""
        spec = os.environ.pop(HANDOVER_ENV, "")
        if not spec:
            return None
        write_fd, read_fd, workers = (int(x) for x in spec.split(","))
        pool = cls.__new__(cls)
        pool.workers, pool.process, pool._log = workers, None, None
        pool._tmp = tempfile.TemporaryDirectory(prefix="vc-pool-")  # the result files of its jobs
        pool._stdin, pool._stdout = os.fdopen(write_fd, "wb"), os.fdopen(read_fd, "rb")
        pool.ready_info, pool._ids = None, 0
        return pool

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def log(self) -> str:
        if self._log is None:
            return "(the zygote's log is kept by the process that started it)"
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def wait_ready(self, timeout: float = 60) -> dict:
        """Wait for the zygote's preload; raise RuntimeError if it died or took longer than ``timeout``."""
        if self.ready_info is None:
            line = self._readline(timeout)
            self.ready_info = json.loads(line)
        return self.ready_info

    def _readline(self, timeout: float | None) -> str:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self._stdout], [], [], left)
            if ready:
                line = self._stdout.readline()
                if not line:
                    raise RuntimeError(f"the notebook pool stopped: {self.log()[-2000:]}")
                return line.decode()
            if deadline is not None and time.monotonic() >= deadline:
                raise RuntimeError("the notebook pool did not answer in time")

    def run(self, notebooks: list[dict], timeout: int | None = None, allow_errors: bool = False):
        """Run notebooks: hand them to the workers now and return an iterator of an `Outcome` for each, as
        it finishes (in finishing order).

        Parameters
        ----------
        notebooks : list of dict
            ``{"id": ..., "notebook": <nbformat dict>, "cwd": <folder>, "roots": [<watched folders>]}``,
            in the order to start them (longest first keeps both workers busy to the end).
        timeout : int, optional
            Seconds a cell may run.
        """
        self.wait_ready()
        pending = {}
        for item in notebooks:
            self._ids += 1
            result = Path(self._tmp.name) / f"job{self._ids}.json"
            cells = sum(1 for c in item["notebook"]["cells"] if c["cell_type"] == "code")
            job = {"id": item["id"], "notebook": item["notebook"], "cwd": str(item["cwd"]),
                   "roots": [str(r) for r in item["roots"]], "timeout": timeout, "allow_errors": allow_errors,
                   "result": str(result), "deadline": (timeout * cells + 60) if timeout else None}
            pending[item["id"]] = result
            self._stdin.write((json.dumps(job) + "\n").encode())
        self._stdin.flush()
        return self._outcomes(pending)

    def _outcomes(self, pending: dict):
        while pending:
            answer = json.loads(self._readline(None))
            result_path = pending.pop(answer["id"])
            try:
                result = json.loads(result_path.read_text(encoding="utf-8"))
                result_path.unlink()
            except (OSError, ValueError):
                result = {"ok": False, "error": f"the worker died (exit status {answer['status']})", "seconds": 0.0}
            yield Outcome(answer["id"], bool(result.get("ok")), float(result.get("seconds", 0.0)),
                          result.get("notebook"), result.get("reads"), result.get("error"),
                          {"wall": answer.get("wall"), "cpu": result.get("cpu")})

    def close(self, terminate: bool = False) -> None:
        """Close this process's end (the zygote ends once every process holding it has closed it), or with
        ``terminate`` end the zygote now (when no process can need it any more)."""
        for pipe in (self._stdin, self._stdout):
            try:
                pipe.close()
            except OSError:
                pass
        if self.process is None:
            self._tmp.cleanup()
            return
        if terminate and self.process.poll() is None:
            self.process.terminate()  # its warm compiler sees its parent go and ends too
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()
        self._tmp.cleanup()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="the notebook pool's zygote")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--vega-service", action="store_true", help="start a warm Vega-Lite compiler for the children")
    arguments = parser.parse_args()
    code = serve(arguments.workers, arguments.vega_service)
    sys.stdout.flush()
    sys.stderr.flush()
    # Out without the interpreter's teardown: freeing the preloaded heap object by object takes seconds, and
    # the build's SIGTERM, arriving once teardown has begun, would no longer be handled.
    os._exit(code)
