"""The execution cache: outputs never stale after an input changes, no state shared between pages.

The book's notebooks run in `vc_pool` (book/_ext): forked copies of one warm process, each recording the
files it read. These tests run small notebooks of their own through it (no book build), then, marked
slow, a two-page book built twice with Jupyter Book and the ``vc_execute`` extension.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))

import vc_pool  # noqa: E402 - book/_ext is no package

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])


def _notebook(*cells: str) -> dict:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _outputs(nb: dict) -> list[dict]:
    return [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]


def _text(nb: dict) -> str:
    parts = []
    for out in _outputs(nb):
        parts.append(out.get("text") or out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


@pytest.fixture(scope="module")
def pool():
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    with vc_pool.Pool(workers=1, env=env) as running:  # one worker: every notebook in the same zygote, in turn
        yield running


def _run(pool, notebooks: dict, cwd: Path, roots) -> dict:
    items = [{"id": key, "notebook": nb, "cwd": cwd, "roots": roots} for key, nb in notebooks.items()]
    return {o.job_id: o for o in pool.run(items, timeout=60)}


def test_tracked_json_notes_only_the_keys_read():
    """A manifest read for one table's checksum depends on that key, not on the other tables' entries."""
    seen: set = set()
    manifest = vc_pool._TrackedDict({"built_at": "2026", "tables": {"a": {"sha256": "x"}, "b": {"sha256": "y"}}},
                                    (), seen)
    assert manifest.get("tables")["a"]["sha256"] == "x"
    assert ("tables", "a", "sha256") in {p for p, _ in seen}
    assert not any(p[:2] == ("tables", "b") for p, _ in seen)
    assert not any(p == ("built_at",) for p, _ in seen)
    list(manifest["tables"].items())  # a look at the whole of 'tables' depends on all of it
    assert (("tables",), "value") in seen


def test_stale_reason_names_the_changed_input(tmp_path):
    """A record of what a run read is current until a file, a JSON key it read or a listed folder changes."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "t.csv").write_text("a\n1\n")
    (data / "m.json").write_text(json.dumps({"tables": {"t": 1, "u": 2}, "built_at": "x"}))
    reads = {"files": [str(data / "t.csv")], "json": {str(data / "m.json"): [[["tables", "t"], "value"]]},
             "listed": [str(data)], "written": []}
    record = vc_pool.inputs_record(reads, tmp_path)
    assert record["files"] == {"data/t.csv": vc_pool.file_digest(data / "t.csv")}
    assert vc_pool.stale_reason(record, tmp_path) is None
    (data / "m.json").write_text(json.dumps({"tables": {"t": 1, "u": 3}, "built_at": "y"}))
    assert vc_pool.stale_reason(record, tmp_path) is None  # keys it never read
    (data / "m.json").write_text(json.dumps({"tables": {"t": 5, "u": 3}, "built_at": "y"}))
    assert vc_pool.stale_reason(record, tmp_path) == "data/m.json changed at tables/t"
    (data / "m.json").write_text(json.dumps({"tables": {"t": 1, "u": 2}, "built_at": "x"}))
    (data / "t.csv").write_text("a\n2\n")
    assert vc_pool.stale_reason(record, tmp_path) == "data/t.csv changed"
    (data / "t.csv").write_text("a\n1\n")
    (data / "new.csv").write_text("b\n")
    assert vc_pool.stale_reason(record, tmp_path) == "the files in data/ changed"


def test_no_state_leaks_from_one_notebook_to_the_next(pool, tmp_path):
    """What one notebook changes (a module's state, the environment, the working folder, a cached table,
    its variables) is not there for the next one run by the same worker: the second prints 'clean'."""
    (tmp_path / "shared_mod.py").write_text("STATE = []\n")
    first = _notebook(
        """
        import json, os, sys, functools
        import shared_mod
        shared_mod.STATE.append("dirty")
        json.leaked = True
        os.environ["VC_LEAK"] = "1"
        sys.path.append("/leaked")
        secret = 42
        os.chdir("/")
        print("first done")
        """)
    second = _notebook(
        """
        import json, os, sys
        import shared_mod
        leaks = [name for name, leaked in [
            ("module state", shared_mod.STATE != []), ("patched module", hasattr(json, "leaked")),
            ("environment", "VC_LEAK" in os.environ), ("sys.path", "/leaked" in sys.path),
            ("variables", "secret" in globals()), ("working folder", os.getcwd() == "/")] if leaked]
        print("clean" if not leaks else f"leaked: {leaks}")
        """)
    results = _run(pool, {"first": first, "second": second}, tmp_path, [tmp_path])
    assert results["first"].ok and _text(results["first"].notebook) == "first done\n"
    assert results["second"].ok, results["second"].error
    assert _text(results["second"].notebook) == "clean\n"


