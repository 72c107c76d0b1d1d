"""The claims ledger: each claim of the essays, the rule that tests it, and its verdict.

Rules and thresholds live in ``data/claims.csv`` (one row a claim: the rule as ``module:function``,
its parameters, a one-line rationale); this module parses them, calls the rule and collects the
verdicts. Verdicts are recomputed from the snapshot and the facts table whenever the scorecard is
built, so a refresh can change them.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pandas as pd

from .errors import ValueChainError
from .facts import facts
from .paths import data_dir
from .verdicts import STATUSES, Verdict, render
from .vintage import as_of

CLAIM_COLUMNS = ["claim_id", "essay", "kind", "claim", "chapter", "section", "rule", "params", "rationale"]
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
        if row.kind not in ("claim", "condition"):
            raise ClaimsError(f"{path}: claim {row.claim_id}: kind {row.kind!r} is not 'claim' or 'condition'")
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


def essays(path: Path | None = None) -> pd.DataFrame:
    """The essays whose claims the book tests (``data/essays.csv``): id, title, date and how it was set."""
    path = Path(path or data_dir() / "essays.csv")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    for row in table.itertuples():
        try:
            pd.Timestamp(row.date)
        except ValueError as exc:
            raise ClaimsError(f"{path}: essay {row.essay}: date {row.date!r} is not ISO") from exc
    return table.set_index("essay")


def essay_date(essay: str) -> tuple[str, str]:
    """The date a claim's verdict "at the essay's date" uses, and the note saying how it was chosen."""
    table = essays()
    if essay not in table.index:
        return "", ""
    row = table.loc[essay]
    return row["date"], row["date_note"]


def evaluate(row, date=None) -> Verdict:
    """Run one ledger row's rule with its parameters, on the snapshot as it is or as of ``date``."""
    rule = resolve_rule(row["rule"], row["claim_id"])
    params = parse_params(row["params"])
    with as_of(date):
        verdict = rule(**params)
    if not isinstance(verdict, Verdict):
        raise ClaimsError(f"claim {row['claim_id']}: rule {row['rule']} returned {type(verdict).__name__}, "
                          "not a Verdict")
    kind = row.get("kind", "claim") or "claim"
    if verdict.kind != kind:
        raise ClaimsError(f"claim {row['claim_id']}: the ledger calls it a {kind}, its rule gave a "
                          f"{verdict.kind} verdict")
    return verdict


def evaluate_at_essay_date(row) -> Verdict | None:
    """The same rule on the data filed by the essay's date; None when the claim has no essay date.

    Data a rule needs that had not been published by then make the verdict "not testable" with the
    reason, rather than an error.
    """
    date, _ = essay_date(row["essay"])
    if not date:
        return None
    try:
        return evaluate(row, date)
    except ValueChainError as exc:
        return Verdict(status="not testable with public data", kind=row.get("kind", "claim") or "claim",
                       summary=f"On the data published by {date}: {exc}")


def _row(claim_id: str, path: Path | None = None) -> pd.Series:
    table = ledger(path).set_index("claim_id", drop=False)
    if claim_id not in table.index:
        raise ClaimsError(f"claim {claim_id!r} is not in the ledger ({path or 'data/claims.csv'})")
    return table.loc[claim_id]


def verdict(claim_id: str, path: Path | None = None) -> Verdict:
    """Today's verdict on one claim, with the rule and thresholds of its ledger row."""
    return evaluate(_row(claim_id, path))


def render_claim(claim_id: str, path: Path | None = None, compact: bool = False) -> str:
    """A claim's verdict as HTML: today's, and the same rule's at the essay's date (`verdicts.render`)."""
    row = _row(claim_id, path)
    date, note = essay_date(row["essay"])
    return render(claim_id, evaluate(row), at_essay=evaluate_at_essay_date(row), essay_date=date,
                  essay_note=note, compact=compact)


def show(claim_id: str, path: Path | None = None) -> None:
    """Display a claim's verdict in a chapter (the same block the scorecard draws)."""
    from IPython.display import HTML, display

    display(HTML(render_claim(claim_id, path)))


def scorecard(path: Path | None = None) -> pd.DataFrame:
    """Evaluate every claim today and at its essay's date; one row per claim.

    Returns
    -------
    pandas.DataFrame
        The ledger's columns plus ``verdict`` (the `Verdict`), ``at_essay`` (the `Verdict` at the
        essay's date or None), ``essay_date``, ``essay_note``, ``status``, ``summary``, ``numbers``
        and ``sources``.
    """
    rows = []
    for _, row in ledger(path).iterrows():
        v = evaluate(row)
        date, note = essay_date(row["essay"])
        rows.append({**row.to_dict(), "verdict": v, "at_essay": evaluate_at_essay_date(row),
                     "essay_date": date, "essay_note": note, "status": v.status, "summary": v.summary,
                     "numbers": v.numbers, "sources": v.sources})
    return pd.DataFrame(rows)


