"""Tests of `valuechain_lib.analyses.depreciation`: hand-worked formulas, invariants, the A9/A10 rules, assumptions.

Known answers are worked by hand in each docstring; tolerances are stated with ``assert_allclose``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from valuechain_lib.analyses import depreciation as dep
from valuechain_lib.calc.periods import calendar_quarter_end
from valuechain_lib.snapshot.facts import facts
from valuechain_lib.snapshot.universe import members

pytestmark = pytest.mark.fast

TOL = 1e-12


# --------------------------------------------------------------------------- fixtures

def _company(ppe=120.0, revenue=100.0, oi=20.0, life=6.0, ticker="X"):
    return pd.DataFrame({"ticker": [ticker], "revenue": [revenue], "operating_income": [oi],
                         "ppe_net": [ppe], "current_life_years": [life]})


def _grown(gaps, last_qi=None, da_to_revenue=0.1):
    """A `da_revenue_growth`-shaped frame: one TTM row per company at quarter 8100 (2025 Q1),
    revenue 100 growing 10%, D&A growing 10% + gap; ``last_qi`` adds later rows for some companies."""
    rows = []
    for i, gap in enumerate(gaps):
        t = f"T{i}"
        for qi in range(8100, (last_qi or {}).get(t, 8100) + 1):
            rows.append({"ticker": t, "qi": qi, "calendar_label": f"{qi // 4} Q{qi % 4 + 1}",
                         "fiscal_label": f"FY{qi // 4} Q{qi % 4 + 1}", "period_end": pd.Timestamp("2025-03-31"),
                         "da_measure": "depreciation", "da": 100.0 * da_to_revenue, "revenue": 100.0,
                         "operating_income": 30.0 - 10 * i, "da_growth": 0.10 + gap, "revenue_growth": 0.10,
                         "growth_gap": gap})
    return pd.DataFrame(rows)


def _changes(direction="lengthened", margin_effect=0.015, effect=3.7e9):
    return pd.DataFrame({
        "company": ["Co"], "ticker": ["T0"], "asset_class": ["servers"],
        "effective": [pd.Timestamp("2023-01-01")], "from_years": [4.0], "to_years": [6.0 if direction ==
                                                                                      "lengthened" else 3.0],
        "direction": [direction], "direction_basis": ["cited lives"], "effect_year": [2023],
        "operating_income_effect": [effect if direction == "lengthened" else -effect],
        "effect_basis": ["operating income, as cited"], "net_income_effect": [np.nan],
        "fact_ids": ["F1a, F1b"], "kind": ["filing"], "confidence": ["medium"], "label": [""],
        "margin_effect": [margin_effect if direction == "lengthened" else -margin_effect],
    })


def _pooled(intensities, capex=None):
    n = len(intensities)
    revenue = np.full(n, 1000.0)
    capex = np.asarray(intensities) * revenue if capex is None else np.asarray(capex)
    qi = np.arange(8000, 8000 + n)
    return pd.DataFrame({
        "calendar_year": qi // 4, "calendar_quarter": qi % 4 + 1, "qi": qi,
        "calendar_label": [f"{q // 4} Q{q % 4 + 1}" for q in qi], "capex": capex, "revenue": revenue,
        "capex_intensity": capex / revenue, "missing": "", "excluded": "",
    })


# --------------------------------------------------------------------------- straight-line re-depreciation

def test_straight_line_hand_worked():
    """120 over 6 years is 20 a year; 100 over 4 is 25; a zero or missing life gives NaN."""
    assert_allclose(dep.straight_line_depreciation(120.0, 6), 20.0, rtol=TOL)
    assert_allclose(dep.straight_line_depreciation([100.0, 100.0], [4, 5]), [25.0, 20.0], rtol=TOL)
    assert np.isnan(dep.straight_line_depreciation(100.0, 0))
    assert np.isnan(dep.straight_line_depreciation(100.0, np.nan))


def test_margin_effect_of_a_life_change_hand_worked():
    """Revenue 100, OI 20, PP&E 120, server share 0.5 → base 60, on 6 years: depreciation 10.

    At 4 years: depreciation 15, OI 15, margin 15% (−5 points). At 5: 12, OI 18, 18%.
    At 7: 60/7 = 8.5714…, OI 21.4286…, margin 21.43%.
    """
    r = dep.operating_margin_sensitivity(_company(), (4, 5, 7), server_share_of_ppe=0.5).set_index(
        "useful_life_years")
    assert_allclose(r.loc[6.0, "depreciation_current"], 10.0, rtol=TOL)
    assert_allclose(r.loc[4.0, "depreciation_at_life"], 15.0, rtol=TOL)
    assert_allclose(r.loc[[4.0, 5.0, 6.0, 7.0], "operating_margin_at_life"],
                    [0.15, 0.18, 0.20, (20 + 10 - 60 / 7) / 100], rtol=1e-12)
    assert_allclose(r.loc[4.0, "margin_change"], -0.05, atol=1e-12)
    assert r.loc[6.0, "is_current_life"] and not r.loc[4.0, "is_current_life"]


def test_microsoft_style_change_reproduces_cited_formula():
    """Lengthening 4 → 6 years on a base S raises OI by S(1/4 − 1/6) = S/12: S = 48 gives 4."""
    r = dep.operating_margin_sensitivity(_company(ppe=96.0, life=4.0), (6,), server_share_of_ppe=0.5)
    assert_allclose(r.loc[r["useful_life_years"] == 6, "operating_income_change"], [4.0], rtol=TOL)


@pytest.mark.parametrize("share", [0.2, 0.5, 0.9])
def test_longer_life_gives_higher_margin(share):
    """Monotonicity: operating margin rises strictly with the useful life, for any server share."""
    r = dep.operating_margin_sensitivity(_company(life=5.5), (2, 3, 4, 5, 6, 7, 8, 10),
                                         server_share_of_ppe=share)
    margins = r.sort_values("useful_life_years")["operating_margin_at_life"].to_numpy()
    assert (np.diff(margins) > 0).all()


def test_larger_server_share_widens_the_swing():
    """At a shorter life, a larger server share lowers the margin more (the band's ordering)."""
    r = dep.operating_margin_sensitivity(_company(), (4,), server_share_of_ppe={"low": 0.4, "high": 0.6})
    at4 = r[r["useful_life_years"] == 4].set_index("scenario")["operating_margin_at_life"]
    assert at4["high"] < at4["low"] < 0.20


def test_sensitivity_rejects_a_share_outside_zero_one():
    with pytest.raises(dep.ValueChainError):
        dep.operating_margin_sensitivity(_company(), (4,), server_share_of_ppe=1.5)


# --------------------------------------------------------------------------- D&A against capex, PP&E, revenue

def _wide():
    """Five quarters of one company; D&A in the last: 20, capex 80, PP&E 90 → 110, revenue 500 → 560."""
    return pd.DataFrame({
        "ticker": ["X"] * 5, "qi": range(5), "depreciation_amortization": [50.0, 52, 55, 60, 65],
        "depreciation": np.nan, "capex": [100.0, 100, 100, 100, 80.0],
        "ppe_net": [90.0, 95, 100, 105, 110], "revenue": [500.0, 510, 520, 540, 560],
    })


def test_da_to_capex_and_ppe_hand_worked():
    """Last quarter: D&A 65 / capex 80 = 0.8125; average PP&E (110 + 90) / 2 = 100 → 0.65."""
    out = dep.da_vs_capex_ppe(_wide())
    assert_allclose(out.iloc[-1][["da_to_capex", "ppe_net_avg", "da_to_ppe"]].astype(float),
                    [0.8125, 100.0, 0.65], rtol=TOL)
    assert out["da_measure"].eq("depreciation_amortization").all()
    assert out["ppe_net_avg"].iloc[:4].isna().all()


def test_da_measure_falls_back_to_depreciation():
    """A company without D&A uses depreciation alone, and says so."""
    w = _wide().assign(depreciation=lambda d: d["depreciation_amortization"] - 5, depreciation_amortization=np.nan)
    out = dep.da_vs_capex_ppe(w)
    assert out["da_measure"].eq("depreciation").all()
    assert_allclose(out["da"].iloc[-1], 60.0, rtol=TOL)


def test_growth_hand_worked():
    """D&A 50 → 65 is +30%; revenue 500 → 560 is +12%; the gap 18 points."""
    g = dep.da_revenue_growth(dep.da_vs_capex_ppe(_wide()))
    assert_allclose(g.iloc[-1][["da_growth", "revenue_growth", "growth_gap"]].astype(float),
                    [0.30, 0.12, 0.18], rtol=1e-12)
    assert g["da_growth"].iloc[:4].isna().all()


def test_growth_counts_calendar_quarters_across_a_gap():
    """With a missing quarter, growth still compares quarter qi with qi − 4, not with the row four above."""
    w = _wide().drop(index=2)
    g = dep.da_revenue_growth(dep.da_vs_capex_ppe(w))
    assert_allclose(g.loc[g["qi"] == 4, "da_growth"], [0.30], rtol=1e-12)
    assert g.loc[g["qi"] == 2, "da"].isna().all()


def test_facts_da_growth_hand_worked():
    """Microsoft: F143 34,153 / F142 22,287 − 1 (the facts table's figures, USD million); the two rows
    are a 10-K read on a mirror site, so the growth carries their medium confidence."""
    table = facts(claim_id="A9").set_index("fact_id")
    fy = pd.DataFrame({"ticker": ["MSFT", "MSFT"], "metric": ["revenue"] * 2, "fiscal_year": [2024, 2025],
                       "value": [200.0, 230.0]})
    out = dep.facts_da_growth(table.reset_index(), fy, pairs={"MSFT": ("F142", "F143", "line")}).iloc[0]
    expected = table.loc["F143", "value"] / table.loc["F142", "value"] - 1
    assert_allclose([out["da_growth"], out["revenue_growth"]], [expected, 0.15], rtol=1e-12)
    assert out["period"] == "FY2025 vs FY2024" and out["confidence"] == "medium"


# --------------------------------------------------------------------------- useful-life changes

def test_useful_life_changes_from_facts_table():
    """Amazon 6 → 5 (F57) is a shortening costing $1.4bn; Microsoft 4 → 6 (F48) raised OI by $3.7bn."""
    ch = dep.useful_life_changes()
    amzn = ch[(ch["ticker"] == "AMZN") & (ch["direction"] == "shortened")].iloc[0]
    assert (amzn["from_years"], amzn["to_years"]) == (6.0, 5.0)
    assert_allclose(amzn["operating_income_effect"], -1.4e9, rtol=TOL)
    msft = ch[(ch["ticker"] == "MSFT") & (ch["direction"] == "lengthened")].iloc[0]
    assert_allclose([msft["from_years"], msft["to_years"], msft["operating_income_effect"]], [4.0, 6.0, 3.7e9],
                    rtol=TOL)
    assert msft["effect_basis"] == "operating income, as cited"
    assert set(ch["kind"]) <= {"filing", "company statement", "press report", "estimate"}
    assert ch["label"].str.contains("confidence").all()


def test_life_change_effects_hand_worked():
    """Effect 3 on revenue 200 is 1.5 points; on OI 40, 7.5%; implied share 3 / (72 × (1/4 − 1/6)) = 0.5."""
    ch = _changes(effect=3.0).drop(columns=["margin_effect"])
    fy = pd.DataFrame({"ticker": ["T0"] * 3, "fiscal_year": [2023, 2023, 2022],
                       "metric": ["revenue", "operating_income", "ppe_net"], "value": [200.0, 40.0, 72.0]})
    out = dep.life_change_effects(ch, fy).iloc[0]
    assert_allclose(out[["margin_effect", "share_of_operating_income", "implied_server_share"]].astype(float),
                    [0.015, 0.075, 0.5], rtol=1e-12)


# --------------------------------------------------------------------------- A9: one window, never "supported"

def test_a9_context_reads_every_company_at_one_calendar_window():
    """T1's data run two quarters past T0's: both are read at T0's last quarter (8100, 2025 Q1)."""
    g = _grown([0.1, 0.2], last_qi={"T1": 8102})
    ctx = dep.a9_context(g, ["T0", "T1"])
    assert ctx["calendar_label"].unique().tolist() == ["2025 Q1"]
    assert ctx["qi"].unique().tolist() == [8100]
    assert_allclose(ctx["da_to_revenue"], [0.1, 0.1], rtol=TOL)
    assert_allclose(ctx["operating_margin"], [0.30, 0.20], rtol=TOL)


def test_a9_context_names_missing_figures():
    """A company without any D&A gets a NaN row saying so; one without a year-earlier figure, a note."""
    g = _grown([0.1, 0.2, 0.3])
    g.loc[g["ticker"] == "T2", "da"] = np.nan
    g.loc[g["ticker"] == "T1", ["da_growth", "growth_gap"]] = np.nan
    ctx = dep.a9_context(g, ["T0", "T1", "T2"]).set_index("ticker")
    assert np.isnan(ctx.loc["T2", "da"]) and "no depreciation figure" in ctx.loc["T2", "note"]
    assert "a year earlier" in ctx.loc["T1", "note"]
    assert ctx.loc["T0", "note"] == ""


def test_a9_context_needs_two_companies_on_a_shared_quarter():
    """One company with D&A, or two that share no quarter, cannot be compared: an error, not a zero."""
    g = _grown([0.1, 0.2])
    with pytest.raises(dep.ValueChainError, match="fewer than two"):
        dep.a9_context(g.assign(da=np.where(g["ticker"] == "T1", np.nan, g["da"])), ["T0", "T1"])
    apart = g.assign(qi=np.where(g["ticker"] == "T1", 8101, g["qi"]))
    with pytest.raises(dep.ValueChainError, match="no calendar quarter"):
        dep.a9_context(apart, ["T0", "T1"])


@pytest.mark.parametrize("gaps, direction", [
    ([0.10, 0.20, 0.30], "lengthened"),    # the old rule's two conditions both met: still not support
    ([-0.10, -0.20, -0.30], "shortened"),  # neither met: still not a refutation
    ([0.10, -0.10, 0.05], "lengthened"),
])
def test_a9_never_passes_a_different_statement_as_support(gaps, direction):
    """D&A outgrowing revenue and lives lengthened (or the opposite) leave A9 not testable, the figures as context."""
    v = dep.a9_verdict(dep.a9_context(_grown(gaps), ["T0", "T1", "T2"]), _changes(direction))
    assert v.status == "not testable with public data"
    assert v.measured is None and v.threshold is None and v.distance_to_flip is None
    assert v.numbers["n_faster"] == sum(g > 0 for g in gaps)
    assert v.numbers["window"] == "2025 Q1"
    assert "As context only" in v.summary and "**" not in v.summary and "Verdict on" not in v.summary


def test_a9_refuses_mixed_windows():
    """Rows on two calendar windows are an error: A9 compares companies over one window only."""
    ctx = dep.a9_context(_grown([0.1, 0.2]), ["T0", "T1"])
    ctx.loc[1, "calendar_label"] = "2025 Q2"
    with pytest.raises(dep.ValueChainError, match="different calendar windows"):
        dep.a9_verdict(ctx, _changes())


# --------------------------------------------------------------------------- A10 flips

@pytest.mark.parametrize("latest, threshold, status, distance", [
    (0.21, 0.20, "supported", 0.01),
    (0.20, 0.20, "supported", 0.0),       # at the threshold counts
    (0.19, 0.20, "not supported", 0.01),
    (0.21, 0.25, "not supported", 0.04),
])
def test_a10_flips_on_the_threshold(latest, threshold, status, distance):
    """Pooled capex/revenue in the latest quarter against the threshold; the distance is |measured − threshold|."""
    pooled = _pooled([0.08] * 12 + [0.12, 0.15, 0.18, latest])
    v = dep.a10_verdict(pooled, capex_intensity_threshold=threshold)
    assert v.status == status
    assert_allclose([v.measured, v.threshold, v.distance_to_flip], [latest, threshold, distance], atol=1e-12)
    assert v.unit == "share" and "**" not in v.summary


def test_a10_data_through_names_each_companys_period_end():
    """ORCL's quarter ending in February and AMZN's in March sit in the same calendar quarter."""
    ends = {"AMZN": pd.Timestamp("2026-03-31"), "ORCL": pd.Timestamp("2026-02-28")}
    v = dep.a10_verdict(_pooled([0.1] * 5), capex_intensity_threshold=0.2, ends=ends)
    assert v.data_through == "2026-02-28 (ORCL), 2026-03-31 (AMZN)"


def test_a10_history_skips_excluded_quarters():
    """The comparison three years back moves to the first clean quarter after a left-out window."""
    pooled = _pooled([0.08] * 16)
    pooled.loc[3:5, ["capex_intensity"]] = np.nan
    pooled.loc[3:5, "excluded"] = "suspect"
    v = dep.a10_verdict(pooled, capex_intensity_threshold=0.2, history_years=3)
    assert v.numbers["then_quarter"] == pooled.loc[6, "calendar_label"]
    assert "left out" in v.summary


def test_a10_capex_growth_hand_worked():
    """Capex 100 → 150 (+50%) on flat revenue."""
    v = dep.a10_verdict(_pooled([0.1] * 4 + [0.15]), capex_intensity_threshold=0.2)
    assert_allclose([v.numbers["capex_growth"], v.numbers["revenue_growth"]], [0.5, 0.0], atol=1e-12)


def test_a10_threshold_comes_from_the_ledger():
    """The rule has no default threshold: only data/claims.csv sets it."""
    with pytest.raises(TypeError):
        dep.a10_verdict(_pooled([0.1] * 5))
    row = pd.read_csv(dep.data_dir() / "claims.csv", dtype=str, keep_default_na=False).set_index("claim_id").loc["A10"]
    assert row["rule"] == "valuechain_lib.analyses.depreciation:verdict_a10"
    assert "capex_intensity_threshold=" in row["params"]


# --------------------------------------------------------------------------- pooled intensity and suspects

def test_suspect_quarter_flags_a_full_year_labelled_as_a_quarter():
    """Quarters 10, 11, 12 and a 'Q4' of 45 (= the year): 45 / 11 > 2 is flagged, the others are not."""
    q = pd.DataFrame({
        "ticker": ["X"] * 4, "metric": ["revenue"] * 4, "fiscal_year": [2022] * 4,
        "fiscal_period": ["Q1", "Q2", "Q3", "Q4"], "calendar_year": [2021, 2021, 2022, 2022],
        "calendar_quarter": [3, 4, 1, 2], "value": [10.0, 11.0, 12.0, 45.0], "accession": ["a"] * 4,
    })
    s = dep.suspect_quarters(q, ratio=2.0)
    assert s["fiscal_period"].tolist() == ["Q4"]
    assert_allclose(s["multiple"], [45 / 11], rtol=TOL)
    assert dep.suspect_quarters(q, ratio=5.0).empty


def test_pooled_intensity_hand_worked_and_excludes_windows():
    """Two companies: capex 10 + 30 on revenue 100 + 100 → 0.2; a suspect quarter blanks four windows."""
    rows = []
    for qi in range(8):
        for t, capex in (("A", 10.0), ("B", 30.0)):
            for metric, value in (("capex", capex), ("revenue", 100.0)):
                rows.append({"ticker": t, "metric": metric, "freq": "TTM", "calendar_year": 2020 + qi // 4,
                             "calendar_quarter": qi % 4 + 1, "value": value, "unit": "USD"})
    ttm = pd.DataFrame(rows)
    out = dep.pooled_capex_intensity(ttm)
    assert_allclose(out["capex_intensity"], [0.2] * 8, rtol=TOL)
    suspect = pd.DataFrame({"ticker": ["B"], "metric": ["revenue"], "fiscal_year": [2020], "fiscal_period": ["Q4"],
                            "calendar_year": [2020], "calendar_quarter": [2], "qi": [2020 * 4 + 1],
                            "value": [1.0], "others_median": [1.0], "multiple": [4.0], "accession": ["a"]})
    out = dep.pooled_capex_intensity(ttm, suspect)
    assert out["capex_intensity"].isna().tolist() == [False, True, True, True, True, False, False, False]


# --------------------------------------------------------------------------- assumptions file

def test_assumptions_file_validates():
    """The committed file passes every rule; cited rows match the facts table; ranges hold."""
    table = dep.load_assumptions()
    assert {"server_share_of_ppe", "suspect_quarter_ratio"} <= set(table.index)
    assert (table["low"] <= table["value"]).all() and (table["value"] <= table["high"]).all()
    assert set(table["kind"]) <= {"cited", "assumption"}
    lives = dep.current_lives(table)
    assert set(lives.index) == set(members(sub_layer="hyperscaler"))
    assert 0 < table.loc["server_share_of_ppe", "value"] < 1


@pytest.mark.parametrize("column, value, message", [
    ("low", "0.7", "low <= value <= high"),
    ("kind", "guess", "kind"),
    ("source", "F9999", "not in the facts table"),
    ("value", "abc", "not a number"),
    ("rationale", "", "empty"),
])
def test_assumptions_validation_catches_errors(column, value, message):
    raw = pd.read_csv(dep.data_dir() / "depreciation_assumptions.csv", dtype=str, keep_default_na=False)
    row = raw.index[raw["name"] == ("current_life_MSFT" if column == "source" else "server_share_of_ppe")][0]
    raw.loc[row, column] = value
    with pytest.raises(dep.AssumptionsError, match=message):
        dep.validate_assumptions(raw)


def test_cited_life_must_equal_a_cited_figure():
    raw = pd.read_csv(dep.data_dir() / "depreciation_assumptions.csv", dtype=str, keep_default_na=False)
    raw.loc[raw["name"] == "current_life_GOOGL", ["value", "low", "high"]] = "7"
    with pytest.raises(dep.AssumptionsError, match="is not a figure of"):
        dep.validate_assumptions(raw)


# --------------------------------------------------------------------------- on the snapshot

def test_snapshot_a9_compares_one_calendar_window():
    """On the snapshot, every hyperscaler in A9's context is read at the same calendar quarter, and each
    company's own quarter end lies within about six weeks of that calendar quarter's end."""
    tickers = members(sub_layer="hyperscaler")
    growth = dep.da_revenue_growth(dep.da_vs_capex_ppe(dep.wide_by_quarter(dep.load_ttm(tickers))))
    ctx = dep.a9_context(growth, tickers)
    assert set(ctx["ticker"]) == set(tickers)
    assert ctx["calendar_label"].nunique() == 1
    year, quarter = (int(x) for x in ctx["calendar_label"].iloc[0].split(" Q"))
    end = pd.Timestamp(calendar_quarter_end(pd.Series([year]), pd.Series([quarter]))[0])
    have = ctx.dropna(subset=["period_end"])
    assert ((have["period_end"] - end).abs() <= pd.Timedelta(days=46)).all()
    v = dep.verdict_a9()
    assert v.status == "not testable with public data"
    assert v.numbers["window"] == ctx["calendar_label"].iloc[0]


def test_snapshot_a10_follows_its_rule_today_and_at_the_essay_date():
    """Today and on the data filed by 2025-11-30 (Essay A), the status follows measured >= threshold."""
    from valuechain_lib.snapshot.vintage import as_of

    for date in (None, "2025-11-30"):
        with as_of(date):
            v = dep.verdict_a10(capex_intensity_threshold=0.20)
        assert v.status == ("supported" if v.measured >= 0.20 else "not supported")
        assert_allclose(v.distance_to_flip, abs(v.measured - 0.20), atol=1e-12)
        assert v.data_through and "ORCL" in v.data_through
        if date:
            quarter_end = pd.Timestamp(v.data_through.split(" ")[0])
            assert quarter_end <= pd.Timestamp(date)


def test_sensitivity_inputs_carry_each_company_s_own_period_end():
    """At the latest calendar quarter both have (qi 1), X's own quarter ends 2026-03-31 and Y's, a fiscal
    quarter to February, 2026-02-28: a chart's "data through" names those, not the calendar quarter end."""
    wide = pd.DataFrame({
        "ticker": ["X", "X", "Y", "Y"], "qi": [0, 1, 0, 1], "calendar_label": ["2025 Q4", "2026 Q1"] * 2,
        "fiscal_label": ["FY2025 Q4", "FY2026 Q1", "FY2026 Q2", "FY2026 Q3"],
        "period_end": pd.to_datetime(["2025-12-31", "2026-03-31", "2025-11-30", "2026-02-28"]),
        "revenue": [100.0, 110.0, 50.0, 55.0], "operating_income": [30.0, 33.0, 10.0, 11.0],
        "ppe_net": [200.0, 210.0, 80.0, 85.0],
    })
    out = dep.sensitivity_inputs(wide, pd.Series({"X": 6.0, "Y": 5.0})).set_index("ticker")
    assert out["period_end"].dt.strftime("%Y-%m-%d").to_dict() == {"X": "2026-03-31", "Y": "2026-02-28"}
    assert out["current_life_years"].to_dict() == {"X": 6.0, "Y": 5.0}
