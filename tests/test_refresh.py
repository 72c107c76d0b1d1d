"""``valuechain refresh`` end to end on recorded responses: the real SEC client against a server on
127.0.0.1, yfinance faked at the project's boundary, a small previous snapshot in a tmp ``data/``
(``VALUECHAIN_DATA``). For every fault: the right error AND the previous snapshot byte-for-byte intact."""

from __future__ import annotations

import errno
import importlib.util
import json
import shutil
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from werkzeug import Response

from tests.data.recorded import recorded as rec
from valuechain_lib import cli
from valuechain_lib.errors import SnapshotError
from valuechain_lib.paths import DEFAULT_DATA_DIR
from valuechain_lib.snapshot import build as snapshot_build
from valuechain_lib.snapshot import store as snapshot
from valuechain_lib.sources.sec_client import IdentityError
from valuechain_lib.workflows.refresh import RefreshError, refresh

pytestmark = [pytest.mark.network, pytest.mark.allow_hosts(["127.0.0.1"])]
TODAY = "2026-09-29"  # the recorded prices end 2026-09-28


@pytest.fixture
def server(recorded_server):
    return recorded_server


@pytest.fixture
def data(previous_edition, tmp_path, monkeypatch, server):
    """A tmp copy of the previous data/ folder, made the library's data folder, with the fast settings."""
    target = tmp_path / "data"
    shutil.copytree(previous_edition, target)
    monkeypatch.setenv("VALUECHAIN_DATA", str(target))
    for key, value in rec.FAST_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("VALUECHAIN_SEC_BASE_URL", server.url_for("/").rstrip("/"))
    monkeypatch.setenv("VALUECHAIN_CACHE_DIR", str(tmp_path / "cache"))
    snapshot.load_table.cache_clear()
    before = rec.digests(target)
    yield target
    snapshot.load_table.cache_clear()
    assert not list(target.glob(".snapshot-new-*")), "a staging folder was left behind"
    assert not (target / "snapshot.previous").exists()
    del before


def _run(**kwargs):
    kwargs.setdefault("download", rec.FakeDownload())
    return refresh(progress=False, today=TODAY, sleep=lambda s: None, **kwargs)


def _intact(data: Path, before: dict) -> None:
    assert rec.digests(data) == before, "the previous snapshot changed"


# --------------------------------------------------------------------------- a refresh that works
def test_refresh_swaps_in_a_validated_new_edition(data, server):
    rec.serve(server)
    old = {name: snapshot.load_table(name) for name in ("financials", "prices")}
    result = _run(download=rec.FakeDownload(scale=0.5))
    snapshot.load_table.cache_clear()
    fin, prices = snapshot.load_table("financials"), snapshot.load_table("prices")
    # new filings are in: NVDA FY2027 Q1 (10-Q filed 2026-05-20), META 2026 Q1
    nvda = fin[(fin["ticker"] == "NVDA") & (fin["metric"] == "revenue") & (fin["freq"] == "Q")].dropna(subset=["value"])
    assert nvda["period_end"].max() == pd.Timestamp("2026-04-26")
    assert old["financials"]["period_end"].max() < fin["period_end"].max()
    # prices extended to the last recorded day, spliced on returns: old rows byte-identical
    last_old = old["prices"].groupby("ticker")["date"].max()
    assert (prices.groupby("ticker")["date"].max() == pd.Timestamp("2026-09-28")).all()
    kept = prices.merge(old["prices"], on=["ticker", "date"], suffixes=("", "_old"))
    assert len(kept) == len(old["prices"]) and (kept["close"] == kept["close_old"]).all()
    spy_new = prices[(prices["ticker"] == "SPY") & (prices["date"] > last_old["SPY"])]
    assert (spy_new["close_source"] == "yfinance").all() and (spy_new["currency"] == "USD").all()
    # the edition diff is saved with the tables and named in the manifest
    diff = json.loads((data / "snapshot" / "edition_diff.json").read_text())
    assert diff == result.diff
    manifest = snapshot.manifest()
    assert "edition_diff.json" in manifest["extra_files"]
    assert set(manifest["refresh"]["sec_fetched"]) == {"NVDA", "META"}
    sec_sources = {s["path"]: s for s in manifest["sources"] if s["ticker"]}
    assert sec_sources["sec/NVDA.companyfacts.json"]["url"].endswith("/CIK0001045810.json")
    assert any(s["path"].startswith("prices/yfinance-") for s in manifest["sources"])


