"""Fiscal and calendar labels of period ends (`valuechain_lib.calc.periods`), checked against hand-worked dates."""

from __future__ import annotations

import pandas as pd
import pandas.testing as pdt
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from valuechain_lib.calc.periods import (
    calendar_label,
    calendar_period,
    calendar_quarter,
    calendar_year_of_fiscal_year,
    classify_periods,
    fiscal_label,
    fiscal_year_quarter,
    period_labels,
    previous_quarter,
    quarters_spanned,
    snap_to_month_end,
)
from valuechain_lib.errors import PeriodError


def _dates(*values) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values)))


def _fyq(date: str, fy_end_month: int, week_year: bool) -> list:
    return fiscal_year_quarter(_dates(date), fy_end_month, week_year).iloc[0].tolist()


# --- snap_to_month_end -------------------------------------------------------------------------


@pytest.mark.fast
def test_snap_to_month_end_nearest_within_a_week():
    """2026-01-25 is 6 days before Jan 31; 2026-05-03 is 3 days after Apr 30; a month end stays put."""
    got = snap_to_month_end(_dates("2026-01-25", "2026-05-03", "2026-01-31"), 7)
    pdt.assert_series_equal(got, _dates("2026-01-31", "2026-04-30", "2026-01-31"), check_names=False)


@pytest.mark.fast
def test_snap_to_month_end_too_far_is_nat():
    """2026-01-15 is 15-16 days from any month end: NaT with a 7-day tolerance."""
    assert snap_to_month_end(_dates("2026-01-15"), 7).isna().all()


@pytest.mark.fast
def test_snap_to_month_end_zero_tolerance_needs_exact_month_end():
    """With tolerance 0, 2026-01-30 (one day short) is NaT and 2026-01-31 stays."""
    got = snap_to_month_end(_dates("2026-01-30", "2026-01-31"), 0)
    assert pd.isna(got.iloc[0])
    assert got.iloc[1] == pd.Timestamp("2026-01-31")


@pytest.mark.fast
@pytest.mark.regression
def test_snap_to_month_end_first_of_month():
    """AVGO's FY2026 Q1 ends 2026-02-01, one day after Jan 31; AVGO's FY2020 ends 2020-11-01,
    one day after Oct 31. Both snap back to the month end just before."""
    got = snap_to_month_end(_dates("2026-02-01", "2020-11-01"), 7)
    pdt.assert_series_equal(got, _dates("2026-01-31", "2020-10-31"), check_names=False)


@pytest.mark.fast
def test_snap_to_month_end_leap_february():
    """2024-03-05 is 5 days after the leap-year Feb 29 (and 26 before Mar 31)."""
    assert snap_to_month_end(_dates("2024-03-05"), 7).iloc[0] == pd.Timestamp("2024-02-29")


# --- fiscal_year_quarter -----------------------------------------------------------------------


@pytest.mark.fast
@pytest.mark.parametrize(("date", "fy_end_month", "week_year", "expected"), [
    ("2026-04-26", 1, True, [2027, 1]),   # NVDA: first quarter of the year ending Jan 2027
    ("2026-01-25", 1, True, [2026, 4]),   # NVDA: fiscal 2026 ends 2026-01-25
    ("2024-11-03", 10, True, [2024, 4]),  # AVGO: 52/53 week year ending near Oct 31, snapped back
    ("2026-05-28", 8, True, [2026, 3]),   # MU: Sep-Nov, Dec-Feb, Mar-May is Q3 of FY ending Aug 2026
    ("2026-02-01", 10, True, [2026, 1]),  # AVGO: Nov-Jan is Q1 of FY ending Oct 2026 (ends on the 1st)
    ("2025-11-30", 5, False, [2026, 2]),  # ORCL: Jun-Aug Q1, Sep-Nov Q2 of FY ending May 2026
    ("2026-03-31", 6, False, [2026, 3]),  # MSFT: Jan-Mar is Q3 of FY ending June 2026
])
def test_fiscal_year_quarter_known_companies(date, fy_end_month, week_year, expected):
    """Fiscal year/quarter of real companies' period ends, worked by hand from their fiscal calendars."""
    assert _fyq(date, fy_end_month, week_year) == expected


