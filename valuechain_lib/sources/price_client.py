"""Daily prices for a live refresh, downloaded with yfinance (Yahoo Finance).

yfinance does its own HTTP (through curl_cffi), so this module only calls it -- batched, with a
timeout and retries taken from the same settings as the SEC client (`valuechain_lib.sources.sec_client`) --
and checks what comes back. The downloader is injectable (``download=yfinance.download``) so the
tests fake it at this boundary: HTTP recorders cannot intercept curl_cffi.

Checks, because yfinance fails quietly: with no network ``yfinance.download`` raises nothing and
returns an empty table, and a ticker it cannot get is simply absent. So an empty result is a
failure, and every ticker with no rows is reported by name -- never dropped, never zero-filled.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd

from valuechain_lib.sources.listings import currency_of
from valuechain_lib.sources.sec_client import (
    DEFAULT_BACKOFF,
    DEFAULT_BACKOFF_MAX,
    DEFAULT_READ_TIMEOUT,
    ENV_BACKOFF,
    ENV_BACKOFF_MAX,
    ENV_READ_TIMEOUT,
    _env_float,
)

SOURCE = "yfinance"

ENV_BATCH = "VALUECHAIN_PRICE_BATCH"
#: Tickers per yfinance call: yfinance fetches them in parallel threads; ten keeps Yahoo from
#: throttling a whole batch while the universe (~25 tickers) still needs only three calls.
DEFAULT_BATCH = 10

ENV_PRICE_ATTEMPTS = "VALUECHAIN_PRICE_ATTEMPTS"
#: Tries for tickers that came back empty or whose call raised; Yahoo's hiccups are per call, and
#: three tries (1 + 2 s of backoff) keep an offline run to a few seconds.
DEFAULT_PRICE_ATTEMPTS = 3


class _Captured(logging.Handler):
    """Collects yfinance's log records (it logs, rather than raises, every failed ticker)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage().strip())


