"""Who pays for the build-out: calendar years, nil lines, sources and uses, the pool, and the C1/C2 verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import valuechain_lib as vl
from valuechain_lib.analyses import who_pays_for_the_build_out as pays
from valuechain_lib.claims import ledger as claims
from valuechain_lib.claims.verdicts import render
from valuechain_lib.paths import DEFAULT_DATA_DIR
from valuechain_lib.snapshot.universe import members


# --------------------------------------------------------------------------- nil lines
@pytest.mark.fast
def test_committed_nil_lines_load_and_each_names_its_evidence():
    """Seven lines, each a cash-flow line other than operating cash flow, each with evidence."""
    lines = pays.nil_lines()
    assert len(lines) == 7
    assert set(lines["metric"]) <= set(pays.FLOWS[1:])
    assert (lines["evidence"].str.len() > 40).all()


@pytest.mark.fast
@pytest.mark.parametrize(("column", "value", "message"), [
    ("metric", "operating_cash_flow", "only a cash-flow line"),
    ("ticker", "ZZZZ", "not in the universe"),
    ("evidence", " ", "no evidence"),
    ("last_period_end", "2010-01-01", "first_period_end after last_period_end"),
])
def test_bad_nil_lines_are_refused(tmp_path, column, value, message):
    """A nil line for operating cash flow, an unknown ticker, one without evidence or with reversed dates is refused."""
    lines = pd.read_csv(DEFAULT_DATA_DIR / pays.NIL_FILE, dtype=str, keep_default_na=False)
    lines.loc[0, column] = value
    path = tmp_path / pays.NIL_FILE
    lines.to_csv(path, index=False)
    with pytest.raises(pays.FinancingError, match=message):
        pays.nil_lines(path)


@pytest.mark.fast
def test_a_nil_line_never_overwrites_a_filed_value():
    """A filed 5.0 inside a nil line's window stays 5.0; only the missing value in the window becomes a flagged 0."""
    rows = pd.DataFrame({"ticker": "META", "metric": "debt_repaid", "value": [5.0, np.nan],
                         "period_end": pd.to_datetime(["2024-12-31", "2025-12-31"])})
    lines = pd.DataFrame({"ticker": ["META"], "metric": ["debt_repaid"], "first_period_end": [pd.Timestamp("2015-01-01")],
                          "last_period_end": [pd.Timestamp("2026-12-31")], "evidence": ["none"]})
    out = pays.apply_nil_lines(rows, lines)
    assert out["value"].tolist() == [5.0, 0.0] and out["nil"].tolist() == [False, True]


# --------------------------------------------------------------------------- calendar years, sources and uses
@pytest.mark.fast
def test_oracle_calendar_year_is_the_sum_of_its_four_aligned_fiscal_quarters():
    """Oracle's calendar 2025 runs 2024-12-01 to 2025-11-30 (its fiscal 2025 Q3 to fiscal 2026 Q2); its capex is the
    sum of those four quarters as financials() gives them, never a fiscal year's."""
    values = pays.calendar_year_values(["ORCL"], metrics=("capex",), lines=pays.nil_lines())
    row = values[values["calendar_year"] == 2025].iloc[0]
    assert (row["period_start"], row["period_end"]) == (pd.Timestamp("2024-12-01"), pd.Timestamp("2025-11-30"))
    q = vl.financials("ORCL", freq="Q", metrics="capex")
    inside = q[(q["period_end"] >= "2025-02-01") & (q["period_end"] <= "2025-11-30")]
    assert inside["fiscal_period"].tolist() == ["Q3", "Q4", "Q1", "Q2"]
    np.testing.assert_allclose(row["value"], inside["value"].sum())
    assert row["basis"] == "four calendar-aligned fiscal quarters"


@pytest.mark.fast
def test_sources_and_uses_on_hand_made_figures():
    """Hand-worked, one company, 2024 → 2025: OCF 100, capex 70, buybacks 20, dividends 5, issued 30, repaid 10, cash
    40 → 25. Net debt 20; cash drawn down 15; gap 70+20+5−100 = −5; other 100+20+15−95 = 40; debt share 20/70."""
    rows = []
    for year, cash in ((2024, 40.0), (2025, 25.0)):
        for metric, value in {"operating_cash_flow": 100.0, "capex": 70.0, "buybacks": 20.0, "dividends": 5.0,
                              "debt_issued": 30.0, "debt_repaid": 10.0, "cash": cash, "total_debt": 50.0}.items():
            rows.append({"ticker": "X", "metric": metric, "calendar_year": year, "value": value,
                         "period_start": pd.Timestamp(f"{year}-01-01"), "period_end": pd.Timestamp(f"{year}-12-31"),
                         "basis": "fiscal year = calendar year", "nil": False, "nil_evidence": "",
                         "missing_reason": None})
    wide = pays.sources_and_uses(pd.DataFrame(rows)).set_index("calendar_year")
    got = wide.loc[2025, ["net_debt_issued", "cash_drawn_down", "gap", "other", "debt_share_of_capex", "debt_change"]]
    np.testing.assert_allclose(got.to_numpy(dtype=float), [20.0, 15.0, -5.0, 40.0, 20 / 70, 0.0])
    assert np.isnan(wide.loc[2024, "cash_drawn_down"])  # no year before the first


