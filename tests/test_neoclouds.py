"""Neoclouds against the hyperscalers (`valuechain_lib.analyses.neocloud_play`, claims A6, B10).

Hand-worked metric values (depreciation-adjusted gross margin, year-on-year growth), the facts
layer on tiny hand-made facts frames, the snapshot layer checked against CoreWeave's published
quarter (NEOCLOUDS.md), and the two verdicts on synthetic inputs either side of their rules (B10:
Meta renting capacity out counts for the claim, Meta buying neocloud capacity against it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from valuechain_lib.analyses import neocloud_play as nc
from valuechain_lib.claims import ledger as claims
from valuechain_lib.snapshot.financials import financials

pytestmark = pytest.mark.fast



def _fact(**kw) -> dict:
    """One facts-table row with neutral defaults (columns `facts()` returns)."""
    row = {"fact_id": "X1", "entity": "CoreWeave", "metric": "revenue", "value": np.nan, "value_low": np.nan,
           "value_high": np.nan, "qualifier": "", "unit": "USD million", "period": "", "period_end": pd.NaT,
           "as_of": pd.NaT, "as_of_precision": "", "claim_id": "B10", "segment": "", "kind": "filing",
           "source_date": pd.NaT,
           "confidence": "high", "source_title": "t", "publisher": "p", "url": "https://example.org/a",
           "evidence": "", "derived_from": "", "note": ""}
    row.update(kw)
    return row


# --------------------------------------------------------------------------- metric functions
def test_adjusted_gross_profit_hand_worked():
    """Revenue 100, cost of revenue 25, D&A 45: adjusted gross profit 30, margin 30% (by hand)."""
    assert_allclose(nc.get_adjusted_gross_profit(100.0, 25.0, 45.0), 30.0, rtol=0, atol=1e-12)
    s = nc.get_adjusted_gross_profit(pd.Series([100.0, 200.0]), pd.Series([25.0, np.nan]), pd.Series([45.0, 10.0]))
    assert_allclose(s.iloc[0], 30.0)
    assert np.isnan(s.iloc[1]), "a missing input gives NaN, not a zero-filled result"


def test_growth_yoy_hand_worked_and_zero_base():
    """CoreWeave 2026-Q1 revenue 2,078 against 2025-Q1 981.632 (USD m, NEOCLOUDS.md): +111.69%."""
    assert_allclose(nc.get_growth_yoy(2078.0, 981.632), 2078.0 / 981.632 - 1, rtol=1e-12)
    assert_allclose(nc.get_growth_yoy(2078.0, 981.632), 1.116883, atol=5e-7)
    assert np.isnan(nc.get_growth_yoy(5.0, 0.0))
    out = nc.get_growth_yoy(pd.Series([150.0, 10.0]), pd.Series([100.0, 0.0]))
    assert_allclose(out.iloc[0], 0.5)
    assert np.isnan(out.iloc[1])


def test_to_usd():
    """Facts money units: 17.4 USD billion = 1.74e10 USD; 66.766 USD million = 6.6766e7 USD."""
    assert_allclose(nc.to_usd(17.4, "USD billion"), 17.4e9)
    assert_allclose(nc.to_usd(66.766, "USD million"), 66.766e6)
    assert np.isnan(nc.to_usd(26, "percent"))


# --------------------------------------------------------------------------- snapshot layer
def _tidy(rows):
    out = []
    for (year, q), items in rows.items():
        for metric, value in items.items():
            out.append({"ticker": "CRWV", "metric": metric, "calendar_year": year, "calendar_quarter": q,
                        "fiscal_year": year, "fiscal_period": f"Q{q}", "value": value,
                        "period_end": pd.Period(year=year, quarter=q, freq="Q").end_time.normalize()})
    return pd.DataFrame(out)


def test_coreweave_margins_on_hand_made_table():
    """Two quarters a year apart: gross margin (100-25)/100, adjusted (100-25-45)/100, growth 150/100-1."""
    base = {"cost_of_revenue": 25.0, "depreciation_amortization": 45.0, "operating_income": -5.0,
            "net_income": -10.0, "capex": 250.0, "gross_profit": np.nan}
    table = _tidy({(2025, 1): {"revenue": 100.0, **base}, (2026, 1): {"revenue": 150.0, **base}})
    cw = nc.coreweave(table=table)
    first = cw.iloc[0]
    assert_allclose(first["gross_margin"], 0.75)
    assert_allclose(first["adjusted_gross_margin"], 0.30)
    assert_allclose(first["operating_margin"], -0.05)
    assert_allclose(first["capex_to_revenue"], 2.5)
    assert np.isnan(first["revenue_growth"])
    assert_allclose(cw.iloc[1]["revenue_growth"], 0.5)
    # Invariant: adjusted gross profit = gross profit − D&A.
    assert_allclose(cw["adjusted_gross_profit"], cw["gross_profit"] - cw["depreciation_amortization"])
    # Each row keeps its own period end, which chart captions name as "data through".
    assert cw["period_end"].dt.strftime("%Y-%m-%d").tolist() == ["2025-03-31", "2026-03-31"]


def test_coreweave_2025q2_against_published_quarter():
    """2025-Q2 from the file: revenue 1,212.788, D&A 559.481 (NEOCLOUDS.md table) and cost of revenue
    312.667 (USD m): adjusted gross margin (1212.788 − 312.667 − 559.481) / 1212.788 = 0.280873."""
    cw = nc.coreweave("Q").set_index("calendar_label")
    row = cw.loc["2025 Q2"]
    assert_allclose(row["revenue"], 1212.788e6, rtol=1e-9)
    assert_allclose(row["depreciation_amortization"], 559.481e6, rtol=1e-9)
    assert_allclose(row["adjusted_gross_margin"], 340.640 / 1212.788, rtol=1e-6)
    assert row["adjusted_gross_margin"] < row["gross_margin"]
    assert "secondary" in row["source"]


def test_peer_comparison_pooled_margin_matches_financials():
    """The pooled hyperscaler operating margin equals Σ operating income / Σ revenue from `financials`."""
    peers = nc.peer_comparison().set_index("entity")
    year, q = (int(x) for x in peers.loc["CoreWeave", "calendar_label"].replace("Q", "").split())
    t = financials(["AMZN", "MSFT", "GOOGL", "META", "ORCL"], freq="TTM", calendar=True,
                   metrics=["revenue", "operating_income"])
    t = t[(t["calendar_year"] == year) & (t["calendar_quarter"] == q)]
    sums = t.groupby("metric")["value"].sum()
    assert_allclose(peers.loc[nc.POOLED, "operating_margin"], sums["operating_income"] / sums["revenue"], rtol=1e-12)
    assert np.isnan(peers.loc["MSFT", "adjusted_gross_margin"])


# --------------------------------------------------------------------------- facts layer
def test_customer_concentration_skips_expense_shares():
    """Regression: 'interest expense as share of revenue' is not a customer; 'Top two' is not one customer."""
    frame = pd.DataFrame([
        _fact(fact_id="A", metric="Microsoft share of revenue, 2024", value=62.0, unit="percent", period="FY2024",
              period_end=pd.Timestamp("2024-12-31")),
        _fact(fact_id="B", metric="Top two customers' share of revenue", value=77.0, unit="percent",
              period="FY2024", period_end=pd.Timestamp("2024-12-31")),
        _fact(fact_id="C", metric="interest expense as share of revenue", value=26.0, unit="percent",
              period="2026-Q1", period_end=pd.Timestamp("2026-03-31")),
    ])
    conc = nc.customer_concentration(frame)
    assert set(conc["fact_id"]) == {"A", "B"}
    top = nc.latest_concentration(conc)
    assert top["fact_id"] == "A" and top["customer"] == "Microsoft"
    assert_allclose(top["share"], 0.62)


def test_nebius_growth_only_within_one_release():
    """2026-Q1 399.0 against 2025-Q1 50.9 from the same release: 399/50.9 − 1 = 6.8389; a pair from two
    releases (bases differ after the Toloka restatement) gets no growth."""
    rev = dict(metric="revenue (group)", claim_id="B10", entity="Nebius")
    frame = pd.DataFrame([
        _fact(fact_id="N1", value=50.9, period="2025-Q1", period_end=pd.Timestamp("2025-03-31"),
              url="https://example.org/q1-2026", **rev),
        _fact(fact_id="N2", value=399.0, period="2026-Q1", period_end=pd.Timestamp("2026-03-31"),
              url="https://example.org/q1-2026", **rev),
        _fact(fact_id="N3", value=37.9, period="2024-Q4", period_end=pd.Timestamp("2024-12-31"),
              url="https://example.org/q4-2024", **rev),
        _fact(fact_id="N4", value=227.7, period="2025-Q4", period_end=pd.Timestamp("2025-12-31"),
              url="https://example.org/q4-2025", **rev),
        _fact(fact_id="N5", metric="capex", entity="Nebius", value=2.1, unit="USD billion", period="2025-Q4",
              period_end=pd.Timestamp("2025-12-31"), confidence="low"),
    ])
    nb = nebius_q = nc.nebius_quarters(frame).set_index("period")
    assert_allclose(nb.loc["2026-Q1", "revenue_growth"], 399.0 / 50.9 - 1, rtol=1e-12)
    assert np.isnan(nb.loc["2025-Q4", "revenue_growth"])
    assert nb.loc["2025-Q4", "growth_basis"].startswith("different releases")
    assert_allclose(nb.loc["2025-Q4", "capex_to_revenue"], 2.1e9 / 227.7e6)
    assert nebius_q.loc["2025-Q4", "lowest_confidence"] == "low"


def test_interest_burden_uses_facts_interest_and_snapshot_revenue():
    """2025-Q2: net interest 266.966 (facts) over revenue 1,212.788 (file) = 0.22013, by hand."""
    burden = nc.coreweave_interest().set_index("period")
    assert_allclose(burden.loc["2025-Q2", "interest_to_revenue"], 266.966 / 1212.788, rtol=1e-9)
    assert_allclose(burden.loc["2025-Q2", "interest_to_operating_income"], 266.966 / 19.209, rtol=1e-9)


# --------------------------------------------------------------------------- verdicts
def _b10_rows(*which) -> pd.DataFrame:
    """Facts rows for B10: "rent" (Meta selling compute), "buy" (Meta → CoreWeave commitment), "nebius_buy" (a
    Nebius "Meta contract" row), "market" (a share move), "capex" (a Meta row that is none of these)."""
    rows = {
        "rent": _fact(fact_id="R", entity="Meta", metric="Revenue of its cloud business selling spare compute",
                      value=1.0, unit="USD billion", as_of=pd.Timestamp("2026-09-30")),
        "buy": _fact(fact_id="B", entity="Meta → CoreWeave", metric="Meta's take-or-pay compute commitment with "
                     "CoreWeave", value=35.0, unit="USD billion", kind="press report", confidence="low",
                     as_of=pd.Timestamp("2026-01-01")),
        "nebius_buy": _fact(fact_id="N", entity="Nebius", metric="Meta contract (2025): total contract value",
                            value=2.9, unit="USD billion", kind="press report", confidence="medium",
                            as_of=pd.Timestamp("2025-11-11")),
        "market": _fact(fact_id="M", entity="CoreWeave", metric="One-day share-price change on 2026-07-01",
                        value=-14.0, unit="percent", kind="press report", confidence="low",
                        as_of=pd.Timestamp("2026-07-01")),
        "capex": _fact(fact_id="C", entity="Meta", metric="Capex plan for 2026 (third-party cloud costs)",
                       value=np.nan, value_low=115.0, value_high=135.0, unit="USD billion", claim_id="B2",
                       as_of=pd.Timestamp("2026-01-28")),
    }
    return pd.DataFrame([rows[w] for w in which])


def test_owner_evidence_sorts_rows_into_roles():
    """Meta selling compute → rents out; Meta → CoreWeave and Nebius's "Meta contract" → buys from a neocloud;
    a share move → market reaction; a Meta capex row → left out."""
    ev = nc.owner_evidence(_b10_rows("rent", "buy", "nebius_buy", "market", "capex"), owner="Meta")
    assert ev.set_index("fact_id")["role"].to_dict() == {
        "R": "rents out", "B": "buys from a neocloud", "N": "buys from a neocloud", "M": "market reaction"}


@pytest.mark.parametrize(("which", "threshold", "status", "distance"), [
    (("rent",), 1, "supported", 1),
    (("rent", "buy"), 1, "mixed", 1),
    (("buy", "nebius_buy", "market"), 1, "not supported", 1),   # Meta a customer, never a supplier: against
    (("market",), 1, "not testable with public data", 1),
    (("rent", "buy"), 2, "not supported", 1),                   # one figure short of the two asked
    ((), 1, "not testable with public data", 1),
])
def test_b10_flips_on_renting_out_and_buying(which, threshold, status, distance):
    """B10 counts cited figures of Meta renting compute out (measured) against min_rent_out_figures; figures of
    Meta buying neocloud capacity count against: rent only → supported, rent + buy → mixed, buy only → not
    supported, neither → not testable."""
    frame = _b10_rows(*which) if which else _b10_rows("capex")
    v = nc.owner_supply_verdict(nc.owner_evidence(frame), threshold, "Meta")
    assert v.status == status
    assert v.measured == which.count("rent") and v.threshold == threshold
    assert v.distance_to_flip == distance
    if "buy" in which or "nebius_buy" in which:
        assert "Against the claim, Meta buys capacity" in v.summary
    assert not v.summary.startswith("**")


def test_b10_reports_fragility_as_context_only():
    """The neoclouds' fragility (largest customer 67%, CoreWeave margin −3% against 27% pooled) is reported but does
    not change the status: buy-only evidence stays not supported."""
    context = nc.fragility(_peers(-0.03, 0.27), _concentration(0.67))
    assert_allclose(context["share"], 0.67)
    v = nc.owner_supply_verdict(nc.owner_evidence(_b10_rows("buy")), 1, "Meta", context)
    assert v.status == "not supported"
    assert "Context, not the test" in v.summary and "67%" in v.summary
    assert_allclose(v.numbers["coreweave_operating_margin"], -0.03)
    assert "2026-03-31 (CoreWeave margins, calendar 2026 Q1)" in v.data_through


def _peers(cw_margin: float, pooled: float) -> pd.DataFrame:
    return pd.DataFrame({"entity": ["CoreWeave", nc.POOLED], "calendar_label": ["2026 Q1", "2026 Q1"],
                         "operating_margin": [cw_margin, pooled]})


def _concentration(share: float) -> pd.DataFrame:
    frame = pd.DataFrame([_fact(fact_id="S", metric="Microsoft share of revenue", value=share * 100,
                                unit="percent", period="FY2025", period_end=pd.Timestamp("2025-12-31"),
                                confidence="low")])
    return nc.customer_concentration(frame)


def test_b10_committed_data_today_and_at_essay_date():
    """On the committed facts no figure shows Meta renting compute out and several show it buying from CoreWeave
    and Nebius: not supported, measured 0 against 1, today and on 2 July 2026."""
    row = claims._row("B10")
    for v in (claims.evaluate(row), claims.evaluate_at_essay_date(row)):
        assert v.status == "not supported" and v.measured == 0 and v.threshold == 1
        assert v.numbers["buy_figures"] >= 1 and "secondary" in v.sources


def test_a6_not_testable_and_labels_press_reports():
    """A6: the essay's $300M / 45% (ledger parameters) were not found; the figures found are shown as press
    reports; with no Together AI row yet (Essay A's date) the verdict says none had been published."""
    v = claims.verdict("A6")
    assert v.status == "not testable with public data" and v.measured is None
    assert "not found" in v.summary and "press report" in v.summary and "$300M" in v.summary
    synthetic = pd.DataFrame([_fact(fact_id="T1", entity="Together AI", metric="Annualized revenue", value=1.0,
                                    unit="USD billion", kind="press report", confidence="low", claim_id="A6")])
    v2 = nc.together_verdict(nc.together_ai(synthetic), 250e6, 0.5)
    assert v2.status == "not testable with public data" and "T1" in v2.sources and "$250M" in v2.summary
    v3 = nc.together_verdict(nc.together_ai(synthetic.iloc[0:0]))
    assert "No Together AI revenue figure had been published" in v3.summary
    at_essay = claims.evaluate_at_essay_date(claims._row("A6"))
    assert at_essay.status == "not testable with public data"


def test_peer_comparison_keeps_each_company_own_period_end():
    """Calendar-aligned peers name their own period ends: Oracle's twelve months to calendar 2026 Q1 end on
    2026-02-28, Amazon's on 2026-03-31; the pooled row carries the latest of the five."""
    peers = nc.peer_comparison().set_index("entity")
    assert peers.at["ORCL", "period_end"] == pd.Timestamp("2026-02-28")
    assert peers.at["AMZN", "period_end"] == pd.Timestamp("2026-03-31")
    companies = peers.drop(index=["CoreWeave", nc.POOLED])
    assert peers.at[nc.POOLED, "period_end"] == companies["period_end"].max()
