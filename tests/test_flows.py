"""Follow the money (`valuechain_lib.flows`, claim B2).

The numbers behind the chapter's pictures, checked against sums computed here from `financials` and
the facts table, and against hand-worked values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from valuechain_lib import flows
from valuechain_lib.facts import facts
from valuechain_lib.financials import financials

pytestmark = pytest.mark.fast

HYPERSCALERS = ["AMZN", "MSFT", "GOOGL", "META", "ORCL"]



@pytest.fixture(scope="module")
def money():
    return flows.spenders_to_suppliers(start_year=2019)


def test_capex_total_is_sum_of_five_calendar_years(money):
    """Known answer: each year's total equals the sum of the five companies' calendar-year capex from
    `financials(freq="FY", calendar=True)`, to 1e-9 relative; NaN where any company lacks the year."""
    cy = financials(HYPERSCALERS, freq="FY", calendar=True, metrics="capex")
    wide = cy.pivot_table(index="calendar_year", columns="ticker", values="value", aggfunc="first", dropna=False)
    for year in money.index:
        values = wide.reindex(index=[year], columns=HYPERSCALERS).iloc[0]
        if values.notna().all():
            assert_allclose(money.at[year, "capex_total"], values.sum(), rtol=1e-9)
        else:
            assert np.isnan(money.at[year, "capex_total"])
            assert money.at[year, "capex_missing"] != ""


def test_ratio_hand_computed_for_2023(money):
    """Hand-worked 2023: (NVDA + AMD + AVGO + MU + INTC + TSMC TWD / F135 rate) / capex total."""
    rev = financials(list(flows.USD_SUPPLIERS), freq="FY", calendar=True, metrics="revenue")
    usd = rev[rev["calendar_year"] == 2023]["value"].sum()
    tsm = financials("TSM", freq="FY", metrics="revenue")
    twd = tsm.loc[tsm["period_end"] == pd.Timestamp("2023-12-31"), "value"].iloc[0]
    rate = facts().set_index("fact_id").at["F135", "value"]
    assert_allclose(rate, 31.1525)
    expected = (usd + twd / rate) / money.at[2023, "capex_total"]
    assert_allclose(money.at[2023, "ratio_upper_bound"], expected, rtol=1e-9)
    assert_allclose(money.at[2023, "ratio_ex_tsmc"], usd / money.at[2023, "capex_total"], rtol=1e-9)
    assert money.at[2023, "fx_fact_id"] == "F135"


def test_twd_left_out_of_sums_without_a_rate(money):
    """2024 has only monthly TWD/USD rows (F136a–c), no annual average: TSMC stays in TWD and the
    upstream total equals the five USD filers exactly."""
    row = money.loc[2024]
    assert np.isnan(row["twd_per_usd"]) and np.isnan(row["revenue_TSM"])
    assert row["revenue_TSM_twd"] > 0
    assert row["upstream_total"] == row["upstream_total_ex_tsmc"]
    assert "TSM" in row["upstream_excluded"]
    assert np.isnan(row["ratio_with_tsmc"])


def test_nvidia_data_center_sums_four_cited_quarters(money):
    """Calendar 2024 = Nvidia FY2025 Q1–Q4 (quarters ending late Apr, Jul, Oct 2024 and Jan 2025, each
    placed in its nearest calendar quarter): 22,600 + 26,300 + 30,771 + 35,580 USD million."""
    assert_allclose(money.at[2024, "nvidia_data_center"], (22_600 + 26_300 + 30_771 + 35_580) * 1e6)
    # Never added to the totals: it is part of Nvidia's revenue.
    assert (money["nvidia_data_center"].dropna() <= money["revenue_NVDA"].reindex(
        money["nvidia_data_center"].dropna().index)).all()
    assert set(money["ratio_label"]) == {"upper-bound association"}


def test_guidance_revisions_ordered_by_as_of():
    """Within each company and plan period, revision 1, 2, … follow the statement dates."""
    g = flows.capex_guidance()
    for _, grp in g.groupby(["ticker", "plan_period"]):
        assert grp["as_of"].is_monotonic_increasing
        assert grp["revision"].tolist() == list(range(1, len(grp) + 1))
        assert grp["is_latest"].tolist() == [False] * (len(grp) - 1) + [True]
    meta = g[(g["ticker"] == "META") & (g["plan_period"] == "FY2025")]
    assert meta["fact_id"].tolist() == ["F86", "F87", "F88", "F89"]
    # A range's top and midpoint, hand-worked for Alphabet's $91–93bn (F79).
    f79 = g.set_index("fact_id").loc["F79"]
    assert_allclose([f79["guided_top"], f79["guided_mid"]], [93e9, 92e9])


def test_fits_inside_cash_rule():
    """Oracle FY2026 plan F98 ($50bn) against Oracle's latest TTM operating cash flow in the snapshot."""
    gvc = flows.guidance_vs_cash()
    row = gvc[(gvc["ticker"] == "ORCL") & (gvc["basis"] == "fiscal year to May") & (gvc["year"] == 2026)].iloc[0]
    assert row["fact_id"] == "F98"
    ttm = financials("ORCL", freq="TTM", calendar=True, metrics="operating_cash_flow").dropna(subset=["value"])
    latest = ttm.sort_values("period_end")["value"].iloc[-1]
    assert_allclose(row["latest_ttm_ocf"], latest)
    assert bool(row["fits_inside_cash"]) == (50e9 <= latest)
    # Calendar rows never carry a fiscal-year plan.
    cal = gvc[gvc["basis"] == "calendar year"]
    assert cal.loc[cal["ticker"].isin(["MSFT", "ORCL"]), "fact_id"].isna().all()
    # Actual calendar capex equals financials' calendar year.
    cy = financials("AMZN", freq="FY", calendar=True, metrics="capex").set_index("calendar_year")["value"]
    amzn = gvc[(gvc["ticker"] == "AMZN") & (gvc["year"] == 2025)].iloc[0]
    assert_allclose(amzn["capex"], cy[2025])
