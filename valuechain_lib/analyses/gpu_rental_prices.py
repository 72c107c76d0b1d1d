"""Cited GPU rental prices per GPU-hour by accelerator generation, against the margin-chain break-even (claim A1).

`rental_price_series` turns the facts table's rental-price rows into a tidy series (one row per
cited figure, generation parsed from the row's text by the mapping `GENERATIONS`); and
`break_even_by_generation` gives the break-even price per billed GPU-hour of the margin-chain model
(`valuechain_lib.models.gpu_economics`) for each generation, at its central inputs and across the ranges
declared in ``data/gpu_assumptions.csv``.

References
----------
Facts table rows F104-F127 (``data/facts.csv``); model inputs in ``data/gpu_assumptions.csv``. The model's
`load_assumptions` is re-exported here for the chapter, which imports this module only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from valuechain_lib.models import gpu_economics
from valuechain_lib.models.gpu_economics import load_assumptions
from valuechain_lib.snapshot.facts import facts, label

__all__ = [
    "EXCLUDED_METRICS",
    "FAVOURABLE_END",
    "GENERATIONS",
    "GPU_PRICE_UNITS",
    "PRICE_UNIT",
    "PRICING",
    "SERIES_COLUMNS",
    "break_even_by_generation",
    "break_even_rules_of_thumb",
    "break_even_scenarios",
    "load_assumptions",
    "position_vs_break_even",
    "rental_price_series",
]

#: The unit of a rental price row; other units (e.g. "USD per Superchip-hour") are left out.
PRICE_UNIT = "USD per GPU-hour"
#: Accelerator generations: (regex on the entity and metric text, generation). Where several match, the
#: one found first in the text wins (entity before metric), so "GB200 ... B200" is GB200 and
#: "A100 40GB spot price (... no H100 value read)" is A100.
GENERATIONS = (
    (r"\bGB200\b", "GB200"),
    (r"\bGB300\b", "GB300"),
    (r"\bB200\b", "B200"),
    (r"\bB300\b", "B300"),
    (r"\bH200\b", "H200"),
    (r"\bH100\b", "H100"),
    (r"\bA100\b", "A100"),
    (r"\bL40S\b", "L40S"),
    (r"\bMI300X\b", "MI300X"),
    (r"\bMI325X\b", "MI325X"),
    (r"\bMI355X\b", "MI355X"),
)
#: How the price was offered, from the metric text: (regex, pricing); first match in this order wins.
PRICING = (
    (r"\bspot\b", "spot"),
    (r"\bcontract\b|\breserved\b", "reserved or contract"),
    (r"capacity blocks?", "capacity block"),
    (r"on-demand|\blist\b|posted", "on-demand"),
)
#: Rows in the price unit that are not prices charged: others' break-even rules of thumb.
EXCLUDED_METRICS = (r"break-even",)
#: Units a facts row would need to give an accelerator purchase price (none such today).
GPU_PRICE_UNITS = ("USD per GPU",)
#: For each model input, the end of its declared range that lowers the break-even price.
FAVOURABLE_END = {
    "utilization": "high", "gpu_capex_usd": "low", "server_capex_usd_per_gpu": "low", "useful_life_years": "high",
    "residual_value_share": "high", "power_kw_per_gpu": "low", "pue": "low", "electricity_usd_per_kwh": "low",
    "colocation_usd_per_kw_month": "low", "operations_usd_per_gpu_hour": "low", "cost_of_capital": "low",
}
SERIES_COLUMNS = (
    "fact_id", "generation", "date", "date_precision", "price", "price_low", "price_high", "qualifier", "pricing",
    "provider", "kind", "confidence", "source_title", "publisher", "source_date", "url", "metric", "label",
)


def _first_match(text: str, table) -> str | None:
    """The value of the pattern that matches earliest in ``text`` (ties: earlier pattern)."""
    hits = [(m.start(), i, value) for i, (pattern, value) in enumerate(table)
            if (m := re.search(pattern, text, flags=re.IGNORECASE))]
    return min(hits)[2] if hits else None


def _generation(entity: str, metric: str) -> str | None:
    return _first_match(entity, GENERATIONS) or _first_match(metric, GENERATIONS)


def _provider(entity: str) -> str:
    return "market-wide (several providers)" if entity.strip().lower().endswith(" market") else entity.strip()


def rental_price_series(facts_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The cited GPU rental prices, one row per facts row, tidy.

    Keeps the facts rows in `PRICE_UNIT` whose entity or metric names a generation in `GENERATIONS`,
    except the break-even rules of thumb (`EXCLUDED_METRICS`; see `break_even_rules_of_thumb`). No
    number is changed: a point figure stays in ``price``; a range stays in ``price_low``/``price_high``
    with ``price`` NaN; a qualifier ("about", "more than"...) is kept beside it.

    Parameters
    ----------
    facts_table : pandas.DataFrame, optional
        As returned by `valuechain_lib.snapshot.facts.facts`; default the whole table.

    Returns
    -------
    pandas.DataFrame
        Columns `SERIES_COLUMNS`: ``generation`` (e.g. "H100"), ``date`` (the row's as_of, datetime64,
        first day of a month or year given at that precision; NaT when the source is undated),
        ``price``, ``price_low``, ``price_high`` (USD per GPU-hour), ``pricing`` (on-demand, spot,
        reserved or contract, capacity block, or "unspecified"), ``provider`` (the entity, or
        "market-wide" for a market index or report), ``kind`` and ``confidence`` as in the facts table,
        and ``label`` (`valuechain_lib.snapshot.facts.label`, which names press reports as such). Sorted by
        generation, date, fact_id.

    Examples
    --------
    >>> s = rental_price_series()  # doctest: +SKIP
    >>> s.set_index("fact_id").at["F121a", "generation"]  # doctest: +SKIP
    'H200'
    """
    table = facts() if facts_table is None else facts_table
    rows = table[table["unit"] == PRICE_UNIT]
    excluded = rows["metric"].astype(str).map(lambda m: any(re.search(p, m, re.IGNORECASE) for p in EXCLUDED_METRICS))
    rows = rows[~excluded.to_numpy()]
    generation = [_generation(str(e), str(m)) for e, m in zip(rows["entity"], rows["metric"], strict=True)]
    rows = rows.assign(generation=generation).dropna(subset=["generation"])
    out = pd.DataFrame({
        "fact_id": rows["fact_id"].astype(str),
        "generation": rows["generation"].astype(str),
        "date": rows["as_of"],
        "date_precision": rows["as_of_precision"].astype(str) if "as_of_precision" in rows else "",
        "price": rows["value"].astype(float),
        "price_low": rows["value_low"].astype(float),
        "price_high": rows["value_high"].astype(float),
        "qualifier": rows["qualifier"].fillna("").astype(str),
        "pricing": rows["metric"].astype(str).map(lambda m: _first_match(m, PRICING) or "unspecified"),
        "provider": rows["entity"].astype(str).map(_provider),
        "kind": rows["kind"],
        "confidence": rows["confidence"],
        "source_title": rows["source_title"].astype(str),
        "publisher": rows["publisher"].astype(str),
        "source_date": rows["source_date"],
        "url": rows["url"].fillna("").astype(str),
        "metric": rows["metric"].astype(str),
        "label": [label(r) for _, r in rows.iterrows()],
    })
    return out.sort_values(["generation", "date", "fact_id"], na_position="last").reset_index(drop=True)


