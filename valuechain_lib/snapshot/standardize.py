"""From raw XBRL facts to one value per company, metric and period, with restatements kept.

Steps, each a function: drop documented errata, map tags to canonical metrics (a data file with
per-company overrides), keep the reporting currency, check signs, refuse facts of one filing that
disagree, keep the latest filed value of each period (earlier values go to the restatements
table), pick the tag per period by priority, and place every period in the fiscal calendar.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from valuechain_lib.calc.periods import calendar_quarter, classify_periods
from valuechain_lib.errors import FilingConflictError, SignConventionError, UnknownMetricError
from valuechain_lib.paths import MAPPINGS_DIR

# Outflows that the library keeps as positive numbers; a negative one is a sign-flipped input.
POSITIVE_OUTFLOWS = ("capex", "finance_lease_principal_payments", "debt_repaid", "buybacks", "dividends",
                     "interest_expense")
# Inflows kept as positive numbers (debt proceeds): net debt issued is debt_issued − debt_repaid.
POSITIVE_INFLOWS = ("debt_issued",)

REPORTED_COLUMNS = [
    "ticker", "metric", "kind", "duration", "fiscal_year", "fiscal_quarter", "period_start", "period_end",
    "calendar_year", "calendar_quarter", "value", "unit", "tag", "taxonomy", "accession", "form", "filed",
    "source",
]
RESTATEMENT_COLUMNS = [
    "ticker", "metric", "tag", "period_start", "period_end", "old_value", "new_value",
    "old_accession", "new_accession", "old_filed", "new_filed",
]
# Every value a tag has carried for a period, from the first filing that carried it: enough to
# rebuild the snapshot as it stood on any date (`valuechain_lib.snapshot.vintage`).
VINTAGE_COLUMNS = [
    "ticker", "metric", "kind", "priority", "tag", "taxonomy", "unit", "start", "end", "value",
    "accession", "form", "filed", "source",
]


@lru_cache(maxsize=1)
def tag_map() -> pd.DataFrame:
    """Return the metric → XBRL tag mapping (``mappings/xbrl_tags.csv``), one row per tag."""
    frame = pd.read_csv(MAPPINGS_DIR / "xbrl_tags.csv", dtype=str, keep_default_na=False)
    frame["priority"] = frame["priority"].astype(int)
    return frame


def canonical_metrics() -> dict[str, str]:
    """Return ``{metric: kind}`` for every canonical metric (``flow`` or ``stock``)."""
    frame = tag_map()
    return dict(zip(frame["metric"], frame["kind"], strict=False))


def check_metric(metric: str) -> str:
    """Return ``metric`` or raise `UnknownMetricError` listing the canonical ones."""
    known = canonical_metrics()
    if metric not in known:
        raise UnknownMetricError(f"unknown metric {metric!r}; canonical metrics: {', '.join(known)}")
    return metric


def tags_for(ticker: str) -> pd.DataFrame:
    """Return the tag rows that apply to one company: its overrides replace a metric's defaults."""
    frame = tag_map()
    own = frame[frame["ticker"] == ticker]
    defaults = frame[(frame["ticker"] == "") & ~frame["metric"].isin(own["metric"])]
    return pd.concat([own, defaults], ignore_index=True)


