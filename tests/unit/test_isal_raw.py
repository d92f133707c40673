"""ISA-L's inflate through ctypes (GIL-free): exact output, CRC, and typed errors."""

from __future__ import annotations

import random
import threading
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zipseek._codecs.crc import crc32_combine
from zipseek._codecs.isal_raw import IsalRaw, isal_raw
from zipseek.errors import DecompressionError


def _deflate(data: bytes, level: int = 6) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


@pytest.fixture(scope="module")
def raw() -> IsalRaw:
    loaded = isal_raw()
    assert loaded is not None, "ISA-L's GIL-free inflater did not load or failed its self-test"
    return loaded


def test_whole_stream_and_crc(raw: IsalRaw) -> None:
    data = random.Random(3).randbytes(300_000) + b"abc" * 100_000
    out, crc = raw.inflate(_deflate(data), len(data))
    assert out == data
    assert crc == zlib.crc32(data)


def test_empty_output(raw: IsalRaw) -> None:
    assert raw.inflate(_deflate(b""), 0) == (b"", 0)


def test_output_stops_at_the_requested_size(raw: IsalRaw) -> None:
    data = b"0123456789" * 10_000
    out, crc = raw.inflate(_deflate(data), 12_345)
    assert out == data[:12_345]
    assert crc == zlib.crc32(data[:12_345])


def test_data_that_ends_early_is_an_error(raw: IsalRaw) -> None:
    data = random.Random(4).randbytes(100_000)
    comp = _deflate(data)
    with pytest.raises(DecompressionError, match="ended after"):
        raw.inflate(comp[: len(comp) // 2], len(data), name="x")
    with pytest.raises(DecompressionError, match="ended after"):
        raw.inflate(comp, len(data) + 1, name="x")


def test_corrupt_data_is_an_error(raw: IsalRaw) -> None:
    with pytest.raises(DecompressionError, match="corrupt deflate data"):
        raw.inflate(b"\xff" * 64, 1000, name="x")


def test_a_start_inside_a_byte_with_no_data_is_an_error(raw: IsalRaw) -> None:
    with pytest.raises(DecompressionError, match="ends at a checkpoint"):
        raw.inflate(b"", 10, bits=3)


def test_threads_decode_concurrently_and_correctly(raw: IsalRaw) -> None:
    rng = random.Random(5)
    inputs = [bytes(rng.choice(b"abcdef\n") for _ in range(200_000)) for _ in range(4)]
    results: dict[int, bytes] = {}

    def work(i: int) -> None:
        results[i] = raw.inflate(_deflate(inputs[i]), len(inputs[i]))[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(4)] == inputs


@given(a=st.binary(max_size=3000), b=st.binary(max_size=3000))
def test_crc32_combine(a: bytes, b: bytes) -> None:
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


def test_crc32_combine_over_a_megabyte() -> None:
    zeros = bytes(1 << 20)
    crc = zlib.crc32(b"head")
    slow = zlib.crc32(zeros, crc)
    assert crc32_combine(crc, zlib.crc32(zeros), len(zeros)) == slow
