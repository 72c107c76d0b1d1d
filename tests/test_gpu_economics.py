"""GPU-rental unit economics (`valuechain_lib.models.gpu_economics`, claims A1 and A2).

Formulas on hand-worked values; monotonicity of the margin in utilization and useful life; the
calibration reproducing the reported ~14% (F03) and ~7% after the left-out depreciation (F06); the
A1 verdict flipping across its threshold on synthetic margins and at Essay A's date; the A2 verdict's
status, today and at Essay A's date; the committed assumptions file validating against the facts table; and
the cost stack the chapter tables, on the hand-worked scenario.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from valuechain_lib.errors import ValueChainError
from valuechain_lib.models import gpu_economics as g
from valuechain_lib.paths import DEFAULT_DATA_DIR
from valuechain_lib.snapshot.facts import facts
from valuechain_lib.snapshot.vintage import as_of

pytestmark = pytest.mark.fast

# A hand-made scenario whose cost lines are worked out in the tests below.
HAND = {
    "price_usd_per_gpu_hour": 3.0, "utilization": 0.8, "gpu_capex_usd": 30_000.0, "server_capex_usd_per_gpu": 0.0,
    "useful_life_years": 5.0, "residual_value_share": 0.0, "power_kw_per_gpu": 1.0, "pue": 1.25,
    "electricity_usd_per_kwh": 0.08, "colocation_usd_per_kw_month": 146.0, "operations_usd_per_gpu_hour": 0.1,
    "cost_of_capital": 0.10,
}



@pytest.fixture(scope="module")
def assumptions() -> pd.DataFrame:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VALUECHAIN_DATA", str(DEFAULT_DATA_DIR))
        return g.load_assumptions()


@pytest.fixture(scope="module")
def raw_assumptions() -> pd.DataFrame:
    return pd.read_csv(DEFAULT_DATA_DIR / "gpu_assumptions.csv", dtype=str, keep_default_na=False)


# --------------------------------------------------------------------------- formulas
def test_depreciation_30k_gpu_over_5_years():
    """$30,000 over 5 years = $6,000 a year = $0.685 an hour at 8,760 hours."""
    assert g.HOURS_PER_YEAR == 8760
    assert_allclose(g.get_depreciation_per_hour(30_000, 0, 5), 6000 / 8760, rtol=1e-12)
    assert_allclose(g.get_depreciation_per_hour(30_000, 0, 5), 0.68493, atol=1e-5)


def test_depreciation_adds_server_and_keeps_residual():
    """($30,000 + $10,000) × (1 − 0.25) / (6 × 8,760) = $30,000 / 52,560 h = $0.5708/h."""
    assert_allclose(g.get_depreciation_per_hour(30_000, 10_000, 6, 0.25), 30_000 / 52_560, rtol=1e-12)


def test_depreciation_zero_life_is_nan():
    """A zero useful life gives NaN, not infinity."""
    assert np.isnan(g.get_depreciation_per_hour(30_000, 0, 0))
    out = g.get_depreciation_per_hour(pd.Series([30_000.0, 30_000.0]), 0.0, pd.Series([5.0, 0.0]))
    assert isinstance(out, pd.Series) and np.isnan(out.iloc[1])


def test_revenue_is_price_times_utilization():
    """$3.00 × 80% = $2.40 per installed GPU-hour."""
    assert_allclose(g.get_revenue_per_hour(3.0, 0.8), 2.4)


def test_power_cost():
    """1 kW × PUE 1.25 × $0.08/kWh = $0.10 per hour."""
    assert_allclose(g.get_power_cost_per_hour(1.0, 1.25, 0.08), 0.10)


def test_colocation_and_operations_cost():
    """$146 per kW-month × 1 kW / 730 h = $0.20/h, plus $0.10/h operations = $0.30/h."""
    assert g.HOURS_PER_MONTH == 730
    assert_allclose(g.get_colocation_cost_per_hour(1.0, 146.0, 0.10), 0.30)


def test_financing_on_average_book_value():
    """10% × $30,000 / 2 = $1,500 a year = $0.1712/h; a 20% residual raises the average book value by 20%."""
    assert_allclose(g.get_financing_cost_per_hour(30_000, 0, 0.10), 1500 / 8760)
    assert_allclose(g.get_financing_cost_per_hour(30_000, 0, 0.10, 0.2), 1.2 * 1500 / 8760)


def test_margins_by_hand():
    """Revenue $2.40, cash cost $0.40, depreciation $0.6849, financing $0.1712 (the HAND scenario).

    Excluding depreciation: (2.40 − 0.40) / 2.40 = 83.33%. Including: (2.40 − 0.40 − 0.6849) / 2.40 = 54.79%.
    After financing: (2.40 − 0.40 − 0.6849 − 0.1712) / 2.40 = 47.66%.
    """
    dep, fin = 6000 / 8760, 1500 / 8760
    assert_allclose(g.gross_margin_excluding_depreciation(2.4, 0.4), 2.0 / 2.4)
    assert_allclose(g.gross_margin_including_depreciation(2.4, 0.4, dep), (2.0 - dep) / 2.4)
    assert_allclose(g.margin_after_financing(2.4, 0.4, dep, fin), (2.0 - dep - fin) / 2.4)
    run = g.unit_economics(HAND).iloc[0]
    assert_allclose(run[["revenue", "power", "colocation_and_operations", "cash_cost", "depreciation", "financing"]]
                    .to_numpy(dtype=float), [2.4, 0.1, 0.3, 0.4, dep, fin], rtol=1e-12)
    assert_allclose(run["gross_margin_excluding_depreciation"], 0.833333, atol=1e-6)
    assert_allclose(run["gross_margin_including_depreciation"], 0.547945, atol=1e-6)
    assert_allclose(run["margin_after_financing"], 0.476598, atol=1e-6)


def test_margin_at_utilization_u():
    """Gross margin including depreciation is 1 − (cash + depreciation) / (price × u): at u = 0.5, 1 − 1.0849/1.5."""
    scenario = {**HAND, "utilization": 0.5}
    run = g.unit_economics(scenario).iloc[0]
    assert_allclose(run["gross_margin_including_depreciation"], 1 - (0.4 + 6000 / 8760) / 1.5, rtol=1e-12)


def test_zero_revenue_margin_is_nan():
    assert np.isnan(g.gross_margin_including_depreciation(0.0, 0.4, 0.7))
    out = g.gross_margin_excluding_depreciation(pd.Series([2.0, 0.0]), pd.Series([0.5, 0.5]))
    assert out.iloc[0] == 0.75 and np.isnan(out.iloc[1])


def test_reported_basis_margin():
    """Leaving 25% of $0.80 depreciation out: (2.0 − 0.5 − 0.6) / 2.0 = 45%; none left out equals the full margin."""
    assert_allclose(g.reported_basis_margin(2.0, 0.5, 0.8, 0.25), 0.45)
    assert_allclose(g.reported_basis_margin(2.0, 0.5, 0.8, 0.0), g.gross_margin_including_depreciation(2.0, 0.5, 0.8))


def test_break_even_price():
    """(0.40 + 0.6849 + 0.1712) / 0.8 = $1.5702 per billed hour; at that price the after-financing margin is 0."""
    dep, fin = 6000 / 8760, 1500 / 8760
    price = g.break_even_price_per_hour(0.4, dep, fin, 0.8)
    assert_allclose(price, (0.4 + dep + fin) / 0.8)
    run = g.unit_economics({**HAND, "price_usd_per_gpu_hour": price}).iloc[0]
    assert_allclose(run["margin_after_financing"], 0.0, atol=1e-12)
    assert np.isnan(g.break_even_price_per_hour(0.4, dep, fin, 0.0))


# --------------------------------------------------------------------------- grid and monotonicity
def test_margin_grid_is_tidy_and_complete(assumptions):
    grid = g.margin_grid(assumptions)
    assert len(grid) == 31 * 3
    assert not grid.duplicated(["price_usd_per_gpu_hour", "useful_life_years", "utilization"]).any()
    assert_allclose(sorted(grid["utilization"].unique()), np.linspace(0.6, 0.9, 31))
    assert sorted(grid["useful_life_years"].unique()) == [4, 5, 6]


def test_margin_rises_with_utilization_and_useful_life(assumptions):
    """At every price, life and utilization of the grid, a higher utilization or a longer life gives a higher margin."""
    grid = g.margin_grid(assumptions, price=[1.5, 2.95, 4.5])
    for col in ("gross_margin_including_depreciation", "margin_after_financing", "gross_margin_excluding_depreciation"):
        by_util = grid.sort_values("utilization").groupby(["price_usd_per_gpu_hour", "useful_life_years"])[col]
        assert (by_util.diff().dropna() > 0).all(), col
    by_life = grid.sort_values("useful_life_years").groupby(["price_usd_per_gpu_hour", "utilization"])
    assert (by_life["gross_margin_including_depreciation"].diff().dropna() > 0).all()
    # Financing and cash costs do not depend on the life; the margin before depreciation does not either.
    assert_allclose(by_life["gross_margin_excluding_depreciation"].diff().dropna(), 0.0, atol=1e-12)


def test_slider_grid_hits_the_central_values(assumptions):
    """The chart's grid contains the central price, utilization and life, so the sliders' defaults match a row."""
    grid = g.slider_grid(assumptions)
    c = g.central_values(assumptions)
    hit = grid[np.isclose(grid["price_usd"], c["price_usd_per_gpu_hour"]) & np.isclose(grid["utilization"],
               c["utilization"]) & (grid["life_years"] == c["useful_life_years"])]
    assert len(hit) == 1
    run = g.unit_economics(c).iloc[0]
    assert_allclose(hit["gross_margin"].iloc[0], run["gross_margin_including_depreciation"], atol=5e-5)
    steps = np.diff(sorted(grid["price_usd"].unique()))
    assert_allclose(steps, 0.10, atol=1e-9)
    row = assumptions.set_index("name").loc["price_usd_per_gpu_hour"]
    assert grid["price_usd"].between(row["low"], row["high"]).all()


# --------------------------------------------------------------------------- calibration
@pytest.mark.parametrize("solve_for", ["utilization", "price_usd_per_gpu_hour"])
@pytest.mark.parametrize("costs", ["value", "low", "high"])
def test_calibration_reproduces_reported_margins(assumptions, solve_for, costs):
    """The calibrated inputs give ~14% on the reported basis and ~7% with all depreciation, within 0.5 point.

    Checked by re-running the model independently at the solution, not by reading the calibration's output.
    """
    cal = g.calibrate_to_reported(assumptions, solve_for=solve_for, costs=costs)
    oracle = g.oracle_figures()
    assert_allclose(oracle["reported_margin"], 0.14)
    assert_allclose(oracle["after_left_out"], 0.07)
    values = g._scenario(assumptions, {solve_for: cal["solved"]}, costs)
    run = g.unit_economics(values).iloc[0]
    reported = g.reported_basis_margin(run["revenue"], run["cash_cost"], run["depreciation"],
                                       cal["excluded_depreciation_share"])
    assert abs(reported - 0.14) < 0.005
    assert abs(run["gross_margin_including_depreciation"] - 0.07) < 0.005
    assert 0 < cal["excluded_depreciation_share"] < 1


def test_calibration_at_central_costs(assumptions):
    """Central costs: the price that reproduces the figures lies in the cited range; the utilization found at
    the central price is below the essay's range (worked: revenue needed = 1.4085 / 0.93 = $1.5145 per hour)."""
    cal_p = g.calibrate_to_reported(assumptions, solve_for="price_usd_per_gpu_hour")
    cal_u = g.calibrate_to_reported(assumptions, solve_for="utilization")
    cost = 0.552323 + 45_000 / 6 / 8760
    assert_allclose(cal_p["revenue"], cost / 0.93, rtol=1e-5)
    assert_allclose(cal_p["solved"], cost / 0.93 / 0.75, rtol=1e-5)
    assert_allclose(cal_u["solved"], cost / 0.93 / 2.95, rtol=1e-5)
    assert cal_p["within_range"] is True and cal_u["within_range"] is False


