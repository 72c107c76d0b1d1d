"""Hyperscaler capex against operating cash flow (`valuechain_lib.analyses.capex_vs_cash`, claim B2).

`since_when` on hand-made series; `capex_vs_cash` on the committed snapshot, checked against sums
computed here from `financials`; `combined_summary` / `verdict` on tiny synthetic frames whose
numbers are worked out by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from valuechain_lib.analyses.capex_vs_cash import (
    COMBINED,
    capex_vs_cash,
    combined_summary,
    since_when,
    verdict,
)
from valuechain_lib.paths import DEFAULT_DATA_DIR
from valuechain_lib.snapshot.financials import financials
from valuechain_lib.snapshot.universe import members

pytestmark = pytest.mark.fast

HYPERSCALERS = ["AMZN", "GOOGL", "META", "MSFT", "ORCL"]
ITEMS = ["capex", "operating_cash_flow", "finance_lease_principal_payments"]



@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VALUECHAIN_DATA", str(DEFAULT_DATA_DIR))
        return capex_vs_cash(freq="TTM", since=2018)


@pytest.fixture(scope="module")
def ttm() -> pd.DataFrame:
    """Wide TTM calendar table computed straight from `financials`: (ticker, year, quarter) x item."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VALUECHAIN_DATA", str(DEFAULT_DATA_DIR))
        table = financials(HYPERSCALERS, freq="TTM", calendar=True, metrics=ITEMS)
    table = table[table["calendar_year"] >= 2018]
    return (table.set_index(["ticker", "calendar_year", "calendar_quarter", "metric"])["value"]
            .unstack("metric").reindex(columns=ITEMS))


def _q(n: int, start: str = "2024-03-31") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="QE")


def _row(frame: pd.DataFrame, ticker: str, year: int, quarter: int) -> pd.Series:
    hit = frame[(frame["ticker"] == ticker) & (frame["calendar_year"] == year)
                & (frame["calendar_quarter"] == quarter)]
    assert len(hit) == 1, f"{ticker} {year} Q{quarter}: {len(hit)} rows"
    return hit.iloc[0]


# --------------------------------------------------------------------------- since_when
def test_since_when_stays_above_from_first_date():
    """[0.8, 0.9, 0.95] vs 0.75: never below, so the answer is the first date, 2024-03-31."""
    s = pd.Series([0.8, 0.9, 0.95], index=_q(3))
    assert since_when(s, 0.75) == pd.Timestamp("2024-03-31")


def test_since_when_dips_back_below_restarts_the_run():
    """[0.8, 0.9, 0.6, 0.8, 0.9] vs 0.75: the dip in 2024-09-30 restarts the run at 2024-12-31."""
    s = pd.Series([0.8, 0.9, 0.6, 0.8, 0.9], index=_q(5))
    assert since_when(s, 0.75) == pd.Timestamp("2024-12-31")


def test_since_when_latest_below_is_none():
    """[0.8, 0.9, 0.7] vs 0.75: the latest value is below, so None (even though it was above)."""
    assert since_when(pd.Series([0.8, 0.9, 0.7], index=_q(3)), 0.75) is None


def test_since_when_never_above_is_none():
    """[0.1, 0.2, 0.3] vs 0.75: never above, None; an empty or all-NaN series is None too."""
    assert since_when(pd.Series([0.1, 0.2, 0.3], index=_q(3)), 0.75) is None
    assert since_when(pd.Series([np.nan, np.nan], index=_q(2)), 0.75) is None
    assert since_when(pd.Series([], dtype=float, index=pd.DatetimeIndex([])), 0.75) is None


def test_since_when_equal_to_threshold_counts_as_at_or_above():
    """[0.5, 0.75, 0.8] vs 0.75: 0.75 is 'at' the threshold, so the run starts at 2024-06-30."""
    assert since_when(pd.Series([0.5, 0.75, 0.8], index=_q(3)), 0.75) == pd.Timestamp("2024-06-30")


def test_since_when_skips_nans():
    """[0.5, 0.8, NaN, 0.9, NaN] vs 0.75: NaNs are skipped (neither break nor end the run) → 2024-06-30."""
    s = pd.Series([0.5, 0.8, np.nan, 0.9, np.nan], index=_q(5))
    assert since_when(s, 0.75) == pd.Timestamp("2024-06-30")
    # a NaN right after a below value does not start the run; the next real value does
    s2 = pd.Series([0.8, 0.5, np.nan, 0.9], index=_q(4))
    assert since_when(s2, 0.75) == pd.Timestamp("2024-12-31")


