"""The prefetcher's memory bound: responses pause while the reader lags, and resume for it."""

from __future__ import annotations

import random
import threading
import time

from fastzips3._engine.prefetch import _LATER_PIECE, PrefetchConfig, Prefetcher

MiB = 1 << 20


class _Stream:
    """A response body over ``data[start:end]`` that counts what it served."""

    def __init__(self, data: bytes, start: int, end: int, served: list[int]) -> None:
        self._data = data
        self._pos = start
        self._end = end
        self._served = served
        self._lock = threading.Lock()

    def read(self, size: int = -1, /) -> bytes:
        end = self._end if size < 0 else min(self._end, self._pos + size)
        piece = self._data[self._pos : end]
        self._pos = end
        with self._lock:
            self._served[0] += len(piece)
        return piece

    def close(self) -> None:
        pass


def _settled(served: list[int]) -> int:
    """What the workers served once they stopped (paused or finished)."""
    last = -1
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        now = served[0]
        if now == last:
            return now
        last = now
        time.sleep(0.05)
    raise AssertionError("the workers never stopped reading")


def test_a_lagging_reader_holds_a_few_chunks_not_the_window() -> None:
    data = random.Random(11).randbytes(48 * MiB)
    served = [0]
    config = PrefetchConfig(chunk_size=2 * MiB, concurrency=8, max_ahead=32 * MiB)
    prefetcher = Prefetcher(
        lambda s, e: _Stream(data, s, e, served), 0, len(data), config, name="fastzips3-test"
    )
    try:
        out = [prefetcher.read(_LATER_PIECE)]
        while sum(map(len, out)) < 8 * MiB:  # the window opens with use
            out.append(prefetcher.read(_LATER_PIECE))
        unread = _settled(served) - sum(map(len, out))
        # At most the cap, plus one piece per response that was reading when it was reached.
        assert unread <= config.buffered_cap + config.concurrency * _LATER_PIECE
        assert unread < config.max_ahead // 2
        while piece := prefetcher.read(3 * MiB):
            out.append(piece)
        assert b"".join(out) == data
    finally:
        prefetcher.close()
    assert prefetcher.threads_alive == 0


def test_one_response_holds_at_most_its_share() -> None:
    data = random.Random(12).randbytes(16 * MiB)
    served = [0]
    config = PrefetchConfig(
        chunk_size=8 * MiB, concurrency=2, max_ahead=16 * MiB, max_buffered=64 * MiB
    )
    prefetcher = Prefetcher(
        lambda s, e: _Stream(data, s, e, served), 0, len(data), config, name="fastzips3-test"
    )
    try:
        first = prefetcher.read(_LATER_PIECE)
        second = prefetcher.read(_LATER_PIECE)  # past the first piece: both GETs run
        unread = _settled(served) - len(first) - len(second)
        # Each response pauses at half a chunk (plus the piece it was reading).
        assert unread <= 2 * (config.held_cap + _LATER_PIECE)
        rest = [first, second]
        while piece := prefetcher.read(MiB):
            rest.append(piece)
        assert b"".join(rest) == data
    finally:
        prefetcher.close()


def test_close_wakes_paused_responses() -> None:
    data = bytes(32 * MiB)
    served = [0]
    config = PrefetchConfig(chunk_size=4 * MiB, concurrency=4, max_ahead=32 * MiB)
    prefetcher = Prefetcher(
        lambda s, e: _Stream(data, s, e, served), 0, len(data), config, name="fastzips3-test"
    )
    for _ in range(4):
        prefetcher.read(MiB)
    _settled(served)
    prefetcher.close()
    assert prefetcher.threads_alive == 0


def test_workers_linger_instead_of_one_thread_per_chunk() -> None:
    """A reader that keeps up empties the queue again and again: idle workers wait a moment
    for the next chunk rather than end, so a long read starts about ``concurrency`` threads,
    not one per chunk (57 per 1 GiB member before)."""
    data = random.Random(12).randbytes(40 * MiB)
    served = [0]
    config = PrefetchConfig(chunk_size=1 * MiB, concurrency=4, max_ahead=4 * MiB)
    prefetcher = Prefetcher(
        lambda s, e: _Stream(data, s, e, served), 0, len(data), config, name="fastzips3-test"
    )
    try:
        out = []
        while piece := prefetcher.read(_LATER_PIECE):
            out.append(piece)
        assert b"".join(out) == data
        assert len(prefetcher._threads) <= 2 * config.concurrency
    finally:
        prefetcher.close()
    assert prefetcher.threads_alive == 0