def test_required_for_oracle_reply(assumptions):
    """Reaching Oracle's 30–40% needs more revenue per hour than the reported quarter; price and utilization agree."""
    for target in (0.30, 0.40):
        by_price = g.required_for_margin(target, assumptions, solve_for="price_usd_per_gpu_hour")
        by_util = g.required_for_margin(target, assumptions, solve_for="utilization")
        assert_allclose(by_price["solved"] * 0.75, by_util["solved"] * 2.95, rtol=1e-12)
        run = g.unit_economics(g._scenario(assumptions, {"price_usd_per_gpu_hour": by_price["solved"]})).iloc[0]
        assert_allclose(run["gross_margin_including_depreciation"], target, atol=1e-12)
    table = g.requirement_table(assumptions)
    assert len(table) == 8
    fin = table.set_index(["target_margin", "after_financing", "solve_for"])
    assert (fin.xs(True, level="after_financing")["solved"].to_numpy()
            > fin.xs(False, level="after_financing")["solved"].to_numpy()).all()


def test_calibration_rejects_unknown_unknown(assumptions):
    with pytest.raises(g.AssumptionsError, match="solve_for"):
        g.calibrate_to_reported(assumptions, solve_for="pue")


# --------------------------------------------------------------------------- verdicts
def _oracle_facts(margin_percent: float) -> pd.DataFrame:
    """The A1 facts rows with the reported gross margin (F03) replaced by ``margin_percent``."""
    table = facts(claim_id="A1").copy()
    table.loc[table["fact_id"] == "F03", "value"] = margin_percent
    return table


