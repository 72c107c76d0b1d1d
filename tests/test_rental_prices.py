"""GPU rental prices against the model break-even (`valuechain_lib.analyses.gpu_rental_prices`, claim A1).

Known answers: the generation of named facts rows (read off their text by hand); every point keeps
its fact_id, kind and confidence from the facts table; the break-even equals
`gpu_economics.break_even_price_per_hour` on the central inputs, and a hand-worked value of it.
"""

from __future__ import annotations

import pandas as pd
import pytest
from numpy.testing import assert_allclose

from valuechain_lib.analyses import gpu_rental_prices as rp
from valuechain_lib.models import gpu_economics as g
from valuechain_lib.paths import DEFAULT_DATA_DIR
from valuechain_lib.snapshot.facts import facts

pytestmark = pytest.mark.fast



@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VALUECHAIN_DATA", str(DEFAULT_DATA_DIR))
        return facts()


@pytest.fixture(scope="module")
def series(table) -> pd.DataFrame:
    return rp.rental_price_series(table)


@pytest.fixture(scope="module")
def assumptions() -> pd.DataFrame:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VALUECHAIN_DATA", str(DEFAULT_DATA_DIR))
        return g.load_assumptions()


@pytest.mark.parametrize(("fact_id", "generation"), [
    ("F104", "H100"),   # AWS "H100, on-demand list: p5.48xlarge ..."
    ("F107", "H200"),   # AWS "H200, EC2 Capacity Blocks ..."
    ("F108", "A100"),   # AWS "A100 (40 GB), EC2 Capacity Blocks ..."
    ("F120", "B200"),   # entity "B200 market"; the metric also names H200 and H100
    ("F121a", "H200"),  # Spheron "On-demand list price, H200"
    ("F122b", "B200"),  # packet.ai "On-demand list price, B200 SXM"
    ("F125", "A100"),   # entity "A100 market"
    ("F127", "A100"),   # "A100 40GB spot price ... (no H100 value read)": first name in the text wins
])
def test_generation_of_known_rows(series, fact_id, generation):
    """Generations read by hand off the entity and metric text of named facts rows."""
    assert series.set_index("fact_id").at[fact_id, "generation"] == generation


def test_excluded_rows(series):
    """GB200 per Superchip-hour (F121c, another unit) and the break-even rules of thumb (F113a/b) are not prices."""
    assert not {"F121c", "F113a", "F113b"} & set(series["fact_id"])
    assert set(rp.break_even_rules_of_thumb()["fact_id"]) == {"F113a", "F113b"}


def test_first_match_prefers_earliest_name():
    """'GB200' is not read as 'B200'; the earliest generation named in the text wins."""
    assert rp._generation("Spheron", "GB200 per Superchip (= 2 B200 dies)") == "GB200"
    assert rp._generation("x", "H200 -29%, H100 -22%") == "H200"
    assert rp._generation("x", "no accelerator named") is None


def test_every_point_keeps_provenance(series, table):
    """Each row's fact_id, kind, confidence and figures equal its facts-table row; every GPU-hour price row appears."""
    assert series["fact_id"].is_unique
    assert series[["fact_id", "kind", "confidence", "source_title"]].notna().all().all()
    src = table.set_index("fact_id").loc[series["fact_id"]]
    assert (series["kind"].astype(str).to_numpy() == src["kind"].astype(str).to_numpy()).all()
    assert (series["confidence"].astype(str).to_numpy() == src["confidence"].astype(str).to_numpy()).all()
    assert_allclose(series["price"], src["value"], rtol=0, equal_nan=True)
    assert_allclose(series["price_low"], src["value_low"], rtol=0, equal_nan=True)
    assert_allclose(series["price_high"], src["value_high"], rtol=0, equal_nan=True)
    in_unit = table[(table["unit"] == rp.PRICE_UNIT) & ~table["fact_id"].isin(["F113a", "F113b"])]
    assert set(series["fact_id"]) == set(in_unit["fact_id"])
    assert series["price"].notna().sum() + series["price_low"].notna().sum() == len(series)
    press = series[series["kind"] == "press report"]
    assert press["label"].str.contains("press report").all()


def test_break_even_equals_model(series, assumptions, table):
    """Central break-even = gpu_economics.break_even_price_per_hour on the central cost lines (and unit_economics)."""
    be = rp.break_even_by_generation(series, assumptions, table)
    assert set(be["generation"]) == set(series["generation"])
    c = g.central_values(assumptions)
    cash = (g.get_power_cost_per_hour(c["power_kw_per_gpu"], c["pue"], c["electricity_usd_per_kwh"])
            + g.get_colocation_cost_per_hour(c["power_kw_per_gpu"], c["colocation_usd_per_kw_month"],
                                             c["operations_usd_per_gpu_hour"]))
    dep = g.get_depreciation_per_hour(c["gpu_capex_usd"], c["server_capex_usd_per_gpu"], c["useful_life_years"],
                                      c["residual_value_share"])
    fin = g.get_financing_cost_per_hour(c["gpu_capex_usd"], c["server_capex_usd_per_gpu"], c["cost_of_capital"],
                                        c["residual_value_share"])
    assert_allclose(be["break_even_gross"], g.break_even_price_per_hour(cash, dep, 0.0, c["utilization"]), rtol=1e-12)
    assert_allclose(be["break_even_with_financing"], g.break_even_price_per_hour(cash, dep, fin, c["utilization"]),
                    rtol=1e-12)
    run = g.unit_economics(c).iloc[0]
    assert_allclose(be["break_even_with_financing"], run["break_even_price_economic"], rtol=1e-12)
    assert (be["gpu_capex_basis"].str.startswith("assumption")).all()
    assert (be["with_financing_low"] < be["break_even_with_financing"]).all()
    assert (be["break_even_with_financing"] < be["with_financing_high"]).all()


def test_break_even_hand_worked():
    """Hand-worked: $30,000 + $15,000 over 6 years, 1.3 kW x 1.3 PUE x $0.08, $150/kW-month, $0.15 ops, 75%, 8%.

    power 0.1352; space 150 x 1.3 / 730 = 0.267123; ops 0.15; depreciation 45,000 / 52,560 = 0.856164;
    gross = 1.408487 / 0.75 = 1.877983; financing 0.08 x 22,500 / 8,760 = 0.205479;
    with financing = 1.613966 / 0.75 = 2.151955 (to 1e-5).
    """
    central = {"price_usd_per_gpu_hour": 2.95, "utilization": 0.75, "gpu_capex_usd": 30_000.0,
               "server_capex_usd_per_gpu": 15_000.0, "useful_life_years": 6.0, "residual_value_share": 0.0,
               "power_kw_per_gpu": 1.3, "pue": 1.3, "electricity_usd_per_kwh": 0.08,
               "colocation_usd_per_kw_month": 150.0, "operations_usd_per_gpu_hour": 0.15, "cost_of_capital": 0.08}
    gross, econ = rp._break_even(central)
    assert_allclose([gross, econ], [1.877983, 2.151955], atol=1e-5)


def test_position_vs_break_even():
    """Points, ranges and open-ended figures against a $2 line, classified by hand."""
    s = pd.DataFrame({"generation": ["H100"] * 5, "price": [1.5, 2.5, None, None, 1.0],
                      "price_low": [None, None, 1.0, 2.1, None], "price_high": [None, None, 3.0, 4.0, None],
                      "qualifier": ["", "", "", "", "more than"]})
    be = pd.DataFrame({"generation": ["H100"], "break_even_with_financing": [2.0]})
    assert rp.position_vs_break_even(s, be).tolist() == ["below", "above", "straddles", "above", "straddles"]
