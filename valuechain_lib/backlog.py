"""Backlogs (RPO) of the hyperscalers, downstream run rates and the capex they would have to fund (B4–B11).

Remaining performance obligations come from the filings in the snapshot (Meta reports none;
Amazon's are in companyfacts only for 2018–2020, so AWS backlog comes from facts rows). The model
providers' run rates (OpenAI, Anthropic: private companies) are facts rows, shown with their kind
(press reports labelled) and confidence.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from . import capex as capex_module
from .facts import CONFIDENCES, KINDS, facts, label
from .financials import financials
from .periods import calendar_quarter_end
from .verdicts import Verdict, status_from_count

PROVIDERS = ("OpenAI", "Anthropic")
#: A run-rate metric in the facts table (annualized revenue, ARR, run-rate revenue).
RUN_RATE = re.compile(r"run.?rate|annuali[sz]ed|\bARR\b|recurring revenue", re.IGNORECASE)
USD_PER_UNIT = {"USD million": 1e6, "USD billion": 1e9}
#: Default horizon (years) of the funding-gap assumption.
GAP_YEARS = 5

__all__ = [
    "GAP_YEARS", "PROVIDERS", "aws_backlog", "funding_gap", "get_coverage", "get_required_growth",
    "get_rpo_to_revenue", "latest_run_rates", "required_growth_table", "rpo_change", "rpo_growth_vs_revenue",
    "rpo_history", "run_rates", "verdict_b4", "verdict_b5", "verdict_b7", "verdict_b9", "verdict_b11",
]


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


def rpo_history(tickers=None, since: int = 2018, table: pd.DataFrame | None = None,
                revenue: pd.DataFrame | None = None) -> pd.DataFrame:
    """Remaining performance obligations per hyperscaler by calendar quarter, against TTM revenue.

    Parameters
    ----------
    tickers : list of str, optional
        Default: the hyperscalers (`valuechain_lib.capex.hyperscalers`).
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
    tickers = list(tickers or capex_module.hyperscalers())
    if table is None:
        table = financials(tickers, freq="Q", calendar=True, metrics="rpo")
    if revenue is None:
        revenue = financials(tickers, freq="TTM", calendar=True, metrics="revenue")
    keys = ["ticker", "calendar_year", "calendar_quarter"]
    rpo = table[table["ticker"].isin(tickers) & (table["metric"] == "rpo")].dropna(subset=["value"])
    rpo = rpo[keys + ["fiscal_year", "fiscal_period", "period_end", "value", "accession", "form", "filed"]]
    rpo = rpo.rename(columns={"value": "rpo"})
    rev = revenue[revenue["metric"] == "revenue"][keys + ["value"]].rename(columns={"value": "ttm_revenue"})
    out = rpo.merge(rev, how="left", on=keys)
    for col, growth in (("rpo", "rpo_growth"), ("ttm_revenue", "revenue_growth")):
        prior = out[keys + [col]].assign(calendar_year=lambda d: d["calendar_year"] + 1)
        out = out.merge(prior.rename(columns={col: "_prior"}), how="left", on=keys)
        out[growth] = out[col] / out["_prior"].where(out["_prior"] != 0) - 1
        out = out.drop(columns="_prior")
    out["rpo_to_revenue"] = get_rpo_to_revenue(out["rpo"], out["ttm_revenue"])
    out["quarter_end"] = calendar_quarter_end(out["calendar_year"], out["calendar_quarter"])
    out["calendar_label"] = [f"{int(y)} Q{int(q)}" for y, q in zip(out["calendar_year"], out["calendar_quarter"],
                                                                     strict=True)]
    out["fiscal_label"] = "FY" + out["fiscal_year"].astype(str) + " " + out["fiscal_period"].astype(str)
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
    table = financials(ticker, freq="Q", metrics="rpo") if table is None else table
    rows = table[(table["ticker"] == ticker) & (table["metric"] == "rpo")].dropna(subset=["value"])
    rows = rows.sort_values("period_end").reset_index(drop=True)
    end = pd.Timestamp(period_end)
    hit = rows.index[rows["period_end"] == end]
    if len(hit) == 0 or hit[0] == 0:
        raise ValueError(f"{ticker}: no RPO for the quarter ending {end:%Y-%m-%d} and the one before")
    cur, prev = rows.loc[hit[0]], rows.loc[hit[0] - 1]
    return {"ticker": ticker, "period_end": end, "fiscal_label": f"FY{cur['fiscal_year']} {cur['fiscal_period']}",
            "rpo": float(cur["value"]), "prior_rpo": float(prev["value"]), "prior_period_end": prev["period_end"],
            "change": float(cur["value"] - prev["value"]), "accession": cur["accession"],
            "prior_accession": prev["accession"], "form": cur["form"]}


