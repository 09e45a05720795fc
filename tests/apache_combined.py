"""A strict Apache combined-format matcher for the simulator's tests (independent of ingest)."""

import re

QUOTED = r'"((?:[^"\\]|\\.)*)"'
COMBINED = re.compile(
    r"^(?P<client>[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9a-f:]+) - - "
    r"\[(?P<time>\d{2}/(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] "
    r'"(?P<method>GET|HEAD|POST) (?P<path>/\S*) HTTP/1\.1" (?P<status>[1-5]\d\d) (?P<size>\d+|-) '
    + QUOTED.replace("(", "(?P<referrer>", 1) + " " + QUOTED.replace("(", "(?P<agent>", 1) + "$"
)


def unescape(field: str) -> str:
    return re.sub(r"\\(.)", r"\1", field)