# --------------------------------------------------------------------------- capex_vs_cash
def test_hyperscalers_are_the_five():
    """The universe's hyperscaler sub-layer is exactly AMZN, GOOGL, META, MSFT, ORCL."""
    assert sorted(members(sub_layer="hyperscaler")) == HYPERSCALERS


def test_combined_equals_sum_of_five_same_calendar_quarter(frame, ttm):
    """Combined capex/OCF for every calendar quarter = sum of the five companies' TTM values of
    that same calendar quarter from `financials(freq="TTM", calendar=True)` (rtol 1e-12), NaN
    wherever any of the five lacks the value."""
    combined = frame[frame["ticker"] == COMBINED].set_index(["calendar_year", "calendar_quarter"])
    assert len(combined) > 20
    checked = 0
    for (year, quarter), row in combined.iterrows():
        for item in ("capex", "operating_cash_flow"):
            values = [ttm[item].get((t, year, quarter), np.nan) for t in HYPERSCALERS]
            if any(pd.isna(v) for v in values):
                assert pd.isna(row[item]), f"{year} Q{quarter} {item}: expected NaN, got {row[item]}"
            else:
                assert_allclose(row[item], sum(values), rtol=1e-12, err_msg=f"{year} Q{quarter} {item}")
                checked += 1
    assert checked >= 2 * 30


def test_combined_known_quarter_hand_sum(frame, ttm):
    """2025 Q4: Combined capex = AMZN + GOOGL + META + MSFT + ORCL TTM capex of calendar 2025 Q4
    (ORCL's FY2026 Q2, MSFT's FY2026 Q2); Combined FCF = Combined OCF − Combined capex."""
    expected_capex = sum(ttm.loc[(t, 2025, 4), "capex"] for t in HYPERSCALERS)
    expected_ocf = sum(ttm.loc[(t, 2025, 4), "operating_cash_flow"] for t in HYPERSCALERS)
    row = _row(frame, COMBINED, 2025, 4)
    assert_allclose(row["capex"], expected_capex, rtol=1e-12)
    assert_allclose(row["operating_cash_flow"], expected_ocf, rtol=1e-12)
    assert_allclose(row["free_cash_flow"], expected_ocf - expected_capex, rtol=1e-12)
    assert_allclose(row["capex_to_ocf"], expected_capex / expected_ocf, rtol=1e-12)
    assert row["calendar_label"] == "2025 Q4"
    assert row["quarter_end"] == pd.Timestamp("2025-12-31")
    assert _row(frame, "ORCL", 2025, 4)["fiscal_label"] == "FY2026 Q2"


def test_combined_nan_where_only_some_have_reported(frame, ttm):
    """The latest calendar quarter in the frame is reached by some companies only (GOOGL and ORCL
    reach 2026 Q2, the others stop at 2026 Q1): the Combined row is NaN there and names the others."""
    latest = frame["quarter_end"].max()
    have = sorted(frame.loc[(frame["quarter_end"] == latest) & (frame["ticker"] != COMBINED)
                            & frame["capex"].notna(), "ticker"])
    assert 0 < len(have) < 5, "the test needs a quarter only some companies have reported"
    row = frame[(frame["ticker"] == COMBINED) & (frame["quarter_end"] == latest)].iloc[0]
    assert np.isnan(row["capex"]) and np.isnan(row["operating_cash_flow"])
    assert np.isnan(row["free_cash_flow"]) and np.isnan(row["capex_to_ocf"])
    lacking = sorted(set(HYPERSCALERS) - set(have))
    assert f"capex: {', '.join(lacking)}" in row["missing"]