@pytest.mark.fast
def test_fiscal_year_quarter_non_week_year_off_month_end_is_na():
    """MSFT (June FY, calendar months): 2026-03-30 is not a month end, so no fiscal quarter."""
    got = fiscal_year_quarter(_dates("2026-03-30"), 6, False)
    assert got.isna().all(axis=None)


@pytest.mark.fast
def test_fiscal_year_quarter_month_end_not_quarter_end_is_na():
    """MSFT (June FY): 2026-04-30 is a month end but not a fiscal quarter end (Sep/Dec/Mar/Jun)."""
    assert fiscal_year_quarter(_dates("2026-04-30"), 6, False).isna().all(axis=None)


@pytest.mark.fast
def test_fiscal_year_quarter_keeps_index_and_nullable_ints():
    """The result keeps the input's index and uses Int64 columns."""
    ends = pd.Series(pd.to_datetime(["2026-03-31"]), index=[42])
    got = fiscal_year_quarter(ends, 12, False)
    expected = pd.DataFrame({"fiscal_year": pd.array([2026], dtype="Int64"),
                             "fiscal_quarter": pd.array([1], dtype="Int64")}, index=[42])
    pdt.assert_frame_equal(got, expected)


# --- calendar_quarter --------------------------------------------------------------------------


@pytest.mark.fast
def test_calendar_quarter_sec_frame_rule():
    """Nearest calendar quarter end: NVDA 2026-04-26 → CY2026 Q1 (26 days after Mar 31),
    ORCL 2025-11-30 → CY2025 Q4 (31 days before Dec 31), NVDA 2025-07-27 → CY2025 Q2 (27 days after Jun 30)."""
    got = calendar_quarter(_dates("2026-04-26", "2025-11-30", "2025-07-27"))
    assert got.values.tolist() == [[2026, 1], [2025, 4], [2025, 2]]


@pytest.mark.fast
def test_calendar_quarter_year_wraps_back():
    """2026-01-25 (NVDA FY2026 end) is 25 days after 2025-12-31: CY2025 Q4."""
    assert calendar_quarter(_dates("2026-01-25")).values.tolist() == [[2025, 4]]


# --- calendar_year_of_fiscal_year --------------------------------------------------------------


@pytest.mark.fast
def test_calendar_year_of_fiscal_year():
    """NVDA FY ending 2026-01-25 → CY2025 (25 days after Dec 31); Dec 31 → that year;
    a 52/53-week year ending 2025-12-27 → 2025; MSFT June year → NA."""
    got = calendar_year_of_fiscal_year(_dates("2026-01-25", "2025-12-31", "2025-12-27", "2025-06-30"))
    pdt.assert_series_equal(got, pd.Series([2025, 2025, 2025, pd.NA], dtype="Int64"))


# --- quarters_spanned --------------------------------------------------------------------------


@pytest.mark.fast
def test_quarters_spanned_nvda_fiscal_2026():
    """NVDA FY2026 from 2025-01-27: to Apr 27 (91 days) 1, Jul 27 2, Oct 26 3, Jan 25 2026 (364 days) 4."""
    start = _dates(*["2025-01-27"] * 4)
    end = _dates("2025-04-27", "2025-07-27", "2025-10-26", "2026-01-25")
    pdt.assert_series_equal(quarters_spanned(start, end), pd.Series([1, 2, 3, 4], dtype="Int64"))


@pytest.mark.fast
def test_quarters_spanned_off_grid_is_na():
    """Two months (59 days) is 32 days from one quarter and 32 from two: NA; five quarters is out of range."""
    got = quarters_spanned(_dates("2025-01-01", "2024-01-01"), _dates("2025-02-28", "2025-03-31"))
    assert got.isna().all()


# --- classify_periods --------------------------------------------------------------------------


@pytest.mark.fast
def test_classify_periods_nvda_durations():
    """NVDA (Jan FY, 52/53): 3M, 6M, 9M, FY of fiscal 2026, a 12-month period ending at FY2027 Q1
    is TTM, a balance (no start) is instant, and the second half (Jul 28 → Jan 25) is other."""
    start = _dates("2025-01-27", "2025-01-27", "2025-01-27", "2025-01-27", "2025-04-28", None, "2025-07-28")
    end = _dates("2025-04-27", "2025-07-27", "2025-10-26", "2026-01-25", "2026-04-26", "2025-10-26",
                 "2026-01-25")
    got = classify_periods(start, end, 1, True)
    assert got["duration"].tolist() == ["3M", "6M", "9M", "FY", "TTM", "instant", "other"]
    assert got["fiscal_year"].tolist() == [2026, 2026, 2026, 2026, 2027, 2026, 2026]
    assert got["fiscal_quarter"].tolist() == [1, 2, 3, 4, 1, 3, 4]


