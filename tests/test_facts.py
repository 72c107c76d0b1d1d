"""The curated facts table (`valuechain_lib.snapshot.facts`): validation, labels, segment series, spot checks."""

from __future__ import annotations

import pandas as pd
import pytest

from valuechain_lib.errors import ValueChainError
from valuechain_lib.paths import DEFAULT_DATA_DIR
from valuechain_lib.snapshot.facts import (
    COLUMNS,
    FactsError,
    facts,
    is_capex_guidance,
    is_digest,
    label,
    published_by,
    segment_series,
    segment_tickers,
    validate_facts,
)

pytestmark = pytest.mark.fast


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    """The committed table as text cells."""
    return pd.read_csv(DEFAULT_DATA_DIR / "facts.csv", dtype=str, keep_default_na=False)



def test_committed_table_validates(raw):
    assert tuple(raw.columns) == COLUMNS
    validate_facts(raw)
    table = facts()
    validate_facts(table)  # the loaded (typed) frame passes too
    assert len(table) == len(raw) and table["fact_id"].is_unique
    assert str(table["value"].dtype) == "float64"
    assert str(table["as_of"].dtype).startswith("datetime64")


def test_facts_error_is_a_value_chain_error():
    assert issubclass(FactsError, ValueChainError)


def _seeded(raw: pd.DataFrame, base: str = "F01", **changes) -> pd.DataFrame:
    """The table plus one bad row (a copy of ``base`` under the id BAD-1 with ``changes``)."""
    row = raw[raw["fact_id"] == base].iloc[0].copy()
    row["fact_id"] = "BAD-1"
    for k, v in changes.items():
        row[k] = v
    return pd.concat([raw, row.to_frame().T], ignore_index=True)


@pytest.mark.parametrize(("changes", "fact_id", "field"), [
    ({"fact_id": "F02"}, "F02", "fact_id"),
    ({"unit": "USD thousand"}, "BAD-1", "unit"),
    ({"kind": "rumour"}, "BAD-1", "kind"),
    ({"confidence": "very high"}, "BAD-1", "confidence"),
    ({"qualifier": "roughly"}, "BAD-1", "qualifier"),
    ({"value": "", "value_low": "", "value_high": ""}, "BAD-1", "value"),
    ({"value": "", "value_low": "10", "value_high": ""}, "BAD-1", "value"),
    ({"value": "", "value_low": "20", "value_high": "10"}, "BAD-1", "value_low"),
    ({"value": "nine hundred"}, "BAD-1", "value"),
    ({"as_of": "Oct 2025"}, "BAD-1", "as_of"),
    ({"source_date": "2025-02-30"}, "BAD-1", "source_date"),
    ({"period_end": "2025-08"}, "BAD-1", "period_end"),
    ({"source_title": ""}, "BAD-1", "source_title"),
    ({"publisher": ""}, "BAD-1", "publisher"),
    ({"url": "www.example.com/page"}, "BAD-1", "url"),
    ({"derived_from": "F01;F9999"}, "BAD-1", "derived_from"),
    ({"claim_id": "C3"}, "BAD-1", "claim_id"),
])
def test_each_rule_fires_naming_fact_and_field(raw, changes, fact_id, field):
    with pytest.raises(FactsError) as err:
        validate_facts(_seeded(raw, **changes))
    assert f"fact {fact_id!r}" in str(err.value)
    assert f"field {field!r}" in str(err.value)


def test_validation_runs_on_every_load(raw, tmp_path, monkeypatch):
    _seeded(raw, unit="furlongs").to_csv(tmp_path / "facts.csv", index=False)
    monkeypatch.setenv("VALUECHAIN_DATA", str(tmp_path))
    with pytest.raises(FactsError, match="BAD-1"):
        facts()


def test_an_edited_table_is_read_again_and_callers_cannot_change_it(raw, tmp_path, monkeypatch):
    # facts() keeps the parsed table between calls; neither an edit on disk nor a caller's change may go unseen.
    raw.to_csv(tmp_path / "facts.csv", index=False)
    monkeypatch.setenv("VALUECHAIN_DATA", str(tmp_path))
    first = facts()
    first.loc[0, "value"] = -1.0
    assert facts().loc[0, "value"] != -1.0
    _seeded(raw, unit="furlongs").to_csv(tmp_path / "facts.csv", index=False)
    with pytest.raises(FactsError, match="BAD-1"):
        facts()


