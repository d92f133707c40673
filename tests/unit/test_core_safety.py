"""The compiled core refuses misuse that would touch memory it must not (a review's findings).

Each case is one a reviewer showed could write outside an object, share decoder state between
threads, or end with an untyped error; each must now be a clear Python error.
"""

from __future__ import annotations

import zlib

import pytest

from fastzips3._accel import CORE
from fastzips3.errors import DecompressionError

pytestmark = pytest.mark.skipif(CORE is None, reason="the compiled core is not active")


def _entry() -> tuple[object, ...]:
    return ("a", 1, 1, 0, 0, (1980, 1, 1, 0, 0, 0), b"", 0, 0, b"", None, 0, 3)


def test_zipinfos_refuse_a_slot_descriptor_borrowed_from_another_class() -> None:
    """A foreign class's slot placed on a ZipInfo subclass could point the core at the
    instance's __weakref__ pointer (it crashed the interpreter before the check)."""
    from fastzips3._zipfile import ZipInfo

    assert CORE is not None

    class Other:
        __slots__ = tuple(f"s{i}" for i in range(40))

    class Weak(ZipInfo):
        __slots__ = ("__weakref__",)

    for name in ("s0", "s29", "s39"):
        Weak.comment = Other.__dict__[name]  # type: ignore[misc]
        with pytest.raises(TypeError, match="not a slot"):
            CORE.build_zipinfos([_entry()], Weak, None, None, None)


def test_zipinfos_refuse_two_fields_on_one_slot() -> None:
    from fastzips3._zipfile import ZipInfo

    assert CORE is not None

    class Aliased(ZipInfo):
        __slots__ = ()

    Aliased.comment = ZipInfo.__dict__["_fz_index"]  # type: ignore[misc]
    with pytest.raises(TypeError):
        CORE.build_zipinfos([_entry()], Aliased, None, None, None)


def test_zipinfos_refuse_a_name_that_is_not_text() -> None:
    from fastzips3._zipfile import ZipInfo

    assert CORE is not None
    entry = list(_entry())
    entry[0] = b"a"
    with pytest.raises(TypeError, match="not a str"):
        CORE.build_zipinfos([tuple(entry)], ZipInfo, None, None, None)


def test_an_output_is_initialised_once() -> None:
    """Re-initialising would free the bytes other threads may still be decoding into."""
    assert CORE is not None
    out = CORE.Output(16)
    with pytest.raises(ValueError, match="once"):
        out.__init__(32)


def test_a_piece_that_ends_early_with_more_segments_is_a_decompression_error() -> None:
    """The stream's last block ends before ``size`` bytes, and segments remain: corrupt data,
    not a ValueError from feeding a finished decoder."""
    assert CORE is not None
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    stream = compressor.compress(b"x" * 1000) + compressor.flush()
    with pytest.raises(DecompressionError):
        CORE.inflate_piece([stream, b"more bytes after the end"], 5000)


def test_one_decoder_carries_more_than_4_gib_of_output() -> None:
    """ISA-L's ``total_out`` is 32-bit and wraps past 4 GiB; back-references must still
    resolve there (older ISA-L compared lookback distances with it). 4.5 GiB of zeros, from a
    64 MiB full-flushed block repeated (each copy references nothing before it), into a reused
    buffer; the CRC is checked against the combined CRC of the copies."""
    assert CORE is not None
    block_size = 64 << 20
    copies = 72  # 4.5 GiB of output
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(block_size)) + compressor.flush(zlib.Z_FULL_FLUSH)
    final = b"\x03\x00"  # an empty final block with fixed codes
    block_crc = zlib.crc32(bytes(block_size))
    expected_crc = 0
    for _ in range(copies):
        expected_crc = CORE.crc32_combine(expected_crc, block_crc, block_size)
    inflater = CORE.Inflater(name="big")
    out = bytearray(32 << 20)
    total = 0
    for i in range(copies + 1):
        inflater.feed(block if i < copies else final)
        while made := inflater.decompress_into(out):
            assert not any(out[:made:4093])
            total += made
    assert inflater.finished
    assert total == inflater.total_out == copies * block_size
    assert inflater.crc == expected_crc
