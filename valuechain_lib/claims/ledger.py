"""The claims ledger: each claim of the essays, the rule that tests it, and its verdict.

Rules and thresholds live in ``data/claims.csv`` (one row a claim: the rule as ``module:function``,
its parameters, a one-line rationale); this module parses them, calls the rule and collects the
verdicts. Verdicts are recomputed from the snapshot and the facts table whenever the scorecard is
built, so a refresh can change them.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
from functools import lru_cache
from pathlib import Path

import pandas as pd

from valuechain_lib.claims.verdicts import STATUSES, Verdict, render
from valuechain_lib.errors import ValueChainError
from valuechain_lib.paths import PACKAGE_DIR, data_dir
from valuechain_lib.snapshot.facts import facts
from valuechain_lib.snapshot.memo import memoized
from valuechain_lib.snapshot.vintage import as_of

CLAIM_COLUMNS = ["claim_id", "essay", "kind", "claim", "chapter", "section", "rule", "params", "rationale"]
CONFIDENCE_RANK = {"low": 0, "medium": 1, "high": 2}
#: A claim id: capital letters then a number (A3, B11, X1).
CLAIM_ID = re.compile(r"[A-Z]+[0-9]+")
#: Ids starting with this letter are reserved for forks' claims (X1, X2, …); every other letter is the
#: book's (the essays' A and B, the book's own C), so a fork's claims never collide with the book's.
FORK_PREFIX = "X"
#: Where forks keep their rules (``valuechain_lib/forks/<chapter>.py``, written by ``new-chapter``).
FORKS_PACKAGE = "valuechain_lib.forks"
#: The ``essay`` of the book's own claims (C1, C2, …): claims the book makes itself, beyond the essays'.
#: ``data/essays.csv`` gives it a title and no date, so they have no verdict "at the essay's date".
BOOK_ESSAY = "C"
REPO_ROOT = PACKAGE_DIR.parent


class ClaimsError(ValueChainError):
    """A malformed claims ledger: unknown rule, bad parameter, duplicate claim."""


def _parse_value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _split_params(text) -> dict:
    """``name=value;name=value`` as texts (a list of texts where the value is ``a|b``), nothing cast."""
    if text is None or (isinstance(text, float) and pd.isna(text)) or not str(text).strip():
        return {}
    params = {}
    # A ';' separates parameters only where a new 'name=' follows, so reasons may contain ';'.
    for part in re.split(r";\s*(?=[A-Za-z_]\w*=)", str(text)):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise ClaimsError(f"parameter {part!r} is not name=value")
        value = value.strip()
        params[name.strip()] = value.split("|") if "|" in value else value
    return params


def parse_params(text) -> dict:
    """Parse ``name=value;name=value`` (values: numbers, or text; ``a|b`` for a list of texts)."""
    return {name: value if isinstance(value, list) else _parse_value(value)
            for name, value in _split_params(text).items()}


def _accepts(parameter: inspect.Parameter) -> set[str] | None:
    """What ledger text a rule's parameter takes, from its annotation or else a numeric default.

    Returns a set of ``"number"``, ``"whole number"``, ``"text"``, ``"list"``, ``"true or false"`` and
    ``"other:<type>"`` (a type no ledger text gives); None when anything goes (no annotation).
    """
    annotation = parameter.annotation
    if annotation is inspect.Parameter.empty:
        default = parameter.default
        if isinstance(default, bool):
            return {"true or false"}
        if isinstance(default, int | float):
            return {"number"} if isinstance(default, float) else {"whole number", "number"}
        return None
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    accepted = set()
    for token in (t.strip() for t in text.replace("typing.", "").replace("Optional[", "").split("|")):
        token = token if "[" in token else token.removesuffix("]")
        base = token.split("[")[0]
        if token == "None":
            continue
        if base in ("Any", "object"):
            return None
        kinds = {"float": {"number"}, "int": {"whole number"}, "str": {"text"}, "bool": {"true or false"}}
        if base in kinds:
            accepted |= kinds[base]
        elif base in ("list", "tuple", "Sequence", "Iterable", "Collection"):
            accepted |= {"list"}
        else:
            accepted.add(f"other:{token}")
    return accepted or None


def _cast(raw, accepted: set[str] | None):
    """The value a rule receives for ledger text ``raw``; None when ``accepted`` rules it out."""
    if accepted is None:
        return raw if isinstance(raw, list) else _parse_value(raw)
    if isinstance(raw, list):
        return raw if "list" in accepted else None
    guess = _parse_value(raw)
    if "whole number" in accepted and isinstance(guess, int):
        return guess
    if "number" in accepted and isinstance(guess, int | float):
        return guess
    if "true or false" in accepted and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    if "list" in accepted:
        return [raw]
    if "text" in accepted:
        return raw
    return None


def _describe(accepted: set[str]) -> str:
    plain = {"number": "a number", "whole number": "a whole number", "text": "a text", "list": "a list (a|b)",
             "true or false": "true or false"}
    return " or ".join(plain[k] for k in sorted(accepted) if k in plain)


def bind_params(rule, text, claim_id: str = "?", spec: str = "") -> dict:
    """The keyword arguments a ledger row's ``params`` give its rule, checked against the rule's signature.

    Parameters
    ----------
    rule : callable
        The rule (`resolve_rule`).
    text : str
        The row's ``params`` (``name=value;name=value``).
    claim_id, spec : str
        The claim and its ``rule`` text, named in the errors.

    Returns
    -------
    dict
        Name → value, cast as the rule's annotations (or numeric defaults) say.

    Raises
    ------
    ClaimsError
        A parameter the rule does not take, a value of the wrong type, or a parameter without a
        default that ``params`` leaves out; the message names the claim, the rule and the parameter.
    """
    spec = spec or f"{rule.__module__}:{rule.__name__}"
    try:
        raw = _split_params(text)
    except ClaimsError as exc:
        raise ClaimsError(f"claim {claim_id}: {exc}") from exc
    signature = inspect.signature(rule)
    named = {n: p for n, p in signature.parameters.items()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    bound = {}
    for name, value in raw.items():
        if name not in named:
            if takes_any:
                bound[name] = value if isinstance(value, list) else _parse_value(value)
                continue
            near = difflib.get_close_matches(name, list(named), n=1)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            raise ClaimsError(f"claim {claim_id}: parameter '{name}' is not a parameter of {spec} "
                              f"(it takes {', '.join(named) or 'none'}){hint}")
        accepted = _accepts(named[name])
        cast = _cast(value, accepted)
        if cast is None:
            shown = "|".join(value) if isinstance(value, list) else value
            wanted = _describe(accepted)
            problem = f"is not {wanted}" if wanted else "cannot be given in the ledger"
            annotation = named[name].annotation
            takes = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
            raise ClaimsError(f"claim {claim_id}: parameter {name}={shown} {problem} "
                              f"({spec} takes {name}{': ' + takes if takes else ''})")
        bound[name] = cast
    missing = [n for n, p in named.items() if p.default is inspect.Parameter.empty and n not in bound]
    if missing:
        raise ClaimsError(f"claim {claim_id}: {spec} needs parameter(s) {', '.join(repr(m) for m in missing)}, "
                          "which the row's params do not give")
    return bound


def _anchors(page: Path) -> list[str]:
    """The ids a link ``page.html#id`` can reach: its headings' ids (as Sphinx makes them) and labels."""
    info = page.stat()
    return list(_anchors_of(str(page), info.st_mtime_ns, info.st_size))