def test_press_reports_say_so_in_their_label():
    press = facts()
    press = press[press["kind"] == "press report"]
    assert len(press) > 0
    for _, row in press.iterrows():
        assert "press report" in label(row)


def test_label_example():
    row = facts(segment="AWS").set_index("fact_id").loc["SEG-AWS-2025Q1-REV"]
    row["fact_id"] = "SEG-AWS-2025Q1-REV"
    assert label(row) == "AWS net sales, 2025-Q1: about $29,270M (estimate, medium confidence; opencapital.sh)"


def test_filters():
    assert set(facts(claim_id="B9")["claim_id"]) == {"B9"}
    assert set(facts(min_confidence="medium")["confidence"]) <= {"high", "medium"}
    assert "OpenAI → Oracle" in set(facts(entity="oracle")["entity"])
    with pytest.raises(FactsError):
        facts(min_confidence="certain")


@pytest.mark.parametrize("metric", ["net sales", "operating income"])
def test_aws_series_sorted_and_unique(metric):
    series = segment_series("AWS", metric)
    assert series["period_end"].is_monotonic_increasing
    assert series["period_end"].is_unique and series["period"].is_unique
    assert (series["unit"] == "USD million").all()


def test_segment_series_prefers_the_release_over_the_data_site():
    """2025-Q1 AWS operating income: the release (high, ≈11,500) wins over opencapital.sh (11,550)."""
    row = segment_series("AWS", "operating income").set_index("period").loc["2025-Q1"]
    assert row["fact_id"] == "SEG-AWS-2025Q1-OI" and row["value"] == 11500


def test_segment_series_unknown_metric():
    with pytest.raises(FactsError, match="metrics"):
        segment_series("AWS", "gross margin")


@pytest.mark.parametrize(("fact_id", "value", "unit", "qualifier"), [
    # shared/data/segments/CLOUD_SEGMENTS.md line 44: 2023-Q1 AWS net sales "21,354" (SEC R53)
    ("SEG-AWS-2023Q1-REV", 21354, "USD million", ""),
    # shared/data/segments/CLOUD_SEGMENTS.md line 192: FY25 Q3 IC revenue, recast, "26,751"
    ("SEG-MSIC-FY2025Q3-REV", 26751, "USD million", ""),
    # shared/data/segments/CHIP_SEGMENTS.md line 53: FY26 Q3 Nvidia DC revenue "51,215"
    ("SEG-NVDC-FY2026Q3", 51215, "USD million", ""),
    # shared/facts_sources.md line 95: F42 Oracle RPO "455" USD billion at 2025-08-31
    ("F42", 455, "USD billion", ""),
    # shared/facts_sources.md line 268: F133 TWD/USD annual average 2021 "27.9366"
    ("F133", 27.9366, "TWD per USD", ""),
    # shared/data/neoclouds/NEOCLOUDS.md line 68: CoreWeave 2025-Q2 revenue "1,212.788" USD m
    ("CW-2025Q2-REV", 1212.788, "USD million", ""),
])
def test_spot_checks_against_the_source_notes(fact_id, value, unit, qualifier):
    row = facts().set_index("fact_id").loc[fact_id]
    assert row["value"] == pytest.approx(value)
    assert row["unit"] == unit and row["qualifier"] == qualifier


def test_ranges_are_kept_as_ranges():
    """shared/facts_sources.md line 183: F80 Alphabet 2026 capex plan "175–185" USD billion."""
    row = facts().set_index("fact_id").loc["F80"]
    assert pd.isna(row["value"]) and (row["value_low"], row["value_high"]) == (175, 185)


# ----------------------------------------------------------------------------- sourcing rules


@pytest.mark.parametrize(("base", "changes", "field"), [
    # a row read from an AI digest must be rated low
    ("F01", {"note": "AI digest (Stock Titan's AI summary)", "confidence": "medium"}, "confidence"),
    # a bare-IP host, or a wildcard-DNS name wrapping an IP, is a low source
    ("F01", {"url": "http://203.0.113.7/page", "confidence": "medium"}, "confidence"),
    ("F01", {"url": "https://ai-earnings.204.168.210.83.nip.io/c/AMZN", "confidence": "medium"}, "confidence"),
    # a mirror copy rated high must say it was checked
    ("F01", {"note": "mirror copy of the 10-K", "confidence": "high"}, "confidence"),
    # a capex-guidance statement dated to the month must say it is not dated to the day
    ("F188", {"as_of": "2026-07", "note": "stated in July"}, "as_of"),
])
def test_sourcing_rules_fire(raw, base, changes, field):
    with pytest.raises(FactsError) as err:
        validate_facts(_seeded(raw, base, **changes))
    assert "fact 'BAD-1'" in str(err.value) and f"field {field!r}" in str(err.value)


