"""Request and byte counters, so tests and users can see the plan."""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["Stats", "StatsSnapshot"]


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    """Counters at one moment."""

    requests: int
    bytes_fetched: int
    cache_hits: int
    cache_misses: int


class Stats:
    """Thread-safe counters of the requests one archive or file made.

    ``requests`` counts every request sent to the source (GET or HEAD); ``bytes_fetched`` counts
    response body bytes received.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = 0
        self._bytes = 0
        self._hits = 0
        self._misses = 0

    @property
    def requests(self) -> int:
        """Requests sent so far."""
        return self._requests

    @property
    def bytes_fetched(self) -> int:
        """Response body bytes received so far."""
        return self._bytes

    @property
    def cache_hits(self) -> int:
        """Block cache hits."""
        return self._hits

    @property
    def cache_misses(self) -> int:
        """Block cache misses (each part of some request)."""
        return self._misses

    def add_request(self, count: int = 1) -> None:
        """Count requests."""
        with self._lock:
            self._requests += count

    def add_bytes(self, count: int) -> None:
        """Count received bytes."""
        with self._lock:
            self._bytes += count

    def add_cache(self, *, hits: int = 0, misses: int = 0) -> None:
        """Count cache lookups."""
        with self._lock:
            self._hits += hits
            self._misses += misses

    def snapshot(self) -> StatsSnapshot:
        """A frozen copy of the counters."""
        with self._lock:
            return StatsSnapshot(self._requests, self._bytes, self._hits, self._misses)

    def __repr__(self) -> str:
        return (
            f"Stats(requests={self._requests}, bytes_fetched={self._bytes}, "
            f"cache_hits={self._hits}, cache_misses={self._misses})"
        )
