"""The claims ledger: every claim of theses.md has a row, a rule, a rationale and a verdict."""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest

from valuechain_lib import claims
from valuechain_lib.paths import DEFAULT_DATA_DIR, raw_data_dir
from valuechain_lib.verdicts import STATUSES, Verdict, status_from_count

THESIS_IDS = [f"A{i}" for i in range(1, 11)] + [f"B{i}" for i in range(1, 12)]


@pytest.mark.fast
def test_every_thesis_claim_has_a_ledger_row_with_a_rule_and_rationale():
    ledger = claims.ledger()
    assert set(THESIS_IDS) <= set(ledger["claim_id"])
    assert (ledger["rationale"].str.strip() != "").all()


@pytest.mark.rawdata
def test_ledger_ids_match_theses_file():
    """The claim ids in ../shared/theses.md are exactly the essays' ids in the ledger."""
    text = (raw_data_dir().parent / "theses.md").read_text()
    ids = set(re.findall(r"^\| ([AB]\d+) \|", text, flags=re.M))
    ledger = claims.ledger()
    assert ids == set(ledger.loc[ledger["essay"].isin(["A", "B"]), "claim_id"])


@pytest.mark.slow
def test_scorecard_gives_every_claim_a_verdict():
    card = claims.scorecard()
    claims.check_statuses(card)
    assert set(card["status"]) <= set(STATUSES)
    untestable = card[card["status"] == "not testable with public data"]
    assert (untestable["summary"].str.len() > 20).all(), "an untestable claim must say why"


@pytest.mark.fast
@pytest.mark.parametrize(("text", "expected"), [
    ("threshold=0.75", {"threshold": 0.75}),
    ("claimed=0.70;tolerance=0.05", {"claimed": 0.7, "tolerance": 0.05}),
    ("fact_ids=F10|F11;min_confidence=high", {"fact_ids": ["F10", "F11"], "min_confidence": "high"}),
    ("reason=Not found; nearby rows differ;x=1", {"reason": "Not found; nearby rows differ", "x": 1}),
    ("", {}),
])
def test_parse_params(text, expected):
    assert claims.parse_params(text) == expected


@pytest.mark.fast
def test_bad_ledger_rows_are_refused(tmp_path):
    path = tmp_path / "claims.csv"
    base = pd.read_csv(DEFAULT_DATA_DIR / "claims.csv", dtype=str, keep_default_na=False)
    bad_rule = base.copy()
    bad_rule.loc[0, "rule"] = "os:system"
    bad_rule.to_csv(path, index=False)
    with pytest.raises(claims.ClaimsError, match="A1: rule 'os:system'"):
        claims.ledger(path)
    pd.concat([base, base.iloc[[0]]]).to_csv(path, index=False)
    with pytest.raises(claims.ClaimsError, match="duplicate claim id"):
        claims.ledger(path)


@pytest.mark.fast
def test_verdict_from_facts_flips_with_confidence(tmp_path, monkeypatch):
    """F10/F11 (AMD's warrant, a filing read at high confidence) support A4; demote one row to low
    confidence in a copy of the facts table and the same rule says the claim is not testable."""
    assert claims.verdict_from_facts(["F10", "F11"], min_confidence="high").status == "supported"
    data = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, data)
    facts = pd.read_csv(data / "facts.csv", dtype=str, keep_default_na=False)
    facts.loc[facts["fact_id"] == "F11", "confidence"] = "low"
    facts.to_csv(data / "facts.csv", index=False)
    monkeypatch.setenv("VALUECHAIN_DATA", str(data))
    from valuechain_lib import facts as facts_module
    if hasattr(facts_module, "_read") and hasattr(facts_module._read, "cache_clear"):
        facts_module._read.cache_clear()
    verdict = claims.verdict_from_facts(["F10", "F11"], min_confidence="high")
    assert verdict.status == "not testable with public data"
    assert "low" in verdict.summary


@pytest.mark.fast
def test_verdict_type_and_status_helper():
    with pytest.raises(ValueError, match="not one of"):
        Verdict(status="probably", summary="x")
    assert [status_from_count(p, 3) for p in (0, 1, 3)] == ["not supported", "mixed", "supported"]


@pytest.mark.fast
def test_ledger_refuses_an_unknown_kind(tmp_path):
    path = tmp_path / "claims.csv"
    base = pd.read_csv(DEFAULT_DATA_DIR / "claims.csv", dtype=str, keep_default_na=False)
    base.loc[0, "kind"] = "hunch"
    base.to_csv(path, index=False)
    with pytest.raises(claims.ClaimsError, match="A1: kind 'hunch'"):
        claims.ledger(path)


@pytest.mark.fast
def test_essay_dates():
    """Essay B is dated by the data it cites (2026-07-02); Essay A only 'late 2025' → 2025-11-30, said so."""
    assert claims.essay_date("B")[0] == "2026-07-02"
    date, note = claims.essay_date("A")
    assert date == "2025-11-30" and "late 2025" in note
    assert claims.essay_date("book") == ("", "")


def _row(**overrides) -> dict:
    row = {"claim_id": "Z1", "essay": "B", "kind": "claim", "rule": "valuechain_lib.claims:verdict_from_facts",
           "params": "fact_ids=F187;min_confidence=medium"}
    return row | overrides


@pytest.mark.fast
def test_a_fact_published_after_the_essay_date_is_not_testable_then():
    """F187 (Amazon's Anthropic gain, Q2 2026, published 2026-07-30) exists today but not on 2026-07-02."""
    row = _row()
    assert claims.evaluate(row).status == "supported"
    assert claims.evaluate(row, "2026-07-02").status == "not testable with public data"
    assert "had not been published yet" in claims.evaluate(row, "2026-07-02").summary


@pytest.mark.fast
def test_ledger_kind_must_match_the_rules_verdict():
    """A row calling a claim a condition whose rule returns a plain claim verdict is refused."""
    row = _row(kind="condition", rule="valuechain_lib.claims:not_testable", params="reason=nothing found")
    with pytest.raises(claims.ClaimsError, match="Z1: the ledger calls it a condition"):
        claims.evaluate(row)


@pytest.mark.slow
def test_verdict_table_columns_and_n_a():
    """The download has at least the columns the issue names, with n/a where a column does not apply."""
    table = claims.verdict_table(claims.scorecard())
    for col in ("claim_id", "verdict", "measured", "threshold", "distance_to_flip", "verdict_at_essay_date",
                "data_through"):
        assert col in table.columns
    no_threshold = table[table["threshold"] == "n/a"]
    assert (no_threshold["distance_to_flip"] == "n/a").all()
    assert not table.isna().any().any()
