"""The published audit: derived figures reconciled against independently reported ones, per company-year."""

from __future__ import annotations

import html
import re

import pandas as pd

from valuechain_lib.calc.periods import fiscal_label
from valuechain_lib.errors import ValueChainError
from valuechain_lib.snapshot.crosschecks import BALANCE_CHECK, TOLERANCE
from valuechain_lib.snapshot.store import load_table
from valuechain_lib.snapshot.universe import universe

CHECKS = ("3M vs YTD difference", "9M vs Q1+Q2+Q3", "TTM vs 4 quarters", "GP vs revenue − cost", BALANCE_CHECK)
KINDS = ("restatement", "rounding", "documented", "unexplained")
METRIC_NAMES = {
    "revenue": "Revenue", "cost_of_revenue": "Cost of revenue", "gross_profit": "Gross profit",
    "operating_income": "Operating income", "net_income": "Net income", "capex": "Capex",
    "operating_cash_flow": "Operating cash flow", "depreciation": "Depreciation",
    "depreciation_amortization": "Depreciation and amortization",
    "finance_lease_principal_payments": "Finance-lease principal payments",
    "total_debt": "Total debt", "long_term_debt": "Long-term debt (noncurrent)", "debt_issued": "Debt issued",
    "debt_repaid": "Debt repaid", "interest_expense": "Interest expense",
    "operating_lease_liabilities": "Operating-lease liabilities", "finance_lease_liabilities": "Finance-lease liabilities",
    "buybacks": "Buybacks", "dividends": "Dividends",
}
#: How the reporting currency is written in a money column's header ("$M", "NT$M").
CURRENCY_PREFIX = {"USD": "$", "TWD": "NT$", "KRW": "₩"}
ACCESSION = re.compile(r"\b(\d{10}-\d{2}-\d{6})\b")


class AuditError(ValueChainError):
    """An exception in the reconciliation that no documented reason explains."""


def reason_kind(reason: str) -> str:
    """Group a mismatch reason: restatement, rounding, documented (tag change, vintage, IFRS line), unexplained."""
    if not reason:
        return ""
    if reason.startswith("restatement"):
        return "restatement"
    if reason.startswith("rounding"):
        return "rounding"
    if reason == "unexplained":
        return "unexplained"
    return "documented"


