"""Follow the money (`valuechain_lib.analyses.follow_the_money`, claim B2).

The numbers behind the chapter's pictures, checked against sums computed here from `financials` and
the facts table, and against hand-worked values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from valuechain_lib.analyses import follow_the_money as flows
from valuechain_lib.snapshot.facts import facts
from valuechain_lib.snapshot.financials import financials

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


def _ttm_frame(rows):
    """Tiny TTM operating-cash-flow frame: (ticker, calendar year, quarter, period end, value)."""
    return pd.DataFrame(rows, columns=["ticker", "calendar_year", "calendar_quarter", "period_end", "value"]).assign(
        period_end=lambda d: pd.to_datetime(d["period_end"]))


def test_projection_and_growth_needed_hand_worked():
    """120 grown at 120/100 for 2 quarters = 120 × 1.2 ** 0.5 = 131.4534; a plan of 144 against a
    base of 100 two years (8 quarters) ahead needs (1.44) ** 0.5 − 1 = 20% a year; a zero or missing
    prior, or no quarter ahead, gives NaN."""
    got = flows.get_projected_ocf(pd.Series([120.0, 120.0, 120.0]), pd.Series([100.0, 0.0, 100.0]),
                                  pd.Series([2, 2, 0]))
    assert_allclose(got.iloc[0], 120 * 1.2 ** 0.5, rtol=1e-12)
    assert got.iloc[1:].isna().all()
    need = flows.get_growth_needed(pd.Series([144.0, 144.0]), pd.Series([100.0, np.nan]), pd.Series([8, 8]))
    assert_allclose(need.iloc[0], 0.2, rtol=1e-12)
    assert np.isnan(need.iloc[1])


def test_plans_matched_to_their_own_period():
    """Synthetic: a fiscal-year guider (year to May) whose fiscal year has been filed is compared with
    that fiscal year's operating cash flow (30), not with its later TTM (40); a calendar guider whose
    year is not filed is compared with its TTM to March (100) grown 3 quarters at 100/80: 100 × 1.25 **
    0.75 = 118.22, so a plan of 110 fits and one of 125 does not (the flip), and the growth needed for
    125 is 1.25 ** (4/3) − 1 = 34.65% a year."""
    ttm = _ttm_frame([
        ("FYCO", 2025, 2, "2025-05-31", 25.0), ("FYCO", 2026, 2, "2026-05-31", 30.0),
        ("FYCO", 2026, 3, "2026-08-31", 40.0),
        ("CAL", 2025, 1, "2025-03-31", 80.0), ("CAL", 2026, 1, "2026-03-31", 100.0),
    ])
    plans = pd.DataFrame({
        "ticker": ["FYCO", "CAL", "CAL"],
        "plan_period_end": pd.to_datetime(["2026-05-31", "2026-12-31", "2026-12-31"]),
        "guided_top": [35.0, 110.0, 125.0],
        "operating_cash_flow": [30.0, np.nan, np.nan],
    })
    out = flows.match_plans_to_cash(plans, flows.ttm_ocf_base(ttm))
    fiscal = out.iloc[0]
    assert fiscal["cash_basis"] == "reported"
    assert_allclose(fiscal["ocf_matched"], 30.0)
    assert not bool(fiscal["fits_inside_cash"]) and np.isnan(fiscal["growth_needed"])
    projected = 100 * 1.25 ** 0.75
    assert out["cash_basis"].iloc[1:].tolist() == ["projected", "projected"]
    assert out["quarters_ahead"].iloc[1:].tolist() == [3, 3]
    assert_allclose(out["ocf_matched"].iloc[1:], [projected, projected], rtol=1e-12)
    assert [bool(x) for x in out["fits_inside_cash"].iloc[1:]] == [True, False]
    assert_allclose(out.at[2, "growth_needed"], 1.25 ** (4 / 3) - 1, rtol=1e-12)
    assert_allclose(out.at[1, "ocf_growth"], 0.25)


def test_no_prior_year_leaves_projection_missing_with_reason():
    """Without a TTM four quarters before the latest, the projection is NaN with a reason and the
    plan is neither inside nor outside cash (NA), never compared with 0."""
    ttm = _ttm_frame([("NEW", 2026, 1, "2026-03-31", 50.0)])
    plans = pd.DataFrame({"ticker": ["NEW"], "plan_period_end": pd.to_datetime(["2026-12-31"]),
                          "guided_top": [40.0], "operating_cash_flow": [np.nan]})
    out = flows.match_plans_to_cash(plans, flows.ttm_ocf_base(ttm)).iloc[0]
    assert np.isnan(out["ocf_matched"]) and pd.isna(out["fits_inside_cash"])
    assert "a year before" in out["cash_reason"]


def test_plan_basis_follows_the_plan_period_end():
    """A Microsoft (June year) plan ending in June is on its fiscal year; one ending 31 December is on
    the calendar year; a December-year company's plan is on the calendar year."""
    assert flows._plan_basis(pd.Timestamp("2026-06-30"), 6) == "fiscal year to June"
    assert flows._plan_basis(pd.Timestamp("2026-12-31"), 6) == "calendar year"
    assert flows._plan_basis(pd.Timestamp("2026-12-31"), 12) == "calendar year"
    assert flows.period_text("fiscal year to May", 2027) == "fiscal year to May 2027"


