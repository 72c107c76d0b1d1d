"""The snapshot as it stood on a date: filings, prices and cited facts published on or before it.

A verdict "at the essay's date" must use only what a reader could have seen then. The snapshot keeps
every value each XBRL tag has carried for a period, dated by the first filing that carried it (the
``vintages`` table); keeping, per tag and period, the last value filed on or before the date and
re-running the period rules gives the statements as they stood, restatements undone. Prices are cut
at the date; facts-table rows count once their source was published.

Use it as a context: inside ``with as_of("2026-07-02"):`` the public readers (`financials`, `prices`,
`facts`) answer as of that date.

The other axis is the vintage of each value: ``financials(..., vintage="first")`` gives every value as
first filed (`first_filed`), before any later filing restated it; ``"latest"`` (the default) gives the
value the latest filing carries. Inside `as_of`, "first" means first filed among the filings published
by the date.

Examples
--------
>>> from valuechain_lib import financials
>>> with as_of("2025-11-30"):
...     q = financials("NVDA", freq="Q", metrics="revenue")
>>> q.dropna(subset=["value"])["period_end"].max().date()
datetime.date(2025, 10, 26)
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

import pandas as pd

from valuechain_lib.errors import ValueChainError
from valuechain_lib.snapshot.quarters import tidy_periods
from valuechain_lib.snapshot.standardize import canonical_metrics, place_in_calendar
from valuechain_lib.snapshot.store import FIRST_FISCAL_YEAR, _live_folder, load_table
from valuechain_lib.snapshot.universe import universe

_AS_OF: ContextVar[pd.Timestamp | None] = ContextVar("valuechain_as_of", default=None)


def current() -> pd.Timestamp | None:
    """The date the readers answer for, or None for the snapshot as it is (the latest values)."""
    return _AS_OF.get()


@contextmanager
def as_of(date):
    """Within the block, `financials`, `prices` and `facts` see only what was published by ``date``.

    Parameters
    ----------
    date : str or pandas.Timestamp
        A day (``"2026-07-02"``); ``None`` means the snapshot as it is.
    """
    stamp = None if date is None else pd.Timestamp(date).normalize()
    token = _AS_OF.set(stamp)
    try:
        yield stamp
    finally:
        _AS_OF.reset(token)


def values_as_of(vintages: pd.DataFrame, date) -> pd.DataFrame:
    """Per tag and period, the last value filed on or before ``date``.

    Parameters
    ----------
    vintages : pandas.DataFrame
        Rows of the snapshot's ``vintages`` table (one per value a tag carried for a period).
    date : str or pandas.Timestamp

    Returns
    -------
    pandas.DataFrame
        One row per (ticker, metric, tag, unit, start, end): the value a reader saw on ``date``.
    """
    keys = ["ticker", "metric", "tag", "unit", "start", "end"]
    seen = vintages[vintages["filed"] <= pd.Timestamp(date)]
    seen = seen.sort_values([*keys, "filed"], na_position="first", kind="stable")
    return seen.drop_duplicates(keys, keep="last").reset_index(drop=True)


def first_values(vintages: pd.DataFrame) -> pd.DataFrame:
    """Per tag and period, the value as first filed (before any restatement)."""
    keys = ["ticker", "metric", "tag", "unit", "start", "end"]
    ordered = vintages.sort_values([*keys, "filed"], na_position="first", kind="stable")
    return ordered.drop_duplicates(keys, keep="first").reset_index(drop=True)


def rebuild(values: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the period rules on one value per tag and period; return (financials, facts_reported)."""
    if values.empty:
        raise ValueChainError("no filed values to rebuild the statements from")
    # The period rules need only a company's fiscal calendar, so the companies sharing one (most end their
    # year in December) are placed in one call: the rules' cost is mostly per call, not per row.
    companies = universe().set_index("ticker")
    calendar = ["fiscal_year_end_month", "fiscal_52_53_week"]
    calendars = companies.loc[sorted(values["ticker"].unique()), calendar]
    reported = [place_in_calendar(values[values["ticker"].isin(group.index)].reset_index(drop=True), group.iloc[0])
                for _, group in calendars.groupby(calendar, sort=True)]
    reported = pd.concat(reported, ignore_index=True)
    reported = reported.sort_values(["ticker", "metric", "period_end", "duration"], kind="stable")
    reported = reported[reported["fiscal_year"] >= FIRST_FISCAL_YEAR].reset_index(drop=True)
    return tidy_periods(reported, canonical_metrics()), reported


@lru_cache(maxsize=8)
def _tables_as_of(folder: str, stamp: int, date: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    return rebuild(values_as_of(load_table("vintages"), date))


@lru_cache(maxsize=4)
def _tables_first_filed(folder: str, stamp: int, date: pd.Timestamp | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = load_table("vintages")
    if date is not None:
        rows = rows[rows["filed"] <= date]
    return rebuild(first_values(rows))


def _cache_key() -> tuple[str, int]:
    """The live snapshot folder and its vintages file's modification time, so a rewritten snapshot is reread."""
    folder = _live_folder(None)
    return str(folder), (folder / "vintages.csv").stat().st_mtime_ns


#: The vintages `financials` accepts: the value the latest filing carries, or the value as first filed.
VINTAGES = ("latest", "first")


def check_vintage(vintage, where: str) -> str:
    """Return ``vintage`` if it is one of `VINTAGES`, else raise naming the function and the choices.

    Parameters
    ----------
    vintage : str
        As given by the caller.
    where : str
        The public function's name, for the message.

    Returns
    -------
    str

    Raises
    ------
    ValueChainError
        ``"financials: vintage must be one of ('latest', 'first'), not 'orig'"`` (`ArgumentError` for a
        value that is not a string).
    """
    from valuechain_lib.calc.metrics import check_choice

    return check_choice(vintage, "vintage", where, VINTAGES)


def table(name: str, vintage: str = "latest") -> pd.DataFrame:
    """A snapshot table as the readers should see it now: as of `current` when a date is set.

    Parameters
    ----------
    name : str
        A snapshot table (see `valuechain_lib.snapshot.store.TABLE_FILES`).
    vintage : {"latest", "first"}
        For ``financials`` and ``facts_reported``: the values as the latest filing carries them, or as
        first filed (`first_filed`). Other tables have one vintage and ignore it.

    Returns
    -------
    pandas.DataFrame
    """
    check_vintage(vintage, "table")
    date = current()
    if vintage == "first" and name in ("financials", "facts_reported"):
        return first_filed(name)
    if date is None or name not in ("financials", "facts_reported", "prices"):
        return load_table(name)
    if name == "prices":
        frame = load_table("prices")
        return frame[frame["date"] <= date].reset_index(drop=True)
    tidy, reported = _tables_as_of(*_cache_key(), date)
    return (tidy if name == "financials" else reported).copy()


def first_filed(name: str = "financials") -> pd.DataFrame:
    """The statements with every value as first filed, before later restatements.

    Per tag and period the first value any filing carried (`first_values`), run through the same period
    rules as the latest values; inside `as_of` only filings published by the date count.

    Parameters
    ----------
    name : {"financials", "facts_reported"}
        The tidy table or the reported facts it is derived from.

    Returns
    -------
    pandas.DataFrame
        The table's columns; ``accession`` and ``filed`` name the filing that first carried each value.
    """
    if name not in ("financials", "facts_reported"):
        raise ValueChainError(f"first_filed: {name!r} has no vintages; use 'financials' or 'facts_reported'")
    tidy, reported = _tables_first_filed(*_cache_key(), current())
    return (tidy if name == "financials" else reported).copy()
