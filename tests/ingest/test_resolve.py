"""A batch's clients, agents and values turned into the store's ids (and the clients' countries): each once a run
(within a bound), a client found again by its key."""

from __future__ import annotations

import numpy as np

from wheelstats import store
from wheelstats.ingest.candidates import Values
from wheelstats.ingest import resolve
from wheelstats.ingest.resolve import StoreIds
from wheelstats.parsing.countries import countries_of
from wheelstats.parsing.escapes import APACHE
from wheelstats.store import dimensions


def clients(addresses: list[str], per_line: list[int]) -> Values:
    return Values(np.array(per_line, dtype=np.int32), addresses).with_keys()


def clients_held(con) -> tuple[int, int, int]:
    """The store's client rows, distinct numbers and distinct ids: all equal when each client is held once (no index
    guards it since schema version 16: the lookups before each insert do)."""
    return con.execute("SELECT count(*), count(DISTINCT client), count(DISTINCT client_id) FROM hit_clients").fetchone()


def test_a_client_is_one_id_and_country_across_batches_listed_twice_and_after_a_rollback(tmp_path):
    con = store.connect(tmp_path / "s.duckdb")
    ids = StoreIds(APACHE, "hash", b"k" * 32)
    first_batch = ["10.0.0.1", "2001:db8::1", "8.8.8.8"]
    first, first_countries = ids.clients_of(con, clients(first_batch, [0, 1, 2, 0, -1]), np.arange(5))
    assert len(set(first[:3].tolist())) == 3 and min(first[:3]) >= 0 and first[3] == first[0] and first[4] == -1
    assert first_countries.to_pylist() == [*countries_of(first_batch), countries_of(first_batch)[0], None]

    # known addresses in another order, a new one listed twice (a proxy's header and the peer's), one unused
    later = ["8.8.8.8", "192.0.2.7", "10.0.0.1", "192.0.2.7", "203.0.113.9"]
    ids_later, _ = ids.clients_of(con, clients(later, [0, 1, 2, 3]), np.arange(4))
    assert ids_later.tolist() == [first[2], ids_later[1], first[0], ids_later[1]]
    assert ids_later[1] not in first.tolist()
    assert len(ids.clients) == 4  # the new one learnt once, the unused one not at all

    ids.forget_unsaved()  # a rollback: the run learns them again, from the store
    again, again_countries = ids.clients_of(con, clients(first_batch, [2, 1, 0]), np.arange(3))
    assert again.tolist() == first[:3].tolist()[::-1]
    assert again_countries.to_pylist() == countries_of(first_batch)[::-1]
    assert clients_held(con) == (4, 4, 4)


def test_without_addresses_kept_or_countries_a_client_has_no_id_or_no_country(tmp_path):
    con = store.connect(tmp_path / "s.duckdb")
    no_ids, countries = StoreIds(APACHE, "none", None).clients_of(
        con, clients(["8.8.8.8"], [0, 0]), np.arange(2))
    assert no_ids.tolist() == [-1, -1] and countries.to_pylist() == countries_of(["8.8.8.8"]) * 2
    client_ids, no_countries = StoreIds(APACHE, "hash", b"k" * 32, countries=False).clients_of(
        con, clients(["8.8.8.8"], [0, 0]), np.arange(2))
    assert client_ids[0] == client_ids[1] >= 0 and no_countries.to_pylist() == [None, None]


def test_a_run_that_has_seen_too_many_clients_forgets_them_and_finds_them_again(tmp_path, monkeypatch):
    monkeypatch.setattr(resolve, "MAX_REMEMBERED_CLIENTS", 2)
    con = store.connect(tmp_path / "s.duckdb")
    ids = StoreIds(APACHE, "hash", b"k" * 32)
    first, _ = ids.clients_of(con, clients(["10.0.0.1", "10.0.0.2", "10.0.0.3"], [0, 1, 2]), np.arange(3))
    again, countries = ids.clients_of(con, clients(["10.0.0.3", "10.0.0.9", "10.0.0.1"], [0, 1, 2]), np.arange(3))
    assert again[0] == first[2] and again[2] == first[0] and again[1] not in first.tolist() and min(again) >= 0
    assert countries.to_pylist() == countries_of(["10.0.0.3", "10.0.0.9", "10.0.0.1"])
    assert clients_held(con) == (4, 4, 4)
    assert len(ids.clients) == 3  # forgotten, then the batch's learnt: at most the bound and a batch's clients


def test_a_batch_whose_rows_have_no_client_before_any_client_is_known_has_no_ids_or_countries(tmp_path):
    """A run's first rows may all lack a client (a log whose client field is empty): none is known yet, and
    none is learnt (it raised an IndexError, found by tests/parsing/test_kernel.py's generated lines)."""
    con = store.connect(tmp_path / "s.duckdb")
    ids = StoreIds(APACHE, "hash", b"k" * 32)
    client_ids, countries = ids.clients_of(con, clients([None], [0, -1, 0]), np.arange(3))
    assert client_ids.tolist() == [-1, -1, -1] and countries.to_pylist() == [None, None, None]
    assert len(ids.clients) == 0


