"""`valuechain_lib.snapshot.memo.memoized`: an analysis runs once per set of arguments, data and date."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from valuechain_lib.analyses import capex_vs_cash
from valuechain_lib.snapshot.memo import memoized
from valuechain_lib.snapshot.vintage import as_of

pytestmark = pytest.mark.fast


@pytest.fixture
def counted():
    calls = []

    @memoized
    def table(n: int = 2, names=("a",)):
        calls.append((n, names))
        return pd.DataFrame({"n": range(n)})

    return table, calls


def test_a_repeated_call_runs_once_and_hands_out_copies(counted):
    table, calls = counted
    first = table(3)
    first.loc[0, "n"] = 99
    pd.testing.assert_frame_equal(table(3), pd.DataFrame({"n": range(3)}))
    assert len(calls) == 1
    table(3, names=["a"])  # a list is keyed by its contents
    table(3, names=["a"])
    assert len(calls) == 2


def test_an_edited_data_file_another_folder_or_date_runs_again(counted, data_copy, tmp_path, monkeypatch):
    table, calls = counted
    table()
    essays = data_copy / "essays.csv"
    essays.write_text(essays.read_text() + "\n")
    table()
    assert len(calls) == 2
    with as_of("2025-11-30"):
        table()
    assert len(calls) == 3
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("VALUECHAIN_DATA", str(other))
    table()
    assert len(calls) == 4


def test_a_table_argument_is_not_a_key(counted):
    calls = []

    @memoized
    def rows(frame):
        calls.append(1)
        return len(frame)

    frame = pd.DataFrame({"x": [1, 2]})
    assert rows(frame) == rows(frame) == 2
    assert len(calls) == 2


def test_an_analysis_reads_the_data_once_per_page(data_copy, monkeypatch):
    """The chapter's chart and its verdict ask for the same table: the second answer comes from memory
    and equals the first; once a refresh rewrites the snapshot the analysis reads it again."""
    reads = []
    real = capex_vs_cash.financials
    monkeypatch.setattr(capex_vs_cash, "financials", lambda *a, **k: reads.append(1) or real(*a, **k))
    capex_vs_cash.capex_vs_cash.cache_clear()
    first = capex_vs_cash.capex_vs_cash()
    done = len(reads)
    pd.testing.assert_frame_equal(capex_vs_cash.capex_vs_cash(), first)
    assert done > 0 and len(reads) == done
    financials = data_copy / "snapshot" / "financials.csv"
    stamp = financials.stat()
    os.utime(financials, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 10**9))
    pd.testing.assert_frame_equal(capex_vs_cash.capex_vs_cash(), first)
    assert len(reads) == 2 * done