@lru_cache(maxsize=1)
def errata() -> pd.DataFrame:
    """Return documented source errors to drop (``mappings/errata.csv``), each with its reason."""
    frame = pd.read_csv(MAPPINGS_DIR / "errata.csv", dtype=str, keep_default_na=False)
    for col in ("start", "end"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


def drop_errata(raw: pd.DataFrame) -> pd.DataFrame:
    """Drop the raw facts listed in the errata file (matched on ticker, tag, dates and accession;
    an accession of ``*`` matches the fact in every filing that repeats it)."""
    marks = errata().rename(columns={"reason": "_erratum"})
    any_filing = marks["accession"] == "*"  # the same error repeated by every later filing
    keys = ["ticker", "tag", "start", "end"]
    hit = raw.merge(marks[~any_filing], on=[*keys, "accession"], how="left")["_erratum"].notna()
    hit |= raw.merge(marks.loc[any_filing, [*keys, "_erratum"]], on=keys, how="left")["_erratum"].notna()
    return raw[~hit.to_numpy()].reset_index(drop=True)


#: Joins the parts of a composed tag (``LongTermNotesAndLoans+DebtCurrent``) in the tag map.
TAG_SUM = "+"


def composed_facts(raw: pd.DataFrame, tag: str, taxonomy: str) -> pd.DataFrame:
    """Facts of a composed tag: the sum of its parts where one filing gives every part for the same period.

    A company that presents a line the tag map needs as two tagged lines (Oracle's borrowings: noncurrent
    plus current) gets their sum, one fact per filing and period that carries all the parts; a filing
    that tags only some of them gives no fact (never a partial sum).

    Parameters
    ----------
    raw : pandas.DataFrame
        Raw facts of one company (`valuechain_lib.sources.sec.RAW_COLUMNS`).
    tag : str
        Part tags joined by `TAG_SUM`, e.g. ``"LongTermNotesAndLoans+DebtCurrent"``.
    taxonomy : str
        The parts' taxonomy.

    Returns
    -------
    pandas.DataFrame
        Rows shaped like ``raw`` with ``tag`` the composed name and ``value`` the sum; the other fields
        are the first part's.

    Examples
    --------
    >>> raw = pd.DataFrame({"taxonomy": "us-gaap", "tag": ["A", "B", "A"], "unit": "USD",
    ...                     "start": pd.NaT, "end": pd.Timestamp("2024-05-31"), "value": [3.0, 1.0, 3.0],
    ...                     "accession": ["k", "k", "q"]})
    >>> composed_facts(raw, "A+B", "us-gaap")[["tag", "accession", "value"]].to_dict("records")
    [{'tag': 'A+B', 'accession': 'k', 'value': 4.0}]
    """
    parts = tag.split(TAG_SUM)
    keys = ["unit", "start", "end", "accession"]
    rows = raw[(raw["taxonomy"] == taxonomy) & raw["tag"].isin(parts)]
    rows = rows.drop_duplicates([*keys, "tag"], keep="last")
    counts = rows.groupby(keys, dropna=False)["tag"].transform("nunique")
    complete = rows[counts == len(parts)]
    summed = complete.groupby(keys, dropna=False, sort=False)["value"].sum()
    first = complete[complete["tag"] == parts[0]].set_index(keys)
    out = first.assign(value=summed.reindex(first.index).to_numpy(), tag=tag).reset_index()
    return out[raw.columns]


def map_tags(raw: pd.DataFrame, ticker: str) -> pd.DataFrame:
    """Attach ``metric``, ``kind`` and tag ``priority`` to raw facts; unmapped tags are dropped.

    A composed tag in the map (parts joined by `TAG_SUM`) maps the sum of its parts (`composed_facts`).
    """
    tags = tags_for(ticker)[["metric", "kind", "priority", "taxonomy", "tag"]]
    composed = tags[tags["tag"].str.contains(TAG_SUM, regex=False)]
    if not composed.empty:
        sums = [composed_facts(raw, row.tag, row.taxonomy) for row in composed.itertuples()]
        raw = pd.concat([raw, *sums], ignore_index=True)
    return raw.merge(tags, on=["taxonomy", "tag"], how="inner")


def check_signs(facts: pd.DataFrame) -> None:
    """Raise `SignConventionError` for a negative value of a positive-outflow metric (e.g. capex) or of a
    positive-inflow one (debt proceeds)."""
    bad = facts[facts["metric"].isin(POSITIVE_OUTFLOWS + POSITIVE_INFLOWS) & (facts["value"] < 0)]
    if not bad.empty:
        row = bad.iloc[0]
        direction = "inflow" if row["metric"] in POSITIVE_INFLOWS else "outflow"
        raise SignConventionError(
            f"{row['ticker']}: {row['metric']} is negative ({row['value']:,.0f}) for the period "
            f"{_period_text(row)} (tag {row['tag']}, accession {row['accession']}); the library keeps "
            f"{row['metric']} as a positive {direction}, so the input is sign-flipped"
        )


def _period_text(row) -> str:
    start = "" if pd.isna(row["start"]) else f"{row['start']:%Y-%m-%d}.."
    return f"{start}{row['end']:%Y-%m-%d}"


def check_filing_consistency(facts: pd.DataFrame) -> None:
    """Raise `FilingConflictError` when one filing gives two values for the same tag and period."""
    keyed = facts[facts["accession"].notna()]
    keys = ["ticker", "tag", "unit", "start", "end", "accession"]
    spread = keyed.groupby(keys, dropna=False)["value"].nunique()
    conflicts = spread[spread > 1]
    if not conflicts.empty:
        ticker, tag, unit, start, end, accession = conflicts.index[0]
        values = keyed.set_index(keys).loc[conflicts.index[0], "value"].unique().tolist()
        period = ("" if pd.isna(start) else f"{start:%Y-%m-%d}..") + f"{end:%Y-%m-%d}"
        raise FilingConflictError(
            f"{ticker}: filing {accession} gives {len(values)} different values for {tag} ({unit}) "
            f"over {period}: {values}"
        )


def latest_filed(facts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep the latest filed value per tag and period; return it and the restatements.

    Returns
    -------
    (facts, restatements)
        ``facts`` has one row per (ticker, metric, tag, unit, start, end); ``restatements`` lists
        each earlier value that differs from the kept one (old → new, both accessions).
    """
    keys = ["ticker", "metric", "tag", "unit", "start", "end"]
    ordered = facts.sort_values(keys + ["filed", "accession"], na_position="first", kind="stable")
    kept = ordered.drop_duplicates(keys, keep="last")
    kept = _cite_periodic_report(ordered, kept, keys)
    older = ordered.merge(kept[keys + ["value", "accession", "filed"]], on=keys, suffixes=("", "_new"))
    changed = older[(older["value"] != older["value_new"]) & (older["accession"] != older["accession_new"])]
    changed = changed.drop_duplicates(keys + ["value"], keep="last")
    restatements = pd.DataFrame({
        "ticker": changed["ticker"], "metric": changed["metric"], "tag": changed["tag"],
        "period_start": changed["start"], "period_end": changed["end"],
        "old_value": changed["value"], "new_value": changed["value_new"],
        "old_accession": changed["accession"], "new_accession": changed["accession_new"],
        "old_filed": changed["filed"], "new_filed": changed["filed_new"],
    }, columns=RESTATEMENT_COLUMNS)
    return kept.reset_index(drop=True), restatements.reset_index(drop=True)


# Periodic reports, preferred as the citation when a later filing (a proxy statement, an 8-K) repeats
# the same value for the same period.
PERIODIC_FORMS = ("10-K", "10-Q", "20-F", "40-F", "10-K/A", "10-Q/A", "20-F/A", "10-KT", "6-K")


def _cite_periodic_report(ordered: pd.DataFrame, kept: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Cite the latest periodic report that carries the kept value, where one does."""
    same = ordered.merge(kept[keys + ["value"]], on=keys + ["value"])
    periodic = same[same["form"].isin(PERIODIC_FORMS)].drop_duplicates(keys, keep="last")
    cite = periodic.set_index(keys)[["accession", "form", "filed"]]
    out = kept.set_index(keys)
    has = out.index.isin(cite.index)
    out.loc[has, ["accession", "form", "filed"]] = cite.reindex(out.index[has]).to_numpy()
    return out.reset_index()


def vintages(facts: pd.DataFrame) -> pd.DataFrame:
    """Each distinct value of a tag and period, dated by the first filing that carried it.

    A value repeated by later filings (comparative columns) keeps its first date; a restated value
    starts a new row. Filtering these rows to ``filed <= date`` and keeping the last per tag and
    period gives the values as they stood on ``date``.

    Parameters
    ----------
    facts : pandas.DataFrame
        Mapped raw facts of one company (after errata, currency and sign checks), all filings.

    Returns
    -------
    pandas.DataFrame
        `VINTAGE_COLUMNS`, sorted by tag, period and filing date.
    """
    keys = ["ticker", "metric", "tag", "unit", "start", "end"]
    ordered = facts.sort_values(keys + ["filed", "accession"], na_position="first", kind="stable")
    previous = ordered.groupby(keys, dropna=False)["value"].shift()
    runs = ordered[previous.isna() | (previous != ordered["value"])]
    return runs[VINTAGE_COLUMNS].reset_index(drop=True)


def pick_tag_per_period(facts: pd.DataFrame) -> pd.DataFrame:
    """For each metric and period keep the highest-priority tag that has a fact for that period."""
    ordered = facts.sort_values(["priority"], kind="stable")
    return ordered.drop_duplicates(["ticker", "metric", "start", "end"], keep="first").reset_index(drop=True)


def one_fact_per_slot(facts: pd.DataFrame) -> pd.DataFrame:
    """Keep one fact per metric, duration class and fiscal quarter.

    Filings sometimes date the same period a day apart (a start of 2016-07-01 in one 10-Q and
    2016-07-02 in the next); such facts fill the same slot. The higher-priority tag wins, then
    the later filing.
    """
    slot = ["ticker", "metric", "duration", "fiscal_year", "fiscal_quarter"]
    ordered = facts.sort_values(["priority", "filed"], ascending=[True, False], kind="stable")
    return ordered.drop_duplicates(slot, keep="first")


def mapped_facts(raw: pd.DataFrame, company: pd.Series) -> pd.DataFrame:
    """One company's raw facts with errata dropped, tags mapped, in its currency, signs and filings checked."""
    facts = drop_errata(raw)
    facts = map_tags(facts, company["ticker"])
    facts = facts[facts["unit"] == company["currency"]]
    check_signs(facts)
    check_filing_consistency(facts)
    return facts


def standardize_company(raw: pd.DataFrame, company: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Turn one company's raw facts into reported periods and restatements.

    Parameters
    ----------
    raw : pandas.DataFrame
        Raw facts of one company (`valuechain_lib.sources.sec.RAW_COLUMNS`).
    company : pandas.Series
        The company's universe row (ticker, currency, fiscal-year end, 52/53-week flag).

    Returns
    -------
    (reported, restatements)
        ``reported`` has `REPORTED_COLUMNS`: one value per metric and period, the duration class
        (``3M``, ``6M``, ``9M``, ``FY``, ``TTM``, ``instant``), fiscal and calendar labels, the tag
        and accession used. Periods of another class (``other``) are left out.
    """
    facts, restatements = latest_filed(mapped_facts(raw, company))
    return place_in_calendar(facts, company), restatements


def place_in_calendar(facts: pd.DataFrame, company: pd.Series) -> pd.DataFrame:
    """From one value per tag and period to `REPORTED_COLUMNS`: tag chosen per period, periods classified
    (duration class, fiscal and calendar labels), one fact per fiscal slot.

    ``facts`` may hold several companies (its ``ticker`` column) that share the fiscal calendar of
    ``company`` (``fiscal_year_end_month``, ``fiscal_52_53_week``); rows come out by ticker, metric,
    period end and duration."""
    facts = pick_tag_per_period(facts)
    is_stock = facts["kind"].eq("stock")
    facts.loc[is_stock, "start"] = pd.NaT  # balance-sheet facts are instants
    classes = classify_periods(facts["start"], facts["end"], int(company["fiscal_year_end_month"]),
                               bool(company["fiscal_52_53_week"]))
    facts = pd.concat([facts, classes], axis=1)
    facts = facts[facts["duration"] != "other"]
    facts = facts[~(facts["kind"].eq("flow") & facts["duration"].eq("instant"))]
    facts = facts[~(facts["kind"].eq("stock") & ~facts["duration"].eq("instant"))]
    facts = one_fact_per_slot(facts)
    cal = calendar_quarter(facts["end"])
    reported = pd.DataFrame({
        "ticker": facts["ticker"], "metric": facts["metric"], "kind": facts["kind"], "duration": facts["duration"],
        "fiscal_year": facts["fiscal_year"], "fiscal_quarter": facts["fiscal_quarter"],
        "period_start": facts["start"], "period_end": facts["end"],
        "calendar_year": cal["calendar_year"], "calendar_quarter": cal["calendar_quarter"],
        "value": facts["value"].astype(float), "unit": facts["unit"], "tag": facts["tag"],
        "taxonomy": facts["taxonomy"], "accession": facts["accession"], "form": facts["form"],
        "filed": facts["filed"], "source": facts["source"],
    }, columns=REPORTED_COLUMNS)
    return reported.sort_values(["ticker", "metric", "period_end", "duration"]).reset_index(drop=True)
