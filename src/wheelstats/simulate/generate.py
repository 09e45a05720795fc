"""``simulate``: write a scenario's raw logs, piwheels dump and manifest.

Two passes over the same deterministic plan: the first counts the downloads per file
(to solve the build durations for the time-saved targets) without writing; the
second writes the dump (catalogue, then the history day by day) and the period's
logs day by day, tallying everything it writes for the manifest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wheelstats.simulate import dump
from wheelstats.simulate.causes import Carried, Upgrade, with_addresses
from wheelstats.simulate.downloads import DayDownloads, day_downloads
from wheelstats.simulate.groundtruth import planned_counts, solve
from wheelstats.simulate.lines import KIND_NAMES
from wheelstats.simulate.logday import day_lines, server_offsets
from wheelstats.simulate.logwrite import lines_buffer, open_output
from wheelstats.simulate.manifest import build_manifest
from wheelstats.simulate.plan import Plan, PlannedDay, build_plan
from wheelstats.simulate.pools import AgentPool, build_agent_pool, client_addresses, zipf_weights
from wheelstats.simulate.scenario import get_scenario
from wheelstats.simulate.traffic import day_date

HISTORY_HITS_DAYS = 14  # the dump keeps searches and page hits of the last two weeks before the period
Progress = Callable[[str, int, int], None]  # (stage, advance, total)


class PlanMismatch(RuntimeError):
    """The writer wrote other downloads than the plan it solved the durations for."""


@dataclass
class Tally:
    """What the writer wrote, counted as it writes."""

    projects: int
    agents: int
    files: int
    months: int
    day_downloads: dict[int, int] = field(default_factory=dict)
    project_month: dict[int, np.ndarray] = field(default_factory=dict)
    file_month: np.ndarray | None = None
    agent_month: dict[int, np.ndarray] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KIND_NAMES, 0))
    dump_rows: dict[str, int] = field(default_factory=dict)
    logs: list[Path] = field(default_factory=list)
    carried: dict[int, Carried] = field(default_factory=dict)  # per day of the period: what the spike's cause did

    def __post_init__(self) -> None:
        self.file_month = np.zeros((self.files, self.months), dtype=np.int64)

    def downloads(self, month: int, day: int, files: np.ndarray, agents: np.ndarray, file_project: np.ndarray) -> None:
        self.day_downloads[day] = self.day_downloads.get(day, 0) + len(files)
        self.file_month[:, month] += np.bincount(files, minlength=self.files)
        self.project_month.setdefault(month, np.zeros(self.projects, dtype=np.int64))
        self.project_month[month] += np.bincount(file_project[files], minlength=self.projects)
        self.agent_month.setdefault(month, np.zeros(self.agents, dtype=np.int64))
        self.agent_month[month] += np.bincount(agents, minlength=self.agents)


def simulate(scenario_name: str, out: Path | str, scale: float = 1.0, seed: int = 0,
             progress: Progress | None = None) -> dict:
    """Write the scenario into ``out`` (logs/, piwheels/, manifest.json); return the manifest."""
    out = Path(out)
    plan = build_plan(get_scenario(scenario_name), scale, seed)
    agents = build_agent_pool()
    report = progress or (lambda stage, advance, total: None)
    total = sum(int(m.day_totals.sum()) for m in plan.months)
    report("plan", 0, total)
    counts = planned_counts(plan, agents, lambda n: report("plan", n, total)).files
    durations = solve(plan, counts)
    client_count = int(np.clip(60_000 * scale ** 0.5, 300, 60_000))
    clients = client_addresses(client_count, np.random.default_rng([seed, 5]))
    client_cdf = np.cumsum(zipf_weights(client_count, 0.8))
    catalogue = plan.catalogue
    tally = Tally(catalogue.project_count, len(agents.raw), len(catalogue.file_name), len(plan.months))
    cause = plan.scenario.cause
    tally.dump_rows.update(dump.write_catalogue(out / "piwheels", catalogue, durations.durations_ds,
                                                cause if isinstance(cause, Upgrade) else None))
    _write_history(plan, agents, clients, client_cdf, out / "piwheels", tally, lambda n: report("write", n, total))
    _write_logs(plan, agents, clients, client_cdf, out / "logs", tally, lambda n: report("write", n, total))
    if not np.array_equal(tally.file_month, counts):
        raise PlanMismatch("The written downloads differ from the planned ones: a bug in the generator.")
    written = [out / "piwheels" / f"{table}.csv" for table in dump.HEADERS] + tally.logs
    manifest = build_manifest(plan, agents, tally, durations, [
        {"path": str(p.relative_to(out)), "bytes": p.stat().st_size} for p in written])
    manifest["files_written"].append({"path": "manifest.json", "bytes": None})
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return manifest


def _planned_downloads(plan: Plan, agents: AgentPool, client_cdf: np.ndarray, in_period: bool
                       ) -> Iterator[tuple[PlannedDay, DayDownloads]]:
    """Each planned day in (or before) the period, with its downloads' files, agents, clients and times."""
    for planned in plan.days(in_period=in_period):
        yield planned, day_downloads(plan.catalogue, agents, client_cdf, planned.projects, planned.day,
                                     plan.spike_day(planned), plan.seed)