def test_outputs_are_those_of_a_kernel(pool, tmp_path):
    """Streams, rich displays and the last expression come out as nbclient stores them: execution counts
    1, 2, ..., ``execute_result`` with text/plain, ``display_data`` with text/html, stderr as a stream."""
    nb = _notebook(
        "print('a')\n1 + 1",
        "from IPython.display import HTML, display\ndisplay(HTML('<b>x</b>'))",
        "",
        "import sys\nprint('w', file=sys.stderr)")
    run = _run(pool, {"nb": nb}, tmp_path, [tmp_path])["nb"]
    assert run.ok, run.error
    cells = run.notebook["cells"]
    assert [c.get("execution_count") for c in cells] == [1, 2, None, 3]
    assert cells[0]["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "a\n"},
                                   {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                                    "data": {"text/plain": "2"}}]
    assert cells[1]["outputs"][0]["output_type"] == "display_data"
    assert cells[1]["outputs"][0]["data"]["text/html"] == "<b>x</b>"
    assert cells[3]["outputs"] == [{"output_type": "stream", "name": "stderr", "text": "w\n"}]
    assert run.notebook["metadata"]["language_info"]["name"] == "python"


def test_a_failing_notebook_is_reported_failed(pool, tmp_path):
    """A cell that raises fails the run (myst-nb then runs the page itself and reports the error)."""
    run = _run(pool, {"bad": _notebook("1 / 0")}, tmp_path, [tmp_path])["bad"]
    assert not run.ok and "ZeroDivisionError" in run.error


def test_reads_are_recorded_per_notebook(pool, tmp_path):
    """Each run records the data files it opened and the keys of a JSON manifest it looked at; changing
    one table makes only its reader stale."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("x\n1\n")
    (data / "b.csv").write_text("x\n2\n")
    (data / "manifest.json").write_text(json.dumps({"tables": {"a": {"sha256": "1"}, "b": {"sha256": "2"}}}))
    reader = """
        import json, pandas as pd
        with open("data/manifest.json") as handle:
            checksum = json.load(handle)["tables"]["{t}"]["sha256"]
        print(int(pd.read_csv("data/{t}.csv")["x"].sum()), checksum)
        """
    runs = _run(pool, {"a": _notebook(reader.format(t="a")), "b": _notebook(reader.format(t="b"))},
                tmp_path, [tmp_path])
    records = {k: vc_pool.inputs_record(r.reads, tmp_path) for k, r in runs.items()}
    assert set(records["a"]["files"]) == {"data/a.csv"} and set(records["b"]["files"]) == {"data/b.csv"}
    assert [p for p, _, _ in records["a"]["json"]["data/manifest.json"]] == [["tables"], ["tables", "a"],
                                                                             ["tables", "a", "sha256"]]
    (data / "b.csv").write_text("x\n3\n")
    manifest = json.loads((data / "manifest.json").read_text())
    manifest["tables"]["b"]["sha256"] = "3"
    (data / "manifest.json").write_text(json.dumps(manifest))
    assert vc_pool.stale_reason(records["a"], tmp_path) is None
    assert vc_pool.stale_reason(records["b"], tmp_path) == "data/b.csv changed"


# --------------------------------------------------------------------------- a book, built twice
_PAGE = """\
---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# Page {t}

