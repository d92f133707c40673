"""The compiled core's ISA-L inflate, CRC-32 and checkpoint parts: exact output, fused CRC, slicing
for ISA-L's 32-bit counters, typed errors; and the honest pure fallback without the core."""

from __future__ import annotations

import ast
import itertools
import random
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fastzips3._accel import CORE
from fastzips3._codecs.deflate import DeflateDecoder
from fastzips3._codecs.zran import (
    Checkpoint,
    DeflateIndex,
    IndexingDeflateDecoder,
    checkpoint_decoder,
    usable,
    zran_available,
)
from fastzips3.errors import DecompressionError, UnsupportedError

needs_core = pytest.mark.skipif(CORE is None, reason="the compiled core is not active")
SRC = Path(__file__).resolve().parents[2] / "src" / "fastzips3"


def _deflate(data: bytes, level: int = 6, zdict: bytes = b"") -> bytes:
    if zdict:
        c = zlib.compressobj(level, zlib.DEFLATED, -15, zdict=zdict)
    else:
        c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def _data(seed: int, size: int) -> bytes:
    rng = random.Random(seed)
    words = [
        bytes(rng.choice(b"abcdefghij ") for _ in range(rng.randint(2, 9))) for _ in range(300)
    ]
    text = b" ".join(rng.choice(words) for _ in range(size // 5))
    return (text + rng.randbytes(size // 10))[:size]


def _pulls(data: bytes, step: int) -> Iterator[bytes]:
    for i in range(0, len(data), step):
        yield data[i : i + step]


def _puller(data: bytes, step: int) -> Any:
    it = _pulls(data, step)
    return lambda _n: next(it, b"")


# --- the core itself --------------------------------------------------------------------------


@needs_core
def test_crc32_is_zlibs() -> None:
    assert CORE is not None
    data = _data(1, 100_000)
    assert CORE.crc32(data) == zlib.crc32(data)
    assert CORE.crc32(data, 12345) == zlib.crc32(data, 12345)
    assert CORE.crc32(b"") == 0
    assert CORE.crc32(memoryview(data)[7:900], 3) == zlib.crc32(data[7:900], 3)
    assert CORE.crc32(bytearray(b"abc")) == zlib.crc32(b"abc")


@needs_core
@pytest.mark.parametrize("out_step", [1, 1000, 1 << 20])
def test_inflater_gives_the_data_and_zlibs_crc(out_step: int) -> None:
    assert CORE is not None
    data = _data(2, 300_000)
    comp = _deflate(data)
    inf = CORE.Inflater(name="m")
    out = bytearray()
    for piece in _pulls(comp, 5000):
        inf.feed(piece)
        while chunk := inf.decompress(out_step):
            out += chunk
    while chunk := inf.decompress(out_step):  # what ISA-L still holds back
        out += chunk
    assert bytes(out) == data
    assert inf.finished
    assert inf.crc == zlib.crc32(data)
    assert inf.total_out == len(data)


@needs_core
def test_decompress_into_the_callers_buffer_with_pull() -> None:
    assert CORE is not None
    data = _data(3, 200_000)
    inf = CORE.Inflater()
    pull = _puller(_deflate(data), 333)
    buf = bytearray(len(data) + 10)
    first = inf.decompress_into(memoryview(buf)[:77], pull, 333)
    assert first == 77
    rest = inf.decompress_into(memoryview(buf)[77:], pull, 333)
    assert first + rest == len(data) and bytes(buf[: len(data)]) == data
    assert inf.finished and inf.crc == zlib.crc32(data)
    assert inf.decompress_into(buf, pull, 333) == 0


@needs_core
@pytest.mark.parametrize("slice_size", [1, 7, 4096])
def test_small_slices_stand_in_for_the_32_bit_limit(slice_size: int) -> None:
    """Members over 4 GiB are fed to ISA-L in slices: the same logic, with tiny slices."""
    assert CORE is not None
    data = _data(4, 60_000)
    comp = _deflate(data, 1)
    old = CORE._set_inflate_slice(slice_size)
    try:
        inf = CORE.Inflater()
        inf.feed(comp)
        buf = bytearray(len(data) + 100)
        n = inf.decompress_into(buf)
        assert n == len(data) and bytes(buf[:n]) == data
        assert inf.finished and inf.crc == zlib.crc32(data)
        piece = CORE.inflate_piece([comp], len(data))
        assert piece == data
    finally:
        assert CORE._set_inflate_slice(old) == slice_size
    with pytest.raises(ValueError, match="slice size"):
        CORE._set_inflate_slice(0)
    with pytest.raises(ValueError, match="slice size"):
        CORE._set_inflate_slice((1 << 30) + 1)


@needs_core
def test_truncated_stream_shows_as_no_more_output() -> None:
    assert CORE is not None
    data = _data(5, 100_000)
    comp = _deflate(data)
    inf = CORE.Inflater()
    out = inf.decompress(len(data), _puller(comp[: len(comp) // 2], 1000))
    assert data.startswith(out) and len(out) < len(data)
    assert inf.input_ended and not inf.finished
    assert inf.decompress(10, _puller(b"", 1)) == b""


@needs_core
def test_corrupt_data_is_a_decompression_error_naming_the_member() -> None:
    assert CORE is not None
    inf = CORE.Inflater(name="bad.bin")
    inf.feed(b"\xff" * 100)
    with pytest.raises(DecompressionError, match=r"bad\.bin"):
        inf.decompress(1000)


@needs_core
def test_feed_and_prime_misuse_are_value_errors() -> None:
    assert CORE is not None
    inf = CORE.Inflater()
    inf.feed(_deflate(b"abc" * 1000))
    with pytest.raises(ValueError, match="used up"):
        inf.feed(b"more")
    with pytest.raises(ValueError, match="before any input"):
        inf.prime(1, 0)
    with pytest.raises(ValueError, match="bad priming"):
        CORE.Inflater().prime(8, 0)
    with pytest.raises(ValueError, match="bad priming"):
        CORE.Inflater().prime(3, 8)
    with pytest.raises(ValueError, match="positive"):
        inf.decompress(0)


@needs_core
def test_window_is_the_history() -> None:
    assert CORE is not None
    data = _data(6, 80_000)
    window = data[:20_000]
    comp = _deflate(data[20_000:], zdict=window)
    inf = CORE.Inflater(window)
    assert inf.decompress(len(data), _puller(comp, 999)) == data[20_000:]
    big = b"z" * 50_000 + window[-(32 << 10) :]  # only the last 32 KiB count
    assert CORE.Inflater(big).decompress(len(data), _puller(comp, 999)) == data[20_000:]


@needs_core
def test_inflate_piece_from_a_mid_byte_boundary() -> None:
    """Decode from a block boundary inside a byte, as checkpoints do."""
    assert CORE is not None
    text = b"".join(b"%d,fastzips3,%d\n" % (i, i * i % 977) for i in range(1000))
    obj = zlib.compressobj(1, zlib.DEFLATED, -15, 9, zlib.Z_FIXED)
    stream = obj.compress(text[:1]) + obj.flush(zlib.Z_BLOCK) + obj.compress(text[1:]) + obj.flush()
    # The first fixed block (3 header bits, one 8-bit literal, a 7-bit end code) is 18 bits.
    byte, used = divmod(18, 8)
    data = stream[byte:]
    out = CORE.inflate_piece([data[:3], b"", data[3:]], len(text) - 1, text[:1], 8 - used)
    assert out == text[1:]
    with pytest.raises(DecompressionError, match="ends at a checkpoint"):
        CORE.inflate_piece([b"", b""], 5, b"", 3, name="x")


@needs_core
def test_inflate_piece_segments_sizes_and_errors() -> None:
    assert CORE is not None
    data = _data(7, 50_000) + b"xyz" * 30_000
    comp = b"junk" + _deflate(data) + b"more"
    view = memoryview(comp)
    cuts = [4, 5, 900, 901, 30_000, len(comp) - 4]
    segments = [view[lo:hi] for lo, hi in itertools.pairwise(cuts)]
    assert CORE.inflate_piece(segments, len(data)) == data
    assert CORE.inflate_piece(segments, 12_345) == data[:12_345]
    assert CORE.inflate_piece([_deflate(b"")], 0) == b""
    short = _deflate(data)
    with pytest.raises(DecompressionError, match="ended after"):
        CORE.inflate_piece([short[: len(short) // 2]], len(data), name="x")
    with pytest.raises(DecompressionError, match="ended after"):
        CORE.inflate_piece([short], len(data) + 1, name="x")
    with pytest.raises(DecompressionError):
        CORE.inflate_piece([b"\xff" * 64], 100)


@needs_core
def test_block_inflater_reports_boundaries_and_crc() -> None:
    assert CORE is not None
    data = _data(8, 400_000)
    comp = _deflate(data)
    z = CORE.BlockInflater(name="m")
    out = bytearray()
    boundaries = 0
    for piece in _pulls(comp, 10_000):
        z.feed(piece)
        while not z.needs_input and not z.ended:
            out += z.inflate(1 << 16)
            boundaries += bool(z.data_type & 128)
    out += z.inflate(1 << 16)  # the end of the stream shows once the input is used up
    assert bytes(out) == data and z.ended
    assert z.crc == zlib.crc32(data) and z.total_in == len(comp) and z.total_out == len(data)
    assert boundaries > 1
    bad = CORE.BlockInflater(name="bad.bin")
    bad.feed(b"\xff" * 64)
    with pytest.raises(DecompressionError, match=r"bad\.bin"):
        bad.inflate(1000)


# --- the deflate codec and checkpoints, with or without the core -----------------------------


def test_deflate_decoder_gives_the_data_with_any_backend() -> None:
    data = _data(9, 200_000)
    comp = _deflate(data)
    for backend in (None, "isal", "zlib"):
        decoder = DeflateDecoder(_puller(comp, 4096), backend=backend)
        out = bytearray()
        while chunk := decoder.read(3000):
            out += chunk
        assert out == data and decoder.eof
        uses_core = CORE is not None and backend != "zlib"
        assert decoder.fused_crc == (zlib.crc32(data) if uses_core else None)


def test_deflate_decoder_read_into() -> None:
    data = _data(10, 100_000)
    decoder = DeflateDecoder(_puller(_deflate(data), 777))
    buf = bytearray(4000)
    out = bytearray()
    while n := decoder.read_into(memoryview(buf)):
        out += buf[:n]
    assert out == data


def test_zran_availability_is_honest() -> None:
    assert zran_available() == (CORE is not None)
    mid = Checkpoint(10, 5, 3, b"w")
    assert usable(Checkpoint(0, 0, 0, b""))
    assert usable(mid) == (CORE is not None)
    index = DeflateIndex((Checkpoint(0, 0, 0, b""), Checkpoint(8, 4, 0, b"a"), mid), 20, 9, 1)
    assert index.at(15) == (mid if CORE is not None else index.checkpoints[1])


@pytest.mark.skipif(CORE is not None, reason="the pure fallback runs without the core")
def test_without_the_core_mid_byte_starts_and_index_building_are_unsupported() -> None:
    with pytest.raises(UnsupportedError, match="compiled core"):
        checkpoint_decoder(lambda n: b"\x00", Checkpoint(10, 5, 3, b"w"))
    with pytest.raises(UnsupportedError, match="compiled core"):
        IndexingDeflateDecoder(lambda n: b"", spacing=1)
    # byte-aligned checkpoints work through python-isal or zlib
    data = _data(11, 90_000)
    window = data[:30_000]
    comp = _deflate(data[30_000:], zdict=window)
    decoder = checkpoint_decoder(_puller(comp, 1000), Checkpoint(30_000, 0, 0, window))
    out = bytearray()
    while chunk := decoder.read(10_000):
        out += chunk
    assert out == data[30_000:]


def test_no_ctypes_in_the_package() -> None:
    """ISA-L and zlib are reached from Cython only (no ctypes, no ctypes.pythonapi)."""
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.split(".")[0] == "ctypes" for n in names), path


@needs_core
def test_output_takes_pieces_in_place_and_checks_bounds() -> None:
    assert CORE is not None
    data = _data(12, 100_000)
    comp = _deflate(data)
    out = CORE.Output(len(data) + 3)
    assert out.inflate_piece([comp], 3, len(data), name="m") == zlib.crc32(data)
    with pytest.raises(ValueError, match="outside the output"):
        out.inflate_piece([comp], 4, len(data))
    with pytest.raises(ValueError, match="outside the output"):
        out.inflate_piece([comp], -1, 1)
    taken = out.take()
    assert taken[3:] == data and len(taken) == len(data) + 3
    with pytest.raises(ValueError, match="taken"):
        out.take()
    with pytest.raises(ValueError, match="taken"):
        out.inflate_piece([comp], 0, 1)
    combined = CORE.crc32_combine(zlib.crc32(b"ab"), zlib.crc32(b"cde"), 3)
    assert combined == zlib.crc32(b"abcde")


# --- fresh outputs populated ahead of the decoder (_core_pages.pxi) ---------------------------


@needs_core
def test_pages_are_populated_on_linux() -> None:
    assert CORE is not None
    assert sys.platform.startswith("linux") == CORE.CAN_POPULATE


@needs_core
@pytest.mark.parametrize("cut", ["whole", "truncated", "corrupt"])
def test_large_outputs_decode_exactly_while_their_pages_are_populated(cut: str) -> None:
    """Outputs of 32 MiB and more get a page-populating helper thread: it never changes a
    byte, and it is joined before the output is returned, shrunk or dropped on an error."""
    assert CORE is not None
    block = _data(21, 1 << 20)
    data = b"".join(bytes([i]) + block[1:] for i in range(40))  # 40 MiB, about 1 MiB apart
    comp = _deflate(data, level=1)
    if cut == "truncated":
        comp = comp[: len(comp) * 3 // 4]
    elif cut == "corrupt":  # 20 MiB of good blocks, then a block of the reserved type 3
        c = zlib.compressobj(1, zlib.DEFLATED, -15)
        comp = c.compress(data[: 20 << 20]) + c.flush(zlib.Z_FULL_FLUSH) + b"\xff" * 64
    for _ in range(3):  # helper threads start and end cleanly, one after another
        inf = CORE.Inflater(name="big.bin")
        if cut == "corrupt":
            with pytest.raises(DecompressionError, match=r"big\.bin"):
                inf.decompress(len(data) + 1, _puller(comp, 1 << 20))
            continue
        out = inf.decompress(len(data) + 1, _puller(comp, 1 << 20))
        if cut == "whole":
            assert out == data and inf.finished
            assert inf.crc == zlib.crc32(data)
        else:
            assert 0 < len(out) < len(data) and data.startswith(out)
