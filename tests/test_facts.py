"""The curated facts table (`valuechain_lib.facts`): validation, labels, segment series, spot checks."""

from __future__ import annotations

import pandas as pd
import pytest

from valuechain_lib.errors import ValueChainError
from valuechain_lib.facts import COLUMNS, FactsError, facts, label, segment_series, validate_facts
from valuechain_lib.paths import DEFAULT_DATA_DIR

pytestmark = pytest.mark.fast


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    """The committed table as text cells."""
    return pd.read_csv(DEFAULT_DATA_DIR / "facts.csv", dtype=str, keep_default_na=False)



def test_committed_table_validates(raw):
    assert tuple(raw.columns) == COLUMNS
    validate_facts(raw)
    table = facts()
    validate_facts(table)  # the loaded (typed) frame passes too
    assert len(table) == len(raw) and table["fact_id"].is_unique
    assert str(table["value"].dtype) == "float64"
    assert str(table["as_of"].dtype).startswith("datetime64")


def test_facts_error_is_a_value_chain_error():
    assert issubclass(FactsError, ValueChainError)


def _seeded(raw: pd.DataFrame, **changes) -> pd.DataFrame:
    """The table plus one bad row (a copy of F01 under the id BAD-1 with ``changes``)."""
    row = raw[raw["fact_id"] == "F01"].iloc[0].copy()
    row["fact_id"] = "BAD-1"
    for k, v in changes.items():
        row[k] = v
    return pd.concat([raw, row.to_frame().T], ignore_index=True)


@pytest.mark.parametrize(("changes", "fact_id", "field"), [
    ({"fact_id": "F02"}, "F02", "fact_id"),
    ({"unit": "USD thousand"}, "BAD-1", "unit"),
    ({"kind": "rumour"}, "BAD-1", "kind"),
    ({"confidence": "very high"}, "BAD-1", "confidence"),
    ({"qualifier": "roughly"}, "BAD-1", "qualifier"),
    ({"value": "", "value_low": "", "value_high": ""}, "BAD-1", "value"),
    ({"value": "", "value_low": "10", "value_high": ""}, "BAD-1", "value"),
    ({"value": "", "value_low": "20", "value_high": "10"}, "BAD-1", "value_low"),
    ({"value": "nine hundred"}, "BAD-1", "value"),
    ({"as_of": "Oct 2025"}, "BAD-1", "as_of"),
    ({"source_date": "2025-02-30"}, "BAD-1", "source_date"),
    ({"period_end": "2025-08"}, "BAD-1", "period_end"),
    ({"source_title": ""}, "BAD-1", "source_title"),
    ({"publisher": ""}, "BAD-1", "publisher"),
    ({"url": "www.example.com/page"}, "BAD-1", "url"),
    ({"derived_from": "F01;F9999"}, "BAD-1", "derived_from"),
    ({"claim_id": "C3"}, "BAD-1", "claim_id"),
])
def test_each_rule_fires_naming_fact_and_field(raw, changes, fact_id, field):
    with pytest.raises(FactsError) as err:
        validate_facts(_seeded(raw, **changes))
    assert f"fact {fact_id!r}" in str(err.value)
    assert f"field {field!r}" in str(err.value)


def test_validation_runs_on_every_load(raw, tmp_path, monkeypatch):
    _seeded(raw, unit="furlongs").to_csv(tmp_path / "facts.csv", index=False)
    monkeypatch.setenv("VALUECHAIN_DATA", str(tmp_path))
    with pytest.raises(FactsError, match="BAD-1"):
        facts()


def test_press_reports_say_so_in_their_label():
    press = facts()
    press = press[press["kind"] == "press report"]
    assert len(press) > 0
    for _, row in press.iterrows():
        assert "press report" in label(row)


def test_label_example():
    row = facts(segment="AWS").set_index("fact_id").loc["SEG-AWS-2025Q1-REV"]
    row["fact_id"] = "SEG-AWS-2025Q1-REV"
    assert label(row) == "AWS net sales, 2025-Q1: about $29,270M (estimate, medium confidence; opencapital.sh)"


def test_filters():
    assert set(facts(claim_id="B9")["claim_id"]) == {"B9"}
    assert set(facts(min_confidence="medium")["confidence"]) <= {"high", "medium"}
    assert "OpenAI → Oracle" in set(facts(entity="oracle")["entity"])
    with pytest.raises(FactsError):
        facts(min_confidence="certain")


@pytest.mark.parametrize("metric", ["net sales", "operating income"])
def test_aws_series_sorted_and_unique(metric):
    series = segment_series("AWS", metric)
    assert series["period_end"].is_monotonic_increasing
    assert series["period_end"].is_unique and series["period"].is_unique
    assert (series["unit"] == "USD million").all()


def test_segment_series_prefers_the_release_over_the_data_site():
    """2025-Q1 AWS operating income: the release (high, ≈11,500) wins over opencapital.sh (11,550)."""
    row = segment_series("AWS", "operating income").set_index("period").loc["2025-Q1"]
    assert row["fact_id"] == "SEG-AWS-2025Q1-OI" and row["value"] == 11500


def test_segment_series_unknown_metric():
    with pytest.raises(FactsError, match="metrics"):
        segment_series("AWS", "gross margin")


@pytest.mark.parametrize(("fact_id", "value", "unit", "qualifier"), [
    # shared/data/segments/CLOUD_SEGMENTS.md line 44: 2023-Q1 AWS net sales "21,354" (SEC R53)
    ("SEG-AWS-2023Q1-REV", 21354, "USD million", ""),
    # shared/data/segments/CLOUD_SEGMENTS.md line 192: FY25 Q3 IC revenue, recast, "26,751"
    ("SEG-MSIC-FY2025Q3-REV", 26751, "USD million", ""),
    # shared/data/segments/CHIP_SEGMENTS.md line 53: FY26 Q3 Nvidia DC revenue "51,215"
    ("SEG-NVDC-FY2026Q3", 51215, "USD million", ""),
    # shared/facts_sources.md line 95: F42 Oracle RPO "455" USD billion at 2025-08-31
    ("F42", 455, "USD billion", ""),
    # shared/facts_sources.md line 268: F133 TWD/USD annual average 2021 "27.9366"
    ("F133", 27.9366, "TWD per USD", ""),
    # shared/data/neoclouds/NEOCLOUDS.md line 68: CoreWeave 2025-Q2 revenue "1,212.788" USD m
    ("CW-2025Q2-REV", 1212.788, "USD million", ""),
])
def test_spot_checks_against_the_source_notes(fact_id, value, unit, qualifier):
    row = facts().set_index("fact_id").loc[fact_id]
    assert row["value"] == pytest.approx(value)
    assert row["unit"] == unit and row["qualifier"] == qualifier


def test_ranges_are_kept_as_ranges():
    """shared/facts_sources.md line 183: F80 Alphabet 2026 capex plan "175–185" USD billion."""
    row = facts().set_index("fact_id").loc["F80"]
    assert pd.isna(row["value"]) and (row["value_low"], row["value_high"]) == (175, 185)
