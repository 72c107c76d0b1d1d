"""Who pays for the build-out: where the hyperscalers' operating cash goes and what fills the gap (claims C1, C2).

The five hyperscalers (universe sub-layer ``hyperscaler``) and CoreWeave (a secondary source) by calendar
year: operating cash flow against its uses (capex, buybacks, dividends) and what fills the gap (net debt
issued, cash drawn down, the rest); debt and lease liabilities against operating cash flow and an
EBITDA-like figure; leases signed but not yet begun against a year of capex; Oracle's customer prepayments.

Calendar years: a company whose fiscal year is the calendar year gives its reported fiscal years; Microsoft
(June) and Oracle (May) give the sum of the four fiscal quarters placed in the calendar year (each in the
calendar quarter whose end is nearest), so Oracle's "2025" runs December 2024 to November 2025. Companies are
added up only over the same calendar year.

A cash-flow line a company does not present is missing in `valuechain_lib.snapshot.financials.financials`,
with its reason. Where the filings show the line is nil rather than unknown (Amazon pays no dividend; Meta
has repaid no debt), ``data/financing_nil_lines.csv`` says so with the evidence, and only this chapter's
sums count it as nil, flagged in every table and download.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from valuechain_lib.calc.aggregate import calendar_years
from valuechain_lib.calc.metrics import (
    get_capex_to_ocf,
    get_coverage,
    get_ebitda_like,
    get_net_debt_issued,
    line_items,
)
from valuechain_lib.claims.verdicts import Verdict, at_least, less_than, through_text
from valuechain_lib.errors import ValueChainError
from valuechain_lib.paths import data_dir
from valuechain_lib.snapshot.facts import facts, label
from valuechain_lib.snapshot.financials import financials
from valuechain_lib.snapshot.memo import memoized
from valuechain_lib.snapshot.standardize import canonical_metrics
from valuechain_lib.snapshot.universe import members, universe

#: Cash flows read by calendar year (all positive amounts: proceeds an inflow, the rest outflows).
FLOWS = ("operating_cash_flow", "capex", "buybacks", "dividends", "debt_issued", "debt_repaid")
#: Balances read at each calendar year's end.
BALANCES = ("cash", "total_debt")
#: Secondary-source companies shown beside the hyperscalers, never added to them.
SECONDARY = ("CRWV",)
POOLED = "Pooled"
SHORT_NAMES = {"AMZN": "Amazon", "MSFT": "Microsoft", "GOOGL": "Alphabet", "META": "Meta", "ORCL": "Oracle",
               "CRWV": "CoreWeave", POOLED: "the five pooled"}
NIL_FILE = "financing_nil_lines.csv"
NIL_COLUMNS = ["ticker", "metric", "first_period_end", "last_period_end", "evidence"]
#: Facts-table rows: leases signed but not yet commenced, and Oracle's FY27 Q1 cash flow with its prepayments.
LEASE_FACTS = {"MSFT": "F194", "META": "F205a", "ORCL": "F209a"}
PREPAYMENT_FACTS = {"operating_cash_flow": "F207a", "capex": "F207b", "prepayments": "F207c"}
_SCALE = {"USD million": 1e6, "USD billion": 1e9}


class FinancingError(ValueChainError):
    """A malformed nil-lines file or a figure the chapter needs that the data do not hold."""


def short(ticker: str) -> str:
    """A company's short name for titles and sentences (``MSFT`` → ``Microsoft``)."""
    return SHORT_NAMES.get(ticker, ticker)


