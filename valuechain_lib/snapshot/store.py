"""Read the committed snapshot in ``data/snapshot/``: its tables, its manifest, and their checksums.

Every table file is checked against the sha256 the manifest recorded when it was written (`verify_table`)
before it is read; `valuechain_lib.snapshot.build` writes them.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

from valuechain_lib.errors import SnapshotError
from valuechain_lib.paths import REPO_ROOT, data_dir

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


























def _read_table(path: Path, name: str) -> pd.DataFrame:
    dtypes = {"accession": "string", "tag": "string", "form": "string", "source": "string",
              "missing_reason": "string", "derivation": "string", "unit": "string", "taxonomy": "string"}
    if name == "prices":
        from valuechain_lib.snapshot.price_table import read_prices_csv
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

# (file, mtime_ns, size, expected sha256) of table files already checked in this process: hashing
# the 13 MB of tables costs tens of milliseconds, which every page's kernel would otherwise pay per load.
_verified: set[tuple] = set()
_manifests: dict[str, tuple[tuple, dict]] = {}


def _shown(path: Path) -> str:
    """``data/snapshot/financials.csv`` inside the repository, the full path elsewhere (a copy, a test)."""
    path = Path(os.path.abspath(path))
    try:
        return path.relative_to(REPO_ROOT).as_posix()
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
