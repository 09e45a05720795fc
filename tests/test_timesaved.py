"""Time-saved methods: the expected figures per case, and the SQL and Ibis renderings agreeing on every method."""

import subprocess
import sys
import textwrap

import duckdb
import ibis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wheelstats.rollups.saved import seconds_sql, watts_sql
from wheelstats.stats.savings import saved_seconds, watts
from wheelstats.timesaved import (
    DEFAULT_METHOD, METHODS, TimeSavedMethod, UnknownTimeSavedMethod, default_method_for, get_method, joules_to_kwh,
)

# (duration_s, platform_tag, abi_tag) -> (piwheels seconds, duration seconds, native seconds)
CASES = [
    ((106.7, "linux_armv7l", "cp37m"), (100.0, 106.7, 105.7)),
    ((56.7, "linux_armv6l", "cp27mu"), (300.0, 56.7, 334.2)),
    ((3.0, "linux_armv7l", "cp37m"), (0.0, 3.0, 2.0)),                  # shorter than piwheels' overhead
    ((500.0, "manylinux_2_17_x86_64", "cp310"), (0.0, 500.0, 499.0)),  # not a Pi platform
    ((12.5, "linux_x86_64", "cp311"), (0.0, 12.5, 11.5)),              # wheelstats' builder on x86_64
    ((0.8, "linux_x86_64", "cp311"), (0.0, 0.8, 0.0)),                 # shorter than the builder's overhead
    ((500.0, "any", "none"), (0.0, 0.0, 0.0)),                         # pure wheel
    ((604_800.0, "linux_armv7l", "cp37m"), (604_793.3, 604_800.0, 604_799.0)),  # exactly a week still counts
    ((604_801.0, "linux_armv7l", "cp37m"), (0.0, 0.0, 0.0)),           # over a week: a clock error
    ((None, "linux_armv7l", "cp37m"), (0.0, 0.0, 0.0)),                # unknown build
    ((-5.0, "linux_armv6l", "cp37m"), (0.0, 0.0, 0.0)),
    ((100.0, None, None), (0.0, 0.0, 0.0)),                            # file not in the catalogue
]
INPUTS = [case[0] for case in CASES]


def rows(inputs=INPUTS):
    return ibis.memtable(
        {
            "case": list(range(len(inputs))),
            "duration_s": [c[0] for c in inputs],
            "platform_tag": [c[1] for c in inputs],
            "abi_tag": [c[2] for c in inputs],
        },
        schema={"case": "int64", "duration_s": "float64", "platform_tag": "string", "abi_tag": "string"},
    )


def by_ibis(method: TimeSavedMethod, inputs=INPUTS) -> tuple[list[float], list[float]]:
    table = rows(inputs)
    result = table.select("case", saved=saved_seconds(method, table), w=watts(method, table)).order_by("case").to_pyarrow()
    return result["saved"].to_pylist(), result["w"].to_pylist()


def by_sql(method: TimeSavedMethod, inputs=INPUTS) -> tuple[list[float], list[float]]:
    con = duckdb.connect()
    con.execute("CREATE TABLE cases (n BIGINT, duration_s DOUBLE, platform_tag VARCHAR, abi_tag VARCHAR)")
    con.executemany("INSERT INTO cases VALUES (?, ?, ?, ?)", [(n, *case) for n, case in enumerate(inputs)])
    result = con.execute(f"""SELECT {seconds_sql(method, 'duration_s', 'platform_tag', 'abi_tag')},
        {watts_sql(method, 'platform_tag')} FROM cases ORDER BY n""").fetchall()
    con.close()
    return [r[0] for r in result], [r[1] for r in result]


@pytest.mark.parametrize(("method", "position"), [("piwheels", 0), ("duration", 1), ("native", 2)])
def test_methods_per_download(method, position):
    saved, _ = by_ibis(get_method(method))
    assert saved == pytest.approx([c[1][position] for c in CASES])


@pytest.mark.parametrize("method", sorted(METHODS))
def test_the_sql_and_ibis_renderings_agree_on_every_method(method):
    ibis_saved, ibis_watts = by_ibis(METHODS[method])
    sql_saved, sql_watts = by_sql(METHODS[method])
    assert sql_saved == pytest.approx(ibis_saved, rel=1e-12, abs=1e-9)
    assert sql_watts == pytest.approx(ibis_watts, rel=1e-12)


