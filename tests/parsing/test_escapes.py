"""Escape styles: whatever a server's rules escape, each style's Python and SQL decoders give the original back.

The writers here are the servers' own rules, written from their C sources,
independently of the decoders: Apache's ap_escape_logitem (server/util.c),
nginx's ngx_http_log_escape (escape=default) and ngx_escape_json (escape=json).
"""

from __future__ import annotations

import urllib.parse

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wheelstats.parsing.escapes import ESCAPE_STYLES, EscapeStyleError, escape_style


def apache_escaped(text: str) -> str:
    """ap_escape_logitem: \\" \\\\ and \\b \\n \\r \\t \\v; every other byte outside printable ASCII as \\xhh."""
    letters = {ord('"'): '\\"', ord("\\"): "\\\\", 8: "\\b", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}
    return "".join(
        letters.get(byte) or (chr(byte) if 0x20 <= byte < 0x7F else f"\\x{byte:02x}") for byte in text.encode()
    )


def nginx_escaped(text: str) -> str:
    """ngx_http_log_escape: controls, the quote, the backslash, DEL and bytes 80-FF as \\xHH."""
    return "".join(
        f"\\x{byte:02X}" if byte < 0x20 or byte in b'"\\' or byte >= 0x7F else chr(byte) for byte in text.encode()
    )


def json_escaped(text: str) -> str:
    """ngx_escape_json: \\" \\\\, \\n \\r \\t \\b \\f, other controls as \\u00xx; all else as it is."""
    letters = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
    return "".join(
        letters.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20 else c) for c in text
    )


def haproxy_escaped(text: str) -> str:
    """HAProxy's captured headers and request line: '#' and the hex of controls, DEL, bytes 80-FF, and of
    the quote, '#', '{', '|' and '}' (which would end the field)."""
    return "".join(
        f"#{byte:02X}" if byte < 0x20 or byte >= 0x7F or byte in b'"#{|}' else chr(byte) for byte in text.encode()
    )


def url_encoded(text: str) -> str:
    """CloudFront's agent and referrer: URL-encoded (urllib's quote, as many writers do)."""
    return urllib.parse.quote(text, safe="/:;,()=?&")


def csv_quoted(text: str) -> str:
    """The inside of a CSV field: a quote written twice."""
    return text.replace('"', '""')


WRITERS = {"apache": apache_escaped, "nginx": nginx_escaped, "json": json_escaped, "haproxy": haproxy_escaped,
           "url": url_encoded, "csv": csv_quoted}
READ_BY_AUTO = ("apache", "nginx", "json")  # the escapes of quoted fields that --escape auto reads

# Text full of what escaping is about: quotes, backslashes, the letters that follow a
# backslash in some style (x, u, n, t, /, hex digits), controls, DEL, non-ASCII.
TRICKY = st.text(st.sampled_from(list('\\"xXuUntbfrv/0189aAfFdD{}: -é\x00\x01\t\n\r\x7f\x80\u2603\U0001F600')))
AGENTS = st.one_of(st.text(), TRICKY)

con = duckdb.connect()


def sql_unescaped(style_name: str, logged: list[str]) -> list[str]:
    """The SQL decoder run over `logged` in one query, in order."""
    style = escape_style(style_name)
    rows = con.execute(
        f"SELECT {style.unescape_sql('field')} FROM (SELECT unnest(?) AS field, generate_subscripts(?, 1) AS n) "
        "ORDER BY n", [logged, logged]
    ).fetchall()
    return [value for (value,) in rows]


@pytest.mark.parametrize("writer", WRITERS)
@settings(max_examples=300, deadline=None)
@given(text=AGENTS)
def test_python_reads_back_what_each_server_wrote(writer, text):
    logged = WRITERS[writer](text)
    assert escape_style(writer).unescape(logged) == text
    if writer in READ_BY_AUTO:
        assert escape_style("auto").unescape(logged) == text  # the default reads every one of them


@pytest.mark.parametrize("writer", WRITERS)
@settings(max_examples=60, deadline=None)
@given(texts=st.lists(AGENTS, min_size=1, max_size=20))
def test_sql_reads_back_what_each_server_wrote(writer, texts):
    logged = [WRITERS[writer](text) for text in texts]
    assert sql_unescaped(writer, logged) == texts
    if writer in READ_BY_AUTO:
        assert sql_unescaped("auto", logged) == texts


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.one_of(st.text(), TRICKY, TRICKY.map(nginx_escaped), TRICKY.map(apache_escaped)),
                      min_size=1, max_size=20))
def test_sql_and_python_agree_on_any_input(texts):
    """On anything at all (malformed escapes, truncated sequences), both decoders give the same."""
    for name, style in ESCAPE_STYLES.items():
        assert sql_unescaped(name, texts) == [style.unescape(text) for text in texts], name


@given(text=st.text())
def test_none_decodes_nothing(text):
    assert escape_style("none").unescape(text) == text


@pytest.mark.parametrize(
    "style, logged, original",
    [
        ("nginx", r"pip/25.0 {\x22ci\x22:null}", 'pip/25.0 {"ci":null}'),
        ("nginx", r"caf\xC3\xA9 \x5C", "café \\"),                   # bytes of UTF-8, not characters
        ("apache", r"caf\xc3\xa9 \"q\" \\ \t", 'café "q" \\ \t'),
        ("apache", r"\\x41", r"\x41"),                                # an escaped backslash, then text
        ("json", r"\u00e9 \ud83d\ude00 \/ \f", "é 😀 / \f"),           # a surrogate pair is one character
        ("json", r"lone \ud800", r"lone \ud800"),                     # a lone surrogate stays as written
        ("nginx", r"caf\xE9 \xC3\xA9 \x22", r'caf\xE9 \xC3\xA9 "'),   # not UTF-8: bytes 80-FF stay as written
        ("nginx", r"\"kept\"", r"\"kept\""),                          # not an nginx sequence
        ("none", r"a\x22b", r"a\x22b"),
        ("auto", "trailing \\", "trailing \\"),
        ("haproxy", "pip/24.0 #7B#22ci#22:null#7D caf#C3#A9", 'pip/24.0 {"ci":null} café'),
        ("haproxy", "#7 #zz #", "#7 #zz #"),                           # not a sequence: as written
        ("url", "pip/24.0%20%7B%22ci%22:null%7D%20%E9", 'pip/24.0 {"ci":null} %E9'),  # %E9 alone is not UTF-8
        ("plus", "Mozilla/5.0+(X11;+Linux)", "Mozilla/5.0 (X11; Linux)"),  # IIS: a space as '+'
        ("csv", 'pip/24.0 {""ci"":null}', 'pip/24.0 {"ci":null}'),
    ],
)
def test_examples(style, logged, original):
    assert escape_style(style).unescape(logged) == original
    assert sql_unescaped(style, [logged]) == [original]


def test_an_unknown_style_is_refused_with_the_choices():
    with pytest.raises(EscapeStyleError) as error:
        escape_style("apache2")
    assert str(error.value) == (
        "Unknown escape style 'apache2'. Use one of: auto, apache, nginx, json, none, haproxy, url, plus, csv "
        "(nginx's escape=default is nginx)."
    )
