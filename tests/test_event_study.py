"""Event study of capex-guidance days (`valuechain_lib.analyses.guidance_days`, claim B3).

Synthetic price series with a known injected abnormal return, a market model with a known beta,
t and sign tests on inputs whose p-values have closed forms, the dating and grouping rules on
hand-made statements, a verdict that flips across its threshold, and the study on the committed
snapshot checked against returns computed here from `prices.total_return`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from valuechain_lib.analyses import guidance_days as es
from valuechain_lib.claims import ledger as claims
from valuechain_lib.claims.verdicts import Verdict
from valuechain_lib.errors import ValueChainError
from valuechain_lib.snapshot.prices import prices, total_return
from valuechain_lib.snapshot.vintage import as_of

pytestmark = pytest.mark.fast


def _price_table(levels: dict[str, np.ndarray], start: str = "2024-01-01") -> pd.DataFrame:
    """A price table (``date, ticker, total_return_index``) on business days from ``start``."""
    frames = []
    for ticker, level in levels.items():
        dates = pd.bdate_range(start, periods=len(level))
        frames.append(pd.DataFrame({"date": dates, "ticker": ticker, "total_return_index": level}))
    return pd.concat(frames, ignore_index=True)


def _returns(stock: np.ndarray, market: np.ndarray, start: str = "2024-01-01") -> pd.DataFrame:
    """Daily returns frame with columns X and SPY on business days from ``start``."""
    dates = pd.bdate_range(start, periods=len(stock))
    return pd.DataFrame({"X": stock, "SPY": market}, index=dates)


# --------------------------------------------------------------------------- returns and dating
def test_daily_returns_from_levels():
    """Levels 100, 110, 99 give returns +10% and -10%; the first day has no return."""
    table = _price_table({"X": np.array([100.0, 110.0, 99.0])})
    out = es.daily_returns(table)
    assert_allclose(out["X"].to_numpy(), [0.10, -0.10], rtol=0, atol=1e-12)
    assert out.index[0] == pd.Timestamp("2024-01-02")


@pytest.mark.parametrize(("stated", "reaction"), [
    ("2025-01-03", "2025-01-06"),  # Friday after the close -> Monday
    ("2025-01-04", "2025-01-06"),  # Saturday -> Monday
    ("2025-01-05", "2025-01-06"),  # Sunday -> Monday
    ("2025-01-06", "2025-01-07"),  # Monday after the close -> Tuesday
])
def test_reaction_day_is_next_trading_day(stated, reaction):
    """Day +1 is the first business day strictly after the statement date (weekends roll forward)."""
    dates = pd.bdate_range("2024-12-02", "2025-01-31")
    assert dates[es.reaction_position(dates, stated)] == pd.Timestamp(reaction)


def test_injected_drop_against_flat_market_is_the_abnormal_return():
    """Flat market, flat stock that drops 5% on day +1: AR(+1) = CAR = -0.05 exactly, both methods."""
    n = 300
    stock = np.zeros(n)
    market = np.zeros(n)
    returns = _returns(stock, market)
    statement = returns.index[260]
    returns.loc[returns.index[261], "X"] = -0.05
    out = es.abnormal_returns(returns["X"], returns["SPY"], statement)
    assert out["reaction_date"] == returns.index[261]
    assert out["window_end"] == returns.index[263]
    for key in ("ar1_market_adjusted", "car_market_adjusted", "ar1_market_model", "car_market_model"):
        assert_allclose(out[key], -0.05, rtol=0, atol=1e-12)
    assert out["estimation_days"] == es.ESTIMATION_DAYS
    assert out["model"] == "market model"


def test_market_model_recovers_beta_of_two():
    """Stock = 0.0005 + 2 x market + noise (sd 0.002, seed 7): OLS over 250 days gives beta 2 +/- 0.05."""
    rng = np.random.default_rng(7)
    market = rng.normal(0.0, 0.01, 400)
    stock = 0.0005 + 2.0 * market + rng.normal(0.0, 0.002, 400)
    returns = _returns(stock, market)
    out = es.abnormal_returns(returns["X"], returns["SPY"], returns.index[300])
    assert_allclose(out["beta"], 2.0, atol=0.05)
    assert_allclose(out["alpha"], 0.0005, atol=0.0005)


def test_market_model_abnormal_return_without_noise():
    """Stock = 2 x market exactly, plus +3% on day +2: market-model CAR = 0.03 exactly; market-adjusted
    CAR = 0.03 + the sum of the market's returns over days +1..+3 (beta 2 minus 1)."""
    rng = np.random.default_rng(11)
    market = rng.normal(0.0, 0.01, 300)
    stock = 2.0 * market
    stock[262] += 0.03
    returns = _returns(stock, market)
    out = es.abnormal_returns(returns["X"], returns["SPY"], returns.index[260])
    assert_allclose(out["beta"], 2.0, atol=1e-10)
    assert_allclose(out["ar1_market_model"], 0.0, atol=1e-10)
    assert_allclose(out["car_market_model"], 0.03, atol=1e-10)
    assert_allclose(out["car_market_adjusted"], 0.03 + market[261:264].sum(), atol=1e-12)


