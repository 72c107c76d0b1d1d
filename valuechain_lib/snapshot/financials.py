"""The public view of the snapshot's financial statements: `financials`."""

from __future__ import annotations

import pandas as pd

from valuechain_lib.calc.aggregate import calendar_years
from valuechain_lib.calc.metrics import ArgumentError, check_choice, check_flag, check_names
from valuechain_lib.calc.periods import period_labels
from valuechain_lib.errors import UnknownMetricError, ValueChainError
from valuechain_lib.snapshot.standardize import canonical_metrics, check_metric
from valuechain_lib.snapshot.universe import (
    check_snapshot_ciks,
    check_tickers,
    not_yet_fetched,
    not_yet_fetched_error,
)
from valuechain_lib.snapshot.vintage import check_vintage
from valuechain_lib.snapshot.vintage import table as snapshot_table

FREQS = ("Q", "FY", "TTM")


def financials(tickers=None, freq: str = "Q", calendar: bool = False, metrics=None,
               vintage: str = "latest") -> pd.DataFrame:
    """Return the tidy table of financial statement figures from the committed snapshot.

    Parameters
    ----------
    tickers : str or list of str, optional
        Universe tickers; all companies with SEC data when omitted. An unknown ticker raises
        `UnknownTickerError` naming it; a universe row the snapshot holds no filings for yet raises
        `NotYetFetchedError` (run ``python -m valuechain_lib refresh``).
    freq : {"Q", "FY", "TTM"}
        Discrete fiscal quarters (derived from year-to-date figures where not reported), fiscal
        years, or trailing twelve months (sum of four consecutive quarters; balance-sheet metrics
        at the period end).
    calendar : bool
        With ``True``, periods are labelled and aligned by calendar: quarters (and TTM) keep their
        calendar quarter (the one whose end is nearest the fiscal period end), and ``freq="FY"``
        gives calendar years built from four calendar-aligned quarters (``fiscal_period`` ``CY``),
        so companies with different fiscal years can be added up.
    metrics : str or list of str, optional
        Canonical metric names (see `valuechain_lib.snapshot.standardize.canonical_metrics`).
    vintage : {"latest", "first"}
        ``"latest"``: each value as the latest filing carries it (restatements applied). ``"first"``:
        each value as first filed, before any later filing restated it (`valuechain_lib.snapshot.vintage.first_filed`);
        ``accession`` and ``filed`` then name the filing that first carried it. Anything else raises.

    Returns
    -------
    pandas.DataFrame
        Columns ``ticker, metric, freq, fiscal_year, fiscal_period, fiscal_label, period_start, period_end,
        calendar_year, calendar_quarter, quarter_end, calendar_label, value, unit, accession, form, filed, tag,
        source, derivation, missing_reason``. The labels are made here once, so no consumer rebuilds them
        (`valuechain_lib.calc.periods.period_labels`): ``fiscal_label`` the company's own period (``FY2027 Q1``,
        ``FY2026``; missing for calendar years), ``quarter_end`` the last day of the calendar quarter the row
        is placed in (of the calendar year where there is no quarter), ``calendar_label`` its name
        (``2026 Q1``, ``2025``); both missing where the row has no calendar period. ``value`` is in units of ``unit`` (USD, TWD), not millions;
        capex is a positive outflow; a missing value is NaN with ``missing_reason`` set. Inside
        ``with valuechain_lib.snapshot.vintage.as_of(date):`` the figures are those filed by ``date``.
        ``attrs["not_yet_fetched"]`` names (ticker → reason) the universe rows left out because the
        snapshot has nothing for them yet, so an aggregate over the result can name them.

    Examples
    --------
    >>> q = financials("NVDA", metrics="revenue")
    >>> last = q.iloc[-1]
    >>> (int(last["fiscal_year"]), last["fiscal_period"], int(last["calendar_year"]), int(last["calendar_quarter"]))
    (2027, 'Q1', 2026, 1)
    >>> last[["fiscal_label", "calendar_label"]].tolist(), f"{last['quarter_end']:%Y-%m-%d}"
    (['FY2027 Q1', '2026 Q1'], '2026-03-31')
    """
    tickers = check_names(tickers, "tickers", "financials")
    check_choice(freq, "freq", "financials", FREQS)
    check_flag(calendar, "calendar", "financials")
    metrics = check_names(metrics, "metrics", "financials")
    check_vintage(vintage, "financials")
    check_snapshot_ciks()
    table = snapshot_table("financials", vintage=vintage)
    unfetched = not_yet_fetched("financials")
    if tickers is not None:
        wanted = check_tickers(tickers)
        asked = [t for t in wanted if t in unfetched]
        if asked:
            raise not_yet_fetched_error(asked)
        unfetched = {}
        present = set(table["ticker"])
        no_data = [t for t in wanted if t not in present]
        if no_data:
            raise ValueChainError(f"no SEC financial data in the snapshot for {no_data} (prices only)")
        table = table[table["ticker"].isin(wanted)]
    if metrics is not None:
        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        for m in metrics:
            check_metric(m)
        table = table[table["metric"].isin(metrics)]
    if calendar and freq == "FY":
        years = calendar_years(table, canonical_metrics())
        years["fiscal_period"] = "CY"
        years["fiscal_year"] = pd.NA
        for col in ("accession", "form", "filed", "tag", "source"):
            years[col] = pd.NA
        out = years.reindex(columns=table.columns).reset_index(drop=True)
    else:
        out = table[table["freq"] == freq]
        if calendar:
            out = out[out["calendar_year"].notna()]
        out = out.reset_index(drop=True)
    out = _with_labels(out)
    out.attrs["not_yet_fetched"] = dict(unfetched)
    return out


def _with_labels(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with ``fiscal_label`` after ``fiscal_period`` and ``quarter_end``, ``calendar_label`` after
    ``calendar_quarter``."""
    labels = period_labels(table)
    columns = []
    for col in table.columns:
        columns.append(col)
        if col == "fiscal_period":
            columns.append("fiscal_label")
        elif col == "calendar_quarter":
            columns.extend(["quarter_end", "calendar_label"])
    return pd.concat([table, labels], axis=1)[columns]


def series(ticker: str, metric: str, freq: str = "Q", calendar: bool = False) -> pd.Series:
    """Return one company's metric as a Series indexed by period end (values in units of its currency).

    Parameters
    ----------
    ticker : str
        A universe ticker with SEC data.
    metric : str
        A canonical metric.
    freq, calendar
        As in `financials`.

    Raises
    ------
    UnknownTickerError
        The ticker is not in the universe.
    UnknownMetricError
        The metric is not canonical, or the company never reports it (the message gives the reason,
        e.g. Microsoft's D&A under a company-specific tag).

    Examples
    --------
    >>> series("NVDA", "revenue", freq="FY").index.name
    'period_end'
    """
    for argument, value in (("ticker", ticker), ("metric", metric)):
        if not isinstance(value, str):
            raise ArgumentError(f"series: {argument} must be one name (a string), not {value!r}")
    check_choice(freq, "freq", "series", FREQS)
    check_flag(calendar, "calendar", "series")
    rows = financials(ticker, freq=freq, calendar=calendar, metrics=metric)
    if rows.empty or rows["value"].isna().all():
        reasons = rows["missing_reason"].dropna().unique().tolist() if not rows.empty else []
        raise UnknownMetricError(
            f"{ticker} never reports {metric!r} in the snapshot"
            + (f": {reasons[0]}" if reasons else "")
        )
    out = rows.set_index("period_end")["value"].rename(f"{ticker} {metric}")
    return out
