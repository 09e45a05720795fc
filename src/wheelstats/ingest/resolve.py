"""A batch's distinct values turned into the store's ids, each value looked up once per run.

Agents are parsed (linehaul) once each, when first seen by the store; one agent
logged in two ways (Apache's and nginx's escapes, or by an import) is one
agents row. Projects, filenames, paths and referrers get ids in their
dictionary tables (a new filename also joins the `files` catalogue, its tags
parsed from the name). Clients become the 64-bit numbers the store keeps
(store.privacy), each distinct address hashed once; before that, each distinct
address's country is looked up (parsing/countries), unless countries are off.

What a run learns is kept between batches; after a rollback it is forgotten,
since the ids learnt in that transaction are not in the store.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from wheelstats.ingest.candidates import BASE_KINDS, HIT_KIND_OF_BASE, Candidates, Values
from wheelstats.parsing.agents import match_logged_agents, parse_agent
from wheelstats.parsing.countries import countries_of
from wheelstats.parsing.escapes import EscapeStyle
from wheelstats.store import dimensions, privacy
from wheelstats.store.schema import HIT_KINDS

MAX_REMEMBERED_CLIENTS = 1 << 20  # distinct addresses whose numbers are kept between batches
HIT_KIND_NAMES = pa.array(HIT_KINDS, pa.string())


@dataclass(frozen=True, slots=True)
class KnownAgent:
    agent_id: int
    is_installer: bool


class StoreIds:
    """The ids of one store's agents, dictionary values and clients, as far as this run has seen them."""

    def __init__(self, escape: EscapeStyle, ip_mode: str, key: bytes | None, *, countries: bool = True):
        self.escape = escape
        self.ip_mode = ip_mode
        self.key = key
        self.look_up_countries = countries
        # address -> index in country_codes (kept after a rollback: a country is no id in the store)
        self.countries: dict[str, int] = {}
        self.country_codes: list[str] = []
        self.country_ids: dict[str, int] = {}
        self.agents: dict[str, KnownAgent] = {}
        self.dictionaries = {d.table: dimensions.KnownIds(d) for d in dimensions.HIT_DICTIONARIES}
        self.clients: dict[str, int] = {}  # address -> client_id

    def forget_unsaved(self) -> None:
        """After a rollback: what was learnt may not be in the store."""
        self.agents.clear()
        self.clients.clear()
        for known in self.dictionaries.values():
            known.forget_unsaved()

    # -- agents ---------------------------------------------------------------------

    def agents_of(self, con: duckdb.DuckDBPyConnection, agent: Values) -> tuple[np.ndarray, np.ndarray]:
        """Per line: the agent_id (-1: none) and whether it is an installer."""
        used = np.unique(agent.ids[agent.ids >= 0])
        missing = [agent.values[i] for i in used.tolist() if agent.values[i] not in self.agents]
        if missing:
            self._learn_agents(con, missing)
        ids = np.full(len(agent.values) + 1, -1, dtype=np.int32)  # the last one: no agent
        installer = np.zeros(len(agent.values) + 1, dtype=bool)
        for i in used.tolist():
            known = self.agents[agent.values[i]]
            ids[i], installer[i] = known.agent_id, known.is_installer
        return ids[agent.ids], installer[agent.ids]

    def _stored_agents(self, con: duckdb.DuckDBPyConnection, logged: list[str]) -> dict[str, KnownAgent]:
        con.register("wanted_agents", pa.table({"logged": pa.array(logged, pa.string())}))
        rows = con.execute(
            "SELECT logged_agent, agent_id, is_installer FROM agents WHERE logged_agent IN (SELECT logged FROM wanted_agents)"
        ).fetchall()
        con.unregister("wanted_agents")
        return {form: KnownAgent(agent_id, installer) for form, agent_id, installer in rows}

    def _learn_agents(self, con: duckdb.DuckDBPyConnection, logged: list[str]) -> None:
        """Find or add the agents rows of these logged agents."""
        self.agents.update(self._stored_agents(con, logged))
        new = [form for form in logged if form not in self.agents]
        if not new:
            return
        texts = {form: self.escape.unescape(form) for form in new}
        match = match_logged_agents(texts, dict(con.execute(  # agents logged another way before
            "SELECT agent, logged_agent FROM agents WHERE agent IN (SELECT unnest(?))", [list(set(texts.values()))]
        ).fetchall()))
        for text, form in match.named.items():
            con.execute("UPDATE agents SET logged_agent = ? WHERE agent = ?", [form, text])
        dimensions.add_agents(con, [dimensions.AgentRow(parse_agent(text), form) for text, form in match.new.items()])
        stored_form = {form: match.aliases.get(form, form) for form in new}
        found = self._stored_agents(con, sorted(set(stored_form.values())))
        for form, stored in stored_form.items():
            self.agents[form] = found[stored]

    # -- dictionaries ---------------------------------------------------------------

    def ids_of(self, con: duckdb.DuckDBPyConnection, dictionary: dimensions.HitDictionary, field: Values,
               rows: np.ndarray) -> np.ndarray:
        """Per row in `rows`: the id of its value in `dictionary` (-1: none)."""
        line_ids = field.ids[rows]
        used = np.unique(line_ids[line_ids >= 0])
        by_value = np.full(len(field.values) + 1, -1, dtype=np.int32)
        values = [field.values[i] for i in used.tolist()]
        present = [v is not None for v in values]
        if any(present):
            wanted = [v for v in values if v is not None]
            if dictionary is dimensions.FILES:
                self._catalogue_files(con, wanted)
            found = self.dictionaries[dictionary.table].lookup(con, wanted)
            by_value[used[np.array(present)]] = found
        return by_value[line_ids]

    def _catalogue_files(self, con: duckdb.DuckDBPyConnection, filenames: list[str]) -> None:
        """New downloaded filenames join `files`, their tags parsed from the names."""
        known = self.dictionaries[dimensions.FILES.table].ids
        new = [name for name in filenames if name not in known]
        if not new:
            return
        con.register("wanted_files", pa.table({"filename": pa.array(new, pa.string())}))
        missing = [name for (name,) in con.execute(
            "SELECT filename FROM wanted_files EXCEPT SELECT filename FROM files"
        ).fetchall()]
        con.unregister("wanted_files")
        dimensions.add_files(con, sorted(missing))

    # -- clients --------------------------------------------------------------------

    def clients_of(self, con: duckdb.DuckDBPyConnection, client: Values, rows: np.ndarray) -> np.ndarray:
        """Per row in `rows`: the hit_clients id of its client (-1: none)."""
        line_ids = client.ids[rows]
        by_value = np.full(len(client.values) + 1, -1, dtype=np.int32)
        if self.ip_mode == "none":
            return by_value[line_ids]
        used = [i for i in np.unique(line_ids[line_ids >= 0]).tolist() if client.values[i] is not None]
        addresses = [client.values[i] for i in used]
        new = [a for a in dict.fromkeys(addresses) if a not in self.clients]
        if new:
            if len(self.clients) > MAX_REMEMBERED_CLIENTS:
                self.clients.clear()
            if self.ip_mode == "hash":
                numbers = privacy.hashed_client_numbers(new, self.key)
                found = dimensions.client_ids(con, numbers, None)
            else:
                numbers = [privacy.client_number(address, "raw") for address in new]
                found = dimensions.client_ids(con, numbers, new)
            self.clients.update(zip(new, found))
        clients = self.clients
        by_value[used] = [clients[address] for address in addresses]
        return by_value[line_ids]

    def countries_in(self, client: Values, rows: np.ndarray) -> pa.Array:
        """Per row in `rows`: its client's country code (parsing/countries), null when countries
        are off or the row has no client; each distinct address looked up once per run."""
        if not self.look_up_countries:
            return pa.nulls(len(rows), pa.string())
        known = self.countries
        new = [address for address in dict.fromkeys(client.values) if address is not None and address not in known]
        if new:
            if len(known) > MAX_REMEMBERED_CLIENTS:
                known.clear()
            for address, code in zip(new, countries_of(new)):
                if code not in self.country_ids:
                    self.country_ids[code] = len(self.country_codes)
                    self.country_codes.append(code)
                known[address] = self.country_ids[code]
        by_value = np.fromiter((known.get(address, -1) for address in client.values), dtype=np.int16,
                               count=len(client.values))
        per_row = np.append(by_value, np.int16(-1))[client.ids[rows]]  # the last: no client
        return pa.DictionaryArray.from_arrays(
            pa.array(per_row, pa.int16(), mask=per_row < 0), pa.array(self.country_codes, pa.string()))


