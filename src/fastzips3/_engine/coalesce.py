"""Many members, few requests: runs of adjacent member ranges planned as one GET each, fetched
in parallel with a bound on the bytes held.

:func:`plan_spans` is pure: it turns the byte ranges of the members wanted (local header to
the next record) into spans. A gap under ``max_gap`` bytes between two ranges is fetched rather
than split (a GET costs a round trip; a few KiB of unwanted bytes cost nothing), and a span
never grows past ``max_span`` bytes, so memory stays bounded. A range larger than ``max_span``
is a span of its own, marked ``streamed``: it is read as a stream, never held whole.

:func:`fetch_spans` runs the GETs ``workers`` at a time and hands the spans on in order; each
member of a span is then decoded from the span's bytes
(:func:`fastzips3.member.read_held`), with the checks of any other read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass

__all__ = ["DEFAULT_MAX_GAP", "DEFAULT_MAX_SPAN", "Span", "fetch_spans", "plan_spans"]

#: Default gap between two wanted ranges that is fetched rather than split: at 100 MB/s a
#: round trip of 20-50 ms is worth 2-5 MB, so 1 MiB is a cautious bound.
DEFAULT_MAX_GAP = 1 << 20
#: Default cap on one coalesced GET: 8 MiB, the prefetcher's chunk (AWS's advice for
#: throughput); with 8 in flight that is 64 MiB held at most.
DEFAULT_MAX_SPAN = 8 << 20


@dataclass(frozen=True, slots=True)
class Span:
    """One planned GET: ``[start, end)``, covering the ranges ``items`` (input indexes, in
    object order). ``streamed`` spans hold one range too large to keep in memory."""

    start: int
    end: int
    items: tuple[int, ...]
    streamed: bool = False

    @property
    def size(self) -> int:
        """Bytes the GET moves."""
        return self.end - self.start


def plan_spans(ranges: Sequence[tuple[int, int]], *, max_gap: int, max_span: int) -> list[Span]:
    """Spans covering every ``(start, end)`` of ``ranges``, in object order.

    Two ranges share a span when the gap between them is at most ``max_gap`` and the span
    stays within ``max_span`` bytes; a range over ``max_span`` gets a streamed span alone.
    Overlapping ranges (two entries naming one local header) share a span.
    """
    if max_gap < 0 or max_span <= 0:
        raise ValueError("max_gap must not be negative and max_span must be positive")
    order = sorted(range(len(ranges)), key=lambda i: ranges[i])
    spans: list[Span] = []
    start = end = 0
    items: list[int] = []

    def close() -> None:
        if items:
            spans.append(Span(start, end, tuple(items)))

    for i in order:
        lo, hi = ranges[i]
        if hi < lo:
            raise ValueError(f"range {i} ends before it starts: ({lo}, {hi})")
        if hi - lo > max_span:
            close()
            items = []
            spans.append(Span(lo, hi, (i,), streamed=True))
            continue
        if items and lo - end <= max_gap and max(end, hi) - start <= max_span:
            items.append(i)
            end = max(end, hi)
            continue
        close()
        start, end, items = lo, hi, [i]
    close()
    return spans


def fetch_spans(
    fetch: Callable[[int, int], bytes],
    spans: Sequence[Span],
    *,
    workers: int,
    max_held: int,
) -> Generator[tuple[Span, bytes | None], None, None]:
    """Each span with its bytes, in the order given, fetched ``workers`` at a time.

    At most ``max_held`` bytes are fetched and not yet handed on (a span larger than that still
    goes, alone). Streamed spans are handed on with None, unfetched. Closing the iterator
    cancels what has not started and waits for the GETs in flight.
    """
    from concurrent.futures import Future, ThreadPoolExecutor  # deferred: 5 ms at import

    if workers <= 0 or max_held <= 0:
        raise ValueError("workers and max_held must be positive")
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fastzips3-span")
    pending: deque[tuple[Span, Future[bytes] | None]] = deque()
    held = 0
    following = iter(spans)
    upcoming: Span | None = next(following, None)
    try:
        while True:
            while upcoming is not None and (
                not pending
                or (
                    len(pending) < workers
                    and (upcoming.streamed or held + upcoming.size <= max_held)
                )
            ):
                if upcoming.streamed:
                    pending.append((upcoming, None))
                else:
                    pending.append((upcoming, pool.submit(fetch, upcoming.start, upcoming.end)))
                    held += upcoming.size
                upcoming = next(following, None)
            if not pending:
                return
            span, future = pending.popleft()
            data = None if future is None else future.result()
            yield span, data
            if future is not None:
                held -= span.size
    finally:
        for _, future in pending:
            if future is not None:
                future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