@pytest.mark.parametrize(("base", "changes"), [
    ("F01", {"note": "AI digest (Stock Titan's AI summary)", "confidence": "low"}),
    ("F01", {"url": "https://ai-earnings.204.168.210.83.nip.io/c/AMZN", "confidence": "low"}),
    ("F01", {"note": "mirror copy; kept high: checked against the SEC XBRL value", "confidence": "high"}),
    ("F01", {"note": "mirror copy, not checked", "confidence": "medium"}),
    ("F188", {"as_of": "2026-07", "note": "not dated to the day: the notes give the month"}),
    ("F180", {"as_of": "2026-07"}),   # an actual, not guidance: month precision is allowed
])
def test_sourcing_rules_pass_honest_rows(raw, base, changes):
    validate_facts(_seeded(raw, base, **changes))


def test_twd_billion_is_a_unit_and_other_units_still_fail(raw):
    """facts_sources.md F214: TSMC FY2025 net revenue NT$3,809.05 billion."""
    row = facts().set_index("fact_id").loc["F214a"]
    assert (row["value"], row["unit"]) == (3809.05, "TWD billion")
    with pytest.raises(FactsError, match="unit"):
        validate_facts(_seeded(raw, unit="TWD million"))


def test_capex_guidance_rows_are_plans_not_actuals():
    """F188 (Amazon's 2026 capex plan) is guidance; F182a (Amazon's Q2 2026 capex), F179 (Meta's
    expense guidance, not capex) and F44a (Oracle's OCI revenue plan) are not."""
    table = facts().set_index("fact_id", drop=False)
    flags = is_capex_guidance(table)
    assert flags[["F188", "F195", "F196", "F201", "F204", "F217", "F218b", "F92"]].all()
    assert not flags[["F182a", "F183", "F190b", "F194", "F179", "F44a"]].any()


def test_capex_guidance_is_dated_to_the_day_or_says_why_not():
    """F81, F85 and F100 were month-dated; the day is now set from a cited source."""
    table = facts().set_index("fact_id", drop=False)
    guidance = table[is_capex_guidance(table)]
    undated = guidance[guidance["as_of_precision"] != "day"]
    assert undated["note"].str.contains("not dated to the day").all()
    assert set(undated.index) == {"F103", "F217", "F218b", "CW-CAPEX2026-GUIDE-Q4", "CW-CAPEX2026-GUIDE-Q1-LOW"}
    for fid, day in [("F81", "2026-04-29"), ("F85", "2026-04-09"), ("F100", "2025-05-14"),
                     ("F188", "2026-07-30"), ("F195", "2026-07-29"), ("F201", "2026-07-22"), ("F204", "2026-07-29")]:
        assert table.at[fid, "as_of"] == pd.Timestamp(day) and table.at[fid, "as_of_precision"] == "day"


def test_digests_are_marked_and_filtered_out_at_medium():
    """F27/F28 (an automated digest), F98 (Stock Titan's 8-K summary) and F177 (an automated call
    scorer on a bare-IP host) are marked and rated low; F26 (a news page) is not a digest."""
    table = facts().set_index("fact_id", drop=False)
    marked = is_digest(table)
    assert marked[["F27", "F28", "F98", "F177"]].all()
    assert not marked["F26"]
    assert (table.loc[marked, "confidence"] == "low").all()
    assert not set(table.index[marked]) & set(facts(min_confidence="medium")["fact_id"])


def test_metrics_carry_no_internal_wording():
    """F29 names the essay (Essay B's ~$44B), not the project's brief."""
    table = facts().set_index("fact_id")
    assert table.at["F29", "metric"] == 'ARR (Essay B\'s "~$44B")'
    assert not table["metric"].str.contains("brief", case=False).any()


# ----------------------------------------------------------------------------- facts_sources.md section 17


