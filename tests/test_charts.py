"""The chart helper (`valuechain_lib.publish.charts.figure`) and the vendored, offline Vega bundle."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import shutil
from html.parser import HTMLParser

import altair as alt
import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest
from numpy.testing import assert_allclose

from valuechain_lib.errors import ValueChainError
from valuechain_lib.publish import charts, vega_assets
from valuechain_lib.publish.charts import (
    CATEGORY_COLORS,
    ChartError,
    ChartFigure,
    figure,
    line_end_labels,
    spread_labels,
)

pytestmark = pytest.mark.fast

STATIC = vega_assets.PACKAGE_DIR.parent / "book" / "_static"
VEGA_DIR = STATIC / "vega"

CAPTION = {
    "name": "capex-test",
    "title": "Capex rose in every quarter of 2024",
    "subtitle": "Capital expenditure, USD bn, calendar quarters 2024",
    "source": "SEC EDGAR XBRL filings (10-K, 10-Q)",
    "note": "Purchases of property and equipment; fiscal quarters mapped to calendar quarters.",
    "data_through": "2024-12-31",
    "alt_text": "Line chart: Microsoft capex rises from 14.0 to 22.6 billion dollars during 2024.",
}


@pytest.fixture(autouse=True)
def _fresh_names():
    charts.forget_names()
    yield
    charts.forget_names()


@pytest.fixture
def data() -> pd.DataFrame:
    return pd.DataFrame({
        "quarter": pd.to_datetime(["2024-03-31", "2024-06-30", "2024-09-30", "2024-12-31"] * 2),
        "company": ["Microsoft"] * 4 + ["Alphabet"] * 4,
        "capex_busd": [14.0, 19.0, 20.0, 22.6, 12.0, 13.2, 13.1, 14.3],
    })


@pytest.fixture
def chart(data) -> alt.Chart:
    return alt.Chart(data).mark_line().encode(x="quarter:T", y="capex_busd:Q", color="company:N")


@pytest.fixture
def fig(chart, data, tmp_path) -> ChartFigure:
    return figure(chart, data, csv_dir=tmp_path, **CAPTION)


class _Parsed(HTMLParser):
    """Collects the figure's attributes, the hidden text and the scripts of a figure's HTML."""

    def __init__(self):
        super().__init__()
        self.figure_attrs: dict[str, str | None] = {}
        self.hidden_text = ""
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._hidden_depth = 0
        self._script: dict[str, str | None] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "figure":
            self.figure_attrs = attrs
        if self._hidden_depth:
            self._hidden_depth += 1
        elif "vc-visually-hidden" in (attrs.get("class") or "").split():
            self._hidden_depth = 1
        if tag == "script":
            self._script = attrs
            self.scripts.append((attrs, ""))

    def handle_endtag(self, tag):
        if self._hidden_depth:
            self._hidden_depth -= 1
        if tag == "script":
            self._script = None

    def handle_data(self, text):
        if self._hidden_depth:
            self.hidden_text += text + " "
        if self._script is not None:
            attrs, body = self.scripts[-1]
            self.scripts[-1] = (attrs, body + text)


def _parse(fig: ChartFigure) -> _Parsed:
    parser = _Parsed()
    parser.feed(fig.html)
    return parser


def _spec_from_html(fig: ChartFigure) -> dict:
    specs = [body for attrs, body in _parse(fig).scripts if attrs.get("type") == "application/json"]
    assert len(specs) == 1
    return json.loads(specs[0])


# --- refusals -------------------------------------------------------------------------------------

@pytest.mark.parametrize("field", list(CAPTION))
@pytest.mark.parametrize("value", [None, "", "   \n"])
def test_refuses_a_missing_field(chart, data, tmp_path, field, value):
    with pytest.raises(ChartError, match=rf"missing {field}\b"):
        figure(chart, data, csv_dir=tmp_path, **{**CAPTION, field: value})
    assert not list(tmp_path.iterdir()), "nothing is written for a refused chart"


def test_chart_error_is_a_valuechain_error():
    assert issubclass(ChartError, ValueChainError)


def test_names_every_missing_field(chart, data, tmp_path):
    with pytest.raises(ChartError) as info:
        figure(chart, data, csv_dir=tmp_path, **{**CAPTION, "source": "", "alt_text": None})
    assert "source" in str(info.value) and "alt_text" in str(info.value)


@pytest.mark.parametrize("name", ["Capex", "capex chart", "capex_chart", "../capex", "-capex", "capex-", "a--b",
                                  "x" * 81])
def test_refuses_an_unsafe_name(chart, data, tmp_path, name):
    with pytest.raises(ChartError, match="slug"):
        figure(chart, data, csv_dir=tmp_path, **{**CAPTION, "name": name})


def test_refuses_a_name_used_by_another_figure(chart, data, tmp_path):
    figure(chart, data, csv_dir=tmp_path, **CAPTION)
    figure(chart, data, csv_dir=tmp_path, **CAPTION)  # re-running the same cell is fine
    with pytest.raises(ChartError, match="already used"):
        figure(chart, data, csv_dir=tmp_path, **{**CAPTION, "title": "Another finding"})


def test_refuses_a_data_through_without_a_date(chart, data, tmp_path):
    with pytest.raises(ChartError, match="data_through"):
        figure(chart, data, csv_dir=tmp_path, **{**CAPTION, "data_through": "last Tuesday"})


def test_refuses_a_data_through_later_than_the_data(chart, data, tmp_path):
    """The data end 2024-12-31: a caption saying 2025-02-14 (a retrieval date, say) is refused."""
    with pytest.raises(ChartError, match="2025-02-14, later than the latest date in the data shown"):
        figure(chart, data, csv_dir=tmp_path, **{**CAPTION, "data_through": "2025-02-14"})


@pytest.mark.parametrize(("through", "shown"), [
    (dt.date(2024, 12, 31), "2024-12-31"), (pd.Timestamp("2024-12-31 16:30"), "2024-12-31"),
    ({"Microsoft": "2024-12-31", "Alphabet": "2024-09-30"}, "2024-09-30 (Alphabet), 2024-12-31 (Microsoft)"),
])
def test_data_through_is_shown_per_company(chart, data, tmp_path, through, shown):
    fig = figure(chart, data, csv_dir=tmp_path, **{**CAPTION, "data_through": through})
    assert fig.data_through == shown
    assert f"Data through {shown}" in fig.html


def test_refuses_a_chart_not_built_on_the_data(chart, data, tmp_path):
    with pytest.raises(ChartError, match="not built on `data`"):
        figure(chart, data.head(2), csv_dir=tmp_path, **CAPTION)


def test_refuses_url_data(data, tmp_path):
    remote = alt.Chart("https://example.org/capex.csv").mark_line().encode(x="quarter:T", y="capex_busd:Q")
    with pytest.raises(ChartError, match="URL"):
        figure(remote, data, csv_dir=tmp_path, **CAPTION)


def test_accepts_a_layered_chart_built_on_the_data(chart, data, tmp_path):
    rule = alt.Chart(pd.DataFrame({"y": [15.0]})).mark_rule().encode(y="y:Q")
    fig = figure(chart + rule, data, csv_dir=tmp_path, **CAPTION)
    assert fig.spec["width"] == "container"


# --- CSV ------------------------------------------------------------------------------------------

def test_csv_equals_the_data(fig, data):
    assert fig.csv_path.name == "capex-test.csv"
    written = pd.read_csv(fig.csv_path, parse_dates=["quarter"])
    pdt.assert_frame_equal(written, data)
    assert fig.csv_path.read_text(encoding="utf-8").splitlines()[1].startswith("2024-03-31,Microsoft,")


def test_csv_dir_defaults_to_env_var(chart, data, tmp_path, monkeypatch):
    monkeypatch.setenv("VALUECHAIN_CHART_DATA", str(tmp_path / "static-data"))
    fig = figure(chart, data, **CAPTION)
    assert fig.csv_path == tmp_path / "static-data" / "capex-test.csv"
    assert fig.csv_path.is_file()


def test_csv_default_is_the_books_static_data_folder(monkeypatch):
    monkeypatch.delenv("VALUECHAIN_CHART_DATA", raising=False)
    assert charts.chart_data_dir() == STATIC / "data"


# --- HTML -----------------------------------------------------------------------------------------

def test_html_needs_no_network(fig):
    page = fig.html
    assert not re.search(r"<script[^>]*\bsrc=", page), "scripts come from the book's _static, not the figure"
    assert "http://" not in page.replace("http://www.w3.org", "")
    assert not re.search(r"""src=["']?https?://""", page)
    assert "cdn" not in page.lower()


