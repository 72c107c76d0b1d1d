"""Figures reported after the snapshot: drawn beside the filed series, never blended, dropped once filed."""

from __future__ import annotations

import pandas as pd
import pytest

from valuechain_lib.snapshot import reported_after as ra

pytestmark = pytest.mark.fast


def _rows(*ends):
    return pd.DataFrame({"ticker": "META", "metric": "capex", "freq": "Q", "period_end": pd.to_datetime(list(ends)),
                         "value": 1.0})


def test_a_filed_period_drops_the_cited_row():
    """Meta's 2026-06-30 capex cited; once a filing carries 2026-06-30 the row goes, 2026-09-30 stays."""
    cited = _rows("2026-06-30", "2026-09-30")
    filed = pd.DataFrame({"ticker": ["META"], "metric": ["capex"], "freq": ["Q"],
                          "period_end": pd.to_datetime(["2026-06-30"]), "value": [30.1e9]})
    kept = ra.drop_filed(cited, filed)
    assert kept["period_end"].dt.strftime("%Y-%m-%d").tolist() == ["2026-09-30"]


def test_a_gap_in_the_filings_does_not_drop_and_near_dates_match():
    """A NaN filed value is no filing; a 52/53-week period end four days off is the same period."""
    cited = _rows("2026-06-30")
    gap = pd.DataFrame({"ticker": ["META"], "metric": ["capex"], "freq": ["Q"],
                        "period_end": pd.to_datetime(["2026-06-30"]), "value": [float("nan")]})
    assert len(ra.drop_filed(cited, gap)) == 1
    near = gap.assign(value=1.0, period_end=pd.to_datetime(["2026-06-26"]))
    assert ra.drop_filed(cited, near).empty


def test_committed_rows_skip_what_the_snapshot_already_files():
    """Alphabet's Q2 2026 (F197/F198) is in the SEC files and so not drawn; Meta's and Amazon's Q2 are;
    values are in dollars (F203b $30,116M → 30.116e9) and labelled with kind and confidence."""
    rows = ra.reported_after(metrics=["capex", "operating_cash_flow"])
    assert not {"F198a", "F198b"} & set(rows["fact_id"])
    meta = rows.set_index("fact_id").loc["F203b"]
    assert meta["value"] == pytest.approx(30.116e9) and meta["unit"] == "USD"
    assert "filing, medium confidence" in meta["label"]
    assert rows.set_index("fact_id").loc["F183", "freq"] == "TTM"


def test_unknown_fact_in_the_mapping_is_refused(data_copy):
    path = data_copy / "reported_after.csv"
    path.write_text(path.read_text() + "F9999,AMZN,capex,Q,\n")
    with pytest.raises(ra.ReportedAfterError, match=r"F9999"):
        ra.reported_after()
