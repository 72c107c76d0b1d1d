"""Helpers the book's pages share: snapshot dates, source lines, tables, dataset downloads.

The build itself (running Jupyter Book, the execution cache, failure summaries) is
`valuechain_lib.publish.build`."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import altair as alt
import pandas as pd

from valuechain_lib.paths import PACKAGE_DIR, data_dir
from valuechain_lib.publish import charts
from valuechain_lib.snapshot.financials import financials
from valuechain_lib.snapshot.store import load_table, manifest, snapshot_dir
from valuechain_lib.snapshot.universe import snapshot_tickers, universe
from valuechain_lib.sources.sec import SOURCE_COMPANYFACTS

REPO_ROOT = PACKAGE_DIR.parent
STATIC_DATA = REPO_ROOT / "book" / "_static" / "data"
BUILD_DIR = REPO_ROOT / "_build"


def as_of(tickers=None) -> dict[str, pd.Timestamp]:
    """Return the snapshot's dates: latest filing date, latest price date, and when it was built.

    With ``tickers``, the filing date is the latest among those companies' filings (the date of the
    data a chart shows).
    """
    facts = load_table("facts_reported")
    if tickers is not None:
        facts = facts[facts["ticker"].isin(list(tickers))]
    price_table = load_table("prices")
    return {
        "filings": facts["filed"].max(),
        "prices": price_table["date"].max(),
        "built": pd.Timestamp(manifest()["built_at"]).tz_localize(None),
    }


def data_through(frame: pd.DataFrame, date: str = "period_end", by: str | None = "ticker",
                 values: str | None = None) -> str:
    """How far the data shown run, per company where they differ, for a chart caption or a sentence.

    Parameters
    ----------
    frame : pandas.DataFrame
        The rows shown.
    date : str
        The column giving each row's last day covered (``period_end`` for filings, ``date`` for prices).
    by : str, optional
        The column naming the company or series (``ticker``); None for one date over all rows.
    values : str, optional
        A value column: rows where it is missing do not count (a gap is not data).

    Returns
    -------
    str
        E.g. "2026-03-31 (AMZN, GOOGL, META, MSFT), 2026-05-31 (ORCL)"; one date when all agree
        ("2026-03-31").

    Raises
    ------
    ValueChainError
        No row with a date (a caption cannot say how far nothing runs).
    """
    from valuechain_lib.claims.verdicts import through_text
    from valuechain_lib.errors import ValueChainError

    rows = frame if values is None else frame[frame[values].notna()]
    rows = rows[rows[date].notna()]
    if rows.empty:
        raise ValueChainError(f"data_through: no row with a {date!r} date to say how far the data run")
    dates = pd.to_datetime(rows[date])
    if by is None:
        return f"{dates.max():%Y-%m-%d}"
    ends = dates.groupby(rows[by].astype(str)).max()
    if ends.nunique() == 1:
        return f"{ends.iloc[0]:%Y-%m-%d}"
    return through_text(ends.to_dict())


#: Days after a period end by which a large accelerated filer files (SEC Forms 10-Q and 10-K; 20-F for a
#: foreign private issuer): the "next filing due" of the status page.
FILING_DEADLINE_DAYS = {"10-Q": 40, "10-K": 60, "20-F": 120}


def _nearest_month(day: pd.Timestamp) -> int:
    """The month whose end is nearest ``day`` (a 52/53-week period ending 2026-02-01 ends "January")."""
    return day.month if day.day >= 15 else (day.month - 2) % 12 + 1


def freshness(today=None) -> pd.DataFrame:
    """Per company: the latest period in the snapshot, how old it is today, and when the next filing is due.

    The next period ends three months (13 weeks for 52/53-week years) after the latest; it is a fiscal
    year end when its month is the company's fiscal-year-end month, and the filing is due
    `FILING_DEADLINE_DAYS` after it (a 20-F filer's only after its year end). Computed at build time,
    outside the cached notebooks, so "days old" is never stale.

    Returns
    -------
    pandas.DataFrame
        ``ticker, name, latest_fiscal_period, latest_period_end, days_old, latest_filed, next_period_end,
        next_form, next_due, overdue``.
    """
    today = pd.Timestamp(today or pd.Timestamp.now(tz="UTC").tz_localize(None)).normalize()
    companies = universe().set_index("ticker")
    forms = load_table("facts_reported").groupby("ticker")["form"].agg(lambda f: set(f.dropna()))
    rows = []
    for ticker, info in manifest()["companies"].items():
        row = companies.loc[ticker]
        end = pd.Timestamp(info["latest_period_end"])
        filed = forms.get(ticker, set())
        if "20-F" in filed and not filed & {"10-Q", "10-K"}:  # a foreign annual filer: next is the next year's 20-F
            next_end, form = end + pd.DateOffset(years=1), "20-F"
        else:
            weeks = bool(row["fiscal_52_53_week"])
            next_end = end + (pd.Timedelta(weeks=13) if weeks else pd.offsets.MonthEnd(3))
            form = "10-K" if _nearest_month(next_end) == int(row["fiscal_year_end_month"]) else "10-Q"
        due = next_end + pd.Timedelta(days=FILING_DEADLINE_DAYS[form])
        rows.append({"ticker": ticker, "name": row["name"], "latest_fiscal_period": info["latest_fiscal_period"],
                     "latest_period_end": end, "days_old": int((today - end).days),
                     "latest_filed": pd.Timestamp(info["latest_filed"]), "next_period_end": next_end,
                     "next_form": form, "next_due": due, "overdue": due < today})
    return pd.DataFrame(rows).sort_values(["latest_period_end", "ticker"]).reset_index(drop=True)


def sec_source_line(tickers, rows: pd.DataFrame | None = None) -> str:
    """Return a chart source line naming the filings' form types and the companies.

    Read from the rows' own ``form`` and ``source`` columns: a company with figures from a source other
    than SEC companyfacts (CoreWeave's third-party statement file) is named as secondary.

    Parameters
    ----------
    tickers : sequence of str
        The companies named, in this order.
    rows : pandas.DataFrame, optional
        The rows behind the chart (``ticker``, ``form``, ``source``, as `financials` returns them);
        default the snapshot's quarterly `financials` rows of ``tickers`` (every form their figures
        come from).
    """
    tickers = list(tickers)
    if rows is None:
        held = [t for t in tickers if t in snapshot_tickers("financials")]
        rows = financials(held) if held else pd.DataFrame(columns=["ticker", "form", "source"])
    rows = rows[rows["ticker"].isin(tickers)]
    elsewhere = rows["source"].notna() & ~rows["source"].fillna("").str.startswith(SOURCE_COMPANYFACTS)
    secondary = sorted(rows.loc[elsewhere, "ticker"].unique())
    primary = [t for t in tickers if t not in secondary]
    forms = sorted(rows.loc[rows["ticker"].isin(primary), "form"].dropna().unique())
    parts = []
    if primary:
        parts.append(f"SEC EDGAR XBRL filings ({', '.join(forms)}) of {', '.join(primary)}; accession numbers in "
                     "the data download")
    if secondary:
        parts.append(f"{', '.join(secondary)}: third-party statements derived from its filings (secondary source, "
                     "no accession numbers)")
    return ". ".join(parts)


def company_colors() -> dict[str, str]:
    """Each company's and benchmark's one colour, keyed by ticker and by name (`charts.assign_colours`).

    Read from the ``colour`` column of ``data/universe.csv`` and ``data/benchmarks.csv``, in file order.
    """
    rows = universe()[["ticker", "name", "colour"]]
    bench_path = data_dir() / "benchmarks.csv"
    if bench_path.exists():
        bench = pd.read_csv(bench_path, dtype=str, keep_default_na=False)
        bench = bench.reindex(columns=["ticker", "name", "colour"]).replace("", pd.NA)
        rows = pd.concat([rows, bench], ignore_index=True)
    return charts.assign_colours(rows)


def company_scale(domain, labels: dict[str, str] | None = None) -> alt.Scale:
    """A colour scale pinned to the companies shown, so each keeps its colour from chart to chart.

    Parameters
    ----------
    domain : sequence of str
        The values of the colour field, in legend order: tickers, universe names, layers or totals.
    labels : dict, optional
        ``{value in the chart: ticker}`` where the chart shows another label (e.g. "Amazon" → "AMZN").

    Returns
    -------
    altair.Scale
        `charts.scale_for` over the colours of `company_colors`.
    """
    return charts.scale_for(domain, company_colors(), labels)


def company_names(tickers) -> str:
    """Return 'Amazon.com, Microsoft Corporation and …' for a list of tickers."""
    names = universe().set_index("ticker").loc[list(tickers), "name"].tolist()
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _money(x: float, suffix: str, decimals: int) -> str:
    """Dollars with the sign before the symbol: -$1.4bn, not $-1.4bn."""
    return f"{'-' if x < 0 else ''}${abs(x):,.{decimals}f}{suffix}"


#: Column formats of `table`: how a number is written in a page's table (fractions as percent).
TABLE_FORMATS = {
    "percent": lambda x: f"{x:.1%}", "percent0": lambda x: f"{x:.0%}", "signed_percent": lambda x: f"{x:+.1%}",
    "points": lambda x: f"{x * 100:.1f} pts", "usd_bn": lambda x: _money(x / 1e9, "bn", 1),
    "usd_bn0": lambda x: _money(x / 1e9, "bn", 0), "usd_m": lambda x: _money(x / 1e6, "M", 0),
    "number": lambda x: f"{x:,.0f}", "number1": lambda x: f"{x:,.1f}", "number2": lambda x: f"{x:,.2f}",
    "ratio": lambda x: f"{x:,.2f}×", "year": lambda x: f"{int(x)}", "date": lambda x: f"{pd.Timestamp(x):%Y-%m-%d}",
    "text": str,
}
MISSING = "–"  # an en dash: missing is shown as missing, with the reason beside it


def _cell_formatter(series: pd.Series, fmt):
    if callable(fmt):
        return fmt
    if fmt is not None:
        if fmt not in TABLE_FORMATS:
            raise ValueError(f"unknown table format {fmt!r}; known: {', '.join(TABLE_FORMATS)}")
        return TABLE_FORMATS[fmt]
    if pd.api.types.is_bool_dtype(series):
        return lambda x: "yes" if x else "no"
    if pd.api.types.is_datetime64_any_dtype(series):
        return TABLE_FORMATS["date"]
    if pd.api.types.is_numeric_dtype(series):
        values = series.dropna()
        whole = values.empty or bool((values == values.round()).all())
        if whole and ("year" in str(series.name).lower() or values.between(1900, 2100).all() and len(values)):
            return TABLE_FORMATS["year"]
        return TABLE_FORMATS["number"] if whole else TABLE_FORMATS["number2"]
    return lambda x: "yes" if x is True else "no" if x is False else str(x)


def format_table(frame: pd.DataFrame, formats: dict | None = None) -> pd.DataFrame:
    """The cells of ``frame`` as the book writes them: units and precision per column, missing as an en dash.

    Parameters
    ----------
    frame : pandas.DataFrame
    formats : dict, optional
        ``{column: format}``, a `TABLE_FORMATS` name (``"percent"``, ``"usd_bn"``, ``"year"``…) or a
        callable. Other columns: dates as ISO, booleans as yes/no, whole numbers with thousands
        separators (years without), other numbers with two decimals.

    Returns
    -------
    pandas.DataFrame
        Text cells only.
    """
    formats = formats or {}
    unknown = set(formats) - set(frame.columns)
    if unknown:
        raise ValueError(f"formats for columns not in the table: {sorted(unknown)}")
    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        fmt = _cell_formatter(frame[col], formats.get(col))
        out[col] = [MISSING if (x is None or x is pd.NA or x is pd.NaT or (isinstance(x, float) and x != x))
                    else fmt(x) for x in frame[col]]
    return out


def table(frame: pd.DataFrame, formats: dict | None = None, *, caption: str = "", escape: bool = True,
          classes: str = ""):
    """A table for a page: formatted cells (`format_table`), no index, in a box that scrolls on its own.

    ``escape=False`` keeps HTML in cells (links); ``classes`` are added to the ``<table>`` (page CSS);
    dates are kept on one line. Returns an object the notebook displays as HTML.
    """
    from IPython.display import HTML

    text = format_table(frame, formats)
    styler = text.style.hide(axis="index").format(escape="html" if escape else None)
    dates = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c]) or formats and formats.get(c) == "date"]
    if dates:
        styler = styler.set_properties(subset=dates, **{"white-space": "nowrap"})
    if classes:
        styler = styler.set_table_attributes(f'class="{html.escape(classes)}"')
    if caption:
        styler = styler.set_caption(html.escape(caption))
    return HTML(f'<div class="vc-table-wrap">{styler.to_html()}</div>')


def show_markdown(text: str):
    """Display Markdown computed in a cell (verdicts, computed sentences)."""
    from IPython.display import Markdown, display

    display(Markdown(text))


def publish_snapshot_tables() -> pd.DataFrame:
    """Copy the snapshot's tables into the book's static data folder and describe each for the data page."""
    STATIC_DATA.mkdir(parents=True, exist_ok=True)
    m = manifest()
    rows = []
    folder = snapshot_dir()
    for name, info in m["tables"].items():
        target = STATIC_DATA / "snapshot" / info["file"]
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(folder / info["file"], target)
        rows.append({"table": name, "file": info["file"], "rows": info["rows"], "sha256": info["sha256"][:12],
                     "link": f"../_static/data/snapshot/{info['file']}"})
    return pd.DataFrame(rows)


def publish_frame(frame: pd.DataFrame, filename: str) -> str:
    """Write a table a page shows into the book's static data folder; return its link from a page."""
    STATIC_DATA.mkdir(parents=True, exist_ok=True)
    frame.to_csv(STATIC_DATA / filename, index=False, lineterminator="\n")
    return f"../_static/data/{filename}"


def publish_file(path) -> str:
    """Copy one data file into the book's static data folder; return its link from a page."""
    path = Path(path)
    STATIC_DATA.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, STATIC_DATA / path.name)
    return f"../_static/data/{path.name}"
