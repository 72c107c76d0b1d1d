"""Discrete quarters, fiscal years and TTM from reported periods (`valuechain_lib.snapshot.quarters.tidy_periods`).

A fake company ACME (December fiscal year, calendar months) reports hand-chosen figures; every
expected quarter below is worked by hand from them.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from valuechain_lib.snapshot.quarters import TIDY_COLUMNS, tidy_periods
from valuechain_lib.snapshot.standardize import REPORTED_COLUMNS, standardize_company
from valuechain_lib.snapshot.universe import company
from valuechain_lib.sources.sec import read_company

KINDS = {"revenue": "flow", "capex": "flow", "cash": "stock"}
_TAGS = {"revenue": "Revenues", "capex": "PaymentsToAcquirePropertyPlantAndEquipment",
         "cash": "CashAndCashEquivalentsAtCarryingValue", "depreciation": "Depreciation"}
_QUARTER_END = {1: "03-31", 2: "06-30", 3: "09-30", 4: "12-31"}
_QUARTER_START = {1: "01-01", 2: "04-01", 3: "07-01", 4: "10-01"}
_YTD = {1: "3M", 2: "6M", 3: "9M", 4: "FY"}


def _row(metric, duration, year, quarter, value, accession, start=None, end=None):
    kind = KINDS.get(metric, "flow")
    end = pd.Timestamp(end or f"{year}-{_QUARTER_END[quarter]}")
    if start is None and duration != "instant":
        start = f"{year}-01-01" if duration in ("6M", "9M", "FY") else f"{year}-{_QUARTER_START[quarter]}"
    return {
        "ticker": "ACME", "metric": metric, "kind": kind, "duration": duration, "fiscal_year": year,
        "fiscal_quarter": quarter, "period_start": pd.Timestamp(start) if start else pd.NaT,
        "period_end": end, "calendar_year": year, "calendar_quarter": quarter, "value": float(value),
        "unit": "USD", "tag": _TAGS.get(metric, metric), "taxonomy": "us-gaap", "accession": accession,
        "form": "10-K" if duration == "FY" or (duration == "instant" and quarter == 4) else "10-Q",
        "filed": end + pd.Timedelta(days=35), "source": "hand-made test facts",
    }


def _reported(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=REPORTED_COLUMNS)
    frame["fiscal_year"] = frame["fiscal_year"].astype("Int64")
    frame["fiscal_quarter"] = frame["fiscal_quarter"].astype("Int64")
    return frame


def _ytd_rows(metric, year, quarters, accession_prefix):
    """Year-to-date facts (Q1 is its own 3M) from discrete quarter values, as a cash-flow statement gives."""
    rows, total = [], 0.0
    for k, q in enumerate(quarters, start=1):
        total += q
        rows.append(_row(metric, _YTD[k], year, k, total, f"{accession_prefix}-{year}-Q{k}"))
    return rows


def _pick(table, metric, freq, year, period):
    hit = table[(table["metric"] == metric) & (table["freq"] == freq) & (table["fiscal_year"] == year)
                & (table["fiscal_period"] == period)]
    assert len(hit) == 1, f"expected one {metric} {freq} FY{year} {period} row, got {len(hit)}"
    return hit.iloc[0]


@pytest.fixture
def base_rows():
    """ACME FY2024 revenue: 3M Q1 100, 6M 250, 9M 450, FY 700 → quarters 100, 150, 200, 250.
    Capex (cash-flow style, YTD only): 10, 25, 45, 80 → 10, 15, 20, 35. Cash balances 50, 60, 70, 80."""
    rows = [
        _row("revenue", "3M", 2024, 1, 100, "R-Q1"),
        _row("revenue", "6M", 2024, 2, 250, "R-Q2"),
        _row("revenue", "9M", 2024, 3, 450, "R-Q3"),
        _row("revenue", "FY", 2024, 4, 700, "R-K"),
    ]
    rows += _ytd_rows("capex", 2024, [10, 15, 20, 35], "C")
    rows += [_row("cash", "instant", 2024, q, 40 + 10 * q, f"B-Q{q}") for q in (1, 2, 3, 4)]
    return rows


@pytest.mark.fast
def test_columns_are_tidy_columns(base_rows):
    """The output has exactly TIDY_COLUMNS."""
    assert list(tidy_periods(_reported(base_rows), KINDS).columns) == TIDY_COLUMNS


@pytest.mark.fast
def test_quarters_from_year_to_date(base_rows):
    """Q1 = 100; Q2 = 250 − 100 = 150; Q3 = 450 − 250 = 200; Q4 = 700 − 450 = 250 (exact, rtol 0)."""
    table = tidy_periods(_reported(base_rows), KINDS)
    got = [_pick(table, "revenue", "Q", 2024, f"Q{k}")["value"] for k in (1, 2, 3, 4)]
    assert_allclose(got, [100, 150, 200, 250], rtol=0)


@pytest.mark.fast
def test_derived_quarter_dates(base_rows):
    """A derived Q3 runs from the day after Q2's end (Jul 1) to the 9M end (Sep 30)."""
    q3 = _pick(tidy_periods(_reported(base_rows), KINDS), "revenue", "Q", 2024, "Q3")
    assert (q3["period_start"], q3["period_end"]) == (pd.Timestamp("2024-07-01"), pd.Timestamp("2024-09-30"))


