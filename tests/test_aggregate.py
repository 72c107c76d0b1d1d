"""Calendar-aligned sums across companies (`valuechain_lib.calc.aggregate`), on hand-worked tiny tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from valuechain_lib.calc.aggregate import calendar_sum, calendar_years, check_one_currency, profit_pool
from valuechain_lib.errors import CurrencyError, PeriodError

KINDS = {"revenue": "flow", "operating_income": "flow", "cash": "stock"}


def _q(ticker, cy, cq, value, metric="revenue", unit="USD", freq="Q", fiscal=(None, None), end=None):
    end = pd.Timestamp(end) if end else pd.Timestamp(year=cy, month=3 * cq, day=1) + pd.offsets.MonthEnd(0)
    return {
        "ticker": ticker, "metric": metric, "freq": freq, "fiscal_year": fiscal[0], "fiscal_period": fiscal[1],
        "period_start": end - pd.offsets.MonthBegin(3), "period_end": end,
        "calendar_year": cy, "calendar_quarter": cq, "value": float(value), "unit": unit,
    }


def _table(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["calendar_year"] = frame["calendar_year"].astype("Int64")
    frame["calendar_quarter"] = frame["calendar_quarter"].astype("Int64")
    return frame


def _at(out, cy, cq, **eq):
    hit = out[(out["calendar_year"] == cy) & (out["calendar_quarter"] == cq)]
    for col, val in eq.items():
        hit = hit[hit[col] == val]
    assert len(hit) == 1, f"expected one row for {cy} Q{cq} {eq}, got {len(hit)}"
    return hit.iloc[0]


@pytest.mark.fast
def test_calendar_sum_adds_same_calendar_quarter_only():
    """NVDA (FY2027 Q1, ends 2026-04-26 → CY2026 Q1) 81.6 + MSFT (FY2026 Q3, ends 2026-03-31 → CY2026 Q1) 82.9
    = 164.5 in CY2026 Q1; CY2025 Q4: 68.1 + 81.3 = 149.4. No cross-quarter mixing."""
    rows = [_q("NVDA", 2026, 1, 81.6, end="2026-04-26"), _q("MSFT", 2026, 1, 82.9),
            _q("NVDA", 2025, 4, 68.1, end="2026-01-25"), _q("MSFT", 2025, 4, 81.3)]
    out = calendar_sum(_table(rows))
    assert_allclose(_at(out, 2026, 1)["value"], 164.5, rtol=1e-12)
    assert_allclose(_at(out, 2025, 4)["value"], 149.4, rtol=1e-12)
    assert _at(out, 2026, 1)["n_companies"] == 2
    assert _at(out, 2026, 1)["missing"] == ""


@pytest.mark.fast
def test_calendar_sum_missing_company_gives_nan_and_names_it():
    """B has no CY2025 Q2 value (NaN) and no CY2025 Q3 row: both sums are NaN with missing = 'B';
    CY2025 Q1 = 10 + 5 = 15."""
    rows = [_q("A", 2025, 1, 10), _q("B", 2025, 1, 5), _q("A", 2025, 2, 20), _q("B", 2025, 2, np.nan),
            _q("A", 2025, 3, 30)]
    out = calendar_sum(_table(rows))
    assert _at(out, 2025, 1)["value"] == 15
    for cq in (2, 3):
        row = _at(out, 2025, cq)
        assert np.isnan(row["value"])
        assert row["missing"] == "B"
        assert row["n_companies"] == 1


@pytest.mark.fast
def test_calendar_sum_mixed_currencies_raise_naming_them():
    """USD (NVDA) + TWD (TSM) without rates raises CurrencyError naming both currencies."""
    rows = [_q("NVDA", 2025, 1, 44.1), _q("TSM", 2025, 1, 839.3, unit="TWD")]
    with pytest.raises(CurrencyError, match="TWD") as info:
        calendar_sum(_table(rows))
    assert "USD" in str(info.value)
    assert "TSM" in str(info.value)


@pytest.mark.fast
def test_calendar_sum_converts_with_fx():
    """With fx TWD→USD 0.03: 44.1 + 839.3 × 0.03 = 44.1 + 25.179 = 69.279."""
    rows = [_q("NVDA", 2025, 1, 44.1), _q("TSM", 2025, 1, 839.3, unit="TWD")]
    out = calendar_sum(_table(rows), fx={"USD": 1.0, "TWD": 0.03})
    assert_allclose(_at(out, 2025, 1)["value"], 69.279, rtol=1e-12)


@pytest.mark.fast
def test_fx_missing_one_rate_still_raises():
    """A rate for TWD only (no USD) is not enough: CurrencyError."""
    rows = [_q("NVDA", 2025, 1, 1), _q("TSM", 2025, 1, 1, unit="TWD")]
    with pytest.raises(CurrencyError):
        check_one_currency(_table(rows), fx={"TWD": 0.03})


@pytest.mark.fast
def test_calendar_sum_refuses_fiscal_years():
    """FY rows are not calendar-aligned: PeriodError."""
    rows = [_q("A", 2025, 1, 10, freq="FY")]
    with pytest.raises(PeriodError, match="fiscal years"):
        calendar_sum(_table(rows))


@pytest.mark.fast
def test_calendar_sum_two_values_in_one_calendar_quarter_raise():
    """Two A revenue values in CY2025 Q1 mean misaligned periods: PeriodError naming A and the quarter."""
    rows = [_q("A", 2025, 1, 10), _q("A", 2025, 1, 11, end="2025-02-28")]
    with pytest.raises(PeriodError, match="A: two revenue values") as info:
        calendar_sum(_table(rows))
    assert "2025" in str(info.value)


@pytest.mark.fast
def test_calendar_sum_keeps_q_and_ttm_apart():
    """Q (10 + 5 = 15) and TTM (40 + 20 = 60) rows of the same quarter are summed separately."""
    rows = [_q("A", 2025, 1, 10), _q("B", 2025, 1, 5), _q("A", 2025, 1, 40, freq="TTM"),
            _q("B", 2025, 1, 20, freq="TTM")]
    out = calendar_sum(_table(rows))
    assert _at(out, 2025, 1, freq="Q")["value"] == 15
    assert _at(out, 2025, 1, freq="TTM")["value"] == 60


def _msft_like():
    """A June-FY company: FY2025 Q3 (Mar 2025) 70, FY2025 Q4 (Jun) 76, FY2026 Q1 (Sep) 77, FY2026 Q2 (Dec) 81,
    FY2026 Q3 (Mar 2026) 82; cash balances 500, 510, 520, 530, 540."""
    rows = []
    quarters = [((2025, "Q3"), 2025, 1, 70, 500), ((2025, "Q4"), 2025, 2, 76, 510), ((2026, "Q1"), 2025, 3, 77, 520),
                ((2026, "Q2"), 2025, 4, 81, 530), ((2026, "Q3"), 2026, 1, 82, 540)]
    for fiscal, cy, cq, rev, cash in quarters:
        rows.append(_q("MSFTX", cy, cq, rev, fiscal=fiscal))
        rows.append(_q("MSFTX", cy, cq, cash, metric="cash", fiscal=fiscal))
    return _table(rows)


@pytest.mark.fast
def test_calendar_year_from_two_fiscal_years():
    """CY2025 of a June-FY company = FY2025 Q3 + Q4 + FY2026 Q1 + Q2 = 70 + 76 + 77 + 81 = 304,
    from 2025-01-01 to 2025-12-31."""
    years = calendar_years(_msft_like(), KINDS)
    row = years[(years["metric"] == "revenue") & (years["calendar_year"] == 2025)].iloc[0]
    assert_allclose(row["value"], 304, rtol=1e-12)
    assert (row["period_start"], row["period_end"]) == (pd.Timestamp("2025-01-01"), pd.Timestamp("2025-12-31"))
    assert row["freq"] == "CY"


@pytest.mark.fast
def test_calendar_year_needs_four_quarters():
    """CY2026 has only Q1 (82): NaN with a reason naming the quarters present."""
    years = calendar_years(_msft_like(), KINDS)
    row = years[(years["metric"] == "revenue") & (years["calendar_year"] == 2026)].iloc[0]
    assert np.isnan(row["value"])
    assert "[1]" in row["missing_reason"]


@pytest.mark.fast
def test_calendar_year_balance_is_q4():
    """Cash for CY2025 is the calendar-Q4 balance (530, Dec 2025), not the sum 2080; CY2026 has no Q4: NaN."""
    years = calendar_years(_msft_like(), KINDS)
    cash = years[years["metric"] == "cash"].set_index("calendar_year")
    assert cash.loc[2025, "value"] == 530
    assert np.isnan(cash.loc[2026, "value"])
    assert "Q4" in cash.loc[2026, "missing_reason"]


@pytest.mark.fast
@pytest.mark.regression
def test_calendar_year_nan_quarter_is_not_called_present():
    """With CY2025 Q2 revenue NaN the year is NaN, and its reason must not list Q2 among the quarters present
    (four rows exist, but only Q1, Q3 and Q4 carry a value)."""
    table = _msft_like()
    table.loc[(table["metric"] == "revenue") & (table["calendar_quarter"] == 2), "value"] = np.nan
    years = calendar_years(table, KINDS)
    row = years[(years["metric"] == "revenue") & (years["calendar_year"] == 2025)].iloc[0]
    assert np.isnan(row["value"])
    assert "[1, 2, 3, 4]" not in row["missing_reason"]


@pytest.mark.fast
def test_profit_pool_groups_by_layer():
    """CY2025 Q1 revenue: upstream NVDA 44 + AMD 7 = 51; midstream MSFT 70; operating income upstream 24 + 1 = 25."""
    universe = pd.DataFrame({"ticker": ["NVDA", "AMD", "MSFT"], "layer": ["upstream", "upstream", "midstream"]})
    rows = [_q("NVDA", 2025, 1, 44), _q("AMD", 2025, 1, 7), _q("MSFT", 2025, 1, 70),
            _q("NVDA", 2025, 1, 24, metric="operating_income"), _q("AMD", 2025, 1, 1, metric="operating_income"),
            _q("MSFT", 2025, 1, 32, metric="operating_income"), _q("MSFT", 2025, 1, 999, metric="cash")]
    pool = profit_pool(_table(rows), universe)
    assert _at(pool, 2025, 1, layer="upstream", metric="revenue")["value"] == 51
    assert _at(pool, 2025, 1, layer="midstream", metric="revenue")["value"] == 70
    assert _at(pool, 2025, 1, layer="upstream", metric="operating_income")["value"] == 25
    assert "cash" not in set(pool["metric"])


@pytest.mark.fast
def test_profit_pool_mixed_currency_layer_raises():
    """A layer mixing USD and TWD without fx raises CurrencyError."""
    universe = pd.DataFrame({"ticker": ["NVDA", "TSM"], "layer": ["upstream", "upstream"]})
    rows = [_q("NVDA", 2025, 1, 44), _q("TSM", 2025, 1, 839, unit="TWD")]
    with pytest.raises(CurrencyError):
        profit_pool(_table(rows), universe)


def test_calendar_sum_carries_the_quarter_labels_along():
    """Rows that carry quarter_end and calendar_label (as financials rows do) keep them in the sum:
    2025 Q1 of A (10) and B (20) is 30, '2025 Q1', ending 2025-03-31."""
    rows = [_q("A", 2025, 1, 10.0), _q("B", 2025, 1, 20.0)]
    table = _table(rows).assign(quarter_end=pd.Timestamp("2025-03-31"), calendar_label="2025 Q1")
    row = _at(calendar_sum(table), 2025, 1)
    assert (row["value"], row["calendar_label"], row["quarter_end"]) == (30.0, "2025 Q1", pd.Timestamp("2025-03-31"))
