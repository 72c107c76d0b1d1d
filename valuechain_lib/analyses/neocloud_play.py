"""Neoclouds (CoreWeave, Nebius) against the hyperscalers: growth, margins, capex, interest, backlog (A6, B10).

CoreWeave's statements come from the snapshot, which takes them from a third-party derived file
(secondary source, no accession numbers); its cost of revenue excludes depreciation, so
`get_adjusted_gross_profit` also subtracts D&A. Nebius files no us-gaap XBRL statements: its
figures, CoreWeave's interest expense, backlog and customer shares are rows of the facts table,
shown with their kind (press reports labelled) and confidence. The hyperscalers' short names in prose
are `valuechain_lib.analyses.capex_vs_cash.SHORT_NAMES`, re-exported here for the chapter.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from valuechain_lib.analyses.capex_vs_cash import SHORT_NAMES
from valuechain_lib.calc.metrics import (
    get_capex_intensity,
    get_gross_margin,
    get_gross_profit,
    get_operating_margin,
    line_items,
)
from valuechain_lib.calc.periods import calendar_quarter_end, with_period_labels
from valuechain_lib.claims.ledger import facts_through
from valuechain_lib.claims.verdicts import Verdict, through_text
from valuechain_lib.snapshot.facts import CONFIDENCES, QUARTER_PERIOD, facts, label
from valuechain_lib.snapshot.financials import financials
from valuechain_lib.snapshot.memo import memoized
from valuechain_lib.snapshot.universe import members

COREWEAVE = "CRWV"
#: The peers CoreWeave is set against (`valuechain_lib.snapshot.universe.members`).
PEERS = "hyperscaler"
POOLED = "Hyperscalers pooled"
ITEMS = ("revenue", "cost_of_revenue", "gross_profit", "depreciation_amortization", "operating_income",
         "net_income", "capex")
#: Multipliers from the facts table's money units to USD.
USD_PER_UNIT = {"USD million": 1e6, "USD billion": 1e9}
SECONDARY = "third-party derived statements (secondary source, no accession numbers)"
#: Roles of the facts rows bearing on claim B10 (`owner_evidence`).
B10_ROLES = ("rents out", "buys from a neocloud", "market reaction")

__all__ = [
    "B10_ROLES", "COREWEAVE", "PEERS", "POOLED", "SECONDARY", "SHORT_NAMES", "coreweave", "coreweave_backlog", "coreweave_interest",
    "customer_concentration", "fragility", "get_adjusted_gross_profit", "get_growth_yoy", "hyperscaler_ttm",
    "latest_concentration", "nebius_quarters", "owner_evidence", "owner_supply_verdict", "peer_comparison", "to_usd",
    "together_ai", "together_verdict", "verdict_a6", "verdict_b10",
]


# --------------------------------------------------------------------------- pure metric functions
def get_adjusted_gross_profit(revenue, cost_of_revenue, depreciation_amortization):
    """Depreciation-adjusted gross profit: revenue − cost_of_revenue − depreciation_amortization.

    For a company whose cost of revenue excludes depreciation (CoreWeave), this puts its gross
    profit on the footing of companies whose cost of revenue carries the depreciation of the
    servers they rent out.

    Parameters
    ----------
    revenue, cost_of_revenue, depreciation_amortization : float or pandas.Series
        Currency units; cost and D&A positive.

    Returns
    -------
    float or pandas.Series
        Currency units; NaN where any input is missing.

    Examples
    --------
    >>> get_adjusted_gross_profit(100.0, 25.0, 45.0)
    30.0
    """
    return revenue - cost_of_revenue - depreciation_amortization


def get_growth_yoy(current, year_earlier):
    """Year-on-year growth: current / year_earlier − 1 (fraction); NaN where the base is zero or missing.

    Examples
    --------
    >>> round(get_growth_yoy(2078.0, 981.632), 4)
    1.1169
    """
    if isinstance(year_earlier, pd.Series | np.ndarray):
        base = pd.Series(year_earlier, dtype="float64")
        base = base.where(base != 0)
        return current / (base.to_numpy() if isinstance(current, np.ndarray) else base) - 1
    if pd.isna(year_earlier) or year_earlier == 0:
        return float("nan")
    return current / year_earlier - 1


def to_usd(value, unit: str) -> float:
    """A facts-table money amount in USD (``USD million`` and ``USD billion``); NaN for other units."""
    return float(value) * USD_PER_UNIT[unit] if unit in USD_PER_UNIT else float("nan")


# --------------------------------------------------------------------------- snapshot layer


def _wide(table: pd.DataFrame, items) -> pd.DataFrame:
    table = with_period_labels(table)
    keys = ["ticker", "calendar_year", "calendar_quarter", "fiscal_year", "fiscal_period", "period_end", "fiscal_label",
            "quarter_end", "calendar_label"]
    wide = line_items(table, items, keys=keys, keep_empty=True).reset_index()
    return wide[["ticker", "calendar_year", "calendar_quarter", *items, *keys[3:]]]


def _add_yoy(wide: pd.DataFrame, column: str, out: str) -> pd.DataFrame:
    """Growth of ``column`` against the same calendar quarter a year earlier, per ticker (gaps stay NaN)."""
    prior = wide[["ticker", "calendar_year", "calendar_quarter", column]].copy()
    prior["calendar_year"] = prior["calendar_year"] + 1
    merged = wide.merge(prior.rename(columns={column: "_prior"}), how="left",
                        on=["ticker", "calendar_year", "calendar_quarter"])
    merged[out] = get_growth_yoy(merged[column], merged["_prior"])
    return merged.drop(columns="_prior")


def _margins(wide: pd.DataFrame) -> pd.DataFrame:
    computed = wide["gross_profit"].isna() & wide["revenue"].notna() & wide["cost_of_revenue"].notna()
    wide["gross_profit"] = wide["gross_profit"].where(~computed, get_gross_profit(wide["revenue"],
                                                                                 wide["cost_of_revenue"]))
    wide["gross_margin"] = get_gross_margin(wide["gross_profit"], wide["revenue"])
    wide["operating_margin"] = get_operating_margin(wide["operating_income"], wide["revenue"])
    wide["capex_to_revenue"] = get_capex_intensity(wide["capex"], wide["revenue"])
    return wide


@memoized
def coreweave(freq: str = "Q", table: pd.DataFrame | None = None) -> pd.DataFrame:
    """CoreWeave's statements by calendar quarter, with gross margin as reported and D&A-adjusted.

    Parameters
    ----------
    freq : {"Q", "TTM"}
        Discrete quarters or trailing twelve months.
    table : pandas.DataFrame, optional
        Tidy rows as returned by `financials` (for tests); read from the snapshot by default.

    Returns
    -------
    pandas.DataFrame
        One row per calendar quarter: ``revenue, cost_of_revenue, depreciation_amortization,
        operating_income, net_income, capex`` (USD), ``gross_profit`` (revenue − cost of revenue,
        CoreWeave reporting no gross-profit line), ``adjusted_gross_profit`` (also less D&A),
        ``gross_margin`` (as reported: its cost of revenue excludes depreciation),
        ``adjusted_gross_margin``, ``operating_margin``, ``capex_to_revenue``, ``revenue_growth``
        (against the same calendar quarter a year earlier; NaN where the snapshot lacks it — it
        holds no 2024 quarters), ``quarter_end``, ``calendar_label``, ``fiscal_label``, ``period_end``
        (the file's own period end), ``source``.
    """
    if table is None:
        table = financials(COREWEAVE, freq=freq, calendar=True, metrics=list(ITEMS))
    table = table[table["ticker"] == COREWEAVE]
    wide = _margins(_wide(table, ITEMS))
    wide["adjusted_gross_profit"] = get_adjusted_gross_profit(wide["revenue"], wide["cost_of_revenue"],
                                                              wide["depreciation_amortization"])
    wide["adjusted_gross_margin"] = get_gross_margin(wide["adjusted_gross_profit"], wide["revenue"])
    wide = _add_yoy(wide, "revenue", "revenue_growth")
    wide["source"] = f"CoreWeave: {SECONDARY}"
    wide = wide.dropna(subset=["revenue"])
    return wide.sort_values("quarter_end").reset_index(drop=True)


def hyperscaler_ttm(tickers=None, since: int = 2023, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Trailing-twelve-month revenue, margins and capex intensity per hyperscaler and pooled.

    Gross profit is the reported line or revenue − cost of revenue; Oracle reports neither after
    fiscal 2018, so its gross margin is NaN and the pooled gross margin leaves it out
    (``gross_pooled_over`` names the companies). The pooled row adds companies over the same
    calendar quarter and only where every company has revenue, operating income and capex.

    Returns
    -------
    pandas.DataFrame
        ``ticker`` (or `POOLED`), calendar keys, ``revenue, gross_profit, operating_income, capex``
        (USD), ``gross_margin, operating_margin, capex_to_revenue, revenue_growth`` (fractions),
        ``gross_pooled_over``, ``quarter_end``, ``calendar_label``, ``period_end`` (the company's own;
        for the pooled row the latest of theirs).
    """
    tickers = list(tickers or members(sub_layer=PEERS))
    if table is None:
        table = financials(tickers, freq="TTM", calendar=True,
                           metrics=["revenue", "cost_of_revenue", "gross_profit", "operating_income", "capex"])
    table = table[table["ticker"].isin(tickers) & (table["calendar_year"] >= since - 1)]
    wide = _margins(_wide(table, ("revenue", "cost_of_revenue", "gross_profit", "operating_income", "capex")))
    keys = ["calendar_year", "calendar_quarter"]
    full = wide.dropna(subset=["revenue", "operating_income", "capex"])
    counts = full.groupby(keys)["ticker"].nunique()
    complete = counts[counts == len(tickers)].index
    full = full.set_index(keys).loc[complete].reset_index()
    sums = full.groupby([*keys, "quarter_end", "calendar_label"])[["revenue", "operating_income", "capex"]].sum()
    with_gp = full.dropna(subset=["gross_profit"]).groupby(keys)
    sums = sums.reset_index(["quarter_end", "calendar_label"])
    sums["gross_profit"] = with_gp["gross_profit"].sum()
    sums["gross_revenue"] = with_gp["revenue"].sum()
    sums["gross_pooled_over"] = with_gp["ticker"].agg(lambda t: ", ".join(sorted(t)))
    sums["period_end"] = full.groupby(keys)["period_end"].max()  # the latest company's own period end
    pooled = sums.reset_index().assign(ticker=POOLED)
    pooled["gross_margin"] = get_gross_margin(pooled["gross_profit"], pooled["gross_revenue"])
    pooled["operating_margin"] = get_operating_margin(pooled["operating_income"], pooled["revenue"])
    pooled["capex_to_revenue"] = get_capex_intensity(pooled["capex"], pooled["revenue"])
    wide["gross_pooled_over"] = ""
    out = pd.concat([wide, pooled.drop(columns="gross_revenue")], ignore_index=True)
    out = _add_yoy(out, "revenue", "revenue_growth")
    out = out[out["calendar_year"] >= since]
    cols = ["ticker", "calendar_year", "calendar_quarter", "quarter_end", "calendar_label", "period_end", "revenue",
            "gross_profit", "operating_income", "capex", "gross_margin", "operating_margin", "capex_to_revenue",
            "revenue_growth", "gross_pooled_over"]
    return out[cols].sort_values(["ticker", "quarter_end"]).reset_index(drop=True)


@memoized
def peer_comparison(coreweave_ttm: pd.DataFrame | None = None, hyperscalers_ttm: pd.DataFrame | None = None,
                    quarter: tuple[int, int] | None = None,
                    coreweave_quarters: pd.DataFrame | None = None) -> pd.DataFrame:
    """CoreWeave beside each hyperscaler and the pooled hyperscalers, trailing twelve months, one quarter.

    Parameters
    ----------
    coreweave_ttm, hyperscalers_ttm, coreweave_quarters : pandas.DataFrame, optional
        Outputs of ``coreweave("TTM")``, `hyperscaler_ttm` and ``coreweave("Q")`` (for tests).
    quarter : (year, quarter), optional
        Calendar quarter compared; default the latest one in which CoreWeave and the pooled row
        both have revenue and operating income.

    Returns
    -------
    pandas.DataFrame
        One row per entity: ``entity, calendar_label, period_end`` (its own period end; the pooled
        row's is the latest of the companies'), ``revenue, revenue_growth, growth_basis,
        gross_margin, adjusted_gross_margin`` (CoreWeave only), ``operating_margin, capex_to_revenue``.
        CoreWeave's growth is the quarter's own year-on-year growth where its file lacks the
        year-earlier TTM (it holds no 2024 quarters); ``growth_basis`` says which.
    """
    cw = coreweave("TTM") if coreweave_ttm is None else coreweave_ttm
    hs = hyperscaler_ttm() if hyperscalers_ttm is None else hyperscalers_ttm
    keys = ["calendar_year", "calendar_quarter"]
    if quarter is None:
        a = set(map(tuple, cw.dropna(subset=["revenue", "operating_income"])[keys].astype(int).to_numpy()))
        b = set(map(tuple, hs[hs["ticker"] == POOLED].dropna(subset=["revenue", "operating_income"])[keys]
                    .astype(int).to_numpy()))
        common = sorted(a & b)
        if not common:
            raise ValueError("CoreWeave and the pooled hyperscalers share no calendar quarter")
        quarter = common[-1]
    year, qtr = quarter

    def pick(d: pd.DataFrame) -> pd.DataFrame:
        return d[(d["calendar_year"] == year) & (d["calendar_quarter"] == qtr)]

    cols = ["entity", "calendar_label", "period_end", "revenue", "revenue_growth", "growth_basis", "gross_margin",
            "adjusted_gross_margin", "operating_margin", "capex_to_revenue"]
    cw_row = pick(cw).assign(entity="CoreWeave", growth_basis="TTM against TTM a year earlier")
    if cw_row["revenue_growth"].isna().all():
        # The file has no 2024 quarters, so CoreWeave's first TTM growth comes late: use the quarter's own.
        quarters = coreweave("Q") if coreweave_quarters is None else coreweave_quarters
        q = pick(quarters)
        if not q.empty and q["revenue_growth"].notna().all():
            cw_row = cw_row.assign(revenue_growth=q["revenue_growth"].to_numpy(),
                                   growth_basis="quarter against the same quarter a year earlier")
    hs_rows = pick(hs).assign(entity=lambda d: d["ticker"], adjusted_gross_margin=np.nan,
                              growth_basis="TTM against TTM a year earlier")
    hs_rows = hs_rows.assign(_pooled=hs_rows["entity"] == POOLED).sort_values(["_pooled", "entity"])
    return pd.concat([cw_row.reindex(columns=cols), hs_rows.reindex(columns=cols)], ignore_index=True)


# --------------------------------------------------------------------------- facts layer
def _quarterly(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[rows["period"].fillna("").str.match(QUARTER_PERIOD.pattern) & rows["value"].notna()]


def _describe(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.copy()
    rows["label"] = [label(r) for _, r in rows.iterrows()]
    rows["kind"] = rows["kind"].astype(str)
    rows["confidence"] = rows["confidence"].astype(str)
    return rows


def coreweave_interest(facts_frame: pd.DataFrame | None = None, quarters: pd.DataFrame | None = None
                       ) -> pd.DataFrame:
    """CoreWeave's quarterly net interest expense (facts table) against its revenue and operating income.

    The snapshot's statement file lacks interest expense, so the figure is a facts row. Revenue
    and operating income come from the snapshot where it has the quarter, else from a facts row of
    the same quarter. A facts row stating interest only as a share of revenue is kept with that
    share and no amount.

    Returns
    -------
    pandas.DataFrame
        ``period, period_end, interest_expense, revenue, operating_income`` (USD),
        ``interest_to_revenue, interest_to_operating_income`` (fractions; the latter NaN where
        operating income is not positive), ``revenue_source``, ``fact_id, kind, confidence, label``.
    """
    table = facts(entity="CoreWeave") if facts_frame is None else facts_frame
    table = _quarterly(table[table["entity"] == "CoreWeave"])
    quarters = coreweave("Q") if quarters is None else quarters
    snap = quarters.set_index("quarter_end")
    rows = []
    for _, r in _describe(table[table["metric"] == "interest expense, net"]).iterrows():
        end = r["period_end"]
        same = table[table["period_end"] == end]
        rev = snap["revenue"].get(end, np.nan)
        oi = snap["operating_income"].get(end, np.nan)
        source = f"snapshot ({SECONDARY})"
        if pd.isna(rev):
            f_rev = same[same["metric"] == "revenue"]
            rev = to_usd(f_rev["value"].iloc[0], f_rev["unit"].iloc[0]) if not f_rev.empty else np.nan
            f_oi = same[same["metric"] == "operating income"]
            oi = to_usd(f_oi["value"].iloc[0], f_oi["unit"].iloc[0]) if not f_oi.empty else np.nan
            source = ("facts " + ", ".join([*f_rev["fact_id"], *f_oi["fact_id"]])) if not f_rev.empty else ""
        amount = to_usd(r["value"], r["unit"])
        rows.append({"period": r["period"], "period_end": end, "interest_expense": amount, "revenue": rev,
                     "operating_income": oi, "interest_to_revenue": amount / rev if rev else np.nan,
                     "interest_to_operating_income": amount / oi if oi > 0 else np.nan,
                     "revenue_source": source, "fact_id": r["fact_id"], "kind": r["kind"],
                     "confidence": r["confidence"], "label": r["label"]})
    for _, r in _describe(table[table["metric"] == "interest expense as share of revenue"]).iterrows():
        rows.append({"period": r["period"], "period_end": r["period_end"], "interest_expense": np.nan,
                     "revenue": np.nan, "operating_income": np.nan, "interest_to_revenue": r["value"] / 100,
                     "interest_to_operating_income": np.nan, "revenue_source": "stated as a share",
                     "fact_id": r["fact_id"], "kind": r["kind"], "confidence": r["confidence"],
                     "label": r["label"]})
    return pd.DataFrame(rows).sort_values("period_end").reset_index(drop=True)


def coreweave_backlog(facts_frame: pd.DataFrame | None = None, ttm: pd.DataFrame | None = None) -> pd.DataFrame:
    """CoreWeave's revenue backlog (facts rows) and its multiple of trailing-twelve-month revenue.

    Returns
    -------
    pandas.DataFrame
        ``period, period_end, backlog`` (USD), ``ttm_revenue`` (snapshot, NaN before four quarters
        exist), ``backlog_to_revenue``, ``fact_id, kind, confidence, label``.
    """
    table = facts(entity="CoreWeave") if facts_frame is None else facts_frame
    rows = _describe(_quarterly(table[(table["entity"] == "CoreWeave") & (table["metric"] == "revenue backlog")]))
    ttm = coreweave("TTM") if ttm is None else ttm
    revenue = ttm.set_index("quarter_end")["revenue"]
    out = pd.DataFrame({
        "period": rows["period"].astype(str), "period_end": rows["period_end"],
        "backlog": [to_usd(v, u) for v, u in zip(rows["value"], rows["unit"], strict=True)],
        "fact_id": rows["fact_id"].astype(str), "kind": rows["kind"], "confidence": rows["confidence"],
        "label": rows["label"],
    })
    out["ttm_revenue"] = out["period_end"].map(revenue)
    out["backlog_to_revenue"] = out["backlog"] / out["ttm_revenue"]
    return out.sort_values("period_end").reset_index(drop=True)


_TOP_N = re.compile(r"^top\b", re.IGNORECASE)
# A customer's share of revenue, not an expense stated as a share of revenue.
_CUSTOMER_SHARE = re.compile(r"^(?!.*expense).*share of revenue", re.IGNORECASE)


def customer_concentration(facts_frame: pd.DataFrame | None = None, entity: str = "CoreWeave") -> pd.DataFrame:
    """Customers' shares of a neocloud's revenue (facts rows), with the largest single customer per year.

    Rows whose metric is a named customer's ``share of revenue`` count as single customers; a
    ``Top two …`` row is kept but flagged ``single_customer = False``.

    Returns
    -------
    pandas.DataFrame
        ``period, period_end, customer`` (text before "share of revenue"), ``share`` (fraction),
        ``single_customer``, ``largest`` (True for the period's largest single-customer share),
        ``fact_id, kind, confidence, label``.
    """
    table = facts(entity=entity) if facts_frame is None else facts_frame
    rows = table[(table["entity"] == entity) & (table["unit"] == "percent")
                 & table["metric"].str.contains(_CUSTOMER_SHARE.pattern, case=False, na=False)]
    rows = _describe(rows[rows["value"].notna()])
    out = pd.DataFrame({
        "period": rows["period"].astype(str), "period_end": rows["period_end"],
        "customer": rows["metric"].str.replace(r"(?i)'?s? share of revenue.*$", "", regex=True).str.strip(),
        "share": rows["value"] / 100, "single_customer": ~rows["metric"].str.match(_TOP_N.pattern, case=False),
        "fact_id": rows["fact_id"].astype(str), "kind": rows["kind"], "confidence": rows["confidence"],
        "label": rows["label"],
    })
    single = out[out["single_customer"]]
    top = single.loc[single.groupby("period_end")["share"].idxmax()] if not single.empty else single
    out["largest"] = out.index.isin(top.index)
    return out.sort_values(["period_end", "share"], ascending=[True, False]).reset_index(drop=True)


def latest_concentration(concentration: pd.DataFrame) -> pd.Series:
    """The latest period's largest single-customer row of `customer_concentration`."""
    top = concentration[concentration["largest"]].sort_values("period_end")
    if top.empty:
        raise ValueError("no single-customer share of revenue in the facts rows")
    return top.iloc[-1]


_NEBIUS_METRICS = {
    "revenue": r"^revenue \(group",
    "adjusted_ebitda": r"^adjusted EBITDA( \(restated\))?$",
    "net_income": r"^net income \(loss\) from continuing operations",
    "capex": r"^capex$",
}


def nebius_quarters(facts_frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Nebius by calendar quarter from the facts table: revenue, adjusted EBITDA, net income, capex.

    Where two rows give one quarter (a figure as first reported and restated), the first reported
    is kept unless only the restated exists. Year-on-year revenue growth is computed only when both
    quarters come from the same page (the same release, hence the same basis): Nebius restated its
    2024 and early-2025 figures after divesting Toloka, so pairs from different releases mix bases
    (``growth_basis`` says which).

    Returns
    -------
    pandas.DataFrame
        ``period, period_end, revenue, adjusted_ebitda, net_income, capex`` (USD),
        ``adjusted_ebitda_margin`` (non-GAAP), ``capex_to_revenue``, ``revenue_growth``
        (same-basis pairs only), ``growth_basis``, ``lowest_confidence``, ``kinds``, ``fact_ids``.
    """
    table = facts(entity="Nebius") if facts_frame is None else facts_frame
    table = _quarterly(table[table["entity"] == "Nebius"])
    picked = []
    for name, pattern in _NEBIUS_METRICS.items():
        rows = table[table["metric"].str.match(pattern)].assign(
            item=name, restated=lambda d: d["metric"].str.contains("restated"))
        picked.append(rows.sort_values(["period_end", "restated"]).drop_duplicates("period_end"))
    rows = pd.concat(picked, ignore_index=True)
    rows["usd"] = [to_usd(v, u) for v, u in zip(rows["value"], rows["unit"], strict=True)]
    wide = rows.pivot_table(index=["period", "period_end"], columns="item", values="usd", aggfunc="first")
    wide = wide.reindex(columns=list(_NEBIUS_METRICS)).reset_index()
    wide.columns.name = None
    meta = rows.groupby("period_end").agg(
        lowest_confidence=("confidence", lambda c: max(map(str, c), key=CONFIDENCES.index)),
        kinds=("kind", lambda k: " / ".join(sorted(set(map(str, k))))),
        fact_ids=("fact_id", lambda i: ", ".join(i)))
    wide = wide.merge(meta, left_on="period_end", right_index=True)
    wide["adjusted_ebitda_margin"] = wide["adjusted_ebitda"] / wide["revenue"]
    wide["capex_to_revenue"] = get_capex_intensity(wide["capex"], wide["revenue"])
    rev = rows[rows["item"] == "revenue"].set_index("period_end")
    growth, basis = [], []
    for end in wide["period_end"]:
        prior_end = end - pd.DateOffset(years=1)
        if end in rev.index and prior_end in rev.index:
            same = rev.loc[end, "url"] == rev.loc[prior_end, "url"]
            basis.append("same release" if same else "different releases (bases may differ)")
            growth.append(get_growth_yoy(rev.loc[end, "usd"], rev.loc[prior_end, "usd"]) if same else np.nan)
        else:
            basis.append("")
            growth.append(np.nan)
    wide["revenue_growth"] = growth
    wide["growth_basis"] = basis
    return wide.sort_values("period_end").reset_index(drop=True)


def together_ai(facts_frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """The Together AI rows of the facts table (claim A6), labelled."""
    table = facts(entity="Together AI") if facts_frame is None else facts_frame
    return _describe(table[table["entity"] == "Together AI"]).reset_index(drop=True)


def _owner_patterns(owner: str) -> dict[str, str]:
    """Regular expressions (on entity and metric) that sort a facts row into a `B10_ROLES` role."""
    name = re.escape(owner)
    return {
        # The owner itself selling or renting compute to others: a figure of that business.
        "rents out": (r"(?:^|\b)(?:sell|sells|selling|sold|rent(?:s|ed|ing)? out|lease(?:s|d)? out|"
                      r"cloud (?:business|unit|revenue)|(?:capacity|compute) (?:sold|rented|offered))\b"),
        # The owner buying from a neocloud: "Meta → CoreWeave", or a neocloud's "Meta contract" row.
        "buys_entity": rf"^{name}\s*→",
        "buys_metric": rf"^{name}(?:'s)? (?:contract|take-or-pay|compute commitment)",
        "market reaction": r"share-price change",
    }


def owner_evidence(facts_frame: pd.DataFrame | None = None, owner: str = "Meta") -> pd.DataFrame:
    """The facts rows bearing on claim B10, each with its role: does the large owner rent capacity out?

    Roles (`B10_ROLES`): ``rents out`` (the owner's own rows giving a figure of compute it sells
    or rents to others), ``buys from a neocloud`` (the owner's purchase commitments with a
    neocloud: ``Meta → CoreWeave`` rows, or a neocloud's ``Meta contract`` rows), ``market
    reaction`` (share moves of claim-B10 rows). Other rows are left out.

    Parameters
    ----------
    facts_frame : pandas.DataFrame, optional
        `facts` rows (for tests); by default the facts table as of the date being evaluated.
    owner : str
        The large owner of compute the claim names.

    Returns
    -------
    pandas.DataFrame
        ``role`` plus the facts columns and ``label``, ordered by role and date.
    """
    table = facts() if facts_frame is None else facts_frame
    has_figure = table["value"].notna() | (table["value_low"].notna() & table["value_high"].notna())
    table = table[has_figure]
    pattern = _owner_patterns(owner)
    entity, metric = table["entity"].astype(str), table["metric"].astype(str)
    own = entity.str.strip().str.fullmatch(re.escape(owner))
    role = pd.Series("", index=table.index, dtype=object)
    role[(table["claim_id"].astype(str) == "B10") & metric.str.contains(pattern["market reaction"], case=False)] = \
        "market reaction"
    role[entity.str.contains(pattern["buys_entity"]) | metric.str.contains(pattern["buys_metric"], case=False)] = \
        "buys from a neocloud"
    role[own & metric.str.contains(pattern["rents out"], case=False) & (role == "")] = "rents out"
    rows = _describe(table[role != ""]).assign(role=role[role != ""].to_numpy())
    rows["_r"] = rows["role"].map(B10_ROLES.index)
    return rows.sort_values(["_r", "as_of", "fact_id"]).drop(columns="_r").reset_index(drop=True)


def fragility(peers: pd.DataFrame, concentration: pd.DataFrame) -> dict:
    """CoreWeave's dependence on one customer and its operating margin against the pooled hyperscalers.

    Parameters
    ----------
    peers : pandas.DataFrame
        `peer_comparison` output (rows ``CoreWeave`` and `POOLED`, the same calendar quarter).
    concentration : pandas.DataFrame
        `customer_concentration` output.

    Returns
    -------
    dict
        ``customer, share, share_period, share_fact, share_kind, share_confidence, quarter``
        (calendar label of the margins), ``coreweave_operating_margin``,
        ``hyperscaler_pooled_operating_margin``.
    """
    top = latest_concentration(concentration)
    by = peers.set_index("entity")
    return {"customer": top["customer"], "share": float(top["share"]), "share_period": top["period"],
            "share_fact": top["fact_id"], "share_kind": top["kind"], "share_confidence": top["confidence"],
            "quarter": by.loc["CoreWeave", "calendar_label"],
            "coreweave_operating_margin": float(by.loc["CoreWeave", "operating_margin"]),
            "hyperscaler_pooled_operating_margin": float(by.loc[POOLED, "operating_margin"])}


# --------------------------------------------------------------------------- verdicts
def together_verdict(rows: pd.DataFrame, claimed_run_rate_usd: float = 300e6, claimed_margin: float = 0.45) -> Verdict:
    """Verdict on A6: neoclouds win on utilization (Together AI at about $300M run rate, 45% margin).

    The claim, as the essay states it: GPU clouds that keep their chips busy earn good margins,
    Together AI's run rate and margin being the example. Rule: always *not testable with public
    data*: the essay's figures were not found in a citable source, Together AI is private and
    publishes no margin, and no public source gives any neocloud's utilization. The summary lists
    the Together AI figures that were found instead, labelled. No threshold: measured is None.

    Parameters
    ----------
    rows : pandas.DataFrame
        `together_ai` output.
    claimed_run_rate_usd, claimed_margin : float
        The essay's figures (USD a year; fraction), from the claims ledger.

    Returns
    -------
    Verdict
    """
    revenue = rows[rows["metric"].str.contains("revenue|ARR", case=False, na=False)] if not rows.empty else rows
    found = ("Revenue figures found instead differ: " + "; ".join(revenue["label"]) + "." if not revenue.empty
             else "No Together AI revenue figure had been published.")
    margin = rows[rows["unit"] == "percent"] if not rows.empty else rows
    margin_text = ("A margin figure was found: " + "; ".join(margin["label"]) + "." if not margin.empty
                   else "No margin figure was found at all.")
    return Verdict(
        status="not testable with public data",
        summary=(f"The essay's figures for Together AI (a run rate of about ${claimed_run_rate_usd / 1e6:,.0f}M, a "
                 f"margin of about {claimed_margin:.0%}) were not found in any citable source, Together AI is private "
                 f"and files no statements, and no neocloud publishes its utilization. {found} {margin_text}"),
        numbers={"claimed_run_rate_usd": claimed_run_rate_usd, "claimed_margin": claimed_margin,
                 **{r["fact_id"]: (r["value"] if pd.notna(r["value"]) else (r["value_low"], r["value_high"]))
                    for _, r in rows.iterrows()}},
        sources=(", ".join(f"{r.fact_id} ({r.kind}, {r.confidence} confidence)" for r in rows.itertuples())
                 + " (facts table)") if not rows.empty else "facts table (no Together AI row published yet)",
        data_through=facts_through(rows) if not rows.empty else "",
    )


def verdict_a6(claimed_run_rate_usd: float = 300e6, claimed_margin: float = 0.45) -> Verdict:
    """Verdict on A6 from the facts table's Together AI rows (rule in `together_verdict`)."""
    return together_verdict(together_ai(), claimed_run_rate_usd, claimed_margin)


def owner_supply_verdict(evidence: pd.DataFrame, min_rent_out_figures: int = 1, owner: str = "Meta",
                         context: dict | None = None) -> Verdict:
    """Verdict on B10: neoclouds face pressure if large owners such as Meta rent out spare capacity.

    The claim, as the essay states it: a large owner of AI compute (Meta) is starting to sell its
    spare capacity to others, and that supply will take customers or pricing power from the
    neoclouds. Its premise is the owner renting capacity out, so the rule scores the evidence on
    that. Rule: *supported* when at least ``min_rent_out_figures`` cited figures show the owner
    renting compute out and none shows it buying neocloud capacity; *mixed* when both exist;
    *not supported* (so far) when no figure shows it renting out but some show it buying from the
    neoclouds (a customer of theirs, not a rival supplier); *not testable with public data* when
    neither is cited. Measured: the figures of capacity rented out; the neoclouds' fragility
    (customer concentration, margins) is context, not the test.

    Parameters
    ----------
    evidence : pandas.DataFrame
        `owner_evidence` output.
    min_rent_out_figures : int
        Cited figures of the owner renting capacity out the claim needs.
    owner : str
    context : dict, optional
        `fragility` output, reported beside the verdict.

    Returns
    -------
    Verdict
    """
    def rows(role):
        return evidence[evidence["role"] == role] if not evidence.empty else evidence

    rent, buys, market = rows("rents out"), rows("buys from a neocloud"), rows("market reaction")
    n = len(rent)
    if n >= min_rent_out_figures:
        status = "mixed" if len(buys) else "supported"
        distance = n - min_rent_out_figures + 1
        flip = (f"{distance} fewer figure{'s' if distance > 1 else ''} of {owner} renting capacity out would make it "
                + ("not supported" if len(buys) else "not testable")
                + ("; without its purchases from the neoclouds it would be supported" if len(buys) else ""))
    else:
        status = "not supported" if len(buys) else "not testable with public data"
        distance = min_rent_out_figures - n
        flip = (f"{distance} cited figure{'s' if distance > 1 else ''} of {owner} renting capacity out would make it "
                + ("mixed" if len(buys) else "supported"))
    rent_text = (f"Cited figures of {owner} renting compute out: " + "; ".join(rent["label"]) + "." if n else
                 f"No cited figure shows {owner} renting compute out to others.")
    buys_text = (f" Against the claim, {owner} buys capacity from the neoclouds: " + "; ".join(buys["label"]) + "."
                 if len(buys) else "")
    market_text = (" Share moves on the day a plan was reported: " + "; ".join(market["label"]) + "."
                   if len(market) else "")
    context_text = ""
    if context:
        context_text = (
            f" Context, not the test: CoreWeave's largest customer ({context['customer']}) was {context['share']:.0%} of "
            f"its revenue in {context['share_period']} ({context['share_kind']}, {context['share_confidence']} "
            f"confidence), and its operating margin over the twelve months to calendar {context['quarter']} was "
            f"{context['coreweave_operating_margin']:.1%} against {context['hyperscaler_pooled_operating_margin']:.1%} "
            "for the five hyperscalers pooled (CoreWeave from a secondary statement file).")
    cited = evidence if not evidence.empty else None
    numbers = {"rent_out_figures": n, "buy_figures": len(buys), "min_rent_out_figures": min_rent_out_figures}
    if len(buys):
        numbers["buy_facts"] = ", ".join(buys["fact_id"])
    if context:
        numbers |= {k: context[k] for k in ("share", "coreweave_operating_margin",
                                            "hyperscaler_pooled_operating_margin")}
    ends = {"facts": f"{evidence['as_of'].max():%Y-%m-%d}"} if cited is not None else {}
    if context:
        ends["CoreWeave margins, calendar " + context["quarter"]] = f"{_quarter_end_text(context['quarter'])}"
    return Verdict(
        status=status, summary=rent_text + buys_text + market_text + context_text,
        measured=float(n), threshold=float(min_rent_out_figures), unit="",
        measure=f"cited figures of compute {owner} rents out to others", distance_to_flip=float(distance), flip=flip,
        numbers=numbers,
        sources=("; ".join(f"{r.fact_id} ({r.kind}, {r.confidence} confidence)" for r in evidence.itertuples())
                 + " (facts table)" if cited is not None else "facts table (no row on the owner's capacity)")
        + (f"; context: {context['share_fact']}, CoreWeave {SECONDARY}, hyperscalers SEC EDGAR XBRL filings"
           if context else ""),
        data_through=through_text(ends),
    )


def _quarter_end_text(label: str) -> str:
    """The last day of the calendar quarter named ``label`` (``2026 Q1`` → ``2026-03-31``)."""
    year, quarter = label.split(" Q")
    return f"{calendar_quarter_end([int(year)], [int(quarter)])[0]:%Y-%m-%d}"


def verdict_b10(owner: str = "Meta", min_rent_out_figures: int = 1) -> Verdict:
    """Verdict on B10 from the facts table, with CoreWeave's fragility as context (rule in `owner_supply_verdict`)."""
    context = fragility(peer_comparison(), customer_concentration())
    return owner_supply_verdict(owner_evidence(owner=owner), min_rent_out_figures, owner, context)
