"""Depreciation against capex, PP&E and revenue, useful-life changes and margins (claims A9, A10).

Pure functions take frames and return frames; the ``load_*`` functions are the thin layer that reads
the snapshot (`valuechain_lib.financials`), the facts table (`valuechain_lib.facts`) and the declared
assumptions (``data/depreciation_assumptions.csv``). Money is in currency units (USD), ratios are
plain fractions, margin changes are in fractions of revenue (0.01 = one percentage point). A zero or
missing input gives NaN, never 0.

Which depreciation figure: ``depreciation_amortization`` where the company tags it (Amazon, Meta,
CoreWeave), else ``depreciation`` alone (Microsoft from fiscal 2025, Oracle); the ``da_measure``
column says which. Alphabet tags neither with a us-gaap concept, and Microsoft's quarters start only
in fiscal 2025, so their year-on-year D&A growth comes from the facts table (`FACTS_DA_PAIRS`),
labelled with kind and confidence.

References
----------
Essay A, "The AI Value Chain Is Collapsing Inward" (late 2025), claims A9 and A10 as numbered in
``shared/theses.md``.

Examples
--------
>>> from valuechain_lib import depreciation as dep
>>> dep.straight_line_depreciation(120.0, 6)
20.0
>>> dep.verdict_a10().status  # doctest: +SKIP
'supported'
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .aggregate import calendar_sum
from .capex import hyperscalers
from .errors import ValueChainError
from .facts import CONFIDENCES, KINDS, facts, label
from .financials import financials
from .metrics import get_capex_intensity, get_da_to_capex, get_growth, get_operating_margin
from .paths import data_dir
from .periods import calendar_quarter_end
from .universe import universe
from .verdicts import Verdict, status_from_count

__all__ = [
    "ASSUMPTION_COLUMNS", "DA_MEASURES", "FACTS_DA_PAIRS", "ITEMS", "AssumptionsError",
    "assumption", "current_lives", "da_revenue_growth", "da_vs_capex_ppe", "exclude_suspect_windows",
    "facts_da_growth",
    "latest_growth", "life_change_effects", "load_assumptions", "load_fy", "load_quarters", "load_ttm",
    "operating_margin_sensitivity", "pooled_capex_intensity", "sensitivity_inputs",
    "straight_line_depreciation", "suspect_quarters", "useful_life_changes", "validate_assumptions",
    "verdict_a9", "verdict_a10", "wide_by_quarter",
]

#: Depreciation line items, preferred first.
DA_MEASURES = ("depreciation_amortization", "depreciation")
#: The snapshot line items this module reads.
ITEMS = ("depreciation_amortization", "depreciation", "capex", "ppe_net", "revenue", "operating_income")
#: Facts-table pairs (earlier year, later year, the cash-flow line) of annual D&A on one basis, for
#: companies whose D&A growth the snapshot lacks. Microsoft: FY2024 and FY2025 as reported in the
#: FY2025 10-K (both high confidence; the FY2026 10-K restated both, F144a/b, low). Alphabet: 2024
#: (medium) and 2025 (low).
FACTS_DA_PAIRS = {
    "MSFT": ("F142", "F143", "depreciation, amortization, and other"),
    "GOOGL": ("F152", "F154", "depreciation of property and equipment"),
}
ASSUMPTION_COLUMNS = ("name", "value", "low", "high", "unit", "kind", "source", "rationale")
ASSUMPTION_KINDS = ("cited", "assumption")
_FACT_ID = re.compile(r"\b(F\d+[a-z]?)\b")
_EFFECT_OF = re.compile(r"^Effect of (?:the )?(F\d+)")


class AssumptionsError(ValueChainError):
    """A broken ``depreciation_assumptions.csv``: the message names the row and the field."""


# --------------------------------------------------------------------------- assumptions

def validate_assumptions(frame: pd.DataFrame, facts_table: pd.DataFrame | None = None) -> None:
    """Check the assumptions table and raise `AssumptionsError` on the first broken rule.

    Rules: the columns of `ASSUMPTION_COLUMNS`; unique, non-empty names; ``value``, ``low`` and
    ``high`` finite numbers with ``low <= value <= high``; ``kind`` in ``{cited, assumption}``;
    non-empty ``unit``, ``source`` and ``rationale``; a ``cited`` row names fact ids in ``source``
    that exist in the facts table, and its value equals one of those facts' values (or range ends).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table as read from CSV (text cells are fine).
    facts_table : pandas.DataFrame, optional
        The facts table (`valuechain_lib.facts.facts`); loaded when omitted.
    """
    missing = [c for c in ASSUMPTION_COLUMNS if c not in frame.columns]
    if missing:
        raise AssumptionsError(f"assumptions table lacks column(s) {missing}")
    names = frame["name"].astype(str).str.strip()
    if (names == "").any():
        raise AssumptionsError("assumptions table has a row without a name")
    dup = names[names.duplicated()].tolist()
    if dup:
        raise AssumptionsError(f"duplicate assumption name(s) {dup}")
    table = facts() if facts_table is None else facts_table
    by_id = table.set_index("fact_id")
    for _, row in frame.iterrows():
        name = str(row["name"]).strip()
        nums = {}
        for col in ("value", "low", "high"):
            try:
                nums[col] = float(row[col])
            except (TypeError, ValueError):
                raise AssumptionsError(f"assumption {name!r}: field {col!r} is not a number: {row[col]!r}") from None
            if not math.isfinite(nums[col]):
                raise AssumptionsError(f"assumption {name!r}: field {col!r} is not finite")
        if not nums["low"] <= nums["value"] <= nums["high"]:
            raise AssumptionsError(f"assumption {name!r}: needs low <= value <= high, got "
                                   f"{nums['low']} / {nums['value']} / {nums['high']}")
        if row["kind"] not in ASSUMPTION_KINDS:
            raise AssumptionsError(f"assumption {name!r}: kind {row['kind']!r} is not one of {ASSUMPTION_KINDS}")
        for col in ("unit", "source", "rationale"):
            if not isinstance(row[col], str) or not row[col].strip():
                raise AssumptionsError(f"assumption {name!r}: empty {col!r}")
        if row["kind"] == "cited":
            ids = _FACT_ID.findall(row["source"])
            if not ids:
                raise AssumptionsError(f"assumption {name!r}: a cited row must name fact ids in 'source'")
            absent = [i for i in ids if i not in by_id.index]
            if absent:
                raise AssumptionsError(f"assumption {name!r}: fact id(s) {absent} not in the facts table")
            cited = by_id.loc[ids, ["value", "value_low", "value_high"]].to_numpy(dtype=float).ravel()
            if not np.isclose(cited, nums["value"]).any():
                raise AssumptionsError(f"assumption {name!r}: value {nums['value']} is not a figure of {ids}")


def load_assumptions(path=None, facts_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read and validate ``data/depreciation_assumptions.csv``; numbers as float, indexed by name."""
    path = data_dir() / "depreciation_assumptions.csv" if path is None else path
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    validate_assumptions(frame, facts_table)
    for col in ("value", "low", "high"):
        frame[col] = frame[col].astype(float)
    return frame.set_index("name")


