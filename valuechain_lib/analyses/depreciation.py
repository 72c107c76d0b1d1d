"""Depreciation against capex, PP&E and revenue, useful-life changes and margins (claims A9, A10).

Pure functions take frames and return frames; the ``load_*`` functions are the thin layer that reads
the snapshot (`valuechain_lib.snapshot.financials`), the facts table (`valuechain_lib.snapshot.facts`) and the declared
assumptions (``data/depreciation_assumptions.csv``). Money is in currency units (USD), ratios are
plain fractions, margin changes are in fractions of revenue (0.01 = one percentage point). A zero or
missing input gives NaN, never 0.

Which depreciation figure: ``depreciation_amortization`` where the company tags it (Amazon, Meta,
CoreWeave), else ``depreciation`` alone (Alphabet, Microsoft, Oracle); the ``da_measure`` column
says which. Alphabet's us-gaap ``Depreciation`` is filed for fiscal 2021–2025 and, from year-to-date
facts, for the quarters of 2023 onward; Microsoft's only for the quarters from September 2024, so it
has no year-earlier twelve months yet. Companies are compared over one calendar window
(`a9_context`); Microsoft's fiscal-year D&A growth from the facts table (`FACTS_DA_PAIRS`) is shown
only beside that comparison, with its own period named.

References
----------
Essay A, "The AI Value Chain Is Collapsing Inward" (late 2025), claims A9 and A10 as numbered in
``shared/theses.md``.

Examples
--------
>>> from valuechain_lib.analyses import depreciation as dep
>>> dep.straight_line_depreciation(120.0, 6)
20.0
>>> dep.verdict_a10(capex_intensity_threshold=0.20).status  # doctest: +SKIP
'supported'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from valuechain_lib.calc.aggregate import calendar_sum
from valuechain_lib.calc.metrics import (
    get_capex_intensity,
    get_da_to_capex,
    get_growth,
    get_operating_margin,
    line_items,
)
from valuechain_lib.calc.periods import fiscal_label
from valuechain_lib.claims.verdicts import Verdict, at_least, through_text
from valuechain_lib.errors import ValueChainError
from valuechain_lib.paths import data_dir
from valuechain_lib.snapshot import assumptions
from valuechain_lib.snapshot.assumptions import COLUMNS as ASSUMPTION_COLUMNS
from valuechain_lib.snapshot.assumptions import AssumptionsError
from valuechain_lib.snapshot.facts import CONFIDENCES, KINDS, facts, label
from valuechain_lib.snapshot.financials import financials
from valuechain_lib.snapshot.memo import memoized
from valuechain_lib.snapshot.universe import members
from valuechain_lib.snapshot.vintage import as_of

__all__ = [
    "ASSUMPTION_COLUMNS", "DA_MEASURES", "FACTS_DA_PAIRS", "ITEMS", "AssumptionsError",
    "assumption", "current_lives", "da_revenue_growth", "da_vs_capex_ppe", "exclude_suspect_windows",
    "A9_CONTEXT_COLUMNS", "a9_context", "a9_verdict", "a10_verdict", "common_quarter", "facts_da_growth",
    "life_change_effects", "load_assumptions", "load_fy", "load_quarters", "load_ttm",
    "operating_margin_sensitivity", "pooled_capex_intensity", "pooled_period_ends", "sensitivity_inputs",
    "straight_line_depreciation", "suspect_quarters", "useful_life_changes", "validate_assumptions",
    "verdict_a9", "verdict_a10", "wide_by_quarter",
]

#: The companies compared (`valuechain_lib.snapshot.universe.members`).
SUB_LAYER = "hyperscaler"
#: Depreciation line items, preferred first.
DA_MEASURES = ("depreciation_amortization", "depreciation")
#: The snapshot line items this module reads.
ITEMS = ("depreciation_amortization", "depreciation", "capex", "ppe_net", "revenue", "operating_income")
#: Facts-table pairs (earlier year, later year, the cash-flow line) of annual D&A on one basis, for a
#: company whose year-on-year D&A growth the filings' tags do not give: Microsoft, FY2024 and FY2025
#: as reported in the FY2025 10-K (both high confidence; the FY2026 10-K restated both, F144a/b,
#: low). Fiscal years to June: never set beside other companies' calendar windows as like for like.
FACTS_DA_PAIRS = {
    "MSFT": ("F142", "F143", "depreciation, amortization, and other"),
}
_EFFECT_OF = re.compile(r"^Effect of (?:the )?(F\d+)")


# --------------------------------------------------------------------------- assumptions

def validate_assumptions(frame: pd.DataFrame, facts_table: pd.DataFrame | None = None) -> None:
    """Check the assumptions table: the rules of `valuechain_lib.snapshot.assumptions.validate_assumptions`.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table as read from CSV (text cells are fine).
    facts_table : pandas.DataFrame, optional
        The facts table (`valuechain_lib.snapshot.facts.facts`); loaded when omitted.
    """
    assumptions.validate_assumptions(frame, facts_table)


def load_assumptions(path=None, facts_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read and validate ``data/depreciation_assumptions.csv``; numbers as float, indexed by name.

    The table is a declared model input, not dated data: its citations are checked against the whole
    facts table even inside `valuechain_lib.snapshot.vintage.as_of` (where `facts` hides later rows).
    """
    if facts_table is None:
        with as_of(None):
            facts_table = facts()
    path = data_dir() / "depreciation_assumptions.csv" if path is None else path
    return assumptions.load_assumptions(path, facts_table=facts_table).set_index("name")


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

