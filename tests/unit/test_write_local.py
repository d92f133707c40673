"""ZipWriter to local files, and member compression (pieces, levels, fallback)."""

from __future__ import annotations

import os
import zlib
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastzips3
from fastzips3 import ZipWriter, errors
from fastzips3.writer.compress import (
    PieceCompressor,
    _pure_deflate_piece,
    deflate_piece,
    isal_level,
)
from tests.helpers.zipcheck import check_archive

TEXT = b"".join(b"line %07d of a text member, with words to deflate\n" % i for i in range(200_000))


def test_level_mapping() -> None:
    assert [isal_level(n) for n in range(10)] == [0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert isal_level(None) == 2
    with pytest.raises(ValueError, match="0-9"):
        isal_level(10)


@pytest.mark.parametrize("level", [0, 1, 2, 3])
@pytest.mark.parametrize("threads", [False, True])
def test_pieces_make_one_stream(level: int, threads: bool) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        c = PieceCompressor(8, level * 3, pool if threads else None, piece=100_000, max_ahead=2)
        out = []
        for i in range(0, len(TEXT), 77_777):
            out += c.feed(TEXT[i : i + 77_777])
        out += c.finish()
    stream = b"".join(out)
    assert zlib.decompress(stream, -15) == TEXT
    assert c.crc == zlib.crc32(TEXT) and c.size == len(TEXT) and c.compressed == len(stream)


@pytest.mark.parametrize("chunk", [100_000, 300_000, 1_000, 250_001])
@pytest.mark.parametrize("writable", [False, True])
def test_pieces_feed_without_copies(chunk: int, writable: bool) -> None:
    """Whole pieces of read-only input go to the workers as views; a writable buffer the
    caller reuses after feed() (as a file's write() may) is copied, so its reuse changes
    nothing; exact multiples of the piece end with an empty final piece."""
    from concurrent.futures import ThreadPoolExecutor

    data = TEXT[:1_200_000]
    with ThreadPoolExecutor(2) as pool:
        c = PieceCompressor(8, 1, pool, piece=100_000, max_ahead=3)
        out = []
        scratch = bytearray(chunk)
        for i in range(0, len(data), chunk):
            part = data[i : i + chunk]
            if writable:
                scratch[: len(part)] = part
                out += c.feed(memoryview(scratch)[: len(part)])
                scratch[:] = b"\xff" * len(scratch)  # the caller reuses its buffer
            else:
                out += c.feed(part)
        out += c.finish()
    stream = b"".join(out)
    assert zlib.decompress(stream, -15) == data
    assert c.crc == zlib.crc32(data) and c.size == len(data) and c.compressed == len(stream)


@pytest.mark.parametrize("threads", [False, True])
@pytest.mark.parametrize("method", [8, 0])
def test_feed_file_reads_pieces_in_the_workers(tmp_path: Path, threads: bool, method: int) -> None:
    """feed_file: each piece (and the 32 KiB before it) is read by positional reads where it
    is compressed; a range not starting at 0 and a file that shrinks meanwhile."""
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "src.txt"
    path.write_bytes(TEXT)
    start, length = 12_345, 1_000_000
    with ThreadPoolExecutor(2) as pool, path.open("rb") as f:
        c = PieceCompressor(method, 1, pool if threads else None, piece=70_000, max_ahead=3)
        out = [*c.feed_file(f.fileno(), start, length), *c.finish()]
        stream = b"".join(out)
        data = TEXT[start : start + length]
        assert (zlib.decompress(stream, -15) if method == 8 else stream) == data
        assert c.crc == zlib.crc32(data) and c.size == length and c.compressed == len(stream)
        os.truncate(path, 500_000)
        c = PieceCompressor(method, 1, pool if threads else None, piece=70_000, max_ahead=3)
        with pytest.raises(OSError, match="changed while it was read"):
            list(c.feed_file(f.fileno(), 0, len(TEXT)))


def test_pure_fallback_matches() -> None:
    a = _pure_deflate_piece(TEXT[:50_000], 1, b"", False)
    b = _pure_deflate_piece(TEXT[50_000:], 1, TEXT[:50_000], True)
    assert zlib.decompress(a + b, -15) == TEXT
    out, crc = deflate_piece(TEXT, 1)
    assert zlib.decompress(out, -15) == TEXT and crc == zlib.crc32(TEXT)


def test_writer_all_kinds_read_back_by_every_tool(tmp_path: Path) -> None:
    src = tmp_path / "big.txt"
    src.write_bytes(TEXT)
    (tmp_path / "d").mkdir()
    out = tmp_path / "out.zip"
    noise = os.urandom(300_000)
    with ZipWriter(out, piece_size=1 << 20, workers=2) as z:
        z.writestr("a.txt", "hello")
        z.writestr("ü/naïve.txt", b"x" * 100_000)
        z.write(src, "big.txt")
        z.write(src, "big-stored.txt", compress_type="stored")
        z.write(tmp_path / "d", "d")
        z.writestr("noise.bin", noise)
        z.writestr("empty.txt", b"")
        z.mkdir("emptydir")
        with z.open("stream.txt") as f:
            f.write(TEXT[:300_000])
        with z.open("sized.txt", file_size=len(TEXT)) as f:
            f.write(TEXT)
        z.writestr("level9.txt", TEXT[:100_000], compresslevel=9)
    expected = {
        "a.txt": b"hello",
        "ü/naïve.txt": b"x" * 100_000,
        "big.txt": TEXT,
        "big-stored.txt": TEXT,
        "d/": b"",
        "noise.bin": noise,
        "empty.txt": b"",
        "emptydir/": b"",
        "stream.txt": TEXT[:300_000],
        "sized.txt": TEXT,
        "level9.txt": TEXT[:100_000],
    }
    check_archive(out.read_bytes(), expected)
    with fastzips3.open_archive(str(out), directory_cache=False) as archive:
        info = {e.name: e for e in archive}
    assert info["ü/naïve.txt"].flag_bits & 0x800
    assert info["stream.txt"].has_data_descriptor
    assert not info["sized.txt"].has_data_descriptor
    assert not info["big.txt"].has_data_descriptor
    assert info["noise.bin"].compress_type == 0  # incompressible: stored
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_zstd_member(tmp_path: Path) -> None:
    pytest.importorskip("zstandard")
    out = tmp_path / "z.zip"
    with ZipWriter(out, compression="zstd") as z:
        z.writestr("small.txt", TEXT[:1000])
        z.writestr("big.txt", TEXT)
    with fastzips3.open_archive(str(out), directory_cache=False) as archive:
        assert archive.getinfo("big.txt").compress_type == 93
        assert archive.read("big.txt") == TEXT
        assert archive.read("small.txt") == TEXT[:1000]


def test_failure_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out.zip"
    out.write_bytes(b"old")
    z = ZipWriter(out)
    z.writestr("a", b"a")
    with pytest.raises(ValueError, match="duplicate"):
        z.writestr("a", b"b")
    z.abort()
    assert out.read_bytes() == b"old"
    with pytest.raises(errors.DestinationExistsError):
        ZipWriter(out, overwrite=False)
    with (
        pytest.raises(errors.SizeMismatchError),
        ZipWriter(out) as z2,
        z2.open("x", file_size=10) as f,
    ):
        f.write(b"short")
    assert out.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zip"]


def test_local_append(tmp_path: Path) -> None:
    out = tmp_path / "a.zip"
    with ZipWriter(out) as z:
        z.writestr("one.txt", TEXT[:5000])
    with ZipWriter(out, mode="a") as z:
        z.writestr("two.txt", b"second")
    fastzips3.append(str(out), {"three.txt": b"third"})
    check_archive(
        out.read_bytes(),
        {"one.txt": TEXT[:5000], "two.txt": b"second", "three.txt": b"third"},
    )


#: Names with any character but the surrogates (not encodable).
NO_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)

names = st.text(
    alphabet=st.characters(exclude_categories=NO_SURROGATES, exclude_characters="\x00/\\"),
    min_size=1,
    max_size=30,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.dictionaries(names, st.binary(max_size=5000), max_size=6),
    st.sampled_from(["stored", "deflate"]),
    st.integers(0, 9),
)
def test_hypothesis_round_trip(
    tmp_path: Path, members: dict[str, bytes], compression: str, level: int
) -> None:
    out = tmp_path / "h.zip"
    with ZipWriter(out, compression=compression, level=level, workers=2) as z:
        for name, data in members.items():
            z.writestr(name, data)
    check_archive(out.read_bytes(), members, tools=False)
