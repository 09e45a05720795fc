"""`wheelstats report` end to end over a store of known rows."""

import json
import re
from collections import Counter
from datetime import datetime

import pytest
from typer.testing import CliRunner

from kit.reports import AGENTS, build_store, downloads, piwheels_saved
from wheelstats import store
from wheelstats.cli import app
from wheelstats.report.wording import approx_count, duration_parts, duration_words, join_words

YEAR = 365.25 * 24 * 3600
runner = CliRunner()


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    hits = build_store(folder / "s.duckdb")
    result = runner.invoke(app, ["report", "--period", "2020-Q1", "--db", str(folder / "s.duckdb"),
                                 "--out", str(folder / "out"), "--site", "piwheels"])
    assert result.exit_code == 0, result.output
    return folder / "out", hits, result.output


@pytest.mark.parametrize(
    ("years", "words"),
    [
        (59.7, "nearly 60 years"), (59.5, "nearly 60 years"), (59.4999, "nearly 60 years"), (59.2, "over 59 years"), (59.35, "over 59 years"),
        (59.05, "59 years"), (232.0, "232 years"), (232.9, "232 years"), (1.3, "over 1 year"),
        (1.0, "1 year"), (0.96, "nearly 1 year"), (1234.5, "1,234 years"),
    ],
)
def test_duration_words(years, words):
    assert duration_words(years * YEAR) == words


def test_duration_words_below_a_year():
    assert duration_words(3 * 86400) == "3 days"
    assert duration_words(90 * 60) == "nearly 2 hours"
    assert duration_words(0.2) == "no time"
    assert duration_parts(59.7 * YEAR) == ("nearly", "60 years")


def test_number_words():
    assert approx_count(1_105_000) == "1.1 million"
    assert approx_count(2_000_000) == "2 million"
    assert approx_count(40_321) == "40 thousand"
    assert approx_count(950.4) == "950"
    assert join_words(["a", "b", "c"]) == "a, b and c"


@pytest.mark.parametrize(("value", "words"), [
    (999_999, "1 million"), (999_950, "1 million"), (999_499, "999 thousand"), (9_999.6, "10 thousand"),
    (9_999.4, "9,999"), (1_949_999, "1.9 million"), (1_234_567_890, "1,234.6 million"),
])
def test_approx_count_rounds_before_it_picks_the_unit(value, words):
    assert approx_count(value) == words


def test_cli_prints_where_the_report_is(written):
    out, _hits, output = written
    assert output.strip() == (
        f"Report written to {out / 'report.md'} (also report.html, report.json, 7 charts in {out / 'charts'})."
    )
    assert sorted(p.name for p in out.iterdir()) == ["charts", "report.html", "report.json", "report.md"]
    assert len(list((out / "charts").glob("*.png"))) == 7


