"""Backlogs, downstream run rates and the funding gap (`valuechain_lib.backlog`, claims B4, B5, B7, B9, B11).

Hand-worked values (RPO cover, RPO growth, coverage ratio, gap-closing growth rate), Oracle's RPO
jump checked against its published figures, and each verdict on synthetic inputs either side of
its rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from valuechain_lib import backlog as bl

pytestmark = pytest.mark.fast



def _fact(**kw) -> dict:
    row = {"fact_id": "X1", "entity": "OpenAI", "metric": "Annualized run-rate revenue", "value": np.nan,
           "value_low": np.nan, "value_high": np.nan, "qualifier": "", "unit": "USD billion", "period": "",
           "period_end": pd.NaT, "as_of": pd.NaT, "as_of_precision": "day", "claim_id": "B5", "segment": "",
           "kind": "company statement", "confidence": "medium", "source_title": "t", "publisher": "p",
           "url": "", "evidence": "", "derived_from": "", "note": ""}
    row.update(kw)
    return row


# --------------------------------------------------------------------------- metric functions
def test_rpo_to_revenue_hand_worked():
    """Oracle FY2026 Q1: RPO 455.3 over TTM revenue 57.4 (USD bn) = 7.932 years of revenue."""
    assert_allclose(bl.get_rpo_to_revenue(455.3, 57.4), 455.3 / 57.4)
    out = bl.get_rpo_to_revenue(pd.Series([10.0, 10.0]), pd.Series([4.0, 0.0]))
    assert_allclose(out.iloc[0], 2.5)
    assert np.isnan(out.iloc[1])


def test_coverage_hand_worked():
    """Run rates 24 + 47 = 71 against capex 482.149 (USD bn): 71 / 482.149 = 0.147257."""
    assert_allclose(bl.get_coverage(71.0, 482.149), 0.147257, atol=5e-7)
    assert np.isnan(bl.get_coverage(71.0, 0.0))


def test_required_growth_hand_worked():
    """g = (capex/revenue)^(1/N) − 1: 400/100 over 2 years → 100%; 482.149/71 over 5 years → 46.685%."""
    assert_allclose(bl.get_required_growth(400.0, 100.0, 2), 1.0, rtol=1e-12)
    assert_allclose(bl.get_required_growth(482.149, 71.0, 5), (482.149 / 71.0) ** 0.2 - 1, rtol=1e-12)
    assert_allclose(bl.get_required_growth(482.149, 71.0, 5), 0.46685, atol=5e-6)
    # With capex growing 10% a year: (1.1)·(400/100)^(1/2) − 1 = 1.2.
    assert_allclose(bl.get_required_growth(400.0, 100.0, 2, capex_growth=0.10), 1.2, rtol=1e-12)
    # Invariant: revenue·(1+g)^N equals capex·(1+c)^N.
    g = bl.get_required_growth(300.0, 40.0, 7, capex_growth=0.05)
    assert_allclose(40.0 * (1 + g) ** 7, 300.0 * 1.05 ** 7, rtol=1e-12)
    assert bl.get_required_growth(50.0, 100.0, 5) < 0  # revenue already above capex
    assert np.isnan(bl.get_required_growth(100.0, 0.0, 5))


# --------------------------------------------------------------------------- filings layer
def _rpo_rows(values: dict, ticker: str = "ORCL") -> pd.DataFrame:
    """Tidy rpo rows {(year, q): value}, fiscal = calendar, period end at the quarter end."""
    rows = []
    for i, ((year, q), value) in enumerate(sorted(values.items())):
        end = pd.Period(year=year, quarter=q, freq="Q").to_timestamp(how="end").normalize()
        rows.append({"ticker": ticker, "metric": "rpo", "calendar_year": year, "calendar_quarter": q,
                     "fiscal_year": year, "fiscal_period": f"Q{q}", "period_end": end, "value": value,
                     "accession": f"acc-{i}", "form": "10-Q", "filed": end})
    return pd.DataFrame(rows)


def _revenue_rows(values: dict, ticker: str = "ORCL") -> pd.DataFrame:
    return pd.DataFrame([{"ticker": ticker, "metric": "revenue", "calendar_year": y, "calendar_quarter": q,
                          "value": v} for (y, q), v in values.items()])


def test_rpo_growth_hand_worked():
    """RPO 100 → 150 and TTM revenue 40 → 44 a year later: RPO growth 50%, revenue growth 10%, cover 150/44."""
    rpo = _rpo_rows({(2024, 1): 100.0, (2025, 1): 150.0})
    rev = _revenue_rows({(2024, 1): 40.0, (2025, 1): 44.0})
    hist = bl.rpo_history(["ORCL"], since=2024, table=rpo, revenue=rev).set_index("calendar_label")
    assert_allclose(hist.loc["2025 Q1", "rpo_growth"], 0.5)
    assert_allclose(hist.loc["2025 Q1", "revenue_growth"], 0.1)
    assert_allclose(hist.loc["2025 Q1", "rpo_to_revenue"], 150.0 / 44.0)
    assert np.isnan(hist.loc["2024 Q1", "rpo_growth"])


def test_oracle_rpo_jump_against_published_figures():
    """Oracle's 10-Q for the quarter to 2025-08-31: RPO $455.3bn (F42 says $455B), up from $137.8bn:
    +$317.5bn (Oracle said it added $317B, F41)."""
    jump = bl.rpo_change("ORCL", "2025-08-31")
    assert_allclose(jump["rpo"], 455.3e9, rtol=1e-9)
    assert_allclose(jump["change"], 455.3e9 - 137.8e9, rtol=1e-9)
    assert abs(jump["change"] - 317e9) < 1e9


def test_stale_rpo_is_left_out():
    """Amazon's RPO stops in 2020: older than four quarters before the newest, it is not compared."""
    hist = bl.rpo_history()
    table = bl.rpo_growth_vs_revenue(hist)
    assert "AMZN" not in set(table["ticker"]) and "META" not in set(hist["ticker"])
    assert {"MSFT", "GOOGL", "ORCL"} <= set(table["ticker"])


