"""Escape styles: how a server writes special bytes inside a quoted log field, and how to read them back.

Apache writes a quote as `\\"`, a backslash as `\\\\`, a few controls as `\\n`,
`\\t`... and any other byte outside printable ASCII as `\\xhh`. nginx
(`escape=default`) writes all of them, quote and backslash included, as `\\xHH`;
with `escape=json` it writes JSON's `\\"`, `\\\\`, `\\n`... and `\\u00XX`, and other
bytes as they are; with `escape=none` it writes everything as it is.

Each style is data (which sequences it has); the Python decoder (for agents,
once per distinct agent) and the SQL decoder (for referrers, in the block's
query) are both generated from it, so they cannot disagree. `\\xHH` sequences
are bytes of UTF-8 text: `\\xC3\\xA9` is "é", not "Ã©". If a field's bytes are
not UTF-8, its `\\xHH` escapes of bytes 80-FF stay as written (everything else
is still decoded), in both decoders.

The writers never collide: each escapes the backslash itself, so a backslash
in a log is always the start of one of its own sequences. `auto` (the default)
therefore reads Apache's, nginx's default and nginx's JSON escapes alike;
`none` cannot be decoded at all (a quote inside a field looks like its end).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

BACKSLASH = "\\"
SURROGATES = range(0xD800, 0xE000)
REPLACEMENT_CODEPOINT = 0xFFFD  # stands in for a surrogate where SQL's chr() must not see one

# The letter after a backslash and the character it stands for.
APACHE_LETTERS = {'"': '"', "\\": "\\", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
JSON_LETTERS = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}

HEX = "[0-9A-Fa-f]"
SURROGATE_PAIR = rf"\\u[dD][89abAB]{HEX}{{2}}\\u[dD][c-fC-F]{HEX}{{2}}"
UNICODE = rf"\\u{HEX}{{4}}"
HEX_BYTE = rf"\\x{HEX}{{2}}"
TEXT = r"[^\\]+"

# The inside of a quoted field. With escapes, a quote inside a field is always
# escaped; without (`none`) a field ends at the first quote that lets the rest
# of the line match.
ESCAPED_QUOTED = r'(?:[^"\\]|\\.)*'
UNESCAPED_QUOTED = r".*?"
DOUBLED_QUOTED = r'(?:[^"]|"")*'  # CSV: a quote inside a field is written twice


class EscapeStyleError(ValueError):
    def __init__(self, name: str):
        super().__init__(
            f"Unknown escape style {name!r}. Use one of: {', '.join(ESCAPE_STYLES)} (nginx's escape=default is nginx)."
        )


@dataclass(frozen=True, slots=True)
class EscapeStyle:
    """The escape sequences one kind of server writes inside its log fields.

    Most start with a backslash (`escape_char`); HAProxy writes a byte as `#HH`,
    CloudFront as `%HH`, IIS a space as `+`, a CSV file a quote as `""`.
    """

    name: str
    letters: tuple[tuple[str, str], ...] = ()  # (letter after the escape char, the character it stands for)
    hex_bytes: bool = False   # \xHH (escape char, hex_prefix, two hex digits) is one byte of UTF-8 text
    unicode: bool = False     # \uXXXX is a UTF-16 code unit (a surrogate pair is one character)
    escape_char: str = BACKSLASH
    hex_prefix: str = "x"
    lone: str | None = None   # what the escape char alone stands for (None: itself)

    @property
    def decodes(self) -> bool:
        return bool(self.letters or self.hex_bytes or self.unicode or self.lone is not None)

    @property
    def quoted_regex(self) -> str:
        """RE2 (and Python) pattern for the inside of a quoted field written in this style."""
        if not self.decodes:
            return UNESCAPED_QUOTED
        if self.escape_char == BACKSLASH:
            return ESCAPED_QUOTED
        if self.escape_char == '"':
            return DOUBLED_QUOTED
        return r'[^"]*'  # a quote is written as an escape: none inside a field

    @property
    def token_regex(self) -> str:
        """One token of a field: an escape sequence of this style, a lone escape char, or a run of text.

        The same pattern serves Python's `re` and DuckDB's RE2 (leftmost-first alternation).
        """
        return self.escape_regex + "|[^" + re.escape(self.escape_char) + "]+"

    @property
    def escape_regex(self) -> str:
        """The tokens of a field that start with the escape char: an escape sequence, or the escape char alone."""
        tokens = []
        if self.unicode:
            tokens += [SURROGATE_PAIR, UNICODE]
        if self.hex_bytes:
            tokens.append(re.escape(self.escape_char + self.hex_prefix) + HEX + "{2}")
        if self.letters:
            tokens.append(re.escape(self.escape_char) + "[" + "".join(re.escape(letter) for letter, _ in self.letters) + "]")
        return "|".join(tokens + [re.escape(self.escape_char)])

    # -- Python -----------------------------------------------------------------

    def unescape(self, logged: str) -> str:
        """The original text of a field as this style wrote it."""
        if not self.decodes or self.escape_char not in logged:
            return logged
        # Each escape replaced by its bytes in the field's UTF-8, the text between them left as it is (a pip agent's
        # JSON holds dozens of escapes): the escapes are ASCII, so none is found inside another character's bytes.
        escapes, data = _compiled(self.escape_regex.encode()), logged.encode()
        try:
            return escapes.sub(_escape_bytes(self, keep_high_bytes=False), data).decode()
        except UnicodeDecodeError:
            return escapes.sub(_escape_bytes(self, keep_high_bytes=True), data).decode()

    # -- SQL ----------------------------------------------------------------------

    def unescape_sql(self, expression: str) -> str:
        """A DuckDB expression for the original text of the field in `expression` (a column).

        Each token becomes the hex of its bytes, joined once and turned into
        text (concatenating bytes token by token would take quadratic time).
        """
        if not self.decodes:
            return expression
        tokens = f"regexp_extract_all({expression}, {sql_literal(self.token_regex)})"

        def text(keep_high_bytes: bool) -> str:
            token = self._token_hex_sql("t", keep_high_bytes)
            return f"decode(unhex(array_to_string(list_transform({tokens}, lambda t: {token}), '')))"

        return (
            f"CASE WHEN contains({expression}, {sql_literal(self.escape_char)}) "
            f"THEN coalesce(try({text(False)}), {text(True)}) ELSE {expression} END"
        )

    def _token_hex_sql(self, t: str, keep_high_bytes: bool) -> str:
        """SQL for the hex of the UTF-8 bytes one token stands for (the SQL twin of `_token_bytes`)."""
        as_written = f"hex({t})"
        escape = sql_literal(self.escape_char)
        cases = []
        if self.lone is not None:
            cases.append(f"WHEN {t} = {escape} THEN '{self.lone.encode().hex()}'")
        cases.append(f"WHEN {t}[1] <> {escape} OR length({t}) = 1 THEN {as_written}")
        if self.unicode:
            high = f"('0x' || substr({t}, 3, 4))::INTEGER"
            low = f"('0x' || substr({t}, 9, 4))::INTEGER"
            cases.append(f"WHEN length({t}) = 12 THEN hex(chr(65536 + ({high} - 55296) * 1024 + ({low} - 56320)))")
            lone = f"{high} BETWEEN {SURROGATES.start} AND {SURROGATES.stop - 1}"
            cases.append(
                f"WHEN {t}[2] = 'u' AND length({t}) = 6 THEN CASE WHEN {lone} THEN {as_written} "
                f"ELSE hex(chr(CASE WHEN {lone} THEN {REPLACEMENT_CODEPOINT} ELSE {high} END)) END"
            )
        if self.hex_bytes:
            start = len(self.escape_char + self.hex_prefix) + 1
            byte = f"substr({t}, {start}, 2)"
            if keep_high_bytes:
                byte = f"CASE WHEN ('0x' || {byte})::INTEGER < 128 THEN {byte} ELSE {as_written} END"
            cases.append(
                f"WHEN starts_with({t}, {sql_literal(self.escape_char + self.hex_prefix)}) "
                f"AND length({t}) = {start + 1} THEN {byte}"
            )
        for letter, character in self.letters:
            cases.append(f"WHEN {t} = {sql_literal(self.escape_char + letter)} THEN '{character.encode().hex()}'")
        return "CASE " + " ".join(cases) + f" ELSE {as_written} END"


def _token_bytes(token: str, style: EscapeStyle, *, keep_high_bytes: bool) -> bytes:
    """The UTF-8 bytes one token of `EscapeStyle.token_regex` stands for."""
    if token == style.escape_char and style.lone is not None:
        return style.lone.encode()
    if token[0] != style.escape_char or len(token) == 1:
        return token.encode()
    hex_start = style.escape_char + style.hex_prefix
    if style.unicode and token[1] == "u" and len(token) == 12:  # a surrogate pair
        high, low = int(token[2:6], 16), int(token[8:12], 16)
        return chr(0x10000 + (high - 0xD800) * 0x400 + (low - 0xDC00)).encode()
    if style.unicode and token[1] == "u" and len(token) == 6:
        codepoint = int(token[2:], 16)
        return token.encode() if codepoint in SURROGATES else chr(codepoint).encode()
    if style.hex_bytes and token.startswith(hex_start) and len(token) == len(hex_start) + 2:
        byte = int(token[len(hex_start):], 16)
        return token.encode() if keep_high_bytes and byte >= 0x80 else bytes([byte])
    letter = _letters(style).get(token[1:])
    return letter.encode() if letter is not None else token.encode()


@functools.cache
def _compiled(pattern: str | bytes) -> re.Pattern:
    return re.compile(pattern)


@functools.cache
def _letters(style: EscapeStyle) -> dict[str, str]:
    return dict(style.letters)


@functools.cache
def _escape_bytes(style: EscapeStyle, *, keep_high_bytes: bool) -> Callable[[re.Match[bytes]], bytes]:
    """The bytes an escape token (of `EscapeStyle.escape_regex`, in a field's UTF-8) stands for: the letters', the
    lone escape char's and the bytes' (in lower or upper case hex) looked up, the others (UTF-16 units) read."""
    tokens = [style.escape_char, *(style.escape_char + letter for letter, _ in style.letters)]
    if style.hex_bytes:
        hex_start = style.escape_char + style.hex_prefix
        tokens += [f"{hex_start}{byte:{case}}" for byte in range(256) for case in ("02x", "02X")]
    fixed = {token.encode(): _token_bytes(token, style, keep_high_bytes=keep_high_bytes) for token in tokens}

    def stands_for(token: re.Match[bytes]) -> bytes:
        known = fixed.get(token[0])
        return known if known is not None else _token_bytes(token[0].decode(), style, keep_high_bytes=keep_high_bytes)

    return stands_for


def sql_literal(text: str) -> str:
    """`text` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


# Apache httpd's ap_escape_logitem: \" \\ \b \n \r \t \v, and \xhh for any other byte outside printable ASCII.
APACHE = EscapeStyle("apache", tuple(APACHE_LETTERS.items()), hex_bytes=True)
# nginx's escape=default: \xHH for quotes, backslashes, controls and bytes outside printable ASCII.
NGINX = EscapeStyle("nginx", hex_bytes=True)
# nginx's escape=json: JSON's \" \\ \n \r \t \b \f (and \/), \u00XX for other controls.
JSON = EscapeStyle("json", tuple(JSON_LETTERS.items()), unicode=True)
# nginx's escape=none: nothing is escaped, so nothing can be decoded.
NONE = EscapeStyle("none")
# HAProxy's captured headers and request line: '#' and the hex of each byte it must not write as it is.
HAPROXY = EscapeStyle("haproxy", hex_bytes=True, escape_char="#", hex_prefix="")
# URL encoding (AWS CloudFront's agent and referrer): %HH.
URL = EscapeStyle("url", hex_bytes=True, escape_char="%", hex_prefix="")
# IIS's W3C logs: a space in a field is written as '+'.
PLUS = EscapeStyle("plus", escape_char="+", lone=" ")
# CSV (Google Cloud Storage's usage logs): a quote inside a quoted field is written twice.
CSV = EscapeStyle("csv", (('"', '"'),), escape_char='"')
# Any of apache, nginx and json: their sequences never mean two different things.
AUTO = EscapeStyle("auto", tuple({**APACHE_LETTERS, **JSON_LETTERS}.items()), hex_bytes=True, unicode=True)
ESCAPE_STYLES = {style.name: style for style in (AUTO, APACHE, NGINX, JSON, NONE, HAPROXY, URL, PLUS, CSV)}


def escape_style(name: str | EscapeStyle) -> EscapeStyle:
    """The style called `name` (a style is returned as it is)."""
    if isinstance(name, EscapeStyle):
        return name
    try:
        return ESCAPE_STYLES[name]
    except KeyError:
        raise EscapeStyleError(name) from None
