"""Financing metrics: tag maps as data, composed tags, signs, zero totals, net debt issued, missing reasons, audit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import valuechain_lib as vl
from valuechain_lib.calc import metrics
from valuechain_lib.errors import SignConventionError
from valuechain_lib.snapshot import crosschecks, quarters, standardize
from valuechain_lib.snapshot.zero_totals import fill_zero_quarters, zero_totals
from valuechain_lib.sources.sec import read_concept_file

FIXTURES = Path(__file__).parent / "data" / "sec" / "financing"
FINANCING = ("long_term_debt", "debt_issued", "debt_repaid", "interest_expense", "operating_lease_liabilities",
             "finance_lease_liabilities", "buybacks", "dividends")


def _company(ticker: str) -> pd.Series:
    companies = vl.universe()
    return companies[companies["ticker"] == ticker].iloc[0]


def _standardized(ticker: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A fixture company's facts, mapped, and its tidy table (quarters, fiscal years, TTM)."""
    raw = pd.concat([read_concept_file(p, ticker) for p in sorted((FIXTURES / ticker).glob("*.json"))],
                    ignore_index=True)
    reported, _ = standardize.standardize_company(raw, _company(ticker))
    return reported, quarters.tidy_periods(reported, standardize.canonical_metrics())


def _value(tidy, metric, freq, year, period):
    row = tidy[(tidy["metric"] == metric) & (tidy["freq"] == freq) & (tidy["fiscal_year"] == year)
               & (tidy["fiscal_period"] == period)]
    assert len(row) == 1, f"{metric} {freq} FY{year} {period}: {len(row)} rows"
    return row.iloc[0]


# --------------------------------------------------------------------------- the tag map
@pytest.mark.fast
def test_every_financing_metric_is_in_the_tag_map_with_its_kind():
    """The eight financing metrics are canonical: balances are stocks, cash amounts flows."""
    kinds = standardize.canonical_metrics()
    assert {m: kinds[m] for m in FINANCING} == {
        "long_term_debt": "stock", "debt_issued": "flow", "debt_repaid": "flow", "interest_expense": "flow",
        "operating_lease_liabilities": "stock", "finance_lease_liabilities": "stock", "buybacks": "flow",
        "dividends": "flow"}


@pytest.mark.fast
def test_company_overrides_replace_the_default_tags():
    """Oracle's debt proceeds come first from its senior-notes tag, its balances from LongTermNotesAndLoans and the
    composed total; Alphabet repays under RepaymentsOfDebtAndCapitalLeaseObligations; others keep the defaults."""
    orcl = standardize.tags_for("ORCL")
    first = orcl.sort_values("priority").drop_duplicates("metric").set_index("metric")["tag"]
    assert first["debt_issued"] == "ProceedsFromIssuanceOfSeniorLongTermDebt"
    assert first["long_term_debt"] == "LongTermNotesAndLoans"
    assert orcl.loc[orcl["metric"] == "total_debt", "tag"].tolist() == ["LongTermNotesAndLoans+DebtCurrent"]
    googl = standardize.tags_for("GOOGL")
    assert googl.loc[googl["metric"] == "debt_repaid"].sort_values("priority")["tag"].iloc[0] == \
        "RepaymentsOfDebtAndCapitalLeaseObligations"
    amzn = standardize.tags_for("AMZN")
    assert amzn.loc[amzn["metric"] == "total_debt", "tag"].tolist() == ["LongTermDebt"]


@pytest.mark.fast
def test_composed_tag_adds_parts_only_within_one_filing():
    """A + B = 3 + 1 = 4 where filing k gives both; filing q gives only A, so no composed fact (never a partial sum)."""
    end = pd.Timestamp("2025-05-31")
    raw = pd.DataFrame({"taxonomy": "us-gaap", "tag": ["A", "B", "A"], "unit": "USD", "start": pd.NaT, "end": end,
                        "value": [3.0, 1.0, 3.0], "accession": ["k", "k", "q"]})
    out = standardize.composed_facts(raw, "A+B", "us-gaap")
    assert out[["tag", "accession", "value"]].to_dict("records") == [{"tag": "A+B", "accession": "k", "value": 4.0}]


