"""The committed snapshot: its manifest, its invariants, atomic writes, and what `validate` refuses.

Speed of loading is measured in ``benchmarks/bench_snapshot_load.py``, not here.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import valuechain_lib as vl
from tests.data.recorded import recorded as rec
from valuechain_lib.errors import SnapshotError
from valuechain_lib.paths import DEFAULT_DATA_DIR
from valuechain_lib.snapshot import build as snapshot_build
from valuechain_lib.snapshot import store as snapshot

KEY = ["ticker", "metric", "freq", "fiscal_year", "fiscal_period"]
SHA256 = re.compile(r"[0-9a-f]{64}")


@pytest.fixture(scope="module")
def fin():
    return vl.load_table("financials")


@pytest.fixture(scope="module")
def man():
    return vl.manifest()


# --- (a) the committed snapshot --------------------------------------------------------------------------

@pytest.mark.fast
def test_manifest_lists_every_company_with_sec_data(man):
    companies = vl.universe()
    with_sec = set(companies.loc[companies["sec_source"].notna(), "ticker"])
    assert set(man["companies"]) == with_sec
    assert set(man["companies_without_sec_data"]) == set(companies["ticker"]) - with_sec
    for ticker, entry in man["companies"].items():
        assert entry["source"], ticker
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry["latest_period_end"]), ticker
        if ticker == "CRWV":  # the flujo source carries no accession numbers
            assert "flujo" in entry["source"] and entry["accessions"] == []
        else:
            assert entry["accessions"], ticker
            assert all(re.fullmatch(r"\d{10}-\d{2}-\d{6}", a) for a in entry["accessions"]), ticker


@pytest.mark.fast
def test_manifest_sources_have_sha256(man):
    sources = man["sources"]
    assert sources
    for item in sources:
        assert SHA256.fullmatch(item["sha256"]), item
        assert item["bytes"] > 0, item
    with_files = {item["ticker"] for item in sources if item["ticker"]}
    assert with_files == set(man["companies"])  # every company's raw files are listed
    paths = [item["path"] for item in sources]
    assert len(paths) == len(set(paths))
    assert "sec/CRWV.flujo-sec.json" in paths
    assert any(p.startswith("sec/supplement/TSM/") for p in paths)


@pytest.mark.fast
def test_manifest_table_checksums_match_the_files(man):
    folder = snapshot.snapshot_dir()
    for name, entry in man["tables"].items():
        path = folder / entry["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], name
        assert len(vl.load_table(name)) == entry["rows"], name


@pytest.mark.fast
def test_latest_period_in_manifest_is_latest_in_financials(fin, man):
    for ticker, entry in man["companies"].items():
        rows = fin[fin["ticker"] == ticker]
        assert f"{rows['period_end'].max():%Y-%m-%d}" == entry["latest_period_end"], ticker
        with_value = rows[rows["value"].notna()]
        assert f"{with_value['period_end'].max():%Y-%m-%d}" == entry["latest_period_end"], ticker


@pytest.mark.fast
def test_no_duplicate_periods(fin):
    dup = fin[fin.duplicated(KEY, keep=False)]
    assert dup.empty, dup[KEY].head().to_string()


@pytest.mark.fast
def test_every_missing_value_has_a_reason(fin):
    silent = fin[fin["value"].isna() & fin["missing_reason"].isna()]
    assert silent.empty, silent[KEY].head().to_string()
    # ... and no value carries a missing reason.
    assert fin.loc[fin["value"].notna(), "missing_reason"].isna().all()


@pytest.mark.fast
def test_capex_is_a_positive_outflow(fin):
    capex = fin.loc[fin["metric"] == "capex", "value"].dropna()
    assert len(capex) > 500
    assert (capex >= 0).all()


@pytest.mark.fast
@pytest.mark.parametrize(("ticker", "mention"), [("MSFT", "msft:DepreciationAmortizationAndOther"),
                                                 ("GOOGL", "company-specific tag")])
def test_company_tagged_da_is_missing_with_its_reason(fin, ticker, mention):
    rows = fin[(fin["ticker"] == ticker) & (fin["metric"] == "depreciation_amortization")]
    assert len(rows) > 0
    assert rows["value"].isna().all()
    assert rows["missing_reason"].str.contains(mention, regex=False).all(), rows["missing_reason"].unique()


@pytest.mark.fast
def test_oracle_gross_profit_after_fiscal_2019_is_missing_with_a_reason(fin):
    rows = fin[(fin["ticker"] == "ORCL") & (fin["metric"] == "gross_profit") & (fin["fiscal_year"] > 2019)]
    assert len(rows) > 0
    assert rows["value"].isna().all()
    assert rows["missing_reason"].notna().all()
    # Before it stopped, Oracle's gross profit is there.
    earlier = fin[(fin["ticker"] == "ORCL") & (fin["metric"] == "gross_profit") & (fin["fiscal_year"] <= 2018)]
    assert earlier["value"].notna().any()


@pytest.mark.fast
@pytest.mark.regression
def test_oracle_gross_profit_gap_gives_oracles_own_reason_in_every_quarter(fin):
    """`quarters.reason_for`: "The company's own reason comes first" — also for Q2-Q4, not only Q1 and TTM."""
    rows = fin[(fin["ticker"] == "ORCL") & (fin["metric"] == "gross_profit") & (fin["fiscal_year"] > 2019)]
    wrong = rows[~rows["missing_reason"].str.contains("Oracle stopped reporting gross profit", regex=False)]
    assert wrong.empty, (f"{len(wrong)} of {len(rows)} rows, e.g. "
                         f"{wrong[KEY + ['missing_reason']].head(3).to_string()}")


@pytest.mark.fast
@pytest.mark.regression
@pytest.mark.parametrize(("ticker", "metric"), [("MSFT", "depreciation_amortization"), ("ORCL", "gross_profit")])
def test_fiscal_year_view_shows_missing_years_with_reason(ticker, metric):
    """A metric a company lacks appears as NaN rows with the reason (tidy_periods docstring) in FY too."""
    years = vl.financials(ticker, freq="FY", metrics=metric)
    revenue_years = set(vl.financials(ticker, freq="FY", metrics="revenue")["fiscal_year"])
    assert set(years["fiscal_year"]) == revenue_years, (
        f"{ticker} {metric}: FY rows for {sorted(set(years['fiscal_year']))}, revenue has {sorted(revenue_years)}")
    assert years.loc[years["value"].isna(), "missing_reason"].notna().all()


# --- (b) atomic writes -----------------------------------------------------------------------------------



def _current_tables() -> dict:
    tables = {name: snapshot.load_table(name) for name in snapshot.TABLE_FILES}
    tables["manifest"] = snapshot.manifest()
    return tables


def _no_staging_left(data: Path) -> bool:
    return not list(data.glob(".snapshot-new-*"))


@pytest.mark.slow
def test_failed_table_write_leaves_previous_snapshot_intact(data_copy, monkeypatch):
    before = rec.digests(data_copy / "snapshot")
    tables = _current_tables()
    calls = []
    real_write = snapshot_build._write_table

    def failing_write(frame, path):
        calls.append(path.name)
        if len(calls) == 3:
            raise OSError("disk full (simulated) while writing the third table")
        real_write(frame, path)

    monkeypatch.setattr(snapshot_build, "_write_table", failing_write)
    with pytest.raises(OSError, match="simulated"):
        snapshot_build.write_snapshot(tables)
    assert len(calls) == 3
    assert rec.digests(data_copy / "snapshot") == before
    assert _no_staging_left(data_copy)
    assert not (data_copy / "snapshot.previous").exists()


@pytest.mark.slow
def test_failed_swap_leaves_previous_snapshot_intact(data_copy, monkeypatch):
    before = rec.digests(data_copy / "snapshot")
    tables = _current_tables()

    def failing_swap(staging, target):
        raise OSError("rename failed (simulated)")

    monkeypatch.setattr(snapshot_build, "_swap_in", failing_swap)
    with pytest.raises(OSError, match="simulated"):
        snapshot_build.write_snapshot(tables)
    assert rec.digests(data_copy / "snapshot") == before
    assert _no_staging_left(data_copy)


@pytest.mark.fast
def test_rejected_snapshot_leaves_previous_snapshot_intact(data_copy):
    before = rec.digests(data_copy / "snapshot")
    tables = _current_tables()
    fin = tables["financials"]
    tables["financials"] = pd.concat([fin, fin[(fin["ticker"] == "NVDA") & (fin["metric"] == "revenue")].head(1)],
                                     ignore_index=True)
    with pytest.raises(SnapshotError, match="duplicate period NVDA revenue"):
        snapshot_build.write_snapshot(tables)
    assert rec.digests(data_copy / "snapshot") == before
    assert _no_staging_left(data_copy)


@pytest.mark.slow
def test_successful_rewrite_round_trips(data_copy):
    tables = _current_tables()
    snapshot_build.write_snapshot(tables)
    assert _no_staging_left(data_copy)
    assert not (data_copy / "snapshot.previous").exists()
    snapshot.load_table.cache_clear()
    for name in ("financials", "facts_reported", "restatements", "crosschecks"):
        pd.testing.assert_frame_equal(snapshot.load_table(name), tables[name], obj=name)
    # The table files are byte-identical to the committed ones (only the manifest's build time differs).
    committed = rec.digests(DEFAULT_DATA_DIR / "snapshot")
    rewritten = rec.digests(data_copy / "snapshot")
    for filename in snapshot.TABLE_FILES.values():
        assert rewritten[filename] == committed[filename], filename


@pytest.mark.fast
def test_interrupted_swap_still_loads_previous_snapshot(data_copy):
    """Killed between the two renames of `_swap_in`: snapshot → snapshot.previous, no new snapshot yet."""
    expected = snapshot.load_table("financials")
    expected_manifest = snapshot.manifest()
    (data_copy / "snapshot").rename(data_copy / "snapshot.previous")
    snapshot.load_table.cache_clear()
    assert not (data_copy / "snapshot").exists()
    pd.testing.assert_frame_equal(vl.load_table("financials"), expected)
    assert vl.manifest() == expected_manifest
    got = vl.financials("NVDA", metrics="revenue")
    assert len(got) > 0


@pytest.mark.fast
def test_missing_snapshot_raises_with_instructions(data_copy):
    shutil.rmtree(data_copy / "snapshot")
    snapshot.load_table.cache_clear()
    with pytest.raises(SnapshotError, match="python -m valuechain_lib snapshot"):
        vl.load_table("financials")


# --- (c) validate refuses --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def valid_tables():
    tables = {name: vl.load_table(name) for name in ("financials", "facts_reported", "restatements", "prices",
                                                     "vintages")}
    return tables


def _previous(tables):
    return {"financials": tables["financials"], "prices": tables["prices"]}


@pytest.mark.fast
def test_validate_accepts_the_committed_snapshot(valid_tables):
    snapshot_build.validate(valid_tables, _previous(valid_tables))


@pytest.mark.fast
def test_validate_refuses_a_lost_company(valid_tables):
    new = dict(valid_tables)
    new["financials"] = valid_tables["financials"][valid_tables["financials"]["ticker"] != "AMD"]
    with pytest.raises(SnapshotError, match=r"companies lost.*AMD"):
        snapshot_build.validate(new, _previous(valid_tables))


@pytest.mark.fast
def test_validate_refuses_a_vanished_metric(valid_tables):
    new = dict(valid_tables)
    fin = valid_tables["financials"].copy()
    gone = (fin["ticker"] == "META") & (fin["metric"] == "capex")
    fin.loc[gone, "value"] = np.nan
    fin.loc[gone, "missing_reason"] = "simulated: tag no longer mapped"
    new["financials"] = fin
    with pytest.raises(SnapshotError, match=r"metrics that had values.*'META', 'capex'"):
        snapshot_build.validate(new, _previous(valid_tables))


@pytest.mark.fast
def test_validate_refuses_a_value_missing_without_reason(valid_tables):
    new = dict(valid_tables)
    fin = valid_tables["financials"].copy()
    row = fin.index[(fin["ticker"] == "AVGO") & (fin["metric"] == "revenue") & (fin["freq"] == "FY")
                    & (fin["fiscal_year"] == 2025)]
    assert len(row) == 1
    fin.loc[row, "value"] = np.nan
    new["financials"] = fin
    with pytest.raises(SnapshotError, match=r"AVGO revenue FY2025 FY is missing without a reason"):
        snapshot_build.validate(new)


@pytest.mark.fast
def test_validate_refuses_a_duplicate_period(valid_tables):
    new = dict(valid_tables)
    fin = valid_tables["financials"]
    extra = fin[(fin["ticker"] == "CRM") & (fin["metric"] == "net_income") & (fin["freq"] == "Q")].tail(1)
    new["financials"] = pd.concat([fin, extra], ignore_index=True)
    year, period = extra.iloc[0]["fiscal_year"], extra.iloc[0]["fiscal_period"]
    with pytest.raises(SnapshotError, match=rf"duplicate period CRM net_income Q FY{year} {period}"):
        snapshot_build.validate(new)
