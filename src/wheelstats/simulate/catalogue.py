"""A synthetic piwheels catalogue: projects, versions, builds and files, as arrays.

Compiled projects have one build per (version, ABI) for cp27mu, cp35m and cp37m, each
producing a ``linux_armv6l`` and a ``linux_armv7l`` wheel (piwheels builds on armv7l
and publishes the same wheel under both tags); pure projects have one build per
version producing a ``py2.py3-none-any`` or ``py3-none-any`` wheel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from packaging.utils import canonicalize_name

from wheelstats.simulate.names import tail_names

COMPILED, UNIVERSAL, PY3 = 0, 1, 2
ABIS = (("cp27", "cp27mu"), ("cp35", "cp35m"), ("cp37", "cp37m"))
PYTHON_OF_ABI = ("2.7", "3.5", "3.7")
PLATFORMS = ("linux_armv6l", "linux_armv7l")
FIRST_BUILD_DAY = (date(2017, 8, 20) - date(1970, 1, 1)).days
NEVER = 10**6  # a release day after every simulated day


@dataclass(frozen=True, slots=True)
class KnownProject:
    """A project whose name, kind, versions and build time are fixed by the scenario."""

    name: str
    kind: int
    versions: tuple[tuple[str, str], ...]  # (version, released ISO date)
    build_seconds: float
    wheel_kib: int


KNOWN = (
    KnownProject("pycparser", UNIVERSAL, (("2.18", "2017-07-04"), ("2.19", "2018-09-19"), ("2.20", "2020-03-04")), 12, 110),
    KnownProject("Flask-Login", UNIVERSAL, (("0.4.0", "2016-10-26"), ("0.4.1", "2017-12-02"), ("0.5.0", "2020-02-09")), 9, 16),
    KnownProject("numpy", COMPILED, (("1.13.3", "2017-09-29"), ("1.14.5", "2018-06-12"), ("1.15.4", "2018-11-04"), ("1.16.2", "2019-02-26"), ("1.16.5", "2019-08-27"), ("1.17.4", "2019-11-10"), ("1.18.1", "2020-01-06")), 2300, 10200),
    KnownProject("zope.component", UNIVERSAL, (("4.4.1", "2017-09-26"), ("4.5", "2018-10-10"), ("4.6", "2019-11-12")), 14, 68),
    KnownProject("PyYAML", COMPILED, (("3.12", "2016-08-28"), ("3.13", "2018-07-05"), ("5.1", "2019-03-13"), ("5.1.2", "2019-07-30"), ("5.2", "2019-12-02"), ("5.3", "2020-01-06")), 95, 420),
    KnownProject("cffi", COMPILED, (("1.11.2", "2017-10-11"), ("1.11.5", "2018-02-27"), ("1.12.3", "2019-04-22"), ("1.13.2", "2019-11-12"), ("1.14.0", "2020-02-12")), 160, 330),
    KnownProject("opencv-python", COMPILED, (("3.4.2.17", "2018-07-06"), ("3.4.4.19", "2018-11-21"), ("3.4.6.27", "2019-04-10"), ("4.1.0.25", "2019-05-05"), ("4.1.1.26", "2019-09-04")), 16500, 11800),
    KnownProject("Markdown", UNIVERSAL, (("2.6.9", "2017-08-17"), ("3.1.1", "2019-05-20"), ("3.2.1", "2020-02-12")), 11, 88),
    KnownProject("sentry-sdk", UNIVERSAL, (("0.10.2", "2019-07-15"), ("0.13.5", "2019-12-04"), ("0.14.2", "2020-02-22")), 10, 98),
    KnownProject("semantic-version", UNIVERSAL, (("2.6.0", "2016-09-25"), ("2.8.2", "2019-09-06"), ("2.8.4", "2020-01-14")), 8, 14),
)
SPIKE_PROJECTS = ("Flask-Login", "Markdown", "sentry-sdk", "semantic-version")


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Projects (index p), versions (p, v), builds (index b) and files (index f)."""

    names: tuple[str, ...]
    canonical: tuple[str, ...]
    kind: np.ndarray  # [P] COMPILED / UNIVERSAL / PY3
    versions: tuple[tuple[str, ...], ...]
    release_day: np.ndarray  # [P, Vmax] days since 1970-01-01, NEVER where no version
    n_versions: np.ndarray  # [P]
    file_index: np.ndarray  # [P, Vmax, 3, 2]: file id by (abi, platform); pure at [p, v, 0, 0]
    file_name: tuple[str, ...]
    file_project: np.ndarray
    file_build: np.ndarray
    file_size: np.ndarray
    file_hash: tuple[str, ...]
    file_tags: tuple[tuple[str, str, str], ...]  # (python, abi, platform)
    build_project: np.ndarray
    build_version: np.ndarray
    build_abi: tuple[str, ...]
    build_day: np.ndarray  # day the build ran
    build_second: np.ndarray  # second of that day
    build_ok: np.ndarray  # bool
    build_base_ds: np.ndarray  # a plausible duration in deciseconds, before tuning
    build_tunable: np.ndarray  # bool: its duration may be scaled to meet a time-saved target

    def project_of(self, name: str) -> int:
        return self.canonical.index(canonicalize_name(name))

    @property
    def project_count(self) -> int:
        return len(self.names)


