"""Bad inputs, one table per surface: every one ends in one clear line naming what is wrong, and no file changes.

Surfaces: the API (`financials`, `series`, `prices`, `compute`, `calendar_sum`), the command line (run as a
subprocess, as a person would), the facts table and the model-assumption tables. Each case asserts the
error's type or exit code, that the message names the file, row or field at fault, and that nothing under
the data folder changed (a digest of every file before and after).
"""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import valuechain_lib as vc
from valuechain_lib.analyses import depreciation
from valuechain_lib.calc.metrics import ArgumentError, MissingInputError, compute
from valuechain_lib.errors import (
    CurrencyError,
    PeriodError,
    UnknownMetricError,
    UnknownTickerError,
    ValueChainError,
)
from valuechain_lib.models import gpu_economics
from valuechain_lib.paths import DEFAULT_DATA_DIR
from valuechain_lib.snapshot.facts import FactsError, facts

REPO_ROOT = DEFAULT_DATA_DIR.parent


def digest(folder: Path) -> str:
    """sha256 over every file's relative path and bytes under ``folder``."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(path.relative_to(folder).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def edit_csv(path: Path, key: str, match: str, **changes) -> int:
    """Change cells of the row whose ``key`` column is ``match``; return its line (header = line 1)."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    fields = list(rows[0])
    index = next(i for i, r in enumerate(rows) if r[key] == match)
    rows[index].update(changes)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return index + 2


