"""Integrity and errors a build user can act on (issue 12).

(1) The build runs the pages on the library and data of the repository being built, not on whichever
clone was installed with ``pip install -e``. (2) A snapshot table that differs from the sha256 in its
manifest, a missing table and an unreadable manifest are refused in one line naming the file, and
nothing under ``data/`` is changed by the refusal. (3) A failed build ends with one line per failing
page: the page, the exception and its message.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import valuechain_lib as vl
from tests.browser_tools import REPO_ROOT
from valuechain_lib.errors import SnapshotError
from valuechain_lib.publish import build as book_build
from valuechain_lib.snapshot import build as snapshot_build
from valuechain_lib.snapshot import store as snapshot

# A fresh clone has no environments, build output or caches.
LEFT_OUT = shutil.ignore_patterns(".venv", "venv", "_build", ".git", ".pytest_cache", ".ruff_cache",
                                  ".hypothesis", "__pycache__", "*.egg-info", ".benchmarks", "snapshot.previous",
                                  ".snapshot-new-*")


def _folder_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path (what "nothing changed" compares)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _environment_without_this_repository() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("VALUECHAIN_DATA", None)
    return env


# --- (1) pages run the library and data of the repository being built ------------------------------------

@pytest.mark.fast
def test_build_environment_puts_the_repository_first_and_its_data():
    """Known answer: PYTHONPATH = this repository, then what was there (once); VALUECHAIN_DATA = its data/."""
    env = book_build.build_environment({"PYTHONPATH": os.pathsep.join(["/elsewhere", str(REPO_ROOT)]),
                                  "VALUECHAIN_DATA": "/some/other/data"})
    assert env["PYTHONPATH"].split(os.pathsep) == [str(book_build.REPO_ROOT), "/elsewhere"]
    assert env["VALUECHAIN_DATA"] == str(book_build.REPO_ROOT / "data")


@pytest.mark.fast
def test_a_kernel_of_a_second_clone_imports_that_clones_library(tmp_path):
    """A copy of the library run as ``python -m valuechain_lib build`` runs it (from the copy's root),
    while this repository is the editable install: a process started, like a page's kernel, in the
    copy's chapters/ folder with the environment the copy's `build.build_environment` gives imports
    ``valuechain_lib`` from the copy and reads the copy's data/. Without it, the editable install wins."""
    clone = tmp_path / "clone2"
    shutil.copytree(REPO_ROOT / "valuechain_lib", clone / "valuechain_lib", ignore=LEFT_OUT)
    (clone / "chapters").mkdir()
    given = subprocess.run(
        [sys.executable, "-c", "import json; from valuechain_lib.publish import build; print(json.dumps(build.build_environment()))"],
        cwd=clone, env=_environment_without_this_repository(), capture_output=True, text=True, check=True)
    kernel_env = json.loads(given.stdout.strip().splitlines()[-1])
    probe = ("import valuechain_lib; from valuechain_lib.paths import data_dir; "
             "print(valuechain_lib.__file__); print(data_dir())")
    seen = subprocess.run([sys.executable, "-c", probe], cwd=clone / "chapters", env=kernel_env,
                          capture_output=True, text=True, check=True).stdout.split("\n")
    assert Path(seen[0]).resolve().is_relative_to(clone.resolve()), f"the kernel imported {seen[0]}"
    assert Path(seen[1]).resolve() == (clone / "data").resolve()
    # The control: the same kernel without the build's environment imports the editable install.
    plain = subprocess.run([sys.executable, "-c", probe], cwd=clone / "chapters",
                           env=_environment_without_this_repository(), capture_output=True, text=True,
                           check=True).stdout.split("\n")
    assert not Path(plain[0]).resolve().is_relative_to(clone.resolve())


# --- (2) the snapshot loader refuses an edited snapshot ---------------------------------------------------

def _edit_first_value(path: Path) -> None:
    """Multiply the first non-empty ``value`` of a table by ten, keeping everything else byte for byte."""
    lines = path.read_text(encoding="utf-8").split("\n")
    column = next(csv.reader([lines[0]])).index("value")
    for i, line in enumerate(lines[1:], start=1):
        cells = next(csv.reader([line]))
        if cells[column]:
            cells[column] = repr(float(cells[column]) * 10)
            out = io.StringIO()
            csv.writer(out, lineterminator="").writerow(cells)
            lines[i] = out.getvalue()
            break
    path.write_text("\n".join(lines), encoding="utf-8")


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _add_column(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    lines = [line + (",note" if i == 0 else ",") if line else line for i, line in enumerate(lines)]
    path.write_text("\n".join(lines), encoding="utf-8")


def _wrong_sha(manifest_path: Path, table: str) -> None:
    text = manifest_path.read_text(encoding="utf-8")
    entry = json.loads(text)["tables"][table]["sha256"]
    manifest_path.write_text(text.replace(entry, "0" * 64), encoding="utf-8")


def _drop_checksum(manifest_path: Path, table: str) -> None:
    m = json.loads(manifest_path.read_text(encoding="utf-8"))
    del m["tables"][table]["sha256"]
    manifest_path.write_text(json.dumps(m, indent=1), encoding="utf-8")


# (case, damage to the snapshot folder, the call that loads, file the message names, what it says)
BAD_INPUTS = [
    ("edited value", lambda s: _edit_first_value(s / "financials.csv"), lambda: vl.financials("NVDA"),
     "financials.csv", "does not match the sha256 in"),
    ("truncated manifest", lambda s: _truncate(s / "manifest.json"), lambda: vl.manifest(),
     "manifest.json", "is not valid JSON"),
    ("truncated manifest, table load", lambda s: _truncate(s / "manifest.json"), lambda: vl.prices("NVDA"),
     "manifest.json", "is not valid JSON"),
    ("missing table file", lambda s: (s / "prices.csv").unlink(), lambda: vl.prices("NVDA"),
     "prices.csv", "is missing"),
    ("extra column", lambda s: _add_column(s / "crosschecks.csv"), lambda: vl.load_table("crosschecks"),
     "crosschecks.csv", "does not match the sha256 in"),
    ("wrong sha in the manifest", lambda s: _wrong_sha(s / "manifest.json", "prices"), lambda: vl.prices(),
     "prices.csv", "does not match the sha256 in"),
    ("no sha in the manifest", lambda s: _drop_checksum(s / "manifest.json", "financials"),
     lambda: vl.financials(), "manifest.json", "lists no sha256 for financials.csv"),
]


@pytest.mark.fast
@pytest.mark.parametrize(("damage", "load", "named", "says"), [case[1:] for case in BAD_INPUTS],
                         ids=[case[0] for case in BAD_INPUTS])
def test_a_damaged_snapshot_is_refused_in_one_line_naming_the_file(data_copy, damage, load, named, says):
    """Each damage → SnapshotError, one line, naming the damaged file, saying how to rebuild it; the
    loader, the build's check (`verify_snapshot`) and nothing else touched data/ (same digest after)."""
    folder = data_copy / "snapshot"
    damage(folder)
    before = _folder_digest(data_copy)
    for call in (load, snapshot.verify_snapshot):
        with pytest.raises(SnapshotError) as caught:
            call()
        message = str(caught.value)
        assert "\n" not in message, message
        assert str(folder / named) in message and says in message, message
        assert "python -m valuechain_lib snapshot --from" in message, message
    assert _folder_digest(data_copy) == before


@pytest.mark.fast
def test_a_message_inside_the_repository_names_the_file_relative_to_it():
    """Known answer: the committed financials.csv is shown as data/snapshot/financials.csv with the git remedy."""
    assert snapshot._shown(REPO_ROOT / "data" / "snapshot" / "financials.csv") == "data/snapshot/financials.csv"
    assert "git checkout data/snapshot" in snapshot._remedy(REPO_ROOT / "data" / "snapshot")


@pytest.mark.fast
def test_each_table_file_is_hashed_once_per_version(data_copy, monkeypatch):
    """Three loads of a table hash its file once; an edit after a good load (new mtime) is caught."""
    hashed = []
    real = snapshot._sha256
    monkeypatch.setattr(snapshot, "_sha256", lambda path: hashed.append(Path(path).name) or real(path))
    for _ in range(3):
        vl.load_table("price_diagnostics")
    assert hashed == ["price_diagnostics.csv"]
    path = data_copy / "snapshot" / "price_diagnostics.csv"
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    with pytest.raises(SnapshotError, match="price_diagnostics.csv does not match"):
        vl.load_table("price_diagnostics")


@pytest.mark.slow
def test_the_snapshot_command_rebuilds_over_an_edited_snapshot(data_copy):
    """The remedy the message names works: writing the tables again over an edited financials.csv
    rewrites the manifest, and the snapshot loads again with the original values."""
    tables = {name: vl.load_table(name) for name in snapshot.TABLE_FILES}
    tables["manifest"] = vl.manifest()
    _edit_first_value(data_copy / "snapshot" / "financials.csv")
    with pytest.raises(SnapshotError):
        vl.load_table("financials")
    snapshot_build.write_snapshot(tables)
    snapshot.load_table.cache_clear()
    assert snapshot.verify_snapshot()
    import pandas.testing as pdt
    pdt.assert_frame_equal(vl.load_table("financials"), tables["financials"])


# --- (3) a failed build ends with one line per failing page -----------------------------------------------

# What myst-nb saves for a page whose cell raised (nbclient's error holding IPython's coloured traceback).
REPORT = """Traceback (most recent call last):
  File "/site-packages/nbclient/client.py", line 918, in _check_raise_for_error
    raise CellExecutionError.from_cell_and_msg(cell, exec_reply_content)
nbclient.exceptions.CellExecutionError: An error occurred while executing the following cell:
------------------
vc.financials("ZZZZ")
------------------


\x1b[0;31m---------------------------------------------------------------------------\x1b[0m
\x1b[0;31mUnknownTickerError\x1b[0m                        Traceback (most recent call last)
Cell \x1b[0;32mIn[2], line 1\x1b[0m
\x1b[0;32m----> 1\x1b[0m vc\x1b[38;5;241m.\x1b[39mfinancials(\x1b[38;5;124m"\x1b[39m\x1b[38;5;124mZZZZ\x1b[39m)

\x1b[0;31mUnknownTickerError\x1b[0m: unknown ticker 'ZZZZ': not in data/universe.csv
  (a second line of the message)
"""
TIMEOUT = """Traceback (most recent call last):
  File "/site-packages/nbclient/client.py", line 801, in _async_poll_for_reply
    raise CellTimeoutError.error_from_timeout_and_cell(
nbclient.exceptions.CellTimeoutError: A cell timed out while it was being executed, after 120 seconds.
The message was: Cell execution timed out.
"""


@pytest.mark.fast
def test_exception_of_a_report():
    """Known answers: the IPython traceback's exception and the first line of its message; a timeout."""
    assert book_build.exception_of_report(REPORT) == ("UnknownTickerError",
                                                "unknown ticker 'ZZZZ': not in data/universe.csv")
    assert book_build.exception_of_report(TIMEOUT) == (
        "CellTimeoutError", "A cell timed out while it was being executed, after 120 seconds.")


@pytest.mark.fast
def test_build_failures_one_line_per_failing_page(tmp_path):
    """Two failed notebooks and a page with two warnings → three lines, in page order; the warnings
    about the failed notebooks themselves and the kernels' own log lines are not repeated."""
    root = tmp_path / "repo"
    for page in ("chapters/a.md", "chapters/b.md", "book/c.md"):
        (root / page).parent.mkdir(parents=True, exist_ok=True)
        (root / page).write_text("# page\n")
    reports = tmp_path / "reports"
    (reports / "chapters").mkdir(parents=True)
    (reports / "chapters" / "b.err.log").write_text(REPORT)
    (reports / "chapters" / "a.err.log").write_text(REPORT.replace("UnknownTickerError", "SnapshotError"))
    log = "\n".join([
        "[IPKernelApp] WARNING | Kernel is running over TCP without encryption.",
        f"{root}/chapters/a.md: WARNING: Executing notebook failed: CellExecutionError [mystnb.exec]",
        f"{root}/chapters/a.md: WARNING: Notebook exception traceback saved in: {reports}/chapters/a.err.log",
        f"\x1b[91m{root}/book/c.md:12: WARNING: undefined label: 'nowhere' [ref.ref]\x1b[39;49;00m",
        f"{root}/book/c.md:30: WARNING: undefined label: 'elsewhere' [ref.ref]",
        "build finished with problems, 6 warnings.",
    ])
    lines = book_build.build_failures(log, reports, root)
    assert lines == [
        "book/c.md:12: WARNING: undefined label: 'nowhere' [ref.ref] (and 1 more)",
        "chapters/a.md: SnapshotError: unknown ticker 'ZZZZ': not in data/universe.csv",
        "chapters/b.md: UnknownTickerError: unknown ticker 'ZZZZ': not in data/universe.csv",
    ]
    assert book_build.build_failures("build succeeded.", tmp_path / "none", root) == []


@pytest.mark.fast
def test_a_build_stopped_at_its_first_failure_is_summarised_from_its_log(tmp_path):
    """With nb_execution_raise_on_error the build stops at the first failing page and saves no report:
    the summary still names that page and its exception (from the log), and says later pages did not run."""
    root = tmp_path / "repo"
    (root / "chapters").mkdir(parents=True)
    (root / "chapters" / "a.md").write_text("# page\n")
    log = "\n".join([
        f"{root}/chapters/a.md: WARNING: Executing notebook failed: CellExecutionError [mystnb.exec]",
        REPORT,
        "The above exception was the direct cause of the following exception:",
        "Traceback (most recent call last):",
        '  File "/site-packages/myst_nb/core/execute/cache.py", line 89, in start_client',
        f"myst_nb.core.execute.base.ExecutionError: {root}/chapters/a.md",
        "RuntimeError: There was an error in building your book. Look above for the cause.",
    ])
    summary = book_build.failure_summary(1, log, tmp_path / "no-reports", root)
    assert "stopped at the first failing page" in summary[0]
    assert summary[1:] == ["  chapters/a.md: UnknownTickerError: unknown ticker 'ZZZZ': not in data/universe.csv"]


FAILING_PAGE = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# {title}

```{{code-cell}} ipython3
import valuechain_lib as vc
```

```{{code-cell}} ipython3
{code}
```
"""


def _scratch_book(tmp_path: Path, pages: dict[str, str]) -> Path:
    """A copy of the repository whose table of contents holds only ``pages`` (name → cell code)."""
    clone = tmp_path / "clone"
    shutil.copytree(REPO_ROOT, clone, ignore=LEFT_OUT)
    shutil.rmtree(clone / "book" / "_static" / "data", ignore_errors=True)
    for name, code in pages.items():
        (clone / "chapters" / f"{name}.md").write_text(FAILING_PAGE.format(title=name.title(), code=code))
    names = list(pages)
    toc = [f"format: jb-book\nroot: chapters/{names[0]}\nchapters:\n"] + [f"  - file: chapters/{n}\n" for n in names[1:]]
    (clone / "_toc.yml").write_text("".join(toc))
    return clone


def _build(clone: Path, command: tuple = ("-m", "valuechain_lib", "build")) -> subprocess.CompletedProcess:
    """Run the build in ``clone`` as its user would (by default the README's command) and capture it."""
    return subprocess.run([sys.executable, *command], cwd=clone,
                          env=_environment_without_this_repository(), capture_output=True, text=True,
                          timeout=900, check=False)


@pytest.mark.slow
@pytest.mark.allow_hosts(["127.0.0.1"])  # notebook kernels talk to the build over loopback only
def test_a_failed_build_ends_with_one_line_per_failing_page(tmp_path):
    """A copy where two pages raise (a ValueChainError naming file, row and field; an unknown ticker):
    the build returns non-zero and its last lines name both pages with exception and message; built
    again unchanged, it names both again (a failing page is not taken as built); data/ is unchanged."""
    clone = _scratch_book(tmp_path, {
        "works": "vc.universe().shape",
        "fails_on_a_row": 'raise vc.ValueChainError("data/facts.csv row 12, field value: \'abc\' is not a number")',
        "fails_on_a_ticker": 'vc.financials("ZZZZ")',
    })
    before = _folder_digest(clone / "data")
    expected = [
        "  chapters/fails_on_a_row.md: ValueChainError: data/facts.csv row 12, field value: 'abc' is not a number",
        "  chapters/fails_on_a_ticker.md: UnknownTickerError: ",
    ]
    for attempt in ("first", "again"):
        # `valuechain_lib.publish.build.build` itself: the command's data checks would stop this trimmed copy (its claims name
        # chapters left out of its table of contents) before any page runs.
        result = _build(clone, ("-c", "import sys; from valuechain_lib.publish.build import build; sys.exit(build())"))
        assert result.returncode != 0, f"{attempt}: {result.stdout[-3000:]}"
        tail = result.stdout.rstrip("\n").split("\n")[-3:]
        print("\n".join(tail))
        assert tail[0].startswith("book NOT built") and "2 failing pages" in tail[0], result.stdout[-3000:]
        assert tail[1] == expected[0], tail
        assert tail[2].startswith(expected[1]) and "ZZZZ" in tail[2], tail
    assert _folder_digest(clone / "data") == before


@pytest.mark.slow
def test_the_build_refuses_an_edited_snapshot_in_one_line(tmp_path):
    """A copy with one value of financials.csv edited: the build stops before any page runs, with one
    line naming data/snapshot/financials.csv, and data/ is unchanged."""
    clone = tmp_path / "clone"
    shutil.copytree(REPO_ROOT, clone, ignore=LEFT_OUT)
    _edit_first_value(clone / "data" / "snapshot" / "financials.csv")
    before = _folder_digest(clone / "data")
    result = _build(clone)
    assert result.returncode != 0
    said = (result.stdout + result.stderr).strip().split("\n")
    refusal = [line for line in said if "data/snapshot/financials.csv does not match the sha256" in line]
    assert len(refusal) == 1 and not (clone / "_build" / "html").exists(), said[-5:]
    assert _folder_digest(clone / "data") == before


# The docstring of every test above names its known answer; this keeps the module's helpers honest.
@pytest.mark.fast
def test_edit_helpers_change_exactly_what_they_say(tmp_path):
    """`_edit_first_value` changes one value tenfold and nothing else; `_add_column` adds one column."""
    path = tmp_path / "t.csv"
    path.write_text(textwrap.dedent("""\
        ticker,value,note
        A,,x
        B,2.5,"y, z"
        """))
    _edit_first_value(path)
    assert path.read_text().split("\n") == ["ticker,value,note", "A,,x", 'B,25.0,"y, z"', ""]
    _add_column(path)
    assert path.read_text().split("\n")[0] == "ticker,value,note,note"