def test_company_free_cash_flow_is_ocf_minus_capex(frame, ttm):
    """For every company row, free_cash_flow = OCF − capex and capex_to_ocf = capex / OCF, both
    matching `financials` TTM values (rtol 1e-12); e.g. ORCL 2025 Q3 capex 27.414bn, OCF 21.534bn →
    FCF −5.880bn."""
    rows = frame[frame["ticker"] != COMBINED]
    assert_allclose(rows["free_cash_flow"], rows["operating_cash_flow"] - rows["capex"], rtol=1e-12)
    assert_allclose(rows["capex_to_ocf"], rows["capex"] / rows["operating_cash_flow"], rtol=1e-12)
    for ticker in HYPERSCALERS:
        got = rows[rows["ticker"] == ticker].set_index(["calendar_year", "calendar_quarter"])
        want = ttm.loc[ticker]
        common = got.index.intersection(want.index)
        assert len(common) > 20
        assert_allclose(got.loc[common, "capex"], want.loc[common, "capex"], rtol=1e-12)
        assert_allclose(got.loc[common, "operating_cash_flow"], want.loc[common, "operating_cash_flow"],
                        rtol=1e-12)
    orcl = _row(frame, "ORCL", 2025, 3)
    assert_allclose(orcl["free_cash_flow"], 21.534e9 - 27.414e9, rtol=1e-9)


def test_lease_adjusted_nan_for_orcl_and_combined(frame):
    """ORCL has no finance-lease principal tag: its lease-adjusted FCF is NaN in every row, and so is
    Combined's, which names ORCL; GOOGL's is tagged only from 2024 (TTM from 2024 Q4); AMZN/MSFT/META
    (and GOOGL where tagged) have it = OCF − capex − lease principal."""
    for ticker in ("ORCL", COMBINED):
        assert frame.loc[frame["ticker"] == ticker, "free_cash_flow_after_leases"].isna().all(), ticker
    combined = frame[(frame["ticker"] == COMBINED) & frame["capex"].notna()]
    lease_gaps = combined["missing"].str.extract(r"finance_lease_principal_payments: ([A-Z, ]+)")[0]
    assert lease_gaps.notna().all()
    assert lease_gaps.map(lambda t: "ORCL" in t.split(", ")).all()
    googl = frame[frame["ticker"] == "GOOGL"]
    assert googl.loc[googl["quarter_end"] < "2024-12-31", "free_cash_flow_after_leases"].isna().all()
    for ticker in ("AMZN", "MSFT", "META", "GOOGL"):
        rows = frame[(frame["ticker"] == ticker) & frame["finance_lease_principal_payments"].notna()]
        assert len(rows) >= (6 if ticker == "GOOGL" else 10), ticker
        assert_allclose(rows["free_cash_flow_after_leases"],
                        rows["operating_cash_flow"] - rows["capex"] - rows["finance_lease_principal_payments"],
                        rtol=1e-12)


def test_frame_layout_and_since(frame):
    """One row per ticker (5 + Combined) and calendar quarter, none before 2018, sorted by quarter."""
    assert set(frame["ticker"]) == {*HYPERSCALERS, COMBINED}
    assert not frame.duplicated(["ticker", "calendar_year", "calendar_quarter"]).any()
    assert frame["calendar_year"].min() == 2018
    for _, g in frame.groupby("ticker"):
        assert g["quarter_end"].is_monotonic_increasing


# --------------------------------------------------------------------------- combined_summary / verdict
def _synthetic(latest_ratio: float, latest_ocf: float = 600e9) -> pd.DataFrame:
    """A `capex_vs_cash`-shaped frame: Combined over 4 quarters + two companies' latest rows.

    Combined ratios 0.40, 0.80, 0.60, ``latest_ratio``; OCF 400bn, 500bn, 550bn, ``latest_ocf``.
    """
    ends = _q(4, "2025-03-31")
    ratios = [0.40, 0.80, 0.60, latest_ratio]
    ocfs = [400e9, 500e9, 550e9, latest_ocf]
    rows = []
    for end, r, ocf in zip(ends, ratios, ocfs, strict=True):
        capex = r * ocf
        rows.append({"ticker": COMBINED, "quarter_end": end, "calendar_label": f"{end.year} Q{end.quarter}",
                     "capex": capex, "operating_cash_flow": ocf, "free_cash_flow": ocf - capex,
                     "free_cash_flow_after_leases": np.nan, "capex_to_ocf": r})
    # company rows: AAA's latest FCF negative, BBB's positive (an older negative BBB row must not count)
    for ticker, fcfs in (("AAA", [5e9, -2e9]), ("BBB", [-1e9, 3e9])):
        for end, fcf in zip(ends[-2:], fcfs, strict=True):
            rows.append({"ticker": ticker, "quarter_end": end, "calendar_label": f"{end.year} Q{end.quarter}",
                         "capex": 10e9, "operating_cash_flow": 10e9 + fcf, "free_cash_flow": fcf,
                         "free_cash_flow_after_leases": np.nan, "capex_to_ocf": 10e9 / (10e9 + fcf)})
    return pd.DataFrame(rows)