@pytest.mark.parametrize(("margin", "status", "distance"), [
    (14.0, "supported", 0.06),       # the reported ~14%: 6 points below the 20% threshold
    (19.9, "supported", 0.001),      # just below
    (20.0, "not supported", 0.0),    # the rule is strictly below: at the threshold it fails, 0 from the flip
    (25.0, "not supported", 0.05),   # 5 points above
])
def test_verdict_a1_flips_on_synthetic_margins(margin, status, distance):
    """F03 set to 14 / 19.9 / 20 / 25 percent against a 20% threshold: measured = F03 / 100, distance = |F03/100 − 0.20|."""
    v = g.verdict_a1(0.20, facts_table=_oracle_facts(margin))
    assert v.status == status
    assert v.unit == "share"
    assert_allclose([v.measured, v.threshold, v.distance_to_flip], [margin / 100, 0.20, distance], atol=1e-12)


def test_verdict_a1_on_the_facts_table():
    """The reported ~14% (F03, press report, medium confidence) for Oracle's quarter to 2025-08-31: supported, 6 points
    below 20%; 7% after the ~7 points of left-out depreciation (F06); data through 2025-08-31."""
    v = g.verdict_a1(0.20)
    assert v.status == "supported"
    assert_allclose([v.measured, v.distance_to_flip, v.numbers["margin_after_left_out"]], [0.14, 0.06, 0.07],
                    atol=1e-12)
    assert "press report" in v.summary and "medium confidence" in v.summary
    assert "quarter to August 2025" in v.summary
    assert v.data_through == "2025-08-31 (Oracle, F03)"
    assert "rise of that much makes it not supported" in v.flip
    assert "**" not in v.summary and "Verdict on" not in v.summary