def join_words(words) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``.

    Examples
    --------
    >>> join_words(["Oracle", "Meta", "Alphabet"])
    'Oracle, Meta and Alphabet'
    """
    words = list(words)
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else "".join(words)


# --------------------------------------------------------------------------- lines a company does not present
def nil_lines(path: Path | None = None) -> pd.DataFrame:
    """Load ``data/financing_nil_lines.csv``: cash-flow lines a company's filings show to be nil, with evidence.

    Returns
    -------
    pandas.DataFrame
        `NIL_COLUMNS`, dates as Timestamps.

    Raises
    ------
    FinancingError
        Missing columns, a ticker or metric the snapshot does not know, a metric that is not a cash outflow
        or proceeds line, unreadable or reversed dates, or a row without evidence.
    """
    path = Path(path or data_dir() / NIL_FILE)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in NIL_COLUMNS if c not in table.columns]
    if missing:
        raise FinancingError(f"{path}: missing column(s) {missing}")
    known = set(universe()["ticker"])
    for row in table.itertuples():
        where = f"{path}: {row.ticker} {row.metric}"
        if row.ticker not in known:
            raise FinancingError(f"{where}: ticker not in the universe")
        if row.metric not in FLOWS[1:]:
            raise FinancingError(f"{where}: only a cash-flow line other than operating cash flow can be nil "
                                 f"({', '.join(FLOWS[1:])})")
        if not row.evidence.strip():
            raise FinancingError(f"{where}: no evidence")
    for col in ("first_period_end", "last_period_end"):
        try:
            table[col] = pd.to_datetime(table[col], format="%Y-%m-%d")
        except ValueError as exc:
            raise FinancingError(f"{path}: {col} is not an ISO date: {exc}") from exc
    reversed_rows = table[table["first_period_end"] > table["last_period_end"]]
    if not reversed_rows.empty:
        row = reversed_rows.iloc[0]
        raise FinancingError(f"{path}: {row['ticker']} {row['metric']}: first_period_end after last_period_end")
    return table[NIL_COLUMNS]


def apply_nil_lines(rows: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """Count as nil the missing values that a nil line covers; flag them.

    Parameters
    ----------
    rows : pandas.DataFrame
        Tidy financials rows (``ticker, metric, period_end, value``).
    lines : pandas.DataFrame
        `nil_lines`.

    Returns
    -------
    pandas.DataFrame
        ``rows`` with ``nil`` (True where a missing value is now 0 because a nil line covers its period end)
        and ``nil_evidence``; every filed value, and every missing value no line covers, unchanged.

    Examples
    --------
    >>> rows = pd.DataFrame({"ticker": ["AMZN", "AMZN"], "metric": "dividends",
    ...                      "period_end": pd.to_datetime(["2025-12-31", "2030-12-31"]), "value": [np.nan, np.nan]})
    >>> lines = pd.DataFrame({"ticker": ["AMZN"], "metric": ["dividends"],
    ...                       "first_period_end": [pd.Timestamp("2015-01-01")],
    ...                       "last_period_end": [pd.Timestamp("2026-12-31")], "evidence": ["pays none"]})
    >>> apply_nil_lines(rows, lines)[["value", "nil"]].values.tolist()
    [[0.0, True], [nan, False]]
    """
    out = rows.copy()
    out["nil"] = False
    out["nil_evidence"] = ""
    for line in lines.itertuples():
        hit = (out["ticker"].eq(line.ticker) & out["metric"].eq(line.metric) & out["value"].isna()
               & out["period_end"].between(line.first_period_end, line.last_period_end))
        out.loc[hit, "value"] = 0.0
        out.loc[hit, "nil"] = True
        out.loc[hit, "nil_evidence"] = line.evidence
    return out


# --------------------------------------------------------------------------- calendar years
def secondary_tickers() -> list[str]:
    """`SECONDARY` companies the universe holds (a fork's smaller universe may hold none)."""
    held = set(universe()["ticker"])
    return [t for t in SECONDARY if t in held]


def _fiscal_year_is_calendar_year(ticker: str) -> bool:
    u = universe().set_index("ticker")
    return int(u.loc[ticker, "fiscal_year_end_month"]) == 12


@memoized
def calendar_year_values(tickers, metrics=FLOWS + BALANCES, lines: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each company's flows and year-end balances by calendar year, nil lines applied.

    Parameters
    ----------
    tickers : list of str
    metrics : sequence of str
        Canonical metrics (flows are summed over the year, balances taken at its end).
    lines : pandas.DataFrame, optional
        `nil_lines` (default: loaded).

    Returns
    -------
    pandas.DataFrame
        ``ticker, metric, calendar_year, value`` (USD), ``period_start, period_end`` (the company's own span),
        ``basis`` ("fiscal year = calendar year" or "four calendar-aligned fiscal quarters"), ``nil`` (the value,
        or a quarter in it, counted as nil by a nil line), ``nil_evidence``, ``missing_reason``.
    """
    lines = nil_lines() if lines is None else lines
    kinds = canonical_metrics()
    parts = []
    for ticker in tickers:
        if _fiscal_year_is_calendar_year(ticker):
            rows = apply_nil_lines(financials(ticker, freq="FY", metrics=list(metrics)), lines)
            rows["calendar_year"] = rows["period_end"].dt.year
            rows["basis"] = "fiscal year = calendar year"
        else:
            quarters = apply_nil_lines(financials(ticker, freq="Q", calendar=True, metrics=list(metrics)), lines)
            rows = calendar_years(quarters, kinds)
            rows["ticker"] = ticker
            flags = quarters.groupby(["metric", "calendar_year"]).agg(
                nil=("nil", "any"), nil_evidence=("nil_evidence", lambda e: "; ".join(dict.fromkeys(x for x in e if x))))
            rows = rows.join(flags, on=["metric", "calendar_year"])
            rows["nil"] = rows["nil"].fillna(False).astype(bool)
            rows["nil_evidence"] = rows["nil_evidence"].fillna("")
            rows["basis"] = "four calendar-aligned fiscal quarters"
        parts.append(rows[["ticker", "metric", "calendar_year", "value", "period_start", "period_end", "basis",
                           "nil", "nil_evidence", "missing_reason"]])
    out = pd.concat(parts, ignore_index=True)
    out["calendar_year"] = out["calendar_year"].astype(int)
    return out.sort_values(["ticker", "metric", "calendar_year"]).reset_index(drop=True)


WIDE_COLUMNS = [
    "ticker", "calendar_year", *FLOWS, *BALANCES, "net_debt_issued", "cash_drawn_down", "debt_change", "other",
    "gap", "capex_to_ocf", "buybacks_to_ocf", "dividends_to_ocf", "net_debt_to_ocf", "debt_share_of_capex",
    "period_start", "period_end", "nil_lines", "missing",
]


def sources_and_uses(values: pd.DataFrame) -> pd.DataFrame:
    """Per company and calendar year: operating cash flow, its uses and what fills the gap.

    Formulas (USD): net debt issued = debt issued − debt repaid; cash drawn down = cash at the previous
    year end − cash at this one; gap = capex + buybacks + dividends − operating cash flow; other = operating
    cash flow + net debt issued + cash drawn down − capex − buybacks − dividends (what the rest of the
    statement did: securities bought or sold, acquisitions, finance-lease principal, taxes on share awards).
    Debt change = total debt at the year end − at the previous one (a balance, shown where flows are not).

    Parameters
    ----------
    values : pandas.DataFrame
        `calendar_year_values` rows.

    Returns
    -------
    pandas.DataFrame
        `WIDE_COLUMNS`; shares as fractions of operating cash flow, ``debt_share_of_capex`` = net debt
        issued / capex; ``nil_lines`` names the lines counted as nil, ``missing`` the missing line items with
        their reasons; NaN wherever an input is missing.
    """
    keys = ["ticker", "calendar_year"]
    wide = line_items(values, list(FLOWS + BALANCES), keys=keys, keep_empty=True)
    previous = wide.groupby(level="ticker").shift(1)
    previous_year = wide.reset_index().groupby("ticker")["calendar_year"].shift(1).to_numpy()
    consecutive = pd.Series(previous_year + 1 == wide.index.get_level_values("calendar_year"), index=wide.index)
    wide["net_debt_issued"] = get_net_debt_issued(wide["debt_issued"], wide["debt_repaid"])
    wide["cash_drawn_down"] = (previous["cash"] - wide["cash"]).where(consecutive)
    wide["debt_change"] = (wide["total_debt"] - previous["total_debt"]).where(consecutive)
    uses = wide["capex"] + wide["buybacks"] + wide["dividends"]
    wide["gap"] = uses - wide["operating_cash_flow"]
    wide["other"] = wide["operating_cash_flow"] + wide["net_debt_issued"] + wide["cash_drawn_down"] - uses
    ocf = wide["operating_cash_flow"]
    wide["capex_to_ocf"] = get_capex_to_ocf(wide["capex"], ocf)
    for item in ("buybacks", "dividends"):
        wide[f"{item}_to_ocf"] = get_coverage(wide[item], ocf)
    wide["net_debt_to_ocf"] = get_coverage(wide["net_debt_issued"], ocf)
    wide["debt_share_of_capex"] = get_coverage(wide["net_debt_issued"], wide["capex"])
    flows = values[values["metric"].isin(FLOWS)]
    span = flows.groupby(keys).agg(period_start=("period_start", "min"), period_end=("period_end", "max"))
    nil = values[values["nil"]].groupby(keys)["metric"].agg(lambda m: ", ".join(sorted(set(m))))
    gaps = values[values["value"].isna() & values["metric"].isin(FLOWS)]
    gaps = gaps.assign(text=gaps["metric"] + " (" + gaps["missing_reason"].fillna("missing").astype(str) + ")")
    missing = gaps.groupby(keys)["text"].agg("; ".join)
    wide = wide.join(span).join(nil.rename("nil_lines")).join(missing.rename("missing"))
    wide[["nil_lines", "missing"]] = wide[["nil_lines", "missing"]].fillna("")
    wide.columns.name = None
    return wide.reset_index()[WIDE_COLUMNS]


POOLED_ITEMS = (*FLOWS, "net_debt_issued", "cash_drawn_down", "other", "gap")


def pooled(wide: pd.DataFrame, tickers) -> pd.DataFrame:
    """Add the companies up by calendar year, item by item; NaN where any of them lacks the item.

    Parameters
    ----------
    wide : pandas.DataFrame
        `sources_and_uses` rows.
    tickers : list of str
        The companies pooled (all must have a value for a pooled value).

    Returns
    -------
    pandas.DataFrame
        One row per calendar year with ``ticker`` `POOLED`: each of `POOLED_ITEMS` summed, the shares
        recomputed from the sums, ``n_companies``, ``missing`` (item: companies without a value), and
        ``nil_lines`` (company: lines counted as nil).
    """
    tickers = list(tickers)
    rows = wide[wide["ticker"].isin(tickers)]
    out = []
    for year, group in rows.groupby("calendar_year"):
        record = {"ticker": POOLED, "calendar_year": int(year), "n_companies": int(group["ticker"].nunique())}
        absent = []
        for item in POOLED_ITEMS:
            have = group.dropna(subset=[item])
            lacking = sorted(set(tickers) - set(have["ticker"]))
            record[item] = float(have[item].sum()) if not lacking else np.nan
            if lacking and item in FLOWS:
                absent.append(f"{item}: {', '.join(lacking)}")
        record["missing"] = "; ".join(absent)
        record["nil_lines"] = "; ".join(f"{t}: {n}" for t, n in zip(group["ticker"], group["nil_lines"], strict=True)
                                        if n)
        record["period_start"], record["period_end"] = group["period_start"].min(), group["period_end"].max()
        out.append(record)
    frame = pd.DataFrame(out)
    ocf = frame["operating_cash_flow"]
    frame["capex_to_ocf"] = get_capex_to_ocf(frame["capex"], ocf)
    frame["buybacks_to_ocf"] = get_coverage(frame["buybacks"], ocf)
    frame["dividends_to_ocf"] = get_coverage(frame["dividends"], ocf)
    frame["net_debt_to_ocf"] = get_coverage(frame["net_debt_issued"], ocf)
    frame["debt_share_of_capex"] = get_coverage(frame["net_debt_issued"], frame["capex"])
    return frame


@memoized
def build_out_table(since: int = 2020, lines: pd.DataFrame | None = None) -> pd.DataFrame:
    """The chapter's main table: `sources_and_uses` per hyperscaler and CoreWeave, and the five pooled.

    Parameters
    ----------
    since : int
        First calendar year kept.
    lines : pandas.DataFrame, optional
        `nil_lines` (default: loaded).

    Returns
    -------
    pandas.DataFrame
        `sources_and_uses` rows (companies) and `pooled` rows (``ticker`` "Pooled", the five hyperscalers
        only: CoreWeave's secondary source is never added to them), calendar years from ``since`` to the
        last year every hyperscaler has operating cash flow for; ``source`` says which is secondary.
    """
    tickers = members(sub_layer="hyperscaler")
    values = calendar_year_values([*tickers, *secondary_tickers()], lines=lines)
    wide = sources_and_uses(values)
    pool = pooled(wide, tickers)
    last = int(pool.loc[pool["operating_cash_flow"].notna(), "calendar_year"].max())
    wide = wide[wide[list(FLOWS)].notna().any(axis=1)]  # a company's years before its first filing
    out = pd.concat([wide, pool], ignore_index=True)
    out = out[(out["calendar_year"] >= since) & (out["calendar_year"] <= last)]
    out["source"] = np.where(out["ticker"].isin(SECONDARY), "secondary (third-party statements, no accessions)",
                             "SEC EDGAR XBRL filings")
    return out.reset_index(drop=True)


def nil_text(pooled_nil: str, metrics) -> str:
    """The part of a pooled row's ``nil_lines`` about ``metrics``: "AMZN buybacks; MSFT debt issued".

    Examples
    --------
    >>> nil_text("AMZN: buybacks, dividends; META: debt_repaid", ["buybacks", "debt_repaid"])
    'AMZN buybacks; META debt repaid'
    """
    parts = []
    for company in filter(None, str(pooled_nil).split("; ")):
        ticker, _, items = company.partition(": ")
        kept = [i for i in items.split(", ") if i in metrics]
        if kept:
            parts.append(f"{ticker} " + ", ".join(k.replace("_", " ") for k in kept))
    return "; ".join(parts)


def latest_pooled_year(table: pd.DataFrame, column: str) -> pd.Series:
    """The pooled row of the latest calendar year that has ``column`` (every hyperscaler had the inputs)."""
    rows = table[(table["ticker"] == POOLED) & table[column].notna()]
    if rows.empty:
        raise FinancingError(f"no calendar year has a pooled {column}: some hyperscaler always lacks an input")
    return rows.sort_values("calendar_year").iloc[-1]


def periods_text(table: pd.DataFrame, year: int, tickers=None) -> str:
    """Each company's own span for a calendar year, grouped: "Oracle 2024-12-01 to 2025-11-30; Amazon, … …".

    Examples
    --------
    >>> t = pd.DataFrame({"ticker": ["ORCL", "AMZN"], "calendar_year": 2025,
    ...                   "period_start": pd.to_datetime(["2024-12-01", "2025-01-01"]),
    ...                   "period_end": pd.to_datetime(["2025-11-30", "2025-12-31"])})
    >>> periods_text(t, 2025)
    'Oracle 2024-12-01 to 2025-11-30; Amazon 2025-01-01 to 2025-12-31'
    """
    rows = table[(table["calendar_year"] == year) & (table["ticker"] != POOLED)]
    if tickers is not None:
        rows = rows[rows["ticker"].isin(list(tickers))]
    spans: dict[str, list[str]] = {}
    for r in rows.itertuples():
        if pd.isna(r.period_start) or pd.isna(r.period_end):
            continue
        spans.setdefault(f"{r.period_start:%Y-%m-%d} to {r.period_end:%Y-%m-%d}", []).append(short(r.ticker))
    return "; ".join(f"{join_words(names)} {span}" for span, names in spans.items())


def data_through(table: pd.DataFrame, year: int | None = None) -> str:
    """Each company's last period end in the rows shown (one calendar year, or all), grouped by date."""
    rows = table[table["ticker"] != POOLED]
    if year is not None:
        rows = rows[rows["calendar_year"] == year]
    rows = rows.dropna(subset=["period_end"])
    return through_text(rows.groupby("ticker")["period_end"].max().to_dict())


# --------------------------------------------------------------------------- the book's claims
def c1_verdict(table: pd.DataFrame, threshold: float = 0.25) -> Verdict:
    """Verdict on C1: the hyperscalers fund their capex from operating cash, not debt.

    Rule: *supported* when the five hyperscalers' pooled net debt issued (proceeds less repayments) paid for
    less than ``threshold`` of their pooled capex in the latest calendar year for which every one of them
    has both; *not supported* at or above it. Capex here is all cash capex, not an AI share of it.

    Parameters
    ----------
    table : pandas.DataFrame
        `build_out_table` rows (the pooled rows are read; company rows give the per-company shares).
    threshold : float
        The share of capex that net new debt must reach for debt to count as a source of the build-out.

    Returns
    -------
    Verdict
    """
    row = latest_pooled_year(table, "debt_share_of_capex")
    year = int(row["calendar_year"])
    compared = less_than(float(row["debt_share_of_capex"]), threshold, unit="share",
                         measure=f"pooled net debt issued / capex of the five hyperscalers, calendar {year}")
    companies = table[(table["ticker"] != POOLED) & (table["calendar_year"] == year)
                      & ~table["ticker"].isin(SECONDARY)].set_index("ticker")
    shares = companies["debt_share_of_capex"].dropna().sort_values(ascending=False)
    above = [t for t, v in shares.items() if v >= threshold]
    pooled_rows = table[(table["ticker"] == POOLED) & table["debt_share_of_capex"].notna()].sort_values("calendar_year")
    history = ", ".join(f"{int(r.calendar_year)} {r.debt_share_of_capex:.0%}" for r in pooled_rows.itertuples())
    text = (f"In calendar {year} the five hyperscalers issued ${row['net_debt_issued'] / 1e9:,.0f}bn of debt net of "
            f"repayments against ${row['capex'] / 1e9:,.0f}bn of capex: net new debt paid for "
            f"{row['debt_share_of_capex']:.1%} of it, while operating cash flow (${row['operating_cash_flow'] / 1e9:,.0f}bn) "
            f"was {1 / row['capex_to_ocf']:.2f} times capex. Pooled share by year: {history}. "
            + ("By company: " + ", ".join(f"{short(t)} {v:.0%}" for t, v in shares.items()) + "."
               if len(shares) else "")
            + (f" {join_words(short(t) for t in above)} borrowed {'its' if len(above) == 1 else 'their'} way "
               f"past the threshold on {'its' if len(above) == 1 else 'their'} own." if above else ""))
    nil = nil_text(row["nil_lines"], ("capex", "debt_issued", "debt_repaid"))
    return Verdict(
        summary=text + (f" Counted as nil (lines the filings do not present): {nil}." if nil else ""), **compared,
        numbers={"year": year, "pooled_share": float(row["debt_share_of_capex"]), "threshold": threshold,
                 "net_debt_issued": float(row["net_debt_issued"]), "capex": float(row["capex"]),
                 "by_company": {t: float(v) for t, v in shares.items()}},
        sources="SEC EDGAR XBRL filings (10-K, 10-Q) of " + ", ".join(members(sub_layer="hyperscaler"))
                + "; nil lines from data/financing_nil_lines.csv",
        data_through=data_through(table[~table["ticker"].isin(SECONDARY)], year),
    )


def verdict_c1(threshold: float = 0.25, since: int = 2020) -> Verdict:
    """Verdict on C1 from the snapshot (rule in `c1_verdict`)."""
    return c1_verdict(build_out_table(since=since), threshold=threshold)


def c2_verdict(table: pd.DataFrame, split_year: int = 2024, before_from: int = 2021, min_fall: float = 0.05) -> Verdict:
    """Verdict on C2: buybacks are giving way to capex.

    Rule: pooled over the five hyperscalers and the calendar years each window holds, buybacks as a share of
    operating cash flow from ``split_year`` on are compared with ``before_from`` to ``split_year`` − 1.
    *Supported* when the share fell by at least ``min_fall`` while capex's share of operating cash flow
    rose; *mixed* when buybacks' share fell that much but capex's did not rise; *not supported* when it fell
    by less (or rose).

    Parameters
    ----------
    table : pandas.DataFrame
        `build_out_table` rows (pooled rows read).
    split_year, before_from : int
        First calendar year "after", first year "before".
    min_fall : float
        The fall (a fraction of operating cash flow) that counts as giving way.

    Returns
    -------
    Verdict
    """
    rows = table[(table["ticker"] == POOLED)].dropna(subset=["buybacks", "capex", "operating_cash_flow"])
    before = rows[(rows["calendar_year"] >= before_from) & (rows["calendar_year"] < split_year)]
    after = rows[rows["calendar_year"] >= split_year]
    if before.empty or after.empty:
        raise FinancingError(f"C2 needs pooled years before and from {split_year}; have "
                             f"{sorted(rows['calendar_year'].astype(int))}")

    def share(frame, item):
        return float(frame[item].sum() / frame["operating_cash_flow"].sum())

    bb_before, bb_after = share(before, "buybacks"), share(after, "buybacks")
    cx_before, cx_after = share(before, "capex"), share(after, "capex")
    fall = bb_before - bb_after
    years_before = f"{int(before['calendar_year'].min())}–{int(before['calendar_year'].max())}"
    years_after = (f"{int(after['calendar_year'].min())}–{int(after['calendar_year'].max())}"
                   if len(after) > 1 else f"{int(after['calendar_year'].iloc[0])}")
    compared = at_least(fall, min_fall, unit="share",
                        measure=f"fall in pooled buybacks / operating cash flow, {years_before} to {years_after}")
    if compared["status"] == "supported" and cx_after <= cx_before:
        compared["status"] = "mixed"
        compared["flip"] += "; capex's share did not rise, so buybacks gave way to something else"
    text = (f"Pooled over the five hyperscalers, buybacks took {bb_before:.1%} of operating cash flow in "
            f"{years_before} and {bb_after:.1%} in {years_after}, a fall of {fall * 100:.1f} points; capex took "
            f"{cx_before:.1%} and then {cx_after:.1%}. By year: "
            + ", ".join(f"{int(r.calendar_year)} buybacks {r.buybacks_to_ocf:.0%}, capex {r.capex_to_ocf:.0%}"
                        for r in rows[rows["calendar_year"] >= before_from].itertuples()) + ".")
    nil = "; ".join(f"{int(r.calendar_year)} {nil_text(r.nil_lines, ('buybacks', 'capex'))}"
                    for r in rows[rows["calendar_year"] >= before_from].itertuples()
                    if nil_text(r.nil_lines, ("buybacks", "capex")))
    return Verdict(
        summary=text + (f" Counted as nil (lines the filings do not present): {nil}." if nil else ""),
        **compared,
        numbers={"buybacks_share_before": bb_before, "buybacks_share_after": bb_after, "capex_share_before": cx_before,
                 "capex_share_after": cx_after, "fall": fall, "min_fall": min_fall, "split_year": split_year},
        sources="SEC EDGAR XBRL filings (10-K, 10-Q) of " + ", ".join(members(sub_layer="hyperscaler"))
                + "; nil lines from data/financing_nil_lines.csv",
        data_through=data_through(table[~table["ticker"].isin(SECONDARY)], int(after["calendar_year"].max())),
    )


def verdict_c2(split_year: int = 2024, before_from: int = 2021, min_fall: float = 0.05) -> Verdict:
    """Verdict on C2 from the snapshot (rule in `c2_verdict`)."""
    return c2_verdict(build_out_table(since=before_from), split_year=split_year, before_from=before_from,
                      min_fall=min_fall)


# --------------------------------------------------------------------------- debt and leases against cash flow
LEVERAGE_ITEMS = ("total_debt", "operating_lease_liabilities", "finance_lease_liabilities", "operating_cash_flow",
                  "operating_income", "depreciation_amortization", "depreciation", "interest_expense")


def leverage(tickers=None, since: int = 2019) -> pd.DataFrame:
    """Debt and lease liabilities at each fiscal year end against that fiscal year's cash flow and earnings.

    Each company on its own fiscal years (Microsoft's end in June, Oracle's in May): ratios of one company
    are never added to another's, so no calendar alignment is needed. EBITDA-like = operating income +
    depreciation and amortization where the company tags it (Amazon, Meta, CoreWeave), else + depreciation
    only (Microsoft, Alphabet, Oracle tag no us-gaap D&A total), named in ``ebitda_basis``.

    Returns
    -------
    pandas.DataFrame
        One row per company and fiscal year: the `LEVERAGE_ITEMS` (USD), ``leases`` (operating + finance;
        NaN where either is missing), ``debt_and_leases``, ``ebitda_like``, ``ebitda_basis``,
        ``debt_to_ocf``, ``debt_and_leases_to_ocf``, ``debt_and_leases_to_ebitda``, ``interest_cover``
        (EBITDA-like / interest expense), ``fiscal_year``, ``period_end``, ``source``.
    """
    tickers = list(tickers or [*members(sub_layer="hyperscaler"), *secondary_tickers()])
    rows = financials(tickers, freq="FY", metrics=list(LEVERAGE_ITEMS))
    rows = rows[rows["fiscal_year"] >= since]
    wide = line_items(rows, list(LEVERAGE_ITEMS), keys=["ticker", "fiscal_year"], keep_empty=True)
    ends = rows.groupby(["ticker", "fiscal_year"])["period_end"].max()
    wide["period_end"] = ends
    has_da = wide["depreciation_amortization"].notna()
    wide["ebitda_like"] = get_ebitda_like(wide["operating_income"],
                                          wide["depreciation_amortization"].where(has_da, wide["depreciation"]))
    wide["ebitda_basis"] = np.where(has_da, "operating income + D&A", "operating income + depreciation")
    wide["leases"] = wide["operating_lease_liabilities"] + wide["finance_lease_liabilities"]
    wide["debt_and_leases"] = wide["total_debt"] + wide["leases"]
    wide["debt_to_ocf"] = get_coverage(wide["total_debt"], wide["operating_cash_flow"])
    wide["debt_and_leases_to_ocf"] = get_coverage(wide["debt_and_leases"], wide["operating_cash_flow"])
    wide["debt_and_leases_to_ebitda"] = get_coverage(wide["debt_and_leases"], wide["ebitda_like"])
    wide["interest_cover"] = get_coverage(wide["ebitda_like"], wide["interest_expense"])
    out = wide.reset_index()
    out["source"] = np.where(out["ticker"].isin(SECONDARY), "secondary", "SEC EDGAR XBRL filings")
    return out


def latest_leverage(frame: pd.DataFrame) -> pd.DataFrame:
    """Each company's latest fiscal year with debt, leases and operating cash flow all present."""
    rows = frame.dropna(subset=["debt_and_leases_to_ocf"]).sort_values("fiscal_year")
    return rows.groupby("ticker").tail(1).set_index("ticker").reindex(
        [t for t in [*members(sub_layer="hyperscaler"), *secondary_tickers()] if t in set(rows["ticker"])])


# --------------------------------------------------------------------------- facts-table figures
def _fact_amount(row) -> float:
    unit = str(row["unit"])
    if unit not in _SCALE:
        raise FinancingError(f"fact {row['fact_id']}: unit {unit!r} is not a money unit")
    return float(row["value"]) * _SCALE[unit]


def _cited(fact_ids) -> pd.DataFrame:
    table = facts().set_index("fact_id")
    absent = [i for i in fact_ids if i not in table.index]
    if absent:
        raise FinancingError(f"facts {absent} are not in the facts table (or not published by the date in force)")
    return table.loc[list(fact_ids)]


def ttm_capex(tickers) -> pd.DataFrame:
    """Each company's latest trailing-twelve-month capex in the snapshot, with its own period."""
    rows = financials(list(tickers), freq="TTM", metrics="capex").dropna(subset=["value"])
    last = rows.sort_values("period_end").groupby("ticker").tail(1).set_index("ticker")
    return last[["value", "period_start", "period_end", "fiscal_year", "fiscal_period"]]


def leases_not_commenced() -> pd.DataFrame:
    """Leases signed but not yet begun (facts table) against the company's latest twelve months of capex.

    These are commitments no cash-flow line shows yet: when each lease begins, its present value becomes
    a lease liability (and, for finance leases, an asset bought on credit), spending still to come.

    Returns
    -------
    pandas.DataFrame
        Indexed by ticker: ``fact_id, leases`` (USD), ``as_of`` (the fact's period end), ``kind,
        confidence, label``, ``capex`` (latest TTM in the snapshot, USD), ``capex_from, capex_to``,
        ``years_of_capex`` (leases / capex).
    """
    cited = _cited(LEASE_FACTS.values())
    capex = ttm_capex(LEASE_FACTS)
    rows = []
    for ticker, fact_id in LEASE_FACTS.items():
        fact = cited.loc[fact_id]
        amount = _fact_amount(fact.to_dict() | {"fact_id": fact_id})
        rows.append({"ticker": ticker, "fact_id": fact_id, "leases": amount, "as_of": fact["period_end"],
                     "kind": fact["kind"], "confidence": fact["confidence"],
                     "label": label(fact.to_dict() | {"fact_id": fact_id}),
                     "capex": float(capex.loc[ticker, "value"]), "capex_from": capex.loc[ticker, "period_start"],
                     "capex_to": capex.loc[ticker, "period_end"]})
    out = pd.DataFrame(rows).set_index("ticker")
    out["years_of_capex"] = get_coverage(out["leases"], out["capex"])
    return out


def oracle_prepayments() -> dict:
    """Oracle's FY27 Q1 operating cash flow, the customer prepayments inside it, and its capex (facts table).

    Returns
    -------
    dict
        ``operating_cash_flow``, ``prepayments``, ``capex`` (USD), ``share`` (prepayments / operating cash
        flow), ``ocf_without`` (operating cash flow less prepayments), ``period_end``, ``fact_ids``,
        ``labels`` (each row's label, kind and confidence named), ``kinds``.
    """
    cited = _cited(PREPAYMENT_FACTS.values())
    amounts = {item: _fact_amount(cited.loc[i].to_dict() | {"fact_id": i}) for item, i in PREPAYMENT_FACTS.items()}
    ends = {pd.Timestamp(cited.loc[i, "period_end"]) for i in PREPAYMENT_FACTS.values()}
    if len(ends) != 1:
        raise FinancingError(f"Oracle's prepayment facts {list(PREPAYMENT_FACTS.values())} cover different periods")
    return {
        **amounts, "share": amounts["prepayments"] / amounts["operating_cash_flow"],
        "ocf_without": amounts["operating_cash_flow"] - amounts["prepayments"], "period_end": ends.pop(),
        "fact_ids": list(PREPAYMENT_FACTS.values()),
        "labels": [label(cited.loc[i].to_dict() | {"fact_id": i}) for i in PREPAYMENT_FACTS.values()],
        "kinds": sorted(set(cited["kind"].astype(str))),
    }
