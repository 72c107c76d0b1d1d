"""Hyperscaler capex against operating cash flow, per company and combined, by calendar quarter (claim B2)."""

from __future__ import annotations

import pandas as pd

from valuechain_lib.calc.aggregate import calendar_sum
from valuechain_lib.calc.metrics import (
    get_capex_to_ocf,
    get_free_cash_flow,
    get_free_cash_flow_after_leases,
    line_items,
)
from valuechain_lib.calc.periods import calendar_period
from valuechain_lib.claims.verdicts import Verdict, at_least, through_text
from valuechain_lib.errors import ValueChainError
from valuechain_lib.snapshot.facts import facts, label
from valuechain_lib.snapshot.financials import financials
from valuechain_lib.snapshot.memo import memoized
from valuechain_lib.snapshot.universe import members, not_yet_fetched

ITEMS = ("capex", "operating_cash_flow", "finance_lease_principal_payments")
COMBINED = "Combined"
#: The group compared (`valuechain_lib.snapshot.universe.members`).
SUB_LAYER = "hyperscaler"
#: The short name of each hyperscaler in titles and sentences.
SHORT_NAMES = {"AMZN": "Amazon", "MSFT": "Microsoft", "GOOGL": "Alphabet", "META": "Meta", "ORCL": "Oracle"}


@memoized
def capex_vs_cash(tickers=None, freq: str = "TTM", since: int = 2018) -> pd.DataFrame:
    """Capex, operating cash flow and free cash flow per company and combined, by calendar quarter.

    Parameters
    ----------
    tickers : list of str, optional
        Defaults to the hyperscalers (``members(sub_layer="hyperscaler")``, less any the snapshot holds
        nothing for yet: they are left out and named in ``excluded``).
    freq : {"TTM", "Q"}
        Trailing twelve months ending in each calendar quarter, or the quarter alone.
    since : int
        First calendar year shown.

    Returns
    -------
    pandas.DataFrame
        One row per ticker (and ``Combined``) and calendar quarter: ``capex``,
        ``operating_cash_flow``, ``finance_lease_principal_payments`` (USD), ``free_cash_flow``
        (OCF − capex), ``free_cash_flow_after_leases`` (also less finance-lease principal),
        ``capex_to_ocf``, ``quarter_end`` (the calendar quarter's last day), ``fiscal_label`` and
        ``period_end`` of the company's own quarter (NaT in combined rows), ``missing`` (companies lacking a value in a combined row).
        The combined row adds companies only over the same calendar quarter and is NaN where any
        company lacks the figure; the lease-adjusted combined figure is NaN where any company does
        not report finance-lease principal (Oracle does not in this snapshot; Alphabet only from 2024).
        ``excluded`` (combined rows) and ``attrs["excluded"]`` name the hyperscalers left out of the
        combined sum because they are not yet fetched.
    """
    left_out = {}
    if tickers is None:
        unfetched = not_yet_fetched("financials")
        left_out = {t: unfetched[t] for t in members(sub_layer=SUB_LAYER) if t in unfetched}
    tickers = [t for t in (tickers or members(sub_layer=SUB_LAYER)) if t not in left_out]
    table = financials(tickers, freq=freq, calendar=True, metrics=list(ITEMS))
    table = table[table["calendar_year"] >= since]
    keys = ["ticker", "calendar_year", "calendar_quarter", "fiscal_label", "period_end", "quarter_end",
            "calendar_label"]
    wide = line_items(table, ITEMS, keys=keys, keep_empty=True)
    wide["missing"] = ""
    wide = wide.reset_index()
    sums = calendar_sum(table, by=None)
    quarter = ["calendar_year", "calendar_quarter", "quarter_end", "calendar_label"]
    combined = line_items(sums, ITEMS, keys=quarter, keep_empty=True)
    gaps = sums[sums["missing"] != ""].assign(text=lambda d: d["metric"] + ": " + d["missing"])
    gaps = gaps.groupby(quarter)["text"].agg("; ".join)
    combined["missing"] = gaps.reindex(combined.index).fillna("")
    combined["fiscal_label"] = "calendar-aligned sum"
    combined["excluded"] = "; ".join(f"{t} ({why})" for t, why in left_out.items())
    combined = combined.reset_index().assign(ticker=COMBINED)
    wide["excluded"] = ""
    out = pd.concat([wide, combined], ignore_index=True)
    out["free_cash_flow"] = get_free_cash_flow(out["operating_cash_flow"], out["capex"])
    out["free_cash_flow_after_leases"] = get_free_cash_flow_after_leases(
        out["operating_cash_flow"], out["capex"], out["finance_lease_principal_payments"])
    out["capex_to_ocf"] = get_capex_to_ocf(out["capex"], out["operating_cash_flow"])
    columns = ["ticker", "calendar_year", "calendar_quarter", *ITEMS, "fiscal_label", "period_end", "missing",
               "excluded", "free_cash_flow", "free_cash_flow_after_leases", "capex_to_ocf", "quarter_end",
               "calendar_label"]
    out = out[columns].sort_values(["ticker", "quarter_end"]).reset_index(drop=True)
    out.attrs = {"excluded": left_out}
    return out


