"""The universe of companies and layers, read from ``data/universe.csv`` (one row a company).

Adding a company is adding one row. Every field has a fixed vocabulary, checked when the file is
read; a bad value stops with one line naming the file, line, ticker and field, and the allowed values:

========================  ==================================================================================
field                     allowed values
========================  ==================================================================================
``ticker``                the book's short name (letters, digits, ``.`` or ``-``), unique
``name``                  the company's name, as SEC spells it up to case, punctuation and suffixes (a
                          refresh refuses a companyfacts file whose entity name does not match)
``layer``                 `LAYERS`
``sub_layer``             `SUB_LAYERS`
``cik``                   SEC Central Index Key, digits (leading zeros optional); empty for a company
                          with no SEC filings (prices only)
``fiscal_year_end_month`` 1-12, the month the fiscal year ends in
``fiscal_52_53_week``     ``true`` (the year ends on a weekday near month end) or ``false``
``currency``              the reporting currency, an ISO 4217 code (``USD``, ``TWD``, ``KRW``)
``price_ticker``          Yahoo Finance symbol (``SMCI``, ``000660.KS``)
``sec_source``            `SEC_SOURCES`, or empty (prices only)
``colour``                optional ``#RRGGBB``; empty takes an unused house-palette colour
========================  ==================================================================================

A row added after the snapshot was built is "not yet fetched" until ``python -m valuechain_lib
refresh`` downloads it: `not_yet_fetched` names such rows, readers asked for them raise
`NotYetFetchedError`, and aggregates leave them out and name them.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pandas as pd

from valuechain_lib.errors import SnapshotError, SourceFileError, UnknownTickerError, ValueChainError
from valuechain_lib.paths import data_dir

LAYERS = ("upstream", "midstream", "downstream")
SUB_LAYERS = (
    "GPU", "CPU", "memory", "foundry", "custom silicon", "servers", "networking",
    "hyperscaler", "neocloud", "model provider", "application software",
)
SEC_SOURCES = ("companyfacts", "flujo")
REQUIRED_COLUMNS = (
    "ticker", "name", "layer", "sub_layer", "cik", "fiscal_year_end_month",
    "fiscal_52_53_week", "currency", "price_ticker", "sec_source",
)
#: Optional columns: a company without them still loads (``colour`` falls back to the house palette).
OPTIONAL_COLUMNS = ("colour",)
#: Fields that may be left empty (``cik`` only when ``sec_source`` is empty too).
MAY_BE_EMPTY = ("cik", "sec_source", "colour")
_HEX = r"^#[0-9A-Fa-f]{6}$"
_TICKER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_BOOLEAN = {"true": True, "false": False}

#: The reason aggregates give for a company they leave out because the snapshot has nothing for it yet
#: (plain words: pages print it in sentences).
NOT_YET_FETCHED = "not yet fetched: added to data/universe.csv after the snapshot was built"
REFRESH_COMMAND = "python -m valuechain_lib refresh"


class NotYetFetchedError(SnapshotError):
    """A universe company (or its prices) that the snapshot does not hold yet: run a refresh."""


# --------------------------------------------------------------------------- reading and checking the file
def _allowed(values) -> str:
    return ", ".join(values)


def _field_problem(field: str, value: str, row: dict) -> str | None:
    """What is wrong with one field of one row (None when it is fine)."""
    if value == "":
        if field not in MAY_BE_EMPTY:
            return "is missing (a short row, or an empty field)"
        if field == "cik" and row.get("sec_source", "") != "":
            return f"is missing, but sec_source is {row['sec_source']!r}: an SEC source needs the company's CIK"
        return None
    checks = {
        "ticker": (lambda v: bool(_TICKER.match(v)), "must be letters, digits, '.' or '-' (no spaces)"),
        "layer": (lambda v: v in LAYERS, f"is not one of: {_allowed(LAYERS)}"),
        "sub_layer": (lambda v: v in SUB_LAYERS, f"is not one of: {_allowed(SUB_LAYERS)}"),
        "cik": (lambda v: v.isdigit() and 0 < int(v) < 10**10,
                "is not a CIK: SEC's Central Index Key, digits only (e.g. 1375365 or 0001375365)"),
        "fiscal_year_end_month": (lambda v: v.isdigit() and 1 <= int(v) <= 12,
                                  "is not a month: the number 1-12 of the month the fiscal year ends in"),
        "fiscal_52_53_week": (lambda v: v.lower() in _BOOLEAN, "is not one of: true, false"),
        "currency": (lambda v: bool(_CURRENCY.match(v)), "is not an ISO 4217 currency code such as USD, TWD, KRW"),
        "price_ticker": (lambda v: " " not in v, "must be a Yahoo Finance symbol without spaces (e.g. 000660.KS)"),
        "sec_source": (lambda v: v in SEC_SOURCES, f"is not one of: {_allowed(SEC_SOURCES)}, or empty (prices only)"),
        "colour": (lambda v: bool(re.match(_HEX, v)), "is not a #RRGGBB hex colour (or empty for a palette colour)"),
    }
    if field in checks:
        ok, why = checks[field]
        if not ok(value):
            return why
    return None


def check_rows(header: list[str], rows: list[tuple[int, list[str]]], path) -> list[str]:
    """Return one line per problem in a universe file's header and rows (empty when all is well).

    Parameters
    ----------
    header : list of str
        The file's column names.
    rows : list of (int, list of str)
        Each row's line number in the file and its fields as written.
    path : str or Path
        The file, named in every line.

    Returns
    -------
    list of str
        ``"<path> line <n> (<ticker>): <field> <value> <what is wrong; the allowed values>"``.
    """
    known = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
    problems = []
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        problems.append(f"{path}: missing column(s) {', '.join(missing)}; the columns are: {_allowed(known)}")
    unknown = [c for c in header if c not in known]
    if unknown:
        problems.append(f"{path}: unknown column(s) {', '.join(unknown)}; the columns are: {_allowed(known)}")
    if problems:
        return problems
    first_line: dict[str, int] = {}
    for line, fields in rows:
        row = dict(zip(header, [f.strip() for f in fields], strict=False))
        ticker = row.get("ticker", "")
        where = f"{path} line {line} ({ticker or 'no ticker'})"
        if len(fields) > len(header):
            problems.append(f"{where}: {len(fields)} fields, but the header has {len(header)}: "
                            "a comma inside a value must be quoted")
            continue
        absent = [f for f in header[len(fields):] if f not in MAY_BE_EMPTY]
        if absent:
            problems.append(f"{where}: {len(fields)} fields, but the header has {len(header)} (a short row): "
                            f"no {', '.join(absent)}")
            continue
        for field in header:
            value = row.get(field, "")
            why = _field_problem(field, value, row)
            if why:
                problems.append(f"{where}: {field} {value!r} {why}" if value else f"{where}: {field} {why}")
        if ticker in first_line:
            problems.append(f"{where}: ticker {ticker!r} repeats line {first_line[ticker]}; one row a company")
        first_line.setdefault(ticker, line)
    return problems


def _frame(header: list[str], rows: list[tuple[int, list[str]]]) -> pd.DataFrame:
    """The checked rows as the table `universe` returns (typed columns, missing values as NA)."""
    records = [dict(zip(header, [f.strip() for f in fields], strict=False)) for _, fields in rows]
    frame = pd.DataFrame(records, columns=header).fillna("")
    out = pd.DataFrame({c: frame[c].replace("", None) for c in header})
    out["ticker"] = frame["ticker"].astype(object)
    out["cik"] = pd.array([int(v) if v else pd.NA for v in frame["cik"]], dtype="Int64")
    out["fiscal_year_end_month"] = frame["fiscal_year_end_month"].astype(int)
    out["fiscal_52_53_week"] = frame["fiscal_52_53_week"].str.lower().map(_BOOLEAN).astype(bool)
    out["sec_source"] = out["sec_source"].astype("string")
    out["colour"] = (out["colour"] if "colour" in out else pd.Series(pd.NA, index=out.index)).astype("string")
    return out


def _load(path: str) -> pd.DataFrame:
    p = Path(path)
    if not p.exists():
        raise SourceFileError(f"universe file not found: {p}")
    info = p.stat()
    return _load_stamped(path, (info.st_mtime_ns, info.st_size))


@lru_cache(maxsize=8)
def _load_stamped(path: str, stamp: tuple) -> pd.DataFrame:
    # ``stamp`` (mtime, size) keys the cache: a row edited in a running notebook is read again.
    p = Path(path)
    with open(p, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader, [])]
        rows = []
        for fields in reader:
            if any(f.strip() for f in fields):  # blank lines are allowed
                rows.append((reader.line_num, fields))
    problems = check_rows(header, rows, p)
    if problems:
        raise SourceFileError("\n".join(problems))
    return _frame(header, rows)


_load.cache_clear = _load_stamped.cache_clear


def universe(path: str | Path | None = None) -> pd.DataFrame:
    """Return the universe table: one row per company.

    Parameters
    ----------
    path : str or Path, optional
        A universe CSV; defaults to ``universe.csv`` in the snapshot folder.

    Returns
    -------
    pandas.DataFrame
        Columns ``ticker, name, layer, sub_layer, cik, fiscal_year_end_month, fiscal_52_53_week,
        currency, price_ticker, sec_source, colour`` (``colour`` may be missing: charts then take
        one from the house palette, see `valuechain_lib.publish.book.company_colors`). ``sec_source`` is
        ``companyfacts`` (SEC XBRL), ``flujo`` (a third-party derived statement file, secondary) or
        missing (prices only). The vocabulary of every field is in the module docstring.

    Raises
    ------
    SourceFileError
        One line per bad field: file, line, ticker, field, value and the allowed values.

    Examples
    --------
    >>> u = universe()
    >>> u.set_index("ticker").loc["NVDA", "layer"]
    'upstream'
    """
    return _load(str(Path(path) if path else data_dir() / "universe.csv")).copy()


def members(layer: str | None = None, sub_layer: str | None = None, table: pd.DataFrame | None = None) -> list[str]:
    """Return the tickers of a group of companies (a layer, a sub-layer, or both), in universe order.

    The book's groups ("the hyperscalers", "the neoclouds", "upstream") are defined here only, by the
    ``layer`` and ``sub_layer`` columns of ``data/universe.csv``: adding a row adds the company to its groups.

    Parameters
    ----------
    layer : str, optional
        One of `LAYERS`.
    sub_layer : str, optional
        One of `SUB_LAYERS`.
    table : pandas.DataFrame, optional
        The universe (default `universe`).

    Returns
    -------
    list of str
        Tickers in the order of ``data/universe.csv``; every company when neither is given.

    Raises
    ------
    ValueChainError
        A layer or sub-layer not in the vocabulary (the message lists the allowed values).

    Examples
    --------
    >>> members(sub_layer="hyperscaler")
    ['MSFT', 'AMZN', 'GOOGL', 'META', 'ORCL']
    """
    for argument, value, allowed in (("layer", layer, LAYERS), ("sub_layer", sub_layer, SUB_LAYERS)):
        if value is not None and value not in allowed:
            raise ValueChainError(f"members: {argument} {value!r} is not one of: {_allowed(allowed)}")
    table = universe() if table is None else table
    keep = pd.Series(True, index=table.index)
    if layer is not None:
        keep &= table["layer"] == layer
    if sub_layer is not None:
        keep &= table["sub_layer"] == sub_layer
    return table.loc[keep, "ticker"].tolist()


def company(ticker: str, table: pd.DataFrame | None = None) -> pd.Series:
    """Return one company's universe row, or raise `UnknownTickerError` naming the ticker."""
    table = universe() if table is None else table
    hit = table[table["ticker"] == ticker]
    if hit.empty:
        raise UnknownTickerError(
            f"unknown ticker {ticker!r}: not in the universe file "
            f"(known: {', '.join(table['ticker'])}). Add a row to data/universe.csv."
        )
    return hit.iloc[0]


