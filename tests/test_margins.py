"""Margins by company and the profit pool by layer (`valuechain_lib.margins`, claims A3, A8).

`complete_panel` on a hand-made calendar table; `layer_pool` and `company_margins` on the
committed snapshot, checked against figures computed here from `financials`; the two verdicts on
synthetic inputs on either side of their rules.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from valuechain_lib.financials import financials
from valuechain_lib.margins import (
    company_margins,
    complete_panel,
    hourglass_verdict,
    layer_pool,
    nvidia_verdict,
)
from valuechain_lib.paths import DEFAULT_DATA_DIR

pytestmark = pytest.mark.fast



def _committed(fn, *args, **kwargs):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VALUECHAIN_DATA", str(DEFAULT_DATA_DIR))
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def pool_and_excluded():
    return _committed(layer_pool, since_year=2021)


@pytest.fixture(scope="module")
def ttm() -> pd.DataFrame:
    """Revenue and operating income, TTM by calendar quarter, wide: (ticker, year, quarter) x metric."""
    table = _committed(financials, freq="TTM", calendar=True, metrics=["revenue", "operating_income"])
    return table.set_index(["ticker", "calendar_year", "calendar_quarter", "metric"])["value"].unstack("metric")


@pytest.fixture(scope="module")
def margins() -> pd.DataFrame:
    return _committed(company_margins, since_year=2021)


# --------------------------------------------------------------------------- complete_panel
def _panel(spec: dict[str, list[tuple[int, int]]], metrics=("revenue", "operating_income"),
           drop: dict | None = None) -> pd.DataFrame:
    """Rows for each ticker, quarter and metric (value 1.0); ``drop`` = {ticker: (metric, year, q)} set to NaN."""
    rows = []
    for ticker, quarters in spec.items():
        for year, q in quarters:
            for metric in metrics:
                value = np.nan if drop and drop.get(ticker) == (metric, year, q) else 1.0
                rows.append({"ticker": ticker, "metric": metric, "calendar_year": year, "calendar_quarter": q,
                             "value": value})
    frame = pd.DataFrame(rows)
    frame["calendar_year"] = frame["calendar_year"].astype("Int64")
    frame["calendar_quarter"] = frame["calendar_quarter"].astype("Int64")
    return frame


Q2024 = [(2024, q) for q in (1, 2, 3, 4)]


def test_complete_panel_excludes_company_missing_one_quarter_with_reason():
    """A, B, C cover 2024 Q1–Q4; C's operating_income 2024 Q3 is NaN → C excluded with
    'operating_income lacks 1 of 4 quarters (first gap 2024 Q3)'; A, B kept."""
    table = _panel({"A": Q2024, "B": Q2024, "C": Q2024}, drop={"C": ("operating_income", 2024, 3)})
    kept, excluded = complete_panel(table, ["revenue", "operating_income"], since_year=2024)
    assert kept == ["A", "B"]
    assert excluded == {"C": "operating_income lacks 1 of 4 quarters (first gap 2024 Q3)"}


def test_complete_panel_missing_row_counts_like_nan():
    """D has no 2024 Q2 row at all: 'revenue lacks 1 of 4 …' and 'operating_income lacks 1 of 4 …',
    both naming 2024 Q2."""
    table = _panel({"A": Q2024, "B": Q2024, "D": [(2024, 1), (2024, 3), (2024, 4)]})
    kept, excluded = complete_panel(table, ["revenue", "operating_income"], since_year=2024)
    assert kept == ["A", "B"]
    assert excluded["D"] == ("revenue lacks 1 of 4 quarters (first gap 2024 Q2); "
                             "operating_income lacks 1 of 4 quarters (first gap 2024 Q2)")


def test_complete_panel_default_end_is_the_quarter_most_companies_reach():
    """A and B reach 2025 Q1, C stops at 2024 Q4: the window ends 2025 Q1 (mode), so C lacks
    1 of 5 quarters (first gap 2025 Q1); rows before since_year are ignored."""
    longer = [(2023, 4), *Q2024, (2025, 1)]
    table = _panel({"A": longer, "B": longer, "C": Q2024})
    kept, excluded = complete_panel(table, ["revenue"], since_year=2024)
    assert kept == ["A", "B"]
    assert excluded == {"C": "revenue lacks 1 of 5 quarters (first gap 2025 Q1)"}


def test_complete_panel_until_is_respected():
    """Same table with until=(2024, 4): the window is 2024 Q1–Q4, C is complete and kept;
    A and B's 2025 Q1 rows beyond the window do not matter."""
    longer = [*Q2024, (2025, 1)]
    table = _panel({"A": longer, "B": longer, "C": Q2024})
    kept, excluded = complete_panel(table, ["revenue"], since_year=2024, until=(2024, 4))
    assert kept == ["A", "B", "C"]
    assert excluded == {}
    # until earlier still: a gap after it is outside the window
    table = _panel({"A": Q2024, "B": Q2024}, drop={"B": ("revenue", 2024, 4)})
    kept, excluded = complete_panel(table, ["revenue"], since_year=2024, until=(2024, 3))
    assert kept == ["A", "B"] and excluded == {}