```{{code-cell}} ipython3
import pandas as pd
print("total", int(pd.read_csv("../data/{t}.csv")["x"].sum()))
```
"""


def _build(book: Path) -> str:
    launcher = "from jupyter_book.cli.main import main; main()"
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", launcher, "build", str(book), "-W", "-n", "--keep-going"],
                          cwd=book, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def _total(book: Path, page: str) -> str:
    html = (book / "_build" / "html" / "pages" / f"{page}.html").read_text(encoding="utf-8")
    return html.split("total ", 1)[1].split("\n", 1)[0].split("<", 1)[0]


@pytest.mark.slow
def test_a_changed_table_reruns_its_reader_only_and_its_page_shows_the_new_value(tmp_path):
    """Two pages each read one table. After one table changes, the rebuild runs its page only, and that
    page shows the new total (never the cached one); the other keeps its cached outputs."""
    book = tmp_path / "book"
    (book / "pages").mkdir(parents=True)
    (book / "data").mkdir()
    shutil.copytree(REPO / "book" / "_ext", book / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    (book / "data" / "a.csv").write_text("x\n1\n2\n")
    (book / "data" / "b.csv").write_text("x\n10\n")
    for t in ("a", "b"):
        (book / "pages" / f"{t}.md").write_text(_PAGE.format(t=t))
    (book / "intro.md").write_text("# Intro\n")
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n- file: pages/a\n- file: pages/b\n")
    (book / "_config.yml").write_text(textwrap.dedent("""\
        title: t
        only_build_toc_files: true
        exclude_patterns: [_build, _ext]
        execute:
          execute_notebooks: cache
          cache: _build/.jupyter_cache
          stderr_output: error
        sphinx:
          local_extensions:
            vc_execute: _ext
        """))
    first = _build(book)
    assert "vc_execute: 2 of 2 notebook(s) run" in first
    assert (_total(book, "a"), _total(book, "b")) == ("3", "10")
    (book / "data" / "a.csv").write_text("x\n1\n2\n4\n")
    second = _build(book)
    assert "vc_execute: pages/a: to run (data/a.csv changed)" in second
    assert "pages/b: to run" not in second
    assert "vc_execute: 1 of 1 notebook(s) run" in second
    assert (_total(book, "a"), _total(book, "b")) == ("7", "10")
    third = _build(book)
    assert "vc_execute" not in third  # nothing changed: nothing runs


def _comparable(nb) -> list:
    """Each code cell's execution count and outputs, pandas Styler's random table ids made equal."""
    import re

    cells = [(c.get("execution_count"), [dict(o) for o in c.get("outputs", [])])
             for c in nb["cells"] if c["cell_type"] == "code"]
    return json.loads(re.sub(r"T_[0-9a-f]{5}", "T_x", json.dumps(cells)))


@pytest.mark.slow
@pytest.mark.parametrize("page", ["chapters/value_chain_map.md", "book/status.md"])
def test_pool_outputs_equal_a_fresh_kernels(page):
    """A book page run in the pool gives the outputs nbclient stores from a kernel of its own (what
    myst-nb's cache mode ran before): same cells, counts, MIME bundles and text."""
    import copy

    import jupytext
    from nbclient import NotebookClient

    source = jupytext.read(REPO / page)
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1", "PYTHONPATH": str(REPO),
           "VALUECHAIN_DATA": str(REPO / "data")}
    kernel = copy.deepcopy(source)
    previous = dict(os.environ)
    os.environ.update(env)
    try:
        NotebookClient(kernel, timeout=120, record_timing=False,
                       resources={"metadata": {"path": str((REPO / page).parent)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(previous)
    with vc_pool.Pool(workers=1, env=env, vega_service=True) as running:
        run = next(running.run([{"id": page, "notebook": copy.deepcopy(source), "cwd": (REPO / page).parent,
                                 "roots": [REPO]}], timeout=120))
    assert run.ok, run.error
    assert _comparable(run.notebook) == _comparable(kernel)
    assert run.notebook["metadata"]["language_info"] == kernel.metadata["language_info"]


@pytest.mark.fast
def test_the_environment_fingerprint_changes_with_an_installed_distribution(tmp_path, monkeypatch):
    import vc_execute

    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    (tmp_path / "pandas-2.3.3.dist-info").mkdir()
    before = vc_execute.environment_fingerprint()
    assert vc_execute.environment_fingerprint() == before
    (tmp_path / "pandas-2.3.3.dist-info").rename(tmp_path / "pandas-2.3.4.dist-info")
    upgraded = vc_execute.environment_fingerprint()
    (tmp_path / "scipy-1.17.1.dist-info").mkdir()
    assert len({before, upgraded, vc_execute.environment_fingerprint()}) == 3
