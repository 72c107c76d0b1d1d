"""Margins by company, the profit pool by layer and the hourglass (`valuechain_lib.analyses.hourglass`, claims A3, A8).

`complete_panel`, `common_window` and `model_owner_figures` on hand-made tables; `layer_pool`,
`company_margins` and `hourglass` on the committed snapshot and facts table, checked against figures
summed here from `financials` and `facts`; the two verdicts on synthetic inputs on either side of
every threshold of their rules; the line-end label helpers on hand-worked positions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from valuechain_lib import facts as facts_module
from valuechain_lib.analyses.hourglass import (
    common_quarter_margins,
    common_window,
    company_margins,
    complete_panel,
    hourglass,
    hourglass_verdict,
    layer_pool,
    model_owner_figures,
    nvidia_verdict,
    segment_companies,
    verdict_a8,
)
from valuechain_lib.errors import ValueChainError
from valuechain_lib.paths import DEFAULT_DATA_DIR
from valuechain_lib.publish.book import company_colors
from valuechain_lib.snapshot.financials import financials
from valuechain_lib.snapshot.vintage import as_of

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


def test_nvidia_verdict_on_snapshot_follows_rule(margins):
    """On the snapshot, A3's status follows its rule applied by hand (A8: `test_verdict_a8_on_snapshot_follows_rule_by_hand`)."""
    nvda = margins[margins["ticker"] == "NVDA"].sort_values("quarter_end").iloc[-1]
    status = "supported" if abs(nvda["operating_margin"] - 0.70) <= 0.05 else "not supported"
    verdict = nvidia_verdict(margins)
    assert verdict.status == status
    assert f"was {nvda['operating_margin']:.1%}" in verdict.summary


@pytest.mark.fast
def test_pooled_tickers_lists_each_company_once():
    from valuechain_lib.analyses.hourglass import pooled_tickers

    pool = pd.DataFrame({"companies": ["AMD, NVDA", "AMD, NVDA", "MSFT", None]})
    assert pooled_tickers(pool) == ["AMD", "MSFT", "NVDA"]


def test_common_quarter_margins_uses_the_quarter_most_companies_reached():
    """A and B reach 2026 Q1, C reaches 2026 Q2: the headline quarter is 2026 Q1 for all, so C's
    higher 2026 Q2 margin (0.9) is not compared; within 2026 Q1, B (0.5) comes before C (0.4) and A (0.3)."""
    q1, q2 = pd.Timestamp("2026-03-31"), pd.Timestamp("2026-06-30")
    frame = pd.DataFrame({"ticker": ["A", "B", "C", "C"], "quarter_end": [q1, q1, q1, q2],
                          "operating_margin": [0.3, 0.5, 0.4, 0.9]})
    got = common_quarter_margins(frame)
    assert got["ticker"].tolist() == ["B", "C", "A"]
    assert (got["quarter_end"] == q1).all()


# --------------------------------------------------------------------------- A8: the hourglass
def _quarters(spec: dict[str, list[str]]) -> pd.DataFrame:
    """Segment rows: {segment: [quarter ends]}."""
    return pd.DataFrame([{"segment": seg, "quarter_end": pd.Timestamp(end)} for seg, ends in spec.items()
                         for end in ends])


def test_common_window_latest_quarter_with_enough_segments_and_run_back():
    """S1 has 2025 Q2–2026 Q2, S2 2025 Q3–2026 Q1, S3 only 2025 Q1; last_end 2026 Q2, two segments
    needed: 2026 Q2 has only S1, so the end is 2026 Q1 (S1, S2) and the window runs back to 2025 Q3,
    where S2 starts (three quarters)."""
    table = _quarters({"S1": ["2025-06-30", "2025-09-30", "2025-12-31", "2026-03-31", "2026-06-30"],
                       "S2": ["2025-09-30", "2025-12-31", "2026-03-31"], "S3": ["2025-03-31"]})
    segments, window = common_window(table, "2026-06-30", min_segments=2, max_quarters=4)
    assert segments == ["S1", "S2"]
    assert window == list(pd.to_datetime(["2025-09-30", "2025-12-31", "2026-03-31"]))