def _day(iso: str) -> int:
    return (date.fromisoformat(iso) - date(1970, 1, 1)).days


def build_catalogue(tail_count: int, rng: np.random.Generator) -> Catalogue:
    """The known projects followed by ``tail_count`` real-looking ones."""
    known_names = [k.name for k in KNOWN]
    names = known_names + tail_names(tail_count, rng, set(known_names))
    kinds, versions, releases, build_seconds, wheel_kib = [], [], [], [], []
    for known in KNOWN:
        kinds.append(known.kind)
        versions.append(tuple(v for v, _ in known.versions))
        releases.append([_day(d) for _, d in known.versions])
        build_seconds.append(known.build_seconds)
        wheel_kib.append(known.wheel_kib)
    start, end = _day("2014-06-01"), _day("2020-03-25")
    for _ in names[len(KNOWN):]:
        kind = int(rng.choice(3, p=(0.4, 0.35, 0.25)))
        count = int(min(rng.geometric(0.35), 8))
        major = int(rng.integers(0, 4))
        minor = int(rng.integers(0, 10))
        vers = []
        for _i in range(count):
            patch = int(rng.integers(0, 6))
            vers.append(f"{major}.{minor}.{patch}")
            minor += int(rng.integers(1, 3))
        kinds.append(kind)
        versions.append(tuple(vers))
        releases.append(sorted(int(d) for d in rng.integers(start, end, size=count)))
        build_seconds.append(float(np.exp(rng.uniform(np.log(20), np.log(7200)))) if kind == COMPILED
                             else float(rng.uniform(2, 60)))
        wheel_kib.append(int(np.exp(rng.uniform(np.log(60), np.log(4000)))) if kind == COMPILED
                         else int(np.exp(rng.uniform(np.log(8), np.log(600)))))
    project_count, vmax = len(names), max(len(v) for v in versions)
    release_day = np.full((project_count, vmax), NEVER, dtype=np.int64)
    file_index = np.full((project_count, vmax, 3, 2), -1, dtype=np.int64)
    file_name, file_project, file_build, file_size, file_hash, file_tags = [], [], [], [], [], []
    b_project, b_version, b_abi, b_day, b_second, b_ok, b_base, b_tunable = [], [], [], [], [], [], [], []

    def add_build(p: int, v: int, abi: str, day: int, ok: bool, seconds: float, tunable: bool) -> int:
        b_project.append(p), b_version.append(v), b_abi.append(abi), b_day.append(day)
        b_second.append(int(rng.integers(0, 86400))), b_ok.append(ok)
        b_base.append(max(int(round(seconds * 10)), 1)), b_tunable.append(tunable)
        return len(b_project) - 1

    def add_file(p: int, b: int, name: str, tags: tuple[str, str, str], kib: float) -> int:
        file_name.append(name), file_project.append(p), file_build.append(b)
        file_size.append(int(kib * 1024 * rng.uniform(0.85, 1.15))), file_tags.append(tags)
        file_hash.append(rng.bytes(32).hex())
        return len(file_name) - 1

    for p, name in enumerate(names):
        wheel = name.replace("-", "_")
        for v, (version, released) in enumerate(zip(versions[p], releases[p])):
            release_day[p, v] = released
            day = max(released, FIRST_BUILD_DAY) + int(rng.integers(0, 2))
            if kinds[p] == COMPILED:
                for a, (py_tag, abi) in enumerate(ABIS):
                    seconds = build_seconds[p] * rng.uniform(0.7, 1.3) * (1.15 if a == 0 else 1.0)
                    b = add_build(p, v, abi, day, True, seconds, seconds > 60)
                    for k, platform in enumerate(PLATFORMS):
                        filename = f"{wheel}-{version}-{py_tag}-{abi}-{platform}.whl"
                        file_index[p, v, a, k] = add_file(p, b, filename, (py_tag, abi, platform), wheel_kib[p])
                if rng.random() < 0.15:
                    add_build(p, v, "cp34m", day, False, float(rng.uniform(5, 300)), False)
            else:
                py_tag = "py2.py3" if kinds[p] == UNIVERSAL else "py3"
                b = add_build(p, v, "cp35m", day, True, build_seconds[p] * rng.uniform(0.7, 1.3), False)
                filename = f"{wheel}-{version}-{py_tag}-none-any.whl"
                file_index[p, v, 0, 0] = add_file(p, b, filename, (py_tag, "none", "any"), wheel_kib[p])
    return Catalogue(
        names=tuple(names), canonical=tuple(canonicalize_name(n) for n in names),
        kind=np.array(kinds, dtype=np.int8), versions=tuple(versions), release_day=release_day,
        n_versions=np.array([len(v) for v in versions]), file_index=file_index,
        file_name=tuple(file_name), file_project=np.array(file_project), file_build=np.array(file_build),
        file_size=np.array(file_size, dtype=np.int64), file_hash=tuple(file_hash), file_tags=tuple(file_tags),
        build_project=np.array(b_project), build_version=np.array(b_version), build_abi=tuple(b_abi),
        build_day=np.array(b_day), build_second=np.array(b_second), build_ok=np.array(b_ok),
        build_base_ds=np.array(b_base, dtype=np.int64), build_tunable=np.array(b_tunable),
    )
