"""From raw facts to one value per period (`valuechain_lib.snapshot.standardize.standardize_company`).

Each test writes a tiny companyfacts document to ``tmp_path``, reads it with `read_companyfacts`,
and checks one rule: signs, filing conflicts, restatements, tag priority, fy/fp ignored, duration
classes, errata, currency.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from valuechain_lib.errors import FilingConflictError, SignConventionError
from valuechain_lib.snapshot.standardize import (
    REPORTED_COLUMNS,
    RESTATEMENT_COLUMNS,
    standardize_company,
    tags_for,
)
from valuechain_lib.snapshot.universe import company
from valuechain_lib.sources.sec import read_companyfacts

PPE = "PaymentsToAcquirePropertyPlantAndEquipment"
PRODUCTIVE = "PaymentsToAcquireProductiveAssets"


def fact(start, end, val, accn, form="10-Q", filed="2026-05-20", fy=None, fp=None):
    out = {"end": end, "val": val, "accn": accn, "form": form, "filed": filed, "fy": fy, "fp": fp}
    if start:
        out["start"] = start
    return out


def _raw(tmp_path, ticker, tags, unit="USD"):
    """Write {tag: [facts]} as SEC companyfacts JSON and read it back as raw facts."""
    us_gaap = {tag: {"label": tag, "description": "", "units": {unit: facts}} for tag, facts in tags.items()}
    doc = {"cik": 1, "entityName": ticker, "facts": {"us-gaap": us_gaap, "dei": {}}}
    path = tmp_path / f"{ticker}.companyfacts.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return read_companyfacts(path, ticker)


def _standardize(tmp_path, ticker, tags, unit="USD"):
    return standardize_company(_raw(tmp_path, ticker, tags, unit), company(ticker))


def _one(reported, **eq):
    hit = reported
    for col, val in eq.items():
        hit = hit[hit[col] == val]
    assert len(hit) == 1, f"expected one row for {eq}, got {len(hit)}"
    return hit.iloc[0]


# NVDA fiscal 2027 Q1 (real dates): 2026-01-26 .. 2026-04-26.
Q1_START, Q1_END = "2026-01-26", "2026-04-26"


@pytest.mark.fast
def test_output_columns(tmp_path):
    """reported has REPORTED_COLUMNS and restatements RESTATEMENT_COLUMNS."""
    reported, restatements = _standardize(tmp_path, "NVDA", {"Revenues": [fact(Q1_START, Q1_END, 81_615, "A1")]})
    assert list(reported.columns) == REPORTED_COLUMNS
    assert list(restatements.columns) == RESTATEMENT_COLUMNS
    row = reported.iloc[0]
    assert (row["metric"], row["duration"], row["fiscal_year"], row["fiscal_quarter"]) == ("revenue", "3M", 2027, 1)
    assert (row["calendar_year"], row["calendar_quarter"]) == (2026, 1)


@pytest.mark.fast
def test_negative_capex_names_ticker_period_and_accession(tmp_path):
    """Capex of −1,757M for NVDA FY2027 Q1 in 0001045810-26-000052 is sign-flipped: SignConventionError
    naming NVDA, 2026-01-26..2026-04-26 and the accession."""
    tags = {PRODUCTIVE: [fact(Q1_START, Q1_END, -1_757_000_000, "0001045810-26-000052")]}
    with pytest.raises(SignConventionError, match="NVDA") as info:
        _standardize(tmp_path, "NVDA", tags)
    msg = str(info.value)
    assert "2026-01-26..2026-04-26" in msg
    assert "0001045810-26-000052" in msg
    assert "capex" in msg


@pytest.mark.fast
def test_two_values_in_one_filing_conflict(tmp_path):
    """One 10-Q (A1) gives Revenues 100 and 101 for the same quarter: FilingConflictError naming NVDA,
    the accession, the tag, the period and both values."""
    tags = {"Revenues": [fact(Q1_START, Q1_END, 100, "A1"), fact(Q1_START, Q1_END, 101, "A1")]}
    with pytest.raises(FilingConflictError, match="NVDA: filing A1") as info:
        _standardize(tmp_path, "NVDA", tags)
    msg = str(info.value)
    assert "Revenues" in msg and "2026-01-26..2026-04-26" in msg
    assert "100" in msg and "101" in msg


@pytest.mark.fast
def test_same_value_twice_in_one_filing_is_fine(tmp_path):
    """A filing repeating the same value for the same period is not a conflict: one row, value 100."""
    tags = {"Revenues": [fact(Q1_START, Q1_END, 100, "A1"), fact(Q1_START, Q1_END, 100, "A1")]}
    reported, _ = _standardize(tmp_path, "NVDA", tags)
    assert reported["value"].tolist() == [100.0]


@pytest.mark.fast
def test_restatement_keeps_latest_filed(tmp_path):
    """Q1 revenue 100 in the 10-Q (A1, filed 2026-05-20), restated to 90 in a later 10-Q (A2, filed 2027-05-20):
    90 is kept with A2; one restatement row 100 (A1) → 90 (A2)."""
    tags = {"Revenues": [fact(Q1_START, Q1_END, 90, "A2", filed="2027-05-20"),
                         fact(Q1_START, Q1_END, 100, "A1", filed="2026-05-20")]}
    reported, restatements = _standardize(tmp_path, "NVDA", tags)
    row = _one(reported, metric="revenue")
    assert (row["value"], row["accession"]) == (90.0, "A2")
    assert len(restatements) == 1
    r = restatements.iloc[0]
    assert (r["old_value"], r["new_value"], r["old_accession"], r["new_accession"]) == (100, 90, "A1", "A2")
    assert (r["old_filed"], r["new_filed"]) == (pd.Timestamp("2026-05-20"), pd.Timestamp("2027-05-20"))


@pytest.mark.fast
def test_repeated_unchanged_value_is_not_a_restatement(tmp_path):
    """The next year's 10-Q repeating Q1 revenue unchanged (100) is no restatement; the latest accession is kept."""
    tags = {"Revenues": [fact(Q1_START, Q1_END, 100, "A1", filed="2026-05-20"),
                         fact(Q1_START, Q1_END, 100, "A2", filed="2027-05-20")]}
    reported, restatements = _standardize(tmp_path, "NVDA", tags)
    assert restatements.empty
    assert _one(reported, metric="revenue")["accession"] == "A2"


