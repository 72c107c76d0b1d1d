"""Regenerate the recorded responses the refresh tests serve (run from the repository root).

Everything here is derived from the developers' raw public files and the committed snapshot:

* ``companyfacts/CIK##########.<edition>.json`` -- response bodies in SEC's own companyfacts layout
  (``{"cik", "entityName", "facts": {"us-gaap": ...}}``, the keys SEC sends, in SEC's order) for two
  companies, NVDA and META, and three us-gaap concepts each (revenue, operating cash flow, capex),
  facts whose period ends on/after ``FIRST_END``. Facts are copied whole and unchanged from
  ``../shared/data/sec/<T>.companyfacts.json`` (a trimmed copy of SEC's response; see its
  PROVENANCE.md). There is no ``dei`` section: the raw files have none, and nothing is invented.
  Two editions: ``previous`` keeps the facts filed on/before ``CUTOFF`` (what a snapshot built then
  would hold), ``current`` keeps them all (what a refresh after the later filings downloads: NVDA's
  10-Ks for FY2025 and FY2026 and its 10-Qs to FY2027 Q1; META's 10-K for 2024 -- which restates its
  2023 capex from 27,266m to 27,045m -- and its filings to 2026 Q1).
* two more bodies, ``current`` edition only, for the tests of adding a company (`STAND_INS`):
  ``CIK0001375365.current.json`` -- a company new to the universe, Super Micro Computer (SMCI), served
  under its own CIK and entity name but holding MICROSOFT's facts for the same three concepts
  (Microsoft's fiscal year ends in June, as Super Micro's does, so the period rules treat them alike).
  It is a stand-in: the numbers are not Super Micro's; the tests check that a new row is fetched and
  added whole, not its figures. ``CIK0000723125.current.json`` -- Micron as SEC serves it (unchanged
  facts, entity name ``Micron Technology, Inc.``): what AMD's row given Micron's CIK downloads.
* ``prices/previous.csv`` -- rows of the committed ``data/snapshot/prices.csv`` for NVDA, META and SPY
  from ``PRICE_FIRST`` to ``PRICE_CUTOFF`` (the previous edition's price table, in the snapshot format).
* ``prices/yfinance.csv`` -- what a yfinance download (``auto_adjust=False``) returns for the same
  tickers from ``DOWNLOAD_FIRST`` on: ``Close`` = the snapshot's close, ``Adj Close`` = its
  total-return index (both Yahoo-derived), so the tests can check the splice on returns.
* ``prices/new_company.csv`` -- the same layout for ticker SMCI from ``PRICE_FIRST`` on: MICROSOFT's
  snapshot rows under SMCI's ticker (a stand-in, like its companyfacts body), for the refresh test that
  adds a ticker the snapshot has never had and downloads its whole history.

Usage::

    python tests/data/recorded/make_recorded.py      # raw files from valuechain_lib.paths.raw_data_dir()
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]

COMPANIES = {  # ticker -> (cik, concepts kept)
    "NVDA": (1045810, ("Revenues", "NetCashProvidedByUsedInOperatingActivities", "PaymentsToAcquireProductiveAssets")),
    "META": (1326801, ("RevenueFromContractWithCustomerExcludingAssessedTax",
                       "NetCashProvidedByUsedInOperatingActivities", "PaymentsToAcquirePropertyPlantAndEquipment")),
}
#: Stand-in and extra bodies: ticker served -> (CIK served, raw file's ticker, concepts, entity name or None
#: for the raw file's own).
STAND_INS = {
    "SMCI": (1375365, "MSFT", ("RevenueFromContractWithCustomerExcludingAssessedTax",
                               "NetCashProvidedByUsedInOperatingActivities",
                               "PaymentsToAcquirePropertyPlantAndEquipment"), "Super Micro Computer, Inc."),
    "MU": (723125, "MU", ("RevenueFromContractWithCustomerExcludingAssessedTax",), None),
}
#: The stand-in price series: ticker written -> ticker whose snapshot rows it copies.
PRICE_STAND_INS = {"SMCI": "MSFT"}
FIRST_END = "2023-01-01"
CUTOFF = "2025-01-15"
PRICE_TICKERS = ("NVDA", "META", "SPY")
PRICE_FIRST, PRICE_CUTOFF, DOWNLOAD_FIRST = "2026-01-02", "2026-08-31", "2026-08-03"


def companyfacts_body(doc: dict, cik: int, concepts, last_filed: str | None, served_as: tuple | None = None) -> str:
    """SEC's layout (cik, entityName, facts) with only ``concepts`` and facts filed by ``last_filed``.

    ``served_as`` = (cik, entity name) writes another company's CIK and name over the file's own (a stand-in).
    """
    kept = {}
    for tag in concepts:
        concept = doc["facts"]["us-gaap"][tag]
        units = {unit: [f for f in facts if f["end"] >= FIRST_END and (last_filed is None or f["filed"] <= last_filed)]
                 for unit, facts in concept["units"].items()}
        kept[tag] = {**{k: v for k, v in concept.items() if k != "units"}, "units": units}
    assert int(doc["cik"]) == cik, (doc["cik"], cik)
    cik, name = served_as or (cik, doc["entityName"])
    return json.dumps({"cik": cik, "entityName": name, "facts": {"us-gaap": kept}},
                      separators=(",", ":")) + "\n"


def _yfinance_layout(rows):
    return rows.rename(columns={"date": "Date", "ticker": "Ticker", "close": "Close",
                                "total_return_index": "Adj Close"})[["Date", "Ticker", "Close", "Adj Close"]]


def build(raw_sec_dir: Path, snapshot_prices: Path) -> dict[str, str]:
    """Return {relative path: text} of every recorded file."""
    import pandas as pd

    out = {}
    for ticker, (cik, concepts) in COMPANIES.items():
        doc = json.loads((raw_sec_dir / f"{ticker}.companyfacts.json").read_text(encoding="utf-8"))
        for edition, last in (("previous", CUTOFF), ("current", None)):
            out[f"companyfacts/CIK{cik:010d}.{edition}.json"] = companyfacts_body(doc, cik, concepts, last)
    for served_cik, source, concepts, name in STAND_INS.values():
        doc = json.loads((raw_sec_dir / f"{source}.companyfacts.json").read_text(encoding="utf-8"))
        served_as = (served_cik, name or doc["entityName"])
        out[f"companyfacts/CIK{served_cik:010d}.current.json"] = companyfacts_body(
            doc, int(doc["cik"]), concepts, None, served_as)
    prices = pd.read_csv(snapshot_prices, dtype=str, keep_default_na=False)
    prices = prices[prices["ticker"].isin(PRICE_TICKERS)]
    previous = prices[(prices["date"] >= PRICE_FIRST) & (prices["date"] <= PRICE_CUTOFF)]
    out["prices/previous.csv"] = previous.to_csv(index=False, lineterminator="\n")
    later = prices[prices["date"] >= DOWNLOAD_FIRST]
    out["prices/yfinance.csv"] = _yfinance_layout(later).to_csv(index=False, lineterminator="\n")
    everything = pd.read_csv(snapshot_prices, dtype=str, keep_default_na=False)
    stand_ins = [everything[(everything["ticker"] == source) & (everything["date"] >= PRICE_FIRST)].assign(ticker=ticker)
                 for ticker, source in PRICE_STAND_INS.items()]
    out["prices/new_company.csv"] = _yfinance_layout(pd.concat(stand_ins)).to_csv(index=False, lineterminator="\n")
    return out


def main() -> None:
    sys.path.insert(0, str(REPO))
    from valuechain_lib.paths import DEFAULT_DATA_DIR, raw_data_dir

    for name, text in build(raw_data_dir() / "sec", DEFAULT_DATA_DIR / "snapshot" / "prices.csv").items():
        path = HERE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(REPO)} ({len(text):,} bytes)")


if __name__ == "__main__":
    main()