def assumption(name: str, which: str = "value", table: pd.DataFrame | None = None) -> float:
    """One declared figure: ``which`` is ``"value"``, ``"low"`` or ``"high"``."""
    table = load_assumptions() if table is None else table
    if name not in table.index:
        raise AssumptionsError(f"no assumption named {name!r}; known: {', '.join(table.index)}")
    return float(table.loc[name, which])


def current_lives(table: pd.DataFrame | None = None) -> pd.Series:
    """Current server useful life by ticker (years), from the ``current_life_<TICKER>`` rows."""
    table = load_assumptions() if table is None else table
    rows = table[table.index.str.startswith("current_life_")]
    return pd.Series(rows["value"].to_numpy(), index=rows.index.str.removeprefix("current_life_"),
                     name="current_life_years")


# --------------------------------------------------------------------------- loaders

def load_ttm(tickers=None, since: int = 2015) -> pd.DataFrame:
    """Calendar-aligned TTM rows of `ITEMS` (tidy, from the snapshot); default the hyperscalers."""
    table = financials(list(tickers or hyperscalers()), freq="TTM", calendar=True, metrics=list(ITEMS))
    return table[table["calendar_year"] >= since].reset_index(drop=True)


def load_quarters(tickers=None, metrics=("revenue",)) -> pd.DataFrame:
    """Discrete fiscal quarters (tidy, calendar labels kept), for `suspect_quarters`."""
    return financials(list(tickers or hyperscalers()), freq="Q", calendar=True, metrics=list(metrics))


def load_fy(tickers=None) -> pd.DataFrame:
    """Fiscal-year rows of revenue, operating income and net PP&E (tidy, the companies' own years)."""
    return financials(list(tickers or hyperscalers()), freq="FY",
                      metrics=["revenue", "operating_income", "ppe_net"])


# --------------------------------------------------------------------------- D&A, capex, PP&E

def _qi(year, quarter):
    return year.astype(int) * 4 + quarter.astype(int) - 1


def wide_by_quarter(table: pd.DataFrame, items: Sequence[str] = ITEMS) -> pd.DataFrame:
    """Pivot calendar-aligned tidy rows to one row per ticker and calendar quarter, one column per item.

    Returns
    -------
    pandas.DataFrame
        ``ticker, calendar_year, calendar_quarter, qi`` (a running quarter number), ``quarter_end``,
        ``calendar_label`` (``2026 Q1``), ``fiscal_label`` (the company's own quarter) and ``items``
        (NaN where absent).
    """
    keys = ["ticker", "calendar_year", "calendar_quarter"]
    rows = table[table["metric"].isin(items)]
    wide = rows.groupby([*keys, "metric"])["value"].first().unstack("metric")
    wide = wide.reindex(columns=list(items))
    wide.columns.name = None
    labels = rows.groupby(keys)[["fiscal_year", "fiscal_period"]].first()
    wide["fiscal_label"] = "FY" + labels["fiscal_year"].astype(str) + " " + labels["fiscal_period"].astype(str)
    wide = wide.reset_index()
    wide["calendar_year"] = wide["calendar_year"].astype(int)
    wide["calendar_quarter"] = wide["calendar_quarter"].astype(int)
    wide["qi"] = _qi(wide["calendar_year"], wide["calendar_quarter"])
    wide["quarter_end"] = calendar_quarter_end(wide["calendar_year"], wide["calendar_quarter"])
    wide["calendar_label"] = wide["calendar_year"].astype(str) + " Q" + wide["calendar_quarter"].astype(str)
    return wide.sort_values(["ticker", "qi"]).reset_index(drop=True)


def _complete_grid(wide: pd.DataFrame) -> pd.DataFrame:
    """Insert the missing quarters of each ticker (as NaN rows) so shifts count calendar quarters."""
    parts = []
    for ticker, group in wide.groupby("ticker", sort=True):
        grid = pd.RangeIndex(group["qi"].min(), group["qi"].max() + 1, name="qi")
        full = group.set_index("qi").reindex(grid).reset_index()
        full["ticker"] = ticker
        parts.append(full)
    return pd.concat(parts, ignore_index=True) if parts else wide.copy()


def da_vs_capex_ppe(wide: pd.DataFrame) -> pd.DataFrame:
    """D&A against capex and net PP&E, per company and calendar quarter (TTM rows).

    Formulas: ``da_to_capex = da / capex`` (`metrics.get_da_to_capex`); ``da_to_ppe = da /
    ppe_net_avg``, with ``ppe_net_avg`` the mean of net PP&E at the end of the TTM window and four
    quarters earlier (NaN when either is missing). ``da`` is the company's first measure in
    `DA_MEASURES` that it reports at all in ``wide`` (one measure per company, so a series never
    switches definition); ``da_measure`` names it, NaN when it has none.

    Parameters
    ----------
    wide : pandas.DataFrame
        Output of `wide_by_quarter` on TTM rows (money in currency units; capex a positive outflow).

    Returns
    -------
    pandas.DataFrame
        ``wide`` on a complete quarter grid plus ``da``, ``da_measure``, ``ppe_net_avg``,
        ``da_to_capex`` and ``da_to_ppe`` (fractions per year).

    Examples
    --------
    A company with D&A 20 on capex 80 and net PP&E from 90 to 110 over the year:

    >>> w = pd.DataFrame({"ticker": ["X"] * 5, "qi": range(5), "depreciation_amortization": [np.nan] * 4 + [20.0],
    ...                   "depreciation": np.nan, "capex": [np.nan] * 4 + [80.0],
    ...                   "ppe_net": [90.0, 95, 100, 105, 110]})
    >>> da_vs_capex_ppe(w)[["da_to_capex", "da_to_ppe"]].iloc[-1].tolist()
    [0.25, 0.2]
    """
    out = _complete_grid(wide)
    measure = pd.Series(np.nan, index=out.index, dtype=object)
    out["da"] = np.nan
    for _ticker, idx in out.groupby("ticker").groups.items():
        for item in DA_MEASURES:
            if item in out.columns and out.loc[idx, item].notna().any():
                out.loc[idx, "da"] = out.loc[idx, item]
                measure.loc[idx] = item
                break
    out["da_measure"] = measure
    prior = out.groupby("ticker")["ppe_net"].shift(4)
    out["ppe_net_avg"] = (out["ppe_net"] + prior) / 2
    out["da_to_capex"] = get_da_to_capex(out["da"], out["capex"])
    out["da_to_ppe"] = get_da_to_capex(out["da"], out["ppe_net_avg"])  # same formula: a ratio with NaN guard
    return out