def test_short_history_falls_back_to_spy_only():
    """100 trading days before the statement (< 120): no market model; both methods give the same AR."""
    rng = np.random.default_rng(3)
    market = rng.normal(0.0, 0.01, 110)
    stock = 1.5 * market + rng.normal(0.0, 0.01, 110)
    returns = _returns(stock, market)
    out = es.abnormal_returns(returns["X"], returns["SPY"], returns.index[100])
    assert out["estimation_days"] == 100
    assert out["model"] == "SPY only (100 days of history)"
    assert math.isnan(out["beta"])
    assert out["car_market_model"] == out["car_market_adjusted"]
    assert_allclose(out["ar1_market_adjusted"], stock[101] - market[101], atol=1e-15)


def test_window_after_last_price_date_raises():
    """A statement two trading days before the data end has no complete 3-day window."""
    returns = _returns(np.zeros(300), np.zeros(300))
    with pytest.raises(es.EventStudyError, match="last price date"):
        es.abnormal_returns(returns["X"], returns["SPY"], returns.index[-3])
    with pytest.raises(es.EventStudyError, match="no trading day"):
        es.abnormal_returns(returns["X"], returns["SPY"], returns.index[-1] + pd.Timedelta(days=30))


# --------------------------------------------------------------------------- statements and events
def _statements() -> pd.DataFrame:
    rows = [
        # ticker, fact, period, mid, as_of, precision
        ("AAA", "F1", "FY2025", 60e9, "2025-01-24", "day"),
        ("AAA", "F2", "FY2025", 68e9, "2025-04-30", "day"),
        ("AAA", "F3", "FY2025", 68e9, "2025-07-30", "day"),
        ("AAA", "F4", "FY2026", 100e9, "2025-07-30", "day"),
        ("AAA", "F5", "FY2025", 65e9, "2025-10", "month"),
    ]
    frame = pd.DataFrame(rows, columns=["ticker", "fact_id", "plan_period", "guided_mid", "as_of", "as_of_precision"])
    frame["as_of"] = pd.to_datetime(frame["as_of"], format="ISO8601")
    frame["company"] = "Aaa"
    frame["group"] = "hyperscaler"
    frame["guided"] = frame["plan_period"] + ": x"
    return frame


def test_classify_revisions_first_raise_unchanged_cut():
    """Midpoints 60, 68, 68, then 65 for FY2025 are first, raise, unchanged, cut; FY2026's only row is first."""
    frame = _statements()
    assert es.classify_revisions(frame).tolist() == ["first", "raise", "unchanged", "first", "cut"]


def test_statements_of_one_day_are_one_event_and_month_dated_are_dropped():
    """F3 and F4 (same company, same day) make one event; F5, dated 2025-10, is dropped and named."""
    frame = _statements()
    frame["direction"] = es.classify_revisions(frame)
    events, dropped = es.group_events(frame)
    assert len(events) == 3
    joint = events[events["statement_date"] == pd.Timestamp("2025-07-30")].iloc[0]
    assert joint["fact_ids"] == "F3, F4"
    assert joint["directions"] == "unchanged; first"
    assert not joint["is_raise"]
    assert events["is_raise"].tolist() == [False, True, False]
    assert dropped["fact_ids"].tolist() == ["F5"]
    assert dropped["stated"].tolist() == ["2025-10"]
    assert "dated only to the month" in dropped["reason"].iloc[0]


def test_guided_text():
    """A range with no qualifier and a hedged point value, in USD billion."""
    assert es.guided_text({"plan_period": "FY2026", "qualifier": "", "value": np.nan,
                           "value_low": 175e9, "value_high": 185e9}) == "FY2026: $175–185B"
    assert es.guided_text({"plan_period": "FY2026 Q1", "qualifier": "more than", "value": 30e9,
                           "value_low": np.nan, "value_high": np.nan}) == "FY2026 Q1: >$30B"


