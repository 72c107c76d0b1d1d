"""Backlogs, downstream run rates and the funding gap (`valuechain_lib.analyses.training_to_inference`, claims B4, B5, B7, B8, B9, B11).

Hand-worked values (RPO cover, RPO growth, coverage ratio, gap-closing growth rate), Oracle's RPO
jump checked against its published figures, and each verdict on synthetic inputs either side of
its rule (status, measured figure, distance to a flip), plus every rule run by the ledger today
and at Essay B's date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from valuechain_lib.analyses import training_to_inference as bl
from valuechain_lib.claims import ledger as claims
from valuechain_lib.snapshot.vintage import as_of

pytestmark = pytest.mark.fast



def _fact(**kw) -> dict:
    row = {"fact_id": "X1", "entity": "OpenAI", "ticker": "", "metric": "Annualized run-rate revenue", "value": np.nan,
           "value_low": np.nan, "value_high": np.nan, "qualifier": "", "unit": "USD billion", "period": "",
           "period_end": pd.NaT, "as_of": pd.NaT, "as_of_precision": "day", "claim_id": "B5", "segment": "",
           "kind": "company statement", "confidence": "medium", "source_title": "t", "publisher": "p",
           "source_date": pd.NaT,
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


def test_oracle_quarter_before_a_date():
    """The contract was reported 2025-09-10: Oracle's last quarter ending by then is 2025-08-31 (FY2026 Q1)."""
    rpo = _rpo_rows({(2025, 2): 1.0, (2025, 3): 2.0, (2025, 4): 3.0})
    assert bl.oracle_quarter_before("2025-10-15", rpo) == pd.Timestamp("2025-09-30")
    assert bl.oracle_quarter_before("2025-09-30", rpo) == pd.Timestamp("2025-09-30")
    with pytest.raises(bl.MissingEvidenceError):
        bl.oracle_quarter_before("2025-01-01", rpo)
    assert bl.oracle_quarter_before("2025-09-10") == pd.Timestamp("2025-08-31")


# --------------------------------------------------------------------------- facts layer
def test_run_rates_select_annualized_money_rows_and_dates():
    """Monthly revenue, GW and commitment rows are left out; a year-only as_of is placed at 31 December,
    a month-only one keeps its month in point_text."""
    frame = pd.DataFrame([
        _fact(fact_id="R1", value=2.0, as_of=pd.Timestamp("2023-01-01"), as_of_precision="year",
              metric="Annualized recurring revenue"),
        _fact(fact_id="R2", value=2.0, unit="USD billion per month", metric="Revenue per month"),
        _fact(fact_id="R3", value=1.9, unit="GW", metric="Compute capacity"),
        _fact(fact_id="R4", value=518.0, entity="Anthropic", metric="Compute commitments, total"),
        _fact(fact_id="R5", value=47.0, entity="Anthropic", metric="Run-rate revenue", as_of=pd.Timestamp("2026-05-01"),
              as_of_precision="month"),
    ])
    rates = bl.run_rates(frame)
    assert rates["fact_id"].tolist() == ["R5", "R1"]
    r1 = rates.set_index("fact_id").loc["R1"]
    assert r1["point_date"] == pd.Timestamp("2023-12-31") and r1["point_text"] == "2023"
    assert rates.set_index("fact_id").loc["R5", "point_text"] == "2026-05"
    assert_allclose(r1["usd"], 2e9)


def test_essay_figure_found_by_its_metric():
    """The row recording the essay's ~$44B is the one whose metric names "Essay B's" figure (F29 in the table)."""
    frame = pd.DataFrame([
        _fact(fact_id="E1", entity="Anthropic", value=44.0, metric='ARR (Essay B\'s "~$44B")', kind="press report",
              confidence="low"),
        _fact(fact_id="E2", entity="Anthropic", value=47.0, metric="Run-rate revenue"),
    ])
    rates = bl.run_rates(frame)
    assert bl.essay_figures(rates)["fact_id"].tolist() == ["E1"]
    assert rates.set_index("fact_id")["essay_figure"].to_dict() == {"E1": True, "E2": False}
    assert bl.essay_figures(bl.run_rates())["fact_id"].tolist() == ["F29"]


