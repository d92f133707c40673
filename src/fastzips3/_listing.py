"""Listing an archive: the directory plan driven by the engine, with the on-disk cache.

Without a cache entry: one suffix GET, plus one exact GET when the central directory is larger
than the tail. With an entry: one conditional GET (304 when unchanged), or none within the
caller's TTL. Either way every later GET is pinned to the version the listing came from.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from fastzips3._engine.diskcache import CachedBlob, DiskCache
from fastzips3._engine.engine import Engine
from fastzips3._format.plan import ByteRange, Directory, DirectoryPlan
from fastzips3.errors import FormatError
from fastzips3.sources.base import TailRead

__all__ = ["CachePolicy", "list_archive"]


_MAX_PLAN_STEPS = 8


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """Where listings are cached (None: nowhere), under which key, trusted for how long."""

    cache: DiskCache | None
    key: str
    ttl: float = 0.0


def _run_plan(
    engine: Engine,
    size: int,
    start: int,
    data: bytes,
    max_entries: int | None,
    metadata_encoding: str | None = None,
) -> tuple[Directory, DirectoryPlan]:
    plan = DirectoryPlan(size, max_entries=max_entries, metadata_encoding=metadata_encoding)
    plan.feed(start, data)
    # A local file reads what the plan asks for through the end of the file, which the plan
    # then keeps as its window: one buffer, read once, rather than the range joined to the tail
    # it holds (a copy of the whole central directory). Remote sources fetch the exact range.
    through_end = getattr(engine.source, "whole_reads", False)
    for _ in range(_MAX_PLAN_STEPS):
        step = plan.step()
        if isinstance(step, Directory):
            return step, plan
        assert isinstance(step, ByteRange)
        end = size if through_end else step.end
        plan.feed(step.start, engine.fetch(step.start, end))
    raise AssertionError("the directory plan did not finish")  # every step grows the window


def list_archive(
    engine: Engine,
    *,
    max_entries: int | None,
    policy: CachePolicy,
    metadata_encoding: str | None = None,
) -> Directory:
    """The archive's directory, from the cache when it is still valid.

    The cache holds the archive's bytes, not decoded entries, so a listing decoded with one
    ``metadata_encoding`` is never served to a caller who asked for another.
    """
    cache = policy.cache
    cached = cache.get(policy.key) if cache is not None else None
    if cached is not None and cached.start + len(cached.data) != cached.version.size:
        cached = None  # not a listing of this object's end
    tail: TailRead | None = None
    if cache is not None and cached is not None:
        if policy.ttl > 0 and time.time() - cached.validated_at < policy.ttl:
            engine.assume(cached.version)
        else:
            tail = engine.revalidate(cached.version)
        if tail is None:
            engine.cache.put(cached.start, cached.data)
            try:
                directory, _ = _run_plan(
                    engine,
                    cached.version.size,
                    cached.start,
                    cached.data,
                    max_entries,
                    metadata_encoding,
                )
            except FormatError as exc:
                import logging  # deferred: 4 ms of ``import fastzips3`` for a rare message

                logging.getLogger("fastzips3.cache").debug(
                    "cached listing unusable (%s); listing again", exc
                )
                cache.invalidate(policy.key)
                tail = engine.read_tail()
            else:
                if policy.ttl > 0 and tail is None:
                    cache.touch(policy.key, cached)
                return directory
    if tail is None:
        tail = engine.read_tail()
    directory, plan = _run_plan(
        engine, tail.version.size, tail.start, tail.data, max_entries, metadata_encoding
    )
    if cache is not None:
        # Keep the whole window the listing held (the tail at least): members inside it then
        # cost no request on a cached reopen either.
        start = plan.window_start
        data = plan.held(start)
        if data is not None:
            blob = CachedBlob(tail.version, start, data, time.time())
            cache.put(policy.key, blob, background=True, compress_from=directory.cd_start - start)
    return directory
