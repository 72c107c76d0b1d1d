"""The curated facts table: cited figures that SEC XBRL companyfacts does not carry.

``data/facts.csv`` holds one row per figure (segment results, run rates, contract values, capex
guidance, useful lives, GPU rental prices...), each with its source, the kind of source and a
confidence rating copied from the research notes it was compiled from. ``data/FACTS.md``
describes the columns and vocabularies. Every load validates the table (`validate_facts`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd

from valuechain_lib.errors import ValueChainError
from valuechain_lib.paths import PACKAGE_DIR, data_dir
from valuechain_lib.snapshot.universe import universe
from valuechain_lib.snapshot.vintage import as_of
from valuechain_lib.snapshot.vintage import current as current_date

COLUMNS = (
    "fact_id", "entity", "ticker", "metric", "value", "value_low", "value_high", "qualifier", "unit", "period",
    "period_end", "as_of", "claim_id", "segment", "kind", "confidence", "source_title", "publisher",
    "source_date", "url", "evidence", "derived_from", "note",
)
#: Controlled vocabularies (see data/FACTS.md).
UNITS = (
    "USD million", "USD billion", "USD billion per month", "percent", "percentage points", "GW", "MW",
    "shares", "USD per share", "USD per GPU-hour", "USD per Superchip-hour", "USD per AI Unit", "years",
    "count", "ratio", "times per year", "TWD per USD", "TWD billion",
)
#: Kinds of source, most direct first (the order breaks ties in `segment_series`).
KINDS = ("filing", "company statement", "official statistics", "list price", "press report", "estimate")
#: Confidence levels, highest first.
CONFIDENCES = ("high", "medium", "low")
QUALIFIERS = ("", "about", "more than", "less than", "up to", "at least")
CLAIMS = tuple(f"A{i}" for i in range(1, 11)) + tuple(f"B{i}" for i in range(1, 12))
NUMBER_COLUMNS = ("value", "value_low", "value_high")
DATE_COLUMNS = ("period_end", "as_of", "source_date")
#: A quarterly period label: calendar ``2025-Q1`` or fiscal ``FY2026 Q3``.
QUARTER_PERIOD = re.compile(r"^(\d{4}-Q[1-4]|FY\d{4} Q[1-4])$")
#: Note phrase marking a row read from an AI-written digest or automated summary (always rated low).
DIGEST_MARK = "AI digest"
#: Note phrase of a mirror-copied row kept at high confidence because its values were checked.
CHECKED_MARK = "kept high: checked against"
#: Note phrase of a capex-guidance row whose day is unknown (left out of the event study).
UNDATED_MARK = "not dated to the day"
#: A metric that states a plan rather than an actual.
PLAN_METRIC = re.compile(r"\b(?:plan|outlook|guid\w*|expectation)\b", re.IGNORECASE)
# A host that is an IPv4 address, or a wildcard-DNS name wrapping one (1.2.3.4.nip.io).
_IP_HOST = re.compile(r"^(?:\d{1,3}\.){3}\d{1,3}$|(?:^|\.)(?:\d{1,3}\.){3}\d{1,3}\.(?:nip|sslip)\.io$")
_ISO = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_PRECISION = {1: "year", 2: "month", 3: "day"}


class FactsError(ValueChainError):
    """A facts table that breaks a rule; the message names the fact_id and the field."""


def _text(x) -> str:
    """A cell as text: '' for missing, ISO date for timestamps, plain repr for numbers."""
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NaT:
        return ""
    if isinstance(x, (pd.Timestamp, dt.date)):
        return x.strftime("%Y-%m-%d")
    if isinstance(x, float):
        return repr(x)
    return str(x).strip()


def _iso_parts(text: str) -> tuple[int, ...] | None:
    """Year, month, day of a full or reduced-precision ISO date (``2025``, ``2025-10``, ``2025-10-07``)."""
    m = _ISO.match(text)
    if not m:
        return None
    parts = tuple(int(p) for p in m.groups() if p is not None)
    try:
        dt.date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except ValueError:
        return None
    return parts


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def validate_facts(frame: pd.DataFrame, tickers=None) -> None:
    """Check a facts table and raise on the first broken rule.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table as read from ``facts.csv`` (text cells) or as returned by `facts`.
    tickers : collection of str, optional
        The tickers a row's ``ticker`` may name; default those of ``universe.csv`` beside ``facts.csv``
        (not checked when the data folder has no universe file, e.g. a test's folder of facts alone).

    Raises
    ------
    FactsError
        Naming the line of ``facts.csv`` (the header is line 1), the fact_id and the field: a missing column, an empty or duplicate fact_id, an unknown
        unit, kind, confidence, qualifier or claim_id, a ticker that is not in ``data/universe.csv``, a row with neither a value nor both range
        ends (or with both), a number that does not parse, value_low > value_high, a date that is
        not ISO (``period_end`` must be a full date), an empty source_title or publisher, a URL
        not starting with http:// or https://, or a derived_from id that is not in the table.
        Sourcing rules (see data/FACTS.md): a row marked as an AI digest (`DIGEST_MARK`) or read
        on a bare-IP host must be rated low; a high row that says it was read on a mirror must
        say it was checked (`CHECKED_MARK`); a capex-guidance row (`is_capex_guidance`) dated
        only to the month or year must say so (`UNDATED_MARK`).
    """
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise FactsError(f"facts table lacks column(s) {missing}")
    rows = [{c: _text(v) for c, v in zip(COLUMNS, vals, strict=True)}
            for vals in frame[list(COLUMNS)].itertuples(index=False, name=None)]
    ids = [r["fact_id"] for r in rows]
    known = set(ids)
    if tickers is None and any(r["ticker"] for r in rows) and (data_dir() / "universe.csv").exists():
        tickers = set(universe()["ticker"])
    seen: dict[str, int] = {}
    for i, r in enumerate(rows):
        fid, line = r["fact_id"], i + 2  # the CSV line: the header is line 1

        def fail(field: str, problem: str, fid=fid, line=line) -> None:
            raise FactsError(f"line {line}: fact {fid!r}: field {field!r}: {problem}")

        if not fid:
            raise FactsError(f"line {line}: field 'fact_id': empty fact_id")
        if fid in seen:
            fail("fact_id", f"duplicate fact_id (first on line {seen[fid]})")
        seen[fid] = line
        for field, allowed in (("unit", UNITS), ("kind", KINDS), ("confidence", CONFIDENCES),
                               ("qualifier", QUALIFIERS)):
            if r[field] not in allowed:
                fail(field, f"unknown {field} {r[field]!r} (allowed: {', '.join(map(repr, allowed))})")
        if r["claim_id"] and r["claim_id"] not in CLAIMS:
            fail("claim_id", f"unknown claim {r['claim_id']!r}")
        if r["ticker"] and tickers is not None and r["ticker"] not in tickers:
            fail("ticker", f"ticker {r['ticker']!r} is not in data/universe.csv (a universe ticker, or empty for a "
                           "company outside the universe, a market or a relationship)")
        nums = {}
        for field in NUMBER_COLUMNS:
            if r[field]:
                nums[field] = _number(r[field])
                if nums[field] is None:
                    fail(field, f"not a number: {r[field]!r}")
        has_range = "value_low" in nums and "value_high" in nums
        if "value" not in nums and not has_range:
            fail("value", "neither a value nor both value_low and value_high")
        if "value" in nums and ("value_low" in nums or "value_high" in nums):
            fail("value", "both a point value and a range; give one or the other")
        if has_range and nums["value_low"] > nums["value_high"]:
            fail("value_low", f"value_low {nums['value_low']} > value_high {nums['value_high']}")
        for field in DATE_COLUMNS:
            if r[field]:
                parts = _iso_parts(r[field])
                if parts is None or (field == "period_end" and len(parts) != 3):
                    fail(field, f"unparseable date {r[field]!r} (ISO YYYY-MM-DD"
                         + ("" if field == "period_end" else ", YYYY-MM or YYYY") + ")")
        for field in ("source_title", "publisher"):
            if not r[field]:
                fail(field, f"empty {field}")
        if r["url"] and not r["url"].startswith(("http://", "https://")):
            fail("url", f"URL must start with http:// or https://: {r['url']!r}")
        for ref in filter(None, (s.strip() for s in r["derived_from"].split(";"))):
            if ref not in known:
                fail("derived_from", f"unknown fact_id {ref!r}")
        _check_sourcing(r, fail)


def _check_sourcing(r: dict, fail) -> None:
    """The sourcing rules of `validate_facts` for one row of text cells."""
    host = urlparse(r["url"]).hostname or ""
    if DIGEST_MARK in r["note"] and r["confidence"] != "low":
        fail("confidence", f"an {DIGEST_MARK} is a low source, not {r['confidence']!r}")
    if _IP_HOST.search(host) and r["confidence"] != "low":
        fail("confidence", f"a bare-IP host ({host}) is a low source, not {r['confidence']!r}")
    if (r["confidence"] == "high" and "mirror" in (r["note"] + " " + r["publisher"]).lower()
            and CHECKED_MARK not in r["note"]):
        fail("confidence", f"a mirror copy is high only if the note says '{CHECKED_MARK} ...'")
    if (_is_capex_guidance_row(r["metric"], r["claim_id"]) and r["as_of"]
            and len(_iso_parts(r["as_of"]) or ()) != 3 and UNDATED_MARK not in r["note"]):
        fail("as_of", f"a capex-guidance statement dated {r['as_of']!r} needs the day, or a note "
                      f"saying it is '{UNDATED_MARK}'")


def _is_capex_guidance_row(metric: str, claim_id: str) -> bool:
    return bool(PLAN_METRIC.search(metric)) and ("capex" in metric.lower() or claim_id == "B2")


def is_capex_guidance(table: pd.DataFrame) -> pd.Series:
    """True for rows stating a capex plan (a guide, outlook or expectation), not an actual.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows of the facts table (`facts` output or the raw CSV).

    Returns
    -------
    pandas.Series
        Boolean, aligned with ``table``: the metric names a plan, outlook, guide or expectation
        (`PLAN_METRIC`) and either mentions capex or belongs to claim B2 (which also holds
        reported capex and cash flows, not guidance).
    """
    metric = table["metric"].map(_text)
    claim = table["claim_id"].map(_text)
    return pd.Series([_is_capex_guidance_row(m, c) for m, c in zip(metric, claim, strict=True)],
                     index=table.index, dtype=bool)


def is_digest(table: pd.DataFrame) -> pd.Series:
    """True for rows read from an AI-written digest or automated summary (note carries `DIGEST_MARK`).

    Parameters
    ----------
    table : pandas.DataFrame
        Rows of the facts table.

    Returns
    -------
    pandas.Series
        Boolean, aligned with ``table``. Such rows are always rated low, so
        ``facts(min_confidence="medium")`` already leaves them out.
    """
    return table["note"].map(_text).str.contains(DIGEST_MARK, regex=False).astype(bool)


def _parse_dates(texts: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ISO texts to (datetime64 at the start of the stated period, precision 'day'/'month'/'year'/'')."""
    parts = texts.map(lambda t: _iso_parts(t) if t else None)
    dates = pd.to_datetime(parts.map(lambda p: None if p is None else dt.date(p[0], *(list(p[1:]) + [1, 1])[:2])))
    precision = parts.map(lambda p: "" if p is None else _PRECISION[len(p)])
    return dates, precision.astype("string")


def shown_path(path) -> str:
    """A data file's path for a message: relative to the repository when inside it (``data/facts.csv``)."""
    path = Path(path)
    try:
        return path.resolve().relative_to(PACKAGE_DIR.parent).as_posix()
    except ValueError:
        return str(path)


def _path() -> Path:
    return data_dir() / "facts.csv"


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise FactsError(f"facts table not found: {path}")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise FactsError(f"{shown_path(path)}: not a readable CSV table: {exc}") from exc


def _stamp() -> tuple[str, int, int]:
    """The facts file's path, modification time and size: the key under which its parsed table is kept."""
    path = _path()
    try:
        info = path.stat()
    except FileNotFoundError:
        raise FactsError(f"facts table not found: {path}") from None
    return str(path), info.st_mtime_ns, info.st_size


@lru_cache(maxsize=4)
def _parsed(path: str, mtime_ns: int, size: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    # Validating and parsing the table costs ~40 ms and a chapter asks for facts dozens of times; the
    # stamp in the key makes an edited file be read again. Callers get filtered copies, never these frames.
    raw = _read(Path(path))  # the file the key names, not the data folder as it may be by now
    try:
        validate_facts(raw)
    except FactsError as exc:
        raise FactsError(f"{shown_path(path)}: {exc}") from None
    out = raw.copy()
    for col in NUMBER_COLUMNS:
        out[col] = pd.to_numeric(out[col].replace("", None)).astype("float64")
    for col in DATE_COLUMNS:
        out[col], precision = _parse_dates(raw[col])
        if col != "period_end":
            out[f"{col}_precision"] = precision
    out["kind"] = pd.Categorical(out["kind"], categories=KINDS, ordered=True)
    out["confidence"] = pd.Categorical(out["confidence"], categories=CONFIDENCES, ordered=True)
    text_cols = [c for c in COLUMNS if c not in NUMBER_COLUMNS + DATE_COLUMNS + ("kind", "confidence")]
    out[text_cols] = out[text_cols].astype("string")
    return raw, out


def _entity_names(entity: str) -> set[str]:
    """The whole names in an entity field ('OpenAI → Oracle' -> {'openai', 'oracle'})."""
    return {p.strip().lower() for p in re.split(r"→|/|,", entity) if p.strip()} | {entity.strip().lower()}


def facts(claim_id: str | None = None, entity: str | None = None, segment: str | None = None,
          min_confidence: str | None = None) -> pd.DataFrame:
    """Load, validate and filter the facts table.

    Parameters
    ----------
    claim_id : str, optional
        A thesis claim (``"A1"`` ... ``"B11"``).
    entity : str, optional
        A company or market; matches a whole name in the entity field, case-insensitively, so
        ``"Oracle"`` also finds ``"OpenAI → Oracle"``.
    segment : str, optional
        A segment name exactly as in the table (e.g. ``"AWS"``).
    min_confidence : {"high", "medium", "low"}, optional
        Keep rows rated at least this high.

    Returns
    -------
    pandas.DataFrame
        The columns of ``facts.csv``: numbers as float, ``period_end``/``as_of``/``source_date``
        as datetime64 (a reduced-precision date such as ``2025-10`` becomes its first day), plus
        ``as_of_precision`` and ``source_date_precision`` ('day', 'month', 'year' or '').
        ``kind`` and ``confidence`` are ordered categoricals (most direct / highest first).

        Inside ``with valuechain_lib.snapshot.vintage.as_of(date):`` only rows published by ``date`` (see
        `published_by`).

    Raises
    ------
    FactsError
        If the table is missing or invalid, or ``min_confidence`` is unknown.
    """
    raw, out = _parsed(*_stamp())
    mask = pd.Series(True, index=out.index)
    date = current_date()
    if date is not None:
        mask &= published_by(out, date)
    if claim_id is not None:
        mask &= out["claim_id"] == claim_id
    if entity is not None:
        mask &= raw["entity"].map(lambda e: entity.strip().lower() in _entity_names(e))
    if segment is not None:
        mask &= out["segment"] == segment
    if min_confidence is not None:
        if min_confidence not in CONFIDENCES:
            raise FactsError(f"unknown min_confidence {min_confidence!r} (allowed: {CONFIDENCES})")
        mask &= raw["confidence"].map(CONFIDENCES.index) <= CONFIDENCES.index(min_confidence)
    return out[mask.to_numpy()].reset_index(drop=True)


def published_by(table: pd.DataFrame, date) -> pd.Series:
    """True for rows a reader could have seen on ``date``.

    A row counts from its ``source_date``, or from ``as_of`` when the page is undated; a date given
    only to the month or year counts from the end of that month or year, so a figure is never used
    before it can have been published. A row with neither date is left out.
    """
    date = pd.Timestamp(date)
    when = table["source_date"].where(table["source_date"].notna(), table["as_of"])
    precision = table["source_date_precision"].where(table["source_date"].notna(), table["as_of_precision"])
    month_end = when + pd.offsets.MonthEnd(0)
    year_end = when + pd.offsets.YearEnd(0)
    published = when.where(precision == "day", month_end.where(precision == "month", year_end))
    return (published.notna() & (published <= date)).to_numpy()


def _fmt_number(x: float) -> str:
    return f"{x:,.6f}".rstrip("0").rstrip(".")


def _fmt_amount(x: float, unit: str) -> str:
    money = {"USD million": "M", "USD billion": "B"}
    sign = "-" if x < 0 else ""
    if unit in money:
        return f"{sign}${_fmt_number(abs(x))}{money[unit]}"
    if unit == "USD billion per month":
        return f"{sign}${_fmt_number(abs(x))}B/month"
    if unit.startswith("USD per "):
        return f"{sign}${_fmt_number(abs(x))}/{unit[len('USD per '):]}"
    if unit == "percent":
        return f"{_fmt_number(x)}%"
    if unit == "percentage points":
        return f"{_fmt_number(x)} pp"
    return f"{_fmt_number(x)} {unit}"


def _is_set(x) -> bool:
    return _text(x) != ""


def _as_of_text(row) -> str:
    """as_of at the precision it was given ('2025-10', not '2025-10-01')."""
    text = _text(row["as_of"])
    precision = _text(row["as_of_precision"]) if "as_of_precision" in row else ""
    return text[: {"year": 4, "month": 7}.get(precision, len(text))]


def label(row) -> str:
    """A short human label for charts and tables.

    Parameters
    ----------
    row : mapping or pandas.Series
        One row of `facts` (or of the raw CSV).

    Returns
    -------
    str
        E.g. ``"AWS net sales, 2025-Q1: about $29,270M (estimate, medium confidence; opencapital.sh)"``.
        The kind is always named, so a press report says "press report".
    """
    unit = _text(row["unit"])
    if _is_set(row["value"]):
        amount = _fmt_amount(float(row["value"]), unit)
    else:
        amount = f"{_fmt_amount(float(row['value_low']), unit)} to {_fmt_amount(float(row['value_high']), unit)}"
    qualifier = _text(row["qualifier"])
    subject = _text(row["segment"]) or _text(row["entity"])
    when = _text(row["period"]) or _as_of_text(row)
    head = f"{subject} {_text(row['metric'])}" + (f", {when}" if when else "")
    return (f"{head}: {qualifier + ' ' if qualifier else ''}{amount} "
            f"({_text(row['kind'])}, {_text(row['confidence'])} confidence; {_text(row['publisher'])})")


def segment_series(segment: str, metric: str) -> pd.DataFrame:
    """One quarterly series of a segment, one row per quarter, for charting.

    Where several rows give the same quarter (e.g. a release and a data site), the row kept is
    the one with the highest confidence, then the most direct kind (filing first, estimate last),
    then an exact figure over an approximate one. Annual and half-year rows are left out.

    Parameters
    ----------
    segment : str
        Segment name as in the table, e.g. ``"AWS"``.
    metric : str
        Metric name as in the table, e.g. ``"net sales"``.

    Returns
    -------
    pandas.DataFrame
        Columns period_end, value, unit, confidence, kind, source_title, fact_id, plus period
        and qualifier; sorted by period_end.

    Raises
    ------
    FactsError
        If the segment has no such metric, or the series mixes units.
    """
    table = facts(segment=segment)
    if table.empty:
        raise FactsError(f"no facts for segment {segment!r}")
    rows = table[(table["metric"] == metric) & table["period"].str.match(QUARTER_PERIOD.pattern).fillna(False)
                 & table["value"].notna() & table["period_end"].notna()]
    if rows.empty:
        metrics = sorted(table["metric"].dropna().unique())
        raise FactsError(f"segment {segment!r} has no quarterly metric {metric!r}; metrics: {metrics}")
    if rows["unit"].nunique() > 1:
        raise FactsError(f"segment {segment!r} metric {metric!r} mixes units {sorted(rows['unit'].unique())}")
    ranked = rows.assign(_c=rows["confidence"].cat.codes, _k=rows["kind"].cat.codes,
                         _q=(rows["qualifier"] != "").astype(int))
    best = (ranked.sort_values(["period_end", "_c", "_k", "_q", "fact_id"])
            .drop_duplicates("period_end", keep="first"))
    cols = ["period_end", "value", "unit", "confidence", "kind", "source_title", "fact_id", "period", "qualifier"]
    return best[cols].reset_index(drop=True)


def segment_tickers() -> dict[str, str]:
    """The universe ticker of each segment's company, from the facts table's ``ticker`` column.

    Read from the whole table, also inside `valuechain_lib.snapshot.vintage.as_of`: the company a segment
    belongs to does not depend on the date.

    Returns
    -------
    dict
        Segment name → ticker (``{"AWS": "AMZN", "Google Cloud": "GOOGL", ...}``), in table order.

    Raises
    ------
    FactsError
        If a segment's rows name two companies.

    Examples
    --------
    >>> segment_tickers()["Microsoft Intelligent Cloud"]
    'MSFT'
    """
    with as_of(None):
        table = facts()
    rows = table.loc[(table["segment"] != "") & (table["ticker"] != ""), ["segment", "ticker"]].drop_duplicates()
    twice = rows[rows["segment"].duplicated(keep=False)]
    if not twice.empty:
        raise FactsError(f"segment {twice['segment'].iloc[0]!r} has rows of several companies: "
                         f"{sorted(twice['ticker'])}")
    return dict(zip(rows["segment"].astype(str), rows["ticker"].astype(str), strict=True))


# segment -> (revenue metric, operating-income metric) on the same segment definition
SEGMENT_MARGIN_PAIRS = {
    "AWS": ("net sales", "operating income"),
    "Google Cloud": ("revenues", "operating income"),
    "Microsoft Intelligent Cloud": ("revenue", "operating income"),
    "AMD Data Center": ("revenue", "operating income"),
    "Broadcom Semiconductor Solutions": ("revenue", "operating income"),
}
_CONFIDENCE_ORDER = ["low", "medium", "high"]


def segment_margins() -> pd.DataFrame:
    """Quarterly segment operating margins where revenue and operating income of the same segment,
    definition and quarter are both in the facts table.

    Returns
    -------
    pandas.DataFrame
        ``segment, period, period_end, revenue, operating_income, operating_margin`` (fraction),
        ``lowest_confidence`` of the two figures, ``kinds`` (their kinds, e.g. "company statement /
        press report"), ``fact_ids`` and ``approximate`` (True when either figure is rounded).
    """
    rows = []
    for segment, (rev_metric, oi_metric) in SEGMENT_MARGIN_PAIRS.items():
        try:
            rev = segment_series(segment, rev_metric).set_index("period_end")
            oi = segment_series(segment, oi_metric).set_index("period_end")
        except FactsError:
            if current_date() is None:
                raise
            continue  # as of an earlier date, a segment's figures may not have been published yet
        for end in rev.index.intersection(oi.index):
            r, o = rev.loc[end], oi.loc[end]
            if r["unit"] != o["unit"]:
                raise FactsError(f"segment {segment!r} {end:%Y-%m-%d}: revenue in {r['unit']}, "
                                 f"operating income in {o['unit']}")
            rows.append({
                "segment": segment, "period": r["period"], "period_end": end,
                "revenue": r["value"], "operating_income": o["value"],
                "operating_margin": o["value"] / r["value"] if r["value"] else float("nan"),
                "lowest_confidence": min(str(r["confidence"]), str(o["confidence"]), key=_CONFIDENCE_ORDER.index),
                "kinds": " / ".join(dict.fromkeys([str(r["kind"]), str(o["kind"])])),
                "fact_ids": f"{r['fact_id']}, {o['fact_id']}",
                "approximate": bool(r["qualifier"] or o["qualifier"]),
            })
    return pd.DataFrame(rows).sort_values(["segment", "period_end"]).reset_index(drop=True)
