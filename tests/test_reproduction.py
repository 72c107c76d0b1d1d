"""Reproduction tests: figures read by hand from the raw filings against the committed snapshot.

Known-answer source: every row of ``tests/data/reproduction_figures.csv`` was read by a person from
the raw public files in ``../shared/data/sec`` (SEC EDGAR XBRL companyfacts ``<TICKER>.companyfacts.json``,
the single-concept copies in ``supplement/<TICKER>/`` for cost of revenue, D&A, net PP&E, RPO and
TSMC's IFRS facts in TWD, and the third-party ``CRWV.flujo-sec.json`` for CoreWeave, which carries no
accession numbers). Each row is the figure as the filing reports it; where the quarter is not reported
for three months (a Q4, or a quarter of a company that reports cash flows year-to-date only) the row's
``note`` shows the hand computation from the two reported facts with their accessions, and ``value``
is that hand-worked result. Where the same figure is repeated by later filings with the same value,
the latest filing is cited, as the library's "latest filed" rule does (the note says so).

The tests read the COMMITTED snapshot (``data/snapshot``) through the public `financials` API, so they
run on a user's clone without ``../shared``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import valuechain_lib as vl

pytestmark = pytest.mark.fast

FIGURES_CSV = Path(__file__).parent / "data" / "reproduction_figures.csv"
FIGURES = pd.read_csv(FIGURES_CSV, dtype={"accession": "string", "form": "string", "note": "string"},
                      keep_default_na=False, na_values={"accession": [""]})
KEY = ["ticker", "metric", "freq", "fiscal_year", "fiscal_period"]
ACCESSION = re.compile(r"\d{10}-\d{2}-\d{6}")
AMOUNT = re.compile(r"-?\d{1,3}(?:,\d{3})+")

# Quarters whose fiscal label differs from the calendar one: (ticker, fiscal_year, fiscal_period)
# -> (period_end, calendar_year, calendar_quarter), read from the filings' period dates.
CALENDAR_LABELS = {
    ("NVDA", 2027, "Q1"): ("2026-04-26", 2026, 1),  # Nvidia's fiscal 2027 starts in late January 2026
    ("NVDA", 2026, "Q4"): ("2026-01-25", 2025, 4),
    ("ORCL", 2026, "Q2"): ("2025-11-30", 2025, 4),  # Oracle's fiscal year ends May 31
    ("ORCL", 2026, "Q4"): ("2026-05-31", 2026, 2),
    ("MSFT", 2026, "Q3"): ("2026-03-31", 2026, 1),  # Microsoft's fiscal year ends June 30
    ("AVGO", 2026, "Q2"): ("2026-05-03", 2026, 1),  # 52/53 weeks; May 3 is nearer March 31 than June 30
    ("MU", 2026, "Q3"): ("2026-05-28", 2026, 2),    # 52/53 weeks; May 28 is nearer June 30
    ("CRM", 2027, "Q1"): ("2026-04-30", 2026, 1),   # Salesforce's fiscal 2027 starts February 2026
}


def _row_id(row) -> str:
    return f"{row.ticker}-{row.metric}-{row.freq}-FY{row.fiscal_year}-{row.fiscal_period}"


@pytest.fixture(scope="module")
def snapshot_rows():
    """All Q and FY rows of the committed snapshot, indexed by the tidy key."""
    table = pd.concat([vl.financials(freq="Q"), vl.financials(freq="FY")], ignore_index=True)
    return table.set_index(KEY).sort_index()


def _lookup(snapshot_rows, fig) -> pd.Series:
    key = (fig.ticker, fig.metric, fig.freq, int(fig.fiscal_year), fig.fiscal_period)
    assert key in snapshot_rows.index, f"{key} is not in the committed snapshot"
    found = snapshot_rows.loc[[key]]
    assert len(found) == 1, f"{key} appears {len(found)} times in the snapshot"
    return found.iloc[0]


def test_figures_file_covers_the_brief():
    """The known-answer file is broad enough: companies, metrics, annual and quarterly, derived quarters."""
    assert len(FIGURES) >= 24
    assert not FIGURES.duplicated(KEY).any()
    tickers = set(FIGURES["ticker"])
    assert {"NVDA", "MSFT", "AMZN", "GOOGL", "META", "ORCL", "AMD", "AVGO", "MU", "CRM", "TSM", "CRWV"} <= tickers
    assert {"revenue", "operating_income", "net_income", "operating_cash_flow", "capex"} <= set(FIGURES["metric"])
    assert len({"cost_of_revenue", "ppe_net", "rpo", "depreciation_amortization"} & set(FIGURES["metric"])) >= 3
    assert set(FIGURES["freq"]) == {"Q", "FY"}
    assert (FIGURES.loc[FIGURES["ticker"] == "TSM", "unit"] == "TWD").all()
    assert FIGURES.loc[FIGURES["ticker"] == "CRWV", "accession"].isna().all()
    derived = FIGURES["note"].str.startswith("derived by hand")
    assert derived.sum() >= 8
    assert FIGURES.loc[~FIGURES["ticker"].eq("CRWV"), "accession"].notna().all()


@pytest.mark.parametrize("fig", list(FIGURES[FIGURES["note"].str.startswith("derived by hand")].itertuples()),
                         ids=_row_id)
def test_hand_computation_in_note_is_consistent(fig):
    """A derived row's note reads 'A (source) − B (source) = C': re-do the arithmetic written there."""
    computation = fig.note.split(":", 1)[1]
    left, right = computation.split(" = ", 1)
    minuend, subtrahend = (_amount(part.split("(")[0]) for part in left.split(" − "))
    result = _amount(right.split()[0])
    assert minuend - subtrahend == pytest.approx(result, abs=0.5)
    assert result == pytest.approx(fig.value, abs=0.5)