# --------------------------------------------------------------------------- facts layer
def test_run_rates_select_annualized_money_rows_and_dates():
    """Monthly revenue and GW rows are left out; a year-only as_of is placed at 31 December."""
    frame = pd.DataFrame([
        _fact(fact_id="R1", value=2.0, as_of=pd.Timestamp("2023-01-01"), as_of_precision="year",
              metric="Annualized recurring revenue"),
        _fact(fact_id="R2", value=2.0, unit="USD billion per month", metric="Revenue per month"),
        _fact(fact_id="R3", value=1.9, unit="GW", metric="Compute capacity"),
    ])
    rates = bl.run_rates(frame)
    assert rates["fact_id"].tolist() == ["R1"]
    assert rates["point_date"].iloc[0] == pd.Timestamp("2023-12-31")
    assert_allclose(rates["usd"].iloc[0], 2e9)


def test_latest_run_rate_prefers_newest_then_confidence():
    """Newest date wins; on the same date a medium-confidence company statement beats a low press report."""
    frame = pd.DataFrame([
        _fact(fact_id="A1", entity="Anthropic", value=14.0, as_of=pd.Timestamp("2026-02-12")),
        _fact(fact_id="A2", entity="Anthropic", value=44.0, as_of=pd.Timestamp("2026-05-01"),
              kind="press report", confidence="low"),
        _fact(fact_id="A3", entity="Anthropic", value=47.0, as_of=pd.Timestamp("2026-05-01")),
    ])
    latest = bl.latest_run_rates(bl.run_rates(frame))
    assert latest["fact_id"].tolist() == ["A3"]


def _capex_frame(capex: float) -> pd.DataFrame:
    return pd.DataFrame({"ticker": ["Combined", "Combined"], "calendar_label": ["2025 Q4", "2026 Q1"],
                         "quarter_end": pd.to_datetime(["2025-12-31", "2026-03-31"]), "capex": [capex / 2, capex]})


def _rates(*values) -> pd.DataFrame:
    frame = pd.DataFrame([_fact(fact_id=f"P{i}", entity=e, value=v, as_of=pd.Timestamp("2026-03-31"))
                          for i, (e, v) in enumerate(zip(["OpenAI", "Anthropic"], values, strict=False))])
    return bl.run_rates(frame)


def test_funding_gap_hand_worked():
    """Capex 482.149bn, run rates 24bn + 47bn: coverage 71/482.149; 5-year rate (482.149/71)^(1/5) − 1."""
    gap = bl.funding_gap(_capex_frame(482.149e9), _rates(24.0, 47.0), years=5)
    assert gap["capex_label"] == "2026 Q1"
    assert_allclose(gap["run_rate"], 71e9)
    assert_allclose(gap["coverage"], 71.0 / 482.149, rtol=1e-12)
    assert_allclose(gap["required_growth"], (482.149 / 71.0) ** 0.2 - 1, rtol=1e-12)
    table = bl.required_growth_table(gap, horizons=(5,), capex_growths=(0.0,))
    assert_allclose(table["required_growth"].iloc[0], gap["required_growth"])


