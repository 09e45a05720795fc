"""Why a spike happened: the project whose installs carried it, one client, or a CI system.

For each spike (wheelstats.spikes, found by stats.spikes or the rollups) the downloads of its days are looked at
three ways, in this order:

- CI: if downloads from agents that say they run in CI rose by at least half
  the spike's excess over their own mean of the 28 days before, it was a CI
  system (pip and uv set the ci flag of their agent).
- One client: if one client's downloads rose by at least half the excess, it
  was that client (a mirror re-syncing, a script in a loop): no single project.
- A project: the sessions (stats.sessions) that carry downloads of the spike's
  packages are grouped by their first hit, the lookup (or download) of what
  was asked for. The project that opens the sessions of the most distinct
  clients is the cause when it opens those of at least half of them: an
  upgrade of that project pulled the spike's packages in. Dependencies
  confirm it where the store knows them (Requires-Dist of the project's
  wheels): the spike's packages the cause requires are named. Without a
  cause from the sessions, a project that requires every one of the spike's
  packages (at least two) is named from its dependencies alone. A cause
  needs no files here: a project installed from elsewhere is still named
  from its lookups.

Otherwise there is no single cause.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import ibis
import ibis.expr.types as ir
from ibis import _

from wheelstats.spikes import BASELINE_DAYS, Spike
from wheelstats.stats.sessions import DEFAULT_GAP, SESSION_KEY, client_identity, installer_hits, sessions_of
from wheelstats.stats.tables import Tables, download_rows

FLOOD_SHARE = 0.5  # CI, or one client, carrying this share of the excess is the cause
MIN_CAUSE_SHARE = 0.5  # a project opening the sessions of this share of the clients is the cause
OPENERS_KEPT = 3  # the projects opening the most clients' sessions, listed with the cause
MIN_DEPENDENCIES = 2  # a cause named from dependencies alone requires at least this many of the spike's packages

PROJECT, ONE_CLIENT, CI, NONE = "project", "one client", "ci", "none"
LOOKUPS, DEPENDENCIES, BOTH = "lookups", "dependencies", "both"


@dataclass(frozen=True, slots=True)
class Opener:
    """A project that opens sessions behind a spike: what their clients asked for first."""

    project: str
    clients: int
    share: float  # of the clients behind the spike


@dataclass(frozen=True, slots=True)
class Cause:
    """What carried a spike's excess downloads."""

    kind: str  # PROJECT, ONE_CLIENT, CI or NONE
    project: str | None = None  # the project behind it (kind PROJECT)
    clients: int = 0  # distinct clients whose sessions carry downloads of the spike's packages
    share_of_clients: float | None = None  # of those, the share whose sessions opened with `project`
    evidence: str | None = None  # LOOKUPS, DEPENDENCIES or BOTH
    dependencies_in_spike: tuple[str, ...] = ()  # the spike's packages that `project` requires
    dependencies_from: str | None = None  # where the dependencies were read
    downloads_here: int | None = None  # the cause's own downloads in the spike's days (0: got from elsewhere)
    share_of_downloads: float | None = None  # ONE_CLIENT, CI: their share of the spike days' downloads
    share_of_excess: float | None = None  # ONE_CLIENT, CI: their rise over their usual, of the spike's excess (at most 1)
    openers: tuple[Opener, ...] = field(default_factory=tuple)
    identity: str = "client"  # what a client is here: "client" (IPs kept, hashed) or "agent" (not kept)


@dataclass(frozen=True, slots=True)
class Rises:
    """The spike days' downloads, and how those of CI agents and of the top client rose."""

    downloads: int  # in the spike's days
    ci_downloads: int
    ci_rise: float  # over CI's own mean of the days before
    top_downloads: int  # the client whose downloads rose most
    top_rise: float


def _bounds(spike: Spike) -> tuple[datetime, datetime, int]:
    first = datetime.fromisoformat(spike.start)
    last = datetime.fromisoformat(spike.end)
    return datetime.combine(first.date(), time()), datetime.combine(last.date() + timedelta(days=1), time()), \
        (last - first).days + 1


def _rises(tables: Tables, spike: Spike) -> Rises:
    start, end, days = _bounds(spike)
    rows = download_rows(tables, start - timedelta(days=BASELINE_DAYS), end)
    rows = rows.select("ts", "agent_id", who=client_identity(rows))
    agents = tables.agents.select(agent_key=_.agent_id, ci=_.ci)
    joined = rows.left_join(agents, rows.agent_id == agents.agent_key)
    marked = joined.select("ts", "who", ci=joined.ci.fill_null(False), during=joined.ts >= start)
    per_who = marked.group_by("who").agg(
        during=_.count(where=_.during),
        before=_.count(where=~_.during),
        during_ci=_.count(where=_.during & _.ci),
        before_ci=_.count(where=~_.during & _.ci),
    )
    # Whole numbers in the engine (rises times BASELINE_DAYS), divided here: every engine ranks and rounds alike.
    totals = per_who.aggregate(
        downloads=_.during.sum(), ci_downloads=_.during_ci.sum(), ci_before=_.before_ci.sum(),
    ).to_pyarrow().to_pylist()[0]
    scaled_rise = per_who.during * BASELINE_DAYS - per_who.before * days
    top = per_who.order_by([scaled_rise.desc(), _.who]).limit(1).to_pyarrow().to_pylist()
    ci_downloads = int(totals["ci_downloads"] or 0)
    return Rises(
        int(totals["downloads"] or 0), ci_downloads, ci_downloads - int(totals["ci_before"] or 0) * days / BASELINE_DAYS,
        int(top[0]["during"]) if top else 0,
        top[0]["during"] - top[0]["before"] * days / BASELINE_DAYS if top else 0.0,
    )


