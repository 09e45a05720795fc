"""Realistic user agents: pip and uv JSON agents, old pip, browsers, crawlers, tools.

Each installer agent is built from a :class:`ClientProfile` the way pip itself
builds it (``json.dumps(data, separators=(",", ":"), sort_keys=True)`` after the
product token), so the fields an ingest parses back are exactly the profile's.
Agents are returned as written in an Apache log field: every ``"`` escaped as ``\\"``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ClientProfile:
    """What an installer tells the index about itself."""

    installer: str
    installer_version: str
    python: str
    distro_name: str | None
    distro_version: str | None
    distro_id: str | None
    libc_version: str | None
    kernel: str
    cpu: str
    openssl: str | None
    setuptools: str | None

    @property
    def python_minor(self) -> str:
        major, minor = self.python.split(".")[:2]
        return f"{major}.{minor}"


def pip_agent(profile: ClientProfile, ci: bool | None = None) -> str:
    """The raw agent pip (>= 6) sends for ``profile`` (pip >= 19.1 says whether it runs in CI)."""
    data: dict[str, object] = {
        "installer": {"name": "pip", "version": profile.installer_version},
        "python": profile.python,
        "implementation": {"name": "CPython", "version": profile.python},
        "system": {"name": "Linux", "release": profile.kernel},
        "cpu": profile.cpu,
    }
    if profile.distro_name is not None:
        data["distro"] = {
            "name": profile.distro_name,
            "version": profile.distro_version,
            "id": profile.distro_id,
            "libc": {"lib": "glibc", "version": profile.libc_version},
        }
    if profile.openssl is not None:
        data["openssl_version"] = profile.openssl
    if profile.setuptools is not None:
        data["setuptools_version"] = profile.setuptools
    if _version_tuple(profile.installer_version) >= (19, 1):
        data["ci"] = ci
    return f"pip/{profile.installer_version} " + json.dumps(data, separators=(",", ":"), sort_keys=True)


def uv_agent(profile: ClientProfile, subcommand: tuple[str, ...] = ("pip", "install")) -> str:
    """The raw agent uv sends (its own key order, ``installer.subcommand``)."""
    data = {
        "installer": {"name": "uv", "version": profile.installer_version, "subcommand": list(subcommand)},
        "python": profile.python,
        "implementation": {"name": "CPython", "version": profile.python},
        "distro": {
            "name": profile.distro_name,
            "version": profile.distro_version,
            "id": profile.distro_id,
            "libc": {"lib": "glibc", "version": profile.libc_version},
        },
        "system": {"name": "Linux", "release": profile.kernel},
        "cpu": profile.cpu,
        "openssl_version": profile.openssl,
        "setuptools_version": profile.setuptools,
        "rustc_version": None,
        "ci": None,
    }
    return f"uv/{profile.installer_version} " + json.dumps(data, separators=(",", ":"))


def legacy_pip_agent(profile: ClientProfile) -> str:
    """The agent of pip before 6: product tokens, no JSON, no CPU or distro."""
    return f"pip/{profile.installer_version} CPython/{profile.python} Linux/{profile.kernel}"


def escape_for_log(agent: str) -> str:
    """An agent as Apache writes it inside a quoted field."""
    return agent.replace("\\", "\\\\").replace('"', '\\"')


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


# --- the population of Raspberry Pi installers around early 2020 -----------------

_BUSTER = ("Raspbian GNU/Linux", "10", "buster", "2.28", "OpenSSL 1.1.1d  10 Sep 2019", "40.8.0")
_STRETCH = ("Raspbian GNU/Linux", "9", "stretch", "2.24", "OpenSSL 1.1.0l  10 Sep 2019", "33.1.1")
_DEBIAN_BUSTER = ("Debian GNU/Linux", "10", "buster", "2.28", "OpenSSL 1.1.1d  10 Sep 2019", "40.8.0")
_UBUNTU_BIONIC = ("Ubuntu", "18.04", "bionic", "2.27", "OpenSSL 1.1.1  11 Sep 2018", "39.0.1")
_OSMC = ("OSMC", "2020.02-1", "stretch", "2.24", "OpenSSL 1.1.0l  10 Sep 2019", "33.1.1")

_KERNELS = {
    "armv7l": ("4.19.97-v7+", "4.19.97-v7l+", "4.19.75-v7l+", "4.19.66-v7+", "4.14.98-v7+", "4.19.93-v7l+"),
    "armv6l": ("4.19.97+", "4.19.66+", "4.14.98+"),
    "aarch64": ("4.19.97-v8+", "5.3.0-1017-raspi2", "4.19.75-v8+"),
    "x86_64": ("4.15.0-88-generic", "5.3.0-40-generic", "4.19.0-8-amd64"),
}
_PIP_VERSIONS = {
    "2.7": ("18.1", "20.0.2", "19.3.1", "9.0.1"),
    "3.5": ("9.0.1", "20.0.2", "19.3.1", "18.1"),
    "3.7": ("18.1", "20.0.2", "19.3.1", "20.0.1"),
    "3.6": ("9.0.1", "20.0.2"),
    "3.8": ("20.0.2", "19.3.1"),
}


def _profiles_for(distro: tuple, pythons: tuple[str, ...], cpu: str) -> list[ClientProfile]:
    name, version, codename, libc, openssl, setuptools = distro
    result = []
    for python in pythons:
        minor = ".".join(python.split(".")[:2])
        for pip_version in _PIP_VERSIONS[minor]:
            for kernel in _KERNELS[cpu]:
                result.append(
                    ClientProfile("pip", pip_version, python, name, version, codename, libc,
                                  kernel, cpu, openssl, setuptools)
                )
    return result


def installer_profiles() -> dict[tuple[str, str], list[tuple[ClientProfile, float]]]:
    """Weighted installer profiles by (python minor, cpu) group.

    Groups are what a wheel's tags accept: a ``cp37``/``linux_armv7l`` wheel goes to a
    Python 3.7 client on armv7l (or a 64-bit kernel with 32-bit userland, aarch64);
    ``linux_armv6l`` to armv6l clients; pure wheels to anyone.
    """
    groups: dict[tuple[str, str], list[tuple[ClientProfile, float]]] = {}

    def add(key: tuple[str, str], profiles: list[ClientProfile], weight: float) -> None:
        each = weight / len(profiles)
        groups.setdefault(key, []).extend((profile, each) for profile in profiles)

    for cpu in ("armv7l", "armv6l"):
        add(("3.7", cpu), _profiles_for(_BUSTER, ("3.7.3",), cpu), 0.965)
        add(("3.7", cpu), _profiles_for(_DEBIAN_BUSTER, ("3.7.3",), cpu), 0.035)
        add(("3.5", cpu), _profiles_for(_STRETCH, ("3.5.3",), cpu), 0.96)
        add(("3.5", cpu), _profiles_for(_OSMC, ("3.5.3",), cpu), 0.04)
        add(("2.7", cpu), _profiles_for(_BUSTER, ("2.7.16",), cpu), 0.56)
        add(("2.7", cpu), _profiles_for(_STRETCH, ("2.7.13",), cpu), 0.42)
        add(("2.7", cpu), _profiles_for(_OSMC, ("2.7.13",), cpu), 0.02)
    add(("3.7", "aarch64"), _profiles_for(_BUSTER, ("3.7.3",), "aarch64"), 0.9)
    add(("3.7", "aarch64"), _profiles_for(_DEBIAN_BUSTER, ("3.7.3",), "aarch64"), 0.1)
    add(("3.5", "aarch64"), _profiles_for(_STRETCH, ("3.5.3",), "aarch64"), 1.0)
    add(("2.7", "aarch64"), _profiles_for(_BUSTER, ("2.7.16",), "aarch64"), 1.0)
    add(("3.6", "armv7l"), _profiles_for(_UBUNTU_BIONIC, ("3.6.9",), "armv7l"), 1.0)
    add(("3.6", "aarch64"), _profiles_for(_UBUNTU_BIONIC, ("3.6.9",), "aarch64"), 1.0)
    add(("3.6", "x86_64"), _profiles_for(_UBUNTU_BIONIC, ("3.6.9",), "x86_64"), 1.0)
    add(("3.7", "x86_64"), _profiles_for(_DEBIAN_BUSTER, ("3.7.3",), "x86_64"), 1.0)
    add(("3.8", "armv7l"), _profiles_for(_BUSTER, ("3.8.2",), "armv7l"), 1.0)
    return groups


BROWSERS = (
    "Mozilla/5.0 (X11; Linux armv7l) AppleWebKit/537.36 (KHTML, like Gecko) Raspbian Chromium/78.0.3904.108 Chrome/78.0.3904.108 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.132 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:73.0) Gecko/20100101 Firefox/73.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:74.0) Gecko/20100101 Firefox/74.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 13_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 10; SM-G973F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.119 Mobile Safari/537.36",
)
CRAWLERS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/6.1; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (compatible; SemrushBot/6~bl; +http://www.semrush.com/bot.html)",
)
MONITORS = (
    "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
    "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
)
TOOLS = ("curl/7.64.0", "Wget/1.20.1 (linux-gnu)", "python-requests/2.22.0", "Go-http-client/1.1")
MIRRORS = ("bandersnatch/3.6.0 (cpython 3.7.3-final0, Linux x86_64)",)


def ci_profiles() -> list[ClientProfile]:
    """CI runners of early 2020 (hosted Ubuntu on x86_64), whose pip says it runs in CI."""
    ubuntu = _UBUNTU_BIONIC
    name, version, codename, libc, openssl, setuptools = ubuntu
    return [
        ClientProfile("pip", pip_version, python, name, version, codename, libc, "5.0.0-1032-azure", "x86_64",
                      openssl, setuptools)
        for python in ("3.6.9", "3.7.6", "3.8.2") for pip_version in ("20.0.2", "19.3.1")
    ]
