"""Each planned download becomes a file, a client and a moment.

Given the projects of one day's downloads, pick the version (one released by then,
most often the latest), the client's Python and CPU (which the wheel's tags must
accept), hence the file, then the installer agent, the client address and the second.
Each day has its own random stream, so any day can be regenerated on its own.
On the spike's days, the scenario's cause (wheelstats.simulate.causes) then
decides who downloads the spike's part: the same files, other clients and times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from wheelstats.simulate.catalogue import COMPILED, PY3, Catalogue
from wheelstats.simulate.causes import Carried, Cause, CiLoop, Flood, Upgrade, carry_ci, carry_flood, carry_upgrade
from wheelstats.simulate.pools import AgentPool
from wheelstats.simulate.traffic import day_number, seconds_of_day

BUSTER_RELEASE = day_number(date(2019, 6, 20))
SETTLED = day_number(date(2020, 1, 1))
COMPILED_ARCH = (("armv6l", 0.085), ("armv7l", 0.903), ("aarch64", 0.012))
SPIKE_GROUPS = ((("2.7", "armv7l"), 0.62), (("2.7", "armv6l"), 0.06), (("2.7", "aarch64"), 0.02),
                (("3.7", "armv7l"), 0.19), (("3.7", "armv6l"), 0.01), (("3.5", "armv7l"), 0.10))


def python_mix(day: int) -> dict[str, float]:
    """Shares of 2.7/3.5/3.7 among Raspberry Pi clients: buster (3.7) took over in 2019."""
    x = float(np.clip((day - BUSTER_RELEASE) / (SETTLED - BUSTER_RELEASE), 0.0, 1.0))
    return {"2.7": 0.25 - 0.13 * x, "3.5": 0.72 - 0.42 * x, "3.7": 0.03 + 0.55 * x}


def pure_groups(day: int) -> list[tuple[tuple[str, str], float]]:
    """(python, cpu) of clients downloading pure wheels, with their weights."""
    groups = []
    for python, share in python_mix(day).items():
        share *= 0.95
        groups += [((python, "armv7l"), share * 0.885), ((python, "armv6l"), share * 0.085),
                   ((python, "aarch64"), share * 0.015)]
        if python == "3.7":
            groups.append(((python, "x86_64"), share * 0.015))
        else:
            groups[-3] = ((python, "armv7l"), share * 0.895)
    groups += [(("3.6", "armv7l"), 0.007), (("3.6", "aarch64"), 0.006), (("3.6", "x86_64"), 0.007),
               (("3.8", "armv7l"), 0.015)]
    return groups


@dataclass(frozen=True, slots=True)
class SpikeDay:
    """The spike on one day: its projects, whether they follow the spike's shape (its month), the
    downloads above the day's usual level, and the cause that carries them."""

    ids: np.ndarray
    active: bool
    flood: int
    cause: Cause

    @property
    def one_file(self) -> bool:
        """A CI loop fetches one file: the spike projects' downloads are all of their newest version."""
        return self.active and isinstance(self.cause, CiLoop)


@dataclass(frozen=True, slots=True)
class DayDownloads:
    """One day's downloads, in time order, and what the spike's cause did that day."""

    file: np.ndarray
    agent: np.ndarray
    client: np.ndarray
    epoch: np.ndarray
    carried: Carried = Carried()