def test_common_window_respects_last_end_and_max_quarters():
    """Both segments have 2024 Q1–2026 Q2; last_end 2026 Q1 and max 4 → 2025 Q2–2026 Q1; with one
    segment allowed and max 2 → 2025 Q4–2026 Q1."""
    ends = [str(d.date()) for d in pd.date_range("2024-03-31", "2026-06-30", freq="QE")]
    table = _quarters({"S1": ends, "S2": ends})
    _, window = common_window(table, "2026-03-31", min_segments=2, max_quarters=4)
    assert window == list(pd.to_datetime(["2025-06-30", "2025-09-30", "2025-12-31", "2026-03-31"]))
    _, window = common_window(table, "2026-03-31", min_segments=1, max_quarters=2)
    assert window == list(pd.to_datetime(["2025-12-31", "2026-03-31"]))


def test_common_window_raises_when_no_quarter_has_enough_segments():
    """S1 and S2 never share a quarter: with two segments needed, no window → ValueChainError
    naming the last date allowed."""
    table = _quarters({"S1": ["2025-03-31"], "S2": ["2025-06-30"]})
    with pytest.raises(ValueChainError, match="2025-06-30"):
        common_window(table, "2025-06-30", min_segments=2)


def _layers(bottom: float, middle: float, top: float) -> pd.DataFrame:
    """Hand-made `Hourglass.layers`: three ends and one row beside (which must not count)."""
    rows = [("chips", "bottom", bottom, "A, B"), ("cloud", "middle", middle, "S1, S2"),
            ("model_owners", "top", top, "X, Y"), ("midstream_consolidated", "beside", 0.99, "A")]
    return pd.DataFrame([{"group": g, "role": r, "label": g, "operating_margin": m, "members": who,
                          "basis": "test", "confidence": "medium", "period": "2025 Q3–2026 Q1 (3 quarters)"}
                         for g, r, m, who in rows])


def test_hourglass_verdict_flips_across_each_end():
    """Ends 0.45 (bottom) and 0.35 (top): middle 0.30 → below both, supported, 5 points from the
    nearer end (top, threshold 0.35); middle 0.40 (crossed the top) → mixed, 5 points from either;
    middle 0.50 (crossed the bottom too) → not supported, 5 points above the bottom (threshold 0.45).
    The row beside at 0.99 never counts."""
    v = hourglass_verdict(_layers(0.45, 0.30, 0.35))
    assert v.status == "supported"
    assert v.measured == pytest.approx(0.30) and v.threshold == pytest.approx(0.35)
    assert v.distance_to_flip == pytest.approx(0.05)
    assert "makes it mixed" in v.flip
    v = hourglass_verdict(_layers(0.45, 0.40, 0.35))
    assert v.status == "mixed" and v.distance_to_flip == pytest.approx(0.05)
    v = hourglass_verdict(_layers(0.45, 0.50, 0.35))
    assert v.status == "not supported"
    assert v.threshold == pytest.approx(0.45) and v.distance_to_flip == pytest.approx(0.05)


def test_hourglass_verdict_mixed_when_below_the_bottom_only():
    """Bottom 0.49, top 0.20, middle 0.34: below the bottom, above the top → mixed; the binding end
    is the top (14 points away, a fall below 0.20 makes it supported)."""
    v = hourglass_verdict(_layers(0.49, 0.34, 0.20))
    assert v.status == "mixed"
    assert v.threshold == pytest.approx(0.20) and v.distance_to_flip == pytest.approx(0.14)
    assert "makes it supported" in v.flip
    assert v.numbers["cloud_minus_chips"] == pytest.approx(-0.15)
    assert v.numbers["cloud_minus_model_owners"] == pytest.approx(0.14)


def test_hourglass_verdict_without_the_top_compares_the_bottom_only():
    """Model owners' margin NaN: middle 0.337 below the bottom 0.491 → mixed (at best), threshold the
    bottom, distance 0.154, and the summary says the top could not be measured; middle 0.60 above the
    bottom → not supported."""
    v = hourglass_verdict(_layers(0.491, 0.337, np.nan))
    assert v.status == "mixed"
    assert v.threshold == pytest.approx(0.491) and v.distance_to_flip == pytest.approx(0.154)
    assert "model owners' margin cannot be measured" in v.summary
    assert "no profit or loss for X or Y" in v.summary
    assert "cloud_minus_model_owners" not in v.numbers
    assert hourglass_verdict(_layers(0.491, 0.60, np.nan)).status == "not supported"