@pytest.mark.fast
def test_reported_three_months_preferred_to_difference(base_rows):
    """A reported 3-month Q2 of 151 wins over 6M − Q1 = 150; Q3 still uses 9M − 6M = 200."""
    rows = base_rows + [_row("revenue", "3M", 2024, 2, 151, "R-Q2-3M")]
    table = tidy_periods(_reported(rows), KINDS)
    q2 = _pick(table, "revenue", "Q", 2024, "Q2")
    assert q2["value"] == 151
    assert q2["derivation"] == "reported (3 months)"
    assert q2["accession"] == "R-Q2-3M"
    assert _pick(table, "revenue", "Q", 2024, "Q3")["value"] == 200


@pytest.mark.fast
def test_cash_flow_style_ytd_only(base_rows):
    """Capex reported only year-to-date (10, 25, 45, 80) gives quarters 10, 15, 20, 35."""
    table = tidy_periods(_reported(base_rows), KINDS)
    got = [_pick(table, "capex", "Q", 2024, f"Q{k}")["value"] for k in (1, 2, 3, 4)]
    assert_allclose(got, [10, 15, 20, 35], rtol=0)


@pytest.mark.fast
def test_derivation_names_the_accessions(base_rows):
    """Q4 capex = FY (C-2024-Q4) − 9M YTD (C-2024-Q3): both accessions appear in the derivation."""
    q4 = _pick(tidy_periods(_reported(base_rows), KINDS), "capex", "Q", 2024, "Q4")
    assert "C-2024-Q4" in q4["derivation"] and "C-2024-Q3" in q4["derivation"]
    assert q4["derivation"].startswith("FY")


@pytest.mark.fast
def test_missing_six_months_gives_nan_not_zero(base_rows):
    """Without the 6M YTD, Q2 and Q3 (9M − 6M) are NaN with a reason, never 0; Q4 = 700 − 450 = 250 still."""
    rows = [r for r in base_rows if not (r["metric"] == "revenue" and r["duration"] == "6M")]
    table = tidy_periods(_reported(rows), KINDS)
    for period in ("Q2", "Q3"):
        row = _pick(table, "revenue", "Q", 2024, period)
        assert np.isnan(row["value"])
        assert isinstance(row["missing_reason"], str) and row["missing_reason"]
    assert _pick(table, "revenue", "Q", 2024, "Q4")["value"] == 250


@pytest.mark.fast
def test_missing_reason_set_exactly_where_value_is_nan(base_rows):
    """Across the whole table, missing_reason is set if and only if value is NaN."""
    rows = [r for r in base_rows if not (r["metric"] == "revenue" and r["duration"] == "6M")]
    table = tidy_periods(_reported(rows), KINDS)
    pd.testing.assert_series_equal(table["value"].isna(), table["missing_reason"].notna(), check_names=False)


@pytest.mark.fast
def test_ttm_sum_of_four_quarters(base_rows):
    """TTM at FY2025 Q1 = FY2024 Q2..Q4 (150+200+250) + FY2025 Q1 (120) = 720; at FY2024 Q4 = 700."""
    rows = base_rows + [_row("revenue", "3M", 2025, 1, 120, "R-2025-Q1")]
    table = tidy_periods(_reported(rows), KINDS)
    assert_allclose(_pick(table, "revenue", "TTM", 2025, "Q1")["value"], 720, rtol=1e-12)
    assert_allclose(_pick(table, "revenue", "TTM", 2024, "Q4")["value"], 700, rtol=1e-12)


