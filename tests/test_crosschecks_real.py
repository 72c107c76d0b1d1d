"""Cross-checks on the committed snapshot, a seeded error they must catch, and the snapshot's derivation.

The committed tables (``facts_reported``, ``restatements``, ``crosschecks``, ``financials``) are read
with `valuechain_lib.load_table`; the ``rawdata`` test rebuilds them from ``../shared/data`` with the
project's own code and compares.
"""

from __future__ import annotations

import pandas as pd
import pytest

import valuechain_lib as vl
from valuechain_lib.snapshot import build as snapshot_build
from valuechain_lib.snapshot import crosschecks, quarters, standardize

# Lower bounds: the counts observed in the committed snapshot (2026-11 build: 1,450 / 717 / 137 / 125),
# rounded down; a rebuild may add comparisons, it must not lose most of them.
MIN_COMPARISONS = {
    "3M vs YTD difference": 1400,
    "9M vs Q1+Q2+Q3": 700,
    "TTM vs 4 quarters": 130,
    "GP vs revenue − cost": 120,
    "balance across filings": 350,
}
SEED = 50_000_000  # +$50M on one six-month year-to-date figure


@pytest.fixture(scope="module")
def committed():
    return {name: vl.load_table(name) for name in ("facts_reported", "restatements", "crosschecks", "financials",
                                                   "vintages")}


@pytest.mark.fast
def test_every_mismatch_is_explained(committed):
    checks = committed["crosschecks"]
    mismatches = checks[~checks["match"]]
    unexplained = mismatches[mismatches["reason"].fillna("").isin(["", "unexplained"])]
    assert unexplained.empty, unexplained[["check", "ticker", "metric", "fiscal_year", "fiscal_quarter",
                                           "difference"]].to_string()
    # And a match carries no reason.
    assert checks.loc[checks["match"], "reason"].fillna("").eq("").all()


@pytest.mark.fast
def test_manifest_counts_agree_with_the_table(committed):
    checks = committed["crosschecks"]
    counted = vl.manifest()["crosschecks"]
    assert counted["compared"] == len(checks)
    assert counted["matched"] == int(checks["match"].sum())
    assert counted["unexplained"] == 0


@pytest.mark.fast
@pytest.mark.parametrize(("check", "minimum"), list(MIN_COMPARISONS.items()))
def test_enough_comparisons_per_check(committed, check, minimum):
    checks = committed["crosschecks"]
    rows = checks[checks["check"] == check]
    assert len(rows) >= minimum, f"{check}: only {len(rows)} comparisons (expected at least {minimum})"
    assert rows["match"].mean() > 0.9  # observed: 0.91 (TTM: Amazon's restated D&A and cash flow) to 0.99
    if check == "TTM vs 4 quarters":
        assert set(rows["ticker"]) == {"AMZN"}  # only Amazon reports trailing-twelve-month figures


@pytest.mark.fast
def test_rerun_on_committed_facts_gives_committed_checks(committed):
    """run_all over the committed facts (tidy rebuilt from them) reproduces crosschecks.csv; the balance
    comparisons, which need every filing's facts, are passed in as committed and explained again."""
    reported, restatements = committed["facts_reported"], committed["restatements"]
    tidy = quarters.tidy_periods(reported, standardize.canonical_metrics())
    checks = committed["crosschecks"]
    balances = checks[checks["check"] == crosschecks.BALANCE_CHECK].drop(columns="reason")
    rerun = crosschecks.run_all(reported, tidy, restatements, balances)
    keys = ["check", "ticker", "metric", "fiscal_year", "fiscal_quarter", "period_end"]
    expected = committed["crosschecks"].sort_values(keys).reset_index(drop=True)
    rerun = rerun.sort_values(keys).reset_index(drop=True)[expected.columns]
    expected["reason"] = expected["reason"].fillna("")
    for col in ("fiscal_year", "fiscal_quarter"):
        expected[col], rerun[col] = expected[col].astype(int), rerun[col].astype(int)
    pd.testing.assert_frame_equal(rerun, expected, check_dtype=False)


def _seeded(reported: pd.DataFrame, ticker: str, metric: str, fiscal_year: int) -> pd.DataFrame:
    six = ((reported["ticker"] == ticker) & (reported["metric"] == metric)
           & (reported["fiscal_year"] == fiscal_year) & (reported["duration"] == "6M"))
    assert six.sum() == 1
    seeded = reported.copy()
    seeded.loc[six, "value"] += SEED
    return seeded


