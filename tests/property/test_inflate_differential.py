"""Differential: the compiled core's ISA-L inflater and the pure decoders (zlib, python-isal) give
the same bytes, the same end-of-stream, the same CRC-32 and the same error class, over any
deflate stream, cut into any input and output steps, truncated or corrupted."""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastzips3._accel import CORE
from fastzips3._codecs import deflate
from fastzips3._codecs.base import Decoder, Pull
from fastzips3._codecs.deflate import DeflateDecoder
from fastzips3.errors import DecompressionError
from tests.helpers.zips import text_bytes

pytestmark = pytest.mark.skipif(CORE is None, reason="the compiled core is not active")

Outcome = tuple[str, bytes, bool]


def _pull(buf: bytes, step: int) -> Pull:
    pos = 0

    def pull(n: int) -> bytes:
        nonlocal pos
        out = buf[pos : pos + min(n, step)]
        pos += len(out)
        return out

    return pull


def _python_isal(pull: Pull) -> Decoder:
    """The pure fallback's python-isal path, as it runs without the core."""
    module: Any = deflate
    saved = module.CORE
    module.CORE = None
    try:
        return DeflateDecoder(pull, backend="isal")
    finally:
        module.CORE = saved


def _outcome(
    make: Callable[[Pull], Decoder], comp: bytes, in_step: int, out_step: int, into: bool
) -> Outcome:
    decoder = make(_pull(comp, in_step))
    out = bytearray()
    buf = bytearray(out_step)
    try:
        for _ in range(len(comp) * 1100 + 100):  # deflate expands at most ~1032:1
            if into:
                n = decoder.read_into(memoryview(buf))
                chunk = bytes(buf[:n])
            else:
                chunk = decoder.read(out_step)
            assert len(chunk) <= out_step
            if not chunk:
                break
            out += chunk
    except DecompressionError:
        return ("error", bytes(out), False)
    fused = decoder.fused_crc
    if fused is not None:
        assert fused == zlib.crc32(out)
    return ("ok", bytes(out), decoder.eof)


def _stream(kind: str, size: int, level: int, seed: int) -> tuple[bytes, bytes]:
    rng = random.Random(seed)
    if kind == "random":
        data = rng.randbytes(size)
    elif kind == "text":
        data = text_bytes(rng, size)
    else:
        data = bytes(rng.choice(b"ab") for _ in range(max(1, size // 100))) * 100
    strategy = zlib.Z_FIXED if kind == "runs" and level % 2 else zlib.Z_DEFAULT_STRATEGY
    c = zlib.compressobj(level, zlib.DEFLATED, -15, 8, strategy)
    return data, c.compress(data) + c.flush()


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(["random", "text", "runs"]),
    size=st.sampled_from([0, 1, 100, 5000, 70_000, 200_000]),
    level=st.integers(0, 9),
    in_step=st.sampled_from([1, 7, 1000, 1 << 18]),
    out_step=st.sampled_from([1, 999, 65_536, 1 << 20]),
    into=st.booleans(),
    damage=st.sampled_from(["none", "truncate", "flip", "garbage", "trailing"]),
    seed=st.integers(0, 10_000),
)
def test_core_and_pure_decoders_agree(
    kind: str,
    size: int,
    level: int,
    in_step: int,
    out_step: int,
    into: bool,
    damage: str,
    seed: int,
) -> None:
    rng = random.Random(seed ^ 0x5EED)
    data, comp = _stream(kind, size, level, seed)
    if damage == "truncate":
        comp = comp[: rng.randrange(len(comp))]
    elif damage == "flip" and comp:
        hurt = bytearray(comp)
        for _ in range(rng.randint(1, 4)):
            hurt[rng.randrange(len(hurt))] ^= 1 << rng.randrange(8)
        comp = bytes(hurt)
    elif damage == "garbage":
        comp = rng.randbytes(rng.randint(1, 300))
    elif damage == "trailing":
        comp += rng.randbytes(rng.randint(1, 50))
    if len(comp) > 20_000 and min(in_step, out_step) == 1:
        in_step, out_step = max(in_step, 7), max(out_step, 999)  # slow, not more thorough
    core = _outcome(DeflateDecoder, comp, in_step, out_step, into)
    pure = _outcome(lambda p: DeflateDecoder(p, backend="zlib"), comp, in_step, out_step, into)
    isal = _outcome(_python_isal, comp, in_step, out_step, into)
    if damage in ("none", "trailing"):
        assert core == pure == isal == ("ok", data, True)
        return
    for other in (pure, isal):
        assert core[0] == other[0], (core[0], other[0])
        if core[0] == "ok":
            assert core == other
        else:  # the same bits decode the same way up to the error
            assert core[1].startswith(other[1]) or other[1].startswith(core[1])
