"""Retries: an immutable policy value with a history (urllib3's ``Retry`` is the model), and a
response stream that resumes from its last good byte.

A transient failure (a 5xx or 429 answer, SlowDown, a reset or truncated body, a timeout, a
stalled response past its deadline) is retried with capped exponential backoff and jitter. A
broken body is resumed from the first byte not yet received, with the same pin (``If-Match``
or the version id), so a retry never re-fetches what arrived and never mixes versions. Errors
that retrying cannot fix (not found, access denied, object changed) are raised at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from fastzips3.errors import RetriesExhaustedError, SourceError, SourceTimeoutError
from fastzips3.sources.base import RangeStream

__all__ = ["ResumableStream", "RetryPolicy", "call_with_retries"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How transient failures are retried. Immutable: :meth:`increment` returns a new value.

    - ``attempts``: tries per request, the first included;
    - ``backoff``, ``backoff_max``: the sleep before retry *n* is
      ``min(backoff_max, backoff * 2**(n-1))``, times a random factor in ``[1 - jitter, 1]``;
    - ``request_timeout``: a deadline for one GET from its first byte to its last (a slow-loris
      response is cut and resumed); the socket read timeout catches one that stalls outright;
    - ``history``: one line per failed attempt, carried into :class:`RetriesExhaustedError`.
    """

    attempts: int = 6
    backoff: float = 0.1
    backoff_max: float = 5.0
    jitter: float = 0.5
    request_timeout: float = 300.0
    history: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.backoff < 0 or self.backoff_max < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("backoff must be >= 0 and jitter within [0, 1]")
        if self.request_timeout <= 0:
            raise ValueError("request_timeout must be positive")

    @staticmethod
    def is_retryable(exc: BaseException) -> bool:
        """True for failures a later attempt may not meet."""
        return isinstance(exc, SourceError) and exc.retryable

    def increment(self, exc: SourceError) -> RetryPolicy:
        """The policy after one more failure; raises when no attempt is left or it cannot help."""
        if not self.is_retryable(exc):
            raise exc
        reason = getattr(exc, "reason", None) or str(exc)
        history = (*self.history, f"{type(exc).__name__}: {reason}")
        if len(history) >= self.attempts:
            # One line: the cause in plain words, the attempts, the URL once (the last
            # error's reason is its message without the URL).
            attempts = "1 attempt" if len(history) == 1 else f"{len(history)} attempts"
            raise RetriesExhaustedError(
                f"gave up after {attempts}: {reason}",
                history=history,
                url=exc.url,
                range=exc.range,
            ) from exc
        return replace(self, history=history)

    def sleep_seconds(self) -> float:
        """How long to wait before the next attempt."""
        n = len(self.history)
        if n == 0:
            return 0.0
        base = min(self.backoff_max, self.backoff * 2.0 ** (n - 1))
        import random  # deferred: only a retry needs it

        return float(base * (1 - self.jitter * random.random()))

    def sleep(self) -> None:
        """Wait before the next attempt."""
        time.sleep(self.sleep_seconds())


def call_with_retries(policy: RetryPolicy, request: Callable[[], T]) -> T:
    """Run ``request`` until it succeeds or the policy gives up."""
    while True:
        try:
            return request()
        except SourceError as exc:
            policy = policy.increment(exc)
            policy.sleep()


class ResumableStream:
    """A response body for ``[start, end)`` that survives broken connections.

    ``open_range(start, end)`` makes one GET (counted and pinned by the caller). When a read
    fails transiently, or the GET passes its deadline, the stream closes it and opens
    ``[next byte, end)`` after the policy's backoff. ``url`` (redacted) names the object in the
    errors the stream makes itself.
    """

    def __init__(
        self,
        open_range: Callable[[int, int], RangeStream],
        start: int,
        end: int,
        policy: RetryPolicy,
        *,
        url: str | None = None,
    ) -> None:
        self._url = url
        self._open_range = open_range
        self._pos = start
        self._end = end
        self._policy = policy
        self._stream: RangeStream | None = None
        self._opened_at = 0.0
        self._connect()

    def _connect(self) -> None:
        def attempt() -> RangeStream:
            return self._open_range(self._pos, self._end)

        self._stream = call_with_retries(self._policy, attempt)
        self._opened_at = time.monotonic()

    def _fail(self, exc: SourceError) -> None:
        self._policy = self._policy.increment(exc)
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()
        self._policy.sleep()
        self._connect()

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes; ``b""`` only at ``end``."""
        want = self._end - self._pos if size < 0 else min(size, self._end - self._pos)
        while want > 0:
            stream = self._stream
            assert stream is not None
            try:
                data = stream.read(want)
                if not data:
                    raise SourceError(
                        f"the response ended at byte {self._pos}, before {self._end}",
                        url=self._url,
                        range=(self._pos, self._end),
                        retryable=True,
                    )
            except SourceError as exc:
                self._fail(exc)
                continue
            self._pos += len(data)
            too_slow = time.monotonic() - self._opened_at > self._policy.request_timeout
            if too_slow and self._pos < self._end:
                # Keep what arrived, resume the rest on a fresh connection.
                self._fail(
                    SourceTimeoutError(
                        f"the GET passed its {self._policy.request_timeout:g} s deadline",
                        url=self._url,
                        range=(self._pos, self._end),
                    )
                )
            return data
        return b""

    @property
    def history(self) -> tuple[str, ...]:
        """The failures survived so far."""
        return self._policy.history

    def close(self) -> None:
        """Release the connection."""
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()
