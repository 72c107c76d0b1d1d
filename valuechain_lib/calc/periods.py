"""Fiscal and calendar periods: placing a fact's dates in its company's fiscal year and quarter.

A fact's own ``fy``/``fp`` describe the filing that reported it, not the period (a 10-K repeats
prior years under the filing's ``fy``), so every label here is derived from the period's dates and
the company's fiscal-year end. Companies on a 52/53-week year end on a weekday near the month end;
their period ends are snapped to the nearest month end within `WEEK_YEAR_TOLERANCE_DAYS`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from valuechain_lib.errors import PeriodError

# A 52/53-week year ends on the weekday nearest (or last before) a month end: at most a week off.
WEEK_YEAR_TOLERANCE_DAYS = 7
# Average length of a quarter in days, to count the quarters a duration spans.
DAYS_PER_QUARTER = 365.25 / 4
# A duration is "n quarters" when within this many days of n average quarters (covers 52/53 weeks).
DURATION_TOLERANCE_DAYS = 12


def snap_to_month_end(dates: pd.Series, tolerance_days: int) -> pd.Series:
    """Return each date's nearest month end, or NaT where it is more than ``tolerance_days`` away.

    Parameters
    ----------
    dates : pandas.Series of datetime64
    tolerance_days : int
        0 for companies whose periods end exactly on month ends.

    Examples
    --------
    >>> snap_to_month_end(pd.Series(pd.to_datetime(["2026-01-25", "2026-05-03"])), 7).dt.date.tolist()
    [datetime.date(2026, 1, 31), datetime.date(2026, 4, 30)]
    """
    dates = _as_dates(dates)
    this_end = dates + pd.offsets.MonthEnd(0)
    prev_end = (dates - pd.offsets.MonthEnd(1)).where(~dates.dt.is_month_end, dates)
    gap_this = (this_end - dates).dt.days
    gap_prev = (dates - prev_end).dt.days
    nearest = this_end.where(gap_this <= gap_prev, prev_end)
    gap = np.minimum(gap_this, gap_prev)
    return nearest.where(gap <= tolerance_days)


def _as_dates(values) -> pd.Series:
    """A datetime64 Series, converting only when needed (to_datetime re-scans dates it is given)."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    return series if pd.api.types.is_datetime64_dtype(series) else pd.to_datetime(series)


def _on_unique_dates(dates: pd.Series, func) -> pd.DataFrame:
    """Apply ``func`` to the distinct dates only and spread the result back (tables repeat few dates)."""
    dates = _as_dates(dates)
    codes, uniques = pd.factorize(dates, use_na_sentinel=True)
    if len(uniques) == 0:  # nothing but missing dates
        return func(dates)
    result = func(pd.Series(uniques))
    taken = result.iloc[codes.clip(min=0)].reset_index(drop=True)
    taken[codes < 0] = pd.NA
    taken.index = dates.index
    return taken


def fiscal_year_quarter(period_end: pd.Series, fy_end_month: int, week_year: bool) -> pd.DataFrame:
    """Place period ends in fiscal years and quarters.

    Parameters
    ----------
    period_end : pandas.Series of datetime64
        The last day of each period (or the instant of a balance-sheet fact).
    fy_end_month : int
        Month (1-12) in which the company's fiscal year ends.
    week_year : bool
        Whether the company reports on a 52/53-week year.

    Returns
    -------
    pandas.DataFrame
        ``fiscal_year`` (the calendar year in which the fiscal year ends, as companies name it:
        Nvidia's year ending January 2026 is FY2026) and ``fiscal_quarter`` (1-4), both nullable
        integers, missing where the date is not at a (snapped) quarter end of that fiscal calendar.

    Examples
    --------
    >>> ends = pd.Series(pd.to_datetime(["2026-04-26", "2026-01-25"]))
    >>> fiscal_year_quarter(ends, 1, True).values.tolist()
    [[2027, 1], [2026, 4]]
    """
    return _on_unique_dates(period_end, lambda ends: _fiscal_year_quarter(ends, fy_end_month, week_year))