@pytest.mark.fast
def test_nvda_capex_override_prefers_productive_assets(tmp_path):
    """NVDA's override ranks PaymentsToAcquireProductiveAssets first: with both tags for FY2027 Q1
    (1,757 vs 1,500) capex is 1,757 from ProductiveAssets; a 2020 quarter with only the PP&E tag uses it."""
    tags = {PRODUCTIVE: [fact(Q1_START, Q1_END, 1_757, "A1")],
            PPE: [fact(Q1_START, Q1_END, 1_500, "A1"), fact("2020-04-27", "2020-07-26", 200, "OLD")]}
    reported, _ = _standardize(tmp_path, "NVDA", tags)
    new = _one(reported, metric="capex", fiscal_year=2027)
    assert (new["value"], new["tag"]) == (1_757, PRODUCTIVE)
    old = _one(reported, metric="capex", fiscal_year=2021)
    assert (old["value"], old["tag"]) == (200, PPE)


@pytest.mark.fast
def test_default_company_capex_prefers_ppe(tmp_path):
    """AMD (no override): with both tags for Q1 2025 (Dec FY, 52/53 week, ends 2025-03-29), PP&E (150) wins
    over ProductiveAssets (170)."""
    tags = {PRODUCTIVE: [fact("2024-12-29", "2025-03-29", 170, "B1")],
            PPE: [fact("2024-12-29", "2025-03-29", 150, "B1")]}
    reported, _ = _standardize(tmp_path, "AMD", tags)
    row = _one(reported, metric="capex")
    assert (row["value"], row["tag"], row["fiscal_year"], row["fiscal_quarter"]) == (150, PPE, 2025, 1)


@pytest.mark.fast
def test_tags_for_override_replaces_defaults():
    """NVDA's capex rows are its own two (ProductiveAssets 1, PP&E 2), not the five defaults."""
    capex = tags_for("NVDA").query("metric == 'capex'").sort_values("priority")
    assert capex["tag"].tolist() == [PRODUCTIVE, PPE]


@pytest.mark.fast
def test_fact_fy_fp_are_ignored(tmp_path):
    """NVDA's FY2026 10-K repeats FY2025 revenue (2024-01-29..2025-01-26, 130,497M) under fy=2026, fp=FY:
    it lands in fiscal year 2025 from its dates, and FY2026 (215,938M) in 2026."""
    tags = {"Revenues": [
        fact("2024-01-29", "2025-01-26", 130_497_000_000, "0001045810-26-000021", form="10-K",
             filed="2026-02-25", fy=2026, fp="FY"),
        fact("2025-01-27", "2026-01-25", 215_938_000_000, "0001045810-26-000021", form="10-K",
             filed="2026-02-25", fy=2026, fp="FY"),
    ]}
    reported, _ = _standardize(tmp_path, "NVDA", tags)
    fy = reported[reported["duration"] == "FY"].set_index("fiscal_year")["value"]
    assert fy.to_dict() == {2025: 130_497_000_000, 2026: 215_938_000_000}


