"""``valuechain refresh``: pull fresh SEC filings and prices into a new edition of the snapshot.

Nothing a refresh does can damage the committed snapshot:

1. every download goes to a temporary folder (companyfacts written as ``<tmp>/sec/<T>.companyfacts.json``,
   the layout `snapshot.build_financials` reads; prices as ``<tmp>/prices/yfinance-<date>/<T>.csv``);
2. if any source failed, the refresh stops with one line per source (SEC, prices) before building;
3. a complete new set of tables is built with the snapshot's own code, prices spliced onto the
   snapshot's series on returns (`prices.extend_on_returns`);
4. `snapshot.write_snapshot` validates it against the live snapshot (schema, duplicate periods,
   no company, metric or price ticker lost) in a staging folder and only then swaps it in, together
   with ``edition_diff.json`` (`valuechain_lib.edition`). A killed process, a full disk or a network
   drop at any point leaves the previous snapshot byte-for-byte as it was.

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

from . import snapshot
from .crosschecks import run_all
from .edition import EDITION_FILE, diff_editions, to_json
from .errors import ValueChainError
from .price_client import SOURCE as PRICE_SOURCE
from .price_client import fetch_prices, yfinance_version
from .prices import COLUMNS as PRICE_COLUMNS
from .prices import DIAGNOSTIC_COLUMNS, extend_on_returns, resolve_price_tickers
from .sec_client import SecClient, Settings, fetch_all
from .universe import universe

#: Calendar days of overlap requested before the snapshot's last price date: the splice needs a
#: common trading date (anchor) and the diagnostics at least two, even after a long holiday.
PRICE_OVERLAP_DAYS = 31
#: How many failed companies/tickers one error line names before "and N more".
MAX_NAMED = 6


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
            last_dates = old_prices.groupby("ticker")["date"].max()
            start = last_dates.min() - pd.Timedelta(days=PRICE_OVERLAP_DAYS)
            got = fetch_prices(price_tickers, start, end=today, download=download, sleep=sleep)
            frames = {t: f[f["date"] < today] for t, f in got.frames.items()}
            failed_prices = dict(got.failed)
            for t in price_tickers:
                if t not in last_dates.index and t not in failed_prices:
                    failed_prices[t] = "new ticker with no snapshot series to splice onto: rebuild with `snapshot --from`"
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
            not_refreshed = dict(carried)
            not_refreshed.update({t: (f"price download failed, series kept: {why}" if t in last_dates.index
                                      else f"price series not added: {why}") for t, why in failed_prices.items()})
            manifest = _refresh_manifest(tmp, companies, tables, files, previous, sec, client, not_refreshed, got)
            tables["manifest"] = manifest
            diff = diff_editions(previous, tables, previous_manifest=previous["manifest"], new_manifest=manifest,
                                 not_refreshed=not_refreshed)
            written = snapshot.write_snapshot(tables, extra_files={EDITION_FILE: to_json(diff)})
    finally:
        if owns_client:
            client.close()
    return RefreshResult(target=written, diff=diff, manifest=manifest, seconds=time.perf_counter() - started)


def _source_errors(sec, live: pd.DataFrame, failed_prices: dict, price_tickers: list, allow_partial: bool) -> list[str]:
    lines = []
    n = len(live)
    if sec.network_error and (not allow_partial or not sec.fetched):
        lines.append(f"SEC: {sec.network_error}; {len(sec.fetched)} of {n} companies fetched")
    elif sec.failed and not allow_partial:
        lines.append(f"SEC: {len(sec.failed)} of {n} companies failed (use --allow-partial to keep their "
                     f"previous rows): {_named(sec.failed)}")
    elif n and not sec.fetched:
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
    out = pd.concat(tables, ignore_index=True).sort_values(["ticker", "date"], kind="stable")
    return out.reset_index(drop=True), diagnostics, splice_failed


def _financial_tables(tmp: Path, live: pd.DataFrame, sec, previous: dict, carried: dict, target: Path):
    fetched = live[live["ticker"].isin(list(sec.fetched))]
    try:
        built = snapshot.build_financials(tmp, fetched)
    except ValueChainError as exc:
        raise RefreshError([f"SEC: the downloaded filings cannot be standardized: {exc}"], target) from exc
    keep = list(carried)

    def carry(name):
        frame = previous[name]
        return frame[frame["ticker"].isin(keep)]

    tidy = _concat(built.tidy, carry("financials"))
    reported = _concat(built.reported, carry("facts_reported"))
    restatements = _concat(built.restatements, carry("restatements"))
    tables = {"financials": tidy, "facts_reported": reported, "restatements": restatements,
              "vintages": _concat(built.vintages, carry("vintages")),
              "crosschecks": run_all(reported, tidy, restatements)}
    return tables, built.files


def _refresh_manifest(tmp: Path, companies, tables, files, previous, sec, client, not_refreshed, got) -> dict:
    manifest = snapshot._manifest(tmp, companies, tables, files)
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    for item in manifest["sources"]:
        hit = sec.fetched.get(item["ticker"]) if item["ticker"] else None
        if hit is not None and item["path"] == f"sec/{hit.ticker}.companyfacts.json":
            item["retrieved"], item["url"] = hit.fetched_at[:10], hit.url
        elif item["ticker"] is None:
            item["retrieved"], item["url"] = day, f"{PRICE_SOURCE} {yfinance_version()}"
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
