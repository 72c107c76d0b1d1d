"""The verdict a rule gives a claim: one value type from the rule to the page, and its one renderer.

A rule returns a `Verdict`: the status, the figure it measured, the threshold it compared it with,
how far the figure is from flipping the verdict, the numbers and sources behind it and the last date
its data cover. The claims ledger (`valuechain_lib.claims.ledger`) runs each rule on today's snapshot and on
the data as filed by the essay's date; `render` draws the result the same way in a chapter and on
the scorecard.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

#: Verdicts on a statement of fact or measure.
CLAIM_STATUSES = ("supported", "not supported", "mixed", "not testable with public data")
#: Verdicts on a condition ("X can continue only if Y"): whether Y holds so far.
CONDITION_STATUSES = ("condition met", "condition not met so far", "not testable with public data")
STATUSES = CLAIM_STATUSES + tuple(s for s in CONDITION_STATUSES if s not in CLAIM_STATUSES)
#: How a measured figure and its threshold are written (``share`` = a fraction shown in percent).
UNITS = ("share", "USD", "count", "ratio", "p-value", "percent return", "")


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict with the numbers behind it.

    Parameters
    ----------
    status : str
        One of `CLAIM_STATUSES` (or `CONDITION_STATUSES` when ``kind`` is ``"condition"``).
    summary : str
        One to three plain sentences computed from the data, stating the numbers.
    measured : float, optional
        The figure the rule compares with ``threshold`` (a fraction for shares). None for rules
        without a threshold (facts that either exist or not).
    threshold : float, optional
        The cut, in the unit of ``measured``; read from ``data/claims.csv``.
    unit : str
        How ``measured``, ``threshold`` and ``distance_to_flip`` are written (`UNITS`).
    measure : str
        What ``measured`` is, in words ("combined TTM capex / operating cash flow").
    distance_to_flip : float, optional
        How far ``measured`` would have to move, in its unit, for the status to change; 0 at the
        threshold itself. None where the rule has no threshold.
    flip : str
        The same in words, with the direction ("0.3 points above the 75% threshold; a fall of
        more than that flips it to not supported").
    numbers : dict
        Every figure the rule compared (name → value), for the scorecard and tests.
    sources : str
        Where the figures come from (filings, facts-table ids with their kind and confidence).
    data_through : str
        The last period end its data cover, as ISO dates, per company where they differ.
    kind : {"claim", "condition"}
    """

    status: str
    summary: str
    measured: float | None = None
    threshold: float | None = None
    unit: str = ""
    measure: str = ""
    distance_to_flip: float | None = None
    flip: str = ""
    numbers: dict = field(default_factory=dict)
    sources: str = ""
    data_through: str = ""
    kind: str = "claim"

    def __post_init__(self):
        allowed = CONDITION_STATUSES if self.kind == "condition" else CLAIM_STATUSES
        if self.kind not in ("claim", "condition"):
            raise ValueError(f"verdict kind {self.kind!r} is not 'claim' or 'condition'")
        if self.status not in allowed:
            raise ValueError(f"verdict status {self.status!r} is not one of {allowed} (kind {self.kind})")
        if self.unit not in UNITS:
            raise ValueError(f"verdict unit {self.unit!r} is not one of {UNITS}")
        if not self.summary.strip():
            raise ValueError("a verdict needs a summary")


def status_from_count(passed: int, total: int) -> str:
    """All conditions met → supported; none → not supported; some → mixed."""
    if passed == total:
        return "supported"
    return "not supported" if passed == 0 else "mixed"


def format_value(value, unit: str) -> str:
    """A measured figure or threshold as the book writes it (``0.753`` share → ``75.3%``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if unit in ("share", "percent return"):
        return f"{value:.1%}"
    if unit == "USD":
        return f"${value / 1e9:,.1f}bn"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "ratio":
        return f"{value:,.2f}×"
    if unit == "p-value":
        return f"{value:.3f}"
    return f"{value:,.4g}"


def format_distance(value, unit: str) -> str:
    """A distance to the threshold in the measured figure's unit (shares in percentage points)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if unit in ("share", "percent return"):
        return f"{value * 100:.1f} pts"
    if unit == "count":
        n = round(value)
        return f"{n:,.0f} compan{'y' if n == 1 else 'ies'}" if n else "0"
    return format_value(value, unit)


