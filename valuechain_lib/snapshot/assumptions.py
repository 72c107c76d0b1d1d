"""Declared model inputs: the ``data/*_assumptions.csv`` tables, one loader and one rule set for all of them.

Each row is one input: a central ``value`` with a ``low``–``high`` range, its ``unit``, and whether it
is ``cited`` (its figures are figures of facts-table rows named in ``source``) or an ``assumption``
(``source`` is ``assumption``), with the ``rationale``. A model names its table, the rows it needs and
any columns it adds (the GPU model's ``label``); `load_assumptions` reads and checks the table the same
way for every model.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from valuechain_lib.errors import ValueChainError
from valuechain_lib.snapshot.facts import facts, shown_path

#: The columns every assumptions table has; a table may add text columns (`load_assumptions`).
COLUMNS = ("name", "value", "low", "high", "unit", "kind", "source", "rationale")
#: ``cited``: the figures are figures of the facts rows in ``source``; ``assumption``: declared, with a rationale.
KINDS = ("cited", "assumption")
NUMBERS = ("value", "low", "high")


class AssumptionsError(ValueChainError):
    """An assumptions table that breaks a rule; the message names the table, the row and the field."""


def _number(text, name: str, field: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise AssumptionsError(f"assumption {name!r}: field {field!r}: not a number: {text!r}") from None
    if not math.isfinite(value):
        raise AssumptionsError(f"assumption {name!r}: field {field!r}: not finite: {text!r}")
    return value


def cited_ids(source: str) -> list[str]:
    """The fact ids a ``source`` cell cites (``;``-separated: ``"F48b; F50"`` → ``["F48b", "F50"]``)."""
    return [s.strip() for s in str(source).split(";") if s.strip()]


def validate_assumptions(frame: pd.DataFrame, facts_table: pd.DataFrame | None = None, names=None,
                         columns=COLUMNS) -> None:
    """Check an assumptions table and raise on the first broken rule.

    Rules: the ``columns``; non-empty, unique names, and with ``names`` exactly those (no more, no
    fewer); value, low and high are finite numbers with low ≤ value ≤ high; every other column is
    filled; kind is one of `KINDS`; an assumption's source is ``"assumption"``; a cited row's source
    lists fact ids (``;``-separated) that exist in the facts table, and its value, low and high each
    equal a figure (value, value_low or value_high) of one of those facts.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table as read from CSV (text cells) or as `load_assumptions` returns it.
    facts_table : pandas.DataFrame, optional
        The facts table the citations are checked against; default `valuechain_lib.snapshot.facts.facts`
        (the rows published by the date in effect).
    names : sequence of str, optional
        The rows the model needs.
    columns : sequence of str
        `COLUMNS` and the columns the table adds.

    Raises
    ------
    AssumptionsError
        Naming the row and field at fault.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise AssumptionsError(f"assumptions table lacks column(s) {missing}")
    rows = frame["name"].astype(str).str.strip().tolist()
    if "" in rows:
        raise AssumptionsError("assumptions table has a row without a name")
    dupes = sorted({n for n in rows if rows.count(n) > 1})
    if dupes:
        raise AssumptionsError(f"duplicate assumption name(s) {dupes}")
    if names is not None:
        unknown, absent = sorted(set(rows) - set(names)), [n for n in names if n not in rows]
        if unknown or absent:
            raise AssumptionsError(f"assumptions table: unknown name(s) {unknown}; missing input(s) {absent}")
    table = facts() if facts_table is None else facts_table
    by_id = table.set_index("fact_id")
    text_fields = [c for c in columns if c not in ("name", *NUMBERS, "kind")]
    for row in frame.to_dict("records"):
        name = str(row["name"]).strip()
        value, low, high = (_number(row[f], name, f) for f in NUMBERS)
        if not low <= value <= high:
            raise AssumptionsError(f"assumption {name!r}: field 'value': need low <= value <= high, "
                                   f"got {low} <= {value} <= {high}")
        for field in text_fields:
            if pd.isna(row[field]) or not str(row[field]).strip():
                raise AssumptionsError(f"assumption {name!r}: field {field!r}: empty")
        kind, source = str(row["kind"]).strip(), str(row["source"]).strip()
        if kind not in KINDS:
            raise AssumptionsError(f"assumption {name!r}: field 'kind': {kind!r} is not one of {KINDS}")
        if kind == "assumption":
            if source != "assumption":
                raise AssumptionsError(f"assumption {name!r}: field 'source': an assumption's source is "
                                       f"'assumption', not {source!r}")
            continue
        ids = cited_ids(source)
        if not ids or "assumption" in ids:
            raise AssumptionsError(f"assumption {name!r}: field 'source': a cited row needs fact_ids")
        lost = [i for i in ids if i not in by_id.index]
        if lost:
            raise AssumptionsError(f"assumption {name!r}: field 'source': fact_id(s) {lost} not in the facts table")
        figures = pd.to_numeric(by_id.loc[ids, ["value", "value_low", "value_high"]].stack(),
                                errors="coerce").dropna().to_numpy(dtype=float)
        for field, number in (("value", value), ("low", low), ("high", high)):
            if not np.isclose(figures, number, rtol=0, atol=1e-9).any():
                raise AssumptionsError(f"assumption {name!r}: field {field!r}: {number} is not a figure of the "
                                       f"cited fact(s) {ids}")


def load_assumptions(path, names=None, columns=COLUMNS, facts_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read and check an assumptions table (`validate_assumptions`).

    Parameters
    ----------
    path : str or path-like
        The table, e.g. ``data_dir() / "gpu_assumptions.csv"``.
    names, columns
        As in `validate_assumptions`.
    facts_table : pandas.DataFrame, optional
        The facts table the citations are checked against. Default: the rows published by the date in
        effect (`valuechain_lib.snapshot.vintage.as_of`), so a model whose inputs were not yet published
        cannot be run at an earlier date; a table that is a declared input rather than dated data
        passes the whole table.

    Returns
    -------
    pandas.DataFrame
        The table in file order, value, low and high as float.

    Raises
    ------
    AssumptionsError
        If the file is missing, is not a CSV table, or breaks a rule; the message starts with the
        file's path.
    """
    path = Path(path)
    if not path.exists():
        raise AssumptionsError(f"assumptions table not found: {shown_path(path)}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise AssumptionsError(f"{shown_path(path)}: not a readable CSV table: {exc}") from exc
    try:
        validate_assumptions(frame, facts_table, names=names, columns=columns)
    except AssumptionsError as exc:
        raise AssumptionsError(f"{shown_path(path)}: {exc}") from None
    for col in NUMBERS:
        frame[col] = frame[col].astype(float)
    return frame
