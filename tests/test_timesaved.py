import ibis
import pytest

from wheelstats.timesaved import (
    DEFAULT_METHOD, METHODS, UnknownTimeSavedMethod, get_method, joules_to_kwh, watts,
)

# (duration_s, platform_tag, abi_tag) -> (piwheels seconds, duration seconds)
CASES = [
    ((106.7, "linux_armv7l", "cp37m"), (100.0, 106.7)),
    ((56.7, "linux_armv6l", "cp27mu"), (300.0, 56.7)),
    ((3.0, "linux_armv7l", "cp37m"), (0.0, 3.0)),                  # shorter than the overhead
    ((500.0, "manylinux_2_17_x86_64", "cp310"), (0.0, 500.0)),    # not a Pi platform
    ((500.0, "any", "none"), (0.0, 0.0)),                         # pure wheel
    ((604_800.0, "linux_armv7l", "cp37m"), (604_793.3, 604_800.0)),  # exactly a week still counts
    ((604_801.0, "linux_armv7l", "cp37m"), (0.0, 0.0)),           # over a week: a clock error
    ((None, "linux_armv7l", "cp37m"), (0.0, 0.0)),                # unknown build
    ((-5.0, "linux_armv6l", "cp37m"), (0.0, 0.0)),
    ((100.0, None, None), (0.0, 0.0)),                            # file not in the catalogue
]


def rows():
    return ibis.memtable(
        {
            "case": list(range(len(CASES))),
            "duration_s": [c[0][0] for c in CASES],
            "platform_tag": [c[0][1] for c in CASES],
            "abi_tag": [c[0][2] for c in CASES],
        },
        schema={"case": "int64", "duration_s": "float64", "platform_tag": "string", "abi_tag": "string"},
    )


@pytest.mark.parametrize(("method", "position"), [("piwheels", 0), ("duration", 1)])
def test_methods_per_download(method, position):
    table = rows()
    result = table.select("case", saved=get_method(method).seconds(table)).order_by("case").to_pyarrow()
    assert result["saved"].to_pylist() == pytest.approx([c[1][position] for c in CASES])


def test_default_is_piwheels_and_methods_are_named():
    assert DEFAULT_METHOD == "piwheels"
    assert set(METHODS) == {"piwheels", "duration"}
    assert all(name == method.name for name, method in METHODS.items())


def test_unknown_method_names_the_choices():
    with pytest.raises(UnknownTimeSavedMethod) as error:
        get_method("fastest")
    assert str(error.value) == "Unknown time-saved method: 'fastest'. Choose one of: duration, piwheels."


def test_energy_watts_by_platform():
    table = rows()
    result = table.select("case", w=watts(table)).order_by("case").to_pyarrow()["w"].to_pylist()
    expected = [{"linux_armv7l": 1.1, "linux_armv6l": 0.4}.get(c[0][1], 0.0) for c in CASES]
    assert result == pytest.approx(expected)
    # 1 kWh is 3.6 MJ: an armv7 Pi saving an hour of building saves 1.1 Wh.
    assert joules_to_kwh(3600 * 1.1) == pytest.approx(0.0011)
