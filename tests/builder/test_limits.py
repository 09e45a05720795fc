"""Limits as the command line spells them: durations and sizes, and the errors for bad ones."""

from __future__ import annotations

import pytest

from wheelstats.builder.limits import (
    BuildLimits, InvalidDuration, InvalidSize, describe_seconds, describe_size, parse_duration, parse_size,
)


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90), ("90s", 90), ("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("1h 30m 15s", 5415), ("0.5s", 0.5),
    ("2H", 7200),
])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "30x", "0", "-5s", "1h30", "m", "inf"])
def test_a_bad_duration_names_the_option_and_shows_good_ones(text):
    with pytest.raises(InvalidDuration) as error:
        parse_duration(text, "--every")
    assert str(error.value) == f"Invalid --every: {text!r}. Give a duration like 90s, 30m, 2h or 1h30m."


@pytest.mark.parametrize(("text", "size"), [
    ("2GiB", 2 << 30), ("512MiB", 512 << 20), ("512M", 512 << 20), ("2G", 2 << 30), ("2GB", 2_000_000_000),
    ("100MB", 100_000_000), ("1.5GiB", 3 << 29), ("1TiB", 1 << 40), (str(256 << 20), 256 << 20), ("512 mib", 512 << 20),
])
def test_sizes(text, size):
    assert parse_size(text) == size


def test_a_bad_size_says_how_to_write_one():
    with pytest.raises(InvalidSize) as error:
        parse_size("lots")
    assert str(error.value) == "Invalid --memory: 'lots'. Give a size like 512MiB or 2GiB."
    with pytest.raises(InvalidSize) as error:
        parse_size("1MiB")
    assert str(error.value) == ("Invalid --memory: '1MiB' (at least 64MiB: pip needs that much to start). "
                                "Give a size like 512MiB or 2GiB.")


def test_limits_are_described_as_they_are_spelled():
    assert [describe_seconds(s) for s in (2, 0.5, 90, 1800, 5400, 5415, 7200)] == [
        "2s", "0.5s", "1m30s", "30m", "1h30m", "1h30m15s", "2h"]
    assert [describe_size(s) for s in (2 << 30, 384 << 20, 100_000_000)] == ["2GiB", "384MiB", "100000000B"]
    assert BuildLimits(1800, 2 << 30, 1800).describe() == "timeout 30m, 2GiB, CPU time 30m"
    assert BuildLimits(5, None, 5).describe() == "timeout 5s, no memory limit, CPU time 5s"
