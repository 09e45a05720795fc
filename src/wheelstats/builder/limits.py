"""A build's limits: wall-clock time, memory and CPU time, and how the command line spells them.

    --timeout 30m      seconds (90s), minutes (30m), hours (2h), or a combination (1h30m)
    --memory 2GiB      bytes with a unit: KiB, MiB, GiB (or kB, MB, GB; K, M, G mean KiB, MiB, GiB)
    --cpu-time 30m     like --timeout; the default is the timeout

wheelstats.builder.supervise enforces them: the timeout and the CPU time of the
whole build (every process it starts) by killing its process group, the memory
as each process's address-space limit (RLIMIT_AS).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(h|m|s)", re.IGNORECASE)
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}
BINARY = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
DECIMAL = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
LEAST_MEMORY = 64 << 20  # below this pip itself cannot start


class InvalidDuration(ValueError):
    def __init__(self, option: str, text: str) -> None:
        super().__init__(f"Invalid {option}: {text!r}. Give a duration like 90s, 30m, 2h or 1h30m.")


class InvalidSize(ValueError):
    def __init__(self, option: str, text: str, why: str = "") -> None:
        super().__init__(f"Invalid {option}: {text!r}{why}. Give a size like 512MiB or 2GiB.")


def parse_duration(text: str, option: str = "--timeout") -> float:
    """Seconds in '90s', '30m', '2h', '1h30m' (a bare number is seconds)."""
    stripped = text.strip()
    try:
        seconds = float(stripped)
    except ValueError:
        parts = DURATION_PART.findall(stripped)
        if not parts or DURATION_PART.sub("", stripped).strip():
            raise InvalidDuration(option, text) from None
        seconds = sum(float(amount) * UNIT_SECONDS[unit.lower()] for amount, unit in parts)
    if not 0 < seconds < float("inf"):
        raise InvalidDuration(option, text)
    return seconds


def parse_size(text: str, option: str = "--memory") -> int:
    """Bytes in '512MiB', '2GiB', '2G' (binary), '2GB' (decimal) or a bare number of bytes."""
    match = SIZE.match(text)
    if not match:
        raise InvalidSize(option, text)
    amount, prefix, suffix = match[1], match[2].lower(), match[3].lower()
    decimal = suffix == "b" and prefix != ""
    size = int(float(amount) * (DECIMAL if decimal else BINARY)[prefix])
    if size < LEAST_MEMORY:
        raise InvalidSize(option, text, f" (at least {LEAST_MEMORY >> 20}MiB: pip needs that much to start)")
    return size


def describe_seconds(seconds: float) -> str:
    """A duration as the options spell it: 45s, 30m, 1h30m, 2.5s."""
    if seconds < 60:
        return f"{seconds:g}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return "".join(f"{value}{unit}" for value, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if value)


def describe_size(size: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"


@dataclass(frozen=True, slots=True)
class BuildLimits:
    timeout_s: float  # wall clock, from start to the end of pip
    memory_bytes: int | None  # each process's address space; None: no limit
    cpu_s: float  # CPU time of the whole build, every process together

    def describe(self) -> str:
        memory = describe_size(self.memory_bytes) if self.memory_bytes else "no memory limit"
        return f"timeout {describe_seconds(self.timeout_s)}, {memory}, CPU time {describe_seconds(self.cpu_s)}"
