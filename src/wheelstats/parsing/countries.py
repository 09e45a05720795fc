"""The country of a client address, offline: what a hit keeps of where it came from.

A country is looked up once per distinct address, before the address is hashed
(store.privacy), and only its ISO 3166-1 alpha-2 code is kept, never more detail.
The lookup is `iptocc` (PyPI): the five Regional Internet Registries' delegation
files, compiled into the wheel (no file or network access at run time), IPv4
and IPv6, about 0.1 µs an address in batches. A registry says which country an
address block was assigned to, which for a download is nearly always where it
was made from (it agrees with MaxMind's GeoLite2 for about 95% of IPv4).

Every stored country is two characters, so the column stays narrow:

    an ISO 3166-1 alpha-2 code   the registries place the address there (GB, US, JP...)
    LOCAL ("XL")                 a private, loopback, link-local, shared or otherwise
                                 non-public address: the download came from inside
    UNPLACED ("ZZ")              a public address no registry places, or not an address
                                 (a host name logged by HostnameLookups)

XL and ZZ are from ISO 3166's user-assigned range, so no country will ever have them
(ZZ is CLDR's "unknown region"). A hit whose country was never looked up (stored
before countries were, with `--country off`, or without a client) has none (NULL).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import iptocc

from wheelstats.facets import LOCAL_COUNTRY as LOCAL, UNPLACED_COUNTRY as UNPLACED


def _unplaced(address: str) -> str:
    """The code of an address the registries do not place: LOCAL if it is not public."""
    try:
        parsed = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return UNPLACED
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:  # ::ffff:8.8.8.8
        parsed = parsed.ipv4_mapped
        if parsed.is_global:
            return iptocc.country_code(str(parsed)) or UNPLACED
    return UNPLACED if parsed.is_global else LOCAL


def countries_of(addresses: Sequence[str]) -> list[str]:
    """The stored country code of each address (see the module's docstring), in order."""
    if not addresses:
        return []
    found = iptocc.country_code(list(addresses))
    return [code if code is not None else _unplaced(address) for address, code in zip(addresses, found)]