def test_measure_events_drops_and_names_an_event_after_the_prices():
    """Of two events, the one dated after the last price date is dropped with its fact id and reason."""
    returns = _returns(np.zeros(300), np.zeros(300))
    events = pd.DataFrame({"company": ["Xco", "Xco"], "ticker": ["X", "X"], "fact_ids": ["F1", "F2"],
                           "statement_date": [returns.index[260], returns.index[-1] + pd.Timedelta(days=1)]})
    measured, dropped = es.measure_events(events, returns)
    assert measured["fact_ids"].tolist() == ["F1"]
    assert dropped["fact_ids"].tolist() == ["F2"]
    assert "no trading day" in dropped["reason"].iloc[0]


def test_supplier_reactions_one_observation_per_day_and_basket_mean():
    """Two spender events on one day give one row per supplier that day; the basket is their mean."""
    rng = np.random.default_rng(5)
    dates = pd.bdate_range("2024-01-01", periods=300)
    returns = pd.DataFrame({t: rng.normal(0, 0.01, 300) for t in ("S1", "S2", "SPY")}, index=dates)
    measured = pd.DataFrame({"statement_date": [dates[260], dates[260]], "ticker": ["AAA", "BBB"],
                             "is_raise": [True, False]})
    out = es.supplier_reactions(measured, returns, suppliers=("S1", "S2"))
    assert out["supplier"].tolist() == ["S1", "S2", "basket"]
    assert out["spenders"].iloc[0] == "AAA, BBB"
    assert bool(out["is_raise"].iloc[0])
    assert_allclose(out["car_market_model"].iloc[2], out["car_market_model"].iloc[:2].mean(), atol=1e-15)


# --------------------------------------------------------------------------- tests of the mean
def test_t_p_value_matches_closed_forms():
    """df=1 (Cauchy): p = 1 - (2/pi) atan|t|; df=2: p = 1 - |t| / sqrt(2 + t^2); large df -> normal 0.05 at 1.96."""
    for t in (0.3, 1.0, 2.5, 12.0):
        assert_allclose(es.t_two_sided_p(t, 1), 1 - 2 / math.pi * math.atan(t), rtol=1e-10)
        assert_allclose(es.t_two_sided_p(-t, 2), 1 - t / math.sqrt(2 + t * t), rtol=1e-10)
    assert_allclose(es.t_two_sided_p(1.959964, 1e7), 0.05, rtol=1e-5)


def test_t_critical_inverts_the_tail():
    """df=2, alpha=0.10: t = sqrt(2 (1-a)^2 / (1 - (1-a)^2)) = 2.919986 (the textbook 2.920)."""
    expected = math.sqrt(2 * 0.9 ** 2 / (1 - 0.9 ** 2))
    assert_allclose(es.t_critical(0.10, 2), expected, rtol=1e-9)
    assert_allclose(es.t_critical(0.05, 1), math.tan(math.pi / 2 * 0.95), rtol=1e-9)


def test_t_test_by_hand():
    """[-1, -2, -3]: mean -2, sd 1, se 1/sqrt(3), t = -2 sqrt(3), df 2, p = 1 - 2 sqrt(3) / sqrt(14)."""
    out = es.t_test([-1.0, -2.0, -3.0])
    assert out["n"] == 3 and out["df"] == 2
    assert_allclose([out["mean"], out["sd"], out["se"], out["t"]], [-2, 1, 1 / math.sqrt(3), -2 * math.sqrt(3)])
    assert_allclose(out["p"], 1 - 2 * math.sqrt(3) / math.sqrt(14), rtol=1e-10)
    with pytest.raises(es.EventStudyError, match="at least two"):
        es.t_test([0.1])


def test_sign_test_by_hand():
    """5 of 5 negative: p = 2/32; 2 of 3 negative: p = min(1, 2 x P(X>=2)) = 1; zeros and NaN dropped."""
    out = es.sign_test([-0.1, -0.2, -0.3, -0.01, -0.5])
    assert (out["n"], out["negatives"]) == (5, 5)
    assert_allclose(out["p"], 2 / 32)
    out = es.sign_test([-1.0, -1.0, 1.0, 0.0, np.nan])
    assert (out["n"], out["negatives"], out["positives"]) == (3, 2, 1)
    assert out["p"] == 1.0


