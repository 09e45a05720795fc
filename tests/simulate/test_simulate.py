"""simulate: determinism, the manifest's own consistency, and the files against it.

Counts here are taken by reading the written files with an independent strict
parser; the manifest is what the generator counted as it wrote.
"""

import csv
import gzip
import hashlib
import json
import re
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
from kit import ROOT
from kit.logs import COMBINED, unescape
from typer.testing import CliRunner

from wheelstats.cli import app
from wheelstats.simulate import run_simulation

DOCS = ROOT / "docs" / "piwheels-dump.md"


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    manifest = run_simulation("piwheels-2020q1", out, scale=0.003, seed=4)
    return out, manifest


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_writes_the_same_bytes_and_another_seed_does_not(tmp_path):
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        run_simulation("piwheels-2020q1", tmp_path / name, scale=0.001, seed=seed)
    a, b, c = (_digest(tmp_path / n) for n in "abc")
    assert a == b
    assert a.keys() == c.keys() and a != c


def test_manifest_is_consistent(simulated):
    out, m = simulated
    by_day, by_month = m["downloads_by_day"], m["downloads_by_month"]
    for month, count in by_month.items():
        assert sum(n for d, n in by_day.items() if d.startswith(month)) == count
    period = [k for k in by_month if "2020-01" <= k <= "2020-03"]
    assert sum(by_month[k] for k in period) == m["downloads_in_period"]
    assert m["months"]["2020-01+2020-02"] == by_month["2020-01"] + by_month["2020-02"]
    assert sum(by_month.values()) == m["downloads_all_time_at_period_end"]
    assert m["downloads_before_period"] + m["downloads_in_period"] == m["downloads_all_time_at_period_end"]
    assert m["downloads_before_period"] == m["dump_rows"]["downloads"]
    assert m["lines"]["downloads"] == m["downloads_in_period"]
    assert m["lines"]["total"] == sum(v for k, v in m["lines"].items() if k != "total")
    counts = [n for _, n in m["top_in_period"]]
    assert counts == sorted(counts, reverse=True) and len(counts) == 10
    for top in m["top_by_month"].values():
        assert [n for _, n in top] == sorted((n for _, n in top), reverse=True)
    assert m["top_in_march"] == m["top_by_month"]["2020-03"]
    assert m["peak_day"] == {"date": max(by_day, key=lambda d: (by_day[d], d)), "downloads": max(by_day.values())}
    saved = m["time_saved_seconds"]
    assert sum(saved["by_month"][k] for k in period) == pytest.approx(saved["in_period"], abs=1)
    assert sum(saved["by_month"].values()) == pytest.approx(saved["all_time"], abs=1)
    assert m["time_saved_years"]["in_period"] == pytest.approx(saved["in_period"] / (365.25 * 86400), rel=1e-6)
    for kind in ("distro", "arch", "python", "installer"):
        shares = m["shares_of_downloads"][kind]
        assert sum(v["downloads"] for v in shares.values()) == m["downloads_in_period"]
    assert m["python_checks"] == {"3.7_above_3.5": True, "2.7_share_rises_in_march": True}
    assert m["shares_of_downloads"]["os_distro"] == m["shares_of_downloads"]["distro"]
    for entry in m["files_written"][:-1]:
        assert (out / entry["path"]).stat().st_size == entry["bytes"]


def test_logs_are_strict_combined_and_hold_the_manifest_s_downloads(simulated):
    out, m = simulated
    kinds, per_day, broken, offsets = Counter(), Counter(), 0, set()
    files = sorted((out / "logs").glob("access.log-2020*.gz"))
    assert len(files) == 91
    for path in files:
        for line in gzip.decompress(path.read_bytes()).decode().splitlines():
            match = COMBINED.match(line)
            if match is None:
                broken += 1
                continue
            offsets.add(match["time"][-5:])
            path_, ok = match["path"], match["method"] == "GET" and match["status"] == "200"
            agent = unescape(match["agent"])
            if ok and path_.startswith("/simple/") and path_.endswith(".whl"):
                kinds["downloads"] += 1
                when = datetime.strptime(match["time"], "%d/%b/%Y:%H:%M:%S %z").astimezone(timezone.utc)
                per_day[when.date().isoformat()] += 1
            elif ok and re.fullmatch(r"/simple/[^/]+/", path_) and agent.startswith(("pip/", "uv/")):
                kinds["searches"] += 1
            elif ok and re.fullmatch(r"/project/[^/]+/json/", path_):
                kinds["json"] += 1
            elif ok and re.fullmatch(r"/project/[^/]+/", path_):
                kinds["project_pages"] += 1
            elif ok and (path_ == "/" or re.fullmatch(r"/[^/]+\.html", path_)):
                kinds["pages"] += 1
            else:
                kinds["ignored"] += 1
    lines = m["lines"]
    assert broken == lines["broken"] > 0
    assert kinds["downloads"] == m["downloads_in_period"] == lines["downloads"]
    for kind in ("searches", "json", "project_pages", "pages", "ignored"):
        assert kinds[kind] == lines[kind], kind
    assert dict(per_day) == {d: n for d, n in m["downloads_by_day"].items() if d >= "2020-01-01"}
    assert offsets == {"+0000", "+0100"}