def da_revenue_growth(frame: pd.DataFrame) -> pd.DataFrame:
    """Year-over-year growth of D&A and of revenue (TTM against the TTM four quarters earlier).

    Formula: ``growth = x / x.shift(4) - 1`` on each company's complete quarter grid
    (`metrics.get_growth`), for ``x`` in (``da``, ``revenue``); ``growth_gap = da_growth -
    revenue_growth`` (fraction; positive when depreciation outgrows revenue). NaN where either year
    is missing or the base is zero.

    Parameters
    ----------
    frame : pandas.DataFrame
        Output of `da_vs_capex_ppe` (needs ``ticker``, ``qi``, ``da``, ``revenue``).

    Examples
    --------
    D&A from 50 to 65 (+30%) while revenue goes from 500 to 560 (+12%):

    >>> f = pd.DataFrame({"ticker": ["X"] * 5, "qi": range(5), "da": [50.0, 0, 0, 0, 65.0],
    ...                   "revenue": [500.0, 0, 0, 0, 560.0]})
    >>> [round(v, 2) for v in da_revenue_growth(f)[["da_growth", "revenue_growth", "growth_gap"]].iloc[-1]]
    [0.3, 0.12, 0.18]
    """
    out = frame.sort_values(["ticker", "qi"]).copy()
    for col in ("da", "revenue"):
        out[f"{col}_growth"] = out.groupby("ticker", group_keys=False)[col].apply(lambda s: get_growth(s, 4))
    out["growth_gap"] = out["da_growth"] - out["revenue_growth"]
    return out


def facts_da_growth(facts_table: pd.DataFrame, fy_table: pd.DataFrame,
                    pairs: Mapping[str, tuple[str, str, str]] = FACTS_DA_PAIRS) -> pd.DataFrame:
    """Annual D&A growth from facts-table pairs, against revenue growth over the same fiscal years.

    Formula: ``da_growth = later / earlier - 1`` (facts, USD million); ``revenue_growth`` the same on
    the snapshot's fiscal-year revenue of the pair's fiscal years; ``growth_gap`` their difference.

    Parameters
    ----------
    facts_table : pandas.DataFrame
        The facts table (`valuechain_lib.facts.facts`).
    fy_table : pandas.DataFrame
        Fiscal-year tidy rows with revenue (`load_fy`).
    pairs : mapping
        ticker → (fact id of the earlier year, fact id of the later year, the line's name).

    Returns
    -------
    pandas.DataFrame
        One row per ticker: ``ticker, period, da_growth, revenue_growth, growth_gap, da_measure,
        source, kind, confidence, fact_ids, labels`` (``kind`` the least direct and ``confidence``
        the lowest of the two facts).
    """
    by_id = facts_table.set_index("fact_id")
    revenue = fy_table[fy_table["metric"] == "revenue"].set_index(["ticker", "fiscal_year"])["value"]
    rows = []
    for ticker, (early_id, late_id, line) in pairs.items():
        early, late = by_id.loc[early_id], by_id.loc[late_id]
        y0, y1 = int(str(early["period"])[2:]), int(str(late["period"])[2:])
        r0, r1 = revenue.get((ticker, y0), np.nan), revenue.get((ticker, y1), np.nan)
        da_growth = late["value"] / early["value"] - 1 if early["value"] else np.nan
        rev_growth = r1 / r0 - 1 if r0 else np.nan
        kinds = [str(early["kind"]), str(late["kind"])]
        confs = [str(early["confidence"]), str(late["confidence"])]
        rows.append({
            "ticker": ticker, "period": f"FY{y1} vs FY{y0}", "da_growth": da_growth,
            "revenue_growth": rev_growth, "growth_gap": da_growth - rev_growth,
            "da_measure": line,
            "source": f"facts table {early_id}, {late_id}; revenue from SEC XBRL fiscal years",
            "kind": max(kinds, key=KINDS.index), "confidence": max(confs, key=CONFIDENCES.index),
            "fact_ids": f"{early_id}, {late_id}",
            "labels": "; ".join(label(r) for r in (early.rename(None), late.rename(None))),
        })
    return pd.DataFrame(rows)


