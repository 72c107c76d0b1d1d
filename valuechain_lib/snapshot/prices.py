"""Daily share prices, spliced across public raw sources on returns (never on levels).

The raw sources are described as data, not code: ``mappings/price_sources.csv`` holds one row per
source (folder, file pattern, date / raw-close / adjusted-close columns, dividends file, stored
commit, licence, priority) and ``mappings/price_quirks.csv`` lists the rows to drop, each with a
reason. See ``PROVENANCE.md`` in the raw ``prices/`` folder for what every source is.

Two series are built per price ticker:

* ``close`` -- the split-adjusted, dividend-unadjusted close (a price-return series). Raw
  closes (BackTester39 ``Close``, blakeweaver ``close``) are preferred. Where no raw source covers
  a span (e.g. 2026-05-30..2026-07-30, or a ticker such as SOXX with adjusted data only) the
  series is bridged with dividend-adjusted returns and ``close_method`` says so
  (``adjusted-return bridge``).
* ``total_return_index`` -- dividend-inclusive: BackTester39 raw close plus its cash dividends
  (``(P_t + D_t) / P_{t-1}`` on ex-dates), extended with adjusted sources. Rebased so that it
  equals ``close`` on the ticker's first date.

Splicing rule: the source with the earliest first date (on/after ``start``) gives the levels; each
source that extends the series is chained on from the latest date both share, i.e. its levels are
rescaled by the ratio on that date, so only its *returns* enter. A source that shares no date with
the series raises `SourceFileError` naming the gap.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from valuechain_lib.calc.metrics import ArgumentError, check_names
from valuechain_lib.errors import SnapshotError, SourceFileError, UnknownTickerError
from valuechain_lib.paths import MAPPINGS_DIR, data_dir, raw_data_dir
from valuechain_lib.snapshot.price_table import COLUMNS, read_prices_csv
from valuechain_lib.snapshot.universe import universe
from valuechain_lib.sources.listings import currency_of

DIAGNOSTIC_COLUMNS = (
    "ticker", "source_a", "source_b", "kind", "overlap_days", "max_abs_return_diff",
    "max_diff_date", "max_abs_return_diff_non_ex_div", "flag",
)
RAW_METHOD = "raw close"
BRIDGE_METHOD = "adjusted-return bridge"
#: Daily-return difference between two sources of the same kind that is reported (flag=True).
RETURN_DIFF_TOLERANCE = 1e-3
#: A step in close/adj_close of one source larger than this marks an ex-dividend date.
EX_DIV_RATIO_STEP = 5e-5

#: Snapshot sub-folders searched for ``prices.csv`` after ``data_dir()`` itself (see snapshot.py).

SOURCES_FILE = MAPPINGS_DIR / "price_sources.csv"
QUIRKS_FILE = MAPPINGS_DIR / "price_quirks.csv"
SOURCE_COLUMNS = (
    "source", "priority", "folder", "pattern", "date_column", "raw_close_column",
    "adj_close_column", "dividends_pattern", "dividend_date_column", "dividend_column",
    "stored_date", "commit", "licence",
)
QUIRK_COLUMNS = ("source", "ticker", "date", "action", "reason")
QUIRK_ACTIONS = ("drop", "drop_nan_close")


# --------------------------------------------------------------------------- mapping files
def price_sources(path: str | Path | None = None) -> pd.DataFrame:
    """Return the source descriptions, one row per raw price source, sorted by priority.

    Parameters
    ----------
    path : str or Path, optional
        A sources CSV; defaults to the packaged ``mappings/price_sources.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns as in `SOURCE_COLUMNS` (plus ``note``); empty cells are missing values.
    """
    p = Path(path) if path else SOURCES_FILE
    frame = pd.read_csv(p, dtype=str, keep_default_na=False).replace("", np.nan)
    missing = [c for c in SOURCE_COLUMNS if c not in frame.columns]
    if missing:
        raise SourceFileError(f"{p}: missing column(s) {missing}")
    if frame["source"].duplicated().any():
        raise SourceFileError(f"{p}: duplicate source id(s) {frame['source'][frame['source'].duplicated()].tolist()}")
    frame["priority"] = frame["priority"].astype(int)
    return frame.sort_values("priority", kind="stable").reset_index(drop=True)


def price_quirks(path: str | Path | None = None) -> pd.DataFrame:
    """Return the quirk rules: (source, ticker or ``*``, date or empty, action, reason).

    Parameters
    ----------
    path : str or Path, optional
        A quirks CSV; defaults to the packaged ``mappings/price_quirks.csv``.

    Returns
    -------
    pandas.DataFrame
        ``date`` is datetime64 (NaT for a rule that applies to any date). ``action`` is ``drop``
        (drop the row on ``date``) or ``drop_nan_close`` (drop rows whose close is missing).
    """
    p = Path(path) if path else QUIRKS_FILE
    frame = pd.read_csv(p, dtype=str, keep_default_na=False)
    missing = [c for c in QUIRK_COLUMNS if c not in frame.columns]
    if missing:
        raise SourceFileError(f"{p}: missing column(s) {missing}")
    bad = sorted(set(frame["action"]) - set(QUIRK_ACTIONS))
    if bad:
        raise SourceFileError(f"{p}: unknown action(s) {bad}; known: {QUIRK_ACTIONS}")
    frame["date"] = pd.to_datetime(frame["date"].replace("", None), format="%Y-%m-%d")
    if (frame["action"].eq("drop") & frame["date"].isna()).any():
        raise SourceFileError(f"{p}: a 'drop' rule needs a date")
    return frame


def _field(row, key: str) -> str | None:
    value = row.get(key) if hasattr(row, "get") else getattr(row, key, None)
    if value is None or (np.ndim(value) == 0 and pd.isna(value)) or str(value) == "":
        return None
    return str(value)


# --------------------------------------------------------------------------- reading one file
def _parse_dates(values: pd.Series, where: str) -> pd.DatetimeIndex:
    parsed = pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")
    bad = values[parsed.isna()]
    if len(bad):
        raise SourceFileError(f"{where}: unparseable date(s) {bad.head(3).tolist()} (expected YYYY-MM-DD)")
    return pd.DatetimeIndex(parsed)


def _read_csv(path: Path, columns: list[str], dtypes: dict, where: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, usecols=lambda c: c in columns, dtype=dtypes)
    except pd.errors.EmptyDataError as exc:
        raise SourceFileError(f"{where}: empty file (no header)") from exc
    except ValueError as exc:  # a non-numeric price
        raise SourceFileError(f"{where}: cannot read numeric columns: {exc}") from exc
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SourceFileError(f"{where}: missing column(s) {missing}")
    return frame


def read_source(source_row, ticker: str, raw_dir: str | Path, quirks: pd.DataFrame | None = None):
    """Read one source file for one price ticker, with the quirk rules applied.

    Parameters
    ----------
    source_row : mapping or pandas.Series
        One row of `price_sources` (``folder``, ``pattern``, ``date_column``, ...).
    ticker : str
        Price ticker (``NVDA``, ``000660.KS``); substituted for ``{ticker}`` in the patterns.
    raw_dir : str or Path
        The raw ``prices/`` folder that holds one subfolder per source.
    quirks : pandas.DataFrame, optional
        Quirk rules (default: `price_quirks`).

    Returns
    -------
    pandas.DataFrame or None
        None if the source has no file for ``ticker``. Otherwise columns ``date`` (datetime64,
        ascending, unique), ``raw_close`` and ``adj_close`` (float; all-NaN where the source has
        no such column) and ``dividend`` (cash dividend on the ex-date, 0 elsewhere; all-NaN where
        the source has no dividends file). ``attrs["dropped"]`` lists the dropped rows with
        their reasons; ``attrs["path"]`` is the file read.

    Raises
    ------
    SourceFileError
        Missing columns, unparseable or duplicate dates, non-positive or missing prices, a
        missing dividends file; the message names the ticker and file.
    """
    quirks = price_quirks() if quirks is None else quirks
    source = _field(source_row, "source")
    path = Path(raw_dir) / _field(source_row, "folder") / _field(source_row, "pattern").format(ticker=ticker)
    if not path.is_file():
        return None
    where = f"{ticker} [{source}] {path}"
    date_col = _field(source_row, "date_column")
    raw_col, adj_col = _field(source_row, "raw_close_column"), _field(source_row, "adj_close_column")
    price_cols = [c for c in (raw_col, adj_col) if c]
    if not price_cols:
        raise SourceFileError(f"source {source}: neither raw_close_column nor adj_close_column is set")
    frame = _read_csv(path, [date_col, *price_cols], {date_col: str, **dict.fromkeys(price_cols, "float64")}, where)
    out = pd.DataFrame({"date": _parse_dates(frame[date_col], where)})
    nan = np.full(len(frame), np.nan)
    out["raw_close"] = frame[raw_col].to_numpy() if raw_col else nan
    out["adj_close"] = frame[adj_col].to_numpy() if adj_col else nan

    present = [col for col, name in (("raw_close", raw_col), ("adj_close", adj_col)) if name]
    # quirk rules of this source and ticker
    dropped = []
    rules = quirks[quirks["source"].isin([source, "*"]) & quirks["ticker"].isin([ticker, "*"])]
    for rule in rules.itertuples(index=False):
        if rule.action == "drop":
            hit = out["date"].eq(rule.date)
        else:  # drop_nan_close
            hit = out[present].isna().any(axis=1)
        if hit.any():
            dropped += [{"date": d, "action": rule.action, "reason": rule.reason} for d in out.loc[hit, "date"]]
            out = out.loc[~hit]
    out = out.reset_index(drop=True)

    dup = out["date"][out["date"].duplicated()]
    if len(dup):
        raise SourceFileError(f"{where}: duplicate date(s) {[f'{d:%Y-%m-%d}' for d in dup.head(3)]}")
    if not out["date"].is_monotonic_increasing:
        out = out.sort_values("date").reset_index(drop=True)
    for col, name in (("raw_close", raw_col), ("adj_close", adj_col)):
        if not name:
            continue
        values = out[col]
        if values.isna().any():
            raise SourceFileError(f"{where}: missing {name!r} on {[f'{d:%Y-%m-%d}' for d in out['date'][values.isna()].head(3)]}")
        if (values <= 0).any():
            bad = out.loc[values <= 0, "date"].head(3)
            raise SourceFileError(f"{where}: non-positive {name!r} on {[f'{d:%Y-%m-%d}' for d in bad]}")

    out["dividend"] = np.nan
    div_pattern = _field(source_row, "dividends_pattern")
    if div_pattern:
        out["dividend"] = _read_dividends(source_row, ticker, Path(raw_dir), out["date"], dropped)
    out.attrs = {"path": str(path), "source": source, "ticker": ticker, "dropped": dropped}
    return out


def _read_dividends(source_row, ticker: str, raw_dir: Path, dates: pd.Series, notes: list) -> np.ndarray:
    """Cash dividends placed on the trading dates of the price file (0 where none)."""
    source = _field(source_row, "source")
    path = raw_dir / _field(source_row, "folder") / _field(source_row, "dividends_pattern").format(ticker=ticker)
    where = f"{ticker} [{source}] {path}"
    if not path.is_file():
        raise SourceFileError(f"{where}: dividends file missing (the price file exists; a total return cannot be built)")
    dcol, vcol = _field(source_row, "dividend_date_column"), _field(source_row, "dividend_column")
    frame = _read_csv(path, [dcol, vcol], {dcol: str, vcol: "float64"}, where)
    amounts = np.zeros(len(dates))
    if frame.empty:
        return amounts
    when = _parse_dates(frame[dcol], where)
    cash = frame[vcol].to_numpy()
    if np.isnan(cash).any() or (cash < 0).any():
        raise SourceFileError(f"{where}: missing or negative dividend amount(s)")
    if when.duplicated().any():
        raise SourceFileError(f"{where}: duplicate dividend date(s) {when[when.duplicated()][:3].strftime('%Y-%m-%d').tolist()}")
    day = dates.to_numpy()
    pos = np.searchsorted(day, when.to_numpy(), side="left")
    for d, p, amount in zip(when, pos, cash, strict=True):
        if p >= len(day) or d.to_datetime64() < day[0]:
            notes.append({"date": d, "action": "dividend ignored", "reason": "ex-date outside the price file's dates"})
            continue
        if day[p] != d.to_datetime64():
            notes.append({"date": d, "action": "dividend moved",
                          "reason": f"ex-date is not a trading date of the price file; placed on {pd.Timestamp(day[p]):%Y-%m-%d}"})
        amounts[p] += amount
    return amounts


# --------------------------------------------------------------------------- splicing
@dataclass(frozen=True)
class _Candidate:
    source: str
    priority: int
    kind: str  # "raw", "adjusted" or "total return"
    levels: pd.Series  # indexed by date, ascending, positive


def _splice(ticker: str, what: str, cands: list[_Candidate], prefer: str | None, links: list) -> pd.DataFrame:
    """Chain candidate level series on returns; return columns level, source, kind by date."""

    def rank(c: _Candidate):
        return (c.levels.index[0], c.kind != prefer, c.priority)

    first = min(cands, key=rank)
    cur = first.levels
    sources, kinds = [first.source] * len(cur), [first.kind] * len(cur)
    while True:
        last = cur.index[-1]
        ext = [c for c in cands if c.levels.index[-1] > last]
        if not ext:
            break
        linked = []
        for c in ext:
            common = c.levels.index[c.levels.index <= last].intersection(cur.index)
            if len(common):
                linked.append((c, common[-1]))
        if not linked:
            nxt = min(c.levels.index[c.levels.index > last][0] for c in ext)
            raise SourceFileError(
                f"{ticker}: cannot splice the {what} series on returns: it ends {last:%Y-%m-%d} and the next "
                f"data ({', '.join(c.source for c in ext)}) start {nxt:%Y-%m-%d} with no common date; "
                f"gap {last:%Y-%m-%d}..{nxt:%Y-%m-%d}"
            )
        pool = [x for x in linked if x[0].kind == prefer] or linked
        cand, anchor = min(pool, key=lambda x: x[0].priority)
        new = cand.levels[cand.levels.index > last]
        if prefer is not None and cand.kind != prefer:
            # bridge only until a preferred (raw) source can take over
            targets = [c.levels.index for c in ext if c.kind == prefer]
            if targets:
                hand_over = new.index[new.index.isin(targets[0].append(targets[1:]))]
                if len(hand_over):
                    new = new[new.index <= hand_over[0]]
        factor = cur[anchor] / cand.levels[anchor]
        links.append({"ticker": ticker, "series": what, "source": cand.source, "kind": cand.kind,
                      "anchor": anchor, "factor": factor, "first": new.index[0], "last": new.index[-1]})
        cur = pd.concat([cur, new * factor])
        sources += [cand.source] * len(new)
        kinds += [cand.kind] * len(new)
    return pd.DataFrame({"level": cur.to_numpy(), "source": sources, "kind": kinds}, index=cur.index)


def _returns_on_common(a: pd.Series, b: pd.Series):
    common = a.index.intersection(b.index)
    if len(common) < 2:
        return common, None, None
    x, y = a.reindex(common).to_numpy(), b.reindex(common).to_numpy()
    return common, x[1:] / x[:-1] - 1.0, y[1:] / y[:-1] - 1.0


def _compare(ticker: str, a: _Candidate, b: _Candidate, kind: str, ex_dates: pd.DatetimeIndex) -> dict | None:
    common, ra, rb = _returns_on_common(a.levels, b.levels)
    if ra is None:
        return None
    diff = np.abs(ra - rb)
    days = common[1:]
    i = int(np.argmax(diff))
    non_ex = diff[~days.isin(ex_dates)]
    worst_non_ex = float(non_ex.max()) if len(non_ex) else np.nan
    return {
        "ticker": ticker, "source_a": a.source, "source_b": b.source, "kind": kind,
        "overlap_days": len(common), "max_abs_return_diff": float(diff[i]), "max_diff_date": days[i],
        "max_abs_return_diff_non_ex_div": worst_non_ex,
        "flag": bool(worst_non_ex > RETURN_DIFF_TOLERANCE),
    }


def _diagnostics(ticker: str, close_c: list, tr_c: list, ex_dates: pd.DatetimeIndex) -> list[dict]:
    rows = []
    raw = [c for c in close_c if c.kind == "raw"]
    adj = [c for c in close_c if c.kind == "adjusted"]
    tr = [c for c in tr_c if c.kind == "total return"]
    for group, kind in ((raw, "raw"), (adj, "adjusted")):
        for i, a in enumerate(group):
            rows += [_compare(ticker, a, b, kind, ex_dates) for b in group[i + 1:]]
    rows += [_compare(ticker, a, b, "total return vs adjusted", ex_dates) for a in tr for b in adj]
    return [r for r in rows if r is not None]


def _build_one(ticker: str, sources: pd.DataFrame, quirks: pd.DataFrame, raw_dir: Path,
               start: pd.Timestamp, links: list):
    close_c, tr_c, ex = [], [], []
    found = []
    for row in sources.to_dict("records"):
        frame = read_source(row, ticker, raw_dir, quirks)
        if frame is None:
            continue
        found.append(row["source"])
        src, prio = row["source"], int(row["priority"])
        raw_full = pd.Series(frame["raw_close"].to_numpy(), index=pd.DatetimeIndex(frame["date"]))
        adj_full = pd.Series(frame["adj_close"].to_numpy(), index=raw_full.index)
        has_raw, has_adj = _field(row, "raw_close_column"), _field(row, "adj_close_column")
        if has_raw and has_adj:  # ex-dates visible as steps in close / adj_close
            ratio = (adj_full / raw_full).to_numpy()
            step = np.abs(ratio[1:] / ratio[:-1] - 1.0) > EX_DIV_RATIO_STEP
            ex.append(raw_full.index[1:][step])
        keep = raw_full.index >= start
        if not keep.any():
            continue
        if has_raw:
            close_c.append(_Candidate(src, prio, "raw", raw_full[keep]))
            if _field(row, "dividends_pattern"):
                div = frame["dividend"].to_numpy()
                ex.append(raw_full.index[div > 0])
                p = raw_full[keep].to_numpy()
                growth = np.ones(len(p))
                growth[1:] = (p[1:] + div[keep][1:]) / p[:-1]
                tr_c.append(_Candidate(src, prio, "total return",
                                       pd.Series(p[0] * np.cumprod(growth), index=raw_full.index[keep])))
        if has_adj:
            cand = _Candidate(src, prio, "adjusted", adj_full[keep])
            close_c.append(cand)
            tr_c.append(cand)
    if not found:
        raise SourceFileError(
            f"{ticker}: no price source at all: no file for it in any of "
            f"{', '.join(sources['source'])} under {raw_dir}"
        )
    if not close_c:
        raise SourceFileError(f"{ticker}: no price data on or after {start:%Y-%m-%d} in {', '.join(found)}")
    close = _splice(ticker, "close", close_c, "raw", links)
    tr = _splice(ticker, "total return", tr_c, None, links)
    both = close.join(tr, how="outer", lsuffix="_c", rsuffix="_tr")
    base = both.dropna(subset=["level_c", "level_tr"]).iloc[0]
    table = pd.DataFrame({
        "date": both.index,
        "ticker": ticker,
        "close": both["level_c"].to_numpy(),
        "total_return_index": (both["level_tr"] * (base["level_c"] / base["level_tr"])).to_numpy(),
        "currency": currency_of(ticker),
        "close_source": both["source_c"].to_numpy(),
        "tr_source": both["source_tr"].to_numpy(),
        "close_method": np.where(both["kind_c"].eq("raw"), RAW_METHOD,
                                 np.where(both["kind_c"].isna(), None, BRIDGE_METHOD)),
    })
    ex_dates = pd.DatetimeIndex(np.concatenate([e.to_numpy() for e in ex])) if ex else pd.DatetimeIndex([])
    return table, _diagnostics(ticker, close_c, tr_c, ex_dates)


def _benchmarks() -> pd.DataFrame:
    path = data_dir() / "benchmarks.csv"
    if not path.exists():
        raise SnapshotError(f"benchmarks file not found: {path}")
    return pd.read_csv(path, dtype=str)


def _ticker_map() -> dict[str, str]:
    """Map every accepted name (universe ticker, price ticker, benchmark) to its price ticker."""
    table = universe()
    mapping = dict(zip(table["price_ticker"], table["price_ticker"], strict=True))
    mapping.update(zip(table["ticker"], table["price_ticker"], strict=True))
    bench = _benchmarks()["ticker"]
    mapping.update(zip(bench, bench, strict=True))
    return mapping


def resolve_price_tickers(tickers=None) -> list[str]:
    """Return price tickers for universe tickers, price tickers or benchmarks (None: all of them).

    Raises
    ------
    UnknownTickerError
        A name that is neither a universe ticker, a price ticker nor a benchmark.

    Examples
    --------
    >>> resolve_price_tickers(["SKHYNIX", "NVDA", "SPY"])
    ['000660.KS', 'NVDA', 'SPY']
    """
    mapping = _ticker_map()
    if tickers is None:
        return list(dict.fromkeys([*universe()["price_ticker"], *_benchmarks()["ticker"]]))
    if isinstance(tickers, str):
        tickers = [tickers]
    out = []
    for t in tickers:
        if t not in mapping:
            raise UnknownTickerError(
                f"unknown ticker {t!r}: not a universe ticker, price ticker or benchmark "
                f"(see data/universe.csv and data/benchmarks.csv)"
            )
        out.append(mapping[t])
    return list(dict.fromkeys(out))


def build_prices(raw_dir: str | Path | None = None, tickers=None, start="2015-01-01", *,
                 sources: pd.DataFrame | None = None, quirks: pd.DataFrame | None = None):
    """Build the spliced daily price table from the raw source files.

    Parameters
    ----------
    raw_dir : str or Path, optional
        The raw ``prices/`` folder (default ``raw_data_dir() / "prices"``).
    tickers : list of str, optional
        Universe tickers (``SKHYNIX``), price tickers (``000660.KS``) or benchmarks (``SPY``);
        default: every universe price ticker and every benchmark.
    start : str or Timestamp, default "2015-01-01"
        First date kept.
    sources, quirks : pandas.DataFrame, optional
        Source descriptions and quirk rules (default: the packaged mapping files).

    Returns
    -------
    prices : pandas.DataFrame
        One row per price ticker and date, columns `COLUMNS`, sorted by ticker then date.
    diagnostics : pandas.DataFrame
        One row per pair of sources of the same kind that overlap (at least 2 common dates),
        columns `DIAGNOSTIC_COLUMNS`: the max absolute difference of daily returns on the common
        dates, the same on non-ex-dividend days only, and ``flag`` = that exceeds
        `RETURN_DIFF_TOLERANCE` (reported, not resolved: the snapshot builder decides).
        ``attrs["links"]`` lists every splice (series, source, anchor date, factor, span).

    Raises
    ------
    SourceFileError
        A malformed file, a ticker with no source, or a gap no source bridges.
    UnknownTickerError
        A name that is not a universe ticker, price ticker or benchmark.
    """
    raw_dir = Path(raw_dir) if raw_dir is not None else raw_data_dir() / "prices"
    if not raw_dir.is_dir():
        raise SourceFileError(f"raw price folder not found: {raw_dir}")
    sources = price_sources() if sources is None else sources
    quirks = price_quirks() if quirks is None else quirks
    start = pd.Timestamp(start)
    tables, diags, links = [], [], []
    for ticker in resolve_price_tickers(tickers):
        table, diag = _build_one(ticker, sources, quirks, raw_dir, start, links)
        tables.append(table)
        diags += diag
    out = pd.concat(tables, ignore_index=True).sort_values(["ticker", "date"], kind="stable")
    diagnostics = pd.DataFrame(diags, columns=list(DIAGNOSTIC_COLUMNS))
    diagnostics["flag"] = diagnostics["flag"].astype(bool)
    diagnostics.attrs["links"] = links
    return out.reset_index(drop=True)[list(COLUMNS)], diagnostics


def extend_on_returns(old: pd.DataFrame, new: pd.DataFrame, source: str) -> tuple[pd.DataFrame, list[dict], list[dict]]:
    """Extend one ticker's snapshot series with newer data, chained on returns (never on levels).

    The snapshot rows are kept unchanged. Each new series (``close``: raw split-adjusted close;
    ``adj_close``: dividend-adjusted close, extending ``total_return_index``) is rescaled by the
    ratio of the two series on the latest date both have on/before the snapshot's last date (the
    anchor), so only its returns after the anchor enter -- the same rule as `build_prices`.

    Parameters
    ----------
    old : pandas.DataFrame
        One ticker's rows of the price table (`COLUMNS`).
    new : pandas.DataFrame
        Columns ``date``, ``close``, ``adj_close`` (e.g. a yfinance download), one row per date.
    source : str
        Name written in ``close_source`` / ``tr_source`` of the new rows.

    Returns
    -------
    table : pandas.DataFrame
        ``old`` plus one row per new date after its last date (`COLUMNS`).
    diagnostics : list of dict
        Rows of `DIAGNOSTIC_COLUMNS` comparing the returns of both sources over the overlap.
    links : list of dict
        The splices made (series, anchor date, factor, first and last new date).

    Raises
    ------
    SourceFileError
        The new data share no date with the snapshot on/before its last date (a gap), or the
        currency of the rows disagree.
    """
    ticker = str(old["ticker"].iloc[0])
    old = old.sort_values("date")
    last = old["date"].max()
    new = new.dropna(subset=["close"]).sort_values("date")
    new = new[~new["date"].duplicated(keep="last")]
    if (new[["close", "adj_close"]] <= 0).any().any():
        raise SourceFileError(f"{ticker} [{source}]: non-positive price(s) in the new data")
    rows = {"date": new.loc[new["date"] > last, "date"].to_numpy()}
    links = []
    for old_col, new_col, what in (("close", "close", "close"), ("total_return_index", "adj_close", "total return")):
        a = pd.Series(old[old_col].to_numpy(), index=pd.DatetimeIndex(old["date"])).dropna()
        b = pd.Series(new[new_col].to_numpy(), index=pd.DatetimeIndex(new["date"])).dropna()
        common = a.index.intersection(b.index[b.index <= last])
        if len(rows["date"]) and not len(common):
            first = b.index[0] if len(b) else None
            raise SourceFileError(
                f"{ticker}: cannot splice the {what} series on returns: the snapshot ends {last:%Y-%m-%d} and "
                f"the {source} data start {first:%Y-%m-%d} with no common date; download from an earlier date")
        if not len(rows["date"]):
            continue
        anchor = common[-1]
        factor = a[anchor] / b[anchor]
        extension = b.reindex(pd.DatetimeIndex(rows["date"]))
        if extension.isna().any():
            missing = extension.index[extension.isna()][0]
            raise SourceFileError(f"{ticker} [{source}]: {new_col} missing on {missing:%Y-%m-%d}")
        rows[old_col] = extension.to_numpy() * factor
        links.append({"ticker": ticker, "series": what, "source": source, "anchor": anchor, "factor": float(factor),
                      "first": rows["date"][0], "last": rows["date"][-1]})
    currency = old["currency"].dropna().unique()
    if len(currency) != 1:
        raise SourceFileError(f"{ticker}: the snapshot rows carry currencies {list(currency)}")
    added = pd.DataFrame({
        "date": pd.DatetimeIndex(rows["date"]), "ticker": ticker,
        "close": rows.get("close", np.array([], dtype=float)),
        "total_return_index": rows.get("total_return_index", np.array([], dtype=float)),
        "currency": currency[0], "close_source": source, "tr_source": source, "close_method": RAW_METHOD,
    })
    table = pd.concat([old[list(COLUMNS)], added[list(COLUMNS)]], ignore_index=True) if len(added) else old[list(COLUMNS)]
    # how well the two sources agree where they overlap (reported in price_diagnostics, not resolved)
    old_close = pd.Series(old["close"].to_numpy(), index=pd.DatetimeIndex(old["date"])).dropna()
    new_close = pd.Series(new["close"].to_numpy(), index=pd.DatetimeIndex(new["date"]))
    new_adj = pd.Series(new["adj_close"].to_numpy(), index=new_close.index).dropna()
    ratio = (new_adj / new_close).dropna().to_numpy()
    ex_dates = new_adj.index[1:][np.abs(ratio[1:] / ratio[:-1] - 1.0) > EX_DIV_RATIO_STEP] if len(ratio) > 1 \
        else pd.DatetimeIndex([])
    old_tr = pd.Series(old["total_return_index"].to_numpy(), index=pd.DatetimeIndex(old["date"])).dropna()
    diagnostics = [
        _compare(ticker, _Candidate("snapshot", 0, "raw", old_close), _Candidate(source, 99, "raw", new_close),
                 "raw", ex_dates),
        _compare(ticker, _Candidate("snapshot", 0, "total return", old_tr),
                 _Candidate(source, 99, "adjusted", new_adj), "total return vs adjusted", ex_dates),
    ]
    return table.reset_index(drop=True), [d for d in diagnostics if d is not None], links






def prices(tickers=None, path: str | Path | None = None) -> pd.DataFrame:
    """Load the committed price snapshot (``data/snapshot/prices.csv``), optionally filtered.

    Parameters
    ----------
    tickers : str or list of str, optional
        Universe tickers (``NVDA``, ``SKHYNIX``), price tickers (``000660.KS``) or benchmarks
        (``SPY``). Default: every ticker in the snapshot.
    path : str or Path, optional
        Another price file; by default the committed snapshot's ``prices.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns `COLUMNS`, one row per price ticker and date.

    Raises
    ------
    UnknownTickerError
        A name that is not a universe ticker, price ticker or benchmark.
    SnapshotError
        No snapshot file, or a known ticker absent from it.
    ArgumentError
        ``tickers`` not a string or list of strings, or ``path`` not a string or path.
    """
    tickers = check_names(tickers, "tickers", "prices")
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise ArgumentError(f"prices: path must be a file path (str or Path), not {type(path).__name__} {path!r}")
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise SnapshotError(f"price snapshot not found: {p} (build it with the snapshot command)")
        table = read_prices_csv(p)
    else:
        from valuechain_lib.snapshot.vintage import (
            table as snapshot_table,  # the committed tables, as of a date if one is set
        )

        p = "the committed snapshot"
        table = snapshot_table("prices")
    if tickers is None:
        return table.copy()
    wanted = resolve_price_tickers(tickers)
    present = set(table["ticker"].unique())
    absent = [t for t in wanted if t not in present]
    if absent:
        if path is None:  # a universe row added since the snapshot was built: say so, name the command
            from valuechain_lib.snapshot.universe import not_yet_fetched, not_yet_fetched_error

            by_price = dict(zip(universe()["price_ticker"], universe()["ticker"], strict=True))
            unfetched = not_yet_fetched("prices")
            new = [by_price[t] for t in absent if by_price.get(t) in unfetched]
            if new:
                raise not_yet_fetched_error(new, "prices")
        raise SnapshotError(f"{p}: no rows for {absent}; rebuild the price snapshot")
    return table[table["ticker"].isin(wanted)].reset_index(drop=True)


# --------------------------------------------------------------------------- pure helpers
def last_complete_date(prices_df: pd.DataFrame) -> pd.Series:
    """Return, per ticker, the last date with a non-missing close.

    Returns
    -------
    pandas.Series
        Indexed by ticker, named ``last_complete_date``; NaT for a ticker with no close at all.
    """
    complete = prices_df["date"].where(prices_df["close"].notna())
    return complete.groupby(prices_df["ticker"], sort=True).max().rename("last_complete_date")


def _period_return(prices_df: pd.DataFrame, column: str, start, end, name: str) -> pd.Series:
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if end < start:
        raise ValueError(f"end {end:%Y-%m-%d} is before start {start:%Y-%m-%d}")
    out = {}
    for ticker, g in prices_df[["ticker", "date", column]].groupby("ticker", sort=True):
        g = g[g[column].notna()].sort_values("date")
        dates, values = g["date"].to_numpy(), g[column].to_numpy()
        i = np.searchsorted(dates, start.to_datetime64(), side="right") - 1
        j = np.searchsorted(dates, end.to_datetime64(), side="right") - 1
        if i < 0 or j < 0 or dates[-1] < start.to_datetime64():
            out[ticker] = np.nan  # no close on/before start, or the series ended before start
        else:
            out[ticker] = values[j] / values[i] - 1.0
    result = pd.Series(out, name=name, dtype="float64")
    result.index.name = "ticker"
    return result


def price_return(prices_df: pd.DataFrame, start, end) -> pd.Series:
    """Per-ticker price return from the close on/before ``start`` to the close on/before ``end``.

    Parameters
    ----------
    prices_df : pandas.DataFrame
        A price table (`COLUMNS`).
    start, end : str or Timestamp
        Period bounds (``end >= start``).

    Returns
    -------
    pandas.Series
        Indexed by ticker, named ``price_return``. NaN (never 0) where the ticker has no close
        on/before ``start`` or its data end before ``start``.

    Examples
    --------
    >>> df = pd.DataFrame({"date": pd.to_datetime(["2026-01-02", "2026-01-05"]), "ticker": "X",
    ...                    "close": [100.0, 110.0], "total_return_index": [100.0, 111.0]})
    >>> round(float(price_return(df, "2026-01-02", "2026-01-06")["X"]), 12)
    0.1
    """
    return _period_return(prices_df, "close", start, end, "price_return")


def total_return(prices_df: pd.DataFrame, start, end) -> pd.Series:
    """Per-ticker total return (dividends included), same conventions as `price_return`.

    Returns
    -------
    pandas.Series
        Indexed by ticker, named ``total_return``; NaN (never 0) where there is no data.
    """
    return _period_return(prices_df, "total_return_index", start, end, "total_return")