def _fiscal_year_quarter(period_end: pd.Series, fy_end_month: int, week_year: bool) -> pd.DataFrame:
    snapped = snap_to_month_end(period_end, WEEK_YEAR_TOLERANCE_DAYS if week_year else 0)
    month = snapped.dt.month
    months_into_year = (month - fy_end_month - 1) % 12  # 0 for the first month of the fiscal year
    at_quarter_end = (months_into_year % 3) == 2
    quarter = (months_into_year // 3 + 1).where(at_quarter_end & snapped.notna())
    year = (snapped.dt.year + (month > fy_end_month).astype(int)).where(quarter.notna())
    return pd.DataFrame({"fiscal_year": year.astype("Int64"), "fiscal_quarter": quarter.astype("Int64")},
                        index=period_end.index)


def calendar_quarter(period_end: pd.Series) -> pd.DataFrame:
    """Return the calendar quarter whose end is nearest each period end (SEC's ``frame`` rule).

    Nvidia's quarter ending 2026-04-26 is CY2026 Q1; Oracle's ending 2025-11-30 is CY2025 Q4.

    Examples
    --------
    >>> calendar_quarter(pd.Series(pd.to_datetime(["2026-04-26", "2025-11-30"]))).values.tolist()
    [[2026, 1], [2025, 4]]
    """
    return _on_unique_dates(period_end, _calendar_quarter)


def _calendar_quarter(period_end: pd.Series) -> pd.DataFrame:
    q_end_next = period_end + pd.offsets.QuarterEnd(0)
    q_end_prev = period_end - pd.offsets.QuarterEnd(1)
    q_end_prev = q_end_prev.where(~period_end.dt.is_quarter_end, period_end)
    nearest = q_end_next.where((q_end_next - period_end) <= (period_end - q_end_prev), q_end_prev)
    return pd.DataFrame({"calendar_year": nearest.dt.year.astype("Int64"),
                         "calendar_quarter": nearest.dt.quarter.astype("Int64")}, index=period_end.index)


def calendar_quarter_end(year, quarter) -> pd.DatetimeIndex:
    """Return the last day of each calendar quarter (``year``, ``quarter`` aligned arrays or Series).

    Examples
    --------
    >>> calendar_quarter_end(pd.Series([2026, 2025]), pd.Series([1, 4])).strftime("%Y-%m-%d").tolist()
    ['2026-03-31', '2025-12-31']
    """
    return (pd.PeriodIndex.from_fields(year=np.asarray(year, dtype=int), quarter=np.asarray(quarter, dtype=int),
                                       freq="Q").to_timestamp(how="end").normalize())


def calendar_year_of_fiscal_year(fy_end: pd.Series, tolerance_days: int = 31) -> pd.Series:
    """Return the calendar year a fiscal year stands for, or NA when it ends far from December 31.

    A fiscal year ending within ``tolerance_days`` of a December 31 (Nvidia's late-January year)
    is labelled by that calendar year; Microsoft's June year is labelled by none.
    """
    fy_end = pd.to_datetime(pd.Series(fy_end))
    dec31_before = pd.to_datetime((fy_end.dt.year - 1).astype(str) + "-12-31")
    dec31_same = pd.to_datetime(fy_end.dt.year.astype(str) + "-12-31")
    gap_before = (fy_end - dec31_before).dt.days
    gap_same = (dec31_same - fy_end).dt.days
    year = pd.Series(pd.NA, index=fy_end.index, dtype="Int64")
    year = year.mask(gap_same <= tolerance_days, fy_end.dt.year)
    year = year.mask(gap_before <= tolerance_days, fy_end.dt.year - 1)
    return year.astype("Int64")


def quarters_spanned(start: pd.Series, end: pd.Series) -> pd.Series:
    """Count the quarters a duration spans (1, 2, 3, 4), or NA when it is not close to a whole number.

    Examples
    --------
    >>> quarters_spanned(pd.Series(pd.to_datetime(["2025-01-27"])), pd.Series(pd.to_datetime(["2025-07-27"]))).tolist()
    [2]
    """
    days = (pd.to_datetime(end) - pd.to_datetime(start)).dt.days + 1
    n = (days / DAYS_PER_QUARTER).round()
    ok = (days - n * DAYS_PER_QUARTER).abs() <= DURATION_TOLERANCE_DAYS
    return n.where(ok & n.between(1, 4)).astype("Int64")


def classify_periods(start: pd.Series, end: pd.Series, fy_end_month: int, week_year: bool) -> pd.DataFrame:
    """Classify facts by duration, not by form: instant, 3M, YTD (6M, 9M), FY, TTM, or other.

    Returns
    -------
    pandas.DataFrame
        ``fiscal_year``, ``fiscal_quarter`` (of the period end), ``n_quarters`` and ``duration``:
        ``instant`` (no start), ``3M``, ``6M`` / ``9M`` (year-to-date: starts at the fiscal-year
        start), ``FY`` (four quarters ending at fiscal Q4 from the fiscal-year start), ``TTM``
        (four quarters ending at another quarter, as Amazon reports), or ``other`` (a duration
        that is none of these, e.g. a second-half figure or an off-calendar period).
    """
    start = pd.to_datetime(pd.Series(start, index=end.index))
    end = pd.to_datetime(end)
    labels = fiscal_year_quarter(end, fy_end_month, week_year)
    n = quarters_spanned(start, end)
    # The quarter ending the day before the start: Q4 of the prior year when the period is year-to-date.
    before = fiscal_year_quarter(start - pd.Timedelta(days=1), fy_end_month, week_year)
    from_year_start = before["fiscal_quarter"].eq(4).fillna(False)
    fq = labels["fiscal_quarter"]
    duration = pd.Series("other", index=end.index, dtype=object)
    duration[start.isna()] = "instant"
    placed = fq.notna() & n.notna()
    duration[placed & n.eq(1).fillna(False)] = "3M"
    ytd = placed & from_year_start & n.eq(fq).fillna(False)
    duration[ytd & n.isin([2, 3]).fillna(False)] = (n[ytd & n.isin([2, 3]).fillna(False)].astype(int)
                                                      .map({2: "6M", 3: "9M"}))
    duration[ytd & n.eq(4).fillna(False)] = "FY"
    duration[placed & n.eq(4).fillna(False) & ~ytd] = "TTM"
    duration[start.isna() & fq.isna()] = "other"
    return pd.DataFrame({
        "fiscal_year": labels["fiscal_year"], "fiscal_quarter": fq,
        "n_quarters": n, "duration": duration,
    }, index=end.index)


def fiscal_label(fiscal_year, fiscal_period) -> str:
    """Return a fiscal label such as ``FY2026 Q2`` or ``FY2026``."""
    if pd.isna(fiscal_year):
        raise PeriodError("a fiscal label needs a fiscal year")
    return f"FY{int(fiscal_year)}" + ("" if fiscal_period in ("FY", None) else f" {fiscal_period}")


def calendar_label(calendar_year, calendar_quarter=None) -> str:
    """Return a calendar label such as ``2026 Q1``, or ``2026`` for a calendar year (no quarter).

    Examples
    --------
    >>> calendar_label(2026, 1), calendar_label(2025, None)
    ('2026 Q1', '2025')
    """
    if pd.isna(calendar_year):
        raise PeriodError("a calendar label needs a calendar year")
    return f"{int(calendar_year)}" + ("" if calendar_quarter is None or pd.isna(calendar_quarter)
                                     else f" Q{int(calendar_quarter)}")


def period_labels(table: pd.DataFrame) -> pd.DataFrame:
    """The period columns every consumer of tidy rows needs, computed once: quarter end and both labels.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows with ``fiscal_year``, ``fiscal_period``, ``calendar_year`` and ``calendar_quarter``
        (the tidy layout of `valuechain_lib.snapshot.financials`).

    Returns
    -------
    pandas.DataFrame
        Aligned with ``table``: ``quarter_end`` (`calendar_quarter_end`; the calendar year's last day
        where there is no quarter, NaT without a calendar year), ``calendar_label`` (`calendar_label`,
        missing without a calendar year) and ``fiscal_label`` (`fiscal_label`, missing without a fiscal
        year).

    Examples
    --------
    >>> rows = pd.DataFrame({"fiscal_year": [2027], "fiscal_period": ["Q1"], "calendar_year": [2026],
    ...                      "calendar_quarter": [1]})
    >>> period_labels(rows).iloc[0].tolist()
    [Timestamp('2026-03-31 00:00:00'), '2026 Q1', 'FY2027 Q1']
    """
    keys = table[["fiscal_year", "fiscal_period", "calendar_year", "calendar_quarter"]]
    unique = keys.drop_duplicates()
    fiscal = [None if pd.isna(y) else fiscal_label(y, p)
              for y, p in zip(unique["fiscal_year"], unique["fiscal_period"], strict=True)]
    calendar = [None if pd.isna(y) else calendar_label(y, q)
                for y, q in zip(unique["calendar_year"], unique["calendar_quarter"], strict=True)]
    has_year = unique["calendar_year"].notna().to_numpy()
    ends = pd.Series(pd.NaT, index=unique.index, dtype="datetime64[ns]")
    if has_year.any():
        years = unique.loc[has_year, "calendar_year"]
        quarters = unique.loc[has_year, "calendar_quarter"].astype("Int64").fillna(4)
        ends[has_year] = calendar_quarter_end(years, quarters)
    labels = pd.DataFrame({"quarter_end": ends, "calendar_label": pd.array(calendar, dtype=object),
                           "fiscal_label": pd.array(fiscal, dtype=object)}, index=unique.index)
    merged = keys.merge(unique.assign(_row=np.arange(len(unique))), how="left",
                        on=list(keys.columns))["_row"].to_numpy()
    out = labels.iloc[merged]
    out.index = table.index
    return out


def with_period_labels(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the `period_labels` columns it lacks (rows of `financials` already have them all).

    For tidy rows made by hand (tests, a fork's own table), so that they read like `financials` rows.
    """
    missing = [c for c in ("quarter_end", "calendar_label", "fiscal_label") if c not in table.columns]
    return table.assign(**period_labels(table)[missing]) if missing else table


def calendar_period(period_end) -> pd.DataFrame:
    """The calendar quarter whose end is nearest each period end, with its last day and its label.

    For dates that are not rows of the snapshot (figures reported after it), named as
    `valuechain_lib.snapshot.financials` names its rows (`calendar_quarter`, `calendar_quarter_end`,
    `calendar_label`).

    Returns
    -------
    pandas.DataFrame
        ``calendar_year, calendar_quarter, quarter_end, calendar_label``, aligned with ``period_end``.

    Examples
    --------
    >>> row = calendar_period(pd.Series(pd.to_datetime(["2026-04-26"]))).iloc[0]
    >>> row["calendar_label"], f"{row['quarter_end']:%Y-%m-%d}"
    ('2026 Q1', '2026-03-31')
    """
    cal = calendar_quarter(pd.to_datetime(pd.Series(period_end)))
    known = cal["calendar_year"].notna().to_numpy()
    ends = pd.Series(pd.NaT, index=cal.index, dtype="datetime64[ns]")
    if known.any():
        ends[known] = calendar_quarter_end(cal.loc[known, "calendar_year"], cal.loc[known, "calendar_quarter"])
    labels = [None if pd.isna(y) else calendar_label(y, q)
              for y, q in zip(cal["calendar_year"], cal["calendar_quarter"], strict=True)]
    return cal.assign(quarter_end=ends, calendar_label=pd.array(labels, dtype=object))


def previous_quarter(year: pd.Series, quarter: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return the (year, quarter) before each (year, quarter)."""
    prev_q = (quarter - 2) % 4 + 1
    prev_y = year - (quarter == 1).astype(int)
    return prev_y, prev_q