def latest_growth(growth: pd.DataFrame, facts_growth: pd.DataFrame | None = None, tickers=None) -> pd.DataFrame:
    """One D&A-vs-revenue growth comparison per company: the latest snapshot TTM, else the facts table.

    Parameters
    ----------
    growth : pandas.DataFrame
        Output of `da_revenue_growth`.
    facts_growth : pandas.DataFrame, optional
        Output of `facts_da_growth`, used for companies with no snapshot growth figure.
    tickers : list of str, optional
        Companies to report; default every ticker in ``growth``. A company with neither source gets
        a row of NaN with ``source`` saying so.

    Returns
    -------
    pandas.DataFrame
        ``ticker, period, da_growth, revenue_growth, growth_gap, da_measure, source, kind,
        confidence, fact_ids``.
    """
    tickers = list(tickers or sorted(growth["ticker"].unique()))
    have = growth.dropna(subset=["da_growth", "revenue_growth"])
    last = have.sort_values("qi").groupby("ticker").tail(1).set_index("ticker")
    extra = facts_growth.set_index("ticker") if facts_growth is not None and not facts_growth.empty else None
    rows = []
    for t in tickers:
        if t in last.index:
            r = last.loc[t]
            prior_label = f"{int(r['calendar_year']) - 1} Q{int(r['calendar_quarter'])}"
            rows.append({"ticker": t, "period": f"TTM to {r['calendar_label']} vs TTM to {prior_label}",
                         "da_growth": r["da_growth"], "revenue_growth": r["revenue_growth"],
                         "growth_gap": r["growth_gap"], "da_measure": r["da_measure"],
                         "source": "SEC EDGAR XBRL snapshot", "kind": "filing", "confidence": "XBRL",
                         "fact_ids": ""})
        elif extra is not None and t in extra.index:
            r = extra.loc[t]
            rows.append({"ticker": t, **{c: r[c] for c in ("period", "da_growth", "revenue_growth", "growth_gap",
                                                           "da_measure", "source", "kind", "confidence",
                                                           "fact_ids")}})
        else:
            rows.append({"ticker": t, "period": "", "da_growth": np.nan, "revenue_growth": np.nan,
                         "growth_gap": np.nan, "da_measure": "", "source": "no D&A growth figure",
                         "kind": "", "confidence": "", "fact_ids": ""})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- useful lives

def _entity_tickers() -> dict[str, str]:
    """Facts-table entity → ticker, by the universe name ('Amazon' → AMZN via 'Amazon.com')."""
    u = universe()
    return {name.split()[0].rstrip(".,").removesuffix(".com"): t for t, name in zip(u["ticker"], u["name"],
                                                                                   strict=True)}


def _asset_class(metric: str) -> str:
    text = re.sub(r"^Useful life(?: of)?,?\s*", "", metric)
    return re.split(r":| \(", text)[0].strip()


