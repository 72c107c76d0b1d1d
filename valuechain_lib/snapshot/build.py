"""Build the snapshot from raw public files, validate it and write it atomically beside the old one.

The snapshot is derived with the project's own code (`build_snapshot`), written to a new folder beside
the old one, validated, and only then swapped in (`write_snapshot`): a failure at any step leaves the
previous snapshot as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from valuechain_lib._version import __version__
from valuechain_lib.calc.periods import fiscal_label
from valuechain_lib.errors import SnapshotError
from valuechain_lib.snapshot.crosschecks import balance_checks, run_all
from valuechain_lib.snapshot.quarters import TIDY_COLUMNS, tidy_periods
from valuechain_lib.snapshot.standardize import (
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
from valuechain_lib.snapshot.store import (
    FIRST_FISCAL_YEAR,
    TABLE_FILES,
    _read_table,
    _sha256,
    load_table,
    snapshot_dir,
)
from valuechain_lib.snapshot.universe import universe
from valuechain_lib.sources.sec import read_company, source_files


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
    #: Financing balances as each filing gives them (`valuechain_lib.snapshot.crosschecks.balance_checks`).
    balances: pd.DataFrame | None = None


def build_financials(raw_dir: Path, companies: pd.DataFrame, progress=None) -> FinancialTables:
    """Read and standardize every company with SEC data.

    ``progress`` is an optional callable taking the ticker being read.
    """
    reported, restatements, history, files, balances = [], [], [], [], []
    ifrs_only = _ifrs_only_tags()
    for _, company in companies[companies["sec_source"].notna()].iterrows():
        if progress:
            progress(company["ticker"])
        raw = read_company(raw_dir / "sec", company["ticker"], company["cik"], company["sec_source"], ifrs_only)
        facts = mapped_facts(raw, company)
        history.append(vintages(facts))
        kept, rst = latest_filed(facts)
        reported.append(place_in_calendar(kept, company))
        balances.append(balance_checks(facts, reported[-1]))
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
    balances = pd.concat(balances, ignore_index=True)
    balances = balances[balances["fiscal_year"] >= FIRST_FISCAL_YEAR].reset_index(drop=True)
    return FinancialTables(tidy, reported, restatements.reset_index(drop=True), history, files, balances)


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
    from valuechain_lib.snapshot.prices import build_prices

    raw_dir = Path(raw_dir)
    if not (raw_dir / "sec").is_dir():
        raise SnapshotError(f"no raw SEC folder at {raw_dir / 'sec'}; pass --from <folder holding sec/ and prices/>")
    companies = universe()
    built = build_financials(raw_dir, companies, progress)
    checks = run_all(built.reported, built.tidy, built.restatements, built.balances)
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
            "latest_fiscal_period": fiscal_label(latest["fiscal_year"], latest["fiscal_period"]),
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