@pytest.mark.fast
def test_oracle_total_debt_is_its_two_borrowing_lines_at_fiscal_year_ends():
    """Oracle's 10-K of 2025-06-18: notes and borrowings 85,297M noncurrent + 7,271M current = 92,568M at
    2025-05-31; fiscal 2026: 122,342 + 7,199 = 129,541M. Its 10-Qs tag no current part, so a quarter end such as
    2025-11-30 has the noncurrent line (99,984M) and no total, with the reason."""
    reported, tidy = _standardized("ORCL")
    assert _value(tidy, "total_debt", "FY", 2025, "FY")["value"] == 92_568e6
    assert _value(tidy, "total_debt", "FY", 2026, "FY")["value"] == 129_541e6
    assert _value(tidy, "total_debt", "FY", 2026, "FY")["tag"] == "LongTermNotesAndLoans+DebtCurrent"
    q2 = _value(tidy, "total_debt", "Q", 2026, "Q2")
    assert np.isnan(q2["value"]) and "DebtCurrent" in q2["missing_reason"]
    assert _value(tidy, "long_term_debt", "Q", 2026, "Q2")["value"] == 99_984e6


@pytest.mark.regression
@pytest.mark.rawdata
def test_oracle_stray_long_term_debt_zero_is_not_its_debt(raw_dir):
    """Regression: Oracle's total_debt was empty but for one 0.0 (the only LongTermDebt fact Oracle ever filed, in
    its fiscal 2022 10-K). The snapshot now gives 75,859M at 2022-05-31 (72,110 + 3,749, same 10-K family)."""
    rows = vl.financials("ORCL", freq="FY", metrics="total_debt").set_index("fiscal_year")
    assert rows.loc[2022, "value"] == 75_859e6
    assert (rows["value"].dropna() > 50e9).all()
    raw = read_concept_file(raw_dir / "sec" / "supplement" / "ORCL" / "LongTermDebt.json", "ORCL")
    assert raw["value"].tolist() == [0.0]


@pytest.mark.fast
def test_fixture_cash_flows_are_read_with_outflows_positive():
    """Oracle fiscal 2026 (10-K 2026-06-22), as filed and positive: senior notes issued 46,093M, debt repaid
    6,942M; Q4 repayments = FY − 9M = 6,942 − 2,193 = 4,749M."""
    _, tidy = _standardized("ORCL")
    assert _value(tidy, "debt_issued", "FY", 2026, "FY")["value"] == 46_093e6
    assert _value(tidy, "debt_repaid", "FY", 2026, "FY")["value"] == 6_942e6
    assert _value(tidy, "debt_repaid", "Q", 2026, "Q4")["value"] == 4_749e6
    flows = tidy[tidy["metric"].isin(["debt_issued", "debt_repaid", "buybacks", "dividends"]) & (tidy["freq"] == "FY")]
    assert (flows["value"].dropna() >= 0).all()


@pytest.mark.fast
def test_quarters_add_up_to_fiscal_years_for_financing_flows():
    """Invariant: where all four quarters of Oracle's fiscal 2025 and 2026 exist, they sum to the reported year."""
    _, tidy = _standardized("ORCL")
    for metric in ("debt_issued", "debt_repaid", "buybacks", "dividends"):
        for year in (2025, 2026):
            q = [_value(tidy, metric, "Q", year, f"Q{k}")["value"] for k in (1, 2, 3, 4)]
            fy = _value(tidy, metric, "FY", year, "FY")["value"]
            if not np.isnan(q).any():
                np.testing.assert_allclose(sum(q), fy, atol=1.0, err_msg=f"{metric} FY{year}")