def test_latest_run_rate_prefers_newest_then_confidence():
    """Newest date wins; on the same date a medium-confidence company statement beats a low press report;
    with min_confidence="medium" a newer low-confidence point is passed over."""
    frame = pd.DataFrame([
        _fact(fact_id="A1", entity="Anthropic", value=14.0, as_of=pd.Timestamp("2026-02-12")),
        _fact(fact_id="A2", entity="Anthropic", value=44.0, as_of=pd.Timestamp("2026-05-01"),
              kind="press report", confidence="low"),
        _fact(fact_id="A3", entity="Anthropic", value=47.0, as_of=pd.Timestamp("2026-05-01")),
        _fact(fact_id="A4", entity="Anthropic", value=65.0, as_of=pd.Timestamp("2026-07-31"),
              kind="press report", confidence="low"),
    ])
    rates = bl.run_rates(frame)
    assert bl.latest_run_rates(rates)["fact_id"].tolist() == ["A4"]
    assert bl.latest_run_rates(rates, "medium")["fact_id"].tolist() == ["A3"]
    assert bl.latest_run_rates(rates.iloc[:3])["fact_id"].tolist() == ["A3"]


def test_matched_run_rates_pick_nearest_date_then_confidence():
    """Capex window ending 2026-03-31, gap 92 days: Anthropic's point of 2026-04-07 (7 days) beats one dated only
    "2026-04" (counted from mid-April, 14 days) and a medium one of 2026-02-12 (47 days); 2026-07-31 (122 days)
    is out of reach. On the same date a medium point beats a low one."""
    frame = pd.DataFrame([
        _fact(fact_id="A1", entity="Anthropic", value=14.0, as_of=pd.Timestamp("2026-02-12")),
        _fact(fact_id="A2", entity="Anthropic", value=44.0, as_of=pd.Timestamp("2026-04-01"), as_of_precision="month",
              confidence="low"),
        _fact(fact_id="A3", entity="Anthropic", value=30.0, as_of=pd.Timestamp("2026-04-07"), confidence="low"),
        _fact(fact_id="A4", entity="Anthropic", value=65.0, as_of=pd.Timestamp("2026-07-31"), confidence="low"),
        _fact(fact_id="O1", entity="OpenAI", value=24.0, as_of=pd.Timestamp("2026-03-31"), confidence="low"),
        _fact(fact_id="O2", entity="OpenAI", value=25.0, as_of=pd.Timestamp("2026-03-31")),
    ])
    picked = bl.matched_run_rates(bl.run_rates(frame), "2026-03-31", 92).set_index("entity")
    assert picked["fact_id"].to_dict() == {"Anthropic": "A3", "OpenAI": "O2"}
    assert picked.loc["Anthropic", "days_from_period_end"] == 7
    with pytest.raises(bl.MissingEvidenceError, match="OpenAI"):
        bl.matched_run_rates(bl.run_rates(frame), "2026-09-30", 92)


def test_aws_backlog_stops_at_the_snapshot():
    """A backlog row for a quarter after Amazon's last in the snapshot is context, not part of the series."""
    frame = pd.DataFrame([
        _fact(fact_id=f"W{i}", entity="Amazon", segment="AWS", metric="backlog", value=v, period=p,
              period_end=pd.Timestamp(e), claim_id="B9")
        for i, (v, p, e) in enumerate([(364.0, "2026-Q1", "2026-03-31"), (496.0, "2026-Q2", "2026-06-30")])])
    assert bl.aws_backlog(frame)["fact_id"].tolist() == ["W0", "W1"]
    assert bl.aws_backlog(frame, through="2026-03-31")["fact_id"].tolist() == ["W0"]
    assert bl.aws_backlog()["point_date"].max() <= bl.last_filed_quarter("AMZN")


