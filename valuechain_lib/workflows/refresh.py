"""``valuechain refresh``: pull fresh SEC filings and prices into a new edition of the snapshot.

Nothing a refresh does can damage the committed snapshot:

1. every download goes to a temporary folder (companyfacts written as ``<tmp>/sec/<T>.companyfacts.json``,
   the layout `snapshot_build.build_financials` reads; prices as ``<tmp>/prices/yfinance-<date>/<T>.csv``);
2. if any source failed, the refresh stops with one line per source (SEC, prices) before building;
3. a complete new set of tables is built with the snapshot's own code, prices spliced onto the
   snapshot's series on returns (`prices.extend_on_returns`);
4. `snapshot_build.write_snapshot` validates it against the live snapshot (schema, duplicate periods,
   no company, metric or price ticker lost) in a staging folder and only then swaps it in, together
   with ``edition_diff.json`` (`valuechain_lib.workflows.edition`). A killed process, a full disk or a network
   drop at any point leaves the previous snapshot byte-for-byte as it was.

A company new to ``data/universe.csv`` (one row added since the snapshot was built) is simply added:
its full companyfacts history is fetched like any other company's, and its price ticker's whole
history from the snapshot's first price date (`new_price_series`: nothing to splice onto, so the
download's own close and adjusted close are the series). Only losses fail the validation; the diff
lists what was added under ``added``. Each downloaded companyfacts must name the company the row
names (`valuechain_lib.sources.sec_client.same_entity`): a CIK that belongs to another company fails the
refresh with one line naming ticker, CIK and both names, with or without ``allow_partial``.

Companies that cannot be refreshed:

* a company whose ``sec_source`` is not ``companyfacts`` (CoreWeave's third-party ``flujo`` file) is
  never fetched live: its previous rows are carried over unchanged and listed in the diff;
* a company (or price ticker) that fails to download FAILS the refresh -- no company is ever lost
  or silently left stale -- unless ``allow_partial=True`` (``--allow-partial``): then its previous
  rows are carried over unchanged and the diff names it with the reason. Even then a source that
  delivered nothing at all (offline) fails the refresh.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from valuechain_lib.errors import SourceFileError, ValueChainError
from valuechain_lib.snapshot import build as snapshot_build
from valuechain_lib.snapshot import store as snapshot
from valuechain_lib.snapshot.crosschecks import BALANCE_CHECK, run_all
from valuechain_lib.snapshot.price_table import COLUMNS as PRICE_COLUMNS
from valuechain_lib.snapshot.prices import (
    DIAGNOSTIC_COLUMNS,
    RAW_METHOD,
    extend_on_returns,
    resolve_price_tickers,
)
from valuechain_lib.snapshot.universe import universe
from valuechain_lib.sources.listings import currency_of
from valuechain_lib.sources.price_client import SOURCE as PRICE_SOURCE
from valuechain_lib.sources.price_client import PriceFetchResult, fetch_prices, yfinance_version
from valuechain_lib.sources.sec_client import SecClient, Settings, fetch_all
from valuechain_lib.workflows.edition_diff import EDITION_FILE, diff_editions, to_json

#: Calendar days of overlap requested before the snapshot's last price date: the splice needs a
#: common trading date (anchor) and the diagnostics at least two, even after a long holiday.
PRICE_OVERLAP_DAYS = 31
#: How many failed companies/tickers one error line names before "and N more".
MAX_NAMED = 6
#: First date of a new price ticker's history when the snapshot has no prices to take it from (the
#: snapshot build's own start, `prices.build_prices`).
PRICE_HISTORY_START = "2015-01-01"


class RefreshError(ValueChainError):
    """A refresh that stopped before touching the snapshot; ``lines`` holds one line per source."""

    def __init__(self, lines: list[str], target: Path):
        self.lines = lines
        super().__init__(f"refresh failed; the snapshot in {target} was not changed:\n"
                         + "\n".join(f"  {line}" for line in lines))


@dataclass
class RefreshResult:
    target: Path
    diff: dict
    manifest: dict
    seconds: float


def _named(failed: dict[str, str]) -> str:
    items = [f"{t} ({why})" for t, why in list(failed.items())[:MAX_NAMED]]
    more = len(failed) - MAX_NAMED
    return "; ".join(items) + (f"; and {more} more" if more > 0 else "")


def _concat(new: pd.DataFrame, carried: pd.DataFrame) -> pd.DataFrame:
    """Append carried-over rows to freshly built ones, in the new table's columns and dtypes."""
    if carried.empty:
        return new
    carried = carried.reindex(columns=new.columns)
    for col in new.columns:  # align dtypes so concat never guesses from all-missing columns
        if carried[col].dtype != new[col].dtype:
            try:
                carried[col] = carried[col].astype(new[col].dtype)
            except (TypeError, ValueError):
                carried[col] = carried[col].astype(object)
                new = new.assign(**{col: new[col].astype(object)})
    if new.empty:
        return carried.reset_index(drop=True)
    return pd.concat([new, carried], ignore_index=True)


