"""Cross-checks of derived figures against figures the companies reported independently.

Q4 = FY − 9M makes "quarters add up to the year" true by construction, so these checks compare
only figures that come from different facts:

* ``3M vs YTD difference``: a reported three-month figure (Q2, Q3, or a Q4 some 10-Ks tag) against
  the same quarter derived as the difference of two year-to-date figures (Q4 = FY − 9M);
* ``9M vs Q1+Q2+Q3``: the reported nine-month year-to-date against three reported quarters;
* ``TTM vs 4 quarters``: a reported trailing-twelve-month figure (Amazon) against four quarters;
* ``GP vs revenue − cost``: reported gross profit against reported revenue less cost of revenue;
* ``balance across filings``: a financing balance (debt, lease liabilities) as each filing that carries it
  gives it, against the value the snapshot keeps (the latest filing's).

A difference within `TOLERANCE` (±$2M in the reporting currency's units) is a match.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from valuechain_lib.paths import MAPPINGS_DIR

TOLERANCE = 2_000_000
CHECK_COLUMNS = [
    "check", "ticker", "metric", "fiscal_year", "fiscal_quarter", "period_end", "reported", "derived",
    "difference", "match", "reported_from", "derived_from",
]


def _slot(reported: pd.DataFrame, duration: str, quarter=None) -> pd.DataFrame:
    rows = reported[reported["duration"] == duration]
    if quarter is not None:
        rows = rows[rows["fiscal_quarter"] == quarter]
    return rows.set_index(["ticker", "metric", "fiscal_year"])[["value", "accession", "period_end"]]


def _frame(check: str, reported: pd.Series, derived: pd.Series, quarter, ends, rep_from, der_from) -> pd.DataFrame:
    both = reported.notna() & derived.notna()
    idx = reported.index[both]
    out = pd.DataFrame({
        "check": check, "reported": reported[both], "derived": derived[both],
        "fiscal_quarter": quarter, "period_end": ends[both] if ends is not None else pd.NaT,
        "reported_from": rep_from[both], "derived_from": der_from[both],
    }, index=idx).reset_index()
    out["difference"] = out["reported"] - out["derived"]
    out["match"] = out["difference"].abs() <= TOLERANCE
    return out


def quarter_checks(reported: pd.DataFrame) -> pd.DataFrame:
    """Reported 3-month figures against YTD differences, and 9M YTD against three reported quarters."""
    flows = reported[reported["kind"] == "flow"]
    three = {q: _slot(flows, "3M", q) for q in (1, 2, 3, 4)}
    ytd = {1: three[1], 2: _slot(flows, "6M"), 3: _slot(flows, "9M"), 4: _slot(flows, "FY")}
    frames = []
    for k in (2, 3, 4):
        rep = three[k]
        idx = rep.index.union(ytd[k].index)
        cur, prev = ytd[k].reindex(idx), ytd[k - 1].reindex(idx)
        derived = cur["value"] - prev["value"]
        frames.append(_frame(
            "3M vs YTD difference", rep["value"].reindex(idx), derived, k, rep["period_end"].reindex(idx),
            rep["accession"].reindex(idx), cur["accession"].fillna("") + " − " + prev["accession"].fillna(""),
        ))
    idx = ytd[3].index
    parts = [three[q].reindex(idx) for q in (1, 2, 3)]
    summed = parts[0]["value"] + parts[1]["value"] + parts[2]["value"]
    frames.append(_frame(
        "9M vs Q1+Q2+Q3", ytd[3]["value"], summed, 3, ytd[3]["period_end"], ytd[3]["accession"],
        parts[0]["accession"].fillna("") + " + " + parts[1]["accession"].fillna("") + " + "
        + parts[2]["accession"].fillna(""),
    ))
    return pd.concat(frames, ignore_index=True)


def ttm_checks(reported: pd.DataFrame, tidy: pd.DataFrame) -> pd.DataFrame:
    """Reported trailing-twelve-month figures (e.g. Amazon's) against the sum of four derived quarters."""
    ttm = reported[reported["duration"] == "TTM"]
    if ttm.empty:
        return pd.DataFrame(columns=CHECK_COLUMNS)
    derived = tidy[tidy["freq"] == "TTM"].copy()
    derived["fiscal_quarter"] = derived["fiscal_period"].str[1].astype(int)
    keys = ["ticker", "metric", "fiscal_year", "fiscal_quarter"]
    merged = ttm.merge(derived[keys + ["value", "derivation"]], on=keys, suffixes=("", "_derived"))
    out = pd.DataFrame({
        "check": "TTM vs 4 quarters", "ticker": merged["ticker"], "metric": merged["metric"],
        "fiscal_year": merged["fiscal_year"], "fiscal_quarter": merged["fiscal_quarter"],
        "period_end": merged["period_end"], "reported": merged["value"], "derived": merged["value_derived"],
        "reported_from": merged["accession"], "derived_from": "four derived quarters",
    }).dropna(subset=["reported", "derived"])
    out["difference"] = out["reported"] - out["derived"]
    out["match"] = out["difference"].abs() <= TOLERANCE
    return out


def gross_profit_checks(reported: pd.DataFrame) -> pd.DataFrame:
    """Reported gross profit against reported revenue − cost of revenue, period by period."""
    keys = ["ticker", "duration", "fiscal_year", "fiscal_quarter", "period_start", "period_end"]
    pick = {m: reported[reported["metric"] == m].set_index(keys)[["value", "accession"]]
            for m in ("gross_profit", "revenue", "cost_of_revenue")}
    idx = pick["gross_profit"].index.intersection(pick["revenue"].index).intersection(pick["cost_of_revenue"].index)
    gp, rev, cost = (pick[m].reindex(idx) for m in ("gross_profit", "revenue", "cost_of_revenue"))
    out = pd.DataFrame({
        "check": "GP vs revenue − cost", "metric": "gross_profit", "reported": gp["value"],
        "derived": rev["value"] - cost["value"], "reported_from": gp["accession"],
        "derived_from": rev["accession"].fillna("") + " − " + cost["accession"].fillna(""),
    }, index=idx).reset_index()
    out["difference"] = out["reported"] - out["derived"]
    out["match"] = out["difference"].abs() <= TOLERANCE
    return out[[c for c in CHECK_COLUMNS if c in out.columns]]


#: The check comparing a balance as each filing gives it with the value the snapshot keeps.
BALANCE_CHECK = "balance across filings"
#: The balances it covers: the financing balances a credit reading of the book uses (long-term debt, the
#: noncurrent part of total debt, is covered through the total).
BALANCE_METRICS = ("total_debt", "operating_lease_liabilities", "finance_lease_liabilities")


def balance_checks(facts: pd.DataFrame, reported: pd.DataFrame, metrics=BALANCE_METRICS) -> pd.DataFrame:
    """Each filing's figure for a balance against the value the snapshot keeps, where two filings carry it.

    A balance sheet repeats the prior year-end beside the current one, so most balances are filed two or
    more times; a later filing that gives another figure restated it (or rounded it). Only balances that
    more than one filing carries are compared: a balance filed once agrees with itself by construction.

    Parameters
    ----------
    facts : pandas.DataFrame
        Mapped facts of one or more companies, every filing (`valuechain_lib.snapshot.standardize.mapped_facts`).
    reported : pandas.DataFrame
        Their reported periods (`valuechain_lib.snapshot.standardize.place_in_calendar`): the tag and value kept
        for each balance.
    metrics : sequence of str
        The balance metrics compared (default `BALANCE_METRICS`).

    Returns
    -------
    pandas.DataFrame
        `CHECK_COLUMNS`: one row per balance and filing other than the one the snapshot cites;
        ``reported`` is that filing's figure, ``derived`` the snapshot's, ``reported_from`` and
        ``derived_from`` their accession numbers.
    """
    kept = reported[reported["metric"].isin(list(metrics)) & reported["duration"].eq("instant")]
    kept = kept.rename(columns={"period_end": "end", "value": "kept_value", "accession": "kept_accession"})
    keys = ["ticker", "metric", "tag", "end"]
    filings = facts[facts["metric"].isin(list(metrics)) & facts["kind"].eq("stock")]
    filings = filings[keys + ["value", "accession"]].dropna(subset=["accession"]).drop_duplicates(keys + ["accession"])
    both = filings.merge(kept[keys + ["kept_value", "kept_accession", "fiscal_year", "fiscal_quarter"]], on=keys)
    both = both[both["accession"] != both["kept_accession"]]
    out = pd.DataFrame({
        "check": BALANCE_CHECK, "ticker": both["ticker"], "metric": both["metric"],
        "fiscal_year": both["fiscal_year"], "fiscal_quarter": both["fiscal_quarter"], "period_end": both["end"],
        "reported": both["value"].astype(float), "derived": both["kept_value"].astype(float),
        "reported_from": both["accession"], "derived_from": both["kept_accession"],
    })
    out["difference"] = out["reported"] - out["derived"]
    out["match"] = out["difference"].abs() <= TOLERANCE
    return out[CHECK_COLUMNS].sort_values(["ticker", "metric", "period_end", "reported_from"]).reset_index(drop=True)


@lru_cache(maxsize=1)
def known_exceptions() -> pd.DataFrame:
    """Return mismatches looked into and explained (``mappings/crosscheck_exceptions.csv``)."""
    frame = pd.read_csv(MAPPINGS_DIR / "crosscheck_exceptions.csv", dtype=str, keep_default_na=False)
    frame["fiscal_year"] = frame["fiscal_year"].replace("", "0").astype(int)
    return frame


def _rounding_unit(*values: float) -> float:
    """The coarsest power of ten that divides every value (the precision they were reported to)."""
    unit = 1.0
    while unit < 1e12 and all(abs(v) % (unit * 10) == 0 for v in values if pd.notna(v)):
        unit *= 10
    return unit


def explain(checks: pd.DataFrame, restatements: pd.DataFrame) -> pd.DataFrame:
    """Attach a reason to each mismatch, or ``unexplained``.

    Reasons, in order: a documented exception (``crosscheck_exceptions.csv``); rounding (figures
    reported to a precision, e.g. Meta's depreciation to $10M, whose difference is within the
    rounding of the figures added); a restatement of the metric for a period inside the compared
    span (the figures come from filings before and after it).
    """
    out = checks.copy()
    out["reason"] = ""
    exceptions = known_exceptions()
    documented = {(r.check, r.ticker, r.metric, r.fiscal_year): r.reason for r in exceptions.itertuples()}
    documented_all_years = {(r.check, r.ticker, r.metric): r.reason for r in exceptions.itertuples()
                            if r.fiscal_year == 0}
    restated = restatements.assign(period_end=pd.to_datetime(restatements["period_end"]))
    restated = restated.groupby(["ticker", "metric"])["period_end"].apply(list).to_dict()
    reasons = []
    for row in out[~out["match"]].itertuples():
        key = (row.check, row.ticker, row.metric)
        end = pd.Timestamp(row.period_end)
        unit = _rounding_unit(row.reported, row.derived)
        if (*key, int(row.fiscal_year)) in documented:
            reasons.append(documented[(*key, int(row.fiscal_year))])
        elif key in documented_all_years:
            reasons.append(documented_all_years[key])
        elif unit > 1 and abs(row.difference) <= 2 * unit:
            reasons.append(f"rounding: figures reported to the nearest {unit:,.0f}")
        elif any(end - pd.Timedelta(days=370) < e <= end for e in restated.get((row.ticker, row.metric), [])):
            reasons.append("restatement: the figures compared come from filings before and after a restatement")
        else:
            reasons.append("unexplained")
    out.loc[~out["match"], "reason"] = reasons
    return out


def run_all(reported: pd.DataFrame, tidy: pd.DataFrame, restatements: pd.DataFrame,
            balances: pd.DataFrame | None = None) -> pd.DataFrame:
    """Run every cross-check and explain the mismatches; one row per comparison.

    ``balances`` are the `balance_checks` rows, which need every filing's facts and so are computed while
    the filings are read (`valuechain_lib.snapshot.build.build_financials`). A check group with nothing to
    compare (a company without TTM or gross-profit facts) is left out rather than concatenated empty,
    which would turn ``match`` into an object column.
    """
    balances = balances if balances is not None else pd.DataFrame(columns=CHECK_COLUMNS)
    parts = [p for p in (quarter_checks(reported), ttm_checks(reported, tidy), gross_profit_checks(reported),
                         balances[[c for c in CHECK_COLUMNS if c in balances.columns]])
             if not p.empty]
    if parts:
        checks = pd.concat(parts, ignore_index=True)
    else:
        checks = pd.DataFrame({c: pd.Series(dtype=bool if c == "match" else object) for c in CHECK_COLUMNS})
    checks["match"] = checks["match"].astype(bool)
    return explain(checks[[c for c in CHECK_COLUMNS if c in checks.columns]], restatements)