def _stores_clients(tables: Tables, spike: Spike) -> bool:
    """Whether the spike's downloads have stored clients (IPs kept, hashed or raw), or agents stand for them."""
    start, end, _days = _bounds(spike)
    rows = download_rows(tables, start, end)
    return bool(rows.aggregate(kept=rows.client.count()).to_pyarrow().to_pylist()[0]["kept"])


def _openers(tables: Tables, spike: Spike, packages: list[str], gap: timedelta) -> tuple[int, list[Opener]]:
    """The distinct clients whose sessions carry the spike's downloads of `packages`, and the
    projects those sessions open with, most clients first.

    Only the hits of the clients (and agents) that downloaded those packages in the
    spike's days are put into sessions: the others cannot carry it.
    """
    start, end, _days = _bounds(spike)
    hits = installer_hits(tables, start - gap, end + gap)
    carries = (hits.kind == "download") & hits.project.isin(packages) & (hits.ts >= start) & (hits.ts < end)
    carrying = hits.filter(carries).select("who", "agent").distinct()
    sessions = sessions_of(hits.semi_join(carrying, ["who", "agent"]), gap)
    carried = (sessions.kind == "download") & sessions.project.isin(packages) & (sessions.ts >= start) \
        & (sessions.ts < end)
    carriers = sessions.group_by(list(SESSION_KEY)).agg(carried=carried.sum()).filter(_.carried > 0)
    firsts = sessions.filter(sessions.opens == 1).select(*SESSION_KEY, opener=_.project)
    behind = carriers.join(firsts, list(SESSION_KEY))
    clients = behind.aggregate(clients=behind.who.nunique()).to_pyarrow().to_pylist()[0]["clients"] or 0
    ranked = (
        behind.group_by("opener").agg(clients=_.who.nunique())
        .order_by([_.clients.desc(), _.opener]).limit(OPENERS_KEPT)
    ).to_pyarrow().to_pylist()
    return int(clients), [Opener(r["opener"], int(r["clients"]), r["clients"] / clients) for r in ranked]


def _dependencies(tables: Tables, packages: list[str]) -> tuple[dict[str, set[str]], str | None]:
    """For each project whose wheels require any of `packages`: which of them; and where that was read."""
    if tables.requirements is None or not packages:
        return {}, None
    requirements = tables.requirements
    default = requirements.filter(
        requirements.project.isin(packages)
        & (requirements.marker.isnull() | ~requirements.marker.contains("extra"))
    )
    files = tables.files.select(file_key=_.filename, dependent=_.project)
    joined = default.join(files, default.filename == files.file_key)
    pairs = joined.select("dependent", required=joined.project).distinct().to_pyarrow().to_pylist()
    result: dict[str, set[str]] = {}
    for row in pairs:
        if row["dependent"] is not None and row["dependent"] != row["required"]:
            result.setdefault(row["dependent"], set()).add(row["required"])
    return result, "Requires-Dist" if result else None


def _downloads_of(tables: Tables, spike: Spike, project: str) -> int:
    start, end, _days = _bounds(spike)
    rows = download_rows(tables, start, end)
    return int(rows.filter(rows.project == project).count().to_pyarrow().as_py())


def explain(tables: Tables, spike: Spike, *, gap: timedelta = DEFAULT_GAP) -> Cause:
    """What carried `spike`'s excess downloads (see the module docstring)."""
    identity = "client" if _stores_clients(tables, spike) else "agent"
    rises = _rises(tables, spike)
    if spike.excess > 0 and rises.ci_rise >= FLOOD_SHARE * spike.excess:
        return Cause(CI, share_of_downloads=rises.ci_downloads / rises.downloads,
                     share_of_excess=min(rises.ci_rise / spike.excess, 1.0), identity=identity)
    if spike.excess > 0 and rises.top_rise >= FLOOD_SHARE * spike.excess:
        return Cause(ONE_CLIENT, clients=1, share_of_downloads=rises.top_downloads / rises.downloads,
                     share_of_excess=min(rises.top_rise / spike.excess, 1.0), identity=identity)
    packages = [p.project for p in spike.projects if p.rise > 0]
    if not packages:
        return Cause(NONE, identity=identity)
    clients, openers = _openers(tables, spike, packages, gap)
    required_by, source = _dependencies(tables, packages)
    top = openers[0] if openers else None
    if top is not None and top.share >= MIN_CAUSE_SHARE:
        required = tuple(p for p in packages if p in required_by.get(top.project, set()))
        return Cause(
            PROJECT, top.project, clients, top.share, BOTH if required else LOOKUPS, required,
            source if required else None, _downloads_of(tables, spike, top.project), openers=tuple(openers),
            identity=identity,
        )
    requiring_all = sorted(
        (dependent for dependent, required in required_by.items()
         if len(packages) >= MIN_DEPENDENCIES and required >= set(packages)),
    )
    if requiring_all:
        project = next((o.project for o in openers if o.project in requiring_all), requiring_all[0])
        share = next((o.share for o in openers if o.project == project), 0.0)
        return Cause(PROJECT, project, clients, share, DEPENDENCIES, tuple(packages), source,
                     _downloads_of(tables, spike, project), openers=tuple(openers), identity=identity)
    return Cause(NONE, clients=clients, openers=tuple(openers), identity=identity)