def _previous_tables(base: Path | None) -> dict:
    tables = {name: snapshot.load_table(name, base) for name in snapshot.TABLE_FILES}
    tables["manifest"] = snapshot.manifest(base)
    return tables


def refresh(*, allow_partial: bool = False, client: SecClient | None = None, download: Callable | None = None,
            progress: bool = True, today=None, sleep: Callable[[float], None] = time.sleep) -> RefreshResult:
    """Download fresh data and swap in a validated new edition of the snapshot in ``data_dir()``.

    Parameters
    ----------
    allow_partial : bool
        Carry over the previous rows of companies / tickers that failed instead of failing.
    client : SecClient, optional
        Default built from the environment (``VALUECHAIN_SEC_IDENTITY`` required).
    download : callable, optional
        The price downloader (default ``yfinance.download``).
    today : date-like, optional
        Prices are kept up to the day before (today's bar may be partial); default: today (UTC).
    sleep : callable
        Backoff between price download attempts (tests pass a recorder).

    Raises
    ------
    IdentityError
        ``VALUECHAIN_SEC_IDENTITY`` missing (before any request).
    RefreshError
        A source failed; one line per source. The snapshot is unchanged.
    SnapshotError
        The new tables fail validation. The snapshot is unchanged.
    """
    started = time.perf_counter()
    owns_client = client is None
    if client is None:
        client = SecClient(Settings.from_env())  # IdentityError here, before anything is read or sent
    target = snapshot.snapshot_dir()
    try:
        previous = _previous_tables(None)
        companies = universe()
        today = pd.Timestamp(today or datetime.now(UTC).date()).normalize()
        live = companies[companies["sec_source"].eq("companyfacts").fillna(False)]
        other = companies[companies["sec_source"].notna() & ~companies["ticker"].isin(live["ticker"])]
        carried = {t: f"source {s!r} is not fetched by a live refresh; previous rows kept"
                   for t, s in zip(other["ticker"], other["sec_source"], strict=True)}
        with tempfile.TemporaryDirectory(prefix="valuechain-refresh-") as tmp_name:
            tmp = Path(tmp_name)
            sec = fetch_all(live, tmp / "sec", client, progress=progress)
            price_tickers = list(dict.fromkeys([*resolve_price_tickers(None), *previous["prices"]["ticker"].unique()]))
            old_prices = previous["prices"]
            got = _fetch_all_prices(price_tickers, old_prices, today, download, sleep)
            frames = {t: f[f["date"] < today] for t, f in got.frames.items()}
            failed_prices = dict(got.failed)
            lines = _source_errors(sec, live, failed_prices, price_tickers, allow_partial)
            # splice before deciding, so a gap is reported with the other price failures
            price_table, diag_rows, splice_failed = _splice_prices(old_prices, frames, failed_prices)
            if splice_failed:
                failed_prices.update(splice_failed)
                lines = _source_errors(sec, live, failed_prices, price_tickers, allow_partial)
            if lines:
                raise RefreshError(lines, target)
            if allow_partial:
                carried.update({t: f"download failed: {why}" for t, why in sec.failed.items()})
            tables, files = _financial_tables(tmp, live, sec, previous, carried, target)
            tables["prices"] = price_table
            old_diag = previous["price_diagnostics"]
            old_diag = old_diag[old_diag["source_a"] != "snapshot"]  # comparisons of an earlier refresh
            tables["price_diagnostics"] = _concat(pd.DataFrame(diag_rows, columns=list(DIAGNOSTIC_COLUMNS)), old_diag) \
                if diag_rows else old_diag.reset_index(drop=True)
            price_dir = tmp / "prices" / f"{PRICE_SOURCE}-{today - pd.Timedelta(days=1):%Y-%m-%d}"
            price_dir.mkdir(parents=True)
            for ticker, frame in frames.items():
                frame.to_csv(price_dir / f"{ticker}.csv", index=False, date_format="%Y-%m-%d",
                             float_format="%.10g", lineterminator="\n")
            had_prices = set(old_prices["ticker"])
            not_refreshed = dict(carried)
            not_refreshed.update({t: (f"price download failed, series kept: {why}" if t in had_prices
                                      else f"price series not added: {why}") for t, why in failed_prices.items()})
            manifest = _refresh_manifest(tmp, companies, tables, files, previous, sec, client, not_refreshed, got)
            tables["manifest"] = manifest
            diff = diff_editions(previous, tables, previous_manifest=previous["manifest"], new_manifest=manifest,
                                 not_refreshed=not_refreshed)
            diff["added"] = added(previous, tables)
            written = snapshot_build.write_snapshot(tables, extra_files={EDITION_FILE: to_json(diff)})
    finally:
        if owns_client:
            client.close()
    return RefreshResult(target=written, diff=diff, manifest=manifest, seconds=time.perf_counter() - started)