@lru_cache(maxsize=64)
def _anchors_of(page: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    # Every load of the ledger checks every row's section against its page; the stamp re-reads an edited page.
    from docutils.nodes import make_id

    anchors, fence = [], None
    for line in Path(page).read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        marker = re.match(r"(`{3,}|~{3,}|:{3,})", stripped)
        if marker:
            if fence is None:
                fence = marker.group(1)
            elif stripped.startswith(fence) and not stripped[len(fence):].strip():
                fence = None
            continue
        if fence is not None:
            continue
        heading = re.match(r"#{1,6}\s+(.+?)\s*#*\s*$", line)
        label = re.match(r"\(([^()\s]+)\)=\s*$", line)
        if heading:
            anchors.append(make_id(heading.group(1)))
        elif label:
            anchors.append(label.group(1))
    return tuple(anchors)


def _repo_roots(path: Path) -> list[Path]:
    """Where a ledger's chapters live: the repository holding the ledger, then this checkout."""
    roots = [path.resolve().parent.parent, REPO_ROOT]
    return list(dict.fromkeys(roots))


def _check_place(row, roots: list[Path]) -> None:
    """A row's chapter exists, is in the table of contents, and has the section the scorecard links."""
    claim_id, chapter, section = row.claim_id, row.chapter.strip(), row.section.strip()
    if not chapter:
        if section:
            raise ClaimsError(f"claim {claim_id}: section {section!r} is given without a chapter")
        return
    pages = [root / f"{chapter}{ext}" for root in roots for ext in (".md", ".ipynb")]
    page = next((p for p in pages if p.is_file()), None)
    if page is None:
        raise ClaimsError(f"claim {claim_id}: chapter {chapter!r} does not exist (no {chapter}.md); "
                          "the scorecard would link to a missing page")
    root = page.parents[len(Path(chapter).parts) - 1]
    toc = root / "_toc.yml"
    if toc.is_file() and not re.search(rf"^\s*-\s*file:\s*{re.escape(chapter)}(\.md)?\s*$",
                                       toc.read_text(encoding="utf-8"), flags=re.M):
        raise ClaimsError(f"claim {claim_id}: chapter {chapter!r} is not in _toc.yml, so the book does not "
                          "build it and the scorecard's link would be dead")
    if not section:
        raise ClaimsError(f"claim {claim_id}: chapter {chapter!r} is given without a section to link to")
    if page.suffix == ".md":
        anchors = _anchors(page)
        if section not in anchors:
            raise ClaimsError(f"claim {claim_id}: section {section!r} is not a heading or label of {chapter} "
                              f"(it has: {', '.join(anchors)})")


def check_row(row, path: Path | None = None):
    """Check one ledger row (a named tuple of `CLAIM_COLUMNS`); return its rule's keyword arguments.

    Raises
    ------
    ClaimsError
        Naming the claim and what is wrong: its id, kind, rationale, chapter or section, rule or params.
    """
    path = Path(path or data_dir() / "claims.csv")
    if not CLAIM_ID.fullmatch(row.claim_id):
        raise ClaimsError(f"claim {row.claim_id!r}: an id is capital letters then a number, like A3 or "
                          f"{FORK_PREFIX}1, with no spaces")
    if row.kind not in ("claim", "condition"):
        raise ClaimsError(f"claim {row.claim_id}: kind {row.kind!r} is not 'claim' or 'condition'")
    if not row.claim.strip():
        raise ClaimsError(f"claim {row.claim_id} has no claim text")
    if not row.rationale.strip():
        raise ClaimsError(f"claim {row.claim_id} has no rationale")
    _check_place(row, _repo_roots(path))
    rule = resolve_rule(row.rule, row.claim_id)
    return bind_params(rule, row.params, row.claim_id, row.rule)


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
        try:
            check_row(row, path)
        except ClaimsError as exc:
            raise ClaimsError(f"{path}: {exc}") from exc
    return table


def resolve_rule(spec: str, claim_id: str = "?"):
    """Return the function named by ``module:function``; the module must be inside valuechain_lib.

    A fork's rules live in `FORKS_PACKAGE` (``valuechain_lib/forks/<chapter>.py``), so the build's
    check for changed library code and the linter cover them too.
    """
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


def is_books_own(essay: str) -> bool:
    """Whether a ledger row's ``essay`` marks one of the book's own claims rather than an essay's."""
    return essay == BOOK_ESSAY


def section_title(essay: str, table: pd.DataFrame | None = None) -> str:
    """The scorecard's heading for an essay's claims: ``Essay B: <title>``, or the book's own claims' title.

    Parameters
    ----------
    essay : str
        A ledger row's ``essay``.
    table : pandas.DataFrame, optional
        `essays` (default: loaded).
    """
    table = essays() if table is None else table
    title = table.loc[essay, "title"] if essay in table.index else essay
    return title if is_books_own(essay) else f"Essay {essay}: {title}"


def essay_date(essay: str) -> tuple[str, str]:
    """The date a claim's verdict "at the essay's date" uses, and the note saying how it was chosen."""
    table = essays()
    if essay not in table.index:
        return "", ""
    row = table.loc[essay]
    return row["date"], row["date_note"]


@memoized
def _verdict_of(rule, params: dict) -> Verdict:
    """A rule's verdict on the data as they are (a chapter shows its claims' verdicts, the scorecard all)."""
    return rule(**params)


def evaluate(row, date=None) -> Verdict:
    """Run one ledger row's rule with its parameters, on the snapshot as it is or as of ``date``."""
    rule = resolve_rule(row["rule"], row["claim_id"])
    params = bind_params(rule, row["params"], row["claim_id"], row["rule"])
    with as_of(date):
        verdict = _verdict_of(rule, params)
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
    published at the date the ledger evaluates for (`valuechain_lib.snapshot.vintage.as_of`) counts as absent.

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
    from valuechain_lib.snapshot.facts import label

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


# --- a memory of verdicts: every edition's verdict on every claim (data/verdict_history.csv) ---------------

#: The committed history of verdicts, one row per edition and claim, appended by ``valuechain edition``.
HISTORY_FILE = "verdict_history.csv"
HISTORY_COLUMNS = ["edition", "claim_id", "verdict", "measured", "threshold", "unit", "data_through"]


def history_path() -> Path:
    """Where the verdict history lives: ``verdict_history.csv`` in the data folder."""
    return data_dir() / HISTORY_FILE


def verdict_history(path: Path | None = None) -> pd.DataFrame:
    """Load the verdict history: one row per edition and claim, in the order the editions were recorded.

    An edition's id is the ``built_at`` of its snapshot's manifest (``2026-12-05T09:45:41Z``): it names
    exactly the data the verdicts were computed from, and sorts in time.

    Parameters
    ----------
    path : Path, optional
        Default `history_path`.

    Returns
    -------
    pandas.DataFrame
        `HISTORY_COLUMNS` (``measured`` and ``threshold`` as floats, NaN where a claim has none; other
        columns text, "" where empty); no rows when the file does not exist yet.

    Raises
    ------
    ClaimsError
        Missing columns, an edition recorded twice for a claim, or a verdict outside `STATUSES`.
    """
    path = Path(path or history_path())
    if not path.is_file():
        return pd.DataFrame({c: pd.Series(dtype=float if c in ("measured", "threshold") else object)
                             for c in HISTORY_COLUMNS})
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in HISTORY_COLUMNS if c not in table.columns]
    if missing:
        raise ClaimsError(f"{path}: missing column(s) {missing}")
    dup = table[table.duplicated(["edition", "claim_id"])]
    if not dup.empty:
        raise ClaimsError(f"{path}: claim {dup['claim_id'].iloc[0]} is recorded twice for edition "
                          f"{dup['edition'].iloc[0]}")
    bad = table[~table["verdict"].isin(STATUSES)]
    if not bad.empty:
        raise ClaimsError(f"{path}: edition {bad['edition'].iloc[0]}, claim {bad['claim_id'].iloc[0]}: "
                          f"{bad['verdict'].iloc[0]!r} is not a verdict")
    for col in ("measured", "threshold"):
        table[col] = pd.to_numeric(table[col].replace("", None), errors="raise").astype(float)
    return table[HISTORY_COLUMNS]