def test_verdict_a1_at_essay_a_date():
    """On the facts published by 2025-11-30 (Essay A) F03 (published 2025-10-07) is there: the same 14%, supported."""
    with as_of("2025-11-30"):
        v = g.verdict_a1(0.20)
    assert v.status == "supported"
    assert_allclose(v.measured, 0.14, atol=1e-12)


def test_verdict_a1_before_the_report_is_not_testable():
    """Before the press report was published (2025-10-07) F03 is missing: a ValueChainError, which the ledger turns
    into 'not testable'."""
    with as_of("2025-09-30"), pytest.raises(ValueChainError, match="F0"):
        g.verdict_a1(0.20)


def test_verdict_a2_is_not_testable(assumptions):
    """A2 has no threshold: status 'not testable', measured None; the model's margin rises with utilization."""
    v = g.verdict_a2(assumptions)
    assert v.status == "not testable with public data"
    assert v.measured is None and v.threshold is None and v.distance_to_flip is None
    assert "not found" in v.summary and "**" not in v.summary
    assert v.numbers["margin_at_high"] > v.numbers["margin_at_low"]
    assert v.numbers["points_per_10pt_utilization"] > 0
    assert 0 < v.numbers["break_even_utilization"] < 1


def test_verdict_a2_at_essay_a_date_without_the_model():
    """By 2025-11-30 the model's cited price facts were not yet published: still 'not testable', with the reason and
    no model numbers, rather than an error."""
    with as_of("2025-11-30"):
        v = g.verdict_a2()
    assert v.status == "not testable with public data"
    assert "not found" in v.summary and "not yet published by 2025-11-30" in v.summary
    assert v.numbers == {}


