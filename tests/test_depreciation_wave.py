"""The depreciation-wave model (`valuechain_lib.analyses.depreciation_wave`, claim A9).

Hand-worked straight-line vintage schedules under the half-year convention, calibration recovering a
known life on synthetic data, the 10% error flag, and coverage years on synthetic inputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from valuechain_lib.analyses import depreciation_wave as dw
from valuechain_lib.errors import ValueChainError

pytestmark = pytest.mark.fast


def test_one_vintage_five_years_half_year():
    """100 of capex, 5-year life, half-year convention → 10, 20, 20, 20, 20, 10 (sums to 100)."""
    d = dw.depreciation_schedule(pd.Series({2020: 100.0}), 5)
    assert d.index.tolist() == list(range(2020, 2026))
    assert_allclose(d.to_numpy(), [10, 20, 20, 20, 20, 10], atol=1e-12)
    assert_allclose(d.sum(), 100.0, atol=1e-12)


def test_fractional_life_and_overlapping_vintages():
    """Life 5.5: 100 → 9.09, then 18.18 × 5 (the last full, as (0.5 + 5) / 5.5 = 1); two vintages add."""
    w = dw.vintage_weights(5.5, 7)
    assert_allclose(w * 100, [100 / 11, 200 / 11, 200 / 11, 200 / 11, 200 / 11, 200 / 11, 0], atol=1e-9)
    d = dw.depreciation_schedule(pd.Series({2020: 100.0, 2021: 50.0}), 4, years=range(2020, 2026))
    # 100 over 4: 12.5, 25, 25, 25, 12.5; 50 over 4 from 2021: 6.25, 12.5, 12.5, 12.5, 6.25
    assert_allclose(d.to_numpy(), [12.5, 31.25, 37.5, 37.5, 25.0, 6.25], atol=1e-12)


def test_opening_stock_over_half_life():
    """An opening stock of 60 at end-2019 with a 6-year life is written off over 3 years: 20, 20, 20."""
    d = dw.depreciation_schedule(pd.Series(dtype=float), 6, years=range(2019, 2024), initial_stock=60.0,
                                 stock_year=2019)
    assert_allclose(d.to_numpy(), [0, 20, 20, 20, 0], atol=1e-12)


def test_calibration_recovers_known_life():
    """D&A generated with a 6-year life and stock scale 0.8 is fitted back to exactly 6 years and 0.8."""
    years = range(2011, 2022)
    investment = pd.Series({y: 100.0 * 1.2 ** (y - 2011) for y in years})
    truth = dw.depreciation_schedule(investment, 6, years, initial_stock=0.8 * 300.0, stock_year=2010)
    inputs = {"investment": investment, "reported": truth, "initial_stock": 300.0, "base_year": 2010}
    cal = dw.calibrate("SYN", fit_until=2021, inputs=inputs)
    assert cal["useful_life"] == 6.0
    assert_allclose(cal["stock_scale"], 0.8, rtol=1e-9)
    assert_allclose(cal["in_sample_mape"], 0.0, atol=1e-12)


def test_error_flag_at_ten_percent():
    """Out-of-sample MAPE 12% is flagged, 8% is not, and exactly 10% is not (the flag is > 10%)."""
    investment = pd.Series({y: 100.0 for y in range(2015, 2026)})
    model = dw.depreciation_schedule(investment, 5, range(2016, 2026))
    cals = []
    for name, factor in (("HI", 1 / 1.12), ("LO", 1 / 1.08)):
        reported = model.copy()
        reported[reported.index > 2021] = model[model.index > 2021] * factor
        cals.append({"ticker": name, "fit_until": 2021, "useful_life": 5.0, "stock_scale": 0.0,
                     "inputs": {"investment": investment, "reported": reported, "initial_stock": 0.0,
                                "base_year": 2015}})
    out = dw.out_of_sample_errors(cals).set_index("ticker")
    assert_allclose(out.loc["HI", "oos_mape"], 0.12, rtol=1e-9)
    assert out.loc["HI", "flag"] and not out.loc["LO", "flag"]
    assert out.loc["HI", "oos_bias"] > 0  # the model over-predicts the (lower) reported figures
    assert dw.mape(pd.Series([110.0]), pd.Series([100.0])) == pytest.approx(0.10)
    assert not bool(dw.mape(pd.Series([110.0]), pd.Series([100.0])) > dw.ERROR_FLAG + 1e-12)


def test_project_splits_existing_and_future():
    """100 spent in 2020 (5 years) plus 100 a year from 2021 at 0% growth: existing 20, future 10 then 30."""
    p = dw.project(0.0, 5, [2021, 2022, 2023], investment=pd.Series({2020: 100.0}))
    assert_allclose(p["da_existing"], [20, 20, 20])
    assert_allclose(p["da_future"], [10, 30, 50])
    assert_allclose(p["da_total"], p["da_existing"] + p["da_future"])
    g = dw.project(0.5, 5, [2021], investment=pd.Series({2020: 100.0}))
    assert_allclose(g["da_future"], [15.0])  # 150 of 2021 investment × 0.1


def test_coverage_year_synthetic():
    """Run rate 10 at mid-2026 doubling yearly: 10, 20, 40 against D&A 30 → covered in 2028; flat → None."""
    dep = pd.Series({2026: 30.0, 2027: 30.0, 2028: 30.0})
    assert dw.coverage_year(10.0, 1.0, dep, 2026.5) == 2028
    assert dw.coverage_year(10.0, 0.0, dep, 2026.5) is None
    assert_allclose(dw.downstream_revenue(10.0, 1.0, [2026, 2027], 2026.0).to_numpy(), [10 * 2 ** 0.5, 10 * 2 ** 1.5])


def test_bad_life_rejected():
    """A non-positive life is an error, not a silent zero schedule."""
    with pytest.raises(ValueChainError):
        dw.vintage_weights(0, 3)
    assert np.isnan(dw.mape(pd.Series([1.0]), pd.Series([0.0])))


# --------------------------------------------------------------------------- coverage range and reconciliation

def _synthetic_calibration(ticker="SYN", life=5.0, spend=100.0):
    """One company investing ``spend`` a year 2020–2025 (calendar), fitted life ``life``."""
    inv = pd.Series({y: spend for y in range(2020, 2026)}, name="investment")
    return {"ticker": ticker, "useful_life": life, "inputs": {"calendar_investment": inv}}


def test_coverage_range_contains_the_fitted_case_synthetic():
    """100 a year invested 2020–2025; run rate 40 at the start of 2026, revenue counted at mid-year.

    Existing D&A, 5-year life (weights 0.1, 0.2 × 4, 0.1): 90 in 2026, 70 in 2027, 50, 30. Revenue +50%:
    40 × 1.5^0.5 = 49.0 < 90, 40 × 1.5^1.5 = 73.5 ≥ 70 → 2027 (the fitted central case). 8-year life
    (weights 0.0625, 0.125 × 7, 0.0625): 75, 75, 68.75, 56.25, 43.75, 31.25; flat revenue of 40 covers it
    in 2031, the latest year of the range. With future investment (≥ 100 a year) flat revenue never covers.
    """
    cal = _synthetic_calibration(life=5.0)
    cases = {"fitted": {"SYN": 5.0}, "stated": {"SYN": 8.0}}
    run_rate = {"base": {"usd": 40.0, "as_of": 2026.0}}
    sc = dw.coverage_scenarios([cal], run_rate, range(2026, 2036), cases, capex_growths=(0.0, 0.15),
                               revenue_growths=(0.0, 0.5))
    assert len(sc) == 2 * 2 * 2
    central = {"lives": "fitted", "run_rate": "base", "capex_growth": 0.15, "revenue_growth": 0.5}
    span = dw.coverage_span(sc, "existing_year", central)
    assert (span["earliest"], span["central"], span["latest"]) == (2027, 2027, 2031)
    assert span["earliest"] <= span["central"] <= span["latest"]
    assert span["latest_case"] == {"lives": "stated", "run_rate": "base", "capex_growth": 0.15,
                                   "revenue_growth": 0.0}
    fitted_flat = sc[(sc["lives"] == "fitted") & (sc["revenue_growth"] == 0.0)]["existing_year"].unique().tolist()
    assert fitted_flat == [2029]  # 30 ≤ 40
    total = dw.coverage_span(sc, "total_year", central)
    assert total["latest"] is None and total["n_not_covered"] == 4  # every flat-revenue scenario
    assert total["latest_case"]["revenue_growth"] == 0.0


def test_coverage_span_all_covered_and_ties_nearest_central():
    """All scenarios covered: latest is the maximum, described by the tied scenario nearest the centre."""
    sc = pd.DataFrame({"lives": ["f", "f", "s", "s"], "run_rate": "r", "capex_growth": [0.0, 0.15, 0.0, 0.15],
                       "revenue_growth": 0.5, "existing_year": pd.array([2027, 2029, 2029, 2028], dtype="Int64"),
                       "total_year": pd.array([2027, 2029, 2029, 2028], dtype="Int64")})
    span = dw.coverage_span(sc, "existing_year", {"lives": "f", "run_rate": "r", "capex_growth": 0.15,
                                                   "revenue_growth": 0.5})
    assert (span["earliest"], span["latest"], span["central"]) == (2027, 2029, 2029)
    assert span["latest_case"] == {"lives": "f", "run_rate": "r", "capex_growth": 0.15, "revenue_growth": 0.5}
    assert span["n_not_covered"] == 0


def test_reconciliation_hand_worked():
    """Booked 100 and 50 (run rates 120, 60); model 110 and 40 → +10% and −20%; combined 150 vs 150 → 0%."""
    booked = pd.DataFrame({"ticker": ["A", "B"], "calendar_label": "2026 Q1", "booked_ttm": [100.0, 50.0],
                           "booked_run_rate": [120.0, 60.0]})
    r = dw.reconciliation(booked, {"fitted": {"A": 110.0, "B": 40.0}, "stated": {"A": 200.0}}).set_index("ticker")
    assert_allclose(r.loc[["A", "B", "combined"], "fitted_vs_booked"], [0.1, -0.2, 0.0], atol=1e-12)
    assert_allclose(r.loc["combined", ["booked_ttm", "booked_run_rate", "model_fitted"]].astype(float),
                    [150.0, 180.0, 150.0], atol=1e-12)
    assert np.isnan(r.loc["combined", "model_stated"])  # B lacks a figure: no combined total, not a partial sum
    assert r.loc["combined", "calendar_label"] == "2026 Q1"


# --------------------------------------------------------------------------- on the snapshot

@pytest.fixture(scope="module")
def snapshot_model():
    table, cals = dw.calibration_table(fit_until=2021)
    return table, cals


def test_calibrations_run_longest_history_first(snapshot_model):
    """The hyperscalers (data/universe.csv) are calibrated, in the order of the first year fitted, then ticker:
    AMZN, META, MSFT, ORCL from 2018, GOOGL (its depreciation filed from 2019) last; table and list agree."""
    table, cals = snapshot_model
    assert [c["ticker"] for c in cals] == ["AMZN", "META", "MSFT", "ORCL", "GOOGL"]
    assert table["ticker"].tolist() == [c["ticker"] for c in cals]
    assert [c["fit_years"][:4] for c in cals] == ["2018", "2018", "2018", "2018", "2019"]


def test_alphabet_uses_filed_depreciation_and_facts_only_for_missing_years(snapshot_model):
    """Alphabet: 2021–2025 from the filings' us-gaap Depreciation (as in financials), 2019–2020 from F147, F148."""
    from valuechain_lib.snapshot.financials import financials

    _, cals = snapshot_model
    googl = next(c for c in cals if c["ticker"] == "GOOGL")["inputs"]
    filed = financials("GOOGL", freq="FY", metrics="depreciation").dropna(subset=["value"])
    filed = filed.set_index("fiscal_year")["value"]
    assert googl["da_item"] == "depreciation"
    years = [y for y in googl["reported"].index if y not in dw.DA_FACTS_FILL["GOOGL"]]
    assert years == sorted(int(y) for y in filed.index)
    assert_allclose(googl["reported"].loc[years].to_numpy(), filed.loc[years].to_numpy(), rtol=0)
    assert "F147" in googl["da_source"] and "F148" in googl["da_source"]