def _number_text(value) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else f"{float(value):.10g}"


def history_rows(edition: str, verdicts: dict[str, Verdict]) -> pd.DataFrame:
    """One edition's rows of the history: each claim's verdict, measured figure, threshold and data date.

    Parameters
    ----------
    edition : str
        The edition's id (its snapshot's ``built_at``).
    verdicts : dict
        Claim id → `Verdict`, in ledger order.

    Returns
    -------
    pandas.DataFrame
        `HISTORY_COLUMNS`, all text ("" where a claim has no measured figure or threshold).
    """
    if not edition:
        raise ClaimsError("an edition needs an id (its snapshot's built_at)")
    rows = [{"edition": edition, "claim_id": claim_id, "verdict": v.status, "measured": _number_text(v.measured),
             "threshold": _number_text(v.threshold), "unit": v.unit or "", "data_through": v.data_through or ""}
            for claim_id, v in verdicts.items()]
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)


def append_history(rows: pd.DataFrame, path: Path | None = None) -> Path:
    """Append one edition's rows (`history_rows`) to the history file, written whole then renamed into place.

    Raises
    ------
    ClaimsError
        The edition is already in the history (an edition is recorded once).
    """
    import os

    path = Path(path or history_path())
    old = verdict_history(path)
    editions = set(rows["edition"])
    again = editions & set(old["edition"])
    if again:
        raise ClaimsError(f"{path}: edition {sorted(again)[0]} is already recorded")
    text = rows[HISTORY_COLUMNS].to_csv(index=False, header=not path.is_file(), lineterminator="\n")
    previous = path.read_text(encoding="utf-8") if path.is_file() else ""
    if previous and not previous.endswith("\n"):
        previous += "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(previous + text)
    os.replace(tmp, path)
    return path