def since_when(series: pd.Series, threshold: float) -> pd.Timestamp | None:
    """Return the first date from which ``series`` stays at or above ``threshold`` to its end.

    Parameters
    ----------
    series : pandas.Series
        Values indexed by date, ascending; NaN entries are skipped.
    threshold : float
        The level the series must stay at or above.

    Returns
    -------
    pandas.Timestamp or None
        The first date after the last value below ``threshold`` (the series' first date when no value is
        below it); None when the latest value is below the threshold.

    Examples
    --------
    >>> s = pd.Series([0.4, 0.7, 0.5, 0.8, 0.9], index=pd.date_range("2024-03-31", periods=5, freq="QE"))
    >>> since_when(s, 0.75)
    Timestamp('2024-12-31 00:00:00')
    """
    s = series.dropna()
    if s.empty or s.iloc[-1] < threshold:
        return None
    below = s[s < threshold]
    after = s.index[s.index > below.index[-1]] if not below.empty else s.index
    return after[0]


def combined_summary(frame: pd.DataFrame, threshold: float = 0.75) -> dict:
    """Summarise the combined capex/OCF series: latest value, peak, and since when above ``threshold``.

    Returns
    -------
    dict
        ``latest_label``, ``latest_ratio``, ``latest_capex``, ``latest_ocf``, ``latest_fcf``,
        ``latest_fcf_after_leases`` (NaN if not every company reports lease principal),
        ``first_label`` and ``first_ratio`` (the first quarter shown), ``peak_ratio``, ``peak_label``,
        ``above_since`` (calendar label or None), ``threshold``, ``negative_fcf_companies`` (tickers
        whose free cash flow is negative in the same calendar quarter as the latest combined figure).
    """
    combined = (frame[frame["ticker"] == COMBINED].dropna(subset=["capex_to_ocf"])
                .sort_values("quarter_end").set_index("quarter_end"))
    latest = combined.iloc[-1]
    peak = combined["capex_to_ocf"].idxmax()
    since = since_when(combined["capex_to_ocf"], threshold)
    companies = frame[(frame["ticker"] != COMBINED) & (frame["quarter_end"] == combined.index[-1])]
    last_rows = companies.dropna(subset=["free_cash_flow"])
    return {
        "latest_label": latest["calendar_label"], "latest_ratio": float(latest["capex_to_ocf"]),
        "latest_capex": float(latest["capex"]), "latest_ocf": float(latest["operating_cash_flow"]),
        "latest_fcf": float(latest["free_cash_flow"]),
        "latest_fcf_after_leases": float(latest["free_cash_flow_after_leases"]),
        "first_label": combined["calendar_label"].iloc[0], "first_ratio": float(combined["capex_to_ocf"].iloc[0]),
        "peak_ratio": float(combined.loc[peak, "capex_to_ocf"]), "peak_label": combined.loc[peak, "calendar_label"],
        "above_since": None if since is None else combined.loc[since, "calendar_label"],
        "threshold": threshold,
        "negative_fcf_companies": sorted(last_rows.loc[last_rows["free_cash_flow"] < 0, "ticker"]),
    }