def company_years(checks: pd.DataFrame | None = None, financials: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per company and fiscal year in the snapshot with the reconciliation counts.

    Returns
    -------
    pandas.DataFrame
        ``ticker, fiscal_year``, one count column per check type (comparisons made), ``compared``,
        ``matched`` (within ±$2M), ``restatement``, ``rounding``, ``documented``, ``unexplained``,
        and ``note`` for company-years with nothing to compare (e.g. annual-only filers).
    """
    checks = load_table("crosschecks") if checks is None else checks
    financials = load_table("financials") if financials is None else financials
    years = (financials[financials["value"].notna()][["ticker", "fiscal_year"]].drop_duplicates()
             .sort_values(["ticker", "fiscal_year"]))
    c = checks.assign(kind=checks["reason"].fillna("").map(reason_kind))
    counts = c.pivot_table(index=["ticker", "fiscal_year"], columns="check", values="match", aggfunc="size",
                           fill_value=0).reindex(columns=list(CHECKS), fill_value=0)
    summary = c.groupby(["ticker", "fiscal_year"]).agg(compared=("match", "size"), matched=("match", "sum"))
    kinds = (c[c["kind"] != ""].pivot_table(index=["ticker", "fiscal_year"], columns="kind", values="match",
                                            aggfunc="size", fill_value=0)
             .reindex(columns=["restatement", "rounding", "documented", "unexplained"], fill_value=0))
    out = years.set_index(["ticker", "fiscal_year"]).join(counts).join(summary).join(kinds)
    out = out.fillna(0).astype(int).reset_index()
    out["note"] = ""
    out.loc[out["compared"] == 0, "note"] = "no independently reported figure to compare"
    return out


def exceptions(checks: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every comparison outside ±$2M, with its reason."""
    checks = load_table("crosschecks") if checks is None else checks
    out = checks[~checks["match"].astype(bool)].copy()
    out["kind"] = out["reason"].map(reason_kind)
    return out.sort_values(["ticker", "fiscal_year", "check"]).reset_index(drop=True)


def counts(checks: pd.DataFrame | None = None) -> dict[str, int]:
    """Totals for the status page: compared, matched, exceptions by kind."""
    checks = load_table("crosschecks") if checks is None else checks
    exc = exceptions(checks)
    out = {"compared": int(len(checks)), "matched": int(checks["match"].astype(bool).sum()),
           "tolerance_usd": TOLERANCE}
    for kind in ("restatement", "rounding", "documented", "unexplained"):
        out[kind] = int((exc["kind"] == kind).sum())
    return out


def assert_explained(checks: pd.DataFrame | None = None) -> None:
    """Raise `AuditError` listing every unexplained exception (the book build fails on it)."""
    exc = exceptions(checks)
    bad = exc[exc["kind"] == "unexplained"]
    if not bad.empty:
        lines = [f"{r.ticker} FY{r.fiscal_year} {r.metric} ({r.check}): reported {r.reported:,.0f} vs derived "
                 f"{r.derived:,.0f}" for r in bad.itertuples()]
        raise AuditError(f"{len(bad)} unexplained reconciliation exception(s):\n" + "\n".join(lines))


def kind_counts(counts) -> str:
    """``"3 restatements, 1 documented"`` from a mapping of exception kind to count (zero kinds left out)."""
    parts = []
    for kind in KINDS:
        n = int(counts[kind])
        if n:
            parts.append(f"{n} {kind}{'s' if kind == 'restatement' and n != 1 else ''}")
    return ", ".join(parts)


def period_labels(checks: pd.DataFrame, reported: pd.DataFrame | None = None) -> pd.Series:
    """Name the period each comparison covers: ``FY2016 Q4``, ``FY2016 9M``, ``FY2017 TTM to Q1``, ``FY2018``.

    Parameters
    ----------
    checks : pandas.DataFrame
        Rows of the crosschecks table (``check, ticker, metric, fiscal_year, fiscal_quarter, period_end,
        reported, reported_from``).
    reported : pandas.DataFrame, optional
        The facts_reported table; the gross-profit check covers quarters, half-years, nine months and
        years alike, so its duration is read from the reported fact it compares.

    Returns
    -------
    pandas.Series
        Text labels, index of ``checks``.
    """
    gp = checks["check"] == "GP vs revenue − cost"
    duration = pd.Series("", index=checks.index, dtype=object)
    if gp.any():
        reported = load_table("facts_reported") if reported is None else reported
        keys = ["ticker", "metric", "period_end"]
        facts = (reported[keys + ["accession", "value", "duration"]]
                 .rename(columns={"accession": "reported_from", "value": "reported"})
                 .drop_duplicates(subset=keys + ["reported_from", "reported"]))
        found = checks.loc[gp, keys + ["reported_from", "reported"]].reset_index().merge(
            facts, on=keys + ["reported_from", "reported"], how="left").set_index("index")["duration"]
        duration[gp] = found.fillna("")
    labels = []
    for row, span in zip(checks.itertuples(), duration, strict=True):
        year, quarter = row.fiscal_year, f"Q{int(row.fiscal_quarter)}"
        if row.check == BALANCE_CHECK:
            labels.append(_period_label("instant", row.fiscal_year, row.fiscal_quarter))
        elif row.check == "9M vs Q1+Q2+Q3" or span == "9M":
            labels.append(fiscal_label(year, "9M"))
        elif row.check == "TTM vs 4 quarters":
            labels.append(fiscal_label(year, f"TTM to {quarter}"))
        elif span == "FY":
            labels.append(fiscal_label(year, "FY"))
        elif span == "6M":
            labels.append(fiscal_label(year, "H1"))
        else:
            labels.append(fiscal_label(year, quarter))
    return pd.Series(labels, index=checks.index, dtype=object)


def money_format(values, signed: bool = False):
    """A cell formatter for amounts in millions of the reporting currency, with one precision per table.

    Whole millions are written without decimals; if any amount in ``values`` is not a whole million,
    every cell gets one decimal (so a $4.6M difference is not shown as 5 beside a ±$2M tolerance).

    Parameters
    ----------
    values : array-like
        Every amount the formatter will write (in currency units, not millions).
    signed : bool
        Write a sign on every non-zero amount (``+10``, ``−5``): for differences.

    Returns
    -------
    callable
        ``amount -> text``, e.g. ``351000000 -> "351"``, ``-5000000 -> "−5"`` when signed.
    """
    amounts = pd.Series(values, dtype=float).dropna()
    decimals = 0 if (amounts % 1_000_000 == 0).all() else 1

    def write(amount: float) -> str:
        text = f"{abs(amount) / 1e6:,.{decimals}f}"
        if amount < 0:
            return "−" + text
        return ("+" + text) if signed and amount > 0 else text

    return write


def currency_label(currency: str) -> str:
    """The unit of a money column in millions: ``"$M"`` for USD, ``"NT$M"`` for TWD, else ``"M KRW"`` and the like."""
    prefix = CURRENCY_PREFIX.get(currency)
    return f"{prefix}M" if prefix else f"M {currency}"


def accession_links(text: str, cik) -> str:
    """Escape ``text`` for HTML and link every accession number in it to its filing on SEC EDGAR."""
    escaped = html.escape(str(text))
    if cik is None or pd.isna(cik):
        return ACCESSION.sub(r'<span style="white-space: nowrap">\1</span>', escaped)
    # nowrap: an accession number broken at its hyphens reads as three numbers.
    return ACCESSION.sub(lambda m: f'<a href="https://www.sec.gov/Archives/edgar/data/{int(cik)}/'
                         f'{m.group(1).replace("-", "")}/" style="white-space: nowrap">{m.group(1)}</a>', escaped)


def year_table(years: pd.DataFrame) -> pd.DataFrame:
    """One company's fiscal years as the audit page shows them (readable headers, counts, a note).

    Check columns with no comparison in any of the company's years are left out; the four kinds of
    exception become one count and a note naming them.

    Parameters
    ----------
    years : pandas.DataFrame
        Rows of `company_years` for one company.

    Returns
    -------
    pandas.DataFrame
        ``Fiscal year``, one column per check the company has, ``Compared``, ``Matched``, ``Exceptions``,
        ``Note``; numbers left as integers for `valuechain_lib.publish.book.table`.
    """
    checks = [c for c in CHECKS if years[c].sum() > 0]
    out = years[["fiscal_year", *checks, "compared", "matched"]].rename(
        columns={"fiscal_year": "Fiscal year", "compared": "Compared", "matched": "Matched"})
    out["Exceptions"] = years["compared"] - years["matched"]
    out["Note"] = [kind_counts(row) or row["note"] for _, row in years.iterrows()]
    return out.reset_index(drop=True)


def exception_table(exc: pd.DataFrame, currency: str = "USD", cik=None,
                    reported: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict, list[str]]:
    """One company's exceptions as the audit page shows them, with the formats of their cells and the reasons.

    The reason column names the kind of exception and a note number (``restatement [1]``); the notes,
    each distinct reason once, go under the table, so the same sentence is not repeated on every row.

    Parameters
    ----------
    exc : pandas.DataFrame
        Rows of `exceptions` for one company.
    currency : str
        The company's reporting currency (amounts are written in millions of it).
    cik : int, optional
        The company's SEC CIK; accession numbers become links to the filings.
    reported : pandas.DataFrame, optional
        The facts_reported table, for the period a gross-profit comparison covers (`period_labels`).

    Returns
    -------
    (pandas.DataFrame, dict, list of str)
        The table (``Period``, ``Period end``, ``Metric``, ``Check``, reported, derived and difference
        in millions, ``Reason``, ``Reported in``, ``Derived from``; HTML-escaped text cells), the
        ``{column: format}`` for `valuechain_lib.publish.book.table` (call it with ``escape=False``) and the
        distinct reasons in the order of their note numbers.
    """
    unit = currency_label(currency)
    money = pd.concat([exc["reported"], exc["derived"], exc["difference"]])
    reasons = list(dict.fromkeys(exc["reason"]))
    out = pd.DataFrame({
        "Period": period_labels(exc, reported),
        "Period end": pd.to_datetime(exc["period_end"]),
        "Metric": exc["metric"].map(lambda m: html.escape(METRIC_NAMES.get(m, m.replace("_", " ").capitalize()))),
        "Check": exc["check"].map(html.escape),
        f"Reported ({unit})": exc["reported"].astype(float),
        f"Derived ({unit})": exc["derived"].astype(float),
        f"Difference ({unit})": exc["difference"].astype(float),
        "Reason": [f"{html.escape(reason_kind(r))}&nbsp;[{reasons.index(r) + 1}]" for r in exc["reason"]],
        "Reported in": exc["reported_from"].map(lambda t: accession_links(t, cik)),
        "Derived from": exc["derived_from"].map(lambda t: accession_links(t, cik)),
    }).reset_index(drop=True)
    formats = {"Period end": lambda d: f'<span style="white-space: nowrap">{d:%Y-%m-%d}</span>',
               f"Reported ({unit})": money_format(money),
               f"Derived ({unit})": money_format(money), f"Difference ({unit})": money_format(money, signed=True)}
    return out, formats, reasons


def company_summary(ticker: str, name: str, years: pd.DataFrame) -> str:
    """The one line that stands for a company's section: ``AMD (Advanced Micro Devices): 12 fiscal years,
    190 comparisons, 188 match, 2 exceptions (1 restatement, 1 documented)``."""
    compared, matched = int(years["compared"].sum()), int(years["matched"].sum())
    kinds = kind_counts(years[list(KINDS)].sum())
    exceptions = compared - matched
    tail = f"{exceptions} exception{'s' if exceptions != 1 else ''}" + (f" ({kinds})" if kinds else "")
    return (f"{ticker} ({name}): {len(years)} fiscal year{'s' if len(years) != 1 else ''}, "
            f"{compared:,} comparisons, {matched:,} match, {tail}")


def _bold_ticker(summary: str, ticker: str) -> str:
    return f"<strong>{html.escape(ticker)}</strong>" + summary[len(html.escape(ticker)):]


def company_section(ticker: str, years: pd.DataFrame, exc: pd.DataFrame, company: dict | None = None,
                    reported: pd.DataFrame | None = None) -> str:
    """One company's part of the audit page: a collapsible ``<details>`` block, open if it has exceptions.

    Parameters
    ----------
    ticker : str
    years : pandas.DataFrame
        The company's rows of `company_years`.
    exc : pandas.DataFrame
        The company's rows of `exceptions` (may be empty).
    company : dict, optional
        ``name``, ``currency`` and ``cik`` (default: from the universe).
    reported : pandas.DataFrame, optional
        The facts_reported table (`period_labels`).

    Returns
    -------
    str
        HTML: ``<details>`` with a ``<summary>`` (`company_summary`), the per-year table and, if any,
        the exceptions with their reasons.
    """
    from valuechain_lib.publish.book import table

    if company is None:
        company = universe().set_index("ticker").loc[ticker, ["name", "currency", "cik"]].to_dict()
    summary = company_summary(ticker, company["name"], years)
    tolerance = f"±{CURRENCY_PREFIX.get(company['currency'], '')}{TOLERANCE / 1e6:,.0f}M"
    parts = [table(year_table(years), {"Fiscal year": "year"},
                   caption=f"{ticker}: comparisons per check and fiscal year; a match is within {tolerance}").data]
    if not exc.empty:
        frame, formats, reasons = exception_table(exc, company["currency"], company.get("cik"), reported)
        parts.append(table(frame, formats, escape=False,
                           caption=f"{ticker}: every exception, with its reason (notes below)").data)
        note = '<p class="vc-audit-reason" style="font-size: 0.85rem; margin: 0.2rem 0">'
        parts.append("".join(f"{note}[{n}] {html.escape(r)}</p>" for n, r in enumerate(reasons, start=1)))
    opened = " open" if not exc.empty else ""
    return (f'<details class="vc-audit-company" id="audit-{ticker.lower()}"{opened}>'
            f"<summary>{_bold_ticker(html.escape(summary), ticker)}</summary>{''.join(parts)}</details>")


# --- restatements: every value as first filed beside the value the latest filing gives ------------------

#: The spans a reader sees in the book's charts and tables: fiscal quarters, fiscal years and balances at a
#: period end. Year-to-date figures (6M, 9M) only feed the derived quarters, whose own restatements show.
SHOWN_DURATIONS = ("3M", "FY", "instant")
RESTATED_COLUMNS = [
    "ticker", "metric", "tag", "unit", "duration", "period", "period_start", "period_end",
    "first_value", "first_accession", "first_form", "first_filed",
    "restated_value", "restated_accession", "restated_form", "restated_filed",
    "change", "change_pct", "changes",
]


def _period_label(duration: str, year, quarter) -> str:
    if duration == "FY":
        return fiscal_label(year, "FY")
    if duration == "instant":
        return "end of " + fiscal_label(year, "FY" if int(quarter) == 4 else f"Q{int(quarter)}")
    return fiscal_label(year, f"Q{int(quarter)}")


def restated_values(vintages: pd.DataFrame | None = None, reported: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every reported figure whose latest value differs from the value first filed, with both filings.

    For each company, metric, tag and period the snapshot keeps every value a filing gave it, dated by the
    first filing that carried it (the ``vintages`` table). The first row is the value as first filed; the
    last is the value the latest filing gives, dated by the filing that first restated it to that value
    (not the latest filing that repeats it). Only the tag and periods the statements use (the
    ``facts_reported`` table) count, and only the spans a reader sees (`SHOWN_DURATIONS`).

    Parameters
    ----------
    vintages : pandas.DataFrame, optional
        The snapshot's ``vintages`` table (default: loaded).
    reported : pandas.DataFrame, optional
        The snapshot's ``facts_reported`` table (default: loaded).

    Returns
    -------
    pandas.DataFrame
        `RESTATED_COLUMNS`: ``period`` as ``FY2017``, ``FY2017 Q4`` or ``end of FY2023``; values in units of
        ``unit``; ``change`` = restated − first filed, ``change_pct`` = change / |first filed| (NaN when
        the first value was zero); ``changes`` = how many times a filing changed the value.
    """
    vintages = load_table("vintages") if vintages is None else vintages
    reported = load_table("facts_reported") if reported is None else reported
    keys = ["ticker", "metric", "tag", "unit", "start", "end"]
    ordered = vintages.sort_values([*keys, "filed", "accession"], na_position="first", kind="stable")
    groups = ordered.groupby(keys, dropna=False, sort=False)
    first = groups.head(1).set_index(keys)
    last = groups.tail(1).set_index(keys)
    both = first[["value", "accession", "form", "filed"]].join(
        last[["value", "accession", "form", "filed"]], lsuffix="_first", rsuffix="_last")
    both["changes"] = groups.size() - 1
    both = both[both["value_first"] != both["value_last"]].reset_index()
    shown = reported[reported["duration"].isin(SHOWN_DURATIONS)].rename(
        columns={"period_start": "start", "period_end": "end"})
    both = both.merge(shown[[*keys, "duration", "fiscal_year", "fiscal_quarter"]], on=keys, how="inner")
    change = both["value_last"] - both["value_first"]
    out = pd.DataFrame({
        "ticker": both["ticker"], "metric": both["metric"], "tag": both["tag"], "unit": both["unit"],
        "duration": both["duration"],
        "period": [_period_label(d, y, q) for d, y, q in
                   zip(both["duration"], both["fiscal_year"], both["fiscal_quarter"], strict=True)],
        "period_start": both["start"], "period_end": both["end"],
        "first_value": both["value_first"], "first_accession": both["accession_first"],
        "first_form": both["form_first"], "first_filed": both["filed_first"],
        "restated_value": both["value_last"], "restated_accession": both["accession_last"],
        "restated_form": both["form_last"], "restated_filed": both["filed_last"],
        "change": change, "change_pct": change / both["value_first"].abs().where(both["value_first"] != 0),
        "changes": both["changes"].astype(int),
    }, columns=RESTATED_COLUMNS)
    return out.sort_values(["ticker", "metric", "period_end", "duration"], kind="stable").reset_index(drop=True)


def largest_restatements(restated: pd.DataFrame | None = None, n: int = 10, unit: str = "USD") -> pd.DataFrame:
    """The ``n`` restatements that moved a figure most, in money of one currency.

    Parameters
    ----------
    restated : pandas.DataFrame, optional
        Rows of `restated_values` (default: computed from the snapshot).
    n : int
        How many to keep.
    unit : str
        Amounts in different currencies are not ranked together: only figures in ``unit`` count.

    Returns
    -------
    pandas.DataFrame
        The rows with the largest absolute ``change``, largest first (ties by company and period).
    """
    restated = restated_values() if restated is None else restated
    rows = restated[restated["unit"] == unit]
    order = rows.assign(size=rows["change"].abs()).sort_values(
        ["size", "ticker", "period_end"], ascending=[False, True, True], kind="stable")
    return order.drop(columns="size").head(n).reset_index(drop=True)


def _filing(form, filed, accession, cik) -> str:
    return (f'{html.escape(str(form))} of <span style="white-space: nowrap">{pd.Timestamp(filed):%Y-%m-%d}</span>, '
            f"{accession_links(accession, cik)}")


def restatement_table(rows: pd.DataFrame, companies: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict]:
    """Restatements as the audit page shows them: old → new, the change in money and %, both filings.

    Parameters
    ----------
    rows : pandas.DataFrame
        Rows of `restated_values` in one currency (`largest_restatements`).
    companies : pandas.DataFrame, optional
        The universe indexed by ticker (``cik`` links accession numbers to EDGAR; default: loaded).

    Returns
    -------
    (pandas.DataFrame, dict)
        The table (``Company``, ``Metric``, ``Period``, first filed, restated and change in millions,
        ``Change (%)``, ``First filed in``, ``Restated in``; HTML cells) and the ``{column: format}``
        for `valuechain_lib.publish.book.table` (call it with ``escape=False``).
    """
    companies = universe().set_index("ticker") if companies is None else companies
    units = rows["unit"].dropna().unique().tolist()
    money = currency_label(units[0] if len(units) == 1 else "USD")
    ciks = companies["cik"].reindex(rows["ticker"]).tolist()
    amounts = pd.concat([rows["first_value"], rows["restated_value"], rows["change"]])
    out = pd.DataFrame({
        "Company": rows["ticker"].map(html.escape),
        "Metric": rows["metric"].map(lambda m: html.escape(METRIC_NAMES.get(m, m.replace("_", " ").capitalize()))),
        "Period": rows["period"].map(html.escape),
        f"First filed ({money})": rows["first_value"].astype(float),
        f"Restated ({money})": rows["restated_value"].astype(float),
        f"Change ({money})": rows["change"].astype(float),
        "Change (%)": rows["change_pct"].astype(float),
        "First filed in": [_filing(f, d, a, c) for f, d, a, c in
                           zip(rows["first_form"], rows["first_filed"], rows["first_accession"], ciks, strict=True)],
        "Restated in": [_filing(f, d, a, c) for f, d, a, c in
                        zip(rows["restated_form"], rows["restated_filed"], rows["restated_accession"], ciks,
                            strict=True)],
    }).reset_index(drop=True)
    formats = {f"First filed ({money})": money_format(amounts), f"Restated ({money})": money_format(amounts),
               f"Change ({money})": money_format(amounts, signed=True),
               "Change (%)": lambda x: f"{x:+.1%}".replace("-", "−")}
    return out, formats


def short_name(name: str) -> str:
    """A company's name as a sentence uses it: ``Microsoft Corporation`` → ``Microsoft``, ``Meta Platforms`` → ``Meta``."""
    return re.sub(r"(,? (Corporation|Inc\.|Platforms|Group))+$", "", name)


#: The statements' frequency that shows a restated figure's span.
FREQ_OF_DURATION = {"FY": "FY", "3M": "Q", "instant": "Q"}


def first_and_restated(ticker: str, metric: str, freq: str = "FY") -> pd.DataFrame:
    """One company's metric twice: every period as first filed and as the latest filing gives it.

    Parameters
    ----------
    ticker, metric : str
    freq : {"Q", "FY"}

    Returns
    -------
    pandas.DataFrame
        ``ticker, metric, fiscal_year, fiscal_period, period_end, version, value`` (``version`` "as first
        filed" or "as restated"), periods with a value only.
    """
    from valuechain_lib.snapshot.financials import financials

    frames = []
    for version, vintage in (("as first filed", "first"), ("as restated", "latest")):
        rows = financials(ticker, freq=freq, metrics=metric, vintage=vintage).dropna(subset=["value"])
        frames.append(rows[["ticker", "metric", "fiscal_year", "fiscal_period", "period_end", "value"]]
                      .assign(version=version))
    out = pd.concat(frames, ignore_index=True)
    return out[["ticker", "metric", "fiscal_year", "fiscal_period", "period_end", "version", "value"]]


def restatement_figure(row: pd.Series, name: str = "most-restated-series"):
    """A small chart of the series a restatement moved, as first filed and as restated.

    Parameters
    ----------
    row : pandas.Series
        One row of `restated_values` (the largest restatement, say).
    name : str
        The chart's name (its CSV file).

    Returns
    -------
    valuechain_lib.publish.charts.ChartFigure
    """
    import altair as alt

    from valuechain_lib.publish.book import data_through
    from valuechain_lib.publish.charts import CATEGORY_COLORS, figure

    freq = FREQ_OF_DURATION[row["duration"]]
    data = first_and_restated(row["ticker"], row["metric"], freq)
    scale = 1e9
    prefix = CURRENCY_PREFIX.get(row["unit"], "")
    data = data.assign(value_bn=data["value"] / scale)
    company = short_name(universe().set_index("ticker").loc[row["ticker"], "name"])
    metric = METRIC_NAMES.get(row["metric"], row["metric"].replace("_", " ").capitalize())
    periods = "fiscal years" if freq == "FY" else "fiscal quarters"
    first, last = data["period_end"].min(), data["period_end"].max()
    span = f"{data.loc[data['period_end'] == first, 'fiscal_year'].iloc[0]}–" \
           f"{data.loc[data['period_end'] == last, 'fiscal_year'].iloc[0]}"
    old, new = row["first_value"] / scale, row["restated_value"] / scale
    chart = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("period_end:T", title=None),
        y=alt.Y("value_bn:Q", title=f"{prefix or row['unit'] + ' '}bn"),
        color=alt.Color("version:N", title=None, sort=["as first filed", "as restated"],
                        scale=alt.Scale(domain=["as first filed", "as restated"],
                                        range=[CATEGORY_COLORS[1], CATEGORY_COLORS[0]])),
        strokeDash=alt.StrokeDash("version:N", legend=None, sort=["as first filed", "as restated"],
                                  scale=alt.Scale(domain=["as first filed", "as restated"], range=[[4, 3], [1, 0]])),
        tooltip=["version:N", "fiscal_year:Q", "fiscal_period:N",
                 alt.Tooltip("value_bn:Q", format=",.2f", title=f"{prefix}bn")],
    ).properties(height=180)
    return figure(
        chart, data, name=name,
        title=(f"{company}'s {metric.lower()} for {row['period']} was restated from {prefix}{old:,.1f}bn "
               f"to {prefix}{new:,.1f}bn ({row['change_pct']:+.0%})"),
        subtitle=f"{metric}, {row['unit']} billion, {periods} {span}: as first filed and as restated",
        source="SEC EDGAR XBRL companyfacts (10-K, 10-Q)",
        note=(f"As first filed: each figure from the first filing that carried it (financials(vintage='first')); "
              f"as restated: from the latest filing. {row['period']} was first filed in {row['first_form']} "
              f"{row['first_accession']} ({pd.Timestamp(row['first_filed']):%Y-%m-%d}) and restated in "
              f"{row['restated_form']} {row['restated_accession']} ({pd.Timestamp(row['restated_filed']):%Y-%m-%d})."),
        data_through=data_through(data),
        alt_text=(f"Two lines of {company}'s {metric.lower()} by {periods[:-1]}, as first filed (dashed) and as "
                  f"restated (solid); they part where filings restated the figures, most at {row['period']}: "
                  f"{prefix}{old:,.1f}bn first filed, {prefix}{new:,.1f}bn restated."),
    )
