"""Backlogs (RPO) of the hyperscalers, downstream run rates and the capex they would have to fund (B4–B11).

Remaining performance obligations come from the filings in the snapshot (Meta reports none;
Amazon's are in companyfacts only for 2018–2020, so AWS backlog comes from facts rows). The model
providers' run rates (OpenAI, Anthropic: private companies) and the Amazon, Alphabet and Anthropic
ties of claim B8 are facts rows, shown with their kind (press reports labelled) and confidence.
Each ``verdict_b*`` function is the rule a row of ``data/claims.csv`` names; it reads the data, and
a pure scoring function next to it turns frames into a `Verdict`. The combined capex the chapter sets
against the run rates is `valuechain_lib.analyses.capex_vs_cash`'s, re-exported here (`capex_vs_cash`,
`COMBINED`, `through_by_company`) so the chapter imports its own module only.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from valuechain_lib.analyses.capex_vs_cash import COMBINED, capex_vs_cash, through_by_company
from valuechain_lib.analyses.capex_vs_cash import data_through as capex_data_through
from valuechain_lib.calc.periods import calendar_period, with_period_labels
from valuechain_lib.claims.ledger import facts_through
from valuechain_lib.claims.verdicts import Verdict, at_least, count_of, format_value, through_text
from valuechain_lib.errors import ValueChainError
from valuechain_lib.snapshot.facts import CONFIDENCES, KINDS, facts, label
from valuechain_lib.snapshot.financials import financials
from valuechain_lib.snapshot.memo import memoized
from valuechain_lib.snapshot.universe import members
from valuechain_lib.snapshot.vintage import as_of

PROVIDERS = ("OpenAI", "Anthropic")
#: The companies whose backlogs and capex are read (`valuechain_lib.snapshot.universe.members`).
SUB_LAYER = "hyperscaler"
#: A run-rate metric in the facts table (annualized revenue, ARR, run-rate revenue).
RUN_RATE = re.compile(r"run.?rate|annuali[sz]ed|\bARR\b|recurring revenue", re.IGNORECASE)
#: The metric wording of the essay's own figure in the facts table ('ARR (Essay B's "~$44B")').
ESSAY_FIGURE = re.compile(r"\bEssay B's\b", re.IGNORECASE)
USD_PER_UNIT = {"USD million": 1e6, "USD billion": 1e9}
#: Default horizon (years) of the funding-gap assumption.
GAP_YEARS = 5
#: The parts of claim B8: each company in each role.
B8_ROLES = ("investor", "cloud partner")

__all__ = [
    "B8_ROLES", "BACKLOG_METRIC", "COMBINED", "ESSAY_FIGURE", "GAP_YEARS", "MARK_FIGURES", "MissingEvidenceError",
    "PROVIDERS", "capex_vs_cash", "through_by_company",
    "aws_backlog", "backlog_marks", "backlog_verdict",
    "contract_verdict", "essay_figures", "funding_gap", "funding_verdict", "get_coverage", "get_required_growth",
    "get_rpo_to_revenue", "last_filed_quarter", "latest_run_rates", "matched_run_rates", "partner_evidence", "partners_verdict",
    "pricing_verdict", "reported_after_snapshot", "required_growth_table", "rpo_change", "rpo_growth_vs_revenue", "rpo_history",
    "run_rate_verdict", "run_rates", "verdict_b4", "verdict_b5", "verdict_b7", "verdict_b8", "verdict_b9",
    "verdict_b11",
]


class MissingEvidenceError(ValueChainError):
    """A figure a rule needs is not in the data: not filed, not cited, or not published yet."""


# --------------------------------------------------------------------------- pure metric functions
def get_rpo_to_revenue(rpo, revenue):
    """Backlog cover: remaining performance obligations / trailing-twelve-month revenue (years of revenue).

    Parameters
    ----------
    rpo, revenue : float or pandas.Series
        USD; RPO a balance at the quarter end, revenue the twelve months to it.

    Returns
    -------
    float or pandas.Series
        Ratio; NaN where revenue is zero or missing.

    Examples
    --------
    >>> get_rpo_to_revenue(455.3, 57.4)  # doctest: +ELLIPSIS
    7.93...
    """
    if isinstance(revenue, pd.Series):
        return rpo / revenue.where(revenue != 0)
    return float("nan") if pd.isna(revenue) or revenue == 0 else rpo / revenue


def get_coverage(downstream_revenue, capex):
    """Coverage: downstream annualized revenue / capex (fraction); NaN where capex is zero or missing.

    Examples
    --------
    >>> get_coverage(71.0, 482.149)  # doctest: +ELLIPSIS
    0.147...
    """
    return float("nan") if pd.isna(capex) or capex == 0 else downstream_revenue / capex


def get_required_growth(capex, revenue, years: float, capex_growth: float = 0.0):
    """Annual growth of revenue that makes it equal capex after ``years``.

    Assumes revenue compounds at a constant rate g and capex at ``capex_growth`` (0: held at
    today's level), so ``revenue·(1+g)^N = capex·(1+c)^N``, i.e.
    ``g = (1 + c)·(capex / revenue)^(1/N) − 1``.

    Parameters
    ----------
    capex, revenue : float
        USD, same period length (annual).
    years : float
        Horizon N, > 0.
    capex_growth : float
        Annual growth of capex c (fraction).

    Returns
    -------
    float
        Fraction per year; negative when revenue already exceeds capex; NaN if an input is missing
        or not positive.

    Examples
    --------
    >>> round(get_required_growth(400.0, 100.0, 2), 6)  # (400/100)^(1/2) - 1
    1.0
    """
    if any(pd.isna(x) for x in (capex, revenue, years)) or capex <= 0 or revenue <= 0 or years <= 0:
        return float("nan")
    return (1 + capex_growth) * (capex / revenue) ** (1 / years) - 1


# --------------------------------------------------------------------------- filings layer


@memoized
def rpo_history(tickers=None, since: int = 2018, table: pd.DataFrame | None = None,
                revenue: pd.DataFrame | None = None) -> pd.DataFrame:
    """Remaining performance obligations per hyperscaler by calendar quarter, against TTM revenue.

    Parameters
    ----------
    tickers : list of str, optional
        Default: the hyperscalers (``members(sub_layer="hyperscaler")``).
    since : int
        First calendar year.
    table, revenue : pandas.DataFrame, optional
        Tidy `financials` rows of ``rpo`` (freq Q, calendar) and ``revenue`` (freq TTM, calendar),
        for tests.

    Returns
    -------
    pandas.DataFrame
        One row per company and calendar quarter with a reported RPO: ``ticker, calendar_year,
        calendar_quarter, quarter_end, calendar_label, fiscal_label, period_end`` (the company's own
        quarter end), ``rpo, ttm_revenue`` (USD), ``rpo_to_revenue``, ``rpo_growth`` and
        ``revenue_growth`` (against the same calendar quarter a year earlier; NaN where either is
        missing), ``accession, form, filed``. Companies without RPO (Meta) have no rows.
    """
    tickers = list(tickers or members(sub_layer=SUB_LAYER))
    if table is None:
        table = financials(tickers, freq="Q", calendar=True, metrics="rpo")
    table = with_period_labels(table)
    if revenue is None:
        revenue = financials(tickers, freq="TTM", calendar=True, metrics="revenue")
    keys = ["ticker", "calendar_year", "calendar_quarter"]
    rpo = table[table["ticker"].isin(tickers) & (table["metric"] == "rpo")].dropna(subset=["value"])
    rpo = rpo[keys + ["quarter_end", "calendar_label", "fiscal_label", "period_end", "value", "accession", "form",
                      "filed"]]
    rpo = rpo.rename(columns={"value": "rpo"})
    rev = revenue[revenue["metric"] == "revenue"][keys + ["value"]].rename(columns={"value": "ttm_revenue"})
    out = rpo.merge(rev, how="left", on=keys)
    for col, growth in (("rpo", "rpo_growth"), ("ttm_revenue", "revenue_growth")):
        prior = out[keys + [col]].assign(calendar_year=lambda d: d["calendar_year"] + 1)
        out = out.merge(prior.rename(columns={col: "_prior"}), how="left", on=keys)
        out[growth] = out[col] / out["_prior"].where(out["_prior"] != 0) - 1
        out = out.drop(columns="_prior")
    out["rpo_to_revenue"] = get_rpo_to_revenue(out["rpo"], out["ttm_revenue"])
    out = out[out["calendar_year"] >= since]
    cols = ["ticker", "calendar_year", "calendar_quarter", "quarter_end", "calendar_label", "fiscal_label",
            "period_end", "rpo", "ttm_revenue", "rpo_to_revenue", "rpo_growth", "revenue_growth", "accession",
            "form", "filed"]
    return out[cols].sort_values(["ticker", "quarter_end"]).reset_index(drop=True)


def rpo_growth_vs_revenue(history: pd.DataFrame, stale_quarters: int = 4) -> pd.DataFrame:
    """Latest year-on-year RPO growth against TTM revenue growth, per company still reporting RPO.

    A company whose latest RPO is more than ``stale_quarters`` calendar quarters older than the
    newest RPO in ``history`` (Amazon, tagged only 2018–2020) is left out.

    Returns
    -------
    pandas.DataFrame
        One row per company: its latest quarter with both growth rates, ``rpo_faster`` (bool).
    """
    both = history.dropna(subset=["rpo_growth", "revenue_growth"])
    if both.empty:
        named = ", ".join(sorted(set(history["ticker"]))) if "ticker" in history else ""
        raise ValueChainError("no company has a year-on-year growth of both its remaining performance "
                              f"obligations (RPO) and its revenue in the snapshot ({named or 'no RPO rows'})")
    newest = history["quarter_end"].max()
    latest = both.sort_values("quarter_end").groupby("ticker").tail(1)
    age = (newest.to_period("Q") - latest["quarter_end"].dt.to_period("Q")).map(lambda d: d.n)
    latest = latest[age <= stale_quarters].copy()
    latest["rpo_faster"] = latest["rpo_growth"] > latest["revenue_growth"]
    return latest.sort_values("ticker").reset_index(drop=True)


def rpo_change(ticker: str = "ORCL", period_end: str = "2025-08-31", table: pd.DataFrame | None = None) -> dict:
    """The change in a company's RPO over the fiscal quarter ending ``period_end``, from its filings.

    Parameters
    ----------
    table : pandas.DataFrame, optional
        Tidy `financials` rows of ``rpo`` (freq Q), for tests.

    Returns
    -------
    dict
        ``ticker, period_end, fiscal_label, rpo, prior_rpo, prior_period_end, change`` (USD),
        ``accession, prior_accession, form``.
    """
    table = financials(ticker, freq="Q", metrics="rpo") if table is None else with_period_labels(table)
    rows = table[(table["ticker"] == ticker) & (table["metric"] == "rpo")].dropna(subset=["value"])
    rows = rows.sort_values("period_end").reset_index(drop=True)
    end = pd.Timestamp(period_end)
    hit = rows.index[rows["period_end"] == end]
    if len(hit) == 0 or hit[0] == 0:
        raise MissingEvidenceError(f"{ticker}: no RPO for the quarter ending {end:%Y-%m-%d} and the one before")
    cur, prev = rows.loc[hit[0]], rows.loc[hit[0] - 1]
    return {"ticker": ticker, "period_end": end, "fiscal_label": cur["fiscal_label"],
            "rpo": float(cur["value"]), "prior_rpo": float(prev["value"]), "prior_period_end": prev["period_end"],
            "change": float(cur["value"] - prev["value"]), "accession": cur["accession"],
            "prior_accession": prev["accession"], "form": cur["form"]}



def oracle_quarter_before(date, table: pd.DataFrame | None = None, ticker: str = "ORCL") -> pd.Timestamp:
    """The end of the company's last fiscal quarter with a filed RPO that ended on or before ``date``.

    Raises
    ------
    MissingEvidenceError
        When no such quarter is in the data.
    """
    table = financials(ticker, freq="Q", metrics="rpo") if table is None else table
    ends = table.loc[(table["ticker"] == ticker) & (table["metric"] == "rpo") & table["value"].notna(), "period_end"]
    ends = ends[ends <= pd.Timestamp(date)]
    if ends.empty:
        raise MissingEvidenceError(f"{ticker}: no RPO filed for a quarter ending by {pd.Timestamp(date):%Y-%m-%d}")
    return ends.max()


# --------------------------------------------------------------------------- facts layer
def _point_date(row) -> pd.Timestamp:
    """When a figure applies: period_end if given, else as_of (a year-only date moved to 31 December)."""
    if pd.notna(row["period_end"]):
        return row["period_end"]
    date = row["as_of"]
    if pd.notna(date) and row.get("as_of_precision", "") == "year":
        return pd.Timestamp(year=date.year, month=12, day=31)
    return date


def _point_text(row) -> str:
    """The date a figure applies to, at the precision the source gives ("2026-05", "2025-12-31")."""
    if pd.notna(row["period_end"]):
        return f"{row['period_end']:%Y-%m-%d}"
    date = row["as_of"]
    if pd.isna(date):
        return ""
    precision = row.get("as_of_precision", "")
    return f"{date:%Y}" if precision == "year" else f"{date:%Y-%m}" if precision == "month" else f"{date:%Y-%m-%d}"


def _describe(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.copy()
    rows["label"] = [label(r) for _, r in rows.iterrows()]
    rows["usd"] = [v * USD_PER_UNIT.get(u, np.nan) for v, u in zip(rows["value"], rows["unit"], strict=True)]
    rows["point_date"] = pd.to_datetime([_point_date(r) for _, r in rows.iterrows()])
    rows["point_text"] = [_point_text(r) for _, r in rows.iterrows()]
    rows["point_precision"] = ["day" if pd.notna(r["period_end"]) else r.get("as_of_precision", "day") or "day"
                               for _, r in rows.iterrows()]
    rows["kind"] = rows["kind"].astype(str)
    rows["confidence"] = rows["confidence"].astype(str)
    return rows


def _rank(confidence: pd.Series) -> pd.Series:
    """0 for high, 1 for medium, 2 for low (`facts.CONFIDENCES` order)."""
    return confidence.astype(str).map(CONFIDENCES.index)


def last_filed_quarter(ticker: str, table: pd.DataFrame | None = None) -> pd.Timestamp:
    """The end of the company's latest fiscal quarter with revenue in the snapshot (as of the date evaluated)."""
    table = financials(ticker, freq="Q", metrics="revenue") if table is None else table
    ends = table.loc[(table["ticker"] == ticker) & table["value"].notna(), "period_end"]
    if ends.empty:
        raise MissingEvidenceError(f"{ticker}: no quarterly revenue in the snapshot")
    return ends.max()


def aws_backlog(facts_frame: pd.DataFrame | None = None, through=None) -> pd.DataFrame:
    """AWS segment backlog by quarter from the facts table (Amazon's RPO is tagged only 2018–2020).

    Parameters
    ----------
    facts_frame : pandas.DataFrame, optional
        `facts` rows (for tests).
    through : str or pandas.Timestamp, optional
        Keep points dated on or before it. By default Amazon's last quarter in the snapshot: later
        figures were reported after the snapshot and are context, not part of the series
        (`reported_after_snapshot`).

    Returns
    -------
    pandas.DataFrame
        ``period, point_date, usd, qualifier, fact_id, kind, confidence, label``.
    """
    table = facts(segment="AWS") if facts_frame is None else facts_frame
    through = last_filed_quarter("AMZN") if through is None and facts_frame is None else through
    rows = table[(table["segment"] == "AWS") & (table["metric"] == "backlog") & table["value"].notna()]
    rows = _describe(rows)
    if through is not None:
        rows = rows[rows["point_date"] <= pd.Timestamp(through)]
    cols = ["period", "point_date", "usd", "qualifier", "fact_id", "kind", "confidence", "label"]
    return rows[cols].sort_values("point_date").reset_index(drop=True)


#: A backlog figure in the facts table (remaining performance obligations or a segment backlog).
BACKLOG_METRIC = re.compile(r"^(?:remaining performance obligations|backlog)", re.IGNORECASE)


def reported_after_snapshot(tickers=None, facts_frame: pd.DataFrame | None = None,
                            last_quarters: dict | None = None) -> pd.DataFrame:
    """Backlog figures the facts table holds for quarters after each company's last one in the snapshot.

    They were reported after the snapshot was taken: context beside the filed series, never
    joined to it.

    Parameters
    ----------
    tickers : list of str, optional
        Default the hyperscalers; a facts row belongs to the company its ``ticker`` names.
    facts_frame : pandas.DataFrame, optional
        `facts` rows (for tests).
    last_quarters : dict, optional
        ticker → the last quarter end of its series in the snapshot (for tests). By default its
        last filed RPO where that is current (`rpo_growth_vs_revenue`), else its last quarter
        (`last_filed_quarter`: Amazon, whose backlog series is facts rows up to that quarter).

    Returns
    -------
    pandas.DataFrame
        ``ticker, entity, segment, metric, period, point_date, usd, fact_id, kind, confidence, label``.
    """
    tickers = list(tickers or members(sub_layer=SUB_LAYER))
    table = facts() if facts_frame is None else facts_frame
    rows = table[table["metric"].str.contains(BACKLOG_METRIC.pattern, case=False, na=False)
                 & table["unit"].isin(list(USD_PER_UNIT)) & table["value"].notna() & table["period_end"].notna()
                 & table["ticker"].isin(tickers)]
    rows = _describe(rows)
    rows["ticker"] = rows["ticker"].astype(str)
    if last_quarters is None:
        current = rpo_growth_vs_revenue(rpo_history(tickers)).set_index("ticker")["period_end"]
        last_quarters = {t: current[t] if t in current.index else last_filed_quarter(t)
                         for t in rows["ticker"].unique()}
    last = last_quarters
    later = rows[rows["point_date"] > rows["ticker"].map(last)]
    cols = ["ticker", "entity", "segment", "metric", "period", "point_date", "usd", "fact_id", "kind", "confidence",
            "label"]
    return later[cols].sort_values(["point_date", "ticker"]).reset_index(drop=True)


#: What the RPO chart calls each kind of backlog figure reported after the snapshot.
MARK_FIGURES = {"rpo": "RPO", "AWS": "AWS backlog"}


def backlog_marks(cited: pd.DataFrame | None = None, later: pd.DataFrame | None = None) -> pd.DataFrame:
    """Backlogs reported after the snapshot, placed to be drawn beside the filed RPO series.

    RPO figures come from `valuechain_lib.snapshot.reported_after.reported_after` (the facts rows
    ``data/reported_after.csv`` maps to the snapshot's ``rpo`` series, for quarters the snapshot has not
    filed); AWS backlog, a segment figure with no snapshot series, from the facts rows dated after
    Amazon's last quarter in the snapshot (`reported_after_snapshot`). Neither is joined to the filed
    series or used by a verdict.

    Parameters
    ----------
    cited : pandas.DataFrame, optional
        `reported_after` rows (``ticker, metric, period_end, value`` in USD, ``fact_id, label``);
        default those for the hyperscalers' RPO.
    later : pandas.DataFrame, optional
        `reported_after_snapshot` rows (``ticker, segment, period, point_date, usd, fact_id, label``);
        default the committed ones.

    Returns
    -------
    pandas.DataFrame
        ``ticker, figure`` (`MARK_FIGURES`), ``period, period_end, calendar_label, quarter_end`` (the
        calendar quarter whose end is nearest), ``usd, fact_id, label, series``
        (`valuechain_lib.snapshot.reported_after.LABEL`), sorted by date and ticker.
    """
    from valuechain_lib.snapshot import reported_after as ra

    if cited is None:
        cited = ra.reported_after(members(sub_layer=SUB_LAYER), metrics="rpo", freq="Q")
        cited = cited.assign(period=cited["fact_id"].map(facts().set_index("fact_id")["period"]))
    if later is None:
        later = reported_after_snapshot()
    rpo = cited[cited["metric"] == "rpo"]
    aws = later[later["segment"] == "AWS"]
    rows = pd.DataFrame({
        "ticker": [*rpo["ticker"], *aws["ticker"]],
        "figure": [MARK_FIGURES["rpo"]] * len(rpo) + [MARK_FIGURES["AWS"]] * len(aws),
        "period": [*rpo.get("period", pd.Series("", index=rpo.index)).fillna(""), *aws["period"]],
        "period_end": pd.to_datetime([*rpo["period_end"], *aws["point_date"]]),
        "usd": [*rpo["value"], *aws["usd"]],
        "fact_id": [*rpo["fact_id"], *aws["fact_id"]],
        "label": [*rpo["label"], *aws["label"]],
    })
    cols = ["ticker", "figure", "period", "period_end", "calendar_label", "quarter_end", "usd", "fact_id", "label",
            "series"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    rows = rows.join(calendar_period(rows["period_end"])[["calendar_label", "quarter_end"]])
    rows["series"] = ra.LABEL
    return rows[cols].sort_values(["period_end", "ticker"]).reset_index(drop=True)


def run_rates(facts_frame: pd.DataFrame | None = None, providers=PROVIDERS) -> pd.DataFrame:
    """The model providers' annualized revenue run rates from the facts table, labelled.

    Rows whose entity is one of the providers, in a money unit, whose metric names a run rate,
    annualized or recurring revenue (monthly revenue, compute capacity and commitments are left
    out), whatever claim they were gathered for.

    Returns
    -------
    pandas.DataFrame
        ``entity, metric, point_date`` (``period_end``, else ``as_of``; a year-only date is put at
        31 December), ``point_text`` (that date at the precision the source gives),
        ``point_precision`` ("day", "month" or "year"), ``usd,
        qualifier, kind, confidence, publisher, fact_id, label`` and ``essay_figure`` (True for the
        row that records the essay's own figure), sorted by entity and date.
    """
    table = facts() if facts_frame is None else facts_frame
    rows = table[table["entity"].isin(list(providers)) & table["unit"].isin(list(USD_PER_UNIT))
                 & table["metric"].str.contains(RUN_RATE.pattern, case=False, na=False) & table["value"].notna()]
    rows = _describe(rows)
    rows["essay_figure"] = rows["metric"].str.contains(ESSAY_FIGURE.pattern, case=False, na=False).astype(bool)
    cols = ["entity", "metric", "point_date", "point_text", "point_precision", "usd", "qualifier", "kind",
            "confidence", "publisher", "fact_id", "label", "essay_figure"]
    return rows[cols].sort_values(["entity", "point_date"]).reset_index(drop=True)


def essay_figures(rates: pd.DataFrame) -> pd.DataFrame:
    """The `run_rates` rows that record Essay B's own figures (metric names the essay)."""
    return rates[rates["metric"].str.contains(ESSAY_FIGURE.pattern, case=False, na=False)]


def latest_run_rates(rates: pd.DataFrame, min_confidence: str | None = None) -> pd.DataFrame:
    """Each provider's latest run rate; on a tie of dates, the higher confidence, then the more direct kind.

    Parameters
    ----------
    rates : pandas.DataFrame
        `run_rates` output.
    min_confidence : {"high", "medium", "low"}, optional
        Consider only rows rated at least this high.
    """
    if min_confidence is not None:
        rates = rates[_rank(rates["confidence"]) <= CONFIDENCES.index(min_confidence)]
    ranked = rates.assign(_c=_rank(rates["confidence"]), _k=rates["kind"].astype(str).map(KINDS.index))
    ranked = ranked.sort_values(["entity", "point_date", "_c", "_k"], ascending=[True, False, True, True])
    return ranked.drop_duplicates("entity").drop(columns=["_c", "_k"]).reset_index(drop=True)


def matched_run_rates(rates: pd.DataFrame, period_end, max_gap_days: int) -> pd.DataFrame:
    """Each provider's run rate at the end of a capex window: within ``max_gap_days`` of ``period_end``.

    Among a provider's points dated within the gap either side, the one nearest ``period_end`` wins
    (a figure dated only to a month counts from the middle of that month), then the higher
    confidence, then the more direct kind: a run rate is a point in time, so it is set against the
    capex of the twelve months ending nearest to it. The confidence of the point chosen is reported,
    not required.

    Parameters
    ----------
    rates : pandas.DataFrame
        `run_rates` output (every provider in it must have a point in the window).
    period_end : str or pandas.Timestamp
        The last day of the capex window.
    max_gap_days : int
        How far from ``period_end`` a point may be dated.

    Returns
    -------
    pandas.DataFrame
        One `run_rates` row per provider, with ``days_from_period_end`` (negative: before it).

    Raises
    ------
    MissingEvidenceError
        A provider with no point in the window.
    """
    end = pd.Timestamp(period_end)
    # A month-only date is placed at the month's first day; its distance counts from mid-month.
    centre = rates["point_date"] + pd.to_timedelta(
        np.where(rates["point_precision"] == "month", rates["point_date"].dt.days_in_month // 2, 0), unit="D")
    days = (centre - end).dt.days
    near = rates.assign(days_from_period_end=days, _gap=days.abs(), _c=_rank(rates["confidence"]),
                        _k=rates["kind"].astype(str).map(KINDS.index))
    near = near[near["_gap"] <= max_gap_days]
    missing = sorted(set(rates["entity"]) - set(near["entity"]))
    if missing or rates.empty:
        raise MissingEvidenceError(f"no run rate of {', '.join(missing) or 'any provider'} dated within "
                                   f"{max_gap_days} days of the capex window's end, {end:%Y-%m-%d}")
    picked = near.sort_values(["entity", "_gap", "_c", "_k"]).drop_duplicates("entity")
    return picked.drop(columns=["_gap", "_c", "_k"]).reset_index(drop=True)


@memoized
def funding_gap(capex_frame: pd.DataFrame | None = None, rates: pd.DataFrame | None = None,
                years: float = GAP_YEARS, capex_growth: float = 0.0, max_gap_days: int = 92) -> dict:
    """Combined hyperscaler TTM capex against the model providers' run rates at the same date (B11).

    The capex is the five hyperscalers' combined twelve months to the latest calendar quarter all
    of them have filed; the run rates are each provider's point nearest that quarter's end
    (`matched_run_rates`). The providers' latest points, often later, are returned as context.
    Assumption (stated in the chapter): capex stays at that level grown at ``capex_growth`` a
    year, and the providers' combined run rate compounds at one constant rate; the rate returned
    closes the gap in ``years``.

    Parameters
    ----------
    capex_frame : pandas.DataFrame, optional
        `valuechain_lib.analyses.capex_vs_cash.capex_vs_cash` output (TTM).
    rates : pandas.DataFrame, optional
        `run_rates` output.
    max_gap_days : int
        How far from the capex window's end a run rate may be dated.

    Returns
    -------
    dict
        ``capex_label, capex_end`` (calendar quarter and its last day), ``capex_through`` (each
        company's own period end), ``capex`` (USD), ``run_rate`` (USD, sum of the matched points),
        ``providers`` (the `matched_run_rates` frame), ``coverage``, ``gap`` (capex − run rate),
        ``years``, ``capex_growth``, ``required_growth``, ``max_gap_days``, ``latest`` (the
        `latest_run_rates` frame), ``latest_run_rate`` and ``latest_coverage`` (against the same capex).
    """
    frame = capex_vs_cash(freq="TTM") if capex_frame is None else capex_frame
    combined = frame[frame["ticker"] == COMBINED].dropna(subset=["capex"]).sort_values("quarter_end")
    if combined.empty:
        raise MissingEvidenceError("no calendar quarter in which every hyperscaler has filed capex")
    last = combined.iloc[-1]
    rates = run_rates() if rates is None else rates
    matched = matched_run_rates(rates, last["quarter_end"], max_gap_days)
    latest = latest_run_rates(rates)
    total = float(matched["usd"].sum())
    latest_total = float(latest["usd"].sum())
    capex = float(last["capex"])
    return {"capex_label": last["calendar_label"], "capex_end": last["quarter_end"],
            "capex_through": capex_data_through(frame, last["calendar_label"]), "capex": capex,
            "run_rate": total, "providers": matched, "coverage": get_coverage(total, capex), "gap": capex - total,
            "years": years, "capex_growth": capex_growth,
            "required_growth": get_required_growth(capex, total, years, capex_growth),
            "max_gap_days": max_gap_days, "latest": latest, "latest_run_rate": latest_total,
            "latest_coverage": get_coverage(latest_total, capex)}


def required_growth_table(gap: dict, horizons=(3, 5, 10), capex_growths=(0.0, 0.10)) -> pd.DataFrame:
    """Required annual run-rate growth for several horizons and capex growth rates, from `funding_gap`."""
    rows = [{"years": n, "capex_growth": c, "required_growth": get_required_growth(gap["capex"], gap["run_rate"], n, c)}
            for c in capex_growths for n in horizons]
    return pd.DataFrame(rows)


def _as_list(value) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    items = value if isinstance(value, list | tuple) else str(value).split("|")
    return [str(v).strip() for v in items if str(v).strip()]


def partner_evidence(investor="", cloud_partner="", facts_frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """The facts rows cited for claim B8, each tagged with the company and role it bears on.

    Parameters
    ----------
    investor, cloud_partner : str or list of str
        ``Company:fact_id`` items (``"Amazon:F187"``; a list, or items joined by ``|``): a figure
        showing the company holds a stake in Anthropic, or sells it cloud compute.
    facts_frame : pandas.DataFrame, optional
        `facts` rows (for tests). By default the facts table as of the date being evaluated; a
        cited row not published by then is absent.

    Returns
    -------
    pandas.DataFrame
        ``company, role`` plus the facts columns, ``label`` and ``point_text``; one row per cited
        figure present.

    Raises
    ------
    MissingEvidenceError
        A cited id that is not in the facts table at all (a ledger error, not a late figure).
    """
    wanted = [(role, *item.split(":", 1)) for role, items in (("investor", investor), ("cloud partner", cloud_partner))
              for item in _as_list(items)]
    bad = [f"{r}={c}" for r, *c in wanted if len(c) != 2]
    if bad:
        raise MissingEvidenceError(f"B8 evidence items {bad} are not 'Company:fact_id'")
    table = facts() if facts_frame is None else facts_frame
    if facts_frame is None:
        with as_of(None):
            known = set(facts()["fact_id"])
        unknown = sorted({fid for _, _, fid in wanted} - known)
        if unknown:
            raise MissingEvidenceError(f"B8 cites facts {unknown} that are not in the facts table")
    parts = pd.DataFrame(wanted, columns=["role", "company", "fact_id"])
    rows = parts.merge(table, on="fact_id", how="inner")
    rows = _describe(rows) if not rows.empty else rows.assign(label=pd.Series(dtype=str),
                                                             point_text=pd.Series(dtype=str))
    return rows.reset_index(drop=True)


# --------------------------------------------------------------------------- verdicts
def _sources(rows: pd.DataFrame) -> str:
    return "; ".join(f"{r.fact_id} ({r.kind}, {r.confidence} confidence; {r.publisher})"
                     for r in rows.itertuples()) + " (facts table)"


def pricing_verdict(rows: pd.DataFrame, min_confidence: str = "medium") -> Verdict:
    """Verdict on B4: training gives way to inference, and usage-based (token) pricing spreads.

    The claim, as the essay states it: AI spending moves from training models to serving them
    (inference), and vendors such as Oracle now charge by usage (tokens) rather than by seat or
    capacity. The shift itself is reported by no filer (no company splits revenue or capacity
    between training and inference), so it cannot be tested. Rule: *mixed* when at least one cited
    figure of usage-based pricing is rated ``min_confidence`` or better (pricing borne out, the
    shift untested); *not testable with public data* otherwise. No threshold: measured is None.

    Parameters
    ----------
    rows : pandas.DataFrame
        `facts` rows cited for B4.
    min_confidence : {"high", "medium", "low"}

    Returns
    -------
    Verdict
    """
    rows = _describe(rows) if not rows.empty else rows
    strong = rows[_rank(rows["confidence"]) <= CONFIDENCES.index(min_confidence)] if not rows.empty else rows
    shift = ("No filer splits its revenue or capacity between training and inference, so the shift itself "
             "cannot be measured.")
    if rows.empty:
        pricing = " No figure of usage-based pricing is cited."
    else:
        pricing = (f" Usage-based pricing is attested by {len(rows)} cited figure{'s' if len(rows) > 1 else ''}: "
                   + "; ".join(rows["label"]) + ". "
                   + (f"{len(strong)} of them reach" if len(strong) else "None of them reaches")
                   + f" the {min_confidence} confidence the rule asks.")
    status = "mixed" if not strong.empty else "not testable with public data"
    return Verdict(status=status, summary=shift + pricing,
                   numbers={"rows": len(rows), "rows_at_min_confidence": len(strong), "min_confidence": min_confidence,
                            **({r.fact_id: r.value for r in rows.itertuples()} if not rows.empty else {})},
                   sources=_sources(rows) if not rows.empty else "facts table (no row for B4)",
                   data_through=facts_through(rows) if not rows.empty else "")


def verdict_b4(min_confidence: str = "medium") -> Verdict:
    """Verdict on B4 from the facts rows cited for it (rule in `pricing_verdict`)."""
    return pricing_verdict(facts(claim_id="B4"), min_confidence)


def run_rate_verdict(rates: pd.DataFrame, large_run_rate_usd: float = 10e9,
                     min_confidence: str = "medium") -> Verdict:
    """Verdict on B5: downstream model providers already earn large run rates.

    The claim, as the essay states it: OpenAI and Anthropic already bring in revenue at an
    annualized rate of tens of billions of dollars (the essay: OpenAI about $24B in March 2026,
    Anthropic about $44B in May 2026). Rule: take each provider's latest run rate rated
    ``min_confidence`` or better; *supported* when the smaller of them is at least
    ``large_run_rate_usd``, *mixed* when only one is, *not supported* when none is. The distance to
    a flip is the smaller run rate's distance from the threshold.

    Parameters
    ----------
    rates : pandas.DataFrame
        `run_rates` output.
    large_run_rate_usd : float
        USD a year read as "large".
    min_confidence : {"high", "medium", "low"}

    Returns
    -------
    Verdict

    Raises
    ------
    MissingEvidenceError
        No run rate of that confidence.
    """
    latest = latest_run_rates(rates, min_confidence)
    if latest.empty:
        raise MissingEvidenceError(f"no run rate rated {min_confidence} confidence or better")
    smallest = latest.loc[latest["usd"].idxmin()]
    large = latest["usd"] >= large_run_rate_usd
    compared = at_least(float(smallest["usd"]), large_run_rate_usd, unit="USD",
                        measure=f"the smaller latest run rate at {min_confidence} confidence or better "
                                f"({smallest['entity']}, {smallest['point_text']})")
    if 0 < large.sum() < len(latest):
        compared["status"] = "mixed"
        compared["flip"] = (f"{smallest['entity']} is {format_value(compared['distance_to_flip'], 'USD')} below the "
                            f"{format_value(large_run_rate_usd, 'USD')} threshold; a rise of that much makes it "
                            "supported")
    uses = "; ".join(f"{r.entity} {r.qualifier + ' ' if r.qualifier else ''}${r.usd / 1e9:,.0f}bn at "
                     f"{r.point_text} ({r.kind}, {r.confidence} confidence; {r.publisher}; {r.fact_id})"
                     for r in latest.itertuples())
    newer = rates.merge(latest[["entity", "point_date"]], on="entity", suffixes=("", "_used"))
    newer = latest_run_rates(newer[newer["point_date"] > newer["point_date_used"]])
    newer_text = ("" if newer.empty else
                  " Later points rest on lower confidence: " + "; ".join(newer["label"]) + ".")
    essay = essay_figures(rates)
    essay_text = ("" if essay.empty else
                  " The essay's Anthropic figure appears only as " + "; ".join(essay["label"]) + ".")
    summary = (f"Each provider's latest run rate at {min_confidence} confidence or better: {uses}. The rule calls "
               f"{format_value(large_run_rate_usd, 'USD')} a year large.{newer_text}{essay_text} Run rates are "
               "annualized points, not recognized revenue, and the two companies define them differently.")
    return Verdict(summary=summary, **compared,
                   numbers={**{f"{r.entity}_run_rate": float(r.usd) for r in latest.itertuples()},
                            **{f"{r.entity}_fact": r.fact_id for r in latest.itertuples()},
                            "large_run_rate_usd": large_run_rate_usd},
                   sources=_sources(latest),
                   data_through=through_text(dict(zip(latest["entity"], latest["point_text"], strict=True))))


def verdict_b5(large_run_rate_usd: float = 10e9, min_confidence: str = "medium") -> Verdict:
    """Verdict on B5 from the facts table's run rates (rule in `run_rate_verdict`)."""
    return run_rate_verdict(run_rates(), large_run_rate_usd, min_confidence)


def contract_verdict(jump: dict, contract, tolerance: float = 0.10) -> Verdict:
    """Verdict on B7: Oracle is exposed to OpenAI through a reported $300B compute contract.

    The claim, as the essay states it: a large part of Oracle's backlog is one customer, OpenAI,
    through a compute contract reported at about $300B. Rule: *supported* when the rise in Oracle's
    remaining performance obligations over the quarter in which the contract was reported (from its
    filings) is at least the press-reported contract value less ``tolerance``: the filings show a
    jump large enough to hold it. Oracle's filing does not name the customer.

    Parameters
    ----------
    jump : dict
        `rpo_change` output for Oracle's quarter.
    contract : mapping
        The facts row of the contract's total value.
    tolerance : float
        Fraction of the contract value the jump may fall short by.

    Returns
    -------
    Verdict
    """
    value = float(contract["value"]) * USD_PER_UNIT[str(contract["unit"])]
    needed = value * (1 - tolerance)
    end = pd.Timestamp(jump["period_end"])
    compared = at_least(jump["change"], needed, unit="USD",
                        measure=f"rise in Oracle's RPO over its {jump['fiscal_label']} (quarter to {end:%Y-%m-%d})")
    share = value / jump["rpo"]
    summary = (f"Oracle's remaining performance obligations rose by ${jump['change'] / 1e9:,.1f}bn in its "
               f"{jump['fiscal_label']} (quarter to {end:%Y-%m-%d}), to ${jump['rpo'] / 1e9:,.1f}bn ({jump['form']}). "
               f"The contract with OpenAI reported then ({label(contract)}) less {tolerance:.0%} is "
               f"${needed / 1e9:,.0f}bn, the rise the rule asks. The contract would be {share:.0%} of that "
               "backlog; the filing does not name the customer.")
    return Verdict(summary=summary, **compared,
                   numbers={"rpo_change": jump["change"], "rpo": jump["rpo"], "contract": value,
                            "tolerance": tolerance, "contract_share_of_rpo": share},
                   sources=(f"Oracle {jump['form']} accessions {jump['accession']} and {jump['prior_accession']}; "
                            f"{contract['fact_id']} ({contract['kind']}, {contract['confidence']} confidence; "
                            f"{contract['publisher']})"),
                   data_through=f"{end:%Y-%m-%d} (ORCL)")


def verdict_b7(tolerance: float = 0.10) -> Verdict:
    """Verdict on B7 (rule in `contract_verdict`): Oracle's quarter is the last one ending before the
    contract was reported."""
    rows = facts(claim_id="B7")
    rows = rows[rows["metric"].str.contains("total value", case=False, na=False)
                & rows["entity"].str.contains("Oracle", na=False) & rows["value"].notna()]
    if rows.empty:
        raise MissingEvidenceError("no reported value of an OpenAI–Oracle contract in the facts table")
    contract = rows.sort_values("as_of").iloc[-1]
    reported = contract["source_date"] if pd.notna(contract["source_date"]) else contract["as_of"]
    table = financials("ORCL", freq="Q", metrics="rpo")
    return contract_verdict(rpo_change("ORCL", oracle_quarter_before(reported, table), table), contract, tolerance)


def partners_verdict(evidence: pd.DataFrame, companies=("Amazon", "Alphabet"),
                     min_confidence: str = "medium") -> Verdict:
    """Verdict on B8: Amazon and Alphabet are Anthropic's strategic investors and cloud partners.

    The claim, as the essay states it: each of Amazon and Alphabet both holds a stake in Anthropic
    and sells it cloud compute. Rule: the claim has four parts (each company as investor, each as
    cloud partner); a part is borne out when a cited figure shows it at ``min_confidence`` or
    better. *Supported* when all four are, *mixed* when some are, *not testable with public data*
    when none is (nothing cited, or only below that confidence). Measured: the parts borne out;
    threshold: all of them.

    Parameters
    ----------
    evidence : pandas.DataFrame
        `partner_evidence` output (``company``, ``role``, facts columns, ``label``).
    companies : sequence of str
    min_confidence : {"high", "medium", "low"}

    Returns
    -------
    Verdict
    """
    companies = _as_list(list(companies))
    states, sentences = {}, []
    for company in companies:
        for role in B8_ROLES:
            rows = evidence[(evidence["company"] == company) & (evidence["role"] == role)] if not evidence.empty \
                else evidence
            if rows.empty:
                state, text = "not cited", f"{company} as {role}: no cited figure"
            elif (_rank(rows["confidence"]) <= CONFIDENCES.index(min_confidence)).any():
                state, text = "borne out", f"{company} as {role}: borne out by " + "; ".join(rows["label"])
            else:
                state, text = "below confidence", (f"{company} as {role}: attested only below {min_confidence} "
                                                   "confidence, by " + "; ".join(rows["label"]))
            states[f"{company} {role}"] = state
            sentences.append(text)
    total = len(states)
    borne = sum(s == "borne out" for s in states.values())
    if borne == total:
        status, distance, flip = "supported", 1, "one part losing its evidence would make it mixed"
    elif borne:
        status, distance = "mixed", min(borne, total - borne)
        flip = (f"{borne} of {total} parts borne out; {total - borne} more would make it supported, "
                f"{borne} fewer not testable")
    else:
        status, distance, flip = ("not testable with public data", 1,
                                  "one part borne out at that confidence would make it mixed")
    def named(state):
        return ", ".join(k for k, s in states.items() if s == state) or "none"

    tail = (f" Borne out at {min_confidence} confidence or better: {named('borne out')}; no cited figure at all: "
            f"{named('not cited')}.")
    summary = (". ".join(sentences) + "." + tail if not evidence.empty else
               "No cited figure bears on any part of the claim (each company as investor and as cloud partner).")
    return Verdict(
        status=status, summary=summary,
        measured=float(borne), threshold=float(total), unit="",
        measure=f"parts of the claim (each company as investor and as cloud partner) borne out at {min_confidence} "
                "confidence or better",
        distance_to_flip=float(distance), flip=flip,
        numbers={**states, **({r.fact_id: r.value for r in evidence.itertuples()} if not evidence.empty else {})},
        sources=_sources(evidence) if not evidence.empty else "facts table (no cited figure published yet)",
        data_through=facts_through(evidence) if not evidence.empty else "")


def verdict_b8(investor="", cloud_partner="", companies="Amazon|Alphabet", min_confidence: str = "medium") -> Verdict:
    """Verdict on B8 from the cited facts rows (rule in `partners_verdict`; items as in `partner_evidence`)."""
    return partners_verdict(partner_evidence(investor, cloud_partner), _as_list(companies), min_confidence)


def backlog_verdict(history: pd.DataFrame, companies=None, stale_quarters: int = 4) -> Verdict:
    """Verdict on B9: hyperscalers with large backlogs (RPO) benefit from inference demand.

    The claim, as the essay states it: the hyperscalers' contracted backlogs are growing with AI
    demand, which they will turn into revenue. Rule: for each hyperscaler still reporting RPO,
    compare its RPO growth with its trailing-twelve-month revenue growth, both over the year to its
    own latest quarter (the same quarter for both figures); backlog outgrowing revenue means demand
    contracted ahead of delivery. *Supported* when it holds for all, *mixed* for some, *not
    supported* for none.

    Parameters
    ----------
    history : pandas.DataFrame
        `rpo_history` output.
    companies : list of str, optional
        The companies the claim covers; those without a recent RPO are named as left out.
    stale_quarters : int
        See `rpo_growth_vs_revenue`.

    Returns
    -------
    Verdict
    """
    table = rpo_growth_vs_revenue(history, stale_quarters)
    compared = count_of(int(table["rpo_faster"].sum()), len(table),
                        measure="hyperscalers whose RPO grew faster than their trailing revenue, year to each "
                                "one's latest quarter")
    parts = "; ".join(
        f"{r.ticker} RPO {r.rpo_growth:+.0%} against revenue {r.revenue_growth:+.0%} ({r.fiscal_label}"
        + (f", to {r.period_end:%Y-%m-%d}" if "period_end" in table and pd.notna(r.period_end) else "") + ")"
        for r in table.itertuples())
    last = history.dropna(subset=["rpo"]).groupby("ticker")["quarter_end"].max()
    left = []
    for ticker in companies or []:
        if ticker in set(table["ticker"]):
            continue
        left.append(f"{ticker} (RPO last tagged for {last[ticker]:%Y-%m-%d})" if ticker in last.index
                    else f"{ticker} (no RPO in its filings)")
    left_text = f" Left out: {', '.join(left)}." if left else ""
    ends = dict(zip(table["ticker"], table["period_end"], strict=True)) if "period_end" in table else {}
    return Verdict(
        summary=f"Year on year, each company's RPO and trailing revenue to its own latest quarter: {parts}.{left_text}",
        **compared,
        numbers={f"{r.ticker}_rpo_growth": r.rpo_growth for r in table.itertuples()}
        | {f"{r.ticker}_revenue_growth": r.revenue_growth for r in table.itertuples()},
        sources="SEC EDGAR XBRL filings (10-K, 10-Q): RevenueRemainingPerformanceObligation and revenue of "
                + ", ".join(table["ticker"]),
        data_through=through_text(ends))


def verdict_b9(stale_quarters: int = 4) -> Verdict:
    """Verdict on B9 from the filings in the snapshot (rule in `backlog_verdict`)."""
    return backlog_verdict(rpo_history(), companies=members(sub_layer=SUB_LAYER), stale_quarters=stale_quarters)


def _run_rate_text(rows: pd.DataFrame) -> str:
    return " and ".join(f"{r.entity} {r.qualifier + ' ' if r.qualifier else ''}${r.usd / 1e9:,.0f}bn "
                        f"({r.point_text}; {r.kind}, {r.confidence} confidence; {r.fact_id})" for r in rows.itertuples())


def funding_verdict(gap: dict, coverage_threshold: float = 1.0) -> Verdict:
    """Verdict on B11: the hardware rally can continue only if downstream revenue can fund the capex.

    A condition, as the essay states it: the hyperscalers' spending on AI hardware lasts only as long
    as the revenue of those who buy AI (the model providers) can pay for it. Rule: *condition met*
    when the model providers' combined run rate, each dated within the gap allowed of the end of
    the capex window and nearest to it (`matched_run_rates`), is at least ``coverage_threshold`` times the five
    hyperscalers' combined capex over the twelve months to that calendar quarter; *condition not
    met so far* otherwise, with the growth that would close the gap under the chapter's assumption.

    Parameters
    ----------
    gap : dict
        `funding_gap` output.
    coverage_threshold : float
        Run rate / capex at which the condition is met.

    Returns
    -------
    Verdict
    """
    compared = at_least(gap["coverage"], coverage_threshold, unit="share", kind="condition",
                        measure=f"model providers' run rates / combined hyperscaler capex, twelve months to calendar "
                                f"{gap['capex_label']}")
    met = compared["status"] == "condition met"
    closing = ("" if met else
               f" Held at that capex, their run rate would have to grow {gap['required_growth']:.0%} a year to match "
               f"it in {gap['years']:g} years.")
    used = set(gap["providers"]["fact_id"])
    later = gap["latest"][~gap["latest"]["fact_id"].isin(used)]
    later_text = ("" if later.empty else
                  f" Each provider's latest point, {_run_rate_text(gap['latest'])}, would give "
                  f"{gap['latest_coverage']:.1%} against the same capex, but {' and '.join(later['fact_id'])} "
                  f"{'is' if len(later) == 1 else 'are'} dated more than {gap['max_gap_days']} days after the capex "
                  f"window's end ({gap['capex_end']:%Y-%m-%d}), so the rule does not use "
                  f"{'it' if len(later) == 1 else 'them'}.")
    summary = (f"The run rates nearest the end of the capex window, {_run_rate_text(gap['providers'])}, add up to "
               f"{gap['coverage']:.1%} of the five hyperscalers' combined capex of ${gap['capex'] / 1e9:,.0f}bn in the "
               f"twelve months to calendar {gap['capex_label']}; the condition asks "
               f"{coverage_threshold:.0%}.{closing}{later_text}")
    run_through = through_text(dict(zip(gap["providers"]["entity"], gap["providers"]["point_text"], strict=True)))
    return Verdict(
        summary=summary, **compared,
        numbers={"coverage": gap["coverage"], "coverage_threshold": coverage_threshold, "capex": gap["capex"],
                 "run_rate": gap["run_rate"], "required_growth": gap["required_growth"], "years": gap["years"],
                 "latest_run_rate": gap["latest_run_rate"], "latest_coverage": gap["latest_coverage"],
                 "max_gap_days": gap["max_gap_days"],
                 "run_rate_facts": ", ".join(gap["providers"]["fact_id"])},
        sources="SEC EDGAR XBRL filings of " + ", ".join(members(sub_layer=SUB_LAYER)) + "; run rates "
                + _sources(gap["providers"]),
        data_through=f"capex {gap['capex_through'] or gap['capex_end'].strftime('%Y-%m-%d')}; run rates {run_through}")


def verdict_b11(coverage_threshold: float = 1.0, max_gap_days: int = 92) -> Verdict:
    """Verdict on B11 from the snapshot's capex and the facts table's run rates (rule in `funding_verdict`)."""
    return funding_verdict(funding_gap(max_gap_days=max_gap_days), coverage_threshold)