def data_through(frame: pd.DataFrame, label: str) -> str:
    """Each company's own period end in the calendar quarter ``label``, as ISO dates grouped by date."""
    rows = frame[(frame["calendar_label"] == label) & (frame["ticker"] != COMBINED)]
    if "period_end" not in rows:
        return ""
    return through_text(dict(zip(rows["ticker"], rows["period_end"], strict=True)))


def verdict_b2(threshold: float = 0.75) -> Verdict:
    """Verdict on B2 from the snapshot (rule in `verdict`)."""
    return verdict(capex_vs_cash(), threshold=threshold)


def verdict(frame: pd.DataFrame, threshold: float = 0.75) -> Verdict:
    """Verdict on B2: hyperscaler capex has approached operating cash flow.

    The claim, as the essay states it: the five hyperscalers (AMZN, MSFT, META, GOOGL, ORCL) together
    now spend on capex nearly all the cash their operations bring in. Rule: *supported* when their
    combined trailing-twelve-month capex is at least ``threshold`` of their combined operating cash
    flow in the latest calendar quarter all five have filed (same calendar quarter for every company).

    Parameters
    ----------
    frame : pandas.DataFrame
        `capex_vs_cash` rows, the ``Combined`` row included.
    threshold : float
        The share of operating cash flow read as "approaching" it.

    Returns
    -------
    Verdict
    """
    summary = combined_summary(frame, threshold=threshold)
    compared = at_least(summary["latest_ratio"], threshold, unit="share",
                        measure=f"combined capex / operating cash flow, twelve months to calendar "
                                f"{summary['latest_label']}")
    combined = frame[frame["ticker"] == COMBINED].dropna(subset=["capex_to_ocf"]).sort_values("quarter_end")
    previous = combined.iloc[-2] if len(combined) > 1 else None
    before = (f" A quarter earlier ({previous['calendar_label']}) it was {previous['capex_to_ocf']:.1%}."
              if previous is not None else "")
    since = (f" The ratio has stayed at or above {threshold:.0%} since {summary['above_since']}."
             if summary["above_since"] else "")
    neg = summary["negative_fcf_companies"]
    neg_text = (f" Trailing free cash flow after capex is already negative for {', '.join(neg)}." if neg
                else " No company's trailing free cash flow is negative yet.")
    text = (
        f"In the twelve months to calendar {summary['latest_label']}, the five hyperscalers together spent "
        f"{summary['latest_ratio']:.1%} of their operating cash flow on capex (${summary['latest_capex'] / 1e9:,.0f}bn "
        f"of ${summary['latest_ocf'] / 1e9:,.0f}bn), up from {summary['first_ratio']:.0%} in "
        f"{summary['first_label']}.{before}{since} Combined free cash flow was "
        f"${summary['latest_fcf'] / 1e9:,.0f}bn.{neg_text}"
    )
    return Verdict(
        summary=text, **compared,
        numbers={"capex_to_ocf": summary["latest_ratio"], "quarter": summary["latest_label"],
                 "threshold": threshold, "capex": summary["latest_capex"], "ocf": summary["latest_ocf"],
                 "previous_capex_to_ocf": None if previous is None else float(previous["capex_to_ocf"])},
        sources="SEC EDGAR XBRL filings (10-K, 10-Q) of " + ", ".join(members(sub_layer=SUB_LAYER)),
        data_through=data_through(frame, summary["latest_label"]),
    )


