"""Sphinx extension: run the book's notebooks before Sphinx reads them, in parallel and only when stale.

myst-nb's ``cache`` mode runs each notebook whose code has no cached outputs in a fresh kernel, one at a
time, and keys the cache on the code alone. This extension, in the same build and before any page is
read (``env-get-outdated``):

1. reads every notebook page as myst-nb will (its reader, its config, its per-page overrides) and
   decides whether its cached outputs are current: the code is cached, and every input recorded when it
   last ran -- the data files and the keys of the manifest it read, the library modules it imported,
   the folders it listed, the files it wrote still being there -- and the installed packages are
   unchanged (`vc_pool.stale_reason`). A changed table re-runs the pages that read it, and no other;
2. runs the stale ones in `vc_pool.Pool` (forked copies of one warm process, ``workers`` at a time,
   with a warm Vega-Lite compiler beside them), stores their outputs in myst-nb's jupyter-cache and
   their inputs in ``<cache>/vc_inputs.json``;
3. returns the pages whose outputs changed, so Sphinx reads them again.

myst-nb then finds every page in its cache. A page that failed in the pool has no cache entry, so
myst-nb runs it in a kernel of its own and reports its error as before. ``VALUECHAIN_BUILD_WORKERS=0``
turns the pool off (myst-nb runs every stale page; inputs are still checked).

It also declares two extensions Jupyter Book loads as safe for Sphinx's parallel read and write
(they keep no per-document state: ``sphinx_multitoc_numbering`` numbers sections from the toctrees in
the main process, ``sphinx_jupyterbook_latex`` acts on LaTeX builds only).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from importlib import metadata
from pathlib import Path, PurePosixPath

sys.path.insert(0, str(Path(__file__).resolve().parent))

import vc_pool

PARALLEL_SAFE = ("sphinx_multitoc_numbering", "sphinx_jupyterbook_latex")
INDEX_NAME = "vc_inputs.json"
#: Emitted once the pool has the stale pages, before their results come back.
PAGES_RUNNING = "vc-pages-running"
_POOL_KEY = "_vc_pool"


def workers() -> int:
    """Notebooks run at once: ``$VALUECHAIN_BUILD_WORKERS``, else the machine's cores (at most 4)."""
    chosen = os.environ.get("VALUECHAIN_BUILD_WORKERS")
    if chosen is not None and chosen.strip():
        return max(0, int(chosen))
    return max(1, min(os.cpu_count() or 1, 4))


def environment_fingerprint() -> str:
    """Python's version, the pool's code and every installed distribution's name and version, as one digest.

    The names and versions are read from the folders' names (``pandas-2.3.3.dist-info``), which installers
    write for every distribution: reading each distribution's metadata file took a third of a second.
    """
    names = sorted({entry.name for folder in sys.path if folder and os.path.isdir(folder)
                    for entry in os.scandir(folder) if entry.name.endswith((".dist-info", ".egg-info"))})
    runner = hashlib.sha256(Path(vc_pool.__file__).read_bytes()).hexdigest()  # how the pages were run
    return hashlib.sha256("\n".join([sys.version, runner, *names]).encode()).hexdigest()


def _logger():
    from sphinx.util import logging

    return logging.getLogger(__name__)


def _cache_path(app) -> Path:
    path = Path(app.config.nb_execution_cache_path or ".jupyter_cache")
    return path if path.is_absolute() else Path(app.srcdir) / path


def _declare_and_start(app, config) -> None:
    for name in PARALLEL_SAFE:
        ext = app.extensions.get(name)
        if ext is not None:
            ext.parallel_read_safe = True
            ext.parallel_write_safe = True
    # The pool `valuechain_lib.publish.build.build` started before Sphinx, or one started now: its preload
    # runs while Sphinx loads its environment.
    handed = vc_pool.Pool.attached()
    if config.nb_execution_mode == "cache" and workers() > 0:
        if handed is None and may_run_pages(Path(app.srcdir), _cache_path(app)):
            handed = vc_pool.Pool(workers(), cwd=app.srcdir, vega_service=True)
        setattr(app, _POOL_KEY, handed)
    elif handed is not None:
        handed.close()


def _stop(app, exception=None) -> None:
    pool = getattr(app, _POOL_KEY, None)
    if pool is not None:
        pool.close(terminate=True)  # no page is left to run (a preload still going is cut short)
        setattr(app, _POOL_KEY, None)


