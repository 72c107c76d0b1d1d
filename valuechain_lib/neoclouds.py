"""Neoclouds (CoreWeave, Nebius) against the hyperscalers: growth, margins, capex, interest, backlog (A6, B10).

CoreWeave's statements come from the snapshot, which takes them from a third-party derived file
(secondary source, no accession numbers); its cost of revenue excludes depreciation, so
`get_adjusted_gross_profit` also subtracts D&A. Nebius files no us-gaap XBRL statements: its
figures, CoreWeave's interest expense, backlog and customer shares are rows of the facts table,
shown with their kind (press reports labelled) and confidence.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .capex import hyperscalers
from .facts import CONFIDENCES, QUARTER_PERIOD, facts, label
from .financials import financials
from .metrics import get_capex_intensity, get_gross_margin, get_gross_profit, get_operating_margin
from .periods import calendar_quarter_end
from .verdicts import Verdict, status_from_count

COREWEAVE = "CRWV"
POOLED = "Hyperscalers pooled"
ITEMS = ("revenue", "cost_of_revenue", "gross_profit", "depreciation_amortization", "operating_income",
         "net_income", "capex")
#: Multipliers from the facts table's money units to USD.
USD_PER_UNIT = {"USD million": 1e6, "USD billion": 1e9}
SECONDARY = "third-party derived statements (secondary source, no accession numbers)"
#: Essay A's figures for Together AI (claim A6, as restated in the theses): not found in any citable source.
ESSAY_A6 = {"run_rate_usd": 300e6, "margin": 0.45}

__all__ = [
    "COREWEAVE", "ESSAY_A6", "POOLED", "SECONDARY", "coreweave", "coreweave_backlog", "coreweave_interest", "customer_concentration",
    "get_adjusted_gross_profit", "get_growth_yoy", "hyperscaler_ttm", "latest_concentration", "nebius_quarters",
    "peer_comparison", "to_usd", "together_ai", "verdict_a6", "verdict_b10",
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
    keys = ["ticker", "calendar_year", "calendar_quarter"]
    wide = table.set_index([*keys, "metric"])["value"].unstack("metric").reindex(columns=list(items))
    wide.columns.name = None
    labels = table.groupby(keys)[["fiscal_year", "fiscal_period"]].first()
    wide = wide.join(labels).reset_index()
    wide["fiscal_label"] = "FY" + wide["fiscal_year"].astype(str) + " " + wide["fiscal_period"].astype(str)
    wide["quarter_end"] = calendar_quarter_end(wide["calendar_year"], wide["calendar_quarter"])
    wide["calendar_label"] = [f"{int(y)} Q{int(q)}" for y, q in zip(wide["calendar_year"],
                                                                      wide["calendar_quarter"], strict=True)]
    return wide


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
        holds no 2024 quarters), ``quarter_end``, ``calendar_label``, ``fiscal_label``, ``source``.
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
        ``gross_pooled_over``, ``quarter_end``, ``calendar_label``.
    """
    tickers = list(tickers or hyperscalers())
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
    sums = full.groupby(keys)[["revenue", "operating_income", "capex"]].sum()
    with_gp = full.dropna(subset=["gross_profit"])
    sums["gross_profit"] = with_gp.groupby(keys)["gross_profit"].sum()
    sums["gross_revenue"] = with_gp.groupby(keys)["revenue"].sum()
    sums["gross_pooled_over"] = with_gp.groupby(keys)["ticker"].agg(lambda t: ", ".join(sorted(t)))
    pooled = sums.reset_index().assign(ticker=POOLED)
    pooled["gross_margin"] = get_gross_margin(pooled["gross_profit"], pooled["gross_revenue"])
    pooled["operating_margin"] = get_operating_margin(pooled["operating_income"], pooled["revenue"])
    pooled["capex_to_revenue"] = get_capex_intensity(pooled["capex"], pooled["revenue"])
    pooled["quarter_end"] = calendar_quarter_end(pooled["calendar_year"], pooled["calendar_quarter"])
    pooled["calendar_label"] = [f"{int(y)} Q{int(q)}" for y, q in zip(pooled["calendar_year"],
                                                                        pooled["calendar_quarter"], strict=True)]
    wide["gross_pooled_over"] = ""
    out = pd.concat([wide, pooled.drop(columns="gross_revenue")], ignore_index=True)
    out = _add_yoy(out, "revenue", "revenue_growth")
    out = out[out["calendar_year"] >= since]
    cols = ["ticker", "calendar_year", "calendar_quarter", "quarter_end", "calendar_label", "revenue",
            "gross_profit", "operating_income", "capex", "gross_margin", "operating_margin", "capex_to_revenue",
            "revenue_growth", "gross_pooled_over"]
    return out[cols].sort_values(["ticker", "quarter_end"]).reset_index(drop=True)


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
        One row per entity: ``entity, calendar_label, revenue, revenue_growth, growth_basis,
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

    cols = ["entity", "calendar_label", "revenue", "revenue_growth", "growth_basis", "gross_margin",
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


# --------------------------------------------------------------------------- verdicts
def verdict_a6(facts_frame: pd.DataFrame | None = None) -> Verdict:
    """Verdict on A6 (neoclouds win on utilization; Together AI at about $300M run rate, 45% margin).

    Always *not testable with public data*: the essay's figures were not found in a citable source,
    Together AI is private and publishes no margin, and no public source gives any neocloud's
    utilization. The summary lists the Together AI figures that were found instead, labelled.
    """
    rows = together_ai(facts_frame)
    revenue = rows[rows["metric"].str.contains("revenue|ARR", case=False, na=False)]
    found = "; ".join(revenue["label"]) if not revenue.empty else "none"
    margin = rows[rows["unit"] == "percent"]
    margin_text = ("; a margin figure was found: " + "; ".join(margin["label"])) if not margin.empty else \
        "; no margin figure was found at all"
    return Verdict(
        status="not testable with public data",
        summary=("**Verdict on A6: not testable with public data.** The essay's figures for Together AI (a run "
                 f"rate of about ${ESSAY_A6['run_rate_usd'] / 1e6:,.0f}M, a margin of about {ESSAY_A6['margin']:.0%}) "
                 "were **not found** in any citable source, Together AI is private and files no statements, and no "
                 f"neocloud publishes its utilization. Revenue figures found instead differ: {found}{margin_text}."),
        numbers={r["fact_id"]: (r["value"] if pd.notna(r["value"]) else (r["value_low"], r["value_high"]))
                 for _, r in rows.iterrows()},
        sources=", ".join(rows["fact_id"]) + " (facts table)",
    )


def verdict_b10(concentration_threshold: float = 0.5, peers: pd.DataFrame | None = None,
                concentration: pd.DataFrame | None = None) -> Verdict:
    """Verdict on B10 (neoclouds face pressure if large owners such as Meta rent out spare capacity).

    Rule: a neocloud is exposed when it depends on one customer and earns less than the
    hyperscalers. *Supported* when CoreWeave's largest customer's share of revenue exceeds
    ``concentration_threshold`` **and** its trailing operating margin is below the hyperscalers'
    pooled operating margin in the same calendar quarter; *mixed* when one holds; *not supported*
    when neither does.

    Parameters
    ----------
    concentration_threshold : float
        Fraction of revenue.
    peers : pandas.DataFrame, optional
        `peer_comparison` output (rows ``CoreWeave`` and `POOLED`).
    concentration : pandas.DataFrame, optional
        `customer_concentration` output.
    """
    peers = peer_comparison() if peers is None else peers
    concentration = customer_concentration() if concentration is None else concentration
    top = latest_concentration(concentration)
    by = peers.set_index("entity")
    cw_margin = float(by.loc["CoreWeave", "operating_margin"])
    pooled = float(by.loc[POOLED, "operating_margin"])
    quarter = by.loc["CoreWeave", "calendar_label"]
    concentrated = bool(top["share"] > concentration_threshold)
    thinner = cw_margin < pooled
    status = status_from_count(int(concentrated) + int(thinner), 2)
    caveat = (f" The customer share rests on {top['confidence']} confidence." if top["confidence"] != "high"
              else "")
    return Verdict(
        status=status,
        summary=(f"**Verdict on B10: {status}.** CoreWeave's largest customer ({top['customer']}) was "
                 f"{top['share']:.0%} of its revenue in {top['period']} ({top['kind']}; the rule's threshold is "
                 f"{concentration_threshold:.0%}), and its operating margin over the twelve months to "
                 f"{quarter} was {cw_margin:.1%} against {pooled:.1%} for the hyperscalers pooled "
                 f"(CoreWeave from a secondary, third-party statement file).{caveat}"),
        numbers={"largest_customer_share": float(top["share"]), "concentration_threshold": concentration_threshold,
                 "coreweave_operating_margin": cw_margin, "hyperscaler_pooled_operating_margin": pooled},
        sources=(f"{top['fact_id']} ({top['kind']}, {top['confidence']} confidence); CoreWeave statements: "
                 f"{SECONDARY}; hyperscalers: SEC EDGAR XBRL filings"),
    )