@contextmanager
def _quiet_yfinance():
    """Keep yfinance's per-ticker error lines off the terminal; we report failures ourselves."""
    logger = logging.getLogger("yfinance")
    handler, propagate = _Captured(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _first_error(messages: list[str]) -> str | None:
    for message in messages:
        if "reason:" in message:
            return message.split("reason:", 1)[1].split(" See https://")[0].strip()[:200]
    return None


@dataclass
class PriceFetchResult:
    """Per ticker: ``frames`` (date, close, adj_close), the ``currencies`` recorded, and ``failed`` reasons."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    currencies: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # exceptions raised by the downloader


def _column(frame: pd.DataFrame, field_name: str, ticker: str, single: bool) -> pd.Series | None:
    cols = frame.columns
    if isinstance(cols, pd.MultiIndex):
        if (field_name, ticker) in cols:
            return frame[(field_name, ticker)]
        if (ticker, field_name) in cols:  # group_by="ticker" layout
            return frame[(ticker, field_name)]
        return None
    if single and field_name in cols:
        return frame[field_name]
    return None


def split_download(frame: pd.DataFrame | None, tickers: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Split a yfinance download (``auto_adjust=False``) into one table per ticker that has data.

    Returns
    -------
    dict
        Ticker → DataFrame with columns ``date`` (tz-naive, daily), ``close`` (split-adjusted raw
        close) and ``adj_close`` (dividend-adjusted close), rows with a close only. Tickers with no
        such row are absent.
    """
    out = {}
    if frame is None or frame.empty:
        return out
    for ticker in tickers:
        close = _column(frame, "Close", ticker, len(tickers) == 1)
        adj = _column(frame, "Adj Close", ticker, len(tickers) == 1)
        if close is None:
            continue
        dates = pd.DatetimeIndex(frame.index)
        if dates.tz is not None:
            dates = dates.tz_localize(None)
        table = pd.DataFrame({"date": dates.normalize(), "close": pd.to_numeric(close, errors="coerce").to_numpy(),
                              "adj_close": (pd.to_numeric(adj, errors="coerce").to_numpy() if adj is not None
                                            else float("nan"))})
        table = table.dropna(subset=["close"]).reset_index(drop=True)
        if len(table):
            out[ticker] = table
    return out


def fetch_prices(tickers: Sequence[str], start, *, end=None, download: Callable | None = None,
                 batch_size: int | None = None, attempts: int | None = None, timeout: float | None = None,
                 backoff: float | None = None, sleep: Callable[[float], None] = time.sleep) -> PriceFetchResult:
    """Download daily close and adjusted close for ``tickers`` from ``start`` (up to ``end``, exclusive).

    Parameters
    ----------
    tickers : sequence of str
        Price tickers (``NVDA``, ``000660.KS``, ``SPY``).
    start, end : str or Timestamp
        First date, and the day after the last (None: up to today).
    download : callable, optional
        ``yfinance.download`` or a fake with its signature.
    batch_size, attempts, timeout, backoff : optional
        Default from the environment (see the module constants and `valuechain_lib.sources.sec_client`).
    sleep : callable
        Used for the backoff between tries (tests pass a recorder).

    Returns
    -------
    PriceFetchResult
        ``failed`` names every ticker that still has no rows after all tries, with the reason.
    """
    if download is None:
        import yfinance

        download = yfinance.download
    batch_size = batch_size or int(_env_float(ENV_BATCH, DEFAULT_BATCH)) or DEFAULT_BATCH
    attempts = attempts or max(1, int(_env_float(ENV_PRICE_ATTEMPTS, DEFAULT_PRICE_ATTEMPTS)))
    timeout = timeout if timeout is not None else _env_float(ENV_READ_TIMEOUT, DEFAULT_READ_TIMEOUT)
    backoff = backoff if backoff is not None else _env_float(ENV_BACKOFF, DEFAULT_BACKOFF)
    backoff_max = _env_float(ENV_BACKOFF_MAX, DEFAULT_BACKOFF_MAX)
    result = PriceFetchResult()
    for ticker in tickers:
        result.currencies[ticker] = currency_of(ticker)  # the listing currency, from the exchange suffix
    pending = list(dict.fromkeys(tickers))
    reasons: dict[str, str] = {}
    with _quiet_yfinance() as log:
        _fetch_rounds(result, pending, reasons, download, start, end, batch_size, attempts, timeout,
                      backoff, backoff_max, sleep, log)
    return result


def _fetch_rounds(result, pending, reasons, download, start, end, batch_size, attempts, timeout,
                  backoff, backoff_max, sleep, log) -> None:
    for attempt in range(1, attempts + 1):
        if not pending:
            break
        if attempt > 1:
            sleep(min(backoff * 2 ** (attempt - 2), backoff_max))
        still = []
        batches = [pending[i:i + batch_size] for i in range(0, len(pending), batch_size)]
        for batch in batches:
            try:
                frame = download(batch, start=pd.Timestamp(start).strftime("%Y-%m-%d"),
                                 end=None if end is None else pd.Timestamp(end).strftime("%Y-%m-%d"),
                                 auto_adjust=False, actions=False, progress=False, threads=True,
                                 group_by="column", multi_level_index=True, timeout=timeout)
            except Exception as exc:  # yfinance raises its own zoo (rate limit, JSON, curl errors)
                message = f"{type(exc).__name__}: {str(exc)[:200]}"
                result.errors.append(message)
                for ticker in batch:
                    reasons[ticker] = f"download raised {message}"
                still += batch
                continue
            got = split_download(frame, batch)
            if attempt == 1 and batch is batches[0] and not got:
                # Not one row for a whole batch of major tickers: yfinance is offline or blocked (it
                # raises nothing then). Stop now rather than retrying every batch: fail fast.
                why = _first_error(log.messages) or "no rows at all"
                for ticker in pending:
                    result.failed[ticker] = f"{SOURCE} returned nothing for the first batch ({why})"
                return
            for ticker in batch:
                if ticker in got:
                    result.frames[ticker] = got[ticker]
                    reasons.pop(ticker, None)
                else:
                    reasons[ticker] = "yfinance returned no rows"
                    still.append(ticker)
        pending = still
    for ticker in pending:
        result.failed[ticker] = f"{reasons.get(ticker, 'no rows')} after {attempts} attempt(s)"


def yfinance_version() -> str:
    """The installed yfinance version (recorded in the manifest), or ``unknown``."""
    try:
        from importlib.metadata import version

        return version("yfinance")
    except Exception:  # pragma: no cover - metadata missing
        return "unknown"


__all__ = ["SOURCE", "PriceFetchResult", "fetch_prices", "split_download", "yfinance_version"]
