"""A whole edition: refresh, validate, record the verdicts, test, build; all or nothing.

``python -m valuechain_lib edition`` (`run_edition`) makes a whole edition: refresh, validate, record
the verdicts (``data/verdict_history.csv``, and ``verdicts`` -- the verdict changes, shown first -- in
the diff, `valuechain_lib.workflows.edition_diff`), run the test suite, build the book. If any step fails,
the snapshot and the verdict history are put back as they were and nothing is recorded (`EditionError`
says which step failed and why).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from valuechain_lib.errors import ValueChainError
from valuechain_lib.workflows.edition_diff import EDITION_FILE, render_markdown, to_json

# --- a whole edition: refresh, validate, record, test, build; all or nothing ----------------------------

#: The steps of an edition, in order.
STEPS = ("refresh", "validate", "record", "tests", "build")
#: Set in the environment of the test suite an edition runs: an edition started inside it refuses to run
#: the suite again (no recursion), and the suite's own edition tests inject their steps.
RUNNING_TESTS = "VALUECHAIN_EDITION_TESTS"
#: The test suite an edition runs: everything but the slow tests. The slow ones build the book (the
#: edition's next step builds it anyway) or drive a browser (not installed on the runner); what a new
#: snapshot can break -- the data checks, the known answers, the rules -- is in the fast and network tests.
TEST_COMMAND = ("-m", "pytest", "-q", "-m", "not slow", "-p", "no:cacheprovider")
#: How many of the suite's last output lines an edition's report quotes when it fails.
TAIL_LINES = 15


class EditionError(ValueChainError):
    """An edition that stopped at a step; nothing was recorded and the snapshot is as it was.

    ``steps`` holds every step's outcome; ``summary`` the Markdown report (for the run's step summary).
    """

    def __init__(self, steps: list[dict], summary: str):
        self.steps, self.summary = steps, summary
        failed = next(s for s in steps if s["result"] == "failed")
        super().__init__(f"edition failed at {failed['step']}: {failed['detail']}; nothing was recorded, the "
                         "snapshot and data/verdict_history.csv are as they were")


@dataclass
class EditionResult:
    edition: str
    diff: dict
    steps: list[dict]
    summary: str
    seconds: float


def run_test_suite(root: Path | None = None) -> tuple[int, str]:
    """Run the repository's test suite (`TEST_COMMAND`) on the data in place; return its code and output.

    Raises
    ------
    ValueChainError
        When called from inside a test suite an edition started (`RUNNING_TESTS`): no recursion.
    """
    from valuechain_lib.paths import REPO_ROOT
    from valuechain_lib.publish.build import build_environment

    if os.environ.get(RUNNING_TESTS):
        raise ValueChainError("an edition's test suite tried to start another edition's test suite; "
                              "edition tests must inject their steps")
    env = build_environment()
    env[RUNNING_TESTS] = "1"
    done = subprocess.run([sys.executable, *TEST_COMMAND], cwd=root or REPO_ROOT, env=env, capture_output=True,
                          text=True, encoding="utf-8", errors="replace", check=False)
    return done.returncode, done.stdout + done.stderr


_PYTEST_TOTAL = re.compile(r"\b\d+ (passed|failed|errors?|skipped|deselected)\b.* in [\d.]+s")


def suite_outcome(code: int, output: str) -> str:
    """One line for a test run: pytest's totals, then the first failing tests by name.

    Parameters
    ----------
    code : int
        pytest's exit code.
    output : str
        What it printed.

    Returns
    -------
    str
        E.g. ``"2 failed, 1006 passed in 70.1s: FAILED tests/test_x.py::test_y - AssertionError; …"``.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    total = next((line.strip("= ") for line in reversed(lines) if _PYTEST_TOTAL.search(line)),
                 f"pytest exit code {code}: " + " ".join(lines[-TAIL_LINES:])[-400:])
    named = "; ".join(failed[:5]) + (f"; and {len(failed) - 5} more" if len(failed) > 5 else "")
    return total + (f": {named}" if named else "")


def _validate() -> str:
    from valuechain_lib.workflows.checks import data_checks

    described = [f"{name}: {load()}" for name, load in data_checks()]
    return f"{len(described)} data files valid"


def _backup(target: Path) -> Path:
    """A copy of the live snapshot folder in the system's temporary folder: outside the repository, so the
    build's digest of ``data/`` and ``git status`` never see it."""
    copy = Path(tempfile.mkdtemp(prefix="valuechain-edition-")) / target.name
    shutil.copytree(target, copy)
    return copy