def test_reported_after_snapshot_keeps_only_later_quarters():
    """Microsoft's RPO of 2026-06-30 comes after its last filed quarter (2026-03-31); the 2026-03-31 row does not."""
    frame = pd.DataFrame([
        _fact(fact_id="M1", entity="Microsoft", ticker="MSFT", metric="Remaining performance obligations", value=633.0,
              period_end=pd.Timestamp("2026-03-31"), claim_id="B9"),
        _fact(fact_id="M2", entity="Microsoft", ticker="MSFT", metric="Remaining performance obligations", value=684.0,
              period_end=pd.Timestamp("2026-06-30"), claim_id="B9"),
        _fact(fact_id="M3", entity="Microsoft", ticker="MSFT", metric="Revenue", value=300.0, period_end=pd.Timestamp("2026-06-30")),
    ])
    later = bl.reported_after_snapshot(["MSFT"], frame, last_quarters={"MSFT": pd.Timestamp("2026-03-31")})
    assert later["fact_id"].tolist() == ["M2"] and later["ticker"].tolist() == ["MSFT"]
    assert_allclose(later["usd"].iloc[0], 684e9)


def _capex_frame(capex: float) -> pd.DataFrame:
    return pd.DataFrame({"ticker": ["Combined", "Combined"], "calendar_label": ["2025 Q4", "2026 Q1"],
                         "quarter_end": pd.to_datetime(["2025-12-31", "2026-03-31"]), "capex": [capex / 2, capex]})


def _rates(*values, date="2026-03-31", confidence="medium") -> pd.DataFrame:
    frame = pd.DataFrame([_fact(fact_id=f"P{i}", entity=e, value=v, as_of=pd.Timestamp(date), confidence=confidence)
                          for i, (e, v) in enumerate(zip(["OpenAI", "Anthropic"], values, strict=False))])
    return bl.run_rates(frame)


def test_funding_gap_hand_worked():
    """Capex 482.149bn, run rates 24bn + 47bn: coverage 71/482.149; 5-year rate (482.149/71)^(1/5) − 1;
    a later pair of 50bn + 65bn is kept as context: 115/482.149."""
    later = pd.concat([_rates(24.0, 47.0), _rates(50.0, 65.0, date="2026-09-30", confidence="low")
                       .assign(fact_id=["L0", "L1"])], ignore_index=True)
    gap = bl.funding_gap(_capex_frame(482.149e9), later, years=5)
    assert gap["capex_label"] == "2026 Q1"
    assert_allclose(gap["run_rate"], 71e9)
    assert_allclose(gap["coverage"], 71.0 / 482.149, rtol=1e-12)
    assert_allclose(gap["required_growth"], (482.149 / 71.0) ** 0.2 - 1, rtol=1e-12)
    assert_allclose(gap["latest_coverage"], 115.0 / 482.149, rtol=1e-12)
    table = bl.required_growth_table(gap, horizons=(5,), capex_growths=(0.0,))
    assert_allclose(table["required_growth"].iloc[0], gap["required_growth"])


# --------------------------------------------------------------------------- verdicts
def test_b4_flips_with_confidence():
    """Low-confidence pricing rows only → not testable; one medium row → mixed (the shift stays untested);
    no row at all → not testable. No threshold: measured is None."""
    low = pd.DataFrame([_fact(fact_id="P1", entity="Oracle", claim_id="B4", metric="token bundles", value=33.0,
                              unit="count", confidence="low")])
    assert bl.pricing_verdict(low, "medium").status == "not testable with public data"
    v = bl.pricing_verdict(low, "low")
    assert v.status == "mixed" and v.measured is None and "P1" in v.sources
    assert bl.pricing_verdict(low.assign(confidence="medium"), "medium").status == "mixed"
    assert bl.pricing_verdict(low.iloc[0:0], "medium").status == "not testable with public data"
    assert not v.summary.startswith("**")


@pytest.mark.parametrize(("threshold", "status", "distance"), [
    (10e9, "supported", 14e9), (24e9, "supported", 0.0), (30e9, "mixed", 6e9), (47.5e9, "not supported", 23.5e9)])