def test_complete_panel_reason_names_the_metric_and_count():
    """E lacks revenue in 2024 Q1 and Q2 → 'revenue lacks 2 of 4 quarters (first gap 2024 Q1)'."""
    rows = _panel({"A": Q2024, "E": Q2024})
    rows.loc[(rows["ticker"] == "E") & (rows["metric"] == "revenue") & (rows["calendar_quarter"] <= 2),
             "value"] = np.nan
    _, excluded = complete_panel(rows, ["revenue", "operating_income"], since_year=2024)
    assert excluded == {"E": "revenue lacks 2 of 4 quarters (first gap 2024 Q1)"}


# --------------------------------------------------------------------------- layer_pool on the snapshot
def test_layer_pool_margin_is_pooled_sum_over_listed_companies(pool_and_excluded, ttm):
    """For every layer and quarter, revenue = Σ revenue, operating_income = Σ OI over the listed
    companies' TTM values from `financials`, and operating_margin = ΣOI / Σrevenue (rtol 1e-12)."""
    pool, _ = pool_and_excluded
    assert set(pool["layer"]) == {"upstream", "midstream", "downstream"}
    for _, row in pool.iterrows():
        companies = row["companies"].split(", ")
        keys = [(t, row["calendar_year"], row["calendar_quarter"]) for t in companies]
        rev = sum(ttm.loc[k, "revenue"] for k in keys)
        oi = sum(ttm.loc[k, "operating_income"] for k in keys)
        where = f"{row['layer']} {row['calendar_year']} Q{row['calendar_quarter']}"
        assert_allclose(row["revenue"], rev, rtol=1e-12, err_msg=where)
        assert_allclose(row["operating_income"], oi, rtol=1e-12, err_msg=where)
        assert_allclose(row["operating_margin"], oi / rev, rtol=1e-12, err_msg=where)


def test_layer_pool_latest_midstream_hand_check(pool_and_excluded, ttm):
    """Latest midstream quarter: margin = (OI_AMZN+…+OI_ORCL)/(rev_AMZN+…+rev_ORCL) for the five
    hyperscalers (CRWV, incomplete, and NBIS, no SEC data, are not pooled)."""
    pool, excluded = pool_and_excluded
    mid = pool[pool["layer"] == "midstream"].iloc[-1]
    assert mid["companies"] == "AMZN, GOOGL, META, MSFT, ORCL"
    y, q = mid["calendar_year"], mid["calendar_quarter"]
    five = ["AMZN", "GOOGL", "META", "MSFT", "ORCL"]
    expected = (sum(ttm.loc[(t, y, q), "operating_income"] for t in five)
                / sum(ttm.loc[(t, y, q), "revenue"] for t in five))
    assert_allclose(mid["operating_margin"], expected, rtol=1e-12)
    assert "CRWV" in excluded and "revenue lacks" in excluded["CRWV"]


def test_layer_pool_excludes_tsm_for_currency(pool_and_excluded):
    """TSM reports in TWD: excluded with the reason naming TWD, and never in a layer's companies."""
    pool, excluded = pool_and_excluded
    assert excluded["TSM"] == "reports in TWD (no exchange rate applied)"
    assert not pool["companies"].str.contains("TSM").any()


def test_layer_pool_fixed_panel_no_nan_and_same_quarters(pool_and_excluded):
    """A fixed panel: no NaN sums, each layer's companies constant, every layer over the same quarters
    from 2021 Q1, quarter_end the calendar quarter's last day."""
    pool, _ = pool_and_excluded
    assert pool[["revenue", "operating_income", "operating_margin"]].notna().all().all()
    assert (pool.groupby("layer")["companies"].nunique() == 1).all()
    ends = pool.groupby("layer")["quarter_end"].agg(lambda s: tuple(sorted(s)))
    assert ends.nunique() == 1
    assert pool["quarter_end"].min() == pd.Timestamp("2021-03-31")
    expected_end = pd.PeriodIndex.from_fields(year=pool["calendar_year"].astype(int),
                                              quarter=pool["calendar_quarter"].astype(int),
                                              freq="Q").to_timestamp(how="end").normalize()
    assert (pool["quarter_end"].to_numpy() == expected_end.to_numpy()).all()


