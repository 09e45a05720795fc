"""Sessions: what one installer asked the index for, hit after hit.

A session is one client with one agent, whose index lookups and downloads
come no more than a gap apart (ten minutes unless told). The client is its
stored identity (a keyed hash of its IP by default); where a store keeps no
IPs, the agent alone stands for the client. pip and uv look up
/simple/<project>/ for what they were asked to install first, and then for
each dependency, so a session's first hit says what was asked for.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir
from ibis import _

from wheelstats.spikes import DEFAULT_GAP
from wheelstats.stats.tables import Tables, hits_between

SESSION_KINDS = ("search", "download")
NO_AGENT = -1  # the agent id of hits whose agent is unknown, within a session key


def client_identity(hits: ir.Table) -> ir.StringValue:
    """Who made a hit: its stored client, or its agent where the store keeps no client."""
    agent = hits.agent_id.cast("string").fill_null("none")
    return ibis.ifelse(hits.client.notnull(), hits.client, ibis.literal("agent:") + agent)


def installer_hits(tables: Tables, start: datetime, end: datetime) -> ir.Table:
    """Lookups and downloads of a project with `start <= ts < end`, with who made them.

    Columns: ts, kind, project, filename, who, agent, order (the hit's place
    among hits of the same second: lookups first, then as logged).
    """
    hits = hits_between(tables, start, end).filter(_.kind.isin(SESSION_KINDS), _.project.notnull())
    return hits.select(
        "ts", "kind", "project", "filename",
        who=client_identity(hits),
        agent=hits.agent_id.fill_null(NO_AGENT),
        lookup_first=ibis.ifelse(hits.kind == "search", 0, 1),
        source=hits.source_id,
        line=hits.line_no.fill_null(0),
    )


def sessions(tables: Tables, start: datetime, end: datetime, gap: timedelta = DEFAULT_GAP) -> ir.Table:
    """Lookups and downloads in `start <= ts < end`, each with its session (see sessions_of)."""
    return sessions_of(installer_hits(tables, start, end), gap)


def sessions_of(hits: ir.Table, gap: timedelta = DEFAULT_GAP) -> ir.Table:
    """`hits` (as installer_hits gives them) each with its session.

    Columns of installer_hits, and: opens (1 for a session's first hit, else 0)
    and session (its number among the sessions of the same who and agent). A
    session is keyed by SESSION_KEY: (who, agent, session).
    """
    order = [hits.ts, hits.lookup_first, hits.source, hits.line]
    by_client = ibis.window(group_by=[hits.who, hits.agent], order_by=order)
    seconds = hits.ts.epoch_seconds()
    previous = hits.ts.lag().over(by_client).epoch_seconds()
    marked = hits.mutate(opens=ibis.ifelse(previous.isnull() | (seconds - previous > gap.total_seconds()), 1, 0))
    return marked.mutate(session=marked.opens.sum().over(ibis.cumulative_window(
        group_by=[marked.who, marked.agent],
        order_by=[marked.ts, marked.lookup_first, marked.source, marked.line])))


SESSION_KEY = ("who", "agent", "session")