def test_html_holds_the_compact_spec_with_altairs_schema(fig):
    spec = _spec_from_html(fig)
    assert spec == json.loads(json.dumps(fig.spec))
    schema_major = re.search(r"/v(\d+)\.[\d.]+\.json$", spec["$schema"]).group(1)
    assert schema_major == alt.SCHEMA_VERSION.lstrip("v").split(".")[0]
    rows = next(iter(spec["datasets"].values()))
    assert len(rows) == 8 and rows[0]["company"] == "Microsoft"  # data inlined as values
    # compact: no indentation or spaces after separators (this caption has no "<", ">" or "&" to escape)
    assert fig.spec_json == json.dumps(fig.spec, separators=(",", ":"), ensure_ascii=False)


def test_html_only_mime_bundle(fig):
    assert set(fig._repr_mimebundle_()) == {"text/html"}
    assert fig._repr_html_() == fig.html


def test_caption_source_note_date_and_download_link(fig):
    page = fig.html
    assert '<figure class="vc-figure"' in page and 'role="figure"' in page
    assert '<div class="vc-chart" id="vc-chart-capex-test" data-spec-id="vc-spec-capex-test"' in page
    assert "<figcaption" in page and "<noscript>" in page
    assert f"Source: {html.escape(CAPTION['source'])}" in page
    assert f"Note: {html.escape(CAPTION['note'])}" in page
    assert "Data through 2024-12-31" in page
    assert 'href="../_static/data/capex-test.csv"' in page and "Download the data (CSV)" in page
    assert 'window.vcChartQueue||[]).push("vc-chart-capex-test")' in page
    assert "window.vcRenderCharts&&window.vcRenderCharts()" in page


