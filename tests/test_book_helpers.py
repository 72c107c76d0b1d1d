"""Helpers the book's pages share (`valuechain_lib.publish.book`) and segment margins (`facts.segment_margins`).

Source lines and snapshot dates on the committed snapshot; segment margins hand-checked against the
two fact rows they come from, and perturbed through a copy of ``facts.csv`` in a temporary folder.
"""

from __future__ import annotations

import pandas as pd
import pytest
from numpy.testing import assert_allclose

from valuechain_lib.paths import DEFAULT_DATA_DIR
from valuechain_lib.publish import book
from valuechain_lib.publish import build as book_build
from valuechain_lib.snapshot.facts import SEGMENT_MARGIN_PAIRS, facts, segment_margins
from valuechain_lib.snapshot.financials import financials
from valuechain_lib.snapshot.store import load_table

pytestmark = pytest.mark.fast



@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    """The committed facts table as text cells."""
    return pd.read_csv(DEFAULT_DATA_DIR / "facts.csv", dtype=str, keep_default_na=False)


def _margins_from(monkeypatch, tmp_path, raw: pd.DataFrame) -> pd.DataFrame:
    raw.to_csv(tmp_path / "facts.csv", index=False, encoding="utf-8")
    monkeypatch.setenv("VALUECHAIN_DATA", str(tmp_path))
    return segment_margins()


def _seg(frame: pd.DataFrame, segment: str, period: str) -> pd.Series:
    hit = frame[(frame["segment"] == segment) & (frame["period"] == period)]
    assert len(hit) == 1, f"{segment} {period}: {len(hit)} rows"
    return hit.iloc[0]


# --------------------------------------------------------------------------- sec_source_line
def test_sec_source_line_names_forms_and_companies():
    """NVDA files 10-K and 10-Q: 'SEC EDGAR XBRL filings (10-K, 10-Q) of NVDA; accession numbers …',
    with no secondary-source clause."""
    line = book.sec_source_line(["NVDA"])
    assert line == "SEC EDGAR XBRL filings (10-K, 10-Q) of NVDA; accession numbers in the data download"


def test_sec_source_line_marks_crwv_secondary():
    """CRWV's statements come from flujo (third-party): the line names CRWV only as a secondary source,
    not among the SEC filers, and NVDA only among the filers."""
    line = book.sec_source_line(["NVDA", "CRWV"])
    assert line.startswith("SEC EDGAR XBRL filings (10-K, 10-Q) of NVDA;")
    assert line.endswith(". CRWV: third-party statements derived from its filings (secondary source, "
                         "no accession numbers)")
    assert "NVDA: third-party" not in line


def test_sec_source_line_forms_follow_the_rows():
    """TSM files 20-F and 6-K: the forms listed are exactly the sorted forms of the chosen rows."""
    facts_reported = load_table("facts_reported")
    rows = facts_reported[facts_reported["ticker"].isin(["TSM", "NVDA"])]
    forms = ", ".join(sorted(rows["form"].dropna().unique()))
    assert forms == "10-K, 10-Q, 20-F, 6-K"
    assert book.sec_source_line(["TSM", "NVDA"]).startswith(f"SEC EDGAR XBRL filings ({forms}) of TSM, NVDA;")


def test_sec_source_line_on_a_given_table():
    """A (10-Q, companyfacts) and B (10-K, secondary): the forms listed are A's only, B named as secondary."""
    table = pd.DataFrame({"ticker": ["A", "B", "C"], "form": ["10-Q", "10-K", "8-K"],
                          "source": ["SEC EDGAR XBRL companyfacts", "someone (secondary, third-party)",
                                     "SEC EDGAR XBRL companyfacts"]})
    line = book.sec_source_line(["A", "B"], rows=table)
    assert line == ("SEC EDGAR XBRL filings (10-Q) of A; accession numbers in the data download. "
                    "B: third-party statements derived from its filings (secondary source, no accession numbers)")


def test_sec_source_line_reads_the_rows_it_is_given():
    """The forms named are those of the rows passed: NVDA's 10-Q rows alone give '(10-Q)'; TSM's rows of the
    snapshot give 20-F and 6-K."""
    rows = financials(["NVDA", "TSM"])
    line = book.sec_source_line(["NVDA"], rows=rows[rows["form"] == "10-Q"])
    assert line == "SEC EDGAR XBRL filings (10-Q) of NVDA; accession numbers in the data download"
    assert book.sec_source_line(["TSM"], rows=rows).startswith("SEC EDGAR XBRL filings (20-F, 6-K) of TSM;")