# --------------------------------------------------------------------------- verdict
def _events(cars, raises=None) -> pd.DataFrame:
    n = len(cars)
    return pd.DataFrame({
        "group": "hyperscaler", "ticker": "AAA", "fact_ids": [f"F{i}" for i in range(n)],
        "statement_date": pd.bdate_range("2025-01-06", periods=n), "is_raise": raises or [True] * n,
        "car_market_model": cars, "car_market_adjusted": cars, "ar1_market_model": cars,
        "ar1_market_adjusted": cars, "window_end": pd.bdate_range("2025-01-09", periods=n),
    })


def test_verdict_flips_across_the_critical_mean():
    """CARs -4%, -5%, -6%: se = 1/sqrt(3) pts, critical mean = -2.919986 x 0.5774 = -1.6859%: supported,
    3.314 pts below it. The same CARs shifted up by 3.4 pts (mean +1.6 pts above -5%) are not supported."""
    v = es.score_b3(_events([-0.04, -0.05, -0.06]), alpha=0.10)
    assert isinstance(v, Verdict)
    critical = -math.sqrt(2 * 0.81 / 0.19) * 0.01 / math.sqrt(3)
    assert v.status == "supported"
    assert_allclose([v.measured, v.threshold, v.distance_to_flip], [-0.05, critical, critical + 0.05], rtol=1e-9)
    assert v.numbers["negatives"] == 3
    shifted = es.score_b3(_events([-0.006, -0.016, -0.026]), alpha=0.10)
    assert shifted.status == "not supported"
    assert_allclose(shifted.measured, -0.016, rtol=1e-12)
    assert shifted.measured > shifted.threshold


def test_positive_significant_mean_is_not_supported():
    """CARs +4%, +5%, +6%: the t-test rejects zero, but shares rose, so the claim is not supported."""
    v = es.score_b3(_events([0.04, 0.05, 0.06]), alpha=0.10)
    assert v.numbers["p_t"] < 0.10
    assert v.status == "not supported"


def test_raises_sample_and_too_few_events():
    """Sample 'raises' scores only the flagged events; with one of them the rule raises EventStudyError."""
    events = _events([-0.04, -0.05, 0.06], raises=[True, True, False])
    assert es.score_b3(events, sample="raises").numbers["n_events"] == 2
    with pytest.raises(es.EventStudyError, match="at least two"):
        es.score_b3(_events([-0.04, 0.05], raises=[True, False]), sample="raises")


# --------------------------------------------------------------------------- the committed snapshot
@pytest.fixture(scope="module")
def study() -> es.GuidanceStudy:
    return es.guidance_study()


def test_snapshot_oracle_december_2025_matches_total_returns(study):
    """Oracle's FY2026 raise (F97, stated 2025-12-10 after the close): day +1 is 2025-12-11, and its
    market-adjusted AR equals ORCL's minus SPY's total return from the 12-10 close to the 12-11 close."""
    row = study.events[study.events["fact_ids"] == "F97"].iloc[0]
    assert row["reaction_date"] == pd.Timestamp("2025-12-11")
    tr = total_return(prices(["ORCL", "SPY"]), "2025-12-10", "2025-12-11")
    assert_allclose(row["ar1_market_adjusted"], tr["ORCL"] - tr["SPY"], atol=1e-12)
    assert row["model"] == "market model" and row["estimation_days"] == es.ESTIMATION_DAYS


def test_snapshot_month_dated_statements_are_named(study):
    """F81 (Alphabet) and F85 (Amazon) are dated only to 2026-04 in the table: dropped, with the reason
    (unless the facts table has since dated them to the day, in which case they are events)."""
    facts_dated = set(study.statements.loc[study.statements["as_of_precision"] == "day", "fact_id"])
    for fact in ("F81", "F85"):
        if fact in facts_dated:
            assert study.events["fact_ids"].str.contains(fact).any()
        else:
            hit = study.dropped[study.dropped["fact_ids"] == fact]
            assert len(hit) == 1 and "dated only to the month" in hit["reason"].iloc[0]


def test_snapshot_every_event_window_is_within_the_prices(study):
    """Each measured window ends on or before the last SPY date; every statement date precedes day +1."""
    assert (study.events["window_end"] <= study.last_price_date).all()
    assert (study.events["reaction_date"] > study.events["statement_date"]).all()


