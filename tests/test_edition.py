"""The edition diff: new periods, restated values (old → new with accessions), price extensions, its
Markdown, and what the status page shows with and without a refresh."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.data.recorded import recorded as rec
from valuechain_lib.snapshot import store as snapshot
from valuechain_lib.workflows import edition, edition_diff
from valuechain_lib.workflows.refresh import refresh


def _fin(rows):
    cols = ["ticker", "metric", "freq", "fiscal_year", "fiscal_period", "period_end", "value", "accession"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    return frame


def _rep(rows):
    cols = ["ticker", "metric", "period_start", "period_end", "value", "accession", "filed", "unit"]
    frame = pd.DataFrame(rows, columns=cols)
    for col in ("period_start", "period_end", "filed"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


def _prices(rows):
    return pd.DataFrame({"ticker": [r[0] for r in rows], "date": pd.to_datetime([r[1] for r in rows])})


@pytest.mark.fast
def test_diff_finds_new_periods_restatements_and_price_extensions():
    old = {"financials": _fin([("X", "revenue", "Q", 2026, "Q1", "2026-03-31", 10.0, "a-1"),
                               ("X", "revenue", "Q", 2026, "Q2", "2026-06-30", np.nan, None)]),
           "facts_reported": _rep([("X", "capex", "2025-01-01", "2025-12-31", 100.0, "a-1", "2026-01-30", "USD")]),
           "prices": _prices([("X", "2026-08-31"), ("Y", "2026-08-31")])}
    new = {"financials": _fin([("X", "revenue", "Q", 2026, "Q1", "2026-03-31", 10.0, "a-1"),
                               ("X", "revenue", "Q", 2026, "Q2", "2026-06-30", 12.0, "a-2"),
                               ("X", "revenue", "TTM", 2026, "Q2", "2026-06-30", 40.0, "a-2")]),
           "facts_reported": _rep([("X", "capex", "2025-01-01", "2025-12-31", 90.0, "a-3", "2026-07-30", "USD")]),
           "prices": _prices([("X", "2026-08-31"), ("X", "2026-09-01"), ("X", "2026-09-02"), ("Y", "2026-08-31")])}
    diff = edition_diff.diff_editions(old, new, previous_manifest={"built_at": "T0"}, new_manifest={"built_at": "T1"},
                                 not_refreshed={"Z": "source 'flujo' is not fetched by a live refresh"})
    assert diff["new_periods"] == {"X": [{"period": "FY2026 Q2", "freq": "Q", "period_end": "2026-06-30",
                                          "metrics": ["revenue"], "accessions": ["a-2"]}]}  # TTM is not a period
    assert diff["restated"] == [{
        "ticker": "X", "metric": "capex", "duration": None, "period_start": "2025-01-01", "period_end": "2025-12-31",
        "old": 100, "new": 90, "unit": "USD", "old_accession": "a-1", "new_accession": "a-3",
        "old_filed": "2026-01-30", "new_filed": "2026-07-30"}]
    assert diff["prices"] == {"X": {"from": "2026-08-31", "to": "2026-09-02", "rows_added": 2},
                              "Y": {"from": "2026-08-31", "to": "2026-08-31", "rows_added": 0}}
    assert diff["summary"] == {"companies_with_new_periods": 1, "new_periods": 1, "restated_values": 1,
                               "tickers_extended": 1, "not_refreshed": 1}
    json.loads(edition_diff.to_json(diff))
    text = edition_diff.render_markdown(diff)
    for needle in ("FY2026 Q2", "| X | capex |", "a-1 | a-3", "| X | 2026-08-31 | 2026-09-02 | 2 |", "Z: source"):
        assert needle in text, needle


@pytest.mark.fast
def test_float_noise_is_not_a_restatement():
    a = _rep([("X", "capex", "2025-01-01", "2025-12-31", 1e10, "a-1", "2026-01-30", "USD")])
    b = a.assign(value=1e10 + 1e-4)
    assert edition_diff.restated_values(a, b) == []


@pytest.mark.fast
def test_status_without_a_refresh(data_copy):
    (data_copy / "snapshot" / edition_diff.EDITION_FILE).unlink(missing_ok=True)
    assert edition_diff.latest_diff() is None
    assert edition_diff.status_markdown() == edition_diff.NO_REFRESH + "\n"


@pytest.mark.network
@pytest.mark.allow_hosts(["127.0.0.1"])
def test_status_after_a_refresh_shows_the_recorded_editions_changes(tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("VALUECHAIN_DATA", str(data))
    rec.build_previous_data_dir(data)
    for key, value in rec.FAST_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("VALUECHAIN_CACHE_DIR", str(tmp_path / "cache"))
    server = rec.start_server()
    try:
        monkeypatch.setenv("VALUECHAIN_SEC_BASE_URL", server.url_for("/").rstrip("/"))
        rec.serve(server)
        refresh(download=rec.FakeDownload(), progress=False, today="2026-09-29", sleep=lambda s: None)
    finally:
        server.stop()
    snapshot.load_table.cache_clear()
    diff = edition_diff.latest_diff()
    # filings after the previous edition's cutoff (2025-01-15): NVDA to FY2027 Q1, META to 2026 Q1
    assert {p["period"] for p in diff["new_periods"]["NVDA"]} >= {"FY2025", "FY2026 Q4", "FY2026", "FY2027 Q1"}
    assert {p["period"] for p in diff["new_periods"]["META"]} >= {"FY2024", "FY2025 Q4", "FY2025", "FY2026 Q1"}
    # META's 10-K for 2024 restated its 2023 capex: old → new with both accession numbers
    meta = [r for r in diff["restated"] if r["ticker"] == "META" and r["metric"] == "capex"
            and r["period_end"] == "2023-12-31" and r["period_start"] == "2023-01-01"]
    assert len(meta) == 1
    assert (meta[0]["old"], meta[0]["new"]) == (27_266_000_000, 27_045_000_000)
    assert meta[0]["old_accession"] == "0001326801-24-000012" and meta[0]["new_accession"] != meta[0]["old_accession"]
    assert all(p["to"] == "2026-09-28" and p["rows_added"] > 0 for p in diff["prices"].values())
    text = edition_diff.status_markdown()
    assert text.startswith("**Latest refresh**") and meta[0]["new_accession"] in text


# --------------------------------------------------------------------------- verdict changes in the diff
def _diff_with_verdicts(changes, previous="2026-12-05T09:45:41Z", claims=21):
    same = {"financials": _fin([("X", "revenue", "Q", 2026, "Q1", "2026-03-31", 10.0, "a-1")]),
            "facts_reported": _rep([]), "prices": _prices([("X", "2026-08-31")])}
    diff = edition_diff.diff_editions(same, same, previous_manifest={"built_at": previous},
                                 new_manifest={"built_at": "2027-01-04T06:00:00Z"})
    diff["restated"] = [{"ticker": "X", "metric": "capex", "duration": "FY", "period_start": "2025-01-01",
                         "period_end": "2025-12-31", "old": 100, "new": 90, "unit": "USD", "old_accession": "a-1",
                         "new_accession": "a-3", "old_filed": "2026-01-30", "new_filed": "2026-07-30"}]
    diff["summary"]["restated_values"] = 1
    diff["verdicts"] = {"previous_edition": previous, "claims": claims, "changes": changes}
    return diff


@pytest.mark.fast
def test_the_diff_lists_verdict_changes_first():
    """Known answer: B2 moved from not supported (74.0%) to supported (76.0%) against 75%; its section comes
    before the refresh headline and the restated values."""
    diff = _diff_with_verdicts([{"claim_id": "B2", "claim": "Hyperscaler capex has approached operating cash flow",
                                 "was": "not supported", "now": "supported", "was_edition": "2026-12-05T09:45:41Z",
                                 "measured_was": 0.74, "measured_now": 0.76, "threshold": 0.75, "unit": "share"}])
    text = edition_diff.render_markdown(diff)
    assert text.startswith("**Verdict changes** since the edition of 2026-12-05: 1 of 21 claims")
    row = "| B2: Hyperscaler capex has approached operating cash flow | not supported | supported | 74.0% → 76.0% | 75.0% |"
    assert row in text
    assert text.index(row) < text.index("**Latest refresh**") < text.index("**Restated values**")


@pytest.mark.fast
def test_the_diff_says_when_no_verdict_changed_and_when_verdicts_are_first_recorded():
    """No change: one line naming the previous edition and the number of claims; no previous edition: first recorded."""
    assert edition_diff.render_markdown(_diff_with_verdicts([])).startswith(
        "**No verdict changed** since the edition of 2026-12-05 (21 claims).\n\n**Latest refresh**")
    assert edition_diff.render_markdown(_diff_with_verdicts([], previous=None)).startswith(
        "**Verdicts** first recorded in this edition (21 claims).")
    new_claim = {"claim_id": "C1", "claim": "A | B", "was": "", "now": "mixed", "was_edition": "",
                 "measured_was": None, "measured_now": None, "threshold": None, "unit": ""}
    text = edition_diff.render_markdown(_diff_with_verdicts([new_claim]))
    assert "| C1: A \\| B | new claim | mixed | — → — | — |" in text


@pytest.mark.fast
def test_commit_message_headline_counts_the_changes():
    """The commit's first line: edition id, 0 verdict changes, 0 new periods, 1 restated value."""
    diff = _diff_with_verdicts([])
    diff["edition"] = "2027-01-04T06:00:00Z"
    head, _, body = edition.commit_message(diff).partition("\n\n")
    assert head == "Edition 2027-01-04T06:00:00Z: 0 verdict change(s), 0 new period(s), 1 restated value(s)"
    assert body.startswith("**No verdict changed**")


