"""The periodic report: report.json, report.md, report.html and charts/*.png in one folder."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

from wheelstats import charts
from wheelstats.period import Period
from wheelstats.report.figures import EmptyPeriod, build_report
from wheelstats.report.document import to_html, to_markdown
from wheelstats.report.prose import headline, report_blocks
from wheelstats.stats import Tables

__all__ = ["EmptyPeriod", "ReportFiles", "build_report", "headline", "write_report"]


@dataclass(frozen=True, slots=True)
class ReportFiles:
    folder: Path
    json: Path
    markdown: Path
    html: Path
    charts: dict[str, Path]


def write_report(
    tables: Tables,
    period: Period,
    out: Path,
    *,
    site: str = "piwheels",
    time_saved_method: str | None = None,
    store_name: str = "the store",
) -> ReportFiles:
    """Compute the report's figures and write every file of the report into `out` (without a
    `time_saved_method`, the store's builds choose it)."""
    report = build_report(
        tables, period, site=site, time_saved_method=time_saved_method, store_name=store_name
    )
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "report.json"
    json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    specs = charts.report_specs(report)
    chart_paths = charts.write_pngs(specs, out / "charts")

    blocks = report_blocks(report)
    markdown_path = out / "report.md"
    markdown_path.write_text(to_markdown(blocks), encoding="utf-8")

    sources = {
        name: "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
        for name, path in chart_paths.items()
    }
    title = f"{site} statistics: {report['period']['label']}"
    html_path = out / "report.html"
    html_path.write_text(to_html(blocks, title, sources), encoding="utf-8")
    return ReportFiles(out, json_path, markdown_path, html_path, chart_paths)