# --------------------------------------------------------------------------- the assumptions file
def test_assumptions_file_validates(raw_assumptions, assumptions):
    """Every input has a row with low ≤ value ≤ high, a unit, a rationale and a source."""
    assert tuple(raw_assumptions.columns) == g.ASSUMPTION_COLUMNS
    assert sorted(assumptions["name"]) == sorted(g.INPUTS)
    assert (assumptions["low"] <= assumptions["value"]).all() and (assumptions["value"] <= assumptions["high"]).all()
    for col in ("source", "rationale", "unit", "label"):
        assert (assumptions[col].str.strip() != "").all(), col
    assert set(assumptions["kind"]) <= set(g.KINDS)
    assert (assumptions.loc[assumptions["kind"] == "assumption", "source"] == "assumption").all()


def test_cited_inputs_match_the_facts_table(assumptions):
    """Cited values are figures of the cited facts rows: price 2.95 (F119a), 1.70 (F115), 5.00 (F124); life 6 (F60)."""
    table = facts().set_index("fact_id")
    row = assumptions.set_index("name")
    assert row.at["price_usd_per_gpu_hour", "value"] == table.at["F119a", "value"]
    assert row.at["price_usd_per_gpu_hour", "low"] == table.at["F115", "value"]
    assert row.at["price_usd_per_gpu_hour", "high"] == table.at["F124", "value_high"]
    assert row.at["useful_life_years", "value"] == table.at["F60", "value"]
    assert g.cited_fact_ids(assumptions) == ["F119a", "F115", "F124", "F60", "F48a"]


@pytest.mark.parametrize("change, message", [
    ({"value": "7"}, "low <= value <= high"),
    ({"source": ""}, "empty"),
    ({"kind": "guess"}, "kind"),
    ({"value": "abc"}, "not a number"),
])
def test_validation_rejects_broken_rows(raw_assumptions, change, message):
    broken = raw_assumptions.copy()
    i = broken.index[broken["name"] == "pue"][0]
    for col, val in change.items():
        broken.at[i, col] = val
    with pytest.raises(g.AssumptionsError, match=message):
        g.validate_assumptions(broken)


def test_validation_rejects_bad_citations(raw_assumptions):
    """A cited row must name existing facts whose figures equal its value, low and high."""
    broken = raw_assumptions.copy()
    i = broken.index[broken["name"] == "price_usd_per_gpu_hour"][0]
    broken.at[i, "source"] = "F999"
    with pytest.raises(g.AssumptionsError, match="not in the facts table"):
        g.validate_assumptions(broken)
    broken.at[i, "source"] = "F119a;F115;F124"
    broken.at[i, "value"] = "3.10"
    with pytest.raises(g.AssumptionsError, match="not a figure of the cited"):
        g.validate_assumptions(broken)
    broken = raw_assumptions.copy()
    j = broken.index[broken["name"] == "pue"][0]
    broken.at[j, "source"] = "F03"
    with pytest.raises(g.AssumptionsError, match="source"):
        g.validate_assumptions(broken)


