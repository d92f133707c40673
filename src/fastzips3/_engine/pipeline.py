"""ReadAhead: run a producer on its own thread, a few results ahead of the consumer.

The member reader uses it to inflate while the caller processes the previous chunk and the
prefetch threads fetch the next ones (isal and zlib release the GIL while they inflate).
Memory is bounded by ``depth`` results.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

__all__ = ["ReadAhead"]

_END = object()


class ReadAhead:
    """Calls ``produce()`` on a thread until it returns ``b""`` or raises.

    :meth:`get` returns the results in order, ``b""`` at the end, and re-raises the producer's
    exception where the consumer is. :meth:`cancel` then :meth:`join` stop it.
    """

    def __init__(
        self, produce: Callable[[], bytes], *, depth: int = 4, name: str = "fastzips3-decode"
    ) -> None:
        self._produce = produce
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._cancelled = threading.Event()
        self._finished = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._cancelled.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            while not self._cancelled.is_set():
                data = self._produce()
                if not data:
                    self._put(_END)
                    return
                if not self._put(data):
                    return
        except BaseException as exc:  # handed to the consumer
            if not self._cancelled.is_set():
                self._put(exc)

    def get(self) -> bytes:
        """The next result; ``b""`` once the producer is done."""
        if self._finished:
            return b""
        while True:
            try:
                item = self._queue.get(timeout=1.0)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    raise RuntimeError("the decode thread ended without a result") from None
        if item is _END:
            self._finished = True
            return b""
        if isinstance(item, BaseException):
            self._finished = True
            raise item
        assert isinstance(item, bytes)
        return item

    def cancel(self) -> None:
        """Ask the producer to stop, and unblock it if it waits for room."""
        self._cancelled.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break

    def join(self, timeout: float = 30.0) -> None:
        """Wait for the producer thread to end (after :meth:`cancel`, or at the end)."""
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        """True while the producer thread runs."""
        return self._thread.is_alive()