def may_run_pages(root: Path, cache_dir: Path) -> bool:
    """A quick look, to start the pool early or not (`execute_outdated` decides): no record of the last
    run's inputs, a page edited since, or a recorded input changed."""
    index = cache_dir / INDEX_NAME
    if not index.is_file():
        return True
    since = index.stat().st_mtime
    pages = [*root.glob("chapters/*.md"), *root.glob("book/*.md"), *root.glob("*.md")]
    if any(page.stat().st_mtime > since for page in pages):
        return True
    memo: dict = {}
    return any(vc_pool.stale_reason(record, root, memo) for record in _load_index(index).values())


def _load_index(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _save_index(path: Path, index: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps(index, indent=1, sort_keys=True), encoding="utf-8")
    partial.replace(path)


def _notebook_of(env, docname: str, text: str):
    """The page as myst-nb reads it (None for a plain Markdown page), and its page-level myst-nb config."""
    from myst_nb.core.read import create_nb_reader
    from myst_nb.core.nb_to_tokens import nb_node_to_dict

    path = env.doc2path(docname)
    nb_config = env.mystnb_config
    reader = create_nb_reader(str(path), env.myst_config, nb_config, text)
    if reader is None:
        return None, nb_config
    notebook = reader.read(text)
    kernel = notebook.metadata.get("kernelspec", {}).get("name")
    for pattern, alias in (nb_config.kernel_rgx_aliases or {}).items():
        if kernel is not None and re.fullmatch(pattern, kernel):
            notebook.metadata["kernelspec"]["name"] = alias
            break
    if nb_config.metadata_key in notebook.metadata:
        overrides = nb_node_to_dict(notebook.metadata[nb_config.metadata_key])
        overrides.pop("output_folder", None)
        try:
            nb_config = nb_config.copy(**overrides)
        except Exception:
            pass
    return notebook, nb_config


def _excluded(path: str, nb_config) -> bool:
    posix = PurePosixPath(Path(path).as_posix())
    return any(posix.match(pattern) for pattern in nb_config.execution_excludepatterns or ())


def execute_outdated(app, env, added, changed, removed) -> list[str]:
    """``env-get-outdated``: run the stale notebook pages in the pool; return those to read again."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.cache.db import NbCacheRecord

    pool = getattr(app, _POOL_KEY, None)
    if app.config.nb_execution_mode != "cache":
        _stop(app)
        return []
    log = _logger()
    root = Path(app.srcdir)
    cache_dir = _cache_path(app)
    cache = get_cache(str(cache_dir))
    index_path = cache_dir / INDEX_NAME
    index = _load_index(index_path)
    fingerprint = environment_fingerprint()
    memo: dict = {}
    roots = [str(root)]
    if os.environ.get("VALUECHAIN_DATA"):
        roots.append(os.environ["VALUECHAIN_DATA"])
    # A page's text and the parsers' configuration decide its notebook: unchanged, the recorded cache key
    # stands and the page is not parsed again (parsing every page costs seconds).
    settings = hashlib.sha256(f"{env.myst_config!r}{env.mystnb_config!r}".encode()).hexdigest()
    stale, reread = [], []
    for docname in sorted(env.found_docs):
        path = str(env.doc2path(docname))
        text = Path(path).read_text(encoding="utf-8")
        source = hashlib.sha256((settings + text).encode()).hexdigest()
        record = index.get(docname)
        known = record is not None and record.get("source") == source
        if known and record.get("plain"):
            continue
        if known and record.get("environment") == fingerprint:
            try:
                cached = NbCacheRecord.record_from_hashkey(record["hashkey"], cache.db)
            except KeyError:
                cached = None
            if cached is not None and cached.pk == record.get("cache_pk") and \
                    not vc_pool.stale_reason(record, root, memo):
                continue
        notebook, nb_config = _notebook_of(env, docname, text)
        if notebook is None or nb_config.execution_mode != "cache" or _excluded(path, nb_config):
            index[docname] = {"source": source, "plain": True}
            continue
        _, hashkey = cache.create_hashed_notebook(notebook)
        try:
            cached = cache.match_cache_notebook(notebook)
        except KeyError:
            cached = None
        if cached is None:
            reason = "its code is not in the cache"
        elif record is None or record.get("hashkey") != hashkey or record.get("cache_pk") != cached.pk:
            reason = "no record of what it read"
        elif record.get("environment") != fingerprint:
            reason = "the installed packages or the notebook runner changed"
        else:
            reason = vc_pool.stale_reason(record, root, memo)
        if reason:
            stale.append((docname, path, notebook, nb_config, cached, reason, record, source))
        else:
            record["source"] = source
    _save_index(index_path, index)
    if not stale:
        _stop(app)
        return []
    for docname, _, _, _, _, reason, _, _ in stale:
        log.info(f"vc_execute: {docname}: to run ({reason})")
    if pool is None and workers() > 0:
        pool = vc_pool.Pool(workers(), cwd=app.srcdir, vega_service=True)
        setattr(app, _POOL_KEY, pool)
    if pool is None:
        # No pool: myst-nb runs each stale page; stale cache entries go so that it does.
        for docname, _, _, _, cached, _, _, _ in stale:
            if cached is not None:
                cache.remove_cache_record(cached.pk)
            index.pop(docname, None)
            reread.append(docname)
        _save_index(index_path, index)
        return [d for d in reread if d in env.all_docs]
    # Longest first, so that the last pages to finish run side by side: the configured slow pages, then by
    # the time the last run took, else by the length of the page.
    first = list(app.config.vc_execute_first or ())
    stale.sort(key=lambda item: (first.index(item[0]) if item[0] in first else len(first),
                                 -(item[6] or {}).get("seconds", Path(item[1]).stat().st_size / 1e4)))
    jobs = {docname: (path, cached, source) for docname, path, _, _, cached, _, _, source in stale}
    items = [{"id": docname, "notebook": notebook, "cwd": Path(path).parent, "roots": roots}
             for docname, path, notebook, _, _, _, _, _ in stale]
    started = time.perf_counter()
    timeout = stale[0][3].execution_timeout
    allow = stale[0][3].execution_allow_errors
    failed = []
    import nbformat

    def outcomes():
        """Each page's outcome as it finishes, so that one is cached while the others still run."""
        done = set()
        try:
            running = pool.run(items, timeout=timeout, allow_errors=allow)
            app.emit(PAGES_RUNNING)  # this process now mostly waits: other extensions may prepare meanwhile
            for outcome in running:
                done.add(outcome.job_id)
                yield outcome
        except RuntimeError as exc:  # the pool itself failed: myst-nb runs the pages left
            log.info(f"vc_execute: the notebook pool failed ({exc}); myst-nb runs the pages one kernel each")
            yield from (vc_pool.Outcome(d, False, 0.0, error="pool failed") for d in jobs if d not in done)
        finally:
            _stop(app)

    count = 0
    for outcome in outcomes():
        count += 1
        path, cached, source = jobs[outcome.job_id]
        reread.append(outcome.job_id)
        if outcome.ok:
            executed = nbformat.from_dict(outcome.notebook)
            stored = cache.cache_notebook_bundle(
                CacheBundleIn(executed, path, data={"execution_seconds": outcome.seconds}),
                check_validity=False, overwrite=True)
            index[outcome.job_id] = {"hashkey": cache.create_hashed_notebook(executed)[1], "cache_pk": stored.pk,
                                     "source": source, "environment": fingerprint,
                                     "seconds": round(outcome.seconds, 3),
                                     **vc_pool.inputs_record(outcome.reads, root, memo)}
            log.info(f"vc_execute: {outcome.job_id}: ran in {outcome.seconds:.2f} s")
        else:
            failed.append(outcome.job_id)
            if cached is not None:
                try:
                    cache.remove_cache_record(cached.pk)
                except KeyError:
                    pass
            index.pop(outcome.job_id, None)
            log.info(f"vc_execute: {outcome.job_id}: failed in the pool ({outcome.error}); myst-nb runs it in a "
                     "kernel of its own and reports it")
    _save_index(index_path, index)
    log.info(f"vc_execute: {count - len(failed)} of {count} notebook(s) run in "
             f"{time.perf_counter() - started:.1f} s by {pool.workers} worker(s)")
    return [d for d in reread if d in env.all_docs]


def setup(app):
    # Pages to start first when no earlier run says how long each takes (a cold build): the slowest ones,
    # such as a page that evaluates every chapter's claims, so that they do not run alone at the end.
    app.add_config_value("vc_execute_first", [], "env", [list])
    app.add_event(PAGES_RUNNING)
    app.connect("config-inited", _declare_and_start)
    app.connect("env-get-outdated", execute_outdated)
    app.connect("build-finished", _stop)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
