"""The native API over in-memory sources: listing, reading, request counts, errors."""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib

import pytest

import fastzips3
from fastzips3 import errors
from tests.helpers.sources import RecordingSource
from tests.helpers.zips import make_zip, random_bytes, seeded_members, text_bytes


def _open(data: bytes, **options: int) -> tuple[fastzips3.ZipArchive, RecordingSource]:
    rec = RecordingSource(fastzips3.MemorySource(data))
    return fastzips3.open_archive(rec, **options), rec  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(6))
def test_seeded_archives_list_and_read_like_zipfile(seed: int) -> None:
    data = make_zip(seeded_members(seed, 12, 200_000), comment=b"seed %d" % seed)
    reference = zipfile.ZipFile(io.BytesIO(data))
    with fastzips3.open_archive(fastzips3.MemorySource(data)) as archive:
        assert archive.namelist() == reference.namelist()
        assert archive.comment == reference.comment
        for entry, info in zip(archive.entries(), reference.infolist(), strict=True):
            assert entry.name == info.filename
            assert entry.file_size == info.file_size
            assert entry.compress_size == info.compress_size
            assert entry.crc == info.CRC
            assert entry.compress_type == info.compress_type
            assert entry.date_time == info.date_time
            assert entry.header_offset == info.header_offset
            assert archive.read(entry) == reference.read(info)


def test_small_archive_costs_one_request_in_all() -> None:
    rng = random.Random(1)
    data = make_zip([("a.txt", text_bytes(rng, 50_000), "deflate"), ("b", b"x", "stored")])
    archive, rec = _open(data)
    with archive:
        archive.read("a.txt")
        archive.read("b")
    assert rec.requests == 1, rec.calls
    assert archive.stats.requests == 1
    assert archive.stats.bytes_fetched == rec.bytes_delivered == len(data)


def test_member_read_is_one_request_inside_member_bounds() -> None:
    rng = random.Random(2)
    members = [(f"m{i}", random_bytes(rng, 400_000), "stored") for i in range(5)]
    data = make_zip(members)
    reference = zipfile.ZipFile(io.BytesIO(data))
    archive, rec = _open(data, tail_size=4096)
    with archive:
        assert rec.requests == 1
        info = reference.getinfo("m2")
        nxt = reference.getinfo("m3").header_offset
        assert archive.read("m2") == members[2][1]
    assert rec.requests == 2, rec.calls
    assert rec.outside(info.header_offset, nxt) == [rec.calls[0]]
    assert rec.calls[1].start == info.header_offset
    assert rec.calls[1].end == nxt


def test_large_central_directory_costs_two_requests() -> None:
    members = [(f"d/{i:05d}.txt", b"%d" % i, "stored") for i in range(20_000)]
    data = make_zip(members)
    archive, rec = _open(data, tail_size=64 << 10)
    with archive:
        assert len(archive) == 20_000
        assert archive.read("d/12345.txt") == b"12345"
    assert archive.stats.requests <= 3
    assert rec.calls[0].kind == "tail"
    assert rec.calls[1].kind == "stream"


def test_random_reads_in_stored_member_fetch_at_most_a_block_each() -> None:
    rng = random.Random(3)
    payload = random_bytes(rng, 8 << 20)
    data = make_zip([("big.bin", payload, "stored")])
    block = 64 << 10
    archive, rec = _open(data, tail_size=4096, block_size=block)
    with archive, archive.open("big.bin") as f:
        base_requests = rec.requests
        base_bytes = rec.bytes_delivered
        for _ in range(300):
            pos = rng.randrange(0, len(payload) - 4096)
            f.seek(pos)
            assert f.read(4096) == payload[pos : pos + 4096]
        assert rec.bytes_delivered - base_bytes <= 300 * 2 * block
        # every block is fetched at most once
        fetched = rec.calls[base_requests:]
        assert len({c.start for c in fetched}) == len(fetched)


def test_seek_back_in_stored_member_costs_nothing_when_cached() -> None:
    rng = random.Random(4)
    payload = random_bytes(rng, 1 << 20)
    data = make_zip([("x", payload, "stored")])
    archive, rec = _open(data, tail_size=4096, block_size=128 << 10)
    with archive, archive.open("x") as f:
        f.seek(500_000)
        a = f.read(1000)
        n = rec.requests
        f.seek(500_000)
        assert f.read(1000) == a == payload[500_000:501_000]
        assert rec.requests == n


@pytest.mark.parametrize("method", ["deflate", "bzip2", "lzma", "stored"])
def test_seek_and_read_in_every_method(method: str) -> None:
    rng = random.Random(5)
    payload = text_bytes(rng, 300_000)
    data = make_zip([("t", payload, method)])
    with fastzips3.open_archive(fastzips3.MemorySource(data)) as archive, archive.open("t") as f:
        f.seek(123_456)
        assert f.read(1000) == payload[123_456:124_456]
        f.seek(10)
        assert f.read(10) == payload[10:20]
        f.seek(-5, io.SEEK_END)
        assert f.read() == payload[-5:]
        assert f.tell() == len(payload)
        f.seek(0)
        assert f.read() == payload