def test_validation_rejects_missing_or_extra_inputs(raw_assumptions):
    with pytest.raises(g.AssumptionsError, match="missing input"):
        g.validate_assumptions(raw_assumptions[raw_assumptions["name"] != "pue"])
    extra = pd.concat([raw_assumptions, raw_assumptions.iloc[[0]].assign(name="discount")], ignore_index=True)
    with pytest.raises(g.AssumptionsError, match="unknown name"):
        g.validate_assumptions(extra)


def test_cost_stack_hand_worked_lines():
    """The HAND scenario as an income statement: revenue 3.0 × 0.8 = $2.40; power 1 × 1.25 × 0.08 = $0.10;
    space and operations 146 / 730 + 0.1 = $0.30; depreciation 30,000 / (5 × 8,760) = $0.684932; financing
    0.10 × 15,000 / 8,760 = $0.171233; each profit line is revenue less the costs above it, and its share of
    revenue is its margin (gross margin excluding depreciation 2.0 / 2.4 = 83.3%)."""
    run = g.unit_economics(HAND).iloc[0]
    stack = g.cost_stack(run).set_index("line")
    usd = stack["usd_per_installed_hour"]
    depreciation, financing = 30_000 / (5 * 8760), 0.10 * 15_000 / 8760
    assert_allclose(usd["Revenue (price × utilization)"], 2.4)
    assert_allclose(usd["Power"], 0.10)
    assert_allclose(usd["Data-centre space and operations"], 0.30)
    assert_allclose(usd["Gross profit excluding depreciation"], 2.0)
    assert_allclose(usd["Depreciation"], depreciation)
    assert_allclose(usd["Gross profit including depreciation"], 2.0 - depreciation)
    assert_allclose(usd["Financing (below gross margin)"], financing)
    assert_allclose(usd["Profit after financing"], 2.0 - depreciation - financing)
    share = stack["share_of_revenue"]
    assert_allclose(share["Gross profit excluding depreciation"], run["gross_margin_excluding_depreciation"])
    assert_allclose(share["Gross profit including depreciation"], run["gross_margin_including_depreciation"])
    assert_allclose(share["Profit after financing"], run["margin_after_financing"])


def test_cost_stack_zero_revenue_gives_nan_shares():
    """With utilization 0 there is no revenue: dollar lines stay, shares of revenue are NaN, not infinite."""
    stack = g.cost_stack(g.unit_economics({**HAND, "utilization": 0.0}).iloc[0])
    assert stack["share_of_revenue"].isna().all()
    assert_allclose(stack.set_index("line").at["Power", "usd_per_installed_hour"], 0.10)


def test_chart_data_through_uses_the_facts_own_dates():
    """Oracle's reported quarter ends 2025-08-31 (F03's period_end), its reply is dated 2025-10-01 (F07's as_of),
    and the cited inputs run to their latest as_of; a synthetic later input moves only the last date."""
    table = facts()
    got = g.chart_data_through(facts_table=table)
    assert got["Oracle's reported quarter, F03"] == pd.Timestamp("2025-08-31")
    assert got["Oracle's reply, F07"] == pd.Timestamp("2025-10-01")
    ids = g.cited_fact_ids()
    assert got["cited model inputs"] == table.loc[table["fact_id"].isin(ids), "as_of"].max()
    later = table.copy()
    later.loc[later["fact_id"] == ids[0], "as_of"] = pd.Timestamp("2030-01-01")
    moved = g.chart_data_through(facts_table=later)
    assert moved["cited model inputs"] == pd.Timestamp("2030-01-01")
    assert moved["Oracle's reported quarter, F03"] == pd.Timestamp("2025-08-31")