@pytest.mark.parametrize(("fact_id", "value", "unit", "segment"), [
    # facts_sources.md line 367: F185 AWS sales / operating income "42,232 / 16,621" USD million
    ("F185a", 42232, "USD million", "AWS"),
    ("F185b", 16621, "USD million", "AWS"),
    # line 381: F199 Google Cloud revenue / operating income "24,768 / 8,814": b = operating income
    ("F199b", 8814, "USD million", "Google Cloud"),
    # line 392: F210 Nvidia Data Center 89,023, the third figure of the value column
    ("F210c", 89023, "USD million", "Nvidia Data Center"),
    # line 403: F221 the metric text's last figure, Microsoft 31.4
    ("F221d", 31.4, "USD billion", ""),
])
def test_section17_ids_follow_the_scheme(fact_id, value, unit, segment):
    row = facts().set_index("fact_id").loc[fact_id]
    assert row["value"] == pytest.approx(value) and row["unit"] == unit
    assert (row["segment"] if pd.notna(row["segment"]) else "") == segment


def test_section17_rows_are_not_visible_at_essay_b_date():
    """Essay B is dated 2026-07-02; every section-17 figure was published after it (F214, TSMC's
    FY2025 6-K of 2026-01-15, is the one exception)."""
    table = facts()
    sec17 = table["fact_id"].str.match(r"^F(18\d|19\d|2[01]\d|22[01])[a-d]?$")
    seen = pd.Series(published_by(table, "2026-07-02"), index=table.index)
    assert set(table.loc[sec17 & seen, "fact_id"]) == {"F214a", "F214b"}
    assert seen[sec17].sum() == 2 and pd.Series(published_by(table, "2026-12-31"))[sec17.to_numpy()].all()


def test_anthropic_run_rates_form_a_dated_series():
    """facts_sources.md section 5 and F220: ~$9B end-2025, $14B (2026-02-12), >$30B (April),
    $44B (blog, April), >$47B (early May), >$65B (end-July): distinct dated rows, each with a source."""
    table = facts(entity="Anthropic")
    runs = table[table["metric"].str.contains("run-rate|ARR", case=False) & table["unit"].eq("USD billion")]
    got = {r.fact_id: (r.value, r.qualifier if pd.notna(r.qualifier) else "") for r in runs.itertuples()}
    assert got == {"F25": (9, "about"), "F26": (14, ""), "F27": (30, "more than"), "F28": (47, "more than"),
                   "F29": (44, ""), "F220": (65, "more than")}
    assert runs["as_of"].notna().all() and runs["as_of"].is_unique
    assert runs["url"].notna().sum() >= 5 and runs["publisher"].notna().all()


# --------------------------------------------------------------------------- the ticker column
def test_ticker_names_the_universe_company_of_the_row():
    """Known answers: Oracle → ORCL, Amazon and AWS (Amazon's cloud business) → AMZN, TSMC → TSM, Nvidia →
    NVDA; OpenAI and Anthropic (private), the H100 market, the TWD/USD rate and a relationship
    (OpenAI → Oracle) name none."""
    tickers = facts().groupby("entity")["ticker"].agg(set)
    for entity, ticker in (("Oracle", "ORCL"), ("Amazon", "AMZN"), ("AWS", "AMZN"), ("TSMC", "TSM"),
                           ("Nvidia", "NVDA")):
        assert tickers[entity] == {ticker}, entity
    for entity in ("OpenAI", "Anthropic", "H100 market", "TWD/USD", "OpenAI → Oracle"):
        assert tickers[entity] == {""}, entity


def test_a_ticker_outside_the_universe_is_an_error_naming_the_fact(raw):
    """A row naming ticker 'ZZZZ' (not in data/universe.csv) fails, naming its fact id and the field."""
    with pytest.raises(FactsError, match=r"fact 'BAD-1': field 'ticker': ticker 'ZZZZ' is not in data/universe.csv"):
        validate_facts(_seeded(raw, ticker="ZZZZ"))
    with pytest.raises(FactsError, match="field 'ticker'"):
        validate_facts(raw, tickers={"NVDA"})  # a universe of Nvidia alone: ORCL (F01) is not in it


def test_segment_tickers_come_from_the_rows():
    """Each segment's company is the ticker of its rows: AWS → AMZN, Google Cloud → GOOGL, Microsoft
    Intelligent Cloud → MSFT, Nvidia Data Center → NVDA, Broadcom Semiconductor Solutions → AVGO."""
    companies = segment_tickers()
    assert {s: companies[s] for s in ("AWS", "Google Cloud", "Microsoft Intelligent Cloud", "Nvidia Data Center",
                                      "Broadcom Semiconductor Solutions")} == {
        "AWS": "AMZN", "Google Cloud": "GOOGL", "Microsoft Intelligent Cloud": "MSFT", "Nvidia Data Center": "NVDA",
        "Broadcom Semiconductor Solutions": "AVGO"}
