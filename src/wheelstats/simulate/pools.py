"""Pools of log-field values (clients, agents, paths) drawn from by index.

Generation picks indices with numpy and turns them into text with Arrow ``take``,
so each distinct string is built once in Python however many lines use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from wheelstats.simulate.agents import (
    BROWSERS, CRAWLERS, MIRRORS, MONITORS, TOOLS, ClientProfile, ci_profiles, escape_for_log, installer_profiles,
    legacy_pip_agent, pip_agent, uv_agent,
)


def client_addresses(count: int, rng: np.random.Generator, ipv6_share: float = 0.08) -> pa.Array:
    """``count`` distinct-looking client addresses, IPv4 mostly, some IPv6."""
    octets = rng.integers(1, 255, size=(count, 4))
    octets[:, 0] = rng.choice([2, 5, 31, 37, 46, 51, 62, 77, 78, 80, 81, 82, 86, 90, 92, 94, 109,
                               151, 176, 178, 185, 188, 193, 212, 213, 217, 24, 50, 66, 67, 68,
                               71, 73, 75, 76, 96, 98, 99, 104, 108, 174], size=count)
    groups = rng.integers(0, 65536, size=(count, 4))
    prefixes = ("2a00:23c5", "2a02:c7f", "2001:470", "2a01:4f8", "2607:fea8", "2a02:8109", "2001:4c3c")
    text = []
    for i in range(count):
        if rng.random() < ipv6_share:
            g = groups[i]
            text.append(f"{prefixes[i % len(prefixes)]}:{g[0]:x}:{g[1]:x}:{g[2]:x}::{g[3]:x}")
        else:
            o = octets[i]
            text.append(f"{o[0]}.{o[1]}.{o[2]}.{o[3]}")
    return pa.array(text)


def zipf_weights(count: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, count + 1, dtype=np.float64) ** exponent
    return weights / weights.sum()


@dataclass(frozen=True, slots=True)
class AgentPool:
    """Installer agents grouped by (python minor, cpu) and other agents, as log text."""

    text: pa.Array  # escaped, every agent of the pool
    raw: tuple[str, ...]  # the same agents unescaped
    profiles: tuple[ClientProfile | None, ...]  # per agent, None for non-installers
    group_keys: tuple[tuple[str, str], ...]
    group_members: tuple[np.ndarray, ...]  # agent ids per group
    group_cdf: tuple[np.ndarray, ...]
    browsers: np.ndarray
    crawlers: np.ndarray
    monitors: np.ndarray
    tools: np.ndarray
    legacy: np.ndarray  # pip before 6: product tokens that linehaul parses
    old_pip: np.ndarray  # product tokens from a later pip, which linehaul does not know
    modern: np.ndarray  # pip/uv agents of today (for the sample log)
    ci: np.ndarray  # pip agents of CI runners (ci set)
    mirrors: np.ndarray  # mirroring tools (bandersnatch)

    def draw_installers(self, group: int, count: int, rng: np.random.Generator) -> np.ndarray:
        """``count`` agent ids of group index ``group``, by the group's weights."""
        picks = np.searchsorted(self.group_cdf[group], rng.random(count), side="right")
        return self.group_members[group][np.minimum(picks, len(self.group_members[group]) - 1)]


def _modern_profiles() -> list[tuple[str, ClientProfile]]:
    bookworm = ("Debian GNU/Linux", "12", "bookworm", "2.36", "OpenSSL 3.0.15 3 Sep 2024", "66.1.1")
    trixie = ("Debian GNU/Linux", "13", "trixie", "2.41", "OpenSSL 3.5.1 1 Jul 2025", "78.1.1")
    noble = ("Ubuntu", "24.04", "noble", "2.39", "OpenSSL 3.0.13 30 Jan 2024", "68.1.2")
    result = []
    for installer, version in (("pip", "23.0.1"), ("pip", "25.2"), ("uv", "0.13.9"), ("uv", "0.8.22")):
        for distro, python in ((bookworm, "3.11.2"), (trixie, "3.13.5"), (noble, "3.12.3")):
            for cpu, kernel in (("aarch64", "6.12.47+rpt-rpi-2712"), ("armv7l", "6.12.47+rpt-rpi-v7"),
                                ("x86_64", "6.8.0-85-generic")):
                name, dver, did, libc, openssl, setuptools = distro
                result.append((installer, ClientProfile(installer, version, python, name, dver, did, libc,
                                                        kernel, cpu, openssl, setuptools)))
    return result


def build_agent_pool() -> AgentPool:
    texts: list[str] = []
    raws: list[str] = []
    profiles: list[ClientProfile | None] = []
    group_keys, group_members, group_cdf = [], [], []
    for key, members in sorted(installer_profiles().items()):
        ids, weights = [], []
        for profile, weight in members:
            ids.append(len(texts))
            raws.append(pip_agent(profile))
            texts.append(escape_for_log(raws[-1]))
            profiles.append(profile)
            weights.append(weight)
        w = np.cumsum(weights)
        group_keys.append(key), group_members.append(np.array(ids)), group_cdf.append(w / w[-1])

    def add_plain(agents: tuple[str, ...] | list[str]) -> np.ndarray:
        start = len(texts)
        for agent in agents:
            raws.append(agent)
            texts.append(escape_for_log(agent))
            profiles.append(None)
        return np.arange(start, len(texts))

    legacy_start = len(texts)
    for python, kernel in (("2.7.9", "4.9.35-v7+"), ("2.7.9", "4.4.50+"), ("3.4.2", "4.9.35-v7+")):
        profile = ClientProfile("pip", "1.5.6", python, None, None, None, None, kernel, "", None, None)
        raws.append(legacy_pip_agent(profile))
        texts.append(escape_for_log(raws[-1]))
        profiles.append(profile)
    legacy = np.arange(legacy_start, len(texts))
    modern_start = len(texts)
    for installer, profile in _modern_profiles():
        agent = uv_agent(profile) if installer == "uv" else pip_agent(profile)
        raws.append(agent)
        texts.append(escape_for_log(agent))
        profiles.append(profile)
    modern = np.arange(modern_start, len(texts))
    browsers, crawlers = add_plain(BROWSERS), add_plain(CRAWLERS)
    monitors, tools = add_plain(MONITORS), add_plain(TOOLS)
    old_pip = add_plain(("pip/9.0.1 CPython/2.7.13 Linux/4.9.35-v7+", "pip/8.1.1 CPython/3.5.3 Linux/4.14.98-v7+"))
    ci_start = len(texts)  # added last, so that every earlier agent keeps its id
    for profile in ci_profiles():
        raws.append(pip_agent(profile, ci=True))
        texts.append(escape_for_log(raws[-1]))
        profiles.append(profile)
    ci = np.arange(ci_start, len(texts))
    mirrors = add_plain(MIRRORS)
    return AgentPool(pa.array(texts), tuple(raws), tuple(profiles), tuple(group_keys), tuple(group_members),
                     tuple(group_cdf), browsers, crawlers, monitors, tools, legacy, old_pip, modern, ci, mirrors)