def test_hourglass_verdict_sentence_numbers():
    """Bottom 0.491, middle 0.337 → '33.7% (S1, S2)', 'against 49.1% (A, B)', the window named,
    and the context row's 99.0% reported but not compared."""
    text = hourglass_verdict(_layers(0.491, 0.337, np.nan)).summary
    assert text.startswith("Over calendar 2025 Q3–2026 Q1 (3 quarters), the cloud segments pooled earned an "
                           "operating margin of 33.7% (S1, S2), against 49.1% (A, B)")
    assert "midstream_consolidated 99.0%" in text


def _fact(**kw) -> dict:
    row = {c: "" for c in facts_module.COLUMNS}
    row.update({"unit": "USD billion", "kind": "press report", "confidence": "medium", "publisher": "P",
                "as_of": pd.Timestamp("2026-01-01")})
    row.update(kw)
    return row


def test_model_owner_figures_run_rate_and_margin_from_cited_rows():
    """X: run rates 10 (2025) and 20 (2026) → latest 20; revenue 4.3 and operating loss 7.8 for
    2025-H1 → margin −7.8/4.3. Y: a stated operating margin of 5 percent → 0.05. Z: a run rate only →
    margin NaN. Rows of other metrics (compute, GW) are ignored."""
    rows = pd.DataFrame([
        _fact(fact_id="1", entity="X", metric="Annualized revenue run rate", value=10.0,
              as_of=pd.Timestamp("2025-06-30")),
        _fact(fact_id="2", entity="X", metric="Run-rate revenue", value=20.0, as_of=pd.Timestamp("2026-03-31")),
        _fact(fact_id="3", entity="X", metric="revenue", value=4.3, period="2025-H1"),
        _fact(fact_id="4", entity="X", metric="operating loss", value=7.8, period="2025-H1"),
        _fact(fact_id="5", entity="X", metric="Compute capacity", value=1.9, unit="GW"),
        _fact(fact_id="6", entity="Y", metric="operating margin", value=5.0, unit="percent", period="2026-Q2"),
        _fact(fact_id="7", entity="Z", metric="ARR", value=3.0),
    ])
    got = model_owner_figures(rows, owners=("X", "Y", "Z")).set_index("owner")
    assert got.loc["X", "run_rate"] == 20.0 and got.loc["X", "run_rate_fact"] == "2"
    assert got.loc["X", "margin"] == pytest.approx(-7.8 / 4.3)
    assert got.loc["X", "margin_facts"] == "3, 4"
    assert "press report, medium confidence" in got.loc["X", "run_rate_label"]
    assert got.loc["Y", "margin"] == pytest.approx(0.05) and np.isnan(got.loc["Y", "run_rate"])
    assert np.isnan(got.loc["Z", "margin"]) and got.loc["Z", "run_rate"] == 3.0


@pytest.fixture(scope="module")
def hourglass_now():
    return _committed(hourglass, since_year=2021)


def _facts_sum(segment: str, quarters) -> tuple[float, float]:
    """Segment revenue and operating income (USD) summed over quarters, straight from `facts.segment_series`."""
    rev_metric, oi_metric = facts_module.SEGMENT_MARGIN_PAIRS[segment]
    rev = facts_module.segment_series(segment, rev_metric).set_index("period_end")["value"]
    oi = facts_module.segment_series(segment, oi_metric).set_index("period_end")["value"]
    return rev.loc[quarters].sum() * 1e6, oi.loc[quarters].sum() * 1e6