def test_alt_text_in_aria_label_and_hidden_text(fig):
    parsed = _parse(fig)
    assert parsed.figure_attrs["aria-label"] == CAPTION["alt_text"]
    assert CAPTION["alt_text"] in parsed.hidden_text


def test_text_is_escaped(chart, data, tmp_path):
    nasty = 'Capex <script>alert("x")</script> & "quotes"'
    fig = figure(chart, data, csv_dir=tmp_path, **{**CAPTION, "note": nasty, "alt_text": nasty, "title": nasty})
    page = fig.html
    assert "<script>alert" not in page
    assert html.escape(nasty) in page
    parsed = _parse(fig)
    assert parsed.figure_attrs["aria-label"] == nasty
    assert _spec_from_html(fig)["description"] == nasty  # the JSON survives the escaping of "<" and "&"


def test_house_theme_and_title(fig):
    spec = fig.spec
    assert spec["title"]["text"] == CAPTION["title"]
    assert spec["title"]["subtitle"] == CAPTION["subtitle"]
    assert spec["width"] == "container"
    config = spec["config"]
    assert config["range"]["category"] == CATEGORY_COLORS
    assert "sans-serif" in config["font"] and "url(" not in config["font"]
    assert config["axis"]["labelFontSize"] >= 11
    assert "valuechain" in alt.theme.names()


def test_long_title_is_wrapped(chart, data, tmp_path):
    long_title = "Hyperscaler capital expenditure roughly doubled between early 2023 and the end of 2024, led by Amazon"
    fig = figure(chart, data, csv_dir=tmp_path, **{**CAPTION, "title": long_title})
    lines = fig.spec["title"]["text"]
    assert isinstance(lines, list) and " ".join(lines) == long_title


# --- vendored Vega bundle -------------------------------------------------------------------------

def test_vendored_bundle_matches_installed_altair():
    import vl_convert as vlc

    record = json.loads((VEGA_DIR / "vega-versions.json").read_text(encoding="utf-8"))
    assert record["vega-lite"] == alt.VEGALITE_VERSION
    assert record["vega"].split(".")[0] == alt.VEGA_VERSION.split(".")[0]
    assert record["vega-embed"].split(".")[0] == alt.VEGAEMBED_VERSION.split(".")[0]
    assert record["altair_expects"]["schema"] == alt.SCHEMA_VERSION
    assert (record["vega"], record["vega-embed"]) == (vlc.get_vega_version(), vlc.get_vega_embed_version())
    problems = vega_assets.bundle_status(VEGA_DIR)
    assert not problems, "regenerate with valuechain_lib.publish.vega_assets.write_bundle: " + "; ".join(problems)
    assert vega_assets.bundle_is_current(VEGA_DIR)


