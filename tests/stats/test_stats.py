"""Every stats query against a plain-Python count over the rows the test inserted."""

from collections import Counter
from datetime import datetime

import pytest

from kit.reports import AGENTS, BUILDS, FILES, build_store, downloads, piwheels_saved, watts
from wheelstats import stats
from wheelstats.period import parse_period
from wheelstats.stats.shares import version_sort_key

Q1 = parse_period("2020-Q1")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("stats") / "s.duckdb"
    hits = build_store(path)
    return stats.open_tables(path), hits


def month(ts: datetime) -> str:
    return ts.strftime("%Y-%m")


def test_totals(store):
    tables, hits = store
    assert stats.downloads_in_period(tables, Q1) == len(downloads(hits, Q1.start_ts, Q1.end_ts))
    assert stats.downloads_all_time(tables, Q1) == len(downloads(hits, None, Q1.end_ts))
    assert stats.downloads_all_time(tables, Q1) < len(downloads(hits, None, datetime(2030, 1, 1)))
    in_q1 = downloads(hits, Q1.start_ts, Q1.end_ts)
    assert stats.unique_clients(tables, Q1) == len({h.client for h in in_q1})


def test_a_single_day_period_includes_its_last_second(store):
    tables, hits = store
    day = parse_period("2020-03-05..2020-03-05")
    expected = [h for h in downloads(hits, day.start_ts, day.end_ts)]
    assert any(h.ts.hour == 23 for h in hits if h.ts.date() == day.start)
    assert stats.downloads_in_period(tables, day) == len(expected)


def test_by_month_with_time_and_energy_saved(store):
    tables, hits = store
    counts, saved, joules = Counter(), Counter(), Counter()
    for hit in downloads(hits, None, Q1.end_ts):
        counts[month(hit.ts)] += 1
        saved[month(hit.ts)] += piwheels_saved(hit.filename)
        joules[month(hit.ts)] += piwheels_saved(hit.filename) * watts(hit.filename)
    result = stats.downloads_by_month(tables, Q1)
    assert [m.month for m in result] == sorted(counts)
    assert {m.month: m.downloads for m in result} == counts
    for m in result:
        assert m.time_saved_seconds == pytest.approx(saved[m.month])
        assert m.energy_kwh == pytest.approx(joules[m.month] / 3.6e6)
    assert all(m.time_saved_seconds > 0 for m in result)


def test_time_saved_in_period_and_all_time(store):
    tables, hits = store
    in_q1 = downloads(hits, Q1.start_ts, Q1.end_ts)
    everything = downloads(hits, None, Q1.end_ts)
    period = stats.time_saved(tables, Q1)
    assert period.seconds == pytest.approx(sum(piwheels_saved(h.filename) for h in in_q1))
    assert period.energy_kwh == pytest.approx(
        sum(piwheels_saved(h.filename) * watts(h.filename) for h in in_q1) / 3.6e6
    )
    all_time = stats.time_saved_all_time(tables, Q1)
    assert all_time.seconds == pytest.approx(sum(piwheels_saved(h.filename) for h in everything))
    plain = stats.time_saved(tables, Q1, "duration")

    def duration(filename):
        _project, abi, _platform, build_id = FILES[filename]
        if abi in (None, "none") or BUILDS[build_id] > 7 * 24 * 3600:
            return 0.0
        return BUILDS[build_id]

    assert plain.seconds == pytest.approx(sum(duration(h.filename) for h in in_q1))


def test_by_day_and_peaks(store):
    tables, hits = store
    in_q1 = downloads(hits, Q1.start_ts, Q1.end_ts)
    per_day = Counter(h.ts.date().isoformat() for h in in_q1)
    result = stats.downloads_by_day(tables, Q1)
    assert [(d.date, d.downloads) for d in result] == sorted(per_day.items())
    all_days = Counter(h.ts.date().isoformat() for h in downloads(hits, None, Q1.end_ts))
    best_day = max(sorted(all_days.items()), key=lambda kv: kv[1])
    assert (stats.peak_day(tables, Q1).date, stats.peak_day(tables, Q1).downloads) == best_day
    assert best_day[0] == "2020-03-05"
    all_months = Counter(month(h.ts) for h in downloads(hits, None, Q1.end_ts))
    peak = stats.peak_month(tables, Q1)
    assert (peak.month, peak.downloads) == max(sorted(all_months.items()), key=lambda kv: kv[1])
    # Up to the end of January, the peak can only be in the past.
    january = parse_period("2020-01")
    assert stats.peak_month(tables, january).month <= "2020-01"