def _amount(text: str) -> float:
    """The last comma-grouped amount in ``text`` (e.g. ``-1,167,000,000``)."""
    found = AMOUNT.findall(text)
    assert found, f"no amount in {text!r}"
    return float(found[-1].replace(",", ""))


@pytest.mark.parametrize("fig", list(FIGURES.itertuples()), ids=_row_id)
def test_snapshot_reproduces_filed_figure(snapshot_rows, fig):
    """Value (to 0.5 currency units), unit, accession and form of each hand-read figure."""
    got = _lookup(snapshot_rows, fig)
    np.testing.assert_allclose(got["value"], fig.value, rtol=0, atol=0.5,
                               err_msg=f"{_row_id(fig)}: {fig.note}")
    assert got["unit"] == fig.unit
    if pd.isna(fig.accession):
        assert pd.isna(got["accession"]), f"{_row_id(fig)}: the flujo source has no accession, got {got['accession']}"
    else:
        assert got["accession"] == fig.accession
    assert got["form"] == fig.form
    assert pd.isna(got["missing_reason"])


@pytest.mark.parametrize("fig", list(FIGURES[FIGURES["note"].str.startswith("derived by hand")].itertuples()),
                         ids=_row_id)
def test_derived_quarter_names_both_reported_facts(snapshot_rows, fig):
    """A derived quarter's ``derivation`` cites the two accessions the hand computation used."""
    got = _lookup(snapshot_rows, fig)
    assert not str(got["derivation"]).startswith("reported"), got["derivation"]
    computation = fig.note.split(" = ")[0]
    cited = ACCESSION.findall(computation)
    if fig.ticker == "CRWV":
        assert cited == []
        assert str(got["derivation"]).count("no accession") == 2, got["derivation"]
    else:
        assert len(cited) == 2, fig.note
        for accession in cited:
            assert accession in got["derivation"], f"{accession} not in {got['derivation']!r}"


@pytest.mark.parametrize(("key", "expected"), list(CALENDAR_LABELS.items()),
                         ids=[f"{t}-FY{y}-{p}" for t, y, p in CALENDAR_LABELS])
def test_fiscal_quarter_gets_its_calendar_label(key, expected):
    """Fiscal quarters land in the calendar quarter whose end is nearest their period end."""
    ticker, fiscal_year, fiscal_period = key
    period_end, calendar_year, calendar_quarter = expected
    q = vl.financials(ticker, freq="Q", metrics="revenue")
    row = q[(q["fiscal_year"] == fiscal_year) & (q["fiscal_period"] == fiscal_period)]
    assert len(row) == 1
    row = row.iloc[0]
    assert row["period_end"] == pd.Timestamp(period_end)
    assert (row["calendar_year"], row["calendar_quarter"]) == (calendar_year, calendar_quarter)
    # The calendar view keeps the same quarter under its calendar label.
    cal = vl.financials(ticker, freq="Q", calendar=True, metrics="revenue")
    same = cal[(cal["calendar_year"] == calendar_year) & (cal["calendar_quarter"] == calendar_quarter)]
    assert len(same) == 1
    assert same.iloc[0]["period_end"] == pd.Timestamp(period_end)
    assert same.iloc[0]["value"] == row["value"]


def test_nvidia_latest_quarter_matches_docstring_example():
    """`financials` docstring: Nvidia's latest revenue quarter is FY2027 Q1 = calendar 2026 Q1."""
    q = vl.financials("NVDA", metrics="revenue")
    last = q.sort_values("period_end").iloc[-1]
    assert [last["fiscal_year"], last["fiscal_period"], last["calendar_year"], last["calendar_quarter"]] == [
        2027, "Q1", 2026, 1]
