"""ISA-L's inflate through ctypes (GIL-free): exact output, segments, and typed errors."""

from __future__ import annotations

import itertools
import random
import threading
import zlib
from collections.abc import Callable

import pytest

from fastzips3._codecs.isal_raw import IsalRaw, isal_raw
from fastzips3.errors import DecompressionError


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
    assert raw.inflate(_deflate(data), len(data)) == data


def test_segments_are_read_in_place_and_in_order(raw: IsalRaw) -> None:
    data = random.Random(6).randbytes(50_000) + b"xyz" * 30_000
    comp = b"junk" + _deflate(data) + b"more"
    cuts = [4, 5, 900, 901, 30_000, len(comp) - 4]
    segments = [(comp, lo, hi) for lo, hi in itertools.pairwise(cuts)]
    assert raw.inflate(segments, len(data)) == data


def test_empty_output(raw: IsalRaw) -> None:
    assert raw.inflate(_deflate(b""), 0) == b""


def test_output_stops_at_the_requested_size(raw: IsalRaw) -> None:
    data = b"0123456789" * 10_000
    assert raw.inflate(_deflate(data), 12_345) == data[:12_345]


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
        results[i] = raw.inflate(_deflate(inputs[i]), len(inputs[i]))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(4)] == inputs


def _pieces(data: bytes, size: int) -> Callable[[], bytes]:
    parts = [data[i : i + size] for i in range(0, len(data), size)]

    def pull() -> bytes:
        return parts.pop(0) if parts else b""

    return pull


@pytest.mark.parametrize(("in_size", "out_size"), [(1, 7), (333, 1000), (1 << 16, 1 << 20)])
def test_streaming_in_small_and_large_steps(raw: IsalRaw, in_size: int, out_size: int) -> None:
    assert raw.streaming, "ISA-L streaming is off: block_state was not where it is expected"
    data = random.Random(7).randbytes(20_000) + b"row,1,2,3\n" * 20_000
    pull = _pieces(_deflate(data), in_size)
    stream = raw.stream()
    out = bytearray()
    while not stream.finished:
        chunk = stream.read(out_size, pull)
        assert chunk or stream.finished
        assert len(chunk) == out_size or stream.finished
        out += chunk
    assert out == data
    assert stream.read(10, pull) == b""


def test_streaming_stops_at_the_end_of_the_stream(raw: IsalRaw) -> None:
    data = b"abc" * 10_000
    stream = raw.stream()
    pull = _pieces(_deflate(data) + b"trailing bytes that are not deflate", 100)
    assert stream.read(len(data) + 100, pull) == data
    assert stream.finished


def test_streaming_with_a_window(raw: IsalRaw) -> None:
    window = b"the window " * 100
    c = zlib.compressobj(6, zlib.DEFLATED, -15, zdict=window)
    data = b"the window is used " * 1000
    comp = c.compress(data) + c.flush()
    stream = raw.stream(window)
    assert stream.read(len(data), _pieces(comp, 50)) == data
    assert stream.finished


def test_streaming_input_that_ends_early_is_short_and_unfinished(raw: IsalRaw) -> None:
    data = random.Random(8).randbytes(50_000)
    comp = _deflate(data)
    stream = raw.stream()
    out = stream.read(len(data), _pieces(comp[: len(comp) // 2], 1000))
    assert len(out) < len(data)
    assert data.startswith(out)
    assert not stream.finished
    assert stream.read(100, _pieces(b"", 1)) == b""


def test_streaming_corrupt_data_is_an_error(raw: IsalRaw) -> None:
    stream = raw.stream(name="bad.bin")
    with pytest.raises(DecompressionError, match=r"bad\.bin"):
        stream.read(1000, _pieces(b"\xff" * 100, 10))


def test_deflate_decoder_uses_the_gil_free_stream_by_default() -> None:
    from fastzips3._codecs.deflate import DeflateDecoder

    data = b"decoder " * 5000
    pull = _pieces(_deflate(data), 4096)
    decoder = DeflateDecoder(lambda _size: pull(), backend="isal")
    assert decoder._stream is not None
    out = bytearray()
    while chunk := decoder.read(3000):
        out += chunk
    assert out == data
    assert decoder.eof


def test_deflate_decoder_falls_back_to_python_isal(monkeypatch: pytest.MonkeyPatch) -> None:
    from fastzips3._codecs import deflate

    monkeypatch.setattr(deflate, "isal_raw", lambda: None)
    data = b"fallback " * 5000
    pull = _pieces(_deflate(data), 4096)
    decoder = deflate.DeflateDecoder(lambda _size: pull(), backend="isal")
    assert decoder._stream is None
    out = bytearray()
    while chunk := decoder.read(3000):
        out += chunk
    assert out == data
    assert decoder.eof


def test_parallel_pieces_fall_back_without_isal_raw(monkeypatch: pytest.MonkeyPatch) -> None:
    from fastzips3 import _indexing
    from fastzips3._codecs.zran import Checkpoint

    monkeypatch.setattr(_indexing, "isal_raw", lambda: None)
    monkeypatch.setattr(_indexing._worker, "backend", None, raising=False)
    data = b"piece " * 20_000
    comp = _deflate(data)
    entry = type("E", (), {"name": "m"})()
    first = Checkpoint(0, 0, 0, b"")
    out = _indexing._decode_piece(
        entry, first, [(comp, 0, 10), (comp, 10, len(comp))], len(data), None
    )
    assert out == data


def test_loading_leaves_ctypes_pythonapi_alone() -> None:
    import ctypes

    shared = ctypes.pythonapi.PyBytes_FromStringAndSize
    before = (shared.restype, shared.argtypes)  # other libraries (fsspec) may have set them
    isal_raw.cache_clear()
    try:
        loaded = isal_raw()
        assert loaded is not None
        assert len(loaded.new_output(3)) == 3
    finally:
        isal_raw.cache_clear()
    assert (shared.restype, shared.argtypes) == before
