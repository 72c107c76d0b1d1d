"""A new company really is one row, online and off (issue 12).

Offline: a row added to ``data/universe.csv`` after the snapshot was built (Super Micro, SMCI) is "not yet
fetched": readers asked for it say so and name the refresh command, and every aggregate leaves it out
and names it. Online (recorded responses: a local SEC server and a fake yfinance): ``refresh`` fetches its
whole companyfacts history and price history and adds them. Bad rows stop with one line naming the row and
the field, and leave data/ as it was; a CIK that belongs to another company is refused on refresh (by
entity name) and flagged offline (by the CIK the snapshot was built with).
"""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from tests.data.recorded import recorded as rec
from valuechain_lib import aggregate
from valuechain_lib.analyses import capex_vs_cash as capex
from valuechain_lib.analyses import hourglass as margins
from valuechain_lib.errors import SourceFileError
from valuechain_lib.snapshot import store as snapshot
from valuechain_lib.snapshot.financials import financials
from valuechain_lib.snapshot.universe import (
    NOT_YET_FETCHED,
    NotYetFetchedError,
    check_rows,
    cik_mismatches,
    lacking_in_snapshot,
    not_yet_fetched,
    snapshot_cik,
    universe,
)
from valuechain_lib.sources.sec_client import (
    EntityMismatchError,
    SecClient,
    Settings,
    fetch_all,
    normalised_name,
    same_entity,
)
from valuechain_lib.workflows.refresh import RefreshError, new_price_series, refresh

TODAY = "2026-09-29"  # the recorded prices end 2026-09-28


def _add_row(data_dir, row=rec.SMCI_ROW):
    rec.add_universe_row(data_dir, row)


def _row(**changes) -> str:
    """The SMCI row with some fields changed (by name), as a CSV line."""
    header = ["ticker", "name", "layer", "sub_layer", "cik", "fiscal_year_end_month", "fiscal_52_53_week",
              "currency", "price_ticker", "sec_source", "colour"]
    fields = dict(zip(header, rec.SMCI_ROW.split(","), strict=True))
    fields.update(changes)
    return ",".join(fields.values())


# --------------------------------------------------------------------------- offline: the committed snapshot + SMCI
@pytest.fixture
def with_smci(data_copy):
    """The committed data/ folder with Super Micro's row added (nothing fetched for it)."""
    _add_row(data_copy)
    return data_copy


@pytest.mark.fast
def test_the_new_row_reads_and_is_named_not_yet_fetched(with_smci):
    """SMCI's row loads (sub_layer 'servers', no colour) and lacks both filings and prices in the snapshot."""
    row = universe().set_index("ticker").loc["SMCI"]
    assert (row["layer"], row["sub_layer"], int(row["cik"]), row["fiscal_year_end_month"]) == (
        "upstream", "servers", 1375365, 6)
    assert pd.isna(row["colour"])
    assert lacking_in_snapshot() == {"SMCI": ["filings", "prices"]}
    assert not_yet_fetched("financials") == {"SMCI": NOT_YET_FETCHED}


@pytest.mark.fast
def test_the_committed_snapshot_lacks_no_row(data_copy):
    """Without an added row every universe company is in the snapshot: nothing is 'not yet fetched'."""
    assert lacking_in_snapshot() == {}
    assert financials(freq="FY").attrs["not_yet_fetched"] == {}


@pytest.mark.fast
def test_financials_of_the_new_company_says_not_yet_fetched(with_smci):
    """financials(['SMCI']) raises NotYetFetchedError naming SMCI, Super Micro and the refresh command."""
    with pytest.raises(NotYetFetchedError) as info:
        financials(["SMCI"])
    message = str(info.value)
    assert "\n" not in message
    assert "SMCI (Super Micro Computer)" in message and "not yet fetched" in message
    assert "python -m valuechain_lib refresh" in message


@pytest.mark.fast
def test_financials_of_everyone_names_the_company_left_out(with_smci):
    """financials() holds no SMCI row and says so in attrs['not_yet_fetched']."""
    table = financials(freq="Q", calendar=True, metrics="revenue")
    assert "SMCI" not in set(table["ticker"])
    assert table.attrs["not_yet_fetched"] == {"SMCI": NOT_YET_FETCHED}


