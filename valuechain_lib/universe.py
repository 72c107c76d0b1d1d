"""The universe of companies and layers, read from ``data/universe.csv`` (one row a company)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from .errors import SourceFileError, UnknownTickerError
from .paths import data_dir

LAYERS = ("upstream", "midstream", "downstream")
SUB_LAYERS = (
    "GPU", "CPU", "memory", "foundry", "custom silicon",
    "hyperscaler", "neocloud", "model provider", "application software",
)
REQUIRED_COLUMNS = (
    "ticker", "name", "layer", "sub_layer", "cik", "fiscal_year_end_month",
    "fiscal_52_53_week", "currency", "price_ticker", "sec_source",
)
#: Optional columns: a company without them still loads (``colour`` falls back to the house palette).
OPTIONAL_COLUMNS = ("colour",)
_HEX = r"^#[0-9A-Fa-f]{6}$"


def _validate(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise SourceFileError(f"{path}: missing column(s) {missing}")
    dup = frame["ticker"][frame["ticker"].duplicated()].tolist()
    if dup:
        raise SourceFileError(f"{path}: duplicate ticker(s) {dup}")
    for _, row in frame.iterrows():
        where = f"{path}: ticker {row['ticker']}"
        if row["layer"] not in LAYERS:
            raise SourceFileError(f"{where}: layer {row['layer']!r} is not one of {LAYERS}")
        if row["sub_layer"] not in SUB_LAYERS:
            raise SourceFileError(f"{where}: sub_layer {row['sub_layer']!r} is not one of {SUB_LAYERS}")
        if not 1 <= int(row["fiscal_year_end_month"]) <= 12:
            raise SourceFileError(f"{where}: fiscal_year_end_month must be 1-12")
        if pd.notna(row["sec_source"]) and pd.isna(row["cik"]):
            raise SourceFileError(f"{where}: sec_source given without a CIK")
    if "colour" not in frame.columns:
        frame["colour"] = pd.NA
    frame["colour"] = frame["colour"].astype("string")
    bad = frame[frame["colour"].notna() & ~frame["colour"].str.match(_HEX, na=False)]
    if not bad.empty:
        row = bad.iloc[0]
        raise SourceFileError(f"{path}: ticker {row['ticker']}: colour {row['colour']!r} is not a #RRGGBB hex colour")
    return frame


@lru_cache(maxsize=4)
def _load(path: str) -> pd.DataFrame:
    p = Path(path)
    if not p.exists():
        raise SourceFileError(f"universe file not found: {p}")
    frame = pd.read_csv(
        p,
        dtype={"ticker": str, "cik": "Int64", "fiscal_year_end_month": int, "price_ticker": str},
        true_values=["true", "True"], false_values=["false", "False"],
    )
    frame["sec_source"] = frame["sec_source"].astype("string")
    return _validate(frame, p)


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
        one from the house palette, see `valuechain_lib.charts.company_colors`). ``sec_source`` is ``companyfacts`` (SEC XBRL),
        ``flujo`` (a third-party derived statement file, secondary) or missing (prices only).

    Examples
    --------
    >>> u = universe()
    >>> u.set_index("ticker").loc["NVDA", "layer"]
    'upstream'
    """
    return _load(str(Path(path) if path else data_dir() / "universe.csv")).copy()


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