def at_least(measured: float, threshold: float, *, unit: str, measure: str, kind: str = "claim",
             below: str | None = None) -> dict:
    """Status and distance for a rule "holds when ``measured >= threshold``".

    Returns
    -------
    dict
        ``status``, ``measured``, ``threshold``, ``unit``, ``measure``, ``distance_to_flip``, ``flip``
        and ``kind``, ready to unpack into `Verdict` with a summary.
    """
    holds_word, fails_word = _words(kind)
    below = below or fails_word
    if measured is None or math.isnan(measured):
        raise ValueError(f"{measure}: no measured value to compare with the threshold")
    holds = measured >= threshold
    distance = abs(measured - threshold)
    if holds:
        flip = (f"{format_distance(distance, unit)} above the {format_value(threshold, unit)} threshold; "
                f"a fall of more than that makes it {below}")
    else:
        flip = (f"{format_distance(distance, unit)} below the {format_value(threshold, unit)} threshold; "
                f"a rise of that much makes it {holds_word}")
    return {"status": holds_word if holds else below, "measured": float(measured), "threshold": float(threshold),
            "unit": unit, "measure": measure, "distance_to_flip": float(distance), "flip": flip, "kind": kind}


def less_than(measured: float, threshold: float, *, unit: str, measure: str, kind: str = "claim") -> dict:
    """Status and distance for a rule "holds when ``measured < threshold``" (see `at_least`)."""
    holds_word, fails_word = _words(kind)
    if measured is None or math.isnan(measured):
        raise ValueError(f"{measure}: no measured value to compare with the threshold")
    holds = measured < threshold
    distance = abs(measured - threshold)
    if holds:
        flip = (f"{format_distance(distance, unit)} below the {format_value(threshold, unit)} threshold; "
                f"a rise of that much makes it {fails_word}")
    else:
        flip = (f"{format_distance(distance, unit)} above the {format_value(threshold, unit)} threshold; "
                f"a fall of more than that makes it {holds_word}")
    return {"status": holds_word if holds else fails_word, "measured": float(measured),
            "threshold": float(threshold), "unit": unit, "measure": measure, "distance_to_flip": float(distance),
            "flip": flip, "kind": kind}


def within(measured: float, centre: float, tolerance: float, *, unit: str, measure: str) -> dict:
    """Status and distance for a rule "holds when ``|measured - centre| <= tolerance``".

    The threshold reported is the band edge nearest the measured figure.
    """
    low, high = centre - tolerance, centre + tolerance
    # Rounded so that both band edges behave alike despite floating-point error.
    inside = round(abs(measured - centre), 9) <= tolerance
    if inside:
        edge = low if measured - low <= high - measured else high
        distance = min(measured - low, high - measured)
        flip = (f"inside the {format_value(low, unit)}–{format_value(high, unit)} band, "
                f"{format_distance(distance, unit)} from its edge at {format_value(edge, unit)}")
    else:
        edge = low if measured < low else high
        distance = abs(measured - edge)
        flip = (f"{format_distance(distance, unit)} {'below' if measured < low else 'above'} the "
                f"{format_value(low, unit)}–{format_value(high, unit)} band; a move of that much toward it "
                "makes it supported")
    return {"status": "supported" if inside else "not supported", "measured": float(measured),
            "threshold": float(edge), "unit": unit, "measure": measure, "distance_to_flip": float(distance),
            "flip": flip, "kind": "claim"}


def count_of(passed: int, total: int, *, measure: str) -> dict:
    """Status and distance for a rule scored over companies: all → supported, none → not, some → mixed.

    The distance is how many companies would have to change for the status to change.
    """
    if total <= 0:
        raise ValueError(f"{measure}: no company to score")
    status = status_from_count(passed, total)
    if status == "supported":
        distance, flip = 1, "one company turning would make it mixed"
    elif status == "not supported":
        distance, flip = 1, "one company turning would make it mixed"
    else:
        distance = min(passed, total - passed)
        flip = (f"{passed} of {total}; {total - passed} more would make it supported, "
                f"{passed} fewer not supported")
    return {"status": status, "measured": float(passed), "threshold": float(total), "unit": "count",
            "measure": measure, "distance_to_flip": float(distance), "flip": flip, "kind": "claim"}


def _words(kind: str) -> tuple[str, str]:
    return ("condition met", "condition not met so far") if kind == "condition" else ("supported", "not supported")