def test_combined_summary_hand_values():
    """Ratios 0.40, 0.80, 0.60, 0.76 (OCF 600bn → capex 456bn, FCF 144bn): latest 0.76 in 2025 Q4,
    first 0.40 in 2025 Q1, peak 0.80 in 2025 Q2, above 0.75 since 2025 Q4, negative FCF: AAA only."""
    s = combined_summary(_synthetic(0.76), threshold=0.75)
    assert s["latest_label"] == "2025 Q4"
    assert_allclose([s["latest_ratio"], s["latest_capex"], s["latest_ocf"], s["latest_fcf"]],
                    [0.76, 456e9, 600e9, 144e9], rtol=1e-12)
    assert np.isnan(s["latest_fcf_after_leases"])
    assert (s["first_label"], s["first_ratio"]) == ("2025 Q1", 0.40)
    assert (s["peak_label"], s["peak_ratio"]) == ("2025 Q2", 0.80)
    assert s["above_since"] == "2025 Q4"
    assert s["threshold"] == 0.75
    assert s["negative_fcf_companies"] == ["AAA"]


def test_verdict_flips_across_threshold():
    """Latest combined ratio 0.74 at threshold 0.75 → 'not supported' (no 'since' clause);
    0.76 → 'supported', stayed at or above 75% since 2025 Q4."""
    low = verdict(_synthetic(0.74), threshold=0.75)
    high = verdict(_synthetic(0.76), threshold=0.75)
    assert low.status == "not supported"
    assert high.status == "supported"
    assert "stayed at or above" not in low.summary
    assert "The ratio has stayed at or above 75% since 2025 Q4" in high.summary


def test_verdict_distance_to_flip_and_previous_quarter():
    """0.76 against 0.75: one point above the threshold; the quarter before had 0.60."""
    high = verdict(_synthetic(0.76), threshold=0.75)
    assert (high.measured, high.threshold) == (0.76, 0.75)
    assert high.distance_to_flip == pytest.approx(0.01)
    assert "1.0 pts above the 75.0% threshold" in high.flip
    assert "A quarter earlier (2025 Q3) it was 60.0%." in high.summary


def test_verdict_exactly_at_threshold_is_supported():
    """The rule is 'at or above': a ratio of exactly 0.75 at threshold 0.75 is supported."""
    assert verdict(_synthetic(0.75), threshold=0.75).status == "supported"


def test_verdict_sentence_numbers_match_inputs():
    """Ratio 0.74 of OCF 600bn → capex 444bn, FCF 156bn: the sentence says 74%, $444bn of $600bn,
    up from 40% in 2025 Q1, combined FCF $156bn, negative for AAA."""
    text = verdict(_synthetic(0.74), threshold=0.75).summary
    assert "twelve months to calendar 2025 Q4" in text
    assert "spent 74.0% of their operating cash flow on capex ($444bn of $600bn)" in text
    assert "up from 40% in 2025 Q1" in text
    assert "Combined free cash flow was $156bn." in text
    assert "Trailing free cash flow after capex is already negative for AAA." in text
    assert "BBB" not in text


def test_verdict_sentence_no_negative_companies():
    """When every company's latest FCF is positive, the sentence says none is negative yet."""
    frame = _synthetic(0.76)
    frame.loc[frame["ticker"] != COMBINED, "free_cash_flow"] = 1e9
    text = verdict(frame, threshold=0.75).summary
    assert "No company's trailing free cash flow is negative yet." in text


def test_verdict_on_snapshot_matches_combined_row(frame):
    """On the snapshot the verdict's percentage and $bn equal the latest non-NaN Combined row,
    and the status follows the 0.75 rule."""
    summary = combined_summary(frame)
    latest = frame[(frame["ticker"] == COMBINED) & frame["capex_to_ocf"].notna()].iloc[-1]
    result = verdict(frame)
    text = result.summary
    status = "supported" if latest["capex_to_ocf"] >= 0.75 else "not supported"
    assert result.status == status
    assert f"{latest['capex_to_ocf']:.1%} of their operating cash flow" in text
    assert f"(${latest['capex'] / 1e9:,.0f}bn of ${latest['operating_cash_flow'] / 1e9:,.0f}bn)" in text
    assert summary["latest_label"] == latest["calendar_label"]


