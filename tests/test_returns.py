"""Share-price gains by company and layer (`valuechain_lib.analyses.upstream_gains`, claim B1).

`gains` on the committed price snapshot, checked against returns computed here from the raw
closes of `prices`; the B1 rule (`score_b1`) on synthetic return tables worked out by hand, and
`verdict_b1` on the snapshot at an end date before the latest price and under `vintage.as_of`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from valuechain_lib.analyses.upstream_gains import (
    PriceWindowError,
    check_window,
    gains,
    layer_medians,
    score_b1,
    upstream_vs_benchmark,
    verdict_b1,
)
from valuechain_lib.paths import DEFAULT_DATA_DIR
from valuechain_lib.snapshot.prices import price_return, prices
from valuechain_lib.snapshot.universe import universe
from valuechain_lib.snapshot.vintage import as_of

pytestmark = pytest.mark.fast

TICKERS = ["NVDA", "SKHYNIX", "MSFT", "CRM", "SPY"]
BASE_DATE = "2025-12-31"  # Essay B's year-to-date window starts at the 2025 year-end close
ESSAY_DATE = "2026-07-02"  # Essay B's data date (data/essays.csv)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VALUECHAIN_DATA", str(DEFAULT_DATA_DIR))
        return gains(TICKERS, base=BASE_DATE, ends=(ESSAY_DATE, None))


def _close_on_or_before(ticker: str, when) -> tuple[pd.Timestamp, float]:
    p = prices(ticker)
    p = p[p["close"].notna() & (p["date"] <= pd.Timestamp(when))].sort_values("date")
    last = p.iloc[-1]
    return last["date"], float(last["close"])


def _one(table: pd.DataFrame, ticker: str, essay: bool) -> pd.Series:
    rows = table[(table["ticker"] == ticker) & (table["end_label"].str.startswith(f"to {ESSAY_DATE}") == essay)]
    assert len(rows) == 1
    return rows.iloc[0]


# --------------------------------------------------------------------------- gains on the snapshot
def test_gains_layout(table):
    """Five tickers × two ends = 10 rows; labels 'to 2026-07-02' and '… (latest date all share)'."""
    assert len(table) == 10
    labels = list(dict.fromkeys(table["end_label"]))
    assert labels[0] == f"to {ESSAY_DATE}"
    assert labels[1].endswith("(latest date all share)")
    assert list(table["ticker"].iloc[:5]) == TICKERS


def test_skhynix_maps_to_korean_listing_in_krw(table):
    """SKHYNIX → price ticker 000660.KS, trading currency KRW, layer upstream / memory."""
    row = _one(table, "SKHYNIX", essay=True)
    assert row["price_ticker"] == "000660.KS"
    assert row["currency"] == "KRW"
    assert (row["layer"], row["sub_layer"], row["name"]) == ("upstream", "memory", "SK hynix")


def test_benchmark_row(table):
    """SPY is not in the universe: layer and sub_layer 'benchmark', name = ticker, currency USD."""
    row = _one(table, "SPY", essay=True)
    assert (row["price_ticker"], row["layer"], row["sub_layer"], row["name"], row["currency"]) == (
        "SPY", "benchmark", "benchmark", "SPY", "USD")


def test_nvda_price_return_to_essay_date_hand_computed(table):
    """NVDA close on/before 2025-12-31 is 186.50 (that day) and on/before 2026-07-02 is 195.057
    (that day): 195.057068 / 186.5 − 1 = 0.045882 (rtol 1e-12 against the closes; 1e-6 absolute
    against the hand-rounded value)."""
    d0, c0 = _close_on_or_before("NVDA", BASE_DATE)
    d1, c1 = _close_on_or_before("NVDA", ESSAY_DATE)
    assert d0 == pd.Timestamp("2025-12-31") and d1 == pd.Timestamp("2026-07-02")
    row = _one(table, "NVDA", essay=True)
    assert row["end"] == pd.Timestamp(ESSAY_DATE)
    assert_allclose(row["price_return"], c1 / c0 - 1, rtol=1e-12)
    assert_allclose(row["price_return"], 195.057068 / 186.5 - 1, atol=1e-6)


def test_price_and_total_returns_match_closes_for_every_ticker(table):
    """For each ticker and end, price_return = close(on/before end)/close(on/before base) − 1 and
    total_return the same on total_return_index (rtol 1e-12)."""
    for _, row in table.iterrows():
        p = prices(row["ticker"])
        p = p[p["close"].notna()].sort_values("date")
        before_base = p[p["date"] <= pd.Timestamp(BASE_DATE)].iloc[-1]
        before_end = p[p["date"] <= row["end"]].iloc[-1]
        assert_allclose(row["price_return"], before_end["close"] / before_base["close"] - 1, rtol=1e-12,
                        err_msg=f"{row['ticker']} {row['end_label']}")
        assert_allclose(row["total_return"],
                        before_end["total_return_index"] / before_base["total_return_index"] - 1, rtol=1e-12,
                        err_msg=f"{row['ticker']} {row['end_label']}")


def test_none_end_is_latest_date_all_tickers_share(table):
    """The ``None`` end = the latest date on which every given ticker has a close: the maximum of the
    intersection of their close dates, computed here (SK hynix's KRX series ends first)."""
    closes = prices(TICKERS)
    closes = closes[closes["close"].notna()]
    shared = set.intersection(*(set(g["date"]) for _, g in closes.groupby("ticker")))
    expected = max(shared)
    latest = table[~table["end_label"].str.startswith(f"to {ESSAY_DATE}")]
    assert (latest["end"] == expected).all()
    assert latest["end_label"].iloc[0] == f"to {expected:%Y-%m-%d} (latest date all share)"
    # and it is earlier than the US tickers' own last date, i.e. the shortest series decides
    assert expected < closes.loc[closes["ticker"] == "NVDA", "date"].max()


def test_none_end_depends_on_the_tickers_given():
    """Without SK hynix the shared end moves out to the US tickers' common last date."""
    us = gains(["NVDA", "SPY"], base=BASE_DATE, ends=(None,))
    closes = prices(["NVDA", "SPY"])
    closes = closes[closes["close"].notna()]
    expected = max(set.intersection(*(set(g["date"]) for _, g in closes.groupby("ticker"))))
    assert (us["end"] == expected).all()
    assert expected > gains(["SKHYNIX"], base=BASE_DATE, ends=(None,))["end"].iloc[0]


def test_layer_medians_hand_values():
    """Upstream USD returns 0.10, 0.30, 0.50 → median 0.30 over 3; the KRW return 2.00 is left out (it would
    make the median 0.40); midstream 0.05 → 0.05. With currency=None all four upstream rows count → 0.40."""
    frame = pd.DataFrame({"end_label": ["to x"] * 5, "layer": ["upstream"] * 4 + ["midstream"],
                          "currency": ["USD", "USD", "USD", "KRW", "USD"],
                          "price_return": [0.10, 0.50, 0.30, 2.00, 0.05]})
    out = layer_medians(frame).set_index("layer")
    assert_allclose([out.at["upstream", "median_price_return"], out.at["midstream", "median_price_return"]],
                    [0.30, 0.05], rtol=1e-12)
    assert out.at["upstream", "companies"] == 3
    pooled = layer_medians(frame, currency=None).set_index("layer")
    assert_allclose(pooled.at["upstream", "median_price_return"], 0.40, rtol=1e-12)


def test_gains_price_date_is_the_close_used(table):
    """Every row's price_date is the last close on/before its end (computed here from the closes), and the
    base column is the window start given."""
    for _, row in table.iterrows():
        d1, _ = _close_on_or_before(row["ticker"], row["end"])
        assert row["price_date"] == d1, row["ticker"]
        assert row["base"] == pd.Timestamp(BASE_DATE)


def test_gains_end_before_base_raises():
    """A window whose end precedes its start is a PriceWindowError (a ValueChainError), not a NaN return."""
    with pytest.raises(PriceWindowError, match="ends before it starts"):
        gains(["NVDA"], base="2026-03-31", ends=("2026-01-31",))


# --------------------------------------------------------------------------- the B1 rule, synthetic
END = pd.Timestamp("2026-07-02")


def _returns_table(usd: dict, krw: dict | None = None, bench: float = 0.10) -> pd.DataFrame:
    """`gains`-like rows at one end: upstream USD tickers, optional KRW tickers, and SPY."""
    rows = [{"ticker": t, "name": f"{t} Corp", "layer": "upstream", "sub_layer": "x", "currency": "USD",
             "price_return": r, "total_return": r, "price_date": END} for t, r in usd.items()]
    rows += [{"ticker": t, "name": f"{t} Co", "layer": "upstream", "sub_layer": "memory", "currency": "KRW",
              "price_return": r, "total_return": r, "price_date": END} for t, r in (krw or {}).items()]
    rows.append({"ticker": "SPY", "name": "SPY", "layer": "benchmark", "sub_layer": "benchmark", "currency": "USD",
                 "price_return": bench, "total_return": bench, "price_date": END})
    frame = pd.DataFrame(rows)
    frame["base"], frame["end"] = pd.Timestamp("2025-12-31"), END
    return frame


def _score(usd, krw=None, bench=0.10, **thresholds):
    return score_b1(upstream_vs_benchmark(_returns_table(usd, krw, bench)), **thresholds)


def test_upstream_vs_benchmark_keeps_currencies_apart():
    """USD rows: excess = return − 0.10 and beats when > 0.10; the KRW row (return 1.20) is not compared: excess NaN,
    beats NA, and the won would have to fall 1 − 1.10 / 2.20 = 50% for it to trail SPY in dollars."""
    out = upstream_vs_benchmark(_returns_table({"A": 0.30, "B": 0.05}, {"K": 1.20})).set_index("ticker")
    assert list(out.index) == ["A", "B", "K"]  # compared first, each group by descending return
    assert_allclose(out.loc[["A", "B"], "excess_return"], [0.20, -0.05], rtol=1e-12)
    assert out.at["A", "beats_benchmark"] and not out.at["B", "beats_benchmark"]
    assert pd.isna(out.at["K", "beats_benchmark"]) and np.isnan(out.at["K", "excess_return"])
    assert_allclose(out.at["K", "currency_fall_to_trail"], 0.5, rtol=1e-12)
    assert "KRW" in out.at["K", "note"]


@pytest.mark.parametrize(("usd", "status", "threshold", "distance"), [
    # 3 of 4 beat: share 0.75 = the supported threshold → supported, 0 points from a flip
    ({"A": 0.5, "B": 0.4, "C": 0.2, "D": 0.0}, "supported", 0.75, 0.0),
    # 2 of 4: 0.50, between the thresholds → mixed; 0 from the 50% edge (nearer than 25 points to 75%)
    ({"A": 0.5, "B": 0.4, "C": 0.05, "D": 0.0}, "mixed", 0.50, 0.0),
    # 1 of 4: 0.25 → not supported, 25 points below the 50% threshold
    ({"A": 0.5, "B": 0.1, "C": 0.05, "D": 0.0}, "not supported", 0.50, 0.25),
    # 4 of 4: 1.00 → supported, 25 points above the 75% threshold
    ({"A": 0.5, "B": 0.4, "C": 0.2, "D": 0.11}, "supported", 0.75, 0.25),
])
def test_b1_flips_as_the_share_beating_spy_crosses_the_thresholds(usd, status, threshold, distance):
    """SPY +10%; a tie (0.10 = 0.10) is not a beat. The share beating SPY crosses 75% (supported) and 50% (mixed)."""
    v = _score(usd, supported_share=0.75, mixed_share=0.5)
    assert v.status == status
    assert v.unit == "share"
    assert_allclose(v.threshold, threshold, rtol=1e-12)
    assert_allclose(v.distance_to_flip, distance, atol=1e-12)


def test_b1_one_company_turning_flips_it():
    """Five USD makers, SPY +10%: three beat → 60%, mixed, 10 points above the 50% threshold (nearer than the 15
    points below 75%); one company more makes 80% (supported), one fewer 40% (not supported).
    Raising the fourth maker from +9% to +11% makes four of five (80%) → supported, 5 points above."""
    mixed = _score({"A": 0.5, "B": 0.4, "C": 0.2, "D": 0.09, "E": 0.0})
    assert mixed.status == "mixed"
    assert_allclose([mixed.measured, mixed.threshold, mixed.distance_to_flip], [0.6, 0.5, 0.1], atol=1e-12)
    assert "(1 company) more beating SPY would make it supported" in mixed.flip
    assert "10.0 pts (1 company) fewer not supported" in mixed.flip
    supported = _score({"A": 0.5, "B": 0.4, "C": 0.2, "D": 0.11, "E": 0.0})
    assert supported.status == "supported"
    assert_allclose([supported.measured, supported.distance_to_flip], [0.8, 0.05], atol=1e-12)
    assert "1 company falling behind SPY would make it mixed" in supported.flip


def test_b1_won_listings_are_not_counted():
    """Two USD makers (one beats) and two KRW makers far ahead: the share is 1 of 2 = 50% → mixed, not 3 of 4; the
    summary names the KRW ones apart, with the won falls that would make them trail (1 − 1.1/3.2 = 66%, 1 − 1.1/2.1
    = 48%) and the count in their own currency (3 of 4, 75%)."""
    v = _score({"A": 0.30, "B": 0.05}, {"K1": 2.20, "K2": 1.10})
    assert v.status == "mixed"
    assert_allclose(v.measured, 0.5, rtol=1e-12)
    assert v.numbers["companies_compared"] == 2
    assert "gained in KRW and are left out of the count" in v.summary
    assert "66% (K1 Co) and 48% (K2 Co)" in v.summary
    assert "3 of 4 (75%)" in v.summary
    assert_allclose(v.numbers["K1_currency_fall_to_trail"], 1 - 1.1 / 3.2, rtol=1e-12)


def test_b1_summary_numbers_and_data_through():
    """SPY +10%, A +30% beats, B +5% trails; median of the two +17.5%; data through 2026-07-02 for all three."""
    v = _score({"A": 0.30, "B": 0.05})
    assert "1 of the 2 upstream makers whose shares trade in USD beat SPY's price return of +10.0%" in v.summary
    assert "A Corp (A) +30.0%" in v.summary and "B Corp (B) +5.0% trailed it" in v.summary
    assert "The median of the 2 gained +17.5%" in v.summary
    assert "**" not in v.summary and "Verdict on" not in v.summary
    assert v.data_through == "2026-07-02 (A, B, SPY)"
    assert_allclose(v.numbers["median_compared"], 0.175, rtol=1e-12)


def test_b1_bad_thresholds_and_missing_returns():
    """mixed_share above supported_share is a ValueError; a USD maker without a return is a PriceWindowError."""
    with pytest.raises(ValueError, match="mixed_share"):
        _score({"A": 0.3}, supported_share=0.5, mixed_share=0.75)
    with pytest.raises(PriceWindowError, match="no return"):
        _score({"A": 0.3, "B": float("nan")})


def test_check_window_rejects_stale_end_close():
    """A close 8 days before the window's end is stale (more than MAX_STALE_DAYS = 7); 7 days is not."""
    frame = _returns_table({"A": 0.3})
    check_window(frame)
    frame.loc[0, "price_date"] = END - pd.Timedelta(days=7)
    check_window(frame)
    frame.loc[0, "price_date"] = END - pd.Timedelta(days=8)
    with pytest.raises(PriceWindowError, match="stop before the window's end"):
        check_window(frame)


# --------------------------------------------------------------------------- B1 on the snapshot
def _upstream():
    u = universe()
    return u[u["layer"] == "upstream"]


def test_verdict_b1_at_an_end_before_the_latest_price():
    """End 2026-03-31, before the snapshot's last price: every close used is on/before that date and the share is the
    one computed here from the raw closes (USD listings beating SPY's price return to 2026-03-31)."""
    end = "2026-03-31"
    v = verdict_b1(base=BASE_DATE, end=end)
    assert v.numbers["window_end"] == end
    assert max(re.findall(r"\d{4}-\d{2}-\d{2}", v.data_through)) <= end
    up = _upstream()
    usd = up[~up["price_ticker"].str.endswith(".KS")]
    returns = price_return(prices(usd["ticker"].tolist() + ["SPY"]), BASE_DATE, end)
    expected = float((returns[usd["price_ticker"]] > returns["SPY"]).mean())
    assert_allclose(v.measured, expected, rtol=1e-12)
    assert_allclose(v.numbers["NVDA_price_return"], returns["NVDA"], rtol=1e-12)
    assert prices("NVDA")["date"].max() > pd.Timestamp(end)


def test_verdict_b1_at_the_essay_date_under_as_of():
    """Under as_of(2026-07-02) the prices stop at that date; the rule still runs (no IndexError) and gives the
    same share and returns as today's data with end=2026-07-02; to a later end it cannot (PriceWindowError)."""
    today = verdict_b1(base=BASE_DATE, end=ESSAY_DATE)
    with as_of(ESSAY_DATE):
        then = verdict_b1(base=BASE_DATE, end=ESSAY_DATE)
        latest = verdict_b1(base=BASE_DATE, end=None)
        with pytest.raises(PriceWindowError):
            verdict_b1(base=BASE_DATE, end="2026-09-01")
    assert then.status == today.status
    assert_allclose(then.measured, today.measured, rtol=1e-12)
    assert then.data_through.startswith(ESSAY_DATE)
    assert latest.numbers["window_end"] == ESSAY_DATE
    assert_allclose(then.numbers["NVDA_price_return"], today.numbers["NVDA_price_return"], rtol=1e-12)


def test_verdict_b1_on_the_snapshot_nvidia_and_broadcom_trail():
    """To 2026-07-02 (NVDA 195.057068 / 186.50 − 1 = +4.6% against SPY's +9.5%): Nvidia and Broadcom trail SPY,
    so not every dollar-listed maker beats it and the verdict is not 'supported' at a 100% threshold."""
    v = verdict_b1(base=BASE_DATE, end=ESSAY_DATE, supported_share=1.0, mixed_share=0.5)
    assert v.numbers["NVDA_price_return"] < v.numbers["benchmark_return"]
    assert v.numbers["AVGO_price_return"] < v.numbers["benchmark_return"]
    assert v.status == "mixed"
    assert "SKHYNIX_currency_fall_to_trail" in v.numbers


def test_layer_medians_name_the_latest_close_behind_them():
    """The upstream median rests on USD closes of 2026-07-01 and 2026-07-02 → 2026-07-02; the KRW close of
    2026-07-03 is not in it, nor a ticker with no return (its close date 2026-07-06 does not count)."""
    frame = pd.DataFrame({"end_label": ["to x"] * 4, "layer": ["upstream"] * 4,
                          "currency": ["USD", "USD", "KRW", "USD"], "price_return": [0.1, 0.2, 0.3, np.nan],
                          "price_date": pd.to_datetime(["2026-07-01", "2026-07-02", "2026-07-03", "2026-07-06"])})
    out = layer_medians(frame).set_index("layer")
    assert f"{out.at['upstream', 'last_price_date']:%Y-%m-%d}" == "2026-07-02"
    assert "last_price_date" not in layer_medians(frame.drop(columns="price_date")).columns