def at_common_quarter(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Each company's row in the latest calendar quarter for which every company has ``column``.

    Titles that compare companies use it, so that all are read over the same calendar quarter
    (each company's own period end stays in ``period_end``, to be named beside the figures).

    Parameters
    ----------
    frame : pandas.DataFrame
        `capex_vs_cash` rows (the ``Combined`` rows are ignored).
    column : str
        The figure compared, e.g. ``capex_to_ocf`` or ``free_cash_flow``.

    Returns
    -------
    pandas.DataFrame
        One row per company, indexed by ticker, all with the same ``calendar_label``; columns of
        ``frame``.

    Raises
    ------
    ValueChainError
        When no calendar quarter has ``column`` for every company.
    """
    rows = frame[frame["ticker"] != COMBINED]
    companies = rows["ticker"].nunique()
    present = rows.dropna(subset=[column])
    counts = present.groupby("quarter_end")["ticker"].nunique()
    full = counts[counts == companies]
    if full.empty:
        raise ValueChainError(f"no calendar quarter has {column} for all {companies} companies")
    return present[present["quarter_end"] == full.index.max()].set_index("ticker")


def join_words(words) -> str:
    """Join words as a list in prose: ``"a"``, ``"a and b"``, ``"a, b and c"``.

    Examples
    --------
    >>> join_words(["Amazon", "Alphabet", "Meta"])
    'Amazon, Alphabet and Meta'
    """
    words = list(words)
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else "".join(words)


def periods_text(rows: pd.DataFrame) -> str:
    """Name each company's own period end for rows of one calendar quarter, short names grouped by date.

    Examples
    --------
    >>> rows = pd.DataFrame({"period_end": pd.to_datetime(["2026-02-28", "2026-03-31", "2026-03-31"])},
    ...                     index=["ORCL", "AMZN", "META"])
    >>> periods_text(rows)
    'Oracle to 2026-02-28; Amazon and Meta to 2026-03-31'
    """
    groups = []
    for end, names in rows.groupby("period_end").groups.items():
        groups.append(f"{join_words(SHORT_NAMES.get(t, t) for t in names)} to {pd.Timestamp(end):%Y-%m-%d}")
    return "; ".join(groups)


def reported_free_cash_flow() -> pd.DataFrame:
    """Hyperscalers' own free-cash-flow figures from the facts table (company definitions).

    These are reported figures read from releases, some after the snapshot's filings; a company's
    definition may differ from OCF − gross capex (Amazon nets proceeds and incentives), so they are
    shown beside the snapshot's series, never mixed into it.

    Returns
    -------
    pandas.DataFrame
        One row per facts row whose metric starts with "Free cash flow" and whose ticker is a
        hyperscaler's: ``ticker, fact_id, metric, period, period_end, value`` (USD), ``kind,
        confidence, as_of, source_date, label`` (`valuechain_lib.snapshot.facts.label`). Empty when there is
        none.
    """
    table = facts()
    scale = table["unit"].map({"USD billion": 1e9, "USD million": 1e6})
    rows = table[table["ticker"].isin(members(sub_layer=SUB_LAYER))
                 & table["metric"].fillna("").str.lower().str.startswith("free cash flow")
                 & scale.notna()]
    out = pd.DataFrame({
        "ticker": rows["ticker"].astype(str), "fact_id": rows["fact_id"].astype(str),
        "metric": rows["metric"].astype(str), "period": rows["period"].fillna("").astype(str),
        "period_end": rows["period_end"], "value": rows["value"] * scale[rows.index],
        "kind": rows["kind"].astype(str), "confidence": rows["confidence"].astype(str), "as_of": rows["as_of"],
        "source_date": rows["source_date"],
        "label": [label(r) for _, r in rows.iterrows()],
    })
    return out.sort_values(["ticker", "period_end"]).reset_index(drop=True)


# --------------------------------------------------------------------------- reported after the snapshot
#: What a chart calls a quarter worked out from a fiscal year reported after the snapshot less the
#: snapshot's own filed quarters of that year.
DERIVED_LABEL = "derived from a fiscal year reported after the snapshot"
#: What the filed series are called beside the marks.
FILED_LABEL = "filed (SEC XBRL, snapshot)"
#: The span of a cited figure: a fiscal year is the twelve months to its end, like a trailing twelve months.
BASIS = {"Q": "quarter", "TTM": "twelve months", "FY": "twelve months"}
ITEM_NAMES = {"capex": "Capex", "operating_cash_flow": "Operating cash flow"}
MARK_COLUMNS = ["ticker", "metric", "basis", "freq", "period_end", "calendar_label", "quarter_end", "fiscal_label",
                "value", "fact_id", "label", "note", "series"]


def last_filed(frame: pd.DataFrame, column: str = "capex") -> pd.Series:
    """Each company's last period end in the snapshot with ``column`` filed.

    Parameters
    ----------
    frame : pandas.DataFrame
        `capex_vs_cash` rows (the ``Combined`` rows are ignored).
    column : str
        The figure that must be present.

    Returns
    -------
    pandas.Series
        Period end (the company's own quarter end) indexed by ticker.
    """
    rows = frame[(frame["ticker"] != COMBINED) & frame[column].notna()]
    return rows.groupby("ticker")["period_end"].max()


def through_by_company(rows: pd.DataFrame, date: str = "period_end") -> str:
    """The last ``date`` of each company's rows, companies always named: "2026-06-30 (AMZN, META)".

    Unlike `valuechain_lib.publish.book.data_through`, one shared date still names the companies, so a caption
    can say whose figures were reported after the snapshot.

    Parameters
    ----------
    rows : pandas.DataFrame
        Rows with ``ticker`` and ``date``; rows without a date do not count.
    date : str
        The column giving each row's last day covered.

    Returns
    -------
    str
        ISO dates, earliest first, each with its companies (`valuechain_lib.claims.verdicts.through_text`).
    """
    rows = rows[rows[date].notna()]
    return through_text(rows.groupby("ticker")[date].max().to_dict())


def derived_quarter(year_row, quarterly: pd.DataFrame, days: int = 10) -> dict | None:
    """The last quarter of a fiscal year: the cited year's figure less the snapshot's first three quarters.

    Parameters
    ----------
    year_row : mapping
        A cited fiscal-year figure (`valuechain_lib.snapshot.reported_after.reported_after` row): ``ticker,
        metric, period_end, value`` (USD), ``fact_id``.
    quarterly : pandas.DataFrame
        `capex_vs_cash` rows with ``freq="Q"``: the company's own quarters, ``period_end``, ``fiscal_label``.
    days : int
        A filed quarter ending this close to the year's end is the year's last quarter (already filed).

    Returns
    -------
    dict or None
        ``value`` (USD), ``fiscal_label`` of the derived quarter, ``derived_from`` (what was
        subtracted from what), ``quarters`` (the three filed fiscal labels); None unless exactly three
        quarters of that fiscal year are filed with a value and the fourth is not.
    """
    end = pd.Timestamp(year_row["period_end"])
    rows = quarterly[(quarterly["ticker"] == year_row["ticker"]) & quarterly[year_row["metric"]].notna()]
    inside = rows[(rows["period_end"] > end - pd.DateOffset(years=1) + pd.Timedelta(days=days))
                  & (rows["period_end"] <= end + pd.Timedelta(days=days))].sort_values("period_end")
    last_filed_already = (inside["period_end"] - end).abs().le(pd.Timedelta(days=days)).any()
    if len(inside) != 3 or last_filed_already:
        return None
    labels = inside["fiscal_label"].tolist()
    fiscal_year = labels[-1].split(" ")[0]
    earlier = float(inside[year_row["metric"]].sum())
    return {
        "value": float(year_row["value"]) - earlier,
        "fiscal_label": f"{fiscal_year} Q4",
        "quarters": labels,
        "derived_from": (f"{year_row['fact_id']} ({fiscal_year}, ${float(year_row['value']) / 1e9:,.1f}bn) less the "
                         f"snapshot's {labels[0]}–{labels[-1].split(' ')[1]} (${earlier / 1e9:,.1f}bn, quarters to "
                         + ", ".join(f"{d:%Y-%m-%d}" for d in inside["period_end"]) + ")"),
    }


def reported_after_marks(quarterly: pd.DataFrame, cited: pd.DataFrame | None = None) -> pd.DataFrame:
    """Capex and operating cash flow reported after the snapshot, placed to be drawn beside the filed series.

    Each cited figure keeps its own span: a quarter, or twelve months (a trailing-twelve-month figure,
    or a fiscal year, which is the twelve months to its end). Where a company reported a fiscal year
    and no figure for its last quarter, that quarter is derived as the year less the snapshot's three
    filed quarters (`derived_quarter`) and labelled as derived. None of these is ever added to the
    snapshot's series or to the combined sum.

    Parameters
    ----------
    quarterly : pandas.DataFrame
        `capex_vs_cash` rows with ``freq="Q"``.
    cited : pandas.DataFrame, optional
        `valuechain_lib.snapshot.reported_after.reported_after` rows, with the facts table's ``period`` where
        known; default those for the hyperscalers' capex and operating cash flow.

    Returns
    -------
    pandas.DataFrame
        `MARK_COLUMNS`: ``basis`` ("quarter" or "twelve months"), ``period_end`` (the company's own),
        ``calendar_label`` and ``quarter_end`` (the calendar quarter whose end is nearest), ``value`` in
        USD, ``series`` (`valuechain_lib.snapshot.reported_after.LABEL` or `DERIVED_LABEL`).
    """
    from valuechain_lib.snapshot import reported_after as ra

    if cited is None:
        cited = ra.reported_after(members(sub_layer=SUB_LAYER), metrics=["capex", "operating_cash_flow"])
        cited = cited.assign(period=cited["fact_id"].map(facts().set_index("fact_id")["period"]))
    cited = cited[cited["metric"].isin(list(ITEM_NAMES))].copy()
    cited["period_end"] = pd.to_datetime(cited["period_end"])
    periods = cited["period"].fillna("").astype(str) if "period" in cited else pd.Series("", index=cited.index)
    rows = []
    for r, period in zip(cited.itertuples(), periods, strict=True):
        rows.append({"ticker": r.ticker, "metric": r.metric, "basis": BASIS[r.freq], "freq": r.freq,
                     "period_end": r.period_end, "fiscal_label": period, "value": r.value, "fact_id": r.fact_id,
                     "label": r.label, "note": r.note, "series": ra.LABEL})
    quarters = cited[cited["freq"] == "Q"]
    for r in cited[cited["freq"] == "FY"].itertuples():
        stated = quarters[(quarters["ticker"] == r.ticker) & (quarters["metric"] == r.metric)
                          & ((quarters["period_end"] - r.period_end).abs() <= pd.Timedelta(days=10))]
        derived = None if len(stated) else derived_quarter(r._asdict(), quarterly)
        if derived is None:
            continue
        rows.append({"ticker": r.ticker, "metric": r.metric, "basis": "quarter", "freq": "Q",
                     "period_end": r.period_end, "fiscal_label": derived["fiscal_label"], "value": derived["value"],
                     "fact_id": r.fact_id,
                     "label": (f"{SHORT_NAMES.get(r.ticker, r.ticker)} {ITEM_NAMES[r.metric].lower()}, "
                               f"{derived['fiscal_label']}: ${derived['value'] / 1e9:,.1f}bn, derived"),
                     "note": "derived: " + derived["derived_from"], "series": DERIVED_LABEL})
    out = pd.DataFrame(rows, columns=[c for c in MARK_COLUMNS if c not in ("calendar_label", "quarter_end")])
    if out.empty:
        return pd.DataFrame(columns=MARK_COLUMNS)
    out = out.join(calendar_period(out["period_end"])[["calendar_label", "quarter_end"]])
    return out[MARK_COLUMNS].sort_values(["ticker", "metric", "basis", "period_end"]).reset_index(drop=True)


#: Panels of the per-company chart, in order: (metric, basis) → panel title.
PANELS = {("capex", "quarter"): "Capex, each quarter",
          ("operating_cash_flow", "quarter"): "Operating cash flow, each quarter",
          ("capex", "twelve months"): "Capex, twelve months",
          ("operating_cash_flow", "twelve months"): "Operating cash flow, twelve months"}


def filed_beside_reported(quarterly: pd.DataFrame, ttm: pd.DataFrame, marks: pd.DataFrame,
                          since: int | None = None) -> pd.DataFrame:
    """One long frame for a per-company chart: the filed quarterly and twelve-month series, and the marks.

    Parameters
    ----------
    quarterly, ttm : pandas.DataFrame
        `capex_vs_cash` rows with ``freq="Q"`` and ``freq="TTM"`` (``Combined`` rows are left out).
    marks : pandas.DataFrame
        `reported_after_marks` rows.
    since : int, optional
        First calendar year of the filed series shown.

    Returns
    -------
    pandas.DataFrame
        ``ticker, company, metric, basis, panel`` (`PANELS`), ``quarter_end, calendar_label,
        fiscal_label, period_end, usd, usd_bn, series`` (`FILED_LABEL`, or the mark's),
        ``fact_id, note``; marks after the filed rows.
    """
    parts = []
    for frame, basis in ((quarterly, "quarter"), (ttm, "twelve months")):
        rows = frame[frame["ticker"] != COMBINED]
        if since is not None:
            rows = rows[rows["quarter_end"].dt.year >= since]
        long = rows.melt(id_vars=["ticker", "quarter_end", "calendar_label", "fiscal_label", "period_end"],
                         value_vars=list(ITEM_NAMES), var_name="metric", value_name="usd").dropna(subset=["usd"])
        parts.append(long.assign(basis=basis, series=FILED_LABEL, fact_id="", note=""))
    parts.append(marks.rename(columns={"value": "usd"})[
        ["ticker", "quarter_end", "calendar_label", "fiscal_label", "period_end", "metric", "usd", "basis", "series",
         "fact_id", "note"]])
    out = pd.concat(parts, ignore_index=True)
    out["company"] = out["ticker"].map(SHORT_NAMES).fillna(out["ticker"])
    out["panel"] = [PANELS[(m, b)] for m, b in zip(out["metric"], out["basis"], strict=True)]
    out["usd_bn"] = out["usd"] / 1e9
    cols = ["ticker", "company", "metric", "basis", "panel", "quarter_end", "calendar_label", "fiscal_label",
            "period_end", "usd", "usd_bn", "series", "fact_id", "note"]
    return out[cols]


def change_after_snapshot(quarterly: pd.DataFrame, marks: pd.DataFrame, metric: str = "capex") -> pd.DataFrame:
    """Each reported-after quarter against the company's last filed quarter, for titles and sentences.

    Parameters
    ----------
    quarterly : pandas.DataFrame
        `capex_vs_cash` rows with ``freq="Q"``.
    marks : pandas.DataFrame
        `reported_after_marks` rows.
    metric : {"capex", "operating_cash_flow"}
        The figure compared.

    Returns
    -------
    pandas.DataFrame
        Indexed by ticker: ``filed`` (last filed quarter's value), ``filed_end``, ``reported``,
        ``reported_end``, ``change`` (reported / filed − 1, NaN when the filed value is not positive),
        ``series`` of the mark. Only companies with a quarterly mark for ``metric``; the earliest
        such mark when there are several.
    """
    latest = quarterly[(quarterly["ticker"] != COMBINED) & quarterly[metric].notna()].sort_values("period_end")
    latest = latest.groupby("ticker").tail(1).set_index("ticker")
    shown = marks[(marks["metric"] == metric) & (marks["basis"] == "quarter")].sort_values("period_end")
    shown = shown.groupby("ticker").head(1).set_index("ticker")
    shown = shown[shown.index.isin(latest.index)]
    filed = latest.loc[shown.index, metric].astype(float)
    out = pd.DataFrame({"filed": filed, "filed_end": latest.loc[shown.index, "period_end"],
                        "reported": shown["value"].astype(float), "reported_end": shown["period_end"],
                        "series": shown["series"]})
    out["change"] = (out["reported"] / out["filed"] - 1).where(out["filed"] > 0)
    return out