@pytest.mark.fast
def test_negative_buyback_or_proceeds_is_a_sign_flip():
    """−5 of buybacks (an outflow) or of debt proceeds (an inflow) is refused, naming the direction."""
    base = {"ticker": "X", "tag": "T", "accession": "a", "start": pd.Timestamp("2025-01-01"),
            "end": pd.Timestamp("2025-03-31"), "value": -5.0}
    with pytest.raises(SignConventionError, match="positive outflow"):
        standardize.check_signs(pd.DataFrame([{**base, "metric": "buybacks"}]))
    with pytest.raises(SignConventionError, match="positive inflow"):
        standardize.check_signs(pd.DataFrame([{**base, "metric": "debt_issued"}]))
    standardize.check_signs(pd.DataFrame([{**base, "metric": "operating_income"}]))  # may be negative


# --------------------------------------------------------------------------- zero totals
@pytest.mark.fast
def test_a_zero_year_of_proceeds_makes_each_quarter_zero():
    """Microsoft's fiscal 2025 10-K gives debt proceeds of 0 for the year: each quarter is 0, derived from the
    10-K's zero (an arithmetic consequence: proceeds are never negative), not missing."""
    _, tidy = _standardized("MSFT")
    for k in (1, 2, 3, 4):
        row = _value(tidy, "debt_issued", "Q", 2025, f"Q{k}")
        assert row["value"] == 0.0
        assert row["derivation"].startswith(("reported", "6M", "9M", "FY"))


@pytest.mark.fast
def test_zero_total_covers_only_its_own_quarters_and_metrics():
    """A 6M total of 0 fills Q1 and Q2 only; a zero of operating income (not a non-negative flow) fills nothing."""
    reported = pd.DataFrame({
        "ticker": "X", "metric": ["debt_repaid", "operating_income"], "kind": "flow", "duration": "6M",
        "fiscal_year": 2025, "value": 0.0, "accession": ["a", "b"], "form": "10-Q",
        "filed": pd.Timestamp("2025-08-01"), "tag": "T", "source": "s", "unit": "USD"})
    zeros = zero_totals(reported)
    assert zeros[["metric", "fiscal_period"]].values.tolist() == [["debt_repaid", "Q1"], ["debt_repaid", "Q2"]]
    grid = pd.DataFrame({"ticker": "X", "metric": "debt_repaid", "fiscal_year": 2025,
                         "fiscal_period": ["Q1", "Q2", "Q3"], "value": [np.nan, np.nan, np.nan]})
    for col in ("accession", "form", "filed", "tag", "source", "unit", "derivation"):
        grid[col] = None
    filled = fill_zero_quarters(grid, reported)
    assert filled["value"].tolist()[:2] == [0.0, 0.0] and np.isnan(filled["value"].iloc[2])


# --------------------------------------------------------------------------- derived metric and reasons
@pytest.mark.fast
def test_net_debt_issued_is_proceeds_less_repayments_and_nan_without_both():
    """Hand-worked: 46,093 − 6,942 = 39,151; 0 − 3,200 = −3,200; a missing repayment line gives NaN."""
    issued = pd.Series([46_093.0, 0.0, 29_906.0])
    repaid = pd.Series([6_942.0, 3_200.0, np.nan])
    np.testing.assert_allclose(metrics.get_net_debt_issued(issued, repaid).to_numpy(), [39_151.0, -3_200.0, np.nan])


@pytest.mark.fast
def test_net_debt_issued_comes_out_of_compute_for_oracle_fixture():
    """compute() on the fixture's tidy rows: Oracle fiscal 2025 19,548 − 15,841 = 3,707M."""
    _, tidy = _standardized("ORCL")
    out = metrics.compute(tidy[tidy["freq"] == "FY"], "net_debt_issued")
    got = out.xs(2025, level="fiscal_year")["net_debt_issued"].dropna()
    np.testing.assert_allclose(got.to_numpy(), [3_707e6])


