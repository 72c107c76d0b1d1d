"""The book's one chart helper, `figure`, and its one house theme (``valuechain``).

Every chart in the book goes through `figure`: it refuses a chart without a title that states the
finding, a subtitle (metric, unit, period), a source, a processing note, the data's as-of date and a
text alternative; applies the house theme; writes the data shown to ``_static/data/<name>.csv`` so
readers can download it; and returns a `ChartFigure` whose HTML carries the Vega-Lite spec and,
beside it, the spec compiled to Vega when the book is built, which the page draws with the book's own
Vega runtime (``book/_static/vega/vega-runtime.js`` and ``book/_static/vc-charts.js``; no Vega-Lite
compiler in the page, see `valuechain_lib.publish.vega_assets`). No CDN is involved, and the figure's only output MIME type is
``text/html``, so myst-nb never meets a Vega-Lite output it cannot render.

Examples
--------
>>> import altair as alt
>>> from valuechain_lib.publish.charts import figure
>>> fig = figure(  # doctest: +SKIP
...     alt.Chart(df).mark_line().encode(x="quarter:T", y="capex_busd:Q", color="company:N"),
...     df,
...     name="hyperscaler-capex",
...     title="Hyperscaler capex doubled in two years",
...     subtitle="Capital expenditure, USD bn, calendar quarters 2022-2025",
...     source="SEC EDGAR XBRL filings (10-K, 10-Q)",
...     note="Purchases of property and equipment; fiscal quarters mapped to calendar quarters.",
...     data_through="2025-09-30",
...     alt_text="Line chart: quarterly capex of four hyperscalers rising from ... to ...",
... )
>>> fig  # the notebook cell's output: HTML only  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from valuechain_lib.errors import ValueChainError
from valuechain_lib.paths import PACKAGE_DIR

__all__ = [
    "CATEGORY_COLORS",
    "LAYER_COLORS",
    "SERIES_COLORS",
    "assign_colours",
    "line_end_labels",
    "spread_labels",
    "scale_for",
    "DATA_URL_PREFIX",
    "THEME_NAME",
    "ChartError",
    "ChartFigure",
    "chart_data_dir",
    "figure",
    "forget_names",
    "house_theme",
]

THEME_NAME = "valuechain"
# The default palette of categories that are not companies (kinds of source, line items, scenarios):
# muted colours that no company, layer or total uses, so no such category reads as a company.
CATEGORY_COLORS = ["#5B6770", "#9C755F", "#76B7B2", "#B07AA1", "#EDC948", "#BAB0AC", "#86BCB6", "#D4A6C8"]
# Fixed colours of the layers and of totals: never a company's colour (`assign_colours` checks).
LAYER_COLORS = {"upstream": "#1F4E79", "midstream": "#B8860B", "downstream": "#7A3E9D"}
SERIES_COLORS = {"Combined": "#000000", "Total": "#000000", "All": "#000000"}
# Fallback for a company whose universe row has no colour: a further colour-blind-safe set (Paul Tol's
# "muted" and "light"), taken in order, skipping any colour already in use.
FALLBACK_COLORS = ["#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255",
                   "#AA4499", "#77AADD", "#EE8866", "#EEDD88", "#FFAABB", "#99DDFF", "#BBCC33", "#AAAA00"]
# System fonts only: no web font is downloaded.
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif'
TEXT_COLOR = "#1f2328"
MUTED_COLOR = "#57606a"
GRID_COLOR = "#e5e7eb"
AXIS_COLOR = "#8c959f"

# Book pages live one folder deep (chapters/*.html, book/*.html); Sphinx copies the html_static_path
# folder book/_static/ to _build/html/_static/.
DATA_URL_PREFIX = "../_static/data/"
DEFAULT_CHART_DATA_DIR = PACKAGE_DIR.parent / "book" / "_static" / "data"

_NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_NAME_MAX = 80
_TITLE_WIDTH = 62  # characters per title line (about 560 px at 16 px bold: the text column)
_SUBTITLE_WIDTH = 88  # characters per subtitle line (about 540 px at 13 px)

# What each required field is for, quoted in ChartError messages.
_REQUIRED = {
    "name": "a slug of a-z, 0-9 and '-', unique in the build (it names the CSV file)",
    "title": "a title that states the finding",
    "subtitle": "the metric, unit and fiscal or calendar period",
    "source": "e.g. 'SEC EDGAR XBRL filings (10-K, 10-Q)' or the price source; label press reports as such",
    "note": "how the data were processed",
    "data_through": ("the last period end the data shown cover, per company where they differ: "
                     "book.data_through(frame) or a {company: date} mapping"),
    "alt_text": "a text alternative describing the chart for screen-reader users",
}

# Names used in this process, with the title they were used for (see _claim_name).
_USED_NAMES: dict[str, str] = {}


class ChartError(ValueChainError):
    """A chart the book refuses to draw: a missing caption field, a bad name, or data it cannot show."""


def house_theme() -> dict[str, Any]:
    """Return the ``valuechain`` Altair theme: system fonts, Okabe-Ito colours, readable axes.

    Returns
    -------
    dict
        A Vega-Lite ``{"config": ...}`` mapping (an ``altair.theme.ThemeConfig``). The chart width
        is not part of the theme (a top-level ``width`` would be invalid for concatenated charts);
        `figure` sets ``width="container"`` on single and layered charts.
    """
    # config.font is the default font of every title, label and text mark.
    label = {"labelFontSize": 12, "labelColor": TEXT_COLOR,
             "titleFontSize": 12, "titleColor": TEXT_COLOR, "titleFontWeight": "normal"}
    return {
        "config": {
            "font": FONT,
            "background": "#ffffff",
            "padding": {"left": 4, "right": 12, "top": 6, "bottom": 4},
            "view": {"stroke": None, "continuousHeight": 320},
            "title": {
                "fontSize": 16, "fontWeight": 600, "color": TEXT_COLOR, "subtitleFontSize": 13, "subtitleColor": MUTED_COLOR,
                "subtitlePadding": 4, "anchor": "start", "frame": "bounds", "offset": 12,
            },
            "axis": {
                **label, "labelPadding": 4, "titlePadding": 8, "gridColor": GRID_COLOR,
                "domainColor": AXIS_COLOR, "tickColor": AXIS_COLOR, "labelLimit": 220,
            },
            "axisX": {"labelAngle": 0, "labelOverlap": "greedy"},
            # Time runs left to right: horizontal gridlines only, and one labelled tick a year so quarters
            # never produce mixed "July 2023 April" labels.
            "axisXTemporal": {"grid": False, "format": "%Y", "tickCount": "year"},
            # About one tick per 100 px of width: a full-column chart would otherwise get ~20 ticks.
            "axisXQuantitative": {"tickCount": {"expr": "ceil(width / 100)"}},
            "axisY": {"titleAngle": -90},
            "legend": {**label, "orient": "top", "direction": "horizontal", "titleOrient": "left",
                       "symbolSize": 80, "labelLimit": 240, "columnPadding": 12, "columns": 4},
            "header": {"labelFontSize": 12, "labelColor": TEXT_COLOR, "titleFontSize": 12, "titleColor": TEXT_COLOR},
            "range": {"category": CATEGORY_COLORS, "ramp": {"scheme": "blues"},
                      "diverging": {"scheme": "blueorange"}},
            "mark": {"color": CATEGORY_COLORS[0]},
            "line": {"strokeWidth": 2},
            "point": {"filled": True, "size": 40},
            "text": {"fontSize": 12, "color": TEXT_COLOR},
        }
    }


alt.theme.register(THEME_NAME, enable=True)(house_theme)


def assign_colours(rows: pd.DataFrame) -> dict[str, str]:
    """Each company's and benchmark's one colour in every chart, keyed by ticker and by name.

    A row's ``colour`` is kept; a row without one takes the first colour of `FALLBACK_COLORS` (then
    `CATEGORY_COLORS`) that no other row uses, in row order, so a new company is still one row and keeps
    its colour. Pure: the rows come from the data (`valuechain_lib.publish.book.company_colors` reads
    ``data/universe.csv`` and ``data/benchmarks.csv``).

    Parameters
    ----------
    rows : pandas.DataFrame
        Columns ``ticker``, ``name``, ``colour`` (missing where the file gives none).

    Returns
    -------
    dict
        ``{"NVDA": "#332288", "NVIDIA Corporation": "#332288", ...}``.

    Raises
    ------
    ChartError
        If a company's colour is one of `LAYER_COLORS` or `SERIES_COLORS` (totals must stand apart).

    Examples
    --------
    >>> rows = pd.DataFrame({"ticker": ["A", "B"], "name": ["Alpha", "Beta"], "colour": ["#112233", None]})
    >>> assign_colours(rows)["Alpha"], assign_colours(rows)["B"] == FALLBACK_COLORS[0]
    ('#112233', True)
    """
    reserved = {c.upper() for c in [*LAYER_COLORS.values(), *SERIES_COLORS.values()]}
    used = {str(c).upper() for c in rows["colour"].dropna()}
    clash = rows[rows["colour"].fillna("").str.upper().isin(reserved)]
    if not clash.empty:
        raise ChartError(f"{clash.iloc[0]['ticker']}: colour {clash.iloc[0]['colour']} is kept for a layer or total")
    spare = iter(c for c in [*FALLBACK_COLORS, *CATEGORY_COLORS] if c.upper() not in used | reserved)
    out: dict[str, str] = {}
    for row in rows.itertuples():
        colour = row.colour if isinstance(row.colour, str) and row.colour else next(spare, MUTED_COLOR)
        out[row.ticker] = colour
        if isinstance(row.name, str) and row.name:
            out[row.name] = colour
    return out


def scale_for(domain, colours: dict[str, str], labels: dict[str, str] | None = None) -> alt.Scale:
    """A colour scale pinned to the values shown, so each keeps its colour from chart to chart.

    Parameters
    ----------
    domain : sequence of str
        The values of the colour field, in legend order: tickers, universe names, layers
        (`LAYER_COLORS`) or totals (`SERIES_COLORS`).
    colours : dict
        ``{value: colour}`` for companies (`assign_colours`); layers and totals are added here.
    labels : dict, optional
        ``{value in the chart: ticker}`` where the chart shows another label (e.g. "Amazon" → "AMZN").

    Returns
    -------
    altair.Scale
        With ``domain`` and ``range`` set.

    Raises
    ------
    ChartError
        A value with no known colour.
    """
    colours = {**colours, **LAYER_COLORS, **SERIES_COLORS}
    labels = labels or {}
    domain = list(dict.fromkeys(domain))
    unknown = [d for d in domain if labels.get(d, d) not in colours]
    if unknown:
        raise ChartError(f"no colour for {unknown}: add a 'colour' to its universe row, or map it with labels=")
    return alt.Scale(domain=domain, range=[colours[labels.get(d, d)] for d in domain])


def spread_labels(values, min_gap: float) -> np.ndarray:
    """Positions for text labels near ``values``, at least ``min_gap`` apart, each as close to its value as the gap allows.

    Labels that would overlap are gathered into a block centred on their values' mean and spaced
    ``min_gap`` apart; blocks that then touch are merged, so the order of the values is kept.

    Parameters
    ----------
    values : sequence of float
        Where each label would sit (e.g. the last y value of each line), in data units.
    min_gap : float
        The least distance between two labels, in the same units (about a line of text).

    Returns
    -------
    numpy.ndarray
        One position per value, in the order given; values already ``min_gap`` apart are unchanged.
    """
    values = np.asarray(values, dtype=float)
    if min_gap < 0:
        raise ValueError("min_gap must not be negative")
    order = np.argsort(values, kind="stable")
    blocks: list[list[float]] = []
    for value in values[order]:
        blocks.append([value])
        while len(blocks) > 1:
            lower, upper = blocks[-2], blocks[-1]
            lower_top = np.mean(lower) + (len(lower) - 1) * min_gap / 2
            upper_bottom = np.mean(upper) - (len(upper) - 1) * min_gap / 2
            if upper_bottom - lower_top >= min_gap:
                break
            blocks[-2:] = [lower + upper]
    placed = np.concatenate([np.mean(b) + (np.arange(len(b)) - (len(b) - 1) / 2) * min_gap for b in blocks]
                            ) if blocks else np.array([])
    out = np.empty_like(values)
    out[order] = placed
    return out


def line_end_labels(frame: pd.DataFrame, x: str, y: str, series: str, min_gap: float, by=None) -> pd.DataFrame:
    """The last point of each line and where to write its label so that no two labels overlap.

    Parameters
    ----------
    frame : pandas.DataFrame
        Long data of a line chart: one row a point.
    x, y, series : str
        The columns drawn on the x axis, on the y axis and as separate lines.
    min_gap : float
        The least vertical distance between two labels, in units of ``y``.
    by : str or list of str, optional
        Columns of separate panels (facets): labels are spread within each panel only.

    Returns
    -------
    pandas.DataFrame
        One row per line (per panel): ``by`` columns, ``series``, ``x``, ``y`` (the last point with a
        value) and ``label_y`` (where the label goes).
    """
    by = [] if by is None else [by] if isinstance(by, str) else list(by)
    points = frame.dropna(subset=[y]).sort_values(x)
    last = points.groupby([*by, series], sort=False, observed=True).tail(1)[[*by, series, x, y]]
    groups = last.groupby(by, sort=False, observed=True) if by else [((), last)]
    parts = [part.assign(label_y=spread_labels(part[y], min_gap)) for _, part in groups]
    return pd.concat(parts).reset_index(drop=True) if parts else last.assign(label_y=pd.Series(dtype=float))


def chart_data_dir() -> Path:
    """Return the default CSV folder: ``$VALUECHAIN_CHART_DATA`` if set, else ``book/_static/data/``."""
    return Path(os.environ.get("VALUECHAIN_CHART_DATA", DEFAULT_CHART_DATA_DIR))


def forget_names() -> None:
    """Forget the chart names used so far in this process (e.g. between tests, or after editing a cell)."""
    _USED_NAMES.clear()


@dataclass(frozen=True)
class ChartFigure:
    """A checked chart ready for the book: its Vega-Lite spec, caption fields and CSV.

    Display it (the last expression of a cell) to emit its HTML; see `figure`.

    Attributes
    ----------
    name : str
        The slug naming the figure, its HTML ids and its CSV file.
    title, subtitle, source, note, alt_text : str
        The caption fields, as given to `figure` (stripped).
    data_through : str
        The last period end the data cover, ISO dates, per company where they differ.
    spec : dict
        The Vega-Lite specification, data inlined, house theme applied.
    csv_path : pathlib.Path
        Where the data shown was written.
    vega : dict
        The spec compiled to Vega (what the page draws), without the rows it shares with ``spec``.
    """

    name: str
    title: str
    subtitle: str
    source: str
    note: str
    data_through: str
    alt_text: str
    spec: dict[str, Any] = field(repr=False)
    csv_path: Path
    vega: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def csv_url(self) -> str:
        """Relative link to the CSV from a page one folder deep (``chapters/*.html``)."""
        return f"{DATA_URL_PREFIX}{self.name}.csv"

    @property
    def spec_json(self) -> str:
        """The spec as compact JSON, safe inside a ``<script>`` element (``<``, ``>``, ``&`` escaped)."""
        return _script_json(self.spec)

    @property
    def vega_json(self) -> str:
        """The compiled Vega spec as compact JSON, safe inside a ``<script>`` element."""
        return _script_json(self.vega)

    @property
    def html(self) -> str:
        """The figure's HTML: chart container, text alternative, spec, caption and render hook."""
        e = html.escape
        name = self.name  # a checked slug: safe in ids and URLs
        chart_id, spec_id, alt_id = f"vc-chart-{name}", f"vc-spec-{name}", f"vc-alt-{name}"
        alt_text = e(self.alt_text)
        return "".join([
            f'<figure class="vc-figure" id="vc-figure-{name}" role="figure" aria-label="{alt_text}">',
            f'<div class="vc-chart" id="{chart_id}" data-spec-id="{spec_id}" aria-hidden="true">',
            f'<noscript><p class="vc-noscript">{e(self.title)}. {alt_text} '
            "(The chart needs JavaScript; the data can be downloaded below.)</p></noscript></div>",
            # Hidden by an inline style too, so it stays hidden where vc-charts.css is not loaded.
            f'<div class="vc-visually-hidden" id="{alt_id}" style="position:absolute;width:1px;'
            'height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0">'
            f"<p>Chart: {e(self.title)}. {e(self.subtitle)}.</p><p>{alt_text}</p></div>",
            # The Vega-Lite spec (the chart's source) and, beside it, the Vega the page draws.
            f'<script type="application/json" id="{spec_id}" class="vc-spec">{self.spec_json}</script>',
            (f'<script type="application/vnd.vega+json" id="vc-vega-{name}" class="vc-vega">{self.vega_json}</script>'
             if self.vega else ""),
            '<figcaption class="vc-caption">',
            f'<p class="vc-source">Source: {e(self.source)}</p>',
            f'<p class="vc-note">Note: {e(self.note)}</p>',
            f'<p class="vc-meta"><span class="vc-asof">Data through {e(self.data_through)}</span>'
            '<span class="vc-sep" aria-hidden="true"> · </span>'
            f'<a class="vc-download" href="{e(self.csv_url)}" download="{name}.csv">'
            "Download the data (CSV)</a></p>",
            "</figcaption>",
            f'<script>(window.vcChartQueue=window.vcChartQueue||[]).push("{chart_id}");'
            "window.vcRenderCharts&&window.vcRenderCharts();</script>",
            "</figure>",
        ])

    def _repr_html_(self) -> str:
        return self.html

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        # Only text/html: myst-nb has no renderer for the Vega-Lite MIME type.
        return {"text/html": self.html}

    def __str__(self) -> str:
        return f"Figure {self.name!r}: {self.title}"


def _script_json(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_ISO_DAY = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


def _through_text(value: Any) -> str:
    """``data_through`` as text: a mapping {company: date} grouped by date, a date, or text with ISO dates."""
    from valuechain_lib.claims.verdicts import through_text

    if isinstance(value, dict):
        text = through_text(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        try:
            stamp = pd.Timestamp(value)
        except (TypeError, ValueError) as exc:
            raise ChartError(f"data_through {value!r} is not a date: give {_REQUIRED['data_through']}") from exc
        text = "" if pd.isna(stamp) else f"{stamp:%Y-%m-%d}"
    if not _ISO_DAY.search(text):
        raise ChartError(f"data_through {value!r} holds no ISO date (YYYY-MM-DD): give {_REQUIRED['data_through']}")
    return text


def _check_through(text: str, data: pd.DataFrame, name: str) -> None:
    """Refuse a date later than every date in the data shown: a caption must not claim fresher data."""
    latest = None
    for col in data.columns:
        if pd.api.types.is_datetime64_any_dtype(data[col]):
            top = data[col].max()
            if pd.notna(top) and (latest is None or top > latest):
                latest = top
    if latest is None:
        return
    late = [d for d in _ISO_DAY.findall(text) if pd.Timestamp(d) > latest.normalize()]
    if late:
        raise ChartError(f"figure {name!r}: data_through names {', '.join(late)}, later than the latest date in "
                         f"the data shown ({latest:%Y-%m-%d})")


def _check_fields(fields: dict[str, Any]) -> dict[str, str]:
    missing = [key for key in _REQUIRED if _missing(fields[key])]
    if missing:
        label = fields["name"] if isinstance(fields["name"], str) and fields["name"].strip() else "(unnamed)"
        details = "; ".join(f"{key}: {_REQUIRED[key]}" for key in missing)
        raise ChartError(f"figure {label!r} is missing {', '.join(missing)} ({details})")
    for key in ("name", "title", "subtitle", "source", "note", "alt_text"):
        if not isinstance(fields[key], str):
            raise ChartError(f"{key} must be a string, not {type(fields[key]).__name__}")
    out = {key: fields[key].strip() for key in ("name", "title", "subtitle", "source", "note", "alt_text")}
    if not _NAME_RE.match(out["name"]) or len(out["name"]) > _NAME_MAX:
        raise ChartError(
            f"name {fields['name']!r} is not a safe slug: use lower-case a-z, 0-9 and single '-' "
            f"(at most {_NAME_MAX} characters), e.g. 'hyperscaler-capex'")
    out["data_through"] = _through_text(fields["data_through"])
    return out


def _claim_name(name: str, title: str) -> None:
    # A name must be unique in the build (it names the CSV and the HTML ids). Re-running the same
    # figure (same name and title) in one session is allowed; a second chart under the name is not.
    # Each notebook runs in its own kernel, so this sees one notebook at a time.
    previous = _USED_NAMES.get(name)
    if previous is not None and previous != title:
        raise ChartError(
            f"name {name!r} is already used by the figure titled {previous!r}; give each figure its own "
            "name (after editing a figure's title in a live session, call charts.forget_names())")
    _USED_NAMES[name] = title


def _walk(chart: Any) -> Iterator[Any]:
    yield chart
    for attr in ("layer", "hconcat", "vconcat", "concat"):
        subs = getattr(chart, attr, alt.Undefined)
        if isinstance(subs, list):
            for sub in subs:
                yield from _walk(sub)
    spec = getattr(chart, "spec", alt.Undefined)  # facet and repeat charts
    if isinstance(spec, alt.SchemaBase):
        yield from _walk(spec)


def _check_data(chart: Any, data: Any, name: str) -> None:
    if not isinstance(data, pd.DataFrame):
        raise ChartError(f"figure {name!r}: data must be the pandas DataFrame shown, not {type(data).__name__}")
    if data.empty:
        raise ChartError(f"figure {name!r}: data is empty")
    if not isinstance(chart, alt.TopLevelMixin):
        raise ChartError(f"figure {name!r}: chart must be an Altair chart, not {type(chart).__name__}")
    found = False
    for node in _walk(chart):
        node_data = getattr(node, "data", alt.Undefined)
        if isinstance(node_data, str | alt.UrlData) or (isinstance(node_data, dict) and "url" in node_data):
            raise ChartError(
                f"figure {name!r}: the chart loads data from a URL ({node_data!r}); build it on the DataFrame "
                "so the data is inlined and the page needs no network")
        if isinstance(node_data, pd.DataFrame) and (node_data is data or node_data.equals(data)):
            found = True
    if not found:
        raise ChartError(
            f"figure {name!r}: the chart is not built on `data`; pass the DataFrame the chart shows "
            "(it is written to the downloadable CSV)")


def _with_width(chart: Any) -> Any:
    """Fill the text column: width "container" on single and layered charts without a width."""
    if not isinstance(chart, alt.Chart | alt.LayerChart) or chart.width is not alt.Undefined:
        return chart
    if isinstance(chart, alt.Chart):
        encoding = chart.encoding
        if encoding is not alt.Undefined and any(
                getattr(encoding, ch, alt.Undefined) is not alt.Undefined for ch in ("row", "column", "facet")):
            return chart
    return chart.properties(width="container")  # Vega-Lite then sizes with autosize "fit-x"


def _wrap(text: str, width: int) -> str | list[str]:
    lines = [wrapped for para in text.splitlines() for wrapped in (textwrap.wrap(para, width) or [""])]
    return lines[0] if len(lines) == 1 else lines


def _csv_frame(data: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``data`` with datetime columns as ISO strings (date only when all times are midnight)."""
    out = data.copy()
    for col in out.columns:
        series = out[col]
        if isinstance(series, pd.Series) and pd.api.types.is_datetime64_any_dtype(series):
            valid = series.dropna()
            dates_only = bool((valid == valid.dt.normalize()).all()) and valid.dt.tz is None
            text = series.dt.strftime("%Y-%m-%d") if dates_only else series.map(
                lambda v: v.isoformat() if pd.notna(v) else None)
            out[col] = text.astype(object).where(series.notna(), None)
    return out


def _write_csv(data: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    _csv_frame(data).to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
    tmp.replace(path)


def _transforms(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for step in node.get("transform", ()) if isinstance(node.get("transform"), list) else ():
            if isinstance(step, dict) and isinstance(step.get("type"), str):
                yield step["type"]
        for value in node.values():
            yield from _transforms(value)
    elif isinstance(node, list):
        for value in node:
            yield from _transforms(value)


def _compile(spec: dict, name: str) -> dict:
    """The chart compiled to Vega, which the pages draw with Vega's runtime alone: a chart that would not
    compile, or needs a transform the pages' runtime lacks, fails the build instead of showing readers an
    error box."""
    from valuechain_lib.publish import vega_assets

    try:
        compiled = vega_assets.compile_vega(spec)
    except Exception as exc:
        raise ChartError(f"figure {name!r}: Vega-Lite cannot compile the chart: {str(exc).splitlines()[1:2]}") from exc
    known = vega_assets.runtime_transforms()
    missing = sorted({t.lower() for t in _transforms(compiled)} - known) if known else []
    if missing:
        raise ChartError(f"figure {name!r}: the chart needs the Vega transform(s) {missing}, which the pages' runtime "
                         "(book/_static/vega/vega-runtime.js) leaves out; add them in "
                         "valuechain_lib.publish.vega_assets and run write_runtime")
    return compiled


def _shared_data(compiled: dict, spec: dict) -> dict:
    """The compiled spec without the rows it repeats from the Vega-Lite spec's datasets (vc-charts.js puts
    them back), so a page carries each chart's data once."""
    datasets = spec.get("datasets") or {}
    data = []
    for entry in compiled.get("data", []):
        if entry.get("name") in datasets and entry.get("values") == datasets[entry["name"]]:
            entry = {k: v for k, v in entry.items() if k != "values"}
        data.append(entry)
    return {**compiled, "data": data} if "data" in compiled else compiled


def figure(chart: alt.TopLevelMixin, data: pd.DataFrame, *, name: str, title: str, subtitle: str,
           source: str, note: str, data_through: str | dict | dt.date, alt_text: str,
           csv_dir: str | os.PathLike[str] | None = None) -> ChartFigure:
    """Check, theme and caption a chart for the book, and write the data it shows to CSV.

    Parameters
    ----------
    chart : altair chart
        A chart (single, layered, concatenated or faceted) built on ``data``. It must not load
        data from a URL. Single and layered charts without a width get ``width="container"``.
    data : pandas.DataFrame
        Exactly the data shown; written to ``<csv_dir>/<name>.csv`` (no index, ISO dates).
    name : str
        Slug of a-z, 0-9 and '-', unique in the build: names the CSV and the HTML ids.
    title : str
        The finding the chart shows (e.g. "Hyperscaler capex doubled in two years").
    subtitle : str
        Metric, unit and fiscal or calendar period.
    source : str
        Where the data come from, e.g. "SEC EDGAR XBRL filings (10-K, 10-Q)"; label press reports.
    note : str
        How the data were processed.
    data_through : str, dict or datetime.date
        The last period end the data shown cover, per company where they differ:
        `valuechain_lib.publish.book.data_through` of the frame, a ``{company: date}`` mapping, or a date;
        shown as "Data through 2026-03-31 (AMZN, META), 2026-05-31 (ORCL)". No date in it may be
        later than the latest date in ``data``; the date a file was retrieved never stands in.
    alt_text : str
        Text alternative for screen-reader users: what the chart shows and its main numbers.
    csv_dir : str or path-like, optional
        Folder for the CSV; default `chart_data_dir` (``$VALUECHAIN_CHART_DATA`` or
        ``book/_static/data/``), linked from pages as ``../_static/data/<name>.csv``.

    Returns
    -------
    ChartFigure
        Displays as HTML only (``text/html``), drawn by ``vc-charts.js`` with the vendored Vega.

    Raises
    ------
    ChartError
        If a caption field is missing or blank (the message names it), ``name`` is not a slug or
        was used for another figure in this session, ``data_through`` holds no date or a date later
        than the data, ``data`` is not a
        non-empty DataFrame the chart is built on, or Altair cannot build the spec.
    """
    fields = _check_fields({"name": name, "title": title, "subtitle": subtitle, "source": source,
                            "note": note, "data_through": data_through, "alt_text": alt_text})
    name = fields["name"]
    _check_data(chart, data, name)
    _check_through(fields["data_through"], data, name)

    themed = _with_width(chart).properties(
        title=alt.TitleParams(text=_wrap(fields["title"], _TITLE_WIDTH),
                              subtitle=_wrap(fields["subtitle"], _SUBTITLE_WIDTH)),
        description=fields["alt_text"],
        usermeta={"valuechain": {"name": name, "source": fields["source"], "note": fields["note"],
                                 "data_through": fields["data_through"]}},
    )
    try:
        with alt.theme.enable(THEME_NAME), alt.data_transformers.disable_max_rows():
            spec = themed.to_dict()
    except Exception as exc:  # Altair's schema and data errors, reported with the figure's name
        raise ChartError(f"figure {name!r}: Altair could not build the chart spec: {exc}") from exc
    compiled = _compile(spec, name)

    _claim_name(name, fields["title"])
    csv_path = Path(csv_dir if csv_dir is not None else chart_data_dir()) / f"{name}.csv"
    _write_csv(data, csv_path)
    result = ChartFigure(spec=spec, csv_path=csv_path, vega=_shared_data(compiled, spec), **fields)
    try:
        result.spec_json  # noqa: B018 - fail here, not at display time, on NaN/inf left in the spec
        result.vega_json  # noqa: B018
    except ValueError as exc:
        raise ChartError(f"figure {name!r}: the spec holds a value JSON cannot encode: {exc}") from exc
    return result