def test_top_projects(store):
    tables, hits = store
    counts = Counter(h.project for h in downloads(hits, Q1.start_ts, Q1.end_ts))
    expected = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    assert [(p.project, p.downloads) for p in stats.top_projects(tables, Q1, 3)] == expected
    by_month = stats.top_projects_by_month(tables, Q1, 2)
    assert list(by_month) == ["2020-01", "2020-02", "2020-03"]
    for key, projects in by_month.items():
        month_counts = Counter(h.project for h in downloads(hits, Q1.start_ts, Q1.end_ts) if month(h.ts) == key)
        assert [(p.project, p.downloads) for p in projects] == sorted(
            month_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:2]
    assert by_month["2020-03"][0].project == "qux"


@pytest.mark.parametrize("dimension, column", [("os", 3), ("distro", 2), ("arch", 4), ("python", 1), ("installer", 0)])
def test_shares(store, dimension, column):
    tables, hits = store
    in_q1 = downloads(hits, Q1.start_ts, Q1.end_ts)
    counts = Counter(
        (AGENTS[h.agent_id][column] if h.agent_id in AGENTS else None) or "unknown" for h in in_q1
    )
    result = stats.shares(tables, Q1, dimension)
    assert {s.name: s.downloads for s in result} == counts
    assert [s.downloads for s in result] == sorted((s.downloads for s in result), reverse=True)
    known = sum(n for name, n in counts.items() if name != "unknown")
    assert counts["unknown"] > 0  # downloads without an agent, or one that does not say
    for share in result:
        if share.name == "unknown":
            assert share.share is None
        else:
            assert share.share == pytest.approx(counts[share.name] / known)
    assert sum(s.share for s in result if s.share is not None) == pytest.approx(1.0)


def test_unknown_dimension():
    with pytest.raises(ValueError, match="Unknown share dimension: 'colour'"):
        stats.shares(None, Q1, "colour")


def test_python_by_month(store):
    tables, hits = store
    since = datetime(2019, 12, 1)
    rows = downloads(hits, since, Q1.end_ts)
    counts = Counter((month(h.ts), (AGENTS[h.agent_id][1] if h.agent_id in AGENTS else None) or "unknown") for h in rows)
    totals = Counter(month(h.ts) for h in rows if h.agent_id in AGENTS and AGENTS[h.agent_id][1])
    result = stats.python_by_month(tables, Q1, months_before=1)
    assert {(r.month, r.python): r.downloads for r in result} == counts
    assert {r.month for r in result} == {"2019-12", "2020-01", "2020-02", "2020-03"}
    for r in result:
        if r.python == "unknown":
            assert r.share is None
        else:
            assert r.share == pytest.approx(counts[(r.month, r.python)] / totals[r.month])
    march = [r.python for r in result if r.month == "2020-03"]
    assert march == sorted(march, key=version_sort_key)
    assert march.index("3.9") < march.index("3.10")


def test_spikes_find_the_spike_and_its_project(store):
    tables, hits = store
    found = stats.spikes(tables, Q1)
    assert [(s.start, s.end, s.peak_date) for s in found] == [("2020-03-04", "2020-03-05", "2020-03-05")]
    spike = found[0]
    per_day = Counter(h.ts.date().isoformat() for h in downloads(hits, None, Q1.end_ts))
    assert spike.peak_downloads == per_day["2020-03-05"]
    days_before = sorted(d for d in per_day if d < "2020-03-05")[-28:]
    assert spike.baseline == pytest.approx(sum(per_day[d] for d in days_before) / 28)
    assert spike.projects[0].project == "qux"
    qux = [h for h in downloads(hits, datetime(2020, 3, 4), datetime(2020, 3, 6)) if h.project == "qux"]
    assert spike.projects[0].downloads == len(qux)
    qux_before = [h for h in downloads(hits, datetime(2020, 2, 5), datetime(2020, 3, 4)) if h.project == "qux"]
    assert spike.projects[0].baseline == pytest.approx(len(qux_before) * 2 / 28)


def test_no_spike_in_a_quiet_period(store):
    tables, _hits = store
    assert stats.spikes(tables, parse_period("2020-02")) == []


def test_display_names_come_from_file_names(store):
    tables, _hits = store
    assert stats.display_names(tables, ["foo-bar", "qux", "unheard-of"]) == {
        "foo-bar": "Foo-Bar", "qux": "qux", "unheard-of": "unheard-of",
    }


def test_download_span(store):
    tables, hits = store
    first, last = stats.download_span(tables)
    assert first.isoformat() == min(h.ts for h in hits if h.kind == "download").date().isoformat()
    assert last.isoformat() == "2020-04-10"
    assert set(FILES)  # the catalogue the joins used


@pytest.mark.parametrize("period", ["2020-Q1", "2020-03-04..2020-03-09", "2019"])
def test_all_shares_equal_each_dimension_alone(store, period):
    tables, _hits = store
    period = parse_period(period)
    together = stats.all_shares(tables, period)
    assert list(together) == list(stats.DIMENSIONS)
    for dimension in stats.DIMENSIONS:
        assert together[dimension] == stats.shares(tables, period, dimension)
