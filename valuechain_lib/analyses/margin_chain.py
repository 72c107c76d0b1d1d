"""The margin chain of renting out GPUs, calibrated to Oracle's reported margins (claims A1, A2): the chapter's module.

The model itself is `valuechain_lib.models.gpu_economics` (formulas, the assumptions table, the
calibration and the verdicts' rules); this module re-exports the parts of it the chapter
``chapters/margin_chain.md`` uses, so the chapter imports its own module only, and holds the pieces that
exist for the chapter alone: the inputs table shown and the charts' source line.
"""

from __future__ import annotations

import pandas as pd

from valuechain_lib.models.gpu_economics import (
    ORACLE_FACTS,
    calibration_table,
    central_values,
    chart_data_through,
    cited_fact_ids,
    cost_stack,
    load_assumptions,
    oracle_figures,
    requirement_table,
    slider_grid,
    unit_economics,
)
from valuechain_lib.snapshot.assumptions import cited_ids
from valuechain_lib.snapshot.facts import facts

__all__ = [
    "assumption_table", "calibration_table", "central_values", "chart_data_through", "cost_stack", "load_assumptions",
    "model_source_line", "oracle_figures", "requirement_table", "slider_grid", "unit_economics",
]


def assumption_table(assumptions=None, facts_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The model inputs for display: value, range, unit, cited or assumed, and the cited facts' kind and confidence.

    Parameters
    ----------
    assumptions : pandas.DataFrame, optional
        The model's assumptions table (default `load_assumptions`).
    facts_table : pandas.DataFrame, optional
        The facts table (default `valuechain_lib.snapshot.facts.facts`).

    Returns
    -------
    pandas.DataFrame
        ``input, value, low, high, unit, basis`` ("cited" or "assumption"), ``source`` (each fact_id
        with its kind and confidence, or "model assumption"), ``rationale``.
    """
    table = load_assumptions() if assumptions is None else assumptions
    facts_table = facts() if facts_table is None else facts_table
    by_id = facts_table.set_index("fact_id")

    def source(row) -> str:
        if row["kind"] != "cited":
            return "model assumption"
        return "; ".join(f"{i} ({by_id.at[i, 'kind']}, {by_id.at[i, 'confidence']} confidence)"
                         for i in cited_ids(row["source"]))

    return pd.DataFrame({
        "input": table["label"], "value": table["value"], "low": table["low"], "high": table["high"],
        "unit": table["unit"], "basis": table["kind"], "source": table.apply(source, axis=1),
        "rationale": table["rationale"],
    })


def model_source_line(assumptions=None, facts_table: pd.DataFrame | None = None) -> str:
    """A chart source line: the model, its cited inputs' facts rows, and the Oracle rows with their kinds.

    Parameters
    ----------
    assumptions : pandas.DataFrame, optional
        The model's assumptions table (default `load_assumptions`).
    facts_table : pandas.DataFrame, optional
        The facts table (default `valuechain_lib.snapshot.facts.facts`).

    Returns
    -------
    str
    """
    facts_table = facts() if facts_table is None else facts_table
    by_id = facts_table.set_index("fact_id")
    table = load_assumptions() if assumptions is None else assumptions
    n_assumed = int((table["kind"] == "assumption").sum())
    cited = ", ".join(f"{i} ({by_id.at[i, 'kind']})" for i in cited_fact_ids(table))
    oracle = ", ".join(f"{ORACLE_FACTS[k]} ({by_id.at[ORACLE_FACTS[k], 'kind']})"
                       for k in ("gross_margin", "left_out_depreciation", "oracle_reply"))
    return (f"Model valuechain_lib.models.gpu_economics on data/gpu_assumptions.csv: inputs cited to facts table rows "
            f"{cited}; {n_assumed} inputs are model assumptions. Reference lines: {oracle}")