def test_report_json_figures(written):
    out, hits, _ = written
    report = json.loads((out / "report.json").read_text())
    start, end = datetime(2020, 1, 1), datetime(2020, 4, 1)
    in_q1 = downloads(hits, start, end)
    all_time = downloads(hits, None, end)
    assert report["period"] == {"start": "2020-01-01", "end": "2020-03-31", "label": "January — March 2020",
                                "months": ["2020-01", "2020-02", "2020-03"]}
    assert report["downloads"] == len(in_q1)
    assert report["downloads_all_time"] == len(all_time)
    assert report["time_saved_seconds"] == pytest.approx(sum(piwheels_saved(h.filename) for h in in_q1))
    assert report["time_saved_all_time_seconds"] == pytest.approx(sum(piwheels_saved(h.filename) for h in all_time))
    months = Counter(h.ts.strftime("%Y-%m") for h in all_time)
    assert [(m["month"], m["downloads"]) for m in report["by_month"]] == sorted(months.items())
    assert report["peak_month"] == {"month": "2020-03", "downloads": months["2020-03"], "in_period": True}
    days = Counter(h.ts.date().isoformat() for h in in_q1)
    assert report["by_day"] == [{"date": d, "downloads": n} for d, n in sorted(days.items())]
    assert report["peak_day"] == {"date": "2020-03-05", "downloads": days["2020-03-05"], "in_period": True}
    projects = Counter(h.project for h in in_q1)
    assert [(p["project"], p["downloads"]) for p in report["top"]] == sorted(
        projects.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert {p["project"]: p["name"] for p in report["top"]}["foo-bar"] == "Foo-Bar"
    assert set(report["top_by_month"]) == {"2020-01", "2020-02", "2020-03"}
    assert set(report["shares"]) == {"os", "distro", "arch", "python", "installer", "country"}
    for dimension, rows in report["shares"].items():
        assert sum(r["downloads"] for r in rows) == len(in_q1)
        assert set(rows[0]) == ({"country", "name", "downloads", "share"} if dimension == "country"
                                else {"name", "downloads", "share"})
    # These hits were stored without countries: one row says so, and the report draws no country chart.
    assert report["shares"]["country"] == [{"country": None, "name": "not looked up", "downloads": len(in_q1),
                                            "share": None}]
    assert report["spikes"][0]["start"] == "2020-03-04" and report["spikes"][0]["projects"][0]["project"] == "qux"
    assert report["energy"]["period_kwh"] > 0 and report["python_by_month"]


def test_report_md_headline_and_sections(written):
    out, hits, _ = written
    text = (out / "report.md").read_text()
    in_q1 = downloads(hits, datetime(2020, 1, 1), datetime(2020, 4, 1))
    all_time = downloads(hits, None, datetime(2020, 4, 1))
    saved = sum(piwheels_saved(h.filename) for h in in_q1)
    saved_all = sum(piwheels_saved(h.filename) for h in all_time)

    def bold(seconds):
        qualifier, amount = duration_parts(seconds)
        return f"{qualifier} **{amount}**".strip()

    assert (
        f"In the period of January — March 2020, **{len(in_q1):,}** packages were downloaded from "
        f"piwheels, bringing the total to **{len(all_time):,}**. This has saved {bold(saved)} in the "
        f"period, and {bold(saved_all)} in total!"
    ) in text
    march = sum(1 for h in all_time if h.ts.month == 3 and h.ts.year == 2020)
    assert f"**March** had the highest number of downloads ever with **{march:,}**." in text
    assert "The highest day was **5 March** with a whopping" in text
    assert "1. **[baz](https://www.piwheels.org/project/baz)** (259)\n" in text
    assert "**[qux](https://www.piwheels.org/project/qux)** (215) †\n" in text
    assert "*† qux is among the packages behind the spike of 4 March — 5 March.*" in text
    assert "[Foo-Bar](https://www.piwheels.org/project/Foo-Bar)" in text
    assert "Downloads spiked on 4 March — 5 March" in text and "**qux**" in text
    images = re.findall(r"!\[[^\]]*\]\((charts/[a-z-]+\.png)\)", text)
    assert sorted(images) == sorted(f"charts/{p.name}" for p in (out / "charts").glob("*.png"))
    assert "Raspbian GNU/Linux leads the operating systems" in text
    shares = {}
    for key in ("2020-01", "2020-03"):
        month_hits = [h for h in in_q1 if h.ts.strftime("%Y-%m") == key and h.agent_id in (1, 2, 3, 5)]
        versions = Counter(AGENTS[h.agent_id][1] for h in month_hits)
        shares[key] = {v: n / len(month_hits) for v, n in versions.items()}
    moved = max(sorted(shares["2020-01"]), key=lambda v: abs(shares["2020-03"][v] - shares["2020-01"][v]))
    verb = "rose" if shares["2020-03"][moved] > shares["2020-01"][moved] else "fell"
    assert (f"Python {moved}'s share {verb} from {shares['2020-01'][moved]:.1%} in January to "
            f"{shares['2020-03'][moved]:.1%} in March:") in text


def test_report_html_is_self_contained(written):
    out, _hits, _ = written
    page = (out / "report.html").read_text()
    assert page.count('<img src="data:image/png;base64,') == 7
    sources = re.findall(r'\bsrc="([^"]*)"', page)
    assert len(sources) == 7 and all(source.startswith("data:image/png;base64,") for source in sources)
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert "<strong>" in page and "January — March 2020" in page


def test_bad_period_is_one_line(tmp_path):
    result = runner.invoke(app, ["report", "--period", "2020-Q5", "--out", str(tmp_path / "o"),
                                 "--db", str(tmp_path / "s.duckdb")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: Invalid period: '2020-Q5'. Use a quarter (2020-Q1), a month (2020-03), a year (2020) "
        "or a range (2020-01-01..2020-03-31)."
    ]


def test_empty_store_is_one_line(tmp_path):
    path = tmp_path / "s.duckdb"
    store.connect(path).close()
    result = runner.invoke(app, ["report", "--period", "2020-Q1", "--out", str(tmp_path / "o"), "--db", str(path)])
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: The store {str(path)!r} holds no downloads. Run `wheelstats ingest LOGS` or "
        "`wheelstats import piwheels --dump DIR` first, or pass --db."
    )
    assert not (tmp_path / "o").exists()


def test_period_without_downloads(written, tmp_path):
    out, _hits, _ = written
    result = runner.invoke(app, ["report", "--period", "2021", "--out", str(tmp_path / "o"),
                                 "--db", str(out.parent / "s.duckdb")])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: No downloads in 2021-01-01..2021-12-31 (the store holds downloads from 2019-11-01 "
        "to 2020-04-10). Choose a period inside that span."
    )


def test_not_a_store_is_one_line(tmp_path):
    path = tmp_path / "notes.duckdb"
    path.write_text("not a database")
    result = runner.invoke(app, ["report", "--period", "2020-Q1", "--out", str(tmp_path / "o"), "--db", str(path)])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert result.output.startswith(f"Error: {str(path)!r} is not a wheelstats store")


@pytest.mark.parametrize(("text", "html"), [
    ("**[Foo-Bar](https://www.piwheels.org/project/Foo-Bar)** (12) †",
     '<strong><a href="https://www.piwheels.org/project/Foo-Bar">Foo-Bar</a></strong> (12) †'),
    ("*† qux is among the packages*", "<em>† qux is among the packages</em>"),
    ("**<script>alert(1)</script>** & co", "<strong>&lt;script&gt;alert(1)&lt;/script&gt;</strong> &amp; co"),
    ("[click](javascript:alert(1))", "[click](javascript:alert(1))"),
    ('say "hi"', "say &quot;hi&quot;"),
])
def test_report_html_renders_the_prose_as_commonmark_with_html_escaped(text, html):
    from wheelstats.report.document import inline_html

    assert inline_html(text) == html


def report_md(folder, db, *options):
    out = folder / "-".join(options or ("plain",))
    result = runner.invoke(app, ["report", "--period", "2020-Q1", "--db", str(db), "--out", str(out), *options])
    assert result.exit_code == 0, result.output
    return (out / "report.md").read_text()


def test_the_site_is_the_store_s_own_first_given_name(tmp_path):
    db = tmp_path / "s.duckdb"
    build_store(db)
    unnamed = report_md(tmp_path, db)
    assert unnamed.startswith("# Statistics of this index: January — March 2020\n")
    assert "packages were downloaded from this index, bringing" in unnamed
    assert "**[" not in unnamed  # no links to a site it does not know
    assert "downloaded from Example Wheels, bringing" in report_md(tmp_path, db, "--site", "Example Wheels")
    remembered = report_md(tmp_path, db)
    assert remembered.startswith("# Example Wheels statistics: January — March 2020\n")
    assert "downloaded from piwheels, bringing" in report_md(tmp_path, db, "--site", "piwheels")  # this report only
    assert "downloaded from Example Wheels, bringing" in report_md(tmp_path, db)


def test_a_failed_report_leaves_the_out_folder_as_it_was(written, tmp_path):
    out, _hits, _ = written
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    result = runner.invoke(app, ["report", "--period", "2021", "--db", str(out.parent / "s.duckdb"), "--out", str(out)])
    assert result.exit_code == 1 and result.output.startswith("Error: No downloads in 2021-01-01..2021-12-31")
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_report_written_again_replaces_its_files_and_leaves_no_staging_folder(written, tmp_path):
    out, _hits, _ = written
    again = tmp_path / "again"
    again.mkdir()
    (again / "notes.txt").write_text("mine")
    (again / "report.md").write_text("an old report")
    result = runner.invoke(app, ["report", "--period", "2020-Q1", "--db", str(out.parent / "s.duckdb"),
                                 "--out", str(again), "--site", "piwheels"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in again.iterdir()) == ["charts", "notes.txt", "report.html", "report.json", "report.md"]
    assert (again / "report.md").read_text() == (out / "report.md").read_text()


def test_a_site_name_the_store_cannot_remember_now_still_names_the_report(tmp_path):
    import subprocess
    import sys

    db = tmp_path / "s.duckdb"
    build_store(db)
    holder = subprocess.Popen(  # another process reads the store: it may be read, not written
        [sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(db)!r}, read_only=True); "
                               "print('held', flush=True); sys.stdin.readline()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        from wheelstats.report import site

        assert site.remembered_site(db, "Example Wheels") == "Example Wheels"
    finally:
        holder.kill()
        holder.wait()
    assert site.remembered_site(db) == "this index"  # it was not remembered