# --------------------------------------------------------------------------- as_of
def test_as_of_filings_is_latest_filed_of_the_tickers():
    """as_of(["NVDA"])["filings"] = max `filed` of NVDA rows in facts_reported (2026-05-20 in this
    snapshot); without tickers it is the max over all companies; prices = latest price date."""
    facts_reported = load_table("facts_reported")
    nvda = facts_reported.loc[facts_reported["ticker"] == "NVDA", "filed"].max()
    dates = book.as_of(["NVDA"])
    assert dates["filings"] == nvda
    assert book.as_of()["filings"] == facts_reported["filed"].max()
    assert dates["filings"] <= book.as_of()["filings"]
    assert dates["prices"] == load_table("prices")["date"].max()
    assert isinstance(dates["built"], pd.Timestamp) and dates["built"].tz is None


def test_as_of_several_tickers_is_latest_among_them():
    """For the hyperscalers the filing date is the latest of their five latest filings."""
    tickers = ["AMZN", "GOOGL", "META", "MSFT", "ORCL"]
    facts_reported = load_table("facts_reported")
    per = facts_reported[facts_reported["ticker"].isin(tickers)].groupby("ticker")["filed"].max()
    assert book.as_of(tickers)["filings"] == per.max()


# --------------------------------------------------------------------------- segment_margins
def test_segment_margin_aws_2023q1_hand_check(raw):
    """AWS 2023-Q1: net sales 21,354 and operating income 5,123 (USD million, both from the 10-Q,
    high confidence, exact) → margin 5,123 / 21,354 = 0.239908 (rtol 1e-12); the medium-confidence
    'about 5,120' estimate of the same quarter is not the one used; approximate False."""
    rev = raw[raw["fact_id"] == "SEG-AWS-2023Q1-REV"].iloc[0]
    oi = raw[raw["fact_id"] == "SEG-AWS-2023Q1-OI"].iloc[0]
    assert (rev["metric"], float(rev["value"]), rev["qualifier"]) == ("net sales", 21354.0, "")
    assert (oi["metric"], float(oi["value"]), oi["qualifier"]) == ("operating income", 5123.0, "")
    row = _seg(segment_margins(), "AWS", "2023-Q1")
    assert (row["revenue"], row["operating_income"]) == (21354.0, 5123.0)
    assert_allclose(row["operating_margin"], 5123.0 / 21354.0, rtol=1e-12)
    assert_allclose(row["operating_margin"], 0.239908, atol=1e-6)
    assert row["fact_ids"] == "SEG-AWS-2023Q1-REV, SEG-AWS-2023Q1-OI"
    assert not bool(row["approximate"])
    assert row["lowest_confidence"] == "high"
    assert row["kinds"] == "filing"


def test_segment_margin_every_row_is_oi_over_revenue():
    """operating_margin = operating_income / revenue on every row (rtol 1e-12)."""
    sm = segment_margins()
    assert len(sm) > 20
    assert_allclose(sm["operating_margin"], sm["operating_income"] / sm["revenue"], rtol=1e-12)


def test_segment_margin_approximate_when_either_is_about():
    """Broadcom FY2025 Q4: revenue 11,072 exact, operating income 'about 6,500' → approximate True,
    margin 6,500 / 11,072 = 0.587066; AMD Data Center 2023-Q3: revenue 'about 1,600', OI 306 exact →
    approximate True, 0.19125; AWS 2025-Q1 both 'about' → True."""
    sm = segment_margins()
    avgo = _seg(sm, "Broadcom Semiconductor Solutions", "FY2025 Q4")
    assert bool(avgo["approximate"])
    assert_allclose(avgo["operating_margin"], 6500 / 11072, rtol=1e-12)
    amd = _seg(sm, "AMD Data Center", "2023-Q3")
    assert bool(amd["approximate"])
    assert_allclose(amd["operating_margin"], 0.19125, rtol=1e-12)
    assert bool(_seg(sm, "AWS", "2025-Q1")["approximate"])


def test_segment_margin_approximate_follows_the_qualifier(monkeypatch, tmp_path, raw):
    """Perturbation: marking AWS 2023-Q1 net sales 'about' makes that row approximate (True), with the
    margin unchanged; marking neither (both '') keeps it False."""
    changed = raw.copy()
    changed.loc[changed["fact_id"] == "SEG-AWS-2023Q1-REV", "qualifier"] = "about"
    row = _seg(_margins_from(monkeypatch, tmp_path, changed), "AWS", "2023-Q1")
    assert bool(row["approximate"])
    assert_allclose(row["operating_margin"], 5123.0 / 21354.0, rtol=1e-12)
    # and the other direction: Broadcom FY2025 Q4 with its OI made exact → not approximate
    changed = raw.copy()
    changed.loc[changed["fact_id"] == "SEG-AVGOSEMI-OI-FY2025Q4", "qualifier"] = ""
    row = _seg(_margins_from(monkeypatch, tmp_path, changed), "Broadcom Semiconductor Solutions", "FY2025 Q4")
    assert not bool(row["approximate"])