@pytest.mark.parametrize("chunk", [1, 7, 4096, 65_536, 1 << 20])
def test_chunked_reads(chunk: int) -> None:
    rng = random.Random(6)
    payload = text_bytes(rng, 200_000)
    data = make_zip([("t", payload, "deflate")])
    with fastzips3.open_archive(fastzips3.MemorySource(data)) as archive, archive.open("t") as f:
        out = bytearray()
        while True:
            piece = f.read(chunk)
            if not piece:
                break
            assert len(piece) <= chunk
            out += piece
        assert bytes(out) == payload


def test_member_reader_is_a_buffered_io() -> None:
    data = make_zip([("t", b"line1\nline2\n", "deflate")])
    with fastzips3.open_archive(fastzips3.MemorySource(data)) as archive:
        f = archive.open("t")
        assert isinstance(f, io.BufferedIOBase)
        assert f.readable() and f.seekable() and not f.writable()
        assert f.peek(1).startswith(b"l")
        assert f.readline() == b"line1\n"
        buf = bytearray(3)
        assert f.readinto(buf) == 3 and bytes(buf) == b"lin"
        text = io.TextIOWrapper(archive.open("t"), encoding="utf-8")
        assert text.read().splitlines() == ["line1", "line2"]
        text.close()
        f.close()
        with pytest.raises(ValueError, match="closed"):
            f.read()


def _corrupt_crc(data: bytes, name: bytes) -> bytes:
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        nlen = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46 : pos + 46 + nlen] == name:
            crc = struct.unpack_from("<L", data, pos + 16)[0]
            return data[: pos + 16] + struct.pack("<L", crc ^ 1) + data[pos + 20 :]
        pos = data.find(b"PK\x01\x02", pos + 4)
    raise AssertionError(name)


def test_crc_mismatch_is_detected() -> None:
    data = _corrupt_crc(make_zip([("a", b"hello world" * 100, "deflate")]), b"a")
    with fastzips3.open_archive(fastzips3.MemorySource(data)) as archive:
        with pytest.raises(errors.CRCMismatchError) as info:
            archive.read("a")
        assert info.value.name == "a"
        assert isinstance(info.value, zipfile.BadZipFile)
        # verify=False reads it anyway
        assert archive.open("a", verify=False).read() == b"hello world" * 100


def test_declared_size_larger_than_content_is_an_error_not_a_short_read() -> None:
    data = bytearray(make_zip([("a", b"12345", "deflate")]))
    pos = data.find(b"PK\x01\x02")
    struct.pack_into("<L", data, pos + 24, 4 << 30 - 1)  # claims ~1 GB uncompressed
    with fastzips3.open_archive(fastzips3.MemorySource(bytes(data))) as archive:
        with pytest.raises(errors.SizeMismatchError):
            archive.read("a")


def test_content_longer_than_declared_size_is_an_error() -> None:
    data = bytearray(make_zip([("a", b"1234567890", "deflate")]))
    pos = data.find(b"PK\x01\x02")
    struct.pack_into("<L", data, pos + 24, 4)
    with fastzips3.open_archive(fastzips3.MemorySource(bytes(data))) as archive:
        f = archive.open("a")
        with pytest.raises(errors.SizeMismatchError):
            f.read()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", errors.EOCDNotFoundError),
        (b"not a zip at all" * 1000, errors.EOCDNotFoundError),
        (b"PK\x05\x06" + b"\0" * 17, errors.EOCDNotFoundError),
    ],
)
def test_not_a_zip(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        fastzips3.open_archive(fastzips3.MemorySource(data))


def test_lying_entry_count_is_refused_before_any_allocation() -> None:
    data = bytearray(make_zip([("a", b"x", "stored")]))
    eocd = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, eocd + 8, 0xFFFE, 0xFFFE)
    with pytest.raises(errors.CentralDirectoryError, match="can hold at most"):
        fastzips3.open_archive(fastzips3.MemorySource(bytes(data)))


def test_comment_of_65535_bytes_and_fake_signatures_in_it() -> None:
    comment = (b"PK\x05\x06" + b"\xff" * 100) * 600
    comment = comment[:65535]
    data = make_zip([("a", b"data", "deflate")], comment=comment)
    archive, rec = _open(data)
    with archive:
        assert archive.comment == comment
        assert archive.read("a") == b"data"
    assert rec.requests == 1


def test_prepended_data_relative_offsets() -> None:
    stub = b"#!/bin/sh\necho self-extractor\nexit 0\n" + b"\0" * 5000
    data = stub + make_zip([("a", b"alpha" * 100, "deflate"), ("b", b"beta", "stored")])
    with fastzips3.open_archive(fastzips3.MemorySource(data)) as archive:
        assert archive.directory.base_offset == len(stub)
        assert archive.read("a") == b"alpha" * 100
        assert archive.read("b") == b"beta"
    assert zipfile.ZipFile(io.BytesIO(data)).read("a") == b"alpha" * 100