def current_verdicts(path: Path | None = None) -> dict[str, Verdict]:
    """Today's verdict on every claim of the ledger (no essay-date verdicts), in ledger order."""
    return {row["claim_id"]: evaluate(row) for _, row in ledger(path).iterrows()}


def last_changes(history: pd.DataFrame) -> pd.DataFrame:
    """For each claim, its latest recorded verdict and the edition where that verdict began.

    Parameters
    ----------
    history : pandas.DataFrame
        `verdict_history` (editions in the order recorded).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``claim_id``: ``verdict`` (latest), ``edition`` (latest recorded), ``since`` (the
        edition where the latest verdict began), ``previous`` (the verdict before that, "" if it never
        changed), ``first_edition`` (the claim's first recorded edition).
    """
    order = {e: i for i, e in enumerate(dict.fromkeys(history["edition"]))}
    rows = {}
    for claim_id, group in history.assign(_n=history["edition"].map(order)).sort_values(
            "_n", kind="stable").groupby("claim_id", sort=False):
        statuses, editions = group["verdict"].tolist(), group["edition"].tolist()
        start = len(statuses) - 1
        while start > 0 and statuses[start - 1] == statuses[-1]:
            start -= 1
        rows[claim_id] = {"verdict": statuses[-1], "edition": editions[-1], "since": editions[start],
                          "previous": statuses[start - 1] if start > 0 else "", "first_edition": editions[0]}
    return pd.DataFrame.from_dict(rows, orient="index",
                                  columns=["verdict", "edition", "since", "previous", "first_edition"]).rename_axis(
        "claim_id")


