"""What is built from the reader's cached answers (chart specs, HTML pages), kept while those answers last.

The CachedReader hands out the same answer object for as long as the store is
unchanged, so anything built from answers can be kept with them: each key (a
page or chart and the request's query) holds the latest thing built and the
objects it was built from, and counts as a hit only while the request presents
those very objects again. A new answer replaces the entry, so each key holds
one value, and at most `entries` keys are kept (the least recently used go).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Derived(Generic[T]):
    sources: tuple  # the objects it was built from, kept alive so that their ids stay theirs
    value: T


class DerivedCache(Generic[T]):
    """A bounded, thread-safe map from a key to what was last built for it, and from what."""

    def __init__(self, entries: int):
        self.entries = entries
        self._built: collections.OrderedDict[tuple, Derived[T]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._built)

    def get(self, key: Hashable, sources: tuple, build: Callable[[], T]) -> T:
        """`build()`, or what it returned before for the same key from the same source objects."""
        with self._lock:
            cached = self._built.get(key)
        if cached is not None and len(cached.sources) == len(sources) and all(
                kept is given for kept, given in zip(cached.sources, sources)):
            return cached.value
        value = build()
        with self._lock:
            self._built[key] = Derived(sources, value)
            self._built.move_to_end(key)
            while len(self._built) > self.entries:
                self._built.popitem(last=False)
        return value