def edit_text(path: Path, line: int, new: str) -> None:
    """Replace one line (1-based) of a text file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[line - 1] = new
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _line(path: Path, line: int) -> str:
    return path.read_text(encoding="utf-8").splitlines()[line - 1]


def _assert_names(message: str, expected) -> None:
    missing = [e for e in expected if e not in message]
    assert not missing, f"message {message!r} does not name {missing}"
    assert "\n" not in message.strip(), f"not one line: {message!r}"


# --------------------------------------------------------------------------- API
def _fin_capex_only():
    return vc.financials("NVDA", freq="FY", metrics="capex")



API_CASES = [
    ("financials calendar='no'", lambda: vc.financials(calendar="no"), ArgumentError,
     ["financials", "calendar", "True or False", "'no'"]),
    ("financials calendar=1", lambda: vc.financials("NVDA", calendar=1), ArgumentError, ["calendar", "int 1"]),
    ("financials(123)", lambda: vc.financials(123), ArgumentError, ["financials", "tickers", "int 123"]),
    ("financials tickers with a number", lambda: vc.financials(["NVDA", 3]), ArgumentError, ["tickers", "int 3"]),
    ("financials unknown ticker", lambda: vc.financials("NOPE"), UnknownTickerError, ["'NOPE'", "universe"]),
    ("financials freq='M'", lambda: vc.financials(freq="M"), ValueChainError, ["freq", "'M'", "'Q', 'FY', 'TTM'"]),
    ("financials freq=4", lambda: vc.financials(freq=4), ArgumentError, ["freq", "int 4"]),
    ("financials metrics=7", lambda: vc.financials(metrics=7), ArgumentError, ["metrics", "int 7"]),
    ("financials unknown metric", lambda: vc.financials("NVDA", metrics="ebitda"), UnknownMetricError, ["ebitda"]),
    ("series list ticker", lambda: vc.series(["NVDA"], "revenue"), ArgumentError, ["series", "ticker", "['NVDA']"]),
    ("series metric=5", lambda: vc.series("NVDA", 5), ArgumentError, ["series", "metric", "5"]),
    ("series calendar='yes'", lambda: vc.series("NVDA", "revenue", calendar="yes"), ArgumentError,
     ["series", "calendar", "'yes'"]),
    ("series freq='annual'", lambda: vc.series("NVDA", "revenue", freq="annual"), ValueChainError,
     ["series", "freq", "'annual'"]),
    ("prices(123)", lambda: vc.prices(123), ArgumentError, ["prices", "tickers", "int 123"]),
    ("prices unknown ticker", lambda: vc.prices("NOPE"), UnknownTickerError, ["'NOPE'", "benchmark"]),
    ("prices path=5", lambda: vc.prices("NVDA", path=5), ArgumentError, ["prices", "path", "int 5"]),
    ("compute on a price table", lambda: compute(vc.prices("NVDA"), "capex_to_ocf"), ValueChainError,
     ["compute", "tidy financials() layout", "'metric'", "'period_end'", "'value'"]),
    ("compute on a list", lambda: compute([1, 2], "capex_to_ocf"), ArgumentError, ["compute", "DataFrame", "list"]),
    ("compute names=5", lambda: compute(_fin_capex_only(), 5), ArgumentError, ["compute", "names", "int 5"]),
    ("compute unknown metric", lambda: compute(_fin_capex_only(), "ebitda"), UnknownMetricError,
     ["ebitda", "capex_to_ocf"]),
    ("compute input absent", lambda: compute(_fin_capex_only(), "capex_to_ocf"), MissingInputError,
     ["'capex_to_ocf' needs 'operating_cash_flow'", "no value in the rows given", "NVDA"]),
    ("calendar_sum fiscal years", lambda: vc.calendar_sum(vc.financials("NVDA", freq="FY", metrics="revenue")),
     PeriodError, ["calendar_sum", "fiscal years"]),
    ("calendar_sum two currencies",
     lambda: vc.calendar_sum(vc.financials(["NVDA", "TSM"], calendar=True, metrics="revenue")),
     CurrencyError, ["USD", "TWD"]),
    pytest.param("calendar_sum on a price table", lambda: vc.calendar_sum(vc.prices("NVDA")), ValueChainError,
                 ["calendar_sum", "'metric'"],
                 id="calendar_sum on a price table"),
    pytest.param("calendar_sum on a string", lambda: vc.calendar_sum("revenue"), ValueChainError,
                 ["calendar_sum", "DataFrame"],
                 id="calendar_sum on a string"),
]


@pytest.mark.fast
@pytest.mark.parametrize(("case", "call", "error", "expected"), API_CASES,
                         ids=[c[0] if isinstance(c, tuple) else c.id for c in API_CASES])
def test_api_bad_input(case, call, error, expected):
    """Each wrong type or value raises a ValueChainError subclass whose one line names the argument and value."""
    before = digest(DEFAULT_DATA_DIR)
    with pytest.raises(error) as caught:
        call()
    assert isinstance(caught.value, ValueChainError)
    _assert_names(str(caught.value), expected)
    assert digest(DEFAULT_DATA_DIR) == before


@pytest.mark.fast
def test_type_errors_are_still_type_errors():
    """ArgumentError is also a TypeError, so code catching TypeError keeps working."""
    with pytest.raises(TypeError):
        vc.financials(calendar="no")


# --------------------------------------------------------------------------- command line
def _short_universe_row(data: Path) -> list[str]:
    edit_text(data / "universe.csv", 3, ",".join(_line(data / "universe.csv", 3).split(",")[:4]))
    return ["universe.csv", "AMD"]


def _truncated_manifest(data: Path) -> list[str]:
    path = data / "snapshot" / "manifest.json"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    return ["manifest.json", "not valid JSON"]


def _edited_table(data: Path) -> list[str]:
    path = data / "snapshot" / "financials.csv"
    path.write_bytes(path.read_bytes().replace(b"NVDA", b"NVDX", 1))
    return ["financials.csv", "sha256"]


def _bad_fact_kind(data: Path) -> list[str]:
    line = edit_csv(data / "facts.csv", "fact_id", "F02", kind="rumour")
    return ["facts.csv", f"line {line}", "'F02'", "'kind'", "'rumour'"]


def _bad_fact_csv(data: Path) -> list[str]:
    edit_text(data / "facts.csv", 3, _line(data / "facts.csv", 3) + ',extra,"cells')
    return ["facts.csv"]


def _bad_gpu_value(data: Path) -> list[str]:
    edit_csv(data / "gpu_assumptions.csv", "name", "utilization", value="seventy-five percent")
    return ["gpu_assumptions.csv", "'utilization'", "'value'", "not a number"]


def _bad_depreciation_range(data: Path) -> list[str]:
    edit_csv(data / "depreciation_assumptions.csv", "name", "server_share_of_ppe", low="0.7")
    return ["depreciation_assumptions.csv", "'server_share_of_ppe'", "low <= value <= high"]


def _bad_claim_param(data: Path) -> list[str]:
    path = data / "claims.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("claimed=0.70", "claimed=seventy"), encoding="utf-8")
    return ["claims.csv", "A3", "claimed=seventy"]


def _bad_claim_rule(data: Path) -> list[str]:
    edit_csv(data / "claims.csv", "claim_id", "A3", rule="valuechain_lib.analyses.hourglass:no_such_rule")
    return ["claims.csv", "A3", "no_such_rule"]


def _benchmarks_not_text(data: Path) -> list[str]:
    (data / "benchmarks.csv").write_bytes(b"\xff\xfe not UTF-8")
    return ["benchmarks.csv", "UTF-8"]


def _unchanged(data: Path) -> list[str]:
    return []


# A subprocess that must never start the real book build (other work shares _build/), and whose build
# checks this test's data copy instead of the repository's data/ (which the build always reads).
# No notebook pool is started either.
NO_POOL = "import valuechain_lib.publish.build as p; p.start_pool = lambda env=None: None; "
NO_BOOK_BUILD = ("import os; import valuechain_lib.publish.build as b; "
                 "b.build = lambda *a, **k: sys.exit('test error: the book build was reached'); "
                 "b.build_environment = lambda base=None: dict(os.environ); " + NO_POOL)


def _raise_in(target: str) -> str:
    """Code patching ``module:attribute`` with a function that raises KeyboardInterrupt (a simulated Ctrl-C)."""
    module, attr = target.split(":")
    return (f"import {module} as m; "
            f"m.{attr} = lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()); ")


CLI_CASES = [
    # (id, edit of the data copy, arguments, code run before main (None: python -m valuechain_lib), exit code,
    #  extra words the message must hold)
    ("unknown subcommand", _unchanged, ["frobnicate"], None, 2, ["invalid choice", "'frobnicate'"]),
    ("new-chapter without --claim", _unchanged, ["new-chapter", "Title only"], None, 2, ["--claim-id", "--claim"]),
    ("snapshot from a missing folder", _unchanged, ["snapshot", "--from", "/nonexistent/raw", "--quiet"], None, 2,
     ["no raw SEC folder", "/nonexistent/raw"]),
    ("truncated manifest", _truncated_manifest, ["summary"], None, 2, []),
    ("short universe row", _short_universe_row, ["summary"], None, 2, []),
    ("edited snapshot table", _edited_table, ["summary"], None, 2, []),
    ("facts unknown kind", _bad_fact_kind, ["check"], None, 2, []),
    ("facts row with extra cells", _bad_fact_csv, ["check"], None, 2, []),
    ("gpu assumption not a number", _bad_gpu_value, ["check"], None, 2, []),
    ("depreciation assumption low > high", _bad_depreciation_range, ["check"], None, 2, []),
    ("claims param claimed=seventy", _bad_claim_param, ["check"], None, 2, []),
    ("claims param stops build first", _bad_claim_param, ["build"], NO_BOOK_BUILD, 2, []),
    ("claims unknown rule", _bad_claim_rule, ["check"], None, 2, []),
    ("benchmarks not UTF-8", _benchmarks_not_text, ["check"], None, 2, []),
    ("Ctrl-C in summary", _unchanged, ["summary"], _raise_in("valuechain_lib.cli:_cmd_summary"), 130,
     ["interrupted"]),
    ("Ctrl-C in build", _unchanged, ["build"], _raise_in("valuechain_lib.publish.build:build") + NO_POOL, 130,
     ["build interrupted", "_build/html is incomplete"]),
    ("Ctrl-C in refresh", _unchanged, ["refresh"], _raise_in("valuechain_lib.workflows.refresh:refresh"), 130,
     ["refresh interrupted", "snapshot was not changed"]),
]


def run_cli(args, before_main: str | None = None) -> subprocess.CompletedProcess:
    """Run the command line in a fresh interpreter with this test's VALUECHAIN_DATA."""
    if before_main is None:
        cmd = [sys.executable, "-m", "valuechain_lib", *args]
    else:
        cmd = [sys.executable, "-c", f"import sys; {before_main}from valuechain_lib.cli import main; "
                                     f"raise SystemExit(main({args!r}))"]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize(("case", "edit", "args", "before_main", "code", "words"), CLI_CASES,
                         ids=[c[0] for c in CLI_CASES])
