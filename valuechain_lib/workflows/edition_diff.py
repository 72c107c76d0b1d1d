"""What changed between two editions of the snapshot (a refresh's "edition diff").

`diff_editions` compares the previous and the new tables and returns a JSON-ready dict:

* ``new_periods`` -- per company, the fiscal quarters and years that have a value now and had none;
* ``restated`` -- reported figures whose value changed (old → new, with both accession numbers);
* ``prices`` -- per price ticker, the last date before and after (and the rows added);
* ``not_refreshed`` -- companies and tickers whose previous rows were carried over, with the reason.

A refresh saves it as ``data/snapshot/edition_diff.json`` (swapped in with the tables);
`render_markdown` turns it into the text the book's status page shows. A snapshot rebuilt from the
raw files has no such file: `status_markdown` then says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from valuechain_lib.calc.periods import fiscal_label

EDITION_FILE = "edition_diff.json"
NO_REFRESH = "No refresh since the snapshot was built from the raw files."
#: Values are in currency units (USD, TWD), reported to the dollar at best: a change under half a
#: unit is float noise from the CSV round trip, not a restatement.
VALUE_TOLERANCE = 0.5
_KEY = ["ticker", "metric", "period_start", "period_end"]


def _date(value) -> str | None:
    return None if pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d}"


def _num(value):
    if pd.isna(value):
        return None
    value = float(value)
    return int(value) if value.is_integer() else value


def new_periods(old: pd.DataFrame, new: pd.DataFrame) -> dict[str, list[dict]]:
    """Fiscal quarters and years (``freq`` Q and FY) with a value in ``new`` and none in ``old``."""
    key = ["ticker", "freq", "fiscal_year", "fiscal_period"]

    def with_values(frame):
        frame = frame[frame["freq"].isin(["Q", "FY"]) & frame["value"].notna()]
        return frame

    had = set(map(tuple, with_values(old)[key].astype(str).to_numpy()))
    rows = with_values(new)
    rows = rows[[tuple(r) not in had for r in rows[key].astype(str).to_numpy()]]
    out: dict[str, list[dict]] = {}
    for (ticker, freq, year, period), group in rows.groupby(key, sort=False):
        accessions = sorted(a for a in group["accession"].dropna().astype(str).unique() if a)
        out.setdefault(ticker, []).append({
            "period": fiscal_label(year, period if freq == "Q" else "FY"),
            "freq": freq, "period_end": _date(group["period_end"].max()),
            "metrics": sorted(group["metric"].unique().tolist()), "accessions": accessions,
        })
    for items in out.values():
        items.sort(key=lambda item: (item["period_end"] or "", item["freq"] == "FY"))
    return dict(sorted(out.items()))


def restated_values(old: pd.DataFrame, new: pd.DataFrame) -> list[dict]:
    """Reported figures (``facts_reported``) for the same company, metric and period whose value changed."""
    cols = _KEY + ["value", "accession", "filed", "fiscal_year", "fiscal_quarter", "duration", "unit"]
    a, b = old[[c for c in cols if c in old]], new[[c for c in cols if c in new]]
    both = a.merge(b, on=_KEY, suffixes=("_old", "_new"))
    changed = both[both["value_old"].notna() & both["value_new"].notna()
                   & ((both["value_old"] - both["value_new"]).abs() > VALUE_TOLERANCE)]
    out = []
    for row in changed.sort_values(["ticker", "metric", "period_end"]).itertuples(index=False):
        out.append({
            "ticker": row.ticker, "metric": row.metric, "duration": getattr(row, "duration_new", None),
            "period_start": _date(row.period_start), "period_end": _date(row.period_end),
            "old": _num(row.value_old), "new": _num(row.value_new), "unit": getattr(row, "unit_new", None),
            "old_accession": None if pd.isna(row.accession_old) else str(row.accession_old),
            "new_accession": None if pd.isna(row.accession_new) else str(row.accession_new),
            "old_filed": _date(row.filed_old), "new_filed": _date(row.filed_new),
        })
    return out


def price_extensions(old: pd.DataFrame, new: pd.DataFrame) -> dict[str, dict]:
    """Per ticker: last date before and after, and how many rows were added."""
    last_old = old.groupby("ticker")["date"].max()
    last_new = new.groupby("ticker")["date"].max()
    n_old, n_new = old.groupby("ticker").size(), new.groupby("ticker").size()
    out = {}
    for ticker in sorted(set(last_old.index) | set(last_new.index)):
        out[ticker] = {"from": _date(last_old.get(ticker)), "to": _date(last_new.get(ticker)),
                       "rows_added": int(n_new.get(ticker, 0) - n_old.get(ticker, 0))}
    return out


def diff_editions(previous: dict, new: dict, *, previous_manifest: dict | None = None,
                  new_manifest: dict | None = None, not_refreshed: dict | None = None) -> dict:
    """Compare two sets of snapshot tables (``financials``, ``facts_reported``, ``prices``).

    Returns
    -------
    dict
        JSON-ready: ``previous_built_at``, ``built_at``, ``new_periods``, ``restated``, ``prices``,
        ``not_refreshed`` and a ``summary`` of counts.
    """
    periods = new_periods(previous["financials"], new["financials"])
    restated = restated_values(previous["facts_reported"], new["facts_reported"])
    prices = price_extensions(previous["prices"], new["prices"])
    return {
        "previous_built_at": (previous_manifest or {}).get("built_at"),
        "built_at": (new_manifest or {}).get("built_at"),
        "summary": {
            "companies_with_new_periods": len(periods),
            "new_periods": int(sum(len(v) for v in periods.values())),
            "restated_values": len(restated),
            "tickers_extended": int(sum(1 for v in prices.values() if v["rows_added"] > 0)),
            "not_refreshed": len(not_refreshed or {}),
        },
        "new_periods": periods,
        "restated": restated,
        "prices": prices,
        "not_refreshed": dict(sorted((not_refreshed or {}).items())),
    }


def to_json(diff: dict) -> str:
    """The diff as the text saved in ``edition_diff.json``."""
    def default(value):
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating):
            return float(value)
        if isinstance(value, pd.Timestamp):
            return f"{value:%Y-%m-%d}"
        raise TypeError(f"not JSON serializable: {value!r}")

    return json.dumps(diff, indent=1, default=default) + "\n"


def _money(value, unit) -> str:
    if value is None:
        return "—"
    if unit in ("USD", "TWD") and abs(value) >= 1e6:
        return f"{value / 1e6:,.0f}m {unit}"
    return f"{value:,} {unit or ''}".strip()


def _measured(value, unit) -> str:
    from valuechain_lib.claims.verdicts import format_value

    return "—" if value is None else format_value(value, unit or "")


def verdict_markdown(verdicts: dict) -> list[str]:
    """The lines of an edition diff's verdict section: the claims whose verdict changed, or that none did."""
    from valuechain_lib.claims.ledger import edition_date

    changes, total = verdicts.get("changes", []), verdicts.get("claims", 0)
    previous = verdicts.get("previous_edition")
    if not previous:
        return [f"**Verdicts** first recorded in this edition ({total} claims)."]
    since = f"since the edition of {edition_date(previous)}"
    if not changes:
        return [f"**No verdict changed** {since} ({total} claims)."]
    lines = [f"**Verdict changes** {since}: {len(changes)} of {total} claims", "",
             "| claim | was | now | measured (was → now) | threshold |", "| --- | --- | --- | --- | --- |"]
    for c in changes:
        claim = f"{c['claim_id']}: {c['claim']}" if c.get("claim") else c["claim_id"]
        claim = claim.replace("|", "\\|")
        lines.append(f"| {claim} | {c['was'] or 'new claim'} | {c['now']} | "
                     f"{_measured(c['measured_was'], c['unit'])} → {_measured(c['measured_now'], c['unit'])} | "
                     f"{_measured(c['threshold'], c['unit'])} |")
    return lines


