"""Share-price gains by layer (`valuechain_lib.returns`, claim B1).

`gains` on the committed price snapshot, checked against returns computed here from the raw
closes of `prices`; `verdict` on synthetic frames worked out by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from valuechain_lib.paths import DEFAULT_DATA_DIR
from valuechain_lib.prices import prices
from valuechain_lib.returns import BASE_DATE, ESSAY_DATE, gains, layer_medians, verdict

pytestmark = pytest.mark.fast

TICKERS = ["NVDA", "SKHYNIX", "MSFT", "CRM", "SPY"]



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
    us = gains(["NVDA", "SPY"], ends=(None,))
    closes = prices(["NVDA", "SPY"])
    closes = closes[closes["close"].notna()]
    expected = max(set.intersection(*(set(g["date"]) for _, g in closes.groupby("ticker"))))
    assert (us["end"] == expected).all()
    assert expected > gains(["SKHYNIX"], ends=(None,))["end"].iloc[0]


def test_layer_medians_hand_values():
    """Upstream returns 0.10, 0.30, 0.50 → median 0.30; midstream 0.05 → 0.05."""
    frame = pd.DataFrame({"end_label": ["to x"] * 4, "layer": ["upstream"] * 3 + ["midstream"],
                          "price_return": [0.10, 0.50, 0.30, 0.05]})
    out = layer_medians(frame).set_index("layer")["median_price_return"]
    assert_allclose([out["upstream"], out["midstream"]], [0.30, 0.05], rtol=1e-12)


# --------------------------------------------------------------------------- verdict rule
def _frame(up, mid, down, bench, latest_shift=0.05) -> pd.DataFrame:
    """Two ends (essay date and a later one); upstream tickers U1..Un, midstream M*, downstream D*, SPY."""
    rows = []
    for end, label, shift in ((pd.Timestamp(ESSAY_DATE), f"to {ESSAY_DATE}", 0.0),
                              (pd.Timestamp("2026-09-23"), "to 2026-09-23 (latest date all share)", latest_shift)):
        for layer, prefix, values in (("upstream", "U", up), ("midstream", "M", mid), ("downstream", "D", down)):
            for i, v in enumerate(values):
                rows.append({"ticker": f"{prefix}{i}", "name": f"{prefix}{i} Corp", "layer": layer,
                             "currency": "USD", "end": end, "end_label": label, "price_return": v + shift})
        rows.append({"ticker": "SPY", "name": "SPY", "layer": "benchmark", "currency": "USD", "end": end,
                     "end_label": label, "price_return": bench + shift})
    return pd.DataFrame(rows)


def test_verdict_supported_when_upstream_beats_both():
    """Upstream median 0.30 (0.10, 0.30, 0.90) > SPY 0.10 and > others' median 0.05 → supported."""
    text = verdict(_frame(up=[0.10, 0.30, 0.90], mid=[0.00, 0.05], down=[0.10], bench=0.10))
    assert text.startswith("**Verdict on B1: supported.**")


def test_verdict_mixed_when_upstream_beats_one():
    """Upstream median 0.30 > others 0.05 but < SPY 0.40 → mixed; and beating SPY only → mixed."""
    assert verdict(_frame(up=[0.10, 0.30, 0.90], mid=[0.00, 0.05], down=[0.10], bench=0.40)).startswith(
        "**Verdict on B1: mixed.**")
    assert verdict(_frame(up=[0.10, 0.30, 0.90], mid=[0.50, 0.60], down=[0.55], bench=0.10)).startswith(
        "**Verdict on B1: mixed.**")


def test_verdict_not_supported_when_upstream_beats_neither():
    """Upstream median 0.30 < SPY 0.40 and < others 0.55 → not supported; a tie (0.30 = 0.30) is not
    a beat."""
    assert verdict(_frame(up=[0.10, 0.30, 0.90], mid=[0.50, 0.60], down=[0.55], bench=0.40)).startswith(
        "**Verdict on B1: not supported.**")
    assert verdict(_frame(up=[0.30], mid=[0.30], down=[0.30], bench=0.30)).startswith(
        "**Verdict on B1: not supported.**")


def test_verdict_sentence_numbers():
    """Upstream median 30%, SPY 10%, others 5%; the best upstream is U2 at +90% (USD); to the later
    end (each return + 0.05) upstream median +35% against +15% for SPY."""
    text = verdict(_frame(up=[0.10, 0.30, 0.90], mid=[0.00, 0.05], down=[0.10], bench=0.10))
    assert f"to {ESSAY_DATE}, the median upstream company gained 30% in price against 10% for SPY" in text
    assert "and 5% for the median midstream and downstream company" in text
    assert "the best was U2 Corp (+90%, USD)" in text
    assert "To 2026-09-23, the upstream median stood at +35% against +15% for SPY." in text


def test_verdict_on_snapshot_follows_rule(table):
    """On the snapshot subset: the status follows the rule applied by hand to the essay-date rows."""
    essay = table[table["end_label"] == f"to {ESSAY_DATE}"]
    up = essay.loc[essay["layer"] == "upstream", "price_return"].median()
    others = essay.loc[essay["layer"].isin(["midstream", "downstream"]), "price_return"].median()
    bench = essay.loc[essay["ticker"] == "SPY", "price_return"].iloc[0]
    status = {2: "supported", 1: "mixed", 0: "not supported"}[int(up > bench) + int(up > others)]
    assert verdict(table).startswith(f"**Verdict on B1: {status}.**")
    assert not np.isnan(up)
