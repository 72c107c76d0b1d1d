"""One loader and one rule set for the ``data/*_assumptions.csv`` tables (`valuechain_lib.snapshot.assumptions`)."""

from __future__ import annotations

import pandas as pd
import pytest

from valuechain_lib.analyses import depreciation
from valuechain_lib.models import gpu_economics
from valuechain_lib.paths import DEFAULT_DATA_DIR
from valuechain_lib.snapshot import assumptions
from valuechain_lib.snapshot.facts import facts

pytestmark = pytest.mark.fast


def _table(**row) -> pd.DataFrame:
    """A one-row table: a declared assumption of 0.5 in 0.4–0.6, overridden by ``row``."""
    base = {"name": "share", "value": "0.5", "low": "0.4", "high": "0.6", "unit": "fraction", "kind": "assumption",
            "source": "assumption", "rationale": "why"}
    return pd.DataFrame([{**base, **row}])


def test_both_models_use_the_one_loader_and_error():
    """The GPU model and the depreciation chapter raise the same error class, from the one module."""
    assert gpu_economics.AssumptionsError is depreciation.AssumptionsError is assumptions.AssumptionsError


def test_both_committed_tables_pass_the_one_rule_set():
    """Both files pass `validate_assumptions` against the whole facts table: 12 GPU inputs, 7 depreciation rows."""
    table = facts()
    gpu = pd.read_csv(DEFAULT_DATA_DIR / "gpu_assumptions.csv", dtype=str, keep_default_na=False)
    dep = pd.read_csv(DEFAULT_DATA_DIR / "depreciation_assumptions.csv", dtype=str, keep_default_na=False)
    assumptions.validate_assumptions(gpu, table, names=gpu_economics.INPUTS, columns=gpu_economics.ASSUMPTION_COLUMNS)
    assumptions.validate_assumptions(dep, table)
    assert (len(gpu), len(dep)) == (12, 7)


@pytest.mark.parametrize(("row", "message"), [
    ({"value": "0.7"}, "need low <= value <= high"),
    ({"value": "half"}, "field 'value': not a number: 'half'"),
    ({"kind": "guess"}, "field 'kind'"),
    ({"rationale": ""}, "field 'rationale': empty"),
    ({"source": "F03"}, "an assumption's source is 'assumption'"),
    ({"kind": "cited", "source": "F9999"}, r"fact_id\(s\) \['F9999'\] not in the facts table"),
    ({"kind": "cited", "source": "F60", "value": "6", "low": "5", "high": "6"}, "field 'low': 5.0 is not a figure"),
    ({"name": ""}, "a row without a name"),
])
def test_each_rule_names_the_row_and_field(row, message):
    """Each broken rule raises AssumptionsError naming the row (and field); F60 is Oracle's 6-year life."""
    with pytest.raises(assumptions.AssumptionsError, match=message):
        assumptions.validate_assumptions(_table(**row))


def test_a_cited_row_matches_its_facts_and_extra_columns_are_required():
    """A row cited to F60 (6 years) with value, low and high 6 passes; a table that must have a label fails
    without one, and one that names its rows fails on a missing row."""
    cited = _table(name="life", value="6", low="6", high="6", unit="years", kind="cited", source="F60")
    assumptions.validate_assumptions(cited)
    with pytest.raises(assumptions.AssumptionsError, match=r"lacks column\(s\) \['label'\]"):
        assumptions.validate_assumptions(cited, columns=(*assumptions.COLUMNS, "label"))
    with pytest.raises(assumptions.AssumptionsError, match=r"missing input\(s\) \['pue'\]"):
        assumptions.validate_assumptions(cited, names=("life", "pue"))


def test_the_loader_names_the_file(tmp_path):
    """A missing file and a broken row both name the file; numbers come back as floats in file order."""
    with pytest.raises(assumptions.AssumptionsError, match="assumptions table not found"):
        assumptions.load_assumptions(tmp_path / "none.csv")
    _table(value="0.7").to_csv(tmp_path / "x_assumptions.csv", index=False)
    with pytest.raises(assumptions.AssumptionsError, match="x_assumptions.csv: assumption 'share'"):
        assumptions.load_assumptions(tmp_path / "x_assumptions.csv")
    pd.concat([_table(), _table(name="other")]).to_csv(tmp_path / "y_assumptions.csv", index=False)
    loaded = assumptions.load_assumptions(tmp_path / "y_assumptions.csv")
    assert loaded["name"].tolist() == ["share", "other"] and loaded["value"].tolist() == [0.5, 0.5]