def test_a_run_that_has_seen_too_many_agents_or_values_forgets_them_and_finds_their_ids_again(tmp_path, monkeypatch):
    """Memory stays bounded however long the log: past MAX_REMEMBERED_VALUES distinct agents (or values of one
    dictionary) a run forgets all but the batch's own, and looks the others up in the store again, same ids."""
    monkeypatch.setattr(resolve, "MAX_REMEMBERED_VALUES", 2)
    con = store.connect(tmp_path / "s.duckdb")
    ids = StoreIds(APACHE, "hash", b"k" * 32)
    agents = ["pip/23.1 CPython/3.11.2 Linux/6.1.0", "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0", "uv/0.4.0"]
    projects = ["numpy", "scipy", "pandas"]
    first_agents, first_installers = ids.agents_of(con, Values(np.array([0, 1, 2, -1], dtype=np.int32), agents))
    first_projects = ids.ids_of(con, dimensions.PROJECTS, Values(np.array([0, 1, 2], dtype=np.int32), projects),
                                np.arange(3))
    assert len(ids.agents) == 3 and len(ids.dictionaries["hit_projects"].ids) == 3

    later = [agents[2], "curl/8.5.0", agents[0]]
    again, installers = ids.agents_of(con, Values(np.array([0, 1, 2], dtype=np.int32), later))
    assert len(ids.agents) == 3  # the batch's two known kept, the others forgotten, its new one learnt
    assert again[0] == first_agents[2] and again[2] == first_agents[0] and again[1] not in first_agents.tolist()
    assert installers.tolist() == [first_installers[2], False, first_installers[0]]
    projects_again = ids.ids_of(con, dimensions.PROJECTS, Values(np.array([2, 0], dtype=np.int32), projects),
                                np.arange(2))
    assert projects_again.tolist() == [first_projects[2], first_projects[0]]
    assert len(ids.dictionaries["hit_projects"].ids) == 2
    assert con.execute("SELECT count(*) FROM agents").fetchall() == [(4,)]
    assert con.execute("SELECT count(*) FROM hit_projects").fetchall() == [(3,)]


def test_a_file_without_a_size_takes_the_bytes_its_rows_send_most_and_keeps_it(tmp_path):
    """Version 12: a download's bytes are stored as the difference from its file's size: the bytes its rows in the
    first batch that sends any sent most often (of equals, the fewest), found again by later batches and runs."""
    con = store.connect(tmp_path / "s.duckdb")
    ids = StoreIds(APACHE, "hash", b"k" * 32)
    [wheel, sdist, silent] = ids.ids_of(con, dimensions.FILES, Values(np.array([0, 1, 2], dtype=np.int32), [
        "a-1.0-py3-none-any.whl", "a-1.0.tar.gz", "b-2.0-py3-none-any.whl"]), np.arange(3)).tolist()

    def sizes(stored: StoreIds, files: list[int], sent: list[int]) -> list[int]:
        return stored.sizes_of(con, np.array(files, dtype=np.int32), np.array(sent, dtype=np.int64)).tolist()

    # the wheel sends 900 twice and 40 once, the sdist 500 and 300 once each; a row without a file; no bytes ('-')
    assert sizes(ids, [wheel, -1, sdist, wheel, silent, sdist, wheel], [900, 77, 500, 40, -1, 300, 900]) \
        == [900, 0, 300, 900, 0, 300, 900]
    sizes_stored = "SELECT file_id, size FROM hit_files ORDER BY file_id"
    assert con.execute(sizes_stored).fetchall() == [(wheel, 900), (sdist, 300), (silent, None)]
    assert sizes(ids, [wheel, wheel, silent], [40, 40, 123]) == [900, 900, 123]  # a size, once given, stays
    assert con.execute(sizes_stored).fetchall() == [(wheel, 900), (sdist, 300), (silent, 123)]
    assert sizes(StoreIds(APACHE, "hash", b"k" * 32), [silent, sdist, wheel], [1, 2, 3]) == [123, 300, 900]


def test_a_size_given_in_a_rolled_back_batch_is_given_again(tmp_path):
    con = store.connect(tmp_path / "s.duckdb")
    ids = StoreIds(APACHE, "hash", b"k" * 32)
    [wheel] = ids.ids_of(con, dimensions.FILES, Values(np.array([0], dtype=np.int32), ["a-1.0-py3-none-any.whl"]),
                         np.arange(1)).tolist()
    one_row = np.array([wheel], dtype=np.int32)
    con.execute("BEGIN")
    assert ids.sizes_of(con, one_row, np.array([500])).tolist() == [500]
    con.execute("ROLLBACK")
    ids.forget_unsaved()
    assert ids.sizes_of(con, one_row, np.array([700])).tolist() == [700]
    assert con.execute("SELECT size FROM hit_files").fetchall() == [(700,)]
