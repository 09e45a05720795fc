"""Time styles: how a format writes a hit's time, and the SQL that reads it as a UTC timestamp.

Apache's and nginx's `[10/Oct/2000:13:55:36 -0700]` (CLF) is one style; JSON
logs write epoch numbers (Caddy: seconds as a float; Cloudflare: nanoseconds)
or ISO 8601 text (nginx's $time_iso8601, Traefik, Fastly); W3C and CloudFront
logs a date and a time in UTC, joined by a space; HAProxy CLF with milliseconds
and no offset (its host's local time, taken as UTC). Each reading is SQL over
the time's text (the store's session is in UTC), NULL when the text does not
read, which rejects the line as `bad_time`.
"""

from __future__ import annotations

from dataclasses import dataclass

CLF_FORMAT = "%d/%b/%Y:%H:%M:%S %z"
# An epoch number's unit, told by its size: any time after 1973 in a smaller unit is above the next
# threshold, and any time before 5138 in a larger unit below it.
EPOCH_DIVISORS = ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3))


@dataclass(frozen=True, slots=True)
class TimeStyle:
    """One way of writing a time, and how it reads back in SQL."""

    name: str
    template: str  # SQL over {t}, the time's text, giving a TIMESTAMP in UTC (NULL: does not read)

    def timestamp_sql(self, expression: str) -> str:
        return self.template.format(t=expression)


def _epoch_sql(t: str) -> str:
    """Integers exactly (nanoseconds overflow a double's precision), other numbers as doubles."""
    n = f"(CASE WHEN regexp_full_match({t}, '-?[0-9]+') THEN try_cast({t} AS BIGINT) END)"
    (nano, _), (micro, _), (milli, _) = EPOCH_DIVISORS
    micros = (f"CASE WHEN abs({n}) >= {nano:.0f} THEN {n} // 1000 WHEN abs({n}) >= {micro:.0f} THEN {n} "
              f"WHEN abs({n}) >= {milli:.0f} THEN {n} * 1000 ELSE {n} * 1000000 END")
    number = f"try_cast({t} AS DOUBLE)"
    divisor = " ".join(f"WHEN abs({number}) >= {limit:g} THEN {scale:g}" for limit, scale in EPOCH_DIVISORS)
    seconds = f"({number} / CASE {divisor} ELSE 1 END)"
    return (f"CASE WHEN {n} IS NOT NULL THEN make_timestamp({micros}) "
            f"WHEN abs({seconds}) < 1e11 THEN make_timestamp(CAST(round({seconds} * 1e6) AS BIGINT)) END")


CLF = TimeStyle("clf", f"try_strptime({{t}}, '{CLF_FORMAT}')::TIMESTAMP")
# HAProxy's %tr: 06/Feb/2009:12:14:14.655, local time without an offset.
CLF_MILLISECONDS = TimeStyle("clf_ms", "try_strptime({t}, '%d/%b/%Y:%H:%M:%S.%g')")
# ISO 8601 / RFC 3339 with any fraction and offset (Z, +hh:mm); without an offset, UTC.
ISO8601 = TimeStyle(
    "iso8601", "CASE WHEN isfinite(try_cast({t} AS TIMESTAMPTZ)) THEN try_cast({t} AS TIMESTAMPTZ)::TIMESTAMP END"
)
# Seconds, milliseconds, microseconds or nanoseconds since 1970, told apart by their size.
EPOCH = TimeStyle("epoch", _epoch_sql("{t}"))
# Whichever of EPOCH, ISO8601 and CLF the text is (JSON logs, whose mapping names only the field).
ANY_TIME = TimeStyle(
    "any",
    "CASE WHEN try_cast({t} AS DOUBLE) IS NOT NULL THEN " + EPOCH.template
    + " ELSE coalesce(" + ISO8601.template + ", " + CLF.template + ") END",
)