def _documented_headers() -> dict[str, list[str]]:
    columns_table = DOCS.read_text().split("| file | columns |")[1].split("\n\n")[0]
    rows = re.findall(r"^\| (\w+)\.csv \| ([^|]+) \|$", columns_table, flags=re.M)
    return {table: [c.strip() for c in columns.split(",")] for table, columns in rows}


def test_dump_has_exactly_the_documented_headers_and_rows(simulated):
    out, m = simulated
    documented = _documented_headers()
    assert len(documented) == 9
    for table, columns in documented.items():
        with open(out / "piwheels" / f"{table}.csv", newline="") as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == columns, table
        assert all(len(row) == len(columns) for row in rows[1:]), table
        assert len(rows) - 1 == m["dump_rows"][table], table
    with open(out / "piwheels" / "downloads.csv", newline="") as handle:
        days = Counter(row["accessed_at"][:10] for row in csv.DictReader(handle))
    assert dict(days) == {d: n for d, n in m["downloads_by_day"].items() if d < "2020-01-01"}
    with open(out / "piwheels" / "builds.csv", newline="") as handle:
        durations = [row["duration"] for row in csv.DictReader(handle)]
    assert any("day" in d for d in durations) and any(re.fullmatch(r"00:00:\d\d(\.\d)?", d) for d in durations)
    with open(out / "piwheels" / "files.csv", newline="") as handle:
        tags = Counter((row["abi_tag"], row["platform_tag"]) for row in csv.DictReader(handle))
    assert {("cp27mu", "linux_armv6l"), ("cp35m", "linux_armv7l"), ("cp37m", "linux_armv7l"), ("none", "any")} <= set(tags)


def test_cli_simulate(tmp_path):
    result = CliRunner().invoke(app, ["simulate", "--scale", "0.0005", "--seed", "3", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert result.output.startswith(f"Wrote {tmp_path}: {manifest['downloads_in_period']:,} downloads in the period")
    result = CliRunner().invoke(app, ["simulate", "--scenario", "piwheels-2099", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "Unknown scenario: 'piwheels-2099'. Choose one of: piwheels-2020q1, mirror-resync, ci-loop." in result.output


def _interval_seconds(text: str) -> float:
    match = re.fullmatch(r"(?:(\d+) days? )?(\d\d):(\d\d):(\d\d(?:\.\d+)?)", text)
    assert match, text
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def test_time_saved_recomputed_from_the_files_equals_the_manifest(simulated):
    """DESIGN.md's piwheels method, applied to what was written: builds, files, dump rows, log lines."""
    out, m = simulated
    folder = out / "piwheels"
    with open(folder / "builds.csv", newline="") as handle:
        duration = {row["build_id"]: _interval_seconds(row["duration"]) for row in csv.DictReader(handle)}
    saved_per_download = {}
    with open(folder / "files.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            seconds = duration[row["build_id"]]
            factor = {"linux_armv7l": 1, "linux_armv6l": 6}.get(row["platform_tag"], 0) if row["abi_tag"] != "none" else 0
            saved_per_download[row["filename"]] = 0.0 if seconds > 7 * 86400 else max(seconds - 6.7, 0) * factor
    by_month = Counter()
    with open(folder / "downloads.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            by_month[row["accessed_at"][:7]] += saved_per_download[row["filename"]]
    for path in sorted((out / "logs").glob("*.gz")):
        for line in gzip.decompress(path.read_bytes()).decode().splitlines():
            match = COMBINED.match(line)
            if match and match["method"] == "GET" and match["status"] == "200" and match["path"].endswith(".whl"):
                when = datetime.strptime(match["time"], "%d/%b/%Y:%H:%M:%S %z").astimezone(timezone.utc)
                month = when.strftime("%Y-%m")
                by_month[month] += saved_per_download[match["path"].rsplit("/", 1)[1]]
    expected = m["time_saved_seconds"]["by_month"]
    assert by_month.keys() == expected.keys()
    for month, seconds in expected.items():
        assert by_month[month] == pytest.approx(seconds, abs=0.5), month
    assert any(v > 0 for v in by_month.values())
