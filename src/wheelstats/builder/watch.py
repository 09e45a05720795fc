"""`wheelstats build --watch`: poll the source, build what appears, until asked to stop.

Each round plans the queue anew from the source (an index is asked with
conditional requests, so an unchanged page costs a 304), builds what is
pending, refreshes the live figures if anything was recorded, and waits
`every_s` seconds or until the builder's `stop` is set (SIGTERM), whichever
comes first. A source that cannot be read (the index is down) is said and
asked again next round: a service outlives its index's restarts. A build
running when `stop` is set is killed and not recorded: the next run builds it
again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from wheelstats.builder.queue import Plan, Spec
from wheelstats.builder.runner import Builder, RunTotals
from wheelstats.builder.sources import SourceError


@dataclass(frozen=True, slots=True)
class Round:
    number: int
    plan: Plan
    totals: RunTotals


def watch(builder: Builder, specs: Sequence[Spec], every_s: float,
          on_round: Callable[[Round], None] = lambda finished: None,
          on_unreadable: Callable[[SourceError], None] = lambda error: None) -> int:
    """Poll and build until `builder.stop` is set; returns how many rounds ran."""
    number = 0
    while not builder.stop.is_set():
        number += 1
        try:
            planned = builder.plan(specs)
        except SourceError as error:
            on_unreadable(error)
            if builder.stop.wait(every_s):
                break
            continue
        totals = builder.build_all(planned.pending)
        if totals.recorded:
            builder.refresh_live_figures()
        builder.close()  # the store is free until the next round
        on_round(Round(number, planned, totals))
        if builder.stop.wait(every_s):
            break
    return number