def test_cli_bad_input(data_copy, case, edit, args, before_main, code, words):
    """Exit code 2 (bad input) or 130 (Ctrl-C), one line on stderr naming the file/row/field, no traceback."""
    expected = edit(data_copy) + words
    committed, copy = digest(DEFAULT_DATA_DIR), digest(data_copy)
    result = run_cli(args, before_main)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == code, (result.returncode, result.stderr)
    last = result.stderr.strip().splitlines()[-1]
    if code == 2:
        assert last.startswith("error: ") or (last.startswith("valuechain") and ": error: " in last), result.stderr
        assert sum(line.startswith("error: ") for line in result.stderr.splitlines()) <= 1
    _assert_names(last, expected)
    assert digest(data_copy) == copy, "the command changed the data copy"
    assert digest(DEFAULT_DATA_DIR) == committed, "the command changed the committed data/"


# --------------------------------------------------------------------------- facts table
FACT_CASES = [
    # (id, fact_id of the row edited, changes, field named)
    ("unknown kind", "F02", {"kind": "rumour"}, "kind"),
    ("unknown unit", "F02", {"unit": "furlongs"}, "unit"),
    ("bad as_of date", "F02", {"as_of": "Oct 2025"}, "as_of"),
    ("impossible source_date", "F02", {"source_date": "2025-02-30"}, "source_date"),
    ("period_end not a full date", "F02", {"period_end": "2025-08"}, "period_end"),
    ("value not a number", "F02", {"value": "one twenty-five"}, "value"),
    ("value_low > value_high", "F02", {"value": "", "value_low": "20", "value_high": "10"}, "value_low"),
    ("unknown claim", "F02", {"claim_id": "Z9"}, "claim_id"),
    ("derived_from unknown id", "F02", {"derived_from": "F9999"}, "derived_from"),
    ("url without scheme", "F02", {"url": "www.example.com/page"}, "url"),
    ("duplicate id", "F02", {"fact_id": "F01"}, "fact_id"),
]


