"""The claims ledger: each claim of the essays, the rule that tests it, and its verdict.

Rules and thresholds live in ``data/claims.csv`` (one row a claim: the rule as ``module:function``,
its parameters, a one-line rationale); this module parses them, calls the rule and collects the
verdicts. Verdicts are recomputed from the snapshot and the facts table whenever the scorecard is
built, so a refresh can change them.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd

from .errors import ValueChainError
from .facts import facts
from .paths import data_dir
from .verdicts import STATUSES, Verdict

CLAIM_COLUMNS = ["claim_id", "essay", "claim", "chapter", "section", "rule", "params", "rationale"]
CONFIDENCE_RANK = {"low": 0, "medium": 1, "high": 2}


class ClaimsError(ValueChainError):
    """A malformed claims ledger: unknown rule, bad parameter, duplicate claim."""


def _parse_value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_params(text) -> dict:
    """Parse ``name=value;name=value`` (values: numbers, or text; ``a|b`` for a list of texts)."""
    if text is None or (isinstance(text, float) and pd.isna(text)) or not str(text).strip():
        return {}
    params = {}
    # A ';' separates parameters only where a new 'name=' follows, so reasons may contain ';'.
    for part in re.split(r";\s*(?=[A-Za-z_]\w*=)", str(text)):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise ClaimsError(f"parameter {part!r} is not name=value")
        value = value.strip()
        params[name.strip()] = value.split("|") if "|" in value else _parse_value(value)
    return params


def ledger(path: Path | None = None) -> pd.DataFrame:
    """Load and check ``data/claims.csv``: one row per claim with its rule and rationale."""
    path = Path(path or data_dir() / "claims.csv")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in CLAIM_COLUMNS if c not in table.columns]
    if missing:
        raise ClaimsError(f"{path}: missing column(s) {missing}")
    dup = table["claim_id"][table["claim_id"].duplicated()].tolist()
    if dup:
        raise ClaimsError(f"{path}: duplicate claim id(s) {dup}")
    for row in table.itertuples():
        if not row.rationale.strip():
            raise ClaimsError(f"{path}: claim {row.claim_id} has no rationale")
        resolve_rule(row.rule, row.claim_id)
        parse_params(row.params)
    return table


def resolve_rule(spec: str, claim_id: str = "?"):
    """Return the function named by ``module:function``; the module must be inside valuechain_lib."""
    module_name, sep, func_name = spec.partition(":")
    if not sep or not module_name.startswith("valuechain_lib."):
        raise ClaimsError(f"claim {claim_id}: rule {spec!r} is not 'valuechain_lib.<module>:<function>'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ClaimsError(f"claim {claim_id}: rule module {module_name!r} cannot be imported: {exc}") from exc
    func = getattr(module, func_name, None)
    if not callable(func):
        raise ClaimsError(f"claim {claim_id}: rule {spec!r} names no function")
    return func


def evaluate(row) -> Verdict:
    """Run one ledger row's rule with its parameters."""
    verdict = resolve_rule(row["rule"], row["claim_id"])(**parse_params(row["params"]))
    if not isinstance(verdict, Verdict):
        raise ClaimsError(f"claim {row['claim_id']}: rule {row['rule']} returned {type(verdict).__name__}, "
                          "not a Verdict")
    # Chapters print "**Verdict on X: status.**" before the summary; the ledger shows the status apart.
    summary = re.sub(r"^\*\*Verdict on [A-Z]+\d+: [^*]+\*\*\s*", "", verdict.summary)
    return replace(verdict, summary=summary)


def scorecard(path: Path | None = None) -> pd.DataFrame:
    """Evaluate every claim; one row per claim with status, summary, numbers, sources and rationale."""
    rows = []
    for _, row in ledger(path).iterrows():
        v = evaluate(row)
        rows.append({**row.to_dict(), "status": v.status, "summary": v.summary, "numbers": v.numbers,
                     "sources": v.sources})
    return pd.DataFrame(rows)


def not_testable(reason: str) -> Verdict:
    """A claim public data cannot test; ``reason`` says why."""
    return Verdict(status="not testable with public data", summary=reason)


def verdict_from_facts(fact_ids, min_confidence: str = "medium") -> Verdict:
    """Supported when every cited fact exists with at least ``min_confidence``; otherwise not testable.

    For claims that state facts (a stake, a warrant) rather than measures: the verdict rests on the
    cited figures, named with their kind (press reports labelled) and confidence.
    """
    ids = [fact_ids] if isinstance(fact_ids, str) else list(fact_ids)
    table = facts()
    rows = table[table["fact_id"].isin(ids)]
    absent = sorted(set(ids) - set(rows["fact_id"]))
    if absent:
        raise ClaimsError(f"facts {absent} are not in the facts table")
    weak = rows[rows["confidence"].astype(str).map(CONFIDENCE_RANK) < CONFIDENCE_RANK[min_confidence]]
    from .facts import label

    described = "; ".join(label(r) for _, r in rows.iterrows())
    if not weak.empty:
        return Verdict(
            status="not testable with public data",
            summary=(f"The only figures found rest on {', '.join(sorted(set(weak['confidence'].astype(str))))} "
                     f"confidence, below the {min_confidence} this claim needs: {described}."),
            numbers={r["fact_id"]: r["value"] for _, r in rows.iterrows()},
            sources=", ".join(ids))
    return Verdict(status="supported", summary=f"The cited figures bear it out: {described}.",
                   numbers={r["fact_id"]: r["value"] for _, r in rows.iterrows()}, sources=", ".join(ids))


def check_statuses(card: pd.DataFrame) -> None:
    """Raise `ClaimsError` if any verdict lacks a status from `STATUSES` or a summary."""
    bad = card[~card["status"].isin(STATUSES) | card["summary"].str.strip().eq("")]
    if not bad.empty:
        raise ClaimsError(f"claims without a proper verdict: {bad['claim_id'].tolist()}")
