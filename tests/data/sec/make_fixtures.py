"""Regenerate the small SEC fixtures in this folder from the raw public files (../shared/data/sec).

The fixtures let the test suite run on a clone without the raw data. Each is a SUBSET of one raw
companyfacts file: the same wrapper layout (``ticker, entityName, cik, fetched, facts``), whole
facts copied unchanged (values, accessions, dates, fy/fp, forms, filed, frame), only fewer tags and
periods.

Usage (from the repository root)::

    python tests/data/sec/make_fixtures.py            # raw data from valuechain_lib.paths.raw_data_dir()
    python tests/data/sec/make_fixtures.py /path/to/shared/data/sec
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name of the fixture -> (ticker, us-gaap tags kept, first and last period end kept, inclusive)
FIXTURES = {
    # NVDA fiscal 2025-2027: FY2025 starts 2024-01-29; FY2027 ends on the Sunday nearest 2027-01-31.
    "NVDA.companyfacts.min.json": (
        "NVDA", ("Revenues", "PaymentsToAcquireProductiveAssets"), "2024-01-29", "2027-01-31"),
}


def subset(doc: dict, tags, first_end: str, last_end: str) -> dict:
    """Return ``doc`` keeping only ``tags`` and the facts whose ``end`` is in [first_end, last_end]."""
    us_gaap = doc["facts"]["us-gaap"]
    kept = {}
    for tag in tags:
        concept = us_gaap[tag]
        units = {unit: [f for f in facts if first_end <= f["end"] <= last_end]
                 for unit, facts in concept["units"].items()}
        kept[tag] = {**{k: v for k, v in concept.items() if k != "units"}, "units": units}
    top = {k: v for k, v in doc.items() if k != "facts"}
    return {**top, "facts": {"us-gaap": kept}}


def build(raw_sec_dir: Path) -> dict[str, str]:
    """Return {fixture file name: JSON text} built from the raw files in ``raw_sec_dir``."""
    out = {}
    for name, (ticker, tags, first_end, last_end) in FIXTURES.items():
        doc = json.loads((raw_sec_dir / f"{ticker}.companyfacts.json").read_text(encoding="utf-8"))
        out[name] = json.dumps(subset(doc, tags, first_end, last_end), indent=1) + "\n"
    return out


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raw_sec_dir = Path(argv[1])
    else:
        sys.path.insert(0, str(HERE.parents[2]))
        from valuechain_lib.paths import raw_data_dir

        raw_sec_dir = raw_data_dir() / "sec"
    for name, text in build(raw_sec_dir).items():
        (HERE / name).write_text(text, encoding="utf-8")
        print(f"wrote {HERE / name} ({len(text):,} bytes)")


if __name__ == "__main__":
    main(sys.argv)
