"""Tests of valuechain_lib.snapshot.prices on a hand-made mini raw folder (tests/data/prices) and, once, on the
real raw folder. Every expected number is worked by hand in the docstring of its test."""

from __future__ import annotations

import hashlib
import importlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from pandas.testing import assert_frame_equal

from valuechain_lib.errors import SnapshotError, SourceFileError, UnknownTickerError
from valuechain_lib.paths import DEFAULT_DATA_DIR, raw_data_dir
from valuechain_lib.snapshot import price_table
from valuechain_lib.snapshot.store import load_table

# ``valuechain_lib.snapshot.prices`` the attribute is the `prices` function (re-exported by __init__), so
# fetch the module itself from the import system.
P = importlib.import_module("valuechain_lib.snapshot.prices")
FIXTURE = Path(__file__).parent / "data" / "prices"
START = "2026-05-26"


def _series(df: pd.DataFrame, ticker: str, column: str) -> pd.Series:
    one = df[df["ticker"] == ticker]
    return pd.Series(one[column].to_numpy(), index=pd.DatetimeIndex(one["date"]), name=column)


def _dates(*iso: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(list(iso)), name="date")


@pytest.fixture(scope="module")
def built():
    return P.build_prices(FIXTURE, tickers=["NVDA", "SKHYNIX", "SOXX"], start=START)


@pytest.fixture(scope="module")
def table(built):
    return built[0]


def _source_row(source: str) -> dict:
    rows = P.price_sources()
    return rows[rows["source"] == source].iloc[0].to_dict()


# ----------------------------------------------------------------------------- read_source
@pytest.mark.fast
def test_read_source_applies_quirks():
    """Factor_Attribution's 2026-08-03 intraday row (80.0) and blakeweaver's trailing ``nan`` row
    (2026-08-05) are dropped, each with its reason; the files' other rows are kept."""
    fa = P.read_source(_source_row("factor_attribution"), "NVDA", FIXTURE)
    assert fa["date"].max() == pd.Timestamp("2026-07-31")
    assert fa["raw_close"].isna().all() and len(fa) == 5
    assert [d["date"] for d in fa.attrs["dropped"]] == [pd.Timestamp("2026-08-03")]
    assert "intraday" in fa.attrs["dropped"][0]["reason"]

    bw = P.read_source(_source_row("blakeweaver"), "NVDA", FIXTURE)
    assert list(bw["date"]) == list(_dates("2026-07-31", "2026-08-03", "2026-08-04"))
    assert_allclose(bw["raw_close"], [200.0, 210.0, 205.0])
    assert_allclose(bw["adj_close"], [198.0, 207.9, 205.0])
    assert bw.attrs["dropped"][0]["action"] == "drop_nan_close"

    dr = P.read_source(_source_row("drrobanthony"), "000660.KS", FIXTURE)
    assert dr["date"].max() == pd.Timestamp("2026-09-23")  # possibly partial 09-28 row dropped


@pytest.mark.fast
def test_read_source_dividends_and_missing_file():
    """BackTester39 dividends land on their ex-date (1.00 on 2026-05-28; the 2020 event predates the
    price file and is ignored with a note); a ticker without a file gives None."""
    bt = P.read_source(_source_row("backtester39"), "NVDA", FIXTURE)
    assert_allclose(bt["dividend"], [0.0, 0.0, 0.0, 1.0, 0.0])
    assert any(n["action"] == "dividend ignored" for n in bt.attrs["dropped"])
    assert P.read_source(_source_row("backtester39"), "AMD", FIXTURE) is None


def _write_bt(tmp_path: Path, body: str, dividends: str = "Date,Dividend\n") -> Path:
    folder = tmp_path / "SungKyu-Kim39__BackTester39" / "data"
    folder.mkdir(parents=True)
    (folder / "NVDA.csv").write_text(body)
    (folder / "NVDA_dividends.csv").write_text(dividends)
    return tmp_path