def test_fiscal_guiders_compared_with_their_fiscal_year():
    """Oracle's FY2026 plan F98 ($50bn) against Oracle's own FY2026 (June 2025–May 2026) operating cash
    flow from `financials(freq="FY")`, not against a calendar year or a later TTM."""
    gvc = flows.guidance_vs_cash()
    row = gvc[(gvc["ticker"] == "ORCL") & (gvc["basis"] == "fiscal year to May") & (gvc["year"] == 2026)].iloc[0]
    assert row["fact_id"] == "F98"
    fy = financials("ORCL", freq="FY", metrics="operating_cash_flow")
    fy2026 = fy.loc[fy["period_end"] == pd.Timestamp("2026-05-31"), "value"].iloc[0]
    assert row["cash_basis"] == "reported"
    assert_allclose(row["ocf_matched"], fy2026)
    assert bool(row["fits_inside_cash"]) == (50e9 <= fy2026)
    # Calendar rows never carry a fiscal-year plan, nor fiscal rows a calendar plan.
    cal = gvc[gvc["basis"] == "calendar year"]
    plans = flows.capex_guidance()
    fiscal_ids = set(plans.loc[plans["plan_basis"] != "calendar year", "fact_id"])
    assert not set(cal["fact_id"].dropna()) & fiscal_ids
    # Actual calendar capex equals financials' calendar year.
    cy = financials("AMZN", freq="FY", calendar=True, metrics="capex").set_index("calendar_year")["value"]
    amzn = gvc[(gvc["ticker"] == "AMZN") & (gvc["year"] == 2025)].iloc[0]
    assert_allclose(amzn["capex"], cy[2025])


def test_calendar_guider_projected_from_its_latest_ttm():
    """Amazon's calendar-2026 plan, with 2026 not yet filed: its latest calendar-aligned TTM operating
    cash flow times (that TTM / the TTM four quarters earlier) ** (quarters to 2026 Q4 / 4)."""
    gvc = flows.guidance_vs_cash()
    row = gvc[(gvc["ticker"] == "AMZN") & (gvc["basis"] == "calendar year") & (gvc["year"] == 2026)].iloc[0]
    assert row["cash_basis"] == "projected" and np.isnan(row["operating_cash_flow"])
    ttm = financials("AMZN", freq="TTM", calendar=True, metrics="operating_cash_flow").dropna(subset=["value"])
    ttm = ttm.sort_values("period_end")
    last = ttm.iloc[-1]
    prior = ttm[(ttm["calendar_year"] == last["calendar_year"] - 1)
                & (ttm["calendar_quarter"] == last["calendar_quarter"])]["value"].iloc[0]
    quarters = (2026 * 4 + 4) - (int(last["calendar_year"]) * 4 + int(last["calendar_quarter"]))
    assert row["quarters_ahead"] == quarters
    assert_allclose(row["ocf_matched"], last["value"] * (last["value"] / prior) ** (quarters / 4), rtol=1e-12)
    assert bool(row["fits_inside_cash"]) == (row["guided_top"] <= row["ocf_matched"])


def test_summary_names_the_periods_compared(money):
    """The summary compares each plan with cash of its own period and states the assumed growth; it no
    longer compares plans with the latest trailing twelve months."""
    text = flows.flow_summary(money, flows.guidance_vs_cash(since=2023))
    assert "latest trailing operating cash flow" not in text
    assert "reported for the same period" in text or "projected" in text
    if "projected (" in text:
        assert "at its rate over the preceding year" in text and "the plan needs" in text
    assert "not an attribution" in text


def test_tsmc_gaps_named_with_reasons(money):
    """TSMC is missing from 2024 (monthly rates only, no annual average cited) and 2025 (no FY2025 20-F
    in the snapshot); the text names both years and reasons."""
    assert money.at[2024, "tsmc_gap"] == "no TWD/USD rate cited for 2024"
    assert money.at[2025, "tsmc_gap"] == "no FY2025 annual report in the snapshot"
    assert money.at[2023, "tsmc_gap"] == ""
    assert flows.tsmc_gap_text(money, [2023, 2024, 2025]) == (
        "TSMC left out of 2024 (no TWD/USD rate cited for 2024) and 2025 (no FY2025 annual report in the "
        "snapshot)")
    assert flows.tsmc_gap_text(money, [2023]) == ""
    assert money.at[2024, "nvidia_dc_period"] == "Nvidia's quarters ending 2024-04-28 to 2025-01-26"