def check_tickers(tickers, table: pd.DataFrame | None = None) -> list[str]:
    """Return ``tickers`` as a list after checking each is in the universe (``None`` means all)."""
    table = universe() if table is None else table
    if tickers is None:
        return table["ticker"].tolist()
    if isinstance(tickers, str):
        tickers = [tickers]
    for t in tickers:
        company(t, table)
    return list(tickers)


# --------------------------------------------------------------------------- rows the snapshot does not hold yet
@lru_cache(maxsize=8)
def _tickers_in(name: str, folder: str, stamp: tuple) -> frozenset:
    from valuechain_lib.snapshot.store import load_table

    return frozenset(load_table(name)["ticker"].dropna().unique())


def snapshot_tickers(name: str) -> frozenset:
    """The tickers the live snapshot's ``financials`` or ``prices`` table holds (whatever date is set)."""
    from valuechain_lib.snapshot.store import TABLE_FILES, _live_folder

    path = _live_folder(None) / TABLE_FILES[name]
    info = path.stat()
    return _tickers_in(name, str(path.parent), (info.st_mtime_ns, info.st_size))


def not_yet_fetched(kind: str = "financials", table: pd.DataFrame | None = None) -> dict[str, str]:
    """Universe rows the snapshot has nothing for yet, with the reason aggregates print.

    Parameters
    ----------
    kind : {"financials", "prices"}
        ``financials``: rows with an SEC source and no filings in the snapshot; ``prices``: rows whose
        price ticker has no series in the snapshot.
    table : pandas.DataFrame, optional
        The universe (default `universe`).

    Returns
    -------
    dict
        Universe ticker → `NOT_YET_FETCHED`, in universe order; empty when the snapshot holds every row.
    """
    if kind not in ("financials", "prices"):
        raise ValueError(f"kind must be 'financials' or 'prices', not {kind!r}")
    table = universe() if table is None else table
    held = snapshot_tickers(kind)
    if kind == "financials":
        rows = table[table["sec_source"].notna() & ~table["ticker"].isin(held)]
    else:
        rows = table[~table["price_ticker"].isin(held)]
    return dict.fromkeys(rows["ticker"], NOT_YET_FETCHED)