@pytest.mark.fast
@pytest.mark.parametrize(("ticker", "metric", "fiscal_year"), [("META", "revenue", 2024), ("MSFT", "capex", 2025)])
def test_seeded_error_in_six_month_figure_is_flagged(committed, ticker, metric, fiscal_year):
    """+$50M on one company's reported 6M YTD figure: the 3M-vs-YTD checks of Q2 and Q3 now fail, unexplained.

    Preconditions checked first: the company reports Q2 and Q3 for three months (so both checks exist),
    both matched before the seed, and no restatement of the metric could explain a difference.
    """
    reported, restatements = committed["facts_reported"], committed["restatements"]
    before = committed["crosschecks"]
    target = ((before["check"] == "3M vs YTD difference") & (before["ticker"] == ticker)
              & (before["metric"] == metric) & (before["fiscal_year"] == fiscal_year))
    assert sorted(before.loc[target, "fiscal_quarter"]) == [2, 3]
    assert before.loc[target, "match"].all()
    assert restatements[(restatements["ticker"] == ticker) & (restatements["metric"] == metric)
                        & (restatements["period_end"].dt.year >= fiscal_year - 2)].empty

    seeded = _seeded(reported, ticker, metric, fiscal_year)
    tidy = quarters.tidy_periods(seeded, standardize.canonical_metrics())
    after = crosschecks.run_all(seeded, tidy, restatements)

    hit = after[(after["check"] == "3M vs YTD difference") & (after["ticker"] == ticker)
                & (after["metric"] == metric) & (after["fiscal_year"] == fiscal_year)]
    assert len(hit) == 2
    assert not hit["match"].any()
    assert (hit["reason"] == "unexplained").all()
    # Q2 = 6M − Q1 is now $50M too high (reported − derived = −50M); Q3 = 9M − 6M is $50M too low.
    # (Differences within the ±$2M tolerance before the seed, e.g. Meta's $1M rounding, carry over.)
    was = before[target].set_index("fiscal_quarter")["difference"]
    now = hit.set_index("fiscal_quarter")["difference"]
    assert now[2] - was[2] == pytest.approx(-SEED)
    assert now[3] - was[3] == pytest.approx(SEED)
    # Nothing else turned unexplained.
    others = after[(after["reason"] == "unexplained")
                   & ~((after["ticker"] == ticker) & (after["metric"] == metric))]
    assert others.empty
    # The derived quarters in the rebuilt tidy table move by the seed, too (Q2 up, Q3 down) where
    # the company reports no three-month figure; here it does, so the reported figure is kept.
    q = tidy[(tidy["ticker"] == ticker) & (tidy["metric"] == metric) & (tidy["freq"] == "Q")
             & (tidy["fiscal_year"] == fiscal_year)]
    assert (q.loc[q["fiscal_period"].isin(["Q2", "Q3"]), "derivation"] == "reported (3 months)").all()


@pytest.mark.fast
def test_seeded_error_without_three_month_figures_moves_derived_quarters(committed):
    """Google reports cash flows year-to-date only: a +$50M 6M capex moves derived Q2 up and Q3 down."""
    reported = committed["facts_reported"]
    seeded = _seeded(reported, "GOOGL", "capex", 2025)
    metrics = standardize.canonical_metrics()
    base = quarters.tidy_periods(reported, metrics)
    tidy = quarters.tidy_periods(seeded, metrics)

    def quarter_values(table):
        q = table[(table["ticker"] == "GOOGL") & (table["metric"] == "capex") & (table["freq"] == "Q")
                  & (table["fiscal_year"] == 2025)]
        return q.set_index("fiscal_period")["value"]

    delta = quarter_values(tidy) - quarter_values(base)
    assert delta.to_dict() == {"Q1": 0.0, "Q2": SEED, "Q3": -SEED, "Q4": 0.0}


def _normalized(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Sorted, with text columns as plain objects (None for missing) so dtypes do not matter."""
    out = frame.sort_values(keys, kind="stable").reset_index(drop=True).copy()
    for col in out.columns:
        if pd.api.types.is_string_dtype(out[col]) or out[col].dtype == object:
            out[col] = out[col].astype(object).where(out[col].notna(), None)
        elif pd.api.types.is_integer_dtype(out[col]) and out[col].isna().sum() == 0:
            out[col] = out[col].astype("int64")
    return out


@pytest.mark.rawdata
@pytest.mark.slow
def test_committed_snapshot_is_derived_by_the_projects_code(raw_dir, committed):
    """Rebuild the financial tables from ../shared/data and compare with the committed snapshot."""
    built = snapshot_build.build_financials(raw_dir, vl.universe())
    tidy, reported, restatements = built.tidy, built.reported, built.restatements
    pairs = {
        "financials": (tidy, ["ticker", "metric", "freq", "fiscal_year", "fiscal_period"]),
        "facts_reported": (reported, ["ticker", "metric", "duration", "fiscal_year", "fiscal_quarter",
                                      "period_end"]),
        "restatements": (restatements, ["ticker", "metric", "tag", "period_start", "period_end", "old_accession",
                                        "old_value"]),
        "vintages": (built.vintages, ["ticker", "metric", "tag", "unit", "start", "end", "filed", "value"]),
    }
    for name, (rebuilt, keys) in pairs.items():
        expected = _normalized(committed[name], keys)
        got = _normalized(rebuilt[list(expected.columns)], keys)
        assert len(got) == len(expected), f"{name}: {len(got)} rows rebuilt, {len(expected)} committed"
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, obj=name)
    checks = crosschecks.run_all(reported, tidy, restatements, built.balances)
    assert len(checks) == len(committed["crosschecks"])
    assert int(checks["match"].sum()) == int(committed["crosschecks"]["match"].sum())
