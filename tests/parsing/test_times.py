"""Time styles: every way a format writes a time reads back as the same UTC instant, and nonsense as NULL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wheelstats.parsing.times import ANY_TIME, CLF, CLF_MILLISECONDS, EPOCH, ISO8601, TimeStyle

con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")  # as the store's connection


def read(style: TimeStyle, texts: list[str | None]) -> list[datetime | None]:
    rows = con.execute(
        f"SELECT {style.timestamp_sql('t')} FROM (SELECT unnest(?::VARCHAR[]) AS t, generate_subscripts(?, 1) AS n) "
        "ORDER BY n", [texts, texts]
    ).fetchall()
    return [value for (value,) in rows]


AT = datetime(2026, 3, 5, 10, 0, 1, 250000)


@pytest.mark.parametrize("style, text, expected", [
    (CLF, "05/Mar/2026:11:00:01 +0100", AT.replace(microsecond=0)),
    (CLF_MILLISECONDS, "05/Mar/2026:10:00:01.250", AT),                 # HAProxy's %tr
    (ISO8601, "2026-03-05T10:00:01.250Z", AT),
    (ISO8601, "2026-03-05T12:00:01.25+02:00", AT),                      # nginx's $time_iso8601 with an offset
    (ISO8601, "2026-03-05T10:00:01.250000000Z", AT),                    # Traefik's nanoseconds
    (ISO8601, "2026-03-05T10:00:01+0000", AT.replace(microsecond=0)),   # Fastly's %z
    (EPOCH, "1772704801.25", AT),                                       # Caddy: seconds
    (EPOCH, "1772704801250", AT),                                       # milliseconds
    (EPOCH, "1772704801250000", AT),                                    # microseconds (Cloud Storage)
    (EPOCH, "1772704801250000000", AT),                                 # nanoseconds (Cloudflare)
    (EPOCH, "1.77270480125E9", AT),                                     # a JSON number in exponent form
    (ANY_TIME, "1772704801.25", AT),
    (ANY_TIME, "2026-03-05T10:00:01.250Z", AT),
    (ANY_TIME, "05/Mar/2026:10:00:01 +0000", AT.replace(microsecond=0)),  # nginx's $time_local
])
def test_each_style_reads_its_times(style, text, expected):
    assert read(style, [text]) == [expected]


@pytest.mark.parametrize("style", [CLF, CLF_MILLISECONDS, ISO8601, EPOCH, ANY_TIME])
def test_what_is_no_time_reads_as_null(style):
    assert read(style, ["", "-", "yesterday", "1e300", "nan", "inf", None]) == [None] * 7


@settings(max_examples=100, deadline=None)
@given(at=st.datetimes(min_value=datetime(1996, 1, 1), max_value=datetime(2100, 1, 1)))
def test_an_epoch_number_reads_the_same_in_any_unit(at):
    microseconds = (at - datetime(1970, 1, 1)) // timedelta(microseconds=1)
    texts = [str(microseconds // 1000), f"{microseconds / 1e6:.6f}", str(microseconds), str(microseconds * 1000)]
    assert read(EPOCH, texts) == [at.replace(microsecond=at.microsecond // 1000 * 1000)] + [at] * 3


def test_an_offset_is_taken_into_account_whatever_the_session_zone():
    assert read(ISO8601, ["2026-03-05T05:00:01.25-05:00"]) == [AT]
    assert datetime(2026, 3, 5, 10, 0, 1, 250000, tzinfo=UTC).timestamp() == 1772704801.25