def choose_files(catalogue: Catalogue, agents: AgentPool, projects: np.ndarray, day: int, spike: SpikeDay,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The file and the (python, cpu) agent group of each download of ``projects`` on ``day``."""
    count = len(projects)
    group_index = {key: i for i, key in enumerate(agents.group_keys)}
    available = (catalogue.release_day[projects] <= day).sum(axis=1)
    available = np.maximum(available, 1)
    back = np.minimum(rng.geometric(0.62, size=count) - 1, available - 1)
    if spike.one_file:
        back[np.isin(projects, spike.ids)] = 0
    version = available - 1 - back
    kind = catalogue.kind[projects]
    group = np.empty(count, dtype=np.int64)
    abi = np.zeros(count, dtype=np.int64)
    platform = np.zeros(count, dtype=np.int64)
    compiled = kind == COMPILED
    n = int(compiled.sum())
    mix = python_mix(day)
    abi[compiled] = rng.choice(3, size=n, p=np.array(list(mix.values())) / sum(mix.values()))
    arch = rng.choice(3, size=n, p=[w for _, w in COMPILED_ARCH])
    platform[compiled] = np.where(arch == 0, 0, 1)
    keys = [(py, cpu) for py in mix for cpu, _ in COMPILED_ARCH]
    lookup = np.array([group_index[k] for k in keys])
    group[compiled] = lookup[abi[compiled] * 3 + arch]
    pure = ~compiled
    if spike.active:
        spiking = pure & np.isin(projects, spike.ids)
        pure &= ~spiking
        _assign_groups(group, spiking, SPIKE_GROUPS, group_index, rng)
    _assign_groups(group, pure, pure_groups(day), group_index, rng)
    py3_only = (kind == PY3) & np.isin(group, [group_index[k] for k in group_index if k[0] == "2.7"])
    if py3_only.any():  # a py3 wheel is never fetched by Python 2.7: those clients run 3.7
        remap = {group_index[k]: group_index[("3.7", k[1])] for k in group_index if k[0] == "2.7"}
        group[py3_only] = np.vectorize(remap.__getitem__)(group[py3_only])
    files = catalogue.file_index[projects, version, abi, platform]
    return files, group


def _assign_groups(group, mask, table, group_index, rng) -> None:
    n = int(mask.sum())
    if n:
        weights = np.array([w for _, w in table])
        picks = rng.choice(len(table), size=n, p=weights / weights.sum())
        group[mask] = np.array([group_index[k] for k, _ in table])[picks]


def day_downloads(catalogue: Catalogue, agents: AgentPool, client_cdf: np.ndarray, projects: np.ndarray,
                  day: int, spike: SpikeDay, seed: int) -> DayDownloads:
    files, group = choose_files(catalogue, agents, projects, day, spike, np.random.default_rng([seed, 2, day]))
    rng = np.random.default_rng([seed, 3, day])
    agent = np.empty(len(files), dtype=np.int64)
    for g in np.unique(group):
        mask = group == g
        agent[mask] = agents.draw_installers(int(g), int(mask.sum()), rng)
    client = np.minimum(np.searchsorted(client_cdf, rng.random(len(files)), side="right"), len(client_cdf) - 1)
    epoch = day * 86400 + seconds_of_day(len(files), rng)
    carried = _carry(spike, agents, projects, group, agent, client, epoch, day, len(client_cdf),
                     np.random.default_rng([seed, 8, day]))
    order = np.argsort(epoch, kind="stable")
    return DayDownloads(files[order], agent[order], client[order], epoch[order], carried)


def _carry(spike: SpikeDay, agents: AgentPool, projects: np.ndarray, group: np.ndarray, agent: np.ndarray,
           client: np.ndarray, epoch: np.ndarray, day: int, client_count: int, rng: np.random.Generator) -> Carried:
    """Let the spike's cause carry its part of the day's downloads (agent, client and epoch change in place)."""
    cause = spike.cause
    if isinstance(cause, Flood):
        return carry_flood(cause, spike.flood, agent, client, epoch, day, client_count, agents, rng)
    if not spike.active:
        return Carried()
    spiking = np.isin(projects, spike.ids)
    if isinstance(cause, Upgrade):
        return carry_upgrade(cause, spiking, projects, group, agent, client, epoch, day, client_count, rng)
    return carry_ci(cause, spiking, agent, client, agents, client_count, rng)


def file_counts(catalogue: Catalogue, agents: AgentPool, projects: np.ndarray, day: int, spike: SpikeDay,
                seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Downloads per file and per (python, cpu) group of one day, as :func:`day_downloads` writes them."""
    files, group = choose_files(catalogue, agents, projects, day, spike, np.random.default_rng([seed, 2, day]))
    return (np.bincount(files, minlength=len(catalogue.file_name)),
            np.bincount(group, minlength=len(agents.group_keys)))