def hit_rows(con: duckdb.DuckDBPyConnection, ids: StoreIds, candidates: Candidates, source_id: int,
             ) -> tuple[pa.Table, np.ndarray]:
    """The hit_rows of the candidates that are hits, grouped by kind, and per candidate its hit kind (HIT_KINDS
    index) or -1 for an index page whose agent is not an installer."""
    agent_ids, installer = ids.agents_of(con, candidates.agent)
    is_index = candidates.kind == BASE_KINDS.index("index")
    hit = ~is_index | installer
    kinds = np.where(hit, HIT_KIND_OF_BASE[candidates.kind].astype(np.int16), -1)
    rows = np.flatnonzero(hit)
    rows = rows[np.argsort(kinds[rows], kind="stable")]  # grouped by kind, in line order (store.schema, version 12)
    project = ids.ids_of(con, dimensions.PROJECTS, candidates.project, rows)
    filename = ids.ids_of(con, dimensions.FILES, candidates.filename, rows)
    path = ids.ids_of(con, dimensions.PATHS, candidates.path, rows)
    referrer = ids.ids_of(con, dimensions.REFERRERS, candidates.referrer, rows)
    client = ids.clients_of(con, candidates.client, rows)
    agent = agent_ids[rows]
    sent = candidates.bytes_sent[rows]
    table = pa.table({
        "ts": pa.array(candidates.ts_us[rows] // 1_000_000, pa.timestamp("s")),  # to the second, as hit_rows keeps it
        "kind": pa.DictionaryArray.from_arrays(pa.array(kinds[rows].astype(np.uint8)), HIT_KIND_NAMES),
        "project_id": pa.array(project, pa.int32(), mask=project < 0),
        "file_id": pa.array(filename, pa.int32(), mask=filename < 0),
        "path_id": pa.array(path, pa.int32(), mask=path < 0),
        "client_id": pa.array(client, pa.int32(), mask=client < 0),
        "agent_id": pa.array(agent, pa.int32(), mask=agent < 0),
        "bytes": pa.array(sent, pa.int64(), mask=sent < 0),
        "referrer_id": pa.array(referrer, pa.int32(), mask=referrer < 0),
        "source_id": pa.array(np.full(len(rows), source_id, dtype=np.int32)),
        "line_no": pa.array(candidates.line_no[rows]),
        "country": ids.countries_in(candidates.client, rows),
    })
    return table, kinds