def added(previous: dict, new: dict) -> dict[str, list[str]]:
    """Companies (``financials``) and price tickers (``prices``) in ``new`` that ``previous`` did not have."""
    return {name: sorted(set(new[name]["ticker"]) - set(previous[name]["ticker"]))
            for name in ("financials", "prices")}


def _fetch_all_prices(price_tickers: list, old_prices: pd.DataFrame, today, download, sleep) -> PriceFetchResult:
    """Download the tickers the snapshot has from a month before its last date (for the splice), and the
    tickers it does not have yet from the start of its history (the whole series)."""
    last_dates = old_prices.groupby("ticker")["date"].max()
    known = [t for t in price_tickers if t in last_dates.index]
    new = [t for t in price_tickers if t not in last_dates.index]
    got = PriceFetchResult()
    if known:
        start = last_dates.min() - pd.Timedelta(days=PRICE_OVERLAP_DAYS)
        got = fetch_prices(known, start, end=today, download=download, sleep=sleep)
    if new:
        first = old_prices["date"].min() if len(old_prices) else pd.Timestamp(PRICE_HISTORY_START)
        fresh = fetch_prices(new, first, end=today, download=download, sleep=sleep)
        got.frames.update(fresh.frames)
        got.currencies.update(fresh.currencies)
        got.failed.update(fresh.failed)
        got.errors += fresh.errors
    return got


