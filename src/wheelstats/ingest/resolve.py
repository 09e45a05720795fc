"""A batch's distinct values turned into the store's ids, each value looked up once per run.

Agents are parsed (linehaul) once each, when first seen by the store; one agent
logged in two ways (Apache's and nginx's escapes, or by an import) is one
agents row. Projects, filenames, paths and referrers get ids in their
dictionary tables (a new filename also joins the `files` catalogue, its tags
parsed from the name). Clients become the 64-bit numbers the store keeps
(store.privacy), each distinct address hashed once; before that, each distinct
address's country is looked up (parsing/countries), unless countries are off.
The clients a run has seen are found again by their addresses' keys (DuckDB's
hash() of the address, which the kernel computes as it reads a block): a sorted
array searched for a block's keys at once, rather than a dictionary of strings.

What a run learns is kept between batches, up to a bound (memory stays the same
however long the log: past it, a run forgets all but the batch's own values, and
looks the others up in the store again when they come back); after a rollback it
is forgotten, since the ids learnt in that transaction are not in the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import repeat

import duckdb
import numpy as np
import pyarrow as pa

from wheelstats import arrays
from wheelstats.ingest.candidates import BASE_KINDS, HIT_KIND_OF_BASE, Candidates, Values
from wheelstats.parsing.agents import match_logged_agents, parse_agent
from wheelstats.parsing.countries import countries_of
from wheelstats.parsing.escapes import EscapeStyle
from wheelstats.store import dimensions, privacy
from wheelstats.store.schema import HIT_KINDS

MAX_REMEMBERED_CLIENTS = 1 << 20  # distinct addresses whose numbers are kept between batches
MAX_REMEMBERED_VALUES = 1 << 17  # distinct agents, and values of each dictionary, whose ids are kept between batches
HIT_KIND_NAMES = arrays.from_python(HIT_KINDS, pa.string())


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
        self.country_codes: list[str] = []  # the codes the clients' countries are indices into
        self.agents: dict[str, KnownAgent] = {}
        self.dictionaries = {d.table: dimensions.KnownIds(d) for d in dimensions.HIT_DICTIONARIES}
        self.clients = KnownClients()
        self.file_sizes: dict[int, int | None] = {}  # by file id (None: it has none yet)

    def forget_unsaved(self) -> None:
        """After a rollback: what was learnt may not be in the store."""
        self.agents.clear()
        self.clients = KnownClients()
        self.file_sizes.clear()
        for known in self.dictionaries.values():
            known.forget_unsaved()

    # -- agents ---------------------------------------------------------------------

    def agents_of(self, con: duckdb.DuckDBPyConnection, agent: Values) -> tuple[np.ndarray, np.ndarray]:
        """Per line: the agent_id (-1: none) and whether it is an installer."""
        used = np.unique(agent.ids[agent.ids >= 0])
        if len(self.agents) > MAX_REMEMBERED_VALUES:
            self.agents = _only(self.agents, (agent.values[i] for i in used.tolist()))
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
        con.register("wanted_agents", pa.table({"logged": arrays.from_python(logged, pa.string())}))
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
        """Per row in `rows`: the id of its value in `dictionary` (-1: none). The rows' values not known yet are
        learnt first, once each. One lookup a distinct value, in C (map over dict.get): a block's values are
        mostly known from the blocks before."""
        known, values, line_ids = self.dictionaries[dictionary.table], field.values, field.ids[rows]
        if len(known.ids) > MAX_REMEMBERED_VALUES:
            known.ids = _only(known.ids, (values[i] for i in np.unique(line_ids[line_ids >= 0]).tolist()))
        by_value = np.fromiter(map(known.ids.get, values, repeat(-1)), dtype=np.int32, count=len(values))
        by_value = np.append(by_value, np.int32(-1))  # the last: no value (line id -1)
        unknown = by_value < 0
        unknown[-1] = False
        missing = [i for i in np.unique(line_ids[unknown[line_ids]]).tolist() if values[i] is not None]
        if missing:
            new = list(dict.fromkeys(values[i] for i in missing))  # a value may be listed twice (decoded paths)
            if dictionary is dimensions.FILES:
                self._catalogue_files(con, new)
            known.learn(con, new)
            by_value[missing] = [known.ids[values[i]] for i in missing]
        return by_value[line_ids]

    @staticmethod
    def _catalogue_files(con: duckdb.DuckDBPyConnection, filenames: list[str]) -> None:
        """Downloaded filenames this run has no id for join `files` unless it holds them, their tags parsed from
        the names."""
        con.register("wanted_files", pa.table({"filename": arrays.from_python(filenames, pa.string())}))
        missing = [name for (name,) in con.execute(
            "SELECT filename FROM wanted_files EXCEPT SELECT filename FROM files"
        ).fetchall()]
        con.unregister("wanted_files")
        dimensions.add_files(con, sorted(missing))

    # -- files' sizes ---------------------------------------------------------------

    def sizes_of(self, con: duckdb.DuckDBPyConnection, file_ids: np.ndarray, sent: np.ndarray) -> np.ndarray:
        """Per row: its file's size, which a download's bytes are stored as the difference from (store.schema,
        version 12); 0 for a row without a file, or with a file without a size. A file without one takes the bytes
        its rows here (`sent`: -1 for none) send most often."""
        if len(self.file_sizes) > MAX_REMEMBERED_VALUES:
            self.file_sizes = {}
        held, row_of = np.unique(file_ids, return_inverse=True)
        files = held[held >= 0].tolist()
        unknown = [file_id for file_id in files if file_id not in self.file_sizes]
        if unknown:
            self.file_sizes.update(dimensions.file_sizes(con, unknown))
        sizeless = [file_id for file_id in files if self.file_sizes[file_id] is None]
        if sizeless:
            found = _most_sent(file_ids, sent, np.array(sizeless, dtype=file_ids.dtype))
            dimensions.set_file_sizes(con, found)
            self.file_sizes.update(found)
        return np.array([self.file_sizes.get(file_id) or 0 for file_id in held.tolist()], dtype=np.int64)[row_of]

    # -- clients --------------------------------------------------------------------

    def clients_of(self, con: duckdb.DuckDBPyConnection, client: Values, rows: np.ndarray,
                   ) -> tuple[np.ndarray, pa.Array]:
        """Per row in `rows`: the hit_clients id of its client (-1: none, or addresses not kept), and its country
        code (parsing/countries; null when countries are off or the row has no client). The clients not seen
        yet are learnt first, once each."""
        if len(self.clients) > MAX_REMEMBERED_CLIENTS:
            self.clients = KnownClients()
        line_ids = client.ids[rows]
        known = self.clients.find(client.keys)
        used = np.zeros(len(client.values) + 1, dtype=bool)
        used[line_ids] = True  # the last one: no client (line id -1)
        new = [i for i in np.flatnonzero((known < 0) & used[:-1]).tolist() if client.values[i] is not None]
        if new:
            self._learn_clients(con, client.keys[new], [client.values[i] for i in new])
            known = self.clients.find(client.keys)
        known = np.append(known, -1)[line_ids]
        held = known >= 0  # (none may be: a run's first rows without a client, before any is known)
        client_ids = np.full(len(known), -1, dtype=np.int32)
        client_ids[held] = self.clients.client_ids[known[held]]
        if not self.look_up_countries:
            return client_ids, pa.nulls(len(rows), pa.string())
        countries = np.full(len(known), -1, dtype=np.int16)
        countries[held] = self.clients.countries[known[held]]
        return client_ids, pa.DictionaryArray.from_arrays(
            arrays.numbers(countries, pa.int16(), countries < 0), arrays.from_python(self.country_codes, pa.string()))

    def _learn_clients(self, con: duckdb.DuckDBPyConnection, keys: np.ndarray, addresses: list[str]) -> None:
        """Number these addresses (new to this run; one may be listed twice) and find their countries."""
        keys, first = np.unique(keys, return_index=True)
        addresses = [addresses[i] for i in first.tolist()]
        if self.ip_mode == "none":
            client_ids = np.full(len(addresses), -1, dtype=np.int32)
        elif self.ip_mode == "hash":
            numbers = np.array(privacy.hashed_client_numbers(addresses, self.key), dtype=np.uint64)
            client_ids = dimensions.client_ids(con, numbers, None)
        else:
            numbers = np.array([privacy.client_number(address, "raw") for address in addresses], dtype=np.uint64)
            client_ids = dimensions.client_ids(con, numbers, addresses)
        countries = [-1] * len(addresses)
        if self.look_up_countries:
            index = {code: i for i, code in enumerate(self.country_codes)}
            for n, code in enumerate(countries_of(addresses)):
                if code not in index:
                    index[code] = len(self.country_codes)
                    self.country_codes.append(code)
                countries[n] = index[code]
        self.clients.add(keys, client_ids, np.array(countries, dtype=np.int16))


def _most_sent(file_ids: np.ndarray, sent: np.ndarray, files: np.ndarray) -> dict[int, int]:
    """Each of `files` (ids) that rows send bytes of: the bytes its rows sent most often (of equals, the fewest)."""
    rows = np.isin(file_ids, files) & (sent >= 0)
    if not rows.any():
        return {}
    pairs, counts = np.unique(np.stack((file_ids[rows], sent[rows]), axis=1), axis=0, return_counts=True)
    # Each file's (file, bytes) pairs, the most sent first; of equals, the fewest bytes (np.unique sorted them by
    # file, then bytes, and lexsort is stable): the first of each file.
    by_count = np.lexsort((-counts, pairs[:, 0]))
    file_of = pairs[by_count, 0]
    firsts = by_count[np.concatenate(([True], file_of[1:] != file_of[:-1]))]
    return dict(zip(pairs[firsts, 0].tolist(), pairs[firsts, 1].tolist()))


def _only(known: dict, keys: Iterable) -> dict:
    """What a run remembers past its bound: the entries of `known` for `keys` (a batch's own values) alone."""
    return {key: known[key] for key in keys if key in known}


class KnownClients:
    """The clients a run has seen: their keys (program.value_keys), sorted, with each one's hit_clients id (-1:
    addresses not kept) and country (an index into StoreIds.country_codes; -1: not looked up)."""

    def __init__(self) -> None:
        self.keys = np.empty(0, dtype=np.uint64)
        self.client_ids = np.empty(0, dtype=np.int32)
        self.countries = np.empty(0, dtype=np.int16)

    def __len__(self) -> int:
        return len(self.keys)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Per key, its index in these arrays; -1 for a key not known."""
        if not len(self.keys):
            return np.full(len(keys), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return np.where(self.keys[at] == keys, at, -1)

    def add(self, keys: np.ndarray, client_ids: np.ndarray, countries: np.ndarray) -> None:
        """Keys not known yet (sorted, each once), with their client ids and countries."""
        at = np.searchsorted(self.keys, keys)
        self.keys = np.insert(self.keys, at, keys)
        self.client_ids = np.insert(self.client_ids, at, client_ids)
        self.countries = np.insert(self.countries, at, countries)


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
    client, country = ids.clients_of(con, candidates.client, rows)
    agent = agent_ids[rows]
    sent = candidates.bytes_sent[rows]
    stored_bytes = np.where(sent >= 0, sent - ids.sizes_of(con, filename, sent), -1)
    seconds = candidates.ts_us[rows] // 1_000_000  # as hit_rows keeps the time
    table = pa.table({
        "ts": arrays.numbers(seconds, pa.timestamp("s")),
        "kind": pa.DictionaryArray.from_arrays(arrays.numbers(kinds[rows].astype(np.uint8), pa.uint8()),
                                               HIT_KIND_NAMES),
        "project_id": arrays.numbers(project, pa.int32(), project < 0),
        "file_id": arrays.numbers(filename, pa.int32(), filename < 0),
        "path_id": arrays.numbers(path, pa.int32(), path < 0),
        "client_id": arrays.numbers(client, pa.int32(), client < 0),
        "agent_id": arrays.numbers(agent, pa.int32(), agent < 0),
        "bytes": arrays.numbers(stored_bytes, pa.int64(), sent < 0),
        "referrer_id": arrays.numbers(referrer, pa.int32(), referrer < 0),
        "source_id": arrays.numbers(np.full(len(rows), source_id, dtype=np.int32), pa.int32()),
        "line_no": arrays.numbers(candidates.line_no[rows], pa.int64()),
        "country": country,
    })
    return table, kinds