@pytest.mark.fast
def test_calendar_sum_and_profit_pool_leave_it_out_and_name_it(with_smci):
    """The sums are those of the companies that have data; attrs['excluded'] names SMCI."""
    table = financials(freq="Q", calendar=True, metrics=["revenue", "operating_income"])
    usd = table[table["unit"] == "USD"]
    sums = aggregate.calendar_sum(usd)
    assert sums.attrs["excluded"] == {"SMCI": NOT_YET_FETCHED}
    pool = aggregate.profit_pool(usd, universe())
    assert pool.attrs["excluded"] == {"SMCI": NOT_YET_FETCHED}
    # the same numbers as without the row: an unfetched company changes no sum
    plain = usd.copy()
    plain.attrs = {}
    assert_frame_equal(aggregate.calendar_sum(plain), sums)


@pytest.mark.fast
def test_layer_pool_is_unchanged_and_names_the_new_company(with_smci):
    """The pool with SMCI's row equals the pool without it; excluded says 'not yet fetched' for SMCI."""
    pool, excluded = margins.layer_pool(since_year=2021)
    assert excluded["SMCI"] == NOT_YET_FETCHED
    assert "SMCI" not in margins.pooled_tickers(pool)
    (with_smci / "universe.csv").write_text(
        "".join((with_smci / "universe.csv").read_text().splitlines(keepends=True)[:-1]))
    before, excluded_before = margins.layer_pool(since_year=2021)
    assert_frame_equal(pool, before)
    assert {k: v for k, v in excluded.items() if k != "SMCI"} == excluded_before


@pytest.mark.fast
def test_capex_combined_leaves_an_unfetched_hyperscaler_out_and_names_it(data_copy):
    """A sixth hyperscaler with no data: the combined rows are the five's sums, and 'excluded' names it."""
    before = capex.capex_vs_cash(freq="TTM", since=2024)
    _add_row(data_copy, "NEWC,New Cloud Inc,midstream,hyperscaler,1999999,12,false,USD,NEWC,companyfacts,")
    after = capex.capex_vs_cash(freq="TTM", since=2024)
    assert after.attrs["excluded"] == {"NEWC": NOT_YET_FETCHED}
    combined = after[after["ticker"] == capex.COMBINED]
    assert (combined["excluded"] == f"NEWC ({NOT_YET_FETCHED})").all()
    assert (after.loc[after["ticker"] != capex.COMBINED, "excluded"] == "").all()
    assert_frame_equal(after.drop(columns="excluded"), before.drop(columns="excluded"))
    with pytest.raises(NotYetFetchedError, match="NEWC"):
        capex.capex_vs_cash(tickers=["AMZN", "NEWC"])


# --------------------------------------------------------------------------- the bad-input table
BAD_ROWS = {
    # case: (row appended to the two-company universe (line 4), pattern of the one-line message)
    "unknown sub_layer": (_row(sub_layer="server"),
                          r"line 4 \(SMCI\): sub_layer 'server' is not one of: GPU, .*servers, networking"),
    "unknown layer": (_row(layer="hardware"), r"line 4 \(SMCI\): layer 'hardware' is not one of: upstream, "
                                              r"midstream, downstream$"),
    "short row": (",".join(rec.SMCI_ROW.split(",")[:5]),
                  r"line 4 \(SMCI\): 5 fields, but the header has 11 \(a short row\): no fiscal_year_end_month, "
                  r"fiscal_52_53_week, currency, price_ticker$"),
    "missing value": (_row(currency=""), r"line 4 \(SMCI\): currency is missing"),
    "non-numeric CIK": (_row(cik="13753G5"), r"line 4 \(SMCI\): cik '13753G5' is not a CIK: .*digits only"),
    "duplicate ticker": (_row(ticker="NVDA"), r"line 4 \(NVDA\): ticker 'NVDA' repeats line 2"),
    "bad colour": (_row(colour="red"), r"line 4 \(SMCI\): colour 'red' is not a #RRGGBB hex colour"),
    "bad sec_source": (_row(sec_source="edgar"), r"line 4 \(SMCI\): sec_source 'edgar' is not one of: companyfacts, "
                                                 r"flujo, or empty"),
    "bad fiscal month": (_row(fiscal_year_end_month="June"), r"line 4 \(SMCI\): fiscal_year_end_month 'June' is not "
                                                             r"a month"),
}


@pytest.fixture
def server(recorded_server):
    return recorded_server


@pytest.fixture
def small(previous_edition, tmp_path, monkeypatch, server):
    """A tmp copy of the two-company data/ folder, the library's data folder, with the fast settings."""
    target = tmp_path / "data"
    shutil.copytree(previous_edition, target)
    monkeypatch.setenv("VALUECHAIN_DATA", str(target))
    for key, value in rec.FAST_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("VALUECHAIN_SEC_BASE_URL", server.url_for("/").rstrip("/"))
    monkeypatch.setenv("VALUECHAIN_CACHE_DIR", str(tmp_path / "cache"))
    snapshot.load_table.cache_clear()
    yield target
    snapshot.load_table.cache_clear()