def through_text(ends: dict) -> str:
    """``{ticker: period end}`` as "2026-03-31 (AMZN, META), 2026-05-31 (ORCL)": the last date each
    company's data cover, companies grouped by date, earliest first."""
    by_date: dict[str, list[str]] = {}
    for ticker, end in ends.items():
        if end is None or (not isinstance(end, str) and end != end):
            continue
        key = end if isinstance(end, str) else f"{end:%Y-%m-%d}"
        by_date.setdefault(key, []).append(ticker)
    return ", ".join(f"{d} ({', '.join(sorted(t))})" for d, t in sorted(by_date.items()))


# --------------------------------------------------------------------------- rendering
STATUS_CLASS = {
    "supported": "supported", "not supported": "not-supported", "mixed": "mixed",
    "not testable with public data": "not-testable", "condition met": "supported",
    "condition not met so far": "not-supported",
}


def at_essay_text(verdict: Verdict) -> str:
    """The verdict at the essay's date in a few words: status and measured figure."""
    figure = "" if verdict.measured is None else f" ({format_value(verdict.measured, verdict.unit)})"
    return f"{verdict.status}{figure}"


def render(claim_id: str, verdict: Verdict, *, at_essay: Verdict | None = None, essay_date: str = "",
           essay_note: str = "", compact: bool = False) -> str:
    """The verdict as HTML, the same in a chapter and on the scorecard.

    Parameters
    ----------
    claim_id : str
    verdict : Verdict
        Today's verdict.
    at_essay : Verdict, optional
        The same rule on the data as filed by the essay's date.
    essay_date : str
        ISO date used for ``at_essay``; ``essay_note`` says how it was chosen when the essay gives none.
    compact : bool
        Without the summary (the scorecard shows it in its own column).

    Returns
    -------
    str
        A ``div.vc-verdict`` carrying ``data-claim``, ``data-status`` and ``data-measured``
        attributes, so tests can compare a chapter's verdict with the scorecard's.
    """
    esc = html.escape
    measured = "" if verdict.measured is None else repr(float(verdict.measured))
    head = (f'<p class="vc-verdict-head"><strong>Verdict on {esc(claim_id)}: '
            f'<span class="vc-status vc-status-{STATUS_CLASS[verdict.status]}">{esc(verdict.status)}</span>'
            f"</strong></p>")
    rows = []
    if verdict.measured is not None:
        rows.append(("Measured", f"{format_value(verdict.measured, verdict.unit)} — {verdict.measure}"))
        rows.append(("Threshold", format_value(verdict.threshold, verdict.unit)))
        rows.append(("Distance to a flip", f"{format_distance(verdict.distance_to_flip, verdict.unit)}: "
                                           f"{verdict.flip}"))
    if at_essay is not None:
        rows.append((f"At the essay's date, {essay_date}" + (f" ({essay_note})" if essay_note else ""),
                     at_essay_text(at_essay)))
    elif essay_note and not essay_date:  # the book's own claims: no essay, so no date to evaluate at
        rows.append(("At an essay's date", f"n/a: {essay_note}"))
    if verdict.data_through:
        rows.append(("Data through", verdict.data_through))
    if verdict.sources:
        rows.append(("Sources", verdict.sources))
    table = "".join(f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>" for k, v in rows)
    body = "" if compact else f'<p class="vc-verdict-summary">{esc(verdict.summary)}</p>'
    return (f'<div class="vc-verdict" data-claim="{esc(claim_id)}" data-status="{esc(verdict.status)}" '
            f'data-measured="{measured}">{head}{body}<table class="vc-verdict-table">{table}</table></div>')


def render_row(verdict: Verdict, at_essay: Verdict | None) -> dict[str, str]:
    """The compact cells of a scorecard row (HTML): status, measured against threshold, distance, at the essay's date."""
    esc = html.escape
    chip = (f'<span class="vc-status vc-status-{STATUS_CLASS[verdict.status]}">{esc(verdict.status)}</span>')
    if verdict.measured is None:
        measured, distance = "n/a", "n/a"
    else:
        measured = (f"{format_value(verdict.measured, verdict.unit)} against "
                    f"{format_value(verdict.threshold, verdict.unit)}")
        distance = format_distance(verdict.distance_to_flip, verdict.unit)
    return {"verdict": chip, "measured": esc(measured), "distance": esc(distance),
            "at_essay": "n/a" if at_essay is None else esc(at_essay_text(at_essay))}