# --------------------------------------------------------------------------- company_margins
def test_gross_profit_basis_meta_computed(margins):
    """META reports cost of revenue but no gross-profit line: gross_profit = revenue − cost of revenue,
    basis 'computed: revenue − cost of revenue', for every quarter; values match `financials`."""
    meta = margins[margins["ticker"] == "META"]
    assert len(meta) > 10
    assert (meta["gross_profit_basis"] == "computed: revenue − cost of revenue").all()
    raw = _committed(financials, "META", freq="TTM", calendar=True, metrics=["revenue", "cost_of_revenue"])
    wide = raw.set_index(["calendar_year", "calendar_quarter", "metric"])["value"].unstack("metric")
    got = meta.set_index(["calendar_year", "calendar_quarter"])
    want = wide.loc[got.index]
    assert_allclose(got["gross_profit"], want["revenue"] - want["cost_of_revenue"], rtol=1e-12)
    assert_allclose(got["gross_margin"], 1 - want["cost_of_revenue"] / want["revenue"], rtol=1e-12)


def test_gross_profit_basis_nvda_reported(margins):
    """NVDA reports a gross-profit line: basis 'reported', gross_profit equal to the reported TTM."""
    nvda = margins[margins["ticker"] == "NVDA"]
    assert (nvda["gross_profit_basis"] == "reported").all()
    raw = _committed(financials, "NVDA", freq="TTM", calendar=True, metrics=["gross_profit"])
    reported = raw.set_index(["calendar_year", "calendar_quarter"])["value"]
    got = nvda.set_index(["calendar_year", "calendar_quarter"])["gross_profit"]
    assert_allclose(got, reported.loc[got.index], rtol=1e-12)


def test_gross_profit_basis_orcl_missing(margins):
    """ORCL has neither a gross-profit nor a cost-of-revenue line (after fiscal 2018): basis 'missing',
    gross profit and gross margin NaN, operating margin still computed."""
    orcl = margins[margins["ticker"] == "ORCL"]
    assert len(orcl) > 10
    assert (orcl["gross_profit_basis"] == "missing").all()
    assert orcl["gross_profit"].isna().all() and orcl["gross_margin"].isna().all()
    assert orcl["operating_margin"].notna().all()


def test_company_operating_margin_is_oi_over_revenue(margins, ttm):
    """operating_margin = operating_income / revenue, revenue and OI equal to `financials` TTM."""
    assert_allclose(margins["operating_margin"], margins["operating_income"] / margins["revenue"], rtol=1e-12)
    keys = list(zip(margins["ticker"], margins["calendar_year"], margins["calendar_quarter"], strict=True))
    assert_allclose(margins["revenue"].to_numpy(), ttm.loc[keys, "revenue"].to_numpy(), rtol=1e-12)


# --------------------------------------------------------------------------- verdicts
def _pool(up: float, mid: float, down: float) -> pd.DataFrame:
    """Two quarters; only the latest (2026-03-31) decides. The earlier one has the opposite shape."""
    rows = []
    for end, margins_ in ((pd.Timestamp("2025-12-31"), (0.1, 0.9, 0.1)), (pd.Timestamp("2026-03-31"), (up, mid, down))):
        for layer, m in zip(("upstream", "midstream", "downstream"), margins_, strict=True):
            rows.append({"layer": layer, "quarter_end": end, "operating_margin": m})
    return pd.DataFrame(rows)


def test_hourglass_verdict_supported_mixed_not_supported():
    """Midstream 0.27 vs up 0.47 / down 0.30 → below both: supported; vs down 0.25 → below one:
    mixed; midstream 0.50 → above both: not supported."""
    assert hourglass_verdict(_pool(0.47, 0.27, 0.30)).startswith("**Verdict on A8: supported.**")
    assert hourglass_verdict(_pool(0.47, 0.27, 0.25)).startswith("**Verdict on A8: mixed.**")
    assert hourglass_verdict(_pool(0.20, 0.27, 0.30)).startswith("**Verdict on A8: mixed.**")
    assert hourglass_verdict(_pool(0.47, 0.50, 0.30)).startswith("**Verdict on A8: not supported.**")


def test_hourglass_verdict_sentence_numbers():
    """0.47 / 0.27 / 0.25 in the twelve months to 2026-03-31 → '47% upstream, 27% in the middle and 25%
    downstream'."""
    text = hourglass_verdict(_pool(0.47, 0.27, 0.25))
    assert "in the twelve months to 2026-03-31" in text
    assert "47% upstream, 27% in the middle and 25% downstream." in text