@pytest.mark.fast
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Date,Open,High,Low,Volume\n2026-01-02,1,1,1,10\n", "missing column"),
        ("Date,Close\n2026-01-02,10\n02/01/2026,11\n", "unparseable date"),
        ("Date,Close\n2026-01-02,10\n2026-01-02,11\n", "duplicate date"),
        ("Date,Close\n2026-01-02,10\n2026-01-05,0\n", "non-positive"),
        ("Date,Close\n2026-01-02,10\n2026-01-05,abc\n", "numeric"),
    ],
)
def test_read_source_bad_files_raise_naming_ticker_and_file(tmp_path, body, message):
    """Each malformed file raises SourceFileError naming the ticker, the source and the file."""
    raw = _write_bt(tmp_path, body)
    with pytest.raises(SourceFileError, match=message) as err:
        P.read_source(_source_row("backtester39"), "NVDA", raw)
    assert "NVDA" in str(err.value) and "NVDA.csv" in str(err.value)


@pytest.mark.fast
def test_missing_dividends_file_raises(tmp_path):
    """A BackTester39 price file without its dividends file cannot give a total return."""
    raw = _write_bt(tmp_path, "Date,Close\n2026-01-02,10\n")
    (raw / "SungKyu-Kim39__BackTester39" / "data" / "NVDA_dividends.csv").unlink()
    with pytest.raises(SourceFileError, match="dividends file missing"):
        P.read_source(_source_row("backtester39"), "NVDA", raw)


# ----------------------------------------------------------------------------- splicing
@pytest.mark.fast
def test_output_columns_and_types(table):
    """Exactly the documented columns, one row per ticker and date, sorted, no missing values."""
    assert list(table.columns) == list(price_table.COLUMNS)
    assert pd.api.types.is_datetime64_dtype(table["date"])
    assert not table.duplicated(["ticker", "date"]).any()
    assert not table[["close", "total_return_index"]].isna().any().any()
    assert table["date"].min() == pd.Timestamp(START)  # the 2026-05-22 row is before start


@pytest.mark.fast
def test_close_spliced_on_returns_no_jump(table):
    """Known answer. BackTester39 raw closes 100, 102, 101, 103 (05-26..05-29) give the levels.
    Factor_Attribution (adjusted, rebased by 0.5: 51.5 -> 53.045 -> 54.63635) bridges +3% and +3%:
    106.09 on 06-01 and 109.2727 on 07-31 -- not 53.045, so the rebasing makes no jump.
    blakeweaver raw (200 -> 210 -> 205) takes over from 07-31: 109.2727 * 1.05 = 114.736335 and
    109.2727 * 205/200 = 112.0045175."""
    close = _series(table, "NVDA", "close")
    expected = pd.Series(
        [100.0, 102.0, 101.0, 103.0, 106.09, 109.2727, 114.736335, 112.0045175],
        index=_dates("2026-05-26", "2026-05-27", "2026-05-28", "2026-05-29", "2026-06-01",
                     "2026-07-31", "2026-08-03", "2026-08-04"),
        name="close",
    )
    pd.testing.assert_series_equal(close, expected, check_exact=False, rtol=1e-12, check_freq=False)


@pytest.mark.fast
def test_bridge_is_flagged(table):
    """06-01 and 07-31 have no raw source: their close comes from adjusted returns and says so."""
    nvda = table[table["ticker"] == "NVDA"].set_index("date")
    bridge = nvda.index[nvda["close_method"] == P.BRIDGE_METHOD]
    assert list(bridge) == list(_dates("2026-06-01", "2026-07-31"))
    assert set(nvda.loc[bridge, "close_source"]) == {"factor_attribution"}
    assert set(nvda.loc[nvda["close_method"] == P.RAW_METHOD, "close_source"]) == {"backtester39", "blakeweaver"}
    soxx = table[table["ticker"] == "SOXX"]  # adjusted data only: every row is a bridge
    assert (soxx["close_method"] == P.BRIDGE_METHOD).all()
    assert_allclose(soxx["close"], [10.0, 11.0, 12.0])  # the 08-03 quirk row (99.0) is dropped


