"""The edition diff: new periods, restated values (old → new with accessions), price extensions, its
Markdown, and what the status page shows with and without a refresh."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from recorded_responses import rec

from valuechain_lib import edition, snapshot
from valuechain_lib.refresh import refresh


def _fin(rows):
    cols = ["ticker", "metric", "freq", "fiscal_year", "fiscal_period", "period_end", "value", "accession"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    return frame


def _rep(rows):
    cols = ["ticker", "metric", "period_start", "period_end", "value", "accession", "filed", "unit"]
    frame = pd.DataFrame(rows, columns=cols)
    for col in ("period_start", "period_end", "filed"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


def _prices(rows):
    return pd.DataFrame({"ticker": [r[0] for r in rows], "date": pd.to_datetime([r[1] for r in rows])})


@pytest.mark.fast
def test_diff_finds_new_periods_restatements_and_price_extensions():
    old = {"financials": _fin([("X", "revenue", "Q", 2026, "Q1", "2026-03-31", 10.0, "a-1"),
                               ("X", "revenue", "Q", 2026, "Q2", "2026-06-30", np.nan, None)]),
           "facts_reported": _rep([("X", "capex", "2025-01-01", "2025-12-31", 100.0, "a-1", "2026-01-30", "USD")]),
           "prices": _prices([("X", "2026-08-31"), ("Y", "2026-08-31")])}
    new = {"financials": _fin([("X", "revenue", "Q", 2026, "Q1", "2026-03-31", 10.0, "a-1"),
                               ("X", "revenue", "Q", 2026, "Q2", "2026-06-30", 12.0, "a-2"),
                               ("X", "revenue", "TTM", 2026, "Q2", "2026-06-30", 40.0, "a-2")]),
           "facts_reported": _rep([("X", "capex", "2025-01-01", "2025-12-31", 90.0, "a-3", "2026-07-30", "USD")]),
           "prices": _prices([("X", "2026-08-31"), ("X", "2026-09-01"), ("X", "2026-09-02"), ("Y", "2026-08-31")])}
    diff = edition.diff_editions(old, new, previous_manifest={"built_at": "T0"}, new_manifest={"built_at": "T1"},
                                 not_refreshed={"Z": "source 'flujo' is not fetched by a live refresh"})
    assert diff["new_periods"] == {"X": [{"period": "FY2026 Q2", "freq": "Q", "period_end": "2026-06-30",
                                          "metrics": ["revenue"], "accessions": ["a-2"]}]}  # TTM is not a period
    assert diff["restated"] == [{
        "ticker": "X", "metric": "capex", "duration": None, "period_start": "2025-01-01", "period_end": "2025-12-31",
        "old": 100, "new": 90, "unit": "USD", "old_accession": "a-1", "new_accession": "a-3",
        "old_filed": "2026-01-30", "new_filed": "2026-07-30"}]
    assert diff["prices"] == {"X": {"from": "2026-08-31", "to": "2026-09-02", "rows_added": 2},
                              "Y": {"from": "2026-08-31", "to": "2026-08-31", "rows_added": 0}}
    assert diff["summary"] == {"companies_with_new_periods": 1, "new_periods": 1, "restated_values": 1,
                               "tickers_extended": 1, "not_refreshed": 1}
    json.loads(edition.to_json(diff))
    text = edition.render_markdown(diff)
    for needle in ("FY2026 Q2", "| X | capex |", "a-1 | a-3", "| X | 2026-08-31 | 2026-09-02 | 2 |", "Z: source"):
        assert needle in text, needle


@pytest.mark.fast
def test_float_noise_is_not_a_restatement():
    a = _rep([("X", "capex", "2025-01-01", "2025-12-31", 1e10, "a-1", "2026-01-30", "USD")])
    b = a.assign(value=1e10 + 1e-4)
    assert edition.restated_values(a, b) == []


@pytest.mark.fast
def test_status_without_a_refresh(data_copy):
    (data_copy / "snapshot" / edition.EDITION_FILE).unlink(missing_ok=True)
    assert edition.latest_diff() is None
    assert edition.status_markdown() == edition.NO_REFRESH + "\n"


@pytest.mark.network
@pytest.mark.allow_hosts(["127.0.0.1"])
def test_status_after_a_refresh_shows_the_recorded_editions_changes(tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("VALUECHAIN_DATA", str(data))
    rec.build_previous_data_dir(data)
    for key, value in rec.FAST_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("VALUECHAIN_CACHE_DIR", str(tmp_path / "cache"))
    server = rec.start_server()
    try:
        monkeypatch.setenv("VALUECHAIN_SEC_BASE_URL", server.url_for("/").rstrip("/"))
        rec.serve(server)
        refresh(download=rec.FakeDownload(), progress=False, today="2026-09-29", sleep=lambda s: None)
    finally:
        server.stop()
    snapshot.load_table.cache_clear()
    diff = edition.latest_diff()
    # filings after the previous edition's cutoff (2025-01-15): NVDA to FY2027 Q1, META to 2026 Q1
    assert {p["period"] for p in diff["new_periods"]["NVDA"]} >= {"FY2025", "FY2026 Q4", "FY2026", "FY2027 Q1"}
    assert {p["period"] for p in diff["new_periods"]["META"]} >= {"FY2024", "FY2025 Q4", "FY2025", "FY2026 Q1"}
    # META's 10-K for 2024 restated its 2023 capex: old → new with both accession numbers
    meta = [r for r in diff["restated"] if r["ticker"] == "META" and r["metric"] == "capex"
            and r["period_end"] == "2023-12-31" and r["period_start"] == "2023-01-01"]
    assert len(meta) == 1
    assert (meta[0]["old"], meta[0]["new"]) == (27_266_000_000, 27_045_000_000)
    assert meta[0]["old_accession"] == "0001326801-24-000012" and meta[0]["new_accession"] != meta[0]["old_accession"]
    assert all(p["to"] == "2026-09-28" and p["rows_added"] > 0 for p in diff["prices"].values())
    text = edition.status_markdown()
    assert text.startswith("**Latest refresh**") and meta[0]["new_accession"] in text
