"""Spikes explained, end to end: logs of known sessions made here, `wheelstats ingest`, `wheelstats report`.

Every case has the same everyday traffic (40 installs a day, February and March
2020) and its own spike: an upgrade of a project pulling in its dependencies
(with IPs kept, and with none), the same when the project itself is installed
from elsewhere, one mirror, a CI loop, and no spike at all. The cause, its
shares and the sentence are checked against what the test made.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
import pytest
from typer.testing import CliRunner

from kit.sessions import (
    MIRROR_AGENT, Session, daily_downloads, everyday, pip_agent, wheel, write_log,
)
from wheelstats.cli import app

runner = CliRunner()
SPIKE_DAYS = (date(2020, 3, 5), date(2020, 3, 6))
DEPENDENCIES = ("flask-login", "markdown", "semantic-version")
UPGRADE = "octoapp"
SESSIONS_A_DAY = 30
SKIPS_LOOKUP = 10  # every 10th upgrade session starts with its first dependency
LOOKUP_AGENTS = (pip_agent("2.7.13"), pip_agent("2.7.9"), pip_agent("3.7.6"))
NO_LOOKUP_AGENT = pip_agent("3.6.9")
LASTING = 5  # upgrade sessions a day after the spike


def upgrade_sessions(day: date, count: int, *, served: bool, lasting: bool = False) -> list[Session]:
    """`count` upgrades of octoapp on `day`, 11 minutes apart, each its own client (octoapp downloaded here if
    `served`); every 10th session installs the dependencies alone (with an agent of its own)."""
    sessions = []
    for n in range(count):
        start = datetime.combine(day, datetime.min.time()) + timedelta(minutes=11 * n, seconds=30)
        looks_up = n % SKIPS_LOOKUP != SKIPS_LOOKUP - 1
        agent = LOOKUP_AGENTS[n % len(LOOKUP_AGENTS)] if looks_up else NO_LOOKUP_AGENT
        packages = ((UPGRADE,) if served and looks_up else ()) + DEPENDENCIES
        client = f"10.{3 if lasting else 2}.{day.toordinal() % 250}.{n}"
        sessions.append(Session(client, agent, start, UPGRADE if looks_up else None, packages))
    return sessions


def spike_sessions(*, served: bool) -> list[Session]:
    sessions = [s for day in SPIKE_DAYS for s in upgrade_sessions(day, SESSIONS_A_DAY, served=served)]
    day = SPIKE_DAYS[-1] + timedelta(days=1)
    while day <= date(2020, 3, 31):
        sessions += upgrade_sessions(day, LASTING, served=served, lasting=True)
        day += timedelta(days=1)
    return sessions


def mirror_downloads() -> list[tuple]:
    start = datetime(2020, 3, 5, 2, 0, 0)
    return [(start + timedelta(seconds=i), "10.99.0.1", MIRROR_AGENT, f"/simple/mirrored-{i}/{wheel(f'mirrored-{i}')}")
            for i in range(200)]


def ci_downloads() -> list[tuple]:
    agent = pip_agent("3.8.2", ci=True)
    return [(datetime.combine(day, datetime.min.time()) + timedelta(minutes=5 * i, seconds=3), f"10.50.0.{i % 20}",
             agent, f"/simple/cicheck/{wheel('cicheck')}") for day in SPIKE_DAYS for i in range(150)]


CASES = {
    "upgrade": (lambda: everyday() + spike_sessions(served=True), list, "hash"),
    "upgrade-no-ips": (lambda: everyday() + spike_sessions(served=True), list, "none"),
    "not-served": (lambda: everyday() + spike_sessions(served=False), list, "hash"),
    "mirror": (everyday, mirror_downloads, "hash"),
    "ci": (everyday, ci_downloads, "hash"),
    "no-spike": (everyday, list, "hash"),
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, tuple[dict, str, list[Session], list]]:
    """Each case ingested into its own store and reported on: (report.json, report.md, sessions, extra)."""
    results = {}
    for name, (make_sessions, make_extra, ip) in CASES.items():
        folder = tmp_path_factory.mktemp(name)
        sessions, extra = make_sessions(), make_extra()
        log = write_log(folder / "access.log", sessions, extra)
        db, out = folder / "s.duckdb", folder / "report"
        result = runner.invoke(app, ["ingest", str(log), "--db", str(db), "--ip", ip])
        assert result.exit_code == 0, result.output
        result = runner.invoke(app, ["report", "--period", "2020-Q1", "--db", str(db), "--out", str(out)])
        assert result.exit_code == 0, result.output
        results[name] = (json.loads((out / "report.json").read_text()), (out / "report.md").read_text(),
                         sessions, extra)
    return results


def only_spike(report: dict) -> dict:
    assert len(report["spikes"]) == 1, report["spikes"]
    return report["spikes"][0]


def excess(daily: dict[date, int], days: list[date]) -> float:
    """The spike's downloads above the mean of each day's 28 days before (as the report counts it)."""
    total = 0.0
    for day in days:
        before = [daily[day - timedelta(days=i)] for i in range(1, 29) if day - timedelta(days=i) in daily]
        total += daily[day] - sum(before) / len(before)
    return total


def test_an_upgrade_is_named_from_the_lookups_that_open_its_sessions(reports):
    report, text, sessions, _ = reports["upgrade"]
    spike = only_spike(report)
    assert (spike["start"], spike["end"]) == ("2020-03-05", "2020-03-06")
    behind = [s for s in sessions if s.start.date() in SPIKE_DAYS and s.packages[-1] == DEPENDENCIES[-1]]
    looked_up = [s for s in behind if s.asks == UPGRADE]
    assert len(behind) == 60 and len(looked_up) == 54
    cause = spike["cause"]
    assert cause["kind"] == "project" and cause["project"] == UPGRADE and cause["evidence"] == "lookups"
    assert cause["clients"] == len({s.client for s in behind}) == 60
    assert cause["share_of_clients"] == pytest.approx(54 / 60)
    assert cause["clients_are"] == "client" and cause["downloads_here"] == 54
    assert [(o["project"], o["clients"]) for o in cause["openers"]] == [(UPGRADE, 54), (DEPENDENCIES[0], 6)]
    assert "This was an upgrade of octoapp: 90% of the 60 clients behind it looked up octoapp first." in text
    assert "installed from elsewhere" not in text


def test_without_ips_the_agents_stand_for_the_clients(reports):
    report, text, _, _ = reports["upgrade-no-ips"]
    cause = only_spike(report)["cause"]
    # Three agents looked octoapp up first; the sessions of a fourth never did.
    assert cause["kind"] == "project" and cause["project"] == UPGRADE
    assert cause["clients_are"] == "agent" and cause["clients"] == 4
    assert cause["share_of_clients"] == pytest.approx(3 / 4)
    assert ("This was an upgrade of octoapp: 75% of the 4 clients behind it (told apart by their agents: the store "
            "keeps no IPs) looked up octoapp first.") in text


def test_a_cause_installed_from_elsewhere_is_named_from_its_lookups(reports):
    report, text, _, _ = reports["not-served"]
    spike = only_spike(report)
    assert {p["project"] for p in spike["projects"]} == set(DEPENDENCIES)
    cause = spike["cause"]
    assert (cause["project"], cause["clients"], cause["downloads_here"]) == (UPGRADE, 60, 0)
    assert cause["share_of_clients"] == pytest.approx(0.9)
    assert ("This was an upgrade of octoapp: 90% of the 60 clients behind it looked up octoapp first. "
            "octoapp itself was installed from elsewhere: none of its files was downloaded here.") in text


def test_what_the_upgrade_left_behind(reports):
    report, text, sessions, _ = reports["upgrade"]
    after = only_spike(report)["after"]
    daily = daily_downloads(sessions)
    before = [daily[date(2020, 3, 5) - timedelta(days=i)] for i in range(1, 29)]
    following = [daily[date(2020, 3, 6) + timedelta(days=i)] for i in range(1, 15)]
    assert after["before_daily"] == pytest.approx(sum(before) / 28) == pytest.approx(40)
    assert after["after_daily"] == pytest.approx(sum(following) / 14) == pytest.approx(40 + LASTING * 4)
    assert after["days"] == 14 and after["settled_after"] == 2
    assert ("The next 2 days dropped steadily, but left regular daily downloads around 60 in the two weeks after "
            "it, which is 20 greater than usual (40 a day in the four weeks before).") in text


def test_the_python_whose_share_the_universal_wheels_moved(reports):
    report, text, _, _ = reports["not-served"]
    effect = only_spike(report)["python_effect"]
    # Before: everyday installs, a third each from Python 3.7, 3.5 and 2.7 (14, 13 and 13 of each day's 40).
    # In the spike's days, 2 of 3 upgrade sessions that looked octoapp up came from Python 2.7.
    everyday_27 = 13 * 2
    upgrade_27 = 3 * (18 + 18)  # 3 downloads each; n % 3 in (0, 1) of the 27 lookup sessions a day: 18
    assert effect["python"] == "2.7"
    assert effect["share_before"] == pytest.approx(13 / 40)
    assert effect["share_during"] == pytest.approx((everyday_27 + upgrade_27) / (80 + 180))
    assert effect["share_in_spike"] == pytest.approx(upgrade_27 / 180)
    assert effect["universal"] == 1.0
    assert ("Python 2.7's share of downloads rose from 32.5% in the four weeks before the spike of 5 March — "
            "6 March to 51.5% in its days. This is down to the octoapp upgrade: its packages are universal wheels "
            "(py2.py3, ABI none), so they work with Python 2 and 3, and 60.0% of their downloads came from "
            "Python 2.7.") in text


def test_one_client_is_no_single_cause(reports):
    report, text, sessions, extra = reports["mirror"]
    spike = only_spike(report)
    assert (spike["start"], spike["end"]) == ("2020-03-05", "2020-03-05")
    cause = spike["cause"]
    assert cause["kind"] == "one client" and cause["project"] is None
    assert cause["share_of_downloads"] == pytest.approx(200 / 240)
    assert "No single project caused it: 83% of its downloads came from one client." in text


def test_a_ci_loop_is_a_ci_system(reports):
    report, text, sessions, extra = reports["ci"]
    spike = only_spike(report)
    assert (spike["start"], spike["end"]) == ("2020-03-05", "2020-03-06")
    cause = spike["cause"]
    daily = daily_downloads(sessions, extra)
    assert cause["kind"] == "ci"
    assert cause["share_of_downloads"] == pytest.approx(300 / 380)
    assert spike["excess"] == pytest.approx(excess(daily, list(SPIKE_DAYS)))
    assert cause["share_of_excess"] == pytest.approx(min(300 / spike["excess"], 1.0))
    assert ("A CI system made it: agents that say they run in CI made 100% of its downloads above normal "
            "(79% of those days' downloads).") in text


def test_no_spike_no_story(reports):
    report, text, _, _ = reports["no-spike"]
    assert report["spikes"] == []
    assert "spiked" not in text and "upgrade" not in text and "cause" not in text


def test_the_session_gap_is_an_option(tmp_path):
    # Each upgrade's lookup of octoapp comes 15 minutes before its dependencies (a slow Pi resolving): with the
    # default gap of 10 minutes the dependencies open sessions of their own; with 20, octoapp opens them.
    pause = timedelta(minutes=15)
    sessions = []
    for session in spike_sessions(served=False):
        if session.asks is None:
            sessions.append(session)
            continue
        sessions += [Session(session.client, session.agent, session.start, UPGRADE, ()),
                     Session(session.client, session.agent, session.start + pause, None, session.packages)]
    log = write_log(tmp_path / "access.log", everyday() + sessions)
    db = tmp_path / "s.duckdb"
    assert runner.invoke(app, ["ingest", str(log), "--db", str(db)]).exit_code == 0

    def cause_with(*gap: str) -> dict:
        out = tmp_path / f"r{'-'.join(gap)}"
        result = runner.invoke(app, ["report", "--period", "2020-03", "--db", str(db), "--out", str(out), *gap])
        assert result.exit_code == 0, result.output
        return json.loads((out / "report.json").read_text())["spikes"][0]["cause"]

    split = cause_with()
    assert (split["session_gap_minutes"], split["project"], split["clients"]) == (10, DEPENDENCIES[0], 60)
    assert split["share_of_clients"] == 1.0
    joined = cause_with("--session-gap", "20")
    assert (joined["session_gap_minutes"], joined["project"], joined["clients"]) == (20, UPGRADE, 60)
    assert joined["share_of_clients"] == pytest.approx(54 / 60)
    refused = runner.invoke(app, ["report", "--period", "2020-03", "--db", str(db), "--out", str(tmp_path / "r"),
                                  "--session-gap", "0"])
    assert refused.exit_code == 2 and "--session-gap" in refused.output


# The builder's table of Requires-Dist (wheelstats.builder records it as it builds); made here where the store's
# schema does not have it yet, as the builder's migration makes it.
REQUIREMENTS_TABLE = """CREATE TABLE IF NOT EXISTS file_requirements (
    filename VARCHAR NOT NULL, requirement VARCHAR NOT NULL, project VARCHAR NOT NULL, marker VARCHAR,
    PRIMARY KEY (filename, requirement))"""


def report_with_requirements(folder, sessions, requirements: list[tuple[str, str, str | None]]) -> tuple[dict, str]:
    """The sessions ingested, octoapp's wheel recorded as requiring `requirements` (project, requirement,
    marker), and the report of 2020-Q1: (report.json, report.md)."""
    from wheelstats import store

    log = write_log(folder / "access.log", sessions)
    db, out = folder / "s.duckdb", folder / "report"
    result = runner.invoke(app, ["ingest", str(log), "--db", str(db)])
    assert result.exit_code == 0, result.output
    con = store.connect(db)
    try:
        assert con.execute("SELECT project FROM files WHERE filename = ?", [wheel(UPGRADE)]).fetchall() == [(UPGRADE,)]
        con.execute(REQUIREMENTS_TABLE)
        con.executemany("INSERT INTO file_requirements VALUES (?, ?, ?, ?)",
                        [(wheel(UPGRADE), requirement, project, marker) for project, requirement, marker in requirements])
    finally:
        con.close()
    result = runner.invoke(app, ["report", "--period", "2020-Q1", "--db", str(db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads((out / "report.json").read_text()), (out / "report.md").read_text()


def test_dependencies_recorded_confirm_the_cause(tmp_path):
    requirements = [("flask-login", "Flask-Login>=0.4", None), ("markdown", "Markdown", None),
                    ("semantic-version", "semantic_version; extra == 'plugins'", "extra == 'plugins'"),
                    ("pyyaml", "PyYAML", None)]
    report, text = report_with_requirements(tmp_path, everyday() + spike_sessions(served=True), requirements)
    cause = only_spike(report)["cause"]
    # semantic-version is required only by an extra: pip does not install it for octoapp, so it does not count.
    assert (cause["project"], cause["evidence"]) == (UPGRADE, "both")
    assert cause["dependencies_in_spike"] == ["flask-login", "markdown"]
    assert cause["dependencies_from"] == "Requires-Dist"
    assert cause["share_of_clients"] == pytest.approx(54 / 60)
    names = {p["project"]: p["name"] for p in only_spike(report)["projects"]}
    assert (f"This was an upgrade of octoapp: 90% of the 60 clients behind it looked up octoapp first, and "
            f"{names['flask-login']} and {names['markdown']} are among its dependencies. Its dependencies are as its "
            "wheel's Requires-Dist records them.") in text


def test_dependencies_alone_name_a_cause_the_lookups_do_not(tmp_path):
    # Only every third upgrade session looks octoapp up first; the others start with markdown or with
    # semantic-version: no project opens the sessions of half the clients.
    def starting_elsewhere(n: int, session: Session) -> Session:
        if n % 3 == 0:
            return session
        first = DEPENDENCIES[n % 3]
        return Session(session.client, session.agent, session.start, None,
                       (first, *(p for p in DEPENDENCIES if p != first)))

    sessions = [starting_elsewhere(n, s) for n, s in enumerate(spike_sessions(served=True))]
    requirements = [(project, project, None) for project in DEPENDENCIES]
    report, text = report_with_requirements(tmp_path, everyday() + sessions, requirements)
    cause = only_spike(report)["cause"]
    assert (cause["project"], cause["evidence"]) == (UPGRADE, "dependencies")
    assert cause["dependencies_in_spike"] == sorted(DEPENDENCIES, key=list(DEPENDENCIES).index)
    # A third of the sessions were octoapp's, less every 10th (which starts with a dependency): 18 of 60 clients.
    assert cause["share_of_clients"] == pytest.approx(18 / 60)
    assert [(o["project"], o["clients"]) for o in cause["openers"]] == [
        ("markdown", 20), ("semantic-version", 20), (UPGRADE, 18)]
    assert ("This was likely an upgrade of octoapp: flask-login, markdown and semantic-version are all its "
            "dependencies, though only 30% of the 60 clients behind it looked up octoapp first. Its dependencies are "
            "as its wheel's Requires-Dist records them.") in text
    assert ("*† flask-login, markdown and semantic-version are all dependencies of the octoapp upgrade which caused "
            "the spike of 5 March — 6 March.*") in text