@pytest.mark.fast
def test_pool_is_missing_when_one_company_lacks_an_item_and_names_it():
    """Two companies, B without debt issued: pooled capex 3 + 4 = 7, pooled debt issued NaN, 'debt_issued: B'."""
    wide = pd.DataFrame({"ticker": ["A", "B"], "calendar_year": 2025, "operating_cash_flow": [10.0, 20.0],
                         "capex": [3.0, 4.0], "buybacks": [1.0, 1.0], "dividends": [0.0, 0.0],
                         "debt_issued": [2.0, np.nan], "debt_repaid": [1.0, 1.0], "net_debt_issued": [1.0, np.nan],
                         "cash_drawn_down": [0.0, 0.0], "other": [0.0, 0.0], "gap": [0.0, 0.0], "nil_lines": "",
                         "period_start": pd.Timestamp("2025-01-01"), "period_end": pd.Timestamp("2025-12-31")})
    out = pays.pooled(wide, ["A", "B"]).iloc[0]
    assert out["capex"] == 7.0 and np.isnan(out["debt_issued"]) and np.isnan(out["debt_share_of_capex"])
    assert out["missing"] == "debt_issued: B"


@pytest.mark.fast
def test_pooled_figures_add_up_the_five_over_the_same_calendar_year():
    """Invariant on the snapshot: the pooled operating cash flow and capex of each calendar year equal the sum of the
    five hyperscalers' own calendar-year figures; CoreWeave (secondary) is never in the pool."""
    table = pays.build_out_table(since=2020)
    five = table[table["ticker"].isin(members(sub_layer="hyperscaler"))]
    pool = table[table["ticker"] == pays.POOLED].set_index("calendar_year")
    for item in ("operating_cash_flow", "capex"):
        sums = five.groupby("calendar_year")[item].sum(min_count=5)
        np.testing.assert_allclose(pool[item].to_numpy(), sums.reindex(pool.index).to_numpy())
    assert set(table["ticker"]) == {*members(sub_layer="hyperscaler"), "CRWV", pays.POOLED}
    assert (table.loc[table["ticker"] == "CRWV", "source"].str.startswith("secondary")).all()


# --------------------------------------------------------------------------- facts-table figures
@pytest.mark.fast
def test_leases_not_commenced_against_a_year_of_capex():
    """F194 (Microsoft, $329.1bn at 2026-06-30) against Microsoft's twelve months of capex to 2026-03-31 in the
    snapshot; F205a (Meta, $278.99bn); F209a (Oracle, $288bn, low confidence)."""
    leases = pays.leases_not_commenced()
    assert leases["fact_id"].to_dict() == {"MSFT": "F194", "META": "F205a", "ORCL": "F209a"}
    np.testing.assert_allclose(leases["leases"].to_numpy(), [329.1e9, 278.99e9, 288e9])
    ttm = vl.financials("MSFT", freq="TTM", metrics="capex").dropna(subset=["value"]).iloc[-1]
    np.testing.assert_allclose(leases.loc["MSFT", "years_of_capex"], 329.1e9 / ttm["value"])
    assert leases.loc["ORCL", "confidence"] == "low"


@pytest.mark.fast
def test_oracle_prepayment_share():
    """F207c / F207a: $11.4bn of Oracle's FY27 Q1 operating cash flow of $23,103M was prepayments, 49.3%."""
    pre = pays.oracle_prepayments()
    np.testing.assert_allclose(pre["share"], 11.4e9 / 23_103e6)
    np.testing.assert_allclose(pre["ocf_without"], 23_103e6 - 11.4e9)
    assert pre["period_end"] == pd.Timestamp("2026-08-31")


# --------------------------------------------------------------------------- the book's own claims
def _pooled(**columns) -> pd.DataFrame:
    frame = pd.DataFrame(columns)
    frame["ticker"] = pays.POOLED
    frame["nil_lines"] = ""
    frame["period_start"] = pd.to_datetime(frame["calendar_year"].astype(str) + "-01-01")
    frame["period_end"] = pd.to_datetime(frame["calendar_year"].astype(str) + "-12-31")
    return frame


