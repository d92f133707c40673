"""The prefetch engine: stream ``[start, end)`` with several ranged GETs in flight, in order.

A reader asks for bytes in order. Behind it, worker threads fetch fixed-size chunks of the range
with one GET each, and hand over each chunk's bytes piece by piece as they arrive, so the first
read returns as soon as the first piece of the first response is in, not when a whole chunk is.

- **Read-ahead grows with use.** At first only ``initial_ahead`` bytes are requested (one GET
  for a member that fits in a chunk); then the window is twice what the reader has consumed,
  up to ``max_ahead``. A reader that stops early (reads one line of a 5 GB member) costs one
  chunk, not the whole window.
- **Memory is capped**: bytes fetched but not yet read never exceed ``max_ahead``.
- **Backpressure.** GETs start ``max_ahead`` ahead, but a response is read on only while the
  bytes received and not yet read stay under ``max_buffered``, and the unread bytes its
  worker thread fetched (this response and its earlier ones) under ``max_held``; past that it
  waits (TCP holds the rest) until the reader catches up. The response the reader is waiting
  on never waits. A reader slower than the network (a decoder, a busy caller) then has a few
  chunks in memory rather than the whole window. The per-thread bound matters because glibc
  gives each thread its own malloc arena and keeps an arena at its high-water mark (up to
  twice the mmap threshold, which a caller's 8 MiB reads raise to 8 MiB). A 1 GiB member
  through a 30 ms / 100 MB/s proxy, read with ``f.read(8 MiB)`` in a fresh process
  (benchmarks/rss_stream.py): peak RSS 160-174 -> 146 MB stored, 159-173 -> 112-119 MB
  deflate, at the same speed. (Stored: the caller's read gathers a whole chunk's pieces,
  all from one worker's arena, before it joins them; that keeps each arena at 8 MiB.)
- **Closing cancels**: workers stop within one piece, close their responses, and the threads are
  joined before :meth:`Prefetcher.close` returns.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from fastzips3.errors import SourceError
from fastzips3.sources.base import RangeStream

__all__ = ["PrefetchConfig", "Prefetcher"]

#: The first read of each response: small, so a reader waiting on it gets going early.
_PIECE = 256 << 10
#: Later reads of a response. Each read goes through several Python layers (botocore,
#: urllib3, http.client) and a lock hand-off; 1 MiB reads cost about a third less CPU than
#: 256 KiB ones (329 MB over 8 GETs from SeaweedFS: 0.29-0.33 s against 0.47-0.58 s).
_LATER_PIECE = 1 << 20
#: How long a worker with nothing queued waits for more before its thread ends. A reader
#: that keeps up with the responses empties the queue again and again; without this, each
#: new chunk started a thread (57 per 1 GiB member read from a local file, 78 ms of it).
_LINGER = 0.25


@dataclass(frozen=True, slots=True)
class PrefetchConfig:
    """How a sequential read is split and how far ahead it runs.

    ``chunk_size`` bytes per GET, at most ``concurrency`` GETs in flight, at most ``max_ahead``
    bytes requested ahead of the reader; the first ``initial_ahead`` bytes go out at once.
    Responses pause while ``max_buffered`` bytes wait unread in all, or ``max_held`` fetched by
    one worker thread (None: three chunks, and half a chunk).
    """

    chunk_size: int = 8 << 20
    concurrency: int = 8
    max_ahead: int = 64 << 20
    initial_ahead: int = 8 << 20
    max_buffered: int | None = None
    max_held: int | None = None

    def __post_init__(self) -> None:
        sizes = [self.chunk_size, self.concurrency, self.max_ahead, self.initial_ahead]
        sizes += [n for n in (self.max_buffered, self.max_held) if n is not None]
        if min(sizes) <= 0:
            raise ValueError("prefetch sizes and concurrency must be positive")

    @property
    def buffered_cap(self) -> int:
        """Unread bytes (all responses) past which responses ahead of the reader pause."""
        if self.max_buffered is not None:
            return self.max_buffered
        return max(self.chunk_size, min(self.max_ahead, 3 * self.chunk_size))

    @property
    def held_cap(self) -> int:
        """Unread bytes fetched by one worker thread past which its response pauses."""
        if self.max_held is not None:
            return self.max_held
        return max(_LATER_PIECE, self.chunk_size // 2)


@dataclass(eq=False)
class _Chunk:
    start: int
    end: int
    pieces: deque[bytes] = field(default_factory=deque)
    received: int = 0
    #: Bytes in ``pieces``.
    held: int = 0
    done: bool = False
    error: BaseException | None = None
    owner: _Worker | None = None


@dataclass(eq=False)
class _Worker:
    """One fetching thread: the chunks it fetched that still hold unread bytes."""

    #: Woken when the worker may read on (shares the prefetcher's lock).
    wake: threading.Condition
    chunks: list[_Chunk] = field(default_factory=list)
    #: Waiting for the reader (backpressure).
    paused: bool = False

    @property
    def held(self) -> int:
        """Bytes this worker fetched that the reader has not read yet."""
        return sum(chunk.held for chunk in self.chunks)


class Prefetcher:
    """In-order bytes of ``[start, end)`` from parallel ranged GETs.

    ``open_range(start, end)`` makes one counted GET; it is called from worker threads.
    """

    def __init__(
        self,
        open_range: Callable[[int, int], RangeStream],
        start: int,
        end: int,
        config: PrefetchConfig | None = None,
        *,
        name: str = "fastzips3-prefetch",
    ) -> None:
        self._open_range = open_range
        self._config = config or PrefetchConfig()
        self.pos = start
        self.end = end
        self._origin = start
        self._scheduled_end = start
        self._chunks: deque[_Chunk] = deque()
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._closed = False
        self._threads: list[threading.Thread] = []
        self._queue: deque[_Chunk] = deque()
        self._name = name
        self._active_workers = 0
        #: Workers waiting for a chunk to be queued (they count among the active ones).
        self._idle_workers = 0
        #: Bytes received and not read yet, in all chunks.
        self._buffered = 0
        self._workers: list[_Worker] = []
        self._schedule()

    # --- scheduling -------------------------------------------------------------------------

    def _allowed_ahead(self) -> int:
        consumed = max(0, self.pos - self._origin - _PIECE)
        cfg = self._config
        return min(cfg.max_ahead, cfg.initial_ahead + 2 * consumed)

    def _schedule(self) -> None:
        """Queue chunks until the window is full; start workers as needed. Holds no lock."""
        with self._cond:
            cfg = self._config
            allowed = self._allowed_ahead()
            # Until the reader is past its first piece, one GET is enough: it may only have
            # parsed a local header before seeking away.
            first_piece = self.pos - self._origin <= _PIECE
            while self._scheduled_end < self.end and self._scheduled_end - self.pos < allowed:
                if first_piece and self._scheduled_end > self.pos:
                    break
                start = self._scheduled_end
                left = self.end - start
                size = left if left <= cfg.chunk_size else cfg.chunk_size
                chunk = _Chunk(start, start + size)
                self._chunks.append(chunk)
                self._queue.append(chunk)
                self._scheduled_end = chunk.end
            if self._idle_workers and self._queue:
                self._cond.notify_all()
            wanted = min(
                cfg.concurrency,
                self._active_workers + max(0, len(self._queue) - self._idle_workers),
            )
            while self._active_workers < wanted:
                self._active_workers += 1
                thread = threading.Thread(
                    target=self._worker, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()

    def _worker(self) -> None:
        me = _Worker(threading.Condition(self._lock))
        with self._cond:
            self._workers.append(me)
        while True:
            with self._cond:
                if not self._queue and not self._closed:
                    deadline = time.monotonic() + _LINGER
                    self._idle_workers += 1
                    try:
                        while not self._queue and not self._closed:
                            left = deadline - time.monotonic()
                            if left <= 0:
                                break
                            self._cond.wait(left)
                    finally:
                        self._idle_workers -= 1
                if self._closed or not self._queue:
                    self._active_workers -= 1
                    self._workers.remove(me)
                    self._cond.notify_all()
                    return
                chunk = self._queue.popleft()
                chunk.owner = me
                me.chunks = [c for c in me.chunks if c.held] + [chunk]
            self._fetch(chunk, me)

    def _fetch(self, chunk: _Chunk, me: _Worker) -> None:
        stream: RangeStream | None = None
        try:
            stream = self._open_range(chunk.start, chunk.end)
            want = chunk.end - chunk.start
            while chunk.received < want:
                with self._cond:
                    while self._must_pause(me):
                        me.paused = True
                        me.wake.wait(timeout=1.0)
                    me.paused = False
                if self._closed:
                    return
                step = _LATER_PIECE if chunk.received else _PIECE
                piece = stream.read(min(step, want - chunk.received))
                if not piece:
                    raise SourceError(
                        f"the response ended after {chunk.received} of {want} bytes",
                        range=(chunk.start, chunk.end),
                    )
                with self._cond:
                    chunk.pieces.append(piece)
                    chunk.received += len(piece)
                    chunk.held += len(piece)
                    self._buffered += len(piece)
                    self._cond.notify_all()
        except BaseException as exc:  # handed to the reader, raised there
            with self._cond:
                chunk.error = exc
                self._cond.notify_all()
        finally:
            if stream is not None:
                stream.close()
            with self._cond:
                chunk.done = True
                self._cond.notify_all()

    def _must_pause(self, worker: _Worker) -> bool:
        """Whether ``worker`` waits for the reader. Called with the lock held.

        A worker with nothing unread never waits: the reader may be waiting on its response
        (a worker's earlier chunks come before its current one, so the reader has read them).
        """
        if self._closed:
            return False
        held = worker.held
        if not held:
            return False
        cfg = self._config
        return held >= cfg.held_cap or self._buffered >= cfg.buffered_cap

    def _release(self, owner: _Worker | None) -> None:
        """Wake paused workers that may read on. Called with the lock held."""
        if owner is not None and owner.paused and not self._must_pause(owner):
            owner.wake.notify()
        if self._buffered < self._config.buffered_cap:
            for worker in self._workers:
                if worker.paused and worker is not owner and not self._must_pause(worker):
                    worker.wake.notify()

    # --- reading ----------------------------------------------------------------------------

    def extend(self, end: int) -> None:
        """Move the end of the range (the local header tells where member data really ends)."""
        with self._cond:
            self.end = end
            # Chunks wholly past a smaller end are not needed.
            while self._queue and self._queue[-1].start >= end:
                dropped = self._queue.pop()
                self._chunks.remove(dropped)
                self._scheduled_end = dropped.start
        self._schedule()

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes in order (at most one piece); ``b""`` only at the end."""
        if self._closed:
            raise ValueError("read from a closed Prefetcher")
        size = min(size, self.end - self.pos)
        if size <= 0:
            return b""
        with self._cond:
            while self._chunks and self._chunks[0].end <= self.pos:
                self._chunks.popleft()
            if not self._chunks:
                raise AssertionError("the window is empty before the end of the range")
            chunk = self._chunks[0]
            while not chunk.pieces and not chunk.done and not self._closed:
                self._cond.wait(timeout=1.0)
            if self._closed:
                raise ValueError("read from a closed Prefetcher")
            if not chunk.pieces:
                if chunk.error is not None:
                    raise chunk.error
                raise SourceError(
                    f"the response for bytes {chunk.start}-{chunk.end - 1} ended early",
                    range=(chunk.start, chunk.end),
                )
            piece = chunk.pieces.popleft()
            if len(piece) > size:
                chunk.pieces.appendleft(piece[size:])
                piece = piece[:size]
            was_full = self._buffered >= self._config.buffered_cap
            chunk.held -= len(piece)
            self._buffered -= len(piece)
            owner = chunk.owner
            paused = owner is not None and owner.paused
            if paused or (was_full and self._buffered < self._config.buffered_cap):
                self._release(owner)
        self.pos += len(piece)
        self._schedule()
        return piece

    def close(self) -> None:
        """Cancel every GET and join the worker threads."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._queue.clear()
            for worker in self._workers:
                worker.wake.notify_all()
            self._chunks.clear()
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=30.0)

    @property
    def threads_alive(self) -> int:
        """Worker threads still running (0 after :meth:`close`)."""
        return sum(t.is_alive() for t in self._threads)
