"""Helpers the book's pages share: snapshot dates, source lines, verdicts, dataset downloads, the build."""

from __future__ import annotations

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


def inputs_digest() -> str:
    """Digest of everything a page's outputs depend on besides its own text: data and library code.

    The execution cache keys on each notebook's text only, so a refreshed snapshot or a changed
    library would otherwise leave stale figures and verdicts in cached pages.
    """
    import hashlib

    digest = hashlib.sha256()
    files = sorted([*(REPO_ROOT / "data").rglob("*.csv"), *(REPO_ROOT / "data").rglob("*.json"),
                    *PACKAGE_DIR.rglob("*.py"), *PACKAGE_DIR.rglob("*.csv")])
    for path in files:
        digest.update(str(path.relative_to(REPO_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def build(extra_args=()) -> int:
    """Build the HTML book from the committed snapshot: execution cache on, any warning fails.

    Runs ``jupyter-book build . -W -n --keep-going`` in the repository root, after emptying the
    execution cache if the data or the library changed since the last build.
    """
    stamp = inputs_digest()
    if CACHE_DIR.exists() and (not INPUTS_STAMP.exists() or INPUTS_STAMP.read_text() != stamp):
        print("data or library changed since the last build: re-executing every page")
        # Sphinx re-reads only changed sources, so its saved environment goes too, or unchanged pages
        # would keep their old outputs.
        for folder in (CACHE_DIR, DOCTREES_DIR):
            shutil.rmtree(folder, ignore_errors=True)
    cmd = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build", str(REPO_ROOT),
           "--builder", "html",
           "-W", "-n", "--keep-going", *extra_args]
    env = dict(os.environ, PYDEVD_DISABLE_FILE_VALIDATION="1")
    result = subprocess.run(cmd, cwd=REPO_ROOT, env=env, check=False)
    if result.returncode == 0:
        INPUTS_STAMP.write_text(stamp)
        print(f"book built: open {BUILD_DIR / 'html' / 'index.html'}")
    return result.returncode