@pytest.mark.fast
@pytest.mark.parametrize(("case", "fact_id", "changes", "field"), FACT_CASES, ids=[c[0] for c in FACT_CASES])
def test_facts_bad_row(data_copy, case, fact_id, changes, field):
    """facts() raises FactsError naming facts.csv, the line, the fact id and the field; the file is untouched."""
    line = edit_csv(data_copy / "facts.csv", "fact_id", fact_id, **changes)
    before = digest(data_copy)
    with pytest.raises(FactsError) as caught:
        facts()
    shown_id = changes.get("fact_id", fact_id)
    _assert_names(str(caught.value), ["facts.csv", f"line {line}", f"fact {shown_id!r}", f"field {field!r}"])
    if case == "duplicate id":
        assert "first on line 2" in str(caught.value)
    assert digest(data_copy) == before


@pytest.mark.fast
def test_facts_unreadable_csv(data_copy):
    """A row with an unclosed quote: FactsError naming facts.csv, not a raw pandas ParserError."""
    edit_text(data_copy / "facts.csv", 3, _line(data_copy / "facts.csv", 3) + ',"unclosed')
    before = digest(data_copy)
    with pytest.raises(FactsError) as caught:
        facts()
    _assert_names(str(caught.value), ["facts.csv"])
    assert digest(data_copy) == before


# --------------------------------------------------------------------------- assumption tables
ASSUMPTION_CASES = [
    # (id, loader, file, name of the row, changes, words the message must hold)
    ("gpu value not a number", gpu_economics.load_assumptions, "gpu_assumptions.csv", "utilization",
     {"value": "high"}, ["'utilization'", "field 'value'", "not a number: 'high'"]),
    ("gpu low > high", gpu_economics.load_assumptions, "gpu_assumptions.csv", "utilization",
     {"low": "0.95"}, ["'utilization'", "field 'value'", "low <= value <= high", "0.95"]),
    ("gpu unknown fact id", gpu_economics.load_assumptions, "gpu_assumptions.csv", "price_usd_per_gpu_hour",
     {"source": "F119a;F9999"}, ["'price_usd_per_gpu_hour'", "field 'source'", "F9999"]),
    ("gpu unknown name", gpu_economics.load_assumptions, "gpu_assumptions.csv", "utilization",
     {"name": "utilisation"}, ["unknown name(s) ['utilisation']", "missing input(s) ['utilization']"]),
    ("depreciation value not a number", depreciation.load_assumptions, "depreciation_assumptions.csv",
     "server_share_of_ppe", {"value": "half"}, ["'server_share_of_ppe'", "'value'", "not a number: 'half'"]),
    ("depreciation low > high", depreciation.load_assumptions, "depreciation_assumptions.csv",
     "server_share_of_ppe", {"low": "0.7"}, ["'server_share_of_ppe'", "low <= value <= high", "0.7"]),
    ("depreciation unknown fact id", depreciation.load_assumptions, "depreciation_assumptions.csv",
     "current_life_GOOGL", {"source": "F9999"}, ["'current_life_GOOGL'", "F9999", "not in the facts table"]),
]


@pytest.mark.fast
@pytest.mark.parametrize(("case", "loader", "filename", "name", "changes", "words"), ASSUMPTION_CASES,
                         ids=[c[0] for c in ASSUMPTION_CASES])
def test_assumptions_bad_row(data_copy, case, loader, filename, name, changes, words):
    """The loader raises a ValueChainError naming the file, the row and the field; the file is untouched."""
    edit_csv(data_copy / filename, "name", name, **changes)
    before = digest(data_copy)
    with pytest.raises(ValueChainError) as caught:
        loader()
    _assert_names(str(caught.value), [filename, *words])
    assert digest(data_copy) == before
