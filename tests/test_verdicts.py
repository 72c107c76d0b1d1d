"""The verdict type, its threshold helpers (status and distance to a flip) and its renderer."""

from __future__ import annotations

import pytest

from valuechain_lib.claims.verdicts import (
    Verdict,
    at_least,
    count_of,
    format_distance,
    format_value,
    less_than,
    render,
    through_text,
    within,
)

pytestmark = pytest.mark.fast


def test_at_least_flips_at_the_threshold_and_measures_the_distance():
    """0.753 ≥ 0.75 → supported, 0.3 points from a flip; 0.74 → not supported, 1 point short."""
    above = at_least(0.753, 0.75, unit="share", measure="capex / OCF")
    assert above["status"] == "supported"
    assert above["distance_to_flip"] == pytest.approx(0.003)
    assert "0.3 pts above the 75.0% threshold" in above["flip"]
    below = at_least(0.74, 0.75, unit="share", measure="capex / OCF")
    assert below["status"] == "not supported"
    assert below["distance_to_flip"] == pytest.approx(0.01)
    assert at_least(0.75, 0.75, unit="share", measure="x")["status"] == "supported"


def test_less_than_and_condition_words():
    """A condition scored 'less than': 0.15 < 1.0 holds → 'condition met'; 1.2 → 'not met so far'."""
    assert less_than(0.15, 1.0, unit="ratio", measure="x", kind="condition")["status"] == "condition met"
    assert less_than(1.2, 1.0, unit="ratio", measure="x", kind="condition")["status"] == "condition not met so far"
    assert at_least(0.15, 1.0, unit="ratio", measure="x", kind="condition")["status"] == "condition not met so far"


def test_within_band_reports_the_nearer_edge():
    """70% ± 5: 64% is 1 point below the 65% edge; 72% is inside, 3 points from 75%; 65% is inside."""
    out = within(0.64, 0.70, 0.05, unit="share", measure="margin")
    assert (out["status"], out["threshold"]) == ("not supported", pytest.approx(0.65))
    assert out["distance_to_flip"] == pytest.approx(0.01)
    inside = within(0.72, 0.70, 0.05, unit="share", measure="margin")
    assert (inside["status"], inside["threshold"]) == ("supported", pytest.approx(0.75))
    assert inside["distance_to_flip"] == pytest.approx(0.03)
    assert within(0.65, 0.70, 0.05, unit="share", measure="margin")["status"] == "supported"


def test_count_of_companies():
    """3 of 5 → mixed, 2 companies from either flip; 5 of 5 → supported, 1 company from mixed."""
    mixed = count_of(3, 5, measure="companies")
    assert (mixed["status"], mixed["distance_to_flip"]) == ("mixed", 2)
    assert count_of(5, 5, measure="companies")["status"] == "supported"
    assert count_of(0, 5, measure="companies")["status"] == "not supported"
    with pytest.raises(ValueError, match="no company"):
        count_of(0, 0, measure="companies")


def test_verdict_refuses_unknown_status_kind_and_unit():
    with pytest.raises(ValueError, match="not one of"):
        Verdict(status="probably", summary="x")
    with pytest.raises(ValueError, match="not one of"):
        Verdict(status="supported", summary="x", kind="condition")
    with pytest.raises(ValueError, match="unit"):
        Verdict(status="supported", summary="x", unit="furlongs")
    with pytest.raises(ValueError, match="summary"):
        Verdict(status="supported", summary=" ")


def test_formats():
    """Shares in %, distances in points, money in $bn, counts in companies; NaN and None as n/a."""
    assert format_value(0.6402, "share") == "64.0%"
    assert format_distance(0.0098, "share") == "1.0 pts"
    assert format_value(482e9, "USD") == "$482.0bn"
    assert format_distance(1, "count") == "1 company"
    assert format_value(float("nan"), "share") == "n/a"
    assert format_value(None, "share") == "n/a"


def test_through_text_groups_companies_by_date():
    ends = {"AMZN": "2026-03-31", "ORCL": "2026-05-31", "META": "2026-03-31", "X": None}
    assert through_text(ends) == "2026-03-31 (AMZN, META), 2026-05-31 (ORCL)"


def test_render_carries_the_attributes_tests_compare_and_escapes_text():
    """The block carries claim, status and measured value; text is HTML-escaped; the essay-date line shows."""
    v = Verdict(summary="A <b> & C", **at_least(0.753, 0.75, unit="share", measure="capex / OCF"),
                data_through="2026-03-31 (AMZN)")
    e = Verdict(summary="earlier", **at_least(0.70, 0.75, unit="share", measure="capex / OCF"))
    html = render("B2", v, at_essay=e, essay_date="2026-07-02")
    assert 'data-claim="B2"' in html and 'data-status="supported"' in html
    assert 'data-measured="0.753"' in html
    assert "A &lt;b&gt; &amp; C" in html
    assert "At the essay&#x27;s date, 2026-07-02" in html and "not supported (70.0%)" in html
    assert "Data through" in html and "2026-03-31 (AMZN)" in html
    assert "A &lt;b&gt;" not in render("B2", v, compact=True)