@pytest.mark.fast
def test_ttm_period_start_is_first_quarter_start(base_rows):
    """TTM at FY2025 Q1 runs from FY2024 Q2's start (2024-04-01): a Timestamp, not an integer."""
    rows = base_rows + [_row("revenue", "3M", 2025, 1, 120, "R-2025-Q1")]
    table = tidy_periods(_reported(rows), KINDS)
    assert _pick(table, "revenue", "TTM", 2025, "Q1")["period_start"] == pd.Timestamp("2024-04-01")
    assert pd.api.types.is_datetime64_any_dtype(table["period_start"])


@pytest.mark.fast
def test_ttm_nan_with_reason_when_a_quarter_is_missing(base_rows):
    """Without the 6M YTD, FY2024 Q2 is missing, so TTM at FY2025 Q1 (needs Q2..Q4 and Q1) is NaN with reason."""
    rows = [r for r in base_rows if not (r["metric"] == "revenue" and r["duration"] == "6M")]
    rows += [_row("revenue", "3M", 2025, 1, 120, "R-2025-Q1")]
    ttm = _pick(tidy_periods(_reported(rows), KINDS), "revenue", "TTM", 2025, "Q1")
    assert np.isnan(ttm["value"])
    assert "missing" in ttm["missing_reason"]


@pytest.mark.fast
def test_stock_quarter_is_instant_and_fy_is_q4(base_rows):
    """Cash Q2 is the 2024-06-30 balance (60); cash FY2024 is the Q4 balance (80), not a sum."""
    table = tidy_periods(_reported(base_rows), KINDS)
    assert _pick(table, "cash", "Q", 2024, "Q2")["value"] == 60
    fy = _pick(table, "cash", "FY", 2024, "FY")
    assert fy["value"] == 80
    assert fy["period_end"] == pd.Timestamp("2024-12-31")


@pytest.mark.fast
@pytest.mark.regression
def test_stock_fy_row_is_not_dated_as_q4(base_rows):
    """The cash FY2024 row is a balance at 2024-12-31: its period_start is no start (NaT, an instant, as its TTM
    rows) or the fiscal-year start 2024-01-01, never Q4's start 2024-10-01 borrowed from the flow metrics."""
    fy = _pick(tidy_periods(_reported(base_rows), KINDS), "cash", "FY", 2024, "FY")
    assert pd.isna(fy["period_start"]) or fy["period_start"] == pd.Timestamp("2024-01-01")


@pytest.mark.fast
def test_flow_fy_is_reported_fy(base_rows):
    """Revenue FY2024 is the reported 700 (accession R-K), calendar year 2024."""
    fy = _pick(tidy_periods(_reported(base_rows), KINDS), "revenue", "FY", 2024, "FY")
    assert (fy["value"], fy["accession"], fy["calendar_year"]) == (700, "R-K", 2024)


@pytest.mark.fast
def test_metric_without_data_has_nan_rows_with_reason(base_rows):
    """A metric ACME never reports (depreciation) gets NaN rows for each of its quarters, each with a reason."""
    table = tidy_periods(_reported(base_rows), {**KINDS, "depreciation": "flow"})
    dep = table[(table["metric"] == "depreciation") & (table["freq"] == "Q")]
    assert sorted(dep["fiscal_period"]) == ["Q1", "Q2", "Q3", "Q4"]
    assert dep["value"].isna().all()
    assert dep["missing_reason"].map(lambda r: isinstance(r, str) and len(r) > 0).all()


@pytest.mark.fast
def test_calendar_labels_of_quarters(base_rows):
    """A December-FY company's fiscal Q3 2024 is calendar 2024 Q3."""
    q3 = _pick(tidy_periods(_reported(base_rows), KINDS), "revenue", "Q", 2024, "Q3")
    assert (q3["calendar_year"], q3["calendar_quarter"]) == (2024, 3)


# SEC facts are whole currency units; floats of whole numbers below 2**53 add and subtract exactly,
# so rtol 1e-9 is a loose bound here. Up to $1 trillion a quarter.
_positive = st.integers(min_value=1, max_value=10**12).map(float)


@pytest.mark.fast
@settings(max_examples=30, deadline=None, database=None,
          phases=(Phase.explicit, Phase.generate, Phase.shrink))
@given(q=st.lists(_positive, min_size=4, max_size=4))
def test_property_ytd_differences_recover_quarters(q):
    """Building 3M Q1, 6M, 9M and FY facts from q1..q4 and deriving gives back q1..q4 (rtol 1e-9)."""
    table = tidy_periods(_reported(_ytd_rows("revenue", 2024, q, "P")), {"revenue": "flow"})
    got = [_pick(table, "revenue", "Q", 2024, f"Q{k}")["value"] for k in (1, 2, 3, 4)]
    assert_allclose(got, q, rtol=1e-9)
    assert_allclose(_pick(table, "revenue", "TTM", 2024, "Q4")["value"], sum(q), rtol=1e-9)


