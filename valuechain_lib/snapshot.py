"""Build, validate, write and load the committed snapshot in ``data/snapshot/``.

The snapshot is derived from raw public files with the project's own code (`build_snapshot`),
written to a new folder beside the old one, validated, and only then swapped in
(`write_snapshot`): a failure at any step leaves the previous snapshot as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from . import __version__
from .crosschecks import run_all
from .errors import SnapshotError
from .paths import data_dir
from .quarters import TIDY_COLUMNS, tidy_periods
from .sec import read_company, source_files
from .standardize import (
    REPORTED_COLUMNS,
    RESTATEMENT_COLUMNS,
    VINTAGE_COLUMNS,
    canonical_metrics,
    latest_filed,
    mapped_facts,
    place_in_calendar,
    tag_map,
    vintages,
)
from .universe import universe

SNAPSHOT_FOLDER = "snapshot"
FIRST_FISCAL_YEAR = 2015
TABLE_FILES = {
    "financials": "financials.csv",
    "facts_reported": "facts_reported.csv",
    "restatements": "restatements.csv",
    "crosschecks": "crosschecks.csv",
    "prices": "prices.csv",
    "price_diagnostics": "price_diagnostics.csv",
    "vintages": "vintages.csv",
}
DATE_COLUMNS = {
    "financials": ["period_start", "period_end", "filed"],
    "facts_reported": ["period_start", "period_end", "filed"],
    "restatements": ["period_start", "period_end", "old_filed", "new_filed"],
    "crosschecks": ["period_end"],
    "prices": ["date"],
    "vintages": ["start", "end", "filed"],
}


def snapshot_dir(base: Path | None = None) -> Path:
    """Return the folder of the committed snapshot (``data/snapshot``)."""
    return Path(base or data_dir()) / SNAPSHOT_FOLDER


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _ifrs_only_tags() -> set[str]:
    tags = tag_map()
    return set(tags.loc[tags["taxonomy"] == "ifrs-full", "tag"]) - set(tags.loc[tags["taxonomy"] == "us-gaap", "tag"])


class FinancialTables(NamedTuple):
    """What `build_financials` derives from the raw SEC files."""

    tidy: pd.DataFrame
    reported: pd.DataFrame
    restatements: pd.DataFrame
    vintages: pd.DataFrame
    files: list


def build_financials(raw_dir: Path, companies: pd.DataFrame, progress=None) -> FinancialTables:
    """Read and standardize every company with SEC data.

    ``progress`` is an optional callable taking the ticker being read.
    """
    reported, restatements, history, files = [], [], [], []
    ifrs_only = _ifrs_only_tags()
    for _, company in companies[companies["sec_source"].notna()].iterrows():
        if progress:
            progress(company["ticker"])
        raw = read_company(raw_dir / "sec", company["ticker"], company["cik"], company["sec_source"], ifrs_only)
        facts = mapped_facts(raw, company)
        history.append(vintages(facts))
        kept, rst = latest_filed(facts)
        reported.append(place_in_calendar(kept, company))
        restatements.append(rst)
        for path in source_files(raw_dir / "sec", company["ticker"], company["sec_source"]):
            files.append({"ticker": company["ticker"], "path": path})
    reported = pd.concat(reported, ignore_index=True)
    reported = reported[reported["fiscal_year"] >= FIRST_FISCAL_YEAR].reset_index(drop=True)
    restatements = pd.concat(restatements, ignore_index=True)
    restatements = restatements[restatements["period_end"] >= f"{FIRST_FISCAL_YEAR - 1}-01-01"]
    history = pd.concat(history, ignore_index=True)
    history = history[history["end"] >= f"{FIRST_FISCAL_YEAR - 1}-01-01"].reset_index(drop=True)
    tidy = tidy_periods(reported, canonical_metrics())
    return FinancialTables(tidy, reported, restatements.reset_index(drop=True), history, files)


def _retrieval_date(path: Path) -> str | None:
    """The ``fetched`` date a saved companyfacts wrapper carries, if any."""
    if not path.name.endswith(".companyfacts.json"):
        return None
    with open(path, encoding="utf-8") as handle:
        head = handle.read(400)
    marker = '"fetched":'
    if marker in head:
        return head.split(marker, 1)[1].split('"')[1]
    return None


def build_snapshot(raw_dir, progress=None) -> dict[str, pd.DataFrame | dict]:
    """Derive every snapshot table from the raw public files under ``raw_dir``.

    Parameters
    ----------
    raw_dir : str or Path
        A folder laid out as ``../shared/data`` (``sec/``, ``prices/``).

    Returns
    -------
    dict
        Table name → DataFrame (see `TABLE_FILES`), plus ``manifest``.
    """
    from .prices import build_prices

    raw_dir = Path(raw_dir)
    if not (raw_dir / "sec").is_dir():
        raise SnapshotError(f"no raw SEC folder at {raw_dir / 'sec'}; pass --from <folder holding sec/ and prices/>")
    companies = universe()
    built = build_financials(raw_dir, companies, progress)
    checks = run_all(built.reported, built.tidy, built.restatements)
    price_table, diagnostics = build_prices(raw_dir / "prices")
    tables = {
        "financials": built.tidy, "facts_reported": built.reported, "restatements": built.restatements,
        "crosschecks": checks, "prices": price_table, "price_diagnostics": diagnostics, "vintages": built.vintages,
    }
    tables["manifest"] = _manifest(raw_dir, companies, tables, built.files)
    return tables


def _manifest(raw_dir: Path, companies: pd.DataFrame, tables: dict, files: list[dict]) -> dict:
    tidy, reported = tables["financials"], tables["facts_reported"]
    sources = []
    for item in files:
        path = item["path"]
        sources.append({
            "ticker": item["ticker"], "path": str(path.relative_to(raw_dir)), "bytes": path.stat().st_size,
            "sha256": _sha256(path), "retrieved": _retrieval_date(path),
        })
    for path in sorted((raw_dir / "prices").rglob("*.csv")):
        sources.append({"ticker": None, "path": str(path.relative_to(raw_dir)), "bytes": path.stat().st_size,
                        "sha256": _sha256(path), "retrieved": None})
    per_company = {}
    quarters = tidy[(tidy["freq"] == "Q") & tidy["value"].notna()]
    for ticker, group in reported.groupby("ticker"):
        latest = quarters[quarters["ticker"] == ticker].sort_values("period_end").iloc[-1]
        per_company[ticker] = {
            "source": group["source"].iloc[0].split(" (")[0] if "flujo" not in group["source"].iloc[0]
            else group["source"].iloc[0],
            "accessions": sorted(group["accession"].dropna().unique().tolist()),
            "latest_period_end": f"{latest['period_end']:%Y-%m-%d}",
            "latest_fiscal_period": f"FY{int(latest['fiscal_year'])} {latest['fiscal_period']}",
            "latest_filed": f"{group['filed'].max():%Y-%m-%d}",
            "unit": group["unit"].iloc[0],
            "cik": _cik_of(companies, ticker),
        }
    prices = tables["prices"]
    checks = tables["crosschecks"]
    return {
        "built_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "library_version": __version__,
        "first_fiscal_year": FIRST_FISCAL_YEAR,
        "sources": sources,
        "companies": per_company,
        "prices_last_date": {t: f"{d:%Y-%m-%d}" for t, d in prices.groupby("ticker")["date"].max().items()},
        "companies_without_sec_data": sorted(set(companies["ticker"]) - set(per_company)),
        "crosschecks": {
            "compared": int(len(checks)), "matched": int(checks["match"].sum()),
            "explained": int((~checks["match"] & (checks["reason"] != "unexplained")).sum()),
            "unexplained": int((checks["reason"] == "unexplained").sum()),
        },
        "restatements": int(len(tables["restatements"])),
    }


def _cik_of(companies: pd.DataFrame, ticker: str) -> int | None:
    """The CIK the universe gave a company when its filings were read (None without one)."""
    cik = companies.set_index("ticker")["cik"].get(ticker)
    return None if cik is None or pd.isna(cik) else int(cik)


def validate(tables: dict, previous: dict | None = None) -> None:
    """Refuse a snapshot with a broken schema, duplicate periods, values missing without a reason,
    or (against ``previous``) a company or metric that vanished.

    Raises
    ------
    SnapshotError
        Naming the table, company and field at fault.
    """
    tidy = tables["financials"]
    missing_cols = [c for c in TIDY_COLUMNS if c not in tidy.columns]
    if missing_cols:
        raise SnapshotError(f"financials: missing column(s) {missing_cols}")
    missing_cols = [c for c in REPORTED_COLUMNS if c not in tables["facts_reported"].columns]
    if missing_cols:
        raise SnapshotError(f"facts_reported: missing column(s) {missing_cols}")
    if list(tables["restatements"].columns) != RESTATEMENT_COLUMNS:
        raise SnapshotError("restatements: unexpected columns")
    if list(tables["vintages"].columns) != VINTAGE_COLUMNS:
        raise SnapshotError("vintages: unexpected columns")
    dup = tidy.duplicated(["ticker", "metric", "freq", "fiscal_year", "fiscal_period"])
    if dup.any():
        row = tidy[dup].iloc[0]
        raise SnapshotError(
            f"financials: duplicate period {row['ticker']} {row['metric']} {row['freq']} "
            f"FY{row['fiscal_year']} {row['fiscal_period']}")
    silent = tidy["value"].isna() & tidy["missing_reason"].isna()
    if silent.any():
        row = tidy[silent].iloc[0]
        raise SnapshotError(f"financials: {row['ticker']} {row['metric']} FY{row['fiscal_year']} "
                            f"{row['fiscal_period']} is missing without a reason")
    if previous is not None:
        old = previous["financials"]
        lost = sorted(set(old["ticker"]) - set(tidy["ticker"]))
        if lost:
            raise SnapshotError(f"financials: companies lost since the previous snapshot: {lost}")
        had = set(map(tuple, old.loc[old["value"].notna(), ["ticker", "metric"]].drop_duplicates().to_numpy()))
        has = set(map(tuple, tidy.loc[tidy["value"].notna(), ["ticker", "metric"]].drop_duplicates().to_numpy()))
        vanished = sorted(had - has)
        if vanished:
            raise SnapshotError(f"financials: metrics that had values and now have none: {vanished}")
        old_prices, new_prices = previous["prices"], tables["prices"]
        lost = sorted(set(old_prices["ticker"]) - set(new_prices["ticker"]))
        if lost:
            raise SnapshotError(f"prices: tickers lost since the previous snapshot: {lost}")


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, date_format="%Y-%m-%d", float_format="%.15g", lineterminator="\n")


def write_snapshot(tables: dict, base: Path | None = None, extra_files: dict[str, str] | None = None) -> Path:
    """Validate ``tables`` and swap them in as the snapshot, atomically.

    The tables are written to a temporary folder beside ``data/snapshot``, re-read, validated
    against the current snapshot, then renamed into place. Until the final rename, the previous
    snapshot is untouched; if the process dies between the two renames, `load_table` still finds
    the previous snapshot under ``snapshot.previous``.

    ``extra_files`` (file name → text, e.g. a refresh's ``edition_diff.json``) are written into the
    same folder and swapped in with the tables; their checksums go in the manifest.
    """
    target = snapshot_dir(base)
    target.parent.mkdir(parents=True, exist_ok=True)
    previous = _previous_tables(target) if (target / "manifest.json").exists() else None
    validate(tables, previous)
    staging = Path(tempfile.mkdtemp(prefix=".snapshot-new-", dir=target.parent))
    try:
        manifest = dict(tables["manifest"])
        manifest["tables"] = {}
        for name, filename in TABLE_FILES.items():
            _write_table(tables[name], staging / filename)
            manifest["tables"][name] = {"file": filename, "rows": int(len(tables[name])),
                                        "sha256": _sha256(staging / filename)}
        for filename, text in (extra_files or {}).items():
            if filename in TABLE_FILES.values() or filename == "manifest.json" or Path(filename).name != filename:
                raise SnapshotError(f"extra snapshot file {filename!r} would clash with a table or leave the folder")
            with open(staging / filename, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            manifest.setdefault("extra_files", {})[filename] = _sha256(staging / filename)
        with open(staging / "manifest.json", "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=1, sort_keys=False)
            handle.write("\n")
        for handle_path in staging.iterdir():  # flush to disk before the swap
            fd = os.open(handle_path, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
        reread = {name: _read_table(staging / TABLE_FILES[name], name) for name in ("financials", "prices")}
        validate({**tables, **reread}, previous)
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    load_table.cache_clear()
    return target


def _previous_tables(target: Path) -> dict | None:
    """The current snapshot's tables a new one is compared with, read without the checksum check: this
    command is how an edited or damaged snapshot is rebuilt. None when they cannot be read at all."""
    try:
        return {name: _read_table(target / TABLE_FILES[name], name) for name in ("financials", "prices")}
    except (OSError, ValueError, KeyError, SnapshotError):
        return None


def _swap_in(staging: Path, target: Path) -> None:
    backup = target.with_name(target.name + ".previous")
    if backup.exists():
        shutil.rmtree(backup)
    if target.exists():
        os.rename(target, backup)
    os.rename(staging, target)
    shutil.rmtree(backup, ignore_errors=True)


def _read_table(path: Path, name: str) -> pd.DataFrame:
    dtypes = {"accession": "string", "tag": "string", "form": "string", "source": "string",
              "missing_reason": "string", "derivation": "string", "unit": "string", "taxonomy": "string"}
    if name == "prices":
        from .prices import read_prices_csv
        return read_prices_csv(path)
    frame = pd.read_csv(path, dtype=dtypes, low_memory=False, float_precision="round_trip")
    for col in DATE_COLUMNS.get(name, []):
        if col in frame:
            frame[col] = pd.to_datetime(frame[col], format="%Y-%m-%d")
    for col in ("calendar_year", "calendar_quarter", "fiscal_quarter"):
        if col in frame:
            frame[col] = frame[col].astype("Int64")
    return frame


@lru_cache(maxsize=32)
def _load_cached(folder: str, name: str, stamp: tuple) -> pd.DataFrame:
    # ``stamp`` (the file's mtime and size) keys the cache, so a table rewritten on disk is read again.
    return _read_table(Path(folder) / TABLE_FILES[name], name)


def _live_folder(base: Path | None) -> Path:
    target = snapshot_dir(base)
    if (target / "manifest.json").exists():
        return target
    backup = target.with_name(target.name + ".previous")
    if (backup / "manifest.json").exists():  # a swap was interrupted between its two renames
        return backup
    raise SnapshotError(
        f"no snapshot at {target}: run `python -m valuechain_lib snapshot --from ../shared/data` "
        "(developers) or `python -m valuechain_lib refresh` (live data)")


# --- integrity: every table file must match the sha256 the manifest recorded when it was written ---------

_REPO_ROOT = Path(__file__).resolve().parent.parent
# (file, mtime_ns, size, expected sha256) of table files already checked in this process: hashing
# the 13 MB of tables costs tens of milliseconds, which every page's kernel would otherwise pay per load.
_verified: set[tuple] = set()
_manifests: dict[str, tuple[tuple, dict]] = {}


def _shown(path: Path) -> str:
    """``data/snapshot/financials.csv`` inside the repository, the full path elsewhere (a copy, a test)."""
    path = Path(os.path.abspath(path))
    try:
        return path.relative_to(_REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def _remedy(folder: Path) -> str:
    rebuild = "rebuild it with `python -m valuechain_lib snapshot --from ../shared/data` (or `refresh`)"
    shown = _shown(folder)
    if Path(shown).is_absolute():  # a copy outside the repository: git cannot restore it
        return rebuild
    return f"{rebuild}, or restore it with `git checkout {shown}`"


def _stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_mtime_ns, info.st_size


def _read_manifest(folder: Path) -> dict:
    path = folder / "manifest.json"
    try:
        with open(path, encoding="utf-8") as handle:
            parsed = json.load(handle)
    except json.JSONDecodeError as exc:
        raise SnapshotError(
            f"{_shown(path)} is not valid JSON ({exc.msg}: line {exc.lineno}, column {exc.colno}; truncated "
            f"or edited by hand?); {_remedy(folder)}") from None
    except UnicodeDecodeError:
        raise SnapshotError(f"{_shown(path)} is not UTF-8 text (damaged?); {_remedy(folder)}") from None
    if not isinstance(parsed, dict):
        raise SnapshotError(f"{_shown(path)} holds a JSON {type(parsed).__name__}, not an object; {_remedy(folder)}")
    return parsed


def _manifest_cached(folder: Path) -> dict:
    path = folder / "manifest.json"
    stamp = _stamp(path)
    cached = _manifests.get(str(path))
    if cached is None or cached[0] != stamp:
        cached = (stamp, _read_manifest(folder))
        _manifests[str(path)] = cached
    return cached[1]


def _expected_sha256(folder: Path, name: str) -> str:
    """The checksum the manifest recorded for table ``name``; a manifest without one is refused."""
    listed = _manifest_cached(folder).get("tables")
    entry = listed.get(name) if isinstance(listed, dict) else None
    expected = entry.get("sha256") if isinstance(entry, dict) else None
    if not isinstance(expected, str) or (entry.get("file") not in (None, TABLE_FILES[name])):
        raise SnapshotError(
            f"{_shown(folder / 'manifest.json')} lists no sha256 for {TABLE_FILES[name]} (edited by hand?); "
            f"{_remedy(folder)}")
    return expected


def verify_table(name: str, base: Path | None = None) -> Path:
    """Check one table file against the sha256 in the snapshot's manifest (once per file version).

    Parameters
    ----------
    name : str
        A table of `TABLE_FILES`.
    base : Path, optional
        The data folder (default `valuechain_lib.paths.data_dir`).

    Returns
    -------
    Path
        The verified file.

    Raises
    ------
    SnapshotError
        One line naming the file: missing, or different from what the manifest recorded, with how to
        rebuild or restore it; or naming ``manifest.json`` when it is unreadable or lists no checksum.
    """
    if name not in TABLE_FILES:
        raise SnapshotError(f"unknown snapshot table {name!r}; known: {', '.join(TABLE_FILES)}")
    folder = _live_folder(base)
    path = folder / TABLE_FILES[name]
    expected = _expected_sha256(folder, name)
    try:
        key = (str(path), *_stamp(path), expected)
    except FileNotFoundError:
        raise SnapshotError(
            f"{_shown(path)} is missing (listed in {_shown(folder / 'manifest.json')}); {_remedy(folder)}") from None
    if key not in _verified:
        if _sha256(path) != expected:
            raise SnapshotError(
                f"{_shown(path)} does not match the sha256 in {_shown(folder / 'manifest.json')} "
                f"(edited by hand?); {_remedy(folder)}")
        _verified.add(key)
    return path


def verify_snapshot(base: Path | None = None) -> list[Path]:
    """Check every table file of the snapshot against its manifest (see `verify_table`).

    Returns
    -------
    list of Path
        The verified files, in `TABLE_FILES` order.

    Raises
    ------
    SnapshotError
        At the first file that is missing or differs, or an unreadable manifest: one line naming it.
    """
    return [verify_table(name, base) for name in TABLE_FILES]


def load_table(name: str, base: Path | None = None) -> pd.DataFrame:
    """Load one snapshot table by name (see `TABLE_FILES`); verified, cached, returned as a copy.

    Raises
    ------
    SnapshotError
        When the file differs from the sha256 in the manifest, is missing, or the manifest is unreadable
        (see `verify_table`).
    """
    path = verify_table(name, base)
    return _load_cached(str(path.parent), name, _stamp(path)).copy()


def _clear_caches() -> None:
    _load_cached.cache_clear()
    _verified.clear()
    _manifests.clear()


load_table.cache_clear = _clear_caches


def manifest(base: Path | None = None) -> dict:
    """Return the snapshot's manifest (sources with checksums, accessions, row counts, latest periods).

    Raises
    ------
    SnapshotError
        One line naming ``manifest.json`` when it is truncated or not valid JSON.
    """
    return _read_manifest(_live_folder(base))
