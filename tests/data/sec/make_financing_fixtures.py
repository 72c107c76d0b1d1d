"""Regenerate the financing fixtures in ``financing/`` from the raw supplement files (../shared/data/sec/supplement).

Each fixture is a SUBSET of one single-concept supplement file (``<TICKER>/<Concept>.json``, SEC fact format,
copied from full SEC companyfacts files; see that folder's README.md and SOURCE.md): the same layout, whole
facts copied unchanged (values, accessions, dates, fy/fp, forms, filed, frame), only the facts whose ``end``
falls in the window below.

Usage (from the repository root)::

    python tests/data/sec/make_financing_fixtures.py
    python tests/data/sec/make_financing_fixtures.py /path/to/shared/data/sec
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE / "financing"

# ticker -> (concepts kept, first and last period end kept, inclusive)
FIXTURES = {
    # Oracle's fiscal 2025 and 2026 (years to May): borrowings as two lines, the stray LongTermDebt zero of
    # fiscal 2022 is outside the window on purpose (the tag is not mapped for Oracle at all).
    "ORCL": (("LongTermNotesAndLoans", "DebtCurrent", "RepaymentsOfDebt", "ProceedsFromIssuanceOfSeniorLongTermDebt",
              "ProceedsFromIssuanceOfLongTermDebt", "PaymentsForRepurchaseOfCommonStock",
              "PaymentsOfDividendsCommonStock"), "2024-06-01", "2026-05-31"),
    # Microsoft's fiscal 2025 (year to June): debt proceeds of 0 in every filing.
    "MSFT": (("ProceedsFromDebtMaturingInMoreThanThreeMonths", "RepaymentsOfDebtMaturingInMoreThanThreeMonths"),
             "2024-07-01", "2025-06-30"),
    # Meta's 2024 and 2025: dividends under two tags, debt issued without a repayment line.
    "META": (("PaymentsOfDividends", "PaymentsOfDividendsCommonStock", "ProceedsFromIssuanceOfLongTermDebt"),
             "2024-01-01", "2025-12-31"),
}


def subset(doc: dict, first_end: str, last_end: str) -> dict:
    """Return the concept ``doc`` keeping only the facts whose ``end`` is in [first_end, last_end]."""
    units = {unit: [f for f in facts if first_end <= f["end"] <= last_end] for unit, facts in doc["units"].items()}
    return {**{k: v for k, v in doc.items() if k != "units"}, "units": units}


def build(raw_sec_dir: Path) -> dict[str, str]:
    """Return {relative fixture path: JSON text} built from the supplement files under ``raw_sec_dir``."""
    out = {}
    for ticker, (concepts, first_end, last_end) in FIXTURES.items():
        for concept in concepts:
            doc = json.loads((raw_sec_dir / "supplement" / ticker / f"{concept}.json").read_text(encoding="utf-8"))
            out[f"{ticker}/{concept}.json"] = json.dumps(subset(doc, first_end, last_end), indent=1) + "\n"
    return out


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raw_sec_dir = Path(argv[1])
    else:
        sys.path.insert(0, str(HERE.parents[2]))
        from valuechain_lib.paths import raw_data_dir

        raw_sec_dir = raw_data_dir() / "sec"
    for name, text in build(raw_sec_dir).items():
        path = TARGET / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path} ({len(text):,} bytes)")


if __name__ == "__main__":
    main(sys.argv)
