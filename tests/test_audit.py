"""The published audit: counts per company-year and a build that fails on an unexplained exception."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from valuechain_lib.paths import REPO_ROOT
from valuechain_lib.publish import audit, book
from valuechain_lib.snapshot.store import load_table


@pytest.mark.fast
def test_every_company_year_of_the_snapshot_is_listed():
    """One row per (company, fiscal year) with any value in the financials table."""
    fin = load_table("financials")
    expected = set(map(tuple, fin[fin["value"].notna()][["ticker", "fiscal_year"]].drop_duplicates().to_numpy()))
    years = audit.company_years()
    assert set(zip(years["ticker"], years["fiscal_year"], strict=True)) == expected
    assert (years["matched"] <= years["compared"]).all()
    assert (years["compared"] - years["matched"]
            == years[["restatement", "rounding", "documented", "unexplained"]].sum(axis=1)).all()


@pytest.mark.fast
def test_committed_snapshot_has_no_unexplained_exception():
    audit.assert_explained()
    assert audit.counts()["unexplained"] == 0


@pytest.mark.fast
def test_seeded_unexplained_exception_fails_the_audit():
    """A mismatch with no reason (as a new bad figure would give) makes the audit cell raise."""
    checks = load_table("crosschecks")
    seeded = checks.iloc[[0]].copy()
    seeded[["match", "reason", "reported", "derived"]] = [False, "unexplained", 1_050_000_000.0, 1_000_000_000.0]
    with pytest.raises(audit.AuditError, match=rf"{seeded['ticker'].iloc[0]} FY{seeded['fiscal_year'].iloc[0]}"):
        audit.assert_explained(pd.concat([checks, seeded], ignore_index=True))


@pytest.mark.fast
def test_audit_page_calls_the_gate():
    """The page runs `assert_explained` before anything else, so the build fails on an exception."""
    text = (REPO_ROOT / "book" / "audit.md").read_text()
    assert "audit.assert_explained()" in text.split("## Company by company")[0]


@pytest.mark.fast
@pytest.mark.parametrize(("reason", "kind"), [
    ("restatement: the figures compared come from filings before and after a restatement", "restatement"),
    ("rounding: figures reported to the nearest 10,000,000", "rounding"),
    ("tag change: Amazon's fiscal 2016 annual capex ...", "documented"),
    ("unexplained", "unexplained"), ("", ""),
])
def test_reason_kinds(reason, kind):
    assert audit.reason_kind(reason) == kind


def _checks(**overrides) -> pd.DataFrame:
    """Tiny crosschecks rows: two matches and one restatement exception for XYZ in FY2020."""
    rows = pd.DataFrame({
        "check": ["3M vs YTD difference", "9M vs Q1+Q2+Q3", "TTM vs 4 quarters"],
        "ticker": "XYZ", "metric": ["revenue", "revenue", "capex"], "fiscal_year": 2020,
        "fiscal_quarter": pd.array([2, 3, 1], dtype="Int64"),
        "period_end": pd.to_datetime(["2020-06-30", "2020-09-30", "2020-03-31"]),
        "reported": [1_000_000_000, 3_000_000_000, 7_417_000_000],
        "derived": [1_000_000_000, 3_001_000_000, 8_486_000_000],
        "difference": [0, -1_000_000, -1_069_000_000], "match": [True, True, False],
        "reported_from": ["0000000001-20-000001", "0000000001-20-000002", "0001018724-17-000051"],
        "derived_from": ["a − b", "a + b + c", "four derived quarters"],
        "reason": [None, None, "restatement: the figures compared come from filings before and after a restatement"],
    })
    return rows.assign(**overrides)


@pytest.mark.fast
def test_period_labels_name_the_span_each_check_covers():
    """3M check -> FY2020 Q2; 9M check -> FY2020 9M; TTM check -> FY2020 TTM to Q1; gross profit over
    a reported FY fact -> FY2020, over a 6M fact -> FY2020 H1."""
    checks = _checks()
    np.testing.assert_array_equal(audit.period_labels(checks), ["FY2020 Q2", "FY2020 9M", "FY2020 TTM to Q1"])
    gp = pd.DataFrame({
        "check": "GP vs revenue − cost", "ticker": "TSM", "metric": "gross_profit", "fiscal_year": 2020,
        "fiscal_quarter": pd.array([4, 2], dtype="Int64"), "period_end": pd.to_datetime(["2020-12-31", "2020-06-30"]),
        "reported": [711, 325], "reported_from": ["acc-fy", "acc-h1"]})
    reported = pd.DataFrame({
        "ticker": "TSM", "metric": "gross_profit", "period_end": pd.to_datetime(["2020-12-31", "2020-06-30"]),
        "accession": ["acc-fy", "acc-h1"], "value": [711, 325], "duration": ["FY", "6M"]})
    np.testing.assert_array_equal(audit.period_labels(gp, reported), ["FY2020", "FY2020 H1"])


@pytest.mark.fast
@pytest.mark.parametrize(("values", "signed", "amount", "text"), [
    ([351_000_000, -5_000_000], False, 351_000_000, "351"),
    ([351_000_000, -5_000_000], True, -5_000_000, "−5"),
    ([351_000_000, 10_000_000], True, 10_000_000, "+10"),
    ([11_563_000_000], False, 11_563_000_000, "11,563"),
    ([497_874_300_000, -4_600_000], True, -4_600_000, "−4.6"),
    ([497_874_300_000, -4_600_000], False, 497_874_300_000, "497,874.3"),
    ([0, 1_000_000], True, 0, "0"),
])
def test_money_is_written_in_millions_with_one_precision_per_table(values, signed, amount, text):
    """Whole millions without decimals; one decimal for every cell once any amount is not a whole
    million (TSMC's NT$4.6M difference); a true minus sign, and a plus sign on signed differences."""
    assert audit.money_format(values, signed=signed)(amount) == text


@pytest.mark.fast
def test_accession_numbers_link_to_edgar_and_other_text_is_escaped():
    """0001018724-17-000051 of CIK 1018724 -> .../edgar/data/1018724/000101872417000051/; '<' escaped."""
    out = audit.accession_links("0001018724-17-000051 − <x>", 1018724)
    assert 'href="https://www.sec.gov/Archives/edgar/data/1018724/000101872417000051/"' in out
    assert ">0001018724-17-000051</a>" in out and "&lt;x&gt;" in out
    assert "href" not in audit.accession_links("0001018724-17-000051", None)


@pytest.mark.fast
def test_exception_table_has_units_notes_and_no_raw_values():
    """The restatement row reads: FY2020 TTM to Q1, 2020-03-31, Capex, 7,417 / 8,486 / −1,069 ($M),
    'restatement [1]', and note 1 is the reason's sentence."""
    exc = audit.exceptions(_checks())
    frame, formats, reasons = audit.exception_table(exc, "USD", 1018724)
    cells = book.format_table(frame, formats).iloc[0]
    assert cells["Period"] == "FY2020 TTM to Q1" and "2020-03-31" in cells["Period end"]
    assert cells["Metric"] == "Capex"
    assert (cells["Reported ($M)"], cells["Derived ($M)"], cells["Difference ($M)"]) == ("7,417", "8,486", "−1,069")
    assert cells["Reason"] == "restatement&nbsp;[1]"
    assert reasons == [exc["reason"].iloc[0]]
    assert list(audit.exception_table(exc, "TWD")[0].columns)[4:7] == [
        "Reported (NT$M)", "Derived (NT$M)", "Difference (NT$M)"]


@pytest.mark.fast
def test_company_section_is_open_only_where_there_are_exceptions():
    """XYZ with one exception: <details open>, summary '3 comparisons, 2 match, 1 exception (1 restatement)';
    the same company without it: a closed <details> and no exceptions table."""
    checks = _checks()
    financials = pd.DataFrame({"ticker": ["XYZ"], "fiscal_year": [2020], "value": [1.0]})
    company = {"name": "XYZ Corp", "currency": "USD", "cik": 1}
    years = audit.company_years(checks, financials)
    opened = audit.company_section("XYZ", years, audit.exceptions(checks), company)
    assert opened.startswith('<details class="vc-audit-company" id="audit-xyz" open>')
    assert "<strong>XYZ</strong> (XYZ Corp): 1 fiscal year, 3 comparisons, 2 match, 1 exception (1 restatement)" in opened
    assert "every exception" in opened and "[1] restatement: the figures" in opened
    clean = checks.assign(match=True, reason=None)
    closed = audit.company_section("XYZ", audit.company_years(clean, financials), audit.exceptions(clean), company)
    assert closed.startswith('<details class="vc-audit-company" id="audit-xyz">')
    assert "0 exceptions</summary>" in closed and "every exception" not in closed


@pytest.mark.fast
def test_year_table_drops_checks_a_company_never_has_and_names_exception_kinds():
    """XYZ has no gross-profit comparison, so that column is absent; FY2020's note is '1 restatement'."""
    years = audit.company_years(_checks(), pd.DataFrame({"ticker": ["XYZ"], "fiscal_year": [2020], "value": [1.0]}))
    table = audit.year_table(years)
    assert "GP vs revenue − cost" not in table.columns
    assert table.loc[0, ["Compared", "Matched", "Exceptions", "Note"]].tolist() == [3, 2, 1, "1 restatement"]


@pytest.mark.fast
def test_audit_page_sections_have_no_raw_values():
    """Every company's section of the real snapshot: no float with more than four decimals, no nan/NaT,
    one <details> per company, open exactly for the companies with exceptions."""
    years, exc = audit.company_years(), audit.exceptions()
    sections = {t: audit.company_section(t, g, exc[exc["ticker"] == t]) for t, g in years.groupby("ticker")}
    text = re.sub(r"<[^>]+>", " ", "".join(sections.values()))
    assert not re.search(r"\d+\.\d{5,}", text)
    assert not re.search(r"\b(nan|NaN|NaT)\b", text)
    assert {t for t, s in sections.items() if s.split(">")[0].endswith(" open")} == set(exc["ticker"])


# --------------------------------------------------------------------------- restatements
def _vintages(rows):
    cols = ["ticker", "metric", "tag", "unit", "start", "end", "value", "accession", "form", "filed"]
    frame = pd.DataFrame(rows, columns=cols)
    for col in ("start", "end", "filed"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


def _reported(rows):
    cols = ["ticker", "metric", "tag", "unit", "period_start", "period_end", "duration", "fiscal_year",
            "fiscal_quarter"]
    frame = pd.DataFrame(rows, columns=cols)
    for col in ("period_start", "period_end"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


@pytest.mark.fast
def test_restated_values_compare_first_filed_with_the_filing_that_gave_the_latest_value():
    """X's FY2023 capex 100 → 90 (filing b) → 95 (filing c): first 100 in a, restated 95 in c, two changes,
    −5%. Its 9M figure (a year-to-date span) and a tag the statements do not use are left out; an unchanged
    quarter is not a restatement."""
    vintages = _vintages([
        ("X", "capex", "T", "USD", "2023-01-01", "2023-12-31", 100.0, "a", "10-K", "2024-02-01"),
        ("X", "capex", "T", "USD", "2023-01-01", "2023-12-31", 90.0, "b", "10-K", "2025-02-01"),
        ("X", "capex", "T", "USD", "2023-01-01", "2023-12-31", 95.0, "c", "10-K/A", "2025-03-01"),
        ("X", "capex", "T", "USD", "2023-01-01", "2023-09-30", 70.0, "q", "10-Q", "2023-11-01"),
        ("X", "capex", "T", "USD", "2023-01-01", "2023-09-30", 60.0, "b", "10-K", "2025-02-01"),
        ("X", "capex", "OTHER", "USD", "2023-01-01", "2023-12-31", 1.0, "a", "10-K", "2024-02-01"),
        ("X", "capex", "OTHER", "USD", "2023-01-01", "2023-12-31", 2.0, "b", "10-K", "2025-02-01"),
        ("X", "capex", "T", "USD", "2023-10-01", "2023-12-31", 30.0, "a", "10-K", "2024-02-01"),
    ])
    reported = _reported([
        ("X", "capex", "T", "USD", "2023-01-01", "2023-12-31", "FY", 2023, 4),
        ("X", "capex", "T", "USD", "2023-01-01", "2023-09-30", "9M", 2023, 3),
        ("X", "capex", "T", "USD", "2023-10-01", "2023-12-31", "3M", 2023, 4),
    ])
    out = audit.restated_values(vintages, reported)
    assert len(out) == 1
    row = out.iloc[0]
    assert (row["period"], row["first_value"], row["first_accession"], row["restated_value"],
            row["restated_accession"], row["restated_form"], row["changes"]) == ("FY2023", 100.0, "a", 95.0, "c",
                                                                                 "10-K/A", 2)
    assert row["restated_filed"] == pd.Timestamp("2025-03-01")
    np.testing.assert_allclose([row["change"], row["change_pct"]], [-5.0, -0.05])


@pytest.mark.fast
def test_largest_restatements_of_the_snapshot_hand_checked():
    """Hand-checked against data/snapshot/vintages.csv: the largest restatement in dollars is Microsoft's FY2017
    operating income, 22,326M in the 10-K 0001564590-17-014900 (2017-08-02) → 29,025M in the 10-K
    0001564590-18-019062 (2018-08-03), +6,699M (+30.0%), then its FY2017 gross profit 55,689M → 62,310M;
    Meta's FY2023 capex 27,266M (0001326801-24-000012, 2024-02-02) → 27,045M (0001326801-25-000017,
    2025-01-30) is among the restated values; TSM's figures in TWD are not ranked against dollars."""
    restated = audit.restated_values()
    top = audit.largest_restatements(restated, n=5)
    first = top.iloc[0]
    assert (first["ticker"], first["metric"], first["period"]) == ("MSFT", "operating_income", "FY2017")
    assert (first["first_value"], first["restated_value"], first["change"]) == (22_326e6, 29_025e6, 6_699e6)
    assert (first["first_accession"], first["restated_accession"]) == ("0001564590-17-014900", "0001564590-18-019062")
    assert (first["first_filed"], first["restated_filed"]) == (pd.Timestamp("2017-08-02"), pd.Timestamp("2018-08-03"))
    np.testing.assert_allclose(first["change_pct"], 0.300054, atol=1e-6)
    assert top.iloc[1][["ticker", "metric", "period", "first_value", "restated_value"]].tolist() == [
        "MSFT", "gross_profit", "FY2017", 55_689e6, 62_310e6]
    assert (top["change"].abs().diff().dropna() <= 0).all()
    meta = restated[(restated["ticker"] == "META") & (restated["metric"] == "capex") & (restated["period"] == "FY2023")]
    assert meta[["first_value", "first_accession", "restated_value", "restated_accession"]].iloc[0].tolist() == [
        27_266e6, "0001326801-24-000012", 27_045e6, "0001326801-25-000017"]
    assert meta["restated_filed"].iloc[0] == pd.Timestamp("2025-01-30")
    assert "TSM" in set(restated["ticker"]) and "TSM" not in set(audit.largest_restatements(restated, n=500)["ticker"])


@pytest.mark.fast
def test_restatement_table_writes_millions_signed_changes_and_both_filings():
    """The top row as the page shows it: 22,326 → 29,025, +6,699, +30.0%, each filing's form, date and link."""
    top = audit.largest_restatements(n=2)
    frame, formats = audit.restatement_table(top)
    cells = book.format_table(frame, formats).iloc[0]
    assert cells[["Company", "Metric", "Period", "First filed ($M)", "Restated ($M)", "Change ($M)",
                  "Change (%)"]].tolist() == ["MSFT", "Operating income", "FY2017", "22,326", "29,025", "+6,699",
                                              "+30.0%"]
    assert cells["First filed in"].startswith('10-K of <span style="white-space: nowrap">2017-08-02</span>, <a href=')
    assert "edgar/data/789019/000156459018019062/" in cells["Restated in"]


@pytest.mark.fast
def test_first_and_restated_series_part_where_restated():
    """Microsoft's fiscal-year operating income both ways: FY2017 22,326M first filed, 29,025M restated;
    FY2015 (never restated) the same in both."""
    data = audit.first_and_restated("MSFT", "operating_income", "FY")
    wide = data.pivot(index="fiscal_year", columns="version", values="value")
    assert wide.loc[2017].tolist() == [22_326e6, 29_025e6]
    assert wide.loc[2015, "as first filed"] == wide.loc[2015, "as restated"]


@pytest.mark.fast
def test_audit_page_shows_the_largest_restatements_and_the_chart():
    """The page ranks restatements with `largest_restatements` and draws the largest one's series both ways."""
    text = (REPO_ROOT / "book" / "audit.md").read_text()
    section = text.split("## Restatements")[1]
    assert "audit.largest_restatements(" in section and "audit.restatement_figure(largest.iloc[0])" in section


@pytest.mark.fast
def test_restatement_figure_titles_the_change_and_writes_both_series(tmp_path, monkeypatch):
    """The chart of the largest restatement: title "Microsoft's operating income for FY2017 was restated from
    $22.3bn to $29.0bn (+30%)", its CSV holds both versions."""
    monkeypatch.setenv("VALUECHAIN_CHART_DATA", str(tmp_path))
    fig = audit.restatement_figure(audit.largest_restatements(n=1).iloc[0])
    assert fig.title == "Microsoft's operating income for FY2017 was restated from $22.3bn to $29.0bn (+30%)"
    shown = pd.read_csv(tmp_path / "most-restated-series.csv")
    assert set(shown["version"]) == {"as first filed", "as restated"}