PLATFORMS = ["linux_armv7l", "linux_armv6l", "linux_aarch64", "win_amd64", "any", "it's quoted"]
methods = st.builds(
    TimeSavedMethod,
    name=st.just("generated"), version=st.just(1), description=st.just("a method made by the test"),
    overhead_s=st.floats(0, 100), cap_s=st.floats(0, 1e6),
    platform_factors=st.dictionaries(st.sampled_from(PLATFORMS), st.floats(0, 10), max_size=4),
    other_platforms_factor=st.floats(0, 10), pure_factor=st.floats(0, 2),
    watts_by_platform=st.dictionaries(st.sampled_from(PLATFORMS), st.floats(0, 20), max_size=3),
)
cases = st.lists(st.tuples(
    st.one_of(st.none(), st.floats(-10, 2e6)),
    st.one_of(st.none(), st.sampled_from(PLATFORMS)),
    st.one_of(st.none(), st.sampled_from(["none", "cp37m", "abi3"])),
), min_size=1, max_size=12)


@settings(max_examples=40, deadline=None)
@given(method=methods, inputs=cases)
def test_the_renderings_agree_on_any_method_data(method, inputs):
    """A later method (other builders, other platforms) needs only data: both renderings follow it."""
    ibis_saved, ibis_watts = by_ibis(method, inputs)
    sql_saved, sql_watts = by_sql(method, inputs)
    assert sql_saved == pytest.approx(ibis_saved, rel=1e-12, abs=1e-9)
    assert sql_watts == pytest.approx(ibis_watts, rel=1e-12)


def test_a_duration_method_counts_any_platform_once():
    duration = get_method("duration")
    assert dict(duration.platform_factors) == {} and duration.other_platforms_factor == 1.0
    with pytest.raises(TypeError):
        duration.platform_factors["linux_armv7l"] = 2.0  # method data is read-only


def test_default_is_piwheels_and_methods_are_named():
    assert DEFAULT_METHOD == "piwheels"
    assert set(METHODS) == {"piwheels", "native", "duration"}
    assert all(name == method.name for name, method in METHODS.items())


def test_the_default_method_follows_the_platforms_of_the_store_s_builds():
    assert default_method_for([]) == "piwheels"  # no builds: piwheels' method, as before the builder
    assert default_method_for(["linux_armv7l", "linux_armv6l"]) == "piwheels"
    assert default_method_for(["linux_armv7l", "linux_x86_64"]) == "native"
    assert default_method_for(["linux_aarch64"]) == "native"


def test_each_method_states_its_multipliers():
    assert get_method("piwheels").describe_factors() == (
        "x1 on linux_armv7l, x6 on linux_armv6l, x0 on other platforms, x0 for pure wheels")
    assert get_method("native").describe_factors() == "x6 on linux_armv6l, x1 on other platforms, x0 for pure wheels"
    assert get_method("duration").describe_factors() == "x1 on every platform, x0 for pure wheels"
    assert get_method("native").factors() == {"platforms": {"linux_armv6l": 6.0}, "other_platforms": 1.0,
                                              "pure_wheels": 0.0, "overhead_s": 1.0, "cap_s": 604_800}


def test_unknown_method_names_the_choices():
    with pytest.raises(UnknownTimeSavedMethod) as error:
        get_method("fastest")
    assert str(error.value) == "Unknown time-saved method: 'fastest'. Choose one of: duration, native, piwheels."


def test_energy_watts_by_platform():
    for method in METHODS.values():
        result = by_ibis(method)[1]
        expected = [{"linux_armv7l": 1.1, "linux_armv6l": 0.4}.get(c[0][1], 0.0) for c in CASES]
        assert result == pytest.approx(expected)
    # 1 kWh is 3.6 MJ: an armv7 Pi saving an hour of building saves 1.1 Wh.
    assert joules_to_kwh(3600 * 1.1) == pytest.approx(0.0011)


def test_ingesting_and_refreshing_the_rollups_never_loads_ibis(tmp_path):
    """Every ingest that stores downloads refreshes the rollups, time saved included: that path is plain SQL."""
    log = tmp_path / "access.log"
    log.write_text('10.0.0.1 - - [01/Mar/2020:10:00:00 +0000] "GET /simple/alpha/alpha-1.0-cp37-cp37m-linux_armv7l.whl '
                   'HTTP/1.1" 200 10 "-" "pip/20.0"\n')
    script = textwrap.dedent(f"""
        import sys
        from wheelstats import store
        from wheelstats.ingest import ingest_paths
        from wheelstats.rollups import queries, refresh_rollups
        from wheelstats.rollups.filters import Filters
        con = store.connect({str(tmp_path / 's.duckdb')!r})
        con.execute("INSERT INTO builds (build_id, project, version, abi_tag, duration_s, status) "
                    "VALUES (1, 'alpha', '1.0', 'cp37m', 106.7, true)")
        ingest_paths(con, [{str(log)!r}], ip_mode="none")
        con.execute("UPDATE files SET build_id = 1")
        refresh_rollups(con)
        print(queries.time_saved(con, None, Filters()).seconds, "ibis" in sys.modules)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    seconds, ibis_loaded = result.stdout.split()
    assert float(seconds) == pytest.approx(100.0)
    assert ibis_loaded == "False"
