"""Readers of SEC fact files (`valuechain_lib.sources.sec`): layouts read, and errors that name file, company and field.

Inputs are tiny documents written to ``tmp_path`` in SEC's companyfacts layout, the trimmed wrapper
layout, the single-concept layout and the third-party flujo layout.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from valuechain_lib.errors import SourceFileError, UnknownMetricError, UnknownTickerError
from valuechain_lib.snapshot.standardize import check_metric
from valuechain_lib.snapshot.universe import check_tickers, company, universe
from valuechain_lib.sources.sec import (
    RAW_COLUMNS,
    SOURCE_COMPANYFACTS,
    SOURCE_FLUJO,
    read_company,
    read_companyfacts,
    read_concept_file,
    read_flujo,
    source_files,
)

NVDA_CIK = 1045810
# Two real NVDA facts (FY2027 Q1 revenue, 10-Q 0001045810-26-000052).
REV_Q1 = {"start": "2026-01-26", "end": "2026-04-26", "val": 81615000000, "accn": "0001045810-26-000052",
          "fy": 2027, "fp": "Q1", "form": "10-Q", "filed": "2026-05-20", "frame": "CY2026Q1"}
CASH = {"end": "2026-04-26", "val": 1000, "accn": "0001045810-26-000052", "fy": 2027, "fp": "Q1",
        "form": "10-Q", "filed": "2026-05-20"}


def _concepts(**tags):
    return {tag: {"label": tag, "description": "", "units": {"USD": facts}} for tag, facts in tags.items()}


def sec_layout(cik=NVDA_CIK, **tags):
    """SEC's own companyfacts response: cik, entityName, facts with us-gaap and dei."""
    return {"cik": cik, "entityName": "NVIDIA CORP",
            "facts": {"dei": {"EntityCommonStockSharesOutstanding": {
                "label": "shares", "units": {"shares": [{"end": "2026-05-15", "val": 24, "accn": "x"}]}}},
                "us-gaap": _concepts(**tags)}}


def wrapper_layout(cik=NVDA_CIK, **tags):
    """The trimmed wrapper some projects save: ticker, entityName, cik, fetched, facts (us-gaap only)."""
    return {"ticker": "NVDA", "entityName": "NVIDIA CORP", "cik": cik, "fetched": "2026-07-24",
            "facts": {"us-gaap": _concepts(**tags)}}


def _write(path, doc):
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


# --- companyfacts layouts ----------------------------------------------------------------------


@pytest.mark.fast
@pytest.mark.parametrize("layout", [sec_layout, wrapper_layout])
def test_read_companyfacts_both_layouts(tmp_path, layout):
    """Both layouts give the one us-gaap revenue fact (81,615,000,000 USD, its accession), dei skipped."""
    path = _write(tmp_path / "NVDA.companyfacts.json", layout(Revenues=[REV_Q1]))
    raw = read_companyfacts(path, "NVDA", cik=NVDA_CIK)
    assert list(raw.columns) == RAW_COLUMNS
    assert len(raw) == 1
    row = raw.iloc[0]
    assert (row["ticker"], row["taxonomy"], row["tag"], row["unit"]) == ("NVDA", "us-gaap", "Revenues", "USD")
    assert row["value"] == 81_615_000_000
    assert row["accession"] == "0001045810-26-000052"
    assert (row["start"], row["end"]) == (pd.Timestamp("2026-01-26"), pd.Timestamp("2026-04-26"))
    assert row["source"] == SOURCE_COMPANYFACTS
    assert row["source_file"] == str(path)


@pytest.mark.fast
def test_instant_fact_has_no_start(tmp_path):
    """A balance-sheet fact has no 'start': start is NaT, end is the instant."""
    path = _write(tmp_path / "f.json", sec_layout(CashAndCashEquivalentsAtCarryingValue=[CASH]))
    raw = read_companyfacts(path, "NVDA", cik=NVDA_CIK)
    assert pd.isna(raw.loc[0, "start"]) and raw.loc[0, "end"] == pd.Timestamp("2026-04-26")


@pytest.mark.fast
def test_cik_with_prefix_and_zeros_is_accepted(tmp_path):
    """SEC writes CIKs as 'CIK0001045810' in file names and sometimes zero-padded: it equals 1045810."""
    path = _write(tmp_path / "f.json", sec_layout(cik="CIK0001045810", Revenues=[REV_Q1]))
    assert len(read_companyfacts(path, "NVDA", cik=NVDA_CIK)) == 1


@pytest.mark.fast
def test_text_argument_reads_in_memory_body(tmp_path):
    """A live download's body passed as text is read without touching the path."""
    raw = read_companyfacts(tmp_path / "not-written.json", "NVDA", cik=NVDA_CIK,
                            text=json.dumps(sec_layout(Revenues=[REV_Q1])))
    assert raw["value"].tolist() == [81_615_000_000]


