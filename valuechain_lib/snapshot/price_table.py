"""The committed price table's file format: columns, dtypes, an atomic writer and a checked reader."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from valuechain_lib.errors import SnapshotError

COLUMNS = (
    "date", "ticker", "close", "total_return_index", "currency",
    "close_source", "tr_source", "close_method",
)


_CSV_DTYPES = {
    "ticker": str, "close": "float64", "total_return_index": "float64", "currency": str,
    "close_source": str, "tr_source": str, "close_method": str,
}


# --------------------------------------------------------------------------- committed CSV
def write_prices_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write the price table in the committed format (ISO dates, ``%.10g`` floats, LF), atomically.

    Parameters
    ----------
    df : pandas.DataFrame
        A table with columns `COLUMNS` (as returned by `build_prices`).
    path : str or Path
        Destination file.

    Returns
    -------
    Path
        The file written.
    """
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise SnapshotError(f"price table lacks column(s) {missing}; cannot write {path}")
    path = Path(path)
    out = df[list(COLUMNS)].sort_values(["ticker", "date"], kind="stable")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        out.to_csv(tmp, index=False, date_format="%Y-%m-%d", float_format="%.10g", lineterminator="\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def read_prices_csv(path: str | Path) -> pd.DataFrame:
    """Read a price table written by `write_prices_csv`.

    Returns
    -------
    pandas.DataFrame
        Columns `COLUMNS`; ``date`` is datetime64.

    Raises
    ------
    SnapshotError
        A missing file, missing columns or an unparseable date.
    """
    path = Path(path)
    if not path.is_file():
        raise SnapshotError(f"price snapshot not found: {path} (build it with the snapshot command)")
    try:
        df = pd.read_csv(path, dtype=_CSV_DTYPES, parse_dates=["date"], date_format="%Y-%m-%d",
                         na_values=[""], keep_default_na=False)
    except ValueError as exc:
        raise SnapshotError(f"{path}: {exc}") from exc
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise SnapshotError(f"{path}: missing column(s) {missing}")
    if not pd.api.types.is_datetime64_dtype(df["date"]):
        raise SnapshotError(f"{path}: unparseable date(s) in column 'date'")
    return df[list(COLUMNS)]