def test_snapshot_coverage_range_contains_the_fitted_case(snapshot_model):
    """The fitted central case is one of the scenarios, so its year lies within the range's ends."""
    table, cals = snapshot_model
    years = list(range(2026, 2033))
    run_rates = {"every source": dw.downstream_run_rate()}
    cases = {"fitted lives": {c["ticker"]: c["useful_life"] for c in cals}, "stated server lives": dw.stated_lives(cals)}
    sc = dw.coverage_scenarios(cals, run_rates, years, cases)
    central = {"lives": "fitted lives", "run_rate": "every source", **dw.CENTRAL}
    for col in ("existing_year", "total_year"):
        span = dw.coverage_span(sc, col, central)
        if span["central"] is None:
            assert span["latest"] is None
        else:
            assert span["earliest"] <= span["central"]
            assert span["latest"] is None or span["central"] <= span["latest"]


def test_snapshot_reconciliation_matches_the_booked_figures(snapshot_model):
    """Booked TTM equals the snapshot's calendar TTM on each company's fitted line, all at one calendar quarter."""
    from valuechain_lib.snapshot.financials import financials

    _, cals = snapshot_model
    booked = dw.booked_depreciation(cals)
    assert booked["calendar_label"].nunique() == 1
    year, quarter = (int(x) for x in booked["calendar_label"].iloc[0].split(" Q"))
    for r in booked.itertuples():
        ttm = financials(r.ticker, freq="TTM", calendar=True, metrics=r.da_item)
        value = ttm[(ttm["calendar_year"] == year) & (ttm["calendar_quarter"] == quarter)]["value"].iloc[0]
        assert_allclose(r.booked_ttm, value, rtol=0)
        assert r.booked_run_rate > 0
    model = {"fitted": {c["ticker"]: 1.0 for c in cals}}
    rec = dw.reconciliation(booked, model).set_index("ticker")
    assert_allclose(rec.loc["combined", "booked_ttm"], booked["booked_ttm"].sum(), rtol=1e-12)


def test_projection_through_is_each_company_s_end_of_the_last_common_year():
    """X has calendar investment to 2025 (its year ending 2025-11-30), Y only to 2024: the projection uses
    investment to 2024, so the data run to X's 2024-11-30 and Y's 2024-12-31; with last_year=2023 to 2023's."""
    def cal(ticker, ends):
        ends = {y: pd.Timestamp(e) for y, e in ends.items()}
        return {"ticker": ticker, "inputs": {"calendar_investment": pd.Series(1.0, index=list(ends)),
                                             "calendar_period_ends": pd.Series(ends)}}
    cals = [cal("X", {2023: "2023-11-30", 2024: "2024-11-30", 2025: "2025-11-30"}),
            cal("Y", {2023: "2023-12-31", 2024: "2024-12-31"})]
    assert {t: f"{d:%Y-%m-%d}" for t, d in dw.projection_through(cals).items()} == {
        "X": "2024-11-30", "Y": "2024-12-31"}
    assert f"{dw.projection_through(cals, last_year=2023)['X']:%Y-%m-%d}" == "2023-11-30"