def test_b5_threshold_on_the_smaller_run_rate(threshold, status, distance):
    """Run rates 24bn and 47bn: both ≥ 10bn or 24bn (inclusive), one ≥ 30bn, none ≥ 47.5bn. The measured figure
    is the smaller run rate (24bn); the distance is |24bn − threshold|."""
    v = bl.run_rate_verdict(_rates(24.0, 47.0), threshold)
    assert v.status == status
    assert_allclose(v.measured, 24e9)
    assert_allclose(v.distance_to_flip, distance)
    assert v.unit == "USD" and "P0" in v.summary and "P1" in v.summary
    assert v.data_through == "2026-03-31 (Anthropic, OpenAI)"


def test_b5_uses_the_latest_point_of_the_confidence_asked():
    """A newer low-confidence 5bn point is passed over at min_confidence="medium" (still supported at 10bn)
    and named as a later point; at "low" it is used and the verdict flips to mixed."""
    rates = pd.concat([_rates(24.0, 47.0), _rates(5.0, date="2026-09-30", confidence="low").assign(fact_id="L0")],
                      ignore_index=True)
    medium = bl.run_rate_verdict(rates, 10e9, "medium")
    assert medium.status == "supported" and "Later points rest on lower confidence" in medium.summary
    low = bl.run_rate_verdict(rates, 10e9, "low")
    assert low.status == "mixed"
    assert_allclose(low.measured, 5e9)


def test_b7_flips_with_the_jump():
    """Contract $300bn, tolerance 10% (bound $270bn): jumps of $317.5bn and $271bn → supported; $269bn → not.
    Measured is the jump, threshold the bound."""
    contract = pd.Series(_fact(fact_id="C1", entity="OpenAI → Oracle", claim_id="B7",
                               metric="Compute purchase contract: total value", value=300.0, kind="press report"))
    for prior, status in ((137.8e9, "supported"), (184.3e9, "supported"), (186.3e9, "not supported")):
        rpo = _rpo_rows({(2025, 2): prior, (2025, 3): 455.3e9})
        v = bl.contract_verdict(bl.rpo_change("ORCL", "2025-09-30", rpo), contract, 0.10)
        assert v.status == status, (prior, v.summary)
        assert_allclose(v.measured, 455.3e9 - prior)
        assert_allclose(v.threshold, 270e9)
        assert_allclose(v.distance_to_flip, abs(455.3e9 - prior - 270e9))
        assert "press report" in v.summary and v.data_through == "2025-09-30 (ORCL)"


def _evidence(parts) -> pd.DataFrame:
    """Cited facts for B8: [(company, role, confidence)]."""
    rows = [dict(_fact(fact_id=f"E{i}", entity="Anthropic", metric="m", value=1.0, confidence=c, claim_id="B8",
                       as_of=pd.Timestamp("2026-06-30")), company=co, role=r)
            for i, (co, r, c) in enumerate(parts)]
    frame = pd.DataFrame(rows) if rows else pd.DataFrame(columns=[*_fact().keys(), "company", "role"])
    return frame.assign(label=[f"label {i}" for i in range(len(frame))])


@pytest.mark.parametrize(("parts", "status", "borne"), [
    ([("Amazon", "investor", "medium"), ("Amazon", "cloud partner", "medium"), ("Alphabet", "investor", "high"),
      ("Alphabet", "cloud partner", "medium")], "supported", 4),
    ([("Amazon", "investor", "medium"), ("Amazon", "cloud partner", "low"), ("Alphabet", "cloud partner", "low")],
     "mixed", 1),
    ([("Amazon", "cloud partner", "low"), ("Alphabet", "cloud partner", "low")], "not testable with public data", 0),
    ([], "not testable with public data", 0),
])
def test_b8_parts_borne_out(parts, status, borne):
    """Four parts (two companies × investor, cloud partner) at medium confidence: all → supported; some → mixed;
    only low-confidence or no figures → not testable. Measured = parts borne out, threshold = 4."""
    v = bl.partners_verdict(_evidence(parts), ("Amazon", "Alphabet"), "medium")
    assert v.status == status
    assert v.measured == borne and v.threshold == 4
    if parts and status == "mixed":
        assert v.numbers["Alphabet investor"] == "not cited" and v.numbers["Amazon investor"] == "borne out"
        assert v.numbers["Alphabet cloud partner"] == "below confidence"
        assert "Alphabet investor" in v.summary


