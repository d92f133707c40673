"""Local files are read by the thread that decodes them, in positional reads of what it asks
for, with no prefetch threads, whatever the member's size (the kernel reads ahead; a thread
hand-off costs more than the page-cache copy). Reads are counted at ``os.pread``."""

from __future__ import annotations

import os
import random
import threading
import zlib
from pathlib import Path

import pytest

import fastzips3
from fastzips3._codecs.base import IN_CHUNK
from tests.helpers.zips import make_zip, random_bytes

MiB = 1 << 20


def _hex_lines(rng: random.Random, size: int) -> bytes:
    """CSV-like lines of hex digits: text that deflates to about half its size."""
    raw = rng.randbytes(size // 2).hex().encode("ascii")
    return b"\n".join(raw[i : i + 63] for i in range(0, len(raw), 63))[:size]


@pytest.fixture(scope="module")
def big_local(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    """An archive with a stored and a deflate member, each with more data than a prefetch
    chunk (8 MiB)."""
    rng = random.Random(2026)
    # Hex text deflates to about half: its compressed data, too, is larger than a chunk.
    members = {"stored.bin": random_bytes(rng, 20 * MiB), "text.csv": _hex_lines(rng, 24 * MiB)}
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
    """fastzips3's fetch threads (``fastzips3-prefetch-N``, ``fastzips3-fetch_N``) now alive."""
    return [t.name for t in threading.enumerate() if "fetch" in t.name]


class _Preads:
    """Every ``os.pread`` of the process, counted below fastzips3: calls, bytes, threads."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self.bytes = 0
        self.sizes: list[int] = []
        self.threads: set[str] = set()
        real = os.pread

        def pread(fd: int, length: int, offset: int, /) -> bytes:
            data = real(fd, length, offset)
            self.calls += 1
            self.bytes += len(data)
            self.sizes.append(len(data))
            self.threads.add(threading.current_thread().name)
            return data

        monkeypatch.setattr(os, "pread", pread)


@pytest.fixture
def preads(monkeypatch: pytest.MonkeyPatch) -> _Preads:
    """Counts the positional reads of the test."""
    return _Preads(monkeypatch)


@pytest.mark.parametrize("name", ["stored.bin", "text.csv"])
@pytest.mark.parametrize("how", ["read", "read-8MiB", "readinto-3MiB"])
def test_a_large_local_member_streams_without_prefetch_threads(
    big_local: tuple[Path, dict[str, bytes]], name: str, how: str, preads: _Preads
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
        entry = archive.getinfo(name)
    assert got == expected
    assert zlib.crc32(got) == zlib.crc32(expected)
    assert seen <= before, f"prefetch threads started for a local file: {sorted(seen - before)}"
    # Counted at os.pread, below fastzips3: every read made by the thread that decodes (the
    # caller's, or the member's decode thread for chunked reads of a compressed member), none
    # by a fetch thread; the member's data read once, besides the directory's 256 KiB tail
    # read and the local header, in reads no smaller than a decoder's pulls (256 KiB for the
    # pure-Python twin's inflater, 1-2 MiB for the compiled core and stored members).
    assert preads.threads <= {threading.current_thread().name, f"fastzips3-decode {name}"}
    assert entry.compress_size <= preads.bytes <= entry.compress_size + (256 << 10) + 1024
    assert preads.calls <= 4 + -(-entry.compress_size // IN_CHUNK)


def test_a_whole_stored_member_is_one_positional_read(
    big_local: tuple[Path, dict[str, bytes]], preads: _Preads
) -> None:
    path, members = big_local
    with fastzips3.open_archive(path, directory_cache=False) as archive:
        archive.entries()
        calls, fetched = preads.calls, preads.bytes
        assert archive.read("stored.bin") == members["stored.bin"]
    # The local header (its fixed part, then its name and extra), then the data in one read;
    # nothing read twice.
    data_reads = [n for n in preads.sizes[calls:] if n >= MiB]
    assert data_reads == [len(members["stored.bin"])]
    assert preads.calls - calls <= 3
    assert preads.bytes - fetched <= len(members["stored.bin"]) + 1024
