import gzip
import json

from kit.logs import COMBINED, unescape
from typer.testing import CliRunner

from wheelstats.cli import app
from wheelstats.simulate import sample_log


def test_sample_log_lines_are_combined_and_counted_by_kind(tmp_path):
    path = tmp_path / "access.log"
    counts = sample_log(path, 5000, seed=3)
    lines = path.read_text().splitlines()
    assert len(lines) == 5000 == sum(counts.values())
    matches = [COMBINED.match(line) for line in lines]
    assert sum(m is None for m in matches) == counts["broken"] > 0
    parsed = [m for m in matches if m]
    downloads = [m for m in parsed if m["method"] == "GET" and m["status"] == "200"
                 and m["path"].startswith("/simple/") and m["path"].endswith(".whl")]
    assert len(downloads) == counts["downloads"]
    assert any(":" in m["client"] for m in parsed) and any("." in m["client"] for m in parsed)
    assert any(m["time"].endswith("+0100") for m in parsed)
    assert {m["method"] for m in parsed} == {"GET", "HEAD", "POST"}
    assert {"200", "304", "404"} <= {m["status"] for m in parsed}
    agents = {unescape(m["agent"]) for m in parsed}
    pip_json = [a for a in agents if a.startswith("pip/") and "{" in a]
    uv_json = [a for a in agents if a.startswith("uv/")]
    assert pip_json and uv_json and any("Googlebot" in a for a in agents)
    assert "pip/9.0.1 CPython/2.7.13 Linux/4.9.35-v7+" in agents
    assert json.loads(uv_json[0].split(" ", 1)[1])["installer"]["subcommand"] == ["pip", "install"]
    assert all(json.loads(a.split(" ", 1)[1])["cpu"] for a in pip_json)
    average = sum(len(line) + 1 for line in lines) / len(lines)
    assert 400 < average < 650


def test_download_follows_its_index_lookup(tmp_path):
    path = tmp_path / "access.log"
    sample_log(path, 3000, seed=1)
    parsed = [m for m in map(COMBINED.match, path.read_text().splitlines()) if m]
    lookups = {(m["client"], m["path"]) for m in parsed if m["path"].endswith("/") and m["path"].startswith("/simple/")}
    wheels = [m for m in parsed if m["path"].endswith(".whl") and m["method"] == "GET"
              and m["agent"].startswith(("pip/", "uv/")) and "{" in m["agent"]]
    assert wheels
    assert all((m["client"], m["path"].rsplit("/", 1)[0] + "/") in lookups for m in wheels)


def test_same_seed_same_bytes_and_gzip(tmp_path):
    sample_log(tmp_path / "a.log.gz", 2000, seed=7)
    sample_log(tmp_path / "b.log", 2000, seed=7)
    sample_log(tmp_path / "c.log", 2000, seed=8)
    a = gzip.decompress((tmp_path / "a.log.gz").read_bytes())
    assert a == (tmp_path / "b.log").read_bytes() != (tmp_path / "c.log").read_bytes()


def test_cli_sample_log(tmp_path):
    result = CliRunner().invoke(app, ["sample-log", "--lines", "300", "--seed", "2", "--out", str(tmp_path / "x.log.gz")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Wrote 300 lines to ")
    assert len(gzip.decompress((tmp_path / "x.log.gz").read_bytes()).splitlines()) == 300