def test_second_run_revalidates_with_the_cache_and_accepts_304(data, server):
    seen = []

    def conditional(ticker):
        payload = rec.body(ticker)

        def handler(request):
            seen.append((ticker, request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since")))
            if request.headers.get("If-None-Match") == rec.etag(payload):
                return Response(status=304, headers={"ETag": rec.etag(payload)})
            return Response(payload, content_type="application/json",
                            headers={"ETag": rec.etag(payload), "Last-Modified": "Wed, 20 May 2026 12:00:00 GMT"})
        return handler

    for ticker in rec.CIKS:
        server.expect_request(rec.path_of(ticker)).respond_with_handler(conditional(ticker))
    _run()
    second = _run()
    assert [s[1] for s in seen[:2]] == [None, None]
    assert {s[0]: s[1] for s in seen[2:]} == {t: rec.etag(rec.body(t)) for t in rec.CIKS}
    assert all(s[2] == "Wed, 20 May 2026 12:00:00 GMT" for s in seen[2:])
    assert all(f["not_modified"] for f in second.manifest["refresh"]["sec_fetched"].values())
    assert second.diff["summary"]["new_periods"] == 0 and second.diff["summary"]["restated_values"] == 0


# --------------------------------------------------------------------------- faults
def _slow(seconds):
    def handler(request):
        time.sleep(seconds)
        return Response(b"{}", content_type="application/json")
    return handler


def _serve_meta(server, **respond):
    rec.serve(server, tickers=["NVDA"])
    server.expect_request(rec.path_of("META")).respond_with_data(**respond)


def _vanished_capex(server):
    doc = json.loads(rec.body("META"))
    del doc["facts"]["us-gaap"]["PaymentsToAcquirePropertyPlantAndEquipment"]
    _serve_meta(server, response_data=json.dumps(doc), content_type="application/json")


FAULTS = {
    # name: (set-up of the server, downloader, error class, message)
    "500-forever": (lambda s: _serve_meta(s, response_data="down", status=500), None, RefreshError,
                    r"SEC: 1 of 2 companies failed .*META \(HTTP 500 .* after 3 attempt"),
    "429-forever": (lambda s: _serve_meta(s, response_data="slow", status=429, headers={"Retry-After": "0"}), None,
                    RefreshError, r"META \(HTTP 429"),
    "timeout": (lambda s: (rec.serve(s, tickers=["NVDA"]),
                           s.expect_request(rec.path_of("META")).respond_with_handler(_slow(0.4))), None,
                RefreshError, r"META \(no response .* within 0.1 s"),
    "malformed-json": (lambda s: _serve_meta(s, response_data='{"cik": 1326801, "facts": {', content_type="application/json"),
                       None, RefreshError, r"META.*(malformed|truncated) JSON"),
    "truncated-body": (lambda s: _serve_meta(s, response_data=rec.body("META")[:5000], content_type="application/json"),
                       None, RefreshError, r"META.*truncated JSON"),
    "wrong-cik": (lambda s: _serve_meta(s, response_data=rec.body("NVDA"), content_type="application/json"), None,
                  RefreshError, r"META.*is for CIK 1045810, but the universe gives CIK 1326801"),
    "404": (lambda s: _serve_meta(s, response_data="not found", status=404), None, RefreshError, r"META \(HTTP 404"),
    "empty-yfinance-for-one-ticker": (rec.serve, rec.FakeDownload(missing={"META"}), RefreshError,
                                      r"prices: no data for 1 of 3 tickers: META \(yfinance returned no rows"),
    "yfinance-offline": (rec.serve, rec.FakeDownload(missing={"NVDA", "META", "SPY"}), RefreshError,
                         r"prices: no data for any of the 3 tickers \(offline"),
    "metric-vanished": (_vanished_capex, None, SnapshotError, r"metrics that had values and now have none.*'META', 'capex'"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_fails_the_refresh_and_leaves_the_snapshot_intact(data, server, monkeypatch, fault):
    setup, download, error, message = FAULTS[fault]
    if fault == "timeout":
        monkeypatch.setenv("VALUECHAIN_READ_TIMEOUT", "0.1")
    setup(server)
    before = rec.digests(data)
    with pytest.raises(error, match=message) as info:
        _run(download=download or rec.FakeDownload())
    if error is RefreshError:
        assert "was not changed" in str(info.value)
    _intact(data, before)


def test_missing_identity_fails_before_any_request(data, server, monkeypatch):
    monkeypatch.delenv("VALUECHAIN_SEC_IDENTITY")
    rec.serve(server)
    before = rec.digests(data)
    fake = rec.FakeDownload()
    with pytest.raises(IdentityError, match="VALUECHAIN_SEC_IDENTITY is not set"):
        _run(download=fake)
    assert server.log == [] and fake.calls == []
    _intact(data, before)


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt(), OSError(errno.ENOSPC, "No space left on device")],
                         ids=["killed", "disk-full"])
def test_interrupted_while_writing_the_tables_leaves_the_snapshot_intact(data, server, monkeypatch, interrupt):
    rec.serve(server)
    before = rec.digests(data)
    calls, real_write = [], snapshot_build._write_table

    def failing_write(frame, path):
        calls.append(path.name)
        if len(calls) == 3:
            raise interrupt
        real_write(frame, path)

    monkeypatch.setattr(snapshot_build, "_write_table", failing_write)
    with pytest.raises(type(interrupt)):
        _run()
    assert len(calls) == 3
    _intact(data, before)


def test_killed_during_the_swap_still_loads_the_previous_snapshot(data, server, monkeypatch):
    rec.serve(server)
    before = rec.digests(data / "snapshot")
    real_rename = __import__("os").rename
    renames = []

    def dying_rename(src, dst):
        renames.append((src, dst))
        if len(renames) == 2:  # snapshot -> snapshot.previous done, staging -> snapshot not yet
            raise KeyboardInterrupt
        real_rename(src, dst)

    monkeypatch.setattr(snapshot.os, "rename", dying_rename)
    with pytest.raises(KeyboardInterrupt):
        _run()
    monkeypatch.undo()
    assert rec.digests(data / "snapshot.previous") == before  # the previous snapshot, byte for byte
    snapshot.load_table.cache_clear()
    assert snapshot.manifest()["built_at"]  # and the library still loads it
    assert not (data / "snapshot").exists()
    (data / "snapshot.previous").rename(data / "snapshot")  # what the next successful write would clean up


def test_network_drop_mid_run(data, monkeypatch):
    srv = rec.start_server()
    monkeypatch.setenv("VALUECHAIN_SEC_BASE_URL", srv.url_for("/").rstrip("/"))
    monkeypatch.setenv("VALUECHAIN_SEC_RATE", "4")  # 0.25 s between requests: the link is down by the second

    def nvda_then_drop(request):
        threading.Thread(target=srv.stop, daemon=True).start()
        return Response(rec.body("NVDA"), content_type="application/json")

    srv.expect_request(rec.path_of("NVDA")).respond_with_handler(nvda_then_drop)
    before = rec.digests(data)
    try:
        with pytest.raises(RefreshError, match=r"SEC: cannot reach .* \(while fetching META\); 1 of 2 companies fetched"):
            _run()
    finally:
        if srv.is_running():
            srv.stop()
    _intact(data, before)


def test_offline_fails_fast_with_one_line_per_source(data, monkeypatch):
    srv = rec.start_server()
    url = srv.url_for("/").rstrip("/")
    srv.stop()  # nothing listens: connection refused, like a machine without network
    monkeypatch.setenv("VALUECHAIN_SEC_BASE_URL", url)
    before = rec.digests(data)
    started = time.monotonic()
    with pytest.raises(RefreshError) as info:
        _run(download=rec.FakeDownload(missing={"NVDA", "META", "SPY"}), allow_partial=True)
    assert time.monotonic() - started < 5
    lines = info.value.lines
    assert len(lines) == 2 and lines[0].startswith("SEC: cannot reach") and lines[1].startswith("prices: no data")
    _intact(data, before)


def test_cli_offline_exit_code_and_message(data, monkeypatch, capsys):
    srv = rec.start_server()
    url = srv.url_for("/").rstrip("/")
    srv.stop()
    monkeypatch.setenv("VALUECHAIN_SEC_BASE_URL", url)
    before = rec.digests(data)
    import valuechain_lib.workflows.refresh as refresh_module

    real = refresh_module.refresh
    monkeypatch.setattr(refresh_module, "refresh", lambda **kw: real(
        download=rec.FakeDownload(missing={"NVDA", "META", "SPY"}), today=TODAY, sleep=lambda s: None, **kw))
    code = cli.main(["refresh", "--quiet"])
    err = capsys.readouterr().err
    assert code != 0
    assert "the snapshot in" in err and "was not changed" in err
    assert "SEC: cannot reach" in err and "prices: no data for any" in err  # one line per source, or joined
    _intact(data, before)


def test_cli_missing_identity(data, monkeypatch, capsys):
    monkeypatch.delenv("VALUECHAIN_SEC_IDENTITY")
    before = rec.digests(data)
    assert cli.main(["refresh", "--quiet"]) == 2
    assert "VALUECHAIN_SEC_IDENTITY is not set" in capsys.readouterr().err
    _intact(data, before)


# --------------------------------------------------------------------------- --allow-partial
def test_allow_partial_carries_the_failed_company_over_unchanged(data, server):
    _serve_meta(server, response_data="down", status=500)
    old = snapshot.load_table("financials")
    result = _run(allow_partial=True)
    snapshot.load_table.cache_clear()
    new = snapshot.load_table("financials")
    cols = ["metric", "freq", "fiscal_year", "fiscal_period", "value", "accession"]
    pd.testing.assert_frame_equal(
        new[new["ticker"] == "META"][cols].reset_index(drop=True),
        old[old["ticker"] == "META"][cols].reset_index(drop=True))
    assert "META" in result.diff["not_refreshed"] and "HTTP 500" in result.diff["not_refreshed"]["META"]
    assert "NVDA" in result.diff["new_periods"]


def test_without_allow_partial_no_company_is_lost(data, server):
    _serve_meta(server, response_data="down", status=500)
    before = rec.digests(data)
    with pytest.raises(RefreshError, match="use --allow-partial"):
        _run()
    _intact(data, before)


# --------------------------------------------------------------------------- the real data/ folder
@pytest.fixture
def real_data_copy(data_copy, tmp_path, monkeypatch):
    for key, value in rec.FAST_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("VALUECHAIN_CACHE_DIR", str(tmp_path / "cache"))
    return data_copy


def test_offline_refresh_of_the_committed_snapshot_leaves_it_intact(real_data_copy, monkeypatch):
    srv = rec.start_server()
    url = srv.url_for("/").rstrip("/")
    srv.stop()
    monkeypatch.setenv("VALUECHAIN_SEC_BASE_URL", url)
    before = rec.digests(real_data_copy)
    with pytest.raises(RefreshError, match=r"SEC: cannot reach .*0 of 15 companies fetched"):
        _run(download=rec.FakeDownload(missing=set()))  # the fake has no rows for most tickers anyway
    _intact(real_data_copy, before)


@pytest.mark.rawdata
def test_recorded_responses_match_a_fresh_regeneration(raw_dir):
    """The committed recorded bodies are exactly what make_recorded.py derives from the raw files."""
    spec = importlib.util.spec_from_file_location("vc_make_recorded", rec.HERE / "make_recorded.py")
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    fresh = make.build(raw_dir / "sec", DEFAULT_DATA_DIR / "snapshot" / "prices.csv")
    for name, text in fresh.items():
        assert (rec.HERE / name).read_text(encoding="utf-8") == text, name