@pytest.mark.fast
def test_total_return_dividend_math(table):
    """Known answer. TR on the 05-28 ex-date: (101 + 1.00)/102 - 1 = 0, so the index reads
    100, 102, 102, 102 * 103/101 = 104.0198...; then Factor_Attribution's adjusted returns (+3%, +3%),
    blakeweaver adj_close (198 -> 207.9 -> 205). The dropped intraday FA row (80.0 on 08-03) must not
    appear. Rebased: equals close (100) on the first date."""
    tr = _series(table, "NVDA", "total_return_index")
    t529 = 102 * 103 / 101
    expected = [100.0, 102.0, 102.0, t529, t529 * 1.03, t529 * 1.03**2,
                t529 * 1.03**2 * 1.05, t529 * 1.03**2 * 205 / 198]
    assert_allclose(tr.to_numpy(), expected, rtol=1e-12)
    nvda = table[table["ticker"] == "NVDA"]
    assert list(nvda["tr_source"]) == ["backtester39"] * 4 + ["factor_attribution"] * 2 + ["blakeweaver"] * 2


@pytest.mark.fast
def test_korean_ticker_krw_and_quirk(table):
    """SKHYNIX -> 000660.KS, in KRW. Closes 2.0M, 2.1M, 2.2M (raw), then amars78 +5% (2.31M),
    -10% (2.079M), then DrRobAnthony (rebased by 0.99) 2,058,210 -> 2,178,000: 2.079M * 2178000/2058210
    = 2.2M on 09-23. The possibly partial 09-28 row is dropped, so 09-23 is the last date.
    TR: 2.0M * (2.1M + 375)/2.0M = 2,100,375 on the ex-date, then the same returns as close."""
    ks = table[table["ticker"] == "000660.KS"]
    assert (ks["currency"] == "KRW").all()
    assert ks["date"].max() == pd.Timestamp("2026-09-23")
    assert_allclose(ks["close"], [2.0e6, 2.1e6, 2.2e6, 2.31e6, 2.079e6, 2.2e6], rtol=1e-12)
    t = 2_100_375 * 2.2 / 2.1
    assert_allclose(ks["total_return_index"], [2.0e6, 2_100_375, t, t * 1.05, t * 1.05 * 0.9, t * 1.05 * 0.9 * 2178000 / 2058210],
                    rtol=1e-12)
    assert list(ks["close_method"]) == [P.RAW_METHOD] * 3 + [P.BRIDGE_METHOD] * 3
    assert (table.loc[table["ticker"] == "NVDA", "currency"] == "USD").all()


@pytest.mark.fast
def test_gap_without_common_date_raises():
    """SMH: Factor_Attribution ends 07-02, blakeweaver starts 07-31, no common date -> error naming both."""
    with pytest.raises(SourceFileError, match=r"SMH.*2026-07-02.*2026-07-31"):
        P.build_prices(FIXTURE, tickers=["SMH"], start=START)


@pytest.mark.fast
def test_ticker_without_any_source_raises():
    with pytest.raises(SourceFileError, match="AMD: no price source at all"):
        P.build_prices(FIXTURE, tickers=["AMD"], start=START)


@pytest.mark.fast
def test_unknown_ticker_raises():
    with pytest.raises(UnknownTickerError, match="ZZZZ"):
        P.build_prices(FIXTURE, tickers=["ZZZZ"], start=START)