def _file_texts(plan: Plan) -> tuple[pa.Array, pa.Array, pa.Array]:
    catalogue = plan.catalogue
    project_text = pa.array(catalogue.canonical)
    file_names = pa.array(catalogue.file_name)
    file_path = pc.binary_join_element_wise(
        "/simple/", project_text.take(pa.array(catalogue.file_project)), "/", file_names, "")
    return project_text, file_names, file_path


def _write_history(plan: Plan, agents: AgentPool, clients: pa.Array, client_cdf: np.ndarray, folder: Path,
                   tally: Tally, advance: Callable[[int], None]) -> None:
    catalogue = plan.catalogue
    project_text, file_names, _ = _file_texts(plan)
    agent_tail = dump.agent_columns(agents.profiles)
    raw_agents = dump.quoted_agents(agents.raw)
    first_period_day = int(plan.period_months[0].days[0])
    tables = {name: dump.TableWriter(folder, name) for name in
              ("downloads", "searches", "project_page_hits", "project_json_downloads", "web_page_hits")}
    try:
        for planned, got in _planned_downloads(plan, agents, client_cdf, in_period=False):
            day = planned.day
            who = with_addresses(clients, got.carried).take(pa.array(got.client))
            tables["downloads"].write(dump.access_rows(file_names.take(pa.array(got.file)), who, got.epoch,
                                                       agent_tail.take(pa.array(got.agent))))
            tally.downloads(planned.month_index, day, got.file, got.agent, catalogue.file_project)
            if day >= first_period_day - HISTORY_HITS_DAYS:
                _history_hits(tables, got, catalogue.file_project, project_text, who, agent_tail, raw_agents,
                              agents, clients, client_cdf, np.random.default_rng([plan.seed, 6, day]))
            advance(len(got.file))
    finally:
        for table in tables.values():
            table.close()
    tally.dump_rows.update({name: table.rows for name, table in tables.items()})


def _history_hits(tables, got, file_project, project_text, who, agent_tail, raw_agents, agents, clients,
                  client_cdf, rng) -> None:
    """The day's index lookups (one before each download) and some page hits, as dump rows."""
    projects = file_project[got.file]
    tables["searches"].write(dump.access_rows(project_text.take(pa.array(projects)), who, got.epoch - 1,
                                              agent_tail.take(pa.array(got.agent))))
    n = len(projects)
    for table, rate, pool in (("project_page_hits", 0.03, np.concatenate([agents.browsers, agents.crawlers])),
                              ("project_json_downloads", 0.01, agents.tools),
                              ("web_page_hits", 0.02, np.concatenate([agents.browsers, agents.monitors]))):
        count = int(round(rate * n))
        if not count:
            continue
        pick = rng.integers(0, n, size=count)
        first = (pa.array(rng.choice(["/", "/packages.html", "/faq.html", "/stats.html"], size=count))
                 if table == "web_page_hits" else project_text.take(pa.array(projects[pick])))
        hit_clients = clients.take(pa.array(np.minimum(np.searchsorted(client_cdf, rng.random(count)),
                                                       len(client_cdf) - 1)))
        epoch = np.sort(got.epoch[pick])
        tables[table].write(dump.access_rows(first, hit_clients, epoch,
                                             raw_agents.take(pa.array(pool[rng.integers(0, len(pool), count)]))))


def _write_logs(plan: Plan, agents: AgentPool, clients: pa.Array, client_cdf: np.ndarray, folder: Path,
                tally: Tally, advance: Callable[[int], None]) -> None:
    catalogue = plan.catalogue
    project_text, _, file_path = _file_texts(plan)
    for planned, got in _planned_downloads(plan, agents, client_cdf, in_period=True):
        day = planned.day
        rng = np.random.default_rng([plan.seed, 7, day])
        builder = day_lines(day, got, catalogue.file_project, file_path, project_text, catalogue.file_size,
                            agents, client_cdf, rng)
        lines, kinds, _ = builder.render(with_addresses(clients, got.carried), agents.text, server_offsets, rng)
        path = folder / f"access.log-{day_date(day).strftime('%Y%m%d')}.gz"
        with open_output(path) as out:
            out.write(lines_buffer(lines))
        tally.logs.append(path)
        for code, name in enumerate(KIND_NAMES):
            tally.lines[name] += int((kinds == code).sum())
        tally.downloads(planned.month_index, day, got.file, got.agent, catalogue.file_project)
        if got.carried.downloads:
            tally.carried[day] = got.carried
        advance(len(got.file))