@memoized
def load_ttm(tickers=None, since: int = 2015) -> pd.DataFrame:
    """Calendar-aligned TTM rows of `ITEMS` (tidy, from the snapshot); default the hyperscalers."""
    table = financials(list(tickers or members(sub_layer=SUB_LAYER)), freq="TTM", calendar=True, metrics=list(ITEMS))
    return table[table["calendar_year"] >= since].reset_index(drop=True)


@memoized
def load_quarters(tickers=None, metrics=("revenue",)) -> pd.DataFrame:
    """Discrete fiscal quarters (tidy, calendar labels kept), for `suspect_quarters`."""
    return financials(list(tickers or members(sub_layer=SUB_LAYER)), freq="Q", calendar=True, metrics=list(metrics))


def load_fy(tickers=None) -> pd.DataFrame:
    """Fiscal-year rows of revenue, operating income and net PP&E (tidy, the companies' own years)."""
    return financials(list(tickers or members(sub_layer=SUB_LAYER)), freq="FY",
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
        ``calendar_label`` (``2026 Q1``), ``fiscal_label`` (the company's own quarter), ``period_end``
        (the end of the company's own quarter) and ``items`` (NaN where absent).
    """
    keys = ["ticker", "calendar_year", "calendar_quarter", "fiscal_label", "period_end", "quarter_end",
            "calendar_label"]
    wide = line_items(table, items, keys=keys, keep_empty=True).reset_index()
    wide["calendar_year"] = wide["calendar_year"].astype(int)
    wide["calendar_quarter"] = wide["calendar_quarter"].astype(int)
    wide["qi"] = _qi(wide["calendar_year"], wide["calendar_quarter"])
    cols = ["ticker", "calendar_year", "calendar_quarter", *items, "fiscal_label", "period_end", "qi", "quarter_end",
            "calendar_label"]
    return wide[cols].sort_values(["ticker", "qi"]).reset_index(drop=True)


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
        The facts table (`valuechain_lib.snapshot.facts.facts`).
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
            "ticker": ticker, "period": f"{fiscal_label(y1, 'FY')} vs {fiscal_label(y0, 'FY')}", "da_growth": da_growth,
            "revenue_growth": rev_growth, "growth_gap": da_growth - rev_growth,
            "da_measure": line,
            "source": f"facts table {early_id}, {late_id}; revenue from SEC XBRL fiscal years",
            "kind": max(kinds, key=KINDS.index), "confidence": max(confs, key=CONFIDENCES.index),
            "fact_ids": f"{early_id}, {late_id}",
            "labels": "; ".join(label(r) for r in (early.rename(None), late.rename(None))),
        })
    return pd.DataFrame(rows)


def common_quarter(frame: pd.DataFrame, tickers: Sequence[str], columns: Sequence[str]) -> int:
    """The latest calendar quarter at which every company in ``tickers`` has all of ``columns``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with ``ticker`` and ``qi`` (calendar-aligned, e.g. `wide_by_quarter` output).
    tickers : sequence of str
        The companies compared.
    columns : sequence of str
        The figures each must have (non-NaN).

    Returns
    -------
    int
        The running quarter number ``qi`` (``year * 4 + quarter - 1``).

    Raises
    ------
    ValueChainError
        When no calendar quarter has every figure for every company.
    """
    rows = frame[frame["ticker"].isin(tickers)].dropna(subset=list(columns))
    counts = rows.groupby("qi")["ticker"].nunique()
    complete = counts[counts == len(set(tickers))]
    if complete.empty:
        raise ValueChainError(f"no calendar quarter in which all of {sorted(tickers)} have {list(columns)}")
    return int(complete.index.max())


#: The columns `a9_context` returns.
A9_CONTEXT_COLUMNS = ["ticker", "calendar_label", "qi", "fiscal_label", "period_end", "da_measure", "da", "revenue",
                      "operating_income", "da_to_revenue", "operating_margin", "da_growth", "revenue_growth",
                      "growth_gap", "note"]


def a9_context(growth: pd.DataFrame, tickers: Sequence[str]) -> pd.DataFrame:
    """Like-for-like depreciation measures of the companies over ONE calendar window (claim A9).

    The window is the twelve months to the latest calendar quarter at which every company with a
    depreciation figure has TTM D&A, revenue and operating income (`common_quarter`), each
    company's own fiscal quarter labelled with the calendar quarter whose end is nearest. Formulas:
    ``da_to_revenue = da / revenue``; ``operating_margin = operating_income / revenue``;
    ``da_growth``, ``revenue_growth`` and ``growth_gap`` as in `da_revenue_growth` (TTM against the
    TTM four calendar quarters earlier), NaN with a ``note`` where the year-earlier window is not in
    the filings. A company with no depreciation figure at all gets a row of NaN saying so.

    Parameters
    ----------
    growth : pandas.DataFrame
        `da_revenue_growth` output on `wide_by_quarter` TTM rows (``period_end`` included).
    tickers : sequence of str
        The companies compared.

    Returns
    -------
    pandas.DataFrame
        One row per company, every row on the same ``calendar_label``: `A9_CONTEXT_COLUMNS`.

    Raises
    ------
    ValueChainError
        When fewer than two companies have a depreciation figure, or they share no calendar quarter.

    Examples
    --------
    Two companies; B's data end a quarter later, so both are read at A's last quarter:

    >>> g = pd.DataFrame({"ticker": ["A", "B", "B"], "qi": [8100, 8100, 8101],
    ...                   "calendar_label": ["2025 Q1", "2025 Q1", "2025 Q2"], "fiscal_label": "",
    ...                   "period_end": pd.NaT, "da_measure": "depreciation", "da": [10.0, 20.0, 22.0],
    ...                   "revenue": 100.0, "operating_income": 30.0, "da_growth": 0.2,
    ...                   "revenue_growth": 0.1, "growth_gap": 0.1})
    >>> a9_context(g, ["A", "B"])["calendar_label"].tolist()
    ['2025 Q1', '2025 Q1']
    """
    tickers = list(dict.fromkeys(tickers))
    rows = growth[growth["ticker"].isin(tickers)]
    with_da = [t for t in tickers if rows.loc[rows["ticker"] == t, "da"].notna().any()]
    if len(with_da) < 2:
        raise ValueChainError(f"A9: fewer than two of {tickers} have a depreciation figure in the filings "
                              f"({', '.join(with_da) or 'none'})")
    qi = common_quarter(rows, with_da, ["da", "revenue", "operating_income"])
    at = rows[rows["qi"] == qi].set_index("ticker")
    window = str(at["calendar_label"].iloc[0])
    out = []
    for t in tickers:
        if t not in with_da:
            out.append({"ticker": t, "calendar_label": window, "qi": qi,
                        "note": "no depreciation figure in the filings for any twelve months"})
            continue
        r = at.loc[t]
        note = ""
        if pd.isna(r["da_growth"]):
            note = "no depreciation figure for the twelve months a year earlier"
        elif pd.isna(r["growth_gap"]):
            note = "revenue growth left out: a suspect quarter falls in one of the two windows"
        out.append({"ticker": t, "calendar_label": window, "qi": qi, "fiscal_label": r["fiscal_label"],
                    "period_end": r["period_end"], "da_measure": r["da_measure"], "da": r["da"],
                    "revenue": r["revenue"], "operating_income": r["operating_income"],
                    "da_growth": r["da_growth"], "revenue_growth": r["revenue_growth"],
                    "growth_gap": r["growth_gap"], "note": note})
    frame = pd.DataFrame(out).reindex(columns=A9_CONTEXT_COLUMNS)
    for col in ("da", "revenue", "operating_income", "da_growth", "revenue_growth", "growth_gap"):
        frame[col] = frame[col].astype(float)
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    frame["da_to_revenue"] = get_operating_margin(frame["da"], frame["revenue"])  # same NaN-guarded ratio
    frame["operating_margin"] = get_operating_margin(frame["operating_income"], frame["revenue"])
    frame["note"] = frame["note"].fillna("")
    return frame


# --------------------------------------------------------------------------- useful lives

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
        shortened, stated), ``direction_basis``, ``effect_year`` (fiscal year of the cited effect) and
        ``effect_label`` (its name, ``FY2023``; None without a cited effect), ``operating_income_effect``
        (USD, signed), ``effect_basis``, ``net_income_effect`` (USD, signed), ``fact_ids``, ``kind``
        (least direct of the facts used), ``confidence`` (lowest), ``label`` (of the life facts and
        effects, via `facts.label`).
    """
    table = facts(claim_id="A9") if facts_table is None else facts_table
    table = table[table["metric"].str.startswith("Useful life") | table["metric"].str.startswith("Effect of")]
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
                "company": entity, "ticker": str(after["ticker"]), "asset_class": cls,
                "effective": after["as_of"], "from_years": from_y, "to_years": to_y, "direction": direction,
                "direction_basis": basis_dir,
                "effect_year": year, "effect_label": None if np.isnan(year) else fiscal_label(year, "FY"),
                "operating_income_effect": oi, "effect_basis": basis,
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
    fy = line_items(fy_table, sorted(fy_table["metric"].unique()), keys=["ticker", "fiscal_year"], keep_empty=True)
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
        ``ticker, calendar_label, fiscal_label, period_end`` (the company's own quarter end, for a
        chart's "data through"), ``revenue, operating_income, ppe_net, current_life_years``.
    """
    tickers = list(tickers or [t for t in lives.index if t in set(wide["ticker"])])
    rows = wide[wide["ticker"].isin(tickers)].dropna(subset=["revenue", "operating_income", "ppe_net"])
    counts = rows.groupby("qi")["ticker"].nunique()
    complete = counts[counts == len(tickers)]
    if complete.empty:
        raise ValueChainError(f"no calendar quarter where all of {tickers} have revenue, operating income and PP&E")
    at = rows[rows["qi"] == complete.index.max()].copy()
    at["current_life_years"] = at["ticker"].map(lives)
    cols = ["ticker", "calendar_label", "fiscal_label", "period_end", "revenue", "operating_income", "ppe_net",
            "current_life_years"]
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

    Construction in progress: net PP&E includes assets not yet in service (data centres being built,
    servers not yet deployed) and land, none of which is depreciated. The model does not separate
    them (the snapshot has no construction-in-progress line): it applies the share to the whole net
    PP&E balance, so the "server base" counts some capex that no life choice yet affects. The
    declared share is meant to absorb that, being set from the cited effects of the 2023–2025 life
    changes; but when construction in progress rises faster than assets in service, as in 2025–2026,
    a fixed share overstates the base and so the margin swing.

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

    Parameters
    ----------
    ttm : pandas.DataFrame
        Calendar-aligned TTM rows of `financials` (`load_ttm`); their ``quarter_end`` and
        ``calendar_label`` come along.
    suspects : pandas.DataFrame, optional
        `suspect_quarters` output.

    Returns
    -------
    pandas.DataFrame
        ``calendar_year, calendar_quarter, qi, calendar_label, quarter_end, capex, revenue,
        capex_intensity, missing, excluded``.
    """
    rows = ttm[ttm["metric"].isin(["capex", "revenue"])]
    sums = calendar_sum(rows, by=None)
    quarter = ["calendar_year", "calendar_quarter", *[c for c in ("quarter_end", "calendar_label") if c in sums]]
    wide = line_items(sums, ["capex", "revenue"], keys=quarter, keep_empty=True)
    gaps = sums[sums["missing"] != ""].assign(text=lambda d: d["metric"] + " lacks " + d["missing"])
    gaps = gaps.groupby(quarter)["text"].agg("; ".join)
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
    cols = ["calendar_year", "calendar_quarter", "capex", "revenue", "missing", "qi", "excluded", "capex_intensity",
            "quarter_end", "calendar_label"]
    return wide[[c for c in cols if c in wide]].sort_values("qi").reset_index(drop=True)


def pooled_period_ends(ttm: pd.DataFrame, calendar_label: str, metrics=("capex", "revenue")) -> dict:
    """Each company's own period end in the calendar quarter ``calendar_label`` (``"2026 Q1"``).

    Returns
    -------
    dict
        ticker → the latest ``period_end`` of its rows of ``metrics`` with a value in that quarter.
    """
    year, quarter = (int(x) for x in calendar_label.split(" Q"))
    rows = ttm[(ttm["calendar_year"] == year) & (ttm["calendar_quarter"] == quarter)
               & ttm["metric"].isin(metrics) & ttm["value"].notna()]
    return {t: pd.Timestamp(e) for t, e in rows.groupby("ticker")["period_end"].max().items()}


# --------------------------------------------------------------------------- verdicts

def _pct(x: float) -> str:
    return f"{x:+.0%}"


def _latest_lives(changes: pd.DataFrame) -> pd.Series:
    """Each company's latest cited server life (years), by the effective date of the change."""
    rows = changes.dropna(subset=["to_years"])
    rows = rows[rows["ticker"].astype(str) != ""].sort_values("effective")
    return rows.groupby("ticker")["to_years"].last()


def verdict_a9() -> Verdict:
    """Verdict on A9 from the snapshot and facts table (rule and reasons in `a9_verdict`)."""
    tickers = members(sub_layer=SUB_LAYER)
    wide = wide_by_quarter(load_ttm(tickers))
    suspects = suspect_quarters(load_quarters(tickers), ratio=assumption("suspect_quarter_ratio"))
    growth = exclude_suspect_windows(da_revenue_growth(da_vs_capex_ppe(wide)), suspects,
                                     ["revenue_growth", "growth_gap"], span=8)
    return a9_verdict(a9_context(growth, tickers), useful_life_changes())


def a9_verdict(context: pd.DataFrame, changes: pd.DataFrame) -> Verdict:
    """Claim A9, "power goes to whoever manages GPU depreciation best": not testable as phrased.

    The claim, as the essay states it: among the companies that own AI compute, the one that handles
    the cost of ageing GPUs best (the useful lives it sets, and depreciation kept in step with the
    revenue the chips earn) ends up holding the power in the value chain.

    Rule: *not testable with public data*, whatever the figures, for three reasons. (1) No filing
    separates GPU depreciation: depreciation is reported for all property and equipment, useful lives
    for "servers and network equipment" as a class. (2) "Manages best" has no public yardstick: a
    useful life is an accounting estimate that moves profit between years without changing the cash
    spent, and the GPUs' economic life is not disclosed. (3) "Power" is not a filed figure, and five
    companies in one window cannot separate depreciation from everything else that drives their
    margins. D&A outgrowing revenue, or margins raised by longer lives, are different statements and
    are reported as context only, over ONE calendar window for every company (``context``).

    Parameters
    ----------
    context : pandas.DataFrame
        `a9_context` output: one row per company, all on the same ``calendar_label``.
    changes : pandas.DataFrame
        `useful_life_changes` output (cited lives and their direction).

    Returns
    -------
    Verdict
        Status ``not testable with public data``; ``numbers`` holds the like-for-like context.

    Raises
    ------
    ValueChainError
        When the rows of ``context`` are not all on one calendar window.
    """
    windows = context["calendar_label"].dropna().unique()
    if len(windows) != 1:
        raise ValueChainError(f"A9 compares companies over different calendar windows: {sorted(windows)}")
    window = str(windows[0])
    compared = context.dropna(subset=["da"])
    lacking = context.loc[context["da"].isna(), "ticker"].tolist()
    have = compared.dropna(subset=["da_growth", "revenue_growth"]).sort_values("growth_gap", ascending=False)
    no_growth = compared[compared["da_growth"].isna() | compared["revenue_growth"].isna()]
    faster = have[have["growth_gap"] > 0]
    meaning = ("As the essay states it, the claim is that among the companies that own AI compute, the one that "
               "handles the cost of ageing GPUs best ends up with the power in the value chain.")
    why = ("Public data cannot test it as phrased: no filing separates GPU depreciation from that of other "
           "property and equipment; a useful life is an accounting estimate that moves profit between years "
           "without changing the cash spent, so \"manages best\" has no public yardstick; and \"power\" is not a "
           "filed figure, nor can five companies in one window separate depreciation from the other drivers "
           "of their margins.")
    parts = []
    if not have.empty:
        parts.append(f"D&A grew faster than revenue at {len(faster)} of the {len(have)} with a year-earlier "
                     "figure (" + "; ".join(f"{r.ticker} {_pct(r.da_growth)} against {_pct(r.revenue_growth)}"
                                            for r in have.itertuples()) + ")")
    if not no_growth.empty:
        parts.append(", ".join(no_growth["ticker"]) + " lack" + ("s" if len(no_growth) == 1 else "")
                     + " the year-earlier twelve months")
    by_burden = compared.sort_values("da_to_revenue")
    parts.append("D&A took " + ", ".join(f"{r.ticker} {r.da_to_revenue:.1%}" for r in by_burden.itertuples())
                 + " of revenue, against operating margins of "
                 + ", ".join(f"{r.ticker} {r.operating_margin:.1%}" for r in by_burden.itertuples()))
    mine = changes[changes["ticker"].isin(compared["ticker"])]
    lives = _latest_lives(mine)
    # One change a company and date: Alphabet's 2023 change covers servers and network equipment.
    events = mine.drop_duplicates(["ticker", "effective", "direction"])
    lengthened = int((events["direction"] == "lengthened").sum())
    shortened = events[events["direction"] == "shortened"]
    if not lives.empty:
        span = (f"{lives.min():g} years" if lives.min() == lives.max()
                else f"from {lives.min():g} to {lives.max():g} years")
        parts.append(f"the latest cited server lives ({', '.join(lives.index)}) are {span}, after "
                     f"{lengthened} cited lengthening{'s' if lengthened != 1 else ''} and "
                     f"{len(shortened)} shortening{'s' if len(shortened) != 1 else ''}"
                     + (f" ({', '.join(shortened['company'])})" if not shortened.empty else ""))
    context_text = (f"As context only, over the twelve months to calendar {window} (each company's own quarter "
                    "end under Data through): " + "; ".join(parts) + ".")
    if lacking:
        context_text += f" {', '.join(lacking)}: no depreciation figure in the filings then."
    numbers = {"window": window, "n_compared": len(compared), "n_with_growth": len(have), "n_faster": len(faster),
               "n_lengthenings": lengthened, "n_shortenings": len(shortened)}
    for r in compared.itertuples():
        numbers.update({f"{r.ticker}_da_growth": float(r.da_growth), f"{r.ticker}_revenue_growth": float(r.revenue_growth),
                        f"{r.ticker}_growth_gap": float(r.growth_gap), f"{r.ticker}_da_to_revenue": float(r.da_to_revenue),
                        f"{r.ticker}_operating_margin": float(r.operating_margin)})
    numbers.update({f"{t}_server_life": float(v) for t, v in lives.items()})
    ids = sorted({i.strip() for v in mine["fact_ids"] for i in str(v).split(",") if i.strip()},
                 key=lambda x: (int(re.sub(r"\D", "", x)), x))
    sources = ("SEC EDGAR XBRL filings (10-K, 10-Q) of " + ", ".join(compared["ticker"])
               + (f"; useful lives: facts table {', '.join(ids)}" if ids else ""))
    return Verdict(status="not testable with public data", summary=" ".join([meaning, why, context_text]),
                   numbers=numbers, sources=sources,
                   data_through=through_text(dict(zip(compared["ticker"], compared["period_end"], strict=True))))


def verdict_a10(capex_intensity_threshold: float, history_years: int = 3) -> Verdict:
    """Verdict on A10 from the snapshot (rule in `a10_verdict`); the threshold comes from the ledger."""
    tickers = members(sub_layer=SUB_LAYER)
    ttm = load_ttm(tickers)
    suspects = suspect_quarters(load_quarters(tickers), ratio=assumption("suspect_quarter_ratio"))
    pooled = pooled_capex_intensity(ttm, suspects)
    clean = pooled.dropna(subset=["capex_intensity"])
    ends = pooled_period_ends(ttm, clean["calendar_label"].iloc[-1]) if not clean.empty else None
    return a10_verdict(pooled, capex_intensity_threshold, history_years=history_years, ends=ends)


def a10_verdict(pooled: pd.DataFrame, capex_intensity_threshold: float, history_years: int = 3,
                ends: Mapping | None = None) -> Verdict:
    """Claim A10 ("AI infrastructure is capital-intensive, not capital-efficient") on capex intensity.

    The claim, as the essay states it: the companies building AI infrastructure must spend a large
    and rising share of their revenue on capital goods to earn it. Rule: *supported* when the
    hyperscalers' pooled TTM capex / revenue (`pooled_capex_intensity`: the same calendar quarter
    for every company) in the latest calendar quarter with a pooled figure is at or above
    ``capex_intensity_threshold``; *not supported* below it (`verdicts.at_least`). The summary sets
    it against the pooled figure ``history_years`` earlier (or the first clean quarter after) and
    the earliest clean quarter, and compares capex growth with revenue growth over the last year
    (the "not capital-efficient" half: capex rising faster than the revenue it serves), as context.

    Parameters
    ----------
    pooled : pandas.DataFrame
        `pooled_capex_intensity` output.
    capex_intensity_threshold : float
        Capex / revenue (fraction) at or above which the pool is called capital-intensive; from
        ``data/claims.csv``.
    history_years : int
        How far back the historical comparison looks.
    ends : mapping, optional
        ticker → its own period end in the latest pooled quarter (`pooled_period_ends`), for
        ``data_through``.

    Returns
    -------
    Verdict
    """
    clean = pooled.dropna(subset=["capex_intensity"]).sort_values("qi")
    if clean.empty:
        return Verdict("not testable with public data", "No calendar quarter has a pooled capex and revenue figure.")
    latest = clean.iloc[-1]
    compared = at_least(float(latest["capex_intensity"]), capex_intensity_threshold, unit="share",
                        measure=f"pooled capex / revenue of the hyperscalers, twelve months to calendar "
                                f"{latest['calendar_label']}")
    then = clean[clean["qi"] >= latest["qi"] - 4 * history_years].iloc[0]
    first = clean.iloc[0]
    year_ago = pooled[pooled["qi"] == latest["qi"] - 4]
    numbers = {"capex_intensity": float(latest["capex_intensity"]), "quarter": latest["calendar_label"],
               "threshold": capex_intensity_threshold, "capex": float(latest["capex"]),
               "revenue": float(latest["revenue"]), "then_quarter": then["calendar_label"],
               "then_capex_intensity": float(then["capex_intensity"]), "first_quarter": first["calendar_label"],
               "first_capex_intensity": float(first["capex_intensity"])}
    growth = ""
    if not year_ago.empty and pd.notna(year_ago["capex"].iloc[0]) and year_ago["revenue"].iloc[0]:
        capex_g = latest["capex"] / year_ago["capex"].iloc[0] - 1
        rev_g = latest["revenue"] / year_ago["revenue"].iloc[0] - 1
        growth = (f" Over the last year pooled capex grew {capex_g:.0%} against revenue {rev_g:.0%}"
                  + (": capex per dollar of revenue is still rising." if capex_g > rev_g else "."))
        numbers.update({"capex_growth": float(capex_g), "revenue_growth": float(rev_g)})
    relation = "at or above" if compared["status"] == "supported" else "below"
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
    tickers = sorted(ends) if ends else members(sub_layer=SUB_LAYER)
    return Verdict(summary=summary, **compared, numbers=numbers,
                   sources="SEC EDGAR XBRL filings (10-K, 10-Q) of " + ", ".join(tickers),
                   data_through=through_text(dict(ends)) if ends else "")