def lacking_in_snapshot(table: pd.DataFrame | None = None) -> dict[str, list[str]]:
    """Universe rows not yet fetched, with what the snapshot lacks for each (``filings``, ``prices``).

    Returns
    -------
    dict
        Ticker → the kinds of data missing, in universe order; empty when the snapshot holds every row.
    """
    table = universe() if table is None else table
    kinds = {"filings": not_yet_fetched("financials", table), "prices": not_yet_fetched("prices", table)}
    return {t: [kind for kind, rows in kinds.items() if t in rows] for t in table["ticker"]
            if any(t in rows for rows in kinds.values())}


def not_yet_fetched_error(tickers, kind: str = "financials", table: pd.DataFrame | None = None) -> NotYetFetchedError:
    """The error a reader raises for universe ``tickers`` the snapshot does not hold yet (one line)."""
    table = universe() if table is None else table
    names = table.set_index("ticker")["name"]
    listed = ", ".join(f"{t} ({names.get(t, t)})" for t in tickers)
    what = "filings" if kind == "financials" else "prices"
    return NotYetFetchedError(
        f"{listed} {'is' if len(tickers) == 1 else 'are'} in data/universe.csv but not yet fetched: the snapshot "
        f"has no {what} for {'it' if len(tickers) == 1 else 'them'}; run `{REFRESH_COMMAND}` to fetch "
        f"{'it' if len(tickers) == 1 else 'them'}")