@pytest.mark.fast
def test_missing_financing_lines_carry_a_reason_never_zero():
    """Meta files no repayment line and Amazon no dividend: NaN with their own reasons; a company outside the
    supplement gets the metric-wide reason."""
    meta = vl.financials("META", freq="FY", metrics="debt_repaid")
    assert meta["value"].isna().all()
    assert meta["missing_reason"].str.contains("no debt-repayment concept").all()
    amzn = vl.financials("AMZN", freq="Q", metrics="dividends")
    assert amzn["value"].isna().all() and amzn["missing_reason"].str.contains("pays no dividend").all()
    adbe = vl.financials("ADBE", freq="FY", metrics="buybacks")
    assert adbe["value"].isna().all() and adbe["missing_reason"].str.contains("trimmed companyfacts").all()


@pytest.mark.fast
def test_financing_metrics_come_out_of_financials():
    """The snapshot's financials() carries each financing metric for the hyperscalers with data: Microsoft's fiscal
    2025 10-K gives dividends 24,082M and buybacks 18,420M (PaymentsOfDividendsCommonStock,
    PaymentsForRepurchaseOfCommonStock)."""
    fy = vl.financials("MSFT", freq="FY", metrics=list(FINANCING)).set_index(["metric", "fiscal_year"])["value"]
    assert fy[("dividends", 2025)] == 24_082e6
    assert fy[("buybacks", 2025)] == 18_420e6
    for metric in FINANCING:
        assert fy.loc[metric].notna().any(), metric


# --------------------------------------------------------------------------- the audit
@pytest.mark.fast
def test_balance_check_compares_each_filing_with_the_kept_value():
    """A balance filed twice (10-K 7,545M, later 10-Q 7,500M, kept 7,545M): one comparison, 45M apart, no match;
    a balance filed once is not compared."""
    facts = pd.DataFrame({
        "ticker": "ORCL", "metric": "operating_lease_liabilities", "kind": "stock", "tag": "OperatingLeaseLiability",
        "end": pd.to_datetime(["2024-05-31", "2024-05-31", "2025-05-31"]), "value": [7_545e6, 7_500e6, 13_400e6],
        "accession": ["k24", "q25", "k25"]})
    reported = pd.DataFrame({
        "ticker": "ORCL", "metric": "operating_lease_liabilities", "duration": "instant",
        "tag": "OperatingLeaseLiability", "period_end": pd.to_datetime(["2024-05-31", "2025-05-31"]),
        "value": [7_545e6, 13_400e6], "accession": ["k24", "k25"], "fiscal_year": [2024, 2025],
        "fiscal_quarter": [4, 4]})
    out = crosschecks.balance_checks(facts, reported)
    assert len(out) == 1
    row = out.iloc[0]
    assert (row["reported_from"], row["derived_from"], row["difference"], bool(row["match"])) == (
        "q25", "k24", -45e6, False)


@pytest.mark.fast
def test_audit_covers_financing_flows_and_balances_with_every_exception_explained():
    """The committed crosschecks compare the new flows (3M vs YTD, 9M vs three quarters) and balances across
    filings; none is unexplained."""
    checks = vl.load_table("crosschecks")
    flows = checks[checks["metric"].isin(["debt_issued", "debt_repaid", "buybacks", "dividends", "interest_expense"])]
    balances = checks[checks["check"] == crosschecks.BALANCE_CHECK]
    assert len(flows) > 200 and len(balances) > 350
    assert set(balances["metric"]) == set(crosschecks.BALANCE_METRICS)
    assert (checks["reason"].fillna("") != "unexplained").all()


@pytest.mark.rawdata
def test_financing_fixtures_equal_a_fresh_regeneration(raw_dir):
    """The committed fixtures are exactly what make_financing_fixtures.py cuts from ../shared/data."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_financing_fixtures",
                                                  FIXTURES.parent / "make_financing_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.build(raw_dir / "sec").items():
        assert (FIXTURES / name).read_text(encoding="utf-8") == text, name