@pytest.mark.fast
@pytest.mark.parametrize(("net_debt", "status", "distance"), [(20.0, "supported", 0.05), (30.0, "not supported", 0.05)])
def test_c1_flips_at_its_threshold(net_debt, status, distance):
    """Synthetic pool: capex 100; net new debt 20 is 20% (5 pts under 25%: supported), 30 is 30% (not)."""
    table = _pooled(calendar_year=[2025], capex=[100.0], net_debt_issued=[net_debt], operating_cash_flow=[150.0],
                    capex_to_ocf=[100 / 150], debt_share_of_capex=[net_debt / 100])
    v = pays.c1_verdict(table, threshold=0.25)
    assert v.status == status
    np.testing.assert_allclose(v.distance_to_flip, distance)
    assert v.unit == "share" and "25.0% threshold" in v.flip


@pytest.mark.fast
def test_c1_reads_the_latest_year_the_pool_is_complete():
    """2026 has no pooled share (one company missing): the verdict reads 2025."""
    table = _pooled(calendar_year=[2025, 2026], capex=[100.0, 50.0], net_debt_issued=[10.0, np.nan],
                    operating_cash_flow=[150.0, 80.0], capex_to_ocf=[2 / 3, 5 / 8], debt_share_of_capex=[0.1, np.nan])
    v = pays.c1_verdict(table)
    assert v.numbers["year"] == 2025 and v.status == "supported"


def _c2_table(buybacks_after: float, capex_after: float) -> pd.DataFrame:
    years = [2021, 2022, 2023, 2024, 2025]
    ocf = [100.0] * 5
    buybacks = [40.0, 40.0, 40.0, buybacks_after, buybacks_after]
    capex = [40.0, 40.0, 40.0, capex_after, capex_after]
    return _pooled(calendar_year=years, operating_cash_flow=ocf, buybacks=buybacks, capex=capex,
                   buybacks_to_ocf=[b / 100 for b in buybacks], capex_to_ocf=[c / 100 for c in capex])


@pytest.mark.fast
@pytest.mark.parametrize(("buybacks_after", "capex_after", "status"), [
    (30.0, 60.0, "supported"),      # 40% → 30%: a 10-point fall, capex 40% → 60%
    (37.0, 60.0, "not supported"),  # a 3-point fall, under the 5 points
    (30.0, 35.0, "mixed"),          # buybacks fell, but capex's share fell too
])
def test_c2_flips_with_the_fall_in_buybacks_and_the_rise_in_capex(buybacks_after, capex_after, status):
    """Synthetic pool, 2021-2023 buybacks 40% of OCF, then 2024-2025 as parametrised; min_fall 5 points."""
    v = pays.c2_verdict(_c2_table(buybacks_after, capex_after), split_year=2024, before_from=2021, min_fall=0.05)
    assert v.status == status
    np.testing.assert_allclose(v.measured, (40.0 - buybacks_after) / 100)
    np.testing.assert_allclose(v.distance_to_flip, abs((40.0 - buybacks_after) / 100 - 0.05))


@pytest.mark.fast
def test_book_claims_are_marked_as_the_books_with_no_essay_date():
    """C1 and C2 belong to essay C, 'The book's own claims': no essay date, so no verdict at one, said so."""
    ledger = claims.ledger().set_index("claim_id")
    assert ledger.loc[["C1", "C2"], "essay"].tolist() == [claims.BOOK_ESSAY] * 2
    assert claims.section_title("C") == "The book's own claims"
    assert claims.section_title("B").startswith("Essay B: ")
    assert claims.essay_date("C")[0] == ""
    assert claims.evaluate_at_essay_date(ledger.loc["C1"].to_dict() | {"claim_id": "C1"}) is None


@pytest.mark.fast
def test_book_claims_have_verdicts_with_a_distance_to_flip():
    """Today's C1 and C2 verdicts each state a measured figure, a threshold and how far it is from flipping;
    the rendered block says there is no essay date."""
    for claim_id in ("C1", "C2"):
        v = claims.verdict(claim_id)
        assert v.status in ("supported", "not supported", "mixed")
        assert v.measured is not None and v.distance_to_flip is not None and v.flip
        html = claims.render_claim(claim_id)
        assert "At an essay&#x27;s date" in html and "no essay date" in html
    plain = render("C1", claims.verdict("C1"))
    assert "At an essay" not in plain  # without the note nothing is claimed
