"""Chart specs show exactly the report's figures, and render to real PNGs of blog size."""

import json
import struct

import pytest

from kit import vega_lite
from kit.reports import build_store
from wheelstats import charts, stats
from wheelstats.period import parse_period
from wheelstats.report import build_report

Q1 = parse_period("2020-Q1")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    path = tmp_path_factory.mktemp("charts") / "s.duckdb"
    build_store(path)
    # Through JSON, as the dashboard will read it.
    return json.loads(json.dumps(build_report(stats.open_tables(path), Q1)))


def layered_data(spec):
    values = spec.get("data", {}).get("values")
    if values is None:
        values = next(layer["data"]["values"] for layer in spec["layer"] if "data" in layer)
    return values


def test_seven_charts_titled_with_axis_titles(report):
    specs = charts.report_specs(report)
    assert list(specs) == [
        "downloads-by-month", "time-saved-by-month", "downloads-by-day", "os-usage", "arch",
        "py-vers", "py-vers-over-time",
    ]
    for name, spec in specs.items():
        assert spec["title"]["text"], name
        encoding = spec["encoding"] if "encoding" in spec else spec["layer"][0]["encoding"]
        assert encoding["x"]["title"] and encoding["y"]["title"], name
        assert spec["width"] == 800 and spec["height"] == 400


def test_every_chart_is_valid_vega_lite(report):
    """Specs are built without Altair's checks (for speed): Vega-Lite's schema judges them here."""
    for spec in charts.report_specs(report).values():
        vega_lite.assert_valid(spec)


def test_month_charts_equal_the_report(report):
    specs = charts.report_specs(report)
    months = layered_data(specs["downloads-by-month"])
    assert [(m["month"], m["downloads"]) for m in months] == [
        (m["month"], m["downloads"]) for m in report["by_month"]
    ]
    highlighted = [m["month"] for m in months if m["in_period"] == "in the period"]
    assert highlighted == ["2020-01", "2020-02", "2020-03"]
    saved = layered_data(specs["time-saved-by-month"])
    assert [s["years_saved"] for s in saved] == pytest.approx(
        [m["time_saved_seconds"] / (365.25 * 86400) for m in report["by_month"]]
    )


def test_day_and_share_charts_equal_the_report(report):
    specs = charts.report_specs(report)
    assert layered_data(specs["downloads-by-day"]) == report["by_day"]
    assert layered_data(specs["os-usage"]) == charts.top_shares(report["shares"]["distro"])
    # Share charts show the rows that have a share: "unknown" is not in the denominator.
    assert any(row["name"] == "unknown" for row in report["shares"]["arch"])
    assert layered_data(specs["arch"]) == [r for r in report["shares"]["arch"] if r["name"] != "unknown"]
    python = layered_data(specs["py-vers"])
    assert sorted(python, key=lambda r: r["name"]) == sorted(
        (r for r in report["shares"]["python"] if r["name"] != "unknown"), key=lambda r: r["name"])
    over_time = layered_data(specs["py-vers-over-time"])
    assert [{k: v for k, v in row.items() if k != "order"} for row in over_time] == [
        r for r in report["python_by_month"] if r["python"] != "unknown"]


def test_python_versions_sort_as_numbers(report):
    spec = charts.report_specs(report)["py-vers"]
    order = spec["layer"][0]["encoding"]["x"]["sort"]
    assert order.index("3.9") < order.index("3.10")


def test_long_tails_fold_into_other():
    shares = [{"name": f"os{i}", "downloads": 10 - i, "share": (10 - i) / 55} for i in range(10)]
    folded = charts.top_shares(shares, 4)
    assert [row["name"] for row in folded] == ["os0", "os1", "os2", "other"]
    assert folded[-1]["downloads"] == sum(10 - i for i in range(3, 10))
    assert sum(row["share"] for row in folded) == pytest.approx(1.0)


def test_pngs_are_real_and_blog_sized(report, tmp_path):
    written = charts.write_pngs(charts.report_specs(report), tmp_path / "charts")
    assert sorted(p.name for p in (tmp_path / "charts").iterdir()) == sorted(f"{n}.png" for n in written)
    for path in written.values():
        head = path.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n"
        assert head[12:16] == b"IHDR"
        assert struct.unpack(">II", head[16:24]) == (800, 400)
        assert path.stat().st_size > 5_000  # drawn, not blank
