"""Metric formulas (`valuechain_lib.calc.metrics`) on tiny hand-worked Series; zero or missing denominators give NaN."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from valuechain_lib import metrics
from valuechain_lib.errors import UnknownMetricError

NAN = np.nan


def _s(*values) -> pd.Series:
    return pd.Series(values, dtype=float)


def _check(got: pd.Series, expected) -> None:
    """Values equal to 1e-12 relative, NaN exactly where expected, and never ±inf."""
    assert not np.isinf(got.to_numpy(dtype=float)).any()
    assert_allclose(got.to_numpy(dtype=float), np.asarray(expected, dtype=float), rtol=1e-12, equal_nan=True)


@pytest.mark.fast
def test_capex_to_ocf():
    """30/60 = 0.5; 5/0 → NaN (not inf); 3/NaN → NaN; 6/−3 = −2 (burning cash)."""
    _check(metrics.get_capex_to_ocf(_s(30, 5, 3, 6), _s(60, 0, NAN, -3)), [0.5, NAN, NAN, -2.0])


@pytest.mark.fast
def test_free_cash_flow():
    """60 − 45 = 15; 10 − 25 = −15; a missing capex gives NaN, not 60."""
    _check(metrics.get_free_cash_flow(_s(60, 10, 60), _s(45, 25, NAN)), [15, -15, NAN])


@pytest.mark.fast
def test_free_cash_flow_after_leases():
    """60 − 45 − 5 = 10; a missing lease payment gives NaN, not 15."""
    _check(metrics.get_free_cash_flow_after_leases(_s(60, 60), _s(45, 45), _s(5, NAN)), [10, NAN])


@pytest.mark.fast
def test_capex_intensity():
    """25/100 = 0.25; revenue 0 → NaN; revenue NaN → NaN."""
    _check(metrics.get_capex_intensity(_s(25, 1, 1), _s(100, 0, NAN)), [0.25, NAN, NAN])


@pytest.mark.fast
def test_gross_margin():
    """75/100 = 0.75; 0/100 = 0 (a zero numerator is a real zero); revenue 0 → NaN."""
    _check(metrics.get_gross_margin(_s(75, 0, 5), _s(100, 100, 0)), [0.75, 0.0, NAN])


@pytest.mark.fast
def test_gross_profit():
    """100 − 40 = 60; a missing cost of revenue gives NaN."""
    _check(metrics.get_gross_profit(_s(100, 100), _s(40, NAN)), [60, NAN])


@pytest.mark.fast
def test_operating_margin():
    """62/100 = 0.62; −10/50 = −0.2; revenue 0 → NaN."""
    _check(metrics.get_operating_margin(_s(62, -10, 3), _s(100, 50, 0)), [0.62, -0.2, NAN])


@pytest.mark.fast
def test_da_to_capex():
    """20/80 = 0.25; capex 0 → NaN; capex NaN → NaN."""
    _check(metrics.get_da_to_capex(_s(20, 20, 20), _s(80, 0, NAN)), [0.25, NAN, NAN])


@pytest.mark.fast
def test_growth_year_over_year():
    """Quarterly [100, 0, 50, 80, 110, 5, 60, 100]: 110/100 − 1 = 0.1, 5/0 → NaN, 60/50 − 1 = 0.2,
    100/80 − 1 = 0.25; the first four have no base (NaN)."""
    got = metrics.get_growth(_s(100, 0, 50, 80, 110, 5, 60, 100))
    _check(got, [NAN, NAN, NAN, NAN, 0.1, NAN, 0.2, 0.25])


@pytest.mark.fast
def test_growth_one_period():
    """periods=1: 10 → 15 is +50%, 15 → 12 is −20%."""
    _check(metrics.get_growth(_s(10, 15, 12), periods=1), [NAN, 0.5, -0.2])


@pytest.mark.fast
def test_ratio_keeps_index():
    """The result is aligned on the inputs' index (periods), not renumbered."""
    idx = pd.Index(["2025Q1", "2025Q2"])
    got = metrics.get_capex_intensity(pd.Series([1.0, 2.0], index=idx), pd.Series([4.0, 8.0], index=idx))
    pd.testing.assert_series_equal(got, pd.Series([0.25, 0.25], index=idx), rtol=1e-12)


@pytest.mark.fast
def test_derived_metrics_table_matches_functions():
    """Every DERIVED_METRICS entry names a get_* function of this module and canonical inputs."""
    for name, (func, inputs) in metrics.DERIVED_METRICS.items():
        assert func is getattr(metrics, f"get_{name}")
        assert all(isinstance(i, str) for i in inputs)