@pytest.mark.fast
@pytest.mark.parametrize(("code", "output", "expected"), [
    (0, "....\n1008 passed, 5 skipped, 153 deselected in 68.07s (0:01:08)\n",
     "1008 passed, 5 skipped, 153 deselected in 68.07s (0:01:08)"),
    (1, "F.\n=== short test summary info ===\nFAILED tests/test_a.py::test_b - AssertionError: boom\n"
        "========= 1 failed, 1 passed in 2.01s =========\n",
     "1 failed, 1 passed in 2.01s: FAILED tests/test_a.py::test_b - AssertionError: boom"),
])
def test_suite_outcome_names_the_totals_and_the_failing_tests(code, output, expected):
    assert edition.suite_outcome(code, output) == expected


@pytest.mark.fast
def test_the_edition_runs_the_suite_without_the_slow_tests_and_never_recursively(monkeypatch):
    """The suite an edition runs deselects the slow tests (the real-chain edition test among them), and the
    runner refuses to start inside an edition's own suite."""
    assert edition.TEST_COMMAND[edition.TEST_COMMAND.index("-m", 1) + 1] == "not slow"
    assert "slow" in [m.name for m in test_a_real_edition_in_a_scratch_copy.pytestmark]
    monkeypatch.setenv(edition.RUNNING_TESTS, "1")
    with pytest.raises(edition.ValueChainError, match="must inject their steps"):
        edition.run_test_suite()