VERDICT_TABLE_COLUMNS = [
    "claim_id", "essay", "kind", "verdict", "measured", "threshold", "unit", "distance_to_flip",
    "verdict_at_essay_date", "measured_at_essay_date", "essay_date", "data_through", "measure", "flip",
]


def verdict_table(card: pd.DataFrame) -> pd.DataFrame:
    """The scorecard as a flat table for download: one row per claim, ``n/a`` where a column does not apply."""

    def num(x):
        return "n/a" if x is None or (isinstance(x, float) and pd.isna(x)) else f"{x:.6g}"

    rows = []
    for r in card.itertuples():
        v, e = r.verdict, r.at_essay
        rows.append({
            "claim_id": r.claim_id, "essay": r.essay, "kind": v.kind, "verdict": v.status,
            "measured": num(v.measured), "threshold": num(v.threshold), "unit": v.unit or "n/a",
            "distance_to_flip": num(v.distance_to_flip),
            "verdict_at_essay_date": "n/a" if e is None else e.status,
            "measured_at_essay_date": "n/a" if e is None else num(e.measured),
            "essay_date": r.essay_date or "n/a", "data_through": v.data_through or "n/a",
            "measure": v.measure or "n/a", "flip": v.flip or "n/a",
        })
    return pd.DataFrame(rows, columns=VERDICT_TABLE_COLUMNS)


def not_testable(reason: str) -> Verdict:
    """A claim public data cannot test; ``reason`` says why."""
    return Verdict(status="not testable with public data", summary=reason)


def facts_through(rows: pd.DataFrame) -> str:
    """The latest date the cited facts describe (``as_of``), ISO, for a verdict's "data through"."""
    dates = rows["as_of"].dropna()
    return "" if dates.empty else f"{dates.max():%Y-%m-%d} (facts table)"


def verdict_from_facts(fact_ids, min_confidence: str = "medium") -> Verdict:
    """Supported when every cited fact exists with at least ``min_confidence``; otherwise not testable.

    For claims that state facts (a stake, a warrant) rather than measures: the verdict rests on the
    cited figures, named with their kind (press reports labelled) and confidence. A fact not yet
    published at the date the ledger evaluates for (`valuechain_lib.vintage.as_of`) counts as absent.

    Raises
    ------
    ClaimsError
        A fact id that is not in the facts table at all.
    """
    ids = [fact_ids] if isinstance(fact_ids, str) else list(fact_ids)
    table = facts()
    rows = table[table["fact_id"].isin(ids)]
    absent = sorted(set(ids) - set(rows["fact_id"]))
    if absent:
        with as_of(None):
            known = set(facts()["fact_id"])
        unknown = sorted(set(absent) - known)
        if unknown:
            raise ClaimsError(f"facts {unknown} are not in the facts table")
        return Verdict(status="not testable with public data",
                       summary=f"The facts this claim rests on ({', '.join(absent)}) had not been published yet.",
                       sources=", ".join(ids))
    weak = rows[rows["confidence"].astype(str).map(CONFIDENCE_RANK) < CONFIDENCE_RANK[min_confidence]]
    from .facts import label

    described = "; ".join(label(r) for _, r in rows.iterrows())
    numbers = {r["fact_id"]: r["value"] for _, r in rows.iterrows()}
    if not weak.empty:
        return Verdict(
            status="not testable with public data",
            summary=(f"The only figures found rest on {', '.join(sorted(set(weak['confidence'].astype(str))))} "
                     f"confidence, below the {min_confidence} this claim needs: {described}."),
            numbers=numbers, sources=", ".join(ids), data_through=facts_through(rows))
    return Verdict(status="supported", summary=f"The cited figures bear it out: {described}.",
                   numbers=numbers, sources=", ".join(ids), data_through=facts_through(rows))


def check_statuses(card: pd.DataFrame) -> None:
    """Raise `ClaimsError` if any verdict lacks a status from `STATUSES` or a summary."""
    bad = card[~card["status"].isin(STATUSES) | card["summary"].str.strip().eq("")]
    if not bad.empty:
        raise ClaimsError(f"claims without a proper verdict: {bad['claim_id'].tolist()}")