def test_bundle_is_wrapped_in_a_function_scope_with_a_version_header():
    text = (VEGA_DIR / "vega-bundle.js").read_text(encoding="utf-8")
    assert text.startswith("/*!")
    header, _, body = text.partition("*/\n")
    record = vega_assets.read_versions(VEGA_DIR)
    for lib in ("vega", "vega-lite", "vega-embed"):
        assert f"{lib} {record[lib]}" in header
    assert body.startswith('(function () {\n"use strict";\n')
    assert body.endswith("\n})();\n")
    assert "window.vegaEmbed=" in body


def test_bundle_status_catches_an_edited_or_missing_bundle(tmp_path):
    assert not vega_assets.bundle_is_current(tmp_path)
    shutil.copy(VEGA_DIR / "vega-versions.json", tmp_path)
    assert not vega_assets.bundle_is_current(tmp_path)  # bundle missing
    shutil.copy(VEGA_DIR / "vega-bundle.js", tmp_path)
    assert vega_assets.bundle_is_current(tmp_path)
    with open(tmp_path / "vega-bundle.js", "a", encoding="utf-8") as handle:
        handle.write("\n")
    assert any("differs" in p for p in vega_assets.bundle_status(tmp_path))


def test_page_script_and_licences():
    script = (STATIC / "vc-charts.js").read_text(encoding="utf-8")
    # A small loader (it also builds the Vega view that Vega-Embed used to, since pages load Vega's runtime only).
    assert len(script.encode("utf-8")) < 3072
    assert "http" not in script and "import " not in script
    for needle in ("vegaRuntime", "vcChartQueue", "vcRenderCharts", "DOMContentLoaded", "div.vc-chart[data-spec-id]",
                   'renderer: "svg"', "vc-vega-", "JSON.parse"):
        assert needle in script
    licences = (VEGA_DIR / "LICENSES.txt").read_text(encoding="utf-8")
    for needle in ("vega ", "vega-lite", "vega-embed", "vega-tooltip", "vega-runtime.js", "BSD-3-Clause",
                   "University of Washington Interactive Data Lab"):
        assert needle in licences
    assert (STATIC / "vc-charts.css").is_file()


@pytest.mark.fast
@pytest.mark.regression
def test_regression_chart_that_vega_lite_cannot_compile_is_refused(tmp_path):
    """A layered facet whose layers disagree on the x axis crashed Vega-Lite in the browser (the
    spenders-to-suppliers flow); figure() now compiles every spec and refuses such a chart by name."""
    import altair as alt

    flow = pd.DataFrame({"year": [2024, 2024], "x0": [0.0, 1.0], "x1": [1.0, 1.0], "y0": [0.0, 0.0],
                         "y1": [80.0, 90.0]})
    rects = alt.Chart().mark_rect().encode(x=alt.X("x0:Q", axis=None), x2="x1:Q", y="y0:Q", y2="y1:Q")
    band = alt.Chart().mark_area().encode(x="x0:Q", y="y1:Q", y2="y0:Q")
    chart = alt.layer(band, rects, data=flow).properties(width=78, height=260).facet(column="year:O")
    with pytest.raises(ChartError, match="'regression-flow': Vega-Lite cannot compile"):
        figure(chart, flow, name="regression-flow", title="t", subtitle="s", source="s", note="n",
               data_through="2026-01-01", alt_text="a", csv_dir=tmp_path)


@pytest.mark.fast
def test_company_colours_are_fixed_and_totals_stand_apart():
    """Each company keeps its universe colour by ticker and by name; totals and layers use none of them."""
    from valuechain_lib.publish.book import company_colors, company_scale
    from valuechain_lib.publish.charts import LAYER_COLORS, SERIES_COLORS

    colours = company_colors()
    assert colours["MSFT"] == colours["Microsoft Corporation"] == "#0072B2"
    companies = {colours[t] for t in ("NVDA", "AMD", "MSFT", "AMZN", "GOOGL", "META", "ORCL", "SPY")}
    assert not companies & {*LAYER_COLORS.values(), *SERIES_COLORS.values()}
    scale = company_scale(["AMZN", "Combined"]).to_dict()
    assert scale == {"domain": ["AMZN", "Combined"], "range": ["#E69F00", "#000000"]}
    assert company_scale(["Amazon"], labels={"Amazon": "AMZN"}).to_dict()["range"] == ["#E69F00"]
    with pytest.raises(ChartError, match="no colour for"):
        company_scale(["Nobody"])


