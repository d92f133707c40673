"""Local files are read on the caller's thread: one positional read per request, no prefetch
threads, whatever the member's size (the kernel reads ahead; a thread hand-off costs more than
the page-cache copy)."""

from __future__ import annotations

import random
import threading
import zlib
from pathlib import Path

import pytest

import fastzips3
from tests.helpers.zips import make_zip, random_bytes, text_bytes

MiB = 1 << 20


@pytest.fixture(scope="module")
def big_local(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    """An archive with a stored and a deflate member, each larger than a prefetch chunk."""
    rng = random.Random(2026)
    members = {"stored.bin": random_bytes(rng, 20 * MiB), "text.csv": text_bytes(rng, 24 * MiB)}
    data = make_zip(
        [
            ("stored.bin", members["stored.bin"], "stored"),
            ("text.csv", members["text.csv"], "deflate"),
        ]
    )
    path = tmp_path_factory.mktemp("local-reads") / "big.zip"
    path.write_bytes(data)
    return path, members


def _prefetch_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if "prefetch" in t.name or "fetch" in t.name]


@pytest.mark.parametrize("name", ["stored.bin", "text.csv"])
@pytest.mark.parametrize("how", ["read", "read-8MiB", "readinto-3MiB"])
def test_a_large_local_member_streams_without_prefetch_threads(
    big_local: tuple[Path, dict[str, bytes]], name: str, how: str
) -> None:
    path, members = big_local
    expected = members[name]
    before = set(_prefetch_threads())
    seen: set[str] = set()
    with fastzips3.open_archive(path, directory_cache=False) as archive:
        with archive.open(name) as f:
            if how == "read":
                got = f.read()
            else:
                parts: list[bytes] = []
                buf = bytearray(3 * MiB)
                while True:
                    if how == "read-8MiB":
                        piece = f.read(8 * MiB)
                    else:
                        n = f.readinto(buf)
                        piece = bytes(buf[:n])
                    seen.update(_prefetch_threads())
                    if not piece:
                        break
                    parts.append(piece)
                got = b"".join(parts)
        seen.update(_prefetch_threads())
        requests = archive.stats.requests
    assert got == expected
    assert zlib.crc32(got) == zlib.crc32(expected)
    assert seen <= before, f"prefetch threads started for a local file: {sorted(seen - before)}"
    # The listing, the local header, then positional reads of the data only: never one read
    # per chunk of a prefetcher's window.
    assert requests <= 3 + (len(expected) // MiB) // 2


def test_a_whole_stored_member_is_one_positional_read(
    big_local: tuple[Path, dict[str, bytes]],
) -> None:
    path, members = big_local
    with fastzips3.open_archive(path, directory_cache=False) as archive:
        archive.entries()
        before = archive.stats.requests
        assert archive.read("stored.bin") == members["stored.bin"]
        # The local header (with the data's first bytes), then the rest of the data at once.
        assert archive.stats.requests - before <= 2