@pytest.mark.fast
def test_classify_periods_q2_three_months_is_3m_not_ytd():
    """A calendar-year company's Apr 1 → Jun 30 figure is a 3-month Q2, not a 6M year-to-date."""
    got = classify_periods(_dates("2025-04-01"), _dates("2025-06-30"), 12, False)
    assert got.iloc[0].tolist() == [2025, 2, 1, "3M"]


@pytest.mark.fast
def test_classify_periods_instant_off_quarter_is_other():
    """A balance at 2025-05-31 for a December-FY company is at no fiscal quarter end: other."""
    got = classify_periods(pd.Series([pd.NaT]), _dates("2025-05-31"), 12, False)
    assert got["duration"].tolist() == ["other"]


# --- small helpers -----------------------------------------------------------------------------


@pytest.mark.fast
def test_fiscal_label_and_error():
    """Labels read FY2026 Q2 and FY2026; a missing fiscal year raises PeriodError."""
    assert fiscal_label(2026, "Q2") == "FY2026 Q2"
    assert fiscal_label(2026, "FY") == "FY2026"
    with pytest.raises(PeriodError, match="fiscal year"):
        fiscal_label(pd.NA, "Q1")


@pytest.mark.fast
def test_previous_quarter_wraps():
    """The quarter before 2026 Q1 is 2025 Q4; before 2026 Q3 is 2026 Q2."""
    y, q = previous_quarter(pd.Series([2026, 2026]), pd.Series([1, 3]))
    assert y.tolist() == [2025, 2026]
    assert q.tolist() == [4, 2]


# --- properties --------------------------------------------------------------------------------

# No example database or patch files in the working tree: generate and shrink only.
_PHASES = (Phase.explicit, Phase.generate, Phase.shrink)
_years = st.integers(min_value=2000, max_value=2040)
_months = st.integers(min_value=1, max_value=12)


def _quarter_end(year: int, fy_end_month: int, k: int) -> pd.Timestamp:
    """A month end that is a fiscal quarter end: fy_end_month plus 3k months, in or after ``year``."""
    month = (fy_end_month - 1 + 3 * k) % 12 + 1
    return pd.Timestamp(year=year, month=month, day=1) + pd.offsets.MonthEnd(0)


@pytest.mark.fast
@settings(max_examples=60, deadline=None, database=None, phases=_PHASES)
@given(year=_years, fy_end_month=_months, k=st.integers(0, 3), week_year=st.booleans())
def test_property_three_months_later_is_next_fiscal_quarter(year, fy_end_month, k, week_year):
    """(a) The fiscal quarter of a quarter-end date + 3 months is the next quarter; Q4 wraps to Q1 of
    fiscal_year + 1."""
    end = _quarter_end(year, fy_end_month, k)
    later = end + pd.offsets.MonthEnd(3)
    (fy0, q0), (fy1, q1) = fiscal_year_quarter(_dates(end, later), fy_end_month, week_year).values.tolist()
    expected = (fy0 + 1, 1) if q0 == 4 else (fy0, q0 + 1)
    assert (fy1, q1) == expected


@pytest.mark.fast
@settings(max_examples=60, deadline=None, database=None, phases=_PHASES)
@given(year=_years, quarter=st.integers(1, 4), shift=st.integers(-7, 7))
def test_property_calendar_quarter_of_quarter_end_month(year, quarter, shift):
    """(b) A month end in a calendar-quarter-end month is in that quarter (also within ±7 days of it)."""
    end = pd.Timestamp(year=year, month=3 * quarter, day=1) + pd.offsets.MonthEnd(0)
    got = calendar_quarter(_dates(end, end + pd.Timedelta(days=shift))).values.tolist()
    assert got == [[year, quarter], [year, quarter]]