# --- real NVDA facts (tests/data/sec/NVDA.companyfacts.min.json, a subset of the raw file) ------

FIXTURES = Path(__file__).parent / "data" / "sec"


@pytest.fixture(scope="module")
def nvda_tidy(tmp_path_factory):
    """NVDA revenue and capex facts for fiscal 2025-2027, read, standardized and made tidy."""
    folder = tmp_path_factory.mktemp("sec")
    shutil.copy(FIXTURES / "NVDA.companyfacts.min.json", folder / "NVDA.companyfacts.json")
    nvda = company("NVDA")
    raw = read_company(folder, "NVDA", int(nvda["cik"]), "companyfacts")
    reported, restatements = standardize_company(raw, nvda)
    return tidy_periods(reported, {"revenue": "flow", "capex": "flow"}), restatements


@pytest.mark.fast
def test_nvda_fixture_fy2026_q4_revenue(nvda_tidy):
    """NVDA FY2026 Q4 revenue = FY 215,938M (0001045810-26-000021) − 9M YTD 147,811M (0001045810-25-000230)
    = 68,127M, derived, ending 2026-01-25 (calendar 2025 Q4)."""
    table, _ = nvda_tidy
    q4 = _pick(table, "revenue", "Q", 2026, "Q4")
    assert_allclose(q4["value"], 68_127e6, rtol=0)
    assert "0001045810-26-000021" in q4["derivation"] and "0001045810-25-000230" in q4["derivation"]
    assert q4["period_end"] == pd.Timestamp("2026-01-25")
    assert (q4["calendar_year"], q4["calendar_quarter"]) == (2025, 4)


@pytest.mark.fast
def test_nvda_fixture_revenue_quarters(nvda_tidy):
    """NVDA revenue: FY2025 Q4 = 130,497 − 91,166 = 39,331M; FY2026 Q2 reported 46,743M (= 90,805 − 44,062);
    FY2027 Q1 reported 81,615M; FY2026 = 215,938M."""
    table, _ = nvda_tidy
    got = [_pick(table, "revenue", "Q", 2025, "Q4")["value"], _pick(table, "revenue", "Q", 2026, "Q2")["value"],
           _pick(table, "revenue", "Q", 2027, "Q1")["value"], _pick(table, "revenue", "FY", 2026, "FY")["value"]]
    assert_allclose(got, [39_331e6, 46_743e6, 81_615e6, 215_938e6], rtol=0)


@pytest.mark.fast
def test_nvda_fixture_capex_quarters_and_ttm(nvda_tidy):
    """NVDA capex (PaymentsToAcquireProductiveAssets, YTD only after Q1): FY2026 Q1 1,227M; Q2 3,122 − 1,227 = 1,895M;
    Q3 4,758 − 3,122 = 1,636M; Q4 6,042 − 4,758 = 1,284M; TTM at FY2027 Q1 = 1,895 + 1,636 + 1,284 + 1,757 = 6,572M."""
    table, _ = nvda_tidy
    got = [_pick(table, "capex", "Q", 2026, f"Q{k}")["value"] for k in (1, 2, 3, 4)]
    assert_allclose(got, [1_227e6, 1_895e6, 1_636e6, 1_284e6], rtol=0)
    assert_allclose(_pick(table, "capex", "TTM", 2027, "Q1")["value"], 6_572e6, rtol=0)
    assert set(table.loc[table["metric"].eq("capex") & table["value"].notna(), "tag"]) == {
        "PaymentsToAcquireProductiveAssets"}


@pytest.mark.fast
def test_nvda_fixture_no_restatements(nvda_tidy):
    """Every repeat of a period in a later NVDA filing in the fixture carries the same value: no restatements."""
    _, restatements = nvda_tidy
    assert restatements.empty


@pytest.mark.rawdata
def test_nvda_fixture_matches_raw_data(raw_dir):
    """The committed fixture equals a fresh regeneration from ../shared/data/sec (exact text)."""
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    make_fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_fixtures)
    for name, text in make_fixtures.build(raw_dir / "sec").items():
        assert (FIXTURES / name).read_text(encoding="utf-8") == text, f"{name} is stale: rerun make_fixtures.py"