def _quarters_frame(rows) -> pd.DataFrame:
    """Tiny `capex_vs_cash`-like frame: (ticker, calendar label, quarter end, own period end, value)."""
    out = pd.DataFrame(rows, columns=["ticker", "calendar_label", "quarter_end", "period_end", "free_cash_flow"])
    return out.assign(quarter_end=pd.to_datetime(out["quarter_end"]), period_end=pd.to_datetime(out["period_end"]))


def test_at_common_quarter_picks_latest_quarter_all_companies_report():
    """Synthetic: A has 2026 Q1 and Q2, B only Q1 (its fiscal quarter ends in February), so companies are
    compared in calendar 2026 Q1, not at A's later quarter; B's own period end is kept."""
    from valuechain_lib.analyses.capex_vs_cash import at_common_quarter

    rows = _quarters_frame([
        ("AMZN", "2026 Q1", "2026-03-31", "2026-03-31", -2.0), ("AMZN", "2026 Q2", "2026-06-30", "2026-06-30", -9.0),
        ("ORCL", "2026 Q1", "2026-03-31", "2026-02-28", -24.0), ("ORCL", "2026 Q2", "2026-06-30", "2026-05-31", np.nan),
        (COMBINED, "2026 Q2", "2026-06-30", pd.NaT, 5.0),
    ])
    got = at_common_quarter(rows, "free_cash_flow")
    assert set(got["calendar_label"]) == {"2026 Q1"}
    assert_allclose(got.loc[["AMZN", "ORCL"], "free_cash_flow"], [-2.0, -24.0])
    assert got.at["ORCL", "period_end"] == pd.Timestamp("2026-02-28")


def test_at_common_quarter_raises_when_one_company_never_reports():
    """Oracle files no finance-lease principal: no quarter has the lease-adjusted figure for all five."""
    from valuechain_lib.analyses.capex_vs_cash import at_common_quarter
    from valuechain_lib.errors import ValueChainError

    rows = _quarters_frame([("AMZN", "2026 Q1", "2026-03-31", "2026-03-31", 1.0),
                            ("ORCL", "2026 Q1", "2026-03-31", "2026-02-28", np.nan)])
    with pytest.raises(ValueChainError, match="free_cash_flow"):
        at_common_quarter(rows, "free_cash_flow")


def test_at_common_quarter_on_snapshot_names_each_period(frame):
    """On the snapshot, capex/OCF is compared in the combined line's last calendar quarter, and the
    text names Oracle's own period end apart from the others'."""
    from valuechain_lib.analyses.capex_vs_cash import at_common_quarter, periods_text

    got = at_common_quarter(frame, "capex_to_ocf")
    assert len(got) == 5 and got["calendar_label"].nunique() == 1
    assert got["calendar_label"].iloc[0] == combined_summary(frame)["latest_label"]
    text = periods_text(got)
    assert f"Oracle to {got.at['ORCL', 'period_end']:%Y-%m-%d}" in text


def test_periods_text_and_join_words():
    """Known answers: companies grouped by their own period end, listed in prose."""
    from valuechain_lib.analyses.capex_vs_cash import join_words, periods_text

    rows = pd.DataFrame({"period_end": pd.to_datetime(["2026-02-28", "2026-03-31", "2026-03-31"])},
                        index=["ORCL", "AMZN", "META"])
    assert periods_text(rows) == "Oracle to 2026-02-28; Amazon and Meta to 2026-03-31"
    assert join_words(["a"]) == "a" and join_words(["a", "b", "c"]) == "a, b and c" and join_words([]) == ""


def test_reported_free_cash_flow_reads_amazon_f184():
    """Facts row F184: Amazon's own free cash flow, twelve months to 2026-06-30, −7,604 USD million."""
    from valuechain_lib.analyses.capex_vs_cash import reported_free_cash_flow

    own = reported_free_cash_flow().set_index("fact_id")
    assert own.at["F184", "ticker"] == "AMZN"
    assert_allclose(own.at["F184", "value"], -7_604e6)
    assert own.at["F184", "period_end"] == pd.Timestamp("2026-06-30")
    assert own.at["F184", "source_date"] == pd.Timestamp("2026-07-30")


