"""The snapshot as it stood on a date: filings, restatements, prices and facts published by then."""

from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_series_equal

import valuechain_lib as vc
from valuechain_lib import facts, vintage

KEYS = ["ticker", "metric", "freq", "fiscal_year", "fiscal_period"]


def _values(table: pd.DataFrame) -> pd.Series:
    return table.set_index(KEYS)["value"].sort_index()


@pytest.mark.slow
def test_a_date_after_every_filing_rebuilds_the_snapshot_exactly():
    """Every value and every missing value of the committed financials is rebuilt from the vintages
    table as of a date after the last filing (citations may differ: the first filing of a value)."""
    with vintage.as_of("2100-01-01"):
        rebuilt = vc.financials(freq="Q")
    assert_series_equal(_values(rebuilt), _values(vc.financials(freq="Q")))


@pytest.mark.fast
def test_nvidia_margin_at_essay_a_date():
    """On 2025-11-30 the latest Nvidia quarter filed ends 2025-10-26 (10-Q of 2025-11-19); its TTM
    operating margin is 58.8% — the figure the A3 rule gives at Essay A's date."""
    with vintage.as_of("2025-11-30"):
        ttm = vc.financials("NVDA", freq="TTM", metrics=["operating_income", "revenue"])
    wide = ttm.pivot_table(index="period_end", columns="metric", values="value").dropna()
    assert wide.index.max() == pd.Timestamp("2025-10-26")
    assert round(wide["operating_income"].iloc[-1] / wide["revenue"].iloc[-1], 3) == 0.588


@pytest.mark.fast
def test_restated_value_shows_as_first_filed_before_the_restatement():
    """Meta's 2023 capex: 27,266M in the 10-K of 2024-02-02, restated to 27,045M in the 10-K of
    2025-01-30. As of 2024-06-30 the fiscal year reads 27,266M; as of 2025-06-30 and today 27,045M."""
    def fy2023(table):
        row = table[(table["fiscal_year"] == 2023) & (table["fiscal_period"] == "FY")]
        return float(row["value"].iloc[0])

    with vintage.as_of("2024-06-30"):
        assert fy2023(vc.financials("META", freq="FY", metrics="capex")) == 27_266e6
    with vintage.as_of("2025-06-30"):
        assert fy2023(vc.financials("META", freq="FY", metrics="capex")) == 27_045e6
    assert fy2023(vc.financials("META", freq="FY", metrics="capex")) == 27_045e6


@pytest.mark.fast
def test_periods_filed_after_the_date_are_absent_and_prices_are_cut():
    """As of 2024-01-01 no quarter ending in 2024 has a value, and no price is dated after it."""
    with vintage.as_of("2024-01-01"):
        q = vc.financials(["MSFT", "AMZN"], freq="Q", metrics="revenue").dropna(subset=["value"])
        p = vc.prices(["NVDA", "SPY"])
    assert q["period_end"].max() < pd.Timestamp("2024-01-01")
    assert p["date"].max() <= pd.Timestamp("2024-01-01")
    assert vintage.current() is None


@pytest.mark.fast
def test_facts_count_from_the_end_of_their_stated_month():
    """A fact published '2025-10' counts from 2025-10-31; one dated 2025-10-07 from that day."""
    table = pd.DataFrame({
        "source_date": pd.to_datetime(["2025-10-01", "2025-10-07", None]),
        "source_date_precision": ["month", "day", ""],
        "as_of": pd.to_datetime(["2025-10-01", "2025-10-07", "2025-01-01"]),
        "as_of_precision": ["month", "day", "year"],
    })
    assert facts.published_by(table, "2025-10-07").tolist() == [False, True, False]
    assert facts.published_by(table, "2025-10-31").tolist() == [True, True, False]
    assert facts.published_by(table, "2025-12-31").tolist() == [True, True, True]


@pytest.mark.fast
def test_as_of_limits_the_facts_table():
    """The facts table as of 2025-01-01 holds no row published later."""
    with vintage.as_of("2025-01-01"):
        early = facts.facts()
    assert 0 < len(early) < len(facts.facts())
    assert "F187" not in set(early["fact_id"])


@pytest.mark.fast
def test_first_filed_values_differ_from_latest_only_where_restated():
    """First-filed fiscal years: Meta's 2023 capex 27,266M (as first filed), not 27,045M."""
    first = vintage.first_filed()
    meta = first[(first["ticker"] == "META") & (first["metric"] == "capex") & (first["freq"] == "FY")
                 & (first["fiscal_year"] == 2023)]
    assert float(meta["value"].iloc[0]) == 27_266e6


@pytest.mark.fast
def test_segment_margins_as_of_leave_out_segments_not_yet_published():
    """On 2025-11-30 Broadcom's segment operating income was not yet published: its margins are left
    out rather than failing, while today they are present."""
    with vintage.as_of("2025-11-30"):
        early = facts.segment_margins()
    assert "Broadcom Semiconductor Solutions" not in set(early["segment"])
    assert "Broadcom Semiconductor Solutions" in set(facts.segment_margins()["segment"])


@pytest.mark.fast
def test_financials_as_first_filed_and_as_restated():
    """Meta's FY2023 capex: 27,266M as first filed (10-K 0001326801-24-000012 of 2024-02-02), 27,045M as
    restated (the 10-K of 2025-01-30 changed it; the latest filing repeating it is cited)."""
    first = vc.financials("META", freq="FY", metrics="capex", vintage="first")
    latest = vc.financials("META", freq="FY", metrics="capex", vintage="latest")
    row = first[first["fiscal_year"] == 2023].iloc[0]
    assert (row["value"], row["accession"], row["filed"]) == (27_266e6, "0001326801-24-000012",
                                                              pd.Timestamp("2024-02-02"))
    assert latest.loc[latest["fiscal_year"] == 2023, "value"].iloc[0] == 27_045e6
    pd.testing.assert_frame_equal(latest, vc.financials("META", freq="FY", metrics="capex"))
    assert list(first.columns) == list(latest.columns)


@pytest.mark.fast
def test_first_filed_inside_as_of_counts_only_filings_published_by_then():
    """Before Meta's 10-K for 2023 (filed 2024-02-02) there is no FY2023 capex as first filed; after it, 27,266M
    even though the restatement (2025-01-30) is known today."""
    with vintage.as_of("2024-01-31"):
        early = vc.financials("META", freq="FY", metrics="capex", vintage="first")
    with vintage.as_of("2025-06-30"):
        later = vc.financials("META", freq="FY", metrics="capex", vintage="first")
        restated = vc.financials("META", freq="FY", metrics="capex")
    assert early.dropna(subset=["value"])["fiscal_year"].max() == 2022
    assert later.loc[later["fiscal_year"] == 2023, "value"].iloc[0] == 27_266e6
    assert restated.loc[restated["fiscal_year"] == 2023, "value"].iloc[0] == 27_045e6


@pytest.mark.fast
@pytest.mark.parametrize(("value", "error"), [("orig", "ValueChainError"), ("First", "ValueChainError"),
                                             (None, "ArgumentError"), (1, "ArgumentError")])
def test_any_other_vintage_is_a_clear_error(value, error):
    """Only "latest" and "first": the message names the argument, the choices and what was given."""
    with pytest.raises(vc.errors.ValueChainError, match=r"financials: vintage must be one of \('latest', 'first'\)") \
            as caught:
        vc.financials("META", vintage=value)
    assert type(caught.value).__name__ == error