@pytest.mark.fast
def test_8k_recast_classified_by_duration(tmp_path):
    """An 8-K recasting a three-month quarter is a 3M fact (duration decides, not form)."""
    tags = {"Revenues": [fact(Q1_START, Q1_END, 81_000, "R8K", form="8-K", filed="2026-09-01")]}
    row = _one(_standardize(tmp_path, "NVDA", tags)[0], metric="revenue")
    assert (row["duration"], row["form"], row["fiscal_quarter"]) == ("3M", "8-K", 1)


@pytest.mark.fast
def test_durations_and_other_dropped(tmp_path):
    """NVDA FY2026: 3M, 6M, 9M, FY kept with their classes; a second-half figure (Jul 28 → Jan 25) is 'other'
    and dropped; a 12-month period ending at FY2027 Q1 is TTM."""
    tags = {"Revenues": [
        fact("2025-01-27", "2025-04-27", 1, "a"), fact("2025-01-27", "2025-07-27", 2, "b"),
        fact("2025-01-27", "2025-10-26", 3, "c"), fact("2025-01-27", "2026-01-25", 4, "d"),
        fact("2025-07-28", "2026-01-25", 5, "h2"), fact("2025-04-28", "2026-04-26", 6, "ttm"),
    ]}
    reported, _ = _standardize(tmp_path, "NVDA", tags)
    assert sorted(reported["duration"]) == sorted(["3M", "6M", "9M", "FY", "TTM"])
    assert "h2" not in set(reported["accession"])


@pytest.mark.fast
def test_stock_metric_is_instant(tmp_path):
    """A cash balance at 2026-04-26 is an instant of FY2027 Q1 with no period start."""
    tags = {"CashAndCashEquivalentsAtCarryingValue": [fact(None, Q1_END, 10_000, "A1")]}
    row = _one(_standardize(tmp_path, "NVDA", tags)[0], metric="cash")
    assert row["duration"] == "instant" and pd.isna(row["period_start"])
    assert (row["fiscal_year"], row["fiscal_quarter"], row["kind"]) == (2027, 1, "stock")


@pytest.mark.fast
def test_errata_row_dropped(tmp_path):
    """errata.csv drops NVDA CostOfRevenue 2017-01-30..2017-07-30 in 0001045810-18-000010 (928M, the Q2 figure
    with six-month dates); the 10-Q's six-month 1,715M is kept, and no restatement 1,715M → 928M is recorded."""
    tags = {"CostOfRevenue": [
        fact("2017-01-30", "2017-07-30", 1_715_000_000, "0001045810-17-000130", filed="2017-08-23"),
        fact("2017-01-30", "2017-07-30", 928_000_000, "0001045810-18-000010", form="10-K", filed="2018-02-28"),
    ]}
    reported, restatements = _standardize(tmp_path, "NVDA", tags)
    row = _one(reported, metric="cost_of_revenue")
    assert (row["value"], row["accession"], row["duration"]) == (1_715_000_000, "0001045810-17-000130", "6M")
    assert restatements.empty


@pytest.mark.fast
def test_other_currency_dropped(tmp_path):
    """NVDA reports in USD: a fact in EUR is dropped, so nothing is reported."""
    reported, _ = _standardize(tmp_path, "NVDA", {"Revenues": [fact(Q1_START, Q1_END, 5, "A1")]}, unit="EUR")
    assert reported.empty


@pytest.mark.fast
def test_unmapped_tag_dropped(tmp_path):
    """A tag not in xbrl_tags.csv (ShareBasedCompensation) gives no reported rows."""
    reported, _ = _standardize(tmp_path, "NVDA", {"ShareBasedCompensation": [fact(Q1_START, Q1_END, 5, "A1")]})
    assert reported.empty


@pytest.mark.fast
def test_same_quarter_dated_a_day_apart_fills_one_slot(tmp_path):
    """The same Q1 dated 2026-01-26..04-26 in A1 and 2026-01-27..04-26 in a later A2: one 3M Q1 row, the later
    filing's."""
    tags = {"Revenues": [fact(Q1_START, Q1_END, 100, "A1", filed="2026-05-20"),
                         fact("2026-01-27", Q1_END, 100, "A2", filed="2027-05-20")]}
    reported, _ = _standardize(tmp_path, "NVDA", tags)
    assert _one(reported, metric="revenue")["accession"] == "A2"
