"""The pages draw charts compiled to Vega at build time with a Vega runtime sized to the book's charts.

`figure` embeds the Vega-Lite spec and, beside it, the compiled Vega (its data rows once, shared with the
Vega-Lite datasets); the runtime (``book/_static/vega/vega-runtime.js``) matches its record and knows the
transforms every chart needs; a chart needing one it lacks is refused when its page runs.
"""

from __future__ import annotations

import json
import re

import altair as alt
import pandas as pd
import pytest

from valuechain_lib.publish import charts, vega_assets

CAPTION = {"title": "Capex doubled", "subtitle": "Capex, USD bn, calendar years", "source": "SEC EDGAR XBRL filings",
           "note": "Test data.", "data_through": "2025-12-31", "alt_text": "A test chart."}


@pytest.fixture
def frame():
    return pd.DataFrame({"year": [2024, 2025], "capex": [1.0, 2.0]})


def _scripts(html: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r'<script type="([^"]+)" id="[^"]+" class="vc-[a-z]+">(.*?)</script>',
                                                     html, re.S)}


@pytest.mark.fast
def test_figure_carries_the_vega_lite_spec_and_the_compiled_vega_with_the_rows_once(frame, tmp_path):
    """The page gets the Vega-Lite spec (its source, with the two rows) and the Vega compiled from it, whose
    dataset entry names the same dataset without repeating the rows."""
    charts.forget_names()
    fig = charts.figure(alt.Chart(frame).mark_line().encode(x="year:O", y="capex:Q"), frame, name="vega-test",
                        csv_dir=tmp_path, **CAPTION)
    scripts = _scripts(fig.html)
    lite, vega = json.loads(scripts["application/json"]), json.loads(scripts["application/vnd.vega+json"])
    assert "vega-lite" in lite["$schema"] and "/vega/v6" in vega["$schema"]
    (name, rows), = lite["datasets"].items()
    assert rows == [{"year": 2024, "capex": 1.0}, {"year": 2025, "capex": 2.0}]
    shared = [d for d in vega["data"] if d["name"] == name]
    assert shared and "values" not in shared[0]
    assert fig.html.count('"capex":2.0') == 1


@pytest.mark.fast
def test_a_chart_needing_a_transform_the_runtime_lacks_is_refused(frame, tmp_path):
    """A regression line compiles to Vega's 'regression' transform, which the pages' runtime leaves out: the
    figure is refused by name instead of showing readers an error box."""
    charts.forget_names()
    line = alt.Chart(frame).mark_line().encode(x="year:Q", y="capex:Q").transform_regression("year", "capex")
    with pytest.raises(charts.ChartError, match=r"'vega-regression-test'.*\['regression'\]"):
        charts.figure(line, frame, name="vega-regression-test", csv_dir=tmp_path, **CAPTION)


@pytest.mark.fast
def test_runtime_matches_its_record_and_holds_what_the_charts_use():
    """The runtime file is the one recorded (size, sha256), targets the Vega major version the specs are
    compiled for, defines the global ``vegaRuntime`` and knows the transforms of the book's charts."""
    assert vega_assets.runtime_status() == []
    known = vega_assets.runtime_transforms()
    assert {"formula", "filter", "stack", "aggregate", "sequence", "fold", "collect", "datajoin", "mark",
            "encode", "bound", "viewlayout", "render"} <= known
    assert not {"regression", "geoshape", "force", "voronoi", "wordcloud"} & known
    text = (vega_assets.DEFAULT_DEST_DIR / vega_assets.RUNTIME_NAME).read_text(encoding="utf-8")
    assert text.count("var vegaRuntime=") == 1