# --------------------------------------------------------------------------- the CIK the snapshot was built with
#: Filing agents whose CIK prefixes the accession numbers of filings they submit for many companies
#: (Donnelley, Workiva, Toppan Merrill, Broadridge, EdgarAgents, ...): such a prefix says nothing of the filer.
FILING_AGENT_CIKS = frozenset({1193125, 1628280, 1564590, 950170, 950123, 950103, 1104659, 1140361, 1213900,
                               1437749, 1558370})


def snapshot_cik(ticker: str, companies: dict) -> tuple[int, str] | None:
    """The CIK the snapshot's filings of ``ticker`` were built with, and how that is known; None if unknown.

    A refreshed snapshot records the CIK in its manifest. Otherwise the accession numbers tell: an
    accession starts with the CIK of whoever submitted the filing, the company itself or a filing agent;
    a prefix that no other company in the snapshot shares, and no known agent has, on at least half of
    the company's accessions is the company's own CIK.

    Parameters
    ----------
    ticker : str
    companies : dict
        The manifest's ``companies`` mapping (ticker → ``accessions``, optionally ``cik``).
    """
    info = companies.get(ticker) or {}
    if info.get("cik") is not None:
        return int(info["cik"]), "recorded in the snapshot's manifest"
    counts = Counter(int(a.split("-")[0]) for a in info.get("accessions", []) if a and "-" in a)
    if not counts:
        return None
    others = {int(a.split("-")[0]) for t, i in companies.items() if t != ticker
              for a in i.get("accessions", []) if a and "-" in a}
    own = {p: n for p, n in counts.items() if p not in others and p not in FILING_AGENT_CIKS}
    if not own:
        return None
    prefix, n = max(own.items(), key=lambda item: item[1])
    total = sum(counts.values())
    if 2 * n < total:
        return None
    return prefix, f"{n} of its {total} accession numbers in the snapshot carry it"