def test_b8_on_facts_present_and_absent():
    """Today F187 (Amazon's gain on its Anthropic investments, medium) bears out Amazon as investor; F221b/c
    (compute commitments, low) only attest the cloud ties: mixed. At Essay B's date (2026-07-02) none had been
    published (F187 came 2026-07-30, F221 2026-09-28): not testable. An id not in the table at all is an error."""
    params = claims.parse_params(claims._row("B8")["params"])
    today = bl.verdict_b8(**params)
    assert today.status == "mixed" and today.numbers["Amazon investor"] == "borne out"
    assert "F187" in today.sources and "F221b" in today.sources
    with as_of("2026-07-02"):
        then = bl.verdict_b8(**params)
    assert then.status == "not testable with public data" and then.measured == 0
    with pytest.raises(bl.MissingEvidenceError, match="F999"):
        bl.verdict_b8(investor="Amazon:F999")


def _growth_history(growths) -> pd.DataFrame:
    return pd.DataFrame([{"ticker": t, "quarter_end": pd.Timestamp(end), "period_end": pd.Timestamp(end),
                          "fiscal_label": "FY", "rpo": 1.0, "rpo_growth": g_rpo, "revenue_growth": g_rev}
                         for t, (g_rpo, g_rev, end) in growths.items()])


def test_b9_counts_companies_over_their_own_quarters():
    """RPO growth above revenue growth for two of two → supported; one of two → mixed; none → not supported.
    data_through names each company's own quarter end; a company without RPO is named as left out."""
    v = bl.backlog_verdict(_growth_history({"A": (0.5, 0.1, "2026-03-31"), "B": (0.3, 0.2, "2026-05-31")}),
                           companies=["A", "B", "C"])
    assert v.status == "supported" and v.measured == 2 and v.unit == "count"
    assert v.data_through == "2026-03-31 (A), 2026-05-31 (B)"
    assert "C (no RPO in its filings)" in v.summary
    mixed = bl.backlog_verdict(_growth_history({"A": (0.5, 0.1, "2026-03-31"), "B": (0.1, 0.2, "2026-03-31")}))
    assert mixed.status == "mixed" and mixed.distance_to_flip == 1
    none = bl.backlog_verdict(_growth_history({"A": (0.05, 0.1, "2026-03-31"), "B": (0.1, 0.2, "2026-03-31")}))
    assert none.status == "not supported"


@pytest.mark.parametrize(("capex", "status"), [(71e9 * 0.99, "condition met"), (71e9, "condition met"),
                                               (71e9 * 1.01, "condition not met so far"),
                                               (482.149e9, "condition not met so far")])
def test_b11_condition_flips_at_coverage(capex, status):
    """Run rates 71bn: coverage ≥ 1 → condition met; below → condition not met so far, with the closing rate.
    kind is "condition"; measured is the coverage, distance |coverage − 1|."""
    gap = bl.funding_gap(_capex_frame(capex), _rates(24.0, 47.0), years=5)
    v = bl.funding_verdict(gap, 1.0)
    assert v.kind == "condition" and v.status == status
    assert_allclose(v.measured, 71e9 / capex)
    assert_allclose(v.distance_to_flip, abs(71e9 / capex - 1.0))
    if status == "condition not met so far":
        assert "a year to match it in 5 years" in v.summary


MY_CLAIMS = ("B4", "B5", "B7", "B8", "B9", "B11")


