"""Helpers the book's pages share: snapshot dates, source lines, verdicts, dataset downloads, the build."""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from .paths import PACKAGE_DIR
from .snapshot import load_table, manifest, snapshot_dir
from .universe import universe

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


def sec_source_line(tickers, table: pd.DataFrame | None = None) -> str:
    """Return a chart source line naming the filings' form types and the companies.

    Sources other than SEC companyfacts (CoreWeave's third-party statement file) are named as
    secondary.
    """
    tickers = list(tickers)
    table = load_table("facts_reported") if table is None else table
    rows = table[table["ticker"].isin(tickers)]
    secondary = sorted(rows.loc[rows["source"].str.contains("secondary", na=False), "ticker"].unique())
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
INPUTS_STAMP = BUILD_DIR / "inputs.sha256"
PRESENTATION_STAMP = BUILD_DIR / "presentation.sha256"


def _digest(files) -> str:
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(str(path.relative_to(REPO_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def inputs_digest() -> str:
    """Digest of everything a page's outputs depend on besides its own text: data and library code.

    The execution cache keys on each notebook's text only, so a refreshed snapshot or a changed
    library would otherwise leave stale figures and verdicts in cached pages.
    """
    return _digest([*(REPO_ROOT / "data").rglob("*.csv"), *(REPO_ROOT / "data").rglob("*.json"),
                    *PACKAGE_DIR.rglob("*.py"), *PACKAGE_DIR.rglob("*.csv")])


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


def build(extra_args=()) -> int:
    """Build the HTML book from the committed snapshot: execution cache on, any warning fails.

    Runs ``jupyter-book build . -W -n --keep-going`` in the repository root, after emptying the
    execution cache if the data or the library changed since the last build, and Sphinx's saved
    environment if the configuration, templates or styles changed (every page is then rewritten from
    the cached executions).
    """
    stamp, look = inputs_digest(), presentation_digest()
    if CACHE_DIR.exists() and _stale(INPUTS_STAMP, stamp):
        print("data or library changed since the last build: re-executing every page")
        # Sphinx re-reads only changed sources, so its saved environment goes too, or unchanged pages
        # would keep their old outputs.
        for folder in (CACHE_DIR, DOCTREES_DIR):
            shutil.rmtree(folder, ignore_errors=True)
    elif DOCTREES_DIR.exists() and _stale(PRESENTATION_STAMP, look):
        print("configuration, templates or styles changed since the last build: rewriting every page")
        shutil.rmtree(DOCTREES_DIR, ignore_errors=True)
    cmd = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build", str(REPO_ROOT),
           "--builder", "html",
           "-W", "-n", "--keep-going", *extra_args]
    env = dict(os.environ, PYDEVD_DISABLE_FILE_VALIDATION="1")
    result = subprocess.run(cmd, cwd=REPO_ROOT, env=env, check=False)
    if result.returncode == 0:
        INPUTS_STAMP.write_text(stamp)
        PRESENTATION_STAMP.write_text(look)
        print(f"book built: open {BUILD_DIR / 'html' / 'index.html'}")
    return result.returncode