# --------------------------------------------------------------------------- reported after the snapshot
def _quarters(ticker: str, ends: list[str], values: list[float], metric: str = "operating_cash_flow",
              labels: list[str] | None = None) -> pd.DataFrame:
    """`capex_vs_cash(freq="Q")`-shaped rows of one company (only the columns the helpers read)."""
    ends_ts = pd.to_datetime(ends)
    return pd.DataFrame({"ticker": ticker, "period_end": ends_ts, "quarter_end": ends_ts,
                         "calendar_label": [f"{d.year} Q{d.quarter}" for d in ends_ts],
                         "fiscal_label": labels or [f"FY2026 Q{i + 1}" for i in range(len(ends))],
                         "capex": np.nan, "operating_cash_flow": np.nan, metric: values})


def _cited(rows) -> pd.DataFrame:
    """`reported_after`-shaped rows: (fact_id, ticker, metric, freq, period_end, value)."""
    return pd.DataFrame([{"fact_id": f, "ticker": t, "metric": m, "freq": q, "period_end": pd.Timestamp(e),
                          "value": v, "label": f"{t} {m}", "note": ""} for f, t, m, q, e, v in rows])


def test_derived_quarter_is_the_year_less_three_filed_quarters():
    """FY to 2026-06-30 of 100 less filed 20 + 30 + 25 = 25 for FY2026 Q4; with only two quarters filed,
    or with the fourth already filed, nothing is derived."""
    from valuechain_lib.analyses.capex_vs_cash import derived_quarter

    year = {"ticker": "MSFT", "metric": "operating_cash_flow", "period_end": pd.Timestamp("2026-06-30"),
            "value": 100.0, "fact_id": "Y1"}
    three = _quarters("MSFT", ["2025-09-30", "2025-12-31", "2026-03-31"], [20.0, 30.0, 25.0])
    got = derived_quarter(year, three)
    assert_allclose(got["value"], 25.0)
    assert got["fiscal_label"] == "FY2026 Q4" and got["quarters"] == ["FY2026 Q1", "FY2026 Q2", "FY2026 Q3"]
    assert "Y1" in got["derived_from"] and "2025-09-30" in got["derived_from"]
    assert derived_quarter(year, three.iloc[1:]) is None
    four = _quarters("MSFT", ["2025-09-30", "2025-12-31", "2026-03-31", "2026-06-30"], [20.0, 30.0, 25.0, 25.0])
    assert derived_quarter(year, four) is None


def test_reported_after_marks_keep_their_span_and_label_the_derived_quarter():
    """A quarter stays a quarter, a TTM and a fiscal year are twelve months; a fiscal year with no stated last
    quarter yields a derived one (100 − 75 = 25), one with a stated quarter does not; Oracle's quarter to
    2026-08-31 sits in calendar 2026 Q3 (2026-09-30)."""
    from valuechain_lib.analyses.capex_vs_cash import DERIVED_LABEL, reported_after_marks
    from valuechain_lib.snapshot.reported_after import LABEL

    filed = pd.concat([_quarters("MSFT", ["2025-09-30", "2025-12-31", "2026-03-31"], [20.0, 30.0, 25.0]),
                       _quarters("MSFT", ["2025-09-30", "2025-12-31", "2026-03-31"], [5.0, 6.0, 7.0], "capex")])
    cited = _cited([("A", "AMZN", "capex", "Q", "2026-06-30", 54.0),
                    ("B", "AMZN", "operating_cash_flow", "TTM", "2026-06-30", 161.0),
                    ("C", "MSFT", "operating_cash_flow", "FY", "2026-06-30", 100.0),
                    ("D", "MSFT", "capex", "FY", "2026-06-30", 26.0),
                    ("E", "MSFT", "capex", "Q", "2026-06-30", 8.0),
                    ("F", "ORCL", "capex", "Q", "2026-08-31", 28.5)])
    marks = reported_after_marks(filed, cited)
    by = marks.set_index(["fact_id", "basis"])
    assert by.loc[("A", "quarter"), "series"] == LABEL
    assert by.loc[("B", "twelve months"), "series"] == LABEL
    assert by.loc[("C", "twelve months"), "series"] == LABEL
    assert_allclose(by.loc[("C", "quarter"), "value"], 25.0)
    assert by.loc[("C", "quarter"), "series"] == DERIVED_LABEL
    assert ("D", "quarter") not in by.index  # Microsoft stated its quarter's capex (E): nothing derived
    assert by.loc[("F", "quarter"), "calendar_label"] == "2026 Q3"
    assert by.loc[("F", "quarter"), "quarter_end"] == pd.Timestamp("2026-09-30")
    assert len(marks) == 7


