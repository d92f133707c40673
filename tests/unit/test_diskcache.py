"""The on-disk cache: background writes are seen by later reads in the same process."""

from __future__ import annotations

import threading
from pathlib import Path

from zipseek._engine.diskcache import CachedBlob, DiskCache
from zipseek.sources.base import ObjectVersion


def _blob(data: bytes) -> CachedBlob:
    return CachedBlob(ObjectVersion(size=len(data), etag='"e"', version_id=None), 0, data, 1.0)


def test_a_background_write_is_read_back(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    data = b"central directory " * 100_000
    cache.put("k", _blob(data), background=True)
    got = cache.get("k")
    assert got is not None
    assert got.data == data
    assert not [t for t in threading.enumerate() if t.name == "zipseek-cache-write"]


def test_a_later_write_wins_over_a_background_one(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    cache.put("k", _blob(b"old" * 100_000), background=True)
    cache.put("k", _blob(b"new"))
    got = cache.get("k")
    assert got is not None
    assert got.data == b"new"


def test_invalidate_waits_for_a_background_write(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    cache.put("k", _blob(b"x" * 1_000_000), background=True)
    cache.invalidate("k")
    assert cache.get("k") is None
    assert not list(tmp_path.glob("*.zsdc"))


def test_an_unwritable_directory_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    cache = DiskCache(blocker / "sub")
    cache.put("k", _blob(b"data"), background=True)
    assert cache.get("k") is None