def test_hourglass_cloud_pool_is_sum_of_segment_facts(hourglass_now):
    """Cloud margin = Σ segment operating income / Σ segment revenue over the window's quarters, each
    read from the facts table (AWS and Google Cloud report on calendar quarter ends), rtol 1e-12;
    the chip suppliers' margin = Σ upstream quarterly OI / Σ revenue over the same quarters."""
    hg = hourglass_now
    ends = hg.layers.set_index("group")
    rev = oi = 0.0
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VALUECHAIN_DATA", str(DEFAULT_DATA_DIR))
        for segment in ends.loc["cloud", "members"].split(", "):
            r, o = _facts_sum(segment, hg.quarters)
            rev, oi = rev + r, oi + o
        chips = ends.loc["chips", "members"].split(", ")
        q = financials(chips, freq="Q", calendar=True, metrics=["revenue", "operating_income"])
    assert_allclose(ends.loc["cloud", "operating_margin"], oi / rev, rtol=1e-12)
    q = q.assign(quarter_end=pd.PeriodIndex.from_fields(year=q["calendar_year"].astype(int),
                                                       quarter=q["calendar_quarter"].astype(int), freq="Q")
                 .to_timestamp(how="end").normalize())
    q = q[q["quarter_end"].isin(hg.quarters)].pivot_table(index="ticker", columns="metric", values="value",
                                                          aggfunc="sum")
    assert_allclose(ends.loc["chips", "operating_margin"],
                    q["operating_income"].sum() / q["revenue"].sum(), rtol=1e-12)


def test_hourglass_window_is_consecutive_and_not_after_the_chip_pool(hourglass_now):
    """The window is 1–4 consecutive calendar quarter ends, ending no later than the last quarter of
    the upstream `layer_pool`; every pooled segment has both figures in each of them."""
    hg = hourglass_now
    assert 1 <= len(hg.quarters) <= 4
    steps = pd.Series(hg.quarters).diff().dropna().dt.days
    assert steps.between(89, 92).all()
    pool, _ = _committed(layer_pool, since_year=2021, freq="Q")
    assert hg.quarters[-1] <= pool["quarter_end"].max()
    assert set(hg.segments["segment"]) == set(hg.layers.set_index("group").loc["cloud", "members"].split(", "))
    groups = hg.layers.set_index("group")
    if "cloud_latest" in groups.index:  # the facts table runs beyond the filings: shown beside, its period named
        assert groups.loc["cloud_latest", "role"] == "beside"
        assert groups.loc["cloud_latest", "period"] != groups.loc["cloud", "period"]


def test_hourglass_set_aside_pool_replaces_companies_by_segments_and_leaves_meta_out(hourglass_now):
    """The set-aside view lists each pooled segment as '(segment)', never its parent company or META,
    and Oracle whole with its cloud share stated; Oracle's cloud is named as not pooled."""
    hg = hourglass_now
    row = hg.layers.set_index("group").loc["cloud_set_aside"]
    members = row["members"].split(", ")
    for segment, company in (("AWS", "AMZN"), ("Google Cloud", "GOOGL")):
        if segment in set(hg.segments["segment"]):
            assert f"{segment} (segment)" in members and f"{company} (consolidated)" not in members
    assert not any(m.startswith("META") for m in members)
    assert "ORCL (consolidated)" in members and "Oracle whole: cloud was" in row["basis"]
    assert "Oracle cloud" in hg.not_pooled


def test_verdict_a8_on_snapshot_follows_rule_by_hand(hourglass_now):
    """Today's A8 verdict: status from counting the measured ends the cloud margin is below, measured
    = the cloud margin, distance = gap to the nearest measured end."""
    ends = hourglass_now.layers.set_index("group")["operating_margin"]
    measured = [m for m in (ends["chips"], ends["model_owners"]) if not np.isnan(m)]
    status = {2: "supported", 1: "mixed", 0: "not supported"}[sum(ends["cloud"] < m for m in measured)]
    v = _committed(verdict_a8)
    assert v.status == status
    assert v.measured == pytest.approx(ends["cloud"])
    assert v.distance_to_flip == pytest.approx(min(abs(ends["cloud"] - m) for m in measured))
    assert "(AWS" in v.data_through or "Google Cloud)" in v.data_through


def test_verdict_a8_at_essay_date_uses_only_data_published_by_then():
    """Under as_of('2025-11-30') the window ends by 2025-09-30 (nothing later was filed) and the
    verdict is still a scored status, not an error."""
    with as_of("2025-11-30"):
        hg = _committed(hourglass, since_year=2021)
        v = _committed(verdict_a8)
    assert hg.quarters[-1] <= pd.Timestamp("2025-09-30")
    assert v.status in ("supported", "mixed", "not supported")
    assert hg.layers.set_index("group").loc["cloud", "period"] in v.summary