def _refresh(**kwargs):
    kwargs.setdefault("download", rec.FakeDownload())
    return refresh(progress=False, today=TODAY, sleep=lambda s: None, **kwargs)


@pytest.mark.parametrize("case", list(BAD_ROWS))
@pytest.mark.network
@pytest.mark.allow_hosts(["127.0.0.1"])
def test_a_bad_row_stops_with_one_line_and_changes_nothing(small, server, case):
    """Each bad row: universe() and refresh both stop with ONE line naming the file, line, ticker and field
    (the allowed values where there is a vocabulary), before any request, and data/ is byte-for-byte as it was."""
    row, pattern = BAD_ROWS[case]
    _add_row(small, row)
    before = rec.digests(small)
    with pytest.raises(SourceFileError) as info:
        universe()
    message = str(info.value)
    assert "\n" not in message, message
    assert message.startswith(f"{small / 'universe.csv'} line 4 ")
    assert re.search(pattern, message), message
    rec.serve(server)
    with pytest.raises(SourceFileError, match=pattern):
        _refresh()
    assert server.log == []
    assert rec.digests(small) == before


@pytest.mark.network
@pytest.mark.allow_hosts(["127.0.0.1"])
@pytest.mark.parametrize("allow_partial", [False, True], ids=["strict", "allow-partial"])
def test_a_cik_of_another_company_is_refused_on_refresh(small, server, allow_partial):
    """AMD's row given Micron's CIK 723125: SEC's body names 'Micron Technology, Inc.', so the refresh fails
    (even with --allow-partial) with one line naming AMD, CIK 723125 and both names; data/ unchanged."""
    _add_row(small, "AMD,Advanced Micro Devices,upstream,GPU,723125,12,true,USD,AMD,companyfacts,")
    rec.serve(server, tickers=["NVDA", "META", "MU"])
    before = rec.digests(small)
    with pytest.raises(RefreshError) as info:
        _refresh(allow_partial=allow_partial)
    lines = [line for line in info.value.lines if line.startswith("universe:")]
    assert lines == ["universe: AMD: CIK 723125 is 'Micron Technology, Inc.' at SEC, but data/universe.csv names "
                     "'Advanced Micro Devices': the row's cik (or name) is wrong"]
    assert rec.digests(small) == before


# --------------------------------------------------------------------------- names: SEC's spelling and the row's
@pytest.mark.fast
@pytest.mark.parametrize(("ours", "sec", "same"), [
    ("Amazon.com", "AMAZON COM INC", True),
    ("NVIDIA Corporation", "NVIDIA CORP", True),
    ("Taiwan Semiconductor Manufacturing", "TAIWAN SEMICONDUCTOR MANUFACTURING CO LTD", True),
    ("Nebius Group", "Nebius Group N.V.", True),
    ("Oracle Corporation", "ORACLE CORP /DE/", True),
    ("ServiceNow", "SERVICENOW, INC.", True),
    ("Super Micro Computer", "Super Micro Computer, Inc.", True),
    ("Advanced Micro Devices", "MICRON TECHNOLOGY INC", False),
    ("Micron Technology", "Micron Semiconductor Products", False),
    ("Intel Corporation", "Intel Holdings Group Ltd", True),
])
def test_same_entity_ignores_case_punctuation_and_legal_forms_only(ours, sec, same):
    """Names compare equal after dropping case, punctuation and legal-form suffixes, and only then."""
    assert same_entity(ours, sec) is same


@pytest.mark.fast
def test_normalised_name_known_answers():
    """'Amazon.com' and 'AMAZON COM INC' both reduce to 'amazoncom'; 'N.V.' joins up and is dropped."""
    assert normalised_name("Amazon.com") == normalised_name("AMAZON COM INC") == "amazoncom"
    assert normalised_name("ASML Holding N.V.") == "asml"
    assert normalised_name("Inc") == "inc"  # nothing but a suffix: the name's own word stays


@pytest.mark.rawdata
def test_every_row_matches_its_raw_companyfacts_entity_name(raw_dir):
    """Every companyfacts row's name is SEC's entity name up to case, punctuation and suffixes (no false refusal)."""
    u = universe()
    for row in u[u["sec_source"].eq("companyfacts").fillna(False)].itertuples(index=False):
        path = raw_dir / "sec" / f"{row.ticker}.companyfacts.json"
        if path.exists():
            doc = json.loads(path.read_text(encoding="utf-8"))
            assert same_entity(row.name, doc["entityName"]), (row.ticker, row.name, doc["entityName"])


