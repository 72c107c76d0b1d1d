"""The claims ledger: every claim of theses.md has a row, a rule, a rationale and a verdict."""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from valuechain_lib.claims import ledger as claims
from valuechain_lib.claims.verdicts import STATUSES, Verdict, status_from_count
from valuechain_lib.paths import DEFAULT_DATA_DIR, raw_data_dir

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
    row = {"claim_id": "Z1", "essay": "B", "kind": "claim", "rule": "valuechain_lib.claims.ledger:verdict_from_facts",
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
    row = _row(kind="condition", rule="valuechain_lib.claims.ledger:not_testable", params="reason=nothing found")
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


def _digest(root: Path) -> str:
    """sha256 over every file's relative path and bytes under ``root``."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _edit(row_id: str, **changes):
    """A set-up that changes cells of one ledger row in the data copy."""
    def edit(data: Path) -> None:
        path = data / "claims.csv"
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        next(r for r in rows if r["claim_id"] == row_id).update(changes)
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=claims.CLAIM_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return edit


def _chapter_outside_the_toc(data: Path) -> None:
    """A chapter file beside the data copy that its repository's _toc.yml does not list."""
    root = data.parent
    (root / "chapters").mkdir()
    (root / "chapters" / "orphan.md").write_text("# Orphan\n\n## Summary\n", encoding="utf-8")
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\n", encoding="utf-8")
    _edit("A3", chapter="chapters/orphan")(data)


# (id, edit of the data copy's ledger, words the message must hold)
LEDGER_CASES = [
    ("id with a space", _edit("A3", claim_id="A 3"), ["'A 3'", "capital letters then a number", "no spaces"]),
    ("lower-case id", _edit("A3", claim_id="a3"), ["'a3'", "capital letters then a number"]),
    ("id with punctuation", _edit("A3", claim_id="A-3"), ["'A-3'", "capital letters then a number"]),
    ("dead chapter link", _edit("A3", chapter="chapters/hourglas"),
     ["claim A3", "'chapters/hourglas'", "does not exist", "missing page"]),
    ("chapter outside the TOC", _chapter_outside_the_toc, ["claim A3", "'chapters/orphan'", "not in _toc.yml"]),
    ("misspelt section", _edit("A3", section="sumary"),
     ["claim A3", "'sumary'", "not a heading or label of chapters/hourglass", "summary"]),
    ("chapter without a section", _edit("A3", section=""), ["claim A3", "without a section"]),
    ("section without a chapter", _edit("A4", section="summary"), ["claim A4", "'summary'", "without a chapter"]),
    ("text where a number goes", _edit("A3", params="claimed=seventy;tolerance=0.05"),
     ["claim A3: parameter claimed=seventy is not a number (valuechain_lib.analyses.hourglass:verdict_a3 takes "
      "claimed: float)"]),
    ("misspelt parameter", _edit("A3", params="claimd=0.70;tolerance=0.05"),
     ["claim A3: parameter 'claimd' is not a parameter of valuechain_lib.analyses.hourglass:verdict_a3 "
      "(it takes claimed, tolerance)", "did you mean 'claimed'"]),
    ("fraction where a whole number goes", _edit("A8", params="since_year=2021;min_segments=2;max_quarters=2.5"),
     ["claim A8", "max_quarters=2.5", "not a whole number", "valuechain_lib.analyses.hourglass:verdict_a8"]),
    ("list where one text goes", _edit("B1", params="benchmark=SPY|QQQ"),
     ["claim B1", "benchmark=SPY|QQQ", "not a text", "valuechain_lib.analyses.upstream_gains:verdict_b1"]),
    ("a parameter no text can give", _edit("A1", params="facts_table=F1"),
     ["claim A1", "facts_table=F1", "cannot be given in the ledger", "facts_table: pd.DataFrame"]),
    ("required parameter left out", _edit("A10", params=""),
     ["claim A10", "valuechain_lib.analyses.depreciation:verdict_a10", "'capex_intensity_threshold'"]),
    ("parameter without a value", _edit("A3", params="claimed"), ["claim A3", "'claimed'", "not name=value"]),
    ("rule that does not exist", _edit("A3", rule="valuechain_lib.analyses.hourglass:no_such_rule"),
     ["claim A3", "'valuechain_lib.analyses.hourglass:no_such_rule'", "names no function"]),
    ("rule outside the package", _edit("A3", rule="os:system"), ["claim A3", "'os:system'"]),
    ("unknown kind", _edit("A3", kind="hunch"), ["claim A3", "'hunch'"]),
    ("no claim text", _edit("A3", claim=" "), ["claim A3", "no claim text"]),
    ("no rationale", _edit("A3", rationale=""), ["claim A3", "no rationale"]),
]


@pytest.mark.fast
@pytest.mark.parametrize(("case", "edit", "words"), LEDGER_CASES, ids=[c[0] for c in LEDGER_CASES])
def test_ledger_bad_input(data_copy, case, edit, words):
    """Loading the ledger, a chapter's verdict and the scorecard all refuse the bad row with one line naming
    the claim, the file and what is wrong, and change nothing under data/."""
    edit(data_copy)
    before = _digest(data_copy)
    for call in (claims.ledger, lambda: claims.verdict("B2"), claims.scorecard):
        with pytest.raises(claims.ClaimsError) as caught:
            call()
        message = str(caught.value)
        assert not [w for w in words if w not in message], f"{message!r} does not name {words}"
        assert "claims.csv" in message and "\n" not in message
    assert _digest(data_copy) == before, "reading the ledger changed a file under data/"


@pytest.mark.fast
def test_evaluate_checks_params_of_a_row_outside_the_ledger():
    """A row given straight to evaluate (as the chapters' helpers do) is checked the same way."""
    with pytest.raises(claims.ClaimsError, match="claim Z1: parameter 'min_confidnce' is not a parameter of "
                                                 r"valuechain_lib.claims.ledger:verdict_from_facts \(it takes fact_ids, "
                                                 r"min_confidence\)"):
        claims.evaluate(_row(params="fact_ids=F187;min_confidnce=medium"))


@pytest.mark.fast
@pytest.mark.parametrize(("text", "expected"), [
    ("claimed=0.70;tolerance=0.05", {"claimed": 0.7, "tolerance": 0.05}),
    ("since_year=2021;max_quarters=4", {"since_year": 2021, "max_quarters": 4}),
    ("base=2025", {"base": "2025"}),
    ("fact_ids=F10|F11", {"fact_ids": ["F10", "F11"]}),
    ("fact_ids=F187", {"fact_ids": "F187"}),
])
def test_bind_params_casts_by_the_rules_signature(text, expected):
    """Values are cast as the rule's annotations say: a text-typed parameter keeps digits as text (base=2025
    stays '2025'), numbers stay numbers, an unannotated parameter keeps the ledger's guess."""
    def rule(fact_ids=None, claimed: float = 0.7, tolerance: float = 0.05, since_year: int = 2021,
             max_quarters: int = 4, base: str = "2025-12-31"):
        return None

    assert claims.bind_params(rule, text, "Z1") == expected


@pytest.mark.fast
def test_fork_ids_are_reserved():
    """The book's ledger uses no fork id: X1, X2, … are left for forks."""
    ledger = claims.ledger()
    book = ledger[ledger["essay"] != "fork"]
    assert not book["claim_id"].str.startswith(claims.FORK_PREFIX).any()
    assert claims.CLAIM_ID.fullmatch("X1") and not claims.CLAIM_ID.fullmatch("X 1")


# --------------------------------------------------------------------------- the verdict history
def _verdict(status, measured=None, threshold=None, unit="", through=""):
    return Verdict(status=status, summary="s", measured=measured, threshold=threshold, unit=unit,
                   data_through=through)


def _history(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["edition", "claim_id", "verdict"])
    for col, value in (("measured", float("nan")), ("threshold", float("nan")), ("unit", ""), ("data_through", "")):
        frame[col] = value
    return frame[claims.HISTORY_COLUMNS]


@pytest.mark.fast
def test_history_append_writes_one_row_per_claim_and_refuses_an_edition_twice(tmp_path):
    """Two editions appended: 4 rows, numbers kept to 10 significant digits, missing as empty; the same
    edition again is refused and leaves the file as it was."""
    path = tmp_path / "verdict_history.csv"
    first = {"B2": _verdict("supported", 0.7527238779123, 0.75, "share", "2026-03-31 (AMZN)"),
             "A4": _verdict("supported", through="2025-10-05 (facts table)")}
    claims.append_history(claims.history_rows("2026-12-05T09:45:41Z", first), path)
    claims.append_history(claims.history_rows("2027-01-04T06:00:00Z",
                                              {**first, "B2": _verdict("not supported", 0.7, 0.75, "share")}), path)
    lines = path.read_text().splitlines()
    assert lines[0] == "edition,claim_id,verdict,measured,threshold,unit,data_through"
    assert lines[1] == "2026-12-05T09:45:41Z,B2,supported,0.7527238779,0.75,share,2026-03-31 (AMZN)"
    assert lines[2] == "2026-12-05T09:45:41Z,A4,supported,,,,2025-10-05 (facts table)"
    assert len(lines) == 5
    history = claims.verdict_history(path)
    assert history["measured"].isna().tolist() == [False, True, False, True]
    text = path.read_text()
    with pytest.raises(claims.ClaimsError, match="edition 2026-12-05T09:45:41Z is already recorded"):
        claims.append_history(claims.history_rows("2026-12-05T09:45:41Z", first), path)
    assert path.read_text() == text


@pytest.mark.fast
def test_last_change_on_a_synthetic_history():
    """Editions E1..E4 (ids dated 2026-01-0N): A1 supported throughout; B2 not supported, supported from E3;
    B3 mixed, supported in E2, mixed again from E3 (the last change wins); C1 first recorded in E4."""
    history = _history([
        ("2026-01-01T00:00:00Z", "A1", "supported"), ("2026-01-01T00:00:00Z", "B2", "not supported"),
        ("2026-01-01T00:00:00Z", "B3", "mixed"),
        ("2026-01-02T00:00:00Z", "A1", "supported"), ("2026-01-02T00:00:00Z", "B2", "not supported"),
        ("2026-01-02T00:00:00Z", "B3", "supported"),
        ("2026-01-03T00:00:00Z", "A1", "supported"), ("2026-01-03T00:00:00Z", "B2", "supported"),
        ("2026-01-03T00:00:00Z", "B3", "mixed"),
        ("2026-01-04T00:00:00Z", "A1", "supported"), ("2026-01-04T00:00:00Z", "B2", "supported"),
        ("2026-01-04T00:00:00Z", "B3", "mixed"), ("2026-01-04T00:00:00Z", "C1", "not supported"),
    ])
    changes = claims.last_changes(history)
    assert changes.loc["A1", ["since", "previous"]].tolist() == ["2026-01-01T00:00:00Z", ""]
    assert changes.loc["B2", ["since", "previous"]].tolist() == ["2026-01-03T00:00:00Z", "not supported"]
    assert changes.loc["B3", ["since", "previous"]].tolist() == ["2026-01-03T00:00:00Z", "supported"]
    assert changes.loc["C1", ["since", "previous", "first_edition"]].tolist() == [
        "2026-01-04T00:00:00Z", "", "2026-01-04T00:00:00Z"]
    assert claims.last_change_text(changes, "A1") == "unchanged since 2026-01-01"
    assert claims.last_change_text(changes, "B2", "supported") == "changed 2026-01-03; was not supported"
    assert claims.last_change_text(changes, "B2", "mixed") == (
        "differs from the last edition (2026-01-04: supported); recorded at the next")
    assert claims.last_change_text(changes, "D9") == "not yet recorded in an edition"
    assert [c["claim_id"] for c in claims.verdict_changes(history, "2026-01-03T00:00:00Z")] == ["B2", "B3"]
    assert claims.verdict_changes(history, "2026-01-04T00:00:00Z") == [{
        "claim_id": "C1", "was": "", "now": "not supported", "was_edition": "", "measured_was": None,
        "measured_now": None, "threshold": None, "unit": ""}]
    assert claims.verdict_changes(history, "2026-01-02T00:00:00Z")[0]["was_edition"] == "2026-01-01T00:00:00Z"


@pytest.mark.fast
@pytest.mark.parametrize(("edit", "words"), [
    (lambda t: t.replace("supported", "very supported", 1), "'very supported' is not a verdict"),
    (lambda t: t + t.splitlines()[1] + "\n", "recorded twice"),
    (lambda t: t.replace("data_through", "through", 1), "missing column"),
])
def test_a_broken_history_is_refused(tmp_path, edit, words):
    path = tmp_path / "verdict_history.csv"
    claims.append_history(claims.history_rows("E1", {"A1": _verdict("supported", 0.1, 0.2, "share")}), path)
    path.write_text(edit(path.read_text()))
    with pytest.raises(claims.ClaimsError, match=words):
        claims.verdict_history(path)


@pytest.mark.fast
def test_the_committed_history_records_the_live_snapshot():
    """data/verdict_history.csv loads and holds the committed snapshot's edition (its manifest's built_at),
    every claim once; a snapshot rebuilt by hand needs `python -m valuechain_lib edition --seed`."""
    from valuechain_lib.snapshot import store as snapshot

    history = claims.verdict_history()
    edition = snapshot.manifest()["built_at"]
    assert edition in set(history["edition"]), (
        f"the live snapshot's edition {edition} is not in data/verdict_history.csv: run "
        "`python -m valuechain_lib edition --seed`")
    assert history[history["edition"] == edition]["verdict"].isin(STATUSES).all()


def test_every_rule_in_a_two_company_universe_answers_or_names_what_it_lacks(previous_edition, tmp_path, monkeypatch):
    """A fork's smaller universe (NVDA, META): each rule gives a verdict or a ValueChainError that says
    what is missing (a pool with no complete company, no RPO, an absent neocloud), never a pandas error."""
    from tests.data.recorded import recorded as rec
    from valuechain_lib.errors import ValueChainError

    data = tmp_path / "data"
    shutil.copytree(previous_edition, data)
    monkeypatch.setenv("VALUECHAIN_DATA", str(data))
    for name in ("facts.csv", "essays.csv", "gpu_assumptions.csv", "depreciation_assumptions.csv",
                 "financing_nil_lines.csv", "claims.csv"):
        shutil.copyfile(DEFAULT_DATA_DIR / name, data / name)
    facts = pd.read_csv(data / "facts.csv", dtype=str, keep_default_na=False)
    facts.loc[~facts["ticker"].isin(list(rec.CIKS)), "ticker"] = ""  # rows of companies it does not hold
    facts.to_csv(data / "facts.csv", index=False, lineterminator="\n")
    answered = {}
    for _, row in claims.ledger().iterrows():
        try:
            answered[row["claim_id"]] = claims.evaluate(row).status
        except ValueChainError as exc:
            answered[row["claim_id"]] = str(exc)
    assert "no company has every quarter" in answered["A8"]
    assert "remaining performance obligations" in answered["B9"]
    assert len(answered) == len(claims.ledger())