def edition_date(edition: str) -> str:
    """An edition as the book writes it: the day of its id (``2026-12-05T09:45:41Z`` → ``2026-12-05``)."""
    return str(edition)[:10]


def last_change_text(changes: pd.DataFrame, claim_id: str, status: str | None = None) -> str:
    """When a claim's verdict last changed and what it was before, for the scorecard.

    Parameters
    ----------
    changes : pandas.DataFrame
        `last_changes` of the history.
    claim_id : str
    status : str, optional
        The verdict the page shows now; when it differs from the last recorded one (rules or data
        changed since the last edition), the text says so.

    Returns
    -------
    str
        ``"unchanged since 2026-12-05"`` (never changed in the history), ``"changed 2027-01-04; was not
        supported"``, ``"differs from the last edition (2026-12-05: supported); recorded at the next"`` or
        ``"not yet recorded in an edition"``.
    """
    if claim_id not in changes.index:
        return "not yet recorded in an edition"
    row = changes.loc[claim_id]
    if status is not None and status != row["verdict"]:
        return (f"differs from the last edition ({edition_date(row['edition'])}: {row['verdict']}); "
                "recorded at the next")
    if not row["previous"]:
        return f"unchanged since {edition_date(row['since'])}"
    return f"changed {edition_date(row['since'])}; was {row['previous']}"


def verdict_changes(history: pd.DataFrame, edition: str) -> list[dict]:
    """The claims whose verdict in ``edition`` differs from their verdict in the edition before it.

    Parameters
    ----------
    history : pandas.DataFrame
        `verdict_history`, ``edition`` included.
    edition : str

    Returns
    -------
    list of dict
        ``claim_id, was, now, was_edition, measured_was, measured_now, threshold, unit``, in the order
        of the edition's rows; a claim first recorded in ``edition`` has ``was`` "" (new claim).
    """
    order = list(dict.fromkeys(history["edition"]))
    if edition not in order:
        raise ClaimsError(f"edition {edition} is not in the verdict history")
    earlier = history[history["edition"].isin(order[:order.index(edition)])]
    last = earlier.drop_duplicates("claim_id", keep="last").set_index("claim_id")
    out = []
    for row in history[history["edition"] == edition].itertuples(index=False):
        before = last.loc[row.claim_id] if row.claim_id in last.index else None
        if before is not None and before["verdict"] == row.verdict:
            continue
        out.append({
            "claim_id": row.claim_id, "was": "" if before is None else before["verdict"], "now": row.verdict,
            "was_edition": "" if before is None else before["edition"],
            "measured_was": None if before is None or pd.isna(before["measured"]) else float(before["measured"]),
            "measured_now": None if pd.isna(row.measured) else float(row.measured),
            "threshold": None if pd.isna(row.threshold) else float(row.threshold), "unit": row.unit,
        })
    return out
