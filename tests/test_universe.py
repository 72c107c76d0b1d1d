"""The universe validator, one test per error branch: the README promises that adding a company is one row,
so every way that row can be wrong must come back as one line naming the file, line, ticker and field."""

from __future__ import annotations

import pandas as pd
import pytest

from valuechain_lib.errors import SourceFileError
from valuechain_lib.snapshot.universe import LAYERS, SEC_SOURCES, SUB_LAYERS, universe

HEADER = ("ticker,name,layer,sub_layer,cik,fiscal_year_end_month,fiscal_52_53_week,currency,price_ticker,"
          "sec_source,colour")
GOOD = "SMCI,Super Micro Computer,upstream,servers,1375365,6,false,USD,SMCI,companyfacts,#117733"
FIELDS = HEADER.split(",")


def _row(**changes) -> str:
    values = dict(zip(FIELDS, GOOD.split(","), strict=True))
    values.update(changes)
    return ",".join(values[f] for f in FIELDS)


def _load(tmp_path, *lines: str) -> pd.DataFrame:
    path = tmp_path / "universe.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return universe(path)


@pytest.mark.fast
def test_a_new_company_is_one_good_row(tmp_path):
    """A row with every field valid loads, typed: CIK as an integer, the 52/53-week flag as a boolean."""
    table = _load(tmp_path, HEADER, GOOD, "")
    assert table["ticker"].tolist() == ["SMCI"]
    assert int(table.at[0, "cik"]) == 1375365 and not table.at[0, "fiscal_52_53_week"]


@pytest.mark.fast
def test_prices_only_company_may_leave_cik_sec_source_and_colour_empty(tmp_path):
    """A company followed for prices only (no SEC source) needs no CIK; a missing colour is allowed."""
    table = _load(tmp_path, HEADER, _row(cik="", sec_source="", colour=""))
    assert pd.isna(table.at[0, "cik"]) and pd.isna(table.at[0, "sec_source"]) and pd.isna(table.at[0, "colour"])


@pytest.mark.fast
def test_missing_file_is_named(tmp_path):
    """No file at the path: the error names it."""
    with pytest.raises(SourceFileError, match="universe file not found: .*nowhere.csv"):
        universe(tmp_path / "nowhere.csv")


@pytest.mark.fast
def test_missing_column_lists_the_columns(tmp_path):
    """A header without a required column names the missing one and lists all columns."""
    header = HEADER.replace(",currency", "")
    row = ",".join(v for f, v in zip(FIELDS, GOOD.split(","), strict=True) if f != "currency")
    with pytest.raises(SourceFileError, match=r"missing column\(s\) currency; the columns are: ticker, name"):
        _load(tmp_path, header, row)


@pytest.mark.fast
def test_unknown_column_is_named(tmp_path):
    """A column the validator does not know (a typo such as 'color') is named."""
    with pytest.raises(SourceFileError, match=r"unknown column\(s\) color"):
        _load(tmp_path, HEADER.replace("colour", "color"), GOOD)


@pytest.mark.fast
def test_unquoted_comma_makes_a_long_row(tmp_path):
    """A name with an unquoted comma gives more fields than the header: say so and how to fix it."""
    with pytest.raises(SourceFileError, match=r"line 2 \(SMCI\): 12 fields, but the header has 11: a comma inside"):
        _load(tmp_path, HEADER, _row(name="Super Micro Computer, Inc."))


@pytest.mark.fast
def test_short_row_names_the_absent_fields(tmp_path):
    """A row cut short names the required fields it lacks."""
    short = ",".join(GOOD.split(",")[:7])
    with pytest.raises(SourceFileError, match=r"line 2 \(SMCI\): 7 fields, but the header has 11 \(a short row\): "
                                              r"no currency, price_ticker"):
        _load(tmp_path, HEADER, short)


@pytest.mark.fast
def test_empty_required_field(tmp_path):
    """An empty field that may not be empty (the currency) is named."""
    with pytest.raises(SourceFileError, match=r"line 2 \(SMCI\): currency is missing"):
        _load(tmp_path, HEADER, _row(currency=""))


@pytest.mark.fast
def test_sec_source_without_cik(tmp_path):
    """An SEC source needs the company's CIK: an empty CIK with sec_source set is an error."""
    with pytest.raises(SourceFileError, match=r"cik is missing, but sec_source is 'companyfacts'"):
        _load(tmp_path, HEADER, _row(cik=""))


BAD_VALUES = [
    ("ticker", "SUPER MICRO", "must be letters, digits"),
    ("layer", "middle", f"is not one of: {', '.join(LAYERS)}"),
    ("sub_layer", "gpu", f"is not one of: {', '.join(SUB_LAYERS)}"),
    ("cik", "CIK1375365", "is not a CIK"),
    ("fiscal_year_end_month", "13", "is not a month"),
    ("fiscal_52_53_week", "yes", "is not one of: true, false"),
    ("currency", "usd", "is not an ISO 4217 currency code"),
    ("price_ticker", "SMCI US", "must be a Yahoo Finance symbol without spaces"),
    ("sec_source", "edgar", f"is not one of: {', '.join(SEC_SOURCES)}, or empty"),
    ("colour", "green", "is not a #RRGGBB hex colour"),
]


@pytest.mark.fast
@pytest.mark.parametrize(("field", "value", "why"), BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_each_field_rule_names_field_value_and_allowed_values(tmp_path, field, value, why):
    """One bad value per field: the message gives file, line, ticker, field, the value and what is allowed."""
    ticker = value if field == "ticker" else "SMCI"
    with pytest.raises(SourceFileError) as caught:
        _load(tmp_path, HEADER, _row(**{field: value}))
    message = str(caught.value)
    assert f"universe.csv line 2 ({ticker}): {field} {value!r} {why}" in message
    assert len(message.splitlines()) == 1


@pytest.mark.fast
def test_repeated_ticker_points_at_the_first_row(tmp_path):
    """A ticker given twice names the line of its first row: one row a company."""
    with pytest.raises(SourceFileError, match=r"line 3 \(SMCI\): ticker 'SMCI' repeats line 2; one row a company"):
        _load(tmp_path, HEADER, GOOD, GOOD)


@pytest.mark.fast
def test_every_problem_is_reported_at_once(tmp_path):
    """Two bad rows give two lines, so a forker fixes the file in one pass."""
    with pytest.raises(SourceFileError) as caught:
        _load(tmp_path, HEADER, _row(layer="middle"), _row(ticker="SMC2", currency="usd"))
    assert len(str(caught.value).splitlines()) == 2