def _nvda(latest: float, peak: float = 0.66) -> pd.DataFrame:
    ends = pd.date_range("2025-06-30", periods=3, freq="QE")
    return pd.DataFrame({"ticker": ["NVDA"] * 3 + ["AMD"], "quarter_end": [*ends, ends[-1]],
                         "period_end": [*(ends - pd.Timedelta(days=4)), ends[-1]],
                         "fiscal_label": ["FY2026 Q2", "FY2026 Q3", "FY2026 Q4", "FY2025 Q4"],
                         "operating_margin": [0.50, peak, latest, 0.95]})


def test_nvidia_verdict_flips_across_tolerance():
    """Claimed 0.70 ± 0.05: latest 0.66 (|−0.04| ≤ 0.05) → supported; 0.64 (|−0.06|) → not supported;
    0.76 → not supported; AMD's 0.95 is ignored."""
    assert nvidia_verdict(_nvda(0.66), claimed=0.70, tolerance=0.05).status == "supported"
    assert nvidia_verdict(_nvda(0.64), claimed=0.70, tolerance=0.05).status == "not supported"
    assert nvidia_verdict(_nvda(0.76), claimed=0.70, tolerance=0.05).status == "not supported"


def test_nvidia_verdict_distance_to_flip_is_to_the_nearer_band_edge():
    """0.64 against 0.70 ± 0.05: 1 point below the 0.65 edge; 0.72: inside, 3 points from the 0.75 edge."""
    below = nvidia_verdict(_nvda(0.64), claimed=0.70, tolerance=0.05)
    assert below.threshold == pytest.approx(0.65)
    assert below.distance_to_flip == pytest.approx(0.01)
    inside = nvidia_verdict(_nvda(0.72), claimed=0.70, tolerance=0.05)
    assert inside.threshold == pytest.approx(0.75)
    assert inside.distance_to_flip == pytest.approx(0.03)


def test_nvidia_verdict_tolerance_boundary_is_symmetric():
    """'Within 0.05 of 0.70' includes both ends: 0.65 and 0.75 are each exactly 5 points away, so
    both are supported (in floats |0.75 − 0.70| = 0.050000000000000044 and |0.65 − 0.70| =
    0.04999999999999993, so a bare ``<=`` treats the two ends differently)."""
    assert nvidia_verdict(_nvda(0.65), claimed=0.70, tolerance=0.05).status == "supported"
    assert nvidia_verdict(_nvda(0.75), claimed=0.70, tolerance=0.05).status == "supported"


def test_nvidia_verdict_sentence_numbers():
    """Latest 0.64 in FY2026 Q4 (ended 2025-12-27), peak 0.66 in FY2026 Q3 → '64.0%', 'about 70%',
    '±5 points', 'peak in the data was 66.0%, in FY2026 Q3'."""
    text = nvidia_verdict(_nvda(0.64, peak=0.66)).summary
    assert "twelve months to its FY2026 Q4 (ended 2025-12-27) was 64.0%" in text
    assert "the essay says about 70% and the rule allows ±5 points" in text
    assert "Its trailing peak in the data was 66.0%, in FY2026 Q3." in text


def test_verdicts_on_snapshot_follow_rules(pool_and_excluded, margins):
    """On the snapshot, both verdicts' statuses follow their rules applied by hand."""
    pool, _ = pool_and_excluded
    latest = pool[pool["quarter_end"] == pool["quarter_end"].max()].set_index("layer")["operating_margin"]
    below = int(latest["midstream"] < latest["upstream"]) + int(latest["midstream"] < latest["downstream"])
    status = {2: "supported", 1: "mixed", 0: "not supported"}[below]
    assert hourglass_verdict(pool).startswith(f"**Verdict on A8: {status}.**")
    nvda = margins[margins["ticker"] == "NVDA"].sort_values("quarter_end").iloc[-1]
    status = "supported" if abs(nvda["operating_margin"] - 0.70) <= 0.05 else "not supported"
    verdict = nvidia_verdict(margins)
    assert verdict.status == status
    assert f"was {nvda['operating_margin']:.1%}" in verdict.summary


@pytest.mark.fast
def test_pooled_tickers_lists_each_company_once():
    from valuechain_lib.margins import pooled_tickers

    pool = pd.DataFrame({"companies": ["AMD, NVDA", "AMD, NVDA", "MSFT", None]})
    assert pooled_tickers(pool) == ["AMD", "MSFT", "NVDA"]