@pytest.mark.fast
@settings(max_examples=60, deadline=None, database=None, phases=_PHASES)
@given(year=_years, fy_end_month=_months, k=st.integers(0, 3), shift=st.integers(-7, 7))
def test_property_week_year_shift_keeps_fiscal_label(year, fy_end_month, k, shift):
    """(c) For a 52/53-week company, moving a quarter-end month end by up to ±7 days keeps its label."""
    end = _quarter_end(year, fy_end_month, k)
    got = fiscal_year_quarter(_dates(end, end + pd.Timedelta(days=shift)), fy_end_month, True)
    assert got.iloc[0].tolist() == got.iloc[1].tolist()
    assert got.notna().all(axis=None)


@pytest.mark.fast
@settings(max_examples=60, deadline=None, database=None, phases=_PHASES)
@given(year=_years, fy_end_month=_months, shifts=st.lists(st.integers(-7, 7), min_size=4, max_size=4),
       week_year=st.booleans())
def test_property_four_fiscal_quarters_four_calendar_quarters(year, fy_end_month, shifts, week_year):
    """(d) The four quarters of a fiscal year fall in four distinct calendar quarters (52/53-week ends
    may sit up to a week off the month end)."""
    prior_year_end = _quarter_end(year, fy_end_month, 0)
    ends = [prior_year_end + pd.offsets.MonthEnd(3 * k) for k in (1, 2, 3, 4)]
    if week_year:
        ends = [e + pd.Timedelta(days=s) for e, s in zip(ends, shifts, strict=True)]
    labels = fiscal_year_quarter(_dates(*ends), fy_end_month, week_year)
    assert labels["fiscal_quarter"].tolist() == [1, 2, 3, 4]
    assert labels["fiscal_year"].nunique() == 1
    cal = calendar_quarter(_dates(*ends))
    assert len(set(map(tuple, cal.values.tolist()))) == 4


@pytest.mark.fast
def test_calendar_quarter_end():
    """Last day of each calendar quarter, leap year included."""
    from valuechain_lib.calc.periods import calendar_quarter_end

    got = calendar_quarter_end(pd.Series([2024, 2025, 2026]), pd.Series([1, 4, 2]))
    assert got.strftime("%Y-%m-%d").tolist() == ["2024-03-31", "2025-12-31", "2026-06-30"]


# --------------------------------------------------------------------------- the labels every consumer reads
def test_calendar_label_names_quarters_and_years():
    """2026 Q1 for a quarter, 2025 for a calendar year; a missing year is an error."""
    assert calendar_label(2026, 1) == "2026 Q1"
    assert calendar_label(2025, None) == calendar_label(2025, pd.NA) == "2025"
    with pytest.raises(PeriodError):
        calendar_label(pd.NA, 1)


def test_period_labels_for_quarters_and_calendar_years():
    """Nvidia's FY2027 Q1 placed in calendar 2026 Q1 ends 2026-03-31; a calendar year (no quarter, no
    fiscal year) is '2025', ending 2025-12-31, with no fiscal label; a row with no calendar period has none."""
    rows = pd.DataFrame({"fiscal_year": pd.array([2027, pd.NA, 2019], dtype="Int64"),
                         "fiscal_period": ["Q1", "CY", "FY"],
                         "calendar_year": pd.array([2026, 2025, pd.NA], dtype="Int64"),
                         "calendar_quarter": pd.array([1, pd.NA, pd.NA], dtype="Int64")}, index=[7, 8, 9])
    out = period_labels(rows)
    assert out.index.tolist() == [7, 8, 9]
    assert out["calendar_label"].tolist()[:2] == ["2026 Q1", "2025"] and pd.isna(out.loc[9, "calendar_label"])
    assert out["quarter_end"].tolist()[:2] == [pd.Timestamp("2026-03-31"), pd.Timestamp("2025-12-31")]
    assert pd.isna(out.loc[9, "quarter_end"])
    assert out.loc[7, "fiscal_label"] == "FY2027 Q1" and pd.isna(out.loc[8, "fiscal_label"])
    assert out.loc[9, "fiscal_label"] == "FY2019"


def test_calendar_period_of_a_date_reported_after_the_snapshot():
    """Oracle's quarter ending 2026-02-28 is calendar 2026 Q1 (ends 2026-03-31), as `financials` names it."""
    row = calendar_period(pd.Series(pd.to_datetime(["2026-02-28"]))).iloc[0]
    assert (int(row["calendar_year"]), int(row["calendar_quarter"]), row["calendar_label"]) == (2026, 1, "2026 Q1")
    assert row["quarter_end"] == pd.Timestamp("2026-03-31")