def cik_mismatches(table: pd.DataFrame, manifest: dict, path="data/universe.csv") -> list[str]:
    """One line per universe row whose CIK differs from the CIK the snapshot was built with for that ticker.

    Parameters
    ----------
    table : pandas.DataFrame
        The universe.
    manifest : dict
        The snapshot's manifest (see `snapshot_cik`).
    path : str
        The universe file, named in each line.

    Returns
    -------
    list of str
        Empty when every row's CIK agrees with the snapshot (or the snapshot cannot tell).
    """
    companies = manifest.get("companies", {})
    lines = []
    for row in table[table["sec_source"].notna() & table["cik"].notna()].itertuples(index=False):
        if row.ticker not in companies:
            continue
        built = snapshot_cik(row.ticker, companies)
        if built is not None and built[0] != int(row.cik):
            lines.append(f"{path} ({row.ticker}): cik {int(row.cik)} differs from CIK {built[0]}, the CIK the "
                         f"snapshot's {row.ticker} filings were built with ({built[1]}): fix the row, or run "
                         f"`{REFRESH_COMMAND}` to fetch CIK {int(row.cik)}")
    return lines


@lru_cache(maxsize=4)
def _cik_problems(universe_path: str, manifest_path: str, stamp: tuple) -> tuple[str, ...]:
    with open(manifest_path, encoding="utf-8") as handle:
        manifest = json.load(handle)
    return tuple(cik_mismatches(_load(universe_path), manifest, universe_path))


def check_snapshot_ciks() -> None:
    """Raise `SourceFileError` (one line per row) when a universe CIK differs from the snapshot's.

    A changed CIK means the snapshot holds another filer's figures under that ticker (or the row is
    wrong): readers refuse to serve them until the row is fixed or a refresh fetches the new CIK.
    """
    from valuechain_lib.snapshot.store import _live_folder

    manifest_path = _live_folder(None) / "manifest.json"
    info = manifest_path.stat()
    universe_path = data_dir() / "universe.csv"
    if not universe_path.exists():  # `universe` names the missing file where it is read
        return
    u_info = universe_path.stat()
    problems = _cik_problems(str(universe_path), str(manifest_path),
                             (info.st_mtime_ns, info.st_size, u_info.st_mtime_ns, u_info.st_size))
    if problems:
        raise SourceFileError("\n".join(problems))
