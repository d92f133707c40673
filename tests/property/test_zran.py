"""Every checkpoint of a deflate index decodes exactly what a full decompression gives there."""

from __future__ import annotations

import random
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastzips3._accel import CORE
from fastzips3._codecs.base import Pull
from fastzips3._codecs.deflate import DeflateDecoder
from fastzips3._codecs.zran import (
    DeflateIndex,
    IndexingDeflateDecoder,
    checkpoint_decoder,
)
from tests.helpers.zips import text_bytes

#: Building checkpoints needs the compiled core (zlib's Z_BLOCK from Cython).
needs_core = pytest.mark.skipif(CORE is None, reason="the compiled core is not active")


def _pull(buf: bytes, start: int = 0, piece: int = 1 << 20) -> Pull:
    pos = start

    def pull(n: int) -> bytes:
        nonlocal pos
        out = buf[pos : pos + min(n, piece)]
        pos += len(out)
        return out

    return pull


def _deflate(data: bytes, level: int) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def _check(data: bytes, level: int, spacing: int, piece: int) -> DeflateIndex:
    comp = _deflate(data, level)
    decoder = IndexingDeflateDecoder(_pull(comp, piece=piece), spacing=spacing)
    out = bytearray()
    while chunk := decoder.read(1 << 16):
        out += chunk
    assert bytes(out) == data
    index = decoder.index
    assert index is not None
    assert index.size == len(data)
    assert DeflateIndex.from_bytes(index.to_bytes()) == index
    points = index.checkpoints
    step = max(1, len(points) // 40)  # every checkpoint of small indexes, 40 of large ones
    for cp in (*points[::step], points[-1]):
        resumed = checkpoint_decoder(_pull(comp, cp.raw_start, piece), cp)
        got = bytearray()
        while len(got) < 20_000 and (chunk := resumed.read(1 << 13)):
            got += chunk
        assert bytes(got) == data[cp.out_pos : cp.out_pos + len(got)]
        assert len(got) >= min(20_000, len(data) - cp.out_pos)
    _check_pieces(comp, data, index, step)
    return index


def _check_pieces(comp: bytes, data: bytes, index: DeflateIndex, step: int) -> None:
    """Each piece between two checkpoints decodes exactly through the core's ISA-L piece
    decoder (what parallel reads use)."""
    assert CORE is not None
    points = index.checkpoints
    for i in (*range(0, len(points), step), len(points) - 1):
        cp = points[i]
        nxt = points[i + 1] if i + 1 < len(points) else None
        in_end = nxt.in_pos if nxt else len(comp)
        out_end = nxt.out_pos if nxt else len(data)
        # in two segments, cut anywhere, as parallel reads hand the bytes over
        cut = min(in_end, cp.raw_start + (i * 7919) % max(1, in_end - cp.raw_start))
        view = memoryview(comp)
        segments = [view[cp.raw_start : cut], view[cut:in_end]]
        out = CORE.inflate_piece(segments, out_end - cp.out_pos, cp.window, cp.bits)
        assert out == data[cp.out_pos : out_end]


@needs_core
@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(["random", "text", "mixed", "runs"]),
    size=st.sampled_from([0, 1, 2, 1000, 70_000, 300_000]),
    level=st.integers(0, 9),
    spacing=st.sampled_from([1, 4096, 65_536]),
    piece=st.sampled_from([1, 17, 4096, 1 << 20]),
    seed=st.integers(0, 1000),
)
def test_checkpoints_match_a_full_decompression(
    kind: str, size: int, level: int, spacing: int, piece: int, seed: int
) -> None:
    rng = random.Random(seed)
    if kind == "random":
        data = rng.randbytes(size)
    elif kind == "text":
        data = text_bytes(rng, size)
    elif kind == "runs":
        data = bytes(rng.choice(b"ab") for _ in range(size // 100)) * 100
    else:
        data = (text_bytes(rng, size // 2) + rng.randbytes(size))[:size]
    if piece == 1 and size > 2_000:
        piece = 17  # one-byte pulls over large inputs are slow, not more thorough
    _check(data, level, spacing, piece)


@needs_core
def test_mid_byte_checkpoints_are_covered() -> None:
    from fastzips3.testing.bigzip import csv_chunks

    data = b"".join(csv_chunks(3, 2 << 20))
    index = _check(data, 6, 1, 1 << 20)  # spacing 1: a checkpoint at every block boundary
    assert any(cp.bits for cp in index.checkpoints)
    assert any(not cp.bits for cp in index.checkpoints[1:])


@needs_core
def test_default_spacing_index_is_under_one_percent_of_the_compressed_size() -> None:
    from fastzips3._indexing import DEFAULT_SPACING
    from fastzips3.testing.bigzip import csv_chunks

    data = b"".join(csv_chunks(5, 48 << 20))
    comp = _deflate(data, 6)
    decoder = IndexingDeflateDecoder(_pull(comp), spacing=DEFAULT_SPACING)
    while decoder.read(1 << 20):
        pass
    assert decoder.index is not None
    assert len(decoder.index.to_bytes()) <= 0.01 * len(comp)


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(["random", "text", "runs"]),
    size=st.sampled_from([0, 1, 2, 1000, 70_000, 300_000]),
    level=st.integers(0, 9),
    in_piece=st.sampled_from([1, 7, 4096, 1 << 20]),
    out_piece=st.sampled_from([1, 1000, 65_536, 1 << 20]),
    cut=st.sampled_from([None, 0.0, 0.5, 0.999]),
    seed=st.integers(0, 1000),
)
def test_default_inflater_streams_in_any_steps(
    kind: str,
    size: int,
    level: int,
    in_piece: int,
    out_piece: int,
    cut: float | None,
    seed: int,
) -> None:
    """The default sequential inflater gives the data in any steps, and a truncated stream
    gives a prefix of it and never reports its end."""
    rng = random.Random(seed)
    if kind == "random":
        data = rng.randbytes(size)
    elif kind == "text":
        data = text_bytes(rng, size)
    else:
        data = bytes(rng.choice(b"ab") for _ in range(size // 100)) * 100
    if in_piece == 1 and size > 2_000:
        in_piece = 7
    if out_piece == 1 and size > 2_000:
        out_piece = 1000
    comp = _deflate(data, level)
    if cut is not None:
        comp = comp[: int(len(comp) * cut)]
    pull = _pull(comp, piece=in_piece)
    decoder = DeflateDecoder(pull)
    out = bytearray()
    for _ in range(len(data) + 10):
        chunk = decoder.read(out_piece)
        assert len(chunk) <= out_piece
        if not chunk:
            break
        out += chunk
    if cut is None:
        assert bytes(out) == data
        assert decoder.eof
    else:  # a prefix of the data, never more; the reader then reports the truncation
        assert data.startswith(bytes(out))
        assert not decoder.eof
