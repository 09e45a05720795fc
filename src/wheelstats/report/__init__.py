"""The periodic report: report.json, report.md, report.html and charts/*.png in one folder.

The files are written into a hidden staging folder inside the `--out` folder
and moved into place only once all of them are written, so a full disk, an
error or an interruption leaves the folder as it was (a folder made for the
report is removed again).
"""

from __future__ import annotations

import base64
import errno
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from wheelstats import charts
from wheelstats.period import Period
from wheelstats.report.figures import DEFAULT_SITE, EmptyPeriod, StoreSpan, build_report
from wheelstats.report.document import to_html, to_markdown
from wheelstats.report.prose import headline, report_blocks, report_title
from wheelstats.report.site import remembered_site
from wheelstats.spikes import DEFAULT_GAP
from wheelstats.stats import Tables

__all__ = [
    "DEFAULT_SITE", "EmptyPeriod", "ReportFiles", "ReportFolderError", "StoreSpan", "build_report", "headline",
    "remembered_site", "write_report",
]

REPORT_FILES = ("report.json", "report.md", "report.html")
CHARTS = "charts"
STAGING_PREFIX = ".report-staging-"


class ReportFolderError(ValueError):
    """The `--out` folder cannot take the report."""

    def __init__(self, out: Path, error: OSError | None = None, *, moving: bool = False) -> None:
        if error is None:
            message = (
                f"{str(out)!r} is not a folder. Choose a folder for --out: the report writes report.md, "
                "report.html, report.json and charts/ into it."
            )
        elif moving:
            message = (
                f"Cannot finish writing the report into {str(out)!r}: {error.strerror}. Some of its files may "
                "still be those of an earlier report: run the command again."
            )
        else:
            fix = ("Free some space, or choose another folder for --out" if error.errno == errno.ENOSPC
                   else "Choose a writable folder for --out")
            message = f"Cannot write the report into {str(out)!r}: {error.strerror}. {fix} (nothing was written)."
        super().__init__(message)


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
    site: str = DEFAULT_SITE,
    time_saved_method: str | None = None,
    store_name: str = "the store",
    session_gap: timedelta = DEFAULT_GAP,
) -> ReportFiles:
    """Compute the report's figures and write every file of the report into `out` (without a
    `time_saved_method`, the store's builds choose it; `session_gap`: the longest pause within a
    client's session, for the spikes' causes).

    The folder is checked (and made) before any figure is computed.
    """
    made = _make_folder(out)
    try:
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out))
    except OSError as error:
        _remove_made(made)
        raise ReportFolderError(out, error) from None
    finished = False
    try:
        report = build_report(tables, period, site=site, time_saved_method=time_saved_method, store_name=store_name,
                              session_gap=session_gap)
        try:
            chart_names = _write_files(report, staging)
        except OSError as error:
            raise ReportFolderError(out, error) from None
        try:
            _move_into(staging, out, chart_names)
        except OSError as error:
            raise ReportFolderError(out, error, moving=True) from None
        finished = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not finished:
            _remove_made(made)
    return ReportFiles(
        out, out / "report.json", out / "report.md", out / "report.html",
        {name: out / CHARTS / f"{name}.png" for name in chart_names},
    )


def _make_folder(out: Path) -> list[Path]:
    """Make `out` (and missing parents); the folders made, innermost first."""
    if out.exists() and not out.is_dir():
        raise ReportFolderError(out)
    missing = [folder for folder in (out, *out.parents) if not folder.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ReportFolderError(out) from None
    except OSError as error:
        raise ReportFolderError(out, error) from None
    return missing


def _remove_made(folders: list[Path]) -> None:
    for folder in folders:  # innermost first; only while empty
        try:
            folder.rmdir()
        except OSError:
            return


def _write_files(report: dict, folder: Path) -> list[str]:
    """Write the report's files into `folder`; the names of its charts."""
    (folder / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    chart_paths = charts.write_pngs(charts.report_specs(report), folder / CHARTS)
    blocks = report_blocks(report)
    (folder / "report.md").write_text(to_markdown(blocks), encoding="utf-8")
    sources = {
        name: "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
        for name, path in chart_paths.items()
    }
    (folder / "report.html").write_text(to_html(blocks, report_title(report), sources), encoding="utf-8")
    return list(chart_paths)


def _move_into(staging: Path, out: Path, chart_names: list[str]) -> None:
    """Move the written files from `staging` into `out`, each replacing its earlier version in one step."""
    (out / CHARTS).mkdir(exist_ok=True)
    for name in chart_names:
        os.replace(staging / CHARTS / f"{name}.png", out / CHARTS / f"{name}.png")
    for name in REPORT_FILES:
        os.replace(staging / name, out / name)