def test_prepended_data_absolute_offsets() -> None:
    data = make_zip([("a", b"alpha" * 100, "deflate")], prefix=b"MZ" + b"\0" * 3000)
    with fastzips3.open_archive(fastzips3.MemorySource(data)) as archive:
        assert archive.directory.base_offset == 0
        assert archive.read("a") == b"alpha" * 100


def test_zip64_records_and_extra_fields() -> None:
    data = make_zip([("a", b"1" * 1000, "deflate"), ("b", b"2" * 10, "stored")], force_zip64=True)
    # turn the end record into a ZIP64 one: what CPython writes for archives over 2 GiB
    data = _force_zip64_end(data)
    with fastzips3.open_archive(fastzips3.MemorySource(data)) as archive:
        assert archive.is_zip64
        assert archive.read("a") == b"1" * 1000
        assert archive.read("b") == b"2" * 10
    assert zipfile.ZipFile(io.BytesIO(data)).read("b") == b"2" * 10


def _force_zip64_end(data: bytes) -> bytes:
    eocd = data.rfind(b"PK\x05\x06")
    _, _, _, _, count, cd_size, cd_offset, clen = struct.unpack_from("<4s4H2LH", data, eocd)
    cd_end = eocd
    eocd64 = struct.pack(
        "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, cd_size, cd_offset
    )
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, cd_end, 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, clen)
    return data[:cd_end] + eocd64 + locator + end + data[eocd + 22 :]


def test_cp437_and_utf8_names() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("caf\u00e9.txt", b"utf8")  # zipfile sets the UTF-8 flag
        info = zipfile.ZipInfo("plain.txt")
        zf.writestr(info, b"ascii")
    raw = bytearray(buf.getvalue())
    # rename "plain.txt" to CP437 bytes for "é" without the UTF-8 flag
    for pos in (raw.find(b"plain.txt"), raw.rfind(b"plain.txt")):
        raw[pos : pos + 5] = b"\x82lain"
    with fastzips3.open_archive(fastzips3.MemorySource(bytes(raw))) as archive:
        assert archive.namelist() == ["caf\u00e9.txt", "\u00e9lain.txt"]


def test_unknown_member_and_unknown_option() -> None:
    data = make_zip([("a", b"1", "stored")])
    with fastzips3.open_archive(fastzips3.MemorySource(data)) as archive:
        with pytest.raises(KeyError, match="no member named 'zz'"):
            archive.open("zz")
    with pytest.raises(TypeError, match="unknown option"):
        fastzips3.open_archive(fastzips3.MemorySource(data), tail_sise=5)  # type: ignore[call-arg]


def test_unsupported_method_names_the_method() -> None:
    data = bytearray(make_zip([("a", b"1234", "stored")]))
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):
        pos = data.find(sig)
        struct.pack_into("<H", data, pos + (8 if sig == b"PK\x03\x04" else 10), 97)
    with fastzips3.open_archive(fastzips3.MemorySource(bytes(data))) as archive:
        with pytest.raises(errors.UnsupportedMethodError, match="method 97") as info:
            archive.open("a")
        assert info.value.method == 97
        assert isinstance(info.value, NotImplementedError)


def test_replaced_object_raises_source_changed() -> None:
    rng = random.Random(7)
    data = make_zip([("a", random_bytes(rng, 300_000), "stored")])
    src = fastzips3.MemorySource(data)
    with fastzips3.open_archive(src, tail_size=1024) as archive:
        src.replace(data[:-1] + b"!")
        with pytest.raises(errors.SourceChangedError):
            archive.read("a")


def test_deflate_backends_agree() -> None:
    from fastzips3._codecs.deflate import available_backends

    rng = random.Random(8)
    payload = text_bytes(rng, 500_000)
    data = make_zip([("t", payload, "deflate")])
    outputs = set()
    for backend in available_backends():
        with fastzips3.open_archive(
            fastzips3.MemorySource(data), deflate_backend=backend
        ) as archive:
            outputs.add(zlib.crc32(archive.read("t")))
    assert outputs == {zlib.crc32(payload)}


def test_member_declaring_zero_bytes_with_data_is_an_error() -> None:
    data = bytearray(make_zip([("a", b"surprise" * 100, "deflate")]))
    pos = data.find(b"PK\x01\x02")
    struct.pack_into("<L", data, pos + 24, 0)
    with fastzips3.open_archive(fastzips3.MemorySource(bytes(data))) as archive:
        with pytest.raises(errors.SizeMismatchError):
            archive.read("a")


def test_empty_members_and_directories() -> None:
    data = make_zip([("d/", b"", "stored"), ("e", b"", "deflate"), ("f", b"", "stored")])
    with fastzips3.open_archive(fastzips3.MemorySource(data)) as archive:
        assert archive.getinfo("d/").is_dir()
        assert archive.read("d/") == b""
        assert archive.read("e") == b""
        assert archive.read("f") == b""