def _restore(backup: Path, target: Path) -> None:
    """Put the copy back: staged beside the live folder (as `snapshot_build.write_snapshot` stages), then one rename."""
    from valuechain_lib.snapshot import build as snapshot_build
    from valuechain_lib.snapshot import store as snapshot

    staging = Path(tempfile.mkdtemp(prefix=".snapshot-new-", dir=target.parent))
    try:
        shutil.copytree(backup, staging, dirs_exist_ok=True)
        snapshot_build._swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(backup.parent, ignore_errors=True)
    snapshot.load_table.cache_clear()


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def save_diff(diff: dict, base: Path | None = None) -> Path:
    """Rewrite the live snapshot's ``edition_diff.json`` and its checksum in the manifest."""
    import hashlib

    from valuechain_lib.snapshot import store as snapshot

    folder = snapshot._live_folder(base)
    path = folder / EDITION_FILE
    text = to_json(diff)
    _write_atomically(path, text)
    manifest = snapshot.manifest(base)
    manifest.setdefault("extra_files", {})[EDITION_FILE] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    _write_atomically(folder / "manifest.json", json.dumps(manifest, indent=1, sort_keys=False) + "\n")
    snapshot.load_table.cache_clear()
    return path


def record(edition: str, diff: dict, previous_edition: str | None, before: dict | None) -> dict:
    """Append the edition's verdicts to the history and put its verdict changes in the diff.

    Parameters
    ----------
    edition : str
        The new edition's id (its manifest's ``built_at``).
    diff : dict
        The refresh's edition diff; ``edition`` and ``verdicts`` are added.
    previous_edition : str or None
        The id of the snapshot the refresh replaced.
    before : dict or None
        That snapshot's verdicts (claim id → `Verdict`) when the history does not hold it yet (the
        first edition, or a snapshot rebuilt by hand): recorded first, so changes are measured against
        what the book showed.

    Returns
    -------
    dict
        The diff with ``edition`` and ``verdicts`` (``previous_edition``, ``claims``, ``changes``).
    """
    from valuechain_lib.claims import ledger as claims

    ledger = claims.ledger().set_index("claim_id")
    if before:
        claims.append_history(claims.history_rows(previous_edition, before))
    claims.append_history(claims.history_rows(edition, claims.current_verdicts()))
    history = claims.verdict_history()
    editions = list(dict.fromkeys(history["edition"]))
    changes = claims.verdict_changes(history, edition)
    for change in changes:
        change["claim"] = ledger["claim"].get(change["claim_id"], "")
    diff = {**diff, "edition": edition, "verdicts": {
        "previous_edition": editions[editions.index(edition) - 1] if editions.index(edition) else None,
        "claims": int((history["edition"] == edition).sum()), "changes": changes}}
    save_diff(diff)
    return diff


def commit_message(diff: dict) -> str:
    """The commit an edition lands as: a one-line headline, then the edition diff (verdict changes first)."""
    verdicts = diff.get("verdicts") or {}
    s = diff["summary"]
    head = (f"Edition {diff.get('edition') or diff.get('built_at')}: {len(verdicts.get('changes', []))} verdict "
            f"change(s), {s['new_periods']} new period(s), {s['restated_values']} restated value(s)")
    return head + "\n\n" + render_markdown(diff)


def report(steps: list[dict], diff: dict | None = None, edition: str | None = None) -> str:
    """The Markdown an edition writes to the run's step summary: each step's outcome, then the diff."""
    failed = next((s for s in steps if s["result"] == "failed"), None)
    if failed is None:
        lines = [f"## Edition {edition}: recorded and built", ""]
    else:
        lines = [f"## Edition FAILED at {failed['step']}: nothing recorded, the published book is unchanged", "",
                 "The snapshot and `data/verdict_history.csv` are as they were before the run.", ""]
    lines += ["| step | result | detail |", "| --- | --- | --- |"]
    for step in steps:
        detail = step["detail"].replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {step['step']} | {step['result']} | {detail} |")
    if failed is None and diff is not None:
        lines += ["", render_markdown(diff)]
    return "\n".join(lines) + "\n"