# --- companyfacts errors -----------------------------------------------------------------------


@pytest.mark.fast
def test_wrong_company_file_names_both_ciks(tmp_path):
    """A file for CIK 789019 (Microsoft) read as NVDA (1045810): SourceFileError naming both CIKs and NVDA."""
    path = _write(tmp_path / "NVDA.companyfacts.json", wrapper_layout(cik=789019, Revenues=[REV_Q1]))
    with pytest.raises(SourceFileError, match="789019") as info:
        read_companyfacts(path, "NVDA", cik=NVDA_CIK)
    assert "1045810" in str(info.value) and "NVDA" in str(info.value)


@pytest.mark.fast
def test_malformed_json_names_file_and_ticker(tmp_path):
    """An unquoted key is malformed JSON: SourceFileError naming NVDA, the path and 'malformed'."""
    path = _write(tmp_path / "NVDA.companyfacts.json", '{"cik": 1045810, facts: {}}')
    with pytest.raises(SourceFileError, match="malformed JSON") as info:
        read_companyfacts(path, "NVDA", cik=NVDA_CIK)
    assert "NVDA" in str(info.value) and str(path) in str(info.value)


@pytest.mark.fast
def test_truncated_json_cut_in_half(tmp_path):
    """A valid file cut in half (after a comma) raises SourceFileError saying 'truncated', naming NVDA and the path."""
    text = json.dumps(sec_layout(Revenues=[REV_Q1, {**REV_Q1, "val": 1}]))
    cut = text.rindex(",", 0, len(text) // 2) + 1
    path = _write(tmp_path / "NVDA.companyfacts.json", text[:cut])
    with pytest.raises(SourceFileError, match="truncated JSON") as info:
        read_companyfacts(path, "NVDA", cik=NVDA_CIK)
    assert "NVDA" in str(info.value) and str(path) in str(info.value)


@pytest.mark.fast
@pytest.mark.regression
def test_truncated_inside_a_string_is_called_truncated(tmp_path):
    """A download cut in the middle of a string ('..."us-gaap": {"Rev') ends the file unterminated: the
    error must say 'truncated', not 'malformed' (the parser reports the string's start position)."""
    text = json.dumps(sec_layout(Revenues=[REV_Q1]))
    cut = text.index('"Revenues"') + 4
    path = _write(tmp_path / "NVDA.companyfacts.json", text[:cut])
    with pytest.raises(SourceFileError, match="truncated JSON"):
        read_companyfacts(path, "NVDA", cik=NVDA_CIK)


@pytest.mark.fast
@pytest.mark.parametrize("body", ["", "   \n"])
def test_empty_file(tmp_path, body):
    """An empty (or blank) file raises SourceFileError saying 'empty', naming NVDA."""
    path = _write(tmp_path / "NVDA.companyfacts.json", body)
    with pytest.raises(SourceFileError, match="empty file") as info:
        read_companyfacts(path, "NVDA", cik=NVDA_CIK)
    assert "NVDA" in str(info.value)


@pytest.mark.fast
def test_missing_file_names_path(tmp_path):
    """A file that does not exist raises SourceFileError naming the ticker and path."""
    path = tmp_path / "NVDA.companyfacts.json"
    with pytest.raises(SourceFileError, match="NVDA: cannot read"):
        read_companyfacts(path, "NVDA")


@pytest.mark.fast
def test_not_a_companyfacts_document(tmp_path):
    """Valid JSON without a 'facts' object (e.g. a list) is refused, naming the file."""
    path = _write(tmp_path / "NVDA.companyfacts.json", [1, 2, 3])
    with pytest.raises(SourceFileError, match="no 'facts' object"):
        read_companyfacts(path, "NVDA")


@pytest.mark.fast
def test_fact_without_end_names_tag(tmp_path):
    """A fact lacking 'end' raises SourceFileError naming the concept and the missing field."""
    bad = {k: v for k, v in REV_Q1.items() if k != "end"}
    path = _write(tmp_path / "f.json", sec_layout(Revenues=[bad]))
    with pytest.raises(SourceFileError, match="us-gaap:Revenues") as info:
        read_companyfacts(path, "NVDA")
    assert "end" in str(info.value)


@pytest.mark.fast
def test_unreadable_value_names_tag_and_accession(tmp_path):
    """A value 'n/a' raises SourceFileError naming the tag and accession of the bad fact."""
    path = _write(tmp_path / "f.json", sec_layout(Revenues=[{**REV_Q1, "val": "n/a"}]))
    with pytest.raises(SourceFileError, match="Revenues") as info:
        read_companyfacts(path, "NVDA")
    assert "0001045810-26-000052" in str(info.value)


@pytest.mark.fast
def test_concept_without_units(tmp_path):
    """A concept with no 'units' mapping is refused, naming it."""
    doc = sec_layout()
    doc["facts"]["us-gaap"]["Revenues"] = {"label": "Revenues"}
    path = _write(tmp_path / "f.json", doc)
    with pytest.raises(SourceFileError, match="us-gaap:Revenues has no 'units'"):
        read_companyfacts(path, "NVDA")


# --- single-concept files ----------------------------------------------------------------------


@pytest.mark.fast
def test_read_concept_file(tmp_path):
    """A supplement concept file gives its facts under the given taxonomy, the tag from 'concept'."""
    doc = {"concept": "CostOfRevenue", "label": "Cost", "description": "", "units": {"USD": [
        {**REV_Q1, "val": 20_000_000_000}]}}
    raw = read_concept_file(_write(tmp_path / "CostOfRevenue.json", doc), "NVDA")
    assert (raw.loc[0, "taxonomy"], raw.loc[0, "tag"], raw.loc[0, "value"]) == ("us-gaap", "CostOfRevenue", 2e10)


@pytest.mark.fast
def test_concept_file_without_concept_field(tmp_path):
    """A file without 'concept' is not a single-concept file: SourceFileError naming NVDA."""
    with pytest.raises(SourceFileError, match="NVDA: .*no 'concept' field"):
        read_concept_file(_write(tmp_path / "x.json", {"units": {}}), "NVDA")


# --- flujo -------------------------------------------------------------------------------------


def flujo_doc(cik=1769628):
    """CRWV-shaped flujo file: one 10-K and one year-to-date 10-Q record, income items and a balance."""
    def record(year, quarter, form, start, end, filed, revenue, cash):
        return {"year": year, "quarter": quarter, "form": form, "startDate": start, "endDate": end,
                "filedDate": filed, "report": {
                    "ic": [{"concept": "us-gaap_RevenueFromContractWithCustomerExcludingAssessedTax",
                            "value": revenue, "unit": "USD"},
                           {"concept": "us-gaap_EarningsPerShareBasic", "value": -2.75, "unit": "USD/shares"}],
                    "bs": [{"concept": "us-gaap_CashAndCashEquivalentsAtCarryingValue", "value": cash,
                            "unit": "USD"}]}}
    return {"t": "CRWV", "cik": cik, "nombre": "CoreWeave, Inc.", "moneda": "USD",
            "annual": {"data": [record(2025, 0, "10-K", "2025-01-01", "2025-12-31", "2026-03-02",
                                       5_131_000_000, 1_900_000_000)]},
            "quarterly": {"data": [record(2026, 2, "10-Q", "2026-01-01", "2026-06-30", "2026-08-12",
                                          4_653_000_000, 2_100_000_000)]}}


@pytest.mark.fast
def test_read_flujo(tmp_path):
    """Flujo: 6 rows (2 records × 3 items); the 6M YTD revenue 4,653M runs 2026-01-01..06-30; balances have
    no start; no accession; source labelled secondary; fp Q2 from quarter 2."""
    raw = read_flujo(_write(tmp_path / "CRWV.flujo-sec.json", flujo_doc()), "CRWV", cik=1769628)
    assert len(raw) == 6
    rev = raw[(raw["tag"] == "RevenueFromContractWithCustomerExcludingAssessedTax") & (raw["fp"] == "Q2")].iloc[0]
    assert rev["value"] == 4_653_000_000
    assert (rev["start"], rev["end"]) == (pd.Timestamp("2026-01-01"), pd.Timestamp("2026-06-30"))
    assert rev["taxonomy"] == "us-gaap"
    cash = raw[raw["tag"] == "CashAndCashEquivalentsAtCarryingValue"]
    assert cash["start"].isna().all()
    assert raw["accession"].isna().all()
    assert (raw["source"] == SOURCE_FLUJO).all()


@pytest.mark.fast
def test_flujo_wrong_cik(tmp_path):
    """A flujo file with CIK 1513845 (Nebius) read as CRWV (1769628) names both CIKs."""
    path = _write(tmp_path / "CRWV.flujo-sec.json", flujo_doc(cik=1513845))
    with pytest.raises(SourceFileError, match="1513845") as info:
        read_flujo(path, "CRWV", cik=1769628)
    assert "1769628" in str(info.value)


@pytest.mark.fast
def test_flujo_not_flujo(tmp_path):
    """A companyfacts document passed to read_flujo is refused (no annual/quarterly)."""
    with pytest.raises(SourceFileError, match="not a flujo statement file"):
        read_flujo(_write(tmp_path / "x.json", sec_layout()), "CRWV")


@pytest.mark.fast
def test_flujo_record_without_dates(tmp_path):
    """A flujo record without endDate is refused, naming CRWV and the missing key."""
    doc = flujo_doc()
    del doc["quarterly"]["data"][0]["endDate"]
    with pytest.raises(SourceFileError, match="CRWV: .*quarterly record lacks 'endDate'"):
        read_flujo(_write(tmp_path / "x.json", doc), "CRWV")


# --- read_company ------------------------------------------------------------------------------


@pytest.mark.fast
def test_read_company_companyfacts_plus_supplement(tmp_path):
    """Main file (1 revenue fact) + supplement/NVDA/CostOfRevenue.json (1 fact) = 2 rows; both files listed."""
    _write(tmp_path / "NVDA.companyfacts.json", wrapper_layout(Revenues=[REV_Q1]))
    (tmp_path / "supplement" / "NVDA").mkdir(parents=True)
    _write(tmp_path / "supplement" / "NVDA" / "CostOfRevenue.json",
           {"concept": "CostOfRevenue", "label": "", "units": {"USD": [{**REV_Q1, "val": 5}]}})
    raw = read_company(tmp_path, "NVDA", NVDA_CIK, "companyfacts")
    assert sorted(raw["tag"]) == ["CostOfRevenue", "Revenues"]
    assert len(source_files(tmp_path, "NVDA", "companyfacts")) == 2


@pytest.mark.fast
def test_read_company_ifrs_supplement(tmp_path):
    """A supplement folder holding an IFRS-only tag is read as ifrs-full (TSMC)."""
    (tmp_path / "supplement" / "TSM").mkdir(parents=True)
    _write(tmp_path / "supplement" / "TSM" / "Revenue.json",
           {"concept": "Revenue", "label": "", "units": {"TWD": [{**REV_Q1, "val": 7}]}})
    raw = read_company(tmp_path, "TSM", 1046179, "companyfacts", ifrs_only_tags={"Revenue"})
    assert raw["taxonomy"].tolist() == ["ifrs-full"]
    assert raw["unit"].tolist() == ["TWD"]


@pytest.mark.fast
def test_read_company_nothing_there(tmp_path):
    """No companyfacts file and no supplement: SourceFileError naming the ticker."""
    with pytest.raises(SourceFileError, match="AMD: no companyfacts file"):
        read_company(tmp_path, "AMD", 2488, "companyfacts")


@pytest.mark.fast
def test_read_company_flujo_missing_and_unknown_source(tmp_path):
    """A missing flujo file and an unknown sec_source each raise SourceFileError naming the ticker."""
    with pytest.raises(SourceFileError, match="CRWV: raw file"):
        read_company(tmp_path, "CRWV", 1769628, "flujo")
    with pytest.raises(SourceFileError, match="NBIS: unknown sec_source 'xbrl-api'"):
        read_company(tmp_path, "NBIS", 1513845, "xbrl-api")


@pytest.mark.fast
def test_read_company_flujo(tmp_path):
    """read_company with sec_source flujo reads <TICKER>.flujo-sec.json."""
    _write(tmp_path / "CRWV.flujo-sec.json", flujo_doc())
    raw = read_company(tmp_path, "CRWV", 1769628, "flujo")
    assert np.isclose(raw["value"].abs().max(), 5_131_000_000)


# --- universe and metric names ------------------------------------------------------------------


@pytest.mark.fast
def test_unknown_ticker():
    """'NVDIA' (a typo) is not in the universe: UnknownTickerError naming it and suggesting the fix."""
    with pytest.raises(UnknownTickerError, match="'NVDIA'") as info:
        company("NVDIA")
    assert "universe" in str(info.value)
    with pytest.raises(UnknownTickerError, match="'ZZZZ'"):
        check_tickers(["NVDA", "ZZZZ"])


@pytest.mark.fast
def test_known_ticker_row():
    """NVDA: CIK 1045810, fiscal year ends in January, 52/53-week, USD, companyfacts."""
    row = company("NVDA", universe())
    assert (int(row["cik"]), int(row["fiscal_year_end_month"]), bool(row["fiscal_52_53_week"]),
            row["currency"], row["sec_source"]) == (1045810, 1, True, "USD", "companyfacts")


@pytest.mark.fast
def test_unknown_metric():
    """'ebitda' is not canonical: UnknownMetricError naming it and listing canonical metrics."""
    with pytest.raises(UnknownMetricError, match="'ebitda'") as info:
        check_metric("ebitda")
    assert "revenue" in str(info.value)
    assert check_metric("capex") == "capex"
