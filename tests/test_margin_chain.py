"""The margin-chain chapter's module (`valuechain_lib.analyses.margin_chain`): the model's parts it re-exports
and the pieces that exist for the chapter alone."""

from __future__ import annotations

import pytest

from valuechain_lib.analyses import margin_chain
from valuechain_lib.models import gpu_economics

pytestmark = pytest.mark.fast


def test_the_model_parts_are_the_models_own():
    """The chapter's module re-exports the model's functions, not copies of them."""
    for name in ("load_assumptions", "unit_economics", "calibration_table", "slider_grid", "oracle_figures"):
        assert getattr(margin_chain, name) is getattr(gpu_economics, name)


def test_source_line_names_the_cited_rows_and_their_kinds():
    """Known answer from the committed tables: two of the 12 inputs are cited, the price (F119a, F115 estimates;
    F124 press report) and the useful life (F60, F48a filings), so 10 are model assumptions; Oracle's rows F03,
    F06 (press reports) and F07 (company statement) are the reference lines."""
    line = margin_chain.model_source_line()
    assert line == ("Model valuechain_lib.models.gpu_economics on data/gpu_assumptions.csv: inputs cited to facts "
                    "table rows F119a (estimate), F115 (estimate), F124 (press report), F60 (filing), F48a (filing); "
                    "10 inputs are model assumptions. Reference lines: F03 (press report), F06 (press report), "
                    "F07 (company statement)")


def test_inputs_table_has_one_row_per_input():
    """One row per model input (12), cited rows naming each fact's kind and confidence."""
    table = margin_chain.assumption_table()
    assert len(table) == len(gpu_economics.INPUTS)
    cited = table[table["basis"] == "cited"]
    assert cited["source"].str.contains("confidence").all()
    assert (table.loc[table["basis"] == "assumption", "source"] == "model assumption").all()