def run_edition(*, refresher: Callable[[], object] | None = None, run_tests: Callable[[], tuple[int, str]] | None = None,
                build: Callable[[], int] | None = None, allow_partial: bool = False, progress: bool = True,
                **refresh_options) -> EditionResult:
    """Make one edition: refresh, validate, record the verdicts, run the tests, build the book.

    Each step must pass for the next to run. The record is written before the tests and the build so
    that both check and show it (the scorecard's "last changed", the status page's verdict changes);
    if any step fails, the snapshot folder is put back from a copy taken before the refresh (one
    rename) and ``data/verdict_history.csv`` to its previous text, so nothing is recorded.

    Parameters
    ----------
    refresher : callable, optional
        Makes the new snapshot and returns a `valuechain_lib.workflows.refresh.RefreshResult`; default
        `valuechain_lib.workflows.refresh.refresh` with ``allow_partial``, ``progress`` and ``refresh_options``
        (``client``, ``download``, ``today``, ``sleep``).
    run_tests : callable, optional
        Returns ``(exit code, output)``; default `run_test_suite`.
    build : callable, optional
        Returns the build's exit code; default `valuechain_lib.publish.build.build` (the book of this
        repository, from its ``data/``: the data folder must be that one).

    Returns
    -------
    EditionResult

    Raises
    ------
    EditionError
        Naming the failed step and why; ``summary`` holds the report. The snapshot and history are as
        they were.
    """
    from valuechain_lib.claims import ledger as claims
    from valuechain_lib.paths import REPO_ROOT, data_dir
    from valuechain_lib.publish.build import build as build_book
    from valuechain_lib.snapshot import store as snapshot

    started = time.perf_counter()
    if build is None and data_dir().resolve() != (REPO_ROOT / "data").resolve():
        raise ValueChainError(f"an edition builds the book of {REPO_ROOT} from {REPO_ROOT / 'data'}; "
                              f"VALUECHAIN_DATA={data_dir()} would refresh another folder")
    if refresher is None:
        from valuechain_lib.workflows.refresh import refresh

        def refresher():
            return refresh(allow_partial=allow_partial, progress=progress, **refresh_options)
    run_tests = run_tests or run_test_suite
    build = build or build_book
    steps = [{"step": name, "result": "not run", "detail": ""} for name in STEPS]
    target = snapshot.snapshot_dir()
    history_file = claims.history_path()
    history_text = history_file.read_text(encoding="utf-8") if history_file.is_file() else None
    previous_edition = snapshot.manifest().get("built_at")
    backup = _backup(target)
    swapped, diff, edition = False, None, None

    def run(index, action):
        try:
            detail = action()
        except ValueChainError as exc:
            steps[index].update(result="failed", detail=" ".join(str(exc).split()))
            raise
        steps[index].update(result="passed", detail=detail)

    before = None
    try:
        def do_refresh():
            nonlocal swapped, diff, edition, before
            if previous_edition not in set(claims.verdict_history()["edition"]):
                try:
                    before = claims.current_verdicts()
                except ValueChainError as exc:
                    raise ValueChainError(f"the verdicts of the snapshot being replaced: {exc}") from exc
            result = refresher()
            swapped = True
            diff, edition = result.diff, result.manifest["built_at"]
            if edition == previous_edition:
                raise ValueChainError(f"the new snapshot's built_at {edition} is the previous one's: an edition "
                                      "is named by it, so two cannot be made within the same second")
            s = diff["summary"]
            return (f"edition {edition}: {s['new_periods']} new period(s), {s['restated_values']} restated "
                    f"value(s), prices extended for {s['tickers_extended']} ticker(s)")

        def do_record():
            nonlocal diff
            diff = record(edition, diff, previous_edition, before)
            return f"{diff['verdicts']['claims']} verdicts, {len(diff['verdicts']['changes'])} changed"

        def do_tests():
            code, output = run_tests()
            if code != 0:
                raise ValueChainError(suite_outcome(code, output))
            return suite_outcome(code, output)

        def do_build():
            code = build()
            if code != 0:
                raise ValueChainError(f"the book build returned {code} (its last lines name each failing page)")
            return "book built"

        for index, action in enumerate((do_refresh, _validate, do_record, do_tests, do_build)):
            run(index, action)
    except BaseException as exc:
        if swapped:
            _restore(backup, target)
        else:
            shutil.rmtree(backup.parent, ignore_errors=True)
        if history_text is None:
            history_file.unlink(missing_ok=True)
        elif not history_file.is_file() or history_file.read_text(encoding="utf-8") != history_text:
            _write_atomically(history_file, history_text)
        if not isinstance(exc, Exception):
            raise  # Ctrl-C: everything put back, then stop
        if not any(s["result"] == "failed" for s in steps):
            index = next(i for i, s in enumerate(steps) if s["result"] == "not run")
            steps[index].update(result="failed", detail=f"{type(exc).__name__}: {' '.join(str(exc).split())}")
            if not isinstance(exc, ValueChainError):
                raise  # a bug: the traceback belongs in a report (everything was put back)
        raise EditionError(steps, report(steps)) from exc
    shutil.rmtree(backup.parent, ignore_errors=True)
    return EditionResult(edition=edition, diff=diff, steps=steps, summary=report(steps, diff, edition),
                         seconds=time.perf_counter() - started)


def seed_history() -> str | None:
    """Record the live snapshot's verdicts as its edition when the history does not hold it yet.

    Returns
    -------
    str or None
        The edition recorded, or None when it was already there.
    """
    from valuechain_lib.claims import ledger as claims
    from valuechain_lib.snapshot import store as snapshot

    edition = snapshot.manifest()["built_at"]
    if edition in set(claims.verdict_history()["edition"]):
        return None
    claims.append_history(claims.history_rows(edition, claims.current_verdicts()))
    return edition