# --------------------------------------------------------------------------- a whole edition, recorded responses
#: A small ledger the two-company snapshot can evaluate: B2 (META's capex / OCF; the threshold here is set
#: between the previous edition's 37% and the refreshed 2026 figure so the verdict flips), A4 and A7.
B2_THRESHOLD = 0.5
PREVIOUS_EDITION = "2025-01-15T12:00:00Z"


def _edition_data(tmp_path, monkeypatch, server) -> Path:
    from valuechain_lib.paths import DEFAULT_DATA_DIR

    data = tmp_path / "repo" / "data"
    monkeypatch.setenv("VALUECHAIN_DATA", str(data))
    rec.build_previous_data_dir(data)
    # The previous edition was built at its cutoff, not a second before the refresh (an edition's id is its
    # built_at, to the second); the tables and their checksums are untouched.
    manifest_path = data / "snapshot" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["built_at"] = PREVIOUS_EDITION
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    for name in ("facts.csv", "essays.csv", "gpu_assumptions.csv", "depreciation_assumptions.csv",
                 "financing_nil_lines.csv"):
        shutil.copyfile(DEFAULT_DATA_DIR / name, data / name)
    # The facts rows of companies outside the two-company universe name no universe ticker here.
    facts = pd.read_csv(data / "facts.csv", dtype=str, keep_default_na=False)
    facts.loc[~facts["ticker"].isin(list(rec.CIKS)), "ticker"] = ""
    facts.to_csv(data / "facts.csv", index=False, lineterminator="\n")
    nil = pd.read_csv(data / "financing_nil_lines.csv", dtype=str, keep_default_na=False)
    nil[nil["ticker"].isin(list(rec.CIKS))].to_csv(data / "financing_nil_lines.csv", index=False, lineterminator="\n")
    ledger = pd.read_csv(DEFAULT_DATA_DIR / "claims.csv", dtype=str, keep_default_na=False)
    ledger = ledger[ledger["claim_id"].isin(["A4", "A7", "B2"])].copy()
    ledger.loc[ledger["claim_id"] == "B2", "params"] = f"threshold={B2_THRESHOLD}"
    ledger.to_csv(data / "claims.csv", index=False, lineterminator="\n")
    for key, value in rec.FAST_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("VALUECHAIN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("VALUECHAIN_SEC_BASE_URL", server.url_for("/").rstrip("/"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # where the edition keeps its copy
    snapshot.load_table.cache_clear()
    return data


def _no_copies_left(data: Path) -> bool:
    """No staging folder beside the snapshot, no snapshot.previous, no copy in the temporary folder."""
    return not (list(data.glob(".snapshot-*")) or (data / "snapshot.previous").exists()
                or list(Path(tempfile.gettempdir()).iterdir()))


@pytest.fixture
def edition_server():
    srv = rec.start_server()
    yield srv
    srv.stop()


def _run_edition(**steps):
    steps.setdefault("run_tests", lambda: (0, "3 passed in 0.01s"))
    steps.setdefault("build", lambda: 0)
    return edition.run_edition(download=rec.FakeDownload(), progress=False, today="2026-09-29",
                               sleep=lambda s: None, **steps)


@pytest.mark.network
@pytest.mark.allow_hosts(["127.0.0.1"])
def test_an_edition_refreshes_records_tests_and_builds(tmp_path, monkeypatch, edition_server):
    """End to end on recorded responses: the previous snapshot's verdicts are recorded first (the history is
    empty), then the new edition's; B2 flips from not supported (META capex / OCF 37.0% in the twelve months to
    2024-09-30) to supported (61.1% to 2026-03-31) against the 50% set here; the diff saved with the snapshot lists it first; tests and build ran on the new data."""
    from valuechain_lib.claims import ledger as claims

    data = _edition_data(tmp_path, monkeypatch, edition_server)
    rec.serve(edition_server)
    previous = snapshot.manifest()["built_at"]
    seen = {}

    def tests():
        seen["tests"] = (snapshot.manifest()["built_at"], claims.verdict_history()["edition"].iloc[-1])
        return 0, "12 passed in 0.50s"

    def build():
        seen["build"] = edition_diff.latest_diff()["verdicts"]["changes"][0]["claim_id"]
        return 0

    result = _run_edition(run_tests=tests, build=build)
    assert result.edition != previous and seen["tests"] == (result.edition, result.edition)
    assert seen["build"] == "B2"
    history = claims.verdict_history()
    assert list(dict.fromkeys(history["edition"])) == [previous, result.edition]
    b2 = history[history["claim_id"] == "B2"].set_index("edition")
    assert b2.loc[previous, "verdict"] == "not supported" and b2.loc[result.edition, "verdict"] == "supported"
    np.testing.assert_allclose(b2["measured"].to_numpy(), [0.3703, 0.6109], atol=5e-5)
    assert b2["data_through"].tolist() == ["2024-09-30 (META)", "2026-03-31 (META)"]
    assert (b2["threshold"] == B2_THRESHOLD).all()
    assert [c["claim_id"] for c in result.diff["verdicts"]["changes"]] == ["B2"]
    saved = edition_diff.latest_diff()
    assert saved == json.loads(edition_diff.to_json(result.diff))
    text = edition_diff.status_markdown()
    assert text.startswith("**Verdict changes** since the edition of " + previous[:10])
    assert text.index("| B2: ") < text.index("**Latest refresh**")
    import hashlib

    manifest = snapshot.manifest()
    assert manifest["extra_files"][edition_diff.EDITION_FILE] == hashlib.sha256(
        (data / "snapshot" / edition_diff.EDITION_FILE).read_bytes()).hexdigest()
    snapshot.verify_snapshot()
    assert [s["result"] for s in result.steps] == ["passed"] * 5
    assert result.summary.startswith(f"## Edition {result.edition}: recorded and built")
    assert _no_copies_left(data)
    changes = claims.last_changes(history)
    assert claims.last_change_text(changes, "B2") == f"changed {result.edition[:10]}; was not supported"
    assert claims.last_change_text(changes, "A4") == f"unchanged since {previous[:10]}"


@pytest.mark.network
@pytest.mark.allow_hosts(["127.0.0.1"])
@pytest.mark.parametrize("failing", ["tests", "build", "validate", "record"])
def test_a_failed_step_after_the_refresh_puts_everything_back(tmp_path, monkeypatch, edition_server, failing):
    """Tests, build, validation or recording fail after the refresh swapped in new data: the snapshot folder
    is back byte for byte, the history is as it was (here: one edition seeded before), no copy is left, and
    the error and the report name the step."""
    from valuechain_lib.claims import ledger as claims

    data = _edition_data(tmp_path, monkeypatch, edition_server)
    rec.serve(edition_server)
    edition.seed_history()
    before = rec.digests(data)
    steps = {}
    if failing == "tests":
        steps["run_tests"] = lambda: (1, "FAILED tests/test_x.py::test_y - AssertionError\n1 failed, 9 passed in 1.00s")
    elif failing == "build":
        steps["build"] = lambda: 2
    elif failing == "validate":
        monkeypatch.setattr("valuechain_lib.workflows.checks.data_checks", lambda: [("facts.csv", _raise("facts.csv: row 3 is bad"))])
    else:
        monkeypatch.setattr(claims, "current_verdicts", _raise("claim B2: rule exploded"))
    with pytest.raises(edition.EditionError, match=f"edition failed at {failing}") as caught:
        _run_edition(**steps)
    snapshot.load_table.cache_clear()
    assert rec.digests(data) == before
    assert _no_copies_left(data)
    outcome = {s["step"]: s["result"] for s in caught.value.steps}
    assert outcome[failing] == "failed" and outcome["refresh"] == "passed"
    assert caught.value.summary.startswith(f"## Edition FAILED at {failing}: nothing recorded")
    if failing == "tests":
        assert "1 failed, 9 passed in 1.00s: FAILED tests/test_x.py::test_y" in caught.value.summary


@pytest.mark.network
@pytest.mark.allow_hosts(["127.0.0.1"])
@pytest.mark.parametrize("interrupt", [KeyboardInterrupt(), RuntimeError("a bug in the build")],
                         ids=["ctrl-c", "bug"])
def test_an_interrupted_or_crashed_edition_puts_everything_back_and_stops(tmp_path, monkeypatch, edition_server,
                                                                          interrupt):
    """Ctrl-C during the tests, or a bug (not a ValueChainError) in the build: the snapshot and history are put
    back and the original exception goes on (a bug keeps its traceback)."""
    data = _edition_data(tmp_path, monkeypatch, edition_server)
    rec.serve(edition_server)
    before = rec.digests(data)

    def fail():
        raise interrupt

    steps = {"run_tests": fail} if isinstance(interrupt, KeyboardInterrupt) else {"build": fail}
    with pytest.raises(type(interrupt)):
        _run_edition(**steps)
    assert rec.digests(data) == before and _no_copies_left(data)


def _raise(message):
    def fail(*args, **kwargs):
        raise edition.ValueChainError(message)
    return fail


@pytest.mark.network
@pytest.mark.allow_hosts(["127.0.0.1"])
def test_a_failed_refresh_changes_nothing_and_runs_nothing_else(tmp_path, monkeypatch, edition_server):
    """SEC answers 500 for META: the refresh fails, nothing after it runs, no history file appears."""
    data = _edition_data(tmp_path, monkeypatch, edition_server)
    rec.serve(edition_server, tickers=["NVDA"])
    edition_server.expect_request(rec.path_of("META")).respond_with_data("down", status=500)
    before = rec.digests(data)
    ran = []
    with pytest.raises(edition.EditionError, match="edition failed at refresh: refresh failed"):
        _run_edition(run_tests=lambda: ran.append("tests") or (0, ""), build=lambda: ran.append("build") or 0)
    assert ran == [] and rec.digests(data) == before and not (data / "verdict_history.csv").exists()
    assert _no_copies_left(data)


@pytest.mark.fast
def test_cli_edition_writes_the_report_to_the_summary_pass_or_fail(tmp_path, monkeypatch, capsys):
    """``edition --summary FILE`` appends the report on failure too, and exits 2 with one error line."""
    from valuechain_lib import cli

    steps = [{"step": "refresh", "result": "failed", "detail": "VALUECHAIN_SEC_IDENTITY is not set"}]
    steps += [{"step": s, "result": "not run", "detail": ""} for s in edition.STEPS[1:]]

    def failing(**kwargs):
        raise edition.EditionError(steps, edition.report(steps))

    monkeypatch.setattr(edition, "run_edition", failing)
    summary = tmp_path / "summary.md"
    assert cli.main(["edition", "--quiet", "--summary", str(summary)]) == cli.EXIT_ERROR
    text = summary.read_text()
    assert text.startswith("## Edition FAILED at refresh: nothing recorded, the published book is unchanged")
    assert "| refresh | failed | VALUECHAIN_SEC_IDENTITY is not set |" in text
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(
        "error: edition failed at refresh: VALUECHAIN_SEC_IDENTITY is not set")


# --------------------------------------------------------------------------- the real chain (slow)
@pytest.mark.slow
def test_a_real_edition_in_a_scratch_copy(tmp_path):
    """The real command's wiring in a scratch copy of the repository: the real validation, record, test step
    and book build, on an edition whose "refresh" rewrites the committed snapshot under a new built_at (no
    network). Every step passes, the history gains the edition with no verdict change, and the copy's book
    shows it on the status page. The test step runs the real command on the tests a new snapshot can break
    first (ledger, snapshot, facts; chosen through pytest's own PYTEST_ADDOPTS): the whole suite would take
    a minute and a half here, and this suite runs the rest itself."""
    import subprocess
    import sys

    from valuechain_lib.paths import REPO_ROOT

    copy = tmp_path / "repo"
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT,
                           capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    driver = (
        "import datetime, sys\n"
        "from valuechain_lib.snapshot import build as snapshot_build, store as snapshot\n"
        "from valuechain_lib.workflows import edition, edition_diff\n"
        "from valuechain_lib.workflows.refresh import RefreshResult\n"
        "def restamp():\n"
        "    tables = {name: snapshot.load_table(name) for name in snapshot.TABLE_FILES}\n"
        "    manifest = snapshot.manifest()\n"
        "    previous = manifest['built_at']\n"
        "    manifest['built_at'] = datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')\n"
        "    tables['manifest'] = manifest\n"
        "    diff = edition_diff.diff_editions(tables, tables, previous_manifest={'built_at': previous},\n"
        "                                 new_manifest=manifest)\n"
        "    target = snapshot_build.write_snapshot(tables, extra_files={edition_diff.EDITION_FILE: edition_diff.to_json(diff)})\n"
        "    return RefreshResult(target=target, diff=diff, manifest=manifest, seconds=0.0)\n"
        "result = edition.run_edition(refresher=restamp)\n"
        "print(result.summary)\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("VALUECHAIN_")}
    env["PYTHONPATH"] = str(copy)
    env["PYTEST_ADDOPTS"] = "tests/test_claims.py tests/test_snapshot.py tests/test_facts.py"
    done = subprocess.run([sys.executable, "-c", driver], cwd=copy, env=env, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "recorded and built" in done.stdout and "**No verdict changed**" in done.stdout
    history = pd.read_csv(copy / "data" / "verdict_history.csv", dtype=str)
    assert history["edition"].nunique() == 2
    status = (copy / "_build" / "html" / "book" / "status.html").read_text(encoding="utf-8")
    assert "No verdict changed" in status


@pytest.mark.fast
def test_the_edition_workflow_runs_the_command_commits_then_publishes():
    """The workflow: weekly and by hand; the SEC identity from the repository secret; the edition command with
    the step summary; a commit to main only after it passed, and the book uploaded and deployed only after the
    commit; the book built by the edition is the one published."""
    import yaml

    from valuechain_lib.paths import REPO_ROOT

    flow = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "edition.yml").read_text())
    triggers = flow[True]  # YAML reads the key `on` as true
    assert triggers["schedule"][0]["cron"].split()[-1] == "1" and "workflow_dispatch" in triggers
    steps = flow["jobs"]["edition"]["steps"]
    names = [s.get("name") or s.get("uses") for s in steps]
    make = next(s for s in steps if s.get("id") == "edition")
    assert make["env"]["VALUECHAIN_SEC_IDENTITY"] == "${{ secrets.VALUECHAIN_SEC_IDENTITY }}"
    assert "python -m valuechain_lib edition" in make["run"] and '--summary "$GITHUB_STEP_SUMMARY"' in make["run"]
    commit = next(s for s in steps if s.get("id") == "commit")
    assert "git push origin HEAD:main" in commit["run"] and "data/verdict_history.csv" in commit["run"]
    upload = names.index("actions/upload-pages-artifact@v3")
    assert names.index(make["name"]) < names.index(commit["name"]) < upload
    assert steps[upload]["with"]["path"] == "_build/html" and "if" not in steps[upload]
    assert flow["jobs"]["deploy"]["needs"] == "edition"
    assert flow["jobs"]["deploy"]["steps"][0]["uses"].startswith("actions/deploy-pages@")
    assert flow["permissions"]["contents"] == "write"