def test_every_segment_maps_to_a_company_with_a_colour():
    """Each segment the facts table has margins for (facts.SEGMENT_MARGIN_PAIRS) takes a universe company's colour."""
    assert set(facts_module.SEGMENT_MARGIN_PAIRS) == set(segment_companies())
    colours = _committed(company_colors)
    assert all(ticker in colours for ticker in segment_companies().values())


# --------------------------------------------------------------------------- what the charts' data cover
def test_mark_after_snapshot_flags_only_later_periods():
    """AMZN filed to 2026-03-31: its 2026-06-30 point is after the snapshot, 2026-03-31 is not; GOOGL filed to
    2026-06-30: its 2026-06-30 point is not; a company with no filed quarter is never flagged."""
    from valuechain_lib.analyses.hourglass import mark_after_snapshot
    from valuechain_lib.snapshot.reported_after import LABEL

    rows = pd.DataFrame({"period_end": pd.to_datetime(["2026-03-31", "2026-06-30", "2026-06-30", "2026-06-30"])})
    company = pd.Series(["AMZN", "AMZN", "GOOGL", "XYZ"])
    out = mark_after_snapshot(rows, company, {"AMZN": pd.Timestamp("2026-03-31"),
                                              "GOOGL": pd.Timestamp("2026-06-30")})
    assert out["after_snapshot"].tolist() == [False, True, False, False]
    assert out["series"].tolist() == ["facts table", LABEL, "facts table", "facts table"]


def test_segment_points_mark_aws_second_quarter_2026_only():
    """AWS 2026-Q2 (F185a/b) ends after Amazon's last filed quarter (2026-03-31) and is marked; Google Cloud's
    2026-Q2 (F199a/b) comes from the 10-Q for the quarter to 2026-06-30, which the snapshot files, so it is not."""
    from valuechain_lib.analyses.hourglass import segment_margin_points

    points = _committed(segment_margin_points)
    later = points[points["after_snapshot"]]
    assert later[["segment", "period"]].values.tolist() == [["AWS", "2026-Q2"]]
    assert later["fact_ids"].iloc[0] == "F185a, F185b"
    google = points[(points["segment"] == "Google Cloud") & (points["period_end"] == pd.Timestamp("2026-06-30"))]
    assert len(google) == 1 and not google["after_snapshot"].iloc[0]


def test_latest_cloud_window_matches_the_hourglass_context_row(hourglass_now):
    """The quarters `latest_cloud_window` returns are those of the "cloud_latest" row (same label), and its
    AWS 2026-Q2 quarter is the one flagged as reported after the snapshot."""
    from valuechain_lib.analyses.hourglass import latest_cloud_window, window_label

    window = _committed(latest_cloud_window)
    row = hourglass_now.layers.set_index("group").loc["cloud_latest"]
    assert row["label"].endswith(window_label(sorted(window["quarter_end"].unique())))
    assert window.loc[window["after_snapshot"], "fact_ids"].tolist() == ["F185a, F185b"]


def test_pooled_period_ends_are_each_company_own(pool_and_excluded):
    """Calendar 2026 Q1 ends, company by company: Nvidia's quarter to 2026-04-26, Oracle's to 2026-02-28, Amazon's
    to 2026-03-31 (the snapshot's filings); the pool's period_end is the latest of its layer's."""
    from valuechain_lib.analyses.hourglass import pooled_period_ends

    pool, _ = pool_and_excluded
    ends = _committed(pooled_period_ends, pool)
    assert ends["NVDA"] == pd.Timestamp("2026-04-26") and ends["ORCL"] == pd.Timestamp("2026-02-28")
    assert ends["AMZN"] == pd.Timestamp("2026-03-31")
    last = pool[pool["quarter_end"] == pool["quarter_end"].max()].set_index("layer")
    upstream = last.at["upstream", "companies"].split(", ")
    assert last.at["upstream", "period_end"] == max(ends[t] for t in upstream)