def test_rule_runs_at_the_essay_date_and_raises_before_any_events():
    """At 2026-07-02 the prices stop there and the verdict still computes; on 2025-01-10 only one
    hyperscaler statement (F92) has a full window, so the rule raises a ValueChainError."""
    with as_of("2026-07-02"):
        v = es.verdict_b3()
    assert v.data_through.startswith("2026-07-02")
    assert v.numbers["n_events"] >= 2
    with as_of("2025-01-10"), pytest.raises(ValueChainError, match="at least two"):
        es.verdict_b3()


def test_ledger_row_uses_the_rule():
    """The B3 ledger row calls verdict_b3 with its params; the measured mean equals numbers['mean_car']."""
    row = claims._row("B3")
    assert row["rule"] == "valuechain_lib.analyses.guidance_days:verdict_b3"
    v = claims.evaluate(row)
    assert v.measured == v.numbers["mean_car"]
    assert v.unit == "percent return"


def test_step_ups_against_the_previous_years_plan():
    """A first 2026 figure of 200 after a 2025 plan of 125 is a 1.6x step; a quarter plan is left out."""
    frame = pd.DataFrame({
        "company": "Aaa", "ticker": "AAA", "fact_id": ["F1", "F2", "F3", "F4"],
        "plan_period": ["FY2025", "FY2025", "FY2026", "FY2026 Q1"],
        "guided_mid": [100e9, 125e9, 200e9, 50e9],
        "as_of": pd.to_datetime(["2025-02-01", "2025-10-30", "2026-02-05", "2026-02-05"]),
    })
    frame["direction"] = es.classify_revisions(frame)
    out = es.step_ups(frame)
    assert out["fact_id"].tolist() == ["F3"]
    assert out["previous_fact_id"].iloc[0] == "F2"
    assert_allclose(out["step_up"].iloc[0], 1.6)


def test_event_table_is_readable():
    """Dates ISO, returns in percent with one decimal and a sign, the SPY-only fallback named."""
    events = pd.DataFrame({
        "company": ["Aaa", "Bbb"], "statement_date": pd.to_datetime(["2025-10-29", "2025-11-10"]),
        "reaction_date": pd.to_datetime(["2025-10-30", "2025-11-11"]), "fact_ids": ["F1", "F2, F3"],
        "guided": ["FY2025: $70–72B", "FY2025: $12–14B; FY2026: >$24–28B"], "directions": ["raise", "cut; first"],
        "ar1_market_model": [-0.0994, 0.0], "car_market_model": [-0.15049, 0.01],
        "ar1_market_adjusted": [-0.1, 0.0], "car_market_adjusted": [-0.151, 0.01],
        "estimation_days": [250, 100], "model": ["market model", "SPY only (100 days of history)"],
    })
    out = es.event_table(events)
    assert out["Statement"].tolist() == ["2025-10-29", "2025-11-10"]
    assert out["AR +1 (MM)"].tolist() == ["-9.9%", "+0.0%"]
    assert out["CAR +1..+3 (MM)"].iloc[0] == "-15.0%"
    assert out["Guided"].iloc[1] == "FY2025: $12–14B; FY2026: >$24–28B (cut; first)"
    assert out["Estimation days"].tolist() == ["250", "100 (SPY only)"]


def test_snapshot_statements_are_plans_not_actuals(study):
    """Claim B2 also tags reported capex and cash flow (e.g. F190b, Microsoft's FY2026 additions to
    property and equipment): none of those may become an event. Press-report neocloud rows are named
    as not used, with their kind."""
    assert not study.statements["fact_id"].isin(["F190a", "F190b", "F182a", "F203b", "F207b"]).any()
    press = study.dropped[study.dropped["fact_ids"] == "CW-CAPEX2026-GUIDE-Q4"]
    assert len(press) == 1 and "press report" in press["reason"].iloc[0]


def test_supplier_averages_say_how_far_their_prices_run():
    """Two guidance days whose windows end 2026-05-04 and 2026-08-05, only the first a raise: every
    guidance day runs to 2026-08-05, days with a raise to 2026-05-04."""
    reactions = pd.DataFrame({
        "supplier": ["NVDA", "NVDA"], "is_raise": [True, False], "car_market_model": [0.01, -0.02],
        "window_end": pd.to_datetime(["2026-05-04", "2026-08-05"]),
    })
    out = es.supplier_averages(reactions).set_index("sample")
    assert f"{out.at['all', 'last_window_end']:%Y-%m-%d}" == "2026-08-05"
    assert f"{out.at['raises', 'last_window_end']:%Y-%m-%d}" == "2026-05-04"
    assert_allclose(out.at["all", "mean_car"], -0.005, rtol=1e-12)
