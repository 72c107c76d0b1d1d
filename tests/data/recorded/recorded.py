"""Helpers the refresh tests share: the recorded SEC bodies, a local SEC server, a fake yfinance, and a
small previous snapshot built with the project's own code.

Nothing here touches the network: the SEC server listens on 127.0.0.1 and yfinance is replaced by
`FakeDownload` at the project's own boundary (``price_client.fetch_prices(download=...)``).
See ``make_recorded.py`` for where the recorded files come from.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import pandas as pd
from pytest_httpserver import HTTPServer

HERE = Path(__file__).resolve().parent
CIKS = {"NVDA": 1045810, "META": 1326801}
#: Bodies served only by the tests of adding a company (``current`` edition; see make_recorded.STAND_INS):
#: SMCI is a stand-in (Microsoft's facts under Super Micro's CIK and name), MU is Micron as SEC serves it.
EXTRA_CIKS = {"SMCI": 1375365, "MU": 723125}
#: The universe row a user adds for Super Micro (no colour: it takes one from the house palette).
SMCI_ROW = "SMCI,Super Micro Computer,upstream,servers,1375365,6,false,USD,SMCI,companyfacts,"
IDENTITY = "Test Runner test@example.org"
FAST_ENV = {  # tiny backoff, no rate limit to wait on, short timeouts: fault tests run in milliseconds
    "VALUECHAIN_SEC_IDENTITY": IDENTITY,
    "VALUECHAIN_HTTP_BACKOFF": "0.001",
    "VALUECHAIN_HTTP_BACKOFF_MAX": "0.005",
    "VALUECHAIN_HTTP_ATTEMPTS": "3",
    "VALUECHAIN_PRICE_ATTEMPTS": "2",
    "VALUECHAIN_SEC_RATE": "1000",
    "VALUECHAIN_CONNECT_TIMEOUT": "1",
    "VALUECHAIN_READ_TIMEOUT": "2",
}


def body(ticker: str, edition: str = "current") -> bytes:
    """A recorded companyfacts response body (SEC's layout) for ``ticker``."""
    return (HERE / "companyfacts" / f"CIK{_cik(ticker):010d}.{edition}.json").read_bytes()


def _cik(ticker: str) -> int:
    return CIKS[ticker] if ticker in CIKS else EXTRA_CIKS[ticker]


def path_of(ticker: str) -> str:
    return f"/api/xbrl/companyfacts/CIK{_cik(ticker):010d}.json"


def add_universe_row(data_dir: Path, row: str = SMCI_ROW) -> None:
    """Append one row to ``data_dir/universe.csv``, as a user adding a company does."""
    with open(Path(data_dir) / "universe.csv", "a", encoding="utf-8", newline="") as handle:
        handle.write(row + "\n")


def etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:16] + '"'


def start_server() -> HTTPServer:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    return server


def serve(server: HTTPServer, edition: str = "current", tickers=tuple(CIKS)) -> None:
    """Answer each company's companyfacts URL with its recorded body (with ETag and Last-Modified)."""
    for ticker in tickers:
        data = body(ticker, edition)
        server.expect_request(path_of(ticker), method="GET").respond_with_data(
            data, content_type="application/json",
            headers={"ETag": etag(data), "Last-Modified": "Wed, 20 May 2026 12:00:00 GMT"})


def digests(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (the byte-for-byte check of the previous snapshot)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- yfinance, faked
def recorded_prices() -> pd.DataFrame:
    """What the fake yfinance serves: the recorded downloads, plus the stand-in series of a new ticker."""
    frames = [pd.read_csv(HERE / "prices" / name, parse_dates=["Date"]) for name in ("yfinance.csv", "new_company.csv")]
    return pd.concat(frames, ignore_index=True)


class FakeDownload:
    """Stands in for ``yfinance.download``: same call, same output layout (columns (Price, Ticker)).

    ``missing`` tickers come back absent, as yfinance does for a ticker it cannot get; ``scale``
    multiplies the levels (as if a split changed them) to show the splice uses returns only.
    """

    def __init__(self, missing=(), scale: float = 1.0, raise_first: BaseException | None = None):
        self.missing, self.scale, self.raise_first = set(missing), scale, raise_first
        self.calls: list[dict] = []

    def __call__(self, tickers, start=None, end=None, **kwargs):
        self.calls.append({"tickers": list(tickers), "start": start, "end": end, **kwargs})
        if self.raise_first is not None:
            exc, self.raise_first = self.raise_first, None
            raise exc
        data = recorded_prices()
        data = data[data["Ticker"].isin(tickers) & ~data["Ticker"].isin(self.missing)]
        if start is not None:
            data = data[data["Date"] >= pd.Timestamp(start)]
        if end is not None:
            data = data[data["Date"] < pd.Timestamp(end)]
        wide = data.pivot(index="Date", columns="Ticker", values=["Adj Close", "Close"]) * self.scale
        wide.columns = wide.columns.set_names(["Price", "Ticker"])
        return wide


# --------------------------------------------------------------------------- the previous snapshot
def build_previous_data_dir(target: Path) -> Path:
    """Write a small ``data/`` folder at ``target``: universe (NVDA, META), benchmark SPY, and a snapshot
    built with the project's own code from the ``previous`` recorded bodies and prices.

    The caller must have pointed ``VALUECHAIN_DATA`` at ``target``.
    """
    from valuechain_lib.paths import DEFAULT_DATA_DIR
    from valuechain_lib.snapshot import build as snapshot_build
    from valuechain_lib.snapshot import store as snapshot
    from valuechain_lib.snapshot.crosschecks import run_all
    from valuechain_lib.snapshot.price_table import read_prices_csv
    from valuechain_lib.snapshot.prices import DIAGNOSTIC_COLUMNS

    target.mkdir(parents=True, exist_ok=True)
    universe = pd.read_csv(DEFAULT_DATA_DIR / "universe.csv", dtype=str, keep_default_na=False)
    universe[universe["ticker"].isin(list(CIKS))].to_csv(target / "universe.csv", index=False, lineterminator="\n")
    bench = pd.read_csv(DEFAULT_DATA_DIR / "benchmarks.csv", dtype=str, keep_default_na=False)
    bench[bench["ticker"] == "SPY"].to_csv(target / "benchmarks.csv", index=False, lineterminator="\n")
    raw = target.parent / f"{target.name}-raw-previous"
    (raw / "sec").mkdir(parents=True, exist_ok=True)
    for ticker in CIKS:
        (raw / "sec" / f"{ticker}.companyfacts.json").write_bytes(body(ticker, "previous"))
    from valuechain_lib.snapshot.universe import universe as load_universe

    companies = load_universe()
    built = snapshot_build.build_financials(raw, companies)
    tables = {"financials": built.tidy, "facts_reported": built.reported, "restatements": built.restatements,
              "vintages": built.vintages,
              "crosschecks": run_all(built.reported, built.tidy, built.restatements, built.balances),
              "prices": read_prices_csv(HERE / "prices" / "previous.csv"),
              "price_diagnostics": pd.DataFrame(columns=list(DIAGNOSTIC_COLUMNS))}
    tables["manifest"] = snapshot_build._manifest(raw, companies, tables, built.files)
    snapshot_build.write_snapshot(tables, base=target)
    shutil.rmtree(raw)
    snapshot.load_table.cache_clear()
    return target


class Clock:
    """Records the moments the server receives requests (for the rate-limit test)."""

    def __init__(self):
        self.times: list[float] = []

    def stamp(self) -> None:
        self.times.append(time.monotonic())
