"""A country for every hit, looked up at ingest before the address is hashed: per address, in
every IP mode, behind a proxy, not at all with --country off; the account and the store say so."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from wheelstats import store
from wheelstats.cli import app
from wheelstats.ingest import ingest_files
from wheelstats.parsing.countries import countries_of

from kit.logs import PIP_AGENT

runner = CliRunner()
ADDRESSES = ["8.8.8.8", "1.0.16.1", "2001:4860:4860::8888", "193.0.14.129", "10.1.2.3", "::1", "192.168.0.9"]


def line(n: int, client: str, forwarded: str | None = None) -> str:
    """A download from `client` (and an X-Forwarded-For header, for nginx_main)."""
    tail = f' "{forwarded}"' if forwarded is not None else ""
    return (f'{client} - - [05/Mar/2020:10:{n // 60 % 60:02d}:{n % 60:02d} +0000] '
            f'"GET /simple/numpy/numpy-1.{n}-cp37-cp37m-linux_armv7l.whl HTTP/1.1" 200 1234 "-" "{PIP_AGENT}"{tail}\n')


def countries_stored(db) -> list[tuple[int, str | None]]:
    con = store.connect(db, read_only=True)
    try:
        return con.execute("SELECT line_no, country FROM hit_rows ORDER BY line_no").fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("ip_mode", ["hash", "raw", "none"])
def test_each_hit_keeps_its_addresses_country_whatever_the_ip_mode(tmp_path, ip_mode):
    log = tmp_path / "access.log"
    clients = ADDRESSES * 3  # repeated addresses: looked up once, the same country each time
    log.write_text("".join(line(n, client) for n, client in enumerate(clients)))
    ingest_files(tmp_path / "s.duckdb", [log], ip_mode=ip_mode)
    expected = countries_of(clients)
    assert countries_stored(tmp_path / "s.duckdb") == list(enumerate(expected, start=1))
    assert {"XL", "US", "JP"} <= set(expected)


def test_country_off_stores_none_and_hashes_as_before(tmp_path):
    log = tmp_path / "access.log"
    log.write_text("".join(line(n, client) for n, client in enumerate(ADDRESSES)))
    result = runner.invoke(app, ["ingest", "--country", "off", "--db", str(tmp_path / "s.duckdb"), str(log)])
    assert result.exit_code == 0, result.stderr
    assert countries_stored(tmp_path / "s.duckdb") == [(n, None) for n in range(1, len(ADDRESSES) + 1)]


def test_behind_a_proxy_the_forwarded_clients_country_is_kept(tmp_path):
    log = tmp_path / "access.log"
    log.write_text("".join(line(n, "10.0.0.1", forwarded) for n, forwarded in
                           enumerate(["8.8.8.8", "203.0.113.5, 1.0.16.1", "-"])))
    ingest_files(tmp_path / "s.duckdb", [log], log_format="nginx_main", client_from="x-forwarded-for")
    assert [country for _, country in countries_stored(tmp_path / "s.duckdb")] == \
        countries_of(["8.8.8.8", "1.0.16.1", "10.0.0.1"])


def test_a_country_option_other_than_on_or_off_is_refused_in_one_line(tmp_path):
    log = tmp_path / "access.log"
    log.write_text(line(0, "8.8.8.8"))
    result = runner.invoke(app, ["ingest", "--country", "maybe", "--db", str(tmp_path / "s.duckdb"), str(log)])
    assert result.exit_code == 1
    assert result.stderr == "Error: --country must be on or off, not 'maybe'.\n"
    assert not (tmp_path / "s.duckdb").exists()
