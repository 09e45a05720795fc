"""A client's country: what the shipped registry database (iptocc) says for public addresses, IPv4
and IPv6; XL for every non-public range, ZZ for what no registry places or is not an address."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import iptocc
import pytest

import wheelstats
from wheelstats.facets import LOCAL_COUNTRY, UNPLACED_COUNTRY, country_name
from wheelstats.parsing.countries import countries_of

# Public resolvers and well-known hosts, IPv4 and IPv6 (Google, Cloudflare, Quad9, OpenDNS, the
# RIPE NCC's k-root, the BBC, Wikimedia): their countries are read from the shipped database here,
# never written down from memory.
PUBLIC = ["8.8.8.8", "8.8.4.4", "1.1.1.1", "9.9.9.9", "208.67.222.222", "193.0.14.129", "212.58.244.20",
          "185.15.59.224", "2001:4860:4860::8888", "2606:4700:4700::1111", "2620:fe::fe", "2001:7fd::1",
          "2a00:1450:4009::1"]
# iptocc's own documented answers (its README): 8.8.8.8 is US, 1.0.16.1 is JP.
DOCUMENTED = {"8.8.8.8": "US", "1.0.16.1": "JP"}
# RFC 1918, loopback, link-local, carrier-grade NAT, IPv6 loopback, link-local and unique-local, an
# IPv4-mapped private address, documentation and benchmarking ranges, the unspecified address.
LOCAL = ["10.0.0.1", "172.16.5.4", "172.31.255.255", "192.168.1.1", "127.0.0.1", "169.254.10.20", "100.64.0.1",
         "::1", "fe80::1", "fd12:3456:789a::1", "fc00::1", "::ffff:192.168.0.1", "192.0.2.7", "198.18.0.1",
         "2001:db8::1", "0.0.0.0", "::"]


def test_the_database_places_the_addresses_it_documents():
    assert countries_of(list(DOCUMENTED)) == list(DOCUMENTED.values())


def test_public_addresses_get_the_shipped_databases_country_as_a_named_iso_code():
    names = json.loads(Path(wheelstats.__file__).with_name("country_names.json").read_text())
    found = countries_of(PUBLIC)
    assert found == [iptocc.country_code(address) for address in PUBLIC]
    for address, code in zip(PUBLIC, found):
        assert code in names, (address, code)  # a real ISO 3166-1 code, never one of ours
        assert country_name(code) == names[code]
    assert {ipaddress.ip_address(a).version for a in PUBLIC} == {4, 6}


def test_an_ipv4_mapped_ipv6_address_is_placed_as_its_ipv4_address():
    assert countries_of(["::ffff:8.8.8.8", "::ffff:1.0.16.1"]) == countries_of(["8.8.8.8", "1.0.16.1"])


@pytest.mark.parametrize("address", LOCAL)
def test_private_loopback_and_other_non_public_ranges_are_local(address):
    assert countries_of([address]) == [LOCAL_COUNTRY]


def test_what_no_registry_places_or_is_no_address_is_unknown():
    not_addresses = ["crawler.example.com", "", "999.1.1.1", "-"]
    assert countries_of(not_addresses) == [UNPLACED_COUNTRY] * len(not_addresses)


def test_the_codes_that_are_not_countries_are_iso_user_assigned_and_named():
    names = json.loads(Path(wheelstats.__file__).with_name("country_names.json").read_text())
    assert LOCAL_COUNTRY not in names and UNPLACED_COUNTRY not in names
    assert (country_name(LOCAL_COUNTRY), country_name(UNPLACED_COUNTRY), country_name(None)) == \
        ("local network", "unknown", "not looked up")


def test_many_addresses_in_one_call_keep_their_order():
    addresses = (PUBLIC + LOCAL) * 50
    assert countries_of(addresses) == [countries_of([a])[0] for a in addresses]
