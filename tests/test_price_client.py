"""The price client with yfinance faked at the project's boundary (``fetch_prices(download=...)``), and
the splice of new prices onto the snapshot's series on returns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.data.recorded import recorded as rec
from valuechain_lib.errors import SourceFileError
from valuechain_lib.snapshot.price_table import COLUMNS, read_prices_csv
from valuechain_lib.snapshot.prices import extend_on_returns
from valuechain_lib.sources.price_client import fetch_prices, split_download

pytestmark = pytest.mark.network
TICKERS = ["NVDA", "META", "SPY"]


def _fetch(download, sleeps=None, **kwargs):
    return fetch_prices(TICKERS, "2026-08-01", download=download, attempts=2, backoff=0.001,
                        sleep=(sleeps.append if sleeps is not None else lambda s: None), **kwargs)


def test_download_is_split_per_ticker_with_currencies():
    fake = rec.FakeDownload()
    got = _fetch(fake)
    assert not got.failed
    assert set(got.frames) == set(TICKERS)
    assert got.currencies == {"NVDA": "USD", "META": "USD", "SPY": "USD"}
    nvda = got.frames["NVDA"]
    assert list(nvda.columns) == ["date", "close", "adj_close"]
    assert nvda["date"].is_monotonic_increasing and nvda["close"].gt(0).all()
    call = fake.calls[0]
    assert call["auto_adjust"] is False and call["timeout"] > 0 and call["progress"] is False


def test_a_ticker_that_returns_nothing_is_named_never_dropped():
    fake = rec.FakeDownload(missing={"META"})
    sleeps = []
    got = _fetch(fake, sleeps)
    assert set(got.frames) == {"NVDA", "SPY"}
    assert list(got.failed) == ["META"]
    assert "no rows" in got.failed["META"] and "2 attempt" in got.failed["META"]
    assert fake.calls[1]["tickers"] == ["META"]  # retried alone after a backoff
    assert sleeps == [0.001]


def test_empty_result_for_everything_fails_fast_without_retries():
    fake = rec.FakeDownload(missing=set(TICKERS))  # what yfinance returns offline: an empty table, no error
    got = _fetch(fake)
    assert got.frames == {}
    assert set(got.failed) == set(TICKERS)
    assert all("returned nothing" in why for why in got.failed.values())
    assert len(fake.calls) == 1


def test_an_exception_from_yfinance_is_retried():
    fake = rec.FakeDownload(raise_first=RuntimeError("YFRateLimitError: Too Many Requests"))
    got = _fetch(fake)
    assert set(got.frames) == set(TICKERS) and not got.failed
    assert len(fake.calls) == 2


def test_batches():
    fake = rec.FakeDownload()
    _fetch(fake, batch_size=2)
    assert [c["tickers"] for c in fake.calls] == [["NVDA", "META"], ["SPY"]]


def test_split_download_accepts_a_single_ticker_and_a_tz_aware_index():
    frame = rec.FakeDownload()(["NVDA"])
    frame.index = frame.index.tz_localize("America/New_York")
    got = split_download(frame, ["NVDA"])
    assert got["NVDA"]["date"].dt.tz is None


@pytest.fixture
def previous_prices():
    return read_prices_csv(rec.HERE / "prices" / "previous.csv")


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_new_prices_are_spliced_on_returns_never_levels(previous_prices, scale):
    old = previous_prices[previous_prices["ticker"] == "NVDA"]
    new = split_download(rec.FakeDownload(scale=scale)(["NVDA"]), ["NVDA"])["NVDA"]
    table, diagnostics, links = extend_on_returns(old, new, "yfinance")
    last = old["date"].max()
    pd.testing.assert_frame_equal(table[table["date"] <= last].reset_index(drop=True),
                                  old[list(COLUMNS)].reset_index(drop=True))  # old rows untouched
    added = table[table["date"] > last]
    assert len(added) > 0 and (added["close_source"] == "yfinance").all()
    # the series continues from the snapshot's level on the anchor, whatever the new source's level
    anchor = links[0]["anchor"]
    assert anchor == last
    joined = pd.concat([old.set_index("date")["close"], added.set_index("date")["close"]])
    src = new.set_index("date")["close"]
    ratio = joined.loc[src.index[src.index >= anchor]] / src[src.index >= anchor]
    assert np.allclose(ratio, ratio.iloc[0])  # same returns as the source
    assert np.isclose(links[0]["factor"], 1.0 / scale)
    assert {d["kind"] for d in diagnostics} == {"raw", "total return vs adjusted"}
    assert all(d["overlap_days"] >= 2 for d in diagnostics)


def test_a_gap_between_snapshot_and_new_data_is_refused(previous_prices):
    old = previous_prices[previous_prices["ticker"] == "SPY"]
    new = split_download(rec.FakeDownload()(["SPY"]), ["SPY"])["SPY"]
    new = new[new["date"] > old["date"].max()]
    with pytest.raises(SourceFileError, match="cannot splice the close series on returns.*no common date"):
        extend_on_returns(old, new, "yfinance")