@pytest.mark.network
@pytest.mark.allow_hosts(["127.0.0.1"])
def test_fetch_all_reports_a_mismatch_apart_from_failures(small, server, tmp_path):
    """Micron's body served for a row named AMD lands in 'mismatched' (not 'failed'); nothing is written for it."""
    rec.serve(server, tickers=["NVDA", "MU"])
    rows = pd.DataFrame({"ticker": ["NVDA", "AMD"], "cik": [1045810, 723125],
                         "name": ["NVIDIA Corporation", "Advanced Micro Devices"]})
    with SecClient(Settings.from_env()) as client:
        result = fetch_all(rows, tmp_path / "sec", client, progress=False)
        with pytest.raises(EntityMismatchError, match="CIK 723125 is 'Micron Technology, Inc.'"):
            client.fetch_companyfacts("AMD", 723125, "Advanced Micro Devices")
    assert set(result.fetched) == {"NVDA"} and result.failed == {}
    assert list(result.mismatched) == ["AMD"]
    assert not (tmp_path / "sec" / "AMD.companyfacts.json").exists()


# --------------------------------------------------------------------------- offline: a CIK the snapshot was not built with
@pytest.mark.fast
def test_a_changed_cik_is_flagged_offline_with_one_line(data_copy):
    """AMD's row given Micron's CIK: the snapshot's manifest records that AMD's filings were read under CIK
    2488, so financials() refuses with one line naming AMD and both CIKs."""
    path = data_copy / "universe.csv"
    path.write_text(path.read_text().replace("AMD,Advanced Micro Devices,upstream,GPU,2488,",
                                             "AMD,Advanced Micro Devices,upstream,GPU,723125,"))
    with pytest.raises(SourceFileError) as info:
        financials("NVDA")
    message = str(info.value)
    assert "\n" not in message
    assert "(AMD): cik 723125 differs from CIK 2488" in message
    assert "recorded in the snapshot's manifest" in message


@pytest.mark.fast
def test_the_committed_universe_agrees_with_the_snapshot_ciks(data_copy):
    """No false alarm: every row's CIK agrees with the committed snapshot, whose manifest records the CIK
    each company's filings were read under (MSFT's too, whose accessions are all a filing agent's)."""
    manifest = snapshot.manifest()
    assert cik_mismatches(universe(), manifest) == []
    assert snapshot_cik("MSFT", manifest["companies"]) == (789019, "recorded in the snapshot's manifest")
    assert snapshot_cik("NVDA", manifest["companies"])[0] == 1045810
    without = {t: {k: v for k, v in c.items() if k != "cik"} for t, c in manifest["companies"].items()}
    assert snapshot_cik("MSFT", without) is None  # a filing agent's accessions alone say nothing


@pytest.mark.fast
def test_snapshot_cik_prefers_the_manifest_and_ignores_filing_agents():
    """A recorded CIK wins; prefixes shared with another company or a known agent (0001193125) say nothing;
    a company's own prefix on under half its accessions is not enough."""
    companies = {
        "A": {"cik": 11, "accessions": ["0000000099-20-000001"]},
        "B": {"accessions": ["0001193125-20-000001", "0001193125-20-000002"]},
        "C": {"accessions": ["0000000077-20-000001", "0000000055-20-000001", "0000000055-20-000002"]},
        "D": {"accessions": ["0000000055-21-000003"]},
        "E": {"accessions": ["0000000033-20-000001", "0000000044-20-000002", "0000000044-20-000003"]},
    }
    assert snapshot_cik("A", companies) == (11, "recorded in the snapshot's manifest")
    assert snapshot_cik("B", companies) is None
    assert snapshot_cik("C", companies) is None  # 55 is shared with D; 77 is on 1 of 3
    assert snapshot_cik("E", companies)[0] == 44
    table = pd.DataFrame({"ticker": ["A", "E"], "cik": pd.array([12, 44], dtype="Int64"),
                          "sec_source": pd.array(["companyfacts"] * 2, dtype="string")})
    lines = cik_mismatches(table, {"companies": companies})
    assert len(lines) == 1 and lines[0].startswith("data/universe.csv (A): cik 12 differs from CIK 11")


@pytest.mark.fast
def test_check_rows_is_empty_for_a_good_row_and_names_unknown_columns():
    """A well-formed SMCI row gives no problem; a 'color' column is named with the columns allowed."""
    header = ["ticker", "name", "layer", "sub_layer", "cik", "fiscal_year_end_month", "fiscal_52_53_week",
              "currency", "price_ticker", "sec_source", "colour"]
    assert check_rows(header, [(2, rec.SMCI_ROW.split(","))], "u.csv") == []
    problems = check_rows([*header[:-1], "color"], [], "u.csv")
    assert problems == ["u.csv: unknown column(s) color; the columns are: ticker, name, layer, sub_layer, cik, "
                        "fiscal_year_end_month, fiscal_52_53_week, currency, price_ticker, sec_source, colour"]