@pytest.mark.fast
def test_overlap_diagnostics(built):
    """Stell0's 06-01 row is +4% where Factor_Attribution has +3%: a 0.01 return difference on a
    non-ex-dividend day is flagged. BackTester39's TR agrees with Factor_Attribution exactly on the
    05-28 ex-date (both 0%)."""
    diag = built[1]
    assert list(diag.columns) == list(P.DIAGNOSTIC_COLUMNS)
    row = diag[(diag["ticker"] == "NVDA") & (diag["source_a"] == "factor_attribution") & (diag["source_b"] == "stell0")]
    assert len(row) == 1
    assert row["flag"].item() and row["max_diff_date"].item() == pd.Timestamp("2026-06-01")
    assert_allclose(row["max_abs_return_diff"].item(), 0.01, rtol=1e-9)
    tr = diag[(diag["ticker"] == "NVDA") & (diag["kind"] == "total return vs adjusted")
              & (diag["source_b"] == "factor_attribution")]
    assert tr["overlap_days"].item() == 3 and tr["max_abs_return_diff"].item() < 1e-12
    assert not tr["flag"].item()
    assert set(diag.loc[diag["flag"], "source_b"]) == {"stell0"}


# ----------------------------------------------------------------------------- pure helpers
def _toy() -> pd.DataFrame:
    return pd.DataFrame({
        "date": pd.to_datetime(["2026-01-02", "2026-01-05", "2026-01-06", "2026-01-06", "2026-01-06"]),
        "ticker": ["A", "A", "A", "B", "C"],
        "close": [100.0, 110.0, 121.0, 50.0, np.nan],
        "total_return_index": [100.0, 111.0, 122.1, 50.0, np.nan],
    })


@pytest.mark.fast
def test_price_and_total_return_hand_worked():
    """A: close on/before 01-03 is 100 (01-02), on/before 01-06 is 121 -> 0.21; TR 122.1/100 - 1 = 0.221.
    B has no close on/before 01-03 and C none at all -> NaN, never 0."""
    df = _toy()
    pr = P.price_return(df, "2026-01-03", "2026-01-06")
    tr = P.total_return(df, "2026-01-03", "2026-01-06")
    assert_allclose(pr["A"], 0.21, rtol=1e-12)
    assert_allclose(tr["A"], 0.221, rtol=1e-12)
    assert np.isnan(pr["B"]) and np.isnan(pr["C"]) and np.isnan(tr["B"])
    assert pr.name == "price_return" and tr.name == "total_return"
    # from 01-05 to 01-06: 121/110 - 1 = 0.1 for A, and B's first close is on 01-06 -> NaN
    assert_allclose(P.price_return(df, "2026-01-05", "2026-01-06")["A"], 0.1, rtol=1e-12)
    # a window after A's data end is NaN (a stale close would give a false 0)
    assert np.isnan(P.price_return(df, "2026-01-07", "2026-01-09")["A"])
    with pytest.raises(ValueError, match="before start"):
        P.price_return(df, "2026-01-06", "2026-01-02")


@pytest.mark.fast
def test_last_complete_date():
    got = P.last_complete_date(_toy())
    assert got["A"] == pd.Timestamp("2026-01-06") and got["B"] == pd.Timestamp("2026-01-06")
    assert pd.isna(got["C"])


