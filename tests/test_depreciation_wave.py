"""The depreciation-wave model (`valuechain_lib.depreciation_wave`, claim A9).

Hand-worked straight-line vintage schedules under the half-year convention, calibration recovering a
known life on synthetic data, the 10% error flag, and coverage years on synthetic inputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from valuechain_lib import depreciation_wave as dw
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