def _tidy(rows) -> pd.DataFrame:
    cols = ["ticker", "metric", "freq", "fiscal_year", "fiscal_period", "period_end", "calendar_year",
            "calendar_quarter", "value"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    frame["calendar_year"] = frame["calendar_year"].astype("Int64")
    frame["calendar_quarter"] = frame["calendar_quarter"].astype("Int64")
    return frame


@pytest.fixture
def tidy():
    """ACME 2024 Q1: capex 30, OCF 60, revenue 100; Q2: capex 5, OCF 0, revenue 50."""
    rows = []
    for fp, end, q, capex, ocf, rev in [("Q1", "2024-03-31", 1, 30.0, 60.0, 100.0),
                                        ("Q2", "2024-06-30", 2, 5.0, 0.0, 50.0)]:
        for metric, value in (("capex", capex), ("operating_cash_flow", ocf), ("revenue", rev)):
            rows.append(("ACME", metric, "Q", 2024, fp, end, 2024, q, value))
    return _tidy(rows)


@pytest.mark.fast
def test_compute_on_tidy_table(tidy):
    """Q1: capex/OCF = 0.5, FCF = 30, capex intensity 0.3; Q2: capex/OCF NaN (OCF 0), FCF = −5, intensity 0.1."""
    wide = tidy.pipe(metrics.compute, ["capex_to_ocf", "free_cash_flow", "capex_intensity"])
    wide = wide.reset_index().sort_values("fiscal_period")
    _check(wide["capex_to_ocf"], [0.5, NAN])
    _check(wide["free_cash_flow"], [30.0, -5.0])
    _check(wide["capex_intensity"], [0.3, 0.1])
    assert {"capex", "operating_cash_flow", "revenue"} <= set(wide.columns)


@pytest.mark.fast
def test_compute_absent_line_item_is_an_error_naming_it(tidy):
    """ACME has no gross_profit rows: gross margin would be NaN everywhere, so compute says why instead."""
    with pytest.raises(metrics.MissingInputError, match=r"'gross_margin' needs 'gross_profit'.*tickers ACME"):
        metrics.compute(tidy, "gross_margin")


@pytest.mark.fast
def test_compute_line_item_absent_for_one_company_is_nan_for_it(tidy):
    """ACME has OCF, BETA has none: ACME's capex/OCF is 0.5 in Q1, BETA's is NaN (not 0), no error."""
    beta = tidy[tidy["metric"] == "capex"].assign(ticker="BETA")
    wide = metrics.compute(pd.concat([tidy, beta], ignore_index=True), "capex_to_ocf").reset_index()
    assert wide.loc[wide["ticker"] == "BETA", "capex_to_ocf"].isna().all()
    _check(wide.loc[(wide["ticker"] == "ACME") & (wide["fiscal_period"] == "Q1"), "capex_to_ocf"], [0.5])


@pytest.mark.fast
def test_compute_fiscal_year_rows_with_missing_calendar_labels():
    """A June-FY company's FY row has no calendar year or quarter (NA); it is still computed: 10/40 = 0.25."""
    rows = [("MSFTX", m, "FY", 2025, "FY", "2025-06-30", pd.NA, pd.NA, v)
            for m, v in (("capex", 10.0), ("operating_cash_flow", 40.0))]
    wide = metrics.compute(_tidy(rows), "capex_to_ocf")
    _check(wide["capex_to_ocf"], [0.25])


@pytest.mark.fast
def test_compute_unknown_metric_raises(tidy):
    """An unknown derived metric raises UnknownMetricError naming it."""
    with pytest.raises(UnknownMetricError, match="ebitda_margin"):
        metrics.compute(tidy, ["capex_to_ocf", "ebitda_margin"])


def test_line_items_on_chosen_keys_keeps_columns_that_come_along():
    """Keyed by ticker and calendar quarter, with the label carried as a key: A has revenue 10 and capex 4,
    B revenue 7 and no capex (NaN, never 0); a row with no value at all is dropped unless kept."""
    tidy = pd.DataFrame({"ticker": ["A", "A", "B", "C"], "calendar_quarter": 1, "calendar_label": "2026 Q1",
                         "metric": ["revenue", "capex", "revenue", "revenue"], "value": [10.0, 4.0, 7.0, np.nan]})
    keys = ["ticker", "calendar_quarter", "calendar_label"]
    wide = metrics.line_items(tidy, ["revenue", "capex"], keys=keys)
    assert wide.index.names == keys and list(wide.columns) == ["revenue", "capex"]
    assert wide.loc[("A", 1, "2026 Q1")].tolist() == [10.0, 4.0]
    assert np.isnan(wide.loc[("B", 1, "2026 Q1"), "capex"]) and "C" not in wide.index.get_level_values(0)
    kept = metrics.line_items(tidy, ["revenue", "capex"], keys=keys, keep_empty=True)
    assert kept.loc[("C", 1, "2026 Q1")].isna().all()