def useful_life_changes(facts_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Useful-life changes disclosed by the companies, from the facts table (claim A9 rows).

    A change is a pair of facts ``<id>a`` ("before the change") and ``<id>b`` ("after the change");
    a life stated without a prior one (Meta's 5.5 years, Oracle's and CoreWeave's 6) is listed with
    ``from_years`` NaN, and its direction is inferred from a cited effect where there is one (a
    cited cut in depreciation means the life was lengthened). Cited effects ("Effect of F48 ...")
    are attached to their change.

    Effect signs (on operating income, currency units): a cited *increase in operating income* is
    +; a cited *reduction in depreciation* is + (pre-tax, the same amount); a cited *increase in
    depreciation* is −. Net-income effects are kept in their own column.

    Parameters
    ----------
    facts_table : pandas.DataFrame, optional
        The facts table; loaded (``claim_id="A9"``) when omitted.

    Returns
    -------
    pandas.DataFrame
        ``company, ticker, asset_class, effective, from_years, to_years, direction`` (lengthened,
        shortened, stated), ``direction_basis``, ``effect_year`` (fiscal year of the cited effect), ``operating_income_effect``
        (USD, signed), ``effect_basis``, ``net_income_effect`` (USD, signed), ``fact_ids``, ``kind``
        (least direct of the facts used), ``confidence`` (lowest), ``label`` (of the life facts and
        effects, via `facts.label`).
    """
    table = facts(claim_id="A9") if facts_table is None else facts_table
    table = table[table["metric"].str.startswith("Useful life") | table["metric"].str.startswith("Effect of")]
    tickers = _entity_tickers()
    lives = table[table["metric"].str.startswith("Useful life")]
    effects = table[table["metric"].str.match(_EFFECT_OF.pattern)]
    base_ids = sorted({re.sub(r"[a-z]$", "", f) for f in lives["fact_id"]}, key=lambda s: int(s[1:]))
    rows = []
    for base in base_ids:
        group = lives[lives["fact_id"].str.fullmatch(base + r"[a-z]?")]
        befores = group[group["metric"].str.contains("before the change")]
        afters = group[~group["metric"].str.contains("before the change")]
        for _, after in afters.iterrows():
            cls = _asset_class(str(after["metric"]))
            before = befores[befores["metric"].map(lambda m, cls=cls: _asset_class(m) == cls)]
            before = before.iloc[0] if not before.empty else None
            used = [after] + ([before] if before is not None else [])
            from_y = float(before["value"]) if before is not None else np.nan
            to_y = float(after["value"])
            direction = ("stated" if np.isnan(from_y) else
                         "lengthened" if to_y > from_y else "shortened" if to_y < from_y else "unchanged")
            # Effects cite the change by its base id; one set of effects per change, on its first asset class.
            mine = effects[effects["metric"].map(lambda m: _EFFECT_OF.match(m).group(1)) == base]
            if not afters.index[0] == after.name:
                mine = mine.iloc[0:0]
            oi, ni, basis, year = np.nan, np.nan, "", np.nan
            for _, eff in mine.iterrows():
                metric = str(eff["metric"]).lower()
                scale = {"USD billion": 1e9, "USD million": 1e6}[str(eff["unit"])]
                amount = float(eff["value"]) * scale
                year = int(str(eff["period"])[2:6])
                if "net income" in metric:
                    ni = amount if "increase" in metric else -amount
                elif "operating income" in metric:
                    oi, basis = (amount if "increase" in metric else -amount), "operating income, as cited"
                elif "depreciation" in metric or "d&a" in metric:
                    if np.isnan(oi):
                        oi = amount if "reduction" in metric else -amount
                        basis = "change in depreciation, as cited (pre-tax, opposite sign)"
                used.append(eff)
            basis_dir = "cited lives"
            if direction == "stated" and pd.notna(oi) and oi != 0:
                direction = "lengthened" if oi > 0 else "shortened"
                basis_dir = "inferred from the cited effect (prior life not in the facts table)"
            elif direction == "stated":
                basis_dir = "no change found"
            kinds = [str(r["kind"]) for r in used]
            confs = [str(r["confidence"]) for r in used]
            entity = str(after["entity"])
            rows.append({
                "company": entity, "ticker": tickers.get(entity, ""), "asset_class": cls,
                "effective": after["as_of"], "from_years": from_y, "to_years": to_y, "direction": direction,
                "direction_basis": basis_dir,
                "effect_year": year, "operating_income_effect": oi, "effect_basis": basis,
                "net_income_effect": ni, "fact_ids": ", ".join(str(r["fact_id"]) for r in used),
                "kind": max(kinds, key=KINDS.index), "confidence": max(confs, key=CONFIDENCES.index),
                "label": "; ".join(label(r) for r in used),
            })
    out = pd.DataFrame(rows)
    out["effect_year"] = out["effect_year"].astype("Int64")
    return out.sort_values(["effective", "company"]).reset_index(drop=True)


def life_change_effects(changes: pd.DataFrame, fy_table: pd.DataFrame) -> pd.DataFrame:
    """Cited effects of life changes as margin points, and the server share of PP&E they imply.

    Formulas, for a change with a cited effect ``E`` (signed, on operating income) in fiscal year
    ``y``: ``margin_effect = E / revenue_y`` (fraction of revenue: 0.017 = 1.7 points);
    ``share_of_operating_income = E / operating_income_y``; and, when both lives are known,
    ``implied_server_share = |E| / (ppe_net_{y-1} × |1/from − 1/to|)``: the share of the opening net
    PP&E that, re-depreciated straight line (`operating_margin_sensitivity`), reproduces the cited
    effect. It attributes the whole effect to the asset class named, so it is a cross-check of the
    declared server share, not a measurement.

    Parameters
    ----------
    changes : pandas.DataFrame
        Output of `useful_life_changes`.
    fy_table : pandas.DataFrame
        Fiscal-year tidy rows with revenue, operating_income and ppe_net (`load_fy`).
    """
    fy = fy_table.groupby(["ticker", "fiscal_year", "metric"])["value"].first().unstack("metric")
    out = changes.copy()
    out["revenue"] = np.nan
    out["operating_income"] = np.nan
    out["ppe_net_opening"] = np.nan
    for i, row in out.iterrows():
        if pd.isna(row["effect_year"]) or row["ticker"] == "":
            continue
        y = int(row["effect_year"])
        for col, year in (("revenue", y), ("operating_income", y), ("ppe_net_opening", y - 1)):
            key = (row["ticker"], year)
            metric = "ppe_net" if col == "ppe_net_opening" else col
            if key in fy.index and metric in fy.columns:
                out.loc[i, col] = fy.loc[key, metric]
    out["margin_effect"] = get_operating_margin(out["operating_income_effect"], out["revenue"])
    out["share_of_operating_income"] = get_operating_margin(out["operating_income_effect"], out["operating_income"])
    rate_change = (1 / out["from_years"] - 1 / out["to_years"]).abs()
    out["implied_server_share"] = get_operating_margin(out["operating_income_effect"].abs(),
                                                       out["ppe_net_opening"] * rate_change)
    return out


# --------------------------------------------------------------------------- margin sensitivity

def straight_line_depreciation(cost, useful_life_years):
    """Annual straight-line depreciation to zero residual: ``cost / useful_life_years``.

    Parameters
    ----------
    cost : float or array-like
        Depreciable cost (currency units).
    useful_life_years : float or array-like
        Useful life in years; zero, negative or missing gives NaN.

    Examples
    --------
    >>> straight_line_depreciation(100.0, 4)
    25.0
    >>> straight_line_depreciation(100.0, 0)
    nan
    """
    life = np.asarray(useful_life_years, dtype=float)
    life = np.where(life > 0, life, np.nan)
    result = np.asarray(cost, dtype=float) / life
    return float(result) if result.ndim == 0 else result


def sensitivity_inputs(wide: pd.DataFrame, lives: pd.Series, tickers=None) -> pd.DataFrame:
    """The company frame for `operating_margin_sensitivity`: TTM figures at one common calendar quarter.

    The quarter is the latest at which every company in ``tickers`` (default: those in ``lives``)
    has revenue, operating income and net PP&E, so the companies are compared over the same
    twelve months.

    Returns
    -------
    pandas.DataFrame
        ``ticker, calendar_label, fiscal_label, revenue, operating_income, ppe_net,
        current_life_years``.
    """
    tickers = list(tickers or [t for t in lives.index if t in set(wide["ticker"])])
    rows = wide[wide["ticker"].isin(tickers)].dropna(subset=["revenue", "operating_income", "ppe_net"])
    counts = rows.groupby("qi")["ticker"].nunique()
    complete = counts[counts == len(tickers)]
    if complete.empty:
        raise ValueChainError(f"no calendar quarter where all of {tickers} have revenue, operating income and PP&E")
    at = rows[rows["qi"] == complete.index.max()].copy()
    at["current_life_years"] = at["ticker"].map(lives)
    cols = ["ticker", "calendar_label", "fiscal_label", "revenue", "operating_income", "ppe_net", "current_life_years"]
    return at[cols].reset_index(drop=True)


def operating_margin_sensitivity(company_frame: pd.DataFrame, useful_life_years=(4, 5, 6, 7),
                                 server_share_of_ppe: float | Mapping[str, float] | None = None) -> pd.DataFrame:
    """Operating margin if the server part of the asset base were depreciated over other useful lives.

    Model (declared, first order): the server base is ``S = server_share × ppe_net``; its annual
    straight-line depreciation over ``L`` years is ``S / L``. Against the company's current life
    ``L0`` (``current_life_years``), operating income changes by ``ΔOI(L) = S / L0 − S / L``, and
    ``operating_margin(L) = (operating_income + ΔOI(L)) / revenue``. ``ΔOI`` is zero at ``L0``,
    negative for shorter lives, positive for longer ones: margin rises with the life. The model
    spreads today's net book value over a full new life, ignoring the age mix of the fleet; the
    declared share is therefore an effective one, cross-checked against cited effects of actual
    life changes (`life_change_effects`). Taxes, residual values and capitalised depreciation are
    ignored.

    Parameters
    ----------
    company_frame : pandas.DataFrame
        One row per company: ``ticker, revenue, operating_income, ppe_net`` (currency units, TTM;
        PP&E at the period end) and ``current_life_years`` (see `sensitivity_inputs`).
    useful_life_years : sequence of float
        Lives to evaluate; each company's current life is added to the grid.
    server_share_of_ppe : float or mapping, optional
        Share of net PP&E that is servers and network equipment (fraction), or scenario name →
        share. Default: the declared ``server_share_of_ppe`` value, low and high (scenarios
        ``central``, ``low``, ``high``).

    Returns
    -------
    pandas.DataFrame
        One row per company, scenario and life: ``ticker, scenario, server_share, useful_life_years,
        is_current_life, server_base, depreciation_current, depreciation_at_life,
        operating_income_change, operating_margin_reported, operating_margin_at_life,
        margin_change`` (fraction of revenue).

    Examples
    --------
    Revenue 100, operating income 20, PP&E 120 of which half servers, now on 6 years; at 4 years
    depreciation rises from 10 to 15 and the margin falls from 20% to 15%:

    >>> f = pd.DataFrame({"ticker": ["X"], "revenue": [100.0], "operating_income": [20.0],
    ...                   "ppe_net": [120.0], "current_life_years": [6.0]})
    >>> r = operating_margin_sensitivity(f, [4], server_share_of_ppe=0.5)
    >>> r.loc[r["useful_life_years"] == 4, "operating_margin_at_life"].round(4).tolist()
    [0.15]
    """
    if server_share_of_ppe is None:
        table = load_assumptions()
        shares = {s: assumption("server_share_of_ppe", w, table)
                  for s, w in (("central", "value"), ("low", "low"), ("high", "high"))}
    elif isinstance(server_share_of_ppe, Mapping):
        shares = dict(server_share_of_ppe)
    else:
        shares = {"central": float(server_share_of_ppe)}
    for name, share in shares.items():
        if not 0 <= share <= 1:
            raise ValueChainError(f"server share {name!r} = {share} is not a fraction between 0 and 1")
    rows = []
    for _, c in company_frame.iterrows():
        l0 = float(c["current_life_years"])
        grid = sorted({float(x) for x in useful_life_years} | {l0})
        for scenario, share in shares.items():
            base = share * float(c["ppe_net"])
            dep0 = straight_line_depreciation(base, l0)
            for life in grid:
                dep = straight_line_depreciation(base, life)
                change = dep0 - dep
                rows.append({
                    "ticker": c["ticker"], "scenario": scenario, "server_share": share,
                    "useful_life_years": life, "is_current_life": life == l0, "server_base": base,
                    "depreciation_current": dep0, "depreciation_at_life": dep, "operating_income_change": change,
                    "operating_margin_reported": get_operating_margin(
                        pd.Series([c["operating_income"]]), pd.Series([c["revenue"]])).iloc[0],
                    "operating_margin_at_life": get_operating_margin(
                        pd.Series([c["operating_income"] + change]), pd.Series([c["revenue"]])).iloc[0],
                })
    out = pd.DataFrame(rows)
    out["margin_change"] = out["operating_margin_at_life"] - out["operating_margin_reported"]
    return out


# --------------------------------------------------------------------------- capex intensity (A10)

def suspect_quarters(quarters: pd.DataFrame, ratio: float = 2.0, metrics=("revenue",)) -> pd.DataFrame:
    """Quarterly values that exceed ``ratio`` times the median of the company's other quarters that year.

    A guard against a full-year figure labelled as a quarter (Oracle's fiscal Q4 revenue of
    2018-2022 in the snapshot equals the full year). Revenue is stable enough for the test; capex
    is not, so it is not checked by default.

    Parameters
    ----------
    quarters : pandas.DataFrame
        Discrete-quarter tidy rows (``freq`` Q, calendar labels).
    ratio : float
        Multiple of the median of the same fiscal year's other quarters (at least two) above which
        a value is suspect.

    Returns
    -------
    pandas.DataFrame
        ``ticker, metric, fiscal_year, fiscal_period, calendar_year, calendar_quarter, qi, value,
        others_median, multiple, accession``.
    """
    rows = quarters[quarters["metric"].isin(metrics) & quarters["value"].notna()
                    & quarters["calendar_year"].notna()].copy()
    found = []
    for _, group in rows.groupby(["ticker", "metric", "fiscal_year"]):
        if len(group) < 3:
            continue
        for i, r in group.iterrows():
            median = group.drop(index=i)["value"].median()
            if median > 0 and r["value"] > ratio * median:
                found.append({**r[["ticker", "metric", "fiscal_year", "fiscal_period", "calendar_year",
                                   "calendar_quarter", "value", "accession"]].to_dict(),
                              "others_median": median, "multiple": r["value"] / median})
    cols = ["ticker", "metric", "fiscal_year", "fiscal_period", "calendar_year", "calendar_quarter", "qi",
            "value", "others_median", "multiple", "accession"]
    out = pd.DataFrame(found, columns=[c for c in cols if c != "qi"])
    out["qi"] = _qi(out["calendar_year"], out["calendar_quarter"]) if not out.empty else pd.Series(dtype=int)
    return out[cols]


def exclude_suspect_windows(frame: pd.DataFrame, suspects: pd.DataFrame, columns: Sequence[str],
                            span: int = 4) -> pd.DataFrame:
    """Blank ``columns`` on the rows whose trailing windows contain a suspect quarter of that company.

    A TTM row at quarter ``q`` sums quarters ``q − 3 … q``, so a suspect quarter ``s`` touches the
    rows ``s … s + 3`` (``span=4``); a year-on-year growth of TTM figures also uses the window four
    quarters back, so it touches ``s … s + 7`` (``span=8``).

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with ``ticker`` and ``qi`` (e.g. `da_revenue_growth` output).
    suspects : pandas.DataFrame
        `suspect_quarters` output.
    columns : sequence of str
        The columns computed from the suspect metric (e.g. ``revenue_growth``, ``growth_gap``).
    """
    out = frame.copy()
    for _, s in suspects.iterrows():
        hit = (out["ticker"] == s["ticker"]) & out["qi"].between(int(s["qi"]), int(s["qi"]) + span - 1)
        out.loc[hit, list(columns)] = np.nan
    return out


def pooled_capex_intensity(ttm: pd.DataFrame, suspects: pd.DataFrame | None = None) -> pd.DataFrame:
    """Pooled TTM capex / revenue of the companies in ``ttm``, by calendar quarter.

    Formula: ``capex_intensity = Σ capex / Σ revenue`` over the same calendar quarter
    (`aggregate.calendar_sum`: NaN where any company lacks a figure), `metrics.get_capex_intensity`.
    A TTM window that contains a suspect quarter (`suspect_quarters`) is left out (NaN) and
    ``excluded`` names the company and quarter.

    Returns
    -------
    pandas.DataFrame
        ``calendar_year, calendar_quarter, qi, calendar_label, quarter_end, capex, revenue,
        capex_intensity, missing, excluded``.
    """
    rows = ttm[ttm["metric"].isin(["capex", "revenue"])]
    sums = calendar_sum(rows, by=None)
    wide = sums.set_index(["calendar_year", "calendar_quarter", "metric"])["value"].unstack("metric")
    wide = wide.reindex(columns=["capex", "revenue"])
    wide.columns.name = None
    gaps = sums[sums["missing"] != ""].assign(text=lambda d: d["metric"] + " lacks " + d["missing"])
    gaps = gaps.groupby(["calendar_year", "calendar_quarter"])["text"].agg("; ".join)
    wide["missing"] = gaps.reindex(wide.index).fillna("")
    wide = wide.reset_index()
    wide["calendar_year"] = wide["calendar_year"].astype(int)
    wide["calendar_quarter"] = wide["calendar_quarter"].astype(int)
    wide["qi"] = _qi(wide["calendar_year"], wide["calendar_quarter"])
    wide["excluded"] = ""
    if suspects is not None and not suspects.empty:
        for _, s in suspects.iterrows():
            hit = wide["qi"].between(int(s["qi"]), int(s["qi"]) + 3)
            note = (f"{s['ticker']} {s['metric']} FY{int(s['fiscal_year'])} {s['fiscal_period']} is "
                    f"{s['multiple']:.1f}× its other quarters")
            wide.loc[hit, "excluded"] = np.where(wide.loc[hit, "excluded"] == "", note,
                                                 wide.loc[hit, "excluded"] + "; " + note)
    wide["capex_intensity"] = get_capex_intensity(wide["capex"], wide["revenue"])
    wide.loc[wide["excluded"] != "", "capex_intensity"] = np.nan
    wide["quarter_end"] = calendar_quarter_end(wide["calendar_year"], wide["calendar_quarter"])
    wide["calendar_label"] = wide["calendar_year"].astype(str) + " Q" + wide["calendar_quarter"].astype(str)
    return wide.sort_values("qi").reset_index(drop=True)


# --------------------------------------------------------------------------- verdicts

def _pct(x: float) -> str:
    return f"{x:+.0%}"


def _bn(usd: float) -> str:
    """'$3.7bn', '$2.92bn': billions at the precision cited (up to two decimals)."""
    return "$" + f"{usd / 1e9:,.2f}".rstrip("0").rstrip(".") + "bn"


def _lives(row) -> str:
    """'4 → 6 years', or 'to 5.5 years, prior life not in the facts table'."""
    if pd.isna(row["from_years"]):
        return f"to {row['to_years']:g} years, prior life not in the facts table"
    return f"{row['from_years']:g} → {row['to_years']:g} years"


def verdict_a9(growth: pd.DataFrame | None = None, changes: pd.DataFrame | None = None,
               gap_threshold: float = 0.0, min_margin_effect: float = 0.0) -> Verdict:
    """Claim A9 ("power goes to whoever manages GPU depreciation best") read as two testable conditions.

    Rule:

    1. *Depreciation outgrows revenue.* Among the hyperscalers with a D&A growth figure (``growth``:
       latest TTM year-on-year from the snapshot, else a fiscal-year pair from the facts table),
       count those whose ``da_growth − revenue_growth`` exceeds ``gap_threshold`` (a fraction:
       0.0 means any excess, 0.05 five points). Met when that count is more than half of them.
    2. *Longer lives flatter margins.* At least one cited useful-life *lengthening* whose cited
       effect raised operating income by more than ``min_margin_effect`` of that year's revenue
       (``changes``, from `life_change_effects`; 0.0 means any positive effect).

    Both met → *supported*; one → *mixed*; neither → *not supported*. No company with a D&A growth
    figure → *not testable with public data*. The summary names the figures, the facts behind them
    with kind and confidence, and the changes that went the other way (shortened lives).

    Parameters
    ----------
    growth : pandas.DataFrame, optional
        `latest_growth` output; built from the snapshot and facts table when omitted.
    changes : pandas.DataFrame, optional
        `life_change_effects` output; built when omitted.
    gap_threshold : float
        Margin by which D&A growth must exceed revenue growth (fraction).
    min_margin_effect : float
        Smallest cited margin gain (fraction of revenue) that counts as flattering.
    """
    if growth is None:
        wide = wide_by_quarter(load_ttm())
        ratio = assumption("suspect_quarter_ratio")
        quarterly = exclude_suspect_windows(da_revenue_growth(da_vs_capex_ppe(wide)),
                                            suspect_quarters(load_quarters(), ratio=ratio),
                                            ["revenue_growth", "growth_gap"], span=8)
        growth = latest_growth(quarterly, facts_da_growth(facts(claim_id="A9"), load_fy()), tickers=hyperscalers())
    if changes is None:
        changes = life_change_effects(useful_life_changes(), load_fy())
    have = growth.dropna(subset=["da_growth", "revenue_growth"])
    if have.empty:
        return Verdict("not testable with public data", "No hyperscaler has a D&A growth figure.",
                       {"gap_threshold": gap_threshold}, "")
    faster = have[have["growth_gap"] > gap_threshold]
    cond1 = len(faster) > len(have) / 2
    longer = changes[(changes["direction"] == "lengthened") & (changes["margin_effect"] > min_margin_effect)]
    cond2 = not longer.empty
    status = status_from_count(int(cond1) + int(cond2), 2)

    def describe(r):
        if r["confidence"] == "XBRL":
            src = ", depreciation only" if r["da_measure"] == "depreciation" else ""
        else:
            src = f"; {r['da_measure']}, {r['fact_ids']}: {r['kind']}, {r['confidence']} confidence"
        return (f"{r['ticker']} {_pct(r['da_growth'])} against {_pct(r['revenue_growth'])} "
                f"({r['period']}{src})")

    parts = [f"D&A grew faster than revenue {'by more than ' + format(gap_threshold, '.0%') + ' ' if gap_threshold else ''}"
             f"at {len(faster)} of {len(have)} hyperscalers with a D&A figure: "
             + "; ".join(describe(r) for _, r in have.sort_values("growth_gap", ascending=False).iterrows()) + "."]
    if cond2:
        parts.append("Longer useful lives flattered margins: " + "; ".join(
            f"{r['company']} ({r['asset_class']}, {_lives(r)}) added "
            f"{_bn(r['operating_income_effect'])} to FY{int(r['effect_year'])} operating income, "
            f"{r['margin_effect'] * 100:.1f} points of margin ({r['fact_ids']}: {r['kind']}, {r['confidence']} confidence)"
            for _, r in longer.iterrows()) + ".")
    else:
        parts.append("No cited useful-life lengthening raised operating margin by more than "
                     f"{min_margin_effect:.1%} of revenue.")
    shorter = changes[changes["direction"] == "shortened"]
    if not shorter.empty:
        parts.append("Against that, " + "; ".join(
            f"{r['company']} shortened {r['asset_class']} ({_lives(r)}, effective {r['effective']:%Y-%m})"
            + (f", costing {_bn(-r['operating_income_effect'])} of FY{int(r['effect_year'])} operating income"
               if pd.notna(r["operating_income_effect"]) else "")
            + f" ({r['fact_ids']}: {r['kind']}, {r['confidence']} confidence)"
            for _, r in shorter.iterrows()) + ".")
    weak = [f"{r['ticker']}'s D&A growth ({r['fact_ids']})" for _, r in have.iterrows() if r["confidence"] == "low"]
    weak += [f"{r['company']}'s {int(r['effect_year'])} life change ({r['fact_ids']})"
             for _, r in pd.concat([longer, shorter]).iterrows() if r["confidence"] == "low"]
    if weak:
        parts.append("Rated low confidence: " + "; ".join(weak) + "; the other cited facts are rated medium or high.")
    numbers = {f"{r['ticker']}_growth_gap": float(r["growth_gap"]) for _, r in have.iterrows()}
    numbers.update({"n_faster": len(faster), "n_with_data": len(have), "n_lengthenings_flattering": len(longer),
                    "gap_threshold": gap_threshold, "min_margin_effect": min_margin_effect})
    ids = sorted({i.strip() for v in list(have["fact_ids"]) + list(longer["fact_ids"]) + list(shorter["fact_ids"])
                  for i in str(v).split(",") if i.strip()}, key=lambda s: (int(re.sub(r"\D", "", s)), s))
    sources = "SEC EDGAR XBRL filings (10-K, 10-Q) of " + ", ".join(sorted(have["ticker"])) + \
        (f"; facts table {', '.join(ids)}" if ids else "")
    return Verdict(status, " ".join(parts), numbers, sources)


def verdict_a10(pooled: pd.DataFrame | None = None, capex_intensity_threshold: float = 0.20,
                history_years: int = 3) -> Verdict:
    """Claim A10 ("AI infrastructure is capital-intensive, not capital-efficient") on capex intensity.

    Rule: *supported* when the hyperscalers' pooled TTM capex / revenue (`pooled_capex_intensity`)
    in the latest calendar quarter with a pooled figure is at or above
    ``capex_intensity_threshold``; *not supported* below it. The summary sets it against the pooled
    figure ``history_years`` earlier (or the first quarter after it with a clean figure) and the
    earliest clean quarter, and compares capex growth with revenue growth over the last year (the
    "not capital-efficient" half: capex rising faster than the revenue it serves).

    Parameters
    ----------
    pooled : pandas.DataFrame, optional
        `pooled_capex_intensity` output; built from the snapshot (hyperscalers, suspect Oracle
        quarters left out) when omitted.
    capex_intensity_threshold : float
        Capex / revenue (fraction) at or above which the pool is called capital-intensive.
    history_years : int
        How far back the historical comparison looks.
    """
    if pooled is None:
        table = load_assumptions()
        pooled = pooled_capex_intensity(load_ttm(), suspect_quarters(
            load_quarters(), ratio=assumption("suspect_quarter_ratio", table=table)))
    clean = pooled.dropna(subset=["capex_intensity"]).sort_values("qi")
    if clean.empty:
        return Verdict("not testable with public data", "No calendar quarter has a pooled capex and revenue figure.")
    latest = clean.iloc[-1]
    status = "supported" if latest["capex_intensity"] >= capex_intensity_threshold else "not supported"
    back = clean[clean["qi"] >= latest["qi"] - 4 * history_years]
    then = back.iloc[0]
    first = clean.iloc[0]
    year_ago = pooled[pooled["qi"] == latest["qi"] - 4]
    growth = ""
    numbers = {"capex_intensity": float(latest["capex_intensity"]), "quarter": latest["calendar_label"],
               "threshold": capex_intensity_threshold, "then_quarter": then["calendar_label"],
               "then_capex_intensity": float(then["capex_intensity"])}
    if not year_ago.empty and pd.notna(year_ago["capex"].iloc[0]) and year_ago["revenue"].iloc[0]:
        capex_g = latest["capex"] / year_ago["capex"].iloc[0] - 1
        rev_g = latest["revenue"] / year_ago["revenue"].iloc[0] - 1
        growth = (f" Over the last year pooled capex grew {capex_g:.0%} against revenue {rev_g:.0%}"
                  + (": capex per dollar of revenue is still rising." if capex_g > rev_g else "."))
        numbers.update({"capex_growth": float(capex_g), "revenue_growth": float(rev_g)})
    relation = "at or above" if status == "supported" else "below"
    left_out = pooled[pooled["excluded"] != ""]
    gap_text = (f" Quarters {left_out['calendar_label'].iloc[0]} to {left_out['calendar_label'].iloc[-1]} are left "
                "out of the history: a suspect quarterly figure falls in their twelve months "
                f"({left_out['excluded'].iloc[0].split(';')[0]}).") if not left_out.empty else ""
    summary = (
        f"In the twelve months to calendar {latest['calendar_label']} the hyperscalers spent "
        f"{latest['capex_intensity']:.1%} of revenue on capex (${latest['capex'] / 1e9:,.0f}bn of "
        f"${latest['revenue'] / 1e9:,.0f}bn), {relation} the {capex_intensity_threshold:.0%} threshold; "
        f"in {then['calendar_label']} it was {then['capex_intensity']:.1%}, and {first['capex_intensity']:.1%} in "
        f"{first['calendar_label']}, the earliest quarter with a pooled figure.{growth}{gap_text}"
    )
    return Verdict(status, summary, numbers,
                   "SEC EDGAR XBRL filings (10-K, 10-Q) of " + ", ".join(hyperscalers()))