def test_microsoft_fourth_quarter_cash_flow_derived_from_its_fiscal_year():
    """F190a, FY2026 operating cash flow 182,935, less the snapshot's FY2026 Q1–Q3 (45,057 + 35,758 + 46,679 =
    127,494) gives 55,441 USD million, the figure the facts-table note matches to Microsoft's release ($55.4B);
    Amazon's quarter has no cash-flow mark, only its twelve months (F183)."""
    from valuechain_lib.analyses.capex_vs_cash import DERIVED_LABEL, reported_after_marks

    marks = reported_after_marks(capex_vs_cash(freq="Q", since=2018))
    derived = marks[marks["series"] == DERIVED_LABEL].set_index("ticker")
    assert derived.index.tolist() == ["MSFT"]
    assert_allclose(derived.at["MSFT", "value"], 55_441e6, rtol=1e-9)
    amazon = marks[(marks["ticker"] == "AMZN") & (marks["metric"] == "operating_cash_flow")]
    assert amazon["basis"].tolist() == ["twelve months"] and amazon["fact_id"].tolist() == ["F183"]


def test_filed_beside_reported_adds_marks_as_rows_not_to_the_series():
    """The filed rows are the filed values unchanged (Combined left out); each mark is a row of its own."""
    from valuechain_lib.analyses.capex_vs_cash import (
        FILED_LABEL,
        PANELS,
        filed_beside_reported,
        reported_after_marks,
    )

    quarterly = capex_vs_cash(freq="Q", since=2025)
    ttm = capex_vs_cash(freq="TTM", since=2025)
    marks = reported_after_marks(quarterly)
    long = filed_beside_reported(quarterly, ttm, marks)
    filed = long[long["series"] == FILED_LABEL]
    assert COMBINED not in set(long["ticker"])
    expected = quarterly[quarterly["ticker"] != COMBINED]["capex"].dropna().sum()
    assert_allclose(filed[(filed["panel"] == PANELS[("capex", "quarter")])]["usd"].sum(), expected)
    assert (long["series"] != FILED_LABEL).sum() == len(marks)


def test_change_after_snapshot_against_last_filed_quarter():
    """Last filed 40, reported 50: +25%; a non-positive filed value gives NaN, not a ratio."""
    from valuechain_lib.analyses.capex_vs_cash import change_after_snapshot

    filed = pd.concat([_quarters("AMZN", ["2025-12-31", "2026-03-31"], [30.0, 40.0], "capex"),
                       _quarters("META", ["2026-03-31"], [0.0], "capex")])
    marks = pd.DataFrame({"ticker": ["AMZN", "META"], "metric": "capex", "basis": "quarter",
                          "period_end": pd.to_datetime(["2026-06-30", "2026-06-30"]), "value": [50.0, 5.0],
                          "series": "s"})
    got = change_after_snapshot(filed, marks)
    assert_allclose(got.at["AMZN", "change"], 0.25)
    assert got.at["AMZN", "filed_end"] == pd.Timestamp("2026-03-31")
    assert np.isnan(got.at["META", "change"])


def test_through_by_company_names_companies_even_on_one_date():
    """Two companies on one date: "2026-06-30 (AMZN, META)" (book.data_through would print the date alone)."""
    from valuechain_lib.analyses.capex_vs_cash import through_by_company

    rows = pd.DataFrame({"ticker": ["META", "AMZN", "ORCL"],
                         "period_end": pd.to_datetime(["2026-06-30", "2026-06-30", "2026-08-31"])})
    assert through_by_company(rows) == "2026-06-30 (AMZN, META), 2026-08-31 (ORCL)"