def test_segment_margin_pairs_only_same_definition(raw):
    """Every paired fact has exactly the segment's two metrics in `SEGMENT_MARGIN_PAIRS`: Google Cloud
    2022-Q2 and 2022-Q4 have revenues but only 'operating income (as reported, pre-2023 basis)', so no
    margin; Microsoft Intelligent Cloud FY2024 Q3 pairs the new-basis revenue 22,141 with OI 9,515
    (0.429746), not the 'about 26,700' pre-FY2025 revenue."""
    sm = segment_margins()
    metric_of = raw.set_index("fact_id")["metric"]
    for _, row in sm.iterrows():
        rev_id, oi_id = row["fact_ids"].split(", ")
        assert (metric_of[rev_id], metric_of[oi_id]) == SEGMENT_MARGIN_PAIRS[row["segment"]], row["fact_ids"]
    gcp = set(sm.loc[sm["segment"] == "Google Cloud", "period"])
    assert "2022-Q2" not in gcp and "2022-Q4" not in gcp and "2022-Q1" in gcp
    msic = _seg(sm, "Microsoft Intelligent Cloud", "FY2024 Q3")
    assert (msic["revenue"], msic["operating_income"]) == (22141.0, 9515.0)
    assert_allclose(msic["operating_margin"], 9515 / 22141, rtol=1e-12)
    assert not bool(msic["approximate"])


def test_segment_margin_same_definition_pair_appears_when_added(monkeypatch, tmp_path, raw):
    """Perturbation: relabelling Google Cloud 2022-Q2's pre-2023-basis OI (−858) as 'operating income'
    creates the pair: margin −858 / 6,300 = −0.136190, approximate True (revenue 'about')."""
    before = segment_margins()
    changed = raw.copy()
    changed.loc[changed["fact_id"] == "SEG-GCP-2022Q2-OI-OLD", "metric"] = "operating income"
    after = _margins_from(monkeypatch, tmp_path, changed)
    assert len(after) == len(before) + 1
    row = _seg(after, "Google Cloud", "2022-Q2")
    assert_allclose(row["operating_margin"], -858 / 6300, rtol=1e-12)
    assert bool(row["approximate"])


def test_segment_margins_only_quarterly_periods():
    """Annual rows (e.g. Google Cloud FY2023 revenues 33,088 / OI 1,716) are never paired."""
    sm = segment_margins()
    assert sm["period"].str.match(r"^(\d{4}-Q[1-4]|FY\d{4} Q[1-4])$").all()
    assert facts(segment="Google Cloud")["period"].eq("FY2023").any()


@pytest.mark.fast
def test_format_table_writes_units_and_missing_as_a_dash():
    """Fractions in percent, years without separators, booleans as yes/no, dates ISO, NaN/NaT as '–'."""
    import numpy as np

    frame = pd.DataFrame({"fiscal_year": [2019.0, np.nan], "margin": [0.123456, np.nan], "flag": [True, False],
                          "end": pd.to_datetime(["2020-01-31", None]), "capex": [482.5e9, 1e9]})
    out = book.format_table(frame, {"margin": "percent", "capex": "usd_bn"})
    assert out.to_dict("list") == {"fiscal_year": ["2019", "–"], "margin": ["12.3%", "–"], "flag": ["yes", "no"],
                                   "end": ["2020-01-31", "–"], "capex": ["$482.5bn", "$1.0bn"]}
    with pytest.raises(ValueError, match="unknown table format"):
        book.format_table(frame, {"margin": "furlongs"})
    with pytest.raises(ValueError, match="not in the table"):
        book.format_table(frame, {"nope": "percent"})


@pytest.mark.fast
def test_table_escapes_text_unless_told_and_scrolls_in_its_own_box():
    frame = pd.DataFrame({"link": ['<a href="x">x</a>']})
    assert "&lt;a href" in book.table(frame).data
    shown = book.table(frame, escape=False).data
    assert '<a href="x">x</a>' in shown and shown.startswith('<div class="vc-table-wrap">')


@pytest.mark.fast
def test_a_changed_stylesheet_changes_the_presentation_digest(tmp_path, monkeypatch):
    """Editing book/_static/*.css changes the digest that makes the build rewrite every page."""
    import shutil as sh

    for name in ("_config.yml", "_toc.yml"):
        sh.copyfile(book_build.REPO_ROOT / name, tmp_path / name)
    sh.copytree(book_build.REPO_ROOT / "book", tmp_path / "book", ignore=sh.ignore_patterns("data", "notebooks"))
    monkeypatch.setattr(book_build, "REPO_ROOT", tmp_path)
    before = book_build.presentation_digest()
    assert book_build.presentation_digest() == before
    css = tmp_path / "book" / "_static" / "vc-charts.css"
    css.write_text(css.read_text() + "\n/* changed */\n")
    assert book_build.presentation_digest() != before
