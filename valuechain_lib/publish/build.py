"""Building the book: Jupyter Book with the execution cache, the notebook pool, a summary of failures.

Kept apart from the page helpers (`valuechain_lib.publish.book`) and free of pandas and Altair at
import, so that ``python -m valuechain_lib build`` starts the notebook pool's preload at once instead of
after a second and a half of imports the build's own process never uses.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from valuechain_lib.paths import REPO_ROOT

BUILD_DIR = REPO_ROOT / "_build"
CACHE_DIR = BUILD_DIR / ".jupyter_cache"
DOCTREES_DIR = BUILD_DIR / ".doctrees"
PRESENTATION_STAMP = BUILD_DIR / "presentation.sha256"


def _digest(files) -> str:
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(str(path.relative_to(REPO_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def presentation_digest() -> str:
    """Digest of what shapes every page but no cell's output: configuration, templates, extensions,
    the book's own scripts and styles (Sphinx writes nothing when no page source changed, so a changed
    stylesheet alone would never reach the HTML)."""
    book_dir = REPO_ROOT / "book"
    return _digest([REPO_ROOT / "_config.yml", REPO_ROOT / "_toc.yml", *(book_dir / "_templates").rglob("*.html"),
                    *(book_dir / "_ext").rglob("*.py"), *(book_dir / "_static").glob("*.css"),
                    *(book_dir / "_static").glob("*.js"), *(book_dir / "_static" / "vega").glob("*")])


def _stale(stamp_path: Path, stamp: str) -> bool:
    return not stamp_path.exists() or stamp_path.read_text() != stamp


def build_environment(base: dict | None = None) -> dict[str, str]:
    """The environment of the build and of every page's kernel (kernels inherit it).

    The repository being built comes first on ``PYTHONPATH`` and its ``data/`` is ``VALUECHAIN_DATA``,
    so the pages run this clone's library on this clone's snapshot, whichever clone was installed
    with ``pip install -e`` (an editable install's finder comes after ``PYTHONPATH`` on the path).

    Parameters
    ----------
    base : dict, optional
        The environment to start from (default ``os.environ``).

    Returns
    -------
    dict
        A copy of ``base`` with ``PYTHONPATH``, ``VALUECHAIN_DATA`` and ``PYDEVD_DISABLE_FILE_VALIDATION`` set.
    """
    env = dict(os.environ if base is None else base)
    others = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and Path(p).resolve() != REPO_ROOT]
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *others])
    env["VALUECHAIN_DATA"] = str(REPO_ROOT / "data")
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


REPORTS_DIR = BUILD_DIR / "html" / "reports"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_IPYTHON_HEADER = re.compile(r"^(?P<ename>\S+)\s+Traceback \(most recent call last\)")
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_]\w*\.)*(?P<ename>[A-Z]\w*): (?P<message>\S.*)$")
_SPHINX_PROBLEM = re.compile(
    r"^(?:(?P<where>\S[^\n]*?): )?(?P<level>WARNING|ERROR|CRITICAL|SEVERE): (?P<message>.*)$")
_SUMMARY_WIDTH = 400


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SUMMARY_WIDTH else text[:_SUMMARY_WIDTH - 1] + "…"


def exception_of_report(text: str) -> tuple[str, str]:
    """The exception a failed page raised, from myst-nb's ``<page>.err.log`` traceback.

    Parameters
    ----------
    text : str
        The report: nbclient's error, which holds the cell's IPython traceback (with colour codes).

    Returns
    -------
    tuple of str
        ``(exception name, first line of its message)``, e.g. ``("SnapshotError", "data/snapshot/…")``;
        a timed-out cell gives ``("CellTimeoutError", …)``.
    """
    lines = [line.rstrip() for line in _ANSI.sub("", text).splitlines()]
    header = [m.group("ename") for line in lines if (m := _IPYTHON_HEADER.match(line))]
    if header:
        ename = header[-1].rsplit(".", 1)[-1]
        for line in reversed(lines):
            if line.startswith(f"{header[-1]}: ") or line.startswith(f"{ename}: "):
                return ename, line.split(": ", 1)[1]
            if line == header[-1] or line == ename:  # raised without a message
                return ename, ""
    for line in reversed(lines):
        match = _EXCEPTION_LINE.match(line)
        if match:
            return match.group("ename"), match.group("message")
    last = next((line for line in reversed(lines) if line.strip()), "")
    return "error", last.strip()


def _source_of(docname: str, root: Path) -> str:
    for suffix in (".md", ".ipynb"):
        if (root / f"{docname}{suffix}").is_file():
            return f"{docname}{suffix}"
    return docname


def _page_of(where: str, root: Path) -> str:
    """``/clone/chapters/x.md:12`` → ``chapters/x.md``; a problem not tied to a page → ``(build)``."""
    path = where.rsplit(":", 1)[0] if re.search(r":\d+$", where) else where
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except (ValueError, OSError):
        return "(build)"


def build_failures(log: str, reports_dir: Path = REPORTS_DIR, root: Path = REPO_ROOT) -> list[str]:
    """One line per page that failed: the page, its exception and message, or its first warning.

    Parameters
    ----------
    log : str
        What the build printed.
    reports_dir : Path
        myst-nb's folder of failed notebooks' tracebacks (``<page>.err.log``), emptied before the build.
    root : Path
        The repository built (page paths are shown relative to it).

    Returns
    -------
    list of str
        ``"chapters/x.md: SnapshotError: data/snapshot/financials.csv does not match …"`` for a page whose
        notebook raised, ``"book/y.md:12: WARNING: … (and 2 more)"`` for a page with other problems, in
        page order; empty when nothing failed.
    """
    failed: dict[str, str] = {}
    if reports_dir.is_dir():
        for report in sorted(reports_dir.rglob("*.err.log")):
            docname = report.relative_to(reports_dir).as_posix()[: -len(".err.log")]
            ename, message = exception_of_report(report.read_text(encoding="utf-8", errors="replace"))
            failed[_source_of(docname, root)] = _one_line(f"{ename}: {message}" if message else ename)
    plain = _ANSI.sub("", log)
    # With ``nb_execution_raise_on_error`` the build stops at the first failing page and saves no report:
    # its traceback is in the log, between myst-nb's warning and the ExecutionError naming the page.
    for stopped in re.finditer(r"^myst_nb\.core\.execute\.base\.ExecutionError: (?P<path>.+)$", plain, re.M):
        page = _page_of(stopped.group("path").strip(), root)
        began = plain.rfind(f"{stopped.group('path').strip()}: WARNING: Executing notebook failed", 0, stopped.start())
        ename, message = exception_of_report(plain[max(began, 0):stopped.start()])
        failed.setdefault(page, _one_line(f"{ename}: {message}" if message else ename))
    problems: dict[str, list[str]] = {}
    for line in plain.splitlines():
        match = _SPHINX_PROBLEM.match(line.strip())
        if not match or match.group("message").startswith(
                ("Executing notebook failed", "Notebook exception traceback saved in")):
            continue  # the report of a failed notebook says more
        where = match.group("where") or ""
        page = _page_of(where, root) if where else "(build)"
        if page in failed:
            continue
        row = re.search(r":(\d+)$", where)
        located = page if page == "(build)" or not row else f"{page}:{row.group(1)}"
        problems.setdefault(page, []).append(f"{located}: {match.group('level')}: {match.group('message')}")
    lines = [f"{page}: {text}" for page, text in failed.items()]
    for found in problems.values():
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        lines.append(_one_line(found[0]) + more)
    return sorted(lines, key=lambda line: (line.startswith("(build)"), line))


def failure_summary(code: int, log: str, reports_dir: Path = REPORTS_DIR, root: Path = REPO_ROOT) -> list[str]:
    """The last lines a failed build prints: a header, then `build_failures`' line per failing page.

    Parameters
    ----------
    code : int
        jupyter-book's return code.
    log, reports_dir, root
        As in `build_failures`.

    Returns
    -------
    list of str
    """
    failures = build_failures(log, reports_dir, root)
    header = f"book NOT built (jupyter-book returned {code})"
    if "myst_nb.core.execute.base.ExecutionError" in log:
        header += ("; it stopped at the first failing page (nb_execution_raise_on_error: true in _config.yml), "
                   "later pages were not run:")
    elif failures:
        header += f"; {len(failures)} failing page{'s' if len(failures) > 1 else ''}, tracebacks above and in " \
                  f"{_shown_path(reports_dir, root)}/:"
    else:
        header += ": see the log above"
    return [header, *(f"  {line}" for line in failures)]


def _shown_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _run_teed(cmd: list[str], env: dict, pass_fds=()) -> tuple[int, str]:
    """Run ``cmd``, printing its output as it comes, and return its code and output."""
    seen = []
    with subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, encoding="utf-8", errors="replace", bufsize=1, pass_fds=pass_fds) as process:
        for line in process.stdout:
            sys.stdout.write(line)
            seen.append(line)
        sys.stdout.flush()
    return process.returncode, "".join(seen)


def start_pool(env: dict | None = None):
    """The notebook pool (book/_ext/vc_pool.py), started now so that its preload (pandas, Altair, the
    kernel machinery; about 2 s) runs while the data are checked and Jupyter Book starts; the build's
    ``vc_execute`` extension takes it over (`build`'s ``pool``). None when the pool is turned off
    (``VALUECHAIN_BUILD_WORKERS=0``) or no page looks stale."""
    import importlib.util

    env = build_environment() if env is None else env
    ext = REPO_ROOT / "book" / "_ext"
    if not (ext / "vc_execute.py").is_file():
        return None
    sys.path.insert(0, str(ext))
    try:
        spec = importlib.util.spec_from_file_location("vc_execute", ext / "vc_execute.py")
        vc_execute = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(vc_execute)
    finally:
        sys.path.remove(str(ext))
    count = vc_execute.workers()
    if not count or not vc_execute.may_run_pages(REPO_ROOT, CACHE_DIR):
        return None  # nothing looks stale: the extension starts a pool itself if a page must run after all
    return vc_execute.vc_pool.Pool(count, env=env, cwd=REPO_ROOT, vega_service=True)


def build_jobs() -> int:
    """Sphinx's parallel processes: ``$VALUECHAIN_BUILD_JOBS``, else the machine's cores (at most 4)."""
    chosen = os.environ.get("VALUECHAIN_BUILD_JOBS", "").strip()
    return max(1, int(chosen)) if chosen else max(1, min(os.cpu_count() or 1, 4))


def build(extra_args=(), pool=None) -> int:
    """Build the HTML book from the committed snapshot: execution cache on, any warning fails.

    Checks every snapshot table against its manifest's sha256, then runs ``jupyter-book build . -W -n
    --keep-going`` in the repository root with `build_environment` (pages run this repository's
    library and data) and Sphinx reading and writing pages in `build_jobs` processes. The book's
    ``vc_execute`` extension runs the notebooks whose outputs are stale -- their code, or a data file,
    manifest key or library module they read, changed -- in a pool of warm worker processes before
    Sphinx reads them, so a changed table re-runs only the pages that read it. Sphinx's saved
    environment is emptied if the configuration, templates or styles changed (every page is then
    rewritten from the cached executions). The full log is printed as it comes; when the build fails,
    its last lines name every failing page (`build_failures`).

    Parameters
    ----------
    extra_args : sequence of str
        More arguments for ``jupyter-book build``.
    pool : vc_pool.Pool, optional
        A pool `start_pool` started earlier (the command line starts it before checking the data);
        by default one is started here. The build ends it.

    Returns
    -------
    int
        0 when the book was built, else non-zero.

    Raises
    ------
    SnapshotError
        An edited, missing or unreadable snapshot file, in one line naming it (nothing is built).
    """
    env = build_environment()
    if pool is None:
        pool = start_pool(env)  # first: its preload runs while the snapshot is checked and Jupyter Book starts
    try:
        from valuechain_lib.snapshot.store import verify_snapshot

        verify_snapshot(REPO_ROOT / "data")
    except BaseException:
        if pool is not None:
            pool.close(terminate=True)
        raise
    chosen = os.environ.get("VALUECHAIN_DATA")
    if chosen and Path(chosen).resolve() != (REPO_ROOT / "data").resolve():
        print(f"note: the book is built from {REPO_ROOT / 'data'}; VALUECHAIN_DATA={chosen} is ignored")
    look = presentation_digest()
    # Stale outputs are found page by page (book/_ext/vc_execute.py, from the inputs each page read), so a
    # change to the data or the library no longer empties the whole execution cache.
    if DOCTREES_DIR.exists() and _stale(PRESENTATION_STAMP, look):
        print("configuration, templates or styles changed since the last build: rewriting every page")
        shutil.rmtree(DOCTREES_DIR, ignore_errors=True)
    shutil.rmtree(REPORTS_DIR, ignore_errors=True)  # only this build's failures are reported
    # The Jupyter Book CLI has no -j: its build_sphinx is given the jobs.
    # Once Jupyter Book is done, its process ends at once: freeing the whole Sphinx environment object by
    # object at interpreter exit takes over a second, on the build's critical path.
    # Jupyter Book validates its configuration with jsonschema, whose optional IRI checker would build a
    # grammar for a second first: the modules the notebook pool keeps out (vc_pool.UNUSED_OPTIONAL) stay out.
    launcher = ("import functools, os, sys\n"
                "sys.path.insert(0, sys.argv.pop(1)); from vc_pool import UNUSED_OPTIONAL; sys.path.pop(0)\n"
                "for name in UNUSED_OPTIONAL:\n    sys.modules.setdefault(name, None)\n"
                "import jupyter_book.sphinx as jbs; from jupyter_book.cli.main import main\n"
                "jbs.build_sphinx = functools.partial(jbs.build_sphinx, jobs=int(sys.argv.pop(1)))\n"
                "try:\n    main()\nexcept SystemExit as end:\n    code = end.code\nelse:\n    code = 0\n"
                "sys.stdout.flush(); sys.stderr.flush()\n"
                "os._exit(code if isinstance(code, int) else (0 if code is None else 1))")
    cmd = [sys.executable, "-c", launcher, str(REPO_ROOT / "book" / "_ext"), str(build_jobs()), "build", str(REPO_ROOT),
           "--builder", "html",
           "-W", "-n", "--keep-going", *extra_args]
    try:
        code, log = _run_teed(cmd, env, pool.handover(env) if pool else ())
    finally:
        if pool is not None:
            pool.close(terminate=True)  # the build is over: no need to wait for its preload to finish
    if code == 0:
        PRESENTATION_STAMP.write_text(look)
        print(f"book built: open {BUILD_DIR / 'html' / 'index.html'}")
        return 0
    # Sphinx would not read an unchanged failing page again: the next build must, to report it again.
    shutil.rmtree(DOCTREES_DIR, ignore_errors=True)
    print()
    print("\n".join(failure_summary(code, log)))
    return code or 1