@pytest.mark.parametrize("claim_id", MY_CLAIMS)
def test_ledger_runs_each_rule_today_and_at_essay_date(claim_id):
    """The ledger calls each rule with its parameters only, today and inside vintage.as_of(2026-07-02);
    each returns a Verdict of the ledger's kind with a plain summary (no Markdown verdict prefix)."""
    row = claims._row(claim_id)
    for v in (claims.evaluate(row), claims.evaluate_at_essay_date(row)):
        assert v.kind == row["kind"] and v.summary and not v.summary.startswith("**")
        assert "Verdict on" not in v.summary
    today = claims.evaluate(row)
    assert today.sources and today.data_through


def test_committed_verdicts_known_answers():
    """On the committed data: B7 holds ($317.5bn jump ≥ $270bn); B11 is a condition not met, its run rates those
    nearest 2026-03-31 (OpenAI F24b $24bn on that day, Anthropic F27 >$30bn on 2026-04-07): (24 + 30) / capex;
    B5 uses each provider's latest medium-confidence point (OpenAI F24b, Anthropic F26 $14bn of 2026-02-12)."""
    assert claims.verdict("B7").status == "supported"
    b11 = claims.verdict("B11")
    assert b11.status == "condition not met so far" and b11.numbers["run_rate_facts"] == "F27, F24b"
    assert_allclose(b11.measured, 54e9 / b11.numbers["capex"])
    b5 = claims.verdict("B5")
    assert b5.numbers["OpenAI_fact"] == "F24b" and b5.numbers["Anthropic_fact"] == "F26"
    assert_allclose(b5.measured, 14e9)


def test_backlog_marks_take_rpo_and_aws_backlog_only():
    """RPO rows from reported_after and AWS backlog from the facts rows after Amazon's last quarter; Google
    Cloud's segment backlog is not drawn; Oracle's quarter to 2026-08-31 is placed in calendar 2026 Q3."""
    cited = pd.DataFrame({"fact_id": ["R1", "R2"], "ticker": ["MSFT", "ORCL"], "metric": ["rpo", "rpo"],
                          "period_end": pd.to_datetime(["2026-06-30", "2026-08-31"]), "value": [684e9, 664e9],
                          "label": ["m", "o"], "period": ["FY2026 Q4", "FY2027 Q1"]})
    later = pd.DataFrame({"ticker": ["AMZN", "GOOGL"], "segment": ["AWS", "Google Cloud"],
                          "period": ["2026-Q2", "2026-Q2"], "point_date": pd.to_datetime(["2026-06-30"] * 2),
                          "usd": [496e9, 513.9e9], "fact_id": ["W1", "G1"], "label": ["w", "g"]})
    marks = bl.backlog_marks(cited, later).set_index("fact_id")
    assert sorted(marks.index) == ["R1", "R2", "W1"]
    assert marks.at["W1", "figure"] == "AWS backlog" and marks.at["R1", "figure"] == "RPO"
    assert marks.at["R2", "calendar_label"] == "2026 Q3"
    assert marks.at["R2", "quarter_end"] == pd.Timestamp("2026-09-30")
    assert_allclose(marks.at["W1", "usd"], 496e9)


def test_backlog_marks_on_the_committed_facts():
    """Backlogs to August 2026 beside the filed RPO: AWS F186a (~$496bn), Microsoft F192a ($684bn), Alphabet F200a
    ($519.5bn), Oracle F208a ($664bn); the filed series stop earlier for each."""
    marks = bl.backlog_marks().set_index("fact_id")
    assert sorted(marks.index) == ["F186a", "F192a", "F200a", "F208a"]
    assert_allclose(marks.loc[["F186a", "F192a", "F200a", "F208a"], "usd"], [496e9, 684e9, 519.5e9, 664e9])
    history = bl.rpo_history()
    filed_end = history.groupby("ticker")["period_end"].max()
    for fact_id, row in marks.iterrows():
        if row["ticker"] in filed_end.index and row["figure"] == "RPO":
            assert row["period_end"] > filed_end[row["ticker"]], fact_id