# --------------------------------------------------------------------------- verdicts
def test_verdict_b4_flips_with_confidence():
    """Low-confidence pricing rows only → not testable; one medium row → mixed (the shift stays untested)."""
    low = pd.DataFrame([_fact(fact_id="P1", entity="Oracle", claim_id="B4", metric="token bundles", value=33.0,
                              unit="count", confidence="low")])
    assert bl.verdict_b4("medium", low).status == "not testable with public data"
    assert bl.verdict_b4("low", low).status == "mixed"
    medium = low.assign(confidence="medium")
    assert bl.verdict_b4("medium", medium).status == "mixed"
    assert bl.verdict_b4().status in {"mixed", "not testable with public data"}


@pytest.mark.parametrize(("threshold", "status"), [(10e9, "supported"), (24e9, "supported"),
                                                   (30e9, "mixed"), (47.5e9, "not supported")])
def test_verdict_b5_threshold(threshold, status):
    """Run rates 24bn and 47bn: both ≥ 10bn or 24bn (inclusive), one ≥ 30bn, none ≥ 47.5bn."""
    v = bl.verdict_b5(threshold, _rates(24.0, 47.0))
    assert v.status == status
    assert v.summary.startswith(f"**Verdict on B5: {status}.**")


def test_verdict_b7_flips_with_the_jump():
    """Contract $300bn, tolerance 10% (bound $270bn): jumps of $317.5bn and $271bn → supported; $269bn → not."""
    contract = pd.DataFrame([_fact(fact_id="C1", entity="OpenAI → Oracle", claim_id="B7",
                                   metric="Compute purchase contract: total value", value=300.0,
                                   kind="press report")])
    for prior, status in ((137.8e9, "supported"), (184.3e9, "supported"), (186.3e9, "not supported")):
        rpo = _rpo_rows({(2025, 2): prior, (2025, 3): 455.3e9})
        v = bl.verdict_b7(0.10, table=rpo, facts_frame=contract, period_end="2025-09-30")
        assert v.status == status, (prior, v.summary)
        assert "press report" in v.summary
    assert bl.verdict_b7().status == "supported"


def test_verdict_b9_counts_companies():
    """RPO growth above revenue growth for two of two → supported; one of two → mixed; none → not supported."""
    def hist(growths):
        rows = []
        for t, (g_rpo, g_rev) in growths.items():
            rows.append({"ticker": t, "quarter_end": pd.Timestamp("2026-03-31"), "fiscal_label": "FY2026 Q1",
                         "rpo_growth": g_rpo, "revenue_growth": g_rev})
        return pd.DataFrame(rows)

    assert bl.verdict_b9(hist({"A": (0.5, 0.1), "B": (0.3, 0.2)})).status == "supported"
    assert bl.verdict_b9(hist({"A": (0.5, 0.1), "B": (0.1, 0.2)})).status == "mixed"
    assert bl.verdict_b9(hist({"A": (0.05, 0.1), "B": (0.1, 0.2)})).status == "not supported"


@pytest.mark.parametrize(("capex", "status"), [(71e9 * 0.99, "supported"), (71e9, "supported"),
                                               (71e9 * 1.01, "not supported"), (482.149e9, "not supported")])
def test_verdict_b11_flips_at_coverage(capex, status):
    """Run rates 71bn: coverage ≥ 1 → supported (funded); below → not supported, with the closing rate."""
    gap = bl.funding_gap(_capex_frame(capex), _rates(24.0, 47.0), years=5)
    v = bl.verdict_b11(1.0, gap)
    assert v.status == status
    assert_allclose(v.numbers["coverage"], 71e9 / capex)
    if status == "not supported":
        assert "a year to match it in 5 years" in v.summary


def test_verdicts_on_committed_data():
    """The ledger calls the rules with its parameters only; each returns a Verdict."""
    for v in (bl.verdict_b4(), bl.verdict_b5(large_run_rate_usd=10e9), bl.verdict_b7(), bl.verdict_b9(),
              bl.verdict_b11(coverage_threshold=1.0)):
        assert v.summary and v.sources