def new_price_series(ticker: str, frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """A price ticker the snapshot does not have yet: its downloaded history as rows of the price table.

    Parameters
    ----------
    ticker : str
        The price ticker (``SMCI``, ``000660.KS``).
    frame : pandas.DataFrame
        ``date``, ``close`` (split-adjusted raw close), ``adj_close`` (dividend-adjusted close).
    source : str
        Written in ``close_source`` and ``tr_source``.

    Returns
    -------
    pandas.DataFrame
        Columns `price_table.COLUMNS`: ``close`` as downloaded, ``total_return_index`` the adjusted close
        rebased to equal ``close`` on the first date (as `prices.build_prices` does), ``currency``
        the listing currency, ``close_method`` raw close.

    Raises
    ------
    SourceFileError
        No rows, a non-positive price, or a date without an adjusted close (no total return can be built).
    """
    rows = frame.dropna(subset=["close"]).sort_values("date", kind="stable")
    rows = rows[~rows["date"].duplicated(keep="last")].reset_index(drop=True)
    if rows.empty:
        raise SourceFileError(f"{ticker} [{source}]: no prices to start a new series with")
    if (rows[["close", "adj_close"]] <= 0).any().any():
        raise SourceFileError(f"{ticker} [{source}]: non-positive price(s) in the new series")
    lacking = rows.loc[rows["adj_close"].isna(), "date"]
    if len(lacking):
        raise SourceFileError(f"{ticker} [{source}]: no adjusted close on {lacking.iloc[0]:%Y-%m-%d}: "
                              "a total return cannot be built")
    total_return = rows["adj_close"] * (rows["close"].iloc[0] / rows["adj_close"].iloc[0])
    table = pd.DataFrame({
        "date": pd.DatetimeIndex(rows["date"]), "ticker": ticker, "close": rows["close"].to_numpy(dtype=float),
        "total_return_index": total_return.to_numpy(dtype=float), "currency": currency_of(ticker),
        "close_source": source, "tr_source": source, "close_method": RAW_METHOD,
    })
    return table[list(PRICE_COLUMNS)]


def _source_errors(sec, live: pd.DataFrame, failed_prices: dict, price_tickers: list, allow_partial: bool) -> list[str]:
    lines = []
    if sec.mismatched:  # a wrong CIK in the universe is never "partial": the row itself must be fixed
        lines.append("universe: " + "; ".join(sec.mismatched.values()))
    n = len(live)
    if sec.network_error and (not allow_partial or not sec.fetched):
        lines.append(f"SEC: {sec.network_error}; {len(sec.fetched)} of {n} companies fetched")
    elif sec.failed and not allow_partial:
        lines.append(f"SEC: {len(sec.failed)} of {n} companies failed (use --allow-partial to keep their "
                     f"previous rows): {_named(sec.failed)}")
    elif n and not sec.fetched and not sec.mismatched:
        lines.append(f"SEC: none of the {n} companies could be fetched: {_named(sec.failed)}")
    if failed_prices:
        if len(failed_prices) == len(price_tickers):
            first = next(iter(failed_prices.values()))
            lines.append(f"prices: no data for any of the {len(price_tickers)} tickers (offline, or Yahoo "
                         f"unreachable?): {first}")
        elif not allow_partial:
            lines.append(f"prices: no data for {len(failed_prices)} of {len(price_tickers)} tickers: "
                         f"{_named(failed_prices)}")
    return lines


def _splice_prices(old_prices: pd.DataFrame, frames: dict, failed: dict):
    """Extend the snapshot's series on returns, and add the series of tickers it does not have yet."""
    tables, diagnostics, splice_failed = [], [], {}
    for ticker, old in old_prices.groupby("ticker", sort=True):
        if ticker in frames and ticker not in failed:
            try:
                table, diag, _links = extend_on_returns(old, frames[ticker], PRICE_SOURCE)
            except ValueChainError as exc:
                splice_failed[ticker] = str(exc)
                tables.append(old[list(PRICE_COLUMNS)])
                continue
            tables.append(table)
            diagnostics += diag
        else:
            tables.append(old[list(PRICE_COLUMNS)])
    for ticker in sorted(set(frames) - set(old_prices["ticker"]) - set(failed)):
        try:
            tables.append(new_price_series(ticker, frames[ticker], PRICE_SOURCE))
        except ValueChainError as exc:
            splice_failed[ticker] = str(exc)
    out = pd.concat(tables, ignore_index=True).sort_values(["ticker", "date"], kind="stable")
    return out.reset_index(drop=True), diagnostics, splice_failed


def _financial_tables(tmp: Path, live: pd.DataFrame, sec, previous: dict, carried: dict, target: Path):
    fetched = live[live["ticker"].isin(list(sec.fetched))]
    try:
        built = snapshot_build.build_financials(tmp, fetched)
    except ValueChainError as exc:
        raise RefreshError([f"SEC: the downloaded filings cannot be standardized: {exc}"], target) from exc
    keep = list(carried)

    def carry(name):
        frame = previous[name]
        return frame[frame["ticker"].isin(keep)]

    tidy = _concat(built.tidy, carry("financials"))
    reported = _concat(built.reported, carry("facts_reported"))
    restatements = _concat(built.restatements, carry("restatements"))
    carried_balances = carry("crosschecks")
    balances = _concat(built.balances, carried_balances[carried_balances["check"] == BALANCE_CHECK])
    tables = {"financials": tidy, "facts_reported": reported, "restatements": restatements,
              "vintages": _concat(built.vintages, carry("vintages")),
              "crosschecks": run_all(reported, tidy, restatements, balances)}
    return tables, built.files


def _refresh_manifest(tmp: Path, companies, tables, files, previous, sec, client, not_refreshed, got) -> dict:
    manifest = snapshot_build._manifest(tmp, companies, tables, files)
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    for item in manifest["sources"]:
        hit = sec.fetched.get(item["ticker"]) if item["ticker"] else None
        if hit is not None and item["path"] == f"sec/{hit.ticker}.companyfacts.json":
            item["retrieved"], item["url"] = hit.fetched_at[:10], hit.url
        elif item["ticker"] is None:
            item["retrieved"], item["url"] = day, f"{PRICE_SOURCE} {yfinance_version()}"
    # the CIK each company's filings were fetched under, so an offline check can tell when a row's CIK
    # changes (`universe.check_snapshot_ciks`); carried-over companies keep what the previous edition said
    earlier = previous["manifest"].get("companies", {})
    for ticker, info in manifest["companies"].items():
        if ticker in sec.fetched:
            info["cik"] = sec.fetched[ticker].cik
        elif (earlier.get(ticker) or {}).get("cik") is not None:
            info["cik"] = earlier[ticker]["cik"]
    paths = {item["path"] for item in manifest["sources"]}
    for item in previous["manifest"].get("sources", []):
        keep = item["ticker"] in not_refreshed if item["ticker"] else True  # earlier price files: rows kept
        if keep and item["path"] not in paths:
            manifest["sources"].append(item)
    manifest["refresh"] = {
        "refreshed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "previous_built_at": previous["manifest"].get("built_at"),
        "sec_api": client.settings.base_url,
        "sec_fetched": {t: {"url": f.url, "sha256": f.sha256, "bytes": len(f.body), "not_modified": f.revalidated}
                        for t, f in sorted(sec.fetched.items())},
        "prices": {"source": f"{PRICE_SOURCE} {yfinance_version()}", "currencies": dict(sorted(got.currencies.items()))},
        "not_refreshed": dict(sorted(not_refreshed.items())),
    }
    return manifest
