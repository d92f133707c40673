"""The on-disk cache: background writes are seen by later reads in the same process."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest

from fastzips3._engine.diskcache import CachedBlob, DiskCache, wait_for_writes
from fastzips3.sources.base import ObjectVersion


def _blob(data: bytes) -> CachedBlob:
    return CachedBlob(ObjectVersion(size=len(data), etag='"e"', version_id=None), 0, data, 1.0)


def test_a_background_write_is_read_back(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    data = b"central directory " * 100_000
    cache.put("k", _blob(data), background=True)
    got = cache.get("k")
    assert got is not None
    assert got.data == data


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


@pytest.mark.parametrize("compress_from", [0, 1, 70_000, 100_000, 10**9, -5])
def test_a_plain_prefix_round_trips(tmp_path: Path, compress_from: int) -> None:
    rng = random.Random(7)
    data = rng.randbytes(70_000) + b"central directory " * 1_000
    cache = DiskCache(tmp_path)
    cache.put("k", _blob(data), compress_from=compress_from)
    got = cache.get("k")
    assert got is not None
    assert got.data == data


def test_member_bytes_before_the_directory_are_not_deflated_again(tmp_path: Path) -> None:
    """Only the directory part is compressed: the stored prefix is the member bytes as-is."""
    rng = random.Random(8)
    members = rng.randbytes(200_000)
    directory = b"PK\x01\x02 name.csv " * 500
    cache = DiskCache(tmp_path)
    cache.put("k", _blob(members + directory), compress_from=len(members))
    (path,) = tmp_path.glob("*.zsdc")
    raw = path.read_bytes()
    assert members in raw
    assert len(raw) < len(members) + len(directory) // 4


def test_a_version_1_entry_is_still_read(tmp_path: Path) -> None:
    data = b"central directory " * 1_000
    header = {
        "size": len(data),
        "etag": '"e"',
        "version_id": None,
        "start": 0,
        "validated_at": 1.0,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    blob = b"fastzips3-directory-cache 1\n" + json.dumps(header).encode() + b"\n"
    cache = DiskCache(tmp_path)
    tmp_path.mkdir(exist_ok=True)
    cache._path("k").write_bytes(blob + zlib.compress(data))
    got = cache.get("k")
    assert got is not None
    assert got.data == data


@pytest.mark.parametrize("plain", [-1, 10**9, "x"])
def test_a_bad_plain_length_drops_the_entry(tmp_path: Path, plain: object) -> None:
    cache = DiskCache(tmp_path)
    cache.put("k", _blob(b"central directory " * 1_000), compress_from=100)
    path = cache._path("k")
    raw = path.read_bytes()
    first, header, rest = raw.split(b"\n", 2)
    fields = json.loads(header)
    fields["plain"] = plain
    path.write_bytes(first + b"\n" + json.dumps(fields).encode() + b"\n" + rest)
    assert cache.get("k") is None
    assert not path.exists()


def _held_back(cache: DiskCache) -> threading.Event:
    """Make ``cache``'s writes wait until the returned event is set."""
    release = threading.Event()
    real_write = cache._write

    def slow_write(key: str, entry: CachedBlob, plain: int) -> None:
        release.wait(10)
        real_write(key, entry, plain)

    cache._write = slow_write  # type: ignore[method-assign]
    return release


def test_put_does_not_wait_for_the_background_write(tmp_path: Path) -> None:
    """The listing is not kept waiting: the write runs after ``put`` has returned."""
    cache = DiskCache(tmp_path)
    release = _held_back(cache)
    cache.put("k", _blob(b"data"), background=True)
    assert not list(tmp_path.glob("*.zsdc"))
    release.set()
    wait_for_writes()
    assert [p.name for p in tmp_path.glob("*.zsdc")] == [cache._path("k").name]


def test_background_writes_share_one_writer_thread(tmp_path: Path) -> None:
    """A thread per write cost 0.4 ms of CPU each; the writes queue on one thread instead."""
    cache = DiskCache(tmp_path)
    writers: set[int] = set()
    real_write = cache._write

    def counting_write(key: str, entry: CachedBlob, plain: int) -> None:
        writers.add(threading.get_ident())
        real_write(key, entry, plain)

    cache._write = counting_write  # type: ignore[method-assign]
    release = _held_back(cache)
    for i in range(200):
        cache.put(f"k{i}", _blob(b"data %d" % i), background=True)
    release.set()
    wait_for_writes()
    assert len(writers) == 1
    assert all(cache.get(f"k{i}") is not None for i in range(200))


def test_a_failing_write_does_not_stop_the_queue(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    real_write = cache._write

    def failing_write(key: str, entry: CachedBlob, plain: int) -> None:
        if key == "bad":
            raise MemoryError("no room")
        real_write(key, entry, plain)

    cache._write = failing_write  # type: ignore[method-assign]
    cache.put("bad", _blob(b"x"), background=True)
    cache.put("good", _blob(b"y"), background=True)
    wait_for_writes()
    assert cache.get("bad") is None
    got = cache.get("good")
    assert got is not None and got.data == b"y"


def test_the_interpreter_finishes_a_background_write_before_it_exits(tmp_path: Path) -> None:
    """The writer is not a daemon: the interpreter waits for it before exiting."""
    script = f"""
import time
from pathlib import Path
from fastzips3._engine.diskcache import CachedBlob, DiskCache, wait_for_writes
from fastzips3.sources.base import ObjectVersion

cache = DiskCache(Path({str(tmp_path)!r}))
real_write = cache._write
def slow_write(key, entry, plain):
    time.sleep(0.3)
    real_write(key, entry, plain)
cache._write = slow_write
data = b"x" * 1000
cache.put("k", CachedBlob(ObjectVersion(size=1000, etag=None, version_id=None), 0, data, 1.0),
          background=True)
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    got = DiskCache(tmp_path).get("k")
    assert got is not None
    assert got.data == b"x" * 1000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_wait_for_the_parents_write(tmp_path: Path) -> None:
    """A worker forked while a write is in flight (multiprocessing, Dask) exits at once."""
    cache = DiskCache(tmp_path)
    release = _held_back(cache)
    cache.put("k", _blob(b"data"), background=True)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        wait_for_writes()
        os._exit(0 if cache.get("k") is None else 1)
    try:
        for _ in range(500):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.01)
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child waited for the parent's background write")
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        release.set()
        wait_for_writes()
    assert cache.get("k") is not None


def test_the_cap_holds_and_the_directory_is_scanned_only_past_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = DiskCache(tmp_path, max_bytes=64 << 10)
    scans = []
    real = DiskCache._evict

    def counted(self: DiskCache) -> int:
        scans.append(1)
        return real(self)

    monkeypatch.setattr(DiskCache, "_evict", counted)
    rng = random.Random(4)
    for i in range(60):  # about 4 KiB each, incompressible: the cap is passed ~4 times
        cache.put(f"k{i}", _blob(rng.randbytes(4096)))
    on_disk = sum(p.stat().st_size for p in tmp_path.glob("*.zsdc"))
    assert on_disk <= 64 << 10
    assert 1 <= len(scans) <= 10  # one to learn the size, then only when past the cap
    assert cache.get("k59") is not None  # the newest stay


@pytest.mark.parametrize("size", [0, 1, 99, 100, 101, 1000])
def test_entries_are_read_whole_whatever_their_size(tmp_path: Path, size: int) -> None:
    from fastzips3._engine.diskcache import _read_file

    data = random.Random(size).randbytes(size)
    path = tmp_path / "f"
    path.write_bytes(data)
    assert _read_file(path, chunk=100) == data