# --------------------------------------------------------------------------- online: refresh adds the company
@pytest.mark.network
@pytest.mark.allow_hosts(["127.0.0.1"])
def test_refresh_adds_a_new_company_with_its_whole_history(small, server):
    """SMCI added to the universe: refresh fetches its companyfacts (stand-in body, 13 quarters of revenue to
    2026-03-31) and its whole price history from the snapshot's first price date (2026-01-02) to 2026-09-28,
    exactly as downloaded, and the validation accepts a company and a ticker that are new."""
    _add_row(small)
    with pytest.raises(NotYetFetchedError):
        financials("SMCI")
    rec.serve(server, tickers=["NVDA", "META", "SMCI"])
    result = _refresh()
    snapshot.load_table.cache_clear()
    assert result.diff["added"] == {"financials": ["SMCI"], "prices": ["SMCI"]}
    revenue = financials("SMCI", metrics="revenue").dropna(subset=["value"])
    quarters = revenue[revenue["freq"] == "Q"]
    assert len(quarters) == 13 and quarters["period_end"].max() == pd.Timestamp("2026-03-31")
    assert set(revenue["source"]) == {"SEC EDGAR XBRL companyfacts"}
    table = snapshot.load_table("prices")
    smci = table[table["ticker"] == "SMCI"].reset_index(drop=True)
    download = rec.recorded_prices()
    download = download[(download["Ticker"] == "SMCI") & (download["Date"] < TODAY)].reset_index(drop=True)
    assert smci["date"].min() == table["date"].min() == pd.Timestamp("2026-01-02")
    assert smci["date"].max() == pd.Timestamp("2026-09-28")
    pd.testing.assert_series_equal(smci["close"], download["Close"], check_names=False, rtol=1e-12)
    assert smci["total_return_index"].iloc[0] == pytest.approx(smci["close"].iloc[0], rel=1e-12)
    assert (smci[["currency", "close_source", "close_method"]].drop_duplicates().values.tolist()
            == [["USD", "yfinance", "raw close"]])
    assert snapshot.manifest()["companies"]["SMCI"]["cik"] == 1375365
    assert lacking_in_snapshot() == {}


@pytest.mark.network
@pytest.mark.allow_hosts(["127.0.0.1"])
def test_a_new_ticker_yfinance_cannot_get_fails_unless_partial(small, server):
    """No rows for SMCI: the strict refresh fails naming it (data/ unchanged); with allow_partial its filings
    are added, its prices are not, the diff says so, and the row stays 'not yet fetched' for prices only."""
    _add_row(small)
    rec.serve(server, tickers=["NVDA", "META", "SMCI"])
    before = rec.digests(small)
    with pytest.raises(RefreshError, match=r"prices: no data for 1 of 4 tickers: SMCI"):
        _refresh(download=rec.FakeDownload(missing={"SMCI"}))
    assert rec.digests(small) == before
    result = _refresh(download=rec.FakeDownload(missing={"SMCI"}), allow_partial=True)
    snapshot.load_table.cache_clear()
    assert result.diff["added"] == {"financials": ["SMCI"], "prices": []}
    assert result.diff["not_refreshed"]["SMCI"].startswith("price series not added")
    assert lacking_in_snapshot() == {"SMCI": ["prices"]}


@pytest.mark.fast
def test_new_price_series_rebases_the_total_return_on_the_first_close():
    """close 10, 11, 12.1 with adjusted 5, 5.5, 6.6: total return 10, 11, 13.2 (returns of the adjusted
    close, level of the first close); an adjusted close missing on a day is refused."""
    frame = pd.DataFrame({"date": pd.to_datetime(["2026-01-05", "2026-01-02", "2026-01-06"]),
                          "close": [11.0, 10.0, 12.1], "adj_close": [5.5, 5.0, 6.6]})
    out = new_price_series("SMCI", frame, "yfinance")
    assert out["date"].dt.strftime("%Y-%m-%d").tolist() == ["2026-01-02", "2026-01-05", "2026-01-06"]
    assert out["total_return_index"].round(10).tolist() == [10.0, 11.0, 13.2]
    assert out["currency"].unique().tolist() == ["USD"]
    with pytest.raises(SourceFileError, match="no adjusted close on 2026-01-05"):
        new_price_series("SMCI", frame.assign(adj_close=[None, 5.0, 6.6]), "yfinance")