def break_even_rules_of_thumb(facts_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Others' break-even rental prices in the facts table (rows in `PRICE_UNIT` matching `EXCLUDED_METRICS`).

    Returns
    -------
    pandas.DataFrame
        ``fact_id, entity, metric, value, as_of, kind, confidence, label``.
    """
    table = facts() if facts_table is None else facts_table
    rows = table[table["unit"] == PRICE_UNIT]
    keep = rows["metric"].astype(str).map(lambda m: any(re.search(p, m, re.IGNORECASE) for p in EXCLUDED_METRICS))
    rows = rows[keep.to_numpy()]
    out = rows[["fact_id", "entity", "metric", "value", "as_of", "kind", "confidence"]].copy()
    out["label"] = [label(r) for _, r in rows.iterrows()]
    return out.reset_index(drop=True)


def _facts_gpu_prices(facts_table: pd.DataFrame) -> dict[str, tuple[float, str]]:
    """Accelerator purchase prices the facts table gives, generation → (USD, fact_id); empty today."""
    rows = facts_table[facts_table["unit"].isin(GPU_PRICE_UNITS) & facts_table["value"].notna()]
    out: dict[str, tuple[float, str]] = {}
    for _, r in rows.sort_values("as_of").iterrows():
        gen = _generation(str(r["entity"]), str(r["metric"]))
        if gen:
            out[gen] = (float(r["value"]), str(r["fact_id"]))
    return out


def break_even_scenarios(assumptions=None) -> dict[str, dict[str, float]]:
    """The model inputs at their central values and at the ends of their ranges that minimise / maximise break-even.

    Returns
    -------
    dict
        ``{"central": ..., "favourable": ..., "unfavourable": ...}``, each a name → value mapping of
        `gpu_economics.INPUTS`. "favourable" takes every input in `FAVOURABLE_END` at the end that lowers
        the break-even price; "unfavourable" the other end. The rental price is left central (the
        break-even does not depend on it).
    """
    table = gpu_economics.load_assumptions() if assumptions is None else assumptions
    central = gpu_economics.central_values(table)
    low, high = gpu_economics.central_values(table, "low"), gpu_economics.central_values(table, "high")
    favourable = {**central, **{k: (low if end == "low" else high)[k] for k, end in FAVOURABLE_END.items()}}
    unfavourable = {**central, **{k: (high if end == "low" else low)[k] for k, end in FAVOURABLE_END.items()}}
    return {"central": central, "favourable": favourable, "unfavourable": unfavourable}


def _break_even(values: Mapping[str, float]) -> tuple[float, float]:
    """(gross, with financing) break-even price per billed GPU-hour for one set of inputs."""
    v = values
    cash = (gpu_economics.get_power_cost_per_hour(v["power_kw_per_gpu"], v["pue"], v["electricity_usd_per_kwh"])
            + gpu_economics.get_colocation_cost_per_hour(v["power_kw_per_gpu"], v["colocation_usd_per_kw_month"],
                                                         v["operations_usd_per_gpu_hour"]))
    dep = gpu_economics.get_depreciation_per_hour(v["gpu_capex_usd"], v["server_capex_usd_per_gpu"],
                                                  v["useful_life_years"], v["residual_value_share"])
    fin = gpu_economics.get_financing_cost_per_hour(v["gpu_capex_usd"], v["server_capex_usd_per_gpu"],
                                                    v["cost_of_capital"], v["residual_value_share"])
    gross = gpu_economics.break_even_price_per_hour(cash, dep, 0.0, v["utilization"])
    economic = gpu_economics.break_even_price_per_hour(cash, dep, fin, v["utilization"])
    return float(gross), float(economic)


def break_even_by_generation(series: pd.DataFrame | None = None, assumptions=None,
                             facts_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The margin-chain model's break-even price per billed GPU-hour for each generation in the series.

    For each generation the accelerator cost is the facts table's purchase price where it gives one
    (a row in `GPU_PRICE_UNITS`); otherwise the model's central ``gpu_capex_usd`` (an H100-class
    assumption), and ``gpu_capex_basis`` says so. The facts table holds no purchase price today, so
    every generation gets the same central cost and the same break-even. All other inputs are the
    central values of ``data/gpu_assumptions.csv``; the range takes every input at the favourable and
    unfavourable end of its declared range at once (`break_even_scenarios`), with the generation's
    accelerator cost moved by the same ratio as the central one.

    Parameters
    ----------
    series : pandas.DataFrame, optional
        `rental_price_series` (default); its generations are the rows returned.
    assumptions : pandas.DataFrame, optional
        Default `gpu_economics.load_assumptions`.
    facts_table : pandas.DataFrame, optional
        Default the whole facts table.

    Returns
    -------
    pandas.DataFrame
        One row per generation: ``generation``, ``gpu_capex_usd``, ``gpu_capex_basis``,
        ``break_even_gross`` (covers power, space, operations and depreciation) and
        ``break_even_with_financing`` (also the cost of capital), USD per billed GPU-hour at the central
        inputs (`gpu_economics.break_even_price_per_hour`), and ``gross_low``, ``gross_high``,
        ``with_financing_low``, ``with_financing_high`` at the favourable / unfavourable ends.
    """
    table = facts() if facts_table is None else facts_table
    series = rental_price_series(table) if series is None else series
    scen = break_even_scenarios(assumptions)
    central_capex = scen["central"]["gpu_capex_usd"]
    cited = _facts_gpu_prices(table)
    rows = []
    for gen in sorted(series["generation"].unique()):
        capex, basis = central_capex, "assumption (model's central H100-class accelerator cost; no purchase price in the facts table)"
        if gen in cited:
            capex, fid = cited[gen]
            basis = f"cited ({fid})"
        scale = capex / central_capex
        values = {k: {**v, "gpu_capex_usd": v["gpu_capex_usd"] * scale} for k, v in scen.items()}
        gross, econ = _break_even(values["central"])
        g_lo, e_lo = _break_even(values["favourable"])
        g_hi, e_hi = _break_even(values["unfavourable"])
        rows.append({"generation": gen, "gpu_capex_usd": capex, "gpu_capex_basis": basis,
                     "break_even_gross": gross, "break_even_with_financing": econ,
                     "gross_low": g_lo, "gross_high": g_hi, "with_financing_low": e_lo, "with_financing_high": e_hi})
    return pd.DataFrame(rows)


def position_vs_break_even(series: pd.DataFrame, break_even: pd.DataFrame,
                           column: str = "break_even_with_financing") -> pd.Series:
    """Where each cited price sits against its generation's break-even: "below", "above" or "straddles".

    A point price is below when under the break-even, above otherwise; a range is below only when
    its high end is under it, above only when its low end is at or over it, and "straddles" otherwise.
    An open-ended figure on the wrong side ("more than" a price under the break-even, "less than" or
    "up to" one at or over it) also "straddles".

    Returns
    -------
    pandas.Series
        Aligned with ``series``; NaN-free.
    """
    be = series["generation"].map(break_even.set_index("generation")[column])
    point = series["price"]
    out = np.where(point.notna(), np.where(point < be, "below", "above"),
                   np.where(series["price_high"] < be, "below",
                            np.where(series["price_low"] >= be, "above", "straddles")))
    qualifier = series["qualifier"].fillna("") if "qualifier" in series else pd.Series("", index=series.index)
    open_up = qualifier.isin(["more than", "at least"]).to_numpy() & (out == "below")
    open_down = qualifier.isin(["less than", "up to"]).to_numpy() & (out == "above")
    out = np.where(open_up | open_down, "straddles", out)
    return pd.Series(out, index=series.index, name="vs_break_even")
