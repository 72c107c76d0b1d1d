"""The public `financials` / `series` API on the committed snapshot, and citation rules."""

from __future__ import annotations

import pandas as pd
import pytest
from numpy.testing import assert_allclose

import valuechain_lib as vc
from valuechain_lib.snapshot.standardize import latest_filed


@pytest.mark.fast
def test_series_returns_reported_fiscal_years():
    """NVDA FY2026 revenue is 215,938M (10-K 0001045810-26-000021)."""
    s = vc.series("NVDA", "revenue", freq="FY")
    assert_allclose(s.loc[pd.Timestamp("2026-01-25")], 215_938_000_000, atol=0.5)


@pytest.mark.fast
def test_series_refuses_a_metric_the_company_never_reports():
    """Microsoft's D&A uses a company-specific tag: the error names the company, metric and reason."""
    with pytest.raises(vc.UnknownMetricError, match=r"MSFT never reports 'depreciation_amortization'.*extension tag"):
        vc.series("MSFT", "depreciation_amortization")


@pytest.mark.fast
@pytest.mark.parametrize(("ticker", "metric", "error", "pattern"), [
    ("ZZZZ", "revenue", vc.UnknownTickerError, "unknown ticker 'ZZZZ'"),
    ("NVDA", "ebitda", vc.UnknownMetricError, "unknown metric 'ebitda'"),
    ("SKHYNIX", "revenue", vc.ValueChainError, r"no SEC financial data .*SKHYNIX"),
])
def test_bad_requests_name_the_field_at_fault(ticker, metric, error, pattern):
    with pytest.raises(error, match=pattern):
        vc.financials(ticker, metrics=metric)


@pytest.mark.fast
def test_fy_view_keeps_missing_years_with_reasons():
    """A metric a company lacks still has one NaN row per fiscal year, with the company's reason."""
    rows = vc.financials("MSFT", freq="FY", metrics="depreciation_amortization")
    assert len(rows) >= 10
    assert rows["value"].isna().all()
    assert rows["missing_reason"].str.contains("extension tag").all()


@pytest.mark.fast
def test_calendar_years_add_four_calendar_quarters():
    """MSFT's calendar 2025 revenue = its four quarters ending 2025-03-31 .. 2025-12-31."""
    q = vc.financials("MSFT", freq="Q", calendar=True, metrics="revenue")
    expected = q[q["calendar_year"] == 2025]["value"].sum()
    cy = vc.financials("MSFT", freq="FY", calendar=True, metrics="revenue")
    got = cy.loc[cy["calendar_year"] == 2025, "value"].iloc[0]
    assert_allclose(got, expected, rtol=1e-12)
    assert (q[q["calendar_year"] == 2025]["fiscal_period"].tolist() == ["Q3", "Q4", "Q1", "Q2"])


@pytest.mark.fast
@pytest.mark.regression
def test_regression_proxy_statement_not_cited_over_annual_report():
    """A later DEF 14A repeating a 10-K figure must not become the cited accession (bug: 36 FY
    net-income figures cited a proxy statement)."""
    facts = pd.DataFrame({
        "ticker": "X", "metric": "net_income", "tag": "NetIncomeLoss", "unit": "USD",
        "start": pd.Timestamp("2025-01-01"), "end": pd.Timestamp("2025-12-31"), "value": [100.0, 100.0],
        "accession": ["0000000001-26-000010", "0000000001-26-000020"], "form": ["10-K", "DEF 14A"],
        "filed": pd.to_datetime(["2026-02-01", "2026-03-15"]),
    })
    kept, restatements = latest_filed(facts)
    assert kept["accession"].tolist() == ["0000000001-26-000010"]
    assert kept["form"].tolist() == ["10-K"]
    assert restatements.empty


@pytest.mark.fast
def test_restated_value_still_wins_over_periodic_citation():
    """An 8-K recast with a new value is a restatement: its value wins, the old one is recorded."""
    facts = pd.DataFrame({
        "ticker": "X", "metric": "revenue", "tag": "Revenues", "unit": "USD",
        "start": pd.Timestamp("2025-01-01"), "end": pd.Timestamp("2025-12-31"), "value": [100.0, 90.0],
        "accession": ["0000000001-26-000010", "0000000001-26-000030"], "form": ["10-K", "8-K"],
        "filed": pd.to_datetime(["2026-02-01", "2026-05-01"]),
    })
    kept, restatements = latest_filed(facts)
    assert kept["value"].tolist() == [90.0]
    assert kept["accession"].tolist() == ["0000000001-26-000030"]
    assert restatements[["old_value", "new_value"]].to_numpy().tolist() == [[100.0, 90.0]]


def test_calendar_rows_carry_their_labels():
    """financials(calendar=True) names each row's periods once for every consumer: Oracle's quarter ending
    2025-11-30 is FY2026 Q2, calendar 2025 Q4, quarter end 2025-12-31; a calendar year (freq FY) is '2025'
    with no fiscal label."""
    q = vc.financials("ORCL", freq="Q", calendar=True, metrics="revenue")
    row = q[q["period_end"] == pd.Timestamp("2025-11-30")].iloc[0]
    assert (row["fiscal_label"], row["calendar_label"], row["quarter_end"]) == (
        "FY2026 Q2", "2025 Q4", pd.Timestamp("2025-12-31"))
    assert (q["quarter_end"].dt.quarter == q["calendar_quarter"]).all()
    years = vc.financials("ORCL", freq="FY", calendar=True, metrics="revenue")
    cy2025 = years[years["calendar_year"] == 2025].iloc[0]
    assert cy2025["calendar_label"] == "2025" and cy2025["quarter_end"] == pd.Timestamp("2025-12-31")
    assert pd.isna(cy2025["fiscal_label"])