def render_markdown(diff: dict) -> str:
    """Render an edition diff as Markdown: verdict changes first (when the edition recorded verdicts),
    then the headline, new periods, restatements, prices and what was carried over."""
    s = diff["summary"]
    lines = verdict_markdown(diff["verdicts"]) + [""] if diff.get("verdicts") else []
    lines += [
        f"**Latest refresh** {diff.get('built_at') or '(unknown time)'}, against the snapshot built "
        f"{diff.get('previous_built_at') or '(unknown time)'}: {s['new_periods']} new period(s) for "
        f"{s['companies_with_new_periods']} company(ies), {s['restated_values']} restated value(s), prices "
        f"extended for {s['tickers_extended']} ticker(s)."
    ]
    added = {kind: names for kind, names in (diff.get("added") or {}).items() if names}
    if added:
        lines += ["", "**Companies added** (new rows of data/universe.csv, full history fetched)", ""]
        lines += [f"- {kind}: {', '.join(names)}" for kind, names in added.items()]
    if diff["new_periods"]:
        lines += ["", "**New periods**", ""]
        for ticker, items in diff["new_periods"].items():
            lines.append(f"- {ticker}: " + ", ".join(f"{i['period']} (to {i['period_end']})" for i in items))
    if diff["restated"]:
        lines += ["", "**Restated values** (old → new)", "",
                  "| company | metric | period | old | new | old accession | new accession |",
                  "| --- | --- | --- | ---: | ---: | --- | --- |"]
        for r in diff["restated"]:
            period = f"{r['period_start'] or ''}..{r['period_end']}" if r["period_start"] else r["period_end"]
            lines.append(f"| {r['ticker']} | {r['metric']} | {period} | {_money(r['old'], r['unit'])} | "
                         f"{_money(r['new'], r['unit'])} | {r['old_accession'] or '—'} | {r['new_accession'] or '—'} |")
    extended = {t: p for t, p in diff["prices"].items() if p["rows_added"] > 0}
    if extended:
        lines += ["", "**Prices extended**", "", "| ticker | was to | now to | rows added |", "| --- | --- | --- | ---: |"]
        lines += [f"| {t} | {p['from'] or 'new ticker'} | {p['to']} | {p['rows_added']} |" for t, p in extended.items()]
    if diff["not_refreshed"]:
        lines += ["", "**Not refreshed** (previous rows kept unchanged)", ""]
        lines += [f"- {t}: {why}" for t, why in diff["not_refreshed"].items()]
    return "\n".join(lines) + "\n"


def latest_diff(base: Path | None = None) -> dict | None:
    """The edition diff saved with the live snapshot, or None if it was built from the raw files."""
    from valuechain_lib.snapshot.store import _live_folder

    path = _live_folder(base) / EDITION_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def status_markdown(base: Path | None = None) -> str:
    """What the status page shows: the latest diff, or that there was no refresh."""
    diff = latest_diff(base)
    return NO_REFRESH + "\n" if diff is None else render_markdown(diff)
