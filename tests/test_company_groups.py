"""The book's company groups come from ``data/universe.csv`` (`valuechain_lib.snapshot.universe.members`)."""

from __future__ import annotations

import pandas as pd
import pytest

import valuechain_lib as vc
from valuechain_lib.errors import ValueChainError

pytestmark = pytest.mark.fast


def test_hyperscalers_in_universe_order():
    """The hyperscaler sub-layer, in the order of data/universe.csv: MSFT, AMZN, GOOGL, META, ORCL."""
    assert vc.members(sub_layer="hyperscaler") == ["MSFT", "AMZN", "GOOGL", "META", "ORCL"]


def test_layer_and_sub_layer_combine():
    """Midstream neoclouds are CRWV and NBIS; every company when nothing is asked; upstream holds NVDA and TSM."""
    assert vc.members(layer="midstream", sub_layer="neocloud") == ["CRWV", "NBIS"]
    assert vc.members() == vc.universe()["ticker"].tolist()
    assert {"NVDA", "TSM"} <= set(vc.members(layer="upstream"))
    assert vc.members(layer="downstream", sub_layer="hyperscaler") == []


def test_a_new_row_joins_its_group():
    """Adding a company is one row: a hyperscaler row appended to the table is in the group, last."""
    table = vc.universe()
    row = table[table["ticker"] == "ORCL"].assign(ticker="NEWCO")
    assert vc.members(sub_layer="hyperscaler", table=pd.concat([table, row], ignore_index=True))[-1] == "NEWCO"


def test_an_unknown_group_names_the_vocabulary():
    """A sub-layer not in the vocabulary raises, naming the allowed values."""
    with pytest.raises(ValueChainError, match="sub_layer 'cloud' is not one of: GPU, CPU"):
        vc.members(sub_layer="cloud")
    with pytest.raises(ValueChainError, match="layer 'middle'"):
        vc.members(layer="middle")