def test_reported_results_are_not_plans_and_calendar_plan_of_fiscal_company():
    """Claim B2 also holds reported results (F183 Amazon OCF, F190a Microsoft OCF, F207b Oracle capex):
    they are not plans. Microsoft's calendar-2026 expectation F195 (period ends 2026-12-31) is a
    calendar-year plan, set beside Microsoft's calendar 2026, not its fiscal year to June."""
    plans = flows.capex_guidance().set_index("fact_id")
    assert not {"F183", "F190a", "F207b"} & set(plans.index)
    if "F195" in plans.index:
        assert plans.at["F195", "plan_basis"] == "calendar year"
        gvc = flows.guidance_vs_cash()
        row = gvc[gvc["fact_id"] == "F195"].iloc[0]
        assert (row["ticker"], row["basis"], row["year"]) == ("MSFT", "calendar year", 2026)
        assert row["period_text"] == "calendar 2026"


def test_each_company_s_own_period_end_per_calendar_year(money):
    """Calendar 2025 ends on each company's own last quarter end in it, read from `financials`: Oracle's
    quarter to 2025-11-30, Nvidia's to 2026-01-25, Amazon's 2025-12-31; TSMC's 2025 is not filed (NaT)."""
    for ticker, metric in (("ORCL", "capex"), ("NVDA", "revenue"), ("AMZN", "capex")):
        rows = financials(ticker, freq="FY", calendar=True, metrics=metric)
        expected = rows.loc[(rows["calendar_year"] == 2025) & rows["value"].notna(), "period_end"].max()
        assert money.at[2025, f"period_end_{ticker}"] == expected
    assert f"{money.at[2025, 'period_end_ORCL']:%Y-%m-%d}" == "2025-11-30"
    assert pd.isna(money.at[2025, "period_end_TSM"])
    ends = flows.period_ends(money.loc[[2023, 2024, 2025]], {"TSM": "revenue_TSM", "NVDA": "revenue_NVDA"})
    assert {t: f"{d:%Y-%m-%d}" for t, d in ends.items()} == {"TSM": "2023-12-31", "NVDA": "2026-01-25"}


def test_tsmc_reported_after_pairs_twd_with_its_own_translation():
    """TSMC files to FY2024; after it, FY2025 NT$3,809.05bn (F214a) with its US$122.42bn (F214b) and 2026 Q2
    NT$1,270.38bn (F215a) with US$40.2bn (F215b), in TWD and USD, never a filed period."""
    out = flows.tsmc_reported_after().set_index("fact_id")
    assert f"{out['last_filed'].iloc[0]:%Y-%m-%d}" == "2024-12-31"
    assert (out["period_end"] > out["last_filed"]).all()
    assert_allclose(out.loc[["F214a", "F215a"], "value_twd"], [3809.05e9, 1270.38e9], rtol=1e-12)
    assert_allclose(out.loc[["F214a", "F215a"], "value_usd"], [122.42e9, 40.2e9], rtol=1e-12)
    assert out.loc[["F214a", "F215a"], "usd_fact_id"].tolist() == ["F214b", "F215b"]
    assert out.loc[["F214a", "F215a"], "freq"].tolist() == ["FY", "Q"]
    assert "company statement" in out.at["F214a", "label"] and "F214b" not in out.at["F214a", "label"]


def test_tsmc_revenue_keeps_the_filed_series_apart(money):
    """The filed rows are TSMC's 20-F years (FY2024 = the TWD revenue in `spenders_to_suppliers`); the later
    figures come after the last filed period, under the reported-after label, and no row adds them up."""
    from valuechain_lib.snapshot.reported_after import LABEL

    rows = flows.tsmc_revenue(start_year=2019)
    filed = rows[rows["status"] == flows.FILED_LABEL]
    later = rows[rows["status"] == LABEL]
    assert filed["period"].tolist() == [f"FY{y}" for y in range(2019, 2025)]
    assert_allclose(filed.set_index("period").at["FY2024", "value_twd"], money.at[2024, "revenue_TSM_twd"])
    assert (later["period_end"] > filed["period_end"].max()).all() and len(later) == 2
    assert filed["value_usd"].isna().all()
    assert_allclose(later.set_index("period").at["FY2025", "value_twd"], 3809.05e9, rtol=1e-12)