# --------------------------------------------------------------------------- facts layer
def _point_date(row) -> pd.Timestamp:
    """When a figure applies: period_end if given, else as_of (a year-only date moved to 31 December)."""
    if pd.notna(row["period_end"]):
        return row["period_end"]
    date = row["as_of"]
    if pd.notna(date) and row.get("as_of_precision", "") == "year":
        return pd.Timestamp(year=date.year, month=12, day=31)
    return date


def _describe(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.copy()
    rows["label"] = [label(r) for _, r in rows.iterrows()]
    rows["usd"] = [v * USD_PER_UNIT.get(u, np.nan) for v, u in zip(rows["value"], rows["unit"], strict=True)]
    rows["point_date"] = [_point_date(r) for _, r in rows.iterrows()]
    rows["kind"] = rows["kind"].astype(str)
    rows["confidence"] = rows["confidence"].astype(str)
    return rows


def aws_backlog(facts_frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """AWS segment backlog by quarter from the facts table (Amazon's RPO is tagged only 2018–2020).

    Returns
    -------
    pandas.DataFrame
        ``period, point_date, usd, qualifier, fact_id, kind, confidence, label``.
    """
    table = facts(segment="AWS") if facts_frame is None else facts_frame
    rows = table[(table["segment"] == "AWS") & (table["metric"] == "backlog") & table["value"].notna()]
    rows = _describe(rows)
    cols = ["period", "point_date", "usd", "qualifier", "fact_id", "kind", "confidence", "label"]
    return rows[cols].sort_values("point_date").reset_index(drop=True)


def run_rates(facts_frame: pd.DataFrame | None = None, providers=PROVIDERS) -> pd.DataFrame:
    """The model providers' annualized revenue run rates from the facts table, labelled.

    Rows of the providers in a money unit whose metric names a run rate, annualized or recurring
    revenue (monthly revenue and compute capacity are left out).

    Returns
    -------
    pandas.DataFrame
        ``entity, metric, point_date`` (``period_end``, else ``as_of``; a year-only date is put at
        31 December), ``usd, qualifier, kind, confidence, fact_id, label``, sorted by entity, date.
    """
    table = facts(claim_id="B5") if facts_frame is None else facts_frame
    rows = table[table["entity"].isin(list(providers)) & table["unit"].isin(list(USD_PER_UNIT))
                 & table["metric"].str.contains(RUN_RATE.pattern, case=False, na=False) & table["value"].notna()]
    rows = _describe(rows)
    cols = ["entity", "metric", "point_date", "usd", "qualifier", "kind", "confidence", "fact_id", "label"]
    return rows[cols].sort_values(["entity", "point_date"]).reset_index(drop=True)


def latest_run_rates(rates: pd.DataFrame) -> pd.DataFrame:
    """Each provider's latest run rate; on a tie of dates, the higher confidence, then the more direct kind."""
    ranked = rates.assign(_c=rates["confidence"].map(CONFIDENCES.index), _k=rates["kind"].map(KINDS.index))
    ranked = ranked.sort_values(["entity", "point_date", "_c", "_k"], ascending=[True, False, True, True])
    return ranked.drop_duplicates("entity").drop(columns=["_c", "_k"]).reset_index(drop=True)


def funding_gap(capex_frame: pd.DataFrame | None = None, rates: pd.DataFrame | None = None,
                years: float = GAP_YEARS, capex_growth: float = 0.0) -> dict:
    """Combined hyperscaler TTM capex against the model providers' latest run rates (Essay B's condition).

    Assumption (stated in the chapter): capex stays at its latest trailing-twelve-month level
    grown at ``capex_growth`` a year, and the providers' combined run rate compounds at one
    constant rate; the rate returned closes the gap in ``years``.

    Parameters
    ----------
    capex_frame : pandas.DataFrame, optional
        `valuechain_lib.capex.capex_vs_cash` output (TTM).
    rates : pandas.DataFrame, optional
        `run_rates` output.

    Returns
    -------
    dict
        ``capex_label, capex`` (USD), ``run_rate`` (USD, sum of latest), ``providers`` (the
        `latest_run_rates` frame), ``coverage``, ``gap`` (capex − run rate), ``years``,
        ``capex_growth``, ``required_growth``.
    """
    frame = capex_module.capex_vs_cash(freq="TTM") if capex_frame is None else capex_frame
    combined = frame[frame["ticker"] == capex_module.COMBINED].dropna(subset=["capex"]).sort_values("quarter_end")
    last = combined.iloc[-1]
    latest = latest_run_rates(run_rates() if rates is None else rates)
    total = float(latest["usd"].sum())
    capex = float(last["capex"])
    return {"capex_label": last["calendar_label"], "capex": capex, "run_rate": total, "providers": latest,
            "coverage": get_coverage(total, capex), "gap": capex - total, "years": years,
            "capex_growth": capex_growth,
            "required_growth": get_required_growth(capex, total, years, capex_growth)}


def required_growth_table(gap: dict, horizons=(3, 5, 10), capex_growths=(0.0, 0.10)) -> pd.DataFrame:
    """Required annual run-rate growth for several horizons and capex growth rates, from `funding_gap`."""
    rows = [{"years": n, "capex_growth": c, "required_growth": get_required_growth(gap["capex"], gap["run_rate"], n, c)}
            for c in capex_growths for n in horizons]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- verdicts
def verdict_b4(min_confidence: str = "medium", facts_frame: pd.DataFrame | None = None) -> Verdict:
    """Verdict on B4 (training gives way to inference; usage-based, token pricing spreads, e.g. at Oracle).

    The claim has two halves. The shift of workloads from training to inference is reported by no
    filer (no company splits revenue or capacity that way), so it cannot be tested with public
    data. The pricing half rests on the facts rows for B4. Rule: *mixed* when at least one row
    of usage-based pricing is rated ``min_confidence`` or better (pricing borne out, the shift
    untested); *not testable with public data* otherwise.
    """
    table = facts(claim_id="B4") if facts_frame is None else facts_frame
    rows = table[table["claim_id"] == "B4"].copy()
    rank = rows["confidence"].astype(str).map(CONFIDENCES.index)
    strong = rows[rank <= CONFIDENCES.index(min_confidence)]
    described = "; ".join(label(r) for _, r in rows.iterrows()) or "none"
    status = "mixed" if not strong.empty else "not testable with public data"
    pricing = ("meets" if not strong.empty else "falls below") + f" the {min_confidence} confidence the rule asks"
    return Verdict(
        status=status,
        summary=(f"**Verdict on B4: {status}.** No filer splits its revenue or capacity between training and "
                 "inference, so the shift itself cannot be measured. Usage-based pricing at Oracle is attested "
                 f"by: {described}; that evidence {pricing}."),
        numbers={"rows": len(rows), "rows_at_min_confidence": len(strong)},
        sources=", ".join(rows["fact_id"].astype(str)) + " (facts table)",
    )


def verdict_b5(large_run_rate_usd: float = 10e9, rates: pd.DataFrame | None = None) -> Verdict:
    """Verdict on B5 (downstream model providers already earn large run rates).

    Rule: *supported* when every provider's latest run rate is at least ``large_run_rate_usd``;
    *mixed* when some are; *not supported* when none is.
    """
    latest = latest_run_rates(run_rates() if rates is None else rates)
    large = latest["usd"] >= large_run_rate_usd
    status = status_from_count(int(large.sum()), len(latest))
    parts = "; ".join(latest["label"])
    table = run_rates() if rates is None else rates
    essay = table[table["metric"].str.contains("brief", case=False, na=False)]
    essay_text = (" The essay's Anthropic figure appears only as " + "; ".join(essay["label"]) + "."
                  if not essay.empty else "")
    weak = sorted(set(latest.loc[latest["confidence"] != "high", "confidence"]))
    caveat = f" These rest on {' and '.join(weak)} confidence (private companies, no filings)." if weak else ""
    return Verdict(
        status=status,
        summary=(f"**Verdict on B5: {status}.** Latest run rates: {parts}; the rule calls "
                 f"${large_run_rate_usd / 1e9:,.0f}bn a year large.{caveat}{essay_text}"),
        numbers={**{f"{e}_run_rate": float(u) for e, u in zip(latest["entity"], latest["usd"], strict=True)},
                 "large_run_rate_usd": large_run_rate_usd},
        sources=", ".join(latest["fact_id"]) + " (facts table)",
    )


def verdict_b7(tolerance: float = 0.10, table: pd.DataFrame | None = None,
               facts_frame: pd.DataFrame | None = None, period_end: str = "2025-08-31") -> Verdict:
    """Verdict on B7 (Oracle is exposed to OpenAI through a reported $300B compute contract).

    Rule: *supported* when the increase in Oracle's RPO over the quarter to ``period_end``, from
    its filings, is at least the press-reported contract value less ``tolerance`` (the filings
    show a jump large enough to hold the contract); *not supported* otherwise. Oracle's filing does
    not name the counterparty.
    """
    jump = rpo_change("ORCL", period_end, table)
    table_f = facts(claim_id="B7") if facts_frame is None else facts_frame
    contract_row = table_f[table_f["metric"].str.contains("total value", na=False)
                           & table_f["entity"].str.contains("Oracle", na=False)].iloc[0]
    contract = float(contract_row["value"]) * USD_PER_UNIT[contract_row["unit"]]
    holds = jump["change"] >= contract * (1 - tolerance)
    status = "supported" if holds else "not supported"
    share = contract / jump["rpo"]
    return Verdict(
        status=status,
        summary=(f"**Verdict on B7: {status}.** Oracle's remaining performance obligations rose by "
                 f"${jump['change'] / 1e9:,.1f}bn in its {jump['fiscal_label']} (quarter to {period_end}), to "
                 f"${jump['rpo'] / 1e9:,.1f}bn ({jump['form']}). The contract with OpenAI reported at that time "
                 f"({label(contract_row)}) would be {share:.0%} of that backlog; the filing does not name the "
                 "customer."),
        numbers={"rpo_change": jump["change"], "rpo": jump["rpo"], "contract": contract, "tolerance": tolerance,
                 "contract_share_of_rpo": share},
        sources=f"Oracle 10-Q accession {jump['accession']} and {jump['prior_accession']}; "
                f"{contract_row['fact_id']} ({contract_row['kind']}, {contract_row['confidence']} confidence)",
    )


def verdict_b9(history: pd.DataFrame | None = None) -> Verdict:
    """Verdict on B9 (hyperscalers with large backlogs benefit from inference demand).

    Rule: for each hyperscaler still reporting RPO, compare its latest year-on-year RPO growth with
    its TTM revenue growth; backlog outgrowing revenue means demand contracted ahead of delivery.
    *Supported* when it holds for all, *mixed* for some, *not supported* for none.
    """
    history = rpo_history() if history is None else history
    table = rpo_growth_vs_revenue(history)
    status = status_from_count(int(table["rpo_faster"].sum()), len(table))
    parts = "; ".join(f"{r.ticker} RPO {r.rpo_growth:+.0%} against revenue {r.revenue_growth:+.0%} "
                      f"({r.fiscal_label})" for r in table.itertuples())
    return Verdict(
        status=status,
        summary=(f"**Verdict on B9: {status}.** Year on year, to each company's latest quarter: {parts}. "
                 "Meta reports no RPO and Amazon's is tagged only for 2018–2020, so they are left out."),
        numbers={f"{r.ticker}_rpo_growth": r.rpo_growth for r in table.itertuples()}
        | {f"{r.ticker}_revenue_growth": r.revenue_growth for r in table.itertuples()},
        sources="SEC EDGAR XBRL filings (10-K, 10-Q), RevenueRemainingPerformanceObligation and revenue",
    )


def verdict_b11(coverage_threshold: float = 1.0, gap: dict | None = None) -> Verdict:
    """Verdict on B11 (the hardware rally lasts only if downstream revenue can fund the capex).

    Tests the condition: *supported* (downstream revenue already funds the capex) when the model
    providers' combined latest run rate is at least ``coverage_threshold`` times the hyperscalers'
    combined TTM capex; *not supported* otherwise, with the ratio and the growth that would close
    the gap under the chapter's assumption.
    """
    gap = funding_gap() if gap is None else gap
    holds = gap["coverage"] >= coverage_threshold
    status = "supported" if holds else "not supported"
    who = " and ".join(f"{r.entity} {r.qualifier + ' ' if r.qualifier else ''}${r.usd / 1e9:,.0f}bn "
                       f"({r.kind}, {r.confidence} confidence)"
                       for r in gap["providers"].itertuples())
    closing = ("" if holds else
               f" Held at that capex, their run rate would have to grow {gap['required_growth']:.0%} a year to "
               f"match it in {gap['years']:g} years.")
    return Verdict(
        status=status,
        summary=(f"**Verdict on B11: {status}.** The model providers' latest run rates ({who}) add up to "
                 f"{gap['coverage']:.0%} of the five hyperscalers' combined capex of "
                 f"${gap['capex'] / 1e9:,.0f}bn in the twelve months to {gap['capex_label']} (the rule asks "
                 f"{coverage_threshold:.0%}).{closing}"),
        numbers={"coverage": gap["coverage"], "coverage_threshold": coverage_threshold, "capex": gap["capex"],
                 "run_rate": gap["run_rate"], "required_growth": gap["required_growth"], "years": gap["years"]},
        sources="SEC EDGAR XBRL filings of AMZN, MSFT, GOOGL, META, ORCL; "
                + ", ".join(gap["providers"]["fact_id"]) + " (facts table)",
    )