@pytest.mark.fast
def test_a_new_company_without_a_colour_gets_an_unused_one(data_copy):
    """A universe row with no colour takes the first fallback colour no other company uses."""
    from valuechain_lib.publish.book import company_colors
    from valuechain_lib.snapshot.universe import _load

    universe = pd.read_csv(data_copy / "universe.csv", dtype=str, keep_default_na=False)
    row = universe[universe["ticker"] == "AMD"].assign(ticker="SMCI", name="Super Micro Computer", colour="")
    pd.concat([universe, row]).to_csv(data_copy / "universe.csv", index=False)
    _load.cache_clear()
    colours = company_colors()
    others = {c for t, c in colours.items() if t not in ("SMCI", "Super Micro Computer")}
    assert colours["SMCI"] not in others


# --------------------------------------------------------------------------- labels at line ends
def test_spread_labels_keeps_values_already_apart():
    """Values at least a gap apart are returned unchanged, in the order given."""
    assert_allclose(spread_labels([0.5, 0.0, 1.0], 0.1), [0.5, 0.0, 1.0])

def test_spread_labels_merges_blocks_that_then_touch():
    """0, 0.05, 0.08 (gap 0.1): all three end in one block centred on their mean 0.04333, spaced 0.1 apart
    (−0.05667, 0.04333, 0.14333); the far value 1.0 stays put."""
    out = spread_labels([0.0, 0.05, 0.08, 1.0], 0.1)
    assert_allclose(out, [0.04333333 - 0.1, 0.04333333, 0.04333333 + 0.1, 1.0], atol=1e-8)
    assert np.all(np.diff(np.sort(out)) >= 0.1 - 1e-12)

def test_line_end_labels_last_point_per_line_and_panel():
    """Per panel, each line's last non-missing point (B's last value is NaN, so its 2021 point), with the
    labels of A and B (0.50 and 0.52, gap 0.1) spread to 0.46 and 0.56 and C alone in its panel unchanged."""
    frame = pd.DataFrame({
        "panel": ["p", "p", "p", "p", "q"],
        "series": ["A", "A", "B", "B", "C"],
        "when": pd.to_datetime(["2020-12-31", "2021-12-31", "2021-12-31", "2022-12-31", "2021-12-31"]),
        "value": [0.1, 0.50, 0.52, np.nan, 0.3],
    })
    ends = line_end_labels(frame, "when", "value", "series", 0.1, by="panel").set_index("series")
    assert list(ends.index) == ["A", "B", "C"]
    assert (ends["when"] == pd.Timestamp("2021-12-31")).all()
    assert_allclose(ends["label_y"], [0.46, 0.56, 0.3])
    assert_allclose(ends["value"], [0.50, 0.52, 0.3])


def test_spread_labels_centres_a_clash_on_its_mean():
    """Two labels 0.01 apart with a gap of 0.1 move to their mean ± 0.05: 0.005 − 0.05 and 0.005 + 0.05."""
    assert_allclose(spread_labels([0.01, 0.0], 0.1), [0.055, -0.045])


def test_spread_labels_empty_and_negative_gap():
    """No values give no positions; a negative gap is refused."""
    assert spread_labels([], 1.0).size == 0
    with pytest.raises(ValueError):
        spread_labels([0.0], -1.0)


@pytest.mark.fast
def test_default_category_palette_shares_no_company_layer_or_total_colour():
    """A chart whose colours are not companies (kinds of source, scenarios) never looks like one."""
    from valuechain_lib.publish.book import company_colors
    from valuechain_lib.publish.charts import LAYER_COLORS, SERIES_COLORS

    taken = {c.upper() for c in [*company_colors().values(), *LAYER_COLORS.values(), *SERIES_COLORS.values()]}
    assert not {c.upper() for c in CATEGORY_COLORS} & taken
