"""Who carries a scenario's spike: an application's upgrade as sessions, one mirror, or a CI loop.

The plan fixes what each day downloads (the files, and the Python and CPU of
each download's client); a cause decides who downloads the spike's part of it,
and how. It regroups the planned downloads, never adds to them:

- Upgrade: an application's upgrade pushed to its users (the seed's OctoPrint).
  Each user's pip looks the application up, then each dependency, and downloads
  the spike projects it needs: the spike projects' downloads of a day become
  sessions, each one new client (a Pi upgrading) with one agent, a few seconds
  between its hits, most of them opening with a lookup of the application.
- Flood: a mirror re-syncing: one client with a mirroring agent downloads the
  day's downloads above its usual level (PlannedDay.flood).
- CiLoop: CI runners, whose pip says it runs in CI, download the spike project's
  newest file over and over.

Clients a cause brings are addresses of their own (first octets the other
clients never have), numbered after the scenario's clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
from packaging.utils import canonicalize_name

from wheelstats.simulate.pools import AgentPool
from wheelstats.simulate.traffic import seconds_of_day

SESSION_STEP_S = 2  # seconds between one download of a session and the next (plus up to one)
SESSION_DAY = 17  # bits of a session's number within its day
# First octets no scenario client has (pools.client_addresses): upgrading Pis, CI runners, the mirror.
UPGRADE_PREFIXES = (79, 83, 84, 87, 88, 89, 91, 93)
RUNNER_PREFIX = 40
MIRROR_ADDRESS = "192.0.2.10"


@dataclass(frozen=True, slots=True)
class Upgrade:
    """An application whose upgrade, pushed to its users, pulls in the spike projects."""

    name: str  # as its authors spell it: OctoPrint
    version: str
    released: date
    requires: tuple[str, ...]  # its dependencies (the spike projects among them)
    lookup_share: float  # of the sessions, those that look the application up first
    downloads_per_session: int  # about how many of the spike projects' downloads one session carries

    @property
    def project(self) -> str:
        return canonicalize_name(self.name)

    @property
    def wheel(self) -> str:
        return f"{self.name.replace('-', '_')}-{self.version}-py2.py3-none-any.whl"


@dataclass(frozen=True, slots=True)
class Flood:
    """One mirror downloads the days' downloads above their usual level."""

    agent: str  # the mirror's agent, one of agents.MIRRORS


@dataclass(frozen=True, slots=True)
class CiLoop:
    """CI runners download the spike project's newest file over and over."""

    runners: int  # how many runner addresses


Cause = Upgrade | Flood | CiLoop


@dataclass(frozen=True, slots=True)
class Carried:
    """What a cause did on one day: its clients' addresses and the lookups it added."""

    addresses: tuple[str, ...] = ()  # clients numbered from the scenario's client count
    lookup_project: str | None = None  # Upgrade: the application its sessions look up first
    lookup_client: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    lookup_agent: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    lookup_epoch: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    sessions: int = 0  # Upgrade: sessions (each its own client)
    looked_up: int = 0  # Upgrade: sessions that opened with the application's lookup
    downloads: int = 0  # downloads the cause carried


def upgrade_address(day: int, number: int) -> str:
    """The address of the client of a day's `number`-th upgrade session: distinct for every (day, number)
    of 1,024 days and 2**17 sessions a day (a bijection scrambles the 27 bits)."""
    value = ((day % 1024) << SESSION_DAY | number) * 0x2E3779B1 % (1 << 27)
    prefix = UPGRADE_PREFIXES[value >> 24]
    return f"{prefix}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"


def runner_address(number: int) -> str:
    return f"{RUNNER_PREFIX}.{64 + number // 250}.{number % 250 + 1}.{(number * 37) % 250 + 1}"


def carry_upgrade(upgrade: Upgrade, spiking: np.ndarray, projects: np.ndarray, groups: np.ndarray,
                  agent: np.ndarray, client: np.ndarray, epoch: np.ndarray, day: int, client_count: int,
                  rng: np.random.Generator) -> Carried:
    """Regroup the downloads marked `spiking` into upgrade sessions, changing their agent, client and
    time in place. Downloads of one session share the (python, cpu) group their files were chosen for."""
    members = np.flatnonzero(spiking)
    if not len(members):
        return Carried()
    members = members[np.lexsort((members, projects[members], groups[members]))]
    _, first, counts = np.unique(groups[members], return_index=True, return_counts=True)
    per_group = -(-counts // upgrade.downloads_per_session)  # sessions per group, rounded up
    offsets = np.concatenate([[0], np.cumsum(per_group)[:-1]])
    which = np.repeat(np.arange(len(counts)), counts)
    rank = np.arange(len(members)) - first[which]
    session = offsets[which] + rank % per_group[which]
    position = rank // per_group[which]
    total = int(per_group.sum())
    span = SESSION_STEP_S * (int(position.max()) + 1) + 2
    start = np.minimum(seconds_of_day(total, rng), 86400 - 1 - span)
    looks_up = rng.random(total) < upgrade.lookup_share
    session_agent = np.empty(total, dtype=np.int64)
    session_agent[session[position == 0]] = agent[members[position == 0]]
    agent[members] = session_agent[session]
    client[members] = client_count + session
    epoch[members] = day * 86400 + start[session] + 1 + SESSION_STEP_S * position + rng.integers(0, 2, len(members))
    opened = np.flatnonzero(looks_up)
    return Carried(
        addresses=tuple(upgrade_address(day, number) for number in range(total)), lookup_project=upgrade.project,
        lookup_client=client_count + opened, lookup_agent=session_agent[opened],
        lookup_epoch=day * 86400 + start[opened], sessions=total, looked_up=len(opened),
        downloads=len(members),
    )


def carry_flood(flood: Flood, count: int, agent: np.ndarray, client: np.ndarray, epoch: np.ndarray, day: int,
                client_count: int, agents: AgentPool, rng: np.random.Generator) -> Carried:
    """`count` of the day's downloads become the mirror's, fetched between 01:00 and 05:00."""
    if count <= 0:
        return Carried()
    taken = rng.choice(len(agent), size=min(count, len(agent)), replace=False)
    agent[taken] = agents.mirrors[0]
    client[taken] = client_count
    epoch[taken] = day * 86400 + 3600 + rng.integers(0, 4 * 3600, len(taken))
    return Carried(addresses=(MIRROR_ADDRESS,), downloads=len(taken))


def carry_ci(loop: CiLoop, spiking: np.ndarray, agent: np.ndarray, client: np.ndarray, agents: AgentPool,
             client_count: int, rng: np.random.Generator) -> Carried:
    """The downloads marked `spiking` become the CI runners'."""
    members = np.flatnonzero(spiking)
    if not len(members):
        return Carried()
    agent[members] = agents.ci[rng.integers(0, len(agents.ci), len(members))]
    client[members] = client_count + rng.integers(0, loop.runners, len(members))
    return Carried(addresses=tuple(runner_address(n) for n in range(loop.runners)), downloads=len(members))


def with_addresses(clients: pa.Array, carried: Carried) -> pa.Array:
    """The scenario's client addresses followed by those a cause brought on the day."""
    if not carried.addresses:
        return clients
    return pa.concat_arrays([clients, pa.array(carried.addresses, clients.type)])