# ----------------------------------------------------------------------------- committed CSV
@pytest.mark.fast
def test_csv_roundtrip_and_prices_loader(table, tmp_path, monkeypatch):
    """write_prices_csv -> read_prices_csv keeps values to 1e-9; prices() takes universe tickers
    (SKHYNIX), price tickers and benchmarks, and names an unknown ticker."""
    path = price_table.write_prices_csv(table, tmp_path / "prices.csv")
    assert path.read_text().splitlines()[1].startswith("2026-05-27,000660.KS,2000000,")
    back = price_table.read_prices_csv(path)
    pd.testing.assert_frame_equal(back, table.reset_index(drop=True), check_exact=False, rtol=1e-9)

    for name in ("universe.csv", "benchmarks.csv"):
        shutil.copy(DEFAULT_DATA_DIR / name, tmp_path / name)
    (tmp_path / "snapshot").mkdir()
    price_table.write_prices_csv(table, tmp_path / "snapshot" / "prices.csv")
    sha = hashlib.sha256((tmp_path / "snapshot" / "prices.csv").read_bytes()).hexdigest()
    (tmp_path / "snapshot" / "manifest.json").write_text(
        json.dumps({"tables": {"prices": {"file": "prices.csv", "sha256": sha}}}))
    monkeypatch.setenv("VALUECHAIN_DATA", str(tmp_path))
    load_table.cache_clear()
    sk = P.prices(["SKHYNIX"])
    assert set(sk["ticker"]) == {"000660.KS"} and len(sk) == 6
    both = P.prices(["000660.KS", "SOXX", "NVDA"])
    assert set(both["ticker"]) == {"000660.KS", "SOXX", "NVDA"}
    assert len(P.prices()) == len(table)
    with pytest.raises(UnknownTickerError, match="ZZZZ"):
        P.prices(["NVDA", "ZZZZ"])
    with pytest.raises(SnapshotError, match="AMD"):  # known ticker, absent from this snapshot
        P.prices("AMD")
    with pytest.raises(SnapshotError, match="not found"):
        P.prices(path=tmp_path / "nowhere.csv")


# ----------------------------------------------------------------------------- real raw data
@pytest.mark.rawdata
def test_build_from_real_raw_folder(tmp_path):
    """The real folder: NVDA ends 2026-09-28 (blakeweaver; 09-29 nan dropped), the Korean tickers end
    2026-09-23 (09-28 possibly partial) in KRW, NVDA's 2026-05-29 close is BackTester39's raw close
    exactly, and from 07-31 on our close moves exactly like blakeweaver's raw close."""
    raw = raw_data_dir() / "prices"
    if not (raw / "PROVENANCE.md").is_file():
        pytest.skip(f"real raw price folder absent: {raw} (set VALUECHAIN_RAW to ../shared/data)")
    table, diag = P.build_prices(raw)
    last = P.last_complete_date(table)
    assert last["NVDA"] == pd.Timestamp("2026-09-28")
    assert last["000660.KS"] == pd.Timestamp("2026-09-23") and last["005930.KS"] == pd.Timestamp("2026-09-23")
    assert last["SOXX"] == pd.Timestamp("2026-07-31")
    assert (table.loc[table["ticker"] == "000660.KS", "currency"] == "KRW").all()
    assert (table.loc[table["ticker"] == "TSM", "currency"] == "USD").all()  # the NYSE ADR, not TWD
    assert not table[["close", "total_return_index"]].isna().any().any()

    nvda = table[table["ticker"] == "NVDA"].set_index("date")
    bt = pd.read_csv(raw / "SungKyu-Kim39__BackTester39/data/NVDA.csv", index_col="Date", parse_dates=True)
    assert nvda.loc["2026-05-29", "close"] == bt.loc["2026-05-29", "Close"]
    assert nvda.loc["2026-05-29", "close_method"] == P.RAW_METHOD
    bridge = nvda.index[nvda["close_method"] == P.BRIDGE_METHOD]
    assert bridge.min() == pd.Timestamp("2026-06-01") and bridge.max() == pd.Timestamp("2026-07-31")

    bw = pd.read_csv(raw / "blakeweaver17-del__ai-infra-data/data/prices/NVDA.tail.csv",
                     index_col="date", parse_dates=True)["close"].dropna()
    ours = nvda.loc[bw.index, "close"]
    assert_allclose(ours / ours.iloc[0], bw / bw.iloc[0], rtol=1e-12)
    assert_allclose(ours.loc["2026-09-28"] / ours.loc["2026-07-31"], 228.86 / 200.75, rtol=1e-12)

    # every return disagreement above 1e-3 involves Stell0 (append-style file; see price_sources.csv)
    flagged = diag[diag["flag"]]
    assert ((flagged["source_a"] == "stell0") | (flagged["source_b"] == "stell0")).all()

    path = price_table.write_prices_csv(table, tmp_path / "prices.csv")
    assert_frame_equal(P.prices(path=path), table, check_dtype=False)
