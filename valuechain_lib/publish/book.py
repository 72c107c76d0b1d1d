"""Helpers the book's pages share: snapshot dates, source lines, verdicts, dataset downloads, the build."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import altair as alt
import pandas as pd

from valuechain_lib.paths import PACKAGE_DIR, data_dir
from valuechain_lib.publish import charts
from valuechain_lib.snapshot.financials import financials
from valuechain_lib.snapshot.store import load_table, manifest, snapshot_dir, verify_snapshot
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


CACHE_DIR = BUILD_DIR / ".jupyter_cache"
DOCTREES_DIR = BUILD_DIR / ".doctrees"
PRESENTATION_STAMP = BUILD_DIR / "presentation.sha256"


def _digest(files) -> str:
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(str(path.relative_to(REPO_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def presentation_digest() -> str:
    """Digest of what shapes every page but no cell's output: configuration, templates, extensions,
    the book's own scripts and styles (Sphinx writes nothing when no page source changed, so a changed
    stylesheet alone would never reach the HTML)."""
    book_dir = REPO_ROOT / "book"
    return _digest([REPO_ROOT / "_config.yml", REPO_ROOT / "_toc.yml", *(book_dir / "_templates").rglob("*.html"),
                    *(book_dir / "_ext").rglob("*.py"), *(book_dir / "_static").glob("*.css"),
                    *(book_dir / "_static").glob("*.js"), *(book_dir / "_static" / "vega").glob("*")])


def _stale(stamp_path: Path, stamp: str) -> bool:
    return not stamp_path.exists() or stamp_path.read_text() != stamp


def build_environment(base: dict | None = None) -> dict[str, str]:
    """The environment of the build and of every page's kernel (kernels inherit it).

    The repository being built comes first on ``PYTHONPATH`` and its ``data/`` is ``VALUECHAIN_DATA``,
    so the pages run this clone's library on this clone's snapshot, whichever clone was installed
    with ``pip install -e`` (an editable install's finder comes after ``PYTHONPATH`` on the path).

    Parameters
    ----------
    base : dict, optional
        The environment to start from (default ``os.environ``).

    Returns
    -------
    dict
        A copy of ``base`` with ``PYTHONPATH``, ``VALUECHAIN_DATA`` and ``PYDEVD_DISABLE_FILE_VALIDATION`` set.
    """
    env = dict(os.environ if base is None else base)
    others = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and Path(p).resolve() != REPO_ROOT]
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *others])
    env["VALUECHAIN_DATA"] = str(REPO_ROOT / "data")
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


REPORTS_DIR = BUILD_DIR / "html" / "reports"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_IPYTHON_HEADER = re.compile(r"^(?P<ename>\S+)\s+Traceback \(most recent call last\)")
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_]\w*\.)*(?P<ename>[A-Z]\w*): (?P<message>\S.*)$")
_SPHINX_PROBLEM = re.compile(
    r"^(?:(?P<where>\S[^\n]*?): )?(?P<level>WARNING|ERROR|CRITICAL|SEVERE): (?P<message>.*)$")
_SUMMARY_WIDTH = 400


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SUMMARY_WIDTH else text[:_SUMMARY_WIDTH - 1] + "…"


def exception_of_report(text: str) -> tuple[str, str]:
    """The exception a failed page raised, from myst-nb's ``<page>.err.log`` traceback.

    Parameters
    ----------
    text : str
        The report: nbclient's error, which holds the cell's IPython traceback (with colour codes).

    Returns
    -------
    tuple of str
        ``(exception name, first line of its message)``, e.g. ``("SnapshotError", "data/snapshot/…")``;
        a timed-out cell gives ``("CellTimeoutError", …)``.
    """
    lines = [line.rstrip() for line in _ANSI.sub("", text).splitlines()]
    header = [m.group("ename") for line in lines if (m := _IPYTHON_HEADER.match(line))]
    if header:
        ename = header[-1].rsplit(".", 1)[-1]
        for line in reversed(lines):
            if line.startswith(f"{header[-1]}: ") or line.startswith(f"{ename}: "):
                return ename, line.split(": ", 1)[1]
            if line == header[-1] or line == ename:  # raised without a message
                return ename, ""
    for line in reversed(lines):
        match = _EXCEPTION_LINE.match(line)
        if match:
            return match.group("ename"), match.group("message")
    last = next((line for line in reversed(lines) if line.strip()), "")
    return "error", last.strip()


def _source_of(docname: str, root: Path) -> str:
    for suffix in (".md", ".ipynb"):
        if (root / f"{docname}{suffix}").is_file():
            return f"{docname}{suffix}"
    return docname


def _page_of(where: str, root: Path) -> str:
    """``/clone/chapters/x.md:12`` → ``chapters/x.md``; a problem not tied to a page → ``(build)``."""
    path = where.rsplit(":", 1)[0] if re.search(r":\d+$", where) else where
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except (ValueError, OSError):
        return "(build)"


def build_failures(log: str, reports_dir: Path = REPORTS_DIR, root: Path = REPO_ROOT) -> list[str]:
    """One line per page that failed: the page, its exception and message, or its first warning.

    Parameters
    ----------
    log : str
        What the build printed.
    reports_dir : Path
        myst-nb's folder of failed notebooks' tracebacks (``<page>.err.log``), emptied before the build.
    root : Path
        The repository built (page paths are shown relative to it).

    Returns
    -------
    list of str
        ``"chapters/x.md: SnapshotError: data/snapshot/financials.csv does not match …"`` for a page whose
        notebook raised, ``"book/y.md:12: WARNING: … (and 2 more)"`` for a page with other problems, in
        page order; empty when nothing failed.
    """
    failed: dict[str, str] = {}
    if reports_dir.is_dir():
        for report in sorted(reports_dir.rglob("*.err.log")):
            docname = report.relative_to(reports_dir).as_posix()[: -len(".err.log")]
            ename, message = exception_of_report(report.read_text(encoding="utf-8", errors="replace"))
            failed[_source_of(docname, root)] = _one_line(f"{ename}: {message}" if message else ename)
    plain = _ANSI.sub("", log)
    # With ``nb_execution_raise_on_error`` the build stops at the first failing page and saves no report:
    # its traceback is in the log, between myst-nb's warning and the ExecutionError naming the page.
    for stopped in re.finditer(r"^myst_nb\.core\.execute\.base\.ExecutionError: (?P<path>.+)$", plain, re.M):
        page = _page_of(stopped.group("path").strip(), root)
        began = plain.rfind(f"{stopped.group('path').strip()}: WARNING: Executing notebook failed", 0, stopped.start())
        ename, message = exception_of_report(plain[max(began, 0):stopped.start()])
        failed.setdefault(page, _one_line(f"{ename}: {message}" if message else ename))
    problems: dict[str, list[str]] = {}
    for line in plain.splitlines():
        match = _SPHINX_PROBLEM.match(line.strip())
        if not match or match.group("message").startswith(
                ("Executing notebook failed", "Notebook exception traceback saved in")):
            continue  # the report of a failed notebook says more
        where = match.group("where") or ""
        page = _page_of(where, root) if where else "(build)"
        if page in failed:
            continue
        row = re.search(r":(\d+)$", where)
        located = page if page == "(build)" or not row else f"{page}:{row.group(1)}"
        problems.setdefault(page, []).append(f"{located}: {match.group('level')}: {match.group('message')}")
    lines = [f"{page}: {text}" for page, text in failed.items()]
    for found in problems.values():
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        lines.append(_one_line(found[0]) + more)
    return sorted(lines, key=lambda line: (line.startswith("(build)"), line))


def failure_summary(code: int, log: str, reports_dir: Path = REPORTS_DIR, root: Path = REPO_ROOT) -> list[str]:
    """The last lines a failed build prints: a header, then `build_failures`' line per failing page.

    Parameters
    ----------
    code : int
        jupyter-book's return code.
    log, reports_dir, root
        As in `build_failures`.

    Returns
    -------
    list of str
    """
    failures = build_failures(log, reports_dir, root)
    header = f"book NOT built (jupyter-book returned {code})"
    if "myst_nb.core.execute.base.ExecutionError" in log:
        header += ("; it stopped at the first failing page (nb_execution_raise_on_error: true in _config.yml), "
                   "later pages were not run:")
    elif failures:
        header += f"; {len(failures)} failing page{'s' if len(failures) > 1 else ''}, tracebacks above and in " \
                  f"{_shown_path(reports_dir, root)}/:"
    else:
        header += ": see the log above"
    return [header, *(f"  {line}" for line in failures)]


def _shown_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _run_teed(cmd: list[str], env: dict, pass_fds=()) -> tuple[int, str]:
    """Run ``cmd``, printing its output as it comes, and return its code and output."""
    seen = []
    with subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, encoding="utf-8", errors="replace", bufsize=1, pass_fds=pass_fds) as process:
        for line in process.stdout:
            sys.stdout.write(line)
            seen.append(line)
        sys.stdout.flush()
    return process.returncode, "".join(seen)


def _early_pool(env: dict):
    """The notebook pool (book/_ext/vc_pool.py), started now so that its preload (pandas, Altair, the
    kernel machinery; about 2.5 s) runs while Jupyter Book starts; the build's ``vc_execute`` extension
    takes it over. None when the pool is turned off (``VALUECHAIN_BUILD_WORKERS=0``)."""
    import importlib.util

    ext = REPO_ROOT / "book" / "_ext"
    if not (ext / "vc_execute.py").is_file():
        return None
    sys.path.insert(0, str(ext))
    try:
        spec = importlib.util.spec_from_file_location("vc_execute", ext / "vc_execute.py")
        vc_execute = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(vc_execute)
    finally:
        sys.path.remove(str(ext))
    count = vc_execute.workers()
    if not count or not vc_execute.may_run_pages(REPO_ROOT, CACHE_DIR):
        return None  # nothing looks stale: the extension starts a pool itself if a page must run after all
    return vc_execute.vc_pool.Pool(count, env=env, cwd=REPO_ROOT, vega_service=True)


def build_jobs() -> int:
    """Sphinx's parallel processes: ``$VALUECHAIN_BUILD_JOBS``, else the machine's cores (at most 4)."""
    chosen = os.environ.get("VALUECHAIN_BUILD_JOBS", "").strip()
    return max(1, int(chosen)) if chosen else max(1, min(os.cpu_count() or 1, 4))


def build(extra_args=()) -> int:
    """Build the HTML book from the committed snapshot: execution cache on, any warning fails.

    Checks every snapshot table against its manifest's sha256, then runs ``jupyter-book build . -W -n
    --keep-going`` in the repository root with `build_environment` (pages run this repository's
    library and data) and Sphinx reading and writing pages in `build_jobs` processes. The book's
    ``vc_execute`` extension runs the notebooks whose outputs are stale -- their code, or a data file,
    manifest key or library module they read, changed -- in a pool of warm worker processes before
    Sphinx reads them, so a changed table re-runs only the pages that read it. Sphinx's saved
    environment is emptied if the configuration, templates or styles changed (every page is then
    rewritten from the cached executions). The full log is printed as it comes; when the build fails,
    its last lines name every failing page (`build_failures`).

    Returns
    -------
    int
        0 when the book was built, else non-zero.

    Raises
    ------
    SnapshotError
        An edited, missing or unreadable snapshot file, in one line naming it (nothing is built).
    """
    env = build_environment()
    pool = _early_pool(env)  # first: its preload runs while the snapshot is checked and Jupyter Book starts
    try:
        verify_snapshot(REPO_ROOT / "data")
    except BaseException:
        if pool is not None:
            pool.close(terminate=True)
        raise
    chosen = os.environ.get("VALUECHAIN_DATA")
    if chosen and Path(chosen).resolve() != (REPO_ROOT / "data").resolve():
        print(f"note: the book is built from {REPO_ROOT / 'data'}; VALUECHAIN_DATA={chosen} is ignored")
    look = presentation_digest()
    # Stale outputs are found page by page (book/_ext/vc_execute.py, from the inputs each page read), so a
    # change to the data or the library no longer empties the whole execution cache.
    if DOCTREES_DIR.exists() and _stale(PRESENTATION_STAMP, look):
        print("configuration, templates or styles changed since the last build: rewriting every page")
        shutil.rmtree(DOCTREES_DIR, ignore_errors=True)
    shutil.rmtree(REPORTS_DIR, ignore_errors=True)  # only this build's failures are reported
    # The Jupyter Book CLI has no -j: its build_sphinx is given the jobs.
    # Once Jupyter Book is done, its process ends at once: freeing the whole Sphinx environment object by
    # object at interpreter exit takes over a second, on the build's critical path.
    launcher = ("import functools, os, sys, jupyter_book.sphinx as jbs; from jupyter_book.cli.main import main\n"
                "jbs.build_sphinx = functools.partial(jbs.build_sphinx, jobs=int(sys.argv.pop(1)))\n"
                "try:\n    main()\nexcept SystemExit as end:\n    code = end.code\nelse:\n    code = 0\n"
                "sys.stdout.flush(); sys.stderr.flush()\n"
                "os._exit(code if isinstance(code, int) else (0 if code is None else 1))")
    cmd = [sys.executable, "-c", launcher, str(build_jobs()), "build", str(REPO_ROOT),
           "--builder", "html",
           "-W", "-n", "--keep-going", *extra_args]
    try:
        code, log = _run_teed(cmd, env, pool.handover(env) if pool else ())
    finally:
        if pool is not None:
            pool.close(terminate=True)  # the build is over: no need to wait for its preload to finish
    if code == 0:
        PRESENTATION_STAMP.write_text(look)
        print(f"book built: open {BUILD_DIR / 'html' / 'index.html'}")
        return 0
    # Sphinx would not read an unchanged failing page again: the next build must, to report it again.
    shutil.rmtree(DOCTREES_DIR, ignore_errors=True)
    print()
    print("\n".join(failure_summary(code, log)))
    return code or 1
